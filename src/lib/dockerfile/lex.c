/*
 * lex.c - BuildKit's shell-word lexer (frontend/dockerfile/shell): variable
 * expansion, quotes and escapes, and word splitting, for the instructions
 * BuildKit expands and for heredoc detection.
 *
 * The behaviour follows BuildKit's lexer rune by rune, quirks included:
 * "${v" reports an unsupported modifier, "${v:#p}" is refused, patterns of
 * # % / are shell globs without bracket expressions whose * and ? do not
 * match a newline (they become Go regexps where '.' excludes '\n'), and
 * "${v//p/r}" expands "$0"/"$$" in r as Go's Regexp.ReplaceAllString does.
 * One deliberate difference is documented in docs/dockerfile-json.md: the
 * word list of ProcessWords keeps the text before a "${...}" with a modifier
 * (BuildKit v0.2x resets a shared buffer there and drops it).
 *
 * Patterns run on a small NFA (token list, set of states), never a
 * backtracking matcher, so hostile input stays linear per search.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEX_EOF (-1)

typedef struct strlist {
	char **items;
	size_t n, cap;
} strlist;

typedef struct lexer {
	const char *s;
	size_t n, pos;
	const berth_df_vars *env;
	int32_t esc;
	bool raw_quotes, raw_escapes, skip_quotes, skip_unset;
	int depth;
	strlist matched, unmatched;
	int code;
	char msg[300];
} lexer;

typedef struct words {
	berth_buf cur;
	strlist list;
	bool in_word;
} words;

static int oom(lexer *lx)
{
	if (!lx->code) {
		lx->code = BERTH_ERROR;
		snprintf(lx->msg, sizeof(lx->msg), "out of memory");
	}
	return -1;
}

static int fail(lexer *lx, int code, const char *fmt, const char *arg)
{
	if (!lx->code) {
		lx->code = code;
		snprintf(lx->msg, sizeof(lx->msg), fmt, arg);
	}
	return -1;
}

/* A berth_buf error is ETOOBIG (cap) or OOM. */
static int buf_fail(lexer *lx, int rc)
{
	if (rc == BERTH_ETOOBIG)
		return fail(lx, BERTH_ETOOBIG, "expanded word is longer than %s bytes", "1048576");
	return oom(lx);
}

static int strlist_add(strlist *l, const char *s, size_t n, bool unique)
{
	if (unique)
		for (size_t i = 0; i < l->n; i++)
			if (strlen(l->items[i]) == n && memcmp(l->items[i], s, n) == 0)
				return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		char **p = realloc(l->items, cap * sizeof(*p));

		if (!p)
			return -1;
		l->items = p;
		l->cap = cap;
	}
	if (!(l->items[l->n] = strndup(s, n)))
		return -1;
	l->n++;
	return 0;
}

static void strlist_free(strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = l->cap = 0;
}

static int32_t peek(const lexer *lx)
{
	size_t w;

	if (lx->pos >= lx->n)
		return LEX_EOF;
	return (int32_t)berth_dockerfile__rune(lx->s + lx->pos, lx->n - lx->pos, &w);
}

static int32_t next(lexer *lx)
{
	size_t w;
	int32_t r;

	if (lx->pos >= lx->n)
		return LEX_EOF;
	r = (int32_t)berth_dockerfile__rune(lx->s + lx->pos, lx->n - lx->pos, &w);
	lx->pos += w;
	return r;
}

static int put(lexer *lx, berth_buf *b, int32_t r)
{
	int rc = berth_dockerfile__put_rune(b, r < 0 ? 0xFFFD : (uint32_t)r);

	return rc < 0 ? buf_fail(lx, rc) : 0;
}

static int puts_n(lexer *lx, berth_buf *b, const char *s, size_t n)
{
	int rc = berth_buf_put(b, s, n);

	return rc < 0 ? buf_fail(lx, rc) : 0;
}

/* ---- words (ProcessWords) ---- */

