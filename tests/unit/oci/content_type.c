/*
 * content_type.c - unit tests: how the effective media type follows from
 * the body's mediaType, the request's Content-Type and the body's shape,
 * and the media type helpers of include/berth/oci.h.
 */
#include "fixtures.h"

#define IMAGE_BODY(mt)                                                                             \
	"{'schemaVersion': 2," mt " 'config': {'mediaType': "                                      \
	"'application/vnd.oci.image.config.v1+json', 'digest': '" DG_A "', 'size': 5},"            \
	" 'layers': []}"
#define INDEX_BODY(mt) "{'schemaVersion': 2," mt " 'manifests': []}"
#define MT(t) " 'mediaType': '" t "',"

static void matching_content_type_is_accepted(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, IMAGE_BODY(MT(BERTH_MT_OCI_MANIFEST)), BERTH_MT_OCI_MANIFEST),
			 0);
	assert_string_equal(m->media_type, BERTH_MT_OCI_MANIFEST);
	berth_manifest_free(m);
}

static void content_type_parameters_and_case_are_ignored(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, INDEX_BODY(""),
				 " Application/VND.oci.image.index.v1+json ; charset=utf-8"),
			 0);
	assert_int_equal(m->kind, BERTH_OCI_INDEX);
	assert_string_equal(m->media_type, BERTH_MT_OCI_INDEX);
	berth_manifest_free(m);
}

static void content_type_mismatch_names_both(void **state)
{
	refused(INDEX_BODY(MT(BERTH_MT_OCI_INDEX)), BERTH_MT_DOCKER_LIST, BERTH_EINVALID,
		"\"" BERTH_MT_OCI_INDEX "\"");
	assert_non_null(strstr(berth_error_last(), "\"" BERTH_MT_DOCKER_LIST "\""));
}

static void index_content_type_for_image_body_is_refused(void **state)
{
	refused(IMAGE_BODY(MT(BERTH_MT_OCI_MANIFEST)), BERTH_MT_OCI_INDEX, BERTH_EINVALID,
		"does not match");
}

static void non_manifest_content_type_is_ignored(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, IMAGE_BODY(MT(BERTH_MT_DOCKER_MANIFEST)), "application/json"),
			 0);
	assert_string_equal(m->media_type, BERTH_MT_DOCKER_MANIFEST);
	berth_manifest_free(m);
}

static void shape_decides_without_media_type_or_content_type(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, IMAGE_BODY(""), "application/octet-stream"), 0);
	assert_string_equal(m->media_type, BERTH_MT_OCI_MANIFEST);
	assert_int_equal(m->kind, BERTH_OCI_IMAGE);
	berth_manifest_free(m);
	assert_int_equal(parse_q(&m, INDEX_BODY(""), NULL), 0);
	assert_string_equal(m->media_type, BERTH_MT_OCI_INDEX);
	berth_manifest_free(m);
}

static void ambiguous_shape_is_refused(void **state)
{
	refused("{'schemaVersion': 2, 'manifests': [],"
		" 'config': {'mediaType': 'a/b', 'digest': '" DG_A "', 'size': 1}, 'layers': []}",
		NULL, BERTH_EINVALID, "both");
}

static void shapeless_body_is_refused(void **state)
{
	refused("{'schemaVersion': 2}", NULL, BERTH_EINVALID, "no mediaType");
}

static void index_media_type_with_config_is_refused(void **state)
{
	refused("{'schemaVersion': 2, 'mediaType': '" BERTH_MT_OCI_INDEX "',"
		" 'config': {'mediaType': 'a/b', 'digest': '" DG_A "', 'size': 1}, 'layers': []}",
		NULL, BERTH_EINVALID, "must not have");
}

static void index_media_type_with_layers_beside_manifests_is_refused(void **state)
{
	refused("{'schemaVersion': 2, 'mediaType': '" BERTH_MT_DOCKER_LIST "',"
		" 'manifests': [], 'layers': []}",
		NULL, BERTH_EINVALID, "must not have");
}

static void image_media_type_with_manifests_is_refused(void **state)
{
	refused(INDEX_BODY(MT(BERTH_MT_OCI_MANIFEST)), NULL, BERTH_EINVALID, "must not have");
}

static void image_content_type_with_index_shape_is_refused(void **state)
{
	refused(INDEX_BODY(""), BERTH_MT_OCI_MANIFEST, BERTH_EINVALID, "manifests");
}

static void docker_body_must_carry_media_type(void **state)
{
	refused(IMAGE_BODY(""), BERTH_MT_DOCKER_MANIFEST, BERTH_EINVALID, "mediaType");
}

static void unknown_manifest_media_type_is_unsupported(void **state)
{
	refused(IMAGE_BODY(MT("application/vnd.oci.artifact.manifest.v1+json")), NULL,
		BERTH_EUNSUPPORTED, "application/vnd.oci.artifact.manifest.v1+json");
}

