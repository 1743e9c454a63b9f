/*
 * osv.c - OSV records (ossf.github.io/osv-schema) into the database: one
 * advisory row per record (id, aliases, summary, severity), one affected
 * row per package and range (ECOSYSTEM and SEMVER ranges; GIT ranges name
 * commits, not versions, and are skipped), explicit "versions" lists kept.
 *
 * Severity: the source's own rating when it has one
 * (database_specific.severity as GitHub publishes, a "Ubuntu" severity
 * entry, Debian's urgency per package), otherwise computed from a CVSS v3
 * vector, or from a CVSS v4.0 vector when the record has no v3 one.
 */
#include "internal.h"

#include "berth/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OSV_ID_MAX 256
#define OSV_SUMMARY_MAX 1024
#define OSV_ALIASES_MAX 4096

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A source's rating in our words, or NULL if it is not one. */
static const char *norm_rating(const char *r)
{
	static const struct {
		const char *in, *out;
	} map[] = {{"critical", "CRITICAL"},	    {"high", "HIGH"},
		   {"important", "HIGH"},	    {"medium", "MEDIUM"},
		   {"moderate", "MEDIUM"},	    {"low", "LOW"},
		   {"negligible", "NEGLIGIBLE"},    {"unimportant", "NEGLIGIBLE"},
		   {"not yet assigned", "UNKNOWN"}, {"unknown", "UNKNOWN"}};

	if (!r)
		return NULL;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(r, map[i].in) == 0)
			return map[i].out;
	return NULL;
}

const char *berth_vulndb__rating(const char *r)
{
	return norm_rating(r);
}

typedef struct sev {
	const char *rating; /* the source's rating, or NULL */
	const char *vector; /* CVSS v3 vector, or v4 if no v3 */
	double score;	    /* -1 if none */
} sev;

static void severity(json_t *rec, sev *s)
{
	json_t *arr = json_object_get(rec, "severity"), *e;
	size_t i;

	s->rating = norm_rating(str(json_object_get(rec, "database_specific"), "severity"));
	s->vector = NULL;
	s->score = -1;
	json_array_foreach(arr, i, e)
	{
		const char *type = str(e, "type"), *score = str(e, "score");
		double v;

		if (!type || !score)
			continue;
		if (strcmp(type, "CVSS_V3") == 0 && berth_vulndb_cvss3_score(score, &v) == 0) {
			s->vector = score;
			s->score = v;
		} else if (strcmp(type, "CVSS_V4") == 0 && !s->vector &&
			   berth_vulndb_cvss4_score(score, &v) == 0) {
			s->vector = score; /* a v3 vector later in the list replaces it */
			s->score = v;
		} else if (strcmp(type, "Ubuntu") == 0 && !s->rating) {
			s->rating = norm_rating(score);
		}
	}
	if (!s->rating && s->score >= 0) {
		s->rating = berth_vulndb_cvss_rating(s->score);
		if (strcmp(s->rating, "NONE") == 0)
			s->rating = "LOW";
	}
}

static void join_aliases(json_t *rec, char *out, size_t len)
{
	json_t *arr = json_object_get(rec, "aliases"), *e;
	size_t i, n = 0;

	out[0] = '\0';
	json_array_foreach(arr, i, e)
	{
		const char *a = json_string_value(e);
		int w;

		if (!a)
			continue;
		w = snprintf(out + n, len - n, "%s%s", n ? "," : "", a);
		if (w < 0 || (size_t)w >= len - n) {
			out[n] = '\0';
			break;
		}
		n += (size_t)w;
	}
}

/* The first fixed event of a range, or NULL. */
static const char *first_fixed(json_t *events)
{
	json_t *e;
	size_t i;

	json_array_foreach(events, i, e)
	{
		const char *f = str(e, "fixed");

		if (f)
			return f;
	}
	return NULL;
}

