/*
 * buf.c - util/buf: the secret-wiping dispose leaves a reusable empty buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dispose_secret_leaves_empty_reusable_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
