/*
 * words.c - one logical line -> one instruction, as BuildKit's
 * splitCommand, extractBuilderFlags and the per-keyword line parsers
 * (parser/line_parsers.go) read it:
 *
 *   keyword       up to the first [\t\v\f\r ] after TrimSpace;
 *   flags         leading "--" words; quotes removed and '\' escapes applied
 *                 (always backslash); byte-wise, so a byte >= 0x80 becomes
 *                 the rune of that value, as BuildKit's rune(line[pos]) does;
 *   arguments     per keyword: JSON array or shell form, whitespace-split
 *                 words, quote-aware words (ENV LABEL ARG), one string.
 *
 * Every word records the offset where it starts in the logical line, turned
 * into a source position through the parser's segments.
 */
#include "json.h"
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* [\t\v\f\r ] — BuildKit's reWhitespace. */
static bool re_ws(char c)
{
	return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' ';
}

/* unicode.IsSpace(rune(byte)) as extractBuilderFlags and parseHealthConfig use it. */
static bool byte_space(unsigned char c)
{
	return c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r' || c == ' ' ||
	       c == 0x85 || c == 0xA0;
}

typedef struct wlist {
	berth_df_word *w;
	size_t n, cap;
} wlist;

static int wl_add(pstate *ps, wlist *l, const char *s, size_t n, size_t loff)
{
	if (l->n == l->cap) {
		size_t nc = l->cap ? l->cap * 2 : 8;
		berth_df_word *p = realloc(l->w, nc * sizeof(*p));

		if (!p)
			return berth_error_set(BERTH_ERROR, "out of memory");
		l->w = p;
		l->cap = nc;
	}
	l->w[l->n].text = berth_pool_strndup(ps->pool, s, n);
	if (!l->w[l->n].text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	l->w[l->n++].pos = berth_dockerfile__pos(ps, loff);
	return 0;
}

static int wl_finish(pstate *ps, wlist *l, berth_df_word **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (l->n) {
		*out = berth_pool_alloc(ps->pool, l->n * sizeof(**out));
		if (!*out) {
			free(l->w);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
		memcpy(*out, l->w, l->n * sizeof(**out));
		*n = l->n;
	}
	free(l->w);
	l->w = NULL;
	l->n = l->cap = 0;
	return 0;
}

static int fail_pos(pstate *ps, size_t loff, const char *msg)
{
	berth_df_pos p = berth_dockerfile__pos(ps, loff);
	const char *line = NULL;
	size_t ll = 0;

	if (p.line >= 1 && p.line <= ps->npl) {
		line = ps->text + ps->pl[p.line - 1].off;
		ll = ps->pl[p.line - 1].len;
	}
	return berth_dockerfile__fail_src(ps->df->name, line, ll, ps->err, BERTH_EINVALID, p, msg);
}

/* ---- flags ---- */

static int put_byte_rune(berth_buf *b, unsigned char c)
{
	return berth_dockerfile__put_rune(b, c);
}

static int add_flag(pstate *ps, berth_df_flag **fl, size_t *n, size_t *cap, berth_buf *word,
		    size_t loff)
{
	berth_df_flag *f;
	const char *w = word->ptr ? word->ptr : "", *eq;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;
		berth_df_flag *p = realloc(*fl, nc * sizeof(*p));

		if (!p)
			return berth_error_set(BERTH_ERROR, "out of memory");
		*fl = p;
		*cap = nc;
	}
	f = &(*fl)[(*n)++];
	memset(f, 0, sizeof(*f));
	f->raw = berth_pool_strndup(ps->pool, w, word->len);
	f->pos = berth_dockerfile__pos(ps, loff);
	if (!f->raw)
		return berth_error_set(BERTH_ERROR, "out of memory");
	/* The name is what follows "--" up to '=' (BFlags.Parse). A word not starting with "--"
	 * cannot happen here but is kept whole as the name. */
	w = f->raw;
	if (strncmp(w, "--", 2) == 0)
		w += 2;
	eq = strchr(w, '=');
	f->name = berth_pool_strndup(ps->pool, w, eq ? (size_t)(eq - w) : strlen(w));
	if (eq)
		f->value = berth_pool_strdup(ps->pool, eq + 1);
	if (!f->name || (eq && !f->value))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

/*
 * extractBuilderFlags over L[s..e): flag words into in->flags; *rest = offset of the text
 * that follows them.
 */
static int extract_flags(pstate *ps, berth_df_instr *in, const char *L, size_t s, size_t e,
			 size_t *rest)
{
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	berth_buf word = BERTH_BUF_INIT(BERTH_DF_MAX_LOGICAL * 2);
	berth_df_flag *fl = NULL;
	size_t nfl = 0, capfl = 0, wstart = s;
	bool blank_ok = false;
	unsigned char quote = 0, ch = 0;
	int rc = 0;

	*rest = e;
	for (size_t pos = s; pos <= e; pos++) {
		if (pos != e)
			ch = (unsigned char)L[pos];
		if (phase == SPACES) {
			if (pos == e)
				break;
			if (byte_space(ch))
				continue;
			if (ch != '-' || pos + 1 == e || L[pos + 1] != '-') {
				*rest = pos;
				goto out;
			}
			phase = WORD;
			wstart = pos;
		}
		if (pos == e) {
			if (!(word.len == 2 && memcmp(word.ptr, "--", 2) == 0) &&
			    (blank_ok || word.len))
				rc = add_flag(ps, &fl, &nfl, &capfl, &word, wstart);
			break;
		}
		if (phase == WORD) {
			if (byte_space(ch)) {
				phase = SPACES;
				if (word.len == 2 && memcmp(word.ptr, "--", 2) == 0) {
					*rest = pos;
					goto out;
				}
				if ((blank_ok || word.len) &&
				    (rc = add_flag(ps, &fl, &nfl, &capfl, &word, wstart)) < 0)
					goto out;
				berth_buf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
				continue;
			}
		} else if (ch == quote) { /* QUOTE */
			phase = WORD;
			continue;
		}
		if (ch == '\\') {
			if (pos + 1 == e) {
				if (phase == QUOTE)
					phase = WORD;
				continue;
			}
			ch = (unsigned char)L[++pos];
		}
		if (put_byte_rune(&word, ch) < 0) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto out;
		}
	}
	*rest = e;
out:
	berth_buf_dispose(&word);
	if (rc == 0 && nfl) {
		in->flags = berth_pool_alloc(ps->pool, nfl * sizeof(*fl));
		if (!in->flags)
			rc = berth_error_set(BERTH_ERROR, "out of memory");
		else
			memcpy(in->flags, fl, nfl * sizeof(*fl));
		in->nflags = nfl;
	}
	free(fl);
	return rc;
}

/* ---- argument forms ---- */

/*
 * parseStringsWhitespaceDelimited: reWhitespace.Split(rest, -1). The text is already
 * TrimSpace'd, so it neither starts nor ends with a separator.
 */
static int split_ws(pstate *ps, wlist *l, const char *L, size_t s, size_t e)
{
	size_t i = s;
	int rc;

	while (i < e) {
		size_t st = i;

		while (i < e && !re_ws(L[i]))
			i++;
		if ((rc = wl_add(ps, l, L + st, i - st, st)) < 0)
			return rc;
		while (i < e && re_ws(L[i]))
			i++;
	}
	return 0;
}

/* parseWords: quote-aware words, quotes and escapes kept. */
static int parse_words(pstate *ps, wlist *l, const char *L, size_t s, size_t e)
{
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	berth_buf word = BERTH_BUF_INIT(0);
	size_t pos = s, w = 0, wstart = s;
	uint32_t ch = 0, quote = 0;
	bool blank_ok = false;
	int rc = 0;

	for (; pos <= e; pos += w) {
		if (pos != e)
			ch = berth_dockerfile__rune(L + pos, e - pos, &w);
		else
			w = 0;
		if (phase == SPACES) {
			if (pos == e)
				break;
			if (berth_dockerfile__is_space(ch))
				continue;
			phase = WORD;
			wstart = pos;
		}
		if (pos == e) {
			if (blank_ok || word.len)
				rc = wl_add(ps, l, word.ptr ? word.ptr : "", word.len, wstart);
			break;
		}
		if (phase == WORD) {
			if (berth_dockerfile__is_space(ch)) {
				phase = SPACES;
				if ((blank_ok || word.len) &&
				    (rc = wl_add(ps, l, word.ptr ? word.ptr : "", word.len,
						 wstart)) < 0)
					break;
				berth_buf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
			}
			if (ch == ps->esc) {
				if (pos + w == e)
					continue;
				/* escape + next char are both kept */
				if ((rc = berth_dockerfile__put_rune(&word, ch)) < 0)
					break;
				pos += w;
				ch = berth_dockerfile__rune(L + pos, e - pos, &w);
			}
		} else {
			if (ch == quote)
				phase = WORD;
			if (ch == ps->esc && quote != '\'') {
				if (pos + w == e) {
					phase = WORD;
					continue;
				}
				if ((rc = berth_dockerfile__put_rune(&word, ch)) < 0)
					break;
				pos += w;
				ch = berth_dockerfile__rune(L + pos, e - pos, &w);
			}
		}
		if ((rc = berth_dockerfile__put_rune(&word, ch)) < 0)
			break;
	}
	berth_buf_dispose(&word);
	return rc < 0 ? berth_error_set(BERTH_ERROR, "out of memory") : 0;
}

/* JSON form if the text is a JSON array of strings; 1 = JSON, 0 = not, <0 = error. */
static int maybe_json(pstate *ps, berth_df_instr *in, wlist *l, const char *L, size_t s, size_t e)
{
	berth_df_json_item *items;
	size_t n;
	int r;

	s += berth_dockerfile__trim_left(L + s, e - s);
	r = berth_dockerfile__json_array(&items, &n, L + s, e - s);
	if (r == -1)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (r == -2)
		return fail_pos(ps, s,
				"when using JSON array syntax, arrays must be comprised of strings "
				"only");
	if (r == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if ((r = wl_add(ps, l, items[i].text, items[i].len, s + items[i].off)) < 0) {
			berth_dockerfile__json_free(items, n);
			return r;
		}
	}
	berth_dockerfile__json_free(items, n);
	in->form = BERTH_DF_FORM_JSON;
	return 1;
}

static int add_kv(pstate *ps, berth_df_kv **kv, size_t *n, size_t *cap, const char *k, size_t kn,
		  const char *v, size_t vn, bool has, berth_df_pos pos)
{
	berth_df_kv *p;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 4;

		if (!(p = realloc(*kv, nc * sizeof(*p))))
			return berth_error_set(BERTH_ERROR, "out of memory");
		*kv = p;
		*cap = nc;
	}
	p = &(*kv)[(*n)++];
	p->key = berth_pool_strndup(ps->pool, k, kn);
	p->value = berth_pool_strndup(ps->pool, v ? v : "", v ? vn : 0);
	p->has_value = has;
	p->pos = pos;
	return p->key && p->value ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}

