// SPDX-License-Identifier: GPL-2.0-only
/* Our YAML model format (models/README.md), both ways: model_yaml.c reads
 * it, model_yaml_write.c writes it. */
#ifndef KEPLER_MODEL_YAML_H
#define KEPLER_MODEL_YAML_H

#include <stddef.h>
#include <stdio.h>

#include "model.h"

/* A YAML model from memory; `origin` names the text in error messages. */
int model_load_buffer(const char *text, size_t len, const char *origin,
                      struct power_model **out, char *err, size_t errlen);
/* Print the model as our YAML (kepler-model convert). The output loads back
 * into a model that predicts the same within 1e-12 relative. */
int model_write_yaml(const struct power_model *m, FILE *out);

#endif
