// SPDX-License-Identifier: GPL-2.0-only
/* The model server refresher: one thread that fetches, validates, caches
 * and publishes; the read path only swaps a pointer under a mutex.
 *
 * Timing: the first fetch runs as soon as the thread starts, then one every
 * refresh_s seconds after a success. After a failure the thread retries
 * sooner: 2 s, then doubling, but never later than min(refresh_s, 60 s), so
 * an outage is noticed to end within a minute (refresh_s 1-2 s retries
 * every refresh_s). refresh_s 0 fetches until the first success and then
 * never again (Kepler asks once).
 *
 * Publishing: a validated answer becomes the pending model (an older one not
 * taken yet is freed), unless its bytes equal the last published answer (the
 * cache included), so an unchanged model does not churn the read path.
 * Every new answer is written to the cache file before it is published: a
 * temporary file in the same directory, fsync, rename (a missing directory
 * is not created: one WARNING until a write succeeds).
 *
 * Logging (kepler_log): INFO for each new model (its name, stated MAE and
 * where it came from); one WARNING per outage naming the URL and the reason,
 * saying the current model stays; a NOTICE when the server answers with a
 * valid model again. A request under way when model_refresh_stop is called
 * is abandoned (libcurl's progress callback sees the stop flag) and logs
 * nothing. */
#define _GNU_SOURCE /* asprintf */
#include "model_refresh.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic_file.h"
#include "file_read.h"
#include "log.h"
#include "outside_text.h"

#define FIRST_RETRY_S 2u
#define MAX_RETRY_S 60u

struct model_refresh {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC */
  atomic_bool stopping;
  struct power_model *pending; /* under mu */

  /* The thread's own copy of the options. */
  struct model_server_options server;
  char *url, *ca_file, *output_type, *source, *trainer_name, *filter;
  char *cache_file;
  /* What is asked (URL and request body), kept in cache_file ".request": a
   * cache made for another server, source or feature set is not used. */
  char *asked, *asked_file;
  char *origin; /* "model server URL" */
  unsigned refresh_s;
  bool have[FEATURE_MAX];
  struct machine_spec spec;
  enum model_output output;

  /* The thread's state. */
  char *last; /* the last published answer (or the cache's text) */
  size_t last_len;
  bool last_cached; /* last is what the cache file holds */
  bool outage;      /* a WARNING was logged; a NOTICE ends it */
  bool cache_warned;
};

static void mae_text(const struct power_model *m, char *buf, size_t n) {
  if (model_mae_watts(m) >= 0)
    snprintf(buf, n, "stated MAE %.2f W", model_mae_watts(m));
  else
    snprintf(buf, n, "no stated MAE");
}

/* Hands m to the read path, freeing an older model it has not taken. */
static void publish(struct model_refresh *r, struct power_model *m,
                    const char *from) {
  char mae[48], name[OUTSIDE_TEXT_LEN];
  mae_text(m, mae, sizeof mae);
  kepler_log(KLOG_INFO, "kepler: new model \"%s\" (%s) from %s",
             OUTSIDE_STR(name, model_name(m)), mae, from);
  pthread_mutex_lock(&r->mu);
  struct power_model *old = r->pending;
  r->pending = m;
  pthread_mutex_unlock(&r->mu);
  model_free(old);
}

/* --- The cache file --------------------------------------------------- */

/* The whole file, at most max bytes: 0 or -errno (-EFBIG when larger). */
static int read_all(const char *path, size_t max, char **text, size_t *len) {
  int fd = file_open_regular(path);
  if (fd < 0)
    return fd;
  int rc = file_read_bounded(fd, max, text, len);
  close(fd);
  return rc;
}

static void load_cache(struct model_refresh *r) {
  char *text = NULL;
  size_t len = 0;
  int rc = read_all(r->cache_file, r->server.max_bytes, &text, &len);
  if (rc) {
    if (rc != -ENOENT)
      kepler_log(KLOG_WARNING, "kepler: model cache %s: cannot read: %s",
                 r->cache_file,
                 rc == -EFBIG ? "larger than MaxBytes" : file_strerror(rc));
    return;
  }
  char *asked = NULL, *origin = NULL, err[512];
  size_t asked_len = 0;
  struct power_model *m = NULL;
  bool same =
      read_all(r->asked_file, strlen(r->asked), &asked, &asked_len) == 0 &&
      strcmp(asked, r->asked) == 0;
  free(asked);
  if (!same) {
    kepler_log(KLOG_INFO,
               "kepler: model cache %s was made for another server, source "
               "or feature set (%s); not used",
               r->cache_file, r->asked_file);
    free(text);
    return;
  }
  if (asprintf(&origin, "cache %s", r->cache_file) < 0) {
    free(text);
    return;
  }
  if (model_server_load(text, len, origin, r->output, &r->spec, &m, err,
                        sizeof err)) {
    kepler_log(KLOG_WARNING, "kepler: ignoring the model cache: %s", err);
    free(text);
  } else {
    publish(r, m, origin);
    r->last = text;
    r->last_len = len;
    r->last_cached = true;
  }
  free(origin);
}

