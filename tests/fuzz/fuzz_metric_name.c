// SPDX-License-Identifier: GPL-2.0-only
/* Workload and process names -> series instances (metric_name.h). The
 * input is two names separated by a NUL byte after two bytes: the size of
 * the destination and the workload level. Checks: every instance is made
 * only of writer-safe bytes [A-Za-z0-9_], NUL-terminated within the
 * destination and not empty; the same name gives the same instance; and
 * (D4) at the size the plugin passes, two distinct names of a level never
 * give one instance, and none gives a bucket's ("system", "kernel",
 * "other"). */
#include "fuzz_check.h"
#include "metric_name.h"

/* collectd's DATA_MAX_NAME_LEN, what the plugin passes. */
#define INSTANCE_LEN 128

static void check_instance(const char *dst, size_t len) {
  size_t n = strnlen(dst, len);
  FUZZ_REQUIRE(n < len, "instance NUL-terminated within its buffer");
  if (len > 1)
    FUZZ_REQUIRE(n > 0, "instance not empty");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)dst[i];
    FUZZ_REQUIRE((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '_',
                 "only writer-safe bytes in an instance");
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  /* Sizes from 1 to INSTANCE_LEN; the guard byte after catches overruns
   * that ASan cannot (the array is bigger than the size passed). */
  size_t len = 1 + data[0] % INSTANCE_LEN;
  enum report_level level = (enum report_level)(
      LEVEL_CONTAINER + data[1] % (LEVEL_MAX - LEVEL_CONTAINER));
  data += 2, size -= 2;
  char *text = fuzz_strndup(data, size);
  if (!text)
    return 0;
  const char *a = text;
  size_t alen = strlen(a);
  const char *b = alen < size ? text + alen + 1 : "";
  char ia[INSTANCE_LEN + 1], ia2[INSTANCE_LEN + 1], ib[INSTANCE_LEN + 1];
  ia[len] = ia2[len] = ib[len] = '\x7f';
  metric_workload_instance(ia, len, level, a);
  metric_workload_instance(ia2, len, level, a);
  metric_workload_instance(ib, len, level, b);
  FUZZ_REQUIRE(ia[len] == '\x7f' && ib[len] == '\x7f',
               "nothing written past len");
  check_instance(ia, len);
  check_instance(ib, len);
  FUZZ_REQUIRE(strcmp(ia, ia2) == 0, "the same name, the same instance");
  if (len == INSTANCE_LEN) {
    if (strcmp(a, b) != 0)
      FUZZ_REQUIRE(strcmp(ia, ib) != 0, "distinct names, distinct instances");
    FUZZ_REQUIRE(!metric_bucket_instance(ia) && !metric_bucket_instance(ib),
                 "no workload takes a bucket's instance");
  }
  char ip[INSTANCE_LEN + 1];
  ip[len] = '\x7f';
  uint32_t pid = (uint32_t)alen * 2654435761u;
  metric_process_instance(ip, len, a, pid);
  FUZZ_REQUIRE(ip[len] == '\x7f', "nothing written past len");
  check_instance(ip, len);
  free(text);
  return 0;
}
