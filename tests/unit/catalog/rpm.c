/*
 * rpm.c - unit tests: RPM header blobs built here byte by byte (the
 * rpmdb's layout: entry count, data size, 16-byte big-endian entries, data
 * store) inside an rpmdb.sqlite made with SQLite; names, epochs, source
 * RPMs, owned files, gpg-pubkey skipped, and truncated headers refused.
 * The same blobs inside an ndb Packages.db laid out here from rpm's
 * rpmpkg.c format (the checksum by zlib's adler32), and the precedence of
 * rpm's database files in one directory.
 */
#include "helpers.h"
#include "lib/catalog/internal.h"

#include <setjmp.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

typedef struct hb {
	unsigned char idx[64 * 16], data[4096];
	size_t n, dl;
} hb;

static void be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void entry(hb *h, uint32_t tag, uint32_t type, uint32_t count)
{
	unsigned char *e = h->idx + 16 * h->n++;

	be32(e, tag);
	be32(e + 4, type);
	be32(e + 8, (uint32_t)h->dl);
	be32(e + 12, count);
}

static void str(hb *h, uint32_t tag, const char *s)
{
	entry(h, tag, 6, 1);
	memcpy(h->data + h->dl, s, strlen(s) + 1);
	h->dl += strlen(s) + 1;
}

static void strs(hb *h, uint32_t tag, const char *const *v, uint32_t n)
{
	entry(h, tag, 8, n);
	for (uint32_t i = 0; i < n; i++) {
		memcpy(h->data + h->dl, v[i], strlen(v[i]) + 1);
		h->dl += strlen(v[i]) + 1;
	}
}

static void ints(hb *h, uint32_t tag, const uint32_t *v, uint32_t n)
{
	while (h->dl % 4)
		h->data[h->dl++] = 0;
	entry(h, tag, 4, n);
	for (uint32_t i = 0; i < n; i++) {
		be32(h->data + h->dl, v[i]);
		h->dl += 4;
	}
}

static size_t blob(const hb *h, unsigned char *out)
{
	be32(out, (uint32_t)h->n);
	be32(out + 4, (uint32_t)h->dl);
	memcpy(out + 8, h->idx, 16 * h->n);
	memcpy(out + 8 + 16 * h->n, h->data, h->dl);
	return 8 + 16 * h->n + h->dl;
}

static size_t bash_header(unsigned char *out)
{
	hb h = {0};
	const char *const dirs[] = {"/usr/bin/", "/etc/"};
	const char *const bases[] = {"bash", "bashrc"};
	const uint32_t dirindexes[] = {0, 1}, epoch = 2;

	str(&h, 1000, "bash");
	str(&h, 1001, "5.1.8");
	str(&h, 1002, "6.el9");
	ints(&h, 1003, &epoch, 1);
	str(&h, 1014, "GPLv3+");
	str(&h, 1022, "x86_64");
	str(&h, 1044, "bash-5.1.8-6.el9.src.rpm");
	ints(&h, 1116, dirindexes, 2);
	strs(&h, 1117, bases, 2);
	strs(&h, 1118, dirs, 2);
	return blob(&h, out);
}

static size_t pubkey_header(unsigned char *out)
{
	hb h = {0};

	str(&h, 1000, "gpg-pubkey");
	str(&h, 1001, "fd431d51");
	str(&h, 1002, "4ae0493b");
	return blob(&h, out);
}

/* An rpmdb.sqlite holding the blobs, read back as bytes. */
static unsigned char *make_db(const unsigned char *const *blobs, const size_t *lens, int n,
			      size_t *len)
{
	char path[] = "/tmp/berth-rpmdb-XXXXXX";
	int fd = mkstemp(path);
	sqlite3 *db;
	sqlite3_stmt *st;
	unsigned char *buf;
	FILE *f;
	long sz;

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(db,
			     "CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob BLOB NOT NULL)",
			     NULL, NULL, NULL),
		SQLITE_OK);
	for (int i = 0; i < n; i++) {
		assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO Packages(blob) VALUES(?)", -1,
						    &st, NULL),
				 SQLITE_OK);
		sqlite3_bind_blob(st, 1, blobs[i], (int)lens[i], SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)sz);
	assert_int_equal(fread(buf, 1, (size_t)sz, f), (size_t)sz);
	fclose(f);
	unlink(path);
	*len = (size_t)sz;
	return buf;
}

