// SPDX-License-Identifier: GPL-2.0-only
/* Workload identity from cgroup paths: plain string code over bounded spans,
 * so a path is never copied or modified while it is being classified.
 *
 * Path shapes, by who creates them:
 *   container runtimes  docker-<id>.scope, /docker/<id>, cri-containerd-<id>
 *                       .scope, <slice>:cri-containerd:<id>, crio-<id>.scope,
 *                       /crio/<id>, libpod-<id>.scope, /lxc.payload.<name>,
 *                       /lxc.payload/<name> (LXC 3), /lxc/<name> (LXC 1-2)
 *   kubelet             systemd: [<root>-]kubepods[-<qos>]-pod<uid_>.slice
 *                       with the UID's dashes as '_' (a '-' would start a
 *                       new slice level); cgroupfs: kubepods[/<qos>]/pod<uid>
 *   systemd             <unit>.service, user-<uid>.slice,
 *                       session-<id>.scope, user@<uid>.service
 *   libvirt             machine-qemu\x2d<n>\x2d<name>.scope (machined, name
 *                       escaped by systemd), qemu-<n>-<name>.libvirt-qemu
 *                       (cgroupfs), <name>.libvirt-qemu (before libvirt 4) */
#include "cgroup_identity.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "file_read.h"

/* A /proc/PID/cgroup file is a few hundred bytes even with a dozen v1
 * hierarchies; reading more than this would only buy garbage. */
#define PROC_CGROUP_MAX (16 * 1024)

/* The kernel appends this to the v2 path of a process whose cgroup has been
 * removed (a zombie); the container is still the one named before it. */
#define DELETED_SUFFIX " (deleted)"

/* A bounded, not NUL-terminated piece of a path. */
struct span {
  const char *s;
  size_t n;
};

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

/* The kubelet's QoS slices and directories (pkg/kubelet/cm/qos_container_
 * manager_linux.go); guaranteed pods sit directly under kubepods. */
static const struct {
  const char *slice_suffix; /* systemd: what precedes "-pod<uid>" */
  const char *dir;          /* cgroupfs: the pod directory's parent */
  enum pod_qos qos;
} qos_levels[] = {
    {"kubepods", "kubepods", POD_QOS_GUARANTEED},
    {"kubepods-burstable", "burstable", POD_QOS_BURSTABLE},
    {"kubepods-besteffort", "besteffort", POD_QOS_BESTEFFORT},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

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

static char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int is_hex_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  return lower(c) - 'a' + 10;
}

static int is_digit(char c) {
  return c >= '0' && c <= '9';
}

static int is_id(const char *s, size_t n) {
  if (n != WORKLOAD_ID_LEN)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!is_hex_char(s[i]))
      return 0;
  return 1;
}

static int span_eq(struct span a, const char *lit) {
  return strlen(lit) == a.n && memcmp(a.s, lit, a.n) == 0;
}

static int span_starts_with(struct span a, const char *lit) {
  size_t l = strlen(lit);
  return a.n >= l && memcmp(a.s, lit, l) == 0;
}

static int span_ends_with(struct span a, const char *lit) {
  size_t l = strlen(lit);
  return a.n >= l && memcmp(a.s + a.n - l, lit, l) == 0;
}

/* a without its first k and last m characters (the caller checked a.n). */
static struct span span_trim(struct span a, size_t k, size_t m) {
  return (struct span){a.s + k, a.n - k - m};
}

/* Index of the last c in a, or -1. (memrchr would need _GNU_SOURCE.) */
static long last_index(struct span a, char c) {
  size_t n = a.n;
  while (n > 0)
    if (a.s[--n] == c)
      return (long)n;
  return -1;
}

/* Copy a into dst[cap] when it fits with its NUL; returns 0 if it does not
 * (a truncated name could merge two workloads, so it is dropped instead). */
static int span_copy(char *dst, size_t cap, struct span a) {
  if (a.n == 0 || a.n >= cap)
    return 0;
  memcpy(dst, a.s, a.n);
  dst[a.n] = '\0';
  return 1;
}

