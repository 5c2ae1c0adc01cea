// SPDX-License-Identifier: GPL-2.0-only
/* Which workloads a process belongs to, from its cgroup path(s): container,
 * Kubernetes pod, systemd service, user session, libvirt VM.
 * Pure string logic (cgroup_identify_*) plus the small I/O helper that
 * feeds it. No collectd headers. */
#ifndef KEPLER_CGROUP_IDENTITY_H
#define KEPLER_CGROUP_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The levels overlap (a pod's container may also sit in a service's cgroup,
 * a VM's qemu is system work with a VM name), so `kind` only says which
 * bucket the process falls in; every other level is its own field, empty
 * when the path does not have it. */
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
  RUNTIME_LXC, /* /lxc.payload.<name>, /lxc.payload/<name>, /lxc/<name> */
};

/* Kubernetes QoS class, from the kubelet's slice (systemd driver) or
 * directory (cgroupfs driver) above the pod. */
enum pod_qos {
  POD_QOS_NONE,
  POD_QOS_GUARANTEED, /* directly under kubepods */
  POD_QOS_BURSTABLE,
  POD_QOS_BESTEFFORT,
};

#define WORKLOAD_ID_LEN 64 /* a container id in hex; also the longest name */
#define POD_UID_LEN 36     /* a UUID; static pods have 32 hex digits */
#define UNIT_NAME_LEN 256  /* systemd's UNIT_NAME_MAX, NUL included */
#define SESSION_ID_LEN 32  /* logind session ids: "3", "c1", ... */
#define VM_NAME_LEN 64     /* libvirt caps the whole machine name at 64 */
#define CGROUP_PATH_LEN 512

struct workload_id {
  enum workload_kind kind;
  enum container_runtime runtime;
  /* Container id (lower-case hex), or the LXC container's name; "" when
   * kind is not WORKLOAD_CONTAINER. */
  char id[WORKLOAD_ID_LEN + 1];
  enum pod_qos qos;                  /* POD_QOS_NONE when not in a pod */
  char pod_uid[POD_UID_LEN + 1];     /* with dashes, as the API server has it */
  char service[UNIT_NAME_LEN];       /* outermost systemd service unit */
  bool has_user;                     /* user_uid is set */
  uint32_t user_uid;                 /* from user-<uid>.slice */
  char session[SESSION_ID_LEN];      /* from session-<id>.scope */
  char vm[VM_NAME_LEN + 1];          /* libvirt domain (machine) name */
  char cgroup_path[CGROUP_PATH_LEN]; /* the path the levels came from */
};

const char *runtime_name(enum container_runtime r); /* "docker", ... */
const char *qos_name(enum pod_qos q); /* "guaranteed", ...; "" for none */

/* Classify one cgroup path (v1 or v2, as in /proc/PID/cgroup, starting with
 * '/'). Returns 1 for a container, else 0 with out->kind WORKLOAD_SYSTEM;
 * either way every level found on the path is filled in and cgroup_path is
 * set (truncated to CGROUP_PATH_LEN - 1). Levels below the container (a
 * systemd inside it) belong to the container, not to the host, and are not
 * reported. */
int cgroup_identify_path(const char *path, struct workload_id *out);

/* Classify the whole text of a /proc/PID/cgroup file (v1, v2 or hybrid
 * lines "hierarchy-id:controllers:path"): the first line whose path is a
 * container wins, the v2 ("0::") line preferred. Otherwise the levels come
 * from the v2 path, or from systemd's v1 hierarchy ("name=systemd") when
 * there is no v2 path or it is just "/", else from the first line. Returns
 * 1 for a container, 0 for system. */
int cgroup_identify_proc_text(const char *text, struct workload_id *out);

/* Read /proc/PID/cgroup under proc_root (normally "/proc") and classify it.
 * Returns 1 container, 0 system, -1 if the process is gone. */
int cgroup_identify_pid(const char *proc_root, uint32_t pid,
                        struct workload_id *out);

#endif
