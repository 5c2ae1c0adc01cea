// SPDX-License-Identifier: GPL-2.0-only
/* estimator_client: the request and answer as JSON (checked with json-c
 * here), and whole exchanges over real unix sockets with a scripted server
 * thread (sidecar_server.h): correct answers, silence, garbage, bad values,
 * oversize, early closes and nobody listening. */
#define _GNU_SOURCE /* MSG_NOSIGNAL, SOCK_CLOEXEC */
#include "estimator_client.h"

#include <check.h>
#include <float.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sidecar_server.h"
#include "testutil.h"

#define NROWS 3
#define NMETRICS 2

static const char *const metrics[NMETRICS] = {"bpf_cpu_time_ms",
                                              "bpf_page_cache_hit"};
static const char *const sys_features[] = {"cpu_architecture"};
static const char *const sys_values[] = {"Sapphire Rapids"};
/* Values whose %.6g or %g spelling would lose bits. */
static const double values[NROWS * NMETRICS] = {
    0.1,     1.0 / 3,           123456789.12345679, 4.9406564584124654e-324,
    DBL_MAX, 2.0000000000000004};

static struct estimator_request request(void) {
  return (struct estimator_request){.output_type = "AbsPower",
                                    .source = "rapl-sysfs",
                                    .trainer_name = "",
                                    .filter = "",
                                    .nmetrics = NMETRICS,
                                    .metrics = metrics,
                                    .nrows = NROWS,
                                    .values = values,
                                    .nsystem = 1,
                                    .system_features = sys_features,
                                    .system_values = sys_values};
}

#define GOOD_ANSWER                                                            \
  "{\"powers\": {\"package\": [12.345678901234567, 0, 3], "                    \
  "\"dram\": [1e-3, 2.5, 7]}, \"msg\": \"\", \"core_ratio\": 0.5}"

/* --- Calls against the scripted server (sidecar_server.h) ------------- */

/* One call against the server; elapsed time in *ms. */
struct result {
  int rc;
  char err[512];
  bool present[COMPONENT_MAX];
  double watts[COMPONENT_MAX * NROWS];
  double core_ratio;
  double ms;
};

static struct result call_rq(const char *path, int timeout_ms,
                             size_t max_answer,
                             const struct estimator_request *rq) {
  struct estimator_options o = {
      .socket_path = path, .timeout_ms = timeout_ms, .max_answer = max_answer};
  struct result r = {.core_ratio = -7};
  double t0 = now_ms();
  r.rc = estimator_call(&o, rq, r.present, r.watts, &r.core_ratio, r.err,
                        sizeof r.err);
  r.ms = now_ms() - t0;
  return r;
}

static struct result call(const char *path, int timeout_ms, size_t max_answer) {
  struct estimator_request rq = request();
  return call_rq(path, timeout_ms, max_answer, &rq);
}

/* One call against a server scripted as s (backlog 8), the server gone
 * when it returns. */
static struct result serve(struct server s, int timeout_ms, size_t max_answer) {
  server_start(&s, 8);
  struct result r = call(s.path, timeout_ms, max_answer);
  server_stop(&s);
  return r;
}

/* The server answers `answer` to a Kepler-style read; the result of one
 * call with a 2 s timeout and a 4096-byte limit. */
static struct result exchange(const char *answer) {
  struct server s = {.accept = true, .read = READ_KEPLER, .answer = answer};
  return serve(s, 2000, 4096);
}

/* "estimator PATH: " + want, PATH being any of this test's sockets. */
static void assert_error(const struct result *r, const char *want) {
  ck_assert_int_eq(r->rc, -1);
  ck_assert_msg(strncmp(r->err, "estimator /tmp/", 15) == 0 &&
                    strstr(r->err, ".sock: ") != NULL,
                "error does not name the socket: %s", r->err);
  const char *what = strstr(r->err, ".sock: ") + 7;
  ck_assert_msg(strncmp(what, want, strlen(want)) == 0, "error \"%s\", want %s",
                r->err, want);
}

