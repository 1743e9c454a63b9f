/*
 * berth/client.h - a registry client (libcurl) speaking the OCI Distribution
 * API, and the credential stores that Docker, podman and skopeo share.
 *
 * One berth_client talks to one registry host. It is safe to use from many
 * threads at once (each call uses its own curl easy handle from a small pool,
 * sharing connections, DNS and TLS sessions through a curl share handle).
 *
 * Auth: a request that gets 401 reads WWW-Authenticate; "Basic" retries with
 * the credentials; "Bearer realm=..,service=..,scope=.." fetches a token from
 * the realm (GET with Basic credentials if any, anonymous otherwise), caches
 * it per scope until it expires, and retries; a cached token that is refused
 * is fetched again once. Credentials never appear in errors or logs.
 *
 * Transport security: https with the system CAs and per-registry CA dirs
 * (/etc/containers/certs.d/<host>/, /etc/docker/certs.d/<host>/: *.crt as CAs,
 * client.cert/client.key as client certificates). Plain http is used without
 * asking for loopback hosts (localhost, 127.0.0.0/8, ::1), as skopeo does,
 * and elsewhere only when tls_verify is off and https fails, or when the
 * options say so.
 *
 * Every response body read into memory has a cap; every blob is streamed and
 * its digest and size are verified as it arrives.
 */
#ifndef BERTH_CLIENT_H
#define BERTH_CLIENT_H

#include "berth/buf.h"
#include "berth/common.h"
#include "berth/digest.h"
#include "berth/oci.h"

#include <stdatomic.h>
#include <stdint.h>

typedef struct berth_client berth_client;

typedef struct berth_client_options {
	const char *host;     /* "registry.example.com", "127.0.0.1:5000" (docker.io is mapped to
				 registry-1.docker.io) */
	int tls_verify;	      /* 1 (default) or 0 */
	int plain_http;	      /* 1 forces http, -1 https (even on loopback); 0 = automatic
				 (loopback → http) */
	const char *cert_dir; /* extra CA/client cert dir, or NULL for the standard ones */
	const char *username; /* explicit credentials (--creds), or NULL to look them up */
	const char *password;
	const char *auth_file;	   /* explicit auth file, or NULL for the standard search */
	const char *user_agent;	   /* NULL = "berth/<version>" */
	int retries;		   /* transient failures (connect, 5xx, 429): default 3 */
	long timeout_seconds;	   /* per request inactivity timeout; default 60 */
	size_t max_manifest_bytes; /* default BERTH_MANIFEST_MAX */
} berth_client_options;

void berth_client_options_init(berth_client_options *o);

int berth_client_new(berth_client **out, const berth_client_options *o) BERTH_WARN_UNUSED;
void berth_client_free(berth_client *c);

/** "http://127.0.0.1:5000" or "https://host" once known (after the first request). */
const char *berth_client_base_url(berth_client *c);

/** GET /v2/: checks the registry answers and the credentials (if any) work. */
int berth_client_ping(berth_client *c) BERTH_WARN_UNUSED;

/* ---- manifests ---- */

/** The media types berth accepts for manifests, as an Accept header value. */
extern const char berth_client_manifest_accept[];

/**
 * GET a manifest by tag or digest. Appends the exact bytes to `body` (capped
 * by max_manifest_bytes), writes its media type and digest (computed from the
 * bytes; when `reference` is a digest the bytes must match it:
 * BERTH_EDIGEST otherwise). BERTH_ENOTFOUND if absent.
 */
int berth_client_manifest_get(berth_client *c, const char *repo, const char *reference,
			      struct berth_buf *body, char *media_type, size_t media_type_len,
			      berth_digest *digest) BERTH_WARN_UNUSED;

/** HEAD a manifest: digest, media type and size without the body. */
int berth_client_manifest_head(berth_client *c, const char *repo, const char *reference,
			       berth_digest *digest, char *media_type, size_t media_type_len,
			       uint64_t *size) BERTH_WARN_UNUSED;

/** PUT a manifest under a tag or its digest; `digest_out` (optional) gets the registry's
 * Docker-Content-Digest. */
int berth_client_manifest_put(berth_client *c, const char *repo, const char *reference,
			      const char *media_type, const void *body, size_t len,
			      berth_digest *digest_out) BERTH_WARN_UNUSED;

