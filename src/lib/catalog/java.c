/*
 * java.c - Java archives (jar, war, ear, and Jenkins' jpi/hpi), read from
 * memory with libarchive's zip reader: every META-INF/maven/G/A/pom.properties
 * gives a package (groupId, artifactId, version); an archive without one
 * falls back to its MANIFEST.MF (Implementation-Title/-Version, or
 * Bundle-SymbolicName/-Version) and its file name. Archives inside archives
 * (WEB-INF/lib, BOOT-INF/lib, lib/) are read the same way, up to
 * BERTH_CATALOG_NEST_MAX deep; their path is shown as "outer.jar:inner.jar".
 */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENTRY_MAX (4 * 1024 * 1024) /* one pom.properties or MANIFEST.MF */
#define ZIP_ENTRIES_MAX 200000

static int read_entry(struct archive *a, struct archive_entry *e, size_t max, unsigned char **out,
		      size_t *len)
{
	int64_t sz = archive_entry_size(e);
	unsigned char *buf;
	la_ssize_t got;
	size_t have = 0, cap;

	if (archive_entry_size_is_set(e) && (sz < 0 || (uint64_t)sz > max))
		return berth_error_set(BERTH_ETOOBIG, "%s: larger than %zu bytes",
				       archive_entry_pathname(e), max);
	cap = archive_entry_size_is_set(e) ? (size_t)sz + 1 : 65536;
	buf = malloc(cap);
	if (!buf)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (;;) {
		if (have == cap) {
			unsigned char *nb;

			if (cap >= max) {
				free(buf);
				return berth_error_set(BERTH_ETOOBIG, "%s: larger than %zu bytes",
						       archive_entry_pathname(e), max);
			}
			cap = cap * 2 > max ? max : cap * 2;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return berth_error_set(BERTH_ERROR, "out of memory");
			}
			buf = nb;
		}
		got = archive_read_data(a, buf + have, cap - have);
		if (got < 0) {
			free(buf);
			return berth_error_set(BERTH_EINVALID, "%s: %s", archive_entry_pathname(e),
					       archive_error_string(a));
		}
		if (got == 0)
			break;
		have += (size_t)got;
	}
	*out = buf;
	*len = have;
	return 0;
}

/* "key=value" of a properties file (first match; borrowed into *v). */
static char *prop(const unsigned char *d, size_t n, const char *key, char sep)
{
	const char *p = (const char *)d, *end = p + n, *line;
	size_t len, k = strlen(key);

	while (berth_catalog__line(&p, end, &line, &len)) {
		if (len > k && strncmp(line, key, k) == 0 && (line[k] == sep || line[k] == ' ')) {
			const char *v = memchr(line, sep, len);

			if (v)
				return berth_catalog__trimdup(v + 1, len - (size_t)(v + 1 - line));
		}
	}
	return NULL;
}

typedef struct jar {
	cat_ctx *cx;
	int poms;
	unsigned char *manifest;
	size_t mlen;
} jar;

static int pom_properties(jar *j, const unsigned char *d, size_t n)
{
	char *g = prop(d, n, "groupId", '='), *a = prop(d, n, "artifactId", '='),
	     *v = prop(d, n, "version", '=');
	berth_package *p;
	int rc = 0;

	if (g && a && v && *a && *v) {
		p = berth_catalog__add(j->cx, BERTH_PKG_MAVEN, a, v, "java-archive");
		if (!p || berth_catalog__set(&p->group, g) < 0)
			rc = berth_error_set(BERTH_ERROR, "out of memory");
		j->poms++;
	}
	free(g);
	free(a);
	free(v);
	return rc;
}

/*
 * "name-1.2.jar" into name "name" and version "1.2" (both allocated): 1,
 * or 0 when the file name carries no version, or a negative code.
 */
static int from_file_name(const char *base, char **name, char **ver)
{
	const char *dash = NULL, *dot = strrchr(base, '.');

	for (const char *s = base; dot && s < dot; s++)
		if (s[0] == '-' && s[1] >= '0' && s[1] <= '9') {
			dash = s;
			break;
		}
	if (!dash)
		return 0;
	*name = strndup(base, (size_t)(dash - base));
	*ver = strndup(dash + 1, (size_t)(dot - dash - 1));
	if (!*name || !*ver)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 1;
}

/*
 * No pom.properties: the manifest's title/version, else the file name
 * "name-1.2.jar". A title with white space ("Java Runtime Environment") is
 * a product name, not an artifact ID: the file name names the archive then
 * ("jrt-fs", with the manifest's version when the name carries none).
 */
