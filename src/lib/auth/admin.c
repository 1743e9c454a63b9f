/*
 * admin.c - the JSON admin API under /api/v1/ (docs/access-control.md):
 * users, passwords, projects and their visibility, members, robots and the
 * audit log. Bodies are parsed with duplicate keys refused and every field
 * checked before anything changes (400 INVALID); 401 without credentials,
 * 403 without the right, 404 for what does not exist, 409 for what does.
 * Every change is audited.
 */
#include "lib/auth/internal.h"

#include "berth/policy.h"
#include "berth/ref.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEGS_MAX 6
#define PASSWORD_MIN 8
#define ROBOT_SECRET_LEN 33 /* 32 characters, 192 bits */
#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX 1000

typedef struct {
	berth_auth_op *op;
	berth_auth *a;
	const berth_identity *id;
	const char *seg[SEGS_MAX];
	size_t nseg;
	const char *m;
	json_t *body; /* parsed request body (POST/PUT) */
} ctx;

static int is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* ---- checks shared by the handlers ---- */

static int authenticated(ctx *c)
{
	if (c->id->principal.kind != BERTH_PRINCIPAL_ANONYMOUS)
		return 1;
	berth_auth__unauthorized(c->op, "authentication required");
	return 0;
}

static int need_sysadmin(ctx *c)
{
	if (!authenticated(c))
		return 0;
	if (berth_auth__is_sysadmin(c->id))
		return 1;
	berth_auth__error(c->op, 403, "DENIED", "only a system administrator may do this");
	return 0;
}

/* The caller's role in `project` (users only); BERTH_ROLE_NONE otherwise. */
static int role_in(ctx *c, const char *project)
{
	int role = BERTH_ROLE_NONE;

	if (c->id->principal.kind != BERTH_PRINCIPAL_USER)
		return BERTH_ROLE_NONE;
	if (berth_meta_member_get(c->a->meta, project, c->id->principal.name, &role) < 0)
		return BERTH_ROLE_NONE;
	return role;
}

static int need_project_admin(ctx *c, const char *project)
{
	if (!authenticated(c))
		return 0;
	if (berth_auth__is_sysadmin(c->id) || role_in(c, project) == BERTH_ROLE_ADMIN)
		return 1;
	berth_auth__error(c->op, 403, "DENIED", "only a project administrator may do this");
	return 0;
}

static int parse_body(ctx *c)
{
	json_error_t err;
	berth_buf *in = &c->op->in;

	c->body = json_loadb(in->ptr ? in->ptr : "", in->len, JSON_REJECT_DUPLICATES, &err);
	if (!c->body || !json_is_object(c->body)) {
		berth_auth__error(c->op, 400, "INVALID", "the body must be a JSON object");
		return -1;
	}
	return 0;
}

static int invalid(ctx *c, const char *what)
{
	berth_auth__error(c->op, 400, "INVALID", "%s", what);
	return -1;
}

/* A string field: required or optional (then *out may stay NULL). */
static int str_field(ctx *c, const char *key, int required, const char **out)
{
	json_t *v = json_object_get(c->body, key);

	*out = NULL;
	if (!v) {
		if (!required)
			return 0;
		berth_auth__error(c->op, 400, "INVALID", "field \"%s\" is required", key);
		return -1;
	}
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
		berth_auth__error(c->op, 400, "INVALID", "field \"%s\" must be a string", key);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

static int bool_field(ctx *c, const char *key, int required, int *out)
{
	json_t *v = json_object_get(c->body, key);

	if (!v) {
		if (!required)
			return 0;
		berth_auth__error(c->op, 400, "INVALID", "field \"%s\" is required", key);
		return -1;
	}
	if (!json_is_boolean(v)) {
		berth_auth__error(c->op, 400, "INVALID", "field \"%s\" must be true or false", key);
		return -1;
	}
	*out = json_is_true(v);
	return 0;
}

static int password_ok(ctx *c, const char *pw)
{
	size_t n = strlen(pw);

	if (n < PASSWORD_MIN || n > BERTH_CRED_BCRYPT_MAX)
		return invalid(c, "the password must be 8 to 72 bytes long") == 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f)
			return invalid(c, "the password must not contain control characters") == 0;
	return 1;
}

