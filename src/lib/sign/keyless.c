/*
 * keyless.c - offline keyless verification of sigstore bundles against a
 * trusted_root.json: the Fulcio certificate chains to a CA of the root at
 * the time the log integrated the entry, its SAN and OIDC issuer extension
 * are the expected identity, and each transparency-log entry is proven by a
 * log of the root (signed entry timestamp, or RFC 6962 inclusion proof and a
 * signed checkpoint) and records this very signature and certificate.
 */
#include "internal.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OID_ISSUER_V1 "1.3.6.1.4.1.57264.1.1"
#define OID_ISSUER_V2 "1.3.6.1.4.1.57264.1.8"

typedef berth_sign__log tlog_key;

struct berth_sign_trusted_root {
	STACK_OF(X509) * anchors;
	STACK_OF(X509) * intermediates;
	tlog_key *logs;
	size_t n_logs;
	tlog_key *ctlogs;
	size_t n_ctlogs;
};

void berth_sign_trusted_root_free(berth_sign_trusted_root *r)
{
	if (!r)
		return;
	sk_X509_pop_free(r->anchors, X509_free);
	sk_X509_pop_free(r->intermediates, X509_free);
	for (size_t i = 0; i < r->n_logs; i++)
		EVP_PKEY_free(r->logs[i].pkey);
	free(r->logs);
	for (size_t i = 0; i < r->n_ctlogs; i++)
		EVP_PKEY_free(r->ctlogs[i].pkey);
	free(r->ctlogs);
	free(r);
}

