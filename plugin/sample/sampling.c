// SPDX-License-Identifier: GPL-2.0-only
#include "sampling.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "node_cpu.h"

/* Exit records the ring buffer holds per second of the interval: up to two
 * per exit (the final record at the exit, and at the free what ran after
 * it), so 1000 exits/s: twice a fork+exec storm of 500 processes/s. */
#define EXIT_RECORDS_PER_S 2000
#define RING_MIN_BYTES (256 * 1024)
#define RING_MAX_BYTES (64 * 1024 * 1024)

struct sampling {
  struct bpf_sampler *sampler;
  const char *proc_root;
  uint64_t last_mono_ns;
  struct cpu_times last_cpu;
  bool last_cpu_known;
  uint64_t exits_dropped; /* at the last sample */
  bool exits_dropping;    /* warned; a notice when they stop */
  bool baseline_taken;    /* the first read was made */
};

/* The exit ring buffer for EXIT_RECORDS_PER_S over one interval: a power
 * of 2. */
static size_t ring_bytes(double interval_s) {
  double need =
      interval_s * EXIT_RECORDS_PER_S * (sizeof(struct task_record) + 8);
  size_t bytes = RING_MIN_BYTES;
  while (bytes < need && bytes < RING_MAX_BYTES)
    bytes *= 2;
  return bytes;
}

static const enum kepler_feature softirq_features[] = {
    FEATURE_NET_RX_IRQ, FEATURE_NET_TX_IRQ, FEATURE_BLOCK_IRQ};
static const enum kepler_feature page_cache_features[] = {
    FEATURE_PAGE_CACHE_HIT};

/* Whether to attach an optional hook: as configured, else (auto) where the
 * local model or a UsageMetric uses one of its features, or a sidecar or a
 * model server may (they take every feature the host measures), or online
 * training does (trained). */
static bool hook_wanted(const struct sampling_options *o,
                        enum hook_choice choice,
                        const enum kepler_feature *features, size_t n,
                        bool trained) {
  if (choice != HOOK_AUTO)
    return choice == HOOK_ON;
  if (o->estimate_takes_all || (trained && o->training))
    return true;
  for (size_t i = 0; i < n; i++)
    if (o->estimate_uses[features[i]])
      return true;
  return false;
}

int sampling_open(const struct sampling_options *o, struct sampling **out,
                  char *err, size_t errlen) {
  struct sampling *s = calloc(1, sizeof(*s));
  if (!s) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  s->proc_root = o->proc_root;
  struct sampler_options so = {
      .hw_counters = o->hw_counters,
      .software_counters = o->software_counters,
      .ring_bytes = ring_bytes(o->interval_s),
      .proc_root = o->proc_root,
      /* Online training fits page cache hits, not softirqs. */
      .softirq = hook_wanted(
          o, o->softirq, softirq_features,
          sizeof(softirq_features) / sizeof(*softirq_features), false),
      .page_cache = hook_wanted(
          o, o->page_cache, page_cache_features,
          sizeof(page_cache_features) / sizeof(*page_cache_features), true),
  };
  if (sampler_open(&so, &s->sampler, err, errlen)) {
    free(s);
    return -1;
  }
  /* Loading parsed the kernel's BTF (megabytes) and freed it; glibc keeps
   * freed heap unless asked, and collectd would carry it for its lifetime. */
  malloc_trim(0);
  *out = s;
  return 0;
}

void sampling_available(const struct sampling *s, bool available[FEATURE_MAX]) {
  const struct sampler_features *have = sampler_available(s->sampler);
  available[FEATURE_CPU_TIME_MS] = true;
  available[FEATURE_CPU_CYCLES] = have->hw_counters;
  available[FEATURE_CPU_INSTRUCTIONS] = have->hw_counters;
  available[FEATURE_CACHE_MISS] = have->hw_counters;
  available[FEATURE_PAGE_CACHE_HIT] = have->page_cache;
  available[FEATURE_NET_RX_IRQ] = have->softirq;
  available[FEATURE_NET_TX_IRQ] = have->softirq;
  available[FEATURE_BLOCK_IRQ] = have->softirq;
}

const char *sampling_hooks(const struct sampling *s) {
  return sampler_hooks(s->sampler);
}

/* Lost exit records: one warning per outage, and a walk of every process
 * to find the ones that left without a record. */
static void note_dropped_exits(struct sampling *s, uint64_t dropped) {
  if (dropped > s->exits_dropped) {
    sampler_request_full_walk(s->sampler);
    if (!s->exits_dropping)
      kepler_log(KLOG_WARNING,
                 "kepler: %llu process exit records dropped (ring buffer "
                 "full): their last CPU time is not counted; "
                 "kepler_node/derive-exits_dropped counts them",
                 (unsigned long long)(dropped - s->exits_dropped));
  } else if (s->exits_dropping) {
    kepler_log(KLOG_NOTICE, "kepler: process exit records flow again");
  }
  s->exits_dropping = dropped > s->exits_dropped;
  s->exits_dropped = dropped;
}

/* The first read only takes the baseline: collectd reads right after init,
 * and rates over so short a window would be dominated by the tick
 * granularity of the kernel's runtime accounting. */
static int take_baseline(struct sampling *s, const struct node_sample *node) {
  s->last_mono_ns = node->mono_ns;
  s->exits_dropped = node->errors[KEPLER_ERR_EXIT_DROPPED];
  s->last_cpu_known = node_cpu_read(s->proc_root, &s->last_cpu) == 0;
  s->baseline_taken = true;
  return 1;
}

bool sampling_has_baseline(const struct sampling *s) {
  return s->baseline_taken;
}

int sampling_read(struct sampling *s, struct sample_interval *out) {
  struct node_sample node;
  memset(out, 0, sizeof(*out));
  int rc = sampler_read(s->sampler, &out->records, &out->nrecords, &node);
  if (rc) {
    if (s->baseline_taken)
      kepler_log(KLOG_ERR, "kepler: reading the BPF task iterator failed: %s",
                 strerror(-rc));
    else
      kepler_log(KLOG_ERR, "kepler: cannot take the first sample: %s",
                 strerror(-rc));
    return -1;
  }
  out->full_walk = node.full_walk;
  out->exits_dropped = node.errors[KEPLER_ERR_EXIT_DROPPED];
  out->hw_read_errors = node.errors[KEPLER_ERR_HW_READ];
  if (!s->baseline_taken)
    return take_baseline(s, &node);
  note_dropped_exits(s, node.errors[KEPLER_ERR_EXIT_DROPPED]);
  out->dt_s = (double)(node.mono_ns - s->last_mono_ns) / 1e9;
  if (out->dt_s <= 0)
    return -1;
  s->last_mono_ns = node.mono_ns;
  out->window_s = (double)node.window_ns / 1e9;
  return 0;
}

void sampling_retake_baseline(struct sampling *s) {
  s->baseline_taken = false;
}

bool sampling_cpu_utilization(struct sampling *s, double *pct) {
  struct cpu_times cpu;
  *pct = 0;
  if (node_cpu_read(s->proc_root, &cpu) != 0)
    return false;
  bool known = s->last_cpu_known;
  *pct = node_cpu_utilization(&s->last_cpu, &cpu);
  s->last_cpu = cpu;
  s->last_cpu_known = true;
  return known;
}

void sampling_close(struct sampling *s) {
  if (!s)
    return;
  sampler_close(s->sampler);
  free(s);
}
