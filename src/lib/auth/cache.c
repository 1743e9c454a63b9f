/*
 * cache.c - a short-lived memory of successful Basic verifications, so that
 * a client sending its password on every request (curl, CI scripts) does
 * not cost a bcrypt verification each time.
 *
 * An entry is the HMAC-SHA256, under a key drawn at random when the process
 * starts, of the login name, the password and the stored hash: it reveals
 * nothing of the password, and a changed password hash (or secret) never
 * matches an old entry, so a password change takes effect on the very next
 * request. The table has a fixed number of slots (an entry's slot comes from
 * its first bytes; a newer entry replaces an older one); lookups compare the
 * whole HMAC in constant time. Throttling and audit happen before and after
 * the verification as ever: only the bcrypt is saved.
 */
#include "lib/auth/internal.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_SLOTS 4096   /* bounded: at most this many remembered verifications */
#define MAC_INPUT_MAX 2048 /* name, password and hash with their NULs */

typedef struct slot {
	unsigned char mac[BERTH_AUTH__MAC_LEN];
	time_t until; /* CLOCK_MONOTONIC seconds; 0 = empty */
} slot;

struct berth_auth__cache {
	pthread_mutex_t lock;
	long ttl;
	unsigned char key[32];
	slot slots[CACHE_SLOTS];
};

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

int berth_auth__cache_new(berth_auth__cache **out, long ttl)
{
	berth_auth__cache *c;

	*out = NULL;
	if (ttl <= 0)
		return 0;
	if (!(c = calloc(1, sizeof(*c))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (RAND_bytes(c->key, sizeof(c->key)) != 1) {
		free(c);
		return berth_error_set(BERTH_ERROR, "no randomness for the credential cache key");
	}
	pthread_mutex_init(&c->lock, NULL);
	c->ttl = ttl;
	*out = c;
	return 0;
}

void berth_auth__cache_free(berth_auth__cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

int berth_auth__cache_mac(berth_auth *a, const char *name, const char *password, const char *hash,
			  unsigned char mac[BERTH_AUTH__MAC_LEN])
{
	const char *parts[3] = {name, password, hash};
	unsigned char msg[MAC_INPUT_MAX];
	unsigned int len = 0;
	size_t n = 0;
	int rc = -1;

	if (!a->cache)
		return -1;
	for (int i = 0; i < 3; i++) {
		/* Each part with its NUL: "ab"+"c" and "a"+"bc" differ. */
		size_t l = strlen(parts[i]) + 1;

		if (l > sizeof(msg) - n)
			goto done;
		memcpy(msg + n, parts[i], l);
		n += l;
	}
	if (HMAC(EVP_sha256(), a->cache->key, sizeof(a->cache->key), msg, n, mac, &len) &&
	    len == BERTH_AUTH__MAC_LEN)
		rc = 0;
done:
	explicit_bzero(msg, sizeof(msg));
	return rc;
}

static slot *slot_of(berth_auth__cache *c, const unsigned char *mac)
{
	unsigned i = ((unsigned)mac[0] << 8 | mac[1]) % CACHE_SLOTS;

	return &c->slots[i];
}

int berth_auth__cache_hit(berth_auth *a, const unsigned char mac[BERTH_AUTH__MAC_LEN])
{
	berth_auth__cache *c = a->cache;
	slot *s;
	int hit;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	s = slot_of(c, mac);
	hit = s->until > mono() && CRYPTO_memcmp(s->mac, mac, BERTH_AUTH__MAC_LEN) == 0;
	pthread_mutex_unlock(&c->lock);
	return hit;
}

void berth_auth__cache_put(berth_auth *a, const unsigned char mac[BERTH_AUTH__MAC_LEN])
{
	berth_auth__cache *c = a->cache;
	slot *s;

	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	s = slot_of(c, mac);
	memcpy(s->mac, mac, BERTH_AUTH__MAC_LEN);
	s->until = mono() + c->ttl;
	pthread_mutex_unlock(&c->lock);
}