static int root_ca(berth_sign_trusted_root *r, json_t *ca)
{
	json_t *certs = json_object_get(json_object_get(ca, "certChain"), "certificates"), *c;
	size_t i, n = json_array_size(certs);
	int rc;

	if (n == 0 || n > BERTH_SIGN_LIST_MAX)
		return berth_error_set(BERTH_EINVALID, "trusted root: a CA without certificates");
	json_array_foreach(certs, i, c)
	{
		unsigned char *der = NULL;
		const unsigned char *q;
		size_t len;
		X509 *x;

		if ((rc = berth_sign__json_b64(c, "rawBytes", "trusted root certificate", &der,
					       &len)) < 0)
			return rc;
		q = der;
		x = d2i_X509(NULL, &q, (long)len);
		free(der);
		if (!x)
			return berth_error_set(BERTH_EINVALID,
					       "trusted root: a CA certificate is not DER X.509");
		/* The chain lists the CA first and its root last. */
		if (!sk_X509_push(i + 1 == n ? r->anchors : r->intermediates, x)) {
			X509_free(x);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
	}
	return 0;
}

/* A tlogs or ctlogs element: appended to logs[*n]. */
static int root_log(tlog_key *logs, size_t *n, json_t *t)
{
	json_t *pk = json_object_get(t, "publicKey");
	unsigned char *der = NULL;
	const unsigned char *q;
	size_t len;
	tlog_key *k = &logs[*n];
	int rc;

	if ((rc = berth_sign__json_b64(pk, "rawBytes", "trusted root log key", &der, &len)) < 0)
		return rc;
	q = der;
	k->pkey = d2i_PUBKEY(NULL, &q, (long)len);
	/* The log ID is the SHA-256 of the key's DER, whatever logId says. */
	SHA256(der, len, k->id);
	free(der);
	if (!k->pkey)
		return berth_error_set(BERTH_EINVALID, "trusted root: a log key is not DER SPKI");
	(*n)++;
	return 0;
}

int berth_sign_trusted_root_parse(berth_sign_trusted_root **out, const void *json, size_t len)
{
	berth_sign_trusted_root *r = NULL;
	json_t *doc = NULL, *cas, *tlogs, *ctlogs, *x;
	size_t i;
	int rc;

	*out = NULL;
	if ((rc = berth_sign__json_load(&doc, json, len, BERTH_SIGN_TRUSTED_ROOT_MAX,
					"trusted root")) < 0)
		return rc;
	cas = json_object_get(doc, "certificateAuthorities");
	tlogs = json_object_get(doc, "tlogs");
	ctlogs = json_object_get(doc, "ctlogs");
	if (json_array_size(cas) > BERTH_SIGN_LIST_MAX ||
	    json_array_size(tlogs) > BERTH_SIGN_LIST_MAX ||
	    json_array_size(ctlogs) > BERTH_SIGN_LIST_MAX) {
		rc = berth_error_set(BERTH_ETOOBIG, "trusted root: more than %d CAs or logs",
				     BERTH_SIGN_LIST_MAX);
		goto done;
	}
	r = calloc(1, sizeof(*r));
	if (!r || !(r->anchors = sk_X509_new_null()) || !(r->intermediates = sk_X509_new_null()) ||
	    !(r->logs = calloc(json_array_size(tlogs) + 1, sizeof(*r->logs))) ||
	    !(r->ctlogs = calloc(json_array_size(ctlogs) + 1, sizeof(*r->ctlogs)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	json_array_foreach(cas, i, x) if ((rc = root_ca(r, x)) < 0) goto done;
	json_array_foreach(tlogs, i, x) if ((rc = root_log(r->logs, &r->n_logs, x)) < 0) goto done;
	json_array_foreach(ctlogs, i,
			   x) if ((rc = root_log(r->ctlogs, &r->n_ctlogs, x)) < 0) goto done;
	if (r->n_logs == 0) {
		rc = berth_error_set(BERTH_EINVALID, "trusted root: no transparency log");
		goto done;
	}
	*out = r;
	r = NULL;
done:
	berth_sign_trusted_root_free(r);
	json_decref(doc);
	return rc;
}

/* ---- certificate checks ---- */

/* The leaf chains to an anchor of the root at `when`; *issuer gets its issuer (a reference). */
static int chain_ok(const berth_sign_bundle *b, const berth_sign_trusted_root *root, X509 *leaf,
		    int64_t when, X509 **issuer)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_dup(root->intermediates);
	int ok = 0;

	if (!store || !ctx || !untrusted)
		goto done;
	for (int i = 0; i < sk_X509_num(root->anchors); i++)
		X509_STORE_add_cert(store, sk_X509_value(root->anchors, i));
	/* v0.1/v0.2 chains may carry intermediates; anchors only come from the root. */
	for (size_t i = 1; i < b->n_certs; i++) {
		const unsigned char *q = b->certs[i];
		X509 *x = d2i_X509(NULL, &q, (long)b->cert_lens[i]);

		if (x && !sk_X509_push(untrusted, x))
			X509_free(x);
	}
	if (X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1)
		goto done;
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)when);
	ok = X509_verify_cert(ctx) == 1;
	if (ok) {
		STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);

		*issuer = sk_X509_num(chain) > 1 ? sk_X509_value(chain, 1) : leaf;
		X509_up_ref(*issuer);
	}
	if (!ok)
		berth_error_set(BERTH_EDENIED,
				"the certificate does not chain to a CA of the trusted root: %s",
				X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
done:
	/* Free the certificates we added from the bundle, not the root's. */
	if (untrusted)
		for (int i = sk_X509_num(root->intermediates); i < sk_X509_num(untrusted); i++)
			X509_free(sk_X509_value(untrusted, i));
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	ERR_clear_error();
	if (!ok && berth_error_last_code() != BERTH_EDENIED)
		berth_error_set(BERTH_EDENIED, "certificate chain verification failed");
	return ok ? 0 : BERTH_EDENIED;
}

static int san_matches(X509 *leaf, const char *subject)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	int found = 0;

	for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !found; i++) {
		GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		ASN1_IA5STRING *s = NULL;

		if (g->type == GEN_EMAIL)
			s = g->d.rfc822Name;
		else if (g->type == GEN_URI)
			s = g->d.uniformResourceIdentifier;
		if (s && (size_t)ASN1_STRING_length(s) == strlen(subject) &&
		    memcmp(ASN1_STRING_get0_data(s), subject, strlen(subject)) == 0)
			found = 1;
	}
	GENERAL_NAMES_free(names);
	return found;
}

