/* model_write_yaml: any model, from either format, as our YAML. Numbers are
 * printed with %.17g, which strtod reads back to the same double, so the
 * output predicts exactly what the model does. */
#include "model_yaml.h"

#include "model_internal.h"

#include <stdio.h>

/* A YAML double-quoted scalar: always valid, whatever the bytes. */
static void put_string(FILE *out, const char *s) {
  fputc('"', out);
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(out, "\\%c", ch);
    else if (ch < 0x20 || ch == 0x7f)
      fprintf(out, "\\x%02X", ch);
    else
      fputc(ch, out);
  }
  fputc('"', out);
}

static void put_list(FILE *out, const double *v, size_t n) {
  fputc('[', out);
  for (size_t i = 0; i < n; i++)
    fprintf(out, "%s%.17g", i ? ", " : "", v[i]);
  fputc(']', out);
}

static void put_terms(FILE *out, const struct component_model *cm) {
  if (cm->nterms == 0)
    return;
  fputs("    weights:\n", out);
  for (size_t i = 0; i < cm->nterms; i++) {
    const struct term *t = &cm->terms[i];
    fprintf(out, "      %s: { ", input_name(t->input));
    if (cm->type == TYPE_LINEAR)
      fprintf(out, "weight: %.17g, ", t->weight);
    fprintf(out, "scale: %.17g", t->scale);
    if (t->mean != 0)
      fprintf(out, ", mean: %.17g", t->mean);
    if (t->variance != 0)
      fprintf(out, ", variance: %.17g", t->variance);
    fputs(" }\n", out);
  }
}

static void put_categorical(FILE *out, const struct categorical *cat) {
  if (cat->n == 0)
    return;
  fputs("    categorical:\n      cpu_architecture:\n", out);
  for (size_t i = 0; i < cat->n; i++) {
    fputs("        ", out);
    put_string(out, cat->v[i].value);
    fprintf(out, ": %.17g\n", cat->v[i].weight);
  }
}

static void put_load_curve(FILE *out, const struct load_curve *lc) {
  fprintf(out, "    utilization: { feature: %s, scale: %.17g }\n",
          input_name(lc->input), lc->scale);
  fputs("    levels: ", out);
  put_list(out, lc->level, lc->n);
  fputs("\n    intercept: ", out);
  put_list(out, lc->intercept, lc->n);
  fputc('\n', out);
  const char *head = "    terms:\n";
  for (int t = 0; t < LC_TERM_MAX; t++)
    if (lc->has_term[t]) {
      fprintf(out, "%s      %s: ", head, lc_term_name(t));
      put_list(out, lc->term[t], lc->n);
      fputc('\n', out);
      head = "";
    }
  if (lc->narch > 0)
    fputs("    architecture:\n", out);
  for (size_t a = 0; a < lc->narch; a++) {
    fputs("      ", out);
    put_string(out, lc->arch[a].name);
    fputs(": ", out);
    put_list(out, lc->arch[a].v, lc->n);
    fputc('\n', out);
  }
  if (lc->above_idle)
    fputs("    form: above_idle\n", out);
  if (lc->has_vm_host)
    fprintf(out,
            "    vm_host: { chips: %.17g, cores: %.17g, threads: %.17g, "
            "memory_gb: %.17g }\n",
            lc->vm_host.chips, lc->vm_host.cores, lc->vm_host.threads,
            lc->vm_host.memory_gb);
}

static void put_component(FILE *out, enum kepler_component c,
                          const struct component_model *cm) {
  fprintf(out, "  %s:\n    type: %s\n", component_name(c),
          component_type_name(cm->type));
  switch (cm->type) {
  case TYPE_LINEAR:
    fprintf(out, "    bias: %.17g\n", cm->bias);
    put_terms(out, cm);
    put_categorical(out, &cm->cat);
    break;
  case TYPE_LOGARITHMIC:
  case TYPE_EXPONENTIAL:
  case TYPE_LOGISTIC:
    put_terms(out, cm);
    fputs("    curve: ", out);
    put_list(out, cm->curve, curve_length(cm->type));
    fputc('\n', out);
    put_categorical(out, &cm->cat);
    break;
  case TYPE_LOAD_CURVE:
    put_load_curve(out, &cm->lc);
    break;
  case TYPE_MAX:
    break;
  }
}

int model_write_yaml(const struct power_model *m, FILE *out) {
  fputs("# collectd-kepler power model, format: models/README.md\nname: ", out);
  put_string(out, m->name);
  fprintf(out, "\noutput_type: %s\n",
          m->output == MODEL_DYN_POWER ? "DynPower" : "AbsPower");
  if (m->source) {
    fputs("source: ", out);
    put_string(out, m->source);
    fputc('\n', out);
  }
  if (m->mae_w >= 0 || m->mape_pct >= 0) {
    fputs("error: {", out);
    if (m->mae_w >= 0)
      fprintf(out, " mae_w: %.17g%s", m->mae_w, m->mape_pct >= 0 ? "," : "");
    if (m->mape_pct >= 0)
      fprintf(out, " mape_pct: %.17g", m->mape_pct);
    fputs(" }\n", out);
  }
  const struct trained_on *t = &m->trained_on;
  static const char *const keys[] = {"cores", "chips", "threads", "memory_gb",
                                     "mhz"};
  const double v[] = {t->cores, t->chips, t->threads, t->memory_gb, t->mhz};
  /* Only the stated fields: 0 / NULL means not stated. */
  const char *sep = "trained_on: { ";
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (v[i] != 0) {
      fprintf(out, "%s%s: %.17g", sep, keys[i], v[i]);
      sep = ", ";
    }
  if (t->cpu) {
    fprintf(out, "%scpu: ", sep);
    put_string(out, t->cpu);
    sep = ", ";
  }
  if (sep[0] == ',')
    fputs(" }\n", out);
  if (m->nrules > 0)
    fputs("cpu_architectures:\n", out);
  for (size_t i = 0; i < m->nrules; i++) {
    fputs("  - { match: ", out);
    put_string(out, m->rules[i].match);
    fputs(", name: ", out);
    put_string(out, m->rules[i].name);
    fputs(" }\n", out);
  }
  fputs("components:\n", out);
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (m->comp[c].present)
      put_component(out, c, &m->comp[c]);
  return ferror(out) ? -1 : 0;
}
