/*
 * solve.c - a Dockerfile becomes an image: the stages the target needs are
 * built (each after the stages it reads), their instructions applied in
 * order to a berth_build_image — config changes as BuildKit makes them,
 * RUN through the sandbox, COPY from the build context or another stage.
 *
 * Words are expanded here, not only by the frontend's plan: the plan knows
 * the Dockerfile's ENV and ARGs, the builder also knows the base image's
 * Env (ENV PATH=$PATH:/x must see the image's PATH). The variables of an
 * expansion are the stage's ARGs in scope overlaid by the image's Env, as
 * in BuildKit (an ENV wins over an ARG of the same name).
 *
 * Not yet here (each refused with a message naming it, never ignored): RUN
 * --mount, heredocs, ADD of URLs and archives, COPY
 * --link/--parents/--exclude, parallel stages, several platforms.
 */
#include "lib/build/internal.h"
#include "berth/dockerfile.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/inroot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHELL_DEFAULT "[\"/bin/sh\",\"-c\"]"
#define COPY_DEPTH_MAX 256

typedef struct solver {
	berth_build_store *store;
	const berth_build_opts *o;
	berth_dockerfile *df;
	berth_df_plan *plan;
	berth_dockerignore *ign;
	berth_build_image **done; /* per stage, once built */
	int *busy;
	FILE *log;
	int64_t clamp;
	berth_context *ctx;		/* the context walked with hashes (first COPY from it) */
	char (*keys)[BERTH_DIGEST_MAX]; /* per stage, the key of its last step */
	char cache_dir[PATH_MAX + 16];
} solver;

static int fail_at(solver *sv, const berth_df_instr *in, int code, const char *fmt, ...)
	BERTH_PRINTF(4, 5);

static int fail_at(solver *sv, const berth_df_instr *in, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return berth_error_set(code, "%s:%u: %s: %s", sv->df->name ? sv->df->name : "Dockerfile",
			       (unsigned)in->pos.line, berth_dockerfile_kind_name(in->kind), msg);
}

/* ---- expansion with the image's Env ---- */

static int vars_with_env(berth_df_vars *v, const berth_df_vars *args, berth_build_image *img)
{
	char **env = berth_build_image_envv(img);
	int rc = 0;

	if (!env)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (args && (rc = berth_df_vars_copy(v, args)) < 0)
		goto done;
	for (size_t i = 0; env[i]; i++) {
		char *eq = strchr(env[i], '=');

		if (!eq)
			continue;
		*eq = '\0';
		rc = berth_df_vars_set(v, env[i], eq + 1);
		*eq = '=';
		if (rc < 0)
			goto done;
	}
done:
	berth_build_strv_free(env);
	return rc;
}

/* One word expanded (quotes removed) into *out (malloc'd). */
static int expand1(solver *sv, berth_build_image *img, const berth_df_vars *args, const char *raw,
		   char **out)
{
	berth_df_vars v = BERTH_DF_VARS_INIT;
	berth_df_expansion x = {0};
	berth_df_lex_opts lo = {.escape = sv->df->escape};
	int rc;

	*out = NULL;
	if ((rc = vars_with_env(&v, args, img)) == 0 &&
	    (rc = berth_df_expand(&x, raw, &v, &lo)) == 0) {
		*out = x.word;
		x.word = NULL;
	}
	berth_df_expansion_dispose(&x);
	berth_df_vars_dispose(&v);
	return rc;
}

/* ---- config instructions ---- */

/* A string as JSON text (malloc'd), or NULL. */
static char *json_quote(const char *v)
{
	json_t *j = json_string(v);
	char *out = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	return out;
}

static int json_of_words(char **out, char *const *w, size_t n, const char *prefix_json)
{
	json_t *a = prefix_json ? json_loads(prefix_json, 0, NULL) : json_array();

	*out = NULL;
	if (!a)
		return berth_error_set(BERTH_EINVALID, "SHELL is not a JSON array");
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(w[i])) < 0) {
			json_decref(a);
			return berth_error_set(BERTH_EINVALID, "argument is not UTF-8");
		}
	*out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}

/* The config's Shell, or the default, as JSON text (malloc'd). */
static char *shell_of(berth_build_image *img)
{
	char *s = berth_build_image_config(img, "Shell");

	return s ? s : strdup(SHELL_DEFAULT);
}

/* CMD/ENTRYPOINT/HEALTHCHECK's command: exec form as is, shell form through the shell. */
static int command_json(berth_build_image *img, const berth_df_xinstr *x, char **out)
{
	char *shell;
	char *script[1];
	int rc;

	if (x->src->form == BERTH_DF_FORM_JSON)
		return json_of_words(out, x->words, x->nwords, NULL);
	shell = shell_of(img);
	if (!shell)
		return berth_error_set(BERTH_ERROR, "out of memory");
	script[0] = x->src->args_text;
	rc = json_of_words(out, script, 1, shell);
	free(shell);
	return rc;
}

