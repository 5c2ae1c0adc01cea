// SPDX-License-Identifier: GPL-2.0-only
/* A model from a file of either format. Picking the format is the only
 * thing this module does: the formats' loaders (model_yaml.h,
 * model_kepler_json.h) depend on the model (model.h), never the reverse. */
#ifndef KEPLER_MODEL_LOAD_H
#define KEPLER_MODEL_LOAD_H

#include <stddef.h>

#include "model.h"

/* Load a model file: our YAML (models/README.md), or a Kepler model-db JSON
 * weight file unchanged (detected by its first non-blank byte, '{'). For
 * JSON the trainer comes from the file name ("<Trainer>_<n>.json") and the
 * output type from an "AbsPower"/"DynPower" directory in the path
 * (AbsPower when none). On failure returns -1, leaves *out untouched and
 * writes "FILE:LINE: message" to err. */
int model_load_file(const char *path, struct power_model **out, char *err,
                    size_t errlen);

#endif
