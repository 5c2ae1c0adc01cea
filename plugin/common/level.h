// SPDX-License-Identifier: GPL-2.0-only
/* The levels power is reported at, their names in options and series, and
 * which members of a level are reported. */
#ifndef KEPLER_LEVEL_H
#define KEPLER_LEVEL_H

#include <stdbool.h>

/* Every level partitions the node: a process counts in its container, pod,
 * service and VM, or in that level's `system` (no such workload) or
 * `kernel` (kernel threads) bucket. */
enum report_level {
  LEVEL_PROCESS,
  LEVEL_CONTAINER,
  LEVEL_POD,
  LEVEL_SERVICE,
  LEVEL_VM,
  /* The processes of one command name (comm), as collectd's processes
   * plugin groups them: the same series across pids and restarts. */
  LEVEL_COMMAND,
  LEVEL_MAX,
};
/* "process", "container", "pod", "service", "vm", "command"; -1 from the
 * name. */
const char *level_name(enum report_level l);
int level_by_name(const char *name);

/* Which members of a level are reported one by one; the rest are summed
 * into the level's `other`, so every level still sums to the node. */
enum report_mode {
  REPORT_ALL,
  REPORT_NONE,  /* the level is not reported */
  REPORT_TOP,   /* the `top` with the highest power */
  REPORT_ABOVE, /* those at `above_w` W or more */
};
struct report_policy {
  enum report_mode mode;
  unsigned top;
  double above_w;
};

/* The level is trimmed: some members are summed into its `other`. */
static inline bool report_policy_trims(const struct report_policy *p) {
  return p->mode == REPORT_TOP || p->mode == REPORT_ABOVE;
}

#endif
