/*
 * cmd_tree.c - `berth tree IMAGE`: list everything attached to an image,
 * as cosign tree does: the .att, .sig and .sbom tags with their layers, and
 * the OCI 1.1 referrers with their artifact types.
 */
#include "cli.h"
#include "signimage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
	"usage: berth tree [options] IMAGE\n"
	"\n"
	"List the signatures, attestations, SBOMs and OCI referrers attached\n"
	"to IMAGE.\n"
	"\n"
	"  --creds USER:PASS, --authfile FILE, --tls-verify=false   registry access\n";

typedef struct tree {
	const simg *im;
	const char *heading;
	const char *last_source;
	size_t n;
} tree;

static int on_item(void *ctx, const berth_sign_attached *a)
{
	tree *t = ctx;

	if (!t->last_source || strcmp(t->last_source, a->source) != 0) {
		if (a->artifact_type)
			printf("└── 📦 %s referrer: %s@%s\n", a->artifact_type, t->im->identity,
			       a->source);
		else
			printf("└── %s for an image tag: %s:%s\n", t->heading, t->im->identity,
			       a->source);
	}
	t->last_source = a->source;
	printf("   └── 🍒 %s%s%s\n", a->layer_digest ? a->layer_digest : "?",
	       a->predicate_type ? " " : "", a->predicate_type ? a->predicate_type : "");
	t->n++;
	return 0;
}

int cmd_tree(int argc, char **argv)
{
	static const char *const suffix[] = {"att", "sig", "sbom"};
	static const char *const heading[] = {"💾 Attestations", "🔐 Signatures", "📦 SBOMs"};
	const char *image = NULL;
	opt_registry reg;
	tree t = {0};
	simg im = {0};
	int rc = BERTH_EXIT_USAGE, m;

	if (berth_cli_wants_help(argc, argv)) {
		fputs(help, stdout);
		return BERTH_EXIT_OK;
	}
	opt_registry_init(&reg);
	for (int i = 1; i < argc; i++) {
		if ((m = opt_registry_arg("tree", argc, argv, &i, &reg))) {
			if (m < 0)
				goto done;
		} else if (opt_positional("tree", argv[i], &image) < 0) {
			goto done;
		}
	}
	if (!image) {
		berth_cli_fail("tree", rc, "needs an IMAGE");
		goto done;
	}
	rc = BERTH_EXIT_FAIL;
	opt_ignore_sigpipe();
	if (simg_open("tree", image, &reg, &im) < 0)
		goto done;
	printf("📦 Supply Chain Security Related artifacts for an image: %s@%s\n", im.identity,
	       im.digest.str);
	t.im = &im;
	for (int k = 0; k < 4; k++) {
		t.heading = k < 3 ? heading[k] : NULL;
		t.last_source = NULL;
		if (berth_sign_image_attached(im.client, im.repo, &im.digest,
					      k < 3 ? suffix[k] : NULL, k == 3, 0, on_item,
					      &t) < 0) {
			berth_cli_fail("tree", -1, "%s", berth_error_last());
			goto done;
		}
	}
	if (t.n == 0)
		printf("No Supply Chain Security Related Artifacts found for image %s\n", image);
	rc = BERTH_EXIT_OK;
done:
	simg_close(&im);
	opt_registry_dispose(&reg);
	return rc;
}
