/*
 * internal.h - what the files of the build module share: the store and
 * image structs and the store's blob writer.
 */
#ifndef BERTH_BUILD_INTERNAL_H
#define BERTH_BUILD_INTERNAL_H

#include "berth/buf.h"
#include "berth/build.h"

#include "berth/dockerfile.h"
#include "util/fs.h"

#include <jansson.h>
#include <stdio.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>

struct berth_build_store {
	char root[PATH_MAX];
	char content[PATH_MAX + 16]; /* <root>/content: an OCI layout */
	char blobs[PATH_MAX + 32];   /* <content>/blobs/sha256 */
	berth_snapshots *snapshots;
	int lock_fd; /* <root>/lock: shared while open, exclusive for prune */
};

typedef struct build_layer {
	char media_type[128];
	berth_digest digest;
	int64_t size;
	berth_digest diff_id;
	int deferred; /* an uncompressed tar until exported (see defer_compression) */
} build_layer;

struct berth_build_image {
	json_t *config; /* the whole OCI config document */
	build_layer *layers;
	size_t nlayers, cap;
	char *base_name;	  /* the FROM reference, or NULL (scratch) */
	berth_digest base_digest; /* its manifest digest (when base_name) */
	/* New layers stay uncompressed tar (build_layer.deferred): a stage whose layers no
	 * exported image holds. berth_build__layer_compress compresses one if it is exported
	 * after all (a later build's target reached through the cache). */
	int defer_compression;
};

/** Store `len` bytes as a blob of the layout; its digest into *out. */
int berth_build__put_blob(berth_build_store *s, const void *data, size_t len,
			  berth_digest *out) BERTH_WARN_UNUSED;

/* A blob written in a stream whose digest is known at the end (layer diffs). */
typedef struct berth_build__blob_writer {
	berth_build_store *store;
	char tmp[PATH_MAX + 64];
	int fd;
	berth_fs_behind behind; /* writeback started as it is written */
} berth_build__blob_writer;

int berth_build__blob_begin(berth_build__blob_writer *w, berth_build_store *s) BERTH_WARN_UNUSED;
/** A berth_layer_write_fn over the writer. */
int berth_build__blob_write(void *ctx, const void *data, size_t len);
/** Commit the blob under `digest` (the digest the caller computed). */
int berth_build__blob_commit(berth_build__blob_writer *w,
			     const berth_digest *digest) BERTH_WARN_UNUSED;
/** Drop an unfinished blob. */
void berth_build__blob_abort(berth_build__blob_writer *w);
/**
 * Recompress the layer blob `digest` (of media type mt) to c at level (-1: the
 * format's default) into a new blob of the store: its digest and size out.
 */
int berth_build__blob_recompress(berth_build_store *s, const char *mt, const char *digest,
				 berth_layer_compression c, int level, berth_digest *out,
				 uint64_t *size) BERTH_WARN_UNUSED;
/** A deferred layer (build_layer.deferred) compressed to c at level (-1: default). */
int berth_build__layer_compress(berth_build_store *s, build_layer *l, berth_layer_compression c,
				int level) BERTH_WARN_UNUSED;

/** Write the image's whole state (config, layers, base) as a cache record at path. */
int berth_build__state_save(const berth_build_image *img, const char *path) BERTH_WARN_UNUSED;
/** Replace img's state with a cache record's; BERTH_ENOTFOUND if there is none. */
int berth_build__state_load(berth_build_image *img, const char *path) BERTH_WARN_UNUSED;

/**
 * The image committed in the store's layout under `tag` (a single image), or
 * (child not NULL) the image of that digest in the index tagged `tag`, for exporters.
 */
int berth_build__image_load(berth_build_image **out, berth_build_store *s, const char *tag,
			    const berth_digest *child) BERTH_WARN_UNUSED;

/** Room for one more layer at img->layers[img->nlayers] (not counted yet), or NULL. */
build_layer *berth_build__layer_room(berth_build_image *img);

/** The "config" object of the image's config (created if missing). */
json_t *berth_build__config_obj(berth_build_image *img);

/* ---- the Dockerfile solver (solve.c, instr.c, run.c, copy.c, key.c) ---- */

/* The cache keys one build made (platform.c): the passes of a multi-platform
 * build share them, so a step an earlier platform ran is reused even under
 * --no-cache. Thread-safe. */
