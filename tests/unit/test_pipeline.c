// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/core/pipeline.c, one interval end to end on a fake
 * sampler (fake_sampler.c stands in for bpf_sampler.c): the first read is
 * the baseline, node power from the model, its attribution to processes,
 * the workload levels and their trimming, exits and read failures. The
 * model is linear in CPU time, so every figure is worked out by hand:
 * package = 10 W + 20 W per CPU busy. */
#include "pipeline.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_sampler.h"
#include "log.h"
#include "model.h"
#include "testutil.h"

static const char model_yaml[] = "name: one-cpu-linear\n"
                                 "output_type: AbsPower\n"
                                 "components:\n"
                                 "  package:\n"
                                 "    type: linear\n"
                                 "    bias: 10\n"
                                 "    weights:\n"
                                 "      bpf_cpu_time_ms: { weight: 20, "
                                 "scale: 1000 }\n";

/* pids no host has (above PID_MAX_LIMIT): the resolver finds no cgroup and
 * puts them in `system`. */
enum {
  PID_A = 5000001,
  PID_B = 5000002,
  PID_K = 5000003,
  PID_A2 = 5000004,
  PID_A3 = 5000005,
};

static char model_path[64];
static struct kepler_options opt;
static struct kepler_core *core;
static struct kepler_report report;

static void quiet(int level, const char *message) {
  (void)level;
  (void)message;
}

static void setup(void) {
  kepler_log_set(quiet);
  fake_sampler_reset();
  snprintf(model_path, sizeof model_path, "/tmp/test_pipeline_XXXXXX");
  int fd = mkstemp(model_path);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(write(fd, model_yaml, strlen(model_yaml)),
                   (ssize_t)strlen(model_yaml));
  close(fd);
  opt = (struct kepler_options){
      .split_idle = true,
      .report =
          {
              [LEVEL_PROCESS] = {REPORT_ALL, 0, 0},
              [LEVEL_CONTAINER] = {REPORT_ALL, 0, 0},
              [LEVEL_POD] = {REPORT_NONE, 0, 0},
              [LEVEL_SERVICE] = {REPORT_ALL, 0, 0},
              [LEVEL_VM] = {REPORT_NONE, 0, 0},
              [LEVEL_COMMAND] = {REPORT_NONE, 0, 0},
          },
      .interval_s = 1,
      .proc_root = "/proc",
      .runtime_root = "/",
      .usage_metric = {-1, -1, -1, -1, -1},
      .power =
          {
              .model_file = model_path,
              .sysfs_root = "/sys",
              .meter = METER_NONE,
              .model_source = "rapl-sysfs",
              .trained_model_every = 60,
          },
  };
  core = NULL;
}

static void teardown(void) {
  kepler_core_close(core);
  unlink(model_path);
}

static void open_core(void) {
  char err[512] = "";
  ck_assert_msg(kepler_core_open(&opt, &core, err, sizeof err) == 0, "%s", err);
}

/* The baseline read with A, B and kernel thread K alive, then one second in
 * which A ran 0.25 s, B 0.75 s and K 0 s. */
static void one_interval(void) {
  open_core();
  fake_sampler_add(PID_A, 1, 0, 0, "a");
  fake_sampler_add(PID_B, 2, 0, 0, "b");
  fake_sampler_add(PID_K, 3, 0, RECORD_KTHREAD, "kworker/0:1");
  ck_assert_int_eq(kepler_core_sample(core, &report), 1);
  fake_sampler_advance(1);
  fake_sampler_add(PID_A, 1, 250000000, 0, "a");
  fake_sampler_add(PID_B, 2, 750000000, 0, "b");
  ck_assert_int_eq(kepler_core_sample(core, &report), 0);
}

static const struct process_report *proc(uint32_t pid) {
  for (size_t i = 0; i < report.nprocs; i++)
    if (report.procs[i].pid == pid)
      return &report.procs[i];
  return NULL;
}

static const struct workload_power *workload(enum report_level level,
                                             const char *name) {
  for (size_t i = 0; i < report.nworkloads; i++)
    if (report.workloads[i]->level == level &&
        strcmp(report.workloads[i]->name, name) == 0)
      return report.workloads[i];
  return NULL;
}