static int hash_ok(const char *h)
{
	size_t n = strlen(h);

	if (n < 20 || n >= BERTH_CRED_HASH_MAX)
		return 0;
	if (strncmp(h, "$2y$", 4) && strncmp(h, "$2a$", 4) && strncmp(h, "$2b$", 4) &&
	    strncmp(h, "$5$", 3) && strncmp(h, "$6$", 3))
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)h[i] <= 0x20 || h[i] == 0x7f || h[i] == ':')
			return 0;
	return 1;
}

static void audit(ctx *c, const char *action, const char *fmt, const char *a1, const char *a2)
{
	char res[600];

	snprintf(res, sizeof(res), fmt, a1, a2 ? a2 : "");
	berth_auth__audit(c->a, berth_auth__who(c->id), action, res, c->op->remote_addr, "ok");
}

/* Map a meta result: 0 → 0; ENOTFOUND → 404; EEXISTS → 409; else 500. Returns -1 if answered. */
static int meta_result(ctx *c, int rc, const char *what)
{
	if (rc >= 0)
		return 0;
	if (rc == BERTH_ENOTFOUND)
		berth_auth__error(c->op, 404, "NOT_FOUND", "%s not found", what);
	else if (rc == BERTH_EEXISTS)
		berth_auth__error(c->op, 409, "CONFLICT", "%s already exists", what);
	else
		berth_auth__internal(c->op);
	return -1;
}

static json_t *arr_or_fail(ctx *c, json_t *arr, int ok)
{
	if (!ok || !arr) {
		json_decref(arr);
		berth_error_set(BERTH_ERROR, "out of memory or database error");
		berth_auth__internal(c->op);
		return NULL;
	}
	return arr;
}

/* ---- users ---- */

static int user_cb(void *p, const berth_meta_user *u)
{
	char t[32];

	berth_auth__time(u->created, t, sizeof(t));
	return json_array_append_new(p, json_pack("{s:s, s:b, s:b, s:s}", "name", u->name,
						  "sysadmin", u->sysadmin, "disabled", u->disabled,
						  "created_at", t))
		       ? -1
		       : 0;
}

static void users_list(ctx *c)
{
	json_t *arr = json_array();
	int rc;

	if (!need_sysadmin(c))
		goto done;
	rc = berth_meta_users(c->a->meta, user_cb, arr);
	if (!(arr = arr_or_fail(c, arr, rc >= 0)))
		return;
	berth_auth__json(c->op, 200, arr);
	return;
done:
	json_decref(arr);
}

static void user_create(ctx *c)
{
	const char *name, *pw, *given_hash;
	int sysadmin = 0, rc;
	char hash[BERTH_CRED_HASH_MAX];

	if (!need_sysadmin(c) || parse_body(c) < 0)
		return;
	if (str_field(c, "name", 1, &name) < 0 || str_field(c, "password", 0, &pw) < 0 ||
	    str_field(c, "password_hash", 0, &given_hash) < 0 ||
	    bool_field(c, "sysadmin", 0, &sysadmin) < 0)
		return;
	if (!berth_auth__user_name_valid(name)) {
		invalid(c, "invalid user name (1 to 255 of A-Z a-z 0-9 . _ - @)");
		return;
	}
	if (!pw == !given_hash) {
		invalid(c, "give either \"password\" or \"password_hash\"");
		return;
	}
	if (pw) {
		if (!password_ok(c, pw))
			return;
		if (berth_cred_password_hash(hash, pw) < 0) {
			berth_auth__internal(c->op);
			return;
		}
	} else {
		if (!hash_ok(given_hash)) {
			invalid(c, "password_hash must be a bcrypt or SHA-crypt hash");
			return;
		}
		snprintf(hash, sizeof(hash), "%s", given_hash);
	}
	rc = berth_meta_user_create(c->a->meta, name, hash, sysadmin, NULL);
	explicit_bzero(hash, sizeof(hash));
	if (meta_result(c, rc, "user") < 0)
		return;
	audit(c, "user_create", "user/%s%s", name, NULL);
	berth_auth__json(c->op, 201, json_pack("{s:s, s:b}", "name", name, "sysadmin", sysadmin));
}

