// SPDX-License-Identifier: GPL-2.0-only
/* Atomic file writes on a thread of their own: the caller hands a file's
 * new text over and goes on, and learns at a later call how the write went.
 * An fsync can take seconds on a busy disk; the read thread must not wait
 * for it. No collectd headers. */
#ifndef KEPLER_FILE_WRITER_H
#define KEPLER_FILE_WRITER_H

#include <stddef.h>

struct file_writer;

/* NULL when out of memory or no thread can be started. */
struct file_writer *file_writer_start(void);
/* Write text (len bytes, taken over: the writer frees it) to path with
 * atomic_file_write. Only the latest text matters: one handed over while
 * an earlier one waits replaces it. path must stay valid until
 * file_writer_stop. */
void file_writer_submit(struct file_writer *w, const char *path, char *text,
                        size_t len);
/* How the writes finished since the last call went: 0 none finished, 1 the
 * last one finished was written, -1 it failed, with atomic_file_write's
 * message in err. */
int file_writer_poll(struct file_writer *w, char *err, size_t errlen);
/* Write what still waits, then end the thread and free w. */
void file_writer_stop(struct file_writer *w);

#endif
