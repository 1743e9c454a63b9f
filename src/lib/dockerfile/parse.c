/*
 * parse.c - Dockerfile text -> berth_dockerfile, with BuildKit's grammar
 * (frontend/dockerfile/parser/parser.go):
 *
 *   physical lines   UTF-8 checked (no NUL), BOM dropped, "\r\n" trimmed,
 *                    each capped at BERTH_DF_MAX_LINE;
 *   directives       "# name=value" lines at the very top (syntax, escape,
 *                    check); the first other line ends them;
 *   logical lines    the escape character at the end of a line continues it
 *                    (unless itself escaped); comment and empty lines inside
 *                    a continuation are dropped (and remembered, for lint);
 *   instructions     keyword, then BuildKit's flag words, then the arguments
 *                    as the keyword's line parser reads them (words.c);
 *   heredocs         for RUN/COPY/ADD (and ONBUILD of those) in shell form:
 *                    "<<[-]WORD" found by BuildKit's lexer, bodies read up to
 *                    the terminator lines.
 *
 * A logical line remembers where each of its pieces came from (segments),
 * so every word and flag carries its physical line and column.
 */
#include "parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- physical lines ---- */

static int fail_at(pstate *ps, int code, uint32_t line, uint32_t col, const char *fmt, ...)
	BERTH_PRINTF(5, 6);

static int fail_at(pstate *ps, int code, uint32_t line, uint32_t col, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	const char *l = NULL;
	size_t ll = 0;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line >= 1 && line <= ps->npl) {
		l = ps->text + ps->pl[line - 1].off;
		ll = ps->pl[line - 1].len;
	} else if (line == ps->npl + 1 && ps->partial.raw) {
		/* The line being split when the error was found. */
		l = ps->text + ps->partial.off;
		ll = ps->partial.len;
	}
	return berth_dockerfile__fail_src(ps->df->name, l, ll, ps->err, code,
					  (berth_df_pos){line, col}, msg);
}

/* Remember the extent of the line starting at `start` (for an error's excerpt). */
static void set_partial(pstate *ps, size_t start)
{
	size_t e = start;

	while (e < ps->len && ps->text[e] != '\n' && e - start < BERTH_DF_MAX_LINE)
		e++;
	ps->partial = (pline){start, e - start, e - start + 1};
}

/* Split into lines; check encoding and the caps on the way. */
static int split_lines(pstate *ps)
{
	size_t i = 0, start = 0, cap = 0;
	uint32_t line = 1;

	while (i <= ps->len) {
		if (i == ps->len || ps->text[i] == '\n') {
			size_t raw = (i < ps->len ? i + 1 : i) - start, len = i - start;

			if (i == ps->len && raw == 0)
				break;
			while (len > 0 && (ps->text[start + len - 1] == '\r'))
				len--;
			if (ps->npl == cap) {
				size_t nc = cap ? cap * 2 : 256;
				pline *p = realloc(ps->pl, nc * sizeof(*p));

				if (!p)
					return berth_error_set(BERTH_ERROR, "out of memory");
				ps->pl = p;
				cap = nc;
			}
			ps->pl[ps->npl++] = (pline){start, len, raw};
			if (i == ps->len)
				break;
			i++;
			start = i;
			line++;
			continue;
		}
		if (i - start >= BERTH_DF_MAX_LINE) {
			set_partial(ps, start);
			return fail_at(ps, BERTH_ETOOBIG, line, BERTH_DF_MAX_LINE + 1,
				       "line %u is longer than %u bytes", line, BERTH_DF_MAX_LINE);
		}
		if (ps->text[i] == '\0') {
			set_partial(ps, start);
			return fail_at(ps, BERTH_EINVALID, line, (uint32_t)(i - start + 1),
				       "NUL byte: this is a binary file, not a Dockerfile");
		}
		if ((unsigned char)ps->text[i] >= 0x80) {
			size_t w;

			if (berth_dockerfile__rune(ps->text + i, ps->len - i, &w) == 0xFFFD &&
			    w == 1) {
				set_partial(ps, start);
				return fail_at(ps, BERTH_EINVALID, line, (uint32_t)(i - start + 1),
					       "invalid UTF-8 byte 0x%02x",
					       (unsigned char)ps->text[i]);
			}
			i += w;
			continue;
		}
		i++;
	}
	return 0;
}

