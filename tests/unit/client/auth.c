/*
 * auth.c - the challenge flow against the fake registry: Basic, Bearer
 * tokens from the realm (service and scope parameters, Basic credentials
 * sent to the token service), token caching, expiry and re-fetch after a
 * refused token, and failures that name the problem without the secret.
 */
#include "fake_registry.h"

typedef struct {
	fake_registry *fr;
	char dg[BERTH_DIGEST_MAX];
	berth_digest d;
} env;

static int setup(void **state)
{
	env *e = calloc(1, sizeof(*e));

	e->fr = fr_start();
	fr_add_blob(e->fr, "hello", 5, e->dg);
	assert_int_equal(berth_digest_parse(&e->d, e->dg, strlen(e->dg)), 0);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;

	fr_stop(e->fr);
	free(e);
	return 0;
}

static int get_hello(berth_client *c, const berth_digest *d)
{
	berth_buf got = BERTH_BUF_INIT(0);
	int rc = berth_client_blob_get(c, "team/app", d, 5, fr_buf_sink, &got);

	if (rc == 0)
		assert_memory_equal(got.ptr, "hello", 5);
	berth_buf_dispose(&got);
	return rc;
}

static void basic_credentials_are_sent_after_challenge(void **state)
{
	env *e = *state;
	berth_client *c;

	e->fr->cfg.basic_user = "alice";
	e->fr->cfg.basic_pass = "pa:ss w0rd";
	c = fr_client(e->fr, "alice", "pa:ss w0rd");
	assert_int_equal(berth_client_ping(c), 0);
	assert_int_equal(get_hello(c, &e->d), 0);
	assert_int_equal(get_hello(c, &e->d), 0);
	/* one 401 to learn the scheme; later requests carry the credentials up front */
	assert_int_equal(e->fr->auth_401, 1);
	berth_client_free(c);
}

static void wrong_basic_credentials_are_denied_without_the_secret(void **state)
{
	env *e = *state;
	berth_client *c;

	e->fr->cfg.basic_user = "alice";
	e->fr->cfg.basic_pass = "right";
	c = fr_client(e->fr, "alice", "Wr0ngPassw0rd");
	assert_int_equal(berth_client_ping(c), BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), e->fr->host));
	assert_null(strstr(berth_error_last(), "Wr0ngPassw0rd"));
	berth_client_free(c);
}

static void missing_credentials_say_to_log_in(void **state)
{
	env *e = *state;
	berth_client *c;

	e->fr->cfg.basic_user = "alice";
	e->fr->cfg.basic_pass = "right";
	c = fr_client(e->fr, NULL, NULL);
	assert_int_equal(get_hello(c, &e->d), BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "login"));
	berth_client_free(c);
}

static void bearer_token_is_fetched_with_scope_service_and_creds(void **state)
{
	env *e = *state;
	berth_client *c;

	e->fr->cfg.bearer = 1;
	e->fr->cfg.basic_user = "bob";
	e->fr->cfg.basic_pass = "tok3n-pass";
	e->fr->cfg.token_ttl = 300;
	c = fr_client(e->fr, "bob", "tok3n-pass");
	assert_int_equal(get_hello(c, &e->d), 0);
	assert_int_equal(e->fr->token_requests, 1);
	assert_string_equal(e->fr->last_service, "fake, registry");
	assert_string_equal(e->fr->last_scope, "repository:team/app:pull");
	assert_true(e->fr->token_had_basic);
	/* cached: no new token, no new 401 */
	assert_int_equal(get_hello(c, &e->d), 0);
	assert_int_equal(get_hello(c, &e->d), 0);
	assert_int_equal(e->fr->token_requests, 1);
	assert_int_equal(e->fr->auth_401, 1);
	berth_client_free(c);
}

static void anonymous_bearer_and_access_token_field_work(void **state)
{
	env *e = *state;
	berth_client *c;

	e->fr->cfg.bearer = 1;
	e->fr->cfg.access_token_field = 1;
	c = fr_client(e->fr, NULL, NULL);
	assert_int_equal(get_hello(c, &e->d), 0);
	assert_false(e->fr->token_had_basic);
	berth_client_free(c);
}

static void push_scope_and_mount_scopes_are_requested(void **state)
{
	env *e = *state;
	berth_client *c;

	e->fr->cfg.bearer = 1;
	e->fr->cfg.token_ttl = 300;
	c = fr_client(e->fr, NULL, NULL);
	assert_int_equal(berth_client_blob_mount(c, "team/dst", &e->d, "team/app"), 0);
	assert_string_equal(e->fr->last_scope,
			    "repository:team/dst:pull,push repository:team/app:pull");
	berth_client_free(c);
}

static void expired_token_is_fetched_again(void **state)
{
	env *e = *state;
	berth_client *c;

	e->fr->cfg.bearer = 1;
	e->fr->cfg.token_ttl = 1;
	c = fr_client(e->fr, NULL, NULL);
	assert_int_equal(get_hello(c, &e->d), 0);
	assert_int_equal(e->fr->token_requests, 1);
	sleep(2);
	assert_int_equal(get_hello(c, &e->d), 0);
	assert_int_equal(e->fr->token_requests, 2);
	/* renewed before use: the registry never had to refuse it */
	assert_int_equal(e->fr->auth_401, 1);
	berth_client_free(c);
}

static void refused_cached_token_is_refetched_once(void **state)
{
	env *e = *state;
	berth_client *c;

	e->fr->cfg.bearer = 1;
	e->fr->cfg.token_ttl = 300;
	c = fr_client(e->fr, NULL, NULL);
	assert_int_equal(get_hello(c, &e->d), 0);
	fr_lock(e->fr);
	e->fr->min_valid_token = e->fr->tokens_issued; /* revoke every token so far */
	fr_unlock(e->fr);
	assert_int_equal(get_hello(c, &e->d), 0);
	assert_int_equal(e->fr->token_requests, 2);
	assert_int_equal(e->fr->auth_401, 2);
	berth_client_free(c);
}

static void token_service_refusal_is_denied(void **state)
{
	env *e = *state;
	berth_client *c;

	e->fr->cfg.bearer = 1;
	e->fr->cfg.basic_user = "bob";
	e->fr->cfg.basic_pass = "good";
	c = fr_client(e->fr, "bob", "BadSecret99");
	assert_int_equal(get_hello(c, &e->d), BERTH_EDENIED);
	assert_non_null(strstr(berth_error_last(), "token service"));
	assert_null(strstr(berth_error_last(), "BadSecret99"));
	berth_client_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(basic_credentials_are_sent_after_challenge, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			wrong_basic_credentials_are_denied_without_the_secret, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_credentials_say_to_log_in, setup, teardown),
		cmocka_unit_test_setup_teardown(
			bearer_token_is_fetched_with_scope_service_and_creds, setup, teardown),
		cmocka_unit_test_setup_teardown(anonymous_bearer_and_access_token_field_work, setup,
						teardown),
		cmocka_unit_test_setup_teardown(push_scope_and_mount_scopes_are_requested, setup,
						teardown),
		cmocka_unit_test_setup_teardown(expired_token_is_fetched_again, setup, teardown),
		cmocka_unit_test_setup_teardown(refused_cached_token_is_refetched_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(token_service_refusal_is_denied, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
