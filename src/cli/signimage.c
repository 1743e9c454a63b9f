/*
 * signimage.c - image signing and verification shared by sign, attest,
 * verify and verify-attestation; see signimage.h.
 */
#include "signimage.h"
#include "cli.h"

#include "util/buf.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define BUNDLE_PREFIX "application/vnd.dev.sigstore.bundle"

int simg_open(const char *cmd, const char *name, const opt_registry *reg, simg *im)
{
	berth_buf body = BERTH_BUF_INIT(0);
	int rc;

	memset(im, 0, sizeof(*im));
	if (opt_docker_ref(cmd, name, &im->ref) < 0 ||
	    opt_client(cmd, im->ref->domain, reg->tls_verify, &reg->creds, reg->auth_file,
		       &im->client) < 0)
		return -1;
	im->repo = im->ref->path;
	if (asprintf(&im->identity, "%s/%s", im->ref->domain, im->ref->path) < 0) {
		im->identity = NULL;
		return berth_cli_fail(cmd, -1, "out of memory");
	}
	rc = berth_client_manifest_get(im->client, im->repo,
				       im->ref->digest ? im->ref->digest
						       : (im->ref->tag ? im->ref->tag : "latest"),
				       &body, im->media_type, sizeof(im->media_type), &im->digest);
	if (rc < 0) {
		berth_buf_dispose(&body);
		return berth_cli_fail(cmd, -1, "%s: %s", name, berth_error_last());
	}
	im->manifest = berth_buf_detach(&body, &im->manifest_len);
	return 0;
}

const berth_arg simg_registry_args[] = {
	OPT_REGISTRY_ARGS(simg_opts, reg),
	BERTH_OPT_END,
};

int simg_cli_open(const berth_args_spec *spec, int argc, char **argv, simg *im, int *rc)
{
	simg_opts o;
	int n, r;

	memset(im, 0, sizeof(*im));
	opt_registry_init(&o.reg);
	if ((r = berth_args_parse(spec, &o, argc, argv, &n)) != BERTH_ARGS_OK) {
		*rc = berth_args_exit(r);
		return -1;
	}
	r = -1;
	*rc = BERTH_EXIT_USAGE;
	if (opt_registry_check(spec->cmd, &o.reg) < 0)
		goto done;
	*rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	r = simg_open(spec->cmd, argv[n], &o.reg, im);
done:
	opt_registry_dispose(&o.reg);
	return r == 0 ? 0 : -1;
}

void simg_close(simg *im)
{
	berth_client_free(im->client);
	berth_ref_free(im->ref);
	free(im->identity);
	free(im->manifest);
	memset(im, 0, sizeof(*im));
}

int simg_children(const simg *im, berth_digest **out, size_t *n)
{
	json_t *doc, *ms, *m;
	size_t i;

	*out = NULL;
	*n = 0;
	if (strcmp(im->media_type, OCI_INDEX) != 0 && strcmp(im->media_type, DOCKER_LIST) != 0)
		return 0;
	doc = json_loadb(im->manifest, im->manifest_len, 0, NULL);
	ms = json_object_get(doc, "manifests");
	*out = calloc(json_array_size(ms) + 1, sizeof(**out));
	if (!*out) {
		json_decref(doc);
		return -1;
	}
	json_array_foreach(ms, i, m)
	{
		const char *d = json_string_value(json_object_get(m, "digest"));

		if (d && berth_digest_parse(&(*out)[*n], d, strlen(d)) == 0)
			(*n)++;
	}
	json_decref(doc);
	return 0;
}

static void now_rfc3339(char *buf, size_t n)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * --tlog-upload of a DSSE envelope: an intoto entry in the Rekor log (as
 * cosign uploads attestations); *entry gets the bundle's tlog entry.
 */
static int upload_dsse(const ssign_opts *o, const char *env, char **entry)
{
	*entry = NULL;
	return o->rekor ? berth_sign_rekor_upload_dsse(entry, o->rekor, o->key, env) : 0;
}

