/*
 * api.c - the replication API, /api/v1/replication/..., as a berth_exchange
 * (the one request lifecycle of berth/registry.h). JSON in and out; errors
 * are the distribution error body, like the rest of /api/v1.
 *
 *   GET    /api/v1/replication/policies                rules
 *   POST   /api/v1/replication/policies                create a rule (stored in meta)
 *   GET    /api/v1/replication/policies/NAME           one rule
 *   DELETE /api/v1/replication/policies/NAME           delete an API rule
 *   POST   /api/v1/replication/policies/NAME/run       queue a manual run
 *   GET    /api/v1/replication/executions[?rule=&limit=]  newest first
 *   GET    /api/v1/replication/executions/ID/results   per-artifact results
 *   GET    /api/v1/replication/registries              registries (never a password)
 *   POST   /api/v1/replication/registries              create one; its password is sealed
 *   DELETE /api/v1/replication/registries/NAME         delete an API registry no rule uses
 *   POST   /api/v1/replication/registries/NAME/ping    reach it with its credentials:
 *                                                      {"name", "status": "healthy"|
 *                                                      "unhealthy", "message"}
 *   GET    /api/v1/replication/status                  queued and running runs, events
 *   POST   /api/v1/replication/tick  {"now": T}        the scheduler at time T
 *                                                      (only with the test clock)
 *
 * Rules from the config file are read-only here (403): the file wins.
 */
#include "internal.h"

#include "berth/registry.h"
#include "util/buf.h"
#include "util/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PREFIX "/api/v1/replication"
#define BODY_MAX (256 * 1024)
#define LIST_LIMIT 1000

typedef struct repl_op {
	berth_exchange x;
	berth_replicator *r;
	int admin;
	char *method, *path, *q_rule, *q_limit;
	berth_buf in, out;
	char *content_type;
	int failed, wants_body;
	berth_resp resp;
} repl_op;

int berth_replicator_handles(const char *path)
{
	return path && (strcmp(path, PREFIX) == 0 || strncmp(path, PREFIX "/", 20) == 0);
}

static void reply(repl_op *op, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	berth_buf_reset(&op->out);
	op->resp.status = status;
	if (text && berth_buf_puts(&op->out, text) == 0) {
		op->resp.body = op->out.ptr;
		op->resp.body_len = op->out.len;
	}
	free(text);
	json_decref(body);
}

static void fail(repl_op *op, int status, const char *code, const char *msg)
{
	json_t *e =
		json_pack("{s:[{s:s,s:s,s:n}]}", "errors", "code", code, "message", msg, "detail");

	op->failed = 1;
	reply(op, status, e);
}

static void fail_rc(repl_op *op, int rc)
{
	const char *msg = berth_error_last();

	switch (rc) {
	case BERTH_ENOTFOUND: fail(op, 404, "NOT_FOUND", msg); break;
	case BERTH_EINVALID: fail(op, 400, "BAD_REQUEST", msg); break;
	case BERTH_EEXISTS: fail(op, 409, "CONFLICT", msg); break;
	case BERTH_EDENIED: fail(op, 403, "DENIED", msg); break;
	case BERTH_EBUSY: fail(op, 503, "BUSY", msg); break;
	case BERTH_ETOOBIG: fail(op, 413, "SIZE_INVALID", msg); break;
	default: fail(op, 500, "UNKNOWN", msg);
	}
}

static const char *trigger_name(berth_repl_trigger t)
{
	return t == BERTH_REPL_SCHEDULED ? "scheduled"
	       : t == BERTH_REPL_EVENT	 ? "event_based"
					 : "manual";
}

static json_t *rule_json(const berth_repl_rule *rule)
{
	json_t *filters = json_array(), *o;

	for (size_t i = 0; i < rule->nfilters; i++) {
		const berth_repl_filter *f = &rule->filters[i];
		json_t *fo = json_object();

		if (f->resource)
			json_object_set_new(fo, "resource", json_string(f->resource));
		if (f->pattern)
			json_object_set_new(fo, "pattern", json_string(f->pattern));
		if (f->tag)
			json_object_set_new(fo, "tag", json_string(f->tag));
		if (f->label)
			json_object_set_new(fo, "label", json_string(f->label));
		json_array_append_new(filters, fo);
	}
	o = json_pack("{s:s,s:s,s:s,s:{s:s},s:o,s:b,s:b,s:b,s:i,s:i,s:i,s:b}", "name", rule->name,
		      rule->pull ? "source" : "target", rule->remote, "direction",
		      rule->pull ? "pull" : "push", "trigger", "type", trigger_name(rule->trigger),
		      "filters", filters, "override", rule->override, "delete", rule->delete,
		      "enabled", rule->enabled, "bandwidth", (json_int_t)rule->bandwidth,
		      "concurrency", (json_int_t)rule->concurrency, "workers",
		      (json_int_t)rule->workers, "read_only", rule->from_config);
	if (o && rule->cron)
		json_object_set_new(json_object_get(o, "trigger"), "cron", json_string(rule->cron));
	if (o && rule->registry)
		json_object_set_new(o, "registry", json_string(rule->registry->name));
	return o;
}

