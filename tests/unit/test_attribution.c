// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/attribution.c: node power from a model (absolute,
 * idle, dynamic, and the node total without nested domains counted twice)
 * and its attribution to processes by each component's usage metric. The
 * expected watts are worked out by hand from the models below. */
#include "attribution.h"
#include "model.h"
#include "model_yaml.h"
#include "node_estimator.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

/* --- Fixture: the model of a test, freed even when the test fails ------- */

static struct power_model *model;

static void setup(void) {
  model = NULL;
}

static void teardown(void) {
  model_free(model);
  model = NULL;
}

static const struct power_model *load(const char *yaml) {
  char err[512] = "";
  model_free(model);
  model = NULL;
  int rc =
      model_load_buffer(yaml, strlen(yaml), "test", &model, err, sizeof(err));
  ck_assert_msg(rc == 0, "model did not load: %s", err);
  ck_assert_ptr_nonnull(model);
  return model;
}

/* The example of models/README.md. */
static const char readme_yaml[] =
    "name: example-v1\n"
    "output_type: AbsPower\n"
    "source: specpower\n"
    "error:\n"
    "  mae_w: 12.0\n"
    "  mape_pct: 25.0\n"
    "components:\n"
    "  package:\n"
    "    type: linear\n"
    "    bias: 12.5\n"
    "    weights:\n"
    "      bpf_cpu_time_ms: { weight: 25.0, scale: 1000 }\n"
    "      cache_miss: { weight: 0.5, scale: 1e6 }\n"
    "  dram:\n"
    "    bias: 2.0\n"
    "    weights:\n"
    "      bpf_cpu_time_ms: { weight: 1.0, scale: 1000 }\n";

static void zero_features(double x[FEATURE_MAX]) {
  for (int f = 0; f < FEATURE_MAX; f++)
    x[f] = 0;
}

/* Fills *p with garbage first, so that a field the estimate leaves alone
 * shows. */
static void estimate(const struct power_model *m, const double x[FEATURE_MAX],
                     struct node_power *p) {
  memset(p, 0x5a, sizeof(*p));
  node_power_estimate(m, x, p);
}

/* The node at a CPU time rate alone (ms per second), every other feature 0. */
static void estimate_cpu(const struct power_model *m, double cpu_ms,
                         struct node_power *p) {
  double x[FEATURE_MAX];
  zero_features(x);
  x[FEATURE_CPU_TIME_MS] = cpu_ms;
  estimate(m, x, p);
}

static void assert_absent(const struct node_power *p, enum kepler_component c) {
  ck_assert_msg(!p->present[c], "%s present", component_name(c));
  ck_assert_msg(p->absolute[c] == 0 && p->idle[c] == 0 && p->dynamic[c] == 0,
                "%s absent but %g/%g/%g W", component_name(c), p->absolute[c],
                p->idle[c], p->dynamic[c]);
}

/* --- node_power_estimate -------------------------------------------------- */

START_TEST(test_estimate_readme_example) {
  const struct power_model *m = load(readme_yaml);
  double x[FEATURE_MAX];
  zero_features(x);
  x[FEATURE_CPU_TIME_MS] = 4000; /* 4 busy hardware threads */
  x[FEATURE_CACHE_MISS] = 2e6;   /* 2e6 misses per second */
  x[FEATURE_CPU_CYCLES] = 5e9;   /* not in the model */
  x[FEATURE_NET_RX_IRQ] = 1000;  /* not in the model */
  struct node_power p;
  estimate(m, x, &p);

  /* package = 12.5 + 25 * 4 + 0.5 * 2, dram = 2 + 1 * 4 (README). */
  ck_assert(p.present[COMPONENT_PACKAGE]);
  ck_assert(p.present[COMPONENT_DRAM]);
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 113.5);
  ck_assert_close(p.idle[COMPONENT_PACKAGE], 12.5);
  ck_assert_close(p.dynamic[COMPONENT_PACKAGE], 101.0);
  ck_assert_close(p.absolute[COMPONENT_DRAM], 6.0);
  ck_assert_close(p.idle[COMPONENT_DRAM], 2.0);
  ck_assert_close(p.dynamic[COMPONENT_DRAM], 4.0);
  assert_absent(&p, COMPONENT_CORE);
  assert_absent(&p, COMPONENT_UNCORE);
  assert_absent(&p, COMPONENT_PLATFORM);
  /* No platform: package + dram. */
  ck_assert_close(p.total, 119.5);
  ck_assert_close(p.total_idle, 14.5);
  ck_assert_close(p.total_dynamic, 105.0);
}
END_TEST

START_TEST(test_estimate_idle_node) {
  const struct power_model *m = load(readme_yaml);
  double x[FEATURE_MAX];
  zero_features(x);
  struct node_power p;
  estimate(m, x, &p);
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 12.5);
  ck_assert_close(p.idle[COMPONENT_PACKAGE], 12.5);
  ck_assert(p.dynamic[COMPONENT_PACKAGE] == 0);
  ck_assert_close(p.absolute[COMPONENT_DRAM], 2.0);
  ck_assert(p.dynamic[COMPONENT_DRAM] == 0);
  ck_assert_close(p.total, 14.5);
  ck_assert_close(p.total_idle, 14.5);
  ck_assert(p.total_dynamic == 0);
}
END_TEST

