// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/model.c: the YAML model format and predictions. */
#include "model.h"
#include "model_kepler_json.h"
#include "model_load.h"
#include "model_yaml.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "model_text.h"
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

/* The shipped default loads, and on a typical server its node power is
 * positive, idle <= absolute, and grows with CPU time. Its figures are the
 * default model's own business (models/default.yaml). */
START_TEST(test_default_model) {
  const char *path = KEPLER_SRCDIR "/models/default.yaml";
  char err[512] = "";
  struct power_model *m = NULL;
  ck_assert_msg(model_load_file(path, &m, err, sizeof err) == 0, "%s", err);
  ck_assert_str_ne(model_name(m), "");
  ck_assert(model_uses_feature(m, FEATURE_CPU_TIME_MS));
  const struct machine_spec server = {.cpu = "Intel(R) Xeon(R) Gold 6248",
                                      .chips = 2,
                                      .cores = 40,
                                      .threads = 80,
                                      .memory_gb = 384,
                                      .mhz = 2500};
  ck_assert_msg(model_bind_machine(m, &server, err, sizeof err) == 0, "%s",
                err);
  double last = 0;
  for (int busy = 0; busy <= 80; busy += 20) {
    double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 1000.0 * busy};
    struct model_output_w o;
    model_predict_node(m, x, &o);
    double total = 0;
    for (int c = 0; c < COMPONENT_MAX; c++) {
      ck_assert(o.idle[c] <= o.absolute[c]);
      if (c != COMPONENT_CORE && c != COMPONENT_UNCORE)
        total += o.absolute[c];
    }
    ck_assert(total > 0);
    ck_assert(total >= last);
    last = total;
  }
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

/* --- Output types, binding and node semantics ------------------------------
 */

static void bind_ok(struct power_model *m, const struct machine_spec *spec) {
  char err[512] = "";
  ck_assert_msg(model_bind_machine(m, spec, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_dyn_power) {
  struct power_model *m = load_ok(
      "name: dyn\n"
      "output_type: DynPower\n"
      "components:\n"
      "  package:\n"
      "    bias: 4\n"
      "    weights: { bpf_cpu_time_ms: { weight: 10, scale: 1000 } }\n");
  ck_assert_int_eq(model_output_type(m), MODEL_DYN_POWER);
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 2500};
  struct model_output_w o;
  model_predict_node(m, x, &o);
  ck_assert(o.present[COMPONENT_PACKAGE]);
  ck_assert_close(o.absolute[COMPONENT_PACKAGE], 4 + 10 * 2.5);
  ck_assert_close(o.idle[COMPONENT_PACKAGE], 0);
  ck_assert(!o.present[COMPONENT_DRAM]);
  ck_assert_close(o.absolute[COMPONENT_DRAM], 0);
  model_free(m);
}
END_TEST

static const char ratio_yaml[] =
    "name: ratio\n"
    "output_type: AbsPower\n"
    "trained_on: { cores: 16, chips: 2, threads: 32, memory_gb: 128, mhz: "
    "2400, cpu: \"Xeon E5\" }\n"
    "components:\n"
    "  package:\n"
    "    bias: 40\n"
    "    weights: { bpf_cpu_time_ms: { weight: 8, scale: 1000 } }\n"
    "  dram:\n"
    "    bias: 6\n"
    "    weights: { bpf_cpu_time_ms: { weight: -1, scale: 1000 } }\n";

/* idle = equation(0) x coreRatio; dynamic = max(equation(x) - equation(0),
 * 0). The dram equation falls with load: its dynamic part is 0. */
START_TEST(test_core_ratio) {
  struct power_model *m = load_ok(ratio_yaml);
  ck_assert_close(model_core_ratio(m), 1);
  static const struct {
    unsigned cores;
    double ratio;
  } cases[] = {{8, 0.5}, {4, 0.25}, {16, 1}, {64, 1}, {0, 1}};
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct machine_spec spec = {.cores = cases[i].cores, .threads = 1};
    bind_ok(m, &spec);
    ck_assert_close(model_core_ratio(m), cases[i].ratio);
    double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 3000};
    struct model_output_w o;
    model_predict_node(m, x, &o);
    ck_assert_close(o.idle[COMPONENT_PACKAGE], 40 * cases[i].ratio);
    ck_assert_close(o.absolute[COMPONENT_PACKAGE], 40 * cases[i].ratio + 24);
    ck_assert_close(o.idle[COMPONENT_DRAM], 6 * cases[i].ratio);
    ck_assert_close(o.absolute[COMPONENT_DRAM], 6 * cases[i].ratio);
  }
  model_free(m);
}
END_TEST

/* Package is raised to core + uncore; a core of 0 becomes package -
 * uncore; idle parts follow the same rules and never exceed absolute. */
