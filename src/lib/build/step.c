/*
 * step.c - the steps that make layers: a working root over an image's
 * layers (unpacked from the store's blobs on first use), a RUN through the
 * sandbox, and a root's changes committed as the image's next layer.
 */
#include "lib/build/internal.h"
#include "berth/layer.h"
#include "util/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Unpack layer i from the layout's blob, if its snapshot is missing. */
static int ensure_unpacked(berth_build_store *s, const build_layer *l)
{
	char path[PATH_MAX + 128];
	berth_layer_compression c;
	int fd, rc;

	if (berth_snapshots_has(s->snapshots, &l->diff_id))
		return 0;
	c = berth_layer_compression_of(l->media_type);
	if (c == BERTH_LAYER_UNKNOWN)
		return berth_error_set(BERTH_EUNSUPPORTED, "layer media type %s", l->media_type);
	snprintf(path, sizeof(path), "%s/%s", s->blobs, berth_digest_hex(&l->digest));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_error_set_errno("layer %s", l->digest.str);
	rc = berth_snapshots_unpack(s->snapshots, &l->diff_id, c, berth_layer_read_fd, &fd);
	close(fd);
	return rc;
}

int berth_build_image_root(berth_workroot **out, berth_build_store *s, berth_build_image *img)
{
	berth_digest *chain = NULL;
	int rc = 0;

	*out = NULL;
	if (img->nlayers) {
		chain = malloc(img->nlayers * sizeof(*chain));
		if (!chain)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	for (size_t i = 0; i < img->nlayers; i++) {
		if ((rc = ensure_unpacked(s, &img->layers[i])) < 0)
			goto done;
		chain[i] = img->layers[i].diff_id;
	}
	rc = berth_workroot_mount(out, s->snapshots, chain, img->nlayers);
done:
	free(chain);
	return rc;
}

int berth_build_image_commit_root(berth_build_image *img, berth_build_store *s, berth_workroot *w,
				  const char *created_by, const berth_diff_options *o, int *added)
{
	berth_diff_options lo = *o;
	berth_build__blob_writer bw;
	berth_diff_result r;
	build_layer *l;
	int rc;

	if (added)
		*added = 0;
	if (img->defer_compression)
		lo.compression = BERTH_LAYER_UNCOMPRESSED;
	if ((rc = berth_build__blob_begin(&bw, s)) < 0)
		return rc;
	rc = berth_workroot_diff(w, &lo, berth_build__blob_write, &bw, &r);
	if (rc < 0 || r.entries == 0) {
		berth_build__blob_abort(&bw);
		if (rc < 0)
			return rc;
		return berth_build_image_history(img, created_by, 1);
	}
	if ((rc = berth_build__blob_commit(&bw, &r.digest)) < 0)
		return rc;
	/*
	 * The upper directory becomes the layer's snapshot (the next step mounts it); when it
	 * cannot, the blob is unpacked on first use as any pulled layer is. Not when times are
	 * clamped (SOURCE_DATE_EPOCH): the directory holds the real ones, the layer not.
	 */
	if (o->clamp_mtime < 0 && berth_workroot_keep(w, &r.diff_id) < 0)
		berth_error_clear();
	l = berth_build__layer_room(img);
	if (!l)
		return berth_error_set(BERTH_ERROR, "out of memory");
	snprintf(l->media_type, sizeof(l->media_type), "%s",
		 lo.compression == BERTH_LAYER_ZSTD	      ? BERTH_MT_OCI_LAYER_ZSTD
		 : lo.compression == BERTH_LAYER_UNCOMPRESSED ? BERTH_MT_OCI_LAYER
							      : BERTH_MT_OCI_LAYER_GZIP);
	l->digest = r.digest;
	l->size = (int64_t)r.size;
	l->diff_id = r.diff_id;
	l->deferred = lo.compression != o->compression;
	img->nlayers++;
	if (added)
		*added = 1;
	return berth_build_image_history(img, created_by, 0);
}

int berth_build__layer_compress(berth_build_store *s, build_layer *l, berth_layer_compression c,
				int level)
{
	const char *mt = berth_layer_media_type_with(l->media_type, c);
	berth_digest d;
	uint64_t size;
	int rc;

	if (!l->deferred || c == berth_layer_compression_of(l->media_type)) {
		l->deferred = 0;
		return 0;
	}
	if ((rc = berth_build__blob_recompress(s, l->media_type, l->digest.str, c, level, &d,
					       &size)) < 0)
		return rc;
	snprintf(l->media_type, sizeof(l->media_type), "%s", mt);
	l->digest = d;
	l->size = (int64_t)size;
	l->deferred = 0;
	return 0;
}

/* ---- mount stubs ----
 *
 * The sandbox creates a mount's target (and its missing parents) in the
 * root when the image lacks it. Those stubs are not the command's doing.
 * For the --mount mounts, the ones still empty after the run are removed
 * (deepest first) and the times of the directory they were made in
 * restored, as BuildKit's executor does since 0.10, so a secret or cache
 * mount leaves no trace in the layer. For the two files every RUN gets
 * (/etc/hosts, /etc/resolv.conf) berth does what the BuildKit it is
 * compared with (Docker 20.10's, 0.8) leaves in its layers: the empty file
 * is removed, a directory made for it (/etc in a FROM scratch root) stays,
 * and the directory's times are not restored (so /etc shows in the layer).
 * /proc, /sys and /dev, made by the sandbox itself, stay too, as in
 * BuildKit's layers.
 */

#define STUBS_MAX (BERTH_SANDBOX_MOUNTS_MAX * 8)

typedef struct mount_stubs {
	char *paths[STUBS_MAX]; /* missing before the run, deepest last */
	size_t n;
	char *parent[BERTH_SANDBOX_MOUNTS_MAX]; /* deepest existing ancestor of each target */
	struct timespec times[BERTH_SANDBOX_MOUNTS_MAX][2];
	size_t nparent;
	char *files[2]; /* missing /etc/hosts, /etc/resolv.conf (only the file is removed) */
	size_t nfiles;
} mount_stubs;

static int inroot_exists(int rootfd, const char *path, struct stat *st)
{
	int fd = berth_inroot_open(rootfd, path, O_PATH | O_NOFOLLOW, 0);
	int ok = fd >= 0 && fstat(fd, st) == 0;

	if (fd >= 0)
		close(fd);
	return ok;
}

static int sandbox_file(const char *target)
{
	return strcmp(target, BERTH_BUILD_HOSTS_PATH) == 0 ||
	       strcmp(target, BERTH_BUILD_RESOLV_PATH) == 0;
}

static void stubs_record(mount_stubs *ms, int rootfd, const berth_sandbox_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char p[PATH_MAX];
		size_t first = ms->n;
		struct stat st;

		/* /dev is the sandbox's own tmpfs: nothing made there reaches the root. */
		if (strncmp(m[i].target, "/dev/", 5) == 0 || strncmp(m[i].target, "/proc/", 6) == 0)
			continue;
		if (sandbox_file(m[i].target)) {
			if (!inroot_exists(rootfd, m[i].target, &st) &&
			    ms->nfiles < sizeof(ms->files) / sizeof(ms->files[0]))
				ms->files[ms->nfiles++] = strdup(m[i].target);
			continue;
		}
		snprintf(p, sizeof(p), "%s", m[i].target);
		while (strlen(p) > 1 && !inroot_exists(rootfd, p, &st) && ms->n < STUBS_MAX) {
			char *slash;

			ms->paths[ms->n++] = strdup(p);
			slash = strrchr(p, '/');
			if (slash == p)
				slash[1] = '\0';
			else
				*slash = '\0';
		}
		if (ms->n > first && ms->nparent < BERTH_SANDBOX_MOUNTS_MAX &&
		    inroot_exists(rootfd, p, &st)) {
			ms->times[ms->nparent][0] = st.st_atim;
			ms->times[ms->nparent][1] = st.st_mtim;
			ms->parent[ms->nparent++] = strdup(p);
		}
	}
}

