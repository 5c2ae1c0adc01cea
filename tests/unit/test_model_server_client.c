// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/model_server_client.c and plugin/model_refresh.c:
 * the request body, loading answers (Kepler's model-db files as a server
 * would send them), the fetch against a scripted HTTP responder on
 * 127.0.0.1 (a thread of this process: 200, 500, oversized, slow, hanging,
 * redirect, refused), and the refresher (cache first, refresh, outage,
 * recovery, stop while the server hangs). */
#define _GNU_SOURCE /* asprintf, strcasestr */
#include "model_refresh.h"
#include "component_total.h"
#include "model_server_client.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "machine_spec_json.h"
#include "model_load.h"
#include "testutil.h"

/* --- Helpers -------------------------------------------------------------
 */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void sleep_ms(int ms) {
  struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&t, NULL);
}

/* Polls cond until it holds or `seconds` pass. */
static bool eventually(bool (*cond)(void *), void *arg, double seconds) {
  double end = now_s() + seconds;
  while (!cond(arg)) {
    if (now_s() > end)
      return false;
    sleep_ms(20);
  }
  return true;
}

static struct machine_spec m5_metal(void) {
  struct machine_spec s = {
      .cpu = "Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz",
      .vendor = "GenuineIntel",
      .chips = 2,
      .cores = 48,
      .threads = 96,
      .memory_gb = 377.4,
      .mhz = 2500,
  };
  return s;
}

static const bool have_bpf[FEATURE_MAX] = {
    [FEATURE_CPU_TIME_MS] = true, [FEATURE_PAGE_CACHE_HIT] = true};

/* A server's answer: a linear package model, bias `bias` W. */
static char *answer(double bias) {
  char *s;
  ck_assert_int_ge(
      asprintf(&s,
               "{\"package\": {\"All_Weights\": {\"Bias_Weight\": %g, "
               "\"Categorical_Variables\": {}, \"Numerical_Variables\": "
               "{\"bpf_cpu_time_ms\": {\"scale\": 96000, \"weight\": 300}}}}, "
               "\"model_name\": \"SGDRegressorTrainer_0\", \"mae\": 12.5, "
               "\"machine_spec\": {\"processor\": \"x\", \"cores\": 96}}",
               bias),
      0);
  return s;
}

static char *read_text(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t cap = 0;
  FILE *mem = open_memstream(&buf, &cap);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
    fwrite(chunk, 1, n, mem);
  fclose(f);
  fclose(mem);
  if (len)
    *len = cap;
  return buf;
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
}

/* A temporary directory, removed (one level) at the end. */
static char *tmpdir_new(void) {
  char *d = strdup("/tmp/test_msc.XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(d));
  return d;
}
static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(p);
}
static void tmpdir_free(char *d) {
  nftw(d, rm_one, 8, FTW_DEPTH | FTW_PHYS);
  free(d);
}

/* Log lines, captured from any thread. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_buf[16384];
static int log_count[8];
static void capture(int level, const char *message) {
  pthread_mutex_lock(&log_mu);
  size_t n = strlen(log_buf);
  snprintf(log_buf + n, sizeof log_buf - n, "%d %s\n", level, message);
  if (level >= 0 && level < 8)
    log_count[level]++;
  pthread_mutex_unlock(&log_mu);
}
static void log_reset(void) {
  pthread_mutex_lock(&log_mu);
  log_buf[0] = '\0';
  memset(log_count, 0, sizeof log_count);
  pthread_mutex_unlock(&log_mu);
  kepler_log_set(capture);
}
static int logged(int level) {
  pthread_mutex_lock(&log_mu);
  int n = log_count[level];
  pthread_mutex_unlock(&log_mu);
  return n;
}
static bool log_has(const char *text) {
  pthread_mutex_lock(&log_mu);
  bool yes = strstr(log_buf, text) != NULL;
  pthread_mutex_unlock(&log_mu);
  return yes;
}

/* --- A scripted HTTP responder -------------------------------------------
 * One connection at a time on 127.0.0.1:ephemeral; each request is read
 * whole, counted and kept, then answered as `mode` says at that moment. */

enum mode {
  M_OK,        /* 200 with body */
  M_500,       /* 500 with a body holding control bytes */
  M_BIG,       /* 200, no Content-Length, 4 MiB until the peer gives up */
  M_BIG_CL,    /* 200 stating Content-Length 64 MiB */
  M_SLOW,      /* 200 with body after delay_ms */
  M_HANG,      /* never answers */
  M_REDIRECT,  /* 302 to the same server */
  M_BAD_MODEL, /* 200 with a body that is not a model */
};

struct srv {
  int fd, port;
  pthread_t thread;
  atomic_int mode, requests, delay_ms;
  atomic_bool stop;
  pthread_mutex_t mu;
  char *body; /* under mu */
  char request[16384];
};

static bool srv_wait_readable(struct srv *s, int fd) {
  while (!atomic_load(&s->stop)) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, 20);
    if (n > 0)
      return true;
    if (n < 0 && errno != EINTR)
      return false;
  }
  return false;
}

static void srv_send(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0)
      return;
    p += k;
    n -= (size_t)k;
  }
}

static void srv_answer(int fd, const char *status, const char *body) {
  char head[256];
  snprintf(head, sizeof head,
           "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
           "Content-Length: %zu\r\nConnection: close\r\n\r\n",
           status, strlen(body));
  srv_send(fd, head, strlen(head));
  srv_send(fd, body, strlen(body));
}

