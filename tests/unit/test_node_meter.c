// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/node_meter.c: which meters are opened, how their
 * components combine (ACPI or a collectd value give the platform, replacing
 * RAPL's psys), how a dropped interval is held and when the model takes
 * over. The meters read real files laid out like sysfs in a temp dir. */
#include "node_meter.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define SEC 1000000000ull

static char root[64];

static void put(const char *rel, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(const char *rel, const char *fmt, ...) {
  char path[512], cmd[600];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
  ck_assert_int_eq(system(cmd), 0);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fclose(f);
}

static void drop(const char *rel) {
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  ck_assert_int_eq(unlink(path), 0);
}

static void setup(void) {
  snprintf(root, sizeof(root), "/tmp/kepler_node_meter_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  ck_assert_int_eq(system(cmd), 0);
}

#define PKG "class/powercap/intel-rapl:0/"
#define PSYS "class/powercap/intel-rapl:1/"
#define ACPI "class/hwmon/hwmon4/"

static void rapl_package(unsigned long long uj) {
  put(PKG "name", "package-0\n");
  put(PKG "max_energy_range_uj", "262143328850\n");
  put(PKG "energy_uj", "%llu\n", uj);
}

static struct node_meter *open_meter(enum meter_choice choice, bool external,
                                     uint64_t t) {
  struct node_meter_options o = {root, choice, external};
  struct node_meter *m = NULL;
  char err[512] = "";
  ck_assert_msg(node_meter_open(&o, t, &m, err, sizeof(err)) == 0, "%s", err);
  return m;
}

START_TEST(test_no_meter) {
  ck_assert_ptr_null(open_meter(METER_AUTO, false, SEC));
}
END_TEST

START_TEST(test_asked_for_but_absent) {
  static const enum meter_choice asked[] = {METER_RAPL, METER_ACPI};
  static const char *const names[] = {"\"rapl\"", "\"acpi\""};
  for (size_t i = 0; i < ARRAY_SIZE(asked); i++) {
    struct node_meter_options o = {root, asked[i], false};
    struct node_meter *m = (void *)1;
    char err[512] = "";
    ck_assert_int_eq(node_meter_open(&o, SEC, &m, err, sizeof(err)), -1);
    ck_assert_msg(strstr(err, names[i]) && strstr(err, "none"), "%s", err);
  }
}
END_TEST

START_TEST(test_none_ignores_hardware) {
  rapl_package(1000);
  ck_assert_ptr_null(open_meter(METER_NONE, false, SEC));
}
END_TEST

START_TEST(test_rapl_power_and_idle) {
  rapl_package(1000000);
  struct node_meter *m = open_meter(METER_AUTO, false, SEC);
  ck_assert_ptr_nonnull(m);
  ck_assert_str_eq(node_meter_name(m), "rapl");
  put(PKG "energy_uj", "%llu\n", 1000000ull + 50000000ull); /* 50 J */
  struct node_power p;
  ck_assert_int_eq(node_meter_read(m, 2 * SEC, NAN, 0.5, &p), 0);
  ck_assert(p.present[COMPONENT_PACKAGE]);
  ck_assert(!p.present[COMPONENT_DRAM] && !p.present[COMPONENT_PLATFORM]);
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 50);
  ck_assert_close(p.total, 50);
  /* One sample: idle is the lowest power seen, so all of it. */
  ck_assert_close(p.idle[COMPONENT_PACKAGE], 50);
  ck_assert_close(p.total_idle + p.total_dynamic, p.total);
  put(PKG "energy_uj", "%llu\n", 1000000ull + 50000000ull + 80000000ull);
  ck_assert_int_eq(node_meter_read(m, 3 * SEC, NAN, 0.9, &p), 0);
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 80);
  ck_assert(p.idle[COMPONENT_PACKAGE] <= 50);
  ck_assert_close(p.dynamic[COMPONENT_PACKAGE], 80 - p.idle[COMPONENT_PACKAGE]);
  ck_assert_uint_eq(node_meter_dropped(m), 0);
  node_meter_close(m);
}
END_TEST

/* A vanished counter holds the last good value for 3 intervals; then the
 * caller is told to use the model; the meter comes back with the file. */
START_TEST(test_hold_then_model_then_back) {
  rapl_package(0);
  struct node_meter *m = open_meter(METER_AUTO, false, SEC);
  put(PKG "energy_uj", "%llu\n", 40000000ull);
  struct node_power p;
  ck_assert_int_eq(node_meter_read(m, 2 * SEC, NAN, 0.1, &p), 0);
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 40);
  drop(PKG "energy_uj");
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(node_meter_read(m, (3 + i) * SEC, NAN, 0.1, &p), 0);
    ck_assert_close(p.absolute[COMPONENT_PACKAGE], 40);
  }
  ck_assert_int_eq(node_meter_read(m, 6 * SEC, NAN, 0.1, &p), -1);
  ck_assert_uint_ge(node_meter_dropped(m), 4);
  int rc = -1;
  unsigned long long e = 40000000ull;
  for (int i = 0; i < 3 && rc != 0; i++) {
    e += 40000000ull;
    put(PKG "energy_uj", "%llu\n", e);
    rc = node_meter_read(m, (7 + i) * SEC, NAN, 0.1, &p);
  }
  ck_assert_int_eq(rc, 0);
  ck_assert(p.absolute[COMPONENT_PACKAGE] > 0 &&
            p.absolute[COMPONENT_PACKAGE] < 1000);
  node_meter_close(m);
}
END_TEST

