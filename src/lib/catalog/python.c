/*
 * python.c - Python packages: installed ones from *.dist-info/METADATA and
 * *.egg-info (a PKG-INFO file in a directory, or the file itself), both
 * RFC 822 headers up to the first blank line; and pinned ones from lock
 * files: poetry.lock and uv.lock ([[package]] tables, see toml.c),
 * Pipfile.lock (JSON) and requirements*.txt ("name==version" lines).
 */
#include "internal.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_MAX (1024 * 1024) /* METADATA headers read before the body */

static int header_is(const char *line, size_t len, const char *key, const char **val, size_t *vlen)
{
	size_t k = strlen(key);

	if (len <= k || line[k] != ':' || strncasecmp(line, key, k) != 0)
		return 0;
	*val = line + k + 1;
	*vlen = len - k - 1;
	return 1;
}

int berth_catalog__python_metadata(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + (n < HEADER_MAX ? n : HEADER_MAX), *line, *v;
	char *name = NULL, *version = NULL, *license = NULL, *expr = NULL, **slot;
	berth_package *pkg;
	size_t len, vlen;
	int rc = 0;

	while (berth_catalog__line(&p, end, &line, &len)) {
		if (len == 0)
			break; /* the description body follows */
		slot = NULL;
		if (header_is(line, len, "Name", &v, &vlen))
			slot = &name;
		else if (header_is(line, len, "Version", &v, &vlen))
			slot = &version;
		else if (header_is(line, len, "License-Expression", &v, &vlen))
			slot = &expr;
		else if (header_is(line, len, "License", &v, &vlen))
			slot = &license;
		if (slot && !*slot && !(*slot = berth_catalog__trimdup(v, vlen))) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
	}
	if (!name || !version || !*name || !*version) {
		rc = berth_error_set(BERTH_EINVALID, "no Name or Version header");
		goto done;
	}
	pkg = berth_catalog__add(cx, BERTH_PKG_PYPI, name, version, "python-installed");
	if (!pkg) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	pkg->license = berth_catalog__license(expr ? expr : license);
done:
	free(name);
	free(version);
	free(license);
	free(expr);
	return rc;
}

static int pipfile(cat_ctx *cx, const unsigned char *d, size_t n)
{
	json_error_t err;
	json_t *root = json_loadb((const char *)d, n, JSON_REJECT_DUPLICATES, &err);
	static const char *const groups[] = {"default", "develop"};
	int rc = 0;

	if (!json_is_object(root)) {
		json_decref(root);
		return berth_error_set(BERTH_EINVALID, "not JSON: %s (line %d)", err.text,
				       err.line);
	}
	for (size_t g = 0; g < 2; g++) {
		json_t *deps = json_object_get(root, groups[g]), *val;
		const char *key;

		json_object_foreach(deps, key, val)
		{
			const char *v = json_string_value(json_object_get(val, "version"));

			if (!v || strncmp(v, "==", 2) != 0)
				continue;
			if (!berth_catalog__add(cx, BERTH_PKG_PYPI, key, v + 2, "pipfile-lock")) {
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				goto done;
			}
		}
	}
done:
	json_decref(root);
	return rc;
}

/* "name[extra]==1.2 ; marker  # comment" → name, version. */
static int requirements(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n, *line;
	size_t len;

	while (berth_catalog__line(&p, end, &line, &len)) {
		const char *eq = NULL, *q = line, *lend = line + len;
		char name[256], ver[256];
		size_t nl = 0, vl = 0;

		while (q < lend && isspace((unsigned char)*q))
			q++;
		if (q == lend || *q == '#' || *q == '-')
			continue;
		for (const char *s = q; s + 1 < lend; s++)
			if (s[0] == '=' && s[1] == '=' && (s + 2 >= lend || s[2] != '=')) {
				eq = s;
				break;
			}
		if (!eq)
			continue;
		for (const char *s = q; s < eq && nl < sizeof(name) - 1; s++) {
			if (*s == '[' || isspace((unsigned char)*s))
				break;
			name[nl++] = *s;
		}
		for (const char *s = eq + 2; s < lend && vl < sizeof(ver) - 1; s++) {
			if (*s == ';' || *s == '#' || *s == ',' || isspace((unsigned char)*s)) {
				if (vl)
					break;
				continue;
			}
			ver[vl++] = *s;
		}
		name[nl] = ver[vl] = 0;
		if (!nl || !vl)
			continue;
		if (!berth_catalog__add(cx, BERTH_PKG_PYPI, name, ver, "requirements"))
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

int berth_catalog__python_lock(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *b = berth_catalog__base(cx->path);

	if (strcmp(b, "poetry.lock") == 0)
		return berth_catalog__toml_packages(cx, d, n, BERTH_PKG_PYPI, "poetry-lock");
	if (strcmp(b, "uv.lock") == 0)
		return berth_catalog__toml_packages(cx, d, n, BERTH_PKG_PYPI, "uv-lock");
	if (strcmp(b, "Pipfile.lock") == 0)
		return pipfile(cx, d, n);
	return requirements(cx, d, n);
}
