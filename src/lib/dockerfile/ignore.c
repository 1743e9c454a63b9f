/*
 * ignore.c - .dockerignore with moby's semantics (patternmatcher and
 * patternmatcher/ignorefile, as BuildKit's context transfer uses them):
 *
 *   reading    BOM dropped; lines starting with '#' are comments; lines are
 *              trimmed; "!" marks an exception; each pattern is cleaned
 *              (filepath.Clean) and a leading "/" dropped; syntax checked as
 *              filepath.Match does (bad brackets, trailing '\').
 *   matching   a path is excluded when the last pattern matching it or one
 *              of its parent directories is not an exception
 *              (MatchesOrParentMatches). '*' and '?' never match '/'; "**"
 *              matches any number of directories; "**" at the start of a
 *              pattern without wildcards after it is a suffix match, and at
 *              the end a prefix match (the patternmatcher's match types).
 *
 * Patterns compile to a token list run as an NFA over the path's runes.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { T_LIT, T_STAR, T_ONE, T_CLASS, T_DSTAR_SLASH, T_DSTAR_END };
enum { M_EXACT, M_PREFIX, M_SUFFIX, M_REGEXP };

typedef struct tok {
	int type;
	uint32_t r;	  /* T_LIT */
	uint32_t *ranges; /* T_CLASS: lo,hi pairs */
	size_t nranges;
	bool negated;
} tok;

typedef struct cpat {
	int match_type;
	tok *toks;
	size_t ntoks;
	bool wild; /* has wildcards (for may_reopen) */
} cpat;

typedef struct impl {
	cpat *pats;
} impl;

/* ---- filepath.Match syntax check ---- */

static int get_esc(const char *s, size_t n, size_t *i, uint32_t *r)
{
	size_t w;

	if (*i >= n || s[*i] == '-' || s[*i] == ']')
		return -1;
	if (s[*i] == '\\') {
		(*i)++;
		if (*i >= n)
			return -1;
	}
	*r = berth_dockerfile__rune(s + *i, n - *i, &w);
	*i += w;
	if (*i >= n)
		return -1;
	return 0;
}

static int match_syntax_ok(const char *s)
{
	size_t n = strlen(s), i = 0;

	while (i < n) {
		if (s[i] == '\\') {
			if (i + 1 >= n)
				return 0;
			i += 2;
			continue;
		}
		if (s[i] == '[') {
			size_t nrange = 0;
			uint32_t lo, hi;

			i++;
			if (i < n && s[i] == '^')
				i++;
			for (;;) {
				if (i < n && s[i] == ']' && nrange > 0) {
					i++;
					break;
				}
				if (get_esc(s, n, &i, &lo) < 0)
					return 0;
				if (s[i] == '-') {
					i++;
					if (get_esc(s, n, &i, &hi) < 0)
						return 0;
				}
				nrange++;
			}
			continue;
		}
		i++;
	}
	return 1;
}

/* ---- compiling ---- */

static int push_tok(cpat *p, size_t *cap, tok t)
{
	if (p->ntoks == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		tok *q = realloc(p->toks, nc * sizeof(*q));

		if (!q)
			return -1;
		p->toks = q;
		*cap = nc;
	}
	p->toks[p->ntoks++] = t;
	return 0;
}

/* A bracket expression at s[*i] == '['; Go regexp class syntax, as moby hands it over. */
static int parse_class(const char *s, size_t n, size_t *i, tok *t)
{
	size_t cap = 0, w;

	memset(t, 0, sizeof(*t));
	t->type = T_CLASS;
	(*i)++;
	if (*i < n && s[*i] == '^') {
		t->negated = true;
		(*i)++;
	}
	while (*i < n && (s[*i] != ']' || t->nranges == 0)) {
		uint32_t lo, hi;

		if (s[*i] == '\\' && *i + 1 < n)
			(*i)++;
		lo = berth_dockerfile__rune(s + *i, n - *i, &w);
		*i += w;
		hi = lo;
		if (*i + 1 < n && s[*i] == '-' && s[*i + 1] != ']') {
			(*i)++;
			if (s[*i] == '\\' && *i + 1 < n)
				(*i)++;
			hi = berth_dockerfile__rune(s + *i, n - *i, &w);
			*i += w;
		}
		if (t->nranges == cap) {
			size_t nc = cap ? cap * 2 : 4;
			uint32_t *q = realloc(t->ranges, nc * 2 * sizeof(*q));

			if (!q)
				return -1;
			t->ranges = q;
			cap = nc;
		}
		t->ranges[2 * t->nranges] = lo;
		t->ranges[2 * t->nranges + 1] = hi;
		t->nranges++;
	}
	if (*i < n)
		(*i)++; /* ']' */
	return 0;
}

