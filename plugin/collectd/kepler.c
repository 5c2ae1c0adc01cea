// SPDX-License-Identifier: GPL-2.0-only
/* collectd glue of collectd-kepler: config -> init -> read -> shutdown.
 * Everything else lives in the core (core/pipeline.h), which includes no
 * collectd header; this file only maps options in and values out. */
#include "core/daemon/collectd.h"
#include "core/daemon/plugin.h"
#include "core/daemon/utils_cache.h"
#include "core/utils/common/common.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <time.h>

#include "array_grow.h"
#include "log.h"
#include "metric_name.h"
#include "mono_clock.h"
#include "options.h"
#include "pipeline.h"

#define PLUGIN_NAME "kepler"

static struct {
  struct kepler_options opt;
  char *model_file;
  char *sysfs_root;
  char *proc_root;
  char *runtime_root;
  char *platform_meter; /* a collectd identifier, host/plugin-inst/type-inst */
  char *model_source;
  char *estimator_socket;
  bool estimator; /* Estimator true, or an EstimatorSocket given */
  char *model_server_url;
  char *model_server_ca;
  char *model_cache_file;
  char *trained_model_file;
  bool report_processes;
  bool report_containers;
  bool container_names; /* container instances by name, not id */
  struct kepler_core *core;
} kepler = {
    .opt =
        {
            .split_idle = true,
            .report =
                {
                    /* Per-pid series are asked for (TopProcesses N):
                     * rrdtool keeps a file per series forever, and a host
                     * starts new pids all the time. The command level is
                     * the stable view. */
                    [LEVEL_PROCESS] = {REPORT_NONE, 0, 0},
                    [LEVEL_CONTAINER] = {REPORT_ALL, 0, 0},
                    [LEVEL_POD] = {REPORT_ALL, 0, 0},
                    [LEVEL_SERVICE] = {REPORT_ALL, 0, 0},
                    [LEVEL_VM] = {REPORT_ALL, 0, 0},
                    /* rrdtool's files: one per series, never deleted */
                    [LEVEL_COMMAND] = {REPORT_TOP, 5, 0},
                },
            .hw_counters = true,
            .proc_root = "/proc",
            .runtime_root = "/",
            .usage_metric = {-1, -1, -1, -1, -1},
            .power =
                {
                    .meter = METER_AUTO,
                    .model_source = "rapl-sysfs",
                    .estimator_timeout_ms = 200,
                    .model_server_verify = true,
                    .model_server_timeout_ms = 10000,
                    .model_refresh_s = 3600,
                    .model_cache_file =
                        "/var/lib/collectd/kepler-model-cache.json",
                    .trained_model_every = 60,
                },
        },
    .report_processes = true,
    .report_containers = true,
};

/* Types the plugin registers itself, so users add no TypesDB line. */
static data_source_t joules_ds = {"value", DS_TYPE_DERIVE, 0, NAN};
static data_set_t joules_type = {"joules", 1, &joules_ds};
static data_source_t usage_ds = {"value", DS_TYPE_GAUGE, 0, NAN};
static data_set_t usage_type = {"usage", 1, &usage_ds};

static void log_to_collectd(int level, const char *message) {
  plugin_log(level, "%s", message);
}

static int config_idle_power(oconfig_item_t *ci) {
  char *mode = NULL;
  if (cf_util_get_string(ci, &mode))
    return -1;
  int rc = 0;
  if (strcasecmp(mode, "split") == 0)
    kepler.opt.split_idle = true;
  else if (strcasecmp(mode, "node") == 0)
    kepler.opt.split_idle = false;
  else {
    ERROR(PLUGIN_NAME ": IdlePower must be \"split\" or \"node\", not \"%s\"",
          mode);
    rc = -1;
  }
  sfree(mode);
  return rc;
}

/* PageCache, SoftIRQ: true or false; absent, the hook runs where a model
 * or UsageMetric uses its features. */
static int config_hook(oconfig_item_t *ci, enum hook_choice *choice) {
  bool on = false;
  if (cf_util_get_boolean(ci, &on))
    return -1;
  *choice = on ? HOOK_ON : HOOK_OFF;
  return 0;
}

