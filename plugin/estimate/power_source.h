// SPDX-License-Identifier: GPL-2.0-only
/* Where node power comes from, and its lifecycle: a meter where the host has
 * one, else Kepler's estimator sidecar or the local model; the model loaded
 * (the embedded default when a ModelFile cannot be used), replaced by a
 * model server's, trained online on the meter. The pipeline asks it for one
 * interval's node power and holds no policy of its own on any of that. No
 * collectd headers. */
#ifndef KEPLER_POWER_SOURCE_H
#define KEPLER_POWER_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "component.h"
#include "kepler_features.h"
#include "machine.h"
#include "model.h"
#include "node_meter.h"
#include "node_power.h"

struct power_source_options {
  const char *model_file; /* NULL: the embedded default model */
  const char *sysfs_root; /* meters */
  enum meter_choice meter;
  /* Platform power comes from power_source_set_platform_w. */
  bool external_platform;
  /* Kepler's source asked of a sidecar or model server: "rapl-sysfs". */
  const char *model_source;
  const char *estimator_socket; /* NULL: the local model */
  int estimator_timeout_ms;
  const char *model_server_url; /* NULL: no model server */
  const char *model_server_ca;  /* NULL: the system's CAs */
  bool model_server_verify;
  long model_server_timeout_ms;
  unsigned model_refresh_s;
  const char *model_cache_file; /* NULL: no cache */
  /* Online training where a meter exists: the fit is written to
   * trained_model_file, as model trained_model_name (the file's name
   * without ".json"), every trained_model_every (>= 1) intervals; NULL:
   * no training. */
  const char *trained_model_file;
  const char *trained_model_name;
  unsigned trained_model_every;
};

struct power_source;

/* Load the model, bind it to spec and open the meter. 0, or -1 with a
 * message in err. */
int power_source_open(const struct power_source_options *o,
                      const struct machine_spec *spec, uint64_t now_ns,
                      struct power_source **out, char *err, size_t errlen);
/* Once the features this host measures are known (the sampler is open):
 * the sidecar, the model server and online training, which need them. */
int power_source_start(struct power_source *ps,
                       const bool available[FEATURE_MAX], char *err,
                       size_t errlen);
const struct power_model *power_source_model(const struct power_source *ps);
bool power_source_has_meter(const struct power_source *ps);
/* Platform power in W for the next read, from outside; NaN: not known. */
void power_source_set_platform_w(struct power_source *ps, double watts);
/* The start message's "node power source: ..." line. */
void power_source_announce(const struct power_source *ps);
/* A WARNING for each feature the model uses and this host cannot measure. */
void power_source_warn_unmeasured(const struct power_source *ps);
/* Before each interval's read: counts it (for trained_model_every) and
 * adopts a model the model server's refresher validated; true when it did
 * (and warned of what the new model lacks). */
bool power_source_next_interval(struct power_source *ps);

struct power_reading {
  struct node_power node;
  /* A meter's name (node_meter_name), "estimator" or "model". */
  const char *source;
  uint64_t meter_dropped; /* cumulative: meter intervals not trusted */
  /* Online training: the running error of each fitted component's
   * one-step-ahead prediction, in W. */
  bool fit_present[COMPONENT_MAX];
  double fit_mae_w[COMPONENT_MAX];
};

/* This interval's node power: the meter where it gives a value (and online
 * training on it), else the sidecar or the local model at the node's
 * per-second features. utilization: CPU busy fraction, NaN when unknown. */
void power_source_read(struct power_source *ps, uint64_t now_ns,
                       const double rate[FEATURE_MAX], double utilization,
                       struct power_reading *out);
void power_source_close(struct power_source *ps);

#endif
