// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The floor for the per-event benchmark: an empty program on the hook
 * kepler's sched_switch program uses. Its run time is what any program pays
 * for being attached there (trampoline, stats bookkeeping), so kepler's cost
 * is read against it. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("tp_btf/sched_switch")
int floor_sched_switch(void *ctx) {
  return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
