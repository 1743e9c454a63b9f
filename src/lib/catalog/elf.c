/*
 * elf.c - packages compiled into executables: Go's build info (the
 * ".go.buildinfo" blob: "\xff Go buildinf:", then either two inline
 * varint-prefixed strings (Go >= 1.18) or two pointers to string headers
 * resolved through the ELF program headers (older Go)), whose module text
 * lists the main module, its dependencies and replacements; and Rust's
 * cargo-auditable ".dep-v0" section (zlib-compressed JSON). Plus go.mod.
 */
#include "internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define MODINFO_MAX (16 * 1024 * 1024)
#define DEPV0_MAX (16 * 1024 * 1024)

static const char magic[] = "\xff Go buildinf:";

typedef struct elf {
	const unsigned char *d;
	size_t n;
	int is64, be;
} elf;

static uint64_t rd(const elf *e, size_t off, int size)
{
	uint64_t v = 0;

	if (off + (size_t)size > e->n || off + (size_t)size < off)
		return 0;
	for (int i = 0; i < size; i++) {
		int k = e->be ? i : size - 1 - i;

		v = v << 8 | e->d[off + (size_t)k];
	}
	return v;
}

static int elf_open(elf *e, const unsigned char *d, size_t n)
{
	if (n < 64 ||
	    memcmp(d,
		   "\x7f"
		   "ELF",
		   4) != 0 ||
	    (d[4] != 1 && d[4] != 2) || (d[5] != 1 && d[5] != 2))
		return -1;
	e->d = d;
	e->n = n;
	e->is64 = d[4] == 2;
	e->be = d[5] == 2;
	return 0;
}

/* File offset of virtual address `va` through the PT_LOAD segments; 0 if unmapped. */
static size_t va_to_off(const elf *e, uint64_t va)
{
	uint64_t phoff = e->is64 ? rd(e, 32, 8) : rd(e, 28, 4);
	unsigned phentsize = (unsigned)rd(e, e->is64 ? 54 : 42, 2);
	unsigned phnum = (unsigned)rd(e, e->is64 ? 56 : 44, 2);

	for (unsigned i = 0; i < phnum && i < 4096; i++) {
		size_t ph = (size_t)phoff + (size_t)i * phentsize;
		uint64_t type = rd(e, ph, 4), off, vaddr, filesz;

		if (type != 1)
			continue;
		if (e->is64) {
			off = rd(e, ph + 8, 8);
			vaddr = rd(e, ph + 16, 8);
			filesz = rd(e, ph + 32, 8);
		} else {
			off = rd(e, ph + 4, 4);
			vaddr = rd(e, ph + 8, 4);
			filesz = rd(e, ph + 16, 4);
		}
		if (va >= vaddr && va - vaddr < filesz && off + (va - vaddr) < e->n)
			return (size_t)(off + (va - vaddr));
	}
	return 0;
}

/*
 * An old-format string: at file offset `off` is a pointer to a Go string
 * header {data pointer, length}; both pointers are virtual addresses.
 */
static int old_string(const elf *e, size_t off, int ptr, const unsigned char **s, size_t *len)
{
	size_t hdr = va_to_off(e, rd(e, off, ptr)), at;
	uint64_t n;

	if (!hdr)
		return -1;
	at = va_to_off(e, rd(e, hdr, ptr));
	n = rd(e, hdr + (size_t)ptr, ptr);
	if (!at || n > MODINFO_MAX || at + n > e->n)
		return -1;
	*s = e->d + at;
	*len = (size_t)n;
	return 0;
}

