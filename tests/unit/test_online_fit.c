// SPDX-License-Identifier: GPL-2.0-only
/* online_fit: RLS node-power weights from synthetic (features, watts) pairs
 * with a known linear truth, checked against the truth, against weighted
 * least squares solved from scratch here, and through the written Kepler
 * weight JSON loaded back by the model code. */
#define _GNU_SOURCE /* mkdtemp, asprintf */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* json-c to read back what was written (libkeplercore links it). */
#include <json-c/json.h>

#include "machine_spec_json.h"
#include "model.h"
#include "model_kepler_json.h"
#include "model_load.h"
#include "node_power.h"
#include "online_fit.h"
#include "testutil.h"

#define DELTA 1e4L /* the initial P, as documented in online_fit.c */

/* --- Synthetic data ------------------------------------------------------ */

/* Inputs spread evenly over their range in no particular order: fractional
 * parts of i times irrational steps (golden ratio, sqrt 2, sqrt 3), so the
 * features vary independently enough to be told apart. Instructions follow
 * cpu time half-way (correlated, as on a real host, but not collinear). */
static double seq(int i, double step) {
  return fmod(i * step, 1.0);
}
#define S_PHI 0.6180339887498949
#define S_SQ2 0.4142135623730951
#define S_SQ3 0.7320508075688772

#define CPU_MAX 4000.0 /* ms/s: 4 CPUs busy */
#define INSTR_MAX 4e10 /* instructions/s */
#define CACHE_MAX 2e8  /* cache misses/s */

static const enum kepler_feature FITTED[] = {
    FEATURE_CPU_TIME_MS, FEATURE_CPU_INSTRUCTIONS, FEATURE_CACHE_MISS};

struct truth {
  double bias;
  double slope[FEATURE_MAX]; /* W per unit of x */
  double noise, freq;        /* noise = amplitude * sin(freq * i) */
};

/* platform = 50 + 120 * cpu/2000 + 3e-9 * instructions + 5e-8 * misses,
 * package = 20 + 40 * cpu/2000 + 1e-9 * instructions, dram = 5 + 2e-8 *
 * misses, each with bounded noise uncorrelated with the inputs (a sine of
 * an unrelated frequency): at most 2, 1 and 0.2 W. */
static struct truth truth_a[COMPONENT_MAX] = {
    [COMPONENT_PLATFORM] = {50,
                            {[FEATURE_CPU_TIME_MS] = 0.06,
                             [FEATURE_CPU_INSTRUCTIONS] = 3e-9,
                             [FEATURE_CACHE_MISS] = 5e-8},
                            2,
                            0.7},
    [COMPONENT_PACKAGE] =
        {20,
         {[FEATURE_CPU_TIME_MS] = 0.02, [FEATURE_CPU_INSTRUCTIONS] = 1e-9},
         1,
         1.3},
    [COMPONENT_DRAM] = {5, {[FEATURE_CACHE_MISS] = 2e-8}, 0.2, 2.1},
};
/* A different machine state for the forgetting test. */
static struct truth truth_b[COMPONENT_MAX] = {
    [COMPONENT_PLATFORM] = {80,
                            {[FEATURE_CPU_TIME_MS] = 0.03,
                             [FEATURE_CPU_INSTRUCTIONS] = 5e-9,
                             [FEATURE_CACHE_MISS] = 1e-7},
                            2,
                            0.7},
    [COMPONENT_PACKAGE] =
        {35,
         {[FEATURE_CPU_TIME_MS] = 0.01, [FEATURE_CPU_INSTRUCTIONS] = 2e-9},
         1,
         1.3},
    [COMPONENT_DRAM] = {8, {[FEATURE_CACHE_MISS] = 1e-8}, 0.2, 2.1},
};

/* Pair i of a stream: features over `range` (1 = the full ranges above;
 * pair 0 at the range's maxima when max_first), the components in
 * present[] measured from truth t. */
struct stream {
  const struct truth *t;
  bool present[COMPONENT_MAX];
  double range;
  bool max_first;
};

static void x_at(const struct stream *s, int i, double x[FEATURE_MAX]) {
  double u1 = seq(i, S_PHI), u2 = seq(i, S_SQ2), u3 = seq(i, S_SQ3);
  if (s->max_first && i == 0)
    u1 = u2 = u3 = 1;
  memset(x, 0, FEATURE_MAX * sizeof(x[0]));
  x[FEATURE_CPU_TIME_MS] = s->range * CPU_MAX * u1;
  x[FEATURE_CPU_INSTRUCTIONS] = s->range * INSTR_MAX * (0.5 * u1 + 0.5 * u2);
  x[FEATURE_CACHE_MISS] = s->range * CACHE_MAX * u3;
}

static double true_watts(const struct truth *t, const double x[FEATURE_MAX]) {
  double w = t->bias;
  for (int f = 0; f < FEATURE_MAX; f++)
    w += t->slope[f] * x[f];
  return w;
}

static void pair_at(const struct stream *s, int i, double x[FEATURE_MAX],
                    struct node_power *np) {
  x_at(s, i, x);
  memset(np, 0, sizeof(*np));
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (s->present[c]) {
      const struct truth *t = &s->t[c];
      np->present[c] = true;
      np->absolute[c] = true_watts(t, x) + t->noise * sin(t->freq * i);
    }
}

