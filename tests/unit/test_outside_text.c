// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for plugin/common/outside_text.c: outside text bounded and
 * escaped before a log line (issue 14, D2), and UTF-8 told from what is
 * not. */
#include "outside_text.h"

#include <check.h>
#include <string.h>

#include "testutil.h"

/* outside_text of the first len bytes of src into a dst of dstlen. */
static const char *quote(const char *src, size_t len, size_t dstlen) {
  static char dst[256];
  memset(dst, 'z', sizeof dst);
  ck_assert_uint_le(dstlen, sizeof dst);
  const char *r = outside_text(dst, dstlen, src, len);
  ck_assert_ptr_eq(r, dst);
  ck_assert_uint_lt(strlen(dst), dstlen);
  return dst;
}

static const struct {
  const char *src;
  size_t len;
  const char *want;
} cases[] = {
    {"plain text", 10, "plain text"},
    {"", 0, ""},
    /* a forged log line: the newline escaped */
    {"x\n[error] kepler: forged", 24, "x\\x0A[error] kepler: forged"},
    {"\r\t\x1b[31m\x7f", 8, "\\x0D\\x09\\x1B[31m\\x7F"},
    {"a\0b", 3, "a\\x00b"},
    /* valid UTF-8 is kept, C1 controls (U+0085 NEL) are not */
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14,
     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"\xc2\x85|\xc2\xa0", 5, "\\xC2\\x85|\xc2\xa0"},
    /* invalid: a stray continuation, overlong, surrogate, > U+10FFFF, cut */
    {"\x9a", 1, "\\x9A"},
    {"\xc0\xaf", 2, "\\xC0\\xAF"},
    {"\xed\xa0\x80", 3, "\\xED\\xA0\\x80"},
    {"\xf4\x90\x80\x80", 4, "\\xF4\\x90\\x80\\x80"},
    {"\xe2\x82", 2, "\\xE2\\x82"},
    {"\xff\xfe", 2, "\\xFF\\xFE"},
};

START_TEST(test_escapes) {
  ck_assert_str_eq(quote(cases[_i].src, cases[_i].len, 256), cases[_i].want);
}
END_TEST

/* Cut at dstlen - 4 bytes, before a character or an escape, then "...". */
START_TEST(test_bound) {
  char big[1000];
  memset(big, 'a', sizeof big);
  const char *q = quote(big, sizeof big, OUTSIDE_TEXT_LEN);
  ck_assert_uint_eq(strlen(q), OUTSIDE_TEXT_LEN - 1);
  ck_assert_str_eq(q + OUTSIDE_TEXT_LEN - 4, "...");
  /* exactly dstlen - 4 bytes: not cut */
  ck_assert_str_eq(quote("abcdef", 6, 10), "abcdef");
  ck_assert_str_eq(quote("abcdefg", 7, 10), "abcdef...");
  /* not inside a character nor an escape */
  ck_assert_str_eq(quote("abcde\xc3\xa9", 7, 10), "abcde...");
  ck_assert_str_eq(quote("abc\n", 4, 10), "abc...");
  ck_assert_str_eq(quote("ab\n", 3, 10), "ab\\x0A");
  ck_assert_str_eq(quote("abc", 3, 4), "...");
  ck_assert_str_eq(quote("abc", 3, 1), "");
  char untouched = 'u';
  ck_assert_ptr_eq(outside_text(&untouched, 0, "abc", 3), &untouched);
  ck_assert_int_eq(untouched, 'u');
}
END_TEST

START_TEST(test_utf8_char_len) {
  ck_assert_uint_eq(utf8_char_len("a", 1), 1);
  ck_assert_uint_eq(utf8_char_len("\xc3\xa9", 2), 2);
  ck_assert_uint_eq(utf8_char_len("\xc3\xa9", 1), 0);
  ck_assert_uint_eq(utf8_char_len("\xe0\xa0\x80", 3), 3);
  ck_assert_uint_eq(utf8_char_len("\xe0\x9f\xbf", 3), 0); /* overlong */
  ck_assert_uint_eq(utf8_char_len("\xef\xbf\xbf", 3), 3);
  ck_assert_uint_eq(utf8_char_len("\xf4\x8f\xbf\xbf", 4), 4);
  ck_assert_uint_eq(utf8_char_len("\xf0\x8f\xbf\xbf", 4), 0); /* overlong */
  ck_assert_uint_eq(utf8_char_len("\xf5\x80\x80\x80", 4), 0);
  ck_assert_uint_eq(utf8_char_len("\xc3\x28", 2), 0);
  ck_assert_uint_eq(utf8_char_len("", 0), 0);
}
END_TEST

int main(void) {
  Suite *s = suite_create("outside_text");
  TCase *tc = tcase_create("core");
  tcase_add_loop_test(tc, test_escapes, 0, (int)ARRAY_SIZE(cases));
  tcase_add_test(tc, test_bound);
  tcase_add_test(tc, test_utf8_char_len);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
