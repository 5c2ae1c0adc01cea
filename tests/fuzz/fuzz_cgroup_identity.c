// SPDX-License-Identifier: GPL-2.0-only
/* cgroup paths and /proc/PID/cgroup text (cgroup_identify_path,
 * cgroup_identify_proc_text). The first byte picks which, the rest is the
 * text. Checks: every string field NUL-terminated within its array, the
 * return value agrees with kind, a container has a runtime and an id (hex
 * for every runtime but LXC) and nothing else does, the QoS class only with
 * a pod, and the stored path is the input (truncated, without the kernel's
 * " (deleted)"). */
#include <ctype.h>

#include "cgroup_identity.h"
#include "fuzz_check.h"

#define TERMINATED(field) (strnlen((field), sizeof(field)) < sizeof(field))

static void check_identity(int r, const struct workload_id *w) {
  FUZZ_REQUIRE(r == 0 || r == 1, "1 container, 0 system");
  FUZZ_REQUIRE(TERMINATED(w->id) && TERMINATED(w->pod_uid) &&
                   TERMINATED(w->service) && TERMINATED(w->session) &&
                   TERMINATED(w->vm) && TERMINATED(w->cgroup_path),
               "every field NUL-terminated");
  FUZZ_REQUIRE((r == 1) == (w->kind == WORKLOAD_CONTAINER),
               "the return value says the kind");
  if (r == 1) {
    FUZZ_REQUIRE(w->runtime != RUNTIME_NONE, "a container has a runtime");
    FUZZ_REQUIRE(w->id[0] != '\0', "a container has an id");
    if (w->runtime != RUNTIME_LXC)
      for (const char *c = w->id; *c; c++)
        FUZZ_REQUIRE(isxdigit((unsigned char)*c) && !isupper((unsigned char)*c),
                     "a container id is lower-case hex");
    FUZZ_REQUIRE(strchr(w->id, '/') == NULL, "an id is no path");
  } else {
    FUZZ_REQUIRE(w->runtime == RUNTIME_NONE && w->id[0] == '\0',
                 "no runtime and no id outside a container");
  }
  if (w->qos != POD_QOS_NONE)
    FUZZ_REQUIRE(w->pod_uid[0] != '\0', "a QoS class only with a pod");
  FUZZ_REQUIRE(runtime_name(w->runtime) != NULL && qos_name(w->qos) != NULL,
               "names for every runtime and class");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_take_log();
  if (size < 1)
    return 0;
  char *text = fuzz_strndup(data + 1, size - 1);
  if (!text)
    return 0;
  struct workload_id w;
  memset(&w, 0x5a, sizeof(w));
  if (data[0] & 1) {
    int r = cgroup_identify_path(text, &w);
    check_identity(r, &w);
    size_t n = strlen(w.cgroup_path);
    /* The kernel's " (deleted)" after a removed cgroup is not the path. */
    FUZZ_REQUIRE(strncmp(w.cgroup_path, text, n) == 0 &&
                     (text[n] == '\0' || n == CGROUP_PATH_LEN - 1 ||
                      strcmp(text + n, " (deleted)") == 0),
                 "cgroup_path is the path, truncated");
  } else {
    check_identity(cgroup_identify_proc_text(text, &w), &w);
  }
  free(text);
  return 0;
}
