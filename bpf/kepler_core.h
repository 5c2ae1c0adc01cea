/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The few kernel types kepler.bpf.c touches, as CO-RE definitions.
 *
 * Why not a generated vmlinux.h: it is megabytes, ties the build to the build
 * host's running kernel (distro build daemons often have no
 * /sys/kernel/btf/vmlinux), and we read a handful of fields.
 * preserve_access_index makes libbpf relocate every access against the running
 * kernel's BTF at load time, so field offsets here do not matter, only names
 * and types. */
#ifndef KEPLER_CORE_H
#define KEPLER_CORE_H

#define PF_KTHREAD 0x00200000 /* include/linux/sched.h, stable since 2.6 */

typedef struct {
  int counter;
} atomic_t;

struct signal_struct {
  atomic_t live; /* threads alive; 0 once the last one is in do_exit() */
} __attribute__((preserve_access_index));

struct sched_entity {
  __u64 sum_exec_runtime; /* ns on CPU, updated before sched_switch fires */
} __attribute__((preserve_access_index));

struct task_struct {
  unsigned int flags;
  struct sched_entity se;
  int pid;
  int tgid;
  __u64 start_time; /* CLOCK_MONOTONIC ns */
  struct task_struct *group_leader;
  struct signal_struct *signal;
  char comm[16];
} __attribute__((preserve_access_index));

struct kernfs_node {
  __u64 id; /* a cgroup's id (bpf_get_current_cgroup_id), u64 since 5.5 */
} __attribute__((preserve_access_index));

struct cgroup_root {
  int hierarchy_id; /* 0: the cgroup v2 (default) hierarchy */
} __attribute__((preserve_access_index));

struct cgroup {
  struct kernfs_node *kn;
  struct cgroup_root *root;
} __attribute__((preserve_access_index));

#endif
