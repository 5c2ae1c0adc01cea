/* Unit tests for plugin/proc_table.c: cumulative kernel counters turned into
 * per-second rates, in-flight slices, the exit lifecycle and the hash table
 * itself (growth and backward-shift deletion). */
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

/* A sample with only CPU time set. */
static struct proc_sample sample(uint32_t tgid, uint64_t start_ns,
                                 uint64_t cpu_ns) {
  struct proc_sample s;
  memset(&s, 0, sizeof(s));
  s.key = key_of(tgid, start_ns);
  s.stats.cpu_ns = cpu_ns;
  snprintf(s.stats.comm, sizeof(s.stats.comm), "p%u", tgid);
  return s;
}

/* Every counter of a sample, one distinct value each so that a swapped
 * feature shows. */
struct counters {
  uint64_t cpu_ns, cycles, instructions, cache_misses, page_cache_hit;
  uint64_t net_rx, net_tx, block;
};

static void set_counters(struct proc_sample *s, const struct counters *c) {
  s->stats.cpu_ns = c->cpu_ns;
  s->stats.hw[KEPLER_HW_CYCLES] = c->cycles;
  s->stats.hw[KEPLER_HW_INSTRUCTIONS] = c->instructions;
  s->stats.hw[KEPLER_HW_CACHE_MISSES] = c->cache_misses;
  s->stats.page_cache_hit = c->page_cache_hit;
  s->stats.softirq[KEPLER_IRQ_NET_RX] = c->net_rx;
  s->stats.softirq[KEPLER_IRQ_NET_TX] = c->net_tx;
  s->stats.softirq[KEPLER_IRQ_BLOCK] = c->block;
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

static void update(const struct proc_sample *s, size_t n,
                   const struct inflight_slice *inf, unsigned ninf, double dt) {
  ck_assert_int_eq(proc_table_update(tbl, s, n, inf, ninf, dt), 0);
  ck_assert_uint_eq(proc_table_size(tbl), count_entries());
}

/* --- Basics -------------------------------------------------------------- */

/* What the core does with reapable keys, less the kernel map delete. */
static size_t reap(struct proc_key *keys, size_t max) {
  size_t n = proc_table_reapable(tbl, keys, max);
  for (size_t i = 0; i < n; i++)
    proc_table_remove(tbl, &keys[i]);
  return n;
}

START_TEST(test_empty_table) {
  size_t pos = 0;
  ck_assert_uint_eq(proc_table_size(tbl), 0);
  ck_assert_ptr_null(proc_table_next(tbl, &pos));
  struct proc_key keys[4];
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);
  /* An empty sample on an empty table. */
  update(NULL, 0, NULL, 0, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 0);
}
END_TEST

START_TEST(test_free_null) {
  proc_table_free(NULL);
}
END_TEST

START_TEST(test_new_process_rates) {
  struct proc_sample s = sample(4242, 123456789, 0);
  const struct counters c = {
      .cpu_ns = 1500000000, /* 1.5 s of CPU time */
      .cycles = 4000000000,
      .instructions = 6000000000,
      .cache_misses = 20000,
      .page_cache_hit = 3000,
      .net_rx = 300,
      .net_tx = 50,
      .block = 8,
  };
  set_counters(&s, &c);
  s.stats.cgroup_id = 777;
  strcpy(s.stats.comm, "worker");
  update(&s, 1, NULL, 0, 2.0);

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
  ck_assert_uint_eq(e->key.tgid, 4242);
  ck_assert_uint_eq(e->key.start_ns, 123456789);
}
END_TEST

START_TEST(test_delta_two_updates) {
  struct proc_sample s = sample(10, 1, 0);
  const struct counters c1 = {1000000000, 5000, 7000, 90, 11, 13, 17, 19};
  set_counters(&s, &c1);
  update(&s, 1, NULL, 0, 1.0);

  /* Half a second later every counter moved by a known amount. */
  const struct counters c2 = {1000000000 + 250000000,
                              5000 + 1000,
                              7000 + 3000,
                              90 + 10,
                              11 + 4,
                              13 + 6,
                              17 + 2,
                              19 + 1};
  set_counters(&s, &c2);
  update(&s, 1, NULL, 0, 0.5);

  struct proc_entry *e = must_find(10, 1);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 500.0); /* 250 ms in 0.5 s */
  ck_assert_close(e->rate[FEATURE_CPU_CYCLES], 2000.0);
  ck_assert_close(e->rate[FEATURE_CPU_INSTRUCTIONS], 6000.0);
  ck_assert_close(e->rate[FEATURE_CACHE_MISS], 20.0);
  ck_assert_close(e->rate[FEATURE_PAGE_CACHE_HIT], 8.0);
  ck_assert_close(e->rate[FEATURE_NET_RX_IRQ], 12.0);
  ck_assert_close(e->rate[FEATURE_NET_TX_IRQ], 4.0);
  ck_assert_close(e->rate[FEATURE_BLOCK_IRQ], 2.0);
  ck_assert(e->active);

  /* Nothing moved: all rates 0, not active. */
  update(&s, 1, NULL, 0, 1.0);
  e = must_find(10, 1);
  for (int f = 0; f < FEATURE_MAX; f++)
    ck_assert_msg(e->rate[f] == 0, "feature %d rate %g", f, e->rate[f]);
  ck_assert(!e->active);

  /* Three seconds, 3 s of CPU: 1000 ms/s. */
  s.stats.cpu_ns += 3000000000ull;
  update(&s, 1, NULL, 0, 3.0);
  ck_assert_close(must_find(10, 1)->rate[FEATURE_CPU_TIME_MS], 1000.0);
}
END_TEST

