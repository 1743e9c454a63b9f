/*
 * buf.c - growable byte buffers with a hard maximum (see buf.h).
 */
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void berth_buf_init(berth_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

static int grow(berth_buf *b, size_t extra)
{
	size_t need, ncap;
	char *p;

	if (b->max && (extra > b->max || b->len > b->max - extra))
		return berth_error_set(BERTH_ETOOBIG, "buffer limit of %zu bytes exceeded", b->max);
	need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap *= 2;
	p = realloc(b->ptr, ncap);
	if (!p)
		return berth_error_set(BERTH_ERROR, "out of memory");
	b->ptr = p;
	b->cap = ncap;
	return 0;
}

int berth_buf_put(berth_buf *b, const void *data, size_t len)
{
	int rc = grow(b, len);

	if (rc)
		return rc;
	if (len)
		memcpy(b->ptr + b->len, data, len);
	b->len += len;
	b->ptr[b->len] = '\0';
	return 0;
}

int berth_buf_puts(berth_buf *b, const char *s)
{
	return berth_buf_put(b, s, strlen(s));
}

/* Format into the free space first and only measure-then-format when it does not
 * fit: vsnprintf(NULL, 0) alone costs as much as formatting (glibc formats into a
 * small scratch buffer to count), so the old two passes doubled every printf. */
int berth_buf_vprintf(berth_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	size_t room, want = 128;
	int n, rc;

	if (b->max && b->max - b->len < want)
		want = b->max - b->len; /* len <= max always */
	if (b->cap < b->len + want + 1 && (rc = grow(b, want)) != 0)
		return rc;
	room = b->cap - b->len; /* includes the NUL's byte */
	va_copy(cp, ap);
	n = vsnprintf(b->ptr + b->len, room, fmt, cp);
	va_end(cp);
	if (n < 0)
		return berth_error_set(BERTH_ERROR, "bad format");
	if ((size_t)n >= room) {
		b->ptr[b->len] = '\0';
		if ((rc = grow(b, (size_t)n)) != 0)
			return rc;
		vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	} else if (b->max && (size_t)n > b->max - b->len) {
		b->ptr[b->len] = '\0';
		return berth_error_set(BERTH_ETOOBIG, "buffer limit of %zu bytes exceeded", b->max);
	}
	b->len += (size_t)n;
	return 0;
}

int berth_buf_printf(berth_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = berth_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0 when it
 * is not one: overlong forms, surrogates and code points past U+10FFFF are
 * invalid (RFC 3629). */
static size_t utf8_seq(const unsigned char *p)
{
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		unsigned lo = p[0] == 0xe0 ? 0xa0 : 0x80, hi = p[0] == 0xed ? 0x9f : 0xbf;

		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		unsigned lo = p[0] == 0xf0 ? 0x90 : 0x80, hi = p[0] == 0xf4 ? 0x8f : 0xbf;

		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80
			       ? 4
			       : 0;
	}
	return 0;
}

size_t berth_utf8_prefix(const char *s, size_t max)
{
	size_t n = strnlen(s, max + 1);

	if (n <= max)
		return n;
	for (n = max; n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80; n--)
		;
	return n;
}

int berth_buf_put_rune(berth_buf *b, uint32_t r)
{
	char t[4];
	size_t n;

	if (r < 0x80) {
		t[0] = (char)r;
		n = 1;
	} else if (r < 0x800) {
		t[0] = (char)(0xC0 | (r >> 6));
		t[1] = (char)(0x80 | (r & 0x3F));
		n = 2;
	} else if (r < 0x10000) {
		t[0] = (char)(0xE0 | (r >> 12));
		t[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		t[2] = (char)(0x80 | (r & 0x3F));
		n = 3;
	} else {
		t[0] = (char)(0xF0 | (r >> 18));
		t[1] = (char)(0x80 | ((r >> 12) & 0x3F));
		t[2] = (char)(0x80 | ((r >> 6) & 0x3F));
		t[3] = (char)(0x80 | (r & 0x3F));
		n = 4;
	}
	return berth_buf_put(b, t, n);
}

/* A JSON string: quotes, backslashes and control characters escaped, and
 * each byte that is not part of valid UTF-8 replaced by U+FFFD (as Go's
 * encoding/json does), so the output is always valid JSON whatever bytes a
 * file name holds. */
int berth_buf_put_json_string(berth_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	const unsigned char *run = p;
	int rc;

	if ((rc = berth_buf_put(b, "\"", 1)) != 0)
		return rc;
	while (*p) {
		char esc[7];
		size_t elen = 2, n;

		if (*p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0x80 && (n = utf8_seq(p)) != 0) {
			p += n;
			continue;
		}
		if ((rc = berth_buf_put(b, run, (size_t)(p - run))) != 0)
			return rc;
		esc[0] = '\\';
		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, *p >= 0x80 ? "ufffd" : "u00", *p >= 0x80 ? 5 : 3);
			if (*p < 0x80) {
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 15];
			}
			elen = 6;
		}
		if ((rc = berth_buf_put(b, esc, elen)) != 0)
			return rc;
		run = ++p;
	}
	if ((rc = berth_buf_put(b, run, (size_t)(p - run))) != 0)
		return rc;
	return berth_buf_put(b, "\"", 1);
}

void berth_buf_reset(berth_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

char *berth_buf_detach(berth_buf *b, size_t *len_out)
{
	char *p = b->ptr;

	if (!p) {
		p = calloc(1, 1);
		if (len_out)
			*len_out = 0;
		return p;
	}
	if (len_out)
		*len_out = b->len;
	b->ptr = NULL;
	b->len = b->cap = 0;
	return p;
}

void berth_buf_dispose(berth_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

void berth_buf_dispose_secret(berth_buf *b)
{
	if (b->ptr)
		explicit_bzero(b->ptr, b->len);
	berth_buf_dispose(b);
}
