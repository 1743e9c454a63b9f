/*
 * array.c - util/array: room is made by doubling from 16, the pointer is
 * kept while there is room, contents survive a move, and an impossible size
 * fails without touching the array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/array.h"

static void grows_by_doubling_and_keeps_contents(void **state)
{
	int *v = NULL;
	size_t n = 0, cap = 0;

	(void)state;
	for (int i = 0; i < 100; i++) {
		int *p = berth_array_room(v, n, &cap, sizeof(*p));

		assert_non_null(p);
		if (n < 16)
			assert_int_equal(cap, 16);
		v = p;
		v[n++] = i;
	}
	assert_int_equal(cap, 128);
	for (int i = 0; i < 100; i++)
		assert_int_equal(v[i], i);
	free(v);
}

static void room_left_keeps_the_pointer(void **state)
{
	size_t cap = 0;
	char *v = berth_array_room(NULL, 0, &cap, 1);

	(void)state;
	assert_non_null(v);
	assert_ptr_equal(berth_array_room(v, 15, &cap, 1), v);
	assert_int_equal(cap, 16);
	free(v);
}

static void overflow_fails_untouched(void **state)
{
	size_t cap = 16;
	char *v = malloc(16);

	(void)state;
	assert_null(berth_array_room(v, 16, &cap, SIZE_MAX / 8));
	assert_int_equal(cap, 16);
	free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grows_by_doubling_and_keeps_contents),
		cmocka_unit_test(room_left_keeps_the_pointer),
		cmocka_unit_test(overflow_fails_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