typedef struct build_made {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* a pass finished a step it claimed */
	berth_digest *keys;
	size_t n, cap;
	berth_digest *claimed; /* steps a pass is making now */
	size_t nclaimed, claimed_cap;
} build_made;

/** 1 if key was made by this build (m may be NULL: no). */
int berth_build__made_has(build_made *m, const berth_digest *key);
/** Remember key as made by this build (m may be NULL). */
int berth_build__made_add(build_made *m, const berth_digest *key) BERTH_WARN_UNUSED;
/**
 * Before making the step key: 1 when the caller is to make it (then
 * berth_build__made_done), 0 when another pass made it meanwhile (waited
 * for; its record is there to load). m NULL: 1.
 */
int berth_build__made_claim(build_made *m, const berth_digest *key);
/** The claimed step key is made (ok) or failed; waiters wake. <0 out of memory. */
int berth_build__made_done(build_made *m, const berth_digest *key, int ok) BERTH_WARN_UNUSED;

/**
 * Split and check a --platform list ("linux/amd64,linux/arm64"): each entry
 * normalised into out (at most BERTH_BUILD_PLATFORMS_MAX), *n the count.
 * BERTH_EINVALID for a malformed entry, an os other than linux, an unknown
 * architecture, a duplicate.
 */
int berth_build__platforms_parse(const char *list, char (*out)[BERTH_BUILD_PLATFORM_MAX],
				 size_t *n) BERTH_WARN_UNUSED;

/**
 * 0 if RUN steps for `arch` (OCI name) can run here: natively, or through an
 * enabled qemu-<arch> entry of binfmt_misc ($BERTH_BINFMT_DIR, else
 * /proc/sys/fs/binfmt_misc) with the F flag. Else BERTH_EUNSUPPORTED with
 * a message saying how to register one.
 */
int berth_build__emulator_check(const char *arch) BERTH_WARN_UNUSED;

/* An ADD URL fetched by this build (copysrc.c): <fetch_dir>/<index>. */
typedef struct build_download {
	char *url, *checksum; /* checksum "" when none */
	int64_t mtime;
} build_download;

#define BUILD_DOWNLOADS_MAX 256 /* distinct URLs one build fetches */

typedef struct build_solver {
	berth_build_store *store;
	const berth_build_opts *o;
	berth_dockerfile *df;
	berth_df_plan *plan;
	berth_dockerignore *ign;
	berth_build_image **done; /* per stage, once built */
	int *busy;		  /* per stage: 1 running, 2 running before its inputs (early) */
	unsigned char *early_ok;  /* per stage: may start before its inputs (no input needs it) */
	size_t nworkers;	  /* the workers running stages */
	size_t basing;		  /* stages started with their inputs built, not past their FROM */
	FILE *log;
	int64_t clamp;
	berth_context *ctx;		/* the context walked with hashes (first COPY from it) */
	char (*keys)[BERTH_DIGEST_MAX]; /* per stage, the key of its last step */
	char cache_dir[PATH_MAX + 16];
	/* Parallel stages (solve.c): `mu` guards busy[], done[] as they change, and the
	 * first failure; `cv` wakes workers waiting for a stage's inputs. key_mu serialises
	 * cache key computation (the context walk is made once, lazily); pull_mu base pulls. */
	pthread_mutex_t mu, key_mu, pull_mu, mount_mu; /* mount_mu: cache-mount dirs */
	pthread_cond_t cv;
	int failed;    /* a stage failed: the others stop at their next step */
	int fail_code; /* the first failure's code and message */
	char fail_msg[512];
	atomic_uint nruns; /* RUN commands executed (the build log's last line counts them) */
	build_made *made;  /* keys made by this build's passes (several platforms) */
	berth_digest *cache_reset; /* cache mounts --no-cache already started afresh */
	size_t ncache_reset;
	struct build_cache *cache; /* --cache-from / --cache-to (cache.c), or NULL */
	/* ADD URL downloads, each fetched once (for its key and its copy); fetch_mu guards them */
	pthread_mutex_t fetch_mu;
	build_download downloads[BUILD_DOWNLOADS_MAX];
	size_t ndownloads;
	char fetch_dir[PATH_MAX + 96]; /* <store>/tmp/fetch-XXXXXX, "" until the first */
	const char *label;	       /* "" or "linux/arm64 ": log lines' platform prefix */
} build_solver;