static void user_delete(ctx *c, const char *name)
{
	if (!need_sysadmin(c))
		return;
	if (meta_result(c, berth_meta_user_delete(c->a->meta, name), "user") < 0)
		return;
	audit(c, "user_delete", "user/%s%s", name, NULL);
	berth_auth__empty(c->op, 204);
}

/*
 * One's own password is changed only with the current one, even under Basic
 * (a stolen token or a borrowed session must not be enough to take the
 * account); a system administrator resetting another's needs none.
 */
static int current_password_ok(ctx *c, const char *name)
{
	berth_meta_user u;
	const char *cur;
	int ok;

	if (str_field(c, "current_password", 0, &cur) < 0)
		return 0;
	if (!cur) {
		invalid(c, "field \"current_password\" is required to change your own password");
		return 0;
	}
	if (berth_meta_user_get(c->a->meta, name, &u) < 0) {
		berth_auth__internal(c->op);
		return 0;
	}
	ok = strlen(cur) <= BERTH_CRED_BCRYPT_MAX &&
	     berth_cred_password_verify(u.password_hash, cur) == 0;
	explicit_bzero(&u, sizeof(u));
	if (!ok) {
		berth_auth__audit(c->a, berth_auth__who(c->id), "user_password",
				  "user/current_password", c->op->remote_addr, "denied");
		berth_auth__error(c->op, 403, "DENIED", "the current password is wrong");
	}
	return ok;
}

static void user_password(ctx *c, const char *name)
{
	const char *pw;
	char hash[BERTH_CRED_HASH_MAX];
	int self, rc;

	if (!authenticated(c))
		return;
	self = c->id->principal.kind == BERTH_PRINCIPAL_USER && is(c->id->principal.name, name);
	if (!self && !berth_auth__is_sysadmin(c->id)) {
		berth_auth__error(c->op, 403, "DENIED",
				  "only the user or a system administrator may do this");
		return;
	}
	if (parse_body(c) < 0 || str_field(c, "password", 1, &pw) < 0 || !password_ok(c, pw))
		return;
	if (self && !current_password_ok(c, name))
		return;
	if (berth_cred_password_hash(hash, pw) < 0) {
		berth_auth__internal(c->op);
		return;
	}
	rc = berth_meta_user_set_password(c->a->meta, name, hash);
	explicit_bzero(hash, sizeof(hash));
	if (meta_result(c, rc, "user") < 0)
		return;
	audit(c, "user_password", "user/%s%s", name, NULL);
	berth_auth__empty(c->op, 204);
}

/* PUT /users/<name> {"disabled": bool}: a disabled user cannot log in; tokens die. */
static void user_update(ctx *c, const char *name)
{
	int disabled = 0;

	if (!need_sysadmin(c) || parse_body(c) < 0 || bool_field(c, "disabled", 1, &disabled) < 0)
		return;
	if (meta_result(c, berth_meta_user_set_disabled(c->a->meta, name, disabled), "user") < 0)
		return;
	audit(c, disabled ? "user_disable" : "user_enable", "user/%s%s", name, NULL);
	berth_auth__empty(c->op, 204);
}

/* ---- projects ---- */

typedef struct {
	ctx *c;
	json_t *arr;
} plist;

static int may_see(ctx *c, const berth_meta_project *p)
{
	if (p->public || berth_auth__is_sysadmin(c->id))
		return 1;
	if (c->id->principal.kind == BERTH_PRINCIPAL_USER)
		return role_in(c, p->name) != BERTH_ROLE_NONE;
	if (c->id->principal.kind == BERTH_PRINCIPAL_ROBOT)
		for (size_t i = 0; i < c->id->nperms; i++)
			if (is(c->id->perms[i].project, p->name))
				return 1;
	return 0;
}

static int project_cb(void *p, const berth_meta_project *pr)
{
	plist *l = p;

	if (!may_see(l->c, pr))
		return 0;
	return json_array_append_new(
		       l->arr, json_pack("{s:s, s:b}", "name", pr->name, "public", pr->public))
		       ? -1
		       : 0;
}

static void projects_list(ctx *c)
{
	plist l = {c, json_array()};
	int rc = berth_meta_projects(c->a->meta, project_cb, &l);

	if (!(l.arr = arr_or_fail(c, l.arr, rc >= 0)))
		return;
	berth_auth__json(c->op, 200, l.arr);
}

