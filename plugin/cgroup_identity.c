/* Container identity from cgroup paths: plain string code over bounded spans,
 * so a path is never copied or modified while it is being classified. */
#include "cgroup_identity.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A /proc/PID/cgroup file is a few hundred bytes even with a dozen v1
 * hierarchies; reading more than this would only buy garbage. */
#define PROC_CGROUP_MAX (16 * 1024)

/* The kernel appends this to the v2 path of a process whose cgroup has been
 * removed (a zombie); the container is still the one named before it. */
#define DELETED_SUFFIX " (deleted)"

/* Runtime names as they appear in cgroup element names, either as
 * "<name>-<id>[.scope]" or as "<slice>:<name>:<id>". The id must follow the
 * prefix directly, so "crio-conmon-<id>" and "libpod-conmon-<id>" (the
 * monitor processes, which are system work) never match. */
static const struct {
  const char *name;
  enum container_runtime runtime;
} prefixes[] = {
    {"docker", RUNTIME_DOCKER},
    {"cri-containerd", RUNTIME_CONTAINERD},
    /* nerdctl runs containers on containerd, with its own scope name. */
    {"nerdctl", RUNTIME_CONTAINERD},
    {"crio", RUNTIME_CRIO},
    {"libpod", RUNTIME_PODMAN},
};

const char *runtime_name(enum container_runtime r) {
  switch (r) {
  case RUNTIME_DOCKER:
    return "docker";
  case RUNTIME_CONTAINERD:
    return "containerd";
  case RUNTIME_CRIO:
    return "crio";
  case RUNTIME_PODMAN:
    return "podman";
  case RUNTIME_LXC:
    return "lxc";
  case RUNTIME_NONE:
    break;
  }
  return "";
}

const char *qos_name(enum pod_qos q) {
  switch (q) {
  case POD_QOS_GUARANTEED:
    return "guaranteed";
  case POD_QOS_BURSTABLE:
    return "burstable";
  case POD_QOS_BESTEFFORT:
    return "besteffort";
  case POD_QOS_NONE:
    break;
  }
  return "";
}

static int is_hex_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static int is_id(const char *s, size_t n) {
  if (n != WORKLOAD_ID_LEN)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_hex_char(s[i]))
      return 0;
  return 1;
}