static void assert_good_answer(const struct result *r) {
  ck_assert_msg(r->rc == 0, "%s", r->err);
  ck_assert(r->present[COMPONENT_PACKAGE] && r->present[COMPONENT_DRAM]);
  ck_assert(!r->present[COMPONENT_CORE] && !r->present[COMPONENT_UNCORE] &&
            !r->present[COMPONENT_PLATFORM]);
  const double *pkg = r->watts + COMPONENT_PACKAGE * NROWS;
  const double *dram = r->watts + COMPONENT_DRAM * NROWS;
  ck_assert(pkg[0] == 12.345678901234567 && pkg[1] == 0 && pkg[2] == 3);
  ck_assert(dram[0] == 1e-3 && dram[1] == 2.5 && dram[2] == 7);
  for (size_t i = 0; i < NROWS; i++)
    ck_assert(r->watts[COMPONENT_CORE * NROWS + i] == 0 &&
              r->watts[COMPONENT_PLATFORM * NROWS + i] == 0);
  ck_assert(r->core_ratio == 0.5);
}

/* The received (or built) request: exactly Kepler's keys, the shape of
 * request(), every double bit-exact. */
static void assert_request(const char *text) {
  static const char *const keys[] = {
      "metrics",         "values",        "output_type",  "source",
      "system_features", "system_values", "trainer_name", "filter"};
  json_object *o = json_tokener_parse(text), *v;
  ck_assert_msg(o && json_object_is_type(o, json_type_object), "%s", text);
  ck_assert_int_eq(json_object_object_length(o), ARRAY_SIZE(keys));
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
    ck_assert_msg(json_object_object_get_ex(o, keys[i], NULL), "no %s",
                  keys[i]);
  json_object_object_get_ex(o, "metrics", &v);
  ck_assert_int_eq(json_object_array_length(v), NMETRICS);
  for (size_t m = 0; m < NMETRICS; m++)
    ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, m)),
                     metrics[m]);
  json_object_object_get_ex(o, "values", &v);
  ck_assert_int_eq(json_object_array_length(v), NROWS);
  for (size_t r = 0; r < NROWS; r++) {
    json_object *row = json_object_array_get_idx(v, r);
    ck_assert_int_eq(json_object_array_length(row), NMETRICS);
    for (size_t m = 0; m < NMETRICS; m++) {
      double got = json_object_get_double(json_object_array_get_idx(row, m));
      ck_assert_msg(memcmp(&got, &values[r * NMETRICS + m], sizeof got) == 0,
                    "row %zu metric %zu: %.17g, sent %.17g", r, m, got,
                    values[r * NMETRICS + m]);
    }
  }
  static const struct {
    const char *key, *want;
  } strings[] = {{"output_type", "AbsPower"},
                 {"source", "rapl-sysfs"},
                 {"trainer_name", ""},
                 {"filter", ""}};
  for (size_t i = 0; i < ARRAY_SIZE(strings); i++) {
    json_object_object_get_ex(o, strings[i].key, &v);
    ck_assert(json_object_is_type(v, json_type_string));
    ck_assert_str_eq(json_object_get_string(v), strings[i].want);
  }
  json_object_object_get_ex(o, "system_features", &v);
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)),
                   "cpu_architecture");
  ck_assert_int_eq(json_object_array_length(v), 1);
  json_object_object_get_ex(o, "system_values", &v);
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)),
                   "Sapphire Rapids");
  ck_assert_int_eq(json_object_array_length(v), 1);
  json_object_put(o);
}

/* --- The request --------------------------------------------------------- */

START_TEST(test_request_keys_and_round_trip) {
  struct estimator_request rq = request();
  char *text = estimator_request_json(&rq);
  ck_assert_ptr_nonnull(text);
  assert_request(text);
  /* No blanks between tokens: Kepler's server strips each chunk and looks
   * at its last byte. */
  ck_assert_ptr_null(strpbrk(text, "\n\t"));
  ck_assert_ptr_null(strstr(text, ": "));
  ck_assert_ptr_null(strstr(text, ", "));
  ck_assert_int_eq(text[strlen(text) - 1], '}');
  free(text);
}
END_TEST

