/*
 * postgres.c - the PostgreSQL driver of the metadata store (internal.h), on
 * libpq (loaded at first use, src/util/lazy_pq.c).
 *
 * Same contract as sqlite.c, function for function: the same error codes,
 * the same orderings (names compare as bytes: every name column is COLLATE
 * "C"), the same pagination (LIMIT n+1 tells whether more remain).
 *
 * Connections: a pool per berth_meta of at most `pool_size` connections,
 * opened on demand; each is used by one thread at a time (taken from the
 * pool for one call, returned after it). A thread waits for a free one.
 * Every connection sets statement_timeout, so no query holds a connection
 * forever. Statements are prepared once per connection on first use.
 *
 * Outages: a connection the server dropped (restart, failover) is closed and
 * the call retried once on a fresh connection; if PostgreSQL cannot be
 * reached the call fails with BERTH_EBUSY ("retry later": the registry
 * answers 503), and the next call connects again, so service comes back
 * without restarting berth. Serialization failures and deadlocks are
 * retried like SQLite's busy database; a statement timeout is BERTH_EBUSY.
 *
 * Listings run their query to the end and release the connection before
 * calling the caller's callback (which may call back into berth_meta).
 *
 * Schema: versioned migrations (`migrations`, version = index + 1) recorded
 * in schema_migrations, each in its own transaction under an advisory lock
 * so concurrent openers (processes) apply each version exactly once. The
 * schema is PostgreSQL's own: BIGINT identities, BYTEA bodies, TIMESTAMPTZ
 * times (the API's time_t converts in the queries), BOOLEAN flags, an index
 * for every lookup (named beside each query).
 */
#include "lib/meta/query.h"
#include "util/buf.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#define TX_RETRIES 5
#define LIST_MAX ((size_t)256 << 20)
/* How long a call waits for a free pooled connection (ms). */
#define POOL_WAIT_MS 30000
#define DSN_MAX 4096
/* The advisory lock key of migrations: "berthmig" in ASCII. */
#define MIGRATION_LOCK "7089063055669438823"

/* time_t <-> TIMESTAMPTZ in the queries. */
#define EPOCH(col) "extract(epoch from " col ")::bigint"