static void srv_handle(struct srv *s, int fd) {
  char req[sizeof s->request];
  size_t used = 0;
  long want = -1;
  for (;;) { /* headers, then Content-Length bytes of body */
    if (!srv_wait_readable(s, fd))
      return;
    ssize_t n = recv(fd, req + used, sizeof req - 1 - used, 0);
    if (n <= 0)
      return;
    used += (size_t)n;
    req[used] = '\0';
    char *end = strstr(req, "\r\n\r\n");
    if (end && want < 0) {
      char *cl = strcasestr(req, "\r\nContent-Length:");
      want = (end + 4 - req) + (cl ? atol(cl + 17) : 0);
    }
    if ((want >= 0 && used >= (size_t)want) || used == sizeof req - 1)
      break;
  }
  pthread_mutex_lock(&s->mu);
  memcpy(s->request, req, used + 1);
  char *body = strdup(s->body ? s->body : "{}");
  pthread_mutex_unlock(&s->mu);
  atomic_fetch_add(&s->requests, 1);
  switch (atomic_load(&s->mode)) {
  case M_OK:
    srv_answer(fd, "200 OK", body);
    break;
  case M_500:
    srv_answer(fd, "500 Internal Server Error",
               "oops\n\x01\tdetail that goes on and on and on, well past the "
               "eighty bytes an error message quotes of a body");
    break;
  case M_BIG:
  case M_BIG_CL: {
    const char *head = atomic_load(&s->mode) == M_BIG
                           ? "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n"
                           : "HTTP/1.1 200 OK\r\nConnection: close\r\n"
                             "Content-Length: 67108864\r\n\r\n";
    srv_send(fd, head, strlen(head));
    static char pad[65536];
    memset(pad, ' ', sizeof pad);
    pad[0] = '{';
    for (int i = 0; i < 64 && !atomic_load(&s->stop); i++)
      if (send(fd, pad, sizeof pad, MSG_NOSIGNAL) <= 0)
        break;
    break;
  }
  case M_SLOW: {
    double end = now_s() + atomic_load(&s->delay_ms) / 1000.0;
    while (now_s() < end && !atomic_load(&s->stop))
      sleep_ms(10);
    srv_answer(fd, "200 OK", body);
    break;
  }
  case M_HANG: /* until the client gives up or the server stops */
    while (srv_wait_readable(s, fd)) {
      char c;
      if (recv(fd, &c, 1, 0) <= 0)
        break;
    }
    break;
  case M_REDIRECT: {
    char head[256];
    snprintf(head, sizeof head,
             "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/model\r\n"
             "Content-Length: 0\r\nConnection: close\r\n\r\n",
             s->port);
    srv_send(fd, head, strlen(head));
    break;
  }
  case M_BAD_MODEL:
    srv_answer(fd, "200 OK", "{\"model_name\": \"SGDRegressorTrainer_0\"");
    break;
  }
  free(body);
}

static void *srv_run(void *arg) {
  struct srv *s = arg;
  while (srv_wait_readable(s, s->fd)) {
    int c = accept(s->fd, NULL, NULL);
    if (c < 0)
      continue;
    srv_handle(s, c);
    close(c);
  }
  return NULL;
}

static struct srv *srv_start(enum mode mode, const char *body) {
  struct srv *s = calloc(1, sizeof *s);
  ck_assert_ptr_nonnull(s);
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  ck_assert_int_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(s->fd, 8), 0);
  ck_assert_int_eq(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
  s->port = ntohs(a.sin_port);
  atomic_init(&s->mode, mode);
  atomic_init(&s->requests, 0);
  atomic_init(&s->delay_ms, 0);
  atomic_init(&s->stop, false);
  pthread_mutex_init(&s->mu, NULL);
  s->body = body ? strdup(body) : NULL;
  ck_assert_int_eq(pthread_create(&s->thread, NULL, srv_run, s), 0);
  return s;
}

static void srv_set_body(struct srv *s, const char *body) {
  pthread_mutex_lock(&s->mu);
  free(s->body);
  s->body = strdup(body);
  pthread_mutex_unlock(&s->mu);
}

static void srv_stop(struct srv *s) {
  atomic_store(&s->stop, true);
  pthread_join(s->thread, NULL);
  close(s->fd);
  pthread_mutex_destroy(&s->mu);
  free(s->body);
  free(s);
}

static char *srv_url(const struct srv *s, const char *suffix) {
  char *u;
  ck_assert_int_ge(asprintf(&u, "http://127.0.0.1:%d%s", s->port, suffix), 0);
  return u;
}

/* A port nobody listens on (bound, then closed). */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t alen = sizeof a;
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static struct model_server_options options(const char *url) {
  struct model_server_options o = {.url = url,
                                   .verify = true,
                                   .timeout_ms = 5000,
                                   .max_bytes = 1 << 20,
                                   .output_type = "AbsPower",
                                   .source = "rapl-sysfs",
                                   .trainer_name = "",
                                   .filter = ""};
  return o;
}

/* --- The request ---------------------------------------------------------
 */

static json_object *get(json_object *o, const char *key) {
  json_object *v = NULL;
  ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key %s", key);
  return v;
}

static const char *get_str(json_object *o, const char *key) {
  json_object *v = get(o, key);
  ck_assert_msg(json_object_is_type(v, json_type_string), "%s: not a string",
                key);
  return json_object_get_string(v);
}

static long long get_int(json_object *o, const char *key) {
  json_object *v = get(o, key);
  ck_assert_msg(json_object_is_type(v, json_type_int), "%s: not an int", key);
  return json_object_get_int64(v);
}

static json_object *request_of(const struct model_server_options *o,
                               const bool have[FEATURE_MAX],
                               const struct machine_spec *spec) {
  char *text = model_server_request_json(o, have, spec);
  ck_assert_ptr_nonnull(text);
  json_object *root = json_tokener_parse(text);
  ck_assert_msg(root != NULL, "not JSON: %s", text);
  free(text);
  return root;
}

