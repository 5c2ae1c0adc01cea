// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/core/options.c: option values the core checks
 * itself rather than trusting a front end's checks. */
#include "options.h"
#include "pipeline.h"

#include <check.h>
#include <ctype.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

static char err[256];

START_TEST(test_report_modes) {
  struct report_policy p;
  ck_assert_int_eq(option_report_policy("all", false, NAN, &p, err, sizeof err),
                   0);
  ck_assert_int_eq(p.mode, REPORT_ALL);
  ck_assert_int_eq(
      option_report_policy("None", false, NAN, &p, err, sizeof err), 0);
  ck_assert_int_eq(p.mode, REPORT_NONE);
  ck_assert_int_eq(option_report_policy("TOP", true, 10, &p, err, sizeof err),
                   0);
  ck_assert_int_eq(p.mode, REPORT_TOP);
  ck_assert_uint_eq(p.top, 10);
  ck_assert_int_eq(
      option_report_policy("above", true, 0.5, &p, err, sizeof err), 0);
  ck_assert_int_eq(p.mode, REPORT_ABOVE);
  ck_assert_close(p.above_w, 0.5);
  /* The largest top an unsigned holds is a whole number too. */
  ck_assert_int_eq(
      option_report_policy("top", true, 4294967295.0, &p, err, sizeof err), 0);
  ck_assert_uint_eq(p.top, 4294967295u);
}
END_TEST

/* "top" with a number that is not a whole number from 1 to UINT_MAX. The
 * glue compared v == (unsigned)v, whose conversion is undefined for
 * v >= 2^32 (C11 6.3.1.4); these are refused before any conversion. */
static const double bad_top[] = {
    0, 0.5, 2.5, -1, 4294967296.0, 4294967301.0, 1e300, INFINITY, NAN};

START_TEST(test_report_top_out_of_range) {
  struct report_policy p = {REPORT_ALL, 7, 0};
  ck_assert_int_eq(
      option_report_policy("top", true, bad_top[_i], &p, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "top takes a whole number"), "%s", err);
  ck_assert_int_eq(p.mode, REPORT_ALL); /* untouched */
  ck_assert_uint_eq(p.top, 7);
}
END_TEST

START_TEST(test_report_words) {
  struct report_policy p;
  ck_assert_int_eq(
      option_report_policy("some", false, NAN, &p, err, sizeof err), -1);
  ck_assert_int_eq(option_report_policy("top", false, NAN, &p, err, sizeof err),
                   -1);
  ck_assert_int_eq(option_report_policy("all", true, 3, &p, err, sizeof err),
                   -1);
  ck_assert_int_eq(option_report_policy("above", true, -1, &p, err, sizeof err),
                   -1);
  ck_assert_int_eq(
      option_report_policy("above", true, NAN, &p, err, sizeof err), -1);
}
END_TEST

START_TEST(test_trained_model_name) {
  char name[TRAINED_MODEL_NAME_LEN];
  ck_assert_int_eq(option_trained_model_name(
                       "/var/lib/collectd/LinearRegressionTrainer_3.json", name,
                       sizeof name, err, sizeof err),
                   0);
  ck_assert_str_eq(name, "LinearRegressionTrainer_3");
  ck_assert_int_eq(option_trained_model_name("LinearRegressionTrainer.json",
                                             name, sizeof name, err,
                                             sizeof err),
                   0);
  ck_assert_str_eq(name, "LinearRegressionTrainer");
  /* A name too long for the buffer is refused, not cut. */
  char small[8];
  ck_assert_int_eq(option_trained_model_name("LinearRegressionTrainer_0.json",
                                             small, sizeof small, err,
                                             sizeof err),
                   -1);
}
END_TEST

/* Names the glue refuses; strlen(base) - 5 on the shortest of them was a
 * huge size_t made int. */
static const char *const bad_trained[] = {
    "/var/lib/collectd/trained.json",
    "",
    "/",
    ".json",
    "LinearRegressionTrainer_0",
    "LinearRegressionTrainer_0.jso",
    "/m/DynPower/x/LinearRegressionTrainer_0.json",
};

START_TEST(test_trained_model_name_refused) {
  char name[TRAINED_MODEL_NAME_LEN] = "unchanged";
  ck_assert_int_eq(option_trained_model_name(bad_trained[_i], name, sizeof name,
                                             err, sizeof err),
                   -1);
  ck_assert_msg(strstr(err, "LinearRegressionTrainer_<n>.json"), "%s", err);
  ck_assert_str_eq(name, "unchanged");
}
END_TEST

/* kepler_core_open checks what it relies on itself: a front end that let
 * TrainedModelInterval 0 through made the core divide by zero, one that let
 * a short TrainedModelFile through made it cut a name at strlen - 5. */
START_TEST(test_core_refuses_unchecked_options) {
  struct kepler_options o = {
      .power = {.trained_model_file = "/tmp/LinearRegressionTrainer_0.json",
                .trained_model_every = 0},
  };
  struct kepler_core *k = NULL;
  ck_assert_int_eq(kepler_options_check(&o, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "TrainedModelInterval must be 1 or more"), "%s",
                err);
  ck_assert_int_eq(kepler_core_open(&o, &k, err, sizeof err), -1);
  ck_assert_ptr_null(k);
  o.power.trained_model_every = 1;
  ck_assert_int_eq(kepler_options_check(&o, err, sizeof err), 0);
  o.power.trained_model_file = "x";
  ck_assert_int_eq(kepler_core_open(&o, &k, err, sizeof err), -1);
  ck_assert_msg(strstr(err, "TrainedModelFile \"x\""), "%s", err);
  ck_assert_ptr_null(k);
  /* No training: the interval is not used. */
  o.power.trained_model_file = NULL;
  o.power.trained_model_every = 0;
  ck_assert_int_eq(kepler_options_check(&o, err, sizeof err), 0);
}
END_TEST

