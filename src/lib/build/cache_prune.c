/*
 * cache_prune.c - what a build store holds (`berth builder du`) and taking
 * it back (`berth builder prune`).
 *
 * The store's entries (see berth/build.h): step records (<root>/cache/
 * <key>.json), images by tag in the layout's index.json (pulled base
 * images, and the build-<time>-<pid> tag each build commits its result
 * under), cache mounts (<root>/mounts/cache/<hash>), and what they refer
 * to: blobs (<root>/content/blobs/sha256) and unpacked layers
 * (<root>/snapshots/layers/<diff ID>). Sizes are the bytes of the regular
 * files (apparent sizes, as `du --apparent-size -b` counts them).
 *
 * A prune removes entries (records, build tags, cache mounts; with --all
 * every tag) and then everything no remaining entry refers to. It runs
 * holding the store alone (berth_build_store_exclusive), so no build reads
 * what it removes. The order keeps the store whole after a crash at any
 * point: references go first (index.json rewritten atomically, record
 * files unlinked), then the data nothing refers to any more; directories
 * are renamed to a ".gone." name before they are removed, and the next
 * open that holds the store alone sweeps those.
 */
#include "lib/build/internal.h"
#include "util/buf.h"
#include "util/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PRUNE_ENTRIES_MAX 1000000	 /* entries of one store a prune looks at */
#define PRUNE_DOC_MAX ((size_t)16 << 20) /* bytes of a manifest, config or record read */

typedef enum { ENT_RECORD, ENT_BUILD_TAG, ENT_TAG, ENT_MOUNT } entry_kind;

typedef struct prune_entry {
	entry_kind kind;
	char *name;	/* record/mount: file name; tag: the tag */
	int64_t time;	/* last used (seconds) */
	uint64_t bytes; /* its own bytes (record file, mount tree) */
	json_t *blobs;	/* blob hexes it refers to (object used as a set) */
	json_t *layers; /* diff ID hexes it refers to */
	int gone;
} prune_entry;

typedef struct store_scan {
	prune_entry *e;
	size_t n, cap;
	json_t *blob_sizes; /* hex -> bytes */
	json_t *snap_sizes; /* hex -> bytes */
	json_t *index;	    /* index.json */
	uint64_t other;	    /* bytes of everything else under the root */
} store_scan;

/* Bytes of the regular files under path (a file or a directory), not following links. */
static uint64_t tree_bytes(int at, const char *name)
{
	struct stat st;
	uint64_t sum = 0;
	DIR *d;
	struct dirent *de;
	int fd;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	if (S_ISREG(st.st_mode))
		return (uint64_t)st.st_size;
	if (!S_ISDIR(st.st_mode))
		return 0;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			sum += tree_bytes(dirfd(d), de->d_name);
	closedir(d);
	return sum;
}

static int oom(void)
{
	return berth_error_set(BERTH_ERROR, "out of memory");
}

static prune_entry *entry_add(store_scan *sc, entry_kind kind, const char *name, int64_t t)
{
	prune_entry *e;

	if (sc->n >= PRUNE_ENTRIES_MAX)
		return NULL;
	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 64;
		prune_entry *n = realloc(sc->e, cap * sizeof(*n));

		if (!n)
			return NULL;
		sc->e = n;
		sc->cap = cap;
	}
	e = &sc->e[sc->n];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->time = t;
	e->name = strdup(name);
	e->blobs = json_object();
	e->layers = json_object();
	if (!e->name || !e->blobs || !e->layers) {
		free(e->name);
		json_decref(e->blobs);
		json_decref(e->layers);
		return NULL;
	}
	sc->n++;
	return e;
}

static void scan_dispose(store_scan *sc)
{
	for (size_t i = 0; i < sc->n; i++) {
		free(sc->e[i].name);
		json_decref(sc->e[i].blobs);
		json_decref(sc->e[i].layers);
	}
	free(sc->e);
	json_decref(sc->blob_sizes);
	json_decref(sc->snap_sizes);
	json_decref(sc->index);
	memset(sc, 0, sizeof(*sc));
}