/* An integer option: one number, a whole number from lo to hi. */
static int config_integer(oconfig_item_t *ci, long long lo, long long hi,
                          long long *out) {
  char why[256];
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER) {
    ERROR(PLUGIN_NAME ": %s takes one number", ci->key);
    return -1;
  }
  if (option_integer(ci->key, ci->values[0].value.number, lo, hi, out, why,
                     sizeof(why))) {
    ERROR(PLUGIN_NAME ": %s", why);
    return -1;
  }
  return 0;
}

static int config_top_processes(oconfig_item_t *ci) {
  long long n = 0;
  if (config_integer(ci, 0, UINT_MAX, &n))
    return -1;
  kepler.opt.report[LEVEL_PROCESS] =
      (struct report_policy){n ? REPORT_TOP : REPORT_ALL, (unsigned)n, 0};
  return 0;
}

/* Report "pod" "top" 10 | "above" 0.5 | "all" | "none" */
static int config_report(oconfig_item_t *ci) {
  const char *usage = "Report takes a level (process, container, pod, "
                      "service, vm, command) and \"all\", \"none\", \"top\" "
                      "N or \"above\" W";
  int nv = ci->values_num;
  if (nv < 2 || nv > 3 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      ci->values[1].type != OCONFIG_TYPE_STRING) {
    ERROR(PLUGIN_NAME ": %s", usage);
    return -1;
  }
  int level = option_level(ci->values[0].value.string);
  if (level < 0) {
    ERROR(PLUGIN_NAME ": Report: \"%s\" is not a level; %s",
          ci->values[0].value.string, usage);
    return -1;
  }
  const char *mode = ci->values[1].value.string;
  bool has_value = nv == 3;
  double v = has_value && ci->values[2].type == OCONFIG_TYPE_NUMBER
                 ? ci->values[2].value.number
                 : NAN;
  struct report_policy p;
  char why[256];
  if (option_report_policy(mode, has_value, v, &p, why, sizeof(why))) {
    ERROR(PLUGIN_NAME ": Report \"%s\" \"%s\": %s; %s", level_name(level), mode,
          why, usage);
    return -1;
  }
  kepler.opt.report[level] = p;
  return 0;
}

static int config_power_meter(oconfig_item_t *ci) {
  static const char *const names[] = {
      [METER_AUTO] = "auto",
      [METER_RAPL] = "rapl",
      [METER_ACPI] = "acpi",
      [METER_NONE] = "none",
  };
  char *name = NULL;
  if (cf_util_get_string(ci, &name))
    return -1;
  int rc = -1;
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(names); i++)
    if (strcasecmp(name, names[i]) == 0) {
      kepler.opt.power.meter = (enum meter_choice)i;
      rc = 0;
    }
  if (rc)
    ERROR(PLUGIN_NAME ": PowerMeter must be \"auto\", \"rapl\", \"acpi\" or "
                      "\"none\", not \"%s\"",
          name);
  sfree(name);
  return rc;
}

/* UsageMetric "dram" "cache_miss" */
static int config_usage_metric(oconfig_item_t *ci) {
  if (ci->values_num != 2 || ci->values[0].type != OCONFIG_TYPE_STRING ||
      ci->values[1].type != OCONFIG_TYPE_STRING) {
    ERROR(PLUGIN_NAME ": UsageMetric takes two strings: a component and a "
                      "feature, e.g. UsageMetric \"dram\" \"cache_miss\"");
    return -1;
  }
  const char *comp = ci->values[0].value.string;
  const char *feat = ci->values[1].value.string;
  int c = option_component(comp), f = option_feature(feat);
  if (c < 0) {
    ERROR(PLUGIN_NAME ": UsageMetric: \"%s\" is not one of " COMPONENT_NAMES,
          comp);
    return -1;
  }
  if (f < 0) {
    ERROR(PLUGIN_NAME ": UsageMetric %s: \"%s\" is not a feature (e.g. "
                      "bpf_cpu_time_ms, cpu_instructions, cache_miss)",
          comp, feat);
    return -1;
  }
  kepler.opt.usage_metric[c] = f;
  return 0;
}

static int config_container_instance(oconfig_item_t *ci) {
  char *v = NULL;
  if (cf_util_get_string(ci, &v))
    return -1;
  int rc = 0;
  if (strcasecmp(v, "id") == 0 || strcasecmp(v, "name") == 0)
    kepler.container_names = strcasecmp(v, "name") == 0;
  else {
    ERROR(PLUGIN_NAME ": ContainerInstance must be \"id\" or \"name\", not "
                      "\"%s\"",
          v);
    rc = -1;
  }
  sfree(v);
  return rc;
}

