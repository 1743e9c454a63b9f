/*
 * cmd_dockerfile.c - `berth dockerfile parse|context`: the Dockerfile
 * frontend for people and tools. `parse` prints the parsed tree (or, with
 * --expand, every instruction's words as the builder will see them);
 * `context` lists what the build context holds after .dockerignore, and
 * with --explain which pattern left each path out.
 */
#include "cli.h"
#include "args.h"
#include "opts.h"

#include "berth/dockerfile.h"
#include "util/heap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CMD "dockerfile"
/* heap growth step for a big Dockerfile or context (util/heap.h) */
#define CLI_HEAP_STEP ((size_t)8 << 20)

typedef struct parse_opts {
	const char *format;
	int expand, check;
	const char *target, *platform;
	berth_args_list build_args;
	const char *file;
	int json;
	berth_df_vars args;
} parse_opts;

static const berth_arg parse_args_table[] = {
	BERTH_OPT_ENUM("format", 0, parse_opts, format, opt_text_json, NULL,
		       "output format (default text; JSON: docs/dockerfile-json.md)"),
	BERTH_OPT_FLAG("check", 0, parse_opts, check,
		       "also apply BuildKit's instruction checks (unknown\n"
		       "instructions, flags, argument counts); --expand implies it"),
	BERTH_OPT_FLAG("expand", 0, parse_opts, expand,
		       "show the words after ARG/ENV expansion and scoping"),
	BERTH_OPT_LIST("build-arg", 0, parse_opts, build_args, "K=V",
		       "a build argument (repeatable; K alone takes $K)"),
	BERTH_OPT_STRING("target", 0, parse_opts, target, "STAGE",
			 "the stage to build (default: the last)"),
	BERTH_OPT_STRING("platform", 0, parse_opts, platform, "P",
			 "target platform, e.g. linux/arm64 (default: this host's)"),
	BERTH_OPT_END,
};

static const berth_args_spec parse_spec = {
	.cmd = CMD,
	.usage = "dockerfile parse [options] FILE",
	.description = "Print the parsed Dockerfile (instructions, flags, arguments, heredocs,\n"
		       "line ranges); FILE '-' reads standard input. --expand shows the words\n"
		       "after ARG/ENV expansion and scoping, for the --target stage's build.\n",
	.args = parse_args_table,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "parse needs a FILE",
	.man = "berth-dockerfile",
};

typedef struct context_opts {
	const char *format, *file;
	int explain;
} context_opts;

static const berth_arg context_args_table[] = {
	BERTH_OPT_ENUM("format", 0, context_opts, format, opt_text_json, NULL,
		       "output format (default text; JSON: docs/dockerfile-json.md)"),
	BERTH_OPT_STRING("file", 'f', context_opts, file, "FILE",
			 "the Dockerfile (for its FILE.dockerignore)"),
	BERTH_OPT_FLAG("explain", 0, context_opts, explain,
		       "list excluded paths with the pattern that excluded them"),
	BERTH_OPT_END,
};

static const berth_args_spec context_spec = {
	.cmd = CMD,
	.usage = "dockerfile context [options] DIR",
	.description = "List the files the build context of DIR holds after .dockerignore\n"
		       "(or DOCKERFILE.dockerignore), with their sha256 content hashes.\n",
	.args = context_args_table,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "context needs a DIR",
	.man = "berth-dockerfile",
};

const berth_args_spec *const cmd_dockerfile_specs[] = {&parse_spec, &context_spec, NULL};

/* argv[0] is the subcommand; returns -1 with *rc set to stop. */
static int parse_args(int argc, char **argv, parse_opts *o, int *rc)
{
	int npos, r = berth_args_parse(&parse_spec, o, argc, argv, &npos);

	if (r != BERTH_ARGS_OK) {
		*rc = berth_args_exit(r);
		return -1;
	}
	*rc = BERTH_EXIT_USAGE;
	o->file = argv[1];
	o->json = o->format && strcmp(o->format, "json") == 0;
	if (opt_build_args(CMD, &o->build_args, &o->args) < 0)
		return -1;
	if (!o->expand && (o->target || o->platform || o->args.n))
		return berth_cli_fail(CMD, -1,
				      "--build-arg, --target and --platform need --expand");
	return 0;
}

