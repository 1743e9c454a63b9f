/*
 * buf.c - util/buf: the secret-wiping dispose leaves a reusable empty buffer;
 * JSON strings are always valid JSON; a UTF-8 prefix never ends inside a
 * sequence.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "util/buf.h"

static void dispose_secret_leaves_empty_reusable_buffer(void **state)
{
	berth_buf b = BERTH_BUF_INIT(64);

	(void)state;
	berth_buf_dispose_secret(&b); /* never allocated: a no-op */
	assert_null(b.ptr);
	assert_int_equal(berth_buf_puts(&b, "hunter2"), 0);
	berth_buf_dispose_secret(&b);
	assert_null(b.ptr);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.max, 64);
	assert_int_equal(berth_buf_puts(&b, "again"), 0);
	assert_string_equal(b.ptr, "again");
	berth_buf_dispose_secret(&b);
}

/* Escapes, valid UTF-8 kept, every byte of invalid UTF-8 replaced by U+FFFD;
 * the result is checked against jansson's parser (it rejects invalid UTF-8). */
static void json_string_is_always_valid_json(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"plain", "\"plain\""},
		{"q\"b\\n\nt\tc\x01", "\"q\\\"b\\\\n\\nt\\tc\\u0001\""},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3",
		 "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\xb3\""},
		{"bad\xff", "\"bad\\ufffd\""},
		{"\xc3", "\"\\ufffd\""},				  /* truncated at the end */
		{"\xc0\xaf", "\"\\ufffd\\ufffd\""},			  /* overlong '/' */
		{"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},		  /* a surrogate */
		{"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* past U+10FFFF */
		{"\xe2\x82", "\"\\ufffd\\ufffd\""},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		berth_buf b = BERTH_BUF_INIT(0);
		json_error_t err;
		json_t *j;

		assert_int_equal(berth_buf_put_json_string(&b, cases[i].in), 0);
		assert_string_equal(b.ptr, cases[i].want);
		j = json_loads(b.ptr, JSON_DECODE_ANY, &err);
		assert_non_null(j);
		json_decref(j);
		berth_buf_dispose(&b);
	}
}

static void utf8_prefix_never_cuts_a_sequence(void **state)
{
	/* "a" é (2 bytes) € (3 bytes) 𝄞 (4 bytes) */
	const char *s = "a\xc3\xa9\xe2\x82\xac\xf0\x9d\x84\x9e";
	static const size_t want[] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10};

	(void)state;
	for (size_t max = 0; max < sizeof(want) / sizeof(want[0]); max++)
		assert_int_equal(berth_utf8_prefix(s, max), want[max]);
	assert_int_equal(berth_utf8_prefix("", 5), 0);
	/* a stray continuation byte at the start is not a sequence to keep */
	assert_int_equal(berth_utf8_prefix("\xa9\xa9x", 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dispose_secret_leaves_empty_reusable_buffer),
		cmocka_unit_test(json_string_is_always_valid_json),
		cmocka_unit_test(utf8_prefix_never_cuts_a_sequence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
