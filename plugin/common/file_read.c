// SPDX-License-Identifier: GPL-2.0-only
#include "file_read.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

int file_read_bounded(int fd, size_t max, char **text, size_t *len) {
  size_t cap = 4096, used = 0;
  char *buf = malloc(cap + 1);
  if (!buf)
    return -ENOMEM;
  for (;;) {
    if (used == cap) {
      if (used > max) { /* max + 1 bytes read: too large */
        free(buf);
        return -EFBIG;
      }
      /* Up to max + 1, to tell a file of max bytes from a larger one. */
      cap = cap <= max / 2 ? cap * 2 : max + 1;
      char *bigger = realloc(buf, cap + 1);
      if (!bigger) {
        free(buf);
        return -ENOMEM;
      }
      buf = bigger;
    }
    ssize_t n = read(fd, buf + used, cap - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = -errno;
      free(buf);
      return e;
    }
    if (n == 0)
      break;
    used += (size_t)n;
  }
  if (used > max) {
    free(buf);
    return -EFBIG;
  }
  buf[used] = '\0';
  *text = buf;
  *len = used;
  return 0;
}