static int compile(cpat *p, const char *s)
{
	size_t n = strlen(s), i = 0, cap = 0, w;
	int iter = 0;

	p->match_type = M_EXACT;
	for (; i < n; iter++) {
		uint32_t ch = berth_dockerfile__rune(s + i, n - i, &w);
		tok t = {0};

		i += w;
		if (ch == '*') {
			p->wild = true;
			if (i < n && s[i] == '*') {
				i++;
				if (i < n && s[i] == '/')
					i++;
				if (i >= n) {
					if (p->match_type == M_EXACT) {
						p->match_type = M_PREFIX;
					} else {
						p->match_type = M_REGEXP;
					}
					t.type = T_DSTAR_END;
				} else {
					t.type = T_DSTAR_SLASH;
					p->match_type = M_REGEXP;
				}
				if (iter == 0)
					p->match_type = M_SUFFIX;
			} else {
				t.type = T_STAR;
				p->match_type = M_REGEXP;
			}
		} else if (ch == '?') {
			p->wild = true;
			t.type = T_ONE;
			p->match_type = M_REGEXP;
		} else if (ch == '\\') {
			p->wild = true;
			t.type = T_LIT;
			if (i < n) {
				t.r = berth_dockerfile__rune(s + i, n - i, &w);
				i += w;
				p->match_type = M_REGEXP;
			} else {
				t.r = '\\';
			}
		} else if (ch == '[') {
			p->wild = true;
			i--;
			if (parse_class(s, n, &i, &t) < 0)
				return -1;
			p->match_type = M_REGEXP;
		} else {
			t.type = T_LIT;
			t.r = ch;
		}
		if (push_tok(p, &cap, t) < 0)
			return -1;
	}
	return 0;
}

/* ---- matching ---- */

static bool class_has(const tok *t, uint32_t r)
{
	bool in = false;

	for (size_t i = 0; i < t->nranges && !in; i++)
		in = r >= t->ranges[2 * i] && r <= t->ranges[2 * i + 1];
	return in != t->negated;
}

/*
 * NFA: state 2*i = before token i, 2*i+1 = inside the "any runes, then a slash" loop of a
 * double-star-slash token. Returns 1 when the whole path matches.
 */
static int nfa_match(const cpat *p, const char *s, size_t n)
{
	size_t ns = 2 * (p->ntoks + 1);
	unsigned char buf[512], *cur, *nx;
	size_t i = 0, w;
	int ok;

	cur = ns * 2 <= sizeof(buf) ? buf : malloc(ns * 2);
	if (!cur)
		return 0;
	nx = cur + ns;
	memset(cur, 0, ns);
	cur[0] = 1;
	for (;;) {
		/* epsilon closure, in token order */
		for (size_t k = 0; k < p->ntoks; k++) {
			int t = p->toks[k].type;

			if (!cur[2 * k])
				continue;
			if (t == T_STAR || t == T_DSTAR_END || t == T_DSTAR_SLASH)
				cur[2 * (k + 1)] = 1;
			if (t == T_DSTAR_SLASH)
				cur[2 * k + 1] = 1;
		}
		if (i >= n)
			break;
		{
			uint32_t r = berth_dockerfile__rune(s + i, n - i, &w);
			bool any = false;

			memset(nx, 0, ns);
			for (size_t k = 0; k < p->ntoks; k++) {
				const tok *t = &p->toks[k];

				if (cur[2 * k]) {
					switch (t->type) {
					case T_LIT:
						if (t->r == r)
							nx[2 * (k + 1)] = 1;
						break;
					case T_STAR:
						if (r != '/')
							nx[2 * k] = 1;
						break;
					case T_ONE:
						if (r != '/')
							nx[2 * (k + 1)] = 1;
						break;
					case T_CLASS:
						if (class_has(t, r))
							nx[2 * (k + 1)] = 1;
						break;
					case T_DSTAR_END: nx[2 * k] = 1; break;
					default: break;
					}
				}
				if (t->type == T_DSTAR_SLASH && cur[2 * k + 1]) {
					nx[2 * k + 1] = 1;
					if (r == '/')
						nx[2 * (k + 1)] = 1;
				}
			}
			memcpy(cur, nx, ns);
			for (size_t k = 0; k < ns; k++)
				any |= cur[k];
			if (!any)
				break;
			i += w;
		}
	}
	ok = i >= n && cur[2 * p->ntoks];
	if (cur != buf)
		free(cur);
	return ok;
}

