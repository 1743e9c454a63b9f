/*
 * kinds.c - the table of cataloguers: which file each one wants (by path,
 * mode and size, decided before any byte is read) and how many bytes of it
 * it may read. The walkers ask berth_catalog__kind_for for every regular
 * file and hand the bytes of wanted ones to berth_catalog__run.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#define SMALL_MAX (1u * 1024 * 1024) /* package.json, METADATA, gemspec ... */
#define ELF_MIN 4096		     /* smaller executables are scripts or stubs */

static int eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static int want_os_release(const char *p, mode_t m, uint64_t s)
{
	return eq(p, "/etc/os-release") || eq(p, "/usr/lib/os-release");
}
static int want_debian_version(const char *p, mode_t m, uint64_t s)
{
	return eq(p, "/etc/debian_version");
}
static int want_alpine_release(const char *p, mode_t m, uint64_t s)
{
	return eq(p, "/etc/alpine-release");
}
static int want_redhat_release(const char *p, mode_t m, uint64_t s)
{
	return eq(p, "/etc/redhat-release");
}
static int want_dpkg_status(const char *p, mode_t m, uint64_t s)
{
	if (eq(p, "/var/lib/dpkg/status"))
		return 1;
	/* distroless: one stanza file per package, plus NAME.md5sums */
	return strncmp(p, "/var/lib/dpkg/status.d/", 23) == 0 && !strchr(p + 23, '/') && p[23] &&
	       !berth_catalog__ends(p, ".md5sums");
}
static int want_dpkg_list(const char *p, mode_t m, uint64_t s)
{
	return strncmp(p, "/var/lib/dpkg/info/", 19) == 0 && berth_catalog__ends(p, ".list");
}
static int want_apk(const char *p, mode_t m, uint64_t s)
{
	return eq(p, "/lib/apk/db/installed");
}
static int want_rpm_sqlite(const char *p, mode_t m, uint64_t s)
{
	return eq(p, "/var/lib/rpm/rpmdb.sqlite") || eq(p, "/usr/lib/sysimage/rpm/rpmdb.sqlite");
}
static int want_rpm_bdb(const char *p, mode_t m, uint64_t s)
{
	return eq(p, "/var/lib/rpm/Packages") || eq(p, "/usr/lib/sysimage/rpm/Packages");
}
static int want_rpm_ndb(const char *p, mode_t m, uint64_t s)
{
	return eq(p, "/var/lib/rpm/Packages.db") || eq(p, "/usr/lib/sysimage/rpm/Packages.db");
}
static int want_python(const char *p, mode_t m, uint64_t s)
{
	return berth_catalog__ends(p, ".dist-info/METADATA") ||
	       berth_catalog__ends(p, ".egg-info/PKG-INFO") || berth_catalog__ends(p, ".egg-info");
}
static int want_python_lock(const char *p, mode_t m, uint64_t s)
{
	const char *b = berth_catalog__base(p);

	return eq(b, "poetry.lock") || eq(b, "Pipfile.lock") || eq(b, "uv.lock") ||
	       (strncmp(b, "requirements", 12) == 0 && berth_catalog__ends(b, ".txt"));
}
static int want_npm(const char *p, mode_t m, uint64_t s)
{
	return eq(berth_catalog__base(p), "package.json");
}
static int want_npm_lock(const char *p, mode_t m, uint64_t s)
{
	const char *b = berth_catalog__base(p);

	/* node_modules/.package-lock.json repeats what node_modules holds */
	return eq(b, "package-lock.json") || eq(b, "npm-shrinkwrap.json");
}
static int want_yarn(const char *p, mode_t m, uint64_t s)
{
	return eq(berth_catalog__base(p), "yarn.lock");
}
static int want_pnpm(const char *p, mode_t m, uint64_t s)
{
	return eq(berth_catalog__base(p), "pnpm-lock.yaml");
}
static int want_elf(const char *p, mode_t m, uint64_t s)
{
	return (m & 0111) && s >= ELF_MIN;
}
static int want_go_mod(const char *p, mode_t m, uint64_t s)
{
	return eq(berth_catalog__base(p), "go.mod");
}
static int want_java(const char *p, mode_t m, uint64_t s)
{
	const char *dot = strrchr(berth_catalog__base(p), '.');

	return dot && (strcasecmp(dot, ".jar") == 0 || strcasecmp(dot, ".war") == 0 ||
		       strcasecmp(dot, ".ear") == 0 || strcasecmp(dot, ".jpi") == 0 ||
		       strcasecmp(dot, ".hpi") == 0);
}
static int want_cargo(const char *p, mode_t m, uint64_t s)
{
	return eq(berth_catalog__base(p), "Cargo.lock");
}
static int want_gemspec(const char *p, mode_t m, uint64_t s)
{
	return strstr(p, "/specifications/") && berth_catalog__ends(p, ".gemspec");
}
static int want_gemfile_lock(const char *p, mode_t m, uint64_t s)
{
	return eq(berth_catalog__base(p), "Gemfile.lock");
}
static int want_composer(const char *p, mode_t m, uint64_t s)
{
	return eq(berth_catalog__base(p), "composer.lock") ||
	       berth_catalog__ends(p, "/vendor/composer/installed.json");
}
static int want_dotnet(const char *p, mode_t m, uint64_t s)
{
	return berth_catalog__ends(p, ".deps.json");
}

