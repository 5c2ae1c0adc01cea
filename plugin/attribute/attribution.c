// SPDX-License-Identifier: GPL-2.0-only
#include "attribution.h"

#include <stdlib.h>
#include <string.h>

#include "power_trim.h"

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

/* A process's W for power_trim; ties by pid. */
static double proc_dynamic_w(const void *elem) {
  return (*(struct proc_entry *const *)elem)->power_dynamic_w;
}
static double proc_idle_w(const void *elem) {
  return (*(struct proc_entry *const *)elem)->power_idle_w;
}
static int proc_by_pid(const void *a, const void *b) {
  uint32_t x = (*(struct proc_entry *const *)a)->key.tgid;
  uint32_t y = (*(struct proc_entry *const *)b)->key.tgid;
  return (x > y) - (x < y);
}
static const struct power_trim_ops proc_trim = {
    sizeof(struct proc_entry *), proc_dynamic_w, proc_idle_w, proc_by_pid};

size_t attribution_keep(struct proc_entry **procs, size_t n, size_t top,
                        double min_w, double *other_dynamic_w,
                        double *other_idle_w) {
  return power_trim(procs, n, top, min_w, &proc_trim, other_dynamic_w,
                    other_idle_w);
}
