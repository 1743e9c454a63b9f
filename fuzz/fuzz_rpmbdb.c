/*
 * fuzz_rpmbdb.c - libFuzzer target: rpm BerkeleyDB hash databases
 * ("Packages", src/lib/catalog/rpmbdb.c): pages, items, overflow chains,
 * each header then parsed by rpm.c.
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
	cx.path = "/var/lib/rpm/Packages";
	cx.diff = "";
	(void)berth_catalog__rpm_bdb(&cx, data, size);
	for (size_t i = 0; i < l->found->npkgs; i++)
		if (!l->found->pkgs[i].name || !l->found->pkgs[i].version)
			abort();
	berth_catalog__layer_free(l);
	return 0;
}
