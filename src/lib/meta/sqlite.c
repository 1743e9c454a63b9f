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
#include "lib/meta/query.h"
#include "util/buf.h"

#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define BUSY_TIMEOUT_MS 10000
#define TX_RETRIES 5
/* Cap on the rows buffered by one listing call; page with n/last beyond it. */
#define LIST_MAX ((size_t)256 << 20)

/* ---- schema ---- */

/*
 * Migration 1: the registry's own metadata. Repository rows are never
 * deleted (a repository "exists" once it has had content); the catalog
 * lists only those that currently have a manifest or a blob link.
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

	/*
	 * 2: access control. Memberships go with their user or project
	 * (ON DELETE CASCADE; the PK serves the project side, members_user the
	 * user side). User and robot ids are AUTOINCREMENT so that a token naming
	 * a deleted principal can never match a new one. Audit ids are
	 * AUTOINCREMENT so an id is never reused and
	 * paging by "before id" is stable; the rowid b-tree serves newest-first
	 * listing. Login failures are counted and pruned through (key, time).
	 */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  password_hash TEXT NOT NULL,"
	"  sysadmin INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE projects ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  public INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL"
	");"
	"CREATE TABLE members ("
	"  project_id INTEGER NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  role INTEGER NOT NULL CHECK (role BETWEEN 1 AND 4),"
	"  PRIMARY KEY (project_id, user_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX members_user ON members(user_id);"
	"CREATE TABLE robots ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL UNIQUE,"
	"  secret_hash TEXT NOT NULL,"
	"  expires INTEGER NOT NULL DEFAULT 0,"
	"  created INTEGER NOT NULL,"
	"  permissions TEXT NOT NULL"
	");"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  time INTEGER NOT NULL,"
	"  who TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  resource TEXT NOT NULL DEFAULT '',"
	"  address TEXT NOT NULL DEFAULT '',"
	"  result TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE TABLE login_failures ("
	"  key TEXT NOT NULL,"
	"  time INTEGER NOT NULL"
	");"
	"CREATE INDEX login_failures_key_time ON login_failures(key, time);",

	/*
	 * 3: hardening. A user's or robot's generation grows with each password
	 * or secret change and each disabling; tokens carry it, so every token
	 * issued before a change is refused. User names are unique ignoring
	 * case. Upload sessions know their account, for the per-account cap.
	 */
	"ALTER TABLE users ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;"
	"CREATE UNIQUE INDEX users_name_nocase ON users(name COLLATE NOCASE);"
	"ALTER TABLE robots ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE uploads ADD COLUMN account TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX uploads_repo ON uploads(repo);"
	"CREATE INDEX uploads_account ON uploads(account);",

	/*
	 * 4: the signature policy. A project may require that every manifest
	 * pulled from it carry a valid signature by one of its keys (PEM public
	 * keys, concatenated; '' = no policy; the partial index lists the few
	 * projects that have one). Verdicts are cached by each server process;
	 * two generation numbers tell every process when a cached verdict is
	 * stale: a repository's grows with each manifest or tag written or
	 * deleted in it (a signature pushed or removed), the "policy" row's with
	 * each change of any project's keys.
	 */
	"ALTER TABLE repos ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE projects ADD COLUMN signature_keys TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX projects_policy ON projects(name) WHERE signature_keys <> '';"
	"CREATE TABLE generations ("
	"  name TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO generations(name, value) VALUES ('policy', 0);",
	/*
	 * 5: replication. Rules created through the API (JSON text; the config
	 * file's rules are never stored), executions with their per-artifact
	 * results, each rule's last scheduled firing, and the durable queue of
	 * events for event-based rules.
	 */
	"CREATE TABLE repl_rules ("
	"  name TEXT PRIMARY KEY,"
	"  body TEXT NOT NULL,"
	"  updated INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE repl_registries ("
	"  name TEXT PRIMARY KEY,"
	"  body TEXT NOT NULL,"
	"  secret TEXT NOT NULL DEFAULT '',"
	"  updated INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE repl_execs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  rule TEXT NOT NULL,"
	"  trigger TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  started INTEGER NOT NULL,"
	"  ended INTEGER NOT NULL DEFAULT 0,"
	"  summary TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX repl_execs_rule ON repl_execs(rule, id);"
	"CREATE INDEX repl_execs_status ON repl_execs(status, id);"
	"CREATE TABLE repl_results ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  exec_id INTEGER NOT NULL REFERENCES repl_execs(id) ON DELETE CASCADE,"
	"  artifact TEXT NOT NULL,"
	"  digest TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL,"
	"  message TEXT NOT NULL DEFAULT '',"
	"  time INTEGER NOT NULL"
	");"
	"CREATE INDEX repl_results_exec ON repl_results(exec_id, id);"
	"CREATE TABLE repl_fired ("
	"  rule TEXT PRIMARY KEY,"
	"  time INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE repl_events ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  rule TEXT NOT NULL,"
	"  repo TEXT NOT NULL,"
	"  reference TEXT NOT NULL,"
	"  deleted INTEGER NOT NULL,"
	"  time INTEGER NOT NULL"
	");",
	/*
	 * 6: several processes on one database. A lease is a named row that
	 * one process holds until it expires (one process runs a periodic
	 * job; each running process keeps "process:<holder>" alive). Events
	 * and executions record the process that holds them, so a claim by a
	 * process that died can be taken over by another.
	 */
	"CREATE TABLE leases ("
	"  name TEXT PRIMARY KEY,"
	"  holder TEXT NOT NULL,"
	"  expires INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"ALTER TABLE repl_events ADD COLUMN holder TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX repl_events_holder ON repl_events(holder, id);"
	"ALTER TABLE repl_execs ADD COLUMN holder TEXT NOT NULL DEFAULT '';",
	/*
	 * 7: the mirror's tag validations: when a cached tag of a local
	 * repository was last found to match its upstream (seconds since the
	 * epoch), so that a restart does not revalidate every tag at once.
	 */
	"CREATE TABLE mirror_tags ("
	"  repo TEXT NOT NULL,"
	"  tag TEXT NOT NULL,"
	"  checked INTEGER NOT NULL,"
	"  PRIMARY KEY (repo, tag)"
	") WITHOUT ROWID;",
	/*
	 * 8: replication retry runs asked for later (a destination was full),
	 * one per rule, due at `at` (seconds since the epoch): kept here so
	 * that a restart does not lose them.
	 */
	"CREATE TABLE repl_retries ("
	"  rule TEXT PRIMARY KEY,"
	"  at INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"CREATE INDEX repl_retries_at ON repl_retries(at);",
	/*
	 * 9: garbage collection from manifests. When a repository last linked
	 * each blob (seconds since the epoch; a push, a mount, a mirror fetch
	 * or a manifest listing it): `berth gc` drops the links older than its
	 * grace that no manifest of the repository lists. Links made before
	 * this migration count from the migration, so a push running across
	 * the upgrade keeps its blobs for one grace period.
	 */
	("ALTER TABLE repo_blobs ADD COLUMN linked_at INTEGER NOT NULL DEFAULT 0;"
	 "UPDATE repo_blobs SET linked_at = CAST(strftime('%s', 'now') AS INTEGER);"),
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The tables the migrations above insert rows into (the driver's copy_seeded). */
static const char *const seeded_tables[] = {"generations", NULL};

/* ---- cached statements ---- */

/* The policy generation, read with every manifest (generations PK, one row). */
#define MAN_POLICY_GEN " (SELECT value FROM generations WHERE name = 'policy')"

static const char *const sqls[Q_COUNT] = {
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	/* UNIQUE index on repos(name) */
	[Q_REPO_ENSURE] = "INSERT INTO repos(name) VALUES (?1) ON CONFLICT(name) DO NOTHING",
	[Q_REPO_ID] = "SELECT id FROM repos WHERE name = ?1",
	/* blobs PK; repo_blobs PK */
	[Q_BLOB_INSERT] = "INSERT INTO blobs(digest, size) VALUES (?1, ?2)"
			  " ON CONFLICT(digest) DO NOTHING",
	[Q_REPO_BLOB_INSERT] =
		"INSERT INTO repo_blobs(repo_id, digest, linked_at) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(repo_id, digest) DO UPDATE SET linked_at = excluded.linked_at",
	/* repos(name) -> repo_blobs PK -> blobs PK */
	[Q_BLOB_LINKED] = "SELECT b.size FROM repos r"
			  " JOIN repo_blobs rb ON rb.repo_id = r.id"
			  " JOIN blobs b ON b.digest = rb.digest"
			  " WHERE r.name = ?1 AND rb.digest = ?2",
	/* blobs PK -> repo_blobs_digest -> repos PK; the few rows are then sorted */
	[Q_BLOB_REPOS] = "SELECT r.name, b.size FROM blobs b"
			 " JOIN repo_blobs rb ON rb.digest = b.digest"
			 " JOIN repos r ON r.id = rb.repo_id"
			 " WHERE b.digest = ?1 ORDER BY r.name",
	/* repos(name) -> repo_blobs PK */
	[Q_BLOB_UNLINK] = "DELETE FROM repo_blobs"
			  " WHERE repo_id = (SELECT id FROM repos WHERE name = ?1) AND digest = ?2",
	/* GC's mark: repo_blobs_digest, manifest_refs_ref */
	[Q_BLOB_REFERENCED] = "SELECT EXISTS (SELECT 1 FROM repo_blobs WHERE digest = ?1)"
			      " OR EXISTS (SELECT 1 FROM manifest_refs WHERE ref = ?1)",
	/* manifests PK; manifest_refs PK; tags PK */
	[Q_MAN_INSERT] = "INSERT INTO manifests(repo_id, digest, media_type, artifact_type,"
			 " annotations, subject, body, size, created_at)"
			 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
			 " ON CONFLICT(repo_id, digest) DO NOTHING",
	[Q_MAN_REF_INSERT] = "INSERT INTO manifest_refs(repo_id, digest, ref) VALUES (?1, ?2, ?3)"
			     " ON CONFLICT DO NOTHING",
	[Q_TAG_SET] = "INSERT INTO tags(repo_id, name, digest, updated_at) VALUES (?1, ?2, ?3, ?4)"
		      " ON CONFLICT(repo_id, name) DO UPDATE SET digest = excluded.digest,"
		      " updated_at = excluded.updated_at WHERE digest <> excluded.digest",
	/* the hot path: repos(name) -> tags PK -> manifests PK, one query */
	[Q_MAN_BY_TAG] =
		"SELECT m.digest, m.media_type, m.size, m.body, r.generation," MAN_POLICY_GEN
		" FROM repos r"
		" JOIN tags t ON t.repo_id = r.id"
		" JOIN manifests m ON m.repo_id = t.repo_id AND m.digest = t.digest"
		" WHERE r.name = ?1 AND t.name = ?2",
	/* repos(name) -> manifests PK */
	[Q_MAN_BY_DIGEST] =
		"SELECT m.digest, m.media_type, m.size, m.body, r.generation," MAN_POLICY_GEN
		" FROM repos r"
		" JOIN manifests m ON m.repo_id = r.id"
		" WHERE r.name = ?1 AND m.digest = ?2",
	/* repos(name) -> manifest_refs_ref: the indexes of the repository listing a manifest */
	[Q_MAN_PARENTS] = "SELECT digest FROM manifest_refs"
			  " WHERE ref = ?2 AND repo_id = (SELECT id FROM repos WHERE name = ?1)",
	/* repos(name), inside the write transaction of a manifest or tag change */
	[Q_REPO_BUMP] = "UPDATE repos SET generation = generation + 1 WHERE name = ?1",
	/* manifests PK; the cascade uses tags_digest and the manifest_refs PK */
	[Q_MAN_DELETE] = "DELETE FROM manifests"
			 " WHERE repo_id = (SELECT id FROM repos WHERE name = ?1) AND digest = ?2",
	[Q_TAG_DELETE] = "DELETE FROM tags"
			 " WHERE repo_id = (SELECT id FROM repos WHERE name = ?1) AND name = ?2",
	/* tags PK range scan, already in name (BINARY) order */
	[Q_TAGS] = "SELECT name FROM tags WHERE repo_id = ?1 AND name > ?2 ORDER BY name LIMIT ?3",
	/* repos(name) range scan; the EXISTS probes use the manifests/repo_blobs PKs */
	[Q_CATALOG] = "SELECT r.name FROM repos r WHERE r.name > ?1"
		      " AND (EXISTS (SELECT 1 FROM manifests m WHERE m.repo_id = r.id)"
		      " OR EXISTS (SELECT 1 FROM repo_blobs b WHERE b.repo_id = r.id))"
		      " ORDER BY r.name LIMIT ?2",
	/* repos(name) -> manifests_subject (repo_id, subject) in digest order */
	[Q_REFERRERS] = "SELECT digest, media_type, size, artifact_type, annotations FROM manifests"
			" WHERE repo_id = (SELECT id FROM repos WHERE name = ?1) AND subject = ?2"
			" AND (?3 IS NULL OR artifact_type = ?3) ORDER BY digest",
	/* uploads PK; uploads_started */
	[Q_UPLOAD_CREATE] =
		"INSERT INTO uploads(id, repo, started, account) VALUES (?1, ?2, ?3, ?4)",
	/* uploads_repo, uploads_account */
	[Q_UPLOAD_COUNT] = "SELECT (SELECT count(*) FROM uploads WHERE repo = ?1),"
			   " (SELECT count(*) FROM uploads WHERE ?2 <> '' AND account = ?2)",
	[Q_UPLOAD_CHECK] = "SELECT 1 FROM uploads WHERE id = ?1 AND repo = ?2",
	[Q_UPLOAD_DELETE] = "DELETE FROM uploads WHERE id = ?1",
	[Q_UPLOAD_STALE] = "SELECT id FROM uploads WHERE started < ?1 ORDER BY started",
	/* users: UNIQUE index on name, rowid for ids; listings walk the name index */
	[Q_USER_CREATE] = "INSERT INTO users(name, password_hash, sysadmin, created)"
			  " VALUES (?1, ?2, ?3, ?4)",
	[Q_USER_GET] =
		"SELECT id, name, password_hash, sysadmin, created, generation, disabled FROM users"
		" WHERE name = ?1",
	[Q_USER_BY_ID] =
		"SELECT id, name, password_hash, sysadmin, created, generation, disabled FROM users"
		" WHERE id = ?1",
	[Q_USER_SET_PASSWORD] = "UPDATE users SET password_hash = ?2, generation = generation + 1"
				" WHERE name = ?1",
	[Q_USER_SET_DISABLED] = "UPDATE users SET disabled = ?2, generation = generation + 1"
				" WHERE name = ?1",
	/* the members cascade finds the user's rows through members_user */
	[Q_USER_DELETE] = "DELETE FROM users WHERE name = ?1",
	[Q_USERS] = "SELECT id, name, password_hash, sysadmin, created, generation, disabled FROM "
		    "users ORDER BY name",
	/* projects: UNIQUE index on name */
	[Q_PROJECT_CREATE] = "INSERT INTO projects(name, public, created) VALUES (?1, ?2, ?3)",
	[Q_PROJECT_GET] = "SELECT id, name, public, created FROM projects WHERE name = ?1",
	[Q_PROJECT_ID] = "SELECT id FROM projects WHERE name = ?1",
	[Q_PROJECT_SET_PUBLIC] = "UPDATE projects SET public = ?2 WHERE name = ?1",
	/* the members cascade uses the members PK (project_id first) */
	[Q_PROJECT_DELETE] = "DELETE FROM projects WHERE name = ?1",
	[Q_PROJECTS] = "SELECT id, name, public, created FROM projects ORDER BY name",
	/* projects(name); generations PK; the partial index projects_policy */
	[Q_PROJECT_SET_KEYS] = "UPDATE projects SET signature_keys = ?2 WHERE name = ?1",
	[Q_PROJECT_KEYS] = "SELECT signature_keys FROM projects WHERE name = ?1",
	[Q_POLICY_BUMP] = "UPDATE generations SET value = value + 1 WHERE name = 'policy'",
	[Q_POLICY_GEN] = "SELECT value FROM generations WHERE name = 'policy'",
	/* a generation row appears at its first bump (no migration per name) */
	[Q_GEN_GET] = "SELECT value FROM generations WHERE name = ?1",
	[Q_GEN_BUMP_REPL] =
		"INSERT INTO generations(name, value) VALUES ('" BERTH_META_GEN_REPLICATION
		"', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1",
	[Q_POLICIES] = "SELECT name, signature_keys FROM projects INDEXED BY projects_policy"
		       " WHERE signature_keys <> '' ORDER BY name",
	/* projects(name), users(name) -> members PK */
	[Q_MEMBER_SET] = "INSERT INTO members(project_id, user_id, role)"
			 " SELECT p.id, u.id, ?3 FROM projects p, users u"
			 " WHERE p.name = ?1 AND u.name = ?2"
			 " ON CONFLICT(project_id, user_id) DO UPDATE SET role = excluded.role",
	[Q_MEMBER_GET] = "SELECT m.role FROM projects p"
			 " JOIN members m ON m.project_id = p.id"
			 " JOIN users u ON u.id = m.user_id"
			 " WHERE p.name = ?1 AND u.name = ?2",
	[Q_MEMBER_DELETE] = "DELETE FROM members"
			    " WHERE project_id = (SELECT id FROM projects WHERE name = ?1)"
			    " AND user_id = (SELECT id FROM users WHERE name = ?2)",
	/* members PK range -> users PK; a project's few members are then sorted */
	[Q_MEMBERS] = "SELECT u.name, m.role FROM members m JOIN users u ON u.id = m.user_id"
		      " WHERE m.project_id = ?1 ORDER BY u.name",
	/* robots: UNIQUE index on name */
	[Q_ROBOT_CREATE] = "INSERT INTO robots(name, secret_hash, expires, created, permissions)"
			   " VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_ROBOT_GET] = "SELECT id, name, secret_hash, expires, created, permissions, generation "
			"FROM robots"
			" WHERE name = ?1",
	[Q_ROBOT_DELETE] = "DELETE FROM robots WHERE name = ?1",
	[Q_ROBOT_SET_SECRET] = "UPDATE robots SET secret_hash = ?2, generation = generation + 1"
			       " WHERE name = ?1",
	[Q_ROBOTS] = "SELECT id, name, secret_hash, expires, created, permissions, generation FROM "
		     "robots"
		     " ORDER BY name",
	/* audit: one INSERT per event; newest first is a backwards rowid range */
	[Q_AUDIT_ADD] = "INSERT INTO audit(time, who, action, resource, address, result)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_AUDIT_LIST] = "SELECT id, time, who, action, resource, address, result FROM audit"
			 " WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
	/* login_failures_key_time for the count, the prune and the clear */
	[Q_LOGIN_FAIL_ADD] = "INSERT INTO login_failures(key, time) VALUES (?1, ?2)",
	[Q_LOGIN_FAIL_PRUNE] = "DELETE FROM login_failures WHERE key = ?1 AND time < ?2",
	[Q_LOGIN_FAILS] = "SELECT count(*), coalesce(max(time), 0) FROM login_failures"
			  " WHERE key = ?1 AND time >= ?2",
	[Q_LOGIN_FAIL_CLEAR] = "DELETE FROM login_failures WHERE key = ?1",
	[Q_REPL_RULE_PUT] = "INSERT INTO repl_rules(name, body, updated) VALUES (?1, ?2, ?3)"
			    " ON CONFLICT(name) DO UPDATE SET body = ?2, updated = ?3",
	[Q_REPL_RULE_DELETE] = "DELETE FROM repl_rules WHERE name = ?1",
	[Q_REPL_RULES] = "SELECT name, body FROM repl_rules WHERE name > '' ORDER BY name",
	[Q_REPL_REGISTRY_PUT] = "INSERT INTO repl_registries(name, body, secret, updated)"
				" VALUES (?1, ?2, ?3, ?4) ON CONFLICT(name) DO UPDATE"
				" SET body = ?2, secret = ?3, updated = ?4",
	[Q_REPL_REGISTRY_DELETE] = "DELETE FROM repl_registries WHERE name = ?1",
	[Q_REPL_REGISTRIES] = "SELECT name, body, secret FROM repl_registries WHERE name > ''"
			      " ORDER BY name",
	[Q_REPL_EXEC_START] = "INSERT INTO repl_execs(rule, trigger, status, started)"
			      " VALUES (?1, ?2, 'running', ?3)",
	[Q_REPL_EXEC_FINISH] = "UPDATE repl_execs SET status = ?2, ended = ?3, summary = ?4"
			       " WHERE id = ?1",
	[Q_REPL_EXECS] = "SELECT id, rule, trigger, status, started, ended, summary FROM repl_execs"
			 " WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
	[Q_REPL_EXECS_RULE] = "SELECT id, rule, trigger, status, started, ended, summary"
			      " FROM repl_execs WHERE rule = ?3 AND id < ?1 ORDER BY id DESC"
			      " LIMIT ?2",
	[Q_REPL_EXECS_RUNNING] = "SELECT id, rule, trigger, status, started, ended, summary"
				 " FROM repl_execs WHERE status = 'running' ORDER BY id",
	[Q_REPL_RESULT_ADD] = "INSERT INTO repl_results(exec_id, artifact, digest, status, message,"
			      " time) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[Q_REPL_RESULTS] = "SELECT exec_id, artifact, digest, status, message, time"
			   " FROM repl_results WHERE exec_id = ?1 ORDER BY id",
	[Q_REPL_FIRED_GET] = "SELECT time FROM repl_fired WHERE rule = ?1",
	[Q_REPL_FIRED_SET] = "INSERT INTO repl_fired(rule, time) VALUES (?1, ?2)"
			     " ON CONFLICT(rule) DO UPDATE SET time = ?2",
	[Q_REPL_EVENT_ADD] = "INSERT INTO repl_events(rule, repo, reference, deleted, time)"
			     " VALUES (?1, ?2, ?3, ?4, ?5)",
	[Q_REPL_EVENTS] = "SELECT id, rule, repo, reference, deleted, time FROM repl_events"
			  " WHERE id > ?1 ORDER BY id LIMIT ?2",
	[Q_REPL_EVENT_DELETE] = "DELETE FROM repl_events WHERE id = ?1",
	/* several processes (migration 6) */
	[Q_PING] = "SELECT value FROM generations WHERE name = 'policy'",
	[Q_LEASE_TAKE] = "INSERT INTO leases(name, holder, expires) VALUES (?1, ?2, ?3 + ?4)"
			 " ON CONFLICT(name) DO UPDATE SET holder = ?2, expires = ?3 + ?4"
			 " WHERE leases.expires <= ?3 OR leases.holder = ?2",
	[Q_LEASE_RELEASE] = "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
	[Q_REPL_FIRED_FIRST] = "INSERT INTO repl_fired(rule, time) VALUES (?1, ?2)"
			       " ON CONFLICT(rule) DO NOTHING",
	[Q_REPL_FIRED_MOVE] = "UPDATE repl_fired SET time = ?3 WHERE rule = ?1 AND time = ?2",
	[Q_REPL_EVENTS_FREE] =
		"UPDATE repl_events SET holder = '' WHERE holder > ''"
		" AND NOT EXISTS (SELECT 1 FROM leases WHERE name = '" BERTH_META_LEASE_PREFIX
		"' || repl_events.holder AND expires > ?1)",
	[Q_REPL_EVENT_CLAIM] = "UPDATE repl_events SET holder = ?1 WHERE id IN"
			       " (SELECT id FROM repl_events WHERE holder = '' ORDER BY id LIMIT 1)"
			       " RETURNING id, rule, repo, reference, deleted, time",
	[Q_REPL_EXEC_HOLD] = "UPDATE repl_execs SET holder = ?2 WHERE id = ?1",
	[Q_REPL_EXECS_ORPHANED] = "SELECT id, rule, trigger, status, started, ended, summary"
				  " FROM repl_execs e WHERE status = 'running' AND NOT EXISTS"
				  " (SELECT 1 FROM leases WHERE name = '" BERTH_META_LEASE_PREFIX
				  "' || e.holder AND expires > ?1) ORDER BY id",
	[Q_REPL_EXEC_INTERRUPT] = "UPDATE repl_execs SET status = 'interrupted', ended = ?2,"
				  " summary = ?3 WHERE id = ?1 AND status = 'running'",
	[Q_MIRROR_TAG_GET] = "SELECT checked FROM mirror_tags WHERE repo = ?1 AND tag = ?2",
	[Q_MIRROR_TAG_SET] = "INSERT INTO mirror_tags(repo, tag, checked) VALUES (?1, ?2, ?3)"
			     " ON CONFLICT(repo, tag) DO UPDATE SET checked = ?3",
	[Q_REPL_RETRY_SET] = "INSERT INTO repl_retries(rule, at) VALUES (?1, ?2)"
			     " ON CONFLICT(rule) DO UPDATE SET at = ?2",
	[Q_REPL_RETRIES_DUE] = "SELECT rule, at FROM repl_retries WHERE at <= ?1 ORDER BY at"
			       " LIMIT ?2",
	[Q_REPL_RETRY_TAKE] = "DELETE FROM repl_retries WHERE rule = ?1 AND at = ?2",
	/*
	 * A stored manifest's blobs are linked again (now) in its transaction,
	 * so a gc that dropped a link after the PUT checked it cannot leave the
	 * manifest naming a blob its repository does not link. blobs PK;
	 * repo_blobs PK. (Child manifests have no blobs row: nothing inserted.)
	 */
	[Q_MAN_REF_RELINK] =
		"INSERT INTO repo_blobs(repo_id, digest, linked_at)"
		" SELECT ?1, digest, ?3 FROM blobs WHERE digest = ?2"
		" ON CONFLICT(repo_id, digest) DO UPDATE SET linked_at = excluded.linked_at",
	/* GC's mark: manifest_refs_ref, repo_blobs_digest */
	[Q_BLOB_MARKED] =
		"SELECT EXISTS (SELECT 1 FROM manifest_refs WHERE ref = ?1)"
		" OR EXISTS (SELECT 1 FROM repo_blobs WHERE digest = ?1 AND linked_at >= ?2)",
	/*
	 * GC: a page of links older than ?1 that no manifest of their
	 * repository lists, after (?2, ?3) in repo_blobs PK order; repos PK;
	 * manifest_refs_ref for the NOT EXISTS.
	 */
	[Q_GC_LINKS] = "SELECT rb.repo_id, r.name, rb.digest FROM repo_blobs rb"
		       " JOIN repos r ON r.id = rb.repo_id"
		       " WHERE (rb.repo_id, rb.digest) > (?2, ?3) AND rb.linked_at < ?1"
		       " AND NOT EXISTS (SELECT 1 FROM manifest_refs mr"
		       " WHERE mr.ref = rb.digest AND mr.repo_id = rb.repo_id)"
		       " ORDER BY rb.repo_id, rb.digest LIMIT ?4",
	/* GC: the same conditions checked again as the link goes; repo_blobs PK */
	[Q_GC_UNLINK] =
		"DELETE FROM repo_blobs WHERE repo_id = ?1 AND digest = ?2 AND linked_at < ?3"
		" AND NOT EXISTS (SELECT 1 FROM manifest_refs mr"
		" WHERE mr.ref = ?2 AND mr.repo_id = ?1)",
};

const char *berth_meta__sqlite_sql(size_t i)
{
	/* the i-th text of the ids this driver has */
	for (size_t id = 0; id < Q_COUNT; id++)
		if (sqls[id] && i-- == 0)
			return sqls[id];
	return NULL;
}

const char *berth_meta__sqlite_migration(int version)
{
	return version >= 1 && version <= NMIGRATIONS ? migrations[version - 1] : NULL;
}

/* ---- state ---- */

struct sq_db;

struct sq_conn {
	struct sq_db *owner;
	sqlite3 *db;
	sqlite3_stmt *st[Q_COUNT];
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
	for (int i = 0; i < Q_COUNT; i++)
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
		/*
		 * The switch needs the file to itself, and SQLite answers BUSY at once
		 * (no busy handler: deadlock avoidance) when another process opening
		 * the same new database holds a lock: try again within the timeout.
		 */
		for (int waited = 0;; waited += 20) {
			if ((src = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &st,
						      NULL)) == SQLITE_OK &&
			    (src = sqlite3_step(st)) == SQLITE_ROW)
				break;
			if ((src & 0xff) != SQLITE_BUSY || waited >= BUSY_TIMEOUT_MS) {
				rc = sq_err(c->db, src, "set WAL mode");
				goto done;
			}
			sqlite3_finalize(st);
			st = NULL;
			usleep(20 * 1000);
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

	assert(sqls[i]); /* an id this driver has no SQL for */
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
		rc = exec_cached(c, Q_BEGIN, "begin transaction");
		if (rc == 0) {
			rc = fn(c, arg);
			if (rc == 0)
				rc = exec_cached(c, Q_COMMIT, "commit");
			if (rc != 0 && !sqlite3_get_autocommit(c->db)) {
				/* Keep fn's message: the rollback's own result does not matter. */
				char saved[512];
				int code = berth_error_last_code();

				snprintf(saved, sizeof(saved), "%s", berth_error_last());
				if (exec_cached(c, Q_ROLLBACK, "rollback") != 0)
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

	if ((rc = stmt_get(c, Q_REPO_ENSURE, &st)) != 0)
		return rc;
	if (bind_text(st, 1, repo) != SQLITE_OK) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		stmt_done(st);
		return rc;
	}
	if ((rc = step_write(c, st, "create repository", NULL)) != 0)
		return rc;
	if ((rc = stmt_get(c, Q_REPO_ID, &st)) != 0)
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

/*
 * Inside a write transaction: the repository's content changed (a manifest
 * or tag written or deleted), so verdicts cached about it are stale.
 */
static int repo_bump(struct sq_conn *c, const char *repo)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = stmt_get(c, Q_REPO_BUMP, &st)) != 0)
		return rc;
	if (bind_text(st, 1, repo) != SQLITE_OK) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	return step_write(c, st, "bump repository generation", NULL);
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

/*
 * The database holds password hashes: it and its companions are 0600
 * whatever the umask. SQLite gives a new -wal/-shm/-journal the mode of
 * the database file, so creating that one first is enough for new files;
 * existing ones are tightened as well.
 */
static void private_files(const char *path)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	char p[PATH_MAX];
	int fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) >= 0) {
		(void)fchmod(fd, 0600);
		close(fd);
	}
	for (size_t i = 1; i < sizeof(suffix) / sizeof(suffix[0]); i++)
		if (snprintf(p, sizeof(p), "%s%s", path, suffix[i]) < (int)sizeof(p))
			(void)chmod(p, 0600);
}

