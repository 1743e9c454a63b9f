/*
 * queries.c - the metadata queries that are the same for every driver
 * (query.h).
 *
 * Each function picks a statement id, its parameters and the way its rows
 * are read (rows.c), and runs it through its driver's primitives: `write`
 * (a list of write statements in one transaction, retried as the driver
 * retries transactions), `get_row` and `list_rows` (internal.h). The SQL
 * text of each id is the driver's own (sqlite.c, postgres.c); meta.c calls
 * these functions after checking the arguments.
 */
#include "lib/meta/query.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

/* login_failure_add forgets a key's failures older than this (seconds). */
#define LOGIN_FAILURE_KEEP 3600

/* One write statement in its own transaction. */
static int run_write(berth_meta *m, berth_meta_write *a)
{
	return m->drv->write(m->impl, a, 1);
}

/* One write in its own transaction; *won = 1 if it changed a row (a claim, a take). */
static int run_claim(berth_meta *m, berth_meta_write *a, int *won)
{
	int rc = run_write(m, a);

	*won = rc == 0 && a->changes > 0;
	return rc;
}

static int get_row(berth_meta *m, int stmt, const berth_meta_param *p, int np, int ncols,
		   berth_meta_fill_fn fill, void *out, void *extra, const char *notfound)
{
	return m->drv->get_row(m->impl, stmt, p, np, ncols, fill, out, extra, notfound);
}

static int list_rows(berth_meta *m, int stmt, const berth_meta_param *p, int np, int ncols,
		     int wipe, berth_meta_each_fn each, void *ctx)
{
	return m->drv->list_rows(m->impl, stmt, p, np, ncols, wipe, each, ctx);
}

/* ---- repositories and blobs ---- */

/* blob_repos's callback, and whether any row came (none: not linked anywhere). */
struct repo_list {
	berth_meta_repo_cb cb;
	void *ctx;
	int any;
};

static int each_repo(void *ctx, const char *const *col)
{
	struct repo_list *l = ctx;

	l->any = 1;
	return l->cb(l->ctx, col[0] ? col[0] : "", (uint64_t)berth_meta__num(col[1]));
}

int berth_meta__blob_repos(berth_meta *m, const berth_digest *d, berth_meta_repo_cb cb, void *ctx)
{
	berth_meta_param p[] = {PTEXT(d->str)};
	struct repo_list l = {cb, ctx, 0};
	int rc = list_rows(m, Q_BLOB_REPOS, p, 1, 2, 0, each_repo, &l);

	if (rc == 0 && !l.any)
		rc = berth_error_set(BERTH_ENOTFOUND, "blob %s not linked in any repository",
				     d->str);
	return rc;
}

int berth_meta__blob_unlink(berth_meta *m, const char *repo, const berth_digest *d)
{
	berth_meta_write a = {
		.stmt = Q_BLOB_UNLINK,
		.what = "unlink blob",
		.p = {PTEXT(repo), PTEXT(d->str)},
		.np = 2,
	};
	int rc = run_write(m, &a);

	/* The message names the digest, so it is not the write's fixed `notfound`. */
	if (rc == 0 && !a.changes)
		return berth_error_set(BERTH_ENOTFOUND, "blob %s not linked in the repository",
				       d->str);
	return rc;
}

/* ---- manifests ---- */

int berth_meta__referrers(berth_meta *m, const char *repo, const berth_digest *subject,
			  const char *artifact_type, berth_meta_referrer_cb cb, void *ctx)
{
	berth_meta_param p[] = {PTEXT(repo), PTEXT(subject->str), PTEXT(artifact_type)};
	berth_meta_list l = {.cb.referrer = cb, .ctx = ctx};

	return list_rows(m, Q_REFERRERS, p, 3, 5, 0, berth_meta__each_referrer, &l);
}

/* ---- upload sessions ---- */

int berth_meta__upload_create(berth_meta *m, const char *id, const char *repo, time_t started,
			      const char *account)
{
	berth_meta_write a = {
		.stmt = Q_UPLOAD_CREATE,
		.what = "create upload",
		.exists = "upload session already exists",
		.p = {PTEXT(id), PTEXT(repo), PINT(started), PTEXT(account ? account : "")},
		.np = 4,
	};

	return run_write(m, &a);
}

