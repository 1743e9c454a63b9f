/*
 * berth/oci.h - OCI and Docker schema2 manifests, indexes and descriptors.
 *
 * berth never re-serialises a manifest: the bytes received are the bytes
 * stored and served. This module only parses them (jansson) to learn what
 * they reference (config, layers, child manifests, subject) and to validate
 * them against the image-spec.
 */
#ifndef BERTH_OCI_H
#define BERTH_OCI_H

#include "berth/common.h"
#include "berth/digest.h"

#include <stdint.h>

#define BERTH_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define BERTH_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define BERTH_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define BERTH_MT_OCI_EMPTY "application/vnd.oci.empty.v1+json"
#define BERTH_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define BERTH_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define BERTH_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define BERTH_MT_DOCKER_V1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define BERTH_MT_DOCKER_V1 "application/vnd.docker.distribution.manifest.v1+json"

/*
 * Size caps, each defined here only.
 * BERTH_MANIFEST_MAX: a manifest or index received, fetched or read from a
 * layout or archive (also index.json and manifest.json), unless configured
 * otherwise; Distribution and containerd use the same 4 MiB.
 * BERTH_MANIFEST_CEILING: the largest manifest cap a configuration may set,
 * and so the most the registry ever reads back of a stored manifest.
 * BERTH_CONFIG_MAX: an image config read into memory.
 */
#define BERTH_MANIFEST_MAX ((size_t)4 << 20)
#define BERTH_MANIFEST_CEILING ((size_t)64 << 20)
#define BERTH_CONFIG_MAX ((size_t)16 << 20)

/* Deepest JSON nesting berth_manifest_parse accepts (a real manifest is 4 deep). */
#define BERTH_OCI_MAX_DEPTH 64

typedef enum {
	BERTH_OCI_IMAGE = 1, /* OCI image manifest or Docker schema2 manifest */
	BERTH_OCI_INDEX = 2  /* OCI image index or Docker manifest list */
} berth_oci_kind;

typedef struct berth_platform {
	char *os;	    /* may be NULL */
	char *architecture; /* may be NULL */
	char *variant;	    /* may be NULL */
	char *os_version;   /* may be NULL */
} berth_platform;

typedef struct berth_descriptor {
	char *media_type; /* required by the spec; NULL only if absent (then invalid) */
	berth_digest digest;
	int64_t size;
	char *artifact_type;	  /* may be NULL */
	char *annotations;	  /* compact JSON object text, or NULL */
	berth_platform *platform; /* index entries only; may be NULL */
} berth_descriptor;

typedef struct berth_manifest {
	berth_oci_kind kind;
	char *media_type;	 /* effective media type (see berth_manifest_parse) */
	char *artifact_type;	 /* manifest's artifactType, or NULL */
	berth_descriptor config; /* images only (config.media_type NULL for indexes) */
	berth_descriptor *layers;
	size_t nlayers;
	berth_descriptor *manifests; /* indexes only */
	size_t nmanifests;
	berth_descriptor *subject; /* NULL if none */
	char *annotations;	   /* compact JSON object text, or NULL */
} berth_manifest;

/**
 * Parse and validate manifest bytes.
 *
 * `content_type` is the Content-Type the client sent (may be NULL). The
 * effective media type is the body's "mediaType" if present, else
 * `content_type`; if both are present and differ, the manifest is invalid
 * (the distribution spec asks registries to refuse that). A body with no
 * mediaType and no usable content type is classified by shape ("manifests"
 * → OCI index, "config" → OCI manifest).
 *
 * Rules checked: JSON object; schemaVersion == 2; supported media type
 * (OCI manifest/index, Docker schema2 manifest/list; schema1 →
 * BERTH_EUNSUPPORTED); every descriptor has mediaType, a valid digest and a
 * non-negative size; images have a config; indexes have a manifests array.
 *
 * Also: nesting deeper than BERTH_OCI_MAX_DEPTH, duplicate object keys,
 * invalid UTF-8 and trailing bytes are refused; descriptor media types and
 * artifactType must have the RFC 6838 shape; a digest of an algorithm berth
 * does not implement makes the manifest invalid (BERTH_EINVALID); Docker
 * schema2 bodies must carry their mediaType (Docker's spec requires it); a
 * body whose fields contradict its media type (an index type with "config"
 * or "layers", an image type with "manifests") is invalid. Unknown fields
 * are ignored, as the spec asks. subject, artifactType and manifest-level
 * annotations are read for OCI types only (Docker schema2 has none).
 *
 * `*out` is owned by the caller (berth_manifest_free); it is NULL on error.
 * Returns 0, BERTH_EINVALID, BERTH_EUNSUPPORTED (schema1, unknown manifest
 * media type) or BERTH_ERROR (out of memory) with a message.
 */
int berth_manifest_parse(berth_manifest **out, const void *data, size_t len,
			 const char *content_type) BERTH_WARN_UNUSED;

