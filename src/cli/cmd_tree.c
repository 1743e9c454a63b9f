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

static const berth_args_spec tree_spec = {
	.cmd = "tree",
	.usage = "tree [options] IMAGE",
	.description = "List the signatures, attestations, SBOMs and OCI referrers attached\n"
		       "to IMAGE.\n",
	.args = simg_registry_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs an IMAGE",
};

const berth_args_spec *const cmd_tree_specs[] = {&tree_spec, NULL};

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
	tree t = {0};
	simg im;
	int rc;

	if (simg_cli_open(&tree_spec, argc, argv, &im, &rc) < 0)
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
		printf("No Supply Chain Security Related Artifacts found for image %s\n", argv[1]);
	rc = BERTH_EXIT_OK;
done:
	simg_close(&im);
	return rc;
}
