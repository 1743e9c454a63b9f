/*
 * berth/meta.h - registry metadata: repositories, blob links, manifests,
 * tags, referrers and upload sessions; and for access control users,
 * projects, members, robot accounts, the audit log and failed logins.
 *
 * A driver table behind one API: `sqlite` (WAL mode, synchronous FULL,
 * versioned migrations in a schema_migrations table) and `postgres` (libpq,
 * a connection pool per process, its own migrations; docs/postgres.md), with
 * the same semantics function for function. Every lookup is served by an
 * index.
 *
 * Thread safety: one berth_meta is shared by all threads; each thread gets
 * its own database connection (opened lazily) with cached prepared
 * statements, so concurrent readers never contend on a lock in berth.
 *
 * Manifest bytes are kept in the metadata store itself (exactly as received)
 * so that a manifest GET is one indexed query.
 *
 * Conventions for every function below:
 *   - 0 on success, BERTH_ENOTFOUND for absent things, BERTH_EINVALID for an
 *     empty or oversized name (repository 1024 bytes, tag 256, media type
 *     255), BERTH_EBUSY if the database stayed locked by other writers past
 *     the busy timeout and retries, BERTH_EIO (with SQLite's message) for
 *     anything else. Messages never contain the caller's names.
 *   - Listing callbacks run after the query has finished, so they may call
 *     back into the same berth_meta (even to write). A callback returning
 *     non-zero stops the listing; a negative value is returned as the
 *     listing's result, a positive one means "stop, success" (0).
 *   - berth_meta_free must only be called once no other thread uses `m`.
 */
#ifndef BERTH_META_H
#define BERTH_META_H

#include "berth/buf.h"
#include "berth/common.h"
#include "berth/digest.h"

#include <stdint.h>
#include <time.h>

typedef struct berth_meta berth_meta;

/**
 * Open metadata at `location`: a SQLite file path, or "sqlite://<path>".
 * Creates the database and runs pending migrations (each in its own
 * transaction, recorded in schema_migrations; safe with concurrent openers).
 * BERTH_EUNSUPPORTED for another scheme or a schema newer than this build;
 * BERTH_EINVALID for ":memory:" (each thread opens its own connection).
 */
int berth_meta_open(berth_meta **out, const char *location) BERTH_WARN_UNUSED;

/* Defaults of berth_meta_options (docs/postgres.md). */
#define BERTH_META_POOL_DEFAULT 8
#define BERTH_META_STATEMENT_TIMEOUT_DEFAULT 30000 /* ms */

typedef struct berth_meta_options {
	int pool_size;		   /* postgres: connections per process (0: default) */
	long statement_timeout_ms; /* postgres: per statement (0: default) */
} berth_meta_options;

/**
 * berth_meta_open with options (NULL: defaults). Locations besides SQLite's:
 * "postgres://..." or "postgresql://..." (a libpq URI, given to libpq whole)
 * and "postgres:<keyword DSN>" ("postgres:host=db dbname=registry"): the
 * `postgres` driver, a pool of `pool_size` connections each with
 * `statement_timeout_ms`. PostgreSQL unreachable (at open or later, e.g.
 * during a restart): BERTH_EBUSY, and a later call connects again.
 */
int berth_meta_open_opts(berth_meta **out, const char *location,
			 const berth_meta_options *o) BERTH_WARN_UNUSED;
void berth_meta_free(berth_meta *m);

/** Schema version after migrations (for tests and `berth version`). */
int berth_meta_schema_version(berth_meta *m);

/* ---- repositories and blobs ---- */

/**
 * 0 if the repository exists (has ever had content: a blob link or manifest,
 * even if since removed), else BERTH_ENOTFOUND.
 */
int berth_meta_repo_exists(berth_meta *m, const char *repo) BERTH_WARN_UNUSED;

/**
 * Record that blob `d` of `size` bytes is present in `repo` (after a push or
 * mount). Creates the repository row if needed. Idempotent.
 */
int berth_meta_blob_link(berth_meta *m, const char *repo, const berth_digest *d,
			 uint64_t size) BERTH_WARN_UNUSED;

/** 0 and the size if blob `d` is linked in `repo`; BERTH_ENOTFOUND otherwise. */
int berth_meta_blob_linked(berth_meta *m, const char *repo, const berth_digest *d,
			   uint64_t *size) BERTH_WARN_UNUSED;

/**
 * Call `cb` for each repository in which blob `d` is linked (for mounts),
 * in name order, until it returns non-zero. BERTH_ENOTFOUND if none.
 */