/* A DSSE envelope over `stmt` stored as a referrer bundle of d. */
static int push_bundle(const char *cmd, const simg *im, const berth_digest *d,
		       const char *media_type, size_t size, const ssign_opts *o, const char *stmt,
		       size_t stmt_len, const char *predicate_type)
{
	char *env = NULL, *bundle = NULL, *entry = NULL, created[32];
	size_t env_len, bundle_len;
	berth_digest ref;
	berth_sign_annotation ann[3] = {{"dev.sigstore.bundle.content", "dsse-envelope"},
					{"dev.sigstore.bundle.predicateType", predicate_type},
					{"org.opencontainers.image.created", created}};
	int rc = -1;

	now_rfc3339(created, sizeof(created));
	if (berth_sign_dsse_sign(&env, &env_len, o->key, BERTH_SIGN_INTOTO_PT, stmt, stmt_len) <
		    0 ||
	    upload_dsse(o, env, &entry) < 0 ||
	    berth_sign_bundle_write_key(&bundle, &bundle_len, o->key, NULL, NULL, 0, env, entry) <
		    0 ||
	    berth_sign_image_attach_referrer(im->client, im->repo, d, media_type, size,
					     BERTH_SIGN_BUNDLE_V03, BERTH_SIGN_BUNDLE_V03, bundle,
					     bundle_len, ann, 3, &ref) < 0) {
		berth_cli_fail(cmd, -1, "%s@%s: %s", im->identity, d->str, berth_error_last());
		goto done;
	}
	fprintf(stderr, "Pushed referrer %s@%s for %s\n", im->identity, ref.str, d->str);
	rc = 0;
done:
	free(env);
	free(entry);
	free(bundle);
	return rc;
}