static const char *const migrations[] = {
	/* 1: everything the sqlite driver's migrations 1-5 hold, in PostgreSQL terms. */
	"CREATE TABLE repos ("
	"  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  name TEXT COLLATE \"C\" NOT NULL UNIQUE,"
	"  generation BIGINT NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE blobs ("
	"  digest TEXT PRIMARY KEY,"
	"  size BIGINT NOT NULL"
	");"
	"CREATE TABLE repo_blobs ("
	"  repo_id BIGINT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,"
	"  digest TEXT NOT NULL REFERENCES blobs(digest),"
	"  PRIMARY KEY (repo_id, digest)"
	");"
	"CREATE INDEX repo_blobs_digest ON repo_blobs(digest);"
	"CREATE TABLE manifests ("
	"  repo_id BIGINT NOT NULL REFERENCES repos(id) ON DELETE CASCADE,"
	"  digest TEXT COLLATE \"C\" NOT NULL,"
	"  media_type TEXT NOT NULL,"
	"  artifact_type TEXT,"
	"  annotations TEXT,"
	"  subject TEXT,"
	"  body BYTEA NOT NULL,"
	"  size BIGINT NOT NULL,"
	"  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
	"  PRIMARY KEY (repo_id, digest)"
	");"
	"CREATE INDEX manifests_subject ON manifests(repo_id, subject, digest)"
	"  WHERE subject IS NOT NULL;"
	"CREATE TABLE manifest_refs ("
	"  repo_id BIGINT NOT NULL,"
	"  digest TEXT COLLATE \"C\" NOT NULL,"
	"  ref TEXT NOT NULL,"
	"  PRIMARY KEY (repo_id, digest, ref),"
	"  FOREIGN KEY (repo_id, digest) REFERENCES manifests(repo_id, digest) ON DELETE CASCADE"
	");"
	"CREATE INDEX manifest_refs_ref ON manifest_refs(ref, repo_id);"
	"CREATE TABLE tags ("
	"  repo_id BIGINT NOT NULL,"
	"  name TEXT COLLATE \"C\" NOT NULL,"
	"  digest TEXT COLLATE \"C\" NOT NULL,"
	"  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
	"  PRIMARY KEY (repo_id, name),"
	"  FOREIGN KEY (repo_id, digest) REFERENCES manifests(repo_id, digest) ON DELETE CASCADE"
	");"
	"CREATE INDEX tags_digest ON tags(repo_id, digest);"
	"CREATE TABLE uploads ("
	"  id TEXT PRIMARY KEY,"
	"  repo TEXT NOT NULL,"
	"  started TIMESTAMPTZ NOT NULL,"
	"  account TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX uploads_started ON uploads(started);"
	"CREATE INDEX uploads_repo ON uploads(repo);"
	"CREATE INDEX uploads_account ON uploads(account) WHERE account <> '';"
	"CREATE TABLE users ("
	"  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  name TEXT COLLATE \"C\" NOT NULL UNIQUE,"
	"  password_hash TEXT NOT NULL,"
	"  sysadmin BOOLEAN NOT NULL DEFAULT false,"
	"  created TIMESTAMPTZ NOT NULL,"
	"  generation BIGINT NOT NULL DEFAULT 0,"
	"  disabled BOOLEAN NOT NULL DEFAULT false"
	");"
	/* lower() under the C collation folds ASCII only, as SQLite's NOCASE */
	"CREATE UNIQUE INDEX users_name_nocase ON users(lower(name));"
	"CREATE TABLE projects ("
	"  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  name TEXT COLLATE \"C\" NOT NULL UNIQUE,"
	"  public BOOLEAN NOT NULL DEFAULT false,"
	"  created TIMESTAMPTZ NOT NULL,"
	"  signature_keys TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX projects_policy ON projects(name) WHERE signature_keys <> '';"
	"CREATE TABLE members ("
	"  project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
	"  user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  role SMALLINT NOT NULL CHECK (role BETWEEN 1 AND 4),"
	"  PRIMARY KEY (project_id, user_id)"
	");"
	"CREATE INDEX members_user ON members(user_id);"
	"CREATE TABLE robots ("
	"  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  name TEXT COLLATE \"C\" NOT NULL UNIQUE,"
	"  secret_hash TEXT NOT NULL,"
	"  expires BIGINT NOT NULL DEFAULT 0,"
	"  created TIMESTAMPTZ NOT NULL,"
	"  permissions TEXT NOT NULL,"
	"  generation BIGINT NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE audit ("
	"  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  time TIMESTAMPTZ NOT NULL,"
	"  who TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  resource TEXT NOT NULL DEFAULT '',"
	"  address TEXT NOT NULL DEFAULT '',"
	"  result TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE TABLE login_failures ("
	"  key TEXT NOT NULL,"
	"  time TIMESTAMPTZ NOT NULL"
	");"
	"CREATE INDEX login_failures_key_time ON login_failures(key, time);"
	"CREATE TABLE generations ("
	"  name TEXT PRIMARY KEY,"
	"  value BIGINT NOT NULL"
	");"
	"INSERT INTO generations(name, value) VALUES ('policy', 0);"
	"CREATE TABLE repl_rules ("
	"  name TEXT COLLATE \"C\" PRIMARY KEY,"
	"  body TEXT NOT NULL,"
	"  updated TIMESTAMPTZ NOT NULL"
	");"
	"CREATE TABLE repl_registries ("
	"  name TEXT COLLATE \"C\" PRIMARY KEY,"
	"  body TEXT NOT NULL,"
	"  secret TEXT NOT NULL DEFAULT '',"
	"  updated TIMESTAMPTZ NOT NULL"
	");"
	"CREATE TABLE repl_execs ("
	"  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  rule TEXT NOT NULL,"
	"  trigger TEXT NOT NULL,"
	"  status TEXT NOT NULL,"
	"  started BIGINT NOT NULL,"
	"  ended BIGINT NOT NULL DEFAULT 0,"
	"  summary TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX repl_execs_rule ON repl_execs(rule, id);"
	"CREATE INDEX repl_execs_running ON repl_execs(id) WHERE status = 'running';"
	"CREATE TABLE repl_results ("
	"  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  exec_id BIGINT NOT NULL REFERENCES repl_execs(id) ON DELETE CASCADE,"
	"  artifact TEXT NOT NULL,"
	"  digest TEXT NOT NULL DEFAULT '',"
	"  status TEXT NOT NULL,"
	"  message TEXT NOT NULL DEFAULT '',"
	"  time BIGINT NOT NULL"
	");"
	"CREATE INDEX repl_results_exec ON repl_results(exec_id, id);"
	"CREATE TABLE repl_fired ("
	"  rule TEXT PRIMARY KEY,"
	"  time BIGINT NOT NULL"
	");"
	"CREATE TABLE repl_events ("
	"  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	"  rule TEXT NOT NULL,"
	"  repo TEXT NOT NULL,"
	"  reference TEXT NOT NULL,"
	"  deleted BOOLEAN NOT NULL,"
	"  time BIGINT NOT NULL"
	");",

	/*
	 * 2: several processes on one database (the sqlite driver's 6). A lease
	 * is a named row one process holds until it expires; events and
	 * executions record the process holding them, so a dead process's
	 * claims can be taken over.
	 */
	"CREATE TABLE leases ("
	"  name TEXT PRIMARY KEY,"
	"  holder TEXT NOT NULL,"
	"  expires TIMESTAMPTZ NOT NULL"
	");"
	"ALTER TABLE repl_events ADD COLUMN holder TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX repl_events_holder ON repl_events(holder, id);"
	"ALTER TABLE repl_execs ADD COLUMN holder TEXT NOT NULL DEFAULT '';",
	/*
	 * 3: the mirror's tag validations (the sqlite driver's 7): when a cached
	 * tag was last found to match its upstream (seconds since the epoch).
	 */
	"CREATE TABLE mirror_tags ("
	"  repo TEXT COLLATE \"C\" NOT NULL,"
	"  tag TEXT COLLATE \"C\" NOT NULL,"
	"  checked BIGINT NOT NULL,"
	"  PRIMARY KEY (repo, tag)"
	");",

	/*
	 * 4: replication retry runs asked for later (the sqlite driver's 8):
	 * one per rule, due at `at` (seconds since the epoch).
	 */
	"CREATE TABLE repl_retries ("
	"  rule TEXT PRIMARY KEY,"
	"  at BIGINT NOT NULL"
	");"
	"CREATE INDEX repl_retries_at ON repl_retries(at);",

	/*
	 * 5: garbage collection from manifests (the sqlite driver's 9): when a
	 * repository last linked each blob (seconds since the epoch); links
	 * made before this migration count from it.
	 */
	("ALTER TABLE repo_blobs ADD COLUMN linked_at BIGINT NOT NULL DEFAULT 0;"
	 "UPDATE repo_blobs SET linked_at = extract(epoch from now())::bigint;"),
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The tables the migrations above insert rows into (the driver's copy_seeded). */
static const char *const seeded_tables[] = {"generations", NULL};

#define MAN_POLICY_GEN " (SELECT value FROM generations WHERE name = 'policy')"
#define USER_SELECT                                                                                \
	"SELECT id, name, password_hash, sysadmin::int, " EPOCH(                                   \
		"created") ", generation,"                                                         \
			   " disabled::int FROM users"
#define ROBOT_SELECT                                                                               \
	"SELECT id, name, secret_hash, expires, " EPOCH("created") ", permissions, generation"     \
								   " FROM robots"
#define EXEC_SELECT "SELECT id, rule, trigger, status, started, ended, summary FROM repl_execs"

/* A holder's process lease is alive at $1 (leases_pkey). */
#define HOLDER_ALIVE(h)                                                                            \
	"EXISTS (SELECT 1 FROM leases WHERE name = '" BERTH_META_LEASE_PREFIX "' || " h            \
	" AND expires > to_timestamp($1))"

static const char *const sqls[Q_COUNT] = {
	/* repos_name_key (UNIQUE) */
	[Q_REPO_ENSURE] = "INSERT INTO repos(name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
	[Q_REPO_ID] = "SELECT id FROM repos WHERE name = $1",
	/* blobs_pkey; repo_blobs_pkey */
	[Q_BLOB_INSERT] = "INSERT INTO blobs(digest, size) VALUES ($1, $2) ON CONFLICT DO NOTHING",
	[Q_REPO_BLOB_INSERT] =
		"INSERT INTO repo_blobs(repo_id, digest, linked_at) VALUES ($1, $2, $3)"
		" ON CONFLICT (repo_id, digest) DO UPDATE SET linked_at = excluded.linked_at",
	[Q_BLOB_LINKED] = "SELECT b.size FROM repos r"
			  " JOIN repo_blobs rb ON rb.repo_id = r.id"
			  " JOIN blobs b ON b.digest = rb.digest"
			  " WHERE r.name = $1 AND rb.digest = $2",
	/* repo_blobs_digest */
	[Q_BLOB_REPOS] = "SELECT r.name, b.size FROM blobs b"
			 " JOIN repo_blobs rb ON rb.digest = b.digest"
			 " JOIN repos r ON r.id = rb.repo_id"
			 " WHERE b.digest = $1 ORDER BY r.name",
	[Q_BLOB_UNLINK] = "DELETE FROM repo_blobs"
			  " WHERE repo_id = (SELECT id FROM repos WHERE name = $1) AND digest = $2",
	/* GC's mark: repo_blobs_digest, manifest_refs_ref */
	[Q_BLOB_REFERENCED] = "SELECT (EXISTS (SELECT 1 FROM repo_blobs WHERE digest = $1)"
			      " OR EXISTS (SELECT 1 FROM manifest_refs WHERE ref = $1))::int",
	/* manifests_pkey; manifest_refs_pkey; tags_pkey */
	[Q_MAN_INSERT] = "INSERT INTO manifests(repo_id, digest, media_type, artifact_type,"
			 " annotations, subject, body, size)"
			 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
			 " ON CONFLICT (repo_id, digest) DO NOTHING",
	[Q_MAN_REF_INSERT] = "INSERT INTO manifest_refs(repo_id, digest, ref) VALUES ($1, $2, $3)"
			     " ON CONFLICT DO NOTHING",
	[Q_TAG_SET] = "INSERT INTO tags(repo_id, name, digest) VALUES ($1, $2, $3)"
		      " ON CONFLICT (repo_id, name) DO UPDATE SET digest = excluded.digest,"
		      " updated_at = now() WHERE tags.digest <> excluded.digest",
	/* the hot path: repos_name_key -> tags_pkey -> manifests_pkey */
	[Q_MAN_BY_TAG] =
		"SELECT m.digest, m.media_type, m.size, m.body, r.generation," MAN_POLICY_GEN
		" FROM repos r"
		" JOIN tags t ON t.repo_id = r.id"
		" JOIN manifests m ON m.repo_id = t.repo_id AND m.digest = t.digest"
		" WHERE r.name = $1 AND t.name = $2",
	[Q_MAN_BY_DIGEST] =
		"SELECT m.digest, m.media_type, m.size, m.body, r.generation," MAN_POLICY_GEN
		" FROM repos r JOIN manifests m ON m.repo_id = r.id"
		" WHERE r.name = $1 AND m.digest = $2",
	/* manifest_refs_ref */
	[Q_MAN_PARENTS] = "SELECT digest FROM manifest_refs"
			  " WHERE ref = $2 AND repo_id = (SELECT id FROM repos WHERE name = $1)",
	[Q_REPO_BUMP] = "UPDATE repos SET generation = generation + 1 WHERE name = $1",
	/* manifests_pkey; the cascade uses tags_digest and manifest_refs_pkey */
	[Q_MAN_DELETE] = "DELETE FROM manifests"
			 " WHERE repo_id = (SELECT id FROM repos WHERE name = $1) AND digest = $2",
	[Q_TAG_DELETE] = "DELETE FROM tags"
			 " WHERE repo_id = (SELECT id FROM repos WHERE name = $1) AND name = $2",
	/* tags_pkey range scan, in byte order */
	[Q_TAGS] = "SELECT name FROM tags WHERE repo_id = $1 AND name > $2 ORDER BY name LIMIT $3",
	/*
	 * repos_name_key range scan; one probe per repository into
	 * manifests_pkey / repo_blobs_pkey. (LATERAL ... LIMIT 1, not EXISTS ...
	 * OR EXISTS: the planner turned that into hashed subplans that read the
	 * whole manifests and repo_blobs tables for every page; unit/meta/plans.)
	 */
	[Q_CATALOG] = "SELECT r.name FROM repos r, LATERAL (SELECT 1 FROM manifests m"
		      " WHERE m.repo_id = r.id UNION ALL SELECT 1 FROM repo_blobs b"
		      " WHERE b.repo_id = r.id LIMIT 1) x"
		      " WHERE r.name > $1 ORDER BY r.name LIMIT $2",
	/* manifests_subject */
	[Q_REFERRERS] = "SELECT digest, media_type, size, artifact_type, annotations FROM manifests"
			" WHERE repo_id = (SELECT id FROM repos WHERE name = $1) AND subject = $2"
			" AND ($3::text IS NULL OR artifact_type = $3) ORDER BY digest",
	/* uploads_pkey, uploads_repo, uploads_account, uploads_started */
	[Q_UPLOAD_CREATE] = "INSERT INTO uploads(id, repo, started, account)"
			    " VALUES ($1, $2, to_timestamp($3), $4)",
	[Q_UPLOAD_COUNT] = "SELECT (SELECT count(*) FROM uploads WHERE repo = $1),"
			   " (SELECT count(*) FROM uploads WHERE $2::text <> '' AND account = $2)",
	[Q_UPLOAD_CHECK] = "SELECT 1 FROM uploads WHERE id = $1 AND repo = $2",
	[Q_UPLOAD_DELETE] = "DELETE FROM uploads WHERE id = $1",
	[Q_UPLOAD_STALE] =
		"SELECT id FROM uploads WHERE started < to_timestamp($1) ORDER BY started, id",
	/* users_name_key, users_pkey */
	[Q_USER_CREATE] = "INSERT INTO users(name, password_hash, sysadmin, created)"
			  " VALUES ($1, $2, $3, to_timestamp($4)) RETURNING id",
	[Q_USER_GET] = USER_SELECT " WHERE name = $1",
	[Q_USER_BY_ID] = USER_SELECT " WHERE id = $1",
	[Q_USER_SET_PASSWORD] = "UPDATE users SET password_hash = $2, generation = generation + 1"
				" WHERE name = $1",
	[Q_USER_SET_DISABLED] = "UPDATE users SET disabled = $2, generation = generation + 1"
				" WHERE name = $1",
	[Q_USER_DELETE] = "DELETE FROM users WHERE name = $1",
	[Q_USERS] = USER_SELECT " ORDER BY name",
	/* projects_name_key */
	[Q_PROJECT_CREATE] = "INSERT INTO projects(name, public, created)"
			     " VALUES ($1, $2, to_timestamp($3))",
	[Q_PROJECT_GET] =
		"SELECT id, name, public::int, " EPOCH("created") " FROM projects WHERE name = $1",
	[Q_PROJECT_ID] = "SELECT id FROM projects WHERE name = $1",
	[Q_PROJECT_SET_PUBLIC] = "UPDATE projects SET public = $2 WHERE name = $1",
	[Q_PROJECT_DELETE] = "DELETE FROM projects WHERE name = $1",
	[Q_PROJECTS] =
		"SELECT id, name, public::int, " EPOCH("created") " FROM projects ORDER BY name",
	/* projects_name_key; generations_pkey; projects_policy (partial) */
	[Q_PROJECT_SET_KEYS] = "UPDATE projects SET signature_keys = $2 WHERE name = $1",
	[Q_PROJECT_KEYS] = "SELECT signature_keys FROM projects WHERE name = $1",
	[Q_POLICY_BUMP] = "UPDATE generations SET value = value + 1 WHERE name = 'policy'",
	[Q_POLICY_GEN] = "SELECT value FROM generations WHERE name = 'policy'",
	/* a generation row appears at its first bump (no migration per name) */
	[Q_GEN_GET] = "SELECT value FROM generations WHERE name = $1",
	[Q_GEN_BUMP_REPL] =
		"INSERT INTO generations(name, value) VALUES ('" BERTH_META_GEN_REPLICATION
		"', 1) ON CONFLICT (name) DO UPDATE SET value = generations.value + 1",
	[Q_POLICIES] = "SELECT name, signature_keys FROM projects"
		       " WHERE signature_keys <> '' ORDER BY name",
	/* projects_name_key, users_name_key -> members_pkey */
	[Q_MEMBER_SET] = "INSERT INTO members(project_id, user_id, role)"
			 " SELECT p.id, u.id, $3 FROM projects p, users u"
			 " WHERE p.name = $1 AND u.name = $2"
			 " ON CONFLICT (project_id, user_id) DO UPDATE SET role = excluded.role",
	[Q_MEMBER_GET] = "SELECT m.role FROM projects p"
			 " JOIN members m ON m.project_id = p.id"
			 " JOIN users u ON u.id = m.user_id"
			 " WHERE p.name = $1 AND u.name = $2",
	[Q_MEMBER_DELETE] = "DELETE FROM members"
			    " WHERE project_id = (SELECT id FROM projects WHERE name = $1)"
			    " AND user_id = (SELECT id FROM users WHERE name = $2)",
	[Q_MEMBERS] = "SELECT u.name, m.role FROM members m JOIN users u ON u.id = m.user_id"
		      " WHERE m.project_id = $1 ORDER BY u.name",
	/* robots_name_key */
	[Q_ROBOT_CREATE] = "INSERT INTO robots(name, secret_hash, expires, created, permissions)"
			   " VALUES ($1, $2, $3, to_timestamp($4), $5)",
	[Q_ROBOT_GET] = ROBOT_SELECT " WHERE name = $1",
	[Q_ROBOT_DELETE] = "DELETE FROM robots WHERE name = $1",
	[Q_ROBOT_SET_SECRET] = "UPDATE robots SET secret_hash = $2, generation = generation + 1"
			       " WHERE name = $1",
	[Q_ROBOTS] = ROBOT_SELECT " ORDER BY name",
	/* audit_pkey, backwards */
	[Q_AUDIT_ADD] = "INSERT INTO audit(time, who, action, resource, address, result)"
			" VALUES (to_timestamp($1), $2, $3, $4, $5, $6)",
	[Q_AUDIT_LIST] =
		"SELECT id, " EPOCH("time") ", who, action, resource, address, result"
					    " FROM audit WHERE id < $1 ORDER BY id DESC LIMIT $2",
	/* login_failures_key_time */
	[Q_LOGIN_FAIL_ADD] = "INSERT INTO login_failures(key, time) VALUES ($1, to_timestamp($2))",
	[Q_LOGIN_FAIL_PRUNE] =
		"DELETE FROM login_failures WHERE key = $1 AND time < to_timestamp($2)",
	[Q_LOGIN_FAILS] = "SELECT count(*), coalesce(" EPOCH(
		"max(time)") ", 0) FROM login_failures"
			     " WHERE key = $1 AND time >= to_timestamp($2)",
	[Q_LOGIN_FAIL_CLEAR] = "DELETE FROM login_failures WHERE key = $1",
	/* repl_rules_pkey, repl_registries_pkey */
	[Q_REPL_RULE_PUT] =
		"INSERT INTO repl_rules(name, body, updated)"
		" VALUES ($1, $2, to_timestamp($3))"
		" ON CONFLICT (name) DO UPDATE SET body = $2, updated = to_timestamp($3)",
	[Q_REPL_RULE_DELETE] = "DELETE FROM repl_rules WHERE name = $1",
	[Q_REPL_RULES] = "SELECT name, body FROM repl_rules ORDER BY name",
	[Q_REPL_REGISTRY_PUT] =
		"INSERT INTO repl_registries(name, body, secret, updated)"
		" VALUES ($1, $2, $3, to_timestamp($4)) ON CONFLICT (name) DO UPDATE"
		" SET body = $2, secret = $3, updated = to_timestamp($4)",
	[Q_REPL_REGISTRY_DELETE] = "DELETE FROM repl_registries WHERE name = $1",
	[Q_REPL_REGISTRIES] = "SELECT name, body, secret FROM repl_registries ORDER BY name",
	/* repl_execs_pkey, repl_execs_rule, repl_execs_running */
	[Q_REPL_EXEC_START] = "INSERT INTO repl_execs(rule, trigger, status, started)"
			      " VALUES ($1, $2, 'running', $3) RETURNING id",
	[Q_REPL_EXEC_FINISH] = "UPDATE repl_execs SET status = $2, ended = $3, summary = $4"
			       " WHERE id = $1",
	[Q_REPL_EXECS] = EXEC_SELECT " WHERE id < $1 ORDER BY id DESC LIMIT $2",
	[Q_REPL_EXECS_RULE] = EXEC_SELECT " WHERE rule = $3 AND id < $1 ORDER BY id DESC LIMIT $2",
	[Q_REPL_EXECS_RUNNING] = EXEC_SELECT " WHERE status = 'running' ORDER BY id",
	/* repl_results_exec */
	[Q_REPL_RESULT_ADD] = "INSERT INTO repl_results(exec_id, artifact, digest, status, message,"
			      " time) VALUES ($1, $2, $3, $4, $5, $6)",
	[Q_REPL_RESULTS] = "SELECT exec_id, artifact, digest, status, message, time"
			   " FROM repl_results WHERE exec_id = $1 ORDER BY id",
	/* repl_fired_pkey; repl_events_pkey */
	[Q_REPL_FIRED_GET] = "SELECT time FROM repl_fired WHERE rule = $1",
	[Q_REPL_FIRED_SET] = "INSERT INTO repl_fired(rule, time) VALUES ($1, $2)"
			     " ON CONFLICT (rule) DO UPDATE SET time = $2",
	[Q_REPL_EVENT_ADD] = "INSERT INTO repl_events(rule, repo, reference, deleted, time)"
			     " VALUES ($1, $2, $3, $4, $5)",
	[Q_REPL_EVENTS] = "SELECT id, rule, repo, reference, deleted::int, time FROM repl_events"
			  " WHERE id > $1 ORDER BY id LIMIT $2",
	[Q_REPL_EVENT_DELETE] = "DELETE FROM repl_events WHERE id = $1",
	/* several processes (migration 2) */
	[Q_PING] = "SELECT value FROM generations WHERE name = 'policy'",
	/* leases_pkey: one atomic upsert decides who holds the lease */
	[Q_LEASE_TAKE] = "INSERT INTO leases(name, holder, expires)"
			 " VALUES ($1, $2, to_timestamp($3::bigint + $4::bigint))"
			 " ON CONFLICT (name) DO UPDATE SET holder = $2,"
			 " expires = to_timestamp($3::bigint + $4::bigint)"
			 " WHERE leases.expires <= to_timestamp($3) OR leases.holder = $2",
	[Q_LEASE_RELEASE] = "DELETE FROM leases WHERE name = $1 AND holder = $2",
	/* repl_fired_pkey: compare-and-set */
	[Q_REPL_FIRED_FIRST] = "INSERT INTO repl_fired(rule, time) VALUES ($1, $2)"
			       " ON CONFLICT (rule) DO NOTHING",
	[Q_REPL_FIRED_MOVE] = "UPDATE repl_fired SET time = $3 WHERE rule = $1 AND time = $2",
	/* repl_events_holder */
	[Q_REPL_EVENTS_FREE] = "UPDATE repl_events SET holder = '' WHERE holder > ''"
			       " AND NOT " HOLDER_ALIVE("repl_events.holder"),
	/* repl_events_holder; a row another claimer has locked is skipped, not waited for */
	[Q_REPL_EVENT_CLAIM] = "UPDATE repl_events SET holder = $1 WHERE id IN"
			       " (SELECT id FROM repl_events WHERE holder = '' ORDER BY id LIMIT 1"
			       " FOR UPDATE SKIP LOCKED)"
			       " RETURNING id, rule, repo, reference, deleted::int, time",
	[Q_REPL_EXEC_HOLD] = "UPDATE repl_execs SET holder = $2 WHERE id = $1",
	/* repl_execs_running (partial) */
	[Q_REPL_EXECS_ORPHANED] =
		"SELECT id, rule, trigger, status, started, ended, summary"
		" FROM repl_execs e WHERE status = 'running' AND NOT " HOLDER_ALIVE(
			"e.holder") " ORDER BY id",
	[Q_REPL_EXEC_INTERRUPT] = "UPDATE repl_execs SET status = 'interrupted', ended = $2,"
				  " summary = $3 WHERE id = $1 AND status = 'running'",
	/* mirror_tags_pkey (migration 3) */
	[Q_MIRROR_TAG_GET] = "SELECT checked FROM mirror_tags WHERE repo = $1 AND tag = $2",
	[Q_MIRROR_TAG_SET] = "INSERT INTO mirror_tags(repo, tag, checked) VALUES ($1, $2, $3)"
			     " ON CONFLICT (repo, tag) DO UPDATE SET checked = excluded.checked",
	/* repl_retries_pkey; repl_retries_at (migration 4) */
	[Q_REPL_RETRY_SET] = "INSERT INTO repl_retries(rule, at) VALUES ($1, $2)"
			     " ON CONFLICT(rule) DO UPDATE SET at = $2",
	[Q_REPL_RETRIES_DUE] = "SELECT rule, at FROM repl_retries WHERE at <= $1 ORDER BY at"
			       " LIMIT $2",
	[Q_REPL_RETRY_TAKE] = "DELETE FROM repl_retries WHERE rule = $1 AND at = $2",
	/* a stored manifest's blobs linked again, now (sqlite.c: S_MAN_REF_RELINK) */
	[Q_MAN_REF_RELINK] =
		"INSERT INTO repo_blobs(repo_id, digest, linked_at)"
		" SELECT $1::bigint, digest, $3::bigint FROM blobs WHERE digest = $2"
		" ON CONFLICT (repo_id, digest) DO UPDATE SET linked_at = excluded.linked_at",
	/* GC's mark: manifest_refs_ref, repo_blobs_digest */
	[Q_BLOB_MARKED] = "SELECT (EXISTS (SELECT 1 FROM manifest_refs WHERE ref = $1)"
			  " OR EXISTS (SELECT 1 FROM repo_blobs WHERE digest = $1"
			  " AND linked_at >= $2))::int",
	/* GC: a page of droppable links in repo_blobs_pkey order (sqlite.c: S_GC_LINKS) */
	[Q_GC_LINKS] = "SELECT rb.repo_id, r.name, rb.digest FROM repo_blobs rb"
		       " JOIN repos r ON r.id = rb.repo_id"
		       " WHERE (rb.repo_id, rb.digest) > ($2, $3) AND rb.linked_at < $1"
		       " AND NOT EXISTS (SELECT 1 FROM manifest_refs mr"
		       " WHERE mr.ref = rb.digest AND mr.repo_id = rb.repo_id)"
		       " ORDER BY rb.repo_id, rb.digest LIMIT $4",
	/* GC: the same conditions checked again as the link goes; repo_blobs_pkey */
	[Q_GC_UNLINK] =
		"DELETE FROM repo_blobs WHERE repo_id = $1 AND digest = $2 AND linked_at < $3"
		" AND NOT EXISTS (SELECT 1 FROM manifest_refs mr"
		" WHERE mr.ref = $2 AND mr.repo_id = $1)",
};

const char *berth_meta__pg_sql(size_t i)
{
	/* the i-th text of the ids this driver has */
	for (size_t id = 0; id < Q_COUNT; id++)
		if (sqls[id] && i-- == 0)
			return sqls[id];
	return NULL;
}

/* ---- pool ---- */

struct pg_conn {
	PGconn *pc;
	unsigned char prepared[Q_COUNT];
	struct pg_conn *next; /* on the idle list */
};

struct pg_db {
	char *dsn;
	int pool_size;
	long statement_timeout_ms;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct pg_conn *idle;
	int open; /* connections open or being opened, idle or in use */
	int version;
};

/*
 * Set the error from a failed result or connection. Connection loss and
 * "try again" states become BERTH_EBUSY; *broken tells the caller to drop
 * the connection. `unique` (optional) is set for a unique violation.
 */
static int pg_err(struct pg_conn *c, const PGresult *res, const char *what, int *broken,
		  int *unique)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : NULL;
	int code = BERTH_EIO;
	char text[256];
	size_t n;

	if (!msg || !*msg)
		msg = c && c->pc ? PQerrorMessage(c->pc) : "no connection";
	snprintf(text, sizeof(text), "%s", msg);
	n = strlen(text);
	while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
		text[--n] = 0;
	if (c && c->pc && PQstatus(c->pc) != CONNECTION_OK) {
		*broken = 1;
		code = BERTH_EBUSY;
	} else if (!state) {
		code = BERTH_EIO;
	} else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
		/* connection exception, admin shutdown, cannot connect now */
		*broken = 1;
		code = BERTH_EBUSY;
	} else if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
		   strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0) {
		/* serialization failure, deadlock, lock not available, statement timeout */
		code = BERTH_EBUSY;
	} else if (strcmp(state, "23505") == 0 && unique) {
		*unique = 1;
	}
	return berth_error_set(code, "metadata: %s: %s", what, text);
}