typedef int (*berth_meta_repo_cb)(void *ctx, const char *repo, uint64_t size);
int berth_meta_blob_repos(berth_meta *m, const berth_digest *d, berth_meta_repo_cb cb,
			  void *ctx) BERTH_WARN_UNUSED;

/**
 * Whether blob `d` is still wanted: 1 if some repository links it or some
 * manifest lists it (the mark of the garbage collector), 0 if not, or a
 * negative code.
 */
int berth_meta_blob_referenced(berth_meta *m, const berth_digest *d) BERTH_WARN_UNUSED;

/**
 * The mark of the garbage collector (docs/gc.md): 1 if blob `d` is wanted
 * (some manifest lists it, or some repository linked it at or after
 * `cutoff`: a push whose manifest is not there yet), 0 if not, or a
 * negative code. Any thread.
 */
int berth_meta_blob_marked(berth_meta *m, const berth_digest *d, time_t cutoff) BERTH_WARN_UNUSED;

/**
 * Garbage collection from manifests: drop every repository blob link made
 * (or last refreshed: a push, a mount, a manifest listing the blob) before
 * `cutoff` that no manifest of its repository lists, calling
 * `cb(ctx, repo, digest)` for each link dropped (with `dry_run`, for each
 * that would be, and nothing is dropped). Each deletion checks both
 * conditions again in its own statement, so a link made or listed meanwhile
 * stays. A non-zero `cb` stops the walk (a negative value is returned).
 * Returns 0 or a negative code (database errors).
 */
typedef int (*berth_meta_link_cb)(void *ctx, const char *repo, const char *digest);
int berth_meta_gc_links(berth_meta *m, time_t cutoff, int dry_run, berth_meta_link_cb cb,
			void *ctx) BERTH_WARN_UNUSED;

/** Remove the link of blob `d` from `repo`; BERTH_ENOTFOUND if not linked. */
int berth_meta_blob_unlink(berth_meta *m, const char *repo,
			   const berth_digest *d) BERTH_WARN_UNUSED;

/* ---- manifests and tags ---- */

typedef struct berth_meta_manifest_put {
	const char *repo;
	const berth_digest *digest;
	const char *media_type;
	const char *artifact_type; /* referrer artifact type, may be NULL */
	const char *annotations;   /* JSON object text, may be NULL */
	const void *body;
	size_t body_len;
	const berth_digest *subject; /* may be NULL */
	const char *tag;	     /* may be NULL: push by digest */
	/* what the manifest references (config+layers, or child manifests) */
	const berth_digest *refs;
	size_t nrefs;
} berth_meta_manifest_put;

/**
 * Store a manifest (and its tag, references and referrer edge) in one
 * transaction. Re-putting the same digest is idempotent; a tag moves.
 */
int berth_meta_manifest_store(berth_meta *m, const berth_meta_manifest_put *p) BERTH_WARN_UNUSED;

typedef struct berth_meta_manifest {
	berth_digest digest;
	char media_type[256];
	uint64_t size;
	/*
	 * Read in the same query, for verdicts cached about the manifest (the
	 * signature policy): `generation` grows with every manifest or tag
	 * written or deleted in the repository, `policy_generation` with every
	 * change of any project's signature keys. Shared by all processes.
	 */
	int64_t generation;
	int64_t policy_generation;
} berth_meta_manifest;

/**
 * Look up a manifest by tag or digest (`reference` is tried as a digest if it
 * contains ':'). Fills `info` if non-NULL; appends the bytes to `body` if
 * non-NULL (BERTH_ETOOBIG past body->max). BERTH_ENOTFOUND if absent in
 * `repo`. One indexed query; allocates nothing but the body append.
 */
int berth_meta_manifest_get(berth_meta *m, const char *repo, const char *reference,
			    berth_meta_manifest *info, struct berth_buf *body) BERTH_WARN_UNUSED;

/**
 * Delete manifest `d` from `repo` with its tags and its referrer edge.
 * BERTH_ENOTFOUND if absent.
 */
int berth_meta_manifest_delete(berth_meta *m, const char *repo,
			       const berth_digest *d) BERTH_WARN_UNUSED;

/** Delete one tag (the manifest stays). BERTH_ENOTFOUND if absent. */
int berth_meta_tag_delete(berth_meta *m, const char *repo, const char *tag) BERTH_WARN_UNUSED;

