// SPDX-License-Identifier: GPL-2.0-only
/* Series names that pass unchanged through every collectd writer: graphite
 * splits on '.', collectd identifiers on '/' and the first '-', Prometheus
 * accepts [a-zA-Z0-9_] in names. No collectd headers. */
#ifndef KEPLER_METRIC_NAME_H
#define KEPLER_METRIC_NAME_H

#include <stddef.h>
#include <stdint.h>

/* Copy src into dst (size len), every byte outside [A-Za-z0-9_] replaced by
 * '_' (so a UTF-8 character becomes one '_' per byte); "_" if src is empty.
 * Returns the length written. */
size_t metric_sanitize(char *dst, size_t len, const char *src);

/* The instance of a process series: "<sanitized comm>_<pid>". The pid keeps
 * it unique; the command name keeps it readable. */
void metric_process_instance(char *dst, size_t len, const char *comm,
                             uint32_t pid);

/* The instance of a workload series from its name: the name itself when it
 * is made of [A-Za-z0-9_] and fits; else the name sanitized (and cut to
 * fit) + "_" + 8 hex digits of a hash of the whole name, so that names the
 * sanitizing would merge ("a.b", "a b", "a_b") stay apart. Stable: the same
 * name gives the same instance on every host and run. */
void metric_workload_instance(char *dst, size_t len, const char *name);

#endif
