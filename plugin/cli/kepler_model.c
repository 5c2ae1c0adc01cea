// SPDX-License-Identifier: GPL-2.0-only
/* kepler-model: the plugin's power models from the command line. predict
 * runs a model on given feature rates with the plugin's node semantics,
 * check validates a model file, convert prints one as our YAML. It shares
 * the core's model and machine code, so it answers exactly as the plugin
 * would. */
#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "component_total.h"
#include "default_model.h"
#include "kepler_features.h"
#include "machine.h"
#include "model.h"
#include "model_load.h"
#include "model_yaml.h"
#include "outside_text.h"

#define PROG "kepler-model"
#define EMBEDDED_ORIGIN "embedded models/default.yaml"

static const char usage_head[] =
    "NAME\n"
    "    kepler-model - run, check and convert collectd-kepler power models\n"
    "\n"
    "SYNOPSIS\n"
    "    kepler-model predict [--model FILE] [--machine KEY=VALUE[,...]]\n"
    "                         [FEATURE=VALUE ...]\n"
    "    kepler-model check FILE\n"
    "    kepler-model convert FILE\n"
    "    kepler-model --help\n"
    "\n"
    "DESCRIPTION\n"
    "    The same model code as the collectd plugin: a model file gives the\n"
    "    same watts here as in the plugin. FILE is one of our YAML models\n"
    "    (models/README.md) or a Kepler model-db weight JSON, unchanged\n"
    "    (\"<Trainer>_<n>.json\"; the trainer selects the equation, an\n"
    "    AbsPower or DynPower directory in the path the output type).\n"
    "\n"
    "COMMANDS\n"
    "    predict\n"
    "        Bind the model to this machine (/proc/cpuinfo, /proc/meminfo,\n"
    "        /sys) with any --machine overrides, evaluate it on the given\n"
    "        per-second feature rates and print one line of JSON:\n"
    "          {\"model\", \"origin\", \"output_type\", \"machine\": {cpu,\n"
    "           architecture, architecture_from (name, cpuid or empty),\n"
    "           cpu_family, cpu_model, cpu_stepping, tdp_w, vendor, chips,\n"
    "           cores, threads, memory_gb, mhz, hypervisor}, \"core_ratio\",\n"
    "           \"components\": {NAME:\n"
    "           {\"absolute_w\", \"idle_w\"} for each component the model\n"
    "           has}, \"total\": {\"absolute_w\", \"idle_w\"}, "
    "\"stated_error\":\n"
    "           {\"mae_w\", \"mape_pct\"} (null when the model states none)}\n"
    "        idle = the model at all-zero features x core_ratio; absolute =\n"
    "        idle + max(model(x) - model(0), 0); then package >= core +\n"
    "        uncore and a 0 core = package - uncore (Kepler's semantics).\n"
    "        total = platform if the model has it, else (package, or core +\n"
    "        uncore) + dram.\n"
    "    check\n"
    "        Load FILE and bind it to this machine. On success print a\n"
    "        one-line summary (name, output type, components, features\n"
    "        used, stated error); on failure print \"FILE:LINE: message\".\n"
    "    convert\n"
    "        Print FILE as our YAML on standard output. The YAML predicts\n"
    "        the same as FILE.\n"
    "\n"
    "OPTIONS\n"
    "    --model FILE, --model=FILE\n"
    "        The model to run. Default: the embedded models/default.yaml.\n"
    "    --machine KEY=VALUE[,KEY=VALUE...], --machine=...\n"
    "        Override what was read of this machine; may be repeated. A\n"
    "        comma separates pairs only where it is followed by a known\n"
    "        KEY and '=', so values may hold spaces and commas:\n"
    "          --machine 'cpu=Intel(R) Xeon(R) CPU, rev 2,threads=32'\n"
    "        KEYs: ";