/** DELETE a manifest by digest, or a tag. */
int berth_client_manifest_delete(berth_client *c, const char *repo,
				 const char *reference) BERTH_WARN_UNUSED;

/**
 * GET the referrers index of `subject` (OCI 1.1 referrers API), optionally
 * filtered by `artifact_type` (NULL for all), appending the index JSON to
 * `body` (capped by max_manifest_bytes). BERTH_ENOTFOUND when the registry
 * answers 404 (no referrers API: callers fall back to the referrers tag
 * schema, tag "sha256-<hex>").
 */
int berth_client_referrers(berth_client *c, const char *repo, const berth_digest *subject,
			   const char *artifact_type, struct berth_buf *body) BERTH_WARN_UNUSED;

/**
 * The referrers index of `subject` wherever the registry keeps it: the
 * referrers API's answer, else (the API answers 404) the referrers tag
 * schema's index, the manifest tagged "<algo>-<hex>". `body` is emptied,
 * then gets its bytes (capped by max_manifest_bytes), checked to be a JSON
 * object with a "manifests" array (BERTH_EINVALID otherwise). When there is
 * neither, returns 0 with `body` empty. *api (may be NULL) gets 1 when
 * the referrers API answered, 0 when it did not.
 */
int berth_client_referrers_index(berth_client *c, const char *repo, const berth_digest *subject,
				 struct berth_buf *body, int *api) BERTH_WARN_UNUSED;

/**
 * 1 if `repo` at the registry answers the referrers API (a probe: GET
 * /v2/<repo>/referrers/<subject>), 0 if it answers 404 (Distribution 2.8:
 * clients then keep the referrers tag schema), a negative code on error.
 */
int berth_client_referrers_api(berth_client *c, const char *repo,
			       const berth_digest *subject) BERTH_WARN_UNUSED;

/**
 * For a registry without the referrers API: merge the descriptors of
 * `refs` (an image index JSON of `len` bytes, as the referrers API answers)
 * into the referrers tag schema's index of `subject` in `repo`, the
 * manifest tagged "<algo>-<hex>" (made if absent; a digest already listed
 * is not added twice; nothing is written when nothing is new), as the
 * distribution spec asks of a client pushing a manifest with a subject to
 * such a registry.
 */
int berth_client_referrers_tag_merge(berth_client *c, const char *repo, const berth_digest *subject,
				     const void *refs, size_t len) BERTH_WARN_UNUSED;

/** 1 if `tag` is a tag of the referrers tag schema ("sha256-<64 hex>"), else 0. */
int berth_client_is_referrers_tag(const char *tag);

/**
 * How berth_client_referrers_walk carries referrers from one registry to
 * another, and what its caller does with each. The callbacks get `ctx`.
 */
typedef struct berth_client_referrers_walker {
	berth_client *src, *dst; /* where the referrers are read, where they go */
	const char *src_repo, *dst_repo;
	/* Referrers of referrers are walked down to this depth (0: the subject's only). */
	int max_depth;
	/* Referrers taken per subject; 0 for no limit. */
	size_t max_count;
	/* 1: a listed digest that does not parse is passed over; 0: BERTH_EINVALID. */
	int skip_invalid;
	/*
	 * The destination has the referrers API: 1, 0, or -1 until probed. The
	 * first answer is kept here: walks on many threads may share it. NULL:
	 * probed for each subject.
	 */
	atomic_int *dst_api;
	/*
	 * Copy one referrer, found at `depth` (0: a referrer of the walk's
	 * subject). 0: it is at the destination, walk its referrers (depth
	 * permitting); a positive value: it is not (not copied), so neither
	 * listed at the destination nor walked; negative: end the walk with
	 * that code.
	 */
	int (*visit)(void *ctx, const berth_digest *referrer, int depth);
	/* 1 to take no further referrer (may be NULL). */
	int (*stop)(void *ctx);
	/*
	 * A subject whose referrers could not be read, or not be listed at the
	 * destination (the message is in the error slot): 0 goes on, a negative
	 * code ends the walk with it. NULL: every such error ends the walk.
	 */
	int (*on_error)(void *ctx, const berth_digest *subject, int rc);
	void *ctx;
} berth_client_referrers_walker;

