/*
 * berth/registries.h - registry names rewritten, mirrored, marked insecure
 * or blocked as containers-registries.conf(5) says: the configuration
 * podman, skopeo and buildah read, so one file serves them and berth.
 *
 * Version 2 format only (TOML):
 *
 *   [[registry]]
 *   prefix = "registry.company.com/base"   # what a reference starts with
 *   location = "127.0.0.1:5000/mirror/base" # what replaces the prefix
 *   insecure = true                         # plain HTTP / no TLS verification
 *   blocked = false                         # refuse pulls
 *   [[registry.mirror]]
 *   location = "mirror.local/base"          # tried before `location`
 *   insecure = true
 *   pull-from-mirror = "all"                # or "digest-only", "tag-only"
 *
 * A prefix matches a reference equal to it or continuing with '/', ':' or
 * '@'; "*.example.com" matches every host under example.com (and allows no
 * location). The longest matching prefix wins. Without a prefix, the
 * location is the prefix. Other tables and keys (unqualified-search-
 * registries, aliases, credential-helpers, ...) are read and ignored; the
 * version 1 format ([registries.search]) is refused with a clear error.
 *
 * Files: $CONTAINERS_REGISTRIES_CONF alone when set, else
 * /etc/containers/registries.conf and then /etc/containers/
 * registries.conf.d/ (its .conf files) in name order, a later entry for a prefix
 * replacing an earlier one (as containers/image merges them).
 *
 * Used by the builder's base image pulls and by `berth copy` sources.
 * Thread safety: a loaded configuration is read-only; share it freely.
 */
#ifndef BERTH_REGISTRIES_H
#define BERTH_REGISTRIES_H

#include "berth/common.h"

#include <stddef.h>

#define BERTH_REGISTRIES_FILE_MAX (1024 * 1024) /* one configuration file */
#define BERTH_REGISTRIES_MAX 1024		/* [[registry]] entries in all */
#define BERTH_REGISTRIES_MIRRORS_MAX 64		/* mirrors of one entry */
#define BERTH_REGISTRIES_DEFAULT "/etc/containers/registries.conf"

typedef struct berth_registries berth_registries;

/** One place to pull a reference from. */
typedef struct berth_registry_endpoint {
	char *ref;    /* the reference rewritten for this place ("host/path:tag") */
	int insecure; /* no TLS verification / plain HTTP allowed */
	int mirror;   /* 1 for a mirror, 0 for the entry's location */
} berth_registry_endpoint;

/**
 * Parse one configuration text into *out (`name` names it in errors). An
 * empty text is an empty configuration. BERTH_EINVALID (with the line) for
 * TOML it cannot read, a version 1 file, a wildcard prefix with a
 * location; BERTH_ETOOBIG past the caps above.
 */
int berth_registries_parse(berth_registries **out, const char *text, size_t len,
			   const char *name) BERTH_WARN_UNUSED;

/**
 * Load the configuration: `path` alone when not NULL, else the files named
 * above (missing files are fine: an empty configuration).
 */
int berth_registries_load(berth_registries **out, const char *path) BERTH_WARN_UNUSED;

void berth_registries_free(berth_registries *r);

/** Number of [[registry]] entries. */
size_t berth_registries_count(const berth_registries *r);

/**
 * Where to pull `ref` ("domain/path[:tag][@digest]", as berth_ref_format
 * writes it) from, in order: the matching entry's mirrors that apply (a
 * "digest-only" mirror only for digest references, "tag-only" only for
 * tags), then its location; a reference no entry matches is pulled as it
 * is. `*out` is malloc'd (free with berth_registries_endpoints_free).
 * `r` may be NULL (no configuration). BERTH_EDENIED when the entry is
 * blocked.
 */
int berth_registries_resolve(const berth_registries *r, const char *ref,
			     berth_registry_endpoint **out, size_t *n) BERTH_WARN_UNUSED;

void berth_registries_endpoints_free(berth_registry_endpoint *e, size_t n);

#endif