/* name -> bytes of each entry of dir (skipping leftovers and `skip_suffix` names). */
static int sizes_of(const char *dir, json_t *out, const char *skip_suffix)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return errno == ENOENT ? 0 : berth_error_set_errno("%s", dir);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), k = skip_suffix ? strlen(skip_suffix) : 0;

		if (de->d_name[0] == '.' ||
		    (k && n > k && strcmp(de->d_name + n - k, skip_suffix) == 0))
			continue;
		if (json_object_set_new(
			    out, de->d_name,
			    json_integer((json_int_t)tree_bytes(dirfd(d), de->d_name))) < 0) {
			closedir(d);
			return oom();
		}
	}
	closedir(d);
	return 0;
}

static json_t *load_json(const char *path)
{
	berth_buf b = BERTH_BUF_INIT(0);
	json_t *j = NULL;
	struct stat st;

	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= PRUNE_DOC_MAX &&
	    berth_fs_read_file(&b, path) == 0)
		j = json_loadb(b.ptr, b.len, 0, NULL);
	berth_error_clear();
	berth_buf_dispose(&b);
	return j;
}

static void set_add(json_t *set, const char *digest)
{
	const char *colon = digest ? strchr(digest, ':') : NULL;

	if (colon && json_object_set_new(set, colon + 1, json_true()) < 0) {
		/* out of memory: the blob is then not protected; the prune stops later */
	}
}

/* What a manifest (or index, recursively) refers to: blobs and layer diff IDs. */
static void refs_of(berth_build_store *s, const char *digest, prune_entry *e, int depth)
{
	char p[PATH_MAX + 160];
	json_t *m, *x;
	const char *colon = digest ? strchr(digest, ':') : NULL;
	size_t i;

	if (!colon || depth > 4)
		return;
	set_add(e->blobs, digest);
	snprintf(p, sizeof(p), "%s/%s", s->blobs, colon + 1);
	if (!(m = load_json(p)))
		return;
	json_array_foreach(json_object_get(m, "manifests"), i, x)
		refs_of(s, json_string_value(json_object_get(x, "digest")), e, depth + 1);
	json_array_foreach(json_object_get(m, "layers"), i, x)
		set_add(e->blobs, json_string_value(json_object_get(x, "digest")));
	if ((x = json_object_get(m, "config")) && json_object_get(x, "digest")) {
		const char *cd = json_string_value(json_object_get(x, "digest"));
		json_t *cfg;

		set_add(e->blobs, cd);
		snprintf(p, sizeof(p), "%s/%s", s->blobs,
			 cd && strchr(cd, ':') ? strchr(cd, ':') + 1 : "");
		if ((cfg = load_json(p))) {
			json_array_foreach(
				json_object_get(json_object_get(cfg, "rootfs"), "diff_ids"), i, x)
				set_add(e->layers, json_string_value(x));
			json_decref(cfg);
		}
	}
	json_decref(m);
}

/* build-<seconds>-<pid>: a build's own tag; its time into *t. */
static int is_build_tag(const char *tag, int64_t *t)
{
	char *end;
	long long v;

	if (strncmp(tag, "build-", 6) != 0)
		return 0;
	v = strtoll(tag + 6, &end, 10);
	if (end == tag + 6 || *end != '-' || strspn(end + 1, "0123456789") != strlen(end + 1) ||
	    !end[1])
		return 0;
	*t = v;
	return 1;
}

static int scan_tags(berth_build_store *s, store_scan *sc)
{
	char p[PATH_MAX + 32];
	json_t *x;
	size_t i;

	snprintf(p, sizeof(p), "%s/index.json", s->content);
	if (!(sc->index = load_json(p)) || !json_is_array(json_object_get(sc->index, "manifests")))
		return berth_error_set(BERTH_EINVALID, "%s: not an OCI index", p);
	json_array_foreach(json_object_get(sc->index, "manifests"), i, x)
	{
		const char *tag = json_string_value(json_object_get(
			json_object_get(x, "annotations"), "org.opencontainers.image.ref.name"));
		const char *dg = json_string_value(json_object_get(x, "digest"));
		char bp[PATH_MAX + 160];
		struct stat st;
		int64_t t = 0;
		int build = tag && is_build_tag(tag, &t);
		prune_entry *e;

		if (!build) {
			snprintf(bp, sizeof(bp), "%s/%s", s->blobs,
				 dg && strchr(dg, ':') ? strchr(dg, ':') + 1 : "");
			t = stat(bp, &st) == 0 ? (int64_t)st.st_mtime : 0;
		}
		if (!(e = entry_add(sc, build ? ENT_BUILD_TAG : ENT_TAG, tag ? tag : "", t)))
			return oom();
		refs_of(s, dg, e, 0);
	}
	return 0;
}

