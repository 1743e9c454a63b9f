/*
 * semver.c - SemVer 2.0.0 order, as node-semver reads versions.
 *
 * MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], surrounding whitespace and one
 * leading 'v' allowed; numbers have no leading zeros and must stay below
 * 2^53 (JavaScript's safe integers, node-semver's limit); prerelease
 * identifiers are numbers (no leading zeros) or [0-9A-Za-z-]+ with a
 * non-digit; build identifiers [0-9A-Za-z-]+. Build metadata is ignored in
 * the order; a version without a prerelease is newer than one with;
 * prerelease identifiers compare left to right, numbers numerically and
 * below alphanumerics, alphanumerics bytewise, a longer list being newer
 * when one is a prefix of the other.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>

/* Number.MAX_SAFE_INTEGER is 9007199254740991 (16 digits). */
static const char max_safe[] = "9007199254740991";

static int bad(const char *v, size_t len, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid semver version '%.*s': %s", (int)len, v,
			       why);
}

static int ident_char(int c)
{
	return isalnum(c) || c == '-';
}

/* A numeric main component at *s: "0" or [1-9][0-9]*, below 2^53. */
static int number(const char *v, size_t len, const char **s, const char *end, const char **p,
		  size_t *n)
{
	const char *q = *s;

	while (q < end && isdigit((unsigned char)*q))
		q++;
	if (q == *s)
		return bad(v, len, "expected MAJOR.MINOR.PATCH numbers");
	if (**s == '0' && q - *s > 1)
		return bad(v, len, "a number has a leading zero");
	if (berth_version__numcmp(*s, (size_t)(q - *s), max_safe, sizeof(max_safe) - 1) > 0)
		return bad(v, len, "a number is larger than 2^53-1");
	*p = *s;
	*n = (size_t)(q - *s);
	*s = q;
	return 0;
}

/* Dot-separated identifiers up to `end` (prerelease if `pre`, else build). */
static int identifiers(const char *v, size_t len, const char *s, const char *end, int pre)
{
	for (;;) {
		const char *q = s;
		int alnum = 0;

		while (q < end && ident_char((unsigned char)*q)) {
			if (!isdigit((unsigned char)*q))
				alnum = 1;
			q++;
		}
		if (q == s)
			return bad(v, len,
				   pre ? "empty prerelease identifier" : "empty build identifier");
		if (pre && !alnum && *s == '0' && q - s > 1)
			return bad(v, len, "numeric prerelease identifier has a leading zero");
		if (q == end)
			return 0;
		if (*q != '.')
			return bad(v, len, "invalid character");
		s = q + 1;
	}
}

int berth_version__semver_parse(berth_semver *out, const char *v, size_t len)
{
	const char *s = v, *end = v + len, *plus;
	int rc;

	memset(out, 0, sizeof(*out));
	while (s < end && isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (s < end && *s == 'v')
		s++;
	if ((rc = number(v, len, &s, end, &out->major, &out->major_len)) != 0)
		return rc;
	if (s == end || *s++ != '.')
		return bad(v, len, "expected MAJOR.MINOR.PATCH");
	if ((rc = number(v, len, &s, end, &out->minor, &out->minor_len)) != 0)
		return rc;
	if (s == end || *s++ != '.')
		return bad(v, len, "expected MAJOR.MINOR.PATCH");
	if ((rc = number(v, len, &s, end, &out->patch, &out->patch_len)) != 0)
		return rc;
	plus = memchr(s, '+', (size_t)(end - s));
	if (s < end && *s == '-') {
		const char *pe = plus ? plus : end;

		if ((rc = identifiers(v, len, s + 1, pe, 1)) != 0)
			return rc;
		out->pre = s + 1;
		out->pre_len = (size_t)(pe - s - 1);
		s = pe;
	}
	if (s < end && *s == '+') {
		if ((rc = identifiers(v, len, s + 1, end, 0)) != 0)
			return rc;
		s = end;
	}
	if (s != end)
		return bad(v, len, "unexpected text after MAJOR.MINOR.PATCH");
	return 0;
}

static int all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return 1;
}

static int ident_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int da = all_digits(a, an), db = all_digits(b, bn), c;

	if (da && db)
		return berth_version__numcmp(a, an, b, bn);
	if (da != db)
		return da ? -1 : 1;
	c = memcmp(a, b, an < bn ? an : bn);
	if (c)
		return berth_version__sign(c);
	return an < bn ? -1 : an > bn;
}

int berth_version__semver_pre_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	const char *ae = a + an, *be = b + bn;

	for (;;) {
		const char *x, *y;
		int c;

		if (a >= ae || b >= be)
			return a >= ae ? (b >= be ? 0 : -1) : 1;
		x = memchr(a, '.', (size_t)(ae - a));
		y = memchr(b, '.', (size_t)(be - b));
		if (!x)
			x = ae;
		if (!y)
			y = be;
		if ((c = ident_cmp(a, (size_t)(x - a), b, (size_t)(y - b))))
			return c;
		a = x < ae ? x + 1 : ae;
		b = y < be ? y + 1 : be;
	}
}

int berth_version__semver_order(const berth_semver *a, const berth_semver *b)
{
	int c;

	if ((c = berth_version__numcmp(a->major, a->major_len, b->major, b->major_len)) ||
	    (c = berth_version__numcmp(a->minor, a->minor_len, b->minor, b->minor_len)) ||
	    (c = berth_version__numcmp(a->patch, a->patch_len, b->patch, b->patch_len)))
		return c;
	if (!a->pre || !b->pre)
		return a->pre ? -1 : (b->pre ? 1 : 0);
	return berth_version__semver_pre_cmp(a->pre, a->pre_len, b->pre, b->pre_len);
}

int berth_version__semver_cmp(const char *a, const char *b, int *cmp)
{
	berth_semver x, y;
	int rc;

	if ((rc = berth_version__semver_parse(&x, a, strlen(a))) != 0 ||
	    (rc = berth_version__semver_parse(&y, b, strlen(b))) != 0)
		return rc;
	*cmp = berth_version__semver_order(&x, &y);
	return 0;
}
