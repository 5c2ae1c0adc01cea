// SPDX-License-Identifier: GPL-2.0-only
#include "kepler_features.h"

#include <string.h>

static const char *const names[FEATURE_MAX] = {
    [FEATURE_CPU_TIME_MS] = "bpf_cpu_time_ms",
    [FEATURE_CPU_CYCLES] = "cpu_cycles",
    [FEATURE_CPU_INSTRUCTIONS] = "cpu_instructions",
    [FEATURE_CACHE_MISS] = "cache_miss",
    [FEATURE_PAGE_CACHE_HIT] = "bpf_page_cache_hit",
    [FEATURE_NET_RX_IRQ] = "bpf_net_rx_irq",
    [FEATURE_NET_TX_IRQ] = "bpf_net_tx_irq",
    [FEATURE_BLOCK_IRQ] = "bpf_block_irq",
};

const char *feature_name(enum kepler_feature f) {
  return (unsigned)f < FEATURE_MAX ? names[f] : "unknown";
}

int feature_by_name(const char *name) {
  for (int f = 0; f < FEATURE_MAX; f++)
    if (strcmp(names[f], name) == 0)
      return f;
  return -1;
}