/* A number of seconds in [lo, hi], as milliseconds. */
static int config_seconds_ms(oconfig_item_t *ci, double lo, double hi,
                             long *ms) {
  double v = NAN;
  if (cf_util_get_double(ci, &v))
    return -1;
  if (!(v >= lo && v <= hi)) {
    ERROR(PLUGIN_NAME ": %s takes seconds from %g to %g, not %g", ci->key, lo,
          hi, v);
    return -1;
  }
  *ms = lround(v * 1000);
  return 0;
}

static int config_estimator_timeout(oconfig_item_t *ci) {
  long ms = 0;
  if (config_seconds_ms(ci, 0.001, 10, &ms))
    return -1;
  kepler.opt.power.estimator_timeout_ms = (int)ms;
  return 0;
}

static int config_model_refresh(oconfig_item_t *ci) {
  long ms = 0;
  if (config_seconds_ms(ci, 1, 86400 * 7, &ms))
    return -1;
  kepler.opt.power.model_refresh_s = (unsigned)(ms / 1000);
  return 0;
}

/* Kepler's energy source names are lower-case words: rapl-sysfs, acpi. */
static int config_model_source(oconfig_item_t *ci) {
  if (cf_util_get_string(ci, &kepler.model_source))
    return -1;
  const char *v = kepler.model_source;
  if (!*v || strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(v)) {
    ERROR(PLUGIN_NAME ": ModelSource must be an energy source name such as "
                      "\"rapl-sysfs\" or \"acpi\", not \"%s\"",
          v);
    return -1;
  }
  return 0;
}

static int config_model_server(oconfig_item_t *ci) {
  if (cf_util_get_string(ci, &kepler.model_server_url))
    return -1;
  const char *v = kepler.model_server_url;
  if (strncasecmp(v, "http://", 7) != 0 && strncasecmp(v, "https://", 8) != 0) {
    ERROR(PLUGIN_NAME ": ModelServer must be an http:// or https:// URL, not "
                      "\"%s\"",
          v);
    return -1;
  }
  return 0;
}

/* ModelFile must find a trained file again (option_trained_model_name). */
static int config_trained_model_file(oconfig_item_t *ci) {
  if (cf_util_get_string(ci, &kepler.trained_model_file))
    return -1;
  char name[TRAINED_MODEL_NAME_LEN], why[256];
  if (option_trained_model_name(kepler.trained_model_file, name, sizeof(name),
                                why, sizeof(why))) {
    ERROR(PLUGIN_NAME ": TrainedModelFile \"%s\": %s",
          kepler.trained_model_file, why);
    return -1;
  }
  return 0;
}

/* A unix socket path fits in sun_path (108 bytes with its NUL). */
static int config_estimator_socket(oconfig_item_t *ci) {
  if (cf_util_get_string(ci, &kepler.estimator_socket))
    return -1;
  size_t n = strlen(kepler.estimator_socket);
  kepler.estimator = true;
  if (n == 0 || n > 107) {
    ERROR(PLUGIN_NAME ": EstimatorSocket must be a unix socket path of 1 to "
                      "107 bytes, not %zu",
          n);
    return -1;
  }
  return 0;
}

static int config_model_server_ca(oconfig_item_t *ci) {
  if (cf_util_get_string(ci, &kepler.model_server_ca))
    return -1;
  if (access(kepler.model_server_ca, R_OK) != 0) {
    ERROR(PLUGIN_NAME ": ModelServerCA \"%s\": %s", kepler.model_server_ca,
          STRERRNO);
    return -1;
  }
  return 0;
}

static int config_trained_model_interval(oconfig_item_t *ci) {
  long long n = 0;
  if (config_integer(ci, 1, UINT_MAX, &n))
    return -1;
  kepler.opt.power.trained_model_every = (unsigned)n;
  return 0;
}

/* MaxProcesses: the kernel's own task list replaced the table it sized. */
static int config_max_processes(oconfig_item_t *ci) {
  (void)ci;
  WARNING(PLUGIN_NAME ": MaxProcesses is deprecated and ignored: "
                      "processes are read from the kernel's task list, "
                      "which has no size to set");
  return 0;
}

