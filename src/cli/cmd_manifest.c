/*
 * cmd_manifest.c - `berth manifest create DST SRC...` builds a multi-platform
 * image index from per-platform images (berth_copy_index_create), and
 * `berth manifest inspect REF` prints a manifest or index as JSON.
 */
#include "cli.h"
#include "opts.h"
#include "progress.h"

#include "berth/transport.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SOURCES 64

typedef struct common {
	berth_transport_options to;
	opt_registry reg;
	int raw, quiet;
	berth_args_list annotations;
	json_t *ann;
	char **pos;
	int npos;
} common;

static const berth_arg create_args[] = {
	BERTH_OPT_LIST("annotation", 0, common, annotations, "KEY=VALUE",
		       "an annotation on the index; repeatable"),
	OPT_REGISTRY_ARGS(common, reg),
	BERTH_OPT_FLAG("quiet", 'q', common, quiet, "no progress output"),
	BERTH_OPT_END,
};

static const berth_args_spec create_spec = {
	.cmd = "manifest",
	.usage = "manifest create [options] DST SRC...",
	.description = "Copy each SRC image (or every image of a SRC index) into DST's repository\n"
		       "by digest and write an OCI image index of them, with the platforms read\n"
		       "from their configs, at DST. Names default to the docker:// transport.\n",
	.args = create_args,
	.min_pos = 2,
	.max_pos = MAX_SOURCES + 1,
	.missing = "create needs DST and at least one SRC",
};

static const berth_arg inspect_args[] = {
	BERTH_OPT_BOOL("raw", 0, common, raw, NULL, "print the bytes exactly as stored"),
	OPT_REGISTRY_ARGS(common, reg),
	BERTH_OPT_END,
};

static const berth_args_spec inspect_spec = {
	.cmd = "manifest",
	.usage = "manifest inspect [options] REF",
	.description = "Print the manifest or index JSON of REF (pretty; --raw as stored).\n"
		       "Names default to the docker:// transport.\n",
	.args = inspect_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "inspect needs one image reference",
};

const berth_args_spec *const cmd_manifest_specs[] = {&create_spec, &inspect_spec, NULL};

/* --annotation KEY=VALUE... into c->ann; -1 (usage error printed) if one is bad. */
static int annotations(common *c)
{
	for (int i = 0; i < c->annotations.n; i++) {
		const char *v = c->annotations.v[i], *eq = strchr(v, '=');
		char *key;

		if (!eq || eq == v) {
			berth_cli_fail("manifest", BERTH_EXIT_USAGE,
				       "--annotation needs KEY=VALUE");
			return -1;
		}
		key = strndup(v, (size_t)(eq - v));
		if (!key || json_object_set_new(c->ann, key, json_string(eq + 1)) != 0) {
			free(key);
			berth_cli_fail("manifest", BERTH_EXIT_USAGE,
				       "bad annotation '%s' (not UTF-8?)", v);
			return -1;
		}
		free(key);
	}
	return 0;
}

/* Parse a subcommand's options; returns -1 (exit code in *rc) to stop. */
static int parse(common *c, const berth_args_spec *spec, int argc, char **argv, int *rc)
{
	int r = berth_args_parse(spec, c, argc, argv, &c->npos);

	if (r != BERTH_ARGS_OK) {
		*rc = berth_args_exit(r);
		return -1;
	}
	*rc = BERTH_EXIT_USAGE;
	if (opt_registry_check("manifest", &c->reg) < 0 || annotations(c) < 0)
		return -1;
	c->pos = argv + 1;
	opt_registry_transport(&c->reg, &c->to);
	return 0;
}

