// SPDX-License-Identifier: GPL-2.0-only
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static void log_stderr(int level, const char *message) {
  static const char *const names[] = {[KLOG_ERR] = "error",
                                      [KLOG_WARNING] = "warning",
                                      [KLOG_NOTICE] = "notice",
                                      [KLOG_INFO] = "info",
                                      [KLOG_DEBUG] = "debug"};
  fprintf(stderr, "kepler %s: %s\n",
          level >= KLOG_ERR && level <= KLOG_DEBUG ? names[level] : "log",
          message);
}

static kepler_log_fn sink = log_stderr;

void kepler_log_set(kepler_log_fn fn) {
  sink = fn ? fn : log_stderr;
}

void kepler_log(int level, const char *fmt, ...) {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  sink(level, buf);
}
