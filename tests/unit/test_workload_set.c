// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/workload_set.c: one shared copy per identity, stable
 * while marked, swept when unmarked, correct across growth and the
 * backward-shift deletions of a sweep. */
#include "workload_set.h"

#include <check.h>
#include <stdio.h>
#include <string.h>
#include "testutil.h"

static struct workload_set *set;

static void setup(void) {
  set = workload_set_new();
  ck_assert_ptr_nonnull(set);
}

static void teardown(void) {
  workload_set_free(set);
}

static struct workload_id make(enum workload_kind kind, const char *id,
                               const char *path) {
  struct workload_id w;
  memset(&w, 0, sizeof(w));
  w.kind = kind;
  w.runtime = kind == WORKLOAD_CONTAINER ? RUNTIME_DOCKER : RUNTIME_NONE;
  snprintf(w.id, sizeof(w.id), "%s", id);
  snprintf(w.cgroup_path, sizeof(w.cgroup_path), "%s", path);
  return w;
}

START_TEST(test_same_identity_shared) {
  struct workload_id a =
      make(WORKLOAD_SYSTEM, "", "/system.slice/cron.service");
  struct workload_id b = a;
  const struct workload_id *pa = workload_set_intern(set, &a);
  const struct workload_id *pb = workload_set_intern(set, &b);
  ck_assert_ptr_nonnull(pa);
  ck_assert_ptr_eq(pa, pb);
  ck_assert_str_eq(pa->cgroup_path, "/system.slice/cron.service");
  ck_assert_uint_eq(workload_set_size(set), 1);
}
END_TEST

START_TEST(test_fields_distinguish) {
  /* Same path, different kind / id / runtime: four identities. */
  struct workload_id w[4] = {
      make(WORKLOAD_SYSTEM, "", "/x"),
      make(WORKLOAD_KERNEL, "", "/x"),
      make(WORKLOAD_CONTAINER, "ab", "/x"),
      make(WORKLOAD_CONTAINER, "ab", "/x"),
  };
  w[3].runtime = RUNTIME_PODMAN;
  const struct workload_id *p[4];
  for (int i = 0; i < 4; i++)
    p[i] = workload_set_intern(set, &w[i]);
  for (int i = 0; i < 4; i++)
    for (int j = i + 1; j < 4; j++)
      ck_assert_ptr_ne(p[i], p[j]);
  ck_assert_uint_eq(workload_set_size(set), 4);
  /* id "a" + path "b/x" must not equal id "ab" + path "/x". */
  struct workload_id shifted = make(WORKLOAD_CONTAINER, "a", "b/x");
  ck_assert_ptr_ne(workload_set_intern(set, &shifted), p[2]);
}
END_TEST

START_TEST(test_sweep_keeps_marked_only) {
  enum { N = 5000 }; /* many growths, long probe runs */
  const struct workload_id *p[N];
  for (int i = 0; i < N; i++) {
    char path[64];
    snprintf(path, sizeof(path), "/kubepods/pod%d", i);
    struct workload_id w = make(WORKLOAD_SYSTEM, "", path);
    p[i] = workload_set_intern(set, &w);
    ck_assert_ptr_nonnull(p[i]);
  }
  ck_assert_uint_eq(workload_set_size(set), N);
  for (int i = 0; i < N; i += 3)
    workload_set_mark(p[i], 7);
  size_t left = workload_set_sweep(set, 7);
  ck_assert_uint_eq(left, (N + 2) / 3);
  /* Survivors are found again at the same address; swept ones are new. */
  for (int i = 0; i < N; i++) {
    char path[64];
    snprintf(path, sizeof(path), "/kubepods/pod%d", i);
    struct workload_id w = make(WORKLOAD_SYSTEM, "", path);
    const struct workload_id *q = workload_set_intern(set, &w);
    ck_assert_ptr_nonnull(q);
    if (i % 3 == 0)
      ck_assert_ptr_eq(q, p[i]);
    ck_assert_str_eq(q->cgroup_path, path);
  }
  ck_assert_uint_eq(workload_set_size(set), N);
  ck_assert_uint_eq(workload_set_sweep(set, 8), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("workload_set");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_same_identity_shared);
  tcase_add_test(tc, test_fields_distinguish);
  tcase_add_test(tc, test_sweep_keeps_marked_only);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
