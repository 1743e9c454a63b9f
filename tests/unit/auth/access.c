/*
 * access.c - the api module over a real metadata database and real keys:
 * first-start setup, logins and their throttling, Basic and Bearer
 * authentication, the token service's narrowed claims, the registry hook's
 * decisions and refusals, and the admin API's validation (bad bodies
 * change nothing, duplicates are 409).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "berth/auth.h"
#include "lib/auth/internal.h"
#include "util/buf.h"
#include "util/fs.h"

#define ADMIN_PW "admin-password-123"

typedef struct fx {
	char dir[64];
	char path[128];
	berth_meta *m;
	berth_token_key *key;
	berth_auth *api;
} fx;

static int setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/berth-api-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/meta.db", f->dir);
	if (berth_meta_open(&f->m, f->path) != 0 || berth_token_key_generate(&f->key) != 0 ||
	    berth_auth_new(&f->api, f->m, f->key, NULL) != 0 ||
	    berth_auth_bootstrap(f->api, ADMIN_PW) != 0) {
		fprintf(stderr, "setup: %s\n", berth_error_last());
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;

	berth_auth_free(f->api);
	berth_token_key_free(f->key);
	berth_meta_free(f->m);
	if (berth_fs_remove_tree(f->dir) != 0)
		return -1;
	free(f);
	return 0;
}

/* ---- a fake request ---- */

typedef struct fake {
	const char *auth;
	const char *scopes[4];
	const char *query_limit;
} fake;

static const char *fake_header(void *ctx, const char *name)
{
	fake *c = ctx;

	return strcasecmp(name, "Authorization") == 0 ? c->auth : NULL;
}

static const char *fake_query(void *ctx, const char *name)
{
	fake *c = ctx;

	if (strcmp(name, "scope") == 0)
		return c->scopes[0];
	if (strcmp(name, "limit") == 0)
		return c->query_limit;
	return NULL;
}

static const char *fake_query_n(void *ctx, const char *name, size_t i)
{
	fake *c = ctx;

	return strcmp(name, "scope") == 0 && i < 4 ? c->scopes[i] : NULL;
}

static berth_req make_req(fake *c, const char *method, const char *path, const char *addr)
{
	berth_req r;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = path;
	r.header = fake_header;
	r.query = fake_query;
	r.query_n = fake_query_n;
	r.ctx = c;
	r.base_url = "http://reg.test";
	r.remote_addr = addr;
	r.request_id = "t";
	return r;
}

static char *basic(const char *user, const char *pw)
{
	char raw[512], enc[1024];
	char *out;

	snprintf(raw, sizeof(raw), "%s:%s", user, pw);
	EVP_EncodeBlock((unsigned char *)enc, (const unsigned char *)raw, (int)strlen(raw));
	out = malloc(strlen(enc) + 8);
	sprintf(out, "Basic %s", enc);
	return out;
}

/* Run an api request (authentication, then the route) and return its status; body into *body. */
static int run(fx *f, const char *method, const char *path, const char *auth, const char *json,
	       const char *const *scopes, const char *addr, json_t **body)
{
	fake c = {auth, {NULL}, NULL};
	berth_req r;
	berth_identity id;
	berth_exchange *op = NULL;
	berth_resp resp;
	int status;

	for (size_t i = 0; scopes && scopes[i] && i < 4; i++)
		c.scopes[i] = scopes[i];
	r = make_req(&c, method, path, addr ? addr : "10.0.0.1");
	if (json) {
		r.has_body_length = 1;
		r.body_length = strlen(json);
	}
	assert_int_equal(berth_auth_authenticate(f->api, &r, &id, &op), 0);
	r.principal = &id;
	if (!op) {
		assert_int_equal(berth_auth_begin(f->api, &r, &op), 0);
		if (json && berth_exchange_wants_body(op))
			(void)berth_exchange_body(op, json, strlen(json));
	}
	berth_exchange_finish(op, &resp);
	status = resp.status;
	if (body) {
		json_error_t err;

		*body = resp.body_len ? json_loadb(resp.body, resp.body_len, 0, &err) : NULL;
	}
	berth_exchange_free(op);
	return status;
}

static int admin_call(fx *f, const char *method, const char *path, const char *json)
{
	char *h = basic("admin", ADMIN_PW);
	int st = run(f, method, path, h, json, NULL, NULL, NULL);

	free(h);
	return st;
}

/* ---- tests ---- */