/**
 * List names in lexical (byte) order, strictly after `last` (NULL = from the
 * start), at most `n` (n < 0 = no limit). `cb` is called per name; `*more`
 * (optional) is set to 1 if names remain after the last one returned.
 *
 * berth_meta_tags: BERTH_ENOTFOUND if `repo` does not exist (never had
 * content); a repository without tags lists nothing and returns 0.
 * berth_meta_catalog: the repositories that currently hold at least one
 * manifest or blob link (as Distribution lists repositories with content).
 */
typedef int (*berth_meta_name_cb)(void *ctx, const char *name);
int berth_meta_tags(berth_meta *m, const char *repo, const char *last, long n,
		    berth_meta_name_cb cb, void *ctx, int *more) BERTH_WARN_UNUSED;
int berth_meta_catalog(berth_meta *m, const char *last, long n, berth_meta_name_cb cb, void *ctx,
		       int *more) BERTH_WARN_UNUSED;

/**
 * Call `cb` with the digest of each manifest of `repo` that lists `d` (the
 * indexes it is a child of), in no particular order. None: returns 0.
 */
int berth_meta_manifest_parents(berth_meta *m, const char *repo, const berth_digest *d,
				berth_meta_name_cb cb, void *ctx) BERTH_WARN_UNUSED;

/* ---- referrers ---- */

typedef struct berth_meta_referrer {
	const char *digest;
	const char *media_type;
	uint64_t size;
	const char *artifact_type; /* may be NULL */
	const char *annotations;   /* JSON object text, may be NULL */
} berth_meta_referrer;

/**
 * Call `cb` for each manifest in `repo` whose subject is `subject`, filtered
 * by `artifact_type` if non-NULL, ordered by digest. An unknown repository
 * or subject simply has no referrers (returns 0). The strings in `r` are
 * valid only during the callback.
 */
typedef int (*berth_meta_referrer_cb)(void *ctx, const berth_meta_referrer *r);
int berth_meta_referrers(berth_meta *m, const char *repo, const berth_digest *subject,
			 const char *artifact_type, berth_meta_referrer_cb cb,
			 void *ctx) BERTH_WARN_UNUSED;

/* ---- upload sessions ---- */

/**
 * Record upload `id` for `repo`, opened by `account` (a principal's name;
 * NULL or "" when access control is off); BERTH_EEXISTS if the id is taken.
 */
int berth_meta_upload_create(berth_meta *m, const char *id, const char *repo, time_t started,
			     const char *account) BERTH_WARN_UNUSED;
/**
 * Open upload sessions of `repo` (*in_repo) and of `account` (*of_account,
 * 0 when `account` is NULL or ""), for the caps on both.
 */
int berth_meta_upload_count(berth_meta *m, const char *repo, const char *account, long *in_repo,
			    long *of_account) BERTH_WARN_UNUSED;
/** 0 if upload `id` belongs to `repo`; BERTH_ENOTFOUND otherwise. */
int berth_meta_upload_check(berth_meta *m, const char *id, const char *repo) BERTH_WARN_UNUSED;
/** Forget upload `id`; BERTH_ENOTFOUND if absent. */
int berth_meta_upload_delete(berth_meta *m, const char *id) BERTH_WARN_UNUSED;
/** Call `cb` with the id of each upload started strictly before `cutoff`, oldest first. */
typedef int (*berth_meta_id_cb)(void *ctx, const char *id);
int berth_meta_upload_stale(berth_meta *m, time_t cutoff, berth_meta_id_cb cb,
			    void *ctx) BERTH_WARN_UNUSED;

/* ---- access control: users, projects, members, robots ----
 *
 * Schema migration 2. Caps (BERTH_EINVALID beyond them, or when empty):
 * user, project and robot names BERTH_META_NAME_MAX bytes, password and
 * secret hashes 127, robot permissions 64 KiB. Creating a name that is taken gives
 * BERTH_EEXISTS; naming an absent user, project, robot or membership gives
 * BERTH_ENOTFOUND. Messages never contain names or hashes. Listings are in
 * name order, follow the listing callback convention above, and the structs
 * passed to callbacks are valid only during the call.
 */

/* The longest user, project or robot name (also htpasswd's and the CLI's). */
#define BERTH_META_NAME_MAX 255

typedef struct berth_meta_user {
	int64_t id;
	char name[BERTH_META_NAME_MAX + 1];
	char password_hash[128];
	int sysadmin;
	time_t created;
	int64_t generation; /* grows with each password change and (dis|en)abling */
	int disabled;	    /* 1: no login, no token */
} berth_meta_user;

/** Create a user; `id_out` optional. BERTH_EEXISTS if the name is taken. */
int berth_meta_user_create(berth_meta *m, const char *name, const char *password_hash, int sysadmin,
			   int64_t *id_out) BERTH_WARN_UNUSED;
