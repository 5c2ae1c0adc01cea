// SPDX-License-Identifier: GPL-2.0-only
/* Loading a model file: read it (bounded), pick the format from its first
 * non-blank byte and hand the text to that format's loader. */
#include "model_load.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"
#include "file_read.h"
#include "model_kepler_json.h"
#include "model_yaml.h"

#define MAX_FILE_SIZE (16 << 20)

/* Reads all of `path` into a new buffer. */
static int read_file(const char *path, char **text, size_t *len, char *err,
                     size_t errlen) {
  int fd = file_open_regular(path);
  if (fd < 0)
    return errmsg(err, errlen, "%s: cannot open: %s", path, file_strerror(fd));
  int rc = file_read_bounded(fd, MAX_FILE_SIZE, text, len);
  close(fd);
  if (rc == -EFBIG)
    return errmsg(err, errlen, "%s: too large for a model file", path);
  if (rc == -ENOMEM)
    return errmsg(err, errlen, "%s: out of memory", path);
  if (rc)
    return errmsg(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
  return 0;
}

static bool is_json(const char *text, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (!strchr(" \t\r\n", text[i]))
      return text[i] == '{';
  return false;
}

/* Kepler's model-db layout: .../<AbsPower|DynPower>/<group>/<Trainer>_<n>.json.
 * The output type is the last such directory in the path. */
static enum model_output output_from_path(const char *path) {
  enum model_output out = MODEL_ABS_POWER;
  for (const char *p = path; *p;) {
    size_t n = strcspn(p, "/");
    if (n == 8 && strncmp(p, "AbsPower", 8) == 0)
      out = MODEL_ABS_POWER;
    else if (n == 8 && strncmp(p, "DynPower", 8) == 0)
      out = MODEL_DYN_POWER;
    p += n + (p[n] == '/');
  }
  return out;
}

static int load_json_file(const char *path, const char *text, size_t len,
                          struct power_model **out, char *err, size_t errlen) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  size_t n = strlen(base);
  if (n > 5 && strcmp(base + n - 5, ".json") == 0)
    n -= 5;
  char *trainer = strndup(base, n);
  if (!trainer)
    return errmsg(err, errlen, "%s: out of memory", path);
  int rc = model_load_kepler_json(text, len, path, trainer,
                                  output_from_path(path), out, err, errlen);
  free(trainer);
  return rc;
}

int model_load_file(const char *path, struct power_model **out, char *err,
                    size_t errlen) {
  char *text = NULL;
  size_t len = 0;
  if (read_file(path, &text, &len, err, errlen))
    return -1;
  int rc = is_json(text, len)
               ? load_json_file(path, text, len, out, err, errlen)
               : model_load_buffer(text, len, path, out, err, errlen);
  free(text);
  return rc;
}
