/*
 * log.c - leveled, structured logging to stderr (see log.h).
 *
 * Each line is built in a stack buffer and written with one write(2) so that
 * lines from concurrent threads never interleave.
 */
#include "util/log.h"
#include "util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static berth_log_level min_level = BERTH_LOG_INFO;
static int json_format;
static int with_pid;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void berth_log_setup(berth_log_level min, int json)
{
	min_level = min;
	json_format = json;
}

void berth_log_with_pid(int on)
{
	with_pid = on;
}

int berth_log_level_parse(const char *s)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "warning") == 0)
		return BERTH_LOG_WARN;
	return -1;
}

int berth_log_enabled(berth_log_level lvl)
{
	return lvl >= min_level;
}

static void timestamp(char *out, size_t n)
{
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
}

void berth_log_fields(berth_log_level lvl, const char *msg, const char *const *fields)
{
	char ts[96];
	berth_buf b = BERTH_BUF_INIT(16384);
	int rc = 0;

	if (lvl < min_level)
		return;
	timestamp(ts, sizeof(ts));
	if (json_format) {
		rc |= berth_buf_printf(&b, "{\"ts\":\"%s\",\"level\":\"%s\",", ts,
				       level_names[lvl]);
		if (with_pid)
			rc |= berth_buf_printf(&b, "\"pid\":%ld,", (long)getpid());
		rc |= berth_buf_puts(&b, "\"msg\":");
		rc |= berth_buf_put_json_string(&b, msg);
		for (int i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
			rc |= berth_buf_puts(&b, ",");
			rc |= berth_buf_put_json_string(&b, fields[i]);
			rc |= berth_buf_puts(&b, ":");
			rc |= berth_buf_put_json_string(&b, fields[i + 1]);
		}
		rc |= berth_buf_puts(&b, "}\n");
	} else {
		rc |= berth_buf_printf(&b, "%s %-5s %s", ts, level_names[lvl], msg);
		for (int i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
			const char *v = fields[i + 1];
			int quote = v[0] == '\0' || strpbrk(v, " \"=") != NULL;

			rc |= berth_buf_printf(&b, " %s=", fields[i]);
			rc |= quote ? berth_buf_put_json_string(&b, v) : berth_buf_puts(&b, v);
		}
		if (with_pid)
			rc |= berth_buf_printf(&b, " pid=%ld", (long)getpid());
		rc |= berth_buf_puts(&b, "\n");
	}
	if (rc == 0 && b.len) {
		ssize_t w = write(STDERR_FILENO, b.ptr, b.len);
		(void)w;
	}
	berth_buf_dispose(&b);
}

void berth_log(berth_log_level lvl, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (lvl < min_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	berth_log_fields(lvl, msg, NULL);
}