static void list_rules(repl_op *op)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	for (size_t i = 0; i < op->r->rules.nrules; i++)
		json_array_append_new(arr, rule_json(&op->r->rules.rules[i]));
	pthread_mutex_unlock(&op->r->lock);
	reply(op, 200, arr);
}

static void get_rule(repl_op *op, const char *name)
{
	berth_repl_rule *rule;
	json_t *o = NULL;

	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	if ((rule = berth_repl_rules_find(&op->r->rules, name)))
		o = rule_json(rule);
	pthread_mutex_unlock(&op->r->lock);
	if (!o)
		fail(op, 404, "NOT_FOUND", "no such replication rule");
	else
		reply(op, 200, o);
}

/* Parse the body as one rule against the live set (registries resolve), then store it. */
static void create_rule(repl_op *op)
{
	json_error_t jerr;
	json_t *body = json_loadb(op->in.ptr ? op->in.ptr : "", op->in.len, 0, &jerr);
	json_t *name = json_object_get(body, "name");
	char *text = NULL, *doc = NULL;
	int rc;

	if (!json_is_object(body) || !json_is_string(name)) {
		fail(op, 400, "BAD_REQUEST", "expected a JSON object with a name");
		goto done;
	}
	text = json_dumps(body, JSON_COMPACT);
	if (!text || asprintf(&doc, "{\"replication\":[%s]}", text) < 0) {
		doc = NULL;
		fail(op, 500, "UNKNOWN", "out of memory");
		goto done;
	}
	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	rc = berth_repl_rules_parse(&op->r->rules, doc, strlen(doc), 0);
	/* Not stored: drop it from the live set again (the database decides). */
	if (rc == 0 &&
	    (rc = berth_meta_repl_rule_put(op->r->meta, json_string_value(name), text)) < 0 &&
	    berth_replicate__reload(op->r) < 0)
		berth_warn("replication: %s", berth_error_last());
	pthread_mutex_unlock(&op->r->lock);
	if (rc < 0)
		fail_rc(op, rc);
	else
		get_rule(op, json_string_value(name)), op->resp.status = op->failed ? 500 : 201;
done:
	free(text);
	free(doc);
	json_decref(body);
}

static void delete_rule(repl_op *op, const char *name)
{
	berth_repl_rule *rule;
	int rc = 0;

	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	if (!(rule = berth_repl_rules_find(&op->r->rules, name)))
		rc = berth_error_set(BERTH_ENOTFOUND, "no such replication rule");
	else if (rule->from_config)
		rc = berth_error_set(BERTH_EDENIED,
				     "the rule comes from the config file; change it there");
	else if ((rc = berth_meta_repl_rule_delete(op->r->meta, name)) == 0)
		rc = berth_replicate__reload(op->r);
	pthread_mutex_unlock(&op->r->lock);
	if (rc < 0)
		fail_rc(op, rc);
	else
		reply(op, 204, NULL);
}

static void run_rule(repl_op *op, const char *name)
{
	int rc = 0;

	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	if (!berth_repl_rules_find(&op->r->rules, name))
		rc = berth_error_set(BERTH_ENOTFOUND, "no such replication rule");
	else
		rc = berth_replicate__enqueue(op->r, name, "manual", NULL, NULL, 0, 0);
	pthread_mutex_unlock(&op->r->lock);
	if (rc < 0)
		fail_rc(op, rc);
	else
		reply(op, 202, json_pack("{s:s,s:b}", "rule", name, "queued", 1));
}

static json_t *summary_json(const char *s)
{
	json_t *o = s && s[0] ? json_loads(s, 0, NULL) : NULL;

	return o ? o : json_object();
}

static int each_exec(void *ctx, const berth_meta_repl_exec *e)
{
	json_t *arr = ctx;

	json_array_append_new(arr,
			      json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,s:o}", "id", (json_int_t)e->id,
					"rule", e->rule, "trigger", e->trigger, "status", e->status,
					"started", (json_int_t)e->started, "ended",
					(json_int_t)e->ended, "summary", summary_json(e->summary)));
	return 0;
}

