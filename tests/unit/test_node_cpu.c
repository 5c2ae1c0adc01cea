// SPDX-License-Identifier: GPL-2.0-only
/* node_cpu: utilization from /proc/stat files laid out in a temp dir. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "node_cpu.h"
#include "testutil.h"

static char root[64];

static void setup(void) {
  snprintf(root, sizeof(root), "/tmp/kepler_node_cpu_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(root));
}

static void teardown(void) {
  char path[128];
  snprintf(path, sizeof(path), "%s/stat", root);
  unlink(path);
  rmdir(root);
}

static void write_stat(const char *text) {
  char path[128];
  snprintf(path, sizeof(path), "%s/stat", root);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

START_TEST(test_reads_busy_and_total) {
  /* user nice system idle iowait irq softirq steal guest guest_nice */
  write_stat("cpu  100 20 30 400 50 6 7 8 90 10\ncpu0 1 2 3 4 5 6 7 8 9 10\n");
  struct cpu_times t;
  ck_assert_int_eq(node_cpu_read(root, &t), 0);
  ck_assert_uint_eq(t.busy, 100 + 20 + 30 + 6 + 7); /* guest is in user */
  ck_assert_uint_eq(t.total, 163 + 400 + 50 + 8);
}
END_TEST

START_TEST(test_old_kernel_four_fields) {
  write_stat("cpu  10 0 10 80\n");
  struct cpu_times t;
  ck_assert_int_eq(node_cpu_read(root, &t), 0);
  ck_assert_uint_eq(t.busy, 20);
  ck_assert_uint_eq(t.total, 100);
}
END_TEST

START_TEST(test_missing_or_garbage) {
  struct cpu_times t = {7, 9};
  ck_assert_int_eq(node_cpu_read(root, &t), -1); /* no file */
  write_stat("intr 1 2 3\n");
  ck_assert_int_eq(node_cpu_read(root, &t), -1);
  write_stat("cpu  1 2\n");
  ck_assert_int_eq(node_cpu_read(root, &t), -1);
  ck_assert_uint_eq(t.busy, 7); /* untouched on failure */
}
END_TEST

START_TEST(test_utilization) {
  struct cpu_times a = {1000, 4000}, b = {1300, 4400};
  ck_assert_close(node_cpu_utilization(&a, &b), 75.0);
  ck_assert_close(node_cpu_utilization(&a, &a), 0.0); /* no time passed */
  struct cpu_times back = {900, 4400};                /* busy went back */
  ck_assert_close(node_cpu_utilization(&a, &back), 0.0);
  struct cpu_times over = {1600, 4100}; /* never above 100 % */
  ck_assert_close(node_cpu_utilization(&a, &over), 100.0);
}
END_TEST

static Suite *node_cpu_suite(void) {
  Suite *s = suite_create("node_cpu");
  TCase *tc = tcase_create("proc_stat");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_reads_busy_and_total);
  tcase_add_test(tc, test_old_kernel_four_fields);
  tcase_add_test(tc, test_missing_or_garbage);
  tcase_add_test(tc, test_utilization);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(node_cpu_suite());
}
