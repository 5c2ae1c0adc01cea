// SPDX-License-Identifier: GPL-2.0-only
/* The estimator sidecar's answer (estimator_parse_answer). The first byte
 * gives the number of rows asked for (1..8), the rest is the answer.
 * Checks: on failure a message and every output untouched; on success at
 * least one component, watts finite and >= 0, 0 for absent components,
 * core_ratio finite and > 0. */
#include <math.h>

#include "estimator_client.h"
#include "fuzz_check.h"

#define MAX_ROWS 8
#define SENTINEL (-12345.0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_take_log();
  if (size < 1)
    return 0;
  size_t nrows = 1 + data[0] % MAX_ROWS;
  bool present[COMPONENT_MAX];
  double watts[COMPONENT_MAX * MAX_ROWS];
  double core_ratio = SENTINEL;
  /* A pattern of valid bools (UBSan's bool check rejects other bytes). */
  for (int c = 0; c < COMPONENT_MAX; c++)
    present[c] = c % 2 == 0;
  for (size_t i = 0; i < COMPONENT_MAX * MAX_ROWS; i++)
    watts[i] = SENTINEL;
  bool present_before[COMPONENT_MAX];
  memcpy(present_before, present, sizeof(present));
  char err[256];
  if (estimator_parse_answer((const char *)data + 1, size - 1, nrows, present,
                             watts, &core_ratio, err, sizeof(err)) != 0) {
    fuzz_check_message(err, sizeof(err));
    FUZZ_REQUIRE(memcmp(present, present_before, sizeof(present)) == 0,
                 "present untouched on failure");
    for (size_t i = 0; i < COMPONENT_MAX * MAX_ROWS; i++)
      FUZZ_REQUIRE(watts[i] == SENTINEL, "watts untouched on failure");
    FUZZ_REQUIRE(core_ratio == SENTINEL, "core_ratio untouched on failure");
    return 0;
  }
  bool some = false;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    some = some || present[c];
    for (size_t r = 0; r < nrows; r++) {
      double w = watts[c * nrows + r];
      FUZZ_REQUIRE(isfinite(w) && w >= 0, "watts finite and >= 0");
      if (!present[c])
        FUZZ_REQUIRE(w == 0, "0 W for an absent component");
    }
  }
  FUZZ_REQUIRE(some, "at least one component on success");
  for (size_t i = COMPONENT_MAX * nrows; i < COMPONENT_MAX * MAX_ROWS; i++)
    FUZZ_REQUIRE(watts[i] == SENTINEL, "nothing written past nrows rows");
  FUZZ_REQUIRE(isfinite(core_ratio) && core_ratio > 0,
               "core_ratio finite and > 0");
  return 0;
}
