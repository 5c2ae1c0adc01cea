// SPDX-License-Identifier: GPL-2.0-only
#include "file_writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "atomic_file.h"

struct file_writer {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  /* The text waiting to be written, NULL when none. */
  const char *path;
  char *text;
  size_t len;
  bool stopping;
  /* The last finished write: 0 none since the last poll, 1 written, -1
   * failed with why. */
  int result;
  char why[512];
};

static void *write_loop(void *arg) {
  struct file_writer *w = arg;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (!w->text && !w->stopping)
      pthread_cond_wait(&w->wake, &w->lock);
    if (!w->text)
      break; /* stopping, nothing left */
    const char *path = w->path;
    char *text = w->text;
    size_t len = w->len;
    w->text = NULL;
    pthread_mutex_unlock(&w->lock);
    char why[sizeof(w->why)];
    int rc = atomic_file_write(path, text, len, why, sizeof(why));
    free(text);
    pthread_mutex_lock(&w->lock);
    w->result = rc == 0 ? 1 : -1;
    if (rc)
      snprintf(w->why, sizeof(w->why), "%s", why);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

struct file_writer *file_writer_start(void) {
  struct file_writer *w = calloc(1, sizeof(*w));
  if (!w)
    return NULL;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->wake, NULL);
  if (pthread_create(&w->thread, NULL, write_loop, w) != 0) {
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return NULL;
  }
  return w;
}

void file_writer_submit(struct file_writer *w, const char *path, char *text,
                        size_t len) {
  pthread_mutex_lock(&w->lock);
  free(w->text); /* an older text not yet started: only the latest counts */
  w->path = path;
  w->text = text;
  w->len = len;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
}

int file_writer_poll(struct file_writer *w, char *err, size_t errlen) {
  pthread_mutex_lock(&w->lock);
  int result = w->result;
  if (result < 0 && err && errlen)
    snprintf(err, errlen, "%s", w->why);
  w->result = 0;
  pthread_mutex_unlock(&w->lock);
  return result;
}

void file_writer_stop(struct file_writer *w) {
  if (!w)
    return;
  pthread_mutex_lock(&w->lock);
  w->stopping = true;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  pthread_cond_destroy(&w->wake);
  pthread_mutex_destroy(&w->lock);
  free(w);
}
