// SPDX-License-Identifier: GPL-2.0-only
/* Online linear node-power weights (online_fit.h).
 *
 * Model, per component: P = b + sum_i w_i * z_i with z_i = x_i / s_i, which
 * is Kepler's linear equation (kepler.md 3) with Bias_Weight b, weight w_i
 * and scale s_i, so theta = [b, w_1..w_k] is written as it is.
 *
 * Scales are Kepler's (sklearn MaxAbsScaler): s_i is the largest |x_i| this
 * component has seen, 1 until a nonzero value is seen.
 *
 * Fit: recursive least squares with exponential forgetting lambda in
 * covariance form, in long double. For a pair (z, y):
 *   g = P z,  d = lambda + z'g,  theta += g (y - theta'z) / d,
 *   P = (P - g g' / d) / lambda.
 * In exact arithmetic theta is then the weighted least squares solution
 * with weights lambda^(age) plus a ridge term lambda^n / delta on the
 * initial P = delta I (DELTA below).
 *
 * Numerical health:
 * - P is computed on and above the diagonal and mirrored, so it stays
 *   exactly symmetric (g g' is symmetric since P is).
 * - A feature never seen nonzero has z_i = 0 in every pair, so its row and
 *   column of P stay 0 off the diagonal and theta_i stays 0: it is not part
 *   of the fit. Its diagonal is kept at DELTA instead of growing by
 *   1 / lambda per pair (covariance wind-up), and when it is first seen its
 *   prior starts afresh in the new units (P_ii = DELTA), which leaves every
 *   prediction unchanged because theta_i is 0.
 * - A direction the data stop exciting (a feature that stays 0 after being
 *   seen, or one collinear with the others) still winds up: P grows by
 *   1 / lambda per pair along it. When a diagonal entry exceeds P_MAX, the
 *   prior's information is added once more (p_regularise): that direction
 *   comes back below DELTA, the well-determined ones keep their P, theta
 *   and every prediction stay as they are.
 * - Numerical breakdown: when the denominator d is not finite and positive,
 *   or after an update an entry of P is not finite or a diagonal entry not
 *   positive, P is reset to DELTA I (theta is kept: the fit starts again
 *   from its current weights with little confidence in them); a pair that
 *   would make theta non-finite is dropped and P reset.
 *
 * Rescale (a scale grows from s to s' = r s, r > 1): predictions must not
 * change, so theta_i z_i = theta~_i z~_i with z~_i = z_i / r, i.e.
 * theta~_i = r theta_i. With D = diag(1, r_1..r_k): theta~ = D theta and
 * z~ = D^-1 z. P is the inverse of the information matrix
 * R = sum w z z^T (+ prior); in the new units R~ = sum w z~ z~^T =
 * D^-1 R D^-1, so P~ = D P D: row i and column i of P are multiplied by
 * r_i = s'_i / s_i (the diagonal by r_i^2), i.e. P's rows and columns are
 * divided by s_old / s_new. Then z~^T P~ z~ = z^T P z and P~ z~ = D P z:
 * every later update gives the same predictions as without the rescale.
 * (Seen as a covariance, P ~ Cov(theta) and theta~ = D theta give the
 * same.) The prior is transformed with the rest, so the ridge term above
 * holds exactly only when no scale changed after the first pair.
 *
 * Running error: prequential, from pair ONLINE_FIT_MAE_WARMUP on. Before a pair
 * updates the fit, the error |y - prediction| of the prediction as
 * online_fit_predict gives it (clamped at 0, as the written file would predict)
 * is added to a weighted mean with the same forgetting: mae = sum lambda^(age)
 * e / sum lambda^(age).
 *
 * No allocation after online_fit_new; no collectd headers. */
#include "online_fit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include "atomic_file.h"
#include "errmsg.h"
#include "json_build.h"
#include "kepler_features.h"
#include "machine_spec_json.h"

/* The initial P on the normalised scale, where |z| <= 1 and the weights
 * are watts: a prior standard deviation of sqrt(1e4) = 100 W on each
 * weight and the bias, loose for node power yet small enough that the
 * prior's ridge term lambda^n / DELTA stays well conditioned. */
#define DELTA 1e4L
/* P's diagonal is the (scaled) variance of a weight; 1e4 times the prior
 * means that direction is no longer determined by the data. */
#define P_MAX (DELTA * 1e4L)

#define NP (FEATURE_MAX + 1) /* parameters at most: bias and every feature */