static void list_execs(repl_op *op)
{
	json_t *arr = json_array();
	long limit = op->q_limit ? strtol(op->q_limit, NULL, 10) : 100;
	int rc;

	if (limit <= 0 || limit > LIST_LIMIT)
		limit = LIST_LIMIT;
	rc = berth_meta_repl_execs(op->r->meta, op->q_rule, 0, limit, each_exec, arr);
	if (rc < 0) {
		json_decref(arr);
		fail_rc(op, rc);
		return;
	}
	reply(op, 200, arr);
}

static int each_result(void *ctx, const berth_meta_repl_result *res)
{
	json_t *arr = ctx;

	json_array_append_new(arr,
			      json_pack("{s:s,s:s,s:s,s:s,s:I}", "artifact", res->artifact,
					"digest", res->digest, "status", res->status, "message",
					res->message, "time", (json_int_t)res->time));
	return 0;
}

static void list_results(repl_op *op, const char *id_text)
{
	json_t *arr = json_array();
	char *end;
	long long id = strtoll(id_text, &end, 10);
	int rc;

	if (*end || id <= 0) {
		json_decref(arr);
		fail(op, 404, "NOT_FOUND", "no such execution");
		return;
	}
	if ((rc = berth_meta_repl_results(op->r->meta, id, each_result, arr)) < 0) {
		json_decref(arr);
		fail_rc(op, rc);
		return;
	}
	reply(op, 200, arr);
}

static void status(repl_op *op)
{
	json_t *running = json_array();
	size_t queued;

	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	queued = op->r->queued;
	for (int i = 0; i < BERTH_REPL_EXECUTORS; i++)
		if (op->r->running[i])
			json_array_append_new(running, json_string(op->r->running[i]));
	pthread_mutex_unlock(&op->r->lock);
	reply(op, 200, json_pack("{s:I,s:o}", "queued", (json_int_t)queued, "running", running));
}

static void tick(repl_op *op)
{
	json_t *body = json_loadb(op->in.ptr ? op->in.ptr : "", op->in.len, 0, NULL);
	json_t *now = json_object_get(body, "now");
	size_t queued = 0;
	int rc;

	if (!op->r->test_clock) {
		fail(op, 404, "NOT_FOUND", "the scheduler is driven by the clock");
	} else if (!json_is_integer(now) || json_integer_value(now) < 0) {
		fail(op, 400, "BAD_REQUEST", "expected {\"now\": seconds since the epoch}");
	} else if ((rc = berth_replicate__tick(op->r, (time_t)json_integer_value(now), &queued)) <
		   0) {
		fail_rc(op, rc);
	} else {
		reply(op, 200, json_pack("{s:I}", "queued", (json_int_t)queued));
	}
	json_decref(body);
}

/* ---- registries ---- */

static json_t *registry_json(const berth_repl_registry *g)
{
	json_t *o = json_pack("{s:s,s:s,s:b,s:b,s:b}", "name", g->name, "url", g->url, "insecure",
			      g->insecure, "read_only", g->from_config, "has_password",
			      g->password || g->password_file);

	if (o && g->description)
		json_object_set_new(o, "description", json_string(g->description));
	if (o && g->username)
		json_object_set_new(o, "username", json_string(g->username));
	return o;
}

static void list_registries(repl_op *op)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	for (size_t i = 0; i < op->r->rules.nregistries; i++)
		json_array_append_new(arr, registry_json(&op->r->rules.registries[i]));
	pthread_mutex_unlock(&op->r->lock);
	reply(op, 200, arr);
}

/* Check the body as a registry, seal its password, store it without, reload the set. */
static int store_registry(repl_op *op, json_t *body, const char *name)
{
	berth_repl_rules tmp = {0};
	json_t *doc = json_pack("{s:[O]}", "registries", body);
	json_t *cred = json_object_get(body, "credential");
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL, *sealed = NULL, *rest = NULL;
	int rc;

	if (!text) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = berth_repl_rules_parse(&tmp, text, strlen(text), 0)) < 0)
		goto done;
	if (tmp.registries[0].password &&
	    (rc = berth_replicate__seal(op->r, tmp.registries[0].password, &sealed)) < 0)
		goto done;
	json_object_del(cred, "password");
	if (!(rest = json_dumps(body, JSON_COMPACT))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	if (berth_repl_rules_find_registry(&op->r->rules, name))
		rc = berth_error_set(BERTH_EEXISTS, "registry '%.64s' exists", name);
	else if ((rc = berth_meta_repl_registry_put(op->r->meta, name, rest, sealed)) == 0)
		rc = berth_replicate__reload(op->r);
	pthread_mutex_unlock(&op->r->lock);
done:
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	free(sealed);
	free(rest);
	json_decref(doc);
	berth_repl_rules_dispose(&tmp);
	return rc;
}

