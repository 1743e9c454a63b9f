/*
 * manifests.c - manifests and tags against the fake registry: exact bytes
 * and digest, media type, by-digest verification, HEAD, PUT/DELETE, the
 * registry's error message in failures, a 50 MiB manifest refused while
 * it is being read, tag pagination through Link headers, and the referrers
 * index's tag-schema fallback and the merge into it.
 */
#include "fake_registry.h"

#include <jansson.h>

static const char manifest[] =
	"{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
	"\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":"
	"\"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\",\"size\":2},"
	"\"layers\":[]}";
#define MT "application/vnd.oci.image.manifest.v1+json"

typedef fr_env env;

static void put_then_get_round_trips_exact_bytes(void **state)
{
	env *e = *state;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	berth_digest put_d, get_d, head_d, want;
	char mt[128];
	uint64_t size = 0;

	assert_int_equal(
		berth_digest_compute(&want, BERTH_DIGEST_SHA256, manifest, strlen(manifest)), 0);
	assert_int_equal(berth_client_manifest_put(e->c, "team/app", "v1", MT, manifest,
						   strlen(manifest), &put_d),
			 0);
	assert_string_equal(put_d.str, want.str);
	assert_int_equal(
		berth_client_manifest_get(e->c, "team/app", "v1", &body, mt, sizeof(mt), &get_d),
		0);
	assert_int_equal(body.len, strlen(manifest));
	assert_memory_equal(body.ptr, manifest, body.len);
	assert_string_equal(mt, MT);
	assert_string_equal(get_d.str, want.str);
	berth_buf_reset(&body);
	assert_int_equal(
		berth_client_manifest_get(e->c, "team/app", want.str, &body, mt, sizeof(mt), NULL),
		0);
	assert_int_equal(
		berth_client_manifest_head(e->c, "team/app", "v1", &head_d, mt, sizeof(mt), &size),
		0);
	assert_string_equal(head_d.str, want.str);
	assert_int_equal(size, strlen(manifest));
	assert_int_equal(berth_client_manifest_delete(e->c, "team/app", "v1"), 0);
	assert_int_equal(
		berth_client_manifest_head(e->c, "team/app", "v1", &head_d, mt, sizeof(mt), &size),
		BERTH_ENOTFOUND);
	berth_buf_dispose(&body);
}

static void missing_manifest_carries_registry_message(void **state)
{
	env *e = *state;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	char mt[128], want[128];

	assert_int_equal(
		berth_client_manifest_get(e->c, "team/app", "nope", &body, mt, sizeof(mt), NULL),
		BERTH_ENOTFOUND);
	snprintf(want, sizeof(want), "registry %s: MANIFEST_UNKNOWN: manifest unknown",
		 e->fr->host);
	assert_non_null(strstr(berth_error_last(), want));
	berth_buf_dispose(&body);
}

static void bytes_not_matching_requested_digest_are_refused(void **state)
{
	env *e = *state;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	berth_digest other;
	char mt[128];

	/* The registry stores (wrongly) other bytes under a digest. */
	assert_int_equal(berth_digest_compute(&other, BERTH_DIGEST_SHA256, "x", 1), 0);
	fr_lock(e->fr);
	fr_put_manifest(e->fr, "team/app", other.str, MT, manifest, strlen(manifest));
	fr_unlock(e->fr);
	assert_int_equal(
		berth_client_manifest_get(e->c, "team/app", other.str, &body, mt, sizeof(mt), NULL),
		BERTH_EDIGEST);
	assert_int_equal(body.len, 0);
	berth_buf_dispose(&body);
}

static void huge_manifest_is_refused_while_reading(void **state)
{
	env *e = *state;
	berth_buf body = BERTH_BUF_INIT(0);
	char mt[128];

	e->fr->cfg.huge_manifest = 50 * 1024 * 1024;
	assert_int_equal(
		berth_client_manifest_get(e->c, "team/app", "big", &body, mt, sizeof(mt), NULL),
		BERTH_ETOOBIG);
	assert_non_null(strstr(berth_error_last(), "manifest"));
	assert_non_null(strstr(berth_error_last(), "limit"));
	assert_int_equal(body.len, 0);
	/* refused early: far less than the 50 MiB went out */
	usleep(200000);
	fr_lock(e->fr);
	assert_true(e->fr->huge_sent < 20 * 1024 * 1024);
	fr_unlock(e->fr);
	berth_buf_dispose(&body);
}

static int collect(void *ctx, const char *name)
{
	berth_buf *b = ctx;

	return berth_buf_printf(b, "%s,", name);
}

static void tags_follow_pagination(void **state)
{
	env *e = *state;
	berth_buf got = BERTH_BUF_INIT(0);
	const char *tags[] = {"v3", "v1", "latest", "v2", "a"};
	size_t i;

	fr_lock(e->fr);
	for (i = 0; i < 5; i++)
		fr_put_manifest(e->fr, "team/app", tags[i], MT, manifest, strlen(manifest));
	e->fr->cfg.tags_page = 2;
	fr_unlock(e->fr);
	assert_int_equal(berth_client_tags(e->c, "team/app", collect, &got), 0);
	assert_string_equal(got.ptr, "a,latest,v1,v2,v3,");
	berth_buf_dispose(&got);
}