static int sq_open(void **impl, const char *target, const berth_meta_options *o)
{
	struct sq_db *s = NULL;
	struct sq_conn *c = NULL;
	long long v = 0;
	int rc = 0, key_ok = 0, lock_ok = 0;

	(void)o; /* one connection per thread: no pool, no statement timeout */
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
	private_files(target);
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

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, Q_REPO_ID, &st)) != 0)
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
	if ((rc = stmt_get(c, Q_BLOB_INSERT, &st)) != 0)
		return rc;
	if (bind_text(st, 1, a->d->str) || sqlite3_bind_int64(st, 2, (sqlite3_int64)a->size)) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = step_write(c, st, "record blob", NULL)) != 0)
		return rc;
	if ((rc = stmt_get(c, Q_REPO_BLOB_INSERT, &st)) != 0)
		return rc;
	if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, a->d->str) ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL))) {
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

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, Q_BLOB_LINKED, &st)) != 0)
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

static int sq_blob_referenced(void *impl, const berth_digest *d)
{
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, Q_BLOB_REFERENCED, &st)) != 0)
		return rc;
	if (bind_text(st, 1, d->str)) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_ROW)
		rc = sqlite3_column_int(st, 0) ? 1 : 0;
	else
		rc = sq_err(c->db, src, "is a blob referenced");
