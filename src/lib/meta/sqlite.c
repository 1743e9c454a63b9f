/*
 * sqlite.c - the SQLite driver of the metadata store (meta_driver.h).
 *
 * Durability and concurrency:
 *   - WAL journal, synchronous=FULL (a committed write is fsynced to the WAL
 *     before COMMIT returns, so an acknowledged push survives power loss),
 *     foreign_keys=ON (deletes cascade from manifests to tags and refs),
 *     busy_timeout of 10 s for writers in other threads or processes.
 *   - One berth_meta is shared by every thread; each thread lazily opens its
 *     own connection (a pthread key whose destructor closes it at thread exit)
 *     holding its prepared statements, prepared once with
 *     SQLITE_PREPARE_PERSISTENT and reset after each use. All connections are
 *     also kept on a list so berth_meta_free closes the ones still open.
 *   - Writes run in BEGIN IMMEDIATE transactions (the write lock is taken up
 *     front, so a transaction never fails half-way on a lock upgrade) and
 *     the whole transaction is retried if SQLITE_BUSY outlasts the timeout.
 *
 * Schema: versioned migrations (the `migrations` array, version = index + 1)
 * recorded in schema_migrations, each applied in its own transaction.
 * Every query below is served by an index; the comment next to each says
 * which, and tests/unit/meta/indexes.c proves it with EXPLAIN QUERY PLAN.
 *
 * Listing functions step their query to the end into a buffer before calling
 * the caller's callback, so a callback may call back into berth_meta (even
 * writes) without disturbing the cached statement being stepped.
 *
 * Network strings are only ever bound as parameters, never formatted into
 * SQL, and error messages carry SQLite's message, never user data.
 */
#include "lib/meta/meta_driver.h"
#include "util/buf.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 10000
#define TX_RETRIES 5
/* Cap on the rows buffered by one listing call; page with n/last beyond it. */
#define LIST_MAX ((size_t)256 << 20)

/* ---- schema ---- */

/*
 * Migration 1: everything P1 needs. Repository rows are never deleted in P1
 * (a repository "exists" once it has had content); the catalog lists only
 * those that currently have a manifest or a blob link.
 */
