// SPDX-License-Identifier: GPL-2.0-only
/* The machine spec the way Kepler's model server describes machines
 * (kepler-model-server train/profiler/node_type_index.py, the spec its
 * node_type_index.json files hold):
 *   vendor     "intel" / "amd" for GenuineIntel / AuthenticAMD, else the
 *              vendor_id lower-cased (the server does not score it);
 *   processor  the model name normalised like Kepler's format_processor:
 *              "(R)", "(r)", "CPU", "Processor", "processor", "NN-Bit
 *              Multi-Core" removed, cut at the first "(" or "[", "@", "®"
 *              and "," removed, a clock ("2.50GHz", "3200 MHz") removed,
 *              then the words joined by "_", "-" -> "_", lower case, "_v"
 *              -> "v": "Intel(R) Xeon(R) CPU E5-2686 v4 @ 2.30GHz" ->
 *              "intel_xeon_e5_2686v4";
 *   cores      logical CPUs, as Kepler counts them (psutil's logical count;
 *              an m5.metal is "cores": 96 in node_type_index.json), the
 *              physical cores when the thread count is unknown;
 *   chips      sockets; memory GB rounded; frequency MHz rounded;
 *   threads_per_core  threads / physical cores (at least 1). */
#include "machine_spec_json.h"

#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "json_build.h"

/* Removes every occurrence of s from buf. */
static void remove_all(char *buf, const char *s) {
  size_t n = strlen(s);
  char *p;
  while ((p = strstr(buf, s)))
    memmove(p, p + n, strlen(p + n) + 1);
}

/* Removes every match of the extended regular expression re. */
static void remove_regex(char *buf, const char *re) {
  regex_t r;
  if (regcomp(&r, re, REG_EXTENDED))
    return;
  regmatch_t m;
  size_t from = 0;
  while (buf[from] && regexec(&r, buf + from, 1, &m, 0) == 0) {
    if (m.rm_eo == m.rm_so) { /* an empty match: step over a byte */
      from += m.rm_so + 1;
      continue;
    }
    char *s = buf + from + m.rm_so, *e = buf + from + m.rm_eo;
    memmove(s, e, strlen(e) + 1);
    from += m.rm_so;
  }
  regfree(&r);
}

void text_trim(char *buf) {
  size_t n = strlen(buf), i = 0;
  while (n > 0 && isspace((unsigned char)buf[n - 1]))
    buf[--n] = '\0';
  while (isspace((unsigned char)buf[i]))
    i++;
  memmove(buf, buf + i, n - i + 1);
}

static void processor_name(const char *cpu, char *out, size_t outlen) {
  char buf[sizeof((struct machine_spec *)0)->cpu];
  snprintf(buf, sizeof buf, "%s", cpu);
  static const char *const drop[] = {"(R)", "(r)", "CPU", "Processor",
                                     "processor"};
  for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
    remove_all(buf, drop[i]);
  remove_regex(buf, "[0-9]+-Bit Multi-Core");
  buf[strcspn(buf, "(")] = '\0';
  text_trim(buf);
  buf[strcspn(buf, "[")] = '\0';
  text_trim(buf);
  remove_all(buf, "@");
  remove_all(buf, "\xc2\xae"); /* ® */
  remove_all(buf, ",");
  /* Kepler's [G|M|g|m][H|h]z: the '|' is part of the class there too. */
  remove_regex(buf, "[0-9]+(\\.[0-9]+)?[[:space:]]?[GMgm|][Hh|]z");
  text_trim(buf);
  /* Words joined by "_", "-" -> "_", lower case, "_v" -> "v". */
  size_t o = 0;
  for (const char *p = buf; *p && o + 1 < outlen;) {
    if (isspace((unsigned char)*p)) {
      while (isspace((unsigned char)*p))
        p++;
      if (*p)
        out[o++] = '_';
      continue;
    }
    char c = *p++ == '-' ? '_' : (char)tolower((unsigned char)p[-1]);
    if (c == 'v' && o > 0 && out[o - 1] == '_')
      out[o - 1] = 'v';
    else
      out[o++] = c;
  }
  out[o < outlen ? o : outlen - 1] = '\0';
}

static void vendor_name(const char *vendor, char *out, size_t outlen) {
  if (strcmp(vendor, "GenuineIntel") == 0)
    vendor = "intel";
  else if (strcmp(vendor, "AuthenticAMD") == 0)
    vendor = "amd";
  size_t i = 0;
  for (; vendor[i] && i + 1 < outlen; i++)
    out[i] = (char)tolower((unsigned char)vendor[i]);
  out[i] = '\0';
}

json_object *machine_spec_json(const struct machine_spec *s) {
  char vendor[sizeof s->vendor], processor[sizeof s->cpu];
  vendor_name(s->vendor, vendor, sizeof vendor);
  processor_name(s->cpu, processor, sizeof processor);
  unsigned logical = s->threads ? s->threads : s->cores;
  unsigned tpc = s->threads && s->cores ? s->threads / s->cores : 1;
  json_object *o = json_object_new_object();
  if (o && json_build_add(o, "vendor", json_object_new_string(vendor)) &&
      json_build_add(o, "processor", json_object_new_string(processor)) &&
      json_build_add(o, "cores", json_object_new_int64(logical)) &&
      json_build_add(o, "chips", json_object_new_int64(s->chips)) &&
      json_build_add(o, "memory",
                     json_object_new_int64(llround(s->memory_gb))) &&
      json_build_add(o, "frequency", json_object_new_int64(llround(s->mhz))) &&
      json_build_add(o, "threads_per_core",
                     json_object_new_int64(tpc ? tpc : 1)))
    return o;
  json_object_put(o);
  return NULL;
}