static int kv_finish(pstate *ps, berth_df_instr *in, berth_df_kv *kv, size_t n)
{
	if (n) {
		in->kvs = berth_pool_alloc(ps->pool, n * sizeof(*kv));
		if (!in->kvs) {
			free(kv);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
		memcpy(in->kvs, kv, n * sizeof(*kv));
		in->nkvs = n;
	}
	free(kv);
	return 0;
}

/* parseNameVal (ENV, LABEL): "KEY value" (legacy) or KEY=value words. */
static int name_val(pstate *ps, berth_df_instr *in, wlist *l, const char *L, size_t s, size_t e,
		    const char *what)
{
	berth_df_kv *kv = NULL;
	size_t nkv = 0, ckv = 0;
	int rc;
	char msg[600];

	if ((rc = parse_words(ps, l, L, s, e)) < 0 || l->n == 0)
		return rc;
	if (!strchr(l->w[0].text, '=')) {
		size_t k = s, v;

		while (k < e && !re_ws(L[k]))
			k++;
		v = k;
		while (v < e && re_ws(L[v]))
			v++;
		if (k == e) {
			snprintf(msg, sizeof(msg), "%s must have two arguments", what);
			return fail_pos(ps, s, msg);
		}
		in->legacy_kv = 1;
		rc = add_kv(ps, &kv, &nkv, &ckv, L + s, k - s, L + v, e - v, true,
			    berth_dockerfile__pos(ps, s));
		return rc < 0 ? (free(kv), rc) : kv_finish(ps, in, kv, nkv);
	}
	for (size_t i = 0; i < l->n; i++) {
		const char *w = l->w[i].text, *eq = strchr(w, '=');

		if (!eq) {
			free(kv);
			snprintf(msg, sizeof(msg),
				 "Syntax error - can't find = in \"%.200s\". Must be of the form: "
				 "name=value",
				 w);
			return berth_dockerfile__fail_src(
				ps->df->name,
				l->w[i].pos.line ? ps->text + ps->pl[l->w[i].pos.line - 1].off
						 : NULL,
				l->w[i].pos.line ? ps->pl[l->w[i].pos.line - 1].len : 0, ps->err,
				BERTH_EINVALID, l->w[i].pos, msg);
		}
		if ((rc = add_kv(ps, &kv, &nkv, &ckv, w, (size_t)(eq - w), eq + 1, strlen(eq + 1),
				 true, l->w[i].pos)) < 0) {
			free(kv);
			return rc;
		}
	}
	return kv_finish(ps, in, kv, nkv);
}

/* ARG: parseNameOrNameVal words, split at the first '='. */
static int arg_words(pstate *ps, berth_df_instr *in, wlist *l, const char *L, size_t s, size_t e)
{
	berth_df_kv *kv = NULL;
	size_t nkv = 0, ckv = 0;
	int rc;

	if ((rc = parse_words(ps, l, L, s, e)) < 0)
		return rc;
	for (size_t i = 0; i < l->n; i++) {
		const char *w = l->w[i].text, *eq = strchr(w, '=');

		rc = add_kv(ps, &kv, &nkv, &ckv, w, eq ? (size_t)(eq - w) : strlen(w),
			    eq ? eq + 1 : NULL, eq ? strlen(eq + 1) : 0, eq != NULL, l->w[i].pos);
		if (rc < 0) {
			free(kv);
			return rc;
		}
	}
	return kv_finish(ps, in, kv, nkv);
}

static int shell_or_json(pstate *ps, berth_df_instr *in, wlist *l, const char *L, size_t s,
			 size_t e, bool list)
{
	int rc;

	if (s == e && !list)
		return 0;
	if ((rc = maybe_json(ps, in, l, L, s, e)) != 0)
		return rc < 0 ? rc : 0;
	in->form = s == e ? BERTH_DF_FORM_NONE : BERTH_DF_FORM_SHELL;
	if (list)
		return split_ws(ps, l, L, s, e);
	return wl_add(ps, l, L + s, e - s, s);
}

static int healthcheck(pstate *ps, berth_df_instr *in, wlist *l, const char *L, size_t s, size_t e)
{
	size_t sep = s, nx;

	while (sep < e && !byte_space((unsigned char)L[sep]))
		sep++;
	nx = sep;
	while (nx < e && byte_space((unsigned char)L[nx]))
		nx++;
	if (sep == s)
		return 0;
	in->subtype = berth_pool_strndup(ps->pool, L + s, sep - s);
	if (!in->subtype)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return shell_or_json(ps, in, l, L, nx, e, false);
}

static int dispatch(pstate *ps, berth_df_instr *in, wlist *l, const char *L, size_t s, size_t e)
{
	int rc;

	switch (in->kind) {
	case BERTH_DF_ADD:
	case BERTH_DF_COPY:
	case BERTH_DF_VOLUME: return shell_or_json(ps, in, l, L, s, e, true);
	case BERTH_DF_RUN:
	case BERTH_DF_CMD:
	case BERTH_DF_ENTRYPOINT:
	case BERTH_DF_SHELL: return shell_or_json(ps, in, l, L, s, e, false);
	case BERTH_DF_FROM:
	case BERTH_DF_EXPOSE:
		in->form = s == e ? BERTH_DF_FORM_NONE : BERTH_DF_FORM_SHELL;
		return split_ws(ps, l, L, s, e);
	case BERTH_DF_ENV:
	case BERTH_DF_LABEL:
		in->form = s == e ? BERTH_DF_FORM_NONE : BERTH_DF_FORM_SHELL;
		return name_val(ps, in, l, L, s, e, in->kind == BERTH_DF_ENV ? "ENV" : "LABEL");
	case BERTH_DF_ARG:
		in->form = s == e ? BERTH_DF_FORM_NONE : BERTH_DF_FORM_SHELL;
		return arg_words(ps, in, l, L, s, e);
	case BERTH_DF_HEALTHCHECK: return healthcheck(ps, in, l, L, s, e);
	case BERTH_DF_ONBUILD:
		if (s == e)
			return 0;
		in->form = BERTH_DF_FORM_SHELL;
		in->sub = berth_pool_alloc(ps->pool, sizeof(*in->sub));
		if (!in->sub)
			return berth_error_set(BERTH_ERROR, "out of memory");
		memset(in->sub, 0, sizeof(*in->sub));
		/* set before parsing it: an ONBUILD ONBUILD nests once more */
		in->sub->args_line = in->args_line;
		in->sub->end_line = in->args_line;
		if ((rc = berth_dockerfile__build_instr(ps, in->sub, s, e - s)) < 0)
			return rc;
		in->sub->stage = BERTH_DF_NO_STAGE;
		return wl_add(ps, l, L + s, e - s, s);
	default: /* MAINTAINER STOPSIGNAL USER WORKDIR and unknown keywords: one string */
		if (s == e)
			return 0;
		in->form = BERTH_DF_FORM_SHELL;
		return wl_add(ps, l, L + s, e - s, s);
	}
}

int berth_dockerfile__build_instr(pstate *ps, berth_df_instr *in, size_t off, size_t len)
{
	const char *L = ps->logical.ptr;
	size_t a = off + berth_dockerfile__trim_left(L + off, len);
	size_t b = off + berth_dockerfile__trim_right(L + off, len);
	size_t k = a, rest, as, ae;
	wlist l = {NULL, 0, 0};
	int rc;

	while (k < b && !re_ws(L[k]))
		k++;
	in->name = berth_pool_strndup(ps->pool, L + a, k - a);
	in->original = berth_pool_strndup(ps->pool, L + off, len);
	if (!in->name || !in->original)
		return berth_error_set(BERTH_ERROR, "out of memory");
	in->kind = berth_dockerfile_kind_of(in->name);
	in->pos = berth_dockerfile__pos(ps, a);
	in->stage = BERTH_DF_NO_STAGE;
	rest = k;
	while (rest < b && re_ws(L[rest]))
		rest++;
	if (rest < b && (rc = extract_flags(ps, in, L, rest, b, &rest)) < 0)
		return rc;
	as = rest + berth_dockerfile__trim_left(L + rest, b - rest);
	ae = rest + berth_dockerfile__trim_right(L + rest, b - rest);
	if (ae < as)
		ae = as;
	in->args_text = berth_pool_strndup(ps->pool, L + as, ae - as);
	if (!in->args_text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	in->args_pos = as < ae ? berth_dockerfile__pos(ps, as) : in->pos;
	if ((rc = dispatch(ps, in, &l, L, as, ae)) < 0) {
		free(l.w);
		return rc;
	}
	return wl_finish(ps, &l, &in->args, &in->nargs);
}
