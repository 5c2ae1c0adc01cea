// SPDX-License-Identifier: GPL-2.0-only
/* Checks on a model a parser returned, shared by the model targets: its
 * predictions are watts (finite, >= 0) and its YAML (model_write_yaml)
 * loads back into a model that predicts the same (model_yaml.h). */
#ifndef KEPLER_FUZZ_MODEL_CHECKS_H
#define KEPLER_FUZZ_MODEL_CHECKS_H

#include <math.h>

#include "fuzz_check.h"
#include "model.h"
#include "model_yaml.h"

/* A two-socket server, so that load_curve components and cpu_architectures
 * rules have a machine to work on. */
static inline struct machine_spec fuzz_machine(void) {
  struct machine_spec s = {.chips = 2,
                           .cores = 32,
                           .threads = 64,
                           .memory_gb = 256,
                           .mhz = 2400,
                           .hypervisor = false};
  snprintf(s.cpu, sizeof(s.cpu), "%s", "Intel(R) Xeon(R) Gold 6230 CPU");
  snprintf(s.vendor, sizeof(s.vendor), "%s", "GenuineIntel");
  return s;
}

#define FUZZ_NPOINTS 4
/* Feature vectors from idle to beyond full usage of fuzz_machine. */
static inline void fuzz_points(double x[FUZZ_NPOINTS][FEATURE_MAX]) {
  static const double scale[FUZZ_NPOINTS] = {0, 1, 1000, 64000};
  for (int p = 0; p < FUZZ_NPOINTS; p++)
    for (int f = 0; f < FEATURE_MAX; f++)
      x[p][f] = scale[p] * (1 + f % 3);
}

/* Every component's prediction and the node's output are watts. */
static inline void fuzz_check_predictions(const struct power_model *m) {
  double x[FUZZ_NPOINTS][FEATURE_MAX];
  fuzz_points(x);
  for (int p = 0; p < FUZZ_NPOINTS; p++) {
    for (int c = 0; c < COMPONENT_MAX; c++) {
      double w = model_predict(m, (enum kepler_component)c, x[p]);
      FUZZ_REQUIRE(isfinite(w) && w >= 0, "model_predict gives watts");
    }
    struct model_output_w o;
    model_predict_node(m, x[p], &o);
    for (int c = 0; c < COMPONENT_MAX; c++) {
      FUZZ_REQUIRE(isfinite(o.absolute[c]) && o.absolute[c] >= 0,
                   "node absolute power is watts");
      FUZZ_REQUIRE(isfinite(o.idle[c]) && o.idle[c] >= 0,
                   "node idle power is watts");
    }
  }
}

static inline bool fuzz_close(double a, double b) {
  return fabs(a - b) <= 1e-12 * fmax(fabs(a), fabs(b)) + 1e-300;
}

/* Write m as YAML, load it back, bind both to spec when bound (bound:
 * m was bound to spec successfully), and compare their predictions. */
static inline void fuzz_check_yaml_round_trip(const struct power_model *m,
                                              bool bound) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f)
    return;
  int w = model_write_yaml(m, f);
  if (fclose(f) != 0 || w != 0) {
    free(text);
    return;
  }
  FUZZ_REQUIRE(fuzz_yaml_text((const unsigned char *)text, len),
               "the written YAML is printable UTF-8 (D5)");
  struct power_model *back = NULL;
  char err[512];
  if (model_load_buffer(text, len, "written", &back, err, sizeof(err)) != 0) {
    fuzz_check_message(err, sizeof(err));
    fprintf(stderr, "written YAML failed to load: %s\n%s\n", err, text);
    FUZZ_REQUIRE(0, "write-then-load round trip");
  }
  free(text);
  if (bound) {
    struct machine_spec spec = fuzz_machine();
    FUZZ_REQUIRE(model_bind_machine(back, &spec, err, sizeof(err)) == 0,
                 "the reloaded model binds where the original did");
  }
  double x[FUZZ_NPOINTS][FEATURE_MAX];
  fuzz_points(x);
  for (int p = 0; p < FUZZ_NPOINTS; p++)
    for (int c = 0; c < COMPONENT_MAX; c++)
      FUZZ_REQUIRE(
          fuzz_close(model_predict(m, (enum kepler_component)c, x[p]),
                     model_predict(back, (enum kepler_component)c, x[p])),
          "the reloaded model predicts the same");
  model_free(back);
}

/* After a loader ran (rc its return): on failure *out still holds the
 * untouched sentinel and err says why; on success a model. Whether one was
 * loaded. */
static inline bool fuzz_check_load(int rc, const struct power_model *m,
                                   const struct power_model *untouched,
                                   const char *err, size_t errlen) {
  if (rc != 0) {
    FUZZ_REQUIRE(m == untouched, "*out untouched on failure");
    fuzz_check_message(err, errlen);
    return false;
  }
  FUZZ_REQUIRE(m != untouched && m != NULL, "a model on success");
  return true;
}

/* A model from a file loader, not yet bound to a machine: bound to
 * fuzz_machine (or said why not), its predictions and its YAML round trip
 * checked; then freed. */
static inline void fuzz_check_file_model(struct power_model *m) {
  char err[256];
  struct machine_spec spec = fuzz_machine();
  bool bound = model_bind_machine(m, &spec, err, sizeof(err)) == 0;
  if (!bound)
    fuzz_check_message(err, sizeof(err));
  fuzz_check_predictions(m);
  fuzz_check_yaml_round_trip(m, bound);
  model_free(m);
}

#endif
