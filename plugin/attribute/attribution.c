#include "attribution.h"

#include <stdlib.h>
#include <string.h>

void attribution_default_policy(struct attribution_policy *p, bool hw_counters,
                                bool split_idle) {
  p->split_idle = split_idle;
  for (int c = 0; c < COMPONENT_MAX; c++)
    p->metric[c] = FEATURE_CPU_TIME_MS;
  if (hw_counters) {
    p->metric[COMPONENT_PACKAGE] = FEATURE_CPU_INSTRUCTIONS;
    p->metric[COMPONENT_CORE] = FEATURE_CPU_INSTRUCTIONS;
    p->metric[COMPONENT_DRAM] = FEATURE_CACHE_MISS;
  }
}

/* A disjoint part of the node total and the component whose metric shares
 * it. */
struct part {
  enum kepler_component component;
  double dynamic, idle;
};

static void add_part(struct part *parts, size_t *n, enum kepler_component c,
                     double dynamic, double idle) {
  parts[(*n)++] = (struct part){c, dynamic, idle};
}

/* The rest of the platform is platform - cpu - dram; a meter whose platform
 * reads below its own parts (they are separate sensors) gets the parts
 * scaled down to the platform, so the parts still sum to the node total. */
static void fit_under(struct part *parts, size_t n, double *total_dyn,
                      double *total_idle, double platform_dyn,
                      double platform_idle) {
  double dyn = 0, idle = 0;
  for (size_t i = 0; i < n; i++) {
    dyn += parts[i].dynamic;
    idle += parts[i].idle;
  }
  double fd = dyn > platform_dyn ? platform_dyn / dyn : 1;
  double fi = idle > platform_idle ? platform_idle / idle : 1;
  for (size_t i = 0; i < n; i++) {
    parts[i].dynamic *= fd;
    parts[i].idle *= fi;
  }
  *total_dyn = platform_dyn - dyn * fd;
  *total_idle = platform_idle - idle * fi;
}

static size_t node_parts(const struct node_power *p, struct part parts[4]) {
  size_t n = 0;
  if (p->present[COMPONENT_PACKAGE]) {
    add_part(parts, &n, COMPONENT_PACKAGE, p->dynamic[COMPONENT_PACKAGE],
             p->idle[COMPONENT_PACKAGE]);
  } else {
    if (p->present[COMPONENT_CORE])
      add_part(parts, &n, COMPONENT_CORE, p->dynamic[COMPONENT_CORE],
               p->idle[COMPONENT_CORE]);
    if (p->present[COMPONENT_UNCORE])
      add_part(parts, &n, COMPONENT_UNCORE, p->dynamic[COMPONENT_UNCORE],
               p->idle[COMPONENT_UNCORE]);
  }
  if (p->present[COMPONENT_DRAM])
    add_part(parts, &n, COMPONENT_DRAM, p->dynamic[COMPONENT_DRAM],
             p->idle[COMPONENT_DRAM]);
  if (p->present[COMPONENT_PLATFORM]) {
    double rest_dyn, rest_idle;
    fit_under(parts, n, &rest_dyn, &rest_idle, p->dynamic[COMPONENT_PLATFORM],
              p->idle[COMPONENT_PLATFORM]);
    add_part(parts, &n, COMPONENT_PLATFORM, rest_dyn, rest_idle);
  }
  return n;
}

static double usage_sum(struct proc_entry *const *procs, size_t n,
                        enum kepler_feature f) {
  double sum = 0;
  for (size_t i = 0; i < n; i++)
    sum += procs[i]->rate[f];
  return sum;
}

void attribute_to_processes(const struct node_power *node,
                            const struct attribution_policy *policy,
                            struct proc_entry *const *procs, size_t n) {
  for (size_t i = 0; i < n; i++)
    procs[i]->power_dynamic_w = procs[i]->power_idle_w = 0;
  struct part parts[4];
  size_t nparts = node_parts(node, parts);
  for (size_t k = 0; k < nparts; k++) {
    enum kepler_feature f = policy->metric[parts[k].component];
    double usage = usage_sum(procs, n, f);
    if (!(usage > 0)) {
      f = FEATURE_CPU_TIME_MS;
      usage = usage_sum(procs, n, f);
    }
    if (!(usage > 0))
      continue;
    for (size_t i = 0; i < n; i++) {
      double share = procs[i]->rate[f] / usage;
      procs[i]->power_dynamic_w += parts[k].dynamic * share;
      if (policy->split_idle)
        procs[i]->power_idle_w += parts[k].idle * share;
    }
  }
}

static int by_power_desc(const void *a, const void *b) {
  const struct proc_entry *x = *(struct proc_entry *const *)a;
  const struct proc_entry *y = *(struct proc_entry *const *)b;
  double px = x->power_dynamic_w + x->power_idle_w;
  double py = y->power_dynamic_w + y->power_idle_w;
  if (px != py)
    return px > py ? -1 : 1;
  return (x->key.tgid > y->key.tgid) - (x->key.tgid < y->key.tgid);
}

static void swap_procs(struct proc_entry **a, struct proc_entry **b) {
  struct proc_entry *t = *a;
  *a = *b;
  *b = t;
}

/* Reorder procs so that its first k are the k first in by_power_desc order
 * (in any order among themselves): quickselect, in place. A full sort of
 * every active process would cost n log n and, in glibc's qsort, a heap
 * buffer at every read. */
static void select_first(struct proc_entry **procs, size_t n, size_t k) {
  size_t lo = 0, hi = n; /* the k-th lies in [lo, hi) */
  while (hi - lo > 1) {
    swap_procs(&procs[lo + (hi - lo) / 2], &procs[hi - 1]); /* pivot last */
    size_t store = lo;
    for (size_t i = lo; i < hi - 1; i++)
      if (by_power_desc(&procs[i], &procs[hi - 1]) < 0)
        swap_procs(&procs[i], &procs[store++]);
    swap_procs(&procs[store], &procs[hi - 1]);
    if (store == k || store + 1 == k)
      return;
    if (store > k)
      hi = store;
    else
      lo = store + 1;
  }
}

size_t attribution_keep(struct proc_entry **procs, size_t n, size_t top,
                        double min_w, double *other_dynamic_w,
                        double *other_idle_w) {
  *other_dynamic_w = *other_idle_w = 0;
  if (top < n)
    select_first(procs, n, top);
  qsort(procs, top < n ? top : n, sizeof(*procs), by_power_desc);
  size_t kept = 0;
  while (kept < n && kept < top &&
         procs[kept]->power_dynamic_w + procs[kept]->power_idle_w >= min_w)
    kept++;
  for (size_t i = kept; i < n; i++) {
    *other_dynamic_w += procs[i]->power_dynamic_w;
    *other_idle_w += procs[i]->power_idle_w;
  }
  return kept;
}
