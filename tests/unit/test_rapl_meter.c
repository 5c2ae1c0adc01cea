// SPDX-License-Identifier: GPL-2.0-only
/* rapl_meter: powercap zones laid out as real files in a temp dir. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_sysfs.h"
#include "file_read.h"
#include "rapl_meter.h"
#include "testutil.h"

#define SEC 1000000000ULL
#define T0 (1000 * SEC)
/* A typical max_energy_range_uj: 2^32 counts of 61.035 µJ. */
#define RANGE 262143328850ULL

#define PKG0 "class/powercap/intel-rapl:0"
#define PKG1 "class/powercap/intel-rapl:1"

/* A zone directory with its name, counter and (range > 0) counter range. */
static void zone(const char *dir, const char *name, uint64_t uj,
                 uint64_t range) {
  char rel[256];
  snprintf(rel, sizeof(rel), "%s/name", dir);
  fake_write(rel, "%s\n", name);
  snprintf(rel, sizeof(rel), "%s/energy_uj", dir);
  fake_write(rel, "%" PRIu64 "\n", uj);
  if (range) {
    snprintf(rel, sizeof(rel), "%s/max_energy_range_uj", dir);
    fake_write(rel, "%" PRIu64 "\n", range);
  }
}

static void set_energy(const char *dir, uint64_t uj) {
  char rel[256];
  snprintf(rel, sizeof(rel), "%s/energy_uj", dir);
  fake_write(rel, "%" PRIu64 "\n", uj);
}

static struct rapl_meter *open_ok(void) {
  struct rapl_meter *m = NULL;
  char why[512] = "";
  int rc = rapl_meter_open(fake_root, &m, why, sizeof(why));
  ck_assert_msg(rc == 0, "open: %d %s", rc, why);
  return m;
}

static const char *energy_path(const char *dir) {
  static char path[512];
  snprintf(path, sizeof(path), "%s/%s/energy_uj", fake_root, dir);
  return path;
}

START_TEST(test_sums_packages_and_subzones) {
  static const struct {
    const char *dir, *name;
    enum kepler_component c;
    uint64_t before, after;
  } zones[] = {
      {PKG0, "package-0", COMPONENT_PACKAGE, 123456789012, 123520000123},
      {PKG0 "/intel-rapl:0:0", "core", COMPONENT_CORE, 98765432109,
       98800000001},
      {PKG0 "/intel-rapl:0:1", "uncore", COMPONENT_UNCORE, 5555555, 6000017},
      {PKG0 "/intel-rapl:0:2", "dram", COMPONENT_DRAM, 4444444444, 4460000003},
      {PKG1, "package-1", COMPONENT_PACKAGE, 200000000001, 200041234567},
      {PKG1 "/intel-rapl:1:0", "core", COMPONENT_CORE, 7, 30000011},
      {PKG1 "/intel-rapl:1:1", "dram", COMPONENT_DRAM, 1000, 9001001},
      {"class/powercap/intel-rapl:2", "psys", COMPONENT_PLATFORM, 77777777777,
       77900000000},
  };
  for (size_t i = 0; i < ARRAY_SIZE(zones); i++)
    zone(zones[i].dir, zones[i].name, zones[i].before, RANGE);
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  ck_assert_int_eq(rapl_meter_read(m, T0, &r), 0);
  for (int c = 0; c < COMPONENT_MAX; c++) {
    ck_assert(r.present[c]);
    ck_assert(!r.valid[c]); /* the first read is only the baseline */
  }
  for (size_t i = 0; i < ARRAY_SIZE(zones); i++)
    set_energy(zones[i].dir, zones[i].after);
  ck_assert_int_eq(rapl_meter_read(m, T0 + 2 * SEC, &r), 0);
  uint64_t want_uj[COMPONENT_MAX] = {0};
  for (size_t i = 0; i < ARRAY_SIZE(zones); i++)
    want_uj[zones[i].c] += zones[i].after - zones[i].before;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    ck_assert_msg(r.valid[c], "component %d", c);
    ck_assert_close(r.energy_j[c], (double)want_uj[c] / 1e6);
    ck_assert_close(r.power_w[c], (double)want_uj[c] / 1e6 / 2);
  }
  ck_assert_uint_eq(rapl_meter_dropped(m), 0);
  rapl_meter_close(m);
}
END_TEST

