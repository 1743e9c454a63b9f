/*
 * creds.c - registry credentials in the files Docker, podman and skopeo
 * share, and credential helpers.
 *
 * Files, in search order: $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, $XDG_CONFIG_HOME/containers/auth.json
 * (~/.config/...), then $DOCKER_CONFIG/config.json (~/.docker/config.json).
 * In each: credHelpers[host], auths[host] ("auth" = base64 "user:pass", or
 * "username"/"password", or "identitytoken"), then credsStore. Host keys
 * match as Docker matches them: "host:port", "https://host[/v1/]", and the
 * docker.io aliases (index.docker.io, registry-1.docker.io,
 * "https://index.docker.io/v1/").
 *
 * Helpers are `docker-credential-<name> get|store|erase`, exchanging JSON on
 * stdin/stdout. Writes rewrite the file atomically (temp file, fsync,
 * rename) with mode 0600, keeping every other key as it was. Secrets are
 * wiped from our buffers and never appear in messages.
 */
#include "lib/client/internal.h"

#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define AUTH_FILE_MAX (4 * 1024 * 1024)
#define HELPER_OUT_MAX (64 * 1024)
#define MAX_FILES 4

static void free_secret(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

void berth_client_creds_dispose(char *user, char *pass)
{
	free_secret(user);
	free_secret(pass);
}

/* ---- host keys ---- */

/* Normalise a key or host to a bare "host[:port]" (docker.io for its aliases); 0 if not a host key.
 */
static int normalise(const char *s, char *out, size_t outlen)
{
	size_t n;
	int had_scheme = 0;

	if (strncasecmp(s, "https://", 8) == 0)
		s += 8, had_scheme = 1;
	else if (strncasecmp(s, "http://", 7) == 0)
		s += 7, had_scheme = 1;
	n = strcspn(s, "/");
	/* "quay.io/org" keys are per-namespace entries (podman); not a host. */
	if (!had_scheme && s[n] == '/')
		return 0;
	if (!n || n >= outlen)
		return 0;
	memcpy(out, s, n);
	out[n] = '\0';
	if (strcasecmp(out, "index.docker.io") == 0 || strcasecmp(out, "registry-1.docker.io") == 0)
		snprintf(out, outlen, "docker.io");
	return 1;
}

int berth_client__host_match(const char *key, const char *host)
{
	char a[300], b[300];

	return normalise(key, a, sizeof(a)) && normalise(host, b, sizeof(b)) &&
	       strcasecmp(a, b) == 0;
}

static int is_docker_hub(const char *host)
{
	return berth_client__host_match(host, "docker.io");
}

/* The server URL a helper knows the host by. */
static const char *helper_server(const char *host)
{
	return is_docker_hub(host) ? "https://index.docker.io/v1/" : host;
}

/* The first key of `obj` (may be NULL) naming `host`, or NULL. */
static const char *find_key(json_t *obj, const char *host)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return NULL;
	/* An exact match first, then aliases. */
	if (json_object_get(obj, host))
		return json_object_iter_key(json_object_iter_at(obj, host));
	json_object_foreach(obj, key, v)
	{
		if (berth_client__host_match(key, host))
			return key;
	}
	return NULL;
}

/* ---- files ---- */

static int home_path(char *out, size_t outlen, const char *rel)
{
	const char *home = getenv("HOME");

	if (!home || !*home)
		return 0;
	snprintf(out, outlen, "%s/%s", home, rel);
	return 1;
}

static int docker_config_path(char *out, size_t outlen)
{
	const char *dc = getenv("DOCKER_CONFIG");

	if (dc && *dc) {
		snprintf(out, outlen, "%s/config.json", dc);
		return 1;
	}
	return home_path(out, outlen, ".docker/config.json");
}

/* The search list; returns the count. */
static size_t search_files(char files[MAX_FILES][4096])
{
	const char *v;
	size_t n = 0;

	if ((v = getenv("REGISTRY_AUTH_FILE")) && *v)
		snprintf(files[n++], 4096, "%s", v);
	if ((v = getenv("XDG_RUNTIME_DIR")) && *v)
		snprintf(files[n++], 4096, "%s/containers/auth.json", v);
	if ((v = getenv("XDG_CONFIG_HOME")) && *v)
		snprintf(files[n++], 4096, "%s/containers/auth.json", v);
	else if (home_path(files[n], 4096, ".config/containers/auth.json"))
		n++;
	if (docker_config_path(files[n], 4096))
		n++;
	return n;
}

