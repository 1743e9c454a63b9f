/*
 * others.c - the smaller ecosystems: Rust (Cargo.lock), Ruby (installed
 * specifications/NAME.gemspec and Gemfile.lock), PHP (composer.lock and
 * vendor/composer/installed.json), .NET (*.deps.json "libraries").
 */
#include "internal.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int berth_catalog__cargo_lock(cat_ctx *cx, const unsigned char *d, size_t n)
{
	return berth_catalog__toml_packages(cx, d, n, BERTH_PKG_CARGO, "cargo-lock");
}

/* `s.name = "rake".freeze` → rake; the quoted string after "KEY =". */
static char *gem_attr(const char *line, size_t len, const char *key)
{
	const char *q = line, *end = line + len, *open, *close;
	size_t k = strlen(key);

	while (q < end && isspace((unsigned char)*q))
		q++;
	if ((size_t)(end - q) <= k || strncmp(q, key, k) != 0)
		return NULL;
	q += k;
	while (q < end && *q == ' ')
		q++;
	if (q >= end || *q != '=')
		return NULL;
	open = memchr(q, '"', (size_t)(end - q));
	if (!open)
		open = memchr(q, '\'', (size_t)(end - q));
	if (!open)
		return NULL;
	close = memchr(open + 1, *open, (size_t)(end - open - 1));
	return close ? strndup(open + 1, (size_t)(close - open - 1)) : NULL;
}

int berth_catalog__gemspec(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n, *line;
	char *name = NULL, *version = NULL, *license = NULL;
	size_t len;
	int rc = 0;

	while (berth_catalog__line(&p, end, &line, &len)) {
		if (!name)
			name = gem_attr(line, len, "s.name");
		if (!version)
			version = gem_attr(line, len, "s.version");
		if (!license && memmem(line, len, "s.licenses", 10)) {
			const char *o = memchr(line, '"', len), *c;

			if (o && (c = memchr(o + 1, '"', (size_t)(line + len - o - 1))))
				license = strndup(o + 1, (size_t)(c - o - 1));
		}
	}
	if (!name || !version) {
		rc = berth_error_set(BERTH_EINVALID, "no s.name or s.version");
		goto done;
	}
	berth_package *pk = berth_catalog__add(cx, BERTH_PKG_GEM, name, version, "gemspec");
	if (!pk)
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	else
		pk->license = berth_catalog__license(license);
done:
	free(name);
	free(version);
	free(license);
	return rc;
}

/* Gemfile.lock: "    name (version)" lines (4 spaces) under a "  specs:" of GEM. */
int berth_catalog__gemfile_lock(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n, *line;
	int in_gem = 0, in_specs = 0;
	size_t len;

	while (berth_catalog__line(&p, end, &line, &len)) {
		if (len && line[0] != ' ') {
			in_gem = len == 3 && memcmp(line, "GEM", 3) == 0;
			in_specs = 0;
			continue;
		}
		if (in_gem && len >= 8 && memcmp(line, "  specs:", 8) == 0) {
			in_specs = 1;
			continue;
		}
		if (!in_specs || len < 5 || memcmp(line, "    ", 4) != 0 || line[4] == ' ')
			continue;
		const char *open = memchr(line, '(', len), *close;

		if (!open || !(close = memchr(open, ')', (size_t)(line + len - open))))
			continue;
		char *name = berth_catalog__trimdup(line + 4, (size_t)(open - line - 4));
		char *ver = strndup(open + 1, (size_t)(close - open - 1));
		char *dash = ver ? strchr(ver, '-') : NULL;

		if (dash && !isdigit((unsigned char)dash[1]))
			*dash = 0; /* platform suffix: "1.13.8-x86_64-linux" */
		if (!name || !ver ||
		    !berth_catalog__add(cx, BERTH_PKG_GEM, name, ver, "gemfile-lock")) {
			free(name);
			free(ver);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
		free(name);
		free(ver);
	}
	return 0;
}

static int composer_list(cat_ctx *cx, json_t *arr)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
	{
		const char *name = json_string_value(json_object_get(v, "name"));
		const char *ver = json_string_value(json_object_get(v, "version"));
		json_t *lic = json_object_get(v, "license");
		berth_package *p;

		if (!name || !ver)
			continue;
		p = berth_catalog__add(cx, BERTH_PKG_COMPOSER, name, ver, "composer");
		if (!p)
			return berth_error_set(BERTH_ERROR, "out of memory");
		if (json_is_array(lic) && json_array_size(lic) == 1)
			p->license =
				berth_catalog__license(json_string_value(json_array_get(lic, 0)));
	}
	return 0;
}

static json_t *load(const unsigned char *d, size_t n)
{
	json_error_t err;
	json_t *root = json_loadb((const char *)d, n, 0, &err);

	if (!root)
		berth_error_set(BERTH_EINVALID, "not JSON: %s (line %d)", err.text, err.line);
	return root;
}

int berth_catalog__composer(cat_ctx *cx, const unsigned char *d, size_t n)
{
	json_t *root = load(d, n);
	int rc = 0;

	if (!root)
		return BERTH_EINVALID;
	if (json_is_array(root))
		rc = composer_list(cx, root); /* installed.json of Composer 1 */
	else if (composer_list(cx, json_object_get(root, "packages")) < 0 ||
		 composer_list(cx, json_object_get(root, "packages-dev")) < 0)
		rc = -1;
	json_decref(root);
	return rc;
}

int berth_catalog__dotnet_deps(cat_ctx *cx, const unsigned char *d, size_t n)
{
	json_t *root = load(d, n), *libs, *v;
	const char *key;
	int rc = 0;

	if (!root)
		return BERTH_EINVALID;
	libs = json_object_get(root, "libraries");
	json_object_foreach(libs, key, v)
	{
		const char *type = json_string_value(json_object_get(v, "type"));
		const char *slash = strchr(key, '/');
		char *name;

		if (!slash || !type || strcmp(type, "package") != 0)
			continue;
		name = strndup(key, (size_t)(slash - key));
		if (!name ||
		    !berth_catalog__add(cx, BERTH_PKG_NUGET, name, slash + 1, "dotnet-deps")) {
			free(name);
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			break;
		}
		free(name);
	}
	json_decref(root);
	return rc;
}