START_TEST(test_estimate_idle_independent_of_usage) {
  /* Idle is the model at zero usage whatever the usage is. */
  const struct power_model *m = load(readme_yaml);
  static const double cpu[] = {0, 1, 250, 4000, 64000};
  for (size_t i = 0; i < ARRAY_SIZE(cpu); i++) {
    double x[FEATURE_MAX];
    zero_features(x);
    x[FEATURE_CPU_TIME_MS] = cpu[i];
    struct node_power p;
    estimate(m, x, &p);
    ck_assert_close(p.idle[COMPONENT_PACKAGE], 12.5);
    ck_assert_close(p.idle[COMPONENT_DRAM], 2.0);
    ck_assert_close(p.total_idle, 14.5);
    /* 26 W per busy thread over both domains. */
    ck_assert_close(p.total_dynamic, 26.0 * cpu[i] / 1000);
  }
}
END_TEST

START_TEST(test_total_platform_wins) {
  const struct power_model *m = load("name: p\n"
                                     "output_type: AbsPower\n"
                                     "components:\n"
                                     "  platform:\n"
                                     "    bias: 50\n"
                                     "    weights:\n"
                                     "      bpf_cpu_time_ms: { weight: 20, "
                                     "scale: 1000 }\n"
                                     "  package:\n"
                                     "    bias: 10\n"
                                     "    weights:\n"
                                     "      bpf_cpu_time_ms: { weight: 10, "
                                     "scale: 1000 }\n"
                                     "  dram:\n"
                                     "    bias: 2\n"
                                     "    weights:\n"
                                     "      bpf_cpu_time_ms: { weight: 1, "
                                     "scale: 1000 }\n");
  struct node_power p;
  estimate_cpu(m, 2000, &p);
  ck_assert(p.present[COMPONENT_PLATFORM]);
  ck_assert_close(p.absolute[COMPONENT_PLATFORM], 90.0);
  ck_assert_close(p.idle[COMPONENT_PLATFORM], 50.0);
  ck_assert_close(p.dynamic[COMPONENT_PLATFORM], 40.0);
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 30.0);
  ck_assert_close(p.absolute[COMPONENT_DRAM], 4.0);
  /* Platform contains package and dram: the node is the platform alone. */
  ck_assert_close(p.total, 90.0);
  ck_assert_close(p.total_idle, 50.0);
  ck_assert_close(p.total_dynamic, 40.0);
}
END_TEST

START_TEST(test_total_platform_only) {
  const struct power_model *m = load("name: p\n"
                                     "output_type: AbsPower\n"
                                     "components:\n"
                                     "  platform: { bias: 70 }\n");
  struct node_power p;
  estimate_cpu(m, 2000, &p);
  ck_assert_close(p.total, 70.0);
  ck_assert_close(p.total_idle, 70.0);
  ck_assert(p.total_dynamic == 0);
  assert_absent(&p, COMPONENT_PACKAGE);
  assert_absent(&p, COMPONENT_DRAM);
}
END_TEST

START_TEST(test_total_core_plus_uncore) {
  const struct power_model *m = load("name: cu\n"
                                     "output_type: AbsPower\n"
                                     "components:\n"
                                     "  core:\n"
                                     "    bias: 5\n"
                                     "    weights:\n"
                                     "      bpf_cpu_time_ms: { weight: 8, "
                                     "scale: 1000 }\n"
                                     "  uncore:\n"
                                     "    bias: 3\n"
                                     "    weights:\n"
                                     "      cache_miss: { weight: 2, "
                                     "scale: 1e6 }\n"
                                     "  dram:\n"
                                     "    bias: 1\n"
                                     "    weights:\n"
                                     "      bpf_cpu_time_ms: { weight: 1, "
                                     "scale: 1000 }\n");
  double x[FEATURE_MAX];
  zero_features(x);
  x[FEATURE_CPU_TIME_MS] = 1000;
  x[FEATURE_CACHE_MISS] = 3e6;
  struct node_power p;
  estimate(m, x, &p);
  assert_absent(&p, COMPONENT_PACKAGE);
  ck_assert_close(p.absolute[COMPONENT_CORE], 13.0);  /* 5 + 8 */
  ck_assert_close(p.absolute[COMPONENT_UNCORE], 9.0); /* 3 + 2 * 3 */
  ck_assert_close(p.absolute[COMPONENT_DRAM], 2.0);   /* 1 + 1 */
  /* No package: core + uncore stand for it. */
  ck_assert_close(p.total, 24.0);
  ck_assert_close(p.total_idle, 9.0);
  ck_assert_close(p.total_dynamic, 15.0);
}
END_TEST