START_TEST(test_request_strings_escaped) {
  static const char *const odd[] = {"a\"b\\c", "tab\there\nnew}"};
  static const double v[] = {1, 2};
  struct estimator_request rq = {.output_type = "DynPower",
                                 .source = "acpi",
                                 .trainer_name = "SGDRegressorTrainer",
                                 .filter = "{\"bpf\": 1}",
                                 .nmetrics = 2,
                                 .metrics = odd,
                                 .nrows = 1,
                                 .values = v};
  char *text = estimator_request_json(&rq);
  json_object *o = json_tokener_parse(text), *m, *f, *sf;
  ck_assert_ptr_nonnull(o);
  json_object_object_get_ex(o, "metrics", &m);
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(m, 0)),
                   odd[0]);
  ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(m, 1)),
                   odd[1]);
  json_object_object_get_ex(o, "filter", &f);
  ck_assert_str_eq(json_object_get_string(f), "{\"bpf\": 1}");
  json_object_object_get_ex(o, "system_features", &sf);
  ck_assert_int_eq(json_object_array_length(sf), 0);
  json_object_put(o);
  free(text);
}
END_TEST

START_TEST(test_request_non_finite_refused) {
  const double bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    double v[NROWS * NMETRICS];
    memcpy(v, values, sizeof v);
    v[3] = bad[i]; /* row 1, bpf_page_cache_hit */
    struct estimator_request rq = request();
    rq.values = v;
    ck_assert_ptr_null(estimator_request_json(&rq));
    /* The call says which value and never connects (nobody listens). */
    struct result r =
        call_rq("/tmp/test_estimator_nowhere.sock", 200, 4096, &rq);
    assert_error(&r, "request: row 1, metric \"bpf_page_cache_hit\" is ");
    ck_assert_ptr_nonnull(strstr(r.err, "not finite"));
  }
}
END_TEST

/* --- The answer, parsed alone -------------------------------------------- */

static int parse(const char *text, struct result *r) {
  r->core_ratio = -7;
  for (size_t i = 0; i < ARRAY_SIZE(r->watts); i++)
    r->watts[i] = -7;
  r->rc =
      estimator_parse_answer(text, strlen(text), NROWS, r->present, r->watts,
                             &r->core_ratio, r->err, sizeof r->err);
  return r->rc;
}

/* Parsing `text` fails with exactly `want`; the outputs stay untouched. */
static void assert_parse_error(const char *text, const char *want) {
  struct result r;
  ck_assert_msg(parse(text, &r) == -1, "accepted %s", text);
  ck_assert_msg(strcmp(r.err, want) == 0, "%s: error \"%s\", want \"%s\"", text,
                r.err, want);
  ck_assert(r.core_ratio == -7 && r.watts[0] == -7);
}

START_TEST(test_parse_good) {
  struct result r;
  parse(GOOD_ANSWER, &r);
  assert_good_answer(&r);
  /* Blanks after the object are fine; -0 comes out as +0. */
  ck_assert_int_eq(parse("{\"powers\":{\"platform\":[-0,1,2]}}\n ", &r), 0);
  ck_assert(!signbit(r.watts[COMPONENT_PLATFORM * NROWS]));
  ck_assert(r.present[COMPONENT_PLATFORM] && !r.present[COMPONENT_PACKAGE]);
}
END_TEST

START_TEST(test_parse_core_ratio) {
  struct result r;
  ck_assert_int_eq(parse("{\"powers\":{\"core\":[1,2,3]}}", &r), 0);
  ck_assert(r.core_ratio == 1); /* absent */
  ck_assert_int_eq(
      parse("{\"powers\":{\"core\":[1,2,3]},\"core_ratio\":null}", &r), 0);
  ck_assert(r.core_ratio == 1);
  ck_assert_int_eq(
      parse("{\"powers\":{\"core\":[1,2,3]},\"core_ratio\":1}", &r), 0);
  ck_assert(r.core_ratio == 1);
  static const char *const bad[] = {"0",     "-0.5", "\"1\"",
                                    "1e999", "[1]",  "true"};
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    char text[128], want[128];
    snprintf(text, sizeof text,
             "{\"powers\":{\"core\":[1,2,3]},\"core_ratio\":%s}", bad[i]);
    snprintf(want, sizeof want,
             "\"core_ratio\" must be a finite number > 0, got %s", bad[i]);
    assert_parse_error(text, want);
  }
}
END_TEST

/* No control byte of an error message, whatever the sidecar's answer holds:
 * the messages reach collectd's log (issue 14, D2). The reproducers' first
 * byte was the fuzzer's row count; each answer has one row. */
static const char *const injections[] = {
    "estimator-log-injection.json",
    "prop-control_char_in_error-27790-1.bin",
};

