/*
 * nuget.c - NuGet version order (NuGet.Versioning's NuGetVersion, as
 * documented in "Package versioning" on learn.microsoft.com).
 *
 * N(.N){0,3}[-label(.label)*][+metadata]: one to four numbers (a missing
 * one is 0, so 1.0 = 1.0.0 = 1.0.0.0; leading zeros are allowed and
 * ignored), prerelease labels of [0-9A-Za-z-], build metadata ignored. A
 * release is newer than any prerelease; labels compare left to right,
 * numeric labels numerically and below alphanumeric ones, alphanumeric
 * labels case-insensitively; more labels is newer when one list is a
 * prefix of the other.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>

typedef struct nu_ver {
	const char *num[4];
	size_t len[4];
	const char *pre;
	size_t pre_len;
} nu_ver;

static int bad(const char *v, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid nuget version '%s': %s", v, why);
}

static int label_char(int c)
{
	return isalnum(c) || c == '-';
}

/* Dot-separated labels from s; returns the end (at '+' or NUL) or NULL. */
static const char *labels(const char *s)
{
	for (;;) {
		const char *q = s;

		while (label_char((unsigned char)*q))
			q++;
		if (q == s)
			return NULL;
		if (*q != '.')
			return q;
		s = q + 1;
	}
}

static int nu_parse(nu_ver *out, const char *v)
{
	const char *s = v;
	int parts = 0;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < 4; i++) {
		out->num[i] = "0";
		out->len[i] = 1;
	}
	while (isspace((unsigned char)*s))
		s++;
	for (;;) {
		const char *q = s;

		while (isdigit((unsigned char)*q))
			q++;
		if (q == s)
			return bad(v, "expected a number");
		out->num[parts] = s;
		out->len[parts] = (size_t)(q - s);
		parts++;
		s = q;
		if (*s != '.' || parts == 4)
			break;
		s++;
	}
	if (*s == '-') {
		const char *e = labels(s + 1);

		if (!e)
			return bad(v, "empty prerelease label");
		out->pre = s + 1;
		out->pre_len = (size_t)(e - s - 1);
		s = e;
	}
	if (*s == '+') {
		const char *e = labels(s + 1);

		if (!e)
			return bad(v, "empty build metadata");
		s = e;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s)
		return bad(v, "unexpected character");
	return 0;
}

static int all_digits(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return 0;
	return 1;
}

static int label_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int da = all_digits(a, an), db = all_digits(b, bn);
	size_t n = an < bn ? an : bn;

	if (da && db)
		return berth_version__numcmp(a, an, b, bn);
	if (da != db)
		return da ? -1 : 1;
	for (size_t i = 0; i < n; i++) {
		int x = toupper((unsigned char)a[i]), y = toupper((unsigned char)b[i]);

		if (x != y)
			return x < y ? -1 : 1;
	}
	return an < bn ? -1 : an > bn;
}

static int nu_order(const nu_ver *a, const nu_ver *b)
{
	const char *p, *q, *pe, *qe;
	int c;

	for (int i = 0; i < 4; i++)
		if ((c = berth_version__numcmp(a->num[i], a->len[i], b->num[i], b->len[i])))
			return c;
	if (!a->pre || !b->pre)
		return a->pre ? -1 : (b->pre ? 1 : 0);
	p = a->pre;
	q = b->pre;
	pe = p + a->pre_len;
	qe = q + b->pre_len;
	for (;;) {
		const char *x, *y;

		if (p >= pe || q >= qe)
			return p >= pe ? (q >= qe ? 0 : -1) : 1;
		if (!(x = memchr(p, '.', (size_t)(pe - p))))
			x = pe;
		if (!(y = memchr(q, '.', (size_t)(qe - q))))
			y = qe;
		if ((c = label_cmp(p, (size_t)(x - p), q, (size_t)(y - q))))
			return c;
		p = x < pe ? x + 1 : pe;
		q = y < qe ? y + 1 : qe;
	}
}

int berth_version__nuget_cmp(const char *a, const char *b, int *cmp)
{
	nu_ver x, y;
	int rc;

	if ((rc = nu_parse(&x, a)) != 0 || (rc = nu_parse(&y, b)) != 0)
		return rc;
	*cmp = nu_order(&x, &y);
	return 0;
}