START_TEST(test_total_package_not_double_counted) {
  const struct power_model *m = load("name: pcu\n"
                                     "output_type: AbsPower\n"
                                     "components:\n"
                                     "  package:\n"
                                     "    bias: 20\n"
                                     "    weights:\n"
                                     "      bpf_cpu_time_ms: { weight: 10, "
                                     "scale: 1000 }\n"
                                     "  core:\n"
                                     "    bias: 8\n"
                                     "    weights:\n"
                                     "      bpf_cpu_time_ms: { weight: 7, "
                                     "scale: 1000 }\n"
                                     "  uncore: { bias: 4 }\n"
                                     "  dram: { bias: 3 }\n");
  struct node_power p;
  estimate_cpu(m, 3000, &p);
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 50.0);
  ck_assert_close(p.absolute[COMPONENT_CORE], 29.0);
  ck_assert_close(p.absolute[COMPONENT_UNCORE], 4.0);
  ck_assert_close(p.absolute[COMPONENT_DRAM], 3.0);
  /* Package contains core and uncore: package + dram only. */
  ck_assert_close(p.total, 53.0);
  ck_assert_close(p.total_idle, 23.0);
  ck_assert_close(p.total_dynamic, 30.0);
}
END_TEST

START_TEST(test_total_dram_only) {
  const struct power_model *m = load("name: d\n"
                                     "output_type: AbsPower\n"
                                     "components:\n"
                                     "  dram:\n"
                                     "    bias: 1.5\n"
                                     "    weights:\n"
                                     "      bpf_page_cache_hit: { weight: 0.5, "
                                     "scale: 1e5 }\n");
  double x[FEATURE_MAX];
  zero_features(x);
  x[FEATURE_PAGE_CACHE_HIT] = 4e5;
  struct node_power p;
  estimate(m, x, &p);
  ck_assert_close(p.total, 3.5);
  ck_assert_close(p.total_idle, 1.5);
  ck_assert_close(p.total_dynamic, 2.0);
}
END_TEST

START_TEST(test_dynamic_never_negative) {
  /* A negative weight: more usage, less power than at idle. */
  const struct power_model *m = load("name: neg\n"
                                     "output_type: AbsPower\n"
                                     "components:\n"
                                     "  package:\n"
                                     "    bias: 10\n"
                                     "    weights:\n"
                                     "      bpf_cpu_time_ms: { weight: -5, "
                                     "scale: 1000 }\n"
                                     "  dram: { bias: 1 }\n");
  struct node_power p;
  estimate_cpu(m, 1000, &p);
  /* The equation gives 5 W, below its idle 10 W: dynamic is clamped to 0
   * and absolute = idle + dynamic (model_predict_node). */
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 10.0);
  ck_assert(p.dynamic[COMPONENT_PACKAGE] == 0);
  /* The parts still make the whole. */
  ck_assert_close(p.idle[COMPONENT_PACKAGE] + p.dynamic[COMPONENT_PACKAGE],
                  p.absolute[COMPONENT_PACKAGE]);
  ck_assert(p.total_dynamic == 0);
  ck_assert_close(p.total, 11.0);
  ck_assert_close(p.total_idle + p.total_dynamic, p.total);
}
END_TEST

START_TEST(test_negative_bias_clamped) {
  /* The model at zero usage is -5 W, clamped to 0: all of it is dynamic. */
  const struct power_model *m = load("name: nb\n"
                                     "output_type: AbsPower\n"
                                     "components:\n"
                                     "  package:\n"
                                     "    bias: -5\n"
                                     "    weights:\n"
                                     "      bpf_cpu_time_ms: { weight: 10, "
                                     "scale: 1000 }\n");
  struct node_power p;
  estimate_cpu(m, 1000, &p);
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 5.0);
  ck_assert(p.idle[COMPONENT_PACKAGE] == 0);
  ck_assert_close(p.dynamic[COMPONENT_PACKAGE], 5.0);
  ck_assert_close(p.total, 5.0);
  ck_assert_close(p.total_dynamic, 5.0);
}
END_TEST

START_TEST(test_estimate_parts_sum) {
  /* Over many usages, every component and the total: idle + dynamic =
   * absolute, nothing negative or non-finite. */
  const struct power_model *m = load(readme_yaml);
  for (int i = 0; i < 50; i++) {
    double x[FEATURE_MAX];
    for (int f = 0; f < FEATURE_MAX; f++)
      x[f] = (double)((i * 7919 + f * 104729) % 100000) * (f + 1);
    struct node_power p;
    estimate(m, x, &p);
    for (int c = 0; c < COMPONENT_MAX; c++) {
      ck_assert(isfinite(p.absolute[c]) && p.absolute[c] >= 0);
      ck_assert(p.idle[c] >= 0 && p.dynamic[c] >= 0);
      ck_assert_close(p.idle[c] + p.dynamic[c], p.absolute[c]);
    }
    ck_assert_close(p.total_idle + p.total_dynamic, p.total);
    ck_assert_close(p.total,
                    p.absolute[COMPONENT_PACKAGE] + p.absolute[COMPONENT_DRAM]);
  }
}
END_TEST

/* --- attribute_to_processes ---------------------------------------------- */