static int config_model_server_timeout(oconfig_item_t *ci) {
  return config_seconds_ms(ci, 0.1, 600,
                           &kepler.opt.power.model_server_timeout_ms);
}

/* Every option of <Plugin kepler>: its key (matched in any case, as collectd
 * does) and where it goes, a string, a boolean, a hook choice, or a
 * function that checks it. */
static const struct config_option {
  const char *key;
  char **string;
  bool root; /* the string is a directory: a WARNING when it is not */
  bool *boolean;
  enum hook_choice *hook;
  int (*parse)(oconfig_item_t *ci);
} config_options[] = {
    {"ModelFile", .string = &kepler.model_file},
    {"IdlePower", .parse = config_idle_power},
    {"MaxProcesses", .parse = config_max_processes},
    {"HardwareCounters", .boolean = &kepler.opt.hw_counters},
    {"PageCache", .hook = &kepler.opt.page_cache},
    {"SoftIRQ", .hook = &kepler.opt.softirq},
    {"TopProcesses", .parse = config_top_processes},
    {"ReportProcesses", .boolean = &kepler.report_processes},
    {"Report", .parse = config_report},
    {"PowerMeter", .parse = config_power_meter},
    {"PlatformMeter", .string = &kepler.platform_meter},
    {"SysfsRoot", .string = &kepler.sysfs_root, .root = true},
    {"ProcRoot", .string = &kepler.proc_root, .root = true},
    {"ContainerInstance", .parse = config_container_instance},
    {"RuntimeRoot", .string = &kepler.runtime_root, .root = true},
    {"UsageMetric", .parse = config_usage_metric},
    {"ReportContainers", .boolean = &kepler.report_containers},
    {"ModelSource", .parse = config_model_source},
    {"Estimator", .boolean = &kepler.estimator},
    {"EstimatorSocket", .parse = config_estimator_socket},
    {"EstimatorTimeout", .parse = config_estimator_timeout},
    {"ModelServer", .parse = config_model_server},
    {"ModelServerCA", .parse = config_model_server_ca},
    {"ModelServerVerify", .boolean = &kepler.opt.power.model_server_verify},
    {"ModelServerTimeout", .parse = config_model_server_timeout},
    {"ModelRefresh", .parse = config_model_refresh},
    {"ModelCache", .string = &kepler.model_cache_file},
    {"TrainedModelFile", .parse = config_trained_model_file},
    {"TrainedModelInterval", .parse = config_trained_model_interval},
};

static int config_one(oconfig_item_t *child) {
  for (size_t i = 0; i < STATIC_ARRAY_SIZE(config_options); i++) {
    const struct config_option *o = &config_options[i];
    if (strcasecmp(child->key, o->key) != 0)
      continue;
    if (o->string) {
      char why[256];
      int rc = cf_util_get_string(child, o->string);
      if (rc == 0 && o->root &&
          option_root(o->key, *o->string, why, sizeof(why)))
        WARNING(PLUGIN_NAME ": %s", why);
      return rc;
    }
    if (o->boolean)
      return cf_util_get_boolean(child, o->boolean);
    if (o->hook)
      return config_hook(child, o->hook);
    return o->parse(child);
  }
  ERROR(PLUGIN_NAME ": unknown option \"%s\" in <Plugin kepler>", child->key);
  return -1;
}

static int kepler_config(oconfig_item_t *ci) {
  for (int i = 0; i < ci->children_num; i++)
    if (config_one(ci->children + i))
      return -1;
  return 0;
}

