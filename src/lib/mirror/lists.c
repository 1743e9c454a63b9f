/*
 * lists.c - the mirror's tag lists and referrers. Both are asked of
 * upstream first (they change there, and a cache only knows what was
 * pulled); when upstream cannot answer (down, 5xx, refusing our
 * credentials) the local repository answers from what is cached, and the
 * log says so (a stale hit, like a manifest served stale). An upstream
 * without the referrers API (404, e.g. Distribution 2.8) leaves referrers
 * to the cache as well: the referrer manifests pulled through the mirror.
 */
#include "internal.h"

#include "berth/oci.h"
#include "berth/ref.h"
#include "util/buf.h"
#include "util/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAGS_MAX 100000			/* tags of one upstream repository kept for an answer */
#define TAGS_BODY_MAX (8 * 1024 * 1024) /* the JSON answer */
#define PAGE_MAX 100000			/* ?n= */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Upstream failed: the cache answers; log and count it. */
static int from_cache(berth_mirror *m, berth_mirror__upstream *up, const char *local,
		      const char *what)
{
	atomic_fetch_add(&m->upstream_errors, 1);
	atomic_fetch_add(&m->stale_hits, 1);
	berth_warn("mirror: stale hit: serving the cached %s of %s: upstream %s failed: %s", what,
		   local, up->name, berth_error_last());
	return 1;
}

/* ?n= and ?last= of a tag list: *n -1 when absent; BERTH_EINVALID for a bad n. */
static int page_args(const berth_req *req, long *n, const char **last)
{
	const char *sn = req->query ? req->query(req->ctx, "n") : NULL;
	char *end = NULL;

	*last = req->query ? req->query(req->ctx, "last") : NULL;
	*n = -1;
	if (!sn)
		return 0;
	*n = strtol(sn, &end, 10);
	if (!*sn || *end || *n < 0 || *n > PAGE_MAX)
		return berth_error_set(BERTH_EINVALID, "n must be 0 to %d", PAGE_MAX);
	return 0;
}

/* {"name": name, "tags": [the page]}, and the Link of the next page if any. */
static int tags_answer(const berth_req *req, const char *name, const berth_client_names *l, long n,
		       const char *last, berth_exchange **out)
{
	berth_buf body = BERTH_BUF_INIT(TAGS_BODY_MAX);
	const char *ns = req->query ? req->query(req->ctx, "ns") : NULL;
	char *link = NULL;
	size_t i = 0, shown = 0;
	int rc;

	while (last && i < l->n && strcmp(l->v[i], last) <= 0)
		i++;
	rc = berth_buf_puts(&body, "{\"name\":");
	if (rc == 0)
		rc = berth_buf_put_json_string(&body, name);
	if (rc == 0)
		rc = berth_buf_puts(&body, ",\"tags\":[");
	for (; rc == 0 && i < l->n && (n < 0 || (long)shown < n); i++, shown++) {
		if (shown && (rc = berth_buf_puts(&body, ",")) < 0)
			break;
		rc = berth_buf_put_json_string(&body, l->v[i]);
	}
	if (rc == 0)
		rc = berth_buf_puts(&body, "]}");
	if (rc == 0 && n > 0 && i < l->n &&
	    asprintf(&link, "</v2/%s/tags/list?n=%ld&last=%s%s%s>; rel=\"next\"", name, n,
		     l->v[i - 1], ns ? "&ns=" : "", ns ? ns : "") < 0)
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	if (rc == 0)
		rc = berth_mirror__answer_json(out, "mirror_tags", "application/json", &body, link);
	free(link);
	berth_buf_dispose(&body);
	return rc;
}

int berth_mirror__tags(berth_mirror *m, berth_mirror__upstream *up, const berth_req *req,
		       const char *name, const char *repo, const char *local, berth_exchange **out)
{
	berth_client_names l = {.max = TAGS_MAX};
	const char *last;
	long n;
	int rc;

	if (page_args(req, &n, &last) < 0 || (last && !berth_ref_tag_valid(last, strlen(last))))
		return 1; /* the registry answers the bad query */
	rc = berth_client_tag_list(up->client, repo, &l);
	if (rc == BERTH_ENOTFOUND) {
		rc = 1; /* upstream has no such repository: nor has the cache, it says so */
	} else if (rc < 0) {
		rc = from_cache(m, up, local, "tag list");
	} else {
		qsort(l.v, l.n, sizeof(*l.v), cmp_str);
		rc = tags_answer(req, name, &l, n, last, out);
	}
	berth_client_names_dispose(&l);
	return rc;
}

int berth_mirror__referrers(berth_mirror *m, berth_mirror__upstream *up, const berth_req *req,
			    const char *repo, const char *local, const char *digest,
			    berth_exchange **out)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_CEILING);
	const char *type = req->query ? req->query(req->ctx, "artifactType") : NULL;
	berth_digest d;
	int rc;

	if (berth_digest_parse(&d, digest, strlen(digest)) < 0)
		return 1; /* the registry answers the bad digest */
	rc = berth_client_referrers(up->client, repo, &d, type, &body);
	if (rc == BERTH_ENOTFOUND) {
		rc = 1; /* no referrers API upstream: what the cache holds */
	} else if (rc < 0) {
		rc = from_cache(m, up, local, "referrers");
	} else {
		atomic_fetch_add(&m->upstream_bytes, body.len);
		rc = berth_mirror__answer_json(out, "mirror_referrers",
					       "application/vnd.oci.image.index.v1+json", &body,
					       NULL);
	}
	berth_buf_dispose(&body);
	return rc;
}