/* cosign v3's image signature statement carries -a annotations in the predicate. */
static int sign_statement(char **out, size_t *len, const simg *im, const berth_digest *d,
			  const sopt_annotations *ann)
{
	json_t *pred = json_object(), *a = json_object();
	char *text;
	int rc;

	for (size_t i = 0; ann && i < ann->n; i++)
		json_object_set_new(a, ann->a[i].key, json_string(ann->a[i].value));
	if (json_object_size(a))
		json_object_set(pred, "annotations", a);
	text = json_dumps(pred, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(pred);
	json_decref(a);
	if (!text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_sign_intoto_statement(out, len, im->identity, d->str,
					 BERTH_SIGN_COSIGN_SIGN_PREDICATE, text, strlen(text), 0);
	free(text);
	return rc;
}

/*
 * --tlog-upload: a hashedrekord entry for the payload's signature in the
 * Rekor log; *bundle gets cosign's Rekor bundle annotation for it.
 */
static int upload(const ssign_opts *o, const char *payload, size_t len, const unsigned char *sig,
		  size_t sig_len, char **bundle)
{
	unsigned char h[32];
	char *entry = NULL;
	int rc;

	SHA256((const unsigned char *)payload, len, h);
	rc = berth_sign_rekor_upload(&entry, o->rekor, o->key, h, sig, sig_len);
	if (rc == 0)
		rc = berth_sign_legacy_rekor_bundle(bundle, entry);
	free(entry);
	return rc;
}

int ssign_digest(const char *cmd, const simg *im, const berth_digest *d, const char *media_type,
		 size_t size, const ssign_opts *o)
{
	char *payload = NULL, *b64 = NULL, *rekor = NULL;
	unsigned char *sig = NULL;
	size_t len, sig_len;
	berth_sign_annotation sa[2];
	int rc = -1;

	if (o->bundle) {
		if (sign_statement(&payload, &len, im, d, o->ann) < 0) {
			berth_cli_fail(cmd, -1, "%s", berth_error_last());
			goto done;
		}
		rc = push_bundle(cmd, im, d, media_type, size, o, payload, len,
				 BERTH_SIGN_COSIGN_SIGN_PREDICATE);
		goto done;
	}
	if (berth_sign_simple_signing(&payload, &len, im->identity, d->str,
				      o->ann ? o->ann->a : NULL, o->ann ? o->ann->n : 0) < 0 ||
	    berth_sign_key_sign(o->key, payload, len, &sig, &sig_len) < 0 ||
	    berth_sign_b64_encode(&b64, sig, sig_len) < 0) {
		berth_cli_fail(cmd, -1, "%s", berth_error_last());
		goto done;
	}
	if (o->rekor && upload(o, payload, len, sig, sig_len, &rekor) < 0) {
		berth_cli_fail(cmd, -1, "%s", berth_error_last());
		goto done;
	}
	sa[0].key = BERTH_SIGN_ANNOTATION_SIG;
	sa[0].value = b64;
	sa[1].key = BERTH_SIGN_ANNOTATION_BUNDLE;
	sa[1].value = rekor;
	if (berth_sign_image_attach_tag(im->client, im->repo, d, "sig", BERTH_SIGN_SIMPLESIGNING_MT,
					payload, len, sa, rekor ? 2 : 1, 0) < 0) {
		berth_cli_fail(cmd, -1, "%s@%s: %s", im->identity, d->str, berth_error_last());
		goto done;
	}
	fprintf(stderr, "Pushed signature to %s:%s-%s.sig\n", im->identity,
		berth_digest_algo_name(d->algo), berth_digest_hex(d));
	rc = 0;
done:
	free(payload);
	free(sig);
	free(b64);
	free(rekor);
	return rc;
}

int ssign_image(const char *cmd, const char *name, const opt_registry *reg, const ssign_opts *o,
		int recursive)
{
	berth_digest *kids = NULL;
	size_t n = 0;
	simg im;
	int rc = -1;

	if (simg_open(cmd, name, reg, &im) < 0)
		goto done;
	if (ssign_digest(cmd, &im, &im.digest, im.media_type, im.manifest_len, o) < 0)
		goto done;
	if (recursive && simg_children(&im, &kids, &n) < 0) {
		berth_cli_fail(cmd, -1, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		char mt[128];
		berth_digest got;
		uint64_t size;

		if (berth_client_manifest_head(im.client, im.repo, kids[i].str, &got, mt,
					       sizeof(mt), &size) < 0) {
			berth_cli_fail(cmd, -1, "%s@%s: %s", im.identity, kids[i].str,
				       berth_error_last());
			goto done;
		}
		if (ssign_digest(cmd, &im, &kids[i], mt, (size_t)size, o) < 0)
			goto done;
	}
	rc = 0;
done:
	free(kids);
	simg_close(&im);
	return rc;
}

int sattest_digest(const char *cmd, const simg *im, const berth_digest *d, const char *media_type,
		   size_t size, const ssign_opts *o, const char *predicate_type,
		   const char *predicate, size_t predicate_len, int custom)
{
	char *stmt = NULL, *env = NULL, *entry = NULL, *rekor = NULL;
	size_t stmt_len, env_len;
	berth_sign_annotation sa[3] = {{BERTH_SIGN_ANNOTATION_SIG, ""},
				       {"predicateType", predicate_type},
				       {BERTH_SIGN_ANNOTATION_BUNDLE, NULL}};
	int rc = -1;

	if (berth_sign_intoto_statement(&stmt, &stmt_len, im->identity, d->str, predicate_type,
					predicate, predicate_len, custom) < 0) {
		berth_cli_fail(cmd, -1, "%s", berth_error_last());
		goto done;
	}
	if (o->bundle) {
		rc = push_bundle(cmd, im, d, media_type, size, o, stmt, stmt_len, predicate_type);
		goto done;
	}
	/* cosign's legacy attestations carry the Rekor bundle as signatures do. */
	if (berth_sign_dsse_sign(&env, &env_len, o->key, BERTH_SIGN_INTOTO_PT, stmt, stmt_len) <
		    0 ||
	    upload_dsse(o, env, &entry) < 0 ||
	    (entry && berth_sign_legacy_rekor_bundle(&rekor, entry) < 0)) {
		berth_cli_fail(cmd, -1, "%s", berth_error_last());
		goto done;
	}
	sa[2].value = rekor;
	if (berth_sign_image_attach_tag(im->client, im->repo, d, "att", BERTH_SIGN_DSSE_MT, env,
					env_len, sa, rekor ? 3 : 2, 0) < 0) {
		berth_cli_fail(cmd, -1, "%s@%s: %s", im->identity, d->str, berth_error_last());
		goto done;
	}
	fprintf(stderr, "Pushed attestation to %s:%s-%s.att\n", im->identity,
		berth_digest_algo_name(d->algo), berth_digest_hex(d));
	rc = 0;
done:
	free(stmt);
	free(env);
	free(entry);
	free(rekor);
	return rc;
}

/* ---- verification ---- */

typedef struct vstate {
	const simg *im;
	const sverify_opts *o;
	json_t *valid, *failures;
} vstate;

static void fail_item(vstate *v, const berth_sign_attached *a, const char *why)
{
	json_array_append_new(v->failures,
			      json_pack("{s:s,s:s,s:s}", "source", a->source, "layer",
					a->layer_digest ? a->layer_digest : "", "error", why));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* obj with its keys in byte order, as Go marshals a map. */
static json_t *sorted_copy(json_t *obj)
{
	size_t n = json_object_size(obj), i = 0;
	const char **keys = calloc(n + 1, sizeof(*keys)), *k;
	json_t *out = json_object(), *x;

	json_object_foreach(obj, k, x) if (keys) keys[i++] = k;
	if (keys)
		qsort(keys, n, sizeof(*keys), cmp_str);
	for (i = 0; keys && i < n; i++)
		json_object_set(out, keys[i], json_object_get(obj, keys[i]));
	free(keys);
	return out;
}

/*
 * What cosign's `verify --format json` prints for a verified legacy layer:
 * its payload, with in "optional" the certificate's Subject (first SAN),
 * Issuer (also under its OID, 1.3.6.1.4.1.57264.1.1) and cosign's Rekor
 * "Bundle" when the layer carries them. Takes payload's reference.
 */
static json_t *cosign_claims(json_t *payload, const berth_sign_attached *a)
{
	json_t *opt = json_object_get(payload, "optional"), *rb;
	char *sub = NULL, *iss = NULL;

	if (!json_is_object(payload) || (!a->certificate && !a->rekor_bundle))
		return payload;
	if (!json_is_object(opt)) {
		opt = json_object();
		json_object_set_new(payload, "optional", opt);
	}
	if (a->certificate && berth_sign_cert_identity(a->certificate, &sub, &iss) == 0) {
		json_object_set_new(opt, "Subject", json_string(sub ? sub : ""));
		if (iss && *iss) {
			json_object_set_new(opt, "Issuer", json_string(iss));
			json_object_set_new(opt, "1.3.6.1.4.1.57264.1.1", json_string(iss));
		}
	}
	if (a->rekor_bundle && (rb = json_loads(a->rekor_bundle, 0, NULL)))
		json_object_set_new(opt, "Bundle", rb);
	json_object_set_new(payload, "optional", sorted_copy(opt));
	free(sub);
	free(iss);
	return payload;
}

static int check_simple(vstate *v, const berth_sign_attached *a)
{
	berth_sign_legacy l = {a->signature, a->certificate, a->chain, a->rekor_bundle};
	json_t *payload;
	int rc;

	rc = berth_sign_legacy_verify(a->data, a->len, &l, v->o->key, v->o->root, &v->o->id);
	if (rc < 0 || (rc = berth_sign_simple_signing_check(a->data, a->len, v->im->digest.str,
							    v->o->ann ? v->o->ann->a : NULL,
							    v->o->ann ? v->o->ann->n : 0)) < 0)
		return rc;
	payload = json_loadb((const char *)a->data, a->len, 0, NULL);
	json_array_append_new(v->valid, cosign_claims(payload, a));
	return 0;
}

static int check_annotations(const berth_sign_dsse *e, const sopt_annotations *ann)
{
	json_t *doc = json_loadb((const char *)e->payload, e->payload_len, 0, NULL);
	json_t *a = json_object_get(json_object_get(doc, "predicate"), "annotations");
	int rc = 0;

	for (size_t i = 0; ann && i < ann->n && rc == 0; i++) {
		const char *v = json_string_value(json_object_get(a, ann->a[i].key));

		if (!v || strcmp(v, ann->a[i].value) != 0)
			rc = berth_error_set(BERTH_EDENIED,
					     "annotation %s=%s is not in the signed statement",
					     ann->a[i].key, ann->a[i].value);
	}
	json_decref(doc);
	return rc;
}

/* What `verify` prints for a bundle signature: cosign's claims with the statement's type. */
static json_t *bundle_claims(const simg *im, const berth_sign_dsse *e, const char *type)
{
	json_t *doc = json_loadb((const char *)e->payload, e->payload_len, 0, NULL);
	json_t *a = json_object_get(json_object_get(doc, "predicate"), "annotations");
	json_t *out = json_pack("{s:{s:{s:s},s:{s:s},s:s},s:o}", "critical", "identity",
				"docker-reference", im->identity, "image", "docker-manifest-digest",
				im->digest.str, "type", type, "optional",
				a ? json_incref(a) : json_object());

	json_decref(doc);
	return out;
}

/* e: the envelope of bundle b, or of the legacy layer a (b NULL). */
static int check_dsse(vstate *v, const berth_sign_dsse *e, const berth_sign_bundle *b,
		      const berth_sign_attached *a)
{
	const char *want =
		v->o->attestations ? v->o->predicate_type : BERTH_SIGN_COSIGN_SIGN_PREDICATE;
	char *found = NULL;
	int rc;

	if (b)
		rc = berth_sign_bundle_verify_content(b, v->o->key, v->o->root, &v->o->id);
	else if (!v->o->key)
		rc = berth_error_set(BERTH_EUNSUPPORTED, "keyless .att attestations are not "
							 "supported (use --key)");
	else
		rc = berth_sign_legacy_attestation_verify(a->data, a->len, a->rekor_bundle,
							  v->o->key, v->o->root);
	if (rc < 0)
		return rc;
	if (strcmp(e->payload_type, BERTH_SIGN_INTOTO_PT) != 0)
		return berth_error_set(BERTH_EDENIED, "DSSE payload type %s is not in-toto",
				       e->payload_type);
	if ((rc = berth_sign_intoto_check(e->payload, e->payload_len, v->im->digest.str, want,
					  &found)) < 0)
		return rc;
	if (!v->o->attestations && (rc = check_annotations(e, v->o->ann)) < 0) {
		free(found);
		return rc;
	}
	if (v->o->attestations) {
		char *pb = NULL, *sb = NULL;

		if (berth_sign_b64_encode(&pb, e->payload, e->payload_len) == 0 &&
		    berth_sign_b64_encode(&sb, e->sigs[0].sig, e->sigs[0].sig_len) == 0)
			json_array_append_new(
				v->valid, json_pack("{s:s,s:s,s:[{s:s,s:s}]}", "payloadType",
						    e->payload_type, "payload", pb, "signatures",
						    "keyid", e->sigs[0].keyid, "sig", sb));
		free(pb);
		free(sb);
	} else {
		json_array_append_new(v->valid, bundle_claims(v->im, e, found));
	}
	free(found);
	return 0;
}

static int check_item(vstate *v, const berth_sign_attached *a)
{
	berth_sign_bundle *b = NULL;
	berth_sign_dsse *e = NULL;
	int rc;

	if (a->fetch_rc < 0)
		return berth_error_set(a->fetch_rc, "fetching the layer failed");
	if (!a->media_type)
		return berth_error_set(BERTH_EINVALID, "layer without a media type");
	if (!v->o->attestations && strcmp(a->media_type, BERTH_SIGN_SIMPLESIGNING_MT) == 0)
		return check_simple(v, a);
	if (v->o->attestations && strcmp(a->media_type, BERTH_SIGN_DSSE_MT) == 0) {
		if ((rc = berth_sign_dsse_parse(&e, a->data, a->len)) == 0)
			rc = check_dsse(v, e, NULL, a);
		berth_sign_dsse_free(e);
		return rc;
	}
	if (strncmp(a->media_type, BUNDLE_PREFIX, strlen(BUNDLE_PREFIX)) == 0) {
		if ((rc = berth_sign_bundle_parse(&b, a->data, a->len)) == 0)
			rc = b->dsse ? check_dsse(v, b->dsse, b, a)
				     : berth_error_set(BERTH_EUNSUPPORTED,
						       "message-signature bundles of images are "
						       "not supported");
		berth_sign_bundle_free(b);
		return rc;
	}
	return 1; /* not ours to check */
}

static int on_item(void *ctx, const berth_sign_attached *a)
{
	vstate *v = ctx;
	int rc;

	/* Only items of the kind asked for count as failures. */
	if (a->artifact_type &&
	    strncmp(a->artifact_type, BUNDLE_PREFIX, strlen(BUNDLE_PREFIX)) != 0)
		return 0;
	if (v->o->attestations == 0 && a->predicate_type && a->artifact_type &&
	    strcmp(a->predicate_type, BERTH_SIGN_COSIGN_SIGN_PREDICATE) != 0)
		return 0;
	if (v->o->attestations && a->artifact_type && a->predicate_type &&
	    strcmp(a->predicate_type, BERTH_SIGN_COSIGN_SIGN_PREDICATE) == 0)
		return 0;
	/* An attestation of another predicate type (as its annotation says) is not a failure. */
	if (v->o->attestations && v->o->predicate_type && a->predicate_type &&
	    strcmp(a->predicate_type, v->o->predicate_type) != 0)
		return 0;
	berth_error_clear();
	rc = check_item(v, a);
	if (rc < 0)
		fail_item(v, a, berth_error_last());
	return 0;
}

int sverify_image(const char *cmd, const simg *im, const sverify_opts *o, json_t **valid,
		  json_t **failures)
{
	vstate v = {im, o, json_array(), json_array()};
	int rc;

	rc = berth_sign_image_attached(im->client, im->repo, &im->digest,
				       o->attestations ? "att" : "sig", 1, 1, on_item, &v);
	if (rc < 0) {
		json_decref(v.valid);
		json_decref(v.failures);
		return berth_cli_fail(cmd, -1, "%s: %s", im->identity, berth_error_last());
	}
	*valid = v.valid;
	*failures = v.failures;
	return 0;
}