/**
 * A step's output stream: a pipe whose lines a thread writes whole to the
 * build log, each prefixed with the stage ("[stage 1] ..."), so the output of
 * parallel steps never interleaves within a line. `fd` goes to the step;
 * berth_build__output_end closes it and waits for the last line.
 */
typedef struct build_output {
	build_solver *sv;
	int fd;	 /* the write end, for the step's stdout and stderr */
	int rfd; /* the read end (the relay thread's) */
	size_t stage;
	pthread_t thread;
	int started;
} build_output;

int berth_build__output_begin(build_solver *sv, build_output *out) BERTH_WARN_UNUSED;
void berth_build__output_end(build_output *out);
/** A whole line to the build log (printf-like; the newline is added). */
void berth_build__log(build_solver *sv, const char *fmt, ...) BERTH_PRINTF(2, 3);

/** Set the error as "<Dockerfile>:<line>: <INSTRUCTION>: <message>"; returns code. */
int berth_build__fail_at(build_solver *sv, const berth_df_instr *in, int code, const char *fmt, ...)
	BERTH_PRINTF(4, 5);
/** Into v: args (may be NULL) overlaid by the image's Env (an ENV wins). */
int berth_build__vars_with_env(berth_df_vars *v, const berth_df_vars *args,
			       berth_build_image *img) BERTH_WARN_UNUSED;
/** One word expanded with args and the image's Env, quotes removed, into *out (malloc'd). */
int berth_build__expand1(build_solver *sv, berth_build_image *img, const berth_df_vars *args,
			 const char *raw, char **out) BERTH_WARN_UNUSED;

/** What a stage's steps carry from one to the next (solve.c, instr.c, run.c). */
typedef struct build_stage_state {
	berth_df_vars args; /* the stage's ARGs that have a value */
	char **declared;    /* every ARG the stage declared so far, in order (a RUN's history
			       names them, as BuildKit's does) */
	size_t ndeclared;
	int cmd_set; /* this stage set CMD (an ENTRYPOINT then keeps it) */
} build_stage_state;

/** Apply one instruction to img, with and into the stage's state st. */
int berth_build__apply(build_solver *sv, berth_build_image *img, build_stage_state *st,
		       const berth_df_xinstr *x) BERTH_WARN_UNUSED;
/** CMD/ENTRYPOINT/RUN's argv as JSON text (exec form, or shell form through SHELL). */
int berth_build__command_json(berth_build_image *img, const berth_df_xinstr *x,
			      char **out) BERTH_WARN_UNUSED;
/** RUN (run.c). */
int berth_build__run(build_solver *sv, berth_build_image *img, const build_stage_state *st,
		     const berth_df_xinstr *x) BERTH_WARN_UNUSED;

/* ---- history entries as BuildKit 20.10 writes them (history.c) ---- */

/** Go's strconv.Quote of s onto b. */
int berth_build__go_quote(berth_buf *b, const char *s) BERTH_WARN_UNUSED;
/** Go's %q (quoted) or %v of a []string (a JSON array of strings) onto b. */
int berth_build__go_strv(berth_buf *b, const json_t *a, int quoted) BERTH_WARN_UNUSED;
/** "HEALTHCHECK &{...}": Go's %q of the config's Healthcheck h. */
int berth_build__history_healthcheck(berth_buf *b, const json_t *h) BERTH_WARN_UNUSED;
/** "RUN |N K=V ... argv # buildkit": the ARGs st declared, valued from env (the RUN's). */
int berth_build__history_run(berth_buf *b, const build_stage_state *st, const berth_df_vars *env,
			     const json_t *argv) BERTH_WARN_UNUSED;
/* ---- RUN --mount (mount.c) ---- */

typedef enum { BM_BIND, BM_CACHE, BM_TMPFS, BM_SECRET, BM_SSH } build_mount_type;
typedef enum { BM_SHARED, BM_PRIVATE, BM_LOCKED } build_mount_sharing;

/** One RUN --mount value as BuildKit reads it (defaults applied). */
typedef struct build_mount {
	build_mount_type type;
	char *target, *source, *from, *id, *env; /* malloc'd or NULL */
	int readonly, required;
	build_mount_sharing sharing;
	int mode;      /* -1 = the type's default */
	long uid, gid; /* -1 = 0 */
	uint64_t size; /* tmpfs; 0 = the kernel's default */
} build_mount;

