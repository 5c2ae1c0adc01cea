// SPDX-License-Identifier: GPL-2.0-only
/* models/default.yaml, embedded at build time (Makefile.am). */
#ifndef KEPLER_DEFAULT_MODEL_H
#define KEPLER_DEFAULT_MODEL_H

extern const char kepler_default_model[];

#endif
