// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* In-kernel accounting for collectd-kepler, on the kernel's own numbers.
 *
 * The kernel already keeps every task's CPU time exactly: se.sum_exec_runtime
 * for a live task, signal->sum_sched_runtime for the released threads of its
 * group (the numbers /proc reports). A task iterator reads them once per
 * interval, so nothing runs on the context-switch path unless hardware
 * counters need a read at each switch.
 *
 * Each task keeps in its local storage what it has reported; the iterator
 * writes a record only for a task that moved since, with the deltas. A thread
 * that exits hands what it has not reported to its group leader's storage
 * (sched_process_exit), and the group's last thread sends the process's
 * final record through a ring buffer, so the read after an exit has all of
 * the process. What its threads run after their exit hooks reaches
 * signal->sum_sched_runtime at their release; the leader's free
 * (sched_process_free) sends it, if any. */
#include <linux/types.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "core_types.bpf.h"
#include "kepler.h"

/* Set by user space before load: some hook counts events. Without, tasks
 * carry CPU time only and the walk skips the counts. */
const volatile bool counting = false;
/* CLOCK_MONOTONIC ns before the programs were attached (task start times
 * are on the same clock). */
__u64 started_ns = 0;
/* Set by user space for one read: the walk writes a record for every group
 * leader, moved or not, so that processes whose final record was dropped are
 * found gone. */
bool full_walk = false;

/* One task's account. Own amounts are the task's; the group's (leader only)
 * are what its exited threads left. Each *_reported is what the records hold
 * so far. The walk and the exit hooks run on any CPU and claim amounts under
 * the lock: a claim moves *_reported, and a claim whose record could not be
 * written is given back, so no amount is in two records and none is lost.
 * What the walk looks at for every task comes first, in one cache line: a
 * walk of 10 000 sleeping tasks is mostly cache misses. */
struct task_acct {
  struct bpf_spin_lock lock;
  __u32 seen; /* the walk has visited the task */
  /* The account holds its group's (the task led the group when first seen,
   * or its exec made it the leader). A thread whose exec is under way has
   * the leader's pid before its exec hook rebases the account. */
  __u32 leads;
  /* The task's exit hook handed its own amounts to the leader: from then
   * on they are the leader's, and its runtime after the hook is a tail. */
  __u32 handed;
  /* (leader) The group's final record is out: the walk reports no group
   * part, and what comes after (threads still exiting, tails) is the free
   * hook's. */
  __u32 final_sent;
  __u32 pad;
  __u64 cpu_ns_reported;
  /* Runtime of exited threads not claimed at their exit (atomic adds:
   * threads exit on any CPU). */
  __u64 left_ns;
  __u64 left_ns_reported;
  /* The group's threads' runtime at their sched_process_exit: what the
   * kernel adds to signal->sum_sched_runtime beyond it, when it releases
   * them, is the time they ran after the hook (their tails). */
  __u64 exited_ns;
  __u64 tail_reported;
  /* The leader's runtime at its exit (or when first seen already exited):
   * kept apart from exited_ns because the leader is released last, at its
   * free; counted in exited_ns until then, it would hide the tails of the
   * threads that outlive it. */
  __u64 unreleased_ns;
  __u64 count[KEPLER_COUNT_MAX]; /* written on the task's own CPU only */
  __u64 count_reported[KEPLER_COUNT_MAX];
  __u64 left_count[KEPLER_COUNT_MAX]; /* exited threads' events, as left_ns */
  __u64 left_count_reported[KEPLER_COUNT_MAX];
};

struct {
  __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, int);
  __type(value, struct task_acct);
} task_accts SEC(".maps");

/* Final records of processes; user space sizes it for the exit rate. */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 * 1024);
} exits SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, KEPLER_ERR_MAX);
  __type(key, __u32);
  __type(value, __u64);
} kepler_errors SEC(".maps");

/* Per CPU: the hardware counters and their group's times at the last
 * switch. */
struct cpu_counters {
  __u64 value[KEPLER_HW_COUNTERS];
  __u64 enabled, running;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cpu_counters);
} cpu_counters SEC(".maps");

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
    __sync_fetch_and_add(n, 1);
}

static __always_inline struct task_acct *acct_of(struct task_struct *task) {
  struct task_acct *a = bpf_task_storage_get(&task_accts, task, 0,
                                             BPF_LOCAL_STORAGE_GET_F_CREATE);
  if (!a)
    count_error(KEPLER_ERR_NO_STORAGE);
  return a;
}