static void conn_close(struct pg_conn *c)
{
	if (!c)
		return;
	if (c->pc)
		PQfinish(c->pc);
	free(c);
}

static void quiet_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static int conn_open(struct pg_db *s, struct pg_conn **out)
{
	struct pg_conn *c = calloc(1, sizeof(*c));
	char sql[96];
	PGresult *res = NULL;
	int broken = 0, rc = 0;

	*out = NULL;
	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	c->pc = PQconnectdb(s->dsn);
	if (!c->pc || PQstatus(c->pc) != CONNECTION_OK) {
		rc = berth_error_set(BERTH_EBUSY, "metadata: cannot connect to PostgreSQL: %s",
				     c->pc ? PQerrorMessage(c->pc) : "out of memory");
		goto done;
	}
	PQsetNoticeProcessor(c->pc, quiet_notice, NULL);
	snprintf(sql, sizeof(sql), "SET statement_timeout = %ld; SET lock_timeout = %ld",
		 s->statement_timeout_ms, s->statement_timeout_ms);
	res = PQexec(c->pc, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		rc = pg_err(c, res, "set statement timeout", &broken, NULL);
		goto done;
	}
	*out = c;
	/* now owned by the caller */ c = NULL;
done:
	PQclear(res);
	conn_close(c);
	return rc;
}

