/*
 * robots.c - robot accounts: create, get (permissions text appended to the
 * caller's capped buffer, byte for byte), delete, list in name order;
 * EEXISTS/ENOTFOUND/EINVALID/ETOOBIG as documented.
 */
#include "meta_test.h"

#include <time.h>

#define SH "$2y$05$secrethashsecrethashsecrOeWZ8w0Qd4lVq5i6u9e3Fk8a2TQ9Xm"
#define PERMS                                                                                      \
	"[{\"project\":\"team\",\"repository\":\"app\",\"actions\":[\"pull\",\"push\"]},"          \
	"{\"project\":\"library\",\"actions\":[\"pull\"]},{\"note\":\"é ✓ \\u0000 '\\\"\"}]"

static void create_and_get_round_trips_permissions(void **state)
{
	meta_fixture *f = *state;
	berth_buf perms = BERTH_BUF_INIT(1 << 16);
	berth_meta_robot r;
	time_t before = time(NULL);

	assert_int_equal(berth_meta_robot_create(f->m, "ci", SH, 1900000000, PERMS), 0);
	assert_int_equal(berth_buf_puts(&perms, "prefix:"), 0);
	assert_int_equal(berth_meta_robot_get(f->m, "ci", &r, &perms), 0);
	assert_true(r.id > 0);
	assert_string_equal(r.name, "ci");
	assert_string_equal(r.secret_hash, SH);
	assert_int_equal(r.expires, 1900000000);
	assert_true(r.created >= before && r.created <= time(NULL));
	/* Appended after what the buffer held, and pointing at it. */
	assert_string_equal(r.permissions, PERMS);
	assert_ptr_equal(r.permissions, perms.ptr + strlen("prefix:"));
	assert_memory_equal(perms.ptr, "prefix:", 7);
	assert_int_equal(perms.len, 7 + strlen(PERMS));
	berth_buf_dispose(&perms);

	/* Without a buffer: no permissions pointer; without a struct: existence. */
	assert_int_equal(berth_meta_robot_get(f->m, "ci", &r, NULL), 0);
	assert_null(r.permissions);
	assert_int_equal(berth_meta_robot_get(f->m, "ci", NULL, NULL), 0);
}

static void never_expiring_robot(void **state)
{
	meta_fixture *f = *state;
	berth_buf perms = BERTH_BUF_INIT(1024);
	berth_meta_robot r;

	assert_int_equal(berth_meta_robot_create(f->m, "forever", SH, 0, "[]"), 0);
	assert_int_equal(berth_meta_robot_get(f->m, "forever", &r, &perms), 0);
	assert_int_equal(r.expires, 0);
	assert_string_equal(r.permissions, "[]");
	berth_buf_dispose(&perms);
	assert_int_equal(berth_meta_robot_create(f->m, "past", SH, -1, "[]"), BERTH_EINVALID);
}

static void permissions_past_the_buffer_cap_are_etoobig(void **state)
{
	meta_fixture *f = *state;
	berth_buf small = BERTH_BUF_INIT(8);
	berth_meta_robot r;

	assert_int_equal(berth_meta_robot_create(f->m, "ci", SH, 0, PERMS), 0);
	assert_int_equal(berth_meta_robot_get(f->m, "ci", &r, &small), BERTH_ETOOBIG);
	assert_int_equal(small.len, 0);
	berth_buf_dispose(&small);
}

static void robot_errors(void **state)
{
	meta_fixture *f = *state;
	char *huge = malloc((64u << 10) + 2);

	assert_non_null(huge);
	assert_int_equal(berth_meta_robot_create(f->m, "ci", SH, 0, "[]"), 0);
	assert_int_equal(berth_meta_robot_create(f->m, "ci", "$2y$other", 0, "[]"), BERTH_EEXISTS);
	assert_null(strstr(berth_error_last(), "$2y$"));
	assert_null(strstr(berth_error_last(), "ci"));
	assert_int_equal(berth_meta_robot_get(f->m, "cd", NULL, NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_robot_delete(f->m, "cd"), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_robot_create(f->m, "", SH, 0, "[]"), BERTH_EINVALID);
	assert_int_equal(berth_meta_robot_create(f->m, "x", "", 0, "[]"), BERTH_EINVALID);
	assert_int_equal(berth_meta_robot_create(f->m, "x", SH, 0, NULL), BERTH_EINVALID);
	memset(huge, '[', (64u << 10) + 1);
	huge[(64u << 10) + 1] = '\0';
	assert_int_equal(berth_meta_robot_create(f->m, "x", SH, 0, huge), BERTH_EINVALID);
	huge[64u << 10] = '\0';
	assert_int_equal(berth_meta_robot_create(f->m, "x", SH, 0, huge), 0);
	free(huge);
}

static void delete_removes_only_that_robot(void **state)
{
	meta_fixture *f = *state;

	assert_int_equal(berth_meta_robot_create(f->m, "ci", SH, 0, "[]"), 0);
	assert_int_equal(berth_meta_robot_create(f->m, "cd", SH, 0, "[]"), 0);
	assert_int_equal(berth_meta_robot_delete(f->m, "ci"), 0);
	assert_int_equal(berth_meta_robot_get(f->m, "ci", NULL, NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_meta_robot_get(f->m, "cd", NULL, NULL), 0);
	assert_int_equal(berth_meta_robot_delete(f->m, "ci"), BERTH_ENOTFOUND);
}

typedef struct seen {
	char text[2048];
	int count;
} seen;

static int robot_cb(void *ctx, const berth_meta_robot *r)
{
	seen *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof(s->text) - len, "%s%s|%lld|%s", s->count ? "," : "", r->name,
		 (long long)r->expires, r->permissions);
	s->count++;
	return 0;
}

static int failing_robot_cb(void *ctx, const berth_meta_robot *r)
{
	(void)ctx;
	(void)r;
	return BERTH_EIO;
}

static void robots_list_in_name_order(void **state)
{
	meta_fixture *f = *state;
	seen s = {0};

	assert_int_equal(berth_meta_robots(f->m, robot_cb, &s), 0);
	assert_int_equal(s.count, 0);
	assert_int_equal(berth_meta_robot_create(f->m, "scanner", SH, 5, "[\"s\"]"), 0);
	assert_int_equal(berth_meta_robot_create(f->m, "ci", SH, 0, PERMS), 0);
	assert_int_equal(berth_meta_robots(f->m, robot_cb, &s), 0);
	assert_string_equal(s.text, "ci|0|" PERMS ",scanner|5|[\"s\"]");
	assert_int_equal(berth_meta_robots(f->m, failing_robot_cb, NULL), BERTH_EIO);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, meta_setup, meta_teardown)
	const struct CMUnitTest tests[] = {
		T(create_and_get_round_trips_permissions),
		T(never_expiring_robot),
		T(permissions_past_the_buffer_cap_are_etoobig),
		T(robot_errors),
		T(delete_removes_only_that_robot),
		T(robots_list_in_name_order),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