static const char usage_tail[] =
    "\n"
    "        cpu and vendor are text; chips, cores and threads whole\n"
    "        numbers; memory_gb and mhz (the nominal clock) numbers;\n"
    "        hypervisor 0, 1, true or false; cpu_family, cpu_model and\n"
    "        cpu_stepping (cpuinfo's CPUID numbers) whole numbers.\n"
    "        cpu= names another CPU: the vendor follows the name when it\n"
    "        names a maker (Intel, AMD, Hygon, Ampere, ...) unless vendor=\n"
    "        is given too, and this machine's CPUID numbers are dropped\n"
    "        unless cpu_family=, cpu_model= or cpu_stepping= is given too.\n"
    "    --help, -h\n"
    "        Print this text.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 on success; 1 on a usage error, a bad model file or a model\n"
    "    this machine cannot use, with a message on standard error.\n"
    "\n"
    "EXAMPLES\n"
    "    A fully busy 32-thread machine (32 threads x 1000 ms per second):\n"
    "        kepler-model predict --machine threads=32 bpf_cpu_time_ms=32000\n"
    "    The same with a Kepler model and a named CPU:\n"
    "        kepler-model predict --model SGDRegressorTrainer_0.json \\\n"
    "            --machine 'cpu=Intel(R) Xeon(R) Gold 6140 CPU @ 2.30GHz' \\\n"
    "            bpf_cpu_time_ms=32000\n"
    "    kepler-model check my-model.yaml\n"
    "    kepler-model convert SGDRegressorTrainer_0.json > my-model.yaml\n";

static void print_usage(FILE *out) {
  fputs(usage_head, out);
  for (int i = 0; machine_keys[i]; i++)
    fprintf(out, "%s%s", i ? ", " : "", machine_keys[i]);
  fputs("\n"
        "\n"
        "FEATURES\n"
        "    Per-second rates with Kepler's names; a feature not given is 0:\n"
        "        ",
        out);
  for (int f = 0; f < FEATURE_MAX; f++)
    fprintf(out, "%s%s", f ? ", " : "", feature_name(f));
  fputs("\n"
        "    bpf_cpu_time_ms is the ms of on-CPU time per second summed over\n"
        "    all CPUs: 1000 per fully busy hardware thread.\n",
        out);
  fputs(usage_tail, out);
}

static int usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, PROG ": ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(see " PROG " --help)\n");
  va_end(ap);
  return 1;
}

/* --- Loading and binding -------------------------------------------------- */

/* FILE, or the embedded default when path is NULL. */
static struct power_model *load_model(const char *path) {
  struct power_model *m = NULL;
  char err[1024];
  int rc = path ? model_load_file(path, &m, err, sizeof(err))
                : model_load_buffer(kepler_default_model,
                                    strlen(kepler_default_model),
                                    EMBEDDED_ORIGIN, &m, err, sizeof(err));
  if (rc) {
    fprintf(stderr, PROG ": %s\n", err);
    return NULL;
  }
  return m;
}

/* This machine as /proc and /sys show it. Without cpuinfo (a container
 * without /proc) the fields stay 0 and --machine can supply them. */
static void read_this_machine(struct machine_spec *spec) {
  char err[1024];
  if (machine_read("/proc", "/sys", spec, err, sizeof(err))) {
    fprintf(stderr, PROG ": warning: %s\n", err);
    memset(spec, 0, sizeof(*spec));
  }
}

static int bind(struct power_model *m, const struct machine_spec *spec,
                const char *origin) {
  char err[1024];
  if (model_bind_machine(m, spec, err, sizeof(err)) == 0)
    return 0;
  fprintf(stderr, PROG ": %s: cannot bind to this machine: %s\n", origin, err);
  return -1;
}

/* --- predict arguments -----------------------------------------------------
 */

/* Length of the machine key that s starts with when "=" follows it, else 0. */
static size_t key_at(const char *s) {
  for (int i = 0; machine_keys[i]; i++) {
    size_t n = strlen(machine_keys[i]);
    if (strncmp(s, machine_keys[i], n) == 0 && s[n] == '=')
      return n;
  }
  return 0;
}

