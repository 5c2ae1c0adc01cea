#include "pipeline.h"

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array_grow.h"
#include "attribution.h"
#include "bpf_sampler.h"
#include "cgroup_resolver.h"
#include "log.h"
#include "machine.h"
#include "model.h"
#include "mono_clock.h"
#include "node_cpu.h"
#include "power_source.h"
#include "proc_table.h"
#include "workload_set.h"

/* Exit records the ring buffer holds per second of the interval: up to two
 * per exit (the final record at the exit, and at the free what ran after
 * it), so 1000 exits/s: twice a fork+exec storm of 500 processes/s. */
#define EXIT_RECORDS_PER_S 2000
#define RING_MIN_BYTES (256 * 1024)
#define RING_MAX_BYTES (64 * 1024 * 1024)

struct kepler_core {
  struct kepler_options opt;
  struct bpf_sampler *sampler;
  struct proc_table *procs;
  struct cgroup_resolver *resolver;
  struct workload_set *identities; /* interned per-process identities */
  struct power_source *power;      /* meter, sidecar or model */
  char trained_model_name[TRAINED_MODEL_NAME_LEN];
  struct attribution_policy policy;
  bool available[FEATURE_MAX];
  uint64_t last_mono_ns;
  struct cpu_times last_cpu;
  bool last_cpu_known;
  uint64_t exits_dropped; /* at the last sample */
  bool exits_dropping;    /* warned; a notice when they stop */
  bool baseline_taken;    /* the first read was made */
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
  kepler_log(KLOG_INFO, "kepler: BPF hooks: %s", sampler_hooks(k->sampler));
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

/* The exit ring buffer for EXIT_RECORDS_PER_S over one interval: a power
 * of 2. */
static size_t ring_bytes(double interval_s) {
  double need =
      interval_s * EXIT_RECORDS_PER_S * (sizeof(struct task_record) + 8);
  size_t bytes = RING_MIN_BYTES;
  while (bytes < need && bytes < RING_MAX_BYTES)
    bytes *= 2;
  return bytes;
}

static const enum kepler_feature softirq_features[] = {
    FEATURE_NET_RX_IRQ, FEATURE_NET_TX_IRQ, FEATURE_BLOCK_IRQ};
static const enum kepler_feature page_cache_features[] = {
    FEATURE_PAGE_CACHE_HIT};

/* Whether to attach an optional hook: as configured, else (auto) where the
 * local model or a UsageMetric uses one of its features, or a sidecar or a
 * model server may (they take every feature the host measures), or online
 * training does (trained). */
static bool hook_wanted(const struct kepler_core *k, enum hook_choice choice,
                        const enum kepler_feature *features, size_t n,
                        bool trained) {
  if (choice != HOOK_AUTO)
    return choice == HOOK_ON;
  const struct kepler_options *o = &k->opt;
  if (o->power.estimator_socket || o->power.model_server_url ||
      (trained && o->power.trained_model_file))
    return true;
  for (size_t i = 0; i < n; i++) {
    if (model_uses_feature(power_source_model(k->power), features[i]))
      return true;
    for (int c = 0; c < COMPONENT_MAX; c++)
      if (o->usage_metric[c] == (int)features[i])
        return true;
  }
  return false;
}

/* Lost exit records: one warning per outage, and a walk of every process
 * to find the ones that left without a record. */
static void note_dropped_exits(struct kepler_core *k, uint64_t dropped) {
  if (dropped > k->exits_dropped) {
    sampler_request_full_walk(k->sampler);
    if (!k->exits_dropping)
      kepler_log(KLOG_WARNING,
                 "kepler: %llu process exit records dropped (ring buffer "
                 "full): their last CPU time is not counted; "
                 "kepler_node/derive-exits_dropped counts them",
                 (unsigned long long)(dropped - k->exits_dropped));
  } else if (k->exits_dropping) {
    kepler_log(KLOG_NOTICE, "kepler: process exit records flow again");
  }
  k->exits_dropping = dropped > k->exits_dropped;
  k->exits_dropped = dropped;
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
  k->levels.runtime_root = k->opt.runtime_root;
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

  struct sampler_options so = {
      .hw_counters = opt->hw_counters,
      .software_counters = opt->software_counters,
      .ring_bytes = ring_bytes(opt->interval_s),
  };
  if (power_source_open(&po, &spec, mono_clock_ns(), &k->power, err, errlen)) {
    kepler_core_close(k);
    return -1;
  }
  /* Online training fits page cache hits, not softirqs (see
   * power_source_start). */
  so.softirq =
      hook_wanted(k, opt->softirq, softirq_features,
                  sizeof(softirq_features) / sizeof(*softirq_features), false);
  so.page_cache = hook_wanted(
      k, opt->page_cache, page_cache_features,
      sizeof(page_cache_features) / sizeof(*page_cache_features), true);
  if (sampler_open(&so, &k->sampler, err, errlen)) {
    kepler_core_close(k);
    return -1;
  }
  /* Loading parsed the kernel's BTF (megabytes) and freed it; glibc keeps
   * freed heap unless asked, and collectd would carry it for its lifetime. */
  malloc_trim(0);
  k->procs = proc_table_new();
  k->resolver = cgroup_resolver_new("/proc");
  k->identities = k->levels.identities = workload_set_new();
  if (!k->procs || !k->resolver || !k->identities) {
    snprintf(err, errlen, "out of memory");
    kepler_core_close(k);
    return -1;
  }
  const struct sampler_features *have = sampler_available(k->sampler);
  k->available[FEATURE_CPU_TIME_MS] = true;
  k->available[FEATURE_CPU_CYCLES] = have->hw_counters;
  k->available[FEATURE_CPU_INSTRUCTIONS] = have->hw_counters;
  k->available[FEATURE_CACHE_MISS] = have->hw_counters;
  k->available[FEATURE_PAGE_CACHE_HIT] = have->page_cache;
  k->available[FEATURE_NET_RX_IRQ] = have->softirq;
  k->available[FEATURE_NET_TX_IRQ] = have->softirq;
  k->available[FEATURE_BLOCK_IRQ] = have->softirq;
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

/* The first read only takes the baseline: collectd reads right after init,
 * and rates over so short a window would be dominated by the tick
 * granularity of the kernel's runtime accounting. */
static int take_baseline(struct kepler_core *k) {
  const struct task_record *records;
  size_t n;
  struct node_sample node;
  int rc = sampler_read(k->sampler, &records, &n, &node);
  if (rc == 0 && proc_table_update(k->procs, records, n, node.full_walk, 0))
    rc = -ENOMEM; /* the table's only failure */
  if (rc) {
    kepler_log(KLOG_ERR, "kepler: cannot take the first sample: %s",
               strerror(-rc));
    return -1;
  }
  k->last_mono_ns = node.mono_ns;
  k->exits_dropped = node.errors[KEPLER_ERR_EXIT_DROPPED];
  k->last_cpu_known = node_cpu_read(k->opt.proc_root, &k->last_cpu) == 0;
  k->baseline_taken = true;
  return 1;
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
    p->pid = e->key.tgid;
    memcpy(p->comm, e->comm, sizeof(e->comm));
    p->comm[sizeof(p->comm) - 1] = '\0';
    p->container_id =
        workload_name(LEVEL_CONTAINER, e->workload, unused, sizeof(unused));
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
  if (!k->baseline_taken)
    return take_baseline(k);
  power_source_next_interval(k->power);

  const struct task_record *records;
  size_t n;
  struct node_sample node;
  int rc = sampler_read(k->sampler, &records, &n, &node);
  if (rc) {
    kepler_log(KLOG_ERR, "kepler: reading the BPF task iterator failed: %s",
               strerror(-rc));
    return -1;
  }
  note_dropped_exits(k, node.errors[KEPLER_ERR_EXIT_DROPPED]);
  memset(r, 0, sizeof(*r));
  double dt = (double)(node.mono_ns - k->last_mono_ns) / 1e9;
  if (dt <= 0)
    return -1;
  k->last_mono_ns = node.mono_ns;
  /* Rates over the whole read window: a reader preempted mid-read cannot
   * make a process run more than the CPUs allow. Energy uses dt, the time
   * between the samples' midpoints, so no time is counted twice. */
  if (proc_table_update(k->procs, records, n, node.full_walk,
                        (double)node.window_ns / 1e9))
    return -1;

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

  struct cpu_times cpu;
  if (node_cpu_read(k->opt.proc_root, &cpu) == 0) {
    r->cpu_utilization_known = k->last_cpu_known;
    r->cpu_utilization_pct = node_cpu_utilization(&k->last_cpu, &cpu);
    k->last_cpu = cpu;
    k->last_cpu_known = true;
  }
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
  r->exits_dropped = node.errors[KEPLER_ERR_EXIT_DROPPED];
  r->hw_read_errors = node.errors[KEPLER_ERR_HW_READ];
  return 0;
}

void kepler_core_close(struct kepler_core *k) {
  if (!k)
    return;
  power_source_close(k->power); /* the model server's thread first */
  sampler_close(k->sampler);
  proc_table_free(k->procs);
  cgroup_resolver_free(k->resolver);
  workload_set_free(k->identities);
  workload_levels_free(&k->levels);
  free(k->active);
  free(k->reported);
  free(k);
}
