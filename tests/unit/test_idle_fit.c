// SPDX-License-Identifier: GPL-2.0-only
/* idle_fit: idle power from synthetic (utilization, watts) series. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "idle_fit.h"
#include "testutil.h"

#define FORGETTING 0.999 /* as documented in idle_fit.c */

/* Utilization spread evenly over [lo, hi] in no particular order (golden
 * ratio steps), and noise of at most 2 W uncorrelated with it (a sine of
 * an unrelated frequency). */
static double util_at(int i, double lo, double hi) {
  return lo + (hi - lo) * fmod(i * 0.6180339887498949, 1.0);
}
static double noise_at(int i) {
  return 2 * sin(i * 0.7);
}

/* Weighted least squares from scratch, in long double over the raw sums:
 * the same estimate computed independently of the online centred form. */
static double batch_intercept(int n, double lo, double hi, double idle,
                              double slope) {
  long double sw = 0, su = 0, sp = 0, suu = 0, sup = 0;
  for (int i = 0; i < n; i++) {
    long double w = powl(FORGETTING, n - 1 - i);
    long double u = util_at(i, lo, hi), p = idle + slope * u + noise_at(i);
    sw += w;
    su += w * u;
    sp += w * p;
    suu += w * u * u;
    sup += w * u * p;
  }
  long double b = (sw * sup - su * sp) / (sw * suu - su * su);
  return (double)((sp - b * su) / sw);
}

START_TEST(test_empty) {
  struct idle_fit *f = idle_fit_new();
  ck_assert_double_eq(idle_fit_idle(f), 0);
  ck_assert(!idle_fit_is_fitted(f));
  idle_fit_add(f, NAN, 10);
  idle_fit_add(f, 0.5, INFINITY);
  idle_fit_add(f, -0.1, 10);
  idle_fit_add(f, 0.5, -3);
  ck_assert_double_eq(idle_fit_idle(f), 0); /* none of those counted */
  idle_fit_free(f);
}
END_TEST

/* A host that is never idle: utilization 10..90 %, watts = 50 + 100 u
 * +- 2. The minimum seen is near 58 W; the intercept finds 50. With noise
 * of standard deviation sqrt(2) W, an effective ~865 samples (the
 * forgetting) and utilization sd 0.23 around 0.5, the intercept's standard
 * error is about 0.12 W: 1 W is ~8 of them, while the minimum seen is off
 * by 8 W. */
START_TEST(test_recovers_intercept) {
  const int n = 2000;
  struct idle_fit *f = idle_fit_new();
  double min_seen = INFINITY;
  for (int i = 0; i < n; i++) {
    double u = util_at(i, 0.1, 0.9), w = 50 + 100 * u + noise_at(i);
    idle_fit_add(f, u, w);
    min_seen = fmin(min_seen, w);
  }
  ck_assert(idle_fit_is_fitted(f));
  ck_assert_msg(fabs(idle_fit_idle(f) - 50) < 1, "idle %g", idle_fit_idle(f));
  ck_assert(min_seen > 57);
  ck_assert_close(idle_fit_idle(f), batch_intercept(n, 0.1, 0.9, 50, 100));
  idle_fit_free(f);
}
END_TEST

/* The old samples fade: after 5000 samples of a new idle power the first
 * regime keeps 0.999^5000 < 0.7 % of the weight. Without forgetting the
 * estimate would sit near 50 + 30 * 3000/8000 = 61 W. */
START_TEST(test_forgets_the_past) {
  struct idle_fit *f = idle_fit_new();
  for (int i = 0; i < 3000; i++) {
    double u = util_at(i, 0.1, 0.9);
    idle_fit_add(f, u, 80 + 100 * u + noise_at(i));
  }
  for (int i = 3000; i < 8000; i++) {
    double u = util_at(i, 0.1, 0.9);
    idle_fit_add(f, u, 50 + 100 * u + noise_at(i));
  }
  ck_assert_msg(fabs(idle_fit_idle(f) - 50) < 1, "idle %g", idle_fit_idle(f));
  idle_fit_free(f);
}
END_TEST

