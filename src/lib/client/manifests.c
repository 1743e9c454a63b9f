/*
 * manifests.c - manifests and tags over the registry API:
 * GET/HEAD/PUT/DELETE /v2/<repo>/manifests/<reference> and
 * GET /v2/<repo>/tags/list with Link pagination.
 *
 * Manifest bytes are kept exactly as received (their digest is computed
 * from them); a GET is capped while it reads, so a huge manifest is refused
 * after max_manifest bytes, never buffered whole.
 */
#include "lib/client/internal.h"

#include "berth/ref.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAGS_PAGE_MAX (16 * 1024 * 1024)
#define TAGS_MAX_PAGES 10000

/* Content-Type without parameters into out. */
static void media_type_of(const char *ct, char *out, size_t outlen)
{
	size_t n = strcspn(ct, "; \t");

	if (!outlen)
		return;
	if (n >= outlen)
		n = outlen - 1;
	memcpy(out, ct, n);
	out[n] = '\0';
}

static int reference_is_digest(const char *reference, berth_digest *d)
{
	return strchr(reference, ':') && berth_digest_parse(d, reference, strlen(reference)) == 0;
}

static int check_reference(berth_client *c, const char *repo, const char *reference)
{
	if (!repo || !berth_ref_name_valid(repo, strlen(repo)))
		return berth_error_set(BERTH_EINVALID, "invalid repository name \"%.300s\"",
				       repo ? repo : "");
	if (!reference || !*reference || strlen(reference) > BERTH_DIGEST_MAX ||
	    strpbrk(reference, "/?#% \t\r\n"))
		return berth_error_set(BERTH_EINVALID, "invalid tag or digest \"%.200s\"",
				       reference ? reference : "");
	(void)c;
	return 0;
}

/*
 * Check `reference` and aim `r` at /v2/<repo>/manifests/<reference> with the
 * pull (or push) scope. *path and *scope are the caller's to free, also on
 * failure.
 */
static int manifest_target(berth_client *c, berth_client__req *r, const char *repo,
			   const char *reference, int push, char **path, char **scope)
{
	int rc = check_reference(c, repo, reference);

	if (rc)
		return rc;
	if (asprintf(path, "/v2/%s/manifests/%s", repo, reference) < 0) {
		*path = NULL;
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	if (!(*scope = berth_client__scope(repo, push)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	r->url = *path;
	r->scope = *scope;
	return 0;
}

int berth_client_manifest_get(berth_client *c, const char *repo, const char *reference,
			      berth_buf *body, char *media_type, size_t media_type_len,
			      berth_digest *digest)
{
	berth_buf tmp = BERTH_BUF_INIT(c->max_manifest);
	berth_client__req r;
	berth_digest want, got;
	char *path = NULL, *scope = NULL, what[600];
	int by_digest, rc;

	berth_client__req_init(&r, "GET", NULL);
	if ((rc = manifest_target(c, &r, repo, reference, 0, &path, &scope)) != 0)
		goto done;
	by_digest = reference_is_digest(reference, &want);
	snprintf(what, sizeof(what), "manifest %s%s%s", repo, by_digest ? "@" : ":", reference);
	r.accept = berth_client_manifest_accept;
	r.body_out = &tmp;
	r.body_what = "manifest";
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status != 200) {
		rc = berth_client__http_error(c, &r, what);
		goto done;
	}
	rc = berth_digest_compute(&got, by_digest ? want.algo : BERTH_DIGEST_SHA256,
				  tmp.ptr ? tmp.ptr : "", tmp.len);
	if (rc)
		goto done;
	if (by_digest && !berth_digest_equal(&want, &got)) {
		rc = berth_error_set(BERTH_EDIGEST,
				     "registry %s: %s: the bytes received have digest %s", c->host,
				     what, got.str);
		goto done;
	}
	if (media_type && media_type_len) {
		media_type_of(r.content_type_out, media_type, media_type_len);
		if (!media_type[0] || strcmp(media_type, "application/json") == 0) {
			/* No useful Content-Type: the manifest's own mediaType field. */
			json_t *root = json_loadb(tmp.ptr ? tmp.ptr : "", tmp.len, 0, NULL);
			const char *mt = json_string_value(json_object_get(root, "mediaType"));

			if (mt)
				snprintf(media_type, media_type_len, "%s", mt);
			json_decref(root);
		}
	}
	rc = berth_buf_put(body, tmp.ptr ? tmp.ptr : "", tmp.len);
	if (rc)
		goto done;
	if (digest)
		*digest = got;
done:
	free(path);
	free(scope);
	berth_buf_dispose(&tmp);
	berth_client__req_dispose(&r);
	return rc;
}

int berth_client_manifest_head(berth_client *c, const char *repo, const char *reference,
			       berth_digest *digest, char *media_type, size_t media_type_len,
			       uint64_t *size)
{
	berth_client__req r;
	char *path = NULL, *scope = NULL, what[600];
	berth_digest want;
	int rc;

	berth_client__req_init(&r, "HEAD", NULL);
	if ((rc = manifest_target(c, &r, repo, reference, 0, &path, &scope)) != 0)
		goto done;
	snprintf(what, sizeof(what), "manifest %s:%s", repo, reference);
	r.accept = berth_client_manifest_accept;
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status != 200) {
		rc = berth_client__http_error(c, &r, what);
		goto done;
	}
	if (digest) {
		if (r.digest[0]) {
			rc = berth_digest_parse(digest, r.digest, strlen(r.digest));
			if (rc) {
				rc = berth_error_set(
					BERTH_EINVALID,
					"registry %s: %s: malformed Docker-Content-Digest", c->host,
					what);
				goto done;
			}
		} else if (reference_is_digest(reference, &want)) {
			*digest = want;
		} else {
			rc = berth_error_set(
				BERTH_EUNSUPPORTED,
				"registry %s: %s: no Docker-Content-Digest in the answer", c->host,
				what);
			goto done;
		}
	}
	if (media_type && media_type_len)
		media_type_of(r.content_type_out, media_type, media_type_len);
	if (size)
		*size = r.content_length >= 0 ? (uint64_t)r.content_length : 0;
done:
	free(path);
	free(scope);
	berth_client__req_dispose(&r);
	return rc;
}

int berth_client_manifest_put(berth_client *c, const char *repo, const char *reference,
			      const char *media_type, const void *body, size_t len,
			      berth_digest *digest_out)
{
	berth_client__req r;
	char *path = NULL, *scope = NULL, what[600];
	int rc;

	berth_client__req_init(&r, "PUT", NULL);
	if ((rc = manifest_target(c, &r, repo, reference, 1, &path, &scope)) != 0)
		goto done;
	snprintf(what, sizeof(what), "PUT manifest %s:%s", repo, reference);
	r.content_type = media_type;
	r.body = body;
	r.body_len = len;
	r.has_body = 1;
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status != 201 && r.status != 200 && r.status != 202) {
		rc = berth_client__http_error(c, &r, what);
		goto done;
	}
	if (digest_out) {
		if (!r.digest[0] || berth_digest_parse(digest_out, r.digest, strlen(r.digest)))
			rc = berth_digest_compute(digest_out, BERTH_DIGEST_SHA256, body, len);
	}
done:
	free(path);
	free(scope);
	berth_client__req_dispose(&r);
	return rc;
}