static int words_push(lexer *lx, words *w)
{
	if (strlist_add(&w->list, w->cur.ptr ? w->cur.ptr : "", w->cur.len, false) < 0)
		return oom(lx);
	berth_buf_reset(&w->cur);
	w->in_word = false;
	return 0;
}

static int words_raw_char(lexer *lx, words *w, int32_t r)
{
	if (!w)
		return 0;
	w->in_word = true;
	return put(lx, &w->cur, r);
}

static int words_char(lexer *lx, words *w, int32_t r)
{
	if (!w)
		return 0;
	if (r >= 0 && berth_dockerfile__is_space((uint32_t)r)) {
		if (w->in_word && w->cur.len)
			return words_push(lx, w);
		return 0;
	}
	return words_raw_char(lx, w, r);
}

static int words_string(lexer *lx, words *w, const char *s, size_t n)
{
	size_t i = 0, k;

	while (w && i < n) {
		int32_t r = (int32_t)berth_dockerfile__rune(s + i, n - i, &k);

		if (words_char(lx, w, r) < 0)
			return -1;
		i += k;
	}
	return 0;
}

static int words_raw_string(lexer *lx, words *w, const char *s, size_t n)
{
	if (!w)
		return 0;
	w->in_word = true;
	return puts_n(lx, &w->cur, s, n);
}

/* ---- environment ---- */

static const char *get_env(lexer *lx, const char *name, size_t n, bool *set)
{
	char tmp[256];
	char *key = n < sizeof(tmp) ? tmp : malloc(n + 1);
	const char *v;

	if (!key) {
		oom(lx);
		*set = false;
		return "";
	}
	memcpy(key, name, n);
	key[n] = '\0';
	v = berth_df_vars_get(lx->env, key);
	*set = v != NULL;
	if (strlist_add(v ? &lx->matched : &lx->unmatched, name, n, true) < 0)
		oom(lx);
	if (key != tmp)
		free(key);
	return v ? v : "";
}

static bool special_param(int32_t c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
	       c == '0';
}

/* processName: a run of letters, digits and '_'; a leading digit run; or one special char. */
static void process_name(lexer *lx, size_t *from, size_t *len)
{
	int32_t c;

	*from = lx->pos;
	while ((c = peek(lx)) != LEX_EOF) {
		if (lx->pos == *from && berth_dockerfile__is_digit((uint32_t)c)) {
			while ((c = peek(lx)) != LEX_EOF && berth_dockerfile__is_digit((uint32_t)c))
				next(lx);
			break;
		}
		if (lx->pos == *from && special_param(c)) {
			next(lx);
			break;
		}
		if (!berth_dockerfile__is_letter((uint32_t)c) &&
		    !berth_dockerfile__is_digit((uint32_t)c) && c != '_')
			break;
		next(lx);
	}
	*len = lx->pos - *from;
}

/* ---- glob patterns of ${v#p} ${v%p} ${v/p/r} ---- */

typedef struct pattern {
	int32_t *tok; /* -1 = '*', -2 = '?', else a literal rune */
	size_t n;
} pattern;

#define TOK_STAR (-1)
#define TOK_ANY (-2)

static int compile_pattern(lexer *lx, pattern *p, const char *s, size_t n)
{
	size_t i = 0, w;

	p->n = 0;
	p->tok = malloc((n + 1) * sizeof(*p->tok));
	if (!p->tok)
		return oom(lx);
	while (i < n) {
		int32_t t = (int32_t)berth_dockerfile__rune(s + i, n - i, &w);

		i += w;
		if (t == '*') {
			t = TOK_STAR;
		} else if (t == '?') {
			t = TOK_ANY;
		} else if (t == '\\') {
			int32_t nx = LEX_EOF;

			if (i < n)
				nx = (int32_t)berth_dockerfile__rune(s + i, n - i, &w);
			/* "\}" and "\/" escape the ${} syntax, not the pattern. */
			if (nx == '}' || nx == '/')
				continue;
			if (nx != '*' && nx != '?' && nx != '\\') {
				char c[8] = "\xEF\xBF\xBD";
				berth_buf b = BERTH_BUF_INIT(8);

				if (nx >= 0 && berth_dockerfile__put_rune(&b, (uint32_t)nx) == 0)
					snprintf(c, sizeof(c), "%s", b.ptr);
				berth_buf_dispose(&b);
				free(p->tok);
				p->tok = NULL;
				return fail(lx, BERTH_EINVALID, "invalid escape '\\%s'", c);
			}
			i += w;
			t = nx;
		}
		p->tok[p->n++] = t;
	}
	return 0;
}

