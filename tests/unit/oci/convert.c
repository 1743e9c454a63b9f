/*
 * convert.c - unit tests: berth_manifest_rewrite, the manifest conversion
 * behind `berth copy --format` and `--dest-compress` (OCI <-> Docker schema2
 * media types, replaced layers and children, Go field order).
 */
#include "fixtures.h"

static const char docker_image[] =
	"{'schemaVersion':2,'mediaType':'application/vnd.docker.distribution.manifest.v2+json',"
	"'config':{'mediaType':'application/vnd.docker.container.image.v1+json','size':1469,"
	"'digest':'" DG_A "'},"
	"'layers':[{'mediaType':'application/vnd.docker.image.rootfs.diff.tar.gzip','size':100,"
	"'digest':'" DG_B "'},"
	"{'mediaType':'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip','size':200,"
	"'digest':'" DG_C "','urls':['https://example.com/l']}]}";

static const char oci_image_zstd[] =
	"{'schemaVersion':2,'mediaType':'application/vnd.oci.image.manifest.v1+json',"
	"'config':{'mediaType':'application/vnd.oci.image.config.v1+json','digest':'" DG_A "',"
	"'size':10},'layers':[{'mediaType':'application/vnd.oci.image.layer.v1.tar+zstd',"
	"'digest':'" DG_B "','size':5}]}";

static const char oci_index[] =
	"{'schemaVersion':2,'mediaType':'application/vnd.oci.image.index.v1+json',"
	"'manifests':[{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DG_A
	"','size':500,'platform':{'os':'linux','architecture':'arm64','variant':'v8'}},"
	"{'mediaType':'application/vnd.oci.image.manifest.v1+json','digest':'" DG_B
	"','size':501,'platform':{'architecture':'amd64','os':'linux'}}],"
	"'annotations':{'org.opencontainers.image.created':'2024'}}";

static char *rewrite_q(const char *json_q, const berth_manifest_edit *e, int want_rc)
{
	char *in = dq(json_q), *out = NULL;
	size_t len = 0;

	assert_int_equal(berth_manifest_rewrite(&out, &len, in, strlen(in), NULL, e), want_rc);
	free(in);
	if (out)
		assert_int_equal(strlen(out), len);
	return out;
}

static void docker_image_converts_to_oci_media_types(void **state)
{
	berth_manifest_edit e = {BERTH_OCI_FORMAT_OCI, NULL, 0, NULL, 0, NULL};
	char *out = rewrite_q(docker_image, &e, 0), *want;
	berth_manifest *m;

	want = dq("{'schemaVersion':2,'mediaType':'application/vnd.oci.image.manifest.v1+json',"
		  "'config':{'mediaType':'application/vnd.oci.image.config.v1+json','digest':'" DG_A
		  "','size':1469},'layers':[{'mediaType':'application/"
		  "vnd.oci.image.layer.v1.tar+gzip',"
		  "'digest':'" DG_B "','size':100},{'mediaType':"
		  "'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip','digest':'" DG_C
		  "','size':200,'urls':['https://example.com/l']}]}");
	assert_string_equal(out, want);
	assert_int_equal(berth_manifest_parse(&m, out, strlen(out), NULL), 0);
	assert_string_equal(m->media_type, BERTH_MT_OCI_MANIFEST);
	berth_manifest_free(m);
	free(want);
	free(out);
}

static void oci_and_back_gives_the_docker_bytes_again(void **state)
{
	berth_manifest_edit to_oci = {BERTH_OCI_FORMAT_OCI, NULL, 0, NULL, 0, NULL};
	berth_manifest_edit to_docker = {BERTH_OCI_FORMAT_V2S2, NULL, 0, NULL, 0, NULL};
	char *oci = rewrite_q(docker_image, &to_oci, 0), *back = NULL, *orig = dq(docker_image);
	size_t len;

	assert_int_equal(berth_manifest_rewrite(&back, &len, oci, strlen(oci), NULL, &to_docker),
			 0);
	/* The source was written in Go's field order, so the round trip is exact. */
	assert_string_equal(back, orig);
	free(oci);
	free(back);
	free(orig);
}

