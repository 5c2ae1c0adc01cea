// SPDX-License-Identifier: GPL-2.0-only
/* Client of Kepler's model server (kepler.md 5): the request body, one
 * POST through libcurl, and loading the answer into a bound, checked model.
 *
 * The request says what this host is the way Kepler's model server
 * describes machines (machine_spec_json.c has the rules), the same
 * machine_spec an online fit writes into its file.
 *
 * Thread safety: every call uses its own curl handle; curl_global_init runs
 * once under pthread_once (it must not run concurrently with itself). */
#define _GNU_SOURCE /* strndup */
#include "model_server_client.h"

#include "array_grow.h"
#include "component_total.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json.h>

#include "errmsg.h"
#include "json_build.h"
#include "machine_spec_json.h"
#include "model_kepler_json.h"
#include "outside_text.h"

#define DEFAULT_TIMEOUT_MS 10000L
#define DEFAULT_MAX_BYTES ((size_t)16 << 20)
/* The most a model may give at full usage: far above any real server
 * (SPECpower's largest is 2.1 kW for 448 threads), far below an absurd
 * value. */
#define MAX_W_PER_THREAD 100.0
#define MAX_W_BASE 1000.0

static const char *or_default(const char *s, const char *def) {
  return s ? s : def;
}

char *model_server_request_json(const struct model_server_options *o,
                                const bool have[FEATURE_MAX],
                                const struct machine_spec *spec) {
  json_object *root = json_object_new_object(),
              *metrics = json_object_new_array();
  char *text = NULL;
  if (!root || !json_build_add(root, "metrics", metrics))
    goto done;
  for (int f = 0; f < FEATURE_MAX; f++)
    if (have[f] &&
        !json_build_add(metrics, NULL, json_object_new_string(feature_name(f))))
      goto done;
  bool ok =
      json_build_add(
          root, "output_type",
          json_object_new_string(or_default(o->output_type, "AbsPower"))) &&
      json_build_add(
          root, "source",
          json_object_new_string(or_default(o->source, "rapl-sysfs"))) &&
      json_build_add(root, "node_type", json_object_new_int(-1)) &&
      json_build_add(root, "weight", json_object_new_boolean(1)) &&
      json_build_add(root, "trainer_name",
                     json_object_new_string(or_default(o->trainer_name, ""))) &&
      json_build_add(root, "filter",
                     json_object_new_string(or_default(o->filter, ""))) &&
      json_build_add(root, "pipeline_name", json_object_new_string("")) &&
      json_build_add(root, "machine_spec", machine_spec_json(spec));
  if (!ok)
    goto done;
  const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
  text = s ? strdup(s) : NULL;
done:
  if (!root)
    json_object_put(metrics);
  json_object_put(root);
  return text;
}

/* --- HTTP ------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static void curl_init(void) {
  curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int model_server_global_init(char *err, size_t errlen) {
  pthread_once(&curl_once, curl_init);
  if (curl_init_rc != CURLE_OK)
    return errmsg(err, errlen, "curl_global_init: %s",
                  curl_easy_strerror(curl_init_rc));
  return 0;
}

struct sink {
  char *buf;
  size_t len, cap, max;
  bool over;
};

static size_t on_data(char *data, size_t size, size_t n, void *arg) {
  struct sink *s = arg;
  size_t k = size * n;
  if (k > s->max - s->len) {
    s->over = true;
    return 0; /* CURLE_WRITE_ERROR */
  }
  if (array_grow((void **)&s->buf, &s->cap, s->len + k + 1, 1))
    return 0;
  memcpy(s->buf + s->len, data, k);
  s->len += k;
  s->buf[s->len] = '\0';
  return k;
}

struct cancel {
  int (*fn)(void *);
  void *arg;
};

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  const struct cancel *c = arg;
  return c->fn && c->fn(c->arg) ? 1 : 0;
}

/* base + "/model", without doubling a trailing slash. */
static char *model_url(const char *base) {
  size_t n = strlen(base);
  while (n > 0 && base[n - 1] == '/')
    n--;
  char *url = malloc(n + sizeof "/model");
  if (url) {
    memcpy(url, base, n);
    memcpy(url + n, "/model", sizeof "/model");
  }
  return url;
}

