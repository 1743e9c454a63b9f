/*
 * digest.c - content digests: strict parsing of "algorithm:encoded" strings
 * (include/berth/digest.h) and hashing of memory, streams and files with
 * OpenSSL EVP (which picks SHA-NI / AVX2 code paths where the CPU has them).
 *
 * Every blob and manifest that enters berth is named by a digest, so the
 * parser is deliberately strict: only lowercase hex of the exact length for
 * sha256/sha512, a hard cap on the input length, and a clear split between
 * malformed input (BERTH_EINVALID) and well-formed digests of algorithms we
 * do not implement (BERTH_EUNSUPPORTED).
 */
#include "berth/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sodium.h>

/* Longest digest string we look at; anything longer is rejected unread. */
#define DIGEST_INPUT_MAX 1024
/* Read size for berth_digest_fd: large sequential reads keep EVP busy. */
#define DIGEST_FD_CHUNK (1u << 20)
/* Inputs hashed in one call up to this size go through libsodium (see berth_digest_compute). */
#define DIGEST_SMALL_MAX (1u << 20)

struct berth_hasher {
	EVP_MD_CTX *ctx;
	berth_digest_algo algo;
	uint64_t count;
	int finished;
};

static const EVP_MD *algo_md(berth_digest_algo algo)
{
	switch (algo) {
	case BERTH_DIGEST_SHA256: return EVP_sha256();
	case BERTH_DIGEST_SHA512: return EVP_sha512();
	}
	return NULL;
}

static size_t algo_hexlen(berth_digest_algo algo)
{
	return algo == BERTH_DIGEST_SHA512 ? 128 : 64;
}

const char *berth_digest_algo_name(berth_digest_algo algo)
{
	switch (algo) {
	case BERTH_DIGEST_SHA256: return "sha256";
	case BERTH_DIGEST_SHA512: return "sha512";
	}
	return "unknown";
}

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_encoded_char(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-';
}

static int is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* algorithm ::= component (separator component)*, component ::= [a-z0-9]+ */
static int algorithm_valid(const char *s, size_t len)
{
	int need_alnum = 1;

	for (size_t i = 0; i < len; i++) {
		if (is_lower_alnum(s[i])) {
			need_alnum = 0;
		} else if (s[i] == '+' || s[i] == '.' || s[i] == '_' || s[i] == '-') {
			if (need_alnum)
				return 0;
			need_alnum = 1;
		} else {
			return 0;
		}
	}
	return len > 0 && !need_alnum;
}

int berth_digest_parse(berth_digest *out, const char *s, size_t len)
{
	const char *colon;
	size_t alen, elen;
	berth_digest_algo algo;

	if (!s || len == 0)
		return berth_error_set(BERTH_EINVALID, "empty digest");
	if (len > DIGEST_INPUT_MAX)
		return berth_error_set(BERTH_EINVALID, "digest longer than %d bytes",
				       DIGEST_INPUT_MAX);
	colon = memchr(s, ':', len);
	if (!colon)
		return berth_error_set(BERTH_EINVALID, "digest has no ':' (want sha256:<hex>)");
	alen = (size_t)(colon - s);
	elen = len - alen - 1;
	if (!algorithm_valid(s, alen))
		return berth_error_set(BERTH_EINVALID, "malformed digest algorithm");
	if (elen == 0)
		return berth_error_set(BERTH_EINVALID, "digest has an empty encoded part");
	for (size_t i = 0; i < elen; i++) {
		if (!is_encoded_char(colon[1 + i]))
			return berth_error_set(BERTH_EINVALID,
					       "digest contains an invalid character");
	}

	if (alen == 6 && memcmp(s, "sha256", 6) == 0)
		algo = BERTH_DIGEST_SHA256;
	else if (alen == 6 && memcmp(s, "sha512", 6) == 0)
		algo = BERTH_DIGEST_SHA512;
	else
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "unsupported digest algorithm (use sha256 or sha512)");

	if (elen != algo_hexlen(algo))
		return berth_error_set(BERTH_EINVALID, "%s digest must have %zu hex characters",
				       berth_digest_algo_name(algo), algo_hexlen(algo));
	for (size_t i = 0; i < elen; i++) {
		if (!is_lower_hex(colon[1 + i]))
			return berth_error_set(BERTH_EINVALID, "%s digest must be lowercase hex",
					       berth_digest_algo_name(algo));
	}

	out->algo = algo;
	memcpy(out->str, s, len);
	out->str[len] = '\0';
	return 0;
}

const char *berth_digest_hex(const berth_digest *d)
{
	/* Both supported algorithm names are 6 characters long. */
	return d->str + 7;
}

int berth_digest_equal(const berth_digest *a, const berth_digest *b)
{
	return a->algo == b->algo && strcmp(a->str, b->str) == 0;
}

/* ---- hashing ---- */

