// SPDX-License-Identifier: GPL-2.0-only
#include "rapl_meter.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "log.h"
#include "outside_text.h"

/* A zone drawing more than this many times its largest stated power limit
 * (constraint_*_max_power_uw, about the TDP) is not physical: even the
 * short turbo limits (PL2, PL4) stay under that. A zone that states no
 * limit (dram often does not) gets a fixed ceiling above any single
 * package or platform. Above the bound a delta is a counter reset or a
 * misread, not energy. */
#define PLAUSIBLE_LIMIT_FACTOR 4.0
#define PLAUSIBLE_DEFAULT_W 5000.0

/* Zones nest as <type>:<package>:<subzone>; sysfs also lists them all flat
 * in class/powercap. Nothing is deeper. */
#define MAX_ZONE_DEPTH 2

struct zone {
  char *dir_name; /* e.g. "intel-rapl:0:1": the same zone seen twice */
  char *energy_path;
  enum kepler_component component;
  bool mmio; /* intel-rapl-mmio: the package counter again, through MMIO */
  uint64_t range_uj; /* max_energy_range_uj; 0 when the zone does not say */
  double ceiling_w;
  uint64_t last_uj;
  bool has_last; /* last_uj was read at the meter's previous read */
  bool failing;
};

struct rapl_meter {
  struct zone *zones;
  size_t n, cap;
  bool present[COMPONENT_MAX];
  bool started;
  uint64_t last_ns;
  uint64_t dropped;
};

/* "<type>:<n>[:<m>]" with a type naming RAPL (intel-rapl, amd-rapl,
 * intel-rapl-mmio); the control type directory itself has no colon. */
static bool is_zone_dir_name(const char *name, bool *mmio) {
  const char *colon = strchr(name, ':');
  if (!colon)
    return false;
  size_t type_len = (size_t)(colon - name);
  char type[64];
  if (type_len >= sizeof(type))
    return false;
  memcpy(type, name, type_len);
  type[type_len] = '\0';
  if (!strstr(type, "rapl"))
    return false;
  for (const char *p = colon; *p; p++) {
    if (*p == ':') {
      if (p[1] < '0' || p[1] > '9')
        return false;
    } else if (*p < '0' || *p > '9') {
      return false;
    }
  }
  *mmio = type_len >= 5 && strcmp(type + type_len - 5, "-mmio") == 0;
  return true;
}

static int component_of_zone(const char *name) {
  if (strncmp(name, "package-", 8) == 0 && name[8] >= '0' && name[8] <= '9')
    return COMPONENT_PACKAGE;
  if (strcmp(name, "core") == 0)
    return COMPONENT_CORE;
  if (strcmp(name, "uncore") == 0)
    return COMPONENT_UNCORE;
  if (strcmp(name, "dram") == 0)
    return COMPONENT_DRAM;
  if (strcmp(name, "psys") == 0)
    return COMPONENT_PLATFORM;
  return -1;
}

/* The largest constraint_*_max_power_uw of the zone, in W; 0 if none. */
static double stated_max_power_w(const char *zone_path) {
  DIR *d = opendir(zone_path);
  if (!d)
    return 0;
  uint64_t max_uw = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    static const char suffix[] = "_max_power_uw";
    if (strncmp(e->d_name, "constraint_", 11) != 0 ||
        len < sizeof(suffix) - 1 ||
        strcmp(e->d_name + len - (sizeof(suffix) - 1), suffix) != 0)
      continue;
    char *path = meter_join(zone_path, e->d_name);
    uint64_t uw;
    /* Some firmware cannot report a limit (the read fails): no bound. */
    if (path && meter_read_u64(path, &uw) == 0 && uw > max_uw)
      max_uw = uw;
    free(path);
  }
  closedir(d);
  return (double)max_uw * 1e-6;
}

static bool known_zone(const struct rapl_meter *m, const char *dir_name) {
  for (size_t i = 0; i < m->n; i++)
    if (strcmp(m->zones[i].dir_name, dir_name) == 0)
      return true;
  return false;
}

/* Adds the zone at zone_path unless its name is not one we meter.
 * -ENOMEM is the only failure. */