/* Runes of a value with their byte offsets (off[k] = start of rune k, off[nr] = length). */
typedef struct runes {
	int32_t *r;
	size_t *off;
	size_t n;
} runes;

static int decode(lexer *lx, runes *rs, const char *s, size_t n)
{
	size_t i = 0, w;

	rs->n = 0;
	rs->r = malloc((n + 1) * sizeof(*rs->r));
	rs->off = malloc((n + 1) * sizeof(*rs->off));
	if (!rs->r || !rs->off) {
		free(rs->r);
		free(rs->off);
		return oom(lx);
	}
	while (i < n) {
		rs->off[rs->n] = i;
		rs->r[rs->n++] = (int32_t)berth_dockerfile__rune(s + i, n - i, &w);
		i += w;
	}
	rs->off[rs->n] = n;
	return 0;
}

/*
 * NFA over the pattern tokens. st[i] holds the start rune index of the
 * thread in state i (SIZE_MAX = no thread); keeping the smallest start when
 * threads merge gives leftmost matches.
 */
static void closure(const pattern *p, size_t *st)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->tok[i] == TOK_STAR && st[i] != SIZE_MAX && st[i] < st[i + 1])
			st[i + 1] = st[i];
}

static bool step_ok(int32_t tok, int32_t r)
{
	if (tok == TOK_STAR || tok == TOK_ANY)
		return r != '\n';
	return tok == r;
}

/*
 * Find a match in v (runes [from, n)). anchored: only at `from`. longest:
 * the longest match at the leftmost start, else the shortest. Returns 1 and
 * sets *ms, *me (rune indexes), 0 if none, -1 on OOM.
 */
static int nfa_find(const pattern *p, const int32_t *v, size_t n, size_t from, bool anchored,
		    bool longest, size_t *ms, size_t *me)
{
	size_t *st = malloc((p->n + 1) * sizeof(*st)), *nx = malloc((p->n + 1) * sizeof(*nx));
	size_t best_s = SIZE_MAX, best_e = 0;
	int found = 0;

	if (!st || !nx) {
		free(st);
		free(nx);
		return -1;
	}
	for (size_t i = 0; i <= p->n; i++)
		st[i] = SIZE_MAX;
	for (size_t pos = from;; pos++) {
		bool alive = false;

		if (!found && (pos == from || !anchored) && st[0] > pos)
			st[0] = pos;
		closure(p, st);
		if (st[p->n] != SIZE_MAX &&
		    (st[p->n] < best_s || (st[p->n] == best_s && longest))) {
			best_s = st[p->n];
			best_e = pos;
			found = 1;
			if (!longest)
				break;
		}
		if (pos >= n)
			break;
		for (size_t i = 0; i <= p->n; i++)
			nx[i] = SIZE_MAX;
		for (size_t i = 0; i < p->n; i++) {
			size_t s = st[i];

			if (s == SIZE_MAX || (found && s > best_s) || !step_ok(p->tok[i], v[pos]))
				continue;
			if (p->tok[i] == TOK_STAR) {
				if (s < nx[i])
					nx[i] = s;
			} else if (s < nx[i + 1]) {
				nx[i + 1] = s;
			}
			alive = true;
		}
		memcpy(st, nx, (p->n + 1) * sizeof(*st));
		if (!alive && (found || anchored))
			break;
	}
	free(st);
	free(nx);
	if (found) {
		*ms = best_s;
		*me = best_e;
	}
	return found;
}

