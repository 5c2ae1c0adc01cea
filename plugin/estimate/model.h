// SPDX-License-Identifier: GPL-2.0-only
/* Node power models: per component, watts from per-second usage features.
 * This header is the core's view of a model; it includes no collectd header. */
#ifndef KEPLER_MODEL_H
#define KEPLER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "component.h"
#include "kepler_features.h"
#include "machine.h"

/* AbsPower: a component's power including its idle part. DynPower: only
 * the part above idle (Kepler's process-level models). */
enum model_output { MODEL_ABS_POWER, MODEL_DYN_POWER };

struct power_model;

void model_free(struct power_model *m);

/* Bind the model to the machine it runs on: Kepler's categorical variables
 * (cpu_architecture, from the model's cpu_architectures rules), coreRatio
 * (when the model states its training machine's cores) and the machine
 * terms of load_curve components. A load_curve model predicts 0 until
 * bound. Returns -1 with a message on a machine the model cannot use (e.g.
 * 0 threads for a load_curve). */
int model_bind_machine(struct power_model *m, const struct machine_spec *spec,
                       char *err, size_t errlen);
/* The cpu_architecture the bound machine got, "" when none matched. */
const char *model_cpu_architecture(const struct power_model *m);
/* Whether that architecture came from the model's cpuid_rules (the CPU's
 * vendor, family and model) rather than from its name. */
bool model_cpu_architecture_from_cpuid(const struct power_model *m);
/* The bound machine's total TDP in W from the model's tdp block (by CPU
 * name, else by architecture per core); 0 when the model has none. */
double model_tdp_w(const struct power_model *m);
/* min(cores here / cores of the training machine, 1); 1 when unknown. */
double model_core_ratio(const struct power_model *m);
enum model_output model_output_type(const struct power_model *m);
const char *model_name(const struct power_model *m);
/* Stated error of the model (from its file); negative when not stated. */
double model_mae_watts(const struct power_model *m);
/* Stated mean absolute percentage error; negative when not stated. */
double model_mape_pct(const struct power_model *m);
/* Free text on where the weights came from; "" when not stated. */
const char *model_source(const struct power_model *m);
bool model_has_component(const struct power_model *m, enum kepler_component c);
bool model_uses_feature(const struct power_model *m, enum kepler_feature f);
/* Power of component c in W for per-second feature rates x, as the model's
 * equation gives it (absolute for AbsPower, above idle for DynPower);
 * 0 for a component the model does not have. Never negative. */
double model_predict(const struct power_model *m, enum kepler_component c,
                     const double x[FEATURE_MAX]);

/* The node's power per component with Kepler's semantics (kepler.md 3):
 * idle = the equation at all-zero features x coreRatio (0 for DynPower),
 * dynamic = max(equation(x) - equation(0), 0) (DynPower: equation(x)),
 * absolute = idle + dynamic; then the component fix-ups (package >= core +
 * uncore; a 0 core = package - uncore). Components the model lacks get
 * present[c] = false and 0 W. */
struct model_output_w {
  bool present[COMPONENT_MAX];
  double absolute[COMPONENT_MAX];
  double idle[COMPONENT_MAX];
};
void model_predict_node(const struct power_model *m,
                        const double x[FEATURE_MAX],
                        struct model_output_w *out);
/* The same semantics on equations evaluated elsewhere (the estimator
 * sidecar): eq_x[c] at the node's features, eq_0[c] at zero usage. */
void model_node_from_equations(const bool present[COMPONENT_MAX],
                               const double eq_x[COMPONENT_MAX],
                               const double eq_0[COMPONENT_MAX],
                               enum model_output output, double core_ratio,
                               struct model_output_w *out);

#endif
