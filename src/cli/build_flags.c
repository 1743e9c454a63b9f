/*
 * build_flags.c - `berth build --secret/--ssh/--add-host/--ulimit` values
 * (docker buildx's syntax) into berth_build_opts.
 *
 *   --secret id=X[,type=file|env][,src=FILE|source=FILE][,env=VAR]
 *            (no src/env: the variable X, else the file X, as buildx)
 *   --ssh    default | ID=SOCKET   (default alone: $SSH_AUTH_SOCK)
 *   --add-host NAME:IP | NAME=IP
 *   --ulimit NAME=SOFT[:HARD]     (Docker's names: nofile, nproc, core, ...)
 */
#include "build_flags.h"
#include "cli.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define CMD "build"

static char *keep(build_run_flags *f, const char *s, size_t n)
{
	char *c;

	if (f->nowned == (int)(sizeof(f->owned) / sizeof(f->owned[0])) || !(c = strndup(s, n)))
		return NULL;
	return f->owned[f->nowned++] = c;
}

/* "k=v,k2=v2": the value of key (owned), or NULL. */
static const char *field(build_run_flags *f, const char *spec, const char *key)
{
	size_t kl = strlen(key);

	while (*spec) {
		size_t n = strcspn(spec, ",");

		if (n > kl && strncmp(spec, key, kl) == 0 && spec[kl] == '=')
			return keep(f, spec + kl + 1, n - kl - 1);
		spec += n + (spec[n] == ',');
	}
	return NULL;
}

static int read_secret(build_run_flags *f, berth_build_secret *s, const char *v)
{
	static const char *const keys[] = {"id", "type", "src", "source", "env", NULL};
	const char *type = field(f, v, "type");
	struct stat st;

	for (const char *p = v; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
		size_t n = strcspn(p, ","), k;

		for (k = 0; keys[k]; k++)
			if (n > strlen(keys[k]) && !strncmp(p, keys[k], strlen(keys[k])) &&
			    p[strlen(keys[k])] == '=')
				break;
		if (!keys[k])
			return berth_cli_fail(CMD, -1, "--secret %s: unexpected field '%.*s'", v,
					      (int)n, p);
	}
	s->id = field(f, v, "id");
	s->src = field(f, v, "src");
	if (!s->src)
		s->src = field(f, v, "source");
	s->env = field(f, v, "env");
	if (!s->id || !*s->id)
		return berth_cli_fail(CMD, -1, "--secret %s: needs id=", v);
	if (type && strcmp(type, "file") && strcmp(type, "env"))
		return berth_cli_fail(CMD, -1, "--secret %s: type must be file or env", v);
	if (type && !strcmp(type, "env") && s->src) {
		s->env = s->src;
		s->src = NULL;
	}
	if (s->src && s->env)
		return berth_cli_fail(CMD, -1, "--secret %s: src= and env= together", v);
	if (!s->src && !s->env && !(type && !strcmp(type, "env")) && !getenv(s->id) &&
	    stat(s->id, &st) == 0)
		s->src = s->id; /* buildx: a bare id is the variable, else the file */
	if (s->src && stat(s->src, &st) < 0)
		return berth_cli_fail(CMD, -1, "--secret %s: cannot read %s", v, s->src);
	if (s->src && st.st_size > (off_t)BERTH_BUILD_SECRET_MAX)
		return berth_cli_fail(CMD, -1, "--secret %s: larger than %u bytes", v,
				      BERTH_BUILD_SECRET_MAX);
	return 0;
}

static int read_ssh(build_run_flags *f, berth_build_ssh *s, const char *v)
{
	const char *eq = strchr(v, '=');

	s->id = eq ? keep(f, v, (size_t)(eq - v)) : v;
	s->socket = eq ? eq + 1 : getenv("SSH_AUTH_SOCK");
	if (!s->id || !*s->id)
		return berth_cli_fail(CMD, -1, "--ssh %s: needs an id", v);
	if (!s->socket || !*s->socket)
		return berth_cli_fail(CMD, -1, "--ssh %s: no socket (and SSH_AUTH_SOCK is not set)",
				      v);
	if (strchr(s->socket, ','))
		return berth_cli_fail(CMD, -1,
				      "--ssh %s: one socket per id (key files are not "
				      "supported)",
				      v);
	return 0;
}

