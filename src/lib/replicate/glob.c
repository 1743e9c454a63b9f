/*
 * glob.c - the name and tag globs of replication filters (Harbor's
 * doublestar syntax): `*`, `**`, `?`, `{a,b}`, `\x`.
 *
 * A pattern is first expanded into plain alternatives: braces, and the
 * pattern without each of its `**` path elements, which may match no
 * element at all ("apps" matches "apps" + a trailing `**` element). Each
 * alternative is then compiled to
 * tokens and matched by a position-set simulation (no backtracking), so a
 * hostile pattern costs O(len(s) x len(pattern)) per alternative, and the
 * number of alternatives is capped.
 */
#include "berth/replicate.h"

#include <stdlib.h>
#include <string.h>

/* Tokens of a compiled alternative: literal bytes are >= 0x20. */
enum { T_STAR = 1, T_DSTAR = 2, T_ONE = 3 };

typedef struct expansion {
	char *alts[BERTH_REPLICATE_GLOB_ALTERNATIVES];
	size_t n;
} expansion;

static void expansion_dispose(expansion *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->alts[i]);
	e->n = 0;
}

static int add_alt(expansion *e, const char *s, size_t len)
{
	char *c;

	for (size_t i = 0; i < e->n; i++)
		if (strlen(e->alts[i]) == len && memcmp(e->alts[i], s, len) == 0)
			return 0;
	if (e->n >= BERTH_REPLICATE_GLOB_ALTERNATIVES)
		return berth_error_set(BERTH_EINVALID, "glob: more than %d alternatives",
				       BERTH_REPLICATE_GLOB_ALTERNATIVES);
	if (!(c = malloc(len + 1)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	memcpy(c, s, len);
	c[len] = '\0';
	e->alts[e->n++] = c;
	return 0;
}

/* Index of the '}' closing the '{' at p[open], or -1; escapes are skipped. */
static long brace_end(const char *p, size_t open)
{
	int depth = 0;

	for (size_t i = open; p[i]; i++) {
		if (p[i] == '\\' && p[i + 1])
			i++;
		else if (p[i] == '{')
			depth++;
		else if (p[i] == '}' && --depth == 0)
			return (long)i;
	}
	return -1;
}

static int expand(expansion *e, const char *p, int depth);

/* Expand p[0..open) + each alternative of the braces at `open` + the rest. */
static int expand_braces(expansion *e, const char *p, size_t open, size_t close, int depth)
{
	size_t plen = strlen(p), start = open + 1, i = open + 1;
	int nest = 0, rc = 0;
	char *buf = malloc(plen + 1);

	if (!buf)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (; i <= close && rc == 0; i++) {
		if (p[i] == '\\' && i + 1 < close) {
			i++;
			continue;
		}
		if (p[i] == '{')
			nest++;
		else if (p[i] == '}' && i < close)
			nest--;
		if ((p[i] == ',' && nest == 0) || i == close) {
			size_t n = 0;

			memcpy(buf, p, open);
			n = open;
			memcpy(buf + n, p + start, i - start);
			n += i - start;
			memcpy(buf + n, p + close + 1, plen - close - 1);
			n += plen - close - 1;
			buf[n] = '\0';
			rc = expand(e, buf, depth + 1);
			start = i + 1;
		}
	}
	free(buf);
	return rc;
}

/* A `**` element at p[i] (i == 0 or p[i-1] == '/', followed by '/' or the end). */
static int dstar_element(const char *p, size_t i)
{
	return p[i] == '*' && p[i + 1] == '*' && (i == 0 || p[i - 1] == '/') &&
	       (p[i + 2] == '/' || p[i + 2] == '\0');
}

static int expand(expansion *e, const char *p, int depth)
{
	size_t len = strlen(p);

	if (depth > BERTH_REPLICATE_GLOB_ALTERNATIVES)
		return berth_error_set(BERTH_EINVALID, "glob: too many alternatives");
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\') {
			if (!p[i + 1])
				return berth_error_set(BERTH_EINVALID, "glob: trailing backslash");
			i++;
			continue;
		}
		if (p[i] == '}')
			return berth_error_set(BERTH_EINVALID, "glob: unbalanced '}'");
		if (p[i] == '{') {
			long close = brace_end(p, i);

			if (close < 0)
				return berth_error_set(BERTH_EINVALID, "glob: unbalanced '{'");
			return expand_braces(e, p, i, (size_t)close, depth);
		}
	}
	/* No braces left: add the alternative, and its forms without `**` elements. */
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (dstar_element(p, i) && (p[i + 2] == '/' || i > 0)) {
			char *q = malloc(len + 1);
			int rc;

			if (!q)
				return berth_error_set(BERTH_ERROR, "out of memory");
			if (p[i + 2] == '/') { /* "**" + "/" matches no element: drop it */
				memcpy(q, p, i);
				strcpy(q + i, p + i + 3);
			} else { /* a trailing `**` element matches the parent itself */
				memcpy(q, p, i - 1);
				q[i - 1] = '\0';
			}
			rc = expand(e, q, depth + 1);
			free(q);
			if (rc < 0)
				return rc;
		}
	}
	return add_alt(e, p, len);
}

