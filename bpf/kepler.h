/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Structures shared by kepler.bpf.c and its user side (plugin/bpf_sampler.c).
 * Keep this header free of kernel and libc includes: the BPF side includes it
 * after its own CO-RE definitions, user space after <stdint.h>-based typedefs
 * from <linux/types.h>. */
#ifndef KEPLER_H
#define KEPLER_H

#define KEPLER_COMM_LEN 16

/* Softirq vectors the power models use (include/linux/interrupt.h). */
#define KEPLER_SOFTIRQ_NET_TX 2
#define KEPLER_SOFTIRQ_NET_RX 3
#define KEPLER_SOFTIRQ_BLOCK 4

enum kepler_hw_counter {
  KEPLER_HW_CYCLES,
  KEPLER_HW_INSTRUCTIONS,
  KEPLER_HW_CACHE_MISSES,
  KEPLER_HW_MAX,
};

enum kepler_softirq {
  KEPLER_IRQ_NET_TX,
  KEPLER_IRQ_NET_RX,
  KEPLER_IRQ_BLOCK,
  KEPLER_IRQ_MAX,
};

/* A process is its thread-group id plus the group leader's start time
 * (CLOCK_MONOTONIC ns): a reused pid is a different key, so it can never
 * inherit another process's counters or labels. */
struct proc_key {
  __u32 tgid;
  __u32 pad;
  __u64 start_ns;
};

enum proc_flags {
  PROC_KTHREAD = 1 << 0, /* kernel thread: reported in the `kernel` bucket */
  PROC_EXITED = 1 << 1,  /* the last thread exited; user space reaps it */
};

/* Cumulative counters since the process was first seen. Never reset by the
 * BPF side: user space takes deltas, so no slice is lost between samples. */
struct proc_stats {
  __u64 cpu_ns;
  __u64 hw[KEPLER_HW_MAX]; /* multiplexing-corrected */
  __u64 softirq[KEPLER_IRQ_MAX];
  __u64 page_cache_hit;
  __u64 cgroup_id; /* cgroup v2 id */
  __u32 flags;
  __u32 pad;
  char comm[KEPLER_COMM_LEN];
};

/* Per-CPU scheduler state: who was switched in last, and that task's
 * scheduler runtime then, so the slice it ran is known at its switch-out
 * without a clock read or a per-task hash lookup. And the slices of one
 * process not yet added to its map entry: a CPU that alternates between a
 * process and idle, or between threads of one process, touches no map.
 *
 * User space copies this while sched_switch writes it. The program bumps
 * seq_begin before it writes anything and sets seq_end = seq_begin after;
 * the kernel copies a per-CPU value in ascending 8-byte words, so seq_end
 * comes first and seq_begin last: a copy with seq_end == seq_begin saw no
 * write start before its end nor still running at its start. (The other
 * order misses a write that starts after the first word is copied and ends
 * after the last.) Store order relies on x86 TSO; the BPF side only keeps
 * the compiler from reordering. */
struct cpu_state {
  __u64 seq_end;       /* copied first */
  struct proc_key cur; /* process switched in last; tgid 0: idle */
  __u32 cur_tid;
  __u32 pend_misses;    /* other processes switched out since pend last */
  __u64 cur_runtime;    /* its se.sum_exec_runtime at switch-in (ns) */
  struct proc_key pend; /* process of the pending slices; tgid 0: none */
  __u64 pend_ns;
  __u64 pend_hw[KEPLER_HW_MAX];
  __u64 hw_value[KEPLER_HW_MAX];
  __u64 hw_enabled[KEPLER_HW_MAX];
  __u64 hw_running[KEPLER_HW_MAX];
  __u64 seq_begin; /* copied last */
};

/* Per-CPU self-monitoring counters (index into the `kepler_errors` array). */
enum kepler_error {
  KEPLER_ERR_MAP_FULL, /* a new process could not be tracked */
  KEPLER_ERR_HW_READ,  /* bpf_perf_event_read_value failed */
  KEPLER_ERR_MAX,
};

#endif /* KEPLER_H */
