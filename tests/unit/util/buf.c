/*
 * buf.c - util/buf's OCI error body: the exact bytes clients parse, with and
 * without a detail, escaping of code and message, and the cap honoured; and
 * the secret-wiping dispose leaving a reusable empty buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "util/buf.h"

static void oci_error_with_detail_is_exact(void **state)
{
	berth_buf b = BERTH_BUF_INIT(1024);

	(void)state;
	assert_int_equal(berth_buf_put_oci_error(&b, "NAME_UNKNOWN", "no such repo", "{\"n\":1}"),
			 0);
	assert_int_equal(b.len, strlen(b.ptr));
	assert_string_equal(b.ptr, "{\"errors\":[{\"code\":\"NAME_UNKNOWN\",\"message\":\"no such "
				   "repo\",\"detail\":{\"n\":1}}]}");
	berth_buf_dispose(&b);
}

static void oci_error_without_detail_leaves_key_out(void **state)
{
	berth_buf b = BERTH_BUF_INIT(1024);

	(void)state;
	assert_int_equal(berth_buf_put_oci_error(&b, "DENIED", "say \"no\"\n", NULL), 0);
	assert_string_equal(
		b.ptr, "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"say \\\"no\\\"\\n\"}]}");
	berth_buf_dispose(&b);
}

static void oci_error_over_cap_fails(void **state)
{
	berth_buf b = BERTH_BUF_INIT(16);

	(void)state;
	assert_true(berth_buf_put_oci_error(&b, "UNKNOWN", "a message too long for the cap",
					    "null") < 0);
	berth_buf_dispose(&b);
}

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(oci_error_with_detail_is_exact),
		cmocka_unit_test(oci_error_without_detail_leaves_key_out),
		cmocka_unit_test(oci_error_over_cap_fails),
		cmocka_unit_test(dispose_secret_leaves_empty_reusable_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
