// SPDX-License-Identifier: GPL-2.0-only
/* Power models: the equations of each component type, binding to a machine
 * and Kepler's node semantics (idle, dynamic, fix-ups). The formats, which
 * build on this and not the reverse: model_yaml.c, model_kepler_json.c,
 * with model_load.c picking one for a file; the structure they fill:
 * model_internal.h; documentation: models/README.md. */
#include "model_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array_grow.h"
#include "errmsg.h"
#include "outside_text.h"

const char *input_name(int input) {
  return input == INPUT_CPU_TIME_US ? "bpf_cpu_time_us" : feature_name(input);
}

int input_by_name(const char *name) {
  if (strcmp(name, "bpf_cpu_time_us") == 0)
    return INPUT_CPU_TIME_US;
  return feature_by_name(name);
}

enum kepler_feature input_feature(int input) {
  return input == INPUT_CPU_TIME_US ? FEATURE_CPU_TIME_MS : input;
}

/* The input's per-second value; a non-finite rate counts as 0. */
static double input_value(int input, const double x[FEATURE_MAX]) {
  double v = x ? x[input_feature(input)] : 0;
  if (!isfinite(v))
    return 0;
  return input == INPUT_CPU_TIME_US ? 1000 * v : v;
}

static const struct {
  const char *name;
  size_t curve;
} types[TYPE_MAX] = {
    [TYPE_LINEAR] = {"linear", 0},
    [TYPE_LOGARITHMIC] = {"logarithmic", 3},
    [TYPE_EXPONENTIAL] = {"exponential", 3},
    [TYPE_LOGISTIC] = {"logistic", 4},
    [TYPE_LOAD_CURVE] = {"load_curve", 0},
};

const char *component_type_name(enum component_type t) {
  return types[t].name;
}

size_t curve_length(enum component_type t) {
  return types[t].curve;
}

static const char *const lc_term_names[LC_TERM_MAX] = {
    [LC_THREADS] = "ln_threads", [LC_CORES] = "ln_cores",
    [LC_CHIPS] = "ln_chips",     [LC_MEMORY_GB] = "ln_memory_gb",
    [LC_MHZ] = "ln_mhz",         [LC_TDP_W] = "ln_tdp_w",
};

const char *lc_term_name(enum lc_term t) {
  return lc_term_names[t];
}

int categorical_add(struct categorical *cat, const char *value, double weight) {
  if (array_grow((void **)&cat->v, &cat->cap, cat->n + 1, sizeof(*cat->v)))
    return -1;
  if (!(cat->v[cat->n].value = strdup(value)))
    return -1;
  cat->v[cat->n++].weight = weight;
  return 0;
}

int model_fail(char *err, size_t errlen, const char *origin, size_t line,
               const char *fmt, ...) {
  if (!err || errlen == 0)
    return -1;
  int n = snprintf(err, errlen, "%s:%zu: ", origin, line);
  if (n >= 0 && (size_t)n < errlen - 1) {
    /* The message quotes the file's text: escaped as a whole. */
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (k >= 0)
      outside_text(err + n, errlen - n, msg,
                   (size_t)k < sizeof msg ? (size_t)k : sizeof msg - 1);
  }
  return -1;
}

struct power_model *model_new(void) {
  struct power_model *m = calloc(1, sizeof *m);
  if (!m)
    return NULL;
  m->mae_w = -1;
  m->mape_pct = -1;
  m->output = MODEL_ABS_POWER;
  m->arch = "";
  m->core_ratio = 1;
  return m;
}

