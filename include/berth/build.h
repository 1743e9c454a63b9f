/*
 * berth/build.h - the build engine's store and images (the first layer of
 * `berth build`; the Dockerfile solver sits on top of it).
 *
 * A build store is one directory, shared by concurrent builds:
 *   <root>/content/     an OCI image layout: base images as pulled (OCI form),
 *                       the layers and configs builds make, built images by tag
 *   <root>/snapshots/   unpacked layers by diff ID (berth/snapshot.h)
 * Its root is $BERTH_ROOT, else /var/lib/berth-builder as root and
 * $XDG_DATA_HOME/berth (~/.local/share/berth) otherwise — never the
 * registry server's data directory.
 *
 * A berth_build_image is an image being built: its OCI config (a JSON
 * document edited in place: Env, Cmd, WorkingDir, ... and history), and its
 * layers with their diff IDs. Steps add layers (a RUN's changes, a COPY's
 * files) and config changes; commit writes the config and manifest into
 * the store's layout under a tag, from where the copy engine exports it to
 * any destination (registry, OCI layout or archive, docker-archive).
 *
 * Thread safety: a store may be shared by threads; one image belongs to one
 * thread at a time.
 */
#ifndef BERTH_BUILD_H
#define BERTH_BUILD_H

#include "berth/common.h"
#include "berth/digest.h"
#include "berth/dockerfile.h"
#include "berth/layer.h"
#include "berth/registries.h"
#include "berth/sandbox.h"
#include "berth/snapshot.h"
#include "berth/transport.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

typedef struct berth_build_store berth_build_store;
typedef struct berth_build_image berth_build_image;

/** The default store root (see above) into out; BERTH_ETOOBIG if it does not fit. */
int berth_build_store_default_root(char *out, size_t len) BERTH_WARN_UNUSED;

/**
 * Open or create the store at `root`. The open store holds <root>/lock
 * shared until it is freed (a prune waits for it); when no other process
 * holds the store, what killed builds left behind is swept first.
 */
int berth_build_store_open(berth_build_store **out, const char *root) BERTH_WARN_UNUSED;

/**
 * Hold the store alone (for prune): wait until no other process has it
 * open (`wait`), or fail with BERTH_EBUSY. Leftovers are swept.
 */
int berth_build_store_exclusive(berth_build_store *s, int wait) BERTH_WARN_UNUSED;
void berth_build_store_free(berth_build_store *s);

/** What a store holds (berth_build_store_usage); sizes are apparent bytes of files. */
typedef struct berth_build_usage {
	uint64_t records, records_bytes;     /* step records (the layer cache's index) */
	uint64_t images, build_tags;	     /* tags in the layout; of them build-<time>-<pid> */
	uint64_t blobs, blobs_bytes;	     /* layers, configs, manifests */
	uint64_t snapshots, snapshots_bytes; /* unpacked layers */
	uint64_t cache_mounts, cache_mounts_bytes; /* RUN --mount=type=cache directories */
	uint64_t total_bytes;			   /* everything under the root */
} berth_build_usage;

/** Count what the store holds (a build may run meanwhile: a snapshot in time). */
int berth_build_store_usage(berth_build_store *s, berth_build_usage *u) BERTH_WARN_UNUSED;

typedef struct berth_build_prune_opts {
	int all;	       /* also the images by tag (pulled bases), not only the build cache */
	uint64_t keep_storage; /* > 0: remove oldest first only until the store is this small */
	int64_t until;	       /* > 0: only what was last used more than this many seconds ago */
} berth_build_prune_opts;

/**
 * Remove build cache: step records, build-<time>-<pid> tags, cache mounts
 * (with `all`: every tag), then every blob and unpacked layer nothing left
 * refers to. The caller holds the store alone (berth_build_store_exclusive).
 * `freed` (optional) gets what went. docs/build-cache.md.
 */
int berth_build_store_prune(berth_build_store *s, const berth_build_prune_opts *o,
			    berth_build_usage *freed) BERTH_WARN_UNUSED;

/** The store's OCI layout directory (borrowed). */
const char *berth_build_store_content(const berth_build_store *s);

/** The store's snapshots (borrowed). */
berth_snapshots *berth_build_store_snapshots(berth_build_store *s);

/* ---- images ---- */

/**
 * An empty image (FROM scratch) for `platform` ("os/arch[/variant]"; NULL
 * = linux/<this host>), with BuildKit's defaults: Env PATH only.
 */