static int pattern_match(const berth_dockerignore_pattern *pat, const cpat *p, const char *path,
			 size_t n)
{
	const char *t = pat->text;
	size_t tl = strlen(t);

	switch (p->match_type) {
	case M_EXACT: return n == tl && memcmp(path, t, n) == 0;
	case M_PREFIX: return n >= tl - 2 && memcmp(path, t, tl - 2) == 0;
	case M_SUFFIX: {
		const char *suf = t + 2;
		size_t sl = tl - 2;

		if (n >= sl && memcmp(path + n - sl, suf, sl) == 0)
			return 1;
		return sl > 0 && suf[0] == '/' && n == sl - 1 && memcmp(path, suf + 1, n) == 0;
	}
	default: return nfa_match(p, path, n);
	}
}

int berth_dockerignore_excluded(const berth_dockerignore *ign, const char *path, long *which)
{
	const impl *im;
	char *clean;
	size_t n, last_slash = 0;
	int matched = 0;
	bool has_parent;

	if (which)
		*which = -1;
	if (!ign || !ign->npatterns)
		return 0;
	im = ign->impl;
	if (!(clean = berth_dockerfile_clean_path(path, strlen(path))))
		return 0;
	n = strlen(clean);
	for (size_t i = 0; i < n; i++)
		if (clean[i] == '/')
			last_slash = i;
	has_parent = strchr(clean, '/') != NULL;
	for (size_t k = 0; k < ign->npatterns; k++) {
		const berth_dockerignore_pattern *pat = &ign->patterns[k];
		int m;

		if (pat->exclusion != matched)
			continue;
		m = pattern_match(pat, &im->pats[k], clean, n);
		/* Then each parent directory, shortest first. */
		for (size_t i = 0; !m && has_parent && i <= last_slash; i++)
			if (clean[i] == '/')
				m = pattern_match(pat, &im->pats[k], clean, i);
		if (m) {
			matched = !pat->exclusion;
			if (which)
				*which = (long)k;
		}
	}
	free(clean);
	return matched;
}

int berth_dockerignore_may_reopen(const berth_dockerignore *ign, const char *dir)
{
	const impl *im;
	size_t dl = strlen(dir);

	if (!ign || !ign->has_exclusions)
		return 0;
	im = ign->impl;
	for (size_t k = 0; k < ign->npatterns; k++) {
		const char *t = ign->patterns[k].text;

		if (!ign->patterns[k].exclusion)
			continue;
		if (im->pats[k].wild)
			return 1;
		/* pattern + "/" starts with dir + "/" */
		if (strncmp(t, dir, dl) == 0 && (t[dl] == '/' || t[dl] == '\0'))
			return 1;
	}
	return 0;
}

