/*
 * mediatype.c - the media types berth knows (include/berth/oci.h): which
 * are manifests, which are indexes, which are the unsupported Docker schema1
 * types, the RFC 6838 shape the image-spec requires of descriptor media
 * types, and recognition of HTTP Content-Type values (which may carry
 * parameters and differ in case) as one of those types.
 */
#include "berth/oci.h"

#include <string.h>
#include <strings.h>

/* Every media type berth_oci_content_type recognises, canonical spelling. */
static const char *const known_types[] = {
	BERTH_MT_OCI_MANIFEST, BERTH_MT_OCI_INDEX,	  BERTH_MT_DOCKER_MANIFEST,
	BERTH_MT_DOCKER_LIST,  BERTH_MT_DOCKER_V1_SIGNED, BERTH_MT_DOCKER_V1,
};

/* One side of a media type: restricted-name = first *126chars (RFC 6838 4.2). */
#define MT_PART_MAX 127

int berth_oci_is_manifest_type(const char *mt)
{
	return mt &&
	       (strcmp(mt, BERTH_MT_OCI_MANIFEST) == 0 || strcmp(mt, BERTH_MT_OCI_INDEX) == 0 ||
		strcmp(mt, BERTH_MT_DOCKER_MANIFEST) == 0 || strcmp(mt, BERTH_MT_DOCKER_LIST) == 0);
}

int berth_oci_is_index_type(const char *mt)
{
	return mt && (strcmp(mt, BERTH_MT_OCI_INDEX) == 0 || strcmp(mt, BERTH_MT_DOCKER_LIST) == 0);
}

int berth_oci_is_schema1_type(const char *mt)
{
	return mt &&
	       (strcmp(mt, BERTH_MT_DOCKER_V1) == 0 || strcmp(mt, BERTH_MT_DOCKER_V1_SIGNED) == 0);
}

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int is_name_char(char c)
{
	return is_alnum(c) || (c && strchr("!#$&^_.+-", c) != NULL);
}

/* Length of a valid restricted-name at `s`, or 0 if there is none. */
static size_t name_len(const char *s)
{
	size_t n = 0;

	if (!is_alnum(s[0]))
		return 0;
	while (is_name_char(s[n]))
		n++;
	return n <= MT_PART_MAX ? n : 0;
}

int berth_oci_media_type_valid(const char *mt)
{
	size_t n;

	if (!mt || !(n = name_len(mt)) || mt[n] != '/')
		return 0;
	mt += n + 1;
	if (!(n = name_len(mt)))
		return 0;
	return mt[n] == '\0';
}

const char *berth_oci_content_type(const char *ct)
{
	size_t n;

	if (!ct)
		return NULL;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	n = strcspn(ct, ";");
	while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
		n--;
	for (size_t i = 0; i < sizeof(known_types) / sizeof(known_types[0]); i++) {
		if (strlen(known_types[i]) == n && strncasecmp(ct, known_types[i], n) == 0)
			return known_types[i];
	}
	return NULL;
}