/* Every component shared by CPU time: a host without hardware counters. */
static const struct attribution_policy *cpu_policy(bool split_idle) {
  static struct attribution_policy p;
  attribution_default_policy(&p, false, split_idle);
  return &p;
}

#define MAXP 1000
static struct proc_entry procs[MAXP];
static struct proc_entry *ptrs[MAXP];

/* n processes with the given CPU rates (ms/s), power fields set to garbage
 * so that a share left unset shows. */
static void make_procs(const double *cpu_rate, size_t n) {
  ck_assert_uint_le(n, MAXP);
  memset(procs, 0, sizeof(procs));
  for (size_t i = 0; i < n; i++) {
    procs[i].key.tgid = (uint32_t)(100 + i);
    procs[i].key.start_ns = 1000 * i;
    procs[i].rate[FEATURE_CPU_TIME_MS] = cpu_rate[i];
    procs[i].active = cpu_rate[i] > 0;
    procs[i].power_dynamic_w = 999;
    procs[i].power_idle_w = 999;
    ptrs[i] = &procs[i];
  }
}

static struct node_power manual_node(double total_idle, double total_dynamic) {
  struct node_power p;
  memset(&p, 0, sizeof(p));
  p.present[COMPONENT_PACKAGE] = true;
  p.absolute[COMPONENT_PACKAGE] = total_idle + total_dynamic;
  p.idle[COMPONENT_PACKAGE] = total_idle;
  p.dynamic[COMPONENT_PACKAGE] = total_dynamic;
  p.total = total_idle + total_dynamic;
  p.total_idle = total_idle;
  p.total_dynamic = total_dynamic;
  return p;
}

/* A node with the given components, idle and dynamic per component. */
static struct node_power parts_node(const bool present[COMPONENT_MAX],
                                    const double idle[COMPONENT_MAX],
                                    const double dynamic[COMPONENT_MAX]) {
  struct node_power p;
  memset(&p, 0, sizeof(p));
  for (int c = 0; c < COMPONENT_MAX; c++) {
    p.present[c] = present[c];
    p.absolute[c] = idle[c] + dynamic[c];
    p.idle[c] = idle[c];
  }
  node_power_finish(&p);
  return p;
}

START_TEST(test_default_policy) {
  struct attribution_policy p;
  attribution_default_policy(&p, true, true);
  ck_assert_int_eq(p.metric[COMPONENT_PACKAGE], FEATURE_CPU_INSTRUCTIONS);
  ck_assert_int_eq(p.metric[COMPONENT_CORE], FEATURE_CPU_INSTRUCTIONS);
  ck_assert_int_eq(p.metric[COMPONENT_DRAM], FEATURE_CACHE_MISS);
  ck_assert_int_eq(p.metric[COMPONENT_UNCORE], FEATURE_CPU_TIME_MS);
  ck_assert_int_eq(p.metric[COMPONENT_PLATFORM], FEATURE_CPU_TIME_MS);
  attribution_default_policy(&p, false, false);
  ck_assert(!p.split_idle);
  for (int c = 0; c < COMPONENT_MAX; c++)
    ck_assert_int_eq(p.metric[c], FEATURE_CPU_TIME_MS);
}
END_TEST

/* package by instructions, dram by cache misses, the rest of the platform
 * by CPU time. */
START_TEST(test_shares_by_component_metric) {
  static const double cpu[] = {100, 300};
  make_procs(cpu, 2);
  procs[0].rate[FEATURE_CPU_INSTRUCTIONS] = 9e9; /* 90 % */
  procs[1].rate[FEATURE_CPU_INSTRUCTIONS] = 1e9;
  procs[0].rate[FEATURE_CACHE_MISS] = 1e6; /* 20 % */
  procs[1].rate[FEATURE_CACHE_MISS] = 4e6;
  bool present[COMPONENT_MAX] = {[COMPONENT_PACKAGE] = true,
                                 [COMPONENT_DRAM] = true,
                                 [COMPONENT_PLATFORM] = true};
  double idle[COMPONENT_MAX] = {[COMPONENT_PACKAGE] = 20,
                                [COMPONENT_DRAM] = 4,
                                [COMPONENT_PLATFORM] = 60};
  double dyn[COMPONENT_MAX] = {[COMPONENT_PACKAGE] = 50,
                               [COMPONENT_DRAM] = 10,
                               [COMPONENT_PLATFORM] = 80};
  struct node_power node = parts_node(present, idle, dyn);
  struct attribution_policy pol;
  attribution_default_policy(&pol, true, true);
  attribute_to_processes(&node, &pol, ptrs, 2);
  /* dynamic: package 50 (45 / 5), dram 10 (2 / 8), rest 80-60 = 20 by CPU
   * time (5 / 15); idle: 20 (18 / 2), 4 (0.8 / 3.2), 36 (9 / 27). */
  ck_assert_close(procs[0].power_dynamic_w, 45 + 2 + 5);
  ck_assert_close(procs[1].power_dynamic_w, 5 + 8 + 15);
  ck_assert_close(procs[0].power_idle_w, 18 + 0.8 + 9);
  ck_assert_close(procs[1].power_idle_w, 2 + 3.2 + 27);
  ck_assert_close(procs[0].power_dynamic_w + procs[1].power_dynamic_w,
                  node.total_dynamic);
  ck_assert_close(procs[0].power_idle_w + procs[1].power_idle_w,
                  node.total_idle);
}
END_TEST