static void feed(struct online_fit *f, const struct stream *s, int from,
                 int to) {
  double x[FEATURE_MAX];
  struct node_power np;
  for (int i = from; i < to; i++) {
    pair_at(s, i, x, &np);
    online_fit_add(f, x, &np);
  }
}

static const struct stream STREAM_A = {
    .t = truth_a,
    .present = {[COMPONENT_PLATFORM] = true,
                [COMPONENT_PACKAGE] = true,
                [COMPONENT_DRAM] = true},
    .range = 1,
};

static struct online_fit *new_fit(double forgetting) {
  bool have[FEATURE_MAX] = {false};
  for (size_t j = 0; j < ARRAY_SIZE(FITTED); j++)
    have[FITTED[j]] = true;
  struct online_fit *f = online_fit_new(have, forgetting);
  ck_assert_ptr_nonnull(f);
  return f;
}

/* --- The reference: weighted least squares from scratch ------------------ */

/* theta = [b, w_j] on z_j = x_j / s_j with s_j = max |x_j| over the data
 * (MaxAbs; 1 when all 0) and weights lambda^(n-1-i), from the normal
 * equations solved by Gaussian elimination in long double, plus
 * `ridge` * lambda^n on the diagonal when asked (RLS's initial P = delta I
 * leaves exactly that term: ridge = 1 / delta). */
struct batch {
  long double theta[1 + ARRAY_SIZE(FITTED)];
  double scale[ARRAY_SIZE(FITTED)];
};

static void batch_fit(const struct stream *s, enum kepler_component c,
                      double lambda, int n, long double ridge,
                      struct batch *out) {
  enum { K = ARRAY_SIZE(FITTED), NP = K + 1 };
  double x[FEATURE_MAX];
  struct node_power np;
  for (size_t j = 0; j < K; j++)
    out->scale[j] = 0;
  for (int i = 0; i < n; i++) {
    x_at(s, i, x);
    for (size_t j = 0; j < K; j++)
      out->scale[j] = fmax(out->scale[j], fabs(x[FITTED[j]]));
  }
  for (size_t j = 0; j < K; j++)
    if (out->scale[j] == 0)
      out->scale[j] = 1;
  long double a[NP][NP + 1] = {{0}};
  for (int i = 0; i < n; i++) {
    pair_at(s, i, x, &np);
    long double w = powl(lambda, n - 1 - i), z[NP] = {1};
    for (size_t j = 0; j < K; j++)
      z[1 + j] = (long double)x[FITTED[j]] / out->scale[j];
    for (size_t r = 0; r < NP; r++) {
      for (size_t q = 0; q < NP; q++)
        a[r][q] += w * z[r] * z[q];
      a[r][NP] += w * z[r] * np.absolute[c];
    }
  }
  for (size_t r = 0; r < NP; r++)
    a[r][r] += ridge * powl(lambda, n);
  for (size_t col = 0; col < NP; col++) {
    size_t piv = col;
    for (size_t r = col + 1; r < NP; r++)
      if (fabsl(a[r][col]) > fabsl(a[piv][col]))
        piv = r;
    for (size_t q = 0; q <= NP; q++) {
      long double t = a[col][q];
      a[col][q] = a[piv][q];
      a[piv][q] = t;
    }
    for (size_t r = 0; r < NP; r++)
      if (r != col) {
        long double m = a[r][col] / a[col][col];
        for (size_t q = col; q <= NP; q++)
          a[r][q] -= m * a[col][q];
      }
  }
  for (size_t r = 0; r < NP; r++)
    out->theta[r] = a[r][NP] / a[r][r];
}

/* --- Reading the written file back --------------------------------------- */

struct written {
  bool present;
  double bias;
  bool has[FEATURE_MAX];
  double scale[FEATURE_MAX], weight[FEATURE_MAX];
};

static double num(json_object *o, const char *key) {
  json_object *v;
  ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
  ck_assert(json_object_is_type(v, json_type_double) ||
            json_object_is_type(v, json_type_int));
  return json_object_get_double(v);
}

static void read_written(const char *path, struct written w[COMPONENT_MAX]) {
  json_object *root = json_object_from_file(path);
  ck_assert_msg(root, "%s does not parse", path);
  memset(w, 0, COMPONENT_MAX * sizeof(w[0]));
  for (int c = 0; c < COMPONENT_MAX; c++) {
    json_object *comp, *all, *vars, *cats;
    if (!json_object_object_get_ex(root, component_name(c), &comp))
      continue;
    w[c].present = true;
    ck_assert(json_object_object_get_ex(comp, "All_Weights", &all));
    w[c].bias = num(all, "Bias_Weight");
    ck_assert(json_object_object_get_ex(all, "Categorical_Variables", &cats));
    ck_assert_int_eq(json_object_object_length(cats), 0);
    ck_assert(json_object_object_get_ex(all, "Numerical_Variables", &vars));
    json_object_object_foreach(vars, name, v) {
      int f = feature_by_name(name);
      ck_assert_int_ge(f, 0);
      w[c].has[f] = true;
      w[c].scale[f] = num(v, "scale");
      w[c].weight[f] = num(v, "weight");
    }
  }
  json_object_put(root);
}

