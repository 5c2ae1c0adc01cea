// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/model_kepler_json.c: Kepler's weight files from the
 * shared reference data load unchanged and predict what Kepler's equations
 * give, computed here from the numbers json-c reads in this file. */
#include "model.h"
#include "model_kepler_json.h"
#include "model_load.h"
#include "model_yaml.h"

#include <check.h>
#include <json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "model_text.h"
#include "testutil.h"

#ifndef KEPLER_SHARED_DATA
#define KEPLER_SHARED_DATA "../shared/data"
#endif
#define MODEL_DB KEPLER_SHARED_DATA "/kepler-model-db/"

static const char *const files[] = {
    "v0.7/specpower-0.7.11/acpi/AbsPower/BPFOnly/SGDRegressorTrainer_0.json",
    "v0.7/specpower-0.7.11/acpi/AbsPower/BPFOnly/"
    "LogisticRegressionTrainer_0.json",
    "v0.7/specpower-0.7.11/acpi/AbsPower/BPFOnly/"
    "ExponentialRegressionTrainer_0.json",
    "v0.7/ec2-0.7.11/rapl-sysfs/AbsPower/BPFOnly/SGDRegressorTrainer_0.json",
    "v0.7/ec2-0.7.11/rapl-sysfs/AbsPower/BPFOnly/"
    "LogarithmicRegressionTrainer_0.json",
    "v0.7/ec2-0.7.11/rapl-sysfs/AbsPower/CounterOnly/"
    "SGDRegressorTrainer_0.json",
    "v0.7/ec2-0.7.11/rapl-sysfs/DynPower/CounterOnly/"
    "LogarithmicRegressionTrainer_1.json",
    "v0.6/nx12/std_v0.6/rapl/AbsPower/BPFOnly/SGDRegressorTrainer_1.json",
};

static bool have_data(void) {
  if (access(MODEL_DB, R_OK) == 0)
    return true;
  printf("skipped: no Kepler model files at %s\n", MODEL_DB);
  return false;
}

static struct power_model *load_path(const char *path) {
  char err[512] = "";
  struct power_model *m = NULL;
  ck_assert_msg(model_load_file(path, &m, err, sizeof err) == 0, "%s: %s", path,
                err);
  return m;
}

/* --- Kepler's equations, from the file read here -------------------------- */

enum equation { LINEAR, LOGARITHMIC, EXPONENTIAL, LOGISTIC };

static enum equation equation_of(const char *path) {
  if (strstr(path, "/LogarithmicRegressionTrainer"))
    return LOGARITHMIC;
  if (strstr(path, "/ExponentialRegressionTrainer"))
    return EXPONENTIAL;
  if (strstr(path, "/LogisticRegressionTrainer"))
    return LOGISTIC;
  return LINEAR;
}

static double number(json_object *o, const char *key) {
  json_object *v;
  return json_object_object_get_ex(o, key, &v) ? json_object_get_double(v) : 0;
}

/* A feature's value per second: v0.6's bpf_cpu_time_us is our ms x 1000. */
static double raw(const char *feature, const double x[FEATURE_MAX]) {
  if (strcmp(feature, "bpf_cpu_time_us") == 0)
    return 1000 * x[FEATURE_CPU_TIME_MS];
  int f = feature_by_name(feature);
  ck_assert_int_ge(f, 0);
  return x[f];
}

static double normalize(json_object *spec, double v) {
  double var = number(spec, "variance"), scale = number(spec, "scale");
  if (var > 0)
    return (v - number(spec, "mean")) / sqrt(var);
  return scale != 0 ? v / scale : 0;
}