done:
	stmt_done(st);
	return rc;
}

/* Link blob `d` (if it is one) in repository `id` again, now (Q_MAN_REF_RELINK). */
static int relink(struct sq_conn *c, sqlite3_int64 id, const berth_digest *d)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = stmt_get(c, Q_MAN_REF_RELINK, &st)) != 0)
		return rc;
	if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, d->str) ||
	    sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL))) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	return step_write(c, st, "link manifest blob", NULL);
}

static int tx_manifest_store(struct sq_conn *c, void *arg)
{
	const berth_meta_manifest_put *p = arg;
	sqlite3_int64 id = 0;
	sqlite3_stmt *st = NULL;
	int rc, bad, inserted = 0;

	if ((rc = repo_ensure(c, p->repo, &id)) != 0)
		return rc;

	if ((rc = stmt_get(c, Q_MAN_INSERT, &st)) != 0)
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
			if ((rc = stmt_get(c, Q_MAN_REF_INSERT, &st)) != 0)
				return rc;
			if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, p->digest->str) ||
			    bind_text(st, 3, p->refs[i].str)) {
				stmt_done(st);
				return sq_err(c->db, SQLITE_ERROR, "bind");
			}
			if ((rc = step_write(c, st, "store manifest reference", NULL)) != 0)
				return rc;
			if ((rc = relink(c, id, &p->refs[i])) != 0)
				return rc;
		}
	}

	if (p->tag) {
		if ((rc = stmt_get(c, Q_TAG_SET, &st)) != 0)
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
	return repo_bump(c, p->repo);
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
	    (rc = stmt_get(c, by_digest ? Q_MAN_BY_DIGEST : Q_MAN_BY_TAG, &st)) != 0)
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
		info->generation = sqlite3_column_int64(st, 4);
		info->policy_generation = sqlite3_column_int64(st, 5);
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
	return repo_bump(c, a->repo);
}