/* No process has the component's metric (counters unavailable this
 * interval): CPU time shares it, nothing is lost. */
START_TEST(test_metric_absent_falls_back_to_cpu_time) {
  static const double cpu[] = {250, 750};
  make_procs(cpu, 2);
  bool present[COMPONENT_MAX] = {[COMPONENT_PACKAGE] = true};
  double idle[COMPONENT_MAX] = {[COMPONENT_PACKAGE] = 10};
  double dyn[COMPONENT_MAX] = {[COMPONENT_PACKAGE] = 40};
  struct node_power node = parts_node(present, idle, dyn);
  struct attribution_policy pol;
  attribution_default_policy(&pol, true, true);
  attribute_to_processes(&node, &pol, ptrs, 2);
  ck_assert_close(procs[0].power_dynamic_w, 10);
  ck_assert_close(procs[1].power_dynamic_w, 30);
  ck_assert_close(procs[0].power_idle_w, 2.5);
  ck_assert_close(procs[1].power_idle_w, 7.5);
}
END_TEST

/* Separate sensors can disagree: a platform meter reading below its own
 * package + dram. The parts are scaled under it; the sum is the node. */
START_TEST(test_platform_below_parts_conserves) {
  static const double cpu[] = {100, 200, 700};
  make_procs(cpu, 3);
  for (int i = 0; i < 3; i++)
    procs[i].rate[FEATURE_CPU_INSTRUCTIONS] = 1e9 * (i + 1);
  bool present[COMPONENT_MAX] = {[COMPONENT_PACKAGE] = true,
                                 [COMPONENT_DRAM] = true,
                                 [COMPONENT_PLATFORM] = true};
  double idle[COMPONENT_MAX] = {[COMPONENT_PACKAGE] = 30,
                                [COMPONENT_DRAM] = 10,
                                [COMPONENT_PLATFORM] = 20};
  double dyn[COMPONENT_MAX] = {[COMPONENT_PACKAGE] = 60,
                               [COMPONENT_DRAM] = 20,
                               [COMPONENT_PLATFORM] = 40};
  struct node_power node = parts_node(present, idle, dyn);
  ck_assert_close(node.total, 60);
  struct attribution_policy pol;
  attribution_default_policy(&pol, true, true);
  attribute_to_processes(&node, &pol, ptrs, 3);
  double d = 0, i = 0;
  for (int k = 0; k < 3; k++) {
    ck_assert(procs[k].power_dynamic_w >= 0 && procs[k].power_idle_w >= 0);
    d += procs[k].power_dynamic_w;
    i += procs[k].power_idle_w;
  }
  ck_assert_close(d, 40);
  ck_assert_close(i, 20);
  /* package is 3/4 of the scaled parts, shared by instructions 1:2:3 */
  ck_assert_close(procs[2].power_dynamic_w, 30 * 3.0 / 6 + 10 * 0.7);
}
END_TEST

START_TEST(test_shares_by_cpu_time) {
  /* The README model at the node's usage, 4000 ms/s = 400 + 1000 + 2600. */
  const struct power_model *m = load(readme_yaml);
  static const double rates[] = {400, 1000, 2600};
  make_procs(rates, 3);
  double x[FEATURE_MAX];
  zero_features(x);
  x[FEATURE_CPU_TIME_MS] = 4000;
  struct node_power node;
  estimate(m, x, &node);
  attribute_to_processes(&node, cpu_policy(true), ptrs, 3);
  /* 104 W dynamic (25 * 4 + 1 * 4, no cache misses) and 14.5 W idle,
   * shared 10% / 25% / 65%. */
  ck_assert_close(node.total_dynamic, 104.0);
  ck_assert_close(procs[0].power_dynamic_w, 10.4);
  ck_assert_close(procs[1].power_dynamic_w, 26.0);
  ck_assert_close(procs[2].power_dynamic_w, 67.6);
  ck_assert_close(procs[0].power_idle_w, 1.45);
  ck_assert_close(procs[1].power_idle_w, 3.625);
  ck_assert_close(procs[2].power_idle_w, 9.425);
}
END_TEST

START_TEST(test_idle_not_split) {
  static const double rates[] = {100, 300};
  make_procs(rates, 2);
  struct node_power node = manual_node(40, 20);
  attribute_to_processes(&node, cpu_policy(false), ptrs, 2);
  ck_assert_close(procs[0].power_dynamic_w, 5.0);
  ck_assert_close(procs[1].power_dynamic_w, 15.0);
  ck_assert(procs[0].power_idle_w == 0);
  ck_assert(procs[1].power_idle_w == 0);

  attribute_to_processes(&node, cpu_policy(true), ptrs, 2);
  ck_assert_close(procs[0].power_idle_w, 10.0);
  ck_assert_close(procs[1].power_idle_w, 30.0);
  ck_assert_close(procs[0].power_dynamic_w, 5.0);
}
END_TEST