/* Parse a.n decimal digits as a uint32. */
static int parse_u32(struct span a, uint32_t *v) {
  if (a.n == 0 || a.n > 10)
    return 0;
  uint64_t x = 0;
  for (size_t i = 0; i < a.n; i++) {
    if (!is_digit(a.s[i]))
      return 0;
    x = x * 10 + (uint64_t)(a.s[i] - '0');
  }
  if (x > UINT32_MAX)
    return 0;
  *v = (uint32_t)x;
  return 1;
}

static enum container_runtime runtime_by_name(struct span a) {
  for (size_t i = 0; i < ARRAY_LEN(prefixes); i++)
    if (span_eq(a, prefixes[i].name))
      return prefixes[i].runtime;
  return RUNTIME_NONE;
}

/* LXC names its container's cgroup "lxc.payload.<name>" since LXC 4
 * (DEFAULT_PAYLOAD_CGROUP_PREFIX in src/lxc/cgroups/cgroup.h),
 * "lxc.payload/<name>" in LXC 3 and "lxc/<name>" before; the monitor's
 * "lxc.monitor.<name>" is the runtime's own work. */
static int match_lxc(struct span e, struct span p, struct span *name) {
  if (span_starts_with(e, "lxc.payload."))
    *name = span_trim(e, strlen("lxc.payload."), 0);
  else if (span_eq(p, "lxc.payload") || span_eq(p, "lxc"))
    *name = e;
  else
    return 0;
  return name->n > 0 && name->n <= WORKLOAD_ID_LEN;
}

/* Classify one path element e whose parent element is p. Returns the
 * runtime and sets *id, or RUNTIME_NONE. */
static enum container_runtime match_container(struct span e, struct span p,
                                              struct span *id) {
  if (match_lxc(e, p, id))
    return RUNTIME_LXC;

  /* A bare id is what cgroupfs drivers create. The parent tells docker
   * ("/docker/<id>") and cri-o ("/crio/<id>") apart; every other bare id is
   * reported as containerd: it is what containerd creates for
   * "/<namespace>/<id>" (ctr, nerdctl) and for the kubelet's cgroupfs layout
   * "/kubepods/<qos>/pod<uid>/<id>". Docker used that kubepods layout only
   * through dockershim, which Kubernetes removed in 1.24. */
  if (is_id(e.s, e.n)) {
    *id = e;
    if (span_eq(p, "docker"))
      return RUNTIME_DOCKER;
    if (span_eq(p, "crio"))
      return RUNTIME_CRIO;
    return RUNTIME_CONTAINERD;
  }

  /* "<slice>:<name>:<id>": the systemd-style cgroupsPath that containerd
   * passes to runc, which shows up verbatim as a path element when the
   * runtime uses cgroupfs (seen on RHEL-family nodes). */
  long c2 = last_index(e, ':');
  if (c2 >= 0 && is_id(e.s + c2 + 1, e.n - (size_t)c2 - 1)) {
    long c1 = last_index((struct span){e.s, (size_t)c2}, ':');
    if (c1 >= 0) {
      enum container_runtime r =
          runtime_by_name((struct span){e.s + c1 + 1, (size_t)(c2 - c1 - 1)});
      if (r != RUNTIME_NONE) {
        *id = (struct span){e.s + c2 + 1, WORKLOAD_ID_LEN};
        return r;
      }
    }
  }

  /* "<name>-<id>.scope" (systemd driver) or "<name>-<id>" (cgroupfs driver
   * of cri-o and podman). */
  if (span_ends_with(e, ".scope"))
    e.n -= strlen(".scope");
  if (e.n < WORKLOAD_ID_LEN + 2 || e.s[e.n - WORKLOAD_ID_LEN - 1] != '-' ||
      !is_id(e.s + e.n - WORKLOAD_ID_LEN, WORKLOAD_ID_LEN))
    return RUNTIME_NONE;
  enum container_runtime r =
      runtime_by_name((struct span){e.s, e.n - WORKLOAD_ID_LEN - 1});
  if (r != RUNTIME_NONE)
    *id = (struct span){e.s + e.n - WORKLOAD_ID_LEN, WORKLOAD_ID_LEN};
  return r;
}

/* The element before the one starting at start (which follows a '/'). */
static struct span parent_of(const char *path, size_t start) {
  size_t pend = start > 0 ? start - 1 : 0;
  while (pend > 0 && path[pend - 1] == '/')
    pend--;
  size_t pstart = pend;
  while (pstart > 0 && path[pstart - 1] != '/')
    pstart--;
  return (struct span){path + pstart, pend - pstart};
}