START_TEST(test_fix_ups) {
  struct power_model *m =
      load_ok("name: fix\n"
              "output_type: AbsPower\n"
              "components:\n"
              "  package:\n"
              "    bias: 10\n"
              "    weights: { cpu_cycles: { weight: 1, scale: 1e9 } }\n"
              "  core:\n"
              "    bias: 6\n"
              "    weights: { cpu_instructions: { weight: 2, scale: 1e9 } }\n"
              "  uncore:\n"
              "    bias: 3\n");
  double x[FEATURE_MAX] = {
      [FEATURE_CPU_CYCLES] = 2e9, [FEATURE_CPU_INSTRUCTIONS] = 4e9};
  struct model_output_w o;
  model_predict_node(m, x, &o);
  /* Equations: package 12, core 14, uncore 3 -> package 17. */
  ck_assert_close(o.absolute[COMPONENT_CORE], 14);
  ck_assert_close(o.absolute[COMPONENT_UNCORE], 3);
  ck_assert_close(o.absolute[COMPONENT_PACKAGE], 17);
  /* Idle: package 10 >= core 6 + uncore 3, unchanged. */
  ck_assert_close(o.idle[COMPONENT_PACKAGE], 10);
  ck_assert_close(o.idle[COMPONENT_CORE], 6);
  model_free(m);

  m = load_ok("name: fix0\n"
              "output_type: AbsPower\n"
              "components:\n"
              "  package:\n"
              "    bias: 20\n"
              "    weights: { cpu_cycles: { weight: 5, scale: 1e9 } }\n"
              "  core: {}\n"
              "  uncore:\n"
              "    bias: 4\n"
              "  dram: {}\n");
  model_predict_node(m, x, &o);
  ck_assert_close(o.absolute[COMPONENT_PACKAGE], 30);
  ck_assert_close(o.absolute[COMPONENT_CORE], 26);
  ck_assert_close(o.idle[COMPONENT_CORE], 16);
  ck_assert_close(o.absolute[COMPONENT_DRAM], 0);
  ck_assert(o.present[COMPONENT_DRAM]);
  model_free(m);

  /* Uncore above package: core stays 0, not negative. */
  m = load_ok("name: fix1\n"
              "output_type: AbsPower\n"
              "components:\n"
              "  package: { bias: 2 }\n"
              "  core: {}\n"
              "  uncore: { bias: 5 }\n");
  model_predict_node(m, x, &o);
  ck_assert_close(o.absolute[COMPONENT_PACKAGE], 5);
  ck_assert_close(o.absolute[COMPONENT_CORE], 0);
  ck_assert(o.idle[COMPONENT_PACKAGE] <= o.absolute[COMPONENT_PACKAGE]);
  model_free(m);
}
END_TEST

static const char arch_yaml[] =
    "name: arch\n"
    "output_type: AbsPower\n"
    "cpu_architectures:\n"
    "  - { match: \"xeon.*(8259|8175)\", name: skylake }\n"
    "  - match: \"epyc|xeon\"\n"
    "    name: \"Zen 2\"\n"
    "components:\n"
    "  package:\n"
    "    bias: 50\n"
    "    categorical:\n"
    "      cpu_architecture: { skylake: 7, \"Zen 2\": -3 }\n"
    "    weights: { bpf_cpu_time_ms: { weight: 2, scale: 1000 } }\n";

/* cpu_architectures: the first matching rule (case-insensitive) names the
 * architecture; its categorical weight is added; no match adds 0. */
START_TEST(test_categorical) {
  struct power_model *m = load_ok(arch_yaml);
  static const struct {
    const char *cpu, *arch;
    double add;
  } cases[] = {
      {"Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz", "skylake", 7},
      {"INTEL XEON PLATINUM 8175M", "skylake", 7},
      {"Intel(R) Xeon(R) Gold 6248", "Zen 2", -3},
      {"AMD EPYC 7B12", "Zen 2", -3},
      {"Neoverse-N1", "", 0},
      {"", "", 0},
  };
  ck_assert_str_eq(model_cpu_architecture(m), "");
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 1500};
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    struct machine_spec spec = {.threads = 4};
    snprintf(spec.cpu, sizeof spec.cpu, "%s", cases[i].cpu);
    bind_ok(m, &spec);
    ck_assert_str_eq(model_cpu_architecture(m), cases[i].arch);
    ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x),
                    50 + cases[i].add + 2 * 1.5);
  }
  model_free(m);
}
END_TEST

/* mean/variance (v0.4-0.5 normalisation) and v0.6's bpf_cpu_time_us. */
START_TEST(test_mean_variance) {
  struct power_model *m = load_ok(
      "name: mv\n"
      "output_type: AbsPower\n"
      "components:\n"
      "  package:\n"
      "    bias: 1\n"
      "    weights:\n"
      "      bpf_cpu_time_us: { weight: 2, scale: 1e6, mean: 500, variance: "
      "2500 }\n"
      "      cpu_cycles: { weight: 3, scale: 1e9, mean: 7, variance: 0 }\n"
      "  dram:\n"
      "    weights:\n"
      "      bpf_cpu_time_us: { weight: 4, scale: 1e6 }\n");
  double x[FEATURE_MAX] = {
      [FEATURE_CPU_TIME_MS] = 2, [FEATURE_CPU_CYCLES] = 5e9};
  /* us = 2000: (2000 - 500) / 50 = 30; cycles: variance 0 -> x / scale. */
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 1 + 2 * 30 + 3 * 5);
  ck_assert_close(model_predict(m, COMPONENT_DRAM, x), 4 * 2000 / 1e6);
  ck_assert(model_uses_feature(m, FEATURE_CPU_TIME_MS));
  model_free(m);
}
END_TEST

static const char curves_yaml[] =
    "name: curves\n"
    "output_type: AbsPower\n"
    "cpu_architectures: [ { match: epyc, name: zen2 } ]\n"
    "components:\n"
    "  package:\n"
    "    type: logarithmic\n"
    "    weights:\n"
    "      bpf_cpu_time_ms: { scale: 4000 }\n"
    "      cpu_cycles: { scale: 1e9 }\n"
    "    curve: [30, 5, 20]\n"
    "    categorical: { cpu_architecture: { zen2: 2.5 } }\n"
    "  dram:\n"
    "    type: exponential\n"
    "    weights:\n"
    "      cpu_cycles: { scale: 1e9 }\n"
    "      bpf_cpu_time_ms: { scale: 4000 }\n"
    "    curve: [3, 0.5, 1]\n"
    "  platform:\n"
    "    type: logistic\n"
    "    weights:\n"
    "      bpf_cpu_time_ms: { scale: 4000, mean: 1000, variance: 4e6 }\n"
    "    curve: [80, 0.4, 4, 50]\n";

