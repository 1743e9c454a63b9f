/*
 * mount.c - RUN --mount: the mount specs of a RUN read as BuildKit reads
 * them (instructions/commands_runmount.go's keys and defaults), and what
 * each becomes in the sandbox while the command runs:
 *
 *   secret  a file on a tmpfs made for this RUN (never on disk, never in a
 *           layer, a key or the log), and/or an environment variable;
 *   cache   a directory of the store, <root>/mounts/cache/<hash of id, from,
 *           source>, kept across builds; `sharing` decides the lock
 *           (shared: a shared flock, locked: an exclusive one that waits,
 *           private: an exclusive one, or a throw-away directory when busy);
 *   bind    a directory or file of a stage, an image or the context,
 *           read-only, or (rw) under a throw-away overlay;
 *   tmpfs   an empty tmpfs;
 *   ssh     the agent socket given with --ssh, bound in, SSH_AUTH_SOCK set.
 *
 * Besides the --mount flags a RUN gets /etc/hosts (with --add-host's
 * entries) and /etc/resolv.conf, bound read-only as BuildKit binds them,
 * and, for a `RUN <<EOF` script that starts with "#!", the directory
 * /dev/pipes holding it (as BuildKit). Everything made
 * here lives under <root>/tmp and is removed by berth_build__mounts_release.
 */
#include "lib/build/internal.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/inroot.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#define MOUNT_FIELDS_MAX 32
#define OWNED_MAX (BERTH_SANDBOX_MOUNTS_MAX * 4)
#define CONTEXT_VIEW_DEPTH_MAX 256 /* directory levels of a context bind's .dockerignore view */

/* ---- parsing ---- */

static const char *const type_names[] = {"bind", "cache", "tmpfs", "secret", "ssh"};

static int parse_bool(const char *v, int *out)
{
	if (!v || strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0) {
		*out = 1;
		return 0;
	}
	if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0) {
		*out = 0;
		return 0;
	}
	return BERTH_EINVALID;
}

static int parse_ulong(const char *v, int base, unsigned long max, unsigned long *out)
{
	char *end;

	if (!v || !*v || *v == '-' || *v == '+')
		return BERTH_EINVALID;
	errno = 0;
	*out = strtoul(v, &end, base);
	return errno || *end || *out > max ? BERTH_EINVALID : 0;
}

/* A size with an optional unit (k, m, g; b, kb, mb, gb, ki, mi, gi...), as units.RAMInBytes. */
static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	double d;
	uint64_t mul = 1;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || d < 0)
		return BERTH_EINVALID;
	switch (*end | 0x20) {
	case 'k': mul = 1ull << 10; break;
	case 'm': mul = 1ull << 20; break;
	case 'g': mul = 1ull << 30; break;
	case 't': mul = 1ull << 40; break;
	case 'b': break;
	case ' ':
		if (*end == '\0')
			break;
		return BERTH_EINVALID;
	default: return BERTH_EINVALID;
	}
	if (*end) {
		end++;
		if ((*end | 0x20) == 'i')
			end++;
		if ((*end | 0x20) == 'b')
			end++;
		if (*end)
			return BERTH_EINVALID;
	}
	if (d * (double)mul > 9e18)
		return BERTH_EINVALID;
	*out = (uint64_t)(d * (double)mul);
	return 0;
}

/* Split a CSV record (the --mount value) into fields, in place; double quotes group. */
static int split_fields(char *s, char **fields, size_t *n)
{
	*n = 0;
	while (*s) {
		char *w = s, *r = s;
		int q = 0;

		if (*n == MOUNT_FIELDS_MAX)
			return berth_error_set(BERTH_EINVALID, "too many fields");
		fields[(*n)++] = s;
		for (; *r && (q || *r != ','); r++) {
			if (*r == '"') {
				if (q && r[1] == '"') {
					*w++ = '"';
					r++;
				} else {
					q = !q;
				}
				continue;
			}
			*w++ = *r;
		}
		if (q)
			return berth_error_set(BERTH_EINVALID, "unterminated quote");
		s = *r ? r + 1 : r;
		*w = '\0';
	}
	return 0;
}

void berth_build__mount_dispose(build_mount *m)
{
	free(m->target);
	free(m->source);
	free(m->from);
	free(m->id);
	free(m->env);
	memset(m, 0, sizeof(*m));
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v ? v : "");
	return *dst ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}

