/*
 * referrers.c - the referrers edge: manifests whose subject is a digest, in
 * digest order, with and without an artifact type filter, scoped to a repo.
 */
#include "meta_test.h"

#define MT_OCI "application/vnd.oci.image.manifest.v1+json"
#define SIG "application/vnd.dev.cosign.artifact.sig.v1+json"
#define SBOM "application/spdx+json"

typedef struct got {
	char text[2048];
	int count;
} got;

static int ref_cb(void *ctx, const berth_meta_referrer *r)
{
	got *g = ctx;
	size_t len = strlen(g->text);

	snprintf(g->text + len, sizeof(g->text) - len, "%s%s|%s|%llu|%s|%s", g->count ? ";" : "",
		 r->digest, r->media_type, (unsigned long long)r->size,
		 r->artifact_type ? r->artifact_type : "-", r->annotations ? r->annotations : "-");
	g->count++;
	return 0;
}

/* Store a referrer with body `body` pointing at `subject`; returns its digest. */
static berth_digest refer(berth_meta *m, const char *repo, const char *body,
			  const berth_digest *subject, const char *type, const char *annotations)
{
	berth_digest d = dg(body);
	berth_meta_manifest_put p = {.repo = repo,
				     .digest = &d,
				     .media_type = MT_OCI,
				     .artifact_type = type,
				     .annotations = annotations,
				     .body = body,
				     .body_len = strlen(body),
				     .subject = subject};

	assert_int_equal(berth_meta_manifest_store(m, &p), 0);
	return d;
}

static int by_digest(const void *a, const void *b)
{
	return strcmp(((const berth_digest *)a)->str, ((const berth_digest *)b)->str);
}

static void referrers_are_listed_in_digest_order(void **state)
{
	meta_fixture *f = *state;
	berth_digest subject = dg("image"), d[3];
	got g = {0};
	char want[2048] = "";

	d[0] = refer(f->m, "lib/app", "sig-1", &subject, SIG, NULL);
	d[1] = refer(f->m, "lib/app", "sbom-1", &subject, SBOM, "{\"k\":\"v\"}");
	d[2] = refer(f->m, "lib/app", "sig-2", &subject, SIG, NULL);
	qsort(d, 3, sizeof(d[0]), by_digest);
	assert_int_equal(berth_meta_referrers(f->m, "lib/app", &subject, NULL, ref_cb, &g), 0);
	assert_int_equal(g.count, 3);
	/* Each digest appears, in ascending order. */
	{
		const char *p0 = strstr(g.text, d[0].str), *p1 = strstr(g.text, d[1].str),
			   *p2 = strstr(g.text, d[2].str);

		assert_non_null(p0);
		assert_non_null(p1);
		assert_non_null(p2);
		assert_true(p0 < p1 && p1 < p2);
	}
	snprintf(want, sizeof(want), "%s|%s|6|%s|{\"k\":\"v\"}", dg("sbom-1").str, MT_OCI, SBOM);
	assert_non_null(strstr(g.text, want));
}

static void referrers_filter_by_artifact_type(void **state)
{
	meta_fixture *f = *state;
	berth_digest subject = dg("image"), sbom;
	got g = {0}, none = {0};
	char want[1024];

	refer(f->m, "lib/app", "sig-1", &subject, SIG, NULL);
	sbom = refer(f->m, "lib/app", "sbom-1", &subject, SBOM, NULL);
	refer(f->m, "lib/app", "plain", &subject, NULL, NULL);
	assert_int_equal(berth_meta_referrers(f->m, "lib/app", &subject, SBOM, ref_cb, &g), 0);
	snprintf(want, sizeof(want), "%s|%s|6|%s|-", sbom.str, MT_OCI, SBOM);
	assert_string_equal(g.text, want);
	assert_int_equal(
		berth_meta_referrers(f->m, "lib/app", &subject, "application/none", ref_cb, &none),
		0);
	assert_int_equal(none.count, 0);
}

static void referrers_are_scoped_to_subject_and_repo(void **state)
{
	meta_fixture *f = *state;
	berth_digest subject = dg("image"), other = dg("other-image");
	got g = {0}, h = {0}, k = {0};

	refer(f->m, "lib/app", "sig-1", &subject, SIG, NULL);
	refer(f->m, "lib/app", "sig-other", &other, SIG, NULL);
	refer(f->m, "lib/else", "sig-else", &subject, SIG, NULL);
	assert_int_equal(berth_meta_referrers(f->m, "lib/app", &subject, NULL, ref_cb, &g), 0);
	assert_int_equal(g.count, 1);
	assert_non_null(strstr(g.text, dg("sig-1").str));
	assert_int_equal(berth_meta_referrers(f->m, "lib/else", &other, NULL, ref_cb, &h), 0);
	assert_int_equal(h.count, 0);
	assert_int_equal(berth_meta_referrers(f->m, "no/repo", &subject, NULL, ref_cb, &k), 0);
	assert_int_equal(k.count, 0);
}

static void deleted_referrer_disappears(void **state)
{
	meta_fixture *f = *state;
	berth_digest subject = dg("image"), sig;
	got g = {0};

	sig = refer(f->m, "lib/app", "sig-1", &subject, SIG, NULL);
	assert_int_equal(berth_meta_manifest_delete(f->m, "lib/app", &sig), 0);
	assert_int_equal(berth_meta_referrers(f->m, "lib/app", &subject, NULL, ref_cb, &g), 0);
	assert_int_equal(g.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(referrers_are_listed_in_digest_order, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(referrers_filter_by_artifact_type, meta_setup,
						meta_teardown),
		cmocka_unit_test_setup_teardown(referrers_are_scoped_to_subject_and_repo,
						meta_setup, meta_teardown),
		cmocka_unit_test_setup_teardown(deleted_referrer_disappears, meta_setup,
						meta_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
