/*
 * lazy_sqlite.c - the SQLite functions berth calls, loading libsqlite3 at
 * first use (util/lazy.h): only the commands that open the metadata store
 * or a vulnerability database need it.
 */
#include "util/lazy.h"

#include <sqlite3.h>
#include <stdarg.h>

berth_lazy_lib berth_lazy_sqlite = BERTH_LAZY_LIB(BERTH_SONAME_SQLITE3, "libsqlite3-0");

BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_bind_blob64,
	      (sqlite3_stmt * a0, int a1, const void *a2, sqlite3_uint64 a3, void (*a4)(void *)),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_bind_double, (sqlite3_stmt * a0, int a1, double a2),
	      (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_bind_int, (sqlite3_stmt * a0, int a1, int a2),
	      (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_bind_int64,
	      (sqlite3_stmt * a0, int a1, sqlite3_int64 a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_bind_null, (sqlite3_stmt * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_bind_text,
	      (sqlite3_stmt * a0, int a1, const char *a2, int a3, void (*a4)(void *)),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_bind_zeroblob, (sqlite3_stmt * a0, int a1, int a2),
	      (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_busy_timeout, (sqlite3 * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_changes, (sqlite3 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_clear_bindings, (sqlite3_stmt * a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_close, (sqlite3 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_close_v2, (sqlite3 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, const void *, sqlite3_column_blob, (sqlite3_stmt * a0, int a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_column_bytes, (sqlite3_stmt * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_sqlite, double, sqlite3_column_double, (sqlite3_stmt * a0, int a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_column_int, (sqlite3_stmt * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_sqlite, sqlite3_int64, sqlite3_column_int64, (sqlite3_stmt * a0, int a1),
	      (a0, a1))
BERTH_LAZY_FN(berth_lazy_sqlite, const unsigned char *, sqlite3_column_text,
	      (sqlite3_stmt * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_column_type, (sqlite3_stmt * a0, int a1), (a0, a1))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_deserialize,
	      (sqlite3 * a0, const char *a1, unsigned char *a2, sqlite3_int64 a3, sqlite3_int64 a4,
	       unsigned int a5),
	      (a0, a1, a2, a3, a4, a5))
BERTH_LAZY_FN(berth_lazy_sqlite, const char *, sqlite3_errmsg, (sqlite3 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, const char *, sqlite3_errstr, (int a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_exec,
	      (sqlite3 * a0, const char *a1, int (*a2)(void *, int, char **, char **), void *a3,
	       char **a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_finalize, (sqlite3_stmt * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_sqlite, sqlite3_free, (void *a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_get_autocommit, (sqlite3 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, sqlite3_int64, sqlite3_last_insert_rowid, (sqlite3 * a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, const char *, sqlite3_libversion, (void), ())
BERTH_LAZY_FN(berth_lazy_sqlite, void *, sqlite3_malloc64, (sqlite3_uint64 a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_open_v2,
	      (const char *a0, sqlite3 **a1, int a2, const char *a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_prepare_v2,
	      (sqlite3 * a0, const char *a1, int a2, sqlite3_stmt **a3, const char **a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_prepare_v3,
	      (sqlite3 * a0, const char *a1, int a2, unsigned int a3, sqlite3_stmt **a4,
	       const char **a5),
	      (a0, a1, a2, a3, a4, a5))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_reset, (sqlite3_stmt * a0), (a0))
BERTH_LAZY_FN(berth_lazy_sqlite, int, sqlite3_step, (sqlite3_stmt * a0), (a0))

/* The format's arguments go through the va_list form of the same call. */
char *(sqlite3_mprintf)(const char *fmt, ...)
{
	static berth_lazy_slot slot;
	__typeof__(sqlite3_vmprintf) *f = (__typeof__(sqlite3_vmprintf) *)berth_lazy_cached(
		&slot, &berth_lazy_sqlite, "sqlite3_vmprintf");
	char *s;
	va_list ap;

	va_start(ap, fmt);
	s = f(fmt, ap);
	va_end(ap);
	return s;
}
