// SPDX-License-Identifier: GPL-2.0-only
/* Our YAML model (model_load_buffer), as a ModelFile or `kepler-model
 * check` reads it. Checks: *out untouched and a message on failure; on
 * success predictions are watts, and the YAML written from the model loads
 * back and predicts the same. */
#include "fuzz_model_checks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_take_log();
  struct power_model *const untouched = (struct power_model *)&untouched;
  struct power_model *m = untouched;
  char err[256];
  int rc =
      model_load_buffer((const char *)data, size, "fuzz", &m, err, sizeof(err));
  if (fuzz_check_load(rc, m, untouched, err, sizeof(err)))
    fuzz_check_file_model(m);
  return 0;
}
