/*
 * manifests.c - GET, HEAD, PUT and DELETE /v2/<name>/manifests/<reference>.
 *
 * A PUT collects the body into a buffer capped at max_manifest_bytes, then
 * parses it (berth_manifest_parse), checks that everything it references is
 * in the repository, and stores the exact bytes with their digest in meta.
 * GET serves those bytes unchanged. When fetched by tag, the stored media
 * type must be allowed by the client's Accept header (as Distribution does);
 * by digest it is always served.
 */
#include "lib/registry/internal.h"

#include "berth/oci.h"
#include "berth/ref.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Trim spaces and tabs around [*s, *e). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/* q value of a media range's parameters [p, e) ("q=0" excludes it). */
static double accept_q(const char *p, const char *e)
{
	while (p < e) {
		const char *ps, *pe = memchr(p, ';', (size_t)(e - p));
		char num[16];
		size_t n;

		if (!pe)
			pe = e;
		ps = p;
		trim(&ps, &pe);
		if (pe - ps >= 2 && (ps[0] == 'q' || ps[0] == 'Q') && ps[1] == '=') {
			n = (size_t)(pe - ps - 2);
			if (n >= sizeof(num))
				n = sizeof(num) - 1;
			memcpy(num, ps + 2, n);
			num[n] = '\0';
			return strtod(num, NULL);
		}
		p = pe < e ? pe + 1 : e;
	}
	return 1.0;
}

/* Does the media range [s, e) match `mt`? */
static int media_range_matches(const char *s, const char *e, const char *mt)
{
	size_t n = (size_t)(e - s);

	if (n == 3 && memcmp(s, "*/*", 3) == 0)
		return 1;
	if (n >= 2 && s[n - 2] == '/' && s[n - 1] == '*')
		return strncasecmp(s, mt, n - 1) == 0;
	return strlen(mt) == n && strncasecmp(s, mt, n) == 0;
}

/*
 * 1 if an Accept header value allows media type `mt`: a missing or empty
 * header allows everything, as do "*" + "/" + "*" and "type/" + "*" ranges;
 * entries with q=0 allow nothing.
 */
static int accept_allows(const char *accept, const char *mt)
{
	const char *p = accept;
	int entries = 0;

	if (!accept)
		return 1;
	while (*p) {
		const char *e = strchr(p, ','), *ts, *te, *semi;

		if (!e)
			e = p + strlen(p);
		ts = p;
		semi = memchr(p, ';', (size_t)(e - p));
		te = semi ? semi : e;
		trim(&ts, &te);
		if (te > ts) {
			entries++;
			if (accept_q(semi ? semi + 1 : e, e) > 0 && media_range_matches(ts, te, mt))
				return 1;
		}
		p = *e ? e + 1 : e;
	}
	return entries == 0;
}

/* The plain 404 MANIFEST_UNKNOWN (manifest_unknown below also checks the repository). */
static void manifest_missing(berth_op *op)
{
	berth_registry__error(op, 404, "MANIFEST_UNKNOWN", NULL, "manifest unknown to registry");
}

/* Classify op->ref as a digest or a tag. Returns 0, or -1 after answering. */
static int parse_reference(berth_op *op, const char *method)
{
	if (strchr(op->ref, ':')) {
		op->ref_is_digest = 1;
		return berth_registry__parse_digest(op, op->ref);
	}
	if (berth_ref_tag_valid(op->ref, strlen(op->ref)))
		return 0;
	if (strcmp(method, "PUT") == 0)
		berth_registry__error(op, 400, "TAG_INVALID", NULL, "invalid tag \"%.200s\"",
				      op->ref);
	else
		manifest_missing(op);
	return -1;
}

/* 404 for a manifest not found: NAME_UNKNOWN if the repository is unknown. */
static void manifest_unknown(berth_op *op)
{
	int rc = berth_meta_repo_exists(op->reg->meta, op->name);

	if (rc == BERTH_ENOTFOUND)
		berth_registry__error(op, 404, "NAME_UNKNOWN", NULL,
				      "repository name not known to registry");
	else
		manifest_missing(op);
}

