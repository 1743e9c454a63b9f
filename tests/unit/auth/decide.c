/*
 * decide.c - unit tests for the authorization model (src/lib/auth/access.c):
 * the full matrix of principals (anonymous, users of every role, system
 * administrators, robots) x actions x public/private projects, expired and
 * repository-scoped robots, registry-level targets, and the role and
 * project-name helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "berth/auth.h"

#define PULL BERTH_ACTION_PULL
#define PUSH BERTH_ACTION_PUSH
#define DEL BERTH_ACTION_DELETE
#define ADM BERTH_ACTION_ADMIN

static const unsigned single_actions[] = {PULL, PUSH, DEL, ADM};

/* Check decide() for every single action and for all of them at once. */
static void expect(const berth_principal *p, const berth_auth_facts *f, unsigned allowed,
		   const char *what)
{
	for (size_t i = 0; i < 4; i++) {
		unsigned got = berth_auth_decide(p, f, single_actions[i]);

		if (got != (allowed & single_actions[i]))
			fail_msg("%s: action 0x%x: got 0x%x, want 0x%x", what, single_actions[i],
				 got, allowed & single_actions[i]);
	}
	if (berth_auth_decide(p, f, BERTH_ACTION_ALL) != allowed)
		fail_msg("%s: all actions: got 0x%x, want 0x%x", what,
			 berth_auth_decide(p, f, BERTH_ACTION_ALL), allowed);
}

static void test_role_matrix_public_and_private(void **state)
{
	/* Expected actions written out by hand, one row per (role, visibility). */
	static const struct {
		berth_principal_kind kind;
		int sysadmin;
		berth_role role;
		int pub;
		unsigned allowed;
	} rows[] = {
		{BERTH_PRINCIPAL_ANONYMOUS, 0, BERTH_ROLE_NONE, 0, 0},
		{BERTH_PRINCIPAL_ANONYMOUS, 0, BERTH_ROLE_NONE, 1, PULL},
		/* a role handed to an anonymous caller must not count */
		{BERTH_PRINCIPAL_ANONYMOUS, 0, BERTH_ROLE_ADMIN, 0, 0},
		{BERTH_PRINCIPAL_ANONYMOUS, 1, BERTH_ROLE_NONE, 0, 0},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_NONE, 0, 0},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_NONE, 1, PULL},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_GUEST, 0, PULL},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_GUEST, 1, PULL},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_DEVELOPER, 0, PULL | PUSH},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_DEVELOPER, 1, PULL | PUSH},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_MAINTAINER, 0, PULL | PUSH | DEL},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_MAINTAINER, 1, PULL | PUSH | DEL},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_ADMIN, 0, PULL | PUSH | DEL | ADM},
		{BERTH_PRINCIPAL_USER, 0, BERTH_ROLE_ADMIN, 1, PULL | PUSH | DEL | ADM},
		{BERTH_PRINCIPAL_USER, 1, BERTH_ROLE_NONE, 0, PULL | PUSH | DEL | ADM},
		{BERTH_PRINCIPAL_USER, 1, BERTH_ROLE_NONE, 1, PULL | PUSH | DEL | ADM},
		{BERTH_PRINCIPAL_USER, 1, BERTH_ROLE_GUEST, 0, PULL | PUSH | DEL | ADM},
		/* a robot with no permissions gets only what anonymous gets */
		{BERTH_PRINCIPAL_ROBOT, 0, BERTH_ROLE_NONE, 0, 0},
		{BERTH_PRINCIPAL_ROBOT, 0, BERTH_ROLE_ADMIN, 1, PULL},
		{BERTH_PRINCIPAL_ROBOT, 1, BERTH_ROLE_NONE, 1, PULL},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		berth_principal p = {.kind = rows[i].kind, .id = 7, .sysadmin = rows[i].sysadmin};
		berth_auth_facts f = {.repository = "team/app",
				      .project_exists = 1,
				      .project_public = rows[i].pub,
				      .role = rows[i].role};
		char what[64];

		snprintf(what, sizeof(what), "row %zu", i);
		expect(&p, &f, rows[i].allowed, what);
	}
}

static void test_missing_project_only_sysadmin(void **state)
{
	berth_principal anon = {.kind = BERTH_PRINCIPAL_ANONYMOUS};
	berth_principal admin_member = {.kind = BERTH_PRINCIPAL_USER, .id = 2};
	berth_principal sys = {.kind = BERTH_PRINCIPAL_USER, .id = 1, .sysadmin = 1};
	berth_auth_facts f = {.repository = "gone/app",
			      .project_exists = 0,
			      .project_public = 1,
			      .role = BERTH_ROLE_ADMIN};

	expect(&anon, &f, 0, "anonymous, missing project");
	expect(&admin_member, &f, 0, "member, missing project");
	expect(&sys, &f, BERTH_ACTION_ALL, "sysadmin, missing project");
}

static void test_registry_level_only_sysadmin(void **state)
{
	berth_robot_perm perm = {.project = "team", .repository = "", .actions = PULL | PUSH};
	berth_principal anon = {.kind = BERTH_PRINCIPAL_ANONYMOUS};
	berth_principal user = {.kind = BERTH_PRINCIPAL_USER, .id = 2};
	berth_principal robot = {.kind = BERTH_PRINCIPAL_ROBOT, .id = 3};
	berth_principal sys = {.kind = BERTH_PRINCIPAL_USER, .id = 1, .sysadmin = 1};
	berth_auth_facts f = {.repository = NULL,
			      .project_exists = 1,
			      .project_public = 1,
			      .role = BERTH_ROLE_ADMIN,
			      .perms = &perm,
			      .nperms = 1};

	expect(&anon, &f, 0, "anonymous, catalog");
	expect(&user, &f, 0, "project admin, catalog");
	expect(&robot, &f, 0, "robot, catalog");
	expect(&sys, &f, BERTH_ACTION_ALL, "sysadmin, catalog");
}