void model_free(struct power_model *m) {
  if (!m)
    return;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    struct component_model *cm = &m->comp[c];
    for (size_t i = 0; i < cm->cat.n; i++)
      free(cm->cat.v[i].value);
    free(cm->cat.v);
    for (size_t i = 0; i < cm->lc.narch; i++)
      free(cm->lc.arch[i].name);
    free(cm->lc.arch);
  }
  for (size_t i = 0; i < m->nrules; i++) {
    regfree(&m->rules[i].re);
    free(m->rules[i].match);
    free(m->rules[i].name);
  }
  free(m->rules);
  for (size_t i = 0; i < m->ncpuid; i++) {
    free(m->cpuid[i].vendor);
    free(m->cpuid[i].name);
  }
  free(m->cpuid);
  for (size_t i = 0; i < m->ntdp; i++)
    free(m->tdp[i].cpu);
  free(m->tdp);
  for (size_t i = 0; i < m->ntdp_arch; i++)
    free(m->tdp_arch[i].name);
  free(m->tdp_arch);
  free(m->trained_on.cpu);
  free(m->name);
  free(m->source);
  free(m);
}

/* --- Accessors ------------------------------------------------------------ */

const char *model_name(const struct power_model *m) {
  return m ? m->name : NULL;
}

double model_mae_watts(const struct power_model *m) {
  return m && m->mae_w >= 0 ? m->mae_w : -1;
}

double model_mape_pct(const struct power_model *m) {
  return m && m->mape_pct >= 0 ? m->mape_pct : -1;
}

const char *model_source(const struct power_model *m) {
  return m && m->source ? m->source : "";
}

enum model_output model_output_type(const struct power_model *m) {
  return m ? m->output : MODEL_ABS_POWER;
}

const char *model_cpu_architecture(const struct power_model *m) {
  return m ? m->arch : "";
}

bool model_cpu_architecture_from_cpuid(const struct power_model *m) {
  return m && m->arch_from_cpuid;
}

double model_tdp_w(const struct power_model *m) {
  return m ? m->tdp_w : 0;
}

/* --- CPU name key (tdp.by_cpu) --------------------------------------------
 */

static bool all_of(const char *s, size_t n, const char *set) {
  for (size_t i = 0; i < n; i++)
    if (!strchr(set, s[i]))
      return false;
  return n > 0;
}

/* A word model_cpu_key leaves out: a maker or family word, a core count,
 * a clock ("2.30GHZ", "2.3", "GHZ"). */
static bool key_noise(const char *w, size_t n) {
  static const char *const drop[] = {"INTEL",     "AMD",  "XEON", "CPU",
                                     "PROCESSOR", "CORE", "GHZ",  "MHZ"};
  for (size_t i = 0; i < sizeof(drop) / sizeof(*drop); i++)
    if (strlen(drop[i]) == n && memcmp(w, drop[i], n) == 0)
      return true;
  if (n >= 5 && memcmp(w + n - 5, "-CORE", 5) == 0)
    return true;
  size_t digits = n;
  if (n >= 3 &&
      (memcmp(w + n - 3, "GHZ", 3) == 0 || memcmp(w + n - 3, "MHZ", 3) == 0))
    digits = n - 3;
  return all_of(w, digits, "0123456789.") &&
         (digits < n || memchr(w, '.', digits));
}

/* A suffix joined to the word before: V2, V3, ..., HE, EE, SE. */
static bool key_suffix(const char *w, size_t n) {
  if (n >= 2 && w[0] == 'V' && all_of(w + 1, n - 1, "0123456789"))
    return true;
  return n == 2 && (memcmp(w, "HE", 2) == 0 || memcmp(w, "EE", 2) == 0 ||
                    memcmp(w, "SE", 2) == 0);
}