/* ACPI is the wall power: it gives the platform, not RAPL's psys. */
START_TEST(test_acpi_platform_over_psys) {
  rapl_package(0);
  put(PSYS "name", "psys\n");
  put(PSYS "max_energy_range_uj", "262143328850\n");
  put(PSYS "energy_uj", "0\n");
  put(ACPI "name", "power_meter-acpi\n");
  put(ACPI "power1_average", "200000000\n"); /* µW */
  put(ACPI "power1_average_interval", "1000\n");
  struct node_meter *m = open_meter(METER_AUTO, false, SEC);
  ck_assert_str_eq(node_meter_name(m), "rapl+acpi");
  put(PKG "energy_uj", "%llu\n", 60000000ull);
  put(PSYS "energy_uj", "%llu\n", 90000000ull);
  struct node_power p;
  ck_assert_int_eq(node_meter_read(m, 2 * SEC, NAN, 0.3, &p), 0);
  ck_assert_close(p.absolute[COMPONENT_PACKAGE], 60);
  ck_assert_close(p.absolute[COMPONENT_PLATFORM], 200);
  ck_assert_close(p.total, 200);
  node_meter_close(m);
}
END_TEST

START_TEST(test_external_platform) {
  put(ACPI "name", "power_meter-acpi\n");
  put(ACPI "power1_average", "200000000\n");
  struct node_meter *m = open_meter(METER_AUTO, true, SEC);
  ck_assert_str_eq(node_meter_name(m), "collectd"); /* ACPI not used */
  struct node_power p;
  /* Nothing from collectd yet: the model gives this interval. */
  ck_assert_int_eq(node_meter_read(m, 2 * SEC, NAN, 0.3, &p), -1);
  ck_assert_int_eq(node_meter_read(m, 3 * SEC, 151.5, 0.3, &p), 0);
  ck_assert_close(p.absolute[COMPONENT_PLATFORM], 151.5);
  ck_assert_close(p.total, 151.5);
  /* A negative or non-finite value is not a measurement. */
  ck_assert_int_eq(node_meter_read(m, 4 * SEC, -3, 0.3, &p), 0);
  ck_assert_close(p.absolute[COMPONENT_PLATFORM], 151.5);
  node_meter_close(m);
}
END_TEST

int main(void) {
  Suite *s = suite_create("node_meter");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_no_meter);
  tcase_add_test(tc, test_asked_for_but_absent);
  tcase_add_test(tc, test_none_ignores_hardware);
  tcase_add_test(tc, test_rapl_power_and_idle);
  tcase_add_test(tc, test_hold_then_model_then_back);
  tcase_add_test(tc, test_acpi_platform_over_psys);
  tcase_add_test(tc, test_external_platform);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
