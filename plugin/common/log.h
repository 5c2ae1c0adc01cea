// SPDX-License-Identifier: GPL-2.0-only
/* Logging for the core: the collectd glue routes it to plugin_log, the CLI
 * and unit tests to stderr. Levels follow syslog, as collectd's do. */
#ifndef KEPLER_LOG_H
#define KEPLER_LOG_H

enum {
  KLOG_ERR = 3,
  KLOG_WARNING = 4,
  KLOG_NOTICE = 5,
  KLOG_INFO = 6,
  KLOG_DEBUG = 7
};

typedef void (*kepler_log_fn)(int level, const char *message);

void kepler_log_set(kepler_log_fn fn);
void kepler_log(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
