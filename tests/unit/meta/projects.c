/*
 * projects.c - projects and their members: create, get, make public or
 * private, delete, list; member roles set, replaced, read, removed and
 * listed; EEXISTS/ENOTFOUND/EINVALID as documented; and the cascades:
 * deleting a user or a project removes its memberships, nothing else.
 */
#include "meta_test.h"

#include <time.h>

#define H "$2y$05$abcdefghijklmnopqrstuuBdRmXpdMnQk1Zbbf7ZcBn9XcPBG5FDy"

static void create_get_and_set_public(void **state)
{
	meta_fixture *f = *state;
	berth_meta_project p, q;
	time_t before = time(NULL);

	assert_int_equal(berth_meta_project_create(f->m, "library", 1), 0);
	assert_int_equal(berth_meta_project_create(f->m, "team", 0), 0);
	assert_int_equal(berth_meta_project_get(f->m, "library", &p), 0);
	assert_string_equal(p.name, "library");
	assert_int_equal(p.public, 1);
	assert_true(p.id > 0);
	assert_true(p.created >= before && p.created <= time(NULL));
	assert_int_equal(berth_meta_project_get(f->m, "team", &q), 0);
	assert_int_equal(q.public, 0);
	assert_true(q.id != p.id);

	assert_int_equal(berth_meta_project_set_public(f->m, "team", 7), 0);
	assert_int_equal(berth_meta_project_get(f->m, "team", &q), 0);
	assert_int_equal(q.public, 1); /* any non-zero is "public" */
	assert_int_equal(berth_meta_project_set_public(f->m, "team", 0), 0);
	assert_int_equal(berth_meta_project_get(f->m, "team", &q), 0);
	assert_int_equal(q.public, 0);
	assert_int_equal(berth_meta_project_get(f->m, "library", &p), 0);
	assert_int_equal(p.public, 1);
}

static void project_errors(void **state)
{
	meta_fixture *f = *state;
	char longname[300];

	assert_int_equal(berth_meta_project_create(f->m, "team", 0), 0);
	assert_int_equal(berth_meta_project_create(f->m, "team", 1), BERTH_EEXISTS);
	assert_null(strstr(berth_error_last(), "team"));
	assert_int_equal(berth_meta_project_get(f->m, "nope", NULL), BERTH_ENOTFOUND);
	assert_null(strstr(berth_error_last(), "nope"));
	assert_int_equal(berth_meta_project_set_public(f->m, "nope", 1), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_project_delete(f->m, "nope"), BERTH_ENOTFOUND);
	memset(longname, 'p', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(berth_meta_project_create(f->m, longname, 0), BERTH_EINVALID);
	assert_int_equal(berth_meta_project_create(f->m, "", 0), BERTH_EINVALID);
	assert_int_equal(berth_meta_project_get(f->m, longname, NULL), BERTH_EINVALID);
}

typedef struct seen {
	char text[1024];
	int count;
} seen;

static int project_cb(void *ctx, const berth_meta_project *p)
{
	seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s:%d", s->count ? "," : "", p->name,
		 p->public);
	s->count++;
	return 0;
}

static int member_cb(void *ctx, const char *user, int role)
{
	seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s=%d", s->count ? "," : "", user, role);
	s->count++;
	return 0;
}

static int stop_member_cb(void *ctx, const char *user, int role)
{
	member_cb(ctx, user, role);
	return 1;
}

