/*
 * store.c - the front of the blob store (include/berth/store.h): picks a
 * driver from the location, checks every argument before a driver sees it
 * (digests and upload ids become paths or object keys), owns the in-process
 * cache of upload hash states, and makes upload ids.
 *
 * The cache exists so that a chunked upload (many PATCH requests, each an
 * open/write/close) does not re-read its data to resume hashing: closing an
 * upload parks its hasher here and the next open takes it back. Drivers only
 * trust a parked hasher whose byte count equals the upload's size on disk;
 * anything else (another process appended, a restart emptied the cache) is
 * recomputed from the data, which is what lets uploads survive restarts.
 */
#include "lib/store/internal.h"

#include "util/buf.h"
#include "util/hash.h"
#include "util/random.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct berth_store__cache_ent {
	char id[BERTH_UPLOAD_ID_MAX];
	berth_hasher *h;
	struct berth_store__cache_ent *hnext;	    /* bucket chain */
	struct berth_store__cache_ent *prev, *next; /* LRU list */
};

/* ---- argument checks ---- */

static int is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

int berth_store_upload_id_valid(const char *id)
{
	if (!id)
		return 0;
	for (size_t i = 0; i < 36; i++) {
		char c = id[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!is_lower_hex(c)) {
			return 0; /* also stops at a NUL before 36 characters */
		}
	}
	return id[36] == '\0';
}

/* A digest is used as a path: insist on exactly "<algo>:<lowercase hex>". */
static int digest_ok(const berth_digest *d)
{
	size_t hexlen;
	const char *name;

	if (!d)
		return 0;
	switch (d->algo) {
	case BERTH_DIGEST_SHA256:
		hexlen = 64;
		name = "sha256";
		break;
	case BERTH_DIGEST_SHA512:
		hexlen = 128;
		name = "sha512";
		break;
	default: return 0;
	}
	if (memcmp(d->str, name, 6) != 0 || d->str[6] != ':')
		return 0;
	for (size_t i = 0; i < hexlen; i++) {
		if (!is_lower_hex(d->str[7 + i]))
			return 0;
	}
	return d->str[7 + hexlen] == '\0';
}

static int bad_digest(void)
{
	return berth_error_set(BERTH_EINVALID,
			       "invalid digest (want sha256:<64 hex> or sha512:<128 hex>)");
}

static int bad_id(void)
{
	return berth_error_set(BERTH_EINVALID, "invalid upload id");
}

/* ---- hash-state cache ---- */

static size_t bucket_of(const char *id)
{
	return berth_fnv1a_str(BERTH_FNV1A_INIT, id) % BERTH_STORE__CACHE_BUCKETS;
}

/* Unlink `e` from its bucket and the LRU list. Caller holds cache_mu. */
static void cache_unlink(berth_store *s, struct berth_store__cache_ent *e)
{
	struct berth_store__cache_ent **pp = &s->buckets[bucket_of(e->id)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->prev)
		e->prev->next = e->next;
	else
		s->lru_head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		s->lru_tail = e->prev;
	s->cache_len--;
}

static struct berth_store__cache_ent *cache_find(berth_store *s, const char *id)
{
	struct berth_store__cache_ent *e = s->buckets[bucket_of(id)];

	while (e && strcmp(e->id, id) != 0)
		e = e->hnext;
	return e;
}

static void ent_free(struct berth_store__cache_ent *e)
{
	if (!e)
		return;
	berth_hasher_free(e->h);
	free(e);
}

void berth_store__cache_put(berth_store *s, const char *id, berth_hasher *h)
{
	struct berth_store__cache_ent *e = malloc(sizeof(*e));
	struct berth_store__cache_ent *old = NULL, *evicted = NULL;
	size_t b;

	if (!e) {
		/* Not fatal: the next open recomputes the hash. */
		berth_hasher_free(h);
		return;
	}
	memcpy(e->id, id, BERTH_UPLOAD_ID_MAX);
	e->h = h;
	b = bucket_of(id);

	pthread_mutex_lock(&s->cache_mu);
	if ((old = cache_find(s, id)) != NULL)
		cache_unlink(s, old);
	if (s->cache_len >= BERTH_STORE__CACHE_MAX && s->lru_tail) {
		evicted = s->lru_tail;
		cache_unlink(s, evicted);
	}
	e->hnext = s->buckets[b];
	s->buckets[b] = e;
	e->prev = NULL;
	e->next = s->lru_head;
	if (s->lru_head)
		s->lru_head->prev = e;
	else
		s->lru_tail = e;
	s->lru_head = e;
	s->cache_len++;
	pthread_mutex_unlock(&s->cache_mu);

	/* Freeing happens outside the lock. */
	ent_free(old);
	ent_free(evicted);
}