/* One key=value of a mount; the type is already known. */
static int mount_field(build_mount *m, const char *key, const char *val, const char *field)
{
	const char *tn = type_names[m->type];
	unsigned long u;
	int b;

	if (!strcmp(key, "type"))
		return 0;
	/* As BuildKit: an empty id is the default id (the target for a cache). */
	if (!strcmp(key, "id") && (!val || !*val)) {
		free(m->id);
		m->id = NULL;
		return 0;
	}
	if (!strcmp(key, "id"))
		return set_str(&m->id, val);
	if (!strcmp(key, "source") || !strcmp(key, "src"))
		return set_str(&m->source, val);
	if (!strcmp(key, "target") || !strcmp(key, "dst") || !strcmp(key, "destination"))
		return set_str(&m->target, val);
	if (!strcmp(key, "readonly") || !strcmp(key, "ro") || !strcmp(key, "rw") ||
	    !strcmp(key, "readwrite")) {
		if (parse_bool(val, &b) < 0)
			goto bad;
		m->readonly =
			key[0] == 'r' && (key[1] == 'w' || !strcmp(key, "readwrite")) ? !b : b;
		return 0;
	}
	if (!strcmp(key, "required")) {
		if (m->type != BM_SECRET && m->type != BM_SSH)
			goto wrong_type;
		if (parse_bool(val, &m->required) < 0)
			goto bad;
		return 0;
	}
	if (!strcmp(key, "sharing")) {
		if (m->type != BM_CACHE)
			goto wrong_type;
		if (val && !strcmp(val, "shared"))
			m->sharing = BM_SHARED;
		else if (val && !strcmp(val, "private"))
			m->sharing = BM_PRIVATE;
		else if (val && !strcmp(val, "locked"))
			m->sharing = BM_LOCKED;
		else
			return berth_error_set(BERTH_EINVALID,
					       "unsupported sharing value \"%s\" (shared, private "
					       "or locked)",
					       val ? val : "");
		return 0;
	}
	if (!strcmp(key, "from")) {
		if (m->type != BM_CACHE && m->type != BM_BIND)
			goto wrong_type;
		return set_str(&m->from, val);
	}
	if (!strcmp(key, "mode")) {
		if (m->type != BM_CACHE && m->type != BM_SECRET && m->type != BM_SSH)
			goto wrong_type;
		if (parse_ulong(val, 8, 07777, &u) < 0)
			goto bad;
		m->mode = (int)u;
		return 0;
	}
	if (!strcmp(key, "uid") || !strcmp(key, "gid")) {
		if (m->type != BM_CACHE && m->type != BM_SECRET && m->type != BM_SSH)
			goto wrong_type;
		if (parse_ulong(val, 10, 0xfffffffeul, &u) < 0)
			goto bad;
		*(key[0] == 'u' ? &m->uid : &m->gid) = (long)u;
		return 0;
	}
	if (!strcmp(key, "size")) {
		if (m->type != BM_TMPFS)
			goto wrong_type;
		if (!val || parse_size(val, &m->size) < 0)
			goto bad;
		return 0;
	}
	if (!strcmp(key, "env")) {
		if (m->type != BM_SECRET)
			goto wrong_type;
		return set_str(&m->env, val);
	}
	return berth_error_set(BERTH_EINVALID, "unexpected key '%s' in '%s'", key, field);
wrong_type:
	return berth_error_set(BERTH_EINVALID, "unexpected key '%s' for mount type %s", key, tn);
bad:
	return berth_error_set(BERTH_EINVALID, "invalid value for %s: '%s'", key, val ? val : "");
}

static int mount_defaults(build_mount *m, size_t nssh)
{
	char buf[64];

	if (m->type == BM_SECRET) {
		if (!m->id && !m->target)
			return berth_error_set(BERTH_EINVALID,
					       "secret mount needs an id or a target");
		if (!m->id) {
			const char *b = strrchr(m->target, '/');

			if (set_str(&m->id, b ? b + 1 : m->target) < 0)
				return BERTH_ERROR;
		}
		if (!m->target && !m->env) {
			m->target = malloc(strlen(m->id) + sizeof("/run/secrets/"));
			if (!m->target)
				return berth_error_set(BERTH_ERROR, "out of memory");
			sprintf(m->target, "/run/secrets/%s", m->id);
		}
		if (!*m->id || strchr(m->id, '/') || strcmp(m->id, "..") == 0)
			return berth_error_set(BERTH_EINVALID, "bad secret id '%s'", m->id);
		m->readonly = 1;
		return 0;
	}
	if (m->type == BM_SSH) {
		if (!m->id && set_str(&m->id, "default") < 0)
			return BERTH_ERROR;
		if (!m->target) {
			snprintf(buf, sizeof(buf), "/run/buildkit/ssh_agent.%zu", nssh);
			if (set_str(&m->target, buf) < 0)
				return BERTH_ERROR;
		}
		return 0;
	}
	if (!m->target || !*m->target)
		return berth_error_set(BERTH_EINVALID, "mount type %s needs a target",
				       type_names[m->type]);
	if (m->type == BM_CACHE && !m->id && set_str(&m->id, m->target) < 0)
		return BERTH_ERROR;
	return 0;
}

int berth_build__mount_parse(build_mount *m, const char *value, size_t nssh)
{
	char *copy = NULL, *fields[MOUNT_FIELDS_MAX];
	size_t n = 0;
	int rc, typed = 0;

	memset(m, 0, sizeof(*m));
	m->mode = -1;
	m->uid = m->gid = -1;
	if (strlen(value) > BERTH_BUILD_MOUNT_SPEC_MAX)
		return berth_error_set(BERTH_ETOOBIG, "mount spec longer than %d bytes",
				       BERTH_BUILD_MOUNT_SPEC_MAX);
	copy = strdup(value);
	if (!copy)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = split_fields(copy, fields, &n)) < 0)
		goto done;
	/* The type decides which keys are allowed: find it first (default bind). */
	m->type = BM_BIND;
	for (size_t i = 0; i < n; i++) {
		if (strncasecmp(fields[i], "type=", 5) != 0)
			continue;
		for (typed = 0; typed < 5; typed++)
			if (strcmp(fields[i] + 5, type_names[typed]) == 0)
				break;
		if (typed == 5) {
			rc = berth_error_set(BERTH_EINVALID, "unsupported mount type \"%s\"",
					     fields[i] + 5);
			goto done;
		}
		m->type = (build_mount_type)typed;
	}
	m->readonly = m->type == BM_BIND;
	for (size_t i = 0; i < n && rc == 0; i++) {
		char *eq = strchr(fields[i], '=');
		char key[32];

		if (!*fields[i])
			continue;
		snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - fields[i]) : (int)31, fields[i]);
		for (char *k = key; *k; k++)
			*k = (char)(*k >= 'A' && *k <= 'Z' ? *k + 32 : *k);
		if (!eq && strcmp(key, "readonly") && strcmp(key, "ro") && strcmp(key, "rw") &&
		    strcmp(key, "readwrite") && strcmp(key, "required")) {
			rc = berth_error_set(BERTH_EINVALID,
					     "invalid field '%s' must be a key=value pair",
					     fields[i]);
			break;
		}
		rc = mount_field(m, key, eq ? eq + 1 : NULL, fields[i]);
	}
	if (rc == 0)
		rc = mount_defaults(m, nssh);
