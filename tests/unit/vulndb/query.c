/*
 * query.c - unit tests for import and query on an in-memory database: OSV
 * ranges with several events, explicit versions, last_affected, PyPI name
 * normalisation, Debian tracker statuses, Alpine "0" entries, withdrawn
 * records, and releases kept apart.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "berth/vulndb.h"

static const char osv[] =
	"[{\"id\":\"PYSEC-1\",\"aliases\":[\"CVE-1\"],\"affected\":[{\"package\":"
	"{\"ecosystem\":\"PyPI\",\"name\":\"Zope.Interface\"},\"ranges\":[{\"type\":"
	"\"ECOSYSTEM\",\"events\":[{\"introduced\":\"1.0\"},{\"fixed\":\"1.5\"},"
	"{\"introduced\":\"2.0\"},{\"last_affected\":\"2.3\"}]}],\"versions\":[\"0.9\"]}]},"
	"{\"id\":\"GONE-1\",\"withdrawn\":\"2024-01-01T00:00:00Z\",\"affected\":[{\"package\":"
	"{\"ecosystem\":\"PyPI\",\"name\":\"zope-interface\"},\"ranges\":[{\"type\":\"ECOSYSTEM\","
	"\"events\":[{\"introduced\":\"0\"}]}]}]}]";

static const char tracker[] =
	"{\"tar\":{\"CVE-2005-2541\":{\"description\":\"setuid\",\"releases\":{"
	"\"bookworm\":{\"status\":\"open\",\"urgency\":\"unimportant\"},"
	"\"bullseye\":{\"status\":\"resolved\",\"fixed_version\":\"0\"}}},"
	"\"CVE-2022-48303\":{\"releases\":{\"bookworm\":{\"status\":\"resolved\","
	"\"fixed_version\":\"1.34+dfsg-1.2\",\"urgency\":\"low\"},\"bullseye\":{\"status\":"
	"\"open\",\"nodsa\":\"Minor "
	"issue\",\"nodsa_reason\":\"postponed\",\"urgency\":\"low\"}}}}}";

static const char secdb[] =
	"{\"distroversion\":\"v3.19\",\"packages\":[{\"pkg\":{\"name\":\"curl\","
	"\"secfixes\":{\"8.5.0-r0\":[\"CVE-2023-46218 CVE-2023-46219\"],"
	"\"0\":[\"CVE-2023-1111\"]}}}]}";

static berth_vulndb *load(void)
{
	berth_vulndb *db = NULL;
	berth_vulndb_import_stats st;

	assert_int_equal(berth_vulndb_open(&db, ":memory:", 1), 0);
	assert_int_equal(berth_vulndb_import_json(db, "osv", osv, strlen(osv), NULL, NULL, &st), 0);
	assert_int_equal(st.advisories, 1); /* the withdrawn record is not kept */
	assert_int_equal(
		berth_vulndb_import_json(db, "tracker", tracker, strlen(tracker), NULL, NULL, &st),
		0);
	assert_int_equal(
		berth_vulndb_import_json(db, "secdb", secdb, strlen(secdb), NULL, NULL, &st), 0);
	return db;
}

/* The ids found, comma-joined, and the first match's fixed/status into out. */
static void ids(berth_vulndb *db, const char *eco, const char *pkg, const char *ver, char *out,
		size_t len, char *first, size_t flen)
{
	berth_vulndb_match *m = NULL;
	size_t n = 0, o = 0;

	assert_int_equal(berth_vulndb_query(db, eco, pkg, ver, &m, &n), 0);
	out[0] = first[0] = '\0';
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "", m[i].id);
	if (n)
		snprintf(first, flen, "%s/%s/%s", m[0].fixed, m[0].status, m[0].severity);
	berth_vulndb_matches_free(m, n);
}

static void test_osv_events_versions_and_names(void **state)
{
	berth_vulndb *db = load();
	char got[256], f[256];

	ids(db, "PyPI", "zope_interface", "1.4", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "PYSEC-1");
	assert_string_equal(f, "1.5/fixed/UNKNOWN");
	ids(db, "PyPI", "zope-interface", "1.5", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "");
	ids(db, "PyPI", "ZOPE.interface", "2.3", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "PYSEC-1");
	ids(db, "PyPI", "zope-interface", "2.3.1", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "");
	ids(db, "PyPI", "zope-interface", "0.9", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "PYSEC-1"); /* listed in "versions" */
	berth_vulndb_free(db);
}

static void test_tracker_statuses_and_releases(void **state)
{
	berth_vulndb *db = load();
	char got[256], f[256];

	ids(db, "Debian:12", "tar", "1.34+dfsg-1.1", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "CVE-2005-2541,CVE-2022-48303");
	assert_string_equal(f, "/not-fixed/NEGLIGIBLE");
	ids(db, "Debian:12", "tar", "1.34+dfsg-1.2", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "CVE-2005-2541");
	ids(db, "Debian:11", "tar", "1.34+dfsg-1", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "CVE-2022-48303"); /* CVE-2005-2541 "0" in bullseye */
	assert_string_equal(f, "/fix-deferred/LOW");
	berth_vulndb_free(db);
}

static void test_secdb_fixes_and_zero_entries(void **state)
{
	berth_vulndb *db = load();
	char got[256], f[256];

	ids(db, "Alpine:v3.19", "curl", "8.4.0-r0", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "CVE-2023-46218,CVE-2023-46219");
	assert_string_equal(f, "8.5.0-r0/fixed/UNKNOWN");
	ids(db, "Alpine:v3.18", "curl", "8.4.0-r0", got, sizeof(got), f, sizeof(f));
	assert_string_equal(got, "");
	berth_vulndb_free(db);
}

static void test_bad_queries(void **state)
{
	berth_vulndb *db = load();
	berth_vulndb_match *m = NULL;
	size_t n = 0;

	assert_int_equal(berth_vulndb_query(db, "PyPI", "x", "not a version", &m, &n),
			 BERTH_EINVALID);
	assert_int_equal(berth_vulndb_query(db, "GIT", "x", "1", &m, &n), BERTH_EUNSUPPORTED);
	assert_null(m);
	berth_vulndb_free(db);
}

static void test_not_an_advisory_document(void **state)
{
	berth_vulndb *db = NULL;
	berth_vulndb_import_stats st;

	assert_int_equal(berth_vulndb_open(&db, ":memory:", 1), 0);
	/* one_doc turns a document of no known format into a warning, counted as skipped */
	assert_int_equal(berth_vulndb_import_json(db, "x", "{\"a\":1}", 7, NULL, NULL, &st), 0);
	assert_int_equal(st.skipped, 1);
	assert_int_equal(berth_vulndb_import_json(db, "x", "[1,2", 4, NULL, NULL, &st), 0);
	assert_int_equal(st.skipped, 1);
	berth_vulndb_free(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_osv_events_versions_and_names),
		cmocka_unit_test(test_tracker_statuses_and_releases),
		cmocka_unit_test(test_secdb_fixes_and_zero_entries),
		cmocka_unit_test(test_bad_queries),
		cmocka_unit_test(test_not_an_advisory_document),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