/* A fresh directory, and "<dir>/LinearRegressionTrainer_0.json" in it. */
struct tmpdir {
  char dir[64];
  char *path;
};

static void tmpdir_make(struct tmpdir *t) {
  strcpy(t->dir, "/tmp/test_online_fit.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(t->dir));
  ck_assert_int_ge(
      asprintf(&t->path, "%s/LinearRegressionTrainer_0.json", t->dir), 0);
}

static int dir_entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void tmpdir_remove(struct tmpdir *t) {
  unlink(t->path);
  ck_assert_int_eq(rmdir(t->dir), 0); /* nothing else was left there */
  free(t->path);
}

static void write_ok(const struct online_fit *f, const char *path) {
  char err[512] = "";
  int rc = online_fit_write(f, path, "LinearRegressionTrainer_0", NULL, err,
                            sizeof err);
  ck_assert_msg(rc == 0, "write: %s", err);
}

/* --- Tests --------------------------------------------------------------- */

START_TEST(test_empty) {
  bool have[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = true};
  ck_assert_ptr_null(online_fit_new(have, 0));
  ck_assert_ptr_null(online_fit_new(have, 1.01));
  ck_assert_ptr_null(online_fit_new(have, NAN));
  struct online_fit *f = online_fit_new(have, 1);
  ck_assert_ptr_nonnull(f);
  online_fit_free(f);

  f = new_fit(0.999);
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 1000};
  ck_assert_uint_eq(online_fit_min_samples(f), ARRAY_SIZE(FITTED) + 2);
  for (int c = 0; c < COMPONENT_MAX; c++) {
    ck_assert_uint_eq(online_fit_samples(f, c), 0);
    ck_assert(isnan(online_fit_mae(f, c)));
    ck_assert(!online_fit_is_fitted(f, c));
    ck_assert_double_eq(online_fit_predict(f, c, x), 0);
  }
  online_fit_free(f);
}
END_TEST

/* The known answer. 6000 pairs with forgetting 0.999: an effective
 * (sum w)^2 / sum w^2 ~ (1 + l) / (1 - l) ~ 2000 samples. With noise of
 * standard deviation 2 / sqrt 2 = 1.41 W (platform) and inputs uniform on
 * their range (z standard deviation ~0.29, instructions correlated with cpu
 * time: variance inflation ~2), a weight on the normalised scale (the watts
 * it adds at the largest input seen) has a standard error of about
 * 1.41 / (sqrt(2000) * 0.29) * sqrt 2 ~ 0.15 W and the bias about 0.1 W:
 * 0.5 W is over 3 of them (package and dram noise is smaller still). The
 * prequential MAE tends to E|noise| = 2 A / pi plus a second-order term of
 * the fit's own error: within 0.05 W. Against weighted least squares solved
 * from scratch the fit differs only by the prior's ridge term
 * (lambda^n / delta = 2.5e-7 next to data information of order 1e2) and
 * rounding: 1e-7 relative. */
START_TEST(test_recovers_truth) {
  const int n = 6000;
  const double lambda = 0.999;
  struct online_fit *f = new_fit(lambda);
  feed(f, &STREAM_A, 0, n);
  struct tmpdir t;
  tmpdir_make(&t);
  write_ok(f, t.path);
  struct written w[COMPONENT_MAX];
  read_written(t.path, w);
  const enum kepler_component fitted[] = {COMPONENT_PLATFORM, COMPONENT_PACKAGE,
                                          COMPONENT_DRAM};
  for (size_t i = 0; i < ARRAY_SIZE(fitted); i++) {
    enum kepler_component c = fitted[i];
    const struct truth *tr = &truth_a[c];
    struct batch b;
    batch_fit(&STREAM_A, c, lambda, n, 0, &b);
    double off_truth = fabs(w[c].bias - tr->bias);
    double off_batch =
        fabs(w[c].bias - (double)b.theta[0]) / fmax(1, fabsl(b.theta[0]));
    ck_assert(w[c].present);
    ck_assert_uint_eq(online_fit_samples(f, c), n);
    ck_assert_msg(fabs(w[c].bias - tr->bias) < 0.5, "%s bias %.6f, true %g",
                  component_name(c), w[c].bias, tr->bias);
    ck_assert_msg(fabs(w[c].bias - (double)b.theta[0]) <=
                      1e-7 * fmax(1, fabsl(b.theta[0])),
                  "%s bias %.12g, batch %.12Lg", component_name(c), w[c].bias,
                  b.theta[0]);
    for (size_t j = 0; j < ARRAY_SIZE(FITTED); j++) {
      enum kepler_feature ft = FITTED[j];
      ck_assert(w[c].has[ft]);
      ck_assert_double_eq(w[c].scale[ft], b.scale[j]); /* MaxAbs, exactly */
      double want = tr->slope[ft] * w[c].scale[ft];
      ck_assert_msg(fabs(w[c].weight[ft] - want) < 0.5,
                    "%s %s weight %.6f, true %.6f", component_name(c),
                    feature_name(ft), w[c].weight[ft], want);
      long double bt = b.theta[1 + j];
      off_truth = fmax(off_truth, fabs(w[c].weight[ft] - want));
      off_batch = fmax(off_batch,
                       fabs(w[c].weight[ft] - (double)bt) / fmax(1, fabsl(bt)));
      ck_assert_msg(fabs(w[c].weight[ft] - (double)bt) <=
                        1e-7 * fmax(1, fabsl(bt)),
                    "%s %s weight %.12g, batch %.12Lg", component_name(c),
                    feature_name(ft), w[c].weight[ft], bt);
    }
    double mae = online_fit_mae(f, c), noise = 2 * tr->noise / M_PI;
    ck_assert_msg(fabs(mae - noise) < 0.05, "%s MAE %.4f, E|noise| %.4f",
                  component_name(c), mae, noise);
    fprintf(stderr,
            "recovers_truth %s: bias %.4f (true %g), worst |weight - truth| "
            "%.4f W, vs batch %.2g relative, MAE %.4f (E|noise| %.4f)\n",
            component_name(c), w[c].bias, tr->bias, off_truth, off_batch, mae,
            noise);
  }
  /* Never measured: not fitted, not written. */
  ck_assert(!w[COMPONENT_CORE].present && !w[COMPONENT_UNCORE].present);
  ck_assert_uint_eq(online_fit_samples(f, COMPONENT_CORE), 0);
  ck_assert(isnan(online_fit_mae(f, COMPONENT_UNCORE)));
  tmpdir_remove(&t);
  online_fit_free(f);
}
END_TEST