START_TEST(test_wrap_uses_the_range) {
  const uint64_t before = RANGE - 1000000, after = 4000000;
  zone(PKG0, "package-0", before, RANGE);
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  rapl_meter_read(m, T0, &r);
  set_energy(PKG0, after);
  ck_assert_int_eq(rapl_meter_read(m, T0 + SEC, &r), 0);
  ck_assert(r.valid[COMPONENT_PACKAGE]);
  /* The counter's last value is the range itself, then 0. */
  ck_assert_close(r.energy_j[COMPONENT_PACKAGE],
                  (double)(RANGE - before + after) / 1e6);
  ck_assert(!r.present[COMPONENT_CORE]);
  ck_assert_uint_eq(rapl_meter_dropped(m), 0);
  rapl_meter_close(m);
}
END_TEST

START_TEST(test_reset_is_dropped_then_recovers) {
  zone(PKG0, "package-0", 5000000000, RANGE);
  zone(PKG0 "/intel-rapl:0:0", "core", 1000, RANGE);
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  rapl_meter_read(m, T0, &r);
  /* Back to near 0: read as a wrap, that is ~257 kJ in a second. */
  set_energy(PKG0, 1000);
  set_energy(PKG0 "/intel-rapl:0:0", 2001000);
  ck_assert_int_eq(rapl_meter_read(m, T0 + SEC, &r), 0);
  ck_assert(r.present[COMPONENT_PACKAGE]);
  ck_assert(!r.valid[COMPONENT_PACKAGE]);
  ck_assert_double_eq(r.energy_j[COMPONENT_PACKAGE], 0);
  ck_assert(r.valid[COMPONENT_CORE]);
  ck_assert_close(r.energy_j[COMPONENT_CORE], 2.0);
  ck_assert_uint_eq(rapl_meter_dropped(m), 1);
  /* The reset value is the new baseline. */
  set_energy(PKG0, 1000 + 30000000);
  ck_assert_int_eq(rapl_meter_read(m, T0 + 2 * SEC, &r), 0);
  ck_assert(r.valid[COMPONENT_PACKAGE]);
  ck_assert_close(r.energy_j[COMPONENT_PACKAGE], 30.0);
  ck_assert_uint_eq(rapl_meter_dropped(m), 1);
  rapl_meter_close(m);
}
END_TEST

START_TEST(test_step_back_without_range_is_a_reset) {
  zone(PKG0, "package-0", 5000, 0);
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  rapl_meter_read(m, T0, &r);
  set_energy(PKG0, 10);
  rapl_meter_read(m, T0 + SEC, &r);
  ck_assert(!r.valid[COMPONENT_PACKAGE]);
  ck_assert_uint_eq(rapl_meter_dropped(m), 1);
  set_energy(PKG0, 10 + 7000000);
  rapl_meter_read(m, T0 + 2 * SEC, &r);
  ck_assert(r.valid[COMPONENT_PACKAGE]);
  ck_assert_close(r.energy_j[COMPONENT_PACKAGE], 7.0);
  rapl_meter_close(m);
}
END_TEST

START_TEST(test_implausible_jump_is_dropped) {
  /* Stated limits: 100 W and 0 (none) -> at most 400 W. dram states none
   * -> at most 5000 W. */
  zone(PKG0, "package-0", 0, RANGE);
  fake_write(PKG0 "/constraint_0_max_power_uw", "100000000\n");
  fake_write(PKG0 "/constraint_1_max_power_uw", "0\n");
  zone(PKG0 "/intel-rapl:0:2", "dram", 0, RANGE);
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  rapl_meter_read(m, T0, &r);
  set_energy(PKG0, 401000000);                    /* 401 W */
  set_energy(PKG0 "/intel-rapl:0:2", 4999000000); /* 4999 W */
  rapl_meter_read(m, T0 + SEC, &r);
  ck_assert(!r.valid[COMPONENT_PACKAGE]);
  ck_assert(r.valid[COMPONENT_DRAM]);
  ck_assert_close(r.power_w[COMPONENT_DRAM], 4999.0);
  set_energy(PKG0, 401000000 + 399000000);                     /* 399 W */
  set_energy(PKG0 "/intel-rapl:0:2", 4999000000 + 5001000000); /* 5001 W */
  rapl_meter_read(m, T0 + 2 * SEC, &r);
  ck_assert(r.valid[COMPONENT_PACKAGE]);
  ck_assert_close(r.power_w[COMPONENT_PACKAGE], 399.0);
  ck_assert(!r.valid[COMPONENT_DRAM]);
  ck_assert_uint_eq(rapl_meter_dropped(m), 2);
  rapl_meter_close(m);
}
END_TEST

