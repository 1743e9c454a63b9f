/*
 * routing.c - unit tests of /v2 routing: the base endpoint, the API version
 * header on every answer, unknown endpoints, wrong methods, invalid names,
 * and names with several components (matched from the end of the path).
 */
#include "harness.h"

static void test_base_endpoint(void **state)
{
	env *e = *state;
	result r;

	run(e, "GET", "/v2/", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.route, "base");
	assert_string_equal(r.body, "{}");
	assert_string_equal(result_header(&r, "Docker-Distribution-API-Version"), "registry/2.0");
	assert_string_equal(result_header(&r, "Content-Type"), "application/json");
	result_free(&r);

	run(e, "HEAD", "/v2", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	result_free(&r);
}

static void test_unknown_endpoint(void **state)
{
	env *e = *state;
	static const char *const paths[] = {"/v1/",    "/v2/app/nothing/here",
					    "/v2/app", "/v2/app/manifests/",
					    "/v2x",    "/v2/manifests/latest"};
	json_t *j;
	result r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		run(e, "GET", paths[i], NULL, NULL, NULL, 0, &r);
		assert_int_equal(r.status, 404);
		assert_string_equal(r.route, "unknown");
		assert_string_equal(error_code(&r), "UNSUPPORTED");
		assert_string_equal(result_header(&r, "Docker-Distribution-API-Version"),
				    "registry/2.0");
		j = json_loadb(r.body, r.body_len, 0, NULL);
		assert_string_equal(
			json_string_value(json_object_get(
				json_array_get(json_object_get(j, "errors"), 0), "message")),
			"unknown API endpoint");
		json_decref(j);
		result_free(&r);
	}
}

static void test_wrong_method(void **state)
{
	env *e = *state;
	result r;

	run(e, "POST", "/v2/app/manifests/latest", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(error_code(&r), "UNSUPPORTED");
	assert_string_equal(result_header(&r, "Allow"), "GET, HEAD, PUT, DELETE");
	result_free(&r);
	run(e, "GET", "/v2/app/blobs/uploads/", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(result_header(&r, "Allow"), "POST");
	result_free(&r);
	run(e, "DELETE", "/v2/", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(result_header(&r, "Allow"), "GET, HEAD");
	result_free(&r);
	/* A method that is a substring of an allowed one is still refused. */
	run(e, "GE", "/v2/app/tags/list", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(result_header(&r, "Allow"), "GET, HEAD");
	result_free(&r);
	run(e, "HEAD", "/v2/app/tags/list", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 404); /* allowed; the repository is unknown */
	result_free(&r);
}

static void test_invalid_name(void **state)
{
	env *e = *state;
	result r;

	run(e, "GET", "/v2/Upper/Case/tags/list", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "NAME_INVALID");
	result_free(&r);
	run(e, "POST", "/v2/a//b/blobs/uploads/", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(error_code(&r), "NAME_INVALID");
	result_free(&r);
}

static void test_names_that_look_like_routes(void **state)
{
	env *e = *state;
	berth_digest d;
	char path[256];
	result r;

	/* "blobs" and "manifests" as name components do not confuse routing. */
	push_blob(e, "x/blobs/manifests", "abc", 3, &d);
	snprintf(path, sizeof(path), "/v2/x/blobs/manifests/blobs/%s", d.str);
	run(e, "GET", path, NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body, "abc", 3);
	result_free(&r);

	/* Upload start without the trailing slash is accepted too. */
	run(e, "POST", "/v2/x/blobs/uploads", NULL, NULL, NULL, 0, &r);
	assert_int_equal(r.status, 202);
	assert_string_equal(r.route, "upload_start");
	result_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_base_endpoint, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_endpoint, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_method, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_invalid_name, env_setup, env_teardown),
		cmocka_unit_test_setup_teardown(test_names_that_look_like_routes, env_setup,
						env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
