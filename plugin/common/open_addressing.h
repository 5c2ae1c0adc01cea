// SPDX-License-Identifier: GPL-2.0-only
/* Shared by the open-addressing tables (proc_table, workload_set): linear
 * probing with backward-shift deletion, so lookups need no tombstones. */
#ifndef KEPLER_OPEN_ADDRESSING_H
#define KEPLER_OPEN_ADDRESSING_H

#include <stdbool.h>
#include <stddef.h>

/* After slot `hole` is emptied, may the member at slot j, whose home slot
 * is `home`, move into the hole? Yes unless its home lies cyclically in
 * (hole, j]: then it would end up before its home, where no probe finds
 * it. */
static inline bool oa_fills_hole(size_t hole, size_t j, size_t home) {
  return (j > hole) ? (home <= hole || home > j) : (home <= hole && home > j);
}

#endif
