/*
 * listing.c - tag lists and the catalog: strict byte order, strictly after
 * `last`, at most `n`, and a `more` flag that is exact at page boundaries.
 */
#include "meta_test.h"

#define MT_OCI "application/vnd.oci.image.manifest.v1+json"

static void tag(berth_meta *m, const char *repo, const char *name)
{
	berth_digest d = dg("manifest-body");
	berth_meta_manifest_put p = {.repo = repo,
				     .digest = &d,
				     .media_type = MT_OCI,
				     .body = "manifest-body",
				     .body_len = 13,
				     .tag = name};

	assert_int_equal(berth_meta_manifest_store(m, &p), 0);
}

/* Tags whose byte order differs from case-insensitive or locale order. */
static void add_tricky_tags(berth_meta *m)
{
	static const char *const scrambled[] = {"b", "a_b", "B", "a", "a.b", "A", "a-b"};

	for (size_t i = 0; i < sizeof(scrambled) / sizeof(scrambled[0]); i++)
		tag(m, "lib/app", scrambled[i]);
}

static void tags_are_in_byte_order(void **state)
{
	meta_fixture *f = *state;
	names n = {0};
	int more = -1;

	add_tricky_tags(f->m);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", NULL, -1, names_cb, &n, &more), 0);
	assert_string_equal(n.text, "A,B,a,a-b,a.b,a_b,b");
	assert_int_equal(more, 0);
}

static void tags_page_with_n_and_last(void **state)
{
	meta_fixture *f = *state;
	names p1 = {0}, p2 = {0}, p3 = {0}, p4 = {0};
	int more = -1;

	add_tricky_tags(f->m);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", NULL, 3, names_cb, &p1, &more), 0);
	assert_string_equal(p1.text, "A,B,a");
	assert_int_equal(more, 1);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", "a", 3, names_cb, &p2, &more), 0);
	assert_string_equal(p2.text, "a-b,a.b,a_b");
	assert_int_equal(more, 1);
	/* Exactly the last page: nothing remains after it. */
	assert_int_equal(berth_meta_tags(f->m, "lib/app", "a_b", 1, names_cb, &p3, &more), 0);
	assert_string_equal(p3.text, "b");
	assert_int_equal(more, 0);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", "b", 3, names_cb, &p4, &more), 0);
	assert_int_equal(p4.count, 0);
	assert_int_equal(more, 0);
}

static void tags_last_need_not_exist(void **state)
{
	meta_fixture *f = *state;
	names n = {0};
	int more = -1;

	add_tricky_tags(f->m);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", "a,", 2, names_cb, &n, &more), 0);
	assert_string_equal(n.text, "a-b,a.b");
	assert_int_equal(more, 1);
}

static void tags_n_zero_returns_nothing_but_more(void **state)
{
	meta_fixture *f = *state;
	names n = {0};
	int more = -1;

	add_tricky_tags(f->m);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", NULL, 0, names_cb, &n, &more), 0);
	assert_int_equal(n.count, 0);
	assert_int_equal(more, 1);
}

static void tags_of_unknown_repo_not_found(void **state)
{
	meta_fixture *f = *state;
	names n = {0};

	assert_int_equal(berth_meta_tags(f->m, "no/such", NULL, -1, names_cb, &n, NULL),
			 BERTH_ENOTFOUND);
}

static int stop_at_two(void *ctx, const char *name)
{
	names *n = ctx;

	names_cb(ctx, name);
	return n->count == 2 ? 1 : 0;
}

static void callback_can_stop_listing(void **state)
{
	meta_fixture *f = *state;
	names n = {0};

	add_tricky_tags(f->m);
	assert_int_equal(berth_meta_tags(f->m, "lib/app", NULL, -1, stop_at_two, &n, NULL), 0);
	assert_string_equal(n.text, "A,B");
}

static void catalog_pages_in_byte_order(void **state)
{
	meta_fixture *f = *state;
	names p1 = {0}, p2 = {0}, all = {0};
	int more = -1;

	tag(f->m, "lib/b", "t");
	tag(f->m, "Lib/a", "t");
	tag(f->m, "lib/a", "t");
	tag(f->m, "lib/a-b", "t");
	tag(f->m, "lib/a/b", "t");
	assert_int_equal(berth_meta_catalog(f->m, NULL, -1, names_cb, &all, &more), 0);
	assert_string_equal(all.text, "Lib/a,lib/a,lib/a-b,lib/a/b,lib/b");
	assert_int_equal(more, 0);
	assert_int_equal(berth_meta_catalog(f->m, NULL, 2, names_cb, &p1, &more), 0);
	assert_string_equal(p1.text, "Lib/a,lib/a");
	assert_int_equal(more, 1);
	assert_int_equal(berth_meta_catalog(f->m, "lib/a", 3, names_cb, &p2, &more), 0);
	assert_string_equal(p2.text, "lib/a-b,lib/a/b,lib/b");
	assert_int_equal(more, 0);
}

static void catalog_lists_only_repos_with_content(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("layer"), md = dg("manifest-body");
	names before = {0}, after = {0};

	assert_int_equal(berth_meta_blob_link(f->m, "blobs/only", &d, 5), 0);
	tag(f->m, "has/manifest", "t");
	assert_int_equal(berth_meta_catalog(f->m, NULL, -1, names_cb, &before, NULL), 0);
	assert_string_equal(before.text, "blobs/only,has/manifest");
	assert_int_equal(berth_meta_blob_unlink(f->m, "blobs/only", &d), 0);
	assert_int_equal(berth_meta_manifest_delete(f->m, "has/manifest", &md), 0);
	assert_int_equal(berth_meta_catalog(f->m, NULL, -1, names_cb, &after, NULL), 0);
	assert_int_equal(after.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(tags_are_in_byte_order, meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(tags_page_with_n_and_last, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(tags_last_need_not_exist, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(tags_n_zero_returns_nothing_but_more, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(tags_of_unknown_repo_not_found, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(callback_can_stop_listing, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(catalog_pages_in_byte_order, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(catalog_lists_only_repos_with_content, meta_setup,
						meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
