// SPDX-License-Identifier: GPL-2.0-only
#include "file_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_open_regular(const char *path) {
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  struct stat st;
  int rc = fstat(fd, &st) != 0   ? -errno
           : S_ISREG(st.st_mode) ? 0
                                 : FILE_NOT_REGULAR;
  if (rc) {
    close(fd);
    return rc;
  }
  return fd;
}

FILE *file_fopen_regular(const char *path) {
  int fd = file_open_regular(path);
  if (fd < 0) {
    errno = -fd;
    return NULL;
  }
  FILE *f = fdopen(fd, "r");
  if (!f) {
    int e = errno;
    close(fd);
    errno = e;
  }
  return f;
}

const char *file_strerror(int rc) {
  return rc == FILE_NOT_REGULAR ? "not a regular file" : strerror(-rc);
}

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