START_TEST(test_vanished_zone_comes_back) {
  zone(PKG0, "package-0", 1000000, RANGE);
  zone(PKG0 "/intel-rapl:0:0", "core", 1000, RANGE);
  zone(PKG1, "package-1", 2000000, RANGE);
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  rapl_meter_read(m, T0, &r);
  char pkg1_energy[512];
  snprintf(pkg1_energy, sizeof(pkg1_energy), "%s", energy_path(PKG1));

  fake_remove(PKG1);
  set_energy(PKG0, 3000000);
  set_energy(PKG0 "/intel-rapl:0:0", 501000);
  rapl_meter_read(m, T0 + SEC, &r);
  /* Package 0 alone would be half the package. */
  ck_assert(!r.valid[COMPONENT_PACKAGE]);
  ck_assert(r.valid[COMPONENT_CORE]);
  ck_assert_close(r.energy_j[COMPONENT_CORE], 0.5);
  ck_assert_int_eq(fake_log_count(KLOG_WARNING, pkg1_energy), 1);
  ck_assert_uint_eq(rapl_meter_dropped(m), 1);

  rapl_meter_read(m, T0 + 2 * SEC, &r); /* still gone: no new warning */
  ck_assert(!r.valid[COMPONENT_PACKAGE]);
  ck_assert_int_eq(fake_log_count(KLOG_WARNING, pkg1_energy), 1);
  ck_assert_uint_eq(rapl_meter_dropped(m), 2);

  zone(PKG1, "package-1", 9000000, RANGE);
  set_energy(PKG0, 4000000);
  rapl_meter_read(m, T0 + 3 * SEC, &r);
  /* Back, but the interval before has no baseline for package-1. */
  ck_assert(!r.valid[COMPONENT_PACKAGE]);
  ck_assert_int_eq(fake_log_count(KLOG_NOTICE, pkg1_energy), 1);
  ck_assert_uint_eq(rapl_meter_dropped(m), 3);

  set_energy(PKG0, 4000000 + 11000000);
  set_energy(PKG1, 9000000 + 13000000);
  rapl_meter_read(m, T0 + 4 * SEC, &r);
  ck_assert(r.valid[COMPONENT_PACKAGE]);
  ck_assert_close(r.energy_j[COMPONENT_PACKAGE], 24.0);
  ck_assert_int_eq(fake_log_count(KLOG_WARNING, ""), 1);
  ck_assert_uint_eq(rapl_meter_dropped(m), 3);
  rapl_meter_close(m);
}
END_TEST

START_TEST(test_garbage_is_one_outage) {
  zone(PKG0, "package-0", 1000000, RANGE);
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  uint64_t t = T0;
  rapl_meter_read(m, t, &r);
  static const char *const garbage[] = {
      "abc\n", "", "12x\n", "\n", "-5\n", "1 2\n", "99999999999999999999999\n"};
  for (size_t i = 0; i < ARRAY_SIZE(garbage); i++) {
    fake_write(PKG0 "/energy_uj", "%s", garbage[i]);
    ck_assert_int_eq(rapl_meter_read(m, t += SEC, &r), 0);
    ck_assert_msg(!r.valid[COMPONENT_PACKAGE], "\"%s\" read", garbage[i]);
  }
  ck_assert_uint_eq(rapl_meter_dropped(m), ARRAY_SIZE(garbage));
  ck_assert_int_eq(fake_log_count(KLOG_WARNING, energy_path(PKG0)), 1);
  ck_assert_int_eq(fake_log_count(KLOG_WARNING, "not an unsigned decimal"), 1);
  ck_assert_int_eq(fake_log_count(KLOG_NOTICE, ""), 0);

  set_energy(PKG0, 2000000);
  rapl_meter_read(m, t += SEC, &r);
  ck_assert_int_eq(fake_log_count(KLOG_NOTICE, energy_path(PKG0)), 1);
  /* No newline is fine too. */
  fake_write(PKG0 "/energy_uj", "2500000");
  rapl_meter_read(m, t += SEC, &r);
  ck_assert(r.valid[COMPONENT_PACKAGE]);
  ck_assert_close(r.energy_j[COMPONENT_PACKAGE], 0.5);
  rapl_meter_close(m);
}
END_TEST

