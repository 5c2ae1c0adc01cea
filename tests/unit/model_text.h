/* A model printed as YAML (model_write_yaml), for the model tests; the
 * caller frees the text. */
#ifndef KEPLER_MODEL_TEXT_H
#define KEPLER_MODEL_TEXT_H

#include <check.h>
#include <stdio.h>

#include "model.h"

static inline char *write_yaml(const struct power_model *m) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  ck_assert_ptr_ne(out, NULL);
  ck_assert_int_eq(model_write_yaml(m, out), 0);
  fclose(out);
  return text;
}

#endif
