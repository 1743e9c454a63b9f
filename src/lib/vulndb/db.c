/*
 * db.c - the vulnerability database file: open/create, the versioned
 * schema, prepared writes for the importers, meta (build time, sources),
 * info, and the default path.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS advisory("
	" id INTEGER PRIMARY KEY, source TEXT NOT NULL, ident TEXT NOT NULL,"
	" aliases TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL DEFAULT '',"
	" severity TEXT NOT NULL DEFAULT 'UNKNOWN', cvss_vector TEXT, cvss REAL,"
	" published TEXT, modified TEXT, UNIQUE(source, ident));"
	"CREATE TABLE IF NOT EXISTS affected("
	" advisory INTEGER NOT NULL REFERENCES advisory(id) ON DELETE CASCADE,"
	" ecosystem TEXT NOT NULL, release TEXT NOT NULL DEFAULT '', package TEXT NOT NULL,"
	" events TEXT, versions TEXT, fixed TEXT NOT NULL DEFAULT '',"
	" status TEXT NOT NULL, severity TEXT);"
	"CREATE INDEX IF NOT EXISTS affected_lookup ON affected(ecosystem, release, package);"
	"CREATE INDEX IF NOT EXISTS affected_advisory ON affected(advisory);"
	"CREATE INDEX IF NOT EXISTS advisory_ident ON advisory(ident);";

static int sql_fail(berth_vulndb *db, const char *what)
{
	return berth_error_set(BERTH_EIO, "vulndb %s: %s", what, sqlite3_errmsg(db->db));
}

int berth_vulndb__exec(berth_vulndb *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		int rc = berth_error_set(BERTH_EIO, "vulndb: %s", err ? err : "sqlite error");

		sqlite3_free(err);
		return rc;
	}
	return 0;
}

static int check_schema(berth_vulndb *db, int created)
{
	sqlite3_stmt *st = NULL;
	int version = 0, rc = 0;

	if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return sql_fail(db, "schema");
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version == 0 && created) {
		char sql[64];

		if ((rc = berth_vulndb__exec(db, schema)) != 0)
			return rc;
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", BERTH_VULNDB_SCHEMA);
		if ((rc = berth_vulndb__exec(db, sql)) != 0)
			return rc;
		snprintf(sql, sizeof(sql), "%d", BERTH_VULNDB_SCHEMA);
		return berth_vulndb__set_meta(db, "schema_version", sql);
	}
	if (version != BERTH_VULNDB_SCHEMA)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "vulndb %s has schema version %d; this berth reads %d "
				       "(import again or pull a newer database)",
				       db->path, version, BERTH_VULNDB_SCHEMA);
	return 0;
}

/* The importers' statements, prepared at their first write: a scan only reads,
 * and compiling these three costs it as much as its own queries. */
static int prepare(berth_vulndb *db)
{
	static const char ins_adv[] =
		"INSERT INTO advisory(source, ident, aliases, summary, severity, cvss_vector, "
		"cvss, published, modified) VALUES(?,?,?,?,?,?,?,?,?) "
		"ON CONFLICT(source, ident) DO UPDATE SET aliases=excluded.aliases, "
		"summary=excluded.summary, severity=excluded.severity, "
		"cvss_vector=excluded.cvss_vector, cvss=excluded.cvss, "
		"published=excluded.published, modified=excluded.modified RETURNING id";
	static const char ins_aff[] =
		"INSERT INTO affected(advisory, ecosystem, release, package, events, versions, "
		"fixed, status, severity) VALUES(?,?,?,?,?,?,?,?,?)";
	static const char del_aff[] = "DELETE FROM affected WHERE advisory=?";

	if (db->del_aff) /* the last one: all three are ready */
		return 0;
	if (sqlite3_prepare_v2(db->db, ins_adv, -1, &db->ins_adv, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->db, ins_aff, -1, &db->ins_aff, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->db, del_aff, -1, &db->del_aff, NULL) != SQLITE_OK)
		return sql_fail(db, "prepare");
	return 0;
}

