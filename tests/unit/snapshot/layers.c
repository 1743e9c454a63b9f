/*
 * layers.c - unit tests of the snapshot store: layers made with GNU tar
 * (whiteouts, opaque directories, symlinks, hard links) unpack into
 * overlayfs form only when their diff ID matches and never outside their
 * directory; a working root over them records changes, and its diff is a
 * layer whose entries, whiteouts and digests are what they should be.
 * Needs root (overlayfs, device nodes), as berth build does.
 */
#include "berth/digest.h"
#include "berth/snapshot.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "../testutil.h"

typedef struct fixture {
	char dir[64];
	char store[128];
	berth_snapshots *s;
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/berth-snap-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->store, sizeof(f->store), "%s/store", f->dir);
	if (berth_snapshots_open(&f->s, f->store) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	berth_snapshots_free(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Digest of a whole file. */
static void file_digest(const char *path, berth_digest *out)
{
	FILE *in = fopen(path, "rb");
	static char buf[1 << 20];
	size_t n;

	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf), in);
	fclose(in);
	assert_int_equal(berth_digest_compute(out, BERTH_DIGEST_SHA256, buf, n), 0);
}

/* tar (GNU, numeric owners, sorted) of staging dir `name` -> <dir>/<name>.tar(.gz); its diff ID. */
static void make_layer(fixture *f, const char *name, berth_digest *diff_id)
{
	char tarp[256];

	test_sh("cd %s/%s && tar --numeric-owner --sort=name -cf ../%s.tar . && gzip -k -n "
		"../%s.tar",
		f->dir, name, name, name);
	snprintf(tarp, sizeof(tarp), "%s/%s.tar", f->dir, name);
	file_digest(tarp, diff_id);
}

static int unpack_file(fixture *f, const char *name, const berth_digest *diff_id)
{
	char p[256];
	int fd, rc;

	snprintf(p, sizeof(p), "%s/%s.tar.gz", f->dir, name);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	rc = berth_snapshots_unpack(f->s, diff_id, BERTH_LAYER_GZIP, berth_layer_read_fd, &fd);
	close(fd);
	return rc;
}

static void base_layer(fixture *f, berth_digest *id)
{
	test_sh("mkdir -p %s/base/etc %s/base/data/sub %s/base/bin && echo base > %s/base/etc/conf "
		"&& "
		"echo keep > %s/base/data/keep && echo old > %s/base/data/sub/old && "
		"ln -s ../etc/conf %s/base/bin/link && echo gone > %s/base/gone",
		f->dir, f->dir, f->dir, f->dir, f->dir, f->dir, f->dir, f->dir);
	make_layer(f, "base", id);
	assert_int_equal(unpack_file(f, "base", id), 0);
}

static void whiteouts_unpack_in_overlayfs_form(void **state)
{
	fixture *f = *state;
	berth_digest base, top;
	char p[512];
	struct stat st;
	char v[4];

	base_layer(f, &base);
	assert_true(berth_snapshots_has(f->s, &base));
	test_sh("mkdir -p %s/top/data && touch %s/top/.wh.gone %s/top/data/.wh..wh..opq && "
		"echo new > %s/top/data/new && echo x > %s/top/hard && ln %s/top/hard %s/top/hard2",
		f->dir, f->dir, f->dir, f->dir, f->dir, f->dir, f->dir);
	make_layer(f, "top", &top);
	assert_int_equal(unpack_file(f, "top", &top), 0);
	snprintf(p, sizeof(p), "%s/layers/%s/gone", f->store, berth_digest_hex(&top));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));
	assert_int_equal(st.st_rdev, makedev(0, 0));
	snprintf(p, sizeof(p), "%s/layers/%s/data", f->store, berth_digest_hex(&top));
	assert_int_equal(lgetxattr(p, "trusted.overlay.opaque", v, sizeof(v)), 1);
	assert_int_equal(v[0], 'y');
	snprintf(p, sizeof(p), "%s/layers/%s/hard2", f->store, berth_digest_hex(&top));
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	snprintf(p, sizeof(p), "%s/layers/%s/.wh.gone", f->store, berth_digest_hex(&top));
	assert_int_not_equal(access(p, F_OK), 0);
}

