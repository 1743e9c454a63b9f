/*
 * berth/catalog.h - what an image contains: the packages of its operating
 * system (dpkg, apk, rpm) and of its language ecosystems (Python, npm, Go,
 * Java, Rust, Ruby, PHP, .NET), each with a Package URL, the layer and path
 * that brought it, and, for OS packages, the files it owns.
 *
 * An image is read layer by layer, once, streaming (every layer in its own
 * thread); whiteouts of later layers are applied to what earlier layers
 * brought ("squashed" scope), or every layer's findings are kept
 * ("all-layers"). The findings of each layer are cached by diff ID in an
 * SQLite file of the local store, so a rescan reads no layer twice.
 *
 * Bad input (a corrupt layer, a malformed lock file, a file past its size
 * cap) never fails the whole catalogue: it becomes a warning naming the
 * file, and the rest completes. Nothing is written anywhere but the cache.
 *
 * Thread safety: a berth_catalog is owned by one thread at a time; the
 * functions below may run concurrently on distinct catalogues.
 */
#ifndef BERTH_CATALOG_H
#define BERTH_CATALOG_H

#include "berth/common.h"
#include "berth/transport.h"

#include <stddef.h>
#include <stdint.h>

/* Caps on untrusted input (one place each). */
#define BERTH_CATALOG_FILE_MAX (64u * 1024 * 1024)     /* one metadata/lock file */
#define BERTH_CATALOG_ARCHIVE_MAX (256u * 1024 * 1024) /* one jar/war/ear or ELF binary */
#define BERTH_CATALOG_NEST_MAX 4		       /* jars inside jars */
#define BERTH_CATALOG_PATH_MAX 4096		       /* one path inside a layer */
#define BERTH_CATALOG_DEPTH_MAX 128		       /* directory components of a path */
#define BERTH_CATALOG_ENTRIES_MAX 4000000	       /* tar entries per layer */
#define BERTH_CATALOG_PACKAGES_MAX 1000000	       /* packages per catalogue */
#define BERTH_CATALOG_WARNINGS_MAX 1000		       /* warnings kept (then counted) */

/** The ecosystems, in the order SBOMs list them. */
typedef enum {
	BERTH_PKG_DEB = 0,
	BERTH_PKG_APK,
	BERTH_PKG_RPM,
	BERTH_PKG_PYPI,
	BERTH_PKG_NPM,
	BERTH_PKG_GOLANG,
	BERTH_PKG_MAVEN,
	BERTH_PKG_CARGO,
	BERTH_PKG_GEM,
	BERTH_PKG_COMPOSER,
	BERTH_PKG_NUGET,
	BERTH_PKG__COUNT
} berth_pkg_type;

/** The purl type of an ecosystem ("deb", "pypi", ...; static). */
const char *berth_pkg_type_name(berth_pkg_type t);
/** 1 for the OS package managers (deb, apk, rpm). */
int berth_pkg_type_is_os(berth_pkg_type t);

typedef struct berth_package {
	berth_pkg_type type;
	char *name;	   /* as the ecosystem spells it (npm: "@scope/name"; maven: artifactId) */
	char *group;	   /* maven groupId, or NULL */
	char *version;	   /* without epoch for rpm/deb (see epoch) */
	int epoch;	   /* deb/rpm epoch, 0 if none */
	char *arch;	   /* deb/apk/rpm architecture, or NULL */
	char *source_name; /* deb Source, apk origin, rpm source rpm name; or NULL */
	char *source_version; /* the source package's version (with epoch), or NULL */
	char *license;	      /* SPDX expression when known, or NULL */
	char *purl;	      /* the Package URL */
	char *layer;	  /* diff ID ("sha256:...") of the layer that brought it; "" for rootfs */
	char *path;	  /* the file it was found in, "/"-rooted */
	char *cataloguer; /* "dpkg", "python-installed", "package-lock", ... */
	char **files;	  /* OS packages: files owned, "/"-rooted */
	size_t nfiles;
} berth_package;

