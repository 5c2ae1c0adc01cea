// SPDX-License-Identifier: GPL-2.0-only
/* node_estimator: node power from the estimator sidecar, served for real
 * by sidecar_server.h's thread, or from the local model; one WARNING per
 * outage, a NOTICE on recovery, the health check at open, Kepler's node
 * semantics on the sidecar's answer, and the request it gets (checked with
 * json-c). Expected watts are written out from Kepler's formulas here. */
#define _GNU_SOURCE /* accept4, MSG_NOSIGNAL (sidecar_server.h) */
#include "node_estimator.h"

#include <check.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "model_yaml.h"
#include "sidecar_server.h"
#include "testutil.h"

/* --- The local model and the machine ----------------------------------- */

/* Platform: 40 W idle + 30 W per 1000 ms/s of CPU time. */
static const char model_yaml[] =
    "name: unit-platform\n"
    "output_type: AbsPower\n"
    "cpu_architectures: [ { match: xeon, name: skylake } ]\n"
    "components:\n"
    "  platform:\n"
    "    bias: 40\n"
    "    weights:\n"
    "      bpf_cpu_time_ms: { weight: 30, scale: 1000 }\n";

static struct machine_spec test_spec(void) {
  return (struct machine_spec){
      .cpu = "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
      .vendor = "GenuineIntel",
      .chips = 2,
      .cores = 40,
      .threads = 80,
      .memory_gb = 376.2,
      .mhz = 2500,
      .hypervisor = true,
  };
}

/* Kepler's system features and what test_spec() must give for them (the
 * architecture from the model's rule). */
#define NSYSTEM 10
static const char *const want_system_features[NSYSTEM] = {"cpu_architecture",
                                                          "vendor",
                                                          "processor",
                                                          "cores",
                                                          "chips",
                                                          "threads",
                                                          "memory",
                                                          "frequency",
                                                          "threads_per_core",
                                                          "hypervisor"};
static const char *const want_system_values[NSYSTEM] = {
    "skylake",
    "GenuineIntel",
    "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
    "40",
    "2",
    "80",
    "376",
    "2500",
    "2",
    "1"};

/* The node's features: the measured ones (have[]) are sent, in feature
 * order; the others hold values that must not be. */
static const double x_node[FEATURE_MAX] = {
    [FEATURE_CPU_TIME_MS] = 1234.5,      [FEATURE_CPU_CYCLES] = 7e9,
    [FEATURE_CACHE_MISS] = 2.5e6,        [FEATURE_PAGE_CACHE_HIT] = 42,
    [FEATURE_NET_RX_IRQ] = 321.25,       [FEATURE_BLOCK_IRQ] = 9,
    [FEATURE_CPU_INSTRUCTIONS] = 1.5e10,
};
#define NMETRICS 3
static const char *const want_metrics[NMETRICS] = {
    "bpf_cpu_time_ms", "cache_miss", "bpf_net_rx_irq"};
static const double want_row0[NMETRICS] = {1234.5, 2.5e6, 321.25};

static struct power_model *model;

static struct node_estimator_options options(const char *socket_path,
                                             int timeout_ms) {
  struct node_estimator_options o = {.socket_path = socket_path,
                                     .timeout_ms = timeout_ms,
                                     .max_answer = 4096,
                                     .source = "rapl-sysfs",
                                     .spec = test_spec()};
  o.have[FEATURE_CPU_TIME_MS] = true;
  o.have[FEATURE_CACHE_MISS] = true;
  o.have[FEATURE_NET_RX_IRQ] = true;
  return o;
}

static struct node_estimator *open_estimator(const char *socket_path,
                                             int timeout_ms) {
  struct node_estimator_options o = options(socket_path, timeout_ms);
  struct node_estimator *e = NULL;
  char err[256] = "";
  ck_assert_msg(node_estimator_open(&o, model, &e, err, sizeof err) == 0, "%s",
                err);
  ck_assert_ptr_nonnull(e);
  return e;
}

/* --- Log lines ----------------------------------------------------------- */

static int log_count[8], log_lines;
static char log_buf[16384];
static char log_last[8][1024]; /* the last line of each level */

static void capture(int level, const char *message) {
  size_t n = strlen(log_buf);
  snprintf(log_buf + n, sizeof log_buf - n, "%d %s\n", level, message);
  log_lines++;
  if (level >= 0 && level < 8) {
    log_count[level]++;
    snprintf(log_last[level], sizeof log_last[level], "%s", message);
  }
}

static void assert_last(int level, const char *text) {
  ck_assert_msg(strstr(log_last[level], text) != NULL,
                "the last level-%d line does not say \"%s\": %s", level, text,
                log_buf);
}