static int add_zone(struct rapl_meter *m, const char *zone_path,
                    const char *dir_name, bool mmio) {
  char *name_path = meter_join(zone_path, "name");
  if (!name_path)
    return -ENOMEM;
  char name[64], quoted[OUTSIDE_TEXT_LEN];
  int err = meter_read_line(name_path, name, sizeof(name));
  int component = err ? -1 : component_of_zone(name);
  if (err)
    kepler_log(KLOG_INFO, "kepler: %s: %s; zone ignored", name_path,
               meter_strerror(err));
  else if (component < 0)
    kepler_log(KLOG_INFO, "kepler: %s: unknown RAPL zone \"%s\" ignored",
               name_path, OUTSIDE_STR(quoted, name));
  free(name_path);
  if (component < 0)
    return 0;
  if (array_grow((void **)&m->zones, &m->cap, m->n + 1, sizeof(*m->zones)))
    return -ENOMEM;
  struct zone *z = &m->zones[m->n];
  *z = (struct zone){.component = (enum kepler_component)component,
                     .mmio = mmio};
  z->dir_name = strdup(dir_name);
  z->energy_path = meter_join(zone_path, "energy_uj");
  char *range_path = meter_join(zone_path, "max_energy_range_uj");
  if (!z->dir_name || !z->energy_path || !range_path) {
    free(z->dir_name);
    free(z->energy_path);
    free(range_path);
    return -ENOMEM;
  }
  if (meter_read_u64(range_path, &z->range_uj) != 0)
    z->range_uj = 0; /* every step back is then a reset */
  free(range_path);
  double stated_w = stated_max_power_w(zone_path);
  z->ceiling_w =
      stated_w > 0 ? PLAUSIBLE_LIMIT_FACTOR * stated_w : PLAUSIBLE_DEFAULT_W;
  m->n++;
  return 0;
}

/* Every zone under dir, once each although sysfs shows sub-zones both
 * flat and nested. */
static int scan(struct rapl_meter *m, const char *dir, int depth) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int rc = 0;
  struct dirent *e;
  while (rc == 0 && (e = readdir(d))) {
    bool mmio;
    if (!is_zone_dir_name(e->d_name, &mmio))
      continue;
    char *path = meter_join(dir, e->d_name);
    if (!path) {
      rc = -ENOMEM;
      break;
    }
    if (!known_zone(m, e->d_name))
      rc = add_zone(m, path, e->d_name, mmio);
    if (rc == 0 && depth < MAX_ZONE_DEPTH)
      rc = scan(m, path, depth + 1);
    free(path);
  }
  closedir(d);
  return rc;
}

static void free_zone(struct zone *z) {
  free(z->dir_name);
  free(z->energy_path);
}

/* intel-rapl-mmio repeats a package's counter: counting it beside the MSR
 * zone would double the package. Keep it only when it is all there is. */
static void drop_mmio_duplicates(struct rapl_meter *m) {
  bool msr_package = false;
  for (size_t i = 0; i < m->n; i++)
    msr_package |=
        !m->zones[i].mmio && m->zones[i].component == COMPONENT_PACKAGE;
  if (!msr_package)
    return;
  size_t kept = 0;
  for (size_t i = 0; i < m->n; i++) {
    if (m->zones[i].mmio)
      free_zone(&m->zones[i]);
    else
      m->zones[kept++] = m->zones[i];
  }
  m->n = kept;
}

/* 0 when any zone's counter reads (the others warn as they fail), else
 * the first zone's error, explained in why. */
static int check_readable(const struct rapl_meter *m, char *why,
                          size_t whylen) {
  const struct zone *first = m->zones; /* m has zones */
  int first_err = 0;
  for (size_t i = 0; i < m->n; i++) {
    uint64_t uj;
    int err = meter_read_u64(m->zones[i].energy_path, &uj);
    if (err == 0)
      return 0;
    if (!first_err) {
      first_err = err;
      first = &m->zones[i];
    }
  }
  snprintf(why, whylen, "%s: %s%s", first->energy_path,
           meter_strerror(first_err),
           first_err == -EACCES || first_err == -EPERM
               ? " (root-only since CVE-2020-8694)"
               : "");
  return first_err;
}