static double expected(enum equation eq, json_object *all,
                       const double x[FEATURE_MAX]) {
  json_object *num, *curve;
  ck_assert(json_object_object_get_ex(all, "Numerical_Variables", &num));
  double p = 0;
  if (eq == LINEAR) {
    p = number(all, "Bias_Weight");
    json_object_object_foreach(num, feature, spec) p +=
        number(spec, "weight") * normalize(spec, raw(feature, x));
  } else {
    ck_assert(json_object_object_get_ex(all, "CurveFit_Weights", &curve));
    double k[4];
    for (size_t i = 0; i < json_object_array_length(curve); i++)
      k[i] = json_object_get_double(json_object_array_get_idx(curve, i));
    struct json_object_iterator first = json_object_iter_begin(num);
    double x0 = normalize(json_object_iter_peek_value(&first),
                          raw(json_object_iter_peek_name(&first), x));
    if (eq == LOGARITHMIC)
      p = k[1] * x0 + 1 > 0 ? k[0] * log(k[1] * x0 + 1) + k[2] : 0;
    else if (eq == EXPONENTIAL)
      p = k[0] * exp(k[1] * x0) + k[2];
    else
      p = k[0] / (1 + exp(-k[2] * (x0 - k[1]))) + k[3];
  }
  return isfinite(p) && p > 0 ? p : 0;
}

/* Feature vectors from the file's own scales: every feature at the same
 * share of its training maximum (0, mid, full, beyond), and one with
 * different shares per feature. */
#define NVEC 6
static void vectors_for(json_object *root, double x[NVEC][FEATURE_MAX]) {
  static const double share[NVEC - 1] = {0, 0.5, 1, 3, 40};
  memset(x, 0, NVEC * sizeof x[0]);
  json_object_object_foreach(root, comp, cv) {
    (void)comp;
    json_object *all, *num;
    ck_assert(json_object_object_get_ex(cv, "All_Weights", &all));
    ck_assert(json_object_object_get_ex(all, "Numerical_Variables", &num));
    double mixed = 0.3;
    json_object_object_foreach(num, feature, spec) {
      bool us = strcmp(feature, "bpf_cpu_time_us") == 0;
      int f = us ? FEATURE_CPU_TIME_MS : feature_by_name(feature);
      double scale = number(spec, "scale") / (us ? 1000 : 1);
      for (int v = 0; v < NVEC - 1; v++)
        x[v][f] = share[v] * scale;
      x[NVEC - 1][f] = mixed * scale;
      mixed += 0.45;
    }
  }
}

static char *path_of(int i) {
  static char path[512];
  snprintf(path, sizeof path, "%s%s", MODEL_DB, files[i]);
  return path;
}

START_TEST(test_predict_file) {
  if (!have_data())
    return;
  const char *path = path_of(_i);
  struct power_model *m = load_path(path);
  json_object *root = json_object_from_file(path);
  ck_assert_ptr_ne(root, NULL);
  double x[NVEC][FEATURE_MAX];
  vectors_for(root, x);
  enum equation eq = equation_of(path);

  const char *base = strrchr(path, '/') + 1;
  ck_assert_int_eq(strncmp(model_name(m), base, strlen(base) - 5), 0);
  ck_assert_uint_eq(strlen(model_name(m)), strlen(base) - 5);
  ck_assert_int_eq(model_output_type(m), strstr(path, "/DynPower/")
                                             ? MODEL_DYN_POWER
                                             : MODEL_ABS_POWER);
  ck_assert_close(model_core_ratio(m), 1);
  int present = 0;
  json_object_object_foreach(root, comp, cv) {
    int c = component_by_name(comp);
    ck_assert_int_ge(c, 0);
    ck_assert(model_has_component(m, c));
    present++;
    json_object *all;
    ck_assert(json_object_object_get_ex(cv, "All_Weights", &all));
    for (int v = 0; v < NVEC; v++) {
      double want = expected(eq, all, x[v]);
      ck_assert_close(model_predict(m, c, x[v]), want);
    }
  }
  for (int c = 0; c < COMPONENT_MAX; c++)
    present -= model_has_component(m, c);
  ck_assert_int_eq(present, 0);
  json_object_put(root);
  model_free(m);
}
END_TEST

