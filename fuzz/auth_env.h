/*
 * auth_env.h - what the access-control fuzz targets share (fuzz_adminapi.c,
 * fuzz_tokenform.c): one metadata database in a fresh temporary directory
 * (removed at exit), a signing key, the access-control front with its
 * bootstrap administrator, and a driver that runs one request through the
 * exchange lifecycle the server drives and checks what every answer must be.
 *
 * Invariants checked on every answer: a status the server may send that is
 * not a 5xx (bad input is the client's error), and a JSON body that parses
 * when the answer says it is JSON.
 */
#ifndef BERTH_FUZZ_AUTH_ENV_H
#define BERTH_FUZZ_AUTH_ENV_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "berth/auth.h"
#include "util/fs.h"

#define FUZZ_ADMIN_PASSWORD "fuzz-admin-password"
#define FUZZ_ADMIN_BASIC "Basic YWRtaW46ZnV6ei1hZG1pbi1wYXNzd29yZA==" /* admin:<the above> */

typedef struct fuzz_env {
	char dir[64];
	berth_meta *meta;
	berth_token_key *key;
	berth_auth *auth;
	berth_identity admin;	  /* the bootstrap administrator, authenticated once */
	berth_identity anonymous; /* a caller without credentials */
} fuzz_env;

static fuzz_env fuzz_the_env;

static const char *fuzz_header(void *ctx, const char *name)
{
	return strcasecmp(name, "Authorization") == 0 ? ctx : NULL;
}

static const char *fuzz_no_query(void *ctx, const char *name)
{
	return NULL;
}

static berth_req fuzz_req(const char *method, const char *path, const char *authz, size_t body_len)
{
	berth_req r;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = path;
	r.header = fuzz_header;
	r.query = fuzz_no_query;
	r.ctx = (void *)authz;
	r.has_body_length = 1;
	r.body_length = body_len;
	r.base_url = "http://fuzz.test";
	r.remote_addr = "192.0.2.7";
	r.request_id = "fuzz";
	return r;
}

static void fuzz_env_cleanup(void)
{
	fuzz_env *e = &fuzz_the_env;

	berth_auth_free(e->auth);
	berth_token_key_free(e->key);
	berth_meta_free(e->meta);
	if (e->dir[0] && berth_fs_remove_tree(e->dir) != 0)
		fprintf(stderr, "fuzz cleanup: %s\n", berth_error_last());
}

static void fuzz_authenticate(const char *authz, berth_identity *id)
{
	berth_req r = fuzz_req("GET", "/v2/", authz, 0);
	berth_exchange *refusal = NULL;

	if (berth_auth_authenticate(fuzz_the_env.auth, &r, id, &refusal) != 0 || refusal) {
		fprintf(stderr, "fuzz setup: authentication failed: %s\n", berth_error_last());
		abort();
	}
}

/* Answer one request as the server would; returns the status after checking it. */
static int fuzz_run(const berth_identity *id, const char *method, const char *path,
		    const uint8_t *body, size_t len)
{
	berth_req r = fuzz_req(method, path, NULL, len);
	berth_exchange *x = NULL;
	berth_resp resp;
	int status;

	r.principal = id;
	if (berth_auth_begin(fuzz_the_env.auth, &r, &x) != 0 || !x)
		return 0; /* out of memory */
	if (berth_exchange_wants_body(x))
		(void)berth_exchange_body(x, (const char *)body, len);
	memset(&resp, 0, sizeof(resp));
	berth_exchange_finish(x, &resp);
	status = resp.status;
	if (status < 200 || status > 499) {
		fprintf(stderr, "%s %s answered %d: %.*s\n", method, path, status,
			(int)resp.body_len, resp.body ? resp.body : "");
		abort();
	}
	for (size_t i = 0; i < resp.nheaders; i++) {
		if (strcmp(resp.headers[i].name, "Content-Type") == 0 &&
		    strncmp(resp.headers[i].value, "application/json", 16) == 0 && resp.body_len) {
			json_t *j = json_loadb(resp.body, resp.body_len, 0, NULL);

			if (!j)
				abort();
			json_decref(j);
		}
	}
	berth_exchange_free(x);
	return status;
}

/* Set up once: database, key, access control, its administrator. */
static fuzz_env *fuzz_env_get(void)
{
	fuzz_env *e = &fuzz_the_env;
	char path[128];

	if (e->auth)
		return e;
	snprintf(e->dir, sizeof(e->dir), "/tmp/berth-fuzz-XXXXXX");
	if (!mkdtemp(e->dir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(fuzz_env_cleanup);
	snprintf(path, sizeof(path), "%.63s/meta.db", e->dir);
	if (berth_meta_open(&e->meta, path) != 0 || berth_token_key_generate(&e->key) != 0 ||
	    berth_auth_new(&e->auth, e->meta, e->key, NULL) != 0 ||
	    berth_auth_bootstrap(e->auth, FUZZ_ADMIN_PASSWORD) != 0) {
		fprintf(stderr, "fuzz setup: %s\n", berth_error_last());
		abort();
	}
	fuzz_authenticate(FUZZ_ADMIN_BASIC, &e->admin);
	fuzz_authenticate(NULL, &e->anonymous);
	return e;
}

#endif
