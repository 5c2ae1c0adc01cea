// SPDX-License-Identifier: GPL-2.0-only
#include "pipeline.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array_grow.h"
#include "attribution.h"
#include "cgroup_resolver.h"
#include "log.h"
#include "machine.h"
#include "model.h"
#include "mono_clock.h"
#include "power_source.h"
#include "proc_table.h"
#include "sampling.h"
#include "workload_set.h"

struct kepler_core {
  struct kepler_options opt;
  struct sampling *sampling;
  struct proc_table *procs;
  struct cgroup_resolver *resolver;
  struct workload_set *identities; /* interned per-process identities */
  struct power_source *power;      /* meter, sidecar or model */
  char trained_model_name[TRAINED_MODEL_NAME_LEN];
  struct attribution_policy policy;
  bool available[FEATURE_MAX];
  double energy_j, energy_dynamic_j, energy_idle_j;
  struct workload_levels levels; /* the workload levels, trimmed */
  struct proc_entry **active;
  size_t active_cap;
  struct process_report *reported; /* the report's view of active */
  size_t reported_cap;
};

/* The start message: where node power comes from, the hooks attached, and
 * what this host cannot measure of what is asked. */
static void announce(const struct kepler_core *k) {
  power_source_announce(k->power);
  kepler_log(KLOG_INFO, "kepler: BPF hooks: %s", sampling_hooks(k->sampling));
  power_source_warn_unmeasured(k->power);
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (k->opt.usage_metric[c] >= 0 && !k->available[k->opt.usage_metric[c]])
      kepler_log(KLOG_WARNING,
                 "kepler: UsageMetric %s %s: this host cannot measure it; "
                 "%s is shared by CPU time",
                 component_name(c), feature_name(k->opt.usage_metric[c]),
                 component_name(c));
}

static void set_policy(struct kepler_core *k) {
  attribution_default_policy(&k->policy, k->available[FEATURE_CPU_INSTRUCTIONS],
                             k->opt.split_idle);
  for (int c = 0; c < COMPONENT_MAX; c++) {
    int f = k->opt.usage_metric[c];
    if (f >= 0)
      k->policy.metric[c] = k->available[f] ? f : FEATURE_CPU_TIME_MS;
  }
}

int kepler_core_open(const struct kepler_options *opt, struct kepler_core **out,
                     char *err, size_t errlen) {
  if (kepler_options_check(opt, err, errlen))
    return -1;
  struct kepler_core *k = calloc(1, sizeof(*k));
  if (!k) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  k->opt = *opt;
  k->levels.report = k->opt.report;
  struct machine_spec spec = {0}; /* what machine_read could not learn */
  char why[512];
  if (machine_read(opt->proc_root, opt->power.sysfs_root, &spec, why,
                   sizeof(why)))
    kepler_log(KLOG_WARNING, "kepler: %s; the model sees an unknown machine",
               why);
  if (opt->power.trained_model_file)
    option_trained_model_name(opt->power.trained_model_file,
                              k->trained_model_name,
                              sizeof(k->trained_model_name), NULL, 0);
  struct power_source_options po = opt->power;
  po.trained_model_name = k->trained_model_name;

  if (power_source_open(&po, &spec, mono_clock_ns(), &k->power, err, errlen)) {
    kepler_core_close(k);
    return -1;
  }
  struct sampling_options so = {
      .interval_s = opt->interval_s,
      .proc_root = opt->proc_root,
      .hw_counters = opt->hw_counters,
      .software_counters = opt->software_counters,
      .page_cache = opt->page_cache,
      .softirq = opt->softirq,
      .estimate_takes_all =
          opt->power.estimator_socket || opt->power.model_server_url,
      .training = opt->power.trained_model_file != NULL,
  };
  for (int f = 0; f < FEATURE_MAX; f++)
    so.estimate_uses[f] = model_uses_feature(power_source_model(k->power), f);
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (opt->usage_metric[c] >= 0)
      so.estimate_uses[opt->usage_metric[c]] = true;
  if (sampling_open(&so, &k->sampling, err, errlen)) {
    kepler_core_close(k);
    return -1;
  }
  k->procs = proc_table_new();
  k->resolver = cgroup_resolver_new(opt->proc_root);
  k->identities = k->levels.identities = workload_set_new();
  int rc =
      runtime_names_worker_start(k->opt.runtime_root, &k->levels.names_worker);
  if (rc) {
    snprintf(err, errlen, "cannot start the container names thread: %s",
             strerror(-rc));
    kepler_core_close(k);
    return -1;
  }
  if (!k->procs || !k->resolver || !k->identities) {
    snprintf(err, errlen, "out of memory");
    kepler_core_close(k);
    return -1;
  }
  sampling_available(k->sampling, k->available);
  if (power_source_start(k->power, k->available, err, errlen)) {
    kepler_core_close(k);
    return -1;
  }
  set_policy(k);
  announce(k);
  *out = k;
  return 0;
}

const struct power_model *kepler_core_model(const struct kepler_core *k) {
  return power_source_model(k->power);
}

void kepler_core_set_platform_w(struct kepler_core *k, double watts) {
  power_source_set_platform_w(k->power, watts);
}

static int identify(struct kepler_core *k, struct proc_entry *e) {
  bool kthread = e->flags & RECORD_KTHREAD;
  if (e->identified && e->identified_cgroup == e->cgroup_id &&
      e->identified_kthread == kthread)
    return 0;
  struct workload_id w;
  cgroup_resolver_identify(k->resolver, e->key.tgid, e->cgroup_id, kthread, &w);
  const struct workload_id *shared = workload_set_intern(k->identities, &w);
  if (!shared)
    return -1;
  e->workload = shared;
  e->identified = true;
  e->identified_cgroup = e->cgroup_id;
  e->identified_kthread = kthread;
  return 0;
}