START_TEST(test_request_json) {
  struct machine_spec spec = m5_metal();
  struct model_server_options o = options("http://x");
  json_object *r = request_of(&o, have_bpf, &spec);
  ck_assert_int_eq(json_object_object_length(r), 9);
  json_object *metrics = get(r, "metrics");
  ck_assert_int_eq(json_object_array_length(metrics), 2);
  ck_assert_str_eq(
      json_object_get_string(json_object_array_get_idx(metrics, 0)),
      "bpf_cpu_time_ms");
  ck_assert_str_eq(
      json_object_get_string(json_object_array_get_idx(metrics, 1)),
      "bpf_page_cache_hit");
  ck_assert_str_eq(get_str(r, "output_type"), "AbsPower");
  ck_assert_str_eq(get_str(r, "source"), "rapl-sysfs");
  ck_assert_int_eq(get_int(r, "node_type"), -1);
  ck_assert(json_object_is_type(get(r, "weight"), json_type_boolean));
  ck_assert(json_object_get_boolean(get(r, "weight")));
  ck_assert_str_eq(get_str(r, "trainer_name"), "");
  ck_assert_str_eq(get_str(r, "filter"), "");
  ck_assert_str_eq(get_str(r, "pipeline_name"), "");
  json_object *ms = get(r, "machine_spec");
  ck_assert_int_eq(json_object_object_length(ms), 7);
  ck_assert_str_eq(get_str(ms, "vendor"), "intel");
  /* As ec2-0.7.11/node_type_index.json spells an m5.metal. */
  ck_assert_str_eq(get_str(ms, "processor"), "intel_xeon_platinum_8259cl");
  ck_assert_int_eq(get_int(ms, "cores"), 96); /* logical, as Kepler */
  ck_assert_int_eq(get_int(ms, "chips"), 2);
  ck_assert_int_eq(get_int(ms, "memory"), 377);
  ck_assert_int_eq(get_int(ms, "frequency"), 2500);
  ck_assert_int_eq(get_int(ms, "threads_per_core"), 2);
  /* The one machine_spec, as an online fit writes it too. */
  json_object *want = machine_spec_json(&spec);
  ck_assert(json_object_equal(ms, want));
  json_object_put(want);
  json_object_put(r);

  /* Every feature; the options passed through; defaults for NULL. */
  bool all[FEATURE_MAX];
  for (int f = 0; f < FEATURE_MAX; f++)
    all[f] = true;
  o.output_type = "DynPower";
  o.source = "acpi";
  o.trainer_name = "SGDRegressorTrainer";
  o.filter = "mae:10";
  r = request_of(&o, all, &spec);
  metrics = get(r, "metrics");
  ck_assert_int_eq(json_object_array_length(metrics), FEATURE_MAX);
  for (int f = 0; f < FEATURE_MAX; f++)
    ck_assert_str_eq(
        json_object_get_string(json_object_array_get_idx(metrics, f)),
        feature_name(f));
  ck_assert_str_eq(get_str(r, "output_type"), "DynPower");
  ck_assert_str_eq(get_str(r, "source"), "acpi");
  ck_assert_str_eq(get_str(r, "trainer_name"), "SGDRegressorTrainer");
  ck_assert_str_eq(get_str(r, "filter"), "mae:10");
  json_object_put(r);

  struct model_server_options none = {.url = "http://x"};
  bool nothing[FEATURE_MAX] = {false};
  struct machine_spec empty = {.cpu = ""};
  r = request_of(&none, nothing, &empty);
  ck_assert_int_eq(json_object_array_length(get(r, "metrics")), 0);
  ck_assert_str_eq(get_str(r, "output_type"), "AbsPower");
  ck_assert_str_eq(get_str(r, "source"), "rapl-sysfs");
  ms = get(r, "machine_spec");
  ck_assert_str_eq(get_str(ms, "vendor"), "");
  ck_assert_str_eq(get_str(ms, "processor"), "");
  ck_assert_int_eq(get_int(ms, "cores"), 0);
  ck_assert_int_eq(get_int(ms, "threads_per_core"), 1);
  json_object_put(r);
}
END_TEST

