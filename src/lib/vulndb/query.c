/*
 * query.c - the scanner's question: which advisories affect this version
 * of this package in this ecosystem (and release)? Rows are found through
 * the (ecosystem, release, package) index and each is evaluated with the
 * ecosystem's version order (berth/version.h): OSV range events, explicit
 * version lists, and distro statuses ("not-fixed" rows affect every
 * version).
 */
#include "internal.h"
#include "util/array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUERY_EVENTS_MAX 256
#define QUERY_MATCHES_MAX 100000

static int parse_events(json_t *arr, berth_version_event *ev, size_t *n)
{
	json_t *e;
	size_t i;

	*n = 0;
	json_array_foreach(arr, i, e)
	{
		static const struct {
			const char *key;
			berth_version_event_kind kind;
		} kinds[] = {{"introduced", BERTH_VERSION_INTRODUCED},
			     {"fixed", BERTH_VERSION_FIXED},
			     {"last_affected", BERTH_VERSION_LAST_AFFECTED},
			     {"limit", BERTH_VERSION_LIMIT}};

		if (*n == QUERY_EVENTS_MAX)
			return -1;
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
			json_t *v = json_object_get(e, kinds[k].key);

			if (json_is_string(v)) {
				ev[*n].kind = kinds[k].kind;
				ev[*n].version = json_string_value(v);
				(*n)++;
				break;
			}
		}
	}
	return 0;
}

/* Smallest fixed event above v, or NULL. */
static const char *next_fixed(berth_version_scheme s, const char *v, const berth_version_event *ev,
			      size_t n)
{
	const char *best = NULL;

	for (size_t i = 0; i < n; i++) {
		int c;

		if (ev[i].kind != BERTH_VERSION_FIXED ||
		    berth_version_compare(s, ev[i].version, v, &c) != 0 || c <= 0)
			continue;
		if (!best || (berth_version_compare(s, ev[i].version, best, &c) == 0 && c < 0))
			best = ev[i].version;
	}
	return best;
}

/*
 * OSV's Go records write module versions without the leading 'v' that Go
 * itself (and our Go order) requires: add it where it is missing. The
 * strings live in `store` (QUERY_EVENTS_MAX slots).
 */
static void go_prefix(berth_version_event *ev, size_t n, char (*store)[BERTH_VERSION_MAX + 2])
{
	for (size_t i = 0; i < n; i++) {
		if (ev[i].version[0] == 'v' || strcmp(ev[i].version, "0") == 0 ||
		    strlen(ev[i].version) > BERTH_VERSION_MAX)
			continue;
		snprintf(store[i], sizeof(store[i]), "v%s", ev[i].version);
		ev[i].version = store[i];
	}
}

/* Does one affected row cover v? *fixed gets the fix above v (a copy in fixed_buf). */
static int row_affects(berth_version_scheme s, const char *v, const char *events,
		       const char *versions, char (*store)[BERTH_VERSION_MAX + 2], char *fixed_buf,
		       size_t fixed_len, const char **fixed)
{
	berth_version_event ev[QUERY_EVENTS_MAX];
	json_t *arr, *e;
	size_t n, i;
	int hit = 0;

	*fixed = NULL;
	if (versions && (arr = json_loads(versions, 0, NULL))) {
		json_array_foreach(arr, i, e)
		{
			if (json_is_string(e) && strcmp(json_string_value(e), v) == 0)
				hit = 1;
		}
		json_decref(arr);
		if (hit)
			return 1;
	}
	if (!events || !(arr = json_loads(events, 0, NULL)))
		return 0;
	if (parse_events(arr, ev, &n) != 0) {
		json_decref(arr);
		return 0;
	}
	if (s == BERTH_VERSION_GO)
		go_prefix(ev, n, store);
	if (berth_version_affected(s, v, ev, n, &hit) != 0)
		hit = 0; /* a row whose versions this order cannot read matches nothing */
	if (hit) {
		const char *f = next_fixed(s, v, ev, n);

		if (f) {
			snprintf(fixed_buf, fixed_len, "%s", f);
			*fixed = fixed_buf;
		}
	}
	json_decref(arr);
	return hit;
}

static char *dup(const unsigned char *s)
{
	return strdup(s ? (const char *)s : "");
}

static int cmp_match(const void *a, const void *b)
{
	return strcmp(((const berth_vulndb_match *)a)->id, ((const berth_vulndb_match *)b)->id);
}

static void dispose(berth_vulndb_match *m)
{
	free(m->id);
	free(m->aliases);
	free(m->severity);
	free(m->fixed);
	free(m->status);
	free(m->summary);
	free(m->source);
	free(m->cvss_vector);
}

void berth_vulndb_matches_free(berth_vulndb_match *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++)
		dispose(&m[i]);
	free(m);
}