static void test_robot_permissions_union_and_scoping(void **state)
{
	berth_robot_perm perms[] = {
		{.project = "team", .repository = "", .actions = PULL},
		{.project = "team", .repository = "team/app", .actions = PUSH},
		{.project = "other", .repository = "", .actions = DEL | PULL},
		/* admin is never granted to robots, even if stored */
		{.project = "adm", .repository = "", .actions = ADM | PULL},
		/* prefix of a project name does not match */
		{.project = "tea", .repository = "", .actions = DEL},
	};
	berth_principal robot = {.kind = BERTH_PRINCIPAL_ROBOT, .id = 9};
	berth_auth_facts f = {.project_exists = 1, .perms = perms, .nperms = 5};
	static const struct {
		const char *repo;
		int pub;
		unsigned allowed;
	} cases[] = {
		{"team/app", 0, PULL | PUSH},
		{"team/web", 0, PULL},
		{"team/app/sub", 0, PULL}, /* repository permissions are exact */
		{"team/application", 0, PULL},
		{"other/x", 0, PULL | DEL},
		{"adm/x", 0, PULL},
		{"third/x", 0, 0},
		{"third/x", 1, PULL}, /* public projects: pull, like anonymous */
		{"tea/x", 0, DEL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f.repository = cases[i].repo;
		f.project_public = cases[i].pub;
		expect(&robot, &f, cases[i].allowed, cases[i].repo);
	}
}

static void test_expired_robot_gets_nothing(void **state)
{
	berth_robot_perm perm = {.project = "team", .repository = "", .actions = PULL | PUSH | DEL};
	berth_principal robot = {.kind = BERTH_PRINCIPAL_ROBOT, .id = 9};
	berth_auth_facts f = {.repository = "team/app",
			      .project_exists = 1,
			      .project_public = 1,
			      .perms = &perm,
			      .nperms = 1};

	expect(&robot, &f, PULL | PUSH | DEL, "live robot");
	f.robot_expired = 1;
	expect(&robot, &f, 0, "expired robot");
}

static void test_wanted_masks_result(void **state)
{
	berth_principal user = {.kind = BERTH_PRINCIPAL_USER, .id = 2};
	berth_auth_facts f = {
		.repository = "team/app", .project_exists = 1, .role = BERTH_ROLE_DEVELOPER};

	assert_int_equal(berth_auth_decide(&user, &f, PULL | DEL), PULL);
	assert_int_equal(berth_auth_decide(&user, &f, 0), 0);
	assert_int_equal(berth_auth_decide(&user, &f, 0xf0u), 0);
}

static void test_roles(void **state)
{
	static const char *names[] = {"guest", "developer", "maintainer", "admin"};
	berth_role r;

	for (int i = 0; i < 4; i++) {
		assert_int_equal(berth_auth_role_parse(names[i], &r), 0);
		assert_int_equal(r, i + 1);
		assert_string_equal(berth_auth_role_name(r), names[i]);
	}
	assert_int_equal(berth_auth_role_parse("Admin", &r), BERTH_EINVALID);
	assert_int_equal(berth_auth_role_parse("none", &r), BERTH_EINVALID);
	assert_int_equal(berth_auth_role_parse("", &r), BERTH_EINVALID);
	assert_int_equal(berth_auth_role_parse("owner", &r), BERTH_EINVALID);
	assert_string_equal(berth_auth_role_name((berth_role)42), "none");
	assert_int_equal(berth_auth_role_actions(BERTH_ROLE_NONE), 0);
	assert_int_equal(berth_auth_role_actions(BERTH_ROLE_GUEST), PULL);
	assert_int_equal(berth_auth_role_actions(BERTH_ROLE_DEVELOPER), PULL | PUSH);
	assert_int_equal(berth_auth_role_actions(BERTH_ROLE_MAINTAINER), PULL | PUSH | DEL);
	assert_int_equal(berth_auth_role_actions(BERTH_ROLE_ADMIN), BERTH_ACTION_ALL);
}

static void test_project_of(void **state)
{
	char out[256], small[4];

	assert_int_equal(berth_auth_project_of("library/alpine", out, sizeof(out)), 0);
	assert_string_equal(out, "library");
	assert_int_equal(berth_auth_project_of("team-a/app/sub", out, sizeof(out)), 0);
	assert_string_equal(out, "team-a");
	assert_int_equal(berth_auth_project_of("alpine", out, sizeof(out)), BERTH_EINVALID);
	assert_int_equal(berth_auth_project_of("Team/app", out, sizeof(out)), BERTH_EINVALID);
	assert_int_equal(berth_auth_project_of("/app", out, sizeof(out)), BERTH_EINVALID);
	assert_int_equal(berth_auth_project_of("a//b", out, sizeof(out)), BERTH_EINVALID);
	assert_int_equal(berth_auth_project_of("", out, sizeof(out)), BERTH_EINVALID);
	assert_int_equal(berth_auth_project_of(NULL, out, sizeof(out)), BERTH_EINVALID);
	assert_int_equal(berth_auth_project_of("team/app", small, sizeof(small)), BERTH_ETOOBIG);
	assert_int_equal(berth_auth_project_of("abc/app", small, sizeof(small)), 0);
	assert_string_equal(small, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_role_matrix_public_and_private),
		cmocka_unit_test(test_missing_project_only_sysadmin),
		cmocka_unit_test(test_registry_level_only_sysadmin),
		cmocka_unit_test(test_robot_permissions_union_and_scoping),
		cmocka_unit_test(test_expired_robot_gets_nothing),
		cmocka_unit_test(test_wanted_masks_result),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_project_of),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
