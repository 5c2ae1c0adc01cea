// SPDX-License-Identifier: GPL-2.0-only
/* Our YAML model format (models/README.md) into a struct power_model.
 *
 * The loader reads the whole text with libyaml's document API and then walks
 * the node tree. Every mapping is read through a table of the keys it may
 * hold (get_fields), so unknown, duplicate and missing keys are rejected in
 * one place. A component's "type" selects its parser (component_parsers[]);
 * its equation is in model.c. */
#include "model_yaml.h"

#include "model_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --- Parsing helpers ----------------------------------------------------- */

struct parse {
  yaml_document_t *doc;
  const char *origin;
  char *err;
  size_t errlen;
};

#define fail_at(p, line, ...)                                                  \
  model_fail((p)->err, (p)->errlen, (p)->origin, (line), __VA_ARGS__)
#define fail(p, node, ...)                                                     \
  fail_at((p), (node)->start_mark.line + 1, __VA_ARGS__)

static yaml_node_t *node(struct parse *p, int id) {
  return yaml_document_get_node(p->doc, id);
}

/* The text of a scalar node, or NULL for a mapping or sequence. */
static const char *scalar(const yaml_node_t *n) {
  return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
                                     : NULL;
}

/* How a node looks, for "got ..." in messages. */
static const char *describe(const yaml_node_t *n, char *buf, size_t len) {
  const char *s = scalar(n);
  if (n->type == YAML_MAPPING_NODE)
    return "a mapping";
  if (n->type == YAML_SEQUENCE_NODE)
    return "a sequence";
  if (!s || s[0] == '\0')
    return "an empty value";
  snprintf(buf, len, "\"%s\"", s);
  return buf;
}

static size_t pair_count(const yaml_node_t *map) {
  return map->data.mapping.pairs.top - map->data.mapping.pairs.start;
}

#define for_each_pair(pair, map)                                               \
  for (yaml_node_pair_t *pair = (map)->data.mapping.pairs.start;               \
       pair < (map)->data.mapping.pairs.top; pair++)

/* A key a mapping may hold; get_fields fills in value. */
struct field {
  const char *key;
  bool required;
  yaml_node_t *value;
};

/* Reads mapping `map` into fields f[0..n). `where` says where the mapping is,
 * for messages ("at top level", "in component \"dram\""). */
static int get_fields(struct parse *p, yaml_node_t *map, const char *where,
                      struct field *f, size_t n) {
  for_each_pair(pair, map) {
    yaml_node_t *k = node(p, pair->key);
    const char *key = scalar(k);
    if (!key)
      return fail(p, k, "keys must be strings %s", where);
    size_t i = 0;
    while (i < n && strcmp(f[i].key, key) != 0)
      i++;
    if (i == n)
      return fail(p, k, "unknown key \"%s\" %s", key, where);
    if (f[i].value)
      return fail(p, k, "duplicate key \"%s\" %s", key, where);
    f[i].value = node(p, pair->value);
  }
  for (size_t i = 0; i < n; i++)
    if (f[i].required && !f[i].value)
      return fail(p, map, "missing required key \"%s\" %s", f[i].key, where);
  return 0;
}

static int want_mapping(struct parse *p, const char *what, yaml_node_t *n) {
  char buf[128];
  if (n->type == YAML_MAPPING_NODE)
    return 0;
  return fail(p, n, "%s must be a mapping, got %s", what,
              describe(n, buf, sizeof buf));
}

static int want_sequence(struct parse *p, const char *what, yaml_node_t *n) {
  char buf[128];
  if (n->type == YAML_SEQUENCE_NODE)
    return 0;
  return fail(p, n, "%s must be a sequence, got %s", what,
              describe(n, buf, sizeof buf));
}

/* A mapping's key that names something (a feature, a component, ...). */
static int get_key(struct parse *p, yaml_node_pair_t *pair, const char *what,
                   const char *where, const char **out) {
  yaml_node_t *k = node(p, pair->key);
  if (!(*out = scalar(k)) || **out == '\0')
    return fail(p, k, "%s must be non-empty strings %s", what, where);
  return 0;
}

/* A finite number: the whole scalar, parsed by strtod. */
static bool is_number(const yaml_node_t *n, double *out) {
  const char *s = scalar(n);
  if (!s || n->data.scalar.length == 0 || isspace((unsigned char)s[0]))
    return false;
  char *end;
  double d = strtod(s, &end);
  if (end != s + n->data.scalar.length || !isfinite(d))
    return false;
  *out = d;
  return true;
}

static int get_number(struct parse *p, const char *key, yaml_node_t *n,
                      double *out) {
  char buf[128];
  if (is_number(n, out))
    return 0;
  return fail(p, n, "\"%s\" must be a number, got %s", key,
              describe(n, buf, sizeof buf));
}

static int get_positive(struct parse *p, const char *key, yaml_node_t *n,
                        double *out) {
  if (get_number(p, key, n, out))
    return -1;
  if (!(*out > 0))
    return fail(p, n, "\"%s\" must be greater than 0, got %.17g", key, *out);
  return 0;
}

/* A non-empty string without NUL bytes, copied to *out. */
static int get_string(struct parse *p, const char *key, yaml_node_t *n,
                      char **out) {
  char buf[128];
  const char *s = scalar(n);
  if (!s || n->data.scalar.length == 0 || strlen(s) != n->data.scalar.length)
    return fail(p, n, "\"%s\" must be a non-empty string, got %s", key,
                describe(n, buf, sizeof buf));
  char *copy = strdup(s);
  if (!copy)
    return fail(p, n, "out of memory");
  free(*out);
  *out = copy;
  return 0;
}