static void a_layer_with_the_wrong_diff_id_is_not_kept(void **state)
{
	fixture *f = *state;
	berth_digest id, wrong;
	char p[512];

	test_sh("mkdir -p %s/l && echo a > %s/l/a", f->dir, f->dir);
	make_layer(f, "l", &id);
	assert_int_equal(berth_digest_compute(&wrong, BERTH_DIGEST_SHA256, "x", 1), 0);
	assert_int_equal(unpack_file(f, "l", &wrong), BERTH_EDIGEST);
	assert_false(berth_snapshots_has(f->s, &wrong));
	snprintf(p, sizeof(p), "ls -A %s/layers | grep -q .", f->store);
	assert_int_not_equal(system(p), 0); /* no temporary directory left either */
	assert_int_equal(unpack_file(f, "l", &id), 0);
	assert_true(berth_snapshots_has(f->s, &id));
}

static void entries_never_land_outside_the_layer(void **state)
{
	fixture *f = *state;
	berth_digest id;
	char outside[256];

	/* A symlink to a host directory, then a file "through" it. */
	snprintf(outside, sizeof(outside), "%s/outside", f->dir);
	test_sh("mkdir -p %s %s/evil1 %s/evil2/link && ln -s %s %s/evil1/link && "
		"echo pwned > %s/evil2/link/file",
		outside, f->dir, f->dir, outside, f->dir, f->dir);
	test_sh("cd %s && tar --numeric-owner -cf evil.tar -C evil1 ./link -C ../evil2 ./link/file "
		"&& "
		"gzip -k -n evil.tar",
		f->dir);
	{
		char tarp[256];

		snprintf(tarp, sizeof(tarp), "%s/evil.tar", f->dir);
		file_digest(tarp, &id);
	}
	/*
	 * libarchive's secure extraction replaces the symlink by a directory
	 * (what a later entry under it needs) instead of writing through it.
	 */
	assert_int_equal(unpack_file(f, "evil", &id), 0);
	{
		char p[512];
		struct stat st;

		snprintf(p, sizeof(p), "%s/file", outside);
		assert_int_not_equal(access(p, F_OK), 0);
		snprintf(p, sizeof(p), "%s/layers/%s/link", f->store, berth_digest_hex(&id));
		assert_int_equal(lstat(p, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
	/* ".." in a name (GNU tar will not write one: Python's tarfile does). */
	test_sh("cd %s && /usr/bin/python3 -c \"import tarfile,io; "
		"t=tarfile.open('dotdot.tar','w'); "
		"i=tarfile.TarInfo('a/../../z'); i.size=1; t.addfile(i, io.BytesIO(b'z')); "
		"t.close()\" "
		"&& gzip -k -n dotdot.tar",
		f->dir);
	{
		char tarp[256];

		snprintf(tarp, sizeof(tarp), "%s/dotdot.tar", f->dir);
		file_digest(tarp, &id);
	}
	assert_int_equal(unpack_file(f, "dotdot", &id), BERTH_EINVALID);
}

/*
 * A tar written by Python's tarfile from `spec` (entries "name:type[:target]",
 * type f (file "x"), d, l (symlink to target), h (hard link to target)) as
 * <dir>/<name>.tar(.gz); its diff ID.
 */
static void python_layer(fixture *f, const char *name, const char *spec, berth_digest *id)
{
	char tarp[256];

	test_sh("cd %s && /usr/bin/python3 -c \"import tarfile,io,sys\n"
		"t=tarfile.open('%s.tar','w')\n"
		"for e in sys.argv[1].split():\n"
		"  p=e.split(':'); i=tarfile.TarInfo(p[0])\n"
		"  if p[1]=='d': i.type=tarfile.DIRTYPE\n"
		"  elif p[1]=='l': i.type=tarfile.SYMTYPE; i.linkname=p[2]\n"
		"  elif p[1]=='h': i.type=tarfile.LNKTYPE; i.linkname=p[2]\n"
		"  else: i.size=1\n"
		"  t.addfile(i, io.BytesIO(b'x') if p[1]=='f' else None)\n"
		"t.close()\" '%s' && gzip -k -n %s.tar",
		f->dir, name, spec, name);
	snprintf(tarp, sizeof(tarp), "%s/%s.tar", f->dir, name);
	file_digest(tarp, id);
}

/* Nothing at all under `outside` (an empty directory before the unpack). */
static void assert_empty_dir(const char *outside)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\" || { ls -lAR %s >&2; false; }", outside,
		 outside);
	assert_int_equal(system(cmd), 0);
}

static void whiteouts_and_links_never_go_through_a_symlink(void **state)
{
	fixture *f = *state;
	char outside[256], spec[1024], p[512];
	berth_digest id;
	struct stat st;

	snprintf(outside, sizeof(outside), "%s/outside", f->dir);
	test_sh("mkdir -p %s && echo secret > %s/../secret", outside, outside);

	/* A whiteout under a symlink to a host directory: made inside the layer. */
	snprintf(spec, sizeof(spec), "link:l:%s link/sub/.wh.x:f", outside);
	python_layer(f, "wh", spec, &id);
	assert_int_equal(unpack_file(f, "wh", &id), 0);
	assert_empty_dir(outside);
	snprintf(p, sizeof(p), "%s/layers/%s/link/sub/x", f->store, berth_digest_hex(&id));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISCHR(st.st_mode));

	/* A hard link whose target is reached through a symlink: refused. */
	snprintf(spec, sizeof(spec), "up:l:%s/.. peek:h:up/secret", outside);
	python_layer(f, "hl", spec, &id);
	assert_int_equal(unpack_file(f, "hl", &id), BERTH_EINVALID);
	assert_false(berth_snapshots_has(f->s, &id));

	/* A hard link to a symlink is that symlink: no file goes through it either. */
	snprintf(spec, sizeof(spec), "s:l:%s h:h:s h/file:f", outside);
	python_layer(f, "hs", spec, &id);
	assert_int_equal(unpack_file(f, "hs", &id), 0);
	assert_empty_dir(outside);
	snprintf(p, sizeof(p), "%s/layers/%s/h/file", f->store, berth_digest_hex(&id));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));

	/* A symlink replaced by a file, then a directory of that name: no stale symlink. */
	snprintf(spec, sizeof(spec), "x:l:%s x:f y:l:%s y:d y/z:f", outside, outside);
	python_layer(f, "re", spec, &id);
	assert_int_equal(unpack_file(f, "re", &id), 0);
	assert_empty_dir(outside);
	snprintf(p, sizeof(p), "%s/layers/%s/x", f->store, berth_digest_hex(&id));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	snprintf(p, sizeof(p), "%s/layers/%s/y/z", f->store, berth_digest_hex(&id));
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
}

