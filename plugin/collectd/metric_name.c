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

/* FNV-1a, 32 bits: stable across hosts and releases, which the series
 * names depend on. */
static uint32_t fnv1a32(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

void metric_workload_instance(char *dst, size_t len, const char *name) {
  if (len == 0)
    return;
  size_t n = strlen(name);
  size_t clean = 0;
  while (clean < n && allowed((unsigned char)name[clean]))
    clean++;
  if (n > 0 && clean == n && n < len) {
    memcpy(dst, name, n + 1);
    return;
  }
  char suffix[16];
  int s = snprintf(suffix, sizeof(suffix), "_%08x", fnv1a32(name));
  size_t room = len > (size_t)s ? len - (size_t)s : 1;
  size_t w = metric_sanitize(dst, room, name);
  snprintf(dst + w, len - w, "%s", suffix);
}
