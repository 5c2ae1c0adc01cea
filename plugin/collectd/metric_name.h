// SPDX-License-Identifier: GPL-2.0-only
/* Series names that pass unchanged through every collectd writer: graphite
 * splits on '.', collectd identifiers on '/' and the first '-', Prometheus
 * accepts [a-zA-Z0-9_] in names. No collectd headers. */
#ifndef KEPLER_METRIC_NAME_H
#define KEPLER_METRIC_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "level.h"

/* Copy src into dst (size len), every byte outside [A-Za-z0-9_] replaced by
 * '_' (so a UTF-8 character becomes one '_' per byte); "_" if src is empty.
 * Returns the length written. */
size_t metric_sanitize(char *dst, size_t len, const char *src);

/* The instance of a process series: "<sanitized comm>_<pid>". The pid keeps
 * it unique; the command name keeps it readable. */
void metric_process_instance(char *dst, size_t len, const char *comm,
                             uint32_t pid);

/* The instance of the series of workload `name` at `level`, unique among
 * the level's workloads and never one of the level's bucket instances
 * ("system", "kernel", "other"):
 * - a name made of [A-Za-z0-9_] that fits is kept as it is, after the
 *   level's shortening (a pod's canonical UID loses its dashes: 32 hex
 *   digits; a service's unit name its ".service");
 * - any other name (bytes outside that set, too long, a bucket's name, or
 *   one that ends like a hashed instance, "_" + 16 hex digits) becomes its
 *   sanitized form, cut to fit, + "_" + 16 hex digits of a 64-bit hash of
 *   the whole name.
 * Kept and hashed instances cannot meet (only hashed ones end that way),
 * and hashed ones meet only if two names' 64-bit hashes do. Stable: the
 * same name gives the same instance on every host and run. */
void metric_workload_instance(char *dst, size_t len, enum report_level level,
                              const char *name);

/* Whether s is one of the instances the plugin gives a level's buckets. */
bool metric_bucket_instance(const char *s);

#endif