/* Curve fits use only x0, the first feature listed. */
START_TEST(test_curves) {
  struct power_model *m = load_ok(curves_yaml);
  struct machine_spec spec = {.cpu = "AMD EPYC 7502", .threads = 64};
  bind_ok(m, &spec);
  const double busy[] = {0, 1000, 2000, 4000, 12000};
  for (size_t i = 0; i < ARRAY_SIZE(busy); i++) {
    double x[FEATURE_MAX] = {
        [FEATURE_CPU_TIME_MS] = busy[i], [FEATURE_CPU_CYCLES] = 3e9};
    double u = busy[i] / 4000;
    ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x),
                    2.5 + 30 * log(5 * u + 1) + 20);
    ck_assert_close(model_predict(m, COMPONENT_DRAM, x), 3 * exp(0.5 * 3) + 1);
    double z = (busy[i] - 1000) / 2000;
    ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x),
                    80 / (1 + exp(-4 * (z - 0.4))) + 50);
  }
  ck_assert(model_uses_feature(m, FEATURE_CPU_TIME_MS));
  ck_assert(model_uses_feature(m, FEATURE_CPU_CYCLES));
  ck_assert(!model_uses_feature(m, FEATURE_CACHE_MISS));
  model_free(m);
}
END_TEST

/* --- load_curve --------------------------------------------------------------
 */

static const double lc_levels[] = {0, 0.25, 0.5, 1};
static const double lc_intercept[] = {3.0, 3.2, 3.5, 3.9};
static const double lc_threads[] = {0.5, 0.45, 0.4, 0.42};
static const double lc_memory[] = {0.1, 0.1, 0.12, 0.1};
static const double lc_skylake[] = {-0.2, -0.1, 0, 0.05};

static const char lc_yaml[] =
    "name: lc\n"
    "output_type: AbsPower\n"
    "cpu_architectures: [ { match: \"xeon.*gold\", name: skylake } ]\n"
    "components:\n"
    "  platform:\n"
    "    type: load_curve\n"
    "    utilization: { feature: bpf_cpu_time_ms, scale: 1000 }\n"
    "    levels: [0, 0.25, 0.5, 1]\n"
    "    intercept: [3.0, 3.2, 3.5, 3.9]\n"
    "    terms:\n"
    "      ln_threads: [0.5, 0.45, 0.4, 0.42]\n"
    "      ln_memory_gb: [0.1, 0.1, 0.12, 0.1]\n"
    "    architecture:\n"
    "      skylake: [-0.2, -0.1, 0, 0.05]\n"
    "      zen2: [9, 9, 9, 9]\n"
    "    vm_host: { chips: 2, cores: 32, threads: 64, memory_gb: 256 }\n";

/* W at each level for a machine, by the formula; `share` scales it. */
static void lc_expect(double threads, double memory_gb, bool skylake,
                      double share, double w[4]) {
  for (int j = 0; j < 4; j++)
    w[j] = exp(lc_intercept[j] + lc_threads[j] * log(threads) +
               lc_memory[j] * log(memory_gb) + (skylake ? lc_skylake[j] : 0)) *
           share;
}

static double lc_interp(const double w[4], double u) {
  u = u < 0 ? 0 : (u > 1 ? 1 : u);
  int j = 0;
  while (j < 2 && u > lc_levels[j + 1])
    j++;
  return w[j] + (w[j + 1] - w[j]) * (u - lc_levels[j]) /
                    (lc_levels[j + 1] - lc_levels[j]);
}

START_TEST(test_load_curve) {
  struct power_model *m = load_ok(lc_yaml);
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 4000};
  /* Unbound: 0 W. */
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), 0);
  ck_assert(model_uses_feature(m, FEATURE_CPU_TIME_MS));
  ck_assert(!model_uses_feature(m, FEATURE_CPU_CYCLES));

  struct machine_spec spec = {.cpu = "Intel(R) Xeon(R) Gold 6148",
                              .threads = 16,
                              .cores = 8,
                              .memory_gb = 96};
  bind_ok(m, &spec);
  ck_assert_str_eq(model_cpu_architecture(m), "skylake");
  double w[4];
  lc_expect(16, 96, true, 1, w);
  const double busy_threads[] = {0, 1, 4, 6, 8, 12, 16, 40};
  for (size_t i = 0; i < ARRAY_SIZE(busy_threads); i++) {
    x[FEATURE_CPU_TIME_MS] = 1000 * busy_threads[i];
    double want = lc_interp(w, busy_threads[i] / 16);
    ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), want);
    struct model_output_w o;
    model_predict_node(m, x, &o);
    ck_assert_close(o.idle[COMPONENT_PLATFORM], w[0]);
    ck_assert_close(o.absolute[COMPONENT_PLATFORM], want);
  }
  /* Level points themselves, and no architecture match. */
  x[FEATURE_CPU_TIME_MS] = 8000;
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), w[2]);
  snprintf(spec.cpu, sizeof spec.cpu, "Ampere Altra");
  bind_ok(m, &spec);
  lc_expect(16, 96, false, 1, w);
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), w[2]);
  model_free(m);
}
END_TEST

/* A VM: the host from vm_host, the VM's clock and architecture, u from the
 * VM's own threads, and the VM's share of the host by vCPUs. */
