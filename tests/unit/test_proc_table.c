// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/proc_table.c: the kernel's delta records (several per
 * process, one final record at its exit) added up per process and turned
 * into per-second rates, the exit lifecycle and full walks, and the hash
 * table itself (growth and backward-shift deletion). */
#include "proc_table.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

/* --- Fixture: one table per test, freed even when a test fails ----------- */

static struct proc_table *tbl;

static void setup(void) {
  tbl = proc_table_new();
  ck_assert_ptr_nonnull(tbl);
}

static void teardown(void) {
  proc_table_free(tbl);
  tbl = NULL;
}

/* --- Helpers ------------------------------------------------------------- */

static struct proc_key key_of(uint32_t tgid, uint64_t start_ns) {
  struct proc_key k;
  memset(&k, 0, sizeof(k));
  k.tgid = tgid;
  k.start_ns = start_ns;
  return k;
}

/* A record with only CPU time set. */
static struct task_record record(uint32_t tgid, uint64_t start_ns,
                                 uint64_t cpu_ns) {
  struct task_record r;
  memset(&r, 0, sizeof(r));
  r.key = key_of(tgid, start_ns);
  r.cpu_ns = cpu_ns;
  snprintf(r.comm, sizeof(r.comm), "p%u", tgid);
  return r;
}

/* A process's final record. */
static struct task_record final_record(uint32_t tgid, uint64_t start_ns,
                                       uint64_t cpu_ns) {
  struct task_record r = record(tgid, start_ns, cpu_ns);
  r.flags = RECORD_EXITED;
  return r;
}

/* Every amount of a record, one distinct value each so that a swapped
 * feature shows. */
struct amounts {
  uint64_t cpu_ns, cycles, instructions, cache_misses, page_cache_hit;
  uint64_t net_rx, net_tx, block;
};

static void set_amounts(struct task_record *r, const struct amounts *a) {
  r->cpu_ns = a->cpu_ns;
  r->count[KEPLER_COUNT_CYCLES] = a->cycles;
  r->count[KEPLER_COUNT_INSTRUCTIONS] = a->instructions;
  r->count[KEPLER_COUNT_CACHE_MISSES] = a->cache_misses;
  r->count[KEPLER_COUNT_PAGE_CACHE_HIT] = a->page_cache_hit;
  r->count[KEPLER_COUNT_NET_RX] = a->net_rx;
  r->count[KEPLER_COUNT_NET_TX] = a->net_tx;
  r->count[KEPLER_COUNT_BLOCK] = a->block;
}

/* Every rate of e is amounts / dt (CPU time in ms). */
static void check_rates(const struct proc_entry *e, const struct amounts *a,
                        double dt) {
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], (double)a->cpu_ns / 1e6 / dt);
  ck_assert_close(e->rate[FEATURE_CPU_CYCLES], (double)a->cycles / dt);
  ck_assert_close(e->rate[FEATURE_CPU_INSTRUCTIONS],
                  (double)a->instructions / dt);
  ck_assert_close(e->rate[FEATURE_CACHE_MISS], (double)a->cache_misses / dt);
  ck_assert_close(e->rate[FEATURE_PAGE_CACHE_HIT],
                  (double)a->page_cache_hit / dt);
  ck_assert_close(e->rate[FEATURE_NET_RX_IRQ], (double)a->net_rx / dt);
  ck_assert_close(e->rate[FEATURE_NET_TX_IRQ], (double)a->net_tx / dt);
  ck_assert_close(e->rate[FEATURE_BLOCK_IRQ], (double)a->block / dt);
}

static void check_all_rates_zero(const struct proc_entry *e) {
  for (int f = 0; f < FEATURE_MAX; f++)
    ck_assert_msg(e->rate[f] == 0, "feature %d rate %g, want 0", f, e->rate[f]);
}

static bool same_key(const struct proc_key *a, const struct proc_key *b) {
  return a->tgid == b->tgid && a->start_ns == b->start_ns;
}

/* The entry for (tgid, start_ns), found by iterating the whole table; fails
 * the test if the key is there more than once. NULL if absent. */
static struct proc_entry *find(uint32_t tgid, uint64_t start_ns) {
  struct proc_key k = key_of(tgid, start_ns);
  struct proc_entry *found = NULL, *e;
  size_t pos = 0, count = 0;
  while ((e = proc_table_next(tbl, &pos)) != NULL) {
    if (same_key(&e->key, &k)) {
      found = e;
      count++;
    }
  }
  ck_assert_msg(count <= 1, "key %u/%llu present %zu times", tgid,
                (unsigned long long)start_ns, count);
  return found;
}

static struct proc_entry *must_find(uint32_t tgid, uint64_t start_ns) {
  struct proc_entry *e = find(tgid, start_ns);
  ck_assert_msg(e != NULL, "key %u/%llu missing", tgid,
                (unsigned long long)start_ns);
  return e;
}

static size_t count_entries(void) {
  size_t pos = 0, n = 0;
  while (proc_table_next(tbl, &pos))
    n++;
  return n;
}

/* One update that must succeed; the table then iterates over as many
 * entries as it says it has, each key once. */
static void update(const struct task_record *r, size_t n, bool full_walk,
                   double dt) {
  ck_assert_int_eq(proc_table_update(tbl, r, n, full_walk, dt), 0);
  ck_assert_uint_eq(proc_table_size(tbl), count_entries());
  size_t pos = 0;
  struct proc_entry *e;
  while ((e = proc_table_next(tbl, &pos)) != NULL)
    find(e->key.tgid, e->key.start_ns);
}

/* --- Rates --------------------------------------------------------------- */

