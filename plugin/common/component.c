// SPDX-License-Identifier: GPL-2.0-only
#include "component.h"

#include <string.h>

static const char *const component_names[COMPONENT_MAX] = {
    [COMPONENT_PACKAGE] = "package",   [COMPONENT_CORE] = "core",
    [COMPONENT_UNCORE] = "uncore",     [COMPONENT_DRAM] = "dram",
    [COMPONENT_PLATFORM] = "platform",
};

const char *component_name(enum kepler_component c) {
  return (unsigned)c < COMPONENT_MAX ? component_names[c] : "unknown";
}

int component_by_name(const char *name) {
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (strcmp(component_names[c], name) == 0)
      return c;
  return -1;
}
