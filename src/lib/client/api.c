/*
 * api.c - generic JSON calls to a registry's own API (berth's /api/v1/
 * admin API), on top of the client's request engine (client.c).
 *
 * Unlike the distribution calls, these always send Basic credentials up
 * front (the explicit ones of the client options, else those stored for the
 * host by `berth login`), never follow a Bearer challenge, and are never
 * retried: not every admin call is idempotent, and a 429 from login
 * throttling must be reported, not waited out. TLS options are the
 * client's. A non-2xx answer becomes a BERTH_E* code whose message is the
 * server's own OCI error message; credentials never appear in messages.
 */
#include "lib/client/internal.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Copies of the credentials to send (looked up once), or NULLs if none. */
static int take_creds(berth_client *c, char **user, char **pass)
{
	char *u = NULL, *p = NULL;
	int rc = 0;

	*user = *pass = NULL;
	pthread_mutex_lock(&c->auth_lock);
	if (!c->creds_loaded) {
		c->creds_loaded = 1;
		if (berth_client_creds_get(c->host, c->auth_file, &u, &p) == 0) {
			c->user = u;
			c->pass = p;
		}
		berth_error_clear();
	}
	if (c->user) {
		*user = strdup(c->user);
		*pass = strdup(c->pass ? c->pass : "");
		if (!*user || !*pass) {
			free_secret(*user);
			free_secret(*pass);
			*user = *pass = NULL;
			rc = berth_error_set(BERTH_ERROR, "out of memory");
		}
	}
	pthread_mutex_unlock(&c->auth_lock);
	return rc;
}

/*
 * A non-2xx answer → BERTH_E* code with the server's message. The admin
 * API's messages are meant for the user as they are, and its 409 says that
 * something already exists.
 */
static int api_error(berth_client *c, const berth_client__req *r, const char *method,
		     const char *path, int sent_creds)
{
	berth_client__fault f;
	const char *code = f.code, *msg = f.message;
	int rc;

	berth_client__fault_read(r, &f);
	rc = r->status == 409 ? BERTH_EEXISTS : f.rc;
	if (r->status == 401 && !sent_creds)
		return berth_error_set(rc,
				       "%s: authentication required and no credentials were found "
				       "(use berth login %s, or give a user)",
				       c->host, c->host);
	if (r->status == 401 && !msg[0])
		return berth_error_set(rc, "%s: the credentials were rejected (HTTP 401)", c->host);
	if (r->status == 429 && !msg[0])
		return berth_error_set(rc, "%s: too many failed logins; try again later", c->host);
	if (msg[0])
		return berth_error_set(rc, "%s", msg);
	if (code[0])
		return berth_error_set(rc, "%s: %s (HTTP %ld for %s %s)", c->host, code, r->status,
				       method, path);
	return berth_error_set(rc, "%s: HTTP %ld for %s %s", c->host, r->status, method, path);
}

int berth_client_api(berth_client *c, const char *method, const char *path, const char *json_body,
		     struct berth_buf *resp_body, long *status)
{
	berth_client__req r;
	char *user = NULL, *pass = NULL, shown[512];
	size_t n;
	int rc;

	berth_client__req_init(&r, method, path);
	if (status)
		*status = 0;
	/* The path for messages: no query string (it is ours, but keep lines short). */
	n = strcspn(path, "?#");
	snprintf(shown, sizeof(shown), "%.*s", (int)(n < 400 ? n : 400), path);
	if (strcmp(method, "GET") && strcmp(method, "POST") && strcmp(method, "PUT") &&
	    strcmp(method, "DELETE") && strcmp(method, "PATCH") && strcmp(method, "HEAD")) {
		rc = berth_error_set(BERTH_EINVALID, "unsupported HTTP method \"%.16s\"", method);
		goto done;
	}
	if (path[0] != '/' && strncmp(path, "http://", 7) != 0 &&
	    strncmp(path, "https://", 8) != 0) {
		rc = berth_error_set(BERTH_EINVALID, "API path \"%.100s\" must start with '/'",
				     path);
		goto done;
	}
	rc = take_creds(c, &user, &pass);
	if (rc)
		goto done;
	r.accept = "application/json";
	if (json_body) {
		r.body = json_body;
		r.body_len = strlen(json_body);
		r.has_body = 1;
		r.content_type = "application/json";
	} else if (strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
		   strcmp(method, "PATCH") == 0) {
		/* An empty body, not a NULL one: the reader copies from it. */
		r.body = "";
		r.has_body = 1;
	}
	/* Our own Basic credentials, never a challenge flow; see the top comment. */
	r.no_auth = 1;
	r.no_retry = 1;
	r.basic_user = user;
	r.basic_pass = pass;
	r.body_out = resp_body;
	r.body_what = "API response";
	rc = berth_client__do(c, &r);
	if (rc)
		goto done;
	if (status)
		*status = r.status;
	if (r.status < 200 || r.status >= 300)
		rc = api_error(c, &r, method, shown, user != NULL);
done:
	free_secret(user);
	free_secret(pass);
	berth_client__req_dispose(&r);
	return rc;
}