/* Relative 1e-12 (absolute below 1). */
#define ck_assert_same(got, want)                                              \
  do {                                                                         \
    double g_ = (got), w_ = (want);                                            \
    ck_assert_msg(fabs(g_ - w_) <= 1e-12 * fmax(1, fabs(w_)),                  \
                  "%s = %.17g, want %.17g", #got, g_, w_);                     \
  } while (0)

START_TEST(test_round_trip) {
  if (!have_data())
    return;
  const char *path = path_of(_i);
  struct power_model *m = load_path(path);
  json_object *root = json_object_from_file(path);
  double x[NVEC][FEATURE_MAX];
  vectors_for(root, x);
  json_object_put(root);

  char *text;
  struct power_model *back = reload_written(m, &text);
  for (int c = 0; c < COMPONENT_MAX; c++) {
    ck_assert_int_eq(model_has_component(back, c), model_has_component(m, c));
    for (int v = 0; v < NVEC; v++)
      ck_assert_same(model_predict(back, c, x[v]), model_predict(m, c, x[v]));
  }
  for (int f = 0; f < FEATURE_MAX; f++)
    ck_assert_int_eq(model_uses_feature(back, f), model_uses_feature(m, f));
  /* Writing the reloaded model gives the same text. */
  char *again = write_yaml(back);
  ck_assert_str_eq(again, text);
  free(again);
  free(text);
  model_free(back);
  model_free(m);
}
END_TEST

/* model_predict_node on a real RAPL file: core is 0 in the file, so the
 * fix-up makes it package - uncore, for absolute and idle power. */
START_TEST(test_node_abs) {
  if (!have_data())
    return;
  const char *path = path_of(3);
  struct power_model *m = load_path(path);
  json_object *root = json_object_from_file(path), *pkg, *all;
  ck_assert(json_object_object_get_ex(root, "package", &pkg));
  ck_assert(json_object_object_get_ex(pkg, "All_Weights", &all));
  double x[NVEC][FEATURE_MAX];
  vectors_for(root, x);
  for (int v = 0; v < NVEC; v++) {
    struct model_output_w o;
    model_predict_node(m, x[v], &o);
    double idle = expected(LINEAR, all, x[0]);
    double busy = expected(LINEAR, all, x[v]);
    ck_assert(o.present[COMPONENT_PACKAGE] && o.present[COMPONENT_CORE]);
    ck_assert(!o.present[COMPONENT_PLATFORM]);
    ck_assert_close(o.idle[COMPONENT_PACKAGE], idle);
    ck_assert_close(o.absolute[COMPONENT_PACKAGE], idle + fmax(busy - idle, 0));
    ck_assert_close(o.absolute[COMPONENT_UNCORE], 0);
    ck_assert_close(o.absolute[COMPONENT_CORE], o.absolute[COMPONENT_PACKAGE]);
    ck_assert_close(o.idle[COMPONENT_CORE], idle);
    ck_assert_close(o.absolute[COMPONENT_PLATFORM], 0);
  }
  json_object_put(root);
  model_free(m);
}
END_TEST

/* A DynPower file: no idle part, absolute is the equation itself. */
START_TEST(test_node_dyn) {
  if (!have_data())
    return;
  const char *path = path_of(6);
  struct power_model *m = load_path(path);
  json_object *root = json_object_from_file(path), *comp, *all;
  double x[NVEC][FEATURE_MAX];
  vectors_for(root, x);
  ck_assert(json_object_object_get_ex(root, "dram", &comp));
  ck_assert(json_object_object_get_ex(comp, "All_Weights", &all));
  for (int v = 0; v < NVEC; v++) {
    struct model_output_w o;
    model_predict_node(m, x[v], &o);
    for (int c = 0; c < COMPONENT_MAX; c++)
      ck_assert_close(o.idle[c], 0);
    ck_assert_close(o.absolute[COMPONENT_DRAM],
                    expected(LOGARITHMIC, all, x[v]));
    ck_assert_close(o.absolute[COMPONENT_CORE],
                    o.absolute[COMPONENT_PACKAGE] -
                        o.absolute[COMPONENT_UNCORE]);
  }
  json_object_put(root);
  model_free(m);
}
END_TEST

/* --- From memory -----------------------------------------------------------
 */

static struct power_model *json_ok(const char *text, const char *trainer,
                                   enum model_output out) {
  char err[512] = "";
  struct power_model *m = NULL;
  ck_assert_msg(model_load_kepler_json(text, strlen(text), "mem", trainer, out,
                                       &m, err, sizeof err) == 0,
                "%s", err);
  return m;
}

START_TEST(test_categorical_and_us) {
  /* Categorical weights need a cpu_architecture; JSON has no rules to find
   * one, so they add nothing (Kepler sends its own; we have none). */
  struct power_model *m = json_ok(
      "{\"package\": {\"All_Weights\": {\"Bias_Weight\": 10,\n"
      " \"Categorical_Variables\": {\"cpu_architecture\":\n"
      "   {\"Sky Lake\": {\"weight\": 5}}},\n"
      " \"Numerical_Variables\": {\"bpf_cpu_time_us\": {\"scale\": 2000,\n"
      "   \"mean\": 100, \"variance\": 400, \"weight\": 3},\n"
      "  \"cpu_cycles\": {\"scale\": 1e9, \"weight\": 2}}}},\n"
      " \"model_name\": \"served\", \"mae\": 4.5,\n"
      " \"machine_spec\": {\"cores\": 8}}",
      "SGDRegressorTrainer_3", MODEL_ABS_POWER);
  ck_assert_str_eq(model_name(m), "served");
  ck_assert_close(model_mae_watts(m), 4.5);
  ck_assert_str_eq(model_cpu_architecture(m), "");
  /* x_us = 1000 * 0.5 = 500; (500 - 100) / sqrt(400) = 20. */
  double x[FEATURE_MAX] = {
      [FEATURE_CPU_TIME_MS] = 0.5, [FEATURE_CPU_CYCLES] = 3e9};
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 10 + 3 * 20 + 2 * 3);
  ck_assert(model_uses_feature(m, FEATURE_CPU_TIME_MS));
  char *text = write_yaml(m), err[256];
  ck_assert_ptr_ne(strstr(text, "\"Sky Lake\": 5\n"), NULL);
  ck_assert_ptr_ne(strstr(text, "bpf_cpu_time_us: { weight: 3, scale: 2000, "
                                "mean: 100, variance: 400 }"),
                   NULL);
  struct power_model *back = NULL;
  ck_assert_msg(
      model_load_buffer(text, strlen(text), "w", &back, err, sizeof err) == 0,
      "%s", err);
  ck_assert_close(model_predict(back, COMPONENT_PACKAGE, x),
                  10 + 3 * 20 + 2 * 3);
  free(text);
  model_free(back);
  model_free(m);
}
END_TEST