/** Fill `out` (optional: NULL checks existence). BERTH_ENOTFOUND if absent. */
int berth_meta_user_get(berth_meta *m, const char *name, berth_meta_user *out) BERTH_WARN_UNUSED;
int berth_meta_user_get_by_id(berth_meta *m, int64_t id, berth_meta_user *out) BERTH_WARN_UNUSED;
/** Replace the user's password hash and bump their generation. BERTH_ENOTFOUND if absent. */
int berth_meta_user_set_password(berth_meta *m, const char *name,
				 const char *password_hash) BERTH_WARN_UNUSED;
/** Disable (1) or enable (0) a user and bump their generation. BERTH_ENOTFOUND if absent. */
int berth_meta_user_set_disabled(berth_meta *m, const char *name, int disabled) BERTH_WARN_UNUSED;
/** Delete a user and their memberships. BERTH_ENOTFOUND if absent. */
int berth_meta_user_delete(berth_meta *m, const char *name) BERTH_WARN_UNUSED;
typedef int (*berth_meta_user_cb)(void *ctx, const berth_meta_user *u);
/** All users in name order. */
int berth_meta_users(berth_meta *m, berth_meta_user_cb cb, void *ctx) BERTH_WARN_UNUSED;

typedef struct berth_meta_project {
	int64_t id;
	char name[256];
	int public;
	time_t created;
} berth_meta_project;

/** Create a project (`public` 0/1). BERTH_EEXISTS if the project exists. */
int berth_meta_project_create(berth_meta *m, const char *name, int public) BERTH_WARN_UNUSED;
/** Fill `out` (optional). BERTH_ENOTFOUND if absent. */
int berth_meta_project_get(berth_meta *m, const char *name,
			   berth_meta_project *out) BERTH_WARN_UNUSED;
/** BERTH_ENOTFOUND if absent. */
int berth_meta_project_set_public(berth_meta *m, const char *name, int public) BERTH_WARN_UNUSED;
/** Delete a project with its memberships (its repositories stay). BERTH_ENOTFOUND if absent. */
int berth_meta_project_delete(berth_meta *m, const char *name) BERTH_WARN_UNUSED;
typedef int (*berth_meta_project_cb)(void *ctx, const berth_meta_project *p);
/** All projects in name order. */
int berth_meta_projects(berth_meta *m, berth_meta_project_cb cb, void *ctx) BERTH_WARN_UNUSED;

/* ---- the signature policy (schema migration 4) ---- */

/* The longest signature key list of a project (PEM text). */
#define BERTH_META_SIGNATURE_KEYS_MAX (64 * 1024)

/**
 * Set the public keys (PEM blocks, concatenated; "" or NULL: no policy) a
 * manifest pulled from the project must be signed by, and bump the policy
 * generation in the same transaction. The text is stored as given (the
 * caller checks it parses). BERTH_ENOTFOUND if no such project.
 */
int berth_meta_project_set_signature_keys(berth_meta *m, const char *project,
					  const char *keys) BERTH_WARN_UNUSED;
/** Append the project's signature keys ("" for none) to `out`. BERTH_ENOTFOUND if absent. */
int berth_meta_project_signature_keys(berth_meta *m, const char *project,
				      struct berth_buf *out) BERTH_WARN_UNUSED;
/**
 * The policy generation into *generation (read first), then `cb` for each
 * project that has signature keys, in name order.
 */
typedef int (*berth_meta_policy_cb)(void *ctx, const char *project, const char *keys);
int berth_meta_policies(berth_meta *m, int64_t *generation, berth_meta_policy_cb cb,
			void *ctx) BERTH_WARN_UNUSED;

/* The longest generation name. */
#define BERTH_META_GEN_NAME_MAX 64

/**
 * The generation named `name` into *value: a number kept in the database
 * that grows with every change of the settings it names, in the transaction
 * of the change (one row; "policy": the projects' signature keys, also
 * returned with each manifest; BERTH_META_GEN_REPLICATION). Processes that
 * cache those settings compare it to the one they loaded. 0 for a name
 * never bumped. Cheap: one primary-key lookup. BERTH_EINVALID for an empty
 * name or one longer than BERTH_META_GEN_NAME_MAX.
 */
int berth_meta_generation(berth_meta *m, const char *name, int64_t *value) BERTH_WARN_UNUSED;

/**
 * Set a user's role (1 guest .. 4 admin, as berth_role) in a project; creates
 * or replaces. BERTH_EINVALID for another role; BERTH_ENOTFOUND if the
 * project or the user does not exist.
 */
