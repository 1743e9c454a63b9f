/*
 * copy.c - COPY and ADD: sources from the build context (after
 * .dockerignore) or an earlier stage, written into the stage's working
 * root with --chown/--chmod, and committed as one layer.
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

#define COPY_DEPTH_MAX 256

/* ---- COPY ---- */

typedef struct copy_job {
	build_solver *sv;
	int dst_root;		  /* O_PATH of the destination root */
	int64_t uid, gid;	  /* -1: keep the source's (COPY --from) or root (context) */
	int mode;		  /* --chmod, or -1 */
	int from_context;	  /* berth_build__apply .dockerignore */
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

static int parse_chown(build_solver *sv, const char *root, const char *v, int64_t *uid,
		       int64_t *gid)
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

int berth_build__copy(build_solver *sv, berth_build_image *img, const berth_df_xinstr *x)
{
	const berth_df_flag *from = NULL, *chown_f = NULL, *chmod_f = NULL;
	berth_workroot *w = NULL, *fromw = NULL;
	copy_job j = {.sv = sv, .uid = -1, .gid = -1, .mode = -1};
	char dest[PATH_MAX], *cwd = NULL, *created = NULL;
	const char *src_root;
	size_t nsrc;
	int rc = 0, dest_is_dir;

	if (x->src->nheredocs)
		return berth_build__fail_at(sv, x->src, BERTH_EUNSUPPORTED,
					    "heredocs are not supported yet");
	for (size_t i = 0; i < x->nflags; i++) {
		const berth_df_flag *f = &x->flags[i];

		if (strcmp(f->name, "from") == 0)
			from = f;
		else if (strcmp(f->name, "chown") == 0)
			chown_f = f;
		else if (strcmp(f->name, "chmod") == 0)
			chmod_f = f;
		else
			return berth_build__fail_at(sv, x->src, BERTH_EUNSUPPORTED,
						    "--%s is not supported yet", f->name);
	}
	if (x->src->kind == BERTH_DF_ADD)
		for (size_t i = 0; i + 1 < x->nwords; i++)
			if (strstr(x->words[i], "://") || strstr(x->words[i], ".tar"))
				return berth_build__fail_at(
					sv, x->src, BERTH_EUNSUPPORTED,
					"ADD of URLs and archives is not supported yet");
	if (x->nwords < 2)
		return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
					    "needs a source and a destination");
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
			return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
						    "--chmod: bad mode '%s'", chmod_f->value);
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
			rc = berth_build__fail_at(
				sv, x->src, BERTH_EUNSUPPORTED,
				"--from=%s: only earlier stages are supported yet", from->value);
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
			rc = berth_build__fail_at(sv, x->src, BERTH_EINVALID,
						  "source '%s' leaves the context", x->words[i]);
			break;
		}
		snprintf(rel, sizeof(rel), "%s", strcmp(s, ".") == 0 ? "" : s);
		snprintf(src, sizeof(src), "%s/%s", src_root, rel);
		if (lstat(src, &st) < 0 ||
		    (j.from_context && *rel && berth_dockerignore_excluded(sv->ign, rel, NULL) &&
		     !S_ISDIR(st.st_mode))) {
			rc = berth_build__fail_at(sv, x->src, BERTH_ENOTFOUND,
						  "failed to compute cache key: \"/%s\": not found",
						  rel);
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
