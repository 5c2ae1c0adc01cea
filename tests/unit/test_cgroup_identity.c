// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for cgroup_identity.c: real-world cgroup paths of every runtime
 * and cgroup driver, /proc/PID/cgroup texts of v1, v2 and hybrid hosts, and
 * reading a /proc-like directory. */
#include "cgroup_identity.h"

#include <check.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "testutil.h"

#define ID1 "4f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_UPPER                                                               \
  "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789"
#define ID_UPPER_LOWERED                                                       \
  "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
#define ID_63 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define ID_NONHEX                                                              \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdeg"

#define POD_SYSTEMD "pod1f2e3d4c_5b6a_7980_1a2b_3c4d5e6f7a8b"
#define POD_CGROUPFS "pod1f2e3d4c-5b6a-7980-1a2b-3c4d5e6f7a8b"
#define KUBE_BURSTABLE                                                         \
  "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-" POD_SYSTEMD   \
  ".slice"
#define KUBE_BESTEFFORT                                                        \
  "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-" POD_SYSTEMD \
  ".slice"
#define USER_MGR "/user.slice/user-1000.slice/user@1000.service"

/* What a path must yield; NULL strings and zero enums mean "not there". */
struct path_case {
  const char *path;
  enum container_runtime runtime; /* RUNTIME_NONE: kind is SYSTEM */
  const char *id;
  enum pod_qos qos;
  const char *pod_uid;
  const char *service;
  const char *uid; /* decimal user id, NULL: none */
  const char *session;
  const char *vm;
  const char *want_path; /* NULL: the input itself */
};

#define SYS(p)                                                                 \
  { .path = p }
#define CT(p, rt, i)                                                           \
  { .path = p, .runtime = rt, .id = i }
/* A container in a pod. */
#define POD(p, rt, i, q, u)                                                    \
  { .path = p, .runtime = rt, .id = i, .qos = q, .pod_uid = u }

/* Real paths quoted from public reports, ids and UIDs as they were. */
#define PHAROS_POD "9692aa0e-748e-11e8-8dfa-76d458035df6"
#define PHAROS_DOCKER                                                          \
  "abddff03dfd7710c79a750ce3e730365cbb2c8247a974170c1062683bc3e9152"
#define MINIKUBE_NODE                                                          \
  "d6701ec289c56e4391acb11d07474b3139466857a305490575508a8b7a9fcf22"
#define MINIKUBE_POD "2ca4a155-3599-498d-bb9d-4446693fa3ea"
#define MINIKUBE_CRIO                                                          \
  "358607a37e7ada357032e7f5729c9ae6a3efdb7962acbcbe47ff6a3c5506cb1c"
#define KIND_POD "1e597579-417e-482f-bf65-5fe170c3aebd"
#define KIND_CTR                                                               \
  "a09bc17f5aa29b0dbdec9ede5f46cf1396d2405917ab02e6f1eb1019f388396e"
#define K3S_POD "404bd273-57bc-4508-a386-e2b76d3c9cfe"
#define K3S_CTR                                                                \
  "3aaaa76f09e1de6bb75e84f9c15b737a2d590f69757953e3ec262bd5861dc15b"
#define RUNWASI_POD "b7c2cbdb-9ab5-47ef-977e-97e39a73da6d"
#define RUNWASI_CTR                                                            \
  "66dda1e97c4fc48204b066f07fc1e28bab94a571820484e01576982d4cb9d32b"
#define POD_UID "1f2e3d4c-5b6a-7980-1a2b-3c4d5e6f7a8b"
#define STATIC_POD "5ea8ab2b8a4d2ce3d2a3b0b39b7fca5d"
#define NAME_64                                                                \
  "a123456789012345678901234567890123456789012345678901234567890123"