/* Take a connection from the pool (waiting for one if all are in use), or open one. */
static int conn_take(struct pg_db *s, struct pg_conn **out)
{
	struct timespec until;
	struct pg_conn *c = NULL;
	int rc;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += POOL_WAIT_MS / 1000;
	pthread_mutex_lock(&s->lock);
	while (!s->idle && s->open >= s->pool_size) {
		if (pthread_cond_timedwait(&s->freed, &s->lock, &until) == ETIMEDOUT) {
			pthread_mutex_unlock(&s->lock);
			return berth_error_set(BERTH_EBUSY,
					       "metadata: every PostgreSQL connection of the pool "
					       "stayed busy");
		}
	}
	if (s->idle) {
		c = s->idle;
		s->idle = c->next;
		c->next = NULL;
	} else {
		s->open++;
	}
	pthread_mutex_unlock(&s->lock);
	if (c) {
		*out = c;
		return 0;
	}
	if ((rc = conn_open(s, out)) != 0) {
		pthread_mutex_lock(&s->lock);
		s->open--;
		pthread_cond_signal(&s->freed);
		pthread_mutex_unlock(&s->lock);
	}
	return rc;
}

/* Give a connection back; a broken one (or one left inside a transaction) is closed. */
static void conn_give(struct pg_db *s, struct pg_conn *c, int broken)
{
	if (!broken &&
	    (PQstatus(c->pc) != CONNECTION_OK || PQtransactionStatus(c->pc) != PQTRANS_IDLE))
		broken = 1;
	pthread_mutex_lock(&s->lock);
	if (broken) {
		s->open--;
	} else {
		c->next = s->idle;
		s->idle = c;
	}
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
	if (broken)
		conn_close(c);
}

/* ---- statements ---- */

/* Run cached statement `i` with parameters; *res gets the result on success. */
static int run(struct pg_conn *c, int i, const berth_meta_param *p, int np, PGresult **res,
	       int *broken, int *unique)
{
	const char *values[BERTH_META_PARAMS_MAX];
	char nums[BERTH_META_PARAMS_MAX][24];
	int lengths[BERTH_META_PARAMS_MAX], formats[BERTH_META_PARAMS_MAX];
	char name[16];
	PGresult *r;
	ExecStatusType st;

	*res = NULL;
	assert(sqls[i]); /* an id this driver has no SQL for */
	assert(np <= BERTH_META_PARAMS_MAX);
	snprintf(name, sizeof(name), "b%d", i);
	if (!c->prepared[i]) {
		r = PQprepare(c->pc, name, sqls[i], 0, NULL);
		if (PQresultStatus(r) != PGRES_COMMAND_OK) {
			int rc = pg_err(c, r, "prepare", broken, NULL);

			PQclear(r);
			return rc;
		}
		PQclear(r);
		c->prepared[i] = 1;
	}
	for (int k = 0; k < np; k++) {
		lengths[k] = 0;
		formats[k] = 0;
		switch (p[k].kind) {
		case BERTH_META_PARAM_INT:
			snprintf(nums[k], sizeof(nums[k]), "%" PRId64, p[k].v);
			values[k] = nums[k];
			break;
		case BERTH_META_PARAM_BIN:
			/* a zero-length BYTEA still needs a non-NULL pointer */
			values[k] = p[k].s ? p[k].s : "";
			lengths[k] = (int)p[k].len;
			formats[k] = 1;
			break;
		case BERTH_META_PARAM_BOOL: values[k] = p[k].v ? "true" : "false"; break;
		case BERTH_META_PARAM_LIMIT:
			/* LIMIT NULL is no limit */
			values[k] = NULL;
			if (p[k].v >= 0) {
				snprintf(nums[k], sizeof(nums[k]), "%" PRId64, p[k].v);
				values[k] = nums[k];
			}
			break;
		default: values[k] = p[k].s; break;
		}
	}
	r = PQexecPrepared(c->pc, name, np, values, lengths, formats, 0);
	st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		int rc = pg_err(c, r, "query", broken, unique);

		PQclear(r);
		return rc;
	}
	*res = r;
	return 0;
}

static int exec_simple(struct pg_conn *c, const char *sql, int *broken)
{
	PGresult *r = PQexec(c->pc, sql);
	int rc = 0;

	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_err(c, r, sql, broken, NULL);
	PQclear(r);
	return rc;
}

static long changes(PGresult *r)
{
	const char *n = PQcmdTuples(r);

	return n && *n ? strtol(n, NULL, 10) : 0;
}

/*
 * A unit of work on one connection: `fn` runs its statements; with `tx` in
 * a transaction (committed if fn returns 0, else rolled back). A dropped
 * connection is replaced and the work run once more; a serialization
 * failure or deadlock is retried a few times. *broken is fn's to set.
 */
typedef int (*work_fn)(struct pg_conn *c, void *arg, int *broken);

static int with_conn(struct pg_db *s, int tx, work_fn fn, void *arg)
{
	int rc = 0, reconnects = 0;

	for (int attempt = 0;; attempt++) {
		struct pg_conn *c = NULL;
		int broken = 0;

		if ((rc = conn_take(s, &c)) != 0)
			return rc;
		if (tx)
			rc = exec_simple(c, "BEGIN", &broken);
		if (rc == 0)
			rc = fn(c, arg, &broken);
		if (tx && rc == 0)
			rc = exec_simple(c, "COMMIT", &broken);
		if (rc != 0 && tx && !broken && PQtransactionStatus(c->pc) != PQTRANS_IDLE) {
			/* Keep fn's message: the rollback's own result does not matter. */
			char saved[512];
			int code = berth_error_last_code(), ignored = 0;

			snprintf(saved, sizeof(saved), "%s", berth_error_last());
			if (exec_simple(c, "ROLLBACK", &ignored) != 0)
				broken = 1;
			berth_error_set(code, "%s", saved);
		}
		conn_give(s, c, broken);
		if (rc == BERTH_EBUSY && broken && reconnects++ == 0)
			continue; /* the server dropped an idle connection: once more, fresh */
		if (rc != BERTH_EBUSY || broken || attempt >= TX_RETRIES)
			return rc;
		usleep(1000u * (unsigned)(attempt + 1));
	}
}

