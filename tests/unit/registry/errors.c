/*
 * errors.c - the distribution spec's error body (berth_registry_error_body):
 * the exact bytes clients parse, with and without a detail, escaping of code
 * and message, and the buffer's cap honoured.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "berth/registry.h"
#include "util/buf.h"

static void oci_error_with_detail_is_exact(void **state)
{
	berth_buf b = BERTH_BUF_INIT(1024);

	(void)state;
	assert_int_equal(berth_registry_error_body(&b, "NAME_UNKNOWN", "no such repo", "{\"n\":1}"),
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
	assert_int_equal(berth_registry_error_body(&b, "DENIED", "say \"no\"\n", NULL), 0);
	assert_string_equal(
		b.ptr, "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"say \\\"no\\\"\\n\"}]}");
	berth_buf_dispose(&b);
}

static void oci_error_over_cap_fails(void **state)
{
	berth_buf b = BERTH_BUF_INIT(16);

	(void)state;
	assert_true(berth_registry_error_body(&b, "UNKNOWN", "a message too long for the cap",
					      "null") < 0);
	berth_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(oci_error_with_detail_is_exact),
		cmocka_unit_test(oci_error_without_detail_leaves_key_out),
		cmocka_unit_test(oci_error_over_cap_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