static void manifest_get(berth_op *op, const berth_req *req)
{
	const char *reference = op->ref_is_digest ? op->digest.str : op->ref;
	berth_meta_manifest info;
	int rc;

	op->out.max = BERTH_MANIFEST_CEILING; /* capped on the way in */
	rc = berth_meta_manifest_get(op->reg->meta, op->name, reference, &info,
				     op->is_head ? NULL : &op->out);
	if (rc == BERTH_ENOTFOUND)
		RETURN_AFTER(manifest_unknown(op));
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	if (berth_registry__gate(op, &info))
		return;
	if (!op->ref_is_digest) {
		const char *accept = berth_registry__req_header(op, req, "Accept");

		if (!accept_allows(accept, info.media_type))
			RETURN_AFTER(berth_registry__error(op, 404, "MANIFEST_UNKNOWN", NULL,
							   "manifest of type %s found, but the "
							   "Accept header does not allow it",
							   info.media_type));
	}
	berth_registry__header(op, "Docker-Content-Digest", "%s", info.digest.str);
	berth_registry__header(op, "ETag", "\"%s\"", info.digest.str);
	berth_registry__body(op, 200, info.media_type);
	if (op->is_head) {
		op->resp.head = 1;
		op->resp.head_length = info.size;
	}
}

static int delete_once(berth_op *op)
{
	if (op->ref_is_digest)
		return berth_meta_manifest_delete(op->reg->meta, op->name, &op->digest);
	return berth_meta_tag_delete(op->reg->meta, op->name, op->ref);
}

static void manifest_delete(berth_op *op)
{
	int rc = delete_once(op);

	/* Out of room (a full disk): the reserve file makes some. */
	if (rc < 0 && rc != BERTH_ENOTFOUND && berth_registry__reserve_release(op->reg))
		rc = delete_once(op);
	if (rc >= 0)
		berth_registry__reserve_fill(op->reg);
	if (rc == BERTH_ENOTFOUND)
		RETURN_AFTER(manifest_unknown(op));
	if (rc < 0)
		RETURN_AFTER(berth_registry__internal(op));
	berth_registry__empty(op, 202);
}

static void manifest_too_big(berth_op *op)
{
	berth_registry__error(op, 413, "SIZE_INVALID", NULL,
			      "manifest exceeds the limit of %zu bytes",
			      op->reg->cfg.max_manifest_bytes);
}

static int manifest_body(berth_op *op, const char *data, size_t len)
{
	int rc = berth_buf_put(&op->in, data, len);

	if (rc == BERTH_ETOOBIG)
		manifest_too_big(op);
	else if (rc)
		berth_registry__internal(op);
	return rc;
}

/* Layers that are, by design, fetched from elsewhere need not be pushed. */
static int layer_is_foreign(const berth_descriptor *d)
{
	return d->media_type && (strstr(d->media_type, ".foreign.") != NULL ||
				 strstr(d->media_type, ".nondistributable.") != NULL);
}

/*
 * Check that everything `m` references is in the repository and collect the
 * digests into `refs` (pool memory). Returns 0, or -1 after answering.
 */
static int check_references(berth_op *op, const berth_manifest *m, berth_digest **refs,
			    size_t *nrefs)
{
	size_t n = m->kind == BERTH_OCI_INDEX ? m->nmanifests : m->nlayers + 1;
	berth_digest *r = berth_pool_alloc(&op->pool, (n ? n : 1) * sizeof(*r));
	const berth_descriptor *missing = NULL, *wrong = NULL;
	size_t k = 0;
	uint64_t size, wrong_size = 0;
	int rc = 0;

	if (!r) {
		berth_registry__error(op, 500, "UNKNOWN", NULL, "out of memory");
		return -1;
	}
	if (m->kind == BERTH_OCI_INDEX) {
		for (size_t i = 0; i < m->nmanifests && !missing && rc >= 0; i++) {
			berth_meta_manifest info;

			rc = berth_meta_manifest_get(op->reg->meta, op->name,
						     m->manifests[i].digest.str, &info, NULL);
			if (rc == BERTH_ENOTFOUND)
				missing = &m->manifests[i];
			else if (rc >= 0 && (uint64_t)m->manifests[i].size != info.size && !wrong)
				wrong = &m->manifests[i], wrong_size = info.size;
			else
				r[k++] = m->manifests[i].digest;
		}
	} else {
		for (size_t i = 0; i <= m->nlayers && !missing && rc >= 0; i++) {
			const berth_descriptor *d = i == 0 ? &m->config : &m->layers[i - 1];

			rc = berth_meta_blob_linked(op->reg->meta, op->name, &d->digest, &size);
			if (rc == BERTH_ENOTFOUND && i > 0 && layer_is_foreign(d))
				rc = 0;
			else if (rc == BERTH_ENOTFOUND)
				missing = d;
			else if (rc >= 0 && (uint64_t)d->size != size && !wrong)
				wrong = d, wrong_size = size;
			r[k++] = d->digest;
		}
	}
	if (missing) {
		char detail[BERTH_DIGEST_MAX + 16];

		snprintf(detail, sizeof(detail), "{\"digest\":\"%s\"}", missing->digest.str);
		berth_registry__error(op, 400, "MANIFEST_BLOB_UNKNOWN", detail,
				      "manifest references %s, unknown to the repository",
				      missing->digest.str);
		return -1;
	}
	if (wrong && rc >= 0) {
		char detail[BERTH_DIGEST_MAX + 16];

		/* A client trusting the descriptor would read past or short of the blob. */
		snprintf(detail, sizeof(detail), "{\"digest\":\"%s\"}", wrong->digest.str);
		berth_registry__error(op, 400, "MANIFEST_INVALID", detail,
				      "descriptor size %" PRId64 " of %s does not match the stored "
				      "size %" PRIu64,
				      wrong->size, wrong->digest.str, wrong_size);
		return -1;
	}
	if (rc < 0) {
		berth_registry__internal(op);
		return -1;
	}
	*refs = r;
	*nrefs = k;
	return 0;
}

