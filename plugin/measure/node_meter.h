// SPDX-License-Identifier: GPL-2.0-only
/* Node power measured: RAPL components, platform power from the ACPI power
 * meter or from a value another collectd plugin reads, idle power per
 * component fitted online. The measure step of sample -> identify ->
 * measure/estimate -> attribute; the model estimates whatever this cannot
 * give. No collectd headers. */
#ifndef KEPLER_NODE_METER_H
#define KEPLER_NODE_METER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node_power.h"

enum meter_choice {
  METER_AUTO, /* every meter the host has */
  METER_RAPL, /* RAPL only; an error when the host has none */
  METER_ACPI, /* the ACPI power meter only; an error when absent */
  METER_NONE, /* the model only (a PlatformMeter value still counts) */
};

struct node_meter_options {
  const char *sysfs_root; /* "/sys", or a tree laid out like it */
  enum meter_choice choice;
  /* The caller passes platform power read elsewhere (collectd's value
   * cache) to every node_meter_read; ACPI is then not used. */
  bool external_platform;
};

struct node_meter;

/* Open the meters the options allow and the host has, and read their
 * baseline at monotonic time mono_ns. Returns 0 with *out NULL when there is
 * none; -1 with a message when a meter that was asked
 * for explicitly is missing or unreadable. A meter found but unreadable
 * under METER_AUTO is one WARNING naming the file. */
int node_meter_open(const struct node_meter_options *o, uint64_t mono_ns,
                    struct node_meter **out, char *err, size_t errlen);
/* "rapl", "acpi", "collectd", "rapl+acpi", "rapl+collectd". */
const char *node_meter_name(const struct node_meter *m);

/* One interval ending at mono_ns. external_w: the platform power from
 * elsewhere, NaN when it is not available now. utilization: the busy share
 * of all CPUs in [0, 1], for the idle fit. Returns 0 with every metered
 * component in *out (a dropped interval holds the component's last good
 * value for up to a few intervals); -1 when the meter cannot give the node
 * for this interval, so the caller estimates it with the model. */
int node_meter_read(struct node_meter *m, uint64_t mono_ns, double external_w,
                    double utilization, struct node_power *out);
/* Cumulative intervals dropped by the meters (reset, implausible, read
 * error), never dispatched. */
uint64_t node_meter_dropped(const struct node_meter *m);
void node_meter_close(struct node_meter *m);

#endif