static int span_eq(const char *s, size_t n, const char *lit) {
  return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

static int span_ends_with(const char *s, size_t n, const char *lit) {
  size_t l = strlen(lit);
  return n >= l && memcmp(s + n - l, lit, l) == 0;
}

/* Index of the last c in s[0..n), or -1. (memrchr would need _GNU_SOURCE.) */
static long last_index(const char *s, size_t n, char c) {
  while (n > 0)
    if (s[--n] == c)
      return (long)n;
  return -1;
}

static enum container_runtime runtime_by_name(const char *s, size_t n) {
  for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
    if (span_eq(s, n, prefixes[i].name))
      return prefixes[i].runtime;
  return RUNTIME_NONE;
}

/* Classify one path element e[0..n) whose parent element is p[0..pn).
 * Returns the runtime and sets *id, or RUNTIME_NONE. */
static enum container_runtime match_element(const char *e, size_t n,
                                            const char *p, size_t pn,
                                            const char **id, size_t *idlen) {
  *idlen = WORKLOAD_ID_LEN;
  /* LXC names its payload cgroup "lxc.payload.<name>" (LXC 4+, next to
   * "lxc.monitor.<name>", which is LXC's own work) or "/lxc/<name>" (older
   * releases). The name is the id. */
  static const char payload[] = "lxc.payload.";
  size_t pl = sizeof(payload) - 1;
  if (n > pl && memcmp(e, payload, pl) == 0 && n - pl <= WORKLOAD_ID_LEN) {
    *id = e + pl;
    *idlen = n - pl;
    return RUNTIME_LXC;
  }
  if (span_eq(p, pn, "lxc") && n > 0 && n <= WORKLOAD_ID_LEN) {
    *id = e;
    *idlen = n;
    return RUNTIME_LXC;
  }
  /* A bare id is what cgroupfs drivers create. The parent tells docker
   * ("/docker/<id>") and cri-o ("/crio/<id>") apart; every other bare id is
   * reported as containerd: it is what containerd creates for
   * "/<namespace>/<id>" (ctr, nerdctl) and for the kubelet's cgroupfs layout
   * "/kubepods/<qos>/pod<uid>/<id>". Docker used that kubepods layout only
   * through dockershim, which Kubernetes removed in 1.24. */
  if (is_id(e, n)) {
    *id = e;
    if (span_eq(p, pn, "docker"))
      return RUNTIME_DOCKER;
    if (span_eq(p, pn, "crio"))
      return RUNTIME_CRIO;
    return RUNTIME_CONTAINERD;
  }

  /* "<slice>:<name>:<id>": the systemd-style cgroupsPath that containerd
   * passes to runc, which shows up verbatim as a path element when the
   * runtime uses cgroupfs (seen on RHEL-family nodes). */
  long c2 = last_index(e, n, ':');
  if (c2 >= 0 && is_id(e + c2 + 1, n - (size_t)c2 - 1)) {
    long c1 = last_index(e, (size_t)c2, ':');
    if (c1 >= 0) {
      enum container_runtime r =
          runtime_by_name(e + c1 + 1, (size_t)(c2 - c1 - 1));
      if (r != RUNTIME_NONE) {
        *id = e + c2 + 1;
        return r;
      }
    }
  }

  /* "<name>-<id>.scope" (systemd driver) or "<name>-<id>" (cgroupfs driver
   * of cri-o and podman). */
  if (span_ends_with(e, n, ".scope"))
    n -= strlen(".scope");
  if (n < WORKLOAD_ID_LEN + 2 || e[n - WORKLOAD_ID_LEN - 1] != '-' ||
      !is_id(e + n - WORKLOAD_ID_LEN, WORKLOAD_ID_LEN))
    return RUNTIME_NONE;
  enum container_runtime r = runtime_by_name(e, n - WORKLOAD_ID_LEN - 1);
  if (r != RUNTIME_NONE)
    *id = e + n - WORKLOAD_ID_LEN;
  return r;
}

static void set_system(struct workload_id *out, const char *path, size_t n) {
  size_t m = n < CGROUP_PATH_LEN - 1 ? n : CGROUP_PATH_LEN - 1;
  memcpy(out->cgroup_path, path, m);
  out->cgroup_path[m] = '\0';
  out->kind = WORKLOAD_SYSTEM;
  out->runtime = RUNTIME_NONE;
  out->id[0] = '\0';
  out->pod_uid[0] = '\0';
  out->qos = POD_QOS_NONE;
  out->service[0] = '\0';
  out->vm[0] = '\0';
}

static int span_starts_with(const char *s, size_t n, const char *lit) {
  size_t l = strlen(lit);
  return n >= l && memcmp(s, lit, l) == 0;
}

/* A pod UID, 8-4-4-4-12 hex digits, with '-' or (systemd slice names) '_'
 * as separators; copied with dashes. */
static int take_pod_uid(const char *s, size_t n, char out[POD_UID_LEN + 1]) {
  if (n != POD_UID_LEN)
    return 0;
  for (size_t i = 0; i < n; i++) {
    int sep = i == 8 || i == 13 || i == 18 || i == 23;
    if (sep ? (s[i] != '-' && s[i] != '_') : !is_hex_char(s[i]))
      return 0;
    out[i] = sep ? '-' : s[i];
  }
  out[n] = '\0';
  return 1;
}

/* kubelet pod cgroups. systemd driver: "kubepods-pod<uid>.slice"
 * (guaranteed), "kubepods-<qos>-pod<uid>.slice" (with a "kubelet-" prefix
 * when the kubelet runs under kubelet.slice); cgroupfs driver:
 * "pod<uid>" below "kubepods" (guaranteed) or below "<qos>". */
static void match_pod(const char *e, size_t n, const char *p, size_t pn,
                      struct workload_id *out) {
  static const struct {
    const char *prefix, *parent;
    enum pod_qos qos;
  } forms[] = {
      {"kubepods-pod", NULL, POD_QOS_GUARANTEED},
      {"kubepods-burstable-pod", NULL, POD_QOS_BURSTABLE},
      {"kubepods-besteffort-pod", NULL, POD_QOS_BESTEFFORT},
      /* kind and k3s nest the kubelet's slices under kubelet.slice */
      {"kubelet-kubepods-pod", NULL, POD_QOS_GUARANTEED},
      {"kubelet-kubepods-burstable-pod", NULL, POD_QOS_BURSTABLE},
      {"kubelet-kubepods-besteffort-pod", NULL, POD_QOS_BESTEFFORT},
      {"pod", "kubepods", POD_QOS_GUARANTEED},
      {"pod", "burstable", POD_QOS_BURSTABLE},
      {"pod", "besteffort", POD_QOS_BESTEFFORT},
  };
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    size_t l = strlen(forms[i].prefix), m = n;
    if (!forms[i].parent) {
      if (!span_ends_with(e, n, ".slice"))
        continue;
      m -= strlen(".slice");
    } else if (!span_eq(p, pn, forms[i].parent)) {
      continue;
    }
    if (span_starts_with(e, m, forms[i].prefix) &&
        take_pod_uid(e + l, m - l, out->pod_uid)) {
      out->qos = forms[i].qos;
      return;
    }
  }
}

