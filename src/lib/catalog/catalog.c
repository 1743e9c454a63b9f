/*
 * catalog.c - the catalogue as a data structure: packages, warnings, string
 * lists, the findings of one layer, sorting, and the text helpers the
 * parsers share. Parsing lives in one file per ecosystem; reading images in
 * scan.c and walk.c; folding layers together in merge.c.
 */
#include "internal.h"

#include "util/array.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[BERTH_PKG__COUNT] = {
	"deb", "apk", "rpm", "pypi", "npm", "golang", "maven", "cargo", "gem", "composer", "nuget"};

const char *berth_pkg_type_name(berth_pkg_type t)
{
	return t >= 0 && t < BERTH_PKG__COUNT ? type_names[t] : "generic";
}

int berth_pkg_type_is_os(berth_pkg_type t)
{
	return t == BERTH_PKG_DEB || t == BERTH_PKG_APK || t == BERTH_PKG_RPM;
}

int berth_catalog__strs_addn(cat_strs *s, const char *str, size_t len)
{
	char **v = berth_array_room(s->v, s->n, &s->cap, sizeof(*s->v));
	char *c;

	if (!v)
		return berth_error_set(BERTH_ERROR, "out of memory");
	s->v = v;
	c = strndup(str, len);
	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	s->v[s->n++] = c;
	return 0;
}

int berth_catalog__strs_add(cat_strs *s, const char *str)
{
	return berth_catalog__strs_addn(s, str, strlen(str));
}

void berth_catalog__strs_dispose(cat_strs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

int berth_catalog__strs_has(const cat_strs *s, const char *str)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i], str) == 0)
			return 1;
	return 0;
}

berth_catalog *berth_catalog_new(void)
{
	return calloc(1, sizeof(berth_catalog));
}