static void setup(void) {
  memset(log_count, 0, sizeof log_count);
  memset(log_last, 0, sizeof log_last);
  log_lines = 0;
  log_buf[0] = '\0';
  kepler_log_set(capture);
  char err[256] = "";
  model = NULL;
  ck_assert_msg(model_load_buffer(model_yaml, strlen(model_yaml), "test",
                                  &model, err, sizeof err) == 0,
                "%s", err);
  struct machine_spec spec = test_spec();
  ck_assert_msg(model_bind_machine(model, &spec, err, sizeof err) == 0, "%s",
                err);
  ck_assert_str_eq(model_cpu_architecture(model), "skylake");
}

static void teardown(void) {
  model_free(model);
  model = NULL;
  kepler_log_set(NULL);
}

/* --- Estimates against the scripted sidecar ------------------------------ */

struct served {
  const char *from;
  struct node_power p;
  char *request; /* what the server received (caller frees), or NULL */
  double ms;     /* how long the estimate took */
};

/* Starts s at path, where the estimator's sidecar is expected. */
static void listen_at(struct server *s, const char *path) {
  snprintf(s->path, sizeof s->path, "%s", path);
  server_start(s, 8);
}

/* One estimate at x while a server scripted as s listens at path; the
 * server is gone when it returns. */
static struct served estimate_served(struct node_estimator *e, const char *path,
                                     struct server s,
                                     const double x[FEATURE_MAX]) {
  struct served r = {0};
  listen_at(&s, path);
  double t0 = now_ms();
  r.from = node_estimator_estimate(e, model, x, &r.p);
  r.ms = now_ms() - t0;
  server_join(&s);
  r.request = s.request;
  s.request = NULL;
  server_stop(&s);
  return r;
}

/* A server answering `answer` to Kepler's read. */
static struct server answering(const char *answer) {
  return (struct server){.accept = true, .read = READ_KEPLER, .answer = answer};
}

static struct served estimate_answered(struct node_estimator *e,
                                       const char *path, const char *answer) {
  return estimate_served(e, path, answering(answer), x_node);
}

static void assert_same_power(const struct node_power *got,
                              const struct node_power *want) {
  for (int c = 0; c < COMPONENT_MAX; c++) {
    ck_assert_int_eq(got->present[c], want->present[c]);
    ck_assert(got->absolute[c] == want->absolute[c]);
    ck_assert(got->idle[c] == want->idle[c]);
    ck_assert(got->dynamic[c] == want->dynamic[c]);
  }
  ck_assert(got->total == want->total);
  ck_assert(got->total_idle == want->total_idle);
  ck_assert(got->total_dynamic == want->total_dynamic);
}

/* The model's own estimate, exactly. */
static void assert_model_power(const struct node_power *got,
                               const double x[FEATURE_MAX]) {
  struct node_power want;
  node_power_estimate(model, x, &want);
  assert_same_power(got, &want);
}

/* Only the listed components present. */
static void assert_present(const struct node_power *p, unsigned mask) {
  for (int c = 0; c < COMPONENT_MAX; c++)
    ck_assert_msg(p->present[c] == ((mask >> c & 1) != 0), "component %s",
                  component_name(c));
}

/* The received request: Kepler's AbsPower request from options(), nrows
 * rows, row 0 the node's measured features (or zeros when !row0), every
 * other row zeros; the system values of test_spec() (the architecture only
 * when check_arch). */
static void assert_request(const char *text, size_t nrows, bool row0,
                           bool check_arch) {
  ck_assert_ptr_nonnull(text);
  json_object *o = json_tokener_parse(text), *v;
  ck_assert_msg(o && json_object_is_type(o, json_type_object), "%s", text);
  ck_assert(json_object_object_get_ex(o, "output_type", &v));
  ck_assert_str_eq(json_object_get_string(v), "AbsPower");
  ck_assert(json_object_object_get_ex(o, "source", &v));
  ck_assert_str_eq(json_object_get_string(v), "rapl-sysfs");

  ck_assert(json_object_object_get_ex(o, "metrics", &v));
  ck_assert_int_eq(json_object_array_length(v), NMETRICS);
  for (size_t m = 0; m < NMETRICS; m++)
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, m)),
                     want_metrics[m]);

  ck_assert(json_object_object_get_ex(o, "values", &v));
  ck_assert_int_eq(json_object_array_length(v), nrows);
  for (size_t r = 0; r < nrows; r++) {
    json_object *row = json_object_array_get_idx(v, r);
    ck_assert_int_eq(json_object_array_length(row), NMETRICS);
    for (size_t m = 0; m < NMETRICS; m++) {
      double got = json_object_get_double(json_object_array_get_idx(row, m));
      double want = r == 0 && row0 ? want_row0[m] : 0;
      ck_assert_msg(got == want, "row %zu %s: %.17g, want %.17g", r,
                    want_metrics[m], got, want);
    }
  }

  json_object *f, *sv;
  ck_assert(json_object_object_get_ex(o, "system_features", &f));
  ck_assert(json_object_object_get_ex(o, "system_values", &sv));
  ck_assert_int_eq(json_object_array_length(f), NSYSTEM);
  ck_assert_int_eq(json_object_array_length(sv), NSYSTEM);
  for (size_t i = 0; i < NSYSTEM; i++) {
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(f, i)),
                     want_system_features[i]);
    if (i > 0 || check_arch)
      ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(sv, i)),
                       want_system_values[i]);
  }
  json_object_put(o);
}