START_TEST(test_empty_table) {
  size_t pos = 0;
  ck_assert_uint_eq(proc_table_size(tbl), 0);
  ck_assert_ptr_null(proc_table_next(tbl, &pos));
  ck_assert_uint_eq(pos, 0);
  /* No records on an empty table, partial and full. */
  update(NULL, 0, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 0);
  update(NULL, 0, true, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 0);
  ck_assert_ptr_null(proc_table_next(tbl, &pos));
}
END_TEST

START_TEST(test_free_null) {
  proc_table_free(NULL);
}
END_TEST

START_TEST(test_new_process_rates) {
  struct task_record r = record(4242, 123456789, 0);
  const struct amounts a = {
      .cpu_ns = 1500000000, /* 1.5 s of CPU time */
      .cycles = 4000000000,
      .instructions = 6000000000,
      .cache_misses = 20000,
      .page_cache_hit = 3000,
      .net_rx = 300,
      .net_tx = 50,
      .block = 8,
  };
  set_amounts(&r, &a);
  r.cgroup_id = 777;
  strcpy(r.comm, "worker");
  update(&r, 1, false, 2.0);

  ck_assert_uint_eq(proc_table_size(tbl), 1);
  struct proc_entry *e = must_find(4242, 123456789);
  /* 1500 ms of CPU over 2 s. */
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 750.0);
  ck_assert_close(e->rate[FEATURE_CPU_CYCLES], 2000000000.0);
  ck_assert_close(e->rate[FEATURE_CPU_INSTRUCTIONS], 3000000000.0);
  ck_assert_close(e->rate[FEATURE_CACHE_MISS], 10000.0);
  ck_assert_close(e->rate[FEATURE_PAGE_CACHE_HIT], 1500.0);
  ck_assert_close(e->rate[FEATURE_NET_RX_IRQ], 150.0);
  ck_assert_close(e->rate[FEATURE_NET_TX_IRQ], 25.0);
  ck_assert_close(e->rate[FEATURE_BLOCK_IRQ], 4.0);
  ck_assert(e->active);
  ck_assert_str_eq(e->comm, "worker");
  ck_assert_uint_eq(e->cgroup_id, 777);
  ck_assert_uint_eq(e->flags, 0);
  /* What was added went into the rates. */
  for (int f = 0; f < FEATURE_MAX; f++)
    ck_assert_msg(e->added[f] == 0, "feature %d still has %llu added", f,
                  (unsigned long long)e->added[f]);
}
END_TEST

/* Each amount alone, in its own process: it shows in its feature only. */
START_TEST(test_feature_mapping) {
  static const struct {
    int count; /* index into count[], or -1 for cpu_ns */
    int feature;
  } map[] = {
      {-1, FEATURE_CPU_TIME_MS},
      {KEPLER_COUNT_CYCLES, FEATURE_CPU_CYCLES},
      {KEPLER_COUNT_INSTRUCTIONS, FEATURE_CPU_INSTRUCTIONS},
      {KEPLER_COUNT_CACHE_MISSES, FEATURE_CACHE_MISS},
      {KEPLER_COUNT_PAGE_CACHE_HIT, FEATURE_PAGE_CACHE_HIT},
      {KEPLER_COUNT_NET_RX, FEATURE_NET_RX_IRQ},
      {KEPLER_COUNT_NET_TX, FEATURE_NET_TX_IRQ},
      {KEPLER_COUNT_BLOCK, FEATURE_BLOCK_IRQ},
  };
  /* The map covers every count and every feature once. */
  ck_assert_uint_eq(ARRAY_SIZE(map), FEATURE_MAX);
  ck_assert_uint_eq(ARRAY_SIZE(map), KEPLER_COUNT_MAX + 1);
  unsigned counts_seen = 0, features_seen = 0;
  for (size_t j = 0; j < ARRAY_SIZE(map); j++) {
    counts_seen |= 1u << (map[j].count + 1);
    features_seen |= 1u << map[j].feature;
  }
  ck_assert_uint_eq(counts_seen, (1u << (KEPLER_COUNT_MAX + 1)) - 1);
  ck_assert_uint_eq(features_seen, (1u << FEATURE_MAX) - 1);

  struct task_record r[ARRAY_SIZE(map)];
  for (size_t j = 0; j < ARRAY_SIZE(map); j++) {
    r[j] = record(200 + (uint32_t)j, 1, 0);
    uint64_t v = 1000 * (j + 1);
    if (map[j].count < 0)
      r[j].cpu_ns = v * 1000000; /* v ms */
    else
      r[j].count[map[j].count] = v;
  }
  update(r, ARRAY_SIZE(r), false, 4.0);
  ck_assert_uint_eq(proc_table_size(tbl), ARRAY_SIZE(map));
  for (size_t j = 0; j < ARRAY_SIZE(map); j++) {
    struct proc_entry *e = must_find(200 + (uint32_t)j, 1);
    for (int f = 0; f < FEATURE_MAX; f++) {
      double want = f == map[j].feature ? 1000.0 * (double)(j + 1) / 4.0 : 0;
      ck_assert_msg(fabs(e->rate[f] - want) <= 1e-9 * fmax(1, want),
                    "amount %zu: feature %d rate %g, want %g", j, f, e->rate[f],
                    want);
    }
  }
}
END_TEST