/* ln of a non-positive number, and overflow, give 0, never NaN. */
START_TEST(test_curve_guards) {
  struct power_model *m = json_ok(
      "{\"package\": {\"All_Weights\": {\"Categorical_Variables\": {},\n"
      "  \"Numerical_Variables\": {\"bpf_cpu_time_ms\": {\"scale\": 1}},\n"
      "  \"CurveFit_Weights\": [10, -1, 50]}}}",
      "LogarithmicRegressionTrainer", MODEL_ABS_POWER);
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 0.5};
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 10 * log(0.5) + 50);
  x[FEATURE_CPU_TIME_MS] = 1;
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 0);
  x[FEATURE_CPU_TIME_MS] = 2;
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 0);
  model_free(m);

  m = json_ok("{\"platform\": {\"All_Weights\": {\"Categorical_Variables\": "
              "{}, \"Numerical_Variables\": {\"cpu_cycles\": {\"scale\": "
              "1}}, \"CurveFit_Weights\": [1, 1, 5]}}}",
              "ExponentialRegressionTrainer_0", MODEL_ABS_POWER);
  double y[FEATURE_MAX] = {[FEATURE_CPU_CYCLES] = 1e6};
  double p = model_predict(m, COMPONENT_PLATFORM, y);
  ck_assert(isfinite(p));
  ck_assert_close(p, 0);
  y[FEATURE_CPU_CYCLES] = 2;
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, y), exp(2) + 5);
  model_free(m);
}
END_TEST

