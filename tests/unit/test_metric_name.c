// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/metric_name.c: series names made of [A-Za-z0-9_]
 * only, truncated safely, and process instances that keep the pid whole. */
#include "metric_name.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

/* Buffers are filled with this first: a byte still holding it was not
 * written. */
#define FILL 'Z'
#define BUF 64

static void fill(char *buf) {
  memset(buf, FILL, BUF);
}

/* Every byte from len on is untouched. */
static void assert_untouched_from(const char *buf, size_t len) {
  for (size_t i = len; i < BUF; i++)
    ck_assert_msg(buf[i] == FILL, "byte %zu written (0x%02x), buffer is %zu", i,
                  (unsigned char)buf[i], len);
}

/* The allowed characters, spelled out. */
static bool allowed(unsigned char c) {
  return c != '\0' && strchr("abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789_",
                             c) != NULL;
}

/* --- metric_sanitize -------------------------------------------------------
 */

static const struct {
  const char *in, *want;
} sanitize_cases[] = {
    {"abc_XYZ_019", "abc_XYZ_019"},
    {"_", "_"},
    {"kworker/0:1", "kworker_0_1"},
    {"a.b c-d/e:f", "a_b_c_d_e_f"},
    {"systemd-journal", "systemd_journal"},
    {"python3.11", "python3_11"},
    {"...", "___"},
    {" lead", "_lead"},
    {"trail ", "trail_"},
    {"tab\there\nnl", "tab_here_nl"},
    {"a\x7f"
     "b",
     "a_b"},
    {"\x01\x1f", "__"},
    {"quote\"back\\slash", "quote_back_slash"},
    {"{x=\"1\"},#", "_x__1____"},
    {"100%", "100_"},
    /* UTF-8: one '_' per byte. */
    {"caf\xc3\xa9", "caf__"},               /* café */
    {"na\xc3\xafve", "na__ve"},             /* naïve */
    {"\xe6\x97\xa5\xe6\x9c\xac", "______"}, /* 日本 */
    {"x\xf0\x9f\x94\xa5y", "x____y"},       /* x🔥y */
    {"\xe2\x82\xac"
     "5",
     "___5"},                /* €5 */
    {"\xff\xfe\x80", "___"}, /* not UTF-8 */
};

START_TEST(test_sanitize_table) {
  char buf[BUF];
  fill(buf);
  const char *in = sanitize_cases[_i].in, *want = sanitize_cases[_i].want;
  size_t n = metric_sanitize(buf, BUF, in);
  ck_assert_str_eq(buf, want);
  ck_assert_uint_eq(n, strlen(want));
  /* One output byte per input byte. */
  ck_assert_uint_eq(n, strlen(in));
  assert_untouched_from(buf, strlen(want) + 1);
}
END_TEST

START_TEST(test_sanitize_every_byte) {
  /* Each byte value 1..255 alone: kept if in [A-Za-z0-9_], else '_'. */
  for (int c = 1; c < 256; c++) {
    char in[2] = {(char)c, '\0'}, buf[BUF];
    fill(buf);
    size_t n = metric_sanitize(buf, BUF, in);
    ck_assert_uint_eq(n, 1);
    char want = allowed((unsigned char)c) ? (char)c : '_';
    ck_assert_msg(buf[0] == want, "byte 0x%02x became 0x%02x, want 0x%02x", c,
                  (unsigned char)buf[0], (unsigned char)want);
    ck_assert_int_eq(buf[1], '\0');
    assert_untouched_from(buf, 2);
  }
}
END_TEST