static int create(common *c)
{
	berth_image_name *dst = NULL, *srcs[MAX_SOURCES] = {NULL};
	berth_copy_options co;
	berth_progress *prog = NULL;
	char *ann = NULL;
	berth_digest d;
	int n = c->npos - 1, rc = BERTH_EXIT_FAIL;

	if (opt_image("manifest", c->pos[0], 1, &dst) < 0)
		goto done;
	for (int i = 0; i < n; i++)
		if (opt_image("manifest", c->pos[i + 1], 1, &srcs[i]) < 0)
			goto done;
	if (json_object_size(c->ann) && !(ann = json_dumps(c->ann, JSON_COMPACT))) {
		berth_cli_fail("manifest", BERTH_EXIT_FAIL, "out of memory");
		goto done;
	}
	berth_copy_options_init(&co);
	prog = berth_progress_new(stderr, c->quiet);
	co.progress = berth_progress_event;
	co.progress_ctx = prog;
	if (berth_copy_index_create((const berth_image_name *const *)srcs, (size_t)n, &c->to, dst,
				    &c->to, ann, &co, &d) < 0) {
		berth_progress_free(prog);
		prog = NULL;
		berth_cli_fail("manifest", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	berth_progress_free(prog);
	prog = NULL;
	puts(d.str);
	rc = BERTH_EXIT_OK;
done:
	berth_progress_free(prog);
	free(ann);
	berth_image_name_free(dst);
	for (int i = 0; i < n && i < MAX_SOURCES; i++)
		berth_image_name_free(srcs[i]);
	return rc;
}

static int inspect(common *c)
{
	berth_image_name *name = NULL;
	berth_source *src = NULL;
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_MAX);
	json_t *j = NULL;
	char mt[128], *pretty = NULL;
	int rc = BERTH_EXIT_FAIL;

	if (opt_image("manifest", c->pos[0], 1, &name) < 0)
		goto done;
	if (berth_source_open(&src, name, &c->to) < 0 ||
	    berth_source_manifest(src, NULL, &body, mt, sizeof(mt), NULL) < 0) {
		berth_cli_fail("manifest", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	if (c->raw) {
		fwrite(body.ptr, 1, body.len, stdout);
		rc = BERTH_EXIT_OK;
		goto done;
	}
	j = json_loadb(body.ptr, body.len, 0, NULL);
	pretty = j ? json_dumps(j, JSON_INDENT(3) | JSON_PRESERVE_ORDER) : NULL;
	if (!pretty) {
		berth_cli_fail("manifest", BERTH_EXIT_FAIL, "the manifest is not valid JSON");
		goto done;
	}
	puts(pretty);
	rc = BERTH_EXIT_OK;
done:
	free(pretty);
	json_decref(j);
	berth_buf_dispose(&body);
	berth_source_free(src);
	berth_image_name_free(name);
	return rc;
}

int cmd_manifest(int argc, char **argv)
{
	common c;
	int rc = BERTH_EXIT_USAGE;

	memset(&c, 0, sizeof(c));
	berth_transport_options_init(&c.to);
	opt_registry_init(&c.reg);
	if (argc < 2)
		return berth_cli_fail("manifest", BERTH_EXIT_USAGE,
				      "needs create or inspect (see --help)");
	if (berth_cli_is_help(argv[1])) {
		berth_args_help(&create_spec, stdout);
		fputc('\n', stdout);
		berth_args_help(&inspect_spec, stdout);
		return BERTH_EXIT_OK;
	}
	if (strcmp(argv[1], "create") && strcmp(argv[1], "inspect"))
		return berth_cli_fail("manifest", BERTH_EXIT_USAGE,
				      "unknown subcommand '%s' (use create or inspect)", argv[1]);
	c.ann = json_object();
	if (!c.ann)
		return berth_cli_fail("manifest", BERTH_EXIT_FAIL, "out of memory");
	opt_ignore_sigpipe();
	if (strcmp(argv[1], "create") == 0) {
		if (parse(&c, &create_spec, argc - 1, argv + 1, &rc) == 0)
			rc = create(&c);
	} else if (parse(&c, &inspect_spec, argc - 1, argv + 1, &rc) == 0) {
		rc = inspect(&c);
	}
	json_decref(c.ann);
	opt_registry_dispose(&c.reg);
	return rc;
}
