/*
 * password.c - password hashes through libcrypt (libxcrypt): bcrypt "$2y$"
 * for new hashes (what `htpasswd -B` writes), verification of bcrypt and
 * SHA-crypt hashes, the "burn" that makes an unknown user cost what a wrong
 * password costs, and random secrets for robot accounts.
 *
 * crypt_rn() is reentrant with its own struct crypt_data; that struct is
 * about 32 KiB, so it lives on the heap (server threads have small stacks)
 * and is wiped with explicit_bzero before it is freed, since it holds the
 * password and the derived key.
 */
#include "lib/cred/internal.h"
#include "util/b64.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define BCRYPT_COST 10

/*
 * A real bcrypt hash of a throwaway password, same cost as the hashes berth
 * writes: verifying against it costs one verification.
 */
static const char dummy_hash[] = "$2y$10$Hq2xVb0e6rNwJkPzYc4sUu8iLM84.8cU8HUJRsdtOlnPw5SQKnPw2";

atomic_ulong berth_cred__crypt_calls;

static struct crypt_data *cd_new(void)
{
	return calloc(1, sizeof(struct crypt_data));
}

static void cd_free(struct crypt_data *cd)
{
	if (!cd)
		return;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
}

/* crypt_rn, counted; NULL or a failure token ("*...") on error. */
static const char *do_crypt(const char *password, const char *setting, struct crypt_data *cd)
{
	const char *r;

	atomic_fetch_add(&berth_cred__crypt_calls, 1);
	r = crypt_rn(password, setting, cd, (int)sizeof(*cd));
	if (r && r[0] == '*')
		r = NULL;
	return r;
}

int berth_cred_password_hash(char out[BERTH_CRED_HASH_MAX], const char *password)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char rnd[16];
	struct crypt_data *cd = NULL;
	const char *h;
	size_t plen = password ? strnlen(password, BERTH_CRED_BCRYPT_MAX + 1) : 0;
	int rc = 0;

	out[0] = '\0';
	if (plen == 0 || plen > BERTH_CRED_BCRYPT_MAX)
		return berth_error_set(BERTH_EINVALID,
				       "password must be 1 to %d bytes (bcrypt reads no more)",
				       BERTH_CRED_BCRYPT_MAX);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		rc = berth_error_set(BERTH_ERROR, "no random bytes for a password salt");
		goto done;
	}
	if (!crypt_gensalt_rn("$2y$", BCRYPT_COST, (const char *)rnd, (int)sizeof(rnd), salt,
			      (int)sizeof(salt))) {
		rc = berth_error_set(BERTH_ERROR, "libcrypt cannot make a bcrypt salt");
		goto done;
	}
	if (!(cd = cd_new())) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	h = do_crypt(password, salt, cd);
	if (!h || strncmp(h, "$2y$", 4) != 0 || strlen(h) >= BERTH_CRED_HASH_MAX) {
		rc = berth_error_set(BERTH_ERROR, "libcrypt failed to hash the password");
		goto done;
	}
	strcpy(out, h);
done:
	explicit_bzero(rnd, sizeof(rnd));
	explicit_bzero(salt, sizeof(salt));
	cd_free(cd);
	return rc;
}

int berth_cred_password_verify(const char *hash, const char *password)
{
	struct crypt_data *cd = NULL;
	const char *h;
	size_t hlen = hash ? strnlen(hash, BERTH_CRED_HASH_MAX) : 0;
	size_t plen = password ? strnlen(password, BERTH_CRED_PASSWORD_MAX + 1) : 0;
	int rc = BERTH_EDENIED;

	/*
	 * Every failure path still runs one hash, so that a malformed stored
	 * hash or an oversized password answers in the time a wrong one does.
	 */
	/* bcrypt reads 72 bytes and ignores the rest: a longer password would
	 * match any that shares its first 72 bytes. Refused, as at setting. */
	if (!password || plen > BERTH_CRED_PASSWORD_MAX || hlen == 0 ||
	    hlen >= BERTH_CRED_HASH_MAX || !berth_cred__hash_wellformed(hash, hlen) ||
	    (strncmp(hash, "$2", 2) == 0 && plen > BERTH_CRED_BCRYPT_MAX)) {
		berth_cred_password_burn("");
		return berth_error_set(BERTH_EDENIED, "invalid credentials");
	}
	if (!(cd = cd_new()))
		return berth_error_set(BERTH_ERROR, "out of memory");
	h = do_crypt(password, hash, cd);
	if (h && strlen(h) == hlen && CRYPTO_memcmp(h, hash, hlen) == 0)
		rc = 0;
	cd_free(cd);
	if (rc)
		berth_error_set(BERTH_EDENIED, "invalid credentials");
	return rc;
}

void berth_cred_password_burn(const char *password)
{
	struct crypt_data *cd = cd_new();
	const char *h;
	volatile int sink;

	if (!cd)
		return;
	h = do_crypt(password && strnlen(password, BERTH_CRED_PASSWORD_MAX + 1) <=
					     BERTH_CRED_PASSWORD_MAX
			     ? password
			     : "",
		     dummy_hash, cd);
	/* Compare as verify does, so the work is the same and not optimised away. */
	sink = h ? CRYPTO_memcmp(h, dummy_hash, sizeof(dummy_hash) - 1) : 1;
	(void)sink;
	cd_free(cd);
}

int berth_cred_random_secret(char *out, size_t len)
{
	unsigned char raw[768]; /* 1023 chars * 6 bits / 8 */
	char *enc = NULL;
	size_t want, nraw;
	int rc = 0;

	if (len < 2 || len > 1024)
		return berth_error_set(BERTH_EINVALID, "secret length must be 2..1024");
	want = len - 1;
	nraw = (want * 6 + 7) / 8;
	if (!(enc = malloc(berth_b64url_len(nraw) + 1)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (RAND_bytes(raw, (int)nraw) != 1) {
		rc = berth_error_set(BERTH_ERROR, "no random bytes for a secret");
		goto done;
	}
	berth_b64url_encode(enc, raw, nraw);
	memcpy(out, enc, want);
	out[want] = '\0';
done:
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(enc, berth_b64url_len(nraw) + 1);
	free(enc);
	return rc;
}