int berth_client_manifest_delete(berth_client *c, const char *repo, const char *reference)
{
	berth_client__req r;
	char *path = NULL, *scope = NULL, what[600];
	int rc;

	berth_client__req_init(&r, "DELETE", NULL);
	if ((rc = manifest_target(c, &r, repo, reference, 1, &path, &scope)) != 0)
		goto done;
	snprintf(what, sizeof(what), "DELETE manifest %s:%s", repo, reference);
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (r.status != 202 && r.status != 200 && r.status != 204)
		rc = berth_client__http_error(c, &r, what);
done:
	free(path);
	free(scope);
	berth_client__req_dispose(&r);
	return rc;
}

/* The target of `Link: <url>; rel="next"`, malloc'd, or NULL. */
char *berth_client__next_link(const char *link)
{
	const char *lt = strchr(link, '<'), *gt;

	if (!lt || !(gt = strchr(lt, '>')) || !strstr(gt, "next"))
		return NULL;
	return strndup(lt + 1, (size_t)(gt - lt - 1));
}

int berth_client_tags(berth_client *c, const char *repo, berth_client_name_cb cb, void *ctx)
{
	berth_buf page = BERTH_BUF_INIT(TAGS_PAGE_MAX);
	berth_client__req r;
	char *url = NULL, *scope = NULL, *next, what[400];
	json_t *root = NULL, *tags, *t;
	size_t i, pages = 0;
	int rc;

	berth_client__req_init(&r, "GET", NULL);
	rc = check_reference(c, repo, "latest");
	if (rc)
		goto done;
	snprintf(what, sizeof(what), "tags of %s", repo);
	if (asprintf(&url, "/v2/%s/tags/list", repo) < 0 ||
	    !(scope = berth_client__scope(repo, 0))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	while (url) {
		if (++pages > TAGS_MAX_PAGES) {
			rc = berth_error_set(BERTH_ETOOBIG, "registry %s: too many pages of tags",
					     c->host);
			goto done;
		}
		berth_client__req_dispose(&r);
		berth_client__req_init(&r, "GET", url);
		berth_buf_reset(&page);
		r.scope = scope;
		r.body_out = &page;
		r.body_what = "tag list";
		rc = berth_client__do(c, &r);
		if (rc)
			goto done;
		if (r.status != 200) {
			rc = berth_client__http_error(c, &r, what);
			goto done;
		}
		root = json_loadb(page.ptr ? page.ptr : "", page.len, 0, NULL);
		tags = json_object_get(root, "tags");
		if (!root || (tags && !json_is_array(tags) && !json_is_null(tags))) {
			rc = berth_error_set(BERTH_EINVALID,
					     "registry %s: malformed tag list for %s", c->host,
					     repo);
			goto done;
		}
		json_array_foreach(tags, i, t)
		{
			if (!json_is_string(t))
				continue;
			rc = cb(ctx, json_string_value(t));
			if (rc)
				goto done;
		}
		json_decref(root);
		root = NULL;
		next = r.link[0] ? berth_client__next_link(r.link) : NULL;
		free(url);
		url = NULL;
		if (next) {
			url = berth_client__resolve(r.final_url, next);
			free(next);
			if (!url) {
				rc = berth_error_set(BERTH_EINVALID,
						     "registry %s: malformed Link header", c->host);
				goto done;
			}
		}
	}
done:
	json_decref(root);
	free(url);
	free(scope);
	berth_buf_dispose(&page);
	berth_client__req_dispose(&r);
	return rc;
}

int berth_client_referrers(berth_client *c, const char *repo, const berth_digest *subject,
			   const char *artifact_type, berth_buf *body)
{
	berth_buf tmp = BERTH_BUF_INIT(c->max_manifest);
	berth_client__req r;
	char *path = NULL, *scope = NULL, *esc = NULL, what[600];
	int rc;

	berth_client__req_init(&r, "GET", NULL);
	if ((rc = check_reference(c, repo, subject->str)) != 0)
		goto done;
	if (artifact_type && !(esc = curl_easy_escape(NULL, artifact_type, 0))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (asprintf(&path, "/v2/%s/referrers/%s%s%s", repo, subject->str,
		     esc ? "?artifactType=" : "", esc ? esc : "") < 0) {
		path = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (!(scope = berth_client__scope(repo, 0))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	snprintf(what, sizeof(what), "referrers of %s@%s", repo, subject->str);
	r.url = path;
	r.scope = scope;
	r.accept = "application/vnd.oci.image.index.v1+json";
	r.body_out = &tmp;
	r.body_what = "referrers index";
	if ((rc = berth_client__do(c, &r)) != 0)
		goto done;
	if (r.status != 200) {
		rc = berth_client__http_error(c, &r, what);
		goto done;
	}
	rc = berth_buf_put(body, tmp.ptr ? tmp.ptr : "", tmp.len);
done:
	curl_free(esc);
	free(path);
	free(scope);
	berth_buf_dispose(&tmp);
	berth_client__req_dispose(&r);
	return rc;
}

/* "<algo>-<hex>", the referrers tag schema's tag of `subject`. */
static void referrers_tag(char *out, size_t n, const berth_digest *subject)
{
	snprintf(out, n, "%s-%s", berth_digest_algo_name(subject->algo), berth_digest_hex(subject));
}

/* 0 when `body` is a JSON object with a manifests array; *out (may be NULL) gets it. */
static int referrers_check(const berth_buf *body, const char *repo, const berth_digest *subject,
			   json_t **out)
{
	json_t *doc = json_loadb(body->ptr, body->len, 0, NULL);
	int rc = 0;

	if (!doc)
		rc = berth_error_set(BERTH_EINVALID, "the referrers index of %s in %s is not JSON",
				     subject->str, repo);
	else if (!json_is_array(json_object_get(doc, "manifests")))
		rc = berth_error_set(BERTH_EINVALID,
				     "the referrers index of %s in %s has no manifests list",
				     subject->str, repo);
	if (rc == 0 && out) {
		*out = doc; /* now owned by the caller */
		doc = NULL;
	}
	json_decref(doc);
	return rc;
}

int berth_client_referrers_index(berth_client *c, const char *repo, const berth_digest *subject,
				 berth_buf *body, int *api)
{
	return berth_client__referrers_index(c, repo, subject, body, api, NULL);
}

int berth_client__referrers_index(berth_client *c, const char *repo, const berth_digest *subject,
				  berth_buf *body, int *api, json_t **doc)
{
	char tag[BERTH_DIGEST_MAX + 16];
	int rc;

	if (doc)
		*doc = NULL;
	berth_buf_reset(body);
	rc = berth_client_referrers(c, repo, subject, NULL, body);
	if (api)
		*api = rc != BERTH_ENOTFOUND;
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		referrers_tag(tag, sizeof(tag), subject);
		rc = berth_client_manifest_get(c, repo, tag, body, NULL, 0, NULL);
		if (rc == BERTH_ENOTFOUND) {
			berth_error_clear();
			rc = 0;
		}
	}
	if (rc == 0 && body->len && (rc = referrers_check(body, repo, subject, doc)) < 0)
		berth_buf_reset(body);
	return rc;
}

int berth_client_referrers_api(berth_client *c, const char *repo, const berth_digest *subject)
{
	berth_buf probe = BERTH_BUF_INIT(0);
	int rc = berth_client_referrers(c, repo, subject, NULL, &probe);

	berth_buf_dispose(&probe);
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		return 0;
	}
	return rc < 0 ? rc : 1;
}

int berth_client_is_referrers_tag(const char *tag)
{
	char s[BERTH_DIGEST_MAX + 16];
	const char *dash = strchr(tag, '-');
	berth_digest d;

	if (!dash || strlen(tag) >= sizeof(s))
		return 0;
	snprintf(s, sizeof(s), "%.*s:%s", (int)(dash - tag), tag, dash + 1);
	return berth_digest_parse(&d, s, strlen(s)) == 0;
}

/* 1 if index `idx` lists `digest`. */
static int index_has(json_t *idx, const char *digest)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(idx, "manifests"), i, m)
	{
		const char *d = json_string_value(json_object_get(m, "digest"));

		if (d && strcmp(d, digest) == 0)
			return 1;
	}
	return 0;
}

