// SPDX-License-Identifier: GPL-2.0-only
#include "runtime_names_worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "mono_clock.h"

struct names_request {
  enum container_runtime runtime;
  char id[CONTAINER_NAME_LEN];
};

struct names_result {
  char id[CONTAINER_NAME_LEN];
  struct container_names names;
};

struct runtime_names_worker {
  const char *root;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  pthread_cond_t idle; /* no lookup queued or in progress (monotonic) */
  bool stopping;
  bool busy; /* under lock: a lookup is in progress */
  /* Under lock: the lookups waiting (from queue[head]) and those done. */
  struct names_request *queue;
  size_t head, nqueue, queue_cap;
  struct names_result *done;
  size_t ndone, done_cap;
  /* The read thread's own: the results being handed out, swapped with
   * done so the callbacks run unlocked. */
  struct names_result *collected;
  size_t collected_cap;
};

static void *lookup_loop(void *arg) {
  struct runtime_names_worker *w = arg;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (w->head == w->nqueue && !w->stopping)
      pthread_cond_wait(&w->wake, &w->lock);
    if (w->stopping)
      break; /* names wanted by no one any more */
    struct names_request req = w->queue[w->head++];
    if (w->head == w->nqueue)
      w->head = w->nqueue = 0;
    w->busy = true;
    pthread_mutex_unlock(&w->lock);
    struct names_result res;
    snprintf(res.id, sizeof(res.id), "%s", req.id);
    runtime_names_lookup(w->root, req.runtime, req.id, &res.names);
    pthread_mutex_lock(&w->lock);
    /* Out of memory, the result is lost: the container stays reported by
     * its id, as when its runtime left no names. */
    if (array_grow((void **)&w->done, &w->done_cap, w->ndone + 1,
                   sizeof(*w->done)) == 0)
      w->done[w->ndone++] = res;
    w->busy = false;
    if (w->head == w->nqueue)
      pthread_cond_broadcast(&w->idle);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

int runtime_names_worker_start(const char *root,
                               struct runtime_names_worker **out) {
  struct runtime_names_worker *w = calloc(1, sizeof(*w));
  if (!w)
    return -ENOMEM;
  w->root = root;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->wake, NULL);
  pthread_condattr_t monotonic;
  pthread_condattr_init(&monotonic);
  pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
  pthread_cond_init(&w->idle, &monotonic);
  pthread_condattr_destroy(&monotonic);
  int rc = pthread_create(&w->thread, NULL, lookup_loop, w);
  if (rc != 0) {
    pthread_cond_destroy(&w->idle);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return -rc;
  }
  *out = w;
  return 0;
}

int runtime_names_worker_request(struct runtime_names_worker *w,
                                 enum container_runtime rt, const char *id) {
  if (strlen(id) >= CONTAINER_NAME_LEN)
    return -EINVAL;
  pthread_mutex_lock(&w->lock);
  if (w->head > 0) { /* the worker's taken ones make room */
    w->nqueue -= w->head;
    memmove(w->queue, w->queue + w->head, w->nqueue * sizeof(*w->queue));
    w->head = 0;
  }
  int rc = array_grow((void **)&w->queue, &w->queue_cap, w->nqueue + 1,
                      sizeof(*w->queue))
               ? -ENOMEM
               : 0;
  if (rc == 0) {
    struct names_request *req = &w->queue[w->nqueue++];
    req->runtime = rt;
    snprintf(req->id, sizeof(req->id), "%s", id);
    pthread_cond_signal(&w->wake);
  }
  pthread_mutex_unlock(&w->lock);
  return rc;
}

bool runtime_names_worker_wait(struct runtime_names_worker *w,
                               uint64_t deadline_ns) {
  struct timespec until = {(time_t)(deadline_ns / 1000000000u),
                           (long)(deadline_ns % 1000000000u)};
  pthread_mutex_lock(&w->lock);
  int rc = 0;
  while ((w->busy || w->head < w->nqueue) && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&w->idle, &w->lock, &until);
  bool idle = !w->busy && w->head == w->nqueue;
  pthread_mutex_unlock(&w->lock);
  return idle;
}

void runtime_names_worker_collect(
    struct runtime_names_worker *w,
    void (*found)(void *ctx, const char *id,
                  const struct container_names *names),
    void *ctx) {
  pthread_mutex_lock(&w->lock);
  struct names_result *results = w->done;
  size_t n = w->ndone, cap = w->done_cap;
  w->done = w->collected;
  w->done_cap = w->collected_cap;
  w->ndone = 0;
  pthread_mutex_unlock(&w->lock);
  w->collected = results;
  w->collected_cap = cap;
  for (size_t i = 0; i < n; i++)
    found(ctx, results[i].id, &results[i].names);
}

void runtime_names_worker_stop(struct runtime_names_worker *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->lock);
  w->stopping = true;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->idle);
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->lock);
  free(w->queue);
  free(w->done);
  free(w->collected);
  free(w);
}