static double proc_w(const struct process_report *e) {
  return e->power_dynamic_w + e->power_idle_w;
}

START_TEST(test_first_read_is_baseline) {
  open_core();
  ck_assert_str_eq(model_name(kepler_core_model(core)), "one-cpu-linear");
  ck_assert_int_eq(kepler_core_sample(core, &report), 1);
  ck_assert_uint_eq(fake_sampler_reads(), 1);
}
END_TEST

START_TEST(test_node_power_from_the_model) {
  one_interval();
  ck_assert_close(report.dt_s, 1);
  ck_assert_str_eq(report.power_source, "model");
  ck_assert_close(report.rate[FEATURE_CPU_TIME_MS], 1000);
  ck_assert(report.node.present[COMPONENT_PACKAGE]);
  ck_assert_close(report.node.total, 30);
  ck_assert_close(report.node.total_idle, 10);
  ck_assert_close(report.node.total_dynamic, 20);
  ck_assert_close(report.energy_j, 30);
  ck_assert_uint_eq(report.tracked, 3);
}
END_TEST

/* Dynamic power by CPU time (no counters): A 1/4, B 3/4 of 20 W; with
 * SplitIdle the idle 10 W is shared too; the processes sum to the node. */
START_TEST(test_attributed_to_processes) {
  one_interval();
  const struct process_report *a = proc(PID_A), *b = proc(PID_B);
  ck_assert_ptr_nonnull(a);
  ck_assert_ptr_nonnull(b);
  ck_assert_ptr_null(proc(PID_K)); /* did not run */
  ck_assert_uint_eq(report.nprocs, 2);
  ck_assert_close(a->power_dynamic_w, 5);
  ck_assert_close(b->power_dynamic_w, 15);
  ck_assert_close(proc_w(a) + proc_w(b), 30);
  ck_assert_close(a->energy_j + b->energy_j, 30);
}
END_TEST

/* Every reported level sums to the node: A and B in `system`, K (which did
 * not run) in `kernel` with 0 W. */
START_TEST(test_workload_levels) {
  one_interval();
  for (int l = LEVEL_CONTAINER; l < LEVEL_MAX; l++) {
    const struct workload_power *sys = workload(l, "system");
    const struct workload_power *kern = workload(l, "kernel");
    if (opt.report[l].mode == REPORT_NONE) {
      ck_assert_ptr_null(sys);
      continue;
    }
    ck_assert_ptr_nonnull(sys);
    ck_assert_ptr_nonnull(kern);
    ck_assert_uint_eq(sys->nprocs, 2);
    ck_assert_uint_eq(kern->nprocs, 1);
    ck_assert_close(sys->power_dynamic_w + sys->power_idle_w, 30);
    ck_assert_close(kern->power_dynamic_w + kern->power_idle_w, 0);
    ck_assert_close(sys->energy_j, 30);
  }
  /* Ordered by level. */
  for (size_t i = 1; i < report.nworkloads; i++)
    ck_assert_int_le(report.workloads[i - 1]->level,
                     report.workloads[i]->level);
}
END_TEST

/* Top 1 process: B alone, A summed into the process level's `other`. */
START_TEST(test_top_process_and_other) {
  opt.report[LEVEL_PROCESS] = (struct report_policy){REPORT_TOP, 1, 0};
  one_interval();
  ck_assert_uint_eq(report.nprocs, 1);
  ck_assert_uint_eq(report.procs[0].pid, PID_B);
  ck_assert_str_eq(report.procs[0].comm, "b");
  ck_assert_str_eq(report.procs[0].container_id, "system");
  ck_assert(report.other_present[LEVEL_PROCESS]);
  const struct other_power *o = &report.other[LEVEL_PROCESS];
  ck_assert_close(o->power_dynamic_w, 5);
  ck_assert_close(
      proc_w(&report.procs[0]) + o->power_dynamic_w + o->power_idle_w, 30);
  ck_assert_close(report.procs[0].energy_j + o->energy_j, 30);
}
END_TEST

/* Above 1 W at the container level: `system` stays, `kernel` (0 W) goes to
 * `other`. */
