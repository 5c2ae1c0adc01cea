// SPDX-License-Identifier: GPL-2.0-only
#define _GNU_SOURCE
#include "cgroup_resolver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_read.h"
#include "log.h"

#define CACHE_SLOTS 1024 /* direct-mapped: a collision costs one re-resolve */
#define FILEID_KERNFS 0xfe

struct cache_slot {
  uint64_t cgroup_id; /* 0: empty */
  struct workload_id workload;
};

struct cgroup_resolver {
  char proc_root[256];
  char v2_mount[256];
  int v2_fd;   /* -1 without cgroup v2, or once handles are refused */
  bool has_v1; /* a v1 hierarchy is mounted: containers may show only there */
  struct cache_slot cache[CACHE_SLOTS];
};

/* From mountinfo ("... mountpoint ... - fstype ..."): the cgroup2 mount
 * point, and whether any cgroup v1 hierarchy is mounted (hybrid or v1). */
static void find_mounts(struct cgroup_resolver *r) {
  char path[300];
  snprintf(path, sizeof(path), "%s/self/mountinfo", r->proc_root);
  FILE *f = file_fopen_regular(path);
  if (!f)
    return;
  char *line = NULL; /* getline: container hosts have very long lines */
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    char mnt[256];
    if (strstr(line, " - cgroup ")) {
      r->has_v1 = true;
    } else if (!r->v2_mount[0] && strstr(line, " - cgroup2 ") &&
               sscanf(line, "%*s %*s %*s %*s %255s", mnt) == 1) {
      snprintf(r->v2_mount, sizeof(r->v2_mount), "%s", mnt);
    }
  }
  free(line);
  fclose(f);
}

struct cgroup_resolver *cgroup_resolver_new(const char *proc_root) {
  struct cgroup_resolver *r = calloc(1, sizeof(*r));
  if (!r)
    return NULL;
  snprintf(r->proc_root, sizeof(r->proc_root), "%s", proc_root);
  r->v2_fd = -1;
  find_mounts(r);
  if (r->v2_mount[0])
    r->v2_fd = open(r->v2_mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  return r;
}

void cgroup_resolver_free(struct cgroup_resolver *r) {
  if (!r)
    return;
  if (r->v2_fd >= 0)
    close(r->v2_fd);
  free(r);
}

/* A cgroup v2 id is its kernfs node id: open it as a file handle and read
 * the path back, O(1) instead of walking the tree. */
static int v2_path(struct cgroup_resolver *r, uint64_t id, char *out,
                   size_t len) {
  union {
    struct file_handle fh;
    char buf[sizeof(struct file_handle) + sizeof(uint64_t)];
  } h;
  h.fh.handle_bytes = sizeof(uint64_t);
  h.fh.handle_type = FILEID_KERNFS;
  memcpy(h.fh.f_handle, &id, sizeof(id));
  int fd = open_by_handle_at(r->v2_fd, &h.fh, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == EPERM) {
    kepler_log(KLOG_INFO, "kepler: cannot open cgroups by id (needs "
                          "CAP_DAC_READ_SEARCH): containers are found "
                          "through /proc/PID/cgroup only");
    close(r->v2_fd);
    r->v2_fd = -1;
  }
  if (fd < 0)
    return -1;
  char link[64], target[CGROUP_PATH_LEN + 256];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof(target) - 1);
  close(fd);
  if (n < 0)
    return -1;
  target[n] = '\0';
  size_t m = strlen(r->v2_mount);
  if (strncmp(target, r->v2_mount, m) != 0)
    return -1;
  snprintf(out, len, "%s", target[m] ? target + m : "/");
  return 0;
}

static const struct workload_id *by_v2_id(struct cgroup_resolver *r,
                                          uint64_t id) {
  if (r->v2_fd < 0 || id == 0)
    return NULL;
  struct cache_slot *slot = &r->cache[(id * 0x9e3779b97f4a7c15ull) >> 54];
  if (slot->cgroup_id == id)
    return &slot->workload;
  char path[CGROUP_PATH_LEN];
  if (v2_path(r, id, path, sizeof(path)))
    return NULL;
  slot->cgroup_id = id;
  cgroup_identify_path(path, &slot->workload);
  return &slot->workload;
}

void cgroup_resolver_identify(struct cgroup_resolver *r, uint32_t pid,
                              uint64_t cgroup_id, bool kthread,
                              struct workload_id *out) {
  memset(out, 0, sizeof(*out));
  if (kthread) {
    out->kind = WORKLOAD_KERNEL;
    return;
  }
  const struct workload_id *v2 = by_v2_id(r, cgroup_id);
  if (v2 && v2->kind == WORKLOAD_CONTAINER) {
    *out = *v2;
    return;
  }
  /* On v1 and hybrid hosts the container may show only in a v1 hierarchy;
   * without v2 ids, /proc is all there is. A process already gone keeps
   * what v2 said. */
  if ((r->has_v1 || !v2) && cgroup_identify_pid(r->proc_root, pid, out) >= 0)
    return;
  if (v2)
    *out = *v2;
  else
    out->kind = WORKLOAD_SYSTEM;
}
