/*
 * persistence.c - everything written survives closing and reopening the
 * store: blobs, manifests (same bytes), tags, referrers and uploads.
 */
#include "meta_test.h"

#define MT_OCI "application/vnd.oci.image.manifest.v1+json"

static int count_ref(void *ctx, const berth_meta_referrer *r)
{
	(void)r;
	(*(int *)ctx)++;
	return 0;
}

static void reopen_keeps_data(void **state)
{
	meta_fixture *f = *state;
	const char *body = "{\"schemaVersion\":2}", *sig = "{\"sig\":1}";
	berth_digest layer = dg("layer"), md = dg(body), sd = dg(sig);
	berth_meta_manifest_put p = {.repo = "lib/app",
				     .digest = &md,
				     .media_type = MT_OCI,
				     .body = body,
				     .body_len = strlen(body),
				     .tag = "1.0",
				     .refs = &layer,
				     .nrefs = 1};
	berth_meta_manifest_put s = {.repo = "lib/app",
				     .digest = &sd,
				     .media_type = MT_OCI,
				     .artifact_type = "application/x-sig",
				     .body = sig,
				     .body_len = strlen(sig),
				     .subject = &md};
	berth_meta_manifest info;
	berth_buf got = BERTH_BUF_INIT(4096);
	names tags = {0}, cat = {0};
	uint64_t size = 0;
	int nref = 0;

	assert_int_equal(berth_meta_blob_link(f->m, "lib/app", &layer, 77), 0);
	assert_int_equal(berth_meta_manifest_store(f->m, &p), 0);
	assert_int_equal(berth_meta_manifest_store(f->m, &s), 0);
	assert_int_equal(berth_meta_upload_create(f->m, "up-1", "lib/app", 123, NULL), 0);
	berth_meta_free(f->m);
	f->m = NULL;

	assert_int_equal(berth_meta_open(&f->m, f->path), 0);
	assert_int_equal(berth_meta_blob_linked(f->m, "lib/app", &layer, &size), 0);
	assert_int_equal(size, 77);
	assert_int_equal(berth_meta_manifest_get(f->m, "lib/app", "1.0", &info, &got), 0);
	assert_int_equal(got.len, strlen(body));
	assert_memory_equal(got.ptr, body, got.len);
	assert_string_equal(info.digest.str, md.str);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", NULL, -1, names_cb, &tags, NULL), 0);
	assert_string_equal(tags.text, "1.0");
	assert_int_equal(berth_meta_catalog(f->m, NULL, -1, names_cb, &cat, NULL), 0);
	assert_string_equal(cat.text, "lib/app");
	assert_int_equal(berth_meta_referrers(f->m, "lib/app", &md, NULL, count_ref, &nref), 0);
	assert_int_equal(nref, 1);
	assert_int_equal(berth_meta_upload_check(f->m, "up-1", "lib/app"), 0);
	berth_buf_dispose(&got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reopen_keeps_data, meta_setup, meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