/* ---- the primitives of the shared queries (queries.c): writes, one row, a listing ---- */

/* One write statement inside a transaction (query.h, berth_meta_write). */
static int work_write(struct pg_conn *c, void *arg, int *broken)
{
	berth_meta_write *a = arg;
	PGresult *r = NULL;
	int unique = 0, rc;

	rc = run(c, a->stmt, a->p, a->np, &r, broken, &unique);
	if (rc != 0) {
		if (unique && a->exists)
			return berth_error_set(BERTH_EEXISTS, "%s", a->exists);
		return rc;
	}
	a->changes = changes(r);
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && PQnfields(r) > 0)
		a->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (!a->changes && a->notfound)
		return berth_error_set(BERTH_ENOTFOUND, "%s", a->notfound);
	return 0;
}

/* A list of write statements (the driver's `write`). */
struct writes {
	berth_meta_write *w;
	size_t n;
};

static int work_writes(struct pg_conn *c, void *arg, int *broken)
{
	struct writes *a = arg;
	int rc = 0;

	for (size_t i = 0; i < a->n && rc == 0; i++)
		rc = work_write(c, &a->w[i], broken);
	return rc;
}

static int pg_write(void *impl, berth_meta_write *w, size_t n)
{
	struct writes a = {w, n};

	return with_conn(impl, 1, work_writes, &a);
}

/* A query's whole result, fetched on a pooled connection released before use. */
struct query {
	int stmt;
	const berth_meta_param *p;
	int np;
	PGresult *res;
};

static int work_query(struct pg_conn *c, void *arg, int *broken)
{
	struct query *q = arg;

	return run(c, q->stmt, q->p, q->np, &q->res, broken, NULL);
}

static int query(void *impl, int stmt, const berth_meta_param *p, int np, PGresult **res)
{
	struct query q = {stmt, p, np, NULL};
	int rc = with_conn(impl, 0, work_query, &q);

	*res = q.res;
	return rc;
}

static const char *col_of(PGresult *r, int row, int k)
{
	return PQgetisnull(r, row, k) ? NULL : PQgetvalue(r, row, k);
}

/* The driver's get_row (internal.h). */
static int pg_get_row(void *impl, int stmt, const berth_meta_param *p, int np, int ncols,
		      berth_meta_fill_fn fill, void *out, void *extra, const char *notfound)
{
	const char *col[8];
	PGresult *r = NULL;
	int rc;

	if ((rc = query(impl, stmt, p, np, &r)) != 0)
		return rc;
	if (PQntuples(r) == 0) {
		rc = berth_error_set(BERTH_ENOTFOUND, "%s", notfound);
	} else if (out) {
		for (int k = 0; k < ncols && k < 8; k++)
			col[k] = col_of(r, 0, k);
		rc = fill(out, extra, col);
	}
	PQclear(r);
	return rc;
}

static int each_rows(PGresult *r, int first, int count, int ncols, berth_meta_each_fn each,
		     void *ctx)
{
	const char *col[8];

	for (int i = first; i < first + count; i++) {
		int ret;

		for (int k = 0; k < ncols && k < 8; k++)
			col[k] = col_of(r, i, k);
		if ((ret = each(ctx, col)) != 0)
			return berth_meta__cb_result(ret);
	}
	return 0;
}

static void wipe_result(PGresult *r)
{
	for (int i = 0; i < PQntuples(r); i++)
		for (int k = 0; k < PQnfields(r); k++)
			explicit_bzero(PQgetvalue(r, i, k), (size_t)PQgetlength(r, i, k));
}

/* The driver's list_rows (internal.h): the result is read after the connection went back. */
static int pg_list_rows(void *impl, int stmt, const berth_meta_param *p, int np, int ncols,
			int wipe, berth_meta_each_fn each, void *ctx)
{
	PGresult *r = NULL;
	int rc;

	if ((rc = query(impl, stmt, p, np, &r)) != 0)
		return rc;
	rc = each_rows(r, 0, PQntuples(r), ncols, each, ctx);
	if (wipe)
		wipe_result(r);
	PQclear(r);
	return rc;
}

/* ---- open, migrations ---- */

static int work_migrate(struct pg_conn *c, void *arg, int *broken)
{
	struct pg_db *s = arg;
	PGresult *r = NULL;
	long have;
	int rc;

	/* Serialise concurrent openers for the rest of this transaction. */
	if ((rc = exec_simple(c, "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")", broken)) !=
		    0 ||
	    (rc = exec_simple(c,
			      "CREATE TABLE IF NOT EXISTS schema_migrations ("
			      " version INTEGER PRIMARY KEY,"
			      " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
			      broken)) != 0)
		return rc;
	r = PQexec(c->pc, "SELECT coalesce(max(version), 0) FROM schema_migrations");
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = pg_err(c, r, "read schema version", broken, NULL);
		PQclear(r);
		return rc;
	}
	have = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (have > NMIGRATIONS)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "metadata: database schema version %ld is newer than this "
				       "berth supports (%d); upgrade berth",
				       have, NMIGRATIONS);
	for (int v = (int)have + 1; v <= NMIGRATIONS; v++) {
		char sql[96];

		snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations(version) VALUES (%d)", v);
		if ((rc = exec_simple(c, migrations[v - 1], broken)) != 0 ||
		    (rc = exec_simple(c, sql, broken)) != 0)
			return rc;
	}
	s->version = NMIGRATIONS;
	return 0;
}

static void pg_free(void *impl);

static int pg_open(void **impl, const char *target, const berth_meta_options *o)
{
	struct pg_db *s = NULL;
	int rc = 0;

	*impl = NULL;
	if (strnlen(target, DSN_MAX + 1) > DSN_MAX)
		return berth_error_set(BERTH_EINVALID,
				       "metadata: PostgreSQL DSN longer than %d bytes", DSN_MAX);
	s = calloc(1, sizeof(*s));
	if (!s)
		return berth_error_set(BERTH_ERROR, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->freed, NULL);
	s->pool_size = o && o->pool_size > 0 ? o->pool_size : BERTH_META_POOL_DEFAULT;
	s->statement_timeout_ms = o && o->statement_timeout_ms > 0
					  ? o->statement_timeout_ms
					  : BERTH_META_STATEMENT_TIMEOUT_DEFAULT;
	if (!(s->dsn = strdup(target))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = with_conn(s, 1, work_migrate, s)) != 0)
		goto done;
	*impl = s;
	/* now owned by the caller */ s = NULL;
done:
	pg_free(s);
	return rc;
}

static void pg_free(void *impl)
{
	struct pg_db *s = impl;

	if (!s)
		return;
	while (s->idle) {
		struct pg_conn *next = s->idle->next;

		conn_close(s->idle);
		s->idle = next;
	}
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free(s->dsn);
	free(s);
}

static int pg_schema_version(void *impl)
{
	return ((struct pg_db *)impl)->version;
}

/* ---- repositories and blobs ---- */

static int pg_repo_exists(void *impl, const char *repo)
{
	berth_meta_param p[] = {PTEXT(repo)};

	return pg_get_row(impl, Q_REPO_ID, p, 1, 0, NULL, NULL, NULL, "repository not found");
}

/* Id of `repo` inside a write transaction, creating its row if needed. */
static int repo_ensure(struct pg_conn *c, const char *repo, int64_t *id, int *broken)
{
	berth_meta_param p[] = {PTEXT(repo)};
	PGresult *r = NULL;
	int rc;

	if ((rc = run(c, Q_REPO_ENSURE, p, 1, &r, broken, NULL)) != 0)
		return rc;
	PQclear(r);
	if ((rc = run(c, Q_REPO_ID, p, 1, &r, broken, NULL)) != 0)
		return rc;
	if (PQntuples(r) == 1)
		*id = berth_meta__num(PQgetvalue(r, 0, 0));
	else
		rc = berth_error_set(BERTH_EIO, "metadata: repository row missing");
	PQclear(r);
	return rc;
}

static int run_discard(struct pg_conn *c, int stmt, const berth_meta_param *p, int np, int *broken,
		       long *n)
{
	PGresult *r = NULL;
	int rc = run(c, stmt, p, np, &r, broken, NULL);

	if (rc == 0 && n)
		*n = changes(r);
	PQclear(r);
	return rc;
}

struct link_args {
	const char *repo;
	const berth_digest *d;
	uint64_t size;
};

static int work_blob_link(struct pg_conn *c, void *arg, int *broken)
{
	struct link_args *a = arg;
	int64_t id = 0;
	int rc;

	if ((rc = repo_ensure(c, a->repo, &id, broken)) != 0)
		return rc;
	{
		berth_meta_param b[] = {PTEXT(a->d->str), PINT(a->size)};
		berth_meta_param l[] = {PINT(id), PTEXT(a->d->str), PINT(time(NULL))};

		if ((rc = run_discard(c, Q_BLOB_INSERT, b, 2, broken, NULL)) != 0)
			return rc;
		return run_discard(c, Q_REPO_BLOB_INSERT, l, 3, broken, NULL);
	}
}

static int pg_blob_link(void *impl, const char *repo, const berth_digest *d, uint64_t size)
{
	struct link_args a = {repo, d, size};

	return with_conn(impl, 1, work_blob_link, &a);
}

static int fill_u64(void *out, void *extra, const char *const *col)
{
	(void)extra;
	*(uint64_t *)out = (uint64_t)berth_meta__num(col[0]);
	return 0;
}

static int pg_blob_linked(void *impl, const char *repo, const berth_digest *d, uint64_t *size)
{
	berth_meta_param p[] = {PTEXT(repo), PTEXT(d->str)};
	uint64_t v = 0;
	int rc = pg_get_row(impl, Q_BLOB_LINKED, p, 2, 1, fill_u64, &v, NULL,
			    "blob not linked in the repository");

	if (rc == BERTH_ENOTFOUND)
		return berth_error_set(BERTH_ENOTFOUND, "blob %s not linked in the repository",
				       d->str);
	if (rc == 0 && size)
		*size = v;
	return rc;
}