/* Leading blanks before '{' still make a file JSON. */
START_TEST(test_detect_json) {
  char dir[] = "/tmp/test_kjson_XXXXXX";
  ck_assert_ptr_ne(mkdtemp(dir), NULL);
  char sub[600], path[700];
  snprintf(sub, sizeof sub, "%s/DynPower", dir);
  ck_assert_int_eq(mkdir(sub, 0700), 0);
  snprintf(path, sizeof path, "%s/LinearRegressionTrainer.json", sub);
  FILE *fp = fopen(path, "w");
  ck_assert_ptr_ne(fp, NULL);
  fputs("\n  \t{\"dram\": {\"All_Weights\": {\"Bias_Weight\": 2,"
        " \"Categorical_Variables\": {}, \"Numerical_Variables\": {}}}}\n",
        fp);
  fclose(fp);
  struct power_model *m = load_path(path);
  unlink(path);
  rmdir(sub);
  rmdir(dir);
  ck_assert_str_eq(model_name(m), "LinearRegressionTrainer");
  ck_assert_int_eq(model_output_type(m), MODEL_DYN_POWER);
  double x[FEATURE_MAX] = {0};
  ck_assert_close(model_predict(m, COMPONENT_DRAM, x), 2);
  model_free(m);
}
END_TEST

/* --- Errors -----------------------------------------------------------------
 */

#define LIN_OK                                                                 \
  "\"Bias_Weight\": 1, \"Categorical_Variables\": {},\n"                       \
  "  \"Numerical_Variables\": {\"cpu_cycles\": {\"scale\": 1, \"weight\": "    \
  "1}}"