int berth_build_image_scratch(berth_build_image **out, const char *platform) BERTH_WARN_UNUSED;

/* berth_build_image_from's flags. */
#define BERTH_BUILD_FROM_REFRESH 1u /* copy it again even if the store has the tag (--pull) */
#define BERTH_BUILD_FROM_UNPACK 2u  /* unpack the layers it downloads as they arrive */

/**
 * The image `src` (any transport) for `platform`, copied into the store if
 * it is not there yet (or BERTH_BUILD_FROM_REFRESH), as the base of a new
 * image. Its layers are unpacked when a step needs a root
 * (berth_build_image_root), or, with BERTH_BUILD_FROM_UNPACK, while they
 * download (the unpack keeps pace with the download: the layer is
 * decompressed and written as its bytes arrive, instead of after). Records
 * the base name and manifest digest for the org.opencontainers.image.base.*
 * annotations.
 */
int berth_build_image_from(berth_build_image **out, berth_build_store *s,
			   const berth_image_name *src, const berth_transport_options *o,
			   const char *platform, unsigned flags) BERTH_WARN_UNUSED;

void berth_build_image_free(berth_build_image *img);

/** A copy of an image (a stage built on another stage). */
int berth_build_image_clone(berth_build_image **out,
			    const berth_build_image *img) BERTH_WARN_UNUSED;

/** Number of layers. */
size_t berth_build_image_layers(const berth_build_image *img);

/**
 * A working root over the image's layers (unpacking those not unpacked
 * yet, verified by diff ID). The caller frees it.
 */
int berth_build_image_root(berth_workroot **out, berth_build_store *s,
			   berth_build_image *img) BERTH_WARN_UNUSED;

/* ---- config ---- */

/** The config's Env value of `key`, or NULL (borrowed until the next change). */
const char *berth_build_image_env(const berth_build_image *img, const char *key);
/** Set (replace or append) KEY=value in the config's Env. */
int berth_build_image_set_env(berth_build_image *img, const char *key,
			      const char *value) BERTH_WARN_UNUSED;
/**
 * The config's Env as a NULL-terminated "KEY=value" list (malloc'd; free
 * with berth_build_strv_free).
 */
char **berth_build_image_envv(const berth_build_image *img);
void berth_build_strv_free(char **v);

/**
 * Set a config field from JSON text: `field` is a key of the config's
 * "config" object (Cmd, Entrypoint, WorkingDir, User, ExposedPorts,
 * Volumes, Labels, StopSignal, Healthcheck, Shell, OnBuild, ...); `json`
 * NULL removes it. BERTH_EINVALID for JSON that does not parse.
 */
int berth_build_image_set_config(berth_build_image *img, const char *field,
				 const char *json) BERTH_WARN_UNUSED;
/** The JSON text of a config field (malloc'd), or NULL if unset. */
char *berth_build_image_config(const berth_build_image *img, const char *field);

/** Append a history entry (created_by as BuildKit writes it). */
int berth_build_image_history(berth_build_image *img, const char *created_by,
			      int empty_layer) BERTH_WARN_UNUSED;

/* ---- steps that make layers ---- */

/**
 * Turn a working root's changes into a layer of the image (blob written to
 * the store) with a history entry; a root without changes adds no layer
 * and an empty_layer history entry, as BuildKit does. `*added` (optional)
 * tells which. A layer added (and times not clamped), the root is
 * unmounted and its upper directory kept as the layer's snapshot
 * (berth_workroot_keep): only berth_workroot_free() may follow.
 */
int berth_build_image_commit_root(berth_build_image *img, berth_build_store *s, berth_workroot *w,
				  const char *created_by, const berth_diff_options *o,
				  int *added) BERTH_WARN_UNUSED;

/** What a RUN step runs (the sandbox's spec without the root and credentials). */
typedef struct berth_build_run {
	char *const *argv;
	char *const *env; /* NULL = the image's Env */
	const char *cwd;  /* NULL = the config's WorkingDir, else "/" */
	const char *user; /* NULL = the config's User, else root */
	const char *hostname;
	berth_sandbox_net net;
	const berth_sandbox_mount *mounts;
	size_t nmounts;
	int stdout_fd, stderr_fd;
	const berth_sandbox_rlimit *rlimits; /* --ulimit */
	size_t nrlimits;
	uint64_t shm_size; /* --shm-size, 0 = the sandbox's default */
} berth_build_run;