/**
 * Parse a --mount value; `nssh` numbers the ssh mounts seen before (their
 * default targets). BERTH_EINVALID with BuildKit's message for an unknown
 * type or key, a bad value, a missing target.
 */
int berth_build__mount_parse(build_mount *m, const char *value, size_t nssh) BERTH_WARN_UNUSED;
void berth_build__mount_dispose(build_mount *m);

/** What a RUN's mounts hold while it runs: the sandbox mounts and what to release. */
typedef struct build_mounts build_mounts;

/**
 * Prepare the mounts of RUN x over img: secrets on a tmpfs, cache
 * directories of the store (locked as their sharing says), bind sources
 * (stages, images, the context; rw as a throw-away overlay), tmpfs, ssh
 * sockets, the heredoc script directory and /etc/hosts (--add-host). `*env`
 * gets extra "K=V" entries (secret env=, SSH_AUTH_SOCK). Errors name the line.
 */
int berth_build__mounts_prepare(build_mounts **out, build_solver *sv, berth_build_image *img,
				const berth_df_xinstr *x, const char *script_name,
				const char *script, size_t script_len) BERTH_WARN_UNUSED;
const berth_sandbox_mount *berth_build__mounts_list(const build_mounts *bm, size_t *n);
char *const *berth_build__mounts_env(const build_mounts *bm, size_t *n);
/** Unmount, unlock and remove what prepare made; secrets are wiped first. */
void berth_build__mounts_release(build_mounts *bm);
/** Hash what x's mounts read besides their specs (key.c). */
int berth_build__mounts_key(build_solver *sv, berth_hasher *h,
			    const berth_df_xinstr *x) BERTH_WARN_UNUSED;

/** COPY and ADD (copy.c). */
int berth_build__copy(build_solver *sv, berth_build_image *img,
		      const berth_df_xinstr *x) BERTH_WARN_UNUSED;

/* ---- COPY/ADD sources (copy.c, copysrc.c, add.c) ---- */

#define BERTH_BUILD_ADD_URL_MAX ((int64_t)8 << 30) /* bytes of one ADD URL download */
#define BERTH_BUILD_COPY_SOURCES_MAX 4096	   /* source words of one COPY/ADD */

/** One filesystem entry a COPY writes (the match itself has sub ""). */
typedef struct copy_item {
	char *host; /* the path to read on the host */
	char *sub;  /* its path under the match's target ("" = the target itself) */
	uint32_t mode, uid, gid;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	char *link;			       /* symlink target, or NULL */
	uint8_t hash[BERTH_CONTEXT_HASH_SIZE]; /* the context walk's digest (key only) */
	int has_hash;
	uint64_t size;	   /* regular files: the size seen when listed */
	uint64_t dev, ino; /* with nlink > 1, for the hard links among the files copied */
	uint32_t nlink;
	/* The earlier item of its match this file is a hard link of (the plan's; the copy
	 * writes it as a link, the key counts it), or SIZE_MAX. */
	size_t hardlink;
} copy_item;

/** One source after wildcard expansion: a file, a directory (its contents), an archive. */
typedef struct copy_match {
	char *name;	 /* base name (file into a directory destination) */
	char *keep;	 /* --parents: the path kept under the destination, else NULL */
	int is_dir;	 /* copy the contents into the destination */
	int unpack;	 /* ADD: a local tar archive, extracted into the destination */
	size_t first, n; /* its items */
} copy_match;

typedef struct copy_plan {
	copy_item *items;
	size_t nitems, icap;
	copy_match *matches;
	size_t nmatches, mcap;
	char tmpdir[PATH_MAX];	     /* downloads and heredoc files ("" = none) */
	berth_dockerignore *exclude; /* --exclude patterns, or NULL */
} copy_plan;

/**
 * The sources of a COPY/ADD: words expanded against the build context
 * (root NULL: the solver's walked context, .dockerignore applied) or a
 * stage's root directory, --exclude applied, URLs fetched and heredocs
 * written to p->tmpdir. No match at all is BERTH_ENOTFOUND naming the line.
 */
int berth_build__copy_plan(build_solver *sv, const berth_df_xinstr *x, const char *root,
			   copy_plan *p) BERTH_WARN_UNUSED;
void berth_build__copy_plan_dispose(copy_plan *p);

/**
 * `what` (an image reference as a Dockerfile writes it) normalised into
 * *ref (malloc'd) and the endpoints registries.conf gives for it, in order
 * (*ep: berth_registries_endpoints_free). On failure nothing to free.
 */