/* A sequence of exactly n numbers (n = 0: any length up to max, stored in
 * *got). `what` names it in messages. */
static int get_numbers(struct parse *p, const char *what, yaml_node_t *n,
                       double *out, size_t want, size_t max, size_t *got) {
  if (want_sequence(p, what, n))
    return -1;
  size_t len = n->data.sequence.items.top - n->data.sequence.items.start;
  if (want && len != want)
    return fail(p, n, "%s must hold %zu numbers, got %zu", what, want, len);
  if (!want && (len < 2 || len > max))
    return fail(p, n, "%s must hold 2 to %zu numbers, got %zu", what, max, len);
  for (size_t i = 0; i < len; i++) {
    yaml_node_t *item = node(p, n->data.sequence.items.start[i]);
    char buf[128];
    if (!is_number(item, &out[i]))
      return fail(p, item, "%s must hold numbers, got %s", what,
                  describe(item, buf, sizeof buf));
  }
  if (got)
    *got = len;
  return 0;
}

/* --- Components ---------------------------------------------------------- */

/* One numerical feature: { weight: W, scale: S, mean: M, variance: V };
 * weight only (and then required) in a linear component. */
static int parse_term(struct parse *p, const char *comp, bool linear,
                      yaml_node_t *n, struct term *t) {
  char where[128];
  snprintf(where, sizeof where, "in feature \"%s\" of component \"%s\"",
           input_name(t->input), comp);
  if (n->type != YAML_MAPPING_NODE) {
    char buf[128];
    return fail(
        p, n, "feature \"%s\" in component \"%s\" must be a mapping %s, got %s",
        input_name(t->input), comp,
        linear ? "{ weight: W, scale: S }" : "{ scale: S }",
        describe(n, buf, sizeof buf));
  }
  enum { F_SCALE, F_MEAN, F_VARIANCE, F_WEIGHT };
  struct field f[] = {
      [F_SCALE] = {"scale", false, NULL},
      [F_MEAN] = {"mean", false, NULL},
      [F_VARIANCE] = {"variance", false, NULL},
      [F_WEIGHT] = {"weight", true, NULL},
  };
  if (get_fields(p, n, where, f, linear ? 4 : 3))
    return -1;
  t->scale = 1;
  if ((linear && get_number(p, "weight", f[F_WEIGHT].value, &t->weight)) ||
      (f[F_SCALE].value &&
       get_number(p, "scale", f[F_SCALE].value, &t->scale)) ||
      (f[F_MEAN].value && get_number(p, "mean", f[F_MEAN].value, &t->mean)) ||
      (f[F_VARIANCE].value &&
       get_number(p, "variance", f[F_VARIANCE].value, &t->variance)))
    return -1;
  if (t->variance < 0)
    return fail(p, f[F_VARIANCE].value,
                "\"variance\" must not be negative, got %.17g", t->variance);
  return 0;
}

/* weights: FEATURE: {...}, kept in file order (a curve fit's x0 is the
 * first). */
static int parse_weights(struct parse *p, const char *comp, bool linear,
                         yaml_node_t *n, struct component_model *cm) {
  char where[64];
  snprintf(where, sizeof where, "in component \"%s\"", comp);
  if (want_mapping(p, "\"weights\"", n))
    return -1;
  for_each_pair(pair, n) {
    const char *name;
    if (get_key(p, pair, "feature names", where, &name))
      return -1;
    yaml_node_t *k = node(p, pair->key);
    int input = input_by_name(name);
    if (input < 0)
      return fail(p, k, "unknown feature \"%s\" %s", name, where);
    for (size_t i = 0; i < cm->nterms; i++)
      if (cm->terms[i].input == input)
        return fail(p, k, "duplicate feature \"%s\" %s", name, where);
    struct term *t = &cm->terms[cm->nterms++];
    t->input = input;
    if (parse_term(p, comp, linear, node(p, pair->value), t))
      return -1;
  }
  return 0;
}

/* categorical: { cpu_architecture: { VALUE: WEIGHT, ... } } */
static int parse_categorical(struct parse *p, const char *comp, yaml_node_t *n,
                             struct component_model *cm) {
  char where[96];
  snprintf(where, sizeof where, "in \"categorical\" of component \"%s\"", comp);
  if (want_mapping(p, "\"categorical\"", n))
    return -1;
  struct field f[] = {{"cpu_architecture", false, NULL}};
  if (get_fields(p, n, where, f, ARRAY_SIZE(f)))
    return -1;
  if (!f[0].value)
    return 0;
  if (want_mapping(p, "\"cpu_architecture\"", f[0].value))
    return -1;
  snprintf(where, sizeof where, "in \"cpu_architecture\" of component \"%s\"",
           comp);
  for_each_pair(pair, f[0].value) {
    const char *value;
    double w;
    if (get_key(p, pair, "architecture names", where, &value) ||
        get_number(p, value, node(p, pair->value), &w))
      return -1;
    for (size_t i = 0; i < cm->cat.n; i++)
      if (strcmp(cm->cat.v[i].value, value) == 0)
        return fail(p, node(p, pair->key), "duplicate architecture \"%s\" %s",
                    value, where);
    if (categorical_add(&cm->cat, value, w))
      return fail(p, node(p, pair->key), "out of memory");
  }
  return 0;
}

