/*
 * fetch.c - blobs fetched once however many clients ask. The first request
 * for a missing blob starts a fetch: a thread that GETs the blob from
 * upstream and, once the answer tells its size, opens a store upload and
 * streams the blob into it (no HEAD first). Every request for that digest,
 * the first included, holds a reference to the fetch and is answered from a
 * descriptor on the upload's file, reading each byte once the thread has
 * written it (berth_mirror__fetch_read). The upstream client hashes every
 * byte it hands over, so the store does not hash them again. Receiving
 * and hashing is one thread's work, writing the file another's: curl hands
 * the body over 16 KiB at a time, the fetch thread gathers it into a ring of
 * RING_BLOCKS blocks of WRITE_BLOCK bytes, and the fetch's writer thread
 * writes each full block and wakes the readers it satisfies (a 64 MiB blob
 * is 64 writes and wake-ups, not 4,096, on a core of their own).
 * The last byte reaches readers only once the upstream client has verified
 * the digest and size of what was written; the upload is then committed
 * (fdatasync, rename, meta link) while the readers finish, so no client
 * waits for the disk. A fetch that fails before that deletes the upload, and
 * readers still waiting get an error (their response is cut short); one that
 * fails after it (the commit) only loses the cache entry. Clients never slow
 * the fetch: the thread runs at upstream's pace, readers follow behind,
 * woken once a whole block they asked for is written (not per chunk).
 */
#include "internal.h"

#include "util/log.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITE_BLOCK (1u << 20)
#define RING_BLOCKS 4

typedef enum { F_STARTING, F_STREAMING, F_DONE, F_FAILED } fetch_state;

struct berth_mirror__fetch {
	berth_mirror__fetch *next; /* in m->fetches while running */
	berth_mirror *m;
	berth_mirror__upstream *up;
	char *repo;  /* upstream repository */
	char *local; /* local repository the blob is linked into */
	berth_digest digest;
	pthread_cond_t cv; /* state or written changed (under m->lock) */
	fetch_state state;
	uint64_t size;
	uint64_t written;
	uint64_t wake_at; /* a reader waits until written reaches this (UINT64_MAX: none) */
	int verified;	  /* every byte written and matching the digest: readers may have all */
	int fd;		  /* reader descriptor on the upload, -1 until streaming */
	int refs;
	int not_found; /* upstream has no such blob */
	berth_upload *upload;
	/* The ring between the fetch thread and its writer (under m->lock). */
	char *ring;		  /* RING_BLOCKS blocks of WRITE_BLOCK bytes */
	size_t fill[RING_BLOCKS]; /* bytes in each block */
	unsigned filling;	  /* block the fetch thread fills (not locked: its own) */
	unsigned head;		  /* oldest full block, next to write */
	unsigned queued;	  /* full blocks waiting for the writer */
	int eof;		  /* no more blocks will come */
	int stop;		  /* the writer is to stop now, queued blocks or not */
	int write_failed;	  /* the writer stopped: write_error says why */
	char write_error[256];	  /* berth_error_last() of the writer */
	pthread_cond_t ring_cv;	  /* queued, eof or write_failed changed */
	pthread_t writer;
	int writer_running;
};

static void fetch_free(berth_mirror__fetch *f)
{
	if (f->fd >= 0)
		close(f->fd);
	pthread_cond_destroy(&f->cv);
	pthread_cond_destroy(&f->ring_cv);
	free(f->ring);
	free(f->repo);
	free(f->local);
	free(f);
}

void berth_mirror__fetch_ref(berth_mirror__fetch *f)
{
	pthread_mutex_lock(&f->m->lock);
	f->refs++;
	pthread_mutex_unlock(&f->m->lock);
}

void berth_mirror__fetch_unref(void *ctx)
{
	berth_mirror__fetch *f = ctx;
	int last;

	if (!f)
		return;
	pthread_mutex_lock(&f->m->lock);
	last = --f->refs == 0;
	pthread_mutex_unlock(&f->m->lock);
	if (last)
		fetch_free(f);
}

