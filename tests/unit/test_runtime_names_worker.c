// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/identify/runtime_names_worker.c: a request returns
 * at once and the names arrive at a later collect, while a lookup held on
 * the worker's thread blocks neither requests nor collects; stopping waits
 * for the lookup in progress and drops the queued ones. And as the workload
 * levels use it: a new container is reported by its id, and named at the
 * aggregation after its lookup is done. The lookups are
 * runtime_names_lookup's own (a docker record under a temp root) unless
 * the test holds them (__wrap_runtime_names_lookup, linked with
 * --wrap=runtime_names_lookup). */
#include "mono_clock.h"
#include "runtime_names_worker.h"

#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc_table.h"
#include "testutil.h"
#include "workload_levels.h"
#include "workload_set.h"

#define ID1 "4f1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define ID2 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

int __real_runtime_names_lookup(const char *root, enum container_runtime rt,
                                const char *id, struct container_names *out);

/* The held lookups: while hold is set, a lookup waits for it to clear. */
static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_changed = PTHREAD_COND_INITIALIZER;
static bool hold;
static int lookups_started, lookups_done;

int __wrap_runtime_names_lookup(const char *root, enum container_runtime rt,
                                const char *id, struct container_names *out) {
  pthread_mutex_lock(&hold_lock);
  lookups_started++;
  pthread_cond_broadcast(&hold_changed);
  while (hold)
    pthread_cond_wait(&hold_changed, &hold_lock);
  pthread_mutex_unlock(&hold_lock);
  int rc = __real_runtime_names_lookup(root, rt, id, out);
  pthread_mutex_lock(&hold_lock);
  lookups_done++;
  pthread_mutex_unlock(&hold_lock);
  return rc;
}

static void set_hold(bool on) {
  pthread_mutex_lock(&hold_lock);
  hold = on;
  pthread_cond_broadcast(&hold_changed);
  pthread_mutex_unlock(&hold_lock);
}

static void wait_started(int n) {
  pthread_mutex_lock(&hold_lock);
  while (lookups_started < n)
    pthread_cond_wait(&hold_changed, &hold_lock);
  pthread_mutex_unlock(&hold_lock);
}

static int done_count(void) {
  pthread_mutex_lock(&hold_lock);
  int n = lookups_done;
  pthread_mutex_unlock(&hold_lock);
  return n;
}

static char root[64], dir[256], file[320];
static struct runtime_names_worker *worker;

/* What collect handed over. */
static struct {
  char id[CONTAINER_NAME_LEN];
  struct container_names names;
} got[8];
static size_t ngot;

static void found(void *ctx, const char *id,
                  const struct container_names *names) {
  (void)ctx;
  ck_assert_uint_lt(ngot, ARRAY_SIZE(got));
  snprintf(got[ngot].id, sizeof(got[ngot].id), "%s", id);
  got[ngot].names = *names;
  ngot++;
}

/* Collect until something arrived (at most 2 s). */
static void collect_until_found(void) {
  for (int i = 0; i < 400 && ngot == 0; i++) {
    runtime_names_worker_collect(worker, found, NULL);
    if (ngot == 0)
      usleep(5000);
  }
}

static void setup(void) {
  hold = false;
  lookups_started = lookups_done = 0;
  ngot = 0;
  snprintf(root, sizeof root, "/tmp/kepler_names_worker_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(root));
  /* docker's record of ID1: /var/lib/docker/containers/<id>/config.v2.json */
  static const char *const parts[] = {"/var", "/var/lib", "/var/lib/docker",
                                      "/var/lib/docker/containers",
                                      "/var/lib/docker/containers/" ID1};
  for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
    snprintf(dir, sizeof dir, "%s%s", root, parts[i]);
    ck_assert_int_eq(mkdir(dir, 0700), 0);
  }
  snprintf(file, sizeof file, "%s/config.v2.json", dir);
  FILE *f = fopen(file, "w");
  ck_assert_ptr_nonnull(f);
  fputs("{\"Name\": \"/web-1\", \"Config\": {\"Labels\": {}}}\n", f);
  fclose(f);
  ck_assert_int_eq(runtime_names_worker_start(root, &worker), 0);
}