done:
	free(copy);
	if (rc < 0)
		berth_build__mount_dispose(m);
	return rc;
}

/* ---- preparing the mounts of one RUN ---- */

struct build_mounts {
	berth_sandbox_mount m[BERTH_SANDBOX_MOUNTS_MAX];
	size_t n;
	char *env[BERTH_SANDBOX_MOUNTS_MAX + 1];
	size_t nenv;
	char *owned[OWNED_MAX]; /* strings the mounts point to */
	size_t nowned;
	berth_workroot *roots[BERTH_SANDBOX_MOUNTS_MAX];
	size_t nroots;
	int locks[BERTH_SANDBOX_MOUNTS_MAX];
	size_t nlocks;
	char *tmpdir; /* <root>/tmp/run-XXXXXX: everything below goes at release */
	char *mounted[BERTH_SANDBOX_MOUNTS_MAX + 1]; /* host mounts made here (tmpfs, overlay) */
	size_t nmounted;
	unsigned seq; /* names below tmpdir */
};

static char *own(build_mounts *bm, char *s)
{
	if (!s)
		return NULL;
	if (bm->nowned == OWNED_MAX) {
		free(s);
		return NULL;
	}
	return bm->owned[bm->nowned++] = s;
}

static char *ownf(build_mounts *bm, const char *fmt, ...) BERTH_PRINTF(2, 3);
static char *ownf(build_mounts *bm, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return own(bm, s);
}

static berth_sandbox_mount *add_mount(build_mounts *bm)
{
	if (bm->n == BERTH_SANDBOX_MOUNTS_MAX) {
		berth_error_set(BERTH_EINVALID, "too many mounts (at most %d)",
				BERTH_SANDBOX_MOUNTS_MAX);
		return NULL;
	}
	memset(&bm->m[bm->n], 0, sizeof(bm->m[0]));
	return &bm->m[bm->n++];
}

/* A fresh directory below the RUN's temporary directory (owned path). */
static char *new_dir(build_mounts *bm, const char *what)
{
	char *p = ownf(bm, "%s/%s%u", bm->tmpdir, what, bm->seq++);

	if (!p) {
		berth_error_set(BERTH_ERROR, "out of memory");
		return NULL;
	}
	if (mkdir(p, 0700) < 0) {
		berth_error_set_errno("mkdir %s", p);
		return NULL;
	}
	return p;
}

/* Resolve `rel` inside `root` (symlinks stay in it) to a host path (owned). */
static char *resolve_in(build_mounts *bm, const char *root, const char *rel)
{
	char link[64], real[PATH_MAX];
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC), fd;
	ssize_t n;

	if (rootfd < 0) {
		berth_error_set_errno("%s", root);
		return NULL;
	}
	fd = berth_inroot_open(rootfd, rel && *rel ? rel : "/", O_PATH, 0);
	close(rootfd);
	if (fd < 0) {
		berth_error_set(BERTH_ENOTFOUND, "\"%s\": not found", rel);
		return NULL;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, sizeof(real) - 1);
	close(fd);
	if (n < 0) {
		berth_error_set_errno("%s", rel);
		return NULL;
	}
	real[n] = '\0';
	return ownf(bm, "%s", real);
}

static int write_file(const char *path, const void *data, size_t len, mode_t mode, long uid,
		      long gid)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	int rc;

	if (fd < 0)
		return berth_error_set_errno("create %s", path);
	rc = berth_fs_write_all(fd, data, len);
	if (rc == 0 && (fchown(fd, uid < 0 ? 0 : (uid_t)uid, gid < 0 ? 0 : (gid_t)gid) < 0 ||
			fchmod(fd, mode) < 0))
		rc = berth_error_set_errno("set owner and mode of %s", path);
	close(fd);
	return rc;
}

/* The directory of a stage, image or named context of from= (a root mounted for the RUN). */
static int from_root(build_mounts *bm, build_solver *sv, const char *from, const char **out)
{
	berth_build_image *img = NULL, *owned_img = NULL;
	berth_workroot *w = NULL;
	char named[PATH_MAX + 64];
	const char *dir = berth_build__named_context(sv, from, named, sizeof(named));
	size_t si;
	int rc;

	if (dir && !named[0]) { /* a directory named context, as is */
		*out = dir;
		return 0;
	}
	if (!dir && berth_dockerfile_stage_find(sv->df, from, &si) == 0 && sv->done[si]) {
		img = sv->done[si];
	} else {
		if ((rc = berth_build__pull(sv, from, sv->o->platform, 1, &owned_img)) < 0)
			return rc;
		img = owned_img;
	}
	rc = berth_build_image_root(&w, sv->store, img);
	berth_build_image_free(owned_img);
	if (rc < 0)
		return rc;
	bm->roots[bm->nroots++] = w;
	*out = berth_workroot_path(w);
	return 0;
}

