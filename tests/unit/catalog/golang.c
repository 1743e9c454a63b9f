/*
 * golang.c - unit tests: Go build info in ELF files made here (the Go 1.18+
 * inline format found in a .go.buildinfo section and by its magic, the old
 * pointer format resolved through a PT_LOAD segment), module replacements,
 * "(devel)" main modules, cargo-auditable .dep-v0 sections, and go.mod.
 */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include <cmocka.h>

#define FILE_SIZE 16384

static const char modinfo[] = "0w\xaf\x0c\x92t\x08\x02"
			      "A\xe1\xc1\x07\xe6\xd6\x18\xe6"
			      "path\texample.com/hello\n"
			      "mod\texample.com/hello\tv1.2.3\th1:abc=\n"
			      "dep\tgolang.org/x/mod\tv0.8.0\th1:def=\n"
			      "dep\tgithub.com/old/thing\tv1.0.0\n"
			      "=>\tgithub.com/new/thing\tv1.1.0\th1:ghi=\n"
			      "build\t-compiler=gc\n"
			      "\xf9"
			      "2C1\x86\x18 r\x00\x82"
			      "B\x10"
			      "A\x16\xd8\xf2";

static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* An ELF64 little-endian header; one PT_LOAD mapping the file at 0x400000. */
static unsigned char *elf64(void)
{
	unsigned char *e = calloc(1, FILE_SIZE);

	memcpy(e,
	       "\x7f"
	       "ELF\x02\x01\x01",
	       7);
	put16(e + 16, 2);
	put16(e + 18, 62);
	put64(e + 32, 64); /* phoff */
	put16(e + 54, 56);
	put16(e + 56, 1);
	put32(e + 64, 1); /* PT_LOAD */
	put64(e + 64 + 8, 0);
	put64(e + 64 + 16, 0x400000);
	put64(e + 64 + 32, FILE_SIZE);
	return e;
}

static size_t varint(unsigned char *p, size_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (unsigned char)v;
	return n;
}

static unsigned char *new_format(void)
{
	unsigned char *e = elf64(), *b = e + 4096, *q;
	const char ver[] = "go1.21.5";

	memcpy(b, "\xff Go buildinf:", 14);
	b[14] = 8;
	b[15] = 2; /* inline strings */
	q = b + 32;
	q += varint(q, sizeof(ver) - 1);
	memcpy(q, ver, sizeof(ver) - 1);
	q += sizeof(ver) - 1;
	q += varint(q, sizeof(modinfo) - 1);
	memcpy(q, modinfo, sizeof(modinfo) - 1);
	return e;
}

static void new_format_lists_stdlib_main_and_deps(void **state)
{
	unsigned char *e = new_format();
	berth_catalog *c = parse_as("/usr/local/bin/hello", e, FILE_SIZE, NULL, NULL);

	assert_int_equal(c->npkgs, 4);
	assert_string_equal(find(c, "stdlib")->version, "v1.21.5");
	assert_string_equal(find(c, "stdlib")->purl, "pkg:golang/stdlib@v1.21.5");
	assert_string_equal(find(c, "example.com/hello")->version, "v1.2.3");
	assert_string_equal(find(c, "golang.org/x/mod")->purl,
			    "pkg:golang/golang.org/x/mod@v0.8.0");
	/* the replacement is what was compiled in */
	assert_null(find(c, "github.com/old/thing"));
	assert_string_equal(find(c, "github.com/new/thing")->version, "v1.1.0");
	assert_int_equal(c->nwarnings, 0);
	free(e);
	berth_catalog_free(c);
}

static void old_format_pointers_are_followed(void **state)
{
	unsigned char *e = elf64(), *b = e + 4096;
	const char ver[] = "go1.16.15";

	memcpy(b, "\xff Go buildinf:", 14);
	b[14] = 8;
	b[15] = 0;
	put64(b + 16, 0x400000 + 8192);	     /* -> version string header */
	put64(b + 24, 0x400000 + 8192 + 16); /* -> modinfo string header */
	put64(e + 8192, 0x400000 + 9000);
	put64(e + 8192 + 8, sizeof(ver) - 1);
	put64(e + 8192 + 16, 0x400000 + 10000);
	put64(e + 8192 + 24, sizeof(modinfo) - 1);
	memcpy(e + 9000, ver, sizeof(ver) - 1);
	memcpy(e + 10000, modinfo, sizeof(modinfo) - 1);
	berth_catalog *c = parse_as("/bin/old", e, FILE_SIZE, NULL, NULL);

	assert_string_equal(find(c, "stdlib")->version, "v1.16.15");
	assert_non_null(find(c, "golang.org/x/mod"));
	free(e);
	berth_catalog_free(c);
}

