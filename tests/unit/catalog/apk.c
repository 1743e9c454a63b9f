/*
 * apk.c - unit tests: Alpine's installed database (records, origin,
 * licence, owned files from F:/R: lines) and the apk PURL.
 */
#include "helpers.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

static const char installed[] =
	"C:Q1abc=\nP:musl\nV:1.2.4_git20230717-r4\nA:x86_64\nS:383152\n"
	"L:MIT\no:musl\nF:lib\nR:ld-musl-x86_64.so.1\nR:libc.musl-x86_64.so.1\n"
	"\n"
	"P:busybox-binsh\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\n"
	"F:bin\nR:sh\n\n"
	"P:noversion\nA:x86_64\n";

static void records_become_packages(void **state)
{
	berth_catalog *c = parse_as("/lib/apk/db/installed", installed, sizeof(installed) - 1,
				    "alpine", "3.19.1");
	const berth_package *m = find(c, "musl"), *b = find(c, "busybox-binsh");

	assert_int_equal(c->npkgs, 2);
	assert_string_equal(m->version, "1.2.4_git20230717-r4");
	assert_string_equal(m->license, "MIT");
	assert_string_equal(m->purl, "pkg:apk/alpine/musl@1.2.4_git20230717-r4"
				     "?arch=x86_64&distro=3.19.1");
	assert_string_equal(b->source_name, "busybox");
	assert_string_equal(b->license, "GPL-2.0-only");
	berth_catalog_free(c);
}

static void files_are_joined_to_their_directory(void **state)
{
	berth_catalog *c = parse_as("/lib/apk/db/installed", installed, sizeof(installed) - 1,
				    "alpine", "3.19.1");
	const berth_package *m = find(c, "musl");

	assert_int_equal(m->nfiles, 2);
	assert_string_equal(m->files[0], "/lib/ld-musl-x86_64.so.1");
	assert_string_equal(find(c, "busybox-binsh")->files[0], "/bin/sh");
	berth_catalog_free(c);
}

static void record_without_version_is_a_warning(void **state)
{
	berth_catalog *c = parse1("/lib/apk/db/installed", installed);

	assert_null(find(c, "noversion"));
	assert_true(has_warning(c, "package noversion has no V: line"));
	berth_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(records_become_packages),
		cmocka_unit_test(files_are_joined_to_their_directory),
		cmocka_unit_test(record_without_version_is_a_warning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
