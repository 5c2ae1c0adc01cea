// SPDX-License-Identifier: GPL-2.0-only
/* Per-process state kept between samples: the last cumulative counters (to
 * turn the kernel's cumulative counters into per-interval rates), identity,
 * and the energy each process has been charged. No collectd headers. */
#ifndef KEPLER_PROC_TABLE_H
#define KEPLER_PROC_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf_sampler.h"
#include "cgroup_identity.h"
#include "kepler_features.h"

struct proc_entry {
  struct proc_key key;
  char comm[KEPLER_COMM_LEN];
  uint32_t flags; /* RECORD_KTHREAD, RECORD_EXITED */
  uint64_t cgroup_id;
  uint64_t added[FEATURE_MAX]; /* counted since the last sample (ns, events) */
  double rate[FEATURE_MAX];    /* per second over the last interval */
  bool active;                 /* ran, or exited, in the last interval */
  bool identified;             /* workload resolved for identified_cgroup */
  uint64_t identified_cgroup;
  bool identified_kthread;
  const struct workload_id *workload; /* interned (workload_set) */
  double power_dynamic_w; /* set by attribution for the last interval */
  double power_idle_w;
  double energy_j; /* cumulative, since the process was first seen */
  uint32_t seen;   /* the table's generation of its last record */
};

struct proc_table;

struct proc_table *proc_table_new(void);
void proc_table_free(struct proc_table *t);

/* Fold one sample in: the processes that exited in the last one leave, each
 * record's amounts go to its process (created on its first record: it was
 * born in this interval, or this is the first sample), and every process
 * gets its per-second rates over dt_s. After a full walk (every live process
 * has a record) a process without one is gone: it leaves too. 0, or -1 when
 * out of memory. */
int proc_table_update(struct proc_table *t, const struct task_record *records,
                      size_t n, bool full_walk, double dt_s);

size_t proc_table_size(const struct proc_table *t);
/* Iterate: returns entry number *pos and advances, NULL at the end. */
struct proc_entry *proc_table_next(struct proc_table *t, size_t *pos);

#endif
