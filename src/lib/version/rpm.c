/*
 * rpm.c - RPM version order: rpmvercmp on each of epoch, version and
 * release (rpm's rpmverCmp over [epoch:]version[-release]).
 *
 * When only one of the two has a release, it is the newer (rpm.vercmp of rpm
 * 4.18 answers so: "1.0" < "1.0-" < "1.0-1").
 *
 * rpmvercmp walks both strings in segments: separators (anything not an
 * ASCII letter or digit, '~' or '^') are skipped; '~' sorts before anything,
 * even the end; '^' sorts after the end but before anything else; a digit
 * run beats a letter run; digit runs compare as integers, letter runs
 * bytewise; the string with segments left over is newer. A missing epoch is
 * 0.
 */
#include "internal.h"

#include <string.h>

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_alnum(int c)
{
	return is_digit(c) || is_alpha(c);
}

/* rpmvercmp over [a, a+alen) and [b, b+blen). */
static int vercmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	if (alen == blen && memcmp(a, b, alen) == 0)
		return 0;
	while (i < alen || j < blen) {
		size_t si, sj;
		int num, c;

		while (i < alen && !is_alnum(a[i]) && a[i] != '~' && a[i] != '^')
			i++;
		while (j < blen && !is_alnum(b[j]) && b[j] != '~' && b[j] != '^')
			j++;
		if ((i < alen && a[i] == '~') || (j < blen && b[j] == '~')) {
			if (i >= alen || a[i] != '~')
				return 1;
			if (j >= blen || b[j] != '~')
				return -1;
			i++;
			j++;
			continue;
		}
		if ((i < alen && a[i] == '^') || (j < blen && b[j] == '^')) {
			if (i >= alen)
				return -1;
			if (j >= blen)
				return 1;
			if (a[i] != '^')
				return 1;
			if (b[j] != '^')
				return -1;
			i++;
			j++;
			continue;
		}
		if (i >= alen || j >= blen)
			break;
		si = i;
		sj = j;
		num = is_digit(a[i]);
		if (num) {
			while (i < alen && is_digit(a[i]))
				i++;
			while (j < blen && is_digit(b[j]))
				j++;
		} else {
			while (i < alen && is_alpha(a[i]))
				i++;
			while (j < blen && is_alpha(b[j]))
				j++;
		}
		if (j == sj)
			return num ? 1 : -1; /* numeric beats alpha */
		if (num) {
			c = berth_version__numcmp(a + si, i - si, b + sj, j - sj);
		} else {
			size_t la = i - si, lb = j - sj;

			c = memcmp(a + si, b + sj, la < lb ? la : lb);
			if (!c)
				c = la < lb ? -1 : la > lb;
		}
		if (c)
			return berth_version__sign(c);
	}
	if (i >= alen && j >= blen)
		return 0;
	return i >= alen ? -1 : 1;
}

typedef struct rpm_evr {
	const char *e, *v, *r; /* e, r may be NULL */
	size_t elen, vlen, rlen;
} rpm_evr;

static int evr_parse(rpm_evr *out, const char *s)
{
	const char *p = s, *dash = NULL;
	size_t n = strlen(s);

	if (!n)
		return berth_error_set(BERTH_EINVALID, "invalid rpm version '': empty");
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
			return berth_error_set(BERTH_EINVALID,
					       "invalid rpm version '%s': space, control or "
					       "non-ASCII character",
					       s);
	while (is_digit(*p))
		p++;
	out->e = NULL;
	out->elen = 0;
	if (*p == ':') {
		out->e = p == s ? "0" : s;
		out->elen = p == s ? 1 : (size_t)(p - s);
		p++;
	} else {
		p = s;
	}
	for (const char *q = p; *q; q++)
		if (*q == '-')
			dash = q;
	out->v = p;
	if (dash) {
		out->vlen = (size_t)(dash - p);
		out->r = dash + 1;
		out->rlen = strlen(dash + 1);
	} else {
		out->vlen = strlen(p);
		out->r = NULL;
		out->rlen = 0;
	}
	return 0;
}

int berth_version__rpm_cmp(const char *a, const char *b, int *cmp)
{
	rpm_evr x, y;
	int rc, c;

	if ((rc = evr_parse(&x, a)) != 0 || (rc = evr_parse(&y, b)) != 0)
		return rc;
	c = vercmp(x.e ? x.e : "0", x.e ? x.elen : 1, y.e ? y.e : "0", y.e ? y.elen : 1);
	if (!c)
		c = vercmp(x.v, x.vlen, y.v, y.vlen);
	/* As rpm 4.18's rpm.vercmp answers: a release beats no release. */
	if (!c && (x.r || y.r))
		c = x.r && y.r ? vercmp(x.r, x.rlen, y.r, y.rlen) : (x.r ? 1 : -1);
	*cmp = c;
	return 0;
}
