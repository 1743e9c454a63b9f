/*
 * query.h - the metadata queries written once for every driver (private to
 * src/lib/meta).
 *
 * Most of the driver table's work is one statement with parameters: a write
 * that may hit a UNIQUE constraint or change no row, a lookup of one row, a
 * listing. Each driver runs those through three primitives (the driver
 * table's write, get_row and list_rows); the functions that only choose a
 * statement, its parameters and how its rows are read live once in
 * queries.c, and meta.c calls them directly. What differs between databases
 * (transactions of several dependent steps, RETURNING, upserts, BYTEA, the
 * copy between drivers) stays in each driver's table.
 *
 * Adding such a query: a Q_ id below, its SQL text in each driver's `sqls`
 * array (designated initializers, `[Q_X] = "..."`), and one function in
 * queries.c.
 */
#ifndef BERTH_META_QUERY_H
#define BERTH_META_QUERY_H

#include "lib/meta/internal.h"

/*
 * The statement ids of every driver. A driver that has no use for an id
 * leaves its SQL text NULL; running such an id is a programming error.
 */
enum {
	/* sqlite only: postgres sends these as simple queries (with_conn) */
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_REPO_ENSURE,
	Q_REPO_ID,
	Q_BLOB_INSERT,
	Q_REPO_BLOB_INSERT,
	Q_BLOB_LINKED,
	Q_BLOB_REPOS,
	Q_BLOB_UNLINK,
	Q_BLOB_REFERENCED,
	Q_MAN_INSERT,
	Q_MAN_REF_INSERT,
	Q_TAG_SET,
	Q_MAN_BY_TAG,
	Q_MAN_BY_DIGEST,
	Q_MAN_PARENTS,
	Q_REPO_BUMP,
	Q_MAN_DELETE,
	Q_TAG_DELETE,
	Q_TAGS,
	Q_CATALOG,
	Q_REFERRERS,
	Q_UPLOAD_CREATE,
	Q_UPLOAD_COUNT,
	Q_UPLOAD_CHECK,
	Q_UPLOAD_DELETE,
	Q_UPLOAD_STALE,
	Q_USER_CREATE,
	Q_USER_GET,
	Q_USER_BY_ID,
	Q_USER_SET_PASSWORD,
	Q_USER_SET_DISABLED,
	Q_USER_DELETE,
	Q_USERS,
	Q_PROJECT_CREATE,
	Q_PROJECT_GET,
	Q_PROJECT_ID,
	Q_PROJECT_SET_PUBLIC,
	Q_PROJECT_DELETE,
	Q_PROJECTS,
	Q_PROJECT_SET_KEYS,
	Q_PROJECT_KEYS,
	Q_POLICY_BUMP,
	Q_POLICY_GEN,
	Q_POLICIES,
	Q_GEN_GET,
	Q_GEN_BUMP_REPL,
	Q_MEMBER_SET,
	Q_MEMBER_GET,
	Q_MEMBER_DELETE,
	Q_MEMBERS,
	Q_ROBOT_CREATE,
	Q_ROBOT_GET,
	Q_ROBOT_DELETE,
	Q_ROBOT_SET_SECRET,
	Q_ROBOTS,
	Q_AUDIT_ADD,
	Q_AUDIT_LIST,
	Q_LOGIN_FAIL_ADD,
	Q_LOGIN_FAIL_PRUNE,
	Q_LOGIN_FAILS,
	Q_LOGIN_FAIL_CLEAR,
	Q_REPL_RULE_PUT,
	Q_REPL_RULE_DELETE,
	Q_REPL_RULES,
	Q_REPL_REGISTRY_PUT,
	Q_REPL_REGISTRY_DELETE,
	Q_REPL_REGISTRIES,
	Q_REPL_EXEC_START,
	Q_REPL_EXEC_FINISH,
	Q_REPL_EXECS,
	Q_REPL_EXECS_RULE,
	Q_REPL_EXECS_RUNNING,
	Q_REPL_RESULT_ADD,
	Q_REPL_RESULTS,
	Q_REPL_FIRED_GET,
	Q_REPL_FIRED_SET,
	Q_REPL_EVENT_ADD,
	Q_REPL_EVENTS,
	Q_REPL_EVENT_DELETE,
	Q_PING,
	Q_LEASE_TAKE,
	Q_LEASE_RELEASE,
	Q_REPL_FIRED_FIRST,
	Q_REPL_FIRED_MOVE,
	Q_REPL_EVENTS_FREE,
	Q_REPL_EVENT_CLAIM,
	Q_REPL_EXEC_HOLD,
	Q_REPL_EXECS_ORPHANED,
	Q_REPL_EXEC_INTERRUPT,
	Q_MIRROR_TAG_GET,
	Q_MIRROR_TAG_SET,
	Q_REPL_RETRY_SET,
	Q_REPL_RETRIES_DUE,
	Q_REPL_RETRY_TAKE,
	Q_MAN_REF_RELINK,
	Q_BLOB_MARKED,
	Q_GC_LINKS,
	Q_GC_UNLINK,
	Q_COUNT,
};