START_TEST(test_several_processes_independent) {
  struct proc_sample s[3] = {sample(1, 100, 100000000),
                             sample(2, 200, 200000000),
                             sample(3, 300, 300000000)};
  update(s, 3, NULL, 0, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 3);
  ck_assert_close(must_find(1, 100)->rate[FEATURE_CPU_TIME_MS], 100.0);
  ck_assert_close(must_find(2, 200)->rate[FEATURE_CPU_TIME_MS], 200.0);
  ck_assert_close(must_find(3, 300)->rate[FEATURE_CPU_TIME_MS], 300.0);

  /* Different order in the next sample: rates follow the key. */
  struct proc_sample t[3] = {sample(3, 300, 300000000 + 30000000),
                             sample(1, 100, 100000000 + 10000000),
                             sample(2, 200, 200000000 + 20000000)};
  update(t, 3, NULL, 0, 1.0);
  ck_assert_close(must_find(1, 100)->rate[FEATURE_CPU_TIME_MS], 10.0);
  ck_assert_close(must_find(2, 200)->rate[FEATURE_CPU_TIME_MS], 20.0);
  ck_assert_close(must_find(3, 300)->rate[FEATURE_CPU_TIME_MS], 30.0);
}
END_TEST

START_TEST(test_zero_dt_is_finite) {
  struct proc_sample s = sample(5, 5, 1000000000);
  s.stats.softirq[KEPLER_IRQ_NET_RX] = 10;
  update(&s, 1, NULL, 0, 0.0);
  struct proc_entry *e = must_find(5, 5);
  for (int f = 0; f < FEATURE_MAX; f++)
    ck_assert_msg(isfinite(e->rate[f]) && e->rate[f] >= 0,
                  "feature %d rate %g with dt 0", f, e->rate[f]);
}
END_TEST

/* --- Counters that go backwards ------------------------------------------ */

START_TEST(test_backwards_is_zero_not_wrap) {
  struct proc_sample s = sample(7, 70, 0);
  const struct counters c1 = {5000000000, 1000, 1000, 1000,
                              1000,       1000, 1000, 1000};
  set_counters(&s, &c1);
  update(&s, 1, NULL, 0, 1.0);

  /* One unit below the last value in every counter: a wrap would give about
   * 1.8e19 per second. */
  const struct counters c2 = {
      5000000000 - 1, 999, 999, 999, 999, 999, 999, 999};
  set_counters(&s, &c2);
  update(&s, 1, NULL, 0, 1.0);
  struct proc_entry *e = must_find(7, 70);
  for (int f = 0; f < FEATURE_MAX; f++)
    ck_assert_msg(e->rate[f] == 0, "feature %d went backwards: rate %g", f,
                  e->rate[f]);
  ck_assert(!e->active);

  /* Forward again, above the highest value seen: measured from 5 s / 1000. */
  const struct counters c3 = {
      5000000000 + 40000000, 1100, 1200, 1300, 1400, 1500, 1600, 1700};
  set_counters(&s, &c3);
  update(&s, 1, NULL, 0, 2.0);
  e = must_find(7, 70);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 20.0); /* 40 ms in 2 s */
  ck_assert_close(e->rate[FEATURE_CPU_CYCLES], 50.0);
  ck_assert_close(e->rate[FEATURE_CPU_INSTRUCTIONS], 100.0);
  ck_assert_close(e->rate[FEATURE_CACHE_MISS], 150.0);
  ck_assert_close(e->rate[FEATURE_PAGE_CACHE_HIT], 200.0);
  ck_assert_close(e->rate[FEATURE_NET_RX_IRQ], 250.0);
  ck_assert_close(e->rate[FEATURE_NET_TX_IRQ], 300.0);
  ck_assert_close(e->rate[FEATURE_BLOCK_IRQ], 350.0);
  ck_assert(e->active);
}
END_TEST

START_TEST(test_backwards_measured_from_highest) {
  struct proc_sample s = sample(8, 80, 1000000000);
  update(&s, 1, NULL, 0, 1.0);
  s.stats.cpu_ns = 900000000; /* back 100 ms */
  update(&s, 1, NULL, 0, 1.0);
  ck_assert(must_find(8, 80)->rate[FEATURE_CPU_TIME_MS] == 0);
  s.stats.cpu_ns = 950000000; /* forward, but still below the highest */
  update(&s, 1, NULL, 0, 1.0);
  ck_assert(must_find(8, 80)->rate[FEATURE_CPU_TIME_MS] == 0);
  ck_assert(!must_find(8, 80)->active);
  s.stats.cpu_ns = 1000000000; /* back at the highest */
  update(&s, 1, NULL, 0, 1.0);
  ck_assert(must_find(8, 80)->rate[FEATURE_CPU_TIME_MS] == 0);
  s.stats.cpu_ns = 1200000000; /* 200 ms beyond the highest */
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_close(must_find(8, 80)->rate[FEATURE_CPU_TIME_MS], 200.0);
  ck_assert(must_find(8, 80)->active);
}
END_TEST

