/*
 * cmd_download.c - `berth download sbom|signature|attestation IMAGE`: print
 * what is attached to an image, as cosign does: the SBOM bytes; one JSON
 * line per signature ({"Base64Signature","Payload",...} for the tag schema,
 * the bundle for referrers); one DSSE envelope (or bundle) per attestation.
 */
#include "cli.h"
#include "signimage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"usage: berth download sbom|signature|attestation [options] IMAGE\n"
	"\n"
	"Print the SBOM, the signatures or the attestations attached to IMAGE\n"
	"(tag schema and OCI 1.1 referrers). Exits 1 when there is none.\n"
	"\n"
	"  --creds USER:PASS, --authfile FILE, --tls-verify=false   registry access\n";

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
	static const char *const suffix[] = {"sbom", "sig", "att"};
	const char *image = NULL;
	opt_registry reg;
	dl d = {0};
	simg im = {0};
	int rc = BERTH_EXIT_USAGE, m;

	if (berth_cli_wants_help(argc, argv)) {
		fputs(help, stdout);
		return BERTH_EXIT_OK;
	}
	opt_registry_init(&reg);
	if (argc < 2) {
		berth_cli_fail("download", rc, "needs sbom, signature or attestation");
		goto done;
	}
	if (strcmp(argv[1], "sbom") == 0)
		d.what = DL_SBOM;
	else if (strcmp(argv[1], "signature") == 0)
		d.what = DL_SIG;
	else if (strcmp(argv[1], "attestation") == 0)
		d.what = DL_ATT;
	else {
		berth_cli_fail("download", rc, "unknown kind '%s'", argv[1]);
		goto done;
	}
	for (int i = 2; i < argc; i++) {
		if ((m = opt_registry_arg("download", argc, argv, &i, &reg))) {
			if (m < 0)
				goto done;
		} else if (opt_positional("download", argv[i], &image) < 0) {
			goto done;
		}
	}
	if (!image) {
		berth_cli_fail("download", rc, "needs an IMAGE");
		goto done;
	}
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	if (simg_open("download", image, &reg, &im) < 0)
		goto done;
	if (berth_sign_image_attached(im.client, im.repo, &im.digest, suffix[d.what], 1, 1, on_item,
				      &d) < 0) {
		berth_cli_fail("download", -1, "%s", berth_error_last());
		goto done;
	}
	if (d.n == 0) {
		berth_cli_fail("download", -1, "no %s attached to %s@%s", argv[1], im.identity,
			       im.digest.str);
		goto done;
	}
	rc = BERTH_EXIT_OK;
done:
	simg_close(&im);
	opt_registry_dispose(&reg);
	return rc;
}
