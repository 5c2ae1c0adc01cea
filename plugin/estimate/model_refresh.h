// SPDX-License-Identifier: GPL-2.0-only
/* Weights from a Kepler model server, refreshed in the background: fetched
 * at start and every refresh_s, validated, cached on disk (so a restart
 * without the server still has them) and handed to the read path only
 * between reads. A failed refresh keeps the last good model; one WARNING
 * per outage, a NOTICE on recovery. No collectd headers. */
#ifndef KEPLER_MODEL_REFRESH_H
#define KEPLER_MODEL_REFRESH_H

#include "model_server_client.h"

struct model_refresh_options {
  struct model_server_options server;
  unsigned refresh_s;     /* Kepler asks once; we default to 3600 */
  const char *cache_file; /* NULL: no cache */
  bool have[FEATURE_MAX]; /* the features this host measures */
  struct machine_spec spec;
};

struct model_refresh;

/* Start the refresher thread (it copies what it needs of o). A valid cache
 * file is offered as the first model at once (before this returns); a bad
 * one is a WARNING naming it. The first fetch runs at once in the thread,
 * then every refresh_s after a success (0: until the first success only);
 * after a failure it retries after 2 s, doubling, at most min(refresh_s,
 * 60 s). Returns -1 with a message only when the URL is empty, memory runs
 * out or the thread cannot start. */
int model_refresh_start(const struct model_refresh_options *o,
                        struct model_refresh **out, char *err, size_t errlen);
/* The newest validated model not taken yet, or NULL; the caller owns it
 * (bound to o->spec, output type from o->server.output_type). NULL means
 * "keep what you have": nothing new since the last take, a failing server,
 * or an answer byte-identical to the last one published. Never blocks on
 * the network; safe from any thread. */
struct power_model *model_refresh_take(struct model_refresh *r);
/* Stop the thread (an HTTP request under way is abandoned within about a
 * second) and free, including a model not taken. r may be NULL. */
void model_refresh_stop(struct model_refresh *r);

#endif
