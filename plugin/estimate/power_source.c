// SPDX-License-Identifier: GPL-2.0-only
#include "power_source.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "default_model.h"
#include "file_writer.h"
#include "log.h"
#include "model_load.h"
#include "model_refresh.h"
#include "model_yaml.h"
#include "node_estimator.h"
#include "online_fit.h"
#include "outside_text.h"

/* The sidecar's answer for two rows is some hundred bytes; a model server's
 * weight file a few kB. Anything far larger is not an answer. */
#define ESTIMATOR_MAX_ANSWER 65536
#define MODEL_SERVER_MAX_ANSWER (1 << 20)
/* Online training remembers about the last 1000 intervals: it follows a
 * host whose hardware or firmware settings change. */
#define FIT_FORGETTING 0.999

struct power_source {
  struct power_source_options opt;
  struct machine_spec spec;
  bool available[FEATURE_MAX]; /* set by power_source_start */
  struct power_model *model;
  const char *model_origin;         /* the file it came from, or "embedded" */
  struct node_meter *meter;         /* NULL: the model gives node power */
  struct node_estimator *estimator; /* the sidecar, else the model */
  struct model_refresh *refresh;    /* NULL: no model server */
  struct online_fit *fit;           /* NULL: no online training */
  struct file_writer *writer;       /* writes the fit off the read thread */
  bool fit_write_failing;           /* warned; a notice on success */
  double platform_w;                /* from outside; NaN when unknown */
  uint32_t intervals;               /* power_source_next_interval calls */
};

/* Load and bind to this machine; a model file that cannot be used leaves
 * the embedded default in charge, with an error naming file and line. */
static int load_model(struct power_source *ps, const struct machine_spec *spec,
                      char *err, size_t errlen) {
  char why[512];
  if (ps->opt.model_file) {
    if (model_load_file(ps->opt.model_file, &ps->model, why, sizeof(why)) ==
            0 &&
        model_bind_machine(ps->model, spec, why, sizeof(why)) == 0) {
      ps->model_origin = ps->opt.model_file;
      return 0;
    }
    model_free(ps->model);
    ps->model = NULL;
    kepler_log(KLOG_ERR,
               "kepler: ModelFile: %s; using the embedded default model", why);
  }
  if (model_load_buffer(kepler_default_model, strlen(kepler_default_model),
                        "embedded models/default.yaml", &ps->model, err,
                        errlen) ||
      model_bind_machine(ps->model, spec, err, errlen))
    return -1;
  ps->model_origin = "embedded";
  return 0;
}

int power_source_open(const struct power_source_options *o,
                      const struct machine_spec *spec, uint64_t now_ns,
                      struct power_source **out, char *err, size_t errlen) {
  struct power_source *ps = calloc(1, sizeof(*ps));
  if (!ps) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  ps->opt = *o;
  ps->spec = *spec;
  ps->platform_w = NAN;
  struct node_meter_options mo = {
      .sysfs_root = o->sysfs_root,
      .choice = o->meter,
      .external_platform = o->external_platform,
  };
  if (load_model(ps, &ps->spec, err, errlen) ||
      node_meter_open(&mo, now_ns, &ps->meter, err, errlen)) {
    power_source_close(ps);
    return -1;
  }
  *out = ps;
  return 0;
}

void power_source_warn_unmeasured(const struct power_source *ps) {
  char name[OUTSIDE_TEXT_LEN];
  for (int f = 0; f < FEATURE_MAX; f++)
    if (model_uses_feature(ps->model, f) && !ps->available[f])
      kepler_log(KLOG_WARNING,
                 "kepler: model \"%s\" uses %s, which this host cannot "
                 "measure: that term contributes 0 W",
                 OUTSIDE_STR(name, model_name(ps->model)), feature_name(f));
}

/* A model the refresher validated replaces the local one between reads;
 * the refresher has logged where it came from. */
static bool adopt_refreshed_model(struct power_source *ps, const char *origin) {
  struct power_model *m = ps->refresh ? model_refresh_take(ps->refresh) : NULL;
  if (!m)
    return false;
  model_free(ps->model);
  ps->model = m;
  ps->model_origin = origin;
  return true;
}

