/*
 * referrers.c - berth_client_referrers_walk against the fake registry (no
 * referrers API: the tag schema's indexes at both ends): the depth limit,
 * the count limit, an invalid digest passed over or refused, a subject
 * whose index cannot be read handed to on_error, and the merge of the
 * source's index into the destination's (only the referrers copied).
 */
#include "fake_registry.h"

#include <jansson.h>

#define MT_INDEX "application/vnd.oci.image.index.v1+json"

/* One test's walk, and what its callbacks saw. */
typedef struct {
	berth_client_referrers_walker w;
	atomic_int api;
	char seen[16][8]; /* "<depth> <first hex digit>" of each visit */
	size_t nseen;
	size_t errors;
} walk_log;

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
static void put_index(fr_env *e, char subject, const char *refs)
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
	walk_log *log = ctx;

	snprintf(log->seen[log->nseen++], sizeof(log->seen[0]), "%d %c", depth,
		 berth_digest_hex(referrer)[0]);
	return 0;
}

static int on_error(void *ctx, const berth_digest *subject, int rc)
{
	walk_log *log = ctx;

	(void)subject;
	(void)rc;
	log->errors++;
	return 0;
}

/* src/app → dst/app on the fake registry, one level of referrers of referrers. */
static void walk_init(walk_log *log, fr_env *e)
{
	memset(log, 0, sizeof(*log));
	atomic_init(&log->api, -1);
	log->w.src = log->w.dst = e->c;
	log->w.src_repo = "src/app";
	log->w.dst_repo = "dst/app";
	log->w.max_depth = 1;
	log->w.dst_api = &log->api;
	log->w.visit = visit;
	log->w.ctx = log;
}

/* s → a, b; a → c; c → d: d is one level too deep. */
static void walks_down_to_the_depth_and_lists_at_the_tag_schema(void **state)
{
	fr_env *e = *state;
	walk_log log;
	berth_digest s = digest_of('0'), a = digest_of('a');
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	json_t *doc;

	walk_init(&log, e);
	put_index(e, '0', "ab");
	put_index(e, 'a', "c");
	put_index(e, 'c', "d");
	assert_int_equal(berth_client_referrers_walk(&log.w, &s), 0);
	assert_int_equal(log.nseen, 3);
	assert_string_equal(log.seen[0], "0 a");
	assert_string_equal(log.seen[1], "1 c");
	assert_string_equal(log.seen[2], "0 b");
	assert_int_equal(atomic_load(&log.api), 0);
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
	fr_env *e = *state;
	walk_log log;
	berth_digest s = digest_of('0');

	walk_init(&log, e);
	put_index(e, '0', "?ab");
	assert_int_equal(berth_client_referrers_walk(&log.w, &s), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "without a valid digest"));
	assert_int_equal(log.nseen, 0);
	log.w.skip_invalid = 1;
	log.w.max_count = 1;
	assert_int_equal(berth_client_referrers_walk(&log.w, &s), 0);
	assert_int_equal(log.nseen, 1);
	assert_string_equal(log.seen[0], "0 a");
}

/* Refuses referrer 'b' (a copy that failed): a positive answer. */
static int visit_fails_b(void *ctx, const berth_digest *referrer, int depth)
{
	visit(ctx, referrer, depth);
	return berth_digest_hex(referrer)[0] == 'b';
}

/* The digests (first hex digit each) the destination's tag schema index of `subject` lists. */
static void listed_at_dst(fr_env *e, char subject, char *out, size_t n)
{
	berth_digest s = digest_of(subject);
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	json_t *doc, *m;
	size_t i, k = 0;

	assert_int_equal(berth_client_referrers_index(e->c, "dst/app", &s, &body, NULL), 0);
	assert_non_null(doc = json_loadb(body.ptr, body.len, 0, NULL));
	json_array_foreach(json_object_get(doc, "manifests"), i, m)
	{
		const char *d = json_string_value(json_object_get(m, "digest"));

		assert_true(k + 1 < n && d && strlen(d) > 7);
		out[k++] = d[7];
	}
	out[k] = '\0';
	json_decref(doc);
	berth_buf_dispose(&body);
}

/*
 * Only the referrers at the destination are listed there: not one whose copy
 * failed (nor are its referrers walked), not those past the count limit.
 */
static void lists_only_what_is_at_the_destination(void **state)
{
	fr_env *e = *state;
	walk_log log;
	berth_digest s = digest_of('0');
	char got[16];

	walk_init(&log, e);
	log.w.visit = visit_fails_b;
	put_index(e, '0', "abc");
	put_index(e, 'b', "d");
	assert_int_equal(berth_client_referrers_walk(&log.w, &s), 0);
	assert_int_equal(log.nseen, 3); /* a, b, c; not d */
	assert_string_equal(log.seen[2], "0 c");
	listed_at_dst(e, '0', got, sizeof(got));
	assert_string_equal(got, "ac");
	/* as read when every referrer is there; after a count limit, those taken */
	walk_init(&log, e);
	put_index(e, '0', "ef");
	log.w.max_count = 1;
	assert_int_equal(berth_client_referrers_walk(&log.w, &s), 0);
	listed_at_dst(e, '0', got, sizeof(got));
	assert_string_equal(got, "ace");
}

/* A referrer whose own index is not JSON: on_error hears of it and the walk goes on. */
static void unreadable_index_goes_to_on_error(void **state)
{
	fr_env *e = *state;
	walk_log log;
	berth_digest s = digest_of('0');
	char tag[BERTH_DIGEST_MAX + 8];
	berth_digest a = digest_of('a');

	walk_init(&log, e);
	put_index(e, '0', "ab");
	snprintf(tag, sizeof(tag), "sha256-%s", berth_digest_hex(&a));
	fr_put_manifest(e->fr, "src/app", tag, MT_INDEX, "{", 1);
	assert_int_equal(berth_client_referrers_walk(&log.w, &s), BERTH_EINVALID);
	assert_int_equal(log.nseen, 1);
	log.nseen = 0;
	log.w.on_error = on_error;
	assert_int_equal(berth_client_referrers_walk(&log.w, &s), 0);
	assert_int_equal(log.errors, 1);
	assert_int_equal(log.nseen, 2);
	assert_string_equal(log.seen[1], "0 b");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(walks_down_to_the_depth_and_lists_at_the_tag_schema,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(invalid_digest_is_refused_or_passed_over,
						fr_env_setup, fr_env_teardown),
		cmocka_unit_test_setup_teardown(unreadable_index_goes_to_on_error, fr_env_setup,
						fr_env_teardown),
		cmocka_unit_test_setup_teardown(lists_only_what_is_at_the_destination, fr_env_setup,
						fr_env_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
