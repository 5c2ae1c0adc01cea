// SPDX-License-Identifier: GPL-2.0-only
/* Option values checked once, in the core: the collectd glue (and any other
 * front end) passes the words and numbers of its configuration, and gets a
 * value or a message naming what is wrong. No collectd headers. */
#ifndef KEPLER_OPTIONS_H
#define KEPLER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "component.h"
#include "kepler_features.h"
#include "level.h"
#include "node_meter.h"

/* An optional BPF hook: attached where its features are used (auto), or as
 * configured. */
enum hook_choice { HOOK_AUTO, HOOK_ON, HOOK_OFF };

struct kepler_options {
  const char *model_file; /* NULL: the embedded default model */
  bool split_idle;        /* share node idle power among processes */
  struct report_policy report[LEVEL_MAX];
  bool hw_counters;
  /* Testing only: software perf events stand in for hardware counters. */
  bool software_counters;
  enum hook_choice page_cache, softirq;
  double interval_s;        /* the read interval: sizes the exit ring buffer */
  const char *proc_root;    /* "/proc": machine facts (cpuinfo, meminfo) */
  const char *sysfs_root;   /* "/sys": meters and machine facts */
  const char *runtime_root; /* "/": container runtimes' record files */
  enum meter_choice meter;
  /* Platform power comes from kepler_core_set_platform_w (a value another
   * collectd plugin reads). */
  bool external_platform;
  /* The usage feature sharing each component; -1: the default policy. */
  int usage_metric[COMPONENT_MAX];
  /* Kepler's source asked of a sidecar or model server: "rapl-sysfs",
   * "acpi". */
  const char *model_source;
  /* Node power from Kepler's estimator sidecar where no meter gives it;
   * NULL: the local model. */
  const char *estimator_socket;
  int estimator_timeout_ms;
  /* The local model's weights from a Kepler model server, refreshed every
   * model_refresh_s and cached in model_cache_file; NULL url: off. */
  const char *model_server_url;
  const char *model_server_ca; /* NULL: the system's CAs */
  bool model_server_verify;
  long model_server_timeout_ms;
  unsigned model_refresh_s;
  const char *model_cache_file; /* NULL: no cache */
  /* Where a meter exists, linear weights fitted online are written here
   * every trained_model_every intervals; NULL: no online training. */
  const char *trained_model_file;
  unsigned trained_model_every;
};

/* A level, component or feature named in an option, in any case (collectd
 * matches option names so; a model file's names are exact): -1 when
 * unknown. */
int option_level(const char *name);
int option_component(const char *name);
int option_feature(const char *name);

/* A level's report policy from its option words: "all", "none", "top" N (a
 * whole number from 1 to UINT_MAX) or "above" W (W >= 0), the mode in any
 * case. has_value: a number followed the mode. 0, or -1 with a message in
 * err. */
int option_report_policy(const char *mode, bool has_value, double value,
                         struct report_policy *out, char *err, size_t errlen);

/* TrainedModelFile: ModelFile takes the equation from a weight file's name
 * and the output type from a DynPower directory, so the file name must be
 * LinearRegressionTrainer_<n>.json, outside a DynPower directory. Its name
 * without ".json" (what a model server names it) into name. 0, or -1 with
 * a message in err. */
#define TRAINED_MODEL_NAME_LEN 256
int option_trained_model_name(const char *path, char *name, size_t len,
                              char *err, size_t errlen);

/* What kepler_core_open relies on, checked there whatever a front end
 * checked: a trained model's file name and an interval of at least 1. 0, or
 * -1 with a message in err. */
int kepler_options_check(const struct kepler_options *o, char *err,
                         size_t errlen);

#endif