static void teardown(void) {
  set_hold(false);
  runtime_names_worker_stop(worker);
  unlink(file);
  for (char *slash; strcmp(dir, root) != 0; *slash = '\0') {
    rmdir(dir);
    slash = strrchr(dir, '/');
  }
  rmdir(root);
}

START_TEST(test_names_arrive_at_a_later_collect) {
  runtime_names_worker_collect(worker, found, NULL);
  ck_assert_uint_eq(ngot, 0);
  ck_assert_int_eq(runtime_names_worker_request(worker, RUNTIME_DOCKER, ID1),
                   0);
  collect_until_found();
  ck_assert_uint_eq(ngot, 1);
  ck_assert_str_eq(got[0].id, ID1);
  ck_assert_str_eq(got[0].names.name, "web-1");
  /* Handed over once. */
  runtime_names_worker_collect(worker, found, NULL);
  ck_assert_uint_eq(ngot, 1);
}
END_TEST

/* A container the runtime has no record of: empty names, still handed
 * over, so the reader knows its lookup is done. */
START_TEST(test_no_record_hands_empty_names) {
  ck_assert_int_eq(runtime_names_worker_request(worker, RUNTIME_DOCKER, ID2),
                   0);
  collect_until_found();
  ck_assert_uint_eq(ngot, 1);
  ck_assert_str_eq(got[0].id, ID2);
  ck_assert_str_eq(got[0].names.name, "");
}
END_TEST

START_TEST(test_held_lookup_blocks_nothing) {
  set_hold(true);
  ck_assert_int_eq(runtime_names_worker_request(worker, RUNTIME_DOCKER, ID1),
                   0);
  wait_started(1); /* the worker is in the lookup, held */
  /* Requests and collects return while it is held. */
  ck_assert_int_eq(runtime_names_worker_request(worker, RUNTIME_DOCKER, ID2),
                   0);
  runtime_names_worker_collect(worker, found, NULL);
  ck_assert_uint_eq(ngot, 0);
  set_hold(false);
  collect_until_found();
  ck_assert_str_eq(got[0].id, ID1);
  ck_assert_str_eq(got[0].names.name, "web-1");
}
END_TEST

static bool stop_returned;

static void *stop_worker(void *arg) {
  (void)arg;
  runtime_names_worker_stop(worker);
  __atomic_store_n(&stop_returned, true, __ATOMIC_SEQ_CST);
  return NULL;
}

START_TEST(test_stop_joins_the_worker) {
  set_hold(true);
  ck_assert_int_eq(runtime_names_worker_request(worker, RUNTIME_DOCKER, ID1),
                   0);
  wait_started(1);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(runtime_names_worker_request(worker, RUNTIME_DOCKER, ID2),
                     0);
  stop_returned = false;
  pthread_t stopper;
  ck_assert_int_eq(pthread_create(&stopper, NULL, stop_worker, NULL), 0);
  usleep(50000);
  /* Still in the held lookup: the stop waits for it. */
  ck_assert(!__atomic_load_n(&stop_returned, __ATOMIC_SEQ_CST));
  set_hold(false);
  pthread_join(stopper, NULL);
  worker = NULL;
  ck_assert(stop_returned);
  ck_assert_int_eq(done_count(), 1); /* finished; the queued ones dropped */
}
END_TEST

/* One process in docker container ID1, aggregated at the container level
 * only. */
static struct workload_levels_report aggregate(struct workload_levels *levels,
                                               struct proc_table *procs) {
  struct workload_levels_report r = {0};
  ck_assert_int_eq(workload_levels_aggregate(levels, procs, 1, &r), 0);
  ck_assert_uint_eq(r.nworkloads, 1);
  ck_assert_str_eq(r.workloads[0]->name, ID1);
  return r;
}

/* The read waits a bounded time for the names it asked: a quick lookup
 * names the container at its first aggregation; a held one (a stalled
 * disk) lets the aggregation go on by the id, named at the next. */
