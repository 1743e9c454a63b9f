/*
 * merge.c - folding the findings of an image's layers, bottom first, into
 * one catalogue. Squashed scope: a layer's whiteouts and opaque directories
 * remove what lower layers' files had brought, and a file a layer holds
 * again (dpkg's status rewritten by a later apt-get) replaces the lower
 * copy's packages; the OS facts of the highest layer that has them win;
 * dpkg's info/NAME.list files are attached to their packages. All-layers
 * scope keeps every layer's packages. In both, of several rpm databases in
 * one directory only the one rpm reads counts.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 if `path` is `target`, or below it as a directory or (nested archives) "target:inner". */
static int hits(const char *path, const char *target)
{
	size_t n = strlen(target);

	if (strncmp(path, target, n) != 0)
		return 0;
	if (n == 1 && target[0] == '/')
		return 1;
	return path[n] == 0 || path[n] == '/' || path[n] == ':';
}

/* The outer file of a package path ("a.jar:b.jar" → "a.jar"), for lookups in `seen`. */
static int seen_in(const cat_layer *l, const char *path)
{
	char buf[BERTH_CATALOG_PATH_MAX + 1];
	const char *colon = strchr(path, ':');
	const char *key = path;

	if (colon && (size_t)(colon - path) < sizeof(buf)) {
		memcpy(buf, path, (size_t)(colon - path));
		buf[colon - path] = 0;
		key = buf;
	}
	return l->seen.n && bsearch(&key, l->seen.v, l->seen.n, sizeof(char *), cmp_strp) != NULL;
}

static int removed_by(const cat_layer *l, const char *path)
{
	for (size_t i = 0; i < l->whiteouts.n; i++)
		if (hits(path, l->whiteouts.v[i]))
			return 1;
	for (size_t i = 0; i < l->opaque.n; i++)
		if (hits(path, l->opaque.v[i]) && strcmp(path, l->opaque.v[i]) != 0)
			return 1;
	return seen_in(l, path);
}

/* Drop packages of `c` (from lower layers) that layer `l` removes or replaces. */
static void drop_removed(berth_catalog *c, const cat_layer *l)
{
	size_t o = 0;

	for (size_t i = 0; i < c->npkgs; i++) {
		if (removed_by(l, c->pkgs[i].path))
			berth_catalog__package_dispose(&c->pkgs[i]);
		else
			c->pkgs[o++] = c->pkgs[i];
	}
	c->npkgs = o;
}

typedef struct owners {
	const cat_owner **v;
	size_t n;
} owners;

static void drop_owners(owners *ow, const cat_layer *l)
{
	size_t o = 0;

	for (size_t i = 0; i < ow->n; i++)
		if (!removed_by(l, ow->v[i]->path))
			ow->v[o++] = ow->v[i];
	ow->n = o;
}

static int take_os(berth_catalog *out, const cat_layer *l)
{
	const berth_catalog *f = l->found;

	if (l->os_rank >= 1000)
		return 0;
	if (berth_catalog__set(&out->os_id, f->os_id) < 0 ||
	    berth_catalog__set(&out->os_version_id, f->os_version_id) < 0 ||
	    berth_catalog__set(&out->os_name, f->os_name) < 0 ||
	    berth_catalog__set(&out->os_codename, f->os_codename) < 0)
		return -1;
	return 0;
}

static int attach_files(berth_catalog *out, const owners *ow)
{
	for (size_t i = 0; i < out->npkgs; i++) {
		berth_package *p = &out->pkgs[i];
		size_t nl = strlen(p->name);

		if (p->type != BERTH_PKG_DEB || p->nfiles)
			continue;
		for (size_t k = ow->n; k-- > 0;) {
			const char *key = ow->v[k]->key;

			if (strcmp(key, p->name) != 0 &&
			    !(strncmp(key, p->name, nl) == 0 && key[nl] == ':' && p->arch &&
			      strcmp(key + nl + 1, p->arch) == 0))
				continue;
			p->files =
				calloc(ow->v[k]->files.n ? ow->v[k]->files.n : 1, sizeof(char *));
			if (!p->files)
				return -1;
			for (size_t f = 0; f < ow->v[k]->files.n; f++) {
				if (!(p->files[f] = strdup(ow->v[k]->files.v[f])))
					return -1;
				p->nfiles = f + 1;
			}
			break;
		}
	}
	return 0;
}

/*
 * rpm's database files in preference order. rpm (lib/backend/dbi.c, 4.16
 * on) opens the configured backend's file when it exists, else the first
 * of sqlite, ndb, BerkeleyDB found; a distro converting its database
 * (Fedora and RHEL 9 to sqlite, SUSE to ndb) configures the newer one, so
 * a leftover older file beside it is not what rpm reads.
 */
