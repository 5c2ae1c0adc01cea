// SPDX-License-Identifier: GPL-2.0-only
/* Option values checked once, in the core: the collectd glue (and any other
 * front end) passes the words and numbers of its configuration, and gets a
 * value or a message naming what is wrong. No collectd headers. */
#ifndef KEPLER_OPTIONS_H
#define KEPLER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline.h"

/* A level's report policy from its option words: "all", "none", "top" N (a
 * whole number from 1 to UINT_MAX) or "above" W (W >= 0), the mode in any
 * case. has_value: a number followed the mode. 0, or -1 with a message in
 * err. */
int option_report_policy(const char *mode, bool has_value, double value,
                         struct report_policy *out, char *err, size_t errlen);

#endif