static void print_instr(const berth_df_instr *in, int depth)
{
	printf("%*s%u-%u %s", depth * 2, "", in->pos.line, in->end_line,
	       in->kind ? berth_dockerfile_kind_name(in->kind) : in->name);
	for (size_t i = 0; i < in->nflags; i++)
		printf(" %s", in->flags[i].raw);
	if (in->subtype)
		printf(" %s", in->subtype);
	if (in->sub) {
		putchar('\n');
		print_instr(in->sub, depth + 1);
		return;
	}
	printf(" %s", in->form == BERTH_DF_FORM_JSON ? "[" : "");
	for (size_t i = 0; i < in->nargs; i++)
		printf(in->form == BERTH_DF_FORM_JSON ? "%s\"%s\"" : "%s%s", i ? " " : "",
		       in->args[i].text);
	printf("%s\n", in->form == BERTH_DF_FORM_JSON ? "]" : "");
	for (size_t i = 0; i < in->nheredocs; i++)
		printf("%*s  <<%s (lines %u-%u%s%s)\n", depth * 2, "", in->heredocs[i].name,
		       in->heredocs[i].start_line, in->heredocs[i].end_line,
		       in->heredocs[i].strip_tabs ? ", tabs stripped" : "",
		       in->heredocs[i].expand ? "" : ", no expansion");
}

/* One word of the --expand listing: fputs, not printf (a big file prints ~50,000). */
static void put_words(const char *a, const char *b, const char *c)
{
	fputs(a, stdout);
	fputs(b, stdout);
	fputs(c, stdout);
}

static void print_xinstr(const berth_df_xinstr *x)
{
	printf("  %u ", x->src->pos.line);
	fputs(berth_dockerfile_kind_name(x->src->kind), stdout);
	for (size_t k = 0; k < x->nflags; k++)
		put_words(" ", x->flags[k].raw, "");
	for (size_t k = 0; k < x->nkvs; k++) {
		put_words(" ", x->kvs[k].key, x->kvs[k].has_value ? "=" : "");
		fputs(x->kvs[k].value, stdout);
	}
	for (size_t k = 0; !x->nkvs && k < x->nwords; k++)
		put_words(" ", x->words[k], "");
	putchar('\n');
}

static void print_plan(const berth_df_plan *p)
{
	for (size_t s = 0; s < p->nstages; s++) {
		const berth_df_xstage *xs = &p->stages[s];

		printf("stage %zu%s%s: FROM %s%s%s%s\n", xs->index, xs->src->name ? " " : "",
		       xs->src->name ? xs->src->name : "", xs->base,
		       xs->platform ? " (platform " : "", xs->platform ? xs->platform : "",
		       xs->platform ? ")" : "");
		if (!xs->needed) {
			printf("  (not needed for the target)\n");
			continue;
		}
		for (size_t i = 0; i < xs->ninstrs; i++)
			print_xinstr(&xs->instrs[i]);
	}
}

static int cmd_parse(int argc, char **argv)
{
	static char obuf[1 << 16];
	parse_opts o = {0};
	berth_dockerfile *df = NULL;
	berth_df_plan *plan = NULL;
	berth_df_build_opts bo = {0};
	char *js = NULL;
	int rc = BERTH_EXIT_USAGE;

	if (parse_args(argc, argv, &o, &rc) < 0)
		goto done;
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf)); /* before any output: fewer writes */
	berth_heap_hugepages(CLI_HEAP_STEP);
	rc = BERTH_EXIT_FAIL;
	if (berth_dockerfile_parse_file(&df, o.file, NULL) < 0 ||
	    (o.check && berth_dockerfile_check(df, NULL) < 0)) {
		berth_cli_fail(CMD, 0, "%s", berth_error_last());
		goto done;
	}
	if (o.expand) {
		bo.build_args = &o.args;
		bo.target = o.target;
		bo.target_platform = o.platform;
		if (berth_dockerfile_plan(&plan, df, &bo, NULL) < 0) {
			berth_cli_fail(CMD, 0, "%s", berth_error_last());
			goto done;
		}
	}
	if (o.json) {
		if ((plan ? berth_df_plan_to_json(&js, plan, 1)
			  : berth_dockerfile_to_json(&js, df, 1)) < 0) {
			berth_cli_fail(CMD, 0, "%s", berth_error_last());
			goto done;
		}
		puts(js);
	} else if (plan) {
		print_plan(plan);
	} else {
		for (size_t i = 0; i < df->ninstrs; i++)
			print_instr(&df->instrs[i], 0);
	}
	rc = BERTH_EXIT_OK;