static __always_inline void fill_identity(struct task_record *r,
                                          struct task_struct *task) {
  struct task_struct *leader = task->group_leader;
  r->key.tgid = task->tgid;
  r->key.start_ns = leader->start_time;
  r->cgroup_id = leader->cgroups->dfl_cgrp->kn->id;
  if (task->flags & PF_KTHREAD)
    r->flags |= RECORD_KTHREAD;
  bpf_probe_read_kernel_str(r->comm, sizeof(r->comm), leader->comm);
}

/* What one record claims: kept to give it back if the record is not
 * written. */
struct claim {
  __u64 own_ns, left_ns, tail_ns;
  __u64 own_count[KEPLER_COUNT_MAX];
  __u64 left_count[KEPLER_COUNT_MAX];
};

/* Under a->lock: the task's own amounts since its last record, unless its
 * exit hook has handed them to the leader. */
static __always_inline void claim_own(struct task_acct *a, struct claim *c,
                                      __u64 runtime) {
  if (a->handed)
    return;
  if (runtime > a->cpu_ns_reported) {
    c->own_ns = runtime - a->cpu_ns_reported;
    a->cpu_ns_reported = runtime;
  }
  if (counting) {
#pragma unroll
    for (int i = 0; i < KEPLER_COUNT_MAX; i++) {
      __u64 n = a->count[i];
      c->own_count[i] = n - a->count_reported[i];
      a->count_reported[i] = n;
    }
  }
}

/* Under the leader's lock: what its exited threads left and the released
 * threads' tails. sum: signal->sum_sched_runtime, read before the lock and
 * so before exited_ns: a thread that exits and is released in between then
 * lowers the tail for one read instead of raising it, and a tail is only
 * claimed when it grows. released: the leader has been released (its free),
 * so its own runtime is in sum. */
static __always_inline void claim_group(struct task_acct *l, struct claim *c,
                                        __u64 sum, bool released) {
  c->left_ns = l->left_ns - l->left_ns_reported;
  l->left_ns_reported += c->left_ns;
  if (counting) {
#pragma unroll
    for (int i = 0; i < KEPLER_COUNT_MAX; i++) {
      c->left_count[i] = l->left_count[i] - l->left_count_reported[i];
      l->left_count_reported[i] += c->left_count[i];
    }
  }
  __u64 exited = l->exited_ns + (released ? l->unreleased_ns : 0);
  __u64 tail = sum > exited ? sum - exited : 0;
  if (tail > l->tail_reported) {
    c->tail_ns = tail - l->tail_reported;
    l->tail_reported = tail;
  }
}

static __always_inline void claim_to_record(const struct claim *c,
                                            struct task_record *r) {
  r->cpu_ns = c->own_ns + c->left_ns + c->tail_ns;
  if (counting) {
#pragma unroll
    for (int i = 0; i < KEPLER_COUNT_MAX; i++)
      r->count[i] = c->own_count[i] + c->left_count[i];
  }
}

/* A claim whose record was not written, given back. Own amounts of a task
 * whose exit hook has handed the rest since go to the leader's leftovers,
 * as the hook's would have. */
static __always_inline void claim_undo(struct task_struct *task,
                                       struct task_acct *a,
                                       const struct claim *c, bool group) {
  bpf_spin_lock(&a->lock);
  bool handed = a->handed;
  if (!handed) {
    a->cpu_ns_reported -= c->own_ns;
    if (counting) {
#pragma unroll
      for (int i = 0; i < KEPLER_COUNT_MAX; i++)
        a->count_reported[i] -= c->own_count[i];
    }
  }
  if (group) {
    a->left_ns_reported -= c->left_ns;
    a->tail_reported -= c->tail_ns;
    if (counting) {
#pragma unroll
      for (int i = 0; i < KEPLER_COUNT_MAX; i++)
        a->left_count_reported[i] -= c->left_count[i];
    }
  }
  bpf_spin_unlock(&a->lock);
  if (!handed)
    return;
  struct task_acct *l =
      bpf_task_storage_get(&task_accts, task->group_leader, 0, 0);
  if (!l)
    return;
  if (c->own_ns)
    __sync_fetch_and_add(&l->left_ns, c->own_ns);
  if (counting) {
#pragma unroll
    for (int i = 0; i < KEPLER_COUNT_MAX; i++)
      if (c->own_count[i])
        __sync_fetch_and_add(&l->left_count[i], c->own_count[i]);
  }
}

static __always_inline bool record_moved(const struct task_record *r) {
  __u64 any = r->cpu_ns;
  if (counting) {
#pragma unroll
    for (int i = 0; i < KEPLER_COUNT_MAX; i++)
      any |= r->count[i];
  }
  return any != 0;
}

