// SPDX-License-Identifier: GPL-2.0-only
/* One reading of a node power meter, per component, shared by the RAPL
 * (powercap) and ACPI power meter readers. No collectd headers. */
#ifndef KEPLER_METER_H
#define KEPLER_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "component.h"

struct meter_reading {
  /* The meter has this component at all. */
  bool present[COMPONENT_MAX];
  /* This interval's value is trustworthy: false on the first read (no
   * baseline), after a counter reset, an implausible value, or a read
   * error. An invalid value is never to be dispatched. */
  bool valid[COMPONENT_MAX];
  /* Energy in J over the interval since the previous read, summed over all
   * zones of the component (e.g. package-0 + package-1). */
  double energy_j[COMPONENT_MAX];
  /* The same as mean power over the interval. */
  double power_w[COMPONENT_MAX];
};

/* Helpers both meters share (meter.c). */

/* dir + "/" + name in a new string (free it); NULL when out of memory. */
char *meter_join(const char *dir, const char *name);
/* The first line of a small sysfs file, without its newline: 0 or -errno. */
int meter_read_line(const char *path, char *buf, size_t len);
/* A sysfs file holding one unsigned decimal integer and an optional
 * newline: 0, -errno, -EINVAL for other contents (empty, "abc", "12x"),
 * -ERANGE beyond 64 bits. */
int meter_read_u64(const char *path, uint64_t *out);
/* A meter_read_u64 error as text. */
const char *meter_strerror(int err);
/* Note whether `path` read this time (err 0) or not (-errno): one warning
 * naming the file when an outage starts and one notice when it ends, so a
 * file that stays broken does not flood the log every interval. */
void meter_track(bool *failing, const char *path, int err);

#endif