static const struct path_case path_cases[] = {
    /* docker, systemd driver, v1 and v2 */
    CT("/system.slice/docker-" ID1 ".scope", RUNTIME_DOCKER, ID1),
    /* docker, cgroupfs driver */
    CT("/docker/" ID1, RUNTIME_DOCKER, ID1),
    /* docker-in-docker: the innermost container wins */
    CT("/docker/" ID1 "/docker/" ID2, RUNTIME_DOCKER, ID2),
    /* kubelet + docker, systemd driver (kontena/pharos-cluster#440) */
    POD("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-"
        "pod9692aa0e_748e_11e8_8dfa_76d458035df6.slice/docker-" PHAROS_DOCKER
        ".scope",
        RUNTIME_DOCKER, PHAROS_DOCKER, POD_QOS_BESTEFFORT, PHAROS_POD),
    /* kubelet + cri-o inside a minikube node container
     * (kubernetes/minikube#11280): the pod's container, not the node's */
    POD("/docker/" MINIKUBE_NODE "/kubepods.slice/kubepods-besteffort.slice/"
        "kubepods-besteffort-pod2ca4a155_3599_498d_bb9d_4446693fa3ea.slice/"
        "crio-" MINIKUBE_CRIO ".scope",
        RUNTIME_CRIO, MINIKUBE_CRIO, POD_QOS_BESTEFFORT, MINIKUBE_POD),
    /* kind: the kubelet's cgroup root is "kubelet" (containerd/nri#227) */
    POD("/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort."
        "slice/kubelet-kubepods-besteffort-"
        "pod1e597579_417e_482f_bf65_5fe170c3aebd.slice/cri-containerd-" KIND_CTR
        ".scope",
        RUNTIME_CONTAINERD, KIND_CTR, POD_QOS_BESTEFFORT, KIND_POD),
    /* k3s, cgroupfs driver, a bare id (rancher/k3k#792) */
    POD("/kubepods/burstable/pod" K3S_POD "/" K3S_CTR, RUNTIME_CONTAINERD,
        K3S_CTR, POD_QOS_BURSTABLE, K3S_POD),
    /* containerd's cgroupsPath verbatim (containerd/runwasi#821) */
    POD("/kubepods-besteffort-podb7c2cbdb_9ab5_47ef_977e_97e39a73da6d.slice:"
        "cri-containerd:" RUNWASI_CTR,
        RUNTIME_CONTAINERD, RUNWASI_CTR, POD_QOS_BESTEFFORT, RUNWASI_POD),
    /* kubelet cgroupfs driver: every QoS class */
    POD("/kubepods/besteffort/pod" POD_UID "/" ID1, RUNTIME_CONTAINERD, ID1,
        POD_QOS_BESTEFFORT, POD_UID),
    POD("/kubepods/pod" POD_UID "/" ID1, RUNTIME_CONTAINERD, ID1,
        POD_QOS_GUARANTEED, POD_UID),
    POD("/kubepods/burstable/pod" POD_UID "/crio-" ID2, RUNTIME_CRIO, ID2,
        POD_QOS_BURSTABLE, POD_UID),
    /* containerd (CRI), systemd driver, every QoS class */
    POD(KUBE_BURSTABLE "/cri-containerd-" ID1 ".scope", RUNTIME_CONTAINERD, ID1,
        POD_QOS_BURSTABLE, POD_UID),
    POD(KUBE_BESTEFFORT "/cri-containerd-" ID2 ".scope", RUNTIME_CONTAINERD,
        ID2, POD_QOS_BESTEFFORT, POD_UID),
    POD("/kubepods.slice/kubepods-" POD_SYSTEMD ".slice/cri-containerd-" ID1
        ".scope",
        RUNTIME_CONTAINERD, ID1, POD_QOS_GUARANTEED, POD_UID),
    /* a static pod's UID is a 32-digit hash of its manifest */
    POD("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-"
        "pod" STATIC_POD ".slice/cri-containerd-" ID1 ".scope",
        RUNTIME_CONTAINERD, ID1, POD_QOS_BURSTABLE, STATIC_POD),
    /* OpenShift: cri-o, systemd driver (plus crun's nested sub-cgroup) */
    POD(KUBE_BURSTABLE "/crio-" ID1 ".scope", RUNTIME_CRIO, ID1,
        POD_QOS_BURSTABLE, POD_UID),
    POD(KUBE_BURSTABLE "/crio-" ID1 ".scope/container", RUNTIME_CRIO, ID1,
        POD_QOS_BURSTABLE, POD_UID),
    /* kubelet + docker (cri-dockerd), systemd driver */
    POD(KUBE_BURSTABLE "/docker-" ID2 ".scope", RUNTIME_DOCKER, ID2,
        POD_QOS_BURSTABLE, POD_UID),
    /* containerd, RHEL style, below the containerd service */
    {.path = "/system.slice/containerd.service/kubepods-besteffort-" POD_SYSTEMD
             ".slice:cri-containerd:" ID2,
     .runtime = RUNTIME_CONTAINERD,
     .id = ID2,
     .qos = POD_QOS_BESTEFFORT,
     .pod_uid = POD_UID,
     .service = "containerd.service"},
    /* containerd without kubelet: ctr/nerdctl namespaces, nerdctl scopes */
    CT("/default/" ID1, RUNTIME_CONTAINERD, ID1),
    CT("/k8s.io/" ID2, RUNTIME_CONTAINERD, ID2),
    CT("/system.slice/nerdctl-" ID1 ".scope", RUNTIME_CONTAINERD, ID1),
    /* cri-o, cgroupfs driver */
    CT("/crio/" ID2, RUNTIME_CRIO, ID2),
    /* podman, systemd driver, root, with the cgroupns child */
    CT("/machine.slice/libpod-" ID1 ".scope", RUNTIME_PODMAN, ID1),
    CT("/machine.slice/libpod-" ID1 ".scope/container", RUNTIME_PODMAN, ID1),
    /* a podman pod is not a Kubernetes pod, nor a VM */
    CT("/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID1 ".scope",
       RUNTIME_PODMAN, ID1),
    /* podman, cgroupfs driver */
    CT("/libpod_parent/libpod-" ID1, RUNTIME_PODMAN, ID1),
    /* rootless podman and docker: containers of the user's manager */
    {.path = USER_MGR "/user.slice/libpod-" ID2 ".scope",
     .runtime = RUNTIME_PODMAN,
     .id = ID2,
     .service = "user@1000.service",
     .uid = "1000"},
    {.path = USER_MGR "/user.slice/libpod-" ID2 ".scope/container",
     .runtime = RUNTIME_PODMAN,
     .id = ID2,
     .service = "user@1000.service",
     .uid = "1000"},
    {.path = USER_MGR "/user.slice/docker-" ID1 ".scope",
     .runtime = RUNTIME_DOCKER,
     .id = ID1,
     .service = "user@1000.service",
     .uid = "1000"},
    {.path = USER_MGR "/docker.service/docker/" ID1,
     .runtime = RUNTIME_DOCKER,
     .id = ID1,
     .service = "user@1000.service",
     .uid = "1000"},
    /* a systemd inside a container: its units are the container's */
    CT("/machine.slice/libpod-" ID1 ".scope/system.slice/nginx.service",
       RUNTIME_PODMAN, ID1),
    /* a kind node's own kubelet: work of the node container */
    CT("/system.slice/docker-" ID1 ".scope/system.slice/kubelet.service",
       RUNTIME_DOCKER, ID1),
    /* LXC 4+, LXC 3, LXC 1-2; the name is the id */
    CT("/lxc.payload.web1", RUNTIME_LXC, "web1"),
    CT("/lxc.payload.web1/init.scope", RUNTIME_LXC, "web1"),
    CT("/lxc.payload.web1/system.slice/ssh.service", RUNTIME_LXC, "web1"),
    CT("/lxc.payload/web1", RUNTIME_LXC, "web1"),
    CT("/lxc/web1", RUNTIME_LXC, "web1"),
    CT("/lxc/web1/ns", RUNTIME_LXC, "web1"),
    CT("/lxc.payload." NAME_64, RUNTIME_LXC, NAME_64),
    /* docker inside an LXC container: the innermost */
    CT("/lxc.payload.web1/system.slice/docker-" ID1 ".scope", RUNTIME_DOCKER,
       ID1),
    /* an unprivileged container below the user's session */
    {.path = "/user.slice/user-1000.slice/session-1.scope/lxc.payload.c1",
     .runtime = RUNTIME_LXC,
     .id = "c1",
     .uid = "1000",
     .session = "1"},
    /* upper-case ids are accepted and reported lower-case */
    CT("/system.slice/docker-" ID_UPPER ".scope", RUNTIME_DOCKER,
       ID_UPPER_LOWERED),
    CT("/docker/" ID_UPPER, RUNTIME_DOCKER, ID_UPPER_LOWERED),
    POD("/kubepods-burstable-" POD_SYSTEMD ".slice:cri-containerd:" ID_UPPER,
        RUNTIME_CONTAINERD, ID_UPPER_LOWERED, POD_QOS_BURSTABLE, POD_UID),
    /* sloppy slashes and a sub-cgroup below the scope */
    CT("//docker//" ID1 "/", RUNTIME_DOCKER, ID1),
    CT("/system.slice/docker-" ID1 ".scope/init.scope", RUNTIME_DOCKER, ID1),
    /* a removed cgroup of a zombie: the kernel appends " (deleted)" */
    {.path = "/system.slice/docker-" ID1 ".scope (deleted)",
     .runtime = RUNTIME_DOCKER,
     .id = ID1,
     .want_path = "/system.slice/docker-" ID1 ".scope"},

    /* systemd services: plain, nested, templated, escaped */
    {.path = "/system.slice/ssh.service", .service = "ssh.service"},
    {.path = "/system.slice/foo.service/bar", .service = "foo.service"},
    {.path = "/system.slice/system-getty.slice/getty@tty1.service",
     .service = "getty@tty1.service"},
    {.path = "/system.slice/system-systemd\\x2dfsck.slice/"
             "systemd-fsck@dev-disk-by\\x2duuid-1234.service",
     .service = "systemd-fsck@dev-disk-by\\x2duuid-1234.service"},
    {.path = "/system.slice/docker.service", .service = "docker.service"},
    {.path = "/system.slice/containerd.service",
     .service = "containerd.service"},
    {.path = "/system.slice/crio.service", .service = "crio.service"},
    /* user sessions and the user's manager */
    {.path = "/user.slice/user-1000.slice/session-3.scope",
     .uid = "1000",
     .session = "3"},
    {.path = "/user.slice/user-0.slice/session-c1.scope",
     .uid = "0",
     .session = "c1"},
    {.path = "/user.slice/user-4294967295.slice", .uid = "4294967295"},
    {.path = USER_MGR "/app.slice/dbus.service",
     .service = "user@1000.service",
     .uid = "1000"},
    {.path = USER_MGR "/init.scope",
     .service = "user@1000.service",
     .uid = "1000"},
    {.path = "/user.slice/user-1000.slice/user-runtime-dir@1000.service",
     .service = "user-runtime-dir@1000.service",
     .uid = "1000"},
    /* libvirt VMs, machined (systemd) and cgroupfs, old and new names */
    {.path = "/machine.slice/machine-qemu\\x2d1\\x2ddomname.scope/libvirt/"
             "vcpu0",
     .vm = "domname"},
    {.path = "/machine.slice/machine-qemu\\x2d12\\x2dmy\\x2dvm.scope/libvirt/"
             "emulator",
     .vm = "my-vm"},
    {.path = "/machine.slice/machine-qemu\\x2d1\\x2dvm.scope", .vm = "vm"},
    {.path = "/machine/qemu-1-domname.libvirt-qemu/vcpu0", .vm = "domname"},
    {.path = "/machine/domname.libvirt-qemu/emulator", .vm = "domname"},
    /* conmon monitors are system work */
    {.path = KUBE_BURSTABLE "/crio-conmon-" ID1 ".scope",
     .qos = POD_QOS_BURSTABLE,
     .pod_uid = POD_UID},
    {.path = "/kubepods/burstable/" POD_CGROUPFS "/crio-conmon-" ID1,
     .qos = POD_QOS_BURSTABLE,
     .pod_uid = POD_UID},
    SYS("/machine.slice/libpod-conmon-" ID1 ".scope"),
    {.path = USER_MGR "/user.slice/libpod-conmon-" ID2 ".scope",
     .service = "user@1000.service",
     .uid = "1000"},
    /* the pod itself, not a container */
    {.path = KUBE_BURSTABLE, .qos = POD_QOS_BURSTABLE, .pod_uid = POD_UID},
    {.path = "/kubepods/burstable/" POD_CGROUPFS,
     .qos = POD_QOS_BURSTABLE,
     .pod_uid = POD_UID},
    /* plain system cgroups */
    SYS("/"),
    SYS(""),
    SYS("/init.scope"),
    SYS("/system.slice"),
    SYS("/lxc.monitor.web1"),
    SYS("/lxc.monitor/web1"),
    SYS("/lxc.payload." NAME_64 "4"), /* longer than an id: not stored */
    SYS("/lxc.payload."),
    SYS("/machine.slice/machine-debian.scope"), /* systemd-nspawn */
    /* malformed ids */
    SYS("/system.slice/docker-" ID_63 ".scope"),
    SYS("/docker/" ID_63),
    SYS("/docker/" ID1 "0"),
    SYS("/system.slice/docker-" ID1 "0.scope"),
    SYS("/docker/" ID_NONHEX),
    SYS("/system.slice/docker-" ID_NONHEX ".scope"),
    /* unknown prefixes and suffixes */
    SYS("/system.slice/dockerx-" ID1 ".scope"),
    SYS("/system.slice/docker-" ID1 ".scopex"),
    SYS("/system.slice/docker_" ID1 ".scope"),
    SYS("/system.slice/-" ID1 ".scope"),
    /* paths with ':' that are not a runtime's */
    {.path = "/kubepods-burstable-" POD_SYSTEMD ".slice:something:" ID1,
     .qos = POD_QOS_BURSTABLE,
     .pod_uid = POD_UID},
    {.path = "/kubepods-burstable-" POD_SYSTEMD ".slice:cri-containerd:" ID_63,
     .qos = POD_QOS_BURSTABLE,
     .pod_uid = POD_UID},
    SYS("/a:b:c"),
    SYS("/:::"),
    /* malformed pods: wrong separators, lengths, digits or QoS */
    SYS("/kubepods/burstable/pod1f2e3d4c_5b6a_7980_1a2b_3c4d5e6f7a8b"),
    SYS("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-"
        "pod1f2e3d4c-5b6a-7980-1a2b-3c4d5e6f7a8b.slice"),
    SYS("/kubepods/burstable/pod1f2e3d4c-5b6a-7980-1a2b-3c4d5e6f7a8"),
    SYS("/kubepods/burstable/pod1f2e3d4c-5b6a-7980-1a2b-3c4d5e6f7a8bb"),
    SYS("/kubepods/burstable/pod1f2e3d4c-5b6a-7980-1a2b-3c4d5e6f7a8g"),
    SYS("/kubepods/burstable/pod1f2e3d4c5-b6a-7980-1a2b-3c4d5e6f7a8b"),
    SYS("/kubepods/guaranteed/pod" POD_UID),
    SYS("/other/burstable.x/pod" POD_UID),
    SYS("/kubepods.slice/kubepods-gold-" POD_SYSTEMD ".slice"),
    SYS("/kubepods.slice/xkubepods-" POD_SYSTEMD ".slice"),
    SYS("/kubepods.slice/kubepods-" POD_SYSTEMD ".scope"),
    SYS("/kubepods.slice/"
        "kubepods-pd1f2e3d4c_5b6a_7980_1a2b_3c4d5e6f7a8b.slice"),
    /* malformed sessions, users and units */
    {.path = "/user.slice/user-1000.slice/session-.scope", .uid = "1000"},
    {.path = "/user.slice/user-1000.slice/session-"
             "0123456789012345678901234567890123.scope",
     .uid = "1000"},
    SYS("/user.slice/user-4294967296.slice"),
    SYS("/user.slice/user-10a.slice"),
    SYS("/user.slice/user-.slice"),
    SYS("/system.slice/user-1000.slice/session-3.scope"),
    SYS("/system.slice/.service"),
    /* malformed VM names: bad escapes, no id, no name */
    SYS("/machine.slice/machine-qemu\\x2g1\\x2dvm.scope"),
    SYS("/machine.slice/machine-qemu\\x2d1\\x2dvm\\x2.scope"),
    SYS("/machine.slice/machine-qemu\\x2dvm.scope"),
    SYS("/machine.slice/machine-qemu\\x2d1\\x2d.scope"),
    SYS("/machine.slice/machine-qemu\\x2d1\\x2da\\x00b.scope"),
    SYS("/machine.slice/machine-qemu\\x2d1\\x2da\\x2fb.scope"),
    SYS("/machine/qemu-1-.libvirt-qemu"),
    SYS("/machine/.libvirt-qemu"),
};

