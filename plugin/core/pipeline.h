// SPDX-License-Identifier: GPL-2.0-only
/* One interval of the pipeline, sample -> identify -> estimate -> attribute,
 * producing a report the collectd glue (or a CLI) turns into values. No
 * collectd headers. */
#ifndef KEPLER_PIPELINE_H
#define KEPLER_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kepler_features.h"
#include "level.h"
#include "node_power.h"
#include "options.h"
#include "workload_levels.h"

/* A reported process, as plain values: what the report shows of the
 * process table. */
#define PROCESS_COMM_LEN 16 /* the kernel's TASK_COMM_LEN */
struct process_report {
  uint32_t pid;
  char comm[PROCESS_COMM_LEN]; /* the group leader's */
  const char *container_id;    /* its container's, or "system", "kernel" */
  const char *cgroup_path;     /* "" when not known */
  double rate[FEATURE_MAX];    /* per-second features */
  double power_dynamic_w, power_idle_w;
  double energy_j; /* cumulative, since the process was first seen */
};

struct kepler_report {
  double dt_s; /* the interval actually measured */
  /* Where this interval's node power came from: a meter's name
   * (node_meter_name) or "model". */
  const char *power_source;
  struct node_power node;
  double energy_j, energy_dynamic_j, energy_idle_j; /* node, cumulative */
  double cpu_utilization_pct; /* valid when cpu_utilization_known */
  bool cpu_utilization_known;
  bool available[FEATURE_MAX]; /* features this host measures */
  double rate[FEATURE_MAX];    /* node per-second features */
  /* Active processes to report (by power when the process level is
   * trimmed); valid until the next kepler_core_sample. */
  const struct process_report *procs;
  size_t nprocs;
  /* Per level: the level is trimmed (REPORT_TOP, REPORT_ABOVE), so its
   * `other` is reported. */
  bool other_present[LEVEL_MAX];
  struct other_power other[LEVEL_MAX];
  /* The workloads to report, of every reported level, ordered by level. */
  struct workload_power **workloads;
  size_t nworkloads;
  size_t tracked; /* processes in the table */
  /* cumulative: final records of exited processes lost (ring buffer
   * full); their CPU time since the last read is not counted */
  uint64_t exits_dropped;
  uint64_t hw_read_errors; /* cumulative: failed hardware counter reads */
  uint64_t meter_dropped;  /* cumulative: meter intervals not trusted */
  /* Online training: the running error of each fitted component's
   * one-step-ahead prediction, in W. */
  bool fit_present[COMPONENT_MAX];
  double fit_mae_w[COMPONENT_MAX];
};

struct kepler_core;

int kepler_core_open(const struct kepler_options *opt, struct kepler_core **out,
                     char *err, size_t errlen);
const struct power_model *kepler_core_model(const struct kepler_core *k);
/* Platform power in W for the next sample, from outside the core; NaN when
 * it is not available. Only used with options.external_platform. */
void kepler_core_set_platform_w(struct kepler_core *k, double watts);
/* Sample and compute one interval: 0 with a report, valid until the next
 * call; 1 at the first call, which only takes the baseline the next one
 * measures from; -1 on failure (logged). */
int kepler_core_sample(struct kepler_core *k, struct kepler_report *out);
void kepler_core_close(struct kepler_core *k);

#endif
