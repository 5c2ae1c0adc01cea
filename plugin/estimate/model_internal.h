// SPDX-License-Identifier: GPL-2.0-only
/* The power model's representation, shared by its parts: model.c (the
 * equations, binding, accessors), model_yaml.c (our YAML), model_yaml_write.c
 * (YAML output) and model_kepler_json.c (Kepler weight JSON). Not for use
 * outside plugin/model*.c. */
#ifndef KEPLER_MODEL_INTERNAL_H
#define KEPLER_MODEL_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>

#include "model.h"

/* What a numerical term reads: one of our features, or Kepler v0.6's
 * bpf_cpu_time_us (our bpf_cpu_time_ms x 1000), kept under its own name so
 * such a file converts to YAML and back unchanged. */
enum { INPUT_CPU_TIME_US = FEATURE_MAX, INPUT_MAX };
const char *input_name(int input);
int input_by_name(const char *name); /* -1 if unknown */
enum kepler_feature input_feature(int input);

enum component_type {
  TYPE_LINEAR,
  TYPE_LOGARITHMIC,
  TYPE_EXPONENTIAL,
  TYPE_LOGISTIC,
  TYPE_LOAD_CURVE,
  TYPE_MAX,
};
/* The YAML "type" of t, and the number of curve weights it takes (0 for
 * linear and load_curve). */
const char *component_type_name(enum component_type t);
size_t curve_length(enum component_type t);

/* A numerical feature: x / scale, or (x - mean) / sqrt(variance) when
 * variance > 0 (Kepler v0.4-0.5 normalisation). weight: linear only. */
struct term {
  int input;
  double weight, scale, mean, variance;
};

/* Kepler's Categorical_Variables for cpu_architecture: value -> weight. */
struct category {
  char *value;
  double weight;
};
struct categorical {
  size_t n, cap;
  struct category *v;
};
int categorical_add(struct categorical *cat, const char *value, double weight);

/* Machine terms of a load curve: ln of a machine_spec field. */
enum lc_term {
  LC_THREADS,
  LC_CORES,
  LC_CHIPS,
  LC_MEMORY_GB,
  LC_MHZ,
  LC_TDP_W, /* total TDP: tdp per chip x chips (model tdp block) */
  LC_TERM_MAX,
};
const char *lc_term_name(enum lc_term t); /* "ln_threads", ... */

#define MODEL_MAX_LEVELS 64

struct lc_arch {
  char *name;
  double v[MODEL_MAX_LEVELS];
};

struct vm_host {
  double chips, cores, threads, memory_gb;
};

struct load_curve {
  int input;    /* the utilization feature */
  double scale; /* u = x / (scale * threads) */
  size_t n;     /* levels */
  double level[MODEL_MAX_LEVELS], intercept[MODEL_MAX_LEVELS];
  bool has_term[LC_TERM_MAX];
  double term[LC_TERM_MAX][MODEL_MAX_LEVELS];
  size_t narch;
  struct lc_arch *arch;
  bool has_vm_host;
  struct vm_host vm_host;
  /* Level 0 is W_0; every other level gives the power above W_0 (fitted as
   * such, it can never fall below idle). */
  bool above_idle;
  /* Set by model_bind_machine: W per level (a VM's share already applied)
   * and the threads u divides by. */
  bool bound;
  double threads;
  double w[MODEL_MAX_LEVELS];
};

struct component_model {
  bool present;
  enum component_type type;
  double bias;   /* linear */
  size_t nterms; /* linear and curve fits; the first term is x0 */
  struct term terms[INPUT_MAX];
  double curve[4]; /* curve fits, curve_length(type) of them */
  struct categorical cat;
  struct load_curve lc; /* load_curve */
};

/* The training machine; 0 / NULL = not stated. */
struct trained_on {
  double cores, chips, threads, memory_gb, mhz;
  char *cpu;
};

struct arch_rule {
  char *match, *name;
  regex_t re;
};

/* One cpuid_rules entry: CPUs whose vendor_id, family and model (and
 * stepping, when listed) fall in it get architecture name. */
#define CPUID_MAX_RANGES 32
struct cpuid_range {
  unsigned lo, hi;
};
struct cpuid_rule {
  char *vendor, *name;
  unsigned family;
  size_t nmodels, nsteppings; /* 0: any */
  struct cpuid_range models[CPUID_MAX_RANGES], steppings[CPUID_MAX_RANGES];
  int hypervisor; /* -1: any; 0: only on bare metal; 1: only in a VM */
};

/* One tdp.by_cpu entry: a CPU name key (model_cpu_key) and its TDP. */
struct tdp_entry {
  char *cpu;
  double w; /* per chip */
};
/* tdp.estimate's architecture rows: added to ln W per chip. */
struct tdp_arch {
  char *name;
  double w;
};

struct power_model {
  char *name;
  char *source;    /* NULL when not stated */
  double mae_w;    /* < 0 when not stated */
  double mape_pct; /* < 0 when not stated */
  enum model_output output;
  struct trained_on trained_on;
  size_t nrules;
  struct arch_rule *rules;
  size_t ncpuid;
  struct cpuid_rule *cpuid;
  size_t ntdp, ntdp_arch;
  struct tdp_entry *tdp;
  struct tdp_arch *tdp_arch;
  /* tdp.estimate, for a CPU by_cpu lacks: ln W per chip = intercept +
   * ln_cores_per_chip x ln(cores / chips) + ln_mhz x ln MHz + the
   * architecture's row (tdp_arch). */
  bool has_tdp_estimate;
  double tdp_intercept, tdp_ln_cores_per_chip, tdp_ln_mhz;
  struct component_model comp[COMPONENT_MAX];
  /* Set by model_bind_machine. */
  const char *arch;     /* a rule's name, or "" */
  bool arch_from_cpuid; /* arch came from cpuid_rules, not the name */
  double tdp_w;         /* the machine's total TDP (machine_tdp_w), 0: none */
  double core_ratio;
};

/* The key a CPU model name has in tdp.by_cpu: upper case, cut at "@",
 * "(", "[" or ",", without (R) and (TM), without the words INTEL, AMD,
 * XEON, CPU, PROCESSOR, CORE, "<n>-CORE" and clock figures, and with
 * V<n>, HE, EE, SE joined to the word before ("Intel(R) Xeon(R) CPU
 * E5-2660 v2 @ 2.20GHz" -> "E5-2660V2"); models/fit_default.py's cpu_key
 * is the same function. */
void model_cpu_key(const char *cpu, char *out, size_t outlen);

/* A new empty model (nothing stated, unbound); NULL when out of memory. */
struct power_model *model_new(void);

/* "ORIGIN:LINE: message" into err (when err is not NULL); returns -1. */
int model_fail(char *err, size_t errlen, const char *origin, size_t line,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