static int add_match(berth_vulndb_match **arr, size_t *n, size_t *cap, sqlite3_stmt *st,
		     const char *fixed)
{
	berth_vulndb_match *m;

	if (*n == QUERY_MATCHES_MAX)
		return berth_error_set(BERTH_ETOOBIG, "more than %d advisories for one package",
				       QUERY_MATCHES_MAX);
	if (!(m = berth_array_room(*arr, *n, cap, sizeof(*m))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	*arr = m;
	m = &(*arr)[*n];
	m->id = dup(sqlite3_column_text(st, 0));
	m->aliases = dup(sqlite3_column_text(st, 1));
	m->severity = dup(sqlite3_column_text(st, 2));
	m->fixed = strdup(fixed ? fixed : "");
	m->status = dup(sqlite3_column_text(st, 6));
	m->summary = dup(sqlite3_column_text(st, 7));
	m->source = dup(sqlite3_column_text(st, 8));
	m->cvss = sqlite3_column_type(st, 9) == SQLITE_NULL ? -1 : sqlite3_column_double(st, 9);
	m->cvss_vector = dup(sqlite3_column_text(st, 10));
	(*n)++;
	if (!m->id || !m->aliases || !m->severity || !m->fixed || !m->status || !m->summary ||
	    !m->source || !m->cvss_vector)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

int berth_vulndb_alias_has(const char *aliases, const char *id)
{
	size_t n = strlen(id);

	for (const char *p = aliases; *p;) {
		size_t l = strcspn(p, ",");

		if (l == n && strncmp(p, id, n) == 0)
			return 1;
		p += l;
		if (*p)
			p++;
	}
	return 0;
}

/* 1 if some match of m[0..n) has `id` as its id. */
static int reported(const berth_vulndb_match *m, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].id, id) == 0)
			return 1;
	return 0;
}

/*
 * The CVEs a distro advisory names that no row reports (DSA-5514-1 names
 * CVE-2023-4911, which the tracker has, and CVE-2023-4527, which it may
 * not): each becomes a match of its own with the advisory's fixed version,
 * status and severity, so merging the advisory away loses none of them.
 */
