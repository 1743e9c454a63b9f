/*
 * catalog/internal.h - what the files of the catalog module share: the
 * findings of one layer, the table of cataloguers, and the small helpers
 * (string lists, line readers, RFC 822 fields) every parser uses.
 */
#ifndef BERTH_CATALOG_INTERNAL_H
#define BERTH_CATALOG_INTERNAL_H

#include "berth/catalog.h"

#include <stddef.h>
#include <sys/types.h>

/* A list of owned strings. */
typedef struct cat_strs {
	char **v;
	size_t n, cap;
} cat_strs;

int berth_catalog__strs_add(cat_strs *s, const char *str) BERTH_WARN_UNUSED;
int berth_catalog__strs_addn(cat_strs *s, const char *str, size_t len) BERTH_WARN_UNUSED;
void berth_catalog__strs_dispose(cat_strs *s);
int berth_catalog__strs_has(const cat_strs *s, const char *str);

/* Files an OS package owns, from a file apart from the package list (dpkg info/NAME.list). */
typedef struct cat_owner {
	char *path; /* the .list file */
	char *key;  /* package name, or "name:arch" */
	cat_strs files;
} cat_owner;

/*
 * What one layer (or a rootfs) holds: the packages its files describe, the
 * candidate files it holds (whether they gave packages or not: a later copy
 * of the same path replaces an earlier one), its whiteouts, and dpkg's
 * ownership lists. OS facts go in found->os_*, with os_path saying where.
 */
typedef struct cat_layer {
	berth_catalog *found;
	cat_strs seen;	    /* candidate paths */
	cat_strs whiteouts; /* paths deleted by this layer */
	cat_strs opaque;    /* directories made opaque by this layer */
	cat_owner *owners;
	size_t nowners, ocap;
	char *os_path;	      /* the os-release (or fallback) file the OS facts came from */
	int os_rank;	      /* lower wins: os-release 0, usr/lib/os-release 1, fallbacks 2+ */
	char *debian_version; /* /etc/debian_version, kept apart (Trivy's "12.5") */
} cat_layer;

cat_layer *berth_catalog__layer_new(void);
void berth_catalog__layer_free(cat_layer *l);

/* The context a parser gets: the layer and the file being parsed. */
typedef struct cat_ctx {
	cat_layer *layer;
	const char *path;  /* "/"-rooted */
	const char *diff;  /* the layer's diff ID, "" for rootfs */
	int depth;	   /* nesting (jars in jars) */
	const char *outer; /* for nested archives: "outer.jar:inner.jar" display path */
} cat_ctx;

/* A new package in the layer, fields copied; returns it (borrowed) or NULL on OOM/cap. */
berth_package *berth_catalog__add(cat_ctx *cx, berth_pkg_type type, const char *name,
				  const char *version, const char *cataloguer);
/* Set a package string field (copy); 0 or -1 on OOM. */
int berth_catalog__set(char **field, const char *v);
int berth_catalog__setn(char **field, const char *v, size_t n);
/* Record a warning "PATH: message" in the layer's catalogue. */
void berth_catalog__warn(cat_ctx *cx, const char *fmt, ...) BERTH_PRINTF(2, 3);
void berth_catalog__warn_in(berth_catalog *c, const char *fmt, ...) BERTH_PRINTF(2, 3);
int berth_catalog__add_pkg_copy(berth_catalog *c, const berth_package *p) BERTH_WARN_UNUSED;
void berth_catalog__package_dispose(berth_package *p);
/* Build p->purl from its fields and the OS of `c`. */
int berth_catalog__purl(berth_package *p, const berth_catalog *c) BERTH_WARN_UNUSED;

/* ---- the cataloguers ---- */

typedef int (*cat_parse_fn)(cat_ctx *cx, const unsigned char *data, size_t len);

typedef struct cat_kind {
	const char *name;
	/* 1 if the file at path (mode, size) is for this cataloguer */
	int (*want)(const char *path, mode_t mode, uint64_t size);
	cat_parse_fn parse;
	size_t max; /* bytes read of such a file */
} cat_kind;

