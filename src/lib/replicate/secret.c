/*
 * secret.c - target passwords of registries created through the API, kept
 * sealed in the database: libsodium secretbox (XSalsa20-Poly1305) under a
 * 32-byte key in a file outside the database (`<data>/replication.key`,
 * mode 0600, made at the first need).
 *
 * A sealed secret is "v1." + base64url(nonce || box). Rotation: put a new
 * key in `<key file>.new` and restart; at start every secret is opened with
 * whichever key opens it and sealed again under the new key, then the new
 * file replaces the old one. A start interrupted half-way repeats the same
 * steps, since each secret opens under one of the two keys.
 */
#include "internal.h"

#include "util/b64.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "v1."
#define SECRET_MAX 1024 /* plaintext bytes */

static int key_read(const char *path, unsigned char key[BERTH_REPL_KEY_BYTES])
{
	berth_buf b = BERTH_BUF_INIT(BERTH_REPL_KEY_BYTES + 1);
	int rc = berth_fs_read_file(&b, path);

	if (rc == 0 && b.len != BERTH_REPL_KEY_BYTES)
		rc = berth_error_set(BERTH_EINVALID, "replication key %s: expected %d bytes", path,
				     BERTH_REPL_KEY_BYTES);
	else if (rc == BERTH_ETOOBIG)
		rc = berth_error_set(BERTH_EINVALID, "replication key %s: expected %d bytes", path,
				     BERTH_REPL_KEY_BYTES);
	if (rc == 0)
		memcpy(key, b.ptr, BERTH_REPL_KEY_BYTES);
	berth_buf_dispose_secret(&b);
	return rc;
}

static int key_create(const char *path, unsigned char key[BERTH_REPL_KEY_BYTES])
{
	int fd, rc = 0;

	randombytes_buf(key, BERTH_REPL_KEY_BYTES);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_error_set_errno("replication key %s", path);
	if (berth_fs_write_all(fd, key, BERTH_REPL_KEY_BYTES) < 0 || fsync(fd) != 0)
		rc = berth_error_set_errno("replication key %s", path);
	close(fd);
	if (rc == 0)
		rc = berth_fs_fsync_parent(path);
	return rc;
}

int berth_replicate__key_load(berth_replicator *r)
{
	int rc;

	if (!r->key_file || r->have_key)
		return 0;
	if (sodium_init() < 0)
		return berth_error_set(BERTH_ERROR, "libsodium failed to initialise");
	rc = key_read(r->key_file, r->key);
	if (rc == BERTH_ENOTFOUND)
		rc = key_create(r->key_file, r->key);
	if (rc == 0)
		r->have_key = 1;
	return rc;
}

static int seal_with(const unsigned char *key, const char *plain, char **out)
{
	size_t n = strlen(plain),
	       blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + n;
	unsigned char *box = malloc(blen);
	char *text = NULL;

	*out = NULL;
	if (n > SECRET_MAX)
		return berth_error_set(BERTH_EINVALID, "password longer than %d bytes", SECRET_MAX);
	if (!box || !(text = malloc(strlen(PREFIX) + berth_b64url_len(blen) + 1))) {
		free(box);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plain, n,
			      box, key);
	strcpy(text, PREFIX);
	berth_b64url_encode(text + strlen(PREFIX), box, blen);
	free(box);
	*out = text;
	return 0;
}

int berth_replicate__seal(berth_replicator *r, const char *plain, char **out)
{
	int rc = berth_replicate__key_load(r);

	return rc < 0 ? rc : seal_with(r->key, plain, out);
}

static int open_with(const unsigned char *key, const char *text, char **out)
{
	size_t tlen = strlen(text);
	unsigned char box[crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + SECRET_MAX];
	char *plain;
	long blen;

	*out = NULL;
	if (strncmp(text, PREFIX, strlen(PREFIX)) != 0 ||
	    (blen = berth_b64url_decode(box, sizeof(box), text + strlen(PREFIX),
					tlen - strlen(PREFIX))) < 0 ||
	    blen < (long)(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES))
		return berth_error_set(BERTH_EINVALID, "a stored registry secret is malformed");
	blen -= crypto_secretbox_NONCEBYTES;
	if (!(plain = calloc(1, (size_t)blen - crypto_secretbox_MACBYTES + 1)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (crypto_secretbox_open_easy((unsigned char *)plain, box + crypto_secretbox_NONCEBYTES,
				       (unsigned long long)blen, box, key) != 0) {
		free(plain);
		return berth_error_set(BERTH_EDENIED,
				       "a stored registry secret does not open with the key");
	}
	*out = plain;
	return 0;
}

int berth_replicate__unseal(berth_replicator *r, const char *text, char **out)
{
	int rc = berth_replicate__key_load(r);

	if (rc < 0)
		return rc;
	rc = open_with(r->key, text, out);
	if (rc == BERTH_EDENIED && r->have_next)
		rc = open_with(r->next_key, text, out);
	return rc;
}

void berth_replicate__secret_free(char *s)
{
	if (!s)
		return;
	sodium_memzero(s, strlen(s));
	free(s);
}

/* ---- rotation ---- */

typedef struct reseal {
	berth_replicator *r;
	int rc;
} reseal;

static int reseal_one(void *ctx, const char *name, const char *body, const char *secret)
{
	reseal *x = ctx;
	char *plain = NULL, *sealed = NULL;

	if (!secret[0])
		return 0;
	if ((x->rc = berth_replicate__unseal(x->r, secret, &plain)) < 0 ||
	    (x->rc = seal_with(x->r->next_key, plain, &sealed)) < 0 ||
	    (x->rc = berth_meta_repl_registry_put(x->r->meta, name, body, sealed)) < 0) {
		berth_replicate__secret_free(plain);
		free(sealed);
		return x->rc;
	}
	berth_replicate__secret_free(plain);
	free(sealed);
	return 0;
}

int berth_replicate__rotate(berth_replicator *r)
{
	char *next = NULL;
	reseal x = {r, 0};
	int rc;

	if (!r->key_file)
		return 0;
	if (asprintf(&next, "%s.new", r->key_file) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (access(next, F_OK) != 0) {
		free(next);
		return 0;
	}
	if ((rc = key_read(next, r->next_key)) < 0 || (rc = berth_replicate__key_load(r)) < 0)
		goto done;
	r->have_next = 1;
	if ((rc = berth_meta_repl_registries(r->meta, reseal_one, &x)) < 0)
		goto done;
	if (rename(next, r->key_file) != 0) {
		rc = berth_error_set_errno("replication key rotation: rename %s", next);
		goto done;
	}
	if ((rc = berth_fs_fsync_parent(r->key_file)) < 0)
		goto done;
	memcpy(r->key, r->next_key, BERTH_REPL_KEY_BYTES);
	berth_info("replication: stored registry passwords sealed again under the new key");
done:
	sodium_memzero(r->next_key, sizeof(r->next_key));
	r->have_next = 0;
	free(next);
	return rc;
}