START_TEST(test_sanitize_all_bytes_in_one) {
  /* All 255 non-NUL bytes in one string (the buffer holds them all). */
  char in[256], buf[300];
  for (int c = 1; c < 256; c++)
    in[c - 1] = (char)c;
  in[255] = '\0';
  size_t n = metric_sanitize(buf, sizeof(buf), in);
  ck_assert_uint_eq(n, 255);
  ck_assert_uint_eq(strlen(buf), 255);
  size_t kept = 0;
  for (int i = 0; i < 255; i++) {
    ck_assert(allowed((unsigned char)buf[i]));
    if (buf[i] != '_')
      kept++;
    if (allowed((unsigned char)in[i]))
      ck_assert_int_eq(buf[i], in[i]);
  }
  /* 26 + 26 + 10 letters and digits survive; '_' and the rest are '_'. */
  ck_assert_uint_eq(kept, 62);
}
END_TEST

START_TEST(test_sanitize_empty) {
  char buf[BUF];
  fill(buf);
  ck_assert_uint_eq(metric_sanitize(buf, BUF, ""), 1);
  ck_assert_str_eq(buf, "_");
  assert_untouched_from(buf, 2);

  /* The smallest buffer that holds "_". */
  fill(buf);
  ck_assert_uint_eq(metric_sanitize(buf, 2, ""), 1);
  ck_assert_str_eq(buf, "_");
  assert_untouched_from(buf, 2);
}
END_TEST

START_TEST(test_sanitize_truncates) {
  char buf[BUF];
  static const char in[] = "abc.def/ghi";
  for (size_t len = 1; len <= sizeof(in) + 2; len++) {
    fill(buf);
    size_t n = metric_sanitize(buf, len, in);
    size_t want_n = len - 1 < strlen(in) ? len - 1 : strlen(in);
    ck_assert_uint_eq(n, want_n);
    ck_assert_uint_eq(strlen(buf), want_n);
    ck_assert_int_eq(memcmp(buf, "abc_def_ghi", want_n), 0);
    assert_untouched_from(buf, len);
  }
}
END_TEST

START_TEST(test_sanitize_truncates_inside_utf8) {
  /* Cut in the middle of a multi-byte character: still only '_' bytes, and
   * never a stray high byte. */
  char buf[BUF];
  fill(buf);
  size_t n = metric_sanitize(buf, 5, "ab\xe6\x97\xa5");
  ck_assert_uint_eq(n, 4);
  ck_assert_str_eq(buf, "ab__");
  assert_untouched_from(buf, 5);
}
END_TEST

START_TEST(test_sanitize_len_one) {
  char buf[BUF];
  fill(buf);
  ck_assert_uint_eq(metric_sanitize(buf, 1, "abc"), 0);
  ck_assert_int_eq(buf[0], '\0');
  assert_untouched_from(buf, 1);
  /* Not even room for the "_" of an empty name. */
  fill(buf);
  ck_assert_uint_eq(metric_sanitize(buf, 1, ""), 0);
  ck_assert_int_eq(buf[0], '\0');
  assert_untouched_from(buf, 1);
}
END_TEST

START_TEST(test_sanitize_len_zero) {
  char buf[BUF];
  fill(buf);
  ck_assert_uint_eq(metric_sanitize(buf, 0, "abc"), 0);
  assert_untouched_from(buf, 0);
  ck_assert_uint_eq(metric_sanitize(buf, 0, ""), 0);
  assert_untouched_from(buf, 0);
}
END_TEST

START_TEST(test_sanitize_long_input) {
  /* Much longer than the buffer; the source is read no further than
   * needed. */
  char in[1000], buf[BUF];
  memset(in, '.', sizeof(in) - 1);
  in[sizeof(in) - 1] = '\0';
  fill(buf);
  ck_assert_uint_eq(metric_sanitize(buf, 16, in), 15);
  ck_assert_str_eq(buf, "_______________");
  assert_untouched_from(buf, 16);
}
END_TEST

/* --- metric_process_instance ---------------------------------------------- */

