/*
 * berth/ref.h - repository names, tags and image references.
 *
 * Grammar of distribution/reference and the OCI distribution spec:
 *   name  ::= [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*
 *             (at most 255 characters in all)
 *   tag   ::= [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
 *   reference ::= [domain[:port]/]path[:tag][@digest]
 * A domain is recognised as in Docker: the first component contains '.' or
 * ':' or is "localhost" (or has uppercase letters). With no domain the
 * reference normalises to docker.io, and a one-component path on docker.io
 * gets "library/".
 */
#ifndef BERTH_REF_H
#define BERTH_REF_H

#include "berth/common.h"
#include "berth/digest.h"

#define BERTH_NAME_MAX 255   /* repository name (path) */
#define BERTH_TAG_MAX 128    /* tag */
#define BERTH_DOMAIN_MAX 255 /* registry host[:port] */

/** 1 if `name` (len bytes) is a valid repository name (path), else 0. */
int berth_ref_name_valid(const char *name, size_t len);

/** 1 if `tag` (len bytes) is a valid tag, else 0. */
int berth_ref_tag_valid(const char *tag, size_t len);

/** A parsed image reference; all strings owned by the struct. */
typedef struct berth_ref {
	char *domain; /* "docker.io", "127.0.0.1:5000", ... (never NULL after parse) */
	char *path;   /* "library/alpine", "team/app" */
	char *tag;    /* NULL if none given */
	char *digest; /* canonical "sha256:..." or NULL */
} berth_ref;

/**
 * Parse `s` into `*out` (owned by the caller, free with berth_ref_free).
 * Returns 0 or BERTH_EINVALID with a message naming the bad part.
 * A reference with neither tag nor digest keeps tag NULL (callers default
 * to "latest" where that is their semantics).
 */
int berth_ref_parse(berth_ref **out, const char *s) BERTH_WARN_UNUSED;

/** Canonical string "domain/path[:tag][@digest]" (caller frees). */
char *berth_ref_format(const berth_ref *r);

void berth_ref_free(berth_ref *r);

#endif
