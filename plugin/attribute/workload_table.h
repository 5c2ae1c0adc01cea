// SPDX-License-Identifier: GPL-2.0-only
/* The workloads of every reported level, each with its power: kept sorted
 * by (level, bucket, name) so a process finds its own by bisection, and the
 * pointer array a report hands out, as large as the table. No collectd headers.
 */
#ifndef KEPLER_WORKLOAD_TABLE_H
#define KEPLER_WORKLOAD_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup_identity.h"
#include "level.h"
#include "runtime_names.h"

/* A level's buckets: the processes of no workload at the level, and kernel
 * threads. Apart from the workloads in the table's key, so that a workload
 * named "system" or "kernel" (a VM, an LXC container) stays its own. */
enum workload_bucket {
  BUCKET_NONE, /* a workload */
  BUCKET_SYSTEM,
  BUCKET_KERNEL,
};

/* A container, pod, service or VM, or a level's `system` / `kernel`
 * bucket. */
struct workload_power {
  enum report_level level;
  enum workload_bucket bucket;
  /* The member's name at its level: container id (LXC: name), pod UID,
   * service unit, VM domain, or "system", "kernel" for a bucket. */
  char name[UNIT_NAME_LEN];
  struct workload_id workload; /* of one of its processes; a bucket has no
                                  cgroup_path */
  /* A container's names from its runtime's files, looked up once when it
   * is first seen, off the read thread: "" until the lookup is done (the
   * container is reported by its id until then) and where the runtime
   * left none. */
  struct container_names names;
  size_t nprocs; /* tracked processes in it */
  double power_dynamic_w, power_idle_w;
  double energy_j; /* cumulative while it has processes */
  uint32_t generation;
};

struct workload_table {
  struct workload_power *v; /* sorted by (level, bucket, name) */
  size_t n, cap;
  /* Room for a pointer to each of v: the report's ordered, trimmed view.
   * Its own capacity, so a failed growth of either array leaves both
   * capacities true. */
  struct workload_power **ptrs;
  size_t ptrs_cap;
};

/* The member (bucket, name) at `level`. When there is none, a zeroed one
 * with its level, bucket and name is inserted in order and *created is set
 * (the caller fills in the rest). NULL when out of memory, the table
 * unchanged. A returned pointer is valid until the next call. */
struct workload_power *workload_table_get(struct workload_table *t,
                                          enum report_level level,
                                          enum workload_bucket bucket,
                                          const char *name, bool *created);
/* The workload (not a bucket) `name` at `level`, NULL when there is
 * none. */
struct workload_power *workload_table_find(struct workload_table *t,
                                           enum report_level level,
                                           const char *name);
void workload_table_free(struct workload_table *t);

#endif
