/*
 * log.h - leveled, structured logging to stderr.
 *
 * Lines are either "ts level msg key=value..." (text) or one JSON object per
 * line (json), chosen once at start. Callers pass the message already
 * formatted; they must never log secrets (passwords, tokens, keys).
 */
#ifndef BERTH_UTIL_LOG_H
#define BERTH_UTIL_LOG_H

#include "berth/common.h"

typedef enum {
	BERTH_LOG_DEBUG = 0,
	BERTH_LOG_INFO = 1,
	BERTH_LOG_WARN = 2,
	BERTH_LOG_ERROR = 3
} berth_log_level;

/** Configure: minimum level and format ("text" or "json"). Not thread-safe; call at start. */
void berth_log_setup(berth_log_level min, int json);
/**
 * Add the process id to every line ("pid" field) from now on: the server
 * does, so that the lines of N processes behind one load balancer can be told
 * apart. Not thread-safe; call at start.
 */
void berth_log_with_pid(int on);
/** Parse "debug|info|warn|error"; -1 if unknown. */
int berth_log_level_parse(const char *s);
int berth_log_enabled(berth_log_level lvl);

/**
 * Log one line. `fields` is a NULL-terminated list of key, value string pairs
 * appended as structured fields (may be NULL).
 */
void berth_log_fields(berth_log_level lvl, const char *msg, const char *const *fields);
void berth_log(berth_log_level lvl, const char *fmt, ...) BERTH_PRINTF(2, 3);

#define berth_debug(...) berth_log(BERTH_LOG_DEBUG, __VA_ARGS__)
#define berth_info(...) berth_log(BERTH_LOG_INFO, __VA_ARGS__)
#define berth_warn(...) berth_log(BERTH_LOG_WARN, __VA_ARGS__)
#define berth_err(...) berth_log(BERTH_LOG_ERROR, __VA_ARGS__)

#endif