START_TEST(test_backwards_per_feature) {
  struct proc_sample s = sample(9, 90, 1000000000);
  s.stats.hw[KEPLER_HW_CYCLES] = 10000;
  update(&s, 1, NULL, 0, 1.0);
  /* CPU time forward, cycles backward in the same sample. */
  s.stats.cpu_ns = 1100000000;
  s.stats.hw[KEPLER_HW_CYCLES] = 9000;
  update(&s, 1, NULL, 0, 1.0);
  struct proc_entry *e = must_find(9, 90);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 100.0);
  ck_assert(e->rate[FEATURE_CPU_CYCLES] == 0);
  ck_assert(e->active);
  /* Cycles past their highest: measured from 10000, CPU from 1.1 s. */
  s.stats.cpu_ns = 1150000000;
  s.stats.hw[KEPLER_HW_CYCLES] = 10500;
  update(&s, 1, NULL, 0, 1.0);
  e = must_find(9, 90);
  ck_assert_close(e->rate[FEATURE_CPU_TIME_MS], 50.0);
  ck_assert_close(e->rate[FEATURE_CPU_CYCLES], 500.0);
}
END_TEST

START_TEST(test_counter_near_uint64_max) {
  const uint64_t top = UINT64_MAX - 10;
  struct proc_sample s = sample(11, 110, 0);
  s.stats.hw[KEPLER_HW_INSTRUCTIONS] = top;
  update(&s, 1, NULL, 0, 1.0);
  s.stats.hw[KEPLER_HW_INSTRUCTIONS] = top + 6;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_close(must_find(11, 110)->rate[FEATURE_CPU_INSTRUCTIONS], 6.0);
  /* Dropping to a small value is not a wrap around 2^64. */
  s.stats.hw[KEPLER_HW_INSTRUCTIONS] = 5;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert(must_find(11, 110)->rate[FEATURE_CPU_INSTRUCTIONS] == 0);
  s.stats.hw[KEPLER_HW_INSTRUCTIONS] = UINT64_MAX;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_close(must_find(11, 110)->rate[FEATURE_CPU_INSTRUCTIONS], 4.0);
}
END_TEST

/* --- In-flight slices ----------------------------------------------------- */

START_TEST(test_inflight_credited) {
  struct proc_sample s = sample(20, 2, 100000000);
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_close(must_find(20, 2)->rate[FEATURE_CPU_TIME_MS], 100.0);

  /* No switch-out since: the map did not move, a CPU runs it for 50 ms. */
  struct inflight_slice inf[2] = {{.key = key_of(20, 2), .ns = 50000000}};
  update(&s, 1, inf, 1, 1.0);
  ck_assert_close(must_find(20, 2)->rate[FEATURE_CPU_TIME_MS], 50.0);
  ck_assert(must_find(20, 2)->active);

  /* The slice ended at 80 ms: only the 30 ms not yet credited count. */
  s.stats.cpu_ns = 100000000 + 80000000;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_close(must_find(20, 2)->rate[FEATURE_CPU_TIME_MS], 30.0);

  /* Two threads on two CPUs: 20 ms + 10 ms in flight. */
  inf[0] = (struct inflight_slice){.key = key_of(20, 2), .ns = 20000000};
  inf[1] = (struct inflight_slice){.key = key_of(20, 2), .ns = 10000000};
  update(&s, 1, inf, 2, 1.0);
  ck_assert_close(must_find(20, 2)->rate[FEATURE_CPU_TIME_MS], 30.0);

  /* They ended at 25 ms and 10 ms: 5 ms new. */
  s.stats.cpu_ns = 180000000 + 35000000;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_close(must_find(20, 2)->rate[FEATURE_CPU_TIME_MS], 5.0);

  /* A slice still running at the next sample: only its growth counts. */
  inf[0] = (struct inflight_slice){.key = key_of(20, 2), .ns = 40000000};
  update(&s, 1, inf, 1, 1.0);
  ck_assert_close(must_find(20, 2)->rate[FEATURE_CPU_TIME_MS], 40.0);
  inf[0] = (struct inflight_slice){.key = key_of(20, 2), .ns = 100000000};
  update(&s, 1, inf, 1, 1.0);
  ck_assert_close(must_find(20, 2)->rate[FEATURE_CPU_TIME_MS], 60.0);
}
END_TEST