START_TEST(test_single_process_gets_everything) {
  static const double rates[] = {0.001};
  make_procs(rates, 1);
  struct node_power node = manual_node(33.3, 66.6);
  attribute_to_processes(&node, cpu_policy(true), ptrs, 1);
  ck_assert_close(procs[0].power_dynamic_w, 66.6);
  ck_assert_close(procs[0].power_idle_w, 33.3);
}
END_TEST

START_TEST(test_no_process_ran) {
  static const double rates[] = {0, 0, 0, 0};
  make_procs(rates, 4);
  struct node_power node = manual_node(12, 34);
  attribute_to_processes(&node, cpu_policy(true), ptrs, 4);
  for (size_t i = 0; i < 4; i++) {
    ck_assert_msg(procs[i].power_dynamic_w == 0, "process %zu: %g W dynamic", i,
                  procs[i].power_dynamic_w);
    ck_assert_msg(procs[i].power_idle_w == 0, "process %zu: %g W idle", i,
                  procs[i].power_idle_w);
  }
}
END_TEST

START_TEST(test_no_processes) {
  struct node_power node = manual_node(12, 34);
  make_procs(NULL, 0);
  procs[0].power_dynamic_w = 999;
  attribute_to_processes(&node, cpu_policy(true), ptrs, 0);
  ck_assert(procs[0].power_dynamic_w == 999); /* not touched */
}
END_TEST

START_TEST(test_idle_processes_get_nothing) {
  static const double rates[] = {0, 250, 0, 750, 0};
  make_procs(rates, 5);
  struct node_power node = manual_node(8, 100);
  attribute_to_processes(&node, cpu_policy(true), ptrs, 5);
  ck_assert(procs[0].power_dynamic_w == 0 && procs[0].power_idle_w == 0);
  ck_assert(procs[2].power_dynamic_w == 0 && procs[2].power_idle_w == 0);
  ck_assert(procs[4].power_dynamic_w == 0 && procs[4].power_idle_w == 0);
  ck_assert_close(procs[1].power_dynamic_w, 25.0);
  ck_assert_close(procs[3].power_dynamic_w, 75.0);
  ck_assert_close(procs[1].power_idle_w, 2.0);
  ck_assert_close(procs[3].power_idle_w, 6.0);
}
END_TEST

START_TEST(test_only_cpu_time_counts) {
  /* Same CPU time, very different other counters: equal shares. */
  static const double rates[] = {500, 500};
  make_procs(rates, 2);
  procs[0].rate[FEATURE_CPU_CYCLES] = 1e10;
  procs[0].rate[FEATURE_CACHE_MISS] = 1e8;
  procs[1].rate[FEATURE_NET_RX_IRQ] = 5;
  struct node_power node = manual_node(10, 50);
  attribute_to_processes(&node, cpu_policy(true), ptrs, 2);
  ck_assert_close(procs[0].power_dynamic_w, 25.0);
  ck_assert_close(procs[1].power_dynamic_w, 25.0);
  ck_assert_close(procs[0].power_idle_w, 5.0);
  ck_assert_close(procs[1].power_idle_w, 5.0);
}
END_TEST

START_TEST(test_zero_node_power) {
  static const double rates[] = {100, 200};
  make_procs(rates, 2);
  struct node_power node = manual_node(0, 0);
  attribute_to_processes(&node, cpu_policy(true), ptrs, 2);
  ck_assert(procs[0].power_dynamic_w == 0 && procs[1].power_dynamic_w == 0);
  ck_assert(procs[0].power_idle_w == 0 && procs[1].power_idle_w == 0);
}
END_TEST

/* --- attribution_keep ------------------------------------------------ */

START_TEST(test_keep_top_orders_and_sums_rest) {
  static const double rates[] = {10, 50, 0, 30, 20, 40};
  make_procs(rates, 6);
  for (size_t i = 0; i < 6; i++) { /* power = 2 W per 10 ms/s, idle 1 W */
    procs[i].power_dynamic_w = rates[i] / 5;
    procs[i].power_idle_w = 1;
  }
  double od, oi;
  size_t kept = attribution_keep(ptrs, 6, 3, -INFINITY, &od, &oi);
  ck_assert_uint_eq(kept, 3);
  /* 50, 40, 30 ms/s are pids 101, 105, 103. */
  ck_assert_uint_eq(ptrs[0]->key.tgid, 101);
  ck_assert_uint_eq(ptrs[1]->key.tgid, 105);
  ck_assert_uint_eq(ptrs[2]->key.tgid, 103);
  ck_assert_close(od, (20.0 + 10.0 + 0.0) / 5);
  ck_assert_close(oi, 3.0);
}
END_TEST