static void projects_list_in_name_order_and_delete(void **state)
{
	meta_fixture *f = *state;
	seen s = {0}, t = {0};

	assert_int_equal(berth_meta_projects(f->m, project_cb, &s), 0);
	assert_int_equal(s.count, 0);
	assert_int_equal(berth_meta_project_create(f->m, "zeta", 0), 0);
	assert_int_equal(berth_meta_project_create(f->m, "library", 1), 0);
	assert_int_equal(berth_meta_project_create(f->m, "beta", 0), 0);
	assert_int_equal(berth_meta_projects(f->m, project_cb, &s), 0);
	assert_string_equal(s.text, "beta:0,library:1,zeta:0");
	assert_int_equal(berth_meta_project_delete(f->m, "library"), 0);
	assert_int_equal(berth_meta_project_get(f->m, "library", NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_projects(f->m, project_cb, &t), 0);
	assert_string_equal(t.text, "beta:0,zeta:0");
}

static void members_set_get_replace_delete(void **state)
{
	meta_fixture *f = *state;
	int role = 0;

	assert_int_equal(berth_meta_project_create(f->m, "team", 0), 0);
	assert_int_equal(berth_meta_project_create(f->m, "other", 0), 0);
	assert_int_equal(berth_meta_user_create(f->m, "alice", H, 0, NULL), 0);

	assert_int_equal(berth_meta_member_get(f->m, "team", "alice", &role), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_member_set(f->m, "team", "alice", 2), 0);
	assert_int_equal(berth_meta_member_get(f->m, "team", "alice", &role), 0);
	assert_int_equal(role, 2);
	/* Setting again replaces the role: one role per user per project. */
	assert_int_equal(berth_meta_member_set(f->m, "team", "alice", 4), 0);
	assert_int_equal(berth_meta_member_get(f->m, "team", "alice", &role), 0);
	assert_int_equal(role, 4);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM members"), 1);
	/* Same role again is fine too. */
	assert_int_equal(berth_meta_member_set(f->m, "team", "alice", 4), 0);
	/* Membership is per project. */
	assert_int_equal(berth_meta_member_get(f->m, "other", "alice", &role), BERTH_ENOTFOUND);

	assert_int_equal(berth_meta_member_delete(f->m, "team", "alice"), 0);
	assert_int_equal(berth_meta_member_get(f->m, "team", "alice", &role), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_member_delete(f->m, "team", "alice"), BERTH_ENOTFOUND);
	/* The user and the project stay. */
	assert_int_equal(berth_meta_user_get(f->m, "alice", NULL), 0);
	assert_int_equal(berth_meta_project_get(f->m, "team", NULL), 0);
}

static void member_errors(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(berth_meta_project_create(f->m, "team", 0), 0);
	assert_int_equal(berth_meta_user_create(f->m, "alice", H, 0, NULL), 0);

	assert_int_equal(berth_meta_member_set(f->m, "nope", "alice", 1), BERTH_ENOTFOUND);
	assert_non_null(strstr(berth_error_last(), "project"));
	assert_int_equal(berth_meta_member_set(f->m, "team", "ghost", 1), BERTH_ENOTFOUND);
	assert_non_null(strstr(berth_error_last(), "user"));
	assert_null(strstr(berth_error_last(), "ghost"));
	assert_int_equal(berth_meta_member_set(f->m, "team", "alice", 0), BERTH_EINVALID);
	assert_int_equal(berth_meta_member_set(f->m, "team", "alice", 5), BERTH_EINVALID);
	assert_int_equal(berth_meta_member_set(f->m, "", "alice", 1), BERTH_EINVALID);
	assert_int_equal(berth_meta_member_delete(f->m, "nope", "alice"), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_member_delete(f->m, "team", "ghost"), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_members(f->m, "nope", member_cb, NULL), BERTH_ENOTFOUND);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM members"), 0);
}

static void members_list_in_user_order(void **state)
{
	meta_fixture *f = *state;
	seen s = {0}, e = {0}, one = {0};

	assert_int_equal(berth_meta_project_create(f->m, "team", 0), 0);
	assert_int_equal(berth_meta_project_create(f->m, "other", 0), 0);
	assert_int_equal(berth_meta_members(f->m, "team", member_cb, &e), 0);
	assert_int_equal(e.count, 0);
	assert_int_equal(berth_meta_user_create(f->m, "zoe", H, 0, NULL), 0);
	assert_int_equal(berth_meta_user_create(f->m, "alice", H, 0, NULL), 0);
	assert_int_equal(berth_meta_user_create(f->m, "mike", H, 0, NULL), 0);
	assert_int_equal(berth_meta_member_set(f->m, "team", "zoe", 1), 0);
	assert_int_equal(berth_meta_member_set(f->m, "team", "alice", 4), 0);
	assert_int_equal(berth_meta_member_set(f->m, "team", "mike", 3), 0);
	assert_int_equal(berth_meta_member_set(f->m, "other", "mike", 2), 0);
	assert_int_equal(berth_meta_members(f->m, "team", member_cb, &s), 0);
	assert_string_equal(s.text, "alice=4,mike=3,zoe=1");
	assert_int_equal(berth_meta_members(f->m, "team", stop_member_cb, &one), 0);
	assert_string_equal(one.text, "alice=4");
}

static void deleting_a_user_removes_their_memberships(void **state)
{
	meta_fixture *f = *state;
	seen s = {0};
	int role = 0;

	assert_int_equal(berth_meta_project_create(f->m, "a", 0), 0);
	assert_int_equal(berth_meta_project_create(f->m, "b", 1), 0);
	assert_int_equal(berth_meta_user_create(f->m, "alice", H, 0, NULL), 0);
	assert_int_equal(berth_meta_user_create(f->m, "bob", H, 0, NULL), 0);
	assert_int_equal(berth_meta_member_set(f->m, "a", "alice", 4), 0);
	assert_int_equal(berth_meta_member_set(f->m, "b", "alice", 1), 0);
	assert_int_equal(berth_meta_member_set(f->m, "a", "bob", 2), 0);

	assert_int_equal(berth_meta_user_delete(f->m, "alice"), 0);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM members"), 1);
	assert_int_equal(berth_meta_members(f->m, "a", member_cb, &s), 0);
	assert_string_equal(s.text, "bob=2");
	/* A new user of the same name is not a member of anything. */
	assert_int_equal(berth_meta_user_create(f->m, "alice", H, 0, NULL), 0);
	assert_int_equal(berth_meta_member_get(f->m, "a", "alice", &role), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_member_get(f->m, "b", "alice", &role), BERTH_ENOTFOUND);
	/* Projects stay. */
	assert_int_equal(berth_meta_project_get(f->m, "b", NULL), 0);
}

static void deleting_a_project_removes_its_memberships(void **state)
{
	meta_fixture *f = *state;
	berth_digest d = dg("layer");
	int role = 0;

	assert_int_equal(berth_meta_project_create(f->m, "a", 0), 0);
	assert_int_equal(berth_meta_project_create(f->m, "b", 0), 0);
	assert_int_equal(berth_meta_user_create(f->m, "alice", H, 0, NULL), 0);
	assert_int_equal(berth_meta_member_set(f->m, "a", "alice", 4), 0);
	assert_int_equal(berth_meta_member_set(f->m, "b", "alice", 3), 0);
	assert_int_equal(berth_meta_blob_link(f->m, "a/app", &d, 5), 0);

	assert_int_equal(berth_meta_project_delete(f->m, "a"), 0);
	assert_int_equal(meta_raw_int(f, "SELECT count(*) FROM members"), 1);
	assert_int_equal(berth_meta_member_get(f->m, "b", "alice", &role), 0);
	assert_int_equal(role, 3);
	/* Recreating the project starts with no members; the user and repositories stay. */
	assert_int_equal(berth_meta_project_create(f->m, "a", 0), 0);
	assert_int_equal(berth_meta_member_get(f->m, "a", "alice", &role), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_user_get(f->m, "alice", NULL), 0);
	assert_int_equal(berth_meta_blob_linked(f->m, "a/app", &d, NULL), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, meta_setup, meta_teardown)
	const struct CMUnitTest tests[] = {
		T(create_get_and_set_public),
		T(project_errors),
		T(projects_list_in_name_order_and_delete),
		T(members_set_get_replace_delete),
		T(member_errors),
		T(members_list_in_user_order),
		T(deleting_a_user_removes_their_memberships),
		T(deleting_a_project_removes_its_memberships),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
