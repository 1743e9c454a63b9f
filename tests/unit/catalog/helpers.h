/*
 * helpers.h - what the catalog unit tests share: parse one file's bytes
 * through berth_catalog_parse_file (the same dispatch a scan uses) and find
 * packages in the result.
 */
#ifndef BERTH_TEST_CATALOG_HELPERS_H
#define BERTH_TEST_CATALOG_HELPERS_H

#include "berth/catalog.h"

#include <string.h>

/* A catalogue of one file (PURLs computed, sorted); os_id/version preset if given. */
static inline berth_catalog *parse_as(const char *path, const void *data, size_t len,
				      const char *os_id, const char *os_version)
{
	berth_catalog *c = berth_catalog_new();

	if (!c)
		return NULL;
	if (os_id)
		c->os_id = strdup(os_id);
	if (os_version)
		c->os_version = strdup(os_version);
	berth_catalog_parse_file(c, path, data, len);
	if (berth_catalog_finish(c) < 0) {
		berth_catalog_free(c);
		return NULL;
	}
	return c;
}

static inline berth_catalog *parse1(const char *path, const char *text)
{
	return parse_as(path, text, strlen(text), NULL, NULL);
}

static inline const berth_package *find(const berth_catalog *c, const char *name)
{
	for (size_t i = 0; i < c->npkgs; i++)
		if (strcmp(c->pkgs[i].name, name) == 0)
			return &c->pkgs[i];
	return NULL;
}

static inline int has_warning(const berth_catalog *c, const char *needle)
{
	for (size_t i = 0; i < c->nwarnings; i++)
		if (strstr(c->warnings[i], needle))
			return 1;
	return 0;
}

#endif
