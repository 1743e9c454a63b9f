/*
 * ref.c - repository names, tags and image references (include/berth/ref.h).
 *
 * The registry uses berth_ref_name_valid / berth_ref_tag_valid on every
 * request path, and the CLI uses berth_ref_parse for user-typed references
 * such as "alpine", "localhost:5000/team/app:1.0" or
 * "[::1]:5000/x@sha256:...". Parsing follows Docker's normalisation
 * (distribution/reference ParseNormalizedNamed): the first path component is
 * a domain if it contains '.' or ':', is "localhost", or has uppercase
 * letters; otherwise the domain is docker.io and a single-component path gets
 * "library/". The grammars are hand-written scanners (no regex engine) and
 * every input is length-capped before it is looked at.
 */
#include "berth/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest reference string considered at all: domain + path + tag + digest. */
#define REF_INPUT_MAX 2048
/* Longest domain[:port] accepted. */

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DOMAIN "index.docker.io"
#define OFFICIAL_PREFIX "library/"

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int berth_ref_name_valid(const char *name, size_t len)
{
	/*
	 * Components are [a-z0-9]+; between two runs of [a-z0-9] there is
	 * exactly one separator: '/', '.', '_', '__' or '-'+. So a separator
	 * may only follow an alnum and must be followed by one.
	 */
	int need_alnum = 1;
	size_t i = 0;

	if (!name || len == 0 || len > BERTH_NAME_MAX)
		return 0;
	while (i < len) {
		char c = name[i];

		if (is_lower_alnum(c)) {
			need_alnum = 0;
			i++;
			continue;
		}
		if (need_alnum)
			return 0;
		if (c == '/' || c == '.') {
			i++;
		} else if (c == '_') {
			i++;
			if (i < len && name[i] == '_')
				i++;
		} else if (c == '-') {
			while (i < len && name[i] == '-')
				i++;
		} else {
			return 0;
		}
		need_alnum = 1;
	}
	return !need_alnum;
}

int berth_ref_tag_valid(const char *tag, size_t len)
{
	if (!tag || len == 0 || len > BERTH_TAG_MAX)
		return 0;
	if (!is_alnum(tag[0]) && tag[0] != '_')
		return 0;
	for (size_t i = 1; i < len; i++) {
		if (!is_alnum(tag[i]) && tag[i] != '_' && tag[i] != '.' && tag[i] != '-')
			return 0;
	}
	return 1;
}

/*
 * domain-component ::= [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
 * host ::= domain-component ("." domain-component)* | "[" [a-fA-F0-9:]+ "]"
 * domain ::= host [":" [0-9]+]
 */
static int domain_valid(const char *d, size_t len)
{
	size_t i = 0;

	if (len == 0 || len > BERTH_DOMAIN_MAX)
		return 0;
	if (d[0] == '[') {
		size_t start = ++i;

		while (i < len && (is_hex(d[i]) || d[i] == ':'))
			i++;
		if (i == start || i >= len || d[i] != ']')
			return 0;
		i++;
	} else {
		for (;;) {
			size_t start = i;

			while (i < len && (is_alnum(d[i]) || d[i] == '-'))
				i++;
			if (i == start || d[start] == '-' || d[i - 1] == '-')
				return 0;
			if (i < len && d[i] == '.') {
				i++;
				continue;
			}
			break;
		}
	}
	if (i == len)
		return 1;
	if (d[i] != ':')
		return 0;
	i++;
	if (i == len)
		return 0;
	for (; i < len; i++) {
		if (!is_digit(d[i]))
			return 0;
	}
	return 1;
}

/* Docker refuses a bare 64-hex string: it looks like an image ID, not a name. */
static int is_image_id(const char *s, size_t len)
{
	if (len != 64)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
			return 0;
	}
	return 1;
}

static int has_upper(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] >= 'A' && s[i] <= 'Z')
			return 1;
	}
	return 0;
}

void berth_ref_free(berth_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	free(r);
}

