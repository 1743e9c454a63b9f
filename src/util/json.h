/*
 * json.h - a jansson value written as JSON text into a berth_buf, faster
 * than json_dumps (no per-character callback, one growing buffer; strings
 * through berth_buf_put_json_string): for the large documents berth writes
 * (SBOMs). Keys come in the object's order (jansson keeps insertion order).
 */
#ifndef BERTH_UTIL_JSON_H
#define BERTH_UTIL_JSON_H

#include "berth/buf.h"

#include <jansson.h>

/**
 * Append `v` as JSON to `b`: compact when indent is 0, else one member per
 * line indented by `indent` spaces a level, as json_dumps' JSON_INDENT(n)
 * lays it out. Reals as %.17g (with ".0" when that reads as an integer);
 * invalid UTF-8 in strings becomes U+FFFD. 0, or a negative code (out of
 * memory, or a real that is not finite).
 */
int berth_json_write(berth_buf *b, const json_t *v, int indent) BERTH_WARN_UNUSED;

#endif
