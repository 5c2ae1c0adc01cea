// SPDX-License-Identifier: GPL-2.0-only
/* What the meter tests share: real file trees shaped like sysfs in a temp
 * dir, and a capture of kepler_log to count warnings. Include after
 * defining _GNU_SOURCE (nftw). A test may leave some of the helpers
 * unused. */
#ifndef KEPLER_FAKE_SYSFS_H
#define KEPLER_FAKE_SYSFS_H

#include <check.h>
#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static char fake_root[64];

/* fake_root + "/" + rel, in one of a few rotating buffers so that a call
 * can take several. */
static const char *fake_path(const char *rel) {
  static char bufs[4][512];
  static int next;
  char *p = bufs[next++ % 4];
  snprintf(p, sizeof(bufs[0]), "%s/%s", fake_root, rel);
  return p;
}

static void fake_mkdirs(const char *rel) {
  char path[512];
  snprintf(path, sizeof(path), "%s", fake_path(rel));
  for (char *p = path + strlen(fake_root) + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
    *p = '/';
  }
  ck_assert_msg(mkdir(path, 0755) == 0 || errno == EEXIST, "mkdir %s", path);
}

static void fake_parent_dirs(const char *rel) {
  char dir[512];
  snprintf(dir, sizeof(dir), "%s", rel);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = '\0';
    fake_mkdirs(dir);
  }
}

/* Writes the file rel (parents created) with printf-formatted contents. */
__attribute__((format(printf, 2, 3), unused)) static void
fake_write(const char *rel, const char *fmt, ...) {
  fake_parent_dirs(rel);
  FILE *f = fopen(fake_path(rel), "w");
  ck_assert_msg(f != NULL, "cannot write %s", rel);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fclose(f);
}

/* rel becomes a symlink to target (relative to rel's directory, as sysfs
 * links are). */
__attribute__((unused)) static void fake_symlink(const char *target,
                                                 const char *rel) {
  fake_parent_dirs(rel);
  ck_assert_msg(symlink(target, fake_path(rel)) == 0, "symlink %s", rel);
}

static int fake_remove_entry(const char *path, const struct stat *st, int type,
                             struct FTW *ftw) {
  (void)st;
  (void)ftw;
  return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes rel, a file or a whole tree (symlinks themselves, not their
 * targets). */
__attribute__((unused)) static void fake_remove(const char *rel) {
  ck_assert_int_eq(
      nftw(fake_path(rel), fake_remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
}

struct fake_log_entry {
  int level;
  char message[512];
};
static struct fake_log_entry fake_log[64];
static int fake_log_n;

static void fake_log_sink(int level, const char *message) {
  if (fake_log_n < (int)(sizeof(fake_log) / sizeof(fake_log[0]))) {
    fake_log[fake_log_n].level = level;
    snprintf(fake_log[fake_log_n].message, sizeof(fake_log[0].message), "%s",
             message);
  }
  fake_log_n++;
}

/* Messages logged at level that contain needle. */
__attribute__((unused)) static int fake_log_count(int level,
                                                  const char *needle) {
  int n = 0;
  for (int i = 0; i < fake_log_n; i++)
    n += fake_log[i].level == level && strstr(fake_log[i].message, needle);
  return n;
}

static void fake_setup(void) {
  snprintf(fake_root, sizeof(fake_root), "/tmp/kepler_sysfs_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(fake_root));
  fake_log_n = 0;
  kepler_log_set(fake_log_sink);
}

static void fake_teardown(void) {
  kepler_log_set(NULL);
  /* A test may have made files unreadable; root can still remove them. */
  nftw(fake_root, fake_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