static void create_registry(repl_op *op)
{
	json_t *body = json_loadb(op->in.ptr ? op->in.ptr : "", op->in.len, 0, NULL);
	json_t *name = json_object_get(body, "name");
	char copy[BERTH_META_NAME_MAX + 1];
	int rc;

	if (!json_is_object(body) || !json_is_string(name)) {
		fail(op, 400, "BAD_REQUEST", "expected a JSON object with a name");
	} else {
		snprintf(copy, sizeof(copy), "%s", json_string_value(name));
		if ((rc = store_registry(op, body, copy)) < 0)
			fail_rc(op, rc);
		else
			reply(op, 201, json_pack("{s:s}", "name", copy));
	}
	if (op->in.ptr)
		explicit_bzero(op->in.ptr, op->in.cap);
	json_decref(body);
}

static void delete_registry(repl_op *op, const char *name)
{
	berth_repl_registry *g;
	int rc = 0;

	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	if (!(g = berth_repl_rules_find_registry(&op->r->rules, name))) {
		rc = berth_error_set(BERTH_ENOTFOUND, "no such registry");
	} else if (g->from_config) {
		rc = berth_error_set(BERTH_EDENIED,
				     "the registry comes from the config file; change it there");
	} else {
		for (size_t i = 0; i < op->r->rules.nrules && rc == 0; i++)
			if (op->r->rules.rules[i].registry == g)
				rc = berth_error_set(BERTH_EEXISTS, "rule %s uses the registry",
						     op->r->rules.rules[i].name);
	}
	if (rc == 0 && (rc = berth_meta_repl_registry_delete(op->r->meta, name)) == 0)
		rc = berth_replicate__reload(op->r);
	pthread_mutex_unlock(&op->r->lock);
	if (rc < 0)
		fail_rc(op, rc);
	else
		reply(op, 204, NULL);
}

/*
 * Harbor's registry health check: GET /v2/ with the registry's credentials,
 * from private copies (the set may reload meanwhile). Unreachable or refused
 * is an answer (200, "unhealthy" and why), not an error of this request.
 */
static void ping_registry(repl_op *op, const char *name)
{
	berth_repl_registry *g, reg = {0};
	berth_repl_rule tmp = {0}, rule = {0};
	int rc = 0;

	pthread_mutex_lock(&op->r->lock);
	berth_replicate__fresh(op->r);
	if (!(g = berth_repl_rules_find_registry(&op->r->rules, name))) {
		rc = berth_error_set(BERTH_ENOTFOUND, "no such registry");
	} else {
		tmp.name = g->name;
		tmp.remote = g->url;
		tmp.registry = g;
		rc = berth_replicate__rule_copy(&rule, &reg, &tmp);
	}
	pthread_mutex_unlock(&op->r->lock);
	if (rc < 0) {
		fail_rc(op, rc);
	} else if ((rc = berth_replicate__ping(op->r, &rule, &reg)) < 0) {
		berth_info("replication: registry %s is unhealthy: %s", name, berth_error_last());
		reply(op, 200,
		      json_pack("{s:s,s:s,s:s}", "name", name, "status", "unhealthy", "message",
				berth_error_last()));
	} else {
		reply(op, 200,
		      json_pack("{s:s,s:s,s:s}", "name", name, "status", "healthy", "message", ""));
	}
	berth_replicate__rule_dispose(&rule, &reg);
}