START_TEST(test_inflight_other_process_untouched) {
  struct proc_sample s[2] = {sample(21, 1, 10000000), sample(22, 1, 10000000)};
  update(s, 2, NULL, 0, 1.0);
  struct inflight_slice inf[1] = {{.key = key_of(22, 1), .ns = 70000000}};
  update(s, 2, inf, 1, 1.0);
  ck_assert(must_find(21, 1)->rate[FEATURE_CPU_TIME_MS] == 0);
  ck_assert(!must_find(21, 1)->active);
  ck_assert_close(must_find(22, 1)->rate[FEATURE_CPU_TIME_MS], 70.0);
  /* Same tgid, other start time: a different process gets nothing. */
  inf[0] = (struct inflight_slice){.key = key_of(21, 2), .ns = 70000000};
  update(s, 2, inf, 1, 1.0);
  ck_assert(must_find(21, 1)->rate[FEATURE_CPU_TIME_MS] == 0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
}
END_TEST

START_TEST(test_inflight_new_process_credited) {
  /* First seen with a slice running: the slice counts now, and only what
   * it ran after this sample counts at the next one. */
  struct proc_sample s = sample(23, 3, 10000000);
  struct inflight_slice inf[1] = {{.key = key_of(23, 3), .ns = 40000000}};
  update(&s, 1, inf, 1, 1.0);
  ck_assert_close(must_find(23, 3)->rate[FEATURE_CPU_TIME_MS], 50.0);
  s.stats.cpu_ns = 10000000 + 60000000; /* the slice ended at 60 ms */
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_close(must_find(23, 3)->rate[FEATURE_CPU_TIME_MS], 20.0);
}
END_TEST

START_TEST(test_inflight_idle_ignored) {
  struct proc_sample s = sample(24, 4, 10000000);
  update(&s, 1, NULL, 0, 1.0);
  /* Idle CPUs report tgid 0. */
  struct inflight_slice inf[3] = {{.key = key_of(0, 0), .ns = 900000000},
                                  {.key = key_of(0, 4), .ns = 900000000},
                                  {.key = key_of(24, 4), .ns = 1000000}};
  update(&s, 1, inf, 3, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
  ck_assert_ptr_null(find(0, 0));
  ck_assert_close(must_find(24, 4)->rate[FEATURE_CPU_TIME_MS], 1.0);
}
END_TEST

START_TEST(test_inflight_idle_never_credited) {
  /* Even if an entry with tgid 0 were in the table, an idle slice is not
   * CPU time of any process. */
  struct proc_sample s = sample(0, 0, 0);
  update(&s, 1, NULL, 0, 1.0);
  struct inflight_slice inf[1] = {{.key = key_of(0, 0), .ns = 500000000}};
  update(&s, 1, inf, 1, 1.0);
  ck_assert(must_find(0, 0)->rate[FEATURE_CPU_TIME_MS] == 0);
}
END_TEST

START_TEST(test_inflight_for_departed_process) {
  struct proc_sample s[2] = {sample(25, 5, 10000000), sample(26, 6, 10000000)};
  update(s, 2, NULL, 0, 1.0);
  /* 26 left the map; a late in-flight slice names it. */
  struct inflight_slice inf[1] = {{.key = key_of(26, 6), .ns = 5000000}};
  update(s, 1, inf, 1, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
  ck_assert_ptr_null(find(26, 6));
  ck_assert_ptr_nonnull(find(25, 5));
}
END_TEST

/* --- active ----------------------------------------------------------------
 */

START_TEST(test_active_flag) {
  struct proc_sample s[2] = {sample(30, 1, 0), sample(31, 1, 5000000)};
  update(s, 2, NULL, 0, 1.0);
  ck_assert(!must_find(30, 1)->active); /* never ran */
  ck_assert(must_find(31, 1)->active);
  /* 31 did not run this interval; 30 ran 1 ns. */
  s[0].stats.cpu_ns = 1;
  update(s, 2, NULL, 0, 1.0);
  ck_assert(must_find(30, 1)->active);
  ck_assert(!must_find(31, 1)->active);
  /* Softirqs without CPU time do not make it run. */
  update(s, 2, NULL, 0, 1.0);
  ck_assert(!must_find(30, 1)->active);
}
END_TEST

START_TEST(test_active_on_first_exited_sample) {
  struct proc_sample s = sample(32, 1, 20000000);
  update(&s, 1, NULL, 0, 1.0);
  update(&s, 1, NULL, 0, 1.0);
  ck_assert(!must_find(32, 1)->active);
  /* It exited without running in the interval: still reported once. */
  s.stats.flags = PROC_EXITED;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert(must_find(32, 1)->active);
  ck_assert_uint_eq(must_find(32, 1)->flags, PROC_EXITED);
  /* The second exited sample with nothing new: not active. */
  update(&s, 1, NULL, 0, 1.0);
  ck_assert(!must_find(32, 1)->active);
}
END_TEST

START_TEST(test_active_final_slice_after_exit) {
  struct proc_sample s = sample(33, 1, 20000000);
  s.stats.flags = PROC_EXITED;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert(must_find(33, 1)->active);
  /* A final slice landed after the exit hook. */
  s.stats.cpu_ns += 3000000;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert(must_find(33, 1)->active);
  ck_assert_close(must_find(33, 1)->rate[FEATURE_CPU_TIME_MS], 3.0);
}
END_TEST

START_TEST(test_new_exited_zero_cpu_active) {
  /* Seen for the first time already exited, with no CPU time at all. */
  struct proc_sample s = sample(34, 1, 0);
  s.stats.flags = PROC_EXITED | PROC_KTHREAD;
  update(&s, 1, NULL, 0, 1.0);
  struct proc_entry *e = must_find(34, 1);
  ck_assert(e->active);
  ck_assert_uint_eq(e->flags, PROC_EXITED | PROC_KTHREAD);
}
END_TEST

/* --- Exit lifecycle and departures -----------------------------------------
 */

START_TEST(test_exited_kept_while_counters_move) {
  struct proc_key keys[2];
  struct proc_sample s = sample(44, 4, 10000000);
  update(&s, 1, NULL, 0, 1.0);
  s.stats.flags = PROC_EXITED;
  update(&s, 1, NULL, 0, 1.0);
  /* Second exited sample, but its final slice landed after the exit hook. */
  s.stats.cpu_ns += 3000000;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_close(must_find(44, 4)->rate[FEATURE_CPU_TIME_MS], 3.0);
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);
  /* Quiet now: it may go. */
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 1);
  ck_assert_uint_eq(keys[0].tgid, 44);
}
END_TEST

START_TEST(test_vanished_reaped_when_quiet) {
  struct proc_key keys[2];
  struct proc_sample s = sample(45, 4, 10000000);
  update(&s, 1, NULL, 0, 1.0);
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);
  must_find(45, 4)->vanished = true; /* the core's /proc sweep found it gone */
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 1);
  ck_assert_ptr_null(find(45, 4));
}
END_TEST