/** Release a manifest from berth_manifest_parse; accepts NULL. */
void berth_manifest_free(berth_manifest *m);

/**
 * The artifact type a referrers response reports for this manifest:
 * artifactType if set, else config.mediaType for images, else NULL.
 * Borrowed.
 */
const char *berth_manifest_referrer_type(const berth_manifest *m);

/**
 * 1 if `mt` is exactly one of the four manifest media types berth accepts
 * (no parameters, case-sensitive; see berth_oci_content_type for headers).
 */
int berth_oci_is_manifest_type(const char *mt);

/** 1 if `mt` is exactly an index/list media type. */
int berth_oci_is_index_type(const char *mt);

/**
 * 1 if `mt` has the RFC 6838 shape the image-spec requires of descriptor
 * media types and artifactType: `type "/" subtype`, each part
 * [A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}, no parameters.
 */
int berth_oci_media_type_valid(const char *mt);

/**
 * Recognise an HTTP Content-Type/Accept value as a manifest media type:
 * parameters (";charset=...") and surrounding blanks are ignored and the
 * comparison is case-insensitive. Returns the canonical BERTH_MT_* constant
 * (static storage) for the four accepted types and for the two Docker
 * schema1 types, or NULL for anything else.
 */
const char *berth_oci_content_type(const char *content_type);

/** 1 if `mt` (canonical form) is a Docker schema1 media type. */
int berth_oci_is_schema1_type(const char *mt);

/**
 * The architecture this program runs on as OCI names it ("amd64", "arm64",
 * ...), and in *variant the variant assumed for it ("v8" for arm64) or NULL.
 * Static strings.
 */
const char *berth_oci_host_arch(const char **variant);

/* ---- rewriting manifests (copy conversions; src/lib/oci/convert.c) ---- */

typedef enum {
	BERTH_OCI_FORMAT_KEEP = 0, /* keep the family of the input */
	BERTH_OCI_FORMAT_OCI = 1,  /* OCI image manifest / image index */
	BERTH_OCI_FORMAT_V2S2 = 2  /* Docker schema2 manifest / manifest list */
} berth_oci_format;

/** "oci" or "v2s2" (also "docker") → the enum; BERTH_EINVALID otherwise. */
int berth_oci_format_parse(berth_oci_format *out, const char *name) BERTH_WARN_UNUSED;

/** What berth_manifest_rewrite changes. */
typedef struct berth_manifest_edit {
	berth_oci_format format;	/* target family */
	const berth_descriptor *layers; /* images: replacement layers (mediaType, digest, size),
					   same count, or NULL */
	size_t nlayers;
	const berth_descriptor *manifests; /* indexes: replacement children (mediaType, digest,
					      size), same count, or NULL */
	size_t nmanifests;
	const berth_descriptor
		*config; /* images: replacement config (mediaType, digest, size), or NULL */
} berth_manifest_edit;

/**
 * Rewrite manifest bytes as containers/image does when a copy converts:
 * the manifest, config, layer and child media types are mapped to the target
 * family (Docker layer tar/tar.gzip <-> OCI tar/tar+gzip, foreign <->
 * non-distributable, Docker config <-> OCI config, list <-> index), replaced
 * descriptors take the new mediaType/digest/size (keeping their other
 * fields), and the result is serialised compactly with the field order of
 * containers/image's Go structs. Fields Docker schema2 cannot express
 * (annotations, subject, artifactType) are dropped when converting to it.
 * Returns 0 with a malloc'd `*out` (caller frees) of `*out_len` bytes;
 * BERTH_EUNSUPPORTED when the target cannot express the content (zstd
 * layers or a non-image config in schema2); BERTH_EINVALID for bad input.
 */
int berth_manifest_rewrite(char **out, size_t *out_len, const void *body, size_t len,
			   const char *content_type,
			   const berth_manifest_edit *e) BERTH_WARN_UNUSED;

/**
 * Convert a Docker image config to the OCI image config containers/image
 * writes when it converts a schema2 image to OCI (skopeo copy into oci:, or
 * --format oci): the config is decoded into the OCI Go struct (keys matched
 * case-insensitively, Docker-only fields such as container_config dropped)
 * and re-encoded the way Go's encoding/json does (struct field order,
 * omitempty, sorted map keys, RFC 3339 times with trailing zeros trimmed,
 * <, >, & and U+2028/2029 escaped). Returns 0 with a malloc'd `*out` of
 * `*out_len` bytes; BERTH_EINVALID if the config does not decode.
 */
int berth_oci_config_from_docker(char **out, size_t *out_len, const void *cfg,
				 size_t len) BERTH_WARN_UNUSED;

/** The manifest media type `mt` maps to in family `f` (static), or NULL if `mt` is not one. */
const char *berth_oci_manifest_type_in(const char *mt, berth_oci_format f);

#endif