/* One WARNING when writing the trained model starts failing, one NOTICE
 * when it works again. result: 1 written, -1 failed (why). */
static void note_trained_write(struct power_source *ps, int result,
                               const char *why) {
  if (result < 0 && !ps->fit_write_failing)
    kepler_log(KLOG_WARNING, "kepler: TrainedModelFile: %s", why);
  else if (result > 0 && ps->fit_write_failing)
    kepler_log(KLOG_NOTICE, "kepler: TrainedModelFile \"%s\" written again",
               ps->opt.trained_model_file);
  ps->fit_write_failing = result < 0;
}

bool power_source_next_interval(struct power_source *ps) {
  ps->intervals++;
  if (ps->writer) {
    char why[512];
    int written = file_writer_poll(ps->writer, why, sizeof(why));
    if (written)
      note_trained_write(ps, written, why);
  }
  if (!adopt_refreshed_model(ps, "model server"))
    return false;
  power_source_warn_unmeasured(ps);
  return true;
}

const struct power_model *power_source_model(const struct power_source *ps) {
  return ps->model;
}

bool power_source_has_meter(const struct power_source *ps) {
  return ps->meter != NULL;
}

void power_source_set_platform_w(struct power_source *ps, double watts) {
  ps->platform_w = watts;
}

void power_source_announce(const struct power_source *ps) {
  double mae = model_mae_watts(ps->model), mape = model_mape_pct(ps->model);
  char error[96] = "error not stated";
  if (mae >= 0 && mape >= 0)
    snprintf(error, sizeof(error), "stated error: MAE %.1f W, MAPE %.1f %%",
             mae, mape);
  else if (mae >= 0)
    snprintf(error, sizeof(error), "stated error: MAE %.1f W", mae);
  const char *arch = model_cpu_architecture(ps->model);
  char name[OUTSIDE_TEXT_LEN], arch_q[OUTSIDE_TEXT_LEN];
  OUTSIDE_STR(name, model_name(ps->model));
  OUTSIDE_STR(arch_q, arch);
  /* How the architecture was found: the name rules say nothing more; the
   * CPUID numbers are named when they decided, or when nothing matched. */
  char how[192] = "", vendor[OUTSIDE_TEXT_LEN];
  const struct machine_spec *sp = &ps->spec;
  if (sp->cpu_family &&
      (!*arch || model_cpu_architecture_from_cpuid(ps->model)))
    snprintf(how, sizeof(how), " %s CPUID %s family %u model %u stepping %u",
             *arch ? "from" : "by name nor by", OUTSIDE_STR(vendor, sp->vendor),
             sp->cpu_family, sp->cpu_model, sp->cpu_stepping);
  if (ps->meter)
    kepler_log(KLOG_INFO,
               "kepler: node power source: %s meter; model \"%s\" (%s; %s) "
               "only while the meter gives no value",
               node_meter_name(ps->meter), name, ps->model_origin, error);
  else if (ps->opt.estimator_socket)
    kepler_log(KLOG_INFO,
               "kepler: node power source: estimator sidecar at %s (source "
               "\"%s\"), no meter; model \"%s\" (%s; %s) for the intervals "
               "it does not answer",
               ps->opt.estimator_socket, ps->opt.model_source, name,
               ps->model_origin, error);
  else
    kepler_log(KLOG_INFO,
               "kepler: node power source: model \"%s\" (%s; %s; cpu "
               "architecture %s%s), no meter",
               name, ps->model_origin, error, *arch ? arch_q : "not recognised",
               how);
}