/* ---- logical lines and positions ---- */

static int seg_add(pstate *ps, size_t loff, uint32_t line, uint32_t col)
{
	if (ps->nseg == ps->capseg) {
		size_t nc = ps->capseg ? ps->capseg * 2 : 16;
		seg *p = realloc(ps->segs, nc * sizeof(*p));

		if (!p)
			return berth_error_set(BERTH_ERROR, "out of memory");
		ps->segs = p;
		ps->capseg = nc;
	}
	ps->segs[ps->nseg++] = (seg){loff, line, col};
	return 0;
}

berth_df_pos berth_dockerfile__pos(const pstate *ps, size_t loff)
{
	size_t lo = 0, hi = ps->nseg;

	if (!ps->nseg)
		return (berth_df_pos){0, 0};
	/* The last segment starting at or before loff. */
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (ps->segs[mid].loff <= loff)
			lo = mid;
		else
			hi = mid;
	}
	return (berth_df_pos){ps->segs[lo].line,
			      ps->segs[lo].col + (uint32_t)(loff - ps->segs[lo].loff)};
}

static bool is_comment(const char *s, size_t n)
{
	size_t i = berth_dockerfile__trim_left(s, n);

	return i < n && s[i] == '#';
}

/* lineContinuationRegex: ([^E])E[ \t]*$ | ^E[ \t]*$ ; returns the kept length or n (no match). */
static size_t continuation(const pstate *ps, const char *s, size_t n, bool *more)
{
	size_t k = n;

	while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
		k--;
	if (k >= 1 && (uint32_t)(unsigned char)s[k - 1] == ps->esc &&
	    (k == 1 || (uint32_t)(unsigned char)s[k - 2] != ps->esc)) {
		*more = true;
		return k - 1;
	}
	*more = false;
	return n;
}

/* ---- directives ---- */

static bool re_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * DirectiveParser.ParseLine: ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$
 * Returns 1 for a directive (recorded), 0 otherwise, <0 on error.
 */
