// SPDX-License-Identifier: GPL-2.0-only
#include "node_power.h"

#include "component_total.h"

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
  p->total = component_total(p->present, p->absolute);
  p->total_idle = component_total(p->present, p->idle);
  p->total_dynamic = component_total(p->present, p->dynamic);
}