int power_source_start(struct power_source *ps,
                       const bool available[FEATURE_MAX], char *err,
                       size_t errlen) {
  memcpy(ps->available, available, sizeof(ps->available));
  const struct power_source_options *o = &ps->opt;
  struct node_estimator_options eo = {
      .socket_path = o->estimator_socket,
      .timeout_ms = o->estimator_timeout_ms,
      .max_answer = ESTIMATOR_MAX_ANSWER,
      .source = o->model_source,
      .spec = ps->spec,
  };
  memcpy(eo.have, ps->available, sizeof(eo.have));
  if (node_estimator_open(&eo, ps->model, &ps->estimator, err, errlen))
    return -1;
  if (o->model_server_url) {
    struct model_refresh_options ro = {
        .server =
            {
                .url = o->model_server_url,
                .ca_file = o->model_server_ca,
                .verify = o->model_server_verify,
                .timeout_ms = o->model_server_timeout_ms,
                .max_bytes = MODEL_SERVER_MAX_ANSWER,
                .output_type = "AbsPower",
                .source = o->model_source,
                .trainer_name = "",
                .filter = "",
            },
        .refresh_s = o->model_refresh_s,
        .cache_file = o->model_cache_file,
        .spec = ps->spec,
    };
    memcpy(ro.have, ps->available, sizeof(ro.have));
    if (model_refresh_start(&ro, &ps->refresh, err, errlen))
      return -1;
    /* The cached model, at once; power_source_warn_unmeasured (the
     * pipeline's start message) warns of what it lacks. */
    adopt_refreshed_model(ps, "model server's cache");
  }
  /* Trained on Kepler's BPF and counter features only: its feature groups
   * hold no softirq counts, and those, near 0 with rare bursts, give a few
   * noisy meter readings weights that explode on another host's bursts. */
  bool fit_features[FEATURE_MAX] = {false};
  static const enum kepler_feature trained[] = {
      FEATURE_CPU_TIME_MS, FEATURE_PAGE_CACHE_HIT, FEATURE_CPU_CYCLES,
      FEATURE_CPU_INSTRUCTIONS, FEATURE_CACHE_MISS};
  for (size_t i = 0; i < sizeof(trained) / sizeof(*trained); i++)
    fit_features[trained[i]] = ps->available[trained[i]];
  if (o->trained_model_file && ps->meter &&
      (!(ps->fit = online_fit_new(fit_features, FIT_FORGETTING)) ||
       !(ps->writer = file_writer_start()))) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  if (o->trained_model_file && !ps->meter)
    kepler_log(KLOG_WARNING,
               "kepler: TrainedModelFile \"%s\": this host has no power "
               "meter to train on; not training",
               o->trained_model_file);
  return 0;
}

/* Online training on the meter's values; the fit is written out every
 * trained_model_every intervals. */
static void train(struct power_source *ps, const double rate[FEATURE_MAX],
                  struct power_reading *r) {
  online_fit_add(ps->fit, rate, &r->node);
  bool fitted = false;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    r->fit_mae_w[c] = online_fit_mae(ps->fit, c);
    r->fit_present[c] = r->node.present[c] && isfinite(r->fit_mae_w[c]);
    fitted |= online_fit_is_fitted(ps->fit, c);
  }
  if (!fitted || ps->intervals % ps->opt.trained_model_every)
    return;
  /* The fsync of the file can take long: the writer's thread writes it,
   * and power_source_next_interval logs how it went. */
  char why[512];
  char *text =
      online_fit_text(ps->fit, ps->opt.trained_model_file,
                      ps->opt.trained_model_name, &ps->spec, why, sizeof(why));
  if (text)
    file_writer_submit(ps->writer, ps->opt.trained_model_file, text,
                       strlen(text));
  else
    note_trained_write(ps, -1, why);
}

/* The meter where it gives a value this interval, else the sidecar or the
 * local model. */
void power_source_read(struct power_source *ps, uint64_t now_ns,
                       const double rate[FEATURE_MAX], double utilization,
                       struct power_reading *r) {
  memset(r, 0, sizeof(*r));
  if (ps->meter && node_meter_read(ps->meter, now_ns, ps->platform_w,
                                   utilization, &r->node) == 0) {
    r->source = node_meter_name(ps->meter);
    if (ps->fit)
      train(ps, rate, r);
  } else {
    r->source =
        node_estimator_estimate(ps->estimator, ps->model, rate, &r->node);
  }
  if (ps->meter)
    r->meter_dropped = node_meter_dropped(ps->meter);
}

void power_source_close(struct power_source *ps) {
  if (!ps)
    return;
  model_refresh_stop(ps->refresh); /* its thread first */
  node_estimator_close(ps->estimator);
  file_writer_stop(ps->writer); /* writes what waits */
  online_fit_free(ps->fit);
  node_meter_close(ps->meter);
  model_free(ps->model);
  free(ps);
}
