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

static const char help[] =
	"usage: berth manifest create [options] DST SRC...\n"
	"       berth manifest inspect [options] REF\n"
	"\n"
	"create: copy each SRC image (or every image of a SRC index) into DST's\n"
	"repository by digest and write an OCI image index of them, with the\n"
	"platforms read from their configs, at DST.\n"
	"inspect: print the manifest or index JSON of REF (pretty; --raw as stored).\n"
	"Names default to the docker:// transport.\n"
	"\n"
	"  --annotation KEY=VALUE  (create) an annotation on the index; repeatable\n"
	"  --raw                   (inspect) print the bytes exactly as stored\n"
	"  --creds USER:PASS       registry credentials for every image\n"
	"  --authfile FILE         read credentials from FILE\n"
	"  --tls-verify=false      do not verify TLS certificates\n"
	"  -q, --quiet             (create) no progress output\n";

typedef struct common {
	berth_transport_options to;
	opt_registry reg;
	int raw, quiet;
	json_t *ann;
	const char *pos[MAX_SOURCES + 1];
	int npos;
} common;

/* Parse options shared by both subcommands; returns -1 (exit code in *rc) to stop. */
static int parse(common *c, int argc, char **argv, int *rc)
{
	const char *v;
	int m;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (berth_cli_is_help(a)) {
			fputs(help, stdout);
			*rc = BERTH_EXIT_OK;
			return -1;
		}
		*rc = BERTH_EXIT_USAGE;
		if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
			c->quiet = 1;
		} else if ((m = opt_registry_arg("manifest", argc, argv, &i, &c->reg)) ||
			   (m = opt_bool("manifest", argv, i, "--raw", &c->raw))) {
			if (m < 0)
				return -1;
		} else if ((m = opt_value("manifest", argc, argv, &i, "--annotation", &v))) {
			const char *eq = m > 0 ? strchr(v, '=') : NULL;
			char *key;

			if (!eq || eq == v) {
				if (m > 0)
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
		} else if (a[0] == '-' && a[1]) {
			berth_cli_fail("manifest", BERTH_EXIT_USAGE,
				       "unknown option '%s' (see --help)", a);
			return -1;
		} else if (c->npos > MAX_SOURCES) {
			berth_cli_fail("manifest", BERTH_EXIT_USAGE, "at most %d images",
				       MAX_SOURCES);
			return -1;
		} else {
			c->pos[c->npos++] = a;
		}
	}
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

	if (c->npos < 2)
		return berth_cli_fail("manifest", BERTH_EXIT_USAGE,
				      "create needs DST and at least one SRC (see --help)");
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

	if (c->npos != 1)
		return berth_cli_fail("manifest", BERTH_EXIT_USAGE,
				      "inspect needs one image reference (see --help)");
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
		fputs(help, stdout);
		return BERTH_EXIT_OK;
	}
	if (strcmp(argv[1], "create") && strcmp(argv[1], "inspect"))
		return berth_cli_fail("manifest", BERTH_EXIT_USAGE,
				      "unknown subcommand '%s' (use create or inspect)", argv[1]);
	c.ann = json_object();
	if (!c.ann)
		return berth_cli_fail("manifest", BERTH_EXIT_FAIL, "out of memory");
	opt_ignore_sigpipe();
	if (parse(&c, argc - 1, argv + 1, &rc) == 0)
		rc = strcmp(argv[1], "create") == 0 ? create(&c) : inspect(&c);
	json_decref(c.ann);
	opt_registry_dispose(&c.reg);
	return rc;
}
