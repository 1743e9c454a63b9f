/*
 * docker.c - the docker:// transport: a registry as an image source and
 * destination, over berth/client.h.
 *
 * Source: manifests by the name's tag or digest (or a child's digest), with
 * the client's Accept list; blobs as streams fed (through an in-memory
 * ring) by a thread running berth_client_blob_get, which verifies digest and size as the
 * bytes pass (a mismatch is the stream's error at its end).
 *
 * Destination: HEAD for has_blob, cross-repository mount, push with the
 * bytes hashed and counted as they leave the stream (only counted when the
 * stream is a docker:// source's, already verified as it arrives): a
 * mismatch makes the source callback fail before the closing PUT, so the
 * upload is cancelled and nothing is committed. Manifests go by digest (children) or under the
 * name's tag (top level; by digest when the name has one). The tag PUT is
 * the last step of a copy, so commit has nothing left to do, and a
 * destination freed without commit leaves only unreferenced blobs, which
 * a registry never shows.
 */
#include "internal.h"

#include "berth/client.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	berth_client *client;
	char *repo;
	char *tag;    /* or NULL */
	char *digest; /* or NULL */
	int borrowed; /* the client is the options' */
} docker_impl;

static void impl_free(docker_impl *im)
{
	if (!im)
		return;
	if (!im->borrowed)
		berth_client_free(im->client);
	free(im->repo);
	free(im->tag);
	free(im->digest);
	free(im);
}

int berth_transport__docker_client(berth_client **out, const berth_image_name *n,
				   const berth_transport_options *o)
{
	berth_client_options co;

	*out = NULL;
	if (!n->ref || !n->ref->domain || !n->ref->path)
		return berth_error_set(BERTH_EINVALID, "docker:// needs host/repository[:tag]");
	berth_client_options_init(&co);
	co.host = n->ref->domain;
	if (o) {
		co.tls_verify = o->tls_verify;
		co.username = o->username;
		co.password = o->password;
		co.auth_file = o->auth_file;
		co.cert_dir = o->cert_dir;
		co.plain_http = o->plain_http;
	}
	return berth_client_new(out, &co);
}

static int impl_new(docker_impl **out, const berth_image_name *n, const berth_transport_options *o)
{
	docker_impl *im = NULL;
	int rc = 0;

	*out = NULL;
	if (!n->ref || !n->ref->domain || !n->ref->path)
		return berth_error_set(BERTH_EINVALID, "docker:// needs host/repository[:tag]");
	im = calloc(1, sizeof(*im));
	if (!im)
		return berth_error_set(BERTH_ERROR, "out of memory");
	im->repo = strdup(n->ref->path);
	im->tag = n->ref->tag ? strdup(n->ref->tag) : NULL;
	im->digest = n->ref->digest ? strdup(n->ref->digest) : NULL;
	if (!im->repo || (n->ref->tag && !im->tag) || (n->ref->digest && !im->digest)) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (o && o->client) {
		im->client = o->client;
		im->borrowed = 1;
	} else if ((rc = berth_transport__docker_client(&im->client, n, o)) < 0) {
		goto done;
	}
	*out = im;
	im = NULL;
done:
	impl_free(im);
	return rc;
}

/* The name's own reference: digest, else tag, else "latest". */
static const char *own_reference(const docker_impl *im)
{
	return im->digest ? im->digest : im->tag ? im->tag : "latest";
}

/* ---- source ---- */

static int src_manifest(berth_source *s, const berth_digest *d, berth_buf *body, char *media_type,
			size_t media_type_len, berth_digest *digest_out)
{
	docker_impl *im = s->impl;

	return berth_client_manifest_get(im->client, im->repo, d ? d->str : own_reference(im), body,
					 media_type, media_type_len, digest_out);
}

typedef struct {
	berth_client *client; /* borrowed from the source, which outlives its streams */
	char *repo;
	berth_digest digest;
	int64_t size;
} blob_job;

static void blob_job_free(void *ctx)
{
	blob_job *j = ctx;

	if (j) {
		free(j->repo);
		free(j);
	}
}

static int write_sink(void *ctx, const void *data, size_t len)
{
	return berth_chan_write(ctx, data, len);
}

static int produce_blob(void *ctx, berth_chan *ch)
{
	blob_job *j = ctx;

	return berth_client_blob_get(j->client, j->repo, &j->digest, j->size, write_sink, ch);
}

static int src_blob(berth_source *s, const berth_descriptor *desc, berth_stream **out)
{
	docker_impl *im = s->impl;
	blob_job *j;
	int rc;

	*out = NULL;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->repo = strdup(im->repo))) {
		blob_job_free(j);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	j->client = im->client;
	j->digest = desc->digest;
	j->size = desc->size;
	rc = berth_transport__stream_chan(out, produce_blob, j, blob_job_free, desc->size);
	if (rc)
		blob_job_free(j);
	else
		/* berth_client_blob_get fails the stream unless digest and size match. */
		(*out)->verified = 1;
	return rc;
}