/**
 * Run a step in a working root over the image; on exit status 0 its
 * changes become a layer (berth_build_image_commit_root). The mount points
 * the sandbox had to create for r->mounts (and their missing parents) are
 * removed again when they are still empty, as BuildKit removes its mount
 * stubs, so a secret or cache mount leaves no trace in the layer. `*status` gets
 * the command's status; a non-zero status changes nothing and returns 0.
 */
int berth_build_image_run(berth_build_image *img, berth_build_store *s, const berth_build_run *r,
			  const char *created_by, const berth_diff_options *o,
			  int *status) BERTH_WARN_UNUSED;

/* ---- the result ---- */

/**
 * Write the image's config and manifest (OCI; base annotations when it
 * came from an image) into the store and tag it `tag` in the layout.
 * `created` (>= 0: SOURCE_DATE_EPOCH) is the config's created time and
 * clamps later history times; < 0 takes the last step's time, as BuildKit.
 * `digest` (optional) gets the manifest digest.
 */
int berth_build_image_commit(berth_build_image *img, berth_build_store *s, const char *tag,
			     int64_t created, berth_digest *digest) BERTH_WARN_UNUSED;

/* ---- a Dockerfile ---- */

/* Size caps of untrusted build inputs. */
#define BERTH_BUILD_SECRET_MAX (500u << 10) /* bytes of one secret (BuildKit's limit) */
#define BERTH_BUILD_MOUNT_SPEC_MAX 4096	    /* bytes of one RUN --mount value */
#define BERTH_BUILD_EXTRA_HOSTS_MAX 256	    /* --add-host entries */
#define BERTH_BUILD_RESOLV_MAX (64 * 1024)  /* bytes of the host's /etc/resolv.conf read */
/* The files every RUN gets bound (read-only), as BuildKit binds them. */
#define BERTH_BUILD_HOSTS_PATH "/etc/hosts"
#define BERTH_BUILD_RESOLV_PATH "/etc/resolv.conf"

/** A secret a RUN may mount (--secret id=X,src=FILE|env=VAR). */
typedef struct berth_build_secret {
	const char *id;
	const char *src; /* file to read, or NULL */
	const char *env; /* environment variable to read (when src is NULL) */
} berth_build_secret;

/** An SSH agent socket a RUN may mount (--ssh default|ID=SOCKET). */
typedef struct berth_build_ssh {
	const char *id;	    /* "default" for --ssh default */
	const char *socket; /* the agent's socket path */
} berth_build_ssh;

/** One --add-host entry. */
typedef struct berth_build_host {
	const char *name;
	const char *ip;
} berth_build_host;

typedef struct berth_build_opts {
	const char *context;		 /* the build context directory */
	const char *dockerfile;		 /* NULL = <context>/Dockerfile */
	const berth_df_vars *build_args; /* --build-arg (may be NULL) */
	const char *target;		 /* NULL = the last stage */
	const char *platform;		 /* "os/arch[/variant]", or a comma-separated list of them
					    (several platforms: see berth_build_dockerfile); NULL =
					    linux/<this host> */
	int pull;			 /* refresh base images */
	int no_cache;			 /* run every step */
	const char *const *no_cache_filter; /* stages (names or indexes) that run every step */
	size_t nno_cache_filter;
	berth_sandbox_net net;			 /* RUN's network unless RUN --network says */
	int64_t source_date_epoch;		 /* >= 0: clamp times (SOURCE_DATE_EPOCH) */
	berth_layer_compression compression;	 /* of new layers */
	int compression_level;			 /* of new layers (1..); 0 = the format's default */
	const berth_transport_options *registry; /* credentials for base images */
	FILE *log;				 /* steps and their output; NULL = stderr */
	int jobs; /* stages built at once (--jobs); <= 0 = the CPU count */
	/* Base image names rewritten / mirrored (registries.conf); NULL = as written. */
	const berth_registries *registries;
	const char *const *labels; /* --label K=V: set on the target image's config */
	size_t nlabels;
	const berth_build_secret *secrets; /* --secret: values are read when a RUN mounts them */
	size_t nsecrets;
	const berth_build_ssh *ssh; /* --ssh */
	size_t nssh;
	const berth_build_host *hosts; /* --add-host: in the RUN steps' /etc/hosts */
	size_t nhosts;
	const berth_sandbox_rlimit *rlimits; /* --ulimit */
	size_t nrlimits;
	uint64_t shm_size; /* --shm-size of RUN's /dev/shm; 0 = 64 MiB */
	/* --build-context NAME=DIR | NAME=docker-image://REF | NAME=oci-layout://DIR[:TAG]:
	 * read by FROM NAME and COPY --from=NAME, before stages and images of that name */
	const char *const *build_contexts;
	size_t nbuild_contexts;
	/* --cache-from (type=registry,ref=R | type=local,src=DIR[,tag=T] | REF) and
	 * --cache-to (type=registry,ref=R | type=local,dest=DIR | type=inline;
	 * mode=min|max): docs/build-cache.md */
	const char *const *cache_from;
	size_t ncache_from;
	const char *const *cache_to;
	size_t ncache_to;
} berth_build_opts;

