/*
 * java.c - unit tests: jars made here with libarchive's zip writer:
 * pom.properties, MANIFEST.MF fallbacks, the file-name fallback, nested jars
 * (war WEB-INF/lib, Spring Boot BOOT-INF/lib) with their "outer:inner" path,
 * the nesting cap, and a corrupt archive.
 */
#include "helpers.h"

#include <archive.h>
#include <archive_entry.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define ZIP_MAX (1024 * 1024)

typedef struct zentry {
	const char *name;
	const void *data;
	size_t len;
} zentry;

static unsigned char *zip(const zentry *e, size_t n, size_t *len)
{
	unsigned char *buf = malloc(ZIP_MAX);
	struct archive *a = archive_write_new();

	archive_write_set_format_zip(a);
	assert_int_equal(archive_write_open_memory(a, buf, ZIP_MAX, len), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *ae = archive_entry_new();

		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, 0644);
		archive_entry_set_size(ae, (la_int64_t)e[i].len);
		assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
		assert_int_equal(archive_write_data(a, e[i].data, e[i].len), (la_ssize_t)e[i].len);
		archive_entry_free(ae);
	}
	archive_write_close(a);
	archive_write_free(a);
	return buf;
}

#define TXT(n, s)                                                                                  \
	{                                                                                          \
		n, s, sizeof(s) - 1                                                                \
	}

static void pom_properties_give_group_and_artifact(void **state)
{
	zentry e[] = {TXT("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n"),
		      TXT("META-INF/maven/org.apache.commons/commons-lang3/pom.properties",
			  "#Generated\nversion=3.12.0\ngroupId=org.apache.commons\n"
			  "artifactId=commons-lang3\n")};
	size_t len;
	unsigned char *z = zip(e, 2, &len);
	berth_catalog *c = parse_as("/usr/share/java/commons-lang3-3.12.0.jar", z, len, NULL, NULL);

	assert_int_equal(c->npkgs, 1);
	assert_string_equal(c->pkgs[0].group, "org.apache.commons");
	assert_string_equal(c->pkgs[0].purl, "pkg:maven/org.apache.commons/commons-lang3@3.12.0");
	free(z);
	berth_catalog_free(c);
}

static void manifest_then_file_name_are_fallbacks(void **state)
{
	zentry m[] = {TXT("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n"
						  "Implementation-Title: fancy\r\n"
						  "Implementation-Version: 2.0.1\r\n")};
	zentry none[] = {TXT("a/B.class", "\xca\xfe\xba\xbe")};
	size_t l1, l2;
	unsigned char *z1 = zip(m, 1, &l1), *z2 = zip(none, 1, &l2);
	berth_catalog *c1 = parse_as("/opt/x.jar", z1, l1, NULL, NULL);
	berth_catalog *c2 = parse_as("/opt/guava-32.1.3-jre.jar", z2, l2, NULL, NULL);

	assert_string_equal(c1->pkgs[0].name, "fancy");
	assert_string_equal(c1->pkgs[0].version, "2.0.1");
	assert_string_equal(c2->pkgs[0].name, "guava");
	assert_string_equal(c2->pkgs[0].version, "32.1.3-jre");
	free(z1);
	free(z2);
	berth_catalog_free(c1);
	berth_catalog_free(c2);
}

static void a_product_title_gives_way_to_the_file_name(void **state)
{
	zentry m[] = {TXT("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n"
						  "Implementation-Title: Commons Logging\r\n"
						  "Implementation-Version: 1.2\r\n"
						  "Implementation-Vendor-Id: org.apache\r\n")};
	zentry jre[] = {TXT("META-INF/MANIFEST.MF",
			    "Manifest-Version: 1.0\r\n"
			    "Implementation-Title: Java Runtime Environment\r\n"
			    "Implementation-Version: 17.0.13\r\n")};
	size_t l1, l2;
	unsigned char *z1 = zip(m, 1, &l1), *z2 = zip(jre, 1, &l2);
	berth_catalog *c1 = parse_as("/usr/share/java/commons-logging-1.2.jar", z1, l1, NULL, NULL);
	berth_catalog *c2 = parse_as("/usr/lib/jvm/lib/jrt-fs.jar", z2, l2, NULL, NULL);

	assert_int_equal(c1->npkgs, 1);
	assert_string_equal(c1->pkgs[0].name, "commons-logging");
	assert_string_equal(c1->pkgs[0].version, "1.2");
	assert_string_equal(c1->pkgs[0].group, "org.apache");
	assert_int_equal(c2->npkgs, 1);
	assert_string_equal(c2->pkgs[0].name, "jrt-fs");
	assert_string_equal(c2->pkgs[0].version, "17.0.13");
	free(z1);
	free(z2);
	berth_catalog_free(c1);
	berth_catalog_free(c2);
}

static void nested_jars_are_read_with_their_path(void **state)
{
	zentry inner[] = {
		TXT("META-INF/maven/com.fasterxml.jackson.core/jackson-core/pom.properties",
		    "groupId=com.fasterxml.jackson.core\nartifactId=jackson-core\n"
		    "version=2.15.3\n")};
	size_t il, ol;
	unsigned char *iz = zip(inner, 1, &il);
	zentry outer[] = {{"BOOT-INF/lib/jackson-core-2.15.3.jar", iz, il},
			  TXT("META-INF/maven/com.example/app/pom.properties",
			      "groupId=com.example\nartifactId=app\nversion=1.0\n")};
	unsigned char *oz = zip(outer, 2, &ol);
	berth_catalog *c = parse_as("/app/app.jar", oz, ol, NULL, NULL);
	const berth_package *j = find(c, "jackson-core");

	assert_int_equal(c->npkgs, 2);
	assert_non_null(j);
	assert_string_equal(j->path, "/app/app.jar:BOOT-INF/lib/jackson-core-2.15.3.jar");
	free(iz);
	free(oz);
	berth_catalog_free(c);
}

static void nesting_past_the_cap_is_a_warning(void **state)
{
	zentry leaf[] = {
		TXT("META-INF/maven/g/a/pom.properties", "groupId=g\nartifactId=a\nversion=1\n")};
	size_t len;
	unsigned char *z = zip(leaf, 1, &len);

	for (int i = 0; i < BERTH_CATALOG_NEST_MAX + 1; i++) {
		zentry wrap[] = {{"lib/inner.jar", z, len}};
		size_t nl;
		unsigned char *nz = zip(wrap, 1, &nl);

		free(z);
		z = nz;
		len = nl;
	}
	berth_catalog *c = parse_as("/deep.jar", z, len, NULL, NULL);

	assert_null(find(c, "a"));
	assert_true(has_warning(c, "nested deeper than"));
	free(z);
	berth_catalog_free(c);
}

static void corrupt_jar_is_a_warning(void **state)
{
	berth_catalog *c = parse1("/x/broken.jar", "PK\x03\x04 this is not really a zip");

	assert_true(c->nwarnings >= 1);
	assert_true(has_warning(c, "/x/broken.jar"));
	berth_catalog_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pom_properties_give_group_and_artifact),
		cmocka_unit_test(manifest_then_file_name_are_fallbacks),
		cmocka_unit_test(a_product_title_gives_way_to_the_file_name),
		cmocka_unit_test(nested_jars_are_read_with_their_path),
		cmocka_unit_test(nesting_past_the_cap_is_a_warning),
		cmocka_unit_test(corrupt_jar_is_a_warning),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
