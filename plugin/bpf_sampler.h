/* User side of bpf/kepler.bpf.c: load and attach the programs, open the
 * per-CPU hardware counters, and read the cumulative per-process counters.
 * No collectd headers: shared by the plugin and the tests. */
#ifndef KEPLER_BPF_SAMPLER_H
#define KEPLER_BPF_SAMPLER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kepler.h"

struct sampler_options {
  unsigned max_processes; /* size of the in-kernel process map */
  bool hw_counters;       /* try cycles/instructions/cache misses */
  bool page_cache;        /* try the page cache hooks */
  bool softirq;           /* count NET_TX, NET_RX, BLOCK softirqs */
};

/* What this kernel and hardware actually provide. */
struct sampler_features {
  bool hw_counters;
  bool page_cache;
  bool softirq;
};

struct proc_sample {
  struct proc_key key;
  struct proc_stats stats;
};

/* The slice a CPU is running right now, not yet in the map. (Slices a CPU
 * holds pending are already added to the samples' counters.) */
struct inflight_slice {
  struct proc_key key; /* tgid 0: the CPU is idle */
  uint64_t ns;
};

struct node_sample {
  uint64_t mono_ns; /* CLOCK_MONOTONIC time of the sample */
  /* From the start of the previous sample's reads to the end of this one's:
   * every counter's growth since the previous sample happened inside it,
   * whenever the (possibly preempted) reads took each value. Rates over it
   * can never exceed the CPUs there are. */
  uint64_t window_ns;
  uint64_t errors[KEPLER_ERR_MAX];
  const struct inflight_slice *inflight; /* ncpu_slots entries */
  unsigned ncpu_slots;
};

struct bpf_sampler;

/* Load and attach. On failure returns -1 and writes one sentence naming the
 * missing capability or kernel feature to err. */
int sampler_open(const struct sampler_options *opt, struct bpf_sampler **out,
                 char *err, size_t errlen);
const struct sampler_features *sampler_available(const struct bpf_sampler *s);
/* Read every tracked process. The array stays valid until the next call. */
int sampler_read(struct bpf_sampler *s, const struct proc_sample **procs,
                 size_t *nprocs, struct node_sample *node);
/* Drop a reaped (exited and reported) process from the kernel map: 0, or
 * -errno (-ENOENT: it was not there). */
int sampler_forget(struct bpf_sampler *s, const struct proc_key *key);
void sampler_close(struct bpf_sampler *s);

#endif
