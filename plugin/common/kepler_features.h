// SPDX-License-Identifier: GPL-2.0-only
/* The per-second usage features a power model can consume, named as Kepler
 * names them so Kepler model files load unchanged. */
#ifndef KEPLER_FEATURES_H
#define KEPLER_FEATURES_H

/* An optional BPF hook (the sampler's source of some features): attached
 * where its features are used (auto), or as configured. */
enum hook_choice { HOOK_AUTO, HOOK_ON, HOOK_OFF };

enum kepler_feature {
  FEATURE_CPU_TIME_MS,      /* bpf_cpu_time_ms: on-CPU ms per second */
  FEATURE_CPU_CYCLES,       /* cpu_cycles */
  FEATURE_CPU_INSTRUCTIONS, /* cpu_instructions */
  FEATURE_CACHE_MISS,       /* cache_miss (LLC misses) */
  FEATURE_PAGE_CACHE_HIT,   /* bpf_page_cache_hit */
  FEATURE_NET_RX_IRQ,       /* bpf_net_rx_irq */
  FEATURE_NET_TX_IRQ,       /* bpf_net_tx_irq */
  FEATURE_BLOCK_IRQ,        /* bpf_block_irq */
  FEATURE_MAX,
};

/* Kepler's name of a feature, e.g. "bpf_cpu_time_ms". */
const char *feature_name(enum kepler_feature f);
/* The feature called `name`, or -1. */
int feature_by_name(const char *name);

#endif
