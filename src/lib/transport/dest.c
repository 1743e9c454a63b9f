/*
 * dest.c - the public berth_dest_* functions: open picks the driver for the
 * name's transport (internal.h), the rest dispatch through its table. The
 * driver's free learns whether the image was committed, so an uncommitted
 * destination removes what it wrote.
 */
#include "internal.h"

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
	case BERTH_TRANSPORT_DOCKER:
		rc = berth_transport__docker_dest(d, n, o);
		break;
	case BERTH_TRANSPORT_OCI:
		rc = berth_transport__oci_dest(d, n, o);
		break;
	case BERTH_TRANSPORT_OCI_ARCHIVE:
		rc = berth_transport__oci_archive_dest(d, n, o);
		break;
	case BERTH_TRANSPORT_DOCKER_ARCHIVE:
		rc = berth_transport__docker_archive_dest(d, n, o);
		break;
	default:
		rc = berth_error_set(BERTH_EINVALID, "unknown transport");
		break;
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
