// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* In-kernel accounting for collectd-kepler.
 *
 * Per process (thread group) the programs keep cumulative counters: on-CPU
 * time, hardware counters, softirqs, page cache hits. User space reads the
 * map each interval and takes deltas; nothing is ever drained, so no slice is
 * lost between samples. A slice is the scheduler's own runtime of the task
 * since it was switched in on this CPU (per-CPU state): no clock read, which
 * costs more than the rest of the program in VMs. A CPU adds up the slices of
 * one process in its state and touches the map only when another process
 * runs there: a hash lookup costs more than the rest of sched_switch, and
 * most switches are between a process and idle or within one process. User
 * space adds what the CPUs hold pending to the counters it reads. */
#include <linux/types.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kepler_core.h"
#include "kepler.h"

#define E2BIG 7

/* Switch-outs of other processes on a CPU before its pending process is
 * flushed and replaced: enough to keep a process that alternates with a
 * few others pending, few enough that a process gone from the CPU leaves
 * soon. */
#define PEND_MISSES 8

/* Keeps clang from moving stores across it (struct cpu_state's seq). */
#define barrier() asm volatile("" ::: "memory")

/* Set by user space before load. */
const volatile bool hw_counters = false;

/* Preallocated: an allocation inside sched_switch, under the runqueue lock,
 * can deadlock before Linux 6.1's BPF allocator, and costs time on the hot
 * path anyway. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 32768); /* MaxProcesses */
  __type(key, struct proc_key);
  __type(value, struct proc_stats);
} processes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_state);
} cpu_states SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, KEPLER_ERR_MAX);
  __type(key, __u32);
  __type(value, __u64);
} kepler_errors SEC(".maps");

/* One perf event per CPU for each hardware counter (filled by user space). */
#define HW_EVENT_MAP(name)                                                     \
  struct {                                                                     \
    __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);                               \
    __uint(key_size, sizeof(__u32));                                           \
    __uint(value_size, sizeof(__u32));                                         \
  } name SEC(".maps")
HW_EVENT_MAP(hw_cycles);
HW_EVENT_MAP(hw_instructions);
HW_EVENT_MAP(hw_cache_misses);

static __always_inline void count_error(__u32 which) {
  __u64 *n = bpf_map_lookup_elem(&kepler_errors, &which);
  if (n)
    (*n)++;
}

static __always_inline void key_of(struct task_struct *task,
                                   struct proc_key *key) {
  key->tgid = task->tgid;
  key->pad = 0;
  key->start_ns = task->group_leader->start_time;
}

/* The task's process entry, created on first sight. A new entry takes
 * cgroup_id, or with 0 the cgroup of `current`, which task then must be. */
static __always_inline struct proc_stats *process_of(struct task_struct *task,
                                                     const struct proc_key *key,
                                                     __u64 cgroup_id) {
  struct proc_stats *st = bpf_map_lookup_elem(&processes, key);
  if (st)
    return st;

  struct proc_stats init = {};
  struct task_struct *leader = task->group_leader;
  if (task->flags & PF_KTHREAD)
    init.flags |= PROC_KTHREAD;
  bpf_probe_read_kernel_str(init.comm, sizeof(init.comm), leader->comm);
  /* Read once here; kepler_cgroup_attach follows moves. */
  init.cgroup_id = cgroup_id ? cgroup_id : bpf_get_current_cgroup_id();
  long err = bpf_map_update_elem(&processes, key, &init, BPF_NOEXIST);
  if (err == -E2BIG) {
    count_error(KEPLER_ERR_MAP_FULL);
    return NULL;
  }
  st = bpf_map_lookup_elem(&processes, key);
  /* A process whose first switch-out is its last one: its exit hook may
   * have run before the entry existed. Checked after the insert, so a last
   * thread exiting on another CPU meanwhile is seen by one of the two. */
  if (st && task->signal->live.counter == 0)
    st->flags |= PROC_EXITED;
  return st;
}

/* Counter increase on this CPU since the last switch, scaled by
 * enabled/running when the PMU multiplexes the event. */
