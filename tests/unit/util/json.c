/*
 * util/json: berth_json_write lays a document out as json_dumps does
 * (compact and JSON_INDENT(2)), and what it writes parses back equal.
 */
#include "util/json.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *doc_text =
	"{\"bomFormat\":\"CycloneDX\",\"version\":1,\"score\":7.5,\"whole\":2.0,"
	"\"neg\":-12,\"flags\":[true,false,null],\"empty\":{},\"none\":[],"
	"\"components\":[{\"name\":\"caf\\u00e9 \\u4e2d\",\"purl\":\"pkg:npm/%40a/b@1.0.0\","
	"\"licenses\":[{\"expression\":\"MIT OR Apache-2.0\"}]},{\"name\":\"q\\\"uote\\\\\"}],"
	"\"nested\":{\"a\":{\"b\":{\"c\":[1,[2,[3]]]}}}}";

static void check_as_jansson(int indent)
{
	json_t *doc = json_loads(doc_text, 0, NULL);
	berth_buf b = BERTH_BUF_INIT(0);
	char *want;

	assert_non_null(doc);
	want = json_dumps(doc, indent ? JSON_INDENT(indent) : JSON_COMPACT);
	assert_int_equal(berth_json_write(&b, doc, indent), 0);
	assert_string_equal(b.ptr, want);
	free(want);
	berth_buf_dispose(&b);
	json_decref(doc);
}

static void compact_as_jansson(void **state)
{
	(void)state;
	check_as_jansson(0);
}

static void indented_as_jansson(void **state)
{
	(void)state;
	check_as_jansson(2);
	check_as_jansson(4);
}

static void control_characters_parse_back(void **state)
{
	json_t *doc = json_pack("{s:s,s:[f,I]}", "ctl",
				"a\tb\nc\x01"
				"d\x1f",
				"n", 0.1, (json_int_t)INT64_MIN);
	berth_buf b = BERTH_BUF_INIT(0);
	json_t *back;

	(void)state;
	assert_int_equal(berth_json_write(&b, doc, 2), 0);
	back = json_loads(b.ptr, 0, NULL);
	assert_non_null(back);
	assert_true(json_equal(doc, back));
	json_decref(back);
	json_decref(doc);
	berth_buf_dispose(&b);
}

static void reals_as_jansson(void **state)
{
	json_t *doc = json_pack("[f,f,f,f,f,f]", 1e20, 1e-7, -2.5e-300, 123456789012.0, 0.5, -0.0);
	berth_buf b = BERTH_BUF_INIT(0);
	char *want = json_dumps(doc, JSON_COMPACT);

	(void)state;
	assert_int_equal(berth_json_write(&b, doc, 0), 0);
	assert_string_equal(b.ptr, want);
	free(want);
	json_decref(doc);
	berth_buf_dispose(&b);
}

static void no_value_is_refused(void **state)
{
	berth_buf b = BERTH_BUF_INIT(0);

	(void)state;
	assert_int_equal(berth_json_write(&b, NULL, 0), BERTH_EINVALID);
	berth_buf_dispose(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(compact_as_jansson),
		cmocka_unit_test(indented_as_jansson),
		cmocka_unit_test(control_characters_parse_back),
		cmocka_unit_test(reals_as_jansson),
		cmocka_unit_test(no_value_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
