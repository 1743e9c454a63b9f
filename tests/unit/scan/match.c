/*
 * match.c - unit tests for the scanner's join on an in-memory database: the
 * query key of each package kind (Debian source version with epoch, Alpine
 * origin and release, Go's stdlib, Maven group:artifact, an unknown
 * distro), findings from a catalogue, severity words and masks, filters
 * and the exit status rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "berth/scan.h"

static const char osv[] =
	"[{\"id\":\"GHSA-1\",\"database_specific\":{\"severity\":\"HIGH\"},\"affected\":[{"
	"\"package\":{\"ecosystem\":\"npm\",\"name\":\"left-pad\"},\"ranges\":[{\"type\":"
	"\"SEMVER\",\"events\":[{\"introduced\":\"0\"},{\"fixed\":\"1.3.0\"}]}]}]},"
	"{\"id\":\"DEB-1\",\"affected\":[{\"package\":{\"ecosystem\":\"Debian:12\",\"name\":"
	"\"zlib\"},\"ranges\":[{\"type\":\"ECOSYSTEM\",\"events\":[{\"introduced\":\"0\"},"
	"{\"fixed\":\"1:1.2.13.dfsg-2\"}]}]}]}]";

static void add(berth_catalog *c, berth_pkg_type t, const char *name, const char *version,
		const char *src, const char *srcver, int epoch)
{
	berth_package p = {0};

	p.type = t;
	p.name = (char *)name;
	p.version = (char *)version;
	p.source_name = (char *)src;
	p.source_version = (char *)srcver;
	p.epoch = epoch;
	p.path = "/x";
	assert_int_equal(berth_catalog_add(c, &p), 0);
}

static berth_catalog *debian(void)
{
	berth_catalog *c = berth_catalog_new();

	assert_non_null(c);
	c->os_id = strdup("debian");
	c->os_version_id = strdup("12");
	c->os_version = strdup("12.2");
	return c;
}

static void test_package_keys(void **state)
{
	char eco[BERTH_SCAN_KEY_MAX], name[BERTH_SCAN_KEY_MAX], ver[BERTH_SCAN_KEY_MAX];
	berth_catalog *c = debian();

	(void)state;
	add(c, BERTH_PKG_DEB, "zlib1g", "1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1", 1);
	add(c, BERTH_PKG_DEB, "bash", "5.2-1", NULL, NULL, 2);
	add(c, BERTH_PKG_GOLANG, "stdlib", "go1.21.3", NULL, NULL, 0);
	add(c, BERTH_PKG_MAVEN, "log4j-core", "2.14.1", NULL, NULL, 0);
	c->pkgs[3].group = strdup("org.apache.logging.log4j");
	assert_int_equal(berth_scan_package_key(c, &c->pkgs[0], eco, name, ver), 0);
	assert_string_equal(eco, "Debian:12");
	assert_string_equal(name, "zlib");
	assert_string_equal(ver, "1:1.2.13.dfsg-1");
	assert_int_equal(berth_scan_package_key(c, &c->pkgs[1], eco, name, ver), 0);
	assert_string_equal(name, "bash");
	assert_string_equal(ver, "2:5.2-1");
	assert_int_equal(berth_scan_package_key(c, &c->pkgs[2], eco, name, ver), 0);
	assert_string_equal(eco, "Go");
	assert_string_equal(ver, "1.21.3");
	assert_int_equal(berth_scan_package_key(c, &c->pkgs[3], eco, name, ver), 0);
	assert_string_equal(name, "org.apache.logging.log4j:log4j-core");
	free(c->os_id);
	c->os_id = strdup("alpine");
	free(c->os_version_id);
	c->os_version_id = strdup("3.18.4");
	c->pkgs[0].type = BERTH_PKG_APK;
	assert_int_equal(berth_scan_package_key(c, &c->pkgs[0], eco, name, ver), 0);
	assert_string_equal(eco, "Alpine:v3.18");
	free(c->os_id);
	c->os_id = strdup("plan9");
	assert_int_equal(berth_scan_package_key(c, &c->pkgs[0], eco, name, ver), BERTH_ENOTFOUND);
	berth_catalog_free(c);
}

static berth_scan_report *matched(void)
{
	berth_vulndb *db = NULL;
	berth_vulndb_import_stats st = {0};
	berth_scan_report *r = NULL;
	berth_catalog *c = debian();

	add(c, BERTH_PKG_DEB, "zlib1g", "1.2.13.dfsg-1", "zlib", "1:1.2.13.dfsg-1", 1);
	add(c, BERTH_PKG_NPM, "left-pad", "1.2.0", NULL, NULL, 0);
	add(c, BERTH_PKG_NPM, "left-pad", "1.3.0", NULL, NULL, 0);
	add(c, BERTH_PKG_NPM, "left-pad", "not a version", NULL, NULL, 0);
	assert_int_equal(berth_vulndb_open(&db, ":memory:", 1), 0);
	assert_int_equal(berth_vulndb_import_json(db, "t", osv, sizeof(osv) - 1, NULL, NULL, &st),
			 0);
	assert_int_equal(berth_scan_match(&r, c, db), 0);
	berth_vulndb_free(db);
	return r;
}

static void test_match_finds_both_ecosystems_and_warns_on_bad_versions(void **state)
{
	berth_scan_report *r = matched();

	(void)state;
	assert_int_equal(r->n, 2);
	assert_string_equal(r->findings[0].id, "DEB-1");
	assert_string_equal(r->findings[0].fixed, "1:1.2.13.dfsg-2");
	assert_int_equal(r->findings[0].severity, BERTH_SEV_UNKNOWN);
	assert_string_equal(r->findings[1].id, "GHSA-1");
	assert_int_equal(r->findings[1].pkg, 1);
	assert_int_equal(r->findings[1].severity, BERTH_SEV_HIGH);
	assert_int_equal(r->nwarnings, 1);
	assert_non_null(strstr(r->warnings[0], "not a version"));
	berth_scan_report_free(r);
}

static void test_severity_words_and_masks(void **state)
{
	unsigned m;
	berth_scan_severity s;

	(void)state;
	assert_int_equal(berth_scan_severity_mask("HIGH,critical", &m), 0);
	assert_int_equal(m, (1u << BERTH_SEV_HIGH) | (1u << BERTH_SEV_CRITICAL));
	assert_int_equal(berth_scan_severity_mask("HIGH,,LOW", &m), BERTH_EINVALID);
	assert_int_equal(berth_scan_severity_mask("", &m), BERTH_EINVALID);
	assert_int_equal(berth_scan_severity_parse("severe", &s), BERTH_EINVALID);
	assert_true(BERTH_SEV_NEGLIGIBLE < BERTH_SEV_LOW && BERTH_SEV_UNKNOWN < BERTH_SEV_LOW);
}

static void test_filters_and_exit_status(void **state)
{
	berth_scan_report *r = matched();
	berth_scan_filter_options f = {0};

	(void)state;
	assert_int_equal(berth_scan_exit_status(r, -1, -1), 0);
	assert_int_equal(berth_scan_exit_status(r, 4, -1), 4);
	assert_int_equal(berth_scan_exit_status(r, -1, BERTH_SEV_HIGH), 1);
	assert_int_equal(berth_scan_exit_status(r, 9, BERTH_SEV_HIGH), 9);
	assert_int_equal(berth_scan_exit_status(r, 9, BERTH_SEV_CRITICAL), 0);
	f.os = 1;
	berth_scan_filter(r, &f);
	assert_int_equal(r->n, 1);
	assert_string_equal(r->findings[0].id, "DEB-1");
	/* UNKNOWN sorts below LOW: --fail-on LOW passes. */
	assert_int_equal(berth_scan_exit_status(r, -1, BERTH_SEV_LOW), 0);
	f = (berth_scan_filter_options){0};
	f.severities = 1u << BERTH_SEV_HIGH;
	berth_scan_filter(r, &f);
	assert_int_equal(r->n, 0);
	assert_int_equal(berth_scan_exit_status(r, 4, -1), 0);
	berth_scan_report_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_package_keys),
		cmocka_unit_test(test_match_finds_both_ecosystems_and_warns_on_bad_versions),
		cmocka_unit_test(test_severity_words_and_masks),
		cmocka_unit_test(test_filters_and_exit_status),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