START_TEST(test_parse_no_control_bytes) {
  size_t len;
  char *text = read_repro(injections[_i], &len), err[512];
  bool present[COMPONENT_MAX];
  double watts[COMPONENT_MAX], ratio;
  ck_assert_int_eq(estimator_parse_answer(text + 1, len - 1, 1, present, watts,
                                          &ratio, err, sizeof err),
                   -1);
  for (const char *p = err; *p; p++)
    ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "%s", err);
  ck_assert_msg(strstr(err, "component \"") && strstr(err, "\\x"), "%s", err);
  free(text);
  /* A component name from the sidecar is bounded in the message. */
  char big[2000];
  int n = snprintf(big, sizeof big, "{\"powers\":{\"%01500d\":[1,2,3]}}", 0);
  ck_assert_int_eq(estimator_parse_answer(big, (size_t)n, NROWS, present, watts,
                                          &ratio, err, sizeof err),
                   -1);
  ck_assert_uint_lt(strlen(err), 250);
}
END_TEST

START_TEST(test_parse_unknown_component) {
  assert_parse_error("{\"powers\":{\"package\":[1,2,3],\"gpu\":[1,2,3]}}",
                     "component \"gpu\" is not one of package, core, uncore, "
                     "dram, platform");
}
END_TEST

START_TEST(test_parse_row_count) {
  assert_parse_error("{\"powers\":{\"package\":[1,2]}}",
                     "component \"package\" has 2 values for 3 rows");
  assert_parse_error("{\"powers\":{\"package\":[1,2,3,4]}}",
                     "component \"package\" has 4 values for 3 rows");
  assert_parse_error("{\"powers\":{\"dram\":{\"0\":1}}}",
                     "component \"dram\" must be an array, got object");
}
END_TEST

START_TEST(test_parse_bad_values) {
  assert_parse_error("{\"powers\":{\"core\":[1,-0.5,3]}}",
                     "component \"core\" row 1: -0.5 W is negative");
  assert_parse_error("{\"powers\":{\"core\":[1,2,1e999]}}",
                     "component \"core\" row 2: inf is not finite");
  assert_parse_error("{\"powers\":{\"core\":[NaN,2,3]}}",
                     "component \"core\" row 0: nan is not finite");
  assert_parse_error("{\"powers\":{\"core\":[1,\"2\",3]}}",
                     "component \"core\" row 1: string, not a number");
  assert_parse_error("{\"powers\":{\"core\":[1,2,null]}}",
                     "component \"core\" row 2: null, not a number");
  assert_parse_error("{\"powers\":{\"core\":[true,2,3]}}",
                     "component \"core\" row 0: boolean, not a number");
}
END_TEST

START_TEST(test_parse_not_json) {
  assert_parse_error("", "not JSON: unexpected end of the text");
  assert_parse_error("{\"powers\":{\"core\":[1,2",
                     "not JSON: unexpected end of the text");
  assert_parse_error("hello", "not JSON at byte 0: unexpected character");
  assert_parse_error("[1,2,3]", "must be a JSON object, got array");
  assert_parse_error("{\"powers\":{\"core\":[1,2,3]}} x",
                     "trailing bytes after the JSON value (at byte 28)");
  assert_parse_error("{\"powers\":{\"core\":[1,2,3]}}{}",
                     "trailing bytes after the JSON value (at byte 27)");
  /* NUL bytes inside the length are not the end. */
  struct result r;
  ck_assert_int_eq(estimator_parse_answer("{}\0{}", 5, NROWS, r.present,
                                          r.watts, &r.core_ratio, r.err,
                                          sizeof r.err),
                   -1);
  ck_assert_str_eq(r.err, "trailing bytes after the JSON value (at byte 2)");
}
END_TEST

