/*
 * cmd_login.c - `berth login REGISTRY` and `berth logout REGISTRY`: check
 * credentials against a registry and store them where docker, podman and
 * skopeo find them (berth_client_creds_store), or remove them.
 */
#include "cli.h"
#include "opts.h"

#include "berth/client.h"
#include "util/buf.h"
#include "util/fs.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct login_opts {
	const char *user, *pass, *auth_file;
	int tls, pw_stdin;
} login_opts;

static const berth_arg login_args[] = {
	BERTH_OPT_STRING("username", 'u', login_opts, user, "USER",
			 "user name (asked for on a terminal)"),
	BERTH_OPT_STRING("password", 'p', login_opts, pass, "PASS",
			 "password (asked for on a terminal)"),
	BERTH_OPT_BOOL("password-stdin", 0, login_opts, pw_stdin, NULL,
		       "read the password from standard input"),
	BERTH_OPT_STRING("authfile", 0, login_opts, auth_file, "FILE", "store in FILE"),
	BERTH_OPT_BOOL("tls-verify", 0, login_opts, tls, "false",
		       "do not verify the registry's TLS certificate"),
	BERTH_OPT_END,
};

static const berth_args_spec login_spec = {
	.cmd = "login",
	.usage = "login [options] REGISTRY",
	.description =
		"Check credentials against REGISTRY (HOST[:PORT]) and store them in the\n"
		"containers auth.json ($REGISTRY_AUTH_FILE, "
		"$XDG_RUNTIME_DIR/containers/auth.json)\n"
		"if it exists, else ~/.docker/config.json (or through its credential helper).\n",
	.args = login_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs a registry",
};

typedef struct logout_opts {
	const char *auth_file;
	int all;
} logout_opts;

static const berth_arg logout_args[] = {
	BERTH_OPT_BOOL("all", 0, logout_opts, all, NULL,
		       "remove all credentials from the auth file"),
	BERTH_OPT_STRING("authfile", 0, logout_opts, auth_file, "FILE", "the auth file to change"),
	BERTH_OPT_END,
};

static const berth_args_spec logout_spec = {
	.cmd = "logout",
	.usage = "logout [options] REGISTRY | --all",
	.description =
		"Remove the stored credentials of REGISTRY, or of every registry with --all.\n",
	.args = logout_args,
	.max_pos = 1,
	.man = "berth-login",
};

const berth_args_spec *const cmd_login_specs[] = {&login_spec, NULL};
const berth_args_spec *const cmd_logout_specs[] = {&logout_spec, NULL};