static void reverse_runes(int32_t *r, size_t n)
{
	for (size_t i = 0; i < n / 2; i++) {
		int32_t t = r[i];

		r[i] = r[n - 1 - i];
		r[n - 1 - i] = t;
	}
}

/* ${v#p} ${v##p} ${v%p} ${v%%p}: the shortest/longest prefix or suffix matching p removed. */
static int trim_match(lexer *lx, berth_buf *out, const char *value, const char *pat, size_t patlen,
		      bool suffix, bool greedy)
{
	pattern p = {NULL, 0};
	runes v = {NULL, NULL, 0};
	size_t ms = 0, me = 0;
	int rc = -1, f;

	if (compile_pattern(lx, &p, pat, patlen) < 0) {
		char tmp[300];

		snprintf(tmp, sizeof(tmp), "%s", lx->msg);
		lx->code = 0;
		snprintf(lx->msg, sizeof(lx->msg), "invalid pattern (%.*s) in substitution: %.150s",
			 (int)(patlen > 80 ? 80 : patlen), pat, tmp);
		lx->code = BERTH_EINVALID;
		return -1;
	}
	if (decode(lx, &v, value, strlen(value)) < 0)
		goto done;
	if (suffix) {
		reverse_runes(p.tok, p.n);
		reverse_runes(v.r, v.n);
	}
	f = nfa_find(&p, v.r, v.n, 0, true, greedy, &ms, &me);
	if (f < 0) {
		oom(lx);
		goto done;
	}
	if (!f)
		me = 0;
	if (suffix) /* me runes were removed from the end */
		rc = puts_n(lx, out, value, v.off[v.n - me]);
	else
		rc = puts_n(lx, out, value + v.off[me], strlen(value) - v.off[me]);
done:
	free(p.tok);
	free(v.r);
	free(v.off);
	return rc;
}

/* Go's Regexp.Expand for a template when the only group is 0 (the match). */
static int expand_template(lexer *lx, berth_buf *out, const char *t, const char *m, size_t mlen)
{
	size_t i = 0, n = strlen(t);

	while (i < n) {
		size_t j = i, k, w;
		bool brace = false;

		if (t[i] != '$') {
			while (j < n && t[j] != '$')
				j++;
			if (puts_n(lx, out, t + i, j - i) < 0)
				return -1;
			i = j;
			continue;
		}
		if (i + 1 < n && t[i + 1] == '$') {
			if (puts_n(lx, out, "$", 1) < 0)
				return -1;
			i += 2;
			continue;
		}
		j = i + 1;
		if (j < n && t[j] == '{') {
			brace = true;
			j++;
		}
		k = j;
		while (k < n) {
			uint32_t r = berth_dockerfile__rune(t + k, n - k, &w);

			if (!berth_dockerfile__is_letter(r) && !berth_dockerfile__is_digit(r) &&
			    r != '_')
				break;
			k += w;
		}
		if (k == j || (brace && (k >= n || t[k] != '}'))) {
			/* Malformed: the '$' is literal text. */
			if (puts_n(lx, out, "$", 1) < 0)
				return -1;
			i++;
			continue;
		}
		/* Only "$0" / "${0}" names a group that exists. */
		if (k - j == 1 && t[j] == '0' && puts_n(lx, out, m, mlen) < 0)
			return -1;
		i = brace ? k + 1 : k;
	}
	return 0;
}

