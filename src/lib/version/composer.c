/*
 * composer.c - Composer (Packagist) version order: composer/semver's
 * VersionParser::normalize, then PHP's version_compare on the results,
 * which is how Composer orders versions.
 *
 * normalize: trim; drop an "X as Y" alias and an @stability flag; drop
 * +build; then either a classical version (v?N{1,5}(.N){0,3} padded to
 * four numbers) or a date version (YYYY then 1-6 two-digit and an optional
 * 1-3 digit group, separators turned into dots), each with an optional
 * modifier (stable, beta|b, RC, alpha|a, patch|pl|p, numbers, -dev), or a
 * numeric branch ending in dev ("2.1.x-dev" -> 2.1.9999999.9999999-dev).
 * Named branches (dev-main, master) have no order and are EINVALID here.
 *
 * version_compare: separators become dots, digit/letter switches get one,
 * parts compare numerically or by the special-form order
 * (other < dev < alpha=a < beta=b < RC=rc < number < pl=p).
 */
#include "internal.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define COMPOSER_NORM_MAX (BERTH_VERSION_MAX * 2 + 64)

#define MODIFIER "[._-]?((stable|beta|b|rc|alpha|a|patch|pl|p)(([.-]?[0-9]+)*)?)?([.-]?dev)?$"

static regex_t re_classic, re_date, re_branch;
static int re_ok;
static pthread_once_t re_once = PTHREAD_ONCE_INIT;

static void re_init(void)
{
	re_ok = regcomp(&re_classic, "^v?([0-9]{1,5})(\\.[0-9]+)?(\\.[0-9]+)?(\\.[0-9]+)?" MODIFIER,
			REG_EXTENDED | REG_ICASE) == 0 &&
		regcomp(&re_date, "^v?([0-9]{4}([.:-]?[0-9]{2}){1,6}([.:-]?[0-9]{1,3})?)" MODIFIER,
			REG_EXTENDED | REG_ICASE) == 0 &&
		regcomp(&re_branch,
			"^v?([0-9]+)(\\.([0-9]+|[xX*]))?(\\.([0-9]+|[xX*]))?(\\.([0-9]+|[xX*]))?$",
			REG_EXTENDED | REG_ICASE) == 0;
}

static int bad(const char *v, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid composer version '%s': %s", v, why);
}

static int is_trim(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\0' || c == '\v';
}

typedef struct nbuf {
	char s[COMPOSER_NORM_MAX];
	size_t n;
} nbuf;

