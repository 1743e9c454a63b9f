/*
 * match.c - the join of a catalogue with the vulnerability database: each
 * package becomes one query (ecosystem and release, package name as the
 * database keys it, version) answered by berth_vulndb_query with the
 * ecosystem's version order; the answers become findings. Also the
 * severity words, the filters and the exit status a scan asks for.
 */
#include "internal.h"
#include "util/array.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const sev_names[BERTH_SEV__COUNT] = {"UNKNOWN", "NEGLIGIBLE", "LOW",
							"MEDIUM",  "HIGH",	 "CRITICAL"};

const char *berth_scan_severity_name(berth_scan_severity s)
{
	return (unsigned)s < BERTH_SEV__COUNT ? sev_names[s] : "UNKNOWN";
}

int berth_scan_severity_parse(const char *s, berth_scan_severity *out)
{
	for (int i = 0; i < BERTH_SEV__COUNT; i++) {
		if (strcasecmp(s, sev_names[i]) == 0) {
			*out = (berth_scan_severity)i;
			return 0;
		}
	}
	return berth_error_set(BERTH_EINVALID,
			       "unknown severity '%.32s' (UNKNOWN, NEGLIGIBLE, LOW, MEDIUM, HIGH, "
			       "CRITICAL)",
			       s);
}

int berth_scan_severity_mask(const char *list, unsigned *mask)
{
	*mask = 0;
	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");
		char w[32];
		berth_scan_severity s = BERTH_SEV_UNKNOWN;
		int rc;

		if (n == 0 || n >= sizeof(w))
			return berth_error_set(BERTH_EINVALID, "bad severity list '%.64s'", list);
		snprintf(w, sizeof(w), "%.*s", (int)n, p);
		if ((rc = berth_scan_severity_parse(w, &s)) != 0)
			return rc;
		*mask |= 1u << s;
		p += n;
		if (*p)
			p++;
	}
	if (!*mask)
		return berth_error_set(BERTH_EINVALID, "empty severity list");
	return 0;
}

/* The distro's release as the database keys it: Debian "12", Alpine "3.18", Ubuntu "22.04". */
static void os_release(const berth_catalog *c, int components, char *out, size_t len)
{
	const char *v = c->os_version_id ? c->os_version_id : c->os_version;
	size_t n = 0;
	int seen = 0;

	if (!v) {
		out[0] = '\0';
		return;
	}
	while (v[n] && n + 1 < len) {
		if (v[n] == '.' && ++seen == components)
			break;
		n++;
	}
	snprintf(out, len, "%.*s", (int)n, v);
}

/* The ecosystem of an OS package from os-release's ID; -1 for a distro we have no name for. */
static int os_ecosystem(const berth_catalog *c, berth_pkg_type t, char *eco)
{
	static const struct {
		const char *id, *family;
		int components; /* of the version that make the release */
	} map[] = {
		{"debian", "Debian", 1},       {"ubuntu", "Ubuntu", 2},
		{"alpine", "Alpine", 2},       {"rocky", "Rocky Linux", 1},
		{"almalinux", "AlmaLinux", 1}, {"rhel", "Red Hat", 1},
		{"wolfi", "Wolfi", 0},	       {"chainguard", "Chainguard", 0},
	};
	char rel[64];

	if (!c->os_id)
		return -1;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(c->os_id, map[i].id) != 0)
			continue;
		if (!map[i].components) {
			snprintf(eco, BERTH_SCAN_KEY_MAX, "%s", map[i].family);
			return 0;
		}
		os_release(c, map[i].components, rel, sizeof(rel));
		if (!rel[0])
			return -1;
		snprintf(eco, BERTH_SCAN_KEY_MAX, "%s:%s%s", map[i].family,
			 t == BERTH_PKG_APK ? "v" : "", rel);
		return 0;
	}
	return -1;
}

