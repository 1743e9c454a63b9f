/*
 * lazy_jansson.c - the jansson functions berth calls, loading libjansson at
 * first use (util/lazy.h): text output of `berth lint` and `berth
 * dockerfile parse` builds no JSON. json_decref and json_incref are inline
 * functions of the header that call json_delete.
 */
#include "util/lazy.h"

#include <jansson.h>
#include <stdarg.h>

berth_lazy_lib berth_lazy_jansson = BERTH_LAZY_LIB(BERTH_SONAME_JANSSON, "libjansson4");

BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_array, (void), ())
BERTH_LAZY_FN(berth_lazy_jansson, int, json_array_append_new, (json_t * a0, json_t *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_array_get, (const json_t *a0, size_t a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_jansson, int, json_array_set_new, (json_t * a0, size_t a1, json_t *a2),
	      (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_jansson, size_t, json_array_size, (const json_t *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_deep_copy, (const json_t *a0), (a0))
BERTH_LAZY_VOID(berth_lazy_jansson, json_delete, (json_t * a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, char *, json_dumps, (const json_t *a0, size_t a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_jansson, int, json_equal, (const json_t *a0, const json_t *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_false, (void), ())
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_integer, (json_int_t a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, json_int_t, json_integer_value, (const json_t *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, double, json_real_value, (const json_t *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_load_file,
	      (const char *a0, size_t a1, json_error_t *a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_loadb,
	      (const char *a0, size_t a1, size_t a2, json_error_t *a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_loads,
	      (const char *a0, size_t a1, json_error_t *a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_null, (void), ())
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_object, (void), ())
BERTH_LAZY_FN(berth_lazy_jansson, int, json_object_del, (json_t * a0, const char *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_object_get, (const json_t *a0, const char *a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_jansson, void *, json_object_iter, (json_t * a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, void *, json_object_iter_at, (json_t * a0, const char *a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_jansson, const char *, json_object_iter_key, (void *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, void *, json_object_iter_next, (json_t * a0, void *a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_object_iter_value, (void *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, void *, json_object_key_to_iter, (const char *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, int, json_object_set_new,
	      (json_t * a0, const char *a1, json_t *a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_jansson, size_t, json_object_size, (const json_t *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_real, (double a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_string, (const char *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, size_t, json_string_length, (const json_t *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, const char *, json_string_value, (const json_t *a0), (a0))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_stringn, (const char *a0, size_t a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_jansson, json_t *, json_true, (void), ())

BERTH_LAZY_FN(berth_lazy_jansson, int, json_object_update, (json_t * a0, json_t *a1), (a0, a1))
/* The variadic ones go through their va_list forms. */
json_t *(json_pack)(const char *fmt, ...)
{
	static berth_lazy_slot slot;
	__typeof__(json_vpack_ex) *f = (__typeof__(json_vpack_ex) *)berth_lazy_cached(
		&slot, &berth_lazy_jansson, "json_vpack_ex");
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	j = f(NULL, 0, fmt, ap);
	va_end(ap);
	return j;
}

json_t *(json_sprintf)(const char *fmt, ...)
{
	static berth_lazy_slot slot;
	__typeof__(json_vsprintf) *f = (__typeof__(json_vsprintf) *)berth_lazy_cached(
		&slot, &berth_lazy_jansson, "json_vsprintf");
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	j = f(fmt, ap);
	va_end(ap);
	return j;
}

int(json_unpack)(json_t *root, const char *fmt, ...)
{
	static berth_lazy_slot slot;
	__typeof__(json_vunpack_ex) *f = (__typeof__(json_vunpack_ex) *)berth_lazy_cached(
		&slot, &berth_lazy_jansson, "json_vunpack_ex");
	int rc;
	va_list ap;

	va_start(ap, fmt);
	rc = f(root, NULL, 0, fmt, ap);
	va_end(ap);
	return rc;
}