void model_cpu_key(const char *cpu, char *out, size_t outlen) {
  /* (R) and (TM) start with "(" and so end the name above: "Intel(R)
   * Xeon(R) Gold 6140" would be cut to "INTEL". Drop them first. */
  char clean[256];
  size_t c = 0;
  for (const char *p = cpu; *p && c + 1 < sizeof(clean);) {
    if (strncasecmp(p, "(R)", 3) == 0) {
      clean[c++] = ' ';
      p += 3;
    } else if (strncasecmp(p, "(TM)", 4) == 0) {
      clean[c++] = ' ';
      p += 4;
    } else {
      clean[c++] = *p++;
    }
  }
  clean[c] = '\0';
  char up[256];
  size_t n = 0;
  for (const char *p = clean; *p && n + 1 < sizeof(up); p++) {
    if (strchr("@([,", *p))
      break;
    up[n++] = (char)toupper((unsigned char)*p);
  }
  up[n] = '\0';
  size_t o = 0;
  if (outlen == 0)
    return;
  out[0] = '\0';
  for (const char *p = up; *p;) {
    while (*p && isspace((unsigned char)*p))
      p++;
    const char *w = p;
    while (*p && !isspace((unsigned char)*p))
      p++;
    size_t len = (size_t)(p - w);
    if (len == 0 || key_noise(w, len))
      continue;
    if (!(o > 0 && key_suffix(w, len)) && o > 0 && o + 1 < outlen)
      out[o++] = ' ';
    for (size_t i = 0; i < len && o + 1 < outlen; i++)
      out[o++] = w[i];
    out[o] = '\0';
  }
}

double model_core_ratio(const struct power_model *m) {
  return m ? m->core_ratio : 1;
}

bool model_has_component(const struct power_model *m, enum kepler_component c) {
  return m && (unsigned)c < COMPONENT_MAX && m->comp[c].present;
}

/* A term reads its input unless its normalisation discards it. */
static bool term_reads(const struct term *t) {
  return t->variance > 0 || t->scale != 0;
}

static bool component_uses(const struct component_model *cm,
                           enum kepler_feature f) {
  const double *k = cm->curve;
  switch (cm->type) {
  case TYPE_LINEAR:
    for (size_t i = 0; i < cm->nterms; i++)
      if (input_feature(cm->terms[i].input) == f && cm->terms[i].weight != 0 &&
          term_reads(&cm->terms[i]))
        return true;
    return false;
  case TYPE_LOGARITHMIC:
  case TYPE_EXPONENTIAL:
  case TYPE_LOGISTIC:
    /* Only x0 enters, and a 0 amplitude or slope makes the curve flat. */
    if (cm->nterms == 0 || input_feature(cm->terms[0].input) != f ||
        !term_reads(&cm->terms[0]) || k[0] == 0)
      return false;
    return cm->type == TYPE_LOGISTIC ? k[2] != 0 : k[1] != 0;
  case TYPE_LOAD_CURVE:
    return input_feature(cm->lc.input) == f;
  case TYPE_MAX:
    break;
  }
  return false;
}

bool model_uses_feature(const struct power_model *m, enum kepler_feature f) {
  if (!m || (unsigned)f >= FEATURE_MAX)
    return false;
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (m->comp[c].present && component_uses(&m->comp[c], f))
      return true;
  return false;
}

/* --- Equations ------------------------------------------------------------ */

static double normalized(const struct term *t, const double x[FEATURE_MAX]) {
  double v = input_value(t->input, x);
  if (t->variance > 0)
    return (v - t->mean) / sqrt(t->variance);
  return t->scale != 0 ? v / t->scale : 0;
}

static double categorical_sum(const struct categorical *cat, const char *arch) {
  for (size_t i = 0; i < cat->n; i++)
    if (strcmp(cat->v[i].value, arch) == 0)
      return cat->v[i].weight;
  return 0;
}

static double linear_predict(const struct component_model *cm,
                             const double x[FEATURE_MAX]) {
  double p = cm->bias;
  for (size_t i = 0; i < cm->nterms; i++)
    if (cm->terms[i].weight != 0)
      p += cm->terms[i].weight * normalized(&cm->terms[i], x);
  return p;
}

