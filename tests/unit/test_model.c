/* Unit tests for plugin/model.c: the YAML model format and predictions. */
#include "model.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

#ifndef KEPLER_SRCDIR
#define KEPLER_SRCDIR "."
#endif

static struct power_model *load_ok(const char *text) {
  char err[512] = "";
  struct power_model *m = NULL;
  int rc = model_load_buffer(text, strlen(text), "test", &m, err, sizeof err);
  ck_assert_msg(rc == 0, "load failed: %s", err);
  ck_assert_ptr_ne(m, NULL);
  return m;
}

/* --- The equation, computed here independently of model.c ---------------- */

struct term {
  enum kepler_feature f;
  double weight, scale;
};

struct spec {
  enum kepler_component c;
  double bias;
  size_t n;
  struct term t[4];
};

static double expect(const struct spec *s, const double x[FEATURE_MAX]) {
  double p = s->bias;
  for (size_t i = 0; i < s->n; i++)
    if (s->t[i].scale != 0)
      p += s->t[i].weight * (x[s->t[i].f] / s->t[i].scale);
  return p > 0 ? p : 0;
}

static const char multi_yaml[] =
    "# A model with several components and features\n"
    "name: test-linear\n"
    "output_type: AbsPower\n"
    "source: unit test\n"
    "error: { mae_w: 12.0, mape_pct: 25.0 }\n"
    "components:\n"
    "  package:\n"
    "    bias: 12.5\n"
    "    weights:\n"
    "      bpf_cpu_time_ms: { weight: 25.0, scale: 1000 }\n"
    "      cpu_instructions: { weight: 3.0, scale: 1e9 }\n"
    "      cache_miss: { weight: 0.5, scale: 1e6 }\n"
    "  core:\n"
    "    type: linear\n"
    "    weights:\n"
    "      cpu_cycles:\n"
    "        weight: 2.0\n"
    "        scale: 2.5e9\n"
    "  dram:\n"
    "    bias: 3\n"
    "    weights:\n"
    "      cache_miss: { weight: 4.0, scale: 1e6 }\n"
    "      bpf_page_cache_hit: { weight: 0.25, scale: 1000 }\n"
    "  platform:\n"
    "    bias: 80\n"
    "    weights:\n"
    "      bpf_cpu_time_ms: { weight: 30, scale: 1000 }\n"
    "      bpf_net_rx_irq: { weight: 1.5, scale: 10000 }\n"
    "      bpf_net_tx_irq: { weight: 1.5, scale: 10000 }\n"
    "      bpf_block_irq: { weight: 2, scale: 500 }\n";

static const struct spec multi_spec[] = {
    {COMPONENT_PACKAGE,
     12.5,
     3,
     {{FEATURE_CPU_TIME_MS, 25.0, 1000},
      {FEATURE_CPU_INSTRUCTIONS, 3.0, 1e9},
      {FEATURE_CACHE_MISS, 0.5, 1e6}}},
    {COMPONENT_CORE, 0, 1, {{FEATURE_CPU_CYCLES, 2.0, 2.5e9}}},
    {COMPONENT_DRAM,
     3,
     2,
     {{FEATURE_CACHE_MISS, 4.0, 1e6}, {FEATURE_PAGE_CACHE_HIT, 0.25, 1000}}},
    {COMPONENT_PLATFORM,
     80,
     4,
     {{FEATURE_CPU_TIME_MS, 30, 1000},
      {FEATURE_NET_RX_IRQ, 1.5, 10000},
      {FEATURE_NET_TX_IRQ, 1.5, 10000},
      {FEATURE_BLOCK_IRQ, 2, 500}}},
};

