/*
 * manifests.c - unit tests of manifest PUT/GET/HEAD/DELETE through the
 * registry API: exact bytes by tag and by digest, references that must
 * exist (MANIFEST_BLOB_UNKNOWN), Accept negotiation, the size cap (413),
 * invalid manifests, digest references, subjects and deletes.
 */
#include "harness.h"

static void test_put_get_by_tag_and_digest_identical(void **state)
{
	env *e = *state;
	berth_digest cd, ld, md;
	const char *config = "{\"os\":\"linux\"}";
	char path[256], *m;
	result r, rt, rd;

	push_blob(e, "team/app", config, strlen(config), &cd);
	push_blob(e, "team/app", "layer", 5, &ld);
	m = image_manifest(&cd, strlen(config), &ld, 5, NULL);
	assert_int_equal(berth_digest_compute(&md, BERTH_DIGEST_SHA256, m, strlen(m)), 0);

	run_ex(e, "PUT", "/v2/team/app/manifests/v1", oci_manifest_ct, NULL, m, strlen(m), 1, 7,
	       &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.route, "manifest_put");
	snprintf(path, sizeof(path), "/v2/team/app/manifests/%s", md.str);
	assert_string_equal(result_header(&r, "Location"), path);
	assert_string_equal(result_header(&r, "Docker-Content-Digest"), md.str);
	assert_null(result_header(&r, "OCI-Subject"));
	result_free(&r);

	run(e, "GET", "/v2/team/app/manifests/v1", NULL, NULL, NULL, 0, &rt);
	run(e, "GET", path, NULL, NULL, NULL, 0, &rd);
	assert_int_equal(rt.status, 200);
	assert_int_equal(rd.status, 200);
	assert_int_equal(rt.body_len, strlen(m));
	assert_memory_equal(rt.body, m, strlen(m));
	assert_int_equal(rd.body_len, rt.body_len);
	assert_memory_equal(rd.body, rt.body, rt.body_len);
	assert_string_equal(result_header(&rt, "Content-Type"),
			    "application/vnd.oci.image.manifest.v1+json");
	assert_string_equal(result_header(&rt, "Docker-Content-Digest"), md.str);
	result_free(&rt);
	result_free(&rd);

	run(e, "HEAD", "/v2/team/app/manifests/v1", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.route, "manifest_head");
	assert_true(r.head);
	assert_int_equal(r.head_length, strlen(m));
	assert_string_equal(result_header(&r, "Docker-Content-Digest"), md.str);
	result_free(&r);

	/* The manifest is also reachable through the blob endpoint. */
	snprintf(path, sizeof(path), "/v2/team/app/blobs/%s", md.str);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, strlen(m));
	assert_memory_equal(r.body, m, strlen(m));
	result_free(&r);
	free(m);
}

static void test_put_with_missing_blob(void **state)
{
	env *e = *state;
	berth_digest cd, ld;
	const char *config = "{}";
	json_t *j;
	char *m;
	result r;

	push_blob(e, "app", config, 2, &cd);
	assert_int_equal(berth_digest_compute(&ld, BERTH_DIGEST_SHA256, "never pushed", 12), 0);
	m = image_manifest(&cd, 2, &ld, 12, NULL);
	run(e, "PUT", "/v2/app/manifests/latest", oci_manifest_ct, NULL, m, strlen(m), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "MANIFEST_BLOB_UNKNOWN");
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(
		json_string_value(json_object_get(
			json_object_get(json_array_get(json_object_get(j, "errors"), 0), "detail"),
			"digest")),
		ld.str);
	json_decref(j);
	result_free(&r);

	run(e, "GET", "/v2/app/manifests/latest", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "MANIFEST_UNKNOWN");
	result_free(&r);
	free(m);
}