static void assert_level(int i, const char *what, const char *got,
                         const char *want) {
  ck_assert_msg(strcmp(got, want ? want : "") == 0,
                "case %d %s: %s \"%s\", want \"%s\"", i, path_cases[i].path,
                what, got, want ? want : "");
}

START_TEST(test_path_table) {
  const struct path_case *c = &path_cases[_i];
  struct workload_id w;
  memset(&w, 0x5a, sizeof(w)); /* every field must be written */

  int r = cgroup_identify_path(c->path, &w);

  int container = c->runtime != RUNTIME_NONE;
  ck_assert_msg(r == container, "case %d %s: ret %d", _i, c->path, r);
  ck_assert_msg(w.kind == (container ? WORKLOAD_CONTAINER : WORKLOAD_SYSTEM),
                "case %d %s: kind %d", _i, c->path, w.kind);
  ck_assert_msg(w.runtime == c->runtime, "case %d %s: runtime %s", _i, c->path,
                runtime_name(w.runtime));
  assert_level(_i, "id", w.id, c->id);
  ck_assert_msg(w.qos == c->qos, "case %d %s: qos %s", _i, c->path,
                qos_name(w.qos));
  assert_level(_i, "pod", w.pod_uid, c->pod_uid);
  assert_level(_i, "service", w.service, c->service);
  char uid[16] = "";
  if (w.has_user)
    snprintf(uid, sizeof(uid), "%u", (unsigned)w.user_uid);
  assert_level(_i, "uid", uid, c->uid);
  assert_level(_i, "session", w.session, c->session);
  assert_level(_i, "vm", w.vm, c->vm);
  assert_level(_i, "path", w.cgroup_path,
               c->want_path ? c->want_path : c->path);
}
END_TEST