static void project_create(ctx *c)
{
	const char *name;
	int pub = 0;

	if (!need_sysadmin(c) || parse_body(c) < 0)
		return;
	if (str_field(c, "name", 1, &name) < 0 || bool_field(c, "public", 0, &pub) < 0)
		return;
	if (!berth_auth__component_valid(name)) {
		invalid(c, "invalid project name (lowercase letters, digits and . _ -)");
		return;
	}
	if (meta_result(c, berth_meta_project_create(c->a->meta, name, pub), "project") < 0)
		return;
	audit(c, "project_create", "project/%s%s", name, NULL);
	berth_auth__json(c->op, 201, json_pack("{s:s, s:b}", "name", name, "public", pub));
}

/* The PEM blocks of a key list as a JSON array of strings. */
static json_t *key_array(const char *keys)
{
	json_t *arr = json_array();
	const char *p = keys, *end;

	while (arr && (p = strstr(p, "-----BEGIN ")) != NULL) {
		if (!(end = strstr(p, "-----END ")) || !(end = strstr(end + 9, "-----")))
			break;
		end += 5;
		json_array_append_new(arr, json_stringn(p, (size_t)(end - p)));
		p = end;
	}
	return arr;
}

static void project_get(ctx *c, const char *name)
{
	berth_buf keys = BERTH_BUF_INIT(BERTH_META_SIGNATURE_KEYS_MAX + 1);
	berth_meta_project p;
	int rc = berth_meta_project_get(c->a->meta, name, &p);

	if (rc == 0 && !may_see(c, &p))
		rc = BERTH_ENOTFOUND; /* what one may not see does not exist */
	if (rc == 0)
		rc = berth_meta_project_signature_keys(c->a->meta, name, &keys);
	if (meta_result(c, rc, "project") == 0 && keys.len)
		berth_auth__json(c->op, 200,
				 json_pack("{s:s, s:b, s:o}", "name", p.name, "public", p.public,
					   "require_signature", key_array(keys.ptr)));
	else if (rc == 0) /* no policy: the answer is as before policies existed */
		berth_auth__json(c->op, 200,
				 json_pack("{s:s, s:b}", "name", p.name, "public", p.public));
	berth_buf_dispose(&keys);
}

/*
 * "require_signature": an array of PEM public keys (at most
 * BERTH_POLICY_KEYS_MAX; [] removes the policy) into one text; NULL when the
 * field is absent. Returns -1 after answering 400.
 */
static int keys_field(ctx *c, berth_buf *out, int *present)
{
	json_t *v = json_object_get(c->body, "require_signature"), *k;
	size_t i;

	*present = v != NULL;
	if (!v)
		return 0;
	if (!json_is_array(v))
		return invalid(c,
			       "field \"require_signature\" must be an array of PEM public keys");
	json_array_foreach(v, i, k)
	{
		if (!json_is_string(k) || strlen(json_string_value(k)) != json_string_length(k))
			return invalid(c, "each signature key must be a PEM string");
		if (berth_buf_puts(out, json_string_value(k)) || berth_buf_puts(out, "\n"))
			return invalid(c, "the signature keys are too long");
	}
	if (json_array_size(v) && berth_policy_keys_check(out->ptr, NULL) < 0) {
		berth_auth__error(c->op, 400, "INVALID", "require_signature: %s",
				  berth_error_last());
		return -1;
	}
	return 0;
}

static void project_update(ctx *c, const char *name)
{
	berth_buf keys = BERTH_BUF_INIT(BERTH_META_SIGNATURE_KEYS_MAX);
	json_t *pubv;
	int pub = 0, has_keys = 0;

	if (!need_project_admin(c, name) || parse_body(c) < 0 ||
	    bool_field(c, "public", 0, &pub) < 0 || keys_field(c, &keys, &has_keys) < 0)
		goto done;
	pubv = json_object_get(c->body, "public");
	if (!pubv && !has_keys) {
		invalid(c, "nothing to change: give \"public\" or \"require_signature\"");
		goto done;
	}
	if (pubv &&
	    meta_result(c, berth_meta_project_set_public(c->a->meta, name, pub), "project") < 0)
		goto done;
	if (has_keys && meta_result(c,
				    berth_meta_project_set_signature_keys(c->a->meta, name,
									  keys.ptr ? keys.ptr : ""),
				    "project") < 0)
		goto done;
	if (pubv)
		audit(c, "project_update", pub ? "project/%s public%s" : "project/%s private%s",
		      name, NULL);
	if (has_keys)
		audit(c, "project_update",
		      keys.len ? "project/%s require-signature%s"
			       : "project/%s no-signature-policy%s",
		      name, NULL);
	berth_auth__empty(c->op, 204);
done:
	berth_buf_dispose(&keys);
}