static const char *const migrations[] = {
	/* 1 */
	"CREATE TABLE repos ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE"
	");"
	"CREATE TABLE blobs ("
	"  digest TEXT PRIMARY KEY,"
	"  size INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE repo_blobs ("
	"  repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,"
	"  digest TEXT NOT NULL REFERENCES blobs(digest),"
	"  PRIMARY KEY (repo_id, digest)"
	") WITHOUT ROWID;"
	/* mounts: which repositories hold a blob; also the FK child index */
	"CREATE INDEX repo_blobs_digest ON repo_blobs(digest);"
	/* bodies can be MBs: a rowid table keeps them off the PK b-tree */
	"CREATE TABLE manifests ("
	"  repo_id INTEGER NOT NULL REFERENCES repos(id) ON DELETE CASCADE,"
	"  digest TEXT NOT NULL,"
	"  media_type TEXT NOT NULL,"
	"  artifact_type TEXT,"
	"  annotations TEXT,"
	"  subject TEXT,"
	"  body BLOB NOT NULL,"
	"  size INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (repo_id, digest)"
	");"
	/* referrers: by (repo, subject), already in digest order */
	"CREATE INDEX manifests_subject ON manifests(repo_id, subject, digest)"
	"  WHERE subject IS NOT NULL;"
	"CREATE TABLE manifest_refs ("
	"  repo_id INTEGER NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  ref TEXT NOT NULL,"
	"  PRIMARY KEY (repo_id, digest, ref),"
	"  FOREIGN KEY (repo_id, digest) REFERENCES manifests(repo_id, digest)"
	"    ON DELETE CASCADE"
	") WITHOUT ROWID;"
	/* GC: is this blob or child manifest referenced anywhere */
	"CREATE INDEX manifest_refs_ref ON manifest_refs(ref);"
	"CREATE TABLE tags ("
	"  repo_id INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  digest TEXT NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (repo_id, name),"
	"  FOREIGN KEY (repo_id, digest) REFERENCES manifests(repo_id, digest)"
	"    ON DELETE CASCADE"
	") WITHOUT ROWID;"
	/* the cascade from a manifest delete finds its tags through this */
	"CREATE INDEX tags_digest ON tags(repo_id, digest);"
	"CREATE TABLE uploads ("
	"  id TEXT PRIMARY KEY,"
	"  repo TEXT NOT NULL,"
	"  started INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX uploads_started ON uploads(started);",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ---- cached statements ---- */

enum {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_REPO_ENSURE,
	S_REPO_ID,
	S_BLOB_INSERT,
	S_REPO_BLOB_INSERT,
	S_BLOB_LINKED,
	S_BLOB_REPOS,
	S_BLOB_UNLINK,
	S_MAN_INSERT,
	S_MAN_REF_INSERT,
	S_TAG_SET,
	S_MAN_BY_TAG,
	S_MAN_BY_DIGEST,
	S_MAN_DELETE,
	S_TAG_DELETE,
	S_TAGS,
	S_CATALOG,
	S_REFERRERS,
	S_UPLOAD_CREATE,
	S_UPLOAD_CHECK,
	S_UPLOAD_DELETE,
	S_UPLOAD_STALE,
	S_COUNT
};

static const char *const sqls[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	/* UNIQUE index on repos(name) */
	[S_REPO_ENSURE] = "INSERT INTO repos(name) VALUES (?1) ON CONFLICT(name) DO NOTHING",
	[S_REPO_ID] = "SELECT id FROM repos WHERE name = ?1",
	/* blobs PK; repo_blobs PK */
	[S_BLOB_INSERT] = "INSERT INTO blobs(digest, size) VALUES (?1, ?2)"
			  " ON CONFLICT(digest) DO NOTHING",
	[S_REPO_BLOB_INSERT] = "INSERT INTO repo_blobs(repo_id, digest) VALUES (?1, ?2)"
			       " ON CONFLICT DO NOTHING",
	/* repos(name) -> repo_blobs PK -> blobs PK */
	[S_BLOB_LINKED] = "SELECT b.size FROM repos r"
			  " JOIN repo_blobs rb ON rb.repo_id = r.id"
			  " JOIN blobs b ON b.digest = rb.digest"
			  " WHERE r.name = ?1 AND rb.digest = ?2",
	/* blobs PK -> repo_blobs_digest -> repos PK; the few rows are then sorted */
	[S_BLOB_REPOS] = "SELECT r.name, b.size FROM blobs b"
			 " JOIN repo_blobs rb ON rb.digest = b.digest"
			 " JOIN repos r ON r.id = rb.repo_id"
			 " WHERE b.digest = ?1 ORDER BY r.name",
	/* repos(name) -> repo_blobs PK */
	[S_BLOB_UNLINK] = "DELETE FROM repo_blobs"
			  " WHERE repo_id = (SELECT id FROM repos WHERE name = ?1) AND digest = ?2",
	/* manifests PK; manifest_refs PK; tags PK */
	[S_MAN_INSERT] = "INSERT INTO manifests(repo_id, digest, media_type, artifact_type,"
			 " annotations, subject, body, size, created_at)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
			 " ON CONFLICT(repo_id, digest) DO NOTHING",
	[S_MAN_REF_INSERT] = "INSERT INTO manifest_refs(repo_id, digest, ref) VALUES (?1, ?2, ?3)"
			     " ON CONFLICT DO NOTHING",
	[S_TAG_SET] = "INSERT INTO tags(repo_id, name, digest, updated_at) VALUES (?1, ?2, ?3, ?4)"
		      " ON CONFLICT(repo_id, name) DO UPDATE SET digest = excluded.digest,"
		      " updated_at = excluded.updated_at WHERE digest <> excluded.digest",
	/* the hot path: repos(name) -> tags PK -> manifests PK, one query */
	[S_MAN_BY_TAG] = "SELECT m.digest, m.media_type, m.size, m.body FROM repos r"
			 " JOIN tags t ON t.repo_id = r.id"
			 " JOIN manifests m ON m.repo_id = t.repo_id AND m.digest = t.digest"
			 " WHERE r.name = ?1 AND t.name = ?2",
	/* repos(name) -> manifests PK */
	[S_MAN_BY_DIGEST] = "SELECT m.digest, m.media_type, m.size, m.body FROM repos r"
			    " JOIN manifests m ON m.repo_id = r.id"
			    " WHERE r.name = ?1 AND m.digest = ?2",
	/* manifests PK; the cascade uses tags_digest and the manifest_refs PK */
	[S_MAN_DELETE] = "DELETE FROM manifests"
			 " WHERE repo_id = (SELECT id FROM repos WHERE name = ?1) AND digest = ?2",
	[S_TAG_DELETE] = "DELETE FROM tags"
			 " WHERE repo_id = (SELECT id FROM repos WHERE name = ?1) AND name = ?2",
	/* tags PK range scan, already in name (BINARY) order */
	[S_TAGS] = "SELECT name FROM tags WHERE repo_id = ?1 AND name > ?2 ORDER BY name LIMIT ?3",
	/* repos(name) range scan; the EXISTS probes use the manifests/repo_blobs PKs */
	[S_CATALOG] = "SELECT r.name FROM repos r WHERE r.name > ?1"
		      " AND (EXISTS (SELECT 1 FROM manifests m WHERE m.repo_id = r.id)"
		      " OR EXISTS (SELECT 1 FROM repo_blobs b WHERE b.repo_id = r.id))"
		      " ORDER BY r.name LIMIT ?2",
	/* repos(name) -> manifests_subject (repo_id, subject) in digest order */
	[S_REFERRERS] = "SELECT digest, media_type, size, artifact_type, annotations FROM manifests"
			" WHERE repo_id = (SELECT id FROM repos WHERE name = ?1) AND subject = ?2"
			" AND (?3 IS NULL OR artifact_type = ?3) ORDER BY digest",
	/* uploads PK; uploads_started */
	[S_UPLOAD_CREATE] = "INSERT INTO uploads(id, repo, started) VALUES (?1, ?2, ?3)",
	[S_UPLOAD_CHECK] = "SELECT 1 FROM uploads WHERE id = ?1 AND repo = ?2",
	[S_UPLOAD_DELETE] = "DELETE FROM uploads WHERE id = ?1",
	[S_UPLOAD_STALE] = "SELECT id FROM uploads WHERE started < ?1 ORDER BY started",
};

const char *berth_meta__sqlite_sql(size_t i)
{
	return i < S_COUNT ? sqls[i] : NULL;
}

/* ---- state ---- */

struct sq_db;

struct sq_conn {
	struct sq_db *owner;
	sqlite3 *db;
	sqlite3_stmt *st[S_COUNT];
	struct sq_conn *prev, *next;
};

struct sq_db {
	char *path;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns */
	struct sq_conn *conns;
	int version;
};

/* Set the error from SQLite's state; BUSY/LOCKED become BERTH_EBUSY (retryable). */
static int sq_err(sqlite3 *db, int src, const char *what)
{
	int prim = src & 0xff;
	int code = prim == SQLITE_BUSY || prim == SQLITE_LOCKED ? BERTH_EBUSY : BERTH_EIO;

	if (prim == SQLITE_NOMEM)
		code = BERTH_ERROR;
	return berth_error_set(code, "metadata: %s: %s", what,
			       db ? sqlite3_errmsg(db) : sqlite3_errstr(src));
}

static void conn_close(struct sq_conn *c)
{
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close_v2(c->db);
	free(c);
}

/* pthread key destructor: the thread is exiting, close its connection. */
static void conn_destroy(void *p)
{
	struct sq_conn *c = p;
	struct sq_db *s = c->owner;

	pthread_mutex_lock(&s->lock);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&s->lock);
	conn_close(c);
}