/* The cataloguer that wants `path`, or NULL. */
const cat_kind *berth_catalog__kind_for(const char *path, mode_t mode, uint64_t size);
/* Run a cataloguer (records the path as seen). */
void berth_catalog__run(const cat_kind *k, cat_ctx *cx, const unsigned char *data, size_t len);

int berth_catalog__os_release(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__debian_version(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__alpine_release(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__redhat_release(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__dpkg_status(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__dpkg_list(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__apk_installed(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__rpm_sqlite(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__rpm_header(cat_ctx *cx, const unsigned char *d, size_t n);
/* rpm's BerkeleyDB hash "Packages" (rpmbdb.c): each header through rpm_header. */
int berth_catalog__rpm_bdb(cat_ctx *cx, const unsigned char *d, size_t n);
/* rpm's ndb "Packages.db" (rpmndb.c): each header through rpm_header. */
int berth_catalog__rpm_ndb(cat_ctx *cx, const unsigned char *d, size_t n);
/* One rpm database per directory, as rpm picks it (merge.c). */
void berth_catalog__rpm_one_db(berth_catalog *c);
int berth_catalog__python_metadata(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__python_lock(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__npm_package(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__npm_lock(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__yarn_lock(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__pnpm_lock(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__elf(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__go_mod(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__java_archive(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__cargo_lock(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__gemspec(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__gemfile_lock(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__composer(cat_ctx *cx, const unsigned char *d, size_t n);
int berth_catalog__dotnet_deps(cat_ctx *cx, const unsigned char *d, size_t n);

/* name/version of every [[package]] table of a TOML lock file (toml.c). */
int berth_catalog__toml_packages(cat_ctx *cx, const unsigned char *d, size_t n, berth_pkg_type t,
				 const char *cataloguer);

/* ---- text helpers ---- */

/* Next line of [*p, end): sets *line and *len (no newline, no CR), advances; 0 at end. */
int berth_catalog__line(const char **p, const char *end, const char **line, size_t *len);
/* Trimmed copy of [s, s+n); NULL on OOM. */
char *berth_catalog__trimdup(const char *s, size_t n);
/* 1 if `s` ends with `suffix`. */
int berth_catalog__ends(const char *s, const char *suffix);
/* The last path component. */
const char *berth_catalog__base(const char *path);
/* A licence text → SPDX expression when it is an SPDX id or a well-known alias; else a copy. */
char *berth_catalog__license(const char *s);

/* ---- layers ---- */

/* Walk a tar stream (libarchive decompresses it) into `l`. */
struct archive;
int berth_catalog__walk_tar(cat_layer *l, struct archive *a, const char *diff,
			    berth_catalog_progress progress, void *pctx) BERTH_WARN_UNUSED;
/* Walk a directory tree (no symlink followed out of it) into `l`. */
int berth_catalog__walk_dir(cat_layer *l, const char *root) BERTH_WARN_UNUSED;
/* Fold layers (bottom first) into `out`; squash applies whiteouts and overwrites. */
int berth_catalog__merge(berth_catalog *out, cat_layer **layers, size_t n,
			 berth_catalog_scope scope) BERTH_WARN_UNUSED;

/* ---- the cache ---- */
typedef struct cat_cache cat_cache;
int berth_catalog__cache_open(cat_cache **out, const char *path) BERTH_WARN_UNUSED;
/* 0 and *out, or BERTH_ENOTFOUND. */
/* `files` 0: the OS packages' file lists are left out (not even decoded). */
int berth_catalog__cache_get(cat_cache *c, const char *diff, int files,
			     cat_layer **out) BERTH_WARN_UNUSED;
int berth_catalog__cache_put(cat_cache *c, const char *diff, const cat_layer *l) BERTH_WARN_UNUSED;
void berth_catalog__cache_close(cat_cache *c);

#endif