int berth_ref_parse(berth_ref **out, const char *s)
{
	berth_ref *r = NULL;
	size_t len, dlen, rlen, plen, tlen = 0;
	const char *rest, *at, *tag = NULL, *slash, *dom;
	berth_digest digest;
	int official = 0, rc = BERTH_EINVALID;

	*out = NULL;
	if (!s) {
		rc = berth_error_set(BERTH_EINVALID, "invalid reference: empty");
		goto done;
	}
	len = strnlen(s, REF_INPUT_MAX + 1);
	if (len == 0) {
		rc = berth_error_set(BERTH_EINVALID, "invalid reference: empty");
		goto done;
	}
	if (len > REF_INPUT_MAX) {
		rc = berth_error_set(BERTH_EINVALID, "invalid reference: longer than %d bytes",
				     REF_INPUT_MAX);
		goto done;
	}
	if (is_image_id(s, len)) {
		rc = berth_error_set(
			BERTH_EINVALID,
			"invalid reference: a 64-hex string is an image ID, not a name");
		goto done;
	}

	/* Split off the domain as Docker does. */
	slash = memchr(s, '/', len);
	if (slash) {
		size_t flen = (size_t)(slash - s);

		if (memchr(s, '.', flen) || memchr(s, ':', flen) ||
		    (flen == 9 && memcmp(s, "localhost", 9) == 0) || has_upper(s, flen)) {
			dom = s;
			dlen = flen;
			rest = slash + 1;
		} else {
			dom = DEFAULT_DOMAIN;
			dlen = strlen(DEFAULT_DOMAIN);
			rest = s;
		}
	} else {
		dom = DEFAULT_DOMAIN;
		dlen = strlen(DEFAULT_DOMAIN);
		rest = s;
	}
	if (dlen == strlen(LEGACY_DOMAIN) && memcmp(dom, LEGACY_DOMAIN, dlen) == 0) {
		dom = DEFAULT_DOMAIN;
		dlen = strlen(DEFAULT_DOMAIN);
	}
	if (!domain_valid(dom, dlen)) {
		rc = berth_error_set(BERTH_EINVALID, "invalid reference: bad domain '%.*s'",
				     (int)(dlen > 64 ? 64 : dlen), dom);
		goto done;
	}
	rlen = len - (size_t)(rest - s);

	/* rest ::= path [":" tag] ["@" digest] */
	at = memchr(rest, '@', rlen);
	plen = at ? (size_t)(at - rest) : rlen;
	{
		const char *colon = memrchr(rest, ':', plen);

		if (colon) {
			tag = colon + 1;
			tlen = plen - (size_t)(tag - rest);
			plen = (size_t)(colon - rest);
		}
	}
	if (has_upper(rest, plen)) {
		rc = berth_error_set(BERTH_EINVALID,
				     "invalid reference: repository name must be lowercase");
		goto done;
	}
	if (!berth_ref_name_valid(rest, plen)) {
		rc = berth_error_set(BERTH_EINVALID, "invalid reference: bad repository name");
		goto done;
	}
	if (tag && !berth_ref_tag_valid(tag, tlen)) {
		rc = berth_error_set(BERTH_EINVALID, "invalid reference: bad tag");
		goto done;
	}
	official = dlen == strlen(DEFAULT_DOMAIN) && memcmp(dom, DEFAULT_DOMAIN, dlen) == 0 &&
		   !memchr(rest, '/', plen);
	if (official && plen + strlen(OFFICIAL_PREFIX) > BERTH_NAME_MAX) {
		rc = berth_error_set(BERTH_EINVALID, "invalid reference: repository name too long");
		goto done;
	}

	if (at) {
		char why[256];

		if (berth_digest_parse(&digest, at + 1, len - (size_t)(at + 1 - s)) < 0) {
			/* The digest module's message, copied: berth_error_set reuses the slot. */
			snprintf(why, sizeof(why), "%s", berth_error_last());
			rc = berth_error_set(BERTH_EINVALID, "invalid reference: bad digest (%s)",
					     why);
			goto done;
		}
	}

	if (!(r = calloc(1, sizeof(*r))) || !(r->domain = strndup(dom, dlen)) ||
	    (tag && !(r->tag = strndup(tag, tlen))) || (at && !(r->digest = strdup(digest.str))) ||
	    asprintf(&r->path, "%s%.*s", official ? OFFICIAL_PREFIX : "", (int)plen, rest) < 0) {
		if (r)
			r->path = NULL; /* asprintf leaves it undefined on failure */
		rc = berth_error_set(BERTH_ERROR, "out of memory parsing a reference");
		goto done;
	}
	*out = r;
	/* now owned by the caller */ r = NULL;
	rc = 0;
done:
	berth_ref_free(r);
	return rc;
}

char *berth_ref_format(const berth_ref *r)
{
	char *s = NULL;

	if (!r || !r->domain || !r->path)
		return NULL;
	if (asprintf(&s, "%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
		     r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "") < 0)
		return NULL;
	return s;
}