START_TEST(test_workloads_above) {
  opt.report[LEVEL_CONTAINER] = (struct report_policy){REPORT_ABOVE, 0, 1};
  one_interval();
  ck_assert_ptr_nonnull(workload(LEVEL_CONTAINER, "system"));
  ck_assert_ptr_null(workload(LEVEL_CONTAINER, "kernel"));
  ck_assert_ptr_nonnull(workload(LEVEL_SERVICE, "kernel"));
  ck_assert(report.other_present[LEVEL_CONTAINER]);
  ck_assert_uint_eq(report.other[LEVEL_CONTAINER].nprocs, 1);
}
END_TEST

/* Top 1 at the service level: `system` (30 W) before `kernel` (0 W). */
START_TEST(test_workloads_top) {
  opt.report[LEVEL_SERVICE] = (struct report_policy){REPORT_TOP, 1, 0};
  one_interval();
  ck_assert_ptr_nonnull(workload(LEVEL_SERVICE, "system"));
  ck_assert_ptr_null(workload(LEVEL_SERVICE, "kernel"));
  ck_assert_ptr_nonnull(workload(LEVEL_CONTAINER, "kernel"));
  ck_assert(report.other_present[LEVEL_SERVICE]);
  ck_assert_uint_eq(report.other[LEVEL_SERVICE].nprocs, 1);
  ck_assert_close(report.other[LEVEL_SERVICE].power_dynamic_w, 0);
}
END_TEST

/* A's final record: it counts in the interval it exited in, then leaves. */
/* The command level's members and the node, in W. */
static double command_level_w(void) {
  double sum = 0;
  for (size_t i = 0; i < report.nworkloads; i++)
    if (report.workloads[i]->level == LEVEL_COMMAND)
      sum += report.workloads[i]->power_dynamic_w +
             report.workloads[i]->power_idle_w;
  return sum;
}

/* The command level: the processes of one command name are one member,
 * which stays the same member when its pids change (a restart); kernel
 * threads are the `kernel` bucket; the level sums to the node. Records
 * carry the CPU time since a process's last one. */
START_TEST(test_command_level) {
  opt.report[LEVEL_COMMAND] = (struct report_policy){REPORT_ALL, 0, 0};
  open_core();
  fake_sampler_add(PID_A, 1, 0, 0, "a");
  fake_sampler_add(PID_A2, 4, 0, 0, "a");
  fake_sampler_add(PID_B, 2, 0, 0, "b");
  fake_sampler_add(PID_K, 3, 0, RECORD_KTHREAD, "kworker/0:1");
  ck_assert_int_eq(kepler_core_sample(core, &report), 1);
  fake_sampler_advance(1);
  fake_sampler_add(PID_A, 1, 250000000, 0, "a");
  fake_sampler_add(PID_A2, 4, 250000000, 0, "a");
  fake_sampler_add(PID_B, 2, 500000000, 0, "b");
  ck_assert_int_eq(kepler_core_sample(core, &report), 0);
  const struct workload_power *a = workload(LEVEL_COMMAND, "a");
  ck_assert_ptr_nonnull(a);
  ck_assert_int_eq(a->bucket, BUCKET_NONE);
  ck_assert_uint_eq(a->nprocs, 2);
  ck_assert_close(a->power_dynamic_w, 10);            /* 0.5 CPU-s of 20 W */
  ck_assert_close(a->rate[FEATURE_CPU_TIME_MS], 500); /* its usage */
  ck_assert_close(workload(LEVEL_COMMAND, "b")->power_dynamic_w, 10);
  const struct workload_power *k = workload(LEVEL_COMMAND, "kernel");
  ck_assert_ptr_nonnull(k);
  ck_assert_int_eq(k->bucket, BUCKET_KERNEL);
  ck_assert_close(command_level_w(), report.node.total);
  double energy = a->energy_j;
  ck_assert_close(energy, a->power_dynamic_w + a->power_idle_w);
  /* Both exit; A3 starts: the same member "a", its energy going on. */
  fake_sampler_advance(1);
  fake_sampler_add(PID_A, 1, 250000000, RECORD_EXITED, "a");
  fake_sampler_add(PID_A2, 4, 0, RECORD_EXITED, "a");
  fake_sampler_add(PID_A3, 5, 250000000, 0, "a");
  ck_assert_int_eq(kepler_core_sample(core, &report), 0);
  a = workload(LEVEL_COMMAND, "a");
  ck_assert_uint_eq(a->nprocs, 3);
  ck_assert_close(a->power_dynamic_w, 10);
  ck_assert_close(command_level_w(), report.node.total);
  energy += a->power_dynamic_w + a->power_idle_w;
  ck_assert_close(a->energy_j, energy);
  fake_sampler_advance(1);
  fake_sampler_add(PID_A3, 5, 250000000, 0, "a");
  ck_assert_int_eq(kepler_core_sample(core, &report), 0);
  a = workload(LEVEL_COMMAND, "a");
  ck_assert_uint_eq(a->nprocs, 1);
  ck_assert_close(a->power_dynamic_w, 5);
  ck_assert_close(command_level_w(), report.node.total);
  ck_assert_close(a->energy_j, energy + a->power_dynamic_w + a->power_idle_w);
}
END_TEST

