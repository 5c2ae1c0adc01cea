// SPDX-License-Identifier: GPL-2.0-only
/* One trim for every level: keep the members with the most power (at most
 * `top`, each with at least min_w W), sum the rest into the level's other.
 * Processes and workloads are trimmed by the same code, over an array of
 * any element type described by its accessors. No collectd headers. */
#ifndef KEPLER_POWER_TRIM_H
#define KEPLER_POWER_TRIM_H

#include <stddef.h>

struct power_trim_ops {
  size_t size; /* of one array element */
  /* W of the member an element stands for (elem points into the array). */
  double (*dynamic_w)(const void *elem);
  double (*idle_w)(const void *elem);
  /* Order between members of equal power, so the kept set and its order
   * do not depend on the input's: < 0, 0 or > 0. */
  int (*tie)(const void *a, const void *b);
};

/* Reorder items[0..n) so its first members are the kept ones, highest
 * power first, and return how many; the others' W are summed into
 * *other_dynamic_w and *other_idle_w (set, not added to). Selects before it
 * sorts: a full sort of every member would cost n log n each interval. */
size_t power_trim(void *items, size_t n, size_t top, double min_w,
                  const struct power_trim_ops *ops, double *other_dynamic_w,
                  double *other_idle_w);

#endif
