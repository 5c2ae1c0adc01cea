// SPDX-License-Identifier: GPL-2.0-only
/* Our YAML model (model_load_buffer), as a ModelFile or `kepler-model
 * check` reads it. Checks: *out untouched and a message on failure; on
 * success predictions are watts, and the YAML written from the model loads
 * back and predicts the same. */
#include "fuzz_model_checks.h"

/* D1: glibc regcomp needs memory exponential in stacked repetitions
 * ("a++++", "a{9}{9}{9}") and in large bounds, so such a pattern exhausts
 * the fuzzer's memory limit; until patterns are bounded, inputs with more
 * than 3 repetition operators in a row or a bound over 32 are left out. */
static bool many_repetitions(const uint8_t *data, size_t size) {
#ifdef FUZZ_CHECK_PATTERNS
  (void)data, (void)size;
  return false;
#else
  size_t run = 0;
  for (size_t i = 0; i < size; i++) {
    if (data[i] == '+' || data[i] == '*' || data[i] == '?') {
      run++;
    } else if (data[i] == '{' && i + 1 < size && data[i + 1] >= '0' &&
               data[i + 1] <= '9') {
      /* A bound {n}, {n,} or {n,m}; a YAML flow mapping starts with '{'
       * too, but never with a digit. */
      unsigned bound = 0;
      for (i++; i < size && data[i] != '}'; i++) {
        if (data[i] >= '0' && data[i] <= '9')
          bound = bound > 1000 ? bound : bound * 10 + (data[i] - '0');
        else if (data[i] == ',')
          bound = 0;
        else
          break;
        if (bound > 32)
          return true;
      }
      run++;
    } else {
      run = 0;
    }
    if (run > 3)
      return true;
  }
  return false;
#endif
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_take_log();
  if (many_repetitions(data, size))
    return 0;
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
