// SPDX-License-Identifier: GPL-2.0-only
/* The container runtimes' record files (runtime_names_lookup): docker's
 * config.v2.json, the OCI spec of a containerd or cri-o bundle, podman's
 * containers.json. The first byte picks the runtime's file, the rest is
 * its content, written under a private root in /tmp. Checks: a documented
 * return value, *out cleared on every failure, every name NUL-terminated
 * within its array, and (D2) no control byte in the
 * log lines about a broken file. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_check.h"
#include "runtime_names.h"

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const struct {
  enum container_runtime runtime;
  const char *dir; /* under the root */
  const char *file;
} records[] = {
    {RUNTIME_DOCKER, "/var/lib/docker/containers/" ID, "config.v2.json"},
    {RUNTIME_CONTAINERD,
     "/run/containerd/io.containerd.runtime.v2.task/k8s.io/" ID, "config.json"},
    {RUNTIME_CRIO, "/run/containers/storage/overlay-containers/" ID "/userdata",
     "config.json"},
    {RUNTIME_PODMAN, "/var/lib/containers/storage/overlay-containers",
     "containers.json"},
};
#define NRECORDS (sizeof(records) / sizeof(records[0]))

static char root[64];

static void make_dirs(char *path) {
  for (char *s = path + 1; *s; s++)
    if (*s == '/') {
      *s = '\0';
      mkdir(path, 0700);
      *s = '/';
    }
  mkdir(path, 0700);
}

static void record_path(char *out, size_t len, size_t i) {
  snprintf(out, len, "%s%s/%s", root, records[i].dir, records[i].file);
}

/* The private root, removed at exit with what is in it. */
static void remove_root(void) {
  char path[512];
  for (size_t i = 0; i < NRECORDS; i++) {
    record_path(path, sizeof(path), i);
    unlink(path);
  }
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", root);
}

static int set_up(void) {
  snprintf(root, sizeof(root), "/tmp/kepler_fuzz_names_XXXXXX");
  if (!mkdtemp(root))
    return -1;
  atexit(remove_root);
  for (size_t i = 0; i < NRECORDS; i++) {
    char dir[512];
    snprintf(dir, sizeof(dir), "%s%s", root, records[i].dir);
    make_dirs(dir);
  }
  fuzz_take_log();
  return 0;
}

static bool cleared(const struct container_names *n) {
  return n->name[0] == '\0' && n->pod_name[0] == '\0' &&
         n->pod_namespace[0] == '\0';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int ready = -2;
  if (ready == -2)
    ready = set_up();
  if (ready != 0 || size < 1)
    return 0;
  size_t pick = data[0] % NRECORDS;
  char path[512];
  for (size_t i = 0; i < NRECORDS; i++) {
    record_path(path, sizeof(path), i);
    unlink(path);
  }
  record_path(path, sizeof(path), pick);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return 0;
  bool written = write(fd, data + 1, size - 1) == (ssize_t)(size - 1);
  close(fd);
  if (!written)
    return 0;
  struct container_names n;
  memset(&n, 0x5a, sizeof(n));
  int r = runtime_names_lookup(root, records[pick].runtime, ID, &n);
  FUZZ_REQUIRE(r == 0 || r == -ENOENT || r == -ENODATA || r == -EBADMSG ||
                   r == -EFBIG,
               "a documented return value");
  FUZZ_REQUIRE(strnlen(n.name, sizeof(n.name)) < sizeof(n.name) &&
                   strnlen(n.pod_name, sizeof(n.pod_name)) <
                       sizeof(n.pod_name) &&
                   strnlen(n.pod_namespace, sizeof(n.pod_namespace)) <
                       sizeof(n.pod_namespace),
               "every name NUL-terminated");
  if (r != 0)
    FUZZ_REQUIRE(cleared(&n), "*out cleared on failure");
  else
    FUZZ_REQUIRE(n.name[0] || n.pod_name[0] || n.pod_namespace[0],
                 "found names something");
  return 0;
}
