/*
 * version.c - the scheme table of berth/version.h: names, OSV ecosystem
 * mapping, dispatch to each scheme's comparison, and the affected-range
 * evaluation the matcher uses (OSV's event algorithm).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef int (*cmp_fn)(const char *a, const char *b, int *cmp);

static const struct {
	const char *name;
	cmp_fn cmp;
} schemes[BERTH_VERSION_SCHEME_COUNT] = {
	[BERTH_VERSION_DEB] = {"deb", berth_version__deb_cmp},
	[BERTH_VERSION_RPM] = {"rpm", berth_version__rpm_cmp},
	[BERTH_VERSION_APK] = {"apk", berth_version__apk_cmp},
	[BERTH_VERSION_PEP440] = {"pep440", berth_version__pep440_cmp},
	[BERTH_VERSION_SEMVER] = {"semver", berth_version__semver_cmp},
	[BERTH_VERSION_GO] = {"go", berth_version__go_cmp},
	[BERTH_VERSION_MAVEN] = {"maven", berth_version__maven_cmp},
	[BERTH_VERSION_GEM] = {"gem", berth_version__gem_cmp},
	[BERTH_VERSION_COMPOSER] = {"composer", berth_version__composer_cmp},
	[BERTH_VERSION_NUGET] = {"nuget", berth_version__nuget_cmp},
};

static const struct {
	const char *alias;
	berth_version_scheme s;
} aliases[] = {
	{"dpkg", BERTH_VERSION_DEB},	 {"debian", BERTH_VERSION_DEB},
	{"pypi", BERTH_VERSION_PEP440},	 {"python", BERTH_VERSION_PEP440},
	{"npm", BERTH_VERSION_SEMVER},	 {"golang", BERTH_VERSION_GO},
	{"rubygems", BERTH_VERSION_GEM}, {"packagist", BERTH_VERSION_COMPOSER},
	{"alpine", BERTH_VERSION_APK},
};

/* OSV ecosystem names (the part before ':') and their orders. */
static const struct {
	const char *ecosystem;
	berth_version_scheme s;
} ecosystems[] = {
	{"Debian", BERTH_VERSION_DEB},	    {"Ubuntu", BERTH_VERSION_DEB},
	{"Alpine", BERTH_VERSION_APK},	    {"Wolfi", BERTH_VERSION_APK},
	{"Chainguard", BERTH_VERSION_APK},  {"Red Hat", BERTH_VERSION_RPM},
	{"Rocky Linux", BERTH_VERSION_RPM}, {"AlmaLinux", BERTH_VERSION_RPM},
	{"SUSE", BERTH_VERSION_RPM},	    {"openSUSE", BERTH_VERSION_RPM},
	{"Mageia", BERTH_VERSION_RPM},	    {"PyPI", BERTH_VERSION_PEP440},
	{"npm", BERTH_VERSION_SEMVER},	    {"crates.io", BERTH_VERSION_SEMVER},
	{"Hex", BERTH_VERSION_SEMVER},	    {"Pub", BERTH_VERSION_SEMVER},
	{"Go", BERTH_VERSION_GO},	    {"Maven", BERTH_VERSION_MAVEN},
	{"RubyGems", BERTH_VERSION_GEM},    {"Packagist", BERTH_VERSION_COMPOSER},
	{"NuGet", BERTH_VERSION_NUGET},
};

int berth_version_scheme_parse(const char *name, berth_version_scheme *out)
{
	if (!name)
		return berth_error_set(BERTH_EINVALID, "no version scheme given");
	for (int i = 0; i < BERTH_VERSION_SCHEME_COUNT; i++) {
		if (strcasecmp(name, schemes[i].name) == 0) {
			*out = (berth_version_scheme)i;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (strcasecmp(name, aliases[i].alias) == 0) {
			*out = aliases[i].s;
			return 0;
		}
	}
	return berth_error_set(BERTH_ENOTFOUND, "unknown version scheme '%.64s'", name);
}

const char *berth_version_scheme_name(berth_version_scheme s)
{
	if ((unsigned)s >= BERTH_VERSION_SCHEME_COUNT)
		return "unknown";
	return schemes[s].name;
}

int berth_version_scheme_for_ecosystem(const char *ecosystem, berth_version_scheme *out)
{
	size_t n;

	if (!ecosystem)
		return berth_error_set(BERTH_EINVALID, "no ecosystem given");
	n = strcspn(ecosystem, ":");
	for (size_t i = 0; i < sizeof(ecosystems) / sizeof(ecosystems[0]); i++) {
		if (strlen(ecosystems[i].ecosystem) == n &&
		    strncasecmp(ecosystem, ecosystems[i].ecosystem, n) == 0) {
			*out = ecosystems[i].s;
			return 0;
		}
	}
	return berth_error_set(BERTH_ENOTFOUND, "ecosystem '%.64s' has no known version order",
			       ecosystem);
}

int berth_version__check(const char *what, const char *v)
{
	size_t n;

	if (!v)
		return berth_error_set(BERTH_EINVALID, "no %s version given", what);
	n = strnlen(v, BERTH_VERSION_MAX + 1);
	if (n > BERTH_VERSION_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%s version longer than %d bytes", what,
				       BERTH_VERSION_MAX);
	return 0;
}

int berth_version__numcmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c;

	while (alen > 0 && *a == '0') {
		a++;
		alen--;
	}
	while (blen > 0 && *b == '0') {
		b++;
		blen--;
	}
	if (alen != blen)
		return alen < blen ? -1 : 1;
	c = alen ? memcmp(a, b, alen) : 0;
	return berth_version__sign(c);
}