struct fit_component {
  size_t samples;
  long double theta[NP]; /* bias, then the weights of the fitted features */
  long double p[NP][NP];
  double scale[FEATURE_MAX]; /* per fitted feature, as theta[1 + j] */
  bool seen[FEATURE_MAX];    /* a nonzero value was seen */
  long double err_sum, err_weight;
};

struct online_fit {
  long double lambda;
  size_t k;                                 /* fitted features */
  enum kepler_feature feature[FEATURE_MAX]; /* j -> feature, enum order */
  struct fit_component comp[COMPONENT_MAX];
};

static void reset_p(const struct online_fit *f, struct fit_component *fc) {
  for (size_t i = 0; i <= f->k; i++)
    for (size_t j = 0; j <= f->k; j++)
      fc->p[i][j] = i == j ? DELTA : 0;
}

struct online_fit *online_fit_new(const bool have[FEATURE_MAX],
                                  double forgetting) {
  if (!have || !(forgetting > 0 && forgetting <= 1))
    return NULL;
  struct online_fit *f = calloc(1, sizeof(*f));
  if (!f)
    return NULL;
  f->lambda = forgetting;
  for (int i = 0; i < FEATURE_MAX; i++)
    if (have[i])
      f->feature[f->k++] = (enum kepler_feature)i;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    struct fit_component *fc = &f->comp[c];
    reset_p(f, fc);
    for (size_t j = 0; j < f->k; j++)
      fc->scale[j] = 1;
  }
  return f;
}

/* The written file's equation, in the same order of operations as
 * model_predict's linear case, on theta rounded to double as written. */
static double predict(const struct online_fit *f,
                      const struct fit_component *fc,
                      const double x[FEATURE_MAX]) {
  double p = (double)fc->theta[0];
  for (size_t j = 0; j < f->k; j++) {
    double w = (double)fc->theta[1 + j];
    if (w != 0)
      p += w * (x[f->feature[j]] / fc->scale[j]);
  }
  return isfinite(p) && p > 0 ? p : 0;
}

/* MaxAbs scales from x, transforming the state so that no prediction
 * changes (the derivation is at the top of the file). */
static void update_scales(const struct online_fit *f, struct fit_component *fc,
                          const double x[FEATURE_MAX]) {
  for (size_t j = 0; j < f->k; j++) {
    double a = fabs(x[f->feature[j]]);
    size_t i = 1 + j;
    if (!fc->seen[j]) {
      if (a == 0)
        continue;
      /* Not yet part of the fit: theta_i is 0 and P's row and column are
       * the prior alone; start that prior in the new units. */
      fc->seen[j] = true;
      fc->scale[j] = a;
      fc->theta[i] = 0;
      for (size_t l = 0; l <= f->k; l++)
        fc->p[i][l] = fc->p[l][i] = 0;
      fc->p[i][i] = DELTA;
    } else if (a > fc->scale[j]) {
      long double r = (long double)a / fc->scale[j];
      fc->scale[j] = a;
      fc->theta[i] *= r;
      for (size_t l = 0; l <= f->k; l++) {
        if (l == i) {
          fc->p[i][i] *= r * r;
        } else {
          fc->p[i][l] *= r;
          fc->p[l][i] *= r;
        }
      }
    }
  }
}

/* P is usable: finite, with a positive diagonal (it is symmetric by
 * construction). */
static bool p_finite(const struct online_fit *f,
                     const struct fit_component *fc) {
  for (size_t i = 0; i <= f->k; i++) {
    if (!(fc->p[i][i] > 0 && isfinite(fc->p[i][i])))
      return false;
    for (size_t j = i + 1; j <= f->k; j++)
      if (!isfinite(fc->p[i][j]))
        return false;
  }
  return true;
}

static bool p_wound_up(const struct online_fit *f,
                       const struct fit_component *fc) {
  for (size_t i = 0; i <= f->k; i++)
    if (fc->p[i][i] > P_MAX)
      return true;
  return false;
}

/* The wind-up guard: P <- (P^-1 + I / DELTA)^-1 = (I + P / DELTA)^-1 P,
 * the prior's information added once more, centred on the current theta
 * (theta is kept, so no prediction moves). An eigenvalue mu of P becomes
 * mu / (1 + mu / DELTA) < DELTA: a wound-up direction returns below the
 * prior while a well-determined one (mu << DELTA) changes by a factor of
 * 1 - mu / DELTA. A = I + P / DELTA is symmetric with eigenvalues >= 1, so
 * Gaussian elimination needs no pivoting. */
