/*
 * mount.c - unit tests of RUN --mount parsing: BuildKit's keys, aliases
 * and defaults per type (secret and ssh targets, cache ids, bind read-only
 * by default), and the errors for an unknown type, an unknown key, a key
 * of another type, bad values and a missing target.
 */
#include "lib/build/internal.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void parse_ok(build_mount *m, const char *v)
{
	if (berth_build__mount_parse(m, v, 0) != 0)
		fail_msg("%s: %s", v, berth_error_last());
}

static void parse_fails(const char *v, const char *msg)
{
	build_mount m;

	assert_int_equal(berth_build__mount_parse(&m, v, 0), BERTH_EINVALID);
	if (!strstr(berth_error_last(), msg))
		fail_msg("%s: got '%s', expected '%s'", v, berth_error_last(), msg);
}

static void a_bind_is_the_default_type_and_read_only(void **state)
{
	build_mount m;

	(void)state;
	parse_ok(&m, "target=/src,source=app,from=build");
	assert_int_equal(m.type, BM_BIND);
	assert_true(m.readonly);
	assert_string_equal(m.target, "/src");
	assert_string_equal(m.source, "app");
	assert_string_equal(m.from, "build");
	berth_build__mount_dispose(&m);
	parse_ok(&m, "type=bind,dst=/src,rw");
	assert_false(m.readonly);
	berth_build__mount_dispose(&m);
	parse_ok(&m, "type=bind,destination=/src,readwrite=true,ro=false");
	assert_false(m.readonly);
	berth_build__mount_dispose(&m);
}

static void a_secret_defaults_to_run_secrets_id(void **state)
{
	build_mount m;

	(void)state;
	parse_ok(&m, "type=secret,id=token");
	assert_int_equal(m.type, BM_SECRET);
	assert_string_equal(m.target, "/run/secrets/token");
	assert_false(m.required);
	assert_int_equal(m.mode, -1);
	berth_build__mount_dispose(&m);
	/* The id defaults to the target's base name. */
	parse_ok(&m, "type=secret,target=/root/.npmrc,required,mode=0440,uid=1000,gid=2");
	assert_string_equal(m.id, ".npmrc");
	assert_true(m.required);
	assert_int_equal(m.mode, 0440);
	assert_int_equal(m.uid, 1000);
	assert_int_equal(m.gid, 2);
	berth_build__mount_dispose(&m);
	/* env= alone: no file. */
	parse_ok(&m, "type=secret,id=tok,env=TOKEN,required=true");
	assert_null(m.target);
	assert_string_equal(m.env, "TOKEN");
	berth_build__mount_dispose(&m);
}

static void a_cache_id_defaults_to_its_target(void **state)
{
	build_mount m;

	(void)state;
	parse_ok(&m, "type=cache,target=/root/.cache,sharing=locked,mode=0700");
	assert_int_equal(m.type, BM_CACHE);
	assert_string_equal(m.id, "/root/.cache");
	assert_int_equal(m.sharing, BM_LOCKED);
	assert_false(m.readonly);
	berth_build__mount_dispose(&m);
	parse_ok(&m, "\"type=cache\",id=go,target=/go,sharing=private,from=base,source=/x");
	assert_string_equal(m.id, "go");
	assert_int_equal(m.sharing, BM_PRIVATE);
	berth_build__mount_dispose(&m);
	/* An empty id, even after a real one, is the default (found by fuzz_mountspec). */
	parse_ok(&m, "type=cache,id=go,target=/go,id=");
	assert_string_equal(m.id, "/go");
	berth_build__mount_dispose(&m);
}

static void ssh_and_tmpfs_defaults(void **state)
{
	build_mount m;

	(void)state;
	assert_int_equal(berth_build__mount_parse(&m, "type=ssh", 1), 0);
	assert_string_equal(m.id, "default");
	assert_string_equal(m.target, "/run/buildkit/ssh_agent.1");
	berth_build__mount_dispose(&m);
	parse_ok(&m, "type=tmpfs,target=/t,size=64m");
	assert_int_equal(m.size, 64ull << 20);
	berth_build__mount_dispose(&m);
	parse_ok(&m, "type=tmpfs,target=/t,size=1.5k");
	assert_int_equal(m.size, 1536);
	berth_build__mount_dispose(&m);
}

static void bad_specs_are_refused_with_buildkits_words(void **state)
{
	(void)state;
	parse_fails("type=nfs,target=/x", "unsupported mount type \"nfs\"");
	parse_fails("type=cache,target=/x,colour=red", "unexpected key 'colour'");
	parse_fails("type=bind,target=/x,sharing=locked",
		    "unexpected key 'sharing' for mount type bind");
	parse_fails("type=tmpfs,target=/x,from=build",
		    "unexpected key 'from' for mount type tmpfs");
	parse_fails("type=cache,target=/x,sharing=sometimes", "unsupported sharing value");
	parse_fails("type=cache,target=/x,mode=999", "invalid value for mode");
	parse_fails("type=secret,id=x,uid=-1", "invalid value for uid");
	parse_fails("type=tmpfs,target=/x,size=lots", "invalid value for size");
	parse_fails("type=secret,id=x,required=maybe", "invalid value for required");
	parse_fails("type=cache", "needs a target");
	parse_fails("type=secret", "needs an id or a target");
	parse_fails("type=secret,id=../x", "bad secret id");
	parse_fails("type=bind,target", "must be a key=value pair");
	parse_fails("type=bind,\"target=/x", "unterminated quote");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_bind_is_the_default_type_and_read_only),
		cmocka_unit_test(a_secret_defaults_to_run_secrets_id),
		cmocka_unit_test(a_cache_id_defaults_to_its_target),
		cmocka_unit_test(ssh_and_tmpfs_defaults),
		cmocka_unit_test(bad_specs_are_refused_with_buildkits_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
