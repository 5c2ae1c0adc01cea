// SPDX-License-Identifier: GPL-2.0-only
/* A model server's answer (model_server_load): a Kepler weight JSON with
 * model_name, mae and machine_spec, from the network or the cache file.
 * The first byte picks the output type. Checks: *out untouched and a
 * message on failure; on success the promised finite power for at least
 * one component at zero and full usage, watts everywhere, and the YAML
 * round trip (as a refreshed model is cached and converted). */
#include "fuzz_model_checks.h"
#include "model_server_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_take_log();
  if (size < 1)
    return 0;
  enum model_output output = data[0] & 1 ? MODEL_DYN_POWER : MODEL_ABS_POWER;
  struct machine_spec spec = fuzz_machine();
  struct power_model *const untouched = (struct power_model *)&untouched;
  struct power_model *m = untouched;
  char err[256];
  int rc = model_server_load((const char *)data + 1, size - 1, "fuzz", output,
                             &spec, &m, err, sizeof(err));
  if (!fuzz_check_load(rc, m, untouched, err, sizeof(err)))
    return 0;
  bool some = false;
  for (int c = 0; c < COMPONENT_MAX; c++)
    some = some || model_has_component(m, (enum kepler_component)c);
  FUZZ_REQUIRE(some, "at least one component");
  fuzz_check_predictions(m);
  fuzz_check_yaml_round_trip(m, true);
  model_free(m);
  return 0;
}