static void cache(struct model_refresh *r) {
  if (!r->cache_file || r->last_cached)
    return;
  char err[768];
  if (atomic_file_write(r->asked_file, r->asked, strlen(r->asked), err,
                        sizeof err) ||
      atomic_file_write(r->cache_file, r->last, r->last_len, err, sizeof err)) {
    /* err names the file. */
    if (!r->cache_warned)
      kepler_log(KLOG_WARNING, "kepler: model cache: %s", err);
    r->cache_warned = true;
    return;
  }
  r->cache_warned = false;
  r->last_cached = true;
}

/* --- The thread ------------------------------------------------------- */

static int is_stopping(void *arg) {
  struct model_refresh *r = arg;
  return atomic_load(&r->stopping);
}

/* Kepler's BPF feature groups take every software feature; a kernel that
 * lacks one (no fexit for the page cache hook) would match none of them.
 * Asked again with them all, the server's best BPF model serves, and the
 * core warns that the missing feature's term reads 0. */
static const enum kepler_feature software_features[] = {
    FEATURE_CPU_TIME_MS, FEATURE_PAGE_CACHE_HIT, FEATURE_NET_RX_IRQ,
    FEATURE_NET_TX_IRQ,  FEATURE_BLOCK_IRQ,
};

static int fetch(struct model_refresh *r, char **body, size_t *len, char *err,
                 size_t errlen) {
  int rc = model_server_fetch_cancellable(
      &r->server, r->have, &r->spec, is_stopping, r, body, len, err, errlen);
  bool wider[FEATURE_MAX], more = false;
  memcpy(wider, r->have, sizeof wider);
  for (size_t i = 0; i < sizeof software_features / sizeof *software_features;
       i++) {
    more |= !wider[software_features[i]];
    wider[software_features[i]] = true;
  }
  if (rc == MODEL_SERVER_NO_MODEL && more)
    rc = model_server_fetch_cancellable(&r->server, wider, &r->spec,
                                        is_stopping, r, body, len, err, errlen);
  return rc;
}

/* One refresh; 0 when the server gave a valid model (new or not). retry_s:
 * when the next attempt follows a failure, for the log. */
static int refresh(struct model_refresh *r, unsigned retry_s) {
  char *body = NULL, err[768];
  size_t len = 0;
  struct power_model *m = NULL;
  if (fetch(r, &body, &len, err, sizeof err)) {
    if (atomic_load(&r->stopping))
      return -1;
    goto failed;
  }
  bool same = r->last && len == r->last_len && memcmp(body, r->last, len) == 0;
  if (!same && model_server_load(body, len, r->origin, r->output, &r->spec, &m,
                                 err, sizeof err)) {
    free(body);
    goto failed;
  }
  if (r->outage)
    kepler_log(KLOG_NOTICE, "kepler: model server %s answers again", r->url);
  r->outage = false;
  if (same) {
    free(body);
    cache(r); /* in case an earlier write failed */
  } else {
    free(r->last);
    r->last = body;
    r->last_len = len;
    r->last_cached = false;
    cache(r); /* first: a model taken is one the cache holds */
    publish(r, m, r->origin);
  }
  return 0;
failed:
  if (!r->outage)
    kepler_log(KLOG_WARNING,
               "kepler: model refresh failed: %s; the current model stays "
               "(next attempt in %u s)",
               err, retry_s);
  r->outage = true;
  return -1;
}

/* Sleeps s seconds or until stopped; true when stopped. */
static bool nap(struct model_refresh *r, unsigned s) {
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += s;
  pthread_mutex_lock(&r->mu);
  while (!atomic_load(&r->stopping))
    if (pthread_cond_timedwait(&r->cv, &r->mu, &deadline) == ETIMEDOUT)
      break;
  bool stopped = atomic_load(&r->stopping);
  pthread_mutex_unlock(&r->mu);
  return stopped;
}

