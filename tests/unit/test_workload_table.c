// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/attribute/workload_table.c: lookup and ordered
 * insertion, and a failed allocation where the pointer array used to be
 * overrun. The test binary is linked with --wrap=realloc, so the table's
 * reallocs go through __wrap_realloc below and can be made to fail. */
#include "workload_table.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"

void *__real_realloc(void *p, size_t n);
/* The realloc call to fail, counting from 1; 0: none. */
static unsigned fail_call;
static unsigned realloc_calls;

void *__wrap_realloc(void *p, size_t n) {
  if (fail_call && ++realloc_calls == fail_call)
    return NULL;
  return __real_realloc(p, n);
}

static void fail_realloc_call(unsigned n) {
  fail_call = n;
  realloc_calls = 0;
}

static struct workload_table table;

static void teardown(void) {
  fail_realloc_call(0);
  workload_table_free(&table);
}

static struct workload_power *get(enum report_level level, const char *name,
                                  bool *created) {
  return workload_table_get(&table, level, BUCKET_NONE, name, created);
}

/* Insert container "c<i>" for i in [from, to). */
static void fill(int from, int to) {
  for (int i = from; i < to; i++) {
    char name[16];
    bool created;
    snprintf(name, sizeof name, "c%04d", i);
    ck_assert_ptr_nonnull(get(LEVEL_CONTAINER, name, &created));
    ck_assert(created);
  }
}

/* What a report does with the table: a pointer to every workload. */
static void point_at_all(void) {
  ck_assert_uint_ge(table.ptrs_cap, table.n);
  ck_assert_uint_ge(table.cap, table.n);
  for (size_t i = 0; i < table.n; i++)
    table.ptrs[i] = &table.v[i];
}

/* A VM named "system" and an LXC container named "kernel" (D4) are their
 * own workloads, not the buckets of the same names; find sees only the
 * workloads. */
START_TEST(test_buckets_apart_from_workloads) {
  bool created;
  struct workload_power *bucket =
      workload_table_get(&table, LEVEL_VM, BUCKET_SYSTEM, "system", &created);
  ck_assert(created);
  bucket->nprocs = 7;
  struct workload_power *vm = get(LEVEL_VM, "system", &created);
  ck_assert(created);
  ck_assert_int_eq(vm->bucket, BUCKET_NONE);
  vm->nprocs = 2;
  workload_table_get(&table, LEVEL_CONTAINER, BUCKET_KERNEL, "kernel",
                     &created);
  ck_assert(created);
  get(LEVEL_CONTAINER, "kernel", &created);
  ck_assert(created);
  ck_assert_uint_eq(table.n, 4);
  bucket =
      workload_table_get(&table, LEVEL_VM, BUCKET_SYSTEM, "system", &created);
  ck_assert(!created);
  ck_assert_uint_eq(bucket->nprocs, 7);
  vm = workload_table_find(&table, LEVEL_VM, "system");
  ck_assert_ptr_nonnull(vm);
  ck_assert_int_eq(vm->bucket, BUCKET_NONE);
  ck_assert_uint_eq(vm->nprocs, 2);
}
END_TEST

START_TEST(test_found_again_and_ordered) {
  bool created;
  struct workload_power *pod = get(LEVEL_POD, "uid-b", &created);
  ck_assert(created);
  ck_assert_int_eq(pod->level, LEVEL_POD);
  ck_assert_str_eq(pod->name, "uid-b");
  pod->nprocs = 3;
  get(LEVEL_POD, "uid-a", &created);
  get(LEVEL_CONTAINER, "zzz", &created);
  ck_assert(created);
  pod = get(LEVEL_POD, "uid-b", &created);
  ck_assert(!created);
  ck_assert_uint_eq(pod->nprocs, 3);
  ck_assert_uint_eq(table.n, 3);
  ck_assert_ptr_eq(workload_table_find(&table, LEVEL_POD, "uid-b"), pod);
  ck_assert_ptr_null(workload_table_find(&table, LEVEL_CONTAINER, "uid-b"));
  ck_assert_ptr_null(workload_table_find(&table, LEVEL_POD, "uid-c"));
  /* By level first, then by name. */
  ck_assert_str_eq(table.v[0].name, "zzz");
  ck_assert_str_eq(table.v[1].name, "uid-a");
  ck_assert_str_eq(table.v[2].name, "uid-b");
}
END_TEST

START_TEST(test_growth) {
  fill(0, 1000);
  ck_assert_uint_eq(table.n, 1000);
  for (size_t i = 1; i < table.n; i++)
    ck_assert_int_lt(strcmp(table.v[i - 1].name, table.v[i].name), 0);
  point_at_all();
}
END_TEST

/* The first growth past 64 fails, of either array (_i: which realloc): no
 * workload is added and each capacity still tells its array's size, so the
 * pointer array is never written past its end. Before, the workloads grew
 * first and a failed pointer array kept its old size under the new
 * capacity; with ASan or valgrind, point_at_all() then wrote past it. */
START_TEST(test_failed_growth) {
  fill(0, 64);
  point_at_all();
  fail_realloc_call(1 + _i);
  bool created = true;
  ck_assert_ptr_null(get(LEVEL_CONTAINER, "c0064", &created));
  ck_assert(!created);
  ck_assert_uint_eq(table.n, 64);
  point_at_all();
  fail_realloc_call(0);
  fill(64, 65); /* no growth is due if the failed one left a capacity */
  point_at_all();
  fill(65, 300);
  point_at_all();
  ck_assert_uint_eq(table.n, 300);
}
END_TEST

START_TEST(test_failed_first_allocation) {
  bool created = true;
  fail_realloc_call(1 + _i);
  ck_assert_ptr_null(get(LEVEL_VM, "vm1", &created));
  ck_assert_uint_eq(table.n, 0);
  fail_realloc_call(0);
  ck_assert_ptr_nonnull(get(LEVEL_VM, "vm1", &created));
  ck_assert(created);
  point_at_all();
}
END_TEST

int main(void) {
  Suite *s = suite_create("workload_table");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, NULL, teardown);
  tcase_add_test(tc, test_found_again_and_ordered);
  tcase_add_test(tc, test_buckets_apart_from_workloads);
  tcase_add_test(tc, test_growth);
  tcase_add_loop_test(tc, test_failed_growth, 0, 2);
  tcase_add_loop_test(tc, test_failed_first_allocation, 0, 2);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
