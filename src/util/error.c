/*
 * error.c - the thread-local error slot (see include/berth/common.h).
 */
#include "berth/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_msg[512];
static _Thread_local int last_code;

int berth_error_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	last_code = code;
	return code;
}

const char *berth_errno_text(int e)
{
	/* Not strerror: its translation lookup takes glibc's locale lock, which
	 * another thread may hold at a fork (a RUN child then hung forever). */
	const char *t = strerrordesc_np(e);

	return t ? t : "unknown error";
}

int berth_error_set_errno(const char *fmt, ...)
{
	int saved = errno;
	char what[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	last_code = saved == ENOENT ? BERTH_ENOTFOUND : BERTH_EIO;
	snprintf(last_msg, sizeof(last_msg), "%s: %s", what, berth_errno_text(saved));
	errno = saved;
	return last_code;
}

const char *berth_error_last(void)
{
	return last_msg;
}

int berth_error_last_code(void)
{
	return last_code;
}

void berth_error_clear(void)
{
	last_msg[0] = '\0';
	last_code = 0;
}

const char *berth_error_name(int code)
{
	switch (code) {
	case BERTH_OK: return "OK";
	case BERTH_ERROR: return "ERROR";
	case BERTH_ENOTFOUND: return "ENOTFOUND";
	case BERTH_EINVALID: return "EINVALID";
	case BERTH_EDIGEST: return "EDIGEST";
	case BERTH_EDENIED: return "EDENIED";
	case BERTH_EEXISTS: return "EEXISTS";
	case BERTH_ETOOBIG: return "ETOOBIG";
	case BERTH_ERANGE: return "ERANGE";
	case BERTH_EBUSY: return "EBUSY";
	case BERTH_EUNSUPPORTED: return "EUNSUPPORTED";
	case BERTH_ESIZE: return "ESIZE";
	case BERTH_EIO: return "EIO";
	case BERTH_ENOSPC: return "ENOSPC";
	}
	return "EUNKNOWN";
}
