// SPDX-License-Identifier: GPL-2.0-only
/* What every fuzz target shares: the libFuzzer entry point's declaration,
 * a check that aborts (so libFuzzer and the replay driver both report it
 * as a crash with the input), and checks on the texts a parser hands back.
 *
 * A check for a promise that a known defect still breaks goes behind a
 * FUZZ_CHECK_... macro (make fuzz FUZZ_CFLAGS=-DFUZZ_CHECK_...) until its
 * fix lands, then becomes unconditional; none is pending. */
#ifndef KEPLER_FUZZ_CHECK_H
#define KEPLER_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort, not assert: the check must stay with NDEBUG too. */
#define FUZZ_REQUIRE(cond, what)                                               \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: promise broken: %s (%s)\n", __FILE__, __LINE__,  \
              what, #cond);                                                    \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* The input as a NUL-terminated string (malloc'ed), for parsers that take
 * one; NULL when out of memory. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s) {
    memcpy(s, data, size);
    s[size] = '\0';
  }
  return s;
}

/* An error message fits its buffer, says something, and holds no control
 * byte that could forge a log line (D2). */
static inline void fuzz_check_message(const char *err, size_t errlen) {
  size_t n = strnlen(err, errlen);
  FUZZ_REQUIRE(n < errlen, "error message NUL-terminated within its buffer");
  FUZZ_REQUIRE(n > 0, "a failure says why");
  for (size_t i = 0; i < n; i++)
    FUZZ_REQUIRE((unsigned char)err[i] >= 0x20 && err[i] != 0x7f,
                 "no control byte in an error message (D2)");
}

/* The core's log lines go here instead of stderr: quiet, and held to the
 * same rule as error messages (D2). */
static inline void fuzz_log_line(int level, const char *message) {
  (void)level;
  for (const char *c = message; *c; c++)
    FUZZ_REQUIRE((unsigned char)*c >= 0x20 && *c != 0x7f,
                 "no control byte in a log line (D2)");
}

/* Call at the start of every input (cheap): installs fuzz_log_line. */
static inline void fuzz_take_log(void) {
  kepler_log_set(fuzz_log_line);
}

/* Whether YAML 1.1 allows code point cp unescaped in a stream: tab, line
 * breaks, printable ASCII, NEL, and everything from U+00A0 but surrogates
 * and U+FFFE, U+FFFF. */
static inline bool fuzz_yaml_printable(uint32_t cp) {
  return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0x7e) ||
         cp == 0x85 || (cp >= 0xa0 && cp <= 0xd7ff) ||
         (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/* Whether s[0..n) is valid UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF) whose characters >= U+0080 are all printable to YAML:
 * what libyaml accepts of the bytes a writer copies through. */
static inline bool fuzz_yaml_text(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    size_t more;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      more = 1, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      more = 2, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      more = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (n - i <= more)
      return false;
    for (size_t k = 1; k <= more; k++) {
      if ((s[i + k] & 0xc0) != 0x80)
        return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || !fuzz_yaml_printable(cp))
      return false;
    i += more + 1;
  }
  return true;
}

#endif
