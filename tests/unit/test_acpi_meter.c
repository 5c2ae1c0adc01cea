// SPDX-License-Identifier: GPL-2.0-only
/* acpi_meter: hwmon devices laid out as real files in a temp dir. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "acpi_meter.h"
#include "fake_sysfs.h"
#include "file_read.h"
#include "testutil.h"

#define SEC 1000000000ULL
#define T0 (1000 * SEC)

/* Other hwmon devices a server has, hwmon2 among them. */
static void other_hwmons(void) {
  fake_write("class/hwmon/hwmon0/name", "acpitz\n");
  fake_write("class/hwmon/hwmon1/name", "coretemp\n");
  fake_write("class/hwmon/hwmon2/name", "nvme\n");
  fake_write("class/hwmon/hwmon2/power1_average", "5000000\n");
}

static struct acpi_meter *open_ok(void) {
  struct acpi_meter *m = NULL;
  char why[512] = "";
  int rc = acpi_meter_open(fake_root, &m, why, sizeof(why));
  ck_assert_msg(rc == 0, "open: %d %s", rc, why);
  return m;
}

/* As on a real host: class/hwmon/hwmon5 links to the hwmon device under the
 * ACPI000D device, whose own directory (hwmon5/device) holds the name and
 * the power attributes. */
#define ACPI_DEV "devices/LNXSYSTM:00/LNXSYBUS:00/ACPI000D:00"
START_TEST(test_found_in_hwmon5_through_device) {
  other_hwmons();
  fake_write(ACPI_DEV "/name", "power_meter-acpi\n");
  fake_write(ACPI_DEV "/power1_average", "231500000\n");
  fake_write(ACPI_DEV "/power1_average_interval", "1000\n");
  fake_mkdirs(ACPI_DEV "/hwmon/hwmon5");
  fake_symlink("../../../ACPI000D:00", ACPI_DEV "/hwmon/hwmon5/device");
  fake_symlink("../../" ACPI_DEV "/hwmon/hwmon5", "class/hwmon/hwmon5");
  struct acpi_meter *m = open_ok();
  ck_assert_uint_eq(acpi_meter_interval_ms(m), 1000);
  struct meter_reading r;
  ck_assert_int_eq(acpi_meter_read(m, T0, &r), 0);
  ck_assert(r.present[COMPONENT_PLATFORM]);
  ck_assert(!r.valid[COMPONENT_PLATFORM]); /* no interval yet */
  ck_assert(!r.present[COMPONENT_PACKAGE]);
  fake_write(ACPI_DEV "/power1_average", "245250000\n");
  ck_assert_int_eq(acpi_meter_read(m, T0 + 5 * SEC, &r), 0);
  ck_assert(r.valid[COMPONENT_PLATFORM]);
  ck_assert_close(r.power_w[COMPONENT_PLATFORM], 245.25);
  ck_assert_close(r.energy_j[COMPONENT_PLATFORM], 245.25 * 5);
  ck_assert_uint_eq(acpi_meter_dropped(m), 0);
  acpi_meter_close(m);
}
END_TEST

/* Current kernels put the attributes in hwmonN itself. Of several
 * power<k>_average the lowest k counts (numerically, not as text), and of
 * several meters the lowest-numbered hwmon. */
START_TEST(test_lowest_numbered_attribute_and_device) {
  other_hwmons();
  fake_write("class/hwmon/hwmon12/name", "power_meter-acpi\n");
  fake_write("class/hwmon/hwmon12/power1_average", "1000000\n");
  fake_write("class/hwmon/hwmon3/name", "power_meter-acpi\n");
  fake_write("class/hwmon/hwmon3/power10_average", "900000000\n");
  fake_write("class/hwmon/hwmon3/power3_average", "100000000\n");
  fake_write("class/hwmon/hwmon3/power3_average_max", "7\n");
  struct acpi_meter *m = open_ok();
  ck_assert_uint_eq(acpi_meter_interval_ms(m), 0); /* not stated */
  struct meter_reading r;
  acpi_meter_read(m, T0, &r);
  acpi_meter_read(m, T0 + 2 * SEC, &r);
  ck_assert(r.valid[COMPONENT_PLATFORM]);
  ck_assert_close(r.power_w[COMPONENT_PLATFORM], 100.0);
  ck_assert_close(r.energy_j[COMPONENT_PLATFORM], 200.0);
  acpi_meter_close(m);
}
END_TEST

