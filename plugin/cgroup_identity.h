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
  RUNTIME_LXC,        /* /lxc.payload.<name>, /lxc/<name>: id is the name */
};

/* Kubernetes QoS class of a pod, from its kubepods slice. */
enum pod_qos {
  POD_QOS_NONE, /* not in a pod */
  POD_QOS_GUARANTEED,
  POD_QOS_BURSTABLE,
  POD_QOS_BESTEFFORT,
};

#define WORKLOAD_ID_LEN 64
#define CGROUP_PATH_LEN 512
#define POD_UID_LEN 36
#define UNIT_NAME_LEN 128

struct workload_id {
  enum workload_kind kind;
  enum container_runtime runtime;
  char id[WORKLOAD_ID_LEN + 1];      /* container id (lower-case hex; an LXC
                                        container's name); "" else */
  char cgroup_path[CGROUP_PATH_LEN]; /* the path the id was found in */
  /* The other levels the path shows, each "" (POD_QOS_NONE) when none. */
  char pod_uid[POD_UID_LEN + 1]; /* with dashes, as the API shows it */
  enum pod_qos qos;
  char service[UNIT_NAME_LEN]; /* systemd unit: "ssh.service",
                                  "session-3.scope" (a login session) */
  char vm[UNIT_NAME_LEN];      /* libvirt domain name */
};

const char *runtime_name(enum container_runtime r); /* "docker", ... */
const char *qos_name(enum pod_qos q); /* "guaranteed", ...; "" for none */

/* Classify one cgroup path (v1 or v2, as in /proc/PID/cgroup, starting with
 * '/'). Returns 1 and fills *out for a container, else 0 and out->kind is
 * WORKLOAD_SYSTEM with cgroup_path set. The pod, service and VM fields are
 * set from the same path either way. */
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
