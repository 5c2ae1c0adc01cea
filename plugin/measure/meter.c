// SPDX-License-Identifier: GPL-2.0-only
#include "meter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_read.h"
#include "log.h"

char *meter_join(const char *dir, const char *name) {
  size_t len = strlen(dir) + strlen(name) + 2;
  char *path = malloc(len);
  if (path)
    snprintf(path, len, "%s/%s", dir, name);
  return path;
}

/* sysfs attributes are one short line; anything filling the buffer is not
 * one of ours. Returns the length read or -errno. */
static ssize_t read_small(const char *path, char *buf, size_t len) {
  int fd = file_open_regular(path);
  if (fd < 0)
    return fd;
  ssize_t n = read(fd, buf, len - 1);
  int err = errno;
  close(fd);
  if (n < 0)
    return -err;
  if ((size_t)n == len - 1)
    return -EINVAL;
  buf[n] = '\0';
  return n;
}

int meter_read_line(const char *path, char *buf, size_t len) {
  ssize_t n = read_small(path, buf, len);
  if (n < 0)
    return (int)n;
  buf[strcspn(buf, "\n")] = '\0';
  return 0;
}

int meter_read_u64(const char *path, uint64_t *out) {
  char buf[32];
  ssize_t n = read_small(path, buf, sizeof(buf));
  if (n < 0)
    return (int)n;
  if (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  if (n == 0)
    return -EINVAL;
  uint64_t v = 0;
  for (const char *p = buf; *p; p++) {
    if (*p < '0' || *p > '9')
      return -EINVAL;
    unsigned digit = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - digit) / 10)
      return -ERANGE;
    v = v * 10 + digit;
  }
  *out = v;
  return 0;
}

const char *meter_strerror(int err) {
  if (err == -EINVAL)
    return "not an unsigned decimal integer";
  if (err == -ERANGE)
    return "number out of range";
  return file_strerror(err);
}

void meter_track(bool *failing, const char *path, int err) {
  if (err && !*failing)
    kepler_log(KLOG_WARNING,
               "kepler: %s: %s; its readings are dropped until it reads again",
               path, meter_strerror(err));
  else if (!err && *failing)
    kepler_log(KLOG_NOTICE, "kepler: %s reads again", path);
  *failing = err != 0;
}