static void p_regularise(const struct online_fit *f, struct fit_component *fc) {
  size_t n = f->k + 1;
  long double a[NP][NP], x[NP][NP];
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++) {
      a[i][j] = fc->p[i][j] / DELTA + (i == j);
      x[i][j] = fc->p[i][j];
    }
  for (size_t col = 0; col < n; col++)
    for (size_t r = col + 1; r < n; r++) {
      long double m = a[r][col] / a[col][col];
      for (size_t q = col; q < n; q++)
        a[r][q] -= m * a[col][q];
      for (size_t q = 0; q < n; q++)
        x[r][q] -= m * x[col][q];
    }
  for (size_t r = n; r-- > 0;)
    for (size_t q = 0; q < n; q++) {
      long double v = x[r][q];
      for (size_t l = r + 1; l < n; l++)
        v -= a[r][l] * x[l][q];
      x[r][q] = v / a[r][r];
    }
  for (size_t i = 0; i < n; i++)
    for (size_t j = i; j < n; j++)
      fc->p[i][j] = fc->p[j][i] = (x[i][j] + x[j][i]) / 2;
}

/* Features not yet seen keep their prior without wind-up. */
static void p_unseen_prior(const struct online_fit *f,
                           struct fit_component *fc) {
  for (size_t j = 0; j < f->k; j++)
    if (!fc->seen[j])
      fc->p[1 + j][1 + j] = DELTA;
}

/* One RLS step on (z, y). */
static void rls_update(const struct online_fit *f, struct fit_component *fc,
                       const long double z[NP], long double y) {
  size_t n = f->k + 1;
  long double g[NP], d = 0, e = y;
  for (int attempt = 0; attempt < 2; attempt++) {
    d = f->lambda;
    for (size_t i = 0; i < n; i++) {
      g[i] = 0;
      for (size_t j = 0; j < n; j++)
        g[i] += fc->p[i][j] * z[j];
      d += z[i] * g[i];
    }
    if (isfinite(d) && d > 0)
      break;
    reset_p(f, fc); /* then d = lambda + DELTA |z|^2 > 0 */
  }
  for (size_t i = 0; i < n; i++)
    e -= fc->theta[i] * z[i];
  long double theta[NP];
  bool finite = isfinite(e);
  for (size_t i = 0; i < n; i++) {
    theta[i] = fc->theta[i] + g[i] * (e / d);
    finite = finite && isfinite(theta[i]);
  }
  if (!finite) { /* nothing usable in this pair: drop it, start P afresh */
    reset_p(f, fc);
    return;
  }
  memcpy(fc->theta, theta, n * sizeof(theta[0]));
  for (size_t i = 0; i < n; i++)
    for (size_t j = i; j < n; j++)
      fc->p[i][j] = fc->p[j][i] = (fc->p[i][j] - g[i] * g[j] / d) / f->lambda;
  p_unseen_prior(f, fc);
  if (p_finite(f, fc) && p_wound_up(f, fc)) {
    p_regularise(f, fc);
    p_unseen_prior(f, fc);
  }
  if (!p_finite(f, fc))
    reset_p(f, fc);
}

void online_fit_add(struct online_fit *f, const double x[FEATURE_MAX],
                    const struct node_power *measured) {
  if (!f || !x || !measured)
    return;
  for (size_t j = 0; j < f->k; j++)
    if (!isfinite(x[f->feature[j]]))
      return;
  long double z[NP];
  z[0] = 1;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    double y = measured->absolute[c];
    /* A negative power is no measurement either (as in idle_fit). */
    if (!measured->present[c] || !isfinite(y) || y < 0)
      continue;
    struct fit_component *fc = &f->comp[c];
    /* Before it has seen enough pairs the fit is its prior, whose error
     * says nothing of the fit: it would dominate the mean for a long time. */
    if (fc->samples >= ONLINE_FIT_MAE_WARMUP) {
      double err = fabs(y - predict(f, fc, x));
      fc->err_sum = f->lambda * fc->err_sum + err;
      fc->err_weight = f->lambda * fc->err_weight + 1;
    }
    update_scales(f, fc, x);
    for (size_t j = 0; j < f->k; j++)
      z[1 + j] = (long double)x[f->feature[j]] / fc->scale[j];
    rls_update(f, fc, z, y);
    fc->samples++;
  }
}

size_t online_fit_samples(const struct online_fit *f, enum kepler_component c) {
  return f && (unsigned)c < COMPONENT_MAX ? f->comp[c].samples : 0;
}

