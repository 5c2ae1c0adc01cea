/* Power models loaded from YAML (format: models/README.md).
 *
 * The loader reads the whole text with libyaml's document API and then walks
 * the node tree. Every mapping is read through a table of the keys it may
 * hold (get_fields), so unknown, duplicate and missing keys are rejected in
 * one place. A component's "type" selects its parser and its predictor:
 * adding a model type means a new enum component_type value, an entry in
 * component_types[] and a case in model_predict(). */
#include "model.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_FILE_SIZE (16 << 20)

static const char *const component_names[COMPONENT_MAX] = {
    [COMPONENT_PACKAGE] = "package",   [COMPONENT_CORE] = "core",
    [COMPONENT_UNCORE] = "uncore",     [COMPONENT_DRAM] = "dram",
    [COMPONENT_PLATFORM] = "platform",
};

const char *component_name(enum kepler_component c) {
  return (unsigned)c < COMPONENT_MAX ? component_names[c] : "unknown";
}

int component_by_name(const char *name) {
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (strcmp(component_names[c], name) == 0)
      return c;
  return -1;
}

/* --- The model ----------------------------------------------------------- */

enum component_type { TYPE_LINEAR };

/* Kepler's linear regressor: P = bias + sum_i weight[i] * (x[i] / scale[i]).
 * A feature with weight 0 or scale 0 contributes nothing. */
struct linear_model {
  double bias;
  double weight[FEATURE_MAX];
  double scale[FEATURE_MAX];
};

struct component_model {
  bool present;
  enum component_type type;
  struct linear_model linear; /* TYPE_LINEAR */
};

struct power_model {
  char *name;
  char *source;    /* NULL when not stated */
  double mae_w;    /* < 0 when not stated */
  double mape_pct; /* < 0 when not stated */
  struct component_model comp[COMPONENT_MAX];
};

void model_free(struct power_model *m) {
  if (!m)
    return;
  free(m->name);
  free(m->source);
  free(m);
}

const char *model_name(const struct power_model *m) {
  return m ? m->name : NULL;
}

double model_mae_watts(const struct power_model *m) {
  return m && m->mae_w >= 0 ? m->mae_w : -1;
}

bool model_has_component(const struct power_model *m, enum kepler_component c) {
  return m && (unsigned)c < COMPONENT_MAX && m->comp[c].present;
}

static bool linear_uses(const struct linear_model *l, enum kepler_feature f) {
  return l->weight[f] != 0 && l->scale[f] != 0;
}

bool model_uses_feature(const struct power_model *m, enum kepler_feature f) {
  if (!m || (unsigned)f >= FEATURE_MAX)
    return false;
  for (int c = 0; c < COMPONENT_MAX; c++) {
    const struct component_model *cm = &m->comp[c];
    if (cm->present && cm->type == TYPE_LINEAR && linear_uses(&cm->linear, f))
      return true;
  }
  return false;
}

/* A non-finite rate counts as 0. */
static double linear_predict(const struct linear_model *l,
                             const double x[FEATURE_MAX]) {
  double p = l->bias;
  for (int f = 0; f < FEATURE_MAX; f++) {
    if (!x || !linear_uses(l, f) || !isfinite(x[f]))
      continue;
    p += l->weight[f] * (x[f] / l->scale[f]);
  }
  return p;
}

double model_predict(const struct power_model *m, enum kepler_component c,
                     const double x[FEATURE_MAX]) {
  if (!model_has_component(m, c))
    return 0;
  const struct component_model *cm = &m->comp[c];
  double p = 0;
  switch (cm->type) {
  case TYPE_LINEAR:
    p = linear_predict(&cm->linear, x);
    break;
  }
  return isfinite(p) && p > 0 ? p : 0;
}

/* --- Parsing helpers ----------------------------------------------------- */

struct parse {
  yaml_document_t *doc;
  const char *origin;
  char *err;
  size_t errlen;
};

