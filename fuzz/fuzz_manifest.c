/*
 * fuzz_manifest.c - libFuzzer target for berth_manifest_parse (src/lib/oci):
 * any bytes, under each kind of Content-Type a client may send, must parse
 * or be refused without crashing or leaking; whatever parses must be
 * internally consistent. The first input byte picks the Content-Type so the
 * fuzzer explores the media type negotiation too.
 */
#include "berth/oci.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const content_types[] = {
	NULL,
	BERTH_MT_OCI_MANIFEST,
	BERTH_MT_OCI_INDEX,
	BERTH_MT_DOCKER_MANIFEST,
	BERTH_MT_DOCKER_LIST,
	BERTH_MT_DOCKER_V1_SIGNED,
	"application/json",
	"application/vnd.oci.image.manifest.v1+json; charset=utf-8",
};

static void check_descriptor(const berth_descriptor *d)
{
	if (!d->media_type || !berth_oci_media_type_valid(d->media_type) || d->size < 0 ||
	    strlen(d->digest.str) < 8)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *ct = NULL;
	berth_manifest *m = NULL;

	if (size > 0) {
		ct = content_types[data[0] % (sizeof(content_types) / sizeof(content_types[0]))];
		data++;
		size--;
	}
	if (berth_manifest_parse(&m, data, size, ct) != 0) {
		if (m || !berth_error_last()[0])
			abort();
		return 0;
	}
	if (!berth_oci_is_manifest_type(m->media_type))
		abort();
	if ((m->kind == BERTH_OCI_INDEX) != berth_oci_is_index_type(m->media_type))
		abort();
	if (m->kind == BERTH_OCI_IMAGE)
		check_descriptor(&m->config);
	for (size_t i = 0; i < m->nlayers; i++)
		check_descriptor(&m->layers[i]);
	for (size_t i = 0; i < m->nmanifests; i++)
		check_descriptor(&m->manifests[i]);
	if (m->subject)
		check_descriptor(m->subject);
	(void)berth_manifest_referrer_type(m);
	berth_manifest_free(m);
	return 0;
}