double online_fit_mae(const struct online_fit *f, enum kepler_component c) {
  if (!f || (unsigned)c >= COMPONENT_MAX || f->comp[c].err_weight == 0)
    return NAN;
  const struct fit_component *fc = &f->comp[c];
  return (double)(fc->err_sum / fc->err_weight);
}

size_t online_fit_min_samples(const struct online_fit *f) {
  return f ? f->k + 2 : 0;
}

bool online_fit_is_fitted(const struct online_fit *f, enum kepler_component c) {
  if (!f || (unsigned)c >= COMPONENT_MAX)
    return false;
  const struct fit_component *fc = &f->comp[c];
  if (fc->samples < online_fit_min_samples(f))
    return false;
  for (size_t i = 0; i <= f->k; i++)
    if (!isfinite((double)fc->theta[i]))
      return false;
  return true;
}

double online_fit_predict(const struct online_fit *f, enum kepler_component c,
                          const double x[FEATURE_MAX]) {
  if (!f || !x || (unsigned)c >= COMPONENT_MAX)
    return 0;
  return predict(f, &f->comp[c], x);
}

/* --- Writing ------------------------------------------------------------- */

static json_object *component_json(const struct online_fit *f,
                                   const struct fit_component *fc) {
  json_object *comp = json_object_new_object();
  json_object *all = json_object_new_object();
  json_object *num = json_object_new_object();
  bool ok =
      comp && all && num &&
      json_build_add(all, "Bias_Weight",
                     json_build_double((double)fc->theta[0])) &&
      json_build_add(all, "Categorical_Variables", json_object_new_object());
  for (size_t j = 0; ok && j < f->k; j++) {
    json_object *v = json_object_new_object();
    ok = json_build_add(num, feature_name(f->feature[j]), v) &&
         json_build_add(v, "scale", json_build_double(fc->scale[j])) &&
         json_build_add(v, "weight",
                        json_build_double((double)fc->theta[1 + j]));
  }
  if (ok) {
    ok = json_build_add(all, "Numerical_Variables", num);
    num = NULL;
  }
  if (ok) {
    ok = json_build_add(comp, "All_Weights", all);
    all = NULL;
  }
  json_object_put(num);
  json_object_put(all);
  if (!ok) {
    json_object_put(comp);
    return NULL;
  }
  return comp;
}

char *online_fit_text(const struct online_fit *f, const char *path,
                      const char *model_name, const struct machine_spec *spec,
                      char *err, size_t errlen) {
  if (!f || !path || !*path) {
    errmsg(err, errlen, "%s: no fit or no file name", path ? path : "(null)");
    return NULL;
  }
  json_object *root = json_object_new_object();
  if (!root) {
    errmsg(err, errlen, "%s: out of memory", path);
    return NULL;
  }
  double mae = -INFINITY; /* stays so until the running errors count */
  bool ok = true, any = false;
  for (int c = 0; ok && c < COMPONENT_MAX; c++) {
    if (!online_fit_is_fitted(f, c))
      continue;
    ok =
        json_build_add(root, component_name(c), component_json(f, &f->comp[c]));
    any = true;
    if (isfinite(online_fit_mae(f, c)))
      mae = fmax(mae, online_fit_mae(f, c));
  }
  char *copy = NULL;
  if (ok && !any) {
    errmsg(err, errlen, "%s: nothing fitted yet (a component needs %zu pairs)",
           path, online_fit_min_samples(f));
    goto done;
  }
  if (ok && model_name && *model_name)
    ok = json_build_add(root, "model_name", json_object_new_string(model_name));
  if (ok && isfinite(mae))
    ok = json_build_add(root, "mae", json_build_double(mae));
  if (ok && spec)
    ok = json_build_add(root, "machine_spec", machine_spec_json(spec));
  const char *text =
      ok ? json_object_to_json_string_ext(
               root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)
         : NULL;
  if (!text || !(copy = strdup(text)))
    errmsg(err, errlen, "%s: out of memory", path);
done:
  json_object_put(root);
  return copy;
}

int online_fit_write(const struct online_fit *f, const char *path,
                     const char *model_name, const struct machine_spec *spec,
                     char *err, size_t errlen) {
  char *text = online_fit_text(f, path, model_name, spec, err, errlen);
  if (!text)
    return -1;
  int rc = atomic_file_write(path, text, strlen(text), err, errlen);
  free(text);
  return rc;
}

void online_fit_free(struct online_fit *f) {
  free(f);
}
