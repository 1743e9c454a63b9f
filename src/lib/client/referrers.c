/*
 * referrers.c - the walk over the OCI 1.1 referrers of a subject that a
 * copy carries along (`berth copy --with-signatures`, replication): read
 * the subject's referrers at the source, give each to the caller to copy,
 * go down into the referrers of each, and list them at a destination
 * without the referrers API in its referrers tag schema index, as an OCI
 * 1.1 client pushing there keeps it.
 *
 * The policy is the caller's (berth_client_referrers_walker): how deep, how
 * many, whether a failure ends the walk or is recorded and passed over. An
 * index is read and parsed once; the merge at the destination gets its
 * bytes as they were read.
 */
#include "lib/client/internal.h"

#include <assert.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* 1 if the walk's destination has the referrers API, 0 if not, negative on error. */
static int dst_api(const berth_client_referrers_walker *w, const berth_digest *subject)
{
	int api = w->dst_api ? atomic_load_explicit(w->dst_api, memory_order_acquire) : -1;

	if (api >= 0)
		return api;
	if ((api = berth_client_referrers_api(w->dst, w->dst_repo, subject)) >= 0 && w->dst_api)
		atomic_store_explicit(w->dst_api, api, memory_order_release);
	return api;
}

/*
 * The tag schema merge at a destination without the referrers API: the
 * index as read when every referrer it lists is at the destination now,
 * else the index with only those (a referrer not copied is not listed).
 */
static int list_at_dst(const berth_client_referrers_walker *w, const berth_digest *subject,
		       const berth_buf *body, json_t *idx, json_t *listed)
{
	json_t *doc;
	char *text;
	int rc;

	if (json_array_size(listed) == json_array_size(json_object_get(idx, "manifests")))
		return berth_client_referrers_tag_merge(w->dst, w->dst_repo, subject, body->ptr,
							body->len);
	doc = json_object();
	if (!doc || json_object_update(doc, idx) < 0 ||
	    json_object_set(doc, "manifests", listed) < 0) {
		json_decref(doc);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	rc = text ? berth_client_referrers_tag_merge(w->dst, w->dst_repo, subject, text,
						     strlen(text))
		  : berth_error_set(BERTH_ERROR, "out of memory");
	free(text);
	json_decref(doc);
	return rc;
}

static int walk(const berth_client_referrers_walker *w, const berth_digest *subject, int depth)
{
	berth_buf body = BERTH_BUF_INIT(0);
	json_t *idx = NULL, *m, *listed = json_array();
	size_t i, n = 0;
	int rc = listed ? berth_client__referrers_index(w->src, w->src_repo, subject, &body, NULL,
							&idx)
			: berth_error_set(BERTH_ERROR, "out of memory");

	if (rc < 0)
		goto failed;
	json_array_foreach(json_object_get(idx, "manifests"), i, m)
	{
		const char *ds = json_string_value(json_object_get(m, "digest"));
		berth_digest d;

		if ((w->max_count && n >= w->max_count) || (w->stop && w->stop(w->ctx)))
			break;
		if (!ds || berth_digest_parse(&d, ds, strlen(ds)) < 0) {
			if (w->skip_invalid)
				continue;
			rc = berth_error_set(BERTH_EINVALID,
					     "a referrer of %s without a valid digest",
					     subject->str);
			goto failed;
		}
		n++;
		/*
		 * A visit's error, or one a deeper walk's on_error kept, ends the
		 * walk as it is: it is not this subject's to report again.
		 */
		if ((rc = w->visit(w->ctx, &d, depth)) < 0)
			goto done;
		if (rc > 0)
			continue; /* not at the destination: neither listed nor walked */
		if (json_array_append(listed, m) < 0) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto failed;
		}
		if (depth < w->max_depth && (rc = walk(w, &d, depth + 1)) < 0)
			goto done;
	}
	rc = 0;
	if (json_array_size(listed) && (rc = dst_api(w, subject)) == 0)
		rc = list_at_dst(w, subject, &body, idx, listed);
failed:
	if (rc < 0 && w->on_error)
		rc = w->on_error(w->ctx, subject, rc);
done:
	json_decref(listed);
	json_decref(idx);
	berth_buf_dispose(&body);
	return rc < 0 ? rc : 0;
}

int berth_client_referrers_walk(const berth_client_referrers_walker *w, const berth_digest *subject)
{
	assert(w && w->src && w->dst && w->src_repo && w->dst_repo && w->visit && subject);
	return walk(w, subject, 0);
}
