// SPDX-License-Identifier: GPL-2.0-only
/* Client of Kepler's model server (kepler.md 5): POST <url>/model with
 * weight: true for the features this host measures and its machine spec;
 * the answer is a Kepler weight JSON (plus model_name, mae, machine_spec),
 * loaded and validated before anyone uses it. HTTP(S) through libcurl,
 * certificate verification on unless turned off. No collectd headers. */
#ifndef KEPLER_MODEL_SERVER_CLIENT_H
#define KEPLER_MODEL_SERVER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "machine.h"
#include "model.h"

struct model_server_options {
  const char *url;          /* base, e.g. "https://models.example:8100" */
  const char *ca_file;      /* NULL: the system's CA store */
  bool verify;              /* verify the peer and host name (default) */
  long timeout_ms;          /* the whole request; <= 0: 10000 */
  size_t max_bytes;         /* a longer answer is refused; 0: 16 MiB */
  const char *output_type;  /* "AbsPower" */
  const char *source;       /* "rapl-sysfs", "acpi" */
  const char *trainer_name; /* "": the server chooses */
  const char *filter;       /* "": none */
};

/* The request body for the features f with have[f] true and machine spec
 * (malloc'ed JSON text; NULL when out of memory). NULL output_type, source,
 * trainer_name, filter: "AbsPower", "rapl-sysfs", "", "". The machine spec
 * is sent as Kepler's model server describes machines (machine_spec_json.c says
 * how). */
char *model_server_request_json(const struct model_server_options *o,
                                const bool have[FEATURE_MAX],
                                const struct machine_spec *spec);

/* libcurl's global init, once. Call it from the thread that starts the
 * others (collectd's init): before 7.84 libcurl's is not thread-safe, and
 * other plugins (curl, write_http) call it there too. */
int model_server_global_init(char *err, size_t errlen);

/* POST the request; on HTTP 200 *body is the answer (malloc'ed,
 * NUL-terminated, *len bytes). Returns -1 with a message naming the URL and
 * the failure (connect, TLS verification, timeout, HTTP status with the
 * start of the body, over max_bytes); MODEL_SERVER_NO_MODEL (with the
 * message too) when the server answered 400: it has no model for what was
 * asked. */
#define MODEL_SERVER_NO_MODEL (-2)
int model_server_fetch(const struct model_server_options *o,
                       const bool have[FEATURE_MAX],
                       const struct machine_spec *spec, char **body,
                       size_t *len, char *err, size_t errlen);
/* The same, abandoning the request ("request abandoned") soon after
 * cancelled(arg) returns nonzero; libcurl asks it at least once a second,
 * usually far more often. Safe to call from several threads at once. */
int model_server_fetch_cancellable(const struct model_server_options *o,
                                   const bool have[FEATURE_MAX],
                                   const struct machine_spec *spec,
                                   int (*cancelled)(void *), void *arg,
                                   char **body, size_t *len, char *err,
                                   size_t errlen);

/* An answer (or the cache file holding one) as a model bound to spec:
 * parsed, the trainer taken from its model_name (any name containing
 * SGDRegressorTrainer, LinearRegressionTrainer or a Logarithmic/
 * Exponential/LogisticRegressionTrainer, e.g. "SGDRegressorTrainer_0"),
 * bound, and checked to predict finite power at zero and at full usage
 * for at least one component. origin names it in errors ("ORIGIN: ..." or
 * "ORIGIN:LINE: ..."). Returns -1 with a message; *out untouched then. */
int model_server_load(const char *body, size_t len, const char *origin,
                      enum model_output output, const struct machine_spec *spec,
                      struct power_model **out, char *err, size_t errlen);

#endif
