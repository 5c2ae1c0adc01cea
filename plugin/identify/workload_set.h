// SPDX-License-Identifier: GPL-2.0-only
/* Interned workload identities: every process of a cgroup points at one
 * shared struct workload_id (which carries a 512-byte path) instead of a
 * copy, so per-process memory does not grow with path length. Unreferenced
 * identities are swept by generation. No collectd headers. */
#ifndef KEPLER_WORKLOAD_SET_H
#define KEPLER_WORKLOAD_SET_H

#include <stddef.h>
#include <stdint.h>

#include "cgroup_identity.h"

struct workload_set;

struct workload_set *workload_set_new(void);
void workload_set_free(struct workload_set *s);
/* The shared copy of w, created on first use; NULL when out of memory. It
 * stays valid until a sweep that finds it unmarked. */
const struct workload_id *workload_set_intern(struct workload_set *s,
                                              const struct workload_id *w);
/* Keep w through the next sweep with this generation. */
void workload_set_mark(const struct workload_id *w, uint32_t generation);
/* Free every identity not marked with generation; returns how many stay. */
size_t workload_set_sweep(struct workload_set *s, uint32_t generation);
size_t workload_set_size(const struct workload_set *s);

#endif
