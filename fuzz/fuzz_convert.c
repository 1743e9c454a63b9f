/*
 * fuzz_convert.c - libFuzzer target for copy conversions
 * (berth_manifest_rewrite, berth_oci_config_from_docker, src/lib/oci/convert.c).
 *
 * The first byte picks the mode: 0 converts the rest as a Docker image
 * config; 1..3 rewrite it as a manifest to KEEP, OCI or V2S2. Invariants: a
 * failure leaves *out NULL with a message; a converted config is JSON and
 * converting it again gives the same bytes; a rewritten manifest parses,
 * keeps its kind and descriptor counts, and rewriting it again to the same
 * family gives the same bytes.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/oci.h"

static void config_mode(const uint8_t *data, size_t size)
{
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	json_t *j;

	if (berth_oci_config_from_docker(&a, &alen, data, size) != 0) {
		if (a || !berth_error_last()[0])
			abort();
		return;
	}
	if (!(j = json_loadb(a, alen, 0, NULL)))
		abort();
	json_decref(j);
	if (berth_oci_config_from_docker(&b, &blen, a, alen) != 0)
		abort();
	if (alen != blen || memcmp(a, b, alen))
		abort();
	free(a);
	free(b);
}

static void manifest_mode(berth_oci_format f, const uint8_t *data, size_t size)
{
	berth_manifest_edit e = {.format = f};
	berth_manifest *in = NULL, *m = NULL;
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;

	if (berth_manifest_rewrite(&a, &alen, data, size, NULL, &e) != 0) {
		if (a || !berth_error_last()[0])
			abort();
		return;
	}
	if (berth_manifest_parse(&in, data, size, NULL) != 0)
		abort(); /* rewrite accepted what parse refuses */
	if (berth_manifest_parse(&m, a, alen, NULL) != 0)
		abort(); /* the result must be a manifest */
	if (m->kind != in->kind || m->nlayers != in->nlayers || m->nmanifests != in->nmanifests)
		abort();
	e.format = f != BERTH_OCI_FORMAT_KEEP ? f
		   : (strcmp(m->media_type, BERTH_MT_DOCKER_MANIFEST) == 0 ||
		      strcmp(m->media_type, BERTH_MT_DOCKER_LIST) == 0)
			   ? BERTH_OCI_FORMAT_V2S2
			   : BERTH_OCI_FORMAT_OCI;
	if (berth_manifest_rewrite(&b, &blen, a, alen, NULL, &e) != 0)
		abort();
	if (alen != blen || memcmp(a, b, alen))
		abort();
	berth_manifest_free(in);
	berth_manifest_free(m);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0: config_mode(data + 1, size - 1); break;
	case 1: manifest_mode(BERTH_OCI_FORMAT_KEEP, data + 1, size - 1); break;
	case 2: manifest_mode(BERTH_OCI_FORMAT_OCI, data + 1, size - 1); break;
	default: manifest_mode(BERTH_OCI_FORMAT_V2S2, data + 1, size - 1); break;
	}
	return 0;
}
