/*
 * manifests.c - the mirror's manifest cache. A manifest fetched from
 * upstream is stored in the local repository like a pushed one (meta), with
 * its tag; when the tag was last found to match upstream is recorded in meta
 * (so a restart keeps the validations) and remembered in memory in front of
 * it. Blobs a manifest references are fetched when asked for.
 *
 * A repository pushed to (an upstream with `push: allow`) is recorded in
 * the same table under the reserved tag "@pushed", which no real tag can
 * be (a tag has no '@'): its time is when it was first pushed to.
 */
#include "internal.h"

#include "berth/oci.h"
#include "util/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PUSHED_TAG "@pushed" /* not a valid tag: marks a repository pushed to */

/* Validation times are wall-clock seconds: they outlive the process. */
static time_t now_wall(void)
{
	return time(NULL);
}

static size_t tag_bucket(const char *key)
{
	size_t h = 5381;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = h * 33 + *p;
	return h % MIRROR_TAG_BUCKETS;
}

static void tags_clear(berth_mirror *m)
{
	for (size_t b = 0; b < MIRROR_TAG_BUCKETS; b++) {
		while (m->tags[b]) {
			berth_mirror__tag *t = m->tags[b];

			m->tags[b] = t->next;
			free(t);
		}
	}
	m->ntags = 0;
}

static void tag_remember(berth_mirror *m, const char *key, time_t at);

/* When `local`:`tag` (`key`) was last validated: memory, else meta; -1 never. */
static time_t tag_checked(berth_mirror *m, const char *local, const char *tag, const char *key)
{
	time_t at = -1;

	pthread_mutex_lock(&m->lock);
	for (berth_mirror__tag *t = m->tags[tag_bucket(key)]; t; t = t->next)
		if (strcmp(t->key, key) == 0) {
			at = t->checked;
			break;
		}
	pthread_mutex_unlock(&m->lock);
	if (at < 0) {
		int rc = berth_meta_mirror_tag_checked(m->meta, local, tag, &at);

		if (rc == 0)
			tag_remember(m, key, at);
		else if (rc != BERTH_ENOTFOUND)
			berth_warn("mirror: %s:%s: reading its validation time: %s", local, tag,
				   berth_error_last());
		if (rc < 0)
			at = -1;
	}
	return at;
}

/* Validated now: in meta (a failure only costs a HEAD later) and in memory. */
static void tag_mark(berth_mirror *m, const char *local, const char *tag, const char *key)
{
	time_t at = now_wall();

	if (berth_meta_mirror_tag_mark(m->meta, local, tag, at) < 0)
		berth_warn("mirror: %s:%s: recording its validation time: %s", local, tag,
			   berth_error_last());
	tag_remember(m, key, at);
}

static void tag_remember(berth_mirror *m, const char *key, time_t at)
{
	size_t b = tag_bucket(key), len = strlen(key);
	berth_mirror__tag *t;

	pthread_mutex_lock(&m->lock);
	for (t = m->tags[b]; t; t = t->next)
		if (strcmp(t->key, key) == 0)
			break;
	if (!t && m->ntags >= MIRROR_TAGS_MAX)
		tags_clear(m); /* every tag revalidates once more: cheap and bounded */
	if (!t && (t = malloc(sizeof(*t) + len + 1)) != NULL) {
		memcpy(t->key, key, len + 1);
		t->next = m->tags[b];
		m->tags[b] = t;
		m->ntags++;
	}
	if (t)
		t->checked = at;
	pthread_mutex_unlock(&m->lock);
}

void berth_mirror__tags_free(berth_mirror *m)
{
	tags_clear(m);
}