static const double vectors[][FEATURE_MAX] = {
    {0},
    {[FEATURE_CPU_TIME_MS] = 4000},
    {[FEATURE_CPU_TIME_MS] = 16000,
     [FEATURE_CPU_CYCLES] = 3e10,
     [FEATURE_CPU_INSTRUCTIONS] = 4e10,
     [FEATURE_CACHE_MISS] = 2e7,
     [FEATURE_PAGE_CACHE_HIT] = 5e4,
     [FEATURE_NET_RX_IRQ] = 2e4,
     [FEATURE_NET_TX_IRQ] = 1e3,
     [FEATURE_BLOCK_IRQ] = 800},
    {[FEATURE_CPU_TIME_MS] = 500.5,
     [FEATURE_CPU_CYCLES] = 1.25e9,
     [FEATURE_CACHE_MISS] = 123456,
     [FEATURE_BLOCK_IRQ] = 3},
};

START_TEST(test_predict_multi) {
  struct power_model *m = load_ok(multi_yaml);
  ck_assert_str_eq(model_name(m), "test-linear");
  ck_assert_close(model_mae_watts(m), 12.0);
  ck_assert(model_has_component(m, COMPONENT_PACKAGE));
  ck_assert(model_has_component(m, COMPONENT_CORE));
  ck_assert(!model_has_component(m, COMPONENT_UNCORE));
  ck_assert(model_has_component(m, COMPONENT_DRAM));
  ck_assert(model_has_component(m, COMPONENT_PLATFORM));
  for (size_t v = 0; v < ARRAY_SIZE(vectors); v++) {
    for (size_t s = 0; s < ARRAY_SIZE(multi_spec); s++)
      ck_assert_close(model_predict(m, multi_spec[s].c, vectors[v]),
                      expect(&multi_spec[s], vectors[v]));
    ck_assert_close(model_predict(m, COMPONENT_UNCORE, vectors[v]), 0);
  }
  /* Spot checks by hand: package at 4 busy threads is 12.5 + 25 * 4. */
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, vectors[1]), 112.5);
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, vectors[1]), 200);
  ck_assert_close(model_predict(m, COMPONENT_CORE, vectors[2]), 24);
  model_free(m);
}
END_TEST

START_TEST(test_default_model) {
  const char *path = KEPLER_SRCDIR "/models/default.yaml";
  char err[512] = "";
  struct power_model *m = NULL;
  ck_assert_msg(model_load_file(path, &m, err, sizeof err) == 0, "%s", err);
  ck_assert_str_eq(model_name(m), "default-v1");
  ck_assert_close(model_mae_watts(m), -1);
  ck_assert(model_has_component(m, COMPONENT_PACKAGE));
  ck_assert(model_has_component(m, COMPONENT_DRAM));
  ck_assert(!model_has_component(m, COMPONENT_CORE));
  ck_assert(!model_has_component(m, COMPONENT_UNCORE));
  ck_assert(!model_has_component(m, COMPONENT_PLATFORM));
  ck_assert(model_uses_feature(m, FEATURE_CPU_TIME_MS));
  for (int f = 0; f < FEATURE_MAX; f++)
    if (f != FEATURE_CPU_TIME_MS)
      ck_assert(!model_uses_feature(m, f));

  const struct spec package = {
      COMPONENT_PACKAGE, 10.0, 1, {{FEATURE_CPU_TIME_MS, 10.0, 1000}}};
  const struct spec dram = {
      COMPONENT_DRAM, 2.0, 1, {{FEATURE_CPU_TIME_MS, 1.0, 1000}}};
  for (size_t v = 0; v < ARRAY_SIZE(vectors); v++) {
    ck_assert_close(model_predict(m, COMPONENT_PACKAGE, vectors[v]),
                    expect(&package, vectors[v]));
    ck_assert_close(model_predict(m, COMPONENT_DRAM, vectors[v]),
                    expect(&dram, vectors[v]));
    ck_assert_close(model_predict(m, COMPONENT_PLATFORM, vectors[v]), 0);
  }
  /* Idle: 10 W + 2 W; 4 busy threads add 40 W and 4 W. */
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, vectors[0]), 10);
  ck_assert_close(model_predict(m, COMPONENT_DRAM, vectors[0]), 2);
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, vectors[1]), 50);
  ck_assert_close(model_predict(m, COMPONENT_DRAM, vectors[1]), 6);
  model_free(m);
}
END_TEST

