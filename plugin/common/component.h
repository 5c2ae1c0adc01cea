// SPDX-License-Identifier: GPL-2.0-only
/* The node's power domains and their names. Every stage speaks of them (a
 * meter reads them, a model predicts them, attribution splits them), so
 * they live apart from the model, which only the estimate stage knows. */
#ifndef KEPLER_COMPONENT_H
#define KEPLER_COMPONENT_H

/* RAPL-style power domains. package contains core and uncore; platform
 * contains package and dram (and everything else on the board). */
enum kepler_component {
  COMPONENT_PACKAGE,
  COMPONENT_CORE,
  COMPONENT_UNCORE,
  COMPONENT_DRAM,
  COMPONENT_PLATFORM,
  COMPONENT_MAX,
};

const char *component_name(enum kepler_component c);
int component_by_name(const char *name); /* -1 if unknown */
/* The names component_by_name knows, for error messages. */
#define COMPONENT_NAMES "package, core, uncore, dram, platform"

#endif
