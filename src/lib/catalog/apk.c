/*
 * apk.c - Alpine packages: /lib/apk/db/installed, records of "X:value"
 * lines separated by blank lines (P name, V version, A arch, o origin,
 * L licence, F directory, R file in the last F directory).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct rec {
	char *name, *version, *arch, *origin, *license;
	cat_strs files;
	char *dir;
} rec;

static void rec_dispose(rec *r)
{
	free(r->name);
	free(r->version);
	free(r->arch);
	free(r->origin);
	free(r->license);
	free(r->dir);
	berth_catalog__strs_dispose(&r->files);
	memset(r, 0, sizeof(*r));
}

static int emit(cat_ctx *cx, rec *r)
{
	berth_package *p;

	if (!r->name)
		return 0;
	if (!r->version) {
		berth_catalog__warn(cx, "package %.100s has no V: line", r->name);
		return 0;
	}
	p = berth_catalog__add(cx, BERTH_PKG_APK, r->name, r->version, "apk");
	if (!p)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (berth_catalog__set(&p->arch, r->arch) < 0 ||
	    berth_catalog__set(&p->source_name, r->origin ? r->origin : r->name) < 0 ||
	    berth_catalog__set(&p->source_version, r->version) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	p->license = berth_catalog__license(r->license);
	p->files = r->files.v;
	p->nfiles = r->files.n;
	r->files.v = NULL; /* now owned by p */
	r->files.n = r->files.cap = 0;
	return 0;
}

int berth_catalog__apk_installed(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n, *line;
	rec r = {0};
	size_t len;
	int rc = 0;

	while (berth_catalog__line(&p, end, &line, &len)) {
		char **slot = NULL, *v;

		if (len == 0) {
			if ((rc = emit(cx, &r)) < 0)
				goto done;
			rec_dispose(&r);
			continue;
		}
		if (len < 2 || line[1] != ':')
			continue;
		switch (line[0]) {
		case 'P': slot = &r.name; break;
		case 'V': slot = &r.version; break;
		case 'A': slot = &r.arch; break;
		case 'o': slot = &r.origin; break;
		case 'L': slot = &r.license; break;
		case 'F': slot = &r.dir; break;
		case 'R':
			if (len - 2 + (r.dir ? strlen(r.dir) : 0) + 2 > BERTH_CATALOG_PATH_MAX)
				continue;
			{
				char buf[BERTH_CATALOG_PATH_MAX + 8];

				snprintf(buf, sizeof(buf), "/%s%s%.*s", r.dir ? r.dir : "",
					 r.dir && *r.dir ? "/" : "", (int)(len - 2), line + 2);
				if (berth_catalog__strs_add(&r.files, buf) < 0) {
					rc = -1;
					goto done;
				}
			}
			continue;
		default: continue;
		}
		v = strndup(line + 2, len - 2);
		if (!v) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		free(*slot);
		*slot = v;
	}
	rc = emit(cx, &r);
done:
	rec_dispose(&r);
	return rc;
}
