/*
 * berth/buf.h - a growable byte buffer with a hard maximum (curl's dynbuf idea).
 *
 * Every buffer that holds untrusted input is created with a cap; appends
 * beyond it fail with BERTH_ETOOBIG and leave the buffer unchanged. The data
 * is always NUL-terminated (not counted in len) so text can be used directly.
 */
#ifndef BERTH_BUF_H
#define BERTH_BUF_H

#include "berth/common.h"

#include <stdarg.h>

typedef struct berth_buf {
	char *ptr;
	size_t len;
	size_t cap; /* allocated bytes */
	size_t max; /* hard maximum of len; 0 = unlimited */
} berth_buf;

#define BERTH_BUF_INIT(maxlen)                                                                     \
	{                                                                                          \
		NULL, 0, 0, (maxlen)                                                               \
	}

void berth_buf_init(berth_buf *b, size_t max);
int berth_buf_put(berth_buf *b, const void *data, size_t len) BERTH_WARN_UNUSED;
int berth_buf_puts(berth_buf *b, const char *s) BERTH_WARN_UNUSED;
/** Append code point `r` as UTF-8 (1 to 4 bytes); `r` must be a Unicode scalar value. */
int berth_buf_put_rune(berth_buf *b, uint32_t r) BERTH_WARN_UNUSED;
/** The length of the longest prefix of `s` of at most `max` bytes that does not end
 *  inside a UTF-8 sequence: a text cut there stays valid UTF-8 (JSON strings must be). */
size_t berth_utf8_prefix(const char *s, size_t max);
int berth_buf_printf(berth_buf *b, const char *fmt, ...) BERTH_PRINTF(2, 3) BERTH_WARN_UNUSED;
int berth_buf_vprintf(berth_buf *b, const char *fmt, va_list ap) BERTH_WARN_UNUSED;
/** Append `s` as a JSON string literal, quotes included; bytes that are not
 * valid UTF-8 become U+FFFD, so the result is always valid JSON. */
int berth_buf_put_json_string(berth_buf *b, const char *s) BERTH_WARN_UNUSED;
void berth_buf_reset(berth_buf *b); /* len = 0, keep memory */
/** Take ownership of the data (NUL-terminated); the buffer becomes empty. */
char *berth_buf_detach(berth_buf *b, size_t *len_out);
void berth_buf_dispose(berth_buf *b); /* free memory, buffer reusable */
/** Zero the contents (they held a secret: password, key, credentials), then dispose. */
void berth_buf_dispose_secret(berth_buf *b);

#endif