/* collectd matches option names in any case, and users write values the
 * same way: Report "Pod", UsageMetric "DRAM" "Cache_Miss". These three
 * lookups were exact. */
START_TEST(test_names_in_any_case) {
  ck_assert_int_eq(option_level("pod"), LEVEL_POD);
  ck_assert_int_eq(option_level("Pod"), LEVEL_POD);
  ck_assert_int_eq(option_level("CONTAINER"), LEVEL_CONTAINER);
  ck_assert_int_eq(option_level("VM"), LEVEL_VM);
  ck_assert_int_eq(option_level("pods"), -1);
  ck_assert_int_eq(option_level(""), -1);
  ck_assert_int_eq(option_component("DRAM"), COMPONENT_DRAM);
  ck_assert_int_eq(option_component("Package"), COMPONENT_PACKAGE);
  ck_assert_int_eq(option_component("packge"), -1);
  ck_assert_int_eq(option_feature("Cache_Miss"), FEATURE_CACHE_MISS);
  ck_assert_int_eq(option_feature("BPF_CPU_TIME_MS"), FEATURE_CPU_TIME_MS);
  ck_assert_int_eq(option_feature("cache"), -1);
  /* Every name is found as written and upper-cased. */
  for (int l = 0; l < LEVEL_MAX; l++)
    ck_assert_int_eq(option_level(level_name(l)), l);
  for (int c = 0; c < COMPONENT_MAX; c++)
    ck_assert_int_eq(option_component(component_name(c)), c);
  for (int f = 0; f < FEATURE_MAX; f++) {
    char upper[64];
    const char *n = feature_name(f);
    size_t i = 0;
    for (; n[i] && i + 1 < sizeof upper; i++)
      upper[i] = (char)toupper((unsigned char)n[i]);
    upper[i] = '\0';
    ck_assert_int_eq(option_feature(n), f);
    ck_assert_int_eq(option_feature(upper), f);
  }
  /* Model files keep exact names. */
  ck_assert_int_eq(component_by_name("DRAM"), -1);
}
END_TEST

/* Integer options from the number itself (issue 14, D6): collectd's
 * cf_util_get_int truncated 100.7 to 100 and wrapped 10000000000 to
 * -2147483648 before any check. */
static const struct {
  double value;
  const char *msg; /* NULL: accepted */
} integers[] = {
    {0, NULL},
    {100, NULL},
    {4294967295.0, NULL},
    {100.7, "TopProcesses takes a whole number from 0 to 4294967295, not "
            "100.7"},
    {10000000000.0, "TopProcesses takes a whole number from 0 to 4294967295, "
                    "not 10000000000"},
    {-1, "TopProcesses takes a whole number from 0 to 4294967295, not -1"},
    {1e300, "TopProcesses takes a whole number from 0 to 4294967295, not "
            "1e+300"},
    {NAN, "TopProcesses takes a whole number from 0 to 4294967295, not nan"},
};

START_TEST(test_integer) {
  long long n = 7;
  int rc = option_integer("TopProcesses", integers[_i].value, 0, 4294967295LL,
                          &n, err, sizeof err);
  if (!integers[_i].msg) {
    ck_assert_int_eq(rc, 0);
    ck_assert(n == integers[_i].value);
  } else {
    ck_assert_int_eq(rc, -1);
    ck_assert_str_eq(err, integers[_i].msg);
    ck_assert_int_eq(n, 7); /* untouched */
  }
}
END_TEST

START_TEST(test_root) {
  ck_assert_int_eq(option_root("SysfsRoot", "/", err, sizeof err), 0);
  ck_assert_int_eq(option_root("SysfsRoot", "/nonexistent", err, sizeof err),
                   -1);
  ck_assert_str_eq(err,
                   "SysfsRoot \"/nonexistent\": No such file or directory");
  char path[] = "/tmp/test_options_XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  ck_assert_int_eq(option_root("RuntimeRoot", path, err, sizeof err), -1);
  unlink(path);
  ck_assert_ptr_nonnull(strstr(err, "is not a directory"));
  ck_assert_ptr_nonnull(strstr(err, path));
}
END_TEST

int main(void) {
  Suite *s = suite_create("options");
  TCase *tc = tcase_create("report");
  tcase_add_test(tc, test_report_modes);
  tcase_add_loop_test(tc, test_report_top_out_of_range, 0,
                      (int)ARRAY_SIZE(bad_top));
  tcase_add_test(tc, test_report_words);
  suite_add_tcase(s, tc);
  tc = tcase_create("numbers");
  tcase_add_loop_test(tc, test_integer, 0, (int)ARRAY_SIZE(integers));
  tcase_add_test(tc, test_root);
  suite_add_tcase(s, tc);
  tc = tcase_create("names");
  tcase_add_test(tc, test_names_in_any_case);
  suite_add_tcase(s, tc);
  tc = tcase_create("training");
  tcase_add_test(tc, test_trained_model_name);
  tcase_add_loop_test(tc, test_trained_model_name_refused, 0,
                      (int)ARRAY_SIZE(bad_trained));
  tcase_add_test(tc, test_core_refuses_unchecked_options);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