static int parse_linear(struct parse *p, const char *comp, yaml_node_t *n,
                        struct component_model *cm) {
  char where[64];
  snprintf(where, sizeof where, "in component \"%s\"", comp);
  enum { F_TYPE, F_BIAS, F_WEIGHTS, F_CATEGORICAL };
  struct field f[] = {
      [F_TYPE] = {"type", false, NULL},
      [F_BIAS] = {"bias", false, NULL},
      [F_WEIGHTS] = {"weights", false, NULL},
      [F_CATEGORICAL] = {"categorical", false, NULL},
  };
  if (get_fields(p, n, where, f, ARRAY_SIZE(f)))
    return -1;
  if (f[F_BIAS].value && get_number(p, "bias", f[F_BIAS].value, &cm->bias))
    return -1;
  if (f[F_WEIGHTS].value &&
      parse_weights(p, comp, true, f[F_WEIGHTS].value, cm))
    return -1;
  if (f[F_CATEGORICAL].value &&
      parse_categorical(p, comp, f[F_CATEGORICAL].value, cm))
    return -1;
  return 0;
}

/* logarithmic, exponential, logistic: weights (scales; the first feature is
 * x0), curve and categorical. */
static int parse_curve(struct parse *p, const char *comp, yaml_node_t *n,
                       struct component_model *cm) {
  char where[64], what[96];
  snprintf(where, sizeof where, "in component \"%s\"", comp);
  enum { F_TYPE, F_WEIGHTS, F_CURVE, F_CATEGORICAL };
  struct field f[] = {
      [F_TYPE] = {"type", true, NULL},
      [F_WEIGHTS] = {"weights", true, NULL},
      [F_CURVE] = {"curve", true, NULL},
      [F_CATEGORICAL] = {"categorical", false, NULL},
  };
  if (get_fields(p, n, where, f, ARRAY_SIZE(f)) ||
      parse_weights(p, comp, false, f[F_WEIGHTS].value, cm))
    return -1;
  if (cm->nterms == 0)
    return fail(p, f[F_WEIGHTS].value,
                "\"weights\" of component \"%s\" must hold at least one "
                "feature (the first is x0)",
                comp);
  snprintf(what, sizeof what, "\"curve\" of %s component \"%s\"",
           component_type_name(cm->type), comp);
  if (get_numbers(p, what, f[F_CURVE].value, cm->curve, curve_length(cm->type),
                  0, NULL))
    return -1;
  if (f[F_CATEGORICAL].value &&
      parse_categorical(p, comp, f[F_CATEGORICAL].value, cm))
    return -1;
  return 0;
}

/* A list with one number per level of load curve lc. */
static int get_level_values(struct parse *p, const char *key, const char *comp,
                            yaml_node_t *n, const struct load_curve *lc,
                            double *out) {
  char what[128];
  snprintf(what, sizeof what,
           "\"%s\" (one number per level) of component \"%s\"", key, comp);
  return get_numbers(p, what, n, out, lc->n, 0, NULL);
}

static int parse_levels(struct parse *p, const char *comp, yaml_node_t *n,
                        struct load_curve *lc) {
  char what[64];
  snprintf(what, sizeof what, "\"levels\" of component \"%s\"", comp);
  if (get_numbers(p, what, n, lc->level, 0, MODEL_MAX_LEVELS, &lc->n))
    return -1;
  if (lc->level[0] != 0 || lc->level[lc->n - 1] != 1)
    return fail(p, n, "%s must start at 0 and end at 1", what);
  for (size_t j = 1; j < lc->n; j++)
    if (!(lc->level[j] > lc->level[j - 1]))
      return fail(p, n, "%s must be strictly increasing", what);
  return 0;
}

static int parse_utilization(struct parse *p, const char *comp, yaml_node_t *n,
                             struct load_curve *lc) {
  char where[96];
  snprintf(where, sizeof where, "in \"utilization\" of component \"%s\"", comp);
  if (want_mapping(p, "\"utilization\"", n))
    return -1;
  struct field f[] = {{"feature", true, NULL}, {"scale", true, NULL}};
  if (get_fields(p, n, where, f, ARRAY_SIZE(f)))
    return -1;
  char buf[128];
  const char *name = scalar(f[0].value);
  if (!name || (lc->input = input_by_name(name)) < 0)
    return fail(p, f[0].value, "unknown feature %s %s",
                describe(f[0].value, buf, sizeof buf), where);
  return get_positive(p, "scale", f[1].value, &lc->scale);
}

static int parse_terms(struct parse *p, const char *comp, yaml_node_t *n,
                       struct load_curve *lc) {
  char where[96];
  snprintf(where, sizeof where, "in \"terms\" of component \"%s\"", comp);
  if (want_mapping(p, "\"terms\"", n))
    return -1;
  struct field f[LC_TERM_MAX];
  for (int t = 0; t < LC_TERM_MAX; t++)
    f[t] = (struct field){lc_term_name(t), false, NULL};
  if (get_fields(p, n, where, f, LC_TERM_MAX))
    return -1;
  for (int t = 0; t < LC_TERM_MAX; t++)
    if ((lc->has_term[t] = f[t].value != NULL) &&
        get_level_values(p, f[t].key, comp, f[t].value, lc, lc->term[t]))
      return -1;
  return 0;
}

