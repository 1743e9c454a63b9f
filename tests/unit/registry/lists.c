/*
 * lists.c - unit tests of the listing endpoints: tags/list and _catalog
 * pagination (n, last, Link: rel="next", n=0, bad n, clamping, last= past
 * the name cap), unknown
 * repositories, and referrers with and without an artifactType filter.
 */
#include "harness.h"

#include "berth/ref.h"

/* Assert that `r` is a JSON object whose array `key` holds exactly `want`. */
static void assert_names(const result *r, const char *key, const char *const *want, size_t n)
{
	json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
	json_t *a;

	assert_non_null(j);
	a = json_object_get(j, key);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(a, i)), want[i]);
	json_decref(j);
}

static void test_tags_pagination_and_link(void **state)
{
	env *e = *state;
	static const char *const all[] = {"a", "b", "c", "d", "e"};
	static const char *const first[] = {"a", "b"};
	static const char *const next[] = {"c", "d"};
	static const char *const rest[] = {"e"};
	json_t *j;
	result r;

	/* Tags pushed out of order come back in lexical order. */
	push_image(e, "team/app", "d", "L", NULL, NULL);
	push_image(e, "team/app", "b", "L", NULL, NULL);
	push_image(e, "team/app", "e", "L", NULL, NULL);
	push_image(e, "team/app", "a", "L", NULL, NULL);
	push_image(e, "team/app", "c", "L", NULL, NULL);

	run(e, "GET", "/v2/team/app/tags/list", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.route, "tags");
	assert_string_equal(result_header(&r, "Content-Type"), "application/json");
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "team/app");
	json_decref(j);
	assert_names(&r, "tags", all, 5);
	assert_null(result_header(&r, "Link"));
	result_free(&r);

	kv q1[] = {{"n", "2"}, {NULL, NULL}};
	run(e, "GET", "/v2/team/app/tags/list", NULL, q1, NULL, 0, &r);
	assert_names(&r, "tags", first, 2);
	assert_string_equal(result_header(&r, "Link"),
			    "</v2/team/app/tags/list?n=2&last=b>; rel=\"next\"");
	result_free(&r);

	kv q2[] = {{"n", "2"}, {"last", "b"}, {NULL, NULL}};
	run(e, "GET", "/v2/team/app/tags/list", NULL, q2, NULL, 0, &r);
	assert_names(&r, "tags", next, 2);
	assert_string_equal(result_header(&r, "Link"),
			    "</v2/team/app/tags/list?n=2&last=d>; rel=\"next\"");
	result_free(&r);

	kv q3[] = {{"n", "2"}, {"last", "d"}, {NULL, NULL}};
	run(e, "GET", "/v2/team/app/tags/list", NULL, q3, NULL, 0, &r);
	assert_names(&r, "tags", rest, 1);
	assert_null(result_header(&r, "Link"));
	result_free(&r);

	kv q0[] = {{"n", "0"}, {NULL, NULL}};
	run(e, "GET", "/v2/team/app/tags/list", NULL, q0, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_names(&r, "tags", NULL, 0);
	result_free(&r);

	static const char *const bad_n[] = {"-1", "abc", "", "2x"};
	for (size_t i = 0; i < 4; i++) {
		kv qb[] = {{"n", bad_n[i]}, {NULL, NULL}};

		run(e, "GET", "/v2/team/app/tags/list", NULL, qb, NULL, 0, &r);
		assert_int_equal(r.status, 400);
		assert_string_equal(error_code(&r), "PAGINATION_NUMBER_INVALID");
		result_free(&r);
	}
}