/* A throw-away writable view of directory `lower` (an overlay; writes vanish). */
static char *overlay_of(build_mounts *bm, const char *lower)
{
	char *up = new_dir(bm, "upper"), *work = up ? new_dir(bm, "work") : NULL;
	char *merged = work ? new_dir(bm, "merged") : NULL, *opts;

	if (!merged)
		return NULL;
	if (strpbrk(lower, ",:\\")) {
		berth_error_set(BERTH_EUNSUPPORTED, "rw bind of %s: the path has a ',' or ':'",
				lower);
		return NULL;
	}
	if (bm->nmounted >= BERTH_SANDBOX_MOUNTS_MAX) {
		berth_error_set(BERTH_EINVALID, "too many mounts");
		return NULL;
	}
	opts = ownf(bm, "lowerdir=%s,upperdir=%s,workdir=%s", lower, up, work);
	if (!opts || mount("overlay", merged, "overlay", 0, opts) < 0) {
		berth_error_set_errno("rw bind mount of %s (overlayfs)", lower);
		return NULL;
	}
	bm->mounted[bm->nmounted++] = merged;
	return merged;
}

/* Copy a file (the rw bind of a single file: a throw-away copy). */
static char *file_copy(build_mounts *bm, const char *src)
{
	char *dir = new_dir(bm, "file"), *dst = dir ? ownf(bm, "%s/f", dir) : NULL;
	struct stat st;
	int in = -1, out = -1;

	if (!dst)
		return NULL;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0 || fstat(in, &st) < 0 ||
	    (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777)) < 0) {
		berth_error_set_errno("copy %s", src);
		dst = NULL;
	}
	while (dst && st.st_size > 0) {
		ssize_t n = sendfile(out, in, NULL, (size_t)st.st_size);

		if (n <= 0) {
			berth_error_set_errno("copy %s", src);
			dst = NULL;
			break;
		}
		st.st_size -= n;
	}
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return dst;
}

/*
 * Whiteouts in w for what .dockerignore leaves out of the context below
 * rel (w's directories take the context's modes and owners: the topmost
 * layer's win in an overlay).
 */
static int ignore_whiteouts(build_solver *sv, const char *w, const char *rel, unsigned depth)
{
	char path[PATH_MAX], sub[PATH_MAX];
	struct dirent **names = NULL;
	struct stat st;
	int n, rc = 0;

	if (snprintf(path, sizeof(path), "%s/%s", sv->o->context, rel) >= (int)sizeof(path) ||
	    depth > CONTEXT_VIEW_DEPTH_MAX)
		return berth_error_set(BERTH_ETOOBIG, "context path %s: too long or too deep", rel);
	if ((n = scandir(path, &names, NULL, alphasort)) < 0)
		return berth_error_set_errno("%s", path);
	for (int i = 0; i < n; i++) {
		const char *e = names[i]->d_name;
		int out, dir;

		if (rc < 0 || !strcmp(e, ".") || !strcmp(e, "..")) {
			free(names[i]);
			continue;
		}
		if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e) >=
			    sizeof(sub) ||
		    (size_t)snprintf(path, sizeof(path), "%s/%s", sv->o->context, sub) >=
			    sizeof(path)) {
			rc = berth_error_set(BERTH_ETOOBIG, "context path %s/%s: too long", rel, e);
			free(names[i]);
			continue;
		}
		dir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
		out = berth_dockerignore_excluded(sv->ign, sub, NULL) == 1;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", w, sub) >= sizeof(path))
			rc = berth_error_set(BERTH_ETOOBIG, "context path %s: too long", sub);
		else if (out && !(dir && berth_dockerignore_may_reopen(sv->ign, sub))) {
			if (mknod(path, S_IFCHR | 0, makedev(0, 0)) < 0)
				rc = berth_error_set_errno("whiteout %s", path);
		} else if (dir) {
			if (mkdir(path, st.st_mode & 07777) < 0 ||
			    lchown(path, st.st_uid, st.st_gid) < 0 ||
			    chmod(path, st.st_mode & 07777) < 0)
				rc = berth_error_set_errno("mkdir %s", path);
			else
				rc = ignore_whiteouts(sv, w, sub, depth + 1);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * The context as a bind sees it: with a .dockerignore, a read-only overlay
 * of the context under a layer of whiteouts for what it leaves out (as
 * BuildKit, which binds the context it was sent); else the directory.
 */
static int context_view(build_mounts *bm, build_solver *sv, const char **out)
{
	char *w, *merged, *opts;
	struct stat st;

	*out = sv->o->context;
	if (!sv->ign || !sv->ign->npatterns)
		return 0;
	if (!(w = new_dir(bm, "ignored")) || !(merged = new_dir(bm, "context")))
		return berth_error_last_code();
	if (stat(sv->o->context, &st) < 0)
		return berth_error_set_errno("%s", sv->o->context);
	if (chmod(w, st.st_mode & 07777) < 0 || chown(w, st.st_uid, st.st_gid) < 0)
		return berth_error_set_errno("%s", w);
	if (ignore_whiteouts(sv, w, "", 0) < 0)
		return berth_error_last_code();
	if (strpbrk(sv->o->context, ",:\\"))
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "bind of the context %s with a .dockerignore: the path has "
				       "a ',' or ':'",
				       sv->o->context);
	if (bm->nmounted >= BERTH_SANDBOX_MOUNTS_MAX)
		return berth_error_set(BERTH_EINVALID, "too many mounts");
	opts = ownf(bm, "lowerdir=%s:%s", w, sv->o->context);
	if (!opts || mount("overlay", merged, "overlay", MS_RDONLY, opts) < 0)
		return berth_error_set_errno("the context without its .dockerignored files "
					     "(overlayfs)");
	bm->mounted[bm->nmounted++] = merged;
	*out = merged;
	return 0;
}