/* Run SQL with no parameters that yields at most one integer (pragmas, schema). */
static int exec_int(sqlite3 *db, const char *sql, long long *out)
{
	sqlite3_stmt *st = NULL;
	int src, rc = 0;

	if ((src = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK) {
		rc = sq_err(db, src, "prepare");
		goto done;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		if (out)
			*out = sqlite3_column_int64(st, 0);
	} else if (src != SQLITE_DONE) {
		rc = sq_err(db, src, "query");
	}
done:
	sqlite3_finalize(st);
	return rc;
}

static int exec_sql(sqlite3 *db, const char *sql, const char *what)
{
	int src = sqlite3_exec(db, sql, NULL, NULL, NULL);

	return src == SQLITE_OK ? 0 : sq_err(db, src, what);
}

/* Open one connection and set its per-connection pragmas. */
static int conn_open(struct sq_conn **out, struct sq_db *s)
{
	struct sq_conn *c = NULL;
	const unsigned char *mode;
	sqlite3_stmt *st = NULL;
	long long fk = 0;
	int src, rc = 0;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	c->owner = s;
	/* NOMUTEX: a connection is used by one thread at a time (its own). */
	src = sqlite3_open_v2(s->path, &c->db,
			      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
				      SQLITE_OPEN_EXRESCODE,
			      NULL);
	if (src != SQLITE_OK) {
		rc = sq_err(c->db, src, "open database");
		goto done;
	}
	sqlite3_busy_timeout(c->db, BUSY_TIMEOUT_MS);
	/* WAL is persistent in the file; only switch when it is not yet set. */
	if ((src = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode", -1, &st, NULL)) != SQLITE_OK ||
	    (src = sqlite3_step(st)) != SQLITE_ROW) {
		rc = sq_err(c->db, src, "read journal mode");
		goto done;
	}
	mode = sqlite3_column_text(st, 0);
	if (!mode || strcmp((const char *)mode, "wal") != 0) {
		sqlite3_finalize(st);
		st = NULL;
		if ((src = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st, NULL)) !=
			    SQLITE_OK ||
		    (src = sqlite3_step(st)) != SQLITE_ROW) {
			rc = sq_err(c->db, src, "set WAL mode");
			goto done;
		}
		mode = sqlite3_column_text(st, 0);
		if (!mode || strcmp((const char *)mode, "wal") != 0) {
			rc = berth_error_set(BERTH_EIO,
					     "metadata: the database file system does not support "
					     "WAL mode; put the database on a local disk");
			goto done;
		}
	}
	if ((rc = exec_sql(c->db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
			   "set pragmas")) != 0 ||
	    (rc = exec_int(c->db, "PRAGMA foreign_keys", &fk)) != 0)
		goto done;
	if (fk != 1) {
		rc = berth_error_set(BERTH_EIO, "metadata: SQLite built without foreign keys");
		goto done;
	}
	*out = c;
	/* now owned by the caller */ c = NULL;
done:
	sqlite3_finalize(st);
	if (c)
		conn_close(c);
	return rc;
}

/* The calling thread's connection, opened on first use. */
static int conn_get(struct sq_db *s, struct sq_conn **out)
{
	struct sq_conn *c = pthread_getspecific(s->key);
	int rc;

	if (c) {
		*out = c;
		return 0;
	}
	if ((rc = conn_open(&c, s)) != 0)
		return rc;
	if (pthread_setspecific(s->key, c) != 0) {
		conn_close(c);
		return berth_error_set(BERTH_ERROR, "metadata: cannot attach connection to thread");
	}
	pthread_mutex_lock(&s->lock);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);
	*out = c;
	return 0;
}

