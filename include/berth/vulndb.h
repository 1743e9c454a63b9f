/*
 * berth/vulndb.h - the vulnerability database: advisories imported from OSV
 * (every ecosystem: Debian, Ubuntu, Alpine, PyPI, npm, Go, Maven,
 * crates.io, RubyGems, Packagist, NuGet, ...), the Debian security tracker
 * JSON and Alpine secdb JSON into one SQLite file, queried by the scanner
 * with (ecosystem[:release], package, version), and shipped between sites
 * as an OCI artifact.
 *
 * The file: a versioned schema (BERTH_VULNDB_SCHEMA, also PRAGMA
 * user_version), tables `advisory` (one row per source and id: aliases,
 * summary, severity, CVSS vector and score) and `affected` (one row per
 * advisory, ecosystem, release and package: OSV range events as JSON,
 * explicit versions, fixed version, status), indexed by (ecosystem,
 * release, package), and `meta` (schema version, build time, sources).
 *
 * Ecosystems are OSV's names ("Debian:12", "Ubuntu:22.04", "Alpine:v3.19",
 * "PyPI", "npm"...); a distro release is part of the key, so Debian 12's
 * advisories never match Debian 11's packages. Distro packages are keyed by
 * their source package. Statuses: "fixed", "not-fixed" (no fix yet),
 * "will-not-fix", "fix-deferred", "end-of-life" - all kept.
 *
 * Thread safety: one berth_vulndb per thread (an SQLite connection).
 */
#ifndef BERTH_VULNDB_H
#define BERTH_VULNDB_H

#include "berth/common.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Schema version of the database file this code reads and writes. */
#define BERTH_VULNDB_SCHEMA 1
/** Largest advisory document accepted (one OSV JSON file, one tracker/secdb JSON). */
#define BERTH_VULNDB_DOC_MAX (512u * 1024 * 1024)
/** Largest single OSV record inside a zip archive or directory. */
#define BERTH_VULNDB_RECORD_MAX (16u * 1024 * 1024)
/** Artifact type and layer media type of a database pushed to a registry. */
#define BERTH_VULNDB_ARTIFACT_TYPE "application/vnd.berth.vulndb.v1"
#define BERTH_VULNDB_LAYER_TYPE "application/vnd.berth.vulndb.layer.v1.sqlite+zstd"

typedef struct berth_vulndb berth_vulndb;

/**
 * Open (creating it if `create`) the database at `path`. BERTH_ENOTFOUND if
 * it does not exist and !create; BERTH_EUNSUPPORTED if its schema is not
 * BERTH_VULNDB_SCHEMA; BERTH_EIO on an SQLite failure.
 */
int berth_vulndb_open(berth_vulndb **out, const char *path, int create) BERTH_WARN_UNUSED;
void berth_vulndb_free(berth_vulndb *db);

/**
 * The default database path: $BERTH_ROOT/vulndb.sqlite, else
 * $XDG_DATA_HOME/berth/vulndb.sqlite, else ~/.local/share/berth/vulndb.sqlite.
 * Writes at most len bytes; BERTH_ETOOBIG if it does not fit, BERTH_ENOTFOUND
 * if no home directory is known.
 */
int berth_vulndb_default_path(char *buf, size_t len) BERTH_WARN_UNUSED;

/** Counts of what one import added. */
typedef struct berth_vulndb_import_stats {
	uint64_t documents;  /* files or archive members read */
	uint64_t advisories; /* advisory rows written (new or replaced) */
	uint64_t affected;   /* affected rows written */
	uint64_t skipped;    /* documents that were not advisories, or malformed (warned) */
} berth_vulndb_import_stats;

/**
 * Callback for a document that could not be imported: `where` names the
 * file (and archive member), `why` the reason. The import goes on.
 */
typedef void (*berth_vulndb_warn_cb)(void *ctx, const char *where, const char *why);

/**
 * Import one source: an OSV JSON file (one record, or an array of
 * records), a directory (every *.json below it), a zip archive of OSV
 * records (as osv.dev publishes per ecosystem), a Debian security tracker
 * JSON file, or an Alpine secdb JSON file (recognised by content). Runs in
 * one transaction; a malformed record is reported through `warn` and
 * skipped, the rest is imported. The source is recorded in `meta`.
 * BERTH_ENOTFOUND if the path does not exist, BERTH_EINVALID if the source
 * is a single file that holds no advisory format at all.
 */
int berth_vulndb_import(berth_vulndb *db, const char *path, berth_vulndb_warn_cb warn, void *ctx,
			berth_vulndb_import_stats *stats) BERTH_WARN_UNUSED;

/**
 * Import advisories from a JSON document in memory (`name` is what warnings
 * and `meta` call it). Same formats as a file; used by the fuzz targets.
 */
int berth_vulndb_import_json(berth_vulndb *db, const char *name, const char *data, size_t len,
			     berth_vulndb_warn_cb warn, void *ctx,
			     berth_vulndb_import_stats *stats) BERTH_WARN_UNUSED;

/** What `berth db info` shows. Strings owned by the struct; free with _dispose. */
typedef struct berth_vulndb_info {
	int schema;
	time_t built_at;     /* last import or pull, 0 if never */
	uint64_t advisories; /* advisory rows */
	uint64_t affected;   /* affected rows */
	char *sources;	     /* JSON array of {"source":..., "imported_at":...} */
	char *ecosystems;    /* JSON object ecosystem -> affected rows */
} berth_vulndb_info;

