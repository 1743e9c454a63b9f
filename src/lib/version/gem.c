/*
 * gem.c - RubyGems version order (Gem::Version).
 *
 * Accepted: optional surrounding whitespace around
 *   [0-9]+(.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(.[0-9A-Za-z-]+)*)?
 * or nothing at all (which is "0"). Each '-' reads as ".pre.", the version
 * splits into digit runs (numbers) and letter runs (words); trailing zeros
 * are dropped from the numeric part before the first word and from the part
 * after it; segments then compare pairwise (missing is 0), a word below a
 * number, numbers numerically, words bytewise.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>

#define GEM_SEGMENTS_MAX (BERTH_VERSION_MAX + 4)

typedef struct gseg {
	const char *p; /* digits (leading zeros kept) or letters */
	size_t n;
	int num;
} gseg;

typedef struct gem_ver {
	gseg seg[GEM_SEGMENTS_MAX];
	size_t n;
} gem_ver;

static const gseg pre_word = {"pre", 3, 0};

static int bad(const char *v, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid gem version '%s': %s", v, why);
}

/* The pattern check: digits, then .alnum+ parts, then an optional -[alnum-]+(.[alnum-]+)*. */
static int gem_check(const char *v, const char *s, const char *e)
{
	const char *dash;

	if (s == e)
		return 0;
	if (!isdigit((unsigned char)*s))
		return bad(v, "must start with a digit");
	dash = memchr(s, '-', (size_t)(e - s));
	for (const char *p = s; p < e && *p != '.' && *p != '-'; p++)
		if (!isdigit((unsigned char)*p))
			return bad(v, "the first segment must be a number");
	for (const char *p = s; p < (dash ? dash : e); p++) {
		if (*p == '.') {
			if (p + 1 == (dash ? dash : e) || p[1] == '.')
				return bad(v, "empty segment after '.'");
		} else if (!isalnum((unsigned char)*p)) {
			return bad(v, "invalid character");
		}
	}
	if (dash) {
		const char *piece = dash + 1;

		for (const char *p = dash + 1; p <= e; p++) {
			if (p == e || *p == '.') {
				if (p == piece)
					return bad(v, "empty segment in the prerelease part");
				piece = p + 1;
			} else if (!isalnum((unsigned char)*p) && *p != '-') {
				return bad(v, "invalid character in the prerelease part");
			}
		}
	}
	return 0;
}

static int gem_parse(gem_ver *out, const char *v)
{
	const char *s = v, *e = v + strlen(v);
	int rc;

	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if ((rc = gem_check(v, s, e)) != 0)
		return rc;
	out->n = 0;
	if (s == e) {
		out->seg[out->n++] = (gseg){"0", 1, 1};
		return 0;
	}
	for (const char *p = s; p < e;) {
		gseg g = {p, 0, isdigit((unsigned char)*p) != 0};

		if (*p == '-') {
			/* "-" reads as ".pre." */
			out->seg[out->n++] = pre_word;
			p++;
			continue;
		}
		if (!isalnum((unsigned char)*p)) {
			p++;
			continue;
		}
		while (p < e && (g.num ? isdigit((unsigned char)*p) : isalpha((unsigned char)*p)))
			p++;
		g.n = (size_t)(p - g.p);
		if (out->n == GEM_SEGMENTS_MAX)
			return bad(v, "too many segments");
		out->seg[out->n++] = g;
	}
	return 0;
}

static int is_zero(const gseg *g)
{
	if (!g->num)
		return 0;
	for (size_t i = 0; i < g->n; i++)
		if (g->p[i] != '0')
			return 0;
	return 1;
}

/* canonical_segments: drop trailing zeros of the numeric part and of the rest. */
static void canonical(gem_ver *v)
{
	size_t first_word = v->n, w = 0, end;

	for (size_t i = 0; i < v->n; i++)
		if (!v->seg[i].num) {
			first_word = i;
			break;
		}
	end = first_word;
	while (end > 0 && is_zero(&v->seg[end - 1]))
		end--;
	for (size_t i = 0; i < end; i++)
		v->seg[w++] = v->seg[i];
	end = v->n;
	while (end > first_word && is_zero(&v->seg[end - 1]))
		end--;
	for (size_t i = first_word; i < end; i++)
		v->seg[w++] = v->seg[i];
	v->n = w;
}

static int gem_order(gem_ver *a, gem_ver *b)
{
	static const gseg zero = {"0", 1, 1};
	size_t n;

	canonical(a);
	canonical(b);
	n = a->n > b->n ? a->n : b->n;
	for (size_t i = 0; i < n; i++) {
		const gseg *x = i < a->n ? &a->seg[i] : &zero, *y = i < b->n ? &b->seg[i] : &zero;
		int c;

		if (x->num != y->num)
			return x->num ? 1 : -1;
		if (x->num) {
			c = berth_version__numcmp(x->p, x->n, y->p, y->n);
		} else {
			c = memcmp(x->p, y->p, x->n < y->n ? x->n : y->n);
			c = c ? berth_version__sign(c) : (x->n < y->n ? -1 : x->n > y->n);
		}
		if (c)
			return c;
	}
	return 0;
}

int berth_version__gem_cmp(const char *a, const char *b, int *cmp)
{
	static _Thread_local gem_ver x, y;
	int rc;

	if ((rc = gem_parse(&x, a)) != 0 || (rc = gem_parse(&y, b)) != 0)
		return rc;
	*cmp = gem_order(&x, &y);
	return 0;
}