static int split_aliases(berth_vulndb_match **arr, size_t *n, size_t *cap, size_t i)
{
	char *list = strdup((*arr)[i].aliases);
	char *save = NULL;
	int rc = 0;

	if (!list)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (char *a = strtok_r(list, ",", &save); a && rc == 0; a = strtok_r(NULL, ",", &save)) {
		berth_vulndb_match *m;

		if (strncmp(a, "CVE-", 4) != 0 || reported(*arr, *n, a))
			continue;
		if (*n == *cap) {
			size_t c = *cap * 2 + 1;
			berth_vulndb_match *g = realloc(*arr, c * sizeof(*g));

			if (!g) {
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				break;
			}
			*arr = g;
			*cap = c;
		}
		m = &(*arr)[(*n)++];
		*m = (*arr)[i];
		m->id = strdup(a);
		m->aliases = strdup((*arr)[i].id);
		m->severity = strdup(m->severity);
		m->fixed = strdup(m->fixed);
		m->status = strdup(m->status);
		m->summary = strdup(m->summary);
		m->source = strdup(m->source);
		m->cvss_vector = strdup(m->cvss_vector);
		if (!m->id || !m->aliases || !m->severity || !m->fixed || !m->status ||
		    !m->summary || !m->source || !m->cvss_vector)
			rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
	free(list);
	return rc;
}

/*
 * A distro advisory (DSA-5532-1) that names a CVE another row reports
 * (CVE-2023-5363) is the same finding: keep the CVE, add the advisory's id
 * to its aliases, and take its fixed version if the CVE row has none. The
 * other CVEs it names become findings of their own (split_aliases).
 */
static int merge_aliases(berth_vulndb_match **arr, size_t *n, size_t *cap)
{
	for (size_t i = 0; i < *n; i++) {
		berth_vulndb_match *m;
		size_t j;
		int rc;

		for (j = 0; j < *n; j++)
			if (j != i && berth_vulndb_alias_has((*arr)[i].aliases, (*arr)[j].id))
				break;
		if (j == *n)
			continue;
		if ((rc = split_aliases(arr, n, cap, i)) != 0)
			return rc;
		m = *arr;
		char *al = malloc(strlen(m[j].aliases) + strlen(m[i].id) + 2);

		if (!al)
			return berth_error_set(BERTH_ERROR, "out of memory");
		sprintf(al, "%s%s%s", m[j].aliases, *m[j].aliases ? "," : "", m[i].id);
		free(m[j].aliases);
		m[j].aliases = al;
		if (!*m[j].fixed && *m[i].fixed) {
			char *f = m[j].fixed;

			m[j].fixed = m[i].fixed;
			m[i].fixed = f;
		}
		dispose(&m[i]);
		m[i] = m[--*n];
		i = (size_t)-1; /* start over: the array changed */
	}
	return 0;
}

/* Sort by id and keep one match per id (the first with a fixed version, if any). */
static void dedupe(berth_vulndb_match *m, size_t *n)
{
	size_t w = 0;

	if (*n == 0)
		return;
	qsort(m, *n, sizeof(*m), cmp_match);
	for (size_t i = 1; i < *n; i++) {
		if (strcmp(m[i].id, m[w].id) == 0) {
			if (!*m[w].fixed && *m[i].fixed) {
				dispose(&m[w]);
				m[w] = m[i];
			} else {
				dispose(&m[i]);
			}
			continue;
		}
		m[++w] = m[i];
	}
	*n = w + 1;
}

int berth_vulndb_query(berth_vulndb *db, const char *ecosystem, const char *package,
		       const char *version, berth_vulndb_match **out, size_t *n)
{
	static const char sql[] =
		"SELECT a.ident, a.aliases, COALESCE(f.severity, a.severity), f.events, "
		"f.versions, f.fixed, f.status, a.summary, a.source, a.cvss, "
		"a.cvss_vector "
		"FROM affected f JOIN advisory a ON a.id = f.advisory "
		"WHERE f.ecosystem = ? AND f.release = ? AND f.package = ?";
	char family[64], release[64], pkg[512], vbuf[BERTH_VERSION_MAX + 2];
	char(*store)[BERTH_VERSION_MAX + 2] = NULL;
	berth_vulndb_match *arr = NULL;
	berth_version_scheme s;
	sqlite3_stmt *st = NULL;
	size_t cnt = 0, cap = 0;
	int rc, step;

	*out = NULL;
	*n = 0;
	if (!ecosystem || !package || !version)
		return berth_error_set(BERTH_EINVALID,
				       "query needs ecosystem, package and version");
	berth_vulndb__split_ecosystem(ecosystem, family, sizeof(family), release, sizeof(release));
	if (berth_version_scheme_for_ecosystem(family, &s) != 0)
		return berth_error_set(BERTH_EUNSUPPORTED, "ecosystem '%.64s' has no version order",
				       ecosystem);
	if ((rc = berth_version_validate(
		     s, s == BERTH_VERSION_GO && version[0] != 'v' &&
					strlen(version) < BERTH_VERSION_MAX
				? (snprintf(vbuf, sizeof(vbuf), "v%s", version), vbuf)
				: version)) != 0)
		return rc;
	berth_vulndb__norm_package(family, package, pkg, sizeof(pkg));
	/* A scan asks once per package: prepare once per connection. */
	if (!db->sel && sqlite3_prepare_v2(db->db, sql, -1, &db->sel, NULL) != SQLITE_OK)
		return berth_error_set(BERTH_EIO, "vulndb query: %s", sqlite3_errmsg(db->db));
	st = db->sel;
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, family, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, release, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, pkg, -1, SQLITE_TRANSIENT);
	if (!(store = malloc(QUERY_EVENTS_MAX * sizeof(*store)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (s == BERTH_VERSION_GO && version[0] != 'v') {
		snprintf(vbuf, sizeof(vbuf), "v%s", version);
		version = vbuf;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *fixed = NULL;
		char fbuf[BERTH_VERSION_MAX + 2];

		if (!row_affects(s, version, (const char *)sqlite3_column_text(st, 3),
				 (const char *)sqlite3_column_text(st, 4), store, fbuf,
				 sizeof(fbuf), &fixed))
			continue;
		if ((rc = add_match(&arr, &cnt, &cap, st, fixed)) != 0)
			goto done;
	}
	if (step != SQLITE_DONE) {
		rc = berth_error_set(BERTH_EIO, "vulndb query: %s", sqlite3_errmsg(db->db));
		goto done;
	}
	dedupe(arr, &cnt);
	if ((rc = merge_aliases(&arr, &cnt, &cap)) != 0)
		goto done;
	if (cnt)
		qsort(arr, cnt, sizeof(*arr), cmp_match);
	*out = arr;
	*n = cnt;
	/* now owned by the caller */ arr = NULL;
	cnt = 0;
done:
	free(store);
	sqlite3_reset(st);
	berth_vulndb_matches_free(arr, cnt);
	return rc;
}

int berth_vulndb_read_begin(berth_vulndb *db)
{
	return berth_vulndb__exec(db, "BEGIN");
}

void berth_vulndb_read_end(berth_vulndb *db)
{
	if (db && !sqlite3_get_autocommit(db->db))
		sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL);
}
