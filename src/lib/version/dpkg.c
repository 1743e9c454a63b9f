/*
 * dpkg.c - Debian version order (Debian Policy 5.6.12, dpkg's verrevcmp).
 *
 * [epoch:]upstream[-revision]: the epoch is a decimal integer, the revision
 * is what follows the last '-'. Each part compares as alternating non-digit
 * and digit runs: non-digits by a weight where '~' sorts before everything
 * (even the end of the string), letters before the other characters; digit
 * runs as integers. What dpkg refuses (empty, embedded space, a bad epoch,
 * nothing after ':' or '-') is EINVALID; what dpkg only warns about (a
 * version not starting with a digit, odd characters) compares as dpkg does.
 */
#include "internal.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

typedef struct deb_ver {
	unsigned long epoch;
	const char *up; /* upstream, up_len bytes */
	size_t up_len;
	const char *rev; /* revision, rev_len bytes ("" if none) */
	size_t rev_len;
} deb_ver;

static int bad(const char *v, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid deb version '%s': %s", v, why);
}

static int deb_parse(deb_ver *out, const char *v)
{
	const char *s = v, *end, *colon, *hyphen;

	if (!*v)
		return bad(v, "version string is empty");
	while (*s == ' ' || *s == '\t')
		s++;
	end = s;
	while (*end && !isspace((unsigned char)*end))
		end++;
	for (const char *p = end; *p; p++)
		if (!isspace((unsigned char)*p))
			return bad(v, "version string has embedded spaces");
	if (end == s)
		return bad(v, "version string is empty");
	colon = memchr(s, ':', (size_t)(end - s));
	out->epoch = 0;
	if (colon) {
		unsigned long e = 0;
		const char *p = s;
		int neg = 0;

		/* dpkg reads the epoch with strtol: an optional sign, then digits. */
		if (*p == '+' || *p == '-')
			neg = *p++ == '-';
		if (p == colon)
			return bad(v, "epoch in version is empty");
		for (; p < colon; p++) {
			if (!isdigit((unsigned char)*p))
				return bad(v, "epoch in version is not number");
			e = e * 10 + (unsigned long)(*p - '0');
			if (e > INT_MAX)
				return bad(v, "epoch in version is too big");
		}
		if (neg && e > 0)
			return bad(v, "epoch in version is negative");
		if (colon + 1 == end)
			return bad(v, "nothing after colon in version number");
		out->epoch = e;
		s = colon + 1;
	}
	hyphen = NULL;
	for (const char *p = s; p < end; p++)
		if (*p == '-')
			hyphen = p;
	out->up = s;
	if (hyphen) {
		if (hyphen + 1 == end)
			return bad(v, "revision number is empty");
		out->up_len = (size_t)(hyphen - s);
		out->rev = hyphen + 1;
		out->rev_len = (size_t)(end - hyphen - 1);
	} else {
		out->up_len = (size_t)(end - s);
		out->rev = "";
		out->rev_len = 0;
	}
	if (out->up_len == 0)
		return bad(v, "version number is empty");
	return 0;
}

/* The weight of a non-digit character; 0 is the end of the part. */
static int order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

static int verrevcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t i = 0, j = 0;

	while (i < alen || j < blen) {
		int first_diff = 0;

		while ((i < alen && !isdigit((unsigned char)a[i])) ||
		       (j < blen && !isdigit((unsigned char)b[j]))) {
			int ac = i < alen ? order((unsigned char)a[i]) : 0;
			int bc = j < blen ? order((unsigned char)b[j]) : 0;

			if (ac != bc)
				return berth_version__sign(ac - bc);
			i++;
			j++;
		}
		while (i < alen && a[i] == '0')
			i++;
		while (j < blen && b[j] == '0')
			j++;
		while (i < alen && isdigit((unsigned char)a[i]) && j < blen &&
		       isdigit((unsigned char)b[j])) {
			if (!first_diff)
				first_diff = a[i] - b[j];
			i++;
			j++;
		}
		if (i < alen && isdigit((unsigned char)a[i]))
			return 1;
		if (j < blen && isdigit((unsigned char)b[j]))
			return -1;
		if (first_diff)
			return berth_version__sign(first_diff);
	}
	return 0;
}

int berth_version__deb_cmp(const char *a, const char *b, int *cmp)
{
	deb_ver x, y;
	int rc, c;

	if ((rc = deb_parse(&x, a)) != 0 || (rc = deb_parse(&y, b)) != 0)
		return rc;
	if (x.epoch != y.epoch) {
		*cmp = x.epoch < y.epoch ? -1 : 1;
		return 0;
	}
	c = verrevcmp(x.up, x.up_len, y.up, y.up_len);
	if (!c)
		c = verrevcmp(x.rev, x.rev_len, y.rev, y.rev_len);
	*cmp = c;
	return 0;
}