static int ext_present(X509 *leaf, const char *oid)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int idx = obj ? X509_get_ext_by_OBJ(leaf, obj, -1) : -1;

	ASN1_OBJECT_free(obj);
	return idx >= 0;
}

/* The value of extension `oid` of leaf as text (v2: a DER UTF8String, else raw); malloc'd. */
static char *ext_text(X509 *leaf, const char *oid, int der_utf8)
{
	ASN1_OBJECT *obj = OBJ_txt2obj(oid, 1);
	int idx = obj ? X509_get_ext_by_OBJ(leaf, obj, -1) : -1;
	ASN1_OCTET_STRING *v;
	ASN1_UTF8STRING *u = NULL;
	const unsigned char *p;
	char *out = NULL;
	long n;

	ASN1_OBJECT_free(obj);
	if (idx < 0)
		return NULL;
	v = X509_EXTENSION_get_data(X509_get_ext(leaf, idx));
	p = ASN1_STRING_get0_data(v);
	n = ASN1_STRING_length(v);
	if (der_utf8 && (u = d2i_ASN1_UTF8STRING(NULL, &p, n))) {
		p = ASN1_STRING_get0_data(u);
		n = ASN1_STRING_length(u);
	}
	if (!der_utf8 || u)
		out = strndup((const char *)p, (size_t)n);
	ASN1_UTF8STRING_free(u);
	return out;
}

/* The OIDC issuer: extension .1.8 (DER UTF8String) or the older .1.1 (raw text); malloc'd. */
static char *issuer_of(X509 *leaf, int v1_first)
{
	char *v = v1_first ? ext_text(leaf, OID_ISSUER_V1, 0) : ext_text(leaf, OID_ISSUER_V2, 1);

	if (!v && !ext_present(leaf, v1_first ? OID_ISSUER_V1 : OID_ISSUER_V2))
		v = v1_first ? ext_text(leaf, OID_ISSUER_V2, 1) : ext_text(leaf, OID_ISSUER_V1, 0);
	ERR_clear_error();
	return v;
}

static int issuer_matches(X509 *leaf, const char *issuer)
{
	char *v = issuer_of(leaf, 0);
	int match = v && strlen(v) == strlen(issuer) && strcmp(v, issuer) == 0;

	free(v);
	return match;
}

/* The first subject alternative name as Go's x509 lists them: DNS, email, then URI. */
static char *first_san(X509 *leaf)
{
	GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	const int order[] = {GEN_DNS, GEN_EMAIL, GEN_URI};
	char *out = NULL;

	for (int o = 0; o < 3 && !out; o++)
		for (int i = 0; names && i < sk_GENERAL_NAME_num(names) && !out; i++) {
			GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
			ASN1_IA5STRING *s = g->type == order[o] ? g->d.ia5 : NULL;

			if (s)
				out = strndup((const char *)ASN1_STRING_get0_data(s),
					      (size_t)ASN1_STRING_length(s));
		}
	GENERAL_NAMES_free(names);
	return out;
}

int berth_sign_cert_identity(const char *pem, char **subject, char **issuer)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	*subject = *issuer = NULL;
	BIO_free(bio);
	if (!x) {
		ERR_clear_error();
		return berth_error_set(BERTH_EINVALID, "not a PEM certificate");
	}
	*subject = first_san(x);
	*issuer = issuer_of(x, 1);
	X509_free(x);
	return 0;
}

/* ---- transparency log ---- */

static const tlog_key *find_log(const berth_sign_trusted_root *root, const berth_sign_tlog_entry *t)
{
	for (size_t i = 0; i < root->n_logs; i++)
		if (!t->has_log_id || memcmp(root->logs[i].id, t->log_id, 32) == 0)
			return &root->logs[i];
	return NULL;
}

