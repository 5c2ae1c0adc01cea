// SPDX-License-Identifier: GPL-2.0-only
/* The monotonic clock in nanoseconds: intervals and deadlines that a change
 * of the wall clock must not stretch or cut. */
#ifndef KEPLER_MONO_CLOCK_H
#define KEPLER_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t mono_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