START_TEST(test_load_curve_vm) {
  struct power_model *m = load_ok(lc_yaml);
  struct machine_spec vm = {.cpu = "Intel Xeon Gold 6248",
                            .threads = 4,
                            .cores = 2,
                            .memory_gb = 16,
                            .hypervisor = true};
  bind_ok(m, &vm);
  double w[4];
  lc_expect(64, 256, true, 4.0 / 64, w);
  const double busy[] = {0, 500, 1000, 2000, 3000, 4000};
  for (size_t i = 0; i < ARRAY_SIZE(busy); i++) {
    double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = busy[i]};
    ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x),
                    lc_interp(w, busy[i] / 4000));
  }
  model_free(m);

  /* Without vm_host a VM is evaluated as the small machine it is. */
  const char *cut = strstr(lc_yaml, "    vm_host");
  char text[sizeof lc_yaml];
  snprintf(text, sizeof text, "%.*s", (int)(cut - lc_yaml), lc_yaml);
  m = load_ok(text);
  bind_ok(m, &vm);
  lc_expect(4, 16, true, 1, w);
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 1000};
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), lc_interp(w, 0.25));
  model_free(m);
}
END_TEST

/* form: above_idle: levels above 0 are the power above idle; and W never
 * decreases with utilization, whatever the levels say. */
START_TEST(test_load_curve_above_idle_and_monotone) {
  static const char above[] = "name: above\n"
                              "output_type: AbsPower\n"
                              "components:\n"
                              "  platform:\n"
                              "    type: load_curve\n"
                              "    form: above_idle\n"
                              "    utilization: { feature: bpf_cpu_time_ms, "
                              "scale: 1000 }\n"
                              "    levels: [0, 0.5, 1]\n"
                              "    intercept: [3, 1, 2]\n";
  struct power_model *m = load_ok(above);
  struct machine_spec spec = {.threads = 8, .cores = 4, .memory_gb = 16};
  bind_ok(m, &spec);
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 4000};
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), exp(3) + exp(1));
  x[FEATURE_CPU_TIME_MS] = 6000;
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x),
                  exp(3) + (exp(1) + exp(2)) / 2);
  /* The writer keeps the form. */
  char *text = write_yaml(m);
  ck_assert_ptr_nonnull(strstr(text, "form: above_idle"));
  free(text);
  model_free(m);

  /* A dip (level 0.5 below idle) is raised to the level before it. */
  static const char dip[] = "name: dip\n"
                            "output_type: AbsPower\n"
                            "components:\n"
                            "  platform:\n"
                            "    type: load_curve\n"
                            "    utilization: { feature: bpf_cpu_time_ms, "
                            "scale: 1000 }\n"
                            "    levels: [0, 0.5, 1]\n"
                            "    intercept: [3, 2.5, 3.5]\n";
  m = load_ok(dip);
  bind_ok(m, &spec);
  x[FEATURE_CPU_TIME_MS] = 4000;
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), exp(3));
  x[FEATURE_CPU_TIME_MS] = 6000;
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x),
                  exp(3) + (exp(3.5) - exp(3)) / 2);
  model_free(m);
}
END_TEST

START_TEST(test_bind_errors) {
  struct power_model *m = load_ok(lc_yaml);
  char err[512] = "";
  struct machine_spec spec = {.threads = 0, .memory_gb = 8};
  ck_assert_int_eq(model_bind_machine(m, &spec, err, sizeof err), -1);
  ck_assert_str_eq(err, "model \"lc\": load_curve component \"platform\" "
                        "needs the machine's threads, got 0");
  spec.threads = 8;
  spec.memory_gb = 0;
  ck_assert_int_eq(model_bind_machine(m, &spec, err, sizeof err), -1);
  ck_assert_str_eq(err, "model \"lc\": load_curve component \"platform\" "
                        "uses ln_memory_gb but the machine's memory_gb is 0");
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 1000};
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), 0);
  /* A machine with the fields the terms use binds (cores, mhz unused). */
  spec.memory_gb = 8;
  ck_assert_int_eq(model_bind_machine(m, &spec, err, sizeof err), 0);
  ck_assert(model_predict(m, COMPONENT_PLATFORM, x) > 0);
  model_free(m);
}
END_TEST

/* --- model_write_yaml --------------------------------------------------------
 */

static const char *const round_trip_models[] = {
    multi_yaml,
    ratio_yaml,
    arch_yaml,
    curves_yaml,
    lc_yaml,
    "name: \"odd \\\"name\\\"\\ttab \\\\ back\"\n"
    "output_type: DynPower\n"
    "source: \"line1\\nline2: x\"\n"
    "error: { mape_pct: 7.5 }\n"
    "trained_on: { cpu: \"Xeon\" }\n"
    "cpu_architectures: [ { match: \"^a\\\\.b$\", name: \"x: y\" } ]\n"
    "components:\n"
    "  core:\n"
    "    bias: 0.1\n"
    "    categorical: { cpu_architecture: { \"x: y\": 0.30000000000000004 } }\n"
    "    weights: { cpu_cycles: { weight: 1e-300, scale: 3e-7 } }\n",
};