static int from_manifest(jar *j)
{
	char *title = NULL, *ver = NULL, *group = NULL, *fname = NULL, *fver = NULL;
	const char *base = berth_catalog__base(j->cx->path), *dot = strrchr(base, '.');
	berth_package *p;
	int rc = 0, named;

	if (j->manifest) {
		title = prop(j->manifest, j->mlen, "Implementation-Title", ':');
		ver = prop(j->manifest, j->mlen, "Implementation-Version", ':');
		group = prop(j->manifest, j->mlen, "Implementation-Vendor-Id", ':');
		if (!title || !ver) {
			free(title);
			free(ver);
			title = prop(j->manifest, j->mlen, "Bundle-SymbolicName", ':');
			ver = prop(j->manifest, j->mlen, "Bundle-Version", ':');
			if (title)
				title[strcspn(title, ";")] = 0;
		}
	}
	if ((named = from_file_name(base, &fname, &fver)) < 0) {
		rc = named;
		goto done;
	}
	if (title && title[strcspn(title, " \t")]) {
		free(title);
		title = NULL;
		if (named) {
			title = fname, fname = NULL;
			free(ver);
			ver = fver, fver = NULL;
		} else if (dot && dot > base && !(title = strndup(base, (size_t)(dot - base)))) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
	}
	if (!title || !ver || !*title || !*ver) {
		if (!named)
			goto done;
		free(title);
		free(ver);
		title = fname, ver = fver;
		fname = fver = NULL;
	}
	p = berth_catalog__add(j->cx, BERTH_PKG_MAVEN, title, ver, "java-archive");
	if (!p || (group && berth_catalog__set(&p->group, group) < 0))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
done:
	free(title);
	free(ver);
	free(group);
	free(fname);
	free(fver);
	return rc;
}

static int is_archive_name(const char *n)
{
	return berth_catalog__ends(n, ".jar") || berth_catalog__ends(n, ".war") ||
	       berth_catalog__ends(n, ".ear");
}

static int nested(jar *j, const char *name, const unsigned char *d, size_t n)
{
	cat_ctx sub = *j->cx;
	char *shown = NULL;
	int rc;

	if (j->cx->depth + 1 > BERTH_CATALOG_NEST_MAX) {
		berth_catalog__warn(j->cx, "%s: archives nested deeper than %d", name,
				    BERTH_CATALOG_NEST_MAX);
		return 0;
	}
	if (asprintf(&shown, "%s:%s", j->cx->outer ? j->cx->outer : j->cx->path, name) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	sub.depth++;
	sub.outer = shown;
	sub.path = name;
	rc = berth_catalog__java_archive(&sub, d, n);
	if (rc < 0)
		berth_catalog__warn(&sub, "%s", berth_error_last());
	free(shown);
	return 0;
}

int berth_catalog__java_archive(cat_ctx *cx, const unsigned char *d, size_t n)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	jar j = {cx, 0, NULL, 0};
	int rc = 0, r;
	size_t count = 0;

	if (!a)
		return berth_error_set(BERTH_ERROR, "out of memory");
	archive_read_support_format_zip(a);
	if (archive_read_open_memory(a, d, n) != ARCHIVE_OK) {
		rc = berth_error_set(BERTH_EINVALID, "not a zip archive: %s",
				     archive_error_string(a));
		goto done;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		unsigned char *buf = NULL;
		size_t len = 0;
		int want_pom, want_mf, want_nest;

		if (++count > ZIP_ENTRIES_MAX) {
			rc = berth_error_set(BERTH_ETOOBIG, "more than %d entries",
					     ZIP_ENTRIES_MAX);
			goto done;
		}
		if (!name)
			continue;
		want_pom = strncmp(name, "META-INF/maven/", 15) == 0 &&
			   berth_catalog__ends(name, "/pom.properties");
		want_mf = strcmp(name, "META-INF/MANIFEST.MF") == 0 && !j.manifest;
		want_nest = is_archive_name(name);
		if (!want_pom && !want_mf && !want_nest)
			continue;
		if (read_entry(a, e, want_nest ? BERTH_CATALOG_ARCHIVE_MAX : ENTRY_MAX, &buf,
			       &len) < 0) {
			berth_catalog__warn(cx, "%s", berth_error_last());
			continue;
		}
		if (want_pom)
			rc = pom_properties(&j, buf, len);
		else if (want_mf) {
			j.manifest = buf;
			j.mlen = len;
			buf = NULL;
		} else
			rc = nested(&j, name, buf, len);
		free(buf);
		if (rc < 0)
			goto done;
	}
	if (r != ARCHIVE_EOF)
		berth_catalog__warn(cx, "zip: %s", archive_error_string(a));
	if (!j.poms)
		rc = from_manifest(&j);
done:
	free(j.manifest);
	archive_read_free(a);
	return rc;
}