/* Compile one brace-free alternative into tokens (in place is not possible: new string). */
static char *compile(const char *p)
{
	size_t len = strlen(p), n = 0;
	char *t = malloc(len + 1);

	if (!t)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\') {
			t[n++] = p[++i];
		} else if (p[i] == '*') {
			int dbl = p[i + 1] == '*';

			while (p[i + 1] == '*')
				i++;
			/* Consecutive stars collapse; a run of two or more crosses '/'. */
			if (n > 0 && (t[n - 1] == T_STAR || t[n - 1] == T_DSTAR)) {
				if (dbl)
					t[n - 1] = T_DSTAR;
			} else {
				t[n++] = dbl ? T_DSTAR : T_STAR;
			}
		} else if (p[i] == '?') {
			t[n++] = T_ONE;
		} else {
			t[n++] = p[i];
		}
	}
	t[n] = '\0';
	return t;
}

/* Position-set simulation: state i = "tokens [0, i) matched so far". */
static int run(const char *t, const char *s)
{
	size_t nt = strlen(t);
	unsigned char *cur = calloc(nt + 1, 1), *next = calloc(nt + 1, 1);
	int ok = 0;

	if (!cur || !next) {
		free(cur);
		free(next);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	cur[0] = 1;
	for (const char *c = s;; c++) {
		/* Stars may match nothing: carry each state over them. */
		for (size_t i = 0; i < nt; i++)
			if (cur[i] && (t[i] == T_STAR || t[i] == T_DSTAR))
				cur[i + 1] = 1;
		if (!*c)
			break;
		memset(next, 0, nt + 1);
		for (size_t i = 0; i < nt; i++) {
			if (!cur[i])
				continue;
			switch (t[i]) {
			case T_STAR:
				if (*c != '/')
					next[i] = 1;
				break;
			case T_DSTAR: next[i] = 1; break;
			case T_ONE:
				if (*c != '/')
					next[i + 1] = 1;
				break;
			default:
				if (*c == t[i])
					next[i + 1] = 1;
			}
		}
		memcpy(cur, next, nt + 1);
	}
	ok = cur[nt];
	free(cur);
	free(next);
	return ok;
}

int berth_replicate_glob_match(const char *pattern, const char *s)
{
	expansion e = {.n = 0};
	int rc = 0;
	size_t len;

	if (!pattern || !s)
		return berth_error_set(BERTH_EINVALID, "glob: missing pattern or name");
	len = strlen(pattern);
	if (len > BERTH_REPLICATE_PATTERN_MAX)
		return berth_error_set(BERTH_EINVALID, "glob: longer than %d bytes",
				       BERTH_REPLICATE_PATTERN_MAX);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)pattern[i] < 0x20 || pattern[i] == 0x7f)
			return berth_error_set(BERTH_EINVALID, "glob: control character");
	if ((rc = expand(&e, pattern, 0)) < 0)
		goto done;
	for (size_t i = 0; i < e.n && rc == 0; i++) {
		char *t = compile(e.alts[i]);

		if (!t) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			break;
		}
		rc = run(t, s);
		free(t);
	}
done:
	expansion_dispose(&e);
	return rc;
}