int berth_meta__upload_delete(berth_meta *m, const char *id)
{
	berth_meta_write a = {
		.stmt = Q_UPLOAD_DELETE,
		.what = "delete upload",
		.notfound = "upload session not found",
		.p = {PTEXT(id)},
		.np = 1,
	};

	return run_write(m, &a);
}

int berth_meta__upload_stale(berth_meta *m, time_t cutoff, berth_meta_id_cb cb, void *ctx)
{
	berth_meta_param p[] = {PINT(cutoff)};
	berth_meta_list l = {.cb.id = cb, .ctx = ctx};

	return list_rows(m, Q_UPLOAD_STALE, p, 1, 1, 0, berth_meta__each_id, &l);
}

int berth_meta__upload_count(berth_meta *m, const char *repo, const char *account, long *in_repo,
			     long *of_account)
{
	berth_meta_param p[] = {PTEXT(repo), PTEXT(account ? account : "")};
	long v[2] = {0, 0};
	int rc = get_row(m, Q_UPLOAD_COUNT, p, 2, 2, berth_meta__fill_pair, v, NULL, "no count");

	*in_repo = v[0];
	*of_account = v[1];
	return rc;
}

/* ---- users ---- */

int berth_meta__user_create(berth_meta *m, const char *name, const char *password_hash,
			    int sysadmin, int64_t *id_out)
{
	berth_meta_write a = {
		.stmt = Q_USER_CREATE,
		.what = "create user",
		.exists = "user already exists",
		.p = {PTEXT(name), PTEXT(password_hash), PBOOL(sysadmin), PINT(time(NULL))},
		.np = 4,
	};
	int rc = run_write(m, &a);

	if (rc == 0 && id_out)
		*id_out = a.id;
	return rc;
}

int berth_meta__user_get(berth_meta *m, const char *name, berth_meta_user *out)
{
	berth_meta_param p[] = {PTEXT(name)};

	return get_row(m, Q_USER_GET, p, 1, BERTH_META_USER_COLS, berth_meta__fill_user, out, NULL,
		       "user not found");
}

int berth_meta__user_get_by_id(berth_meta *m, int64_t id, berth_meta_user *out)
{
	berth_meta_param p[] = {PINT(id)};

	return get_row(m, Q_USER_BY_ID, p, 1, BERTH_META_USER_COLS, berth_meta__fill_user, out,
		       NULL, "user not found");
}

int berth_meta__user_set_password(berth_meta *m, const char *name, const char *password_hash)
{
	berth_meta_write a = {
		.stmt = Q_USER_SET_PASSWORD,
		.what = "set password",
		.notfound = "user not found",
		.p = {PTEXT(name), PTEXT(password_hash)},
		.np = 2,
	};

	return run_write(m, &a);
}

int berth_meta__user_set_disabled(berth_meta *m, const char *name, int disabled)
{
	berth_meta_write a = {
		.stmt = Q_USER_SET_DISABLED,
		.what = "disable user",
		.notfound = "user not found",
		.p = {PTEXT(name), PBOOL(disabled)},
		.np = 2,
	};

	return run_write(m, &a);
}

int berth_meta__user_delete(berth_meta *m, const char *name)
{
	berth_meta_write a = {
		.stmt = Q_USER_DELETE,
		.what = "delete user",
		.notfound = "user not found",
		.p = {PTEXT(name)},
		.np = 1,
	};

	/* Memberships go with the user (ON DELETE CASCADE). */
	return run_write(m, &a);
}

int berth_meta__users(berth_meta *m, berth_meta_user_cb cb, void *ctx)
{
	berth_meta_list l = {.cb.user = cb, .ctx = ctx};

	return list_rows(m, Q_USERS, NULL, 0, BERTH_META_USER_COLS, 1, berth_meta__each_user, &l);
}

/* ---- projects ---- */

int berth_meta__project_create(berth_meta *m, const char *name, int public)
{
	berth_meta_write a = {
		.stmt = Q_PROJECT_CREATE,
		.what = "create project",
		.exists = "project already exists",
		.p = {PTEXT(name), PBOOL(public), PINT(time(NULL))},
		.np = 3,
	};

	return run_write(m, &a);
}