static int scan_records(berth_build_store *s, store_scan *sc)
{
	char dir[PATH_MAX + 16];
	DIR *d;
	struct dirent *de;
	int rc = 0;

	snprintf(dir, sizeof(dir), "%s/cache", s->root);
	if (!(d = opendir(dir)))
		return errno == ENOENT ? 0 : berth_error_set_errno("%s", dir);
	while (rc == 0 && (de = readdir(d)) != NULL) {
		char p[PATH_MAX * 2];
		struct stat st;
		prune_entry *e;
		json_t *r, *x;
		size_t i, n = strlen(de->d_name);

		if (de->d_name[0] == '.' || n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (!(e = entry_add(sc, ENT_RECORD, de->d_name, (int64_t)st.st_mtime))) {
			rc = oom();
			break;
		}
		e->bytes = (uint64_t)st.st_size;
		if (!(r = load_json(p)))
			continue; /* unreadable: it protects nothing, and goes with the others */
		json_array_foreach(json_object_get(r, "layers"), i, x)
		{
			set_add(e->blobs, json_string_value(json_object_get(x, "digest")));
			set_add(e->layers, json_string_value(json_object_get(x, "diffID")));
		}
		json_decref(r);
	}
	closedir(d);
	return rc;
}

static int scan_mounts(berth_build_store *s, store_scan *sc)
{
	char dir[PATH_MAX + 32];
	json_t *sizes = json_object(), *v;
	const char *name;
	int rc;

	if (!sizes)
		return oom();
	snprintf(dir, sizeof(dir), "%s/mounts/cache", s->root);
	rc = sizes_of(dir, sizes, ".lock");
	json_object_foreach(sizes, name, v)
	{
		char p[PATH_MAX * 2];
		struct stat st;
		prune_entry *e;

		if (rc < 0)
			break;
		snprintf(p, sizeof(p), "%s/%s", dir, name);
		if (!(e = entry_add(sc, ENT_MOUNT, name, stat(p, &st) == 0 ? st.st_mtime : 0)))
			rc = oom();
		else
			e->bytes = (uint64_t)json_integer_value(v);
	}
	json_decref(sizes);
	return rc;
}

static int store_scan_all(berth_build_store *s, store_scan *sc)
{
	char p[PATH_MAX + 32];
	int rc;

	memset(sc, 0, sizeof(*sc));
	sc->blob_sizes = json_object();
	sc->snap_sizes = json_object();
	if (!sc->blob_sizes || !sc->snap_sizes)
		return oom();
	snprintf(p, sizeof(p), "%s/snapshots/layers", s->root);
	if ((rc = sizes_of(s->blobs, sc->blob_sizes, NULL)) < 0 ||
	    (rc = sizes_of(p, sc->snap_sizes, NULL)) < 0 || (rc = scan_tags(s, sc)) < 0 ||
	    (rc = scan_records(s, sc)) < 0 || (rc = scan_mounts(s, sc)) < 0)
		return rc;
	return 0;
}

/* Bytes (and *count) of the entries of sizes that are in `only` (NULL: all). */
static uint64_t sum_of(json_t *sizes, json_t *only, uint64_t *count)
{
	const char *k;
	json_t *v;
	uint64_t sum = 0, n = 0;

	json_object_foreach(sizes, k, v)
	{
		if (only && !json_object_get(only, k))
			continue;
		sum += (uint64_t)json_integer_value(v);
		n++;
	}
	if (count)
		*count = n;
	return sum;
}

/* The usage if the entries marked gone were removed and what nothing refers to collected. */
static int usage_of(store_scan *sc, berth_build_usage *u, json_t **blobs_out, json_t **layers_out)
{
	json_t *blobs = json_object(), *layers = json_object();

	memset(u, 0, sizeof(*u));
	if (!blobs || !layers) {
		json_decref(blobs);
		json_decref(layers);
		return oom();
	}
	for (size_t i = 0; i < sc->n; i++) {
		const prune_entry *e = &sc->e[i];

		if (e->gone)
			continue;
		json_object_update(blobs, e->blobs);
		json_object_update(layers, e->layers);
		if (e->kind == ENT_RECORD) {
			u->records++;
			u->records_bytes += e->bytes;
		} else if (e->kind == ENT_MOUNT) {
			u->cache_mounts++;
			u->cache_mounts_bytes += e->bytes;
		} else {
			u->images++;
			u->build_tags += e->kind == ENT_BUILD_TAG;
		}
	}
	/* blobs and snapshots nothing refers to count until they are collected */
	u->blobs_bytes = sum_of(sc->blob_sizes, blobs_out ? blobs : NULL, &u->blobs);
	u->snapshots_bytes = sum_of(sc->snap_sizes, blobs_out ? layers : NULL, &u->snapshots);
	u->total_bytes = u->records_bytes + u->cache_mounts_bytes + u->blobs_bytes +
			 u->snapshots_bytes + sc->other;
	if (blobs_out) {
		*blobs_out = blobs;
		*layers_out = layers;
	} else {
		json_decref(blobs);
		json_decref(layers);
	}
	return 0;
}

/* Bytes under the root outside the parts counted apart. */
static uint64_t other_bytes(berth_build_store *s, const store_scan *sc)
{
	uint64_t all;
	int fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	all = tree_bytes(fd, ".");
	close(fd);
	all -= sum_of(sc->blob_sizes, NULL, NULL) + sum_of(sc->snap_sizes, NULL, NULL);
	for (size_t i = 0; i < sc->n; i++)
		if (sc->e[i].kind == ENT_RECORD || sc->e[i].kind == ENT_MOUNT)
			all -= sc->e[i].bytes;
	return all;
}

int berth_build_store_usage(berth_build_store *s, berth_build_usage *u)
{
	store_scan sc;
	int rc;

	if ((rc = store_scan_all(s, &sc)) == 0) {
		sc.other = other_bytes(s, &sc);
		rc = usage_of(&sc, u, NULL, NULL);
	}
	scan_dispose(&sc);
	return rc;
}

/* ---- removing ---- */

static int by_time(const void *a, const void *b)
{
	const prune_entry *x = *(prune_entry *const *)a, *y = *(prune_entry *const *)b;

	return x->time < y->time ? -1 : x->time > y->time;
}

/* Mark what goes: the candidates oldest first, as far as keep_storage asks. */
static int choose(store_scan *sc, const berth_build_prune_opts *o)
{
	prune_entry **c = sc->n ? calloc(sc->n, sizeof(*c)) : NULL;
	size_t n = 0;
	int64_t now = (int64_t)time(NULL);
	int rc = 0;

	if (sc->n && !c)
		return oom();
	for (size_t i = 0; i < sc->n; i++) {
		prune_entry *e = &sc->e[i];

		if (e->kind == ENT_TAG && !o->all)
			continue;
		if (o->until > 0 && e->time > now - o->until)
			continue;
		c[n++] = e;
	}
	qsort(c, n, sizeof(*c), by_time);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		berth_build_usage u;
		json_t *b = NULL, *l = NULL;

		if (o->keep_storage) {
			if ((rc = usage_of(sc, &u, &b, &l)) < 0)
				break;
			json_decref(b);
			json_decref(l);
			if (u.total_bytes <= o->keep_storage)
				break;
		}
		c[i]->gone = 1;
	}
	free(c);
	return rc;
}

