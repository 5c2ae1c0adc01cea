// SPDX-License-Identifier: GPL-2.0-only
/* A model printed as YAML (model_write_yaml), for the model tests; the
 * caller frees the text. */
#ifndef KEPLER_MODEL_TEXT_H
#define KEPLER_MODEL_TEXT_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "model_yaml.h"

static inline char *write_yaml(const struct power_model *m) {
  char *text = NULL;
  size_t len = 0;
  FILE *out = open_memstream(&text, &len);
  ck_assert_ptr_ne(out, NULL);
  ck_assert_int_eq(model_write_yaml(m, out), 0);
  fclose(out);
  return text;
}

/* Print m, load the text back, and check what both must keep. The caller
 * frees the returned model and *text_out (the printed text). */
static inline struct power_model *reload_written(const struct power_model *m,
                                                 char **text_out) {
  char *text = write_yaml(m), err[512] = "";
  struct power_model *back = NULL;
  ck_assert_msg(model_load_buffer(text, strlen(text), "written", &back, err,
                                  sizeof err) == 0,
                "%s\n%s", err, text);
  ck_assert_str_eq(model_name(back), model_name(m));
  ck_assert_str_eq(model_source(back), model_source(m));
  ck_assert_int_eq(model_output_type(back), model_output_type(m));
  *text_out = text;
  return back;
}

#endif