/* Apply "key=value,key=value..." to spec. A comma ends a value only when a
 * known key and '=' follow it: CPU names may hold commas. */
static int apply_machine(struct machine_spec *spec, const char *arg,
                         bool given[]) {
  char buf[1024], err[1024];
  if (snprintf(buf, sizeof(buf), "%s", arg) >= (int)sizeof(buf))
    return usage_error("--machine: value too long: \"%s\"", arg);
  char *p = buf;
  for (;;) {
    char *eq = strchr(p, '=');
    if (!eq)
      return usage_error("--machine: expected KEY=VALUE, got \"%s\"", p);
    *eq = '\0';
    char *value = eq + 1, *end = value;
    while ((end = strchr(end, ',')) && !key_at(end + 1))
      end++;
    if (end)
      *end = '\0';
    if (machine_set(spec, p, value, err, sizeof(err))) {
      fprintf(stderr, PROG ": --machine: %s\n", err);
      return 1;
    }
    for (int i = 0; machine_keys[i]; i++)
      if (strcmp(machine_keys[i], p) == 0)
        given[i] = true;
    if (!end)
      return 0;
    p = end + 1;
  }
}

static bool key_given(const bool given[], const char *key) {
  for (int i = 0; machine_keys[i]; i++)
    if (strcmp(machine_keys[i], key) == 0)
      return given[i];
  return false;
}

/* A --machine cpu= names another CPU than this host's: its vendor follows
 * the name when the name names one (unless vendor= is given too), and this
 * host's CPUID numbers no longer describe it (unless cpu_family= is given
 * too): the model's cpuid_rules are not consulted. */
static void cpu_given(struct machine_spec *spec, const bool given[]) {
  if (!key_given(given, "cpu"))
    return;
  const char *vendor = machine_vendor_from_name(spec->cpu);
  if (vendor && !key_given(given, "vendor"))
    snprintf(spec->vendor, sizeof(spec->vendor), "%s", vendor);
  if (!key_given(given, "cpu_family") && !key_given(given, "cpu_model") &&
      !key_given(given, "cpu_stepping"))
    spec->cpu_family = spec->cpu_model = spec->cpu_stepping = 0;
}

/* FEATURE=VALUE into x; a feature may be given once. */
static int apply_feature(double x[FEATURE_MAX], bool given[FEATURE_MAX],
                         const char *arg) {
  const char *eq = strchr(arg, '=');
  if (!eq)
    return usage_error("expected FEATURE=VALUE or an option, got \"%s\"", arg);
  char name[64];
  snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
  int f = feature_by_name(name);
  if (f < 0)
    return usage_error("unknown feature \"%s\"", name);
  if (given[f])
    return usage_error("feature \"%s\" given twice", name);
  const char *value = eq + 1;
  char *end;
  errno = 0;
  double v = strtod(value, &end);
  if (value[0] == '\0' || value[0] == ' ' || *end || errno || !isfinite(v) ||
      v < 0) {
    fprintf(stderr,
            PROG ": feature \"%s\" must be a finite number >= 0, got \"%s\"\n",
            name, value);
    return 1;
  }
  x[f] = v;
  given[f] = true;
  return 0;
}

/* The value of "--name VALUE" or "--name=VALUE" at argv[*i], advancing *i
 * past it; NULL when argv[*i] is not that option. */
static const char *option_value(int argc, char **argv, int *i, const char *name,
                                bool *missing) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0)
    return NULL;
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (argv[*i][n] != '\0')
    return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

/* --- predict output --------------------------------------------------------
 */

static json_object *watts(double absolute, double idle) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "absolute_w", json_object_new_double(absolute));
  json_object_object_add(o, "idle_w", json_object_new_double(idle));
  return o;
}

/* A stated figure, or null when the model states none (negative). */
static json_object *stated(double v) {
  return v < 0 ? NULL : json_object_new_double(v);
}

