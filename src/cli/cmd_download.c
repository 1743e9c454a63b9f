/*
 * cmd_download.c - `berth download sbom|signature|attestation IMAGE`: print
 * what is attached to an image, as cosign does: the SBOM bytes; one JSON
 * line per signature ({"Base64Signature","Payload",...} for the tag schema,
 * the bundle for referrers); one DSSE envelope (or bundle) per attestation,
 * and one in-toto statement per attestation BuildKit keeps in the image's
 * index (`berth build --sbom/--provenance`).
 */
#include "cli.h"
#include "signimage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const berth_args_spec download_spec = {
	.cmd = "download",
	.usage = "download sbom|signature|attestation [options] IMAGE",
	.description = "Print the SBOM, the signatures or the attestations attached to IMAGE\n"
		       "(tag schema and OCI 1.1 referrers; attestations also from the\n"
		       "image's index, as BuildKit stores them). Exits 1 when there is none.\n",
	.args = simg_registry_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs an IMAGE",
};

const berth_args_spec *const cmd_download_specs[] = {&download_spec, NULL};

enum { DL_SBOM, DL_SIG, DL_ATT };

typedef struct dl {
	int what;
	size_t n;
} dl;

static int is_bundle(const char *mt)
{
	return mt && strncmp(mt, "application/vnd.dev.sigstore.bundle", 35) == 0;
}

static int is_sbom(const char *mt)
{
	return mt && (strcmp(mt, "text/spdx+json") == 0 || strcmp(mt, "text/spdx") == 0 ||
		      strcmp(mt, "application/spdx+json") == 0 ||
		      strcmp(mt, "application/vnd.cyclonedx+json") == 0 ||
		      strcmp(mt, "application/vnd.cyclonedx+xml") == 0);
}

static int on_item(void *ctx, const berth_sign_attached *a)
{
	dl *d = ctx;
	int sign_bundle = is_bundle(a->media_type) && a->predicate_type &&
			  strcmp(a->predicate_type, BERTH_SIGN_COSIGN_SIGN_PREDICATE) == 0;

	if (a->fetch_rc < 0)
		return 0;
	if (d->what == DL_SBOM && is_sbom(a->media_type)) {
		fwrite(a->data, 1, a->len, stdout);
	} else if (d->what == DL_SIG && a->media_type &&
		   strcmp(a->media_type, BERTH_SIGN_SIMPLESIGNING_MT) == 0) {
		char *p = NULL;
		json_t *o;
		char *s;

		if (berth_sign_b64_encode(&p, a->data, a->len) < 0)
			return -1;
		o = json_pack("{s:s,s:s,s:n,s:n,s:n,s:n}", "Base64Signature",
			      a->signature ? a->signature : "", "Payload", p, "Cert", "Chain",
			      "Bundle", "RFC3161Timestamp");
		s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		if (s)
			puts(s);
		free(s);
		free(p);
		json_decref(o);
	} else if (d->what == DL_ATT && a->media_type &&
		   strcmp(a->media_type, BERTH_SIGN_INTOTO_PT) == 0) {
		/* BuildKit's in-index statement: one compact JSON line */
		json_t *st = json_loadb((const char *)a->data, a->len, 0, NULL);
		char *s = st ? json_dumps(st, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		if (s)
			puts(s);
		free(s);
		json_decref(st);
		if (!s)
			return 0;
	} else if ((d->what == DL_SIG && sign_bundle) ||
		   (d->what == DL_ATT && is_bundle(a->media_type) && !sign_bundle) ||
		   (d->what == DL_ATT && a->media_type &&
		    strcmp(a->media_type, BERTH_SIGN_DSSE_MT) == 0)) {
		fwrite(a->data, 1, a->len, stdout);
		putchar('\n');
	} else {
		return 0;
	}
	d->n++;
	return 0;
}

int cmd_download(int argc, char **argv)
{
	static const char *const kinds[] = {"sbom", "signature", "attestation"};
	static const char *const suffix[] = {"sbom", "sig", "att"};
	dl d = {0};
	simg im = {0};
	int rc = BERTH_EXIT_USAGE;

	if (argc >= 2 && berth_cli_is_help(argv[1])) {
		berth_args_help(&download_spec, stdout);
		return BERTH_EXIT_OK;
	}
	if (argc < 2)
		return berth_cli_fail("download", rc, "needs sbom, signature or attestation");
	for (d.what = DL_SBOM; d.what <= DL_ATT && strcmp(argv[1], kinds[d.what]); d.what++)
		;
	if (d.what > DL_ATT)
		return berth_cli_fail("download", rc, "unknown kind '%s'", argv[1]);
	if (simg_cli_open(&download_spec, argc - 1, argv + 1, &im, &rc) < 0)
		goto done;
	if (berth_sign_image_attached(im.client, im.repo, &im.digest, suffix[d.what], 1, 1, on_item,
				      &d) < 0 ||
	    (d.what == DL_ATT &&
	     berth_sign_image_index_attestations(im.client, im.repo, im.manifest, im.manifest_len,
						 1, on_item, &d) < 0)) {
		berth_cli_fail("download", -1, "%s", berth_error_last());
		goto done;
	}
	if (d.n == 0) {
		berth_cli_fail("download", -1, "no %s attached to %s@%s", kinds[d.what],
			       im.identity, im.digest.str);
		goto done;
	}
	rc = BERTH_EXIT_OK;
done:
	simg_close(&im);
	return rc;
}