/* With the first pair at the inputs' maxima no scale changes afterwards,
 * so the RLS state is exactly the weighted least squares solution with the
 * ridge lambda^n / delta of its initial P: equal up to rounding (1e-9). */
START_TEST(test_matches_batch_exactly) {
  const int n = 3000;
  const double lambda = 0.99;
  struct stream s = STREAM_A;
  s.max_first = true;
  struct online_fit *f = new_fit(lambda);
  feed(f, &s, 0, n);
  struct tmpdir t;
  tmpdir_make(&t);
  write_ok(f, t.path);
  struct written w[COMPONENT_MAX];
  read_written(t.path, w);
  double worst = 0;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!s.present[c])
      continue;
    struct batch b;
    batch_fit(&s, c, lambda, n, 1 / DELTA, &b);
    ck_assert_close(w[c].bias, (double)b.theta[0]);
    worst = fmax(worst, fabs(w[c].bias - (double)b.theta[0]) /
                            fmax(1, fabsl(b.theta[0])));
    for (size_t j = 0; j < ARRAY_SIZE(FITTED); j++) {
      ck_assert_double_eq(w[c].scale[FITTED[j]], b.scale[j]);
      ck_assert_close(w[c].weight[FITTED[j]], (double)b.theta[1 + j]);
      worst =
          fmax(worst, fabs(w[c].weight[FITTED[j]] - (double)b.theta[1 + j]) /
                          fmax(1, fabsl(b.theta[1 + j])));
    }
  }
  fprintf(stderr, "matches_batch_exactly: worst relative difference %.3g\n",
          worst);
  tmpdir_remove(&t);
  online_fit_free(f);
}
END_TEST

/* The running MAE against an independent computation. With no features the
 * fit is the bias alone, and RLS from P = delta with forgetting l gives
 * theta_t = sum l^(t-i) y_i / (l^t / delta + sum l^(t-i)); the prediction
 * before pair t+1 is theta_t (never negative here), and the MAE is
 * sum l^(t-i) |y_i - prediction_i| / sum l^(t-i). */
START_TEST(test_mae_prequential) {
  const bool none[FEATURE_MAX] = {false};
  const long double l = 0.9L;
  struct online_fit *f = online_fit_new(none, (double)l);
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(online_fit_min_samples(f), 2);
  double x[FEATURE_MAX] = {0};
  struct node_power np = {.present = {[COMPONENT_PACKAGE] = true}};
  long double r = 1 / DELTA, b = 0, esum = 0, ew = 0;
  ck_assert(isnan(online_fit_mae(f, COMPONENT_PACKAGE)));
  for (int i = 0; i < 200; i++) {
    double y = 40 + 10 * sin(i * 0.7) + (i >= 100 ? 25 : 0);
    double pred = (double)(b / r);
    ck_assert_close(online_fit_predict(f, COMPONENT_PACKAGE, x), pred);
    if (i >= ONLINE_FIT_MAE_WARMUP) {
      esum = l * esum + fabsl(y - (long double)pred);
      ew = l * ew + 1;
    }
    r = l * r + 1;
    b = l * b + y;
    np.absolute[COMPONENT_PACKAGE] = y;
    online_fit_add(f, x, &np);
    if (i < ONLINE_FIT_MAE_WARMUP)
      ck_assert(isnan(online_fit_mae(f, COMPONENT_PACKAGE)));
    else
      ck_assert_close(online_fit_mae(f, COMPONENT_PACKAGE),
                      (double)(esum / ew));
    ck_assert(online_fit_is_fitted(f, COMPONENT_PACKAGE) == (i >= 1));
  }
  fprintf(stderr, "mae_prequential: MAE %.6f\n",
          online_fit_mae(f, COMPONENT_PACKAGE));
  online_fit_free(f);
}
END_TEST

/* The truth changes after 3000 pairs; 5000 pairs later the old state keeps
 * 0.999^5000 < 0.7 % of the weight, so the fit is that of the new truth
 * within the tolerance of test_recovers_truth plus 0.7 % of the change
 * (< 0.2 W at full scale). Without forgetting it stays a mixture, far off. */