static void bootstrap_needs_a_password_once(void **state)
{
	fx *f = *state;
	berth_meta *m2;
	berth_auth *a2;
	char path[160];
	berth_meta_project p;

	/* The fixture made admin and library; a second bootstrap needs no password. */
	assert_int_equal(berth_auth_bootstrap(f->api, NULL), 0);
	assert_int_equal(berth_meta_project_get(f->m, "library", &p), 0);
	assert_true(p.public);
	/* A fresh database without a password is refused. */
	snprintf(path, sizeof(path), "%s/other.db", f->dir);
	assert_int_equal(berth_meta_open(&m2, path), 0);
	assert_int_equal(berth_auth_new(&a2, m2, f->key, NULL), 0);
	assert_int_equal(berth_auth_bootstrap(a2, NULL), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "admin"));
	berth_auth_free(a2);
	berth_meta_free(m2);
}

static void login_right_wrong_unknown(void **state)
{
	fx *f = *state;
	berth_identity id;

	assert_int_equal(berth_auth__login(f->api, "admin", ADMIN_PW, "10.0.0.2", &id), 0);
	assert_int_equal(id.principal.kind, BERTH_PRINCIPAL_USER);
	assert_true(id.principal.sysadmin);
	assert_int_equal(berth_auth__login(f->api, "admin", "nope-nope", "10.0.0.2", &id),
			 BERTH_EDENIED);
	assert_int_equal(id.principal.kind, BERTH_PRINCIPAL_ANONYMOUS);
	assert_int_equal(berth_auth__login(f->api, "ghost", "nope-nope", "10.0.0.2", &id),
			 BERTH_EDENIED);
	assert_int_equal(berth_auth__login(f->api, "robot$ghost", "x", "10.0.0.2", &id),
			 BERTH_EDENIED);
}

static void pair_throttled_after_five_failures(void **state)
{
	fx *f = *state;
	berth_identity id;
	char addr[32];

	for (int i = 0; i < 5; i++)
		assert_int_equal(berth_auth__login(f->api, "admin", "wrong-pass", "10.1.0.1", &id),
				 BERTH_EDENIED);
	/* Now even the right password is refused from that address, with a wait... */
	assert_int_equal(berth_auth__login(f->api, "admin", ADMIN_PW, "10.1.0.1", &id),
			 BERTH_EBUSY);
	assert_true(id.retry_after > 0 && id.retry_after <= BERTH_AUTH_THROTTLE_BASE);
	/* ...but never from an address that has not failed. */
	assert_int_equal(berth_auth__login(f->api, "admin", ADMIN_PW, "10.1.0.9", &id), 0);
	/* Failures spread over addresses lock nobody out. */
	for (int i = 0; i < 5; i++) {
		snprintf(addr, sizeof(addr), "10.3.0.%d", i + 1);
		assert_int_equal(berth_auth__login(f->api, "admin", "wrong-pass", addr, &id),
				 BERTH_EDENIED);
	}
	assert_int_equal(berth_auth__login(f->api, "admin", ADMIN_PW, "10.3.0.1", &id), 0);
	/* Unknown accounts are throttled alike. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(berth_auth__login(f->api, "ghost", "x", "10.2.0.1", &id),
				 BERTH_EDENIED);
	assert_int_equal(berth_auth__login(f->api, "ghost", "x", "10.2.0.1", &id), BERTH_EBUSY);
}

static void malformed_and_wrong_authorization_get_401(void **state)
{
	fx *f = *state;
	char *wrong = basic("admin", "wrong-password");
	char *ghost = basic("ghost", "wrong-password");
	json_t *b1 = NULL, *b2 = NULL;

	assert_int_equal(run(f, "GET", "/api/v1/users", "Basic !!!", NULL, NULL, NULL, NULL), 401);
	assert_int_equal(run(f, "GET", "/api/v1/users", "Digest x", NULL, NULL, NULL, NULL), 401);
	assert_int_equal(run(f, "GET", "/api/v1/users", "Bearer a.b.c", NULL, NULL, NULL, NULL),
			 401);
	/* A wrong password and an unknown user get the same body. */
	assert_int_equal(run(f, "GET", "/api/v1/users", wrong, NULL, NULL, "10.3.0.1", &b1), 401);
	assert_int_equal(run(f, "GET", "/api/v1/users", ghost, NULL, NULL, "10.3.0.2", &b2), 401);
	assert_true(json_equal(b1, b2));
	json_decref(b1);
	json_decref(b2);
	free(wrong);
	free(ghost);
}

