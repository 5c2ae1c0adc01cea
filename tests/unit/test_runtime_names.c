// SPDX-License-Identifier: GPL-2.0-only
/* runtime_names: the runtimes' record files laid out under a temp root as
 * each runtime lays them out, valid, missing, garbage, oversized and of the
 * wrong JSON types. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "runtime_names.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

#define ID1 "4f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define DOCKER_DIR "/var/lib/docker/containers/"
#define CONTAINERD_DIR "/run/containerd/io.containerd.runtime.v2.task/k8s.io/"
#define K3S_DIR "/run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io/"
#define STORAGE_DIR "/var/lib/containers/storage/overlay-containers/"
#define RUN_STORAGE_DIR "/run/containers/storage/overlay-containers/"

static char root[PATH_MAX];
static char last_log[1024];
static int nlogs;

static void capture_log(int level, const char *message) {
  (void)level;
  snprintf(last_log, sizeof(last_log), "%s", message);
  nlogs++;
}

static void setup(void) {
  snprintf(root, sizeof(root), "%s/kepler_names_XXXXXX",
           getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(root));
  last_log[0] = '\0';
  nlogs = 0;
  kepler_log_set(capture_log);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
                        struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void teardown(void) {
  kepler_log_set(NULL);
  ck_assert_int_eq(nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* mkdir -p of every directory above root + rel. */
static void make_parents(const char *rel) {
  char path[PATH_MAX * 2];
  snprintf(path, sizeof(path), "%s%s", root, rel);
  for (char *p = path + strlen(root) + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    ck_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
    *p = '/';
  }
}

static void write_file(const char *rel, const char *text) {
  make_parents(rel);
  char path[PATH_MAX * 2];
  snprintf(path, sizeof(path), "%s%s", root, rel);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_int_ge(fputs(text, f), 0);
  ck_assert_int_eq(fclose(f), 0);
}

static int lookup(enum container_runtime rt, const char *id,
                  struct container_names *n) {
  memset(n, 0x5a, sizeof(*n)); /* every field must be written */
  return runtime_names_lookup(root, rt, id, n);
}

static void assert_names(const struct container_names *n, const char *name,
                         const char *pod, const char *ns) {
  ck_assert_str_eq(n->name, name);
  ck_assert_str_eq(n->pod_name, pod);
  ck_assert_str_eq(n->pod_namespace, ns);
}

static void assert_empty(const struct container_names *n) {
  assert_names(n, "", "", "");
}

/* The log line names the file and says what is wrong with it. */
static void assert_logged(const char *rel, const char *what) {
  char path[PATH_MAX * 2];
  snprintf(path, sizeof(path), "%s%s", root, rel);
  ck_assert_msg(strstr(last_log, path) != NULL, "log \"%s\" lacks %s", last_log,
                path);
  ck_assert_msg(strstr(last_log, what) != NULL, "log \"%s\" lacks \"%s\"",
                last_log, what);
}

START_TEST(test_docker_name) {
  write_file(DOCKER_DIR ID1 "/config.v2.json",
             "{\"ID\":\"" ID1 "\",\"Name\":\"/web-1\",\"Config\":{\"Labels\":"
             "{\"com.docker.compose.service\":\"web\"}}}\n");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), 0);
  assert_names(&n, "web-1", "", "");
  ck_assert_int_eq(nlogs, 0);
}
END_TEST

START_TEST(test_docker_kubernetes_labels) {
  /* cri-dockerd: docker's own name is the kubelet's composite one */
  write_file(
      DOCKER_DIR ID1 "/config.v2.json",
      "{\"Name\":\"/k8s_nginx_web-0_shop_uid_0\",\"Config\":{\"Labels\":{"
      "\"io.kubernetes.container.name\":\"nginx\","
      "\"io.kubernetes.pod.name\":\"web-0\","
      "\"io.kubernetes.pod.namespace\":\"shop\"}}}");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), 0);
  assert_names(&n, "nginx", "web-0", "shop");
}
END_TEST

START_TEST(test_docker_missing) {
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -ENOENT);
  assert_empty(&n);
  /* another container's record is not this one's */
  write_file(DOCKER_DIR ID2 "/config.v2.json", "{\"Name\":\"/other\"}");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -ENOENT);
  ck_assert_int_eq(nlogs, 0);
}
END_TEST

START_TEST(test_docker_garbage) {
  const char *rel = DOCKER_DIR ID1 "/config.v2.json";
  struct container_names n;

  write_file(rel, "{\"Name\": \"/web-1\"");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -EBADMSG);
  assert_empty(&n);
  assert_logged(rel, "not valid JSON: unexpected end");

  write_file(rel, "{\"Name\": \"/web-1\"} trailing");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -EBADMSG);
  assert_logged(rel, "text after the value");

  write_file(rel, "\x01\x02\xff garbage");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -EBADMSG);
  assert_logged(rel, "not valid JSON");

  write_file(rel, "");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -EBADMSG);
  assert_logged(rel, "not valid JSON");
}
END_TEST

