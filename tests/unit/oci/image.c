/*
 * image.c - unit tests: image manifests (OCI image manifest and Docker
 * schema2 manifest) shaped like those real tools push, and what the parser
 * learns from them.
 */
#include "fixtures.h"

static const char oci_two_layers[] =
	"{'schemaVersion': 2,"
	" 'mediaType': 'application/vnd.oci.image.manifest.v1+json',"
	" 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"
	"            'digest': '" DG_A "', 'size': 1469},"
	" 'layers': ["
	"   {'mediaType': 'application/vnd.oci.image.layer.v1.tar+gzip',"
	"    'digest': '" DG_B "', 'size': 3623807},"
	"   {'mediaType': 'application/vnd.oci.image.layer.v1.tar+zstd',"
	"    'digest': '" DG_C "', 'size': 0,"
	"    'annotations': {'org.opencontainers.image.title': 'app.tar'}}],"
	" 'annotations': {'org.opencontainers.image.created': '2024-01-01T00:00:00Z',"
	"                 'org.opencontainers.image.base.name': 'docker.io/library/alpine:3.19'}}";

static void oci_image_with_two_layers_is_parsed(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, oci_two_layers, NULL), 0);
	assert_int_equal(m->kind, BERTH_OCI_IMAGE);
	assert_string_equal(m->media_type, BERTH_MT_OCI_MANIFEST);
	assert_null(m->artifact_type);
	assert_string_equal(m->config.media_type, BERTH_MT_OCI_CONFIG);
	assert_string_equal(m->config.digest.str, DG_A);
	assert_int_equal(m->config.digest.algo, BERTH_DIGEST_SHA256);
	assert_int_equal(m->config.size, 1469);
	assert_int_equal(m->nlayers, 2);
	assert_string_equal(m->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	assert_string_equal(m->layers[0].digest.str, DG_B);
	assert_int_equal(m->layers[0].size, 3623807);
	assert_null(m->layers[0].annotations);
	assert_null(m->layers[0].platform);
	assert_string_equal(m->layers[1].digest.str, DG_C);
	assert_int_equal(m->layers[1].size, 0);
	assert_string_equal(m->layers[1].annotations,
			    "{\"org.opencontainers.image.title\":\"app.tar\"}");
	assert_null(m->manifests);
	assert_int_equal(m->nmanifests, 0);
	assert_null(m->subject);
	berth_manifest_free(m);
}

static void manifest_annotations_are_compact_json_in_original_order(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, oci_two_layers, NULL), 0);
	assert_string_equal(
		m->annotations,
		"{\"org.opencontainers.image.created\":\"2024-01-01T00:00:00Z\","
		"\"org.opencontainers.image.base.name\":\"docker.io/library/alpine:3.19\"}");
	berth_manifest_free(m);
}

static void plain_image_referrer_type_is_config_media_type(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, oci_two_layers, NULL), 0);
	assert_string_equal(berth_manifest_referrer_type(m), BERTH_MT_OCI_CONFIG);
	berth_manifest_free(m);
}

static void oci_image_without_media_type_uses_content_type(void **state)
{
	berth_manifest *m;

	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2,"
			" 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"
			"            'digest': '" DG_A "', 'size': 10},"
			" 'layers': []}",
			BERTH_MT_OCI_MANIFEST),
		0);
	assert_int_equal(m->kind, BERTH_OCI_IMAGE);
	assert_string_equal(m->media_type, BERTH_MT_OCI_MANIFEST);
	berth_manifest_free(m);
}