static void header_fields_become_a_package(void **state)
{
	unsigned char a[8192], b[8192];
	const unsigned char *blobs[] = {a, b};
	size_t lens[] = {bash_header(a), pubkey_header(b)}, len;
	unsigned char *db = make_db(blobs, lens, 2, &len);
	berth_catalog *c = parse_as("/var/lib/rpm/rpmdb.sqlite", db, len, "rocky", "9.3");
	const berth_package *p;

	assert_int_equal(c->npkgs, 1); /* gpg-pubkey is a key, not a package */
	p = find(c, "bash");
	assert_non_null(p);
	assert_string_equal(p->version, "5.1.8-6.el9");
	assert_int_equal(p->epoch, 2);
	assert_string_equal(p->arch, "x86_64");
	assert_string_equal(p->license, "GPL-3.0-or-later");
	assert_string_equal(p->source_name, "bash");
	assert_string_equal(p->source_version, "5.1.8-6.el9");
	assert_string_equal(p->purl,
			    "pkg:rpm/rocky/bash@5.1.8-6.el9?arch=x86_64&distro=rocky-9.3&epoch=2");
	assert_int_equal(p->nfiles, 2);
	assert_string_equal(p->files[0], "/usr/bin/bash");
	assert_string_equal(p->files[1], "/etc/bashrc");
	assert_int_equal(c->nwarnings, 0);
	free(db);
	berth_catalog_free(c);
}

static void truncated_header_is_a_warning_and_others_survive(void **state)
{
	unsigned char a[8192], b[8192];
	const unsigned char *blobs[] = {a, b};
	size_t lens[] = {bash_header(a), 0}, len;
	unsigned char *db;
	berth_catalog *c;

	lens[1] = bash_header(b) - 20; /* sizes now point past the blob */
	db = make_db(blobs, lens, 2, &len);
	c = parse_as("/usr/lib/sysimage/rpm/rpmdb.sqlite", db, len, "fedora", "39");
	assert_int_equal(c->npkgs, 1);
	assert_true(has_warning(c, "rpm header: sizes past the blob"));
	free(db);
	berth_catalog_free(c);
}

static void not_sqlite_is_a_warning(void **state)
{
	berth_catalog *c = parse1("/var/lib/rpm/rpmdb.sqlite", "definitely not a database file");

	assert_int_equal(c->npkgs, 0);
	assert_true(has_warning(c, "/var/lib/rpm/rpmdb.sqlite:"));
	berth_catalog_free(c);
}

static void le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* A one-page ndb file: slot 2 free, the blobs in slots 3.., from block 256. */
static size_t make_ndb(unsigned char *out, const unsigned char *const *blobs, const size_t *lens,
		       int n)
{
	size_t end = 4096;

	memset(out, 0, 4096);
	le32(out, 0x506d7052);
	le32(out + 12, 1);
	le32(out + 16, (uint32_t)n + 1);
	for (size_t o = 32; o < 4096; o += 16)
		le32(out + o, 0x746f6c53);
	for (int i = 0; i < n; i++) {
		unsigned char *b = out + end, *s = out + 48 + 16 * i;
		size_t cnt = (16 + lens[i] + 12 + 15) / 16;

		le32(s + 4, (uint32_t)i + 1);
		le32(s + 8, (uint32_t)(end / 16));
		le32(s + 12, (uint32_t)cnt);
		memset(b, 0, cnt * 16);
		le32(b, 0x53626c42);
		le32(b + 4, (uint32_t)i + 1);
		le32(b + 12, (uint32_t)lens[i]);
		memcpy(b + 16, blobs[i], lens[i]);
		le32(b + cnt * 16 - 12,
		     (uint32_t)adler32(adler32(0, NULL, 0), b, (uInt)(cnt * 16 - 12)));
		le32(b + cnt * 16 - 8, (uint32_t)lens[i]);
		le32(b + cnt * 16 - 4, 0x45626c42);
		end += cnt * 16;
	}
	return end;
}

