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
  uint32_t flags;
  uint64_t cgroup_id;
  uint64_t last[FEATURE_MAX]; /* cumulative counters at the last sample */
  double rate[FEATURE_MAX];   /* per second over the last interval */
  bool active;                /* ran, or exited, in the last interval */
  bool identified;            /* workload resolved for identified_cgroup */
  uint64_t identified_cgroup;
  bool identified_kthread;
  const struct workload_id *workload; /* interned (workload_set) */
  double power_dynamic_w; /* set by attribution for the last interval */
  double power_idle_w;
  double energy_j;      /* cumulative, since the process was first seen */
  uint64_t inflight_ns; /* running slice credited at this sample */
  uint32_t generation;
  bool moved;           /* some counter moved in the last interval */
  bool vanished;        /* gone from /proc without an exit seen */
  uint8_t exit_samples; /* samples seen since the exit (at most 2) */
};

struct proc_table;

struct proc_table *proc_table_new(void);
void proc_table_free(struct proc_table *t);

/* Fold one sample in: per-second rates over dt_s for every process, in-flight
 * slices credited, processes that left the map dropped. Counters only move
 * forward: a value below the last one (a race between the per-CPU read and
 * the map read) counts as no progress, never as a wrap. */
int proc_table_update(struct proc_table *t, const struct proc_sample *samples,
                      size_t n, const struct inflight_slice *inflight,
                      unsigned ninflight, double dt_s);

size_t proc_table_size(const struct proc_table *t);
/* Iterate: returns entry number *pos and advances, NULL at the end. Removal
 * moves the last entry into the removed one's place: do not remove while
 * iterating. */
struct proc_entry *proc_table_next(struct proc_table *t, size_t *pos);
/* Keys of processes that can leave: their exit was seen in two samples (or
 * they vanished) and nothing of theirs moved in the last one, so a final
 * slice that lands after the exit hook is still counted. The caller deletes
 * each from the kernel map first, then calls proc_table_remove: a key still
 * in the map would come back as a new process and count its life twice. */
size_t proc_table_reapable(const struct proc_table *t, struct proc_key *keys,
                           size_t max);
void proc_table_remove(struct proc_table *t, const struct proc_key *key);

#endif