static int prepare_bind(build_mounts *bm, build_solver *sv, const build_mount *m,
			const char *target)
{
	const char *base = sv->o->context;
	char *src;
	berth_sandbox_mount *sm;
	struct stat st;
	int rc;

	if (m->from && *m->from && (rc = from_root(bm, sv, m->from, &base)) < 0)
		return rc;
	if ((!m->from || !*m->from) && (rc = context_view(bm, sv, &base)) < 0)
		return rc;
	if (!(src = resolve_in(bm, base, m->source ? m->source : "/")))
		return berth_error_last_code();
	if (!m->readonly) {
		if (stat(src, &st) < 0)
			return berth_error_set_errno("%s", m->source);
		src = S_ISDIR(st.st_mode) ? overlay_of(bm, src) : file_copy(bm, src);
		if (!src)
			return berth_error_last_code();
	}
	if (!(sm = add_mount(bm)))
		return BERTH_EINVALID;
	sm->kind = BERTH_SANDBOX_BIND;
	sm->source = src;
	sm->target = target;
	sm->readonly = m->readonly;
	return 0;
}

/* Copy a tree (cache from=): directories, files, symlinks, with modes and owners. */
static int copy_tree(const char *src, const char *dst)
{
	DIR *d = opendir(src);
	struct dirent *e;
	int rc = 0;

	if (!d)
		return berth_error_set_errno("%s", src);
	while (rc == 0 && (e = readdir(d))) {
		char s[PATH_MAX], t[PATH_MAX], lnk[PATH_MAX];
		struct stat st;
		ssize_t n;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (snprintf(s, sizeof(s), "%s/%s", src, e->d_name) >= (int)sizeof(s) ||
		    snprintf(t, sizeof(t), "%s/%s", dst, e->d_name) >= (int)sizeof(t)) {
			rc = berth_error_set(BERTH_ETOOBIG, "path too long below %s", src);
			break;
		}
		if (lstat(s, &st) < 0) {
			rc = berth_error_set_errno("%s", s);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(t, st.st_mode & 07777) < 0)
				rc = berth_error_set_errno("mkdir %s", t);
			else
				rc = copy_tree(s, t);
		} else if (S_ISLNK(st.st_mode)) {
			n = readlink(s, lnk, sizeof(lnk) - 1);
			if (n < 0 || (lnk[n] = '\0', symlink(lnk, t) < 0))
				rc = berth_error_set_errno("symlink %s", t);
		} else if (S_ISREG(st.st_mode)) {
			int in = open(s, O_RDONLY | O_CLOEXEC), out = -1;
			off_t left = st.st_size;

			if (in < 0 || (out = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
						  st.st_mode & 07777)) < 0)
				rc = berth_error_set_errno("copy %s", s);
			while (rc == 0 && left > 0) {
				ssize_t k = sendfile(out, in, NULL, (size_t)left);

				if (k <= 0)
					rc = berth_error_set_errno("copy %s", s);
				left -= k;
			}
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
		} else {
			continue; /* devices, fifos, sockets: not cache content */
		}
		if (rc == 0 && (lchown(t, st.st_uid, st.st_gid) < 0 ||
				(!S_ISLNK(st.st_mode) && chmod(t, st.st_mode & 07777) < 0)))
			rc = berth_error_set_errno("owner of %s", t);
	}
	closedir(d);
	return rc;
}

static int cache_reset_seen(build_solver *sv, const berth_digest *d)
{
	for (size_t i = 0; i < sv->ncache_reset; i++)
		if (strcmp(sv->cache_reset[i].str, d->str) == 0)
			return 1;
	return 0;
}

static int cache_reset_add(build_solver *sv, const berth_digest *d)
{
	berth_digest *n = realloc(sv->cache_reset, (sv->ncache_reset + 1) * sizeof(*n));

	if (!n)
		return berth_error_set(BERTH_ERROR, "out of memory");
	sv->cache_reset = n;
	n[sv->ncache_reset++] = *d;
	return 0;
}

/* The store's directory of a cache mount, created (empty or from from=) on first use. */
static int cache_dir(build_mounts *bm, build_solver *sv, const build_mount *m, char **dir,
		     char **lock)
{
	berth_buf k = BERTH_BUF_INIT(0);
	berth_digest d;
	char *tmp = NULL, *parent;
	struct stat st;
	int rc;

	if ((rc = berth_buf_printf(&k, "cache\n%s\n%s\n%s", m->id, m->from ? m->from : "",
				   m->source ? m->source : "")) == 0)
		rc = berth_digest_compute(&d, BERTH_DIGEST_SHA256, k.ptr, k.len);
	berth_buf_dispose(&k);
	if (rc < 0)
		return rc;
	*dir = ownf(bm, "%s/mounts/cache/%s", sv->store->root, berth_digest_hex(&d));
	*lock = ownf(bm, "%s.lock", *dir ? *dir : "");
	if (!*dir || !*lock)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (stat(*dir, &st) == 0 && !(sv->o->no_cache && !cache_reset_seen(sv, &d)))
		return 0;
	if (sv->o->no_cache) {
		/* --no-cache starts cache mounts afresh too (as BuildKit does), once per build. */
		char *old = ownf(bm, "%s/old%u", bm->tmpdir, bm->seq++);

		if (!old || (rename(*dir, old) < 0 && errno != ENOENT))
			return berth_error_set_errno("reset cache mount %s", m->id);
		if ((rc = cache_reset_add(sv, &d)) < 0)
			return rc;
	}
	/* The parent only: making *dir and removing it again removed the directory another
	 * build (or platform pass: each has its own mount_mu) had just put there. */
	if (!(parent = ownf(bm, "%s/mounts/cache", sv->store->root)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_fs_mkdir_p(parent)) < 0)
		return rc;
	/* Made aside and renamed into place: a killed build leaves no half-filled cache. */
	if (!(tmp = new_dir(bm, "cache")))
		return berth_error_last_code();
	if (m->from && *m->from) {
		const char *base;
		char *src;

		if ((rc = from_root(bm, sv, m->from, &base)) < 0)
			return rc;
		if (!(src = resolve_in(bm, base, m->source ? m->source : "/")))
			return berth_error_last_code();
		if ((rc = copy_tree(src, tmp)) < 0)
			return rc;
	}
	if (chown(tmp, m->uid < 0 ? 0 : (uid_t)m->uid, m->gid < 0 ? 0 : (gid_t)m->gid) < 0 ||
	    chmod(tmp, m->mode < 0 ? 0755 : (mode_t)m->mode) < 0)
		return berth_error_set_errno("cache directory %s", tmp);
	/* Never over one put there meanwhile: rename(2) replaces an empty directory, and
	 * the RUN that mounted it would write where no other RUN looks. */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, *dir, RENAME_NOREPLACE) < 0 && errno != EEXIST)
		return berth_error_set_errno("cache directory %s", *dir);
	return 0;
}