START_TEST(test_scale_zero_skipped) {
  struct power_model *m =
      load_ok("name: s0\n"
              "output_type: AbsPower\n"
              "components:\n"
              "  package:\n"
              "    bias: 5\n"
              "    weights:\n"
              "      bpf_cpu_time_ms: { weight: 10, scale: 0 }\n"
              "      cpu_cycles: { weight: 1, scale: 1e9 }\n");
  double x[FEATURE_MAX] = {
      [FEATURE_CPU_TIME_MS] = 1e6, [FEATURE_CPU_CYCLES] = 2e9};
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 7);
  ck_assert(!model_uses_feature(m, FEATURE_CPU_TIME_MS));
  ck_assert(model_uses_feature(m, FEATURE_CPU_CYCLES));
  model_free(m);
}
END_TEST

START_TEST(test_defaults) {
  /* type defaults to linear, bias to 0, scale to 1; a component may be
   * empty (constant 0 W). */
  struct power_model *m = load_ok("name: defaults\n"
                                  "output_type: AbsPower\n"
                                  "components:\n"
                                  "  core:\n"
                                  "    weights:\n"
                                  "      cpu_cycles: { weight: 2 }\n"
                                  "  uncore: {}\n");
  double x[FEATURE_MAX] = {[FEATURE_CPU_CYCLES] = 3};
  ck_assert_close(model_predict(m, COMPONENT_CORE, x), 6);
  ck_assert(model_has_component(m, COMPONENT_UNCORE));
  ck_assert_close(model_predict(m, COMPONENT_UNCORE, x), 0);
  ck_assert_close(model_mae_watts(m), -1);
  model_free(m);
}
END_TEST

START_TEST(test_clamp) {
  struct power_model *m =
      load_ok("name: clamp\n"
              "output_type: AbsPower\n"
              "components:\n"
              "  package:\n"
              "    bias: -20\n"
              "    weights:\n"
              "      bpf_cpu_time_ms: { weight: 10, scale: 1000 }\n"
              "  dram:\n"
              "    bias: 5\n"
              "    weights:\n"
              "      bpf_cpu_time_ms: { weight: -10, scale: 1000 }\n");
  const struct spec package = {
      COMPONENT_PACKAGE, -20, 1, {{FEATURE_CPU_TIME_MS, 10, 1000}}};
  const struct spec dram = {
      COMPONENT_DRAM, 5, 1, {{FEATURE_CPU_TIME_MS, -10, 1000}}};
  const double busy[] = {0, 1000, 2000, 3000, 500, 1e9};
  for (size_t i = 0; i < ARRAY_SIZE(busy); i++) {
    double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = busy[i]};
    double p = model_predict(m, COMPONENT_PACKAGE, x);
    double d = model_predict(m, COMPONENT_DRAM, x);
    ck_assert(p >= 0 && !signbit(p));
    ck_assert(d >= 0 && !signbit(d));
    ck_assert_close(p, expect(&package, x));
    ck_assert_close(d, expect(&dram, x));
  }
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 3000};
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 10);
  ck_assert_close(model_predict(m, COMPONENT_DRAM, x), 0);
  x[FEATURE_CPU_TIME_MS] = 1000;
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 0);
  model_free(m);
}
END_TEST

START_TEST(test_non_finite) {
  struct power_model *m =
      load_ok("name: nf\n"
              "output_type: AbsPower\n"
              "components:\n"
              "  package:\n"
              "    bias: 5\n"
              "    weights:\n"
              "      bpf_cpu_time_ms: { weight: 10, scale: 1000 }\n"
              "  dram:\n"
              "    bias: 5\n"
              "    weights:\n"
              "      cpu_cycles: { weight: 1e308, scale: 1e-308 }\n"
              "  core:\n"
              "    weights:\n"
              "      cpu_cycles: { weight: 1e308, scale: 1e-300 }\n"
              "      cpu_instructions: { weight: -1e308, scale: 1e-300 }\n");
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = NAN};
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 5);
  x[FEATURE_CPU_TIME_MS] = INFINITY;
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 5);
  x[FEATURE_CPU_TIME_MS] = -INFINITY;
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 5);
  /* A sum that overflows to inf, or to inf - inf = NaN, gives 0. */
  x[FEATURE_CPU_CYCLES] = 1e10;
  ck_assert_close(model_predict(m, COMPONENT_DRAM, x), 0);
  x[FEATURE_CPU_INSTRUCTIONS] = 1e10;
  double p = model_predict(m, COMPONENT_CORE, x);
  ck_assert(isfinite(p));
  ck_assert_close(p, 0);
  model_free(m);
}
END_TEST

