/*
 * descriptor.c - unit tests: refusals of malformed descriptors (config,
 * layers, index entries, platforms): mediaType, digest, size, urls,
 * annotations, data and platform rules of the image-spec, each located in
 * the error message.
 */
#include "fixtures.h"

/* An OCI image whose second layer is `layer` (a descriptor body). */
#define WITH_LAYER(layer)                                                                          \
	"{'schemaVersion': 2,"                                                                     \
	" 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"                     \
	"            'digest': '" DG_A "', 'size': 5},"                                            \
	" 'layers': [{'mediaType': 'application/vnd.oci.image.layer.v1.tar',"                      \
	"             'digest': '" DG_B "', 'size': 1}, {" layer "}]}"
#define LAYER_MT "'mediaType': 'application/vnd.oci.image.layer.v1.tar'"

/* An OCI index whose only entry has `platform`. */
#define WITH_PLATFORM(platform)                                                                    \
	"{'schemaVersion': 2, 'manifests': [{'mediaType': '" BERTH_MT_OCI_MANIFEST "',"            \
	" 'digest': '" DG_A "', 'size': 5, 'platform': " platform "}]}"

static void missing_media_type_is_invalid(void **state)
{
	refused(WITH_LAYER("'digest': '" DG_C "', 'size': 1"), NULL, BERTH_EINVALID,
		"layers[1].mediaType is required");
}

static void media_type_not_a_string_is_invalid(void **state)
{
	refused(WITH_LAYER("'mediaType': null, 'digest': '" DG_C "', 'size': 1"), NULL,
		BERTH_EINVALID, "layers[1].mediaType must be a string");
}

static void media_type_without_subtype_is_invalid(void **state)
{
	refused(WITH_LAYER("'mediaType': 'tar', 'digest': '" DG_C "', 'size': 1"), NULL,
		BERTH_EINVALID, "layers[1].mediaType is not a media type");
}

static void config_media_type_with_parameters_is_invalid(void **state)
{
	refused("{'schemaVersion': 2,"
		" 'config': {'mediaType': 'application/json; charset=utf-8',"
		"            'digest': '" DG_A "', 'size': 5}, 'layers': []}",
		NULL, BERTH_EINVALID, "config.mediaType is not a media type");
}

static void missing_digest_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'size': 1"), NULL, BERTH_EINVALID,
		"layers[1].digest is required");
}

static void digest_not_a_string_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': 12, 'size': 1"), NULL, BERTH_EINVALID,
		"layers[1].digest must be a string");
}

static void uppercase_hex_digest_is_invalid(void **state)
{
	refused(WITH_LAYER(
			LAYER_MT
			", 'digest': "
			"'sha256:B5B2B2C507A0944348E0303114D8D93AAAA081732B86451D9BCE1F432A537BC7',"
			" 'size': 1"),
		NULL, BERTH_EINVALID, "layers[1].digest: ");
}

static void short_digest_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': 'sha256:abc', 'size': 1"), NULL, BERTH_EINVALID,
		"layers[1].digest: ");
}

static void digest_without_algorithm_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" HEX_C "', 'size': 1"), NULL, BERTH_EINVALID,
		"layers[1].digest: ");
}

static void unsupported_digest_algorithm_is_invalid(void **state)
{
	/* Well-formed per the grammar, but berth could never verify it. */
	refused(WITH_LAYER(LAYER_MT
			   ", 'digest': 'md5:d41d8cd98f00b204e9800998ecf8427e', 'size': 1"),
		NULL, BERTH_EINVALID, "layers[1].digest: ");
}

static void missing_size_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C "'"), NULL, BERTH_EINVALID,
		"layers[1].size is required");
}

static void negative_size_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C "', 'size': -1"), NULL, BERTH_EINVALID,
		"layers[1].size must be a non-negative integer");
}

static void size_as_string_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C "', 'size': '10'"), NULL, BERTH_EINVALID,
		"layers[1].size must be a non-negative integer");
}

static void fractional_size_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C "', 'size': 1.5"), NULL, BERTH_EINVALID,
		"layers[1].size must be a non-negative integer");
}

static void size_beyond_int64_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C "', 'size': 9223372036854775808"), NULL,
		BERTH_EINVALID, "not valid JSON");
}