static int prepare_cache(build_mounts *bm, build_solver *sv, const build_mount *m,
			 const char *target)
{
	char *dir = NULL, *lock = NULL;
	berth_sandbox_mount *sm;
	int fd, rc, op;

	/* parallel stages may create or reset the same cache directory */
	pthread_mutex_lock(&sv->mount_mu);
	rc = cache_dir(bm, sv, m, &dir, &lock);
	pthread_mutex_unlock(&sv->mount_mu);
	if (rc < 0)
		return rc;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return berth_error_set_errno("%s", lock);
	bm->locks[bm->nlocks++] = fd;
	op = m->sharing == BM_SHARED ? LOCK_SH : LOCK_EX;
	if (m->sharing == BM_PRIVATE)
		op |= LOCK_NB;
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return berth_error_set_errno("lock %s", lock);
		/* private and in use: this RUN gets a directory of its own. */
		if (!(dir = new_dir(bm, "private")))
			return berth_error_last_code();
		if (chown(dir, m->uid < 0 ? 0 : (uid_t)m->uid, m->gid < 0 ? 0 : (gid_t)m->gid) <
			    0 ||
		    chmod(dir, m->mode < 0 ? 0755 : (mode_t)m->mode) < 0)
			return berth_error_set_errno("%s", dir);
		break;
	}
	if (!(sm = add_mount(bm)))
		return BERTH_EINVALID;
	sm->kind = BERTH_SANDBOX_BIND;
	sm->source = dir;
	sm->target = target;
	sm->readonly = m->readonly;
	return 0;
}

/* The value of secret `id` (wiped and freed by the caller), or BERTH_ENOTFOUND. */
static int secret_value(build_solver *sv, const char *id, berth_buf *out)
{
	for (size_t i = 0; i < sv->o->nsecrets; i++) {
		const berth_build_secret *s = &sv->o->secrets[i];
		const char *v;

		if (strcmp(s->id, id) != 0)
			continue;
		if (s->src)
			return berth_fs_read_file(out, s->src) < 0
				       ? berth_error_set(BERTH_EINVALID,
							 "secret %s: cannot read %s", id, s->src)
				       : 0;
		v = getenv(s->env ? s->env : id);
		if (!v)
			break;
		if (strlen(v) > BERTH_BUILD_SECRET_MAX)
			return berth_error_set(BERTH_ETOOBIG, "secret %s: larger than %u bytes", id,
					       BERTH_BUILD_SECRET_MAX);
		return berth_buf_put(out, v, strlen(v));
	}
	return BERTH_ENOTFOUND;
}

static int prepare_secret(build_mounts *bm, build_solver *sv, const build_mount *m,
			  const char *target)
{
	berth_buf v = BERTH_BUF_INIT(BERTH_BUILD_SECRET_MAX);
	berth_sandbox_mount *sm;
	char *dir = NULL, *file;
	int rc = secret_value(sv, m->id, &v);

	if (rc == BERTH_ENOTFOUND) {
		berth_buf_dispose(&v);
		return m->required ? berth_error_set(BERTH_ENOTFOUND,
						     "secret %s: not provided (berth build "
						     "--secret id=%s,src=FILE|env=VAR)",
						     m->id, m->id)
				   : 0;
	}
	if (rc < 0)
		goto done;
	if (m->env) {
		char *e = malloc(strlen(m->env) + v.len + 2);

		if (!e || bm->nenv == BERTH_SANDBOX_MOUNTS_MAX) {
			free(e);
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		sprintf(e, "%s=", m->env);
		memcpy(e + strlen(m->env) + 1, v.ptr, v.len);
		e[strlen(m->env) + 1 + v.len] = '\0';
		bm->env[bm->nenv++] = e;
	}
	if (!target)
		goto done;
	/* A tmpfs of its own: the value never touches a disk. */
	if (!(dir = new_dir(bm, "secret"))) {
		rc = berth_error_last_code();
		goto done;
	}
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700,size=1m") <
	    0) {
		rc = berth_error_set_errno("tmpfs for secret %s", m->id);
		goto done;
	}
	bm->mounted[bm->nmounted++] = dir;
	if (!(file = ownf(bm, "%s/%s", dir, m->id))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = write_file(file, v.ptr, v.len, m->mode < 0 ? 0400 : (mode_t)m->mode, m->uid,
			     m->gid)) < 0)
		goto done;
	if (!(sm = add_mount(bm))) {
		rc = BERTH_EINVALID;
		goto done;
	}
	sm->kind = BERTH_SANDBOX_BIND;
	sm->source = file;
	sm->target = target;
	sm->readonly = 1;
