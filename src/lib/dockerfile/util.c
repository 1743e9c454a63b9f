/*
 * util.c - small pieces the Dockerfile frontend shares: UTF-8 decoding and
 * Go's Unicode predicates (BuildKit's grammar is defined in terms of Go's
 * unicode.IsSpace and friends), positioned diagnostics with a caret, the
 * variable set, kind names, and path cleaning.
 */
#include "internal.h"
#include "util/hash.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

uint32_t berth_dockerfile__rune_slow(const char *s, size_t n, size_t *w)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t r;
	size_t need;

	if (u[0] < 0x80) {
		*w = 1;
		return u[0];
	}
	if (u[0] >= 0xC2 && u[0] <= 0xDF) {
		need = 2;
		r = u[0] & 0x1F;
	} else if (u[0] >= 0xE0 && u[0] <= 0xEF) {
		need = 3;
		r = u[0] & 0x0F;
	} else if (u[0] >= 0xF0 && u[0] <= 0xF4) {
		need = 4;
		r = u[0] & 0x07;
	} else {
		*w = 1;
		return 0xFFFD;
	}
	if (n < need) {
		*w = 1;
		return 0xFFFD;
	}
	for (size_t i = 1; i < need; i++) {
		if ((u[i] & 0xC0) != 0x80) {
			*w = 1;
			return 0xFFFD;
		}
		r = (r << 6) | (u[i] & 0x3F);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
	if ((need == 3 && r < 0x800) || (need == 4 && (r < 0x10000 || r > 0x10FFFF)) ||
	    (r >= 0xD800 && r <= 0xDFFF)) {
		*w = 1;
		return 0xFFFD;
	}
	*w = need;
	return r;
}

bool berth_dockerfile__is_space_slow(uint32_t r)
{
	switch (r) {
	case '\t':
	case '\n':
	case '\v':
	case '\f':
	case '\r':
	case ' ':
	case 0x85:
	case 0xA0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202F:
	case 0x205F:
	case 0x3000: return true;
	}
	return r >= 0x2000 && r <= 0x200A;
}

bool berth_dockerfile__is_digit(uint32_t r)
{
	if (r < 0x80)
		return r >= '0' && r <= '9';
	return (r >= 0x660 && r <= 0x669) || (r >= 0x6F0 && r <= 0x6F9) ||
	       (r >= 0x966 && r <= 0x96F) || (r >= 0xFF10 && r <= 0xFF19);
}

bool berth_dockerfile__is_letter(uint32_t r)
{
	if (r < 0x80)
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
	if (r <= 0xFF)
		return r == 0xAA || r == 0xB5 || r == 0xBA || (r >= 0xC0 && r != 0xD7 && r != 0xF7);
	if (berth_dockerfile__is_space(r) || berth_dockerfile__is_digit(r))
		return false;
	/* General punctuation, symbols, CJK punctuation, specials, private use. */
	if ((r >= 0x2000 && r <= 0x2BFF) || (r >= 0x3000 && r <= 0x303F) ||
	    (r >= 0xE000 && r <= 0xF8FF) || (r >= 0xFE00 && r <= 0xFE0F) ||
	    (r >= 0xFFF0 && r <= 0xFFFF) || (r >= 0x1F000 && r <= 0x1FAFF))
		return false;
	return true;
}

size_t berth_dockerfile__trim_left(const char *s, size_t n)
{
	size_t i = 0, w;

	while (i < n) {
		uint32_t r = berth_dockerfile__rune(s + i, n - i, &w);

		if (!berth_dockerfile__is_space(r))
			break;
		i += w;
	}
	return i;
}

size_t berth_dockerfile__trim_right(const char *s, size_t n)
{
	/* An ASCII tail is trimmed from the end (no ASCII byte belongs to a multi-byte rune);
	 * past a non-ASCII byte, walk forward remembering the end of the last non-space rune. */
	size_t i = 0, end = n, w;

	while (end > 0 && (unsigned char)s[end - 1] < 0x80) {
		if (!berth_dockerfile__is_space((unsigned char)s[end - 1]))
			return end;
		end--;
	}
	n = end;
	end = 0;
	while (i < n) {
		uint32_t r = berth_dockerfile__rune(s + i, n - i, &w);

		i += w;
		if (!berth_dockerfile__is_space(r))
			end = i;
	}
	return end;
}

int berth_dockerfile__strcaseeq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* ---- diagnostics ---- */

/*
 * The excerpt shows at most EXCERPT bytes of the line around the column, so
 * the message fits the error slot even for a 10 MB line.
 */