static int parse_architecture(struct parse *p, const char *comp, yaml_node_t *n,
                              struct load_curve *lc) {
  char where[96];
  snprintf(where, sizeof where, "in \"architecture\" of component \"%s\"",
           comp);
  if (want_mapping(p, "\"architecture\"", n))
    return -1;
  lc->arch = calloc(pair_count(n) ? pair_count(n) : 1, sizeof *lc->arch);
  if (!lc->arch)
    return fail(p, n, "out of memory");
  for_each_pair(pair, n) {
    const char *name;
    if (get_key(p, pair, "architecture names", where, &name))
      return -1;
    for (size_t a = 0; a < lc->narch; a++)
      if (strcmp(lc->arch[a].name, name) == 0)
        return fail(p, node(p, pair->key), "duplicate architecture \"%s\" %s",
                    name, where);
    struct lc_arch *a = &lc->arch[lc->narch];
    if (!(a->name = strdup(name)))
      return fail(p, n, "out of memory");
    lc->narch++;
    if (get_level_values(p, name, comp, node(p, pair->value), lc, a->v))
      return -1;
  }
  return 0;
}

static int parse_vm_host(struct parse *p, const char *comp, yaml_node_t *n,
                         struct load_curve *lc) {
  char where[96];
  snprintf(where, sizeof where, "in \"vm_host\" of component \"%s\"", comp);
  if (want_mapping(p, "\"vm_host\"", n))
    return -1;
  struct field f[] = {{"chips", true, NULL},
                      {"cores", true, NULL},
                      {"threads", true, NULL},
                      {"memory_gb", true, NULL}};
  double *out[] = {&lc->vm_host.chips, &lc->vm_host.cores, &lc->vm_host.threads,
                   &lc->vm_host.memory_gb};
  if (get_fields(p, n, where, f, ARRAY_SIZE(f)))
    return -1;
  for (size_t i = 0; i < ARRAY_SIZE(f); i++)
    if (get_positive(p, f[i].key, f[i].value, out[i]))
      return -1;
  lc->has_vm_host = true;
  return 0;
}

static int parse_form(struct parse *p, const char *comp, yaml_node_t *n,
                      struct load_curve *lc) {
  char buf[128];
  const char *s = scalar(n);
  if (!s)
    return fail(p, n, "\"form\" of component \"%s\" must be a string, got %s",
                comp, describe(n, buf, sizeof buf));
  if (strcmp(s, "absolute") == 0 || strcmp(s, "above_idle") == 0) {
    lc->above_idle = strcmp(s, "above_idle") == 0;
    return 0;
  }
  return fail(p, n,
              "form \"%s\" of component \"%s\" is not one of absolute, "
              "above_idle",
              s, comp);
}

static int parse_load_curve(struct parse *p, const char *comp, yaml_node_t *n,
                            struct component_model *cm) {
  char where[64];
  snprintf(where, sizeof where, "in component \"%s\"", comp);
  enum {
    F_TYPE,
    F_UTILIZATION,
    F_LEVELS,
    F_INTERCEPT,
    F_TERMS,
    F_ARCHITECTURE,
    F_VM_HOST,
    F_FORM
  };
  struct field f[] = {
      [F_TYPE] = {"type", true, NULL},
      [F_UTILIZATION] = {"utilization", true, NULL},
      [F_LEVELS] = {"levels", true, NULL},
      [F_INTERCEPT] = {"intercept", true, NULL},
      [F_TERMS] = {"terms", false, NULL},
      [F_ARCHITECTURE] = {"architecture", false, NULL},
      [F_VM_HOST] = {"vm_host", false, NULL},
      [F_FORM] = {"form", false, NULL},
  };
  struct load_curve *lc = &cm->lc;
  if (get_fields(p, n, where, f, ARRAY_SIZE(f)) ||
      parse_utilization(p, comp, f[F_UTILIZATION].value, lc) ||
      parse_levels(p, comp, f[F_LEVELS].value, lc) ||
      get_level_values(p, "intercept", comp, f[F_INTERCEPT].value, lc,
                       lc->intercept))
    return -1;
  if (f[F_TERMS].value && parse_terms(p, comp, f[F_TERMS].value, lc))
    return -1;
  if (f[F_ARCHITECTURE].value &&
      parse_architecture(p, comp, f[F_ARCHITECTURE].value, lc))
    return -1;
  if (f[F_VM_HOST].value && parse_vm_host(p, comp, f[F_VM_HOST].value, lc))
    return -1;
  if (f[F_FORM].value && parse_form(p, comp, f[F_FORM].value, lc))
    return -1;
  return 0;
}

static int (*const component_parsers[TYPE_MAX])(struct parse *p,
                                                const char *comp,
                                                yaml_node_t *n,
                                                struct component_model *cm) = {
    [TYPE_LINEAR] = parse_linear,         [TYPE_LOGARITHMIC] = parse_curve,
    [TYPE_EXPONENTIAL] = parse_curve,     [TYPE_LOGISTIC] = parse_curve,
    [TYPE_LOAD_CURVE] = parse_load_curve,
};

static int parse_component(struct parse *p, enum kepler_component c,
                           yaml_node_t *n, struct component_model *cm) {
  char what[64], buf[128];
  snprintf(what, sizeof what, "component \"%s\"", component_name(c));
  if (want_mapping(p, what, n))
    return -1;
  /* Only find the type here; its parser reads (and checks) all keys. */
  const char *type = "linear";
  yaml_node_t *type_node = NULL;
  for_each_pair(pair, n) {
    const char *key = scalar(node(p, pair->key));
    if (key && strcmp(key, "type") == 0) {
      type_node = node(p, pair->value);
      type = scalar(type_node);
      if (!type)
        return fail(p, type_node, "\"type\" must be a string, got %s",
                    describe(type_node, buf, sizeof buf));
      break;
    }
  }
  for (int t = 0; t < TYPE_MAX; t++)
    if (strcmp(component_type_name(t), type) == 0) {
      cm->present = true;
      cm->type = t;
      return component_parsers[t](p, component_name(c), n, cm);
    }
  return fail(p, type_node ? type_node : n,
              "type \"%s\" of component \"%s\" is not supported (supported: "
              "linear, logarithmic, exponential, logistic, load_curve)",
              type, component_name(c));
}

