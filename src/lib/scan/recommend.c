/*
 * recommend.c - the other tags of an image's base repository with their
 * vulnerability counts (`berth recommendations IMAGE`, Docker Scout's
 * verb). The base comes from the org.opencontainers.image.base.name
 * annotation the builder writes, or, given a repository, from the tag whose
 * layers are the longest prefix of the image's. Every tag is catalogued
 * (through the per-layer cache, so a shared base costs one read) and
 * matched against the database; the tags are then ranked best first.
 */
#include "internal.h"

#include "berth/client.h"
#include "berth/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the recommendation starts from: the repository and how the current base is known. */
typedef struct base {
	berth_ref *ref; /* domain and path; tag/digest from the annotation, if any */
	int by_annotation;
	char **tags;
	size_t ntags, max;
	size_t best_prefix; /* layers case: the longest prefix seen */
} base;

static const char *strip_docker(const char *s)
{
	return strncmp(s, "docker://", 9) == 0 ? s + 9 : s;
}

/* A base name of berth/transport.h's local transports (oci:, archives). */
static int local_transport(const char *s)
{
	static const char *const local[] = {"oci:", "oci-archive:", "docker-archive:"};

	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++)
		if (strncmp(s, local[i], strlen(local[i])) == 0)
			return 1;
	return 0;
}

/* The base repository: o->repository, else the image's base annotation. */
static int find_base(base *b, const berth_catalog *image, const berth_scan_recommend_options *o)
{
	berth_ref *ann = NULL;
	int rc;

	if (image->base_name && local_transport(image->base_name) && !o->repository)
		return berth_error_set(BERTH_EINVALID, "the base image %.200s is not in a registry",
				       image->base_name);
	if (image->base_name && !local_transport(image->base_name) &&
	    berth_ref_parse(&ann, strip_docker(image->base_name)) != 0)
		berth_error_clear(); /* an unreadable annotation is as good as none */
	if (!o->repository) {
		if (!ann)
			return berth_error_set(BERTH_ENOTFOUND,
					       "the image names no base image (no "
					       "org.opencontainers.image.base.name annotation); "
					       "give the base repository");
		b->ref = ann;
		b->by_annotation = 1;
		return 0;
	}
	if ((rc = berth_ref_parse(&b->ref, strip_docker(o->repository))) != 0) {
		berth_ref_free(ann);
		return rc;
	}
	/* The annotation still decides the current tag when it names this repository. */
	if (ann && strcmp(ann->domain, b->ref->domain) == 0 &&
	    strcmp(ann->path, b->ref->path) == 0) {
		berth_ref_free(b->ref);
		b->ref = ann;
		b->by_annotation = 1;
		return 0;
	}
	berth_ref_free(ann);
	return 0;
}

static int on_tag(void *ctx, const char *name)
{
	base *b = ctx;
	char **v;

	if (b->ntags == b->max)
		return 0;
	if (!(v = realloc(b->tags, (b->ntags + 1) * sizeof(*v))) || !(v[b->ntags] = strdup(name))) {
		if (v)
			b->tags = v;
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	b->tags = v;
	b->ntags++;
	return 0;
}

static int list_tags(base *b, const berth_scan_recommend_options *o)
{
	const berth_transport_options *t = o->catalog ? o->catalog->transport : NULL;
	berth_client_options co;
	berth_client *c = NULL;
	int rc;

	berth_client_options_init(&co);
	co.host = b->ref->domain;
	if (t) {
		co.tls_verify = t->tls_verify;
		co.username = t->username;
		co.password = t->password;
		co.auth_file = t->auth_file;
		co.cert_dir = t->cert_dir;
	}
	if ((rc = berth_client_new(&c, &co)) == 0)
		rc = berth_client_tags(c, b->ref->path, on_tag, b);
	berth_client_free(c);
	return rc;
}

static int warn(berth_scan_recommendations *r, const char *tag, const char *why)
{
	char *s = NULL, **v;

	if (r->nwarnings >= BERTH_CATALOG_WARNINGS_MAX)
		return 0;
	if (asprintf(&s, "%s: %s", tag, why) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!(v = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*v)))) {
		free(s);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	r->warnings = v;
	v[r->nwarnings++] = s;
	return 0;
}