int model_server_fetch_cancellable(const struct model_server_options *o,
                                   const bool have[FEATURE_MAX],
                                   const struct machine_spec *spec,
                                   int (*cancelled)(void *), void *arg,
                                   char **body, size_t *len, char *err,
                                   size_t errlen) {
  const char *base = o->url ? o->url : "";
  if (!*base)
    return errmsg(err, errlen, "model server: no URL");
  char why[256];
  if (model_server_global_init(why, sizeof why))
    return errmsg(err, errlen, "model server %s: %s", base, why);
  long timeout = o->timeout_ms > 0 ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
  struct sink sink = {.max = o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES};
  struct cancel cancel = {cancelled, arg};
  char curl_err[CURL_ERROR_SIZE] = "";
  char *url = model_url(base);
  char *req = model_server_request_json(o, have, spec);
  struct curl_slist *headers = NULL, *h;
  CURL *c = curl_easy_init();
  int rc = -1;
  if (!url || !req || !c) {
    errmsg(err, errlen, "model server %s: out of memory", base);
    goto done;
  }
  static const char *const header_lines[] = {
      "Content-Type: application/json", "Accept: application/json",
      "Expect:", /* no 100-continue round trip */
  };
  for (size_t i = 0; i < sizeof header_lines / sizeof header_lines[0]; i++) {
    if (!(h = curl_slist_append(headers, header_lines[i]))) {
      errmsg(err, errlen, "model server %s: out of memory", base);
      goto done;
    }
    headers = h;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85.0 */
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS,
                   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, o->verify ? 1L : 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, o->verify ? 2L : 0L);
  if (o->ca_file && *o->ca_file)
    curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "collectd-kepler");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, req);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(req));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  if (sink.max < (size_t)INT64_MAX)
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink.max);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &cancel);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);

  CURLcode res = curl_easy_perform(c);
  if (res == CURLE_FILESIZE_EXCEEDED || (res == CURLE_WRITE_ERROR && sink.over))
    errmsg(err, errlen, "model server %s: answer over %zu bytes", url,
           sink.max);
  else if (res == CURLE_ABORTED_BY_CALLBACK)
    errmsg(err, errlen, "model server %s: request abandoned", url);
  else if (res == CURLE_OPERATION_TIMEDOUT)
    errmsg(err, errlen, "model server %s: no answer within %ld ms", url,
           timeout);
  else if (res != CURLE_OK)
    errmsg(err, errlen, "model server %s: %s%s%s", url, curl_easy_strerror(res),
           curl_err[0] ? ": " : "", curl_err);
  else {
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
      char ex[84]; /* the first 80 bytes of the body */
      outside_text(ex, sizeof ex, sink.buf ? sink.buf : "", sink.len);
      errmsg(err, errlen, "model server %s: HTTP %ld%s%s", url, status,
             ex[0] ? ": " : "", ex);
      if (status == 400)
        rc = MODEL_SERVER_NO_MODEL;
    } else {
      if (!sink.buf && !(sink.buf = calloc(1, 1))) {
        errmsg(err, errlen, "model server %s: out of memory", url);
        goto done;
      }
      *body = sink.buf;
      *len = sink.len;
      sink.buf = NULL;
      rc = 0;
    }
  }
done:
  if (c)
    curl_easy_cleanup(c);
  curl_slist_free_all(headers);
  free(sink.buf);
  free(req);
  free(url);
  return rc;
}

int model_server_fetch(const struct model_server_options *o,
                       const bool have[FEATURE_MAX],
                       const struct machine_spec *spec, char **body,
                       size_t *len, char *err, size_t errlen) {
  return model_server_fetch_cancellable(o, have, spec, NULL, NULL, body, len,
                                        err, errlen);
}

/* --- Loading an answer ------------------------------------------------ */

/* The trainer whose equation the weights follow, from a model name such as
 * "SGDRegressorTrainer_0" or "BPFOnly_LogarithmicRegressionTrainer_1":
 * the weight-producing trainers of Kepler (util/train_types.py
 * weight_support_trainers) and LinearRegressionTrainer. */
static const char *trainer_of(const char *model_name) {
  static const char *const trainers[] = {
      "LogarithmicRegressionTrainer", "ExponentialRegressionTrainer",
      "LogisticRegressionTrainer",    "SGDRegressorTrainer",
      "LinearRegressionTrainer",
  };
  for (size_t i = 0; i < sizeof trainers / sizeof trainers[0]; i++)
    if (strstr(model_name, trainers[i]))
      return trainers[i];
  return NULL;
}

/* Usage of a busy machine: every thread on CPU, a cycle per clock tick and
 * an instruction per cycle, moderate cache, page-cache and IRQ rates. */
static void full_usage(const struct machine_spec *s, double x[FEATURE_MAX]) {
  double threads = s->threads ? s->threads : s->cores ? s->cores : 1;
  double hz = (s->mhz > 0 ? s->mhz : 2500) * 1e6;
  x[FEATURE_CPU_TIME_MS] = 1000 * threads;
  x[FEATURE_CPU_CYCLES] = hz * threads;
  x[FEATURE_CPU_INSTRUCTIONS] = hz * threads;
  x[FEATURE_CACHE_MISS] = 1e6 * threads;
  x[FEATURE_PAGE_CACHE_HIT] = 1e4 * threads;
  x[FEATURE_NET_RX_IRQ] = 1e3 * threads;
  x[FEATURE_NET_TX_IRQ] = 1e3 * threads;
  x[FEATURE_BLOCK_IRQ] = 1e3 * threads;
}

