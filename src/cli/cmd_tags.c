/*
 * cmd_tags.c - `berth tags REPO`: the tags of a registry repository.
 */
#include "cli.h"
#include "opts.h"

#include "berth/client.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

typedef struct tags_opts {
	opt_registry reg;
	const char *format;
} tags_opts;

static const berth_arg tags_args[] = {
	BERTH_OPT_ENUM("format", 0, tags_opts, format, opt_text_json, NULL,
		       "one tag per line (default) or a JSON object"),
	OPT_REGISTRY_ARGS(tags_opts, reg),
	BERTH_OPT_END,
};

static const berth_args_spec tags_spec = {
	.cmd = "tags",
	.usage = "tags [options] [docker://]HOST/REPO",
	.description = "List the tags of a repository (all pages).\n",
	.args = tags_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs a repository",
};

const berth_args_spec *const cmd_tags_specs[] = {&tags_spec, NULL};

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
	tags_opts o = {.format = "text"};
	const char *repo;
	berth_client *c = NULL;
	berth_ref *ref = NULL;
	tag_sink ts = {NULL};
	int json, rc, n;

	opt_registry_init(&o.reg);
	if ((rc = berth_args_parse(&tags_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	rc = BERTH_EXIT_USAGE;
	if (opt_registry_check("tags", &o.reg) < 0)
		goto done;
	repo = argv[1];
	json = strcmp(o.format, "json") == 0;
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
	if (opt_client("tags", ref->domain, o.reg.tls_verify, &o.reg.creds, o.reg.auth_file, &c) <
	    0)
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
		json_t *obj =
			json_pack("{s:s, s:O}", "Repository", name ? name : repo, "Tags", ts.arr);
		char *s = obj ? json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

		if (s)
			puts(s);
		free(s);
		free(name);
		json_decref(obj);
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
	opt_registry_dispose(&o.reg);
	return rc;
}