/* Without the lock: nothing to claim. Most tasks sleep through an interval,
 * and this look skips them; a claim under the lock decides the others. */
static __always_inline bool unmoved(const struct task_acct *a, __u64 runtime,
                                    __u64 sum, bool group) {
  if (runtime > a->cpu_ns_reported && !a->handed)
    return false;
  if (counting) {
#pragma unroll
    for (int i = 0; i < KEPLER_COUNT_MAX; i++)
      if (a->count[i] != a->count_reported[i] ||
          (group && a->left_count[i] != a->left_count_reported[i]))
        return false;
  }
  if (!group)
    return true;
  __u64 exited = a->exited_ns;
  return a->left_ns == a->left_ns_reported &&
         (sum <= exited || sum - exited <= a->tail_reported);
}

/* The walk's first visit. A task from before the plugin started has what it
 * ran so far (a leader: and its group's released threads) in the baseline.
 * A leader past its exit then gets no exit hook. */
static __always_inline void first_visit(struct task_struct *task,
                                        struct task_acct *a, bool leader,
                                        __u64 runtime, __u64 sum) {
  bool before = task->start_time < started_ns;
  bool zombie = task->exit_state != 0;
  bpf_spin_lock(&a->lock);
  if (!a->seen) {
    a->seen = 1;
    a->leads |= leader;
    if (before) {
      a->cpu_ns_reported = runtime;
      if (leader) {
        if (zombie)
          a->unreleased_ns = runtime;
        a->tail_reported = sum > a->exited_ns ? sum - a->exited_ns : 0;
      }
    }
  }
  bpf_spin_unlock(&a->lock);
}

/* One record per task that moved since its last one: its own amounts until
 * its exit hook hands them over, and for a group leader the group's until
 * its final record is out. A task being released is skipped: its amounts
 * are in the group's already. */
SEC("iter/task")
int kepler_iter_task(struct bpf_iter__task *ctx) {
  struct task_struct *task = ctx->task;
  if (!task || (task->exit_state & EXIT_DEAD))
    return 0;
  struct task_acct *a = acct_of(task);
  if (!a)
    return 0;
  bool leader = task->pid == task->tgid;
  __u64 runtime = task->se.sum_exec_runtime;
  __u64 sum = leader ? task->signal->sum_sched_runtime : 0;
  asm volatile("" ::: "memory");
  if (!a->seen)
    first_visit(task, a, leader, runtime, sum);

  bool group = leader && a->leads && !a->final_sent;
  if (!(group && full_walk) && unmoved(a, runtime, sum, group))
    return 0;

  struct claim c = {};
  bpf_spin_lock(&a->lock);
  group = leader && a->leads && !a->final_sent;
  claim_own(a, &c, runtime);
  if (group)
    claim_group(a, &c, sum, false);
  bpf_spin_unlock(&a->lock);

  struct task_record r = {};
  claim_to_record(&c, &r);
  if (!record_moved(&r) && !(group && full_walk))
    return 0;
  fill_identity(&r, task);
  /* A full buffer: the kernel shows this task again in the next read()
   * chunk, which claims it again. */
  if (bpf_seq_write(ctx->meta->seq, &r, sizeof(r)))
    claim_undo(task, a, &c, group);
  return 0;
}

/* A group record from an exit hook: the final one at the exit of the
 * group's last thread (once, whichever thread claims it), and at the
 * leader's free what came after (threads that were still exiting, the
 * tails), if anything did. */
static __always_inline void send_group_record(struct task_struct *leader,
                                              struct task_acct *l,
                                              bool released) {
  __u64 sum = leader->signal->sum_sched_runtime;
  asm volatile("" ::: "memory");
  struct claim c = {};
  bpf_spin_lock(&l->lock);
  bool final = !l->final_sent;
  l->final_sent = 1;
  if (final || released)
    claim_group(l, &c, sum, released);
  bpf_spin_unlock(&l->lock);
  if (!final && !released)
    return;
  struct task_record r = {.flags = RECORD_EXITED};
  claim_to_record(&c, &r);
  if (!final && !record_moved(&r))
    return;
  fill_identity(&r, leader);
  /* No wakeup: user space drains the buffer at its next read. The free
   * sends what a dropped final record claimed. */
  if (bpf_ringbuf_output(&exits, &r, sizeof(r), BPF_RB_NO_WAKEUP)) {
    count_error(KEPLER_ERR_EXIT_DROPPED);
    claim_undo(leader, l, &c, true);
  }
}

