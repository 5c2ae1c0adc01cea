// SPDX-License-Identifier: GPL-2.0-only
/* Client of Kepler's general estimator sidecar (kepler.md 4).
 *
 * The exchange runs on a non-blocking socket under one CLOCK_MONOTONIC
 * deadline: this runs in collectd's read callback, so a sidecar that hangs
 * must cost at most timeout_ms, never a stuck read thread. json-c builds
 * the request and parses the answer; an incremental tokener only tells when
 * the answer is complete (Kepler's server does not close after answering
 * in every version), and the final verdict is estimator_parse_answer on the
 * bytes received, so both paths share one set of checks and messages. */
#define _GNU_SOURCE /* SOCK_CLOEXEC, SOCK_NONBLOCK, MSG_NOSIGNAL */
#include "estimator_client.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json.h>

#include "errmsg.h"
#include "json_build.h"
#include "mono_clock.h"
#include "outside_text.h"

/* --- The request ---------------------------------------------------------- */

static json_object *new_string(const char *s) {
  return json_object_new_string(s ? s : "");
}

static json_object *string_array(size_t n, const char *const *s) {
  json_object *a = json_object_new_array();
  for (size_t i = 0; a && i < n; i++)
    if (!json_build_add(a, NULL, new_string(s[i]))) {
      json_object_put(a);
      return NULL;
    }
  return a;
}

static json_object *value_rows(const struct estimator_request *rq) {
  json_object *rows = json_object_new_array();
  for (size_t r = 0; rows && r < rq->nrows; r++) {
    json_object *row = json_object_new_array();
    for (size_t m = 0; row && m < rq->nmetrics; m++)
      if (!json_build_add(
              row, NULL, json_build_double(rq->values[r * rq->nmetrics + m]))) {
        json_object_put(row);
        row = NULL;
      }
    if (!json_build_add(rows, NULL, row)) {
      json_object_put(rows);
      rows = NULL;
    }
  }
  return rows;
}

/* The first non-finite value as its index, or -1. */
static long first_non_finite(const struct estimator_request *rq) {
  for (size_t i = 0; i < rq->nrows * rq->nmetrics; i++)
    if (!isfinite(rq->values[i]))
      return (long)i;
  return -1;
}

char *estimator_request_json(const struct estimator_request *rq) {
  /* NaN and infinities have no JSON spelling; sending 0 instead would
   * make up a power estimate from a made-up input. */
  if (first_non_finite(rq) >= 0)
    return NULL;
  json_object *o = json_object_new_object();
  char *text = NULL;
  /* Kepler's keys, in Kepler's order. */
  if (o &&
      json_build_add(o, "metrics", string_array(rq->nmetrics, rq->metrics)) &&
      json_build_add(o, "values", value_rows(rq)) &&
      json_build_add(o, "output_type", new_string(rq->output_type)) &&
      json_build_add(o, "source", new_string(rq->source)) &&
      json_build_add(o, "system_features",
                     string_array(rq->nsystem, rq->system_features)) &&
      json_build_add(o, "system_values",
                     string_array(rq->nsystem, rq->system_values)) &&
      json_build_add(o, "trainer_name", new_string(rq->trainer_name)) &&
      json_build_add(o, "filter", new_string(rq->filter))) {
    /* Plain: no blanks. Kepler's server strips each chunk it reads and
     * stops at one ending in '}', which only the last byte is. */
    const char *s = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    text = s ? strdup(s) : NULL;
  }
  json_object_put(o);
  return text;
}

/* --- The answer ----------------------------------------------------------- */

static const char *type_name(json_object *v) {
  return json_type_to_name(json_object_get_type(v));
}

static bool get_number(json_object *v, double *out) {
  if (!json_object_is_type(v, json_type_double) &&
      !json_object_is_type(v, json_type_int))
    return false;
  *out = json_object_get_double(v);
  return true;
}

