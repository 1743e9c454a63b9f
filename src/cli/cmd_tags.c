/*
 * cmd_tags.c - `berth tags REPO`: the tags of a registry repository.
 */
#include "cli.h"
#include "opts.h"

#include "berth/client.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char help[] = "usage: berth tags [options] [docker://]HOST/REPO\n"
			   "\n"
			   "List the tags of a repository (all pages).\n"
			   "\n"
			   "  --format text|json   one tag per line (default) or a JSON object\n"
			   "  --creds USER:PASS    registry credentials (default: auth files)\n"
			   "  --authfile FILE      read credentials from FILE\n"
			   "  --tls-verify=false   do not verify the registry's TLS certificate\n";

typedef struct tag_sink {
	json_t *arr; /* JSON output, or NULL to print lines */
} tag_sink;

static int on_tag(void *ctx, const char *name)
{
	tag_sink *t = ctx;

	if (!t->arr) {
		puts(name);
		return 0;
	}
	return json_array_append_new(t->arr, json_string(name)) == 0
		       ? 0
		       : berth_error_set(BERTH_ERROR, "out of memory");
}

int cmd_tags(int argc, char **argv)
{
	opt_registry reg;
	const char *repo = NULL;
	berth_client *c = NULL;
	berth_ref *ref = NULL;
	tag_sink ts = {NULL};
	int json = 0, rc = BERTH_EXIT_USAGE, m;

	opt_registry_init(&reg);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (berth_cli_is_help(a)) {
			fputs(help, stdout);
			rc = BERTH_EXIT_OK;
			goto done;
		}
		if ((m = opt_registry_arg("tags", argc, argv, &i, &reg)) ||
		    (m = opt_format("tags", argc, argv, &i, &json))) {
			if (m < 0)
				goto done;
		} else if (opt_positional("tags", a, &repo) < 0) {
			goto done;
		}
	}
	if (!repo) {
		berth_cli_fail("tags", BERTH_EXIT_USAGE, "needs a repository (see --help)");
		goto done;
	}
	rc = BERTH_EXIT_FAIL;
	if (opt_docker_ref("tags", repo, &ref) < 0)
		goto done;
	if (ref->tag || ref->digest) {
		berth_cli_fail("tags", BERTH_EXIT_FAIL,
			       "'%s' names an image; give the repository without a tag or digest",
			       repo);
		goto done;
	}
	opt_ignore_sigpipe();
	if (opt_client("tags", ref->domain, reg.tls_verify, &reg.creds, reg.auth_file, &c) < 0)
		goto done;
	if (json && !(ts.arr = json_array())) {
		berth_cli_fail("tags", BERTH_EXIT_FAIL, "out of memory");
		goto done;
	}
	if (berth_client_tags(c, ref->path, on_tag, &ts) < 0) {
		berth_cli_fail("tags", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	if (json) {
		char *name = berth_ref_format(ref);
		json_t *o =
			json_pack("{s:s, s:O}", "Repository", name ? name : repo, "Tags", ts.arr);
		char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

		if (s)
			puts(s);
		free(s);
		free(name);
		json_decref(o);
		if (!s) {
			berth_cli_fail("tags", BERTH_EXIT_FAIL, "out of memory");
			goto done;
		}
	}
	rc = BERTH_EXIT_OK;
done:
	json_decref(ts.arr);
	berth_client_free(c);
	berth_ref_free(ref);
	opt_registry_dispose(&reg);
	return rc;
}
