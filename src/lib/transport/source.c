/*
 * source.c - the public berth_source_* functions: open picks the driver for
 * the name's transport (internal.h), the rest dispatch through its table.
 */
#include "internal.h"

#include <stdlib.h>

int berth_source_open(berth_source **out, const berth_image_name *n,
		      const berth_transport_options *o)
{
	berth_transport_options defaults;
	berth_source *s = NULL;
	int rc;

	*out = NULL;
	if (!o) {
		berth_transport_options_init(&defaults);
		o = &defaults;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return berth_error_set(BERTH_ERROR, "out of memory");
	switch (n->kind) {
	case BERTH_TRANSPORT_DOCKER: rc = berth_transport__docker_source(s, n, o); break;
	case BERTH_TRANSPORT_OCI: rc = berth_transport__oci_source(s, n, o); break;
	case BERTH_TRANSPORT_OCI_ARCHIVE: rc = berth_transport__oci_archive_source(s, n, o); break;
	case BERTH_TRANSPORT_DOCKER_ARCHIVE:
		rc = berth_transport__docker_archive_source(s, n, o);
		break;
	default: rc = berth_error_set(BERTH_EINVALID, "unknown transport"); break;
	}
	if (rc) {
		/* A constructor that failed has released what it built. */
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int berth_source_manifest(berth_source *s, const berth_digest *d, berth_buf *body, char *media_type,
			  size_t media_type_len, berth_digest *digest_out)
{
	return s->drv->manifest(s, d, body, media_type, media_type_len, digest_out);
}

int berth_source_blob(berth_source *s, const berth_descriptor *desc, berth_stream **out)
{
	*out = NULL;
	return s->drv->blob(s, desc, out);
}

void berth_source_free(berth_source *s)
{
	if (!s)
		return;
	if (s->drv && s->drv->free)
		s->drv->free(s);
	free(s);
}