static json_object *machine_json(const struct machine_spec *s,
                                 const struct power_model *m) {
  const char *arch = model_cpu_architecture(m);
  json_object *o = json_object_new_object();
  json_object_object_add(o, "cpu", json_object_new_string(s->cpu));
  json_object_object_add(o, "architecture", json_object_new_string(arch));
  json_object_object_add(
      o, "architecture_from",
      json_object_new_string(!*arch                                 ? ""
                             : model_cpu_architecture_from_cpuid(m) ? "cpuid"
                                                                    : "name"));
  json_object_object_add(o, "cpu_family", json_object_new_int64(s->cpu_family));
  json_object_object_add(o, "cpu_model", json_object_new_int64(s->cpu_model));
  json_object_object_add(o, "cpu_stepping",
                         json_object_new_int64(s->cpu_stepping));
  json_object_object_add(o, "tdp_w", json_object_new_double(model_tdp_w(m)));
  json_object_object_add(o, "vendor", json_object_new_string(s->vendor));
  json_object_object_add(o, "chips", json_object_new_int64(s->chips));
  json_object_object_add(o, "cores", json_object_new_int64(s->cores));
  json_object_object_add(o, "threads", json_object_new_int64(s->threads));
  json_object_object_add(o, "memory_gb", json_object_new_double(s->memory_gb));
  json_object_object_add(o, "mhz", json_object_new_double(s->mhz));
  json_object_object_add(o, "hypervisor",
                         json_object_new_boolean(s->hypervisor));
  return o;
}

static const char *output_name(const struct power_model *m) {
  return model_output_type(m) == MODEL_DYN_POWER ? "DynPower" : "AbsPower";
}