/* Find the innermost container element of path[0..n), scanning from the
 * deepest element upwards so a sub-cgroup below the container scope
 * (podman's ".../libpod-<id>.scope/container") still finds it, and nested
 * containers (docker-in-docker, a kind node's pods) report the innermost.
 * Returns the element's offset, or n when there is none. */
static size_t find_container(const char *path, size_t n,
                             struct workload_id *out) {
  size_t end = n;
  while (end > 0) {
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
      start--;
    struct span id;
    enum container_runtime r = RUNTIME_NONE;
    if (start < end)
      r = match_container((struct span){path + start, end - start},
                          parent_of(path, start), &id);
    if (r != RUNTIME_NONE) {
      out->kind = WORKLOAD_CONTAINER;
      out->runtime = r;
      /* Hex ids are reported lower-case; an LXC name as it is. */
      for (size_t i = 0; i < id.n; i++)
        out->id[i] = r == RUNTIME_LXC ? id.s[i] : lower(id.s[i]);
      out->id[id.n] = '\0';
      return start;
    }
    end = start > 0 ? start - 1 : 0;
  }
  return n;
}

/* A pod UID: a UUID whose four separators are sep, or the 32 hex digits the
 * kubelet gives a static pod (a hash of its manifest). Copied with dashes. */
static int copy_pod_uid(struct span u, char sep, struct workload_id *out) {
  if (u.n != 32 && u.n != POD_UID_LEN)
    return 0;
  for (size_t i = 0; i < u.n; i++) {
    int dash = u.n == POD_UID_LEN && (i == 8 || i == 13 || i == 18 || i == 23);
    if (dash ? u.s[i] != sep : !is_hex_char(u.s[i]))
      return 0;
  }
  for (size_t i = 0; i < u.n; i++)
    out->pod_uid[i] = u.s[i] == sep ? '-' : lower(u.s[i]);
  out->pod_uid[u.n] = '\0';
  return 1;
}

/* a is s, or ends with "-" s: a whole slice level of a systemd name. */
static int span_is_level(struct span a, const char *s) {
  size_t l = strlen(s);
  return span_eq(a, s) ||
         (a.n > l && span_ends_with(a, s) && a.s[a.n - l - 1] == '-');
}

/* "[<root>-]kubepods[-<qos>]-pod<uid_>.slice", optionally followed by
 * ":<runtime>:<id>" when it is the verbatim cgroupsPath; the optional root
 * is the kubelet's --cgroup-root ("kubelet" in kind). */
static int match_pod_systemd(struct span e, struct workload_id *out) {
  long colon = -1;
  for (size_t i = 0; i < e.n && colon < 0; i++)
    if (e.s[i] == ':')
      colon = (long)i;
  if (colon >= 0)
    e.n = (size_t)colon;
  if (!span_ends_with(e, ".slice"))
    return 0;
  e = span_trim(e, 0, strlen(".slice"));
  long dash = last_index(e, '-');
  if (dash < 0)
    return 0;
  struct span qos = {e.s, (size_t)dash};
  struct span pod = span_trim(e, (size_t)dash + 1, 0);
  if (!span_starts_with(pod, "pod"))
    return 0;
  for (size_t i = 0; i < ARRAY_LEN(qos_levels); i++)
    if (span_is_level(qos, qos_levels[i].slice_suffix) &&
        copy_pod_uid(span_trim(pod, 3, 0), '_', out)) {
      out->qos = qos_levels[i].qos;
      return 1;
    }
  return 0;
}

/* "kubepods/pod<uid>" or "kubepods/<qos>/pod<uid>". */
static int match_pod_cgroupfs(struct span e, struct span p,
                              struct workload_id *out) {
  if (!span_starts_with(e, "pod"))
    return 0;
  for (size_t i = 0; i < ARRAY_LEN(qos_levels); i++)
    if (span_eq(p, qos_levels[i].dir) &&
        copy_pod_uid(span_trim(e, 3, 0), '-', out)) {
      out->qos = qos_levels[i].qos;
      return 1;
    }
  return 0;
}

/* Undo systemd's unit name escaping ("\x2d" for '-'); 0 on a malformed
 * escape or a result that does not fit dst[cap]. */
