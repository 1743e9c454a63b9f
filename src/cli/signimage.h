/*
 * signimage.h - what the image signing commands share: opening an image in
 * a registry (reference → client, digest, manifest), signing and attesting
 * one digest in either storage (tag schema or referrer bundle), and
 * collecting the valid signatures / attestations of a digest.
 */
#ifndef BERTH_CLI_SIGNIMAGE_H
#define BERTH_CLI_SIGNIMAGE_H

#include "opts.h"
#include "signopts.h"

#include "berth/client.h"
#include "berth/ref.h"
#include "berth/sign.h"

#include <jansson.h>

typedef struct simg {
	berth_ref *ref;
	berth_client *client;
	const char *repo; /* ref->path */
	char *identity;	  /* "host/repo": the docker-reference cosign signs */
	berth_digest digest;
	char media_type[128];
	char *manifest; /* bytes */
	size_t manifest_len;
} simg;

/** Resolve an image by tag or digest (prints errors). */
int simg_open(const char *cmd, const char *name, const opt_registry *reg, simg *im);
void simg_close(simg *im);

/** The options of a command that only names an image in a registry (download, tree). */
typedef struct simg_opts {
	opt_registry reg;
} simg_opts;

/** Its option table: the registry options (OPT_REGISTRY_ARGS). */
extern const berth_arg simg_registry_args[];

/**
 * What download and tree begin with: parse argv against spec (whose table
 * is simg_registry_args and whose one positional argument is the image),
 * then open the image. Returns 0 with im open (*rc BERTH_EXIT_FAIL), or -1
 * with the exit code to return in *rc (help printed: 0; usage error or
 * failure printed); simg_close(im) either way.
 */
int simg_cli_open(const berth_args_spec *spec, int argc, char **argv, simg *im, int *rc);

/** The digests of the manifests an index lists (malloc'd array), 0 for a manifest. */
int simg_children(const simg *im, berth_digest **out, size_t *n);

/** How to store a signature or attestation. */
typedef struct ssign_opts {
	const berth_sign_key *key;
	const sopt_annotations *ann;
	int bundle; /* referrer with a sigstore bundle v0.3 (oci-1-1 / --new-bundle-format) */
	const char *rekor; /* upload to this Rekor log (NULL: offline) */
} ssign_opts;

/** Sign one digest of im's repository (prints errors). */
int ssign_digest(const char *cmd, const simg *im, const berth_digest *d, const char *media_type,
		 size_t size, const ssign_opts *o);

/**
 * Sign the image `name` (by tag or digest) and, when recursive and it is an
 * index, every manifest it lists (cosign's --recursive: each platform's
 * image and BuildKit's attestation manifests alike). Prints errors.
 */
int ssign_image(const char *cmd, const char *name, const opt_registry *reg, const ssign_opts *o,
		int recursive);

/** Attest one digest with a predicate (prints errors). */
int sattest_digest(const char *cmd, const simg *im, const berth_digest *d, const char *media_type,
		   size_t size, const ssign_opts *o, const char *predicate_type,
		   const char *predicate, size_t predicate_len, int custom);

/** What verification checks against. */
typedef struct sverify_opts {
	const berth_sign_key *key;	     /* or NULL: keyless */
	const berth_sign_trusted_root *root; /* keyless */
	berth_sign_identity id;		     /* keyless */
	const sopt_annotations *ann;	     /* signatures: required annotations */
	const char *predicate_type;	     /* attestations: required type (NULL: any) */
	int attestations;		     /* 0: signatures, 1: attestations */
} sverify_opts;

/**
 * Check everything attached to im's digest; *valid gets a JSON array of the
 * verified payloads (cosign's output: simple-signing payloads for signatures,
 * DSSE envelopes for attestations) and *failures a JSON array of reasons.
 */
int sverify_image(const char *cmd, const simg *im, const sverify_opts *o, json_t **valid,
		  json_t **failures);

#endif
