// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/estimate/power_source.c: the model it loads (a
 * ModelFile, or the embedded default when that cannot be used), the meter
 * where sysfs has one and the model where not, and online training on the
 * meter written every trained_model_every intervals. Meters read real files
 * laid out like sysfs in a temp dir. */
#include "power_source.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "testutil.h"

#define SEC 1000000000ull
#define PKG "class/powercap/intel-rapl:0/"

static char root[64];
static char logged[16][512];
static int logged_level[16], nlogged;

static void capture_log(int level, const char *message) {
  if (nlogged < 16) {
    logged_level[nlogged] = level;
    snprintf(logged[nlogged], sizeof logged[0], "%s", message);
  }
  nlogged++;
}

/* Messages logged at level containing needle. */
static int log_count(int level, const char *needle) {
  int n = 0;
  for (int i = 0; i < nlogged && i < 16; i++)
    n += logged_level[i] == level && strstr(logged[i], needle);
  return n;
}

/* root/rel with the text given (parents created). */
static void put(const char *rel, const char *text) {
  char path[256], cmd[320];
  snprintf(path, sizeof path, "%s/%s", root, rel);
  snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
  ck_assert_int_eq(system(cmd), 0);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

static void put_energy(unsigned long long uj) {
  char text[32];
  snprintf(text, sizeof text, "%llu\n", uj);
  put(PKG "energy_uj", text);
}

static struct power_source *ps;
static struct power_source_options opt;
static struct machine_spec spec = {
    .cores = 4, .threads = 8, .chips = 1, .memory_gb = 16, .mhz = 2400};
static bool cpu_time_only[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = true};

static void setup(void) {
  snprintf(root, sizeof root, "/tmp/kepler_power_source_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(root));
  nlogged = 0;
  kepler_log_set(capture_log);
  ps = NULL;
  opt = (struct power_source_options){
      .sysfs_root = root,
      .meter = METER_AUTO,
      .model_source = "rapl-sysfs",
      .trained_model_every = 1,
  };
}

static void teardown(void) {
  power_source_close(ps);
  kepler_log_set(NULL);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
  ck_assert_int_eq(system(cmd), 0);
}

static void open_source(void) {
  char err[512] = "";
  ck_assert_msg(power_source_open(&opt, &spec, SEC, &ps, err, sizeof err) == 0,
                "%s", err);
  ck_assert_msg(power_source_start(ps, cpu_time_only, err, sizeof err) == 0,
                "%s", err);
}

START_TEST(test_model_where_no_meter) {
  open_source();
  ck_assert(!power_source_has_meter(ps));
  ck_assert_str_eq(model_name(power_source_model(ps)), "default-specpower-v2");
  power_source_announce(ps);
  ck_assert_int_eq(log_count(KLOG_INFO, "node power source: model"), 1);
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 2000};
  struct power_reading r;
  ck_assert(!power_source_next_interval(ps)); /* no model server */
  power_source_read(ps, 2 * SEC, x, 0.25, &r);
  ck_assert_str_eq(r.source, "model");
  ck_assert(r.node.total > 0);
  ck_assert(!r.fit_present[COMPONENT_PACKAGE]);
}
END_TEST

START_TEST(test_unusable_model_file) {
  opt.model_file = "/nonexistent/model.yaml";
  open_source();
  ck_assert_str_eq(model_name(power_source_model(ps)), "default-specpower-v2");
  ck_assert_int_eq(log_count(KLOG_ERR, "using the embedded default model"), 1);
}
END_TEST

static void rapl_tree(unsigned long long uj) {
  put(PKG "name", "package-0\n");
  put(PKG "max_energy_range_uj", "262143328850\n");
  put_energy(uj);
}

/* Whether path exists within about `ms` milliseconds: the trained model is
 * written on the writer's thread. */
static bool appears(const char *path, int ms) {
  struct stat st;
  for (int waited = 0; stat(path, &st) != 0; waited += 5) {
    if (waited >= ms)
      return false;
    usleep(5000);
  }
  return true;
}

/* Interval i of a run on RAPL: package energy grows 10 W + 20 W per CPU of
 * CPU time. */
static void rapl_interval(int i, unsigned long long *uj,
                          struct power_reading *r) {
  double cpus = (i % 5) * 0.5;
  *uj += (unsigned long long)((10 + 20 * cpus) * 1e6);
  put_energy(*uj);
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = cpus * 1000};
  power_source_next_interval(ps);
  power_source_read(ps, (uint64_t)(1 + i) * SEC, x, cpus / 8, r);
  ck_assert_str_eq(r->source, "rapl");
  ck_assert_close(r->node.absolute[COMPONENT_PACKAGE], 10 + 20 * cpus);
}