START_TEST(test_docker_deep_nesting) {
  /* deeper than json-c's nesting limit: refused, not a stack overflow */
  size_t depth = 100000;
  char *text = malloc(2 * depth + 1);
  ck_assert_ptr_nonnull(text);
  memset(text, '[', depth);
  memset(text + depth, ']', depth);
  text[2 * depth] = '\0';
  write_file(DOCKER_DIR ID1 "/config.v2.json", text);
  free(text);
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -EBADMSG);
}
END_TEST

START_TEST(test_docker_wrong_types) {
  const char *rel = DOCKER_DIR ID1 "/config.v2.json";
  struct container_names n;

  /* not an object at all */
  write_file(rel, "[\"/web-1\"]");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -EBADMSG);
  assert_logged(rel, "not the docker record expected");

  /* fields of the wrong type name nothing */
  write_file(rel, "{\"Name\":5,\"Config\":\"x\"}");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -ENODATA);
  assert_empty(&n);
  write_file(rel, "{\"Name\":null,\"Config\":{\"Labels\":["
                  "\"io.kubernetes.pod.name\"]}}");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -ENODATA);
  write_file(rel, "{\"Config\":{\"Labels\":{\"io.kubernetes.pod.name\":7,"
                  "\"io.kubernetes.container.name\":{}}}}");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -ENODATA);

  /* one good field among bad ones is enough */
  write_file(rel, "{\"Name\":\"/web-1\",\"Config\":{\"Labels\":"
                  "{\"io.kubernetes.pod.name\":7}}}");
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), 0);
  assert_names(&n, "web-1", "", "");
}
END_TEST

START_TEST(test_docker_oversized) {
  const char *rel = DOCKER_DIR ID1 "/config.v2.json";
  write_file(rel, "{\"Name\":\"/web-1\"}");
  char path[PATH_MAX * 2];
  snprintf(path, sizeof(path), "%s%s", root, rel);
  /* sparse: one byte over the limit costs no disk */
  ck_assert_int_eq(truncate(path, RUNTIME_NAMES_MAX_FILE + 1), 0);
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -EFBIG);
  assert_logged(rel, "larger than");

  /* exactly at the limit is read (and is JSON: the object, then NULs
   * that are not white space) */
  ck_assert_int_eq(truncate(path, RUNTIME_NAMES_MAX_FILE), 0);
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -EBADMSG);
  assert_logged(rel, "not valid JSON");
}
END_TEST

START_TEST(test_not_a_regular_file) {
  const char *rel = DOCKER_DIR ID1 "/config.v2.json/x";
  write_file(rel, "{}");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ID1, &n), -EBADMSG);
  assert_logged(DOCKER_DIR ID1 "/config.v2.json", "not a regular file");
}
END_TEST

START_TEST(test_long_names_truncated) {
  char name[600];
  memset(name, 'n', sizeof(name) - 1);
  name[sizeof(name) - 1] = '\0';
  char text[2048];
  snprintf(text, sizeof(text),
           "{\"annotations\":{\"io.kubernetes.cri.container-name\":\"%s\","
           "\"io.kubernetes.cri.sandbox-name\":\"%s\","
           "\"io.kubernetes.cri.sandbox-namespace\":\"%s\"}}",
           name, name, name);
  write_file(CONTAINERD_DIR ID1 "/config.json", text);
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_CONTAINERD, ID1, &n), 0);
  ck_assert_uint_eq(strlen(n.name), CONTAINER_NAME_LEN - 1);
  ck_assert_uint_eq(strlen(n.pod_name), POD_NAME_LEN - 1);
  ck_assert_uint_eq(strlen(n.pod_namespace), POD_NAMESPACE_LEN - 1);
  ck_assert_int_eq(strncmp(n.name, name, CONTAINER_NAME_LEN - 1), 0);
}
END_TEST

START_TEST(test_containerd_cri) {
  write_file(CONTAINERD_DIR ID1 "/config.json",
             "{\"ociVersion\":\"1.1.0\",\"process\":{\"args\":[\"nginx\"]},"
             "\"annotations\":{"
             "\"io.kubernetes.cri.container-type\":\"container\","
             "\"io.kubernetes.cri.container-name\":\"nginx\","
             "\"io.kubernetes.cri.sandbox-name\":\"web-0\","
             "\"io.kubernetes.cri.sandbox-namespace\":\"shop\"}}");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_CONTAINERD, ID1, &n), 0);
  assert_names(&n, "nginx", "web-0", "shop");
}
END_TEST