START_TEST(test_path_null) {
  struct workload_id w;
  memset(&w, 0x5a, sizeof(w));
  ck_assert_int_eq(cgroup_identify_path(NULL, &w), 0);
  ck_assert_int_eq(w.kind, WORKLOAD_SYSTEM);
  ck_assert_int_eq(w.runtime, RUNTIME_NONE);
  ck_assert_str_eq(w.id, "");
  ck_assert_str_eq(w.cgroup_path, "");
  /* a NULL out is tolerated */
  ck_assert_int_eq(cgroup_identify_path("/docker/" ID1, NULL), 1);
  ck_assert_int_eq(cgroup_identify_proc_text("0::/docker/" ID1, NULL), 1);
}
END_TEST

START_TEST(test_path_long_truncated) {
  /* The container element lies past CGROUP_PATH_LEN: it is still found,
   * and the stored path is truncated, NUL-terminated. */
  char path[2048];
  size_t n = 0;
  while (n < 1500) {
    memcpy(path + n, "/nested.slice", 13);
    n += 13;
  }
  snprintf(path + n, sizeof(path) - n, "/docker-%s.scope", ID1);

  struct workload_id w;
  ck_assert_int_eq(cgroup_identify_path(path, &w), 1);
  ck_assert_int_eq(w.runtime, RUNTIME_DOCKER);
  ck_assert_str_eq(w.id, ID1);
  ck_assert_uint_eq(strlen(w.cgroup_path), CGROUP_PATH_LEN - 1);
  ck_assert_int_eq(memcmp(w.cgroup_path, path, CGROUP_PATH_LEN - 1), 0);

  /* A long system path is truncated the same way. */
  path[n] = '\0';
  ck_assert_int_eq(cgroup_identify_path(path, &w), 0);
  ck_assert_uint_eq(strlen(w.cgroup_path), CGROUP_PATH_LEN - 1);
}
END_TEST

