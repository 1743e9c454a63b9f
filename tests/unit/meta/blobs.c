/*
 * blobs.c - blob links: link/linked/unlink per repository, idempotence, the
 * mount lookup across repositories, and repository existence.
 */
#include "meta_test.h"

typedef struct seen {
	char text[1024];
	int count;
	int stop_after;
} seen;

static int repo_cb(void *ctx, const char *repo, uint64_t size)
{
	seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s=%llu", s->count ? "," : "", repo,
		 (unsigned long long)size);
	s->count++;
	return s->stop_after && s->count >= s->stop_after ? 1 : 0;
}

static void link_then_linked_reports_size(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("blob-a");
	uint64_t size = 0;

	assert_int_equal(berth_meta_blob_link(f->m, "team/app", &d, 1234), 0);
	assert_int_equal(berth_meta_blob_linked(f->m, "team/app", &d, &size), 0);
	assert_int_equal(size, 1234);
	assert_int_equal(berth_meta_blob_linked(f->m, "team/app", &d, NULL), 0);
}

static void link_is_per_repository(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("blob-a"), other = dg("blob-b");

	assert_int_equal(berth_meta_blob_link(f->m, "team/app", &d, 10), 0);
	assert_int_equal(berth_meta_blob_linked(f->m, "team/other", &d, NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_blob_linked(f->m, "team/app", &other, NULL), BERTH_ENOTFOUND);
}

static void link_is_idempotent(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("blob-a");
	seen s = {0};

	assert_int_equal(berth_meta_blob_link(f->m, "r", &d, 7), 0);
	assert_int_equal(berth_meta_blob_link(f->m, "r", &d, 7), 0);
	assert_int_equal(berth_meta_blob_repos(f->m, &d, repo_cb, &s), 0);
	assert_string_equal(s.text, "r=7");
}

static void repos_lists_every_holder_in_name_order(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("shared-layer"), none = dg("nowhere");
	seen s = {0}, first = {.stop_after = 1};

	assert_int_equal(berth_meta_blob_link(f->m, "zeta/app", &d, 5), 0);
	assert_int_equal(berth_meta_blob_link(f->m, "Alpha/app", &d, 5), 0);
	assert_int_equal(berth_meta_blob_link(f->m, "alpha/app", &d, 5), 0);
	assert_int_equal(berth_meta_blob_repos(f->m, &d, repo_cb, &s), 0);
	assert_string_equal(s.text, "Alpha/app=5,alpha/app=5,zeta/app=5");
	assert_int_equal(berth_meta_blob_repos(f->m, &d, repo_cb, &first), 0);
	assert_int_equal(first.count, 1);
	assert_int_equal(berth_meta_blob_repos(f->m, &none, repo_cb, &s), BERTH_ENOTFOUND);
}

static void unlink_removes_only_that_link(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("blob-a");
	seen s = {0};

	assert_int_equal(berth_meta_blob_link(f->m, "one", &d, 3), 0);
	assert_int_equal(berth_meta_blob_link(f->m, "two", &d, 3), 0);
	assert_int_equal(berth_meta_blob_unlink(f->m, "one", &d), 0);
	assert_int_equal(berth_meta_blob_linked(f->m, "one", &d, NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_blob_linked(f->m, "two", &d, NULL), 0);
	assert_int_equal(berth_meta_blob_repos(f->m, &d, repo_cb, &s), 0);
	assert_string_equal(s.text, "two=3");
	assert_int_equal(berth_meta_blob_unlink(f->m, "one", &d), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_blob_unlink(f->m, "never", &d), BERTH_ENOTFOUND);
}

/* The garbage collector's mark: a link anywhere, or a manifest listing it. */
static void referenced_by_a_link_or_a_manifest(void **state)
{
	meta_fixture *f = *state;
	berth_digest linked = dg("linked"), listed = dg("listed"), none = dg("orphan");
	berth_digest refs[1] = {listed};
	const char *body = "{\"schemaVersion\":2}";
	berth_digest md = dg(body);
	berth_meta_manifest_put p = {.repo = "gc/app",
				     .digest = &md,
				     .media_type = "application/vnd.oci.image.manifest.v1+json",
				     .body = body,
				     .body_len = strlen(body),
				     .refs = refs,
				     .nrefs = 1};

	assert_int_equal(berth_meta_blob_referenced(f->m, &none), 0);
	assert_int_equal(berth_meta_blob_link(f->m, "gc/one", &linked, 3), 0);
	assert_int_equal(berth_meta_blob_referenced(f->m, &linked), 1);
	assert_int_equal(berth_meta_manifest_store(f->m, &p), 0);
	assert_int_equal(berth_meta_blob_referenced(f->m, &listed), 1);
	/* Unlinked everywhere: no longer wanted. */
	assert_int_equal(berth_meta_blob_unlink(f->m, "gc/one", &linked), 0);
	assert_int_equal(berth_meta_blob_referenced(f->m, &linked), 0);
	/* The manifest deleted: its references go with it. */
	assert_int_equal(berth_meta_manifest_delete(f->m, "gc/app", &md), 0);
	assert_int_equal(berth_meta_blob_referenced(f->m, &listed), 0);
}

static void repo_exists_after_first_content(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("blob-a");

	assert_int_equal(berth_meta_repo_exists(f->m, "lib/new"), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_blob_link(f->m, "lib/new", &d, 1), 0);
	assert_int_equal(berth_meta_repo_exists(f->m, "lib/new"), 0);
	assert_int_equal(berth_meta_repo_exists(f->m, "lib/New"), BERTH_ENOTFOUND);
}

static void hostile_names_are_data_not_sql(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("blob-a");
	const char *evil = "x'); DROP TABLE repos; --";

	assert_int_equal(berth_meta_blob_link(f->m, evil, &d, 9), 0);
	assert_int_equal(berth_meta_blob_linked(f->m, evil, &d, NULL), 0);
	assert_int_equal(berth_meta_repo_exists(f->m, evil), 0);
}

static void oversized_names_are_refused(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("blob-a");
	char big[2000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(berth_meta_blob_link(f->m, big, &d, 1), BERTH_EINVALID);
	assert_int_equal(berth_meta_blob_link(f->m, "", &d, 1), BERTH_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(link_then_linked_reports_size, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(link_is_per_repository, meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(link_is_idempotent, meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(repos_lists_every_holder_in_name_order, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(unlink_removes_only_that_link, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(referenced_by_a_link_or_a_manifest, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(repo_exists_after_first_content, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(hostile_names_are_data_not_sql, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(oversized_names_are_refused, meta_setup,
						meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