static int unescape_unit(struct span a, char *dst, size_t cap, size_t *len) {
  size_t o = 0;
  for (size_t i = 0; i < a.n; i++) {
    char c = a.s[i];
    if (c == '\\') {
      if (i + 3 >= a.n || a.s[i + 1] != 'x' || !is_hex_char(a.s[i + 2]) ||
          !is_hex_char(a.s[i + 3]))
        return 0;
      c = (char)(hex_value(a.s[i + 2]) * 16 + hex_value(a.s[i + 3]));
      if (c == '\0' || c == '/')
        return 0;
      i += 3;
    }
    if (o + 1 >= cap)
      return 0;
    dst[o++] = c;
  }
  *len = o;
  return 1;
}

/* Whether m is libvirt's machine name "qemu-<id>-<name>" (virDomainDriver
 * GenerateMachineName: the id is the running domain's number, the name the
 * domain's, cut to hostname characters and to 64 characters in all); sets
 * *name, which may be empty. */
static int qemu_machine_domain(struct span m, struct span *name) {
  if (!span_starts_with(m, "qemu-"))
    return 0;
  size_t i = strlen("qemu-");
  size_t digits = i;
  while (i < m.n && is_digit(m.s[i]))
    i++;
  if (i == digits || i >= m.n || m.s[i] != '-')
    return 0;
  *name = span_trim(m, i + 1, 0);
  return 1;
}

static int match_vm(struct span e, struct workload_id *out) {
  struct span name;
  if (span_starts_with(e, "machine-") && span_ends_with(e, ".scope")) {
    char buf[UNIT_NAME_LEN];
    size_t n;
    return unescape_unit(span_trim(e, strlen("machine-"), strlen(".scope")),
                         buf, sizeof(buf), &n) &&
           qemu_machine_domain((struct span){buf, n}, &name) &&
           span_copy(out->vm, sizeof(out->vm), name);
  }
  if (span_ends_with(e, ".libvirt-qemu")) {
    /* Before libvirt 4 the directory was just "<domain>.libvirt-qemu". */
    struct span m = span_trim(e, 0, strlen(".libvirt-qemu"));
    if (!qemu_machine_domain(m, &name))
      name = m;
    return span_copy(out->vm, sizeof(out->vm), name);
  }
  return 0;
}

/* "user-<uid>.slice" under "user.slice" (logind's per-user slice). */
static int match_user(struct span e, struct span p, struct workload_id *out) {
  if (!span_eq(p, "user.slice") || !span_starts_with(e, "user-") ||
      !span_ends_with(e, ".slice") || e.n <= strlen("user-.slice"))
    return 0;
  if (!parse_u32(span_trim(e, strlen("user-"), strlen(".slice")),
                 &out->user_uid))
    return 0;
  out->has_user = true;
  return 1;
}

/* "session-<id>.scope" directly in the user's slice found above. */
static int match_session(struct span e, struct span p,
                         struct workload_id *out) {
  if (!out->has_user || !span_starts_with(p, "user-") ||
      !span_ends_with(p, ".slice") || !span_starts_with(e, "session-") ||
      !span_ends_with(e, ".scope"))
    return 0;
  return span_copy(out->session, sizeof(out->session),
                   span_trim(e, strlen("session-"), strlen(".scope")));
}

/* Fill the non-container levels from the elements of path[0..n). The
 * outermost service wins (for "user@1000.service/app.slice/x.service" that
 * is the user's manager), the innermost pod. */
static void scan_levels(const char *path, size_t n, struct workload_id *out) {
  struct span p = {path, 0};
  size_t i = 0;
  while (i < n) {
    while (i < n && path[i] == '/')
      i++;
    size_t start = i;
    while (i < n && path[i] != '/')
      i++;
    if (i == start)
      break;
    struct span e = {path + start, i - start};
    if (!match_pod_systemd(e, out) && !match_pod_cgroupfs(e, p, out) &&
        !match_vm(e, out) && !match_user(e, p, out) &&
        !match_session(e, p, out) && out->service[0] == '\0' &&
        span_ends_with(e, ".service") && e.n > strlen(".service"))
      span_copy(out->service, sizeof(out->service), e);
    p = e;
  }
}

/* Classify path[0..n), which need not be NUL-terminated (a line of a
 * /proc/PID/cgroup text). */
