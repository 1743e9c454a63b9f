/*
 * rpmndb.c - rpm's "ndb" package database (/var/lib/rpm/Packages.db or
 * /usr/lib/sysimage/rpm/Packages.db: openSUSE and SLES since 2020), read
 * from memory. The layout, from rpm's lib/backend/ndb/rpmpkg.c (all
 * numbers little-endian 32-bit):
 *   a 32-byte file header: magic "RpmP", format version 0, generation,
 *   the number of 4096-byte slot pages at the start of the file, the next
 *   package index;
 *   slot pages: 16-byte slots ("Slot", package index, offset and length of
 *   the blob in 16-byte blocks; offset 0 is a free slot), the first page's
 *   slots after the file header;
 *   blobs, each after the slot pages, block-aligned: a 16-byte head ("BlbS",
 *   package index, timestamp, blob length), the rpm header blob, zero
 *   padding to the block, a 12-byte tail (Adler-32 of head, blob and
 *   padding; blob length; "BlbE").
 * Each blob is one rpm header (parsed by rpm.c). The secondary indexes
 * live in Index.db (rpmxdb/rpmidx) and are not needed to list packages.
 */
#include "internal.h"

#include <string.h>

#define NDB_MAGIC 0x506d7052u	   /* "RpmP" */
#define NDB_SLOT_MAGIC 0x746f6c53u /* "Slot" */
#define NDB_HEAD_MAGIC 0x53626c42u /* "BlbS" */
#define NDB_TAIL_MAGIC 0x45626c42u /* "BlbE" */
#define NDB_HEADER 32
#define NDB_PAGE 4096
#define NDB_SLOT 16
#define NDB_BLOCK 16
#define NDB_BLOB_HEAD 16
#define NDB_BLOB_TAIL 12
/* Slot pages: 256 slots each; 4096 pages hold a million packages. */
#define NDB_SLOT_PAGES_MAX 4096u
#define NDB_BLOB_MAX (64 * 1024 * 1024) /* one header blob, rpm.c's data cap */

typedef struct ndb {
	const unsigned char *d;
	size_t n;
	uint32_t npages; /* slot pages */
} ndb;

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Adler-32 (RFC 1950) of d[0..n), continuing from a. */
static uint32_t adler32(uint32_t a, const unsigned char *d, size_t n)
{
	uint32_t s1 = a & 0xffff, s2 = a >> 16;

	while (n) {
		size_t k = n < 5552 ? n : 5552; /* the most bytes before s2 can overflow */

		n -= k;
		while (k--) {
			s1 += *d++;
			s2 += s1;
		}
		s1 %= 65521;
		s2 %= 65521;
	}
	return s2 << 16 | s1;
}

static int open_header(ndb *b, const unsigned char *d, size_t n)
{
	b->d = d;
	b->n = n;
	if (n < NDB_HEADER || le32(d) != NDB_MAGIC)
		return berth_error_set(BERTH_EINVALID, "not an rpm ndb database (no RpmP magic)");
	if (le32(d + 4) != 0)
		return berth_error_set(BERTH_EUNSUPPORTED, "rpm ndb: format version %u",
				       le32(d + 4));
	b->npages = le32(d + 12);
	if (b->npages == 0 || b->npages > NDB_SLOT_PAGES_MAX)
		return berth_error_set(BERTH_EINVALID, "rpm ndb: %u slot pages", b->npages);
	if ((size_t)b->npages * NDB_PAGE > n)
		return berth_error_set(BERTH_EINVALID, "rpm ndb: truncated slot pages");
	return 0;
}

/*
 * The header blob of one slot, checked as rpm checks it: inside the file
 * and after the slot pages, head magic and package index, the block count
 * the length implies, the tail's length, magic and checksum.
 */
static int blob(const ndb *b, uint32_t pkgidx, uint32_t blkoff, uint32_t blkcnt,
		const unsigned char **out, size_t *len)
{
	uint64_t off = (uint64_t)blkoff * NDB_BLOCK, size = (uint64_t)blkcnt * NDB_BLOCK;
	const unsigned char *p, *tail;
	uint32_t bloblen;

	if (blkoff < b->npages * (NDB_PAGE / NDB_BLOCK) || off + size > b->n ||
	    size < NDB_BLOB_HEAD + NDB_BLOB_TAIL)
		return berth_error_set(BERTH_EINVALID, "rpm ndb: package %u: blob outside the file",
				       pkgidx);
	p = b->d + off;
	bloblen = le32(p + 12);
	if (le32(p) != NDB_HEAD_MAGIC || le32(p + 4) != pkgidx)
		return berth_error_set(BERTH_EINVALID, "rpm ndb: package %u: bad blob head",
				       pkgidx);
	if (bloblen > NDB_BLOB_MAX)
		return berth_error_set(BERTH_ETOOBIG, "rpm ndb: package %u: a %u-byte blob", pkgidx,
				       bloblen);
	if ((NDB_BLOB_HEAD + (uint64_t)bloblen + NDB_BLOB_TAIL + NDB_BLOCK - 1) / NDB_BLOCK !=
	    blkcnt)
		return berth_error_set(BERTH_EINVALID,
				       "rpm ndb: package %u: blob length and blocks disagree",
				       pkgidx);
	tail = p + size - NDB_BLOB_TAIL;
	if (le32(tail + 4) != bloblen || le32(tail + 8) != NDB_TAIL_MAGIC)
		return berth_error_set(BERTH_EINVALID, "rpm ndb: package %u: bad blob tail",
				       pkgidx);
	if (adler32(1, p, (size_t)size - NDB_BLOB_TAIL) != le32(tail))
		return berth_error_set(BERTH_EINVALID, "rpm ndb: package %u: checksum mismatch",
				       pkgidx);
	*out = p + NDB_BLOB_HEAD;
	*len = bloblen;
	return 0;
}

/* One slot: a free one is skipped, a used one's blob goes through rpm_header. */
static int slot(cat_ctx *cx, const ndb *b, const unsigned char *s)
{
	uint32_t pkgidx = le32(s + 4), blkoff = le32(s + 8), blkcnt = le32(s + 12);
	const unsigned char *h = NULL;
	size_t len = 0;

	if (le32(s) != NDB_SLOT_MAGIC)
		return berth_error_set(BERTH_EINVALID, "rpm ndb: bad slot magic");
	if (blkoff == 0)
		return 0;
	if (pkgidx == 0 || blkcnt == 0) {
		berth_catalog__warn(cx, "rpm ndb: a used slot without package or length");
		return 0;
	}
	if (blob(b, pkgidx, blkoff, blkcnt, &h, &len) < 0 ||
	    berth_catalog__rpm_header(cx, h, len) < 0)
		berth_catalog__warn(cx, "%s", berth_error_last());
	return 0;
}

int berth_catalog__rpm_ndb(cat_ctx *cx, const unsigned char *d, size_t n)
{
	ndb b = {0};
	int rc;

	if ((rc = open_header(&b, d, n)) != 0)
		return rc;
	for (uint32_t pg = 0; pg < b.npages; pg++) {
		size_t first = pg == 0 ? NDB_HEADER : 0;

		for (size_t o = first; o < NDB_PAGE; o += NDB_SLOT)
			if ((rc = slot(cx, &b, d + (size_t)pg * NDB_PAGE + o)) != 0)
				return rc; /* the slot area itself is damaged: stop here */
	}
	return 0;
}