int berth_version_compare(berth_version_scheme s, const char *a, const char *b, int *cmp)
{
	int rc;

	if ((unsigned)s >= BERTH_VERSION_SCHEME_COUNT)
		return berth_error_set(BERTH_EINVALID, "unknown version scheme %d", (int)s);
	if ((rc = berth_version__check(schemes[s].name, a)) != 0 ||
	    (rc = berth_version__check(schemes[s].name, b)) != 0)
		return rc;
	return schemes[s].cmp(a, b, cmp);
}

int berth_version_validate(berth_version_scheme s, const char *v)
{
	int cmp;

	return berth_version_compare(s, v, v, &cmp);
}

/* ---- affected ranges ---- */

static int is_zero_introduced(const berth_version_event *e)
{
	return e->kind == BERTH_VERSION_INTRODUCED && strcmp(e->version, "0") == 0;
}

/* Compare two events by version; "0" introduced sorts first. */
static int event_cmp(berth_version_scheme s, const berth_version_event *x,
		     const berth_version_event *y, int *out)
{
	int zx = is_zero_introduced(x), zy = is_zero_introduced(y);

	if (zx || zy) {
		*out = zy - zx;
		return 0;
	}
	return berth_version_compare(s, x->version, y->version, out);
}

/* Insertion sort of event indexes (ranges hold a handful of events). */
static int sort_events(berth_version_scheme s, const berth_version_event *ev, size_t n,
		       size_t *order)
{
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = 1; i < n; i++) {
		size_t j = i;

		while (j > 0) {
			int c, rc;

			if ((rc = event_cmp(s, &ev[order[j - 1]], &ev[order[j]], &c)) != 0)
				return rc;
			if (c <= 0)
				break;
			size_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
			j--;
		}
	}
	return 0;
}

#define BERTH_VERSION_EVENTS_MAX 1024

int berth_version_affected(berth_version_scheme s, const char *v, const berth_version_event *events,
			   size_t n, int *affected)
{
	size_t *order = NULL;
	int rc, on = 0;

	*affected = 0;
	if (n > BERTH_VERSION_EVENTS_MAX)
		return berth_error_set(BERTH_ETOOBIG, "more than %d events in one range",
				       BERTH_VERSION_EVENTS_MAX);
	if ((rc = berth_version_validate(s, v)) != 0)
		return rc;
	if (n == 0)
		return 0;
	if (!(order = malloc(n * sizeof(*order))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = sort_events(s, events, n, order)) != 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		const berth_version_event *e = &events[order[i]];
		int c = 0;

		if (is_zero_introduced(e)) {
			on = 1;
			continue;
		}
		if ((rc = berth_version_compare(s, v, e->version, &c)) != 0)
			goto done;
		switch (e->kind) {
		case BERTH_VERSION_INTRODUCED:
			if (c >= 0)
				on = 1;
			break;
		case BERTH_VERSION_FIXED:
			if (c >= 0)
				on = 0;
			break;
		case BERTH_VERSION_LAST_AFFECTED:
			if (c > 0)
				on = 0;
			break;
		case BERTH_VERSION_LIMIT:
			if (c >= 0) {
				on = 0;
				i = n; /* nothing at or above a limit */
			}
			break;
		}
	}
	*affected = on;
done:
	free(order);
	return rc;
}

int berth_version_in_range(berth_version_scheme s, const char *v, const char *introduced,
			   const char *fixed, int *affected)
{
	berth_version_event ev[2];
	size_t n = 0;

	ev[n++] = (berth_version_event){BERTH_VERSION_INTRODUCED, introduced ? introduced : "0"};
	if (fixed)
		ev[n++] = (berth_version_event){BERTH_VERSION_FIXED, fixed};
	return berth_version_affected(s, v, ev, n, affected);
}