START_TEST(test_delta_two_updates) {
  struct task_record r = record(10, 1, 0);
  const struct amounts a1 = {1000000000, 5000, 7000, 90, 11, 13, 17, 19};
  set_amounts(&r, &a1);
  update(&r, 1, false, 1.0);
  check_rates(must_find(10, 1), &a1, 1.0);

  /* Records are deltas: the next one's amounts are the interval's, smaller
   * or larger than the last ones. */
  const struct amounts a2 = {250000000, 1000, 30000, 10, 4, 600, 2, 1};
  set_amounts(&r, &a2);
  update(&r, 1, false, 0.5);
  struct proc_entry *e = must_find(10, 1);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 500.0); /* 250 ms in 0.5 s */
  check_rates(e, &a2, 0.5);
  ck_assert(e->active);

  /* A record that moved nothing (a full walk's): all rates 0, not active. */
  const struct amounts zero = {0, 0, 0, 0, 0, 0, 0, 0};
  set_amounts(&r, &zero);
  update(&r, 1, true, 1.0);
  e = must_find(10, 1);
  check_all_rates_zero(e);
  ck_assert(!e->active);

  /* Three seconds, 3 s of CPU: 1000 ms/s. */
  r.cpu_ns = 3000000000ull;
  update(&r, 1, false, 3.0);
  ck_assert_close(must_find(10, 1)->rate[FEATURE_CPU_TIME_MS], 1000.0);
}
END_TEST

/* The threads of a process each send a record: they add up. */
START_TEST(test_records_add_up) {
  struct task_record r[5];
  const struct amounts t1 = {10000000, 1, 10, 100, 1000, 10000, 100000, 7};
  const struct amounts t2 = {20000000, 2, 20, 200, 2000, 20000, 200000, 70};
  const struct amounts t3 = {40000000, 4, 40, 400, 4000, 40000, 400000, 700};
  r[0] = record(30, 3, 0);
  set_amounts(&r[0], &t1);
  r[1] = record(31, 3, 5000000); /* another process in between */
  r[2] = record(30, 3, 0);
  set_amounts(&r[2], &t2);
  r[3] = record(30, 3, 0);
  set_amounts(&r[3], &t3);
  r[4] = record(31, 3, 6000000);
  r[0].cgroup_id = 1;
  r[2].cgroup_id = 2;
  r[3].cgroup_id = 3;
  strcpy(r[3].comm, "last");
  update(r, 5, false, 2.0);

  ck_assert_uint_eq(proc_table_size(tbl), 2);
  const struct amounts sum = {70000000, 7, 70, 700, 7000, 70000, 700000, 777};
  struct proc_entry *e = must_find(30, 3);
  check_rates(e, &sum, 2.0);
  ck_assert(e->active);
  /* Identity from the last record. */
  ck_assert_uint_eq(e->cgroup_id, 3);
  ck_assert_str_eq(e->comm, "last");
  ck_assert_close(must_find(31, 3)->rate[FEATURE_CPU_TIME_MS], 5.5);

  /* The next update counts only its own records. */
  update(&r[2], 1, false, 1.0);
  check_rates(must_find(30, 3), &t2, 1.0);
  ck_assert(must_find(31, 3)->rate[FEATURE_CPU_TIME_MS] == 0);
}
END_TEST

START_TEST(test_several_processes_independent) {
  struct task_record r[3] = {record(1, 100, 100000000),
                             record(2, 200, 200000000),
                             record(3, 300, 300000000)};
  update(r, 3, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 3);
  ck_assert_close(must_find(1, 100)->rate[FEATURE_CPU_TIME_MS], 100.0);
  ck_assert_close(must_find(2, 200)->rate[FEATURE_CPU_TIME_MS], 200.0);
  ck_assert_close(must_find(3, 300)->rate[FEATURE_CPU_TIME_MS], 300.0);

  /* Different order in the next sample: rates follow the key. */
  struct task_record s[3] = {record(3, 300, 30000000), record(1, 100, 10000000),
                             record(2, 200, 20000000)};
  update(s, 3, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 3);
  ck_assert_close(must_find(1, 100)->rate[FEATURE_CPU_TIME_MS], 10.0);
  ck_assert_close(must_find(2, 200)->rate[FEATURE_CPU_TIME_MS], 20.0);
  ck_assert_close(must_find(3, 300)->rate[FEATURE_CPU_TIME_MS], 30.0);
}
END_TEST

/* Without a full walk, a process without a record did not move: it stays,
 * with rates 0 and what it was. */