/**
 * Build the target stage of a Dockerfile and commit it in the store as
 * `tag`; `digest` (optional) gets its manifest digest. Errors name the
 * Dockerfile line ("Dockerfile:7: RUN: process ... exit code: 2").
 *
 * Several platforms (o->platform "linux/amd64,linux/arm64"): the target is
 * built once per platform, in the order given (TARGETPLATFORM, TARGETOS,
 * TARGETARCH, TARGETVARIANT per platform; BUILDPLATFORM the host; base
 * images picked from their indexes per platform). A step whose cache key an
 * earlier platform made in this build is reused, even under --no-cache: a
 * `FROM --platform=$BUILDPLATFORM` stage runs once. Each platform's image is
 * committed under the tag "<tag>.<os>-<arch>[-<variant>]" (see
 * berth_build_platform_tag) and `tag` names an OCI image index of them
 * (berth_build_index_commit); `digest` gets the index's digest. Exporters
 * copy `oci:<content>:<tag>` with berth_copy_options.all = 1 to write or push
 * the whole index, or one platform's tag for a single image.
 * A RUN of a platform the host does not run natively needs an emulator
 * registered in binfmt_misc with the F flag (docs/build-platforms.md);
 * without one the build fails with BERTH_EUNSUPPORTED saying how to
 * register it. A platform that is not linux/<known arch> is BERTH_EINVALID
 * before anything is built.
 */
int berth_build_dockerfile(berth_build_store *s, const berth_build_opts *o, const char *tag,
			   berth_digest *digest) BERTH_WARN_UNUSED;

/* ---- exporters (export.c): where a built image goes ---- */

#define BERTH_BUILD_OUTPUT_SPEC_MAX 8192 /* bytes of one --output value */
#define BERTH_BUILD_OUTPUT_NAMES_MAX 64	 /* names of one output (name=a,b) */
#define BERTH_BUILD_ANNOTATIONS_MAX 256	 /* --annotation values */

typedef enum {
	BERTH_BUILD_OUT_IMAGE,	/* type=image|registry: kept in the store; push=true pushes */
	BERTH_BUILD_OUT_OCI,	/* an OCI archive (tar=true) or layout directory */
	BERTH_BUILD_OUT_DOCKER, /* a docker-archive file; no dest: load into docker/podman */
	BERTH_BUILD_OUT_LOCAL,	/* the image's file tree into a directory */
	BERTH_BUILD_OUT_TAR,	/* the image's file tree as a tar */
} berth_build_out_type;

/** One --output, as buildx reads it (berth_build_output_parse). */
typedef struct berth_build_output {
	berth_build_out_type type;
	char *dest;   /* file or directory; "-" = stdout; NULL = none */
	int tar;      /* oci: 1 an archive (default), 0 a layout directory */
	char **names; /* name=: image names (pushed, or the archive's tag) */
	size_t nnames;
	int push;	    /* image: push to every name */
	int oci_mediatypes; /* 1 OCI media types, 0 Docker's, -1 the type's default */
	int compression;    /* a berth_layer_compression, or -1: as built */
	int level;	    /* compression-level=N; -1 = the format's default */
	int force;	    /* force-compression=true: recompress every layer */
	char **annotations; /* annotation[-TYPE][[PLATFORM]].KEY=VALUE, as --annotation */
	size_t nannotations;
} berth_build_output;

/**
 * Parse one --output value: "type=T,k=v,..." (CSV, quotes allowed: name="a,b"),
 * or the short forms "DIR" (type=local,dest=DIR) and "-" (type=tar,dest=-);
 * type=registry is type=image,push=true. Keys: dest, tar, name, push,
 * oci-mediatypes, compression (gzip|zstd|uncompressed), compression-level,
 * force-compression, annotation.*; other keys BuildKit knows and berth
 * ignores (e.g. unpack, store) are accepted. BERTH_EINVALID with a message
 * for an unknown type, a missing dest where one is needed (local, tar,
 * oci), dest=- for local, a bad value. Free with berth_build_output_dispose.
 */