START_TEST(test_write_round_trip) {
  struct power_model *m = load_ok(round_trip_models[_i]);
  char *text;
  struct power_model *back = reload_written(m, &text);
  ck_assert_close(model_mae_watts(back), model_mae_watts(m));
  ck_assert_close(model_mape_pct(back), model_mape_pct(m));
  const struct machine_spec machines[] = {
      {.cpu = "AMD EPYC 7502", .threads = 64, .cores = 32, .memory_gb = 128},
      {.cpu = "Intel Xeon Gold 6248 (8259)",
       .threads = 8,
       .cores = 4,
       .memory_gb = 32,
       .hypervisor = true},
      {.cpu = "a.b", .threads = 2, .cores = 1, .memory_gb = 1},
  };
  for (size_t s = 0; s < ARRAY_SIZE(machines); s++) {
    bind_ok(m, &machines[s]);
    bind_ok(back, &machines[s]);
    ck_assert_str_eq(model_cpu_architecture(back), model_cpu_architecture(m));
    ck_assert_close(model_core_ratio(back), model_core_ratio(m));
    for (size_t v = 0; v < ARRAY_SIZE(vectors); v++)
      for (int c = 0; c < COMPONENT_MAX; c++) {
        double want = model_predict(m, c, vectors[v]);
        double got = model_predict(back, c, vectors[v]);
        ck_assert_msg(fabs(got - want) <= 1e-12 * fmax(1, fabs(want)),
                      "%s: %.17g != %.17g", component_name(c), got, want);
      }
  }
  char *again = write_yaml(back);
  ck_assert_str_eq(again, text);
  free(again);
  free(text);
  model_free(back);
  model_free(m);
}
END_TEST

START_TEST(test_accessors) {
  struct power_model *m = load_ok(multi_yaml);
  ck_assert_str_eq(model_source(m), "unit test");
  ck_assert_close(model_mape_pct(m), 25);
  model_free(m);
  m = load_ok(ratio_yaml);
  ck_assert_str_eq(model_source(m), "");
  ck_assert_close(model_mape_pct(m), -1);
  ck_assert_int_eq(model_output_type(m), MODEL_ABS_POWER);
  model_free(m);
  ck_assert_str_eq(model_source(NULL), "");
  ck_assert_close(model_mape_pct(NULL), -1);
}
END_TEST

/* --- Errors --------------------------------------------------------------- */