static void devel_main_module_is_left_out(void **state)
{
	unsigned char *e = new_format();
	unsigned char *m = memmem(e, FILE_SIZE, "v1.2.3\th1:abc=", 14);

	/* same length: "(devel)" + padding would shift; rewrite the line in place */
	memcpy(m, "(devel)\t\t\t\t\t\t\t", 14);
	berth_catalog *c = parse_as("/bin/hello", e, FILE_SIZE, NULL, NULL);

	assert_null(find(c, "example.com/hello"));
	assert_non_null(find(c, "stdlib"));
	free(e);
	berth_catalog_free(c);
}

static void bad_pointers_are_a_warning(void **state)
{
	unsigned char *e = elf64(), *b = e + 4096;

	memcpy(b, "\xff Go buildinf:", 14);
	b[14] = 8;
	put64(b + 16, 0x7777777777);
	berth_catalog *c = parse_as("/bin/broken", e, FILE_SIZE, NULL, NULL);

	assert_int_equal(c->npkgs, 0);
	assert_true(has_warning(c, "/bin/broken: go build info: bad version pointer"));
	free(e);
	berth_catalog_free(c);
}

static void cargo_auditable_section_is_read(void **state)
{
	unsigned char *e = elf64();
	const char json[] = "{\"packages\":[{\"name\":\"hello\",\"version\":\"0.1.0\",\"source\":"
			    "\"local\",\"root\":true},{\"name\":\"serde\",\"version\":\"1.0.193\","
			    "\"source\":\"crates.io\"},{\"name\":\"cc\",\"version\":\"1.0.83\","
			    "\"source\":\"crates.io\",\"kind\":\"build\"}]}";
	uLongf zl = 2048;
	unsigned char z[2048];
	const char shstr[] = "\0.shstrtab\0.dep-v0\0";
	unsigned char *sh = e + 12288;

	assert_int_equal(compress(z, &zl, (const unsigned char *)json, sizeof(json) - 1), Z_OK);
	memcpy(e + 8192, z, zl);
	memcpy(e + 11000, shstr, sizeof(shstr));
	put64(e + 40, 12288); /* shoff */
	put16(e + 58, 64);
	put16(e + 60, 3);
	put16(e + 62, 1);
	put32(sh + 64, 1); /* [1] .shstrtab */
	put64(sh + 64 + 24, 11000);
	put64(sh + 64 + 32, sizeof(shstr));
	put32(sh + 128, 11); /* [2] .dep-v0 */
	put64(sh + 128 + 24, 8192);
	put64(sh + 128 + 32, zl);
	berth_catalog *c = parse_as("/usr/bin/hello", e, FILE_SIZE, NULL, NULL);

	assert_int_equal(c->npkgs, 2); /* build dependencies are not in the binary */
	assert_string_equal(find(c, "serde")->purl, "pkg:cargo/serde@1.0.193");
	free(e);
	berth_catalog_free(c);
}

static void go_mod_requires_are_read(void **state)
{
	berth_catalog *c = parse1("/src/go.mod", "module example.com/app\n\ngo 1.21\n\nrequire (\n"
						 "\tgithub.com/google/uuid v1.5.0\n"
						 "\tgolang.org/x/sys v0.15.0 // indirect\n)\n"
						 "require github.com/pkg/errors v0.9.1\n"
						 "replace example.com/x => ../x\n");

	assert_int_equal(c->npkgs, 3);
	assert_string_equal(find(c, "golang.org/x/sys")->version, "v0.15.0");
	assert_string_equal(find(c, "github.com/pkg/errors")->purl,
			    "pkg:golang/github.com/pkg/errors@v0.9.1");
	berth_catalog_free(c);
}

static void scripts_are_not_binaries(void **state)
{
	char script[8192];

	memset(script, '#', sizeof(script));
	memcpy(script, "#!/bin/sh\n", 10);
	berth_catalog *c = parse_as("/usr/bin/tool", script, sizeof(script), NULL, NULL);

	assert_int_equal(c->npkgs, 0);
	assert_int_equal(c->nwarnings, 0);
	berth_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(new_format_lists_stdlib_main_and_deps),
		cmocka_unit_test(old_format_pointers_are_followed),
		cmocka_unit_test(devel_main_module_is_left_out),
		cmocka_unit_test(bad_pointers_are_a_warning),
		cmocka_unit_test(cargo_auditable_section_is_read),
		cmocka_unit_test(go_mod_requires_are_read),
		cmocka_unit_test(scripts_are_not_binaries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
