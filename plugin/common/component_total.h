// SPDX-License-Identifier: GPL-2.0-only
/* The node's total from per-component watts, one rule for the plugin and
 * the CLI: the platform when present (it holds everything), else the CPU
 * (package, or core + uncore when there is no package) plus DRAM. */
#ifndef KEPLER_COMPONENT_TOTAL_H
#define KEPLER_COMPONENT_TOTAL_H

#include <stdbool.h>

#include "component.h"

static inline double component_total(const bool present[COMPONENT_MAX],
                                     const double w[COMPONENT_MAX]) {
  if (present[COMPONENT_PLATFORM])
    return w[COMPONENT_PLATFORM];
  double cpu = present[COMPONENT_PACKAGE]
                   ? w[COMPONENT_PACKAGE]
                   : w[COMPONENT_CORE] + w[COMPONENT_UNCORE];
  return cpu + w[COMPONENT_DRAM];
}

#endif