static void project_delete(ctx *c, const char *name)
{
	if (!need_sysadmin(c))
		return;
	if (meta_result(c, berth_meta_project_delete(c->a->meta, name), "project") < 0)
		return;
	audit(c, "project_delete", "project/%s%s", name, NULL);
	berth_auth__empty(c->op, 204);
}

/* ---- members ---- */

static int member_cb(void *p, const char *user, int role)
{
	return json_array_append_new(p, json_pack("{s:s, s:s}", "user", user, "role",
						  berth_auth_role_name((berth_role)role)))
		       ? -1
		       : 0;
}

static int project_exists(ctx *c, const char *name)
{
	berth_meta_project p;

	return meta_result(c, berth_meta_project_get(c->a->meta, name, &p), "project") == 0;
}

static void members_list(ctx *c, const char *project)
{
	json_t *arr;
	int rc;

	if (!need_project_admin(c, project) || !project_exists(c, project))
		return;
	arr = json_array();
	rc = berth_meta_members(c->a->meta, project, member_cb, arr);
	if (!(arr = arr_or_fail(c, arr, rc >= 0)))
		return;
	berth_auth__json(c->op, 200, arr);
}

static void member_set(ctx *c, const char *project, const char *user)
{
	const char *role_s;
	berth_role role;
	berth_meta_user u;
	int rc;

	if (!need_project_admin(c, project) || parse_body(c) < 0 ||
	    str_field(c, "role", 1, &role_s) < 0)
		return;
	if (berth_auth_role_parse(role_s, &role) < 0 || role == BERTH_ROLE_NONE) {
		invalid(c, "role must be admin, maintainer, developer or guest");
		return;
	}
	if (!project_exists(c, project))
		return;
	rc = berth_meta_user_get(c->a->meta, user, &u);
	explicit_bzero(&u, sizeof(u));
	if (meta_result(c, rc, "user") < 0)
		return;
	if (meta_result(c, berth_meta_member_set(c->a->meta, project, user, (int)role), "member") <
	    0)
		return;
	audit(c, "member_set", "project/%s member/%s", project, user);
	berth_auth__empty(c->op, 204);
}

static void member_delete(ctx *c, const char *project, const char *user)
{
	if (!need_project_admin(c, project) || !project_exists(c, project))
		return;
	if (meta_result(c, berth_meta_member_delete(c->a->meta, project, user), "member") < 0)
		return;
	audit(c, "member_delete", "project/%s member/%s", project, user);
	berth_auth__empty(c->op, 204);
}

/* ---- robots ---- */

static int robot_cb(void *p, const berth_meta_robot *r)
{
	char name[300], t[32];
	json_error_t err;
	json_t *perms = json_loads(r->permissions ? r->permissions : "[]", 0, &err);
	json_t *o;

	snprintf(name, sizeof(name), "robot$%s", r->name);
	if (!perms)
		perms = json_array();
	o = json_pack("{s:s, s:o}", "name", name, "permissions", perms);
	if (!o)
		return -1;
	if (r->expires) {
		berth_auth__time(r->expires, t, sizeof(t));
		json_object_set_new(o, "expires_at", json_string(t));
	} else {
		json_object_set_new(o, "expires_at", json_null());
	}
	berth_auth__time(r->created, t, sizeof(t));
	json_object_set_new(o, "created_at", json_string(t));
	return json_array_append_new(p, o) ? -1 : 0;
}

static void robots_list(ctx *c)
{
	json_t *arr;
	int rc;

	if (!need_sysadmin(c))
		return;
	arr = json_array();
	rc = berth_meta_robots(c->a->meta, robot_cb, arr);
	if (!(arr = arr_or_fail(c, arr, rc >= 0)))
		return;
	berth_auth__json(c->op, 200, arr);
}

