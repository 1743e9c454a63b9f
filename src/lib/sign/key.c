/*
 * key.c - signing keys: generation (ECDSA P-256), cosign's encrypted private
 * key file (scrypt + NaCl secretbox around PKCS#8, libsodium), plain PEM
 * private keys for import, PKIX public keys, and sign/verify with the hash
 * each key type uses in cosign (SHA-256, SHA-384 for P-384, pure Ed25519).
 */
#include "internal.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PEM_SIGSTORE "ENCRYPTED SIGSTORE PRIVATE KEY"
#define PEM_COSIGN "ENCRYPTED COSIGN PRIVATE KEY"
#define SCRYPT_N_DEFAULT 32768
#define SCRYPT_N_ALT 65536
#define SCRYPT_R 8
#define SCRYPT_P 1
#define SALT_LEN 32
#define RSA_MIN_BITS 2048

int berth_sign__key_wrap(berth_sign_key **out, EVP_PKEY *pkey, int is_private)
{
	berth_sign_key *k = calloc(1, sizeof(*k));

	if (!k) {
		EVP_PKEY_free(pkey);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	k->pkey = pkey;
	k->is_private = is_private;
	*out = k;
	return 0;
}

void berth_sign_key_free(berth_sign_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

int berth_sign_key_is_private(const berth_sign_key *k)
{
	return k->is_private;
}

static int ec_curve(EVP_PKEY *p)
{
	char name[64];

	if (!EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name),
					    NULL))
		return 0;
	if (strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0)
		return 256;
	if (strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0)
		return 384;
	return 0;
}

const char *berth_sign_key_type(const berth_sign_key *k)
{
	switch (EVP_PKEY_get_base_id(k->pkey)) {
	case EVP_PKEY_EC: return ec_curve(k->pkey) == 384 ? "ecdsa-p384" : "ecdsa-p256";
	case EVP_PKEY_RSA: return "rsa";
	case EVP_PKEY_ED25519: return "ed25519";
	}
	return "unknown";
}

/* Only the key types cosign signs with are accepted, so that a verifier
 * never meets a hash choice it cannot make. */
static int check_type(EVP_PKEY *p)
{
	switch (EVP_PKEY_get_base_id(p)) {
	case EVP_PKEY_EC:
		if (ec_curve(p))
			return 0;
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "unsupported EC curve (P-256 and P-384 are supported)");
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(p) >= RSA_MIN_BITS)
			return 0;
		return berth_error_set(BERTH_EUNSUPPORTED, "RSA key shorter than %d bits",
				       RSA_MIN_BITS);
	case EVP_PKEY_ED25519: return 0;
	}
	return berth_error_set(BERTH_EUNSUPPORTED,
			       "unsupported key type (ECDSA P-256/P-384, RSA, Ed25519 are)");
}

/*
 * A private key's own public part must belong to its private part (a PEM or
 * PKCS#8 file can carry any public point): otherwise it signs with one key
 * and exports another. Checked for EC and RSA; Ed25519 derives its public key.
 */
static int check_pair(EVP_PKEY *p)
{
	EVP_PKEY_CTX *c;
	int ok;

	if (EVP_PKEY_get_base_id(p) == EVP_PKEY_ED25519)
		return 0;
	c = EVP_PKEY_CTX_new(p, NULL);
	ok = c && EVP_PKEY_pairwise_check(c) == 1;
	EVP_PKEY_CTX_free(c);
	ERR_clear_error();
	return ok ? 0
		  : berth_error_set(BERTH_EINVALID,
				    "the key's public part does not match its private part");
}

/* The digest each key type signs with (NULL: Ed25519 signs the message). */
static const EVP_MD *key_md(EVP_PKEY *p)
{
	if (EVP_PKEY_get_base_id(p) == EVP_PKEY_ED25519)
		return NULL;
	if (EVP_PKEY_get_base_id(p) == EVP_PKEY_EC && ec_curve(p) == 384)
		return EVP_sha384();
	return EVP_sha256();
}

int berth_sign_key_generate(berth_sign_key **out)
{
	EVP_PKEY *p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	if (!p)
		return berth_error_set(BERTH_ERROR, "generating an ECDSA P-256 key failed");
	return berth_sign__key_wrap(out, p, 1);
}