/* A cached statement, prepared on first use. Release it with stmt_done. */
static int stmt_get(struct sq_conn *c, int i, sqlite3_stmt **out)
{
	int src;

	if (!c->st[i]) {
		src = sqlite3_prepare_v3(c->db, sqls[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
					 NULL);
		if (src != SQLITE_OK)
			return sq_err(c->db, src, "prepare");
	}
	*out = c->st[i];
	return 0;
}

static void stmt_done(sqlite3_stmt *st)
{
	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
	}
}

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Run a write statement whose parameters are bound; *changes (optional) gets the row count. */
static int step_write(struct sq_conn *c, sqlite3_stmt *st, const char *what, int *changes)
{
	int src = sqlite3_step(st);
	int rc = 0;

	if (src != SQLITE_DONE && src != SQLITE_ROW)
		rc = sq_err(c->db, src, what);
	else if (changes)
		*changes = sqlite3_changes(c->db);
	stmt_done(st);
	return rc;
}

static int exec_cached(struct sq_conn *c, int i, const char *what)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = stmt_get(c, i, &st)) != 0)
		return rc;
	return step_write(c, st, what, NULL);
}

/*
 * Run fn in a BEGIN IMMEDIATE transaction and commit; on any failure roll
 * back. If the lock is still busy after the busy timeout, retry the whole
 * transaction a few times before giving up with BERTH_EBUSY.
 */
static int with_tx(struct sq_conn *c, int (*fn)(struct sq_conn *, void *), void *arg)
{
	int rc;

	for (int attempt = 0;; attempt++) {
		rc = exec_cached(c, S_BEGIN, "begin transaction");
		if (rc == 0) {
			rc = fn(c, arg);
			if (rc == 0)
				rc = exec_cached(c, S_COMMIT, "commit");
			if (rc != 0 && !sqlite3_get_autocommit(c->db)) {
				/* Keep fn's message: the rollback's own result does not matter. */
				char saved[512];
				int code = berth_error_last_code();

				snprintf(saved, sizeof(saved), "%s", berth_error_last());
				if (exec_cached(c, S_ROLLBACK, "rollback") != 0)
					(void)0;
				berth_error_set(code, "%s", saved);
			}
		}
		if (rc != BERTH_EBUSY || attempt >= TX_RETRIES)
			return rc;
		usleep(1000u * (unsigned)(attempt + 1));
	}
}

/* Id of `repo` (inside a write transaction), creating its row if needed. */
static int repo_ensure(struct sq_conn *c, const char *repo, sqlite3_int64 *id)
{
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = stmt_get(c, S_REPO_ENSURE, &st)) != 0)
		return rc;
	if (bind_text(st, 1, repo) != SQLITE_OK) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		stmt_done(st);
		return rc;
	}
	if ((rc = step_write(c, st, "create repository", NULL)) != 0)
		return rc;
	if ((rc = stmt_get(c, S_REPO_ID, &st)) != 0)
		return rc;
	if (bind_text(st, 1, repo) != SQLITE_OK) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		*id = sqlite3_column_int64(st, 0);
	else
		rc = sq_err(c->db, src, "find repository");
done:
	stmt_done(st);
	return rc;
}

/* ---- row buffering for listings ---- */

/*
 * Rows are stored as cells: one flag byte (0 = NULL, 1 = text) and, for
 * text, the bytes and a NUL. Integers are stored as their decimal text.
 */
struct rows {
	berth_buf b;
	size_t n;
};

static int collect(struct sq_conn *c, sqlite3_stmt *st, int ncols, struct rows *out)
{
	int src, rc = 0;

	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++) {
			const unsigned char *t = sqlite3_column_text(st, i);

			if (!t) {
				if ((rc = berth_buf_put(&out->b, "\0", 1)) != 0)
					goto done;
				continue;
			}
			if ((rc = berth_buf_put(&out->b, "\1", 1)) != 0 ||
			    (rc = berth_buf_put(&out->b, t,
						(size_t)sqlite3_column_bytes(st, i) + 1)) != 0)
				goto done;
		}
		out->n++;
	}
	if (src != SQLITE_DONE)
		rc = sq_err(c->db, src, "list");
done:
	stmt_done(st);
	return rc;
}

/* Next cell of a row buffer: its text or NULL; advances *p. */
static const char *cell(const char **p)
{
	const char *s = *p;

	if (!*s) {
		*p = s + 1;
		return NULL;
	}
	*p = s + 1 + strlen(s + 1) + 1;
	return s + 1;
}

/* Callback convention: non-zero stops; a negative value is returned as the error. */
static int cb_result(int r)
{
	return r < 0 ? r : 0;
}

/*
 * Apply migration `ver` unless already recorded, in one write transaction:
 * the check is inside the transaction, so concurrent openers (threads or
 * processes) apply each version exactly once.
 */