static void ndb_blobs_become_packages(void **state)
{
	static unsigned char a[8192], b[8192], db[32768];
	const unsigned char *blobs[] = {a, b};
	size_t lens[] = {bash_header(a), pubkey_header(b)};
	size_t len = make_ndb(db, blobs, lens, 2);
	berth_catalog *c =
		parse_as("/usr/lib/sysimage/rpm/Packages.db", db, len, "opensuse-leap", "15.5");
	const berth_package *p = find(c, "bash");

	assert_int_equal(c->npkgs, 1);
	assert_non_null(p);
	assert_string_equal(p->version, "5.1.8-6.el9");
	assert_int_equal(p->epoch, 2);
	assert_int_equal(p->nfiles, 2);
	assert_string_equal(p->path, "/usr/lib/sysimage/rpm/Packages.db");
	assert_int_equal(c->nwarnings, 0);
	berth_catalog_free(c);
}

static void ndb_damage_is_named(void **state)
{
	static unsigned char a[8192], db[32768];
	const unsigned char *blobs[] = {a, a};
	size_t lens[] = {bash_header(a), bash_header(a)};
	size_t len = make_ndb(db, blobs, lens, 2);
	berth_catalog *c;

	db[4096 + 40] ^= 1; /* inside package 1's blob */
	c = parse_as("/var/lib/rpm/Packages.db", db, len, "sles", "15.5");
	assert_int_equal(c->npkgs, 1);
	assert_true(has_warning(c, "rpm ndb: package 1: checksum mismatch"));
	berth_catalog_free(c);
	db[4096 + 40] ^= 1;
	le32(db + 48 + 16 + 12, 1); /* package 2: one block for a longer blob */
	c = parse_as("/var/lib/rpm/Packages.db", db, len, "sles", "15.5");
	assert_int_equal(c->npkgs, 1);
	assert_true(has_warning(c, "rpm ndb: package 2: blob outside the file") ||
		    has_warning(c, "rpm ndb: package 2: blob length and blocks disagree"));
	berth_catalog_free(c);
	le32(db + 12, 9); /* nine slot pages in a file of fewer bytes */
	c = parse_as("/var/lib/rpm/Packages.db", db, len, "sles", "15.5");
	assert_int_equal(c->npkgs, 0);
	assert_true(has_warning(c, "rpm ndb: truncated slot pages"));
	berth_catalog_free(c);
	c = parse1("/var/lib/rpm/Packages.db", "RpmQ not ndb at all, just text bytes");
	assert_int_equal(c->npkgs, 0);
	assert_true(has_warning(c, "not an rpm ndb database"));
	berth_catalog_free(c);
}

static void one_rpm_database_per_directory(void **state)
{
	berth_catalog *c = berth_catalog_new();
	static const struct {
		const char *name, *path;
		int kept;
	} in[] = {
		{"a", "/var/lib/rpm/Packages", 0},
		{"b", "/var/lib/rpm/Packages.db", 1},
		{"c", "/var/lib/rpm/Packages", 0},
		{"d", "/opt/chroot/var/lib/rpm/Packages", 1}, /* another directory */
		{"e", "/usr/lib/sysimage/rpm/rpmdb.sqlite", 1},
		{"f", "/usr/lib/sysimage/rpm/Packages.db", 0},
	};

	berth_package p = {.type = BERTH_PKG_RPM, .version = (char *)"1-1"};

	assert_non_null(c);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		p.name = (char *)in[i].name;
		p.path = (char *)in[i].path;
		assert_int_equal(berth_catalog_add(c, &p), 0);
	}
	p.type = BERTH_PKG_NPM;
	p.name = (char *)"g";
	p.path = (char *)"/var/lib/rpm/node_modules/g/package.json";
	assert_int_equal(berth_catalog_add(c, &p), 0);
	berth_catalog__rpm_one_db(c);
	assert_int_equal(c->npkgs, 4);
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_int_equal(find(c, in[i].name) != NULL, in[i].kept);
	assert_non_null(find(c, "g"));
	berth_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(header_fields_become_a_package),
		cmocka_unit_test(truncated_header_is_a_warning_and_others_survive),
		cmocka_unit_test(not_sqlite_is_a_warning),
		cmocka_unit_test(ndb_blobs_become_packages),
		cmocka_unit_test(ndb_damage_is_named),
		cmocka_unit_test(one_rpm_database_per_directory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