static void test_page_size_is_clamped(void **state)
{
	env *e = *state;
	static const char *const two[] = {"x", "y"};
	result r;

	berth_registry_free(e->reg);
	e->cfg.max_page_size = 2;
	assert_int_equal(berth_registry_new(&e->reg, e->store, e->meta, &e->cfg), 0);
	push_image(e, "clamp", "x", "L", NULL, NULL);
	push_image(e, "clamp", "y", "L", NULL, NULL);
	push_image(e, "clamp", "z", "L", NULL, NULL);
	kv q[] = {{"n", "99999999999999999999999"}, {NULL, NULL}};
	run(e, "GET", "/v2/clamp/tags/list", NULL, q, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_names(&r, "tags", two, 2);
	assert_string_equal(result_header(&r, "Link"),
			    "</v2/clamp/tags/list?n=2&last=y>; rel=\"next\"");
	result_free(&r);
}

static void test_tags_of_unknown_repo(void **state)
{
	env *e = *state;
	result r;

	run(e, "GET", "/v2/ghost/tags/list", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(error_code(&r), "NAME_UNKNOWN");
	result_free(&r);
}

/* A last= past the longest possible name is a 400, not a database error. */
static void test_last_longer_than_any_name_is_refused(void **state)
{
	env *e = *state;
	static const char *const none[] = {""};
	char at_max[BERTH_NAME_MAX + 1], over[BERTH_NAME_MAX + 2];
	result r;

	push_image(e, "team/app", "a", "L", NULL, NULL);
	memset(at_max, 'z', BERTH_NAME_MAX);
	at_max[BERTH_NAME_MAX] = '\0';
	memset(over, 'z', BERTH_NAME_MAX + 1);
	over[BERTH_NAME_MAX + 1] = '\0';

	kv q1[] = {{"last", at_max}, {NULL, NULL}};
	run(e, "GET", "/v2/team/app/tags/list", NULL, q1, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_names(&r, "tags", none, 0);
	result_free(&r);
	run(e, "GET", "/v2/_catalog", NULL, q1, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_names(&r, "repositories", none, 0);
	result_free(&r);

	kv q2[] = {{"last", over}, {NULL, NULL}};
	run(e, "GET", "/v2/team/app/tags/list", NULL, q2, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "UNSUPPORTED");
	result_free(&r);
	run(e, "GET", "/v2/_catalog", NULL, q2, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	result_free(&r);
}

static void test_catalog(void **state)
{
	env *e = *state;
	static const char *const all[] = {"alpha", "beta/one", "beta/two"};
	static const char *const page[] = {"beta/one"};
	berth_digest d;
	result r;

	push_blob(e, "beta/two", "x", 1, &d);
	push_blob(e, "alpha", "x", 1, &d);
	push_blob(e, "beta/one", "x", 1, &d);

	run(e, "GET", "/v2/_catalog", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.route, "catalog");
	assert_names(&r, "repositories", all, 3);
	result_free(&r);

	kv q[] = {{"n", "1"}, {"last", "alpha"}, {NULL, NULL}};
	run(e, "GET", "/v2/_catalog", NULL, q, NULL, 0, &r);
	assert_names(&r, "repositories", page, 1);
	assert_string_equal(result_header(&r, "Link"),
			    "</v2/_catalog?n=1&last=beta/one>; rel=\"next\"");
	result_free(&r);
}

static void test_referrers_with_filter(void **state)
{
	env *e = *state;
	berth_digest subject, other, sig, sbom;
	char extra[512], path[256];
	json_t *j, *ms;
	result r;

	push_image(e, "app", "v1", "base", NULL, &subject);
	assert_int_equal(berth_digest_compute(&other, BERTH_DIGEST_SHA256, "o", 1), 0);

	snprintf(extra, sizeof(extra),
		 ",\"artifactType\":\"application/vnd.example.sig\","
		 "\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		 "\"digest\":\"%s\",\"size\":1},\"annotations\":{\"k\":\"v \\\"q\\\"\"}",
		 subject.str);
	push_image(e, "app", "sig", "sig-layer", extra, &sig);
	snprintf(extra, sizeof(extra),
		 ",\"artifactType\":\"application/vnd.example.sbom\","
		 "\"subject\":{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
		 "\"digest\":\"%s\",\"size\":1}",
		 subject.str);
	push_image(e, "app", "sbom", "sbom-layer", extra, &sbom);

	snprintf(path, sizeof(path), "/v2/app/referrers/%s", subject.str);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.route, "referrers");
	assert_string_equal(result_header(&r, "Content-Type"), BERTH_MT_OCI_INDEX);
	assert_null(result_header(&r, "OCI-Filters-Applied"));
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "schemaVersion")), 2);
	assert_string_equal(json_string_value(json_object_get(j, "mediaType")), BERTH_MT_OCI_INDEX);
	ms = json_object_get(j, "manifests");
	assert_int_equal(json_array_size(ms), 2);
	json_decref(j);
	result_free(&r);

	kv q[] = {{"artifactType", "application/vnd.example.sig"}, {NULL, NULL}};
	run(e, "GET", path, NULL, q, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(result_header(&r, "OCI-Filters-Applied"), "artifactType");
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_non_null(j);
	ms = json_object_get(j, "manifests");
	assert_int_equal(json_array_size(ms), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ms, 0), "digest")),
			    sig.str);
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(ms, 0), "artifactType")),
		"application/vnd.example.sig");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ms, 0), "mediaType")),
			    "application/vnd.oci.image.manifest.v1+json");
	assert_true(json_integer_value(json_object_get(json_array_get(ms, 0), "size")) > 0);
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(json_array_get(ms, 0), "annotations"), "k")),
			    "v \"q\"");
	json_decref(j);
	result_free(&r);

	/* An unknown subject gives an empty index. */
	snprintf(path, sizeof(path), "/v2/app/referrers/%s", other.str);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	j = json_loadb(r.body, r.body_len, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "manifests")), 0);
	json_decref(j);
	result_free(&r);

	run(e, "GET", "/v2/app/referrers/sha256:nothex", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "DIGEST_INVALID");
	result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_tags_pagination_and_link, env_setup,
						env_teardown),
		cmocka_unit_test_setup_teardown(test_page_size_is_clamped, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_tags_of_unknown_repo, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_last_longer_than_any_name_is_refused,
						env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_catalog, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_referrers_with_filter, env_setup,
						env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