static int sq_manifest_delete(void *impl, const char *repo, const berth_digest *d)
{
	struct del_args a = {repo, d->str, Q_MAN_DELETE, "manifest"};
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	/* Tags and refs of the manifest go with it (ON DELETE CASCADE). */
	return with_tx(c, tx_delete, &a);
}

static int sq_tag_delete(void *impl, const char *repo, const char *tag)
{
	struct del_args a = {repo, tag, Q_TAG_DELETE, "tag"};
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
			return berth_meta__cb_result(r);
	}
	return 0;
}

static int sq_tags(void *impl, const char *repo, const char *last, long n, berth_meta_name_cb cb,
		   void *ctx, int *more)
{
	struct rows rows = {BERTH_BUF_INIT(LIST_MAX), 0};
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	sqlite3_int64 id;
	int rc, src;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, Q_REPO_ID, &st)) != 0)
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

	if ((rc = stmt_get(c, Q_TAGS, &st)) != 0)
		return rc;
	/* Every name is > '' in BINARY order, so "" means from the start. */
	if (sqlite3_bind_int64(st, 1, id) || bind_text(st, 2, last ? last : "") ||
	    sqlite3_bind_int64(st, 3, berth_meta__page_limit(n))) {
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

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, Q_CATALOG, &st)) != 0)
		return rc;
	if (bind_text(st, 1, last ? last : "") ||
	    sqlite3_bind_int64(st, 2, berth_meta__page_limit(n))) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = collect(c, st, 1, &rows)) == 0)
		rc = deliver_names(&rows, n, cb, ctx, more);
	berth_buf_dispose(&rows.b);
	return rc;
}

