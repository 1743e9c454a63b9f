/*
 * rows.c - result rows to berth_meta structs and callbacks, for every driver.
 *
 * Each driver (sqlite.c, postgres.c) keeps its SQL, its parameter binding
 * and the stepping of its results; what it hands over is one row at a time
 * as its columns' text (internal.h, "Row decoding"). Turning such a row into
 * a berth_meta_user, a berth_meta_robot, an audit record... does not depend
 * on the database, so it is written once here and both drivers pass these
 * functions to their get_row/list_rows.
 */
#include "lib/meta/internal.h"
#include "util/buf.h"

#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A column's text, "" for NULL. */
static const char *text(const char *s)
{
	return s ? s : "";
}

int64_t berth_meta__num(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

int64_t berth_meta__page_limit(long n)
{
	if (n < 0)
		return -1;
	return n >= LONG_MAX ? (int64_t)LONG_MAX : (int64_t)n + 1;
}

int berth_meta__cb_result(int r)
{
	return r < 0 ? r : 0;
}

int berth_meta__fill_int(void *out, void *extra, const char *const *col)
{
	(void)extra;
	*(int64_t *)out = berth_meta__num(col[0]);
	return 0;
}

int berth_meta__fill_pair(void *out, void *extra, const char *const *col)
{
	long *v = out;

	(void)extra;
	v[0] = (long)berth_meta__num(col[0]);
	v[1] = (long)berth_meta__num(col[1]);
	return 0;
}

int berth_meta__fill_text(void *out, void *extra, const char *const *col)
{
	(void)extra;
	return col[0] ? berth_buf_puts(out, col[0]) : 0;
}

static void user_from(berth_meta_user *u, const char *const *col)
{
	memset(u, 0, sizeof(*u));
	u->id = berth_meta__num(col[0]);
	snprintf(u->name, sizeof(u->name), "%s", text(col[1]));
	snprintf(u->password_hash, sizeof(u->password_hash), "%s", text(col[2]));
	u->sysadmin = berth_meta__num(col[3]) != 0;
	u->created = (time_t)berth_meta__num(col[4]);
	u->generation = berth_meta__num(col[5]);
	u->disabled = berth_meta__num(col[6]) != 0;
}

int berth_meta__fill_user(void *out, void *extra, const char *const *col)
{
	(void)extra;
	user_from(out, col);
	return 0;
}

static void project_from(berth_meta_project *p, const char *const *col)
{
	memset(p, 0, sizeof(*p));
	p->id = berth_meta__num(col[0]);
	snprintf(p->name, sizeof(p->name), "%s", text(col[1]));
	p->public = berth_meta__num(col[2]) != 0;
	p->created = (time_t)berth_meta__num(col[3]);
}

int berth_meta__fill_project(void *out, void *extra, const char *const *col)
{
	(void)extra;
	project_from(out, col);
	return 0;
}

static void robot_from(berth_meta_robot *r, const char *const *col)
{
	memset(r, 0, sizeof(*r));
	r->id = berth_meta__num(col[0]);
	snprintf(r->name, sizeof(r->name), "%s", text(col[1]));
	snprintf(r->secret_hash, sizeof(r->secret_hash), "%s", text(col[2]));
	r->expires = (time_t)berth_meta__num(col[3]);
	r->created = (time_t)berth_meta__num(col[4]);
	r->generation = berth_meta__num(col[6]);
}

int berth_meta__fill_robot(void *out, void *extra, const char *const *col)
{
	berth_meta_robot *r = out;
	berth_buf *perms = extra;
	size_t at;
	int rc;

	robot_from(r, col);
	if (!perms)
		return 0;
	at = perms->len;
	if ((rc = berth_buf_puts(perms, text(col[5]))) != 0)
		return rc;
	/* After the append: the buffer may have moved. */
	r->permissions = perms->ptr + at;
	return 0;
}

int berth_meta__each_name(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;

	return l->cb.name(l->ctx, text(col[0]));
}

int berth_meta__each_user(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;
	berth_meta_user u;
	int r;

	user_from(&u, col);
	r = l->cb.user(l->ctx, &u);
	explicit_bzero(u.password_hash, sizeof(u.password_hash));
	return r;
}

int berth_meta__each_project(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;
	berth_meta_project p;

	project_from(&p, col);
	return l->cb.project(l->ctx, &p);
}

int berth_meta__each_member(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;

	return l->cb.member(l->ctx, text(col[0]), (int)berth_meta__num(col[1]));
}

int berth_meta__each_policy(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;

	return l->cb.policy(l->ctx, text(col[0]), text(col[1]));
}

int berth_meta__each_robot(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;
	berth_meta_robot r;
	int ret;

	robot_from(&r, col);
	r.permissions = text(col[5]);
	ret = l->cb.robot(l->ctx, &r);
	explicit_bzero(r.secret_hash, sizeof(r.secret_hash));
	return ret;
}

int berth_meta__each_audit(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;
	berth_meta_audit e = {
		.id = berth_meta__num(col[0]),
		.time = (time_t)berth_meta__num(col[1]),
		.who = text(col[2]),
		.action = text(col[3]),
		.resource = text(col[4]),
		.address = text(col[5]),
		.result = text(col[6]),
	};

	return l->cb.audit(l->ctx, &e);
}

int berth_meta__each_repl_rule(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;

	return l->cb.repl_rule(l->ctx, text(col[0]), text(col[1]));
}

int berth_meta__each_repl_registry(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;

	return l->cb.repl_registry(l->ctx, text(col[0]), text(col[1]), text(col[2]));
}

int berth_meta__each_repl_exec(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;
	berth_meta_repl_exec e = {
		.id = berth_meta__num(col[0]),
		.rule = text(col[1]),
		.trigger = text(col[2]),
		.status = text(col[3]),
		.started = (time_t)berth_meta__num(col[4]),
		.ended = (time_t)berth_meta__num(col[5]),
		.summary = text(col[6]),
	};

	return l->cb.repl_exec(l->ctx, &e);
}

int berth_meta__each_repl_result(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;
	berth_meta_repl_result r = {
		.exec_id = berth_meta__num(col[0]),
		.artifact = text(col[1]),
		.digest = text(col[2]),
		.status = text(col[3]),
		.message = text(col[4]),
		.time = (time_t)berth_meta__num(col[5]),
	};

	return l->cb.repl_result(l->ctx, &r);
}

static void event_from(berth_meta_repl_event *e, const char *const *col)
{
	*e = (berth_meta_repl_event){
		.id = berth_meta__num(col[0]),
		.rule = text(col[1]),
		.repo = text(col[2]),
		.reference = text(col[3]),
		.deleted = berth_meta__num(col[4]) != 0,
		.time = (time_t)berth_meta__num(col[5]),
	};
}

int berth_meta__each_repl_event(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;
	berth_meta_repl_event e;

	event_from(&e, col);
	return l->cb.repl_event(l->ctx, &e);
}

int berth_meta__each_repl_retry(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;

	return l->cb.repl_retry(l->ctx, text(col[0]), (time_t)berth_meta__num(col[1]));
}

int berth_meta__each_gc_link(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;

	return l->cb.gc_row(l->ctx, berth_meta__num(col[0]), text(col[1]), text(col[2]));
}

int berth_meta__each_id(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;

	return l->cb.id(l->ctx, text(col[0]));
}

int berth_meta__each_referrer(void *ctx, const char *const *col)
{
	berth_meta_list *l = ctx;
	/* artifact_type and annotations stay NULL when the manifest has none */
	berth_meta_referrer r = {
		.digest = col[0],
		.media_type = col[1],
		.size = (uint64_t)berth_meta__num(col[2]),
		.artifact_type = col[3],
		.annotations = col[4],
	};

	return l->cb.referrer(l->ctx, &r);
}

int berth_meta__claimed_event(void *ctx, const char *const *col)
{
	berth_meta_claim *o = ctx;
	berth_meta_repl_event e;

	event_from(&e, col);
	o->got = 1;
	return (o->rc = o->cb(o->ctx, &e));
}
