// SPDX-License-Identifier: GPL-2.0-only
/* Node CPU utilization from /proc/stat, the kernel's own idle accounting.
 * No collectd headers. */
#ifndef KEPLER_NODE_CPU_H
#define KEPLER_NODE_CPU_H

#include <stdint.h>

/* Cumulative ticks (USER_HZ) of the "cpu" line. */
struct cpu_times {
  uint64_t busy;  /* user + nice + system + irq + softirq */
  uint64_t total; /* busy + idle + iowait + steal */
};

/* Read <proc_root>/stat. Returns 0, or -1 if it cannot be read or parsed. */
int node_cpu_read(const char *proc_root, struct cpu_times *out);

/* Percent of the time between two readings the CPUs were busy; 0 when no
 * time passed or a counter went backwards. */
double node_cpu_utilization(const struct cpu_times *before,
                            const struct cpu_times *after);

#endif