/* Writes "ORIGIN:LINE: message" with LINE taken from `line` (1-based). */
static int fail_at(struct parse *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct parse *p, size_t line, const char *fmt, ...) {
  if (!p->err || p->errlen == 0)
    return -1;
  int n = snprintf(p->err, p->errlen, "%s:%zu: ", p->origin, line);
  if (n >= 0 && (size_t)n < p->errlen - 1) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

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
  yaml_node_pair_t *pair;
  for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top;
       pair++) {
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

/* A finite number: the whole scalar, parsed by strtod. */
static int get_number(struct parse *p, const char *key, yaml_node_t *n,
                      double *out) {
  char buf[128];
  const char *s = scalar(n);
  if (s && n->data.scalar.length > 0 && !isspace((unsigned char)s[0])) {
    char *end;
    double d = strtod(s, &end);
    if (end == s + n->data.scalar.length && isfinite(d)) {
      *out = d;
      return 0;
    }
  }
  return fail(p, n, "\"%s\" must be a number, got %s", key,
              describe(n, buf, sizeof buf));
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

/* --- Components ---------------------------------------------------------- */

/* weights: FEATURE: { weight: W, scale: S } */
static int parse_linear_weight(struct parse *p, enum kepler_component c,
                               enum kepler_feature f, yaml_node_t *n,
                               struct linear_model *l) {
  char where[128];
  snprintf(where, sizeof where, "in feature \"%s\" of component \"%s\"",
           feature_name(f), component_name(c));
  if (n->type != YAML_MAPPING_NODE) {
    char buf[128];
    return fail(p, n,
                "feature \"%s\" in component \"%s\" must be a mapping "
                "{ weight: W, scale: S }, got %s",
                feature_name(f), component_name(c),
                describe(n, buf, sizeof buf));
  }
  struct field fields[] = {{"weight", true, NULL}, {"scale", false, NULL}};
  if (get_fields(p, n, where, fields, ARRAY_SIZE(fields)))
    return -1;
  l->scale[f] = 1;
  if (get_number(p, "weight", fields[0].value, &l->weight[f]))
    return -1;
  if (fields[1].value && get_number(p, "scale", fields[1].value, &l->scale[f]))
    return -1;
  return 0;
}

static int parse_linear(struct parse *p, enum kepler_component c,
                        yaml_node_t *n, struct component_model *cm) {
  char where[64];
  snprintf(where, sizeof where, "in component \"%s\"", component_name(c));
  struct field fields[] = {
      {"type", false, NULL}, {"bias", false, NULL}, {"weights", false, NULL}};
  if (get_fields(p, n, where, fields, ARRAY_SIZE(fields)))
    return -1;
  cm->type = TYPE_LINEAR;
  struct linear_model *l = &cm->linear;
  if (fields[1].value && get_number(p, "bias", fields[1].value, &l->bias))
    return -1;
  yaml_node_t *weights = fields[2].value;
  if (!weights)
    return 0;
  if (want_mapping(p, "\"weights\"", weights))
    return -1;
  bool seen[FEATURE_MAX] = {false};
  yaml_node_pair_t *pair;
  for (pair = weights->data.mapping.pairs.start;
       pair < weights->data.mapping.pairs.top; pair++) {
    yaml_node_t *k = node(p, pair->key);
    const char *name = scalar(k);
    if (!name)
      return fail(p, k, "feature names must be strings %s", where);
    int f = feature_by_name(name);
    if (f < 0)
      return fail(p, k, "unknown feature \"%s\" %s", name, where);
    if (seen[f])
      return fail(p, k, "duplicate feature \"%s\" %s", name, where);
    seen[f] = true;
    if (parse_linear_weight(p, c, f, node(p, pair->value), l))
      return -1;
  }
  return 0;
}

static const struct {
  const char *name;
  int (*parse)(struct parse *p, enum kepler_component c, yaml_node_t *n,
               struct component_model *cm);
} component_types[] = {
    {"linear", parse_linear},
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
  yaml_node_pair_t *pair;
  for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top;
       pair++) {
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
  for (size_t i = 0; i < ARRAY_SIZE(component_types); i++)
    if (strcmp(component_types[i].name, type) == 0) {
      cm->present = true;
      return component_types[i].parse(p, c, n, cm);
    }
  return fail(p, type_node ? type_node : n,
              "type \"%s\" of component \"%s\" is not supported (supported: "
              "linear)",
              type, component_name(c));
}

static int parse_components(struct parse *p, yaml_node_t *n,
                            struct power_model *m) {
  if (want_mapping(p, "\"components\"", n))
    return -1;
  if (pair_count(n) == 0)
    return fail(p, n, "\"components\" must hold at least one component");
  yaml_node_pair_t *pair;
  for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top;
       pair++) {
    yaml_node_t *k = node(p, pair->key);
    const char *name = scalar(k);
    if (!name)
      return fail(p, k, "component names must be strings");
    int c = component_by_name(name);
    if (c < 0)
      return fail(p, k,
                  "component \"%s\" is not one of package, core, uncore, "
                  "dram, platform",
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

static const char *const output_types[] = {"AbsPower"};

static int parse_output_type(struct parse *p, yaml_node_t *n) {
  char buf[128];
  const char *s = scalar(n);
  if (!s)
    return fail(p, n, "\"output_type\" must be a string, got %s",
                describe(n, buf, sizeof buf));
  for (size_t i = 0; i < ARRAY_SIZE(output_types); i++)
    if (strcmp(output_types[i], s) == 0)
      return 0;
  return fail(p, n, "output_type \"%s\" is not supported (supported: AbsPower)",
              s);
}

static int parse_model(struct parse *p, yaml_node_t *root,
                       struct power_model *m) {
  if (!root)
    return fail_at(p, 1, "the model is empty");
  if (want_mapping(p, "the model", root))
    return -1;
  enum { F_NAME, F_OUTPUT_TYPE, F_SOURCE, F_ERROR, F_COMPONENTS };
  struct field f[] = {
      [F_NAME] = {"name", true, NULL},
      [F_OUTPUT_TYPE] = {"output_type", true, NULL},
      [F_SOURCE] = {"source", false, NULL},
      [F_ERROR] = {"error", false, NULL},
      [F_COMPONENTS] = {"components", true, NULL},
  };
  if (get_fields(p, root, "at top level", f, ARRAY_SIZE(f)))
    return -1;
  if (get_string(p, "name", f[F_NAME].value, &m->name) ||
      parse_output_type(p, f[F_OUTPUT_TYPE].value))
    return -1;
  if (f[F_SOURCE].value &&
      get_string(p, "source", f[F_SOURCE].value, &m->source))
    return -1;
  if (f[F_ERROR].value && parse_error_block(p, f[F_ERROR].value, m))
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

  m = calloc(1, sizeof *m);
  if (!m) {
    fail_at(p, 1, "out of memory");
    goto done;
  }
  m->mae_w = -1;
  m->mape_pct = -1;
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

/* Writes a message without a line number, e.g. for a file that cannot be
 * opened. */
static int say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int say(char *err, size_t errlen, const char *fmt, ...) {
  if (err && errlen > 0) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Reads all of `path` into a new buffer. */
static int read_file(const char *path, char **text, size_t *len, char *err,
                     size_t errlen) {
  FILE *fp = fopen(path, "rb");
  if (!fp)
    return say(err, errlen, "%s: cannot open: %s", path, strerror(errno));
  char *buf = NULL;
  size_t used = 0, cap = 0;
  for (;;) {
    if (used == cap) {
      if (cap >= MAX_FILE_SIZE) {
        say(err, errlen, "%s: too large for a model file", path);
        goto fail;
      }
      char *bigger = realloc(buf, cap ? 2 * cap : 4096);
      if (!bigger) {
        say(err, errlen, "%s: out of memory", path);
        goto fail;
      }
      buf = bigger;
      cap = cap ? 2 * cap : 4096;
    }
    size_t n = fread(buf + used, 1, cap - used, fp);
    used += n;
    if (n == 0)
      break;
  }
  if (ferror(fp)) {
    say(err, errlen, "%s: cannot read: %s", path, strerror(errno));
    goto fail;
  }
  fclose(fp);
  *text = buf;
  *len = used;
  return 0;
fail:
  free(buf);
  fclose(fp);
  return -1;
}

int model_load_file(const char *path, struct power_model **out, char *err,
                    size_t errlen) {
  char *text = NULL;
  size_t len = 0;
  if (read_file(path, &text, &len, err, errlen))
    return -1;
  struct parse p = {.origin = path, .err = err, .errlen = errlen};
  int rc = load(&p, text, len, out);
  free(text);
  return rc;
}
