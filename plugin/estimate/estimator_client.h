// SPDX-License-Identifier: GPL-2.0-only
/* Client of Kepler's general estimator sidecar (kepler.md 4): one JSON
 * request per connection over a unix stream socket, one JSON answer, with a
 * deadline on the whole exchange and every answer validated before use. No
 * collectd headers. */
#ifndef KEPLER_ESTIMATOR_CLIENT_H
#define KEPLER_ESTIMATOR_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"

struct estimator_options {
  const char *socket_path; /* Kepler's default: /tmp/estimator.sock */
  int timeout_ms;          /* connect + send + answer, all of it */
  size_t max_answer;       /* bytes; a longer answer is refused */
};

/* Kepler's request: rows of per-second feature values, one column per
 * metric, plus the machine's system features (strings). */
struct estimator_request {
  const char *output_type;  /* "AbsPower" or "DynPower" */
  const char *source;       /* "rapl-sysfs", "acpi", ... */
  const char *trainer_name; /* "": the sidecar chooses */
  const char *filter;       /* "": none */
  size_t nmetrics;
  const char *const *metrics; /* Kepler feature names */
  size_t nrows;
  const double *values; /* nrows x nmetrics, row-major */
  size_t nsystem;
  const char *const *system_features;
  const char *const *system_values;
};

/* The request as Kepler's JSON text (malloc'ed, NUL-terminated, no blanks
 * between tokens, doubles printed with %.17g so they round-trip bit-exact);
 * NULL when out of memory or when a value is NaN or infinite (JSON cannot
 * carry one, and a made-up 0 would give a made-up estimate; estimator_call
 * says which). */
char *estimator_request_json(const struct estimator_request *rq);

/* Validate an answer {"powers": {component: [W per row]}, "msg": ...,
 * "core_ratio": x} for nrows rows: a JSON object, only known components,
 * each with exactly nrows finite non-negative numbers, at least one
 * component; a "msg" with no powers is the sidecar's refusal and an error
 * quoting it (truncated). On success sets present[c] and
 * watts[c * nrows + row] for every component (0 where absent) and
 * *core_ratio (1 when absent or null; must be finite and > 0). Returns -1
 * with a message otherwise, leaving the outputs untouched.
 * Deliberate differences from Kepler: a negative watt value is an error,
 * not clipped to 0 (it means a broken model); bytes after the JSON value
 * are an error; unknown top-level keys are ignored. */
int estimator_parse_answer(const char *text, size_t len, size_t nrows,
                           bool present[COMPONENT_MAX], double *watts,
                           double *core_ratio, char *err, size_t errlen);

/* One exchange: connect, send the request (then shut down the writing
 * side, for a server reading to EOF), read the answer until the peer
 * closes (or the answer is complete JSON), within o->timeout_ms in all, and
 * parse it as above. watts holds COMPONENT_MAX * rq->nrows values.
 * timeout_ms and max_answer must be > 0 (max_answer <= INT32_MAX). Returns
 * -1 with a message naming the socket and what failed (connect refused, no
 * answer within N ms, answer over N bytes, not JSON, ...). Never blocks
 * past the deadline; a peer that accepts and never answers costs
 * timeout_ms. */
int estimator_call(const struct estimator_options *o,
                   const struct estimator_request *rq,
                   bool present[COMPONENT_MAX], double *watts,
                   double *core_ratio, char *err, size_t errlen);

#endif
