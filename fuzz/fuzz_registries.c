/*
 * fuzz_registries.c - libFuzzer target for containers-registries.conf(5)
 * (src/lib/registries/conf.c). Every input that parses resolves a few
 * references without error other than a blocked registry, and each
 * endpoint is a non-empty string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/registries.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const refs[] = {"docker.io/library/alpine:3", "a/b@sha256:00",
					   "registry.company.com/base/node:20", "x.y.z/p"};
	berth_registries *r = NULL;

	if (berth_registries_parse(&r, (const char *)data, size, "fuzz") != 0)
		return 0;
	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		berth_registry_endpoint *e = NULL;
		size_t n = 0;
		int rc = berth_registries_resolve(r, refs[i], &e, &n);

		if (rc != 0 && rc != BERTH_EDENIED)
			abort();
		for (size_t k = 0; k < n; k++)
			if (!e[k].ref || !e[k].ref[0])
				abort();
		berth_registries_endpoints_free(e, n);
	}
	berth_registries_free(r);
	return 0;
}
