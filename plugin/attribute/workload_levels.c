// SPDX-License-Identifier: GPL-2.0-only
#include "workload_levels.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attribution.h"
#include "mono_clock.h"
#include "power_trim.h"
#include "proc_table.h"

const char *workload_name(enum report_level level, const struct workload_id *w,
                          char *buf, size_t len, enum workload_bucket *bucket) {
  const char *name = "";
  switch (level) {
  case LEVEL_CONTAINER:
    name = w->kind == WORKLOAD_CONTAINER ? w->id : "";
    break;
  case LEVEL_POD:
    name = w->pod_uid;
    break;
  case LEVEL_SERVICE:
    /* A login session is the service level's member for what users run
     * by hand: "session-<id>", as logind names its scope. */
    name = w->service;
    if (!*name && w->session[0]) {
      snprintf(buf, len, "session-%s", w->session);
      name = buf;
    }
    break;
  case LEVEL_VM:
    name = w->vm;
    break;
  default:
    break;
  }
  if (*name) {
    *bucket = BUCKET_NONE;
    return name;
  }
  *bucket = w->kind == WORKLOAD_KERNEL ? BUCKET_KERNEL : BUCKET_SYSTEM;
  return *bucket == BUCKET_KERNEL ? "kernel" : "system";
}

static struct workload_power *workload_for(struct workload_levels *levels,
                                           enum report_level level,
                                           const struct workload_id *w) {
  char buf[UNIT_NAME_LEN];
  enum workload_bucket bucket;
  const char *name = workload_name(level, w, buf, sizeof(buf), &bucket);
  bool created;
  struct workload_power *slot =
      workload_table_get(&levels->table, level, bucket, name, &created);
  if (!slot || !created)
    return slot;
  slot->workload = *w;
  if (bucket != BUCKET_NONE)
    slot->workload.cgroup_path[0] = '\0'; /* a bucket has no single cgroup */
  else if (level == LEVEL_CONTAINER && levels->names_worker) {
    /* Once per container: its names do not change while it runs. An id
     * that cannot be a file name (-EINVAL) has no names to find. */
    if (runtime_names_worker_request(levels->names_worker, w->runtime, w->id) ==
        -ENOMEM)
      return NULL;
  }
  return slot;
}

/* A lookup of the names worker done: its container takes the names, unless
 * it left meanwhile. */
static void take_names(void *ctx, const char *id,
                       const struct container_names *names) {
  struct workload_power *w = workload_table_find(
      &((struct workload_levels *)ctx)->table, LEVEL_CONTAINER, id);
  if (w)
    w->names = *names;
}

/* How long a read waits for the names of the containers it found: the
 * lookups take well under a millisecond; a stalled disk must not stall
 * collectd's read thread for more than this. */
#define NAMES_WAIT_NS (100 * 1000000ull)

static double workload_w(const struct workload_power *w) {
  return w->power_dynamic_w + w->power_idle_w;
}

/* A workload's W for power_trim; ties by name. */
static double workload_dynamic_w(const void *elem) {
  return (*(struct workload_power *const *)elem)->power_dynamic_w;
}
static double workload_idle_w(const void *elem) {
  return (*(struct workload_power *const *)elem)->power_idle_w;
}
static int workload_by_name(const void *a, const void *b) {
  return strcmp((*(struct workload_power *const *)a)->name,
                (*(struct workload_power *const *)b)->name);
}
static const struct power_trim_ops workload_trim = {
    sizeof(struct workload_power *), workload_dynamic_w, workload_idle_w,
    workload_by_name};

/* Trim one level's members ws[0..n) by its policy: the kept ones stay at the
 * front (by power), the rest are summed into *o. Returns how many stay. */
static size_t trim_level(struct workload_power **ws, size_t n,
                         const struct report_policy *p, struct other_power *o) {
  size_t kept =
      power_trim(ws, n, p->mode == REPORT_TOP ? p->top : n,
                 p->mode == REPORT_ABOVE ? p->above_w : -INFINITY,
                 &workload_trim, &o->power_dynamic_w, &o->power_idle_w);
  o->nprocs = n - kept;
  return kept;
}