START_TEST(test_keep_above_threshold) {
  static const double rates[] = {100, 400, 50, 300};
  make_procs(rates, 4);
  struct node_power node = manual_node(0, 85); /* 10, 40, 5, 30 W */
  attribute_to_processes(&node, cpu_policy(true), ptrs, 4);
  double od, oi;
  size_t kept = attribution_keep(ptrs, 4, 4, 10, &od, &oi);
  ck_assert_uint_eq(kept, 3); /* 40, 30, 10: at or above 10 W */
  ck_assert_close(ptrs[2]->power_dynamic_w, 10);
  ck_assert_close(od, 5);
  /* top and threshold together: the tighter wins */
  kept = attribution_keep(ptrs, 4, 1, 10, &od, &oi);
  ck_assert_uint_eq(kept, 1);
  ck_assert_close(od, 45);
}
END_TEST

START_TEST(test_keep_top_all_fit) {
  static const double rates[] = {10, 20};
  make_procs(rates, 2);
  double od = -1, oi = -1;
  ck_assert_uint_eq(attribution_keep(ptrs, 2, 2, -INFINITY, &od, &oi), 2);
  ck_assert(od == 0 && oi == 0);
  ck_assert_uint_eq(attribution_keep(ptrs, 2, 20, -INFINITY, &od, &oi), 2);
  ck_assert_uint_eq(ptrs[0]->key.tgid, 100); /* untouched order */
}
END_TEST

START_TEST(test_keep_top_conserves) {
  /* Reported + other = node, for any top. */
  static double rates[MAXP];
  for (size_t i = 0; i < MAXP; i++)
    rates[i] = (double)((i * 7919) % 1009);
  for (size_t top = 0; top <= MAXP; top = top * 2 + 1) {
    make_procs(rates, MAXP);
    struct node_power node = manual_node(12.5, 87.25);
    attribute_to_processes(&node, cpu_policy(true), ptrs, MAXP);
    double od, oi;
    size_t kept = attribution_keep(ptrs, MAXP, top, -INFINITY, &od, &oi);
    double d = od, i_ = oi;
    for (size_t i = 0; i < kept; i++) {
      d += ptrs[i]->power_dynamic_w;
      i_ += ptrs[i]->power_idle_w;
      if (i > 0)
        ck_assert(ptrs[i - 1]->power_dynamic_w >= ptrs[i]->power_dynamic_w);
    }
    ck_assert_close(d, 87.25);
    ck_assert_close(i_, 12.5);
  }
}
END_TEST

static int tgid_cmp(const void *a, const void *b) {
  uint32_t x = (*(struct proc_entry *const *)a)->key.tgid;
  uint32_t y = (*(struct proc_entry *const *)b)->key.tgid;
  return (x > y) - (x < y);
}

START_TEST(test_keep_top_selects_the_highest) {
  /* Many processes, many ties: the kept ones are exactly the first of the
   * whole order (power, then pid), whatever the selection does inside. */
  static double rates[MAXP];
  for (size_t i = 0; i < MAXP; i++)
    rates[i] = (double)((i * 7919) % 13);
  for (size_t top = 1; top < MAXP; top = top * 3 + 1) {
    make_procs(rates, MAXP);
    struct node_power node = manual_node(0, 100);
    attribute_to_processes(&node, cpu_policy(true), ptrs, MAXP);
    /* The reference: every process by power, then pid, by insertion. */
    static struct proc_entry *ref[MAXP];
    memcpy(ref, ptrs, sizeof(ref));
    for (size_t i = 1; i < MAXP; i++)
      for (size_t j = i; j > 0; j--) {
        struct proc_entry *a = ref[j - 1], *b = ref[j];
        double pa = a->power_dynamic_w, pb = b->power_dynamic_w;
        if (pa > pb || (pa == pb && a->key.tgid < b->key.tgid))
          break;
        ref[j - 1] = b;
        ref[j] = a;
      }
    double od, oi;
    size_t kept = attribution_keep(ptrs, MAXP, top, -INFINITY, &od, &oi);
    ck_assert_uint_eq(kept, top);
    for (size_t i = 0; i < kept; i++)
      ck_assert_uint_eq(ptrs[i]->key.tgid, ref[i]->key.tgid);
    /* the rest is the rest: every process once */
    qsort(ptrs + kept, MAXP - kept, sizeof(*ptrs), tgid_cmp);
    qsort(ref + kept, MAXP - kept, sizeof(*ref), tgid_cmp);
    for (size_t i = kept; i < MAXP; i++)
      ck_assert_uint_eq(ptrs[i]->key.tgid, ref[i]->key.tgid);
  }
}
END_TEST

/* Sums with Kahan compensation, so the check does not add error of its own.
 */
static double sum_of(const double *v, size_t n) {
  double s = 0, c = 0;
  for (size_t i = 0; i < n; i++) {
    double y = v[i] - c, t = s + y;
    c = (t - s) - y;
    s = t;
  }
  return s;
}

