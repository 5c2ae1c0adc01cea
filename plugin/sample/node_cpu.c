// SPDX-License-Identifier: GPL-2.0-only
#include "node_cpu.h"

#include <inttypes.h>
#include <stdio.h>

#include "file_read.h"

int node_cpu_read(const char *proc_root, struct cpu_times *out) {
  char path[300];
  snprintf(path, sizeof(path), "%s/stat", proc_root);
  FILE *f = file_fopen_regular(path);
  if (!f)
    return -1;
  /* cpu user nice system idle iowait irq softirq steal [guest guest_nice]:
   * guest time is already inside user and nice. */
  uint64_t v[8];
  int n = fscanf(f,
                 "cpu %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                 " %" SCNu64 " %" SCNu64 " %" SCNu64,
                 &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 4)
    return -1;
  for (int i = n; i < 8; i++)
    v[i] = 0; /* kernels before 2.6.11 lack the later fields */
  out->busy = v[0] + v[1] + v[2] + v[5] + v[6];
  out->total = out->busy + v[3] + v[4] + v[7];
  return 0;
}

double node_cpu_utilization(const struct cpu_times *before,
                            const struct cpu_times *after) {
  if (after->total <= before->total || after->busy < before->busy)
    return 0;
  double busy = (double)(after->busy - before->busy);
  double util = 100.0 * busy / (double)(after->total - before->total);
  return util > 100 ? 100 : util;
}
