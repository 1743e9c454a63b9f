/*
 * apk.c - Alpine (apk-tools) version order.
 *
 * Grammar: N(.N)*[a-z]?(_suffix[N])*(-rN)? with the suffixes alpha < beta <
 * pre < rc (before a release) and cvs < svn < git < hg < p (after it), as
 * apk-tools documents them. The order is Gentoo's (PMS, section 3.3), whose
 * grammar apk took: the first number compares as an integer, later ones
 * as integers too unless either starts with '0' (then as strings with
 * trailing zeros dropped, so 1.05 < 1.5); more numbers is newer; a letter
 * is newer than none; suffixes compare pairwise by rank then number, and an
 * extra suffix is newer only if it is a post-release one; then the -rN
 * revision (missing is r0).
 */
#include "internal.h"

#include <string.h>

#define APK_PARTS_MAX 64

typedef struct span {
	const char *p;
	size_t n;
} span;

typedef struct apk_ver {
	span num[APK_PARTS_MAX];
	size_t nnum;
	int letter; /* 0 if none */
	struct {
		int rank; /* <0 pre-release, >0 post-release */
		span n;
	} suf[APK_PARTS_MAX];
	size_t nsuf;
	span rev;
} apk_ver;

static const struct {
	const char *name;
	int rank;
} suffixes[] = {
	{"alpha", -4}, {"beta", -3}, {"pre", -2}, {"rc", -1}, {"cvs", 1},
	{"svn", 2},    {"git", 3},   {"hg", 4},	  {"p", 5},
};

static int bad(const char *v, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid apk version '%s': %s", v, why);
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static span digits(const char **s)
{
	span d = {*s, 0};

	while (is_digit(**s)) {
		(*s)++;
		d.n++;
	}
	return d;
}

static int parse_suffix(apk_ver *out, const char *v, const char **s)
{
	size_t k;

	for (k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
		size_t l = strlen(suffixes[k].name);

		/* "p" must not swallow "pre": longer names come first in the table. */
		if (strncmp(*s, suffixes[k].name, l) == 0)
			break;
	}
	if (k == sizeof(suffixes) / sizeof(suffixes[0]))
		return bad(v,
			   "unknown suffix after '_' (alpha, beta, pre, rc, cvs, svn, git, hg, p)");
	if (out->nsuf == APK_PARTS_MAX)
		return bad(v, "too many suffixes");
	*s += strlen(suffixes[k].name);
	out->suf[out->nsuf].rank = suffixes[k].rank;
	out->suf[out->nsuf].n = digits(s);
	out->nsuf++;
	return 0;
}

static int apk_parse(apk_ver *out, const char *v)
{
	const char *s = v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!is_digit(*s))
		return bad(v, "must start with a digit");
	for (;;) {
		if (out->nnum == APK_PARTS_MAX)
			return bad(v, "too many numeric components");
		out->num[out->nnum++] = digits(&s);
		if (*s != '.')
			break;
		s++;
		if (!is_digit(*s))
			return bad(v, "'.' must be followed by a digit");
	}
	if (*s >= 'a' && *s <= 'z')
		out->letter = *s++;
	while (*s == '_') {
		s++;
		if ((rc = parse_suffix(out, v, &s)) != 0)
			return rc;
	}
	if (s[0] == '-' && s[1] == 'r') {
		s += 2;
		out->rev = digits(&s);
		if (!out->rev.n)
			return bad(v, "'-r' must be followed by a number");
	}
	if (*s)
		return bad(v, "unexpected character");
	return 0;
}

/* A later numeric component: as strings without trailing zeros if either has a leading zero. */
static int later_cmp(span a, span b)
{
	int c;

	if (a.p[0] != '0' && b.p[0] != '0')
		return berth_version__numcmp(a.p, a.n, b.p, b.n);
	while (a.n && a.p[a.n - 1] == '0')
		a.n--;
	while (b.n && b.p[b.n - 1] == '0')
		b.n--;
	c = memcmp(a.p, b.p, a.n < b.n ? a.n : b.n);
	if (c)
		return berth_version__sign(c);
	return a.n < b.n ? -1 : a.n > b.n;
}

static int apk_order(const apk_ver *a, const apk_ver *b)
{
	size_t n = a->nnum < b->nnum ? a->nnum : b->nnum;
	int c;

	for (size_t i = 0; i < n; i++) {
		c = i == 0 ? berth_version__numcmp(a->num[i].p, a->num[i].n, b->num[i].p,
						   b->num[i].n)
			   : later_cmp(a->num[i], b->num[i]);
		if (c)
			return c;
	}
	if (a->nnum != b->nnum)
		return a->nnum < b->nnum ? -1 : 1;
	if (a->letter != b->letter)
		return a->letter < b->letter ? -1 : 1;
	n = a->nsuf < b->nsuf ? a->nsuf : b->nsuf;
	for (size_t i = 0; i < n; i++) {
		if (a->suf[i].rank != b->suf[i].rank)
			return a->suf[i].rank < b->suf[i].rank ? -1 : 1;
		c = berth_version__numcmp(a->suf[i].n.p, a->suf[i].n.n, b->suf[i].n.p,
					  b->suf[i].n.n);
		if (c)
			return c;
	}
	if (a->nsuf > n)
		return a->suf[n].rank > 0 ? 1 : -1;
	if (b->nsuf > n)
		return b->suf[n].rank > 0 ? -1 : 1;
	return berth_version__numcmp(a->rev.p ? a->rev.p : "", a->rev.n, b->rev.p ? b->rev.p : "",
				     b->rev.n);
}

int berth_version__apk_cmp(const char *a, const char *b, int *cmp)
{
	apk_ver x, y;
	int rc;

	if ((rc = apk_parse(&x, a)) != 0 || (rc = apk_parse(&y, b)) != 0)
		return rc;
	*cmp = apk_order(&x, &y);
	return 0;
}