/*
 * A statement parameter. TEXT binds `s` (NULL is SQL NULL); INT binds `v`;
 * BIN binds `len` bytes at `s` (a BLOB, a BYTEA); BOOL binds `v` as the
 * database's boolean (SQLite 0/1, PostgreSQL true/false); LIMIT binds `v` as
 * a LIMIT's row count, a negative `v` meaning no limit (SQLite -1,
 * PostgreSQL NULL).
 */
enum {
	BERTH_META_PARAM_TEXT,
	BERTH_META_PARAM_INT,
	BERTH_META_PARAM_BIN,
	BERTH_META_PARAM_BOOL,
	BERTH_META_PARAM_LIMIT
};

typedef struct berth_meta_param {
	int kind;
	const char *s;
	int64_t v;
	size_t len;
} berth_meta_param;

#define PTEXT(x)                                                                                   \
	{                                                                                          \
		BERTH_META_PARAM_TEXT, (x), 0, 0                                                   \
	}
#define PINT(x)                                                                                    \
	{                                                                                          \
		BERTH_META_PARAM_INT, NULL, (int64_t)(x), 0                                        \
	}
#define PNULL                                                                                      \
	{                                                                                          \
		BERTH_META_PARAM_TEXT, NULL, 0, 0                                                  \
	}
#define PBIN(p, n)                                                                                 \
	{                                                                                          \
		BERTH_META_PARAM_BIN, (const char *)(p), 0, (n)                                    \
	}
#define PBOOL(x)                                                                                   \
	{                                                                                          \
		BERTH_META_PARAM_BOOL, NULL, (x) ? 1 : 0, 0                                        \
	}
#define PLIMIT(n)                                                                                  \
	{                                                                                          \
		BERTH_META_PARAM_LIMIT, NULL, (int64_t)(n), 0                                      \
	}
#define BERTH_META_PARAMS_MAX 8

/*
 * One write statement (the driver table's `write` runs a list of them in one
 * transaction). A UNIQUE (or primary key) violation becomes BERTH_EEXISTS
 * with `exists` (if set); no changed row becomes BERTH_ENOTFOUND with
 * `notfound` (if set). The messages are fixed text: neither names nor
 * hashes ever reach them. `what` names the step in a database error.
 */
typedef struct berth_meta_write {
	int stmt;
	const char *what;
	const char *exists;
	const char *notfound;
	berth_meta_param p[BERTH_META_PARAMS_MAX];
	int np;
	int64_t id;   /* out: the inserted row's id (SQLite's rowid, PostgreSQL's RETURNING id) */
	long changes; /* out: rows changed */
} berth_meta_write;

/*
 * The shared queries (queries.c). Each has the contract of the public
 * function of the same name in include/berth/meta.h, with arguments already
 * checked by meta.c.
 */
/* repositories and blobs */
int berth_meta__blob_repos(berth_meta *m, const berth_digest *d, berth_meta_repo_cb cb, void *ctx);
int berth_meta__blob_unlink(berth_meta *m, const char *repo, const berth_digest *d);

