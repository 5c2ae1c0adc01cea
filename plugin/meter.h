/* One reading of a node power meter, per component, shared by the RAPL
 * (powercap) and ACPI power meter readers. No collectd headers. */
#ifndef KEPLER_METER_H
#define KEPLER_METER_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h" /* enum kepler_component */

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

#endif