static int replace_match(lexer *lx, berth_buf *out, const char *value, const char *pat,
			 size_t patlen, const char *repl, bool all)
{
	pattern p = {NULL, 0};
	runes v = {NULL, NULL, 0};
	size_t last = 0, search = 0, ms, me;
	int rc = -1, f;

	if (compile_pattern(lx, &p, pat, patlen) < 0) {
		char tmp[300];

		snprintf(tmp, sizeof(tmp), "%s", lx->msg);
		lx->code = 0;
		snprintf(lx->msg, sizeof(lx->msg), "invalid pattern (%.*s) in substitution: %.150s",
			 (int)(patlen > 80 ? 80 : patlen), pat, tmp);
		lx->code = BERTH_EINVALID;
		return -1;
	}
	if (decode(lx, &v, value, strlen(value)) < 0)
		goto done;
	if (!all) {
		f = nfa_find(&p, v.r, v.n, 0, false, true, &ms, &me);
		if (f < 0) {
			oom(lx);
			goto done;
		}
		if (!f)
			rc = puts_n(lx, out, value, strlen(value));
		else if (puts_n(lx, out, value, v.off[ms]) == 0 &&
			 puts_n(lx, out, repl, strlen(repl)) == 0)
			rc = puts_n(lx, out, value + v.off[me], strlen(value) - v.off[me]);
		goto done;
	}
	/* Regexp.ReplaceAllString: successive non-overlapping matches; an empty match right
	 * after a previous match is not replaced. */
	while (search <= v.n) {
		f = nfa_find(&p, v.r, v.n, search, false, true, &ms, &me);
		if (f < 0) {
			oom(lx);
			goto done;
		}
		if (!f)
			break;
		if (puts_n(lx, out, value + v.off[last], v.off[ms] - v.off[last]) < 0)
			goto done;
		if ((me > last || ms == 0) &&
		    expand_template(lx, out, repl, value + v.off[ms], v.off[me] - v.off[ms]) < 0)
			goto done;
		last = me;
		if (search + 1 > me)
			search++;
		else
			search = me;
	}
	rc = puts_n(lx, out, value + v.off[last], strlen(value) - v.off[last]);
done:
	free(p.tok);
	free(v.r);
	free(v.off);
	return rc;
}

/* ---- the lexer proper ---- */

static int stop_on(lexer *lx, int32_t stop, bool raw_esc, berth_buf *result, words *w);

static int single_quote(lexer *lx, berth_buf *out)
{
	int32_t c = next(lx);

	if (lx->raw_quotes && put(lx, out, c) < 0)
		return -1;
	for (;;) {
		c = next(lx);
		if (c == LEX_EOF)
			return fail(lx, BERTH_EINVALID, "%s",
				    "unexpected end of statement while looking for matching "
				    "single-quote");
		if (c == '\'')
			return lx->raw_quotes ? put(lx, out, c) : 0;
		if (put(lx, out, c) < 0)
			return -1;
	}
}

static int dollar(lexer *lx, berth_buf *out);

static int double_quote(lexer *lx, berth_buf *out)
{
	int32_t c = next(lx);

	if (lx->raw_quotes && put(lx, out, c) < 0)
		return -1;
	for (;;) {
		c = peek(lx);
		if (c == LEX_EOF)
			return fail(lx, BERTH_EINVALID, "%s",
				    "unexpected end of statement while looking for matching "
				    "double-quote");
		if (c == '"') {
			next(lx);
			return lx->raw_quotes ? put(lx, out, c) : 0;
		}
		if (c == '$') {
			if (dollar(lx, out) < 0)
				return -1;
			continue;
		}
		c = next(lx);
		if (c == lx->esc) {
			int32_t p;

			if (lx->raw_escapes && put(lx, out, c) < 0)
				return -1;
			p = peek(lx);
			if (p == LEX_EOF)
				continue;
			if (p == '"' || p == '$' || p == lx->esc)
				c = next(lx);
		}
		if (put(lx, out, c) < 0)
			return -1;
	}
}

/* The word of a ${name<op>word}, read up to `stop` into `word`. */
static int modifier_word(lexer *lx, int32_t stop, bool raw_esc, berth_buf *word,
			 const char *eof_msg)
{
	if (stop_on(lx, stop, raw_esc, word, NULL) < 0) {
		if (peek(lx) == LEX_EOF && lx->code == BERTH_EINVALID) {
			lx->code = 0;
			return fail(lx, BERTH_EINVALID, "%s", eof_msg);
		}
		return -1;
	}
	return 0;
}

static int dollar_plain(lexer *lx, berth_buf *out)
{
	size_t from, len;
	bool set;
	const char *v;

	process_name(lx, &from, &len);
	if (len == 0)
		return puts_n(lx, out, "$", 1);
	v = get_env(lx, lx->s + from, len, &set);
	if (!set && lx->skip_unset)
		return puts_n(lx, out, lx->s + from - 1, len + 1);
	return puts_n(lx, out, v, strlen(v));
}