int berth_meta__project_get(berth_meta *m, const char *name, berth_meta_project *out)
{
	berth_meta_param p[] = {PTEXT(name)};

	return get_row(m, Q_PROJECT_GET, p, 1, BERTH_META_PROJECT_COLS, berth_meta__fill_project,
		       out, NULL, "project not found");
}

int berth_meta__project_set_public(berth_meta *m, const char *name, int public)
{
	berth_meta_write a = {
		.stmt = Q_PROJECT_SET_PUBLIC,
		.what = "update project",
		.notfound = "project not found",
		.p = {PTEXT(name), PBOOL(public)},
		.np = 2,
	};

	return run_write(m, &a);
}

int berth_meta__project_delete(berth_meta *m, const char *name)
{
	berth_meta_write a = {
		.stmt = Q_PROJECT_DELETE,
		.what = "delete project",
		.notfound = "project not found",
		.p = {PTEXT(name)},
		.np = 1,
	};

	/* Memberships go with the project (ON DELETE CASCADE). */
	return run_write(m, &a);
}

int berth_meta__projects(berth_meta *m, berth_meta_project_cb cb, void *ctx)
{
	berth_meta_list l = {.cb.project = cb, .ctx = ctx};

	return list_rows(m, Q_PROJECTS, NULL, 0, BERTH_META_PROJECT_COLS, 0,
			 berth_meta__each_project, &l);
}

/* ---- members ---- */

int berth_meta__member_get(berth_meta *m, const char *project, const char *user, int *role)
{
	berth_meta_param p[] = {PTEXT(project), PTEXT(user)};
	int64_t v = 0;
	int rc = get_row(m, Q_MEMBER_GET, p, 2, 1, berth_meta__fill_int, &v, NULL, "not a member");

	if (rc == 0 && role)
		*role = (int)v;
	return rc;
}

int berth_meta__member_delete(berth_meta *m, const char *project, const char *user)
{
	berth_meta_write a = {
		.stmt = Q_MEMBER_DELETE,
		.what = "delete member",
		.notfound = "not a member",
		.p = {PTEXT(project), PTEXT(user)},
		.np = 2,
	};

	return run_write(m, &a);
}

int berth_meta__members(berth_meta *m, const char *project, berth_meta_member_cb cb, void *ctx)
{
	berth_meta_param p[] = {PTEXT(project)};
	berth_meta_list l = {.cb.member = cb, .ctx = ctx};
	int64_t id = 0;
	int rc;

	if ((rc = get_row(m, Q_PROJECT_ID, p, 1, 1, berth_meta__fill_int, &id, NULL,
			  "project not found")) != 0)
		return rc;
	p[0] = (berth_meta_param)PINT(id);
	return list_rows(m, Q_MEMBERS, p, 1, 2, 0, berth_meta__each_member, &l);
}

/* ---- the signature policy (migration 4) ---- */

int berth_meta__project_set_signature_keys(berth_meta *m, const char *name, const char *keys)
{
	berth_meta_write a[2] = {
		{
			.stmt = Q_PROJECT_SET_KEYS,
			.what = "set signature policy",
			.notfound = "project not found",
			.p = {PTEXT(name), PTEXT(keys)},
			.np = 2,
		},
		/* Every process learns of the change through the policy generation. */
		{.stmt = Q_POLICY_BUMP, .what = "bump policy generation"},
	};

	return m->drv->write(m->impl, a, 2);
}

int berth_meta__project_signature_keys(berth_meta *m, const char *name, struct berth_buf *out)
{
	berth_meta_param p[] = {PTEXT(name)};

	return get_row(m, Q_PROJECT_KEYS, p, 1, 1, berth_meta__fill_text, out, NULL,
		       "project not found");
}

int berth_meta__policies(berth_meta *m, int64_t *generation, berth_meta_policy_cb cb, void *ctx)
{
	berth_meta_list l = {.cb.policy = cb, .ctx = ctx};
	int64_t gen = 0;
	int rc;

	/* The generation first: a change after it shows as a newer one later. */
	if ((rc = get_row(m, Q_POLICY_GEN, NULL, 0, 1, berth_meta__fill_int, &gen, NULL,
			  "policy generation missing")) != 0)
		return rc;
	*generation = gen;
	return list_rows(m, Q_POLICIES, NULL, 0, 2, 0, berth_meta__each_policy, &l);
}