int berth_build__endpoints(build_solver *sv, const char *what, char **ref,
			   berth_registry_endpoint **ep, size_t *nep) BERTH_WARN_UNUSED;
/**
 * An image a build reads by reference (FROM, COPY --from, mount from=):
 * a named context's image, else `what` from the registry as registries.conf
 * rewrites it (mirrors, then the location), into the store (pull.c).
 * Thread-safe (one pull at a time). A directory named context is
 * BERTH_EUNSUPPORTED. The image's base_name is `what` normalised. `unpack`:
 * a step will read its files (its layers are unpacked as they download).
 */
int berth_build__pull(build_solver *sv, const char *what, const char *platform, int unpack,
		      berth_build_image **out) BERTH_WARN_UNUSED;

/** COPY --from: an earlier stage (name or index) or an image reference (*owned: to free). */
int berth_build__copy_from(build_solver *sv, const berth_df_xinstr *x, const char *from,
			   berth_build_image **img, berth_build_image **owned) BERTH_WARN_UNUSED;

/**
 * A --build-context named name (case-insensitive, as BuildKit): its value
 * after "NAME=", or NULL. *spec (when not NULL) gets the image spec for
 * the copy engine ("docker://REF", "oci:DIR:TAG") or "" for a directory.
 */
const char *berth_build__named_context(build_solver *sv, const char *name, char *spec, size_t len);

/** ADD: 1 if the file at path is a tar archive (plain or compressed), 0 if not. */
int berth_build__is_archive(const char *path);
/** ADD: extract the archive at path into dir (an O_PATH root fd + path inside it). */
int berth_build__extract(const char *path, int root, const char *dir, int64_t uid, int64_t gid);
/** ADD: fetch url into file path; checksum ("sha256:hex" or NULL) verified; mtime out. */
int berth_build__fetch(const char *url, const char *path, const char *checksum,
		       int64_t *mtime) BERTH_WARN_UNUSED;

/**
 * The cache key of step x after the state whose key is prev, in a stage
 * built for `platform` (FROM --platform, else the build's; NULL: this host)
 * (key.c).
 */
int berth_build__step_key(build_solver *sv, const char *prev, const char *platform,
			  const berth_df_xinstr *x, berth_digest *out) BERTH_WARN_UNUSED;
/** The digest of a built stage's result (config and layers), as later stages read it. */
int berth_build__result_digest(const berth_build_image *img, berth_digest *out) BERTH_WARN_UNUSED;
/** The cache record's path for a key. */
void berth_build__record_path(build_solver *sv, const berth_digest *key, char *out, size_t len);
/* ---- cache export and import (cache.c) ---- */

/** Parse --cache-to/--cache-from and read the imported records (before any step). */
int berth_build__cache_begin(build_solver *sv) BERTH_WARN_UNUSED;
void berth_build__cache_end(build_solver *sv);
/** A step of `stage` reached key (what --cache-to exports). Thread-safe. */
void berth_build__cache_note(build_solver *sv, size_t stage, const berth_digest *key);
/**
 * A local miss: an imported record of key becomes the local record rec
 * (its missing layer blobs pulled) and img's state. BERTH_ENOTFOUND if no
 * imported record has the key.
 */
int berth_build__cache_import(build_solver *sv, const berth_digest *key, berth_build_image *img,
			      const char *rec) BERTH_WARN_UNUSED;
/**
 * Parse a records document ({"version":1,"records":{key: record}}; `what`
 * names it in errors): *out gets the records object (owned). BERTH_EINVALID
 * ("corrupt cache artifact") for anything else, a record included whose
 * key is not a digest or whose shape is not a record's.
 */
int berth_build__cache_records_parse(const void *data, size_t len, const char *what,
				     json_t **out) BERTH_WARN_UNUSED;
/** --cache-to type=inline: the records into the target image's config (before commit). */
int berth_build__cache_inline(build_solver *sv, berth_build_image *img) BERTH_WARN_UNUSED;
/** --cache-to registry/local: export after the target was committed under tag. */
int berth_build__cache_export(build_solver *sv, const char *tag) BERTH_WARN_UNUSED;

/** Whether a stage may take cache hits (--no-cache, --no-cache-filter). */
int berth_build__stage_uses_cache(build_solver *sv, const berth_df_xstage *xs);

#endif