START_TEST(test_parse_refusal) {
  assert_parse_error("{\"powers\":{},\"msg\":\"no model for rapl-sysfs\"}",
                     "refused: \"no model for rapl-sysfs\"");
  assert_parse_error("{\"msg\":\"Traceback:\\n  boom\"}",
                     "refused: \"Traceback:\\x0A  boom\"");
  /* A long message is cut, not the whole log line. */
  char text[1200], want[256];
  snprintf(text, sizeof text, "{\"powers\":{},\"msg\":\"%0900d\"}", 0);
  snprintf(want, sizeof want, "refused: \"%0160d...\"", 0);
  assert_parse_error(text, want);
  assert_parse_error("{\"powers\":{},\"msg\":\"\"}",
                     "no component in \"powers\"");
  assert_parse_error("{\"powers\":{}}", "no component in \"powers\"");
  assert_parse_error("{\"msg\":\"\"}", "no \"powers\"");
  assert_parse_error("{}", "no \"powers\"");
  assert_parse_error("{\"powers\":[1,2,3]}",
                     "\"powers\" must be an object, got array");
  assert_parse_error("{\"powers\":{\"core\":[1,2,3]},\"msg\":7}",
                     "\"msg\" must be a string, got int");
  /* A message beside powers is not a refusal. */
  struct result r;
  ck_assert_int_eq(
      parse("{\"powers\":{\"core\":[1,2,3]},\"msg\":\"fallback\"}", &r), 0);
}
END_TEST

/* --- Whole exchanges ----------------------------------------------------- */

START_TEST(test_call_good) {
  struct server s = {
      .accept = true, .read = READ_KEPLER, .answer = GOOD_ANSWER};
  server_start(&s, 8);
  struct result r = call(s.path, 2000, 4096);
  server_join(&s);
  assert_good_answer(&r);
  ck_assert_ptr_nonnull(s.request);
  assert_request(s.request);
  server_stop(&s);
}
END_TEST

/* The request is shut down after sending: a server reading to EOF works
 * too. */
START_TEST(test_call_server_reads_to_eof) {
  struct server s = {.accept = true, .read = READ_EOF, .answer = GOOD_ANSWER};
  server_start(&s, 8);
  struct result r = call(s.path, 2000, 4096);
  server_join(&s);
  assert_good_answer(&r);
  assert_request(s.request);
  server_stop(&s);
}
END_TEST

/* A complete answer ends the exchange without waiting for the close. */
START_TEST(test_call_answer_without_close) {
  struct server s = {.accept = true,
                     .read = READ_KEPLER,
                     .answer = GOOD_ANSWER,
                     .wait_for_close = true};
  struct result r = serve(s, 2000, 4096);
  assert_good_answer(&r);
  ck_assert_msg(r.ms < 1000, "took %.0f ms", r.ms);
}
END_TEST

START_TEST(test_call_answer_in_pieces) {
  struct server s = {.accept = true,
                     .read = READ_KEPLER,
                     .answer = GOOD_ANSWER,
                     .pieces = 4,
                     .wait_for_close = true};
  struct result r = serve(s, 2000, 4096);
  assert_good_answer(&r);
}
END_TEST

/* The deadline covers the whole exchange: >= timeout, well below + 1 s. */
static void assert_took_timeout(const struct result *r, int timeout_ms) {
  ck_assert_msg(r->ms >= timeout_ms && r->ms < timeout_ms + 1000,
                "took %.0f ms for a %d ms timeout", r->ms, timeout_ms);
}

START_TEST(test_call_silent) {
  struct server s = {
      .accept = true, .read = READ_KEPLER, .wait_for_close = true};
  struct result r = serve(s, 300, 4096);
  assert_error(&r, "no answer within 300 ms");
  assert_took_timeout(&r, 300);
}
END_TEST

/* Connected (queued in the backlog) but never accepted. */
START_TEST(test_call_never_accepted) {
  struct server s = {.accept = false};
  struct result r = serve(s, 300, 4096);
  assert_error(&r, "no answer within 300 ms");
  assert_took_timeout(&r, 300);
}
END_TEST

/* A full backlog: a non-blocking unix connect says EAGAIN; retried until
 * the deadline. */
START_TEST(test_call_backlog_full) {
  struct server s = {.accept = false};
  server_start(&s, 0);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  memcpy(addr.sun_path, s.path, strlen(s.path) + 1);
  int filler = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_eq(connect(filler, (struct sockaddr *)&addr, sizeof addr), 0);
  struct result r = call(s.path, 300, 4096);
  close(filler);
  server_stop(&s);
  assert_error(&r, "connect: no connection within 300 ms");
  assert_took_timeout(&r, 300);
}
END_TEST

