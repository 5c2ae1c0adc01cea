/* What every unit test file shares: a size macro, a tolerance assertion and
 * the check runner. */
#ifndef KEPLER_TESTUTIL_H
#define KEPLER_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* got == want within 1e-9, relative (absolute below 1). */
#define ck_assert_close(got, want)                                             \
  do {                                                                         \
    double got_ = (got), want_ = (want);                                       \
    ck_assert_msg(fabs(got_ - want_) <= 1e-9 * fmax(1, fabs(want_)),           \
                  "%s = %.17g, want %.17g", #got, got_, want_);                \
  } while (0)

/* Run a suite; the process exit status says whether everything passed. */
static inline int run_suite(Suite *suite) {
  SRunner *sr = srunner_create(suite);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
