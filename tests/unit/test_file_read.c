// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/common/file_read.c: a file read whole and
 * NUL-terminated, one of exactly the bound accepted and one byte more
 * refused, an empty file, and read's error. */
#include "file_read.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char path[64];

static void setup(void) {
  snprintf(path, sizeof path, "/tmp/kepler_file_read_XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
}

static void teardown(void) {
  unlink(path);
}

/* path holds n bytes 'x'; read it with bound max. */
static int read_n(size_t n, size_t max, char **text, size_t *len) {
  int fd = open(path, O_WRONLY | O_TRUNC);
  ck_assert_int_ge(fd, 0);
  char *buf = malloc(n + 1);
  ck_assert_ptr_nonnull(buf);
  memset(buf, 'x', n);
  ck_assert_int_eq(write(fd, buf, n), (ssize_t)n);
  free(buf);
  close(fd);
  fd = open(path, O_RDONLY);
  ck_assert_int_ge(fd, 0);
  int rc = file_read_bounded(fd, max, text, len);
  close(fd);
  return rc;
}

START_TEST(test_whole_and_terminated) {
  /* Across the first buffer's 4096 bytes. */
  char *text = NULL;
  size_t len = 0;
  ck_assert_int_eq(read_n(10000, 1 << 20, &text, &len), 0);
  ck_assert_uint_eq(len, 10000);
  ck_assert_uint_eq(strlen(text), 10000);
  free(text);
}
END_TEST

START_TEST(test_bound) {
  char *text = NULL;
  size_t len = 0;
  ck_assert_int_eq(read_n(5000, 5000, &text, &len), 0);
  ck_assert_uint_eq(len, 5000);
  free(text);
  text = NULL;
  ck_assert_int_eq(read_n(5001, 5000, &text, &len), -EFBIG);
  ck_assert_ptr_null(text);
  ck_assert_int_eq(read_n(1, 0, &text, &len), -EFBIG);
}
END_TEST

START_TEST(test_empty) {
  char *text = NULL;
  size_t len = 1;
  ck_assert_int_eq(read_n(0, 0, &text, &len), 0);
  ck_assert_uint_eq(len, 0);
  ck_assert_str_eq(text, "");
  free(text);
}
END_TEST

START_TEST(test_read_error) {
  int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
  ck_assert_int_ge(fd, 0);
  char *text = NULL;
  size_t len = 0;
  ck_assert_int_eq(file_read_bounded(fd, 100, &text, &len), -EISDIR);
  ck_assert_ptr_null(text);
  close(fd);
}
END_TEST

/* Issue 14, D3: a ModelFile naming a FIFO blocked collectd's init in open
 * until a signal came. A FIFO (with no writer), a directory and a device
 * are refused at once, as not regular files; a regular file opens. */
START_TEST(test_open_regular) {
  char dir[] = "/tmp/kepler_fifo_XXXXXX";
  ck_assert_ptr_nonnull(mkdtemp(dir));
  char name[64];
  snprintf(name, sizeof name, "%s/f.yaml", dir);
  ck_assert_int_eq(mkfifo(name, 0600), 0);
  ck_assert_int_eq(file_open_regular(name), FILE_NOT_REGULAR);
  errno = 0;
  ck_assert_ptr_null(file_fopen_regular(name));
  ck_assert_int_eq(errno, EMEDIUMTYPE);
  ck_assert_str_eq(file_strerror(FILE_NOT_REGULAR), "not a regular file");
  unlink(name);
  ck_assert_int_eq(file_open_regular(dir), FILE_NOT_REGULAR);
  rmdir(dir);
  ck_assert_int_eq(file_open_regular("/dev/null"), FILE_NOT_REGULAR);
  ck_assert_int_eq(file_open_regular("/nonexistent"), -ENOENT);
  ck_assert_str_eq(file_strerror(-ENOENT), "No such file or directory");

  int fd = file_open_regular(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  FILE *f = file_fopen_regular(path);
  ck_assert_ptr_nonnull(f);
  fclose(f);
}
END_TEST

int main(void) {
  Suite *s = suite_create("file_read");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_whole_and_terminated);
  tcase_add_test(tc, test_bound);
  tcase_add_test(tc, test_empty);
  tcase_add_test(tc, test_read_error);
  tcase_add_test(tc, test_open_regular);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
