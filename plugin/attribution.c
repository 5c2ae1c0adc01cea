#include "attribution.h"

#include <stdlib.h>
#include <string.h>

#include "component_total.h"

void node_power_estimate(const struct power_model *m,
                         const double x[FEATURE_MAX], struct node_power *out) {
  static const double zero[FEATURE_MAX];
  memset(out, 0, sizeof(*out));
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!model_has_component(m, c))
      continue;
    out->present[c] = true;
    out->absolute[c] = model_predict(m, c, x);
    out->idle[c] = model_predict(m, c, zero);
    double dyn = out->absolute[c] - out->idle[c];
    out->dynamic[c] = dyn > 0 ? dyn : 0;
    out->idle[c] = out->absolute[c] - out->dynamic[c];
  }
  out->total = component_total(out->present, out->absolute);
  out->total_idle = component_total(out->present, out->idle);
  out->total_dynamic = component_total(out->present, out->dynamic);
}

void attribute_to_processes(const struct node_power *node, bool split_idle,
                            struct proc_entry *const *procs, size_t n) {
  double usage = 0;
  for (size_t i = 0; i < n; i++)
    usage += procs[i]->rate[FEATURE_CPU_TIME_MS];
  for (size_t i = 0; i < n; i++) {
    double share = usage > 0 ? procs[i]->rate[FEATURE_CPU_TIME_MS] / usage : 0;
    procs[i]->power_dynamic_w = node->total_dynamic * share;
    procs[i]->power_idle_w = split_idle ? node->total_idle * share : 0;
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

size_t attribution_keep_top(struct proc_entry **procs, size_t n, size_t top,
                            double *other_dynamic_w, double *other_idle_w) {
  *other_dynamic_w = *other_idle_w = 0;
  if (n <= top)
    return n;
  qsort(procs, n, sizeof(*procs), by_power_desc);
  for (size_t i = top; i < n; i++) {
    *other_dynamic_w += procs[i]->power_dynamic_w;
    *other_idle_w += procs[i]->power_idle_w;
  }
  return top;
}
