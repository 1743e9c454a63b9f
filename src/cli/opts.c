/*
 * opts.c - option parsing shared by the image commands (see opts.h).
 */
#include "opts.h"

#include "cli.h"

#include "berth/client.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int opt_value(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		berth_cli_fail(cmd, BERTH_EXIT_USAGE, "option %s needs a value", name);
		return -1;
	}
	*val = argv[++*i];
	return 1;
}

int opt_bool(const char *cmd, char **argv, int i, const char *name, int *out)
{
	const char *a = argv[i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '\0') {
		*out = 1;
		return 1;
	}
	if (a[n] != '=')
		return 0;
	if (strcmp(a + n + 1, "true") == 0 || strcmp(a + n + 1, "1") == 0) {
		*out = 1;
		return 1;
	}
	if (strcmp(a + n + 1, "false") == 0 || strcmp(a + n + 1, "0") == 0) {
		*out = 0;
		return 1;
	}
	berth_cli_fail(cmd, BERTH_EXIT_USAGE, "option %s takes true or false, not '%s'", name,
		       a + n + 1);
	return -1;
}

int opt_int(const char *cmd, const char *name, const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		berth_cli_fail(cmd, BERTH_EXIT_USAGE, "option %s needs a number from %d to %d",
			       name, min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

int opt_format(const char *cmd, int argc, char **argv, int *i, int *json)
{
	const char *v;
	int m = opt_value(cmd, argc, argv, i, "--format", &v);

	if (m <= 0)
		return m;
	if (strcmp(v, "json") && strcmp(v, "text")) {
		berth_cli_fail(cmd, BERTH_EXIT_USAGE, "unknown format '%s' (use text or json)", v);
		return -1;
	}
	*json = strcmp(v, "json") == 0;
	return 1;
}

int opt_creds_parse(const char *cmd, const char *s, opt_creds *c)
{
	const char *colon = strchr(s, ':');
	size_t ulen = colon ? (size_t)(colon - s) : strlen(s);

	if (ulen == 0 || ulen >= sizeof(c->user) ||
	    (colon && strlen(colon + 1) >= sizeof(c->pass))) {
		berth_cli_fail(cmd, BERTH_EXIT_USAGE, "credentials must be USER[:PASSWORD]");
		return -1;
	}
	memcpy(c->user, s, ulen);
	c->user[ulen] = '\0';
	snprintf(c->pass, sizeof(c->pass), "%s", colon ? colon + 1 : "");
	c->set = 1;
	return 0;
}

void opt_creds_dispose(opt_creds *c)
{
	OPENSSL_cleanse(c->pass, sizeof(c->pass));
}

int opt_image(const char *cmd, const char *s, int default_docker, berth_image_name **out)
{
	static const char *const prefixes[] = {"docker://",
					       "oci:", "oci-archive:", "docker-archive:"};
	char *tmp = NULL;
	int known = 0, rc;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(s, prefixes[i], strlen(prefixes[i])) == 0)
			known = 1;
	if (!known && default_docker && !strstr(s, "://")) {
		if (asprintf(&tmp, "docker://%s", s) < 0)
			return berth_cli_fail(cmd, -1, "out of memory");
		s = tmp;
	}
	rc = berth_image_name_parse(out, s);
	free(tmp);
	if (rc < 0) {
		berth_cli_fail(cmd, -1, "%s", berth_error_last());
		return -1;
	}
	return 0;
}

int opt_docker_ref(const char *cmd, const char *s, berth_ref **out)
{
	if (strncmp(s, "docker://", 9) == 0)
		s += 9;
	else if (strstr(s, "://") || strncmp(s, "oci:", 4) == 0 ||
		 strncmp(s, "oci-archive:", 12) == 0 || strncmp(s, "docker-archive:", 15) == 0) {
		berth_cli_fail(cmd, -1, "'%s' is not a registry reference (use docker://HOST/REPO)",
			       s);
		return -1;
	}
	if (berth_ref_parse(out, s) < 0) {
		berth_cli_fail(cmd, -1, "%s", berth_error_last());
		return -1;
	}
	return 0;
}

void opt_registry_init(opt_registry *r)
{
	memset(r, 0, sizeof(*r));
	r->tls_verify = 1;
}

int opt_registry_arg(const char *cmd, int argc, char **argv, int *i, opt_registry *r)
{
	const char *v;
	int m;

	if ((m = opt_bool(cmd, argv, *i, "--tls-verify", &r->tls_verify)))
		return m;
	if ((m = opt_value(cmd, argc, argv, i, "--creds", &v))) {
		if (m < 0 || opt_creds_parse(cmd, v, &r->creds) < 0)
			return -1;
		return 1;
	}
	if ((m = opt_value(cmd, argc, argv, i, "--authfile", &v)) > 0)
		r->auth_file = v;
	return m;
}

const char *const opt_text_json[] = {"text", "json", NULL};

int opt_registry_check(const char *cmd, opt_registry *r)
{
	if (r->creds_arg && opt_creds_parse(cmd, r->creds_arg, &r->creds) < 0)
		return -1;
	return 0;
}

void opt_registry_transport(const opt_registry *r, berth_transport_options *to)
{
	to->tls_verify = r->tls_verify;
	if (r->auth_file)
		to->auth_file = r->auth_file;
	if (r->creds.set) {
		to->username = r->creds.user;
		to->password = r->creds.pass;
	}
}

void opt_registry_dispose(opt_registry *r)
{
	opt_creds_dispose(&r->creds);
}

int opt_positional(const char *cmd, const char *a, const char **pos)
{
	if (a[0] == '-' && a[1]) {
		berth_cli_fail(cmd, BERTH_EXIT_USAGE, "unknown option '%s' (see --help)", a);
		return -1;
	}
	if (*pos) {
		berth_cli_fail(cmd, BERTH_EXIT_USAGE, "unexpected argument '%s'", a);
		return -1;
	}
	*pos = a;
	return 0;
}

void opt_ask_password(const char *prompt, char *buf, size_t len)
{
	char *p = getpass(prompt);

	snprintf(buf, len, "%s", p ? p : "");
	if (p)
		OPENSSL_cleanse(p, strlen(p));
}

void opt_ignore_sigpipe(void)
{
	signal(SIGPIPE, SIG_IGN);
}

int opt_client(const char *cmd, const char *host, int tls_verify, const opt_creds *c,
	       const char *auth_file, berth_client **out)
{
	berth_client_options co;

	berth_client_options_init(&co);
	co.host = host;
	co.tls_verify = tls_verify;
	co.auth_file = auth_file;
	if (c && c->set) {
		co.username = c->user;
		co.password = c->pass;
	}
	if (berth_client_new(out, &co) < 0) {
		berth_cli_fail(cmd, -1, "%s", berth_error_last());
		return -1;
	}
	return 0;
}

int opt_build_args(const char *cmd, const berth_args_list *l, berth_df_vars *v)
{
	for (int i = 0; i < l->n; i++) {
		const char *a = l->v[i], *eq = strchr(a, '=');
		char *k = eq ? strndup(a, (size_t)(eq - a)) : strdup(a);
		int rc;

		if (!k)
			return berth_cli_fail(cmd, -1, "out of memory");
		if (!eq && !getenv(k)) {
			free(k);
			continue;
		}
		rc = berth_df_vars_set(v, k, eq ? eq + 1 : getenv(k));
		free(k);
		if (rc < 0)
			return berth_cli_fail(cmd, -1, "%s", berth_error_last());
	}
	return 0;
}
