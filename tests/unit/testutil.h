// SPDX-License-Identifier: GPL-2.0-only
/* What every unit test file shares: a size macro, a tolerance assertion and
 * the check runner. */
#ifndef KEPLER_TESTUTIL_H
#define KEPLER_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* got == want within 1e-9, relative (absolute below 1). */
#define ck_assert_close(got, want)                                             \
  do {                                                                         \
    double got_ = (got), want_ = (want);                                       \
    ck_assert_msg(fabs(got_ - want_) <= 1e-9 * fmax(1, fabs(want_)),           \
                  "%s = %.17g, want %.17g", #got, got_, want_);                \
  } while (0)

#ifdef KEPLER_SRCDIR
/* A reproducer of tests/repro/ read whole, NUL-terminated (*len bytes before
 * the NUL); the caller frees it. */
static inline char *read_repro(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/tests/repro/%s", KEPLER_SRCDIR, name);
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "%s", path);
  char *buf = malloc(1 << 20);
  ck_assert_ptr_nonnull(buf);
  *len = fread(buf, 1, (1 << 20) - 1, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}
#endif

/* Run a suite; the process exit status says whether everything passed. */
static inline int run_suite(Suite *suite) {
  SRunner *sr = srunner_create(suite);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