void berth_catalog__package_dispose(berth_package *p)
{
	free(p->name);
	free(p->group);
	free(p->version);
	free(p->arch);
	free(p->source_name);
	free(p->source_version);
	free(p->license);
	free(p->purl);
	free(p->layer);
	free(p->path);
	free(p->cataloguer);
	for (size_t i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	memset(p, 0, sizeof(*p));
}

void berth_catalog_free(berth_catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->npkgs; i++)
		berth_catalog__package_dispose(&c->pkgs[i]);
	free(c->pkgs);
	for (size_t i = 0; i < c->nwarnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	for (size_t i = 0; i < c->nlayers; i++)
		free(c->layers[i]);
	free(c->layers);
	free(c->os_id);
	free(c->os_version_id);
	free(c->os_version);
	free(c->os_name);
	free(c->os_codename);
	free(c->target);
	free(c->digest);
	free(c->architecture);
	free(c->base_name);
	free(c->base_digest);
	free(c);
}

int berth_catalog__set(char **field, const char *v)
{
	char *c = NULL;

	if (v && !(c = strdup(v)))
		return -1;
	free(*field);
	*field = c;
	return 0;
}

int berth_catalog__setn(char **field, const char *v, size_t n)
{
	char *c = strndup(v, n);

	if (!c)
		return -1;
	free(*field);
	*field = c;
	return 0;
}

static berth_package *room(berth_catalog *c)
{
	berth_package *p;

	if (c->npkgs >= BERTH_CATALOG_PACKAGES_MAX)
		return NULL;
	p = berth_array_room(c->pkgs, c->npkgs, &c->cap, sizeof(*p));
	if (!p)
		return NULL;
	c->pkgs = p;
	p = &c->pkgs[c->npkgs];
	memset(p, 0, sizeof(*p));
	return p;
}

berth_package *berth_catalog__add(cat_ctx *cx, berth_pkg_type type, const char *name,
				  const char *version, const char *cataloguer)
{
	berth_catalog *c = cx->layer->found;
	berth_package *p = room(c);

	if (!p) {
		berth_catalog__warn(cx, "too many packages (cap %u)", BERTH_CATALOG_PACKAGES_MAX);
		return NULL;
	}
	p->type = type;
	p->name = strdup(name);
	p->version = strdup(version ? version : "");
	p->layer = strdup(cx->diff ? cx->diff : "");
	p->path = strdup(cx->outer ? cx->outer : cx->path);
	p->cataloguer = strdup(cataloguer);
	if (!p->name || !p->version || !p->layer || !p->path || !p->cataloguer) {
		berth_catalog__package_dispose(p);
		return NULL;
	}
	c->npkgs++;
	return p;
}

static int dup_field(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

int berth_catalog__add_pkg_copy(berth_catalog *c, const berth_package *s)
{
	berth_package *p = room(c);

	if (!p)
		return berth_error_set(BERTH_ETOOBIG, "too many packages");
	p->type = s->type;
	p->epoch = s->epoch;
	if (dup_field(&p->name, s->name) || dup_field(&p->group, s->group) ||
	    dup_field(&p->version, s->version) || dup_field(&p->arch, s->arch) ||
	    dup_field(&p->source_name, s->source_name) ||
	    dup_field(&p->source_version, s->source_version) ||
	    dup_field(&p->license, s->license) || dup_field(&p->purl, s->purl) ||
	    dup_field(&p->layer, s->layer) || dup_field(&p->path, s->path) ||
	    dup_field(&p->cataloguer, s->cataloguer))
		goto oom;
	if (s->nfiles) {
		p->files = calloc(s->nfiles, sizeof(char *));
		if (!p->files)
			goto oom;
		for (size_t i = 0; i < s->nfiles; i++) {
			if (!(p->files[i] = strdup(s->files[i])))
				goto oom;
			p->nfiles = i + 1;
		}
	}
	c->npkgs++;
	return 0;
oom:
	berth_catalog__package_dispose(p);
	return berth_error_set(BERTH_ERROR, "out of memory");
}

int berth_catalog_add(berth_catalog *c, const berth_package *p)
{
	return berth_catalog__add_pkg_copy(c, p);
}

void berth_catalog__warn_in(berth_catalog *c, const char *fmt, ...)
{
	char *msg = NULL, **w;
	va_list ap;

	if (c->nwarnings >= BERTH_CATALOG_WARNINGS_MAX) {
		c->warnings_dropped++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (!msg)
		return;
	w = berth_array_room(c->warnings, c->nwarnings, &c->wcap, sizeof(*w));
	if (!w) {
		free(msg);
		return;
	}
	c->warnings = w;
	c->warnings[c->nwarnings++] = msg;
}

void berth_catalog__warn(cat_ctx *cx, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (cx->diff && *cx->diff)
		berth_catalog__warn_in(cx->layer->found, "%s (layer %.19s): %s",
				       cx->outer ? cx->outer : cx->path, cx->diff, buf);
	else
		berth_catalog__warn_in(cx->layer->found, "%s: %s", cx->outer ? cx->outer : cx->path,
				       buf);
}

cat_layer *berth_catalog__layer_new(void)
{
	cat_layer *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->found = berth_catalog_new();
	l->os_rank = 1000;
	if (!l->found) {
		free(l);
		return NULL;
	}
	return l;
}

void berth_catalog__layer_free(cat_layer *l)
{
	if (!l)
		return;
	berth_catalog_free(l->found);
	berth_catalog__strs_dispose(&l->seen);
	berth_catalog__strs_dispose(&l->whiteouts);
	berth_catalog__strs_dispose(&l->opaque);
	for (size_t i = 0; i < l->nowners; i++) {
		free(l->owners[i].path);
		free(l->owners[i].key);
		berth_catalog__strs_dispose(&l->owners[i].files);
	}
	free(l->owners);
	free(l->os_path);
	free(l->debian_version);
	free(l);
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_pkg(const void *x, const void *y)
{
	const berth_package *a = x, *b = y;
	int r;

	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if ((r = cmp_str(a->group, b->group)) || (r = cmp_str(a->name, b->name)) ||
	    (r = cmp_str(a->version, b->version)) || (r = cmp_str(a->arch, b->arch)) ||
	    (r = cmp_str(a->path, b->path)))
		return r;
	return cmp_str(a->layer, b->layer);
}

void berth_catalog_sort(berth_catalog *c)
{
	if (c->npkgs > 1)
		qsort(c->pkgs, c->npkgs, sizeof(*c->pkgs), cmp_pkg);
}

int berth_catalog_finish(berth_catalog *c)
{
	for (size_t i = 0; i < c->npkgs; i++)
		if (berth_catalog__purl(&c->pkgs[i], c) < 0)
			return berth_error_set(BERTH_ERROR, "out of memory");
	berth_catalog_sort(c);
	return 0;
}

/* ---- text helpers ---- */

int berth_catalog__line(const char **p, const char *end, const char **line, size_t *len)
{
	const char *s = *p, *nl;

	if (s >= end)
		return 0;
	nl = memchr(s, '\n', (size_t)(end - s));
	*line = s;
	*len = (size_t)((nl ? nl : end) - s);
	*p = nl ? nl + 1 : end;
	if (*len && s[*len - 1] == '\r')
		(*len)--;
	return 1;
}

char *berth_catalog__trimdup(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

int berth_catalog__ends(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

const char *berth_catalog__base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/*
 * Licence names as packages write them → SPDX identifiers. Only exact,
 * well-known aliases; anything else is kept as written (an SBOM then calls it
 * a name, not an expression).
 */
static const char *const license_alias[][2] = {
	{"MIT License", "MIT"},
	{"Apache 2.0", "Apache-2.0"},
	{"Apache-2", "Apache-2.0"},
	{"Apache 2", "Apache-2.0"},
	{"Apache License 2.0", "Apache-2.0"},
	{"Apache License, Version 2.0", "Apache-2.0"},
	{"Apache Software License", "Apache-2.0"},
	{"The Apache Software License, Version 2.0", "Apache-2.0"},
	{"BSD", "BSD-3-Clause"},
	{"BSD License", "BSD-3-Clause"},
	{"new BSD License", "BSD-3-Clause"},
	{"GPLv2", "GPL-2.0-only"},
	{"GPLv2+", "GPL-2.0-or-later"},
	{"GPLv3", "GPL-3.0-only"},
	{"GPLv3+", "GPL-3.0-or-later"},
	{"LGPLv2+", "LGPL-2.0-or-later"},
	{"LGPLv2.1+", "LGPL-2.1-or-later"},
	{"LGPLv3+", "LGPL-3.0-or-later"},
	{"ISC License", "ISC"},
	{"PSF", "PSF-2.0"},
	{"MPL 2.0", "MPL-2.0"},
	{"Mozilla Public License 2.0 (MPL 2.0)", "MPL-2.0"},
};

char *berth_catalog__license(const char *s)
{
	if (!s)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	if (!*s || strcasecmp(s, "UNKNOWN") == 0 || strcmp(s, "NOASSERTION") == 0)
		return NULL;
	for (size_t i = 0; i < sizeof(license_alias) / sizeof(license_alias[0]); i++)
		if (strcasecmp(s, license_alias[i][0]) == 0)
			return strdup(license_alias[i][1]);
	return strdup(s);
}