START_TEST(test_missing_component) {
  struct power_model *m = load_ok("name: only-dram\n"
                                  "output_type: AbsPower\n"
                                  "components:\n"
                                  "  dram: { bias: 7 }\n");
  const double *x = vectors[2];
  ck_assert_close(model_predict(m, COMPONENT_DRAM, x), 7);
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (c != COMPONENT_DRAM) {
      ck_assert(!model_has_component(m, c));
      ck_assert_close(model_predict(m, c, x), 0);
    }
  ck_assert_close(model_predict(m, COMPONENT_MAX, x), 0);
  ck_assert(!model_has_component(m, COMPONENT_MAX));
  ck_assert_close(model_predict(NULL, COMPONENT_DRAM, x), 0);
  model_free(m);
  model_free(NULL);
}
END_TEST

START_TEST(test_uses_feature) {
  struct power_model *m =
      load_ok("name: uses\n"
              "output_type: AbsPower\n"
              "components:\n"
              "  package:\n"
              "    weights:\n"
              "      bpf_cpu_time_ms: { weight: 0, scale: 1000 }\n"
              "      cache_miss: { weight: 1, scale: 0 }\n"
              "  core:\n"
              "    weights:\n"
              "      cpu_cycles: { weight: 1, scale: 1 }\n"
              "  platform:\n"
              "    weights:\n"
              "      cache_miss: { weight: 0, scale: 0 }\n"
              "      bpf_block_irq: { weight: -0.5, scale: -2 }\n");
  ck_assert(!model_uses_feature(m, FEATURE_CPU_TIME_MS));
  ck_assert(!model_uses_feature(m, FEATURE_CACHE_MISS));
  ck_assert(model_uses_feature(m, FEATURE_CPU_CYCLES));
  ck_assert(model_uses_feature(m, FEATURE_BLOCK_IRQ));
  ck_assert(!model_uses_feature(m, FEATURE_CPU_INSTRUCTIONS));
  ck_assert(!model_uses_feature(m, FEATURE_NET_RX_IRQ));
  ck_assert(!model_uses_feature(m, FEATURE_MAX));
  ck_assert(!model_uses_feature(NULL, FEATURE_CPU_CYCLES));
  double x[FEATURE_MAX] = {[FEATURE_BLOCK_IRQ] = 8};
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), 2);
  model_free(m);
}
END_TEST

START_TEST(test_mae) {
  static const struct {
    const char *error;
    double mae;
  } cases[] = {
      {"error: { mae_w: 12.0 }\n", 12},
      {"error: { mae_w: 0 }\n", 0},
      {"error:\n  mae_w: 3.5\n  mape_pct: 25.0\n", 3.5},
      {"error: { mae_w: -3 }\n", -1},
      {"error: { mape_pct: 25.0 }\n", -1},
      {"error: {}\n", -1},
      {"", -1},
  };
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    char text[256];
    snprintf(text, sizeof text,
             "name: mae\noutput_type: AbsPower\n%s"
             "components: { package: { bias: 1 } }\n",
             cases[i].error);
    struct power_model *m = load_ok(text);
    ck_assert_close(model_mae_watts(m), cases[i].mae);
    model_free(m);
  }
  ck_assert_close(model_mae_watts(NULL), -1);
}
END_TEST

