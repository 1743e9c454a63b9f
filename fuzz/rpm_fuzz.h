/*
 * rpm_fuzz.h - the body shared by the rpm database fuzz targets: feed the
 * input to one reader of src/lib/catalog (a header blob, a BerkeleyDB
 * "Packages", an ndb "Packages.db") as the file at `path`, then check that
 * every package found has a name and a version.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/catalog/internal.h"

typedef int (*rpm_fuzz_reader)(cat_ctx *cx, const unsigned char *d, size_t n);

static int fuzz_rpm_one(rpm_fuzz_reader read, const char *path, const uint8_t *data, size_t size)
{
	cat_layer *l = berth_catalog__layer_new();
	cat_ctx cx = {0};

	if (!l)
		return 0;
	cx.layer = l;
	cx.path = path;
	cx.diff = "";
	(void)read(&cx, data, size);
	for (size_t i = 0; i < l->found->npkgs; i++)
		if (!l->found->pkgs[i].name || !l->found->pkgs[i].version)
			abort();
	berth_catalog__layer_free(l);
	return 0;
}

#define FUZZ_RPM(reader, path)                                                                     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                               \
	{                                                                                          \
		return fuzz_rpm_one(reader, path, data, size);                                     \
	}