static const struct {
  const char *text, *trainer, *msg;
} bad[] = {
    {"{\"package\": {\"All_Weights\": {\n"
     "  \"Bias_Weight\": 1,\n"
     "  \"Numerical_Variables\": {\"cpu_cycles\": {\"scale\": 1 \"weight\": "
     "2}}}}}\n",
     "SGDRegressorTrainer_0",
     ":3: JSON syntax error: object value separator ',' expected"},
    {"{\"package\": {\"All_Weights\": {\n  \"Bias_Weight\": 1,\n",
     "SGDRegressorTrainer_0",
     ":3: JSON syntax error: unexpected end of the text"},
    {"{\"package\": {\"All_Weights\": {" LIN_OK "}}}\n\n{}",
     "SGDRegressorTrainer_0", ":4: JSON syntax error: unexpected character"},
    {"{\"package\": {\"All_Weights\": {\n"
     "  \"Bias_Weight\": 1,\n"
     "  \"Numerical_Variables\": {\n"
     "    \"cpu_cycles\": {\"scale\": 1, \"weight\": 2},\n"
     "    \"gpu_power\": {\"scale\": 1, \"weight\": 2}}}}}\n",
     "SGDRegressorTrainer_0", ":5: unknown feature \"gpu_power\""},
    {"{\"platform\": {\"All_Weights\": {\n"
     "  \"Numerical_Variables\": {\"bpf_cpu_time_ms\": {\"scale\": 1}},\n"
     "  \"CurveFit_Weights\": [1, 2]}}}\n",
     "LogisticRegressionTrainer_0",
     ":3: \"CurveFit_Weights\" of component \"platform\" must hold 4 numbers "
     "for a logistic curve, got 2"},
    {"{\"platform\": {\"All_Weights\": {\n"
     "  \"Numerical_Variables\": {\"bpf_cpu_time_ms\": {\"scale\": 1}},\n"
     "  \"CurveFit_Weights\": [1, 2, 3, 4]}}}\n",
     "ExponentialRegressionTrainer_0",
     ":3: \"CurveFit_Weights\" of component \"platform\" must hold 3 numbers "
     "for a exponential curve, got 4"},
    {"{\"platform\": {\"All_Weights\": {\n"
     "  \"Numerical_Variables\": {\"bpf_cpu_time_ms\": {\"scale\": 1}},\n"
     "  \"CurveFit_Weights\": [1, \"2\", 3]}}}\n",
     "LogarithmicRegressionTrainer_0",
     ":3: a \"CurveFit_Weights\" entry must be a finite number, got string"},
    {"{\"platform\": {\"All_Weights\": {\n"
     "  \"Numerical_Variables\": {\"bpf_cpu_time_ms\": {\"scale\": 1}}}}}\n",
     "LogarithmicRegressionTrainer_0",
     ":1: component \"platform\" of a logarithmic curve has no "
     "\"CurveFit_Weights\""},
    {"{\"platform\": {\"All_Weights\": {\n"
     "  \"Numerical_Variables\": {}, \"CurveFit_Weights\": [1, 2, 3]}}}\n",
     "LogarithmicRegressionTrainer_0",
     ":1: component \"platform\" of a curve fit needs a numerical feature "
     "(x0)"},
    {"{\"platform\": {\"All_Weights\": {" LIN_OK ",\n"
     "  \"CurveFit_Weights\": [1, 2, 3]}}}\n",
     "SGDRegressorTrainer_0",
     ":3: \"CurveFit_Weights\" in component \"platform\" of a linear trainer"},
    {"{\"dram\": {\"All_Weights\": {\n"
     "  \"Numerical_Variables\": {}}}}\n",
     "SGDRegressorTrainer_0",
     ":1: component \"dram\" of a linear trainer has no \"Bias_Weight\""},
    {"{\"dram\": {\"All_Weights\": {" LIN_OK "}},\n"
     " \"gpu\": {\"All_Weights\": {" LIN_OK "}}}\n",
     "SGDRegressorTrainer_0",
     ":3: component \"gpu\" is not one of package, core, uncore, dram, "
     "platform"},
    {"{\"dram\":\n {\"Weights\": {}}}\n", "SGDRegressorTrainer_0",
     ":1: component \"dram\" must hold just \"All_Weights\""},
    {"{\"dram\":\n [1]}\n", "SGDRegressorTrainer_0",
     ":1: component \"dram\" must be an object, got array"},
    {"{\"dram\": {\"All_Weights\": {\n"
     "  \"Bias_Weight\": \"1\"}}}\n",
     "SGDRegressorTrainer_0",
     ":2: \"Bias_Weight\" must be a finite number, got string"},
    {"{\"dram\": {\"All_Weights\": {\n"
     "  \"Bias_Weight\": 1, \"Numerical_Variables\": {\n"
     "   \"cpu_cycles\": {\"weight\": 1}}}}}\n",
     "SGDRegressorTrainer_0", ":3: feature \"cpu_cycles\" has no \"scale\""},
    {"{\"dram\": {\"All_Weights\": {\n"
     "  \"Bias_Weight\": 1, \"Numerical_Variables\": {\n"
     "   \"cpu_cycles\": {\"scale\": 1,\n \"sclae\": 1}}}}}\n",
     "SGDRegressorTrainer_0",
     ":4: unknown key \"sclae\" in feature \"cpu_cycles\""},
    {"{\"dram\": {\"All_Weights\": {\n"
     "  \"Bias_Weight\": 1, \"Categorical_Variables\": {\n"
     "   \"cpu_vendor\": {}}}}}\n",
     "SGDRegressorTrainer_0",
     ":3: categorical feature \"cpu_vendor\" is not supported (supported: "
     "cpu_architecture)"},
    {"{\"dram\": {\"All_Weights\": {" LIN_OK ",\n \"Extra\": 1}}}\n",
     "SGDRegressorTrainer_0", ":3: unknown key \"Extra\" in \"All_Weights\""},
    {"{}", "SGDRegressorTrainer_0", ":1: the model has no component"},
    /* D5: a name cut to "" by its NUL would be written as name: "", which
     * no loader takes back. */
    {"{\"dram\": {\"All_Weights\": {" LIN_OK "}},\n"
     " \"model_name\": \"\\u0000served\"}",
     "SGDRegressorTrainer_0",
     ":3: \"model_name\" must be a non-empty string without NUL characters"},
    {"[1, 2]", "SGDRegressorTrainer_0",
     ":1: a Kepler model must be a JSON object, got array"},
    {"{\"dram\": {\"All_Weights\": {" LIN_OK "}}}", "GradientBoostingTrainer_0",
     ":1: trainer \"GradientBoostingTrainer_0\" is not supported "
     "(supported: LogarithmicRegressionTrainer, ExponentialRegressionTrainer, "
     "LogisticRegressionTrainer and linear ones: *Regressor*, "
     "*LinearRegression*)"},
};