START_TEST(test_component_names) {
  static const char *const names[COMPONENT_MAX] = {"package", "core", "uncore",
                                                   "dram", "platform"};
  for (int c = 0; c < COMPONENT_MAX; c++) {
    ck_assert_str_eq(component_name(c), names[c]);
    ck_assert_int_eq(component_by_name(names[c]), c);
  }
  ck_assert_int_eq(component_by_name("packge"), -1);
  ck_assert_int_eq(component_by_name(""), -1);
  ck_assert_int_eq(component_by_name("Package"), -1);
  ck_assert_str_eq(component_name(COMPONENT_MAX), "unknown");
}
END_TEST

/* --- Errors --------------------------------------------------------------- */

#define HEAD "name: m\noutput_type: AbsPower\n"

/* Bad models and the message each gives, after "ORIGIN". */
static const struct {
  const char *text;
  const char *msg;
} bad[] = {
    {"# collectd-kepler power model\n" HEAD "components:\n"
     "  package:\n"
     "    weights:\n"
     "      cpu_tim: { weight: 1, scale: 1 }\n",
     ":7: unknown feature \"cpu_tim\" in component \"package\""},
    {HEAD "components:\n  packge:\n    bias: 1\n",
     ":4: component \"packge\" is not one of package, core, uncore, dram, "
     "platform"},
    {HEAD "components:\n"
          "  package:\n"
          "    weights:\n"
          "      bpf_cpu_time_ms: { weight: abc, scale: 1000 }\n",
     ":6: \"weight\" must be a number, got \"abc\""},
    {"name: m\noutput_type: AbsPower\nsource: s\n",
     ":1: missing required key \"components\" at top level"},
    {"\n\noutput_type: AbsPower\ncomponents: {package: {}}\n",
     ":3: missing required key \"name\" at top level"},
    {"name: m\ncomponents: {package: {}}\n",
     ":1: missing required key \"output_type\" at top level"},
    {HEAD "colour: red\ncomponents: {package: {}}\n",
     ":3: unknown key \"colour\" at top level"},
    {HEAD "components:\n  dram: {bias: 1}\n  package: {bias: 2}\n"
          "  dram: {bias: 3}\n",
     ":6: duplicate component \"dram\""},
    {HEAD "name: n\ncomponents: {package: {}}\n",
     ":3: duplicate key \"name\" at top level"},
    {HEAD "components:\n  package:\n    bias: 1\n   weights: {}\n",
     ":6: YAML syntax error: did not find expected key (while parsing a block "
     "mapping started at line 4)"},
    {HEAD "components:\n  package: {bias: 1\n",
     ":5: YAML syntax error: did not find expected ',' or '}' (while parsing a "
     "flow mapping started at line 4)"},
    {HEAD "source: \"abc\n",
     ":4: YAML syntax error: found unexpected end of stream (while scanning a "
     "quoted scalar started at line 3)"},
    {HEAD "components:\n  package:\n    bias: 1\n  weights: x: y\n",
     ":6: YAML syntax error: mapping values are not allowed in this context"},
    {HEAD "source: a\xff\n",
     ":3: YAML syntax error: invalid leading UTF-8 octet (#FF at byte 39)"},
    {"name: m\noutput_type: DynPower\ncomponents: {package: {}}\n",
     ":2: output_type \"DynPower\" is not supported (supported: AbsPower)"},
    {"name: m\noutput_type: [AbsPower]\ncomponents: {package: {}}\n",
     ":2: \"output_type\" must be a string, got a sequence"},
    {HEAD "components:\n  package:\n    type: poly\n",
     ":5: type \"poly\" of component \"package\" is not supported (supported: "
     "linear)"},
    {HEAD "components:\n  package:\n    type: {a: b}\n",
     ":5: \"type\" must be a string, got a mapping"},
    {HEAD "components:\n  package:\n    bias: 12abc\n",
     ":5: \"bias\" must be a number, got \"12abc\""},
    {HEAD "components:\n  package:\n    bias: inf\n",
     ":5: \"bias\" must be a number, got \"inf\""},
    {HEAD "components:\n  package:\n    bias: nan\n",
     ":5: \"bias\" must be a number, got \"nan\""},
    {HEAD "components:\n  package:\n    bias: 1e999\n",
     ":5: \"bias\" must be a number, got \"1e999\""},
    {HEAD "components:\n  package:\n    bias: \" 12\"\n",
     ":5: \"bias\" must be a number, got \" 12\""},
    {HEAD "components:\n  package:\n    bias:\n",
     ":5: \"bias\" must be a number, got an empty value"},
    {HEAD "components:\n  package:\n    bias: [1]\n",
     ":5: \"bias\" must be a number, got a sequence"},
    {HEAD "components:\n"
          "  dram:\n"
          "    weights:\n"
          "      cache_miss: { weight: 1, scale: x }\n",
     ":6: \"scale\" must be a number, got \"x\""},
    {HEAD "components:\n  package:\n    weights: [1, 2]\n",
     ":5: \"weights\" must be a mapping, got a sequence"},
    {HEAD "components:\n  package:\n    weights:\n      bpf_cpu_time_ms: 25\n",
     ":6: feature \"bpf_cpu_time_ms\" in component \"package\" must be a "
     "mapping { weight: W, scale: S }, got \"25\""},
    {HEAD "components:\n"
          "  package:\n"
          "    weights:\n"
          "      bpf_cpu_time_ms: { scale: 1000 }\n",
     ":6: missing required key \"weight\" in feature \"bpf_cpu_time_ms\" of "
     "component \"package\""},
    {HEAD "components:\n  package:\n    biass: 1\n",
     ":5: unknown key \"biass\" in component \"package\""},
    {HEAD "components:\n  package:\n    bias: 1\n    bias: 2\n",
     ":6: duplicate key \"bias\" in component \"package\""},
    {HEAD "components:\n"
          "  package:\n"
          "    weights:\n"
          "      bpf_cpu_time_ms: { weight: 1, scael: 2 }\n",
     ":6: unknown key \"scael\" in feature \"bpf_cpu_time_ms\" of component "
     "\"package\""},
    {HEAD "components:\n"
          "  core:\n"
          "    weights:\n"
          "      cpu_cycles: { weight: 1 }\n"
          "      cpu_cycles: { weight: 2 }\n",
     ":7: duplicate feature \"cpu_cycles\" in component \"core\""},
    {HEAD "error: { mae: 3 }\ncomponents: {package: {}}\n",
     ":3: unknown key \"mae\" in \"error\""},
    {HEAD "error: 12\ncomponents: {package: {}}\n",
     ":3: \"error\" must be a mapping, got \"12\""},
    {HEAD "error:\n  mae_w: twelve\ncomponents: {package: {}}\n",
     ":4: \"mae_w\" must be a number, got \"twelve\""},
    {HEAD "error:\n  mape_pct: \"\"\ncomponents: {package: {}}\n",
     ":4: \"mape_pct\" must be a number, got an empty value"},
    {"", ":1: the model is empty"},
    {"# only a comment\n", ":1: the model is empty"},
    {"- name: m\n", ":1: the model must be a mapping, got a sequence"},
    {"name: m\n---\nname: n\n",
     ":3: a model holds one YAML document, found another"},
    {HEAD "components: {}\n",
     ":3: \"components\" must hold at least one component"},
    {HEAD "components:\n", ":3: \"components\" must be a mapping, got an "
                           "empty value"},
    {HEAD "components:\n  package: 5\n",
     ":4: component \"package\" must be a mapping, got \"5\""},
    {"name: \"\"\noutput_type: AbsPower\ncomponents: {package: {}}\n",
     ":1: \"name\" must be a non-empty string, got an empty value"},
    {"name: {a: b}\noutput_type: AbsPower\ncomponents: {package: {}}\n",
     ":1: \"name\" must be a non-empty string, got a mapping"},
    {HEAD "source:\ncomponents: {package: {}}\n",
     ":3: \"source\" must be a non-empty string, got an empty value"},
    {"? [a]\n: 1\n", ":1: keys must be strings at top level"},
};