START_TEST(test_no_zone_is_enoent) {
  struct rapl_meter *m = (struct rapl_meter *)&m; /* must be reset */
  char why[512] = "";
  ck_assert_int_eq(rapl_meter_open(fake_root, &m, why, sizeof(why)), -ENOENT);
  ck_assert_ptr_null(m);
  /* The control type alone, another control type, a zone we do not
   * meter: still no RAPL zone. */
  fake_write("class/powercap/intel-rapl/enabled", "1\n");
  zone("class/powercap/dtpm:0", "package-0", 1, 0);
  zone("class/powercap/intel-rapl:0", "gpu", 1, RANGE);
  why[0] = '\0';
  ck_assert_int_eq(rapl_meter_open(fake_root, &m, why, sizeof(why)), -ENOENT);
  ck_assert_ptr_nonnull(strstr(why, "class/powercap"));
}
END_TEST

START_TEST(test_unreadable_counter_at_open) {
  zone(PKG0, "package-0", 1, RANGE);
  fake_remove(PKG0 "/energy_uj");
  fake_mkdirs(PKG0 "/energy_uj");
  struct rapl_meter *m = NULL;
  char why[512] = "";
  ck_assert_int_eq(rapl_meter_open(fake_root, &m, why, sizeof(why)),
                   FILE_NOT_REGULAR);
  ck_assert_ptr_null(m);
  ck_assert_ptr_nonnull(strstr(why, energy_path(PKG0)));
  ck_assert_ptr_nonnull(strstr(why, "not a regular file"));

  fake_remove(PKG0 "/energy_uj");
  fake_symlink("nowhere", PKG0 "/energy_uj"); /* dangling */
  why[0] = '\0';
  ck_assert_int_eq(rapl_meter_open(fake_root, &m, why, sizeof(why)), -ENOENT);
  ck_assert_ptr_nonnull(strstr(why, energy_path(PKG0)));

  /* One readable zone is enough; the other warns when read. */
  zone(PKG1, "package-1", 1, RANGE);
  m = open_ok();
  struct meter_reading r;
  rapl_meter_read(m, T0, &r);
  ck_assert_int_eq(fake_log_count(KLOG_WARNING, energy_path(PKG0)), 1);
  rapl_meter_close(m);
}
END_TEST

/* energy_uj is root-only since CVE-2020-8694. Root reads any file, so a
 * child process drops to nobody first; a test run as another user is
 * refused by the mode alone. The child reports by its exit status. */
START_TEST(test_permission_denied_names_the_cve) {
  zone(PKG0, "package-0", 1, RANGE);
  ck_assert_int_eq(chmod(fake_root, 0755), 0);
  ck_assert_int_eq(chmod(energy_path(PKG0), 0), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    if (geteuid() == 0 &&
        (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)))
      _exit(2);
    struct rapl_meter *m = NULL;
    char why[512] = "";
    int rc = rapl_meter_open(fake_root, &m, why, sizeof(why));
    _exit(rc == -EACCES && strstr(why, energy_path(PKG0)) &&
                  strstr(why, "Permission denied (root-only since "
                              "CVE-2020-8694)")
              ? 0
              : 1);
  }
  int status;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

/* As on a real host: class/powercap holds symlinks, sub-zones are listed
 * both flat and inside their package, dram is a top-level zone, and
 * intel-rapl-mmio repeats package 0. */