START_TEST(test_overlong_levels) {
  /* Names that do not fit their field are dropped, not truncated: a cut
   * name could merge two workloads. */
  char path[1024], name[300];
  memset(name, 'u', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  struct workload_id w;

  snprintf(path, sizeof(path), "/system.slice/%.*s.service", UNIT_NAME_LEN - 9,
           name); /* 255 characters with ".service" */
  ck_assert_int_eq(cgroup_identify_path(path, &w), 0);
  ck_assert_uint_eq(strlen(w.service), UNIT_NAME_LEN - 1);
  snprintf(path, sizeof(path), "/system.slice/%.*s.service", UNIT_NAME_LEN - 8,
           name);
  ck_assert_int_eq(cgroup_identify_path(path, &w), 0);
  ck_assert_str_eq(w.service, "");

  snprintf(path, sizeof(path), "/machine/qemu-1-%.*s.libvirt-qemu", VM_NAME_LEN,
           name);
  cgroup_identify_path(path, &w);
  ck_assert_uint_eq(strlen(w.vm), VM_NAME_LEN);
  snprintf(path, sizeof(path), "/machine/qemu-1-%.*s.libvirt-qemu",
           VM_NAME_LEN + 1, name);
  cgroup_identify_path(path, &w);
  ck_assert_str_eq(w.vm, "");
}
END_TEST

START_TEST(test_runtime_name) {
  ck_assert_str_eq(runtime_name(RUNTIME_DOCKER), "docker");
  ck_assert_str_eq(runtime_name(RUNTIME_CONTAINERD), "containerd");
  ck_assert_str_eq(runtime_name(RUNTIME_CRIO), "crio");
  ck_assert_str_eq(runtime_name(RUNTIME_PODMAN), "podman");
  ck_assert_str_eq(runtime_name(RUNTIME_LXC), "lxc");
  ck_assert_str_eq(runtime_name(RUNTIME_NONE), "");
  ck_assert_str_eq(runtime_name((enum container_runtime)99), "");
}
END_TEST

START_TEST(test_qos_name) {
  ck_assert_str_eq(qos_name(POD_QOS_GUARANTEED), "guaranteed");
  ck_assert_str_eq(qos_name(POD_QOS_BURSTABLE), "burstable");
  ck_assert_str_eq(qos_name(POD_QOS_BESTEFFORT), "besteffort");
  ck_assert_str_eq(qos_name(POD_QOS_NONE), "");
  ck_assert_str_eq(qos_name((enum pod_qos)99), "");
}
END_TEST

struct text_case {
  const char *name;
  const char *text;
  enum workload_kind kind;
  enum container_runtime runtime;
  const char *id;
  const char *cgroup_path;
};

static const struct text_case text_cases[] = {
    {"v2 docker", "0::/system.slice/docker-" ID1 ".scope\n", WORKLOAD_CONTAINER,
     RUNTIME_DOCKER, ID1, "/system.slice/docker-" ID1 ".scope"},
    {"v2 no trailing newline", "0::/system.slice/docker-" ID1 ".scope",
     WORKLOAD_CONTAINER, RUNTIME_DOCKER, ID1,
     "/system.slice/docker-" ID1 ".scope"},
    {"v2 RHEL cri-containerd with ':' in the path",
     "0::/kubepods-burstable-" POD_SYSTEMD ".slice:cri-containerd:" ID2 "\n",
     WORKLOAD_CONTAINER, RUNTIME_CONTAINERD, ID2,
     "/kubepods-burstable-" POD_SYSTEMD ".slice:cri-containerd:" ID2},
    {"v2 podman nested", "0::/machine.slice/libpod-" ID1 ".scope/container\n",
     WORKLOAD_CONTAINER, RUNTIME_PODMAN, ID1,
     "/machine.slice/libpod-" ID1 ".scope/container"},
    {"v1 docker cgroupfs",
     "12:pids:/docker/" ID1 "\n"
     "11:cpu,cpuacct:/docker/" ID1 "\n"
     "4:memory:/docker/" ID1 "\n"
     "1:name=systemd:/docker/" ID1 "\n",
     WORKLOAD_CONTAINER, RUNTIME_DOCKER, ID1, "/docker/" ID1},
    {"v1 RHEL cri-containerd with ':' in the path",
     "3:cpu,cpuacct:/kubepods-besteffort-" POD_SYSTEMD
     ".slice:cri-containerd:" ID1 "\n"
     "1:name=systemd:/kubepods-besteffort-" POD_SYSTEMD
     ".slice:cri-containerd:" ID1 "\n",
     WORKLOAD_CONTAINER, RUNTIME_CONTAINERD, ID1,
     "/kubepods-besteffort-" POD_SYSTEMD ".slice:cri-containerd:" ID1},
    {"hybrid: v2 at root, v1 in docker",
     "12:pids:/docker/" ID1 "\n"
     "4:memory:/docker/" ID1 "\n"
     "1:name=systemd:/docker/" ID1 "\n"
     "0::/\n",
     WORKLOAD_CONTAINER, RUNTIME_DOCKER, ID1, "/docker/" ID1},
    {"hybrid systemd driver",
     "10:memory:/system.slice/docker-" ID2 ".scope\n"
     "1:name=systemd:/system.slice/docker-" ID2 ".scope\n"
     "0::/system.slice/docker-" ID2 ".scope\n",
     WORKLOAD_CONTAINER, RUNTIME_DOCKER, ID2,
     "/system.slice/docker-" ID2 ".scope"},
    {"v2 container preferred over an earlier v1 one",
     "4:memory:/docker/" ID1 "\n"
     "0::/system.slice/crio-" ID2 ".scope\n",
     WORKLOAD_CONTAINER, RUNTIME_CRIO, ID2, "/system.slice/crio-" ID2 ".scope"},
    {"first matching v1 line wins",
     "5:cpu:/system.slice/ssh.service\n"
     "4:memory:/docker/" ID1 "\n"
     "3:pids:/docker/" ID2 "\n"
     "0::/\n",
     WORKLOAD_CONTAINER, RUNTIME_DOCKER, ID1, "/docker/" ID1},
    {"v2 conmon, v1 system",
     "1:name=systemd:/system.slice/ssh.service\n"
     "0::/machine.slice/libpod-conmon-" ID1 ".scope\n",
     WORKLOAD_SYSTEM, RUNTIME_NONE, "",
     "/machine.slice/libpod-conmon-" ID1 ".scope"},
    {"v2 zombie", "0::/system.slice/docker-" ID1 ".scope (deleted)\n",
     WORKLOAD_CONTAINER, RUNTIME_DOCKER, ID1,
     "/system.slice/docker-" ID1 ".scope"},
    {"CRLF line ends", "4:memory:/docker/" ID1 "\r\n0::/\r\n",
     WORKLOAD_CONTAINER, RUNTIME_DOCKER, ID1, "/docker/" ID1},
    {"garbage lines skipped",
     "garbage\n\n:::\nx:y:/docker/" ID2 "\n7:cpu\n0::\n:memory:/docker/" ID2
     "\n4:memory:/docker/" ID1 "\n",
     WORKLOAD_CONTAINER, RUNTIME_DOCKER, ID1, "/docker/" ID1},
    {"v2 system", "0::/user.slice/user-1000.slice/session-3.scope\n",
     WORKLOAD_SYSTEM, RUNTIME_NONE, "",
     "/user.slice/user-1000.slice/session-3.scope"},
    {"hybrid system: the v2 path is reported",
     "12:pids:/user.slice/user-1000.slice/session-3.scope\n"
     "1:name=systemd:/user.slice/user-1000.slice/session-3.scope\n"
     "0::/user.slice/user-1000.slice/session-4.scope\n",
     WORKLOAD_SYSTEM, RUNTIME_NONE, "",
     "/user.slice/user-1000.slice/session-4.scope"},
    {"v1 system: the first line's path is reported",
     "12:pids:/system.slice/ssh.service\n"
     "11:memory:/system.slice/cron.service\n",
     WORKLOAD_SYSTEM, RUNTIME_NONE, "", "/system.slice/ssh.service"},
    {"kernel thread / root", "0::/\n", WORKLOAD_SYSTEM, RUNTIME_NONE, "", "/"},
    {"empty text", "", WORKLOAD_SYSTEM, RUNTIME_NONE, "", ""},
    {"only newlines", "\n\n\n", WORKLOAD_SYSTEM, RUNTIME_NONE, "", ""},
    {"only garbage", "hello world\nfoo:bar\n", WORKLOAD_SYSTEM, RUNTIME_NONE,
     "", ""},
    {"NULL text", NULL, WORKLOAD_SYSTEM, RUNTIME_NONE, "", ""},
};

START_TEST(test_text_table) {
  const struct text_case *c = &text_cases[_i];
  struct workload_id w;
  memset(&w, 0x5a, sizeof(w));

  int r = cgroup_identify_proc_text(c->text, &w);

  ck_assert_msg(r == (c->kind == WORKLOAD_CONTAINER), "%s: ret %d", c->name, r);
  ck_assert_msg(w.kind == c->kind, "%s: kind %d", c->name, w.kind);
  ck_assert_msg(w.runtime == c->runtime, "%s: runtime %s", c->name,
                runtime_name(w.runtime));
  ck_assert_msg(strcmp(w.id, c->id) == 0, "%s: id %s", c->name, w.id);
  ck_assert_msg(strcmp(w.cgroup_path, c->cgroup_path) == 0, "%s: path %s",
                c->name, w.cgroup_path);
}
END_TEST

/* Which line of a text the levels come from, and that they all do. */
struct text_level_case {
  const char *name;
  const char *text;
  const char *cgroup_path;
  const char *pod_uid; /* NULL: none */
  const char *service;
  const char *session;
};

static const struct text_level_case text_level_cases[] = {
    {.name = "v1 pod container: the pod comes with the container's line",
     .text = "12:pids:/kubepods/besteffort/" POD_CGROUPFS "/" ID1 "\n"
             "1:name=systemd:/kubepods/besteffort/" POD_CGROUPFS "/" ID1 "\n",
     .cgroup_path = "/kubepods/besteffort/" POD_CGROUPFS "/" ID1,
     .pod_uid = POD_UID},
    {.name = "v1 system: systemd's hierarchy over the controllers'",
     .text = "12:pids:/user.slice/user-1000.slice\n"
             "11:cpu,cpuacct:/\n"
             "1:name=systemd:/user.slice/user-1000.slice/session-2.scope\n",
     .cgroup_path = "/user.slice/user-1000.slice/session-2.scope",
     .session = "2"},
    {.name = "hybrid: v2 at the root, systemd's v1 hierarchy has the unit",
     .text = "4:memory:/system.slice\n"
             "1:name=systemd:/system.slice/ssh.service\n"
             "0::/\n",
     .cgroup_path = "/system.slice/ssh.service",
     .service = "ssh.service"},
    {.name = "hybrid: v2 beats systemd's v1 hierarchy below the root",
     .text = "1:name=systemd:/system.slice/ssh.service\n"
             "0::/system.slice/cron.service\n",
     .cgroup_path = "/system.slice/cron.service",
     .service = "cron.service"},
    {.name = "v2 at the root and no systemd hierarchy",
     .text = "4:memory:/system.slice/a.service\n0::/\n",
     .cgroup_path = "/"},
    {.name = "name=systemd is matched whole",
     .text = "1:name=systemdx:/system.slice/a.service\n"
             "2:name=systemd:/system.slice/b.service\n",
     .cgroup_path = "/system.slice/b.service",
     .service = "b.service"},
};

START_TEST(test_text_levels) {
  const struct text_level_case *c = &text_level_cases[_i];
  struct workload_id w;
  memset(&w, 0x5a, sizeof(w));
  cgroup_identify_proc_text(c->text, &w);
  ck_assert_msg(strcmp(w.cgroup_path, c->cgroup_path) == 0, "%s: path %s",
                c->name, w.cgroup_path);
  ck_assert_msg(strcmp(w.pod_uid, c->pod_uid ? c->pod_uid : "") == 0,
                "%s: pod %s", c->name, w.pod_uid);
  ck_assert_msg(strcmp(w.service, c->service ? c->service : "") == 0,
                "%s: service %s", c->name, w.service);
  ck_assert_msg(strcmp(w.session, c->session ? c->session : "") == 0,
                "%s: session %s", c->name, w.session);
}
END_TEST

/* A scratch directory laid out like /proc, one per test. */
static char proc_root[PATH_MAX];

static void write_cgroup(unsigned pid, const char *text, size_t len) {
  char path[PATH_MAX + 32];
  snprintf(path, sizeof(path), "%s/%u", proc_root, pid);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof(path), "%s/%u/cgroup", proc_root, pid);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(text, 1, len, f), len);
  ck_assert_int_eq(fclose(f), 0);
}