static int kepler_init(void) {
  kepler_log_set(log_to_collectd);
  if (plugin_register_data_set(&joules_type) ||
      plugin_register_data_set(&usage_type)) {
    ERROR(PLUGIN_NAME ": cannot register the joules and usage types");
    return -1;
  }
  kepler.opt.power.model_file = kepler.model_file;
  kepler.opt.interval_s = CDTIME_T_TO_DOUBLE(plugin_get_interval());
  /* Testing only: the hardware counters' path runs on software events. */
  const char *soft = getenv("KEPLER_TEST_SOFTWARE_COUNTERS");
  kepler.opt.software_counters = soft && *soft && strcmp(soft, "0") != 0;
  if (kepler.opt.software_counters)
    WARNING(PLUGIN_NAME ": KEPLER_TEST_SOFTWARE_COUNTERS is set: "
                        "context-switch software events stand in for the "
                        "hardware counters "
                        "(for tests; the counter features are not "
                        "meaningful)");
  /* The older switches: off means the level is not reported at all. */
  if (!kepler.report_processes)
    kepler.opt.report[LEVEL_PROCESS].mode = REPORT_NONE;
  if (!kepler.report_containers)
    kepler.opt.report[LEVEL_CONTAINER].mode = REPORT_NONE;
  kepler.opt.power.sysfs_root = kepler.sysfs_root ? kepler.sysfs_root : "/sys";
  if (kepler.proc_root)
    kepler.opt.proc_root = kepler.proc_root;
  if (kepler.runtime_root)
    kepler.opt.runtime_root = kepler.runtime_root;
  kepler.opt.power.external_platform = kepler.platform_meter != NULL;
  if (kepler.model_source)
    kepler.opt.power.model_source = kepler.model_source;
  /* Kepler's sidecar listens on /tmp/estimator.sock unless told. */
  if (kepler.estimator)
    kepler.opt.power.estimator_socket = kepler.estimator_socket
                                            ? kepler.estimator_socket
                                            : "/tmp/estimator.sock";
  kepler.opt.power.model_server_url = kepler.model_server_url;
  kepler.opt.power.model_server_ca = kepler.model_server_ca;
  /* ModelCache "": no cache. */
  if (kepler.model_cache_file)
    kepler.opt.power.model_cache_file =
        *kepler.model_cache_file ? kepler.model_cache_file : NULL;
  kepler.opt.power.trained_model_file = kepler.trained_model_file;
  if (kepler.model_server_url && !kepler.opt.power.model_server_verify &&
      strncasecmp(kepler.model_server_url, "https://", 8) == 0)
    WARNING(PLUGIN_NAME ": ModelServerVerify false: the certificate of %s is "
                        "not checked; anyone on the path can serve the model",
            kepler.model_server_url);
  char err[512];
  if (kepler_core_open(&kepler.opt, &kepler.core, err, sizeof(err))) {
    ERROR(PLUGIN_NAME ": %s; the plugin is disabled", err);
    return -1;
  }
  return 0;
}

/* One value list per value: collectd's own plugins do the same. */
static void submit(const char *plugin, const char *instance, const char *type,
                   const char *type_instance, value_t value, cdtime_t time,
                   meta_data_t *meta) {
  value_list_t vl = VALUE_LIST_INIT;
  vl.values = &value;
  vl.values_len = 1;
  vl.time = time;
  vl.meta = meta;
  sstrncpy(vl.plugin, plugin, sizeof(vl.plugin));
  sstrncpy(vl.plugin_instance, instance, sizeof(vl.plugin_instance));
  sstrncpy(vl.type, type, sizeof(vl.type));
  sstrncpy(vl.type_instance, type_instance, sizeof(vl.type_instance));
  plugin_dispatch_values(&vl);
}

static value_t gauge(double v) {
  return (value_t){.gauge = v};
}
/* Cumulative joules as an integer counter; it never goes backwards. */
static value_t joules(double v) {
  return (value_t){.derive = (derive_t)v};
}

/* power-total, power-dynamic, power-idle and joules-total of one part. */
static void submit_part(const char *plugin, const char *instance,
                        double dynamic_w, double idle_w, double energy_j,
                        cdtime_t t, meta_data_t *meta) {
  submit(plugin, instance, "power", "total", gauge(dynamic_w + idle_w), t,
         meta);
  submit(plugin, instance, "power", "dynamic", gauge(dynamic_w), t, meta);
  if (kepler.opt.split_idle)
    submit(plugin, instance, "power", "idle", gauge(idle_w), t, meta);
  submit(plugin, instance, "joules", "total", joules(energy_j), t, meta);
}

