/*
 * signopts.c - shared helpers of the signing commands; see signopts.h.
 */
#include "signopts.h"
#include "cli.h"
#include "opts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int sopt_read(const char *cmd, const char *path, size_t max, char **out, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	size_t cap = 65536, n = 0, r;
	char *p = NULL, *q;

	*out = NULL;
	if (!f)
		return berth_cli_fail(cmd, -1, "%s: %s", path, strerror(errno));
	p = malloc(cap + 1);
	while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n > max) {
			free(p);
			if (f != stdin)
				fclose(f);
			return berth_cli_fail(cmd, -1, "%s: larger than %zu bytes", path, max);
		}
		if (n == cap) {
			cap *= 2;
			if (!(q = realloc(p, cap + 1)))
				free(p);
			p = q;
		}
	}
	if (f != stdin)
		fclose(f);
	if (!p)
		return berth_cli_fail(cmd, -1, "out of memory");
	p[n] = '\0';
	*out = p;
	*len = n;
	return 0;
}

int sopt_private_key(const char *cmd, const char *path, berth_sign_key **out)
{
	char pw[BERTH_SIGN_PASSWORD_MAX + 1], *data = NULL;
	const char *env = getenv("COSIGN_PASSWORD");
	size_t len;
	int rc;

	if (sopt_read(cmd, path, BERTH_SIGN_KEY_FILE_MAX, &data, &len) < 0)
		return -1;
	pw[0] = '\0';
	if (env)
		snprintf(pw, sizeof(pw), "%s", env);
	else if (strstr(data, "ENCRYPTED SIGSTORE PRIVATE KEY") ||
		 strstr(data, "ENCRYPTED COSIGN PRIVATE KEY"))
		opt_ask_password("Enter password for private key: ", pw, sizeof(pw));
	rc = berth_sign_key_load_private(out, data, len, pw);
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(data, len);
	free(data);
	if (rc < 0)
		return berth_cli_fail(cmd, -1, "%s: %s", path, berth_error_last());
	return 0;
}

int sopt_public_key(const char *cmd, const char *path, berth_sign_key **out)
{
	char *data = NULL;
	size_t len;
	int rc;

	if (sopt_read(cmd, path, BERTH_SIGN_KEY_FILE_MAX, &data, &len) < 0)
		return -1;
	rc = berth_sign_key_load_public(out, data, len);
	free(data);
	if (rc < 0)
		return berth_cli_fail(cmd, -1, "%s: %s", path, berth_error_last());
	return 0;
}

int sopt_new_password(const char *cmd, char *buf, size_t len)
{
	const char *env = getenv("COSIGN_PASSWORD");
	char again[BERTH_SIGN_PASSWORD_MAX + 1];
	int same;

	if (env) {
		if (strlen(env) >= len)
			return berth_cli_fail(cmd, -1, "COSIGN_PASSWORD is longer than %zu bytes",
					      len - 1);
		snprintf(buf, len, "%s", env);
		return 0;
	}
	opt_ask_password("Enter password for private key: ", buf, len);
	opt_ask_password("Enter password for private key again: ", again, sizeof(again));
	same = strcmp(buf, again) == 0;
	explicit_bzero(again, sizeof(again));
	if (!same)
		return berth_cli_fail(cmd, -1, "the passwords do not match");
	return 0;
}

int sopt_write(const char *cmd, const char *path, const void *data, size_t len, int private_,
	       int excl)
{
	int fd, flags = O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC);
	size_t off = 0;

	if (strcmp(path, "-") == 0)
		return fwrite(data, 1, len, stdout) == len
			       ? 0
			       : berth_cli_fail(cmd, -1, "writing failed");
	fd = open(path, flags, private_ ? 0600 : 0644);
	if (fd < 0 && errno == EEXIST)
		return berth_cli_fail(cmd, -1, "%s already exists; remove it or pick another name",
				      path);
	if (fd < 0)
		return berth_cli_fail(cmd, -1, "%s: %s", path, strerror(errno));
	while (off < len) {
		ssize_t w = write(fd, (const char *)data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return berth_cli_fail(cmd, -1, "%s: %s", path, strerror(errno));
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0 || close(fd) != 0)
		return berth_cli_fail(cmd, -1, "%s: %s", path, strerror(errno));
	return 0;
}

int sopt_annotations_parse(const char *cmd, const berth_args_list *l, sopt_annotations *an)
{
	for (int i = 0; i < l->n && an->n < SOPT_ANN_MAX; i++) {
		const char *v = l->v[i], *eq = strchr(v, '=');
		char *copy;

		if (!eq || eq == v)
			return berth_cli_fail(cmd, -1, "annotation '%s' is not KEY=VALUE", v);
		if (!(copy = strdup(v)))
			return berth_cli_fail(cmd, -1, "out of memory");
		copy[eq - v] = '\0';
		an->buf[an->n] = copy;
		an->a[an->n].key = copy;
		an->a[an->n].value = copy + (eq - v) + 1;
		an->n++;
	}
	return 0;
}

void sopt_annotations_dispose(sopt_annotations *an)
{
	for (size_t i = 0; i < an->n; i++)
		free(an->buf[i]);
	an->n = 0;
}

const char *const sopt_modes[] = {"legacy", "oci-1-1", NULL};

int sopt_store_bundle(const sopt_store *s)
{
	return s->new_bundle || (s->mode && strcmp(s->mode, "oci-1-1") == 0);
}

/* Offline first: an upload is only tried when asked for, and fails clearly. */
int sopt_tlog_check(const char *cmd, const sopt_store *s)
{
	if (s->tlog && !s->rekor)
		return berth_cli_fail(cmd, -1, "--tlog-upload=true needs --rekor-url");
	return 0;
}

int sopt_verifier_check(const char *cmd, const sopt_verifier *v)
{
	if (!v->key && (!v->identity || !v->issuer || !v->root))
		return berth_cli_fail(cmd, -1,
				      "needs --key, or --certificate-identity, "
				      "--certificate-oidc-issuer and --trusted-root");
	return 0;
}