static int pg_blob_referenced(void *impl, const berth_digest *d)
{
	berth_meta_param p[] = {PTEXT(d->str)};
	uint64_t v = 0;
	int rc = pg_get_row(impl, Q_BLOB_REFERENCED, p, 1, 1, fill_u64, &v, NULL,
			    "no answer to a blob reference check");

	return rc < 0 ? rc : v != 0;
}

/* ---- manifests and tags ---- */

static int repo_bump(struct pg_conn *c, const char *repo, int *broken)
{
	berth_meta_param p[] = {PTEXT(repo)};

	return run_discard(c, Q_REPO_BUMP, p, 1, broken, NULL);
}

static int work_manifest_store(struct pg_conn *c, void *arg, int *broken)
{
	const berth_meta_manifest_put *p = arg;
	int64_t id = 0;
	long inserted = 0;
	int rc;

	if ((rc = repo_ensure(c, p->repo, &id, broken)) != 0)
		return rc;
	{
		berth_meta_param m[] = {PINT(id),
					PTEXT(p->digest->str),
					PTEXT(p->media_type),
					PTEXT(p->artifact_type),
					PTEXT(p->annotations),
					PTEXT(p->subject ? p->subject->str : NULL),
					PBIN(p->body, p->body_len),
					PINT(p->body_len)};

		if ((rc = run_discard(c, Q_MAN_INSERT, m, 8, broken, &inserted)) != 0)
			return rc;
	}
	/* Same digest means same bytes, so an existing row already has its refs. */
	for (size_t i = 0; inserted && i < p->nrefs; i++) {
		berth_meta_param r[] = {PINT(id), PTEXT(p->digest->str), PTEXT(p->refs[i].str)};
		berth_meta_param l[] = {PINT(id), PTEXT(p->refs[i].str), PINT(time(NULL))};

		if ((rc = run_discard(c, Q_MAN_REF_INSERT, r, 3, broken, NULL)) != 0 ||
		    (rc = run_discard(c, Q_MAN_REF_RELINK, l, 3, broken, NULL)) != 0)
			return rc;
	}
	if (p->tag) {
		berth_meta_param t[] = {PINT(id), PTEXT(p->tag), PTEXT(p->digest->str)};

		if ((rc = run_discard(c, Q_TAG_SET, t, 3, broken, NULL)) != 0)
			return rc;
	}
	return repo_bump(c, p->repo, broken);
}

static int pg_manifest_store(void *impl, const berth_meta_manifest_put *p)
{
	return with_conn(impl, 1, work_manifest_store, (void *)p);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Append a BYTEA value in PostgreSQL's hex output ("\x0a1b...") to `out`. */
static int bytea_append(struct berth_buf *out, const char *text, size_t len)
{
	unsigned char chunk[1024];
	size_t n = 0;
	int rc;

	if (len < 2 || text[0] != '\\' || text[1] != 'x' || len % 2)
		return berth_error_set(BERTH_EIO, "metadata: manifest body not in hex format");
	for (size_t i = 2; i < len; i += 2) {
		int hi = hexval(text[i]), lo = hexval(text[i + 1]);

		if (hi < 0 || lo < 0)
			return berth_error_set(BERTH_EIO, "metadata: corrupt manifest body");
		chunk[n++] = (unsigned char)(hi << 4 | lo);
		if (n == sizeof(chunk)) {
			if ((rc = berth_buf_put(out, chunk, n)) != 0)
				return rc;
			n = 0;
		}
	}
	return n ? berth_buf_put(out, chunk, n) : 0;
}

static int pg_manifest_get(void *impl, const char *repo, const char *reference, int by_digest,
			   berth_meta_manifest *info, struct berth_buf *body)
{
	berth_meta_param p[] = {PTEXT(repo), PTEXT(reference)};
	PGresult *r = NULL;
	const char *dg;
	int rc;

	if ((rc = query(impl, by_digest ? Q_MAN_BY_DIGEST : Q_MAN_BY_TAG, p, 2, &r)) != 0)
		return rc;
	if (PQntuples(r) == 0) {
		rc = berth_error_set(BERTH_ENOTFOUND, "manifest not found");
		goto done;
	}
	if (info) {
		dg = PQgetvalue(r, 0, 0);
		if (berth_digest_parse(&info->digest, dg, strlen(dg)) != 0) {
			rc = berth_error_set(BERTH_EIO,
					     "metadata: stored manifest digest is corrupt");
			goto done;
		}
		snprintf(info->media_type, sizeof(info->media_type), "%s", PQgetvalue(r, 0, 1));
		info->size = (uint64_t)berth_meta__num(PQgetvalue(r, 0, 2));
		info->generation = berth_meta__num(PQgetvalue(r, 0, 4));
		info->policy_generation = berth_meta__num(PQgetvalue(r, 0, 5));
	}
	if (body)
		rc = bytea_append(body, PQgetvalue(r, 0, 3), (size_t)PQgetlength(r, 0, 3));
done:
	PQclear(r);
	return rc;
}

struct del_args {
	const char *repo;
	const char *key;
	int stmt;
	const char *what;
};

static int work_delete(struct pg_conn *c, void *arg, int *broken)
{
	struct del_args *a = arg;
	berth_meta_param p[] = {PTEXT(a->repo), PTEXT(a->key)};
	long n = 0;
	int rc;

	if ((rc = run_discard(c, a->stmt, p, 2, broken, &n)) != 0)
		return rc;
	if (!n)
		return berth_error_set(BERTH_ENOTFOUND, "%s not found", a->what);
	return repo_bump(c, a->repo, broken);
}

static int pg_manifest_delete(void *impl, const char *repo, const berth_digest *d)
{
	struct del_args a = {repo, d->str, Q_MAN_DELETE, "manifest"};

	return with_conn(impl, 1, work_delete, &a);
}

static int pg_tag_delete(void *impl, const char *repo, const char *tag)
{
	struct del_args a = {repo, tag, Q_TAG_DELETE, "tag"};

	return with_conn(impl, 1, work_delete, &a);
}

static int deliver_names(PGresult *r, long n, berth_meta_name_cb cb, void *ctx, int *more)
{
	berth_meta_list l = {.cb.name = cb, .ctx = ctx};
	int take = PQntuples(r);

	if (n >= 0 && take > n) {
		take = (int)n;
		if (more)
			*more = 1;
	}
	return each_rows(r, 0, take, 1, berth_meta__each_name, &l);
}

static int pg_tags(void *impl, const char *repo, const char *last, long n, berth_meta_name_cb cb,
		   void *ctx, int *more)
{
	berth_meta_param p[3] = {PTEXT(repo)};
	int64_t id = 0;
	PGresult *r = NULL;
	int rc;

	if ((rc = pg_get_row(impl, Q_REPO_ID, p, 1, 1, berth_meta__fill_int, &id, NULL,
			     "repository not found")) != 0)
		return rc;
	p[0] = (berth_meta_param)PINT(id);
	p[1] = (berth_meta_param)PTEXT(last ? last : "");
	p[2] = (berth_meta_param)PLIMIT(berth_meta__page_limit(n));
	if ((rc = query(impl, Q_TAGS, p, 3, &r)) != 0)
		return rc;
	rc = deliver_names(r, n, cb, ctx, more);
	PQclear(r);
	return rc;
}

static int pg_catalog(void *impl, const char *last, long n, berth_meta_name_cb cb, void *ctx,
		      int *more)
{
	berth_meta_param p[2] = {PTEXT(last ? last : ""), PLIMIT(berth_meta__page_limit(n))};
	PGresult *r = NULL;
	int rc;

	if ((rc = query(impl, Q_CATALOG, p, 2, &r)) != 0)
		return rc;
	rc = deliver_names(r, n, cb, ctx, more);
	PQclear(r);
	return rc;
}

/* ---- upload sessions ---- */

static int pg_upload_check(void *impl, const char *id, const char *repo)
{
	berth_meta_param p[] = {PTEXT(id), PTEXT(repo)};

	return pg_get_row(impl, Q_UPLOAD_CHECK, p, 2, 0, NULL, NULL, NULL,
			  "upload session not found");
}

/* ---- members ---- */

static int work_member_set(struct pg_conn *c, void *arg, int *broken)
{
	berth_meta_write *a = arg;
	berth_meta_param p[] = {PTEXT(a->p[0].s)};
	PGresult *r = NULL;
	int rc;

	if ((rc = work_write(c, a, broken)) != 0 || a->changes)
		return rc;
	/* Nothing inserted: say which side is missing (without naming it). */
	if ((rc = run(c, Q_PROJECT_ID, p, 1, &r, broken, NULL)) != 0)
		return rc;
	rc = berth_error_set(BERTH_ENOTFOUND, "%s",
			     PQntuples(r) ? "user not found" : "project not found");
	PQclear(r);
	return rc;
}

static int pg_member_set(void *impl, const char *project, const char *user, int role)
{
	berth_meta_write a = {
		.stmt = Q_MEMBER_SET,
		.what = "set member",
		.p = {PTEXT(project), PTEXT(user), PINT(role)},
		.np = 3,
	};

	return with_conn(impl, 1, work_member_set, &a);
}

/* ---- copying between drivers (copy.c) ---- */

/* The oid of table $1 of the current schema (the first of search_path). */
#define REL_OID(p)                                                                                 \
	"(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"              \
	" WHERE n.nspname = current_schema() AND c.relname = " p ")"
/* "schema"."table" of table $1, for the functions that take a name */
#define REL_NAME(p) "quote_ident(current_schema()) || '.' || quote_ident(" p ")"

/* How a column's values travel: by its type's name (pg_type.typname). */
enum { PGK_TEXT, PGK_INT, PGK_BOOL, PGK_TIME, PGK_BYTEA };

static int type_kind(const char *typname)
{
	static const struct {
		const char *name;
		int kind;
	} map[] = {{"int2", PGK_INT},	    {"int4", PGK_INT},	 {"int8", PGK_INT},
		   {"oid", PGK_INT},	    {"bool", PGK_BOOL},	 {"timestamptz", PGK_TIME},
		   {"timestamp", PGK_TIME}, {"bytea", PGK_BYTEA}};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, typname) == 0)
			return map[i].kind;
	return PGK_TEXT;
}

/* One catalog query with one text parameter, on connection c; the whole result. */
static int catalog_on(struct pg_conn *c, const char *sql, const char *arg, PGresult **res,
		      int *broken)
{
	PGresult *r = PQexecParams(c->pc, sql, arg ? 1 : 0, NULL, &arg, NULL, NULL, 0);

	*res = NULL;
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		int rc = pg_err(c, r, "read schema", broken, NULL);

		PQclear(r);
		return rc;
	}
	*res = r;
	return 0;
}