static int parse_components(struct parse *p, yaml_node_t *n,
                            struct power_model *m) {
  if (want_mapping(p, "\"components\"", n))
    return -1;
  if (pair_count(n) == 0)
    return fail(p, n, "\"components\" must hold at least one component");
  for_each_pair(pair, n) {
    yaml_node_t *k = node(p, pair->key);
    const char *name = scalar(k);
    if (!name)
      return fail(p, k, "component names must be strings");
    int c = component_by_name(name);
    if (c < 0)
      return fail(p, k, "component \"%s\" is not one of " COMPONENT_NAMES,
                  name);
    if (m->comp[c].present)
      return fail(p, k, "duplicate component \"%s\"", name);
    if (parse_component(p, c, node(p, pair->value), &m->comp[c]))
      return -1;
  }
  return 0;
}

/* --- The model file ------------------------------------------------------ */

static int parse_error_block(struct parse *p, yaml_node_t *n,
                             struct power_model *m) {
  if (want_mapping(p, "\"error\"", n))
    return -1;
  struct field fields[] = {{"mae_w", false, NULL}, {"mape_pct", false, NULL}};
  if (get_fields(p, n, "in \"error\"", fields, ARRAY_SIZE(fields)))
    return -1;
  if (fields[0].value && get_number(p, "mae_w", fields[0].value, &m->mae_w))
    return -1;
  if (fields[1].value &&
      get_number(p, "mape_pct", fields[1].value, &m->mape_pct))
    return -1;
  return 0;
}

static int parse_trained_on(struct parse *p, yaml_node_t *n,
                            struct power_model *m) {
  if (want_mapping(p, "\"trained_on\"", n))
    return -1;
  struct trained_on *t = &m->trained_on;
  struct field f[] = {{"cores", false, NULL},   {"chips", false, NULL},
                      {"threads", false, NULL}, {"memory_gb", false, NULL},
                      {"mhz", false, NULL},     {"cpu", false, NULL}};
  double *out[] = {&t->cores, &t->chips, &t->threads, &t->memory_gb, &t->mhz};
  if (get_fields(p, n, "in \"trained_on\"", f, ARRAY_SIZE(f)))
    return -1;
  for (size_t i = 0; i < ARRAY_SIZE(out); i++)
    if (f[i].value && get_positive(p, f[i].key, f[i].value, out[i]))
      return -1;
  if (f[5].value && get_string(p, "cpu", f[5].value, &t->cpu))
    return -1;
  return 0;
}

/* A "match" pattern is bounded in length and in the size it takes once its
 * repetitions are expanded, as glibc's regcomp expands them ('+' copies its
 * operand once more, {n,m} max(n, m) times): regcomp allocates in proportion
 * to that size, and repetitions of repetitions ("a++++", "(a{9}){9}") grow
 * it exponentially. */
#define RE_MAX_LEN 256
#define RE_MAX_SIZE 1024
#define RE_MAX_DEPTH 16

/* The end of the bracket expression that starts at s ('['). */
static const char *re_bracket_end(const char *s) {
  s++;
  if (*s == '^')
    s++;
  if (*s == ']')
    s++;
  while (*s && *s != ']') {
    if (s[0] == '[' && (s[1] == ':' || s[1] == '.' || s[1] == '=')) {
      const char *close = strchr(s + 2, s[1]);
      while (close && close[1] != ']')
        close = strchr(close + 1, s[1]);
      if (!close)
        return s + strlen(s);
      s = close + 2;
    } else {
      s++;
    }
  }
  return *s ? s + 1 : s;
}

/* The count a "{n}", "{n,}", "{n,m}" or "{,m}" at s repeats its operand
 * (the larger bound, n + 1 for "{n,}"), and its end in *end; 0 when s does
 * not start an interval. */
static size_t re_interval(const char *s, const char **end) {
  char *e = (char *)s + 1;
  unsigned long n = 0, m;
  if (!isdigit((unsigned char)*e) && *e != ',')
    return 0;
  if (isdigit((unsigned char)*e))
    n = strtoul(e, &e, 10);
  m = n;
  if (*e == ',') {
    e++;
    m = isdigit((unsigned char)*e) ? strtoul(e, &e, 10) : n + 1;
  }
  if (*e != '}')
    return 0;
  *end = e + 1;
  unsigned long k = n > m ? n : m;
  return k > RE_MAX_SIZE ? RE_MAX_SIZE + 1 : (k ? k : 1);
}

/* The expanded size of an extended regex, or RE_MAX_SIZE + 1 once it is
 * larger than RE_MAX_SIZE or nests groups deeper than RE_MAX_DEPTH. */
static size_t re_expanded_size(const char *s) {
  /* total: the size of each open group so far; last: of the operand a
   * repetition that follows applies to. */
  size_t total[RE_MAX_DEPTH + 1] = {0}, last = 0, depth = 0, k;
  while (*s) {
    const char *end = s + 1;
    switch (*s) {
    case '(':
      if (++depth > RE_MAX_DEPTH)
        return RE_MAX_SIZE + 1;
      total[depth] = 0;
      break;
    case '|':
      total[depth]++;
      last = 0;
      break;
    case '*':
    case '?':
      total[depth]++;
      last++;
      break;
    case '+':
      total[depth] += last;
      last *= 2;
      break;
    case '{':
      if ((k = re_interval(s, &end)) != 0) {
        total[depth] += last * (k - 1);
        last *= k;
        break;
      }
      /* A "{" that starts no interval is a character. */
      __attribute__((fallthrough));
    default:
      last = 1;
      if (*s == ')' && depth > 0)
        last = total[depth--] + 1;
      else if (*s == '[')
        end = re_bracket_end(s);
      else if (*s == '\\' && s[1])
        end = s + 2;
      total[depth] += last;
    }
    if (total[depth] > RE_MAX_SIZE || last > RE_MAX_SIZE)
      return RE_MAX_SIZE + 1;
    s = end;
  }
  return total[0];
}