/* Every reported level = the sum of its processes, in the numbers
 * dispatched; a trimmed level's `other` holds the rest. */
int workload_levels_aggregate(struct workload_levels *levels,
                              struct proc_table *procs, double dt_s,
                              struct workload_levels_report *r) {
  uint32_t gen = ++levels->generation;
  size_t pos = 0;
  for (struct proc_entry *e; (e = proc_table_next(procs, &pos));) {
    workload_set_mark(e->workload, gen);
    for (int l = LEVEL_CONTAINER; l < LEVEL_MAX; l++) {
      if (levels->report[l].mode == REPORT_NONE)
        continue;
      struct workload_power *w = workload_for(levels, l, e->workload);
      if (!w)
        return -1;
      if (w->generation != gen) {
        w->generation = gen;
        w->nprocs = 0;
        w->power_dynamic_w = w->power_idle_w = 0;
      }
      w->nprocs++;
      if (e->active) {
        w->power_dynamic_w += e->power_dynamic_w;
        w->power_idle_w += e->power_idle_w;
      }
    }
  }
  /* Drop workloads whose processes are all gone; keep the order. */
  size_t kept = 0;
  for (size_t i = 0; i < levels->table.n; i++) {
    struct workload_power *w = &levels->table.v[i];
    if (w->generation != gen)
      continue;
    if (kept != i)
      levels->table.v[kept] = *w;
    levels->table.ptrs[kept] = &levels->table.v[kept];
    kept++;
  }
  levels->table.n = kept;
  /* Names looked up since the last read, and those asked in this one if
   * the worker has them within NAMES_WAIT_NS: a container's series is then
   * named from its first interval. A slower lookup (a stalled disk) leaves
   * the container reported by its id until the read after it is done. */
  if (levels->names_worker) {
    runtime_names_worker_wait(levels->names_worker,
                              mono_clock_ns() + NAMES_WAIT_NS);
    runtime_names_worker_collect(levels->names_worker, take_names, levels);
  }
  /* Identities of cgroups with no process left. */
  workload_set_sweep(levels->identities, gen);
  /* Trim each level in place in the pointer array (levels stay in order). */
  size_t out = 0;
  for (size_t i = 0; i < kept;) {
    enum report_level l = levels->table.v[i].level;
    size_t end = i;
    while (end < kept && levels->table.v[end].level == l)
      end++;
    struct workload_power **ws = levels->table.ptrs + i;
    size_t n = end - i, reported = n;
    if (report_policy_trims(&levels->report[l])) {
      struct other_power *o = &levels->other[l];
      reported = trim_level(ws, n, &levels->report[l], o);
      o->energy_j += (o->power_dynamic_w + o->power_idle_w) * dt_s;
      r->other[l] = *o;
      r->other_present[l] = true;
    }
    /* Each joule in exactly one series: a workload's own while it is
     * reported, its level's `other` while it is summed there. */
    for (size_t j = 0; j < reported; j++) {
      ws[j]->energy_j += workload_w(ws[j]) * dt_s;
      levels->table.ptrs[out++] = ws[j];
    }
    i = end;
  }
  r->workloads = levels->table.ptrs;
  r->nworkloads = out;
  return 0;
}

/* Report the process level by its policy, the rest as `other`. */
void workload_levels_trim_processes(struct workload_levels *levels,
                                    struct proc_entry **procs, size_t *nprocs,
                                    double dt_s,
                                    struct workload_levels_report *r) {
  const struct report_policy *p = &levels->report[LEVEL_PROCESS];
  struct other_power *o = &levels->other[LEVEL_PROCESS];
  size_t kept =
      attribution_keep(procs, *nprocs, p->mode == REPORT_TOP ? p->top : *nprocs,
                       p->mode == REPORT_ABOVE ? p->above_w : -INFINITY,
                       &o->power_dynamic_w, &o->power_idle_w);
  o->nprocs = *nprocs - kept;
  *nprocs = kept;
  o->energy_j += (o->power_dynamic_w + o->power_idle_w) * dt_s;
  r->other[LEVEL_PROCESS] = *o;
  r->other_present[LEVEL_PROCESS] = true;
}

void workload_levels_free(struct workload_levels *levels) {
  workload_table_free(&levels->table);
}