START_TEST(test_forgets_the_past) {
  struct stream a = STREAM_A, b = STREAM_A;
  b.t = truth_b;
  struct online_fit *f = new_fit(0.999), *never = new_fit(1);
  feed(f, &a, 0, 3000);
  feed(never, &a, 0, 3000);
  feed(f, &b, 3000, 8000);
  feed(never, &b, 3000, 8000);
  double x[FEATURE_MAX];
  double worst = 0, worst_never = INFINITY;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!a.present[c])
      continue;
    for (int i = 0; i < 50; i++) {
      x_at(&b, 10007 + i, x);
      double want = true_watts(&truth_b[c], x);
      double got = online_fit_predict(f, c, x);
      worst = fmax(worst, fabs(got - want));
      ck_assert_msg(fabs(got - want) < 1, "%s: %.4f W, new truth %.4f W",
                    component_name(c), got, want);
    }
    /* Platform and package: the mixture misses by watts. */
    if (c == COMPONENT_PLATFORM || c == COMPONENT_PACKAGE) {
      double miss = 0;
      for (int i = 0; i < 50; i++) {
        x_at(&b, 10007 + i, x);
        miss = fmax(miss, fabs(online_fit_predict(never, c, x) -
                               true_watts(&truth_b[c], x)));
      }
      ck_assert_msg(miss > 5, "%s without forgetting misses by %.3f W",
                    component_name(c), miss);
      worst_never = fmin(worst_never, miss);
    }
  }
  fprintf(stderr,
          "forgets_the_past: worst error %.4f W; without forgetting at "
          "least %.2f W\n",
          worst, worst_never);
  online_fit_free(f);
  online_fit_free(never);
}
END_TEST

/* A fitted feature that is always 0 (no block I/O): written with weight 0
 * and scale 1 (MaxAbs of nothing), and the rest of the fit is exactly that
 * of a fit without it. Forgetting 0.99 over 3000 pairs: were its prior left
 * to wind up (0.99^-3000 ~ 1e13) the guard would act and touch the rest. */
START_TEST(test_feature_never_varying) {
  bool have[FEATURE_MAX] = {false};
  for (size_t j = 0; j < ARRAY_SIZE(FITTED); j++)
    have[FITTED[j]] = true;
  struct online_fit *without = online_fit_new(have, 0.99);
  have[FEATURE_BLOCK_IRQ] = true;
  struct online_fit *with = online_fit_new(have, 0.99);
  ck_assert_ptr_nonnull(without);
  ck_assert_ptr_nonnull(with);
  feed(without, &STREAM_A, 0, 3000);
  feed(with, &STREAM_A, 0, 3000); /* x[FEATURE_BLOCK_IRQ] is always 0 */
  struct tmpdir t;
  tmpdir_make(&t);
  write_ok(with, t.path);
  struct written w[COMPONENT_MAX];
  read_written(t.path, w);
  double x[FEATURE_MAX];
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!STREAM_A.present[c])
      continue;
    ck_assert(w[c].has[FEATURE_BLOCK_IRQ]);
    ck_assert_double_eq(w[c].weight[FEATURE_BLOCK_IRQ], 0);
    ck_assert_double_eq(w[c].scale[FEATURE_BLOCK_IRQ], 1);
    ck_assert_double_eq(online_fit_mae(with, c), online_fit_mae(without, c));
    for (int i = 0; i < 20; i++) {
      x_at(&STREAM_A, 5000 + i, x);
      x[FEATURE_BLOCK_IRQ] = 1000 * i; /* weight 0: no effect */
      ck_assert_double_eq(online_fit_predict(with, c, x),
                          online_fit_predict(without, c, x));
    }
  }
  struct power_model *m = NULL;
  char err[512];
  ck_assert_msg(model_load_file(t.path, &m, err, sizeof err) == 0, "%s", err);
  ck_assert(!model_uses_feature(m, FEATURE_BLOCK_IRQ));
  ck_assert(model_uses_feature(m, FEATURE_CACHE_MISS));
  model_free(m);
  tmpdir_remove(&t);
  online_fit_free(with);
  online_fit_free(without);
}
END_TEST

/* Inputs over half their range, then one pair at twice the largest cpu
 * time seen, measured as exactly what the fit predicts there (so the update
 * itself moves nothing): the cpu scale doubles, and the prediction at a
 * fixed x is the same just before and just after (if the weight were not
 * transformed with its scale, cpu's part would halve: watts off). */