/* cpu_architectures: [ { match: REGEX, name: ARCH }, ... ] */
static int parse_arch_rules(struct parse *p, yaml_node_t *n,
                            struct power_model *m) {
  if (want_sequence(p, "\"cpu_architectures\"", n))
    return -1;
  size_t len = n->data.sequence.items.top - n->data.sequence.items.start;
  m->rules = calloc(len ? len : 1, sizeof *m->rules);
  if (!m->rules)
    return fail(p, n, "out of memory");
  for (size_t i = 0; i < len; i++) {
    yaml_node_t *item = node(p, n->data.sequence.items.start[i]);
    struct field f[] = {{"match", true, NULL}, {"name", true, NULL}};
    struct arch_rule *r = &m->rules[i];
    if (want_mapping(p, "a \"cpu_architectures\" entry", item) ||
        get_fields(p, item, "in \"cpu_architectures\"", f, ARRAY_SIZE(f)) ||
        get_string(p, "match", f[0].value, &r->match) ||
        get_string(p, "name", f[1].value, &r->name))
      goto fail;
    if (strlen(r->match) > RE_MAX_LEN ||
        re_expanded_size(r->match) > RE_MAX_SIZE) {
      fail(p, f[0].value,
           "\"match\" \"%.64s%s\" is too large: at most %d characters and "
           "%d once repetitions are expanded (models/README.md)",
           r->match, strlen(r->match) > 64 ? "..." : "", RE_MAX_LEN,
           RE_MAX_SIZE);
      goto fail;
    }
    int rc = regcomp(&r->re, r->match, REG_EXTENDED | REG_ICASE | REG_NOSUB);
    if (rc != 0) {
      char why[128];
      regerror(rc, &r->re, why, sizeof why);
      fail(p, f[0].value, "\"match\" is not a valid extended regex: %s", why);
      goto fail;
    }
    m->nrules++;
  }
  return 0;
fail:
  /* The failed rule is not counted in nrules: model_free would miss it. */
  free(m->rules[m->nrules].match);
  free(m->rules[m->nrules].name);
  return -1;
}

/* A whole number 0..UINT_MAX: the whole scalar, digits only. */
static bool is_whole(const char *s, size_t len, unsigned *out) {
  if (len == 0 || len > 9)
    return false;
  unsigned v = 0;
  for (size_t i = 0; i < len; i++) {
    if (!isdigit((unsigned char)s[i]))
      return false;
    v = v * 10 + (unsigned)(s[i] - '0');
  }
  *out = v;
  return true;
}

/* models: [N, "LO-HI", ...] (or steppings) into ranges. */
static int get_ranges(struct parse *p, const char *key, yaml_node_t *n,
                      struct cpuid_range *r, size_t *count) {
  char buf[128];
  if (want_sequence(p, key, n))
    return -1;
  size_t len = n->data.sequence.items.top - n->data.sequence.items.start;
  if (len == 0 || len > CPUID_MAX_RANGES)
    return fail(p, n, "\"%s\" must hold 1 to %d numbers or ranges, got %zu",
                key, CPUID_MAX_RANGES, len);
  for (size_t i = 0; i < len; i++) {
    yaml_node_t *item = node(p, n->data.sequence.items.start[i]);
    const char *v = scalar(item);
    const char *dash = v ? strchr(v, '-') : NULL;
    bool ok = v && (dash ? is_whole(v, (size_t)(dash - v), &r[i].lo) &&
                               is_whole(dash + 1, strlen(dash + 1), &r[i].hi)
                         : is_whole(v, strlen(v), &r[i].lo));
    if (ok && !dash)
      r[i].hi = r[i].lo;
    if (!ok || r[i].hi < r[i].lo)
      return fail(p, item,
                  "\"%s\" must hold whole numbers N or ranges LO-HI (LO <= "
                  "HI), got %s",
                  key, describe(item, buf, sizeof buf));
  }
  *count = len;
  return 0;
}

/* cpuid_rules: [ { vendor: V, family: F, models: [...], steppings: [...],
 * hypervisor: true|false, name: ARCH }, ... ] */