static int put_range(berth_vulndb *db, int64_t adv, const vdb_affected *base, json_t *range,
		     berth_vulndb_import_stats *stats)
{
	json_t *events = json_object_get(range, "events");
	vdb_affected a = *base;
	char *ev = NULL;
	int rc;

	if (!json_is_array(events) || json_array_size(events) == 0)
		return 0;
	if (!(ev = json_dumps(events, JSON_COMPACT)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	a.events = ev;
	a.fixed = first_fixed(events);
	a.status = a.fixed ? "fixed" : "not-fixed";
	rc = berth_vulndb__put_affected(db, adv, &a);
	free(ev);
	if (!rc)
		stats->affected++;
	return rc;
}

static int put_affected(berth_vulndb *db, int64_t adv, json_t *aff,
			berth_vulndb_import_stats *stats)
{
	json_t *pkg = json_object_get(aff, "package"), *ranges = json_object_get(aff, "ranges");
	json_t *versions = json_object_get(aff, "versions"), *r;
	const char *eco = str(pkg, "ecosystem"), *name = str(pkg, "name");
	char family[64], release[64], pname[512], *vers = NULL;
	vdb_affected a = {0};
	size_t i;
	int rc = 0;

	if (!eco || !name)
		return 0; /* nothing to match on */
	berth_vulndb__split_ecosystem(eco, family, sizeof(family), release, sizeof(release));
	berth_vulndb__norm_package(family, name, pname, sizeof(pname));
	a.ecosystem = family;
	a.release = release;
	a.package = pname;
	a.severity = norm_rating(str(json_object_get(aff, "ecosystem_specific"), "urgency"));
	if (!a.severity)
		a.severity =
			norm_rating(str(json_object_get(aff, "ecosystem_specific"), "severity"));
	json_array_foreach(ranges, i, r)
	{
		const char *type = str(r, "type");

		if (!type || strcmp(type, "GIT") == 0)
			continue;
		if ((rc = put_range(db, adv, &a, r, stats)) != 0)
			return rc;
	}
	if (json_is_array(versions) && json_array_size(versions) > 0) {
		if (!(vers = json_dumps(versions, JSON_COMPACT)))
			return berth_error_set(BERTH_ERROR, "out of memory");
		a.versions = vers;
		a.events = NULL;
		a.status = "not-fixed";
		/* Explicit versions stand on their own row: affected if listed. */
		if ((rc = berth_vulndb__put_affected(db, adv, &a)) == 0)
			stats->affected++;
		free(vers);
	}
	return rc;
}

int berth_vulndb__osv(berth_vulndb *db, const char *name, json_t *rec,
		      berth_vulndb_import_stats *stats)
{
	json_t *affected = json_object_get(rec, "affected"), *aff;
	const char *id = str(rec, "id"), *summary = str(rec, "summary");
	char aliases[OSV_ALIASES_MAX], sum[OSV_SUMMARY_MAX + 1];
	vdb_advisory adv = {0};
	int64_t rowid;
	size_t i;
	sev s;
	int rc;

	if (!id || !*id || strlen(id) > OSV_ID_MAX)
		return berth_error_set(BERTH_EINVALID, "OSV record without a valid \"id\"");
	if (!json_is_array(affected))
		return berth_error_set(BERTH_EINVALID, "OSV record %.64s has no \"affected\" list",
				       id);
	if (json_object_get(rec, "withdrawn") && !json_is_null(json_object_get(rec, "withdrawn")))
		return 1; /* withdrawn: nothing to match */
	if (!summary)
		summary = str(rec, "details");
	summary = summary ? summary : "";
	snprintf(sum, sizeof(sum), "%.*s", (int)berth_utf8_prefix(summary, OSV_SUMMARY_MAX),
		 summary);
	sum[strcspn(sum, "\n")] = '\0';
	join_aliases(rec, aliases, sizeof(aliases));
	severity(rec, &s);
	adv.source = name;
	adv.id = id;
	adv.aliases = aliases;
	adv.summary = sum;
	adv.severity = s.rating ? s.rating : "UNKNOWN";
	adv.cvss_vector = s.vector;
	adv.cvss = s.score;
	adv.published = str(rec, "published");
	adv.modified = str(rec, "modified");
	if ((rc = berth_vulndb__put_advisory(db, &adv, 1, &rowid)) != 0)
		return rc;
	stats->advisories++;
	json_array_foreach(affected, i, aff)
	{
		if ((rc = put_affected(db, rowid, aff, stats)) != 0)
			return rc;
	}
	return 0;
}

void berth_vulndb__split_ecosystem(const char *eco, char *family, size_t flen, char *release,
				   size_t rlen)
{
	const char *colon = strchr(eco, ':'), *r;
	size_t n = colon ? (size_t)(colon - eco) : strlen(eco);

	static const char *const known[] = {"Debian",	  "Ubuntu",    "Alpine",      "PyPI",
					    "npm",	  "Go",	       "Maven",	      "crates.io",
					    "RubyGems",	  "Packagist", "NuGet",	      "Wolfi",
					    "Chainguard", "Red Hat",   "Rocky Linux", "AlmaLinux",
					    "SUSE",	  "openSUSE",  "Hex",	      "Pub"};

	snprintf(family, flen, "%.*s", (int)n, eco);
	/* One spelling per ecosystem, so lookups hit the index. */
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcasecmp(family, known[i]) == 0)
			snprintf(family, flen, "%s", known[i]);
	release[0] = '\0';
	if (!colon)
		return;
	r = colon + 1;
	if ((strcasecmp(family, "Alpine") == 0) && (*r == 'v' || *r == 'V'))
		r++;
	/* "Ubuntu:22.04:LTS", "Ubuntu:Pro:18.04:LTS": keep the release number. */
	if (strncasecmp(r, "Pro:", 4) == 0)
		r += 4;
	n = strcspn(r, ":");
	snprintf(release, rlen, "%.*s", (int)n, r);
}

void berth_vulndb__norm_package(const char *family, const char *name, char *out, size_t len)
{
	size_t o = 0;

	if (strcasecmp(family, "PyPI") != 0) {
		snprintf(out, len, "%s", name);
		return;
	}
	/* PEP 503: lowercase, runs of -, _ and . become one '-'. */
	for (const char *p = name; *p && o + 1 < len; p++) {
		if (*p == '-' || *p == '_' || *p == '.') {
			if (o == 0 || out[o - 1] != '-')
				out[o++] = '-';
		} else {
			out[o++] = (char)tolower((unsigned char)*p);
		}
	}
	out[o] = '\0';
}