int berth_scan_package_key(const berth_catalog *c, const berth_package *p, char *eco, char *name,
			   char *version)
{
	static const char *const lang[BERTH_PKG__COUNT] = {
		[BERTH_PKG_PYPI] = "PyPI",	    [BERTH_PKG_NPM] = "npm",
		[BERTH_PKG_GOLANG] = "Go",	    [BERTH_PKG_MAVEN] = "Maven",
		[BERTH_PKG_CARGO] = "crates.io",    [BERTH_PKG_GEM] = "RubyGems",
		[BERTH_PKG_COMPOSER] = "Packagist", [BERTH_PKG_NUGET] = "NuGet"};
	const char *v = p->version ? p->version : "";

	if (berth_pkg_type_is_os(p->type)) {
		if (os_ecosystem(c, p->type, eco) < 0)
			return berth_error_set(BERTH_ENOTFOUND, "%s package %s: unknown distro",
					       berth_pkg_type_name(p->type), p->name);
		snprintf(name, BERTH_SCAN_KEY_MAX, "%s",
			 p->source_name && *p->source_name ? p->source_name : p->name);
		/* The source version carries the epoch already (dpkg's Source: field). */
		if (p->type == BERTH_PKG_DEB && p->source_version && *p->source_version)
			snprintf(version, BERTH_SCAN_KEY_MAX, "%s", p->source_version);
		else if (p->epoch > 0)
			snprintf(version, BERTH_SCAN_KEY_MAX, "%d:%s", p->epoch, v);
		else
			snprintf(version, BERTH_SCAN_KEY_MAX, "%s", v);
		return 0;
	}
	if ((unsigned)p->type >= BERTH_PKG__COUNT || !lang[p->type])
		return berth_error_set(BERTH_ENOTFOUND, "no ecosystem for %s", p->name);
	snprintf(eco, BERTH_SCAN_KEY_MAX, "%s", lang[p->type]);
	if (p->type == BERTH_PKG_MAVEN && p->group && *p->group)
		snprintf(name, BERTH_SCAN_KEY_MAX, "%s:%s", p->group, p->name);
	else
		snprintf(name, BERTH_SCAN_KEY_MAX, "%s", p->name);
	/* Go's standard library: OSV's "stdlib" at "1.21.3" for the toolchain "go1.21.3". */
	if (p->type == BERTH_PKG_GOLANG && strncmp(v, "go", 2) == 0 && isdigit((unsigned char)v[2]))
		v += 2;
	snprintf(version, BERTH_SCAN_KEY_MAX, "%s", v);
	return 0;
}

static int warn(berth_scan_report *r, const char *fmt, ...) BERTH_PRINTF(2, 3);

static int warn(berth_scan_report *r, const char *fmt, ...)
{
	char *msg = NULL, **w;
	va_list ap;

	if (r->nwarnings >= BERTH_CATALOG_WARNINGS_MAX)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg || !(w = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*w)))) {
		free(msg);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	r->warnings = w;
	w[r->nwarnings++] = msg;
	return 0;
}

static berth_scan_severity severity_of(const char *s)
{
	berth_scan_severity v = BERTH_SEV_UNKNOWN;

	if (s && berth_scan_severity_parse(s, &v) != 0) {
		berth_error_clear();
		v = BERTH_SEV_UNKNOWN;
	}
	return v;
}

