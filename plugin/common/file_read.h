// SPDX-License-Identifier: GPL-2.0-only
/* Opening the files the plugin reads, refusing what is not a regular file,
 * and reading a file whole, never more than a bound: the model files, the
 * model server's cache and the container runtimes' records are read with
 * it. No collectd headers. */
#ifndef KEPLER_FILE_READ_H
#define KEPLER_FILE_READ_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

/* What file_open_regular returns for a path that is not a regular file (a
 * FIFO, a directory, a device, a socket): an errno no open returns for one. */
#define FILE_NOT_REGULAR (-EMEDIUMTYPE)

/* Open path for reading, O_NONBLOCK (neither the open nor a read blocks on a
 * FIFO; no effect on a regular file) and O_CLOEXEC, and check with fstat that
 * it is a regular file: the descriptor, or -errno, FILE_NOT_REGULAR when it
 * is not a regular file. */
int file_open_regular(const char *path);

/* file_open_regular as a stdio stream for reading: NULL with errno set
 * (EMEDIUMTYPE: not a regular file). */
FILE *file_fopen_regular(const char *path);

/* The message for a -errno of these functions: "not a regular file" for
 * FILE_NOT_REGULAR, strerror otherwise. */
const char *file_strerror(int rc);

/* Read fd (open for reading; the caller closes it) to its end into a new
 * buffer, NUL-terminated (*text, the caller frees it; *len bytes before the
 * NUL). 0; -EFBIG when there are more than max bytes; -ENOMEM; read's
 * -errno. */
int file_read_bounded(int fd, size_t max, char **text, size_t *len);

#endif
