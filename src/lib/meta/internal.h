/*
 * meta_driver.h - the driver table behind include/berth/meta.h (private to
 * src/lib/meta).
 *
 * berth_meta is a driver pointer plus the driver's own state. meta.c checks
 * arguments and dispatches: to queries.c for the queries that are the same
 * for every driver (query.h), which run on the driver's three primitives
 * (write, get_row, list_rows), and through the table for the rest. Each
 * driver (sqlite.c, postgres.c) implements every entry; a query entry has the
 * contract of the public function of the same name, taking the driver's
 * state `impl` instead of the berth_meta.
 */
#ifndef BERTH_META_INTERNAL_H
#define BERTH_META_INTERNAL_H

#include "berth/meta.h"

struct berth_meta {
	const struct berth_meta_driver *drv;
	void *impl; /* the driver's state */
};

/* One value of a copied row, in terms both drivers share (copy.c). */
enum { BERTH_META_CELL_NULL, BERTH_META_CELL_INT, BERTH_META_CELL_TEXT, BERTH_META_CELL_BLOB };

typedef struct berth_meta_cell {
	int kind;
	int64_t i;     /* INT */
	const void *p; /* TEXT, BLOB: borrowed for the callback */
	size_t len;
} berth_meta_cell;

typedef int (*berth_meta_row_cb)(void *ctx, const berth_meta_cell *cells, size_t ncells);

/* Caps of the copy: a table's columns, and an identifier's bytes. */
#define BERTH_META_COPY_COLUMNS_MAX 64
#define BERTH_META_COPY_NAME_MAX 63

/* `name` quoted as an SQL identifier ("a""b") into out; BERTH_EINVALID past the cap. */
int berth_meta__quote_ident(char *out, size_t size, const char *name);

/* One row of the gc's page of droppable links (gc_links). */
typedef int (*berth_meta_gc_row_cb)(void *ctx, int64_t repo_id, const char *repo,
				    const char *digest);

/*
 * Row decoding shared by the drivers (rows.c). A driver runs its SQL and
 * binds its parameters; it hands each result row over through one column
 * accessor: `col`, the row's columns as text (NULL for SQL NULL) in the
 * order of the driver's SELECT list, valid only during the call. Filling
 * berth_meta structs from such rows is the same for every driver, so it
 * lives here once.
 */

/* Fills a result from a row's columns; may fail (e.g. a capped buffer). */
typedef int (*berth_meta_fill_fn)(void *out, void *extra, const char *const *col);
/* Calls one caller callback with a row; returns the callback's value. */
typedef int (*berth_meta_each_fn)(void *ctx, const char *const *col);

struct berth_meta_param;
struct berth_meta_write;

