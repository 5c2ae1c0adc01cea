// SPDX-License-Identifier: GPL-2.0-only
/* The ACPI power meter (hwmon driver "power_meter-acpi"): whole-platform
 * power, found by scanning every <sysfs_root>/class/hwmon/hwmon*. No
 * collectd headers. */
#ifndef KEPLER_ACPI_METER_H
#define KEPLER_ACPI_METER_H

#include <stddef.h>
#include <stdint.h>

#include "meter.h"

struct acpi_meter;

/* Returns 0 when a power_meter-acpi device with a readable power*_average
 * exists; -ENOENT when there is none; another -errno with `why` naming the
 * file when it exists but cannot be read. */
int acpi_meter_open(const char *sysfs_root, struct acpi_meter **out, char *why,
                    size_t whylen);
/* Platform power: power1_average (µW) as W, energy = power x interval. */
int acpi_meter_read(struct acpi_meter *m, uint64_t mono_ns,
                    struct meter_reading *out);
/* The meter's averaging interval in ms (power1_average_interval), 0 if not
 * stated. */
unsigned acpi_meter_interval_ms(const struct acpi_meter *m);
uint64_t acpi_meter_dropped(const struct acpi_meter *m);
void acpi_meter_close(struct acpi_meter *m);

#endif