#define HEAD "name: m\noutput_type: AbsPower\n"
#define LC_HEAD "components:\n  platform:\n    type: load_curve\n"
#define LC_UTIL "    utilization: { feature: bpf_cpu_time_ms, scale: 1000 }\n"
#define LC_LEVELS "    levels: [0, 1]\n    intercept: [1, 2]\n"

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
    {"name: m\noutput_type: Watts\ncomponents: {package: {}}\n",
     ":2: output_type \"Watts\" is not supported (supported: AbsPower, "
     "DynPower)"},
    {"name: m\noutput_type: [AbsPower]\ncomponents: {package: {}}\n",
     ":2: \"output_type\" must be a string, got a sequence"},
    {HEAD "components:\n  package:\n    type: poly\n",
     ":5: type \"poly\" of component \"package\" is not supported (supported: "
     "linear, logarithmic, exponential, logistic, load_curve)"},
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
    /* trained_on */
    {HEAD "trained_on: { cores: 0 }\ncomponents: {package: {}}\n",
     ":3: \"cores\" must be greater than 0, got 0"},
    {HEAD "trained_on:\n  sockets: 2\ncomponents: {package: {}}\n",
     ":4: unknown key \"sockets\" in \"trained_on\""},
    {HEAD "trained_on: { cpu: \"\" }\ncomponents: {package: {}}\n",
     ":3: \"cpu\" must be a non-empty string, got an empty value"},
    {HEAD "trained_on: 16\ncomponents: {package: {}}\n",
     ":3: \"trained_on\" must be a mapping, got \"16\""},
    /* cpu_architectures */
    {HEAD "cpu_architectures: { match: x }\ncomponents: {package: {}}\n",
     ":3: \"cpu_architectures\" must be a sequence, got a mapping"},
    {HEAD "cpu_architectures:\n  - { match: xeon, name: a }\n"
          "  - { match: \"(8259\", name: b }\ncomponents: {package: {}}\n",
     ":5: \"match\" is not a valid extended regex: Unmatched ( or \\("},
    {HEAD
     "cpu_architectures:\n  - { match: xeon }\ncomponents: {package: {}}\n",
     ":4: missing required key \"name\" in \"cpu_architectures\""},
    {HEAD "cpu_architectures:\n  - xeon\ncomponents: {package: {}}\n",
     ":4: a \"cpu_architectures\" entry must be a mapping, got \"xeon\""},
    {HEAD "cpu_architectures:\n  - { match: a, name: b, vendor: c }\n"
          "components: {package: {}}\n",
     ":4: unknown key \"vendor\" in \"cpu_architectures\""},
    /* categorical, mean, variance */
    {HEAD "components:\n  package:\n    categorical:\n      cpu_vendor: {}\n",
     ":6: unknown key \"cpu_vendor\" in \"categorical\" of component "
     "\"package\""},
    {HEAD "components:\n  package:\n    categorical:\n"
          "      cpu_architecture: [skylake]\n",
     ":6: \"cpu_architecture\" must be a mapping, got a sequence"},
    {HEAD "components:\n  package:\n    categorical:\n"
          "      cpu_architecture: { skylake: big }\n",
     ":6: \"skylake\" must be a number, got \"big\""},
    {HEAD "components:\n  package:\n    categorical:\n"
          "      cpu_architecture:\n        a: 1\n        a: 2\n",
     ":8: duplicate architecture \"a\" in \"cpu_architecture\" of component "
     "\"package\""},
    {HEAD "components:\n  package:\n    weights:\n"
          "      cpu_cycles: { weight: 1, variance: -4 }\n",
     ":6: \"variance\" must not be negative, got -4"},
    {HEAD "components:\n  package:\n    weights:\n"
          "      cpu_cycles: { weight: 1, mean: m }\n",
     ":6: \"mean\" must be a number, got \"m\""},
    {HEAD "components:\n  package:\n    weights:\n"
          "      bpf_cpu_time_s: { weight: 1 }\n",
     ":6: unknown feature \"bpf_cpu_time_s\" in component \"package\""},
    /* curve fits */
    {HEAD "components:\n  platform:\n    type: logistic\n"
          "    weights: { bpf_cpu_time_ms: { scale: 1 } }\n"
          "    curve: [1, 2, 3]\n",
     ":7: \"curve\" of logistic component \"platform\" must hold 4 numbers, "
     "got 3"},
    {HEAD "components:\n  platform:\n    type: logarithmic\n"
          "    weights: { bpf_cpu_time_ms: { scale: 1 } }\n"
          "    curve: [1, x, 3]\n",
     ":7: \"curve\" of logarithmic component \"platform\" must hold numbers, "
     "got \"x\""},
    {HEAD "components:\n  platform:\n    type: exponential\n"
          "    weights: { bpf_cpu_time_ms: { scale: 1 } }\n",
     ":5: missing required key \"curve\" in component \"platform\""},
    {HEAD "components:\n  platform:\n    type: exponential\n"
          "    weights: {}\n    curve: [1, 2, 3]\n",
     ":6: \"weights\" of component \"platform\" must hold at least one "
     "feature (the first is x0)"},
    {HEAD "components:\n  platform:\n    type: exponential\n"
          "    weights: { bpf_cpu_time_ms: { scale: 1, weight: 2 } }\n"
          "    curve: [1, 2, 3]\n",
     ":6: unknown key \"weight\" in feature \"bpf_cpu_time_ms\" of component "
     "\"platform\""},
    {HEAD "components:\n  platform:\n    type: exponential\n"
          "    bias: 3\n    weights: { bpf_cpu_time_ms: { scale: 1 } }\n"
          "    curve: [1, 2, 3]\n",
     ":6: unknown key \"bias\" in component \"platform\""},
    {HEAD "components:\n  platform:\n    type: exponential\n"
          "    weights: { bpf_cpu_time_ms: 1 }\n    curve: [1, 2, 3]\n",
     ":6: feature \"bpf_cpu_time_ms\" in component \"platform\" must be a "
     "mapping { scale: S }, got \"1\""},
    /* load_curve */
    {HEAD LC_HEAD "    levels: [0, 1]\n    intercept: [1, 2]\n",
     ":5: missing required key \"utilization\" in component \"platform\""},
    {HEAD LC_HEAD LC_UTIL
     "    levels: [0, 0.5, 0.9]\n    intercept: [1, 2, 3]\n",
     ":7: \"levels\" of component \"platform\" must start at 0 and end at 1"},
    {HEAD LC_HEAD LC_UTIL "    levels: [0, 0.5, 0.5, 1]\n"
                          "    intercept: [1, 2, 3, 4]\n",
     ":7: \"levels\" of component \"platform\" must be strictly increasing"},
    {HEAD LC_HEAD LC_UTIL "    levels: [1]\n    intercept: [1]\n",
     ":7: \"levels\" of component \"platform\" must hold 2 to 64 numbers, "
     "got 1"},
    {HEAD LC_HEAD LC_UTIL "    levels: [0, 1]\n    intercept: [1, 2, 3]\n",
     ":8: \"intercept\" (one number per level) of component \"platform\" must "
     "hold 2 numbers, got 3"},
    {HEAD LC_HEAD "    utilization: { feature: cpu_time, scale: 1000 }\n"
                  "    levels: [0, 1]\n    intercept: [1, 2]\n",
     ":6: unknown feature \"cpu_time\" in \"utilization\" of component "
     "\"platform\""},
    {HEAD LC_HEAD "    utilization: { feature: bpf_cpu_time_ms, scale: 0 }\n"
                  "    levels: [0, 1]\n    intercept: [1, 2]\n",
     ":6: \"scale\" must be greater than 0, got 0"},
    {HEAD LC_HEAD LC_UTIL LC_LEVELS "    terms:\n      ln_sockets: [1, 2]\n",
     ":10: unknown key \"ln_sockets\" in \"terms\" of component \"platform\""},
    {HEAD LC_HEAD LC_UTIL LC_LEVELS "    terms:\n      ln_cores: [1]\n",
     ":10: \"ln_cores\" (one number per level) of component \"platform\" must "
     "hold 2 numbers, got 1"},
    {HEAD LC_HEAD LC_UTIL LC_LEVELS
     "    architecture:\n      zen2: [1, 2, 3]\n",
     ":10: \"zen2\" (one number per level) of component \"platform\" must "
     "hold 2 numbers, got 3"},
    {HEAD LC_HEAD LC_UTIL LC_LEVELS
     "    vm_host: { chips: 1, cores: 4, memory_gb: 8 }\n",
     ":9: missing required key \"threads\" in \"vm_host\" of component "
     "\"platform\""},
    {HEAD LC_HEAD LC_UTIL LC_LEVELS
     "    vm_host: { chips: 1, cores: 4, threads: 0, memory_gb: 8 }\n",
     ":9: \"threads\" must be greater than 0, got 0"},
    {HEAD LC_HEAD LC_UTIL LC_LEVELS "    weights: {}\n",
     ":9: unknown key \"weights\" in component \"platform\""},
    {HEAD LC_HEAD LC_UTIL LC_LEVELS "    form: above\n",
     ":9: form \"above\" of component \"platform\" is not one of absolute, "
     "above_idle"},
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
  ck_assert_str_eq(err,
                   KEPLER_SRCDIR "/models: cannot open: not a regular file");
  model_free(prev);
}
END_TEST

/* Issue 14, D3: a ModelFile naming a FIFO blocked collectd's init until a
 * signal came; it is refused at once, naming the file. */
