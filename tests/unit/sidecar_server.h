// SPDX-License-Identifier: GPL-2.0-only
/* A scripted estimator sidecar for the unit tests: a thread serving one
 * connection on a real unix socket as a struct server says (accept or not,
 * how to read the request, what to answer, in how many pieces, whether to
 * stay until the client closes), keeping the request it received. A thread
 * rather than a child process: the test reads the request directly, nothing
 * is left to reap, and it works the same under CK_FORK=no (valgrind).
 *
 * Sockets live in one temporary directory: add make_base_dir and
 * remove_base_dir as the test case's unchecked fixture. Then
 *
 *   struct server s = {.accept = true, .read = READ_KEPLER, .answer = "{}"};
 *   server_start(&s, 8);  // s.path: a fresh socket, or the one set in it
 *   ... the client talks to s.path ...
 *   server_join(&s);      // s.request is now safe to read
 *   server_stop(&s);      // closes, unlinks, frees the request
 *
 * The file including this one defines _GNU_SOURCE before any include. */
#ifndef KEPLER_SIDECAR_SERVER_H
#define KEPLER_SIDECAR_SERVER_H

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE (accept4, MSG_NOSIGNAL) before any include"
#endif

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* How long a server thread waits for anything before giving up, so that a
 * broken client fails a test instead of hanging it. */
#define SERVER_PATIENCE_MS 3000

static inline double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

enum read_mode {
  READ_KEPLER, /* until the bytes end with '}', as Kepler's server */
  READ_EOF,    /* until the client shuts down its side */
  READ_NONE,   /* nothing */
};

struct server {
  /* "": server_start picks a fresh path in the base directory. */
  char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
  int lfd;
  pthread_t thread;
  bool started;
  /* The script. */
  bool accept;         /* false: listen, never accept */
  enum read_mode read; /* how the request is read */
  const char *answer;  /* NULL: none */
  size_t answer_len;   /* 0: strlen(answer) */
  int pieces;          /* the answer in this many writes, 30 ms apart */
  bool wait_for_close; /* after answering, stay until the client closes */
  /* What happened: the request received, NUL-terminated (NULL: none). */
  char *request;
  size_t request_len;
};

#define BASE_DIR_TEMPLATE "/tmp/sidecar_server.XXXXXX"
static char base_dir[] = BASE_DIR_TEMPLATE;
static int sockets_made;

static inline void make_base_dir(void) {
  memcpy(base_dir, BASE_DIR_TEMPLATE, sizeof base_dir); /* made again */
  ck_assert_ptr_nonnull(mkdtemp(base_dir));
}

static inline int remove_one(const char *path, const struct stat *sb, int flag,
                             struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

static inline void remove_base_dir(void) {
  nftw(base_dir, remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A socket path in the base directory, unique per process (CK_FORK) and
 * per call (CK_FORK=no). */
static inline void fresh_path(char *out, size_t len) {
  snprintf(out, len, "%s/%d-%d.sock", base_dir, (int)getpid(), ++sockets_made);
}

/* Polls fd for `events` up to the server's patience; false on timeout. */
static inline bool server_wait(int fd, short events) {
  struct pollfd p = {.fd = fd, .events = events};
  int n;
  while ((n = poll(&p, 1, SERVER_PATIENCE_MS)) < 0 && errno == EINTR)
    ;
  return n > 0;
}

static inline bool ends_with_brace(const char *buf, size_t len) {
  while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
    len--;
  return len > 0 && buf[len - 1] == '}';
}

static inline void server_read(struct server *s, int fd) {
  size_t cap = 0;
  for (;;) {
    if (s->request_len + 4096 + 1 > cap) {
      cap = 2 * cap + 8192;
      s->request = realloc(s->request, cap);
    }
    if (!server_wait(fd, POLLIN))
      return;
    ssize_t n = recv(fd, s->request + s->request_len, 4096, 0);
    if (n <= 0)
      return;
    s->request_len += (size_t)n;
    s->request[s->request_len] = '\0';
    if (s->read == READ_KEPLER && ends_with_brace(s->request, s->request_len))
      return;
  }
}

static inline void server_send(int fd, const char *buf, size_t len) {
  while (len > 0) {
    /* MSG_NOSIGNAL: the client may have gone (the oversize test). */
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
    if (n <= 0)
      return;
    buf += n;
    len -= (size_t)n;
  }
}

/* Until the client closes: not its shutdown(SHUT_WR) after the request
 * (an EOF to recv), but its close (POLLHUP). */
static inline void wait_for_close(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  for (;;) {
    int n = poll(&p, 1, SERVER_PATIENCE_MS);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0 || (p.revents & (POLLHUP | POLLERR)))
      return;
    char sink[4096];
    if (recv(fd, sink, sizeof sink, 0) <= 0)
      p.events = 0; /* half closed: only the hang-up is left to see */
  }
}

static inline void *server_run(void *arg) {
  struct server *s = arg;
  if (!s->accept || !server_wait(s->lfd, POLLIN))
    return NULL;
  int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0)
    return NULL;
  if (s->read != READ_NONE)
    server_read(s, fd);
  if (s->answer) {
    size_t len = s->answer_len ? s->answer_len : strlen(s->answer);
    int pieces = s->pieces > 0 ? s->pieces : 1;
    for (int i = 0; i < pieces; i++) {
      size_t from = len * i / pieces, to = len * (i + 1) / pieces;
      if (i > 0)
        poll(NULL, 0, 30);
      server_send(fd, s->answer + from, to - from);
    }
  }
  if (s->wait_for_close)
    wait_for_close(fd);
  close(fd);
  return NULL;
}

/* Binds s->path (a fresh one when empty), listens and starts the thread,
 * which serves one connection. */
static inline void server_start(struct server *s, int backlog) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (!s->path[0])
    fresh_path(s->path, sizeof s->path);
  memcpy(addr.sun_path, s->path, strlen(s->path) + 1);
  s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ck_assert_int_ge(s->lfd, 0);
  ck_assert_int_eq(bind(s->lfd, (struct sockaddr *)&addr, sizeof addr), 0);
  ck_assert_int_eq(listen(s->lfd, backlog), 0);
  ck_assert_int_eq(pthread_create(&s->thread, NULL, server_run, s), 0);
  s->started = true;
}

/* Waits for the thread, after which s->request is safe to read. */
static inline void server_join(struct server *s) {
  if (s->started)
    pthread_join(s->thread, NULL);
  s->started = false;
}

/* Joins, closes and unlinks the socket (its path can serve again) and
 * frees the request. */
static inline void server_stop(struct server *s) {
  server_join(s);
  close(s->lfd);
  unlink(s->path);
  free(s->request);
  s->request = NULL;
  s->request_len = 0;
}

#endif
