/*
 * manifests.c - manifest store and lookup: bytes come back identical by tag
 * and by digest, re-puts are idempotent, tags move, deleting a manifest takes
 * its tags and references with it, deleting a tag keeps the manifest.
 */
#include "meta_test.h"

#define MT_OCI "application/vnd.oci.image.manifest.v1+json"

typedef struct stored {
	char body[256];
	berth_digest digest;
	berth_digest refs[2];
} stored;

/* Store a small manifest whose body is `text`, tagged `tag` (may be NULL). */
static stored put(berth_meta *m, const char *repo, const char *text, const char *tag)
{
	stored s;
	berth_meta_manifest_put p = {0};

	snprintf(s.body, sizeof(s.body), "{\"schemaVersion\":2,\"x\":\"%s\"}", text);
	s.digest = dg(s.body);
	s.refs[0] = dg("config");
	s.refs[1] = dg(text);
	p.repo = repo;
	p.digest = &s.digest;
	p.media_type = MT_OCI;
	p.body = s.body;
	p.body_len = strlen(s.body);
	p.tag = tag;
	p.refs = s.refs;
	p.nrefs = 2;
	assert_int_equal(berth_meta_manifest_store(m, &p), 0);
	return s;
}

static long long count_refs(meta_fixture *f)
{
	return meta_raw_int(f, "SELECT count(*) FROM manifest_refs");
}

static void get_by_tag_and_digest_returns_identical_bytes(void **state)
{
	meta_fixture *f = *state;
	stored s = put(f->m, "lib/app", "v1", "latest");
	berth_meta_manifest info;
	berth_buf body = BERTH_BUF_INIT(1 << 20);

	memset(&info, 0, sizeof(info));
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", "latest", &info, &body), 0);
	assert_int_equal(body.len, strlen(s.body));
	assert_memory_equal(body.ptr, s.body, body.len);
	assert_string_equal(info.digest.str, s.digest.str);
	assert_int_equal(info.digest.algo, BERTH_DIGEST_SHA256);
	assert_string_equal(info.media_type, MT_OCI);
	assert_int_equal(info.size, strlen(s.body));

	berth_buf_reset(&body);
	memset(&info, 0, sizeof(info));
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", s.digest.str, &info, &body), 0);
	assert_int_equal(body.len, strlen(s.body));
	assert_memory_equal(body.ptr, s.body, body.len);
	assert_string_equal(info.digest.str, s.digest.str);
	berth_buf_dispose(&body);
}

static void get_without_body_fills_info_only(void **state)
{
	meta_fixture *f = *state;
	stored s = put(f->m, "lib/app", "v1", "latest");
	berth_meta_manifest info;

	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", "latest", &info, NULL), 0);
	assert_int_equal(info.size, strlen(s.body));
}

static void body_appends_within_cap(void **state)
{
	meta_fixture *f = *state;
	stored s = put(f->m, "lib/app", "v1", "latest");
	berth_meta_manifest info;
	berth_buf small = BERTH_BUF_INIT(8);
	berth_buf body = BERTH_BUF_INIT(0);

	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", "latest", &info, &small),
			 BERTH_ETOOBIG);
	assert_int_equal(berth_buf_puts(&body, "prefix:"), 0);
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", "latest", &info, &body), 0);
	assert_int_equal(body.len, 7 + strlen(s.body));
	assert_memory_equal(body.ptr + 7, s.body, strlen(s.body));
	berth_buf_dispose(&small);
	berth_buf_dispose(&body);
}

static void absent_manifests_are_not_found(void **state)
{
	meta_fixture *f = *state;
	stored s = put(f->m, "lib/app", "v1", "latest");
	berth_meta_manifest info;
	berth_digest other = dg("other");

	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", "missing", &info, NULL),
			 BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", other.str, &info, NULL),
			 BERTH_ENOTFOUND);
	/* Present in lib/app only. */
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/other", s.digest.str, &info, NULL),
			 BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/other", "latest", &info, NULL),
			 BERTH_ENOTFOUND);
}