/* How many bottom layers `tag` shares with the image: all of its own, or 0. */
static size_t layer_prefix(const berth_catalog *tag, const berth_catalog *image)
{
	if (!tag->nlayers || tag->nlayers > image->nlayers)
		return 0;
	for (size_t i = 0; i < tag->nlayers; i++)
		if (strcmp(tag->layers[i], image->layers[i]) != 0)
			return 0;
	return tag->nlayers;
}

/* Catalogue and match one tag; a tag that fails is a warning, not an error. */
static int examine(berth_scan_recommendations *r, base *b, const char *tag,
		   const berth_catalog *image, const berth_scan_recommend_options *o)
{
	berth_catalog *cat = NULL;
	berth_scan_report *rep = NULL;
	berth_scan_candidate *c;
	char *target = NULL;
	size_t prefix;
	int rc;

	if (asprintf(&target, "docker://%s/%s:%s", b->ref->domain, b->ref->path, tag) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (berth_catalog_scan(&cat, target, o->catalog) != 0 ||
	    berth_scan_match(&rep, cat, o->db) != 0) {
		/* berth_scan_match took cat */
		rc = warn(r, tag, berth_error_last());
		goto done;
	}
	c = &r->candidates[r->n];
	memset(c, 0, sizeof(*c));
	if (!(c->tag = strdup(tag)) ||
	    !(c->digest = strdup(rep->catalog->digest ? rep->catalog->digest : ""))) {
		free(c->tag);
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	r->n++;
	berth_scan_counts(rep, c->counts);
	c->packages = rep->catalog->npkgs;
	if (b->by_annotation) {
		c->current = (b->ref->tag && strcmp(b->ref->tag, tag) == 0) ||
			     (image->base_digest && strcmp(image->base_digest, c->digest) == 0);
	} else if ((prefix = layer_prefix(rep->catalog, image)) > b->best_prefix) {
		b->best_prefix = prefix;
		for (size_t i = 0; i + 1 < r->n; i++)
			r->candidates[i].current = 0;
		c->current = 1;
	}
	rc = 0;
done:
	berth_scan_report_free(rep);
	free(target);
	return rc;
}

static size_t total(const berth_scan_candidate *c)
{
	size_t n = 0;

	for (int s = 0; s < BERTH_SEV__COUNT; s++)
		n += c->counts[s];
	return n;
}

/* Best first: fewer findings of the highest severity first, then fewer in all, then name. */
static int cmp_candidate(const void *a, const void *b)
{
	const berth_scan_candidate *x = a, *y = b;

	for (int s = BERTH_SEV__COUNT - 1; s >= 0; s--)
		if (x->counts[s] != y->counts[s])
			return x->counts[s] < y->counts[s] ? -1 : 1;
	if (total(x) != total(y))
		return total(x) < total(y) ? -1 : 1;
	return strcmp(x->tag, y->tag);
}

static int start(berth_scan_recommendations **out, base *b, const berth_catalog *image)
{
	berth_scan_recommendations *r = calloc(1, sizeof(*r));

	*out = r;
	if (!r || !(r->image = strdup(image->target ? image->target : "")) ||
	    asprintf(&r->repository, "%s/%s", b->ref->domain, b->ref->path) < 0 ||
	    !(r->found_by = strdup(b->by_annotation ? "annotation" : "layers")) ||
	    !(r->candidates = calloc(b->ntags ? b->ntags : 1, sizeof(*r->candidates))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

int berth_scan_recommend(berth_scan_recommendations **out, const berth_catalog *image,
			 const berth_scan_recommend_options *o)
{
	berth_scan_recommendations *r = NULL;
	base b = {0};
	int rc;

	*out = NULL;
	b.max = o->max_tags && o->max_tags < BERTH_SCAN_TAGS_MAX ? o->max_tags
								 : BERTH_SCAN_TAGS_MAX;
	if ((rc = find_base(&b, image, o)) != 0 || (rc = list_tags(&b, o)) != 0 ||
	    (rc = start(&r, &b, image)) != 0)
		goto done;
	for (size_t i = 0; rc == 0 && i < b.ntags; i++)
		rc = examine(r, &b, b.tags[i], image, o);
	if (rc)
		goto done;
	if (!b.by_annotation && !b.best_prefix) {
		rc = berth_error_set(BERTH_ENOTFOUND,
				     "no tag of %s has layers the image starts with",
				     r->repository);
		goto done;
	}
	if (r->n)
		qsort(r->candidates, r->n, sizeof(*r->candidates), cmp_candidate);
	*out = r;
	/* now owned by the caller */ r = NULL;
done:
	berth_scan_recommendations_free(r);
	for (size_t i = 0; i < b.ntags; i++)
		free(b.tags[i]);
	free(b.tags);
	berth_ref_free(b.ref);
	return rc;
}

void berth_scan_recommendations_free(berth_scan_recommendations *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->candidates[i].tag);
		free(r->candidates[i].digest);
	}
	free(r->candidates);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->image);
	free(r->repository);
	free(r->found_by);
	free(r);
}

void berth_scan_counts(const berth_scan_report *r, size_t counts[BERTH_SEV__COUNT])
{
	memset(counts, 0, BERTH_SEV__COUNT * sizeof(counts[0]));
	for (size_t i = 0; i < r->n; i++)
		if (!r->findings[i].suppressed)
			counts[r->findings[i].severity]++;
}

/* ---- rendering ---- */

static int render_json(berth_buf *b, const berth_scan_recommendations *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:[]}", "image", r->image, "repository",
			      r->repository, "found_by", r->found_by, "tags");
	json_t *tags = json_object_get(o, "tags");
	char *s;
	int rc;

	for (size_t i = 0; o && i < r->n; i++) {
		const berth_scan_candidate *c = &r->candidates[i];
		json_t *t = json_pack("{s:s, s:s, s:b, s:I, s:I, s:{}}", "tag", c->tag, "digest",
				      c->digest, "current", c->current, "packages",
				      (json_int_t)c->packages, "total", (json_int_t)total(c),
				      "vulnerabilities");

		for (int v = BERTH_SEV__COUNT - 1; t && v >= 0; v--)
			json_object_set_new(json_object_get(t, "vulnerabilities"),
					    berth_scan_severity_name((berth_scan_severity)v),
					    json_integer((json_int_t)c->counts[v]));
		if (!t || json_array_append_new(tags, t) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	rc = s ? berth_buf_printf(b, "%s\n", s) : berth_error_set(BERTH_ERROR, "out of memory");
	free(s);
	json_decref(o);
	return rc;
}

static int render_table(berth_buf *b, const berth_scan_recommendations *r)
{
	int rc = berth_buf_printf(
		b, "%s\n  base repository %s (found by %s)\n\n%-24s %8s %8s %8s %8s %8s %8s\n",
		r->image, r->repository, r->found_by, "TAG", "CRITICAL", "HIGH", "MEDIUM", "LOW",
		"OTHER", "PACKAGES");

	for (size_t i = 0; rc == 0 && i < r->n; i++) {
		const berth_scan_candidate *c = &r->candidates[i];

		rc = berth_buf_printf(b, "%-24s %8zu %8zu %8zu %8zu %8zu %8zu%s\n", c->tag,
				      c->counts[BERTH_SEV_CRITICAL], c->counts[BERTH_SEV_HIGH],
				      c->counts[BERTH_SEV_MEDIUM], c->counts[BERTH_SEV_LOW],
				      c->counts[BERTH_SEV_NEGLIGIBLE] +
					      c->counts[BERTH_SEV_UNKNOWN],
				      c->packages, c->current ? "  (current base)" : "");
	}
	return rc;
}

int berth_scan_recommendations_render(char **out, size_t *len, const berth_scan_recommendations *r,
				      berth_scan_format format)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc;

	*out = NULL;
	*len = 0;
	if (format != BERTH_SCAN_TABLE && format != BERTH_SCAN_JSON)
		return berth_error_set(BERTH_EINVALID, "recommendations render table or json");
	rc = format == BERTH_SCAN_JSON ? render_json(&b, r) : render_table(&b, r);
	if (rc != 0) {
		berth_buf_dispose(&b);
		return rc;
	}
	*out = berth_buf_detach(&b, len);
	return *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}
