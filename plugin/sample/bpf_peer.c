// SPDX-License-Identifier: GPL-2.0-only
#include "bpf_peer.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file_read.h"
#include "log.h"
#include "outside_text.h"

/* kepler_thread_exit as the kernel keeps it (BPF_OBJ_NAME_LEN - 1 bytes):
 * every copy loads it, whatever its options. */
#define PEER_PROG_NAME "kepler_thread_e"

/* The start of a small /proc file (one read: the kernel fills it at
 * once), NUL-terminated; false when it cannot be read. */
static bool read_start(const char *path, char *buf, size_t size) {
  int fd = file_open_regular(path);
  if (fd < 0)
    return false;
  ssize_t n = read(fd, buf, size - 1);
  close(fd);
  if (n <= 0)
    return false;
  buf[n] = '\0';
  return true;
}

static bool is_pid(const char *s) {
  return *s && strspn(s, "0123456789") == strlen(s);
}

/* Whether <proc_root>/<pid>/fdinfo has an fd on program prog_id (a link's
 * fdinfo names its program too). */
static bool holds_prog(const char *proc_root, const char *pid,
                       unsigned prog_id) {
  char dir[4096 + 300];
  snprintf(dir, sizeof(dir), "%s/%s/fdinfo", proc_root, pid);
  DIR *d = opendir(dir);
  if (!d)
    return false;
  char want[32];
  snprintf(want, sizeof(want), "prog_id:\t%u\n", prog_id);
  bool found = false;
  for (struct dirent *e; !found && (e = readdir(d));) {
    if (!is_pid(e->d_name))
      continue;
    char path[sizeof(dir) + 256 + 2], text[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    found = read_start(path, text, sizeof(text)) && strstr(text, want);
  }
  closedir(d);
  return found;
}

/* The process under proc_root holding prog_id, other than us. */
static void find_holder(const char *proc_root, unsigned prog_id,
                        struct bpf_peer *peer) {
  DIR *d = opendir(proc_root);
  if (!d)
    return;
  char self[32];
  snprintf(self, sizeof(self), "%d", (int)getpid());
  for (struct dirent *e; (e = readdir(d));) {
    if (!is_pid(e->d_name) || strcmp(e->d_name, self) == 0 ||
        !holds_prog(proc_root, e->d_name, prog_id))
      continue;
    peer->pid = (pid_t)atoi(e->d_name);
    char path[4096 + 300];
    snprintf(path, sizeof(path), "%s/%s/comm", proc_root, e->d_name);
    if (read_start(path, peer->comm, sizeof(peer->comm)))
      peer->comm[strcspn(peer->comm, "\n")] = '\0';
    break;
  }
  closedir(d);
}

int bpf_peer_find(const char *proc_root, struct bpf_peer *peer) {
  *peer = (struct bpf_peer){0};
  int copies = 0;
  unsigned first = 0;
  for (__u32 id = 0; bpf_prog_get_next_id(id, &id) == 0;) {
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0)
      continue; /* unloaded meanwhile */
    struct bpf_prog_info info = {0};
    __u32 len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
        strcmp(info.name, PEER_PROG_NAME) == 0 && copies++ == 0)
      first = id;
    close(fd);
  }
  if (copies)
    find_holder(proc_root, first, peer);
  return copies;
}

void bpf_peer_warn(const char *proc_root) {
  struct bpf_peer peer;
  int copies = bpf_peer_find(proc_root ? proc_root : "/proc", &peer);
  if (copies == 0)
    return;
  char holder[96] = "held by no process under ProcRoot";
  if (peer.pid) {
    char comm[64];
    snprintf(holder, sizeof(holder), "pid %d, %s", (int)peer.pid,
             OUTSIDE_STR(comm, peer.comm));
  }
  kepler_log(KLOG_WARNING,
             "kepler: another collectd-kepler instance runs on this host "
             "(%s%s): both dispatch the same series unless their Hostname "
             "differs",
             holder, copies > 1 ? ", and more" : "");
}