/* Rename a directory aside, then remove it (a crash leaves a .gone. name the sweep takes). */
static int remove_dir(const char *path)
{
	char aside[PATH_MAX * 2 + 32];
	int rc;

	snprintf(aside, sizeof(aside), "%s.gone.%d", path, (int)getpid());
	if (rename(path, aside) < 0)
		return errno == ENOENT ? 0 : berth_error_set_errno("rename %s", path);
	if ((rc = berth_fs_remove_tree(aside)) < 0)
		return rc;
	return 0;
}

/* index.json without the tags that go (the layout's own lock held, written atomically). */
static int drop_tags(berth_build_store *s, store_scan *sc)
{
	json_t *keep = json_array(), *x;
	char p[PATH_MAX + 32];
	char *txt = NULL;
	size_t i, k = 0;
	int rc = 0, lockfd, any = 0;

	if (!keep)
		return oom();
	json_array_foreach(json_object_get(sc->index, "manifests"), i, x)
	{
		/* the tag entries were scanned in index order */
		while (k < sc->n && sc->e[k].kind != ENT_TAG && sc->e[k].kind != ENT_BUILD_TAG)
			k++;
		if (k < sc->n && sc->e[k++].gone) {
			any = 1;
			continue;
		}
		json_array_append(keep, x);
	}
	if (!any) {
		json_decref(keep);
		return 0;
	}
	json_object_set_new(sc->index, "manifests", keep);
	if (!(txt = json_dumps(sc->index, JSON_COMPACT)))
		return oom();
	lockfd = open(s->content, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (lockfd >= 0 && flock(lockfd, LOCK_EX) < 0 && errno == EINTR) {
	}
	snprintf(p, sizeof(p), "%s/index.json", s->content);
	rc = berth_fs_write_atomic(p, txt, strlen(txt));
	if (lockfd >= 0)
		close(lockfd);
	free(txt);
	return rc;
}

static void freed_add(berth_build_usage *f, const berth_build_usage *before,
		      const berth_build_usage *after)
{
	f->records = before->records - after->records;
	f->records_bytes = before->records_bytes - after->records_bytes;
	f->images = before->images - after->images;
	f->build_tags = before->build_tags - after->build_tags;
	f->cache_mounts = before->cache_mounts - after->cache_mounts;
	f->cache_mounts_bytes = before->cache_mounts_bytes - after->cache_mounts_bytes;
	f->blobs = before->blobs - after->blobs;
	f->blobs_bytes = before->blobs_bytes - after->blobs_bytes;
	f->snapshots = before->snapshots - after->snapshots;
	f->snapshots_bytes = before->snapshots_bytes - after->snapshots_bytes;
	f->total_bytes = before->total_bytes - after->total_bytes;
}

/* Remove what is marked, then the blobs and snapshots nothing refers to. */
static int apply(berth_build_store *s, store_scan *sc, json_t *blobs, json_t *layers)
{
	char p[PATH_MAX * 2 + 32];
	const char *k;
	json_t *v;
	int rc;

	if ((rc = drop_tags(s, sc)) < 0)
		return rc;
	for (size_t i = 0; rc == 0 && i < sc->n; i++) {
		prune_entry *e = &sc->e[i];

		if (!e->gone)
			continue;
		if (e->kind == ENT_RECORD) {
			snprintf(p, sizeof(p), "%s/cache/%s", s->root, e->name);
			if (unlink(p) < 0 && errno != ENOENT)
				rc = berth_error_set_errno("unlink %s", p);
		} else if (e->kind == ENT_MOUNT) {
			snprintf(p, sizeof(p), "%s/mounts/cache/%s", s->root, e->name);
			rc = remove_dir(p);
			snprintf(p, sizeof(p), "%s/mounts/cache/%s.lock", s->root, e->name);
			unlink(p);
		}
	}
	json_object_foreach(sc->blob_sizes, k, v)
	{
		if (rc < 0)
			break;
		if (json_object_get(blobs, k))
			continue;
		snprintf(p, sizeof(p), "%s/%s", s->blobs, k);
		if (unlink(p) < 0 && errno != ENOENT)
			rc = berth_error_set_errno("unlink %s", p);
	}
	json_object_foreach(sc->snap_sizes, k, v)
	{
		if (rc < 0)
			break;
		if (json_object_get(layers, k))
			continue;
		snprintf(p, sizeof(p), "%s/snapshots/layers/%s", s->root, k);
		rc = remove_dir(p);
	}
	return rc;
}

int berth_build_store_prune(berth_build_store *s, const berth_build_prune_opts *o,
			    berth_build_usage *freed)
{
	berth_build_usage before, after;
	json_t *blobs = NULL, *layers = NULL;
	store_scan sc;
	int rc;

	if (freed)
		memset(freed, 0, sizeof(*freed));
	if ((rc = store_scan_all(s, &sc)) < 0)
		goto done;
	sc.other = other_bytes(s, &sc);
	if ((rc = usage_of(&sc, &before, NULL, NULL)) < 0 || (rc = choose(&sc, o)) < 0 ||
	    (rc = usage_of(&sc, &after, &blobs, &layers)) < 0 ||
	    (rc = apply(s, &sc, blobs, layers)) < 0)
		goto done;
	if (freed)
		freed_add(freed, &before, &after);
done:
	json_decref(blobs);
	json_decref(layers);
	scan_dispose(&sc);
	return rc;
}