static int sq_upload_check(void *impl, const char *id, const char *repo)
{
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, Q_UPLOAD_CHECK, &st)) != 0)
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

/* ---- the primitives of the shared queries (queries.c) ---- */

/* Bind parameters 1..np (query.h: a boolean is 0/1, "no limit" is LIMIT -1). */
static int bind_params(sqlite3_stmt *st, const berth_meta_param *p, int np)
{
	for (int i = 0; i < np; i++) {
		int src = SQLITE_MISUSE;

		switch (p[i].kind) {
		case BERTH_META_PARAM_TEXT: src = bind_text(st, i + 1, p[i].s); break;
		case BERTH_META_PARAM_INT:
		case BERTH_META_PARAM_BOOL: src = sqlite3_bind_int64(st, i + 1, p[i].v); break;
		case BERTH_META_PARAM_LIMIT:
			src = sqlite3_bind_int64(st, i + 1, p[i].v < 0 ? -1 : p[i].v);
			break;
		case BERTH_META_PARAM_BIN:
			src = sqlite3_bind_blob64(st, i + 1, p[i].s ? (const void *)p[i].s : "",
						  p[i].len, SQLITE_STATIC);
			break;
		}
		if (src != SQLITE_OK)
			return src;
	}
	return SQLITE_OK;
}

