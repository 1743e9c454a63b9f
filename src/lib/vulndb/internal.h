/*
 * internal.h - what the files of src/lib/vulndb share: the connection, the
 * prepared inserts the importers use, and the format parsers.
 */
#ifndef BERTH_VULNDB_INTERNAL_H
#define BERTH_VULNDB_INTERNAL_H

#include "berth/version.h"
#include "berth/vulndb.h"

#include <jansson.h>
#include <sqlite3.h>

struct berth_vulndb {
	sqlite3 *db;
	sqlite3_stmt *ins_adv, *ins_aff, *del_aff;
	sqlite3_stmt *sel; /* the query's statement, prepared on first use and kept */
	char *path;
};

/** One advisory row to write. Strings borrowed. */
typedef struct vdb_advisory {
	const char *source, *id, *aliases, *summary, *severity, *cvss_vector, *published, *modified;
	double cvss;
} vdb_advisory;

/** One affected row. Strings borrowed; events/versions are JSON text or NULL. */
typedef struct vdb_affected {
	const char *ecosystem, *release, *package, *events, *versions, *fixed, *status, *severity;
} vdb_affected;

/**
 * Write an advisory (updating the row of the same source and id); *rowid is
 * its id for affected rows. With `replace`, its old affected rows go (an OSV
 * record is whole); without, they stay (tracker files list one CVE under
 * many packages, and replace a source as a whole instead).
 */
int berth_vulndb__put_advisory(berth_vulndb *db, const vdb_advisory *a, int replace,
			       int64_t *rowid);

/** Our rating word for a source's ("moderate" -> MEDIUM), NULL if not one. */
const char *berth_vulndb__rating(const char *r);

/** Delete every advisory of one source (before a whole-file re-import). */
int berth_vulndb__drop_source(berth_vulndb *db, const char *source);
int berth_vulndb__put_affected(berth_vulndb *db, int64_t advisory, const vdb_affected *a);

/**
 * Import a parsed JSON document of any known format. `name` is the source
 * the rows record (the path given to import), `where` the file (and archive
 * member) that warnings name.
 */
int berth_vulndb__import_doc(berth_vulndb *db, const char *name, const char *where, json_t *doc,
			     berth_vulndb_warn_cb warn, void *ctx,
			     berth_vulndb_import_stats *stats);

int berth_vulndb__osv(berth_vulndb *db, const char *name, json_t *rec,
		      berth_vulndb_import_stats *stats);
int berth_vulndb__debian_tracker(berth_vulndb *db, const char *name, const char *where, json_t *doc,
				 berth_vulndb_warn_cb warn, void *ctx,
				 berth_vulndb_import_stats *stats);
int berth_vulndb__alpine_secdb(berth_vulndb *db, const char *name, const char *where, json_t *doc,
			       berth_vulndb_warn_cb warn, void *ctx,
			       berth_vulndb_import_stats *stats);

/** Split an OSV ecosystem into family and release: "Debian:12" -> "Debian", "12";
 * "Ubuntu:22.04:LTS" -> "Ubuntu", "22.04"; "Alpine:v3.19" -> "Alpine", "3.19". */
void berth_vulndb__split_ecosystem(const char *eco, char *family, size_t flen, char *release,
				   size_t rlen);

/** Package name as stored and queried (PyPI names normalised per PEP 503). */
void berth_vulndb__norm_package(const char *family, const char *name, char *out, size_t len);

int berth_vulndb__exec(berth_vulndb *db, const char *sql);
int berth_vulndb__set_meta(berth_vulndb *db, const char *key, const char *value);
int berth_vulndb__add_source(berth_vulndb *db, const char *source);

#endif
