// SPDX-License-Identifier: GPL-2.0-only
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "errmsg.h"

/* The index whose name(i) is `name` in any case, -1 when none. */
static int by_name_any_case(const char *name, int n,
                            const char *(*name_of)(int)) {
  for (int i = 0; i < n; i++)
    if (strcasecmp(name_of(i), name) == 0)
      return i;
  return -1;
}

static const char *level_name_of(int i) {
  return level_name((enum report_level)i);
}
static const char *component_name_of(int i) {
  return component_name((enum kepler_component)i);
}
static const char *feature_name_of(int i) {
  return feature_name((enum kepler_feature)i);
}

int option_level(const char *name) {
  return by_name_any_case(name, LEVEL_MAX, level_name_of);
}

int option_component(const char *name) {
  return by_name_any_case(name, COMPONENT_MAX, component_name_of);
}

int option_feature(const char *name) {
  return by_name_any_case(name, FEATURE_MAX, feature_name_of);
}

int option_integer(const char *key, double value, long long lo, long long hi,
                   long long *out, char *err, size_t errlen) {
  /* A double beyond the range converted to an integer is undefined. */
  if (!(value >= (double)lo && value <= (double)hi && value == floor(value)))
    return errmsg(err, errlen,
                  "%s takes a whole number from %lld to %lld, "
                  "not %.15g",
                  key, lo, hi, value);
  *out = (long long)value;
  return 0;
}

int option_root(const char *key, const char *path, char *err, size_t errlen) {
  struct stat st;
  if (stat(path, &st) != 0)
    return errmsg(err, errlen, "%s \"%s\": %s", key, path, strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return errmsg(err, errlen, "%s \"%s\" is not a directory", key, path);
  return 0;
}

int option_report_policy(const char *mode, bool has_value, double value,
                         struct report_policy *out, char *err, size_t errlen) {
  bool top = strcasecmp(mode, "top") == 0;
  bool above = strcasecmp(mode, "above") == 0;
  if (!top && !above && strcasecmp(mode, "all") != 0 &&
      strcasecmp(mode, "none") != 0)
    return errmsg(err, errlen,
                  "\"%s\" is not \"all\", \"none\", \"top\" or \"above\"",
                  mode);
  if (has_value != (top || above))
    return errmsg(
        err, errlen,
        has_value ? "\"%s\" takes no number" : "\"%s\" takes a number", mode);
  if (top) {
    long long n;
    if (option_integer("top", value, 1, UINT_MAX, &n, err, errlen))
      return -1;
    *out = (struct report_policy){REPORT_TOP, (unsigned)n, 0};
  } else if (above) {
    if (!(value >= 0 && isfinite(value)))
      return errmsg(err, errlen, "above takes watts of 0 or more, not %.15g",
                    value);
    *out = (struct report_policy){REPORT_ABOVE, 0, value};
  } else {
    *out = (struct report_policy){
        strcasecmp(mode, "all") == 0 ? REPORT_ALL : REPORT_NONE, 0, 0};
  }
  return 0;
}

int option_trained_model_name(const char *path, char *name, size_t len,
                              char *err, size_t errlen) {
  static const char trainer[] = "LinearRegressionTrainer";
  static const char suffix[] = ".json";
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (strncmp(base, trainer, strlen(trainer)) != 0 || n < strlen(suffix) ||
      strcmp(base + n - strlen(suffix), suffix) != 0 ||
      strstr(path, "/DynPower/"))
    return errmsg(err, errlen,
                  "the file name must be LinearRegressionTrainer_<n>.json "
                  "(ModelFile takes the equation from it), outside a "
                  "DynPower directory");
  n -= strlen(suffix);
  if (n >= len)
    return errmsg(err, errlen, "the file name is longer than %zu bytes",
                  len - 1);
  memcpy(name, base, n);
  name[n] = '\0';
  return 0;
}

int kepler_options_check(const struct kepler_options *o, char *err,
                         size_t errlen) {
  if (o->power.trained_model_file) {
    char name[TRAINED_MODEL_NAME_LEN], why[256];
    if (option_trained_model_name(o->power.trained_model_file, name,
                                  sizeof(name), why, sizeof(why)))
      return errmsg(err, errlen, "TrainedModelFile \"%s\": %s",
                    o->power.trained_model_file, why);
    if (o->power.trained_model_every < 1)
      return errmsg(err, errlen,
                    "TrainedModelInterval must be 1 or more intervals, not %u",
                    o->power.trained_model_every);
  }
  return 0;
}