/* Check and normalize the permissions array; NULL after answering 400. */
static json_t *robot_perms(ctx *c)
{
	json_t *in = json_object_get(c->body, "permissions"), *out = NULL, *e;
	size_t i;

	if (!in || !json_is_array(in) || json_array_size(in) == 0 ||
	    json_array_size(in) > BERTH_AUTH_ROBOT_PERMS_MAX) {
		invalid(c, "permissions must be a non-empty array (at most 32)");
		return NULL;
	}
	out = json_array();
	json_array_foreach(in, i, e)
	{
		json_t *project = json_object_get(e, "project");
		json_t *repo = json_object_get(e, "repository");
		json_t *acts = json_object_get(e, "actions"), *act, *o, *oacts;
		unsigned bits = 0, b;
		size_t j, pl;

		if (!json_is_object(e) || !json_is_string(project) ||
		    !berth_auth__component_valid(json_string_value(project)))
			goto bad;
		pl = strlen(json_string_value(project));
		if (repo && !json_is_null(repo)) {
			const char *r = json_is_string(repo) ? json_string_value(repo) : NULL;

			if (!r || strlen(r) != json_string_length(repo) ||
			    strlen(r) > BERTH_NAME_MAX ||
			    strncmp(r, json_string_value(project), pl) != 0 || r[pl] != '/' ||
			    !berth_ref_name_valid(r, strlen(r)))
				goto bad;
		}
		if (!json_is_array(acts) || json_array_size(acts) == 0)
			goto bad;
		json_array_foreach(acts, j, act)
		{
			const char *s = json_string_value(act);

			if (!s || (strcmp(s, "pull") && strcmp(s, "push") && strcmp(s, "delete")) ||
			    berth_token_actions_parse(s, strlen(s), &b) < 0)
				goto bad;
			bits |= b;
		}
		oacts = json_array();
		if (bits & BERTH_ACTION_PULL)
			json_array_append_new(oacts, json_string("pull"));
		if (bits & BERTH_ACTION_PUSH)
			json_array_append_new(oacts, json_string("push"));
		if (bits & BERTH_ACTION_DELETE)
			json_array_append_new(oacts, json_string("delete"));
		o = json_pack("{s:O, s:o}", "project", project, "actions", oacts);
		if (o && repo && json_is_string(repo))
			json_object_set(o, "repository", repo);
		if (!o || json_array_append_new(out, o))
			goto bad;
	}
	return out;
bad:
	json_decref(out);
	invalid(c, "each permission needs a project, an optional repository in it and actions "
		   "from pull, push, delete");
	return NULL;
}

static void robot_create(ctx *c)
{
	const char *name;
	json_t *days = NULL, *perms = NULL;
	char secret[ROBOT_SECRET_LEN], hash[BERTH_CRED_HASH_MAX], login[128], t[32];
	char *perms_text = NULL;
	time_t expires = 0;
	json_int_t d = 0;
	int rc;

	memset(secret, 0, sizeof(secret));
	memset(hash, 0, sizeof(hash));
	if (!need_sysadmin(c) || parse_body(c) < 0 || str_field(c, "name", 1, &name) < 0)
		goto done;
	if (!berth_auth__component_valid(name)) {
		invalid(c, "invalid robot name (lowercase letters, digits and . _ -)");
		goto done;
	}
	days = json_object_get(c->body, "expires_in_days");
	if (days && !json_is_null(days)) {
		if (!json_is_integer(days) || (d = json_integer_value(days)) == 0 || d < -1 ||
		    d > 36500) {
			invalid(c,
				"expires_in_days must be an integer from 1 to 36500 (-1: never)");
			goto done;
		}
		if (d > 0)
			expires = time(NULL) + (time_t)d * 86400;
	}
	if (!(perms = robot_perms(c)))
		goto done;
	if (!(perms_text = json_dumps(perms, JSON_COMPACT))) {
		berth_error_set(BERTH_ERROR, "out of memory");
		berth_auth__internal(c->op);
		goto done;
	}
	if (berth_cred_random_secret(secret, sizeof(secret)) < 0 ||
	    berth_cred_password_hash(hash, secret) < 0) {
		berth_auth__internal(c->op);
		goto done;
	}
	rc = berth_meta_robot_create(c->a->meta, name, hash, expires, perms_text);
	if (meta_result(c, rc, "robot") < 0)
		goto done;
	audit(c, "robot_create", "robot/%s%s", name, NULL);
	snprintf(login, sizeof(login), "robot$%s", name);
	if (expires)
		berth_auth__time(expires, t, sizeof(t));
	berth_auth__json(c->op, 201,
			 json_pack("{s:s, s:s, s:o}", "name", login, "secret", secret, "expires_at",
				   expires ? json_string(t) : json_null()));
done:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(hash, sizeof(hash));
	free(perms_text);
	json_decref(perms);
}

