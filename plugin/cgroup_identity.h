/* Which workload a process belongs to, from its cgroup path(s).
 * Pure string logic (cgroup_identify_*) plus the two small I/O helpers that
 * feed it. No collectd headers. */
#ifndef KEPLER_CGROUP_IDENTITY_H
#define KEPLER_CGROUP_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

enum workload_kind {
  WORKLOAD_SYSTEM,    /* a process in no container */
  WORKLOAD_KERNEL,    /* a kernel thread */
  WORKLOAD_CONTAINER, /* a container of one of the runtimes below */
};

enum container_runtime {
  RUNTIME_NONE,
  RUNTIME_DOCKER,     /* docker-<id>.scope, /docker/<id> */
  RUNTIME_CONTAINERD, /* cri-containerd-<id>.scope, ...:cri-containerd:<id> */
  RUNTIME_CRIO,       /* crio-<id>.scope, /crio/<id> (not crio-conmon-) */
  RUNTIME_PODMAN,     /* libpod-<id>.scope, /libpod_parent/libpod-<id> */
};

#define WORKLOAD_ID_LEN 64
#define CGROUP_PATH_LEN 512

struct workload_id {
  enum workload_kind kind;
  enum container_runtime runtime;
  char id[WORKLOAD_ID_LEN + 1]; /* container id (lower-case hex); "" else */
  char cgroup_path[CGROUP_PATH_LEN]; /* the path the id was found in */
};

const char *runtime_name(enum container_runtime r); /* "docker", ... */

/* Classify one cgroup path (v1 or v2, as in /proc/PID/cgroup, starting with
 * '/'). Returns 1 and fills *out for a container, else 0 and out->kind is
 * WORKLOAD_SYSTEM with cgroup_path set. */
int cgroup_identify_path(const char *path, struct workload_id *out);

/* Classify the whole text of a /proc/PID/cgroup file (v1, v2 or hybrid
 * lines "hierarchy-id:controllers:path"): the first line whose path is a
 * container wins, the v2 ("0::") line preferred. Returns 1 for a container,
 * 0 for system (cgroup_path = the v2 path if any, else the first line's). */
int cgroup_identify_proc_text(const char *text, struct workload_id *out);

/* Read /proc/PID/cgroup under proc_root (normally "/proc") and classify it.
 * Returns 1 container, 0 system, -1 if the process is gone. */
int cgroup_identify_pid(const char *proc_root, uint32_t pid,
                        struct workload_id *out);

#endif