START_TEST(test_minimum_when_utilization_never_varies) {
  struct idle_fit *f = idle_fit_new();
  double min_seen = INFINITY;
  for (int i = 0; i < 500; i++) {
    double w = 90 + 5 * sin(i * 0.7);
    idle_fit_add(f, 0.4, w);
    min_seen = fmin(min_seen, w);
    ck_assert_double_eq(idle_fit_idle(f), min_seen);
  }
  ck_assert(!idle_fit_is_fitted(f));
  idle_fit_free(f);
}
END_TEST

/* Utilization alternating 0.5 +- d has a standard deviation of d: the
 * threshold is 0.05. */
START_TEST(test_spread_threshold) {
  struct idle_fit *narrow = idle_fit_new(), *wide = idle_fit_new();
  for (int i = 0; i < 200; i++) {
    double sign = i % 2 ? 1 : -1;
    idle_fit_add(narrow, 0.5 + sign * 0.045, 70 + 100 * sign * 0.045);
    idle_fit_add(wide, 0.5 + sign * 0.055, 70 + 100 * sign * 0.055);
  }
  ck_assert(!idle_fit_is_fitted(narrow));
  ck_assert_close(idle_fit_idle(narrow), 70 - 4.5);
  ck_assert(idle_fit_is_fitted(wide));
  ck_assert_close(idle_fit_idle(wide), 20); /* the exact line's intercept */
  idle_fit_free(narrow);
  idle_fit_free(wide);
}
END_TEST

START_TEST(test_needs_ten_samples) {
  struct idle_fit *f = idle_fit_new();
  for (int i = 0; i < 9; i++) {
    double u = util_at(i, 0.2, 1.0);
    idle_fit_add(f, u, 30 + 60 * u);
  }
  ck_assert(!idle_fit_is_fitted(f));
  idle_fit_add(f, 0.5, 30 + 60 * 0.5);
  ck_assert(idle_fit_is_fitted(f));
  ck_assert_close(idle_fit_idle(f), 30);
  idle_fit_free(f);
}
END_TEST

START_TEST(test_never_above_minimum_seen) {
  struct idle_fit *f = idle_fit_new();
  for (int i = 0; i < 100; i++) {
    double u = util_at(i, 0.0, 1.0);
    idle_fit_add(f, u, 50 + 100 * u);
  }
  idle_fit_add(f, 0.5, 30); /* one dip well below the line */
  ck_assert(idle_fit_is_fitted(f));
  ck_assert_double_eq(idle_fit_idle(f), 30);
  idle_fit_free(f);
}
END_TEST

START_TEST(test_never_negative) {
  struct idle_fit *f = idle_fit_new();
  for (int i = 0; i < 100; i++) {
    double u = util_at(i, 0.3, 1.0);
    idle_fit_add(f, u, -20 + 100 * u); /* 10..80 W, intercept -20 */
  }
  ck_assert(idle_fit_is_fitted(f));
  ck_assert_double_eq(idle_fit_idle(f), 0);
  idle_fit_free(f);
}
END_TEST

static Suite *idle_fit_suite(void) {
  Suite *s = suite_create("idle_fit");
  TCase *tc = tcase_create("fit");
  tcase_add_test(tc, test_empty);
  tcase_add_test(tc, test_recovers_intercept);
  tcase_add_test(tc, test_forgets_the_past);
  tcase_add_test(tc, test_minimum_when_utilization_never_varies);
  tcase_add_test(tc, test_spread_threshold);
  tcase_add_test(tc, test_needs_ten_samples);
  tcase_add_test(tc, test_never_above_minimum_seen);
  tcase_add_test(tc, test_never_negative);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(idle_fit_suite());
}