static void put(nbuf *b, const char *s, size_t n)
{
	if (b->n + n >= sizeof(b->s))
		n = sizeof(b->s) - 1 - b->n; /* cannot happen: inputs are capped */
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static size_t glen(const regmatch_t *m)
{
	return m->rm_so < 0 ? 0 : (size_t)(m->rm_eo - m->rm_so);
}

/* The modifier part: m[0] whole modifier group, m[1] stability, m[2] numbers, m[4] dev. */
static void modifier(nbuf *out, const char *v, const regmatch_t *m)
{
	if (glen(&m[1])) {
		const char *st = v + m[1].rm_so;
		size_t sl = glen(&m[1]);
		size_t nl = glen(&m[2]);
		const char *num = nl ? v + m[2].rm_so : "";
		char low[16];

		if (sl == 6 && memcmp(st, "stable", 6) == 0)
			return; /* exactly "stable": the bare version, nothing else */
		for (size_t i = 0; i < sl && i < sizeof(low) - 1; i++)
			low[i] = (char)tolower((unsigned char)st[i]);
		low[sl < sizeof(low) - 1 ? sl : sizeof(low) - 1] = '\0';
		put(out, "-", 1);
		if (strcmp(low, "a") == 0)
			put(out, "alpha", 5);
		else if (strcmp(low, "b") == 0)
			put(out, "beta", 4);
		else if (strcmp(low, "p") == 0 || strcmp(low, "pl") == 0)
			put(out, "patch", 5);
		else if (strcmp(low, "rc") == 0)
			put(out, "RC", 2);
		else
			put(out, low, strlen(low));
		while (nl && (*num == '.' || *num == '-'))
			num++, nl--;
		put(out, num, nl);
	}
	if (glen(&m[4]))
		put(out, "-dev", 4);
}

static int classic(nbuf *out, const char *v)
{
	regmatch_t m[11];

	if (regexec(&re_classic, v, 11, m, 0) != 0)
		return 0;
	put(out, v + m[1].rm_so, glen(&m[1]));
	for (int i = 2; i <= 4; i++) {
		if (glen(&m[i]))
			put(out, v + m[i].rm_so, glen(&m[i]));
		else
			put(out, ".0", 2);
	}
	modifier(out, v, &m[5]);
	return 1;
}

static int date(nbuf *out, const char *v)
{
	regmatch_t m[10];

	if (regexec(&re_date, v, 10, m, 0) != 0)
		return 0;
	for (const char *p = v + m[1].rm_so; p < v + m[1].rm_eo; p++)
		put(out, isdigit((unsigned char)*p) ? p : ".", 1);
	modifier(out, v, &m[4]);
	return 1;
}

/* "<numeric branch>[.-]?dev": 1.x-dev, 2.1.*-dev, v3-dev. */
static int numeric_branch(nbuf *out, const char *v, size_t n)
{
	char name[BERTH_VERSION_MAX + 1];
	regmatch_t m[8];
	size_t k, s = 0;

	if (n < 3 || strncasecmp(v + n - 3, "dev", 3) != 0)
		return 0;
	/* (.*?)[.-]?dev$: the lazy group leaves a separator to [.-]?. */
	k = n - 3;
	if (k > 0 && (v[k - 1] == '.' || v[k - 1] == '-'))
		k--;
	while (s < k && is_trim((unsigned char)v[s]))
		s++;
	while (k > s && is_trim((unsigned char)v[k - 1]))
		k--;
	memcpy(name, v + s, k - s);
	name[k - s] = '\0';
	if (regexec(&re_branch, name, 8, m, 0) != 0)
		return 0;
	put(out, name + m[1].rm_so, glen(&m[1]));
	for (int i = 2; i <= 6; i += 2) {
		size_t l = glen(&m[i]);
		const char *p;

		if (!l) {
			put(out, ".9999999", 8);
			continue;
		}
		p = name + m[i].rm_so;
		if (p[1] == 'x' || p[1] == 'X' || p[1] == '*')
			put(out, ".9999999", 8);
		else
			put(out, p, l);
	}
	put(out, "-dev", 4);
	return 1;
}

/* Steps before the version grammar: trim, alias, @stability, branch names, +build. */
static int prepare(char *w, const char *v)
{
	static const char *const flags[] = {"@stable", "@rc", "@beta", "@alpha", "@dev"};
	size_t n = strlen(v), s = 0;
	char *sp, *plus;

	while (s < n && is_trim((unsigned char)v[s]))
		s++;
	while (n > s && is_trim((unsigned char)v[n - 1]))
		n--;
	memcpy(w, v + s, n - s);
	w[n - s] = '\0';
	/* "X as Y" (one word each side) aliases X. */
	if ((sp = strstr(w, " as ")) && !strpbrk(w, ",\t\n\r") && sp > w) {
		char *rhs = sp + 4, *lend = sp;

		while (*rhs == ' ')
			rhs++;
		if (*rhs && !strchr(rhs, ' ') && !memchr(w, ' ', (size_t)(lend - w)))
			*lend = '\0';
	}
	n = strlen(w);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		size_t l = strlen(flags[i]);

		if (n >= l && strcasecmp(w + n - l, flags[i]) == 0) {
			w[n - l] = '\0';
			break;
		}
	}
	if (strcmp(w, "master") == 0 || strcmp(w, "trunk") == 0 || strcmp(w, "default") == 0 ||
	    strncasecmp(w, "dev-", 4) == 0)
		return bad(v, "a branch name has no version order");
	/* ^([^,\s+]++)\+[^\s]++$ : drop build metadata */
	if ((plus = strchr(w, '+')) && plus > w && !strpbrk(w, ", \t\n\r\v\f") && plus[1])
		*plus = '\0';
	return 0;
}

static int composer_normalize(nbuf *out, const char *v)
{
	char w[BERTH_VERSION_MAX + 1];
	int rc;

	pthread_once(&re_once, re_init);
	if (!re_ok)
		return berth_error_set(BERTH_ERROR, "composer: cannot compile version patterns");
	out->n = 0;
	out->s[0] = '\0';
	if ((rc = prepare(w, v)) != 0)
		return rc;
	if (classic(out, w) || date(out, w) || numeric_branch(out, w, strlen(w)))
		return 0;
	return bad(v, "not a version (expected e.g. 1.2.3, v2.0.0-beta1, 1.x-dev)");
}