static void manifest_put_finish(berth_op *op)
{
	berth_manifest *m = NULL;
	berth_meta_manifest_put p = {0};
	berth_digest digest, *refs = NULL;
	size_t nrefs = 0;
	int rc;

	rc = berth_manifest_parse(&m, op->in.ptr ? op->in.ptr : "", op->in.len, op->content_type);
	if (rc < 0) {
		berth_registry__error(op, 400, "MANIFEST_INVALID", NULL, "%s", berth_error_last());
		goto done;
	}
	rc = berth_digest_compute(&digest,
				  op->ref_is_digest ? op->digest.algo : BERTH_DIGEST_SHA256,
				  op->in.ptr, op->in.len);
	if (rc < 0) {
		berth_registry__internal(op);
		goto done;
	}
	if (op->ref_is_digest && !berth_digest_equal(&digest, &op->digest)) {
		berth_registry__error(op, 400, "DIGEST_INVALID", NULL,
				      "manifest content has digest %s, not %s", digest.str,
				      op->digest.str);
		goto done;
	}
	if (check_references(op, m, &refs, &nrefs))
		goto done;
	p.repo = op->name;
	p.digest = &digest;
	p.media_type = m->media_type;
	p.artifact_type = berth_manifest_referrer_type(m);
	p.annotations = m->annotations;
	p.body = op->in.ptr ? op->in.ptr : "";
	p.body_len = op->in.len;
	p.subject = m->subject ? &m->subject->digest : NULL;
	p.tag = op->ref_is_digest ? NULL : op->ref;
	p.refs = refs;
	p.nrefs = nrefs;
	rc = berth_meta_manifest_store(op->reg->meta, &p);
	if (rc < 0) {
		berth_registry__internal(op);
		goto done;
	}
	berth_registry__location(op, "/v2/%s/manifests/%s", op->name, digest.str);
	berth_registry__header(op, "Docker-Content-Digest", "%s", digest.str);
	if (m->subject)
		berth_registry__header(op, "OCI-Subject", "%s", m->subject->digest.str);
	berth_registry__empty(op, 201);
	/* A write went through: there may be room for the reserve again. */
	berth_registry__reserve_fill(op->reg);
done:
	berth_manifest_free(m);
}

static void manifest_put(berth_op *op, const berth_req *req)
{
	if (req->has_body_length && req->body_length > op->reg->cfg.max_manifest_bytes)
		RETURN_AFTER(manifest_too_big(op));
	op->content_type = berth_registry__req_header(op, req, "Content-Type");
	op->wants_body = 1;
	op->on_body = manifest_body;
	op->on_finish = manifest_put_finish;
}

void berth_registry__manifest(berth_op *op, const berth_req *req, const char *method)
{
	if (parse_reference(op, method))
		return;
	if (strcmp(method, "PUT") == 0)
		manifest_put(op, req);
	else if (strcmp(method, "DELETE") == 0)
		manifest_delete(op);
	else
		manifest_get(op, req);
}