static void wipe_json(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;

	if (json_is_string(j)) {
		explicit_bzero((char *)json_string_value(j), json_string_length(j));
	} else if (json_is_object(j)) {
		json_object_foreach(j, k, v) wipe_json(v);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v) wipe_json(v);
	}
}

static void json_free_wiped(json_t *j)
{
	if (j && j->refcount == 1)
		wipe_json(j);
	json_decref(j);
}

/* Load a JSON object file; *out NULL if the file does not exist. */
static int load_file(const char *path, json_t **out)
{
	berth_buf b = BERTH_BUF_INIT(AUTH_FILE_MAX);
	json_error_t err;
	int rc;

	*out = NULL;
	rc = berth_fs_read_file(&b, path);
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		rc = 0;
		goto done;
	}
	if (rc == BERTH_ETOOBIG) {
		rc = berth_error_set(BERTH_ETOOBIG, "%s is larger than %d bytes", path,
				     AUTH_FILE_MAX);
		goto done;
	}
	if (rc)
		goto done;
	*out = json_loadb(b.ptr ? b.ptr : "", b.len, 0, &err);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		rc = berth_error_set(BERTH_EINVALID, "%s: not a JSON object (line %d)", path,
				     err.line);
	}
done:
	if (b.ptr)
		explicit_bzero(b.ptr, b.len);
	berth_buf_dispose(&b);
	return rc;
}

static int write_file_0600(const char *path, const char *data, size_t len)
{
	char *dir = NULL, *tmp = NULL, *slash;
	int fd = -1, rc = 0;

	dir = strdup(path);
	if (!dir || asprintf(&tmp, "%s.tmp-XXXXXX", path) < 0) {
		tmp = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		rc = berth_fs_mkdir_p(dir);
		if (rc)
			goto done;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = berth_error_set_errno("create %s", tmp);
		goto done;
	}
	if (fchmod(fd, 0600) != 0) {
		rc = berth_error_set_errno("chmod %s", tmp);
		goto done;
	}
	rc = berth_fs_write_all(fd, data, len);
	if (rc)
		goto done;
	if (fsync(fd) != 0) {
		rc = berth_error_set_errno("fsync %s", tmp);
		goto done;
	}
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0) {
		rc = berth_error_set_errno("rename %s", path);
		goto done;
	}
	free(tmp);
	tmp = NULL;
	rc = berth_fs_fsync_parent(path);
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dir);
	return rc;
}

