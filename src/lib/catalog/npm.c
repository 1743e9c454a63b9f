/*
 * npm.c - JavaScript packages: installed package.json files (name and
 * version required; licence from "license" or the old {"type": ...} form),
 * package-lock.json / npm-shrinkwrap.json v1 (nested "dependencies") and
 * v2/v3 ("packages" keyed by node_modules path), yarn.lock v1 and berry,
 * and pnpm-lock.yaml (v5 "/name/version", v6 "/name@version", v9
 * "name@version" keys under packages:).
 */
#include "internal.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define LOCK_DEPTH_MAX 64 /* nesting of v1 "dependencies" */

static json_t *load(const unsigned char *d, size_t n)
{
	json_error_t err;
	json_t *root = json_loadb((const char *)d, n, 0, &err);

	if (!json_is_object(root)) {
		json_decref(root);
		berth_error_set(BERTH_EINVALID, "not a JSON object: %s (line %d)", err.text,
				err.line);
		return NULL;
	}
	return root;
}

static char *license_of(json_t *pkg)
{
	json_t *l = json_object_get(pkg, "license");

	if (json_is_object(l))
		l = json_object_get(l, "type");
	if (!json_is_string(l)) {
		json_t *ls = json_object_get(pkg, "licenses");

		if (json_is_array(ls) && json_array_size(ls) == 1)
			l = json_object_get(json_array_get(ls, 0), "type");
	}
	return json_is_string(l) ? berth_catalog__license(json_string_value(l)) : NULL;
}

int berth_catalog__npm_package(cat_ctx *cx, const unsigned char *d, size_t n)
{
	json_t *root = load(d, n);
	const char *name, *version;
	berth_package *p;
	int rc = 0;

	if (!root)
		return BERTH_EINVALID;
	name = json_string_value(json_object_get(root, "name"));
	version = json_string_value(json_object_get(root, "version"));
	/* package.json files without both are project files or module-type markers */
	if (name && version && *name && *version) {
		p = berth_catalog__add(cx, BERTH_PKG_NPM, name, version, "npm-installed");
		if (!p)
			rc = berth_error_set(BERTH_ERROR, "out of memory");
		else
			p->license = license_of(root);
	}
	json_decref(root);
	return rc;
}

static int lock_v1(cat_ctx *cx, json_t *deps, int depth)
{
	const char *key;
	json_t *val;

	if (depth > LOCK_DEPTH_MAX)
		return berth_error_set(BERTH_ETOOBIG, "dependencies nested deeper than %d",
				       LOCK_DEPTH_MAX);
	json_object_foreach(deps, key, val)
	{
		const char *v = json_string_value(json_object_get(val, "version"));

		if (v && !strchr(v, ':') &&
		    !berth_catalog__add(cx, BERTH_PKG_NPM, key, v, "package-lock"))
			return berth_error_set(BERTH_ERROR, "out of memory");
		if (json_is_object(json_object_get(val, "dependencies")) &&
		    lock_v1(cx, json_object_get(val, "dependencies"), depth + 1) < 0)
			return -1;
	}
	return 0;
}

int berth_catalog__npm_lock(cat_ctx *cx, const unsigned char *d, size_t n)
{
	json_t *root = load(d, n), *pkgs, *val;
	const char *key;
	int rc = 0;

	if (!root)
		return BERTH_EINVALID;
	pkgs = json_object_get(root, "packages");
	if (json_is_object(pkgs)) {
		json_object_foreach(pkgs, key, val)
		{
			const char *nm = strstr(key, "node_modules/"), *last = nm, *v;
			const char *name;

			if (!nm || json_is_true(json_object_get(val, "link")))
				continue; /* the root project, or a workspace link */
			while ((nm = strstr(last + 13, "node_modules/")))
				last = nm;
			name = json_string_value(json_object_get(val, "name"));
			if (!name)
				name = last + 13;
			v = json_string_value(json_object_get(val, "version"));
			if (!v || !*name)
				continue;
			berth_package *p =
				berth_catalog__add(cx, BERTH_PKG_NPM, name, v, "package-lock");
			if (!p) {
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				break;
			}
			p->license = license_of(val);
		}
	} else if (json_is_object(json_object_get(root, "dependencies"))) {
		rc = lock_v1(cx, json_object_get(root, "dependencies"), 0);
	}
	json_decref(root);
	return rc;
}

