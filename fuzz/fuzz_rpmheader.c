/*
 * fuzz_rpmheader.c - libFuzzer target: RPM header blobs as rpmdb stores
 * them (src/lib/catalog/rpm.c), parsed directly (an rpmdb.sqlite around
 * fuzzed bytes would mostly fuzz SQLite).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/catalog/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cat_layer *l = berth_catalog__layer_new();
	cat_ctx cx = {0};

	if (!l)
		return 0;
	cx.layer = l;
	cx.path = "/var/lib/rpm/rpmdb.sqlite";
	cx.diff = "";
	(void)berth_catalog__rpm_header(&cx, data, size);
	for (size_t i = 0; i < l->found->npkgs; i++)
		if (!l->found->pkgs[i].name || !l->found->pkgs[i].version)
			abort();
	berth_catalog__layer_free(l);
	return 0;
}