static __always_inline __u64 hw_delta(void *map, struct cpu_state *cs, int i) {
  struct bpf_perf_event_value v;
  if (bpf_perf_event_read_value(map, BPF_F_CURRENT_CPU, &v, sizeof(v))) {
    count_error(KEPLER_ERR_HW_READ);
    return 0;
  }
  __u64 delta = v.counter - cs->hw_value[i];
  __u64 enabled = v.enabled - cs->hw_enabled[i];
  __u64 running = v.running - cs->hw_running[i];
  bool first = cs->hw_enabled[i] == 0;
  cs->hw_value[i] = v.counter;
  cs->hw_enabled[i] = v.enabled;
  cs->hw_running[i] = v.running;
  if (first || running == 0)
    return 0;
  if (enabled != running) { /* scale by enabled/running, 16.16 fixed point */
    __u64 ratio = (enabled << 16) / running;
    delta = (delta >> 16) * ratio + (((delta & 0xffff) * ratio) >> 16);
  }
  return delta;
}

/* Adds CPU time and hardware counts to a process's entry. */
static __always_inline void charge(struct proc_stats *st, __u64 ns,
                                   const __u64 *hw) {
  __sync_fetch_and_add(&st->cpu_ns, ns);
  if (hw_counters) {
    __sync_fetch_and_add(&st->hw[KEPLER_HW_CYCLES], hw[KEPLER_HW_CYCLES]);
    __sync_fetch_and_add(&st->hw[KEPLER_HW_INSTRUCTIONS],
                         hw[KEPLER_HW_INSTRUCTIONS]);
    __sync_fetch_and_add(&st->hw[KEPLER_HW_CACHE_MISSES],
                         hw[KEPLER_HW_CACHE_MISSES]);
  }
}

/* Adds the CPU's pending slices to their process's entry. No entry: user
 * space reaped it, after counting what was pending then. */
static __always_inline void flush_pending(struct cpu_state *cs) {
  if (cs->pend.tgid == 0)
    return;
  struct proc_stats *st = bpf_map_lookup_elem(&processes, &cs->pend);
  if (st)
    charge(st, cs->pend_ns, cs->pend_hw);
}

SEC("tp_btf/sched_switch")
int BPF_PROG(kepler_sched_switch, bool preempt, struct task_struct *prev,
             struct task_struct *next) {
  __u32 zero = 0;
  struct cpu_state *cs = bpf_map_lookup_elem(&cpu_states, &zero);
  if (!cs)
    return 0;
  cs->seq_begin++;
  barrier();

  __u64 hw[KEPLER_HW_MAX] = {};
  if (hw_counters) {
    hw[KEPLER_HW_CYCLES] = hw_delta(&hw_cycles, cs, KEPLER_HW_CYCLES);
    hw[KEPLER_HW_INSTRUCTIONS] =
        hw_delta(&hw_instructions, cs, KEPLER_HW_INSTRUCTIONS);
    hw[KEPLER_HW_CACHE_MISSES] =
        hw_delta(&hw_cache_misses, cs, KEPLER_HW_CACHE_MISSES);
  }

  int prev_tgid = prev->tgid;
  if (prev_tgid != 0) { /* the idle task is not a process */
    /* prev was `next` at the last switch on this CPU: its key and runtime
     * then are known. Not so only for the first switch after loading. */
    bool known = cs->cur_tid == (__u32)prev->pid;
    struct proc_key key = cs->cur;
    if (!known)
      key_of(prev, &key);
    __u64 runtime = prev->se.sum_exec_runtime;
    __u64 slice =
        known && runtime > cs->cur_runtime ? runtime - cs->cur_runtime : 0;
    if (key.tgid == cs->pend.tgid && key.start_ns == cs->pend.start_ns) {
      cs->pend_ns += slice;
      if (hw_counters) {
        cs->pend_hw[KEPLER_HW_CYCLES] += hw[KEPLER_HW_CYCLES];
        cs->pend_hw[KEPLER_HW_INSTRUCTIONS] += hw[KEPLER_HW_INSTRUCTIONS];
        cs->pend_hw[KEPLER_HW_CACHE_MISSES] += hw[KEPLER_HW_CACHE_MISSES];
      }
      cs->pend_misses = 0;
    } else {
      /* prev is still `current` here, as a new entry needs. */
      struct proc_stats *st = process_of(prev, &key, 0);
      if (cs->pend.tgid != 0 && cs->pend_misses < PEND_MISSES) {
        /* The pending process ran here lately and likely will again (it
         * alternates with prev): keep it pending, charge prev directly.
         * Replacing it would cost a second lookup, to flush it. */
        cs->pend_misses++;
        if (st)
          charge(st, slice, hw);
      } else {
        flush_pending(cs);
        cs->pend_misses = 0;
        /* The entry exists while its slices are pending, so user space
         * sees them. */
        if (st) {
          cs->pend = key;
          cs->pend_ns = slice;
          cs->pend_hw[KEPLER_HW_CYCLES] = hw[KEPLER_HW_CYCLES];
          cs->pend_hw[KEPLER_HW_INSTRUCTIONS] = hw[KEPLER_HW_INSTRUCTIONS];
          cs->pend_hw[KEPLER_HW_CACHE_MISSES] = hw[KEPLER_HW_CACHE_MISSES];
        } else { /* map full: dropped, and the next switch-out retries */
          cs->pend.tgid = 0;
          cs->pend.start_ns = 0;
          cs->pend_ns = 0;
        }
      }
    }
  }

  cs->cur_tid = next->pid;
  cs->cur_runtime = next->se.sum_exec_runtime;
  if (next->tgid == 0) {
    cs->cur.tgid = 0;
    cs->cur.start_ns = 0;
  } else {
    key_of(next, &cs->cur);
  }
  barrier();
  cs->seq_end = cs->seq_begin;
  return 0;
}