int berth_meta__generation(berth_meta *m, const char *name, int64_t *value)
{
	berth_meta_param p[] = {PTEXT(name)};
	int64_t v = 0;
	int rc = get_row(m, Q_GEN_GET, p, 1, 1, berth_meta__fill_int, &v, NULL,
			 "no such generation");

	if (rc == BERTH_ENOTFOUND) /* never bumped */
		rc = 0;
	*value = v;
	return rc;
}

int berth_meta__manifest_parents(berth_meta *m, const char *repo, const berth_digest *d,
				 berth_meta_name_cb cb, void *ctx)
{
	berth_meta_param p[] = {PTEXT(repo), PTEXT(d->str)};
	berth_meta_list l = {.cb.name = cb, .ctx = ctx};

	return list_rows(m, Q_MAN_PARENTS, p, 2, 1, 0, berth_meta__each_name, &l);
}

/* ---- robots ---- */

int berth_meta__robot_create(berth_meta *m, const char *name, const char *secret_hash,
			     time_t expires, const char *permissions)
{
	berth_meta_write a = {
		.stmt = Q_ROBOT_CREATE,
		.what = "create robot",
		.exists = "robot already exists",
		.p = {PTEXT(name), PTEXT(secret_hash), PINT(expires), PINT(time(NULL)),
		      PTEXT(permissions)},
		.np = 5,
	};

	return run_write(m, &a);
}

int berth_meta__robot_get(berth_meta *m, const char *name, berth_meta_robot *out,
			  struct berth_buf *perms)
{
	berth_meta_param p[] = {PTEXT(name)};

	return get_row(m, Q_ROBOT_GET, p, 1, BERTH_META_ROBOT_COLS, berth_meta__fill_robot, out,
		       perms, "robot not found");
}

int berth_meta__robot_delete(berth_meta *m, const char *name)
{
	berth_meta_write a = {
		.stmt = Q_ROBOT_DELETE,
		.what = "delete robot",
		.notfound = "robot not found",
		.p = {PTEXT(name)},
		.np = 1,
	};

	return run_write(m, &a);
}

int berth_meta__robot_set_secret(berth_meta *m, const char *name, const char *secret_hash)
{
	berth_meta_write a = {
		.stmt = Q_ROBOT_SET_SECRET,
		.what = "set robot secret",
		.notfound = "robot not found",
		.p = {PTEXT(name), PTEXT(secret_hash)},
		.np = 2,
	};

	return run_write(m, &a);
}

int berth_meta__robots(berth_meta *m, berth_meta_robot_cb cb, void *ctx)
{
	berth_meta_list l = {.cb.robot = cb, .ctx = ctx};

	return list_rows(m, Q_ROBOTS, NULL, 0, BERTH_META_ROBOT_COLS, 1, berth_meta__each_robot,
			 &l);
}

/* ---- audit log ---- */

int berth_meta__audit_add(berth_meta *m, const berth_meta_audit *e)
{
	/* Absent optional fields are stored (and listed) as "". */
	berth_meta_write a = {
		.stmt = Q_AUDIT_ADD,
		.what = "add audit record",
		.p = {PINT(e->time ? e->time : time(NULL)), PTEXT(e->who), PTEXT(e->action),
		      PTEXT(e->resource ? e->resource : ""), PTEXT(e->address ? e->address : ""),
		      PTEXT(e->result ? e->result : "")},
		.np = 6,
	};

	return run_write(m, &a);
}

int berth_meta__audit_list(berth_meta *m, int64_t before_id, long limit, berth_meta_audit_cb cb,
			   void *ctx)
{
	berth_meta_param p[] = {PINT(before_id > 0 ? before_id : INT64_MAX), PLIMIT(limit)};
	berth_meta_list l = {.cb.audit = cb, .ctx = ctx};

	return list_rows(m, Q_AUDIT_LIST, p, 2, 7, 0, berth_meta__each_audit, &l);
}

/* ---- failed logins ---- */