done:
	free(js);
	berth_df_plan_free(plan);
	berth_dockerfile_free(df);
	berth_df_vars_dispose(&o.args);
	return rc;
}

static void mode_string(uint32_t m, char out[11])
{
	const char *rwx = "rwxrwxrwx";

	out[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISREG(m) ? '-' : '?';
	for (int i = 0; i < 9; i++)
		out[i + 1] = (m & (1u << (8 - i))) ? rwx[i] : '-';
	out[10] = '\0';
}

static int print_context(const berth_context *c, const berth_dockerignore *ign, int json,
			 int explain)
{
	char hex[65], ms[11];

	if (!json) {
		for (size_t i = 0; i < c->nentries; i++) {
			const berth_context_entry *e = &c->entries[i];

			mode_string(e->mode, ms);
			berth_context_hex(e->digest, hex);
			printf("%s %u:%u %10llu %.12s %s%s%s\n", ms, e->uid, e->gid,
			       (unsigned long long)e->size, hex, e->path, e->link ? " -> " : "",
			       e->link ? e->link : "");
		}
		for (size_t i = 0; explain && i < c->nexcluded; i++) {
			const berth_context_excluded *x = &c->excluded[i];
			const berth_dockerignore_pattern *p = &ign->patterns[x->pattern];

			printf("excluded %s%s by %s:%u: %s\n", x->path, x->is_dir ? "/" : "",
			       ign->source ? ign->source : ".dockerignore", p->line, p->original);
		}
		berth_context_hex(c->digest, hex);
		printf("context %s (%zu entries)\n", hex, c->nentries);
		return 0;
	}
	{
		char *js = NULL;
		int rc = berth_context_to_json(&js, c, ign, explain);

		if (rc < 0)
			return rc;
		puts(js);
		free(js);
	}
	return 0;
}

static int cmd_context(int argc, char **argv)
{
	context_opts o = {0};
	const char *dir, *file;
	int json, explain, npos, r, rc;
	berth_dockerignore *ign = NULL;
	berth_context *c = NULL;
	berth_context_opts co = {0};

	r = berth_args_parse(&context_spec, &o, argc, argv, &npos);
	if (r != BERTH_ARGS_OK)
		return berth_args_exit(r);
	berth_heap_hugepages(CLI_HEAP_STEP);
	dir = argv[1];
	file = o.file;
	json = o.format && strcmp(o.format, "json") == 0;
	explain = o.explain;
	rc = BERTH_EXIT_FAIL;
	co.explain = explain;
	if (berth_dockerignore_load(&ign, dir, file) < 0 ||
	    berth_context_walk(&c, dir, ign, &co) < 0 || print_context(c, ign, json, explain) < 0) {
		berth_cli_fail(CMD, 0, "%s", berth_error_last());
		goto done;
	}
	rc = BERTH_EXIT_OK;
done:
	berth_context_free(c);
	berth_dockerignore_free(ign);
	return rc;
}

int cmd_dockerfile(int argc, char **argv)
{
	if (argc < 2 || berth_cli_is_help(argv[1])) {
		FILE *out = argc < 2 ? stderr : stdout;

		berth_args_help(&parse_spec, out);
		fputc('\n', out);
		berth_args_help(&context_spec, out);
		return argc < 2 ? BERTH_EXIT_USAGE : BERTH_EXIT_OK;
	}
	if (strcmp(argv[1], "parse") == 0)
		return cmd_parse(argc - 1, argv + 1);
	if (strcmp(argv[1], "context") == 0)
		return cmd_context(argc - 1, argv + 1);
	return berth_cli_fail(CMD, BERTH_EXIT_USAGE, "unknown subcommand '%s' (parse, context)",
			      argv[1]);
}
