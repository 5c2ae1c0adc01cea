// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE /* qsort_r */
#include "power_trim.h"

#include <stdlib.h>
#include <string.h>

static double power_w(const struct power_trim_ops *ops, const void *elem) {
  return ops->dynamic_w(elem) + ops->idle_w(elem);
}

/* Highest power first, then ops->tie. */
static int by_power_desc(const void *a, const void *b, void *ctx) {
  const struct power_trim_ops *ops = ctx;
  double pa = power_w(ops, a), pb = power_w(ops, b);
  if (pa != pb)
    return pa > pb ? -1 : 1;
  return ops->tie(a, b);
}

static void *at(void *items, size_t i, const struct power_trim_ops *ops) {
  return (char *)items + i * ops->size;
}

static void swap(void *a, void *b, size_t size) {
  char tmp[64]; /* elements are pointers or small structs */
  for (size_t done = 0; done < size; done += sizeof(tmp)) {
    size_t k = size - done < sizeof(tmp) ? size - done : sizeof(tmp);
    memcpy(tmp, (char *)a + done, k);
    memcpy((char *)a + done, (char *)b + done, k);
    memcpy((char *)b + done, tmp, k);
  }
}

/* Reorder items so that its first k are the k first in by_power_desc order
 * (in any order among themselves): quickselect, in place. */
static void select_first(void *items, size_t n, size_t k,
                         const struct power_trim_ops *ops) {
  size_t lo = 0, hi = n; /* the k-th lies in [lo, hi) */
  while (hi - lo > 1) {
    swap(at(items, lo + (hi - lo) / 2, ops), at(items, hi - 1, ops),
         ops->size); /* pivot last */
    size_t store = lo;
    for (size_t i = lo; i < hi - 1; i++)
      if (by_power_desc(at(items, i, ops), at(items, hi - 1, ops),
                        (void *)ops) < 0)
        swap(at(items, i, ops), at(items, store++, ops), ops->size);
    swap(at(items, store, ops), at(items, hi - 1, ops), ops->size);
    if (store == k || store + 1 == k)
      return;
    if (store > k)
      hi = store;
    else
      lo = store + 1;
  }
}

size_t power_trim(void *items, size_t n, size_t top, double min_w,
                  const struct power_trim_ops *ops, double *other_dynamic_w,
                  double *other_idle_w) {
  *other_dynamic_w = *other_idle_w = 0;
  if (top < n)
    select_first(items, n, top, ops);
  qsort_r(items, top < n ? top : n, ops->size, by_power_desc, (void *)ops);
  size_t kept = 0;
  while (kept < n && kept < top && power_w(ops, at(items, kept, ops)) >= min_w)
    kept++;
  for (size_t i = kept; i < n; i++) {
    *other_dynamic_w += ops->dynamic_w(at(items, i, ops));
    *other_idle_w += ops->idle_w(at(items, i, ops));
  }
  return kept;
}