START_TEST(test_rescale_keeps_predictions) {
  struct stream half = STREAM_A;
  half.range = 0.5;
  struct online_fit *f = new_fit(0.999);
  feed(f, &half, 0, 2000);
  double x0[FEATURE_MAX], big[FEATURE_MAX];
  x_at(&half, 7777, x0);
  x_at(&half, 1, big); /* some ordinary pair, then its cpu time raised */
  big[FEATURE_CPU_TIME_MS] = CPU_MAX;
  struct node_power np = {.present = {[COMPONENT_PLATFORM] = true}};
  np.absolute[COMPONENT_PLATFORM] =
      online_fit_predict(f, COMPONENT_PLATFORM, big);
  double before = online_fit_predict(f, COMPONENT_PLATFORM, x0);
  double mae_before = online_fit_mae(f, COMPONENT_PLATFORM);
  online_fit_add(f, big, &np);
  double after = online_fit_predict(f, COMPONENT_PLATFORM, x0);
  ck_assert_close(after, before);
  /* the pair's own error was ~0: the MAE only decays */
  ck_assert_close(online_fit_mae(f, COMPONENT_PLATFORM),
                  mae_before *
                      (0.999 * (1 - pow(0.999, 2000 - ONLINE_FIT_MAE_WARMUP)) /
                       (1 - pow(0.999, 2001 - ONLINE_FIT_MAE_WARMUP))));
  struct tmpdir t;
  tmpdir_make(&t);
  write_ok(f, t.path);
  struct written w[COMPONENT_MAX];
  read_written(t.path, w);
  ck_assert_double_eq(w[COMPONENT_PLATFORM].scale[FEATURE_CPU_TIME_MS],
                      CPU_MAX);
  /* package was not measured in that pair: its scale did not move */
  ck_assert(w[COMPONENT_PACKAGE].scale[FEATURE_CPU_TIME_MS] < CPU_MAX / 2);
  fprintf(stderr,
          "rescale_keeps_predictions: %.15g W before, %.15g W after "
          "(relative %.2g)\n",
          before, after, fabs(after - before) / before);
  tmpdir_remove(&t);
  online_fit_free(f);
}
END_TEST

/* Non-finite inputs are dropped: a NaN or infinite fitted feature drops
 * the whole pair; a NaN, infinite or negative power only that component's;
 * an unfitted feature may be anything. */
START_TEST(test_nonfinite_ignored) {
  struct online_fit *f = new_fit(0.999);
  feed(f, &STREAM_A, 0, 100);
  double x[FEATURE_MAX], probe[FEATURE_MAX];
  struct node_power np;
  x_at(&STREAM_A, 555, probe);
  double p_plat = online_fit_predict(f, COMPONENT_PLATFORM, probe);
  double mae_plat = online_fit_mae(f, COMPONENT_PLATFORM);
  const double bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t b = 0; b < ARRAY_SIZE(bad); b++) {
    pair_at(&STREAM_A, 100, x, &np);
    x[FEATURE_CPU_INSTRUCTIONS] = bad[b];
    online_fit_add(f, x, &np);
  }
  for (int c = 0; c < COMPONENT_MAX; c++)
    ck_assert_uint_eq(online_fit_samples(f, c), STREAM_A.present[c] ? 100 : 0);
  ck_assert_double_eq(online_fit_predict(f, COMPONENT_PLATFORM, probe), p_plat);
  ck_assert_double_eq(online_fit_mae(f, COMPONENT_PLATFORM), mae_plat);

  const double bad_w[] = {NAN, INFINITY, -1};
  for (size_t b = 0; b < ARRAY_SIZE(bad_w); b++) {
    pair_at(&STREAM_A, 100 + (int)b, x, &np);
    x[FEATURE_NET_RX_IRQ] = NAN; /* not fitted: no matter */
    np.absolute[COMPONENT_PLATFORM] = bad_w[b];
    online_fit_add(f, x, &np);
  }
  ck_assert_uint_eq(online_fit_samples(f, COMPONENT_PLATFORM), 100);
  ck_assert_uint_eq(online_fit_samples(f, COMPONENT_PACKAGE), 103);
  ck_assert_uint_eq(online_fit_samples(f, COMPONENT_DRAM), 103);
  ck_assert_double_eq(online_fit_predict(f, COMPONENT_PLATFORM, probe), p_plat);
  ck_assert_double_eq(online_fit_mae(f, COMPONENT_PLATFORM), mae_plat);
  online_fit_free(f);
}
END_TEST

/* A component missing from measured->present is left exactly as it was. */
START_TEST(test_absent_untouched) {
  struct online_fit *f = new_fit(0.999);
  feed(f, &STREAM_A, 0, 500);
  struct stream only_pkg = STREAM_A;
  memset(only_pkg.present, 0, sizeof only_pkg.present);
  only_pkg.present[COMPONENT_PACKAGE] = true;
  only_pkg.range = 2; /* would grow the scales of everything it touched */
  double probe[FEATURE_MAX];
  x_at(&STREAM_A, 999, probe);
  double p[COMPONENT_MAX], mae[COMPONENT_MAX];
  for (int c = 0; c < COMPONENT_MAX; c++) {
    p[c] = online_fit_predict(f, c, probe);
    mae[c] = online_fit_mae(f, c);
  }
  feed(f, &only_pkg, 500, 1000);
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (c == COMPONENT_PACKAGE) {
      ck_assert_uint_eq(online_fit_samples(f, c), 1000);
      continue;
    }
    ck_assert_uint_eq(online_fit_samples(f, c), STREAM_A.present[c] ? 500 : 0);
    ck_assert_double_eq(online_fit_predict(f, c, probe), p[c]);
    if (STREAM_A.present[c])
      ck_assert_double_eq(online_fit_mae(f, c), mae[c]);
    else
      ck_assert(isnan(online_fit_mae(f, c)));
  }
  online_fit_free(f);
}
END_TEST