berth_hasher *berth_store__cache_take(berth_store *s, const char *id)
{
	struct berth_store__cache_ent *e;
	berth_hasher *h = NULL;

	pthread_mutex_lock(&s->cache_mu);
	if ((e = cache_find(s, id)) != NULL)
		cache_unlink(s, e);
	pthread_mutex_unlock(&s->cache_mu);
	if (e) {
		h = e->h;
		free(e);
	}
	return h;
}

void berth_store__cache_drop(berth_store *s, const char *id)
{
	berth_hasher_free(berth_store__cache_take(s, id));
}

/* ---- store ---- */

int berth_store_open(berth_store **out, const char *location)
{
	berth_store *s = NULL;
	const char *path = location;
	int rc;

	*out = NULL;
	if (!location || !*location) {
		rc = berth_error_set(BERTH_EINVALID, "empty store location");
		goto done;
	}
	if (strncmp(location, "s3://", 5) == 0) {
		berth_store_s3_config cfg;
		char *storage = NULL;

		if ((rc = berth_store_s3_config_parse(&cfg, &storage, location)) == 0)
			rc = berth_store_open_s3(out, &cfg);
		free(storage);
		return rc;
	}
	if (strncmp(location, "file://", 7) == 0) {
		path = location + 7;
	} else if (strstr(location, "://")) {
		rc = berth_error_set(BERTH_EUNSUPPORTED,
				     "unsupported store location %s (use a directory, file://<dir> "
				     "or s3://<bucket>)",
				     location);
		goto done;
	}
	if (!*path) {
		rc = berth_error_set(BERTH_EINVALID, "empty store directory in %s", location);
		goto done;
	}
	if (!(s = calloc(1, sizeof(*s)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory opening the store");
		goto done;
	}
	pthread_mutex_init(&s->cache_mu, NULL);
	if ((rc = berth_store__fs_open(s, path)) < 0)
		goto done;
	*out = s;
	/* now owned by the caller */ s = NULL;
	rc = 0;
done:
	berth_store_free(s);
	return rc;
}

int berth_store_open_s3(berth_store **out, const berth_store_s3_config *cfg)
{
	berth_store *s = NULL;
	int rc;

	*out = NULL;
	if (!(s = calloc(1, sizeof(*s))))
		return berth_error_set(BERTH_ERROR, "out of memory opening the store");
	pthread_mutex_init(&s->cache_mu, NULL);
	if ((rc = berth_store__s3_open(s, cfg)) < 0) {
		berth_store_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

const char *berth_store_driver(const berth_store *s)
{
	return s->drv->name;
}

void berth_store_free(berth_store *s)
{
	struct berth_store__cache_ent *e, *next;

	if (!s)
		return;
	if (s->drv)
		s->drv->free(s);
	for (e = s->lru_head; e; e = next) {
		next = e->next;
		ent_free(e);
	}
	pthread_mutex_destroy(&s->cache_mu);
	free(s);
}

void berth_store_get_stats(berth_store *s, berth_store_stats *out)
{
	out->hash_resumed = atomic_load(&s->hash_resumed);
	out->hash_recomputed = atomic_load(&s->hash_recomputed);
	out->bytes_rehashed = atomic_load(&s->bytes_rehashed);
	out->requests = out->retries = out->bytes_out = out->bytes_in = 0;
	if (s->drv->stats)
		s->drv->stats(s, out);
}

static const double op_buckets[BERTH_STORE_OP_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
							  0.5,	 1,    2.5,   5,    10,	 30};

double berth_store_op_bucket(unsigned i)
{
	return i < BERTH_STORE_OP_BUCKETS ? op_buckets[i] : 0;
}

const char *berth_store_op_class(unsigned i)
{
	static const char *const names[BERTH_STORE_OP_CLASSES] = {"2xx", "3xx", "4xx", "5xx",
								  "error"};

	return i < BERTH_STORE_OP_CLASSES ? names[i] : "error";
}

size_t berth_store_get_op_stats(berth_store *s, berth_store_op_stats *out, size_t max)
{
	return s->drv->op_stats ? s->drv->op_stats(s, out, max) : 0;
}

int berth_store_stat(berth_store *s, const berth_digest *d, uint64_t *size)
{
	if (!digest_ok(d))
		return bad_digest();
	return s->drv->stat(s, d, size);
}

int berth_store_open_blob(berth_store *s, const berth_digest *d, int *fd, uint64_t *size)
{
	*fd = -1;
	if (!digest_ok(d))
		return bad_digest();
	return s->drv->open_blob(s, d, fd, size);
}

int berth_store_read_blob(berth_store *s, const berth_digest *d, struct berth_buf *out)
{
	if (!digest_ok(d))
		return bad_digest();
	return s->drv->read_blob(s, d, out);
}

int berth_store_put(berth_store *s, const berth_digest *expected, const void *data, size_t len)
{
	if (!digest_ok(expected))
		return bad_digest();
	return s->drv->put(s, expected, data, len);
}

int berth_store_delete(berth_store *s, const berth_digest *d)
{
	if (!digest_ok(d))
		return bad_digest();
	return s->drv->delete_blob(s, d);
}

/* ---- readers ---- */

/* The fallback reader: pread on the blob's descriptor. */
typedef struct fd_reader {
	berth_blob_reader base;
	int fd;
} fd_reader;

static long fd_read(berth_blob_reader *r, uint64_t pos, char *buf, size_t max)
{
	ssize_t n;

	do
		n = pread(((fd_reader *)r)->fd, buf, max, (off_t)pos);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : (long)n;
}

static void fd_free(berth_blob_reader *r)
{
	close(((fd_reader *)r)->fd);
	free(r);
}

int berth_store_reader_open(berth_blob_reader **out, berth_store *s, const berth_digest *d,
			    uint64_t *size)
{
	fd_reader *r;
	int fd, rc;

	*out = NULL;
	if (!digest_ok(d))
		return bad_digest();
	if (s->drv->reader_open)
		return s->drv->reader_open(out, s, d, size);
	if ((rc = s->drv->open_blob(s, d, &fd, size)) < 0)
		return rc;
	if (!(r = calloc(1, sizeof(*r)))) {
		close(fd);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	r->base.read = fd_read;
	r->base.free = fd_free;
	r->fd = fd;
	*out = &r->base;
	return 0;
}

long berth_blob_reader_read(berth_blob_reader *r, uint64_t pos, char *buf, size_t max)
{
	return r->read(r, pos, buf, max);
}

void berth_blob_reader_free(berth_blob_reader *r)
{
	if (r)
		r->free(r);
}

int berth_store_redirect_url(berth_store *s, const berth_digest *d, unsigned expires, char **url)
{
	*url = NULL;
	if (!digest_ok(d))
		return bad_digest();
	if (!s->drv->redirect_url)
		return berth_error_set(BERTH_EUNSUPPORTED, "store driver %s does not redirect",
				       s->drv->name);
	return s->drv->redirect_url(s, d, expires, url);
}

int berth_store__list(berth_store *s, int (*fn)(void *ctx, const berth_digest *d), void *ctx)
{
	if (!s->drv->list)
		return berth_error_set(BERTH_EUNSUPPORTED, "store driver %s cannot list its blobs",
				       s->drv->name);
	return s->drv->list(s, fn, ctx);
}

/* ---- garbage collection ---- */

int berth_store_gc(berth_store *s, const berth_store_gc_opts *o, berth_store_gc_stats *stats)
{
	berth_store_gc_stats st = {0};
	int rc;

	if (!o || !o->referenced)
		return berth_error_set(BERTH_EINVALID, "store gc: no mark (referenced) given");
	if (!s->drv->gc)
		return berth_error_set(BERTH_EUNSUPPORTED, "store driver %s has no gc",
				       s->drv->name);
	rc = s->drv->gc(s, o, &st);
	if (stats)
		*stats = st;
	return rc;
}

/* ---- uploads ---- */

int berth_store_upload_create(berth_store *s, char id_out[BERTH_UPLOAD_ID_MAX])
{
	char id[BERTH_UPLOAD_ID_MAX];
	int rc;

	id_out[0] = '\0';
	if ((rc = berth_uuid4(id)) < 0)
		return rc;
	if ((rc = s->drv->upload_create(s, id)) < 0)
		return rc;
	memcpy(id_out, id, BERTH_UPLOAD_ID_MAX);
	return 0;
}

int berth_store_upload_size(berth_store *s, const char *id, uint64_t *size)
{
	if (!berth_store_upload_id_valid(id))
		return bad_id();
	return s->drv->upload_size(s, id, size);
}

int berth_store_upload_open(berth_upload **out, berth_store *s, const char *id)
{
	*out = NULL;
	if (!berth_store_upload_id_valid(id))
		return bad_id();
	return s->drv->upload_open(out, s, id);
}

uint64_t berth_upload_offset(const berth_upload *u)
{
	return u->offset;
}

int berth_upload_reader(berth_upload *u, int *fd)
{
	*fd = -1;
	if (!u->store->drv->upload_reader)
		return berth_error_set(BERTH_EUNSUPPORTED, "store driver %s cannot read an upload",
				       u->store->drv->name);
	return u->store->drv->upload_reader(u, fd);
}

const char *berth_upload_id(const berth_upload *u)
{
	return u->id;
}

int berth_upload_write(berth_upload *u, const void *data, size_t len)
{
	if (len == 0)
		return 0;
	return u->store->drv->upload_write(u, data, len);
}

int berth_upload_sync(berth_upload *u)
{
	return u->store->drv->upload_sync(u);
}

int berth_upload_hash_by_caller(berth_upload *u)
{
	if (u->offset != 0)
		return berth_error_set(
			BERTH_EINVALID,
			"upload %s: only an empty upload can be hashed by its caller", u->id);
	berth_hasher_free(u->hasher);
	u->hasher = NULL;
	u->caller_hashed = 1;
	return 0;
}

static int upload_commit(berth_upload *u, const berth_digest *expected, int hashed,
			 uint64_t *size_out)
{
	int rc;

	if (!digest_ok(expected))
		rc = bad_digest();
	else
		rc = u->store->drv->upload_commit(u, expected, hashed, size_out);
	/* The hasher was finalised or is useless now: never park it. */
	berth_hasher_free(u->hasher);
	u->hasher = NULL;
	u->store->drv->upload_release(u);
	return rc;
}

int berth_upload_commit(berth_upload *u, const berth_digest *expected, uint64_t *size_out)
{
	return upload_commit(u, expected, 0, size_out);
}

int berth_upload_commit_hashed(berth_upload *u, const berth_digest *verified, uint64_t *size_out)
{
	return upload_commit(u, verified, u->caller_hashed, size_out);
}

void berth_upload_close(berth_upload *u)
{
	if (!u)
		return;
	/*
	 * Park the hasher before the lock goes, so that the next holder finds it.
	 * Its count is checked against the size on disk when it is taken back.
	 */
	if (u->store->drv->upload_settle)
		u->store->drv->upload_settle(u);
	if (u->hasher) {
		berth_store__cache_put(u->store, u->id, u->hasher);
		/* now owned by the cache */ u->hasher = NULL;
	}
	u->store->drv->upload_release(u);
}

int berth_store_upload_delete(berth_store *s, const char *id)
{
	if (!berth_store_upload_id_valid(id))
		return bad_id();
	return s->drv->upload_delete(s, id);
}

int berth_store_upload_purge(berth_store *s, time_t cutoff, int *purged)
{
	int n = 0, rc;

	rc = s->drv->upload_purge(s, cutoff, &n);
	if (purged)
		*purged = n;
	return rc;
}