int berth_vulndb_open(berth_vulndb **out, const char *path, int create)
{
	berth_vulndb *db = NULL;
	struct stat st;
	int rc, flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int exists = stat(path, &st) == 0;

	*out = NULL;
	if (!exists && !create)
		return berth_error_set(BERTH_ENOTFOUND,
				       "no vulnerability database at %s (run 'berth db import' or "
				       "'berth db pull')",
				       path);
	if (!(db = calloc(1, sizeof(*db))) || !(db->path = strdup(path))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (create)
		flags |= SQLITE_OPEN_CREATE;
	if (sqlite3_open_v2(path, &db->db, flags, NULL) != SQLITE_OK) {
		rc = berth_error_set(BERTH_EIO, "cannot open vulnerability database %s: %s", path,
				     db->db ? sqlite3_errmsg(db->db) : "out of memory");
		goto done;
	}
	sqlite3_busy_timeout(db->db, 5000);
	if ((rc = berth_vulndb__exec(db, "PRAGMA foreign_keys=ON")) != 0 ||
	    (rc = check_schema(db, create)) != 0)
		goto done;
	*out = db;
	/* now owned by the caller */ db = NULL;
done:
	berth_vulndb_free(db);
	return rc;
}

void berth_vulndb_free(berth_vulndb *db)
{
	if (!db)
		return;
	sqlite3_finalize(db->ins_adv);
	sqlite3_finalize(db->ins_aff);
	sqlite3_finalize(db->del_aff);
	sqlite3_finalize(db->sel);
	sqlite3_close(db->db);
	free(db->path);
	free(db);
}

int berth_vulndb_default_path(char *buf, size_t len)
{
	const char *root = getenv("BERTH_ROOT"), *xdg = getenv("XDG_DATA_HOME"),
		   *home = getenv("HOME");
	int n;

	if (root && *root)
		n = snprintf(buf, len, "%s/vulndb.sqlite", root);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/berth/vulndb.sqlite", xdg);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.local/share/berth/vulndb.sqlite", home);
	else
		return berth_error_set(BERTH_ENOTFOUND,
				       "no BERTH_ROOT, XDG_DATA_HOME or HOME: give --db PATH");
	if (n < 0 || (size_t)n >= len)
		return berth_error_set(BERTH_ETOOBIG, "database path too long");
	return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

int berth_vulndb__put_advisory(berth_vulndb *db, const vdb_advisory *a, int replace, int64_t *rowid)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prepare(db)) != 0)
		return rc;
	st = db->ins_adv;
	sqlite3_reset(st);
	bind_text(st, 1, a->source);
	bind_text(st, 2, a->id);
	bind_text(st, 3, a->aliases ? a->aliases : "");
	bind_text(st, 4, a->summary ? a->summary : "");
	bind_text(st, 5, a->severity ? a->severity : "UNKNOWN");
	bind_text(st, 6, a->cvss_vector);
	if (a->cvss >= 0)
		sqlite3_bind_double(st, 7, a->cvss);
	else
		sqlite3_bind_null(st, 7);
	bind_text(st, 8, a->published);
	bind_text(st, 9, a->modified);
	if (sqlite3_step(st) != SQLITE_ROW)
		return sql_fail(db, "insert advisory");
	*rowid = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (!replace)
		return 0;
	sqlite3_reset(db->del_aff);
	sqlite3_bind_int64(db->del_aff, 1, *rowid);
	if (sqlite3_step(db->del_aff) != SQLITE_DONE)
		rc = sql_fail(db, "replace advisory");
	sqlite3_reset(db->del_aff);
	return rc;
}

int berth_vulndb__put_affected(berth_vulndb *db, int64_t advisory, const vdb_affected *a)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prepare(db)) != 0)
		return rc;
	st = db->ins_aff;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, advisory);
	bind_text(st, 2, a->ecosystem);
	bind_text(st, 3, a->release ? a->release : "");
	bind_text(st, 4, a->package);
	bind_text(st, 5, a->events);
	bind_text(st, 6, a->versions);
	bind_text(st, 7, a->fixed ? a->fixed : "");
	bind_text(st, 8, a->status);
	bind_text(st, 9, a->severity);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_fail(db, "insert affected");
	sqlite3_reset(st);
	return rc;
}