/* "docker://host/", "https://host" → "host" in buf. */
static const char *registry_host(const char *s, char *buf, size_t len)
{
	static const char *const prefixes[] = {"docker://", "https://", "http://"};

	for (size_t i = 0; i < 3; i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			s += strlen(prefixes[i]);
	snprintf(buf, len, "%s", s);
	char *slash = strchr(buf, '/');

	if (slash)
		*slash = '\0';
	return buf;
}

static int read_line(char *buf, size_t len, FILE *in)
{
	size_t n;

	if (!fgets(buf, (int)len, in))
		return -1;
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

int cmd_login(int argc, char **argv)
{
	login_opts o = {.tls = 1};
	opt_creds creds = {0};
	const char *reg, *auth_file, *user, *pass;
	char host[512];
	berth_client *c = NULL;
	int tls, pw_stdin, rc, n;

	if ((rc = berth_args_parse(&login_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	rc = BERTH_EXIT_USAGE;
	reg = argv[1];
	auth_file = o.auth_file;
	user = o.user;
	pass = o.pass;
	tls = o.tls;
	pw_stdin = o.pw_stdin;
	if (pass && pw_stdin) {
		berth_cli_fail("login", BERTH_EXIT_USAGE,
			       "--password and --password-stdin exclude "
			       "each other");
		goto done;
	}
	if (!user) {
		if (!isatty(0) || pw_stdin) {
			berth_cli_fail("login", BERTH_EXIT_USAGE,
				       "needs --username (no terminal to ask on)");
			goto done;
		}
		fprintf(stderr, "Username: ");
		if (read_line(creds.user, sizeof(creds.user), stdin) < 0 || !creds.user[0]) {
			berth_cli_fail("login", BERTH_EXIT_USAGE, "no user name given");
			goto done;
		}
	} else if (strlen(user) >= sizeof(creds.user) || !*user) {
		berth_cli_fail("login", BERTH_EXIT_USAGE, "bad user name");
		goto done;
	} else {
		snprintf(creds.user, sizeof(creds.user), "%s", user);
	}
	if (pw_stdin) {
		if (read_line(creds.pass, sizeof(creds.pass), stdin) < 0) {
			berth_cli_fail("login", BERTH_EXIT_USAGE, "no password on standard input");
			goto done;
		}
	} else if (pass) {
		if (strlen(pass) >= sizeof(creds.pass)) {
			berth_cli_fail("login", BERTH_EXIT_USAGE, "password is too long");
			goto done;
		}
		snprintf(creds.pass, sizeof(creds.pass), "%s", pass);
	} else if (isatty(0)) {
		opt_ask_password("Password: ", creds.pass, sizeof(creds.pass));
	} else {
		berth_cli_fail("login", BERTH_EXIT_USAGE,
			       "needs --password or --password-stdin (no terminal to ask on)");
		goto done;
	}
	creds.set = 1;
	rc = BERTH_EXIT_FAIL;
	registry_host(reg, host, sizeof(host));
	opt_ignore_sigpipe();
	if (opt_client("login", host, tls, &creds, auth_file, &c) < 0)
		goto done;
	if (berth_client_ping(c) < 0 ||
	    berth_client_creds_store(host, auth_file, creds.user, creds.pass) < 0) {
		berth_cli_fail("login", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	puts("Login Succeeded!");
	rc = BERTH_EXIT_OK;
done:
	berth_client_free(c);
	opt_creds_dispose(&creds);
	return rc;
}

/* The auth file --all clears: the one given, else the containers auth.json, else docker's. */
static char *auth_path(const char *given)
{
	const char *e = getenv("REGISTRY_AUTH_FILE"), *x = getenv("XDG_RUNTIME_DIR");
	const char *dc = getenv("DOCKER_CONFIG"), *home = getenv("HOME");
	char *p = NULL;
	struct stat st;

	if (given)
		return strdup(given);
	if (e && *e)
		return strdup(e);
	if (x && *x && asprintf(&p, "%s/containers/auth.json", x) >= 0) {
		if (stat(p, &st) == 0)
			return p;
		free(p);
		p = NULL;
	}
	if (dc && *dc) {
		if (asprintf(&p, "%s/config.json", dc) < 0)
			return NULL;
	} else if (asprintf(&p, "%s/.docker/config.json", home ? home : "") < 0) {
		return NULL;
	}
	return p;
}

static int logout_all(const char *given)
{
	berth_buf b = BERTH_BUF_INIT(16 * 1024 * 1024);
	char *path = auth_path(given), *text = NULL;
	json_t *root = NULL;
	int rc;

	if (!path) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_fs_read_file(&b, path);
	if (rc == BERTH_ENOTFOUND) {
		rc = berth_error_set(BERTH_ENOTFOUND, "no credentials stored in %s", path);
		goto done;
	}
	if (rc < 0)
		goto done;
	root = json_loadb(b.ptr, b.len, 0, NULL);
	if (!json_is_object(root)) {
		rc = berth_error_set(BERTH_EINVALID, "%s is not a JSON object", path);
		goto done;
	}
	json_object_set_new(root, "auths", json_object());
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_fs_write_atomic(path, text, strlen(text));
	if (rc == 0 && chmod(path, 0600) != 0)
		rc = berth_error_set_errno("chmod %s", path);
done:
	berth_buf_dispose_secret(&b);
	free(text);
	free(path);
	json_decref(root);
	return rc;
}

int cmd_logout(int argc, char **argv)
{
	logout_opts o = {0};
	const char *reg, *auth_file;
	char host[512];
	int all, rc, n;

	if ((rc = berth_args_parse(&logout_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	reg = n ? argv[1] : NULL;
	auth_file = o.auth_file;
	all = o.all;
	if (!reg == !all)
		return berth_cli_fail("logout", BERTH_EXIT_USAGE, "needs a registry or --all");
	if (all)
		rc = logout_all(auth_file);
	else
		rc = berth_client_creds_erase(registry_host(reg, host, sizeof(host)), auth_file);
	if (rc < 0)
		return berth_cli_fail("logout", BERTH_EXIT_FAIL, "%s", berth_error_last());
	if (!all)
		printf("Removed login credentials for %s\n", host);
	return BERTH_EXIT_OK;
}
