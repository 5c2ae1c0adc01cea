// SPDX-License-Identifier: GPL-2.0-only
/* This host's machine spec as Kepler's model server describes machines: the
 * "machine_spec" of a model server request and of a weight file this host
 * writes, so that a model server can match a file trained here to
 * meterless machines of the same type. No collectd headers. */
#ifndef KEPLER_MACHINE_SPEC_JSON_H
#define KEPLER_MACHINE_SPEC_JSON_H

#include "machine.h"

struct json_object;

/* {vendor, processor, cores, chips, memory, frequency, threads_per_core},
 * normalised as the .c says; NULL when out of memory. The caller owns it
 * (json_object_put). */
struct json_object *machine_spec_json(const struct machine_spec *s);

/* Blanks removed from both ends of buf, in place. */
void text_trim(char *buf);

#endif
