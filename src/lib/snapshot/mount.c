/*
 * mount.c - working roots: an overlayfs mount of a chain of unpacked
 * layers (read-only lowers) and a fresh upper directory that collects what
 * a build step changes.
 *
 * The mount lives in the caller's mount namespace; berth build runs in a
 * private one, so a killed build leaves no mount behind on the host, and
 * its directories are swept by the next run.
 *
 * Options: index, metacopy and redirect_dir off, so the upper directory
 * holds whole files and real directories — what the diff turns into a
 * layer — and never overlayfs' redirect or metacopy stubs; volatile, so
 * unmounting does not sync the whole host filesystem the upper directory
 * is on (a working root never outlives a crash: the next run sweeps it).
 *
 * After its diff, a working root's upper directory is the layer in the
 * form the snapshot store keeps (whiteouts as 0:0 devices, opaque marks):
 * berth_workroot_keep() renames it into the store, so the next step does
 * not unpack the layer it just wrote and nothing is deleted file by file.
 */
#include "lib/snapshot/internal.h"
#include "util/fs.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#define OPTS_MAX 65536 /* overlayfs reads at most a page; checked below */

static atomic_ulong workroot_seq;

/*
 * Whether chain[i] is also a layer above it. Steps that change nothing (two
 * `RUN true`) give the same empty layer, stored once: overlayfs refuses a
 * directory listed twice ("overlapping lowerdir path", ELOOP), and the copy
 * above already shows everything the lower one would, so it alone is kept.
 */
static int listed_above(const berth_digest *chain, size_t n, size_t i)
{
	for (size_t j = i + 1; j < n; j++)
		if (berth_digest_equal(&chain[i], &chain[j]))
			return 1;
	return 0;
}

/* Mount options by tier, newest kernels first; each older tier drops what a kernel may not know. */
static const char *const option_tiers[] = {
	",index=off,metacopy=off,redirect_dir=off,volatile", /* 5.10 */
	",index=off,metacopy=off,redirect_dir=off", "",	     /* the defaults are the same */
};

static int build_options(berth_snapshots *s, const berth_digest *chain, size_t n,
			 const berth_workroot *w, char *opts, size_t len, const char *extra)
{
	char work[PATH_MAX + 8];
	size_t off = 0;
	int k, first = 1;

	k = snprintf(opts, len, "lowerdir=");
	off = (size_t)k;
	if (n == 0) {
		k = snprintf(opts + off, len - off, "%s", s->empty);
		off += (size_t)k;
	}
	/* overlayfs lists the top layer first. */
	for (size_t i = n; i-- > 0;) {
		char p[PATH_MAX];

		berth_snapshots__layer_path(s, &chain[i], p);
		if (!berth_snapshots_has(s, &chain[i]))
			return berth_error_set(BERTH_ENOTFOUND, "layer %s is not unpacked",
					       chain[i].str);
		if (listed_above(chain, n, i))
			continue;
		k = snprintf(opts + off, len - off, "%s%s", first ? "" : ":", p);
		first = 0;
		if (k < 0 || (size_t)k >= len - off)
			return berth_error_set(BERTH_ETOOBIG, "too many layers for one mount");
		off += (size_t)k;
	}
	snprintf(work, sizeof(work), "%s/work", w->dir);
	k = snprintf(opts + off, len - off, ",upperdir=%s,workdir=%s%s", w->upper, work, extra);
	if (k < 0 || (size_t)k >= len - off)
		return berth_error_set(BERTH_ETOOBIG, "too many layers for one mount");
	return 0;
}