static int read_host(build_run_flags *f, berth_build_host *h, const char *v)
{
	size_t n = strcspn(v, ":=");
	unsigned char buf[16];

	if (!v[n] || n == 0)
		return berth_cli_fail(CMD, -1, "--add-host %s: expected NAME:IP", v);
	h->name = keep(f, v, n);
	h->ip = v + n + 1;
	if (!h->name ||
	    strspn(h->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			    ".-_") != n)
		return berth_cli_fail(CMD, -1, "--add-host %s: bad host name", v);
	if (!strcmp(h->ip, "host-gateway"))
		return berth_cli_fail(CMD, -1,
				      "--add-host %s: host-gateway needs a daemon's "
				      "bridge (berth has none)",
				      v);
	if (inet_pton(AF_INET, h->ip, buf) != 1 && inet_pton(AF_INET6, h->ip, buf) != 1)
		return berth_cli_fail(CMD, -1, "--add-host %s: invalid IP address '%s'", v, h->ip);
	return 0;
}

static const struct {
	const char *name;
	int resource;
} ulimit_names[] = {
	{"core", RLIMIT_CORE},	       {"cpu", RLIMIT_CPU},
	{"data", RLIMIT_DATA},	       {"fsize", RLIMIT_FSIZE},
	{"locks", RLIMIT_LOCKS},       {"memlock", RLIMIT_MEMLOCK},
	{"msgqueue", RLIMIT_MSGQUEUE}, {"nice", RLIMIT_NICE},
	{"nofile", RLIMIT_NOFILE},     {"nproc", RLIMIT_NPROC},
	{"rss", RLIMIT_RSS},	       {"rtprio", RLIMIT_RTPRIO},
	{"rttime", RLIMIT_RTTIME},     {"sigpending", RLIMIT_SIGPENDING},
	{"stack", RLIMIT_STACK},       {"as", RLIMIT_AS},
};

static int limit_value(const char *s, size_t n, uint64_t *out)
{
	char buf[32], *end;
	long long v;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%.*s", (int)n, s);
	if (!strcmp(buf, "-1") || !strcmp(buf, "unlimited")) {
		*out = RLIM_INFINITY;
		return 0;
	}
	v = strtoll(buf, &end, 10);
	if (*end || v < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

static int read_ulimit(berth_sandbox_rlimit *r, const char *v)
{
	const char *eq = strchr(v, '='), *colon;
	size_t i;

	if (!eq)
		return berth_cli_fail(CMD, -1, "--ulimit %s: expected NAME=SOFT[:HARD]", v);
	for (i = 0; i < sizeof(ulimit_names) / sizeof(ulimit_names[0]); i++)
		if (strlen(ulimit_names[i].name) == (size_t)(eq - v) &&
		    !strncmp(v, ulimit_names[i].name, (size_t)(eq - v)))
			break;
	if (i == sizeof(ulimit_names) / sizeof(ulimit_names[0]))
		return berth_cli_fail(CMD, -1, "--ulimit %s: invalid ulimit type '%.*s'", v,
				      (int)(eq - v), v);
	r->resource = ulimit_names[i].resource;
	colon = strchr(eq + 1, ':');
	if (limit_value(eq + 1, colon ? (size_t)(colon - eq - 1) : strlen(eq + 1), &r->soft) < 0 ||
	    (colon && limit_value(colon + 1, strlen(colon + 1), &r->hard) < 0))
		return berth_cli_fail(CMD, -1, "--ulimit %s: invalid limit value", v);
	if (!colon)
		r->hard = r->soft;
	if (r->soft > r->hard)
		return berth_cli_fail(CMD, -1, "--ulimit %s: soft limit is above the hard limit",
				      v);
	return 0;
}

int build_run_flags_read(build_run_flags *f, berth_build_opts *bo, const berth_args_list *secrets,
			 const berth_args_list *ssh, const berth_args_list *hosts,
			 const berth_args_list *ulimits)
{
	memset(f, 0, sizeof(*f));
	for (int i = 0; i < secrets->n; i++)
		if (read_secret(f, &f->secrets[i], secrets->v[i]) < 0)
			return -1;
	for (int i = 0; i < ssh->n; i++)
		if (read_ssh(f, &f->ssh[i], ssh->v[i]) < 0)
			return -1;
	for (int i = 0; i < hosts->n; i++)
		if (read_host(f, &f->hosts[i], hosts->v[i]) < 0)
			return -1;
	for (int i = 0; i < ulimits->n; i++)
		if (read_ulimit(&f->rlimits[i], ulimits->v[i]) < 0)
			return -1;
	bo->secrets = f->secrets;
	bo->nsecrets = (size_t)secrets->n;
	bo->ssh = f->ssh;
	bo->nssh = (size_t)ssh->n;
	bo->hosts = f->hosts;
	bo->nhosts = (size_t)hosts->n;
	bo->rlimits = f->rlimits;
	bo->nrlimits = (size_t)ulimits->n;
	return 0;
}

void build_run_flags_dispose(build_run_flags *f)
{
	for (int i = 0; i < f->nowned; i++)
		free(f->owned[i]);
	f->nowned = 0;
}