static int migrate_one(sqlite3 *db, int ver)
{
	char sql[160];
	long long have = 0;
	int rc;

	if ((rc = exec_sql(db, "BEGIN IMMEDIATE", "begin migration")) != 0)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM schema_migrations WHERE version = %d",
		 ver);
	if ((rc = exec_int(db, sql, &have)) != 0)
		goto done;
	if (!have) {
		snprintf(sql, sizeof(sql),
			 "INSERT INTO schema_migrations(version, applied_at)"
			 " VALUES (%d, strftime('%%s', 'now'))",
			 ver);
		if ((rc = exec_sql(db, migrations[ver - 1], "migration")) != 0 ||
		    (rc = exec_sql(db, sql, "record migration")) != 0)
			goto done;
	}
	rc = exec_sql(db, "COMMIT", "commit migration");
done:
	if (rc != 0 && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* ---- driver entry points ---- */

static int sq_open(void **impl, const char *target)
{
	struct sq_db *s = NULL;
	struct sq_conn *c = NULL;
	long long v = 0;
	int rc = 0, key_ok = 0, lock_ok = 0;

	*impl = NULL;
	if (strcmp(target, ":memory:") == 0 || strncmp(target, "file:", 5) == 0)
		return berth_error_set(BERTH_EINVALID,
				       "metadata: sqlite needs a database file path (each thread "
				       "opens its own connection)");
	s = calloc(1, sizeof(*s));
	if (!s)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!(s->path = strdup(target))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (pthread_key_create(&s->key, conn_destroy) != 0) {
		rc = berth_error_set(BERTH_ERROR, "metadata: no thread key available");
		goto done;
	}
	key_ok = 1;
	pthread_mutex_init(&s->lock, NULL);
	lock_ok = 1;
	if ((rc = conn_get(s, &c)) != 0)
		goto done;

	/* Migrations: refuse a schema newer than this build, apply missing ones in order. */
	if ((rc = exec_sql(c->db,
			   "CREATE TABLE IF NOT EXISTS schema_migrations ("
			   " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
			   "create schema_migrations")) != 0 ||
	    (rc = exec_int(c->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", &v)) !=
		    0)
		goto done;
	if (v > NMIGRATIONS) {
		rc = berth_error_set(BERTH_EUNSUPPORTED,
				     "metadata: database schema version %lld is newer than this "
				     "berth supports (%d); upgrade berth",
				     v, NMIGRATIONS);
		goto done;
	}
	for (int ver = (int)v + 1; ver <= NMIGRATIONS; ver++)
		if ((rc = migrate_one(c->db, ver)) != 0)
			goto done;
	if ((rc = exec_int(c->db, "SELECT coalesce(max(version), 0) FROM schema_migrations", &v)) !=
	    0)
		goto done;
	s->version = (int)v;
	*impl = s;
	/* now owned by the caller */ s = NULL;
done:
	if (s) {
		if (key_ok)
			pthread_key_delete(s->key);
		/* The key is gone, so the connection (if any) is only on our list. */
		while (s->conns) {
			struct sq_conn *next = s->conns->next;

			conn_close(s->conns);
			s->conns = next;
		}
		if (lock_ok)
			pthread_mutex_destroy(&s->lock);
		free(s->path);
		free(s);
	}
	return rc;
}

/*
 * Callers must have stopped using `impl` in every thread. Threads that exit
 * later no longer run the destructor (the key is deleted first), so each
 * connection is closed exactly once, here or at its thread's exit before.
 */
static void sq_free(void *impl)
{
	struct sq_db *s = impl;

	if (!s)
		return;
	pthread_key_delete(s->key);
	pthread_mutex_lock(&s->lock);
	while (s->conns) {
		struct sq_conn *next = s->conns->next;

		conn_close(s->conns);
		s->conns = next;
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
}

static int sq_schema_version(void *impl)
{
	return ((struct sq_db *)impl)->version;
}

static int sq_repo_exists(void *impl, const char *repo)
{
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, S_REPO_ID, &st)) != 0)
		return rc;
	if (bind_text(st, 1, repo) != SQLITE_OK) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		rc = berth_error_set(BERTH_ENOTFOUND, "repository not found");
	else if (src != SQLITE_ROW)
		rc = sq_err(c->db, src, "find repository");
done:
	stmt_done(st);
	return rc;
}

struct link_args {
	const char *repo;
	const berth_digest *d;
	uint64_t size;
};

static int tx_blob_link(struct sq_conn *c, void *arg)
{
	struct link_args *a = arg;
	sqlite3_int64 id = 0;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = repo_ensure(c, a->repo, &id)) != 0)
		return rc;
	if ((rc = stmt_get(c, S_BLOB_INSERT, &st)) != 0)
		return rc;
	if (bind_text(st, 1, a->d->str) || sqlite3_bind_int64(st, 2, (sqlite3_int64)a->size)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = step_write(c, st, "record blob", NULL)) != 0)
		return rc;
	if ((rc = stmt_get(c, S_REPO_BLOB_INSERT, &st)) != 0)
		return rc;
	if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, a->d->str)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	return step_write(c, st, "link blob", NULL);
}

