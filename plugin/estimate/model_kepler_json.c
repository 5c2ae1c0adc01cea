// SPDX-License-Identifier: GPL-2.0-only
/* Kepler's weight JSON (kepler-model-db files, a model server's answer with
 * "weight": true), read unchanged into a struct power_model:
 *
 *   { "<component>": { "All_Weights": {
 *       "Bias_Weight": b,                                  (linear)
 *       "Categorical_Variables": { "cpu_architecture": { v: {"weight": w} } },
 *       "Numerical_Variables": { f: {"scale": s, "weight": w,
 *                                    "mean": m, "variance": v} },
 *       "CurveFit_Weights": [ ... ] } }, ... }             (curve fits)
 *
 * The trainer's name selects the equation (kepler.md 3; model.c). json-c
 * parses; it keeps object members in file order, which matters because a
 * curve fit's x0 is the first numerical feature.
 *
 * Line numbers: json-c reports where a syntax error stopped as a byte
 * offset, which becomes a line by counting newlines. Values carry no
 * position, so a semantic error points at the line of the offending key,
 * found by searching the text for the quoted key from the position of its
 * parent's key onwards (the parent's own line when the key is spelled with
 * escapes and the search fails). */
#define _GNU_SOURCE /* asprintf */
#include "model_kepler_json.h"

#include "model_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

struct jload {
  const char *text;
  size_t len;
  const char *origin;
  char *err;
  size_t errlen;
  bool linear; /* the trainer's equation: linear, else a curve fit */
  enum component_type type;
};

static size_t line_at(const struct jload *j, size_t off) {
  size_t line = 1;
  for (size_t i = 0; i < off && i < j->len; i++)
    line += j->text[i] == '\n';
  return line;
}

#define jfail(j, off, ...)                                                     \
  model_fail((j)->err, (j)->errlen, (j)->origin, line_at((j), (off)),          \
             __VA_ARGS__)

/* The offset of "key" at or after `from`; `from` when it is not there. */
static size_t find_key(const struct jload *j, const char *key, size_t from) {
  size_t klen = strlen(key);
  for (size_t i = from; i + klen + 2 <= j->len; i++)
    if (j->text[i] == '"' && memcmp(j->text + i + 1, key, klen) == 0 &&
        j->text[i + 1 + klen] == '"')
      return i;
  return from;
}

static const char *type_name(json_object *v) {
  return json_type_to_name(json_object_get_type(v));
}

static int want_object(const struct jload *j, size_t at, const char *what,
                       json_object *v) {
  if (json_object_is_type(v, json_type_object))
    return 0;
  return jfail(j, at, "%s must be an object, got %s", what, type_name(v));
}

static int get_number(const struct jload *j, size_t at, const char *what,
                      json_object *v, double *out) {
  if (json_object_is_type(v, json_type_double) ||
      json_object_is_type(v, json_type_int)) {
    *out = json_object_get_double(v);
    if (isfinite(*out))
      return 0;
  }
  return jfail(j, at, "%s must be a finite number, got %s", what, type_name(v));
}

/* "Categorical_Variables": { "cpu_architecture": { VALUE: {"weight": w} } } */
static int parse_categorical(const struct jload *j, size_t at,
                             json_object *cats, struct component_model *cm) {
  if (want_object(j, at, "\"Categorical_Variables\"", cats))
    return -1;
  json_object_object_foreach(cats, feature, values) {
    size_t fat = find_key(j, feature, at);
    if (strcmp(feature, "cpu_architecture") != 0)
      return jfail(j, fat,
                   "categorical feature \"%s\" is not supported (supported: "
                   "cpu_architecture)",
                   feature);
    if (want_object(j, fat, "\"cpu_architecture\"", values))
      return -1;
    json_object_object_foreach(values, value, entry) {
      size_t vat = find_key(j, value, fat);
      json_object *w;
      double weight;
      if (value[0] == '\0')
        return jfail(j, vat, "an empty cpu_architecture value");
      if (want_object(j, vat, "a categorical value", entry))
        return -1;
      if (json_object_object_length(entry) != 1 ||
          !json_object_object_get_ex(entry, "weight", &w))
        return jfail(j, vat, "categorical value \"%s\" must be {\"weight\": W}",
                     value);
      if (get_number(j, vat, "\"weight\"", w, &weight))
        return -1;
      if (categorical_add(&cm->cat, value, weight))
        return jfail(j, vat, "out of memory");
    }
  }
  return 0;
}

/* One numerical feature: scale (required), weight (linear; Kepler ignores
 * it in a curve fit, and so do we), mean and variance (v0.6). */
