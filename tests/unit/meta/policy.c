/*
 * policy.c - the metadata of the signature policy (migration 4): a
 * project's keys, the listing of projects with a policy and its generation,
 * the repository generation read with every manifest, and the parents of a
 * manifest (the indexes listing it).
 */
#include "meta_test.h"

static const char KEY[] = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";

typedef struct {
	int n;
	char last[64];
} seen;

static int count_policy(void *ctx, const char *project, const char *keys)
{
	seen *s = ctx;

	assert_string_equal(keys, KEY);
	snprintf(s->last, sizeof(s->last), "%s", project);
	s->n++;
	return 0;
}

static void keys_set_listed_and_the_generation_moves(void **state)
{
	meta_fixture *f = *state;
	berth_buf b = BERTH_BUF_INIT(0);
	seen s = {0, ""};
	int64_t g0 = -1, g1 = -1, g2 = -1;

	assert_int_equal(berth_meta_project_create(f->m, "a", 0), 0);
	assert_int_equal(berth_meta_project_create(f->m, "b", 0), 0);
	assert_int_equal(berth_meta_policies(f->m, &g0, count_policy, &s), 0);
	assert_int_equal(s.n, 0);
	assert_int_equal(berth_meta_project_set_signature_keys(f->m, "b", KEY), 0);
	assert_int_equal(berth_meta_policies(f->m, &g1, count_policy, &s), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.last, "b");
	assert_true(g1 > g0);
	assert_int_equal(berth_meta_project_signature_keys(f->m, "b", &b), 0);
	assert_string_equal(b.ptr, KEY);
	berth_buf_reset(&b);
	assert_int_equal(berth_meta_project_signature_keys(f->m, "a", &b), 0);
	assert_int_equal(b.len, 0);
	/* "" removes the policy, and that is a change too */
	assert_int_equal(berth_meta_project_set_signature_keys(f->m, "b", ""), 0);
	s.n = 0;
	assert_int_equal(berth_meta_policies(f->m, &g2, count_policy, &s), 0);
	assert_int_equal(s.n, 0);
	assert_true(g2 > g1);
	assert_int_equal(berth_meta_project_set_signature_keys(f->m, "nope", KEY), BERTH_ENOTFOUND);
	berth_buf_dispose(&b);
}

static void manifest_generations_follow_changes(void **state)
{
	meta_fixture *f = *state;
	berth_digest cfg = dg("cfg"), man = dg("man"), idx = dg("idx"), refs[1];
	berth_meta_manifest_put p = {0};
	berth_meta_manifest i1, i2, i3;
	int64_t pg = 0;
	seen s = {0, ""};

	assert_int_equal(berth_meta_blob_link(f->m, "a/app", &cfg, 3), 0);
	refs[0] = cfg;
	p.repo = "a/app";
	p.digest = &man;
	p.media_type = "application/vnd.oci.image.manifest.v1+json";
	p.body = "{}";
	p.body_len = 2;
	p.tag = "v1";
	p.refs = refs;
	p.nrefs = 1;
	assert_int_equal(berth_meta_manifest_store(f->m, &p), 0);
	assert_int_equal(berth_meta_manifest_get(f->m, "a/app", "v1", &i1, NULL), 0);
	/* a signature tag written moves the repository's generation */
	p.tag = "sha256-x.sig";
	assert_int_equal(berth_meta_manifest_store(f->m, &p), 0);
	assert_int_equal(berth_meta_manifest_get(f->m, "a/app", man.str, &i2, NULL), 0);
	assert_true(i2.generation > i1.generation);
	assert_int_equal(berth_meta_tag_delete(f->m, "a/app", "sha256-x.sig"), 0);
	assert_int_equal(berth_meta_manifest_get(f->m, "a/app", "v1", &i3, NULL), 0);
	assert_true(i3.generation > i2.generation);
	/* the policy generation comes with the manifest */
	assert_int_equal(berth_meta_policies(f->m, &pg, count_policy, &s), 0);
	assert_int_equal(i3.policy_generation, pg);
	assert_int_equal(berth_meta_project_create(f->m, "a", 0), 0);
	assert_int_equal(berth_meta_project_set_signature_keys(f->m, "a", KEY), 0);
	assert_int_equal(berth_meta_manifest_get(f->m, "a/app", "v1", &i1, NULL), 0);
	assert_true(i1.policy_generation > pg);
	/* an index listing the manifest is its parent */
	refs[0] = man;
	p.digest = &idx;
	p.media_type = "application/vnd.oci.image.index.v1+json";
	p.tag = "multi";
	assert_int_equal(berth_meta_manifest_store(f->m, &p), 0);
}

static int collect_parent(void *ctx, const char *name)
{
	seen *s = ctx;

	snprintf(s->last, sizeof(s->last), "%.63s", name);
	s->n++;
	return 0;
}

static void parents_are_the_indexes_listing_a_manifest(void **state)
{
	meta_fixture *f = *state;
	berth_digest man = dg("man"), idx = dg("idx"), cfg = dg("cfg");
	seen s = {0, ""};

	manifest_generations_follow_changes(state);
	assert_int_equal(berth_meta_manifest_parents(f->m, "a/app", &man, collect_parent, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(strncmp(s.last, idx.str, 63), 0);
	s.n = 0;
	assert_int_equal(berth_meta_manifest_parents(f->m, "a/app", &idx, collect_parent, &s), 0);
	assert_int_equal(s.n, 0);
	/* another repository's index is not a parent here */
	assert_int_equal(berth_meta_manifest_parents(f->m, "a/other", &man, collect_parent, &s), 0);
	assert_int_equal(s.n, 0);
	(void)cfg;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, meta_setup, meta_teardown)
	const struct CMUnitTest tests[] = {
		T(keys_set_listed_and_the_generation_moves),
		T(manifest_generations_follow_changes),
		T(parents_are_the_indexes_listing_a_manifest),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
