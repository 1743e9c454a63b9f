/*
 * key.c - the token signing key: an EC P-256 key kept as PEM PKCS#8 (mode
 * 0600) next to the server's data, created on first start, and its key id
 * in the libtrust format that Docker Distribution's token authentication
 * expects in the JWS "kid" header: SHA-256 of the DER SubjectPublicKeyInfo,
 * first 240 bits, base32 (RFC 4648, no padding), 12 groups of 4 joined by ':'.
 *
 * Creation is race-free between processes sharing a directory: the key is
 * written to a private temporary file and link()ed into place, so a second
 * process that loses the race loads the winner's key instead of replacing it.
 */
#include "lib/token/internal.h"
#include "util/buf.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEY_FILE_MAX (64u << 10)

int berth_token__key_id(EVP_PKEY *pkey, char *kid, size_t kid_len)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char *der = NULL, sum[SHA256_DIGEST_LENGTH];
	char flat[49];
	int n, rc = 0;
	size_t o = 0;

	if (kid_len < 60)
		return berth_error_set(BERTH_ERROR, "key id buffer too small");
	if ((n = i2d_PUBKEY(pkey, &der)) <= 0) {
		rc = berth_error_set(BERTH_ERROR, "cannot encode the public key");
		goto done;
	}
	SHA256(der, (size_t)n, sum);
	/* 30 bytes = 240 bits = 48 base32 symbols of 5 bits, no padding. */
	for (size_t i = 0; i < 30; i += 5) {
		uint64_t v = 0;

		for (size_t j = 0; j < 5; j++)
			v = v << 8 | sum[i + j];
		for (int s = 35; s >= 0; s -= 5)
			flat[o++] = b32[v >> s & 31];
	}
	flat[o] = '\0';
	o = 0;
	for (size_t i = 0; i < 48; i++) {
		if (i && i % 4 == 0)
			kid[o++] = ':';
		kid[o++] = flat[i];
	}
	kid[o] = '\0';
done:
	OPENSSL_free(der);
	return rc;
}

static int is_p256(EVP_PKEY *pkey)
{
	char group[64];
	size_t glen = 0;

	if (!EVP_PKEY_is_a(pkey, "EC"))
		return 0;
	if (!EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen))
		return 0;
	return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

/* Wrap pkey (taking it) into a key with its kid. */
static int wrap(berth_token_key **out, EVP_PKEY *pkey)
{
	berth_token_key *k = NULL;
	int rc;

	if (!(k = calloc(1, sizeof(*k)))) {
		EVP_PKEY_free(pkey);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	k->pkey = pkey;
	if ((rc = berth_token__key_id(pkey, k->kid, sizeof(k->kid))) != 0) {
		berth_token_key_free(k);
		return rc;
	}
	*out = k;
	return 0;
}

int berth_token_key_generate(berth_token_key **out)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");

	*out = NULL;
	if (!pkey)
		return berth_error_set(BERTH_ERROR, "cannot generate an EC P-256 key");
	return wrap(out, pkey);
}

int berth_token_key_from_pem(berth_token_key **out, const char *pem, size_t len)
{
	BIO *bio = NULL;
	EVP_PKEY *pkey = NULL;
	int rc = 0;

	*out = NULL;
	if (len > KEY_FILE_MAX || len > INT_MAX)
		return berth_error_set(BERTH_ETOOBIG, "signing key file too large");
	if (!(bio = BIO_new_mem_buf(pem, (int)len))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (!(pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL))) {
		rc = berth_error_set(BERTH_EINVALID,
				     "signing key is not a PEM private key (unencrypted PKCS#8)");
		goto done;
	}
	if (!is_p256(pkey)) {
		rc = berth_error_set(BERTH_EUNSUPPORTED, "signing key must be EC P-256");
		goto done;
	}
	rc = wrap(out, pkey);
	/* now owned by *out (or freed) */ pkey = NULL;
done:
	EVP_PKEY_free(pkey);
	BIO_free(bio);
	return rc;
}