typedef struct berth_meta_driver {
	const char *scheme; /* "sqlite" in "sqlite://<path>" */
	/* 1: open gets the whole location (a libpq URI or keyword DSN), not the path after "://" */
	int full_location;
	int (*open)(void **impl, const char *target, const berth_meta_options *o);
	void (*free)(void *impl);
	int (*schema_version)(void *impl);

	/*
	 * The primitives of the shared queries (queries.c, query.h). Statement
	 * ids are query.h's Q_ ids; `p` holds `np` parameters ($1.. / ?1..).
	 */
	/*
	 * Run the `n` write statements `w` in order in one transaction, stopping
	 * at the first failure (the transaction then rolls back); each one's
	 * `id` and `changes` are set as it runs. Retried whole like any of the
	 * driver's transactions.
	 */
	int (*write)(void *impl, struct berth_meta_write *w, size_t n);
	/*
	 * Look up at most one row and hand its `ncols` columns to `fill`
	 * (skipped when `out` is NULL: an existence check). BERTH_ENOTFOUND with
	 * `notfound` if there is no row. Column pointers are valid only inside
	 * `fill`.
	 */
	int (*get_row)(void *impl, int stmt, const struct berth_meta_param *p, int np, int ncols,
		       berth_meta_fill_fn fill, void *out, void *extra, const char *notfound);
	/*
	 * Run a listing query to the end, release what it holds, then call
	 * `each` per row (so `each` may call back into berth_meta). `wipe`
	 * clears the rows before they are freed (rows that carry password or
	 * secret hashes).
	 */
	int (*list_rows)(void *impl, int stmt, const struct berth_meta_param *p, int np, int ncols,
			 int wipe, berth_meta_each_fn each, void *ctx);

	/* The queries that differ by database (several dependent steps, RETURNING, upserts). */
	int (*repo_exists)(void *impl, const char *repo);
	int (*blob_link)(void *impl, const char *repo, const berth_digest *d, uint64_t size);
	int (*blob_linked)(void *impl, const char *repo, const berth_digest *d, uint64_t *size);
	/* 1 if a repository links `d` or a manifest lists it, else 0 */
	int (*blob_referenced)(void *impl, const berth_digest *d);

	int (*manifest_store)(void *impl, const berth_meta_manifest_put *p);
	int (*manifest_get)(void *impl, const char *repo, const char *reference, int by_digest,
			    berth_meta_manifest *info, struct berth_buf *body);
	int (*manifest_delete)(void *impl, const char *repo, const berth_digest *d);
	int (*tag_delete)(void *impl, const char *repo, const char *tag);
	int (*tags)(void *impl, const char *repo, const char *last, long n, berth_meta_name_cb cb,
		    void *ctx, int *more);
	int (*catalog)(void *impl, const char *last, long n, berth_meta_name_cb cb, void *ctx,
		       int *more);

	int (*upload_check)(void *impl, const char *id, const char *repo);
	int (*member_set)(void *impl, const char *project, const char *user, int role);

	/*
	 * Copying a whole database to another driver (copy.c, `berth migrate`),
	 * led by the schema rather than by a list of tables. Names given back by
	 * copy_tables/copy_columns/copy_parents are the database's own, in
	 * creation order; the others take names the caller got from them (and
	 * quote them as identifiers). Rows travel as cells (below).
	 */
	/* the tables of the schema (not the driver's internal ones) */
	int (*copy_tables)(void *impl, berth_meta_name_cb cb, void *ctx);
	/*
	 * Of those, the ones the driver's migrations insert rows into (NULL
	 * ends the list): a new target's rows there are not user data, and the
	 * copy replaces them with the source's.
	 */
	const char *const *copy_seeded;
	/* a table's columns; BERTH_ENOTFOUND if the table does not exist */
	int (*copy_columns)(void *impl, const char *table, berth_meta_name_cb cb, void *ctx);
	/* the tables `table`'s foreign keys refer to */
	int (*copy_parents)(void *impl, const char *table, berth_meta_name_cb cb, void *ctx);
	/*
	 * Every row of `table` in primary-key order (all columns if it has none),
	 * its `ncols` columns `cols` converted to cells; the callback runs while
	 * the query is stepped, so it must not call into the same berth_meta.
	 */
	int (*copy_export)(void *impl, const char *table, const char *const *cols, size_t ncols,
			   berth_meta_row_cb cb, void *ctx);
	/* the last value handed out by `table`'s id sequence (0: none yet); ENOTFOUND: no sequence
	 */
	int (*copy_sequence)(void *impl, const char *table, int64_t *last);
	/* one write transaction holding its connection; ended by copy_end (commit or roll back) */
	int (*copy_begin)(void *impl, void **tx);
	/* delete every row of `table` (a migration's seeded rows) */
	int (*copy_clear)(void *tx, const char *table);
	int (*copy_insert)(void *tx, const char *table, const char *const *cols, size_t ncols,
			   const berth_meta_cell *cells);
	/* the id sequence continues after max(last, the highest id); ENOTFOUND: no sequence */
	int (*copy_sequence_set)(void *tx, const char *table, int64_t last);
	int (*copy_end)(void *tx, int commit);
} berth_meta_driver;

/* The fill and each functions of get_row/list_rows (rows.c). */

/* The columns of a users, projects and robots row (their SELECT lists). */
#define BERTH_META_USER_COLS                                                                       \
	7 /* id, name, password_hash, sysadmin, created, generation, disabled */
#define BERTH_META_PROJECT_COLS 4 /* id, name, public, created */
#define BERTH_META_ROBOT_COLS                                                                      \
	7 /* id, name, secret_hash, expires, created, permissions, generation */

/* The caller's callback and its context: the `ctx` of the berth_meta__each_* functions. */
typedef struct berth_meta_list {
	union {
		berth_meta_name_cb name;
		berth_meta_user_cb user;
		berth_meta_project_cb project;
		berth_meta_member_cb member;
		berth_meta_policy_cb policy;
		berth_meta_robot_cb robot;
		berth_meta_audit_cb audit;
		berth_meta_repl_rule_cb repl_rule;
		berth_meta_repl_registry_cb repl_registry;
		berth_meta_repl_exec_cb repl_exec;
		berth_meta_repl_result_cb repl_result;
		berth_meta_repl_event_cb repl_event;
		berth_meta_repl_retry_cb repl_retry;
		berth_meta_gc_row_cb gc_row;
		berth_meta_id_cb id;
		berth_meta_referrer_cb referrer;
	} cb;
	void *ctx;
} berth_meta_list;

/* One claimed event (berth_meta__claimed_event): got is set once a row came, rc is cb's value. */
typedef struct berth_meta_claim {
	int got;
	int rc;
	berth_meta_repl_event_cb cb;
	void *ctx;
} berth_meta_claim;