/* Record a failure and forget the key's old ones, so the table stays small. */
int berth_meta__login_failure_add(berth_meta *m, const char *key, time_t now)
{
	berth_meta_write a[2] = {
		{
			.stmt = Q_LOGIN_FAIL_ADD,
			.what = "record login failure",
			.p = {PTEXT(key), PINT(now)},
			.np = 2,
		},
		{
			.stmt = Q_LOGIN_FAIL_PRUNE,
			.what = "prune login failures",
			.p = {PTEXT(key), PINT((int64_t)now - LOGIN_FAILURE_KEEP)},
			.np = 2,
		},
	};

	return m->drv->write(m->impl, a, 2);
}

int berth_meta__login_failures(berth_meta *m, const char *key, time_t since, long *count,
			       time_t *last)
{
	berth_meta_param p[] = {PTEXT(key), PINT(since)};
	long v[2] = {0, 0};
	int rc = get_row(m, Q_LOGIN_FAILS, p, 2, 2, berth_meta__fill_pair, v, NULL, "no count");

	if (rc == 0) {
		*count = v[0];
		*last = (time_t)v[1];
	}
	return rc;
}

int berth_meta__login_failures_clear(berth_meta *m, const char *key)
{
	berth_meta_write a = {
		.stmt = Q_LOGIN_FAIL_CLEAR,
		.what = "clear login failures",
		.p = {PTEXT(key)},
		.np = 1,
	};

	return run_write(m, &a);
}

/* ---- replication ---- */

/* One write of the API's rules or registries, and the replication generation's bump. */
static int repl_write(berth_meta *m, const berth_meta_write *a)
{
	berth_meta_write w[2] = {
		*a,
		{.stmt = Q_GEN_BUMP_REPL, .what = "bump replication generation"},
	};

	return m->drv->write(m->impl, w, 2);
}

int berth_meta__repl_rule_put(berth_meta *m, const char *name, const char *body)
{
	berth_meta_write a = {
		.stmt = Q_REPL_RULE_PUT,
		.what = "store replication rule",
		.p = {PTEXT(name), PTEXT(body), PINT(time(NULL))},
		.np = 3,
	};

	return repl_write(m, &a);
}

int berth_meta__repl_rule_delete(berth_meta *m, const char *name)
{
	berth_meta_write a = {
		.stmt = Q_REPL_RULE_DELETE,
		.what = "delete replication rule",
		.notfound = "no such replication rule",
		.p = {PTEXT(name)},
		.np = 1,
	};

	return repl_write(m, &a);
}

int berth_meta__repl_rules(berth_meta *m, berth_meta_repl_rule_cb cb, void *ctx)
{
	berth_meta_list l = {.cb.repl_rule = cb, .ctx = ctx};

	return list_rows(m, Q_REPL_RULES, NULL, 0, 2, 0, berth_meta__each_repl_rule, &l);
}

int berth_meta__repl_registry_put(berth_meta *m, const char *name, const char *body,
				  const char *secret)
{
	berth_meta_write a = {
		.stmt = Q_REPL_REGISTRY_PUT,
		.what = "store replication registry",
		.p = {PTEXT(name), PTEXT(body), PTEXT(secret), PINT(time(NULL))},
		.np = 4,
	};

	return repl_write(m, &a);
}

int berth_meta__repl_registry_delete(berth_meta *m, const char *name)
{
	berth_meta_write a = {
		.stmt = Q_REPL_REGISTRY_DELETE,
		.what = "delete replication registry",
		.notfound = "no such registry",
		.p = {PTEXT(name)},
		.np = 1,
	};

	return repl_write(m, &a);
}

int berth_meta__repl_registries(berth_meta *m, berth_meta_repl_registry_cb cb, void *ctx)
{
	berth_meta_list l = {.cb.repl_registry = cb, .ctx = ctx};

	return list_rows(m, Q_REPL_REGISTRIES, NULL, 0, 3, 1, berth_meta__each_repl_registry, &l);
}

int berth_meta__repl_exec_start(berth_meta *m, const char *rule, const char *trigger,
				time_t started, int64_t *id)
{
	berth_meta_write a = {
		.stmt = Q_REPL_EXEC_START,
		.what = "record replication execution",
		.p = {PTEXT(rule), PTEXT(trigger), PINT(started)},
		.np = 3,
	};
	int rc = run_write(m, &a);

	if (rc == 0 && id)
		*id = a.id;
	return rc;
}

