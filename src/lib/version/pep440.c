/*
 * pep440.c - Python version order (PEP 440, as the `packaging` library
 * implements it).
 *
 * Accepted text is packaging's VERSION_PATTERN, case-insensitive, with
 * surrounding whitespace and an optional leading 'v':
 *   [N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]
 * with the alternative spellings (alpha, beta, c, pre, preview; -N, rev,
 * r; optional separators and numbers). The order is packaging's sort key:
 * epoch; release without trailing zeros; pre-release (a < b < rc, and a
 * bare .devN before any pre-release); post (none first); dev (none last);
 * local segments (none first; numbers above strings, numbers numerically,
 * strings bytewise in lowercase; a longer local is newer when one is a
 * prefix of the other).
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#define PEP440_PARTS_MAX 64

typedef struct span {
	const char *p;
	size_t n;
} span;

typedef struct pep_ver {
	span epoch;
	span rel[PEP440_PARTS_MAX];
	size_t nrel;
	int pre; /* 0 none, 1 a, 2 b, 3 rc */
	span pre_n;
	int post; /* 0 none, 1 present */
	span post_n;
	int dev;
	span dev_n;
	span local[PEP440_PARTS_MAX];
	size_t nlocal;
} pep_ver;

static int bad(const char *v, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid pep440 version '%s': %s", v, why);
}

static int is_sep(int c)
{
	return c == '-' || c == '_' || c == '.';
}

static span digits(const char **s)
{
	span d = {*s, 0};

	while (isdigit((unsigned char)**s)) {
		(*s)++;
		d.n++;
	}
	return d;
}

/* Case-insensitive prefix match; advances *s on success. */
static int word(const char **s, const char *w)
{
	size_t n = strlen(w);

	if (strncasecmp(*s, w, n) != 0)
		return 0;
	*s += n;
	return 1;
}

/* [-_.]? LABEL [-_.]? N? for one of `labels`; returns the label index + 1, 0 if none. */
static int labelled(const char **s, const char *const *labels, size_t nlabels, span *num)
{
	const char *p = *s;

	if (is_sep(*p))
		p++;
	for (size_t i = 0; i < nlabels; i++) {
		const char *q = p;

		if (!word(&q, labels[i]))
			continue;
		if (is_sep(*q) && isdigit((unsigned char)q[1]))
			q++;
		else if (is_sep(*q) && !isdigit((unsigned char)q[1]))
			q++; /* a trailing separator with no number is part of the match */
		*num = digits(&q);
		*s = q;
		return (int)i + 1;
	}
	return 0;
}

static int parse_release(pep_ver *out, const char *v, const char **s)
{
	if (!isdigit((unsigned char)**s))
		return bad(v, "expected a release number");
	for (;;) {
		if (out->nrel == PEP440_PARTS_MAX)
			return bad(v, "too many release components");
		out->rel[out->nrel++] = digits(s);
		if (**s != '.' || !isdigit((unsigned char)(*s)[1]))
			return 0;
		(*s)++;
	}
}

static void parse_pre_post_dev(pep_ver *out, const char **s)
{
	static const char *const pre[] = {"alpha", "a", "beta", "b", "preview", "pre", "c", "rc"};
	static const int pre_kind[] = {1, 1, 2, 2, 3, 3, 3, 3};
	static const char *const post[] = {"post", "rev", "r"};
	static const char *const dev[] = {"dev"};
	int k;

	if ((k = labelled(s, pre, 8, &out->pre_n)))
		out->pre = pre_kind[k - 1];
	if ((*s)[0] == '-' && isdigit((unsigned char)(*s)[1])) {
		(*s)++;
		out->post = 1;
		out->post_n = digits(s);
	} else if (labelled(s, post, 3, &out->post_n)) {
		out->post = 1;
	}
	if (labelled(s, dev, 1, &out->dev_n))
		out->dev = 1;
}

static int parse_local(pep_ver *out, const char *v, const char **s)
{
	for (;;) {
		span part = {*s, 0};

		while (isalnum((unsigned char)**s)) {
			(*s)++;
			part.n++;
		}
		if (!part.n)
			return bad(v, "empty local version segment");
		if (out->nlocal == PEP440_PARTS_MAX)
			return bad(v, "too many local version segments");
		out->local[out->nlocal++] = part;
		if (!is_sep(**s))
			return 0;
		(*s)++;
	}
}