/* Kepler's format_processor / format_vendor, case by case. */
START_TEST(test_machine_spec_names) {
  static const struct {
    const char *cpu, *processor;
  } cpus[] = {
      {"Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz",
       "intel_xeon_platinum_8259cl"},
      {"Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz", "intel_xeon_e5_2686v4"},
      {"Intel(R) Xeon(R) Platinum 8488C", "intel_xeon_platinum_8488c"},
      {"AMD EPYC 7R13 Processor", "amd_epyc_7r13"},
      {"AMD Ryzen 7 5800X 8-Core Processor", "amd_ryzen_7_5800x_8_core"},
      {"AMD Athlon(tm) 64-Bit Multi-Core Processor", "amd_athlon"},
      {"Intel Xeon Gold 6248 @ 2500 MHz", "intel_xeon_gold_6248"},
      /* Kepler's "_v" -> "v" applies to every word starting with v. */
      {"QEMU Virtual CPU version 2.5+", "qemuvirtualversion_2.5+"},
      /* Kepler cuts at the first "(": (TM) takes the rest with it. */
      {"Intel(R) Core(TM) i7-10850H CPU @ 2.70GHz", "intel_core"},
      {"  Neoverse-N1  ", "neoverse_n1"},
      {"", ""},
  };
  static const struct {
    const char *raw, *vendor;
  } vendors[] = {{"GenuineIntel", "intel"},
                 {"AuthenticAMD", "amd"},
                 {"CentaurHauls", "centaurhauls"},
                 {"", ""}};
  struct model_server_options o = options("http://x");
  for (size_t i = 0; i < ARRAY_SIZE(cpus); i++) {
    struct machine_spec s = m5_metal();
    snprintf(s.cpu, sizeof s.cpu, "%s", cpus[i].cpu);
    json_object *r = request_of(&o, have_bpf, &s);
    ck_assert_str_eq(get_str(get(r, "machine_spec"), "processor"),
                     cpus[i].processor);
    json_object_put(r);
  }
  for (size_t i = 0; i < ARRAY_SIZE(vendors); i++) {
    struct machine_spec s = m5_metal();
    snprintf(s.vendor, sizeof s.vendor, "%s", vendors[i].raw);
    json_object *r = request_of(&o, have_bpf, &s);
    ck_assert_str_eq(get_str(get(r, "machine_spec"), "vendor"),
                     vendors[i].vendor);
    json_object_put(r);
  }
  /* A VM without SMT: 4 vCPUs on 4 cores; memory rounds to nearest. */
  struct machine_spec vm = m5_metal();
  vm.threads = 4, vm.cores = 4, vm.chips = 1, vm.memory_gb = 15.6;
  vm.mhz = 2999.6;
  json_object *r = request_of(&o, have_bpf, &vm);
  json_object *ms = get(r, "machine_spec");
  ck_assert_int_eq(get_int(ms, "cores"), 4);
  ck_assert_int_eq(get_int(ms, "threads_per_core"), 1);
  ck_assert_int_eq(get_int(ms, "memory"), 16);
  ck_assert_int_eq(get_int(ms, "frequency"), 3000);
  json_object_put(r);
}
END_TEST

/* --- Loading answers -----------------------------------------------------
 */

static char shared_db[4096];

/* $KEPLER_SHARED_DATA (make check exports it), else the shared data beside
 * $KEPLER_SRCDIR, else beside a source tree one or two levels up from a
 * build directory. */
static bool have_shared_data(void) {
  const char *env = getenv("KEPLER_SHARED_DATA"),
             *src = getenv("KEPLER_SRCDIR");
  if (env && *env) {
    snprintf(shared_db, sizeof shared_db, "%s/kepler-model-db", env);
  } else if (src && *src) {
    snprintf(shared_db, sizeof shared_db, "%s/../shared/data/kepler-model-db",
             src);
  } else {
    snprintf(shared_db, sizeof shared_db, "../shared/data/kepler-model-db");
    if (access(shared_db, R_OK) != 0)
      snprintf(shared_db, sizeof shared_db,
               "../../shared/data/kepler-model-db");
  }
  if (access(shared_db, R_OK) == 0)
    return true;
  printf("skipped: no Kepler model files at %s\n", shared_db);
  return false;
}

static int db_loaded;

/* A model-db weight file as a server sends it: plus model_name, mae and
 * machine_spec; it loads as model_load_file loads the file. */
static int refused_db_files; /* implausible on the test machine */
static int check_db_file(const char *path, const struct stat *sb, int flag,
                         struct FTW *ftw) {
  (void)sb, (void)ftw;
  size_t n = strlen(path);
  if (flag != FTW_F || n < 5 || strcmp(path + n - 5, ".json") != 0)
    return 0;
  char err[512] = "";
  struct power_model *file = NULL, *got = NULL;
  if (model_load_file(path, &file, err, sizeof err))
    return 0; /* not a weight file the JSON loader takes (node_type_index) */
  const char *base = strrchr(path, '/') + 1;
  char *name = strndup(base, strlen(base) - 5);
  json_object *root = json_object_from_file(path);
  ck_assert_ptr_nonnull(root);
  json_object_object_add(root, "model_name", json_object_new_string(name));
  json_object_object_add(root, "mae", json_object_new_double(7.25));
  json_object *ms = json_object_new_object();
  json_object_object_add(ms, "processor",
                         json_object_new_string("intel_xeon_platinum_8259cl"));
  json_object_object_add(root, "machine_spec", ms);
  const char *body = json_object_to_json_string(root);
  struct machine_spec spec = m5_metal();
  enum model_output out = model_output_type(file);
  if (model_server_load(body, strlen(body), "answer", out, &spec, &got, err,
                        sizeof err)) {
    /* Refused only as implausible here, and rightly: v0.6's scale of
     * bpf_cpu_time_us extrapolates to hundreds of kW on 96 threads. */
    double busy[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 96000};
    struct model_output_w w;
    model_predict_node(file, busy, &w);
    ck_assert_msg(strstr(err, "with every CPU busy on this machine") &&
                      component_total(w.present, w.absolute) > 10600,
                  "%s: %s", path, err);
    refused_db_files++;
    json_object_put(root);
    free(name);
    model_free(file);
    return 0;
  }
  ck_assert_str_eq(model_name(got), name);
  ck_assert_double_eq(model_mae_watts(got), 7.25);
  ck_assert_int_eq(model_output_type(got), out);
  /* The same equations as the file itself, bound to the same machine. */
  ck_assert_int_eq(model_bind_machine(file, &spec, err, sizeof err), 0);
  double x[FEATURE_MAX];
  for (int f = 0; f < FEATURE_MAX; f++)
    x[f] = 1000.0 * (f + 1) * (f + 3);
  x[FEATURE_CPU_TIME_MS] = 40000;
  struct model_output_w a, b;
  model_predict_node(file, x, &a);
  model_predict_node(got, x, &b);
  for (int c = 0; c < COMPONENT_MAX; c++) {
    ck_assert_int_eq(a.present[c], b.present[c]);
    ck_assert_close(b.absolute[c], a.absolute[c]);
    ck_assert_close(b.idle[c], a.idle[c]);
  }
  db_loaded++;
  json_object_put(root);
  free(name);
  model_free(file);
  model_free(got);
  return 0;
}