static int set_json_map_key(berth_build_image *img, const char *field, const char *key,
			    json_t *value)
{
	char *cur = berth_build_image_config(img, field), *txt;
	json_t *m = cur ? json_loads(cur, 0, NULL) : json_object();
	int rc;

	free(cur);
	if (!json_is_object(m)) {
		json_decref(m);
		m = json_object();
	}
	if (!m || json_object_set_new(m, key, value) < 0) {
		json_decref(m);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	txt = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (!txt)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_build_image_set_config(img, field, txt);
	free(txt);
	return rc;
}

/* Go duration ("30s", "1m30s", "500ms") in nanoseconds. */
static int go_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *u;
		int64_t mul;
	} units[] = {{"ns", 1},		  {"us", 1000},		{"ms", 1000000},
		     {"s", 1000000000LL}, {"m", 60000000000LL}, {"h", 3600000000000LL}};
	int64_t total = 0;

	if (!*s)
		return BERTH_EINVALID;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		size_t best = 0, i, ul = 0;

		if (end == s)
			return BERTH_EINVALID;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);

			if (strncmp(end, units[i].u, l) == 0 && l > ul) {
				best = i;
				ul = l;
			}
		}
		if (!ul)
			return BERTH_EINVALID;
		total += (int64_t)(v * (double)units[best].mul);
		s = end + ul;
	}
	*ns = total;
	return 0;
}

static int healthcheck(berth_build_image *img, const berth_df_xinstr *x)
{
	static const char *const keys[] = {"interval", "timeout", "start-period", "start-interval"};
	static const char *const fields[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};
	json_t *h;
	char *cmd = NULL, *txt;
	int rc;

	if (x->src->subtype && strcasecmp(x->src->subtype, "NONE") == 0)
		return berth_build_image_set_config(img, "Healthcheck", "{\"Test\":[\"NONE\"]}");
	if (x->src->form == BERTH_DF_FORM_JSON) {
		rc = json_of_words(&cmd, x->words, x->nwords, "[\"CMD\"]");
	} else {
		char *script[1] = {x->src->args_text};

		rc = json_of_words(&cmd, script, 1, "[\"CMD-SHELL\"]");
	}
	if (rc < 0)
		return rc;
	h = json_pack("{s:o}", "Test", json_loads(cmd, 0, NULL));
	free(cmd);
	if (!h)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < x->nflags; i++) {
		const berth_df_flag *f = &x->flags[i];
		int64_t ns;

		for (size_t k = 0; k < 4; k++)
			if (strcmp(f->name, keys[k]) == 0) {
				if (!f->value || go_duration(f->value, &ns) < 0) {
					json_decref(h);
					return berth_error_set(BERTH_EINVALID,
							       "HEALTHCHECK --%s: bad duration",
							       f->name);
				}
				json_object_set_new(h, fields[k], json_integer(ns));
			}
		if (strcmp(f->name, "retries") == 0)
			json_object_set_new(h, "Retries",
					    json_integer(f->value ? atoi(f->value) : 0));
	}
	txt = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	if (!txt)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_build_image_set_config(img, "Healthcheck", txt);
	free(txt);
	return rc;
}

/* ---- COPY ---- */

typedef struct copy_job {
	solver *sv;
	int dst_root;		  /* O_PATH of the destination root */
	int64_t uid, gid;	  /* -1: keep the source's (COPY --from) or root (context) */
	int mode;		  /* --chmod, or -1 */
	int from_context;	  /* apply .dockerignore */
	const char *context_root; /* for .dockerignore paths */
} copy_job;

static int copy_file_data(int in, int out)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_error_set_errno("read");
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return berth_error_set_errno("write");
			off += w;
		}
	}
}

