/*
 * cmd_delete.c - `berth delete REF`: delete an image from a registry. A tag
 * is resolved to its digest first and the manifest is deleted by digest, as
 * skopeo does (so every tag pointing at it goes too).
 */
#include "cli.h"
#include "opts.h"

#include "berth/client.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
	"usage: berth delete [options] [docker://]HOST/REPO[:TAG|@DIGEST]\n"
	"\n"
	"Delete an image's manifest from a registry (by digest: a tag is resolved\n"
	"first, and every tag of that manifest goes with it).\n"
	"\n"
	"  --creds USER:PASS    registry credentials (default: auth files)\n"
	"  --authfile FILE      read credentials from FILE\n"
	"  --tls-verify=false   do not verify the registry's TLS certificate\n";

int cmd_delete(int argc, char **argv)
{
	opt_registry reg;
	const char *refs = NULL;
	berth_client *c = NULL;
	berth_ref *ref = NULL;
	berth_digest d;
	char mt[128];
	uint64_t size;
	int rc = BERTH_EXIT_USAGE, m;

	opt_registry_init(&reg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (berth_cli_is_help(a)) {
			fputs(help, stdout);
			rc = BERTH_EXIT_OK;
			goto done;
		}
		if ((m = opt_registry_arg("delete", argc, argv, &i, &reg))) {
			if (m < 0)
				goto done;
		} else if (opt_positional("delete", a, &refs) < 0) {
			goto done;
		}
	}
	if (!refs) {
		berth_cli_fail("delete", BERTH_EXIT_USAGE, "needs an image reference (see --help)");
		goto done;
	}
	rc = BERTH_EXIT_FAIL;
	if (opt_docker_ref("delete", refs, &ref) < 0)
		goto done;
	opt_ignore_sigpipe();
	if (opt_client("delete", ref->domain, reg.tls_verify, &reg.creds, reg.auth_file, &c) < 0)
		goto done;
	rc = -1; /* from here on, failures are the library's: reported at done */
	if (ref->digest) {
		if (berth_digest_parse(&d, ref->digest, strlen(ref->digest)) < 0)
			goto done;
	} else if (berth_client_manifest_head(c, ref->path, ref->tag ? ref->tag : "latest", &d, mt,
					      sizeof(mt), &size) < 0) {
		goto done;
	}
	if (berth_client_manifest_delete(c, ref->path, d.str) < 0)
		goto done;
	rc = BERTH_EXIT_OK;

done:
	if (rc < 0)
		rc = berth_cli_fail("delete", BERTH_EXIT_FAIL, "%s", berth_error_last());
	berth_client_free(c);
	berth_ref_free(ref);
	opt_registry_dispose(&reg);
	return rc;
}