/* The whole text as one JSON value; NULL after writing the error. */
static json_object *parse_text(const char *text, size_t len, char *err,
                               size_t errlen) {
  if (len > INT32_MAX) {
    errmsg(err, errlen, "over %d bytes", INT32_MAX);
    return NULL;
  }
  json_tokener *tok = json_tokener_new();
  if (!tok) {
    errmsg(err, errlen, "out of memory");
    return NULL;
  }
  /* Strict: RFC 8259 only, and nothing but blanks after the value. */
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *root = json_tokener_parse_ex(tok, text, (int)len);
  enum json_tokener_error e = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  if (!root && e == json_tokener_continue) {
    errmsg(err, errlen, "not JSON: unexpected end of the text");
  } else if (!root) {
    /* A strict tokener reports bytes after a complete value as a syntax
     * error; say which it is when the text up to there parses. */
    json_tokener_reset(tok);
    json_object *head = json_tokener_parse_ex(tok, text, (int)end);
    if (head)
      errmsg(err, errlen, "trailing bytes after the JSON value (at byte %zu)",
             end);
    else
      errmsg(err, errlen, "not JSON at byte %zu: %s", end,
             json_tokener_error_desc(e));
    json_object_put(head);
  }
  json_tokener_free(tok);
  /* json-c ends the text at a NUL byte; what follows is still there. */
  if (root && end < len) {
    errmsg(err, errlen, "trailing bytes after the JSON value (at byte %zu)",
           end);
    json_object_put(root);
    root = NULL;
  }
  return root;
}

/* Checks "powers" and collects each component's array into arrays[]. */
static int check_powers(json_object *powers, size_t nrows,
                        json_object *arrays[COMPONENT_MAX], char *err,
                        size_t errlen) {
  json_object_object_foreach(powers, key, arr) {
    int c = component_by_name(key);
    char name[OUTSIDE_TEXT_LEN]; /* the sidecar's key, for a message */
    OUTSIDE_STR(name, key);
    if (c < 0)
      return errmsg(err, errlen,
                    "component \"%s\" is not one of " COMPONENT_NAMES, name);
    if (!json_object_is_type(arr, json_type_array))
      return errmsg(err, errlen, "component \"%s\" must be an array, got %s",
                    name, type_name(arr));
    size_t n = json_object_array_length(arr);
    if (n != nrows)
      return errmsg(err, errlen, "component \"%s\" has %zu values for %zu rows",
                    name, n, nrows);
    for (size_t r = 0; r < n; r++) {
      json_object *v = json_object_array_get_idx(arr, r);
      double w;
      if (!get_number(v, &w))
        return errmsg(err, errlen, "component \"%s\" row %zu: %s, not a number",
                      name, r, type_name(v));
      if (!isfinite(w))
        return errmsg(err, errlen, "component \"%s\" row %zu: %g is not finite",
                      name, r, w);
      /* Kepler clips a negative prediction to 0; here it means a broken
       * model or sidecar, and the caller should know rather than see 0. */
      if (w < 0)
        return errmsg(err, errlen, "component \"%s\" row %zu: %g W is negative",
                      name, r, w);
    }
    arrays[c] = arr;
  }
  return 0;
}

int estimator_parse_answer(const char *text, size_t len, size_t nrows,
                           bool present[COMPONENT_MAX], double *watts,
                           double *core_ratio, char *err, size_t errlen) {
  json_object *root = parse_text(text ? text : "", text ? len : 0, err, errlen);
  if (!root)
    return -1;
  int rc = -1;
  json_object *powers = NULL, *msg = NULL, *ratio = NULL;
  json_object *arrays[COMPONENT_MAX] = {NULL};
  double cr = 1;
  if (!json_object_is_type(root, json_type_object)) {
    errmsg(err, errlen, "must be a JSON object, got %s", type_name(root));
    goto done;
  }
  /* Unknown top-level keys are let through: a newer sidecar may add some.
   * A null "msg" or "core_ratio" counts as absent (Python's None). */
  json_object_object_get_ex(root, "powers", &powers);
  json_object_object_get_ex(root, "msg", &msg);
  json_object_object_get_ex(root, "core_ratio", &ratio);
  if (msg && !json_object_is_type(msg, json_type_string)) {
    errmsg(err, errlen, "\"msg\" must be a string, got %s", type_name(msg));
    goto done;
  }
  bool no_powers = !powers || (json_object_is_type(powers, json_type_object) &&
                               json_object_object_length(powers) == 0);
  if (no_powers && msg && json_object_get_string_len(msg) > 0) {
    char quoted[OUTSIDE_TEXT_LEN];
    errmsg(err, errlen, "refused: \"%s\"",
           outside_text(quoted, sizeof quoted, json_object_get_string(msg),
                        (size_t)json_object_get_string_len(msg)));
    goto done;
  }
  if (!powers) {
    errmsg(err, errlen, "no \"powers\"");
    goto done;
  }
  if (!json_object_is_type(powers, json_type_object)) {
    errmsg(err, errlen, "\"powers\" must be an object, got %s",
           type_name(powers));
    goto done;
  }
  if (no_powers) {
    errmsg(err, errlen, "no component in \"powers\"");
    goto done;
  }
  if (check_powers(powers, nrows, arrays, err, errlen))
    goto done;
  if (ratio && !json_object_is_type(ratio, json_type_null) &&
      (!get_number(ratio, &cr) || !isfinite(cr) || cr <= 0)) {
    char got[OUTSIDE_TEXT_LEN];
    errmsg(err, errlen, "\"core_ratio\" must be a finite number > 0, got %s",
           OUTSIDE_STR(got, json_object_to_json_string_ext(
                                ratio, JSON_C_TO_STRING_PLAIN)));
    goto done;
  }
  /* Everything checked: only now touch the outputs. */
  for (int c = 0; c < COMPONENT_MAX; c++) {
    present[c] = arrays[c] != NULL;
    for (size_t r = 0; r < nrows; r++)
      watts[c * nrows + r] =
          arrays[c] ? json_object_get_double(
                          json_object_array_get_idx(arrays[c], r)) +
                          0.0 /* -0 becomes 0 */
                    : 0;
  }
  *core_ratio = cr;
  rc = 0;
done:
  json_object_put(root);
  return rc;
}