static void token_claims_are_narrowed_and_usable(void **state)
{
	fx *f = *state;
	const char *scopes[] = {"repository:team/app:pull,push,delete", "repository:library/x:pull",
				NULL};
	char *dev = basic("dev", "dev-password-1");
	json_t *body = NULL;
	char auth[9000];
	fake c = {auth, {NULL}, NULL};
	berth_req r;
	berth_identity id;
	berth_exchange *refusal = NULL;
	berth_registry_authz hook;
	berth_authz_refusal ref;

	assert_int_equal(admin_call(f, "POST", "/api/v1/projects", "{\"name\":\"team\"}"), 201);
	assert_int_equal(admin_call(f, "POST", "/api/v1/users",
				    "{\"name\":\"dev\",\"password\":\"dev-password-1\"}"),
			 201);
	assert_int_equal(admin_call(f, "PUT", "/api/v1/projects/team/members/dev",
				    "{\"role\":\"developer\"}"),
			 204);
	assert_int_equal(run(f, "GET", "/token", dev, NULL, scopes, NULL, &body), 200);
	assert_true(json_is_string(json_object_get(body, "token")));
	assert_int_equal(json_integer_value(json_object_get(body, "expires_in")), 300);
	snprintf(auth, sizeof(auth), "Bearer %s",
		 json_string_value(json_object_get(body, "token")));
	json_decref(body);

	r = make_req(&c, "GET", "/v2/team/app/manifests/1", "10.0.0.1");
	assert_int_equal(berth_auth_authenticate(f->api, &r, &id, &refusal), 0);
	assert_null(refusal);
	assert_int_equal(id.principal.kind, BERTH_PRINCIPAL_USER);
	assert_true(id.bearer);
	r.principal = &id;
	berth_auth_registry_authz(f->api, &hook);
	/* developer: pull and push, not delete, on team/app; pull on library. */
	assert_int_equal(
		hook.allowed(hook.ctx, &r, "team/app", BERTH_ACTION_ALL & ~BERTH_ACTION_ADMIN),
		BERTH_ACTION_PULL | BERTH_ACTION_PUSH);
	assert_int_equal(hook.allowed(hook.ctx, &r, "library/x", BERTH_ACTION_PULL),
			 BERTH_ACTION_PULL);
	/* Not in the token: refused with insufficient_scope although the role allows it. */
	assert_int_equal(hook.allowed(hook.ctx, &r, "team/other", BERTH_ACTION_PULL), 0);
	memset(&ref, 0, sizeof(ref));
	hook.refuse(hook.ctx, &r, "team/other", BERTH_ACTION_PULL, &ref);
	assert_int_equal(ref.status, 401);
	assert_non_null(strstr(ref.challenge, "insufficient_scope"));
	assert_non_null(strstr(ref.challenge, "realm=\"http://reg.test/token\""));
	/* Delete is refused outright: the role does not allow it. */
	hook.refuse(hook.ctx, &r, "team/app", BERTH_ACTION_DELETE, &ref);
	assert_int_equal(ref.status, 403);

	/* Once the user is deleted, the token opens nothing. */
	assert_int_equal(admin_call(f, "DELETE", "/api/v1/users/dev", NULL), 204);
	assert_int_equal(berth_auth_authenticate(f->api, &r, &id, &refusal), 0);
	assert_non_null(refusal);
	berth_exchange_free(refusal);
	free(dev);
}

static void anonymous_is_challenged_on_private_projects(void **state)
{
	fx *f = *state;
	fake c = {NULL, {NULL}, NULL};
	berth_req r = make_req(&c, "GET", "/v2/", "10.0.0.1");
	berth_identity id;
	berth_exchange *refusal = NULL;
	berth_registry_authz hook;
	berth_authz_refusal ref;

	assert_int_equal(admin_call(f, "POST", "/api/v1/projects", "{\"name\":\"priv\"}"), 201);
	assert_int_equal(berth_auth_authenticate(f->api, &r, &id, &refusal), 0);
	assert_null(refusal);
	r.principal = &id;
	berth_auth_registry_authz(f->api, &hook);
	assert_true(hook.anonymous(hook.ctx, &r));
	assert_int_equal(hook.allowed(hook.ctx, &r, "library/x", BERTH_ACTION_PULL),
			 BERTH_ACTION_PULL);
	assert_int_equal(hook.allowed(hook.ctx, &r, "library/x", BERTH_ACTION_PUSH), 0);
	assert_int_equal(hook.allowed(hook.ctx, &r, "priv/app", BERTH_ACTION_PULL), 0);
	assert_false(hook.listable(hook.ctx, &r, "priv/app"));
	memset(&ref, 0, sizeof(ref));
	hook.refuse(hook.ctx, &r, "priv/app", BERTH_ACTION_PUSH, &ref);
	assert_int_equal(ref.status, 401);
	assert_non_null(strstr(ref.challenge, "scope=\"repository:priv/app:pull,push\""));
}