/* Directions the data stop exciting wind P up by 1 / lambda per pair; the
 * guard resets P and the fit carries on. Instructions vary for 50 pairs and
 * are 0 for the next 20000 (lambda 0.99: P would grow by 0.99^-19950, about
 * 1e87); then cpu time is held constant for 5000 pairs (the bias and cpu
 * weight collinear). Throughout, predictions stay finite and within the
 * noise of the truth where the data are. */
START_TEST(test_windup_guard) {
  struct online_fit *f = new_fit(0.99);
  struct stream s = STREAM_A;
  double x[FEATURE_MAX];
  struct node_power np;
  for (int i = 0; i < 25050; i++) {
    pair_at(&s, i, x, &np);
    if (i >= 50)
      x[FEATURE_CPU_INSTRUCTIONS] = 0;
    if (i >= 20050)
      x[FEATURE_CPU_TIME_MS] = 2000;
    for (int c = 0; c < COMPONENT_MAX; c++)
      if (np.present[c])
        np.absolute[c] =
            true_watts(&s.t[c], x) + s.t[c].noise * sin(s.t[c].freq * i);
    if (i >= 100) {
      for (int c = 0; c < COMPONENT_MAX; c++) {
        if (!np.present[c])
          continue;
        double got = online_fit_predict(f, c, x);
        ck_assert_msg(isfinite(got), "pair %d", i);
        /* the guard moves no prediction: the fit stays within 1 W */
        ck_assert_msg(fabs(got - true_watts(&s.t[c], x)) < 1,
                      "pair %d %s: %.3f W, true %.3f W", i, component_name(c),
                      got, true_watts(&s.t[c], x));
      }
    }
    online_fit_add(f, x, &np);
  }
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!s.present[c])
      continue;
    ck_assert(online_fit_is_fitted(f, c));
    pair_at(&s, 30001, x, &np);
    x[FEATURE_CPU_INSTRUCTIONS] = 0;
    x[FEATURE_CPU_TIME_MS] = 2000;
    double got = online_fit_predict(f, c, x), want = true_watts(&s.t[c], x);
    ck_assert_msg(fabs(got - want) < 2 * s.t[c].noise + 0.1,
                  "%s: %.4f W, true %.4f W", component_name(c), got, want);
    ck_assert_msg(online_fit_mae(f, c) < 2 * s.t[c].noise, "%s MAE %.4f",
                  component_name(c), online_fit_mae(f, c));
    fprintf(stderr, "windup_guard %s: %.4f W (true %.4f), MAE %.4f\n",
            component_name(c), got, want, online_fit_mae(f, c));
  }
  online_fit_free(f);
}
END_TEST

/* The written file loads through model_load_file (trainer from the name)
 * and model_load_kepler_json, and predicts exactly what online_fit_predict
 * does (the same doubles in the same equation), including 0 where the line
 * goes negative and at inputs far outside those seen. */