static int print_prediction(const struct power_model *m, const char *origin,
                            const struct machine_spec *spec,
                            const double x[FEATURE_MAX]) {
  struct model_output_w w;
  model_predict_node(m, x, &w);
  json_object *root = json_object_new_object();
  json_object_object_add(root, "model", json_object_new_string(model_name(m)));
  json_object_object_add(root, "origin", json_object_new_string(origin));
  json_object_object_add(root, "output_type",
                         json_object_new_string(output_name(m)));
  json_object_object_add(root, "machine", machine_json(spec, m));
  json_object_object_add(root, "core_ratio",
                         json_object_new_double(model_core_ratio(m)));
  json_object *components = json_object_new_object();
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (w.present[c])
      json_object_object_add(components, component_name(c),
                             watts(w.absolute[c], w.idle[c]));
  json_object_object_add(root, "components", components);
  json_object_object_add(root, "total",
                         watts(component_total(w.present, w.absolute),
                               component_total(w.present, w.idle)));
  json_object *error = json_object_new_object();
  json_object_object_add(error, "mae_w", stated(model_mae_watts(m)));
  json_object_object_add(error, "mape_pct", stated(model_mape_pct(m)));
  json_object_object_add(root, "stated_error", error);
  /* Every double with 17 significant digits: the output round-trips. */
  json_c_set_serialization_double_format("%.17g", JSON_C_OPTION_GLOBAL);
  puts(json_object_to_json_string_ext(
      root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
  json_object_put(root);
  return 0;
}

static int cmd_predict(int argc, char **argv) {
  const char *model_path = NULL;
  const char *machine_args[64];
  int nmachine = 0;
  double x[FEATURE_MAX] = {0};
  bool given[FEATURE_MAX] = {false};
  for (int i = 0; i < argc; i++) {
    bool missing = false;
    const char *v;
    if ((v = option_value(argc, argv, &i, "--model", &missing))) {
      model_path = v;
    } else if ((v = option_value(argc, argv, &i, "--machine", &missing))) {
      if (nmachine == (int)(sizeof(machine_args) / sizeof(*machine_args)))
        return usage_error("too many --machine options");
      machine_args[nmachine++] = v;
    } else if (missing) {
      return usage_error("%s needs a value", argv[i]);
    } else if (argv[i][0] == '-') {
      return usage_error("unknown option \"%s\"", argv[i]);
    } else if (apply_feature(x, given, argv[i])) {
      return 1;
    }
  }
  struct machine_spec spec;
  read_this_machine(&spec);
  bool keys[64] = {false};
  for (int i = 0; i < nmachine; i++)
    if (apply_machine(&spec, machine_args[i], keys))
      return 1;
  cpu_given(&spec, keys);
  struct power_model *m = load_model(model_path);
  if (!m)
    return 1;
  const char *origin = model_path ? model_path : EMBEDDED_ORIGIN;
  int rc = bind(m, &spec, origin) ? 1 : print_prediction(m, origin, &spec, x);
  model_free(m);
  return rc;
}

/* --- check and convert -----------------------------------------------------
 */

static void print_summary(const struct power_model *m, const char *path) {
  char name[OUTSIDE_TEXT_LEN];
  printf("%s: ok: model \"%s\", %s; components:", path,
         OUTSIDE_STR(name, model_name(m)), output_name(m));
  for (int c = 0, n = 0; c < COMPONENT_MAX; c++)
    if (model_has_component(m, c))
      printf("%s %s", n++ ? "," : "", component_name(c));
  printf("; features:");
  int used = 0;
  for (int f = 0; f < FEATURE_MAX; f++)
    if (model_uses_feature(m, f))
      printf("%s %s", used++ ? "," : "", feature_name(f));
  if (!used)
    printf(" none");
  printf("; stated error:");
  double mae = model_mae_watts(m), mape = model_mape_pct(m);
  if (mae >= 0)
    printf(" MAE %g W", mae);
  if (mape >= 0)
    printf("%s MAPE %g %%", mae >= 0 ? "," : "", mape);
  if (mae < 0 && mape < 0)
    printf(" none");
  printf("\n");
}

static int cmd_check(const char *path) {
  struct power_model *m = load_model(path);
  if (!m)
    return 1;
  struct machine_spec spec;
  read_this_machine(&spec);
  int rc = bind(m, &spec, path) ? 1 : 0;
  if (rc == 0)
    print_summary(m, path);
  model_free(m);
  return rc;
}

/* The YAML is loaded back before a byte of it is printed: convert never
 * exits 0 with output that does not load. */
static int cmd_convert(const char *path) {
  struct power_model *m = load_model(path), *back = NULL;
  if (!m)
    return 1;
  char *text = NULL, err[1024];
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  bool written = mem && model_write_yaml(m, mem) == 0;
  if (mem && fclose(mem))
    written = false;
  model_free(m);
  int rc = 1;
  if (!written)
    fprintf(stderr, PROG ": cannot write the YAML: %s\n", strerror(errno));
  else if (model_load_buffer(text, len, "the converted YAML", &back, err,
                             sizeof(err)))
    fprintf(stderr, PROG ": %s: the YAML written does not load back: %s\n",
            path, err);
  else if (fwrite(text, 1, len, stdout) != len || fflush(stdout))
    fprintf(stderr, PROG ": cannot write the YAML: %s\n", strerror(errno));
  else
    rc = 0;
  model_free(back);
  free(text);
  return rc;
}

static bool is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage_error("a command is needed: predict, check or convert");
  for (int i = 1; i < argc; i++)
    if (is_help(argv[i])) {
      print_usage(stdout);
      return 0;
    }
  const char *cmd = argv[1];
  if (strcmp(cmd, "predict") == 0)
    return cmd_predict(argc - 2, argv + 2);
  if (strcmp(cmd, "check") == 0 || strcmp(cmd, "convert") == 0) {
    if (argc != 3)
      return usage_error("%s takes exactly one FILE", cmd);
    return strcmp(cmd, "check") == 0 ? cmd_check(argv[2])
                                     : cmd_convert(argv[2]);
  }
  return usage_error("unknown command \"%s\" (commands: predict, check, "
                     "convert)",
                     cmd);
}