int berth_meta__repl_exec_finish(berth_meta *m, int64_t id, const char *status, time_t ended,
				 const char *summary)
{
	berth_meta_write a = {
		.stmt = Q_REPL_EXEC_FINISH,
		.what = "finish replication execution",
		.notfound = "no such replication execution",
		.p = {PINT(id), PTEXT(status), PINT(ended), PTEXT(summary)},
		.np = 4,
	};

	return run_write(m, &a);
}

int berth_meta__repl_execs(berth_meta *m, const char *rule, int64_t before_id, long limit,
			   berth_meta_repl_exec_cb cb, void *ctx)
{
	berth_meta_param p[] = {PINT(before_id > 0 ? before_id : INT64_MAX), PLIMIT(limit),
				PTEXT(rule)};
	berth_meta_list l = {.cb.repl_exec = cb, .ctx = ctx};

	return list_rows(m, rule ? Q_REPL_EXECS_RULE : Q_REPL_EXECS, p, rule ? 3 : 2, 7, 0,
			 berth_meta__each_repl_exec, &l);
}

int berth_meta__repl_execs_running(berth_meta *m, berth_meta_repl_exec_cb cb, void *ctx)
{
	berth_meta_list l = {.cb.repl_exec = cb, .ctx = ctx};

	return list_rows(m, Q_REPL_EXECS_RUNNING, NULL, 0, 7, 0, berth_meta__each_repl_exec, &l);
}

int berth_meta__repl_result_add(berth_meta *m, const berth_meta_repl_result *r)
{
	berth_meta_write a = {
		.stmt = Q_REPL_RESULT_ADD,
		.what = "record replication result",
		.p = {PINT(r->exec_id), PTEXT(r->artifact), PTEXT(r->digest ? r->digest : ""),
		      PTEXT(r->status), PTEXT(r->message ? r->message : ""),
		      PINT(r->time ? r->time : time(NULL))},
		.np = 6,
	};

	return run_write(m, &a);
}

int berth_meta__repl_results(berth_meta *m, int64_t exec_id, berth_meta_repl_result_cb cb,
			     void *ctx)
{
	berth_meta_param p[] = {PINT(exec_id)};
	berth_meta_list l = {.cb.repl_result = cb, .ctx = ctx};

	return list_rows(m, Q_REPL_RESULTS, p, 1, 6, 0, berth_meta__each_repl_result, &l);
}

int berth_meta__repl_fired_get(berth_meta *m, const char *rule, time_t *t)
{
	berth_meta_param p[] = {PTEXT(rule)};
	int64_t v = 0;
	int rc = get_row(m, Q_REPL_FIRED_GET, p, 1, 1, berth_meta__fill_int, &v, NULL,
			 "never fired");

	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		rc = 0;
		v = 0;
	}
	*t = (time_t)v;
	return rc;
}

int berth_meta__repl_fired_set(berth_meta *m, const char *rule, time_t t)
{
	berth_meta_write a = {
		.stmt = Q_REPL_FIRED_SET,
		.what = "record scheduled firing",
		.p = {PTEXT(rule), PINT(t)},
		.np = 2,
	};

	return run_write(m, &a);
}

int berth_meta__repl_event_add(berth_meta *m, const berth_meta_repl_event *e)
{
	berth_meta_write a = {
		.stmt = Q_REPL_EVENT_ADD,
		.what = "queue replication event",
		.p = {PTEXT(e->rule), PTEXT(e->repo), PTEXT(e->reference), PBOOL(e->deleted),
		      PINT(e->time ? e->time : time(NULL))},
		.np = 5,
	};

	return run_write(m, &a);
}

int berth_meta__repl_events(berth_meta *m, int64_t after, long limit, berth_meta_repl_event_cb cb,
			    void *ctx)
{
	berth_meta_param p[] = {PINT(after), PLIMIT(limit)};
	berth_meta_list l = {.cb.repl_event = cb, .ctx = ctx};

	return list_rows(m, Q_REPL_EVENTS, p, 2, 6, 0, berth_meta__each_repl_event, &l);
}

