// SPDX-License-Identifier: GPL-2.0-only
/* The node's power per component for one interval, from a model or from a
 * meter, and the node total without double counting nested domains. No
 * collectd headers; no model either (a meter's reading is one too): a
 * model's prediction becomes node power in node_estimator.h. */
#ifndef KEPLER_NODE_POWER_H
#define KEPLER_NODE_POWER_H

#include <stdbool.h>

#include "component.h"

struct node_power {
  bool present[COMPONENT_MAX];
  double absolute[COMPONENT_MAX];
  double idle[COMPONENT_MAX];
  double dynamic[COMPONENT_MAX]; /* absolute - idle, never negative */
  /* The node as a whole: platform where present, else package (or core +
   * uncore) + dram, so nested domains are not counted twice. */
  double total, total_idle, total_dynamic;
};

/* Given present[] and absolute[] and idle[] per component: clamp idle into
 * [0, absolute], set dynamic and the totals. */
void node_power_finish(struct node_power *p);

#endif