START_TEST(test_error_fifo) {
  char dir[] = "/tmp/test_model_XXXXXX", path[64], err[512] = "";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/f.yaml", dir);
  ck_assert_int_eq(mkfifo(path, 0600), 0);
  struct power_model *prev = previous(), *m = prev;
  int rc = model_load_file(path, &m, err, sizeof err);
  unlink(path);
  rmdir(dir);
  char want[128];
  snprintf(want, sizeof want, "%s: cannot open: not a regular file", path);
  ck_assert_int_eq(rc, -1);
  ck_assert_ptr_eq(m, prev);
  ck_assert_str_eq(err, want);
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

/* Names with bytes that are not UTF-8 (issue 14, D5): the YAML written
 * loads back, each such byte written \xNN and read back as U+00NN, and
 * writing what was read gives the same text. The reproducers' first byte
 * was the fuzzer's mode; "convert" loads its file by path. */
static const struct {
  const char *file;
  bool by_path;
  const char *name, *text; /* the name read back; a line of the YAML */
} invalid_utf8[] = {
    {"convert-invalid-utf8-SGDRegressorTrainer_0.json", true,
     "convert-invalid-utf8-SGDRegressorTrainer_0", "\"Sky\\xFFlake\": 1.5"},
    {"server-roundtrip-invalid-utf8.json", false,
     "SGDRegressorTrainer_\xc2\x9a", "name: \"SGDRegressorTrainer_\\x9A\""},
    {"prop-roundtrip_reload_failed-9234-1.bin", false,
     "SGDRegressorTrainer\xc2\x9a"
     "0",
     "name: \"SGDRegressorTrainer\\x9A0\""},
};

static struct power_model *reload_written_checked(const char *text) {
  char err[512] = "";
  struct power_model *m = NULL;
  ck_assert_msg(model_load_buffer(text, strlen(text), "written", &m, err,
                                  sizeof err) == 0,
                "%s\n%s", err, text);
  return m;
}

START_TEST(test_write_invalid_utf8) {
  char path[512], err[512] = "";
  snprintf(path, sizeof path, "%s/tests/repro/%s", KEPLER_SRCDIR,
           invalid_utf8[_i].file);
  struct power_model *m = NULL, *back = NULL;
  if (invalid_utf8[_i].by_path) {
    ck_assert_msg(model_load_file(path, &m, err, sizeof err) == 0, "%s", err);
  } else {
    size_t len;
    char *body = read_repro(invalid_utf8[_i].file, &len);
    ck_assert_msg(model_load_kepler_json(body + 1, len - 1, "x",
                                         "SGDRegressorTrainer", MODEL_ABS_POWER,
                                         &m, err, sizeof err) == 0,
                  "%s", err);
    free(body);
  }
  char *text = write_yaml(m);
  ck_assert_msg(strstr(text, invalid_utf8[_i].text), "%s", text);
  back = reload_written_checked(text);
  ck_assert_str_eq(model_name(back), invalid_utf8[_i].name);
  /* What was read back is valid UTF-8: its YAML reloads to the same YAML. */
  char *again = write_yaml(back), *third;
  model_free(back);
  back = reload_written_checked(again);
  third = write_yaml(back);
  ck_assert_str_eq(third, again);
  free(third);
  free(again);
  free(text);
  model_free(back);
  model_free(m);
}
END_TEST

/* A category name whose quoted form passes YAML's 1024-character limit on
 * implicit keys (found by fuzz_model_server_answer, seed
 * long_category_key.bin): written as an explicit key, it loads back with
 * its weight. */
START_TEST(test_write_long_category_key) {
  /* 300 control bytes (JSON \u000e), each written \x0E: 1200 characters. */
  char json[4096], err[512] = "";
  size_t w = (size_t)snprintf(json, sizeof json,
                              "{\"package\": {\"All_Weights\": {"
                              "\"Bias_Weight\": 1, \"Categorical_Variables\":"
                              " {\"cpu_architecture\": {\"");
  for (int i = 0; i < 300; i++)
    w += (size_t)snprintf(json + w, sizeof json - w, "\\u000e");
  w +=
      (size_t)snprintf(json + w, sizeof json - w,
                       "\": {\"weight\": 5}}}, \"Numerical_Variables\": {}}}}");
  struct power_model *m = NULL;
  ck_assert_msg(model_load_kepler_json(json, w, "x", "SGDRegressorTrainer",
                                       MODEL_ABS_POWER, &m, err,
                                       sizeof err) == 0,
                "%s", err);
  char *text = write_yaml(m);
  ck_assert_msg(strstr(text, "? \"\\x0E"), "%s", text);
  struct power_model *back = reload_written_checked(text);
  char *again = write_yaml(back);
  ck_assert_str_eq(again, text);
  free(again);
  free(text);
  model_free(back);
  model_free(m);
}
END_TEST

/* What YAML does not take raw in a double-quoted scalar is escaped by its
 * code point, and loads back unchanged. */
START_TEST(test_write_escapes) {
  struct power_model *m =
      load_ok("name: \"a\\\"b\\\\c\\x01\\x7F\\x85\\u2028\\uFEFF"
              "\\uFFFE\xc3\xa9\xe2\x82\xac\"\n"
              "output_type: AbsPower\n"
              "components: { package: { bias: 1 } }\n");
  char *text;
  struct power_model *back = reload_written(m, &text);
  ck_assert_msg(strstr(text, "name: \"a\\\"b\\\\c\\x01\\x7F\\x85\\u2028"
                             "\\uFEFF\\uFFFE\xc3\xa9\xe2\x82\xac\"\n"),
                "%s", text);
  free(text);
  model_free(back);
  model_free(m);
}
END_TEST

/* A model file's text quoted in a message is escaped (issue 14, D2). */
START_TEST(test_error_escaped) {
  static const char text[] = "name: x\n\"forged\\n[error] kepler: \\e\": 1\n";
  char err[512] = "";
  struct power_model *m = NULL;
  ck_assert_int_eq(
      model_load_buffer(text, strlen(text), "x.yaml", &m, err, sizeof err), -1);
  ck_assert_str_eq(err, "x.yaml:2: unknown key \"forged\\x0A[error] kepler: "
                        "\\x1B\" at top level");
}
END_TEST

/* Patterns that made glibc's regcomp allocate exponentially (issue 14, D1):
 * each is refused, naming the file, the line and the pattern, by a child
 * whose address space may grow by at most 256 MB (re20.yaml took 0.72 GB
 * before). Bounded from what the child has mapped already: a sanitizer or
 * valgrind reserves much address space beforehand. */
static const struct {
  const char *file, *line, *pattern;
} huge_patterns[] = {
    {"re20.yaml", ":4:", "\"EPYC[^0-9]++++++++++++++++++++\""},
    {"re22.yaml", ":4:", "\"EPYC[^0-9]++++++++++++++++++++++\""},
    {"yaml-regcomp-blowup-min.yaml", ":4:", "\"EPYC[^0-9]+++++"},
    {"yaml-oom-37f321c62fc70e8a505814bd017598b7bfa1a7b2",
     ":15:", "\"EPYC[^0-9]+++++"},
};

START_TEST(test_pattern_bounded) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/repro/%s", KEPLER_SRCDIR,
           huge_patterns[_i].file);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char line[256];
    unsigned long long kb = 0;
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status) &&
           sscanf(line, "VmSize: %llu kB", &kb) != 1)
      ;
    if (status)
      fclose(status);
    rlim_t max = (rlim_t)kb * 1024 + ((rlim_t)256 << 20);
    struct rlimit lim = {max, max};
    char err[512] = "";
    struct power_model *m = NULL;
    if (setrlimit(RLIMIT_AS, &lim) != 0 ||
        model_load_file(path, &m, err, sizeof err) != -1)
      _exit(2);
    printf("%s\n", err);
    _exit(strstr(err, huge_patterns[_i].line) &&
                  strstr(err, huge_patterns[_i].pattern) &&
                  strstr(err, "is too large")
              ? 0
              : 3);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %d",
                path, status);
}
END_TEST