int berth_meta_member_set(berth_meta *m, const char *project, const char *user,
			  int role) BERTH_WARN_UNUSED;
/** The user's role in the project; BERTH_ENOTFOUND if not a member. */
int berth_meta_member_get(berth_meta *m, const char *project, const char *user,
			  int *role) BERTH_WARN_UNUSED;
/** Remove a membership; BERTH_ENOTFOUND if the user is not a member. */
int berth_meta_member_delete(berth_meta *m, const char *project,
			     const char *user) BERTH_WARN_UNUSED;
typedef int (*berth_meta_member_cb)(void *ctx, const char *user, int role);
/** The project's members in user name order; BERTH_ENOTFOUND if no such project. */
int berth_meta_members(berth_meta *m, const char *project, berth_meta_member_cb cb,
		       void *ctx) BERTH_WARN_UNUSED;

typedef struct berth_meta_robot {
	int64_t id;
	char name[256]; /* without the "robot$" prefix */
	char secret_hash[128];
	time_t expires; /* 0 = never */
	time_t created;
	const char *permissions; /* JSON array text; borrowed from the caller's buffer */
	int64_t generation;	 /* grows with each secret rotation */
} berth_meta_robot;

/** Create a robot; `permissions` is JSON array text. BERTH_EEXISTS if taken. */
int berth_meta_robot_create(berth_meta *m, const char *name, const char *secret_hash,
			    time_t expires, const char *permissions) BERTH_WARN_UNUSED;
/**
 * Fill `out` (optional); its permissions text is appended to `perms`
 * (out->permissions points into it; NULL if `perms` is NULL). BERTH_ETOOBIG
 * past perms->max; BERTH_ENOTFOUND if absent. Expiry is the caller's check.
 */
int berth_meta_robot_get(berth_meta *m, const char *name, berth_meta_robot *out,
			 struct berth_buf *perms) BERTH_WARN_UNUSED;
/** BERTH_ENOTFOUND if absent. */
int berth_meta_robot_delete(berth_meta *m, const char *name) BERTH_WARN_UNUSED;
/** Replace a robot's secret hash and bump its generation. BERTH_ENOTFOUND if absent. */
int berth_meta_robot_set_secret(berth_meta *m, const char *name,
				const char *secret_hash) BERTH_WARN_UNUSED;
typedef int (*berth_meta_robot_cb)(void *ctx, const berth_meta_robot *r);
/** All robots in name order; r->permissions points into berth's row buffer. */
int berth_meta_robots(berth_meta *m, berth_meta_robot_cb cb, void *ctx) BERTH_WARN_UNUSED;

/* ---- audit log ---- */

typedef struct berth_meta_audit {
	int64_t id; /* assigned on insert */
	time_t time;
	const char *who;    /* user name, "robot$x" or "anonymous" */
	const char *action; /* "push", "pull", "delete", "login_failure", "user_create", ... */
	const char *resource;
	const char *address;
	const char *result; /* "ok", "denied", ... */
} berth_meta_audit;

/**
 * Append a record: one INSERT (e->id is ignored; e->time 0 means now). `who`
 * and `action` are required; resource, address and result may be NULL and
 * are then listed as "". Caps: who 512 bytes, action and result 128,
 * resource 4096, address 256 (BERTH_EINVALID beyond).
 */
int berth_meta_audit_add(berth_meta *m, const berth_meta_audit *e) BERTH_WARN_UNUSED;
typedef int (*berth_meta_audit_cb)(void *ctx, const berth_meta_audit *e);
/**
 * Newest first, ids below `before_id` (0 = from the newest), at most `limit`
 * (< 0 = no limit). Ids are never reused. The strings are valid only during
 * the callback.
 */
int berth_meta_audit_list(berth_meta *m, int64_t before_id, long limit, berth_meta_audit_cb cb,
			  void *ctx) BERTH_WARN_UNUSED;

/* ---- failed logins (throttling, shared by all processes) ---- */

/**
 * Record a failure for `key` ("user:<name>" or "addr:<ip>", at most 1024
 * bytes) at `now`; in the same transaction, forget that key's failures older
 * than an hour before `now`, so the table stays small.
 */
int berth_meta_login_failure_add(berth_meta *m, const char *key, time_t now) BERTH_WARN_UNUSED;
/** Failures for `key` at or after `since`, and the time of the last one (`last` optional). */
int berth_meta_login_failures(berth_meta *m, const char *key, time_t since, long *count,
			      time_t *last) BERTH_WARN_UNUSED;
