/*
 * go.c - Go module version order (golang.org/x/mod/semver).
 *
 * Like SemVer 2 but with a required leading 'v', no whitespace, numbers of
 * any size, and the shorthands vMAJOR and vMAJOR.MINOR (which mean .0 and
 * take no prerelease or build). "+incompatible" is build metadata and so
 * ignored by the order; pseudo-versions (v0.0.0-20191109021931-daa7c04131f5,
 * v1.2.4-0.2019..., v1.2.3-pre.0.2019...) are prereleases and order by their
 * timestamp as the module system intends.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>

typedef struct go_ver {
	const char *num[3];
	size_t len[3];
	const char *pre; /* NULL if none */
	size_t pre_len;
} go_ver;

static int bad(const char *v, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid go version '%s': %s", v, why);
}

static int ident_char(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '-';
}

static int number(const char **s, const char **p, size_t *n)
{
	const char *q = *s;

	while (*q >= '0' && *q <= '9')
		q++;
	if (q == *s || (**s == '0' && q - *s > 1))
		return -1;
	*p = *s;
	*n = (size_t)(q - *s);
	*s = q;
	return 0;
}

/* Dot-separated identifiers from s up to a '+' or the end; returns the end or NULL. */
static const char *identifiers(const char *s, int pre)
{
	for (;;) {
		const char *q = s;
		int alnum = 0;

		while (ident_char((unsigned char)*q)) {
			if (!(*q >= '0' && *q <= '9'))
				alnum = 1;
			q++;
		}
		if (q == s || (pre && !alnum && *s == '0' && q - s > 1))
			return NULL;
		if (*q != '.')
			return q;
		s = q + 1;
	}
}

static int go_parse(go_ver *out, const char *v)
{
	const char *s = v;
	int parts = 1;

	memset(out, 0, sizeof(*out));
	out->num[1] = out->num[2] = "0";
	out->len[1] = out->len[2] = 1;
	if (*s++ != 'v')
		return bad(v, "must start with 'v'");
	if (number(&s, &out->num[0], &out->len[0]) != 0)
		return bad(v, "expected a major version number without leading zeros");
	while (*s == '.' && parts < 3) {
		s++;
		if (number(&s, &out->num[parts], &out->len[parts]) != 0)
			return bad(v, "expected a number without leading zeros after '.'");
		parts++;
	}
	if (!*s)
		return 0;
	if (parts < 3)
		return bad(v, "a prerelease or build needs vMAJOR.MINOR.PATCH");
	if (*s == '-') {
		const char *e = identifiers(s + 1, 1);

		if (!e)
			return bad(v, "invalid prerelease");
		out->pre = s + 1;
		out->pre_len = (size_t)(e - s - 1);
		s = e;
	}
	if (*s == '+') {
		const char *e = identifiers(s + 1, 0);

		if (!e)
			return bad(v, "invalid build metadata");
		s = e;
	}
	if (*s)
		return bad(v, "unexpected character");
	return 0;
}

int berth_version__go_cmp(const char *a, const char *b, int *cmp)
{
	go_ver x, y;
	berth_semver sx, sy;
	int rc;

	if ((rc = go_parse(&x, a)) != 0 || (rc = go_parse(&y, b)) != 0)
		return rc;
	/* Same order as SemVer once parsed: reuse the one comparison. */
	sx = (berth_semver){x.num[0], x.num[1], x.num[2], x.len[0],
			    x.len[1], x.len[2], x.pre,	  x.pre_len};
	sy = (berth_semver){y.num[0], y.num[1], y.num[2], y.len[0],
			    y.len[1], y.len[2], y.pre,	  y.pre_len};
	*cmp = berth_version__semver_order(&sx, &sy);
	return 0;
}

/* 14 digits followed by '-' and an alphanumeric revision, then the end or a build. */
static int stamp_rev(const char *s)
{
	for (int i = 0; i < 14; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	s += 14;
	if (*s++ != '-' || !isalnum((unsigned char)*s))
		return 0;
	while (isalnum((unsigned char)*s))
		s++;
	return *s == '\0' || *s == '+';
}

int berth_version_go_is_pseudo(const char *v)
{
	go_ver x;
	const char *p;

	if (!v || strnlen(v, BERTH_VERSION_MAX + 1) > BERTH_VERSION_MAX || go_parse(&x, v) != 0 ||
	    !x.pre)
		return 0;
	/* vX.0.0-yyyymmddhhmmss-rev */
	if (x.len[1] == 1 && x.num[1][0] == '0' && x.len[2] == 1 && x.num[2][0] == '0' &&
	    stamp_rev(x.pre))
		return 1;
	/* vX.Y.Z-0.yyyymmddhhmmss-rev or vX.Y.Z-pre.0.yyyymmddhhmmss-rev */
	if (strncmp(x.pre, "0.", 2) == 0 && stamp_rev(x.pre + 2))
		return 1;
	for (p = x.pre; p < x.pre + x.pre_len; p++)
		if (strncmp(p, ".0.", 3) == 0 && stamp_rev(p + 3))
			return 1;
	return 0;
}