static int sodium_ready(void)
{
	if (sodium_init() < 0)
		return berth_error_set(BERTH_ERROR, "libsodium failed to initialise");
	return 0;
}

static int derive(unsigned char key[crypto_secretbox_KEYBYTES], const char *password,
		  const unsigned char *salt, size_t salt_len, uint64_t n)
{
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, strlen(password), salt,
						  salt_len, n, SCRYPT_R, SCRYPT_P, key,
						  crypto_secretbox_KEYBYTES) != 0)
		return berth_error_set(BERTH_ERROR, "scrypt key derivation failed");
	return 0;
}

/* The JSON document inside the PEM, from the PKCS#8 plaintext. */
static int seal_json(char **out, const unsigned char *plain, size_t plain_len, const char *password)
{
	unsigned char salt[SALT_LEN], nonce[crypto_secretbox_NONCEBYTES];
	unsigned char key[crypto_secretbox_KEYBYTES];
	unsigned char *ct = NULL;
	char *salt_b64 = NULL, *nonce_b64 = NULL, *ct_b64 = NULL;
	json_t *doc = NULL;
	int rc;

	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(nonce, sizeof(nonce));
	if ((rc = derive(key, password, salt, sizeof(salt), SCRYPT_N_DEFAULT)) < 0)
		goto done;
	ct = malloc(plain_len + crypto_secretbox_MACBYTES);
	if (!ct) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	crypto_secretbox_easy(ct, plain, plain_len, nonce, key);
	if ((rc = berth_sign_b64_encode(&salt_b64, salt, sizeof(salt))) < 0 ||
	    (rc = berth_sign_b64_encode(&nonce_b64, nonce, sizeof(nonce))) < 0 ||
	    (rc = berth_sign_b64_encode(&ct_b64, ct, plain_len + crypto_secretbox_MACBYTES)) < 0)
		goto done;
	doc = json_pack("{s:{s:s,s:{s:i,s:i,s:i},s:s},s:{s:s,s:s},s:s}", "kdf", "name", "scrypt",
			"params", "N", SCRYPT_N_DEFAULT, "r", SCRYPT_R, "p", SCRYPT_P, "salt",
			salt_b64, "cipher", "name", "nacl/secretbox", "nonce", nonce_b64,
			"ciphertext", ct_b64);
	*out = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	rc = *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
done:
	sodium_memzero(key, sizeof(key));
	json_decref(doc);
	free(ct);
	free(salt_b64);
	free(nonce_b64);
	free(ct_b64);
	return rc;
}

static int pem_wrap(char **out, size_t *len, const char *name, const unsigned char *der,
		    size_t der_len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int rc = 0;

	if (!bio || !PEM_write_bio(bio, name, "", der, (long)der_len)) {
		rc = berth_error_set(BERTH_ERROR, "writing PEM failed");
		goto done;
	}
	n = BIO_get_mem_data(bio, &p);
	*out = malloc((size_t)n + 1);
	if (!*out) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	memcpy(*out, p, (size_t)n);
	(*out)[n] = '\0';
	if (len)
		*len = (size_t)n;
done:
	BIO_free(bio);
	return rc;
}