static void submit_node(const struct kepler_report *r, cdtime_t t) {
  const char *p = "kepler_node";
  const struct node_power *n = &r->node;
  submit(p, "", "power", "total", gauge(n->total), t, NULL);
  submit(p, "", "power", "dynamic", gauge(n->total_dynamic), t, NULL);
  submit(p, "", "power", "idle", gauge(n->total_idle), t, NULL);
  for (int c = 0; c < COMPONENT_MAX; c++) {
    if (!n->present[c])
      continue;
    char ti[DATA_MAX_NAME_LEN];
    const char *name = component_name(c);
    submit(p, "", "power", name, gauge(n->absolute[c]), t, NULL);
    snprintf(ti, sizeof(ti), "%s_dynamic", name);
    submit(p, "", "power", ti, gauge(n->dynamic[c]), t, NULL);
    snprintf(ti, sizeof(ti), "%s_idle", name);
    submit(p, "", "power", ti, gauge(n->idle[c]), t, NULL);
  }
  submit(p, "", "joules", "total", joules(r->energy_j), t, NULL);
  submit(p, "", "joules", "dynamic", joules(r->energy_dynamic_j), t, NULL);
  submit(p, "", "joules", "idle", joules(r->energy_idle_j), t, NULL);
  submit(p, "", "percent", "cpu_utilization", gauge(r->cpu_utilization_pct), t,
         NULL);
  for (int f = 0; f < FEATURE_MAX; f++)
    if (r->available[f])
      submit(p, "", "usage", feature_name(f), gauge(r->rate[f]), t, NULL);
  submit(p, "", "derive", "exits_dropped",
         (value_t){.derive = (derive_t)r->exits_dropped}, t, NULL);
  if (r->available[FEATURE_CPU_CYCLES])
    submit(p, "", "derive", "hw_read_errors",
           (value_t){.derive = (derive_t)r->hw_read_errors}, t, NULL);
  submit(p, "", "gauge", "processes", gauge((double)r->tracked), t, NULL);
  /* Where node power came from, as an info-style series: 1 under the
   * source's name ("power_source_rapl", "power_source_model", ...). */
  char ti[DATA_MAX_NAME_LEN];
  snprintf(ti, sizeof(ti), "power_source_%s", r->power_source);
  for (char *c = ti; *c; c++)
    if (*c == '+')
      *c = '_';
  submit(p, "", "gauge", ti, gauge(1), t, NULL);
  if (kepler.opt.power.meter != METER_NONE || kepler.platform_meter)
    submit(p, "", "derive", "meter_dropped",
           (value_t){.derive = (derive_t)r->meter_dropped}, t, NULL);
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (r->fit_present[c]) {
      snprintf(ti, sizeof(ti), "model_fit_mae_%s", component_name(c));
      submit(p, "", "power", ti, gauge(r->fit_mae_w[c]), t, NULL);
    }
}

/* kepler_container, kepler_pod, kepler_service, kepler_vm, kepler_process */
static void level_plugin(enum report_level l, char *out, size_t len) {
  snprintf(out, len, "kepler_%s", level_name(l));
}

static void submit_other(const struct kepler_report *r, enum report_level l,
                         cdtime_t t) {
  if (!r->other_present[l])
    return;
  char plugin[DATA_MAX_NAME_LEN];
  level_plugin(l, plugin, sizeof(plugin));
  const struct other_power *o = &r->other[l];
  meta_data_t *meta = meta_data_create();
  if (meta)
    meta_data_add_unsigned_int(
        meta, l == LEVEL_PROCESS ? "processes" : "workloads", o->nprocs);
  submit_part(plugin, "other", o->power_dynamic_w, o->power_idle_w, o->energy_j,
              t, meta);
  meta_data_destroy(meta);
}

/* ContainerInstance "name": the runtime's name ("<namespace>/<pod>/<name>"
 * in Kubernetes, unique on a host), where its files give one. */
static void container_display_name(const struct workload_power *w, char *out,
                                   size_t len) {
  const struct container_names *cn = &w->names;
  if (cn->pod_namespace[0] && cn->pod_name[0])
    snprintf(out, len, "%s/%s/%s", cn->pod_namespace, cn->pod_name, cn->name);
  else
    snprintf(out, len, "%s", cn->name);
}

/* Whether s could be a container's id (64 hex digits): a container whose
 * name is one keeps its id, so that it cannot take the series of a
 * container reported by that id. */
static bool looks_like_container_id(const char *s) {
  size_t n = strspn(s, "0123456789abcdef");
  return n == 64 && s[n] == '\0';
}

/* The series instance of a workload by its runtime name (ContainerInstance
 * "name"): false when it has none, or one that could be a container's id
 * (64 hex digits: it keeps its id). */
static bool container_name_instance(const struct workload_power *w, char *out,
                                    size_t len) {
  if (w->level != LEVEL_CONTAINER || !kepler.container_names ||
      !w->names.name[0])
    return false;
  char display[CONTAINER_NAME_LEN + POD_NAME_LEN + POD_NAMESPACE_LEN + 2];
  container_display_name(w, display, sizeof(display));
  if (looks_like_container_id(display))
    return false;
  metric_workload_instance(out, len, w->level, display);
  return true;
}

