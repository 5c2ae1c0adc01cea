// SPDX-License-Identifier: GPL-2.0-only
/* The sampler's lifecycle and policy: which optional hooks to attach, how
 * large the exit ring buffer is, the first read as a baseline, the interval
 * between reads, node CPU utilization, and what to do when exit records are
 * lost. No collectd headers. */
#ifndef KEPLER_SAMPLING_H
#define KEPLER_SAMPLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf_sampler.h"
#include "kepler_features.h"

struct sampling_options {
  double interval_s;     /* the read interval: sizes the exit ring buffer */
  const char *proc_root; /* "/proc": node CPU times */
  bool hw_counters;
  bool software_counters; /* testing only (sampler_options) */
  enum hook_choice page_cache, softirq;
  /* What node power's estimate needs, for HOOK_AUTO: the features it uses
   * (the local model, a UsageMetric), whether it takes every feature the
   * host measures (a sidecar or a model server) and whether online
   * training runs (it fits page cache hits, not softirqs). */
  bool estimate_uses[FEATURE_MAX];
  bool estimate_takes_all;
  bool training;
};

/* One read of the sampler. */
struct sample_interval {
  const struct task_record *records; /* valid until the next read */
  size_t nrecords;
  bool full_walk; /* every live process has a record */
  /* Rates are over the read's own window (0 at the baseline): a reader
   * preempted mid-read cannot make a process run more than the CPUs
   * allow. Energy is over dt_s, the time between the samples' midpoints,
   * so no time is counted twice. */
  double window_s, dt_s;
  uint64_t exits_dropped;  /* cumulative: see kepler_report */
  uint64_t hw_read_errors; /* cumulative */
};

struct sampling;

/* Attach the sampler. 0, or -1 with why in err. */
int sampling_open(const struct sampling_options *o, struct sampling **out,
                  char *err, size_t errlen);
/* The features this host measures (CPU time always). */
void sampling_available(const struct sampling *s, bool available[FEATURE_MAX]);
const char *sampling_hooks(const struct sampling *s); /* those attached */
/* The first read was made: the next one is an interval. */
bool sampling_has_baseline(const struct sampling *s);
/* Read the sampler: 1 at the first read, the baseline the next one
 * measures from (records of the processes alive, no interval); 0 with an
 * interval; -1 on failure (a failed sampler read is logged). */
int sampling_read(struct sampling *s, struct sample_interval *out);
/* The caller could not take the baseline's records in: the next read is
 * the baseline again. */
void sampling_retake_baseline(struct sampling *s);
/* Node CPU utilization in % since the last call (the baseline at the
 * first), in *pct when /proc could be read (else 0); whether it is known
 * (both ends read). */
bool sampling_cpu_utilization(struct sampling *s, double *pct);
void sampling_close(struct sampling *s);

#endif