static void proc_setup(void) {
  snprintf(proc_root, sizeof(proc_root), "%s/cgid-XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(proc_root));
}

/* The scratch tree is only ever two levels deep: <root>/<pid>/cgroup. */
static void proc_teardown(void) {
  DIR *d = opendir(proc_root);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char path[PATH_MAX + 300];
    snprintf(path, sizeof(path), "%s/%s/cgroup", proc_root, e->d_name);
    unlink(path);
    snprintf(path, sizeof(path), "%s/%s", proc_root, e->d_name);
    ck_assert_int_eq(rmdir(path), 0);
  }
  closedir(d);
  ck_assert_int_eq(rmdir(proc_root), 0);
}

START_TEST(test_pid_container) {
  const char *text = "4:memory:/docker/" ID1 "\n0::/\n";
  write_cgroup(1234, text, strlen(text));
  struct workload_id w;
  ck_assert_int_eq(cgroup_identify_pid(proc_root, 1234, &w), 1);
  ck_assert_int_eq(w.kind, WORKLOAD_CONTAINER);
  ck_assert_int_eq(w.runtime, RUNTIME_DOCKER);
  ck_assert_str_eq(w.id, ID1);
  ck_assert_str_eq(w.cgroup_path, "/docker/" ID1);
}
END_TEST