/* Half an answer, then silence. */
START_TEST(test_call_partial_answer) {
  struct server s = {.accept = true,
                     .read = READ_KEPLER,
                     .answer = "{\"powers\": {\"core\": [1,",
                     .wait_for_close = true};
  struct result r = serve(s, 300, 4096);
  assert_error(&r, "no complete answer within 300 ms (23 bytes received)");
  assert_took_timeout(&r, 300);
}
END_TEST

START_TEST(test_call_truncated_answer) {
  struct result r = exchange("{\"powers\": {\"core\": [1,");
  assert_error(&r, "answer: not JSON: unexpected end of the text");
}
END_TEST

START_TEST(test_call_garbage) {
  struct result r = exchange("HTTP/1.1 400 Bad Request\r\n\r\n");
  assert_error(&r, "answer: not JSON at byte 0: unexpected character");
}
END_TEST

START_TEST(test_call_unknown_component) {
  struct result r =
      exchange("{\"powers\": {\"gpu\": [1, 2, 3]}, \"msg\": \"\"}");
  assert_error(&r, "answer: component \"gpu\" is not one of package, core, "
                   "uncore, dram, platform");
}
END_TEST

START_TEST(test_call_wrong_rows) {
  struct result r = exchange("{\"powers\": {\"package\": [1, 2]}}");
  assert_error(&r, "answer: component \"package\" has 2 values for 3 rows");
}
END_TEST

START_TEST(test_call_bad_numbers) {
  struct result r = exchange("{\"powers\": {\"package\": [1, -2, 3]}}");
  assert_error(&r, "answer: component \"package\" row 1: -2 W is negative");
  r = exchange("{\"powers\": {\"package\": [1e999, 2, 3]}}");
  assert_error(&r, "answer: component \"package\" row 0: inf is not finite");
}
END_TEST

START_TEST(test_call_oversized) {
  /* A valid answer, padded with blanks past the limit. */
  size_t len = 10000;
  char *big = malloc(len + 1);
  memset(big, ' ', len);
  big[len] = '\0';
  memcpy(big, GOOD_ANSWER, strlen(GOOD_ANSWER) - 1);
  big[len - 1] = '}';
  struct result r = exchange(big);
  assert_error(&r, "answer over 4096 bytes");
  /* The same exactly at the limit is fine. */
  struct server s = {.accept = true, .read = READ_KEPLER, .answer = big};
  r = serve(s, 2000, len);
  assert_good_answer(&r);
  free(big);
}
END_TEST

START_TEST(test_call_trailing_garbage) {
  struct result r = exchange(GOOD_ANSWER "garbage");
  assert_error(&r, "answer: trailing bytes after the JSON value (at byte ");
}
END_TEST

START_TEST(test_call_closed_without_answer) {
  struct result r = exchange(NULL);
  assert_error(&r, "closed the connection without answering");
}
END_TEST

/* The peer closes while the request is being sent: an error, not a
 * SIGPIPE (left at its default, which would end this process). */
START_TEST(test_call_closed_while_sending) {
  enum { ROWS = 5000, COLS = 10 };
  static const char *const names[COLS] = {"a", "b", "c", "d", "e",
                                          "f", "g", "h", "i", "j"};
  double *v = malloc(sizeof *v * ROWS * COLS);
  for (size_t i = 0; i < ROWS * COLS; i++)
    v[i] = i / 3.0;
  struct estimator_request rq = request();
  rq.nmetrics = COLS;
  rq.metrics = names;
  rq.nrows = ROWS;
  rq.values = v;
  signal(SIGPIPE, SIG_DFL);
  struct server s = {.accept = true, .read = READ_NONE};
  server_start(&s, 8);
  struct result r = call_rq(s.path, 2000, 4096, &rq);
  server_stop(&s);
  free(v);
  assert_error(&r, "send: ");
}
END_TEST

START_TEST(test_call_nobody_listening) {
  char path[108];
  fresh_path(path, sizeof path);
  struct result r = call(path, 300, 4096);
  assert_error(&r, "connect: No such file or directory");
  /* The socket file is there, its listener gone. */
  struct server s = {.accept = false};
  server_start(&s, 8);
  server_join(&s);
  close(s.lfd);
  s.lfd = -1;
  r = call(s.path, 300, 4096);
  server_stop(&s);
  assert_error(&r, "connect: Connection refused");
  ck_assert(r.ms < 300);
}
END_TEST