int berth_vulndb__set_meta(berth_vulndb *db, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(db->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", -1,
			       &st, NULL) != SQLITE_OK)
		return sql_fail(db, "meta");
	bind_text(st, 1, key);
	bind_text(st, 2, value);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_fail(db, "meta");
	sqlite3_finalize(st);
	return rc;
}

static char *get_meta(berth_vulndb *db, const char *key)
{
	sqlite3_stmt *st = NULL;
	char *v = NULL;

	if (sqlite3_prepare_v2(db->db, "SELECT value FROM meta WHERE key=?", -1, &st, NULL) !=
	    SQLITE_OK)
		return NULL;
	bind_text(st, 1, key);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* Record a source (and the build time) in meta: sources is a JSON array. */
int berth_vulndb__add_source(berth_vulndb *db, const char *source)
{
	char *old = get_meta(db, "sources"), *text = NULL, when[32];
	json_t *arr = old ? json_loads(old, 0, NULL) : NULL;
	time_t now = time(NULL);
	int rc;

	free(old);
	if (!json_is_array(arr)) {
		json_decref(arr);
		arr = json_array();
	}
	snprintf(when, sizeof(when), "%lld", (long long)now);
	json_array_append_new(
		arr, json_pack("{s:s,s:I}", "source", source, "imported_at", (json_int_t)now));
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_vulndb__set_meta(db, "sources", text);
	free(text);
	return rc ? rc : berth_vulndb__set_meta(db, "built_at", when);
}

static uint64_t count(berth_vulndb *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;

	if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static char *ecosystems_json(berth_vulndb *db)
{
	sqlite3_stmt *st = NULL;
	json_t *o = json_object();
	char *text = NULL;

	if (o && sqlite3_prepare_v2(db->db,
				    "SELECT ecosystem || CASE release WHEN '' THEN '' ELSE ':' || "
				    "release END, count(*) FROM affected GROUP BY 1 ORDER BY 1",
				    -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			json_object_set_new(o, (const char *)sqlite3_column_text(st, 0),
					    json_integer(sqlite3_column_int64(st, 1)));
		text = json_dumps(o, JSON_COMPACT);
	}
	sqlite3_finalize(st);
	json_decref(o);
	return text;
}

time_t berth_vulndb_built_at(berth_vulndb *db)
{
	char *built = get_meta(db, "built_at");
	time_t t = built ? (time_t)strtoll(built, NULL, 10) : 0;

	free(built);
	return t;
}

int berth_vulndb_info_get(berth_vulndb *db, berth_vulndb_info *out)
{
	memset(out, 0, sizeof(*out));
	out->schema = BERTH_VULNDB_SCHEMA;
	out->built_at = berth_vulndb_built_at(db);
	out->advisories = count(db, "SELECT count(*) FROM advisory");
	out->affected = count(db, "SELECT count(*) FROM affected");
	out->sources = get_meta(db, "sources");
	if (!out->sources)
		out->sources = strdup("[]");
	out->ecosystems = ecosystems_json(db);
	if (!out->sources || !out->ecosystems) {
		berth_vulndb_info_dispose(out);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

void berth_vulndb_info_dispose(berth_vulndb_info *info)
{
	free(info->sources);
	free(info->ecosystems);
	info->sources = info->ecosystems = NULL;
}

int berth_vulndb__drop_source(berth_vulndb *db, const char *source)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (sqlite3_prepare_v2(db->db, "DELETE FROM advisory WHERE source=?", -1, &st, NULL) !=
	    SQLITE_OK)
		return sql_fail(db, "drop source");
	bind_text(st, 1, source);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = sql_fail(db, "drop source");
	sqlite3_finalize(st);
	return rc;
}