START_TEST(test_pid_system) {
  const char *text = "0::/init.scope\n";
  write_cgroup(1, text, strlen(text));
  struct workload_id w;
  ck_assert_int_eq(cgroup_identify_pid(proc_root, 1, &w), 0);
  ck_assert_int_eq(w.kind, WORKLOAD_SYSTEM);
  ck_assert_str_eq(w.cgroup_path, "/init.scope");
}
END_TEST

START_TEST(test_pid_gone) {
  struct workload_id w;
  ck_assert_int_eq(cgroup_identify_pid(proc_root, 4321, &w), -1);
  ck_assert_int_eq(w.kind, WORKLOAD_SYSTEM);
  ck_assert_int_eq(cgroup_identify_pid("/nonexistent-proc-root", 1, &w), -1);
}
END_TEST

START_TEST(test_pid_empty_file) {
  write_cgroup(77, "", 0);
  struct workload_id w;
  ck_assert_int_eq(cgroup_identify_pid(proc_root, 77, &w), 0);
  ck_assert_str_eq(w.cgroup_path, "");
}
END_TEST

START_TEST(test_pid_oversized_file) {
  /* More than the 16 KiB read limit and no newline at all: read what fits,
   * never overflow. The container line comes first, so it is still found. */
  size_t len = 40 * 1024;
  char *text = malloc(len);
  ck_assert_ptr_nonnull(text);
  memset(text, 'x', len);
  const char *head = "0::/crio/" ID2 "\n";
  memcpy(text, head, strlen(head));
  write_cgroup(99, text, len);
  free(text);

  struct workload_id w;
  ck_assert_int_eq(cgroup_identify_pid(proc_root, 99, &w), 1);
  ck_assert_int_eq(w.runtime, RUNTIME_CRIO);
  ck_assert_str_eq(w.id, ID2);
}
END_TEST