/* ---- PHP version_compare ---- */

static int special_form(const char *s)
{
	static const struct {
		const char *name;
		int order;
	} forms[] = {{"dev", 0}, {"alpha", 1}, {"a", 1}, {"beta", 2}, {"b", 2},
		     {"RC", 3},	 {"rc", 3},    {"#", 4}, {"pl", 5},   {"p", 5}};

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
		if (strncmp(s, forms[i].name, strlen(forms[i].name)) == 0)
			return forms[i].order;
	return -1;
}

static void canonicalize(char *out, size_t cap, const char *v)
{
	size_t q = 0;
	int lp;

#define ISDIG(x) (isdigit(x) && (x) != '.')
#define ISNDIG(x) (!isdigit(x) && (x) != '.')
	out[q++] = v[0];
	lp = (unsigned char)v[0];
	for (const char *p = v + 1; *p && q + 2 < cap; p++) {
		int c = (unsigned char)*p;

		if (c == '-' || c == '_' || c == '+') {
			if (out[q - 1] != '.')
				out[q++] = '.';
		} else if ((ISNDIG(lp) && ISDIG(c)) || (ISDIG(lp) && ISNDIG(c))) {
			if (out[q - 1] != '.')
				out[q++] = '.';
			out[q++] = (char)c;
		} else if (!isalnum(c)) {
			if (out[q - 1] != '.')
				out[q++] = '.';
		} else {
			out[q++] = (char)c;
		}
		lp = c;
	}
	out[q] = '\0';
#undef ISDIG
#undef ISNDIG
}

/* strtol of a digit run, saturating at LONG_MAX as PHP's does. */
static long php_strtol(const char *s)
{
	unsigned long long v = 0;

	for (; isdigit((unsigned char)*s); s++) {
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > LONG_MAX)
			return LONG_MAX;
	}
	return (long)v;
}

static int php_version_compare(const char *a, const char *b)
{
	char v1[COMPOSER_NORM_MAX * 2], v2[COMPOSER_NORM_MAX * 2];
	char *p1, *p2, *n1, *n2;
	int c = 0;

	if (!*a || !*b)
		return !*a && !*b ? 0 : (*a ? 1 : -1);
	if (a[0] == '#')
		snprintf(v1, sizeof(v1), "%s", a);
	else
		canonicalize(v1, sizeof(v1), a);
	if (b[0] == '#')
		snprintf(v2, sizeof(v2), "%s", b);
	else
		canonicalize(v2, sizeof(v2), b);
	p1 = n1 = v1;
	p2 = n2 = v2;
	while (*p1 && *p2 && n1 && n2) {
		if ((n1 = strchr(p1, '.')))
			*n1 = '\0';
		if ((n2 = strchr(p2, '.')))
			*n2 = '\0';
		if (isdigit((unsigned char)*p1) && isdigit((unsigned char)*p2)) {
			long l1 = php_strtol(p1), l2 = php_strtol(p2);

			c = (l1 > l2) - (l1 < l2);
		} else if (!isdigit((unsigned char)*p1) && !isdigit((unsigned char)*p2)) {
			c = berth_version__sign(special_form(p1) - special_form(p2));
		} else if (isdigit((unsigned char)*p1)) {
			c = berth_version__sign(special_form("#N#") - special_form(p2));
		} else {
			c = berth_version__sign(special_form(p1) - special_form("#N#"));
		}
		if (c)
			break;
		if (n1)
			p1 = n1 + 1;
		if (n2)
			p2 = n2 + 1;
	}
	if (c == 0) {
		if (n1)
			c = isdigit((unsigned char)*p1) ? 1 : php_version_compare(p1, "#N#");
		else if (n2)
			c = isdigit((unsigned char)*p2) ? -1 : php_version_compare("#N#", p2);
	}
	return c;
}

int berth_version__composer_cmp(const char *a, const char *b, int *cmp)
{
	nbuf x, y;
	int rc;

	if ((rc = composer_normalize(&x, a)) != 0 || (rc = composer_normalize(&y, b)) != 0)
		return rc;
	*cmp = php_version_compare(x.s, y.s);
	return 0;
}
