/*
 * berth/common.h - error codes and the thread-local error slot shared by
 * every module of libberth.
 *
 * Fallible functions return 0 or one of the negative BERTH_E* codes below.
 * The human-readable message is set once, where the failure is found, with
 * berth_error_set(), and passed up unchanged; callers read it with
 * berth_error_last(). Messages never contain secrets.
 */
#ifndef BERTH_COMMON_H
#define BERTH_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define BERTH_WARN_UNUSED __attribute__((warn_unused_result))
#define BERTH_PRINTF(a, b) __attribute__((format(printf, a, b)))

typedef enum {
	BERTH_OK = 0,
	BERTH_ERROR = -1,	  /* generic failure (I/O, OOM, internal) */
	BERTH_ENOTFOUND = -2,	  /* the object does not exist */
	BERTH_EINVALID = -3,	  /* malformed input (grammar, JSON, schema) */
	BERTH_EDIGEST = -4,	  /* content does not match its digest */
	BERTH_EDENIED = -5,	  /* not allowed */
	BERTH_EEXISTS = -6,	  /* already exists */
	BERTH_ETOOBIG = -7,	  /* input exceeds a size cap */
	BERTH_ERANGE = -8,	  /* offset/range not satisfiable or out of order */
	BERTH_EBUSY = -9,	  /* resource held by someone else; retry later */
	BERTH_EUNSUPPORTED = -10, /* valid but not supported (algorithm, media type) */
	BERTH_ESIZE = -11,	  /* declared size does not match actual size */
	BERTH_EIO = -12,	  /* storage or network I/O failure */
	BERTH_ENOSPC = -13	  /* a registry is out of space or over its quota (507, ...) */
} berth_error_code;

/** Set the thread's last error; returns `code` so callers can `return berth_error_set(...)`. */
int berth_error_set(int code, const char *fmt, ...) BERTH_PRINTF(2, 3);

/** Set the last error from errno: "<what>: strerror(errno)". Returns BERTH_EIO or BERTH_ENOTFOUND.
 */
int berth_error_set_errno(const char *fmt, ...) BERTH_PRINTF(1, 2);
/**
 * The English text of errno value `e`, untranslated: it takes no locale
 * lock (unlike strerror), so a child forked from a threaded process may
 * call it, and berth_error_set_errno, before it execs.
 */
const char *berth_errno_text(int e);

/** The thread's last error message ("" if none). Borrowed; valid until the next set. */
const char *berth_error_last(void);

/** The code recorded with the last message (0 if none). */
int berth_error_last_code(void);

/** Clear the thread's error slot. */
void berth_error_clear(void);

/** Short constant name of a code, e.g. "ENOTFOUND". */
const char *berth_error_name(int code);

#endif