START_TEST(test_load_model_db) {
  if (!have_shared_data())
    return;
  db_loaded = refused_db_files = 0;
  ck_assert_int_eq(nftw(shared_db, check_db_file, 16, FTW_PHYS), 0);
  /* the 8 files test_model_kepler_json reads; only the v0.6 one refused */
  ck_assert_int_ge(db_loaded, 7);
  ck_assert_int_le(refused_db_files, 1);
  ck_assert_int_ge(db_loaded + refused_db_files, 8);
}
END_TEST

START_TEST(test_load_answer) {
  struct machine_spec spec = m5_metal();
  char *body = answer(100), err[512] = "";
  struct power_model *m = NULL;
  ck_assert_msg(model_server_load(body, strlen(body), "model server x",
                                  MODEL_ABS_POWER, &spec, &m, err,
                                  sizeof err) == 0,
                "%s", err);
  ck_assert_str_eq(model_name(m), "SGDRegressorTrainer_0");
  ck_assert_double_eq(model_mae_watts(m), 12.5);
  double x[FEATURE_MAX] = {[FEATURE_CPU_TIME_MS] = 48000};
  ck_assert_close(model_predict(m, COMPONENT_PACKAGE, x), 100 + 300 * 0.5);
  model_free(m);
  free(body);

  /* A feature-group prefix and a curve fit's trainer. */
  const char *curve =
      "{\"model_name\": \"BPFOnly_LogarithmicRegressionTrainer_3\", "
      "\"platform\": {\"All_Weights\": {\"Numerical_Variables\": "
      "{\"bpf_cpu_time_ms\": {\"scale\": 1000}}, \"CurveFit_Weights\": "
      "[10, 1, 50]}}}";
  ck_assert_msg(model_server_load(curve, strlen(curve), "x", MODEL_ABS_POWER,
                                  &spec, &m, err, sizeof err) == 0,
                "%s", err);
  x[FEATURE_CPU_TIME_MS] = 1000;
  ck_assert_close(model_predict(m, COMPONENT_PLATFORM, x), 10 * log(2) + 50);
  ck_assert(model_mae_watts(m) < 0);
  model_free(m);
}
END_TEST

START_TEST(test_load_refuses) {
  static const struct {
    const char *body, *why;
  } bad[] = {
      {"", "not JSON"},
      {"not json at all", "not JSON"},
      {"{\"model_name\": \"SGDRegressorTrainer_0\", ", "not JSON"},
      {"[1, 2]", "not a JSON object"},
      {"{\"package\": {}}", "names no model"},
      {"{\"model_name\": 3}", "names no model"},
      {"{\"model_name\": \"XgboostFitTrainer_0\", \"package\": {}}",
       "no supported trainer"},
      {"{\"model_name\": \"SGDRegressorTrainer_0\"}", "no component"},
      {"{\"model_name\": \"SGDRegressorTrainer_0\", \"package\": "
       "{\"All_Weights\": {\"Bias_Weight\": 1e999, \"Numerical_Variables\": "
       "{}}}}",
       "finite"},
      {"{\"model_name\": \"SGDRegressorTrainer_0\", \"package\": "
       "{\"All_Weights\": {\"Bias_Weight\": 1, \"Numerical_Variables\": "
       "{\"bpf_cpu_time_ms\": {\"scale\": 1, \"weight\": NaN}}}}}",
       "finite"},
      {"{\"model_name\": \"SGDRegressorTrainer_0\", \"gpu\": {}}",
       "not one of"},
      /* 0 W everywhere, and a megawatt at full usage on a 96-thread host
       * (the bound is 100 W a thread + 1 kW) */
      {"{\"model_name\": \"SGDRegressorTrainer_0\", \"package\": "
       "{\"All_Weights\": {\"Bias_Weight\": 0, \"Numerical_Variables\": "
       "{}}}}",
       "gives 0 W with every CPU busy on this machine, not within (0, 10600] "
       "W"},
      {"{\"model_name\": \"SGDRegressorTrainer_0\", \"package\": "
       "{\"All_Weights\": {\"Bias_Weight\": 100, \"Numerical_Variables\": "
       "{\"bpf_cpu_time_ms\": {\"scale\": 96000, \"weight\": 1e6}}}}}",
       "gives 1.0001e+06 W with every CPU busy"},
  };
  struct machine_spec spec = m5_metal();
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
    char err[512] = "";
    struct power_model *sentinel = (struct power_model *)&spec, *m = sentinel;
    ck_assert_int_eq(model_server_load(bad[i].body, strlen(bad[i].body),
                                       "cache /var/x.json", MODEL_ABS_POWER,
                                       &spec, &m, err, sizeof err),
                     -1);
    ck_assert_ptr_eq(m, sentinel);
    ck_assert_msg(strncmp(err, "cache /var/x.json:", 18) == 0,
                  "case %zu: no origin: %s", i, err);
    ck_assert_msg(strstr(err, bad[i].why), "case %zu: want \"%s\" in: %s", i,
                  bad[i].why, err);
  }
}
END_TEST

/* --- The fetch -----------------------------------------------------------
 */

/* A model_name with a newline (issue 14, D2) and one with invalid UTF-8:
 * quoted in the message, escaped, never raw. */
START_TEST(test_load_name_escaped) {
  size_t len;
  char *body = read_repro("model-server-log-injection.json", &len), err[512];
  struct machine_spec spec = m5_metal();
  struct power_model *m = NULL;
  ck_assert_int_eq(model_server_load(body + 1, len - 1, "server",
                                     MODEL_ABS_POWER, &spec, &m, err,
                                     sizeof err),
                   -1);
  ck_assert_ptr_null(m);
  for (const char *p = err; *p; p++)
    ck_assert_msg((unsigned char)*p >= 0x20 && *p != 0x7f, "%s", err);
  ck_assert_msg(strstr(err, "model \"x\\x0A[error] kepler: forged line\""),
                "%s", err);
  free(body);
}
END_TEST

