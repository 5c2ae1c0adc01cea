// SPDX-License-Identifier: GPL-2.0-only
/* Text from outside (a file, a socket, an HTTP answer) before it reaches a
 * log line or a file we write: valid UTF-8 is told from what is not, and
 * outside_text bounds and escapes it so that it cannot forge a line. No
 * collectd headers. */
#ifndef KEPLER_OUTSIDE_TEXT_H
#define KEPLER_OUTSIDE_TEXT_H

#include <stddef.h>
#include <string.h>

/* The length (1 to 4) of the valid UTF-8 character that starts s (n bytes
 * available), 0 when s does not start one: a stray continuation byte, an
 * overlong form, a surrogate, beyond U+10FFFF, or cut short. */
size_t utf8_char_len(const char *s, size_t n);

/* A dst of this size quotes up to 160 bytes of outside text. */
#define OUTSIDE_TEXT_LEN 164

/* src (srclen bytes, NULs included) made safe to quote in a log line, into
 * dst (dstlen bytes, NUL-terminated): valid UTF-8 is copied, except control
 * characters (below 0x20, 0x7f and U+0080 to U+009F); those and every byte
 * that is not part of valid UTF-8 are written \xNN. At most dstlen - 4 bytes
 * are written, cut before a character or an escape, and "..." follows when
 * src was cut. Returns dst, for a printf argument. */
const char *outside_text(char *dst, size_t dstlen, const char *src,
                         size_t srclen);

/* outside_text of the NUL-terminated s into the array buf. */
#define OUTSIDE_STR(buf, s) outside_text((buf), sizeof(buf), (s), strlen(s))

#endif