/* Copy s[0..n) into out, undoing systemd's "\xHH" escapes (libvirt's
 * "machine-qemu\x2d1\x2dweb.scope"). */
static void unescape(const char *s, size_t n, char *out, size_t len) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < len; i++) {
    unsigned v;
    if (s[i] == '\\' && i + 3 < n && s[i + 1] == 'x' &&
        sscanf(s + i + 2, "%2x", &v) == 1 && is_hex_char(s[i + 2]) &&
        is_hex_char(s[i + 3])) {
      out[o++] = (char)v;
      i += 3;
    } else {
      out[o++] = s[i];
    }
  }
  out[o] = '\0';
}

/* libvirt guests: "machine-qemu\x2d<n>\x2d<name>.scope" (systemd) or
 * "qemu-<n>-<name>.libvirt-qemu" below "machine" (cgroupfs); older libvirt
 * leaves out the "<n>-". */
static void match_vm(const char *e, size_t n, const char *p, size_t pn,
                     struct workload_id *out) {
  char name[UNIT_NAME_LEN];
  if (span_starts_with(e, n, "machine-qemu") && span_ends_with(e, n, ".scope"))
    unescape(e + strlen("machine-"), n - strlen("machine-") - strlen(".scope"),
             name, sizeof(name));
  else if (span_eq(p, pn, "machine") && span_ends_with(e, n, ".libvirt-qemu"))
    unescape(e, n - strlen(".libvirt-qemu"), name, sizeof(name));
  else
    return;
  const char *s = name;
  if (strncmp(s, "qemu-", 5) != 0)
    return;
  s += 5;
  const char *d = s;
  while (*d >= '0' && *d <= '9')
    d++;
  if (d > s && *d == '-')
    s = d + 1;
  if (*s)
    snprintf(out->vm, sizeof(out->vm), "%s", s);
}

/* The deepest ".service" unit, or a login session's "session-<n>.scope". */
static void match_service(const char *e, size_t n, const char *p, size_t pn,
                          struct workload_id *out) {
  int session =
      span_starts_with(e, n, "session-") && span_ends_with(e, n, ".scope") &&
      span_starts_with(p, pn, "user-") && span_ends_with(p, pn, ".slice");
  if ((span_ends_with(e, n, ".service") || session) && n < UNIT_NAME_LEN)
    unescape(e, n, out->service, sizeof(out->service));
}

/* Pod, VM and service from every element of path[0..n), root first. */
static void identify_levels(const char *path, size_t n,
                            struct workload_id *out) {
  const char *p = path;
  size_t pn = 0;
  for (size_t start = 0; start < n;) {
    size_t end = start;
    while (end < n && path[end] != '/')
      end++;
    if (end > start) {
      match_pod(path + start, end - start, p, pn, out);
      match_vm(path + start, end - start, p, pn, out);
      match_service(path + start, end - start, p, pn, out);
      p = path + start;
      pn = end - start;
    }
    start = end + 1;
  }
}

/* Classify path[0..n), which need not be NUL-terminated (a line of a
 * /proc/PID/cgroup text). Elements are tried from the deepest upwards so a
 * sub-cgroup below the container scope (podman's ".../libpod-<id>.scope/
 * container") still finds it, and nested containers report the innermost. */
static int identify_span(const char *path, size_t n, struct workload_id *out) {
  if (span_ends_with(path, n, DELETED_SUFFIX))
    n -= strlen(DELETED_SUFFIX);
  set_system(out, path, n);
  identify_levels(path, n, out);

  size_t end = n;
  while (end > 0) {
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
      start--;
    if (start < end) {
      size_t pend = start > 0 ? start - 1 : 0;
      while (pend > 0 && path[pend - 1] == '/')
        pend--;
      size_t pstart = pend;
      while (pstart > 0 && path[pstart - 1] != '/')
        pstart--;

      const char *id = NULL;
      size_t idlen = 0;
      enum container_runtime r = match_element(
          path + start, end - start, path + pstart, pend - pstart, &id, &idlen);
      if (r != RUNTIME_NONE) {
        out->kind = WORKLOAD_CONTAINER;
        out->runtime = r;
        for (size_t i = 0; i < idlen; i++) {
          char c = id[i];
          out->id[i] = (r != RUNTIME_LXC && c >= 'A' && c <= 'F')
                           ? (char)(c - 'A' + 'a')
                           : c;
        }
        out->id[idlen] = '\0';
        return 1;
      }
    }
    end = start > 0 ? start - 1 : 0;
  }
  return 0;
}

