/*
 * referrers.c - berth_client_referrers_walk against the fake registry (no
 * referrers API: the tag schema's indexes at both ends): the depth limit,
 * the count limit, an invalid digest passed over or refused, a subject
 * whose index cannot be read handed to on_error, and the merge of the
 * source's index into the destination's.
 */
#include "fake_registry.h"

#include <jansson.h>

#define MT_INDEX "application/vnd.oci.image.index.v1+json"

typedef struct {
	fake_registry *fr;
	berth_client *c;
	char seen[16][BERTH_DIGEST_MAX + 8]; /* "<depth> <hex>" of each visit */
	size_t nseen;
	size_t errors;
} env;

static int setup(void **state)
{
	env *e = calloc(1, sizeof(*e));

	e->fr = fr_start();
	e->c = fr_client(e->fr, NULL, NULL);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;

	berth_client_free(e->c);
	fr_stop(e->fr);
	free(e);
	return 0;
}

/* "sha256:" and 64 times `c`. */
static berth_digest digest_of(char c)
{
	char s[80];
	berth_digest d;

	snprintf(s, sizeof(s), "sha256:%064d", 0);
	memset(s + 7, c, 64);
	assert_int_equal(berth_digest_parse(&d, s, strlen(s)), 0);
	return d;
}

/*
 * The source's tag schema index of `subject`: one descriptor for each
 * character of `refs`, of digest_of(that character), or '?' for an invalid one.
 */
static void put_index(env *e, char subject, const char *refs)
{
	berth_digest d = digest_of(subject);
	char tag[BERTH_DIGEST_MAX + 8], body[4096];
	size_t n = (size_t)snprintf(body, sizeof(body),
				    "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":[",
				    MT_INDEX);

	for (const char *r = refs; *r; r++) {
		berth_digest rd = digest_of(*r == '?' ? '0' : *r);

		n += (size_t)snprintf(body + n, sizeof(body) - n,
				      "%s{\"mediaType\":\"m\",\"size\":1,\"digest\":\"%s\"}",
				      r == refs ? "" : ",", *r == '?' ? "sha256:nope" : rd.str);
	}
	n += (size_t)snprintf(body + n, sizeof(body) - n, "]}");
	snprintf(tag, sizeof(tag), "sha256-%s", berth_digest_hex(&d));
	fr_put_manifest(e->fr, "src/app", tag, MT_INDEX, body, n);
}

static int visit(void *ctx, const berth_digest *referrer, int depth)
{
	env *e = ctx;

	snprintf(e->seen[e->nseen++], sizeof(e->seen[0]), "%d %c", depth,
		 berth_digest_hex(referrer)[0]);
	return 0;
}

static int on_error(void *ctx, const berth_digest *subject, int rc)
{
	env *e = ctx;

	(void)subject;
	(void)rc;
	e->errors++;
	return 0;
}

static berth_client_referrers_walker walker(env *e, int *api)
{
	berth_client_referrers_walker w = {
		.src = e->c,
		.dst = e->c,
		.src_repo = "src/app",
		.dst_repo = "dst/app",
		.max_depth = 1,
		.dst_api = api,
		.visit = visit,
		.ctx = e,
	};
	return w;
}

/* s → a, b; a → c; c → d: d is one level too deep. */
static void walks_down_to_the_depth_and_lists_at_the_tag_schema(void **state)
{
	env *e = *state;
	berth_digest s = digest_of('0'), a = digest_of('a');
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	int api = -1;
	berth_client_referrers_walker w = walker(e, &api);
	json_t *doc;

	put_index(e, '0', "ab");
	put_index(e, 'a', "c");
	put_index(e, 'c', "d");
	assert_int_equal(berth_client_referrers_walk(&w, &s), 0);
	assert_int_equal(e->nseen, 3);
	assert_string_equal(e->seen[0], "0 a");
	assert_string_equal(e->seen[1], "1 c");
	assert_string_equal(e->seen[2], "0 b");
	assert_int_equal(api, 0);
	assert_int_equal(berth_client_referrers_index(e->c, "dst/app", &s, &body, NULL), 0);
	assert_non_null(doc = json_loadb(body.ptr, body.len, 0, NULL));
	assert_int_equal(json_array_size(json_object_get(doc, "manifests")), 2);
	json_decref(doc);
	/* The referrers of a referrer, listed under it. */
	assert_int_equal(berth_client_referrers_index(e->c, "dst/app", &a, &body, NULL), 0);
	assert_non_null(doc = json_loadb(body.ptr, body.len, 0, NULL));
	assert_int_equal(json_array_size(json_object_get(doc, "manifests")), 1);
	json_decref(doc);
	berth_buf_dispose(&body);
}

/* A listed digest that does not parse: refused, or passed over (and not counted). */
static void invalid_digest_is_refused_or_passed_over(void **state)
{
	env *e = *state;
	berth_digest s = digest_of('0');
	int api = -1;
	berth_client_referrers_walker w = walker(e, &api);

	put_index(e, '0', "?ab");
	assert_int_equal(berth_client_referrers_walk(&w, &s), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "without a valid digest"));
	assert_int_equal(e->nseen, 0);
	w.skip_invalid = 1;
	w.max_count = 1;
	assert_int_equal(berth_client_referrers_walk(&w, &s), 0);
	assert_int_equal(e->nseen, 1);
	assert_string_equal(e->seen[0], "0 a");
}

/* A referrer whose own index is not JSON: on_error hears of it and the walk goes on. */
static void unreadable_index_goes_to_on_error(void **state)
{
	env *e = *state;
	berth_digest s = digest_of('0');
	int api = -1;
	berth_client_referrers_walker w = walker(e, &api);
	char tag[BERTH_DIGEST_MAX + 8];
	berth_digest a = digest_of('a');

	put_index(e, '0', "ab");
	snprintf(tag, sizeof(tag), "sha256-%s", berth_digest_hex(&a));
	fr_put_manifest(e->fr, "src/app", tag, MT_INDEX, "{", 1);
	assert_int_equal(berth_client_referrers_walk(&w, &s), BERTH_EINVALID);
	assert_int_equal(e->nseen, 1);
	e->nseen = 0;
	w.on_error = on_error;
	assert_int_equal(berth_client_referrers_walk(&w, &s), 0);
	assert_int_equal(e->errors, 1);
	assert_int_equal(e->nseen, 2);
	assert_string_equal(e->seen[1], "0 b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(walks_down_to_the_depth_and_lists_at_the_tag_schema,
						setup, teardown),
		cmocka_unit_test_setup_teardown(invalid_digest_is_refused_or_passed_over, setup,
						teardown),
		cmocka_unit_test_setup_teardown(unreadable_index_goes_to_on_error, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