static int sq_blob_link(void *impl, const char *repo, const berth_digest *d, uint64_t size)
{
	struct link_args a = {repo, d, size};
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	return with_tx(c, tx_blob_link, &a);
}

static int sq_blob_linked(void *impl, const char *repo, const berth_digest *d, uint64_t *size)
{
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, S_BLOB_LINKED, &st)) != 0)
		return rc;
	if (bind_text(st, 1, repo) || bind_text(st, 2, d->str)) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_ROW) {
		if (size)
			*size = (uint64_t)sqlite3_column_int64(st, 0);
	} else if (src == SQLITE_DONE) {
		rc = berth_error_set(BERTH_ENOTFOUND, "blob %s not linked in the repository",
				     d->str);
	} else {
		rc = sq_err(c->db, src, "find blob");
	}
done:
	stmt_done(st);
	return rc;
}

static int sq_blob_repos(void *impl, const berth_digest *d, berth_meta_repo_cb cb, void *ctx)
{
	struct rows rows = {BERTH_BUF_INIT(LIST_MAX), 0};
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	const char *p;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, S_BLOB_REPOS, &st)) != 0)
		return rc;
	if (bind_text(st, 1, d->str)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = collect(c, st, 2, &rows)) != 0)
		goto done;
	if (!rows.n) {
		rc = berth_error_set(BERTH_ENOTFOUND, "blob %s not linked in any repository",
				     d->str);
		goto done;
	}
	p = rows.b.ptr;
	for (size_t i = 0; i < rows.n; i++) {
		const char *name = cell(&p);
		const char *size = cell(&p);
		int r = cb(ctx, name, size ? strtoull(size, NULL, 10) : 0);

		if (r) {
			rc = cb_result(r);
			break;
		}
	}
done:
	berth_buf_dispose(&rows.b);
	return rc;
}

static int tx_blob_unlink(struct sq_conn *c, void *arg)
{
	struct link_args *a = arg;
	sqlite3_stmt *st = NULL;
	int rc, changes = 0;

	if ((rc = stmt_get(c, S_BLOB_UNLINK, &st)) != 0)
		return rc;
	if (bind_text(st, 1, a->repo) || bind_text(st, 2, a->d->str)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = step_write(c, st, "unlink blob", &changes)) != 0)
		return rc;
	if (!changes)
		return berth_error_set(BERTH_ENOTFOUND, "blob %s not linked in the repository",
				       a->d->str);
	return 0;
}

static int sq_blob_unlink(void *impl, const char *repo, const berth_digest *d)
{
	struct link_args a = {repo, d, 0};
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	return with_tx(c, tx_blob_unlink, &a);
}

static int tx_manifest_store(struct sq_conn *c, void *arg)
{
	const berth_meta_manifest_put *p = arg;
	sqlite3_int64 id = 0;
	sqlite3_stmt *st = NULL;
	int rc, bad, inserted = 0;

	if ((rc = repo_ensure(c, p->repo, &id)) != 0)
		return rc;

	if ((rc = stmt_get(c, S_MAN_INSERT, &st)) != 0)
		return rc;
	bad = sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, p->digest->str) ||
	      bind_text(st, 3, p->media_type) || bind_text(st, 4, p->artifact_type) ||
	      bind_text(st, 5, p->annotations) ||
	      bind_text(st, 6, p->subject ? p->subject->str : NULL) ||
	      (p->body_len ? sqlite3_bind_blob64(st, 7, p->body, p->body_len, SQLITE_STATIC)
			   : sqlite3_bind_zeroblob(st, 7, 0)) ||
	      sqlite3_bind_int64(st, 8, (sqlite3_int64)p->body_len) ||
	      sqlite3_bind_int64(st, 9, (sqlite3_int64)time(NULL));
	if (bad) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = step_write(c, st, "store manifest", &inserted)) != 0)
		return rc;

	/* Same digest means same bytes, so an existing row already has its refs. */
	if (inserted) {
		for (size_t i = 0; i < p->nrefs; i++) {
			if ((rc = stmt_get(c, S_MAN_REF_INSERT, &st)) != 0)
				return rc;
			if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, p->digest->str) ||
			    bind_text(st, 3, p->refs[i].str)) {
				stmt_done(st);
				return sq_err(c->db, SQLITE_ERROR, "bind");
			}
			if ((rc = step_write(c, st, "store manifest reference", NULL)) != 0)
				return rc;
		}
	}

	if (p->tag) {
		if ((rc = stmt_get(c, S_TAG_SET, &st)) != 0)
			return rc;
		if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, p->tag) ||
		    bind_text(st, 3, p->digest->str) ||
		    sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL))) {
			stmt_done(st);
			return sq_err(c->db, SQLITE_ERROR, "bind");
		}
		if ((rc = step_write(c, st, "set tag", NULL)) != 0)
			return rc;
	}
	return 0;
}

static int sq_manifest_store(void *impl, const berth_meta_manifest_put *p)
{
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	return with_tx(c, tx_manifest_store, (void *)p);
}

