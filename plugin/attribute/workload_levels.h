// SPDX-License-Identifier: GPL-2.0-only
/* The workload levels of one interval: every container, pod, service and
 * VM (and each level's system and kernel bucket) with the power of its
 * processes, and each level trimmed by its report policy into the members
 * reported and their `other`. No collectd headers. */
#ifndef KEPLER_WORKLOAD_LEVELS_H
#define KEPLER_WORKLOAD_LEVELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup_identity.h"
#include "level.h"
#include "runtime_names_worker.h"
#include "workload_set.h"
#include "workload_table.h"

struct proc_table;
struct proc_entry;

/* The members of a level not reported one by one (report_policy), summed:
 * reported + other = node, in every interval. */
struct other_power {
  size_t nprocs; /* processes, or workloads at a workload level */
  double power_dynamic_w, power_idle_w;
  double energy_j; /* cumulative */
};

struct workload_levels {
  /* Set by the owner: each level's policy ([LEVEL_MAX]), the worker that
   * looks containers' names up in their runtimes' files (NULL: none), the
   * interned identities (swept of those no process has any more). */
  const struct report_policy *report;
  struct runtime_names_worker *names_worker;
  struct workload_set *identities;
  /* Kept from interval to interval. */
  struct workload_table table;
  struct other_power other[LEVEL_MAX];
  uint32_t generation;
};

/* What an interval reports of the levels. */
struct workload_levels_report {
  bool other_present[LEVEL_MAX]; /* the level is trimmed */
  struct other_power other[LEVEL_MAX];
  /* The reported members, ordered by level; valid until the next
   * aggregation. */
  struct workload_power **workloads;
  size_t nworkloads;
};

/* A process's member name at a workload level: its container id, pod UID,
 * service (or login session, "session-<id>", written into buf) or VM
 * (*bucket = BUCKET_NONE), else "system" or "kernel" (a kernel thread),
 * with *bucket saying which. */
const char *workload_name(enum report_level level, const struct workload_id *w,
                          char *buf, size_t len, enum workload_bucket *bucket);

/* Every reported level = the sum of the processes' power (attributed this
 * interval); a new container's names are asked of the names worker, and
 * the names it found since the last call are taken in; workloads whose
 * processes are all gone leave; a trimmed level
 * keeps its top or above members and sums the rest into its `other`; each
 * reported member and `other` gains its energy over dt_s. 0, or -1 when out
 * of memory. */
int workload_levels_aggregate(struct workload_levels *levels,
                              struct proc_table *procs, double dt_s,
                              struct workload_levels_report *r);

/* The process level by its policy (top, above): the kept processes stay at
 * the front of procs, *nprocs becomes their number, the rest are the
 * process level's `other` in r. */
void workload_levels_trim_processes(struct workload_levels *levels,
                                    struct proc_entry **procs, size_t *nprocs,
                                    double dt_s,
                                    struct workload_levels_report *r);

void workload_levels_free(struct workload_levels *levels);

#endif
