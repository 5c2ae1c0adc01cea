// SPDX-License-Identifier: GPL-2.0-only
#include "idle_fit.h"

#include <math.h>
#include <stdlib.h>

/* Each new sample scales the weight of all earlier ones by this: a memory
 * of about 1 / (1 - 0.999) = 1000 intervals, long enough to hold both idle
 * and busy periods of a day's load, short enough to follow a machine whose
 * idle power changed (firmware settings, hardware). */
#define FORGETTING 0.999
/* The intercept is an extrapolation to zero utilization: trusted only from
 * a line fitted over enough samples spread over enough utilization (the
 * weighted standard deviation of the samples' utilization, 0..1). */
#define MIN_SAMPLES 10
#define MIN_SPREAD 0.05

/* Weighted least squares kept as centred sums (weighted means and the
 * sums of centred squares and products), updated in West's incremental
 * form: no large raw sums of u^2 to cancel, so no loss of precision over a
 * long run. Forgetting scales all weights alike, which leaves the means
 * unchanged and scales the centred sums. */
struct idle_fit {
  unsigned long samples;
  double weight;
  double mean_u, mean_w;
  double s_uu, s_uw;
  double min_watts;
};

struct idle_fit *idle_fit_new(void) {
  return calloc(1, sizeof(struct idle_fit));
}

/* Besides non-finite values, a utilization outside [0, 1] or a negative
 * power is not a measurement either. */
void idle_fit_add(struct idle_fit *f, double utilization, double watts) {
  if (!isfinite(utilization) || !isfinite(watts) || utilization < 0 ||
      utilization > 1 || watts < 0)
    return;
  f->weight *= FORGETTING;
  f->s_uu *= FORGETTING;
  f->s_uw *= FORGETTING;
  f->weight += 1;
  double du = utilization - f->mean_u;
  f->mean_u += du / f->weight;
  f->mean_w += (watts - f->mean_w) / f->weight;
  f->s_uu += du * (utilization - f->mean_u);
  f->s_uw += du * (watts - f->mean_w);
  if (f->samples == 0 || watts < f->min_watts)
    f->min_watts = watts;
  f->samples++;
}

bool idle_fit_is_fitted(const struct idle_fit *f) {
  return f->samples >= MIN_SAMPLES &&
         f->s_uu >= MIN_SPREAD * MIN_SPREAD * f->weight;
}

double idle_fit_idle(const struct idle_fit *f) {
  if (!idle_fit_is_fitted(f))
    return f->min_watts; /* 0 before any sample */
  double slope = f->s_uw / f->s_uu;
  double intercept = f->mean_w - slope * f->mean_u;
  /* Idle is at most what the machine was seen to draw, and a steep
   * measured line must not push it below nothing. */
  return fmax(0, fmin(intercept, f->min_watts));
}

void idle_fit_free(struct idle_fit *f) {
  free(f);
}
