/*
 * rpm.c - RPM packages: rpmdb.sqlite (table Packages, one header blob per
 * row) read from memory with sqlite3_deserialize, and the header blobs
 * parsed here: a big-endian count of index entries and of data bytes, then
 * 16-byte entries (tag, type, offset, count) pointing into the data store.
 * BerkeleyDB "Packages" is read by rpmbdb.c, ndb "Packages.db" (SUSE) by
 * rpmndb.c.
 */
#include "internal.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RPM_INDEX_MAX 100000		/* entries in one header */
#define RPM_DATA_MAX (64 * 1024 * 1024) /* data bytes of one header */

enum {
	TAG_NAME = 1000,
	TAG_VERSION = 1001,
	TAG_RELEASE = 1002,
	TAG_EPOCH = 1003,
	TAG_LICENSE = 1014,
	TAG_ARCH = 1022,
	TAG_SOURCERPM = 1044,
	TAG_DIRINDEXES = 1116,
	TAG_BASENAMES = 1117,
	TAG_DIRNAMES = 1118,
};
enum { TYPE_INT32 = 4, TYPE_STRING = 6, TYPE_STRING_ARRAY = 8, TYPE_I18NSTRING = 9 };

typedef struct hdr {
	const unsigned char *index, *data;
	uint32_t il, dl;
} hdr;

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The entry for `tag`: its type, offset and count, checked against the data store. */
static int entry(const hdr *h, uint32_t tag, uint32_t *type, uint32_t *off, uint32_t *count)
{
	for (uint32_t i = 0; i < h->il; i++) {
		const unsigned char *e = h->index + 16 * (size_t)i;

		if (be32(e) != tag)
			continue;
		*type = be32(e + 4);
		*off = be32(e + 8);
		*count = be32(e + 12);
		if (*off >= h->dl)
			return -1;
		return 0;
	}
	return -1;
}

/* The idx'th string of a STRING/STRING_ARRAY/I18NSTRING entry (borrowed, NUL-terminated). */
static const char *str_at(const hdr *h, uint32_t tag, uint32_t idx)
{
	uint32_t type, off, count;
	const unsigned char *p, *end = h->data + h->dl;

	if (entry(h, tag, &type, &off, &count) < 0)
		return NULL;
	if (type != TYPE_STRING && type != TYPE_STRING_ARRAY && type != TYPE_I18NSTRING)
		return NULL;
	if (idx >= count)
		return NULL;
	p = h->data + off;
	for (uint32_t i = 0;; i++) {
		const unsigned char *z = memchr(p, 0, (size_t)(end - p));

		if (!z)
			return NULL;
		if (i == idx)
			return (const char *)p;
		p = z + 1;
		if (p >= end)
			return NULL;
	}
}

static int int_at(const hdr *h, uint32_t tag, uint32_t idx, uint32_t *out)
{
	uint32_t type, off, count;

	if (entry(h, tag, &type, &off, &count) < 0 || type != TYPE_INT32 || idx >= count ||
	    (off & 3) || (uint64_t)off + 4 * ((uint64_t)idx + 1) > h->dl)
		return -1;
	*out = be32(h->data + off + 4 * (size_t)idx);
	return 0;
}

/* "bash-5.1.8-6.el9.src.rpm" → name "bash", version "5.1.8-6.el9". */
static int source_rpm(berth_package *p, const char *s)
{
	size_t n = strlen(s);
	const char *rel, *ver;

	if (berth_catalog__ends(s, ".src.rpm"))
		n -= 8;
	else if (berth_catalog__ends(s, ".nosrc.rpm"))
		n -= 10;
	rel = memrchr(s, '-', n);
	if (!rel)
		return 0;
	ver = memrchr(s, '-', (size_t)(rel - s));
	if (!ver)
		return 0;
	if (berth_catalog__setn(&p->source_name, s, (size_t)(ver - s)) < 0 ||
	    berth_catalog__setn(&p->source_version, ver + 1, n - (size_t)(ver - s) - 1) < 0)
		return -1;
	return 0;
}

static int files(const hdr *h, berth_package *p)
{
	uint32_t type, off, count;
	cat_strs f = {0};

	if (entry(h, TAG_BASENAMES, &type, &off, &count) < 0)
		return 0;
	for (uint32_t i = 0; i < count && i < 1000000; i++) {
		const char *base = str_at(h, TAG_BASENAMES, i), *dir;
		uint32_t di;
		char buf[BERTH_CATALOG_PATH_MAX];

		if (!base || int_at(h, TAG_DIRINDEXES, i, &di) < 0 ||
		    !(dir = str_at(h, TAG_DIRNAMES, di)))
			break;
		if ((size_t)snprintf(buf, sizeof(buf), "%s%s", dir, base) >= sizeof(buf))
			continue;
		if (berth_catalog__strs_add(&f, buf) < 0) {
			berth_catalog__strs_dispose(&f);
			return -1;
		}
	}
	p->files = f.v;
	p->nfiles = f.n;
	return 0;
}