/* The bound counts repetitions as regcomp expands them. */
START_TEST(test_pattern_size) {
  static const struct {
    const char *re;
    bool ok;
  } cases[] = {
      {"(Platinum|Gold)[^0-9]*[3-9]1[0-9]{2}([^0-9]|$)", true},
      {"[[:alpha:]]+ v[0-9]{1,4}\\+", true},
      {"a{1024}", true},
      {"a{1025}", false},
      {"(a{32}){32}", false},
      {"a{3,}b{2,5}c{,4}", true},
      {"(a{2,}){1000,}", false},
      {"(a{,40}){,40}", false},
      {"(a{40,}){40}", false},
      {"((((a+)+)+)+)+", true},
      {"a++++++++++++", false},
      {"((((((((((((((((a))))))))))))))))", true},
      {"(((((((((((((((((a)))))))))))))))))", false},
      {"[]{]+[^]a]{3}", true},
  };
  char text[512], err[512] = "";
  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    snprintf(text, sizeof text,
             "name: x\noutput_type: AbsPower\ncpu_architectures:\n"
             "  - { match: '%s', name: y }\n"
             "components: { package: { bias: 1 } }\n",
             cases[i].re);
    struct power_model *m = NULL;
    int rc =
        model_load_buffer(text, strlen(text), "p.yaml", &m, err, sizeof err);
    ck_assert_msg((rc == 0) == cases[i].ok, "%s: %s", cases[i].re, err);
    if (!cases[i].ok)
      ck_assert_ptr_nonnull(strstr(err, "p.yaml:4: \"match\""));
    model_free(m);
  }
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

  tc = tcase_create("binding");
  tcase_add_test(tc, test_dyn_power);
  tcase_add_test(tc, test_core_ratio);
  tcase_add_test(tc, test_fix_ups);
  tcase_add_test(tc, test_categorical);
  tcase_add_test(tc, test_mean_variance);
  tcase_add_test(tc, test_curves);
  tcase_add_test(tc, test_load_curve);
  tcase_add_test(tc, test_load_curve_vm);
  tcase_add_test(tc, test_load_curve_above_idle_and_monotone);
  tcase_add_test(tc, test_bind_errors);
  tcase_add_loop_test(tc, test_write_round_trip, 0,
                      ARRAY_SIZE(round_trip_models));
  tcase_add_test(tc, test_accessors);
  tcase_add_loop_test(tc, test_write_invalid_utf8, 0, ARRAY_SIZE(invalid_utf8));
  tcase_add_test(tc, test_write_long_category_key);
  tcase_add_test(tc, test_write_escapes);
  suite_add_tcase(s, tc);

  tc = tcase_create("default");
  tcase_add_test(tc, test_default_model);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_loop_test(tc, test_error_buffer, 0, ARRAY_SIZE(bad));
  tcase_add_loop_test(tc, test_error_file, 0, ARRAY_SIZE(bad));
  tcase_add_test(tc, test_error_open);
  tcase_add_test(tc, test_error_fifo);
  tcase_add_test(tc, test_error_escaped);
  tcase_add_test(tc, test_error_truncated);
  tcase_add_loop_test(tc, test_pattern_bounded, 0, ARRAY_SIZE(huge_patterns));
  tcase_add_test(tc, test_pattern_size);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(model_suite());
}
