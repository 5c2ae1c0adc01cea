// SPDX-License-Identifier: GPL-2.0-only
/* Container and pod names from the runtimes' own files. Where each runtime
 * keeps them (default roots; rootless runtimes keep theirs in the user's
 * home and are not looked up):
 *   docker      /var/lib/docker/containers/<id>/config.v2.json: the
 *               container's "Name" ("/web-1") and its "Config"."Labels"
 *               (moby daemon/container/container.go, configFileName; the
 *               container root is <data-root>/containers/<id>). Under
 *               Kubernetes (cri-dockerd) the labels carry the kubelet's
 *               io.kubernetes.{container.name,pod.name,pod.namespace}.
 *   containerd  <state>/io.containerd.runtime.v2.task/<namespace>/<id>/
 *               config.json, the OCI spec of the task's bundle (containerd
 *               runtime/v2/bundle.go, NewBundle); state is /run/containerd,
 *               /run/k3s/containerd under k3s; the CRI plugin's namespace is
 *               k8s.io and its annotations io.kubernetes.cri.{container-name,
 *               sandbox-name,sandbox-namespace} (pkg/cri/annotations).
 *   cri-o       <graphroot or runroot>/overlay-containers/<id>/userdata/
 *               config.json: cri-o saves the spec to both the container's
 *               storage directory and its run directory (server/
 *               container_create_linux.go, SaveToFile) and copies the
 *               kubelet's labels into the annotations (internal/factory/
 *               container SpecAddAnnotations).
 *   podman      <graphroot>/overlay-containers/containers.json and
 *               volatile-containers.json (containers made with --rm), or
 *               the latter under <runroot> with a transient store: arrays
 *               of {"id", "names": [...]} (containers/storage containers.go,
 *               newContainerStore). graphroot is /var/lib/containers/storage,
 *               runroot /run/containers/storage.
 *   LXC         the name is in the cgroup path, so it is the id. */
#include "runtime_names.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_read.h"
#include "log.h"

enum record_format {
  DOCKER_CONFIG, /* an object: "Name", "Config"."Labels" */
  OCI_SPEC,      /* an object: "annotations" */
  STORAGE_LIST,  /* an array of {"id", "names"} */
};

/* The annotation or label keys that carry the names. */
struct name_keys {
  const char *container, *pod, *pod_namespace;
};

/* The kubelet's own labels (pkg/kubelet/types/labels.go). */
static const struct name_keys kubelet_keys = {"io.kubernetes.container.name",
                                              "io.kubernetes.pod.name",
                                              "io.kubernetes.pod.namespace"};
static const struct name_keys cri_containerd_keys = {
    "io.kubernetes.cri.container-name", "io.kubernetes.cri.sandbox-name",
    "io.kubernetes.cri.sandbox-namespace"};

/* Where each runtime's records are, in the order they are tried: a file
 * per container (dir/<id>/file) or one list for all (dir/file). */
static const struct {
  enum container_runtime runtime;
  const char *dir;
  bool per_id;
  const char *file;
  enum record_format format;
  const struct name_keys *keys;
} sources[] = {
    {RUNTIME_DOCKER, "/var/lib/docker/containers", true, "config.v2.json",
     DOCKER_CONFIG, &kubelet_keys},
    {RUNTIME_CONTAINERD, "/run/containerd/io.containerd.runtime.v2.task/k8s.io",
     true, "config.json", OCI_SPEC, &cri_containerd_keys},
    {RUNTIME_CONTAINERD,
     "/run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io", true,
     "config.json", OCI_SPEC, &cri_containerd_keys},
    {RUNTIME_CRIO, "/run/containers/storage/overlay-containers", true,
     "userdata/config.json", OCI_SPEC, &kubelet_keys},
    {RUNTIME_CRIO, "/var/lib/containers/storage/overlay-containers", true,
     "userdata/config.json", OCI_SPEC, &kubelet_keys},
    {RUNTIME_PODMAN, "/var/lib/containers/storage/overlay-containers", false,
     "containers.json", STORAGE_LIST, NULL},
    {RUNTIME_PODMAN, "/var/lib/containers/storage/overlay-containers", false,
     "volatile-containers.json", STORAGE_LIST, NULL},
    {RUNTIME_PODMAN, "/run/containers/storage/overlay-containers", false,
     "volatile-containers.json", STORAGE_LIST, NULL},
};

/* Read path whole, refusing what is not a regular file of bounded size;
 * *text is NUL-terminated and the caller frees it. */
static int read_bounded(const char *path, char **text, size_t *len) {
  int fd = file_open_regular(path);
  if (fd == FILE_NOT_REGULAR) {
    kepler_log(KLOG_WARNING, "kepler: %s: not a regular file", path);
    return -EBADMSG;
  }
  if (fd < 0)
    return fd;
  int rc = file_read_bounded(fd, RUNTIME_NAMES_MAX_FILE, text, len);
  close(fd);
  if (rc == -EFBIG)
    kepler_log(KLOG_WARNING, "kepler: %s: larger than %d bytes", path,
               RUNTIME_NAMES_MAX_FILE);
  return rc;
}

/* JSON's white space (RFC 8259); not NUL, which strchr would find. */
static bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse path as one JSON value followed by nothing but white space. */
static int load_json(const char *path, json_object **out) {
  char *text = NULL;
  size_t len = 0;
  int r = read_bounded(path, &text, &len);
  if (r != 0)
    return r;
  json_tokener *tok = json_tokener_new();
  if (tok == NULL) {
    free(text);
    return -ENOMEM;
  }
  json_object *v = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error e = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  while (v != NULL && end < len && is_json_space(text[end]))
    end++;
  free(text);
  if (v == NULL || e != json_tokener_success || end != len) {
    kepler_log(KLOG_WARNING, "kepler: %s: not valid JSON: %s", path,
               e == json_tokener_success    ? "text after the value"
               : e == json_tokener_continue ? "unexpected end"
                                            : json_tokener_error_desc(e));
    json_object_put(v);
    return -EBADMSG;
  }
  *out = v;
  return 0;
}

