/*
 * users.c - user accounts in the metadata store: create, look up by name and
 * id, change the password hash, delete, list in name order; EEXISTS for a
 * taken name, ENOTFOUND for an absent one, EINVALID past the caps, and no
 * name or hash ever in an error message.
 */
#include "meta_test.h"

#include <time.h>

#define H1 "$2y$05$abcdefghijklmnopqrstuuBdRmXpdMnQk1Zbbf7ZcBn9XcPBG5FDy"
#define H2 "$2y$05$zyxwvutsrqponmlkjihgfeQW4n2Bn6GS1l9w0mOb1u0iJ6dNSnM7e"

static void create_then_get_by_name_and_id(void **state)
{
	meta_fixture *f = *state;
	berth_meta_user u, v;
	int64_t id = 0, id2 = 0;
	time_t before = time(NULL);

	assert_int_equal(berth_meta_user_create(f->m, "alice", H1, 0, &id), 0);
	assert_true(id > 0);
	assert_int_equal(berth_meta_user_create(f->m, "root", H2, 1, &id2), 0);
	assert_true(id2 != id);

	assert_int_equal(berth_meta_user_get(f->m, "alice", &u), 0);
	assert_int_equal(u.id, id);
	assert_string_equal(u.name, "alice");
	assert_string_equal(u.password_hash, H1);
	assert_int_equal(u.sysadmin, 0);
	assert_true(u.created >= before && u.created <= time(NULL));

	assert_int_equal(berth_meta_user_get_by_id(f->m, id2, &v), 0);
	assert_string_equal(v.name, "root");
	assert_string_equal(v.password_hash, H2);
	assert_int_equal(v.sysadmin, 1);

	/* Existence check without a result struct. */
	assert_int_equal(berth_meta_user_get(f->m, "root", NULL), 0);
}

static void taken_name_is_eexists(void **state)
{
	meta_fixture *f = *state;
	berth_meta_user u;

	assert_int_equal(berth_meta_user_create(f->m, "alice", H1, 0, NULL), 0);
	assert_int_equal(berth_meta_user_create(f->m, "alice", H2, 1, NULL), BERTH_EEXISTS);
	assert_null(strstr(berth_error_last(), "alice"));
	assert_null(strstr(berth_error_last(), "$2y$"));
	/* The first account is untouched. */
	assert_int_equal(berth_meta_user_get(f->m, "alice", &u), 0);
	assert_string_equal(u.password_hash, H1);
	assert_int_equal(u.sysadmin, 0);
	/* Names are unique ignoring case: "Alice" next to "alice" would confuse. */
	assert_int_equal(berth_meta_user_create(f->m, "Alice", H1, 0, NULL), BERTH_EEXISTS);
}

static void absent_user_is_enotfound(void **state)
{
	meta_fixture *f = *state;
	berth_meta_user u;

	assert_int_equal(berth_meta_user_get(f->m, "ghost", &u), BERTH_ENOTFOUND);
	assert_null(strstr(berth_error_last(), "ghost"));
	assert_int_equal(berth_meta_user_get_by_id(f->m, 12345, &u), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_user_set_password(f->m, "ghost", H2), BERTH_ENOTFOUND);
	assert_null(strstr(berth_error_last(), "$2y$"));
	assert_int_equal(berth_meta_user_delete(f->m, "ghost"), BERTH_ENOTFOUND);
}

static void set_password_replaces_the_hash(void **state)
{
	meta_fixture *f = *state;
	berth_meta_user u;

	assert_int_equal(berth_meta_user_create(f->m, "alice", H1, 0, NULL), 0);
	assert_int_equal(berth_meta_user_create(f->m, "bob", H1, 0, NULL), 0);
	assert_int_equal(berth_meta_user_set_password(f->m, "alice", H2), 0);
	assert_int_equal(berth_meta_user_get(f->m, "alice", &u), 0);
	assert_string_equal(u.password_hash, H2);
	/* Only that user. */
	assert_int_equal(berth_meta_user_get(f->m, "bob", &u), 0);
	assert_string_equal(u.password_hash, H1);
}