/* In priority order: the first that wants a file gets it. */
static const cat_kind kinds[] = {
	{"os-release", want_os_release, berth_catalog__os_release, SMALL_MAX},
	{"debian_version", want_debian_version, berth_catalog__debian_version, SMALL_MAX},
	{"alpine-release", want_alpine_release, berth_catalog__alpine_release, SMALL_MAX},
	{"redhat-release", want_redhat_release, berth_catalog__redhat_release, SMALL_MAX},
	{"dpkg", want_dpkg_status, berth_catalog__dpkg_status, BERTH_CATALOG_FILE_MAX},
	{"dpkg-list", want_dpkg_list, berth_catalog__dpkg_list, BERTH_CATALOG_FILE_MAX},
	{"apk", want_apk, berth_catalog__apk_installed, BERTH_CATALOG_FILE_MAX},
	{"rpm", want_rpm_sqlite, berth_catalog__rpm_sqlite, BERTH_CATALOG_ARCHIVE_MAX},
	{"rpm-bdb", want_rpm_bdb, berth_catalog__rpm_bdb, BERTH_CATALOG_ARCHIVE_MAX},
	{"rpm-ndb", want_rpm_ndb, berth_catalog__rpm_ndb, BERTH_CATALOG_ARCHIVE_MAX},
	{"python-installed", want_python, berth_catalog__python_metadata, BERTH_CATALOG_FILE_MAX},
	{"python-lock", want_python_lock, berth_catalog__python_lock, BERTH_CATALOG_FILE_MAX},
	{"npm-installed", want_npm, berth_catalog__npm_package, SMALL_MAX},
	{"package-lock", want_npm_lock, berth_catalog__npm_lock, BERTH_CATALOG_FILE_MAX},
	{"yarn-lock", want_yarn, berth_catalog__yarn_lock, BERTH_CATALOG_FILE_MAX},
	{"pnpm-lock", want_pnpm, berth_catalog__pnpm_lock, BERTH_CATALOG_FILE_MAX},
	{"go-mod", want_go_mod, berth_catalog__go_mod, BERTH_CATALOG_FILE_MAX},
	{"java-archive", want_java, berth_catalog__java_archive, BERTH_CATALOG_ARCHIVE_MAX},
	{"cargo-lock", want_cargo, berth_catalog__cargo_lock, BERTH_CATALOG_FILE_MAX},
	{"gemspec", want_gemspec, berth_catalog__gemspec, SMALL_MAX},
	{"gemfile-lock", want_gemfile_lock, berth_catalog__gemfile_lock, BERTH_CATALOG_FILE_MAX},
	{"composer", want_composer, berth_catalog__composer, BERTH_CATALOG_FILE_MAX},
	{"dotnet-deps", want_dotnet, berth_catalog__dotnet_deps, BERTH_CATALOG_FILE_MAX},
	/* last: any executable, for Go build info and cargo-auditable sections */
	{"binary", want_elf, berth_catalog__elf, BERTH_CATALOG_ARCHIVE_MAX},
};

const cat_kind *berth_catalog__kind_for(const char *path, mode_t mode, uint64_t size)
{
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].want(path, mode, size))
			return &kinds[i];
	return NULL;
}

void berth_catalog__run(const cat_kind *k, cat_ctx *cx, const unsigned char *data, size_t len)
{
	/* Binaries are not "seen": an executable replaced by another one holds nothing of
	 * the old (its packages go with its path anyway, see merge.c). */
	if (!berth_catalog__strs_has(&cx->layer->seen, cx->path) &&
	    berth_catalog__strs_add(&cx->layer->seen, cx->path) < 0)
		return;
	berth_error_clear();
	if (k->parse(cx, data, len) < 0)
		berth_catalog__warn(cx, "%s", berth_error_last());
}

int berth_catalog_parse_file(berth_catalog *c, const char *path, const void *data, size_t len)
{
	const cat_kind *k = berth_catalog__kind_for(path, 0755, len);
	cat_layer *l;
	cat_ctx cx = {0};
	int rc = 0;

	if (!k)
		return 0;
	if (len > k->max) {
		berth_catalog__warn_in(c, "%s: larger than the cap of %zu bytes, skipped", path,
				       k->max);
		return 1;
	}
	l = berth_catalog__layer_new();
	if (!l)
		return 0;
	cx.layer = l;
	cx.path = path;
	cx.diff = "";
	berth_catalog__run(k, &cx, data, len);
	/* Fold what the file said into c: packages, warnings, OS facts. */
	for (size_t i = 0; i < l->found->npkgs; i++)
		if (berth_catalog__add_pkg_copy(c, &l->found->pkgs[i]) < 0)
			break;
	for (size_t i = 0; i < l->found->nwarnings; i++)
		berth_catalog__warn_in(c, "%s", l->found->warnings[i]);
	if (l->found->os_id) {
		if (berth_catalog__set(&c->os_id, l->found->os_id) < 0 ||
		    berth_catalog__set(&c->os_version_id, l->found->os_version_id) < 0 ||
		    berth_catalog__set(&c->os_name, l->found->os_name) < 0 ||
		    berth_catalog__set(&c->os_codename, l->found->os_codename) < 0)
			rc = -1;
	}
	if (l->debian_version && berth_catalog__set(&c->os_version, l->debian_version) < 0)
		rc = -1;
	/* Owned-file lists of dpkg attach to packages of that name already in c. */
	for (size_t o = 0; o < l->nowners; o++)
		for (size_t i = 0; i < c->npkgs; i++)
			if (c->pkgs[i].type == BERTH_PKG_DEB &&
			    strcmp(c->pkgs[i].name, l->owners[o].key) == 0 && !c->pkgs[i].nfiles) {
				c->pkgs[i].files = l->owners[o].files.v;
				c->pkgs[i].nfiles = l->owners[o].files.n;
				l->owners[o].files.v = NULL;
				l->owners[o].files.n = 0;
			}
	berth_catalog__layer_free(l);
	(void)rc;
	return 1;
}
