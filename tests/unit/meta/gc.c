/*
 * gc.c - garbage collection from manifests (berth_meta_gc_links and
 * berth_meta_blob_marked): a deleted image's own layers lose their
 * repository links and their mark, layers another manifest lists keep
 * both, links younger than the cutoff (a push whose manifest is not there
 * yet) stay, a dry run drops nothing, the walk pages, and a link is per
 * repository.
 */
#include "meta_test.h"

#include <time.h>

#define OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"

static int links_cb(void *ctx, const char *repo, const char *digest)
{
	names *n = ctx;
	char both[600];

	snprintf(both, sizeof(both), "%s@%.15s", repo, digest);
	return names_cb(n, both);
}

/* Store manifest `body` in `repo` (tag optional) listing `refs`. */
static void put(meta_fixture *f, const char *repo, const char *tag, const char *body,
		berth_digest *refs, size_t nrefs)
{
	berth_digest md = dg(body);
	berth_meta_manifest_put p = {.repo = repo,
				     .digest = &md,
				     .media_type = OCI_MANIFEST,
				     .body = body,
				     .body_len = strlen(body),
				     .tag = tag,
				     .refs = refs,
				     .nrefs = nrefs};

	assert_int_equal(berth_meta_manifest_store(f->m, &p), 0);
}

static void deleted_image_frees_only_its_own_layers(void **state)
{
	meta_fixture *f = *state;
	berth_digest base = dg("base"), c1 = dg("config-1"), l1 = dg("layer-1"),
		     c2 = dg("config-2"), l2 = dg("layer-2");
	berth_digest r1[] = {c1, base, l1}, r2[] = {c2, base, l2};
	berth_digest m2 = dg("{\"image\":2}");
	time_t later = time(NULL) + 60; /* every link is older than this */
	names dry = {0}, real = {0}, again = {0};
	char want[256];

	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(berth_meta_blob_link(f->m, "gc/app", &r1[i], 10 + i), 0);
		assert_int_equal(berth_meta_blob_link(f->m, "gc/app", &r2[i], 20 + i), 0);
	}
	put(f, "gc/app", "one", "{\"image\":1}", r1, 3);
	put(f, "gc/app", "two", "{\"image\":2}", r2, 3);
	assert_int_equal(berth_meta_gc_links(f->m, later, 0, links_cb, &real), 0);
	assert_int_equal(real.count, 0);

	assert_int_equal(berth_meta_manifest_delete(f->m, "gc/app", &m2), 0);
	/* Young links (cutoff in the past) keep everything, marked. */
	assert_int_equal(berth_meta_gc_links(f->m, later - 3600, 0, links_cb, &real), 0);
	assert_int_equal(real.count, 0);
	assert_int_equal(berth_meta_blob_marked(f->m, &l2, later - 3600), 1);
	/* The dry run names the two, drops nothing. */
	assert_int_equal(berth_meta_gc_links(f->m, later, 1, links_cb, &dry), 0);
	assert_int_equal(dry.count, 2);
	assert_int_equal(berth_meta_blob_linked(f->m, "gc/app", &l2, NULL), 0);
	assert_int_equal(berth_meta_gc_links(f->m, later, 0, links_cb, &real), 0);
	assert_string_equal(real.text, dry.text);
	snprintf(want, sizeof(want), "gc/app@%.15s", c2.str);
	assert_non_null(strstr(real.text, want));
	snprintf(want, sizeof(want), "gc/app@%.15s", l2.str);
	assert_non_null(strstr(real.text, want));
	assert_int_equal(berth_meta_blob_linked(f->m, "gc/app", &l2, NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_blob_linked(f->m, "gc/app", &c2, NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_blob_marked(f->m, &l2, later), 0);
	assert_int_equal(berth_meta_blob_marked(f->m, &c2, later), 0);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(berth_meta_blob_linked(f->m, "gc/app", &r1[i], NULL), 0);
		assert_int_equal(berth_meta_blob_marked(f->m, &r1[i], later), 1);
	}
	assert_int_equal(berth_meta_gc_links(f->m, later, 0, links_cb, &again), 0);
	assert_int_equal(again.count, 0);
}

static void a_link_is_per_repository(void **state)
{
	meta_fixture *f = *state;
	berth_digest shared = dg("shared"), cfg = dg("cfg");
	berth_digest refs[] = {cfg, shared};
	time_t later = time(NULL) + 60;
	names n = {0};
	char want[256];

	assert_int_equal(berth_meta_blob_link(f->m, "gc/a", &shared, 5), 0);
	assert_int_equal(berth_meta_blob_link(f->m, "gc/b", &shared, 5), 0);
	assert_int_equal(berth_meta_blob_link(f->m, "gc/b", &cfg, 3), 0);
	put(f, "gc/b", "v1", "{\"b\":1}", refs, 2);
	/* gc/a links `shared` but lists it nowhere: that link goes, gc/b's stays. */
	assert_int_equal(berth_meta_gc_links(f->m, later, 0, links_cb, &n), 0);
	snprintf(want, sizeof(want), "gc/a@%.15s", shared.str);
	assert_string_equal(n.text, want);
	assert_int_equal(berth_meta_blob_linked(f->m, "gc/b", &shared, NULL), 0);
	assert_int_equal(berth_meta_blob_marked(f->m, &shared, later), 1);
}

static void an_index_keeps_its_children_layers(void **state)
{
	meta_fixture *f = *state;
	berth_digest cfg = dg("icfg"), layer = dg("ilayer");
	berth_digest refs[] = {cfg, layer};
	berth_digest child = dg("{\"child\":1}");
	berth_digest irefs[] = {child};
	time_t later = time(NULL) + 60;
	names n = {0};

	assert_int_equal(berth_meta_blob_link(f->m, "gc/i", &cfg, 3), 0);
	assert_int_equal(berth_meta_blob_link(f->m, "gc/i", &layer, 3), 0);
	put(f, "gc/i", NULL, "{\"child\":1}", refs, 2); /* untagged: pulled through the index */
	put(f, "gc/i", "multi", "{\"index\":1}", irefs, 1);
	assert_int_equal(berth_meta_gc_links(f->m, later, 0, links_cb, &n), 0);
	assert_int_equal(n.count, 0);
	assert_int_equal(berth_meta_blob_marked(f->m, &layer, later), 1);
	/* A child manifest digest is no blob: no link row was made for it. */
	assert_int_equal(berth_meta_blob_linked(f->m, "gc/i", &child, NULL), BERTH_ENOTFOUND);
}

/* The walk goes past one page (500 rows) and drops every link. */
static void the_walk_pages(void **state)
{
	meta_fixture *f = *state;
	time_t later = time(NULL) + 60;
	names n = {0};
	char s[32];

	for (int i = 0; i < 520; i++) {
		berth_digest d;

		snprintf(s, sizeof(s), "page-%d", i);
		d = dg(s);
		assert_int_equal(berth_meta_blob_link(f->m, i % 2 ? "gc/p1" : "gc/p2", &d, 1), 0);
	}
	assert_int_equal(berth_meta_gc_links(f->m, later, 1, NULL, NULL), 0);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM repo_blobs"), 520);
	assert_int_equal(berth_meta_gc_links(f->m, later, 0, links_cb, &n), 0);
	assert_int_equal(n.count, 520);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM repo_blobs"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(deleted_image_frees_only_its_own_layers, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(a_link_is_per_repository, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(an_index_keeps_its_children_layers, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(the_walk_pages, meta_setup, meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