START_TEST(test_errors) {
  char err[1024] = "", want[1024];
  struct power_model *m = NULL;
  int rc = model_load_kepler_json(bad[_i].text, strlen(bad[_i].text),
                                  "bad.json", bad[_i].trainer, MODEL_ABS_POWER,
                                  &m, err, sizeof err);
  snprintf(want, sizeof want, "bad.json%s", bad[_i].msg);
  ck_assert_int_eq(rc, -1);
  ck_assert_ptr_eq(m, NULL);
  ck_assert_str_eq(err, want);
}
END_TEST

/* model_load_file names the file and takes the trainer from its name. */
START_TEST(test_error_file) {
  char dir[] = "/tmp/test_kjson_XXXXXX", path[256];
  ck_assert_ptr_ne(mkdtemp(dir), NULL);
  snprintf(path, sizeof path, "%s/LogisticRegressionTrainer_2.json", dir);
  FILE *fp = fopen(path, "w");
  ck_assert_ptr_ne(fp, NULL);
  fputs(bad[4].text, fp);
  fclose(fp);
  char err[1024], want[1024];
  struct power_model *m = NULL;
  ck_assert_int_eq(model_load_file(path, &m, err, sizeof err), -1);
  unlink(path);
  rmdir(dir);
  snprintf(want, sizeof want, "%s%s", path, bad[4].msg);
  ck_assert_str_eq(err, want);
  ck_assert_ptr_eq(m, NULL);
}
END_TEST

static Suite *kepler_json_suite(void) {
  Suite *s = suite_create("model_kepler_json");
  TCase *tc = tcase_create("files");
  tcase_add_loop_test(tc, test_predict_file, 0, ARRAY_SIZE(files));
  tcase_add_loop_test(tc, test_round_trip, 0, ARRAY_SIZE(files));
  tcase_add_test(tc, test_node_abs);
  tcase_add_test(tc, test_node_dyn);
  suite_add_tcase(s, tc);

  tc = tcase_create("memory");
  tcase_add_test(tc, test_categorical_and_us);
  tcase_add_test(tc, test_curve_guards);
  tcase_add_test(tc, test_detect_json);
  tcase_add_loop_test(tc, test_errors, 0, ARRAY_SIZE(bad));
  tcase_add_test(tc, test_error_file);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(kepler_json_suite());
}