#define EXCERPT 120

static void excerpt(char *dst, size_t cap, const char *line, size_t len, uint32_t col)
{
	size_t c = col ? col - 1 : 0, from = 0, to, caret, o = 0;

	if (c > len)
		c = len;
	if (c > EXCERPT / 2)
		from = c - EXCERPT / 2;
	to = from + EXCERPT < len ? from + EXCERPT : len;
	caret = c - from;
	o += (size_t)snprintf(dst + o, cap - o, "\n    %s", from ? "..." : "");
	for (size_t i = from; i < to && o + 6 < cap;) {
		unsigned char ch = (unsigned char)line[i];
		size_t w = 1;

		if (ch >= 0x80) {
			/* Whole runes only; an invalid byte shows as '?'. */
			if (berth_dockerfile__rune(line + i, len - i, &w) == 0xFFFD && w == 1)
				dst[o++] = '?';
			else
				for (size_t k = 0; k < w; k++)
					dst[o++] = line[i + k];
			i += w;
			continue;
		}
		dst[o++] = (ch < 0x20 || ch == 0x7F) ? (ch == '\t' ? '\t' : ' ') : (char)ch;
		i++;
	}
	if (o + 1 < cap)
		o += (size_t)snprintf(dst + o, cap - o, "%s\n    %s", to < len ? "..." : "",
				      from ? "   " : "");
	for (size_t i = from; i < from + caret && o + 2 < cap;) {
		/* Tabs stay tabs so the caret lines up in a terminal; multi-byte runes take one
		 * column. */
		unsigned char ch = (unsigned char)line[i];
		size_t w = 1;

		if (ch >= 0x80)
			(void)berth_dockerfile__rune(line + i, len - i, &w);
		dst[o++] = ch == '\t' ? '\t' : ' ';
		i += w;
	}
	if (o + 2 < cap)
		dst[o++] = '^';
	dst[o < cap ? o : cap - 1] = '\0';
}

int berth_dockerfile__fail_src(const char *name, const char *line, size_t line_len,
			       berth_df_error *err, int code, berth_df_pos pos, const char *msg)
{
	char ex[400] = "";

	if (err) {
		err->line = pos.line;
		err->col = pos.col;
		snprintf(err->message, sizeof(err->message), "%s", msg);
	}
	if (line && pos.line)
		excerpt(ex, sizeof(ex), line, line_len, pos.col);
	if (pos.line)
		return berth_error_set(code, "%s:%u:%u: %s%s", name ? name : "Dockerfile", pos.line,
				       pos.col, msg, ex);
	return berth_error_set(code, "%s: %s", name ? name : "Dockerfile", msg);
}

int berth_dockerfile__fail(const berth_dockerfile *df, berth_df_error *err, int code,
			   berth_df_pos pos, const char *fmt, ...)
{
	char msg[512];
	const char *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (df && pos.line >= 1 && pos.line <= df->nlines)
		line = df->lines[pos.line - 1];
	return berth_dockerfile__fail_src(df ? df->name : NULL, line, line ? strlen(line) : 0, err,
					  code, pos, msg);
}