/* The hot path: one indexed query, no allocation but the body append. */
static int sq_manifest_get(void *impl, const char *repo, const char *reference, int by_digest,
			   berth_meta_manifest *info, struct berth_buf *body)
{
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	const char *dg, *mt;
	int rc, src;

	if ((rc = conn_get(impl, &c)) != 0 ||
	    (rc = stmt_get(c, by_digest ? S_MAN_BY_DIGEST : S_MAN_BY_TAG, &st)) != 0)
		return rc;
	if (bind_text(st, 1, repo) || bind_text(st, 2, reference)) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = berth_error_set(BERTH_ENOTFOUND, "manifest not found");
		goto done;
	}
	if (src != SQLITE_ROW) {
		rc = sq_err(c->db, src, "find manifest");
		goto done;
	}
	if (info) {
		dg = (const char *)sqlite3_column_text(st, 0);
		mt = (const char *)sqlite3_column_text(st, 1);
		if (!dg || berth_digest_parse(&info->digest, dg, strlen(dg)) != 0) {
			rc = berth_error_set(BERTH_EIO,
					     "metadata: stored manifest digest is corrupt");
			goto done;
		}
		snprintf(info->media_type, sizeof(info->media_type), "%s", mt ? mt : "");
		info->size = (uint64_t)sqlite3_column_int64(st, 2);
	}
	if (body) {
		const void *b = sqlite3_column_blob(st, 3);
		int blen = sqlite3_column_bytes(st, 3);

		if (blen > 0 && (rc = berth_buf_put(body, b, (size_t)blen)) != 0)
			goto done;
	}
done:
	stmt_done(st);
	return rc;
}

struct del_args {
	const char *repo;
	const char *key; /* digest or tag */
	int stmt;
	const char *what;
};

static int tx_delete(struct sq_conn *c, void *arg)
{
	struct del_args *a = arg;
	sqlite3_stmt *st = NULL;
	int rc, changes = 0;

	if ((rc = stmt_get(c, a->stmt, &st)) != 0)
		return rc;
	if (bind_text(st, 1, a->repo) || bind_text(st, 2, a->key)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = step_write(c, st, "delete", &changes)) != 0)
		return rc;
	if (!changes)
		return berth_error_set(BERTH_ENOTFOUND, "%s not found", a->what);
	return 0;
}

static int sq_manifest_delete(void *impl, const char *repo, const berth_digest *d)
{
	struct del_args a = {repo, d->str, S_MAN_DELETE, "manifest"};
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	/* Tags and refs of the manifest go with it (ON DELETE CASCADE). */
	return with_tx(c, tx_delete, &a);
}

static int sq_tag_delete(void *impl, const char *repo, const char *tag)
{
	struct del_args a = {repo, tag, S_TAG_DELETE, "tag"};
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	return with_tx(c, tx_delete, &a);
}

/* Deliver a one-column name listing fetched with LIMIT n+1. */
static int deliver_names(struct rows *rows, long n, berth_meta_name_cb cb, void *ctx, int *more)
{
	const char *p = rows->b.ptr;
	size_t take = rows->n;

	if (n >= 0 && rows->n > (size_t)n) {
		take = (size_t)n;
		if (more)
			*more = 1;
	}
	for (size_t i = 0; i < take; i++) {
		int r = cb(ctx, cell(&p));

		if (r)
			return cb_result(r);
	}
	return 0;
}

static sqlite3_int64 fetch_limit(long n)
{
	/* One more row than asked tells whether more remain; n < 0: no limit. */
	if (n < 0)
		return -1;
	return n >= LONG_MAX ? (sqlite3_int64)LONG_MAX : (sqlite3_int64)n + 1;
}

static int sq_tags(void *impl, const char *repo, const char *last, long n, berth_meta_name_cb cb,
		   void *ctx, int *more)
{
	struct rows rows = {BERTH_BUF_INIT(LIST_MAX), 0};
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 id;
	int rc, src;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, S_REPO_ID, &st)) != 0)
		return rc;
	if (bind_text(st, 1, repo)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	src = sqlite3_step(st);
	id = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	stmt_done(st);
	if (src == SQLITE_DONE)
		return berth_error_set(BERTH_ENOTFOUND, "repository not found");
	if (src != SQLITE_ROW)
		return sq_err(c->db, src, "find repository");

	if ((rc = stmt_get(c, S_TAGS, &st)) != 0)
		return rc;
	/* Every name is > '' in BINARY order, so "" means from the start. */
	if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, last ? last : "") ||
	    sqlite3_bind_int64(st, 3, fetch_limit(n))) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = collect(c, st, 1, &rows)) == 0)
		rc = deliver_names(&rows, n, cb, ctx, more);
	berth_buf_dispose(&rows.b);
	return rc;
}

