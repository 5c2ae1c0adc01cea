// SPDX-License-Identifier: GPL-2.0-only
/* Node power where no meter gives it: Kepler's general estimator sidecar
 * when one is configured and answers, the local model otherwise (and for
 * any interval the sidecar misses). One WARNING per sidecar outage, a
 * NOTICE when it answers again. No collectd headers. */
#ifndef KEPLER_NODE_ESTIMATOR_H
#define KEPLER_NODE_ESTIMATOR_H

#include <stdbool.h>
#include <stddef.h>

#include "machine.h"
#include "model.h"
#include "node_power.h"

struct node_estimator_options {
  const char *socket_path; /* NULL: the local model only */
  int timeout_ms;
  size_t max_answer;
  const char *source;       /* asked of the sidecar: "rapl-sysfs", "acpi" */
  bool have[FEATURE_MAX];   /* the features sent: those this host measures */
  struct machine_spec spec; /* sent as Kepler's system features */
};

struct node_estimator;

/* Ask the sidecar once with an all-zero row (Kepler's health check); a
 * failure is the first outage's WARNING (naming m, the local model that
 * covers), not an error. -1 only when out of memory. */
int node_estimator_open(const struct node_estimator_options *o,
                        const struct power_model *m,
                        struct node_estimator **out, char *err, size_t errlen);
/* Node power at per-second features x: the sidecar's answer with Kepler's
 * node semantics (idle = its answer at zero usage), else model m's. Returns
 * where it came from: "estimator" or "model". */
const char *node_estimator_estimate(struct node_estimator *e,
                                    const struct power_model *m,
                                    const double x[FEATURE_MAX],
                                    struct node_power *out);
void node_estimator_close(struct node_estimator *e);

/* Evaluate the model on the node's per-second features
 * (model_predict_node: idle is the model at zero usage x coreRatio). */
void node_power_estimate(const struct power_model *m,
                         const double x[FEATURE_MAX], struct node_power *out);

/* A model's node semantics (model_predict_node, model_node_from_equations)
 * as node power. */
void node_power_from_output(const struct model_output_w *w,
                            struct node_power *out);

#endif