static int save_file(const char *path, json_t *root)
{
	char *text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	int rc;

	if (!text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = write_file_0600(path, text, strlen(text));
	explicit_bzero(text, strlen(text));
	free(text);
	return rc;
}

/* ---- helpers ---- */

static int helper_name_ok(const char *name)
{
	const char *p;

	if (!*name || strlen(name) > 64)
		return 0;
	for (p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return 0;
	return 1;
}

/*
 * Run docker-credential-<name> <action> with `input` on stdin; its stdout
 * (capped) goes to `out`. BERTH_ENOTFOUND when it says so.
 */
static int run_helper(const char *name, const char *action, const char *input, berth_buf *out)
{
	posix_spawn_file_actions_t fa;
	int in_sv[2] = {-1, -1}, out_p[2] = {-1, -1}, have_fa = 0, status = 0, rc = 0;
	char prog[100], *argv[3];
	pid_t pid = -1;
	size_t off = 0, len = strlen(input);
	ssize_t k;
	char chunk[4096];

	if (!helper_name_ok(name))
		return berth_error_set(BERTH_EINVALID,
				       "credential helper name \"%.64s\" is not valid", name);
	snprintf(prog, sizeof(prog), "docker-credential-%s", name);
	/* A socket for stdin: send() with MSG_NOSIGNAL cannot raise SIGPIPE. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in_sv) != 0 ||
	    pipe2(out_p, O_CLOEXEC) != 0) {
		rc = berth_error_set_errno("credential helper %s: pipe", prog);
		goto done;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	have_fa = 1;
	posix_spawn_file_actions_adddup2(&fa, in_sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, out_p[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	argv[0] = prog;
	argv[1] = (char *)action;
	argv[2] = NULL;
	errno = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
	if (errno != 0) {
		pid = -1;
		rc = berth_error_set(BERTH_ENOTFOUND, "credential helper %s not found in PATH",
				     prog);
		goto done;
	}
	close(in_sv[1]);
	in_sv[1] = -1;
	close(out_p[1]);
	out_p[1] = -1;
	while (off < len) {
		k = send(in_sv[0], input + off, len - off, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break; /* the helper stopped reading; its exit status tells */
		off += (size_t)k;
	}
	shutdown(in_sv[0], SHUT_WR);
	for (;;) {
		k = read(out_p[0], chunk, sizeof(chunk));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (berth_buf_put(out, chunk, (size_t)k)) {
			rc = berth_error_set(BERTH_ETOOBIG,
					     "credential helper %s: output too large", prog);
			break;
		}
	}
	explicit_bzero(chunk, sizeof(chunk));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	pid = -1;
	if (rc)
		goto done;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !out->len)
			/* The exec itself failed (seen this way where spawn cannot report it). */
			rc = berth_error_set(BERTH_ENOTFOUND,
					     "credential helper %s not found in PATH", prog);
		else if (out->ptr && strstr(out->ptr, "credentials not found"))
			rc = berth_error_set(BERTH_ENOTFOUND, "credential helper %s has no entry",
					     prog);
		else
			rc = berth_error_set(BERTH_EIO,
					     "credential helper %s %s failed (status %d)", prog,
					     action, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
done:
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (have_fa)
		posix_spawn_file_actions_destroy(&fa);
	for (int i = 0; i < 2; i++) {
		if (in_sv[i] >= 0)
			close(in_sv[i]);
		if (out_p[i] >= 0)
			close(out_p[i]);
	}
	return rc;
}

static int helper_get(const char *name, const char *server, char **user, char **pass)
{
	berth_buf out = BERTH_BUF_INIT(HELPER_OUT_MAX);
	json_t *root = NULL;
	const char *u, *s;
	int rc;

	rc = run_helper(name, "get", server, &out);
	if (rc)
		goto done;
	root = json_loadb(out.ptr ? out.ptr : "", out.len, 0, NULL);
	u = json_string_value(json_object_get(root, "Username"));
	s = json_string_value(json_object_get(root, "Secret"));
	if (!s) {
		rc = berth_error_set(BERTH_EINVALID,
				     "credential helper docker-credential-%s gave no Secret", name);
		goto done;
	}
	*user = strdup(u ? u : "");
	*pass = strdup(s);
	if (!*user || !*pass) {
		berth_client_creds_dispose(*user, *pass);
		*user = *pass = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
done:
	json_free_wiped(root);
	if (out.ptr)
		explicit_bzero(out.ptr, out.len);
	berth_buf_dispose(&out);
	return rc;
}

static int helper_store(const char *name, const char *server, const char *user, const char *pass)
{
	berth_buf out = BERTH_BUF_INIT(HELPER_OUT_MAX);
	json_t *msg =
		json_pack("{s:s, s:s, s:s}", "ServerURL", server, "Username", user, "Secret", pass);
	char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	int rc;

	if (!text) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = run_helper(name, "store", text, &out);
done:
	if (text) {
		explicit_bzero(text, strlen(text));
		free(text);
	}
	json_free_wiped(msg);
	berth_buf_dispose(&out);
	return rc;
}

/* ---- decoding entries ---- */

static int decode_auth(const char *b64, char **user, char **pass)
{
	size_t n = strlen(b64), pad = 0;
	unsigned char *raw = NULL;
	char *colon;
	int len, rc = 0;

	while (n && (b64[n - 1] == '\n' || b64[n - 1] == '\r'))
		n--;
	if (!n || n % 4 || n > 65536)
		return berth_error_set(BERTH_EINVALID, "malformed \"auth\" entry (not base64)");
	if (b64[n - 1] == '=')
		pad++;
	if (n > 1 && b64[n - 2] == '=')
		pad++;
	raw = malloc(n / 4 * 3 + 1);
	if (!raw)
		return berth_error_set(BERTH_ERROR, "out of memory");
	len = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n);
	if (len < 0 || (size_t)len < pad) {
		rc = berth_error_set(BERTH_EINVALID, "malformed \"auth\" entry (not base64)");
		goto done;
	}
	len -= (int)pad;
	raw[len] = '\0';
	colon = memchr(raw, ':', (size_t)len);
	if (!colon || strlen((char *)raw) != (size_t)len) {
		rc = berth_error_set(BERTH_EINVALID, "malformed \"auth\" entry (no user:password)");
		goto done;
	}
	*colon = '\0';
	*user = strdup((char *)raw);
	*pass = strdup(colon + 1);
	if (!*user || !*pass) {
		berth_client_creds_dispose(*user, *pass);
		*user = *pass = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
done:
	explicit_bzero(raw, n / 4 * 3 + 1);
	free(raw);
	return rc;
}

/* Credentials from one parsed file; ENOTFOUND if it has none for host. */
int berth_client__creds_from(json_t *root, const char *path, const char *host, char **user,
			     char **pass)
{
	const char *key, *helper, *s, *u, *p;
	json_t *entry;
	int rc;

	key = find_key(json_object_get(root, "credHelpers"), host);
	if (key) {
		helper = json_string_value(
			json_object_get(json_object_get(root, "credHelpers"), key));
		if (helper) {
			rc = helper_get(helper, helper_server(host), user, pass);
			if (rc != BERTH_ENOTFOUND)
				return rc;
		}
	}
	key = find_key(json_object_get(root, "auths"), host);
	if (key) {
		entry = json_object_get(json_object_get(root, "auths"), key);
		s = json_string_value(json_object_get(entry, "auth"));
		if (s && *s) {
			rc = decode_auth(s, user, pass);
			if (rc)
				return berth_error_set(rc, "%s: credentials for %s: %s", path, host,
						       rc == BERTH_EINVALID
							       ? "malformed \"auth\" (expected "
								 "base64 of user:password)"
							       : "out of memory");
			return 0;
		}
		u = json_string_value(json_object_get(entry, "username"));
		p = json_string_value(json_object_get(entry, "password"));
		if (!p) {
			p = json_string_value(json_object_get(entry, "identitytoken"));
			if (p && !u)
				u = "<token>";
		}
		if (u && p) {
			*user = strdup(u);
			*pass = strdup(p);
			if (!*user || !*pass) {
				berth_client_creds_dispose(*user, *pass);
				*user = *pass = NULL;
				return berth_error_set(BERTH_ERROR, "out of memory");
			}
			return 0;
		}
	}
	helper = json_string_value(json_object_get(root, "credsStore"));
	if (helper && *helper)
		return helper_get(helper, helper_server(host), user, pass);
	return BERTH_ENOTFOUND;
}

int berth_client_creds_get(const char *host, const char *auth_file, char **user, char **pass)
{
	char files[MAX_FILES][4096];
	json_t *root = NULL;
	size_t n, i;
	int rc;

	*user = *pass = NULL;
	if (auth_file) {
		snprintf(files[0], sizeof(files[0]), "%s", auth_file);
		n = 1;
	} else {
		n = search_files(files);
	}
	for (i = 0; i < n; i++) {
		rc = load_file(files[i], &root);
		if (rc)
			return rc;
		if (!root)
			continue;
		rc = berth_client__creds_from(root, files[i], host, user, pass);
		json_free_wiped(root);
		root = NULL;
		if (rc != BERTH_ENOTFOUND)
			return rc;
	}
	return berth_error_set(BERTH_ENOTFOUND, "no credentials for %s", host);
}

/* Where `berth login` writes. */
static void store_path(const char *auth_file, char *out, size_t outlen)
{
	const char *v;
	struct stat st;

	if (auth_file) {
		snprintf(out, outlen, "%s", auth_file);
		return;
	}
	if ((v = getenv("REGISTRY_AUTH_FILE")) && *v) {
		snprintf(out, outlen, "%s", v);
		return;
	}
	if ((v = getenv("XDG_RUNTIME_DIR")) && *v) {
		snprintf(out, outlen, "%s/containers/auth.json", v);
		if (stat(out, &st) == 0)
			return;
	}
	if (!docker_config_path(out, outlen))
		out[0] = '\0';
}

/* Is this file the Docker kind (config.json) rather than containers' auth.json? */
static int is_docker_config(const char *path)
{
	const char *base = strrchr(path, '/');

	return strcmp(base ? base + 1 : path, "config.json") == 0;
}

int berth_client_creds_store(const char *host, const char *auth_file, const char *user,
			     const char *pass)
{
	char path[4096], *raw = NULL, *b64 = NULL, *key = NULL;
	const char *helper = NULL, *hk;
	json_t *root = NULL, *auths, *entry;
	size_t ul, pl, rl;
	int rc;

	if (!host || !*host || !user || !pass)
		return berth_error_set(BERTH_EINVALID,
				       "login: host, user and password are required");
	store_path(auth_file, path, sizeof(path));
	if (!path[0])
		return berth_error_set(
			BERTH_EINVALID,
			"no place to store credentials: set HOME or REGISTRY_AUTH_FILE");
	rc = load_file(path, &root);
	if (rc)
		goto done;
	if (!root && !(root = json_object())) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	hk = find_key(json_object_get(root, "credHelpers"), host);
	if (hk)
		helper = json_string_value(
			json_object_get(json_object_get(root, "credHelpers"), hk));
	if (!helper)
		helper = json_string_value(json_object_get(root, "credsStore"));
	if (helper && *helper) {
		rc = helper_store(helper, helper_server(host), user, pass);
		goto done;
	}
	auths = json_object_get(root, "auths");
	if (!json_is_object(auths)) {
		auths = json_object();
		if (!auths || json_object_set_new(root, "auths", auths)) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
	}
	/* Reuse the spelling already there; else Docker's for Hub in config.json. */
	hk = find_key(auths, host);
	key = strdup(hk ? hk
		     : (is_docker_hub(host) && is_docker_config(path))
			     ? "https://index.docker.io/v1/"
			     : (is_docker_hub(host) ? "docker.io" : host));
	if (!key) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	/* Other aliases of the same host would shadow or confuse: drop them. */
	while ((hk = find_key(auths, host)) && strcmp(hk, key) != 0)
		json_object_del(auths, hk);
	ul = strlen(user);
	pl = strlen(pass);
	rl = ul + 1 + pl;
	raw = malloc(rl + 1);
	b64 = malloc(4 * ((rl + 2) / 3) + 1);
	if (!raw || !b64) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	memcpy(raw, user, ul);
	raw[ul] = ':';
	memcpy(raw + ul + 1, pass, pl);
	EVP_EncodeBlock((unsigned char *)b64, (unsigned char *)raw, (int)rl);
	entry = json_object_get(auths, key);
	if (!json_is_object(entry)) {
		entry = json_object();
		if (!entry || json_object_set_new(auths, key, entry)) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
	}
	json_object_del(entry, "username");
	json_object_del(entry, "password");
	json_object_del(entry, "identitytoken");
	if (json_object_set_new(entry, "auth", json_string(b64))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = save_file(path, root);
done:
	if (raw) {
		explicit_bzero(raw, ul + 1 + pl);
		free(raw);
	}
	free_secret(b64);
	free(key);
	json_free_wiped(root);
	return rc;
}

/* Erase from one file; 0 if something was removed, ENOTFOUND if nothing was there. */
static int erase_in(const char *path, const char *host)
{
	berth_buf out = BERTH_BUF_INIT(HELPER_OUT_MAX);
	json_t *root = NULL, *auths;
	const char *hk, *helper = NULL;
	int rc, removed = 0;

	rc = load_file(path, &root);
	if (rc || !root) {
		rc = rc ? rc : BERTH_ENOTFOUND;
		goto done;
	}
	hk = find_key(json_object_get(root, "credHelpers"), host);
	if (hk)
		helper = json_string_value(
			json_object_get(json_object_get(root, "credHelpers"), hk));
	if (!helper)
		helper = json_string_value(json_object_get(root, "credsStore"));
	if (helper && *helper) {
		rc = run_helper(helper, "erase", helper_server(host), &out);
		if (rc == 0)
			removed = 1;
		else if (rc != BERTH_ENOTFOUND)
			goto done;
	}
	auths = json_object_get(root, "auths");
	while ((hk = find_key(auths, host))) {
		json_object_del(auths, hk);
		removed = 1;
	}
	if (!removed) {
		rc = BERTH_ENOTFOUND;
		goto done;
	}
	rc = save_file(path, root);
done:
	berth_buf_dispose(&out);
	json_free_wiped(root);
	return rc;
}

int berth_client_creds_erase(const char *host, const char *auth_file)
{
	char files[MAX_FILES][4096];
	size_t n, i;
	int rc, any = 0;

	if (auth_file) {
		snprintf(files[0], sizeof(files[0]), "%s", auth_file);
		n = 1;
	} else {
		n = search_files(files);
	}
	for (i = 0; i < n; i++) {
		rc = erase_in(files[i], host);
		if (rc == 0)
			any = 1;
		else if (rc != BERTH_ENOTFOUND)
			return rc;
	}
	berth_error_clear();
	if (!any)
		return berth_error_set(BERTH_ENOTFOUND, "not logged in to %s", host);
	return 0;
}