static const struct {
  const char *comm;
  uint32_t pid;
  const char *want;
} instance_cases[] = {
    {"bash", 1234, "bash_1234"},
    {"kworker/0:1", 7, "kworker_0_1_7"},
    {"systemd-journal", 311, "systemd_journal_311"},
    {"python3.11", 4194304, "python3_11_4194304"},
    {"caf\xc3\xa9", 42, "caf___42"},
    {"x", 0, "x_0"},
    {"init", 1, "init_1"},
    {"max", 4294967295u, "max_4294967295"},
    {"", 42, "__42"}, /* the empty name sanitizes to "_" */
};

START_TEST(test_instance_table) {
  char buf[BUF];
  fill(buf);
  metric_process_instance(buf, BUF, instance_cases[_i].comm,
                          instance_cases[_i].pid);
  ck_assert_str_eq(buf, instance_cases[_i].want);
  assert_untouched_from(buf, strlen(instance_cases[_i].want) + 1);
}
END_TEST

START_TEST(test_instance_tight_buffer) {
  /* The case of the header: 15-byte comm, 7-digit pid, 10 bytes. */
  char buf[BUF];
  fill(buf);
  metric_process_instance(buf, 10, "abcdefghijklmno", 4194304);
  ck_assert_str_eq(buf, "a_4194304");
  assert_untouched_from(buf, 10);
}
END_TEST

START_TEST(test_instance_exact_fit) {
  /* "abcdefghijklmno_4194304" is 23 characters: 24 bytes hold all of it,
   * 23 lose one character of the name, never of the pid. */
  char buf[BUF];
  fill(buf);
  metric_process_instance(buf, 24, "abcdefghijklmno", 4194304);
  ck_assert_str_eq(buf, "abcdefghijklmno_4194304");
  assert_untouched_from(buf, 24);
  fill(buf);
  metric_process_instance(buf, 23, "abcdefghijklmno", 4194304);
  ck_assert_str_eq(buf, "abcdefghijklmn_4194304");
  assert_untouched_from(buf, 23);
}
END_TEST

START_TEST(test_instance_pid_always_whole) {
  /* Every buffer size that can hold "_<pid>": the result ends in the whole
   * pid, its name part is a prefix of the sanitized name, and it fits. */
  static const struct {
    const char *comm, *sanitized;
    uint32_t pid;
    const char *suffix;
  } cases[] = {
      {"abcdefghijklmno", "abcdefghijklmno", 4194304, "_4194304"},
      {"kworker/u16:2", "kworker_u16_2", 4294967295u, "_4294967295"},
      {"a.b.c.d.e", "a_b_c_d_e", 5, "_5"},
      {"\xe6\x97\xa5\xe6\x9c\xac", "______", 77, "_77"},
  };
  for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
    size_t sl = strlen(cases[c].suffix);
    size_t full = strlen(cases[c].sanitized) + sl;
    for (size_t len = sl + 1; len < BUF; len++) {
      char buf[BUF];
      fill(buf);
      metric_process_instance(buf, len, cases[c].comm, cases[c].pid);
      size_t n = strnlen(buf, len);
      ck_assert_msg(n < len, "%s, len %zu: not terminated", cases[c].comm, len);
      assert_untouched_from(buf, len);
      ck_assert_msg(n >= sl && strcmp(buf + n - sl, cases[c].suffix) == 0,
                    "%s, len %zu: \"%s\" does not end in %s", cases[c].comm,
                    len, buf, cases[c].suffix);
      size_t name = n - sl;
      ck_assert_msg(strncmp(buf, cases[c].sanitized, name) == 0,
                    "%s, len %zu: \"%s\" name part not a prefix of %s",
                    cases[c].comm, len, buf, cases[c].sanitized);
      /* As much of the name as fits. */
      size_t want_n = full < len - 1 ? full : len - 1;
      ck_assert_msg(n == want_n, "%s, len %zu: \"%s\" is %zu long, want %zu",
                    cases[c].comm, len, buf, n, want_n);
    }
  }
}
END_TEST