static int is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* Route by path and method once the body (if any) has arrived. */
static void dispatch(repl_op *op)
{
	const char *p = op->path + strlen(PREFIX), *m = op->method;
	char name[BERTH_META_NAME_MAX + 8];
	const char *slash;

	if (!op->admin) {
		fail(op, 403, "DENIED", "replication is for system administrators");
	} else if (is(p, "/policies") || is(p, "/policies/")) {
		if (is(m, "GET"))
			list_rules(op);
		else if (is(m, "POST"))
			create_rule(op);
		else
			fail(op, 405, "UNSUPPORTED", "method not allowed");
	} else if (strncmp(p, "/policies/", 10) == 0) {
		p += 10;
		slash = strchr(p, '/');
		snprintf(name, sizeof(name), "%.*s", (int)(slash ? (size_t)(slash - p) : strlen(p)),
			 p);
		if (slash && is(slash, "/run") && is(m, "POST"))
			run_rule(op, name);
		else if (!slash && is(m, "GET"))
			get_rule(op, name);
		else if (!slash && is(m, "DELETE"))
			delete_rule(op, name);
		else
			fail(op, slash ? 404 : 405, slash ? "NOT_FOUND" : "UNSUPPORTED",
			     slash ? "no such endpoint" : "method not allowed");
	} else if (is(p, "/registries") && is(m, "GET")) {
		list_registries(op);
	} else if (is(p, "/registries") && is(m, "POST")) {
		create_registry(op);
	} else if (strncmp(p, "/registries/", 12) == 0 && !strchr(p + 12, '/') && is(m, "DELETE")) {
		snprintf(name, sizeof(name), "%s", p + 12);
		delete_registry(op, name);
	} else if (strncmp(p, "/registries/", 12) == 0 && (slash = strchr(p + 12, '/')) &&
		   is(slash, "/ping") && is(m, "POST")) {
		snprintf(name, sizeof(name), "%.*s", (int)(slash - (p + 12)), p + 12);
		ping_registry(op, name);
	} else if (is(p, "/executions") && is(m, "GET")) {
		list_execs(op);
	} else if (strncmp(p, "/executions/", 12) == 0 && is(m, "GET") &&
		   (slash = strchr(p + 12, '/')) && is(slash, "/results")) {
		snprintf(name, sizeof(name), "%.*s", (int)(slash - (p + 12)), p + 12);
		list_results(op, name);
	} else if (is(p, "/status") && is(m, "GET")) {
		status(op);
	} else if (is(p, "/tick") && is(m, "POST")) {
		tick(op);
	} else {
		fail(op, 404, "NOT_FOUND", "no such endpoint");
	}
}

static int op_wants_body(const berth_exchange *x)
{
	const repl_op *op = (const repl_op *)x;

	return op->wants_body && !op->failed;
}

static int op_failed(const berth_exchange *x)
{
	return ((const repl_op *)x)->failed;
}

static int op_body(berth_exchange *x, const char *data, size_t len)
{
	repl_op *op = (repl_op *)x;

	op->resp.bytes_in += len;
	if (op->failed)
		return 1;
	if (!op->wants_body || !len)
		return 0;
	if (berth_buf_put(&op->in, data, len) != 0) {
		fail(op, 413, "SIZE_INVALID", "request body too large");
		return 1;
	}
	return 0;
}

static void op_finish(berth_exchange *x, berth_resp *resp)
{
	repl_op *op = (repl_op *)x;

	if (!op->failed)
		dispatch(op);
	op->resp.headers[0].name = "Content-Type";
	op->resp.headers[0].value = op->content_type;
	op->resp.nheaders = op->resp.body ? 1 : 0;
	*resp = op->resp;
}

static void op_free(berth_exchange *x)
{
	repl_op *op = (repl_op *)x;

	if (!op)
		return;
	berth_buf_dispose_secret(&op->in); /* may have held a password */
	berth_buf_dispose(&op->out);
	free(op->method);
	free(op->path);
	free(op->q_rule);
	free(op->q_limit);
	free(op->content_type);
	free(op);
}

static const berth_exchange_ops repl_ops = {
	.wants_body = op_wants_body,
	.body = op_body,
	.failed = op_failed,
	.finish = op_finish,
	.free = op_free,
};

static char *query_copy(const berth_req *req, const char *name)
{
	const char *v = req->query ? req->query(req->ctx, name) : NULL;

	return v ? strndup(v, BERTH_META_NAME_MAX) : NULL;
}

int berth_replicator_begin(berth_replicator *r, const berth_req *req, int admin,
			   berth_exchange **out)
{
	repl_op *op = calloc(1, sizeof(*op));

	*out = NULL;
	if (!op)
		return berth_error_set(BERTH_ERROR, "out of memory");
	op->x.ops = &repl_ops;
	op->r = r;
	op->admin = admin;
	op->resp.fd = -1;
	op->resp.status = 500;
	op->resp.route = "replication_api";
	berth_buf_init(&op->in, BODY_MAX);
	berth_buf_init(&op->out, 0);
	op->method = strdup(req->method ? req->method : "");
	op->path = strdup(req->path ? req->path : "");
	op->content_type = strdup("application/json");
	op->q_rule = query_copy(req, "rule");
	op->q_limit = query_copy(req, "limit");
	if (!op->method || !op->path || !op->content_type) {
		op_free(&op->x);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	*out = &op->x;
	op->wants_body = is(op->method, "POST") || is(op->method, "PUT");
	if (req->has_body_length && req->body_length > BODY_MAX)
		fail(op, 413, "SIZE_INVALID", "request body too large");
	return 0;
}