static void delete_removes_only_that_user(void **state)
{
	meta_fixture *f = *state;
	int64_t id = 0;

	assert_int_equal(berth_meta_user_create(f->m, "alice", H1, 0, &id), 0);
	assert_int_equal(berth_meta_user_create(f->m, "bob", H1, 0, NULL), 0);
	assert_int_equal(berth_meta_user_delete(f->m, "alice"), 0);
	assert_int_equal(berth_meta_user_get(f->m, "alice", NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_user_get_by_id(f->m, id, NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_user_get(f->m, "bob", NULL), 0);
	assert_int_equal(berth_meta_user_delete(f->m, "alice"), BERTH_ENOTFOUND);
	/* The name is free again. */
	assert_int_equal(berth_meta_user_create(f->m, "alice", H2, 0, NULL), 0);
}

typedef struct user_seen {
	char text[1024];
	int count;
	int stop_after;
} user_seen;

static int user_cb(void *ctx, const berth_meta_user *u)
{
	user_seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s:%d:%s", s->count ? "," : "", u->name,
		 u->sysadmin, strcmp(u->password_hash, H1) == 0 ? "h1" : "h2");
	s->count++;
	if (s->stop_after && s->count == s->stop_after)
		return 1;
	return 0;
}

static int failing_user_cb(void *ctx, const berth_meta_user *u)
{
	(void)ctx;
	(void)u;
	return BERTH_EDENIED;
}

static void users_list_in_name_order(void **state)
{
	meta_fixture *f = *state;
	user_seen all = {0}, two = {.stop_after = 2};

	assert_int_equal(berth_meta_users(f->m, user_cb, &all), 0);
	assert_int_equal(all.count, 0);
	assert_int_equal(berth_meta_user_create(f->m, "mallory", H2, 0, NULL), 0);
	assert_int_equal(berth_meta_user_create(f->m, "admin", H1, 1, NULL), 0);
	assert_int_equal(berth_meta_user_create(f->m, "bob", H1, 0, NULL), 0);
	assert_int_equal(berth_meta_users(f->m, user_cb, &all), 0);
	assert_string_equal(all.text, "admin:1:h1,bob:0:h1,mallory:0:h2");
	/* A positive return stops with success, a negative one is the result. */
	assert_int_equal(berth_meta_users(f->m, user_cb, &two), 0);
	assert_string_equal(two.text, "admin:1:h1,bob:0:h1");
	assert_int_equal(berth_meta_users(f->m, failing_user_cb, NULL), BERTH_EDENIED);
}

static void caps_are_enforced(void **state)
{
	meta_fixture *f = *state;
	char name[300], hash[200];

	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	memset(hash, 'h', sizeof(hash) - 1);
	hash[sizeof(hash) - 1] = '\0';
	assert_int_equal(berth_meta_user_create(f->m, "", H1, 0, NULL), BERTH_EINVALID);
	assert_int_equal(berth_meta_user_create(f->m, NULL, H1, 0, NULL), BERTH_EINVALID);
	assert_int_equal(berth_meta_user_create(f->m, "alice", "", 0, NULL), BERTH_EINVALID);
	assert_int_equal(berth_meta_user_create(f->m, name, H1, 0, NULL), BERTH_EINVALID);
	assert_int_equal(berth_meta_user_create(f->m, "alice", hash, 0, NULL), BERTH_EINVALID);
	assert_null(strstr(berth_error_last(), "hhhh"));
	/* The largest accepted sizes round-trip whole. */
	name[255] = '\0';
	hash[127] = '\0';
	assert_int_equal(berth_meta_user_create(f->m, name, hash, 0, NULL), 0);
	{
		berth_meta_user u;

		assert_int_equal(berth_meta_user_get(f->m, name, &u), 0);
		assert_string_equal(u.name, name);
		assert_string_equal(u.password_hash, hash);
	}
	assert_int_equal(berth_meta_user_get(f->m, "", NULL), BERTH_EINVALID);
	assert_int_equal(berth_meta_user_set_password(f->m, name, hash), 0);
	hash[127] = 'h';
	assert_int_equal(berth_meta_user_set_password(f->m, "alice", hash), BERTH_EINVALID);
}

static void names_with_sql_characters_are_data(void **state)
{
	meta_fixture *f = *state;
	const char *evil = "x'); DROP TABLE users; --";
	berth_meta_user u;

	assert_int_equal(berth_meta_user_create(f->m, evil, H1, 0, NULL), 0);
	assert_int_equal(berth_meta_user_get(f->m, evil, &u), 0);
	assert_string_equal(u.name, evil);
	assert_int_equal(berth_meta_user_create(f->m, "plain", H1, 0, NULL), 0);
	assert_int_equal(berth_meta_user_delete(f->m, evil), 0);
	assert_int_equal(berth_meta_user_get(f->m, "plain", NULL), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, meta_setup, meta_teardown)
	const struct CMUnitTest tests[] = {
		T(create_then_get_by_name_and_id),
		T(taken_name_is_eexists),
		T(absent_user_is_enotfound),
		T(set_password_replaces_the_hash),
		T(delete_removes_only_that_user),
		T(users_list_in_name_order),
		T(caps_are_enforced),
		T(names_with_sql_characters_are_data),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
