// SPDX-License-Identifier: GPL-2.0-only
#include "outside_text.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

size_t utf8_char_len(const char *s, size_t n) {
  const unsigned char *u = (const unsigned char *)s;
  unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
  size_t len;
  if (n == 0)
    return 0;
  if (u[0] < 0x80)
    return 1;
  if (u[0] >= 0xc2 && u[0] <= 0xdf) {
    len = 2;
  } else if (u[0] >= 0xe0 && u[0] <= 0xef) {
    len = 3;
    lo = u[0] == 0xe0 ? 0xa0 : lo; /* not overlong */
    hi = u[0] == 0xed ? 0x9f : hi; /* not a surrogate */
  } else if (u[0] >= 0xf0 && u[0] <= 0xf4) {
    len = 4;
    lo = u[0] == 0xf0 ? 0x90 : lo; /* not overlong */
    hi = u[0] == 0xf4 ? 0x8f : hi; /* not beyond U+10FFFF */
  } else {
    return 0;
  }
  if (n < len || u[1] < lo || u[1] > hi)
    return 0;
  for (size_t i = 2; i < len; i++)
    if ((u[i] & 0xc0) != 0x80)
      return 0;
  return len;
}

const char *outside_text(char *dst, size_t dstlen, const char *src,
                         size_t srclen) {
  if (dstlen == 0)
    return dst;
  size_t room = dstlen > 4 ? dstlen - 4 : 0, o = 0, i = 0;
  while (i < srclen) {
    const unsigned char *u = (const unsigned char *)src + i;
    size_t n = utf8_char_len(src + i, srclen - i);
    bool control = n == 1 ? u[0] < 0x20 || u[0] == 0x7f
                          : n == 2 && u[0] == 0xc2 && u[1] < 0xa0;
    bool raw = n && !control;
    size_t bytes = n ? n : 1, width = raw ? n : 4 * bytes;
    if (o + width > room)
      break;
    if (raw) {
      memcpy(dst + o, src + i, n);
    } else {
      for (size_t k = 0; k < bytes; k++)
        snprintf(dst + o + 4 * k, 5, "\\x%02X", u[k]);
    }
    o += width;
    i += bytes;
  }
  if (i < srclen && dstlen >= 4) {
    memcpy(dst + o, "...", 3);
    o += 3;
  }
  dst[o] = '\0';
  return dst;
}
