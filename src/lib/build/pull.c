/*
 * pull.c - the images a build reads by reference (FROM, COPY --from=IMAGE,
 * RUN --mount=from=IMAGE), one way for all three: a named context's image
 * (--build-context NAME=docker-image://REF | oci-layout://DIR), else the
 * registry reference rewritten as registries.conf says (its mirrors, then
 * its location; an insecure place without TLS verification), copied into
 * the store's layout once (berth_build_image_from; --pull refreshes).
 */
#include "lib/build/internal.h"
#include "berth/ref.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

int berth_build__endpoints(build_solver *sv, const char *what, char **ref,
			   berth_registry_endpoint **ep, size_t *nep)
{
	berth_image_name *n = NULL;
	berth_buf spec = BERTH_BUF_INIT(0);
	int rc;

	*ref = NULL;
	*ep = NULL;
	*nep = 0;
	if ((rc = berth_buf_printf(&spec, "docker://%s", what)) < 0 ||
	    (rc = berth_image_name_parse(&n, spec.ptr)) < 0)
		goto done;
	if (!(*ref = berth_ref_format(n->ref))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = berth_registries_resolve(sv->o->registries, *ref, ep, nep)) < 0) {
		free(*ref);
		*ref = NULL;
	}
done:
	berth_image_name_free(n);
	berth_buf_dispose(&spec);
	return rc;
}

/* From the registry: each endpoint registries.conf gives for ref, in order. */
static int pull_registry(build_solver *sv, const char *what, const char *platform, unsigned flags,
			 berth_build_image **out)
{
	berth_registry_endpoint *ep = NULL;
	berth_buf spec = BERTH_BUF_INIT(0);
	char *ref = NULL;
	size_t nep = 0;
	int rc;

	if ((rc = berth_build__endpoints(sv, what, &ref, &ep, &nep)) < 0)
		goto done;
	rc = BERTH_ENOTFOUND;
	for (size_t i = 0; i < nep && rc < 0; i++) {
		berth_transport_options to;
		berth_image_name *en = NULL;

		if (sv->o->registry)
			to = *sv->o->registry;
		else
			berth_transport_options_init(&to);
		if (strcmp(ep[i].ref, ref) != 0)
			berth_build__log(sv, "#  %s: from %s%s", what, ep[i].ref,
					 ep[i].mirror ? " (mirror)" : "");
		if (ep[i].insecure)
			to.tls_verify = 0;
		berth_buf_reset(&spec);
		if ((rc = berth_buf_printf(&spec, "docker://%s", ep[i].ref)) < 0 ||
		    (rc = berth_image_name_parse(&en, spec.ptr)) < 0)
			break;
		rc = berth_build_image_from(out, sv->store, en, &to, platform, flags);
		berth_image_name_free(en);
	}
	/* As BuildKit: the name as the Dockerfile wrote it, normalised, without transport. */
	if (rc == 0) {
		free((*out)->base_name);
		(*out)->base_name = ref;
		ref = NULL;
	}
done:
	berth_registries_endpoints_free(ep, nep);
	berth_buf_dispose(&spec);
	free(ref);
	return rc;
}

int berth_build__pull(build_solver *sv, const char *what, const char *platform, int unpack,
		      berth_build_image **out)
{
	unsigned flags = (sv->o->pull ? BERTH_BUILD_FROM_REFRESH : 0) |
			 (unpack ? BERTH_BUILD_FROM_UNPACK : 0);
	char named[PATH_MAX + 64];
	int rc;

	*out = NULL;
	/* One pull at a time: two stages on one image must not copy it twice at once. */
	pthread_mutex_lock(&sv->pull_mu);
	if (berth_build__named_context(sv, what, named, sizeof(named))) {
		berth_image_name *n = NULL;

		if (!named[0])
			rc = berth_error_set(BERTH_EUNSUPPORTED,
					     "--build-context %s is a directory, not an image "
					     "(docker-image:// or oci-layout://)",
					     what);
		else if ((rc = berth_image_name_parse(&n, named)) == 0)
			rc = berth_build_image_from(out, sv->store, n, sv->o->registry, platform,
						    flags);
		berth_image_name_free(n);
	} else {
		rc = pull_registry(sv, what, platform, flags, out);
	}
	pthread_mutex_unlock(&sv->pull_mu);
	return rc;
}