/* List a gzip'd layer's entries (names only) into buf. */
static void list_layer(const char *path, char *buf, size_t len)
{
	char cmd[512];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "tar -tzf %s", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(buf, 1, len - 1, p);
	buf[n] = '\0';
	assert_int_equal(pclose(p), 0);
}

static void a_working_root_diff_is_the_steps_changes(void **state)
{
	fixture *f = *state;
	berth_digest base, check;
	berth_workroot *w = NULL;
	berth_diff_options o = {.compression = BERTH_LAYER_GZIP, .level = -1, .clamp_mtime = 1000};
	berth_diff_result r;
	char blob[256], list[4096];
	int fd;

	base_layer(f, &base);
	assert_int_equal(berth_workroot_mount(&w, f->s, &base, 1), 0);
	/* A step: add, modify, delete, replace a directory, hard link. */
	test_sh("cd %s && echo added > etc/added && echo changed > etc/conf && rm gone && "
		"rm -rf data && mkdir data && echo fresh > data/fresh && ln etc/added etc/added2 "
		"&& "
		"setfattr -n security.capability -v 0x0100000200200000000000000000000000000000 "
		"etc/added",
		berth_workroot_path(w));
	snprintf(blob, sizeof(blob), "%s/diff.tar.gz", f->dir);
	fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(berth_workroot_diff(w, &o, berth_layer_write_fd, &fd, &r), 0);
	close(fd);
	list_layer(blob, list, sizeof(list));
	assert_string_equal(list, "data/\n"
				  "data/.wh..wh..opq\n"
				  "data/fresh\n"
				  "etc/\n"
				  "etc/added\n"
				  "etc/added2\n"
				  "etc/conf\n"
				  ".wh.gone\n");
	/* The digests are those of the blob and of its tar. */
	file_digest(blob, &check);
	assert_true(berth_digest_equal(&check, &r.digest));
	test_sh("gzip -dc %s > %s/diff.tar", blob, f->dir);
	snprintf(blob, sizeof(blob), "%s/diff.tar", f->dir);
	file_digest(blob, &check);
	assert_true(berth_digest_equal(&check, &r.diff_id));
	assert_int_equal(r.entries, 8);
	/* Times were clamped; the hard link is a link. */
	test_sh("tar -tvf %s | grep -q 'etc/added2 link to etc/added'", blob);
	test_sh("test \"$(tar --full-time -tvf %s etc/conf | awk '{print $4\" \"$5}')\" = "
		"'1970-01-01 00:16:40'",
		blob);
	/* File capabilities travel with the file (cap_net_bind_service here). */
	test_sh("mkdir -p %s/x && tar --xattrs --xattrs-include='*' -C %s/x -xf %s && "
		"getfattr --absolute-names -e hex -n security.capability %s/x/etc/added | "
		"grep -q 0x0100000200200000000000000000000000000000",
		f->dir, f->dir, blob, f->dir);
	berth_workroot_free(w);

	/* The diff unpacks as a layer that overlays the base as the step left it. */
	{
		berth_digest chain[2] = {base, r.diff_id};
		char p[256];
		int fd2;

		fd2 = open(blob, O_RDONLY);
		assert_int_equal(berth_snapshots_unpack(f->s, &r.diff_id, BERTH_LAYER_UNCOMPRESSED,
							berth_layer_read_fd, &fd2),
				 0);
		close(fd2);
		assert_int_equal(berth_workroot_mount(&w, f->s, chain, 2), 0);
		test_sh("cd %s && test ! -e gone && test ! -e data/keep && test ! -e data/sub && "
			"test \"$(cat data/fresh)\" = fresh && test \"$(cat etc/conf)\" = changed "
			"&& "
			"test \"$(cat bin/link)\" = changed",
			berth_workroot_path(w));
		snprintf(p, sizeof(p), "%s", berth_workroot_path(w));
		berth_workroot_free(w);
		assert_int_not_equal(access(p, F_OK), 0);
	}
}

