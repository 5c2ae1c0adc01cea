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
#include "power_source.h"

struct kepler_options {
  bool split_idle; /* share node idle power among processes */
  struct report_policy report[LEVEL_MAX];
  bool hw_counters;
  /* Testing only: software perf events stand in for hardware counters. */
  bool software_counters;
  enum hook_choice page_cache, softirq;
  double interval_s; /* the read interval: sizes the exit ring buffer */
  /* "/proc": the host's /proc (machine facts, node CPU times, processes'
   * cgroups), elsewhere in a container that mounts it there */
  const char *proc_root;
  const char *runtime_root; /* "/": container runtimes' record files */
  /* The usage feature sharing each component; -1: the default policy. */
  int usage_metric[COMPONENT_MAX];
  /* Node power: the model, the meter, a sidecar or model server, online
   * training (power.sysfs_root also holds the machine's facts). The
   * pipeline sets power.trained_model_name. */
  struct power_source_options power;
};

/* A level, component or feature named in an option, in any case (collectd
 * matches option names so; a model file's names are exact): -1 when
 * unknown. */
int option_level(const char *name);
int option_component(const char *name);
int option_feature(const char *name);

/* An integer option's value from the number as configured (collectd reads
 * every number as a double): a whole number from lo to hi, compared before
 * any conversion. 0, or -1 with a message in err naming the option (key)
 * and the value, out untouched. */
int option_integer(const char *key, double value, long long lo, long long hi,
                   long long *out, char *err, size_t errlen);

/* A root option (SysfsRoot, RuntimeRoot): 0 when path is a directory, or -1
 * with a message in err naming the option and the path. */
int option_root(const char *key, const char *path, char *err, size_t errlen);

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