static int parse_cpuid_rules(struct parse *p, yaml_node_t *n,
                             struct power_model *m) {
  if (want_sequence(p, "\"cpuid_rules\"", n))
    return -1;
  size_t len = n->data.sequence.items.top - n->data.sequence.items.start;
  m->cpuid = calloc(len ? len : 1, sizeof *m->cpuid);
  if (!m->cpuid)
    return fail(p, n, "out of memory");
  for (size_t i = 0; i < len; i++) {
    yaml_node_t *item = node(p, n->data.sequence.items.start[i]);
    enum { F_VENDOR, F_FAMILY, F_MODELS, F_STEPPINGS, F_HYPERVISOR, F_NAME };
    struct field f[] = {
        [F_VENDOR] = {"vendor", true, NULL},
        [F_FAMILY] = {"family", true, NULL},
        [F_MODELS] = {"models", false, NULL},
        [F_STEPPINGS] = {"steppings", false, NULL},
        [F_HYPERVISOR] = {"hypervisor", false, NULL},
        [F_NAME] = {"name", true, NULL},
    };
    /* Counted at once, so that model_free frees a half-read rule. */
    struct cpuid_rule *r = &m->cpuid[m->ncpuid++];
    r->hypervisor = -1;
    char buf[128];
    const char *fam;
    if (want_mapping(p, "a \"cpuid_rules\" entry", item) ||
        get_fields(p, item, "in \"cpuid_rules\"", f, ARRAY_SIZE(f)) ||
        get_string(p, "vendor", f[F_VENDOR].value, &r->vendor) ||
        get_string(p, "name", f[F_NAME].value, &r->name))
      return -1;
    fam = scalar(f[F_FAMILY].value);
    if (!fam || !is_whole(fam, strlen(fam), &r->family) || r->family == 0)
      return fail(p, f[F_FAMILY].value,
                  "\"family\" must be a whole number above 0, got %s",
                  describe(f[F_FAMILY].value, buf, sizeof buf));
    if ((f[F_MODELS].value &&
         get_ranges(p, "models", f[F_MODELS].value, r->models, &r->nmodels)) ||
        (f[F_STEPPINGS].value &&
         get_ranges(p, "steppings", f[F_STEPPINGS].value, r->steppings,
                    &r->nsteppings)))
      return -1;
    if (f[F_HYPERVISOR].value) {
      const char *h = scalar(f[F_HYPERVISOR].value);
      if (h && strcmp(h, "true") == 0)
        r->hypervisor = 1;
      else if (h && strcmp(h, "false") == 0)
        r->hypervisor = 0;
      else
        return fail(p, f[F_HYPERVISOR].value,
                    "\"hypervisor\" must be true or false, got %s",
                    describe(f[F_HYPERVISOR].value, buf, sizeof buf));
    }
  }
  return 0;
}

/* tdp: { by_cpu: { KEY: W, ... }, estimate: { intercept: A,
 * ln_cores_per_chip: B, ln_mhz: C, architecture: { ARCH: D, ... } } }:
 * W per chip by CPU name key (model_cpu_key), else estimated. */
static int parse_tdp(struct parse *p, yaml_node_t *n, struct power_model *m) {
  if (want_mapping(p, "\"tdp\"", n))
    return -1;
  struct field f[] = {{"by_cpu", false, NULL}, {"estimate", false, NULL}};
  if (get_fields(p, n, "in \"tdp\"", f, ARRAY_SIZE(f)))
    return -1;
  if (f[0].value) {
    if (want_mapping(p, "\"by_cpu\"", f[0].value))
      return -1;
    m->tdp = calloc(pair_count(f[0].value) ? pair_count(f[0].value) : 1,
                    sizeof *m->tdp);
    if (!m->tdp)
      return fail(p, f[0].value, "out of memory");
    for_each_pair(pair, f[0].value) {
      const char *key;
      if (get_key(p, pair, "CPU keys", "in \"by_cpu\"", &key))
        return -1;
      for (size_t i = 0; i < m->ntdp; i++)
        if (strcmp(m->tdp[i].cpu, key) == 0)
          return fail(p, node(p, pair->key),
                      "duplicate CPU \"%s\" in \"by_cpu\"", key);
      struct tdp_entry *e = &m->tdp[m->ntdp];
      if (get_positive(p, key, node(p, pair->value), &e->w))
        return -1;
      if (!(e->cpu = strdup(key)))
        return fail(p, node(p, pair->key), "out of memory");
      m->ntdp++;
    }
  }
  if (!f[1].value)
    return 0;
  if (want_mapping(p, "\"estimate\"", f[1].value))
    return -1;
  struct field e[] = {{"intercept", true, NULL},
                      {"ln_cores_per_chip", true, NULL},
                      {"ln_mhz", true, NULL},
                      {"architecture", false, NULL}};
  if (get_fields(p, f[1].value, "in \"estimate\"", e, ARRAY_SIZE(e)) ||
      get_number(p, "intercept", e[0].value, &m->tdp_intercept) ||
      get_number(p, "ln_cores_per_chip", e[1].value,
                 &m->tdp_ln_cores_per_chip) ||
      get_number(p, "ln_mhz", e[2].value, &m->tdp_ln_mhz))
    return -1;
  m->has_tdp_estimate = true;
  if (!e[3].value)
    return 0;
  if (want_mapping(p, "\"architecture\" of \"estimate\"", e[3].value))
    return -1;
  m->tdp_arch = calloc(pair_count(e[3].value) ? pair_count(e[3].value) : 1,
                       sizeof *m->tdp_arch);
  if (!m->tdp_arch)
    return fail(p, e[3].value, "out of memory");
  for_each_pair(pair, e[3].value) {
    const char *key;
    double w;
    if (get_key(p, pair, "architecture names", "in \"estimate\"", &key) ||
        get_number(p, key, node(p, pair->value), &w))
      return -1;
    for (size_t i = 0; i < m->ntdp_arch; i++)
      if (strcmp(m->tdp_arch[i].name, key) == 0)
        return fail(p, node(p, pair->key),
                    "duplicate architecture \"%s\" in \"estimate\"", key);
    struct tdp_arch *a = &m->tdp_arch[m->ntdp_arch];
    if (!(a->name = strdup(key)))
      return fail(p, node(p, pair->key), "out of memory");
    a->w = w;
    m->ntdp_arch++;
  }
  return 0;
}

static const char *const output_types[] = {
    [MODEL_ABS_POWER] = "AbsPower",
    [MODEL_DYN_POWER] = "DynPower",
};