static void robot_delete(ctx *c, const char *name)
{
	if (!need_sysadmin(c))
		return;
	if (strncmp(name, "robot$", 6) == 0)
		name += 6;
	if (meta_result(c, berth_meta_robot_delete(c->a->meta, name), "robot") < 0)
		return;
	audit(c, "robot_delete", "robot/%s%s", name, NULL);
	berth_auth__empty(c->op, 204);
}

/* POST /robots/<name>/secret: a new secret, shown once; the old one and its tokens die. */
static void robot_rotate(ctx *c, const char *name)
{
	char secret[ROBOT_SECRET_LEN], hash[BERTH_CRED_HASH_MAX], login[300];
	int rc;

	memset(secret, 0, sizeof(secret));
	memset(hash, 0, sizeof(hash));
	if (!need_sysadmin(c))
		goto done;
	if (strncmp(name, "robot$", 6) == 0)
		name += 6;
	if (berth_cred_random_secret(secret, sizeof(secret)) < 0 ||
	    berth_cred_password_hash(hash, secret) < 0) {
		berth_auth__internal(c->op);
		goto done;
	}
	rc = berth_meta_robot_set_secret(c->a->meta, name, hash);
	if (meta_result(c, rc, "robot") < 0)
		goto done;
	audit(c, "robot_secret", "robot/%s%s", name, NULL);
	snprintf(login, sizeof(login), "robot$%s", name);
	berth_auth__json(c->op, 200, json_pack("{s:s, s:s}", "name", login, "secret", secret));
done:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(hash, sizeof(hash));
}

/* ---- audit ---- */

/* A field as stored, or escaped if it predates escaping and is not valid JSON text. */
static json_t *audit_field(const char *s)
{
	char *e;
	json_t *v;

	if (!s)
		s = "";
	if (berth_auth__printable(s))
		return json_string(s);
	if (!(e = berth_auth__escape(s)))
		return NULL;
	v = json_string(e);
	free(e);
	return v;
}

static int audit_cb(void *p, const berth_meta_audit *e)
{
	char t[32];

	berth_auth__time(e->time, t, sizeof(t));
	return json_array_append_new(
		       p, json_pack("{s:I, s:s, s:o, s:o, s:o, s:o, s:o}", "id", (json_int_t)e->id,
				    "time", t, "who", audit_field(e->who), "action",
				    audit_field(e->action), "resource", audit_field(e->resource),
				    "address", audit_field(e->address), "result",
				    audit_field(e->result)))
		       ? -1
		       : 0;
}