/* o[key] when o is an object and it is of type t, else NULL. */
static json_object *member(json_object *o, const char *key, json_type t) {
  json_object *v;
  if (!json_object_is_type(o, json_type_object) ||
      !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
    return NULL;
  return v;
}

static void copy_string(char *dst, size_t cap, json_object *s) {
  if (s != NULL)
    snprintf(dst, cap, "%s", json_object_get_string(s));
}

/* The names from a labels or annotations object. */
static void names_from_map(json_object *map, const struct name_keys *k,
                           struct container_names *out) {
  copy_string(out->name, sizeof(out->name),
              member(map, k->container, json_type_string));
  copy_string(out->pod_name, sizeof(out->pod_name),
              member(map, k->pod, json_type_string));
  copy_string(out->pod_namespace, sizeof(out->pod_namespace),
              member(map, k->pod_namespace, json_type_string));
}

static int from_docker(json_object *v, const struct name_keys *k,
                       struct container_names *out) {
  if (!json_object_is_type(v, json_type_object))
    return -EBADMSG;
  names_from_map(
      member(member(v, "Config", json_type_object), "Labels", json_type_object),
      k, out);
  /* In a pod, docker's own name is the kubelet's "k8s_<container>_..."
   * and the label is the better one. */
  json_object *name = member(v, "Name", json_type_string);
  if (out->name[0] == '\0' && name != NULL) {
    const char *s = json_object_get_string(name);
    snprintf(out->name, sizeof(out->name), "%s", s[0] == '/' ? s + 1 : s);
  }
  return 0;
}

static int from_oci_spec(json_object *v, const struct name_keys *k,
                         struct container_names *out) {
  if (!json_object_is_type(v, json_type_object))
    return -EBADMSG;
  names_from_map(member(v, "annotations", json_type_object), k, out);
  return 0;
}

static int from_storage_list(json_object *v, const char *id,
                             struct container_names *out) {
  if (!json_object_is_type(v, json_type_array))
    return -EBADMSG;
  size_t n = json_object_array_length(v);
  for (size_t i = 0; i < n; i++) {
    json_object *c = json_object_array_get_idx(v, i);
    json_object *cid = member(c, "id", json_type_string);
    if (cid == NULL || strcmp(json_object_get_string(cid), id) != 0)
      continue;
    json_object *names = member(c, "names", json_type_array);
    if (names != NULL && json_object_array_length(names) > 0) {
      json_object *first = json_object_array_get_idx(names, 0);
      if (json_object_is_type(first, json_type_string))
        copy_string(out->name, sizeof(out->name), first);
    }
    return 0;
  }
  return -ENOENT;
}

/* An id becomes a path element: nothing that could leave the directory. */
static bool valid_id(const char *id) {
  return id != NULL && id[0] != '\0' && strlen(id) < CONTAINER_NAME_LEN &&
         strchr(id, '/') == NULL && strcmp(id, ".") != 0 &&
         strcmp(id, "..") != 0;
}

/* One source: 0 when its record of id names something. */
static int lookup_source(size_t s, const char *root, size_t rootlen,
                         const char *id, struct container_names *out) {
  char path[4096];
  int w = sources[s].per_id
              ? snprintf(path, sizeof(path), "%.*s%s/%s/%s", (int)rootlen, root,
                         sources[s].dir, id, sources[s].file)
              : snprintf(path, sizeof(path), "%.*s%s/%s", (int)rootlen, root,
                         sources[s].dir, sources[s].file);
  if (w < 0 || (size_t)w >= sizeof(path))
    return -ENAMETOOLONG;

  json_object *v;
  int r = load_json(path, &v);
  if (r != 0)
    return r;
  memset(out, 0, sizeof(*out));
  switch (sources[s].format) {
  case DOCKER_CONFIG:
    r = from_docker(v, sources[s].keys, out);
    break;
  case OCI_SPEC:
    r = from_oci_spec(v, sources[s].keys, out);
    break;
  case STORAGE_LIST:
    r = from_storage_list(v, id, out);
    break;
  }
  json_object_put(v);
  if (r == -EBADMSG)
    kepler_log(KLOG_WARNING, "kepler: %s: not the %s record expected", path,
               runtime_name(sources[s].runtime));
  if (r == 0 && out->name[0] == '\0' && out->pod_name[0] == '\0')
    r = -ENODATA;
  return r;
}

int runtime_names_lookup(const char *root, enum container_runtime rt,
                         const char *id, struct container_names *out) {
  if (out == NULL)
    return -EINVAL;
  memset(out, 0, sizeof(*out));
  if (!valid_id(id))
    return -EINVAL;
  if (rt == RUNTIME_LXC) {
    snprintf(out->name, sizeof(out->name), "%s", id);
    return 0;
  }
  if (root == NULL)
    root = "/";
  size_t rootlen = strlen(root);
  while (rootlen > 0 && root[rootlen - 1] == '/')
    rootlen--;

  /* The first answer wins; failing that, the first error other than "not
   * here", so a broken file is not hidden behind a missing one. */
  int result = -EINVAL;
  for (size_t s = 0; s < sizeof(sources) / sizeof(sources[0]); s++) {
    if (sources[s].runtime != rt)
      continue;
    int r = lookup_source(s, root, rootlen, id, out);
    if (r == 0)
      return 0;
    if (result == -EINVAL || result == -ENOENT)
      result = r;
  }
  memset(out, 0, sizeof(*out));
  return result;
}