/* Remove the stub at path when it is an empty directory or an empty regular file. */
static void stub_remove(int rootfd, char *p)
{
	char *slash = p ? strrchr(p, '/') : NULL;
	struct stat st;
	int dfd;

	if (!slash)
		return;
	*slash = '\0';
	dfd = berth_inroot_open(rootfd, *p ? p : "/", O_PATH | O_DIRECTORY, 0);
	*slash = '/';
	if (dfd < 0)
		return;
	if (fstatat(dfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			(void)!unlinkat(dfd, slash + 1, AT_REMOVEDIR); /* fails when not empty */
		else if (S_ISREG(st.st_mode) && st.st_size == 0)
			(void)!unlinkat(dfd, slash + 1, 0);
	}
	close(dfd);
}

static void stubs_clean(mount_stubs *ms, int rootfd)
{
	for (size_t i = 0; i < ms->nfiles; i++)
		stub_remove(rootfd, ms->files[i]);
	/* Shallow paths were recorded after deeper ones of the same target. */
	for (size_t i = 0; i < ms->n; i++)
		stub_remove(rootfd, ms->paths[i]);
	for (size_t i = 0; i < ms->nparent; i++) {
		int fd = berth_inroot_open(rootfd, ms->parent[i], O_PATH | O_DIRECTORY, 0);
		char at[64];

		if (fd < 0)
			continue;
		snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
		(void)!utimensat(AT_FDCWD, at, ms->times[i], 0);
		close(fd);
	}
}

static void stubs_dispose(mount_stubs *ms)
{
	for (size_t i = 0; i < ms->n; i++)
		free(ms->paths[i]);
	for (size_t i = 0; i < ms->nparent; i++)
		free(ms->parent[i]);
	for (size_t i = 0; i < ms->nfiles; i++)
		free(ms->files[i]);
}

/* The config's string field, or NULL when unset or empty. */
static const char *config_str(berth_build_image *img, const char *field)
{
	const char *v = json_string_value(json_object_get(berth_build__config_obj(img), field));

	return v && *v ? v : NULL;
}

/*
 * runc's rule for HOME: when the environment has none, the user's home from
 * the root's /etc/passwd, else "/" (BuildKit's RUN steps see it; go and npm
 * need it). *out = a new list with HOME added, or NULL when env has HOME.
 */
static int env_with_home(const char *rootfs, const char *user, char *const *env, char ***out)
{
	char home[4096], **v;
	size_t n = 0;
	int rc;

	*out = NULL;
	for (; env && env[n]; n++)
		if (strncmp(env[n], "HOME=", 5) == 0)
			return 0;
	if ((rc = berth_sandbox_user_home(rootfs, user, home, sizeof(home))) < 0)
		return rc;
	v = calloc(n + 2, sizeof(*v));
	for (size_t i = 0; v && i < n; i++)
		if (!(v[i] = strdup(env[i]))) {
			berth_build_strv_free(v);
			v = NULL;
		}
	if (v && asprintf(&v[n], "HOME=%s", home) < 0) {
		v[n] = NULL;
		berth_build_strv_free(v);
		v = NULL;
	}
	if (!v)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*out = v;
	return 0;
}

int berth_build_image_run(berth_build_image *img, berth_build_store *s, const berth_build_run *r,
			  const char *created_by, const berth_diff_options *o, int *status)
{
	uint32_t groups[BERTH_SANDBOX_GROUPS_MAX];
	berth_sandbox_spec spec = {0};
	mount_stubs *stubs = NULL;
	int rootfd = -1;
	berth_workroot *w = NULL;
	char **env = NULL, **homed = NULL;
	const char *user;
	int rc;

	*status = -1;
	if ((rc = berth_build_image_root(&w, s, img)) < 0)
		return rc;
	spec.rootfs = berth_workroot_path(w);
	spec.argv = r->argv;
	if (r->env) {
		spec.env = r->env;
	} else {
		env = berth_build_image_envv(img);
		if (!env) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		spec.env = env;
	}
	spec.cwd = r->cwd ? r->cwd : config_str(img, "WorkingDir");
	user = r->user ? r->user : config_str(img, "User");
	if (user &&
	    (rc = berth_sandbox_resolve_user(spec.rootfs, user, &spec.uid, &spec.gid, groups,
					     BERTH_SANDBOX_GROUPS_MAX, &spec.ngroups)) < 0)
		goto done;
	if ((rc = env_with_home(spec.rootfs, user, spec.env, &homed)) < 0)
		goto done;
	if (homed)
		spec.env = homed;
	spec.groups = groups;
	spec.hostname = r->hostname;
	spec.net = r->net;
	spec.mounts = r->mounts;
	spec.nmounts = r->nmounts;
	spec.stdout_fd = r->stdout_fd;
	spec.stderr_fd = r->stderr_fd;
	spec.rlimits = r->rlimits;
	spec.nrlimits = r->nrlimits;
	spec.shm_size = r->shm_size;
	if (r->nmounts) {
		stubs = calloc(1, sizeof(*stubs));
		rootfd = open(spec.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (!stubs || rootfd < 0) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		stubs_record(stubs, rootfd, r->mounts, r->nmounts);
	}
	rc = berth_sandbox_run(&spec, status);
	if (stubs)
		stubs_clean(stubs, rootfd);
	if (rootfd >= 0)
		close(rootfd); /* nothing open in the root: the commit keeps its upper directory */
	rootfd = -1;
	if (rc < 0)
		goto done;
	if (*status == 0)
		rc = berth_build_image_commit_root(img, s, w, created_by, o, NULL);
done:
	if (stubs)
		stubs_dispose(stubs);
	free(stubs);
	if (rootfd >= 0)
		close(rootfd);
	berth_build_strv_free(env);
	berth_build_strv_free(homed);
	berth_workroot_free(w);
	return rc;
}