static int sq_catalog(void *impl, const char *last, long n, berth_meta_name_cb cb, void *ctx,
		      int *more)
{
	struct rows rows = {BERTH_BUF_INIT(LIST_MAX), 0};
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, S_CATALOG, &st)) != 0)
		return rc;
	if (bind_text(st, 1, last ? last : "") || sqlite3_bind_int64(st, 2, fetch_limit(n))) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = collect(c, st, 1, &rows)) == 0)
		rc = deliver_names(&rows, n, cb, ctx, more);
	berth_buf_dispose(&rows.b);
	return rc;
}

static int sq_referrers(void *impl, const char *repo, const berth_digest *subject,
			const char *artifact_type, berth_meta_referrer_cb cb, void *ctx)
{
	struct rows rows = {BERTH_BUF_INIT(LIST_MAX), 0};
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	const char *p;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, S_REFERRERS, &st)) != 0)
		return rc;
	if (bind_text(st, 1, repo) || bind_text(st, 2, subject->str) ||
	    bind_text(st, 3, artifact_type)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = collect(c, st, 5, &rows)) != 0)
		goto done;
	p = rows.b.ptr;
	for (size_t i = 0; i < rows.n; i++) {
		berth_meta_referrer r;
		const char *size;
		int cr;

		r.digest = cell(&p);
		r.media_type = cell(&p);
		size = cell(&p);
		r.size = size ? strtoull(size, NULL, 10) : 0;
		r.artifact_type = cell(&p);
		r.annotations = cell(&p);
		if ((cr = cb(ctx, &r)) != 0) {
			rc = cb_result(cr);
			break;
		}
	}
done:
	berth_buf_dispose(&rows.b);
	return rc;
}

struct upload_args {
	const char *id;
	const char *repo;
	time_t started;
};

static int tx_upload_create(struct sq_conn *c, void *arg)
{
	struct upload_args *a = arg;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = stmt_get(c, S_UPLOAD_CREATE, &st)) != 0)
		return rc;
	if (bind_text(st, 1, a->id) || bind_text(st, 2, a->repo) ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)a->started)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	src = sqlite3_step(st);
	if (src == SQLITE_CONSTRAINT_PRIMARYKEY)
		rc = berth_error_set(BERTH_EEXISTS, "upload session already exists");
	else if (src != SQLITE_DONE)
		rc = sq_err(c->db, src, "create upload");
	stmt_done(st);
	return rc;
}

static int sq_upload_create(void *impl, const char *id, const char *repo, time_t started)
{
	struct upload_args a = {id, repo, started};
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	return with_tx(c, tx_upload_create, &a);
}

static int sq_upload_check(void *impl, const char *id, const char *repo)
{
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, S_UPLOAD_CHECK, &st)) != 0)
		return rc;
	if (bind_text(st, 1, id) || bind_text(st, 2, repo)) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		rc = berth_error_set(BERTH_ENOTFOUND, "upload session not found");
	else if (src != SQLITE_ROW)
		rc = sq_err(c->db, src, "find upload");
done:
	stmt_done(st);
	return rc;
}

static int tx_upload_delete(struct sq_conn *c, void *arg)
{
	struct upload_args *a = arg;
	sqlite3_stmt *st = NULL;
	int rc, changes = 0;

	if ((rc = stmt_get(c, S_UPLOAD_DELETE, &st)) != 0)
		return rc;
	if (bind_text(st, 1, a->id)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = step_write(c, st, "delete upload", &changes)) != 0)
		return rc;
	if (!changes)
		return berth_error_set(BERTH_ENOTFOUND, "upload session not found");
	return 0;
}

static int sq_upload_delete(void *impl, const char *id)
{
	struct upload_args a = {id, NULL, 0};
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	return with_tx(c, tx_upload_delete, &a);
}

static int sq_upload_stale(void *impl, time_t cutoff, berth_meta_id_cb cb, void *ctx)
{
	struct rows rows = {BERTH_BUF_INIT(LIST_MAX), 0};
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	const char *p;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, S_UPLOAD_STALE, &st)) != 0)
		return rc;
	if (sqlite3_bind_int64(st, 1, (sqlite3_int64)cutoff)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = collect(c, st, 1, &rows)) != 0)
		goto done;
	p = rows.b.ptr;
	for (size_t i = 0; i < rows.n; i++) {
		int r = cb(ctx, cell(&p));

		if (r) {
			rc = cb_result(r);
			break;
		}
	}
done:
	berth_buf_dispose(&rows.b);
	return rc;
}

const berth_meta_driver berth_meta__sqlite_driver = {
	.scheme = "sqlite",
	.open = sq_open,
	.free = sq_free,
	.schema_version = sq_schema_version,
	.repo_exists = sq_repo_exists,
	.blob_link = sq_blob_link,
	.blob_linked = sq_blob_linked,
	.blob_repos = sq_blob_repos,
	.blob_unlink = sq_blob_unlink,
	.manifest_store = sq_manifest_store,
	.manifest_get = sq_manifest_get,
	.manifest_delete = sq_manifest_delete,
	.tag_delete = sq_tag_delete,
	.tags = sq_tags,
	.catalog = sq_catalog,
	.referrers = sq_referrers,
	.upload_create = sq_upload_create,
	.upload_check = sq_upload_check,
	.upload_delete = sq_upload_delete,
	.upload_stale = sq_upload_stale,
};
