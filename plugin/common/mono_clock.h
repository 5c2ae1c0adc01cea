// SPDX-License-Identifier: GPL-2.0-only
/* The monotonic clock in nanoseconds: intervals and deadlines that a change
 * of the wall clock must not stretch or cut. */
#ifndef KEPLER_MONO_CLOCK_H
#define KEPLER_MONO_CLOCK_H

#include <stdint.h>
#include <time.h>

/* Any clock_gettime clock in nanoseconds (CLOCK_THREAD_CPUTIME_ID: the
 * CPU time of the calling thread). */
static inline uint64_t clock_ns(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t mono_clock_ns(void) {
  return clock_ns(CLOCK_MONOTONIC);
}

#endif