/*
 * One write statement inside a transaction (query.h, berth_meta_write): a
 * UNIQUE or primary key violation is `exists`, no changed row `notfound`.
 */
static int tx_write(struct sq_conn *c, void *arg)
{
	berth_meta_write *a = arg;
	sqlite3_stmt *st = NULL;
	int rc = 0, src;

	if ((rc = stmt_get(c, a->stmt, &st)) != 0)
		return rc;
	if (bind_params(st, a->p, a->np) != SQLITE_OK) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	src = sqlite3_step(st);
	if ((src == SQLITE_CONSTRAINT_UNIQUE || src == SQLITE_CONSTRAINT_PRIMARYKEY) && a->exists) {
		rc = berth_error_set(BERTH_EEXISTS, "%s", a->exists);
	} else if (src != SQLITE_DONE && src != SQLITE_ROW) {
		rc = sq_err(c->db, src, a->what);
	} else {
		a->changes = sqlite3_changes(c->db);
		a->id = sqlite3_last_insert_rowid(c->db);
		if (!a->changes && a->notfound)
			rc = berth_error_set(BERTH_ENOTFOUND, "%s", a->notfound);
	}
done:
	stmt_done(st);
	return rc;
}

/* A list of write statements (the driver's `write`). */
struct writes {
	berth_meta_write *w;
	size_t n;
};

static int tx_writes(struct sq_conn *c, void *arg)
{
	struct writes *a = arg;
	int rc = 0;

	for (size_t i = 0; i < a->n && rc == 0; i++)
		rc = tx_write(c, &a->w[i]);
	return rc;
}

static int sq_write(void *impl, berth_meta_write *w, size_t n)
{
	struct writes a = {w, n};
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	return with_tx(c, tx_writes, &a);
}

/* The driver's get_row (internal.h). */
static int sq_get_row(void *impl, int stmt, const berth_meta_param *p, int np, int ncols,
		      berth_meta_fill_fn fill, void *out, void *extra, const char *notfound)
{
	const char *col[8];
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc, src;

	assert(ncols <= 8);
	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, stmt, &st)) != 0)
		return rc;
	if (bind_params(st, p, np) != SQLITE_OK) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE) {
		rc = berth_error_set(BERTH_ENOTFOUND, "%s", notfound);
		goto done;
	}
	if (src != SQLITE_ROW) {
		rc = sq_err(c->db, src, "query");
		goto done;
	}
	if (out) {
		for (int i = 0; i < ncols; i++)
			col[i] = (const char *)sqlite3_column_text(st, i);
		rc = fill(out, extra, col);
	}
done:
	stmt_done(st);
	return rc;
}

/* The driver's list_rows (internal.h): the rows are buffered (see collect). */
static int sq_list_rows(void *impl, int stmt, const berth_meta_param *p, int np, int ncols,
			int wipe, berth_meta_each_fn each, void *ctx)
{
	struct rows rows = {BERTH_BUF_INIT(LIST_MAX), 0};
	const char *col[8], *cur;
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc;

	assert(ncols <= 8);
	if ((rc = conn_get(impl, &c)) != 0 || (rc = stmt_get(c, stmt, &st)) != 0)
		return rc;
	if (bind_params(st, p, np) != SQLITE_OK) {
		stmt_done(st);
		return sq_err(c->db, SQLITE_ERROR, "bind");
	}
	if ((rc = collect(c, st, ncols, &rows)) != 0)
		goto done;
	cur = rows.b.ptr;
	for (size_t i = 0; i < rows.n; i++) {
		int r;

		for (int k = 0; k < ncols; k++)
			col[k] = cell(&cur);
		if ((r = each(ctx, col)) != 0) {
			rc = berth_meta__cb_result(r);
			break;
		}
	}
done:
	if (wipe && rows.b.ptr)
		explicit_bzero(rows.b.ptr, rows.b.cap);
	berth_buf_dispose(&rows.b);
	return rc;
}

/* ---- members ---- */

static int tx_member_set(struct sq_conn *c, void *arg)
{
	berth_meta_write *a = arg;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if ((rc = tx_write(c, a)) != 0 || a->changes)
		return rc;
	/* Nothing inserted: say which side is missing (without naming it). */
	if ((rc = stmt_get(c, Q_PROJECT_ID, &st)) != 0)
		return rc;
	if (bind_text(st, 1, a->p[0].s) != SQLITE_OK) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	src = sqlite3_step(st);
	if (src == SQLITE_DONE)
		rc = berth_error_set(BERTH_ENOTFOUND, "project not found");
	else if (src == SQLITE_ROW)
		rc = berth_error_set(BERTH_ENOTFOUND, "user not found");
	else
		rc = sq_err(c->db, src, "find project");
done:
	stmt_done(st);
	return rc;
}

static int sq_member_set(void *impl, const char *project, const char *user, int role)
{
	berth_meta_write a = {
		.stmt = Q_MEMBER_SET,
		.what = "set member",
		.p = {PTEXT(project), PTEXT(user), PINT(role)},
		.np = 3,
	};
	struct sq_conn *c;
	int rc;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	return with_tx(c, tx_member_set, &a);
}

/* ---- copying between drivers (copy.c) ---- */

/* Run `sql` (one optional text parameter) and pass each row's first column to cb. */
static int sq_names(void *impl, const char *sql, const char *arg, const char *notfound,
		    berth_meta_name_cb cb, void *ctx)
{
	struct rows rows = {BERTH_BUF_INIT(LIST_MAX), 0};
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	const char *cur;
	int rc, src;

	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	if ((src = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL)) != SQLITE_OK)
		return sq_err(c->db, src, "prepare");
	if (arg && bind_text(st, 1, arg) != SQLITE_OK) {
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
		goto done;
	}
	if ((rc = collect(c, st, 1, &rows)) != 0)
		goto done;
	if (!rows.n && notfound) {
		rc = berth_error_set(BERTH_ENOTFOUND, "%s", notfound);
		goto done;
	}
	cur = rows.b.ptr;
	for (size_t i = 0; i < rows.n; i++) {
		const char *name = cell(&cur);
		int r;

		if (name && (r = cb(ctx, name)) != 0) {
			rc = berth_meta__cb_result(r);
			break;
		}
	}
done:
	sqlite3_finalize(st);
	berth_buf_dispose(&rows.b);
	return rc;
}