int berth_workroot_mount(berth_workroot **out, berth_snapshots *s, const berth_digest *chain,
			 size_t n)
{
	berth_workroot *w = NULL;
	char *opts = NULL, work[PATH_MAX + 8];
	int rc = 0;

	*out = NULL;
	if (n > BERTH_SNAPSHOT_CHAIN_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%zu layers: at most %d can be stacked", n,
				       BERTH_SNAPSHOT_CHAIN_MAX);
	w = calloc(1, sizeof(*w));
	opts = malloc(OPTS_MAX);
	if (!w || !opts) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	w->store = s;
	snprintf(w->dir, sizeof(w->dir), "%s/%d-%lu", s->work, (int)getpid(),
		 (unsigned long)atomic_fetch_add(&workroot_seq, 1));
	snprintf(w->upper, sizeof(w->upper), "%s/upper", w->dir);
	snprintf(w->merged, sizeof(w->merged), "%s/merged", w->dir);
	snprintf(work, sizeof(work), "%s/work", w->dir);
	if ((rc = berth_fs_mkdir_p(w->upper)) < 0 || (rc = berth_fs_mkdir_p(work)) < 0 ||
	    (rc = berth_fs_mkdir_p(w->merged)) < 0)
		goto done;
	for (size_t t = 0; t < sizeof(option_tiers) / sizeof(option_tiers[0]); t++) {
		if ((rc = build_options(s, chain, n, w, opts, OPTS_MAX, option_tiers[t])) < 0)
			goto done;
		if (strlen(opts) >= (size_t)sysconf(_SC_PAGESIZE)) {
			rc = berth_error_set(BERTH_ETOOBIG,
					     "%zu layers make overlayfs options longer than a page",
					     n);
			goto done;
		}
		if (mount("overlay", w->merged, "overlay", 0, opts) == 0)
			break;
		if (t + 1 == sizeof(option_tiers) / sizeof(option_tiers[0])) {
			rc = berth_error_set(errno == EPERM ? BERTH_EDENIED : BERTH_EIO,
					     "overlayfs mount: %s (berth build runs as root)",
					     strerror(errno));
			goto done;
		}
	}
	w->mounted = 1;
	*out = w;
	w = NULL;
done:
	free(opts);
	berth_workroot_free(w);
	return rc;
}

const char *berth_workroot_path(const berth_workroot *w)
{
	return w->merged;
}

const char *berth_workroot_upper(const berth_workroot *w)
{
	return w->upper;
}

void berth_workroot__stray_clear(berth_workroot *w)
{
	for (size_t i = 0; i < w->nstray; i++)
		free(w->stray[i]);
	free(w->stray);
	w->stray = NULL;
	w->nstray = w->stray_cap = 0;
}

/* Remove overlayfs' trusted.overlay.* attributes (but the opaque mark) from upper/rel. */
static int clear_overlay_xattrs(const char *upper, const char *rel)
{
	char path[PATH_MAX * 2], names[4096];
	ssize_t n;
	int rc = 0;

	snprintf(path, sizeof(path), "%s%s%s", upper, *rel ? "/" : "", rel);
	n = llistxattr(path, names, sizeof(names));
	for (ssize_t i = 0; i < n && rc == 0; i += (ssize_t)strlen(names + i) + 1)
		if (strncmp(names + i, "trusted.overlay.", 16) == 0 &&
		    strcmp(names + i, "trusted.overlay.opaque") != 0 &&
		    lremovexattr(path, names + i) < 0 && errno != ENODATA)
			rc = berth_error_set_errno("%s: remove %s", rel, names + i);
	return rc;
}

int berth_workroot_keep(berth_workroot *w, const berth_digest *diff_id)
{
	char final[PATH_MAX];
	int rc = 0;

	if (!w->diffed)
		return berth_error_set(BERTH_EINVALID, "working root kept before its diff");
	if (w->mounted) {
		/* Not lazily: a descriptor still open in the root would keep the upper in use. */
		if (umount2(w->merged, 0) < 0)
			return berth_error_set_errno("unmount %s", w->merged);
		w->mounted = 0;
	}
	if (berth_snapshots_has(w->store, diff_id))
		return 0; /* another step made the same layer: ours goes with the working root */
	/* An unpacked layer's directory is a plain root-owned 0755 one; the tar has no "./". */
	if (chown(w->upper, 0, 0) < 0 || chmod(w->upper, 0755) < 0)
		return berth_error_set_errno("%s", w->upper);
	rc = clear_overlay_xattrs(w->upper, "");
	for (size_t i = 0; i < w->nstray && rc == 0; i++)
		rc = clear_overlay_xattrs(w->upper, w->stray[i]);
	if (rc < 0)
		return rc;
	berth_snapshots__layer_path(w->store, diff_id, final);
	if (rename(w->upper, final) < 0) {
		if (errno == ENOTEMPTY || errno == EEXIST)
			return 0; /* a concurrent step won */
		return berth_error_set_errno("keep layer %s", diff_id->str);
	}
	if (berth_fs_fsync_dir(w->store->layers) < 0)
		return BERTH_EIO;
	return 0;
}

void berth_workroot_free(berth_workroot *w)
{
	if (!w)
		return;
	if (w->mounted && umount2(w->merged, MNT_DETACH) < 0) {
		/* left for the next sweep of the work directory */
	}
	if (w->dir[0] && berth_fs_remove_tree(w->dir) < 0) {
		/* idem */
	}
	berth_workroot__stray_clear(w);
	free(w);
}