static int identify_span(const char *path, size_t n, struct workload_id *out) {
  struct span whole = {path, n};
  if (span_ends_with(whole, DELETED_SUFFIX))
    n -= strlen(DELETED_SUFFIX);
  memset(out, 0, sizeof(*out));
  size_t m = n < CGROUP_PATH_LEN - 1 ? n : CGROUP_PATH_LEN - 1;
  memcpy(out->cgroup_path, path, m);
  out->kind = WORKLOAD_SYSTEM;

  size_t c = find_container(path, n, out);
  scan_levels(path, c, out);
  if (c == n)
    return 0;
  /* The verbatim "<pod slice>:<runtime>:<id>" element names the pod too. */
  size_t ce = c;
  while (ce < n && path[ce] != '/')
    ce++;
  match_pod_systemd((struct span){path + c, ce - c}, out);
  return 1;
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

/* One "hierarchy-id:controllers:path" line. */
struct cgroup_line {
  struct span path;
  int is_v2;      /* the unified hierarchy, always "0::" */
  int is_systemd; /* systemd's own v1 hierarchy, "name=systemd" */
};

/* Split a line on its first two colons only, since the path itself may
 * contain ':'. Returns 0 for a line that is not of that shape (garbage is
 * skipped, not fatal). */
static int parse_line(const char *s, size_t n, struct cgroup_line *l) {
  size_t c1 = 0;
  while (c1 < n && is_digit(s[c1]))
    c1++;
  if (c1 == 0 || c1 >= n || s[c1] != ':')
    return 0;
  size_t c2 = c1 + 1;
  while (c2 < n && s[c2] != ':')
    c2++;
  if (c2 >= n || c2 + 1 >= n || s[c2 + 1] != '/')
    return 0;
  l->path = (struct span){s + c2 + 1, n - c2 - 1};
  l->is_v2 = c1 == 1 && s[0] == '0' && c2 == c1 + 1;
  l->is_systemd =
      span_eq((struct span){s + c1 + 1, c2 - c1 - 1}, "name=systemd");
  return 1;
}

int cgroup_identify_proc_text(const char *text, struct workload_id *out) {
  struct workload_id scratch;
  if (out == NULL)
    out = &scratch;
  if (text == NULL)
    text = "";

  struct span first = {NULL, 0}, v2 = {NULL, 0}, systemd = {NULL, 0};
  const char *cursor = text, *line;
  size_t len;
  struct cgroup_line l;

  while (next_line(&cursor, &line, &len)) {
    if (!parse_line(line, len, &l))
      continue;
    if (first.s == NULL)
      first = l.path;
    if (l.is_v2 && v2.s == NULL)
      v2 = l.path;
    if (l.is_systemd && systemd.s == NULL)
      systemd = l.path;
  }

  /* On hybrid hosts the v2 line is often just "0::/" while the v1 lines hold
   * the container, so the v2 line wins only when it names a container. */
  if (v2.s != NULL && identify_span(v2.s, v2.n, out))
    return 1;

  cursor = text;
  while (next_line(&cursor, &line, &len)) {
    if (!parse_line(line, len, &l) || l.is_v2)
      continue;
    if (identify_span(l.path.s, l.path.n, out))
      return 1;
  }

  /* No container: systemd's hierarchy holds the services and sessions; on
   * v1 the controller hierarchies may stop at "/" or a slice. */
  struct span pick = first;
  if (v2.s != NULL && !(span_eq(v2, "/") && systemd.s != NULL))
    pick = v2;
  else if (systemd.s != NULL)
    pick = systemd;
  if (pick.s == NULL)
    pick = (struct span){"", 0};
  return identify_span(pick.s, pick.n, out);
}

int cgroup_identify_pid(const char *proc_root, uint32_t pid,
                        struct workload_id *out) {
  struct workload_id scratch;
  if (out == NULL)
    out = &scratch;
  identify_span("", 0, out);
  if (proc_root == NULL)
    proc_root = "/proc";

  char file[CGROUP_PATH_LEN];
  int w = snprintf(file, sizeof(file), "%s/%" PRIu32 "/cgroup", proc_root, pid);
  if (w < 0 || (size_t)w >= sizeof(file))
    return -1;

  int fd = file_open_regular(file);
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
