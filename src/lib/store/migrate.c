/*
 * migrate.c - berth_store_migrate (include/berth/store.h): copy every blob
 * of one store into another, e.g. fs -> s3. Each blob streams through an
 * upload of the destination, so its digest is checked on arrival exactly as
 * a push's is; blobs the destination has are skipped, which makes a run that
 * was interrupted resumable by running it again.
 */
#include "lib/store/internal.h"

#include <stdlib.h>
#include <string.h>

#define MIGRATE_CHUNK (4u << 20) /* bytes read from the source per write */

typedef struct digest_list {
	berth_digest *v;
	size_t n, cap;
} digest_list;

static int collect(void *ctx, const berth_digest *d)
{
	digest_list *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		berth_digest *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return berth_error_set(BERTH_ERROR, "out of memory listing blobs");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *d;
	return 0;
}

/* Stream blob `d` of `from` into a new upload of `to`, committed as `d`. */
static int copy_blob(berth_store *from, berth_store *to, const berth_digest *d, char *buf,
		     uint64_t *size)
{
	berth_blob_reader *r = NULL;
	berth_upload *u = NULL;
	char id[BERTH_UPLOAD_ID_MAX];
	uint64_t pos = 0;
	int rc;

	if ((rc = berth_store_reader_open(&r, from, d, size)) < 0)
		goto done;
	if ((rc = berth_store_upload_create(to, id)) < 0 ||
	    (rc = berth_store_upload_open(&u, to, id)) < 0)
		goto done;
	while (pos < *size) {
		long n = berth_blob_reader_read(r, pos, buf, MIGRATE_CHUNK);

		if (n <= 0) {
			rc = berth_error_set(BERTH_EIO, "read blob %s at %llu", d->str,
					     (unsigned long long)pos);
			goto done;
		}
		if ((rc = berth_upload_write(u, buf, (size_t)n)) < 0)
			goto done;
		pos += (uint64_t)n;
	}
	/* now owned by commit, which frees it in all cases */
	rc = berth_upload_commit(u, d, NULL);
	u = NULL;
done:
	if (u) {
		berth_upload_close(u);
		if (berth_store_upload_delete(to, id) < 0)
			berth_error_clear(); /* the purge removes it later */
	}
	berth_blob_reader_free(r);
	return rc;
}

int berth_store_migrate(berth_store *from, berth_store *to, berth_store_progress_fn progress,
			void *ctx, berth_store_migrate_stats *stats)
{
	digest_list l = {0};
	berth_store_migrate_stats st = {0};
	char *buf = NULL;
	int rc;

	if ((rc = berth_store__list(from, collect, &l)) < 0)
		goto done;
	if (!(buf = malloc(MIGRATE_CHUNK))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < l.n; i++) {
		uint64_t size = 0;
		int copied = 0;

		rc = berth_store_stat(to, &l.v[i], &size);
		if (rc == BERTH_ENOTFOUND) {
			berth_error_clear();
			if ((rc = copy_blob(from, to, &l.v[i], buf, &size)) < 0)
				goto done;
			copied = 1;
			st.copied++;
			st.bytes += size;
		} else if (rc < 0) {
			goto done;
		} else {
			st.skipped++;
		}
		st.blobs++;
		if (progress && progress(ctx, &l.v[i], size, copied, i + 1, l.n) != 0) {
			rc = berth_error_set(BERTH_ERROR,
					     "migration stopped after %zu of %zu blobs", i + 1,
					     l.n);
			goto done;
		}
	}
	rc = 0;
done:
	if (stats)
		*stats = st;
	free(buf);
	free(l.v);
	return rc;
}
