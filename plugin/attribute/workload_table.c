// SPDX-License-Identifier: GPL-2.0-only
#include "workload_table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"

static int cmp_workload(enum report_level level, enum workload_bucket bucket,
                        const char *name, const struct workload_power *w) {
  if (level != w->level)
    return level < w->level ? -1 : 1;
  if (bucket != w->bucket)
    return bucket < w->bucket ? -1 : 1;
  return strcmp(name, w->name);
}

/* The index of (bucket, name) at `level` in t, or where it would be
 * inserted. */
static size_t bisect(const struct workload_table *t, enum report_level level,
                     enum workload_bucket bucket, const char *name,
                     bool *found) {
  size_t lo = 0, hi = t->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int c = cmp_workload(level, bucket, name, &t->v[mid]);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  *found = false;
  return lo;
}

struct workload_power *workload_table_find(struct workload_table *t,
                                           enum report_level level,
                                           const char *name) {
  bool found;
  size_t i = bisect(t, level, BUCKET_NONE, name, &found);
  return found ? &t->v[i] : NULL;
}

struct workload_power *workload_table_get(struct workload_table *t,
                                          enum report_level level,
                                          enum workload_bucket bucket,
                                          const char *name, bool *created) {
  *created = false;
  bool found;
  size_t lo = bisect(t, level, bucket, name, &found);
  if (found)
    return &t->v[lo];
  /* Each array by its own capacity: with one capacity for both, a failed
   * growth of the second left it smaller than the capacity said, and a
   * later report wrote past it. */
  if (array_grow((void **)&t->ptrs, &t->ptrs_cap, t->n + 1, sizeof(*t->ptrs)) ||
      array_grow((void **)&t->v, &t->cap, t->n + 1, sizeof(*t->v)))
    return NULL;
  struct workload_power *slot = &t->v[lo];
  memmove(slot + 1, slot, (t->n - lo) * sizeof(*slot));
  t->n++;
  memset(slot, 0, sizeof(*slot));
  slot->level = level;
  slot->bucket = bucket;
  snprintf(slot->name, sizeof(slot->name), "%s", name);
  *created = true;
  return slot;
}

void workload_table_free(struct workload_table *t) {
  free(t->v);
  free(t->ptrs);
  *t = (struct workload_table){0};
}