static int varint(const unsigned char **p, const unsigned char *end, uint64_t *out)
{
	uint64_t v = 0;

	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		unsigned char b = *(*p)++;

		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

static int go_version_pkg(cat_ctx *cx, const char *gover, size_t n)
{
	char v[64];

	/* "go1.21.5" (maybe " X:boringcrypto" after) → "v1.21.5", as Trivy reports stdlib */
	if (n < 3 || memcmp(gover, "go", 2) != 0)
		return 0;
	n -= 2;
	gover += 2;
	for (size_t i = 0; i < n; i++)
		if (gover[i] == ' ')
			n = i;
	if (n + 2 > sizeof(v))
		return 0;
	v[0] = 'v';
	memcpy(v + 1, gover, n);
	v[n + 1] = 0;
	return berth_catalog__add(cx, BERTH_PKG_GOLANG, "stdlib", v, "go-binary")
		       ? 0
		       : berth_error_set(BERTH_ERROR, "out of memory");
}

/* modinfo lines: "mod\tPATH\tVERSION\tSUM", "dep\t...", "=>\tPATH\tVERSION\tSUM". */
static int modinfo(cat_ctx *cx, const char *s, size_t n)
{
	const char *p = s, *end = s + n, *line;
	berth_package *last = NULL;
	size_t len;

	if (n >= 33 && (unsigned char)s[n - 17] == '\n') {
		p += 16; /* sentinels around the text */
		end -= 16;
	}
	while (berth_catalog__line(&p, end, &line, &len)) {
		char f[3][1024];
		const char *q = line, *lend = line + len;
		int nf = 0, is_mod = len > 4 && memcmp(line, "mod\t", 4) == 0,
		    is_dep = len > 4 && memcmp(line, "dep\t", 4) == 0,
		    is_rep = len > 3 && memcmp(line, "=>\t", 3) == 0;

		if (!is_mod && !is_dep && !is_rep)
			continue;
		q = memchr(q, '\t', len) + 1;
		while (nf < 3 && q < lend) {
			const char *t = memchr(q, '\t', (size_t)(lend - q));
			size_t fl = (size_t)((t ? t : lend) - q);

			if (fl >= sizeof(f[0]))
				break;
			memcpy(f[nf], q, fl);
			f[nf++][fl] = 0;
			q = t ? t + 1 : lend;
		}
		if (nf < 1)
			continue;
		if (is_rep) {
			/* the replacement is what was built */
			if (last && nf >= 2 &&
			    (berth_catalog__set(&last->name, f[0]) < 0 ||
			     berth_catalog__set(&last->version, f[1]) < 0))
				return berth_error_set(BERTH_ERROR, "out of memory");
			continue;
		}
		last = NULL;
		if (is_mod && (nf < 2 || strcmp(f[1], "(devel)") == 0))
			continue; /* a main module built from a checkout has no version */
		if (nf < 2)
			continue;
		last = berth_catalog__add(cx, BERTH_PKG_GOLANG, f[0], f[1], "go-binary");
		if (!last)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

static int go_buildinfo(cat_ctx *cx, const elf *e, const unsigned char *m)
{
	const unsigned char *end = e->d + e->n, *p, *ver = NULL, *mod = NULL;
	size_t vlen = 0, mlen = 0;
	int ptr, flags;
	uint64_t l;

	if (end - m < 32)
		return berth_error_set(BERTH_EINVALID, "go build info: truncated");
	ptr = m[14];
	flags = m[15];
	if (flags & 2) {
		p = m + 32;
		if (varint(&p, end, &l) < 0 || l > (uint64_t)(end - p))
			return berth_error_set(BERTH_EINVALID, "go build info: bad version string");
		ver = p;
		vlen = (size_t)l;
		p += l;
		if (varint(&p, end, &l) < 0 || l > (uint64_t)(end - p) || l > MODINFO_MAX)
			return berth_error_set(BERTH_EINVALID, "go build info: bad module string");
		mod = p;
		mlen = (size_t)l;
	} else {
		elf be = *e;

		if (ptr != 4 && ptr != 8)
			return berth_error_set(BERTH_EINVALID, "go build info: pointer size %d",
					       ptr);
		be.be = flags & 1;
		if (old_string(&be, (size_t)(m - e->d) + 16, ptr, &ver, &vlen) < 0)
			return berth_error_set(BERTH_EINVALID,
					       "go build info: bad version pointer");
		if (old_string(&be, (size_t)(m - e->d) + 16 + (size_t)ptr, ptr, &mod, &mlen) < 0)
			mlen = 0; /* built without modules */
	}
	if (go_version_pkg(cx, (const char *)ver, vlen) < 0)
		return -1;
	return mlen ? modinfo(cx, (const char *)mod, mlen) : 0;
}

/* The section named `want`: file offset and size; -1 if absent. */
static int section(const elf *e, const char *want, size_t *off, size_t *size)
{
	uint64_t shoff = e->is64 ? rd(e, 40, 8) : rd(e, 32, 4);
	unsigned shentsize = (unsigned)rd(e, e->is64 ? 58 : 46, 2);
	unsigned shnum = (unsigned)rd(e, e->is64 ? 60 : 48, 2);
	unsigned shstrndx = (unsigned)rd(e, e->is64 ? 62 : 50, 2);
	size_t strtab, wl = strlen(want);

	if (!shoff || shstrndx >= shnum || shentsize < (e->is64 ? 64u : 40u))
		return -1;
	strtab = (size_t)(e->is64 ? rd(e, shoff + (size_t)shstrndx * shentsize + 24, 8)
				  : rd(e, shoff + (size_t)shstrndx * shentsize + 16, 4));
	for (unsigned i = 0; i < shnum && i < 65536; i++) {
		size_t sh = (size_t)shoff + (size_t)i * shentsize;
		size_t name = strtab + (size_t)rd(e, sh, 4);

		if (name + wl + 1 > e->n || memcmp(e->d + name, want, wl + 1) != 0)
			continue;
		*off = (size_t)(e->is64 ? rd(e, sh + 24, 8) : rd(e, sh + 16, 4));
		*size = (size_t)(e->is64 ? rd(e, sh + 32, 8) : rd(e, sh + 20, 4));
		if (*off > e->n || *size > e->n - *off)
			return -1;
		return 0;
	}
	return -1;
}

static int cargo_auditable(cat_ctx *cx, const elf *e, size_t off, size_t size)
{
	uLongf out_len = DEPV0_MAX;
	unsigned char *out = malloc(DEPV0_MAX);
	json_t *root = NULL, *pkgs, *v;
	size_t i;
	int rc = 0;

	if (!out)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (uncompress(out, &out_len, e->d + off, size) != Z_OK) {
		rc = berth_error_set(BERTH_EINVALID, ".dep-v0: not zlib data (or past %d bytes)",
				     DEPV0_MAX);
		goto done;
	}
	root = json_loadb((const char *)out, out_len, 0, NULL);
	pkgs = json_object_get(root, "packages");
	if (!json_is_array(pkgs)) {
		rc = berth_error_set(BERTH_EINVALID, ".dep-v0: no packages array");
		goto done;
	}
	json_array_foreach(pkgs, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *ver = json_string_value(json_object_get(v, "version"));
		const char *kind = json_string_value(json_object_get(v, "kind"));

		if (!name || !ver || (kind && strcmp(kind, "build") == 0))
			continue;
		if (!berth_catalog__add(cx, BERTH_PKG_CARGO, name, ver, "cargo-auditable")) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
	}
done:
	json_decref(root);
	free(out);
	return rc;
}

int berth_catalog__elf(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const unsigned char *m;
	size_t off, size;
	elf e;
	int rc = 0;

	if (elf_open(&e, d, n) < 0)
		return 0; /* a script or another format: nothing to say */
	if (section(&e, ".go.buildinfo", &off, &size) == 0 && size >= 32 &&
	    memcmp(d + off, magic, 14) == 0)
		m = d + off;
	else
		m = memmem(d, n, magic, 14);
	if (m)
		rc = go_buildinfo(cx, &e, m);
	if (section(&e, ".dep-v0", &off, &size) == 0 && size) {
		int r = cargo_auditable(cx, &e, off, size);

		if (r < 0)
			rc = r;
	}
	return rc;
}

/* go.mod: "require PATH VERSION" and require ( ... ) blocks; "// indirect" kept. */
int berth_catalog__go_mod(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n, *line;
	int in_req = 0;
	size_t len;

	while (berth_catalog__line(&p, end, &line, &len)) {
		char path[1024], ver[256], lb[2048];
		const char *q = line;
		int r;

		while (len && (*q == ' ' || *q == '\t'))
			q++, len--;
		if (len >= sizeof(lb))
			continue;
		memcpy(lb, q, len);
		lb[len] = 0;
		q = lb;
		if (in_req && len && *q == ')') {
			in_req = 0;
			continue;
		}
		if (len >= 9 && strncmp(q, "require (", 9) == 0) {
			in_req = 1;
			continue;
		}
		if (!in_req) {
			if (len < 8 || strncmp(q, "require ", 8) != 0)
				continue;
			q += 8;
		}
		r = sscanf(q, "%1023s %255s", path, ver);
		if (r != 2 || path[0] == '/' || ver[0] != 'v')
			continue;
		if (!berth_catalog__add(cx, BERTH_PKG_GOLANG, path, ver, "go-mod"))
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}
