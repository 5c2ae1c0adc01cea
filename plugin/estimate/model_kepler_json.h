// SPDX-License-Identifier: GPL-2.0-only
/* Kepler's weight JSON (kepler-model-db files, a model server's answer),
 * read by model_kepler_json.c. */
#ifndef KEPLER_MODEL_KEPLER_JSON_H
#define KEPLER_MODEL_KEPLER_JSON_H

#include <stddef.h>

#include "model.h"

/* A Kepler weight JSON from memory (a file's text or a model server's
 * answer). trainer_name: e.g. "SGDRegressorTrainer_0" or
 * "LogarithmicRegressionTrainer"; it selects the equation. */
int model_load_kepler_json(const char *text, size_t len, const char *origin,
                           const char *trainer_name, enum model_output output,
                           struct power_model **out, char *err, size_t errlen);

#endif