static void replaced_layers_take_new_digest_size_and_type(void **state)
{
	berth_descriptor repl[1];
	berth_manifest_edit e = {BERTH_OCI_FORMAT_KEEP, repl, 1, NULL, 0, NULL};
	berth_manifest *m;
	char *out;

	memset(repl, 0, sizeof(repl));
	repl[0].media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
	assert_int_equal(berth_digest_parse(&repl[0].digest, DG_E, strlen(DG_E)), 0);
	repl[0].size = 77;
	out = rewrite_q(oci_image_zstd, &e, 0);
	assert_int_equal(berth_manifest_parse(&m, out, strlen(out), NULL), 0);
	assert_string_equal(m->media_type, BERTH_MT_OCI_MANIFEST);
	assert_string_equal(m->config.digest.str, DG_A); /* config unchanged */
	assert_int_equal(m->nlayers, 1);
	assert_string_equal(m->layers[0].media_type, "application/vnd.oci.image.layer.v1.tar+gzip");
	assert_string_equal(m->layers[0].digest.str, DG_E);
	assert_int_equal(m->layers[0].size, 77);
	berth_manifest_free(m);
	free(out);
}

static void zstd_layers_cannot_become_schema2(void **state)
{
	berth_manifest_edit e = {BERTH_OCI_FORMAT_V2S2, NULL, 0, NULL, 0, NULL};
	char *out = rewrite_q(oci_image_zstd, &e, BERTH_EUNSUPPORTED);

	assert_null(out);
	assert_non_null(strstr(berth_error_last(), "tar+zstd"));
}

static void wrong_replacement_count_is_refused(void **state)
{
	berth_descriptor repl[2];
	berth_manifest_edit e = {BERTH_OCI_FORMAT_KEEP, repl, 2, NULL, 0, NULL};

	memset(repl, 0, sizeof(repl));
	assert_null(rewrite_q(oci_image_zstd, &e, BERTH_EINVALID));
}

static void index_becomes_docker_list_with_platforms_kept(void **state)
{
	berth_manifest_edit e = {BERTH_OCI_FORMAT_V2S2, NULL, 0, NULL, 0, NULL};
	char *out = rewrite_q(oci_index, &e, 0), *want;

	/* Go order in descriptors (mediaType, size, digest) and platforms; no annotations. */
	want = dq("{'schemaVersion':2,'mediaType':"
		  "'application/vnd.docker.distribution.manifest.list.v2+json','manifests':["
		  "{'mediaType':'application/vnd.docker.distribution.manifest.v2+json','size':500,"
		  "'digest':'" DG_A
		  "','platform':{'architecture':'arm64','os':'linux','variant':'v8'}},"
		  "{'mediaType':'application/vnd.docker.distribution.manifest.v2+json','size':501,"
		  "'digest':'" DG_B "','platform':{'architecture':'amd64','os':'linux'}}]}");
	assert_string_equal(out, want);
	free(want);
	free(out);
}

static void index_children_can_be_replaced(void **state)
{
	berth_descriptor kids[2];
	berth_manifest_edit e = {BERTH_OCI_FORMAT_KEEP, NULL, 0, kids, 2, NULL};
	berth_manifest *m;
	char *out;

	memset(kids, 0, sizeof(kids));
	kids[0].media_type = BERTH_MT_OCI_MANIFEST;
	assert_int_equal(berth_digest_parse(&kids[0].digest, DG_C, strlen(DG_C)), 0);
	kids[0].size = 600;
	kids[1].media_type = BERTH_MT_OCI_MANIFEST;
	assert_int_equal(berth_digest_parse(&kids[1].digest, DG_D, strlen(DG_D)), 0);
	kids[1].size = 601;
	out = rewrite_q(oci_index, &e, 0);
	assert_int_equal(berth_manifest_parse(&m, out, strlen(out), NULL), 0);
	assert_int_equal(m->nmanifests, 2);
	assert_string_equal(m->manifests[0].digest.str, DG_C);
	assert_int_equal(m->manifests[1].size, 601);
	assert_string_equal(m->manifests[0].platform->variant, "v8");
	assert_string_equal(m->annotations, "{\"org.opencontainers.image.created\":\"2024\"}");
	berth_manifest_free(m);
	free(out);
}

