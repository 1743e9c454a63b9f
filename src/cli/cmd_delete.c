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

typedef struct delete_opts {
	opt_registry reg;
} delete_opts;

static const berth_arg delete_args[] = {
	OPT_REGISTRY_ARGS(delete_opts, reg),
	BERTH_OPT_END,
};

static const berth_args_spec delete_spec = {
	.cmd = "delete",
	.usage = "delete [options] [docker://]HOST/REPO[:TAG|@DIGEST]",
	.description = "Delete an image's manifest from a registry (by digest: a tag is resolved\n"
		       "first, and every tag of that manifest goes with it).\n",
	.args = delete_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs an image reference",
};

const berth_args_spec *const cmd_delete_specs[] = {&delete_spec, NULL};

int cmd_delete(int argc, char **argv)
{
	delete_opts o;
	const char *refs;
	berth_client *c = NULL;
	berth_ref *ref = NULL;
	berth_digest d;
	char mt[128];
	uint64_t size;
	int rc, n;

	opt_registry_init(&o.reg);
	if ((rc = berth_args_parse(&delete_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	rc = BERTH_EXIT_USAGE;
	if (opt_registry_check("delete", &o.reg) < 0)
		goto done;
	refs = argv[1];
	rc = BERTH_EXIT_FAIL;
	if (opt_docker_ref("delete", refs, &ref) < 0)
		goto done;
	opt_ignore_sigpipe();
	if (opt_client("delete", ref->domain, o.reg.tls_verify, &o.reg.creds, o.reg.auth_file, &c) <
	    0)
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
	opt_registry_dispose(&o.reg);
	return rc;
}