/* manifests */
int berth_meta__referrers(berth_meta *m, const char *repo, const berth_digest *subject,
			  const char *artifact_type, berth_meta_referrer_cb cb, void *ctx);

/* upload sessions */
int berth_meta__upload_create(berth_meta *m, const char *id, const char *repo, time_t started,
			      const char *account);
int berth_meta__upload_delete(berth_meta *m, const char *id);
int berth_meta__upload_stale(berth_meta *m, time_t cutoff, berth_meta_id_cb cb, void *ctx);
int berth_meta__upload_count(berth_meta *m, const char *repo, const char *account, long *in_repo,
			     long *of_account);

/* access control: users, projects, members, robots, audit, login failures */
int berth_meta__user_create(berth_meta *m, const char *name, const char *password_hash,
			    int sysadmin, int64_t *id_out);
int berth_meta__user_get(berth_meta *m, const char *name, berth_meta_user *out);
int berth_meta__user_get_by_id(berth_meta *m, int64_t id, berth_meta_user *out);
int berth_meta__user_set_password(berth_meta *m, const char *name, const char *password_hash);
int berth_meta__user_set_disabled(berth_meta *m, const char *name, int disabled);
int berth_meta__user_delete(berth_meta *m, const char *name);
int berth_meta__users(berth_meta *m, berth_meta_user_cb cb, void *ctx);
int berth_meta__project_create(berth_meta *m, const char *name, int public);
int berth_meta__project_get(berth_meta *m, const char *name, berth_meta_project *out);
int berth_meta__project_set_public(berth_meta *m, const char *name, int public);
int berth_meta__project_delete(berth_meta *m, const char *name);
int berth_meta__projects(berth_meta *m, berth_meta_project_cb cb, void *ctx);
int berth_meta__member_get(berth_meta *m, const char *project, const char *user, int *role);
int berth_meta__member_delete(berth_meta *m, const char *project, const char *user);
int berth_meta__members(berth_meta *m, const char *project, berth_meta_member_cb cb, void *ctx);
int berth_meta__project_set_signature_keys(berth_meta *m, const char *name, const char *keys);
int berth_meta__project_signature_keys(berth_meta *m, const char *name, struct berth_buf *out);
int berth_meta__policies(berth_meta *m, int64_t *generation, berth_meta_policy_cb cb, void *ctx);
int berth_meta__generation(berth_meta *m, const char *name, int64_t *value);
int berth_meta__manifest_parents(berth_meta *m, const char *repo, const berth_digest *d,
				 berth_meta_name_cb cb, void *ctx);
int berth_meta__robot_create(berth_meta *m, const char *name, const char *secret_hash,
			     time_t expires, const char *permissions);
int berth_meta__robot_get(berth_meta *m, const char *name, berth_meta_robot *out,
			  struct berth_buf *perms);
int berth_meta__robot_delete(berth_meta *m, const char *name);
int berth_meta__robot_set_secret(berth_meta *m, const char *name, const char *secret_hash);
int berth_meta__robots(berth_meta *m, berth_meta_robot_cb cb, void *ctx);
int berth_meta__audit_add(berth_meta *m, const berth_meta_audit *e);
int berth_meta__audit_list(berth_meta *m, int64_t before_id, long limit, berth_meta_audit_cb cb,
			   void *ctx);
int berth_meta__login_failure_add(berth_meta *m, const char *key, time_t now);
int berth_meta__login_failures(berth_meta *m, const char *key, time_t since, long *count,
			       time_t *last);
int berth_meta__login_failures_clear(berth_meta *m, const char *key);

/* replication */
int berth_meta__repl_rule_put(berth_meta *m, const char *name, const char *body);
int berth_meta__repl_rule_delete(berth_meta *m, const char *name);
int berth_meta__repl_rules(berth_meta *m, berth_meta_repl_rule_cb cb, void *ctx);
int berth_meta__repl_registry_put(berth_meta *m, const char *name, const char *body,
				  const char *secret);