START_TEST(test_round_trip) {
  struct truth falling[COMPONENT_MAX];
  memcpy(falling, truth_a, sizeof falling);
  /* dram: a negative slope, so the line crosses 0 inside the range */
  falling[COMPONENT_DRAM].bias = 5;
  falling[COMPONENT_DRAM].slope[FEATURE_CACHE_MISS] = -5e-8;
  struct stream s = STREAM_A;
  s.t = falling;
  struct online_fit *f = new_fit(0.999);
  feed(f, &s, 0, 1500);
  struct tmpdir t;
  tmpdir_make(&t);
  const struct machine_spec spec = {.cpu = "Intel(R) Xeon(R) Gold 6230",
                                    .vendor = "GenuineIntel",
                                    .chips = 2,
                                    .cores = 40,
                                    .threads = 80,
                                    .memory_gb = 376.5,
                                    .mhz = 2100};
  char err[512] = "";
  ck_assert_msg(online_fit_write(f, t.path, "LinearRegressionTrainer_0", &spec,
                                 err, sizeof err) == 0,
                "%s", err);
  /* twice: the second replaces the first */
  ck_assert_msg(online_fit_write(f, t.path, "LinearRegressionTrainer_0", &spec,
                                 err, sizeof err) == 0,
                "%s", err);
  ck_assert_int_eq(dir_entries(t.dir), 1); /* no temporary file left */
  struct stat st;
  ck_assert_int_eq(stat(t.path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0644);

  struct power_model *from_file = NULL, *from_text = NULL;
  ck_assert_msg(model_load_file(t.path, &from_file, err, sizeof err) == 0, "%s",
                err);
  FILE *fp = fopen(t.path, "r");
  ck_assert_ptr_nonnull(fp);
  char text[16384];
  size_t len = fread(text, 1, sizeof text, fp);
  ck_assert(feof(fp));
  fclose(fp);
  ck_assert_msg(model_load_kepler_json(
                    text, len, "(written)", "LinearRegressionTrainer_0",
                    MODEL_ABS_POWER, &from_text, err, sizeof err) == 0,
                "%s", err);
  double mae = -1;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    bool fitted = s.present[c];
    ck_assert(online_fit_is_fitted(f, c) == fitted);
    ck_assert(model_has_component(from_file, c) == fitted);
    ck_assert(model_has_component(from_text, c) == fitted);
    if (fitted)
      mae = fmax(mae, online_fit_mae(f, c));
  }
  ck_assert_str_eq(model_name(from_file), "LinearRegressionTrainer_0");
  ck_assert_double_eq(model_mae_watts(from_file), mae);
  ck_assert(model_output_type(from_file) == MODEL_ABS_POWER);

  double x[FEATURE_MAX];
  int zeros = 0, n = 0;
  for (int i = 0; i < 400; i++) {
    x_at(&s, 3000 + i, x);
    double k = i < 100 ? 1 : i < 200 ? 0 : i < 300 ? 3 : 1e6;
    for (int ft = 0; ft < FEATURE_MAX; ft++)
      x[ft] *= k;
    x[FEATURE_NET_TX_IRQ] = 123; /* not in the model */
    for (int c = 0; c < COMPONENT_MAX; c++) {
      double want = online_fit_predict(f, c, x);
      ck_assert_close(model_predict(from_file, c, x), want);
      ck_assert_close(model_predict(from_text, c, x), want);
      ck_assert_double_eq(model_predict(from_file, c, x), want); /* exactly */
      ck_assert(want >= 0);
      zeros += s.present[c] && want == 0;
      n++;
    }
  }
  ck_assert_int_gt(zeros, 0); /* the clamp was exercised */

  /* machine_spec: the one a model server request carries, so a server can
   * match this file to meterless machines of the same type. */
  json_object *root = json_object_from_file(t.path), *ms, *v;
  ck_assert_ptr_nonnull(root);
  ck_assert(json_object_object_get_ex(root, "machine_spec", &ms));
  json_object *want = machine_spec_json(&spec);
  ck_assert_msg(json_object_equal(ms, want), "machine_spec %s, want %s",
                json_object_to_json_string(ms),
                json_object_to_json_string(want));
  json_object_put(want);
  ck_assert(json_object_object_get_ex(ms, "vendor", &v));
  ck_assert_str_eq(json_object_get_string(v), "intel");
  ck_assert(json_object_object_get_ex(ms, "processor", &v));
  ck_assert_str_eq(json_object_get_string(v), "intel_xeon_gold_6230");
  ck_assert_double_eq(num(ms, "cores"), 80); /* Kepler's: logical CPUs */
  ck_assert_double_eq(num(ms, "chips"), 2);
  ck_assert_double_eq(num(ms, "memory"), 377); /* GB, rounded */
  ck_assert_double_eq(num(ms, "frequency"), 2100);
  ck_assert_double_eq(num(ms, "threads_per_core"), 2);
  ck_assert(json_object_object_get_ex(root, "model_name", &v));
  ck_assert_str_eq(json_object_get_string(v), "LinearRegressionTrainer_0");
  ck_assert_double_eq(num(root, "mae"), mae);
  json_object_put(root);
  fprintf(stderr,
          "round_trip: %d predictions equal bit for bit, %d of them "
          "clamped at 0; mae %.4f\n",
          n, zeros, mae);
  model_free(from_file);
  model_free(from_text);
  tmpdir_remove(&t);
  online_fit_free(f);
}
END_TEST

START_TEST(test_write_errors) {
  struct online_fit *f = new_fit(0.999);
  struct tmpdir t;
  tmpdir_make(&t);
  char err[512] = "";
  /* nothing fitted: an error, and no file */
  feed(f, &STREAM_A, 0, (int)online_fit_min_samples(f) - 1);
  ck_assert_int_eq(online_fit_write(f, t.path, "x", NULL, err, sizeof err), -1);
  ck_assert_msg(strstr(err, t.path) && strstr(err, "nothing fitted"), "%s",
                err);
  ck_assert_int_eq(dir_entries(t.dir), 0);
  /* one pair more and it is */
  feed(f, &STREAM_A, (int)online_fit_min_samples(f) - 1,
       (int)online_fit_min_samples(f));
  ck_assert(online_fit_is_fitted(f, COMPONENT_PLATFORM));
  write_ok(f, t.path);
  /* a directory that does not exist */
  char *missing;
  ck_assert_int_ge(asprintf(&missing,
                            "%s/no/such/dir/LinearRegressionTrainer_0.json",
                            t.dir),
                   0);
  err[0] = '\0';
  ck_assert_int_eq(online_fit_write(f, missing, "x", NULL, err, sizeof err),
                   -1);
  ck_assert_msg(strstr(err, missing) && strstr(err, "No such file"), "%s", err);
  fprintf(stderr, "write_errors: \"%s\"\n", err);
  free(missing);
  tmpdir_remove(&t);
  online_fit_free(f);
}
END_TEST

static Suite *online_fit_suite(void) {
  Suite *s = suite_create("online_fit");
  TCase *tc = tcase_create("fit");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_empty);
  tcase_add_test(tc, test_recovers_truth);
  tcase_add_test(tc, test_matches_batch_exactly);
  tcase_add_test(tc, test_mae_prequential);
  tcase_add_test(tc, test_forgets_the_past);
  tcase_add_test(tc, test_feature_never_varying);
  tcase_add_test(tc, test_rescale_keeps_predictions);
  tcase_add_test(tc, test_nonfinite_ignored);
  tcase_add_test(tc, test_absent_untouched);
  tcase_add_test(tc, test_windup_guard);
  tcase_add_test(tc, test_round_trip);
  tcase_add_test(tc, test_write_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(online_fit_suite());
}
