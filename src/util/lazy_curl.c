/*
 * lazy_curl.c - the libcurl functions berth calls, loading libcurl at first
 * use (util/lazy.h): most commands never open a connection.
 */
#define CURL_DISABLE_TYPECHECK 1
#include "util/lazy.h"

#include <curl/curl.h>
#include <stdarg.h>

berth_lazy_lib berth_lazy_curl = BERTH_LAZY_LIB(BERTH_SONAME_CURL, "libcurl4");

BERTH_LAZY_VOID(berth_lazy_curl, curl_easy_cleanup, (CURL * a0), (a0))
BERTH_LAZY_FN(berth_lazy_curl, char *, curl_easy_escape, (CURL * a0, const char *a1, int a2),
	      (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_curl, CURL *, curl_easy_init, (void), ())
BERTH_LAZY_FN(berth_lazy_curl, CURLcode, curl_easy_perform, (CURL * a0), (a0))
BERTH_LAZY_VOID(berth_lazy_curl, curl_easy_reset, (CURL * a0), (a0))
BERTH_LAZY_FN(berth_lazy_curl, const char *, curl_easy_strerror, (CURLcode a0), (a0))
BERTH_LAZY_VOID(berth_lazy_curl, curl_free, (void *a0), (a0))
BERTH_LAZY_FN(berth_lazy_curl, CURLcode, curl_global_init, (long a0), (a0))
BERTH_LAZY_FN(berth_lazy_curl, CURLSHcode, curl_share_cleanup, (CURLSH * a0), (a0))
BERTH_LAZY_FN(berth_lazy_curl, CURLSH *, curl_share_init, (void), ())
BERTH_LAZY_FN(berth_lazy_curl, struct curl_slist *, curl_slist_append,
	      (struct curl_slist * a0, const char *a1), (a0, a1))
BERTH_LAZY_VOID(berth_lazy_curl, curl_slist_free_all, (struct curl_slist * a0), (a0))
BERTH_LAZY_FN(berth_lazy_curl, CURLU *, curl_url, (void), ())
BERTH_LAZY_VOID(berth_lazy_curl, curl_url_cleanup, (CURLU * a0), (a0))
BERTH_LAZY_FN(berth_lazy_curl, CURLUcode, curl_url_get,
	      (CURLU * a0, CURLUPart a1, char **a2, unsigned int a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_curl, CURLUcode, curl_url_set,
	      (CURLU * a0, CURLUPart a1, const char *a2, unsigned int a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_curl, curl_version_info_data *, curl_version_info, (CURLversion a0), (a0))

/* The variadic ones: the one argument, read with the type the option takes. */
CURLcode(curl_easy_setopt)(CURL *h, CURLoption o, ...)
{
	static berth_lazy_slot slot;
	__typeof__(curl_easy_setopt) *f = (__typeof__(curl_easy_setopt) *)berth_lazy_cached(
		&slot, &berth_lazy_curl, "curl_easy_setopt");
	CURLcode rc;
	va_list ap;

	va_start(ap, o);
	if (o < CURLOPTTYPE_OBJECTPOINT)
		rc = f(h, o, va_arg(ap, long));
	else if (o >= CURLOPTTYPE_OFF_T && o < CURLOPTTYPE_BLOB)
		rc = f(h, o, va_arg(ap, curl_off_t));
	else
		rc = f(h, o,
		       va_arg(ap, void *)); /* data, string, list, function and blob pointers */
	va_end(ap);
	return rc;
}

CURLcode(curl_easy_getinfo)(CURL *h, CURLINFO i, ...)
{
	static berth_lazy_slot slot;
	__typeof__(curl_easy_getinfo) *f = (__typeof__(curl_easy_getinfo) *)berth_lazy_cached(
		&slot, &berth_lazy_curl, "curl_easy_getinfo");
	CURLcode rc;
	va_list ap;

	va_start(ap, i);
	rc = f(h, i, va_arg(ap, void *)); /* always a pointer to the result */
	va_end(ap);
	return rc;
}

CURLSHcode(curl_share_setopt)(CURLSH *s, CURLSHoption o, ...)
{
	static berth_lazy_slot slot;
	__typeof__(curl_share_setopt) *f = (__typeof__(curl_share_setopt) *)berth_lazy_cached(
		&slot, &berth_lazy_curl, "curl_share_setopt");
	CURLSHcode rc;
	va_list ap;

	va_start(ap, o);
	if (o == CURLSHOPT_SHARE || o == CURLSHOPT_UNSHARE)
		rc = f(s, o, va_arg(ap, int)); /* a curl_lock_data */
	else
		rc = f(s, o, va_arg(ap, void *)); /* lock functions, user data */
	va_end(ap);
	return rc;
}