static void sysadmin_push_creates_a_private_project(void **state)
{
	fx *f = *state;
	char *h = basic("admin", ADMIN_PW);
	fake c = {h, {NULL}, NULL};
	berth_req r = make_req(&c, "POST", "/v2/fresh/app/blobs/uploads/", "10.0.0.1");
	berth_identity id;
	berth_exchange *refusal = NULL;
	berth_registry_authz hook;
	berth_meta_project p;

	assert_int_equal(berth_auth_authenticate(f->api, &r, &id, &refusal), 0);
	assert_null(refusal);
	r.principal = &id;
	berth_auth_registry_authz(f->api, &hook);
	assert_int_equal(berth_meta_project_get(f->m, "fresh", &p), BERTH_ENOTFOUND);
	assert_int_equal(hook.allowed(hook.ctx, &r, "fresh/app", BERTH_ACTION_PUSH),
			 BERTH_ACTION_PUSH);
	assert_int_equal(berth_meta_project_get(f->m, "fresh", &p), 0);
	assert_false(p.public);
	free(h);
}

static void bad_bodies_change_nothing(void **state)
{
	fx *f = *state;
	static const char *const bad[] = {
		"{",
		"[]",
		"null",
		"",
		"{\"name\":1,\"password\":\"long-enough\"}",
		"{\"name\":\"x\"}",
		"{\"name\":\"a/b\",\"password\":\"long-enough\"}",
		"{\"name\":\"x\",\"password\":\"long-enough\",\"sysadmin\":\"yes\"}",
		"{\"name\":\"x\",\"name\":\"y\",\"password\":\"long-enough\"}",
		"{\"name\":\"x\",\"password\":\"short\"}",
	};
	berth_meta_user u;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(admin_call(f, "POST", "/api/v1/users", bad[i]), 400);
		assert_int_equal(berth_meta_user_get(f->m, "x", &u), BERTH_ENOTFOUND);
	}
	assert_int_equal(admin_call(f, "POST", "/api/v1/projects", "{\"name\":\"library\"}"), 409);
	assert_int_equal(admin_call(f, "POST", "/api/v1/robots",
				    "{\"name\":\"rb\",\"permissions\":[{\"project\":\"library\","
				    "\"actions\":[\"fly\"]}]}"),
			 400);
	assert_int_equal(admin_call(f, "DELETE", "/api/v1/robots/robot$nobody", NULL), 404);
	assert_int_equal(admin_call(f, "GET", "/api/v1/nothing", NULL), 404);
}

static void robot_secret_works_once_created(void **state)
{
	fx *f = *state;
	char *h = basic("admin", ADMIN_PW);
	json_t *body = NULL;
	berth_identity id;
	char secret[64];

	assert_int_equal(run(f, "POST", "/api/v1/robots", h,
			     "{\"name\":\"ci\",\"expires_in_days\":1,\"permissions\":[{\"project\":"
			     "\"library\",\"actions\":[\"pull\",\"push\"]}]}",
			     NULL, NULL, &body),
			 201);
	assert_string_equal(json_string_value(json_object_get(body, "name")), "robot$ci");
	snprintf(secret, sizeof(secret), "%s", json_string_value(json_object_get(body, "secret")));
	json_decref(body);
	assert_true(strlen(secret) >= 16);
	assert_int_equal(berth_auth__login(f->api, "robot$ci", secret, "10.0.0.5", &id), 0);
	assert_int_equal(id.principal.kind, BERTH_PRINCIPAL_ROBOT);
	assert_int_equal(id.nperms, 1);
	assert_int_equal(id.perms[0].actions, BERTH_ACTION_PULL | BERTH_ACTION_PUSH);
	assert_int_equal(run(f, "POST", "/api/v1/robots", h,
			     "{\"name\":\"ci\",\"permissions\":[{\"project\":\"library\","
			     "\"actions\":[\"pull\"]}]}",
			     NULL, NULL, NULL),
			 409);
	/* A robot is never an administrator. */
	{
		char *rb = basic("robot$ci", secret);

		assert_int_equal(run(f, "GET", "/api/v1/users", rb, NULL, NULL, "10.0.0.5", NULL),
				 403);
		free(rb);
	}
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(bootstrap_needs_a_password_once, setup, teardown),
		cmocka_unit_test_setup_teardown(login_right_wrong_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(pair_throttled_after_five_failures, setup,
						teardown),
		cmocka_unit_test_setup_teardown(malformed_and_wrong_authorization_get_401, setup,
						teardown),
		cmocka_unit_test_setup_teardown(token_claims_are_narrowed_and_usable, setup,
						teardown),
		cmocka_unit_test_setup_teardown(anonymous_is_challenged_on_private_projects, setup,
						teardown),
		cmocka_unit_test_setup_teardown(sysadmin_push_creates_a_private_project, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bad_bodies_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(robot_secret_works_once_created, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