/** Forget the failures of `key` (after a successful login). */
int berth_meta_login_failures_clear(berth_meta *m, const char *key) BERTH_WARN_UNUSED;

/* ---- replication (schema migration 5) ----
 *
 * Rules created through the API (their JSON text), executions and their
 * per-artifact results, each rule's last scheduled firing (so a run missed
 * while the server was down happens once at start), and the durable queue
 * of push/delete events for event-based rules. Text caps: rule names
 * BERTH_META_NAME_MAX, rule bodies and summaries BERTH_META_REPL_TEXT_MAX,
 * artifacts, references and messages 4096 bytes (BERTH_EINVALID beyond).
 * Listings follow the callback convention above.
 */

#define BERTH_META_REPL_TEXT_MAX (256 * 1024)

/*
 * The generation of the replication settings: the rules and registries
 * created through the API. Every write below bumps it in the transaction of
 * the change, so a process holding the set in memory reloads it when the
 * number it reads (berth_meta_generation) differs from the one it loaded.
 */
#define BERTH_META_GEN_REPLICATION "replication"

/** Create or replace the API rule `name` with its JSON text; bumps the generation. */
int berth_meta_repl_rule_put(berth_meta *m, const char *name, const char *body) BERTH_WARN_UNUSED;
/** BERTH_ENOTFOUND if absent; bumps the generation. */
int berth_meta_repl_rule_delete(berth_meta *m, const char *name) BERTH_WARN_UNUSED;
typedef int (*berth_meta_repl_rule_cb)(void *ctx, const char *name, const char *body);
/** All API rules in name order. */
int berth_meta_repl_rules(berth_meta *m, berth_meta_repl_rule_cb cb, void *ctx) BERTH_WARN_UNUSED;

/*
 * Registries created through the API: their JSON text (no secret in it) and
 * the target password sealed by the caller (`secret`: opaque text, "" for
 * none; berth stores it as given and never sees the key). Bumps the generation.
 */
int berth_meta_repl_registry_put(berth_meta *m, const char *name, const char *body,
				 const char *secret) BERTH_WARN_UNUSED;
/** BERTH_ENOTFOUND if absent; bumps the generation. */
int berth_meta_repl_registry_delete(berth_meta *m, const char *name) BERTH_WARN_UNUSED;
typedef int (*berth_meta_repl_registry_cb)(void *ctx, const char *name, const char *body,
					   const char *secret);
/** All API registries in name order (the row buffer is wiped after the listing). */
int berth_meta_repl_registries(berth_meta *m, berth_meta_repl_registry_cb cb,
			       void *ctx) BERTH_WARN_UNUSED;

typedef struct berth_meta_repl_exec {
	int64_t id;
	const char *rule;
	const char *trigger; /* "manual", "scheduled", "event", "retry" */
	const char *status;  /* "running", "succeeded", "failed", "interrupted" */
	time_t started, ended;
	const char *summary; /* JSON object text: counts, message */
} berth_meta_repl_exec;

/** Record a running execution of `rule`; its id into *id. */
int berth_meta_repl_exec_start(berth_meta *m, const char *rule, const char *trigger, time_t started,
			       int64_t *id) BERTH_WARN_UNUSED;
/** Set an execution's status, end time and summary. BERTH_ENOTFOUND if absent. */
int berth_meta_repl_exec_finish(berth_meta *m, int64_t id, const char *status, time_t ended,
				const char *summary) BERTH_WARN_UNUSED;
typedef int (*berth_meta_repl_exec_cb)(void *ctx, const berth_meta_repl_exec *e);
/**
 * Executions newest first: of `rule` (NULL: all), ids below `before_id`
 * (0 = from the newest), at most `limit` (< 0 = all).
 */
int berth_meta_repl_execs(berth_meta *m, const char *rule, int64_t before_id, long limit,
			  berth_meta_repl_exec_cb cb, void *ctx) BERTH_WARN_UNUSED;
/** Executions still marked running (left by a process that died), oldest first. */
int berth_meta_repl_execs_running(berth_meta *m, berth_meta_repl_exec_cb cb,
				  void *ctx) BERTH_WARN_UNUSED;

typedef struct berth_meta_repl_result {
	int64_t exec_id;
	const char *artifact; /* "repo:tag" or "repo@digest" */
	const char *digest;   /* may be "" */
	const char *status;   /* "copied", "skipped", "deleted", "failed" */
	const char *message;  /* may be "" */
	time_t time;
} berth_meta_repl_result;