/* The package name of a yarn key "name@range" / "@scope/name@npm:range" (first of a list). */
static int yarn_name(const char *key, size_t len, char *out, size_t cap)
{
	size_t i = 0, o = 0;

	if (i < len && key[i] == '"')
		i++;
	if (i < len && key[i] == '@')
		out[o++] = key[i++];
	for (; i < len && key[i] != '@' && key[i] != '"' && key[i] != ',' && o + 1 < cap; i++)
		out[o++] = key[i];
	out[o] = 0;
	return o > 0 && !(o == 1 && out[0] == '@');
}

int berth_catalog__yarn_lock(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n, *line;
	char name[512] = "";
	int have = 0;
	size_t len;

	while (berth_catalog__line(&p, end, &line, &len)) {
		if (len == 0 || line[0] == '#')
			continue;
		if (line[0] != ' ') {
			/* a new entry: skip berry's __metadata and workspace/link entries */
			have = !(len >= 10 && memcmp(line, "__metadata", 10) == 0) &&
			       !memmem(line, len, "@workspace:", 11) &&
			       !memmem(line, len, "@link:", 6) &&
			       yarn_name(line, len, name, sizeof(name));
			continue;
		}
		if (!have)
			continue;
		/* v1: `  version "1.2.3"`; berry: `  version: 1.2.3` */
		if (len > 10 && strncmp(line, "  version", 9) == 0 &&
		    (line[9] == ' ' || line[9] == ':')) {
			const char *v = line + 9;
			size_t vl;

			while (v < line + len && (*v == ' ' || *v == ':' || *v == '"'))
				v++;
			vl = (size_t)(line + len - v);
			while (vl && (v[vl - 1] == '"' || v[vl - 1] == ' '))
				vl--;
			if (!vl)
				continue;
			char *ver = strndup(v, vl);
			berth_package *pk =
				ver ? berth_catalog__add(cx, BERTH_PKG_NPM, name, ver, "yarn-lock")
				    : NULL;
			free(ver);
			if (!pk)
				return berth_error_set(BERTH_ERROR, "out of memory");
			have = 0;
		}
	}
	return 0;
}

/* A pnpm packages: key → name and version; 0 if not one. */
static int pnpm_key(const char *k, size_t len, char *name, char *ver, size_t cap)
{
	const char *at, *paren, *slash;
	size_t kl;

	if (len >= 2 && (*k == '\'' || *k == '"') && k[len - 1] == *k) {
		k++;
		len -= 2;
	}
	if (len && *k == '/')
		k++, len--;
	paren = memchr(k, '(', len); /* v6+: peer suffixes "(react@18.0.0)" */
	if (paren)
		len = (size_t)(paren - k);
	if (len < 3)
		return 0;
	at = memrchr(k + 1, '@', len - 1);
	if (at) {
		kl = (size_t)(at - k);
		if (kl >= cap || len - kl - 1 >= cap)
			return 0;
		memcpy(name, k, kl);
		name[kl] = 0;
		memcpy(ver, at + 1, len - kl - 1);
		ver[len - kl - 1] = 0;
	} else {
		/* v5: "/name/1.2.3" or "/@scope/name/1.2.3" */
		slash = memrchr(k, '/', len);
		if (!slash || slash == k)
			return 0;
		kl = (size_t)(slash - k);
		if (kl >= cap || len - kl - 1 >= cap)
			return 0;
		memcpy(name, k, kl);
		name[kl] = 0;
		memcpy(ver, slash + 1, len - kl - 1);
		ver[len - kl - 1] = 0;
	}
	return *name && *ver && isdigit((unsigned char)*ver);
}

int berth_catalog__pnpm_lock(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n, *line;
	int in_packages = 0;
	size_t len;

	while (berth_catalog__line(&p, end, &line, &len)) {
		char name[512], ver[256];

		if (len == 0)
			continue;
		if (line[0] != ' ') {
			in_packages = len == 9 && memcmp(line, "packages:", 9) == 0;
			continue;
		}
		if (!in_packages || len < 4 || line[0] != ' ' || line[1] != ' ' || line[2] == ' ' ||
		    line[len - 1] != ':')
			continue;
		if (!pnpm_key(line + 2, len - 3, name, ver, sizeof(ver)))
			continue;
		if (!berth_catalog__add(cx, BERTH_PKG_NPM, name, ver, "pnpm-lock"))
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}