struct catalog_args {
	const char *sql;
	const char *arg;
	PGresult *res;
};

static int work_catalog(struct pg_conn *c, void *arg, int *broken)
{
	struct catalog_args *a = arg;

	return catalog_on(c, a->sql, a->arg, &a->res, broken);
}

static int pg_names(void *impl, const char *sql, const char *arg, const char *notfound,
		    berth_meta_name_cb cb, void *ctx)
{
	struct catalog_args a = {sql, arg, NULL};
	int rc;

	if ((rc = with_conn(impl, 0, work_catalog, &a)) != 0)
		return rc;
	if (PQntuples(a.res) == 0 && notfound)
		rc = berth_error_set(BERTH_ENOTFOUND, "%s", notfound);
	else
		rc = each_rows(a.res, 0, PQntuples(a.res), 1, berth_meta__each_name,
			       &(berth_meta_list){.cb.name = cb, .ctx = ctx});
	PQclear(a.res);
	return rc;
}

static int pg_copy_tables(void *impl, berth_meta_name_cb cb, void *ctx)
{
	return pg_names(impl,
			"SELECT c.relname FROM pg_class c JOIN pg_namespace n"
			" ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
			" AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.oid",
			NULL, NULL, cb, ctx);
}

#define COLUMNS_SQL                                                                                \
	"SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"     \
	" WHERE a.attrelid = " REL_OID("$1") " AND a.attnum > 0 AND NOT a.attisdropped"            \
					     " ORDER BY a.attnum"

static int pg_copy_columns(void *impl, const char *table, berth_meta_name_cb cb, void *ctx)
{
	return pg_names(impl, COLUMNS_SQL, table, "metadata: no such table", cb, ctx);
}

static int pg_copy_parents(void *impl, const char *table, berth_meta_name_cb cb, void *ctx)
{
	return pg_names(impl,
			"SELECT DISTINCT p.relname FROM pg_constraint k"
			" JOIN pg_class p ON p.oid = k.confrelid"
			" WHERE k.contype = 'f' AND k.conrelid = " REL_OID("$1"),
			table, NULL, cb, ctx);
}

/* The kinds of `cols` of `table` (from its catalog, on connection c). */
static int column_kinds(struct pg_conn *c, const char *table, const char *const *cols, size_t ncols,
			int *kinds, int *broken)
{
	PGresult *r = NULL;
	int rc;

	if ((rc = catalog_on(c, COLUMNS_SQL, table, &r, broken)) != 0)
		return rc;
	for (size_t i = 0; i < ncols && rc == 0; i++) {
		int found = 0;

		for (int k = 0; k < PQntuples(r) && !found; k++) {
			if (strcmp(PQgetvalue(r, k, 0), cols[i]) == 0) {
				kinds[i] = type_kind(PQgetvalue(r, k, 1));
				found = 1;
			}
		}
		if (!found)
			rc = berth_error_set(BERTH_EUNSUPPORTED,
					     "metadata: table %s has no column %s", table, cols[i]);
	}
	PQclear(r);
	return rc;
}

static int put_ident(berth_buf *b, const char *sep, const char *name)
{
	char q[2 * BERTH_META_COPY_NAME_MAX + 3];
	int rc;

	if ((rc = berth_meta__quote_ident(q, sizeof(q), name)) != 0)
		return rc;
	return berth_buf_printf(b, "%s%s", sep, q);
}

/* "SELECT <cells> FROM t ORDER BY <primary key, or every exported column>" */
static int pg_export_sql(struct pg_conn *c, const char *table, const char *const *cols,
			 size_t ncols, const int *kinds, berth_buf *sql, int *broken)
{
	PGresult *pk = NULL;
	int rc;

	if ((rc = berth_buf_puts(sql, "SELECT ")) != 0)
		return rc;
	for (size_t i = 0; i < ncols && rc == 0; i++) {
		const char *sep = i ? ", " : "";

		if (kinds[i] == PGK_TIME)
			rc = berth_buf_printf(sql, "%sextract(epoch from ", sep);
		else
			rc = berth_buf_puts(sql, sep);
		if (rc == 0)
			rc = put_ident(sql, "", cols[i]);
		if (rc == 0 && kinds[i] == PGK_TIME)
			rc = berth_buf_puts(sql, ")::bigint");
		else if (rc == 0 && kinds[i] == PGK_BOOL)
			rc = berth_buf_puts(sql, "::int");
	}
	if (rc == 0)
		rc = put_ident(sql, " FROM ", table);
	if (rc == 0)
		rc = catalog_on(
			c,
			"SELECT a.attname FROM pg_index i JOIN pg_attribute a"
			" ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
			" WHERE i.indrelid = " REL_OID(
				"$1") " AND i.indisprimary"
				      " ORDER BY array_position(i.indkey::int2[], a.attnum)",
			table, &pk, broken);
	for (int k = 0; rc == 0 && pk && k < PQntuples(pk); k++)
		rc = put_ident(sql, k ? ", " : " ORDER BY ", PQgetvalue(pk, k, 0));
	for (size_t i = 0; rc == 0 && pk && !PQntuples(pk) && i < ncols; i++)
		rc = put_ident(sql, i ? ", " : " ORDER BY ", cols[i]);
	PQclear(pk);
	return rc;
}

/* Row `row` of r as cells (BYTEA decoded into `bytes`). */
static int cells_of(PGresult *r, int row, size_t ncols, const int *kinds, berth_meta_cell *cells,
		    berth_buf *bytes)
{
	size_t *at = calloc(ncols, sizeof(*at));
	int rc = 0;

	if (!at)
		return berth_error_set(BERTH_ERROR, "out of memory");
	berth_buf_reset(bytes);
	for (size_t i = 0; i < ncols && rc == 0; i++) {
		const char *v = PQgetvalue(r, row, (int)i);
		size_t len = (size_t)PQgetlength(r, row, (int)i);

		memset(&cells[i], 0, sizeof(cells[i]));
		if (PQgetisnull(r, row, (int)i)) {
			cells[i].kind = BERTH_META_CELL_NULL;
		} else if (kinds[i] == PGK_INT || kinds[i] == PGK_BOOL || kinds[i] == PGK_TIME) {
			cells[i].kind = BERTH_META_CELL_INT;
			cells[i].i = strtoll(v, NULL, 10);
		} else if (kinds[i] == PGK_BYTEA) {
			cells[i].kind = BERTH_META_CELL_BLOB;
			at[i] = bytes->len;
			rc = bytea_append(bytes, v, len);
			cells[i].len = bytes->len - at[i];
		} else {
			cells[i].kind = BERTH_META_CELL_TEXT;
			cells[i].p = v;
			cells[i].len = len;
		}
	}
	/* the buffer may have moved while it grew */
	for (size_t i = 0; i < ncols && rc == 0; i++)
		if (kinds[i] == PGK_BYTEA && cells[i].kind == BERTH_META_CELL_BLOB)
			cells[i].p = bytes->ptr + at[i];
	free(at);
	return rc;
}