/* Kepler's curve fits (kepler pkg/model/estimator/local/regressor/
 * logarithm.go, exponential.go, logistic.go, read via the code search):
 *   logarithmic  a * math.Log(b*x[0] + 1) + c
 *   exponential  a * math.Exp(b*x[0]) + c
 *   logistic     A / (1 + math.Exp(-k*(x[0] - x0))) + off, [A, x0, k, off]
 * each plus the categorical weights, with x[0] the first numerical feature
 * normalised by getX (model_weights.go: x / scale, 0 when scale is 0).
 * Kepler takes x[0] in its request's metric order; the trainer fitted the
 * feature group's first feature, which is the first one the JSON lists, so
 * we use file order. Where Kepler would produce NaN (ln of a non-positive
 * number), the curve gives 0 here; the caller clamps overflow. */
static double curve_predict(const struct component_model *cm,
                            const double x[FEATURE_MAX]) {
  const double *k = cm->curve;
  double x0 = cm->nterms > 0 ? normalized(&cm->terms[0], x) : 0;
  switch (cm->type) {
  case TYPE_LOGARITHMIC: {
    double arg = k[1] * x0 + 1;
    if (!(arg > 0))
      return 0;
    return k[0] * log(arg) + k[2];
  }
  case TYPE_EXPONENTIAL:
    return k[0] * exp(k[1] * x0) + k[2];
  case TYPE_LOGISTIC:
    return k[0] / (1 + exp(-k[2] * (x0 - k[1]))) + k[3];
  default:
    return 0;
  }
}

static double load_curve_predict(const struct load_curve *lc,
                                 const double x[FEATURE_MAX]) {
  if (!lc->bound)
    return 0;
  double u = input_value(lc->input, x) / (lc->scale * lc->threads);
  u = u > 0 ? (u < 1 ? u : 1) : 0;
  size_t j = 0;
  while (j + 2 < lc->n && u > lc->level[j + 1])
    j++;
  double t = (u - lc->level[j]) / (lc->level[j + 1] - lc->level[j]);
  return lc->w[j] + (lc->w[j + 1] - lc->w[j]) * t;
}

double model_predict(const struct power_model *m, enum kepler_component c,
                     const double x[FEATURE_MAX]) {
  if (!model_has_component(m, c))
    return 0;
  const struct component_model *cm = &m->comp[c];
  double p = 0;
  switch (cm->type) {
  case TYPE_LINEAR:
    p = categorical_sum(&cm->cat, m->arch) + linear_predict(cm, x);
    break;
  case TYPE_LOGARITHMIC:
  case TYPE_EXPONENTIAL:
  case TYPE_LOGISTIC:
    p = categorical_sum(&cm->cat, m->arch) + curve_predict(cm, x);
    break;
  case TYPE_LOAD_CURVE:
    p = load_curve_predict(&cm->lc, x);
    break;
  case TYPE_MAX:
    break;
  }
  return isfinite(p) && p > 0 ? p : 0;
}

/* --- Node semantics --------------------------------------------------------
 */

/* Kepler's component fix-ups on one vector of watts: package holds core and
 * uncore, and a core of 0 (RAPL without a core domain) is what package has
 * beyond uncore. */
static void fix_up(const struct model_output_w *o, double w[COMPONENT_MAX]) {
  if (o->present[COMPONENT_PACKAGE] &&
      w[COMPONENT_PACKAGE] < w[COMPONENT_CORE] + w[COMPONENT_UNCORE])
    w[COMPONENT_PACKAGE] = w[COMPONENT_CORE] + w[COMPONENT_UNCORE];
  if (o->present[COMPONENT_CORE] && o->present[COMPONENT_PACKAGE] &&
      w[COMPONENT_CORE] == 0)
    w[COMPONENT_CORE] = fmax(w[COMPONENT_PACKAGE] - w[COMPONENT_UNCORE], 0);
}

