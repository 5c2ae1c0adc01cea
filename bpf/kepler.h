/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
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

/* Event counts kept per task (task local storage). */
enum kepler_count {
  KEPLER_COUNT_CYCLES,
  KEPLER_COUNT_INSTRUCTIONS,
  KEPLER_COUNT_CACHE_MISSES,
  KEPLER_COUNT_NET_TX,
  KEPLER_COUNT_NET_RX,
  KEPLER_COUNT_BLOCK,
  KEPLER_COUNT_PAGE_CACHE_HIT,
  KEPLER_COUNT_MAX,
};
#define KEPLER_HW_COUNTERS 3 /* the first three counts: perf events */

/* A process is its thread-group id plus the group leader's start time
 * (CLOCK_MONOTONIC ns): a reused pid is a different key, so it can never
 * inherit another process's counters or labels. */
struct proc_key {
  __u32 tgid;
  __u32 pad;
  __u64 start_ns;
};

enum record_flags {
  RECORD_KTHREAD = 1 << 0, /* kernel thread: reported in the `kernel` bucket */
  RECORD_EXITED = 1 << 1,  /* the process's final record: it is gone */
};

/* What one task added to its process since the task's last record: the
 * iterator writes one per task that moved, the exit path one per process
 * (RECORD_EXITED) with everything not reported before. Amounts are deltas,
 * so user space only adds them up: a process's records sum to its CPU time
 * and events, each counted once. */
struct task_record {
  struct proc_key key;
  __u64 cgroup_id; /* the group leader's cgroup v2 id */
  __u64 cpu_ns;
  __u64 count[KEPLER_COUNT_MAX];
  __u32 flags;
  char comm[KEPLER_COMM_LEN]; /* the group leader's */
  __u32 pad;
};

/* Per-CPU self-monitoring counters (index into the `kepler_errors` array). */
enum kepler_error {
  KEPLER_ERR_EXIT_DROPPED, /* an exit record found the ring buffer full */
  KEPLER_ERR_HW_READ,      /* bpf_perf_event_read_value failed */
  KEPLER_ERR_NO_STORAGE,   /* task storage could not be created */
  KEPLER_ERR_MAX,
};

#endif /* KEPLER_H */