done:
	if (v.ptr)
		explicit_bzero(v.ptr, v.len);
	berth_buf_dispose(&v);
	return rc;
}

static int prepare_ssh(build_mounts *bm, build_solver *sv, const build_mount *m, const char *target,
		       int first)
{
	const char *sock = NULL;
	berth_sandbox_mount *sm;
	char *e;

	for (size_t i = 0; i < sv->o->nssh; i++)
		if (strcmp(sv->o->ssh[i].id, m->id) == 0)
			sock = sv->o->ssh[i].socket;
	if (!sock)
		return m->required ? berth_error_set(BERTH_ENOTFOUND,
						     "ssh agent %s: not provided (berth build "
						     "--ssh %s=SOCKET)",
						     m->id, m->id)
				   : 0;
	if (!(sm = add_mount(bm)))
		return BERTH_EINVALID;
	sm->kind = BERTH_SANDBOX_BIND;
	sm->source = sock;
	sm->target = target;
	if (first && bm->nenv < BERTH_SANDBOX_MOUNTS_MAX) {
		if (asprintf(&e, "SSH_AUTH_SOCK=%s", target) < 0)
			return berth_error_set(BERTH_ERROR, "out of memory");
		bm->env[bm->nenv++] = e;
	}
	return 0;
}

/* A relative target is below the working directory, as BuildKit resolves it. */
static char *abs_target(build_mounts *bm, berth_build_image *img, const char *t)
{
	const char *wd;

	if (!t)
		return NULL;
	if (t[0] == '/')
		return ownf(bm, "%s", t);
	wd = json_string_value(json_object_get(berth_build__config_obj(img), "WorkingDir"));
	return ownf(bm, "%s/%s", wd && *wd ? wd : "", t);
}

static int prepare_one(build_mounts *bm, build_solver *sv, berth_build_image *img,
		       const build_mount *m, size_t *nssh)
{
	char *target = abs_target(bm, img, m->target);

	if (m->target && !target)
		return berth_error_set(BERTH_ERROR, "out of memory");
	switch (m->type) {
	case BM_BIND: return prepare_bind(bm, sv, m, target);
	case BM_CACHE: return prepare_cache(bm, sv, m, target);
	case BM_SECRET: return prepare_secret(bm, sv, m, target);
	case BM_SSH: return prepare_ssh(bm, sv, m, target, (*nssh)++ == 0);
	case BM_TMPFS: {
		berth_sandbox_mount *sm = add_mount(bm);

		if (!sm)
			return BERTH_EINVALID;
		sm->kind = BERTH_SANDBOX_TMPFS;
		sm->target = target;
		sm->size = m->size;
		sm->mode = 01777;
		return 0;
	}
	}
	return BERTH_EINVALID;
}

/*
 * /etc/hosts and /etc/resolv.conf, bound read-only on every RUN as BuildKit
 * does (a root without /etc gets them too: FROM scratch). Their mount
 * points, when the root lacks them, are removed after the run by step.c
 * (berth_build_image_run), as BuildKit 0.8 leaves its layers.
 */
static int bind_file(build_mounts *bm, const char *name, const char *target, const void *data,
		     size_t len)
{
	berth_sandbox_mount *sm;
	char *dir = new_dir(bm, name), *file = dir ? ownf(bm, "%s/%s", dir, name) : NULL;
	int rc;

	if (!file)
		return berth_error_set(berth_error_last_code(), "cannot make %s: %s", target,
				       berth_error_last());
	if ((rc = write_file(file, data, len, 0644, 0, 0)) < 0)
		return rc;
	if (!(sm = add_mount(bm)))
		return BERTH_EINVALID;
	sm->kind = BERTH_SANDBOX_BIND;
	sm->source = file;
	sm->target = target;
	sm->readonly = 1;
	return 0;
}

/* /etc/hosts: localhost, then --add-host's entries. */
static int prepare_hosts(build_mounts *bm, build_solver *sv)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc;

	rc = berth_buf_printf(&b, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
				  "ip6-loopback\n");
	for (size_t i = 0; rc == 0 && i < sv->o->nhosts; i++)
		rc = berth_buf_printf(&b, "%s\t%s\n", sv->o->hosts[i].ip, sv->o->hosts[i].name);
	if (rc == 0)
		rc = bind_file(bm, "hosts", BERTH_BUILD_HOSTS_PATH, b.ptr, b.len);
	berth_buf_dispose(&b);
	return rc;
}

/* A nameserver line naming a loopback address (unreachable from the RUN's namespace). */
static int local_nameserver(const char *line, size_t len)
{
	const char *p = line + strlen("nameserver");

	if (len < strlen("nameserver ") || strncmp(line, "nameserver", 10) != 0 ||
	    (*p != ' ' && *p != '\t'))
		return 0;
	p += strspn(p, " \t");
	return strncmp(p, "127.", 4) == 0 || strncmp(p, "::1", 3) == 0;
}

/*
 * /etc/resolv.conf: the host's, without its loopback nameservers; when none
 * is left, Google's public ones (what BuildKit's FilterResolvDNS does).
 */