/* Stream the export's rows one at a time (libpq's single-row mode). */
static int stream_rows(struct pg_conn *c, const char *sql, size_t ncols, const int *kinds,
		       berth_meta_row_cb cb, void *ctx, int *broken)
{
	berth_meta_cell cells[BERTH_META_COPY_COLUMNS_MAX];
	berth_buf bytes = BERTH_BUF_INIT(0);
	PGresult *r;
	int rc = 0, stop = 0;

	if (!PQsendQueryParams(c->pc, sql, 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(c->pc))
		return pg_err(c, NULL, "export", broken, NULL);
	while ((r = PQgetResult(c->pc)) != NULL) {
		ExecStatusType st = PQresultStatus(r);

		if (st == PGRES_SINGLE_TUPLE && !stop && rc == 0) {
			int ret;

			if ((size_t)PQnfields(r) != ncols)
				rc = berth_error_set(BERTH_EIO, "metadata: export shape");
			else if ((rc = cells_of(r, 0, ncols, kinds, cells, &bytes)) == 0 &&
				 (ret = cb(ctx, cells, ncols)) != 0) {
				stop = 1;
				rc = berth_meta__cb_result(ret);
			}
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && rc == 0) {
			rc = pg_err(c, r, "export", broken, NULL);
		}
		PQclear(r); /* the rest of a stopped query is read and dropped */
	}
	berth_buf_dispose(&bytes);
	return rc;
}

static int pg_copy_export(void *impl, const char *table, const char *const *cols, size_t ncols,
			  berth_meta_row_cb cb, void *ctx)
{
	int kinds[BERTH_META_COPY_COLUMNS_MAX];
	berth_buf sql = BERTH_BUF_INIT(1 << 16);
	struct pg_conn *c = NULL;
	int rc, broken = 0;

	if (ncols == 0 || ncols > BERTH_META_COPY_COLUMNS_MAX)
		return berth_error_set(BERTH_EINVALID, "metadata: %zu columns to copy", ncols);
	/* no retry on a fresh connection: rows already passed on would come twice */
	if ((rc = conn_take(impl, &c)) != 0)
		return rc;
	if ((rc = column_kinds(c, table, cols, ncols, kinds, &broken)) == 0 &&
	    (rc = pg_export_sql(c, table, cols, ncols, kinds, &sql, &broken)) == 0)
		rc = stream_rows(c, sql.ptr, ncols, kinds, cb, ctx, &broken);
	conn_give(impl, c, broken);
	berth_buf_dispose(&sql);
	return rc;
}

/* The identity column of table $1 and its sequence ("schema"."seq"). */
#define IDENTITY_SQL                                                                               \
	"SELECT a.attname, pg_get_serial_sequence(" REL_NAME(                                      \
		"$1") ", a.attname),"                                                              \
		      " coalesce(pg_sequence_last_value(pg_get_serial_sequence(" REL_NAME(         \
			      "$1") ", a.attname)::regclass), 0)"                                  \
				    " FROM pg_attribute a WHERE a.attrelid = " REL_OID(            \
					    "$1") " AND a.attidentity <> '' AND NOT "              \
						  "a.attisdropped"                                 \
						  " ORDER BY a.attnum LIMIT 1"

static int pg_copy_sequence(void *impl, const char *table, int64_t *last)
{
	struct catalog_args a = {IDENTITY_SQL, table, NULL};
	int rc;

	*last = 0;
	if ((rc = with_conn(impl, 0, work_catalog, &a)) != 0)
		return rc;
	if (PQntuples(a.res) == 0)
		rc = berth_error_set(BERTH_ENOTFOUND, "metadata: table has no id sequence");
	else
		*last = strtoll(PQgetvalue(a.res, 0, 2), NULL, 10);
	PQclear(a.res);
	return rc;
}

/* A copy's transaction: one pooled connection held from begin to end. */
struct pg_copy {
	struct pg_db *s;
	struct pg_conn *c;
	int broken;
	int serial; /* of the prepared insert, "copy<serial>" */
	char table[BERTH_META_COPY_NAME_MAX + 1];
	int kinds[BERTH_META_COPY_COLUMNS_MAX];
};

static int pg_copy_begin(void *impl, void **tx)
{
	struct pg_copy *t = calloc(1, sizeof(*t));
	int rc;

	*tx = NULL;
	if (!t)
		return berth_error_set(BERTH_ERROR, "out of memory");
	t->s = impl;
	if ((rc = conn_take(impl, &t->c)) != 0) {
		free(t);
		return rc;
	}
	if ((rc = exec_simple(t->c, "BEGIN", &t->broken)) != 0) {
		conn_give(impl, t->c, 1);
		free(t);
		return rc;
	}
	*tx = t;
	return 0;
}

static int pg_copy_clear(void *tx, const char *table)
{
	struct pg_copy *t = tx;
	berth_buf sql = BERTH_BUF_INIT(1 << 10);
	int rc;

	if ((rc = put_ident(&sql, "DELETE FROM ", table)) == 0)
		rc = exec_simple(t->c, sql.ptr, &t->broken);
	berth_buf_dispose(&sql);
	return rc;
}

static int pg_prepare_insert(struct pg_copy *t, const char *table, const char *const *cols,
			     size_t ncols)
{
	berth_buf sql = BERTH_BUF_INIT(1 << 16);
	char name[32];
	PGresult *r = NULL;
	int rc;

	t->table[0] = 0;
	if ((rc = column_kinds(t->c, table, cols, ncols, t->kinds, &t->broken)) != 0 ||
	    (rc = put_ident(&sql, "INSERT INTO ", table)) != 0)
		goto done;
	for (size_t i = 0; i < ncols && rc == 0; i++)
		rc = put_ident(&sql, i ? ", " : " (", cols[i]);
	if (rc == 0)
		rc = berth_buf_puts(&sql, ") OVERRIDING SYSTEM VALUE VALUES (");
	for (size_t i = 0; i < ncols && rc == 0; i++) {
		static const char *const form[] = {
			[PGK_TEXT] = "%s$%zu",
			[PGK_INT] = "%s$%zu::bigint",
			[PGK_BOOL] = "%s($%zu::bigint <> 0)",
			[PGK_TIME] = "%sto_timestamp($%zu::bigint)",
			[PGK_BYTEA] = "%s$%zu::bytea",
		};

		rc = berth_buf_printf(&sql, form[t->kinds[i]], i ? ", " : "", i + 1);
	}
	if (rc == 0)
		rc = berth_buf_puts(&sql, ")");
	if (rc != 0)
		goto done;
	snprintf(name, sizeof(name), "copy%d", ++t->serial);
	r = PQprepare(t->c->pc, name, sql.ptr, 0, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		rc = pg_err(t->c, r, "prepare copy", &t->broken, NULL);
		goto done;
	}
	snprintf(t->table, sizeof(t->table), "%s", table);
done:
	PQclear(r);
	berth_buf_dispose(&sql);
	return rc;
}

static int pg_copy_insert(void *tx, const char *table, const char *const *cols, size_t ncols,
			  const berth_meta_cell *cells)
{
	struct pg_copy *t = tx;
	const char *values[BERTH_META_COPY_COLUMNS_MAX];
	int lengths[BERTH_META_COPY_COLUMNS_MAX], formats[BERTH_META_COPY_COLUMNS_MAX];
	char nums[BERTH_META_COPY_COLUMNS_MAX][24], name[32];
	berth_buf text = BERTH_BUF_INIT(0);
	size_t at[BERTH_META_COPY_COLUMNS_MAX];
	PGresult *r = NULL;
	int rc = 0;

	if (ncols == 0 || ncols > BERTH_META_COPY_COLUMNS_MAX)
		return berth_error_set(BERTH_EINVALID, "metadata: %zu columns to copy", ncols);
	if (strcmp(t->table, table) != 0 && (rc = pg_prepare_insert(t, table, cols, ncols)) != 0)
		return rc;
	/* text parameters need a NUL: copied into one buffer, pointers set after */
	for (size_t i = 0; i < ncols && rc == 0; i++) {
		const berth_meta_cell *v = &cells[i];

		values[i] = NULL;
		lengths[i] = 0;
		formats[i] = 0;
		at[i] = SIZE_MAX;
		if (v->kind == BERTH_META_CELL_INT) {
			snprintf(nums[i], sizeof(nums[i]), "%" PRId64, v->i);
			values[i] = nums[i];
		} else if (v->kind != BERTH_META_CELL_NULL && t->kinds[i] == PGK_BYTEA) {
			values[i] = v->p ? v->p : "";
			lengths[i] = (int)v->len;
			formats[i] = 1;
		} else if (v->kind != BERTH_META_CELL_NULL) {
			if (v->len && memchr(v->p, 0, v->len))
				rc = berth_error_set(
					BERTH_EINVALID,
					"metadata: a text value of %s holds a NUL byte", table);
			at[i] = text.len;
			if (rc == 0 && (rc = berth_buf_put(&text, v->p ? v->p : "", v->len)) == 0)
				rc = berth_buf_put(&text, "", 1);
		}
	}
	for (size_t i = 0; i < ncols && rc == 0; i++)
		if (at[i] != SIZE_MAX)
			values[i] = text.ptr + at[i];
	if (rc == 0) {
		snprintf(name, sizeof(name), "copy%d", t->serial);
		r = PQexecPrepared(t->c->pc, name, (int)ncols, values, lengths, formats, 0);
		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = pg_err(t->c, r, "copy row", &t->broken, NULL);
	}
	PQclear(r);
	berth_buf_dispose(&text);
	return rc;
}

static int pg_copy_sequence_set(void *tx, const char *table, int64_t last)
{
	struct pg_copy *t = tx;
	berth_buf sql = BERTH_BUF_INIT(1 << 12);
	PGresult *id = NULL, *r = NULL;
	char lastv[24];
	const char *v[2];
	int rc;

	if ((rc = catalog_on(t->c, IDENTITY_SQL, table, &id, &t->broken)) != 0)
		return rc;
	if (PQntuples(id) == 0) {
		rc = berth_error_set(BERTH_ENOTFOUND, "metadata: table has no id sequence");
		goto done;
	}
	/* continue after the higher of the source's last id and the highest copied one */
	snprintf(lastv, sizeof(lastv), "%" PRId64, last);
	v[0] = PQgetvalue(id, 0, 1);
	v[1] = lastv;
	if ((rc = berth_buf_puts(&sql, "SELECT setval($1::regclass, greatest($2::bigint, m, 1),"
				       " greatest($2::bigint, m) >= 1) FROM (SELECT max(")) != 0 ||
	    (rc = put_ident(&sql, "", PQgetvalue(id, 0, 0))) != 0 ||
	    (rc = put_ident(&sql, ") AS m FROM ", table)) != 0 ||
	    (rc = berth_buf_puts(&sql, ") x")) != 0)
		goto done;
	r = PQexecParams(t->c->pc, sql.ptr, 2, NULL, v, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		rc = pg_err(t->c, r, "set sequence", &t->broken, NULL);
done:
	PQclear(r);
	PQclear(id);
	berth_buf_dispose(&sql);
	return rc;
}

static int pg_copy_end(void *tx, int commit)
{
	struct pg_copy *t = tx;
	int rc = 0, ignored = 0;

	if (!t)
		return 0;
	if (commit && !t->broken)
		rc = exec_simple(t->c, "COMMIT", &t->broken);
	else if (commit)
		rc = berth_error_set(BERTH_EIO, "metadata: copy connection lost");
	if (!t->broken && PQtransactionStatus(t->c->pc) != PQTRANS_IDLE &&
	    exec_simple(t->c, "ROLLBACK", &ignored) != 0)
		t->broken = 1;
	/* the prepared inserts go with the connection: close it */
	conn_give(t->s, t->c, 1);
	free(t);
	return rc;
}

const berth_meta_driver berth_meta__pg_driver = {
	.scheme = "postgres",
	.full_location = 1,
	.open = pg_open,
	.free = pg_free,
	.schema_version = pg_schema_version,
	.write = pg_write,
	.get_row = pg_get_row,
	.list_rows = pg_list_rows,
	.repo_exists = pg_repo_exists,
	.blob_link = pg_blob_link,
	.blob_linked = pg_blob_linked,
	.blob_referenced = pg_blob_referenced,
	.manifest_store = pg_manifest_store,
	.manifest_get = pg_manifest_get,
	.manifest_delete = pg_manifest_delete,
	.tag_delete = pg_tag_delete,
	.tags = pg_tags,
	.catalog = pg_catalog,
	.upload_check = pg_upload_check,
	.member_set = pg_member_set,
	.copy_tables = pg_copy_tables,
	.copy_seeded = seeded_tables,
	.copy_columns = pg_copy_columns,
	.copy_parents = pg_copy_parents,
	.copy_export = pg_copy_export,
	.copy_sequence = pg_copy_sequence,
	.copy_begin = pg_copy_begin,
	.copy_clear = pg_copy_clear,
	.copy_insert = pg_copy_insert,
	.copy_sequence_set = pg_copy_sequence_set,
	.copy_end = pg_copy_end,
};

/* For tests (internal.h): the hot lookups by name, for plan checks. */
const char *berth_meta__pg_hot_sql(const char *name)
{
	int id = berth_meta__hot_stmt(name);

	return id < 0 ? NULL : sqls[id];
}
