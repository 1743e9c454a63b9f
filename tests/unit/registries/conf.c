/*
 * conf.c - unit tests for containers-registries.conf(5) reading and
 * resolution: prefix rewriting, the longest prefix winning, prefix
 * boundaries, mirrors (and their pull-from-mirror modes), insecure,
 * blocked, wildcard hosts, TOML a podman file holds (arrays over lines,
 * inline tables, other tables), drop-in merging, and bad files refused with
 * the line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/registries.h"

static berth_registries *parse(const char *text)
{
	berth_registries *r = NULL;

	if (berth_registries_parse(&r, text, strlen(text), "test.conf") != 0)
		fail_msg("parse failed: %s", berth_error_last());
	return r;
}

/* The endpoints of ref, joined as "ref[!]" (! = insecure) by spaces. */
static void expect(const berth_registries *r, const char *ref, const char *want)
{
	berth_registry_endpoint *e = NULL;
	char got[2048] = "";
	size_t n = 0;

	if (berth_registries_resolve(r, ref, &e, &n) != 0)
		fail_msg("resolve %s: %s", ref, berth_error_last());
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(got);

		snprintf(got + l, sizeof(got) - l, "%s%s%s", i ? " " : "", e[i].ref,
			 e[i].insecure ? "!" : "");
	}
	berth_registries_endpoints_free(e, n);
	assert_string_equal(got, want);
}

static void prefix_is_rewritten_to_location(void **state)
{
	berth_registries *r = parse("[[registry]]\n"
				    "prefix = \"registry.company.com/base\"\n"
				    "location = \"127.0.0.1:5000/mirror\"\n"
				    "insecure = true\n");

	(void)state;
	expect(r, "registry.company.com/base/node:20-alpine",
	       "127.0.0.1:5000/mirror/node:20-alpine!");
	/* A prefix ends at '/', ':' or '@' only. */
	expect(r, "registry.company.com/basement/x:1", "registry.company.com/basement/x:1");
	expect(r, "docker.io/library/busybox:1", "docker.io/library/busybox:1");
	berth_registries_free(r);
}

static void the_longest_prefix_wins(void **state)
{
	berth_registries *r =
		parse("[[registry]]\nprefix = \"reg.example\"\nlocation = \"a.local\"\n"
		      "[[registry]]\nprefix = \"reg.example/team\"\n"
		      "location = \"b.local/t\"\n");

	(void)state;
	expect(r, "reg.example/team/app:1", "b.local/t/app:1");
	expect(r, "reg.example/other/app:1", "a.local/other/app:1");
	expect(r, "reg.example/team@sha256:00", "b.local/t@sha256:00");
	berth_registries_free(r);
}

static void mirrors_come_first_by_mode(void **state)
{
	berth_registries *r = parse("[[registry]]\n"
				    "location = \"docker.io\"\n"
				    "[[registry.mirror]]\n"
				    "location = \"m1.local\"\n"
				    "insecure = true\n"
				    "[[registry.mirror]]\n"
				    "location = \"m2.local/cache\"\n"
				    "pull-from-mirror = \"digest-only\"\n"
				    "[[registry.mirror]]\n"
				    "location = 'm3.local'\n"
				    "pull-from-mirror = \"tag-only\"\n");

	(void)state;
	expect(r, "docker.io/library/alpine:3",
	       "m1.local/library/alpine:3! m3.local/library/alpine:3 "
	       "docker.io/library/alpine:3");
	expect(r, "docker.io/library/alpine@sha256:ab",
	       "m1.local/library/alpine@sha256:ab! m2.local/cache/library/alpine@sha256:ab "
	       "docker.io/library/alpine@sha256:ab");
	berth_registries_free(r);
}

static void mirror_by_digest_only_applies_to_every_mirror(void **state)
{
	berth_registries *r =
		parse("[[registry]]\nprefix = \"q.io\"\nmirror-by-digest-only = true\n"
		      "[[registry.mirror]]\nlocation = \"m.local\"\n");

	(void)state;
	expect(r, "q.io/a:1", "q.io/a:1");
	expect(r, "q.io/a@sha256:11", "m.local/a@sha256:11 q.io/a@sha256:11");
	berth_registries_free(r);
}

static void blocked_registry_is_refused(void **state)
{
	berth_registries *r = parse("[[registry]]\nprefix = \"evil.io\"\nblocked = true\n");
	berth_registry_endpoint *e = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(berth_registries_resolve(r, "evil.io/x:1", &e, &n), BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "blocked"));
	assert_null(e);
	expect(r, "good.io/x:1", "good.io/x:1");
	berth_registries_free(r);
}

static void wildcard_matches_hosts_under_a_domain(void **state)
{
	berth_registries *r = parse("[[registry]]\nprefix = \"*.corp.example\"\ninsecure = true\n");

	(void)state;
	expect(r, "reg.corp.example/a/b:1", "reg.corp.example/a/b:1!");
	expect(r, "corp.example/a:1", "corp.example/a:1");
	expect(r, "x.corp.example.org/a:1", "x.corp.example.org/a:1");
	berth_registries_free(r);
}

