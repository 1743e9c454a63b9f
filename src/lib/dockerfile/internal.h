/*
 * internal.h - shared helpers of the Dockerfile frontend (src/lib/dockerfile/):
 * UTF-8 and Unicode-space helpers matching Go's unicode package, the lexer
 * entry used by the parser for heredoc detection, and error positioning.
 */
#ifndef BERTH_DOCKERFILE_INTERNAL_H
#define BERTH_DOCKERFILE_INTERNAL_H

#include "berth/dockerfile.h"
#include "util/buf.h"
#include "util/pool.h"

#include <stdbool.h>

/* The allocation behind a berth_dockerfile: everything lives in one pool. */
typedef struct berth_df_impl {
	berth_dockerfile pub;
	berth_pool pool;
} berth_df_impl;

/* Decode one UTF-8 rune at s[0..n); *w gets its width (1 for an invalid byte, which returns
 * 0xFFFD like Go's utf8.DecodeRune). n must be > 0. ASCII is decoded inline: the lexer and
 * the parser call these per byte. */
uint32_t berth_dockerfile__rune_slow(const char *s, size_t n, size_t *w);
static inline uint32_t berth_dockerfile__rune(const char *s, size_t n, size_t *w)
{
	if ((unsigned char)s[0] < 0x80) {
		*w = 1;
		return (unsigned char)s[0];
	}
	return berth_dockerfile__rune_slow(s, n, w);
}

/* Go's unicode.IsSpace. */
bool berth_dockerfile__is_space_slow(uint32_t r);
static inline bool berth_dockerfile__is_space(uint32_t r)
{
	if (r < 0x80)
		return r == ' ' || (r >= '\t' && r <= '\r');
	return berth_dockerfile__is_space_slow(r);
}

/* Go's unicode.IsLetter / IsDigit (Latin-1 exactly, beyond that: any non-ASCII rune that is not
 * a space or punctuation we know of counts as a letter; documented approximation). */
bool berth_dockerfile__is_letter(uint32_t r);
bool berth_dockerfile__is_digit(uint32_t r);

/* Append rune r as UTF-8; an ASCII rune that fits the buffer's capacity (and its maximum) is
 * stored inline, without a call. */
static inline BERTH_WARN_UNUSED int berth_dockerfile__put_rune(berth_buf *b, uint32_t r)
{
	if (r < 0x80 && b->len + 1 < b->cap && (!b->max || b->len < b->max)) {
		b->ptr[b->len++] = (char)r;
		b->ptr[b->len] = '\0';
		return 0;
	}
	return berth_buf_put_rune(b, r);
}

/* Length of s after strings.TrimRightFunc(unicode.IsSpace) and offset after TrimLeft. */
size_t berth_dockerfile__trim_left(const char *s, size_t n);
size_t berth_dockerfile__trim_right(const char *s, size_t n);

/* Set an error "name:line:col: msg" + source excerpt with a caret; fill err if given. */
int berth_dockerfile__fail(const berth_dockerfile *df, berth_df_error *err, int code,
			   berth_df_pos pos, const char *fmt, ...) BERTH_PRINTF(5, 6);

/* Same with an explicit file name and source line (for the parser, before df exists). */
int berth_dockerfile__fail_src(const char *name, const char *line, size_t line_len,
			       berth_df_error *err, int code, berth_df_pos pos, const char *msg);

/* The lexer with BuildKit's Lex fields; words are produced when `words` is not NULL.
 * `env` may be NULL (no variables). Result strings are malloc'd into `out`. */
int berth_dockerfile__lex(berth_df_expansion *out, const char *word, size_t len,
			  const berth_df_vars *env,
			  const berth_df_lex_opts *opts) BERTH_WARN_UNUSED;

/* Instruction-name helpers. */
int berth_dockerfile__strcaseeq(const char *a, const char *b);

/* Stage lookup by lower-cased name; SIZE_MAX if none. */
size_t berth_dockerfile__stage_by_name(const berth_dockerfile *df, const char *name);

#endif