static void src_free(berth_source *s)
{
	impl_free(s->impl);
	s->impl = NULL;
}

static const berth_source_driver docker_source_driver = {
	.manifest = src_manifest,
	.blob = src_blob,
	.free = src_free,
};

int berth_transport__docker_source(berth_source *s, const berth_image_name *n,
				   const berth_transport_options *o)
{
	docker_impl *im = NULL;
	int rc = impl_new(&im, n, o);

	if (rc)
		return rc;
	s->drv = &docker_source_driver;
	s->impl = im;
	return 0;
}

/* ---- destination ---- */

static int dst_has_blob(berth_dest *d, const berth_descriptor *desc)
{
	docker_impl *im = d->impl;
	uint64_t size = 0;
	int rc;

	rc = berth_client_blob_exists(im->client, im->repo, &desc->digest, &size);
	if (rc)
		return rc;
	/* A registry that reports another size does not hold this blob. */
	if (desc->size >= 0 && size && size != (uint64_t)desc->size)
		return berth_error_set(BERTH_ENOTFOUND,
				       "blob %s: the destination has it with another size",
				       desc->digest.str);
	return 0;
}

static int dst_mount_blob(berth_dest *d, const berth_descriptor *desc, const char *from_repo)
{
	docker_impl *im = d->impl;

	if (from_repo && strcmp(from_repo, im->repo) == 0)
		return berth_error_set(BERTH_ENOTFOUND, "mount from the same repository");
	return berth_client_blob_mount(im->client, im->repo, &desc->digest, from_repo);
}

typedef struct {
	berth_stream *in;
	berth_transport__check check; /* hashes only when the stream is not verified */
} push_ctx;

/*
 * Pull bytes from the stream, hashing them; at the end, check what passed.
 * A verified stream (see internal.h) is only counted: its end of stream
 * (a 0 from berth_stream_read) comes after its producer found the digest
 * and size right, and the push hands its last byte over only after that.
 */
static long push_source(void *ctx, void *buf, size_t cap)
{
	push_ctx *p = ctx;
	long n;
	int rc;

	n = berth_stream_read(p->in, buf, cap);
	if (n < 0)
		return n;
	rc = n > 0 ? berth_transport__check_update(&p->check, buf, (size_t)n)
		   : berth_transport__check_final(&p->check);
	return rc ? rc : n;
}

static int dst_put_blob(berth_dest *d, const berth_descriptor *desc, berth_stream *in)
{
	docker_impl *im = d->impl;
	push_ctx p = {.in = in};
	int rc;

	if (desc->size < 0)
		return berth_error_set(BERTH_EINVALID, "blob %s: size unknown", desc->digest.str);
	if ((rc = berth_transport__check_init(&p.check, desc, !in->verified)) != 0)
		return rc;
	rc = berth_client_blob_push(im->client, im->repo, &desc->digest, (uint64_t)desc->size,
				    push_source, &p, 0, 0);
	berth_transport__check_dispose(&p.check);
	return rc;
}

static int dst_put_manifest(berth_dest *d, const void *body, size_t len, const char *media_type,
			    const berth_digest *digest, int top_level)
{
	docker_impl *im = d->impl;
	const char *ref = digest->str;

	if (top_level) {
		if (im->digest && strcmp(im->digest, digest->str) != 0)
			return berth_error_set(
				BERTH_EDIGEST,
				"the destination names digest %s but the manifest is %s",
				im->digest, digest->str);
		ref = im->digest ? im->digest : im->tag ? im->tag : "latest";
	}
	return berth_client_manifest_put(im->client, im->repo, ref, media_type, body, len, NULL);
}

static int dst_commit(berth_dest *d)
{
	(void)d;
	return 0;
}

static void dst_free(berth_dest *d, int committed)
{
	(void)committed;
	impl_free(d->impl);
	d->impl = NULL;
}

static const berth_dest_driver docker_dest_driver = {
	.has_blob = dst_has_blob,
	.mount_blob = dst_mount_blob,
	.put_blob = dst_put_blob,
	.put_manifest = dst_put_manifest,
	.commit = dst_commit,
	.free = dst_free,
};

int berth_transport__docker_dest(berth_dest *d, const berth_image_name *n,
				 const berth_transport_options *o)
{
	docker_impl *im = NULL;
	int rc = impl_new(&im, n, o);

	if (rc)
		return rc;
	d->drv = &docker_dest_driver;
	d->impl = im;
	return 0;
}