/*
 * Container storage (podman) refuses a layer naming a path twice: whatever a
 * step does over the layers below (re-create what it deleted, replace a
 * directory by a file and back, write into existing directories, hard links
 * across directories, a directory made opaque that holds a name looking like
 * a marker), each path is in the layer once.
 */
static void a_diff_names_each_path_once(void **state)
{
	fixture *f = *state;
	berth_digest base;
	berth_workroot *w = NULL;
	berth_diff_options o = {.compression = BERTH_LAYER_GZIP, .level = -1, .clamp_mtime = -1};
	berth_diff_result r;
	char blob[256];
	int fd;

	base_layer(f, &base);
	assert_int_equal(berth_workroot_mount(&w, f->s, &base, 1), 0);
	test_sh("cd %s && rm gone && echo again > gone && rm -rf data/sub && mkdir data/sub && "
		"echo new > data/sub/old && rm etc/conf && mkdir etc/conf && echo in > etc/conf/x "
		"&& "
		"rm -rf data && mkdir -p data/sub && echo back > data/keep && "
		"touch data/.wh..wh..opq.not && mkdir -p app/node_modules/ms && "
		"echo m > app/node_modules/ms/index.js && ln app/node_modules/ms/index.js etc/hl "
		"&& "
		"cp -a app/node_modules app/node_modules2 && echo b >> etc/conf/x",
		berth_workroot_path(w));
	snprintf(blob, sizeof(blob), "%s/dups.tar.gz", f->dir);
	fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(berth_workroot_diff(w, &o, berth_layer_write_fd, &fd, &r), 0);
	close(fd);
	berth_workroot_free(w);
	/* no name twice (directories listed with and without their slash alike) */
	test_sh("test -z \"$(tar -tzf %s | sed 's,/$,,' | sort | uniq -d)\"", blob);
	test_sh("tar -tzf %s | grep -qx data/.wh..wh..opq && tar -tzf %s | grep -qx gone && "
		"! tar -tzf %s | grep -q '^.wh.gone$'",
		blob, blob, blob);
}