/* Every failure leaves *out as it was: here a model loaded before. */
static struct power_model *previous(void) {
  return load_ok("name: previous\noutput_type: AbsPower\n"
                 "components: { dram: { bias: 1 } }\n");
}

static void check_failed(int rc, struct power_model *out,
                         struct power_model *prev, const char *err,
                         const char *origin, const char *msg) {
  char want[1024];
  snprintf(want, sizeof want, "%s%s", origin, msg);
  ck_assert_int_eq(rc, -1);
  ck_assert_ptr_eq(out, prev);
  ck_assert_str_eq(model_name(out), "previous");
  ck_assert_str_eq(err, want);
}

START_TEST(test_error_buffer) {
  char err[1024] = "";
  struct power_model *prev = previous(), *m = prev;
  int rc = model_load_buffer(bad[_i].text, strlen(bad[_i].text), "bad.yaml", &m,
                             err, sizeof err);
  check_failed(rc, m, prev, err, "bad.yaml", bad[_i].msg);
  model_free(prev);
}
END_TEST

START_TEST(test_error_file) {
  char path[] = "/tmp/test_model_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  size_t len = strlen(bad[_i].text);
  ck_assert_int_eq(write(fd, bad[_i].text, len), (ssize_t)len);
  close(fd);

  char err[1024] = "";
  struct power_model *prev = previous(), *m = prev;
  int rc = model_load_file(path, &m, err, sizeof err);
  unlink(path);
  check_failed(rc, m, prev, err, path, bad[_i].msg);
  model_free(prev);
}
END_TEST