/* Store manifest `body` (digest `d`) in `local`, under `tag` if not NULL. */
static int store_manifest(berth_mirror *m, const char *local, const char *tag,
			  const berth_digest *d, const char *media_type, const berth_buf *body)
{
	berth_manifest *man = NULL;
	berth_meta_manifest_put p = {0};
	berth_digest *refs = NULL;
	size_t n = 0;
	int rc;

	if ((rc = berth_manifest_parse(&man, body->ptr, body->len, media_type)) < 0) {
		rc = berth_error_set(BERTH_EINVALID, "upstream manifest %s: %s", d->str,
				     berth_error_last());
		goto done;
	}
	n = man->kind == BERTH_OCI_INDEX ? man->nmanifests : man->nlayers + 1;
	if (!(refs = calloc(n ? n : 1, sizeof(*refs)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		refs[i] = man->kind == BERTH_OCI_INDEX ? man->manifests[i].digest
			  : i == 0		       ? man->config.digest
						       : man->layers[i - 1].digest;
	p.repo = local;
	p.digest = d;
	p.media_type = man->media_type;
	p.artifact_type = berth_manifest_referrer_type(man);
	p.annotations = man->annotations;
	p.body = body->ptr;
	p.body_len = body->len;
	p.subject = man->subject ? &man->subject->digest : NULL;
	p.tag = tag;
	p.refs = refs;
	p.nrefs = n;
	rc = berth_meta_manifest_store(m->meta, &p);
done:
	free(refs);
	berth_manifest_free(man);
	return rc;
}

/* GET the manifest upstream and store it (under `tag` if not NULL). */
static int fetch_manifest(berth_mirror *m, berth_mirror__upstream *up, const char *repo,
			  const char *local, const char *ref, const char *tag)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_CEILING);
	char media_type[256];
	berth_digest d;
	int rc;

	rc = berth_client_manifest_get(up->client, repo, ref, &body, media_type, sizeof(media_type),
				       &d);
	if (rc == 0) {
		atomic_fetch_add(&m->upstream_bytes, body.len);
		rc = store_manifest(m, local, tag, &d, media_type, &body);
	}
	berth_buf_dispose(&body);
	return rc;
}

/* A tag in the cache: fresh, revalidated, refetched or served stale. */
static int tag_cached(berth_mirror *m, berth_mirror__upstream *up, const char *repo,
		      const char *local, const char *tag, const berth_meta_manifest *have,
		      const char *key)
{
	time_t at = tag_checked(m, local, tag, key), now = now_wall();
	berth_digest d;
	char media_type[256];
	uint64_t size;
	int rc;

	if (at >= 0 && at <= now && now - at < up->ttl) { /* a clock set back revalidates */
		atomic_fetch_add(&m->hits, 1);
		return 0;
	}
	atomic_fetch_add(&m->revalidations, 1);
	rc = berth_client_manifest_head(up->client, repo, tag, &d, media_type, sizeof(media_type),
					&size);
	if (rc == 0 && berth_digest_equal(&d, &have->digest)) {
		tag_mark(m, local, tag, key);
		atomic_fetch_add(&m->hits, 1);
		return 0;
	}
	if (rc == 0 && (rc = fetch_manifest(m, up, repo, local, d.str, tag)) == 0) {
		tag_mark(m, local, tag, key);
		atomic_fetch_add(&m->misses, 1);
		return 0;
	}
	if (rc == BERTH_ENOTFOUND)
		return rc; /* upstream says it is gone: so is it here */
	atomic_fetch_add(&m->upstream_errors, 1);
	atomic_fetch_add(&m->stale_hits, 1);
	berth_warn("mirror: stale hit: serving cached %s:%s (%s): upstream %s failed: %s", local,
		   tag, have->digest.str, up->name, berth_error_last());
	return 0;
}

int berth_mirror__manifest_ready(berth_mirror *m, berth_mirror__upstream *up, const char *repo,
				 const char *local, const char *ref, int is_digest)
{
	berth_meta_manifest have;
	char *key = NULL;
	int rc;

	rc = berth_meta_manifest_get(m->meta, local, ref, &have, NULL);
	if (rc < 0 && rc != BERTH_ENOTFOUND)
		return rc;
	if (is_digest && rc == 0) {
		atomic_fetch_add(&m->hits, 1);
		return 0;
	}
	if (asprintf(&key, "%s:%s", local, ref) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (rc == 0) {
		rc = tag_cached(m, up, repo, local, ref, &have, key);
	} else {
		rc = fetch_manifest(m, up, repo, local, ref, is_digest ? NULL : ref);
		if (rc == 0) {
			atomic_fetch_add(&m->misses, 1);
			if (!is_digest)
				tag_mark(m, local, ref, key);
		} else if (rc != BERTH_ENOTFOUND) {
			atomic_fetch_add(&m->upstream_errors, 1);
		}
	}
	free(key);
	return rc;
}

int berth_mirror__pushed(berth_mirror *m, const char *local)
{
	char *key = NULL;
	time_t at;

	if (asprintf(&key, "%s:%s", local, PUSHED_TAG) < 0)
		return 0;
	at = tag_checked(m, local, PUSHED_TAG, key);
	free(key);
	return at >= 0;
}

int berth_mirror__pushed_mark(berth_mirror *m, const char *local)
{
	char *key = NULL;
	int rc;

	if (berth_mirror__pushed(m, local))
		return 0;
	if (asprintf(&key, "%s:%s", local, PUSHED_TAG) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_meta_mirror_tag_mark(m->meta, local, PUSHED_TAG, now_wall())) == 0) {
		tag_remember(m, key, now_wall());
		berth_info("mirror: %s is pushed to: served from this registry only from now on",
			   local);
	}
	free(key);
	return rc;
}