static int prepare_resolv(build_mounts *bm)
{
	berth_buf in = BERTH_BUF_INIT(BERTH_BUILD_RESOLV_MAX), out = BERTH_BUF_INIT(0);
	int ns = 0, rc = berth_fs_read_file(&in, "/etc/resolv.conf");

	if (rc < 0 && berth_error_last_code() != BERTH_ENOTFOUND)
		goto done;
	rc = 0;
	for (size_t i = 0; i < in.len && rc == 0;) {
		const char *line = in.ptr + i, *nl = memchr(line, '\n', in.len - i);
		size_t len = nl ? (size_t)(nl - line) : in.len - i;

		i += len + 1;
		if (local_nameserver(line, len))
			continue;
		ns += strncmp(line, "nameserver", 10) == 0;
		rc = berth_buf_printf(&out, "%.*s\n", (int)len, line);
	}
	if (rc == 0 && !ns)
		rc = berth_buf_printf(&out, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
	if (rc == 0)
		rc = bind_file(bm, "resolv", BERTH_BUILD_RESOLV_PATH, out.ptr, out.len);
done:
	berth_buf_dispose(&in);
	berth_buf_dispose(&out);
	return rc;
}

/* A `RUN <<EOF` script starting with "#!": the file /dev/pipes/<name>, as BuildKit runs it. */
static int prepare_script(build_mounts *bm, const char *name, const char *body, size_t len)
{
	berth_sandbox_mount *sm;
	char *dir = new_dir(bm, "pipes"), *file = dir ? ownf(bm, "%s/%s", dir, name) : NULL;
	int rc;

	if (!file)
		return berth_error_last_code();
	if ((rc = write_file(file, body, len, 0755, 0, 0)) < 0)
		return rc;
	if (chmod(dir, 0755) < 0)
		return berth_error_set_errno("%s", dir);
	if (!(sm = add_mount(bm)))
		return BERTH_EINVALID;
	sm->kind = BERTH_SANDBOX_BIND;
	sm->source = dir;
	sm->target = "/dev/pipes";
	sm->readonly = 1;
	return 0;
}

int berth_build__mounts_prepare(build_mounts **out, build_solver *sv, berth_build_image *img,
				const berth_df_xinstr *x, const char *script_name,
				const char *script, size_t script_len)
{
	build_mounts *bm = calloc(1, sizeof(*bm));
	size_t nssh = 0, nssh_parsed = 0;
	int rc = 0;

	*out = NULL;
	if (!bm)
		return berth_error_set(BERTH_ERROR, "out of memory");
	bm->tmpdir = ownf(bm, "%s/tmp/run-XXXXXX", sv->store->root);
	if (!bm->tmpdir || (rc = berth_fs_mkdir_p(sv->store->root)) < 0)
		goto done;
	{
		char *slash = strrchr(bm->tmpdir, '/');

		*slash = '\0';
		rc = berth_fs_mkdir_p(bm->tmpdir);
		*slash = '/';
		if (rc < 0 || !mkdtemp(bm->tmpdir)) {
			rc = rc < 0 ? rc : berth_error_set_errno("%s", bm->tmpdir);
			bm->tmpdir = NULL;
			goto done;
		}
	}
	if ((rc = prepare_hosts(bm, sv)) < 0 || (rc = prepare_resolv(bm)) < 0) {
		rc = berth_build__fail_at(sv, x->src, rc, "%s", berth_error_last());
		goto done;
	}
	for (size_t i = 0; rc == 0 && i < x->nflags; i++) {
		build_mount m;

		if (strcmp(x->flags[i].name, "mount") != 0)
			continue;
		rc = berth_build__mount_parse(&m, x->flags[i].value ? x->flags[i].value : "",
					      nssh_parsed);
		if (rc == 0) {
			nssh_parsed += m.type == BM_SSH;
			rc = prepare_one(bm, sv, img, &m, &nssh);
			berth_build__mount_dispose(&m);
		}
		if (rc < 0)
			rc = berth_build__fail_at(sv, x->src, rc, "--mount=%s: %s",
						  x->flags[i].value, berth_error_last());
	}
	if (rc == 0 && script && (rc = prepare_script(bm, script_name, script, script_len)) < 0)
		rc = berth_build__fail_at(sv, x->src, rc, "heredoc: %s", berth_error_last());
done:
	if (rc < 0) {
		berth_build__mounts_release(bm);
		return rc;
	}
	*out = bm;
	return 0;
}

const berth_sandbox_mount *berth_build__mounts_list(const build_mounts *bm, size_t *n)
{
	*n = bm->n;
	return bm->m;
}

char *const *berth_build__mounts_env(const build_mounts *bm, size_t *n)
{
	*n = bm->nenv;
	return bm->env;
}

void berth_build__mounts_release(build_mounts *bm)
{
	if (!bm)
		return;
	for (size_t i = 0; i < bm->nenv; i++) {
		explicit_bzero(bm->env[i], strlen(bm->env[i]));
		free(bm->env[i]);
	}
	/* Secret files are wiped before their tmpfs goes. */
	for (size_t i = 0; i < bm->n; i++) {
		const berth_sandbox_mount *m = &bm->m[i];

		if (m->source && bm->tmpdir &&
		    strncmp(m->source, bm->tmpdir, strlen(bm->tmpdir)) == 0 &&
		    strstr(m->source + strlen(bm->tmpdir), "/secret"))
			if (unlink(m->source) < 0) {
				/* gone with its tmpfs below */
			}
	}
	for (size_t i = bm->nmounted; i-- > 0;)
		if (umount2(bm->mounted[i], MNT_DETACH) < 0) {
			/* the build's private mount namespace drops it at exit */
		}
	for (size_t i = 0; i < bm->nroots; i++)
		berth_workroot_free(bm->roots[i]);
	for (size_t i = 0; i < bm->nlocks; i++)
		close(bm->locks[i]);
	if (bm->tmpdir && berth_fs_remove_tree(bm->tmpdir) < 0) {
		/* left for the next prune; holds nothing secret (tmpfs unmounted) */
	}
	for (size_t i = 0; i < bm->nowned; i++)
		free(bm->owned[i]);
	free(bm);
}