static int parse_term(const struct jload *j, size_t at, const char *feature,
                      json_object *v, struct term *t) {
  char what[96];
  snprintf(what, sizeof what, "feature \"%s\"", feature);
  if (want_object(j, at, what, v))
    return -1;
  bool has_scale = false;
  json_object_object_foreach(v, key, val) {
    size_t kat = find_key(j, key, at);
    double *out = strcmp(key, "scale") == 0      ? &t->scale
                  : strcmp(key, "weight") == 0   ? &t->weight
                  : strcmp(key, "mean") == 0     ? &t->mean
                  : strcmp(key, "variance") == 0 ? &t->variance
                                                 : NULL;
    if (!out)
      return jfail(j, kat, "unknown key \"%s\" in feature \"%s\"", key,
                   feature);
    snprintf(what, sizeof what, "\"%s\" of feature \"%s\"", key, feature);
    if (get_number(j, kat, what, val, out))
      return -1;
    has_scale |= out == &t->scale;
  }
  if (!has_scale)
    return jfail(j, at, "feature \"%s\" has no \"scale\"", feature);
  if (t->variance < 0)
    return jfail(j, find_key(j, "variance", at),
                 "\"variance\" of feature \"%s\" must not be negative",
                 feature);
  if (!j->linear)
    t->weight = 0;
  return 0;
}

static int parse_numerical(const struct jload *j, size_t at, json_object *vars,
                           struct component_model *cm) {
  if (want_object(j, at, "\"Numerical_Variables\"", vars))
    return -1;
  json_object_object_foreach(vars, feature, v) {
    size_t fat = find_key(j, feature, at);
    int input = input_by_name(feature);
    if (input < 0)
      return jfail(j, fat, "unknown feature \"%s\"", feature);
    for (size_t i = 0; i < cm->nterms; i++)
      if (cm->terms[i].input == input)
        return jfail(j, fat, "duplicate feature \"%s\"", feature);
    struct term *t = &cm->terms[cm->nterms++];
    t->input = input;
    if (parse_term(j, fat, feature, v, t))
      return -1;
  }
  return 0;
}

static int parse_curve(const struct jload *j, size_t at, const char *comp,
                       json_object *v, struct component_model *cm) {
  size_t want = curve_length(cm->type);
  if (!json_object_is_type(v, json_type_array))
    return jfail(j, at, "\"CurveFit_Weights\" must be an array, got %s",
                 type_name(v));
  if (json_object_array_length(v) != want)
    return jfail(j, at,
                 "\"CurveFit_Weights\" of component \"%s\" must hold %zu "
                 "numbers for a %s curve, got %zu",
                 comp, want, component_type_name(cm->type),
                 json_object_array_length(v));
  for (size_t i = 0; i < want; i++)
    if (get_number(j, at, "a \"CurveFit_Weights\" entry",
                   json_object_array_get_idx(v, i), &cm->curve[i]))
      return -1;
  return 0;
}

static int parse_component(const struct jload *j, size_t at, const char *comp,
                           json_object *v, struct component_model *cm) {
  char what[64];
  snprintf(what, sizeof what, "component \"%s\"", comp);
  json_object *all;
  if (want_object(j, at, what, v))
    return -1;
  if (!json_object_object_get_ex(v, "All_Weights", &all) ||
      json_object_object_length(v) != 1)
    return jfail(j, at, "component \"%s\" must hold just \"All_Weights\"",
                 comp);
  at = find_key(j, "All_Weights", at);
  if (want_object(j, at, "\"All_Weights\"", all))
    return -1;
  cm->present = true;
  cm->type = j->type;
  bool has_curve = false, has_bias = false;
  json_object_object_foreach(all, key, val) {
    size_t kat = find_key(j, key, at);
    int rc;
    if (strcmp(key, "Bias_Weight") == 0) {
      /* A curve fit's Bias_Weight is unused by Kepler; ignored here too. */
      rc = get_number(j, kat, "\"Bias_Weight\"", val, &cm->bias);
      has_bias = true;
    } else if (strcmp(key, "Categorical_Variables") == 0)
      rc = parse_categorical(j, kat, val, cm);
    else if (strcmp(key, "Numerical_Variables") == 0)
      rc = parse_numerical(j, kat, val, cm);
    else if (strcmp(key, "CurveFit_Weights") == 0) {
      if (j->linear)
        return jfail(j, kat,
                     "\"CurveFit_Weights\" in component \"%s\" of a linear "
                     "trainer",
                     comp);
      rc = parse_curve(j, kat, comp, val, cm);
      has_curve = true;
    } else
      return jfail(j, kat, "unknown key \"%s\" in \"All_Weights\"", key);
    if (rc)
      return -1;
  }
  if (j->linear && !has_bias)
    return jfail(j, at,
                 "component \"%s\" of a linear trainer has no "
                 "\"Bias_Weight\"",
                 comp);
  if (!j->linear) {
    cm->bias = 0;
    if (!has_curve)
      return jfail(j, at,
                   "component \"%s\" of a %s curve has no "
                   "\"CurveFit_Weights\"",
                   comp, component_type_name(cm->type));
    if (cm->nterms == 0)
      return jfail(j, at,
                   "component \"%s\" of a curve fit needs a numerical "
                   "feature (x0)",
                   comp);
  }
  return 0;
}