START_TEST(test_exited_reaped_after_two_samples) {
  struct proc_key keys[8];
  struct proc_sample s[2] = {sample(40, 4, 10000000), sample(41, 4, 10000000)};
  update(s, 2, NULL, 0, 1.0);
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);

  s[0].stats.flags = PROC_EXITED;
  update(s, 2, NULL, 0, 1.0);
  /* Exit seen once: not yet. */
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  ck_assert_ptr_nonnull(find(40, 4));

  update(s, 2, NULL, 0, 1.0);
  /* Seen twice: reaped, and only it. */
  memset(keys, 0xaa, sizeof(keys));
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 1);
  ck_assert_uint_eq(keys[0].tgid, 40);
  ck_assert_uint_eq(keys[0].start_ns, 4);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
  ck_assert_uint_eq(count_entries(), 1);
  ck_assert_ptr_null(find(40, 4));
  ck_assert_ptr_nonnull(find(41, 4));
  /* Only once. */
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);
  /* The survivor's counters are intact. */
  s[1].stats.cpu_ns += 7000000;
  update(&s[1], 1, NULL, 0, 1.0);
  ck_assert_close(must_find(41, 4)->rate[FEATURE_CPU_TIME_MS], 7.0);
}
END_TEST

START_TEST(test_exited_not_reaped_between_samples) {
  struct proc_key keys[2];
  struct proc_sample s = sample(42, 4, 10000000);
  s.stats.flags = PROC_EXITED;
  update(&s, 1, NULL, 0, 1.0);
  /* Reaping twice without a new sample does not advance the lifecycle. */
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
  /* A sample without the exit flag (should not happen) does not count. */
  s.stats.flags = 0;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);
  s.stats.flags = PROC_EXITED;
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 1);
  ck_assert_uint_eq(keys[0].tgid, 42);
}
END_TEST