int berth_dockerfile_format_diag(char **out, const berth_dockerfile *df, berth_df_pos pos,
				 const char *message)
{
	const char *line = berth_dockerfile_line(df, pos.line);
	char ex[400] = "";
	berth_buf b = BERTH_BUF_INIT(0);

	*out = NULL;
	if (line)
		excerpt(ex, sizeof(ex), line, strlen(line), pos.col);
	if (berth_buf_printf(&b, "%s:%u:%u: %s%s", df->name, pos.line, pos.col, message, ex) < 0) {
		berth_buf_dispose(&b);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	*out = berth_buf_detach(&b, NULL);
	return 0;
}

/* ---- accessors ---- */

static const char *const kind_names[BERTH_DF_KIND_COUNT] = {
	"",	  "ADD",	"ARG",	       "CMD",	 "COPY",       "ENTRYPOINT", "ENV",
	"EXPOSE", "FROM",	"HEALTHCHECK", "LABEL",	 "MAINTAINER", "ONBUILD",    "RUN",
	"SHELL",  "STOPSIGNAL", "USER",	       "VOLUME", "WORKDIR",
};

const char *berth_dockerfile_kind_name(berth_df_kind kind)
{
	return (unsigned)kind < BERTH_DF_KIND_COUNT ? kind_names[kind] : "";
}

berth_df_kind berth_dockerfile_kind_of(const char *name)
{
	for (int k = 1; k < BERTH_DF_KIND_COUNT; k++)
		if (strcasecmp(name, kind_names[k]) == 0)
			return (berth_df_kind)k;
	return BERTH_DF_UNKNOWN;
}

int berth_dockerfile_kind_expands(berth_df_kind kind)
{
	switch (kind) {
	case BERTH_DF_ADD:
	case BERTH_DF_ARG:
	case BERTH_DF_COPY:
	case BERTH_DF_ENV:
	case BERTH_DF_EXPOSE:
	case BERTH_DF_FROM:
	case BERTH_DF_LABEL:
	case BERTH_DF_STOPSIGNAL:
	case BERTH_DF_USER:
	case BERTH_DF_VOLUME:
	case BERTH_DF_WORKDIR: return 1;
	default: return 0;
	}
}

const berth_df_flag *berth_dockerfile_flag(const berth_df_instr *in, const char *name)
{
	for (size_t i = 0; i < in->nflags; i++)
		if (strcmp(in->flags[i].name, name) == 0)
			return &in->flags[i];
	return NULL;
}

const char *berth_dockerfile_line(const berth_dockerfile *df, uint32_t line)
{
	if (!df || line < 1 || line > df->nlines)
		return NULL;
	return df->lines[line - 1];
}

int berth_df_heredoc_content(char **out, size_t *len, const berth_df_heredoc *h)
{
	char *r = malloc(h->body_len + 1);
	size_t o = 0;
	int bol = 1;

	*out = NULL;
	if (!r)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < h->body_len; i++) {
		char c = h->body[i];

		/* ChompHeredocContent: (?m)^\t+ — tabs at the start of every line. */
		if (h->strip_tabs && bol && c == '\t')
			continue;
		bol = c == '\n';
		r[o++] = c;
	}
	r[o] = '\0';
	*out = r;
	if (len)
		*len = o;
	return 0;
}

size_t berth_dockerfile__stage_by_name(const berth_dockerfile *df, const char *name)
{
	for (size_t i = 0; i < df->nstages; i++)
		if (df->stages[i].name_lower && strcasecmp(df->stages[i].name_lower, name) == 0)
			return i;
	return SIZE_MAX;
}

/* ---- variables ---- */

/* Past this many names a set keeps a hash index (a stage of a big Dockerfile can
 * declare hundreds of ENV and ARG names; every lookup was a linear strcmp scan). */
#define VARS_INDEX_MIN 8

static uint32_t name_hash(const char *s)
{
	return (uint32_t)berth_fnv1a_str(BERTH_FNV1A_INIT, s);
}

static void index_put(berth_df_vars *v, size_t i)
{
	size_t mask = v->nslots - 1, k = name_hash(v->items[i].name) & mask;

	while (v->slots[k])
		k = (k + 1) & mask;
	v->slots[k] = (uint32_t)(i + 1);
}

/* (Re)build the index with room for v->cap names; without memory for it the set
 * goes back to scanning (still correct, only slower). */
static void index_build(berth_df_vars *v)
{
	size_t ns = 16;

	while (ns < 2 * v->cap)
		ns *= 2;
	free(v->slots);
	v->nslots = 0;
	if (!(v->slots = calloc(ns, sizeof(*v->slots))))
		return;
	v->nslots = ns;
	for (size_t i = 0; i < v->n; i++)
		index_put(v, i);
}

/* The index of `name` in v->items, or -1. */
static ptrdiff_t vars_find(const berth_df_vars *v, const char *name)
{
	if (v->slots) {
		size_t mask = v->nslots - 1, k = name_hash(name) & mask;

		for (; v->slots[k]; k = (k + 1) & mask)
			if (strcmp(v->items[v->slots[k] - 1].name, name) == 0)
				return (ptrdiff_t)v->slots[k] - 1;
		return -1;
	}
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->items[i].name, name) == 0)
			return (ptrdiff_t)i;
	return -1;
}