/**
 * Walk the referrers of `subject` at w->src (its referrers API, or the
 * referrers tag schema's index without one): each listed referrer is given
 * to w->visit, then its own referrers the same way, down to w->max_depth.
 * When any referrer is at the destination and the destination has no
 * referrers API, the source's index (its bytes as read, or only the
 * descriptors of the referrers at the destination when some were not
 * copied) is merged into the destination's tag schema index of `subject`
 * (berth_client_referrers_tag_merge).
 *
 * Returns 0, or the first error that w->visit or w->on_error returns
 * (without on_error, the first error).
 */
int berth_client_referrers_walk(const berth_client_referrers_walker *w,
				const berth_digest *subject) BERTH_WARN_UNUSED;

/* ---- blobs ---- */

/** 0 and the size if the blob exists in repo (HEAD), BERTH_ENOTFOUND if not. */
int berth_client_blob_exists(berth_client *c, const char *repo, const berth_digest *d,
			     uint64_t *size) BERTH_WARN_UNUSED;

/**
 * Sink for streamed bytes: return 0 to continue, non-zero to abort (the
 * call then fails with that code).
 */
typedef int (*berth_client_sink)(void *ctx, const void *data, size_t len);

/**
 * GET a blob, streaming it to `sink`; the digest and `expected_size` (if >= 0)
 * are verified as the bytes arrive: BERTH_EDIGEST / BERTH_ESIZE on mismatch,
 * in which case the sink has seen bad bytes and the caller must discard them.
 * Follows redirects (to a bounded depth) to blob storage, without sending
 * registry credentials to another host.
 */
int berth_client_blob_get(berth_client *c, const char *repo, const berth_digest *d,
			  int64_t expected_size, berth_client_sink sink,
			  void *ctx) BERTH_WARN_UNUSED;

/** Told a blob's size before its first byte: return 0 to go on, else a negative code. */
typedef int (*berth_client_blob_start)(void *ctx, uint64_t size);

/**
 * berth_client_blob_get for a blob whose size is not known beforehand (no
 * HEAD first): the size is the GET's Content-Length, given to `start` once,
 * before the first byte reaches `sink` (for an empty blob too), then
 * verified like expected_size. An answer without a Content-Length fails
 * (BERTH_EIO) before `start`.
 */
int berth_client_blob_get_sized(berth_client *c, const char *repo, const berth_digest *d,
				berth_client_blob_start start, berth_client_sink sink,
				void *ctx) BERTH_WARN_UNUSED;

/**
 * Try a cross-repository mount of `d` from `from_repo` (NULL: ask the
 * registry to find it). 0 if mounted (201); BERTH_ENOTFOUND if the registry
 * started an upload instead (that session is cancelled).
 */
int berth_client_blob_mount(berth_client *c, const char *repo, const berth_digest *d,
			    const char *from_repo) BERTH_WARN_UNUSED;

/**
 * Source for pushes: read the next bytes (sequentially) into `buf`, up to
 * `cap`; return the count (0 at end) or a negative BERTH_E* code. The client
 * never asks a source to rewind: it keeps the chunk in flight in memory (at
 * most chunk_size bytes, or the whole blob for monolithic pushes) so that it
 * can resend it from the offset the registry reports after a broken
 * connection.
 */
typedef long (*berth_client_source)(void *ctx, void *buf, size_t cap);

/**
 * Push a blob of `size` bytes. Blobs up to `chunk_threshold` go in one
 * POST+PUT (monolithic); larger ones in PATCH chunks of `chunk_size`, the
 * last one with the closing PUT. A broken chunked upload resumes from the
 * offset the registry reports (GET on the upload URL). The registry checks
 * `d`; the client also counts the bytes against `size` (BERTH_ESIZE).
 * chunk_threshold/chunk_size of 0 select defaults (16 MiB / 16 MiB).
 */
int berth_client_blob_push(berth_client *c, const char *repo, const berth_digest *d, uint64_t size,
			   berth_client_source src, void *ctx, uint64_t chunk_threshold,
			   uint64_t chunk_size) BERTH_WARN_UNUSED;

/* ---- lists ---- */

typedef int (*berth_client_name_cb)(void *ctx, const char *name);

/** All tags of a repository, following Link pagination. */
int berth_client_tags(berth_client *c, const char *repo, berth_client_name_cb cb,
		      void *ctx) BERTH_WARN_UNUSED;

/* The most names a berth_client_names keeps when its `max` is 0. */
#define BERTH_CLIENT_NAMES_MAX 100000