START_TEST(test_reap_respects_max) {
  struct proc_sample s[5];
  for (unsigned i = 0; i < 5; i++) {
    s[i] = sample(50 + i, 5, 1000000);
    s[i].stats.flags = i < 3 ? PROC_EXITED : 0;
  }
  update(s, 5, NULL, 0, 1.0);
  update(s, 5, NULL, 0, 1.0);

  struct proc_key keys[4];
  memset(keys, 0, sizeof(keys));
  ck_assert_uint_eq(reap(keys, 2), 2);
  ck_assert_uint_eq(keys[2].tgid, 0); /* nothing beyond max written */
  ck_assert_uint_eq(proc_table_size(tbl), 3);
  ck_assert_uint_eq(reap(keys + 2, 2), 1);
  ck_assert_uint_eq(reap(keys, 0), 0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  bool seen[3] = {false, false, false};
  for (int i = 0; i < 3; i++) {
    ck_assert_uint_ge(keys[i].tgid, 50);
    ck_assert_uint_lt(keys[i].tgid, 53);
    ck_assert(!seen[keys[i].tgid - 50]);
    seen[keys[i].tgid - 50] = true;
  }
  ck_assert_ptr_nonnull(find(53, 5));
  ck_assert_ptr_nonnull(find(54, 5));
}
END_TEST

START_TEST(test_missing_dropped) {
  struct proc_sample s[3] = {sample(60, 6, 100000000), sample(61, 6, 200000000),
                             sample(62, 6, 300000000)};
  update(s, 3, NULL, 0, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 3);
  struct proc_sample t[2] = {s[0], s[2]};
  t[0].stats.cpu_ns += 1000000;
  t[1].stats.cpu_ns += 2000000;
  update(t, 2, NULL, 0, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  ck_assert_ptr_null(find(61, 6));
  ck_assert_close(must_find(60, 6)->rate[FEATURE_CPU_TIME_MS], 1.0);
  ck_assert_close(must_find(62, 6)->rate[FEATURE_CPU_TIME_MS], 2.0);

  /* An exited process that left the map after one exited sample is
   * dropped, not reaped. */
  t[0].stats.flags = PROC_EXITED;
  update(t, 2, NULL, 0, 1.0);
  update(&t[1], 1, NULL, 0, 1.0);
  struct proc_key keys[4];
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);

  /* Coming back, it starts from scratch: all it counted is new. */
  update(s, 1, NULL, 0, 2.0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
  ck_assert_close(must_find(60, 6)->rate[FEATURE_CPU_TIME_MS], 50.0);
  ck_assert_uint_eq(must_find(60, 6)->exit_samples, 0);

  /* An empty sample drops everything. */
  update(NULL, 0, NULL, 0, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 0);
  size_t pos = 0;
  ck_assert_ptr_null(proc_table_next(tbl, &pos));
}
END_TEST

START_TEST(test_pid_reuse) {
  struct proc_sample old = sample(100, 1000, 400000000);
  update(&old, 1, NULL, 0, 1.0);

  /* The pid is reused by a new process while the old entry is still in the
   * map (exited, not yet reaped). */
  old.stats.cpu_ns = 500000000;
  old.stats.flags = PROC_EXITED;
  strcpy(old.stats.comm, "old");
  struct proc_sample young = sample(100, 2000, 30000000);
  strcpy(young.stats.comm, "young");
  struct proc_sample both[2] = {old, young};
  update(both, 2, NULL, 0, 1.0);
  ck_assert_uint_eq(proc_table_size(tbl), 2);
  ck_assert_close(must_find(100, 1000)->rate[FEATURE_CPU_TIME_MS], 100.0);
  ck_assert_close(must_find(100, 2000)->rate[FEATURE_CPU_TIME_MS], 30.0);
  ck_assert_str_eq(must_find(100, 1000)->comm, "old");
  ck_assert_str_eq(must_find(100, 2000)->comm, "young");

  both[1].stats.cpu_ns = 50000000;
  update(both, 2, NULL, 0, 1.0);
  ck_assert(must_find(100, 1000)->rate[FEATURE_CPU_TIME_MS] == 0);
  ck_assert_close(must_find(100, 2000)->rate[FEATURE_CPU_TIME_MS], 20.0);

  /* Reaping the old one leaves the new one. */
  struct proc_key keys[4];
  ck_assert_uint_eq(reap(keys, ARRAY_SIZE(keys)), 1);
  ck_assert_uint_eq(keys[0].tgid, 100);
  ck_assert_uint_eq(keys[0].start_ns, 1000);
  ck_assert_ptr_nonnull(find(100, 2000));
  ck_assert_ptr_null(find(100, 1000));

  /* The new one keeps its own counters. */
  both[1].stats.cpu_ns = 60000000;
  update(&both[1], 1, NULL, 0, 1.0);
  ck_assert_close(must_find(100, 2000)->rate[FEATURE_CPU_TIME_MS], 10.0);
  ck_assert_uint_eq(proc_table_size(tbl), 1);
}
END_TEST

/* --- Identity ------------------------------------------------------------- */

START_TEST(test_comm_copied_terminated) {
  struct proc_sample s = sample(70, 7, 1000000);
  /* The kernel's comm is 16 bytes; fill all of them, no NUL. */
  memcpy(s.stats.comm, "abcdefghijklmnop", KEPLER_COMM_LEN);
  update(&s, 1, NULL, 0, 1.0);
  struct proc_entry *e = must_find(70, 7);
  ck_assert_uint_eq(strnlen(e->comm, sizeof(e->comm)), KEPLER_COMM_LEN - 1);
  ck_assert_str_eq(e->comm, "abcdefghijklmno");

  /* exec renames it; the cgroup moves. */
  memset(s.stats.comm, 0, sizeof(s.stats.comm));
  strcpy(s.stats.comm, "sh");
  s.stats.cgroup_id = 4242;
  update(&s, 1, NULL, 0, 1.0);
  e = must_find(70, 7);
  ck_assert_str_eq(e->comm, "sh");
  ck_assert_uint_eq(e->cgroup_id, 4242);

  /* An empty comm stays empty. */
  memset(s.stats.comm, 0, sizeof(s.stats.comm));
  update(&s, 1, NULL, 0, 1.0);
  ck_assert_str_eq(must_find(70, 7)->comm, "");
}
END_TEST

/* --- The hash table at scale -------------------------------------------- */

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
/* Process i: tgid 1 + i % 2500 (processes share a pid, as after pid reuse),
 * start_ns i * 1000 + 7. Processes FIRST_WAVE.. arrive later. */
static uint32_t many_tgid(size_t i) {
  return 1 + (uint32_t)(i % 2500);
}
static uint64_t many_start(size_t i) {
  return (uint64_t)i * 1000 + 7;
}

enum { UNBORN, ALIVE, GONE };
static struct proc_sample many_samples[MANY];
static uint64_t many_cum[MANY]; /* cumulative CPU ns of process i */
static unsigned char many_state[MANY];
static uint64_t many_delta_ms[MANY]; /* CPU ms of process i this interval */
static double many_want[MANY];       /* expected CPU rate, ms/s */
static unsigned char many_seen[MANY];

/* Checks that the table holds exactly the ALIVE processes, each once, with
 * CPU rate many_want[i]. */
static void check_many(void) {
  size_t expected = 0;
  for (size_t i = 0; i < MANY; i++)
    expected += many_state[i] == ALIVE;
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
    if (many_state[i] != ALIVE)
      ck_abort_msg("process %zu should not be there", i);
    if (many_seen[i])
      ck_abort_msg("process %zu present twice", i);
    many_seen[i] = 1;
    if (!(fabs(e->rate[FEATURE_CPU_TIME_MS] - many_want[i]) <=
          1e-9 * fmax(1, many_want[i])))
      ck_abort_msg("process %zu rate %.17g, want %.17g", i,
                   e->rate[FEATURE_CPU_TIME_MS], many_want[i]);
  }
  ck_assert_uint_eq(n, expected);
}

/* One interval of dt_s: every ALIVE process ran many_delta_ms[i]; returns
 * the number of samples written to many_samples. */
static size_t many_sample(void) {
  size_t n = 0;
  for (size_t i = 0; i < MANY; i++) {
    if (many_state[i] != ALIVE)
      continue;
    many_cum[i] += many_delta_ms[i] * 1000000ull;
    many_samples[n++] = sample(many_tgid(i), many_start(i), many_cum[i]);
  }
  return n;
}

START_TEST(test_many_grow_and_shrink) {
  memset(many_cum, 0, sizeof(many_cum));
  memset(many_state, UNBORN, sizeof(many_state));
  rng_state = 0x9e3779b97f4a7c15ull;

  /* 5000 new processes at once, process i with i + 1 ms of CPU: all of it
   * is new, over 1 s. */
  for (size_t i = 0; i < FIRST_WAVE; i++) {
    many_state[i] = ALIVE;
    many_delta_ms[i] = i + 1;
    many_want[i] = (double)(i + 1);
  }
  size_t n = many_sample();
  ck_assert_uint_eq(n, FIRST_WAVE);
  ck_assert_int_eq(proc_table_update(tbl, many_samples, n, NULL, 0, 1.0), 0);
  check_many();

  /* Then most leave at once, more leave, newcomers land in the holes, and
   * finally everyone leaves. A process that were lost by the deletion would
   * be counted as new (its whole cumulative CPU as rate) and show twice, or
   * a stale one would stay. */
  static const struct {
    unsigned keep_permille; /* of the alive processes */
    unsigned arrive;        /* newcomers */
  } rounds[] = {{50, 0},   {500, 0},   {1000, 400}, {700, 0},
                {1000, 0}, {300, 600}, {0, 0}};
  size_t next_arrival = FIRST_WAVE;
  for (size_t r = 0; r < ARRAY_SIZE(rounds); r++) {
    for (size_t i = 0; i < MANY; i++)
      if (many_state[i] == ALIVE && rng() % 1000 >= rounds[r].keep_permille)
        many_state[i] = GONE;
    for (unsigned a = 0; a < rounds[r].arrive && next_arrival < MANY; a++)
      many_state[next_arrival++] = ALIVE;
    double dt = 0.25 * (double)(r + 1);
    for (size_t i = 0; i < MANY; i++) {
      many_delta_ms[i] = 1 + rng() % 5000;
      /* Known processes: this interval's ms over dt; newcomers: all they
       * counted, which is the same here. */
      many_want[i] = (double)many_delta_ms[i] / dt;
    }
    n = many_sample();
    ck_assert_int_eq(proc_table_update(tbl, many_samples, n, NULL, 0, dt), 0);
    check_many();
  }
  ck_assert_uint_eq(proc_table_size(tbl), 0);
  ck_assert_uint_eq(next_arrival, MANY);
}
END_TEST

/* Long churn at the highest load the table allows before it grows (127 of
 * 256 slots): long probe runs, many of them wrapping around the end of the
 * slot array, so the backward shift meets every case of its wrap-around
 * test. Processes leave (dropped from the sample, or exited and reaped)
 * and keys come back. A key the table lost would be counted as new (its
 * whole cumulative CPU as rate); a key that came back after leaving must
 * be new. */
#define CHURN_POOL 400
#define CHURN_ALIVE 127
START_TEST(test_churn_full_load) {
  memset(many_cum, 0, sizeof(many_cum));
  memset(many_state, UNBORN, sizeof(many_state));
  rng_state = 0x0123456789abcdefull;
  bool in_table[CHURN_POOL] = {false};
  uint8_t exiting[CHURN_POOL] = {0}; /* exited samples sent so far */
  size_t alive = 0;
  static struct proc_key reaped[CHURN_POOL];

  for (int round = 0; round < 3000; round++) {
    /* Some leave: most dropped from the sample, some start exiting. */
    for (size_t i = 0; i < CHURN_POOL; i++) {
      if (many_state[i] != ALIVE || exiting[i])
        continue;
      uint64_t x = rng() % 16;
      if (x == 0) {
        many_state[i] = GONE;
        alive--;
      } else if (x == 1) {
        exiting[i] = 1;
      }
    }
    /* Others arrive, old keys included, up to the load limit. */
    while (alive < CHURN_ALIVE - (rng() % 8)) {
      size_t i = rng() % CHURN_POOL;
      if (many_state[i] == ALIVE)
        continue;
      many_state[i] = ALIVE;
      exiting[i] = 0;
      alive++;
    }
    double dt = 1.0 + (double)(round % 3);
    size_t n = 0;
    for (size_t i = 0; i < CHURN_POOL; i++) {
      if (many_state[i] != ALIVE) {
        in_table[i] = false;
        continue;
      }
      /* A process runs up to its exit, in the first sample that shows it
       * exited, and never after. */
      uint64_t ms = exiting[i] > 1 ? 0 : 1 + rng() % 1000;
      many_cum[i] += ms * 1000000ull;
      many_want[i] = in_table[i] ? (double)ms / dt
                                 : (double)(many_cum[i] / 1000000ull) / dt;
      many_samples[n] = sample(many_tgid(i), many_start(i), many_cum[i]);
      if (exiting[i])
        many_samples[n].stats.flags = PROC_EXITED;
      n++;
      in_table[i] = true;
    }
    ck_assert_int_eq(proc_table_update(tbl, many_samples, n, NULL, 0, dt), 0);
    check_many();

    /* Exited, sampled twice, quiet in the last sample: reaped now. */
    size_t want_reaped = 0;
    for (size_t i = 0; i < CHURN_POOL; i++)
      if (many_state[i] == ALIVE && exiting[i] && ++exiting[i] > 2)
        want_reaped++;
    size_t got = reap(reaped, CHURN_POOL);
    ck_assert_uint_eq(got, want_reaped);
    for (size_t k = 0; k < got; k++) {
      size_t i = (size_t)((reaped[k].start_ns - 7) / 1000);
      ck_assert_uint_lt(i, CHURN_POOL);
      ck_assert_uint_eq(reaped[k].tgid, many_tgid(i));
      ck_assert_msg(many_state[i] == ALIVE && exiting[i] > 2,
                    "round %d: process %zu reaped early", round, i);
      many_state[i] = GONE;
      in_table[i] = false;
      alive--;
    }
    ck_assert_uint_eq(proc_table_size(tbl), alive);
  }
}
END_TEST

START_TEST(test_many_reap) {
  static struct proc_key keys[3000];
  const size_t N = ARRAY_SIZE(keys);
  struct proc_sample *samples = many_samples;
  unsigned char *state = many_seen; /* 1: reaped, 2: seen after */
  memset(many_seen, 0, sizeof(many_seen));

  /* Process i has i ms of CPU; two in three exit. */
  for (size_t i = 0; i < N; i++) {
    samples[i] = sample((uint32_t)(10 + i), 99 + i, (uint64_t)i * 1000000);
    if (i % 3 != 0)
      samples[i].stats.flags = PROC_EXITED;
  }
  update(samples, N, NULL, 0, 1.0);
  ck_assert_uint_eq(reap(keys, N), 0);
  /* Everyone runs 1 more ms; the exited ones are seen exited again. */
  for (size_t i = 0; i < N; i++)
    samples[i].stats.cpu_ns += 1000000;
  update(samples, N, NULL, 0, 1.0);
  /* That last slice moved their counters: they stay for one quiet sample. */
  ck_assert_uint_eq(reap(keys, N), 0);
  update(samples, N, NULL, 0, 1.0);

  size_t reaped = reap(keys, N);
  ck_assert_uint_eq(reaped, N - (N + 2) / 3);
  for (size_t k = 0; k < reaped; k++) {
    size_t i = keys[k].tgid - 10;
    ck_assert_uint_lt(i, N);
    ck_assert_uint_eq(keys[k].start_ns, 99 + i);
    ck_assert_uint_ne(i % 3, 0);
    ck_assert_uint_eq(state[i], 0);
    state[i] = 1;
  }
  ck_assert_uint_eq(proc_table_size(tbl), (N + 2) / 3);
  ck_assert_uint_eq(count_entries(), (N + 2) / 3);

  /* The survivors are all findable, once, with their own counters: 4 more
   * ms over 2 s each. */
  size_t n = 0;
  for (size_t i = 0; i < N; i += 3) {
    samples[n] = samples[i];
    samples[n].stats.cpu_ns += 4000000;
    n++;
  }
  update(samples, n, NULL, 0, 2.0);
  ck_assert_uint_eq(proc_table_size(tbl), n);
  size_t pos = 0;
  struct proc_entry *e;
  size_t seen = 0;
  while ((e = proc_table_next(tbl, &pos)) != NULL) {
    size_t i = e->key.tgid - 10;
    ck_assert_uint_lt(i, N);
    ck_assert_uint_eq(i % 3, 0);
    ck_assert_uint_eq(state[i], 0);
    state[i] = 2;
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
  tcase_add_test(tc, test_delta_two_updates);
  tcase_add_test(tc, test_several_processes_independent);
  tcase_add_test(tc, test_zero_dt_is_finite);
  suite_add_tcase(s, tc);

  tc = tcase_create("backwards");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_backwards_is_zero_not_wrap);
  tcase_add_test(tc, test_backwards_measured_from_highest);
  tcase_add_test(tc, test_backwards_per_feature);
  tcase_add_test(tc, test_counter_near_uint64_max);
  suite_add_tcase(s, tc);

  tc = tcase_create("inflight");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_inflight_credited);
  tcase_add_test(tc, test_inflight_other_process_untouched);
  tcase_add_test(tc, test_inflight_new_process_credited);
  tcase_add_test(tc, test_inflight_idle_ignored);
  tcase_add_test(tc, test_inflight_idle_never_credited);
  tcase_add_test(tc, test_inflight_for_departed_process);
  suite_add_tcase(s, tc);

  tc = tcase_create("active");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_active_flag);
  tcase_add_test(tc, test_active_on_first_exited_sample);
  tcase_add_test(tc, test_active_final_slice_after_exit);
  tcase_add_test(tc, test_new_exited_zero_cpu_active);
  suite_add_tcase(s, tc);

  tc = tcase_create("lifecycle");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_exited_reaped_after_two_samples);
  tcase_add_test(tc, test_exited_kept_while_counters_move);
  tcase_add_test(tc, test_vanished_reaped_when_quiet);
  tcase_add_test(tc, test_exited_not_reaped_between_samples);
  tcase_add_test(tc, test_reap_respects_max);
  tcase_add_test(tc, test_missing_dropped);
  tcase_add_test(tc, test_pid_reuse);
  tcase_add_test(tc, test_comm_copied_terminated);
  suite_add_tcase(s, tc);

  tc = tcase_create("scale");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_many_grow_and_shrink);
  tcase_add_test(tc, test_churn_full_load);
  tcase_add_test(tc, test_many_reap);
  suite_add_tcase(s, tc);

  return s;
}

int main(void) {
  return run_suite(proc_table_suite());
}
