// SPDX-License-Identifier: GPL-2.0-only
#include "metric_name.h"

#include <stdio.h>
#include <string.h>

static int allowed(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}

size_t metric_sanitize(char *dst, size_t len, const char *src) {
  if (len == 0)
    return 0;
  size_t n = 0;
  for (; src && src[n] && n + 1 < len; n++)
    dst[n] = allowed((unsigned char)src[n]) ? src[n] : '_';
  if (n == 0 && len > 1)
    dst[n++] = '_';
  dst[n] = '\0';
  return n;
}

void metric_process_instance(char *dst, size_t len, const char *comm,
                             uint32_t pid) {
  if (len == 0)
    return;
  char suffix[16];
  int s = snprintf(suffix, sizeof(suffix), "_%u", pid);
  size_t room = len > (size_t)s ? len - (size_t)s : 1;
  size_t n = metric_sanitize(dst, room, comm);
  snprintf(dst + n, len - n, "%s", suffix);
}

/* FNV-1a, 64 bits: stable across hosts and releases, which the series
 * names depend on; 64 bits so that no two of the names a host can have
 * meet by chance. */
static uint64_t fnv1a64(const char *s) {
  uint64_t h = 14695981039346656037ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

#define HASH_SUFFIX_LEN 17 /* "_" + 16 hex digits */

static bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Whether s ends the way a hashed instance does. */
static bool ends_like_hash(const char *s, size_t n) {
  if (n < HASH_SUFFIX_LEN || s[n - HASH_SUFFIX_LEN] != '_')
    return false;
  for (size_t i = n - HASH_SUFFIX_LEN + 1; i < n; i++)
    if (!is_hex(s[i]))
      return false;
  return true;
}

bool metric_bucket_instance(const char *s) {
  return strcmp(s, "system") == 0 || strcmp(s, "kernel") == 0 ||
         strcmp(s, "other") == 0;
}

/* A pod UID as Kubernetes writes it: 8-4-4-4-12 lowercase hex digits. */
static bool canonical_uid(const char *s) {
  for (size_t i = 0; i < 36; i++) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i]))
      return false;
  }
  return s[36] == '\0';
}

/* The level's shortening of name, as the first *n bytes of the name with
 * its dashes skipped (pods) or not; false when the level shortens names of
 * one form and this one is not of it, so that only that form can give a
 * kept instance (a pod named with the 32 digits of another's UID must not
 * meet it). */
static bool shorten(enum report_level level, const char *name, size_t *n,
                    bool *skip_dashes) {
  static const char service[] = ".service";
  const size_t sl = sizeof(service) - 1;
  *n = strlen(name);
  *skip_dashes = false;
  if (level == LEVEL_POD) {
    *skip_dashes = true;
    return canonical_uid(name);
  }
  if (level == LEVEL_SERVICE) {
    if (*n <= sl || strcmp(name + *n - sl, service) != 0)
      return false;
    *n -= sl;
  }
  return true;
}

/* Copy the first n bytes of name into dst (size len), dashes skipped if
 * asked, each byte outside [A-Za-z0-9_] as '_'. Returns the length written,
 * or 0 with nothing written when a byte is not allowed and !sanitize or
 * the copy does not fit. */
static size_t copy_view(char *dst, size_t len, const char *name, size_t n,
                        bool skip_dashes, bool sanitize) {
  size_t w = 0;
  for (size_t i = 0; i < n && name[i]; i++) {
    if (skip_dashes && name[i] == '-')
      continue;
    if (w + 1 >= len)
      return sanitize ? (dst[w] = '\0', w) : 0;
    bool ok = allowed((unsigned char)name[i]);
    if (!ok && !sanitize)
      return 0;
    dst[w++] = ok ? name[i] : '_';
  }
  dst[w] = '\0';
  return w;
}

void metric_workload_instance(char *dst, size_t len, enum report_level level,
                              const char *name) {
  if (len == 0)
    return;
  size_t n;
  bool skip_dashes;
  bool shortened = shorten(level, name, &n, &skip_dashes);
  if (shortened) {
    size_t w = copy_view(dst, len, name, n, skip_dashes, false);
    if (w > 0 && !ends_like_hash(dst, w) && !metric_bucket_instance(dst))
      return;
  }
  /* The readable part from the shortened name where there is one. */
  if (!shortened) {
    n = strlen(name);
    skip_dashes = false;
  }
  char suffix[HASH_SUFFIX_LEN + 1];
  snprintf(suffix, sizeof(suffix), "_%016llx",
           (unsigned long long)fnv1a64(name));
  size_t room = len > HASH_SUFFIX_LEN ? len - HASH_SUFFIX_LEN : 1;
  size_t w = copy_view(dst, room, name, n, skip_dashes, true);
  if (w == 0 && room > 1)
    dst[w++] = '_';
  snprintf(dst + w, len - w, "%s", suffix);
}
