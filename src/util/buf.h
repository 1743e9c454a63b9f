/*
 * buf.h - the growable capped buffer (public: berth/buf.h) and the helpers
 * over it that stay inside libberth.
 */
#ifndef BERTH_UTIL_BUF_H
#define BERTH_UTIL_BUF_H

#include "berth/buf.h"

/**
 * Append an OCI error body {"errors":[{"code":..,"message":..,"detail":..}]}:
 * code and message as JSON strings, detail_json (already JSON) verbatim, and
 * the "detail" key left out when detail_json is NULL.
 */
int berth_buf_put_oci_error(berth_buf *b, const char *code, const char *message,
			    const char *detail_json) BERTH_WARN_UNUSED;
#endif