static int dollar_modifier(lexer *lx, berth_buf *out, const char *name, size_t nlen, int32_t op,
			   const char *chs, bool null_unset)
{
	berth_buf word = BERTH_BUF_INIT(BERTH_DF_MAX_EXPANDED);
	bool raw = op == '#' || op == '%', set;
	const char *v;
	int rc = -1;

	if (null_unset && raw) {
		fail(lx, BERTH_EINVALID, "unsupported modifier (%s) in substitution", chs);
		goto done;
	}
	if (modifier_word(lx, '}', raw, &word, "syntax error: missing '}'") < 0)
		goto done;
	v = get_env(lx, name, nlen, &set);
	if (lx->skip_unset && !set) {
		rc = puts_n(lx, out, "${", 2);
		if (!rc)
			rc = puts_n(lx, out, name, nlen);
		if (!rc)
			rc = puts_n(lx, out, chs, strlen(chs));
		if (!rc)
			rc = puts_n(lx, out, word.ptr ? word.ptr : "", word.len);
		if (!rc)
			rc = puts_n(lx, out, "}", 1);
		goto done;
	}
	switch (op) {
	case '-':
		if (!set || (null_unset && !*v))
			rc = puts_n(lx, out, word.ptr ? word.ptr : "", word.len);
		else
			rc = puts_n(lx, out, v, strlen(v));
		break;
	case '+':
		rc = (!set || (null_unset && !*v))
			     ? 0
			     : puts_n(lx, out, word.ptr ? word.ptr : "", word.len);
		break;
	case '?': {
		const char *m = !set ? "is not allowed to be unset" : "is not allowed to be empty";
		char nm[128];

		if (set && !(null_unset && !*v)) {
			rc = puts_n(lx, out, v, strlen(v));
			break;
		}
		snprintf(nm, sizeof(nm), "%.*s: %s", (int)(nlen > 60 ? 60 : nlen), name,
			 word.len ? word.ptr : m);
		fail(lx, BERTH_EINVALID, "%s", nm);
		break;
	}
	case '#':
	case '%': {
		const char *pat = word.ptr ? word.ptr : "";
		bool greedy = word.len > 0 && pat[0] == (char)op;

		rc = trim_match(lx, out, v, pat + greedy, word.len - greedy, op == '%', greedy);
		break;
	}
	default: fail(lx, BERTH_EINVALID, "unsupported modifier (%s) in substitution", chs);
	}
done:
	berth_buf_dispose(&word);
	return rc;
}

static int dollar_replace(lexer *lx, berth_buf *out, const char *name, size_t nlen)
{
	berth_buf pat = BERTH_BUF_INIT(BERTH_DF_MAX_EXPANDED);
	berth_buf repl = BERTH_BUF_INIT(BERTH_DF_MAX_EXPANDED);
	bool all = peek(lx) == '/', set;
	const char *v;
	int rc = -1;

	if (all)
		next(lx);
	if (modifier_word(lx, '/', true, &pat, "syntax error: missing '/' in ${}") < 0 ||
	    modifier_word(lx, '}', true, &repl, "syntax error: missing '}'") < 0)
		goto done;
	if (berth_buf_puts(&pat, "") < 0 || berth_buf_puts(&repl, "") < 0) {
		oom(lx);
		goto done;
	}
	v = get_env(lx, name, nlen, &set);
	if (lx->skip_unset && !set) {
		rc = puts_n(lx, out, "${", 2);
		if (!rc)
			rc = puts_n(lx, out, name, nlen);
		if (!rc)
			rc = puts_n(lx, out, "/", 1);
		if (!rc)
			rc = puts_n(lx, out, pat.ptr, pat.len);
		if (!rc)
			rc = puts_n(lx, out, "/", 1);
		if (!rc)
			rc = puts_n(lx, out, repl.ptr, repl.len);
		if (!rc)
			rc = puts_n(lx, out, "}", 1);
		goto done;
	}
	rc = replace_match(lx, out, v, pat.ptr, pat.len, repl.ptr, all);
done:
	berth_buf_dispose(&pat);
	berth_buf_dispose(&repl);
	return rc;
}