START_TEST(test_absent_is_enoent) {
  struct acpi_meter *m = (struct acpi_meter *)&m; /* must be reset */
  char why[512] = "";
  ck_assert_int_eq(acpi_meter_open(fake_root, &m, why, sizeof(why)), -ENOENT);
  ck_assert_ptr_null(m);
  other_hwmons();
  ck_assert_int_eq(acpi_meter_open(fake_root, &m, why, sizeof(why)), -ENOENT);
  ck_assert_ptr_nonnull(strstr(why, "class/hwmon"));
  /* The device without a power average is no meter either. */
  fake_write("class/hwmon/hwmon4/name", "power_meter-acpi\n");
  fake_write("class/hwmon/hwmon4/power1_cap", "1\n");
  ck_assert_int_eq(acpi_meter_open(fake_root, &m, why, sizeof(why)), -ENOENT);
  ck_assert_ptr_nonnull(strstr(why, "hwmon4"));
}
END_TEST

START_TEST(test_unreadable_at_open) {
  fake_write("class/hwmon/hwmon5/name", "power_meter-acpi\n");
  fake_mkdirs("class/hwmon/hwmon5/power1_average");
  struct acpi_meter *m = NULL;
  char why[512] = "";
  ck_assert_int_eq(acpi_meter_open(fake_root, &m, why, sizeof(why)),
                   FILE_NOT_REGULAR);
  ck_assert_ptr_null(m);
  ck_assert_ptr_nonnull(
      strstr(why, fake_path("class/hwmon/hwmon5/power1_average")));
  ck_assert_ptr_nonnull(strstr(why, "not a regular file"));
  fake_remove("class/hwmon/hwmon5/power1_average");
  fake_write("class/hwmon/hwmon5/power1_average", "12x\n");
  ck_assert_int_eq(acpi_meter_open(fake_root, &m, why, sizeof(why)), -EINVAL);
  ck_assert_ptr_nonnull(strstr(why, "not an unsigned decimal integer"));
}
END_TEST

START_TEST(test_outage_and_implausible_values) {
  const char *power = "class/hwmon/hwmon5/power1_average";
  fake_write("class/hwmon/hwmon5/name", "power_meter-acpi\n");
  fake_write(power, "300000000\n");
  struct acpi_meter *m = open_ok();
  struct meter_reading r;
  uint64_t t = T0;
  acpi_meter_read(m, t, &r);

  fake_write(power, "abc\n");
  acpi_meter_read(m, t += SEC, &r);
  ck_assert(r.present[COMPONENT_PLATFORM] && !r.valid[COMPONENT_PLATFORM]);
  fake_remove(power);
  acpi_meter_read(m, t += SEC, &r);
  ck_assert(!r.valid[COMPONENT_PLATFORM]);
  fake_write(power, "%s", "");
  acpi_meter_read(m, t += SEC, &r);
  ck_assert(!r.valid[COMPONENT_PLATFORM]);
  ck_assert_uint_eq(acpi_meter_dropped(m), 3);
  ck_assert_int_eq(fake_log_count(KLOG_WARNING, fake_path(power)), 1);
  ck_assert_int_eq(fake_log_count(KLOG_WARNING, ""), 1);

  /* Back: an average over its own window needs no baseline. */
  fake_write(power, "310000000\n");
  acpi_meter_read(m, t += 2 * SEC, &r);
  ck_assert(r.valid[COMPONENT_PLATFORM]);
  ck_assert_close(r.energy_j[COMPONENT_PLATFORM], 620.0);
  ck_assert_int_eq(fake_log_count(KLOG_NOTICE, fake_path(power)), 1);

  fake_write(power, "100000000001\n"); /* 1 µW over 100 kW */
  acpi_meter_read(m, t += SEC, &r);
  ck_assert(!r.valid[COMPONENT_PLATFORM]);
  ck_assert_uint_eq(acpi_meter_dropped(m), 4);
  fake_write(power, "100000000000\n");
  acpi_meter_read(m, t += SEC, &r);
  ck_assert(r.valid[COMPONENT_PLATFORM]);
  ck_assert_close(r.power_w[COMPONENT_PLATFORM], 100000.0);
  ck_assert_uint_eq(acpi_meter_dropped(m), 4);

  ck_assert_int_eq(acpi_meter_read(m, t, &r), -EINVAL); /* no time passed */
  ck_assert(!r.valid[COMPONENT_PLATFORM]);
  acpi_meter_close(m);
}
END_TEST

static Suite *acpi_meter_suite(void) {
  Suite *s = suite_create("acpi_meter");
  TCase *tc = tcase_create("hwmon");
  tcase_add_checked_fixture(tc, fake_setup, fake_teardown);
  tcase_add_test(tc, test_found_in_hwmon5_through_device);
  tcase_add_test(tc, test_lowest_numbered_attribute_and_device);
  tcase_add_test(tc, test_absent_is_enoent);
  tcase_add_test(tc, test_unreadable_at_open);
  tcase_add_test(tc, test_outage_and_implausible_values);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(acpi_meter_suite());
}