int berth_build_output_parse(berth_build_output *out, const char *spec) BERTH_WARN_UNUSED;
void berth_build_output_dispose(berth_build_output *o);

/** What an export needs besides the output. */
typedef struct berth_build_export_opts {
	const berth_transport_options *registry; /* credentials for pushes */
	const char *const *tags;		 /* -t: names when the output has none */
	size_t ntags;
	/* --annotation [TYPE[,TYPE...]][[PLATFORM]]:KEY=VALUE, TYPE one of manifest (the
	 * default), manifest-descriptor, index, index-descriptor */
	const char *const *annotations;
	size_t nannotations;
	const char *loader; /* type=docker without dest: "docker", "podman" or NULL = find one */
} berth_build_export_opts;

/**
 * Export the image committed in the store as `tag` (berth_build_dockerfile)
 * to `out`. Layers are recompressed first when the output asks
 * (compression= other than the layer's, or force-compression), annotations
 * added to the manifest; the variant is kept in the store. Files and new
 * directories are written under a temporary name and renamed at the end, so
 * a failed export leaves nothing half-written (local into an existing
 * directory writes into it). `digest` (optional) gets the manifest digest
 * exported (after recompression and annotations). type=docker without dest
 * streams a docker-archive into `docker load` (DOCKER_HOST honoured) or
 * `podman load`; BERTH_ENOTFOUND when neither is on PATH.
 */
int berth_build_export(berth_build_store *s, const char *tag, const berth_build_output *out,
		       const berth_build_export_opts *eo, berth_digest *digest) BERTH_WARN_UNUSED;

/* ---- several platforms ---- */

#define BERTH_BUILD_PLATFORM_MAX 64  /* bytes of one normalised "os/arch[/variant]" */
#define BERTH_BUILD_PLATFORMS_MAX 16 /* platforms of one build */

/** One platform's image of a multi-platform build, committed in the store. */
typedef struct berth_build_platform_image {
	char platform[BERTH_BUILD_PLATFORM_MAX]; /* normalised: "linux/arm64", "linux/arm/v7" */
	berth_digest manifest;			 /* its OCI manifest's digest (a store blob) */
	int64_t size;				 /* the manifest's size in bytes */
} berth_build_platform_image;

/**
 * The layout tag of one platform's image of the build tagged `tag`:
 * "<tag>.<os>-<arch>[-<variant>]" into out; BERTH_ETOOBIG if it does not fit.
 */
int berth_build_platform_tag(char *out, size_t len, const char *tag,
			     const char *platform) BERTH_WARN_UNUSED;

/**
 * Write an OCI image index of `n` images already in the store (each
 * descriptor with its platform: os, architecture, variant) and tag it `tag`
 * in the store's layout; `digest` (optional) gets the index's digest.
 */
int berth_build_index_commit(berth_build_store *s, const char *tag,
			     const berth_build_platform_image *imgs, size_t n,
			     berth_digest *digest) BERTH_WARN_UNUSED;

/** What `berth build --sbom / --provenance` attaches (berth_build_attest). */
typedef struct berth_build_attest_opts {
	int sbom;		     /* an SPDX 2.3 SBOM of the built image */
	int provenance;		     /* 0 none, 1 SLSA v0.2 mode=min, 2 mode=max */
	const char *name;	     /* the image's name (first --tag) for subjects, or NULL */
	const char *dockerfile_name; /* invocation.configSource.entryPoint; NULL = "Dockerfile" */
	const void *dockerfile;	     /* its text (mode=max), or NULL */
	size_t dockerfile_len;
	const char *const *build_args; /* "K=V" (mode=max) */
	size_t nbuild_args;
	time_t started; /* buildStartedOn; 0 = now */
} berth_build_attest_opts;

/**
 * Attach attestations to the image committed as `tag`, as BuildKit does:
 * an OCI index (the image with its platform, and an attestation manifest
 * with platform unknown/unknown, annotated vnd.docker.reference.type
 * "attestation-manifest" and vnd.docker.reference.digest the image's
 * digest, whose layers are in-toto statements) replaces the image under
 * `tag`. `index_out` gets the index digest. Nothing to do (0) when neither
 * is asked for. BERTH_EUNSUPPORTED when `tag` is not one OCI image.
 */
int berth_build_attest(berth_build_store *s, const berth_build_attest_opts *o, const char *tag,
		       berth_digest *index_out) BERTH_WARN_UNUSED;

#endif
