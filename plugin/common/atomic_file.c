// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE /* mkostemp */
#include "atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errmsg.h"

/* -1 with errno set; a write of 0 bytes (no progress) counts as EIO. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR)
      continue;
    if (k <= 0) {
      if (k == 0)
        errno = EIO;
      return -1;
    }
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

int atomic_file_write(const char *path, const char *data, size_t len, char *err,
                      size_t errlen) {
  static const char suffix[] = ".tmp.XXXXXX";
  size_t n = strlen(path);
  char *tmp = malloc(n + sizeof suffix);
  if (!tmp)
    return errmsg(err, errlen, "%s: out of memory", path);
  memcpy(tmp, path, n);
  memcpy(tmp + n, suffix, sizeof suffix);
  /* O_CLOEXEC: a thread of the daemon may fork meanwhile. */
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return errmsg(err, errlen,
                  "%s: cannot create a temporary file beside it: %s", path,
                  strerror(e));
  }
  const char *what = "write the temporary file";
  if (write_all(fd, data, len))
    goto fail;
  what = "set the mode of the temporary file";
  if (fchmod(fd, 0644))
    goto fail;
  what = "sync the temporary file";
  if (fsync(fd))
    goto fail;
  what = "close the temporary file";
  if (close(fd)) {
    fd = -1; /* closed even so (Linux); never closed twice */
    goto fail;
  }
  fd = -1;
  what = "rename the temporary file over it";
  if (rename(tmp, path))
    goto fail;
  free(tmp);
  return 0;
fail:;
  int e = errno;
  if (fd >= 0)
    close(fd);
  unlink(tmp);
  errmsg(err, errlen, "%s: cannot %s (%s): %s", path, what, tmp, strerror(e));
  free(tmp);
  return -1;
}