static void media_type_compare_is_exact_in_the_body(void **state)
{
	refused(IMAGE_BODY(MT("Application/vnd.oci.image.manifest.v1+json")), NULL,
		BERTH_EUNSUPPORTED, "unsupported manifest media type");
}

static void media_type_shape_follows_rfc6838(void **state)
{
	assert_true(berth_oci_media_type_valid("application/vnd.oci.image.layer.v1.tar+gzip"));
	assert_true(berth_oci_media_type_valid("a/b"));
	assert_true(berth_oci_media_type_valid("x-Foo/bar!#$&^_.+-"));
	assert_false(berth_oci_media_type_valid(NULL));
	assert_false(berth_oci_media_type_valid(""));
	assert_false(berth_oci_media_type_valid("text"));
	assert_false(berth_oci_media_type_valid("/plain"));
	assert_false(berth_oci_media_type_valid("text/"));
	assert_false(berth_oci_media_type_valid("text/plain/x"));
	assert_false(berth_oci_media_type_valid("text/plain; charset=utf-8"));
	assert_false(berth_oci_media_type_valid("-text/plain"));
	assert_false(berth_oci_media_type_valid("text/.plain"));
	assert_false(berth_oci_media_type_valid("te xt/plain"));
}

static void media_type_parts_are_capped_at_127(void **state)
{
	char mt[300];

	memset(mt, 'a', 127);
	strcpy(mt + 127, "/b");
	assert_true(berth_oci_media_type_valid(mt));
	memset(mt, 'a', 128);
	strcpy(mt + 128, "/b");
	assert_false(berth_oci_media_type_valid(mt));
}

static void content_type_helper_returns_canonical_names(void **state)
{
	assert_string_equal(berth_oci_content_type(BERTH_MT_OCI_MANIFEST), BERTH_MT_OCI_MANIFEST);
	assert_string_equal(
		berth_oci_content_type("APPLICATION/VND.DOCKER.DISTRIBUTION.MANIFEST.V2+JSON"),
		BERTH_MT_DOCKER_MANIFEST);
	assert_string_equal(berth_oci_content_type(BERTH_MT_DOCKER_V1_SIGNED "; q=1"),
			    BERTH_MT_DOCKER_V1_SIGNED);
	assert_null(berth_oci_content_type("application/json"));
	assert_null(berth_oci_content_type(BERTH_MT_OCI_MANIFEST "x"));
	assert_null(berth_oci_content_type(""));
	assert_null(berth_oci_content_type(NULL));
}

static void type_predicates_are_exact(void **state)
{
	assert_true(berth_oci_is_manifest_type(BERTH_MT_OCI_MANIFEST));
	assert_true(berth_oci_is_manifest_type(BERTH_MT_OCI_INDEX));
	assert_true(berth_oci_is_manifest_type(BERTH_MT_DOCKER_MANIFEST));
	assert_true(berth_oci_is_manifest_type(BERTH_MT_DOCKER_LIST));
	assert_false(berth_oci_is_manifest_type(BERTH_MT_DOCKER_V1_SIGNED));
	assert_false(berth_oci_is_manifest_type(BERTH_MT_OCI_CONFIG));
	assert_false(berth_oci_is_manifest_type(NULL));
	assert_true(berth_oci_is_index_type(BERTH_MT_OCI_INDEX));
	assert_true(berth_oci_is_index_type(BERTH_MT_DOCKER_LIST));
	assert_false(berth_oci_is_index_type(BERTH_MT_OCI_MANIFEST));
	assert_true(berth_oci_is_schema1_type(BERTH_MT_DOCKER_V1));
	assert_true(berth_oci_is_schema1_type(BERTH_MT_DOCKER_V1_SIGNED));
	assert_false(berth_oci_is_schema1_type(BERTH_MT_DOCKER_MANIFEST));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matching_content_type_is_accepted),
		cmocka_unit_test(content_type_parameters_and_case_are_ignored),
		cmocka_unit_test(content_type_mismatch_names_both),
		cmocka_unit_test(index_content_type_for_image_body_is_refused),
		cmocka_unit_test(non_manifest_content_type_is_ignored),
		cmocka_unit_test(shape_decides_without_media_type_or_content_type),
		cmocka_unit_test(ambiguous_shape_is_refused),
		cmocka_unit_test(shapeless_body_is_refused),
		cmocka_unit_test(index_media_type_with_config_is_refused),
		cmocka_unit_test(index_media_type_with_layers_beside_manifests_is_refused),
		cmocka_unit_test(image_media_type_with_manifests_is_refused),
		cmocka_unit_test(image_content_type_with_index_shape_is_refused),
		cmocka_unit_test(docker_body_must_carry_media_type),
		cmocka_unit_test(unknown_manifest_media_type_is_unsupported),
		cmocka_unit_test(media_type_compare_is_exact_in_the_body),
		cmocka_unit_test(media_type_shape_follows_rfc6838),
		cmocka_unit_test(media_type_parts_are_capped_at_127),
		cmocka_unit_test(content_type_helper_returns_canonical_names),
		cmocka_unit_test(type_predicates_are_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