int cgroup_identify_path(const char *path, struct workload_id *out) {
  struct workload_id scratch;
  if (out == NULL)
    out = &scratch;
  if (path == NULL)
    path = "";
  return identify_span(path, strlen(path), out);
}

/* Take the next line from *cursor into [*line, *line + *len), without the
 * newline. Returns 0 at the end of the text. */
static int next_line(const char **cursor, const char **line, size_t *len) {
  const char *s = *cursor;
  if (*s == '\0')
    return 0;
  const char *nl = strchr(s, '\n');
  size_t n = nl ? (size_t)(nl - s) : strlen(s);
  *cursor = nl ? nl + 1 : s + n;
  if (n > 0 && s[n - 1] == '\r')
    n--;
  *line = s;
  *len = n;
  return 1;
}

/* Split "hierarchy-id:controllers:path" on its first two colons only, since
 * the path itself may contain ':'. Returns 0 for a line that is not of that
 * shape (garbage is skipped, not fatal). */
static int parse_line(const char *s, size_t n, const char **path, size_t *plen,
                      int *is_v2) {
  size_t c1 = 0;
  while (c1 < n && s[c1] >= '0' && s[c1] <= '9')
    c1++;
  if (c1 == 0 || c1 >= n || s[c1] != ':')
    return 0;
  size_t c2 = c1 + 1;
  while (c2 < n && s[c2] != ':')
    c2++;
  if (c2 >= n || c2 + 1 >= n || s[c2 + 1] != '/')
    return 0;
  *path = s + c2 + 1;
  *plen = n - c2 - 1;
  /* The unified hierarchy is always "0::". */
  *is_v2 = c1 == 1 && s[0] == '0' && c2 == c1 + 1;
  return 1;
}

int cgroup_identify_proc_text(const char *text, struct workload_id *out) {
  struct workload_id scratch;
  if (out == NULL)
    out = &scratch;
  if (text == NULL)
    text = "";

  const char *first = NULL, *v2 = NULL;
  size_t first_len = 0, v2_len = 0;
  const char *cursor = text, *line, *path;
  size_t len, plen;
  int is_v2;

  while (next_line(&cursor, &line, &len)) {
    if (!parse_line(line, len, &path, &plen, &is_v2))
      continue;
    if (first == NULL) {
      first = path;
      first_len = plen;
    }
    if (is_v2 && v2 == NULL) {
      v2 = path;
      v2_len = plen;
    }
  }

  /* On hybrid hosts the v2 line is often just "0::/" while the v1 lines hold
   * the container, so the v2 line wins only when it names a container. */
  if (v2 != NULL && identify_span(v2, v2_len, out))
    return 1;

  cursor = text;
  while (next_line(&cursor, &line, &len)) {
    if (!parse_line(line, len, &path, &plen, &is_v2) || is_v2)
      continue;
    if (identify_span(path, plen, out))
      return 1;
  }

  if (v2 != NULL)
    return identify_span(v2, v2_len, out);
  if (first != NULL)
    return identify_span(first, first_len, out);
  set_system(out, "", 0);
  return 0;
}

int cgroup_identify_pid(const char *proc_root, uint32_t pid,
                        struct workload_id *out) {
  struct workload_id scratch;
  if (out == NULL)
    out = &scratch;
  set_system(out, "", 0);
  if (proc_root == NULL)
    proc_root = "/proc";

  char file[CGROUP_PATH_LEN];
  int w = snprintf(file, sizeof(file), "%s/%" PRIu32 "/cgroup", proc_root, pid);
  if (w < 0 || (size_t)w >= sizeof(file))
    return -1;

  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;

  char buf[PROC_CGROUP_MAX + 1];
  size_t len = 0;
  while (len < PROC_CGROUP_MAX) {
    ssize_t k = read(fd, buf + len, PROC_CGROUP_MAX - len);
    if (k < 0 && errno == EINTR)
      continue;
    if (k < 0) {
      /* ESRCH: the process exited between open and read. */
      close(fd);
      return -1;
    }
    if (k == 0)
      break;
    len += (size_t)k;
  }
  close(fd);
  buf[len] = '\0';
  return cgroup_identify_proc_text(buf, out);
}