int berth_sign_key_export_encrypted(const berth_sign_key *k, const char *password, char **pem,
				    size_t *len)
{
	PKCS8_PRIV_KEY_INFO *p8 = NULL;
	unsigned char *der = NULL;
	char *doc = NULL;
	int der_len = 0, rc;

	if (!k->is_private)
		return berth_error_set(BERTH_EINVALID, "not a private key");
	if (strlen(password) > BERTH_SIGN_PASSWORD_MAX)
		return berth_error_set(BERTH_ETOOBIG, "password longer than %d bytes",
				       BERTH_SIGN_PASSWORD_MAX);
	if ((rc = sodium_ready()) < 0)
		return rc;
	p8 = EVP_PKEY2PKCS8(k->pkey);
	if (!p8 || (der_len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0) {
		rc = berth_error_set(BERTH_ERROR, "encoding the private key failed");
		goto done;
	}
	if ((rc = seal_json(&doc, der, (size_t)der_len, password)) < 0)
		goto done;
	rc = pem_wrap(pem, len, PEM_SIGSTORE, (unsigned char *)doc, strlen(doc));
done:
	if (der) {
		explicit_bzero(der, (size_t)der_len);
		OPENSSL_free(der);
	}
	PKCS8_PRIV_KEY_INFO_free(p8);
	free(doc);
	return rc;
}

int berth_sign_key_export_public(const berth_sign_key *k, char **pem, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(k->pkey, &der), rc;

	if (n <= 0)
		return berth_error_set(BERTH_ERROR, "encoding the public key failed");
	rc = pem_wrap(pem, len, "PUBLIC KEY", der, (size_t)n);
	OPENSSL_free(der);
	return rc;
}

int berth_sign_key_hint(const berth_sign_key *k, char out[45])
{
	unsigned char *der = NULL, md[32];
	char *b64 = NULL;
	int n = i2d_PUBKEY(k->pkey, &der), rc;

	if (n <= 0)
		return berth_error_set(BERTH_ERROR, "encoding the public key failed");
	SHA256(der, (size_t)n, md);
	OPENSSL_free(der);
	if ((rc = berth_sign_b64_encode(&b64, md, sizeof(md))) < 0)
		return rc;
	memcpy(out, b64, 45);
	free(b64);
	return 0;
}

/* Decrypt the JSON of a cosign key file into PKCS#8 DER (malloc'd, wiped by the caller). */
static int open_json(unsigned char **plain, size_t *plain_len, const unsigned char *doc_text,
		     size_t doc_len, const char *password)
{
	json_t *doc = NULL, *kdf, *params, *cipher;
	unsigned char *salt = NULL, *nonce = NULL, *ct = NULL;
	unsigned char key[crypto_secretbox_KEYBYTES];
	size_t salt_len, nonce_len, ct_len;
	const char *name;
	json_int_t n, r, p;
	int rc;

	*plain = NULL;
	if ((rc = berth_sign__json_load(&doc, doc_text, doc_len, BERTH_SIGN_KEY_FILE_MAX,
					"key file")) < 0)
		return rc;
	kdf = json_object_get(doc, "kdf");
	params = json_object_get(kdf, "params");
	cipher = json_object_get(doc, "cipher");
	rc = BERTH_EINVALID;
	if (!json_is_object(kdf) || !json_is_object(params) || !json_is_object(cipher)) {
		berth_error_set(rc, "key file: kdf, kdf.params and cipher objects are required");
		goto done;
	}
	if (!(name = berth_sign__json_str(kdf, "name", "key file kdf", 1)))
		goto done;
	if (strcmp(name, "scrypt") != 0) {
		rc = berth_error_set(BERTH_EUNSUPPORTED, "key file: unsupported kdf '%s'", name);
		goto done;
	}
	n = json_integer_value(json_object_get(params, "N"));
	r = json_integer_value(json_object_get(params, "r"));
	p = json_integer_value(json_object_get(params, "p"));
	if ((n != SCRYPT_N_DEFAULT && n != SCRYPT_N_ALT) || r != SCRYPT_R || p != SCRYPT_P) {
		rc = berth_error_set(BERTH_EUNSUPPORTED,
				     "key file: unexpected scrypt parameters (N=32768 or 65536, "
				     "r=8, p=1 are accepted)");
		goto done;
	}
	if (!(name = berth_sign__json_str(cipher, "name", "key file cipher", 1)))
		goto done;
	if (strcmp(name, "nacl/secretbox") != 0) {
		rc = berth_error_set(BERTH_EUNSUPPORTED, "key file: unsupported cipher '%s'", name);
		goto done;
	}
	if ((rc = berth_sign__json_b64(kdf, "salt", "key file kdf", &salt, &salt_len)) < 0 ||
	    (rc = berth_sign__json_b64(cipher, "nonce", "key file cipher", &nonce, &nonce_len)) <
		    0 ||
	    (rc = berth_sign__json_b64(doc, "ciphertext", "key file", &ct, &ct_len)) < 0)
		goto done;
	if (nonce_len != crypto_secretbox_NONCEBYTES || ct_len < crypto_secretbox_MACBYTES ||
	    salt_len == 0) {
		rc = berth_error_set(BERTH_EINVALID,
				     "key file: bad nonce, salt or ciphertext size");
		goto done;
	}
	if ((rc = sodium_ready()) < 0 ||
	    (rc = derive(key, password, salt, salt_len, (uint64_t)n)) < 0)
		goto done;
	*plain_len = ct_len - crypto_secretbox_MACBYTES;
	*plain = malloc(*plain_len ? *plain_len : 1);
	if (!*plain) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (crypto_secretbox_open_easy(*plain, ct, ct_len, nonce, key) != 0) {
		free(*plain);
		*plain = NULL;
		rc = berth_error_set(BERTH_EDENIED,
				     "decrypting the private key failed: wrong password "
				     "(or the key file was altered)");
		goto done;
	}
	rc = 0;
done:
	sodium_memzero(key, sizeof(key));
	json_decref(doc);
	free(salt);
	free(nonce);
	free(ct);
	return rc;
}

static int load_encrypted(berth_sign_key **out, const unsigned char *doc, size_t doc_len,
			  const char *password)
{
	unsigned char *plain = NULL;
	const unsigned char *q;
	size_t plain_len = 0;
	EVP_PKEY *p = NULL;
	int rc;

	if ((rc = open_json(&plain, &plain_len, doc, doc_len, password)) < 0)
		return rc;
	q = plain;
	p = d2i_AutoPrivateKey(NULL, &q, (long)plain_len);
	explicit_bzero(plain, plain_len);
	free(plain);
	if (!p)
		return berth_error_set(BERTH_EINVALID, "the decrypted key is not a PKCS#8 key");
	if ((rc = check_type(p)) < 0 || (rc = check_pair(p)) < 0) {
		EVP_PKEY_free(p);
		return rc;
	}
	return berth_sign__key_wrap(out, p, 1);
}

static int no_password_cb(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

int berth_sign_key_load_private(berth_sign_key **out, const char *data, size_t len,
				const char *password)
{
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *body = NULL;
	long body_len = 0;
	EVP_PKEY *p = NULL;
	int rc;

	*out = NULL;
	if (len > BERTH_SIGN_KEY_FILE_MAX)
		return berth_error_set(BERTH_ETOOBIG, "key file larger than %d bytes",
				       BERTH_SIGN_KEY_FILE_MAX);
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!PEM_read_bio(bio, &name, &header, &body, &body_len)) {
		rc = berth_error_set(BERTH_EINVALID, "the key file is not PEM");
		goto done;
	}
	if (strcmp(name, PEM_SIGSTORE) == 0 || strcmp(name, PEM_COSIGN) == 0) {
		rc = load_encrypted(out, body, (size_t)body_len, password ? password : "");
		goto done;
	}
	if (strstr(name, "ENCRYPTED")) {
		rc = berth_error_set(BERTH_EUNSUPPORTED,
				     "PEM '%s' is not supported (decrypt it first)", name);
		goto done;
	}
	(void)BIO_reset(bio);
	p = PEM_read_bio_PrivateKey(bio, NULL, no_password_cb, NULL);
	if (!p) {
		rc = berth_error_set(BERTH_EINVALID, "PEM '%s' is not a readable private key",
				     name);
		goto done;
	}
	if ((rc = check_type(p)) < 0 || (rc = check_pair(p)) < 0)
		goto done;
	rc = berth_sign__key_wrap(out, p, 1);
	p = NULL;
done:
	ERR_clear_error();
	EVP_PKEY_free(p);
	OPENSSL_free(name);
	OPENSSL_free(header);
	if (body) {
		explicit_bzero(body, (size_t)body_len);
		OPENSSL_free(body);
	}
	BIO_free(bio);
	return rc;
}

int berth_sign_key_load_public(berth_sign_key **out, const char *data, size_t len)
{
	BIO *bio = NULL;
	EVP_PKEY *p = NULL;
	X509 *cert = NULL;
	int rc;

	*out = NULL;
	if (len > BERTH_SIGN_KEY_FILE_MAX)
		return berth_error_set(BERTH_ETOOBIG, "public key file larger than %d bytes",
				       BERTH_SIGN_KEY_FILE_MAX);
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio)
		return berth_error_set(BERTH_ERROR, "out of memory");
	p = PEM_read_bio_PUBKEY(bio, NULL, no_password_cb, NULL);
	if (!p) {
		(void)BIO_reset(bio);
		cert = PEM_read_bio_X509(bio, NULL, no_password_cb, NULL);
		if (cert)
			p = X509_get_pubkey(cert);
	}
	if (!p) {
		rc = berth_error_set(BERTH_EINVALID,
				     "not a PEM public key (\"PUBLIC KEY\") or certificate");
		goto done;
	}
	if ((rc = check_type(p)) < 0)
		goto done;
	rc = berth_sign__key_wrap(out, p, 0);
	p = NULL;
done:
	ERR_clear_error();
	EVP_PKEY_free(p);
	X509_free(cert);
	BIO_free(bio);
	return rc;
}

