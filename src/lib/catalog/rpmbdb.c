/*
 * rpmbdb.c - the BerkeleyDB hash database rpm kept its packages in before
 * 4.16 (/var/lib/rpm/Packages: CentOS 7 and 8, RHEL up to 8, Amazon Linux
 * 2), read page by page from memory, without libdb. The layout, from
 * BerkeleyDB's documented on-disk format (db_page.h):
 *   page 0, the hash metadata page: magic 0x061561 at byte 12 (its byte
 *   order is the file's), page size at 20, last page number at 32;
 *   every page: a 26-byte header (page number at 8, next page at 16,
 *   entry count at 20, "high free offset" at 22, type at 25);
 *   hash pages (types 2 and 13): entry count 16-bit item offsets after the
 *   header, items alternating key and data; an item starts with its type:
 *   1 (key/data: the bytes follow, up to the previous item's start) or 3
 *   (off-page: the first overflow page at 4, the total length at 8);
 *   overflow pages (type 7): hf_offset bytes of data after the header,
 *   chained by the next page number.
 * Each data item is one rpm header blob (the key is its 4-byte instance
 * number; instance 0 holds rpm's counter and is skipped).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define BDB_HASH_MAGIC 0x061561u
#define BDB_HEADER 26
#define BDB_PAGE_MIN 512
#define BDB_PAGE_MAX 65536
#define BDB_VALUE_MAX (64 * 1024 * 1024) /* one header blob, rpm.c's data cap */
/* Overflow bytes copied per file byte: items sharing one chain cannot loop long. */
#define BDB_OVERFLOW_READS 4

enum { P_HASH_UNSORTED = 2, P_OVERFLOW = 7, P_HASH = 13 };
enum { H_KEYDATA = 1, H_OFFPAGE = 3 };

typedef struct bdb {
	const unsigned char *d;
	size_t n, pagesize, npages;
	int swap;      /* the file is big-endian */
	size_t budget; /* overflow bytes still allowed to be copied */
} bdb;

static uint32_t u32(const bdb *b, const unsigned char *p)
{
	if (b->swap)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t u16(const bdb *b, const unsigned char *p)
{
	return b->swap ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static const unsigned char *page(const bdb *b, uint32_t pgno)
{
	return pgno < b->npages ? b->d + (size_t)pgno * b->pagesize : NULL;
}

static int open_meta(bdb *b, const unsigned char *d, size_t n)
{
	uint32_t magic, ps;

	b->d = d;
	b->n = n;
	if (n < 64)
		return berth_error_set(BERTH_EINVALID, "BerkeleyDB: truncated metadata page");
	b->swap = 0;
	magic = u32(b, d + 12);
	if (magic != BDB_HASH_MAGIC) {
		b->swap = 1;
		if (u32(b, d + 12) != BDB_HASH_MAGIC)
			return berth_error_set(BERTH_EINVALID, "not a BerkeleyDB hash database");
	}
	ps = u32(b, d + 20);
	if (ps < BDB_PAGE_MIN || ps > BDB_PAGE_MAX || (ps & (ps - 1)) != 0)
		return berth_error_set(BERTH_EINVALID, "BerkeleyDB: bad page size %u", ps);
	b->pagesize = ps;
	b->npages = n / ps;
	b->budget = BDB_OVERFLOW_READS * n;
	return 0;
}

/*
 * The value of an off-page item: the overflow chain from pgno, tlen bytes,
 * into a new buffer (*out). A chain longer than the file has pages, or one
 * that ends early, or values adding up past the budget, are errors.
 */
static int overflow(bdb *b, uint32_t pgno, uint32_t tlen, unsigned char **out)
{
	unsigned char *buf;
	size_t got = 0;

	if (tlen > BDB_VALUE_MAX || tlen > b->budget)
		return berth_error_set(BERTH_ETOOBIG, "BerkeleyDB: a %u-byte value", tlen);
	b->budget -= tlen;
	if (!(buf = malloc(tlen ? tlen : 1)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t hops = 0; got < tlen; hops++) {
		const unsigned char *p = page(b, pgno);
		size_t len;

		if (!p || hops >= b->npages || p[25] != P_OVERFLOW) {
			free(buf);
			return berth_error_set(BERTH_EINVALID, "BerkeleyDB: broken overflow chain");
		}
		len = u16(b, p + 22); /* bytes on this page */
		if (len > b->pagesize - BDB_HEADER || (len == 0 && got < tlen)) {
			free(buf);
			return berth_error_set(BERTH_EINVALID, "BerkeleyDB: bad overflow page");
		}
		if (len > tlen - got)
			len = tlen - got;
		memcpy(buf + got, p + BDB_HEADER, len);
		got += len;
		pgno = u32(b, p + 16);
	}
	*out = buf;
	return 0;
}

/* Bounds of item i of a hash page: [*start, *end) inside the page. */
static int item(const bdb *b, const unsigned char *p, unsigned i, size_t *start, size_t *end)
{
	size_t off = u16(b, p + BDB_HEADER + 2 * i);
	size_t lim = i == 0 ? b->pagesize : u16(b, p + BDB_HEADER + 2 * (i - 1));

	if (off < BDB_HEADER + 2 * (size_t)u16(b, p + 20) || off >= lim || lim > b->pagesize)
		return berth_error_set(BERTH_EINVALID, "BerkeleyDB: bad item offset");
	*start = off;
	*end = lim;
	return 0;
}

/* The key/data pairs of one hash page, each data item as an rpm header. */
static void hash_page(cat_ctx *cx, bdb *b, const unsigned char *p)
{
	unsigned entries = u16(b, p + 20);

	if (BDB_HEADER + 2 * (size_t)entries > b->pagesize) {
		berth_catalog__warn(cx, "BerkeleyDB: page %u: too many entries", u32(b, p + 8));
		return;
	}
	for (unsigned i = 0; i + 1 < entries; i += 2) {
		size_t ks, ke, ds, de;
		unsigned char *val = NULL;

		if (item(b, p, i, &ks, &ke) < 0 || item(b, p, i + 1, &ds, &de) < 0) {
			berth_catalog__warn(cx, "%s", berth_error_last());
			return;
		}
		/* instance 0 is rpm's counter of the next instance number */
		if (p[ks] == H_KEYDATA && ke - ks == 5 && u32(b, p + ks + 1) == 0)
			continue;
		if (p[ds] == H_KEYDATA) {
			if (berth_catalog__rpm_header(cx, p + ds + 1, de - ds - 1) < 0)
				berth_catalog__warn(cx, "%s", berth_error_last());
		} else if (p[ds] == H_OFFPAGE && de - ds >= 12) {
			if (overflow(b, u32(b, p + ds + 4), u32(b, p + ds + 8), &val) < 0 ||
			    berth_catalog__rpm_header(cx, val, u32(b, p + ds + 8)) < 0)
				berth_catalog__warn(cx, "%s", berth_error_last());
			free(val);
		} else {
			berth_catalog__warn(cx, "BerkeleyDB: item type %u not read", p[ds]);
		}
	}
}

int berth_catalog__rpm_bdb(cat_ctx *cx, const unsigned char *d, size_t n)
{
	bdb b = {0};
	int rc;

	if ((rc = open_meta(&b, d, n)) != 0)
		return rc;
	for (uint32_t pg = 1; pg < b.npages; pg++) {
		const unsigned char *p = page(&b, pg);

		if (p[25] == P_HASH || p[25] == P_HASH_UNSORTED)
			hash_page(cx, &b, p);
	}
	return 0;
}
