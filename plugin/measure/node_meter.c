// SPDX-License-Identifier: GPL-2.0-only
#include "node_meter.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi_meter.h"
#include "idle_fit.h"
#include "log.h"
#include "rapl_meter.h"

/* A dropped interval repeats the component's last good value this many
 * times; a meter silent for longer hands the node to the model. */
#define HOLD_INTERVALS 3

struct node_meter {
  struct rapl_meter *rapl;
  struct acpi_meter *acpi;
  bool external;
  char name[32];
  bool present[COMPONENT_MAX];
  double last_w[COMPONENT_MAX];
  unsigned age[COMPONENT_MAX]; /* intervals since the last good value, or
                                  since the start */
  bool ever[COMPONENT_MAX];    /* a good value was seen */
  struct idle_fit *idle[COMPONENT_MAX];
  bool failing; /* in an outage: warned, the notice comes on recovery */
};

static void set_name(struct node_meter *m) {
  const char *parts[3];
  size_t n = 0;
  if (m->rapl)
    parts[n++] = "rapl";
  if (m->acpi)
    parts[n++] = "acpi";
  if (m->external)
    parts[n++] = "collectd";
  m->name[0] = '\0';
  for (size_t i = 0; i < n; i++)
    snprintf(m->name + strlen(m->name), sizeof(m->name) - strlen(m->name),
             "%s%s", i ? "+" : "", parts[i]);
}

/* rc from a meter's open: 0 found, -ENOENT absent, else unreadable. */
static int opened(int rc, bool asked, const char *what, const char *why,
                  char *err, size_t errlen) {
  if (rc == 0)
    return 0;
  if (asked) {
    snprintf(err, errlen, "PowerMeter \"%s\": %s", what,
             rc == -ENOENT ? "this host has none" : why);
    return -1;
  }
  if (rc != -ENOENT)
    kepler_log(KLOG_WARNING, "kepler: %s meter unreadable: %s; not using it",
               what, why);
  return 0;
}

void node_meter_close(struct node_meter *m) {
  if (!m)
    return;
  rapl_meter_close(m->rapl);
  acpi_meter_close(m->acpi);
  for (int c = 0; c < COMPONENT_MAX; c++)
    idle_fit_free(m->idle[c]);
  free(m);
}

int node_meter_open(const struct node_meter_options *o, uint64_t mono_ns,
                    struct node_meter **out, char *err, size_t errlen) {
  *out = NULL;
  struct node_meter *m = calloc(1, sizeof(*m));
  if (!m) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  char why[512] = "";
  if (o->choice == METER_AUTO || o->choice == METER_RAPL) {
    int rc = rapl_meter_open(o->sysfs_root, &m->rapl, why, sizeof(why));
    if (opened(rc, o->choice == METER_RAPL, "rapl", why, err, errlen))
      goto fail;
  }
  if (!o->external_platform &&
      (o->choice == METER_AUTO || o->choice == METER_ACPI)) {
    int rc = acpi_meter_open(o->sysfs_root, &m->acpi, why, sizeof(why));
    if (opened(rc, o->choice == METER_ACPI, "acpi", why, err, errlen))
      goto fail;
  }
  m->external = o->external_platform;
  if (!m->rapl && !m->acpi && !m->external) {
    node_meter_close(m);
    return 0;
  }
  /* The first read of a meter is its baseline. */
  struct meter_reading r;
  if (m->rapl && rapl_meter_read(m->rapl, mono_ns, &r) == 0)
    for (int c = 0; c < COMPONENT_MAX; c++)
      m->present[c] |= r.present[c];
  if (m->acpi && acpi_meter_read(m->acpi, mono_ns, &r) == 0)
    for (int c = 0; c < COMPONENT_MAX; c++)
      m->present[c] |= r.present[c];
  if (m->external)
    m->present[COMPONENT_PLATFORM] = true;
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (m->present[c] && !(m->idle[c] = idle_fit_new())) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
  set_name(m);
  *out = m;
  return 0;
fail:
  node_meter_close(m);
  return -1;
}

const char *node_meter_name(const struct node_meter *m) {
  return m->name;
}

uint64_t node_meter_dropped(const struct node_meter *m) {
  return (m->rapl ? rapl_meter_dropped(m->rapl) : 0) +
         (m->acpi ? acpi_meter_dropped(m->acpi) : 0);
}

/* Take the good values of one reading; platform from a later source
 * (ACPI, collectd) replaces RAPL's psys, being the wall power. */
static void take(struct node_meter *m, const struct meter_reading *r,
                 bool fresh[COMPONENT_MAX]) {
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (r->present[c] && r->valid[c] && isfinite(r->power_w[c]) &&
        r->power_w[c] >= 0) {
      m->last_w[c] = r->power_w[c];
      fresh[c] = true;
    }
}

int node_meter_read(struct node_meter *m, uint64_t mono_ns, double external_w,
                    double utilization, struct node_power *out) {
  bool fresh[COMPONENT_MAX] = {false};
  struct meter_reading r;
  if (m->rapl && rapl_meter_read(m->rapl, mono_ns, &r) == 0)
    take(m, &r, fresh);
  if (m->acpi && acpi_meter_read(m->acpi, mono_ns, &r) == 0)
    take(m, &r, fresh);
  if (m->external && isfinite(external_w) && external_w >= 0) {
    m->last_w[COMPONENT_PLATFORM] = external_w;
    fresh[COMPONENT_PLATFORM] = true;
  }
  memset(out, 0, sizeof(*out));
  bool usable = true, silent = false;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!m->present[c])
      continue;
    if (fresh[c]) {
      m->age[c] = 0;
      m->ever[c] = true;
      idle_fit_add(m->idle[c], utilization, m->last_w[c]);
    } else {
      m->age[c]++;
    }
    /* Before its first value (a PlatformMeter not fed yet) the model fills
     * in quietly; a meter silent for longer than the hold is an outage. */
    usable &= m->ever[c] && m->age[c] <= HOLD_INTERVALS;
    silent |= m->age[c] > HOLD_INTERVALS;
    out->present[c] = true;
    out->absolute[c] = m->last_w[c];
    out->idle[c] = idle_fit_idle(m->idle[c]);
  }
  if (silent && !m->failing)
    kepler_log(KLOG_WARNING,
               "kepler: %s meter gave no good value for %d intervals; "
               "estimating node power with the model until it does",
               m->name, HOLD_INTERVALS + 1);
  else if (usable && m->failing)
    kepler_log(KLOG_NOTICE, "kepler: %s meter reads again", m->name);
  if (silent)
    m->failing = true;
  else if (usable)
    m->failing = false;
  if (!usable)
    return -1;
  node_power_finish(out);
  return 0;
}
