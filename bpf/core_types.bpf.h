/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
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

/* include/linux/sched.h, stable since 2.6. PF_EXITING: in do_exit(), set
 * before sched_process_exit. EXIT_DEAD: being released, the last state a
 * task has. */
#define PF_EXITING 0x00000004
#define PF_KTHREAD 0x00200000
#define EXIT_DEAD 0x00000010

typedef struct {
  int counter;
} atomic_t;

struct signal_struct {
  atomic_t live; /* threads alive; 0 once the last one is in do_exit() */
  /* Runtime of the group's released threads, added at each release. */
  __u64 sum_sched_runtime;
} __attribute__((preserve_access_index));

struct sched_entity {
  /* ns on CPU, updated at every tick and switch of the task */
  __u64 sum_exec_runtime;
} __attribute__((preserve_access_index));

struct kernfs_node {
  __u64 id; /* a cgroup's id (bpf_get_current_cgroup_id), u64 since 5.5 */
} __attribute__((preserve_access_index));

struct cgroup {
  struct kernfs_node *kn;
} __attribute__((preserve_access_index));

struct css_set {
  struct cgroup *dfl_cgrp; /* the task's cgroup in the v2 hierarchy */
} __attribute__((preserve_access_index));

struct task_struct {
  unsigned int flags;
  int exit_state;
  struct sched_entity se;
  int pid;
  int tgid;
  __u64 start_time; /* CLOCK_MONOTONIC ns */
  struct task_struct *group_leader;
  struct signal_struct *signal;
  struct css_set *cgroups;
  char comm[16];
} __attribute__((preserve_access_index));

struct seq_file;

struct bpf_iter_meta {
  struct seq_file *seq;
} __attribute__((preserve_access_index));

struct bpf_iter__task {
  struct bpf_iter_meta *meta;
  struct task_struct *task;
} __attribute__((preserve_access_index));

#endif