START_TEST(test_containerd_sandbox_and_k3s) {
  /* the pause container of a pod names the pod only; k3s keeps its own
   * containerd state directory */
  write_file(K3S_DIR ID2 "/config.json",
             "{\"annotations\":{"
             "\"io.kubernetes.cri.container-type\":\"sandbox\","
             "\"io.kubernetes.cri.sandbox-name\":\"coredns-1\","
             "\"io.kubernetes.cri.sandbox-namespace\":\"kube-system\"}}");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_CONTAINERD, ID2, &n), 0);
  assert_names(&n, "", "coredns-1", "kube-system");
}
END_TEST

START_TEST(test_containerd_no_annotations) {
  /* a container of ctr in k8s.io without CRI annotations */
  write_file(CONTAINERD_DIR ID1 "/config.json", "{\"ociVersion\":\"1.1.0\"}");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_CONTAINERD, ID1, &n), -ENODATA);
  assert_empty(&n);
  /* annotations of the wrong type */
  write_file(CONTAINERD_DIR ID1 "/config.json", "{\"annotations\":[1,2]}");
  ck_assert_int_eq(lookup(RUNTIME_CONTAINERD, ID1, &n), -ENODATA);
  /* not an object */
  write_file(CONTAINERD_DIR ID1 "/config.json", "\"config\"");
  ck_assert_int_eq(lookup(RUNTIME_CONTAINERD, ID1, &n), -EBADMSG);
  assert_logged(CONTAINERD_DIR ID1 "/config.json",
                "not the containerd record expected");
}
END_TEST

static const char crio_spec[] =
    "{\"annotations\":{"
    "\"io.kubernetes.cri-o.ContainerType\":\"container\","
    "\"io.kubernetes.container.name\":\"router\","
    "\"io.kubernetes.pod.name\":\"router-default-5f7\","
    "\"io.kubernetes.pod.namespace\":\"openshift-ingress\"}}";

START_TEST(test_crio_storage_dir) {
  write_file(STORAGE_DIR ID1 "/userdata/config.json", crio_spec);
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_CRIO, ID1, &n), 0);
  assert_names(&n, "router", "router-default-5f7", "openshift-ingress");
}
END_TEST

START_TEST(test_crio_run_dir) {
  write_file(RUN_STORAGE_DIR ID1 "/userdata/config.json", crio_spec);
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_CRIO, ID1, &n), 0);
  assert_names(&n, "router", "router-default-5f7", "openshift-ingress");
}
END_TEST

START_TEST(test_crio_broken_copy_then_good_one) {
  /* a broken run-dir copy is reported, the storage copy still answers */
  write_file(RUN_STORAGE_DIR ID1 "/userdata/config.json", "{");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_CRIO, ID1, &n), -EBADMSG);
  write_file(STORAGE_DIR ID1 "/userdata/config.json", crio_spec);
  ck_assert_int_eq(lookup(RUNTIME_CRIO, ID1, &n), 0);
  assert_names(&n, "router", "router-default-5f7", "openshift-ingress");
  assert_logged(RUN_STORAGE_DIR ID1 "/userdata/config.json", "not valid JSON");
}
END_TEST

START_TEST(test_podman_containers_json) {
  write_file(
      STORAGE_DIR "containers.json",
      "[{\"id\":\"" ID2 "\",\"names\":[\"db\"],\"image\":\"x\"},"
      "{\"id\":\"" ID1 "\",\"names\":[\"web\",\"web-alias\"],"
      "\"layer\":\"y\",\"metadata\":\"{\\\"image-name\\\":\\\"z\\\"}\"}]");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), 0);
  assert_names(&n, "web", "", "");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID2, &n), 0);
  assert_names(&n, "db", "", "");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, "feed", &n), -ENOENT);
  assert_empty(&n);
}
END_TEST

START_TEST(test_podman_volatile) {
  /* --rm containers: in volatile-containers.json, beside containers.json
   * or under the run root with a transient store */
  write_file(STORAGE_DIR "containers.json", "[]");
  write_file(STORAGE_DIR "volatile-containers.json",
             "[{\"id\":\"" ID1 "\",\"names\":[\"tmp-1\"]}]");
  write_file(RUN_STORAGE_DIR "volatile-containers.json",
             "[{\"id\":\"" ID2 "\",\"names\":[\"tmp-2\"]}]");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), 0);
  assert_names(&n, "tmp-1", "", "");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID2, &n), 0);
  assert_names(&n, "tmp-2", "", "");
}
END_TEST

