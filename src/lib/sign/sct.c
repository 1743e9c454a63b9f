/*
 * sct.c - the signed certificate timestamps (RFC 6962 section 3) Fulcio
 * embeds in its certificates: a CT log's promise to publish the
 * precertificate. Each SCT names its log by key ID; one whose log is in the
 * trusted root and whose signature verifies over the precertificate entry
 * (the certificate's TBS without the SCT extension, and the issuer's key
 * hash) is what keyless verification asks for, as cosign does by default.
 */
#include "internal.h"

#include <openssl/ct.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

/* Largest precertificate TBS signed over (the 24-bit length field caps it too). */
#define SCT_TBS_MAX (64 * 1024)

/* The precertificate entry an SCT signs: leaf's TBS without its SCT list extension. */
static int precert_tbs(X509 *leaf, unsigned char **out, size_t *len)
{
	X509 *pre = X509_dup(leaf);
	int idx = pre ? X509_get_ext_by_NID(pre, NID_ct_precert_scts, -1) : -1;
	unsigned char *der = NULL;
	int n = 0;

	*out = NULL;
	if (idx >= 0) {
		X509_EXTENSION_free(X509_delete_ext(pre, idx));
		n = i2d_re_X509_tbs(pre, &der);
	}
	X509_free(pre);
	if (n <= 0 || n > SCT_TBS_MAX) {
		OPENSSL_free(der);
		return berth_error_set(BERTH_EDENIED, "cannot rebuild the precertificate the SCT "
						      "signs");
	}
	*out = der;
	*len = (size_t)n;
	return 0;
}

/*
 * digitally-signed struct { version; signature_type = certificate_timestamp;
 * timestamp; entry_type = precert_entry; issuer_key_hash; tbs<1..2^24-1>;
 * extensions<0..2^16-1> }.
 */
static int signed_data(const SCT *sct, const unsigned char ikh[32], const unsigned char *tbs,
		       size_t tbs_len, unsigned char **out, size_t *len)
{
	unsigned char *ext = NULL, *p;
	size_t ext_len = SCT_get0_extensions(sct, &ext);
	uint64_t ts = SCT_get_timestamp(sct);

	*len = 1 + 1 + 8 + 2 + 32 + 3 + tbs_len + 2 + ext_len;
	if (ext_len > 0xffff || !(p = *out = malloc(*len)))
		return berth_error_set(BERTH_EDENIED, "an SCT too large to check");
	*p++ = 0; /* v1 */
	*p++ = 0; /* certificate_timestamp */
	for (int i = 7; i >= 0; i--)
		*p++ = (unsigned char)(ts >> (8 * i));
	*p++ = 0;
	*p++ = 1; /* precert_entry */
	memcpy(p, ikh, 32);
	p += 32;
	*p++ = (unsigned char)(tbs_len >> 16);
	*p++ = (unsigned char)(tbs_len >> 8);
	*p++ = (unsigned char)tbs_len;
	memcpy(p, tbs, tbs_len);
	p += tbs_len;
	*p++ = (unsigned char)(ext_len >> 8);
	*p++ = (unsigned char)ext_len;
	if (ext_len)
		memcpy(p, ext, ext_len);
	return 0;
}

static int sig_ok(EVP_PKEY *pkey, const unsigned char *msg, size_t len, const SCT *sct)
{
	unsigned char *sig = NULL;
	size_t sig_len = SCT_get0_signature(sct, &sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	/* RFC 6962: SHA-256 with ECDSA or RSA (PKCS#1 v1.5). */
	ok = ctx && sig_len > 0 && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

static const berth_sign__log *find_ctlog(const SCT *sct, const berth_sign__log *logs, size_t n)
{
	unsigned char *id = NULL;
	size_t id_len = SCT_get0_log_id(sct, &id);

	for (size_t i = 0; id_len == 32 && i < n; i++)
		if (memcmp(logs[i].id, id, 32) == 0)
			return &logs[i];
	return NULL;
}

/* The SHA-256 of the issuer's DER SubjectPublicKeyInfo. */
static int issuer_key_hash(X509 *issuer, unsigned char out[32])
{
	unsigned char *spki = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &spki);

	if (n <= 0)
		return berth_error_set(BERTH_EDENIED, "the issuer's key is unreadable");
	SHA256(spki, (size_t)n, out);
	OPENSSL_free(spki);
	return 0;
}

int berth_sign__verify_sct(X509 *leaf, X509 *issuer, const berth_sign__log *logs, size_t n_logs)
{
	STACK_OF(SCT) *scts = X509_get_ext_d2i(leaf, NID_ct_precert_scts, NULL, NULL);
	unsigned char ikh[32], *tbs = NULL, *msg = NULL;
	size_t tbs_len = 0, msg_len;
	int rc, known = 0, n = scts ? sk_SCT_num(scts) : 0;

	if (n <= 0) {
		rc = berth_error_set(BERTH_EDENIED, "the certificate embeds no signed certificate "
						    "timestamp (SCT; --insecure-ignore-sct to "
						    "accept)");
		goto done;
	}
	if ((rc = issuer_key_hash(issuer, ikh)) < 0 || (rc = precert_tbs(leaf, &tbs, &tbs_len)) < 0)
		goto done;
	rc = BERTH_EDENIED;
	for (int i = 0; i < n && rc < 0 && i < BERTH_SIGN_LIST_MAX; i++) {
		const SCT *sct = sk_SCT_value(scts, i);
		const berth_sign__log *log = find_ctlog(sct, logs, n_logs);

		if (SCT_get_version(sct) != SCT_VERSION_V1 || !log)
			continue;
		known = 1;
		if (signed_data(sct, ikh, tbs, tbs_len, &msg, &msg_len) == 0 &&
		    sig_ok(log->pkey, msg, msg_len, sct))
			rc = 0;
		free(msg);
		msg = NULL;
	}
	if (rc < 0)
		berth_error_set(
			BERTH_EDENIED,
			known ? "the certificate's SCT does not verify with its CT log's key"
			      : "the certificate's SCT is from no CT log of the trusted root");
done:
	SCT_LIST_free(scts);
	OPENSSL_free(tbs);
	ERR_clear_error();
	return rc;
}
