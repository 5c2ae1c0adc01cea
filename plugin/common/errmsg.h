// SPDX-License-Identifier: GPL-2.0-only
/* The error convention of the core: a function that fails writes one line
 * into the caller's err buffer (errlen bytes) and returns -1. */
#ifndef KEPLER_ERRMSG_H
#define KEPLER_ERRMSG_H

#include <stddef.h>

/* printf into err (when err is not NULL and errlen > 0, cut to fit);
 * always returns -1, so a failure path is `return errmsg(err, ...);`. */
int errmsg(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