int rapl_meter_open(const char *sysfs_root, struct rapl_meter **out, char *why,
                    size_t whylen) {
  *out = NULL;
  struct rapl_meter *m = calloc(1, sizeof(*m));
  char *class_dir = meter_join(sysfs_root, "class/powercap");
  int rc = m && class_dir ? scan(m, class_dir, 1) : -ENOMEM;
  if (rc == -ENOMEM) {
    snprintf(why, whylen, "out of memory");
  } else if (m->n == 0) {
    snprintf(why, whylen, "%s: no RAPL zone", class_dir);
    rc = -ENOENT;
  } else {
    drop_mmio_duplicates(m);
    rc = check_readable(m, why, whylen);
  }
  free(class_dir);
  if (rc) {
    rapl_meter_close(m);
    return rc;
  }
  for (size_t i = 0; i < m->n; i++)
    m->present[m->zones[i].component] = true;
  *out = m;
  return 0;
}

/* The zone's energy in µJ since the meter's previous read; false when there
 * is none to trust: no baseline, a read error, a reset or an implausible
 * step. The counter is the 32-bit RAPL MSR count times the energy unit, and
 * max_energy_range_uj is its largest value (ENERGY_STATUS_MASK in µJ,
 * get_max_energy_counter() in drivers/powercap/intel_rapl_common.c); the
 * count then goes on from 0. Across one wrap the energy is therefore
 * (max_energy_range_uj - last) + now, plus the one energy unit of the step
 * from the mask to 0, which sysfs does not state and which (at most 61 µJ)
 * is below a millionth of an interval's energy: left out. */
static bool zone_delta(struct zone *z, double dt_s, uint64_t *delta_uj) {
  uint64_t now;
  int err = meter_read_u64(z->energy_path, &now);
  meter_track(&z->failing, z->energy_path, err);
  if (err) {
    z->has_last = false;
    return false;
  }
  bool had_last = z->has_last;
  uint64_t last = z->last_uj;
  z->last_uj = now;
  z->has_last = true;
  if (!had_last)
    return false;
  uint64_t d;
  if (now >= last)
    d = now - last;
  else if (z->range_uj >= last)
    d = z->range_uj - last + now;
  else
    return false; /* back below a counter with no stated range: a reset */
  if ((double)d * 1e-6 > z->ceiling_w * dt_s)
    return false;
  *delta_uj = d;
  return true;
}

int rapl_meter_read(struct rapl_meter *m, uint64_t mono_ns,
                    struct meter_reading *out) {
  memset(out, 0, sizeof(*out));
  memcpy(out->present, m->present, sizeof(out->present));
  if (m->started && mono_ns <= m->last_ns)
    return -EINVAL;
  double dt_s = m->started ? (double)(mono_ns - m->last_ns) * 1e-9 : 0;
  uint64_t sum_uj[COMPONENT_MAX] = {0};
  bool ok[COMPONENT_MAX];
  for (int c = 0; c < COMPONENT_MAX; c++)
    ok[c] = m->started;
  /* Every zone is read even when its component is already lost, to keep
   * its baseline for the next interval. */
  for (size_t i = 0; i < m->n; i++) {
    struct zone *z = &m->zones[i];
    uint64_t d;
    if (zone_delta(z, dt_s, &d))
      sum_uj[z->component] += d;
    else
      ok[z->component] = false; /* half a sum would be wrong */
  }
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!m->present[c])
      continue;
    if (ok[c]) {
      out->valid[c] = true;
      out->energy_j[c] = (double)sum_uj[c] * 1e-6;
      out->power_w[c] = out->energy_j[c] / dt_s;
    } else if (m->started) {
      m->dropped++;
    }
  }
  m->started = true;
  m->last_ns = mono_ns;
  return 0;
}

uint64_t rapl_meter_dropped(const struct rapl_meter *m) {
  return m->dropped;
}

void rapl_meter_close(struct rapl_meter *m) {
  if (!m)
    return;
  for (size_t i = 0; i < m->n; i++)
    free_zone(&m->zones[i]);
  free(m->zones);
  free(m);
}