static int load(berth_token_key **out, const char *path)
{
	berth_buf b = BERTH_BUF_INIT(KEY_FILE_MAX);
	int rc;

	if ((rc = berth_fs_read_file(&b, path)) != 0)
		goto done;
	if ((rc = berth_token_key_from_pem(out, b.ptr ? b.ptr : "", b.len)) != 0) {
		char why[256];

		snprintf(why, sizeof(why), "%s", berth_error_last());
		berth_error_set(rc, "%s: %s", path, why);
	}
done:
	berth_buf_dispose_secret(&b);
	return rc;
}

/* Write a new key to a private temporary file and link it into place. */
static int create(const char *path)
{
	char tmp[PATH_MAX];
	EVP_PKEY *pkey = NULL;
	BIO *bio = NULL;
	char *pem = NULL;
	long pemlen = 0;
	int fd = -1, rc = 0, linked = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return berth_error_set(BERTH_EINVALID, "signing key path too long");
	if (!(pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256"))) {
		rc = berth_error_set(BERTH_ERROR, "cannot generate an EC P-256 key");
		goto done;
	}
	if (!(bio = BIO_new(BIO_s_mem())) ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
		rc = berth_error_set(BERTH_ERROR, "cannot encode the signing key");
		goto done;
	}
	pemlen = BIO_get_mem_data(bio, &pem);
	unlink(tmp); /* a leftover of a crashed run with our pid */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		rc = berth_error_set_errno("create %s", tmp);
		goto done;
	}
	if ((rc = berth_fs_write_all(fd, pem, (size_t)pemlen)) != 0)
		goto done;
	if (fsync(fd) != 0) {
		rc = berth_error_set_errno("fsync %s", tmp);
		goto done;
	}
	if (link(tmp, path) != 0) {
		/* EEXIST: another process created it first; the caller loads it. */
		if (errno != EEXIST)
			rc = berth_error_set_errno("create %s", path);
		goto done;
	}
	linked = 1;
done:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	if (rc == 0 && linked)
		rc = berth_fs_fsync_parent(path);
	if (pem && pemlen > 0)
		explicit_bzero(pem, (size_t)pemlen);
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return rc;
}

int berth_token_key_load_or_create(berth_token_key **out, const char *pem_path)
{
	int rc;

	*out = NULL;
	if (!pem_path || !*pem_path)
		return berth_error_set(BERTH_EINVALID, "no signing key path");
	if (access(pem_path, F_OK) != 0) {
		if (errno != ENOENT)
			return berth_error_set_errno("%s", pem_path);
		if ((rc = create(pem_path)) != 0)
			return rc;
	}
	return load(out, pem_path);
}

void berth_token_key_free(berth_token_key *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey);
	explicit_bzero(k, sizeof(*k));
	free(k);
}

const char *berth_token_key_id(const berth_token_key *k)
{
	return k->kid;
}

int berth_token_key_derive(const berth_token_key *k, const char *label, unsigned char out[32])
{
	BIO *bio = NULL;
	char *pem = NULL;
	long pemlen = 0;
	unsigned int n = 0;
	int rc = 0;

	if (!(bio = BIO_new(BIO_s_mem())) ||
	    !PEM_write_bio_PrivateKey(bio, k->pkey, NULL, NULL, 0, NULL, NULL) ||
	    (pemlen = BIO_get_mem_data(bio, &pem)) <= 0) {
		rc = berth_error_set(BERTH_ERROR, "cannot encode the signing key");
		goto done;
	}
	if (!HMAC(EVP_sha256(), pem, (int)pemlen, (const unsigned char *)label, strlen(label), out,
		  &n) ||
	    n != 32)
		rc = berth_error_set(BERTH_ERROR, "cannot derive a secret from the signing key");
done:
	if (pem && pemlen > 0)
		explicit_bzero(pem, (size_t)pemlen);
	BIO_free(bio);
	return rc;
}