static const char docker_v2[] =
	"{'schemaVersion': 2,"
	" 'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',"
	" 'config': {'mediaType': 'application/vnd.docker.container.image.v1+json',"
	"            'size': 7023, 'digest': '" DG_C "'},"
	" 'layers': ["
	"   {'mediaType': 'application/vnd.docker.image.rootfs.diff.tar.gzip',"
	"    'size': 32654, 'digest': '" DG_A "'},"
	"   {'mediaType': 'application/vnd.docker.image.rootfs.diff.tar.gzip',"
	"    'size': 16724, 'digest': '" DG_B "'},"
	"   {'mediaType': 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',"
	"    'size': 73109, 'digest': '" DG_E "',"
	"    'urls': ['https://mcr.microsoft.com/v2/windows/nanoserver/blobs/" DG_E "']}]}";

static void docker_v2_manifest_is_parsed(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, docker_v2, BERTH_MT_DOCKER_MANIFEST), 0);
	assert_int_equal(m->kind, BERTH_OCI_IMAGE);
	assert_string_equal(m->media_type, BERTH_MT_DOCKER_MANIFEST);
	assert_string_equal(m->config.media_type, BERTH_MT_DOCKER_CONFIG);
	assert_string_equal(m->config.digest.str, DG_C);
	assert_int_equal(m->config.size, 7023);
	assert_int_equal(m->nlayers, 3);
	assert_int_equal(m->layers[1].size, 16724);
	assert_string_equal(m->layers[2].media_type,
			    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip");
	assert_string_equal(m->layers[2].digest.str, DG_E);
	assert_null(m->annotations);
	assert_string_equal(berth_manifest_referrer_type(m), BERTH_MT_DOCKER_CONFIG);
	berth_manifest_free(m);
}

static void docker_v2_subject_is_not_read(void **state)
{
	berth_manifest *m;

	/* Docker schema2 defines no subject/artifactType: unknown fields are ignored. */
	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2,"
			" 'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',"
			" 'config': {'mediaType': 'application/vnd.docker.container.image.v1+json',"
			"            'size': 1, 'digest': '" DG_C "'},"
			" 'layers': [], 'artifactType': 5, 'subject': 'x'}",
			NULL),
		0);
	assert_null(m->subject);
	assert_null(m->artifact_type);
	berth_manifest_free(m);
}

static void sha512_digests_are_accepted(void **state)
{
	berth_manifest *m;

	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2,"
			" 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"
			"            'digest': 'sha512:" HEX_A HEX_B "', 'size': 3},"
			" 'layers': []}",
			NULL),
		0);
	assert_int_equal(m->config.digest.algo, BERTH_DIGEST_SHA512);
	assert_string_equal(m->config.digest.str, "sha512:" HEX_A HEX_B);
	berth_manifest_free(m);
}

static void largest_int64_size_is_accepted(void **state)
{
	berth_manifest *m;

	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2,"
			" 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"
			"            'digest': '" DG_A "', 'size': 9223372036854775807},"
			" 'layers': []}",
			NULL),
		0);
	assert_true(m->config.size == INT64_MAX);
	berth_manifest_free(m);
}

static void unknown_fields_are_ignored(void **state)
{
	berth_manifest *m;

	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2, 'x-vendor': {'a': [1, 2, {'b': null}]},"
			" 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"
			"            'digest': '" DG_A "', 'size': 3, 'future': true},"
			" 'layers': []}",
			NULL),
		0);
	assert_int_equal(m->nlayers, 0);
	berth_manifest_free(m);
}

static void free_accepts_null(void **state)
{
	berth_manifest_free(NULL);
	assert_null(berth_manifest_referrer_type(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(oci_image_with_two_layers_is_parsed),
		cmocka_unit_test(manifest_annotations_are_compact_json_in_original_order),
		cmocka_unit_test(plain_image_referrer_type_is_config_media_type),
		cmocka_unit_test(oci_image_without_media_type_uses_content_type),
		cmocka_unit_test(docker_v2_manifest_is_parsed),
		cmocka_unit_test(docker_v2_subject_is_not_read),
		cmocka_unit_test(sha512_digests_are_accepted),
		cmocka_unit_test(largest_int64_size_is_accepted),
		cmocka_unit_test(unknown_fields_are_ignored),
		cmocka_unit_test(free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
