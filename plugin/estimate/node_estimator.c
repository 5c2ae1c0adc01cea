// SPDX-License-Identifier: GPL-2.0-only
#include "node_estimator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "estimator_client.h"
#include "log.h"
#include "outside_text.h"

/* Kepler's system feature, then the machine spec the model server also
 * uses (kepler.md 5) and whether this is a VM: a sidecar picks what its
 * models need. */
enum {
  SYS_ARCH,
  SYS_VENDOR,
  SYS_PROCESSOR,
  SYS_CORES,
  SYS_CHIPS,
  SYS_THREADS,
  SYS_MEMORY,
  SYS_FREQUENCY,
  SYS_THREADS_PER_CORE,
  SYS_HYPERVISOR,
  SYS_MAX,
};
static const char *const system_features[SYS_MAX] = {
    "cpu_architecture",
    "vendor",
    "processor",
    "cores",
    "chips",
    "threads",
    "memory",
    "frequency",
    "threads_per_core",
    "hypervisor",
};

struct node_estimator {
  struct estimator_options client;
  char *socket_path;
  const char *source;
  size_t nmetrics;
  const char *metrics[FEATURE_MAX];
  enum kepler_feature metric_feature[FEATURE_MAX];
  char system_text[SYS_MAX][256];
  const char *system_values[SYS_MAX];
  bool failing; /* in an outage: warned, the notice comes on recovery */
};

static void set_system_values(struct node_estimator *e,
                              const struct machine_spec *s) {
  char(*v)[256] = e->system_text;
  snprintf(v[SYS_VENDOR], sizeof(v[0]), "%s", s->vendor);
  snprintf(v[SYS_PROCESSOR], sizeof(v[0]), "%s", s->cpu);
  snprintf(v[SYS_CORES], sizeof(v[0]), "%u", s->cores);
  snprintf(v[SYS_CHIPS], sizeof(v[0]), "%u", s->chips);
  snprintf(v[SYS_THREADS], sizeof(v[0]), "%u", s->threads);
  snprintf(v[SYS_MEMORY], sizeof(v[0]), "%.0f", s->memory_gb);
  snprintf(v[SYS_FREQUENCY], sizeof(v[0]), "%.0f", s->mhz);
  snprintf(v[SYS_THREADS_PER_CORE], sizeof(v[0]), "%u",
           s->cores ? s->threads / s->cores : 1);
  snprintf(v[SYS_HYPERVISOR], sizeof(v[0]), "%d", s->hypervisor);
  for (int i = 0; i < SYS_MAX; i++)
    e->system_values[i] = v[i];
}

/* One request: row 0 the node's features, row 1 zero usage (the idle point),
 * or the health check's single zero row. */
static int ask(struct node_estimator *e, const struct power_model *m,
               const double *x, size_t nrows, bool present[COMPONENT_MAX],
               double watts[COMPONENT_MAX * 2], double *core_ratio, char *err,
               size_t errlen) {
  double values[2 * FEATURE_MAX] = {0};
  for (size_t i = 0; x && i < e->nmetrics; i++)
    values[i] = x[e->metric_feature[i]];
  const char *arch = model_cpu_architecture(m);
  snprintf(e->system_text[SYS_ARCH], sizeof(e->system_text[0]), "%s", arch);
  struct estimator_request rq = {
      .output_type = "AbsPower",
      .source = e->source,
      .trainer_name = "",
      .filter = "",
      .nmetrics = e->nmetrics,
      .metrics = e->metrics,
      .nrows = nrows,
      .values = values,
      .nsystem = SYS_MAX,
      .system_features = system_features,
      .system_values = e->system_values,
  };
  return estimator_call(&e->client, &rq, present, watts, core_ratio, err,
                        errlen);
}

static void outage(struct node_estimator *e, const char *why,
                   const struct power_model *m) {
  char name[OUTSIDE_TEXT_LEN];
  if (!e->failing)
    kepler_log(KLOG_WARNING,
               "kepler: %s; estimating node power with the local model "
               "\"%s\" until the sidecar answers",
               why, OUTSIDE_STR(name, model_name(m)));
  e->failing = true;
}

int node_estimator_open(const struct node_estimator_options *o,
                        const struct power_model *m,
                        struct node_estimator **out, char *err, size_t errlen) {
  struct node_estimator *e = calloc(1, sizeof(*e));
  if (!e || (o->socket_path && !(e->socket_path = strdup(o->socket_path)))) {
    free(e);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  e->client =
      (struct estimator_options){e->socket_path, o->timeout_ms, o->max_answer};
  e->source = o->source;
  for (int f = 0; f < FEATURE_MAX; f++)
    if (o->have[f]) {
      e->metric_feature[e->nmetrics] = f;
      e->metrics[e->nmetrics++] = feature_name(f);
    }
  set_system_values(e, &o->spec);
  if (e->socket_path) {
    bool present[COMPONENT_MAX];
    double watts[COMPONENT_MAX * 2], ratio;
    char why[512];
    if (ask(e, m, NULL, 1, present, watts, &ratio, why, sizeof(why)))
      outage(e, why, m);
    else
      kepler_log(KLOG_INFO,
                 "kepler: estimator sidecar at %s answers; it estimates node "
                 "power (source \"%s\") where no meter gives it",
                 e->socket_path, e->source);
  }
  *out = e;
  return 0;
}

const char *node_estimator_estimate(struct node_estimator *e,
                                    const struct power_model *m,
                                    const double x[FEATURE_MAX],
                                    struct node_power *out) {
  if (e && e->socket_path) {
    bool present[COMPONENT_MAX];
    double watts[COMPONENT_MAX * 2], ratio;
    char why[512];
    if (ask(e, m, x, 2, present, watts, &ratio, why, sizeof(why)) == 0) {
      double eq_x[COMPONENT_MAX], eq_0[COMPONENT_MAX];
      for (int c = 0; c < COMPONENT_MAX; c++) {
        eq_x[c] = watts[c * 2];
        eq_0[c] = watts[c * 2 + 1];
      }
      struct model_output_w w;
      /* Kepler scales idle by coreRatio, never above the whole of it. */
      model_node_from_equations(present, eq_x, eq_0, MODEL_ABS_POWER,
                                fmin(ratio, 1), &w);
      node_power_from_output(&w, out);
      if (e->failing)
        kepler_log(KLOG_NOTICE,
                   "kepler: estimator sidecar at %s answers "
                   "again; it estimates node power",
                   e->socket_path);
      e->failing = false;
      return "estimator";
    }
    outage(e, why, m);
  }
  node_power_estimate(m, x, out);
  return "model";
}

void node_estimator_close(struct node_estimator *e) {
  if (!e)
    return;
  free(e->socket_path);
  free(e);
}

void node_power_from_output(const struct model_output_w *w,
                            struct node_power *out) {
  memset(out, 0, sizeof(*out));
  for (int c = 0; c < COMPONENT_MAX; c++) {
    out->present[c] = w->present[c];
    out->absolute[c] = w->absolute[c];
    out->idle[c] = w->idle[c];
  }
  node_power_finish(out);
}

void node_power_estimate(const struct power_model *m,
                         const double x[FEATURE_MAX], struct node_power *out) {
  struct model_output_w w;
  model_predict_node(m, x, &w);
  node_power_from_output(&w, out);
}