/* --- The exchange --------------------------------------------------------- */

struct exchange {
  const struct estimator_options *o;
  uint64_t deadline_ns; /* mono_clock_ns */
  int fd;
  char *err;
  size_t errlen;
};

/* "estimator PATH: " and the message. */
static int xfail(const struct exchange *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int xfail(const struct exchange *x, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return errmsg(x->err, x->errlen, "estimator %s: %s", x->o->socket_path, what);
}

static int xfail_errno(const struct exchange *x, const char *step, int e) {
  return xfail(x, "%s: %s", step, strerror(e));
}

/* Milliseconds to the deadline, rounded up so that a poll never wakes just
 * before it; 0 once it has passed. */
static int remaining_ms(const struct exchange *x) {
  uint64_t now = mono_clock_ns();
  if (now >= x->deadline_ns)
    return 0;
  uint64_t ns = x->deadline_ns - now;
  uint64_t ms = (ns + 999999) / 1000000;
  return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/* Waits for `events` on the socket until the deadline: 1 when ready, 0 at
 * the deadline, -1 on a poll error (errno set). */
static int wait_for(const struct exchange *x, short events) {
  for (;;) {
    int ms = remaining_ms(x);
    if (ms == 0)
      return 0;
    struct pollfd p = {.fd = x->fd, .events = events};
    int n = poll(&p, 1, ms);
    if (n > 0)
      return 1; /* POLLHUP/POLLERR too: the next call says what happened */
    if (n < 0 && errno != EINTR)
      return -1;
  }
}

static int do_connect(struct exchange *x, const struct sockaddr_un *addr) {
  for (;;) {
    if (connect(x->fd, (const struct sockaddr *)addr, sizeof *addr) == 0)
      return 0;
    int e = errno;
    if (e == EAGAIN) {
      /* A unix socket's listen backlog is full. Nothing is pending (poll
       * would say writable at once): retry now and then until the
       * deadline. */
      int ms = remaining_ms(x);
      if (ms == 0)
        return xfail(x, "connect: no connection within %d ms",
                     x->o->timeout_ms);
      poll(NULL, 0, ms < 10 ? ms : 10);
      continue;
    }
    if (e != EINPROGRESS && e != EINTR)
      return xfail_errno(x, "connect", e);
    /* In progress (EINTR too: the connection goes on asynchronously). */
    int ready = wait_for(x, POLLOUT);
    if (ready < 0)
      return xfail_errno(x, "poll", errno);
    if (ready == 0)
      return xfail(x, "connect: no connection within %d ms", x->o->timeout_ms);
    socklen_t elen = sizeof e;
    if (getsockopt(x->fd, SOL_SOCKET, SO_ERROR, &e, &elen) != 0)
      return xfail_errno(x, "connect", errno);
    return e ? xfail_errno(x, "connect", e) : 0;
  }
}

static int send_all(struct exchange *x, const char *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    /* MSG_NOSIGNAL: a sidecar that closed early must give EPIPE here, not
     * a SIGPIPE that ends the collectd daemon. */
    ssize_t n = send(x->fd, buf + off, len - off, MSG_NOSIGNAL);
    if (n >= 0) {
      off += (size_t)n;
      continue;
    }
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return xfail_errno(x, "send", errno);
    int ready = wait_for(x, POLLOUT);
    if (ready < 0)
      return xfail_errno(x, "poll", errno);
    if (ready == 0)
      return xfail(x, "send: request not sent within %d ms", x->o->timeout_ms);
  }
  /* Kepler's server stops reading at the closing '}', so this is not
   * needed there; a server that reads to EOF needs it. */
  shutdown(x->fd, SHUT_WR);
  return 0;
}

/* Reads the answer until the peer closes or the bytes form one complete
 * JSON value (or a certain syntax error), holding at most max_answer bytes:
 * one more than that is read to tell "exactly max_answer" from "over". */
static int receive(struct exchange *x, char **out, size_t *outlen) {
  size_t cap = 0, len = 0, limit = x->o->max_answer;
  char *buf = NULL;
  json_tokener *tok = json_tokener_new();
  int rc = -1;
  if (!tok) {
    xfail(x, "out of memory");
    goto done;
  }
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  for (;;) {
    if (len == cap) {
      size_t want = cap ? cap * 2 : 4096;
      if (want > limit + 1)
        want = limit + 1;
      char *grown = realloc(buf, want);
      if (!grown) {
        xfail(x, "out of memory");
        goto done;
      }
      buf = grown;
      cap = want;
    }
    ssize_t n = recv(x->fd, buf + len, cap - len, 0);
    if (n == 0)
      break; /* EOF: the peer has said all it will */
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        xfail_errno(x, "receive", errno);
        goto done;
      }
      int ready = wait_for(x, POLLIN);
      if (ready < 0) {
        xfail_errno(x, "poll", errno);
        goto done;
      }
      if (ready == 0) {
        if (len == 0)
          xfail(x, "no answer within %d ms", x->o->timeout_ms);
        else
          xfail(x, "no complete answer within %d ms (%zu bytes received)",
                x->o->timeout_ms, len);
        goto done;
      }
      continue;
    }
    if (len + (size_t)n > limit) {
      xfail(x, "answer over %zu bytes", limit);
      goto done;
    }
    json_object *v = json_tokener_parse_ex(tok, buf + len, (int)n);
    len += (size_t)n;
    json_object_put(v);
    if (v || json_tokener_get_error(tok) != json_tokener_continue)
      break; /* complete, or never will be: the final parse says which */
  }
  if (len == 0) {
    xfail(x, "closed the connection without answering");
    goto done;
  }
  *out = buf;
  *outlen = len;
  buf = NULL;
  rc = 0;
