// SPDX-License-Identifier: GPL-2.0-only
#include "level.h"

#include <string.h>

static const char *const level_names[LEVEL_MAX] = {
    [LEVEL_PROCESS] = "process", [LEVEL_CONTAINER] = "container",
    [LEVEL_POD] = "pod",         [LEVEL_SERVICE] = "service",
    [LEVEL_VM] = "vm",           [LEVEL_COMMAND] = "command",
};

const char *level_name(enum report_level l) {
  return (unsigned)l < LEVEL_MAX ? level_names[l] : "unknown";
}

int level_by_name(const char *name) {
  for (int l = 0; l < LEVEL_MAX; l++)
    if (strcmp(level_names[l], name) == 0)
      return l;
  return -1;
}