/* A column's integer (0 for NULL). */
int64_t berth_meta__num(const char *s);
/* A page's LIMIT for `n` names: one more row than asked tells whether more remain; n < 0 (no
 * limit) gives -1 (PLIMIT's and SQLite's "no limit"). */
int64_t berth_meta__page_limit(long n);
/* A caller callback's value as a listing's result: negative codes pass, a positive stop is 0. */
int berth_meta__cb_result(int r);

/* fill functions (extra unused unless said): out is an int64_t (column 0) */
int berth_meta__fill_int(void *out, void *extra, const char *const *col);
/* out is long[2] (columns 0 and 1) */
int berth_meta__fill_pair(void *out, void *extra, const char *const *col);
/* out is a berth_buf that column 0 is appended to (nothing for NULL) */
int berth_meta__fill_text(void *out, void *extra, const char *const *col);
/* out is a berth_meta_user (BERTH_META_USER_COLS) */
int berth_meta__fill_user(void *out, void *extra, const char *const *col);
/* out is a berth_meta_project (BERTH_META_PROJECT_COLS) */
int berth_meta__fill_project(void *out, void *extra, const char *const *col);
/*
 * out is a berth_meta_robot (BERTH_META_ROBOT_COLS); extra, if not NULL, a
 * berth_buf that receives the permissions text r->permissions points into.
 */
int berth_meta__fill_robot(void *out, void *extra, const char *const *col);

/* each functions: ctx is a berth_meta_list whose cb is the named member */
int berth_meta__each_name(void *ctx, const char *const *col);	       /* name */
int berth_meta__each_user(void *ctx, const char *const *col);	       /* user; hash wiped after */
int berth_meta__each_project(void *ctx, const char *const *col);       /* project */
int berth_meta__each_member(void *ctx, const char *const *col);	       /* member: user, role */
int berth_meta__each_policy(void *ctx, const char *const *col);	       /* policy: name, keys */
int berth_meta__each_robot(void *ctx, const char *const *col);	       /* robot; hash wiped after */
int berth_meta__each_audit(void *ctx, const char *const *col);	       /* audit: 7 columns */
int berth_meta__each_repl_rule(void *ctx, const char *const *col);     /* name, body */
int berth_meta__each_repl_registry(void *ctx, const char *const *col); /* name, body, secret */
int berth_meta__each_repl_exec(void *ctx, const char *const *col);     /* 7 columns */
int berth_meta__each_repl_result(void *ctx, const char *const *col);   /* 6 columns */
int berth_meta__each_repl_event(void *ctx, const char *const *col);    /* 6 columns */
int berth_meta__each_repl_retry(void *ctx, const char *const *col);    /* rule, at */
int berth_meta__each_gc_link(void *ctx, const char *const *col); /* gc_row: repo id, repo, digest */
int berth_meta__each_id(void *ctx, const char *const *col);	 /* id: the id */
/* referrer: digest, media type, size, artifact type, annotations */
int berth_meta__each_referrer(void *ctx, const char *const *col);
/* ctx is a berth_meta_claim: an event row (6 columns) to its cb, marking it got */
int berth_meta__claimed_event(void *ctx, const char *const *col);

extern const berth_meta_driver berth_meta__sqlite_driver;
extern const berth_meta_driver berth_meta__pg_driver;

/* For tests: the SQL of the postgres driver's i-th statement, or NULL past the last one. */
const char *berth_meta__pg_sql(size_t i);

/*
 * For tests: the SQL text of the sqlite driver's i-th cached statement, or
 * NULL past the last one. Lets a test run EXPLAIN QUERY PLAN over every query
 * the driver can issue and prove each is served by an index.
 */
const char *berth_meta__sqlite_sql(size_t i);

/*
 * For tests: the SQL of the sqlite driver's migration `version` (1-based),
 * or NULL past the last one. Lets a test build a database exactly as an older
 * berth left it and prove that opening it upgrades cleanly.
 */
const char *berth_meta__sqlite_migration(int version);

/* The driver and state of `m` (copy.c works across two of them). */
const berth_meta_driver *berth_meta__driver(berth_meta *m, void **impl);

/*
 * For tests: the SQL of a driver's hot lookup by name (NULL if unknown):
 * manifest_by_digest, manifest_by_tag, blob_linked, blob_repos, referrers,
 * tags, catalog, upload_check, robot_get, user_get, repo_id. Lets a test
 * prove with EXPLAIN on a filled, analyzed database that each uses an index.
 */
const char *berth_meta__pg_hot_sql(const char *name);
const char *berth_meta__sqlite_hot_sql(const char *name);

#endif