/** Append one artifact's result to an execution. */
int berth_meta_repl_result_add(berth_meta *m, const berth_meta_repl_result *r) BERTH_WARN_UNUSED;
typedef int (*berth_meta_repl_result_cb)(void *ctx, const berth_meta_repl_result *r);
/** An execution's results in the order they were added. */
int berth_meta_repl_results(berth_meta *m, int64_t exec_id, berth_meta_repl_result_cb cb,
			    void *ctx) BERTH_WARN_UNUSED;

/** The last scheduled firing of `rule` (*t = 0 if never). */
int berth_meta_repl_fired_get(berth_meta *m, const char *rule, time_t *t) BERTH_WARN_UNUSED;
int berth_meta_repl_fired_set(berth_meta *m, const char *rule, time_t t) BERTH_WARN_UNUSED;

typedef struct berth_meta_repl_event {
	int64_t id;
	const char *rule;
	const char *repo;
	const char *reference; /* tag or digest */
	int deleted;
	time_t time;
} berth_meta_repl_event;

/** Queue an event for `rule` (e->id is ignored). */
int berth_meta_repl_event_add(berth_meta *m, const berth_meta_repl_event *e) BERTH_WARN_UNUSED;
typedef int (*berth_meta_repl_event_cb)(void *ctx, const berth_meta_repl_event *e);
/** Queued events with ids above `after`, oldest first, at most `limit`. */
int berth_meta_repl_events(berth_meta *m, int64_t after, long limit, berth_meta_repl_event_cb cb,
			   void *ctx) BERTH_WARN_UNUSED;
/** Remove a handled event; BERTH_ENOTFOUND if absent. */
int berth_meta_repl_event_delete(berth_meta *m, int64_t id) BERTH_WARN_UNUSED;

/* ---- the mirror's tag validations (berth/mirror.h) ---- */

/**
 * When tag `tag` of local repository `repo` was last found to match its
 * upstream (*t, seconds since the epoch). BERTH_ENOTFOUND if never.
 */
int berth_meta_mirror_tag_checked(berth_meta *m, const char *repo, const char *tag,
				  time_t *t) BERTH_WARN_UNUSED;
/** Record that `repo`:`tag` matched upstream at time `t` (replaces the last one). */
int berth_meta_mirror_tag_mark(berth_meta *m, const char *repo, const char *tag,
			       time_t t) BERTH_WARN_UNUSED;
/*
 * ---- several processes on one database (scale-out) ----
 *
 * N `berth serve` processes may share one database. What they must agree on
 * is claimed in it, never decided in memory: a lease (a named row with a
 * holder and an expiry) elects one process for a periodic job, a scheduled
 * firing is claimed by moving the rule's last firing from the value the
 * process read (compare-and-set), and a queued event is claimed by setting
 * its holder. A holder is a process's id (BERTH_META_HOLDER_MAX bytes, e.g.
 * "host:pid:random"); the process keeps the lease "process:<holder>" alive
 * while it runs, and claims whose holder's lease has expired count as free.
 */
#define BERTH_META_HOLDER_MAX 128
#define BERTH_META_LEASE_PREFIX "process:"

/** A cheap round trip to the database (health checks). Non-zero if unreachable (postgres:
 * BERTH_EBUSY). */
int berth_meta_ping(berth_meta *m) BERTH_WARN_UNUSED;

/**
 * Take or renew the lease `name` for `holder` until now + ttl seconds: won
 * (*won = 1) if the lease is free, expired (expiry <= now) or already
 * `holder`'s; else *won = 0 and nothing changes. Atomic across processes.
 */
int berth_meta_lease_take(berth_meta *m, const char *name, const char *holder, time_t now, long ttl,
			  int *won) BERTH_WARN_UNUSED;
/** Drop the lease `name` if `holder` holds it (no error otherwise). */
int berth_meta_lease_release(berth_meta *m, const char *name, const char *holder) BERTH_WARN_UNUSED;

/**
 * Claim a scheduled firing of `rule`: move its last firing from `prev` (what
 * the caller read with berth_meta_repl_fired_get; 0 = never fired) to `now`.
 * *won = 1 if this call moved it, 0 if another process did first.
 */
int berth_meta_repl_fired_claim(berth_meta *m, const char *rule, time_t prev, time_t now,
				int *won) BERTH_WARN_UNUSED;

/**
 * Claim up to `limit` queued events for `holder`, oldest first: events no
 * process holds, and events held by a process whose lease "process:<h>" has
 * expired at `now`. Each claimed event is passed to `cb`; an event stays
 * claimed until it is deleted. (PostgreSQL: FOR UPDATE SKIP LOCKED.)
 */