int berth_catalog__rpm_header(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *name, *version, *release, *s;
	berth_package *p;
	char *full = NULL;
	uint32_t epoch;
	hdr h;

	if (n < 8)
		return berth_error_set(BERTH_EINVALID, "rpm header: truncated");
	h.il = be32(d);
	h.dl = be32(d + 4);
	if (h.il > RPM_INDEX_MAX || h.dl > RPM_DATA_MAX ||
	    8 + 16 * (uint64_t)h.il + h.dl > (uint64_t)n)
		return berth_error_set(BERTH_EINVALID, "rpm header: sizes past the blob");
	h.index = d + 8;
	h.data = h.index + 16 * (size_t)h.il;
	name = str_at(&h, TAG_NAME, 0);
	version = str_at(&h, TAG_VERSION, 0);
	release = str_at(&h, TAG_RELEASE, 0);
	if (!name || !version)
		return berth_error_set(BERTH_EINVALID, "rpm header: no name or version");
	if (strcmp(name, "gpg-pubkey") == 0)
		return 0; /* an imported signing key, not software */
	if (asprintf(&full, "%s%s%s", version, release ? "-" : "", release ? release : "") < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	p = berth_catalog__add(cx, BERTH_PKG_RPM, name, full, "rpm");
	free(full);
	if (!p)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (int_at(&h, TAG_EPOCH, 0, &epoch) == 0 && epoch < 1000000)
		p->epoch = (int)epoch;
	if ((s = str_at(&h, TAG_ARCH, 0)) && berth_catalog__set(&p->arch, s) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((s = str_at(&h, TAG_LICENSE, 0)))
		p->license = berth_catalog__license(s);
	if ((s = str_at(&h, TAG_SOURCERPM, 0)) && source_rpm(p, s) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (files(&h, p) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

int berth_catalog__rpm_sqlite(cat_ctx *cx, const unsigned char *d, size_t n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	unsigned char *copy = NULL;
	int rc = 0;

	if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_PRIVATECACHE,
			    NULL) != SQLITE_OK) {
		rc = berth_error_set(BERTH_ERROR, "sqlite: cannot open a memory database");
		goto done;
	}
	/* sqlite3_deserialize takes an sqlite3_malloc'd buffer it may free. */
	copy = sqlite3_malloc64(n ? n : 1);
	if (!copy) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	memcpy(copy, d, n);
	/* rpm keeps the database in WAL mode (header bytes 18-19 = 2), which an
	 * in-memory database cannot open: read it as a rollback-journal file.
	 * What a layer holds is checkpointed; a leftover -wal file is not read. */
	if (n >= 100 && memcmp(copy, "SQLite format 3", 16) == 0 && copy[18] == 2 && copy[19] == 2)
		copy[18] = copy[19] = 1;
	if (sqlite3_deserialize(db, "main", copy, (sqlite3_int64)n, (sqlite3_int64)n,
				SQLITE_DESERIALIZE_FREEONCLOSE | SQLITE_DESERIALIZE_READONLY) !=
	    SQLITE_OK) {
		copy = NULL;
		rc = berth_error_set(BERTH_EINVALID, "not an SQLite database");
		goto done;
	}
	copy = NULL; /* now owned by db */
	if (sqlite3_prepare_v2(db, "SELECT blob FROM Packages", -1, &st, NULL) != SQLITE_OK) {
		rc = berth_error_set(BERTH_EINVALID, "no Packages table: %s", sqlite3_errmsg(db));
		goto done;
	}
	for (;;) {
		int s = sqlite3_step(st);

		if (s == SQLITE_DONE)
			break;
		if (s != SQLITE_ROW) {
			rc = berth_error_set(BERTH_EINVALID, "reading Packages: %s",
					     sqlite3_errmsg(db));
			goto done;
		}
		if (berth_catalog__rpm_header(cx, sqlite3_column_blob(st, 0),
					      (size_t)sqlite3_column_bytes(st, 0)) < 0)
			berth_catalog__warn(cx, "%s", berth_error_last());
	}
done:
	sqlite3_free(copy);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}