/* --- Tests ---------------------------------------------------------------- */

START_TEST(test_no_socket_is_the_model) {
  struct node_estimator *e = open_estimator(NULL, 100);
  static const double zero[FEATURE_MAX];
  struct node_power p;
  ck_assert_str_eq(node_estimator_estimate(e, model, x_node, &p), "model");
  assert_model_power(&p, x_node);
  /* The model itself: 40 W idle + 30 W per 1000 ms/s. */
  assert_present(&p, 1u << COMPONENT_PLATFORM);
  ck_assert_close(p.absolute[COMPONENT_PLATFORM], 40 + 30 * 1234.5 / 1000);
  ck_assert_close(p.idle[COMPONENT_PLATFORM], 40);
  ck_assert_str_eq(node_estimator_estimate(e, model, zero, &p), "model");
  assert_model_power(&p, zero);
  node_estimator_close(e);
  /* No estimator at all is the model too. */
  ck_assert_str_eq(node_estimator_estimate(NULL, model, x_node, &p), "model");
  assert_model_power(&p, x_node);
  node_estimator_close(NULL);
  ck_assert_msg(log_lines == 0, "%s", log_buf);
}
END_TEST

START_TEST(test_outage_at_open_then_recovery) {
  char sock[108];
  fresh_path(sock, sizeof sock); /* nobody listens there */
  struct node_estimator *e = open_estimator(sock, 2000);
  /* The health check failed: the outage starts. */
  ck_assert_msg(log_lines == 1 && log_count[KLOG_WARNING] == 1, "%s", log_buf);
  assert_last(KLOG_WARNING, sock);
  assert_last(KLOG_WARNING, "connect: No such file or directory");
  for (int i = 0; i < 3; i++) {
    struct node_power p;
    ck_assert_str_eq(node_estimator_estimate(e, model, x_node, &p), "model");
    assert_model_power(&p, x_node);
  }
  ck_assert_msg(log_lines == 1, "%s", log_buf);

  /* The sidecar appears. */
  const double v0 = 95.5, v1 = 60.25, r = 0.75;
  char answer[256];
  snprintf(answer, sizeof answer,
           "{\"powers\":{\"platform\":[%.17g,%.17g]},\"core_ratio\":%.17g}", v0,
           v1, r);
  struct served s = estimate_answered(e, sock, answer);
  ck_assert_str_eq(s.from, "estimator");
  ck_assert_msg(log_count[KLOG_NOTICE] == 1 && log_lines == 2, "%s", log_buf);
  assert_last(KLOG_NOTICE, "answers again");
  assert_last(KLOG_NOTICE, sock);
  /* Kepler: idle = the answer at zero usage x min(coreRatio, 1), absolute
   * = idle + what the answer at x has above it. */
  double idle = v1 * fmin(r, 1), absolute = idle + fmax(v0 - v1, 0);
  assert_present(&s.p, 1u << COMPONENT_PLATFORM);
  ck_assert_close(s.p.idle[COMPONENT_PLATFORM], idle);
  ck_assert_close(s.p.absolute[COMPONENT_PLATFORM], absolute);
  ck_assert_close(s.p.dynamic[COMPONENT_PLATFORM], absolute - idle);
  ck_assert_close(s.p.total, absolute);
  ck_assert_close(s.p.total_idle, idle);
  ck_assert_close(s.p.total_dynamic, absolute - idle);
  /* Two rows: the node's measured features, then zero usage. */
  assert_request(s.request, 2, true, true);
  free(s.request);

  /* An answer at x below the one at zero usage: no dynamic part. */
  const double w0 = 50;
  snprintf(answer, sizeof answer,
           "{\"powers\":{\"platform\":[%.17g,%.17g]},\"core_ratio\":%.17g}", w0,
           v1, r);
  s = estimate_answered(e, sock, answer);
  ck_assert_str_eq(s.from, "estimator");
  idle = v1 * fmin(r, 1);
  absolute = idle + fmax(w0 - v1, 0);
  ck_assert_close(s.p.absolute[COMPONENT_PLATFORM], idle);
  ck_assert_close(s.p.absolute[COMPONENT_PLATFORM], absolute);
  ck_assert(s.p.dynamic[COMPONENT_PLATFORM] == 0);
  free(s.request);

  /* Package, core, uncore and dram, package below core + uncore, a core
   * ratio above 1. */
  enum { PKG, CORE, UNC, DRAM };
  const double at_x[] = {20, 16, 5, 7.5}, at_0[] = {9, 6, 4, 3}, r2 = 1.25;
  snprintf(answer, sizeof answer,
           "{\"powers\":{\"package\":[%.17g,%.17g],\"core\":[%.17g,%.17g],"
           "\"uncore\":[%.17g,%.17g],\"dram\":[%.17g,%.17g]},"
           "\"core_ratio\":%.17g}",
           at_x[PKG], at_0[PKG], at_x[CORE], at_0[CORE], at_x[UNC], at_0[UNC],
           at_x[DRAM], at_0[DRAM], r2);
  s = estimate_answered(e, sock, answer);
  ck_assert_str_eq(s.from, "estimator");
  double want_idle[4], want_abs[4];
  for (int c = 0; c < 4; c++) {
    want_idle[c] = at_0[c] * fmin(r2, 1);
    want_abs[c] = want_idle[c] + fmax(at_x[c] - at_0[c], 0);
  }
  /* package holds core and uncore, in both vectors; idle <= absolute. */
  want_abs[PKG] = fmax(want_abs[PKG], want_abs[CORE] + want_abs[UNC]);
  want_idle[PKG] = fmax(want_idle[PKG], want_idle[CORE] + want_idle[UNC]);
  for (int c = 0; c < 4; c++)
    want_idle[c] = fmin(want_idle[c], want_abs[c]);
  ck_assert(want_abs[PKG] == 21 && want_idle[PKG] == 10); /* fixed up */
  static const enum kepler_component comp[] = {
      COMPONENT_PACKAGE, COMPONENT_CORE, COMPONENT_UNCORE, COMPONENT_DRAM};
  assert_present(&s.p, 1u << COMPONENT_PACKAGE | 1u << COMPONENT_CORE |
                           1u << COMPONENT_UNCORE | 1u << COMPONENT_DRAM);
  for (int c = 0; c < 4; c++) {
    ck_assert_close(s.p.absolute[comp[c]], want_abs[c]);
    ck_assert_close(s.p.idle[comp[c]], want_idle[c]);
    ck_assert_close(s.p.dynamic[comp[c]], want_abs[c] - want_idle[c]);
  }
  /* No platform: the node is package + dram. */
  ck_assert_close(s.p.total, want_abs[PKG] + want_abs[DRAM]);
  ck_assert_close(s.p.total_idle, want_idle[PKG] + want_idle[DRAM]);
  free(s.request);

  /* Still the one outage and the one recovery. */
  ck_assert_msg(log_count[KLOG_WARNING] == 1 && log_count[KLOG_NOTICE] == 1 &&
                    log_lines == 2,
                "%s", log_buf);
  node_estimator_close(e);
}
END_TEST

