// SPDX-License-Identifier: GPL-2.0-only
#include "acpi_meter.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DRIVER_NAME "power_meter-acpi"

/* The meter measures one machine; the largest servers draw a few kW.
 * 100 kW (in µW) is a value only a misread produces. */
#define PLAUSIBLE_MAX_UW 100000000000ULL

struct acpi_meter {
  char *power_path;
  unsigned interval_ms;
  bool started;
  uint64_t last_ns;
  bool failing;
  uint64_t dropped;
};

/* "<prefix><decimal><suffix>" exactly, e.g. hwmon5, power1_average. */
static bool parse_numbered(const char *name, const char *prefix,
                           const char *suffix, unsigned *n) {
  size_t plen = strlen(prefix);
  if (strncmp(name, prefix, plen) != 0)
    return false;
  const char *p = name + plen;
  if (*p < '0' || *p > '9')
    return false;
  unsigned long v = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    v = v * 10 + (unsigned long)(*p - '0');
    if (v > UINT_MAX)
      return false;
  }
  if (strcmp(p, suffix) != 0)
    return false;
  *n = (unsigned)v;
  return true;
}

/* The driver's attributes sit in hwmonN/ on current kernels and in
 * hwmonN/device/ (the ACPI000D device) on older ones; so does `name`.
 * Returns the one of those holding attribute, or NULL. */
static char *attribute_dir(const char *hwmon, const char *attribute) {
  char *dirs[2] = {strdup(hwmon), meter_join(hwmon, "device")};
  char *found = NULL;
  for (int i = 0; i < 2 && !found; i++) {
    char *path = dirs[i] ? meter_join(dirs[i], attribute) : NULL;
    if (path && access(path, F_OK) == 0) {
      found = dirs[i];
      dirs[i] = NULL;
    }
    free(path);
  }
  free(dirs[0]);
  free(dirs[1]);
  return found;
}

static bool is_acpi_meter(const char *hwmon) {
  char *dir = attribute_dir(hwmon, "name");
  char *path = dir ? meter_join(dir, "name") : NULL;
  char name[64];
  bool is = path && meter_read_line(path, name, sizeof(name)) == 0 &&
            strcmp(name, DRIVER_NAME) == 0;
  free(path);
  free(dir);
  return is;
}

/* The lowest k of the power<k>_average files in hwmon or hwmon/device:
 * that file and its averaging interval, in new strings. */
static bool find_power_average(const char *hwmon, char **power,
                               char **interval) {
  bool found = false;
  unsigned best = 0, k;
  char *dir = NULL;
  for (int i = 0; i < 2 && !found; i++) {
    free(dir);
    dir = i == 0 ? strdup(hwmon) : meter_join(hwmon, "device");
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
      continue;
    struct dirent *e;
    while ((e = readdir(d)))
      if (parse_numbered(e->d_name, "power", "_average", &k) &&
          (!found || k < best)) {
        best = k;
        found = true;
      }
    closedir(d);
  }
  if (found) {
    char name[48];
    snprintf(name, sizeof(name), "power%u_average", best);
    *power = meter_join(dir, name);
    snprintf(name, sizeof(name), "power%u_average_interval", best);
    *interval = meter_join(dir, name);
  }
  free(dir);
  return found;
}

/* The lowest-numbered hwmon device of the driver, in a new string; NULL if
 * there is none. */
static char *find_acpi_hwmon(const char *class_dir) {
  DIR *d = opendir(class_dir);
  if (!d)
    return NULL;
  char *best = NULL;
  unsigned best_n = 0, n;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!parse_numbered(e->d_name, "hwmon", "", &n) || (best && n >= best_n))
      continue;
    char *hwmon = meter_join(class_dir, e->d_name);
    if (hwmon && is_acpi_meter(hwmon)) {
      free(best);
      best = hwmon;
      best_n = n;
    } else {
      free(hwmon);
    }
  }
  closedir(d);
  return best;
}

static int open_found(const char *hwmon, struct acpi_meter **out, char *why,
                      size_t whylen) {
  char *power = NULL, *interval = NULL;
  if (!find_power_average(hwmon, &power, &interval)) {
    snprintf(why, whylen, "%s: %s has no power*_average", hwmon, DRIVER_NAME);
    return -ENOENT;
  }
  int rc = 0;
  uint64_t uw;
  struct acpi_meter *m = NULL;
  if (!power || !interval) {
    rc = -ENOMEM;
    snprintf(why, whylen, "out of memory");
  } else if ((rc = meter_read_u64(power, &uw))) {
    snprintf(why, whylen, "%s: %s", power, meter_strerror(rc));
  } else if (!(m = calloc(1, sizeof(*m)))) {
    rc = -ENOMEM;
    snprintf(why, whylen, "out of memory");
  } else {
    uint64_t ms;
    /* Informational: a meter that does not state its interval works. */
    if (meter_read_u64(interval, &ms) == 0)
      m->interval_ms = ms > UINT_MAX ? UINT_MAX : (unsigned)ms;
    m->power_path = power;
    power = NULL;
    *out = m;
  }
  free(power);
  free(interval);
  return rc;
}

int acpi_meter_open(const char *sysfs_root, struct acpi_meter **out, char *why,
                    size_t whylen) {
  *out = NULL;
  char *class_dir = meter_join(sysfs_root, "class/hwmon");
  char *hwmon = class_dir ? find_acpi_hwmon(class_dir) : NULL;
  int rc;
  if (hwmon) {
    rc = open_found(hwmon, out, why, whylen);
  } else {
    snprintf(why, whylen, "%s: no %s device", class_dir ? class_dir : "hwmon",
             DRIVER_NAME);
    rc = -ENOENT;
  }
  free(hwmon);
  free(class_dir);
  return rc;
}

/* The meter gives power already averaged by the firmware; energy is that
 * power over the time since the previous read, so the first read, with no
 * previous one, is not valid (as with RAPL). An error or an implausible
 * value loses only its own interval. */
int acpi_meter_read(struct acpi_meter *m, uint64_t mono_ns,
                    struct meter_reading *out) {
  memset(out, 0, sizeof(*out));
  out->present[COMPONENT_PLATFORM] = true;
  if (m->started && mono_ns <= m->last_ns)
    return -EINVAL;
  uint64_t uw;
  int err = meter_read_u64(m->power_path, &uw);
  meter_track(&m->failing, m->power_path, err);
  bool had_last = m->started;
  double dt_s = (double)(mono_ns - m->last_ns) * 1e-9;
  m->started = true;
  m->last_ns = mono_ns;
  if (!had_last)
    return 0;
  if (err || uw > PLAUSIBLE_MAX_UW) {
    m->dropped++;
    return 0;
  }
  out->valid[COMPONENT_PLATFORM] = true;
  out->power_w[COMPONENT_PLATFORM] = (double)uw * 1e-6;
  out->energy_j[COMPONENT_PLATFORM] = out->power_w[COMPONENT_PLATFORM] * dt_s;
  return 0;
}

unsigned acpi_meter_interval_ms(const struct acpi_meter *m) {
  return m->interval_ms;
}

uint64_t acpi_meter_dropped(const struct acpi_meter *m) {
  return m->dropped;
}

void acpi_meter_close(struct acpi_meter *m) {
  if (!m)
    return;
  free(m->power_path);
  free(m);
}
