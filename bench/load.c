// SPDX-License-Identifier: GPL-2.0-only
/* Processes for the benchmarks.
 *
 *   kepler-bench-load sleepers N PERIOD_MS
 *     N processes that each wake every PERIOD_MS (phases spread evenly), so
 *     a collection interval of I ms sees about N * I / PERIOD_MS of them run.
 *     Prints "ready" once all exist; they are killed when stdin closes.
 *   kepler-bench-load churn RATE SECONDS
 *     RATE short-lived processes per second (fork + exec /bin/true + exit)
 *     for SECONDS, paced on absolute deadlines. Prints how many ran.
 *   kepler-bench-load busy BURNERS RATE
 *     BURNERS processes spinning on the CPU and a churn of RATE per second,
 *     until killed: a busy machine for the tests that run beside it
 *     (tests/run.sh). It and its burners die with its parent. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000L

static void add_ns(struct timespec *t, long ns) {
  t->tv_nsec += ns;
  while (t->tv_nsec >= NSEC_PER_SEC) {
    t->tv_nsec -= NSEC_PER_SEC;
    t->tv_sec++;
  }
}

static void sleeper(long period_ns, long phase_ns, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) /* the parent died before prctl */
    _exit(0);
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  add_ns(&next, phase_ns);
  for (;;) {
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    add_ns(&next, period_ns);
  }
}

static int sleepers(long n, long period_ms) {
  pid_t *pids = calloc((size_t)n, sizeof(*pids));
  if (!pids) {
    perror("sleepers: calloc");
    return 1;
  }
  long period_ns = period_ms * 1000000L;
  pid_t self = getpid();
  int status = 0;
  long started = 0;
  for (; started < n; started++) {
    pid_t pid = fork();
    if (pid == 0)
      sleeper(period_ns, period_ns / n * started, self);
    if (pid < 0) {
      fprintf(stderr, "sleepers: fork %ld of %ld: %s\n", started + 1, n,
              strerror(errno));
      status = 1;
      break;
    }
    pids[started] = pid;
  }
  if (status == 0) {
    printf("ready\n");
    fflush(stdout);
    char buf[64];
    while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
      ;
  }
  for (long i = 0; i < started; i++)
    kill(pids[i], SIGKILL);
  for (long i = 0; i < started; i++)
    waitpid(pids[i], NULL, 0);
  free(pids);
  return status;
}

/* seconds 0: until killed */
static int churn(long rate, long seconds) {
  char *const argv[] = {"true", NULL};
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  long total = rate * seconds, spawned = 0, failed = 0;
  for (; seconds == 0 || spawned < total; spawned++) {
    pid_t pid = fork();
    if (pid == 0) {
      execv("/bin/true", argv);
      _exit(127);
    }
    if (pid < 0)
      failed++;
    while (waitpid(-1, NULL, WNOHANG) > 0)
      ;
    add_ns(&next, NSEC_PER_SEC / rate);
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
  while (waitpid(-1, NULL, 0) > 0)
    ;
  printf("%ld spawned, %ld failed\n", spawned - failed, failed);
  return failed ? 1 : 0;
}

static void spin(pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) /* the parent died before prctl */
    _exit(0);
  for (volatile unsigned long n = 0;; n++)
    ;
}

static int busy(long burners, long rate) {
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    return 0;
  pid_t self = getpid();
  for (long i = 0; i < burners; i++) {
    pid_t pid = fork();
    if (pid == 0)
      spin(self);
    if (pid < 0) {
      perror("busy: fork");
      return 1;
    }
  }
  return churn(rate, 0);
}

static long arg(const char *s, const char *what) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || *end || v <= 0) {
    fprintf(stderr,
            "kepler-bench-load: %s must be a positive integer, not "
            "\"%s\"\n",
            what, s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "sleepers") == 0)
    return sleepers(arg(argv[2], "N"), arg(argv[3], "PERIOD_MS"));
  if (argc == 4 && strcmp(argv[1], "churn") == 0)
    return churn(arg(argv[2], "RATE"), arg(argv[3], "SECONDS"));
  if (argc == 4 && strcmp(argv[1], "busy") == 0)
    return busy(arg(argv[2], "BURNERS"), arg(argv[3], "RATE"));
  fprintf(stderr, "usage: kepler-bench-load sleepers N PERIOD_MS\n"
                  "       kepler-bench-load churn RATE SECONDS\n"
                  "       kepler-bench-load busy BURNERS RATE\n");
  return 2;
}