void model_node_from_equations(const bool present[COMPONENT_MAX],
                               const double eq_x[COMPONENT_MAX],
                               const double eq_0[COMPONENT_MAX],
                               enum model_output output, double core_ratio,
                               struct model_output_w *out) {
  memset(out, 0, sizeof *out);
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!(out->present[c] = present[c]))
      continue;
    if (output == MODEL_DYN_POWER) {
      out->absolute[c] = eq_x[c];
      continue;
    }
    out->idle[c] = eq_0[c] * core_ratio;
    out->absolute[c] = out->idle[c] + fmax(eq_x[c] - eq_0[c], 0);
  }
  /* The idle vector gets the same fix-ups, so a core derived from package
   * takes its idle part from package's too; then no idle part may exceed
   * its absolute power. */
  fix_up(out, out->absolute);
  fix_up(out, out->idle);
  for (int c = 0; c < COMPONENT_MAX; c++)
    out->idle[c] = fmin(out->idle[c], out->absolute[c]);
}

void model_predict_node(const struct power_model *m,
                        const double x[FEATURE_MAX],
                        struct model_output_w *out) {
  static const double zero[FEATURE_MAX];
  bool present[COMPONENT_MAX];
  double eq_x[COMPONENT_MAX] = {0}, eq_0[COMPONENT_MAX] = {0};
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!(present[c] = model_has_component(m, c)))
      continue;
    eq_x[c] = model_predict(m, c, x);
    eq_0[c] = model_predict(m, c, zero);
  }
  model_node_from_equations(present, eq_x, eq_0, m->output, m->core_ratio, out);
}

/* --- Binding ----------------------------------------------------------------
 */

static bool in_ranges(const struct cpuid_range *r, size_t n, unsigned v) {
  if (n == 0)
    return true;
  for (size_t i = 0; i < n; i++)
    if (v >= r[i].lo && v <= r[i].hi)
      return true;
  return false;
}

/* The first cpuid_rules entry the CPU's vendor, family, model and stepping
 * fall in; NULL when none or the CPU stated no family. */
static const struct cpuid_rule *cpuid_match(const struct power_model *m,
                                            const struct machine_spec *spec) {
  if (spec->cpu_family == 0)
    return NULL;
  for (size_t i = 0; i < m->ncpuid; i++) {
    const struct cpuid_rule *r = &m->cpuid[i];
    if (strcmp(r->vendor, spec->vendor) == 0 && r->family == spec->cpu_family &&
        in_ranges(r->models, r->nmodels, spec->cpu_model) &&
        in_ranges(r->steppings, r->nsteppings, spec->cpu_stepping) &&
        (r->hypervisor < 0 || r->hypervisor == (int)spec->hypervisor))
      return r;
  }
  return NULL;
}

/* Total TDP of the machine (or of the VM host: its chips and cores, the
 * VM's CPU and clock): tdp.by_cpu's W per chip for this CPU name x chips,
 * else tdp.estimate's W per chip x chips; 0 when neither applies. */
static double machine_tdp_w(const struct power_model *m,
                            const struct machine_spec *spec, double chips,
                            double cores) {
  char key[256];
  model_cpu_key(spec->cpu, key, sizeof(key));
  if (key[0])
    for (size_t i = 0; i < m->ntdp; i++)
      if (strcmp(m->tdp[i].cpu, key) == 0)
        return m->tdp[i].w * chips;
  if (!m->has_tdp_estimate || !(chips > 0 && cores > 0 && spec->mhz > 0))
    return 0;
  double e = m->tdp_intercept + m->tdp_ln_cores_per_chip * log(cores / chips) +
             m->tdp_ln_mhz * log(spec->mhz);
  for (size_t i = 0; i < m->ntdp_arch; i++)
    if (strcmp(m->tdp_arch[i].name, m->arch) == 0)
      e += m->tdp_arch[i].w;
  return exp(e) * chips;
}

/* The machine values the load curve's terms take, and the threads its W
 * is shared over: the machine itself, or for a VM the host described by
 * vm_host (with the VM's own clock). */