_Static_assert(PROCESS_COMM_LEN >= sizeof(((struct proc_entry *)0)->comm),
               "a reported command is cut");

/* The report's view of the first n active processes: values, not table
 * entries. */
static int report_processes(struct kepler_core *k, size_t n,
                            struct kepler_report *r) {
  if (array_grow((void **)&k->reported, &k->reported_cap, n,
                 sizeof(*k->reported)))
    return -1;
  for (size_t i = 0; i < n; i++) {
    const struct proc_entry *e = k->active[i];
    struct process_report *p = &k->reported[i];
    char unused[UNIT_NAME_LEN]; /* the container level writes no name */
    enum workload_bucket bucket;
    p->pid = e->key.tgid;
    memcpy(p->comm, e->comm, sizeof(e->comm));
    p->comm[sizeof(p->comm) - 1] = '\0';
    p->container_id = workload_name(LEVEL_CONTAINER, e->workload, unused,
                                    sizeof(unused), &bucket);
    p->cgroup_path = e->workload->cgroup_path;
    memcpy(p->rate, e->rate, sizeof(p->rate));
    p->power_dynamic_w = e->power_dynamic_w;
    p->power_idle_w = e->power_idle_w;
    p->energy_j = e->energy_j;
  }
  r->procs = k->reported;
  r->nprocs = n;
  return 0;
}

int kepler_core_sample(struct kepler_core *k, struct kepler_report *r) {
  if (sampling_has_baseline(k->sampling))
    power_source_next_interval(k->power);
  struct sample_interval in;
  int rc = sampling_read(k->sampling, &in);
  if (rc < 0)
    return -1;
  if (proc_table_update(k->procs, in.records, in.nrecords, in.full_walk,
                        in.window_s)) {
    if (rc == 1) { /* the table's only failure */
      kepler_log(KLOG_ERR, "kepler: cannot take the first sample: %s",
                 strerror(ENOMEM));
      sampling_retake_baseline(k->sampling);
    }
    return -1;
  }
  if (rc == 1)
    return 1;
  memset(r, 0, sizeof(*r));
  double dt = in.dt_s;

  size_t nactive = 0;
  size_t pos = 0;
  for (struct proc_entry *e; (e = proc_table_next(k->procs, &pos));) {
    if (identify(k, e))
      return -1;
    for (int f = 0; f < FEATURE_MAX; f++)
      if (k->available[f])
        r->rate[f] += e->rate[f];
    if (!e->active)
      continue;
    if (array_grow((void **)&k->active, &k->active_cap, nactive + 1,
                   sizeof(*k->active)))
      return -1;
    k->active[nactive++] = e;
  }

  r->cpu_utilization_known =
      sampling_cpu_utilization(k->sampling, &r->cpu_utilization_pct);
  struct power_reading power;
  /* Meters are timed when they are read, not when the BPF maps were. */
  power_source_read(
      k->power, mono_clock_ns(), r->rate,
      r->cpu_utilization_known ? r->cpu_utilization_pct / 100 : NAN, &power);
  r->node = power.node;
  r->power_source = power.source;
  r->meter_dropped = power.meter_dropped;
  memcpy(r->fit_present, power.fit_present, sizeof(r->fit_present));
  memcpy(r->fit_mae_w, power.fit_mae_w, sizeof(r->fit_mae_w));
  attribute_to_processes(&r->node, &k->policy, k->active, nactive);
  struct workload_levels_report levels = {0};
  if (workload_levels_aggregate(&k->levels, k->procs, dt, &levels))
    return -1;
  size_t nreported = nactive;
  if (report_policy_trims(&k->opt.report[LEVEL_PROCESS]))
    workload_levels_trim_processes(&k->levels, k->active, &nreported, dt,
                                   &levels);
  memcpy(r->other_present, levels.other_present, sizeof(r->other_present));
  memcpy(r->other, levels.other, sizeof(r->other));
  r->workloads = levels.workloads;
  r->nworkloads = levels.nworkloads;
  /* Each joule in exactly one series: a process's own while it is reported,
   * `other`'s while it is summed there. */
  for (size_t i = 0; i < nreported; i++)
    k->active[i]->energy_j +=
        (k->active[i]->power_dynamic_w + k->active[i]->power_idle_w) * dt;
  if (report_processes(k, nreported, r))
    return -1;

  k->energy_j += r->node.total * dt;
  k->energy_dynamic_j += r->node.total_dynamic * dt;
  k->energy_idle_j += r->node.total_idle * dt;
  r->dt_s = dt;
  r->energy_j = k->energy_j;
  r->energy_dynamic_j = k->energy_dynamic_j;
  r->energy_idle_j = k->energy_idle_j;
  memcpy(r->available, k->available, sizeof(r->available));
  r->tracked = proc_table_size(k->procs);
  r->exits_dropped = in.exits_dropped;
  r->hw_read_errors = in.hw_read_errors;
  return 0;
}

void kepler_core_close(struct kepler_core *k) {
  if (!k)
    return;
  power_source_close(k->power); /* the model server's thread first */
  sampling_close(k->sampling);
  proc_table_free(k->procs);
  cgroup_resolver_free(k->resolver);
  workload_set_free(k->identities);
  runtime_names_worker_stop(k->levels.names_worker);
  workload_levels_free(&k->levels);
  free(k->active);
  free(k->reported);
  free(k);
}
