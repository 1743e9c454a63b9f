/*
 * name.c - image names "transport:details" as skopeo (containers/image)
 * spells and reads them, and the transport options' defaults.
 *
 *   docker://REF                  REF per berth/ref.h ("docker:REF" is refused)
 *   oci:PATH[:IMAGE]              split at the FIRST ':' as containers/image
 *   oci-archive:FILE[:IMAGE]      does on Unix: a path cannot contain ':'
 *                                 there, and IMAGE (the ref.name annotation)
 *                                 may itself contain ':' ("oci:d:a:b" names
 *                                 image "a:b" in directory "d").
 *   docker-archive:FILE[:NAME[:TAG]|:@N]
 *                                 split at the first ':'; NAME is a docker
 *                                 reference (normalised, tag "latest" if
 *                                 none, digests refused), @N a 0-based index
 *                                 into manifest.json.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNKNOWN_HINT "(use docker://, oci:, oci-archive: or docker-archive:)"

void berth_transport_options_init(berth_transport_options *o)
{
	memset(o, 0, sizeof(*o));
	o->tls_verify = 1;
}

void berth_image_name_free(berth_image_name *n)
{
	if (!n)
		return;
	berth_ref_free(n->ref);
	free(n->path);
	free(n->tag);
	free(n);
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * containers/image's rule for the IMAGE part of oci: names (the
 * org.opencontainers.image.ref.name grammar):
 *   component ::= alnum+ (sep alnum+)*   sep ::= [-._:@+] | "--"
 *   image     ::= component ("/" component)*
 */
static int oci_image_valid(const char *s)
{
	const char *p = s;

	for (;;) {
		/* one component */
		if (!is_alnum(*p))
			return 0;
		while (is_alnum(*p))
			p++;
		while (*p && *p != '/') {
			if (p[0] == '-' && p[1] == '-')
				p += 2;
			else if (strchr("-._:@+", *p))
				p++;
			else
				return 0;
			if (!is_alnum(*p))
				return 0;
			while (is_alnum(*p))
				p++;
		}
		if (!*p)
			return 1;
		p++; /* '/' */
	}
}

static int parse_oci(berth_image_name *n, const char *kind, const char *rest)
{
	const char *colon = strchr(rest, ':');
	size_t plen = colon ? (size_t)(colon - rest) : strlen(rest);

	if (plen == 0)
		return berth_error_set(BERTH_EINVALID, "%s: missing path (use %s:PATH[:TAG])", kind,
				       kind);
	n->path = strndup(rest, plen);
	if (!n->path)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (colon && colon[1]) {
		if (strlen(colon + 1) > 1024 || !oci_image_valid(colon + 1))
			return berth_error_set(BERTH_EINVALID, "%s:%s: invalid image name '%s'",
					       kind, n->path, colon + 1);
		n->tag = strdup(colon + 1);
		if (!n->tag)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

static int parse_docker_archive(berth_image_name *n, const char *rest)
{
	const char *colon = strchr(rest, ':');
	size_t plen = colon ? (size_t)(colon - rest) : strlen(rest);
	const char *spec = colon ? colon + 1 : NULL;
	int rc;

	if (plen == 0)
		return berth_error_set(
			BERTH_EINVALID,
			"docker-archive: missing path (use docker-archive:FILE[:NAME:TAG])");
	n->path = strndup(rest, plen);
	if (!n->path)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!spec || !*spec)
		return 0;
	if (spec[0] == '@') {
		char *end = NULL;
		long v;

		errno = 0;
		v = strtol(spec + 1, &end, 10);
		if (!spec[1] || *end || errno || v < 0 || v > 1000000 ||
		    !(spec[1] >= '0' && spec[1] <= '9'))
			return berth_error_set(
				BERTH_EINVALID,
				"docker-archive: invalid image index '%s' (use :@N, N >= 0)", spec);
		n->index = (int)v;
		return 0;
	}
	rc = berth_ref_parse(&n->ref, spec);
	if (rc)
		return rc;
	if (n->ref->digest)
		return berth_error_set(
			BERTH_EINVALID,
			"docker-archive: reference '%s' has a digest; a tag is needed", spec);
	if (!n->ref->tag && !(n->ref->tag = strdup("latest")))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

int berth_image_name_parse(berth_image_name **out, const char *s)
{
	berth_image_name *n = NULL;
	const char *colon;
	size_t tlen;
	int rc = 0;

	*out = NULL;
	if (!s || !*s)
		return berth_error_set(BERTH_EINVALID, "empty image name " UNKNOWN_HINT);
	colon = strchr(s, ':');
	if (!colon)
		return berth_error_set(BERTH_EINVALID,
				       "invalid image name '%s': no transport " UNKNOWN_HINT, s);
	tlen = (size_t)(colon - s);
	n = calloc(1, sizeof(*n));
	if (!n)
		return berth_error_set(BERTH_ERROR, "out of memory");
	n->index = -1;
	if (tlen == 6 && !memcmp(s, "docker", 6)) {
		n->kind = BERTH_TRANSPORT_DOCKER;
		if (strncmp(colon + 1, "//", 2) != 0) {
			rc = berth_error_set(BERTH_EINVALID,
					     "invalid image name '%s': use docker://REFERENCE", s);
			goto done;
		}
		rc = berth_ref_parse(&n->ref, colon + 3);
		if (rc == 0 && n->ref->tag && n->ref->digest)
			rc = berth_error_set(BERTH_EINVALID,
					     "docker://%s: references with both a tag and a digest "
					     "are not supported",
					     colon + 3);
	} else if (tlen == 3 && !memcmp(s, "oci", 3)) {
		n->kind = BERTH_TRANSPORT_OCI;
		rc = parse_oci(n, "oci", colon + 1);
	} else if (tlen == 11 && !memcmp(s, "oci-archive", 11)) {
		n->kind = BERTH_TRANSPORT_OCI_ARCHIVE;
		rc = parse_oci(n, "oci-archive", colon + 1);
	} else if (tlen == 14 && !memcmp(s, "docker-archive", 14)) {
		n->kind = BERTH_TRANSPORT_DOCKER_ARCHIVE;
		rc = parse_docker_archive(n, colon + 1);
	} else {
		rc = berth_error_set(BERTH_EINVALID, "unknown transport '%.*s' " UNKNOWN_HINT,
				     (int)(tlen > 64 ? 64 : tlen), s);
	}
done:
	if (rc) {
		berth_image_name_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

char *berth_image_name_format(const berth_image_name *n)
{
	char *ref = NULL, *out = NULL;
	int r = -1;

	switch (n->kind) {
	case BERTH_TRANSPORT_DOCKER:
		ref = berth_ref_format(n->ref);
		if (ref)
			r = asprintf(&out, "docker://%s", ref);
		break;
	case BERTH_TRANSPORT_OCI:
	case BERTH_TRANSPORT_OCI_ARCHIVE:
		r = asprintf(&out, "%s:%s%s%s",
			     n->kind == BERTH_TRANSPORT_OCI ? "oci" : "oci-archive", n->path,
			     n->tag ? ":" : "", n->tag ? n->tag : "");
		break;
	case BERTH_TRANSPORT_DOCKER_ARCHIVE:
		if (n->ref) {
			ref = berth_ref_format(n->ref);
			if (ref)
				r = asprintf(&out, "docker-archive:%s:%s", n->path, ref);
		} else if (n->index >= 0) {
			r = asprintf(&out, "docker-archive:%s:@%d", n->path, n->index);
		} else {
			r = asprintf(&out, "docker-archive:%s", n->path);
		}
		break;
	}
	free(ref);
	return r < 0 ? NULL : out;
}