typedef struct berth_catalog {
	/* The operating system from os-release (or its fallbacks); NULLs if unknown. */
	char *os_id;	     /* "debian", "alpine", "rhel", ... */
	char *os_version_id; /* "12", "3.19.1" */
	char *os_version;    /* the most precise version known ("12.5" from debian_version) */
	char *os_name;	     /* PRETTY_NAME */
	char *os_codename;   /* VERSION_CODENAME */

	char *target;	    /* what was catalogued, as given */
	char *digest;	    /* image manifest digest, or NULL (rootfs) */
	char *architecture; /* image config's, or NULL */
	char *base_name;    /* the manifest's org.opencontainers.image.base.name, or NULL */
	char *base_digest;  /* its org.opencontainers.image.base.digest, or NULL */
	char **layers;	    /* diff IDs, bottom first */
	size_t nlayers;
	size_t layers_cached; /* how many came from the cache */

	berth_package *pkgs;
	size_t npkgs, cap;
	char **warnings; /* "PATH: what was wrong" */
	size_t nwarnings, wcap;
	size_t warnings_dropped; /* past BERTH_CATALOG_WARNINGS_MAX */
} berth_catalog;

typedef enum {
	BERTH_CATALOG_SQUASHED = 0, /* what a container of the image sees */
	BERTH_CATALOG_ALL_LAYERS = 1
} berth_catalog_scope;

/** Progress: `what` is a layer's diff ID or "rootfs"; done/total bytes (total 0 = unknown). */
typedef void (*berth_catalog_progress)(void *ctx, const char *what, uint64_t done, uint64_t total,
				       int finished);

typedef struct berth_catalog_options {
	berth_catalog_scope scope;
	const char *platform; /* "os/arch[/variant]" to pick from an index; NULL = host */
	const char *cache;    /* SQLite cache file; NULL = default (see berth_catalog_cache_path),
				 "" = no cache */
	int parallel;	      /* layers in flight; 0 = number of CPUs (at most 8) */
	int no_files;	      /* OS packages may come without their file lists (what a vulnerability
				 scan wants): a cached layer's lists are then not even decoded */
	berth_catalog_progress progress; /* called from worker threads, serialised */
	void *progress_ctx;
	const berth_transport_options *transport; /* NULL = defaults */
} berth_catalog_options;

void berth_catalog_options_init(berth_catalog_options *o);

/**
 * The default cache file: $BERTH_ROOT/catalog.db, else
 * $XDG_DATA_HOME/berth/catalog.db, else ~/.local/share/berth/catalog.db.
 * Caller frees; NULL if no home is known.
 */
char *berth_catalog_cache_path(void);

/**
 * Catalogue `target`: "rootfs:PATH" (an unpacked root filesystem, never
 * cached) or any image name of berth/transport.h ("docker://" assumed when
 * no transport is given). `*out` is owned by the caller (berth_catalog_free).
 * Errors: the image cannot be opened or its manifest/config is invalid
 * (BERTH_EINVALID, BERTH_ENOTFOUND, BERTH_EIO...). Bad files and layers are
 * warnings in the catalogue, not errors.
 */
int berth_catalog_scan(berth_catalog **out, const char *target,
		       const berth_catalog_options *o) BERTH_WARN_UNUSED;

/**
 * Run the cataloguers that want `path` over its bytes and add what they find
 * to `c` (layer ""), as if the file were found in a root filesystem. For
 * tests and fuzzers: the same parsers the scan uses. Returns 1 if a
 * cataloguer wanted the path, 0 if none did; parse failures are warnings.
 */
int berth_catalog_parse_file(berth_catalog *c, const char *path, const void *data, size_t len);

/** An empty catalogue (for berth_catalog_parse_file); NULL on OOM. */
berth_catalog *berth_catalog_new(void);

/**
 * Add a copy of `p` (every string duplicated) to `c`: for callers that build
 * a catalogue from elsewhere (an SBOM file). BERTH_ETOOBIG past
 * BERTH_CATALOG_PACKAGES_MAX, BERTH_ERROR on OOM.
 */
int berth_catalog_add(berth_catalog *c, const berth_package *p) BERTH_WARN_UNUSED;

/** Recompute the PURLs of `c` after its OS fields were set (parse_file users). */
int berth_catalog_finish(berth_catalog *c) BERTH_WARN_UNUSED;

/** Sort packages by type, name, version, path (what the outputs use). */
void berth_catalog_sort(berth_catalog *c);

void berth_catalog_free(berth_catalog *c);

/**
 * Percent-encode `s` for a purl component (unreserved characters and, when
 * `keep_slash`, "/" kept). Caller frees; NULL on OOM.
 */
char *berth_purl_escape(const char *s, int keep_slash);

#endif