static int pep_parse(pep_ver *out, const char *v)
{
	const char *s = v, *e;
	int rc;

	memset(out, 0, sizeof(*out));
	while (isspace((unsigned char)*s))
		s++;
	if (*s == 'v' || *s == 'V')
		s++;
	e = s;
	while (isdigit((unsigned char)*e))
		e++;
	if (e > s && *e == '!') {
		out->epoch = (span){s, (size_t)(e - s)};
		s = e + 1;
	}
	if ((rc = parse_release(out, v, &s)) != 0)
		return rc;
	parse_pre_post_dev(out, &s);
	if (*s == '+') {
		s++;
		if ((rc = parse_local(out, v, &s)) != 0)
			return rc;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s)
		return bad(v, "unexpected text after the version");
	return 0;
}

static int is_number(span x)
{
	for (size_t i = 0; i < x.n; i++)
		if (!isdigit((unsigned char)x.p[i]))
			return 0;
	return 1;
}

static int strcase_span(span a, span b)
{
	size_t n = a.n < b.n ? a.n : b.n;

	for (size_t i = 0; i < n; i++) {
		int x = tolower((unsigned char)a.p[i]), y = tolower((unsigned char)b.p[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return a.n < b.n ? -1 : a.n > b.n;
}

static int release_cmp(const pep_ver *a, const pep_ver *b)
{
	size_t n = a->nrel > b->nrel ? a->nrel : b->nrel;

	for (size_t i = 0; i < n; i++) {
		span x = i < a->nrel ? a->rel[i] : (span){"", 0};
		span y = i < b->nrel ? b->rel[i] : (span){"", 0};
		int c = berth_version__numcmp(x.p, x.n, y.p, y.n);

		if (c)
			return c;
	}
	return 0;
}

/* The pre-release key: -1 for "bare dev" (before all), 1..3 real, 4 none. */
static int pre_rank(const pep_ver *v)
{
	if (!v->pre && !v->post && v->dev)
		return -1;
	return v->pre ? v->pre : 4;
}

static int local_cmp(const pep_ver *a, const pep_ver *b)
{
	size_t n = a->nlocal < b->nlocal ? a->nlocal : b->nlocal;

	for (size_t i = 0; i < n; i++) {
		int na = is_number(a->local[i]), nb = is_number(b->local[i]), c;

		if (na != nb)
			return na ? 1 : -1;
		c = na ? berth_version__numcmp(a->local[i].p, a->local[i].n, b->local[i].p,
					       b->local[i].n)
		       : strcase_span(a->local[i], b->local[i]);
		if (c)
			return c;
	}
	return a->nlocal < b->nlocal ? -1 : a->nlocal > b->nlocal;
}

static int pep_order(const pep_ver *a, const pep_ver *b)
{
	int c;

	if ((c = berth_version__numcmp(a->epoch.p ? a->epoch.p : "", a->epoch.n,
				       b->epoch.p ? b->epoch.p : "", b->epoch.n)))
		return c;
	if ((c = release_cmp(a, b)))
		return c;
	if (pre_rank(a) != pre_rank(b))
		return pre_rank(a) < pre_rank(b) ? -1 : 1;
	if (a->pre && (c = berth_version__numcmp(a->pre_n.p, a->pre_n.n, b->pre_n.p, b->pre_n.n)))
		return c;
	if (a->post != b->post)
		return a->post < b->post ? -1 : 1;
	if (a->post &&
	    (c = berth_version__numcmp(a->post_n.p, a->post_n.n, b->post_n.p, b->post_n.n)))
		return c;
	if (a->dev != b->dev)
		return a->dev ? -1 : 1;
	if (a->dev && (c = berth_version__numcmp(a->dev_n.p, a->dev_n.n, b->dev_n.p, b->dev_n.n)))
		return c;
	if ((a->nlocal > 0) != (b->nlocal > 0))
		return a->nlocal ? 1 : -1;
	return local_cmp(a, b);
}

int berth_version__pep440_cmp(const char *a, const char *b, int *cmp)
{
	pep_ver x, y;
	int rc;

	if ((rc = pep_parse(&x, a)) != 0 || (rc = pep_parse(&y, b)) != 0)
		return rc;
	*cmp = pep_order(&x, &y);
	return 0;
}
