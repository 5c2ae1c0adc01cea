/* Node power models: per component, watts from per-second usage features.
 * This header is the core's view of a model; it includes no collectd header. */
#ifndef KEPLER_MODEL_H
#define KEPLER_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include "kepler_features.h"

/* RAPL-style power domains. package contains core and uncore; platform
 * contains package and dram (and everything else on the board). */
enum kepler_component {
  COMPONENT_PACKAGE,
  COMPONENT_CORE,
  COMPONENT_UNCORE,
  COMPONENT_DRAM,
  COMPONENT_PLATFORM,
  COMPONENT_MAX,
};

const char *component_name(enum kepler_component c);
int component_by_name(const char *name); /* -1 if unknown */

struct power_model;

/* Load a model from a YAML file (format: models/README.md). On failure
 * returns -1, leaves *out untouched and writes "FILE:LINE: message" to err. */
int model_load_file(const char *path, struct power_model **out, char *err,
                    size_t errlen);
/* The same from memory; `origin` names the text in error messages. */
int model_load_buffer(const char *text, size_t len, const char *origin,
                      struct power_model **out, char *err, size_t errlen);
void model_free(struct power_model *m);

const char *model_name(const struct power_model *m);
/* Stated error of the model (from its file); negative when not stated. */
double model_mae_watts(const struct power_model *m);
bool model_has_component(const struct power_model *m, enum kepler_component c);
bool model_uses_feature(const struct power_model *m, enum kepler_feature f);
/* Absolute power of component c in W for per-second feature rates x;
 * 0 for a component the model does not have. Never negative. */
double model_predict(const struct power_model *m, enum kepler_component c,
                     const double x[FEATURE_MAX]);

#endif