START_TEST(test_exit) {
  one_interval();
  fake_sampler_advance(1);
  fake_sampler_add(PID_A, 1, 500000000, RECORD_EXITED, "a");
  ck_assert_int_eq(kepler_core_sample(core, &report), 0);
  ck_assert_ptr_nonnull(proc(PID_A));
  ck_assert_close(report.node.total, 20); /* 10 W + 0.5 CPU */
  fake_sampler_advance(1);
  ck_assert_int_eq(kepler_core_sample(core, &report), 0);
  ck_assert_ptr_null(proc(PID_A));
  ck_assert_uint_eq(report.tracked, 2);
  ck_assert_close(report.node.total, 10); /* nothing ran: idle */
  ck_assert_close(report.energy_j, 30 + 20 + 10);
}
END_TEST

START_TEST(test_read_failure) {
  open_core();
  fake_sampler_fail_next_read(EIO);
  ck_assert_int_eq(kepler_core_sample(core, &report), -1); /* baseline */
  ck_assert_int_eq(kepler_core_sample(core, &report), 1);
  fake_sampler_advance(1);
  fake_sampler_fail_next_read(EIO);
  ck_assert_int_eq(kepler_core_sample(core, &report), -1);
  fake_sampler_advance(1);
  ck_assert_int_eq(kepler_core_sample(core, &report), 0);
}
END_TEST

/* A read at the same clock as the last one measures nothing. */
START_TEST(test_no_time_passed) {
  open_core();
  ck_assert_int_eq(kepler_core_sample(core, &report), 1);
  ck_assert_int_eq(kepler_core_sample(core, &report), -1);
}
END_TEST

/* Optional hooks: off where nothing uses their features (this model reads
 * CPU time only), on where asked, on where a UsageMetric uses them. */
START_TEST(test_hooks_wanted) {
  open_core();
  ck_assert(!fake_sampler_options()->page_cache);
  ck_assert(!fake_sampler_options()->softirq);
  kepler_core_close(core);
  core = NULL;
  opt.page_cache = HOOK_ON;
  opt.usage_metric[COMPONENT_DRAM] = FEATURE_NET_RX_IRQ;
  open_core();
  ck_assert(fake_sampler_options()->page_cache);
  ck_assert(fake_sampler_options()->softirq);
  ck_assert(!fake_sampler_options()->hw_counters);
}
END_TEST

int main(void) {
  Suite *s = suite_create("pipeline");
  TCase *tc = tcase_create("interval");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_first_read_is_baseline);
  tcase_add_test(tc, test_node_power_from_the_model);
  tcase_add_test(tc, test_attributed_to_processes);
  tcase_add_test(tc, test_workload_levels);
  tcase_add_test(tc, test_top_process_and_other);
  tcase_add_test(tc, test_workloads_above);
  tcase_add_test(tc, test_workloads_top);
  tcase_add_test(tc, test_command_level);
  tcase_add_test(tc, test_exit);
  tcase_add_test(tc, test_read_failure);
  tcase_add_test(tc, test_no_time_passed);
  tcase_add_test(tc, test_hooks_wanted);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