START_TEST(test_call_refusal) {
  struct result r =
      exchange("{\"powers\": {}, \"msg\": \"no model for DynPower\"}");
  assert_error(&r, "answer: refused: \"no model for DynPower\"");
}
END_TEST

START_TEST(test_call_core_ratio) {
  struct result r = exchange("{\"powers\": {\"core\": [1, 2, 3]}}");
  ck_assert_msg(r.rc == 0, "%s", r.err);
  ck_assert(r.core_ratio == 1);
  ck_assert(r.present[COMPONENT_CORE] && r.watts[COMPONENT_CORE * NROWS] == 1);
  r = exchange("{\"powers\": {\"core\": [1, 2, 3]}, \"core_ratio\": -1}");
  assert_error(&r, "answer: \"core_ratio\" must be a finite number > 0, "
                   "got -1");
}
END_TEST

START_TEST(test_call_bad_options) {
  char path[200];
  memset(path, 'x', sizeof path - 1);
  path[0] = '/';
  path[sizeof path - 1] = '\0';
  struct result r = call(path, 300, 4096);
  ck_assert_int_eq(r.rc, -1);
  ck_assert_msg(strstr(r.err, "socket path is 199 bytes, longer than the 107 "
                              "a unix socket allows") != NULL,
                "%s", r.err);
  ck_assert_int_eq(strncmp(r.err, "estimator /xxx", 14), 0);
  r = call("/tmp/test_estimator_nowhere.sock", 0, 4096);
  ck_assert_int_eq(r.rc, -1);
  ck_assert_ptr_nonnull(strstr(r.err, "must be positive"));
  r = call("", 300, 4096);
  ck_assert_str_eq(r.err, "estimator : no socket path");
}
END_TEST

static Suite *estimator_client_suite(void) {
  Suite *s = suite_create("estimator_client");
  TCase *pure = tcase_create("json");
  tcase_add_test(pure, test_request_keys_and_round_trip);
  tcase_add_test(pure, test_request_strings_escaped);
  tcase_add_test(pure, test_request_non_finite_refused);
  tcase_add_test(pure, test_parse_good);
  tcase_add_test(pure, test_parse_core_ratio);
  tcase_add_test(pure, test_parse_unknown_component);
  tcase_add_test(pure, test_parse_row_count);
  tcase_add_test(pure, test_parse_bad_values);
  tcase_add_test(pure, test_parse_not_json);
  tcase_add_test(pure, test_parse_refusal);
  tcase_add_loop_test(pure, test_parse_no_control_bytes, 0,
                      (int)ARRAY_SIZE(injections));
  suite_add_tcase(s, pure);

  TCase *net = tcase_create("socket");
  /* Unchecked: made and removed by the runner itself, even when a forked
   * test dies. */
  tcase_add_unchecked_fixture(net, make_base_dir, remove_base_dir);
  tcase_set_timeout(net, 10); /* valgrind is slow; each test is bounded */
  tcase_add_test(net, test_call_good);
  tcase_add_test(net, test_call_server_reads_to_eof);
  tcase_add_test(net, test_call_answer_without_close);
  tcase_add_test(net, test_call_answer_in_pieces);
  tcase_add_test(net, test_call_silent);
  tcase_add_test(net, test_call_never_accepted);
  tcase_add_test(net, test_call_backlog_full);
  tcase_add_test(net, test_call_partial_answer);
  tcase_add_test(net, test_call_truncated_answer);
  tcase_add_test(net, test_call_garbage);
  tcase_add_test(net, test_call_unknown_component);
  tcase_add_test(net, test_call_wrong_rows);
  tcase_add_test(net, test_call_bad_numbers);
  tcase_add_test(net, test_call_oversized);
  tcase_add_test(net, test_call_trailing_garbage);
  tcase_add_test(net, test_call_closed_without_answer);
  tcase_add_test(net, test_call_closed_while_sending);
  tcase_add_test(net, test_call_nobody_listening);
  tcase_add_test(net, test_call_refusal);
  tcase_add_test(net, test_call_core_ratio);
  tcase_add_test(net, test_call_bad_options);
  suite_add_tcase(s, net);
  return s;
}

int main(void) {
  return run_suite(estimator_client_suite());
}
