// SPDX-License-Identifier: GPL-2.0-only
/* Attribution of node power to processes. No collectd headers.
 * Conservation is the contract: the parts sum to the node. */
#ifndef KEPLER_ATTRIBUTION_H
#define KEPLER_ATTRIBUTION_H

#include <stdbool.h>
#include <stddef.h>

#include "node_power.h"
#include "proc_table.h"

struct attribution_policy {
  bool split_idle; /* share idle power too, not only dynamic */
  /* The usage feature that shares each component among processes. */
  enum kepler_feature metric[COMPONENT_MAX];
};

/* The usual choice (Kepler's): instructions for package and core where
 * hardware counters exist, LLC misses for dram, CPU time otherwise. */
void attribution_default_policy(struct attribution_policy *p, bool hw_counters,
                                bool split_idle);

/* Share the node among the processes. The node total is cut into disjoint
 * parts: the CPU (package, or core and uncore), dram, and the rest of the
 * platform; each part goes to processes in proportion to its component's
 * metric in the interval, or to CPU time when no process has any of that
 * metric. Sets power_dynamic_w and power_idle_w of every process; when no
 * process ran, every share is 0. */
void attribute_to_processes(const struct node_power *node,
                            const struct attribution_policy *policy,
                            struct proc_entry *const *procs, size_t n);

/* Order procs by power (dynamic + idle), highest first (ties by pid), keep
 * at most `top` of those with at least min_w W, and sum the others into
 * *other_dynamic_w and *other_idle_w. Returns how many stay reported. */
size_t attribution_keep(struct proc_entry **procs, size_t n, size_t top,
                        double min_w, double *other_dynamic_w,
                        double *other_idle_w);

#endif
