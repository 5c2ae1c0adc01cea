// SPDX-License-Identifier: GPL-2.0-only
/* RAPL energy counters through the powercap sysfs class
 * (<sysfs_root>/class/powercap/intel-rapl:*), every package and sub-zone.
 * No collectd headers. */
#ifndef KEPLER_RAPL_METER_H
#define KEPLER_RAPL_METER_H

#include <stddef.h>
#include <stdint.h>

#include "meter.h"

struct rapl_meter;

/* Find every zone. Returns 0 when at least one zone's energy_uj is
 * readable; -ENOENT when there is no RAPL zone; -EACCES (or the errno) when
 * zones exist but cannot be read, with `why` naming the file (energy_uj is
 * root-only since CVE-2020-8694). */
int rapl_meter_open(const char *sysfs_root, struct rapl_meter **out, char *why,
                    size_t whylen);
/* Read every zone at monotonic time mono_ns. The first read only sets the
 * baseline (nothing valid). Wraps are undone with max_energy_range_uj;
 * resets and implausible values make the component invalid for this
 * interval and are counted. */
int rapl_meter_read(struct rapl_meter *m, uint64_t mono_ns,
                    struct meter_reading *out);
/* Cumulative count of intervals dropped (reset, implausible, read error). */
uint64_t rapl_meter_dropped(const struct rapl_meter *m);
void rapl_meter_close(struct rapl_meter *m);

#endif