static int load_curve_bind(struct power_model *m, enum kepler_component c,
                           const struct machine_spec *spec, char *err,
                           size_t errlen) {
  struct load_curve *lc = &m->comp[c].lc;
  char name[OUTSIDE_TEXT_LEN];
  lc->bound = false;
  if (spec->threads == 0)
    return errmsg(err, errlen,
                  "model \"%s\": load_curve component \"%s\" needs the "
                  "machine's threads, got 0",
                  OUTSIDE_STR(name, m->name), component_name(c));
  double v[LC_TERM_MAX] = {
      [LC_THREADS] = spec->threads, [LC_CORES] = spec->cores,
      [LC_CHIPS] = spec->chips,     [LC_MEMORY_GB] = spec->memory_gb,
      [LC_MHZ] = spec->mhz,         [LC_TDP_W] = m->tdp_w,
  };
  double share = 1;
  bool vm = spec->hypervisor && lc->has_vm_host;
  if (vm) {
    v[LC_THREADS] = lc->vm_host.threads;
    v[LC_CORES] = lc->vm_host.cores;
    v[LC_CHIPS] = lc->vm_host.chips;
    v[LC_MEMORY_GB] = lc->vm_host.memory_gb;
    v[LC_TDP_W] = machine_tdp_w(m, spec, lc->vm_host.chips, lc->vm_host.cores);
    share = spec->threads / lc->vm_host.threads;
  }
  for (int t = 0; t < LC_TERM_MAX; t++)
    if (lc->has_term[t] && !(v[t] > 0))
      /* lc_term_name(t) + 3: the machine_spec field, without "ln_". */
      return errmsg(err, errlen,
                    "model \"%s\": load_curve component \"%s\" uses %s but "
                    "the %s %s is %g",
                    OUTSIDE_STR(name, m->name), component_name(c),
                    lc_term_name(t), vm ? "VM host's" : "machine's",
                    lc_term_name(t) + 3, v[t]);
  const double *arch_row = NULL;
  for (size_t a = 0; a < lc->narch; a++)
    if (strcmp(lc->arch[a].name, m->arch) == 0)
      arch_row = lc->arch[a].v;
  for (size_t j = 0; j < lc->n; j++) {
    double e = lc->intercept[j] + (arch_row ? arch_row[j] : 0);
    for (int t = 0; t < LC_TERM_MAX; t++)
      if (lc->has_term[t])
        e += lc->term[t][j] * log(v[t]);
    lc->w[j] = exp(e) * share;
    if (lc->above_idle && j > 0)
      lc->w[j] += lc->w[0];
    /* Levels are fitted one by one; a machine far from the data could get
     * a dip, and more load must never read as less power. */
    if (j > 0 && lc->w[j] < lc->w[j - 1])
      lc->w[j] = lc->w[j - 1];
  }
  lc->threads = spec->threads;
  lc->bound = true;
  return 0;
}

int model_bind_machine(struct power_model *m, const struct machine_spec *spec,
                       char *err, size_t errlen) {
  m->arch = "";
  m->arch_from_cpuid = false;
  for (size_t i = 0; i < m->nrules; i++)
    if (regexec(&m->rules[i].re, spec->cpu, 0, NULL, 0) == 0) {
      m->arch = m->rules[i].name;
      break;
    }
  const struct cpuid_rule *r = m->arch[0] ? NULL : cpuid_match(m, spec);
  if (r) {
    m->arch = r->name;
    m->arch_from_cpuid = true;
  }
  m->tdp_w = machine_tdp_w(m, spec, spec->chips, spec->cores);
  m->core_ratio = 1;
  if (m->trained_on.cores > 0 && spec->cores > 0)
    m->core_ratio = fmin(spec->cores / m->trained_on.cores, 1);
  for (int c = 0; c < COMPONENT_MAX; c++) {
    struct component_model *cm = &m->comp[c];
    if (!cm->present || cm->type != TYPE_LOAD_CURVE)
      continue;
    if (load_curve_bind(m, c, spec, err, errlen)) {
      /* All or nothing: an unbound load curve predicts 0. */
      for (int d = 0; d < COMPONENT_MAX; d++)
        m->comp[d].lc.bound = false;
      return -1;
    }
  }
  return 0;
}