START_TEST(test_instance_too_small_for_pid) {
  /* Smaller than "_<pid>" + NUL: whatever is written stays inside the
   * buffer and is terminated. */
  for (size_t len = 1; len <= 8; len++) {
    char buf[BUF];
    fill(buf);
    metric_process_instance(buf, len, "abcdefghijklmno", 4194304);
    ck_assert_msg(strnlen(buf, len) < len, "len %zu: not terminated", len);
    assert_untouched_from(buf, len);
  }
}
END_TEST

START_TEST(test_instance_len_zero) {
  /* A zero-size buffer is not written at all, as with metric_sanitize and
   * snprintf. */
  char buf[BUF];
  fill(buf);
  metric_process_instance(buf, 0, "bash", 1234);
  assert_untouched_from(buf, 0);
}
END_TEST

START_TEST(test_instance_full_comm) {
  /* The longest comm the kernel reports: 15 characters. */
  char buf[BUF];
  fill(buf);
  metric_process_instance(buf, BUF, "123456789012345", 99);
  ck_assert_str_eq(buf, "123456789012345_99");
}
END_TEST

/* --- metric_workload_instance -------------------------------------------- */

static int only_allowed(const char *s) {
  for (; *s; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '_'))
      return 0;
  return 1;
}

START_TEST(test_workload_clean_name_kept) {
  char out[128];
  metric_workload_instance(out, sizeof(out), LEVEL_CONTAINER, "ssh");
  ck_assert_str_eq(out, "ssh");
  metric_workload_instance(out, sizeof(out), LEVEL_SERVICE, "ssh.service");
  ck_assert_str_eq(out, "ssh");
  metric_workload_instance(out, sizeof(out), LEVEL_POD,
                           "0123abcd-4567-89ab-cdef-0123456789ab");
  ck_assert_str_eq(out, "0123abcd456789abcdef0123456789ab");
}
END_TEST

/* D4: no workload takes a bucket's series ("system", "kernel", "other"),
 * nor that of another workload whose name differs only in what the
 * level's shortening drops, nor that of a hashed name it spells. */
START_TEST(test_workload_no_collisions) {
  static const struct {
    enum report_level level;
    const char *a, *b; /* distinct names, distinct instances */
  } pairs[] = {
      {LEVEL_SERVICE, "system.service", "system"},
      {LEVEL_SERVICE, "other.service", "other"},
      {LEVEL_SERVICE, "session-3.service", "session-3"},
      {LEVEL_SERVICE, "a.service", "a.service.service"},
      {LEVEL_VM, "system", "kernel"},
      {LEVEL_CONTAINER, "kernel", "other"},
      {LEVEL_POD, "0123abcd-4567-89ab-cdef-0123456789ab",
       "0123abcd456789abcdef0123456789ab"},
      {LEVEL_POD, "0123abcd-4567-89ab-cdef-0123456789ab",
       "0123abcd-4567-89ab-cdef0-123456789ab"},
  };
  for (size_t i = 0; i < ARRAY_SIZE(pairs); i++) {
    char a[128], b[128];
    metric_workload_instance(a, sizeof(a), pairs[i].level, pairs[i].a);
    metric_workload_instance(b, sizeof(b), pairs[i].level, pairs[i].b);
    ck_assert_msg(strcmp(a, b) != 0, "\"%s\" and \"%s\" -> \"%s\"", pairs[i].a,
                  pairs[i].b, a);
    ck_assert(!metric_bucket_instance(a) && !metric_bucket_instance(b));
    ck_assert(only_allowed(a) && only_allowed(b));
  }
  /* A clean name that spells another's hashed instance is hashed too. */
  char hashed[128], spelled[128];
  metric_workload_instance(hashed, sizeof(hashed), LEVEL_VM, "a.b");
  ck_assert_uint_eq(strlen(hashed), strlen("a_b_") + 16);
  metric_workload_instance(spelled, sizeof(spelled), LEVEL_VM, hashed);
  ck_assert_str_ne(hashed, spelled);
}
END_TEST