START_TEST(test_error_open) {
  char err[512] = "";
  struct power_model *prev = previous(), *m = prev;
  ck_assert_int_eq(
      model_load_file("/nonexistent/model.yaml", &m, err, sizeof err), -1);
  ck_assert_ptr_eq(m, prev);
  ck_assert_str_eq(err, "/nonexistent/model.yaml: cannot open: No such file "
                        "or directory");
  ck_assert_int_eq(
      model_load_file(KEPLER_SRCDIR "/models", &m, err, sizeof err), -1);
  ck_assert_ptr_eq(m, prev);
  ck_assert_str_eq(err, KEPLER_SRCDIR "/models: cannot read: Is a directory");
  model_free(prev);
}
END_TEST

START_TEST(test_error_truncated) {
  char err[16];
  memset(err, 'x', sizeof err);
  struct power_model *m = NULL;
  const char *text = bad[0].text;
  ck_assert_int_eq(
      model_load_buffer(text, strlen(text), "bad.yaml", &m, err, 12), -1);
  ck_assert_str_eq(err, "bad.yaml:7:");
  ck_assert_int_eq(err[12], 'x');
  ck_assert_int_eq(
      model_load_buffer(text, strlen(text), "bad.yaml", &m, NULL, 0), -1);
  ck_assert_int_eq(model_load_file("/nonexistent", &m, NULL, 0), -1);
  ck_assert_ptr_eq(m, NULL);
}
END_TEST

static Suite *model_suite(void) {
  Suite *s = suite_create("model");

  TCase *tc = tcase_create("predict");
  tcase_add_test(tc, test_predict_multi);
  tcase_add_test(tc, test_scale_zero_skipped);
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_clamp);
  tcase_add_test(tc, test_non_finite);
  tcase_add_test(tc, test_missing_component);
  tcase_add_test(tc, test_uses_feature);
  tcase_add_test(tc, test_mae);
  tcase_add_test(tc, test_component_names);
  suite_add_tcase(s, tc);

  tc = tcase_create("default");
  tcase_add_test(tc, test_default_model);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_loop_test(tc, test_error_buffer, 0, ARRAY_SIZE(bad));
  tcase_add_loop_test(tc, test_error_file, 0, ARRAY_SIZE(bad));
  tcase_add_test(tc, test_error_open);
  tcase_add_test(tc, test_error_truncated);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(model_suite());
}