static void formats_and_manifest_types_map(void **state)
{
	berth_oci_format f;

	assert_int_equal(berth_oci_format_parse(&f, "oci"), 0);
	assert_int_equal(f, BERTH_OCI_FORMAT_OCI);
	assert_int_equal(berth_oci_format_parse(&f, "v2s2"), 0);
	assert_int_equal(f, BERTH_OCI_FORMAT_V2S2);
	assert_int_equal(berth_oci_format_parse(&f, "v2s1"), BERTH_EINVALID);
	assert_string_equal(berth_oci_manifest_type_in(BERTH_MT_OCI_INDEX, BERTH_OCI_FORMAT_V2S2),
			    BERTH_MT_DOCKER_LIST);
	assert_string_equal(
		berth_oci_manifest_type_in(BERTH_MT_DOCKER_MANIFEST, BERTH_OCI_FORMAT_OCI),
		BERTH_MT_OCI_MANIFEST);
	assert_null(berth_oci_manifest_type_in(BERTH_MT_OCI_CONFIG, BERTH_OCI_FORMAT_OCI));
}

/* A rich Docker config and the exact bytes skopeo 1.9.3 wrote for it (docker-archive -> oci). */
static const char docker_cfg[] =
	"{\"architecture\":\"amd64\",\"variant\":\"v1\",\"os\":\"linux\",\"os.version\""
	":\"10.0\",\"os.features\":[\"a\"],\"created\":\"2023-05-01T10:20:30.12000"
	"0000Z\",\"author\":\"me <a&b>\",\"container\":\"abc\",\"docker_version\":\"2"
	"0.10\",\"config\":{\"Hostname\":\"h\",\"User\":\"u\",\"ExposedPorts\":{\"80/tc"
	"p\":{},\"443/tcp\":{},\"22/tcp\":{}},\"Env\":[\"A=1\",\"B=<x>&y\"],\"Cmd\":[\""
	"/bin/sh\",\"-c\",\"a && b\"],\"Entrypoint\":null,\"Volumes\":{\"/z\":{},\"/a"
	"\":{}},\"WorkingDir\":\"/w\",\"Labels\":{\"z\":\"1\",\"a\":\"2\"},\"StopSignal\":"
	"\"SIGTERM\",\"ArgsEscaped\":true,\"OnBuild\":null,\"Healthcheck\":{\"Test"
	"\":[\"x\"]}},\"container_config\":{\"Cmd\":[\"x\"]},\"rootfs\":{\"type\":\"lay"
	"ers\",\"diff_ids\":[\"sha256:166de6da6a13dcfa75b5b658a84b46231546c81"
	"4d9aeeff8676dc0207a4c40ae\",\"sha256:004b8b238b6a114a59a1acc22439b"
	"b77dd995fe171c9ded4e957b155e7a8eae5\",\"sha256:d20e29512d368d7068c"
	"5935a6b06b4b1fbfaadea97a9bf42559139693cbb8871\"]},\"history\":[{\"cr"
	"eated\":\"2023-05-01T10:20:30+02:00\",\"created_by\":\"p2util layer 0\""
	",\"empty_layer\":false,\"comment\":\"c\\u2028\"},{\"created_by\":\"x\",\"emp"
	"ty_layer\":true,\"author\":\"q\"},{\"created_by\":\"p2util layer 1\"},{\"c"
	"reated_by\":\"p2util layer 2\"}]}";