/* Move one match into a new finding (strings taken from m). */
static int add_finding(berth_scan_report *r, size_t pkg, berth_vulndb_match *m, const char *eco,
		       const char *name, const char *version)
{
	berth_scan_finding *f;

	if (r->n == BERTH_SCAN_FINDINGS_MAX)
		return berth_error_set(BERTH_ETOOBIG, "more than %d findings",
				       BERTH_SCAN_FINDINGS_MAX);
	if (!(f = berth_array_room(r->findings, r->n, &r->cap, sizeof(*f))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	r->findings = f;
	f = &r->findings[r->n++];
	memset(f, 0, sizeof(*f));
	f->pkg = pkg;
	f->id = m->id;
	f->aliases = m->aliases;
	f->fixed = m->fixed;
	f->status = m->status;
	f->summary = m->summary;
	f->source = m->source;
	f->cvss = m->cvss;
	f->cvss_vector = m->cvss_vector;
	f->severity = severity_of(m->severity);
	free(m->severity);
	memset(m, 0, sizeof(*m));
	f->ecosystem = strdup(eco);
	f->matched = strdup(name);
	f->installed = strdup(version);
	if (!f->ecosystem || !f->matched || !f->installed)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

/* Query one package; a version the ecosystem cannot read is a warning. */
static int match_one(berth_scan_report *r, berth_vulndb *db, size_t i)
{
	const berth_package *p = &r->catalog->pkgs[i];
	char eco[BERTH_SCAN_KEY_MAX], name[BERTH_SCAN_KEY_MAX], ver[BERTH_SCAN_KEY_MAX];
	berth_vulndb_match *m = NULL;
	size_t n = 0;
	int rc;

	if (berth_scan_package_key(r->catalog, p, eco, name, ver) != 0) {
		r->unmatched++;
		return warn(r, "%s", berth_error_last());
	}
	r->queried++;
	rc = berth_vulndb_query(db, eco, name, ver, &m, &n);
	if (rc == BERTH_EINVALID || rc == BERTH_EUNSUPPORTED || rc == BERTH_ETOOBIG) {
		r->unmatched++;
		return warn(r, "%s %s@%s (%s): %s", eco, name, ver, p->path ? p->path : "",
			    berth_error_last());
	}
	for (size_t k = 0; rc == 0 && k < n; k++)
		rc = add_finding(r, i, &m[k], eco, name, ver);
	berth_vulndb_matches_free(m, n);
	return rc;
}

int berth_scan_match(berth_scan_report **out, berth_catalog *catalog, berth_vulndb *db)
{
	berth_scan_report *r = calloc(1, sizeof(*r));
	int rc = 0;

	*out = NULL;
	if (!r) {
		berth_catalog_free(catalog);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	r->catalog = catalog;
	r->db_built_at = berth_vulndb_built_at(db);
	if ((rc = berth_vulndb_read_begin(db)) != 0)
		goto done;
	for (size_t i = 0; i < catalog->npkgs && rc == 0; i++)
		rc = match_one(r, db, i);
	berth_vulndb_read_end(db);
	if (rc)
		goto done;
	*out = r;
	/* now owned by the caller */ r = NULL;
done:
	berth_scan_report_free(r);
	return rc;
}

static void finding_dispose(berth_scan_finding *f)
{
	free(f->id);
	free(f->aliases);
	free(f->fixed);
	free(f->status);
	free(f->summary);
	free(f->source);
	free(f->cvss_vector);
	free(f->ecosystem);
	free(f->matched);
	free(f->installed);
	free(f->suppressed);
}

void berth_scan_report_free(berth_scan_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		finding_dispose(&r->findings[i]);
	free(r->findings);
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	berth_catalog_free(r->catalog);
	free(r);
}

void berth_scan_filter(berth_scan_report *r, const berth_scan_filter_options *o)
{
	size_t w = 0;

	for (size_t i = 0; i < r->n; i++) {
		berth_scan_finding *f = &r->findings[i];
		int os = berth_pkg_type_is_os(r->catalog->pkgs[f->pkg].type);
		int drop = (o->severities && !(o->severities & (1u << f->severity))) ||
			   (o->ignore_unfixed && !*f->fixed) ||
			   ((o->os || o->library) && !(os ? o->os : o->library));

		if (drop)
			finding_dispose(f);
		else
			r->findings[w++] = *f;
	}
	r->n = w;
}

int berth_scan__names(const berth_scan_finding *f, const char *id)
{
	return strcmp(f->id, id) == 0 || berth_vulndb_alias_has(f->aliases, id);
}

int berth_scan__suppress(berth_scan_finding *f, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (f->suppressed)
		return 0;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s)
		return berth_error_set(BERTH_ERROR, "out of memory");
	f->suppressed = s;
	return 0;
}

int berth_scan_exit_status(const berth_scan_report *r, int exit_code, int fail_on)
{
	int left = 0, reached = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (r->findings[i].suppressed)
			continue;
		left = 1;
		if (fail_on >= 0 && (int)r->findings[i].severity >= fail_on)
			reached = 1;
	}
	if (fail_on >= 0)
		return reached ? (exit_code >= 0 ? exit_code : 1) : 0;
	return left && exit_code >= 0 ? exit_code : 0;
}
