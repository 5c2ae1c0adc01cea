// SPDX-License-Identifier: GPL-2.0-only
/* burner: a CPU burner for the end-to-end tests.
 *
 *   burner [SECONDS]
 *   burner --cpu SECONDS
 *
 * Spins in a tight user-space loop on a volatile counter until SECONDS of
 * wall time have passed (0 or absent: forever), or with --cpu until it has
 * run SECONDS on a CPU (however busy the machine), then exits 0. Its command
 * name (comm) is its file name, so the tests copy it to distinct names
 * (kburn_a, kburn_c1, ...) to find it in the plugin's output. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  double seconds = 0.0;
  clockid_t clock = CLOCK_MONOTONIC;
  if (argc == 3 && strcmp(argv[1], "--cpu") == 0) {
    clock = CLOCK_PROCESS_CPUTIME_ID;
    argv++;
    argc--;
  }
  if (argc > 2) {
    fprintf(stderr, "usage: %s [SECONDS] | --cpu SECONDS\n", argv[0]);
    return 2;
  }
  if (argc == 2) {
    char *end = NULL;
    errno = 0;
    seconds = strtod(argv[1], &end);
    if (errno != 0 || end == argv[1] || *end != '\0' || !(seconds >= 0.0)) {
      fprintf(stderr, "%s: invalid SECONDS '%s'\n", argv[0], argv[1]);
      return 2;
    }
  }

  volatile unsigned long counter = 0;
  double start = now_s(clock);
  for (;;) {
    for (int i = 0; i < 200000; i++)
      counter++;
    /* clock_gettime is a vDSO call for CLOCK_MONOTONIC: the burner stays
     * in user space. The CPU clock is a system call, once per 200 000. */
    if (seconds > 0.0 && now_s(clock) - start >= seconds)
      break;
  }
  return 0;
}