int berth_vulndb_info_get(berth_vulndb *db, berth_vulndb_info *out) BERTH_WARN_UNUSED;
/** When the database was built (meta built_at), 0 if unknown: the one fact of
 * berth_vulndb_info a scan needs, without info's counts (each reads a whole table). */
time_t berth_vulndb_built_at(berth_vulndb *db);
void berth_vulndb_info_dispose(berth_vulndb_info *info);

/** One advisory that affects a queried package version. Strings owned by the array. */
typedef struct berth_vulndb_match {
	char *id;	   /* "CVE-2023-5678", "GHSA-...", "DSA-..." */
	char *aliases;	   /* comma-separated, "" if none */
	char *severity;	   /* CRITICAL, HIGH, MEDIUM, LOW, NEGLIGIBLE or UNKNOWN */
	char *fixed;	   /* the first fixed version above the queried one, "" if none */
	char *status;	   /* fixed, not-fixed, will-not-fix, fix-deferred, end-of-life */
	char *summary;	   /* "" if none */
	char *source;	   /* the import source the row came from */
	char *cvss_vector; /* the CVSS v3/v4 vector the advisory gives, "" if none */
	double cvss;	   /* CVSS score of that vector (or the source's), -1 if unknown */
} berth_vulndb_match;

/**
 * The advisories affecting `version` of `package` in `ecosystem` ("Debian:12",
 * "PyPI", ...; for distros the package is the source package). The version
 * order is the ecosystem's (berth/version.h). *out is an array of *n matches
 * sorted by id (NULL if none), freed with berth_vulndb_matches_free.
 * BERTH_EINVALID if the version is not one of the ecosystem's;
 * BERTH_EUNSUPPORTED for an ecosystem without a version order.
 */
int berth_vulndb_query(berth_vulndb *db, const char *ecosystem, const char *package,
		       const char *version, berth_vulndb_match **out, size_t *n) BERTH_WARN_UNUSED;
void berth_vulndb_matches_free(berth_vulndb_match *m, size_t n);

/**
 * 1 if `id` is one of the comma-separated `aliases` of a match (exactly, not
 * as a prefix), else 0. Pure; thread-safe.
 */
int berth_vulndb_alias_has(const char *aliases, const char *id);

/**
 * Hold one read snapshot across many queries (a scan asks once per
 * package): the database is locked and unlocked once instead of once per
 * query, and every answer comes from the same state of the file. End with
 * berth_vulndb_read_end (which never fails). BERTH_EIO on an SQLite error.
 */
int berth_vulndb_read_begin(berth_vulndb *db) BERTH_WARN_UNUSED;
void berth_vulndb_read_end(berth_vulndb *db);

/* ---- severities ---- */

/**
 * The CVSS v3.0/v3.1 base score of a vector ("CVSS:3.1/AV:N/AC:L/..."), as
 * the FIRST specification computes it (rounded up to one decimal).
 * BERTH_EINVALID for a malformed vector or a missing base metric.
 */
int berth_vulndb_cvss3_score(const char *vector, double *score) BERTH_WARN_UNUSED;

/**
 * The CVSS v4.0 score of a vector ("CVSS:4.0/AV:N/AC:L/AT:N/..."), as FIRST's
 * CVSS v4.0 specification and reference calculator compute it (MacroVector
 * lookup and severity distance interpolation, rounded half up to one
 * decimal). Threat and environmental metrics, when present, take part
 * (CVSS-BT/BE/BTE); supplemental metrics are checked and ignored. Metrics
 * must come in the specification's order, each at most once, all eleven
 * base metrics present. BERTH_EINVALID otherwise. Thread-safe.
 */
int berth_vulndb_cvss4_score(const char *vector, double *score) BERTH_WARN_UNUSED;

/**
 * The score of a CVSS v3.0, v3.1 or v4.0 vector, by its prefix (see
 * berth_vulndb_cvss3_score and berth_vulndb_cvss4_score). BERTH_EINVALID
 * for a malformed vector or another version.
 */
int berth_vulndb_cvss_score(const char *vector, double *score) BERTH_WARN_UNUSED;

/** The qualitative rating of a CVSS score: NONE, LOW, MEDIUM, HIGH, CRITICAL. */
const char *berth_vulndb_cvss_rating(double score);

/* ---- the database as an OCI artifact ---- */

struct berth_client;

/**
 * Push the database file at `path` to `repo`:`tag` through `client`: a zstd
 * compressed copy as the only layer (BERTH_VULNDB_LAYER_TYPE), an empty
 * config, artifactType BERTH_VULNDB_ARTIFACT_TYPE and annotations for the
 * schema version, build time and sources. The file is read through a
 * consistent SQLite snapshot (VACUUM INTO a scratch file next to it).
 */
int berth_vulndb_push(struct berth_client *client, const char *repo, const char *tag,
		      const char *path) BERTH_WARN_UNUSED;

/**
 * Pull the database from `repo`:`reference` into `path`: the manifest must
 * carry BERTH_VULNDB_ARTIFACT_TYPE and one BERTH_VULNDB_LAYER_TYPE layer;
 * the layer is verified by digest, decompressed (capped), checked to be a
 * database of BERTH_VULNDB_SCHEMA and then renamed over `path` atomically.
 * BERTH_EUNSUPPORTED if the artifact is something else.
 */
int berth_vulndb_pull(struct berth_client *client, const char *repo, const char *reference,
		      const char *path) BERTH_WARN_UNUSED;

/** Largest decompressed database accepted by a pull. */
#define BERTH_VULNDB_PULL_MAX (8ull * 1024 * 1024 * 1024)

#endif