static void an_unchanged_root_diffs_to_an_empty_layer(void **state)
{
	fixture *f = *state;
	berth_workroot *w = NULL;
	berth_diff_options o = {.compression = BERTH_LAYER_ZSTD, .level = -1, .clamp_mtime = -1};
	berth_diff_result r;
	int fd;
	char blob[256];

	assert_int_equal(berth_workroot_mount(&w, f->s, NULL, 0), 0);
	snprintf(blob, sizeof(blob), "%s/empty.tar.zst", f->dir);
	fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(berth_workroot_diff(w, &o, berth_layer_write_fd, &fd, &r), 0);
	close(fd);
	assert_int_equal(r.entries, 0);
	test_sh("zstd -dc %s | tar -tf - | wc -l | grep -qx 0", blob);
	berth_workroot_free(w);
}

/* The diff of `w` as gzip layer <dir>/NAME.tar.gz (its path into blob, 256 bytes). */
static void diff_blob(fixture *f, berth_workroot *w, const char *name, berth_diff_result *r,
		      char *blob)
{
	berth_diff_options o = {.compression = BERTH_LAYER_GZIP, .level = -1, .clamp_mtime = -1};
	int fd;

	snprintf(blob, 256, "%s/%s.tar.gz", f->dir, name);
	fd = open(blob, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(berth_workroot_diff(w, &o, berth_layer_write_fd, &fd, r), 0);
	close(fd);
}

/* The diff of `w` (freed) as gzip layer NAME, unpacked into the store. */
static void commit_layer(fixture *f, berth_workroot *w, const char *name, berth_digest *diff_id)
{
	berth_diff_result r;
	char blob[256];
	int fd;

	diff_blob(f, w, name, &r, blob);
	berth_workroot_free(w);
	fd = open(blob, O_RDONLY);
	assert_int_equal(berth_snapshots_unpack(f->s, &r.diff_id, BERTH_LAYER_GZIP,
						berth_layer_read_fd, &fd),
			 0);
	close(fd);
	*diff_id = r.diff_id;
}

/*
 * Two steps that change nothing give one empty layer, twice in the chain
 * (base, empty, empty, then a layer over them): overlayfs refuses a
 * directory listed twice, so the mount lists it once and still shows the
 * base and the layer above.
 */
static void a_layer_twice_in_the_chain_mounts(void **state)
{
	fixture *f = *state;
	berth_digest chain[4];
	berth_workroot *w = NULL;

	base_layer(f, &chain[0]);
	/* the empty layer: a diff of an unchanged root */
	assert_int_equal(berth_workroot_mount(&w, f->s, chain, 1), 0);
	commit_layer(f, w, "empty", &chain[1]);
	chain[2] = chain[1];
	/* a layer over the two empty ones */
	assert_int_equal(berth_workroot_mount(&w, f->s, chain, 3), 0);
	test_sh("cd %s && echo top > top && rm gone", berth_workroot_path(w));
	commit_layer(f, w, "top", &chain[3]);
	assert_int_equal(berth_workroot_mount(&w, f->s, chain, 4), 0);
	test_sh("cd %s && test \"$(cat top)\" = top && test ! -e gone && "
		"test \"$(cat etc/conf)\" = base",
		berth_workroot_path(w));
	berth_workroot_free(w);
}

/*
 * A kept upper directory becomes its layer's snapshot without an unpack:
 * the store has the layer, and a root over it shows what the step left
 * (a file added, one deleted, a directory replaced).
 */
static void a_kept_upper_directory_is_the_layer(void **state)
{
	fixture *f = *state;
	berth_digest chain[2];
	berth_workroot *w = NULL;
	berth_diff_options o = {.compression = BERTH_LAYER_GZIP, .level = -1, .clamp_mtime = -1};
	berth_diff_result r;
	char upper[256];
	int fd;

	base_layer(f, &chain[0]);
	assert_int_equal(berth_workroot_mount(&w, f->s, chain, 1), 0);
	test_sh("cd %s && echo added > etc/added && rm gone && rm -rf data && mkdir data && "
		"echo fresh > data/fresh",
		berth_workroot_path(w));
	fd = open("/dev/null", O_WRONLY);
	assert_int_equal(berth_workroot_diff(w, &o, berth_layer_write_fd, &fd, &r), 0);
	close(fd);
	assert_false(berth_snapshots_has(f->s, &r.diff_id));
	snprintf(upper, sizeof(upper), "%s", berth_workroot_upper(w));
	assert_int_equal(berth_workroot_keep(w, &r.diff_id), 0);
	berth_workroot_free(w);
	assert_true(berth_snapshots_has(f->s, &r.diff_id));
	assert_int_not_equal(access(upper, F_OK), 0);
	chain[1] = r.diff_id;
	assert_int_equal(berth_workroot_mount(&w, f->s, chain, 2), 0);
	test_sh("cd %s && test \"$(cat etc/added)\" = added && test ! -e gone && "
		"test ! -e data/keep && test \"$(cat data/fresh)\" = fresh && "
		"test \"$(cat etc/conf)\" = base",
		berth_workroot_path(w));
	berth_workroot_free(w);
}

static void a_missing_layer_cannot_be_mounted(void **state)
{
	fixture *f = *state;
	berth_workroot *w = NULL;
	berth_digest d;

	assert_int_equal(berth_digest_compute(&d, BERTH_DIGEST_SHA256, "nope", 4), 0);
	assert_int_equal(berth_workroot_mount(&w, f->s, &d, 1), BERTH_ENOTFOUND);
	assert_null(w);
	assert_non_null(strstr(berth_error_last(), d.str));
}

/* A tree's names, types, modes, owners, link counts and xattrs, one line each, into out. */
static void tree_listing(const char *dir, const char *out)
{
	test_sh("cd %s && find . -mindepth 1 -printf '%%P %%y %%m %%U %%G %%n %%l\\n' | sort > %s "
		"&& "
		"getfattr -R -h -d -m - -e hex . 2>/dev/null | sed 's,^# file: \\./,# file: ,' "
		">> %s",
		dir, out, out);
}

/*
 * A working root kept after its diff is the layer's snapshot: the same
 * tree (data, types, modes, owners, links, xattrs) as unpacking the blob
 * of that diff, with no overlayfs attribute but the opaque mark, and a
 * root over it shows what the step left.
 */
static void a_kept_working_root_is_the_layer_unpacked(void **state)
{
	fixture *f = *state;
	berth_digest base;
	berth_workroot *w = NULL;
	berth_snapshots *other = NULL;
	berth_diff_result r;
	char blob[256], p[512], q[512];
	int fd;

	base_layer(f, &base);
	assert_int_equal(berth_workroot_mount(&w, f->s, &base, 1), 0);
	assert_int_equal(berth_workroot_keep(w, &base), BERTH_EINVALID); /* no diff yet */
	/* copy-ups (etc, data), a whiteout, an opaque directory, links, modes, an xattr */
	test_sh("cd %s && echo changed > etc/conf && chmod 0700 etc && rm gone && rm -rf data/sub "
		"&& mkdir data/sub && echo new > data/sub/n && echo a > data/a && ln data/a data/b "
		"&& ln -s ../data/a bin/a && mkdir -p new/deep && chmod 4755 data/a && "
		"chown 12:34 new/deep && setfattr -n user.k -v v data/a && chmod 0711 .",
		berth_workroot_path(w));
	diff_blob(f, w, "kept", &r, blob);
	assert_int_equal(berth_snapshots_has(f->s, &r.diff_id), 0);
	assert_int_equal(berth_workroot_keep(w, &r.diff_id), 0);
	berth_workroot_free(w);
	assert_int_equal(berth_snapshots_has(f->s, &r.diff_id), 1);

	/* the same blob unpacked in another store */
	snprintf(p, sizeof(p), "%s/other", f->dir);
	assert_int_equal(berth_snapshots_open(&other, p), 0);
	fd = open(blob, O_RDONLY);
	assert_int_equal(berth_snapshots_unpack(other, &r.diff_id, BERTH_LAYER_GZIP,
						berth_layer_read_fd, &fd),
			 0);
	close(fd);
	berth_snapshots_free(other);
	snprintf(p, sizeof(p), "%s/store/layers/%s", f->dir, berth_digest_hex(&r.diff_id));
	snprintf(q, sizeof(q), "%s/other/layers/%s", f->dir, berth_digest_hex(&r.diff_id));
	/* diff -r calls two equal whiteouts different when their times differ (GNU diff
	 * compares special files' attributes): whiteouts are checked by type and device
	 * here and by the listings below; everything else by content */
	test_sh("test \"$(stat -c '%%F %%t:%%T' %s/gone %s/gone | sort -u)\" = "
		"'character special file 0:0' && diff -r --no-dereference --exclude=gone %s %s",
		p, q, p, q);
	test_sh("test \"$(stat -c '%%a %%u' %s)\" = '755 0'", p);
	{
		char a[600], b[600];

		snprintf(a, sizeof(a), "%s/kept.list", f->dir);
		snprintf(b, sizeof(b), "%s/unpacked.list", f->dir);
		tree_listing(p, a);
		tree_listing(q, b);
		test_sh("grep -q 'data/sub' %s && grep -q 'trusted.overlay.opaque' %s && "
			"grep -q '^gone c ' %s && diff %s %s",
			a, a, a, a, b);
	}

	/* a root over the kept layer is the step's result */
	{
		berth_digest chain[2] = {base, r.diff_id};

		assert_int_equal(berth_workroot_mount(&w, f->s, chain, 2), 0);
		test_sh("cd %s && test ! -e gone && test ! -e data/sub/old && test \"$(cat "
			"data/sub/n)\" = new && test \"$(cat bin/a)\" = a && test \"$(cat "
			"etc/conf)\" = changed && test \"$(cat data/keep)\" = keep",
			berth_workroot_path(w));
		berth_workroot_free(w);
	}
}

/* A layer the store has already (another step made it): the working root goes, the snapshot stays.
 */
static void keeping_a_layer_the_store_has_changes_nothing(void **state)
{
	fixture *f = *state;
	berth_digest base;
	berth_workroot *w = NULL;
	berth_diff_result r;
	char blob[256], name[16];

	base_layer(f, &base);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(berth_workroot_mount(&w, f->s, &base, 1), 0);
		test_sh("cd %s && echo %d > etc/conf", berth_workroot_path(w), 7);
		snprintf(name, sizeof(name), "same%d", i);
		diff_blob(f, w, name, &r, blob);
		assert_int_equal(berth_workroot_keep(w, &r.diff_id), 0);
		berth_workroot_free(w);
		assert_int_equal(berth_snapshots_has(f->s, &r.diff_id), 1);
	}
	test_sh("test \"$(ls %s/store/work | wc -l)\" = 0 && "
		"test \"$(cat %s/store/layers/%s/etc/conf)\" = 7",
		f->dir, f->dir, berth_digest_hex(&r.diff_id));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(whiteouts_unpack_in_overlayfs_form, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_layer_with_the_wrong_diff_id_is_not_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(entries_never_land_outside_the_layer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(whiteouts_and_links_never_go_through_a_symlink,
						setup, teardown),
		cmocka_unit_test_setup_teardown(a_working_root_diff_is_the_steps_changes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_diff_names_each_path_once, setup, teardown),
		cmocka_unit_test_setup_teardown(an_unchanged_root_diffs_to_an_empty_layer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_layer_twice_in_the_chain_mounts, setup, teardown),
		cmocka_unit_test_setup_teardown(a_kept_upper_directory_is_the_layer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_missing_layer_cannot_be_mounted, setup, teardown),
		cmocka_unit_test_setup_teardown(a_kept_working_root_is_the_layer_unpacked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(keeping_a_layer_the_store_has_changes_nothing,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