START_TEST(test_container_named_at_its_first_aggregation) {
  struct report_policy report[LEVEL_MAX];
  for (int l = 0; l < LEVEL_MAX; l++)
    report[l] = (struct report_policy){REPORT_NONE, 0, 0};
  report[LEVEL_CONTAINER].mode = REPORT_ALL;
  struct workload_set *identities = workload_set_new();
  struct proc_table *procs = proc_table_new();
  ck_assert_ptr_nonnull(identities);
  ck_assert_ptr_nonnull(procs);
  struct workload_levels levels = {
      .report = report, .names_worker = worker, .identities = identities};
  struct task_record rec = {.key = {.tgid = 4242}, .cgroup_id = 7};
  ck_assert_int_eq(proc_table_update(procs, &rec, 1, true, 1), 0);
  struct workload_id id = {.kind = WORKLOAD_CONTAINER,
                           .runtime = RUNTIME_DOCKER};
  snprintf(id.id, sizeof(id.id), "%s", ID1);
  size_t pos = 0;
  struct proc_entry *e = proc_table_next(procs, &pos);
  ck_assert_ptr_nonnull(e);
  e->workload = workload_set_intern(identities, &id);
  ck_assert_ptr_nonnull(e->workload);

  struct workload_levels_report r = aggregate(&levels, procs);
  ck_assert_str_eq(r.workloads[0]->names.name, "web-1");
  ck_assert_int_eq(done_count(), 1);
  r = aggregate(&levels, procs);
  ck_assert_int_eq(done_count(), 1); /* not asked again */

  /* The same container in a new interval set: held this time. */
  workload_levels_free(&levels);
  levels = (struct workload_levels){
      .report = report, .names_worker = worker, .identities = identities};
  set_hold(true);
  r = aggregate(&levels, procs);
  ck_assert_str_eq(r.workloads[0]->names.name, ""); /* by its id */
  ck_assert_int_eq(done_count(), 1);                /* still held */
  set_hold(false);
  while (done_count() < 2)
    usleep(1000);
  r = aggregate(&levels, procs);
  ck_assert_str_eq(r.workloads[0]->names.name, "web-1");
  ck_assert_int_eq(done_count(), 2);

  workload_levels_free(&levels);
  proc_table_free(procs);
  workload_set_free(identities);
}
END_TEST

START_TEST(test_wait_is_bounded) {
  ck_assert(runtime_names_worker_wait(worker, mono_clock_ns()));
  ck_assert_int_eq(runtime_names_worker_request(worker, RUNTIME_DOCKER, ID1),
                   0);
  ck_assert(runtime_names_worker_wait(worker, mono_clock_ns() + 10000000000u));
  ck_assert_int_eq(done_count(), 1);
  set_hold(true);
  ck_assert_int_eq(runtime_names_worker_request(worker, RUNTIME_DOCKER, ID2),
                   0);
  /* Held: the wait ends at its deadline, the worker busy. */
  ck_assert(!runtime_names_worker_wait(worker, mono_clock_ns() + 20000000u));
  set_hold(false);
  ck_assert(runtime_names_worker_wait(worker, mono_clock_ns() + 10000000000u));
  ck_assert_int_eq(done_count(), 2);
}
END_TEST

START_TEST(test_id_too_long) {
  char id[CONTAINER_NAME_LEN + 1];
  memset(id, 'a', sizeof(id) - 1);
  id[sizeof(id) - 1] = '\0';
  ck_assert_int_eq(runtime_names_worker_request(worker, RUNTIME_DOCKER, id),
                   -EINVAL);
}
END_TEST

int main(void) {
  Suite *s = suite_create("runtime_names_worker");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_names_arrive_at_a_later_collect);
  tcase_add_test(tc, test_no_record_hands_empty_names);
  tcase_add_test(tc, test_held_lookup_blocks_nothing);
  tcase_add_test(tc, test_stop_joins_the_worker);
  tcase_add_test(tc, test_container_named_at_its_first_aggregation);
  tcase_add_test(tc, test_wait_is_bounded);
  tcase_add_test(tc, test_id_too_long);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