START_TEST(test_fetch_ok) {
  char *model = answer(100);
  struct srv *s = srv_start(M_OK, model);
  char *url = srv_url(s, "/"); /* a trailing slash is not doubled */
  struct model_server_options o = options(url);
  struct machine_spec spec = m5_metal();
  char *body = NULL, err[512] = "";
  size_t len = 0;
  ck_assert_msg(model_server_fetch(&o, have_bpf, &spec, &body, &len, err,
                                   sizeof err) == 0,
                "%s", err);
  ck_assert_uint_eq(len, strlen(model));
  ck_assert_str_eq(body, model);
  ck_assert_int_eq(atomic_load(&s->requests), 1);
  ck_assert_msg(strncmp(s->request, "POST /model HTTP/1.1\r\n", 22) == 0, "%s",
                s->request);
  ck_assert_ptr_nonnull(
      strcasestr(s->request, "\r\nContent-Type: application/json\r\n"));
  /* The body sent is the request JSON. */
  char *sent = strstr(s->request, "\r\n\r\n") + 4,
       *want = model_server_request_json(&o, have_bpf, &spec);
  ck_assert_str_eq(sent, want);
  free(want);
  free(body);
  free(url);
  srv_stop(s);
  free(model);
}
END_TEST

static void fetch_fails(struct srv *s, struct model_server_options *o,
                        const char *want, char *err, size_t errlen) {
  struct machine_spec spec = m5_metal();
  char *body = (char *)"untouched";
  size_t len = 12345;
  char *url = srv_url(s, "");
  if (!o->url)
    o->url = url;
  ck_assert_int_eq(
      model_server_fetch(o, have_bpf, &spec, &body, &len, err, errlen), -1);
  ck_assert_str_eq(body, "untouched");
  ck_assert_uint_eq(len, 12345);
  ck_assert_msg(strstr(err, "/model"), "no URL in: %s", err);
  ck_assert_msg(strstr(err, want), "want \"%s\" in: %s", want, err);
  if (o->url == url)
    o->url = NULL;
  free(url);
}

START_TEST(test_fetch_http_errors) {
  struct srv *s = srv_start(M_500, NULL);
  struct model_server_options o = options(NULL);
  char err[512];
  fetch_fails(s, &o, "HTTP 500: oops\\x0A\\x01\\x09detail that goes on", err,
              sizeof err);
  ck_assert_msg(!strstr(err, "of a body"), "not cut: %s", err);
  ck_assert_msg(!strchr(err, '\n') && !strchr(err, '\x01'), "raw: %s", err);
  /* Redirects are not followed. */
  atomic_store(&s->mode, M_REDIRECT);
  fetch_fails(s, &o, "HTTP 302", err, sizeof err);
  ck_assert_int_eq(atomic_load(&s->requests), 2);
  srv_stop(s);
}
END_TEST

START_TEST(test_fetch_oversized) {
  struct srv *s = srv_start(M_BIG, NULL);
  struct model_server_options o = options(NULL);
  o.max_bytes = 65536;
  char err[512];
  fetch_fails(s, &o, "answer over 65536 bytes", err, sizeof err);
  atomic_store(&s->mode, M_BIG_CL); /* refused from its Content-Length */
  fetch_fails(s, &o, "answer over 65536 bytes", err, sizeof err);
  srv_stop(s);
}
END_TEST

START_TEST(test_fetch_timeout) {
  char *model = answer(1);
  struct srv *s = srv_start(M_SLOW, model);
  atomic_store(&s->delay_ms, 5000);
  struct model_server_options o = options(NULL);
  o.timeout_ms = 300;
  char err[512];
  double t0 = now_s();
  fetch_fails(s, &o, "no answer within 300 ms", err, sizeof err);
  ck_assert_msg(now_s() - t0 < 3, "took %g s", now_s() - t0);
  srv_stop(s);
  free(model);
}
END_TEST

START_TEST(test_fetch_refused) {
  char *url;
  ck_assert_int_ge(asprintf(&url, "http://127.0.0.1:%d", closed_port()), 0);
  struct model_server_options o = options(url);
  struct machine_spec spec = m5_metal();
  char *body = NULL, err[512] = "";
  size_t len = 0;
  ck_assert_int_eq(
      model_server_fetch(&o, have_bpf, &spec, &body, &len, err, sizeof err),
      -1);
  ck_assert_ptr_null(body);
  ck_assert_msg(strstr(err, url) && strstr(err, "onnect"), "%s", err);
  free(url);

  /* Only http and https. */
  static const char *const others[] = {"file:///etc/passwd",
                                       "ftp://127.0.0.1:1", "gopher://x"};
  for (size_t i = 0; i < ARRAY_SIZE(others); i++) {
    o.url = others[i];
    ck_assert_int_eq(
        model_server_fetch(&o, have_bpf, &spec, &body, &len, err, sizeof err),
        -1);
    ck_assert_msg(strstr(err, "nsupported protocol") || strstr(err, "isabled"),
                  "%s", err);
  }
  o.url = "";
  ck_assert_int_eq(
      model_server_fetch(&o, have_bpf, &spec, &body, &len, err, sizeof err),
      -1);
  ck_assert_str_eq(err, "model server: no URL");
}
END_TEST

static int cancel_after(void *arg) {
  return now_s() > *(double *)arg;
}

