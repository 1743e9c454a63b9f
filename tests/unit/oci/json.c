/*
 * json.c - unit tests: refusals at the JSON level (not JSON, not an object,
 * truncated, trailing bytes, duplicate keys, bad UTF-8, NUL escapes,
 * excessive nesting) and byte-exact handling of the input length.
 */
#include "fixtures.h"

#include <stdio.h>

#define VALID                                                                                      \
	"{'schemaVersion': 2, 'mediaType': '" BERTH_MT_OCI_MANIFEST "',"                           \
	" 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"                     \
	"            'digest': '" DG_A "', 'size': 5},"                                            \
	" 'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar',"                      \
	"             'digest': '" DG_B "', 'size': 1}]}"

static void array_is_not_a_manifest(void **state)
{
	refused("[" VALID "]", NULL, BERTH_EINVALID, "must be a JSON object");
}

static void scalar_is_not_a_manifest(void **state)
{
	refused("'" BERTH_MT_OCI_MANIFEST "'", NULL, BERTH_EINVALID, "not valid JSON");
	refused("2", NULL, BERTH_EINVALID, "not valid JSON");
	refused("null", NULL, BERTH_EINVALID, "not valid JSON");
}

static void truncated_json_is_invalid(void **state)
{
	char *s = dq(VALID);
	berth_manifest *m = NULL;

	/* Every proper prefix of a manifest is refused, none crashes. */
	for (size_t n = 0; n < strlen(s); n++) {
		assert_int_equal(berth_manifest_parse(&m, s, n, NULL), BERTH_EINVALID);
		assert_null(m);
	}
	assert_int_equal(berth_manifest_parse(&m, s, strlen(s), NULL), 0);
	berth_manifest_free(m);
	free(s);
}

static void length_is_honoured_without_nul_terminator(void **state)
{
	char *s = dq(VALID "garbage that must not be read");
	size_t n = strlen(VALID);
	berth_manifest *m = NULL;

	assert_int_equal(berth_manifest_parse(&m, s, n, NULL), 0);
	assert_int_equal(m->nlayers, 1);
	berth_manifest_free(m);
	free(s);
}

static void empty_and_null_input_are_invalid(void **state)
{
	berth_manifest *m = NULL;

	assert_int_equal(berth_manifest_parse(&m, "", 0, NULL), BERTH_EINVALID);
	assert_null(m);
	assert_int_equal(berth_manifest_parse(&m, NULL, 0, BERTH_MT_OCI_MANIFEST), BERTH_EINVALID);
	assert_null(m);
}

static void trailing_bytes_are_invalid(void **state)
{
	refused(VALID " {}", NULL, BERTH_EINVALID, "not valid JSON");
}

static void duplicate_top_level_key_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'schemaVersion': 2, 'manifests': []}", NULL, BERTH_EINVALID,
		"duplicate");
}

static void duplicate_nested_key_is_invalid(void **state)
{
	/* Two digests for one config: readers would disagree on what it references. */
	refused("{'schemaVersion': 2,"
		" 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"
		"            'digest': '" DG_A "', 'size': 5, 'digest': '" DG_B "'},"
		" 'layers': []}",
		NULL, BERTH_EINVALID, "duplicate");
}

static void duplicate_media_type_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'mediaType': '" BERTH_MT_OCI_MANIFEST "',"
		" 'mediaType': '" BERTH_MT_OCI_INDEX "', 'manifests': []}",
		NULL, BERTH_EINVALID, "duplicate");
}

static void invalid_utf8_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'manifests': [], 'x': '\xff\xfe'}", NULL, BERTH_EINVALID,
		"not valid JSON");
}

static void nul_escape_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'manifests': [], 'annotations': {'a': 'b\\u0000c'}}", NULL,
		BERTH_EINVALID, "not valid JSON");
}

/* VALID with an unknown member nesting `extra` arrays: depth 1 + extra. */
static int parse_nested(size_t extra)
{
	const char *head = "{'x': ";
	char *tail = dq(&VALID[1]);
	size_t n = strlen(head) + 2 * extra + 2 + strlen(tail) + 1;
	char *s = malloc(n), *p = s;
	berth_manifest *m = NULL;
	int rc;

	assert_non_null(s);
	p += sprintf(p, "%s", head);
	memset(p, '[', extra);
	p += extra;
	memset(p, ']', extra);
	p += extra;
	p += sprintf(p, ", %s", tail);
	for (char *q = s; *q; q++)
		if (*q == '\'')
			*q = '"';
	rc = berth_manifest_parse(&m, s, (size_t)(p - s), NULL);
	berth_manifest_free(m);
	free(s);
	free(tail);
	return rc;
}

static void nesting_up_to_the_limit_is_accepted(void **state)
{
	assert_int_equal(parse_nested(BERTH_OCI_MAX_DEPTH - 1), 0);
}

static void nesting_beyond_the_limit_is_invalid(void **state)
{
	assert_int_equal(parse_nested(BERTH_OCI_MAX_DEPTH), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "nests deeper"));
}

static void very_deep_nesting_is_refused_without_recursion(void **state)
{
	assert_int_equal(parse_nested(1000000), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "nests deeper"));
}

static void brackets_inside_strings_do_not_count_as_nesting(void **state)
{
	char annot[512] = "{'schemaVersion': 2, 'manifests': [], 'annotations': {'a': '";
	berth_manifest *m;
	size_t n = strlen(annot);

	memset(annot + n, '[', 100);
	strcpy(annot + n + 100, "\\\\\\'{{'}}");
	assert_int_equal(parse_q(&m, annot, NULL), 0);
	assert_non_null(m->annotations);
	berth_manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(array_is_not_a_manifest),
		cmocka_unit_test(scalar_is_not_a_manifest),
		cmocka_unit_test(truncated_json_is_invalid),
		cmocka_unit_test(length_is_honoured_without_nul_terminator),
		cmocka_unit_test(empty_and_null_input_are_invalid),
		cmocka_unit_test(trailing_bytes_are_invalid),
		cmocka_unit_test(duplicate_top_level_key_is_invalid),
		cmocka_unit_test(duplicate_nested_key_is_invalid),
		cmocka_unit_test(duplicate_media_type_is_invalid),
		cmocka_unit_test(invalid_utf8_is_invalid),
		cmocka_unit_test(nul_escape_is_invalid),
		cmocka_unit_test(nesting_up_to_the_limit_is_accepted),
		cmocka_unit_test(nesting_beyond_the_limit_is_invalid),
		cmocka_unit_test(very_deep_nesting_is_refused_without_recursion),
		cmocka_unit_test(brackets_inside_strings_do_not_count_as_nesting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