int berth_df_path_match(const char *pattern, const char *name)
{
	cpat p = {0};
	berth_dockerignore_pattern pat = {(char *)pattern, 0, 0, NULL};
	int r;

	if (!match_syntax_ok(pattern))
		return berth_error_set(BERTH_EINVALID, "syntax error in pattern %s", pattern);
	if (compile(&p, pattern) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	r = pattern_match(&pat, &p, name, strlen(name));
	for (size_t i = 0; i < p.ntoks; i++)
		free(p.toks[i].ranges);
	free(p.toks);
	return r;
}

/* ---- reading ---- */

static int add_pattern(berth_dockerignore *ign, size_t *cap, const char *line, size_t len,
		       uint32_t lineno, const char *source)
{
	impl *im = ign->impl;
	size_t a = berth_dockerfile__trim_left(line, len),
	       b = berth_dockerfile__trim_right(line, len);
	char *cleaned = NULL, *text;
	bool inv;
	berth_dockerignore_pattern *p;

	if (b <= a)
		return 0;
	inv = line[a] == '!';
	if (inv) {
		a++;
		a += berth_dockerfile__trim_left(line + a, b - a);
	}
	if (b > a) {
		cleaned = berth_dockerfile_clean_path(line + a, b - a);
		if (!cleaned)
			return berth_error_set(BERTH_ERROR, "out of memory");
	} else {
		cleaned = strdup("");
		if (!cleaned)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	/* NewPatternMatcher cleans again (a no-op here), and "!" alone is refused. */
	text = cleaned;
	if (strlen(text) > 1 && text[0] == '/')
		text++;
	if (inv && !*text) {
		free(cleaned);
		return berth_error_set(BERTH_EINVALID, "%s:%u: illegal exclusion pattern: \"!\"",
				       source ? source : ".dockerignore", lineno);
	}
	if (!match_syntax_ok(text)) {
		berth_error_set(BERTH_EINVALID, "%s:%u: syntax error in pattern \"%s\"",
				source ? source : ".dockerignore", lineno, text);
		free(cleaned);
		return BERTH_EINVALID;
	}
	if (ign->npatterns == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		berth_dockerignore_pattern *q = realloc(ign->patterns, nc * sizeof(*q));
		cpat *cq = realloc(im->pats, nc * sizeof(*cq));

		if (q)
			ign->patterns = q;
		if (cq)
			im->pats = cq;
		if (!q || !cq) {
			free(cleaned);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
		*cap = nc;
	}
	p = &ign->patterns[ign->npatterns];
	memset(p, 0, sizeof(*p));
	memset(&im->pats[ign->npatterns], 0, sizeof(cpat));
	p->text = strdup(text);
	p->original = strndup(line + berth_dockerfile__trim_left(line, len),
			      b - berth_dockerfile__trim_left(line, len));
	p->exclusion = inv;
	p->line = lineno;
	free(cleaned);
	ign->npatterns++;
	if (!p->text || !p->original || compile(&im->pats[ign->npatterns - 1], p->text) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (inv)
		ign->has_exclusions = 1;
	return 0;
}

int berth_dockerignore_parse(berth_dockerignore **out, const char *text, size_t len,
			     const char *source)
{
	berth_dockerignore *ign = calloc(1, sizeof(*ign));
	size_t i = 0, cap = 0;
	uint32_t lineno = 0;
	int rc = 0;

	*out = NULL;
	if (!ign || !(ign->impl = calloc(1, sizeof(impl)))) {
		free(ign);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	if (source && !(ign->source = strdup(source))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (len > BERTH_DOCKERIGNORE_MAX_FILE) {
		rc = berth_error_set(BERTH_ETOOBIG, "%s: larger than %u bytes",
				     source ? source : ".dockerignore",
				     BERTH_DOCKERIGNORE_MAX_FILE);
		goto done;
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
		i = 3;
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t e = nl ? (size_t)(nl - text) : len, l = e - i;

		lineno++;
		if (l >= BERTH_DOCKERIGNORE_MAX_LINE) {
			rc = berth_error_set(BERTH_ETOOBIG, "%s:%u: line longer than %u bytes",
					     source ? source : ".dockerignore", lineno,
					     BERTH_DOCKERIGNORE_MAX_LINE);
			goto done;
		}
		if (l && text[e - 1] == '\r') /* bufio.ScanLines drops one trailing \r */
			l--;
		if (!(l && text[i] == '#') &&
		    (rc = add_pattern(ign, &cap, text + i, l, lineno, source)) < 0)
			goto done;
		i = e + 1;
	}
	*out = ign;
	/* now owned by the caller */ ign = NULL;
done:
	berth_dockerignore_free(ign);
	return rc;
}

void berth_dockerignore_free(berth_dockerignore *ign)
{
	impl *im;

	if (!ign)
		return;
	im = ign->impl;
	for (size_t k = 0; k < ign->npatterns; k++) {
		free(ign->patterns[k].text);
		free(ign->patterns[k].original);
		if (im) {
			for (size_t t = 0; t < im->pats[k].ntoks; t++)
				free(im->pats[k].toks[t].ranges);
			free(im->pats[k].toks);
		}
	}
	if (im)
		free(im->pats);
	free(im);
	free(ign->patterns);
	free(ign->source);
	free(ign);
}

static int read_small(const char *path, char **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t r;
	size_t got = 0;

	*buf = NULL;
	if (fd < 0)
		return errno == ENOENT ? BERTH_ENOTFOUND : berth_error_set_errno("%s", path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return berth_error_set(BERTH_EIO, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > BERTH_DOCKERIGNORE_MAX_FILE) {
		close(fd);
		return berth_error_set(BERTH_ETOOBIG, "%s: larger than %u bytes", path,
				       BERTH_DOCKERIGNORE_MAX_FILE);
	}
	if (!(*buf = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	while (got < (size_t)st.st_size && (r = read(fd, *buf + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)r;
	close(fd);
	*len = got;
	return 0;
}

int berth_dockerignore_load(berth_dockerignore **out, const char *context_dir,
			    const char *dockerfile)
{
	char path[4096];
	char *buf = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	/* <dockerfile>.dockerignore beside the Dockerfile wins. */
	if (dockerfile && strcmp(dockerfile, "-") != 0) {
		if ((size_t)snprintf(path, sizeof(path), "%s.dockerignore", dockerfile) >=
		    sizeof(path))
			return berth_error_set(BERTH_EINVALID, "path too long: %s", dockerfile);
		rc = read_small(path, &buf, &len);
		if (rc == 0) {
			rc = berth_dockerignore_parse(out, buf, len, path);
			free(buf);
			return rc;
		}
		if (rc != BERTH_ENOTFOUND)
			return rc;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/.dockerignore", context_dir) >= sizeof(path))
		return berth_error_set(BERTH_EINVALID, "path too long: %s", context_dir);
	rc = read_small(path, &buf, &len);
	if (rc == BERTH_ENOTFOUND)
		return berth_dockerignore_parse(out, "", 0, NULL);
	if (rc < 0)
		return rc;
	rc = berth_dockerignore_parse(out, buf, len, path);
	free(buf);
	return rc;
}