START_TEST(test_fetch_cancel) {
  struct srv *s = srv_start(M_HANG, NULL);
  char *url = srv_url(s, "");
  struct model_server_options o = options(url);
  o.timeout_ms = 60000;
  struct machine_spec spec = m5_metal();
  char *body = NULL, err[512] = "";
  size_t len = 0;
  double t0 = now_s(), at = t0 + 0.2;
  ck_assert_int_eq(model_server_fetch_cancellable(&o, have_bpf, &spec,
                                                  cancel_after, &at, &body,
                                                  &len, err, sizeof err),
                   -1);
  ck_assert_msg(now_s() - t0 < 2.5, "took %g s", now_s() - t0);
  ck_assert_msg(strstr(err, "abandoned"), "%s", err);
  free(url);
  srv_stop(s);
}
END_TEST

/* --- The refresher -------------------------------------------------------
 */

struct fixture {
  char *dir, *cache, *url;
  struct srv *srv;
  struct model_refresh_options o;
  struct model_refresh *r;
  struct power_model *got;
};

static void fixture_init(struct fixture *f, enum mode mode, const char *body,
                         const char *cache_text) {
  memset(f, 0, sizeof *f);
  log_reset();
  f->dir = tmpdir_new();
  ck_assert_int_ge(asprintf(&f->cache, "%s/model.json", f->dir), 0);
  f->srv = srv_start(mode, body);
  f->url = srv_url(f->srv, "");
  f->o.server = options(f->url);
  f->o.server.timeout_ms = 2000;
  f->o.refresh_s = 1;
  f->o.cache_file = f->cache;
  memcpy(f->o.have, have_bpf, sizeof f->o.have);
  f->o.spec = m5_metal();
  if (cache_text) {
    /* As the refresher writes it: the answer, and beside it what it
     * answers (the URL and the request). */
    char *request =
             model_server_request_json(&f->o.server, f->o.have, &f->o.spec),
         *asked, *asked_file;
    ck_assert_int_ge(asprintf(&asked, "%s\n%s\n", f->url, request), 0);
    ck_assert_int_ge(asprintf(&asked_file, "%s.request", f->cache), 0);
    write_text(asked_file, asked);
    write_text(f->cache, cache_text);
    free(request);
    free(asked);
    free(asked_file);
  }
}

static void fixture_start(struct fixture *f) {
  char err[256] = "";
  ck_assert_msg(model_refresh_start(&f->o, &f->r, err, sizeof err) == 0, "%s",
                err);
}

static void fixture_free(struct fixture *f) {
  double t0 = now_s();
  model_refresh_stop(f->r);
  ck_assert_msg(now_s() - t0 < 3, "stop took %g s", now_s() - t0);
  srv_stop(f->srv);
  model_free(f->got);
  free(f->url);
  free(f->cache);
  tmpdir_free(f->dir);
  kepler_log_set(NULL);
}

static bool took_model(void *arg) {
  struct fixture *f = arg;
  struct power_model *m = model_refresh_take(f->r);
  if (!m)
    return false;
  model_free(f->got);
  f->got = m;
  return true;
}

static int want_requests;
static bool asked_enough(void *arg) {
  struct fixture *f = arg;
  return atomic_load(&f->srv->requests) >= want_requests;
}
/* Polls until the server has counted n requests in all. */
static bool asked(struct fixture *f, int n) {
  want_requests = n;
  return eventually(asked_enough, f, 15);
}

static double package_at_zero(const struct power_model *m) {
  static const double zero[FEATURE_MAX];
  return model_predict(m, COMPONENT_PACKAGE, zero);
}

/* A valid cache is the first model, before any answer (the server hangs);
 * stop returns promptly with a request under way. */
START_TEST(test_refresh_cache_first) {
  char *cached = answer(111);
  struct fixture f;
  fixture_init(&f, M_HANG, NULL, cached);
  f.o.server.timeout_ms = 60000;
  fixture_start(&f);
  struct power_model *m = model_refresh_take(f.r);
  ck_assert_ptr_nonnull(m);
  ck_assert_close(package_at_zero(m), 111);
  ck_assert_ptr_null(model_refresh_take(f.r));
  model_free(m);
  ck_assert(log_has("from cache "));
  ck_assert(asked(&f, 1)); /* under way, and hanging */
  sleep_ms(200);
  fixture_free(&f); /* asserts the bound on stop */
  free(cached);
}
END_TEST

/* No cache yet: the server's model arrives, lands in the cache, and an
 * unchanged answer is not published again; a changed one is. */
START_TEST(test_refresh_fetches) {
  char *first = answer(100), *second = answer(150);
  struct fixture f;
  fixture_init(&f, M_OK, first, NULL);
  fixture_start(&f);
  ck_assert(eventually(took_model, &f, 10));
  ck_assert_close(package_at_zero(f.got), 100);
  ck_assert_str_eq(model_name(f.got), "SGDRegressorTrainer_0");
  char *on_disk = read_text(f.cache, NULL);
  ck_assert_ptr_nonnull(on_disk);
  ck_assert_str_eq(on_disk, first);
  free(on_disk);
  ck_assert(log_has("new model \"SGDRegressorTrainer_0\" (stated MAE 12.50 W) "
                    "from model server http://127.0.0.1:"));
  /* Asked again (refresh_s 1), the same bytes: nothing new to take. */
  ck_assert(asked(&f, 3));
  ck_assert_ptr_null(model_refresh_take(f.r));
  ck_assert_int_eq(logged(KLOG_INFO), 1);
  srv_set_body(f.srv, second);
  ck_assert(eventually(took_model, &f, 10));
  ck_assert_close(package_at_zero(f.got), 150);
  on_disk = read_text(f.cache, NULL);
  ck_assert_str_eq(on_disk, second);
  free(on_disk);
  ck_assert_int_eq(logged(KLOG_WARNING), 0);
  fixture_free(&f);
  free(first);
  free(second);
}
END_TEST