static int directive(pstate *ps, const char *s, size_t n, uint32_t line, uint32_t col)
{
	size_t i = 1, ks, ke, vs, ve;
	char key[16];

	if (ps->dir_done)
		return 0;
	if (n == 0 || s[0] != '#')
		goto done;
	while (i < n && re_space(s[i]))
		i++;
	ks = i;
	if (i >= n || !is_alpha(s[i]))
		goto done;
	while (i < n && (is_alpha(s[i]) || (s[i] >= '0' && s[i] <= '9')))
		i++;
	ke = i;
	while (i < n && re_space(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		goto done;
	i++;
	vs = i;
	while (vs < n && re_space(s[vs]))
		vs++;
	ve = n;
	while (ve > vs && re_space(s[ve - 1]))
		ve--;
	if (vs == n) {
		/* Only spaces after '=': the lazy (.+?) still takes the last one. */
		if (i == n)
			goto done;
		vs = n - 1;
		ve = n;
	}
	if (ke - ks >= sizeof(key))
		goto done;
	for (size_t k = ks; k < ke; k++)
		key[k - ks] = (char)((s[k] >= 'A' && s[k] <= 'Z') ? s[k] + 32 : s[k]);
	key[ke - ks] = '\0';
	if (strcmp(key, "syntax") && strcmp(key, "escape") && strcmp(key, "check"))
		goto done;
	for (size_t d = 0; d < ps->ndir; d++)
		if (strcmp(ps->dirs[d].name, key) == 0)
			return fail_at(ps, BERTH_EINVALID, line, col,
				       "only one %s parser directive can be used", key);
	if (strcmp(key, "escape") == 0) {
		if (ve - vs != 1 || (s[vs] != '\\' && s[vs] != '`'))
			return fail_at(ps, BERTH_EINVALID, line, col + (uint32_t)vs,
				       "invalid escape token '%.*s' does not match ` or \\",
				       (int)(ve - vs > 40 ? 40 : ve - vs), s + vs);
		ps->esc = (uint32_t)(unsigned char)s[vs];
	}
	if (ps->ndir == sizeof(ps->dirs) / sizeof(ps->dirs[0]))
		goto done;
	ps->dirs[ps->ndir].name = berth_pool_strdup(ps->pool, key);
	ps->dirs[ps->ndir].value = berth_pool_strndup(ps->pool, s + vs, ve - vs);
	ps->dirs[ps->ndir].pos = (berth_df_pos){line, col};
	if (!ps->dirs[ps->ndir].name || !ps->dirs[ps->ndir].value)
		return berth_error_set(BERTH_ERROR, "out of memory");
	ps->ndir++;
	return 1;
done:
	ps->dir_done = true;
	return 0;
}

/* ---- comments above an instruction (PrevComment) ---- */

static int comment_line(pstate *ps, const char *raw, size_t rawlen)
{
	size_t a, b;

	if (!is_comment(raw, rawlen))
		return 0;
	/* BuildKit takes the bytes after the first one (even when it is indentation). */
	a = 1 + berth_dockerfile__trim_left(raw + 1, rawlen - 1);
	b = berth_dockerfile__trim_right(raw, rawlen);
	if (b <= a) {
		ps->ncomments = 0;
		return 0;
	}
	if (ps->ncomments == ps->capcomments) {
		size_t nc = ps->capcomments ? ps->capcomments * 2 : 8;
		char **p = realloc(ps->comments, nc * sizeof(*p));

		if (!p)
			return berth_error_set(BERTH_ERROR, "out of memory");
		ps->comments = p;
		ps->capcomments = nc;
	}
	if (!(ps->comments[ps->ncomments] = berth_pool_strndup(ps->pool, raw + a, b - a)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	ps->ncomments++;
	return 0;
}

/* ---- one logical line ---- */

static int u32_push(pstate *ps, uint32_t **arr, size_t *n, size_t *cap, uint32_t v)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		uint32_t *p = realloc(*arr, nc * sizeof(*p));

		if (!p)
			return berth_error_set(BERTH_ERROR, "out of memory");
		*arr = p;
		*cap = nc;
	}
	(*arr)[(*n)++] = v;
	return 0;
}

static int logical_put(pstate *ps, const char *s, size_t n, uint32_t line)
{
	if (ps->logical.len + n > BERTH_DF_MAX_LOGICAL)
		return fail_at(ps, BERTH_ETOOBIG, line, 1,
			       "instruction is longer than %u bytes after joining its lines",
			       BERTH_DF_MAX_LOGICAL);
	if (berth_buf_put(&ps->logical, s, n) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

/*
 * Read the continuation lines after the first one (ps->cur is the next line index). Empty
 * and comment lines are remembered on `in`.
 */
static int read_continuation(pstate *ps, berth_df_instr *in, bool more)
{
	uint32_t *empty = NULL, *comm = NULL;
	size_t ne = 0, ce = 0, nc = 0, cc = 0, count = 0;
	int rc = 0;

	while (more && ps->cur < ps->npl) {
		const pline *p = &ps->pl[ps->cur];
		const char *s = ps->text + p->off;
		uint32_t line = (uint32_t)++ps->cur;
		size_t keep;

		if (++count > BERTH_DF_MAX_CONTINUATIONS) {
			rc = fail_at(ps, BERTH_ETOOBIG, line, 1,
				     "instruction continues over more than %u lines",
				     BERTH_DF_MAX_CONTINUATIONS);
			goto done;
		}
		if ((rc = directive(ps, s, p->len, line, 1)) < 0)
			goto done;
		rc = 0;
		if (is_comment(s, p->len)) {
			if ((rc = u32_push(ps, &comm, &nc, &cc, line)) < 0)
				goto done;
			continue;
		}
		if (berth_dockerfile__trim_left(s, p->len) == p->len) {
			if ((rc = u32_push(ps, &empty, &ne, &ce, line)) < 0)
				goto done;
			continue;
		}
		keep = continuation(ps, s, p->len, &more);
		if ((rc = seg_add(ps, ps->logical.len, line, 1)) < 0 ||
		    (rc = logical_put(ps, s, keep, line)) < 0)
			goto done;
	}
	in->args_line = (uint32_t)ps->cur;
	if (ne) {
		in->empty_continuation_lines = berth_pool_alloc(ps->pool, ne * sizeof(uint32_t));
		if (!in->empty_continuation_lines)
			goto oom;
		memcpy(in->empty_continuation_lines, empty, ne * sizeof(uint32_t));
		in->nempty_continuation = ne;
	}
	if (nc) {
		in->comment_continuation_lines = berth_pool_alloc(ps->pool, nc * sizeof(uint32_t));
		if (!in->comment_continuation_lines)
			goto oom;
		memcpy(in->comment_continuation_lines, comm, nc * sizeof(uint32_t));
		in->ncomment_continuation = nc;
	}
	goto done;
oom:
	rc = berth_error_set(BERTH_ERROR, "out of memory");
done:
	free(empty);
	free(comm);
	return rc;
}

/* ---- heredocs ---- */

/* ^(\d*)<<(-?)([^<]*)$ on a word; fills the parts, returns 1 on a match with a non-empty rest. */
static int heredoc_shape(const char *w, unsigned *fd, bool *chomp, const char **rest)
{
	const char *p = w;
	unsigned long v = 0;

	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > 0xFFFFFFFFul)
			v = 0xFFFFFFFFul;
		p++;
	}
	if (p[0] != '<' || p[1] != '<')
		return 0;
	p += 2;
	*chomp = *p == '-';
	if (*chomp)
		p++;
	if (!*p || strchr(p, '<'))
		return 0;
	*fd = (unsigned)v;
	*rest = p;
	return 1;
}

static size_t count_quotes(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\'' || *s == '"';
	return n;
}

/* heredocFromMatch: 1 = a heredoc (name, expand), 0 = not one, <0 = error. */
int berth_dockerfile__heredoc_word(const char *word, char **name, bool *expand, bool *chomp,
				   unsigned *fd)
{
	berth_df_lex_opts o = {'\\', 1, 0, 0, 0};
	berth_df_expansion a, b;
	const char *rest;
	int rc;

	*name = NULL;
	if (!heredoc_shape(word, fd, chomp, &rest))
		return 0;
	if ((rc = berth_dockerfile__lex(&a, rest, strlen(rest), NULL, &o)) < 0)
		return rc;
	if (a.nwords != 1) {
		berth_df_expansion_dispose(&a);
		return 0;
	}
	o.raw_quotes = 1;
	if ((rc = berth_dockerfile__lex(&b, rest, strlen(rest), NULL, &o)) < 0) {
		berth_df_expansion_dispose(&a);
		return rc;
	}
	if (b.nwords != a.nwords) {
		berth_df_expansion_dispose(&a);
		berth_df_expansion_dispose(&b);
		return berth_error_set(
			BERTH_EINVALID,
			"internal lexing of heredoc produced inconsistent results: %s", rest);
	}
	*expand = count_quotes(a.words[0]) == count_quotes(b.words[0]);
	*name = a.words[0];
	a.words[0] = strdup("");
	berth_df_expansion_dispose(&a);
	berth_df_expansion_dispose(&b);
	return 1;
}

static int read_heredoc_body(pstate *ps, berth_df_heredoc *h, berth_df_pos wpos)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_DF_MAX_HEREDOC);
	size_t nlen = strlen(h->name);
	int rc;

	h->start_line = (uint32_t)ps->cur + 1;
	while (ps->cur < ps->npl) {
		const pline *p = &ps->pl[ps->cur];
		const char *s = ps->text + p->off;
		size_t len = p->len, a = 0;

		ps->cur++;
		if (h->strip_tabs)
			while (a < len && s[a] == '\t')
				a++;
		if (len - a == nlen && memcmp(s + a, h->name, nlen) == 0) {
			h->end_line = (uint32_t)ps->cur;
			if (!body.len)
				h->start_line = h->end_line;
			h->body_len = body.len;
			h->body = berth_pool_strndup(ps->pool, body.ptr ? body.ptr : "", body.len);
			berth_buf_dispose(&body);
			return h->body ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
		}
		if ((rc = berth_buf_put(&body, s, p->raw)) < 0) {
			berth_buf_dispose(&body);
			if (rc == BERTH_ETOOBIG)
				return fail_at(ps, rc, (uint32_t)ps->cur, 1,
					       "heredoc %s is longer than %u bytes", h->name,
					       BERTH_DF_MAX_HEREDOC);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
	}
	berth_buf_dispose(&body);
	return fail_at(ps, BERTH_EINVALID, wpos.line, wpos.col,
		       "unterminated heredoc: no line \"%s\" ends it before the end of the file",
		       h->name);
}

static int read_heredocs(pstate *ps, berth_df_instr *in, const berth_df_instr *kindof)
{
	berth_df_lex_opts o = {'\\', 1, 1, 1, 0};
	berth_df_expansion x;
	const char *line = ps->logical.ptr;
	berth_df_heredoc *hs = NULL;
	size_t nh = 0, search = 0;
	int rc = 0;

	if (kindof->form == BERTH_DF_FORM_JSON ||
	    (kindof->kind != BERTH_DF_RUN && kindof->kind != BERTH_DF_COPY &&
	     kindof->kind != BERTH_DF_ADD) ||
	    !strstr(line, "<<"))
		return 0;
	/* Errors of this lexing are ignored, as BuildKit does: no heredocs then. */
	if (berth_dockerfile__lex(&x, line, ps->logical.len, NULL, &o) < 0) {
		berth_error_clear();
		return 0;
	}
	hs = berth_pool_alloc(ps->pool, (x.nwords ? x.nwords : 1) * sizeof(*hs));
	if (!hs) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < x.nwords; i++) {
		berth_df_heredoc *h = &hs[nh];
		char *name;
		bool expand, chomp;
		unsigned fd;
		const char *at;
		berth_df_pos wpos = in->pos;

		rc = berth_dockerfile__heredoc_word(x.words[i], &name, &expand, &chomp, &fd);
		if (rc < 0) {
			char m[300];

			snprintf(m, sizeof(m), "%s", berth_error_last());
			rc = fail_at(ps, BERTH_EINVALID, in->pos.line, in->pos.col, "%s", m);
			goto done;
		}
		if (rc == 0)
			continue;
		rc = 0;
		memset(h, 0, sizeof(*h));
		h->name = berth_pool_strdup(ps->pool, name);
		h->word = berth_pool_strdup(ps->pool, x.words[i]);
		free(name);
		if (!h->name || !h->word) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		h->expand = expand;
		h->strip_tabs = chomp;
		h->fd = fd;
		if ((at = strstr(line + search, x.words[i]))) {
			search = (size_t)(at - line) + strlen(x.words[i]);
			wpos = berth_dockerfile__pos(ps, (size_t)(at - line));
		}
		if ((rc = read_heredoc_body(ps, h, wpos)) < 0)
			goto done;
		nh++;
	}
	in->heredocs = nh ? hs : NULL;
	in->nheredocs = nh;
done:
	berth_df_expansion_dispose(&x);
	return rc;
}

