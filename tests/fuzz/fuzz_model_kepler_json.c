// SPDX-License-Identifier: GPL-2.0-only
/* Kepler's weight JSON (model_load_kepler_json): kepler-model-db files and
 * what `kepler-model convert` reads. The first byte picks the trainer and
 * the output type, the rest is the JSON. Checks as for our YAML: *out
 * untouched and a message on failure; on success watts, and the converted
 * YAML loads back and predicts the same. */
#include "fuzz_model_checks.h"
#include "model_kepler_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_take_log();
  static const char *const trainers[] = {
      "SGDRegressorTrainer_0",        "LinearRegressionTrainer",
      "LogarithmicRegressionTrainer", "ExponentialRegressionTrainer",
      "LogisticRegressionTrainer",    "GradientBoostingRegressorTrainer"};
  if (size < 1)
    return 0;
  const char *trainer = trainers[(data[0] & 0x7f) % 6];
  enum model_output output = data[0] & 0x80 ? MODEL_DYN_POWER : MODEL_ABS_POWER;
  struct power_model *const untouched = (struct power_model *)&untouched;
  struct power_model *m = untouched;
  char err[256];
  int rc = model_load_kepler_json((const char *)data + 1, size - 1, "fuzz",
                                  trainer, output, &m, err, sizeof(err));
  if (fuzz_check_load(rc, m, untouched, err, sizeof(err)))
    fuzz_check_file_model(m);
  return 0;
}