int berth_sign_key_from_spki_der(berth_sign_key **out, const unsigned char *der, size_t len)
{
	const unsigned char *q = der;
	EVP_PKEY *p = d2i_PUBKEY(NULL, &q, (long)len);
	int rc;

	*out = NULL;
	if (!p) {
		ERR_clear_error();
		return berth_error_set(BERTH_EINVALID, "not a DER SubjectPublicKeyInfo");
	}
	if ((rc = check_type(p)) < 0) {
		EVP_PKEY_free(p);
		return rc;
	}
	return berth_sign__key_wrap(out, p, 0);
}

int berth_sign_key_sign(const berth_sign_key *k, const void *msg, size_t len, unsigned char **sig,
			size_t *sig_len)
{
	EVP_MD_CTX *ctx = NULL;
	size_t n = 0;
	int rc = 0;

	*sig = NULL;
	if (!k->is_private)
		return berth_error_set(BERTH_EINVALID, "signing needs a private key");
	ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestSignInit(ctx, NULL, key_md(k->pkey), NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, NULL, &n, msg, len) != 1 || !(*sig = malloc(n)) ||
	    EVP_DigestSign(ctx, *sig, &n, msg, len) != 1) {
		free(*sig);
		*sig = NULL;
		rc = berth_error_set(BERTH_ERROR, "signing failed");
		goto done;
	}
	*sig_len = n;
done:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

int berth_sign__verify_pkey(EVP_PKEY *pkey, const void *msg, size_t len, const unsigned char *sig,
			    size_t sig_len)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	ok = ctx && EVP_DigestVerifyInit(ctx, NULL, key_md(pkey), NULL, pkey) == 1 &&
	     EVP_DigestVerify(ctx, sig, sig_len, msg, len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : berth_error_set(BERTH_EDENIED, "the signature does not verify");
}

int berth_sign_key_verify(const berth_sign_key *k, const void *msg, size_t len,
			  const unsigned char *sig, size_t sig_len)
{
	return berth_sign__verify_pkey(k->pkey, msg, len, sig, sig_len);
}

int berth_sign_key_verify_sha256(const berth_sign_key *k, const unsigned char digest[32],
				 const unsigned char *sig, size_t sig_len)
{
	EVP_PKEY_CTX *ctx = NULL;
	int id = EVP_PKEY_get_base_id(k->pkey), ok;

	if (id == EVP_PKEY_ED25519)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "an Ed25519 signature needs the message, not its digest");
	if (id == EVP_PKEY_EC && ec_curve(k->pkey) == 384)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "a P-384 signature is over SHA-384, not a SHA-256 digest");
	ctx = EVP_PKEY_CTX_new(k->pkey, NULL);
	ok = ctx && EVP_PKEY_verify_init(ctx) == 1 &&
	     (id != EVP_PKEY_RSA || (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
				     EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1)) &&
	     EVP_PKEY_verify(ctx, sig, sig_len, digest, 32) == 1;
	EVP_PKEY_CTX_free(ctx);
	ERR_clear_error();
	return ok ? 0 : berth_error_set(BERTH_EDENIED, "the signature does not verify");
}