/* ---- the main loop ---- */

/* The next instruction slot. The array lives in the result's pool, sized
 * once from the line count (an instruction starts on a line of its own, so
 * it never grows for a whole file): no realloc and no copy at the end. */
static int push_instr(pstate *ps, berth_df_instr **slot)
{
	if (ps->ninstrs >= BERTH_DF_MAX_INSTRUCTIONS)
		return fail_at(ps, BERTH_ETOOBIG, (uint32_t)ps->cur, 1, "more than %u instructions",
			       BERTH_DF_MAX_INSTRUCTIONS);
	if (ps->ninstrs == ps->capinstrs) {
		size_t nc = ps->capinstrs ? ps->capinstrs * 2 : 64;
		berth_df_instr *p = berth_pool_alloc(ps->pool, nc * sizeof(*p));

		if (!p)
			return berth_error_set(BERTH_ERROR, "out of memory");
		if (ps->ninstrs)
			memcpy(p, ps->instrs, ps->ninstrs * sizeof(*p));
		ps->instrs = p;
		ps->capinstrs = nc;
	}
	*slot = &ps->instrs[ps->ninstrs++];
	memset(*slot, 0, sizeof(**slot));
	return 0;
}

static int one_instruction(pstate *ps, const char *tok, size_t toklen, uint32_t line, uint32_t col)
{
	berth_df_instr *in = NULL;
	bool more;
	size_t keep = continuation(ps, tok, toklen, &more);
	int rc;

	if (!more && keep == 0)
		return 0;
	berth_buf_reset(&ps->logical);
	ps->nseg = 0;
	if ((rc = seg_add(ps, 0, line, col)) < 0 || (rc = logical_put(ps, tok, keep, line)) < 0 ||
	    (rc = push_instr(ps, &in)) < 0)
		return rc;
	in->args_line = line;
	if ((rc = read_continuation(ps, in, more)) < 0)
		return rc;
	if (berth_buf_puts(&ps->logical, "") < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_dockerfile__build_instr(ps, in, 0, ps->logical.len)) < 0)
		return rc;
	if ((rc = read_heredocs(ps, in, in->kind == BERTH_DF_ONBUILD && in->sub ? in->sub : in)) <
	    0)
		return rc;
	in->end_line = (uint32_t)ps->cur;
	if (ps->ncomments) {
		in->comments = berth_pool_alloc(ps->pool, ps->ncomments * sizeof(char *));
		if (!in->comments)
			return berth_error_set(BERTH_ERROR, "out of memory");
		memcpy(in->comments, ps->comments, ps->ncomments * sizeof(char *));
		in->ncomments = ps->ncomments;
	}
	ps->ncomments = 0;
	return 0;
}

