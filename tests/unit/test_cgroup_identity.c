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

struct path_case {
  const char *path;
  enum workload_kind kind;
  enum container_runtime runtime;
  const char *id;        /* "" for system */
  const char *want_path; /* NULL: the input itself */
};

#define SYS(p)                                                                 \
  { p, WORKLOAD_SYSTEM, RUNTIME_NONE, "", NULL }
#define CT(p, rt, id)                                                          \
  { p, WORKLOAD_CONTAINER, rt, id, NULL }

static const struct path_case path_cases[] = {
    /* docker, systemd driver, v1 and v2 */
    CT("/system.slice/docker-" ID1 ".scope", RUNTIME_DOCKER, ID1),
    /* docker, cgroupfs driver */
    CT("/docker/" ID1, RUNTIME_DOCKER, ID1),
    /* rootless docker */
    CT(USER_MGR "/docker-" ID1 ".scope", RUNTIME_DOCKER, ID1),
    /* docker-in-docker: the innermost container wins */
    CT("/docker/" ID1 "/docker/" ID2, RUNTIME_DOCKER, ID2),
    /* kubelet + docker (cri-dockerd), systemd driver */
    CT(KUBE_BURSTABLE "/docker-" ID2 ".scope", RUNTIME_DOCKER, ID2),
    /* kubelet cgroupfs driver: a bare id, reported as containerd */
    CT("/kubepods/burstable/" POD_CGROUPFS "/" ID2, RUNTIME_CONTAINERD, ID2),
    CT("/kubepods/besteffort/" POD_CGROUPFS "/" ID1, RUNTIME_CONTAINERD, ID1),
    CT("/kubepods/" POD_CGROUPFS "/" ID1, RUNTIME_CONTAINERD, ID1),
    /* containerd (CRI), systemd driver */
    CT(KUBE_BURSTABLE "/cri-containerd-" ID1 ".scope", RUNTIME_CONTAINERD, ID1),
    CT(KUBE_BESTEFFORT "/cri-containerd-" ID2 ".scope", RUNTIME_CONTAINERD,
       ID2),
    CT("/kubepods.slice/kubepods-" POD_SYSTEMD ".slice/cri-containerd-" ID1
       ".scope",
       RUNTIME_CONTAINERD, ID1),
    /* containerd, RHEL style: the cgroupsPath appears verbatim */
    CT("/kubepods-burstable-" POD_SYSTEMD ".slice:cri-containerd:" ID1,
       RUNTIME_CONTAINERD, ID1),
    CT("/system.slice/containerd.service/kubepods-besteffort-" POD_SYSTEMD
       ".slice:cri-containerd:" ID2,
       RUNTIME_CONTAINERD, ID2),
    /* containerd without kubelet: ctr/nerdctl namespaces, nerdctl scopes */
    CT("/default/" ID1, RUNTIME_CONTAINERD, ID1),
    CT("/k8s.io/" ID2, RUNTIME_CONTAINERD, ID2),
    CT("/system.slice/nerdctl-" ID1 ".scope", RUNTIME_CONTAINERD, ID1),
    /* cri-o, systemd driver (plus crun's nested sub-cgroup) */
    CT(KUBE_BURSTABLE "/crio-" ID1 ".scope", RUNTIME_CRIO, ID1),
    CT(KUBE_BURSTABLE "/crio-" ID1 ".scope/container", RUNTIME_CRIO, ID1),
    /* cri-o, cgroupfs driver */
    CT("/crio/" ID2, RUNTIME_CRIO, ID2),
    CT("/kubepods/burstable/" POD_CGROUPFS "/crio-" ID2, RUNTIME_CRIO, ID2),
    /* podman, systemd driver, root and rootless, with the cgroupns child */
    CT("/machine.slice/libpod-" ID1 ".scope", RUNTIME_PODMAN, ID1),
    CT("/machine.slice/libpod-" ID1 ".scope/container", RUNTIME_PODMAN, ID1),
    CT(USER_MGR "/user.slice/libpod-" ID2 ".scope", RUNTIME_PODMAN, ID2),
    CT(USER_MGR "/user.slice/libpod-" ID2 ".scope/container", RUNTIME_PODMAN,
       ID2),
    /* podman, cgroupfs driver */
    CT("/libpod_parent/libpod-" ID1, RUNTIME_PODMAN, ID1),
    /* upper-case ids are accepted and reported lower-case */
    CT("/system.slice/docker-" ID_UPPER ".scope", RUNTIME_DOCKER,
       ID_UPPER_LOWERED),
    CT("/docker/" ID_UPPER, RUNTIME_DOCKER, ID_UPPER_LOWERED),
    CT("/kubepods-burstable-" POD_SYSTEMD ".slice:cri-containerd:" ID_UPPER,
       RUNTIME_CONTAINERD, ID_UPPER_LOWERED),
    /* sloppy slashes and a sub-cgroup below the scope */
    CT("//docker//" ID1 "/", RUNTIME_DOCKER, ID1),
    CT("/system.slice/docker-" ID1 ".scope/init.scope", RUNTIME_DOCKER, ID1),
    /* a removed cgroup of a zombie: the kernel appends " (deleted)" */
    {"/system.slice/docker-" ID1 ".scope (deleted)", WORKLOAD_CONTAINER,
     RUNTIME_DOCKER, ID1, "/system.slice/docker-" ID1 ".scope"},

    /* conmon monitors are system work */
    SYS(KUBE_BURSTABLE "/crio-conmon-" ID1 ".scope"),
    SYS("/kubepods/burstable/" POD_CGROUPFS "/crio-conmon-" ID1),
    SYS("/machine.slice/libpod-conmon-" ID1 ".scope"),
    SYS(USER_MGR "/user.slice/libpod-conmon-" ID2 ".scope"),
    /* plain system cgroups */
    SYS("/"),
    SYS(""),
    SYS("/init.scope"),
    SYS("/user.slice/user-1000.slice/session-3.scope"),
    SYS(USER_MGR "/app.slice/dbus.service"),
    SYS("/system.slice/ssh.service"),
    SYS("/system.slice/docker.service"),
    SYS("/system.slice/containerd.service"),
    SYS("/system.slice/crio.service"),
    SYS("/machine.slice/machine-qemu\\x2d1\\x2dvm.scope"),
    SYS(KUBE_BURSTABLE), /* the pod, not a container */
    SYS("/kubepods/burstable/" POD_CGROUPFS),
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
    SYS("/kubepods-burstable-" POD_SYSTEMD ".slice:something:" ID1),
    SYS("/kubepods-burstable-" POD_SYSTEMD ".slice:cri-containerd:" ID_63),
    SYS("/a:b:c"),
    SYS("/:::"),
};