START_TEST(test_pid_real_proc) {
  /* Whatever this machine is, our own process exists. */
  struct workload_id w;
  ck_assert_int_ge(cgroup_identify_pid(NULL, (uint32_t)getpid(), &w), 0);
  ck_assert_int_ge(cgroup_identify_pid("/proc", (uint32_t)getpid(), NULL), 0);
}
END_TEST

static Suite *cgroup_identity_suite(void) {
  Suite *s = suite_create("cgroup_identity");

  TCase *tc = tcase_create("path");
  tcase_add_loop_test(tc, test_path_table, 0,
                      sizeof(path_cases) / sizeof(path_cases[0]));
  tcase_add_test(tc, test_path_null);
  tcase_add_test(tc, test_path_long_truncated);
  tcase_add_test(tc, test_runtime_name);
  tcase_add_test(tc, test_qos_name);
  tcase_add_test(tc, test_overlong_levels);
  suite_add_tcase(s, tc);

  tc = tcase_create("proc_text");
  tcase_add_loop_test(tc, test_text_table, 0,
                      sizeof(text_cases) / sizeof(text_cases[0]));
  tcase_add_loop_test(tc, test_text_levels, 0, ARRAY_SIZE(text_level_cases));
  suite_add_tcase(s, tc);

  tc = tcase_create("pid");
  tcase_add_checked_fixture(tc, proc_setup, proc_teardown);
  tcase_add_test(tc, test_pid_container);
  tcase_add_test(tc, test_pid_system);
  tcase_add_test(tc, test_pid_gone);
  tcase_add_test(tc, test_pid_empty_file);
  tcase_add_test(tc, test_pid_oversized_file);
  tcase_add_test(tc, test_pid_real_proc);
  suite_add_tcase(s, tc);

  return s;
}

int main(void) {
  return run_suite(cgroup_identity_suite());
}
