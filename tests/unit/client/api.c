/*
 * api.c - berth_client_api, the generic JSON call behind `berth admin`:
 * against a small in-process HTTP server (libmicrohttpd) that records what
 * it was sent and answers what each test tells it to. Proves the method,
 * path, JSON body and Basic credentials (explicit or stored) go out as
 * they should, that 2xx bodies come back (capped), that error statuses map
 * to codes carrying the server's own message (never a secret), and that
 * nothing is retried.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/client.h"
#include "util/buf.h"
#include "util/fs.h"

typedef struct srv {
	struct MHD_Daemon *d;
	char host[64];
	char base[96];
	pthread_mutex_t lock;
	/* what to answer */
	unsigned status;
	const char *answer;
	/* what was seen */
	int requests;
	char method[16], url[256], authz[256], ctype[128], accept[128], clen[32];
	char body[4096];
} srv;

typedef struct conn_state {
	berth_buf body;
} conn_state;

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	srv *s = cls;
	conn_state *st = *con_cls;
	struct MHD_Response *r;
	enum MHD_Result ret;

	(void)version;
	if (!st) {
		st = calloc(1, sizeof(*st));
		berth_buf_init(&st->body, 4000);
		*con_cls = st;
		return MHD_YES;
	}
	if (*upload_size) {
		if (berth_buf_put(&st->body, upload, *upload_size))
			return MHD_NO;
		*upload_size = 0;
		return MHD_YES;
	}
	pthread_mutex_lock(&s->lock);
	s->requests++;
	copy(s->method, sizeof(s->method), method);
	copy(s->url, sizeof(s->url), url);
	copy(s->authz, sizeof(s->authz),
	     MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization"));
	copy(s->ctype, sizeof(s->ctype),
	     MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"));
	copy(s->accept, sizeof(s->accept),
	     MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept"));
	copy(s->clen, sizeof(s->clen),
	     MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length"));
	copy(s->body, sizeof(s->body), st->body.ptr);
	r = MHD_create_response_from_buffer(strlen(s->answer ? s->answer : ""),
					    (void *)(s->answer ? s->answer : ""),
					    MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	ret = MHD_queue_response(conn, s->status, r);
	pthread_mutex_unlock(&s->lock);
	MHD_destroy_response(r);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	conn_state *st = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (st) {
		berth_buf_dispose(&st->body);
		free(st);
		*con_cls = NULL;
	}
}

typedef struct env {
	srv s;
	char dir[64];
	char authfile[128];
} env;

static int setup(void **state)
{
	env *e = calloc(1, sizeof(*e));
	const union MHD_DaemonInfo *info;

	pthread_mutex_init(&e->s.lock, NULL);
	e->s.status = 200;
	e->s.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL,
				  NULL, handler, &e->s, MHD_OPTION_NOTIFY_COMPLETED, completed,
				  NULL, MHD_OPTION_END);
	assert_non_null(e->s.d);
	info = MHD_get_daemon_info(e->s.d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(e->s.host, sizeof(e->s.host), "127.0.0.1:%u", (unsigned)info->port);
	snprintf(e->s.base, sizeof(e->s.base), "http://%s", e->s.host);
	snprintf(e->dir, sizeof(e->dir), "/tmp/berth-api-test-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	/* A file that does not exist: no stored credentials unless a test writes it. */
	snprintf(e->authfile, sizeof(e->authfile), "%s/auth.json", e->dir);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;

	MHD_stop_daemon(e->s.d);
	pthread_mutex_destroy(&e->s.lock);
	unlink(e->authfile);
	rmdir(e->dir);
	free(e);
	return 0;
}

static berth_client *client(env *e, const char *user, const char *pass)
{
	berth_client_options o;
	berth_client *c = NULL;

	berth_client_options_init(&o);
	o.host = e->s.host;
	o.username = user;
	o.password = pass;
	o.auth_file = e->authfile;
	assert_int_equal(berth_client_new(&c, &o), 0);
	return c;
}

static void expect_basic(const char *authz, const char *userpass)
{
	char want[256] = "Basic ";

	EVP_EncodeBlock((unsigned char *)want + 6, (const unsigned char *)userpass,
			(int)strlen(userpass));
	assert_string_equal(authz, want);
}

static void get_sends_basic_credentials_and_returns_the_body(void **state)
{
	env *e = *state;
	berth_buf out = BERTH_BUF_INIT(1 << 20);
	berth_client *c = client(e, "admin", "S3cret-pw");
	long status = 0;

	e->s.answer = "[{\"name\":\"alice\",\"sysadmin\":false}]";
	assert_int_equal(berth_client_api(c, "GET", "/api/v1/users", NULL, &out, &status), 0);
	assert_int_equal(status, 200);
	assert_string_equal(out.ptr, e->s.answer);
	assert_string_equal(e->s.method, "GET");
	assert_string_equal(e->s.url, "/api/v1/users");
	assert_string_equal(e->s.accept, "application/json");
	expect_basic(e->s.authz, "admin:S3cret-pw");
	assert_int_equal(e->s.requests, 1);
	berth_buf_dispose(&out);
	berth_client_free(c);
}

static void post_sends_the_json_body(void **state)
{
	env *e = *state;
	berth_buf out = BERTH_BUF_INIT(1 << 20);
	berth_client *c = client(e, "admin", "pw");
	const char *body = "{\"name\":\"team\",\"public\":true}";
	long status = 0;

	e->s.status = 201;
	e->s.answer = "{\"name\":\"team\",\"public\":true}";
	assert_int_equal(berth_client_api(c, "POST", "/api/v1/projects", body, &out, &status), 0);
	assert_int_equal(status, 201);
	assert_string_equal(e->s.method, "POST");
	assert_string_equal(e->s.body, body);
	assert_string_equal(e->s.ctype, "application/json");
	assert_string_equal(out.ptr, e->s.answer);
	berth_buf_dispose(&out);
	berth_client_free(c);
}

static void put_and_delete_without_body_work(void **state)
{
	env *e = *state;
	berth_client *c = client(e, "admin", "pw");
	long status = 0;

	e->s.status = 204;
	e->s.answer = "";
	assert_int_equal(berth_client_api(c, "PUT", "/api/v1/projects/x", NULL, NULL, &status), 0);
	assert_int_equal(status, 204);
	assert_string_equal(e->s.method, "PUT");
	assert_string_equal(e->s.clen, "0");
	assert_int_equal(berth_client_api(c, "DELETE", "/api/v1/users/bob", NULL, NULL, &status),
			 0);
	assert_string_equal(e->s.method, "DELETE");
	assert_string_equal(e->s.url, "/api/v1/users/bob");
	assert_int_equal(e->s.requests, 2);
	berth_client_free(c);
}

static void absolute_url_is_used_as_given(void **state)
{
	env *e = *state;
	berth_client *c = client(e, "admin", "pw");
	char url[200];

	e->s.answer = "[]";
	snprintf(url, sizeof(url), "%s/api/v1/audit?limit=3", e->s.base);
	assert_int_equal(berth_client_api(c, "GET", url, NULL, NULL, NULL), 0);
	assert_string_equal(e->s.url, "/api/v1/audit");
	expect_basic(e->s.authz, "admin:pw");
	berth_client_free(c);
}

static void error_status_carries_the_servers_message(void **state)
{
	env *e = *state;
	berth_buf out = BERTH_BUF_INIT(1 << 20);
	berth_client *c = client(e, "admin", "Very-Secret-1");
	long status = 0;

	e->s.status = 404;
	e->s.answer = "{\"errors\":[{\"code\":\"NOT_FOUND\",\"message\":\"user nobody does not "
		      "exist\"}]}";
	assert_int_equal(berth_client_api(c, "PUT", "/api/v1/projects/p/members/nobody",
					  "{\"role\":\"guest\"}", &out, &status),
			 BERTH_ENOTFOUND);
	assert_int_equal(status, 404);
	assert_string_equal(berth_error_last(), "user nobody does not exist");
	/* an error body is not a result */
	assert_int_equal(out.len, 0);

	e->s.status = 409;
	e->s.answer = "{\"errors\":[{\"code\":\"CONFLICT\",\"message\":\"user bob exists\"}]}";
	assert_int_equal(berth_client_api(c, "POST", "/api/v1/users", "{}", NULL, &status),
			 BERTH_EEXISTS);
	assert_int_equal(status, 409);

	e->s.status = 400;
	e->s.answer = "not json";
	assert_int_equal(berth_client_api(c, "POST", "/api/v1/users", "{}", NULL, NULL),
			 BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "HTTP 400"));

	e->s.status = 403;
	e->s.answer =
		"{\"errors\":[{\"code\":\"DENIED\",\"message\":\"system administrators only\"}]}";
	assert_int_equal(berth_client_api(c, "GET", "/api/v1/users", NULL, NULL, NULL),
			 BERTH_EDENIED);
	assert_string_equal(berth_error_last(), "system administrators only");
	assert_null(strstr(berth_error_last(), "Very-Secret-1"));
	berth_buf_dispose(&out);
	berth_client_free(c);
}

static void rejected_credentials_never_appear_in_the_message(void **state)
{
	env *e = *state;
	berth_client *c = client(e, "admin", "Wrong-Pass-77");

	e->s.status = 401;
	e->s.answer = "";
	assert_int_equal(berth_client_api(c, "GET", "/api/v1/users", NULL, NULL, NULL),
			 BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "rejected"));
	assert_null(strstr(berth_error_last(), "Wrong-Pass-77"));
	/* refused Basic credentials are not retried nor exchanged for a token */
	assert_int_equal(e->s.requests, 1);
	berth_client_free(c);
}

static void without_credentials_the_request_is_bare_and_says_to_log_in(void **state)
{
	env *e = *state;
	berth_client *c = client(e, NULL, NULL);

	e->s.status = 401;
	e->s.answer = "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication "
		      "required\"}]}";
	assert_int_equal(berth_client_api(c, "GET", "/api/v1/robots", NULL, NULL, NULL),
			 BERTH_EDENIED);
	assert_string_equal(e->s.authz, "");
	assert_non_null(strstr(berth_error_last(), "berth login"));
	berth_client_free(c);
}

static void stored_credentials_are_sent(void **state)
{
	env *e = *state;
	char json[512], b64[128];
	berth_client *c;

	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)"ops:St0red-pw", 13);
	snprintf(json, sizeof(json), "{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", e->s.host, b64);
	assert_int_equal(berth_fs_write_atomic(e->authfile, json, strlen(json)), 0);
	c = client(e, NULL, NULL);
	e->s.answer = "[]";
	assert_int_equal(berth_client_api(c, "GET", "/api/v1/projects", NULL, NULL, NULL), 0);
	expect_basic(e->s.authz, "ops:St0red-pw");
	berth_client_free(c);
}

static void server_errors_are_not_retried(void **state)
{
	env *e = *state;
	berth_client *c = client(e, "admin", "pw");
	long status = 0;

	e->s.status = 503;
	e->s.answer = "";
	assert_int_equal(berth_client_api(c, "POST", "/api/v1/users", "{}", NULL, &status),
			 BERTH_EIO);
	assert_int_equal(status, 503);
	assert_int_equal(e->s.requests, 1);
	e->s.status = 429;
	assert_int_equal(berth_client_api(c, "GET", "/api/v1/users", NULL, NULL, &status),
			 BERTH_EBUSY);
	assert_int_equal(e->s.requests, 2);
	berth_client_free(c);
}

static void response_larger_than_the_cap_is_refused(void **state)
{
	env *e = *state;
	berth_buf out = BERTH_BUF_INIT(16);
	berth_client *c = client(e, "admin", "pw");

	e->s.answer = "[\"0123456789\",\"0123456789\",\"0123456789\"]";
	assert_int_equal(berth_client_api(c, "GET", "/api/v1/users", NULL, &out, NULL),
			 BERTH_ETOOBIG);
	assert_true(out.len <= 16);
	berth_buf_dispose(&out);
	berth_client_free(c);
}

static void bad_method_or_path_is_refused_before_sending(void **state)
{
	env *e = *state;
	berth_client *c = client(e, "admin", "pw");

	assert_int_equal(berth_client_api(c, "BREW", "/api/v1/users", NULL, NULL, NULL),
			 BERTH_EINVALID);
	assert_int_equal(berth_client_api(c, "GET", "api/v1/users", NULL, NULL, NULL),
			 BERTH_EINVALID);
	assert_int_equal(e->s.requests, 0);
	berth_client_free(c);
}

static void unreachable_server_is_an_io_error_with_status_zero(void **state)
{
	env *e = *state;
	berth_client *c = client(e, "admin", "pw");
	long status = 99;

	/* port 1 on loopback: nothing listens there */
	assert_int_equal(
		berth_client_api(c, "GET", "http://127.0.0.1:1/api/v1/users", NULL, NULL, &status),
		BERTH_EIO);
	assert_int_equal(status, 0);
	berth_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(get_sends_basic_credentials_and_returns_the_body,
						setup, teardown),
		cmocka_unit_test_setup_teardown(post_sends_the_json_body, setup, teardown),
		cmocka_unit_test_setup_teardown(put_and_delete_without_body_work, setup, teardown),
		cmocka_unit_test_setup_teardown(absolute_url_is_used_as_given, setup, teardown),
		cmocka_unit_test_setup_teardown(error_status_carries_the_servers_message, setup,
						teardown),
		cmocka_unit_test_setup_teardown(rejected_credentials_never_appear_in_the_message,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			without_credentials_the_request_is_bare_and_says_to_log_in, setup,
			teardown),
		cmocka_unit_test_setup_teardown(stored_credentials_are_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(server_errors_are_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(response_larger_than_the_cap_is_refused, setup,
						teardown),
		cmocka_unit_test_setup_teardown(bad_method_or_path_is_refused_before_sending, setup,
						teardown),
		cmocka_unit_test_setup_teardown(unreachable_server_is_an_io_error_with_status_zero,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