/* A failing server: the cached model stays (given once, then NULL), the
 * cache is untouched, one WARNING for the outage, a NOTICE when it ends. */
START_TEST(test_refresh_outage) {
  char *cached = answer(111), *fresh = answer(160);
  struct fixture f;
  fixture_init(&f, M_500, fresh, cached);
  fixture_start(&f);
  struct power_model *m = model_refresh_take(f.r);
  ck_assert_ptr_nonnull(m);
  model_free(m);
  ck_assert(asked(&f, 2));
  ck_assert_ptr_null(model_refresh_take(f.r));
  atomic_store(&f.srv->mode, M_BAD_MODEL); /* still failing, otherwise */
  ck_assert(asked(&f, atomic_load(&f.srv->requests) + 2));
  ck_assert_ptr_null(model_refresh_take(f.r));
  char *on_disk = read_text(f.cache, NULL);
  ck_assert_str_eq(on_disk, cached);
  free(on_disk);
  ck_assert_int_eq(logged(KLOG_WARNING), 1);
  ck_assert(log_has("model refresh failed: model server http://127.0.0.1:"));
  ck_assert(log_has("/model: HTTP 500"));
  ck_assert(log_has("the current model stays (next attempt in 1 s)"));
  ck_assert_int_eq(logged(KLOG_NOTICE), 0);
  atomic_store(&f.srv->mode, M_OK);
  ck_assert(eventually(took_model, &f, 10));
  ck_assert_close(package_at_zero(f.got), 160);
  ck_assert_int_eq(logged(KLOG_NOTICE), 1);
  ck_assert(log_has("answers again"));
  fixture_free(&f);
  free(cached);
  free(fresh);
}
END_TEST

/* A cache made for another request (here another source) is not offered:
 * a model for what this plugin no longer asks would serve for ever. */
START_TEST(test_refresh_cache_for_another_request) {
  char *cached = answer(111);
  struct fixture f;
  fixture_init(&f, M_HANG, NULL, cached);
  f.o.server.source = "acpi";
  f.o.server.timeout_ms = 60000;
  fixture_start(&f);
  ck_assert_ptr_null(model_refresh_take(f.r));
  ck_assert(log_has("was made for another server, source or feature set"));
  ck_assert_int_eq(logged(KLOG_WARNING), 0);
  fixture_free(&f);
  free(cached);
}
END_TEST

/* A corrupt cache is a WARNING naming it and is not offered. */
START_TEST(test_refresh_corrupt_cache) {
  struct fixture f;
  fixture_init(&f, M_HANG, NULL, "{\"model_name\": \"SGDRegressorTrainer_0\"");
  f.o.server.timeout_ms = 60000;
  fixture_start(&f);
  ck_assert_ptr_null(model_refresh_take(f.r));
  ck_assert_int_eq(logged(KLOG_WARNING), 1);
  ck_assert(log_has(f.cache));
  fixture_free(&f);
}
END_TEST

/* A cache in a missing directory: the model is still used; one WARNING. */
START_TEST(test_refresh_cache_dir_missing) {
  char *model = answer(100);
  struct fixture f;
  fixture_init(&f, M_OK, model, NULL);
  free(f.cache);
  ck_assert_int_ge(asprintf(&f.cache, "%s/none/model.json", f.dir), 0);
  f.o.cache_file = f.cache;
  fixture_start(&f);
  ck_assert(eventually(took_model, &f, 10));
  ck_assert(asked(&f, 3));
  ck_assert_int_eq(logged(KLOG_WARNING), 1);
  ck_assert(log_has("none/model.json"));
  ck_assert(log_has("cannot create a temporary file"));
  fixture_free(&f);
  free(model);
}
END_TEST

START_TEST(test_refresh_start_errors) {
  struct model_refresh_options o = {.refresh_s = 1};
  struct model_refresh *r = NULL;
  char err[256] = "";
  ck_assert_int_eq(model_refresh_start(&o, &r, err, sizeof err), -1);
  ck_assert_ptr_null(r);
  ck_assert_ptr_nonnull(strstr(err, "URL"));
  model_refresh_stop(NULL);
}
END_TEST

static Suite *model_server_suite(void) {
  Suite *s = suite_create("model_server_client");
  TCase *tc = tcase_create("client");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_request_json);
  tcase_add_test(tc, test_machine_spec_names);
  tcase_add_test(tc, test_load_model_db);
  tcase_add_test(tc, test_load_answer);
  tcase_add_test(tc, test_load_refuses);
  tcase_add_test(tc, test_load_name_escaped);
  tcase_add_test(tc, test_fetch_ok);
  tcase_add_test(tc, test_fetch_http_errors);
  tcase_add_test(tc, test_fetch_oversized);
  tcase_add_test(tc, test_fetch_timeout);
  tcase_add_test(tc, test_fetch_refused);
  tcase_add_test(tc, test_fetch_cancel);
  suite_add_tcase(s, tc);
  TCase *tr = tcase_create("refresh");
  tcase_set_timeout(tr, 120);
  tcase_add_test(tr, test_refresh_cache_first);
  tcase_add_test(tr, test_refresh_fetches);
  tcase_add_test(tr, test_refresh_outage);
  tcase_add_test(tr, test_refresh_corrupt_cache);
  tcase_add_test(tr, test_refresh_cache_for_another_request);
  tcase_add_test(tr, test_refresh_cache_dir_missing);
  tcase_add_test(tr, test_refresh_start_errors);
  suite_add_tcase(s, tr);
  return s;
}

int main(void) {
  return run_suite(model_server_suite());
}