/* Names the sanitizing would merge stay apart, and each is valid. */
START_TEST(test_workload_names_unique_and_valid) {
  static const char *const names[] = {
      "a.b",
      "a b",
      "a_b",
      "a-b",
      "a/b",
      "a\xc3\xa9"
      "b",
      "getty@tty1",
      "getty@tty2",
      "my-db",
      "my_db",
      "session-3.scope",
      "session-3_scope",
      "",
      ".",
      "..",
      "_",
  };
  char out[ARRAY_SIZE(names)][128];
  for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
    metric_workload_instance(out[i], sizeof(out[i]), LEVEL_VM, names[i]);
    ck_assert_msg(out[i][0] && only_allowed(out[i]), "\"%s\" -> \"%s\"",
                  names[i], out[i]);
    /* stable */
    char again[128];
    metric_workload_instance(again, sizeof(again), LEVEL_VM, names[i]);
    ck_assert_str_eq(again, out[i]);
  }
  for (size_t i = 0; i < ARRAY_SIZE(names); i++)
    for (size_t j = i + 1; j < ARRAY_SIZE(names); j++)
      ck_assert_msg(strcmp(out[i], out[j]) != 0, "\"%s\" and \"%s\" -> \"%s\"",
                    names[i], names[j], out[i]);
}
END_TEST

/* A name longer than the instance: cut, with the hash of the whole name;
 * two long names differing only at the end stay apart. */
START_TEST(test_workload_long_names) {
  char a[300], b[300], oa[64], ob[64];
  memset(a, 'x', sizeof(a) - 1);
  a[sizeof(a) - 1] = '\0';
  memcpy(b, a, sizeof(a));
  b[sizeof(b) - 2] = 'y';
  metric_workload_instance(oa, sizeof(oa), LEVEL_CONTAINER, a);
  metric_workload_instance(ob, sizeof(ob), LEVEL_CONTAINER, b);
  ck_assert_uint_eq(strlen(oa), sizeof(oa) - 1);
  ck_assert(only_allowed(oa) && only_allowed(ob));
  ck_assert_str_ne(oa, ob);
}
END_TEST

static Suite *metric_name_suite(void) {
  Suite *s = suite_create("metric_name");

  TCase *tc = tcase_create("sanitize");
  tcase_add_loop_test(tc, test_sanitize_table, 0, ARRAY_SIZE(sanitize_cases));
  tcase_add_test(tc, test_sanitize_every_byte);
  tcase_add_test(tc, test_sanitize_all_bytes_in_one);
  tcase_add_test(tc, test_sanitize_empty);
  tcase_add_test(tc, test_sanitize_truncates);
  tcase_add_test(tc, test_sanitize_truncates_inside_utf8);
  tcase_add_test(tc, test_sanitize_len_one);
  tcase_add_test(tc, test_sanitize_len_zero);
  tcase_add_test(tc, test_sanitize_long_input);
  suite_add_tcase(s, tc);

  tc = tcase_create("process_instance");
  tcase_add_loop_test(tc, test_instance_table, 0, ARRAY_SIZE(instance_cases));
  tcase_add_test(tc, test_instance_tight_buffer);
  tcase_add_test(tc, test_instance_exact_fit);
  tcase_add_test(tc, test_instance_pid_always_whole);
  tcase_add_test(tc, test_instance_too_small_for_pid);
  tcase_add_test(tc, test_instance_len_zero);
  tcase_add_test(tc, test_instance_full_comm);
  tcase_add_test(tc, test_workload_clean_name_kept);
  tcase_add_test(tc, test_workload_no_collisions);
  tcase_add_test(tc, test_workload_names_unique_and_valid);
  tcase_add_test(tc, test_workload_long_names);
  suite_add_tcase(s, tc);

  return s;
}

int main(void) {
  return run_suite(metric_name_suite());
}
