/*
 * artifact.c - unit tests: OCI 1.1 artifacts (artifactType, the empty
 * config, empty layers) and referrers (subject), as cosign and oras push
 * them, and the artifact type the referrers API reports.
 */
#include "fixtures.h"

static const char cosign_sig[] =
	"{'schemaVersion': 2,"
	" 'mediaType': 'application/vnd.oci.image.manifest.v1+json',"
	" 'artifactType': 'application/vnd.dev.cosign.artifact.sig.v1+json',"
	" 'config': {'mediaType': 'application/vnd.oci.empty.v1+json',"
	"            'digest': '" DG_D "', 'size': 2, 'data': 'e30='},"
	" 'layers': [{'mediaType': 'application/vnd.dev.cosign.simplesigning.v1+json',"
	"             'digest': '" DG_E "', 'size': 245,"
	"             'annotations': {'dev.cosignproject.cosign/signature': 'MEUCIQDx+/=='}}],"
	" 'subject': {'mediaType': 'application/vnd.oci.image.manifest.v1+json',"
	"             'digest': '" DG_A "', 'size': 1234},"
	" 'annotations': {'org.opencontainers.image.created': '2024-03-01T10:00:00Z'}}";

static void cosign_signature_artifact_is_parsed(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, cosign_sig, BERTH_MT_OCI_MANIFEST), 0);
	assert_int_equal(m->kind, BERTH_OCI_IMAGE);
	assert_string_equal(m->artifact_type, "application/vnd.dev.cosign.artifact.sig.v1+json");
	assert_string_equal(m->config.media_type, BERTH_MT_OCI_EMPTY);
	assert_int_equal(m->config.size, 2);
	assert_int_equal(m->nlayers, 1);
	assert_string_equal(m->layers[0].annotations,
			    "{\"dev.cosignproject.cosign/signature\":\"MEUCIQDx+/==\"}");
	assert_string_equal(m->annotations,
			    "{\"org.opencontainers.image.created\":\"2024-03-01T10:00:00Z\"}");
	berth_manifest_free(m);
}

static void subject_is_parsed_as_a_descriptor(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, cosign_sig, NULL), 0);
	assert_non_null(m->subject);
	assert_string_equal(m->subject->media_type, BERTH_MT_OCI_MANIFEST);
	assert_string_equal(m->subject->digest.str, DG_A);
	assert_int_equal(m->subject->size, 1234);
	berth_manifest_free(m);
}

static void referrer_type_prefers_artifact_type(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m, cosign_sig, NULL), 0);
	assert_string_equal(berth_manifest_referrer_type(m),
			    "application/vnd.dev.cosign.artifact.sig.v1+json");
	berth_manifest_free(m);
}

static void empty_config_artifact_with_no_layers_is_valid(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m,
				 "{'schemaVersion': 2,"
				 " 'mediaType': 'application/vnd.oci.image.manifest.v1+json',"
				 " 'artifactType': 'application/vnd.example+type',"
				 " 'config': {'mediaType': 'application/vnd.oci.empty.v1+json',"
				 "            'digest': '" DG_D "', 'size': 2},"
				 " 'layers': []}",
				 NULL),
			 0);
	assert_int_equal(m->nlayers, 0);
	assert_null(m->layers);
	assert_string_equal(berth_manifest_referrer_type(m), "application/vnd.example+type");
	berth_manifest_free(m);
}

static void empty_config_without_artifact_type_reports_config_type(void **state)
{
	berth_manifest *m;

	assert_int_equal(parse_q(&m,
				 "{'schemaVersion': 2,"
				 " 'config': {'mediaType': 'application/vnd.oci.empty.v1+json',"
				 "            'digest': '" DG_D "', 'size': 2},"
				 " 'layers': [{'mediaType': 'application/vnd.oci.empty.v1+json',"
				 "             'digest': '" DG_D "', 'size': 2}]}",
				 NULL),
			 0);
	assert_null(m->artifact_type);
	assert_string_equal(berth_manifest_referrer_type(m), BERTH_MT_OCI_EMPTY);
	berth_manifest_free(m);
}

static void layer_artifact_type_is_kept(void **state)
{
	berth_manifest *m;

	assert_int_equal(
		parse_q(&m,
			"{'schemaVersion': 2,"
			" 'config': {'mediaType': 'application/vnd.cncf.helm.config.v1+json',"
			"            'digest': '" DG_D "', 'size': 117},"
			" 'layers': [{'mediaType': "
			"'application/vnd.cncf.helm.chart.content.v1.tar+gzip',"
			"             'artifactType': 'application/vnd.cncf.helm.chart',"
			"             'digest': '" DG_C "', 'size': 3456}]}",
			NULL),
		0);
	assert_string_equal(m->layers[0].artifact_type, "application/vnd.cncf.helm.chart");
	assert_string_equal(berth_manifest_referrer_type(m),
			    "application/vnd.cncf.helm.config.v1+json");
	berth_manifest_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cosign_signature_artifact_is_parsed),
		cmocka_unit_test(subject_is_parsed_as_a_descriptor),
		cmocka_unit_test(referrer_type_prefers_artifact_type),
		cmocka_unit_test(empty_config_artifact_with_no_layers_is_valid),
		cmocka_unit_test(empty_config_without_artifact_type_reports_config_type),
		cmocka_unit_test(layer_artifact_type_is_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
