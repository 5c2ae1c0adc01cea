// SPDX-License-Identifier: GPL-2.0-only
/* The levels power is reported at, and their names in options and series. */
#ifndef KEPLER_LEVEL_H
#define KEPLER_LEVEL_H

/* Every level partitions the node: a process counts in its container, pod,
 * service and VM, or in that level's `system` (no such workload) or
 * `kernel` (kernel threads) bucket. */
enum report_level {
  LEVEL_PROCESS,
  LEVEL_CONTAINER,
  LEVEL_POD,
  LEVEL_SERVICE,
  LEVEL_VM,
  LEVEL_MAX,
};
/* "process", "container", "pod", "service", "vm"; -1 from the name. */
const char *level_name(enum report_level l);
int level_by_name(const char *name);

#endif