/* A thread (or the leader) exits: what it has not reported goes to the
 * leader's account, and its runtime so far to the leader's exited_ns. The
 * group's last thread (signal->live is decremented before this hook) then
 * sends the process's final record, so a read after the exit has all of
 * it. A thread without an account in a live group never reported anything:
 * the kernel adds its runtime to signal->sum_sched_runtime at its release,
 * where the leader's tail finds it, so its exit costs one lookup. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(kepler_thread_exit, struct task_struct *task) {
  bool group_dead = task->signal->live.counter == 0;
  struct task_acct *a = bpf_task_storage_get(&task_accts, task, 0, 0);
  if (!a && !group_dead)
    return 0;
  struct task_struct *leader = task->group_leader;
  bool is_leader = task->pid == task->tgid;
  struct task_acct *l =
      is_leader ? a : bpf_task_storage_get(&task_accts, leader, 0, 0);
  /* From before the plugin started and never read: nothing of it is in
   * the baseline's account, nothing is reported. */
  if (leader->start_time < started_ns && (!l || !l->seen))
    return 0;
  if (!l && !(l = acct_of(leader)))
    return 0;
  if (is_leader)
    a = l;

  __u64 runtime = task->se.sum_exec_runtime;
  struct claim c = {};
  if (a) {
    bpf_spin_lock(&a->lock);
    claim_own(a, &c, runtime);
    a->handed = 1;
    bpf_spin_unlock(&a->lock);
  } else {
    c.own_ns = runtime; /* never read: all of it */
  }
  /* The leader is released last (at its free): until then its runtime is
   * not in sum_sched_runtime, and must not lower the tails of threads that
   * go after it. */
  if (is_leader)
    l->unreleased_ns = runtime;
  else
    __sync_fetch_and_add(&l->exited_ns, runtime);
  if (c.own_ns)
    __sync_fetch_and_add(&l->left_ns, c.own_ns);
  if (counting) {
#pragma unroll
    for (int i = 0; i < KEPLER_COUNT_MAX; i++)
      if (c.own_count[i])
        __sync_fetch_and_add(&l->left_count[i], c.own_count[i]);
  }
  if (group_dead)
    send_group_record(leader, l, false);
  return 0;
}

/* The group leader is freed, after the release of every thread of its group
 * (itself last): signal->sum_sched_runtime holds them all, and what moved
 * since the final record closes the process's account. A leader without an
 * account found no storage at its group's exit: born after the plugin
 * started, all of the group's runtime is in the record; born before,
 * nothing of it was counted, nothing is. */
SEC("tp_btf/sched_process_free")
int BPF_PROG(kepler_process_free, struct task_struct *task) {
  /* Not a leader: a thread, or a leader replaced by an exec in another
   * thread; their amounts went to the leader at their exit. */
  if (task->pid != task->tgid)
    return 0;
  bool before = task->start_time < started_ns;
  struct task_acct *a = bpf_task_storage_get(&task_accts, task, 0, 0);
  if (a && (a->leads || !a->seen)) {
    if (!before || a->seen)
      send_group_record(task, a, true);
    return 0;
  }
  if (!a && before)
    return 0;
  /* No account, or one of an exec that made a thread the leader and then
   * failed (it never held the group's: the record only ends the process). */
  struct task_record r = {.flags = RECORD_EXITED};
  if (!a)
    r.cpu_ns = task->signal->sum_sched_runtime;
  fill_identity(&r, task);
  if (bpf_ringbuf_output(&exits, &r, sizeof(r), BPF_RB_NO_WAKEUP))
    count_error(KEPLER_ERR_EXIT_DROPPED);
  return 0;
}

/* An exec in a thread other than the leader makes that thread the leader
 * (de_thread): every other thread has been released, and the old leader's
 * account, with what the group left since the last read, is freed with the
 * old leader. The exec's thread's account becomes the group's from here, at
 * the runtime released so far; until then the walk reports no group part
 * for it. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(kepler_process_exec, struct task_struct *task, int old_pid) {
  if (old_pid == task->pid)
    return 0;
  struct task_acct *a = acct_of(task);
  if (!a)
    return 0;
  __u64 released = task->signal->sum_sched_runtime;
  bpf_spin_lock(&a->lock);
  a->exited_ns = released;
  a->tail_reported = 0;
  a->leads = 1;
  bpf_spin_unlock(&a->lock);
  return 0;
}

/* A group member's counter, or its last value when the read fails. */
static __always_inline __u64 member_read(void *map, __u64 last) {
  __u64 v = bpf_perf_event_read(map, BPF_F_CURRENT_CPU);
  /* Errors are small negative numbers; a counter never gets near them. */
  if ((__s64)v < 0 && (__s64)v >= -4095) {
    count_error(KEPLER_ERR_HW_READ);
    return last;
  }
  return v;
}

