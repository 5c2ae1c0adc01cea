// SPDX-License-Identifier: GPL-2.0-only
/* The replay driver: runs a fuzz target's LLVMFuzzerTestOneInput on every
 * file of its seed corpus (FUZZ_CORPUS_DIR, or the files and directories
 * given as arguments), so that `make check` holds the corpus to the
 * targets' checks with any compiler, libFuzzer or not. A broken promise
 * aborts, naming the input on stderr first. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_check.h"

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  size_t got;
  while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) {
      uint8_t *grown = realloc(buf, cap *= 2);
      if (!grown) {
        free(buf);
        buf = NULL;
      }
      buf = grown;
    }
  }
  int failed = ferror(f) || !buf;
  fclose(f);
  if (failed) {
    fprintf(stderr, "%s: could not read\n", path);
    free(buf);
    return -1;
  }
  fprintf(stderr, "replay %s\n", path);
  /* An exact-size copy, so that ASan sees a read past the input's end. */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int replay(const char *path, int *count) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    ++*count;
    return replay_file(path);
  }
  struct dirent **entries;
  int n = scandir(path, &entries, NULL, alphasort);
  if (n < 0) {
    fprintf(stderr, "%s: %s\n", path, strerror(errno));
    return -1;
  }
  int r = 0;
  for (int i = 0; i < n; i++) {
    if (entries[i]->d_name[0] != '.') {
      char child[4096];
      snprintf(child, sizeof(child), "%s/%s", path, entries[i]->d_name);
      if (replay(child, count) != 0)
        r = -1;
    }
    free(entries[i]);
  }
  free(entries);
  return r;
}

int main(int argc, char **argv) {
  int count = 0, r = 0;
#ifdef FUZZ_CORPUS_DIR
  if (argc < 2)
    r = replay(FUZZ_CORPUS_DIR, &count);
#endif
  for (int i = 1; i < argc; i++)
    if (replay(argv[i], &count) != 0)
      r = -1;
  if (count == 0) {
    fprintf(stderr, "no input replayed\n");
    return 1;
  }
  fprintf(stderr, "%d inputs replayed\n", count);
  return r == 0 ? 0 : 1;
}