START_TEST(test_no_record_rate_zero_stays) {
  struct task_record r[2] = {record(40, 4, 0), record(41, 4, 8000000)};
  const struct amounts a = {30000000, 3, 5, 7, 11, 13, 17, 19};
  set_amounts(&r[0], &a);
  r[0].cgroup_id = 99;
  strcpy(r[0].comm, "quiet");
  r[0].flags = RECORD_KTHREAD;
  update(r, 2, false, 1.0);
  check_rates(must_find(40, 4), &a, 1.0);

  update(&r[1], 1, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  struct proc_entry *e = must_find(40, 4);
  check_all_rates_zero(e);
  ck_assert(!e->active);
  ck_assert_uint_eq(e->cgroup_id, 99);
  ck_assert_str_eq(e->comm, "quiet");
  ck_assert_uint_eq(e->flags, RECORD_KTHREAD);
  ck_assert_close(must_find(41, 4)->rate[FEATURE_CPU_TIME_MS], 8.0);

  /* Nobody moved. */
  update(NULL, 0, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  check_all_rates_zero(must_find(40, 4));
  check_all_rates_zero(must_find(41, 4));
  ck_assert(!must_find(41, 4)->active);

  /* Moving again, it counts only the new record. */
  const struct amounts b = {2000000, 20, 30, 40, 50, 60, 70, 80};
  set_amounts(&r[0], &b);
  update(&r[0], 1, false, 2.0);
  check_rates(must_find(40, 4), &b, 2.0);
  ck_assert(must_find(40, 4)->active);
}
END_TEST

/* dt 0 (the first sample): entries exist, rates are finite zeros, and the
 * amounts are not carried into the next interval. */
START_TEST(test_zero_dt_is_baseline) {
  struct task_record r[2] = {record(5, 5, 0), final_record(6, 6, 0)};
  const struct amounts a = {1000000000, 2, 3, 4, 5, 6, 7, 8};
  set_amounts(&r[0], &a);
  set_amounts(&r[1], &a);
  update(r, 2, false, 0.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  struct proc_entry *e = must_find(5, 5);
  for (int f = 0; f < FEATURE_MAX; f++)
    ck_assert_msg(isfinite(e->rate[f]) && e->rate[f] == 0,
                  "feature %d rate %g with dt 0", f, e->rate[f]);
  ck_assert(!e->active);
  ck_assert_str_eq(e->comm, "p5");
  /* Exited: active even without a rate. */
  e = must_find(6, 6);
  check_all_rates_zero(e);
  ck_assert(e->active);

  r[0].cpu_ns = 7000000;
  update(&r[0], 1, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
  ck_assert_close(must_find(5, 5)->rate[FEATURE_CPU_TIME_MS], 7.0);
  ck_assert_close(must_find(5, 5)->rate[FEATURE_CPU_CYCLES], 2.0);
}
END_TEST

/* --- active -------------------------------------------------------------- */

START_TEST(test_active_flag) {
  struct task_record r[2] = {record(50, 1, 0), record(51, 1, 5000000)};
  /* Events without CPU time do not make a process run. */
  r[0].count[KEPLER_COUNT_NET_RX] = 100;
  r[0].count[KEPLER_COUNT_PAGE_CACHE_HIT] = 100;
  update(r, 2, false, 1.0);
  ck_assert(!must_find(50, 1)->active);
  ck_assert_close(must_find(50, 1)->rate[FEATURE_NET_RX_IRQ], 100.0);
  ck_assert(must_find(51, 1)->active);

  /* 51 sent no record; 50 ran 1 ns. */
  r[0].cpu_ns = 1;
  update(&r[0], 1, false, 1.0);
  ck_assert(must_find(50, 1)->active);
  ck_assert(!must_find(51, 1)->active);

  /* Neither moved. */
  update(NULL, 0, false, 1.0);
  ck_assert(!must_find(50, 1)->active);
  ck_assert(!must_find(51, 1)->active);
}
END_TEST

START_TEST(test_exited_active_without_cpu) {
  struct task_record r = record(52, 1, 20000000);
  update(&r, 1, false, 1.0);
  update(NULL, 0, false, 1.0);
  ck_assert(!must_find(52, 1)->active);
  /* Its final record holds nothing new: still reported, once. */
  r = final_record(52, 1, 0);
  update(&r, 1, false, 1.0);
  struct proc_entry *e = must_find(52, 1);
  ck_assert(e->active);
  check_all_rates_zero(e);
  ck_assert_uint_eq(e->flags, RECORD_EXITED);

  /* A kernel thread seen first at its exit. */
  r = final_record(53, 1, 0);
  r.flags |= RECORD_KTHREAD;
  update(&r, 1, false, 1.0);
  ck_assert_ptr_null(find(52, 1));
  e = must_find(53, 1);
  ck_assert(e->active);
  ck_assert_uint_eq(e->flags, RECORD_EXITED | RECORD_KTHREAD);
}
END_TEST

/* Flags are the last record's, but RECORD_EXITED sticks. */
START_TEST(test_flags_from_records) {
  struct task_record r = record(54, 1, 1000000);
  r.flags = RECORD_KTHREAD;
  update(&r, 1, false, 1.0);
  ck_assert_uint_eq(must_find(54, 1)->flags, RECORD_KTHREAD);
  /* No record: flags kept. */
  update(NULL, 0, false, 1.0);
  ck_assert_uint_eq(must_find(54, 1)->flags, RECORD_KTHREAD);
  /* A record without the flag: copied. */
  r.flags = 0;
  update(&r, 1, false, 1.0);
  ck_assert_uint_eq(must_find(54, 1)->flags, 0);

  /* The final record first, then a thread's record in the same sample. */
  struct task_record s[3] = {final_record(54, 1, 2000000),
                             record(54, 1, 3000000), record(55, 1, 1000000)};
  update(s, 3, false, 1.0);
  struct proc_entry *e = must_find(54, 1);
  ck_assert_uint_eq(e->flags, RECORD_EXITED);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 5.0);
  ck_assert(e->active);
  ck_assert_uint_eq(must_find(55, 1)->flags, 0);
  /* ... so it leaves at the next update. */
  update(NULL, 0, false, 1.0);
  ck_assert_ptr_null(find(54, 1));
  ck_assert_ptr_nonnull(find(55, 1));
}
END_TEST

/* --- Exit lifecycle and full walks --------------------------------------- */

START_TEST(test_exited_reported_once) {
  struct task_record r[3] = {record(60, 6, 10000000), record(61, 6, 10000000),
                             record(62, 6, 10000000)};
  update(r, 3, false, 1.0);

  struct task_record s[2] = {final_record(60, 6, 4000000),
                             record(61, 6, 1000000)};
  update(s, 2, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 3);
  struct proc_entry *e = must_find(60, 6);
  ck_assert(e->active);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 4.0);
  ck_assert_uint_eq(e->flags, RECORD_EXITED);
  ck_assert_uint_eq(must_find(61, 6)->flags, 0);
  ck_assert_uint_eq(must_find(62, 6)->flags, 0);

  /* Gone at the next update, without a full walk; the others stay. */
  update(NULL, 0, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  ck_assert_ptr_null(find(60, 6));
  ck_assert_ptr_nonnull(find(61, 6));
  ck_assert_ptr_nonnull(find(62, 6));
  update(NULL, 0, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);

  /* The survivors' amounts are intact. */
  r[1].cpu_ns = 7000000;
  update(&r[1], 1, false, 1.0);
  ck_assert_close(must_find(61, 6)->rate[FEATURE_CPU_TIME_MS], 7.0);
}
END_TEST

/* Born and gone within one interval: the final record is its only one. */
START_TEST(test_exited_never_seen) {
  struct task_record y = record(71, 7, 1000000);
  update(&y, 1, false, 1.0);

  struct task_record r[2] = {final_record(70, 7, 2000000), y};
  strcpy(r[0].comm, "short");
  r[0].cgroup_id = 12;
  /* A full walk: the final record counts as its record. */
  update(r, 2, true, 0.5);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  struct proc_entry *e = must_find(70, 7);
  ck_assert(e->active);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 4.0);
  ck_assert_uint_eq(e->flags, RECORD_EXITED);
  ck_assert_str_eq(e->comm, "short");
  ck_assert_uint_eq(e->cgroup_id, 12);

  update(&y, 1, true, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
  ck_assert_ptr_null(find(70, 7));
  ck_assert_ptr_nonnull(find(71, 7));
}
END_TEST

/* A record for a key after its final one (a duplicate final, a late
 * thread): a new entry with only that record's amounts. */
START_TEST(test_record_after_exit_is_fresh) {
  struct task_record r = record(80, 8, 10000000);
  update(&r, 1, false, 1.0);
  r = final_record(80, 8, 5000000);
  update(&r, 1, false, 1.0);
  ck_assert_close(must_find(80, 8)->rate[FEATURE_CPU_TIME_MS], 5.0);
  must_find(80, 8)->energy_j = 42; /* charged for its life */

  /* A duplicate final record: reported once more, on its own. */
  r = final_record(80, 8, 3000000);
  update(&r, 1, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
  struct proc_entry *e = must_find(80, 8);
  ck_assert(e->energy_j == 0);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 3.0);
  ck_assert(e->active);
  ck_assert_uint_eq(e->flags, RECORD_EXITED);
  update(NULL, 0, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 0);

  /* A late record without the flag makes an entry that stays until a full
   * walk finds the process gone. */
  r = final_record(81, 8, 1000000);
  update(&r, 1, false, 1.0);
  must_find(81, 8)->energy_j = 7;
  r = record(81, 8, 2000000);
  update(&r, 1, false, 1.0);
  e = must_find(81, 8);
  ck_assert(e->energy_j == 0);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 2.0);
  ck_assert_uint_eq(e->flags, 0);
  update(NULL, 0, false, 1.0);
  ck_assert_ptr_nonnull(find(81, 8));
  update(NULL, 0, true, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 0);
}
END_TEST

/* Several leave in one update, the last entry among them (it moves into a
 * leaver's place and must be looked at there). */
START_TEST(test_exited_removed_when_last_moves_in) {
  struct task_record r[5];
  for (uint32_t i = 0; i < 5; i++)
    r[i] = record(90 + i, 9, 1000000 * (i + 1));
  update(r, 5, false, 1.0);
  for (uint32_t i = 0; i < 5; i++)
    if (i == 1 || i >= 3)
      r[i].flags = RECORD_EXITED;
  update(r, 5, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 5);

  update(NULL, 0, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  ck_assert_ptr_nonnull(find(90, 9));
  ck_assert_ptr_null(find(91, 9));
  ck_assert_ptr_nonnull(find(92, 9));
  ck_assert_ptr_null(find(93, 9));
  ck_assert_ptr_null(find(94, 9));
}
END_TEST

START_TEST(test_full_walk_removes_unrecorded) {
  struct task_record r[5];
  for (uint32_t i = 0; i < 5; i++)
    r[i] = record(100 + i, 10, 1000000 * (i + 1));
  update(r, 5, false, 1.0);

  /* A full walk with records for 102 (nothing moved), 104 and a newcomer:
   * the three without one are gone. */
  struct task_record s[3] = {record(102, 10, 0), record(104, 10, 3000000),
                             record(105, 10, 4000000)};
  update(s, 3, true, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 3);
  ck_assert_ptr_null(find(100, 10));
  ck_assert_ptr_null(find(101, 10));
  ck_assert_ptr_null(find(103, 10));
  struct proc_entry *e = must_find(102, 10);
  check_all_rates_zero(e);
  ck_assert(!e->active);
  ck_assert_close(must_find(104, 10)->rate[FEATURE_CPU_TIME_MS], 3.0);
  ck_assert_close(must_find(105, 10)->rate[FEATURE_CPU_TIME_MS], 4.0);

  /* The same records without a full walk remove nothing. */
  update(&s[2], 1, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 3);
}
END_TEST

/* An entry that moves into a removed one's place still gets its rates. */
START_TEST(test_full_walk_moved_entry_rated) {
  struct task_record r[3] = {record(110, 1, 1000000), record(111, 1, 1000000),
                             record(112, 1, 9000000)};
  update(r, 3, false, 1.0);
  ck_assert_close(must_find(112, 1)->rate[FEATURE_CPU_TIME_MS], 9.0);
  struct task_record s[2] = {record(111, 1, 1000000), record(112, 1, 2000000)};
  update(s, 2, true, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  ck_assert_ptr_null(find(110, 1));
  ck_assert_close(must_find(111, 1)->rate[FEATURE_CPU_TIME_MS], 1.0);
  ck_assert_close(must_find(112, 1)->rate[FEATURE_CPU_TIME_MS], 2.0);
  /* Its amounts were taken: nothing is left over for the next update. */
  update(NULL, 0, false, 1.0);
  check_all_rates_zero(must_find(112, 1));
  check_all_rates_zero(must_find(111, 1));
}
END_TEST

START_TEST(test_full_walk_empty_drops_all) {
  struct task_record r[3] = {record(120, 1, 1000000), record(121, 1, 0),
                             final_record(122, 1, 0)};
  update(r, 3, false, 1.0);
  update(NULL, 0, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2); /* 122 exited */
  update(NULL, 0, true, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 0);
  size_t pos = 0;
  ck_assert_ptr_null(proc_table_next(tbl, &pos));
  /* Usable afterwards. */
  update(r, 1, false, 1.0);
  ck_assert_close(must_find(120, 1)->rate[FEATURE_CPU_TIME_MS], 1.0);
}
END_TEST

START_TEST(test_pid_reuse) {
  struct task_record old = record(130, 1000, 400000000);
  update(&old, 1, false, 1.0);

  /* The old process exits and its pid is reused in the same interval. */
  old = final_record(130, 1000, 100000000);
  strcpy(old.comm, "old");
  struct task_record young = record(130, 2000, 30000000);
  strcpy(young.comm, "young");
  struct task_record both[2] = {old, young};
  update(both, 2, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  ck_assert_close(must_find(130, 1000)->rate[FEATURE_CPU_TIME_MS], 100.0);
  ck_assert_close(must_find(130, 2000)->rate[FEATURE_CPU_TIME_MS], 30.0);
  ck_assert_str_eq(must_find(130, 1000)->comm, "old");
  ck_assert_str_eq(must_find(130, 2000)->comm, "young");
  ck_assert_uint_eq(must_find(130, 2000)->flags, 0);

  /* The old one leaves, the new one keeps its own amounts. */
  young.cpu_ns = 20000000;
  update(&young, 1, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
  ck_assert_ptr_null(find(130, 1000));
  ck_assert_close(must_find(130, 2000)->rate[FEATURE_CPU_TIME_MS], 20.0);
  ck_assert_str_eq(must_find(130, 2000)->comm, "young");
}
END_TEST

/* --- Identity ------------------------------------------------------------ */

START_TEST(test_comm_copied_terminated) {
  struct task_record r = record(140, 7, 1000000);
  /* The kernel's comm is 16 bytes; fill all of them, no NUL. */
  memcpy(r.comm, "abcdefghijklmnop", KEPLER_COMM_LEN);
  update(&r, 1, false, 1.0);
  struct proc_entry *e = must_find(140, 7);
  ck_assert_uint_eq(strnlen(e->comm, sizeof(e->comm)), KEPLER_COMM_LEN - 1);
  ck_assert_str_eq(e->comm, "abcdefghijklmno");

  /* exec renames it; the cgroup moves. */
  memset(r.comm, 0, sizeof(r.comm));
  strcpy(r.comm, "sh");
  r.cgroup_id = 4242;
  update(&r, 1, false, 1.0);
  e = must_find(140, 7);
  ck_assert_str_eq(e->comm, "sh");
  ck_assert_uint_eq(e->cgroup_id, 4242);

  /* An empty comm stays empty. */
  memset(r.comm, 0, sizeof(r.comm));
  update(&r, 1, false, 1.0);
  ck_assert_str_eq(must_find(140, 7)->comm, "");
}
END_TEST

/* --- The hash table at scale --------------------------------------------- */

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t rng_state;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

#define MANY 6000
#define FIRST_WAVE 5000
#define MAX_PARTS 3 /* records (threads) per process and update */
/* Process i: tgid 1 + i % 2500 (processes share a pid, as after pid reuse),
 * start_ns i * 1000 + 7. */
static uint32_t many_tgid(size_t i) {
  return 1 + (uint32_t)(i % 2500);
}
static uint64_t many_start(size_t i) {
  return (uint64_t)i * 1000 + 7;
}

enum {
  OUT,      /* not in the table */
  LIVE,     /* in the table, has records when it moves */
  EXITING,  /* sends its final record this update */
  VANISHED, /* gone without a final record: in the table until a full walk */
};
static unsigned char many_state[MANY];
static uint64_t many_ns[MANY]; /* CPU ns process i reported this update */
/* The mark the test left in process i's entry (energy_j); 0: none yet. A
 * lost entry comes back without it, a moved one must take it along. */
static uint32_t many_mark[MANY];
static uint32_t many_marks;
static unsigned char many_seen[MANY];
static struct task_record many_records[MANY * MAX_PARTS];

static void many_reset(uint64_t seed) {
  memset(many_state, OUT, sizeof(many_state));
  memset(many_mark, 0, sizeof(many_mark));
  many_marks = 0;
  rng_state = seed;
}

/* This update's records, shuffled: the LIVE processes that moved (newcomers
 * always; every one on a full walk, unmoved ones with a record of zeros) and
 * every EXITING one's final record, each process's CPU time split
 * over 1..MAX_PARTS records. */
static size_t many_build(bool full_walk, unsigned idle_permille) {
  size_t n = 0;
  for (size_t i = 0; i < MANY; i++) {
    many_ns[i] = 0;
    if (many_state[i] != LIVE && many_state[i] != EXITING)
      continue;
    /* Not in the table yet (no mark): born in this interval, it ran. */
    bool moved = !many_mark[i] || rng() % 1000 >= idle_permille;
    if (many_state[i] == LIVE && !moved && !full_walk)
      continue;
    if (moved)
      many_ns[i] = (1 + rng() % 5000) * 1000000ull;
    unsigned parts = 1 + (unsigned)(rng() % MAX_PARTS);
    uint64_t left = many_ns[i];
    for (unsigned p = 0; p < parts; p++) {
      uint64_t ns = p + 1 == parts ? left : rng() % (left + 1);
      left -= ns;
      many_records[n] = record(many_tgid(i), many_start(i), ns);
      if (many_state[i] == EXITING && p == 0)
        many_records[n].flags = RECORD_EXITED;
      n++;
    }
  }
  for (size_t k = n; k > 1; k--) {
    size_t j = (size_t)(rng() % k);
    struct task_record tmp = many_records[k - 1];
    many_records[k - 1] = many_records[j];
    many_records[j] = tmp;
  }
  return n;
}

/* The table holds exactly the processes not OUT, each once, with its own
 * rate, activity, exit flag and mark; marks the new ones. */
static void check_many(double dt) {
  size_t expected = 0;
  for (size_t i = 0; i < MANY; i++)
    expected += many_state[i] != OUT;
  ck_assert_uint_eq(proc_table_size(tbl), expected);

  memset(many_seen, 0, sizeof(many_seen));
  size_t pos = 0, n = 0;
  struct proc_entry *e;
  while ((e = proc_table_next(tbl, &pos)) != NULL) {
    n++;
    uint64_t st = e->key.start_ns;
    size_t i = (size_t)((st - 7) / 1000);
    /* Plain tests, ck_abort only on failure: a check assertion per entry
     * costs a write to the runner. */
    if ((st - 7) % 1000 != 0 || i >= MANY || e->key.tgid != many_tgid(i))
      ck_abort_msg("unknown key %u/%llu", e->key.tgid, (unsigned long long)st);
    if (many_state[i] == OUT)
      ck_abort_msg("process %zu should not be there", i);
    if (many_seen[i])
      ck_abort_msg("process %zu present twice", i);
    many_seen[i] = 1;
    double want = (double)many_ns[i] / 1e6 / dt;
    if (!(fabs(e->rate[FEATURE_CPU_TIME_MS] - want) <= 1e-9 * fmax(1, want)))
      ck_abort_msg("process %zu rate %.17g, want %.17g", i,
                   e->rate[FEATURE_CPU_TIME_MS], want);
    bool exiting = many_state[i] == EXITING;
    if (e->active != (many_ns[i] > 0 || exiting))
      ck_abort_msg("process %zu active %d", i, e->active);
    if (((e->flags & RECORD_EXITED) != 0) != exiting)
      ck_abort_msg("process %zu flags %#x", i, e->flags);
    if (e->energy_j != (double)many_mark[i])
      ck_abort_msg("process %zu mark %g, want %u", i, e->energy_j,
                   many_mark[i]);
    if (!many_mark[i]) {
      many_mark[i] = ++many_marks;
      e->energy_j = many_mark[i];
    }
  }
  ck_assert_uint_eq(n, expected);
}

/* One update: records built, the table updated and checked; then the
 * EXITING processes are OUT (they leave at the next update). */
static void many_update(bool full_walk, double dt, unsigned idle_permille) {
  size_t n = many_build(full_walk, idle_permille);
  ck_assert_int_eq(proc_table_update(tbl, many_records, n, full_walk, dt), 0);
  for (size_t i = 0; i < MANY; i++) {
    if (full_walk && many_state[i] == VANISHED) {
      many_state[i] = OUT;
      many_mark[i] = 0;
    }
  }
  check_many(dt);
  for (size_t i = 0; i < MANY; i++) {
    if (many_state[i] == EXITING) {
      many_state[i] = OUT;
      many_mark[i] = 0;
    }
  }
}

START_TEST(test_many_grow_and_shrink) {
  many_reset(0x9e3779b97f4a7c15ull);

  /* 5000 new processes at once, over 1 s. */
  for (size_t i = 0; i < FIRST_WAVE; i++)
    many_state[i] = LIVE;
  many_update(false, 1.0, 0);

  /* Then most leave at once (exited, or vanished until a full walk), more
   * leave, newcomers land in the holes, some born and gone in one interval,
   * and finally everyone leaves. */
  static const struct {
    unsigned keep_permille; /* of the live processes */
    unsigned exit_permille; /* of those leaving: with a final record */
    unsigned arrive;        /* newcomers */
    bool full_walk;
  } rounds[] = {
      {50, 500, 0, false},  {500, 500, 0, true}, {1000, 0, 400, false},
      {700, 300, 0, false}, {1000, 0, 0, true},  {300, 800, 600, true},
      {1000, 0, 0, false},  {0, 500, 0, false},  {1000, 0, 0, true},
  };
  size_t next_arrival = FIRST_WAVE;
  for (size_t r = 0; r < ARRAY_SIZE(rounds); r++) {
    for (size_t i = 0; i < MANY; i++) {
      if (many_state[i] != LIVE || rng() % 1000 < rounds[r].keep_permille)
        continue;
      many_state[i] =
          rng() % 1000 < rounds[r].exit_permille ? EXITING : VANISHED;
    }
    for (unsigned a = 0; a < rounds[r].arrive && next_arrival < MANY; a++)
      many_state[next_arrival++] = rng() % 10 ? LIVE : EXITING;
    many_update(rounds[r].full_walk, 0.25 * (double)(r + 1), 200);
  }
  ck_assert_uint_eq(proc_table_size(tbl), 0);
  ck_assert_uint_eq(next_arrival, MANY);
}
END_TEST

/* Long churn at the highest load the table allows before it grows (127 of
 * 256 slots, counting the entries a full walk removes only after the new
 * ones are in): long probe runs, many of them wrapping around the end of the
 * slot array, so the backward shift meets every case of its wrap-around
 * test. Processes exit, or vanish until a full walk, and keys come back: a
 * key that came back after leaving must be new. */
#define CHURN_POOL 400
#define CHURN_ALIVE 127
START_TEST(test_churn_full_load) {
  many_reset(0x0123456789abcdefull);
  size_t in_table = 0; /* LIVE and VANISHED: there while newcomers arrive */

  for (int round = 0; round < 3000; round++) {
    for (size_t i = 0; i < CHURN_POOL; i++) {
      if (many_state[i] != LIVE)
        continue;
      uint64_t x = rng() % 16;
      if (x == 0)
        many_state[i] = EXITING;
      else if (x == 1)
        many_state[i] = VANISHED;
    }
    while (in_table < CHURN_ALIVE - (rng() % 8)) {
      size_t i = rng() % CHURN_POOL;
      if (many_state[i] != OUT)
        continue;
      many_state[i] = rng() % 8 ? LIVE : EXITING;
      in_table++;
    }
    many_update(round % 4 == 3, 1.0 + (double)(round % 3), 100);
    in_table = 0;
    for (size_t i = 0; i < CHURN_POOL; i++)
      in_table += many_state[i] != OUT;
  }
}
END_TEST

START_TEST(test_many_exit) {
  static struct task_record r[3000];
  const size_t N = ARRAY_SIZE(r);
  /* Process i ran i ms. */
  for (size_t i = 0; i < N; i++)
    r[i] = record((uint32_t)(10 + i), 99 + i, (uint64_t)i * 1000000);
  update(r, N, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), N);

  /* Two in three exit, with 1 ms in their final record; the others run 2
   * ms. */
  for (size_t i = 0; i < N; i++) {
    bool exits = i % 3 != 0;
    r[i] = record((uint32_t)(10 + i), 99 + i, exits ? 1000000 : 2000000);
    r[i].flags = exits ? RECORD_EXITED : 0;
  }
  update(r, N, false, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), N);
  size_t pos = 0;
  struct proc_entry *e;
  while ((e = proc_table_next(tbl, &pos)) != NULL) {
    size_t i = e->key.tgid - 10;
    ck_assert_uint_lt(i, N);
    ck_assert_uint_eq(e->key.start_ns, 99 + i);
    ck_assert(e->active);
    ck_assert_uint_eq(e->flags, i % 3 ? RECORD_EXITED : 0);
    ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], i % 3 ? 1.0 : 2.0);
  }

  /* The survivors run 4 ms over 2 s; the exited are gone. */
  size_t n = 0;
  for (size_t i = 0; i < N; i += 3)
    r[n++] = record((uint32_t)(10 + i), 99 + i, 4000000);
  update(r, n, false, 2.0);
  ck_assert_uint_eq(proc_table_size(tbl), (N + 2) / 3);
  memset(many_seen, 0, sizeof(many_seen));
  pos = 0;
  size_t seen = 0;
  while ((e = proc_table_next(tbl, &pos)) != NULL) {
    size_t i = e->key.tgid - 10;
    ck_assert_uint_lt(i, N);
    ck_assert_uint_eq(e->key.start_ns, 99 + i);
    ck_assert_uint_eq(i % 3, 0);
    ck_assert_uint_eq(many_seen[i], 0);
    many_seen[i] = 1;
    ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 2.0);
    seen++;
  }
  ck_assert_uint_eq(seen, n);
}
END_TEST

static Suite *proc_table_suite(void) {
  Suite *s = suite_create("proc_table");

  TCase *tc = tcase_create("rates");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_empty_table);
  tcase_add_test(tc, test_free_null);
  tcase_add_test(tc, test_new_process_rates);
  tcase_add_test(tc, test_feature_mapping);
  tcase_add_test(tc, test_delta_two_updates);
  tcase_add_test(tc, test_records_add_up);
  tcase_add_test(tc, test_several_processes_independent);
  tcase_add_test(tc, test_no_record_rate_zero_stays);
  tcase_add_test(tc, test_zero_dt_is_baseline);
  suite_add_tcase(s, tc);

  tc = tcase_create("active");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_active_flag);
  tcase_add_test(tc, test_exited_active_without_cpu);
  tcase_add_test(tc, test_flags_from_records);
  suite_add_tcase(s, tc);

  tc = tcase_create("lifecycle");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_exited_reported_once);
  tcase_add_test(tc, test_exited_never_seen);
  tcase_add_test(tc, test_record_after_exit_is_fresh);
  tcase_add_test(tc, test_exited_removed_when_last_moves_in);
  tcase_add_test(tc, test_full_walk_removes_unrecorded);
  tcase_add_test(tc, test_full_walk_moved_entry_rated);
  tcase_add_test(tc, test_full_walk_empty_drops_all);
  tcase_add_test(tc, test_pid_reuse);
  tcase_add_test(tc, test_comm_copied_terminated);
  suite_add_tcase(s, tc);

  tc = tcase_create("scale");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_many_grow_and_shrink);
  tcase_add_test(tc, test_churn_full_load);
  tcase_add_test(tc, test_many_exit);
  suite_add_tcase(s, tc);

  return s;
}

int main(void) {
  return run_suite(proc_table_suite());
}
