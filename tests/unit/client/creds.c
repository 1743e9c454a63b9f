/*
 * creds.c - credential lookup and storage: docker config.json with "auth",
 * a credential helper (a shell script docker-credential-test on PATH),
 * containers auth.json through $REGISTRY_AUTH_FILE, the search order, and
 * store/erase round trips that keep the file's other keys and mode 0600.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/client.h"
#include "util/buf.h"
#include "util/fs.h"

typedef struct {
	char dir[64];
	char path[512];
} env;

static void write_text(const char *path, const char *text, int mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, (mode_t)mode);
}

static char *read_text(const char *path)
{
	berth_buf b = BERTH_BUF_INIT(1 << 20);

	assert_int_equal(berth_fs_read_file(&b, path), 0);
	return berth_buf_detach(&b, NULL);
}

static int setup(void **state)
{
	env *e = calloc(1, sizeof(*e));
	char p[600], *path;

	strcpy(e->dir, "/tmp/berth-creds-XXXXXX");
	assert_non_null(mkdtemp(e->dir));
	setenv("HOME", e->dir, 1);
	unsetenv("REGISTRY_AUTH_FILE");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_CONFIG_HOME");
	unsetenv("DOCKER_CONFIG");
	snprintf(p, sizeof(p), "%s/.docker", e->dir);
	assert_int_equal(berth_fs_mkdir_p(p), 0);
	snprintf(p, sizeof(p), "%s/bin", e->dir);
	assert_int_equal(berth_fs_mkdir_p(p), 0);
	/* The helper knows one host, records what it was asked to store or erase. */
	snprintf(p, sizeof(p), "%s/bin/docker-credential-test", e->dir);
	{
		char script[2048];

		snprintf(script, sizeof(script),
			 "#!/bin/sh\n"
			 "input=$(cat)\n"
			 "case \"$1\" in\n"
			 "get) if [ \"$input\" = \"helped.example.com\" ]; then\n"
			 "  printf "
			 "'{\"ServerURL\":\"%%s\",\"Username\":\"helperuser\",\"Secret\":\"helper "
			 "secret\"}' \"$input\"\n"
			 "  else echo 'credentials not found in native keychain'; exit 1; fi;;\n"
			 "store) printf '%%s' \"$input\" > %s/stored;;\n"
			 "erase) printf '%%s' \"$input\" > %s/erased;;\n"
			 "*) exit 2;;\n"
			 "esac\n",
			 e->dir, e->dir);
		write_text(p, script, 0755);
	}
	path = getenv("PATH");
	snprintf(p, sizeof(p), "%s/bin:%s", e->dir, path ? path : "/usr/bin:/bin");
	setenv("PATH", p, 1);
	snprintf(e->path, sizeof(e->path), "%s/.docker/config.json", e->dir);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;

	assert_int_equal(berth_fs_remove_tree(e->dir), 0);
	free(e);
	return 0;
}

static void config_json_auth_is_decoded(void **state)
{
	env *e = *state;
	char *u = NULL, *p = NULL;

	/* "user:pa:ss" — the password may itself contain ':' */
	write_text(e->path,
		   "{\"auths\":{\"https://reg.example.com\":{\"auth\":\"dXNlcjpwYTpzcw==\"},"
		   "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOmh1YnB3\"}}}",
		   0600);
	assert_int_equal(berth_client_creds_get("reg.example.com", NULL, &u, &p), 0);
	assert_string_equal(u, "user");
	assert_string_equal(p, "pa:ss");
	berth_client_creds_dispose(u, p);
	assert_int_equal(berth_client_creds_get("docker.io", NULL, &u, &p), 0);
	assert_string_equal(u, "hub");
	assert_string_equal(p, "hubpw");
	berth_client_creds_dispose(u, p);
	assert_int_equal(berth_client_creds_get("other.example.com", NULL, &u, &p),
			 BERTH_ENOTFOUND);
}

static void malformed_auth_is_einvalid(void **state)
{
	env *e = *state;
	char *u = NULL, *p = NULL;

	write_text(e->path, "{\"auths\":{\"reg.example.com\":{\"auth\":\"bm9jb2xvbg==\"}}}", 0600);
	assert_int_equal(berth_client_creds_get("reg.example.com", NULL, &u, &p), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "config.json"));
	write_text(e->path, "{not json", 0600);
	assert_int_equal(berth_client_creds_get("reg.example.com", NULL, &u, &p), BERTH_EINVALID);
}

static void credential_helper_is_asked(void **state)
{
	env *e = *state;
	char *u = NULL, *p = NULL;

	write_text(e->path,
		   "{\"credHelpers\":{\"helped.example.com\":\"test\"},\"credsStore\":\"test\","
		   "\"auths\":{\"plain.example.com\":{\"auth\":\"YTpi\"}}}",
		   0600);
	assert_int_equal(berth_client_creds_get("helped.example.com", NULL, &u, &p), 0);
	assert_string_equal(u, "helperuser");
	assert_string_equal(p, "helper secret");
	berth_client_creds_dispose(u, p);
	/* auths before credsStore */
	assert_int_equal(berth_client_creds_get("plain.example.com", NULL, &u, &p), 0);
	assert_string_equal(u, "a");
	berth_client_creds_dispose(u, p);
	/* credsStore knows nothing of this one */
	assert_int_equal(berth_client_creds_get("unknown.example.com", NULL, &u, &p),
			 BERTH_ENOTFOUND);
}