int berth_meta__repl_event_delete(berth_meta *m, int64_t id)
{
	berth_meta_write a = {
		.stmt = Q_REPL_EVENT_DELETE,
		.what = "delete replication event",
		.notfound = "no such replication event",
		.p = {PINT(id)},
		.np = 1,
	};

	return run_write(m, &a);
}

/* ---- several processes on one database ---- */

int berth_meta__ping(berth_meta *m)
{
	int64_t v = 0;

	return get_row(m, Q_PING, NULL, 0, 1, berth_meta__fill_int, &v, NULL,
		       "metadata schema is missing");
}

int berth_meta__lease_take(berth_meta *m, const char *name, const char *holder, time_t now,
			   long ttl, int *won)
{
	berth_meta_write a = {
		.stmt = Q_LEASE_TAKE,
		.what = "take lease",
		.p = {PTEXT(name), PTEXT(holder), PINT(now), PINT(ttl)},
		.np = 4,
	};

	return run_claim(m, &a, won);
}

int berth_meta__lease_release(berth_meta *m, const char *name, const char *holder)
{
	berth_meta_write a = {
		.stmt = Q_LEASE_RELEASE,
		.what = "release lease",
		.p = {PTEXT(name), PTEXT(holder)},
		.np = 2,
	};

	return run_write(m, &a);
}

int berth_meta__repl_fired_claim(berth_meta *m, const char *rule, time_t prev, time_t now, int *won)
{
	berth_meta_write first = {
		.stmt = Q_REPL_FIRED_FIRST,
		.what = "claim scheduled firing",
		.p = {PTEXT(rule), PINT(now)},
		.np = 2,
	};
	berth_meta_write move = {
		.stmt = Q_REPL_FIRED_MOVE,
		.what = "claim scheduled firing",
		.p = {PTEXT(rule), PINT(prev), PINT(now)},
		.np = 3,
	};

	return run_claim(m, prev ? &move : &first, won);
}

int berth_meta__repl_retry_set(berth_meta *m, const char *rule, time_t at)
{
	berth_meta_write a = {
		.stmt = Q_REPL_RETRY_SET,
		.what = "record replication retry",
		.p = {PTEXT(rule), PINT(at)},
		.np = 2,
	};

	return run_write(m, &a);
}

int berth_meta__repl_retries_due(berth_meta *m, time_t now, long limit, berth_meta_repl_retry_cb cb,
				 void *ctx)
{
	berth_meta_list l = {.cb.repl_retry = cb, .ctx = ctx};
	berth_meta_param p[] = {PINT(now), PINT(limit)};

	return list_rows(m, Q_REPL_RETRIES_DUE, p, 2, 2, 0, berth_meta__each_repl_retry, &l);
}

int berth_meta__repl_retry_take(berth_meta *m, const char *rule, time_t at, int *won)
{
	berth_meta_write a = {
		.stmt = Q_REPL_RETRY_TAKE,
		.what = "take replication retry",
		.p = {PTEXT(rule), PINT(at)},
		.np = 2,
	};

	return run_claim(m, &a, won);
}

/* ---- garbage collection (migration 9) ---- */

int berth_meta__blob_marked(berth_meta *m, const berth_digest *d, time_t cutoff)
{
	berth_meta_param p[] = {PTEXT(d->str), PINT(cutoff)};
	int64_t v = 0;
	int rc = get_row(m, Q_BLOB_MARKED, p, 2, 1, berth_meta__fill_int, &v, NULL,
			 "no answer to a blob mark");

	return rc < 0 ? rc : v != 0;
}

int berth_meta__gc_links(berth_meta *m, time_t cutoff, int64_t after_repo, const char *after_digest,
			 long limit, berth_meta_gc_row_cb cb, void *ctx)
{
	berth_meta_list l = {.cb.gc_row = cb, .ctx = ctx};
	berth_meta_param p[] = {PINT(cutoff), PINT(after_repo), PTEXT(after_digest), PINT(limit)};

	return list_rows(m, Q_GC_LINKS, p, 4, 3, 0, berth_meta__each_gc_link, &l);
}