int berth_meta__repl_registry_delete(berth_meta *m, const char *name);
int berth_meta__repl_registries(berth_meta *m, berth_meta_repl_registry_cb cb, void *ctx);
int berth_meta__repl_exec_start(berth_meta *m, const char *rule, const char *trigger,
				time_t started, int64_t *id);
int berth_meta__repl_exec_finish(berth_meta *m, int64_t id, const char *status, time_t ended,
				 const char *summary);
int berth_meta__repl_execs(berth_meta *m, const char *rule, int64_t before_id, long limit,
			   berth_meta_repl_exec_cb cb, void *ctx);
int berth_meta__repl_execs_running(berth_meta *m, berth_meta_repl_exec_cb cb, void *ctx);
int berth_meta__repl_result_add(berth_meta *m, const berth_meta_repl_result *r);
int berth_meta__repl_results(berth_meta *m, int64_t exec_id, berth_meta_repl_result_cb cb,
			     void *ctx);
int berth_meta__repl_fired_get(berth_meta *m, const char *rule, time_t *t);
int berth_meta__repl_fired_set(berth_meta *m, const char *rule, time_t t);
int berth_meta__repl_event_add(berth_meta *m, const berth_meta_repl_event *e);
int berth_meta__repl_events(berth_meta *m, int64_t after, long limit, berth_meta_repl_event_cb cb,
			    void *ctx);
int berth_meta__repl_event_delete(berth_meta *m, int64_t id);

/* several processes on one database (migration 6) */
int berth_meta__ping(berth_meta *m);
int berth_meta__lease_take(berth_meta *m, const char *name, const char *holder, time_t now,
			   long ttl, int *won);
int berth_meta__lease_release(berth_meta *m, const char *name, const char *holder);
int berth_meta__repl_fired_claim(berth_meta *m, const char *rule, time_t prev, time_t now,
				 int *won);
int berth_meta__repl_event_claim(berth_meta *m, const char *holder, time_t now, long limit,
				 berth_meta_repl_event_cb cb, void *ctx);
int berth_meta__repl_exec_hold(berth_meta *m, int64_t id, const char *holder);
int berth_meta__repl_execs_orphaned(berth_meta *m, time_t now, berth_meta_repl_exec_cb cb,
				    void *ctx);
int berth_meta__repl_exec_interrupt(berth_meta *m, int64_t id, time_t ended, const char *summary,
				    int *won);

/* pending retry runs (sqlite migration 8, postgres 3) */
int berth_meta__repl_retry_set(berth_meta *m, const char *rule, time_t at);
int berth_meta__repl_retries_due(berth_meta *m, time_t now, long limit, berth_meta_repl_retry_cb cb,
				 void *ctx);
int berth_meta__repl_retry_take(berth_meta *m, const char *rule, time_t at, int *won);

/* garbage collection from manifests (sqlite migration 9, postgres 5) */
/* 1 if a manifest lists `d` or a repository linked it at or after `cutoff`, else 0 */
int berth_meta__blob_marked(berth_meta *m, const berth_digest *d, time_t cutoff);
/*
 * Up to `limit` links made before `cutoff` that no manifest of their
 * repository lists, after (after_repo, after_digest) in (repo id,
 * digest) order (start with 0, "").
 */
int berth_meta__gc_links(berth_meta *m, time_t cutoff, int64_t after_repo, const char *after_digest,
			 long limit, berth_meta_gc_row_cb cb, void *ctx);
/* Drop that link if it still qualifies; *gone = 1 if it went. */
int berth_meta__gc_unlink(berth_meta *m, int64_t repo_id, const char *digest, time_t cutoff,
			  int *gone);

/* mirrors: when a tag last matched its upstream */
int berth_meta__mirror_tag_checked(berth_meta *m, const char *repo, const char *tag, time_t *t);
int berth_meta__mirror_tag_mark(berth_meta *m, const char *repo, const char *tag, time_t t);

/* For tests: the statement id of a hot lookup by name (berth_meta__*_hot_sql), or -1. */
int berth_meta__hot_stmt(const char *name);

#endif
