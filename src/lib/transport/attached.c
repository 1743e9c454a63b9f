/*
 * attached.c - `berth copy --with-signatures`: what cosign and OCI 1.1
 * clients attach to an image travels with it.
 *
 * After the copy engine wrote the image (or the index and its children),
 * each manifest written is a subject: its cosign tags "sha256-<hex>.sig",
 * ".att" and ".sbom" are copied under the same tags, and each of its OCI
 * 1.1 referrers (read through the referrers API, or the "sha256-<hex>" index
 * tag of the referrers tag schema when the source has no API) is copied by
 * digest, together with the referrers of that referrer (a signature on an
 * attestation), one level down. Each item is an ordinary copy of the
 * engine, so its blobs are skipped, mounted or streamed like the image's.
 *
 * A destination without the referrers API (Distribution 2.8) learns the
 * referrers through the tag schema: the descriptors are merged into its
 * "sha256-<hex>" index, as the distribution spec asks of clients that push
 * a manifest with a subject to such a registry.
 *
 * The image is committed first: signatures come after the image, as at
 * signing time. A failure here is reported; the image copy stands.
 */
#include "internal.h"

#include "berth/client.h"
#include "berth/oci.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REFERRER_DEPTH 1 /* referrers of referrers; deeper chains are not copied */
#define NAME_MAX_LEN 4096

static const char *const suffixes[] = {"sig", "att", "sbom"};

typedef struct att_ctx {
	const berth_image_name *src, *dst;
	const berth_transport_options *so, *dop;
	berth_copy_options inner; /* each item: as it is, no platform choice */
	berth_client *sc, *dc;
	atomic_int dst_api; /* the destination has the referrers API: -1 not known yet */
} att_ctx;

/* "sha256-<hex>" plus ".suffix" when given. */
static void schema_tag(char *out, size_t n, const berth_digest *subject, const char *suffix)
{
	snprintf(out, n, "%s-%s%s%s", berth_digest_algo_name(subject->algo),
		 berth_digest_hex(subject), suffix ? "." : "", suffix ? suffix : "");
}

/* Copy one item, named by tag or digest `reference` (a digest has a ':'), src to dst. */
static int copy_item(att_ctx *cx, const char *reference)
{
	const char *sep = strchr(reference, ':') ? "@" : ":";
	berth_image_name *s = NULL, *d = NULL;
	char spec[NAME_MAX_LEN];
	int rc;

	snprintf(spec, sizeof(spec), "docker://%s/%s%s%s", cx->src->ref->domain, cx->src->ref->path,
		 sep, reference);
	if ((rc = berth_image_name_parse(&s, spec)) < 0)
		goto done;
	snprintf(spec, sizeof(spec), "docker://%s/%s%s%s", cx->dst->ref->domain, cx->dst->ref->path,
		 sep, reference);
	if ((rc = berth_image_name_parse(&d, spec)) < 0)
		goto done;
	rc = berth_copy(s, cx->so, d, cx->dop, &cx->inner, NULL);
done:
	berth_image_name_free(s);
	berth_image_name_free(d);
	return rc;
}

/* The cosign tags of `subject` that the source has. */
static int copy_tags(att_ctx *cx, const berth_digest *subject)
{
	char tag[BERTH_DIGEST_MAX + 16];
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		schema_tag(tag, sizeof(tag), subject, suffixes[i]);
		rc = berth_client_manifest_head(cx->sc, cx->src->ref->path, tag, NULL, NULL, 0,
						NULL);
		if (rc == BERTH_ENOTFOUND) {
			berth_error_clear();
			rc = 0;
			continue;
		}
		if (rc == 0)
			rc = copy_item(cx, tag);
	}
	return rc;
}

/* A referrer, by digest, and the cosign tags of the first level's referrers. */
static int copy_referrer(void *ctx, const berth_digest *referrer, int depth)
{
	int rc = copy_item(ctx, referrer->str);

	return rc < 0 || depth >= REFERRER_DEPTH ? rc : copy_tags(ctx, referrer);
}

/* What is attached to `subject`: its cosign tags, its referrers and theirs. */
static int copy_for(att_ctx *cx, const berth_digest *subject)
{
	berth_client_referrers_walker w = {
		.src = cx->sc,
		.dst = cx->dc,
		.src_repo = cx->src->ref->path,
		.dst_repo = cx->dst->ref->path,
		.max_depth = REFERRER_DEPTH,
		.dst_api = &cx->dst_api,
		.visit = copy_referrer,
		.ctx = cx,
	};
	int rc = copy_tags(cx, subject);

	return rc < 0 ? rc : berth_client_referrers_walk(&w, subject);
}

/* The subjects: the manifest written and, for an index, each child it lists. */
static int subjects(att_ctx *cx, const berth_digest *top, berth_digest **out, size_t *n)
{
	berth_buf body = BERTH_BUF_INIT(0);
	json_t *doc = NULL, *m;
	size_t i;
	int rc = berth_client_manifest_get(cx->dc, cx->dst->ref->path, top->str, &body, NULL, 0,
					   NULL);

	*out = NULL;
	*n = 0;
	if (rc < 0)
		goto done;
	if (!(doc = json_loadb(body.ptr, body.len, 0, NULL))) {
		rc = berth_error_set(BERTH_EINVALID, "%s is not JSON", top->str);
		goto done;
	}
	*out = calloc(1 + json_array_size(json_object_get(doc, "manifests")), sizeof(**out));
	if (!*out) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	(*out)[(*n)++] = *top;
	json_array_foreach(json_object_get(doc, "manifests"), i, m)
	{
		const char *ds = json_string_value(json_object_get(m, "digest"));

		if (!ds || (rc = berth_digest_parse(&(*out)[*n], ds, strlen(ds))) < 0) {
			rc = berth_error_set(BERTH_EINVALID, "a child of %s without a valid digest",
					     top->str);
			goto done;
		}
		(*n)++;
	}
done:
	json_decref(doc);
	berth_buf_dispose(&body);
	return rc;
}

int berth_transport__copy_attached(const berth_image_name *src,
				   const berth_transport_options *src_opts,
				   const berth_image_name *dst,
				   const berth_transport_options *dst_opts,
				   const berth_copy_options *o, const berth_digest *subject)
{
	att_ctx cx = {.src = src, .dst = dst, .so = src_opts, .dop = dst_opts, .dst_api = -1};
	berth_digest *subs = NULL;
	size_t n = 0;
	int rc;

	berth_copy_options_init(&cx.inner);
	cx.inner.all = 1;
	cx.inner.parallel = o->parallel;
	cx.inner.retries = o->retries;
	cx.inner.progress = o->progress;
	cx.inner.progress_ctx = o->progress_ctx;
	if ((rc = berth_transport__docker_client(&cx.sc, src, src_opts)) < 0 ||
	    (rc = berth_transport__docker_client(&cx.dc, dst, dst_opts)) < 0 ||
	    (rc = subjects(&cx, subject, &subs, &n)) < 0)
		goto done;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = copy_for(&cx, &subs[i]);
done:
	free(subs);
	berth_client_free(cx.sc);
	berth_client_free(cx.dc);
	return rc;
}