START_TEST(test_podman_wrong_types) {
  const char *rel = STORAGE_DIR "containers.json";
  struct container_names n;

  write_file(rel, "{\"id\":\"" ID1 "\",\"names\":[\"web\"]}");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), -EBADMSG);
  assert_logged(rel, "not the podman record expected");

  /* entries that are not objects, ids that are not strings: skipped */
  write_file(rel, "[1,\"x\",null,{\"id\":5},{\"id\":\"" ID1
                  "\",\"names\":[\"web\"]}]");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), 0);
  assert_names(&n, "web", "", "");

  /* the entry is there but names nothing */
  write_file(rel, "[{\"id\":\"" ID1 "\",\"names\":\"web\"}]");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), -ENODATA);
  write_file(rel, "[{\"id\":\"" ID1 "\",\"names\":[3]}]");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), -ENODATA);
  write_file(rel, "[{\"id\":\"" ID1 "\",\"names\":[]}]");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), -ENODATA);
  write_file(rel, "[{\"id\":\"" ID1 "\"}]");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), -ENODATA);
  assert_empty(&n);
}
END_TEST

START_TEST(test_podman_garbage_list_then_volatile) {
  write_file(STORAGE_DIR "containers.json", "[{\"id\":");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), -EBADMSG);
  write_file(STORAGE_DIR "volatile-containers.json",
             "[{\"id\":\"" ID1 "\",\"names\":[\"tmp-1\"]}]");
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), 0);
  assert_names(&n, "tmp-1", "", "");
}
END_TEST

START_TEST(test_runtimes_do_not_mix) {
  /* a docker record does not name a containerd container */
  write_file(DOCKER_DIR ID1 "/config.v2.json", "{\"Name\":\"/web-1\"}");
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_CONTAINERD, ID1, &n), -ENOENT);
  ck_assert_int_eq(lookup(RUNTIME_CRIO, ID1, &n), -ENOENT);
  ck_assert_int_eq(lookup(RUNTIME_PODMAN, ID1, &n), -ENOENT);
}
END_TEST

START_TEST(test_lxc) {
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_LXC, "web1", &n), 0);
  assert_names(&n, "web1", "", "");
  /* no file is read: any root will do */
  ck_assert_int_eq(runtime_names_lookup(NULL, RUNTIME_LXC, "db", &n), 0);
  ck_assert_str_eq(n.name, "db");
}
END_TEST

START_TEST(test_bad_arguments) {
  struct container_names n;
  ck_assert_int_eq(lookup(RUNTIME_NONE, ID1, &n), -EINVAL);
  assert_empty(&n);
  ck_assert_int_eq(lookup((enum container_runtime)99, ID1, &n), -EINVAL);
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, NULL, &n), -EINVAL);
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, "", &n), -EINVAL);
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, "..", &n), -EINVAL);
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, ".", &n), -EINVAL);
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, "../../etc", &n), -EINVAL);
  ck_assert_int_eq(lookup(RUNTIME_LXC, "a/b", &n), -EINVAL);
  char longid[400];
  memset(longid, 'a', sizeof(longid) - 1);
  longid[sizeof(longid) - 1] = '\0';
  ck_assert_int_eq(lookup(RUNTIME_DOCKER, longid, &n), -EINVAL);
  ck_assert_int_eq(runtime_names_lookup(root, RUNTIME_DOCKER, ID1, NULL),
                   -EINVAL);
}
END_TEST

START_TEST(test_root_trailing_slash) {
  write_file(DOCKER_DIR ID1 "/config.v2.json", "{\"Name\":\"/web-1\"}");
  char slashed[PATH_MAX + 2];
  snprintf(slashed, sizeof(slashed), "%s//", root);
  struct container_names n;
  ck_assert_int_eq(runtime_names_lookup(slashed, RUNTIME_DOCKER, ID1, &n), 0);
  ck_assert_str_eq(n.name, "web-1");
}
END_TEST

int main(void) {
  Suite *s = suite_create("runtime_names");
  TCase *tc = tcase_create("files");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_docker_name);
  tcase_add_test(tc, test_docker_kubernetes_labels);
  tcase_add_test(tc, test_docker_missing);
  tcase_add_test(tc, test_docker_garbage);
  tcase_add_test(tc, test_docker_deep_nesting);
  tcase_add_test(tc, test_docker_wrong_types);
  tcase_add_test(tc, test_docker_oversized);
  tcase_add_test(tc, test_not_a_regular_file);
  tcase_add_test(tc, test_long_names_truncated);
  tcase_add_test(tc, test_containerd_cri);
  tcase_add_test(tc, test_containerd_sandbox_and_k3s);
  tcase_add_test(tc, test_containerd_no_annotations);
  tcase_add_test(tc, test_crio_storage_dir);
  tcase_add_test(tc, test_crio_run_dir);
  tcase_add_test(tc, test_crio_broken_copy_then_good_one);
  tcase_add_test(tc, test_podman_containers_json);
  tcase_add_test(tc, test_podman_volatile);
  tcase_add_test(tc, test_podman_wrong_types);
  tcase_add_test(tc, test_podman_garbage_list_then_volatile);
  tcase_add_test(tc, test_runtimes_do_not_mix);
  tcase_add_test(tc, test_lxc);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_root_trailing_slash);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
