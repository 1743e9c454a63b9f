/*
 * dest.c - the public berth_dest_* functions: open picks the driver for the
 * name's transport (internal.h), the rest dispatch through its table. The
 * driver's free learns whether the image was committed, so an uncommitted
 * destination removes what it wrote.
 */
#include "internal.h"

#include <inttypes.h>
#include <stdlib.h>

int berth_dest_open(berth_dest **out, const berth_image_name *n, const berth_transport_options *o)
{
	berth_transport_options defaults;
	berth_dest *d = NULL;
	int rc;

	*out = NULL;
	if (!o) {
		berth_transport_options_init(&defaults);
		o = &defaults;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return berth_error_set(BERTH_ERROR, "out of memory");
	switch (n->kind) {
	case BERTH_TRANSPORT_DOCKER: rc = berth_transport__docker_dest(d, n, o); break;
	case BERTH_TRANSPORT_OCI: rc = berth_transport__oci_dest(d, n, o); break;
	case BERTH_TRANSPORT_OCI_ARCHIVE: rc = berth_transport__oci_archive_dest(d, n, o); break;
	case BERTH_TRANSPORT_DOCKER_ARCHIVE:
		rc = berth_transport__docker_archive_dest(d, n, o);
		break;
	default: rc = berth_error_set(BERTH_EINVALID, "unknown transport"); break;
	}
	if (rc) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int berth_dest_has_blob(berth_dest *d, const berth_descriptor *desc)
{
	return d->drv->has_blob(d, desc);
}

int berth_dest_mount_blob(berth_dest *d, const berth_descriptor *desc, const char *from_repo)
{
	if (!d->drv->mount_blob)
		return berth_error_set(BERTH_ENOTFOUND, "this destination cannot mount blobs");
	return d->drv->mount_blob(d, desc, from_repo);
}

int berth_dest_put_blob(berth_dest *d, const berth_descriptor *desc, berth_stream *in)
{
	return d->drv->put_blob(d, desc, in);
}

int berth_dest_put_manifest(berth_dest *d, const void *body, size_t len, const char *media_type,
			    const berth_digest *digest, int top_level)
{
	return d->drv->put_manifest(d, body, len, media_type, digest, top_level);
}

int berth_dest_commit(berth_dest *d)
{
	int rc;

	if (d->committed)
		return 0;
	rc = d->drv->commit(d);
	if (rc == 0)
		d->committed = 1;
	return rc;
}

void berth_dest_free(berth_dest *d)
{
	if (!d)
		return;
	if (d->drv && d->drv->free)
		d->drv->free(d, d->committed);
	free(d);
}

int berth_transport__check_init(berth_transport__check *c, const berth_descriptor *desc, int hash)
{
	c->desc = desc;
	c->h = NULL;
	c->count = 0;
	return hash ? berth_hasher_new(&c->h, desc->digest.algo) : 0;
}

int berth_transport__check_update(berth_transport__check *c, const void *data, size_t n)
{
	c->count += n;
	if (c->desc->size >= 0 && c->count > (uint64_t)c->desc->size)
		return berth_error_set(BERTH_ESIZE,
				       "blob %s: more than the %" PRId64 " bytes expected",
				       c->desc->digest.str, c->desc->size);
	return c->h ? berth_hasher_update(c->h, data, n) : 0;
}

int berth_transport__check_final(berth_transport__check *c)
{
	berth_digest got;
	int rc;

	if (c->desc->size >= 0 && c->count != (uint64_t)c->desc->size)
		return berth_error_set(BERTH_ESIZE,
				       "blob %s: got %" PRIu64 " bytes, expected %" PRId64,
				       c->desc->digest.str, c->count, c->desc->size);
	if (!c->h)
		return 0;
	if ((rc = berth_hasher_final(c->h, &got)) != 0)
		return rc;
	if (!berth_digest_equal(&got, &c->desc->digest))
		return berth_error_set(BERTH_EDIGEST, "blob %s: content has digest %s",
				       c->desc->digest.str, got.str);
	return 0;
}

void berth_transport__check_dispose(berth_transport__check *c)
{
	berth_hasher_free(c->h);
	c->h = NULL;
}