/* One workload's series instance, for series_instances. */
struct series_instance {
  enum report_level level;
  bool by_name; /* a container's runtime name, not its id */
  char instance[DATA_MAX_NAME_LEN];
};
static struct series_instance *instances;
static size_t instances_cap;

static int series_instance_cmp(const void *a, const void *b) {
  const struct series_instance *x = *(const struct series_instance *const *)a;
  const struct series_instance *y = *(const struct series_instance *const *)b;
  if (x->level != y->level)
    return x->level < y->level ? -1 : 1;
  return strcmp(x->instance, y->instance);
}

/* The series instance of each of r's workloads, in instances[]. Ids and
 * names each give distinct instances (metric_workload_instance), but a
 * container's runtime name may spell another's id (an LXC container is
 * named by its id): every container in such a pair that was named by its
 * runtime name falls back to its id, until no two meet. -ENOMEM when there
 * is no room. */
static int series_instances(const struct kepler_report *r) {
  size_t n = r->nworkloads;
  if (array_grow((void **)&instances, &instances_cap, n, sizeof(*instances)))
    return -ENOMEM;
  bool any_by_name = false;
  for (size_t i = 0; i < n; i++) {
    const struct workload_power *w = r->workloads[i];
    struct series_instance *si = &instances[i];
    si->level = w->level;
    si->by_name =
        container_name_instance(w, si->instance, sizeof(si->instance));
    if (w->bucket != BUCKET_NONE) /* "system", "kernel": no workload's */
      sstrncpy(si->instance, w->name, sizeof(si->instance));
    else if (!si->by_name)
      metric_workload_instance(si->instance, sizeof(si->instance), w->level,
                               w->name);
    any_by_name |= si->by_name;
  }
  if (!any_by_name)
    return 0;
  struct series_instance **order = malloc(n * sizeof(*order));
  if (!order)
    return -ENOMEM;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < n; i++)
      order[i] = &instances[i];
    qsort(order, n, sizeof(*order), series_instance_cmp);
    for (size_t i = 1; i < n; i++) {
      if (series_instance_cmp(&order[i - 1], &order[i]) != 0)
        continue;
      for (size_t k = i - 1; k <= i; k++) {
        struct series_instance *si = order[k];
        if (!si->by_name)
          continue;
        si->by_name = false;
        metric_workload_instance(si->instance, sizeof(si->instance), si->level,
                                 r->workloads[si - instances]->name);
        changed = true;
      }
    }
  }
  free(order);
  return 0;
}

static void submit_workloads(const struct kepler_report *r, cdtime_t t) {
  if (series_instances(r) < 0) {
    ERROR("kepler plugin: out of memory naming %zu workloads; their series "
          "are not dispatched this interval",
          r->nworkloads);
    return;
  }
  for (size_t i = 0; i < r->nworkloads; i++) {
    const struct workload_power *w = r->workloads[i];
    const struct workload_id *id = &w->workload;
    char plugin[DATA_MAX_NAME_LEN];
    const char *instance = instances[i].instance;
    level_plugin(w->level, plugin, sizeof(plugin));
    meta_data_t *meta = meta_data_create();
    if (meta) {
      meta_data_add_string(meta, "name", w->name);
      meta_data_add_unsigned_int(meta, "processes", w->nprocs);
      if (w->level == LEVEL_CONTAINER) {
        meta_data_add_string(meta, "cgroup_path", id->cgroup_path);
        meta_data_add_string(meta, "runtime", runtime_name(id->runtime));
        if (id->pod_uid[0])
          meta_data_add_string(meta, "pod_uid", id->pod_uid);
        const struct container_names *cn = &w->names;
        if (cn->name[0])
          meta_data_add_string(meta, "container_name", cn->name);
        if (cn->pod_name[0])
          meta_data_add_string(meta, "pod_name", cn->pod_name);
        if (cn->pod_namespace[0])
          meta_data_add_string(meta, "pod_namespace", cn->pod_namespace);
      }
      if (w->level == LEVEL_POD && id->pod_uid[0])
        meta_data_add_string(meta, "qos", qos_name(id->qos));
    }
    submit_part(plugin, instance, w->power_dynamic_w, w->power_idle_w,
                w->energy_j, t, meta);
    if (w->level == LEVEL_COMMAND)
      for (int f = 0; f < FEATURE_MAX; f++)
        if (r->available[f])
          submit(plugin, instance, "usage", feature_name(f), gauge(w->rate[f]),
                 t, meta);
    meta_data_destroy(meta);
  }
  for (int l = LEVEL_CONTAINER; l < LEVEL_MAX; l++)
    submit_other(r, l, t);
}