/* Only with hardware counters: they need a read at each switch. The three
 * events are one perf group, on the PMU together or not at all, so the
 * leader's enabled/running scales all three (multiplexing): one timed read
 * and two plain ones. Storage is never created here (an allocation under
 * the runqueue lock can deadlock on older kernels): a task has it from its
 * fork or the plugin's first read. */
SEC("tp_btf/sched_switch")
int BPF_PROG(kepler_sched_switch, bool preempt, struct task_struct *prev,
             struct task_struct *next) {
  __u32 zero = 0;
  struct cpu_counters *c = bpf_map_lookup_elem(&cpu_counters, &zero);
  if (!c)
    return 0;
  struct bpf_perf_event_value v;
  if (bpf_perf_event_read_value(&hw_cycles, BPF_F_CURRENT_CPU, &v, sizeof(v))) {
    count_error(KEPLER_ERR_HW_READ);
    return 0;
  }
  __u64 now[KEPLER_HW_COUNTERS] = {
      v.counter,
      member_read(&hw_instructions, c->value[KEPLER_COUNT_INSTRUCTIONS]),
      member_read(&hw_cache_misses, c->value[KEPLER_COUNT_CACHE_MISSES]),
  };
  __u64 enabled = v.enabled - c->enabled, running = v.running - c->running;
  bool first = c->enabled == 0;
  c->enabled = v.enabled;
  c->running = v.running;
  __u64 delta[KEPLER_HW_COUNTERS];
#pragma unroll
  for (int i = 0; i < KEPLER_HW_COUNTERS; i++) {
    delta[i] = now[i] - c->value[i];
    c->value[i] = now[i];
  }
  if (first || running == 0 || prev->pid == 0) /* idle is not a process */
    return 0;
  /* enabled/running in 16.16 fixed point: 1.0 when not multiplexed */
  __u64 ratio = (enabled << 16) / running;
  /* An exiting task has handed its counts to its leader at its exit hook
   * (or will, for what it has now): its last slices go to the leader's
   * leftovers, or no record would ever hold them. */
  if (prev->flags & PF_EXITING) {
    struct task_acct *l =
        bpf_task_storage_get(&task_accts, prev->group_leader, 0, 0);
    if (!l)
      return 0;
#pragma unroll
    for (int i = 0; i < KEPLER_HW_COUNTERS; i++)
      __sync_fetch_and_add(&l->left_count[i],
                           (delta[i] >> 16) * ratio +
                               (((delta[i] & 0xffff) * ratio) >> 16));
    return 0;
  }
  struct task_acct *a = bpf_task_storage_get(&task_accts, prev, 0, 0);
  if (!a)
    return 0;
#pragma unroll
  for (int i = 0; i < KEPLER_HW_COUNTERS; i++)
    a->count[i] +=
        (delta[i] >> 16) * ratio + (((delta[i] & 0xffff) * ratio) >> 16);
  return 0;
}

/* Only with hardware counters: the child's account before its first switch. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(kepler_process_fork, struct task_struct *parent,
             struct task_struct *child) {
  acct_of(child);
  return 0;
}

static __always_inline void count_current(int i) {
  struct task_struct *task = bpf_get_current_task_btf();
  if (task->pid == 0)
    return;
  struct task_acct *a = acct_of(task);
  if (a)
    a->count[i]++;
}

SEC("tp_btf/softirq_entry")
int BPF_PROG(kepler_softirq_entry, unsigned int vec) {
  switch (vec) {
  case KEPLER_SOFTIRQ_NET_TX:
    count_current(KEPLER_COUNT_NET_TX);
    break;
  case KEPLER_SOFTIRQ_NET_RX:
    count_current(KEPLER_COUNT_NET_RX);
    break;
  case KEPLER_SOFTIRQ_BLOCK:
    count_current(KEPLER_COUNT_BLOCK);
    break;
  }
  return 0;
}

/* User space retargets this to folio_mark_accessed where that exists. */
SEC("fexit/mark_page_accessed")
int BPF_PROG(kepler_page_accessed) {
  count_current(KEPLER_COUNT_PAGE_CACHE_HIT);
  return 0;
}

SEC("tp_btf/writeback_dirty_folio")
int BPF_PROG(kepler_writeback_dirty) {
  count_current(KEPLER_COUNT_PAGE_CACHE_HIT);
  return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