static int check_predictions(const struct power_model *m, const char *origin,
                             const struct machine_spec *spec, char *err,
                             size_t errlen) {
  static const double zero[FEATURE_MAX];
  double full[FEATURE_MAX];
  full_usage(spec, full);
  const double *const xs[] = {zero, full};
  static const char *const what[] = {"zero", "full"};
  char name[OUTSIDE_TEXT_LEN];
  OUTSIDE_STR(name, model_name(m));
  bool any = false;
  for (int k = 0; k < 2; k++) {
    struct model_output_w w;
    model_predict_node(m, xs[k], &w);
    for (int c = 0; c < COMPONENT_MAX; c++) {
      if (!w.present[c])
        continue;
      any = true;
      if (!isfinite(w.absolute[c]) || !isfinite(w.idle[c]))
        return errmsg(err, errlen,
                      "%s: model \"%s\": component %s gives no finite power "
                      "at %s usage",
                      origin, name, component_name(c), what[k]);
    }
  }
  if (!any)
    return errmsg(err, errlen, "%s: model \"%s\" has no component", origin,
                  name);
  /* model_predict already turns what is not finite or negative into 0: a
   * model that gives nothing with every CPU busy, or more than any server
   * could draw, is not one to swap in. */
  double busy[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] =
                                  full[FEATURE_CPU_TIME_MS]};
  struct model_output_w w;
  model_predict_node(m, busy, &w);
  double total = component_total(w.present, w.absolute);
  double bound =
      MAX_W_PER_THREAD * (spec->threads ? spec->threads : 1) + MAX_W_BASE;
  if (!(total > 0 && total <= bound))
    return errmsg(err, errlen,
                  "%s: model \"%s\" gives %.6g W with every CPU busy on "
                  "this machine, not within (0, %.0f] W",
                  origin, name, total, bound);
  return 0;
}

int model_server_load(const char *body, size_t len, const char *origin,
                      enum model_output output, const struct machine_spec *spec,
                      struct power_model **out, char *err, size_t errlen) {
  origin = origin ? origin : "model server";
  if (!body)
    body = "", len = 0;
  if (len > INT32_MAX)
    return errmsg(err, errlen, "%s: too large for a model", origin);
  /* The model's name first: it says which equation the weights follow. */
  json_tokener *tok = json_tokener_new();
  if (!tok)
    return errmsg(err, errlen, "%s: out of memory", origin);
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *root = json_tokener_parse_ex(tok, body, (int)len);
  enum json_tokener_error e = json_tokener_get_error(tok);
  json_tokener_free(tok);
  if (!root) {
    return errmsg(err, errlen, "%s: not JSON: %s", origin,
                  e == json_tokener_continue ? "unexpected end of the text"
                                             : json_tokener_error_desc(e));
  }
  json_object *name;
  char *trainer = NULL, quoted[OUTSIDE_TEXT_LEN];
  int rc = -1;
  if (!json_object_is_type(root, json_type_object))
    errmsg(err, errlen, "%s: not a JSON object", origin);
  else if (!json_object_object_get_ex(root, "model_name", &name) ||
           !json_object_is_type(name, json_type_string))
    errmsg(err, errlen, "%s: the answer names no model (\"model_name\")",
           origin);
  else if (!trainer_of(json_object_get_string(name)))
    errmsg(err, errlen,
           "%s: model \"%s\": no supported trainer in its name (supported: "
           "SGDRegressorTrainer, LinearRegressionTrainer, "
           "LogarithmicRegressionTrainer, ExponentialRegressionTrainer, "
           "LogisticRegressionTrainer)",
           origin,
           outside_text(quoted, sizeof quoted, json_object_get_string(name),
                        (size_t)json_object_get_string_len(name)));
  else if (!(trainer = strdup(trainer_of(json_object_get_string(name)))))
    errmsg(err, errlen, "%s: out of memory", origin);
  else
    rc = 0;
  json_object_put(root);
  if (rc)
    return -1;

  struct power_model *m = NULL;
  char why[512];
  rc = model_load_kepler_json(body, len, origin, trainer, output, &m, err,
                              errlen);
  free(trainer);
  if (rc)
    return -1;
  if (model_bind_machine(m, spec, why, sizeof why)) {
    errmsg(err, errlen, "%s: %s", origin, why);
    model_free(m);
    return -1;
  }
  if (check_predictions(m, origin, spec, err, errlen)) {
    model_free(m);
    return -1;
  }
  *out = m;
  return 0;
}
