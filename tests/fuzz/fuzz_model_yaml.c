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
  if (model_load_buffer((const char *)data, size, "fuzz", &m, err,
                        sizeof(err)) != 0) {
    FUZZ_REQUIRE(m == untouched, "*out untouched on failure");
    fuzz_check_message(err, sizeof(err));
    return 0;
  }
  FUZZ_REQUIRE(m != untouched && m != NULL, "a model on success");
  struct machine_spec spec = fuzz_machine();
  bool bound = model_bind_machine(m, &spec, err, sizeof(err)) == 0;
  if (!bound)
    fuzz_check_message(err, sizeof(err));
  fuzz_check_predictions(m);
  fuzz_check_yaml_round_trip(m, bound);
  model_free(m);
  return 0;
}