static void reput_same_digest_is_idempotent(void **state)
{
	meta_fixture *f = *state;
	stored a = put(f->m, "lib/app", "v1", "latest");
	stored b = put(f->m, "lib/app", "v1", "latest");
	names n = {0};

	assert_string_equal(a.digest.str, b.digest.str);
	assert_int_equal(count_refs(f), 2);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", NULL, -1, names_cb, &n, NULL), 0);
	assert_string_equal(n.text, "latest");
}

static void tag_moves_to_new_digest(void **state)
{
	meta_fixture *f = *state;
	stored v1 = put(f->m, "lib/app", "v1", "latest");
	stored v2 = put(f->m, "lib/app", "v2", "latest");
	berth_meta_manifest info;

	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", "latest", &info, NULL), 0);
	assert_string_equal(info.digest.str, v2.digest.str);
	/* The old manifest is still there by digest. */
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", v1.digest.str, &info, NULL), 0);
	assert_string_equal(info.digest.str, v1.digest.str);
}

static void delete_by_digest_removes_tags_and_refs(void **state)
{
	meta_fixture *f = *state;
	stored v1 = put(f->m, "lib/app", "v1", "latest");
	stored keep = put(f->m, "lib/app", "v2", "stable");
	berth_meta_manifest info;
	names n = {0};

	put(f->m, "lib/app", "v1", "1.0"); /* second tag on v1 */
	assert_int_equal(count_refs(f), 4);
	assert_int_equal(berth_meta_manifest_delete(f->m, "lib/app", &v1.digest), 0);
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", v1.digest.str, &info, NULL),
			 BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", "latest", &info, NULL),
			 BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", NULL, -1, names_cb, &n, NULL), 0);
	assert_string_equal(n.text, "stable");
	assert_int_equal(count_refs(f), 2);
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", keep.digest.str, &info, NULL), 0);
	assert_int_equal(berth_meta_manifest_delete(f->m, "lib/app", &v1.digest), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_manifest_delete(f->m, "nope", &v1.digest), BERTH_ENOTFOUND);
}

static void tag_delete_keeps_manifest(void **state)
{
	meta_fixture *f = *state;
	stored v1 = put(f->m, "lib/app", "v1", "latest");
	berth_meta_manifest info;

	assert_int_equal(berth_meta_tag_delete(f->m, "lib/app", "latest"), 0);
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", "latest", &info, NULL),
			 BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", v1.digest.str, &info, NULL), 0);
	assert_int_equal(count_refs(f), 2);
	assert_int_equal(berth_meta_tag_delete(f->m, "lib/app", "latest"), BERTH_ENOTFOUND);
}

static void push_by_digest_creates_no_tag(void **state)
{
	meta_fixture *f = *state;
	stored s = put(f->m, "lib/app", "v1", NULL);
	berth_meta_manifest info;
	names n = {0};

	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", s.digest.str, &info, NULL), 0);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", NULL, -1, names_cb, &n, NULL), 0);
	assert_int_equal(n.count, 0);
}

static void invalid_puts_are_refused(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("x");
	berth_meta_manifest_put p = {.repo = "lib/app",
				     .digest = &d,
				     .media_type = MT_OCI,
				     .body = "{}",
				     .body_len = 2,
				     .tag = "a:b"};
	char longtype[300];

	assert_int_equal(berth_meta_manifest_store(f->m, &p), BERTH_EINVALID);
	memset(longtype, 't', sizeof(longtype) - 1);
	longtype[sizeof(longtype) - 1] = '\0';
	p.tag = "ok";
	p.media_type = longtype;
	assert_int_equal(berth_meta_manifest_store(f->m, &p), BERTH_EINVALID);
	assert_int_equal(berth_meta_repo_exists(f->m, "lib/app"), BERTH_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(get_by_tag_and_digest_returns_identical_bytes,
						meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(get_without_body_fills_info_only, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(body_appends_within_cap, meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(absent_manifests_are_not_found, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(reput_same_digest_is_idempotent, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(tag_moves_to_new_digest, meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(delete_by_digest_removes_tags_and_refs, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(tag_delete_keeps_manifest, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(push_by_digest_creates_no_tag, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(invalid_puts_are_refused, meta_setup,
						meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