static void submit_processes(const struct kepler_report *r, cdtime_t t) {
  for (size_t i = 0; i < r->nprocs; i++) {
    const struct process_report *e = &r->procs[i];
    char instance[DATA_MAX_NAME_LEN];
    metric_process_instance(instance, sizeof(instance), e->comm, e->pid);
    meta_data_t *meta = meta_data_create();
    if (meta) {
      meta_data_add_unsigned_int(meta, "pid", e->pid);
      meta_data_add_string(meta, "command", e->comm);
      meta_data_add_string(meta, "container_id", e->container_id);
      meta_data_add_string(meta, "cgroup_path", e->cgroup_path);
    }
    submit_part("kepler_process", instance, e->power_dynamic_w, e->power_idle_w,
                e->energy_j, t, meta);
    for (int f = 0; f < FEATURE_MAX; f++)
      if (r->available[f])
        submit("kepler_process", instance, "usage", feature_name(f),
               gauge(e->rate[f]), t, meta);
    meta_data_destroy(meta);
  }
  submit_other(r, LEVEL_PROCESS, t);
}

/* The PlatformMeter value from collectd's cache, in W: a gauge as it is, a
 * counter of joules as its rate. NaN while the cache has none (collectd
 * drops a value Timeout intervals after its last update). */
static double platform_meter_w(void) {
  gauge_t *rates = NULL;
  size_t n = 0;
  if (uc_get_rate_by_name(kepler.platform_meter, &rates, &n) != 0)
    return NAN;
  double w = n == 1 ? rates[0] : NAN;
  sfree(rates);
  return w;
}

/* What this read cost collectd's read thread, wall and CPU time, measured
 * up to these two values: dispatch counts, and the interval's budget is
 * the wall time. Threads of the core (runtime names) are not counted. */
static void submit_read_cost(uint64_t wall0_ns, uint64_t cpu0_ns, cdtime_t t) {
  double wall_s = (double)(mono_clock_ns() - wall0_ns) / 1e9;
  double cpu_s = (double)(clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0_ns) / 1e9;
  submit("kepler_node", "", "duration", "read", gauge(wall_s), t, NULL);
  submit("kepler_node", "", "duration", "read_cpu", gauge(cpu_s), t, NULL);
}

static int kepler_read(void) {
  uint64_t wall0_ns = mono_clock_ns();
  uint64_t cpu0_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  struct kepler_report r;
  if (kepler.platform_meter)
    kepler_core_set_platform_w(kepler.core, platform_meter_w());
  int rc = kepler_core_sample(kepler.core, &r);
  if (rc)
    return rc < 0 ? -1 : 0;
  cdtime_t t = cdtime(); /* one timestamp: levels join exactly */
  submit_node(&r, t);
  submit_workloads(&r, t);
  if (kepler.opt.report[LEVEL_PROCESS].mode != REPORT_NONE)
    submit_processes(&r, t);
  submit_read_cost(wall0_ns, cpu0_ns, t);
  return 0;
}

static int kepler_shutdown(void) {
  kepler_core_close(kepler.core);
  kepler.core = NULL;
  sfree(instances);
  instances_cap = 0;
  sfree(kepler.model_file);
  sfree(kepler.sysfs_root);
  sfree(kepler.proc_root);
  sfree(kepler.runtime_root);
  sfree(kepler.platform_meter);
  sfree(kepler.model_source);
  sfree(kepler.estimator_socket);
  sfree(kepler.model_server_url);
  sfree(kepler.model_server_ca);
  sfree(kepler.model_cache_file);
  sfree(kepler.trained_model_file);
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, kepler_config);
  plugin_register_init(PLUGIN_NAME, kepler_init);
  plugin_register_read(PLUGIN_NAME, kepler_read);
  plugin_register_shutdown(PLUGIN_NAME, kepler_shutdown);
}