int berth_client_referrers_tag_merge(berth_client *c, const char *repo, const berth_digest *subject,
				     const void *refs, size_t len)
{
	berth_buf body = BERTH_BUF_INIT(0);
	char tag[BERTH_DIGEST_MAX + 16], *text = NULL;
	json_t *add = json_loadb(refs, len, 0, NULL), *idx = NULL, *m;
	size_t i, added = 0;
	int rc = 0;

	if (!json_is_array(json_object_get(add, "manifests"))) {
		rc = berth_error_set(BERTH_EINVALID, "the referrers of %s in %s: not an index",
				     subject->str, repo);
		goto done;
	}
	referrers_tag(tag, sizeof(tag), subject);
	rc = berth_client_manifest_get(c, repo, tag, &body, NULL, 0, NULL);
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		rc = 0;
		idx = json_pack("{s:i,s:s,s:[]}", "schemaVersion", 2, "mediaType",
				BERTH_MT_OCI_INDEX, "manifests");
	} else if (rc == 0) {
		/* json_is_array evaluates its argument twice: load first. */
		idx = json_loadb(body.ptr, body.len, 0, NULL);
		if (!json_is_array(json_object_get(idx, "manifests")))
			rc = berth_error_set(BERTH_EINVALID, "%s:%s is not a referrers index", repo,
					     tag);
	}
	if (rc < 0)
		goto done;
	if (!idx) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	json_array_foreach(json_object_get(add, "manifests"), i, m)
	{
		const char *d = json_string_value(json_object_get(m, "digest"));

		if (d && !index_has(idx, d) &&
		    json_array_append(json_object_get(idx, "manifests"), m) == 0)
			added++;
	}
	if (added == 0)
		goto done;
	if (!(text = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_client_manifest_put(c, repo, tag, BERTH_MT_OCI_INDEX, text, strlen(text), NULL);
done:
	free(text);
	json_decref(add);
	json_decref(idx);
	berth_buf_dispose(&body);
	return rc;
}

int berth_client_names_add(void *ctx, const char *name)
{
	berth_client_names *l = ctx;
	size_t max = l->max ? l->max : BERTH_CLIENT_NAMES_MAX;

	if (l->n >= max)
		return berth_error_set(BERTH_ETOOBIG, "more than %zu names", max);
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return berth_error_set(BERTH_ERROR, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(name)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	l->n++;
	return 0;
}

int berth_client_names_has(const berth_client_names *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return 1;
	return 0;
}

void berth_client_names_dispose(berth_client_names *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

int berth_client_tag_list(berth_client *c, const char *repo, berth_client_names *out)
{
	int rc = berth_client_tags(c, repo, berth_client_names_add, out);

	if (rc == BERTH_ETOOBIG && out->n >= (out->max ? out->max : BERTH_CLIENT_NAMES_MAX))
		return berth_error_set(rc, "registry %s: %s lists more than %zu tags", c->host,
				       repo, out->n);
	return rc;
}
