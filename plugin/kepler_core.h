/* One interval of the pipeline, sample -> identify -> estimate -> attribute,
 * producing a report the collectd glue (or a CLI) turns into values. No
 * collectd headers. */
#ifndef KEPLER_CORE_H
#define KEPLER_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attribution.h"
#include "cgroup_identity.h"
#include "node_meter.h"
#include "proc_table.h"

struct kepler_options {
  const char *model_file; /* NULL: the embedded default model */
  bool split_idle;        /* share node idle power among processes */
  unsigned max_processes;
  unsigned top_processes; /* report this many by power, the rest as other;
                             0: report every active process */
  bool hw_counters, page_cache, softirq;
  const char *proc_root;  /* "/proc": machine facts (cpuinfo, meminfo) */
  const char *sysfs_root; /* "/sys": meters and machine facts */
  enum meter_choice meter;
  /* Platform power comes from kepler_core_set_platform_w (a value another
   * collectd plugin reads). */
  bool external_platform;
  /* The usage feature sharing each component; -1: the default policy. */
  int usage_metric[COMPONENT_MAX];
};

/* The active processes not reported one by one (top_processes), summed:
 * reported + other = node, in every interval. */
struct other_power {
  size_t nprocs;
  double power_dynamic_w, power_idle_w;
  double energy_j; /* cumulative */
};

/* A container, or the `system` / `kernel` bucket. */
struct workload_power {
  char instance[WORKLOAD_ID_LEN + 1]; /* container id, "system", "kernel" */
  struct workload_id workload;
  size_t nprocs; /* tracked processes in it */
  double power_dynamic_w, power_idle_w;
  double energy_j; /* cumulative while it has processes */
  uint32_t generation;
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
  struct proc_entry **procs;   /* active processes to report, by power when
                                  top_processes is set */
  size_t nprocs;
  bool other_present; /* top_processes is set: `other` is reported */
  struct other_power other;
  struct workload_power **workloads; /* every workload with a process */
  size_t nworkloads;
  size_t tracked;    /* processes in the table */
  uint64_t map_full; /* cumulative: processes the kernel map had no room for */
  uint64_t hw_read_errors; /* cumulative: failed hardware counter reads */
  uint64_t meter_dropped;  /* cumulative: meter intervals not trusted */
};

/* The series instance of a workload: container id, "system" or "kernel". */
const char *workload_instance(const struct workload_id *w);

struct kepler_core;

int kepler_core_open(const struct kepler_options *opt, struct kepler_core **out,
                     char *err, size_t errlen);
const struct power_model *kepler_core_model(const struct kepler_core *k);
/* Platform power in W for the next sample, from outside the core; NaN when
 * it is not available. Only used with options.external_platform. */
void kepler_core_set_platform_w(struct kepler_core *k, double watts);
/* Sample and compute one interval. The report stays valid until the next
 * call. */
int kepler_core_sample(struct kepler_core *k, struct kepler_report *out);
void kepler_core_close(struct kepler_core *k);

#endif