static int parse_output_type(struct parse *p, yaml_node_t *n,
                             struct power_model *m) {
  char buf[128];
  const char *s = scalar(n);
  if (!s)
    return fail(p, n, "\"output_type\" must be a string, got %s",
                describe(n, buf, sizeof buf));
  for (size_t i = 0; i < ARRAY_SIZE(output_types); i++)
    if (strcmp(output_types[i], s) == 0) {
      m->output = i;
      return 0;
    }
  return fail(p, n,
              "output_type \"%s\" is not supported (supported: AbsPower, "
              "DynPower)",
              s);
}

static int parse_model(struct parse *p, yaml_node_t *root,
                       struct power_model *m) {
  if (!root)
    return fail_at(p, 1, "the model is empty");
  if (want_mapping(p, "the model", root))
    return -1;
  enum {
    F_NAME,
    F_OUTPUT_TYPE,
    F_SOURCE,
    F_ERROR,
    F_TRAINED_ON,
    F_CPU_ARCHITECTURES,
    F_CPUID_RULES,
    F_TDP,
    F_COMPONENTS
  };
  struct field f[] = {
      [F_NAME] = {"name", true, NULL},
      [F_OUTPUT_TYPE] = {"output_type", true, NULL},
      [F_SOURCE] = {"source", false, NULL},
      [F_ERROR] = {"error", false, NULL},
      [F_TRAINED_ON] = {"trained_on", false, NULL},
      [F_CPU_ARCHITECTURES] = {"cpu_architectures", false, NULL},
      [F_CPUID_RULES] = {"cpuid_rules", false, NULL},
      [F_TDP] = {"tdp", false, NULL},
      [F_COMPONENTS] = {"components", true, NULL},
  };
  if (get_fields(p, root, "at top level", f, ARRAY_SIZE(f)))
    return -1;
  if (get_string(p, "name", f[F_NAME].value, &m->name) ||
      parse_output_type(p, f[F_OUTPUT_TYPE].value, m))
    return -1;
  if (f[F_SOURCE].value &&
      get_string(p, "source", f[F_SOURCE].value, &m->source))
    return -1;
  if (f[F_ERROR].value && parse_error_block(p, f[F_ERROR].value, m))
    return -1;
  if (f[F_TRAINED_ON].value && parse_trained_on(p, f[F_TRAINED_ON].value, m))
    return -1;
  if (f[F_CPU_ARCHITECTURES].value &&
      parse_arch_rules(p, f[F_CPU_ARCHITECTURES].value, m))
    return -1;
  if (f[F_CPUID_RULES].value && parse_cpuid_rules(p, f[F_CPUID_RULES].value, m))
    return -1;
  if (f[F_TDP].value && parse_tdp(p, f[F_TDP].value, m))
    return -1;
  return parse_components(p, f[F_COMPONENTS].value, m);
}

static int syntax_error(struct parse *p, const yaml_parser_t *y,
                        const char *text, size_t len) {
  if (y->error == YAML_MEMORY_ERROR || !y->problem)
    return fail_at(p, y->problem_mark.line + 1, "out of memory parsing YAML");
  if (y->error == YAML_READER_ERROR) {
    /* Reader errors carry a byte offset, not a mark. */
    size_t line = 1, end = y->problem_offset < len ? y->problem_offset : len;
    for (size_t i = 0; i < end; i++)
      line += text[i] == '\n';
    if (y->problem_value >= 0)
      return fail_at(p, line, "YAML syntax error: %s (#%X at byte %zu)",
                     y->problem, (unsigned)y->problem_value, y->problem_offset);
    return fail_at(p, line, "YAML syntax error: %s (at byte %zu)", y->problem,
                   y->problem_offset);
  }
  if (y->context)
    return fail_at(p, y->problem_mark.line + 1,
                   "YAML syntax error: %s (%s started at line %zu)", y->problem,
                   y->context, y->context_mark.line + 1);
  return fail_at(p, y->problem_mark.line + 1, "YAML syntax error: %s",
                 y->problem);
}

/* Loads one YAML document into a new model; the stream must hold no other
 * document. */
static int load(struct parse *p, const char *text, size_t len,
                struct power_model **out) {
  yaml_parser_t y;
  yaml_document_t doc, extra;
  struct power_model *m = NULL;
  int rc = -1;

  if (!yaml_parser_initialize(&y))
    return fail_at(p, 1, "out of memory");
  yaml_parser_set_input_string(&y, (const unsigned char *)text, len);
  if (!yaml_parser_load(&y, &doc)) {
    syntax_error(p, &y, text, len);
    yaml_parser_delete(&y);
    return -1;
  }
  p->doc = &doc;
  if (!yaml_parser_load(&y, &extra)) {
    syntax_error(p, &y, text, len);
    goto done;
  }
  yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
  if (extra_root)
    fail(p, extra_root, "a model holds one YAML document, found another");
  yaml_document_delete(&extra);
  if (extra_root)
    goto done;

  if (!(m = model_new())) {
    fail_at(p, 1, "out of memory");
    goto done;
  }
  if (parse_model(p, yaml_document_get_root_node(&doc), m))
    goto done;
  *out = m;
  m = NULL;
  rc = 0;
done:
  model_free(m);
  yaml_document_delete(&doc);
  yaml_parser_delete(&y);
  return rc;
}

int model_load_buffer(const char *text, size_t len, const char *origin,
                      struct power_model **out, char *err, size_t errlen) {
  struct parse p = {
      .origin = origin ? origin : "(model)", .err = err, .errlen = errlen};
  return load(&p, text ? text : "", text ? len : 0, out);
}