static const char *const rpm_dbs[] = {"rpmdb.sqlite", "Packages.db", "Packages"};
#define RPM_DB_NONE (sizeof(rpm_dbs) / sizeof(rpm_dbs[0]))

/* The rank of an rpm package's database (its path's base name), RPM_DB_NONE if another. */
static size_t rpm_rank(const berth_package *p, size_t *dirlen)
{
	const char *base;

	*dirlen = 0;
	if (p->type != BERTH_PKG_RPM || !p->path)
		return RPM_DB_NONE;
	base = berth_catalog__base(p->path);
	*dirlen = (size_t)(base - p->path);
	for (size_t r = 0; r < RPM_DB_NONE; r++)
		if (strcmp(base, rpm_dbs[r]) == 0)
			return r;
	return RPM_DB_NONE;
}

typedef struct rpm_src {
	size_t rank, dirlen;
	int drop;
} rpm_src;

/* Does a package of c come from a better rpm database in the directory of package i? */
static int rpm_outranked(const berth_catalog *c, const rpm_src *src, size_t i)
{
	const char *path = c->pkgs[i].path;

	if (src[i].rank == RPM_DB_NONE || src[i].rank == 0)
		return 0;
	for (size_t k = 0; k < c->npkgs; k++)
		if (src[k].rank < src[i].rank && src[k].dirlen == src[i].dirlen &&
		    strncmp(c->pkgs[k].path, path, src[i].dirlen) == 0)
			return 1;
	return 0;
}

void berth_catalog__rpm_one_db(berth_catalog *c)
{
	rpm_src *src = calloc(c->npkgs ? c->npkgs : 1, sizeof(*src));
	size_t o = 0, ranks = 0;

	if (!src)
		return; /* keeping every list is the safe side of running out of memory */
	for (size_t i = 0; i < c->npkgs; i++) {
		src[i].rank = rpm_rank(&c->pkgs[i], &src[i].dirlen);
		if (src[i].rank != RPM_DB_NONE)
			ranks |= (size_t)1 << src[i].rank;
	}
	if (ranks & (ranks - 1)) { /* more than one kind of database: some may lose */
		for (size_t i = 0; i < c->npkgs; i++)
			src[i].drop = rpm_outranked(c, src, i);
		for (size_t i = 0; i < c->npkgs; i++) {
			if (src[i].drop)
				berth_catalog__package_dispose(&c->pkgs[i]);
			else
				c->pkgs[o++] = c->pkgs[i];
		}
		c->npkgs = o;
	}
	free(src);
}

int berth_catalog__merge(berth_catalog *out, cat_layer **layers, size_t n,
			 berth_catalog_scope scope)
{
	owners ow = {calloc(1, sizeof(cat_owner *)), 0};
	const char *debver = NULL;
	int rc = -1;

	if (!ow.v)
		goto done;
	for (size_t i = 0; i < n; i++) {
		cat_layer *l = layers[i];
		const cat_owner **grown;

		if (!l)
			continue;
		if (l->seen.n > 1)
			qsort(l->seen.v, l->seen.n, sizeof(char *), cmp_strp);
		if (scope == BERTH_CATALOG_SQUASHED) {
			drop_removed(out, l);
			drop_owners(&ow, l);
		}
		for (size_t k = 0; k < l->found->npkgs; k++)
			if (berth_catalog__add_pkg_copy(out, &l->found->pkgs[k]) < 0)
				goto done;
		for (size_t k = 0; k < l->found->nwarnings; k++)
			berth_catalog__warn_in(out, "%s", l->found->warnings[k]);
		out->warnings_dropped += l->found->warnings_dropped;
		grown = realloc(ow.v, (ow.n + l->nowners + 1) * sizeof(*ow.v));
		if (!grown)
			goto done;
		ow.v = grown;
		for (size_t k = 0; k < l->nowners; k++)
			ow.v[ow.n++] = &l->owners[k];
		if (take_os(out, l) < 0)
			goto done;
		if (l->debian_version)
			debver = l->debian_version;
	}
	if (attach_files(out, &ow) < 0)
		goto done;
	berth_catalog__rpm_one_db(out);
	if (out->os_id && strcmp(out->os_id, "debian") == 0 && debver && debver[0] >= '0' &&
	    debver[0] <= '9') {
		if (berth_catalog__set(&out->os_version, debver) < 0)
			goto done;
	} else if (berth_catalog__set(&out->os_version, out->os_version_id) < 0) {
		goto done;
	}
	rc = 0;
done:
	free(ow.v);
	if (rc < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return berth_catalog_finish(out);
}