int berth_meta_repl_event_claim(berth_meta *m, const char *holder, time_t now, long limit,
				berth_meta_repl_event_cb cb, void *ctx) BERTH_WARN_UNUSED;

/** Record that execution `id` runs in process `holder`. BERTH_ENOTFOUND if absent. */
int berth_meta_repl_exec_hold(berth_meta *m, int64_t id, const char *holder) BERTH_WARN_UNUSED;
/**
 * Executions still running whose process is gone: no holder, or a holder
 * whose lease "process:<holder>" has expired at `now`. Oldest first.
 */
int berth_meta_repl_execs_orphaned(berth_meta *m, time_t now, berth_meta_repl_exec_cb cb,
				   void *ctx) BERTH_WARN_UNUSED;
/**
 * Mark a running execution "interrupted" (ended, summary). *won = 1 if this
 * call did, 0 if it was no longer running (another process took it first).
 */
int berth_meta_repl_exec_interrupt(berth_meta *m, int64_t id, time_t ended, const char *summary,
				   int *won) BERTH_WARN_UNUSED;

/* ---- copying a whole database (`berth migrate --from ... --to ...`) ---- */

/**
 * What a copy or a verification saw of one table. `sum` is the hex SHA-256
 * of the table's rows taken as a set (each row hashed over the source's
 * columns, the row digests added modulo 2^256), so it compares the content
 * of the same table in two drivers whatever their collations and orders.
 */
typedef struct berth_meta_table_sum {
	const char *table;
	int64_t rows;
	char sum[65];
} berth_meta_table_sum;

/**
 * Progress of berth_meta_copy: `rows` copied so far of `table`; `done` 1
 * once the table is complete (for a dry run: its row count in the source).
 * Non-zero stops the copy (negative: returned; the target is left empty).
 */
typedef int (*berth_meta_copy_cb)(void *ctx, const char *table, int64_t rows, int done);

/**
 * Copy every row of every table of `from` into `to` (any two drivers, e.g.
 * SQLite into PostgreSQL), led by the source's schema: its tables in
 * foreign-key order, each with the source's columns (the target must have
 * them: BERTH_EUNSUPPORTED names a missing table or column). Identity
 * sequences of the target continue after the copied ids (and after ids the
 * source handed out and deleted).
 *
 * The target must hold no data (its migrations' own rows aside):
 * BERTH_EEXISTS naming the first table with rows, and nothing written.
 * The whole copy is one transaction of the target: on any failure or
 * interruption it holds nothing of the source. Servers on either database
 * must be stopped. With `dry_run`, only counts the source's rows and checks
 * the target. Not thread-safe with other calls on `to`.
 */
int berth_meta_copy(berth_meta *from, berth_meta *to, int dry_run, berth_meta_copy_cb cb,
		    void *ctx) BERTH_WARN_UNUSED;

/**
 * Compare every table of `from` with the same table of `to`: row counts and
 * content sums over the source's columns; `cb` (optional) gets both sides of
 * each table. BERTH_EDIGEST naming the first table that differs.
 */
typedef int (*berth_meta_verify_cb)(void *ctx, const berth_meta_table_sum *src,
				    const berth_meta_table_sum *dst);
int berth_meta_verify(berth_meta *from, berth_meta *to, berth_meta_verify_cb cb,
		      void *ctx) BERTH_WARN_UNUSED;

/* ---- replication retries ---- */

/*
 * Retry runs asked for later (a destination was full), kept so that a
 * restart does not lose them (sqlite migration 8, postgres 4): one per rule.
 */
/** Ask for a run of `rule` at `at` (replaces its pending retry, if any). */
int berth_meta_repl_retry_set(berth_meta *m, const char *rule, time_t at) BERTH_WARN_UNUSED;
typedef int (*berth_meta_repl_retry_cb)(void *ctx, const char *rule, time_t at);
/** The retries due at `now` (at <= now), earliest first, at most `limit`. */
int berth_meta_repl_retries_due(berth_meta *m, time_t now, long limit, berth_meta_repl_retry_cb cb,
				void *ctx) BERTH_WARN_UNUSED;
/**
 * Take the retry of `rule` due at `at` (delete it): *won = 1 if this call
 * did, 0 if it was gone or moved (another process took it, or it was set again).
 */
int berth_meta_repl_retry_take(berth_meta *m, const char *rule, time_t at,
			       int *won) BERTH_WARN_UNUSED;

#endif
