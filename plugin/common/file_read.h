// SPDX-License-Identifier: GPL-2.0-only
/* Reading a file whole, never more than a bound: the model files, the model
 * server's cache and the container runtimes' records are read with it. No
 * collectd headers. */
#ifndef KEPLER_FILE_READ_H
#define KEPLER_FILE_READ_H

#include <stddef.h>

/* Read fd (open for reading; the caller closes it) to its end into a new
 * buffer, NUL-terminated (*text, the caller frees it; *len bytes before the
 * NUL). 0; -EFBIG when there are more than max bytes; -ENOMEM; read's
 * -errno. */
int file_read_bounded(int fd, size_t max, char **text, size_t *len);

#endif