START_TEST(test_healthy_then_garbage_then_hang) {
  char sock[108];
  fresh_path(sock, sizeof sock);
  /* The health check: one row, answered. */
  struct server hs = answering("{\"powers\":{\"platform\":[40]}}");
  listen_at(&hs, sock);
  struct node_estimator *e = open_estimator(sock, 100);
  server_join(&hs);
  ck_assert_msg(log_lines == 1 && log_count[KLOG_INFO] == 1, "%s", log_buf);
  assert_last(KLOG_INFO, "answers");
  assert_last(KLOG_INFO, sock);
  /* Kepler's health check: a single all-zero row. */
  assert_request(hs.request, 1, false, false);
  server_stop(&hs);

  /* Garbage: the model, one WARNING naming the socket. */
  static const char garbage[] = "HTTP/1.1 400 Bad Request\r\n\r\n";
  struct served s = estimate_answered(e, sock, garbage);
  ck_assert_str_eq(s.from, "model");
  assert_model_power(&s.p, x_node);
  ck_assert_msg(log_count[KLOG_WARNING] == 1 && log_lines == 2, "%s", log_buf);
  assert_last(KLOG_WARNING, sock);
  assert_last(KLOG_WARNING, "not JSON");
  assert_last(KLOG_WARNING, "unit-platform"); /* the model it falls back on */
  free(s.request);
  /* Garbage again: the same outage, no second WARNING. */
  s = estimate_answered(e, sock, garbage);
  ck_assert_str_eq(s.from, "model");
  assert_model_power(&s.p, x_node);
  ck_assert_msg(log_lines == 2, "%s", log_buf);
  free(s.request);

  /* A good answer: the NOTICE. */
  s = estimate_answered(e, sock, "{\"powers\":{\"platform\":[70,40]}}");
  ck_assert_str_eq(s.from, "estimator");
  ck_assert_close(s.p.absolute[COMPONENT_PLATFORM], 70);
  ck_assert_msg(log_count[KLOG_NOTICE] == 1 && log_lines == 3, "%s", log_buf);
  assert_last(KLOG_NOTICE, "answers again");
  free(s.request);

  /* Accepted, never answered: a new outage, bounded by the timeout. */
  struct server hang = {
      .accept = true, .read = READ_KEPLER, .wait_for_close = true};
  s = estimate_served(e, sock, hang, x_node);
  ck_assert_str_eq(s.from, "model");
  assert_model_power(&s.p, x_node);
  ck_assert_msg(log_count[KLOG_WARNING] == 2 && log_lines == 4, "%s", log_buf);
  assert_last(KLOG_WARNING, "no answer within 100 ms");
  assert_last(KLOG_WARNING, sock);
  ck_assert_msg(s.ms < 1000, "took %.0f ms", s.ms);
  free(s.request);
  node_estimator_close(e);
}
END_TEST