static const char skopeo_oci_cfg[] =
	"{\"created\":\"2023-05-01T10:20:30.12Z\",\"author\":\"me \\u003ca\\u0026b"
	"\\u003e\",\"architecture\":\"amd64\",\"variant\":\"v1\",\"os\":\"linux\",\"os.v"
	"ersion\":\"10.0\",\"os.features\":[\"a\"],\"config\":{\"User\":\"u\",\"Exposed"
	"Ports\":{\"22/tcp\":{},\"443/tcp\":{},\"80/tcp\":{}},\"Env\":[\"A=1\",\"B=\\u"
	"003cx\\u003e\\u0026y\"],\"Cmd\":[\"/bin/sh\",\"-c\",\"a \\u0026\\u0026 b\"],\""
	"Volumes\":{\"/a\":{},\"/z\":{}},\"WorkingDir\":\"/w\",\"Labels\":{\"a\":\"2\",\""
	"z\":\"1\"},\"StopSignal\":\"SIGTERM\",\"ArgsEscaped\":true},\"rootfs\":{\"ty"
	"pe\":\"layers\",\"diff_ids\":[\"sha256:166de6da6a13dcfa75b5b658a84b462"
	"31546c814d9aeeff8676dc0207a4c40ae\",\"sha256:004b8b238b6a114a59a1a"
	"cc22439bb77dd995fe171c9ded4e957b155e7a8eae5\",\"sha256:d20e29512d3"
	"68d7068c5935a6b06b4b1fbfaadea97a9bf42559139693cbb8871\"]},\"histor"
	"y\":[{\"created\":\"2023-05-01T10:20:30+02:00\",\"created_by\":\"p2util "
	"layer 0\",\"comment\":\"c\\u2028\"},{\"created_by\":\"x\",\"author\":\"q\",\"em"
	"pty_layer\":true},{\"created_by\":\"p2util layer 1\"},{\"created_by\":\""
	"p2util layer 2\"}]}";

static void docker_config_becomes_skopeos_oci_config(void **state)
{
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(berth_oci_config_from_docker(&out, &len, docker_cfg, strlen(docker_cfg)),
			 0);
	assert_int_equal(len, strlen(skopeo_oci_cfg));
	assert_string_equal(out, skopeo_oci_cfg);
	free(out);
}

static void bad_docker_configs_are_refused(void **state)
{
	static const char *const bad[] = {
		"[]",
		"{\"created\":\"yesterday\"}",
		"{\"config\":{\"Env\":\"A=1\"}}",
		"{\"history\":{}}",
		"{\"os\":1}",
		"not json",
	};
	char *out = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(berth_oci_config_from_docker(&out, &len, bad[i], strlen(bad[i])),
				 BERTH_EINVALID);
	/* minimal: the fields Go writes without omitempty */
	assert_int_equal(berth_oci_config_from_docker(&out, &len, "{}", 2), 0);
	assert_string_equal(out, "{\"architecture\":\"\",\"os\":\"\",\"config\":{},"
				 "\"rootfs\":{\"type\":\"\",\"diff_ids\":null}}");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(docker_image_converts_to_oci_media_types),
		cmocka_unit_test(oci_and_back_gives_the_docker_bytes_again),
		cmocka_unit_test(replaced_layers_take_new_digest_size_and_type),
		cmocka_unit_test(zstd_layers_cannot_become_schema2),
		cmocka_unit_test(wrong_replacement_count_is_refused),
		cmocka_unit_test(index_becomes_docker_list_with_platforms_kept),
		cmocka_unit_test(index_children_can_be_replaced),
		cmocka_unit_test(formats_and_manifest_types_map),
		cmocka_unit_test(docker_config_becomes_skopeos_oci_config),
		cmocka_unit_test(bad_docker_configs_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