done:
  free(buf);
  if (tok)
    json_tokener_free(tok);
  return rc;
}

int estimator_call(const struct estimator_options *o,
                   const struct estimator_request *rq,
                   bool present[COMPONENT_MAX], double *watts,
                   double *core_ratio, char *err, size_t errlen) {
  static const struct estimator_options none = {.socket_path = "(none)"};
  struct exchange x = {.o = o && o->socket_path ? o : &none,
                       .fd = -1,
                       .err = err,
                       .errlen = errlen};
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  size_t plen = strlen(x.o->socket_path);
  if (x.o == &none || plen == 0)
    return xfail(&x, "no socket path");
  if (plen >= sizeof addr.sun_path)
    return xfail(&x,
                 "socket path is %zu bytes, longer than the %zu a unix "
                 "socket allows",
                 plen, sizeof addr.sun_path - 1);
  if (o->timeout_ms <= 0 || o->max_answer == 0 || o->max_answer > INT32_MAX)
    return xfail(&x,
                 "timeout %d ms and answer limit %zu bytes must be "
                 "positive (the limit at most %d)",
                 o->timeout_ms, o->max_answer, INT32_MAX);
  memcpy(addr.sun_path, x.o->socket_path, plen + 1);

  long bad = first_non_finite(rq);
  if (bad >= 0)
    return xfail(
        &x, "request: row %zu, metric \"%s\" is %g, not finite",
        (size_t)bad / rq->nmetrics,
        rq->metrics[bad % rq->nmetrics] ? rq->metrics[bad % rq->nmetrics] : "",
        rq->values[bad]);
  char *request = estimator_request_json(rq);
  if (!request)
    return xfail(&x, "out of memory");

  x.deadline_ns = mono_clock_ns() + (uint64_t)o->timeout_ms * 1000000;

  char *answer = NULL;
  size_t alen = 0;
  int rc = -1;
  x.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (x.fd < 0)
    xfail_errno(&x, "socket", errno);
  else if (do_connect(&x, &addr) == 0 &&
           send_all(&x, request, strlen(request)) == 0 &&
           receive(&x, &answer, &alen) == 0) {
    char why[384];
    rc = estimator_parse_answer(answer, alen, rq->nrows, present, watts,
                                core_ratio, why, sizeof why);
    if (rc)
      xfail(&x, "answer: %s", why);
  }
  if (x.fd >= 0)
    close(x.fd);
  free(answer);
  free(request);
  return rc;
}