START_TEST(test_symlinked_layout_like_sysfs) {
#define DEV "devices/virtual/powercap"
  zone(DEV "/intel-rapl/intel-rapl:0", "package-0", 10000000, RANGE);
  fake_write(DEV "/intel-rapl/intel-rapl:0/constraint_0_max_power_uw",
             "65000000\n");
  zone(DEV "/intel-rapl/intel-rapl:0/intel-rapl:0:0", "core", 20000000, RANGE);
  zone(DEV "/intel-rapl/intel-rapl:1", "dram", 30000000, RANGE);
  zone(DEV "/intel-rapl-mmio/intel-rapl-mmio:0", "package-0", 40000000, RANGE);
  fake_write(DEV "/intel-rapl/enabled", "1\n");
  fake_symlink("../../" DEV "/intel-rapl", "class/powercap/intel-rapl");
  fake_symlink("../../" DEV "/intel-rapl/intel-rapl:0",
               "class/powercap/intel-rapl:0");
  fake_symlink("../../" DEV "/intel-rapl/intel-rapl:0/intel-rapl:0:0",
               "class/powercap/intel-rapl:0:0");
  fake_symlink("../../" DEV "/intel-rapl/intel-rapl:1",
               "class/powercap/intel-rapl:1");
  fake_symlink("../../" DEV "/intel-rapl-mmio",
               "class/powercap/intel-rapl-mmio");
  fake_symlink("../../" DEV "/intel-rapl-mmio/intel-rapl-mmio:0",
               "class/powercap/intel-rapl-mmio:0");
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  rapl_meter_read(m, T0, &r);
  ck_assert(r.present[COMPONENT_PACKAGE] && r.present[COMPONENT_CORE] &&
            r.present[COMPONENT_DRAM]);
  ck_assert(!r.present[COMPONENT_UNCORE] && !r.present[COMPONENT_PLATFORM]);
  set_energy(DEV "/intel-rapl/intel-rapl:0", 10000000 + 30000000);
  set_energy(DEV "/intel-rapl/intel-rapl:0/intel-rapl:0:0",
             20000000 + 20000000);
  set_energy(DEV "/intel-rapl/intel-rapl:1", 30000000 + 5000000);
  set_energy(DEV "/intel-rapl-mmio/intel-rapl-mmio:0", 40000000 + 30000000);
  rapl_meter_read(m, T0 + SEC, &r);
  ck_assert(r.valid[COMPONENT_PACKAGE]);
  ck_assert_close(r.energy_j[COMPONENT_PACKAGE], 30.0); /* not 60, not 90 */
  ck_assert_close(r.energy_j[COMPONENT_CORE], 20.0);    /* not 40 */
  ck_assert_close(r.energy_j[COMPONENT_DRAM], 5.0);
  rapl_meter_close(m);
#undef DEV
}
END_TEST

START_TEST(test_mmio_or_other_vendor_alone) {
  zone("class/powercap/intel-rapl-mmio:0", "package-0", 100, RANGE);
  zone("class/powercap/amd-rapl:0:0", "core", 100, RANGE);
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  rapl_meter_read(m, T0, &r);
  set_energy("class/powercap/intel-rapl-mmio:0", 100 + 8000000);
  set_energy("class/powercap/amd-rapl:0:0", 100 + 3000000);
  rapl_meter_read(m, T0 + SEC, &r);
  ck_assert(r.valid[COMPONENT_PACKAGE] && r.valid[COMPONENT_CORE]);
  ck_assert_close(r.energy_j[COMPONENT_PACKAGE], 8.0);
  ck_assert_close(r.energy_j[COMPONENT_CORE], 3.0);
  rapl_meter_close(m);
}
END_TEST

START_TEST(test_time_must_advance) {
  zone(PKG0, "package-0", 100, RANGE);
  struct rapl_meter *m = open_ok();
  struct meter_reading r;
  ck_assert_int_eq(rapl_meter_read(m, T0, &r), 0);
  ck_assert_int_eq(rapl_meter_read(m, T0, &r), -EINVAL);
  ck_assert(r.present[COMPONENT_PACKAGE] && !r.valid[COMPONENT_PACKAGE]);
  set_energy(PKG0, 100 + 1000000);
  ck_assert_int_eq(rapl_meter_read(m, T0 + SEC / 2, &r), 0);
  ck_assert_close(r.power_w[COMPONENT_PACKAGE], 2.0);
  rapl_meter_close(m);
}
END_TEST

static Suite *rapl_meter_suite(void) {
  Suite *s = suite_create("rapl_meter");
  TCase *tc = tcase_create("powercap");
  tcase_add_checked_fixture(tc, fake_setup, fake_teardown);
  tcase_add_test(tc, test_sums_packages_and_subzones);
  tcase_add_test(tc, test_wrap_uses_the_range);
  tcase_add_test(tc, test_reset_is_dropped_then_recovers);
  tcase_add_test(tc, test_step_back_without_range_is_a_reset);
  tcase_add_test(tc, test_implausible_jump_is_dropped);
  tcase_add_test(tc, test_vanished_zone_comes_back);
  tcase_add_test(tc, test_garbage_is_one_outage);
  tcase_add_test(tc, test_no_zone_is_enoent);
  tcase_add_test(tc, test_unreadable_counter_at_open);
  tcase_add_test(tc, test_permission_denied_names_the_cve);
  tcase_add_test(tc, test_symlinked_layout_like_sysfs);
  tcase_add_test(tc, test_mmio_or_other_vendor_alone);
  tcase_add_test(tc, test_time_must_advance);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(rapl_meter_suite());
}