static int parse_lines(pstate *ps)
{
	int rc;

	while (ps->cur < ps->npl) {
		const pline *p = &ps->pl[ps->cur];
		const char *raw = ps->text + p->off;
		uint32_t line = (uint32_t)++ps->cur;
		size_t lt = berth_dockerfile__trim_left(raw, p->len);
		const char *tok = raw + lt;
		size_t toklen = p->len - lt;

		if ((rc = comment_line(ps, raw, p->raw)) < 0)
			return rc;
		if ((rc = directive(ps, tok, toklen, line, (uint32_t)lt + 1)) < 0)
			return rc;
		if (rc == 1 && ps->ncomments)
			ps->ncomments--;
		if (is_comment(tok, toklen))
			continue;
		if ((rc = one_instruction(ps, tok, toklen, line, (uint32_t)lt + 1)) < 0)
			return rc;
	}
	return 0;
}

/* ---- stages and the finished tree ---- */

static int build_stages(pstate *ps)
{
	berth_dockerfile *df = ps->df;
	size_t n = 0, cur = BERTH_DF_NO_STAGE;

	for (size_t i = 0; i < df->ninstrs; i++)
		n += df->instrs[i].kind == BERTH_DF_FROM;
	df->stages = berth_pool_alloc(ps->pool, (n ? n : 1) * sizeof(*df->stages));
	if (!df->stages)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < df->ninstrs; i++) {
		berth_df_instr *in = &df->instrs[i];

		if (in->kind == BERTH_DF_FROM) {
			berth_df_stage *st = &df->stages[df->nstages];
			const berth_df_flag *pf = berth_dockerfile_flag(in, "platform");

			memset(st, 0, sizeof(*st));
			if (cur != BERTH_DF_NO_STAGE)
				df->stages[cur].end = i;
			cur = df->nstages++;
			st->index = cur;
			st->from = i;
			st->first = i + 1;
			st->end = df->ninstrs;
			st->base = in->nargs ? in->args[0].text : "";
			st->platform = pf ? pf->value : NULL;
			if (in->nargs == 3 && berth_dockerfile__strcaseeq(in->args[1].text, "as")) {
				st->name = in->args[2].text;
				st->name_lower = berth_pool_strdup(ps->pool, st->name);
				if (!st->name_lower)
					return berth_error_set(BERTH_ERROR, "out of memory");
				for (char *c = st->name_lower; *c; c++)
					if (*c >= 'A' && *c <= 'Z')
						*c = (char)(*c + 32);
			}
		}
		in->stage = cur;
	}
	return 0;
}

