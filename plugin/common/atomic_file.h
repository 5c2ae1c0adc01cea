// SPDX-License-Identifier: GPL-2.0-only
/* Replacing a file so that a reader sees the old one or the whole new one,
 * never a part, even after a crash. No collectd headers. */
#ifndef KEPLER_ATOMIC_FILE_H
#define KEPLER_ATOMIC_FILE_H

#include <stddef.h>

/* len bytes of data to path through a temporary file in the same directory
 * (path + ".tmp.XXXXXX"): written whole, mode 0644, fsync'ed, then renamed
 * over path. A missing directory is not created. Returns -1 with a message
 * naming path, the step that failed, the temporary file and the system's
 * reason, e.g. "/var/x.json: cannot sync the temporary file
 * (/var/x.json.tmp.Ab12Cd): Input/output error"; no temporary file is left
 * then. */
int atomic_file_write(const char *path, const char *data, size_t len, char *err,
                      size_t errlen);

#endif