static void test_index_needs_its_children(void **state)
{
	env *e = *state;
	berth_digest child, absent;
	size_t child_size = 0;
	char *idx;
	result r;

	push_image(e, "multi", "amd64", "layer-a", NULL, &child);
	assert_int_equal(berth_digest_compute(&absent, BERTH_DIGEST_SHA256, "x", 1), 0);
	assert_true(asprintf(&idx,
			     "{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_OCI_INDEX "\","
			     "\"manifests\":[{\"mediaType\":\"application/"
			     "vnd.oci.image.manifest.v1+json\","
			     "\"digest\":\"%s\",\"size\":10},"
			     "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
			     "\"digest\":\"%s\",\"size\":10}]}",
			     child.str, absent.str) > 0);
	kv ct[] = {{"Content-Type", BERTH_MT_OCI_INDEX}, {NULL, NULL}};
	run(e, "PUT", "/v2/multi/manifests/all", ct, NULL, idx, strlen(idx), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "MANIFEST_BLOB_UNKNOWN");
	assert_non_null(strstr(r.body, absent.str));
	result_free(&r);
	free(idx);

	/* The child's descriptor must give its true size... */
	assert_true(asprintf(&idx,
			     "{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_OCI_INDEX "\","
			     "\"manifests\":[{\"mediaType\":\"application/"
			     "vnd.oci.image.manifest.v1+json\","
			     "\"digest\":\"%s\",\"size\":10}]}",
			     child.str) > 0);
	run(e, "PUT", "/v2/multi/manifests/all", ct, NULL, idx, strlen(idx), &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "MANIFEST_INVALID");
	assert_non_null(strstr(r.body, "size"));
	result_free(&r);
	free(idx);
	{
		char path[200];

		snprintf(path, sizeof(path), "/v2/multi/manifests/%s", child.str);
		run(e, "GET", path, NULL, NULL, NULL, 0, &r);
		assert_int_equal(r.status, 200);
		child_size = r.body_len;
		result_free(&r);
	}
	/* ...and then it is accepted. */
	assert_true(asprintf(&idx,
			     "{\"schemaVersion\":2,\"mediaType\":\"" BERTH_MT_OCI_INDEX "\","
			     "\"manifests\":[{\"mediaType\":\"application/"
			     "vnd.oci.image.manifest.v1+json\","
			     "\"digest\":\"%s\",\"size\":%zu}]}",
			     child.str, child_size) > 0);
	run(e, "PUT", "/v2/multi/manifests/all", ct, NULL, idx, strlen(idx), &r);
	assert_int_equal(r.status, 201);
	result_free(&r);
	run(e, "GET", "/v2/multi/manifests/all", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(result_header(&r, "Content-Type"), BERTH_MT_OCI_INDEX);
	result_free(&r);
	free(idx);
}

static void test_accept_negotiation(void **state)
{
	env *e = *state;
	berth_digest md;
	char path[256];
	result r;

	push_image(e, "neg", "v1", "layer", NULL, &md);

	kv docker_only[] = {{"Accept", "application/vnd.docker.distribution.manifest.v2+json, "
				       "application/vnd.docker.distribution.manifest.list.v2+json"},
			    {NULL, NULL}};
	run(e, "GET", "/v2/neg/manifests/v1", docker_only, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "MANIFEST_UNKNOWN");
	assert_non_null(strstr(r.body, "application/vnd.oci.image.manifest.v1+json"));
	result_free(&r);

	/* By digest the manifest is always served. */
	snprintf(path, sizeof(path), "/v2/neg/manifests/%s", md.str);
	run(e, "GET", path, docker_only, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	result_free(&r);

	kv listed[] = {{"Accept", "application/vnd.docker.distribution.manifest.v2+json;q=0.9, "
				  "application/vnd.oci.image.manifest.v1+json ; q=0.5"},
		       {NULL, NULL}};
	run(e, "GET", "/v2/neg/manifests/v1", listed, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	result_free(&r);

	kv excluded[] = {{"Accept", "application/vnd.oci.image.manifest.v1+json;q=0"},
			 {NULL, NULL}};
	run(e, "GET", "/v2/neg/manifests/v1", excluded, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	result_free(&r);

	kv star[] = {{"Accept", "text/html, */*"}, {NULL, NULL}};
	run(e, "GET", "/v2/neg/manifests/v1", star, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	result_free(&r);

	kv appstar[] = {{"Accept", "application/*"}, {NULL, NULL}};
	run(e, "GET", "/v2/neg/manifests/v1", appstar, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	result_free(&r);

	kv empty[] = {{"Accept", ""}, {NULL, NULL}};
	run(e, "GET", "/v2/neg/manifests/v1", empty, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	result_free(&r);
}

static void test_oversized_manifest_is_413(void **state)
{
	env *e = *state;
	size_t big = e->cfg.max_manifest_bytes + 1;
	char *body = malloc(big);
	result r;

	assert_non_null(body);
	memset(body, ' ', big);
	/* Announced by Content-Length: refused before any byte is read. */
	run(e, "PUT", "/v2/app/manifests/big", oci_manifest_ct, NULL, body, big, &r);
	assert_int_equal(r.status, 413);
	assert_string_equal(error_code(&r), "SIZE_INVALID");
	assert_true(r.stopped_early);
	result_free(&r);
	/* Streamed without a length: refused once the cap is crossed. */
	run_ex(e, "PUT", "/v2/app/manifests/big", oci_manifest_ct, NULL, body, big, 0, 4096, &r);
	assert_int_equal(r.status, 413);
	assert_string_equal(error_code(&r), "SIZE_INVALID");
	assert_true(r.stopped_early);
	result_free(&r);
	free(body);
}

static void test_invalid_manifest_and_references(void **state)
{
	env *e = *state;
	berth_digest other;
	char path[256];
	result r;

	run(e, "PUT", "/v2/app/manifests/v1", oci_manifest_ct, NULL, "{\"schemaVersion\":", 17, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "MANIFEST_INVALID");
	result_free(&r);

	run(e, "PUT", "/v2/app/manifests/-bad-tag", oci_manifest_ct, NULL, "{}", 2, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "TAG_INVALID");
	result_free(&r);

	run(e, "GET", "/v2/app/manifests/sha256:1234", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "DIGEST_INVALID");
	result_free(&r);

	/* PUT by a digest that is not the content's. */
	assert_int_equal(berth_digest_compute(&other, BERTH_DIGEST_SHA256, "z", 1), 0);
	{
		berth_digest cd, ld;
		char *m;

		push_blob(e, "app", "{}", 2, &cd);
		push_blob(e, "app", "l", 1, &ld);
		m = image_manifest(&cd, 2, &ld, 1, NULL);
		snprintf(path, sizeof(path), "/v2/app/manifests/%s", other.str);
		run(e, "PUT", path, oci_manifest_ct, NULL, m, strlen(m), &r);
		assert_int_equal(r.status, 400);
		assert_string_equal(error_code(&r), "DIGEST_INVALID");
		result_free(&r);
		free(m);
	}
}

static void test_subject_header_and_unknown_repo(void **state)
{
	env *e = *state;
	berth_digest subj;
	char extra[256];
	result r;

	assert_int_equal(berth_digest_compute(&subj, BERTH_DIGEST_SHA256, "subject", 7), 0);
	snprintf(extra, sizeof(extra),
		 ",\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		 "\"digest\":\"%s\",\"size\":7}",
		 subj.str);
	{
		berth_digest cd, ld;
		char *m;

		push_blob(e, "sig", "{}", 2, &cd);
		push_blob(e, "sig", "s", 1, &ld);
		m = image_manifest(&cd, 2, &ld, 1, extra);
		run(e, "PUT", "/v2/sig/manifests/sig1", oci_manifest_ct, NULL, m, strlen(m), &r);
		assert_int_equal(r.status, 201);
		assert_string_equal(result_header(&r, "OCI-Subject"), subj.str);
		result_free(&r);
		free(m);
	}

	run(e, "GET", "/v2/nobody/here/manifests/latest", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "NAME_UNKNOWN");
	result_free(&r);
}

static void test_delete_by_tag_and_digest(void **state)
{
	env *e = *state;
	berth_digest md;
	char path[256];
	result r;

	push_image(e, "del", "a", "layer-d", NULL, &md);
	push_image(e, "del", "b", "layer-d", NULL, NULL);

	run(e, "DELETE", "/v2/del/manifests/a", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 202);
	assert_string_equal(r.route, "manifest_delete");
	result_free(&r);
	run(e, "GET", "/v2/del/manifests/a", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	result_free(&r);
	/* Only the tag went away. */
	run(e, "GET", "/v2/del/manifests/b", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	result_free(&r);

	snprintf(path, sizeof(path), "/v2/del/manifests/%s", md.str);
	run(e, "DELETE", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 202);
	result_free(&r);
	run(e, "GET", "/v2/del/manifests/b", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "MANIFEST_UNKNOWN");
	result_free(&r);
	run(e, "DELETE", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "MANIFEST_UNKNOWN");
	result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_by_tag_and_digest_identical, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_put_with_missing_blob, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_index_needs_its_children, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_accept_negotiation, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_oversized_manifest_is_413, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_manifest_and_references, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_subject_header_and_unknown_repo, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_delete_by_tag_and_digest, env_setup,
						env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