static int finish(pstate *ps)
{
	berth_dockerfile *df = ps->df;

	df->lines = berth_pool_alloc(ps->pool, (ps->npl ? ps->npl : 1) * sizeof(char *));
	if (!df->lines)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < ps->npl; i++) {
		df->lines[i] =
			berth_pool_strndup(ps->pool, ps->text + ps->pl[i].off, ps->pl[i].len);
		if (!df->lines[i])
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	df->nlines = ps->npl;
	df->instrs = ps->instrs; /* in the pool already */
	df->ninstrs = ps->ninstrs;
	if (ps->ndir) {
		df->directives = berth_pool_alloc(ps->pool, ps->ndir * sizeof(*df->directives));
		if (!df->directives)
			return berth_error_set(BERTH_ERROR, "out of memory");
		memcpy(df->directives, ps->dirs, ps->ndir * sizeof(*df->directives));
		df->ndirectives = ps->ndir;
	}
	df->escape = ps->esc;
	return build_stages(ps);
}

int berth_dockerfile_parse(berth_dockerfile **out, const char *text, size_t len, const char *name,
			   berth_df_error *err)
{
	berth_df_impl *impl = calloc(1, sizeof(*impl));
	pstate ps = {0};
	int rc;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (!impl)
		return berth_error_set(BERTH_ERROR, "out of memory");
	berth_pool_init(&impl->pool);
	ps.df = &impl->pub;
	ps.pool = &impl->pool;
	ps.err = err;
	ps.esc = '\\';
	berth_buf_init(&ps.logical, 0);
	if (!(impl->pub.name = berth_pool_strdup(&impl->pool, name ? name : "Dockerfile"))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (len > BERTH_DF_MAX_FILE) {
		rc = berth_dockerfile__fail_src(impl->pub.name, NULL, 0, err, BERTH_ETOOBIG,
						(berth_df_pos){0, 0},
						"file is larger than 16777216 bytes");
		goto done;
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;
		len -= 3;
		impl->pub.had_bom = 1;
	}
	ps.text = text;
	ps.len = len;
	if ((rc = split_lines(&ps)) < 0)
		goto done;
	ps.capinstrs = ps.npl < BERTH_DF_MAX_INSTRUCTIONS ? ps.npl : BERTH_DF_MAX_INSTRUCTIONS;
	if (ps.capinstrs &&
	    !(ps.instrs = berth_pool_alloc(ps.pool, ps.capinstrs * sizeof(*ps.instrs)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = parse_lines(&ps)) < 0)
		goto done;
	if (ps.ninstrs == 0) {
		rc = berth_dockerfile__fail_src(impl->pub.name, NULL, 0, err, BERTH_EINVALID,
						(berth_df_pos){0, 0}, "file with no instructions");
		goto done;
	}
	if ((rc = finish(&ps)) < 0)
		goto done;
	*out = &impl->pub;
	/* now owned by the caller */ impl = NULL;
done:
	free(ps.pl);
	free(ps.segs);
	free(ps.comments);
	berth_buf_dispose(&ps.logical);
	if (impl) {
		berth_pool_dispose(&impl->pool);
		free(impl);
	}
	return rc;
}

void berth_dockerfile_free(berth_dockerfile *df)
{
	berth_df_impl *impl = (berth_df_impl *)df;

	if (!df)
		return;
	berth_pool_dispose(&impl->pool);
	free(impl);
}

int berth_dockerfile_parse_file(berth_dockerfile **out, const char *path, berth_df_error *err)
{
	berth_buf b = BERTH_BUF_INIT(BERTH_DF_MAX_FILE + 1);
	bool stdin_ = strcmp(path, "-") == 0;
	int fd = stdin_ ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (fd < 0)
		return berth_error_set_errno("%s", path);
	for (;;) {
		char chunk[65536];
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = berth_error_set_errno("read %s", path);
			break;
		}
		if (r == 0)
			break;
		if ((rc = berth_buf_put(&b, chunk, (size_t)r)) < 0) {
			rc = berth_dockerfile__fail_src(
				stdin_ ? "<stdin>" : path, NULL, 0, err,
				rc == BERTH_ETOOBIG ? BERTH_ETOOBIG : BERTH_ERROR,
				(berth_df_pos){0, 0}, "file is larger than 16777216 bytes");
			break;
		}
	}
	if (!stdin_)
		close(fd);
	if (rc == 0)
		rc = berth_dockerfile_parse(out, b.ptr ? b.ptr : "", b.len,
					    stdin_ ? "<stdin>" : path, err);
	berth_buf_dispose(&b);
	return rc;
}