/** A growable list of names (tags, repositories), owned strings. Zero-initialise. */
typedef struct berth_client_names {
	char **v;
	size_t n, cap;
	size_t max; /* the most it takes; 0 = BERTH_CLIENT_NAMES_MAX */
} berth_client_names;

/**
 * A berth_client_name_cb appending a copy of `name` to the berth_client_names
 * `ctx`: 0, BERTH_ETOOBIG past its max, BERTH_ERROR out of memory (message set).
 */
int berth_client_names_add(void *ctx, const char *name) BERTH_WARN_UNUSED;

/** 1 if `l` holds `name` (linear). */
int berth_client_names_has(const berth_client_names *l, const char *name);

/** Free the names and zero `l` (keeping nothing; `max` too). NULL-safe. */
void berth_client_names_dispose(berth_client_names *l);

/**
 * Every tag of `repo` (all Link pages) appended to `out`: berth_client_tags
 * collecting into a list, as the mirror and replication both need.
 * BERTH_ETOOBIG (message naming the repository) past out->max; the
 * client's errors otherwise. Thread-safe as the client is.
 */
int berth_client_tag_list(berth_client *c, const char *repo,
			  berth_client_names *out) BERTH_WARN_UNUSED;

/* ---- credentials (docker config.json, containers auth.json, helpers) ---- */

/**
 * Find credentials for `host`: $REGISTRY_AUTH_FILE, then
 * $XDG_RUNTIME_DIR/containers/auth.json, then ~/.docker/config.json
 * ($DOCKER_CONFIG/config.json), or only `auth_file` when given. In each:
 * credHelpers[host], then auths[host] ("auth" base64 user:pass, or
 * "username"/"password", "identitytoken"), then credsStore. Helpers are
 * `docker-credential-<name> get` with the host on stdin.
 * Returns 0 with malloc'd *user and *pass (caller frees with
 * berth_client_creds_dispose), or BERTH_ENOTFOUND.
 */
int berth_client_creds_get(const char *host, const char *auth_file, char **user,
			   char **pass) BERTH_WARN_UNUSED;

/** Zero and free strings returned by berth_client_creds_get. */
void berth_client_creds_dispose(char *user, char *pass);

/**
 * Store credentials for `host` as `berth login` does: in `auth_file` if
 * given, else the containers auth.json ($REGISTRY_AUTH_FILE or
 * $XDG_RUNTIME_DIR/containers/auth.json) if it exists, else
 * ~/.docker/config.json; through the credential helper when the file names
 * one for the host. The file is rewritten atomically with mode 0600 and its
 * other content preserved.
 */
int berth_client_creds_store(const char *host, const char *auth_file, const char *user,
			     const char *pass) BERTH_WARN_UNUSED;

/** Remove credentials for `host` (berth logout). BERTH_ENOTFOUND if none. */
int berth_client_creds_erase(const char *host, const char *auth_file) BERTH_WARN_UNUSED;

/* ---- the registry's own JSON API (berth's /api/v1/) ---- */

/**
 * One call to a JSON API of the registry, e.g. berth's admin API:
 * `method` ("GET", "POST", "PUT", "DELETE", ...) on `path` ("/api/v1/users",
 * relative to the client's base URL, or an absolute http(s) URL of the same
 * registry, which lets a caller pick the scheme itself). `json_body` (may be
 * NULL) is sent as application/json. Basic credentials go with the request
 * up front: the explicit ones of the options, else those stored for the
 * host (berth_client_creds_get); with none, the request goes out bare.
 * There is no Bearer challenge flow and no retry (admin calls are not all
 * idempotent; a 429 from login throttling is reported, not waited out).
 *
 * A 2xx answer's body is appended to `resp_body` (may be NULL to discard;
 * BERTH_ETOOBIG past its max) and 0 is returned. Any other status returns
 * the matching code (400 EINVALID, 401/403 EDENIED, 404 ENOTFOUND,
 * 409 EEXISTS, 429 EBUSY, 5xx EIO) with the server's OCI error message as
 * the message. `status` (may be NULL) gets the HTTP status (0 when no
 * response arrived: connection failures return BERTH_EIO).
 */
int berth_client_api(berth_client *c, const char *method, const char *path, const char *json_body,
		     struct berth_buf *resp_body, long *status) BERTH_WARN_UNUSED;

#endif