int berth_hasher_new(berth_hasher **out, berth_digest_algo algo)
{
	berth_hasher *h = NULL;
	int rc = BERTH_ERROR;

	*out = NULL;
	if (!algo_md(algo)) {
		rc = berth_error_set(BERTH_EUNSUPPORTED, "unsupported digest algorithm %d",
				     (int)algo);
		goto done;
	}
	h = calloc(1, sizeof(*h));
	if (!h || !(h->ctx = EVP_MD_CTX_new())) {
		rc = berth_error_set(BERTH_ERROR, "out of memory creating a hasher");
		goto done;
	}
	h->algo = algo;
	if ((rc = berth_hasher_reset(h)) < 0)
		goto done;
	*out = h;
	/* now owned by the caller */ h = NULL;
	rc = 0;
done:
	berth_hasher_free(h);
	return rc;
}

int berth_hasher_reset(berth_hasher *h)
{
	if (EVP_DigestInit_ex(h->ctx, algo_md(h->algo), NULL) != 1)
		return berth_error_set(BERTH_ERROR, "EVP_DigestInit_ex failed");
	h->count = 0;
	h->finished = 0;
	return 0;
}

int berth_hasher_update(berth_hasher *h, const void *data, size_t len)
{
	if (h->finished)
		return berth_error_set(BERTH_ERROR, "hasher used after final (reset it first)");
	if (len == 0)
		return 0;
	if (EVP_DigestUpdate(h->ctx, data, len) != 1)
		return berth_error_set(BERTH_ERROR, "EVP_DigestUpdate failed");
	h->count += len;
	return 0;
}

/* "algo:hex" of a raw digest into out. */
static int format_digest(berth_digest *out, berth_digest_algo algo, const unsigned char *md,
			 unsigned int mdlen)
{
	static const char hex[] = "0123456789abcdef";
	const char *name = berth_digest_algo_name(algo);
	size_t nlen = strlen(name);

	if (nlen + 1 + 2 * (size_t)mdlen + 1 > sizeof(out->str))
		return berth_error_set(BERTH_ERROR, "digest does not fit");
	out->algo = algo;
	memcpy(out->str, name, nlen);
	out->str[nlen] = ':';
	for (unsigned int i = 0; i < mdlen; i++) {
		out->str[nlen + 1 + 2 * i] = hex[md[i] >> 4];
		out->str[nlen + 2 + 2 * i] = hex[md[i] & 0xf];
	}
	out->str[nlen + 1 + 2 * mdlen] = '\0';
	return 0;
}

int berth_hasher_final(berth_hasher *h, berth_digest *out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (h->finished)
		return berth_error_set(BERTH_ERROR, "hasher finalised twice (reset it first)");
	if (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1)
		return berth_error_set(BERTH_ERROR, "EVP_DigestFinal_ex failed");
	h->finished = 1;
	return format_digest(out, h->algo, md, mdlen);
}

uint64_t berth_hasher_count(const berth_hasher *h)
{
	return h->count;
}

berth_digest_algo berth_hasher_algo(const berth_hasher *h)
{
	return h->algo;
}

void berth_hasher_free(berth_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int berth_digest_compute(berth_digest *out, berth_digest_algo algo, const void *data, size_t len)
{
	berth_hasher *h = NULL;
	int rc;

	/*
	 * Small inputs (manifests, configs) hash with libsodium: OpenSSL's first
	 * EVP fetch loads its configuration and providers (about 5 M
	 * instructions, a third of a cached rescan); large ones stream through
	 * OpenSSL's faster code. Both compute the same FIPS 180-4 digests.
	 */
	if (len <= DIGEST_SMALL_MAX && algo == BERTH_DIGEST_SHA256) {
		unsigned char md[crypto_hash_sha256_BYTES];

		crypto_hash_sha256(md, data, len);
		return format_digest(out, algo, md, sizeof(md));
	}
	if (len <= DIGEST_SMALL_MAX && algo == BERTH_DIGEST_SHA512) {
		unsigned char md[crypto_hash_sha512_BYTES];

		crypto_hash_sha512(md, data, len);
		return format_digest(out, algo, md, sizeof(md));
	}

	if ((rc = berth_hasher_new(&h, algo)) < 0)
		goto done;
	if ((rc = berth_hasher_update(h, data, len)) < 0)
		goto done;
	rc = berth_hasher_final(h, out);
done:
	berth_hasher_free(h);
	return rc;
}

int berth_digest_fd(berth_digest *out, berth_digest_algo algo, int fd, uint64_t *size_out)
{
	berth_hasher *h = NULL;
	char *buf = NULL;
	int rc;

	if ((rc = berth_hasher_new(&h, algo)) < 0)
		goto done;
	if (!(buf = malloc(DIGEST_FD_CHUNK))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory hashing a file");
		goto done;
	}
	/* A hint only: fails harmlessly on pipes and sockets. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		ssize_t n = read(fd, buf, DIGEST_FD_CHUNK);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = berth_error_set_errno("read while hashing");
			goto done;
		}
		if (n == 0)
			break;
		if ((rc = berth_hasher_update(h, buf, (size_t)n)) < 0)
			goto done;
	}
	if ((rc = berth_hasher_final(h, out)) < 0)
		goto done;
	if (size_out)
		*size_out = berth_hasher_count(h);
	rc = 0;
done:
	free(buf);
	berth_hasher_free(h);
	return rc;
}
