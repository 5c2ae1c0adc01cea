// SPDX-License-Identifier: GPL-2.0-only
/* Linear node-power weights fitted online where a meter exists: per
 * component, recursive least squares with exponential forgetting over the
 * features this host measures, from (node features, measured power) pairs
 * of each interval. The fit is written as a Kepler weight JSON file that a
 * meterless machine of the same type loads (ModelFile) or gets from a
 * model server. No collectd headers. */
#ifndef KEPLER_ONLINE_FIT_H
#define KEPLER_ONLINE_FIT_H

#include <stdbool.h>
#include <stddef.h>

#include "machine.h"
#include "model.h"
#include "node_power.h"

struct online_fit;

/* Fit the features with have[f] true; forgetting in (0, 1], e.g. 0.999
 * (about the last 1000 intervals count). NULL when out of memory or when
 * forgetting is outside (0, 1]. The only allocation: later calls allocate
 * nothing (online_fit_write only while it writes). */
struct online_fit *online_fit_new(const bool have[FEATURE_MAX],
                                  double forgetting);
/* One interval: per-second node features x, and the measured absolute power
 * of every component with measured->present[c]. Each component's running
 * error is taken on its prediction before this pair updates it. Non-finite
 * inputs are ignored: a non-finite x[f] of a fitted feature drops the whole
 * pair, a non-finite or negative measured->absolute[c] that component's
 * pair. Components not present are left as they are (each component has
 * its own MaxAbs scales, from the pairs it took). */
void online_fit_add(struct online_fit *f, const double x[FEATURE_MAX],
                    const struct node_power *measured);
/* Pairs fitted for component c. */
size_t online_fit_samples(const struct online_fit *f, enum kepler_component c);
/* The running error counts from this pair on, whatever the features: the
 * first predictions are the prior's, not the fit's. */
#define ONLINE_FIT_MAE_WARMUP (FEATURE_MAX + 2)
/* Running mean absolute error (W) of the one-step-ahead predictions of c
 * (as online_fit_predict gave them), weighted with the same forgetting;
 * NaN before any pair. */
double online_fit_mae(const struct online_fit *f, enum kepler_component c);
/* Pairs a component needs before it is written: the fitted features + 2
 * (one more than the parameters). */
size_t online_fit_min_samples(const struct online_fit *f);
/* c has that many pairs and a finite fit: online_fit_write includes it. */
bool online_fit_is_fitted(const struct online_fit *f, enum kepler_component c);
/* The fitted power of c at x, as the written file would give it through
 * model_predict (the same doubles, the same order of operations): never
 * negative, 0 when not finite; 0 before any pair. */
double online_fit_predict(const struct online_fit *f, enum kepler_component c,
                          const double x[FEATURE_MAX]);
/* Write the fit of every component with online_fit_is_fitted as a Kepler
 * weight JSON (Bias_Weight, empty Categorical_Variables, Numerical_Variables
 * with scale and weight of every fitted feature, plus model_name (left out
 * when NULL or ""), mae = the largest running MAE of the written components,
 * and machine_spec {vendor, processor, cores, chips, memory, frequency,
 * threads_per_core} (left out when spec is NULL)) to path, atomically (a
 * temporary file in the same directory, fsync'ed, renamed over it; mode
 * 0644). Doubles print with %.17g, so they load back exactly. Named
 * ".../LinearRegressionTrainer_0.json" (any name with "LinearRegression" or
 * "Regressor" in it; no "DynPower" directory in the path, since this is an
 * AbsPower model) the file loads with model_load_file and predicts what
 * online_fit_predict does. Returns -1 with a message naming the file:
 * nothing fitted yet (no component has enough pairs; nothing is written),
 * or the system's error. */
int online_fit_write(const struct online_fit *f, const char *path,
                     const char *model_name, const struct machine_spec *spec,
                     char *err, size_t errlen);
/* What online_fit_write writes, in a new string (free it) for a writer of
 * one's own; NULL with the same messages (path names the file in them). */
char *online_fit_text(const struct online_fit *f, const char *path,
                      const char *model_name, const struct machine_spec *spec,
                      char *err, size_t errlen);
void online_fit_free(struct online_fit *f);

#endif
