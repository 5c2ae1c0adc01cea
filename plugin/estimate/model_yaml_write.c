// SPDX-License-Identifier: GPL-2.0-only
/* model_write_yaml: any model, from either format, as our YAML. Numbers are
 * printed with %.17g, which strtod reads back to the same double, so the
 * output predicts exactly what the model does. */
#include "model_yaml.h"

#include "model_internal.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "outside_text.h"

/* ", key: [LO-HI, N, ...]" of a cpuid rule; nothing when n is 0 (any). */
static void put_ranges(FILE *out, const char *key, const struct cpuid_range *r,
                       size_t n) {
  if (n == 0)
    return;
  fprintf(out, ", %s: [", key);
  for (size_t i = 0; i < n; i++) {
    if (r[i].lo == r[i].hi)
      fprintf(out, "%s%u", i ? ", " : "", r[i].lo);
    else
      fprintf(out, "%s%u-%u", i ? ", " : "", r[i].lo, r[i].hi);
  }
  fputc(']', out);
}

/* The code point of the valid UTF-8 character of n bytes at s. */
static uint32_t code_point(const unsigned char *s, size_t n) {
  static const unsigned char lead_bits[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
  uint32_t cp = s[0] & lead_bits[n];
  for (size_t i = 1; i < n; i++)
    cp = cp << 6 | (s[i] & 0x3f);
  return cp;
}

/* Whether YAML takes the character raw inside a double-quoted scalar:
 * printable (not a C0 or C1 control, DEL, U+FFFE or U+FFFF, nor the BOM,
 * which libyaml refuses inside), not a line break (U+2028, U+2029: they
 * would be folded), and not '"' or '\\'. */
static bool raw_in_quotes(uint32_t cp) {
  return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f) &&
         cp != 0x2028 && cp != 0x2029 && cp != 0xfeff && cp != 0xfffe &&
         cp != 0xffff && cp != '"' && cp != '\\';
}

/* A YAML double-quoted scalar that loads back, whatever the bytes: valid
 * UTF-8 YAML takes raw is written raw, other characters escaped by their
 * code point; a byte that is not part of valid UTF-8 is written \xNN, which
 * loads back as U+00NN (the byte read as Latin-1) (models/README.md). */
/* Write s double-quoted to out, or only count it (out NULL). Returns the
 * bytes written (or that would be). */
static size_t put_string(FILE *out, const char *s) {
  size_t len = strlen(s), w = 2;
  if (out)
    fputc('"', out);
  for (size_t i = 0; i < len;) {
    const unsigned char *u = (const unsigned char *)s + i;
    size_t n = utf8_char_len(s + i, len - i);
    uint32_t cp = n ? code_point(u, n) : u[0];
    if (n && raw_in_quotes(cp)) {
      w += n;
      if (out)
        fwrite(u, 1, n, out);
    } else if (cp == '"' || cp == '\\') {
      w += 2;
      if (out)
        fprintf(out, "\\%c", (char)cp);
    } else if (cp <= 0xff) {
      w += 4;
      if (out)
        fprintf(out, "\\x%02" PRIX32, cp);
    } else {
      w += 6;
      if (out)
        fprintf(out, "\\u%04" PRIX32, cp);
    }
    i += n ? n : 1;
  }
  if (out)
    fputc('"', out);
  return w;
}

/* YAML takes an implicit key ("key": value) of at most 1024 characters;
 * a longer one goes in the explicit form ("? key" then ": value"). */
#define YAML_IMPLICIT_KEY_MAX 1024

/* s as a mapping key at indent, up to the value. */
static void put_key(FILE *out, const char *indent, const char *s) {
  fputs(indent, out);
  if (put_string(NULL, s) < YAML_IMPLICIT_KEY_MAX) {
    put_string(out, s);
    fputs(": ", out);
  } else {
    fputs("? ", out);
    put_string(out, s);
    fprintf(out, "\n%s: ", indent);
  }
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
    put_key(out, "        ", cat->v[i].value);
    fprintf(out, "%.17g\n", cat->v[i].weight);
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
    put_key(out, "      ", lc->arch[a].name);
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
  if (m->ncpuid > 0)
    fputs("cpuid_rules:\n", out);
  for (size_t i = 0; i < m->ncpuid; i++) {
    const struct cpuid_rule *r = &m->cpuid[i];
    fputs("  - { vendor: ", out);
    put_string(out, r->vendor);
    fprintf(out, ", family: %u", r->family);
    put_ranges(out, "models", r->models, r->nmodels);
    put_ranges(out, "steppings", r->steppings, r->nsteppings);
    if (r->hypervisor >= 0)
      fprintf(out, ", hypervisor: %s", r->hypervisor ? "true" : "false");
    fputs(", name: ", out);
    put_string(out, r->name);
    fputs(" }\n", out);
  }
  if (m->ntdp > 0 || m->has_tdp_estimate)
    fputs("tdp:\n", out);
  if (m->ntdp > 0)
    fputs("  by_cpu:\n", out);
  for (size_t i = 0; i < m->ntdp; i++) {
    fputs("    ", out);
    put_string(out, m->tdp[i].cpu);
    fprintf(out, ": %.17g\n", m->tdp[i].w);
  }
  if (m->has_tdp_estimate)
    fprintf(out,
            "  estimate:\n    intercept: %.17g\n    ln_cores_per_chip: "
            "%.17g\n    ln_mhz: %.17g\n",
            m->tdp_intercept, m->tdp_ln_cores_per_chip, m->tdp_ln_mhz);
  if (m->has_tdp_estimate && m->ntdp_arch > 0)
    fputs("    architecture:\n", out);
  for (size_t i = 0; i < m->ntdp_arch; i++) {
    fputs("      ", out);
    put_string(out, m->tdp_arch[i].name);
    fprintf(out, ": %.17g\n", m->tdp_arch[i].w);
  }
  fputs("components:\n", out);
  for (int c = 0; c < COMPONENT_MAX; c++)
    if (m->comp[c].present)
      put_component(out, c, &m->comp[c]);
  return ferror(out) ? -1 : 0;
}
