// SPDX-License-Identifier: GPL-2.0-only
/* Idle power of one component from (utilization, measured power) pairs:
 * the intercept at zero utilization of a line fitted online with
 * exponential forgetting, once the samples span enough utilization to
 * trust it; the lowest power seen until then. Better than Kepler's
 * minimum-ever, which a busy host never reaches. No collectd headers. */
#ifndef KEPLER_IDLE_FIT_H
#define KEPLER_IDLE_FIT_H

#include <stdbool.h>

struct idle_fit;

struct idle_fit *idle_fit_new(void);
/* One interval: utilization in [0, 1] (busy share of all CPUs) and the
 * component's measured mean power in W. Non-finite values are ignored. */
void idle_fit_add(struct idle_fit *f, double utilization, double watts);
/* The idle power estimate in W, never negative and never above the lowest
 * power seen; 0 before any sample. */
double idle_fit_idle(const struct idle_fit *f);
/* The estimate comes from the fitted intercept (not the minimum). */
bool idle_fit_is_fitted(const struct idle_fit *f);
void idle_fit_free(struct idle_fit *f);

#endif