static int sq_copy_tables(void *impl, berth_meta_name_cb cb, void *ctx)
{
	return sq_names(impl,
			"SELECT name FROM sqlite_master WHERE type = 'table'"
			" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid",
			NULL, NULL, cb, ctx);
}

static int sq_copy_columns(void *impl, const char *table, berth_meta_name_cb cb, void *ctx)
{
	return sq_names(impl, "SELECT name FROM pragma_table_info(?1) ORDER BY cid", table,
			"metadata: no such table", cb, ctx);
}

static int sq_copy_parents(void *impl, const char *table, berth_meta_name_cb cb, void *ctx)
{
	return sq_names(impl, "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?1)", table,
			NULL, cb, ctx);
}

static int append_name(void *ctx, const char *name)
{
	berth_buf *b = ctx;
	char q[2 * BERTH_META_COPY_NAME_MAX + 3];
	int rc;

	if ((rc = berth_meta__quote_ident(q, sizeof(q), name)) != 0)
		return rc;
	return berth_buf_printf(b, "%s%s", b->len ? ", " : "", q);
}

/* "SELECT c1, ... FROM t ORDER BY <primary key, or every exported column>" */
static int export_sql(void *impl, const char *table, const char *const *cols, size_t ncols,
		      berth_buf *sql)
{
	berth_buf order = BERTH_BUF_INIT(1 << 16);
	char q[2 * BERTH_META_COPY_NAME_MAX + 3];
	int rc;

	if ((rc = sq_names(impl, "SELECT name FROM pragma_table_info(?1) WHERE pk > 0 ORDER BY pk",
			   table, NULL, append_name, &order)) != 0)
		goto done;
	if ((rc = berth_buf_put(sql, "SELECT ", 7)) != 0)
		goto done;
	for (size_t i = 0; i < ncols; i++) {
		if ((rc = berth_meta__quote_ident(q, sizeof(q), cols[i])) != 0 ||
		    (rc = berth_buf_printf(sql, "%s%s", i ? ", " : "", q)) != 0)
			goto done;
	}
	if ((rc = berth_meta__quote_ident(q, sizeof(q), table)) != 0 ||
	    (rc = berth_buf_printf(sql, " FROM %s ORDER BY ", q)) != 0)
		goto done;
	if (order.len) {
		rc = berth_buf_put(sql, order.ptr, order.len);
	} else { /* no primary key: every column */
		for (size_t i = 0; i < ncols && rc == 0; i++)
			if ((rc = berth_meta__quote_ident(q, sizeof(q), cols[i])) == 0)
				rc = berth_buf_printf(sql, "%s%s", i ? ", " : "", q);
	}
done:
	berth_buf_dispose(&order);
	return rc;
}

static void cell_of(sqlite3_stmt *st, int i, berth_meta_cell *out)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL: out->kind = BERTH_META_CELL_NULL; break;
	case SQLITE_INTEGER:
		out->kind = BERTH_META_CELL_INT;
		out->i = sqlite3_column_int64(st, i);
		break;
	case SQLITE_BLOB:
		out->kind = BERTH_META_CELL_BLOB;
		out->p = sqlite3_column_blob(st, i);
		out->len = (size_t)sqlite3_column_bytes(st, i);
		break;
	default: /* TEXT, and REAL as its text */
		out->kind = BERTH_META_CELL_TEXT;
		out->p = sqlite3_column_text(st, i);
		out->len = (size_t)sqlite3_column_bytes(st, i);
		break;
	}
}

static int sq_copy_export(void *impl, const char *table, const char *const *cols, size_t ncols,
			  berth_meta_row_cb cb, void *ctx)
{
	berth_buf sql = BERTH_BUF_INIT(1 << 16);
	berth_meta_cell cells[BERTH_META_COPY_COLUMNS_MAX];
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc, src;

	if (ncols == 0 || ncols > BERTH_META_COPY_COLUMNS_MAX)
		return berth_error_set(BERTH_EINVALID, "metadata: %zu columns to copy", ncols);
	if ((rc = conn_get(impl, &c)) != 0 ||
	    (rc = export_sql(impl, table, cols, ncols, &sql)) != 0)
		goto done;
	if ((src = sqlite3_prepare_v2(c->db, sql.ptr, -1, &st, NULL)) != SQLITE_OK) {
		rc = sq_err(c->db, src, "prepare export");
		goto done;
	}
	while ((src = sqlite3_step(st)) == SQLITE_ROW) {
		int r;

		memset(cells, 0, sizeof(cells));
		for (size_t i = 0; i < ncols; i++)
			cell_of(st, (int)i, &cells[i]);
		if ((r = cb(ctx, cells, ncols)) != 0) {
			rc = berth_meta__cb_result(r);
			goto done;
		}
	}
	if (src != SQLITE_DONE)
		rc = sq_err(c->db, src, "export");
done:
	sqlite3_finalize(st);
	berth_buf_dispose(&sql);
	return rc;
}

/* 1 if `table` has an AUTOINCREMENT id (its sequence lives in sqlite_sequence). */
static int autoincrement(struct sq_conn *c, const char *table, int *yes)
{
	sqlite3_stmt *st = NULL;
	int src, rc = 0;

	*yes = 0;
	if ((src = sqlite3_prepare_v2(
		     c->db,
		     "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1"
		     " AND upper(sql) LIKE '%AUTOINCREMENT%'",
		     -1, &st, NULL)) != SQLITE_OK)
		return sq_err(c->db, src, "prepare");
	if (bind_text(st, 1, table) != SQLITE_OK)
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
	else if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*yes = 1;
	else if (src != SQLITE_DONE)
		rc = sq_err(c->db, src, "read schema");
	sqlite3_finalize(st);
	return rc;
}

static int sq_copy_sequence(void *impl, const char *table, int64_t *last)
{
	struct sq_conn *c;
	sqlite3_stmt *st = NULL;
	int rc, src, yes;

	*last = 0;
	if ((rc = conn_get(impl, &c)) != 0 || (rc = autoincrement(c, table, &yes)) != 0)
		return rc;
	if (!yes)
		return berth_error_set(BERTH_ENOTFOUND, "metadata: table has no id sequence");
	if ((src = sqlite3_prepare_v2(c->db, "SELECT seq FROM sqlite_sequence WHERE name = ?1", -1,
				      &st, NULL)) != SQLITE_OK)
		return sq_err(c->db, src, "prepare");
	if (bind_text(st, 1, table) != SQLITE_OK)
		rc = sq_err(c->db, SQLITE_ERROR, "bind");
	else if ((src = sqlite3_step(st)) == SQLITE_ROW)
		*last = sqlite3_column_int64(st, 0);
	else if (src != SQLITE_DONE)
		rc = sq_err(c->db, src, "read sequence");
	sqlite3_finalize(st);
	return rc;
}

/* A copy's write transaction on the calling thread's connection. */
struct sq_copy {
	struct sq_conn *c;
	sqlite3_stmt *insert; /* for `table` */
	char table[BERTH_META_COPY_NAME_MAX + 1];
};

