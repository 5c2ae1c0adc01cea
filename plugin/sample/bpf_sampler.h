// SPDX-License-Identifier: GPL-2.0-only
/* User side of bpf/kepler.bpf.c: load and attach the programs, open the
 * per-CPU hardware counters, and read what every process added since the
 * last read. No collectd headers: shared by the plugin and the tests. */
#ifndef KEPLER_BPF_SAMPLER_H
#define KEPLER_BPF_SAMPLER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kepler.h"

struct sampler_options {
  bool hw_counters; /* try cycles/instructions/cache misses */
  /* Testing only: software perf events (cpu-clock) stand in for the
   * hardware counters, so their path runs where no PMU is. */
  bool software_counters;
  bool page_cache;       /* attach the page cache hooks */
  bool softirq;          /* count NET_TX, NET_RX, BLOCK softirqs */
  size_t ring_bytes;     /* exit records' ring buffer: a power of 2 >= 4096 */
  const char *proc_root; /* "/proc": who holds another copy (bpf_peer) */
};

/* What this kernel and hardware actually provide. */
struct sampler_features {
  bool hw_counters;
  bool page_cache;
  bool softirq;
};

struct node_sample {
  uint64_t mono_ns; /* CLOCK_MONOTONIC time of the sample */
  /* From the start of the previous sample's reads to the end of this one's:
   * every counter's growth since the previous sample happened inside it,
   * whenever the (possibly preempted) reads took each value. Rates over it
   * can never exceed the CPUs there are. */
  uint64_t window_ns;
  uint64_t errors[KEPLER_ERR_MAX]; /* cumulative */
  /* Every live process has a record in this sample (see
   * sampler_request_full_walk). */
  bool full_walk;
};

struct bpf_sampler;

/* Load and attach. On failure returns -1 and writes one sentence naming the
 * missing capability or kernel feature to err. */
int sampler_open(const struct sampler_options *opt, struct bpf_sampler **out,
                 char *err, size_t errlen);
const struct sampler_features *sampler_available(const struct bpf_sampler *s);
/* The hooks attached, for the start message ("iter/task, ..."). */
const char *sampler_hooks(const struct bpf_sampler *s);
/* What processes added since the last read: the final records of processes
 * gone (RECORD_EXITED), then one record per task that moved; a process's
 * records add up to its CPU time and events. The array stays valid until
 * the next call. 0 or -errno. */
int sampler_read(struct bpf_sampler *s, const struct task_record **records,
                 size_t *nrecords, struct node_sample *node);
/* Final records were lost: the next read writes a record for every live
 * process, so the caller can drop those without one. */
void sampler_request_full_walk(struct bpf_sampler *s);
void sampler_close(struct bpf_sampler *s);

#endif