static void urls_not_an_array_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C "', 'size': 1, 'urls': 'https://x/'"),
		NULL, BERTH_EINVALID, "layers[1].urls must be an array of strings");
}

static void url_not_a_string_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C "', 'size': 1, 'urls': ['https://x/', 3]"),
		NULL, BERTH_EINVALID, "layers[1].urls[1] must be a string");
}

static void descriptor_annotation_value_not_a_string_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C
				    "', 'size': 1, 'annotations': {'a': true}"),
		NULL, BERTH_EINVALID, "layers[1].annotations[\"a\"] must be a string");
}

static void descriptor_artifact_type_not_a_string_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C "', 'size': 1, 'artifactType': {}"), NULL,
		BERTH_EINVALID, "layers[1].artifactType must be a string");
}

static void data_not_a_string_is_invalid(void **state)
{
	refused(WITH_LAYER(LAYER_MT ", 'digest': '" DG_C "', 'size': 1, 'data': 123"), NULL,
		BERTH_EINVALID, "layers[1].data must be a (base64) string");
}

static void platform_without_os_is_invalid(void **state)
{
	refused(WITH_PLATFORM("{'architecture': 'amd64'}"), NULL, BERTH_EINVALID,
		"manifests[0].platform needs \"architecture\" and \"os\"");
}

static void platform_without_architecture_is_invalid(void **state)
{
	refused(WITH_PLATFORM("{'os': 'linux'}"), NULL, BERTH_EINVALID,
		"manifests[0].platform needs");
}

static void platform_architecture_not_a_string_is_invalid(void **state)
{
	refused(WITH_PLATFORM("{'architecture': 64, 'os': 'linux'}"), NULL, BERTH_EINVALID,
		"manifests[0].platform.architecture must be a string");
}

static void platform_not_an_object_is_invalid(void **state)
{
	refused(WITH_PLATFORM("'linux/amd64'"), NULL, BERTH_EINVALID,
		"manifests[0].platform must be an object");
}

static void platform_os_version_not_a_string_is_invalid(void **state)
{
	refused(WITH_PLATFORM("{'architecture': 'amd64', 'os': 'windows', 'os.version': 10}"), NULL,
		BERTH_EINVALID, "manifests[0].platform.os.version must be a string");
}

static void platform_os_features_not_strings_is_invalid(void **state)
{
	refused(WITH_PLATFORM("{'architecture': 'amd64', 'os': 'windows', 'os.features': [1]}"),
		NULL, BERTH_EINVALID, "manifests[0].platform.os.features[0] must be a string");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(missing_media_type_is_invalid),
		cmocka_unit_test(media_type_not_a_string_is_invalid),
		cmocka_unit_test(media_type_without_subtype_is_invalid),
		cmocka_unit_test(config_media_type_with_parameters_is_invalid),
		cmocka_unit_test(missing_digest_is_invalid),
		cmocka_unit_test(digest_not_a_string_is_invalid),
		cmocka_unit_test(uppercase_hex_digest_is_invalid),
		cmocka_unit_test(short_digest_is_invalid),
		cmocka_unit_test(digest_without_algorithm_is_invalid),
		cmocka_unit_test(unsupported_digest_algorithm_is_invalid),
		cmocka_unit_test(missing_size_is_invalid),
		cmocka_unit_test(negative_size_is_invalid),
		cmocka_unit_test(size_as_string_is_invalid),
		cmocka_unit_test(fractional_size_is_invalid),
		cmocka_unit_test(size_beyond_int64_is_invalid),
		cmocka_unit_test(urls_not_an_array_is_invalid),
		cmocka_unit_test(url_not_a_string_is_invalid),
		cmocka_unit_test(descriptor_annotation_value_not_a_string_is_invalid),
		cmocka_unit_test(descriptor_artifact_type_not_a_string_is_invalid),
		cmocka_unit_test(data_not_a_string_is_invalid),
		cmocka_unit_test(platform_without_os_is_invalid),
		cmocka_unit_test(platform_without_architecture_is_invalid),
		cmocka_unit_test(platform_architecture_not_a_string_is_invalid),
		cmocka_unit_test(platform_not_an_object_is_invalid),
		cmocka_unit_test(platform_os_version_not_a_string_is_invalid),
		cmocka_unit_test(platform_os_features_not_strings_is_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