/* Other options give other requests: the source and system values as
 * given, only the measured features. */
START_TEST(test_request_follows_options) {
  char sock[108];
  fresh_path(sock, sizeof sock);
  struct node_estimator_options o = options(sock, 2000);
  memset(o.have, 0, sizeof o.have);
  o.have[FEATURE_PAGE_CACHE_HIT] = true;
  o.have[FEATURE_BLOCK_IRQ] = true;
  o.source = "acpi";
  o.spec.hypervisor = false;
  o.spec.cores = 0; /* unknown: one thread per core, not a division by 0 */
  struct server hs = answering("{\"powers\":{\"platform\":[40]}}");
  listen_at(&hs, sock);
  struct node_estimator *e = NULL;
  char err[256];
  ck_assert_int_eq(node_estimator_open(&o, model, &e, err, sizeof err), 0);
  server_stop(&hs);
  struct served s =
      estimate_answered(e, sock, "{\"powers\":{\"platform\":[70,40]}}");
  ck_assert_str_eq(s.from, "estimator");
  json_object *j = json_tokener_parse(s.request), *v;
  ck_assert_ptr_nonnull(j);
  json_object_object_get_ex(j, "source", &v);
  ck_assert_str_eq(json_object_get_string(v), "acpi");
  json_object_object_get_ex(j, "metrics", &v);
  ck_assert_int_eq(json_object_array_length(v), 2);
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)),
                   "bpf_page_cache_hit");
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)),
                   "bpf_block_irq");
  json_object_object_get_ex(j, "values", &v);
  json_object *row = json_object_array_get_idx(v, 0);
  ck_assert(json_object_get_double(json_object_array_get_idx(row, 0)) == 42);
  ck_assert(json_object_get_double(json_object_array_get_idx(row, 1)) == 9);
  json_object_object_get_ex(j, "system_values", &v);
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 3)),
                   "0"); /* cores */
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 8)),
                   "1"); /* threads_per_core */
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 9)),
                   "0"); /* hypervisor */
  json_object_put(j);
  free(s.request);
  node_estimator_close(e);
}
END_TEST

static Suite *node_estimator_suite(void) {
  Suite *s = suite_create("node_estimator");
  TCase *tc = tcase_create("sidecar");
  /* Unchecked: made and removed by the runner itself, even when a forked
   * test dies. */
  tcase_add_unchecked_fixture(tc, make_base_dir, remove_base_dir);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 10); /* valgrind is slow; each test is bounded */
  tcase_add_test(tc, test_no_socket_is_the_model);
  tcase_add_test(tc, test_outage_at_open_then_recovery);
  tcase_add_test(tc, test_healthy_then_garbage_then_hang);
  tcase_add_test(tc, test_request_follows_options);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(node_estimator_suite());
}