uint64_t berth_mirror__fetch_size(const berth_mirror__fetch *f)
{
	return f->size;
}

/* Publish a state change (and leave the table once finished). Under no lock. */
static void set_state(berth_mirror__fetch *f, fetch_state st)
{
	berth_mirror *m = f->m;

	pthread_mutex_lock(&m->lock);
	f->state = st;
	if (st == F_DONE || st == F_FAILED) {
		for (berth_mirror__fetch **pp = &m->fetches; *pp; pp = &(*pp)->next)
			if (*pp == f) {
				*pp = f->next;
				break;
			}
	}
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&m->lock);
}

/* The writer: writes full blocks in order and wakes the readers each satisfies. */
static void *writer_thread(void *arg)
{
	berth_mirror__fetch *f = arg;
	berth_mirror *m = f->m;

	pthread_mutex_lock(&m->lock);
	for (;;) {
		unsigned b;
		size_t len;
		int rc;

		while (!f->queued && !f->eof && !f->stop)
			pthread_cond_wait(&f->ring_cv, &m->lock);
		if (!f->queued || f->stop)
			break;
		b = f->head;
		len = f->fill[b];
		pthread_mutex_unlock(&m->lock);
		rc = berth_upload_write(f->upload, f->ring + (size_t)b * WRITE_BLOCK, len);
		if (rc < 0)
			snprintf(f->write_error, sizeof(f->write_error), "%s", berth_error_last());
		else
			atomic_fetch_add(&m->upstream_bytes, len);
		pthread_mutex_lock(&m->lock);
		if (rc < 0) {
			f->write_failed = 1;
			pthread_cond_broadcast(&f->ring_cv);
			break;
		}
		f->written += len;
		if (f->written >= f->wake_at) {
			f->wake_at = UINT64_MAX;
			pthread_cond_broadcast(&f->cv);
		}
		f->fill[b] = 0;
		f->head = (b + 1) % RING_BLOCKS;
		f->queued--;
		pthread_cond_broadcast(&f->ring_cv);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/*
 * Hand the block being filled to the writer (if it holds anything) and wait
 * for a free one; with `last`, tell the writer no more come and wait until
 * it has written everything (or failed).
 */
static int ring_push(berth_mirror__fetch *f, int last)
{
	berth_mirror *m = f->m;
	int failed;

	pthread_mutex_lock(&m->lock);
	if (f->fill[f->filling]) {
		f->queued++;
		f->filling = (f->filling + 1) % RING_BLOCKS;
	}
	if (last)
		f->eof = 1;
	pthread_cond_broadcast(&f->ring_cv);
	while (!f->write_failed && (last ? f->queued > 0 : f->queued == RING_BLOCKS))
		pthread_cond_wait(&f->ring_cv, &m->lock);
	failed = f->write_failed;
	pthread_mutex_unlock(&m->lock);
	if (failed)
		return berth_error_set(BERTH_EIO, "%s", f->write_error);
	return 0;
}

/* Stop the writer (after ring_push(f, 1), or dropping what is queued). */
static void writer_stop(berth_mirror__fetch *f)
{
	if (!f->writer_running)
		return;
	pthread_mutex_lock(&f->m->lock);
	f->stop = 1;
	pthread_cond_broadcast(&f->ring_cv);
	pthread_mutex_unlock(&f->m->lock);
	pthread_join(f->writer, NULL);
	f->writer_running = 0;
}

static int sink(void *ctx, const void *data, size_t len)
{
	berth_mirror__fetch *f = ctx;
	const char *p = data;

	while (len) {
		size_t *fill = &f->fill[f->filling];
		size_t n = WRITE_BLOCK - *fill < len ? WRITE_BLOCK - *fill : len;
		int rc;

		memcpy(f->ring + (size_t)f->filling * WRITE_BLOCK + *fill, p, n);
		*fill += n;
		p += n;
		len -= n;
		if (*fill == WRITE_BLOCK && (rc = ring_push(f, 0)) < 0)
			return rc;
	}
	return 0;
}

/*
 * Upstream answered the GET with the blob's size: open the upload and its
 * reader, and let the clients waiting in berth_mirror__fetch_join start
 * their responses.
 */
static int fetch_open(void *ctx, uint64_t size)
{
	berth_mirror__fetch *f = ctx;
	char id[BERTH_UPLOAD_ID_MAX];
	int rc, fd = -1;

	f->size = size;
	if (!(f->ring = malloc((size_t)RING_BLOCKS * WRITE_BLOCK)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_store_upload_create(f->m->store, id)) < 0)
		return rc;
	if ((rc = berth_store_upload_open(&f->upload, f->m->store, id)) < 0) {
		if (berth_store_upload_delete(f->m->store, id) < 0)
			berth_warn("mirror: removing upload %s: %s", id, berth_error_last());
		return rc;
	}
	/* The upstream client hashes every byte it hands to sink(): one pass, not two. */
	if ((rc = berth_upload_hash_by_caller(f->upload)) < 0)
		return rc;
	if ((rc = berth_upload_reader(f->upload, &fd)) < 0)
		return rc;
	if ((rc = pthread_create(&f->writer, NULL, writer_thread, f)) != 0) {
		close(fd);
		return berth_error_set(BERTH_ERROR, "mirror: starting a writer: %s", strerror(rc));
	}
	f->writer_running = 1;
	pthread_mutex_lock(&f->m->lock);
	f->fd = fd;
	pthread_mutex_unlock(&f->m->lock);
	set_state(f, F_STREAMING);
	return 0;
}

/* Drop a failed fetch's upload: nothing partial stays in the store. */
static void fetch_discard(berth_mirror__fetch *f)
{
	char id[BERTH_UPLOAD_ID_MAX];

	if (!f->upload)
		return;
	snprintf(id, sizeof(id), "%s", berth_upload_id(f->upload));
	berth_upload_close(f->upload);
	f->upload = NULL;
	if (berth_store_upload_delete(f->m->store, id) < 0)
		berth_warn("mirror: removing the upload of a failed fetch: %s", berth_error_last());
}

static void *fetch_thread(void *arg)
{
	berth_mirror__fetch *f = arg;
	berth_mirror *m = f->m;
	uint64_t size = 0;
	int rc;

	/* No HEAD first: the GET's answer gives the size (fetch_open). */
	rc = berth_client_blob_get_sized(f->up->client, f->repo, &f->digest, fetch_open, sink, f);
	if (rc == 0)
		rc = ring_push(f, 1);
	writer_stop(f);
	free(f->ring); /* readers read the upload's file, never the ring */
	f->ring = NULL;
	if (rc == BERTH_ENOTFOUND && !f->upload)
		f->not_found = 1;
	if (rc == 0) {
		/* Verified by the client: the readers may have every byte now. */
		pthread_mutex_lock(&m->lock);
		f->verified = 1;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&m->lock);
		rc = berth_upload_commit_hashed(f->upload, &f->digest, &size);
		f->upload = NULL; /* freed by commit in all cases */
	}
	if (rc == 0 && (rc = berth_meta_blob_link(m->meta, f->local, &f->digest, size)) == 0) {
		set_state(f, F_DONE);
	} else {
		if (!f->not_found) {
			atomic_fetch_add(&m->upstream_errors, 1);
			berth_warn("mirror: fetching blob %s of %s from %s failed: %s",
				   f->digest.str, f->repo, f->up->name, berth_error_last());
		}
		fetch_discard(f);
		set_state(f, F_FAILED);
	}
	pthread_mutex_lock(&m->lock);
	m->threads--;
	pthread_cond_broadcast(&m->idle);
	pthread_mutex_unlock(&m->lock);
	berth_mirror__fetch_unref(f);
	return NULL;
}

/* A new fetch, in the table, its thread started; under m->lock. */
static int fetch_start(berth_mirror *m, berth_mirror__upstream *up, const char *repo,
		       const char *local, const berth_digest *d, berth_mirror__fetch **out)
{
	berth_mirror__fetch *f = calloc(1, sizeof(*f));
	pthread_attr_t attr;
	pthread_t thr;
	int err;

	if (!f || !(f->repo = strdup(repo)) || !(f->local = strdup(local))) {
		if (f) {
			free(f->repo);
			free(f);
		}
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	f->m = m;
	f->up = up;
	f->digest = *d;
	f->fd = -1;
	f->wake_at = UINT64_MAX;
	f->refs = 2; /* the thread's and the caller's */
	pthread_cond_init(&f->cv, NULL);
	pthread_cond_init(&f->ring_cv, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&thr, &attr, fetch_thread, f);
	pthread_attr_destroy(&attr);
	if (err) {
		fetch_free(f);
		return berth_error_set(BERTH_ERROR, "mirror: starting a fetch: %s", strerror(err));
	}
	m->threads++;
	f->next = m->fetches;
	m->fetches = f;
	*out = f;
	return 0;
}

int berth_mirror__fetch_join(berth_mirror *m, berth_mirror__upstream *up, const char *repo,
			     const char *local, const berth_digest *d, berth_mirror__fetch **out)
{
	berth_mirror__fetch *f;
	int rc = 0;

	*out = NULL;
	pthread_mutex_lock(&m->lock);
	for (f = m->fetches; f; f = f->next)
		if (f->up == up && berth_digest_equal(&f->digest, d))
			break;
	if (f) {
		f->refs++;
		atomic_fetch_add(&m->fetches_shared, 1);
	} else if ((rc = fetch_start(m, up, repo, local, d, &f)) < 0) {
		pthread_mutex_unlock(&m->lock);
		return rc;
	}
	while (f->state == F_STARTING)
		pthread_cond_wait(&f->cv, &m->lock);
	if (f->state == F_FAILED)
		rc = f->not_found ? BERTH_ENOTFOUND : BERTH_EIO;
	pthread_mutex_unlock(&m->lock);
	if (rc < 0) {
		berth_mirror__fetch_unref(f);
		return rc == BERTH_ENOTFOUND
			       ? berth_error_set(rc, "blob unknown to upstream %s", up->name)
			       : berth_error_set(rc, "fetching the blob from upstream %s failed",
						 up->name);
	}
	*out = f;
	return 0;
}

/*
 * Bytes a reader may have (under m->lock): the last one is held back until
 * the digest is verified, so that no client ever gets a complete body that
 * does not match its digest.
 */
static uint64_t visible(const berth_mirror__fetch *f)
{
	if (f->verified || f->state == F_DONE)
		return f->written;
	return f->written < f->size ? f->written : f->size ? f->size - 1 : 0;
}

long berth_mirror__fetch_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
	berth_mirror__fetch *f = ctx;
	/* Wait for a whole block (or the rest): one wake-up per block, not per chunk. */
	uint64_t want = pos + max < f->size ? pos + max : f->size;
	uint64_t avail;
	ssize_t n;

	pthread_mutex_lock(&f->m->lock);
	while (f->state == F_STREAMING && !f->verified && visible(f) < want) {
		if (want < f->wake_at)
			f->wake_at =
				want; /* the last byte comes with the verification's broadcast */
		pthread_cond_wait(&f->cv, &f->m->lock);
	}
	avail = visible(f) > pos ? visible(f) - pos : 0;
	if ((f->state == F_FAILED && !f->verified) || f->fd < 0)
		avail = 0; /* what was read may be bad: cut the response */
	pthread_mutex_unlock(&f->m->lock);
	if (avail == 0)
		return -1;
	if (avail < max)
		max = (size_t)avail;
	do
		n = pread(f->fd, buf, max, (off_t)pos);
	while (n < 0 && errno == EINTR);
	return n > 0 ? (long)n : -1;
}

void berth_mirror__fetch_drain(berth_mirror *m)
{
	pthread_mutex_lock(&m->lock);
	while (m->threads > 0)
		pthread_cond_wait(&m->idle, &m->lock);
	pthread_mutex_unlock(&m->lock);
}
