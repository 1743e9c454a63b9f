/*
 * catalog_fuzz.h - the body shared by the cataloguer fuzz targets: feed the
 * input, as the file at FUZZ_PATH, through the same dispatch a scan uses,
 * then check what came out is well formed (every package has a name, a
 * version and a PURL starting "pkg:"; at most BERTH_CATALOG_WARNINGS_MAX
 * warnings kept).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/catalog.h"

static int fuzz_catalog_one(const char *path, const uint8_t *data, size_t size)
{
	berth_catalog *c = berth_catalog_new();

	if (!c)
		return 0;
	c->os_id = strdup("debian");
	c->os_version = strdup("12");
	berth_catalog_parse_file(c, path, data, size);
	if (berth_catalog_finish(c) == 0) {
		for (size_t i = 0; i < c->npkgs; i++) {
			const berth_package *p = &c->pkgs[i];

			if (!p->name || !p->version || !p->purl || strncmp(p->purl, "pkg:", 4) != 0)
				abort();
			for (size_t f = 0; f < p->nfiles; f++)
				if (!p->files[f])
					abort();
		}
	}
	if (c->nwarnings > BERTH_CATALOG_WARNINGS_MAX)
		abort();
	berth_catalog_free(c);
	return 0;
}

#define FUZZ_CATALOG(path)                                                                         \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                               \
	{                                                                                          \
		return fuzz_catalog_one(path, data, size);                                         \
	}