static int dollar(lexer *lx, berth_buf *out)
{
	size_t from, len;
	int32_t c, op;
	char chs[16];
	bool null_unset = false, set;
	const char *v;
	char *name = NULL;
	int rc = -1;

	next(lx); /* '$' */
	if (peek(lx) != '{')
		return dollar_plain(lx, out);
	next(lx);
	c = peek(lx);
	if (c == LEX_EOF)
		return fail(lx, BERTH_EINVALID, "%s", "syntax error: missing '}'");
	if (c == '{' || c == '}' || c == ':')
		return fail(lx, BERTH_EINVALID, "%s", "syntax error: bad substitution");
	if (++lx->depth > BERTH_DF_MAX_EXPAND_DEPTH)
		return fail(lx, BERTH_ETOOBIG, "variable substitutions nested deeper than %s",
			    "64");
	process_name(lx, &from, &len);
	if (!(name = strndup(lx->s + from, len))) {
		oom(lx);
		goto done;
	}
	op = next(lx);
	{
		berth_buf b = BERTH_BUF_INIT(16);

		if (berth_dockerfile__put_rune(&b, op < 0 ? 0xFFFD : (uint32_t)op) < 0) {
			oom(lx);
			goto done;
		}
		snprintf(chs, sizeof(chs), "%s", b.ptr);
		berth_buf_dispose(&b);
	}
	if (op == ':') {
		/* Whatever follows ':' is handled as a modifier (and refused if unknown). */
		berth_buf b = BERTH_BUF_INIT(16);

		null_unset = true;
		op = next(lx);
		if (berth_dockerfile__put_rune(&b, op < 0 ? 0xFFFD : (uint32_t)op) < 0) {
			oom(lx);
			goto done;
		}
		snprintf(chs + 1, sizeof(chs) - 1, "%s", b.ptr);
		berth_buf_dispose(&b);
		rc = dollar_modifier(lx, out, name, len, op, chs, null_unset);
		goto done;
	}
	switch (op) {
	case '}':
		v = get_env(lx, name, len, &set);
		if (!set && lx->skip_unset) {
			rc = puts_n(lx, out, "${", 2);
			if (!rc)
				rc = puts_n(lx, out, name, len);
			if (!rc)
				rc = puts_n(lx, out, "}", 1);
		} else {
			rc = puts_n(lx, out, v, strlen(v));
		}
		break;
	case '+':
	case '-':
	case '?':
	case '#':
	case '%': rc = dollar_modifier(lx, out, name, len, op, chs, null_unset); break;
	case '/': rc = dollar_replace(lx, out, name, len); break;
	default: fail(lx, BERTH_EINVALID, "unsupported modifier (%s) in substitution", chs);
	}
done:
	lx->depth--;
	free(name);
	return rc;
}