static void missing_helper_is_reported(void **state)
{
	env *e = *state;
	char *u = NULL, *p = NULL;

	write_text(e->path, "{\"credsStore\":\"nosuchhelper\"}", 0600);
	assert_int_equal(berth_client_creds_get("x.example.com", NULL, &u, &p), BERTH_ENOTFOUND);
	write_text(e->path, "{\"credsStore\":\"../../bin/sh\"}", 0600);
	assert_int_equal(berth_client_creds_get("x.example.com", NULL, &u, &p), BERTH_EINVALID);
}

static void registry_auth_file_comes_first(void **state)
{
	env *e = *state;
	char af[600], *u = NULL, *p = NULL;

	write_text(e->path, "{\"auths\":{\"reg.example.com\":{\"auth\":\"ZG9ja2VyOnB3\"}}}", 0600);
	snprintf(af, sizeof(af), "%s/auth.json", e->dir);
	write_text(af, "{\"auths\":{\"reg.example.com\":{\"auth\":\"cG9kbWFuOnB3\"}}}", 0600);
	setenv("REGISTRY_AUTH_FILE", af, 1);
	assert_int_equal(berth_client_creds_get("reg.example.com", NULL, &u, &p), 0);
	assert_string_equal(u, "podman");
	berth_client_creds_dispose(u, p);
	/* an explicit file is the only one read */
	assert_int_equal(berth_client_creds_get("reg.example.com", e->path, &u, &p), 0);
	assert_string_equal(u, "docker");
	berth_client_creds_dispose(u, p);
	unsetenv("REGISTRY_AUTH_FILE");
}

static void store_and_erase_keep_other_content_and_mode(void **state)
{
	env *e = *state;
	char *u = NULL, *p = NULL, *text;
	json_t *root;
	struct stat st;

	write_text(e->path,
		   "{\"auths\":{\"keep.example.com\":{\"auth\":\"azpr\"}},\"psFormat\":\"table\","
		   "\"proxies\":{\"default\":{\"httpProxy\":\"http://p:3128\"}}}",
		   0644);
	assert_int_equal(berth_client_creds_store("127.0.0.1:5000", NULL, "me", "s3cr:et"), 0);
	assert_int_equal(stat(e->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(berth_client_creds_get("127.0.0.1:5000", NULL, &u, &p), 0);
	assert_string_equal(u, "me");
	assert_string_equal(p, "s3cr:et");
	berth_client_creds_dispose(u, p);
	text = read_text(e->path);
	root = json_loads(text, 0, NULL);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root, "psFormat")), "table");
	assert_non_null(json_object_get(json_object_get(root, "proxies"), "default"));
	assert_non_null(json_object_get(json_object_get(root, "auths"), "keep.example.com"));
	json_decref(root);
	free(text);
	/* docker.io is stored under Docker's key in config.json */
	assert_int_equal(berth_client_creds_store("docker.io", NULL, "h", "p"), 0);
	text = read_text(e->path);
	assert_non_null(strstr(text, "https://index.docker.io/v1/"));
	free(text);

	assert_int_equal(berth_client_creds_erase("127.0.0.1:5000", NULL), 0);
	assert_int_equal(berth_client_creds_get("127.0.0.1:5000", NULL, &u, &p), BERTH_ENOTFOUND);
	assert_int_equal(berth_client_creds_erase("127.0.0.1:5000", NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_client_creds_get("keep.example.com", NULL, &u, &p), 0);
	berth_client_creds_dispose(u, p);
	assert_int_equal(stat(e->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void store_creates_auth_json_and_goes_through_helper(void **state)
{
	env *e = *state;
	char af[600], stored[600], *text;
	struct stat st;

	snprintf(af, sizeof(af), "%s/containers/auth.json", e->dir);
	setenv("REGISTRY_AUTH_FILE", af, 1);
	assert_int_equal(berth_client_creds_store("docker.io", NULL, "u", "p"), 0);
	text = read_text(af);
	assert_non_null(strstr(text, "\"docker.io\""));
	free(text);
	assert_int_equal(stat(af, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	unsetenv("REGISTRY_AUTH_FILE");

	/* With a helper configured, the helper stores the secret, not the file. */
	write_text(e->path, "{\"credHelpers\":{\"helped.example.com\":\"test\"}}", 0600);
	assert_int_equal(berth_client_creds_store("helped.example.com", NULL, "hu", "hp"), 0);
	snprintf(stored, sizeof(stored), "%s/stored", e->dir);
	text = read_text(stored);
	assert_non_null(strstr(text, "\"Secret\":\"hp\""));
	assert_non_null(strstr(text, "\"ServerURL\":\"helped.example.com\""));
	free(text);
	text = read_text(e->path);
	assert_null(strstr(text, "hp"));
	free(text);
	assert_int_equal(berth_client_creds_erase("helped.example.com", NULL), 0);
	snprintf(stored, sizeof(stored), "%s/erased", e->dir);
	text = read_text(stored);
	assert_string_equal(text, "helped.example.com");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_json_auth_is_decoded, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_auth_is_einvalid, setup, teardown),
		cmocka_unit_test_setup_teardown(credential_helper_is_asked, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_helper_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(registry_auth_file_comes_first, setup, teardown),
		cmocka_unit_test_setup_teardown(store_and_erase_keep_other_content_and_mode, setup,
						teardown),
		cmocka_unit_test_setup_teardown(store_creates_auth_json_and_goes_through_helper,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