static int apply_owner_mode(copy_job *j, int fd, const struct stat *st, int is_link)
{
	uid_t u = j->uid >= 0 ? (uid_t)j->uid : (j->from_context ? 0 : st->st_uid);
	gid_t g = j->gid >= 0 ? (gid_t)j->gid : (j->from_context ? 0 : st->st_gid);

	if (fchownat(fd, "", u, g, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
		return berth_error_set_errno("chown");
	if (!is_link) {
		char at[64];

		snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
		if (chmod(at, j->mode >= 0 ? (mode_t)j->mode : (st->st_mode & 07777)) < 0)
			return berth_error_set_errno("chmod");
	}
	return 0;
}

static int copy_one(copy_job *j, const char *src, const char *rel, const char *dst, int depth);

static int copy_dir_contents(copy_job *j, const char *src, const char *rel, const char *dst,
			     int depth)
{
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (depth > COPY_DEPTH_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%s: nested too deep", src);
	d = opendir(src);
	if (!d)
		return berth_error_set_errno("%s", src);
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char s2[PATH_MAX], r2[PATH_MAX], d2[PATH_MAX];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if ((size_t)snprintf(s2, sizeof(s2), "%s/%s", src, e->d_name) >= sizeof(s2) ||
		    (size_t)snprintf(r2, sizeof(r2), "%s%s%s", rel, *rel ? "/" : "", e->d_name) >=
			    sizeof(r2) ||
		    (size_t)snprintf(d2, sizeof(d2), "%s/%s", dst, e->d_name) >= sizeof(d2)) {
			rc = berth_error_set(BERTH_ETOOBIG, "path too long under %s", src);
			break;
		}
		rc = copy_one(j, s2, r2, d2, depth + 1);
	}
	closedir(d);
	return rc;
}

/* Copy src (host path; rel = its path in the context for .dockerignore) to dst in the root. */
static int copy_one(copy_job *j, const char *src, const char *rel, const char *dst, int depth)
{
	struct stat st;
	int fd = -1, in = -1, rc = 0;

	if (j->from_context && *rel && berth_dockerignore_excluded(j->sv->ign, rel, NULL) &&
	    !berth_dockerignore_may_reopen(j->sv->ign, rel))
		return 0;
	if (lstat(src, &st) < 0)
		return berth_error_set_errno("%s", src);
	if (S_ISDIR(st.st_mode)) {
		fd = berth_inroot_mkdir_p(j->dst_root, dst, 0755);
		if (fd < 0)
			return fd;
		rc = apply_owner_mode(j, fd, &st, 0);
		close(fd);
		return rc ? rc : copy_dir_contents(j, src, rel, dst, depth);
	}
	if (j->from_context && *rel && berth_dockerignore_excluded(j->sv->ign, rel, NULL))
		return 0;
	{
		char parent[PATH_MAX];
		const char *slash = strrchr(dst, '/');
		int pfd;

		snprintf(parent, sizeof(parent), "%.*s", slash ? (int)(slash - dst) : 0, dst);
		pfd = berth_inroot_mkdir_p(j->dst_root, parent[0] ? parent : "/", 0755);
		if (pfd < 0)
			return pfd;
		unlinkat(pfd, slash ? slash + 1 : dst, 0);
		if (S_ISLNK(st.st_mode)) {
			char target[PATH_MAX];
			ssize_t n = readlink(src, target, sizeof(target) - 1);

			if (n < 0 || (target[n] = '\0', symlinkat(target, pfd, slash + 1) < 0)) {
				close(pfd);
				return berth_error_set_errno("symlink %s", dst);
			}
			fd = openat(pfd, slash + 1, O_PATH | O_NOFOLLOW | O_CLOEXEC);
			close(pfd);
			if (fd < 0)
				return berth_error_set_errno("%s", dst);
			rc = apply_owner_mode(j, fd, &st, 1);
			close(fd);
			return rc;
		}
		if (!S_ISREG(st.st_mode)) {
			close(pfd);
			return 0; /* devices, sockets and fifos are not copied (as BuildKit) */
		}
		fd = openat(pfd, slash + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		close(pfd);
	}
	if (fd < 0)
		return berth_error_set_errno("create %s", dst);
	in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		rc = berth_error_set_errno("%s", src);
	else
		rc = copy_file_data(in, fd);
	if (rc == 0)
		rc = apply_owner_mode(j, fd, &st, 0);
	if (rc == 0) {
		struct timespec ts[2] = {st.st_mtim, st.st_mtim};

		futimens(fd, ts);
	}
	if (in >= 0)
		close(in);
	close(fd);
	return rc;
}

static int parse_chown(solver *sv, const char *root, const char *v, int64_t *uid, int64_t *gid)
{
	uint32_t u, g, groups[1];
	size_t n;
	int rc;

	(void)sv;
	if (!v)
		return 0;
	if ((rc = berth_sandbox_resolve_user(root, v, &u, &g, groups, 0, &n)) < 0)
		return rc;
	*uid = u;
	*gid = g;
	if (!strchr(v, ':'))
		*gid = g; /* the user's primary group, as Docker */
	return 0;
}

static int do_copy(solver *sv, berth_build_image *img, const berth_df_xinstr *x)
{
	const berth_df_flag *from = NULL, *chown_f = NULL, *chmod_f = NULL;
	berth_workroot *w = NULL, *fromw = NULL;
	copy_job j = {.sv = sv, .uid = -1, .gid = -1, .mode = -1};
	char dest[PATH_MAX], *cwd = NULL, *created = NULL;
	const char *src_root;
	size_t nsrc;
	int rc = 0, dest_is_dir;

	if (x->src->nheredocs)
		return fail_at(sv, x->src, BERTH_EUNSUPPORTED, "heredocs are not supported yet");
	for (size_t i = 0; i < x->nflags; i++) {
		const berth_df_flag *f = &x->flags[i];

		if (strcmp(f->name, "from") == 0)
			from = f;
		else if (strcmp(f->name, "chown") == 0)
			chown_f = f;
		else if (strcmp(f->name, "chmod") == 0)
			chmod_f = f;
		else
			return fail_at(sv, x->src, BERTH_EUNSUPPORTED, "--%s is not supported yet",
				       f->name);
	}
	if (x->src->kind == BERTH_DF_ADD)
		for (size_t i = 0; i + 1 < x->nwords; i++)
			if (strstr(x->words[i], "://") || strstr(x->words[i], ".tar"))
				return fail_at(sv, x->src, BERTH_EUNSUPPORTED,
					       "ADD of URLs and archives is not supported yet");
	if (x->nwords < 2)
		return fail_at(sv, x->src, BERTH_EINVALID, "needs a source and a destination");
	nsrc = x->nwords - 1;
	/* The destination, relative to WORKDIR. */
	{
		const char *d = x->words[nsrc];

		cwd = berth_build_image_config(img, "WorkingDir");
		if (d[0] == '/') {
			snprintf(dest, sizeof(dest), "%s", d);
		} else {
			json_t *v = cwd ? json_loads(cwd, JSON_DECODE_ANY, NULL) : NULL;
			const char *base = json_string_value(v);

			snprintf(dest, sizeof(dest), "%s/%s", base && *base ? base : "", d);
			json_decref(v);
		}
		dest_is_dir = nsrc > 1 || d[strlen(d) - 1] == '/';
	}
	if (chmod_f && chmod_f->value) {
		char *end;
		long m = strtol(chmod_f->value, &end, 8);

		if (*end || m < 0 || m > 07777)
			return fail_at(sv, x->src, BERTH_EINVALID, "--chmod: bad mode '%s'",
				       chmod_f->value);
		j.mode = (int)m;
	}
	if ((rc = berth_build_image_root(&w, sv->store, img)) < 0)
		goto done;
	if (chown_f &&
	    (rc = parse_chown(sv, berth_workroot_path(w), chown_f->value, &j.uid, &j.gid)) < 0)
		goto done;
	if (from) {
		size_t si;
		berth_build_image *fi;

		if (berth_dockerfile_stage_find(sv->df, from->value, &si) != 0 || !sv->done[si]) {
			rc = fail_at(sv, x->src, BERTH_EUNSUPPORTED,
				     "--from=%s: only earlier stages are supported yet",
				     from->value);
			goto done;
		}
		fi = sv->done[si];
		if ((rc = berth_build_image_root(&fromw, sv->store, fi)) < 0)
			goto done;
		src_root = berth_workroot_path(fromw);
	} else {
		src_root = sv->o->context;
		j.from_context = 1;
	}
	j.dst_root = open(berth_workroot_path(w), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (j.dst_root < 0) {
		rc = berth_error_set_errno("open root");
		goto done;
	}
	for (size_t i = 0; i < nsrc && rc == 0; i++) {
		char src[PATH_MAX * 2], rel[PATH_MAX], target[PATH_MAX * 2];
		const char *s = x->words[i];
		struct stat st;

		while (*s == '/')
			s++;
		if (strstr(s, "..")) {
			rc = fail_at(sv, x->src, BERTH_EINVALID, "source '%s' leaves the context",
				     x->words[i]);
			break;
		}
		snprintf(rel, sizeof(rel), "%s", strcmp(s, ".") == 0 ? "" : s);
		snprintf(src, sizeof(src), "%s/%s", src_root, rel);
		if (lstat(src, &st) < 0 ||
		    (j.from_context && *rel && berth_dockerignore_excluded(sv->ign, rel, NULL) &&
		     !S_ISDIR(st.st_mode))) {
			rc = fail_at(sv, x->src, BERTH_ENOTFOUND,
				     "failed to compute cache key: \"/%s\": not found", rel);
			break;
		}
		if (S_ISDIR(st.st_mode))
			snprintf(target, sizeof(target), "%s", dest);
		else if (dest_is_dir)
			snprintf(target, sizeof(target), "%s/%s", dest, strrchr(src, '/') + 1);
		else
			snprintf(target, sizeof(target), "%s", dest);
		if (S_ISDIR(st.st_mode))
			rc = copy_one(&j, src, rel, target, 0);
		else
			rc = copy_one(&j, src, "", target, 0);
	}
	if (rc < 0)
		goto done;
	{
		berth_buf cb = BERTH_BUF_INIT(0);
		berth_diff_options o = {sv->o->compression, -1, sv->clamp};

		if ((rc = berth_buf_printf(&cb, "%s %s # buildkit",
					   berth_dockerfile_kind_name(x->src->kind),
					   x->src->args_text)) == 0)
			rc = berth_build_image_commit_root(img, sv->store, w, cb.ptr, &o, NULL);
		berth_buf_dispose(&cb);
	}
done:
	if (j.dst_root > 0)
		close(j.dst_root);
	berth_workroot_free(fromw);
	berth_workroot_free(w);
	free(cwd);
	free(created);
	return rc;
}

/* ---- RUN ---- */

static int do_run(solver *sv, berth_build_image *img, const berth_df_xinstr *x)
{
	char **env = NULL, *argv_json = NULL, **argv = NULL;
	berth_build_run r = {0};
	berth_buf created = BERTH_BUF_INIT(0);
	berth_diff_options o = {sv->o->compression, -1, sv->clamp};
	json_t *a = NULL;
	size_t n, k = 0;
	int status, rc;

	if (x->src->nheredocs)
		return fail_at(sv, x->src, BERTH_EUNSUPPORTED, "heredocs are not supported yet");
	r.net = sv->o->net;
	for (size_t i = 0; i < x->nflags; i++) {
		const berth_df_flag *f = &x->flags[i];

		if (strcmp(f->name, "network") == 0 && f->value) {
			if (strcmp(f->value, "none") == 0)
				r.net = BERTH_SANDBOX_NET_NONE;
			else if (strcmp(f->value, "host") == 0 || strcmp(f->value, "default") == 0)
				r.net = BERTH_SANDBOX_NET_HOST;
			else
				return fail_at(sv, x->src, BERTH_EINVALID, "--network=%s",
					       f->value);
		} else {
			return fail_at(sv, x->src, BERTH_EUNSUPPORTED, "--%s is not supported yet",
				       f->name);
		}
	}
	if ((rc = command_json(img, x, &argv_json)) < 0)
		return rc;
	a = json_loads(argv_json, 0, NULL);
	n = json_array_size(a);
	argv = calloc(n + 1, sizeof(*argv));
	/* The command's environment: the image's Env, then the ARGs it does not set. */
	{
		berth_df_vars v = BERTH_DF_VARS_INIT;
		size_t m;

		rc = berth_df_vars_copy(&v, &x->env);
		if (rc == 0)
			rc = vars_with_env(&v, NULL, img) < 0 ? BERTH_ERROR : 0;
		/* vars_with_env overlays the image Env on v: ENV wins. */
		m = v.n;
		env = calloc(m + 1, sizeof(*env));
		for (size_t i = 0; env && i < m; i++) {
			size_t l = strlen(v.items[i].name) + strlen(v.items[i].value) + 2;

			env[i] = malloc(l);
			if (env[i])
				snprintf(env[i], l, "%s=%s", v.items[i].name, v.items[i].value);
		}
		berth_df_vars_dispose(&v);
	}
	if (!a || !argv || !env || rc < 0) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (k = 0; k < n; k++)
		argv[k] = (char *)json_string_value(json_array_get(a, k));
	r.argv = argv;
	r.env = env;
	r.stdout_fd = fileno(sv->log);
	r.stderr_fd = fileno(sv->log);
	fflush(sv->log);
	if ((rc = berth_buf_printf(&created, "RUN %s # buildkit", x->src->args_text)) < 0)
		goto done;
	rc = berth_build_image_run(img, sv->store, &r, created.ptr, &o, &status);
	if (rc == 0 && status != 0)
		rc = fail_at(sv, x->src, BERTH_ERROR,
			     "process \"%s\" did not complete successfully: exit code: %d",
			     x->src->args_text, status);
done:
	berth_buf_dispose(&created);
	json_decref(a);
	free(argv);
	free(argv_json);
	berth_build_strv_free(env);
	return rc;
}

/* ---- the cache ----
 *
 * A step's key hashes the key of the state before it, the instruction as
 * expanded (kind, flags, words, key-values), the environment a RUN sees
 * (so build args count), and what the step reads besides: for COPY from
 * the context, the walk's digest of each source (contents and the metadata
 * that ends up in the layer, after .dockerignore); for COPY --from, the
 * source stage's key. A record is the image's whole state after the step,
 * <store>/cache/<key hex>.json, written atomically: a hit replaces the
 * state and runs nothing. Secrets never enter a key (no secret mounts yet).
 */

static int hash_str(berth_hasher *h, const char *s)
{
	int rc = berth_hasher_update(h, s ? s : "", s ? strlen(s) + 1 : 1);

	return rc;
}

/* The walk digest of a context path ("" = the root), or NULL. */
static const uint8_t *context_digest(const berth_context *c, const char *rel)
{
	if (!*rel)
		return c->digest;
	for (size_t i = 0; i < c->nentries; i++)
		if (strcmp(c->entries[i].path, rel) == 0)
			return c->entries[i].digest;
	return NULL;
}

/*
 * What a later stage reads of an earlier one is its result: the digest of
 * its config and layers. A stage that was rebuilt (--no-cache-filter) and
 * came out different invalidates what reads it; a cached one does not.
 */
static int result_digest(const berth_build_image *img, berth_digest *out)
{
	berth_hasher *h = NULL;
	char *cfg = json_dumps(img->config, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = cfg ? berth_hasher_new(&h, BERTH_DIGEST_SHA256) : BERTH_ERROR;

	if (rc == 0)
		rc = hash_str(h, cfg);
	for (size_t i = 0; rc == 0 && i < img->nlayers; i++)
		rc = hash_str(h, img->layers[i].digest.str);
	if (rc == 0)
		rc = berth_hasher_final(h, out);
	berth_hasher_free(h);
	free(cfg);
	return rc < 0 ? berth_error_set(BERTH_ERROR, "out of memory") : 0;
}

static int copy_inputs(solver *sv, berth_hasher *h, const berth_df_xinstr *x)
{
	const berth_df_flag *from = berth_dockerfile_flag(x->src, "from");
	int rc = 0;

	if (from) {
		size_t si;

		if (berth_dockerfile_stage_find(sv->df, from->value, &si) == 0 && sv->done[si]) {
			berth_digest r;

			if ((rc = result_digest(sv->done[si], &r)) < 0)
				return rc;
			return hash_str(h, r.str);
		}
		return 0; /* refused when applied */
	}
	if (!sv->ctx) {
		berth_context_opts co = {0};

		if ((rc = berth_context_walk(&sv->ctx, sv->o->context, sv->ign, &co)) < 0)
			return rc;
	}
	for (size_t i = 0; i + 1 < x->nwords && rc == 0; i++) {
		const char *s = x->words[i];
		const uint8_t *d;

		char clean[PATH_MAX];
		size_t n;

		while (*s == '/' || (s[0] == '.' && s[1] == '/'))
			s += *s == '/' ? 1 : 2;
		n = strlen(s);
		while (n > 0 && s[n - 1] == '/')
			n--;
		snprintf(clean, sizeof(clean), "%.*s", (int)n, s);
		if (strcmp(clean, ".") == 0)
			clean[0] = '\0';
		d = context_digest(sv->ctx, clean);
		rc = d ? berth_hasher_update(h, d, BERTH_CONTEXT_HASH_SIZE) : hash_str(h, "-");
	}
	return rc;
}

static int step_key(solver *sv, const char *prev, const berth_df_xinstr *x, berth_digest *out)
{
	berth_hasher *h = NULL;
	int rc;

	if ((rc = berth_hasher_new(&h, BERTH_DIGEST_SHA256)) < 0)
		return rc;
	rc = hash_str(h, "berth-step-v1");
	if (rc == 0)
		rc = hash_str(h, prev);
	if (rc == 0)
		rc = hash_str(h, berth_dockerfile_kind_name(x->src->kind));
	if (rc == 0)
		rc = hash_str(h, x->src->kind == BERTH_DF_RUN || x->src->kind == BERTH_DF_CMD ||
						 x->src->kind == BERTH_DF_ENTRYPOINT ||
						 x->src->kind == BERTH_DF_HEALTHCHECK ||
						 x->src->kind == BERTH_DF_SHELL ||
						 x->src->kind == BERTH_DF_ENV ||
						 x->src->kind == BERTH_DF_WORKDIR ||
						 x->src->kind == BERTH_DF_USER ||
						 x->src->kind == BERTH_DF_ONBUILD
					 ? x->src->args_text
					 : "");
	for (size_t i = 0; rc == 0 && i < x->nflags; i++)
		if ((rc = hash_str(h, x->flags[i].name)) == 0)
			rc = hash_str(h, x->flags[i].value);
	for (size_t i = 0; rc == 0 && i < x->nwords; i++)
		rc = hash_str(h, x->words[i]);
	for (size_t i = 0; rc == 0 && i < x->nkvs; i++)
		if ((rc = hash_str(h, x->kvs[i].key)) == 0)
			rc = hash_str(h, x->kvs[i].has_value ? x->kvs[i].value : NULL);
	for (size_t i = 0; rc == 0 && x->src->kind == BERTH_DF_RUN && i < x->env.n; i++)
		if ((rc = hash_str(h, x->env.items[i].name)) == 0)
			rc = hash_str(h, x->env.items[i].value);
	if (rc == 0 && (x->src->kind == BERTH_DF_COPY || x->src->kind == BERTH_DF_ADD))
		rc = copy_inputs(sv, h, x);
	if (rc == 0 && x->src->kind == BERTH_DF_RUN)
		rc = hash_str(h, sv->o->net == BERTH_SANDBOX_NET_NONE ? "net=none" : "net=host");
	if (rc == 0)
		rc = berth_hasher_final(h, out);
	berth_hasher_free(h);
	return rc;
}

static void record_path(solver *sv, const berth_digest *key, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.json", sv->cache_dir, berth_digest_hex(key));
}

static int stage_uses_cache(solver *sv, const berth_df_xstage *xs)
{
	if (sv->o->no_cache)
		return 0;
	for (size_t i = 0; i < sv->o->nno_cache_filter; i++) {
		const char *f = sv->o->no_cache_filter[i];

		if ((xs->src->name && strcasecmp(f, xs->src->name) == 0) ||
		    (strspn(f, "0123456789") == strlen(f) && (size_t)atol(f) == xs->index))
			return 0;
	}
	return 1;
}

/* ---- one instruction ---- */

static int history_of(berth_build_image *img, const berth_df_instr *in)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc = berth_buf_printf(&b, "%s %s", berth_dockerfile_kind_name(in->kind), in->args_text);

	if (rc == 0)
		rc = berth_build_image_history(img, b.ptr, 1);
	berth_buf_dispose(&b);
	return rc;
}

static int do_workdir(solver *sv, berth_build_image *img, const berth_df_vars *args,
		      const berth_df_xinstr *x)
{
	char *w = NULL, *cur = NULL, path[PATH_MAX], *js = NULL;
	berth_workroot *root = NULL;
	int rc, fd;

	if ((rc = expand1(sv, img, args, x->src->args_text, &w)) < 0)
		return rc;
	if (w[0] == '/') {
		snprintf(path, sizeof(path), "%s", w);
	} else {
		json_t *v;

		cur = berth_build_image_config(img, "WorkingDir");
		v = cur ? json_loads(cur, JSON_DECODE_ANY, NULL) : NULL;
		snprintf(path, sizeof(path), "%s/%s",
			 json_string_value(v) ? json_string_value(v) : "", w);
		json_decref(v);
	}
	js = json_quote(path);
	if (!js || (rc = berth_build_image_set_config(img, "WorkingDir", js)) < 0)
		goto done;
	/* BuildKit creates the directory: a layer when it did not exist. */
	if ((rc = berth_build_image_root(&root, sv->store, img)) < 0)
		goto done;
	{
		int rootfd = open(berth_workroot_path(root), O_PATH | O_DIRECTORY | O_CLOEXEC);
		berth_diff_options o = {sv->o->compression, -1, sv->clamp};
		berth_buf cb = BERTH_BUF_INIT(0);

		fd = rootfd < 0 ? -1 : berth_inroot_mkdir_p(rootfd, path, 0755);
		if (rootfd >= 0)
			close(rootfd);
		if (fd < 0) {
			rc = fd < -1 ? fd : berth_error_set_errno("WORKDIR %s", path);
			goto done;
		}
		close(fd);
		if ((rc = berth_buf_printf(&cb, "WORKDIR %s", path)) == 0)
			rc = berth_build_image_commit_root(img, sv->store, root, cb.ptr, &o, NULL);
		berth_buf_dispose(&cb);
	}
done:
	berth_workroot_free(root);
	free(js);
	free(w);
	free(cur);
	return rc;
}

static int apply(solver *sv, berth_build_image *img, berth_df_vars *args, int *cmd_set,
		 const berth_df_xinstr *x)
{
	const berth_df_instr *in = x->src;
	char *v = NULL, *js = NULL;
	int rc = 0;

	switch (in->kind) {
	case BERTH_DF_ARG:
		for (size_t i = 0; i < x->nkvs && rc == 0; i++)
			if (x->kvs[i].has_value)
				rc = berth_df_vars_set(args, x->kvs[i].key, x->kvs[i].value);
		return rc;
	case BERTH_DF_ENV:
		for (size_t i = 0; i < in->nkvs && rc == 0; i++) {
			char *k = NULL;

			if ((rc = expand1(sv, img, args, in->kvs[i].key, &k)) == 0 &&
			    (rc = expand1(sv, img, args, in->kvs[i].value, &v)) == 0)
				rc = berth_build_image_set_env(img, k, v);
			free(k);
			free(v);
			v = NULL;
		}
		return rc ? rc : history_of(img, in);
	case BERTH_DF_LABEL:
		for (size_t i = 0; i < x->nkvs && rc == 0; i++)
			rc = set_json_map_key(img, "Labels", x->kvs[i].key,
					      json_string(x->kvs[i].value));
		return rc ? rc : history_of(img, in);
	case BERTH_DF_WORKDIR: return do_workdir(sv, img, args, x);
	case BERTH_DF_USER:
		if ((rc = expand1(sv, img, args, in->args_text, &v)) == 0) {
			js = json_quote(v);
			rc = js ? berth_build_image_set_config(img, "User", js) : BERTH_ERROR;
		}
		break;
	case BERTH_DF_CMD:
		if ((rc = command_json(img, x, &js)) == 0)
			rc = berth_build_image_set_config(img, "Cmd", js);
		*cmd_set = 1;
		break;
	case BERTH_DF_ENTRYPOINT:
		if ((rc = command_json(img, x, &js)) == 0)
			rc = berth_build_image_set_config(img, "Entrypoint", js);
		/* An ENTRYPOINT resets a CMD that this stage did not set. */
		if (rc == 0 && !*cmd_set)
			rc = berth_build_image_set_config(img, "Cmd", NULL);
		break;
	case BERTH_DF_EXPOSE:
		for (size_t i = 0; i < x->nwords && rc == 0; i++) {
			char port[128];

			snprintf(port, sizeof(port), "%s%s", x->words[i],
				 strchr(x->words[i], '/') ? "" : "/tcp");
			rc = set_json_map_key(img, "ExposedPorts", port, json_object());
		}
		break;
	case BERTH_DF_VOLUME:
		for (size_t i = 0; i < x->nwords && rc == 0; i++)
			rc = set_json_map_key(img, "Volumes", x->words[i], json_object());
		break;
	case BERTH_DF_STOPSIGNAL:
		if (x->nwords == 1 && (js = json_quote(x->words[0])))
			rc = berth_build_image_set_config(img, "StopSignal", js);
		else
			rc = fail_at(sv, in, BERTH_EINVALID, "needs one signal");
		break;
	case BERTH_DF_SHELL:
		if (in->form != BERTH_DF_FORM_JSON)
			return fail_at(sv, in, BERTH_EINVALID, "needs a JSON array");
		if ((rc = json_of_words(&js, x->words, x->nwords, NULL)) == 0)
			rc = berth_build_image_set_config(img, "Shell", js);
		break;
	case BERTH_DF_HEALTHCHECK: rc = healthcheck(img, x); break;
	case BERTH_DF_ONBUILD: {
		char *cur = berth_build_image_config(img, "OnBuild");
		json_t *a = cur ? json_loads(cur, 0, NULL) : json_array();

		free(cur);
		if (!json_is_array(a))
			a = json_array();
		json_array_append_new(a, json_string(in->args_text));
		js = json_dumps(a, JSON_COMPACT);
		json_decref(a);
		rc = js ? berth_build_image_set_config(img, "OnBuild", js) : BERTH_ERROR;
		break;
	}
	case BERTH_DF_MAINTAINER:
		json_object_set_new(img->config, "author", json_string(in->args_text));
		break;
	case BERTH_DF_RUN: return do_run(sv, img, x);
	case BERTH_DF_COPY:
	case BERTH_DF_ADD: return do_copy(sv, img, x);
	default: return fail_at(sv, in, BERTH_EINVALID, "unknown instruction");
	}
	free(v);
	free(js);
	return rc ? rc : history_of(img, in);
}

/* ---- stages ---- */

static int build_stage(solver *sv, size_t i);

static int stage_base(solver *sv, const berth_df_xstage *xs, berth_build_image **out)
{
	berth_image_name *n = NULL;
	berth_buf spec = BERTH_BUF_INIT(0);
	int rc;

	if (xs->base_stage != BERTH_DF_NO_STAGE) {
		if ((rc = build_stage(sv, xs->base_stage)) < 0)
			return rc;
		return berth_build_image_clone(out, sv->done[xs->base_stage]);
	}
	if (strcasecmp(xs->base, "scratch") == 0)
		return berth_build_image_scratch(out,
						 xs->platform ? xs->platform : sv->o->platform);
	if ((rc = berth_buf_printf(&spec, "docker://%s", xs->base)) == 0 &&
	    (rc = berth_image_name_parse(&n, spec.ptr)) == 0) {
		fprintf(sv->log, "#  FROM %s\n", xs->base);
		rc = berth_build_image_from(out, sv->store, n, sv->o->registry,
					    xs->platform ? xs->platform : sv->o->platform,
					    sv->o->pull);
	}
	berth_image_name_free(n);
	berth_buf_dispose(&spec);
	return rc;
}

static int build_stage(solver *sv, size_t i)
{
	const berth_df_xstage *xs = &sv->plan->stages[i];
	berth_df_vars args = BERTH_DF_VARS_INIT;
	berth_build_image *img = NULL;
	int rc = 0, cmd_set = 0;

	if (sv->done[i])
		return 0;
	if (sv->busy[i])
		return berth_error_set(BERTH_EINVALID, "circular dependency on stage %zu", i);
	sv->busy[i] = 1;
	for (size_t d = 0; d < xs->ndeps && rc == 0; d++)
		if (xs->deps[d] != i)
			rc = build_stage(sv, xs->deps[d]);
	if (rc == 0)
		rc = stage_base(sv, xs, &img);
	if (rc == 0) {
		berth_buf k0 = BERTH_BUF_INIT(0);
		berth_digest d;

		if (xs->base_stage != BERTH_DF_NO_STAGE) {
			berth_digest r;

			if ((rc = result_digest(sv->done[xs->base_stage], &r)) == 0)
				rc = berth_buf_printf(&k0, "stage:%s", r.str);
		} else if (img->base_name)
			rc = berth_buf_printf(&k0, "from:%s:%s", img->base_digest.str,
					      xs->platform	? xs->platform
					      : sv->o->platform ? sv->o->platform
								: "");
		else
			rc = berth_buf_printf(&k0, "scratch:%s", xs->platform ? xs->platform : "");
		if (rc == 0 &&
		    (rc = berth_digest_compute(&d, BERTH_DIGEST_SHA256, k0.ptr, k0.len)) == 0)
			snprintf(sv->keys[i], sizeof(sv->keys[i]), "%s", d.str);
		berth_buf_dispose(&k0);
	}
	for (size_t k = 0; rc == 0 && k < xs->ninstrs; k++) {
		const berth_df_xinstr *x = &xs->instrs[k];
		const berth_df_instr *in = x->src;
		char rec[PATH_MAX + 100];
		berth_digest key;

		fprintf(sv->log, "#%zu [stage %zu] %s %s", k + 1, i,
			berth_dockerfile_kind_name(in->kind), in->args_text);
		if ((rc = step_key(sv, sv->keys[i], x, &key)) < 0)
			break;
		record_path(sv, &key, rec, sizeof(rec));
		snprintf(sv->keys[i], sizeof(sv->keys[i]), "%s", key.str);
		if (in->kind == BERTH_DF_ARG) {
			fputc('\n', sv->log);
			rc = apply(sv, img, &args, &cmd_set, x);
			continue;
		}
		if (stage_uses_cache(sv, xs) && berth_build__state_load(img, rec) == 0) {
			fprintf(sv->log, " CACHED\n");
			if (in->kind == BERTH_DF_CMD)
				cmd_set = 1;
			continue;
		}
		fputc('\n', sv->log);
		rc = apply(sv, img, &args, &cmd_set, x);
		if (rc == 0)
			rc = berth_build__state_save(img, rec);
	}
	berth_df_vars_dispose(&args);
	sv->busy[i] = 0;
	if (rc < 0) {
		berth_build_image_free(img);
		return rc;
	}
	sv->done[i] = img;
	return 0;
}

int berth_build_dockerfile(berth_build_store *s, const berth_build_opts *o, const char *tag,
			   berth_digest *digest)
{
	solver sv = {.store = s, .o = o, .log = o->log ? o->log : stderr};
	char path[PATH_MAX];
	berth_df_error err = {0};
	berth_df_build_opts bo = {0};
	int rc;

	sv.clamp = o->source_date_epoch;
	if (o->dockerfile)
		snprintf(path, sizeof(path), "%s", o->dockerfile);
	else
		snprintf(path, sizeof(path), "%s/Dockerfile", o->context);
	if ((rc = berth_dockerfile_parse_file(&sv.df, path, &err)) < 0 ||
	    (rc = berth_dockerfile_check(sv.df, &err)) < 0)
		goto done;
	bo.build_args = o->build_args;
	bo.target = o->target;
	bo.target_platform = o->platform;
	if ((rc = berth_dockerfile_plan(&sv.plan, sv.df, &bo, &err)) < 0 ||
	    (rc = berth_dockerignore_load(&sv.ign, o->context, o->dockerfile)) < 0)
		goto done;
	sv.done = calloc(sv.plan->nstages, sizeof(*sv.done));
	sv.busy = calloc(sv.plan->nstages, sizeof(*sv.busy));
	sv.keys = calloc(sv.plan->nstages, sizeof(*sv.keys));
	snprintf(sv.cache_dir, sizeof(sv.cache_dir), "%s/cache", s->root);
	if ((rc = berth_fs_mkdir_p(sv.cache_dir)) < 0)
		goto done;
	if (!sv.done || !sv.busy || !sv.keys) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = build_stage(&sv, sv.plan->target)) < 0)
		goto done;
	rc = berth_build_image_commit(sv.done[sv.plan->target], s, tag,
				      o->source_date_epoch >= 0 ? o->source_date_epoch : -1,
				      digest);
done:
	for (size_t i = 0; sv.done && i < sv.plan->nstages; i++)
		berth_build_image_free(sv.done[i]);
	free(sv.done);
	free(sv.busy);
	free(sv.keys);
	berth_context_free(sv.ctx);
	berth_dockerignore_free(sv.ign);
	berth_df_plan_free(sv.plan);
	berth_dockerfile_free(sv.df);
	return rc;
}
