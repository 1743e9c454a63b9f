/*
 * schema.c - unit tests: refusals at the manifest level: Docker schema1,
 * schemaVersion other than the integer 2, and required or mistyped
 * top-level members.
 */
#include "fixtures.h"

#define CONFIG                                                                                     \
	"'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"                      \
	" 'digest': '" DG_A "', 'size': 5}"

static void schema1_signed_manifest_is_unsupported(void **state)
{
	refused("{'schemaVersion': 1, 'name': 'library/hello', 'tag': 'latest',"
		" 'architecture': 'amd64',"
		" 'fsLayers': [{'blobSum': '" DG_B "'}],"
		" 'history': [{'v1Compatibility': '{}'}],"
		" 'signatures': [{'header': {'alg': 'ES256'}, 'signature': 'x', 'protected': "
		"'y'}]}",
		BERTH_MT_DOCKER_V1_SIGNED, BERTH_EUNSUPPORTED, "schema1");
}

static void schema1_without_content_type_is_unsupported(void **state)
{
	refused("{'schemaVersion': 1, 'name': 'library/hello', 'tag': 'latest',"
		" 'fsLayers': [{'blobSum': '" DG_B "'}]}",
		NULL, BERTH_EUNSUPPORTED, "schema1");
}

static void schema1_media_type_in_body_is_unsupported(void **state)
{
	refused("{'schemaVersion': 1, 'mediaType': '" BERTH_MT_DOCKER_V1 "'}", NULL,
		BERTH_EUNSUPPORTED, "schema1");
}

static void schema_version_1_with_oci_media_type_is_invalid(void **state)
{
	refused("{'schemaVersion': 1, 'mediaType': '" BERTH_MT_OCI_MANIFEST "', " CONFIG
		", 'layers': []}",
		NULL, BERTH_EINVALID, "schemaVersion must be 2");
}

static void schema_version_as_string_is_invalid(void **state)
{
	refused("{'schemaVersion': '2', " CONFIG ", 'layers': []}", NULL, BERTH_EINVALID,
		"schemaVersion must be the integer 2");
}

static void schema_version_as_real_is_invalid(void **state)
{
	refused("{'schemaVersion': 2.0, " CONFIG ", 'layers': []}", NULL, BERTH_EINVALID,
		"schemaVersion must be the integer 2");
}

static void schema_version_3_is_invalid(void **state)
{
	refused("{'schemaVersion': 3, " CONFIG ", 'layers': []}", NULL, BERTH_EINVALID,
		"schemaVersion must be 2");
}

static void missing_schema_version_is_invalid(void **state)
{
	refused("{'mediaType': '" BERTH_MT_OCI_MANIFEST "', " CONFIG ", 'layers': []}", NULL,
		BERTH_EINVALID, "schemaVersion is required");
}

static void media_type_not_a_string_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'mediaType': 7, " CONFIG ", 'layers': []}", NULL,
		BERTH_EINVALID, "manifest.mediaType must be a string");
}

static void image_without_config_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'mediaType': '" BERTH_MT_OCI_MANIFEST "', 'layers': []}",
		NULL, BERTH_EINVALID, "config is required");
}

static void image_without_layers_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, " CONFIG "}", NULL, BERTH_EINVALID, "layers is required");
}

static void layers_not_an_array_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, " CONFIG ", 'layers': {}}", NULL, BERTH_EINVALID,
		"layers must be an array");
}

static void config_not_an_object_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'config': ['" DG_A "'], 'layers': []}", NULL, BERTH_EINVALID,
		"config must be an object");
}

static void index_without_manifests_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'mediaType': '" BERTH_MT_OCI_INDEX "'}", NULL, BERTH_EINVALID,
		"manifests is required");
}

static void manifests_not_an_array_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'manifests': {'a': 1}}", NULL, BERTH_EINVALID,
		"manifests must be an array");
}

static void index_entry_not_an_object_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'manifests': ['" DG_A "']}", NULL, BERTH_EINVALID,
		"manifests[0] must be an object");
}

static void artifact_type_not_a_string_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'artifactType': ['a/b'], " CONFIG ", 'layers': []}", NULL,
		BERTH_EINVALID, "artifactType must be a string");
}

static void artifact_type_not_a_media_type_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'artifactType': 'signature', " CONFIG ", 'layers': []}", NULL,
		BERTH_EINVALID, "artifactType is not a media type");
}

static void subject_not_an_object_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'subject': '" DG_A "', " CONFIG ", 'layers': []}", NULL,
		BERTH_EINVALID, "subject must be an object");
}

static void subject_without_digest_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'subject': {'mediaType': 'a/b', 'size': 1}, " CONFIG
		", 'layers': []}",
		NULL, BERTH_EINVALID, "subject.digest is required");
}

static void manifest_annotations_not_an_object_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'annotations': [['k', 'v']], " CONFIG ", 'layers': []}", NULL,
		BERTH_EINVALID, "manifest.annotations must be an object");
}

static void manifest_annotation_value_not_a_string_is_invalid(void **state)
{
	refused("{'schemaVersion': 2, 'annotations': {'ok': 'v', 'n': 1}, " CONFIG
		", 'layers': []}",
		NULL, BERTH_EINVALID, "annotations[\"n\"] must be a string");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(schema1_signed_manifest_is_unsupported),
		cmocka_unit_test(schema1_without_content_type_is_unsupported),
		cmocka_unit_test(schema1_media_type_in_body_is_unsupported),
		cmocka_unit_test(schema_version_1_with_oci_media_type_is_invalid),
		cmocka_unit_test(schema_version_as_string_is_invalid),
		cmocka_unit_test(schema_version_as_real_is_invalid),
		cmocka_unit_test(schema_version_3_is_invalid),
		cmocka_unit_test(missing_schema_version_is_invalid),
		cmocka_unit_test(media_type_not_a_string_is_invalid),
		cmocka_unit_test(image_without_config_is_invalid),
		cmocka_unit_test(image_without_layers_is_invalid),
		cmocka_unit_test(layers_not_an_array_is_invalid),
		cmocka_unit_test(config_not_an_object_is_invalid),
		cmocka_unit_test(index_without_manifests_is_invalid),
		cmocka_unit_test(manifests_not_an_array_is_invalid),
		cmocka_unit_test(index_entry_not_an_object_is_invalid),
		cmocka_unit_test(artifact_type_not_a_string_is_invalid),
		cmocka_unit_test(artifact_type_not_a_media_type_is_invalid),
		cmocka_unit_test(subject_not_an_object_is_invalid),
		cmocka_unit_test(subject_without_digest_is_invalid),
		cmocka_unit_test(manifest_annotations_not_an_object_is_invalid),
		cmocka_unit_test(manifest_annotation_value_not_a_string_is_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
