/*
 * opts.c - what the commands share around their option tables (see opts.h).
 */
#include "opts.h"

#include "cli.h"

#include "berth/client.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	explicit_bzero(c->pass, sizeof(c->pass));
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

void opt_ask_password(const char *prompt, char *buf, size_t len)
{
	char *p = getpass(prompt);

	snprintf(buf, len, "%s", p ? p : "");
	if (p)
		explicit_bzero(p, strlen(p));
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