static int parse_num(const char *s, long long *out)
{
	char *end;

	if (!s || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno || *end ? -1 : 0;
}

static void audit_list(ctx *c)
{
	long long limit = AUDIT_LIMIT_DEFAULT, before = 0;
	json_t *arr;
	int rc;

	if (!need_sysadmin(c))
		return;
	if ((c->op->q_limit && (parse_num(c->op->q_limit, &limit) < 0 || limit < 1)) ||
	    (c->op->q_before && parse_num(c->op->q_before, &before) < 0)) {
		invalid(c, "limit must be a positive integer and before an audit id");
		return;
	}
	if (limit > AUDIT_LIMIT_MAX)
		limit = AUDIT_LIMIT_MAX;
	arr = json_array();
	rc = berth_meta_audit_list(c->a->meta, (int64_t)before, (long)limit, audit_cb, arr);
	if (!(arr = arr_or_fail(c, arr, rc >= 0)))
		return;
	berth_auth__json(c->op, 200, arr);
}

/* ---- routing ---- */

/*
 * A token is good for the admin API only if it was asked for that alone:
 * one access entry, registry:admin:*. A token for a repository (or one also
 * holding other scopes) must not change passwords.
 */
static int admin_token_ok(const berth_identity *id)
{
	const berth_scope *sc = &id->claims.access[0];

	if (!id->bearer)
		return 1;
	return id->claims.naccess == 1 && is(sc->type, "registry") && is(sc->name, "admin") &&
	       sc->actions == BERTH_ACTION_SCOPE;
}

static void not_found(ctx *c)
{
	berth_auth__error(c->op, 404, "NOT_FOUND", "no such endpoint");
}

static void not_allowed(ctx *c, const char *allow)
{
	berth_auth__error(c->op, 405, "UNSUPPORTED", "method not allowed");
	berth_auth__header(c->op, "Allow", "%s", allow);
}

static void route(ctx *c)
{
	const char *m = c->m;
	const char **s = c->seg;
	size_t n = c->nseg;

	if (n == 1 && is(s[0], "users")) {
		if (is(m, "GET"))
			return users_list(c);
		if (is(m, "POST"))
			return user_create(c);
		return not_allowed(c, "GET, HEAD, POST");
	}
	if (n == 2 && is(s[0], "users")) {
		if (is(m, "PUT"))
			return user_update(c, s[1]);
		if (is(m, "DELETE"))
			return user_delete(c, s[1]);
		return not_allowed(c, "PUT, DELETE");
	}
	if (n == 3 && is(s[0], "users") && is(s[2], "password")) {
		if (is(m, "PUT"))
			return user_password(c, s[1]);
		return not_allowed(c, "PUT");
	}
	if (n == 1 && is(s[0], "projects")) {
		if (is(m, "GET"))
			return projects_list(c);
		if (is(m, "POST"))
			return project_create(c);
		return not_allowed(c, "GET, HEAD, POST");
	}
	if (n == 2 && is(s[0], "projects")) {
		if (is(m, "GET"))
			return project_get(c, s[1]);
		if (is(m, "PUT"))
			return project_update(c, s[1]);
		if (is(m, "DELETE"))
			return project_delete(c, s[1]);
		return not_allowed(c, "GET, HEAD, PUT, DELETE");
	}
	if (n == 3 && is(s[0], "projects") && is(s[2], "members")) {
		if (is(m, "GET"))
			return members_list(c, s[1]);
		return not_allowed(c, "GET, HEAD");
	}
	if (n == 4 && is(s[0], "projects") && is(s[2], "members")) {
		if (is(m, "PUT"))
			return member_set(c, s[1], s[3]);
		if (is(m, "DELETE"))
			return member_delete(c, s[1], s[3]);
		return not_allowed(c, "PUT, DELETE");
	}
	if (n == 1 && is(s[0], "robots")) {
		if (is(m, "GET"))
			return robots_list(c);
		if (is(m, "POST"))
			return robot_create(c);
		return not_allowed(c, "GET, HEAD, POST");
	}
	if (n == 2 && is(s[0], "robots")) {
		if (is(m, "DELETE"))
			return robot_delete(c, s[1]);
		return not_allowed(c, "DELETE");
	}
	if (n == 3 && is(s[0], "robots") && is(s[2], "secret")) {
		if (is(m, "POST"))
			return robot_rotate(c, s[1]);
		return not_allowed(c, "POST");
	}
	if (n == 1 && is(s[0], "audit")) {
		if (is(m, "GET"))
			return audit_list(c);
		return not_allowed(c, "GET, HEAD");
	}
	not_found(c);
}

void berth_auth__admin(berth_auth_op *op)
{
	ctx c;
	char *path, *p, *save = NULL;

	memset(&c, 0, sizeof(c));
	c.op = op;
	c.a = op->api;
	c.id = op->id;
	c.m = op->method;
	path = berth_pool_strdup(&op->pool, op->path + strlen("/api/v1"));
	if (!path) {
		berth_error_set(BERTH_ERROR, "out of memory");
		berth_auth__internal(op);
		return;
	}
	for (p = strtok_r(path, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (c.nseg >= SEGS_MAX)
			return not_found(&c);
		c.seg[c.nseg++] = p;
	}
	if (!admin_token_ok(c.id)) {
		berth_auth__unauthorized(op, "the admin API takes Basic credentials or a token "
					     "whose scope is exactly registry:admin:*");
		return;
	}
	route(&c);
	json_decref(c.body);
}