static int stop_on(lexer *lx, int32_t stop, bool raw_esc, berth_buf *result, words *w)
{
	bool saved = lx->raw_escapes;
	int rc = -1;

	lx->raw_escapes = raw_esc;
	while (peek(lx) != LEX_EOF) {
		int32_t c = peek(lx);

		if (stop != LEX_EOF && c == stop) {
			next(lx);
			rc = 0;
			goto done;
		}
		if (c == '$' || (!lx->skip_quotes && (c == '\'' || c == '"'))) {
			berth_buf tmp = BERTH_BUF_INIT(BERTH_DF_MAX_EXPANDED);
			int r = c == '$'    ? dollar(lx, &tmp)
				: c == '\'' ? single_quote(lx, &tmp)
					    : double_quote(lx, &tmp);

			if (r == 0)
				r = puts_n(lx, result, tmp.ptr ? tmp.ptr : "", tmp.len);
			if (r == 0)
				r = c == '$' ? words_string(lx, w, tmp.ptr, tmp.len)
					     : words_raw_string(lx, w, tmp.ptr ? tmp.ptr : "",
								tmp.len);
			berth_buf_dispose(&tmp);
			if (r < 0)
				goto done;
			continue;
		}
		c = next(lx);
		if (c == lx->esc) {
			if (lx->raw_escapes &&
			    (words_raw_char(lx, w, c) < 0 || put(lx, result, c) < 0))
				goto done;
			c = next(lx);
			if (c == LEX_EOF)
				break;
			if (words_raw_char(lx, w, c) < 0)
				goto done;
		} else if (words_char(lx, w, c) < 0) {
			goto done;
		}
		if (put(lx, result, c) < 0)
			goto done;
	}
	if (stop != LEX_EOF) {
		char s[8] = {(char)stop, 0};

		fail(lx, BERTH_EINVALID,
		     "unexpected end of statement while looking for matching %s", s);
		goto done;
	}
	rc = 0;
done:
	lx->raw_escapes = saved;
	return rc;
}

static void lexer_dispose(lexer *lx)
{
	strlist_free(&lx->matched);
	strlist_free(&lx->unmatched);
}

int berth_dockerfile__lex(berth_df_expansion *out, const char *word, size_t len,
			  const berth_df_vars *env, const berth_df_lex_opts *opts)
{
	lexer lx = {0};
	berth_buf result = BERTH_BUF_INIT(BERTH_DF_MAX_EXPANDED);
	words w = {BERTH_BUF_INIT(BERTH_DF_MAX_EXPANDED), {NULL, 0, 0}, false};
	int rc;

	memset(out, 0, sizeof(*out));
	lx.s = word;
	lx.n = len;
	lx.env = env;
	lx.esc = opts && opts->escape ? (int32_t)opts->escape : '\\';
	if (opts) {
		lx.raw_quotes = opts->raw_quotes;
		lx.raw_escapes = opts->raw_escapes;
		lx.skip_quotes = opts->skip_quotes;
		lx.skip_unset = opts->skip_unset;
	}
	if (stop_on(&lx, LEX_EOF, lx.raw_escapes, &result, &w) < 0 ||
	    (w.cur.len && words_push(&lx, &w) < 0) || berth_buf_puts(&result, "") < 0) {
		if (!lx.code)
			oom(&lx);
		rc = berth_error_set(lx.code, "failed to process \"%.*s%s\": %s",
				     (int)(len > 100 ? 100 : len), word, len > 100 ? "..." : "",
				     lx.msg);
		goto fail;
	}
	out->word = berth_buf_detach(&result, NULL);
	out->words = w.list.items;
	out->nwords = w.list.n;
	w.list.items = NULL;
	out->matched = lx.matched.items;
	out->nmatched = lx.matched.n;
	lx.matched.items = NULL;
	lx.matched.n = 0;
	out->unmatched = lx.unmatched.items;
	out->nunmatched = lx.unmatched.n;
	lx.unmatched.items = NULL;
	lx.unmatched.n = 0;
	berth_buf_dispose(&w.cur);
	return 0;
fail:
	berth_buf_dispose(&result);
	berth_buf_dispose(&w.cur);
	strlist_free(&w.list);
	lexer_dispose(&lx);
	return rc;
}

int berth_df_expand(berth_df_expansion *out, const char *word, const berth_df_vars *env,
		    const berth_df_lex_opts *opts)
{
	return berth_dockerfile__lex(out, word, strlen(word), env, opts);
}

void berth_df_expansion_dispose(berth_df_expansion *x)
{
	strlist l;

	if (!x)
		return;
	free(x->word);
	l = (strlist){x->words, x->nwords, x->nwords};
	strlist_free(&l);
	l = (strlist){x->matched, x->nmatched, x->nmatched};
	strlist_free(&l);
	l = (strlist){x->unmatched, x->nunmatched, x->nunmatched};
	strlist_free(&l);
	memset(x, 0, sizeof(*x));
}
