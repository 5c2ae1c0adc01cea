/* The node's power per component for one interval, from a model or from a
 * meter, and the node total without double counting nested domains. No
 * collectd headers. */
#ifndef KEPLER_NODE_POWER_H
#define KEPLER_NODE_POWER_H

#include <stdbool.h>

#include "model.h"

struct node_power {
  bool present[COMPONENT_MAX];
  double absolute[COMPONENT_MAX];
  double idle[COMPONENT_MAX];
  double dynamic[COMPONENT_MAX]; /* absolute - idle, never negative */
  /* The node as a whole: platform where present, else package (or core +
   * uncore) + dram, so nested domains are not counted twice. */
  double total, total_idle, total_dynamic;
};

/* Evaluate the model on the node's per-second features
 * (model_predict_node: idle is the model at zero usage x coreRatio). */
void node_power_estimate(const struct power_model *m,
                         const double x[FEATURE_MAX], struct node_power *out);

/* A model's node semantics (model_predict_node, model_node_from_equations)
 * as node power. */
void node_power_from_output(const struct model_output_w *w,
                            struct node_power *out);

/* Given present[] and absolute[] and idle[] per component: clamp idle into
 * [0, absolute], set dynamic and the totals. */
void node_power_finish(struct node_power *p);

#endif
