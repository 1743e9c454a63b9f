/*
 * toml.c - just enough TOML for lock files: the name and version keys of
 * every [[package]] table (poetry.lock, uv.lock, Cargo.lock). Values are
 * basic strings on one line; other keys and tables are skipped.
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* `key = "value"` on one line → 1 and the value (escapes kept verbatim). */
static int kv(const char *line, size_t len, const char *key, const char **v, size_t *vlen)
{
	size_t k = strlen(key), i;
	const char *q, *close;

	if (len <= k || strncmp(line, key, k) != 0)
		return 0;
	for (i = k; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i >= len || line[i] != '=')
		return 0;
	for (i++; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i >= len || line[i] != '"')
		return 0;
	q = line + i + 1;
	close = memchr(q, '"', len - i - 1);
	if (!close)
		return 0;
	*v = q;
	*vlen = (size_t)(close - q);
	return 1;
}

static int emit(cat_ctx *cx, char **name, char **version, berth_pkg_type t, const char *cat)
{
	int rc = 0;

	if (*name && *version && !berth_catalog__add(cx, t, *name, *version, cat))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	free(*name);
	free(*version);
	*name = *version = NULL;
	return rc;
}

int berth_catalog__toml_packages(cat_ctx *cx, const unsigned char *d, size_t n, berth_pkg_type t,
				 const char *cataloguer)
{
	const char *p = (const char *)d, *end = p + n, *line, *v;
	char *name = NULL, *version = NULL;
	size_t len, vlen;
	int in_pkg = 0, rc = 0;

	while (berth_catalog__line(&p, end, &line, &len)) {
		while (len && isspace((unsigned char)*line))
			line++, len--;
		if (len && line[0] == '[') {
			if ((rc = emit(cx, &name, &version, t, cataloguer)) < 0)
				return rc;
			in_pkg = len == 11 && memcmp(line, "[[package]]", 11) == 0;
			continue;
		}
		if (!in_pkg)
			continue;
		if (!name && kv(line, len, "name", &v, &vlen) && !(name = strndup(v, vlen)))
			return berth_error_set(BERTH_ERROR, "out of memory");
		if (!version && kv(line, len, "version", &v, &vlen) &&
		    !(version = strndup(v, vlen))) {
			free(name);
			return berth_error_set(BERTH_ERROR, "out of memory");
		}
	}
	return emit(cx, &name, &version, t, cataloguer);
}