static int vars_grow(berth_df_vars *v)
{
	size_t cap = v->cap ? v->cap * 2 : 16;
	berth_df_var *p;

	if (cap > UINT32_MAX - 1)
		return berth_error_set(BERTH_ETOOBIG, "too many variables");
	if (!(p = realloc(v->items, cap * sizeof(*p))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	v->items = p;
	v->cap = cap;
	return 0;
}

int berth_df_vars_set(berth_df_vars *v, const char *name, const char *value)
{
	char *nv = strdup(value ? value : "");
	ptrdiff_t at;
	int rc;

	if (!nv)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((at = vars_find(v, name)) >= 0) {
		free(v->items[at].value);
		v->items[at].value = nv;
		return 0;
	}
	if (v->n == v->cap && (rc = vars_grow(v)) < 0) {
		free(nv);
		return rc;
	}
	v->items[v->n].name = strdup(name);
	if (!v->items[v->n].name) {
		free(nv);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	v->items[v->n++].value = nv;
	if (v->slots && 2 * v->n <= v->nslots)
		index_put(v, v->n - 1);
	else if (v->n > VARS_INDEX_MIN)
		index_build(v);
	return 0;
}

const char *berth_df_vars_get(const berth_df_vars *v, const char *name)
{
	ptrdiff_t at = v ? vars_find(v, name) : -1;

	return at >= 0 ? v->items[at].value : NULL;
}

int berth_df_vars_unset(berth_df_vars *v, const char *name)
{
	ptrdiff_t at = vars_find(v, name);
	size_t i = (size_t)at;

	if (at < 0)
		return 0;
	free(v->items[i].name);
	free(v->items[i].value);
	memmove(&v->items[i], &v->items[i + 1], (v->n - i - 1) * sizeof(*v->items));
	v->n--;
	if (v->slots)
		index_build(v);
	return 1;
}

int berth_df_vars_copy(berth_df_vars *dst, const berth_df_vars *src)
{
	for (size_t i = 0; src && i < src->n; i++) {
		int rc = berth_df_vars_set(dst, src->items[i].name, src->items[i].value);

		if (rc < 0)
			return rc;
	}
	return 0;
}

void berth_df_vars_dispose(berth_df_vars *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		free(v->items[i].name);
		free(v->items[i].value);
	}
	free(v->items);
	free(v->slots);
	v->items = NULL;
	v->slots = NULL;
	v->n = v->cap = v->nslots = 0;
}

/* ---- paths ---- */

char *berth_dockerfile_clean_path(const char *p, size_t n)
{
	/* Go's path.Clean: collapse "//", drop ".", resolve "..", "" -> ".". */
	char *out = malloc(n + 2);
	size_t o = 0, i = 0, dotdot = 0;
	int rooted = n > 0 && p[0] == '/';

	if (!out)
		return NULL;
	if (rooted) {
		out[o++] = '/';
		i = 1;
		dotdot = 1;
	}
	while (i < n) {
		if (p[i] == '/') {
			i++;
		} else if (p[i] == '.' && (i + 1 == n || p[i + 1] == '/')) {
			i++;
		} else if (p[i] == '.' && p[i + 1] == '.' && (i + 2 == n || p[i + 2] == '/')) {
			i += 2;
			if (o > dotdot) {
				o--;
				while (o > dotdot && out[o] != '/')
					o--;
			} else if (!rooted) {
				if (o > 0)
					out[o++] = '/';
				out[o++] = '.';
				out[o++] = '.';
				dotdot = o;
			}
		} else {
			if ((rooted && o != 1) || (!rooted && o != 0))
				out[o++] = '/';
			while (i < n && p[i] != '/')
				out[o++] = p[i++];
		}
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	return out;
}

/* ---- RUN with heredocs (BuildKit's dispatchRun) ---- */

int berth_dockerfile_run_command(char **command, berth_df_run_mode *mode, const berth_df_instr *run)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc;

	*command = NULL;
	*mode = BERTH_DF_RUN_SHELL;
	if (run->form == BERTH_DF_FORM_JSON)
		return berth_error_set(BERTH_EINVALID, "RUN in JSON form has no shell command");
	if (run->nheredocs == 0 || strcmp(run->args_text, run->heredocs[0].word) != 0) {
		/* The heredocs are handed to the shell as written. */
		rc = berth_buf_puts(&b, run->args_text);
		for (size_t i = 0; rc == 0 && i < run->nheredocs; i++) {
			rc = berth_buf_puts(&b, "\n");
			if (rc == 0)
				rc = berth_buf_put(&b, run->heredocs[i].body,
						   run->heredocs[i].body_len);
			if (rc == 0)
				rc = berth_buf_puts(&b, run->heredocs[i].name);
		}
		if (rc < 0) {
			berth_buf_dispose(&b);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
		*command = berth_buf_detach(&b, NULL);
		return 0;
	}
	/* RUN <<EOF alone: the body is the command, or a script when it has a shebang. */
	if ((rc = berth_df_heredoc_content(command, NULL, &run->heredocs[0])) < 0)
		return rc;
	if (strncmp(run->heredocs[0].body, "#!", 2) == 0)
		*mode = BERTH_DF_RUN_SCRIPT;
	return 0;
}
