/*
 * lazy_mhd.c - the libmicrohttpd functions berth calls, loading it (and
 * gnutls behind it) at first use (util/lazy.h): only `berth serve` and the
 * tests' fake registries run an HTTP server.
 */
#include "util/lazy.h"

#include <microhttpd.h>
#include <stdarg.h>

berth_lazy_lib berth_lazy_mhd = BERTH_LAZY_LIB(BERTH_SONAME_MICROHTTPD, "libmicrohttpd12");

BERTH_LAZY_FN(berth_lazy_mhd, enum MHD_Result, MHD_add_response_header,
	      (struct MHD_Response * a0, const char *a1, const char *a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_mhd, struct MHD_Response *, MHD_create_response_from_buffer,
	      (size_t a0, void *a1, enum MHD_ResponseMemoryMode a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_mhd, struct MHD_Response *,
	      MHD_create_response_from_buffer_with_free_callback_cls,
	      (size_t a0, void *a1, MHD_ContentReaderFreeCallback a2, void *a3), (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_mhd, struct MHD_Response *, MHD_create_response_from_callback,
	      (uint64_t a0, size_t a1, MHD_ContentReaderCallback a2, void *a3,
	       MHD_ContentReaderFreeCallback a4),
	      (a0, a1, a2, a3, a4))
BERTH_LAZY_FN(berth_lazy_mhd, struct MHD_Response *, MHD_create_response_from_fd_at_offset64,
	      (uint64_t a0, int a1, uint64_t a2), (a0, a1, a2))
BERTH_LAZY_VOID(berth_lazy_mhd, MHD_destroy_response, (struct MHD_Response * a0), (a0))
BERTH_LAZY_FN(berth_lazy_mhd, int, MHD_get_connection_values,
	      (struct MHD_Connection * a0, enum MHD_ValueKind a1, MHD_KeyValueIterator a2,
	       void *a3),
	      (a0, a1, a2, a3))
BERTH_LAZY_FN(berth_lazy_mhd, const char *, MHD_get_version, (void), ())
BERTH_LAZY_FN(berth_lazy_mhd, enum MHD_Result, MHD_is_feature_supported, (enum MHD_FEATURE a0),
	      (a0))
BERTH_LAZY_FN(berth_lazy_mhd, const char *, MHD_lookup_connection_value,
	      (struct MHD_Connection * a0, enum MHD_ValueKind a1, const char *a2), (a0, a1, a2))
BERTH_LAZY_FN(berth_lazy_mhd, enum MHD_Result, MHD_queue_response,
	      (struct MHD_Connection * a0, unsigned int a1, struct MHD_Response *a2), (a0, a1, a2))
BERTH_LAZY_VOID(berth_lazy_mhd, MHD_stop_daemon, (struct MHD_Daemon * a0), (a0))

/* The options list goes through the va_list form of the same call. */
struct MHD_Daemon *(MHD_start_daemon)(unsigned int flags, uint16_t port,
				      MHD_AcceptPolicyCallback apc, void *apc_cls,
				      MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	static berth_lazy_slot slot;
	__typeof__(MHD_start_daemon_va) *f = (__typeof__(MHD_start_daemon_va) *)berth_lazy_cached(
		&slot, &berth_lazy_mhd, "MHD_start_daemon_va");
	struct MHD_Daemon *d;
	va_list ap;

	va_start(ap, dh_cls);
	d = f(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

/* berth asks only for the kinds of information that take no argument. */
const union MHD_ConnectionInfo *(MHD_get_connection_info)(struct MHD_Connection *c,
							  enum MHD_ConnectionInfoType t, ...)
{
	static berth_lazy_slot slot;
	__typeof__(MHD_get_connection_info) *f =
		(__typeof__(MHD_get_connection_info) *)berth_lazy_cached(&slot, &berth_lazy_mhd,
									 "MHD_get_connection_info");

	return f(c, t);
}