static void *run(void *arg) {
  struct model_refresh *r = arg;
  unsigned cap =
      r->refresh_s && r->refresh_s < MAX_RETRY_S ? r->refresh_s : MAX_RETRY_S;
  unsigned retry = FIRST_RETRY_S;
  while (!atomic_load(&r->stopping)) {
    unsigned wait = retry < cap ? retry : cap;
    if (refresh(r, wait) == 0) {
      if (r->refresh_s == 0)
        break;
      wait = r->refresh_s;
      retry = FIRST_RETRY_S;
    } else {
      retry = retry < MAX_RETRY_S ? retry * 2 : MAX_RETRY_S;
    }
    if (nap(r, wait))
      break;
  }
  return NULL;
}

/* --- The API ---------------------------------------------------------- */

static void destroy(struct model_refresh *r) {
  model_free(r->pending);
  free(r->last);
  free(r->url);
  free(r->ca_file);
  free(r->output_type);
  free(r->source);
  free(r->trainer_name);
  free(r->filter);
  free(r->cache_file);
  free(r->asked);
  free(r->asked_file);
  free(r->origin);
  free(r);
}

/* The URL and the request body: what the cache answers. */
static int set_asked(struct model_refresh *r) {
  char *body = model_server_request_json(&r->server, r->have, &r->spec);
  int rc = -1;
  if (body && asprintf(&r->asked, "%s\n%s\n", r->url, body) < 0)
    r->asked = NULL; /* asprintf leaves it undefined on failure */
  else if (body && asprintf(&r->asked_file, "%s.request", r->cache_file) < 0)
    r->asked_file = NULL;
  else if (body)
    rc = 0;
  free(body);
  return rc;
}

static int dup_opt(const char *s, char **out) {
  *out = NULL;
  return s && !(*out = strdup(s)) ? -1 : 0;
}

int model_refresh_start(const struct model_refresh_options *o,
                        struct model_refresh **out, char *err, size_t errlen) {
  if (!o->server.url || !*o->server.url) {
    snprintf(err, errlen, "model refresh: no model server URL");
    return -1;
  }
  struct model_refresh *r = calloc(1, sizeof *r);
  if (!r || dup_opt(o->server.url, &r->url) ||
      dup_opt(o->server.ca_file, &r->ca_file) ||
      dup_opt(o->server.output_type, &r->output_type) ||
      dup_opt(o->server.source, &r->source) ||
      dup_opt(o->server.trainer_name, &r->trainer_name) ||
      dup_opt(o->server.filter, &r->filter) ||
      dup_opt(o->cache_file && *o->cache_file ? o->cache_file : NULL,
              &r->cache_file) ||
      asprintf(&r->origin, "model server %s", o->server.url) < 0) {
    if (r) {
      r->origin = NULL;
      destroy(r);
    }
    snprintf(err, errlen, "model refresh: out of memory");
    return -1;
  }
  r->server = o->server;
  r->server.url = r->url;
  r->server.ca_file = r->ca_file;
  r->server.output_type = r->output_type;
  r->server.source = r->source;
  r->server.trainer_name = r->trainer_name;
  r->server.filter = r->filter;
  if (!r->server.max_bytes)
    r->server.max_bytes = (size_t)16 << 20; /* as model_server_fetch */
  r->refresh_s = o->refresh_s;
  memcpy(r->have, o->have, sizeof r->have);
  r->spec = o->spec;
  r->output = r->output_type && strcmp(r->output_type, "DynPower") == 0
                  ? MODEL_DYN_POWER
                  : MODEL_ABS_POWER;
  atomic_init(&r->stopping, false);
  if (r->cache_file && set_asked(r)) {
    snprintf(err, errlen, "model refresh: out of memory");
    destroy(r);
    return -1;
  }

  pthread_condattr_t ca;
  int rc = pthread_condattr_init(&ca);
  if (rc == 0) {
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&r->cv, &ca);
    pthread_condattr_destroy(&ca);
  }
  if (rc) {
    snprintf(err, errlen, "model refresh: %s", strerror(rc));
    destroy(r);
    return -1;
  }
  pthread_mutex_init(&r->mu, NULL);
  if (model_server_global_init(err, errlen)) {
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    destroy(r);
    return -1;
  }
  if (r->cache_file)
    load_cache(r);
  if ((rc = pthread_create(&r->thread, NULL, run, r))) {
    snprintf(err, errlen, "model refresh: cannot start a thread: %s",
             strerror(rc));
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    destroy(r);
    return -1;
  }
  *out = r;
  return 0;
}

struct power_model *model_refresh_take(struct model_refresh *r) {
  pthread_mutex_lock(&r->mu);
  struct power_model *m = r->pending;
  r->pending = NULL;
  pthread_mutex_unlock(&r->mu);
  return m;
}

void model_refresh_stop(struct model_refresh *r) {
  if (!r)
    return;
  pthread_mutex_lock(&r->mu);
  atomic_store(&r->stopping, true);
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  destroy(r);
}
