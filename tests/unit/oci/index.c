/*
 * index.c - unit tests: OCI image indexes and Docker manifest lists, their
 * child manifests and platforms.
 */
#include "fixtures.h"

static const char oci_two_platforms[] =
	"{'schemaVersion': 2,"
	" 'mediaType': 'application/vnd.oci.image.index.v1+json',"
	" 'manifests': ["
	"   {'mediaType': 'application/vnd.oci.image.manifest.v1+json',"
	"    'digest': '" DG_A "', 'size': 1024,"
	"    'platform': {'architecture': 'amd64', 'os': 'linux'}},"
	"   {'mediaType': 'application/vnd.oci.image.manifest.v1+json',"
	"    'digest': '" DG_B "', 'size': 1025,"
	"    'platform': {'architecture': 'arm64', 'os': 'linux', 'variant': 'v8'}},"
	"   {'mediaType': 'application/vnd.oci.image.manifest.v1+json',"
	"    'digest': '" DG_C "', 'size': 566,"
	"    'annotations': {'vnd.docker.reference.type': 'attestation-manifest',"
	"                    'vnd.docker.reference.digest': '" DG_A "'},"
	"    'platform': {'architecture': 'unknown', 'os': 'unknown'}}],"
	" 'annotations': {'org.opencontainers.image.ref.name': 'v1'}}";

static void oci_index_with_two_platforms_is_parsed(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, oci_two_platforms, NULL), 0);
	assert_int_equal(m->kind, BERTH_OCI_INDEX);
	assert_string_equal(m->media_type, BERTH_MT_OCI_INDEX);
	assert_null(m->config.media_type);
	assert_int_equal(m->nlayers, 0);
	assert_int_equal(m->nmanifests, 3);
	assert_string_equal(m->manifests[0].digest.str, DG_A);
	assert_int_equal(m->manifests[0].size, 1024);
	assert_string_equal(m->manifests[0].platform->architecture, "amd64");
	assert_string_equal(m->manifests[0].platform->os, "linux");
	assert_null(m->manifests[0].platform->variant);
	assert_null(m->manifests[0].platform->os_version);
	assert_string_equal(m->manifests[1].platform->architecture, "arm64");
	assert_string_equal(m->manifests[1].platform->variant, "v8");
	assert_string_equal(m->manifests[2].annotations,
			    "{\"vnd.docker.reference.type\":\"attestation-manifest\","
			    "\"vnd.docker.reference.digest\":\"" DG_A "\"}");
	assert_string_equal(m->annotations, "{\"org.opencontainers.image.ref.name\":\"v1\"}");
	berth_manifest_free(m);
}

static void plain_index_has_no_referrer_type(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, oci_two_platforms, NULL), 0);
	assert_null(berth_manifest_referrer_type(m));
	berth_manifest_free(m);
}

static void windows_platform_keeps_os_version(void **state)
{
	berth_manifest *m;

	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2,"
			" 'manifests': [{'mediaType': 'application/vnd.oci.image.manifest.v1+json',"
			"   'digest': '" DG_A "', 'size': 9,"
			"   'platform': {'architecture': 'amd64', 'os': 'windows',"
			"                'os.version': '10.0.17763.5329',"
			"                'os.features': ['win32k'], 'features': []}}]}",
			NULL),
		0);
	assert_string_equal(m->media_type, BERTH_MT_OCI_INDEX);
	assert_string_equal(m->manifests[0].platform->os, "windows");
	assert_string_equal(m->manifests[0].platform->os_version, "10.0.17763.5329");
	berth_manifest_free(m);
}

static void docker_manifest_list_is_parsed(void **state)
{
	berth_manifest *m;

	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2,"
			" 'mediaType': 'application/vnd.docker.distribution.manifest.list.v2+json',"
			" 'manifests': ["
			"   {'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',"
			"    'size': 7143, 'digest': '" DG_D "',"
			"    'platform': {'architecture': 'ppc64le', 'os': 'linux'}},"
			"   {'mediaType': 'application/vnd.docker.distribution.manifest.v2+json',"
			"    'size': 7682, 'digest': '" DG_E "',"
			"    'platform': {'architecture': 'arm', 'os': 'linux', 'variant': "
			"'v7'}}]}",
			"application/vnd.docker.distribution.manifest.list.v2+json"),
		0);
	assert_int_equal(m->kind, BERTH_OCI_INDEX);
	assert_string_equal(m->media_type, BERTH_MT_DOCKER_LIST);
	assert_int_equal(m->nmanifests, 2);
	assert_string_equal(m->manifests[0].media_type, BERTH_MT_DOCKER_MANIFEST);
	assert_string_equal(m->manifests[0].digest.str, DG_D);
	assert_int_equal(m->manifests[1].size, 7682);
	assert_string_equal(m->manifests[1].platform->architecture, "arm");
	assert_string_equal(m->manifests[1].platform->variant, "v7");
	berth_manifest_free(m);
}

static void empty_index_is_valid(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, "{'schemaVersion': 2, 'manifests': []}", NULL), 0);
	assert_int_equal(m->kind, BERTH_OCI_INDEX);
	assert_int_equal(m->nmanifests, 0);
	berth_manifest_free(m);
}

static void index_with_subject_and_artifact_type_is_a_referrer(void **state)
{
	berth_manifest *m;

	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2,"
			" 'mediaType': 'application/vnd.oci.image.index.v1+json',"
			" 'artifactType': 'application/vnd.example.sbom.bundle',"
			" 'manifests': [],"
			" 'subject': {'mediaType': 'application/vnd.oci.image.index.v1+json',"
			"             'digest': '" DG_B "', 'size': 321}}",
			NULL),
		0);
	assert_non_null(m->subject);
	assert_string_equal(m->subject->digest.str, DG_B);
	assert_string_equal(berth_manifest_referrer_type(m), "application/vnd.example.sbom.bundle");
	berth_manifest_free(m);
}

static void platform_ignored_outside_index_entries(void **state)
{
	berth_manifest *m;

	/* "platform" is an index-entry field; elsewhere it is an unknown field. */
	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2,"
			" 'config': {'mediaType': 'application/vnd.oci.image.config.v1+json',"
			"            'digest': '" DG_A "', 'size': 3, 'platform': 7},"
			" 'layers': []}",
			NULL),
		0);
	assert_null(m->config.platform);
	berth_manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(oci_index_with_two_platforms_is_parsed),
		cmocka_unit_test(plain_index_has_no_referrer_type),
		cmocka_unit_test(windows_platform_keeps_os_version),
		cmocka_unit_test(docker_manifest_list_is_parsed),
		cmocka_unit_test(empty_index_is_valid),
		cmocka_unit_test(index_with_subject_and_artifact_type_is_a_referrer),
		cmocka_unit_test(platform_ignored_outside_index_entries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