START_TEST(test_path_table) {
  const struct path_case *c = &path_cases[_i];
  struct workload_id w;
  memset(&w, 0x5a, sizeof(w)); /* every field must be written */

  int r = cgroup_identify_path(c->path, &w);

  ck_assert_msg(r == (c->kind == WORKLOAD_CONTAINER), "case %d %s: ret %d", _i,
                c->path, r);
  ck_assert_msg(w.kind == c->kind, "case %d %s: kind %d", _i, c->path, w.kind);
  ck_assert_msg(w.runtime == c->runtime, "case %d %s: runtime %s", _i, c->path,
                runtime_name(w.runtime));
  ck_assert_str_eq(w.id, c->id);
  ck_assert_str_eq(w.cgroup_path, c->want_path ? c->want_path : c->path);
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

START_TEST(test_runtime_name) {
  ck_assert_str_eq(runtime_name(RUNTIME_DOCKER), "docker");
  ck_assert_str_eq(runtime_name(RUNTIME_CONTAINERD), "containerd");
  ck_assert_str_eq(runtime_name(RUNTIME_CRIO), "crio");
  ck_assert_str_eq(runtime_name(RUNTIME_PODMAN), "podman");
  ck_assert_str_eq(runtime_name(RUNTIME_NONE), "");
  ck_assert_str_eq(runtime_name((enum container_runtime)99), "");
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

/* --- pod, service and VM levels ------------------------------------------ */

#define UID "1f2e3d4c-5b6a-7980-1a2b-3c4d5e6f7a8b"

struct level_case {
  const char *path;
  const char *pod_uid;
  enum pod_qos qos;
  const char *service;
  const char *vm;
  const char *container; /* id, "" for none */
};

static const struct level_case level_cases[] = {
    /* kubelet, systemd driver: burstable, besteffort, guaranteed */
    {KUBE_BURSTABLE "/cri-containerd-" ID1 ".scope", UID, POD_QOS_BURSTABLE, "",
     "", ID1},
    {KUBE_BESTEFFORT "/crio-" ID2 ".scope", UID, POD_QOS_BESTEFFORT, "", "",
     ID2},
    {"/kubepods.slice/kubepods-" POD_SYSTEMD ".slice/cri-containerd-" ID1
     ".scope",
     UID, POD_QOS_GUARANTEED, "", "", ID1},
    /* the pod's own cgroup (its pause process) */
    {KUBE_BURSTABLE, UID, POD_QOS_BURSTABLE, "", "", ""},
    /* kubelet, cgroupfs driver */
    {"/kubepods/burstable/" POD_CGROUPFS "/" ID1, UID, POD_QOS_BURSTABLE, "",
     "", ID1},
    {"/kubepods/besteffort/" POD_CGROUPFS "/" ID2, UID, POD_QOS_BESTEFFORT, "",
     "", ID2},
    {"/kubepods/" POD_CGROUPFS "/" ID1, UID, POD_QOS_GUARANTEED, "", "", ID1},
    /* kind / k3s: the kubelet's slices under kubelet.slice */
    {"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
     "kubelet-kubepods-burstable-" POD_SYSTEMD ".slice/cri-containerd-" ID1
     ".scope",
     UID, POD_QOS_BURSTABLE, "", "", ID1},
    /* not pods: a bad uid, a pod-like name elsewhere */
    {"/kubepods/burstable/pod1234/" ID1, "", POD_QOS_NONE, "", "", ID1},
    {"/system.slice/pod" UID ".service", "", POD_QOS_NONE, "pod" UID ".service",
     "", ""},
    /* services: system, nested, templated, user manager, login session */
    {"/system.slice/ssh.service", "", POD_QOS_NONE, "ssh.service", "", ""},
    {"/system.slice/nginx.service/worker", "", POD_QOS_NONE, "nginx.service",
     "", ""},
    {"/system.slice/system-getty.slice/getty@tty1.service", "", POD_QOS_NONE,
     "getty@tty1.service", "", ""},
    {"/system.slice/system-foo.slice/foo@a\\x2db.service", "", POD_QOS_NONE,
     "foo@a-b.service", "", ""},
    {USER_MGR "/app.slice/dbus.service", "", POD_QOS_NONE, "dbus.service", "",
     ""},
    {USER_MGR "/init.scope", "", POD_QOS_NONE, "user@1000.service", "", ""},
    {"/user.slice/user-1000.slice/session-3.scope", "", POD_QOS_NONE,
     "session-3.scope", "", ""},
    {"/system.slice/session-3.scope", "", POD_QOS_NONE, "", "", ""},
    /* a container started by a service's daemon is not that service */
    {"/system.slice/docker-" ID1 ".scope", "", POD_QOS_NONE, "", "", ID1},
    {"/init.scope", "", POD_QOS_NONE, "", "", ""},
    /* libvirt guests: systemd and cgroupfs, with and without the id */
    {"/machine.slice/machine-qemu\\x2d1\\x2dweb01.scope/libvirt/vcpu0", "",
     POD_QOS_NONE, "", "web01", ""},
    {"/machine.slice/machine-qemu\\x2d12\\x2dmy\\x2ddb.scope", "", POD_QOS_NONE,
     "", "my-db", ""},
    {"/machine.slice/machine-qemu\\x2dold.scope", "", POD_QOS_NONE, "", "old",
     ""},
    {"/machine/qemu-3-build.libvirt-qemu/emulator", "", POD_QOS_NONE, "",
     "build", ""},
    {"/machine.slice/machine-lxc\\x2d7\\x2dct.scope", "", POD_QOS_NONE, "", "",
     ""},
    /* LXC: payload cgroups are containers named by their name; the monitor
     * is LXC's own work */
    {"/lxc.payload.web-1", "", POD_QOS_NONE, "", "", "web-1"},
    {"/lxc.payload.Web/system.slice/ssh.service", "", POD_QOS_NONE,
     "ssh.service", "", "Web"},
    {"/lxc.monitor.web-1", "", POD_QOS_NONE, "", "", ""},
    {"/lxc/db/init.scope", "", POD_QOS_NONE, "", "", "db"},
};

START_TEST(test_level_table) {
  const struct level_case *c = &level_cases[_i];
  struct workload_id w;
  memset(&w, 0x5a, sizeof(w)); /* every field must be written */
  int r = cgroup_identify_path(c->path, &w);
  ck_assert_msg(r == (c->container[0] != '\0'), "case %d %s: ret %d", _i,
                c->path, r);
  ck_assert_str_eq(w.id, c->container);
  ck_assert_msg(strcmp(w.pod_uid, c->pod_uid) == 0, "case %d %s: pod \"%s\"",
                _i, c->path, w.pod_uid);
  ck_assert_msg(w.qos == c->qos, "case %d %s: qos %s", _i, c->path,
                qos_name(w.qos));
  ck_assert_msg(strcmp(w.service, c->service) == 0,
                "case %d %s: service \"%s\"", _i, c->path, w.service);
  ck_assert_msg(strcmp(w.vm, c->vm) == 0, "case %d %s: vm \"%s\"", _i, c->path,
                w.vm);
  if (r) /* the LXC cases are the ones under /lxc */
    ck_assert_int_eq(w.runtime == RUNTIME_LXC,
                     strncmp(c->path, "/lxc", 4) == 0);
}
END_TEST

/* A v1 + v2 text: the levels come with the line that named the workload. */
START_TEST(test_levels_from_proc_text) {
  struct workload_id w;
  ck_assert_int_eq(cgroup_identify_proc_text(
                       "12:cpu,cpuacct:/kubepods/burstable/" POD_CGROUPFS
                       "/" ID1 "\n0::/\n",
                       &w),
                   1);
  ck_assert_str_eq(w.pod_uid, UID);
  ck_assert_int_eq(w.qos, POD_QOS_BURSTABLE);
  ck_assert_int_eq(
      cgroup_identify_proc_text("0::/system.slice/cron.service\n", &w), 0);
  ck_assert_str_eq(w.service, "cron.service");
  ck_assert_str_eq(qos_name(POD_QOS_GUARANTEED), "guaranteed");
  ck_assert_str_eq(qos_name(POD_QOS_NONE), "");
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
  tcase_add_loop_test(tc, test_level_table, 0, ARRAY_SIZE(level_cases));
  tcase_add_test(tc, test_levels_from_proc_text);
  suite_add_tcase(s, tc);

  tc = tcase_create("proc_text");
  tcase_add_loop_test(tc, test_text_table, 0,
                      sizeof(text_cases) / sizeof(text_cases[0]));
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
