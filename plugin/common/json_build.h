// SPDX-License-Identifier: GPL-2.0-only
/* Building JSON with json-c, shared by every writer of JSON in the core. */
#ifndef KEPLER_JSON_BUILD_H
#define KEPLER_JSON_BUILD_H

#include <stdbool.h>
#include <stdio.h>

#include <json.h>

/* Adds v to object o under key (to array o when key is NULL), taking v:
 * false when v is NULL (its allocation failed) or the add failed, v freed
 * either way, so a chain of json_build_add calls needs no cleanup of its
 * own. */
static inline bool json_build_add(json_object *o, const char *key,
                                  json_object *v) {
  int rc = !v    ? -1
           : key ? json_object_object_add(o, key, v)
                 : json_object_array_add(o, v);
  if (rc != 0)
    json_object_put(v);
  return rc == 0;
}

/* A double that prints as %.17g, which strtod reads back to the same bits.
 * json-c prints doubles that way only when told to globally (a setting
 * shared with every other json-c user in the daemon); a per-value text
 * (json_object_new_double_s serialises it as given) keeps the bits without
 * touching that. The caller makes sure v is finite: JSON has no spelling for
 * NaN or infinities. */
static inline json_object *json_build_double(double v) {
  char text[32]; /* "-2.2250738585072014e-308" is 24 bytes */
  snprintf(text, sizeof text, "%.17g", v);
  return json_object_new_double_s(v, text);
}

#endif