static int verify_set(const berth_sign_tlog_entry *t, const tlog_key *log)
{
	char id_hex[65], *body_b64 = NULL, *text = NULL;
	int rc;

	berth_sign__hex(id_hex, log->id, 32);
	if ((rc = berth_sign_b64_encode(&body_b64, t->body, t->body_len)) < 0)
		return rc;
	/* RFC 8785 canonical JSON: keys sorted, no spaces. */
	if (asprintf(&text,
		     "{\"body\":\"%s\",\"integratedTime\":%lld,\"logID\":\"%s\",\"logIndex\":%lld}",
		     body_b64, (long long)t->integrated_time, id_hex,
		     (long long)t->log_index) < 0) {
		free(body_b64);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	rc = berth_sign__verify_pkey(log->pkey, text, strlen(text), t->set, t->set_len);
	free(body_b64);
	free(text);
	if (rc < 0)
		return berth_error_set(BERTH_EDENIED, "the signed entry timestamp does not verify "
						      "with the log's key");
	return 0;
}

static void hash_children(unsigned char out[32], const unsigned char *l, const unsigned char *r)
{
	unsigned char buf[65];

	buf[0] = 1;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	SHA256(buf, sizeof(buf), out);
}

/* RFC 9162 section 2.1.3.2: recompute the root from the leaf and the path. */
static int verify_inclusion(const berth_sign_tlog_entry *t)
{
	unsigned char r[32], *leaf;
	uint64_t fn = (uint64_t)t->proof_index, sn;

	if (t->proof_index < 0 || t->tree_size <= 0 || t->proof_index >= t->tree_size)
		return berth_error_set(BERTH_EDENIED, "inclusion proof: index outside the tree");
	sn = (uint64_t)t->tree_size - 1;
	leaf = malloc(t->body_len + 1);
	if (!leaf)
		return berth_error_set(BERTH_ERROR, "out of memory");
	leaf[0] = 0;
	memcpy(leaf + 1, t->body, t->body_len);
	SHA256(leaf, t->body_len + 1, r);
	free(leaf);
	for (size_t i = 0; i < t->n_hashes; i++) {
		if (sn == 0)
			return berth_error_set(BERTH_EDENIED, "inclusion proof: too many hashes");
		if ((fn & 1) || fn == sn) {
			hash_children(r, t->hashes[i], r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			hash_children(r, r, t->hashes[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0 || memcmp(r, t->root_hash, 32) != 0)
		return berth_error_set(BERTH_EDENIED,
				       "inclusion proof does not lead to the tree's root hash");
	return 0;
}

/* A signed note: "origin\nsize\nroot-b64\n[more]\n\n— name b64(hint4||sig)\n". */
static int verify_checkpoint(const berth_sign_tlog_entry *t, const tlog_key *log)
{
	const char *text = t->checkpoint, *sep, *line;
	unsigned char *root = NULL, *sig = NULL;
	size_t root_len = 0, sig_len = 0;
	long long size;
	char root_b64[128];
	int rc = BERTH_EDENIED;

	if (!text || !(sep = strstr(text, "\n\n")))
		return berth_error_set(rc, "inclusion proof without a signed checkpoint");
	if (sscanf(text, "%*[^\n]\n%lld\n%127[^\n]\n", &size, root_b64) != 2 ||
	    berth_sign_b64_decode(&root, &root_len, root_b64, strlen(root_b64)) < 0 ||
	    root_len != 32 || size != t->tree_size || memcmp(root, t->root_hash, 32) != 0) {
		free(root);
		return berth_error_set(rc, "the checkpoint does not name the proof's tree");
	}
	free(root);
	for (line = sep + 2; *line && rc < 0;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
		const char *end = strchr(line, '\n'), *b64;

		if (strncmp(line, "\xe2\x80\x94 ", 4) != 0 || !end)
			continue;
		b64 = memchr(line + 4, ' ', (size_t)(end - line - 4));
		if (!b64 ||
		    berth_sign_b64_decode(&sig, &sig_len, b64 + 1, (size_t)(end - b64 - 1)) < 0)
			continue;
		if (sig_len > 4)
			rc = berth_sign__verify_pkey(log->pkey, text, (size_t)(sep - text + 1),
						     sig + 4, sig_len - 4);
		free(sig);
		sig = NULL;
	}
	if (rc < 0)
		return berth_error_set(BERTH_EDENIED, "the checkpoint's signature does not verify "
						      "with the log's key");
	return 0;
}

/* ---- the entry body records this signature and certificate ---- */

/* Who signed: the leaf certificate (keyless) or a public key (--key). */
typedef struct signer {
	const unsigned char *cert;
	size_t cert_len;
	EVP_PKEY *key;
} signer;

static int pem_key_equals(const char *b64_pem, EVP_PKEY *key)
{
	unsigned char *pem = NULL;
	size_t pem_len = 0;
	BIO *bio;
	EVP_PKEY *p = NULL;
	X509 *x = NULL;
	int eq = 0;

	if (!b64_pem || berth_sign_b64_decode(&pem, &pem_len, b64_pem, strlen(b64_pem)) < 0)
		return 0;
	if ((bio = BIO_new_mem_buf(pem, (int)pem_len))) {
		p = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
		if (!p && BIO_reset(bio) == 1 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
			p = X509_get_pubkey(x);
	}
	eq = p && EVP_PKEY_eq(p, key) == 1;
	EVP_PKEY_free(p);
	X509_free(x);
	BIO_free(bio);
	free(pem);
	ERR_clear_error();
	return eq;
}

static int pem_cert_equals(const char *b64_pem, const unsigned char *der, size_t der_len);

static int signer_equals(const char *b64_pem, const signer *who)
{
	return who->cert ? pem_cert_equals(b64_pem, who->cert, who->cert_len)
			 : pem_key_equals(b64_pem, who->key);
}

static int pem_cert_equals(const char *b64_pem, const unsigned char *der, size_t der_len)
{
	unsigned char *pem = NULL, *d = NULL;
	size_t pem_len = 0;
	BIO *bio;
	X509 *x = NULL;
	int n, eq = 0;

	if (!b64_pem || berth_sign_b64_decode(&pem, &pem_len, b64_pem, strlen(b64_pem)) < 0)
		return 0;
	bio = BIO_new_mem_buf(pem, (int)pem_len);
	x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (x && (n = i2d_X509(x, &d)) > 0)
		eq = (size_t)n == der_len && memcmp(d, der, der_len) == 0;
	OPENSSL_free(d);
	X509_free(x);
	BIO_free(bio);
	free(pem);
	ERR_clear_error();
	return eq;
}

static int b64_equals(const char *b64, const unsigned char *bytes, size_t n)
{
	unsigned char *d = NULL;
	size_t len = 0;
	int eq;

	if (!b64 || berth_sign_b64_decode(&d, &len, b64, strlen(b64)) < 0)
		return 0;
	eq = len == n && memcmp(d, bytes, n) == 0;
	free(d);
	return eq;
}

static int hex_equals(const char *hex, const unsigned char *bytes)
{
	char want[65];

	berth_sign__hex(want, bytes, 32);
	return hex && strcasecmp(hex, want) == 0;
}

static int body_hashedrekord(json_t *spec, const berth_sign_bundle *b, const signer *who)
{
	json_t *sig = json_object_get(spec, "signature");
	const char *hash = json_string_value(
		json_object_get(json_object_get(json_object_get(spec, "data"), "hash"), "value"));

	return !b->dsse &&
	       b64_equals(json_string_value(json_object_get(sig, "content")), b->sig, b->sig_len) &&
	       hex_equals(hash, b->digest) &&
	       signer_equals(json_string_value(
				     json_object_get(json_object_get(sig, "publicKey"), "content")),
			     who);
}

/*
 * One signature of a dsse entry ({"signature": B64, "verifier": B64 PEM}) or
 * of an intoto 0.0.2 entry's envelope ({"sig": B64 of the B64 signature,
 * "publicKey": B64 PEM}: Rekor encodes the envelope's text once more).
 */
static int entry_sig_equals(json_t *s, int intoto, const berth_sign_dsse_sig *sig,
			    const signer *who)
{
	const char *v = json_string_value(json_object_get(s, intoto ? "sig" : "signature"));
	unsigned char *once = NULL;
	size_t n = 0;
	int eq;

	if (!intoto)
		return b64_equals(v, sig->sig, sig->sig_len) &&
		       signer_equals(json_string_value(json_object_get(s, "verifier")), who);
	if (!v || berth_sign_b64_decode(&once, &n, v, strlen(v)) < 0)
		return 0;
	eq = n < BERTH_SIGN_ANNOTATION_MAX && memchr(once, 0, n) == NULL;
	if (eq) {
		char *text = strndup((const char *)once, n);

		eq = text && b64_equals(text, sig->sig, sig->sig_len);
		free(text);
	}
	free(once);
	return eq && signer_equals(json_string_value(json_object_get(s, "publicKey")), who);
}

static int body_dsse(json_t *spec, const berth_sign_bundle *b, int intoto, const signer *who)
{
	unsigned char h[32];
	json_t *sigs, *s;
	const char *ph;
	size_t i;

	if (!b->dsse)
		return 0;
	SHA256(b->dsse->payload, b->dsse->payload_len, h);
	if (intoto) {
		json_t *content = json_object_get(spec, "content");

		ph = json_string_value(
			json_object_get(json_object_get(content, "payloadHash"), "value"));
		sigs = json_object_get(json_object_get(content, "envelope"), "signatures");
	} else {
		ph = json_string_value(
			json_object_get(json_object_get(spec, "payloadHash"), "value"));
		sigs = json_object_get(spec, "signatures");
	}
	if (!hex_equals(ph, h))
		return 0;
	json_array_foreach(sigs, i, s)
	{
		for (size_t j = 0; j < b->dsse->n_sigs; j++)
			if (entry_sig_equals(s, intoto, &b->dsse->sigs[j], who))
				return 1;
	}
	return 0;
}

static int body_matches(const berth_sign_tlog_entry *t, const berth_sign_bundle *b,
			const signer *who)
{
	json_t *doc = NULL, *spec;
	const char *kind;
	char kind_copy[32];
	int ok = 0;

	if (berth_sign__json_load(&doc, t->body, t->body_len, BERTH_SIGN_BUNDLE_MAX,
				  "tlog entry body") < 0)
		return berth_error_set(BERTH_EDENIED, "%s", berth_error_last());
	kind = json_string_value(json_object_get(doc, "kind"));
	spec = json_object_get(doc, "spec");
	if (kind && strcmp(kind, "hashedrekord") == 0)
		ok = body_hashedrekord(spec, b, who);
	else if (kind && strcmp(kind, "dsse") == 0)
		ok = body_dsse(spec, b, 0, who);
	else if (kind && strcmp(kind, "intoto") == 0)
		ok = body_dsse(spec, b, 1, who);
	snprintf(kind_copy, sizeof(kind_copy), "%s", kind ? kind : "no kind");
	json_decref(doc);
	if (!ok)
		return berth_error_set(BERTH_EDENIED,
				       "the tlog entry (%s) does not record this "
				       "signature and certificate",
				       kind_copy);
	return 0;
}

static int verify_entry(const berth_sign_tlog_entry *t, const berth_sign_bundle *b,
			const berth_sign_trusted_root *root, X509 *leaf, const signer *who)
{
	const tlog_key *log = find_log(root, t);
	time_t when = (time_t)t->integrated_time;
	int rc = BERTH_EDENIED;

	if (!log)
		return berth_error_set(BERTH_EDENIED, "the tlog entry's log is not in the trusted "
						      "root");
	if (t->set)
		rc = verify_set(t, log);
	else if (t->has_proof && (rc = verify_inclusion(t)) == 0)
		rc = verify_checkpoint(t, log);
	else if (!t->has_proof)
		rc = berth_error_set(BERTH_EDENIED, "the tlog entry has neither a signed entry "
						    "timestamp nor an inclusion proof");
	if (rc == 0 && t->set && t->has_proof && (rc = verify_inclusion(t)) == 0)
		rc = verify_checkpoint(t, log);
	if (rc < 0)
		return rc;
	if (leaf && (X509_cmp_time(X509_get0_notBefore(leaf), &when) > 0 ||
		     X509_cmp_time(X509_get0_notAfter(leaf), &when) < 0))
		return berth_error_set(BERTH_EDENIED, "the log integrated the entry outside the "
						      "certificate's validity");
	return body_matches(t, b, who);
}

int berth_sign__verify_tlog_key(const berth_sign_bundle *b, const berth_sign_trusted_root *root,
				EVP_PKEY *key)
{
	signer who = {NULL, 0, key};
	int rc;

	if (b->n_tlog == 0)
		return berth_error_set(BERTH_EDENIED, "the bundle has no transparency-log entry "
						      "(a trusted root was given)");
	for (size_t i = 0; i < b->n_tlog; i++)
		if ((rc = verify_entry(&b->tlog[i], b, root, NULL, &who)) < 0)
			return rc;
	return 0;
}

int berth_sign__verify_keyless(const berth_sign_bundle *b, const berth_sign_trusted_root *root,
			       const berth_sign_identity *id, EVP_PKEY **leaf_key)
{
	const unsigned char *q;
	X509 *leaf = NULL, *issuer = NULL;
	int rc;

	*leaf_key = NULL;
	if (b->n_certs == 0)
		return berth_error_set(BERTH_EDENIED, "the bundle carries no certificate (signed "
						      "with a key? use --key)");
	if (b->n_tlog == 0)
		return berth_error_set(BERTH_EDENIED, "the bundle has no transparency-log entry");
	if (sk_X509_num(root->anchors) == 0)
		return berth_error_set(BERTH_EDENIED, "the trusted root has no certificate "
						      "authority for keyless verification");
	q = b->certs[0];
	if (!(leaf = d2i_X509(NULL, &q, (long)b->cert_lens[0]))) {
		ERR_clear_error();
		return berth_error_set(BERTH_EDENIED, "the bundle's certificate is not DER X.509");
	}
	for (size_t i = 0; i < b->n_tlog; i++) {
		signer who = {b->certs[0], b->cert_lens[0], NULL};

		if ((rc = verify_entry(&b->tlog[i], b, root, leaf, &who)) < 0)
			goto done;
	}
	if ((rc = chain_ok(b, root, leaf, b->tlog[0].integrated_time, &issuer)) < 0)
		goto done;
	if (!id->ignore_sct &&
	    (rc = berth_sign__verify_sct(leaf, issuer, root->ctlogs, root->n_ctlogs)) < 0)
		goto done;
	/* Fulcio issues code-signing certificates; anything else is not for this. */
	if (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) ||
	    !(X509_get_extended_key_usage(leaf) & XKU_CODE_SIGN)) {
		rc = berth_error_set(BERTH_EDENIED, "the certificate is not for code signing");
		goto done;
	}
	if (!san_matches(leaf, id->subject)) {
		rc = berth_error_set(BERTH_EDENIED, "the certificate's identity is not %s",
				     id->subject);
		goto done;
	}
	if (!issuer_matches(leaf, id->issuer)) {
		rc = berth_error_set(BERTH_EDENIED, "the certificate's OIDC issuer is not %s",
				     id->issuer);
		goto done;
	}
	if (!(*leaf_key = X509_get_pubkey(leaf)))
		rc = berth_error_set(BERTH_EDENIED, "the certificate's key is unreadable");
done:
	X509_free(issuer);
	X509_free(leaf);
	ERR_clear_error();
	return rc;
}
