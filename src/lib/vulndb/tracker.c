/*
 * tracker.c - distro advisory files that are not OSV: the Debian security
 * tracker's JSON (security-tracker.debian.org/tracker/data/json: source
 * package -> CVE -> per-release status, fixed version, urgency) and Alpine's
 * secdb (secdb.alpinelinux.org/vX.Y/main.json: package -> fixed version ->
 * CVEs). Rows use OSV's ecosystem names (Debian, Alpine) and release
 * numbers, so both kinds of source answer the same queries.
 *
 * Debian: "resolved" with fixed version "0" means never affected (no row);
 * "open" is not-fixed, or will-not-fix / fix-deferred when the tracker says
 * no DSA because the issue is "ignored" / "postponed", or end-of-life; the
 * urgency becomes the row's severity ("unimportant" is NEGLIGIBLE).
 */
#include "internal.h"

#include "berth/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define TRACKER_ID_MAX 64

static const struct {
	const char *codename, *release;
} debian_releases[] = {
	{"wheezy", "7"},    {"jessie", "8"},	{"stretch", "9"}, {"buster", "10"},
	{"bullseye", "11"}, {"bookworm", "12"}, {"trixie", "13"}, {"forky", "14"},
};

static const char *debian_release(const char *codename)
{
	for (size_t i = 0; i < sizeof(debian_releases) / sizeof(debian_releases[0]); i++)
		if (strcmp(codename, debian_releases[i].codename) == 0)
			return debian_releases[i].release;
	return codename; /* sid, or a release this table does not know yet */
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* "medium**" -> MEDIUM; "end-of-life" and unknown words -> UNKNOWN. */
static const char *urgency(const char *u)
{
	char w[32];
	const char *r;
	size_t n;

	if (!u)
		return "UNKNOWN";
	n = strcspn(u, "*");
	snprintf(w, sizeof(w), "%.*s", (int)n, u);
	r = berth_vulndb__rating(w);
	return r ? r : "UNKNOWN";
}

static const char *debian_status(json_t *rel, const char **fixed)
{
	const char *status = str(rel, "status"), *reason = str(rel, "nodsa_reason"),
		   *urg = str(rel, "urgency");

	*fixed = str(rel, "fixed_version");
	if (status && strcmp(status, "resolved") == 0 && *fixed)
		return strcmp(*fixed, "0") == 0 ? NULL : "fixed";
	*fixed = NULL;
	if (urg && strcmp(urg, "end-of-life") == 0)
		return "end-of-life";
	if (reason && strcmp(reason, "ignored") == 0)
		return "will-not-fix";
	if (reason && strcmp(reason, "postponed") == 0)
		return "fix-deferred";
	return "not-fixed";
}

static int debian_cve(berth_vulndb *db, const char *name, const char *pkg, const char *cve,
		      json_t *entry, berth_vulndb_import_stats *stats)
{
	json_t *releases = json_object_get(entry, "releases"), *rel;
	const char *codename, *desc = str(entry, "description");
	char sum[1024], events[600];
	vdb_advisory adv = {0};
	int64_t rowid = -1;
	int rc;

	if (!json_is_object(releases) || strlen(cve) > TRACKER_ID_MAX)
		return berth_error_set(BERTH_EINVALID, "%.64s of %.64s: no releases", cve, pkg);
	desc = desc ? desc : "";
	snprintf(sum, sizeof(sum), "%.*s", (int)berth_utf8_prefix(desc, sizeof(sum) - 1), desc);
	json_object_foreach(releases, codename, rel)
	{
		vdb_affected a = {0};
		const char *fixed, *status = debian_status(rel, &fixed);

		if (!status)
			continue; /* never affected */
		if (rowid < 0) {
			adv = (vdb_advisory){name, cve, "", sum, "UNKNOWN", NULL, NULL, NULL, -1};
			if ((rc = berth_vulndb__put_advisory(db, &adv, 0, &rowid)) != 0)
				return rc;
			stats->advisories++;
		}
		if (fixed)
			snprintf(events, sizeof(events),
				 "[{\"introduced\":\"0\"},{\"fixed\":\"%s\"}]", fixed);
		else
			snprintf(events, sizeof(events), "[{\"introduced\":\"0\"}]");
		a = (vdb_affected){"Debian", debian_release(codename),	  pkg, events, NULL, fixed,
				   status,   urgency(str(rel, "urgency"))};
		if ((rc = berth_vulndb__put_affected(db, rowid, &a)) != 0)
			return rc;
		stats->affected++;
	}
	return 0;
}

static int json_escapable(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			return 0;
	return 1;
}

int berth_vulndb__debian_tracker(berth_vulndb *db, const char *name, const char *where, json_t *doc,
				 berth_vulndb_warn_cb warn, void *ctx,
				 berth_vulndb_import_stats *stats)
{
	const char *pkg, *cve;
	json_t *cves, *entry;
	int rc;

	if ((rc = berth_vulndb__drop_source(db, name)) != 0)
		return rc;
	json_object_foreach(doc, pkg, cves)
	{
		if (!json_is_object(cves))
			continue;
		json_object_foreach(cves, cve, entry)
		{
			json_t *releases = json_object_get(entry, "releases");
			json_t *rel;
			const char *code;
			int ok = 1;

			/* Versions go into JSON text: refuse ones that would need escaping. */
			json_object_foreach(releases, code, rel)
			{
				const char *f = str(rel, "fixed_version");

				if (f && (!json_escapable(f) || strlen(f) > BERTH_VERSION_MAX))
					ok = 0;
			}
			if (!ok || (rc = debian_cve(db, name, pkg, cve, entry, stats)) != 0) {
				if (ok && rc != BERTH_EINVALID)
					return rc;
				if (warn) {
					char at[1024];

					snprintf(at, sizeof(at), "%s: %.64s/%.64s", where, pkg,
						 cve);
					warn(ctx, at,
					     ok ? berth_error_last() : "malformed fixed version");
				}
				stats->skipped++;
			}
		}
	}
	return 0;
}

/* One "CVE-... ALPINE-..." secfixes entry: every word that looks like an id. */
static int alpine_fix(berth_vulndb *db, const char *name, const char *release, const char *pkg,
		      const char *fixed, const char *ids, berth_vulndb_import_stats *stats)
{
	char events[600];
	int rc;

	snprintf(events, sizeof(events), "[{\"introduced\":\"0\"},{\"fixed\":\"%s\"}]", fixed);
	for (const char *p = ids; *p;) {
		char id[TRACKER_ID_MAX + 1];
		size_t n;
		int64_t rowid;
		vdb_advisory adv;
		vdb_affected a;

		while (*p && isspace((unsigned char)*p))
			p++;
		n = strcspn(p, " \t\n");
		if (!n)
			break;
		if (n <= TRACKER_ID_MAX && isalpha((unsigned char)*p) && memchr(p, '-', n)) {
			snprintf(id, sizeof(id), "%.*s", (int)n, p);
			adv = (vdb_advisory){name, id, "", "", "UNKNOWN", NULL, NULL, NULL, -1};
			if ((rc = berth_vulndb__put_advisory(db, &adv, 0, &rowid)) != 0)
				return rc;
			a = (vdb_affected){"Alpine", release, pkg,     events,
					   NULL,     fixed,   "fixed", NULL};
			if ((rc = berth_vulndb__put_affected(db, rowid, &a)) != 0)
				return rc;
			stats->advisories++;
			stats->affected++;
		}
		p += n;
	}
	return 0;
}

int berth_vulndb__alpine_secdb(berth_vulndb *db, const char *name, const char *where, json_t *doc,
			       berth_vulndb_warn_cb warn, void *ctx,
			       berth_vulndb_import_stats *stats)
{
	json_t *pkgs = json_object_get(doc, "packages"), *p;
	const char *distro = str(doc, "distroversion");
	char release[64];
	size_t i;
	int rc;

	if (!distro)
		return berth_error_set(BERTH_EINVALID, "secdb without \"distroversion\"");
	snprintf(release, sizeof(release), "%s", distro + (distro[0] == 'v'));
	if ((rc = berth_vulndb__drop_source(db, name)) != 0)
		return rc;
	json_array_foreach(pkgs, i, p)
	{
		json_t *pkg = json_object_get(p, "pkg"), *fixes = json_object_get(pkg, "secfixes");
		const char *pname = str(pkg, "name"), *ver;
		json_t *ids;

		if (!pname || !json_is_object(fixes)) {
			if (warn)
				warn(ctx, where, "a package without name or secfixes");
			stats->skipped++;
			continue;
		}
		json_object_foreach(fixes, ver, ids)
		{
			json_t *id;
			size_t k;

			/* "0": the package was never affected by these. */
			if (strcmp(ver, "0") == 0 || !json_escapable(ver) ||
			    strlen(ver) > BERTH_VERSION_MAX)
				continue;
			json_array_foreach(ids, k, id)
			{
				if (!json_is_string(id))
					continue;
				rc = alpine_fix(db, name, release, pname, ver,
						json_string_value(id), stats);
				if (rc)
					return rc;
			}
		}
	}
	return 0;
}
