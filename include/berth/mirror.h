/*
 * berth/mirror.h - the pull-through cache: `berth serve` as a mirror of one
 * or more upstream registries (Docker Hub, ghcr.io, a company registry...).
 *
 * Configuration (the server's YAML, kept as JSON by the server's config):
 *
 *   proxy:                       # Distribution's config.yml shape: one upstream
 *     remoteurl: https://registry-1.docker.io
 *     username: u                # optional
 *     password: p                # optional
 *     ttl: 168h                  # optional (default 168h); s, m, h, d or seconds
 *   upstreams:                   # berth's list: several upstreams
 *     - name: docker.io          # also `host:`; what containerd sends as ?ns=
 *       url: http://127.0.0.1:5000
 *       username: u
 *       password: p
 *       ttl: 10m
 *       default: true            # the upstream of requests without ?ns=
 *
 * A server so configured is a mirror only: a client's repository `R` is
 * served as the local repository `<upstream>/R` (`:` of the upstream name
 * written `_`), where `<upstream>` is the one named by containerd's `?ns=`
 * query parameter, or the default one (the first, or the one marked
 * `default`). For docker.io a one-component name gets Docker Hub's `library/`.
 *
 * Manifests by tag are served from the cache while younger than the
 * upstream's ttl, then revalidated with a HEAD upstream (same digest: kept;
 * another: fetched). By digest they are served from the cache or fetched.
 * Blobs are served from the store, or fetched once however many clients
 * ask at the same time: the fetch writes a store upload which every waiting
 * client reads while it grows; the blob is committed only once its digest
 * is verified, and a failed fetch leaves nothing. When upstream fails,
 * cached content is served (stale-if-error) and a warning is logged.
 * Pushes and deletes are refused (405 UNSUPPORTED). Access control, when
 * set, is asked for `pull` on the local repository name before anything is
 * fetched. Thread-safe: berth_mirror_begin is called from any server thread.
 */
#ifndef BERTH_MIRROR_H
#define BERTH_MIRROR_H

#include "berth/common.h"
#include "berth/meta.h"
#include "berth/registry.h"
#include "berth/store.h"

#include <stdint.h>

/* Caps on the configuration (untrusted file input). */
#define BERTH_MIRROR_UPSTREAMS_MAX 64
#define BERTH_MIRROR_NAME_MAX 200 /* an upstream's name (a host[:port]) */
#define BERTH_MIRROR_URL_MAX 2048
#define BERTH_MIRROR_TTL_MAX (3650L * 86400) /* ten years */
#define BERTH_MIRROR_TTL_DEFAULT (168L * 3600)

typedef struct berth_mirror berth_mirror;

/** Counters for /metrics (monotonic since start). */
typedef struct berth_mirror_stats {
	uint64_t hits;		 /* manifests and blobs served from the cache, fresh */
	uint64_t misses;	 /* fetched from upstream */
	uint64_t stale_hits;	 /* served from the cache because upstream failed */
	uint64_t revalidations;	 /* tags checked upstream after their ttl */
	uint64_t upstream_bytes; /* blob and manifest bytes read from upstreams */
	uint64_t upstream_errors;
	uint64_t fetches_shared; /* blob requests that joined a fetch already running */
} berth_mirror_stats;

/**
 * 1 if `config_json` ({"proxy": {...}, "upstreams": [...]}, either or both)
 * configures a mirror, 0 if it holds neither section.
 */
int berth_mirror_configured(const char *config_json);

/**
 * Check a mirror configuration without starting anything: BERTH_EINVALID
 * with a message naming the key (proxy.remoteurl, upstreams[1].ttl, ...).
 */
int berth_mirror_config_check(const char *config_json) BERTH_WARN_UNUSED;

/**
 * Create a mirror serving through `reg` over `store` and `meta` (borrowed,
 * must outlive it). Makes one registry client per upstream (no request is
 * sent yet). BERTH_EINVALID for a bad configuration.
 */
int berth_mirror_new(berth_mirror **out, berth_registry *reg, berth_store *store, berth_meta *meta,
		     const char *config_json) BERTH_WARN_UNUSED;

/** Free the mirror; blob fetches still running are waited for. NULL is a no-op. */
void berth_mirror_free(berth_mirror *m);

/**
 * Access control for pulls (`a` copied; the same hook as the registry's).
 * Call before serving.
 */
void berth_mirror_set_authz(berth_mirror *m, const berth_registry_authz *a);

/**
 * Start handling a /v2/ request as a mirror (the counterpart of
 * berth_registry_begin, same contract): what is cached is served by the
 * registry under the local name; a blob being fetched is streamed
 * (berth_resp.reader).
 */
int berth_mirror_begin(berth_mirror *m, const berth_req *req,
		       berth_exchange **out) BERTH_WARN_UNUSED;

/** Read the counters. */
void berth_mirror_get_stats(berth_mirror *m, berth_mirror_stats *out);

/**
 * Parse a ttl: "90" (seconds), "90s", "15m", "168h", "7d", or Go-style
 * compounds ("1h30m"). BERTH_EINVALID if malformed or above
 * BERTH_MIRROR_TTL_MAX.
 */
int berth_mirror_parse_ttl(const char *s, long *seconds) BERTH_WARN_UNUSED;

#endif
