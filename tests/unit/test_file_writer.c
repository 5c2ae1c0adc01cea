// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/common/file_writer.c: texts handed over are written
 * on the writer's thread, the result is polled later, a failure carries
 * atomic_file_write's message, and stopping writes what still waits. */
#include "file_writer.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char root[64], path[128];
static struct file_writer *writer;

static void setup(void) {
  snprintf(root, sizeof root, "/tmp/kepler_file_writer_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(root));
  snprintf(path, sizeof path, "%s/out.json", root);
  writer = file_writer_start();
  ck_assert_ptr_nonnull(writer);
}

static void teardown(void) {
  file_writer_stop(writer);
  unlink(path);
  rmdir(root);
}

static char *text(const char *s) {
  char *t = strdup(s);
  ck_assert_ptr_nonnull(t);
  return t;
}

static void read_back(char *buf, size_t len) {
  FILE *f = fopen(path, "r");
  ck_assert_ptr_nonnull(f);
  size_t n = fread(buf, 1, len - 1, f);
  fclose(f);
  buf[n] = '\0';
}

/* Poll until a write finished (at most 2 s). */
static int wait_result(char *err, size_t len) {
  for (int i = 0; i < 400; i++) {
    int r = file_writer_poll(writer, err, len);
    if (r)
      return r;
    usleep(5000);
  }
  return 0;
}

START_TEST(test_written_then_polled) {
  char err[256] = "", buf[64];
  ck_assert_int_eq(file_writer_poll(writer, err, sizeof err), 0);
  file_writer_submit(writer, path, text("{\"a\": 1}\n"), 9);
  ck_assert_int_eq(wait_result(err, sizeof err), 1);
  read_back(buf, sizeof buf);
  ck_assert_str_eq(buf, "{\"a\": 1}\n");
  ck_assert_int_eq(file_writer_poll(writer, err, sizeof err), 0); /* once */
}
END_TEST

START_TEST(test_failure_has_the_message) {
  char err[256] = "";
  snprintf(path, sizeof path, "%s/missing/out.json", root);
  file_writer_submit(writer, path, text("x"), 1);
  ck_assert_int_eq(wait_result(err, sizeof err), -1);
  ck_assert_msg(strstr(err, path), "%s", err);
}
END_TEST

/* Many texts at once: the last one is the file's, and stopping waits for
 * it. */
START_TEST(test_last_text_wins_and_stop_writes) {
  char buf[64];
  for (int i = 0; i < 100; i++) {
    char t[16];
    int n = snprintf(t, sizeof t, "%d\n", i);
    file_writer_submit(writer, path, text(t), (size_t)n);
  }
  file_writer_stop(writer);
  writer = NULL;
  read_back(buf, sizeof buf);
  ck_assert_str_eq(buf, "99\n");
}
END_TEST

int main(void) {
  Suite *s = suite_create("file_writer");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_written_then_polled);
  tcase_add_test(tc, test_failure_has_the_message);
  tcase_add_test(tc, test_last_text_wins_and_stop_writes);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