START_TEST(test_conservation_many) {
  static double rates[MAXP], dyn[MAXP], idle[MAXP];
  /* Rates over many orders of magnitude, some processes idle. */
  uint64_t r = 0x243f6a8885a308d3ull;
  for (size_t i = 0; i < MAXP; i++) {
    r = r * 6364136223846793005ull + 1442695040888963407ull;
    unsigned k = (unsigned)(r >> 33);
    rates[i] =
        k % 5 == 0 ? 0 : (double)(k % 100000) * pow(10, (int)(k % 7) - 3);
  }
  static const double totals[][2] = {
      {14.5, 105.0}, {0.1, 1e-6}, {250.0, 1234.5678}, {1e4, 3.3}};
  for (size_t t = 0; t < ARRAY_SIZE(totals); t++) {
    for (size_t n = 1; n <= MAXP; n = n * 3 + 1) {
      make_procs(rates, n);
      /* Make sure at least one ran. */
      procs[0].rate[FEATURE_CPU_TIME_MS] = 1.0;
      struct node_power node = manual_node(totals[t][0], totals[t][1]);
      attribute_to_processes(&node, cpu_policy(true), ptrs, n);
      for (size_t i = 0; i < n; i++) {
        dyn[i] = procs[i].power_dynamic_w;
        idle[i] = procs[i].power_idle_w;
        if (!(dyn[i] >= 0 && idle[i] >= 0))
          ck_abort_msg("process %zu: negative share", i);
      }
      double sd = sum_of(dyn, n), si = sum_of(idle, n);
      ck_assert_msg(fabs(sd - totals[t][1]) <= 1e-9 * totals[t][1],
                    "n=%zu: dynamic shares sum to %.17g, node %.17g", n, sd,
                    totals[t][1]);
      ck_assert_msg(fabs(si - totals[t][0]) <= 1e-9 * totals[t][0],
                    "n=%zu: idle shares sum to %.17g, node %.17g", n, si,
                    totals[t][0]);
    }
  }
}
END_TEST

START_TEST(test_conservation_with_model) {
  /* The whole path: features from the processes, node power from the
   * model, shares back to the processes. */
  const struct power_model *m = load(readme_yaml);
  static double rates[200], dyn[200];
  for (size_t i = 0; i < 200; i++)
    rates[i] = (double)((i * 37) % 101) * 0.37;
  make_procs(rates, 200);
  double x[FEATURE_MAX];
  zero_features(x);
  x[FEATURE_CPU_TIME_MS] = sum_of(rates, 200);
  x[FEATURE_CACHE_MISS] = 1.5e6;
  struct node_power node;
  estimate(m, x, &node);
  ck_assert(node.total_dynamic > 0);
  attribute_to_processes(&node, cpu_policy(false), ptrs, 200);
  for (size_t i = 0; i < 200; i++)
    dyn[i] = procs[i].power_dynamic_w;
  ck_assert_close(sum_of(dyn, 200), node.total_dynamic);
  /* Twice the CPU time, twice the share. */
  for (size_t i = 0; i < 200; i++)
    for (size_t j = 0; j < 200; j++)
      if (rates[j] == 2 * rates[i] && rates[i] > 0)
        ck_assert_close(dyn[j], 2 * dyn[i]);
}
END_TEST

static Suite *attribution_suite(void) {
  Suite *s = suite_create("attribution");

  TCase *tc = tcase_create("node_power");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_estimate_readme_example);
  tcase_add_test(tc, test_estimate_idle_node);
  tcase_add_test(tc, test_estimate_idle_independent_of_usage);
  tcase_add_test(tc, test_total_platform_wins);
  tcase_add_test(tc, test_total_platform_only);
  tcase_add_test(tc, test_total_core_plus_uncore);
  tcase_add_test(tc, test_total_package_not_double_counted);
  tcase_add_test(tc, test_total_dram_only);
  tcase_add_test(tc, test_dynamic_never_negative);
  tcase_add_test(tc, test_negative_bias_clamped);
  tcase_add_test(tc, test_estimate_parts_sum);
  suite_add_tcase(s, tc);

  tc = tcase_create("processes");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_default_policy);
  tcase_add_test(tc, test_shares_by_component_metric);
  tcase_add_test(tc, test_metric_absent_falls_back_to_cpu_time);
  tcase_add_test(tc, test_platform_below_parts_conserves);
  tcase_add_test(tc, test_shares_by_cpu_time);
  tcase_add_test(tc, test_idle_not_split);
  tcase_add_test(tc, test_single_process_gets_everything);
  tcase_add_test(tc, test_no_process_ran);
  tcase_add_test(tc, test_no_processes);
  tcase_add_test(tc, test_idle_processes_get_nothing);
  tcase_add_test(tc, test_only_cpu_time_counts);
  tcase_add_test(tc, test_zero_node_power);
  tcase_add_test(tc, test_conservation_many);
  tcase_add_test(tc, test_conservation_with_model);
  tcase_add_test(tc, test_keep_top_orders_and_sums_rest);
  tcase_add_test(tc, test_keep_top_all_fit);
  tcase_add_test(tc, test_keep_above_threshold);
  tcase_add_test(tc, test_keep_top_conserves);
  tcase_add_test(tc, test_keep_top_selects_the_highest);
  suite_add_tcase(s, tc);

  return s;
}

int main(void) {
  return run_suite(attribution_suite());
}
