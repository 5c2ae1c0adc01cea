#include "node_power.h"

#include <string.h>

static double top_level(const struct node_power *p, const double *v) {
  if (p->present[COMPONENT_PLATFORM])
    return v[COMPONENT_PLATFORM];
  double cpu = p->present[COMPONENT_PACKAGE]
                   ? v[COMPONENT_PACKAGE]
                   : v[COMPONENT_CORE] + v[COMPONENT_UNCORE];
  return cpu + v[COMPONENT_DRAM];
}

void node_power_finish(struct node_power *p) {
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!p->present[c]) {
      p->absolute[c] = p->idle[c] = p->dynamic[c] = 0;
      continue;
    }
    if (p->absolute[c] < 0)
      p->absolute[c] = 0;
    if (p->idle[c] > p->absolute[c])
      p->idle[c] = p->absolute[c];
    if (p->idle[c] < 0)
      p->idle[c] = 0;
    p->dynamic[c] = p->absolute[c] - p->idle[c];
  }
  p->total = top_level(p, p->absolute);
  p->total_idle = top_level(p, p->idle);
  p->total_dynamic = top_level(p, p->dynamic);
}

void node_power_estimate(const struct power_model *m,
                         const double x[FEATURE_MAX], struct node_power *out) {
  struct model_output_w w;
  model_predict_node(m, x, &w);
  memset(out, 0, sizeof(*out));
  for (int c = 0; c < COMPONENT_MAX; c++) {
    out->present[c] = w.present[c];
    out->absolute[c] = w.absolute[c];
    out->idle[c] = w.idle[c];
  }
  node_power_finish(out);
}
