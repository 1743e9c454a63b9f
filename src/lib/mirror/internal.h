/*
 * internal.h - what the files of the mirror module share: the mirror and
 * upstream structs, the configuration reader (config.c), the manifest cache
 * (manifests.c), the shared blob fetches (fetch.c) and the small exchanges
 * the mirror answers itself (mirror.c).
 */
#ifndef BERTH_MIRROR_INTERNAL_H
#define BERTH_MIRROR_INTERNAL_H

#include "berth/client.h"
#include "berth/mirror.h"

#include <pthread.h>
#include <stdatomic.h>

#define MIRROR_TAGS_MAX                                                                            \
	65536 /* tag validation times held in memory; cleared when full (meta keeps them) */

typedef struct berth_mirror__upstream {
	char *name;   /* "docker.io", "127.0.0.1:5000" (the ?ns= value) */
	char *prefix; /* local repository prefix: name with ':' as '_' */
	char *url;
	char *username;
	char *password;
	long ttl;
	int is_default;
	int docker_hub; /* one-component names get "library/" */
	int push;	/* `push: allow`: clients may push repositories of their own here */
	berth_client *client;
} berth_mirror__upstream;

/* When a tag was last known to match upstream (seconds since the epoch; a copy of meta's). */
typedef struct berth_mirror__tag {
	struct berth_mirror__tag *next;
	time_t checked;
	char key[]; /* "<local repo>:<tag>" */
} berth_mirror__tag;

#define MIRROR_TAG_BUCKETS 1024

typedef struct berth_mirror__fetch berth_mirror__fetch;

struct berth_mirror {
	berth_registry *reg;
	berth_store *store;
	berth_meta *meta;
	berth_mirror__upstream *ups;
	size_t nups;
	size_t nalloc; /* entries of ups allocated (a failed load leaves one half-filled) */
	berth_mirror__upstream *def;
	int has_authz;
	berth_registry_authz authz;

	pthread_mutex_t lock; /* the tag times and the fetch table */
	berth_mirror__tag *tags[MIRROR_TAG_BUCKETS];
	size_t ntags;
	berth_mirror__fetch *fetches; /* running, by digest */
	pthread_cond_t idle;	      /* signalled when a fetch thread ends */
	long threads;		      /* fetch threads running */

	atomic_uint_fast64_t hits, misses, stale_hits, revalidations, upstream_bytes,
		upstream_errors, fetches_shared;
};

/* ---- configuration (config.c) ---- */

/** Parse `json` into m->ups / m->nups / m->def (no clients yet). */
int berth_mirror__config_load(berth_mirror *m, const char *json);
void berth_mirror__upstreams_free(berth_mirror *m);

/* ---- manifests (manifests.c) ---- */

/**
 * Make manifest `ref` of upstream repository `repo` servable from the local
 * repository `local`: fresh in the cache, revalidated, or fetched; stale
 * content kept when upstream fails. 0, or BERTH_ENOTFOUND (upstream has
 * none), or another negative code with the message set (nothing cached and
 * upstream failed).
 */
int berth_mirror__manifest_ready(berth_mirror *m, berth_mirror__upstream *up, const char *repo,
				 const char *local, const char *ref, int is_digest);

/**
 * 1 if local repository `local` was pushed to (with `push: allow`): it is
 * then local, served from the store only and never asked of upstream; 0 if
 * not (or unknown: a read error is logged and counts as not pushed).
 */
int berth_mirror__pushed(berth_mirror *m, const char *local);
/** Record that `local` is pushed to (in meta, so that restarts and other processes know). */
int berth_mirror__pushed_mark(berth_mirror *m, const char *local);

/* ---- blobs (fetch.c) ---- */

/**
 * Join or start the fetch of blob `d` from `up`'s `repo` into the store (and
 * link it into `local`). On success *out holds a reference (release with
 * berth_mirror__fetch_unref) and the fetch has a known size and a readable
 * file. BERTH_ENOTFOUND if upstream has no such blob.
 */
int berth_mirror__fetch_join(berth_mirror *m, berth_mirror__upstream *up, const char *repo,
			     const char *local, const berth_digest *d, berth_mirror__fetch **out);
uint64_t berth_mirror__fetch_size(const berth_mirror__fetch *f);
/** berth_resp.reader over a fetch: blocks until the bytes at `pos` are written. */
long berth_mirror__fetch_read(void *ctx, uint64_t pos, char *buf, size_t max);
void berth_mirror__fetch_ref(berth_mirror__fetch *f);
void berth_mirror__fetch_unref(void *ctx);

void berth_mirror__tags_free(berth_mirror *m);

/* ---- tag lists and referrers (lists.c) ---- */

/*
 * Answer GET /v2/<name>/tags/list (`name` as the client wrote it) from
 * upstream's list of `repo`, or from the cache when upstream cannot answer.
 * Returns 0 with *out set, 1 when the registry should answer from the
 * local repository (upstream unreachable: logged and counted as a stale
 * hit), or a negative code.
 */
int berth_mirror__tags(berth_mirror *m, berth_mirror__upstream *up, const berth_req *req,
		       const char *name, const char *repo, const char *local, berth_exchange **out);
/* The same for GET /v2/<name>/referrers/<digest> (`digest` as in the path). */
int berth_mirror__referrers(berth_mirror *m, berth_mirror__upstream *up, const berth_req *req,
			    const char *repo, const char *local, const char *digest,
			    berth_exchange **out);

/* ---- answers of the mirror itself (mirror.c) ---- */

/* A JSON answer: `body` is taken (reset), `link` an optional Link header value (copied). */
int berth_mirror__answer_json(berth_exchange **out, const char *label, const char *content_type,
			      berth_buf *body, const char *link);

/** Wait for the fetch threads to end (berth_mirror_free). */
void berth_mirror__fetch_drain(berth_mirror *m);

#endif