static int sq_copy_begin(void *impl, void **tx)
{
	struct sq_copy *t;
	struct sq_conn *c;
	int rc;

	*tx = NULL;
	if ((rc = conn_get(impl, &c)) != 0)
		return rc;
	if (!(t = calloc(1, sizeof(*t))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	t->c = c;
	if ((rc = exec_sql(c->db, "BEGIN IMMEDIATE", "begin copy")) != 0) {
		free(t);
		return rc;
	}
	*tx = t;
	return 0;
}

static int sq_copy_clear(void *tx, const char *table)
{
	struct sq_copy *t = tx;
	char q[2 * BERTH_META_COPY_NAME_MAX + 3], sql[sizeof(q) + 16];
	int rc;

	if ((rc = berth_meta__quote_ident(q, sizeof(q), table)) != 0)
		return rc;
	snprintf(sql, sizeof(sql), "DELETE FROM %s", q);
	return exec_sql(t->c->db, sql, "clear table");
}

static int prepare_insert(struct sq_copy *t, const char *table, const char *const *cols,
			  size_t ncols)
{
	berth_buf sql = BERTH_BUF_INIT(1 << 16);
	char q[2 * BERTH_META_COPY_NAME_MAX + 3];
	int rc, src;

	sqlite3_finalize(t->insert);
	t->insert = NULL;
	t->table[0] = 0;
	if ((rc = berth_meta__quote_ident(q, sizeof(q), table)) != 0 ||
	    (rc = berth_buf_printf(&sql, "INSERT INTO %s (", q)) != 0)
		goto done;
	for (size_t i = 0; i < ncols; i++)
		if ((rc = berth_meta__quote_ident(q, sizeof(q), cols[i])) != 0 ||
		    (rc = berth_buf_printf(&sql, "%s%s", i ? ", " : "", q)) != 0)
			goto done;
	if ((rc = berth_buf_put(&sql, ") VALUES (", 10)) != 0)
		goto done;
	for (size_t i = 0; i < ncols; i++)
		if ((rc = berth_buf_printf(&sql, "%s?%zu", i ? ", " : "", i + 1)) != 0)
			goto done;
	if ((rc = berth_buf_puts(&sql, ")")) != 0)
		goto done;
	if ((src = sqlite3_prepare_v2(t->c->db, sql.ptr, -1, &t->insert, NULL)) != SQLITE_OK) {
		rc = sq_err(t->c->db, src, "prepare copy");
		goto done;
	}
	snprintf(t->table, sizeof(t->table), "%s", table);
done:
	berth_buf_dispose(&sql);
	return rc;
}

static int sq_copy_insert(void *tx, const char *table, const char *const *cols, size_t ncols,
			  const berth_meta_cell *cells)
{
	struct sq_copy *t = tx;
	int rc, src = SQLITE_OK;

	if (ncols == 0 || ncols > BERTH_META_COPY_COLUMNS_MAX)
		return berth_error_set(BERTH_EINVALID, "metadata: %zu columns to copy", ncols);
	if (strcmp(t->table, table) != 0 && (rc = prepare_insert(t, table, cols, ncols)) != 0)
		return rc;
	for (size_t i = 0; i < ncols && src == SQLITE_OK; i++) {
		const berth_meta_cell *v = &cells[i];
		int k = (int)i + 1;

		if (v->kind == BERTH_META_CELL_INT)
			src = sqlite3_bind_int64(t->insert, k, v->i);
		else if (v->kind == BERTH_META_CELL_TEXT && v->len > INT_MAX)
			src = SQLITE_TOOBIG;
		else if (v->kind == BERTH_META_CELL_TEXT)
			src = sqlite3_bind_text(t->insert, k, v->p ? v->p : "", (int)v->len,
						SQLITE_STATIC);
		else if (v->kind == BERTH_META_CELL_BLOB)
			src = sqlite3_bind_blob64(t->insert, k, v->p ? v->p : "", v->len,
						  SQLITE_STATIC);
		else
			src = sqlite3_bind_null(t->insert, k);
	}
	if (src != SQLITE_OK) {
		rc = sq_err(t->c->db, src, "bind");
		stmt_done(t->insert);
		return rc;
	}
	return step_write(t->c, t->insert, "copy row", NULL);
}

static int sq_copy_sequence_set(void *tx, const char *table, int64_t last)
{
	struct sq_copy *t = tx;
	berth_meta_param p[] = {PTEXT(table), PINT(last)};
	sqlite3_stmt *st = NULL;
	int rc, src, yes;

	if ((rc = autoincrement(t->c, table, &yes)) != 0)
		return rc;
	if (!yes)
		return berth_error_set(BERTH_ENOTFOUND, "metadata: table has no id sequence");
	/* copied ids already moved the row up; a row appears with the first insert */
	for (int pass = 0; pass < 2; pass++) {
		const char *sql =
			pass == 0 ? "UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1"
				  : "INSERT INTO sqlite_sequence(name, seq) SELECT ?1, ?2"
				    " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = "
				    "?1)";

		if ((src = sqlite3_prepare_v2(t->c->db, sql, -1, &st, NULL)) != SQLITE_OK)
			return sq_err(t->c->db, src, "prepare");
		if (bind_params(st, p, 2) != SQLITE_OK) {
			rc = sq_err(t->c->db, SQLITE_ERROR, "bind");
			sqlite3_finalize(st);
			return rc;
		}
		rc = step_write(t->c, st, "set sequence", NULL);
		sqlite3_finalize(st);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int sq_copy_end(void *tx, int commit)
{
	struct sq_copy *t = tx;
	int rc = 0;

	if (!t)
		return 0;
	sqlite3_finalize(t->insert);
	if (commit)
		rc = exec_sql(t->c->db, "COMMIT", "commit copy");
	if (!sqlite3_get_autocommit(t->c->db))
		sqlite3_exec(t->c->db, "ROLLBACK", NULL, NULL, NULL);
	free(t);
	return rc;
}

const berth_meta_driver berth_meta__sqlite_driver = {
	.scheme = "sqlite",
	.open = sq_open,
	.free = sq_free,
	.schema_version = sq_schema_version,
	.write = sq_write,
	.get_row = sq_get_row,
	.list_rows = sq_list_rows,
	.repo_exists = sq_repo_exists,
	.blob_link = sq_blob_link,
	.blob_linked = sq_blob_linked,
	.blob_referenced = sq_blob_referenced,
	.manifest_store = sq_manifest_store,
	.manifest_get = sq_manifest_get,
	.manifest_delete = sq_manifest_delete,
	.tag_delete = sq_tag_delete,
	.tags = sq_tags,
	.catalog = sq_catalog,
	.upload_check = sq_upload_check,
	.member_set = sq_member_set,
	.copy_tables = sq_copy_tables,
	.copy_seeded = seeded_tables,
	.copy_columns = sq_copy_columns,
	.copy_parents = sq_copy_parents,
	.copy_export = sq_copy_export,
	.copy_sequence = sq_copy_sequence,
	.copy_begin = sq_copy_begin,
	.copy_clear = sq_copy_clear,
	.copy_insert = sq_copy_insert,
	.copy_sequence_set = sq_copy_sequence_set,
	.copy_end = sq_copy_end,
};

/* For tests (internal.h): the hot lookups by name, for plan checks. */
const char *berth_meta__sqlite_hot_sql(const char *name)
{
	int id = berth_meta__hot_stmt(name);

	return id < 0 ? NULL : sqls[id];
}
