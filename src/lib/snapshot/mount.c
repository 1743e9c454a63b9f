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
 * layer — and never overlayfs' redirect or metacopy stubs.
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

static int build_options(berth_snapshots *s, const berth_digest *chain, size_t n,
			 const berth_workroot *w, char *opts, size_t len, int extra)
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
	k = snprintf(opts + off, len - off, ",upperdir=%s,workdir=%s%s", w->upper, work,
		     extra ? ",index=off,metacopy=off,redirect_dir=off" : "");
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
	if ((rc = build_options(s, chain, n, w, opts, OPTS_MAX, 1)) < 0)
		goto done;
	if (strlen(opts) >= (size_t)sysconf(_SC_PAGESIZE)) {
		rc = berth_error_set(BERTH_ETOOBIG,
				     "%zu layers make overlayfs options longer than a page", n);
		goto done;
	}
	if (mount("overlay", w->merged, "overlay", 0, opts) < 0) {
		/* Older kernels do not know every option: the defaults are the same. */
		if ((rc = build_options(s, chain, n, w, opts, OPTS_MAX, 0)) < 0)
			goto done;
		if (mount("overlay", w->merged, "overlay", 0, opts) < 0) {
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

void berth_workroot_keep_upper(berth_workroot *w, const berth_digest *diff_id)
{
	w->keep = 1;
	w->layer = *diff_id;
}

/* The unmounted upper directory renamed to its layer's snapshot (unless one exists). */
static void upper_to_layer(berth_workroot *w)
{
	char final[PATH_MAX];

	if (berth_snapshots_has(w->store, &w->layer))
		return;
	berth_snapshots__layer_path(w->store, &w->layer, final);
	/* A concurrent unpack of the same layer may win (ENOTEMPTY): ours is removed below. */
	if (rename(w->upper, final) == 0 && berth_fs_fsync_dir(w->store->layers) < 0) {
		/* as an unpack's: the next open sees the layer or re-unpacks it */
	}
}

void berth_workroot_free(berth_workroot *w)
{
	int umounted;

	if (!w)
		return;
	umounted = !w->mounted || umount2(w->merged, MNT_DETACH) == 0;
	/* else left for the next sweep of the work directory */
	if (w->keep && umounted)
		upper_to_layer(w);
	if (w->dir[0] && berth_fs_remove_tree(w->dir) < 0) {
		/* idem */
	}
	free(w);
}