int berth_meta__gc_unlink(berth_meta *m, int64_t repo_id, const char *digest, time_t cutoff,
			  int *gone)
{
	berth_meta_write a = {
		.stmt = Q_GC_UNLINK,
		.what = "drop unreferenced blob link",
		.p = {PINT(repo_id), PTEXT(digest), PINT(cutoff)},
		.np = 3,
	};

	return run_claim(m, &a, gone);
}

/*
 * Free the events of processes that are gone, then claim the oldest free
 * event, one statement each, until `limit` or none is left: every claim is
 * one atomic UPDATE ... RETURNING, so two processes never claim one event.
 */
int berth_meta__repl_event_claim(berth_meta *m, const char *holder, time_t now, long limit,
				 berth_meta_repl_event_cb cb, void *ctx)
{
	berth_meta_write fr = {
		.stmt = Q_REPL_EVENTS_FREE,
		.what = "free events of stopped processes",
		.p = {PINT(now)},
		.np = 1,
	};
	berth_meta_param p[] = {PTEXT(holder)};
	int rc;

	if ((rc = run_write(m, &fr)) != 0)
		return rc;
	for (long i = 0; i < limit; i++) {
		berth_meta_claim o = {0, 0, cb, ctx};

		rc = list_rows(m, Q_REPL_EVENT_CLAIM, p, 1, 6, 0, berth_meta__claimed_event, &o);
		if (rc != 0 || !o.got || o.rc != 0)
			break;
	}
	return rc;
}

int berth_meta__repl_exec_hold(berth_meta *m, int64_t id, const char *holder)
{
	berth_meta_write a = {
		.stmt = Q_REPL_EXEC_HOLD,
		.what = "record execution holder",
		.notfound = "no such replication execution",
		.p = {PINT(id), PTEXT(holder)},
		.np = 2,
	};

	return run_write(m, &a);
}

int berth_meta__repl_execs_orphaned(berth_meta *m, time_t now, berth_meta_repl_exec_cb cb,
				    void *ctx)
{
	berth_meta_param p[] = {PINT(now)};
	berth_meta_list l = {.cb.repl_exec = cb, .ctx = ctx};

	return list_rows(m, Q_REPL_EXECS_ORPHANED, p, 1, 7, 0, berth_meta__each_repl_exec, &l);
}

int berth_meta__repl_exec_interrupt(berth_meta *m, int64_t id, time_t ended, const char *summary,
				    int *won)
{
	berth_meta_write a = {
		.stmt = Q_REPL_EXEC_INTERRUPT,
		.what = "mark execution interrupted",
		.p = {PINT(id), PINT(ended), PTEXT(summary)},
		.np = 3,
	};

	return run_claim(m, &a, won);
}

int berth_meta__mirror_tag_checked(berth_meta *m, const char *repo, const char *tag, time_t *t)
{
	berth_meta_param p[] = {PTEXT(repo), PTEXT(tag)};
	int64_t v = 0;
	int rc = get_row(m, Q_MIRROR_TAG_GET, p, 2, 1, berth_meta__fill_int, &v, NULL,
			 "tag never validated");

	*t = (time_t)v;
	return rc;
}

int berth_meta__mirror_tag_mark(berth_meta *m, const char *repo, const char *tag, time_t t)
{
	berth_meta_write a = {
		.stmt = Q_MIRROR_TAG_SET,
		.what = "record tag validation",
		.p = {PTEXT(repo), PTEXT(tag), PINT(t)},
		.np = 3,
	};

	return run_write(m, &a);
}

/* ---- for tests ---- */

int berth_meta__hot_stmt(const char *name)
{
	static const struct {
		const char *name;
		int stmt;
	} hot[] = {
		{"manifest_by_digest", Q_MAN_BY_DIGEST},
		{"manifest_by_tag", Q_MAN_BY_TAG},
		{"blob_linked", Q_BLOB_LINKED},
		{"blob_repos", Q_BLOB_REPOS},
		{"referrers", Q_REFERRERS},
		{"tags", Q_TAGS},
		{"catalog", Q_CATALOG},
		{"upload_check", Q_UPLOAD_CHECK},
		{"robot_get", Q_ROBOT_GET},
		{"user_get", Q_USER_GET},
		{"repo_id", Q_REPO_ID},
	};

	for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++)
		if (strcmp(hot[i].name, name) == 0)
			return hot[i].stmt;
	return -1;
}