/* The equation from the trainer's name, "<Trainer>" or "<Trainer>_<n>". */
static int trainer_type(struct jload *j, const char *trainer_name) {
  static const struct {
    const char *trainer;
    enum component_type type;
  } curves[] = {
      {"LogarithmicRegressionTrainer", TYPE_LOGARITHMIC},
      {"ExponentialRegressionTrainer", TYPE_EXPONENTIAL},
      {"LogisticRegressionTrainer", TYPE_LOGISTIC},
  };
  size_t n = strlen(trainer_name);
  const char *us = strrchr(trainer_name, '_');
  if (us && us[1] && strspn(us + 1, "0123456789") == strlen(us + 1))
    n = us - trainer_name;
  for (size_t i = 0; i < sizeof curves / sizeof curves[0]; i++)
    if (strlen(curves[i].trainer) == n &&
        strncmp(curves[i].trainer, trainer_name, n) == 0) {
      j->linear = false;
      j->type = curves[i].type;
      return 0;
    }
  if (strstr(trainer_name, "Regressor") ||
      strstr(trainer_name, "LinearRegression")) {
    j->linear = true;
    j->type = TYPE_LINEAR;
    return 0;
  }
  return model_fail(j->err, j->errlen, j->origin, 1,
                    "trainer \"%s\" is not supported (supported: "
                    "LogarithmicRegressionTrainer, "
                    "ExponentialRegressionTrainer, LogisticRegressionTrainer "
                    "and linear ones: *Regressor*, *LinearRegression*)",
                    trainer_name);
}

static int parse_root(const struct jload *j, json_object *root,
                      struct power_model *m) {
  if (!json_object_is_type(root, json_type_object))
    return jfail(j, 0, "a Kepler model must be a JSON object, got %s",
                 type_name(root));
  bool any = false;
  json_object_object_foreach(root, key, val) {
    size_t at = find_key(j, key, 0);
    int c = component_by_name(key);
    if (c >= 0) {
      if (parse_component(j, at, key, val, &m->comp[c]))
        return -1;
      any = true;
    } else if (strcmp(key, "model_name") == 0) {
      /* A model server's answer names its model. A NUL inside ("\u0000")
       * would cut the name, "" at worst: a name our YAML cannot carry. */
      if (!json_object_is_type(val, json_type_string) ||
          json_object_get_string_len(val) == 0 ||
          strlen(json_object_get_string(val)) !=
              (size_t)json_object_get_string_len(val))
        return jfail(j, at,
                     "\"model_name\" must be a non-empty string without "
                     "NUL characters");
      free(m->name);
      if (!(m->name = strdup(json_object_get_string(val))))
        return jfail(j, at, "out of memory");
    } else if (strcmp(key, "mae") == 0) {
      if (get_number(j, at, "\"mae\"", val, &m->mae_w))
        return -1;
    } else if (strcmp(key, "machine_spec") != 0) {
      /* machine_spec (a server's answer) is accepted and not used. */
      return jfail(j, at, "component \"%s\" is not one of " COMPONENT_NAMES,
                   key);
    }
  }
  if (!any)
    return jfail(j, 0, "the model has no component");
  return 0;
}

/* Parses the whole text as one JSON value; NULL after writing the error. */
static json_object *parse_json(const struct jload *j) {
  json_tokener *tok = json_tokener_new();
  if (!tok) {
    jfail(j, 0, "out of memory");
    return NULL;
  }
  /* Strict: RFC 8259 only, and nothing but blanks after the object. */
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
  json_object *root = json_tokener_parse_ex(tok, j->text, (int)j->len);
  enum json_tokener_error e = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (!root) {
    if (e == json_tokener_continue)
      jfail(j, j->len, "JSON syntax error: unexpected end of the text");
    else
      jfail(j, end, "JSON syntax error: %s", json_tokener_error_desc(e));
    return NULL;
  }
  return root;
}

int model_load_kepler_json(const char *text, size_t len, const char *origin,
                           const char *trainer_name, enum model_output output,
                           struct power_model **out, char *err, size_t errlen) {
  struct jload j = {.text = text ? text : "",
                    .len = text ? len : 0,
                    .origin = origin ? origin : "(model)",
                    .err = err,
                    .errlen = errlen};
  if (!trainer_name || !*trainer_name)
    return model_fail(err, errlen, j.origin, 1, "no trainer name");
  if (j.len > INT32_MAX)
    return model_fail(err, errlen, j.origin, 1, "too large for a model");
  if (trainer_type(&j, trainer_name))
    return -1;
  json_object *root = parse_json(&j);
  if (!root)
    return -1;
  struct power_model *m = model_new();
  int rc = -1;
  if (!m || !(m->name = strdup(trainer_name)) ||
      asprintf(&m->source, "Kepler weight JSON %s", j.origin) < 0) {
    if (m)
      m->source = NULL;
    jfail(&j, 0, "out of memory");
    goto done;
  }
  m->output = output;
  if (parse_root(&j, root, m))
    goto done;
  *out = m;
  m = NULL;
  rc = 0;
done:
  model_free(m);
  json_object_put(root);
  return rc;
}