/* Only the last thread of a group marks the process as exited; its final
 * switch-out still lands in the entry, which user space reaps later. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(kepler_process_exit, struct task_struct *task) {
  if (task->signal->live.counter != 0)
    return 0;
  struct proc_key key;
  key_of(task, &key);
  struct proc_stats *st = bpf_map_lookup_elem(&processes, &key);
  if (st) /* no other writer of flags once the entry exists */
    st->flags |= PROC_EXITED;
  return 0;
}

/* A task moved to another cgroup (a container runtime places its init this
 * way). Moves in cgroup v1 hierarchies fire this too: only v2 ids count.
 * Created if missing: process_of may be creating the entry on the task's CPU
 * with the cgroup it read before the move, but then one of the two inserts
 * fails, and the write here comes after either. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(kepler_cgroup_attach, struct cgroup *dst_cgrp, const char *path,
             struct task_struct *task) {
  if (dst_cgrp->root->hierarchy_id != 0)
    return 0;
  __u64 id = dst_cgrp->kn->id;
  struct proc_key key;
  key_of(task, &key);
  struct proc_stats *st = process_of(task, &key, id);
  if (st)
    st->cgroup_id = id;
  return 0;
}

/* exec changes the command name; the process (and its key) stays. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(kepler_process_exec, struct task_struct *task) {
  struct proc_key key;
  key_of(task, &key);
  struct proc_stats *st = bpf_map_lookup_elem(&processes, &key);
  if (st) {
    bpf_probe_read_kernel_str(st->comm, sizeof(st->comm), task->comm);
    /* A usermode helper (modprobe...) carries PF_KTHREAD until its exec on
     * kernels before 5.17: it is a process from here on. */
    if (!(task->flags & PF_KTHREAD))
      st->flags &= ~PROC_KTHREAD;
  }
  return 0;
}

static __always_inline struct proc_stats *current_process(void) {
  struct task_struct *task = bpf_get_current_task_btf();
  if (task->tgid == 0)
    return NULL;
  struct proc_key key;
  key_of(task, &key);
  return process_of(task, &key, 0);
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(kepler_softirq_entry, unsigned int vec) {
  int i;
  switch (vec) {
  case KEPLER_SOFTIRQ_NET_TX:
    i = KEPLER_IRQ_NET_TX;
    break;
  case KEPLER_SOFTIRQ_NET_RX:
    i = KEPLER_IRQ_NET_RX;
    break;
  case KEPLER_SOFTIRQ_BLOCK:
    i = KEPLER_IRQ_BLOCK;
    break;
  default:
    return 0;
  }
  struct proc_stats *st = current_process();
  if (st)
    __sync_fetch_and_add(&st->softirq[i], 1);
  return 0;
}

static __always_inline void count_page_cache_hit(void) {
  struct proc_stats *st = current_process();
  if (st)
    __sync_fetch_and_add(&st->page_cache_hit, 1);
}

/* User space retargets this to folio_mark_accessed where that exists. */
SEC("fexit/mark_page_accessed")
int BPF_PROG(kepler_page_accessed) {
  count_page_cache_hit();
  return 0;
}

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(kepler_writeback_dirty) {
  count_page_cache_hit();
  return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