static void invalid_names_are_rejected_before_any_request(void **state)
{
	env *e = *state;
	berth_buf body = BERTH_BUF_INIT(0);
	char mt[64];

	assert_int_equal(
		berth_client_manifest_get(e->c, "Bad/Name", "v1", &body, mt, sizeof(mt), NULL),
		BERTH_EINVALID);
	assert_int_equal(berth_client_manifest_get(e->c, "ok", "../x", &body, mt, sizeof(mt), NULL),
			 BERTH_EINVALID);
	assert_int_equal(e->fr->requests, 0);
	berth_buf_dispose(&body);
}

/* No referrers API (404): the tag schema's index, else nothing; a bad index is refused. */
static void referrers_index_falls_back_to_the_tag_schema(void **state)
{
	static const char idx[] = "{\"schemaVersion\":2,\"mediaType\":"
				  "\"application/vnd.oci.image.index.v1+json\",\"manifests\":[]}";
	env *e = *state;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	berth_digest subject;
	char tag[BERTH_DIGEST_MAX + 8];
	int api = -1;

	assert_int_equal(
		berth_digest_compute(&subject, BERTH_DIGEST_SHA256, manifest, strlen(manifest)), 0);
	snprintf(tag, sizeof(tag), "sha256-%s", berth_digest_hex(&subject));
	assert_int_equal(berth_buf_puts(&body, "left over"), 0);
	assert_int_equal(berth_client_referrers_index(e->c, "team/app", &subject, &body, &api), 0);
	assert_int_equal(body.len, 0);
	assert_int_equal(api, 0);
	fr_put_manifest(e->fr, "team/app", tag, "application/vnd.oci.image.index.v1+json", idx,
			strlen(idx));
	assert_int_equal(berth_client_referrers_index(e->c, "team/app", &subject, &body, &api), 0);
	assert_int_equal(api, 0);
	assert_int_equal(body.len, strlen(idx));
	assert_memory_equal(body.ptr, idx, body.len);
	fr_put_manifest(e->fr, "team/app", tag, "application/vnd.oci.image.index.v1+json",
			"{\"manifests\":3}", 15);
	assert_int_equal(berth_client_referrers_index(e->c, "team/app", &subject, &body, NULL),
			 BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "no manifests list"));
	assert_int_equal(body.len, 0);
	fr_put_manifest(e->fr, "team/app", tag, "application/vnd.oci.image.index.v1+json", "{", 1);
	assert_int_equal(berth_client_referrers_index(e->c, "team/app", &subject, &body, NULL),
			 BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "not JSON"));
	berth_buf_dispose(&body);
}

/* Each descriptor lands in the "sha256-<hex>" index once; the API probe says there is none. */
static void referrers_tag_merge_adds_each_digest_once(void **state)
{
	static const char one[] =
		"{\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"sha256:"
		"1111111111111111111111111111111111111111111111111111111111111111\","
		"\"size\":1}]}";
	static const char two[] =
		"{\"manifests\":[{\"mediaType\":\"m\",\"digest\":\"sha256:"
		"1111111111111111111111111111111111111111111111111111111111111111\","
		"\"size\":1},{\"mediaType\":\"m\",\"digest\":\"sha256:"
		"2222222222222222222222222222222222222222222222222222222222222222\","
		"\"size\":2}]}";
	env *e = *state;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	berth_digest subject;
	char tag[BERTH_DIGEST_MAX + 8];
	json_t *doc;

	assert_int_equal(
		berth_digest_compute(&subject, BERTH_DIGEST_SHA256, manifest, strlen(manifest)), 0);
	snprintf(tag, sizeof(tag), "sha256-%s", berth_digest_hex(&subject));
	assert_int_equal(berth_client_is_referrers_tag(tag), 1);
	assert_int_equal(berth_client_is_referrers_tag("sha256-abc"), 0);
	assert_int_equal(berth_client_is_referrers_tag("latest"), 0);
	assert_int_equal(berth_client_referrers_api(e->c, "team/app", &subject), 0);
	assert_int_equal(
		berth_client_referrers_tag_merge(e->c, "team/app", &subject, one, strlen(one)), 0);
	assert_int_equal(
		berth_client_referrers_tag_merge(e->c, "team/app", &subject, two, strlen(two)), 0);
	assert_int_equal(
		berth_client_referrers_tag_merge(e->c, "team/app", &subject, two, strlen(two)), 0);
	assert_int_equal(berth_client_referrers_index(e->c, "team/app", &subject, &body, NULL), 0);
	assert_non_null(doc = json_loadb(body.ptr, body.len, 0, NULL));
	assert_int_equal(json_array_size(json_object_get(doc, "manifests")), 2);
	assert_string_equal(json_string_value(json_object_get(doc, "mediaType")),
			    "application/vnd.oci.image.index.v1+json");
	json_decref(doc);
	assert_int_equal(berth_client_referrers_tag_merge(e->c, "team/app", &subject, "[]", 2),
			 BERTH_EINVALID);
	berth_buf_dispose(&body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(put_then_get_round_trips_exact_bytes, fr_env_setup,
						fr_env_teardown),
		cmocka_unit_test_setup_teardown(missing_manifest_carries_registry_message,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(bytes_not_matching_requested_digest_are_refused,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(huge_manifest_is_refused_while_reading,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(tags_follow_pagination, fr_env_setup,
						fr_env_teardown),
		cmocka_unit_test_setup_teardown(referrers_index_falls_back_to_the_tag_schema,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(invalid_names_are_rejected_before_any_request,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(referrers_tag_merge_adds_each_digest_once,
						fr_env_setup, fr_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