/* Trained every 4 intervals: the fit is written once it has enough pairs,
 * on every 4th interval only, with the name it was given. */
START_TEST(test_meter_and_training) {
  char trained[128];
  snprintf(trained, sizeof trained, "%s/LinearRegressionTrainer_7.json", root);
  opt.trained_model_file = trained;
  opt.trained_model_name = "LinearRegressionTrainer_7";
  opt.trained_model_every = 4;
  unsigned long long uj = 1000000;
  rapl_tree(uj);
  open_source();
  ck_assert(power_source_has_meter(ps));
  struct power_reading r;
  int first_written = 0;
  for (int i = 1; i <= 40; i++) {
    rapl_interval(i, &uj, &r);
    if (first_written)
      continue;
    if (i % 4 == 0 && appears(trained, 2000))
      first_written = i;
    else
      ck_assert_msg(!appears(trained, 20), "written at interval %d", i);
  }
  ck_assert_msg(first_written > 0, "the trained model was never written");
  ck_assert(r.fit_present[COMPONENT_PACKAGE]);
  ck_assert(r.fit_mae_w[COMPONENT_PACKAGE] < 1);
  power_source_close(ps); /* waits for the last write */
  ps = NULL;
  FILE *f = fopen(trained, "r");
  ck_assert_ptr_nonnull(f);
  char text[4096];
  size_t n = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[n] = '\0';
  ck_assert_msg(strstr(text, "LinearRegressionTrainer_7"), "%s", text);
  ck_assert_int_eq(log_count(KLOG_WARNING, "TrainedModelFile"), 0);
}
END_TEST

/* A trained model that cannot be written: one WARNING (at the interval
 * after the write, which runs on the writer's thread), not one per write;
 * a NOTICE once it is written again. */
START_TEST(test_training_write_failure) {
  char dir[96], trained[160];
  snprintf(dir, sizeof dir, "%s/missing", root);
  snprintf(trained, sizeof trained, "%s/LinearRegressionTrainer_0.json", dir);
  opt.trained_model_file = trained;
  opt.trained_model_name = "LinearRegressionTrainer_0";
  opt.trained_model_every = 1;
  unsigned long long uj = 1000000;
  rapl_tree(uj);
  open_source();
  struct power_reading r;
  for (int i = 1; i <= 20; i++) {
    rapl_interval(i, &uj, &r);
    usleep(20000); /* let the writer try */
  }
  ck_assert_int_eq(log_count(KLOG_WARNING, "TrainedModelFile"), 1);
  ck_assert_int_eq(mkdir(dir, 0755), 0);
  for (int i = 21; i <= 23; i++) {
    rapl_interval(i, &uj, &r);
    usleep(20000);
  }
  ck_assert(appears(trained, 2000));
  ck_assert_int_eq(log_count(KLOG_NOTICE, "written again"), 1);
  ck_assert_int_eq(log_count(KLOG_WARNING, "TrainedModelFile"), 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("power_source");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_model_where_no_meter);
  tcase_add_test(tc, test_unusable_model_file);
  tcase_add_test(tc, test_meter_and_training);
  tcase_add_test(tc, test_training_write_failure);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