static void a_podman_file_reads_unchanged(void **state)
{
	berth_registries *r = parse("# registries.conf as podman ships it\n"
				    "unqualified-search-registries = [\n"
				    "  \"registry.fedoraproject.org\", # first\n"
				    "  \"docker.io\",\n"
				    "]\n"
				    "short-name-mode = \"enforcing\"\n"
				    "credential-helpers = [ \"containers-auth.json\" ]\n"
				    "\n"
				    "[aliases]\n"
				    "  \"fedora\" = \"registry.fedoraproject.org/fedora\"\n"
				    "\n"
				    "[[registry]]\n"
				    "  prefix = \"example.com/foo\" # trailing comment\n"
				    "  location = \"internal.example.com/bar\"\n"
				    "  x-unknown = { a = 1, b = [true, false] }\n");

	(void)state;
	assert_int_equal(berth_registries_count(r), 1);
	expect(r, "example.com/foo/app:1", "internal.example.com/bar/app:1");
	berth_registries_free(r);
}

static void refuse(const char *text, int code, const char *msg)
{
	berth_registries *r = NULL;

	assert_int_equal(berth_registries_parse(&r, text, strlen(text), "bad.conf"), code);
	assert_null(r);
	if (!strstr(berth_error_last(), msg))
		fail_msg("message '%s' lacks '%s'", berth_error_last(), msg);
}

static void bad_files_are_refused_with_the_line(void **state)
{
	(void)state;
	refuse("[registries.search]\nregistries = ['docker.io']\n", BERTH_EINVALID,
	       "version 1 format");
	refuse("[[registry]]\nprefix = \"a\"\nlocation = \"b\n", BERTH_EINVALID,
	       "bad.conf:3: unterminated string");
	refuse("[[registry]]\ninsecure = \"yes\"\n", BERTH_EINVALID, "insecure must be a boolean");
	refuse("[[registry]]\ninsecure = true\n", BERTH_EINVALID, "neither prefix nor location");
	refuse("[[registry.mirror]]\nlocation = \"m\"\n", BERTH_EINVALID, "before any");
	refuse("[[registry]]\nprefix = \"*.a.b\"\nlocation = \"c\"\n", BERTH_EINVALID, "wildcard");
	refuse("[[registry]]\nprefix = \"a\" junk\n", BERTH_EINVALID, "after the value");
	refuse("x = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\n", BERTH_EINVALID, "nested too deep");
	refuse("[[registry]\n", BERTH_EINVALID, "expected ']'");
}

static void too_many_mirrors_is_too_big(void **state)
{
	char *text = malloc(64 * 1024);
	size_t off = 0;

	(void)state;
	off += (size_t)sprintf(text, "[[registry]]\nprefix = \"a\"\n");
	for (int i = 0; i <= BERTH_REGISTRIES_MIRRORS_MAX; i++)
		off += (size_t)sprintf(text + off, "[[registry.mirror]]\nlocation = \"m%d\"\n", i);
	refuse(text, BERTH_ETOOBIG, "mirrors");
	free(text);
}

static void a_later_file_replaces_an_entry_by_prefix(void **state)
{
	char dir[] = "/tmp/regconf-XXXXXX", p[256];
	berth_registries *r = NULL;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/registries.conf", dir);
	f = fopen(p, "w");
	fputs("[[registry]]\nprefix = \"a.io\"\nlocation = \"one.local\"\n", f);
	fclose(f);
	setenv("CONTAINERS_REGISTRIES_CONF", p, 1);
	assert_int_equal(berth_registries_load(&r, NULL), 0);
	expect(r, "a.io/x:1", "one.local/x:1");
	berth_registries_free(r);
	unsetenv("CONTAINERS_REGISTRIES_CONF");
	/* An explicit path wins over the environment; a missing one is an error. */
	assert_int_equal(berth_registries_load(&r, p), 0);
	assert_int_equal(berth_registries_count(r), 1);
	berth_registries_free(r);
	snprintf(p, sizeof(p), "%s/none.conf", dir);
	assert_int_equal(berth_registries_load(&r, p), BERTH_ENOTFOUND);
	snprintf(p, sizeof(p), "%s/registries.conf", dir);
	unlink(p);
	rmdir(dir);
}

static void no_configuration_pulls_as_written(void **state)
{
	(void)state;
	expect(NULL, "docker.io/library/alpine:3", "docker.io/library/alpine:3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefix_is_rewritten_to_location),
		cmocka_unit_test(the_longest_prefix_wins),
		cmocka_unit_test(mirrors_come_first_by_mode),
		cmocka_unit_test(mirror_by_digest_only_applies_to_every_mirror),
		cmocka_unit_test(blocked_registry_is_refused),
		cmocka_unit_test(wildcard_matches_hosts_under_a_domain),
		cmocka_unit_test(a_podman_file_reads_unchanged),
		cmocka_unit_test(bad_files_are_refused_with_the_line),
		cmocka_unit_test(too_many_mirrors_is_too_big),
		cmocka_unit_test(a_later_file_replaces_an_entry_by_prefix),
		cmocka_unit_test(no_configuration_pulls_as_written),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
