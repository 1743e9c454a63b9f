/*
 * cmd_dockerfile.c - `berth dockerfile parse|context`: the Dockerfile
 * frontend for people and tools. `parse` prints the parsed tree (or, with
 * --expand, every instruction's words as the builder will see them);
 * `context` lists what the build context holds after .dockerignore, and
 * with --explain which pattern left each path out.
 */
#include "cli.h"
#include "opts.h"

#include "berth/dockerfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char help[] =
	"usage: berth dockerfile parse FILE [--format text|json] [--check]\n"
	"                              [--expand [--build-arg K=V]... [--target STAGE]\n"
	"                              [--platform P]]\n"
	"       berth dockerfile context [-f DOCKERFILE] DIR [--format text|json] [--explain]\n"
	"\n"
	"parse    print the parsed Dockerfile (instructions, flags, arguments, heredocs,\n"
	"         line ranges); FILE '-' reads standard input. --expand shows the words\n"
	"         after ARG/ENV expansion and scoping, for the --target stage's build.\n"
	"context  list the files the build context of DIR holds after .dockerignore\n"
	"         (or DOCKERFILE.dockerignore), with their sha256 content hashes;\n"
	"         --explain also lists each left-out path and the pattern that did it.\n"
	"\n"
	"  --format text|json   output format (default text; JSON: docs/dockerfile-json.md)\n"
	"  --check              also apply BuildKit's instruction checks (unknown\n"
	"                       instructions, flags, argument counts); --expand implies it\n"
	"  --build-arg K=V      a build argument (repeatable; K alone takes $K)\n"
	"  --target STAGE       the stage to build (default: the last)\n"
	"  --platform P         target platform, e.g. linux/arm64 (default: this host's)\n"
	"  -f, --file FILE      the Dockerfile (for its FILE.dockerignore)\n"
	"  --explain            list excluded paths with the pattern that excluded them\n";

#define CMD "dockerfile"

typedef struct parse_opts {
	const char *file;
	int json, expand, check;
	const char *target, *platform;
	berth_df_vars args;
} parse_opts;

static int parse_args(int argc, char **argv, parse_opts *o)
{
	const char *v;
	int m;

	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];

		if ((m = opt_format(CMD, argc, argv, &i, &o->json)) != 0) {
			if (m < 0)
				return -1;
		} else if (strcmp(a, "--expand") == 0) {
			o->expand = 1;
		} else if (strcmp(a, "--check") == 0) {
			o->check = 1;
		} else if ((m = opt_value(CMD, argc, argv, &i, "--target", &o->target)) ||
			   (m = opt_value(CMD, argc, argv, &i, "--platform", &o->platform))) {
			if (m < 0)
				return -1;
		} else if ((m = opt_value(CMD, argc, argv, &i, "--build-arg", &v)) != 0) {
			const char *eq;
			char *k;
			int rc;

			if (m < 0)
				return -1;
			eq = strchr(v, '=');
			k = eq ? strndup(v, (size_t)(eq - v)) : strdup(v);
			if (!k)
				return berth_cli_fail(CMD, -1, "out of memory");
			if (!eq && !getenv(k)) {
				free(k);
				continue; /* K alone with no $K: as docker, nothing is set */
			}
			rc = berth_df_vars_set(&o->args, k, eq ? eq + 1 : getenv(k));
			free(k);
			if (rc < 0)
				return berth_cli_fail(CMD, -1, "%s", berth_error_last());
		} else if (strcmp(a, "-") == 0 && !o->file) {
			o->file = a;
		} else if (opt_positional(CMD, a, &o->file) < 0) {
			return -1;
		}
	}
	if (!o->file)
		return berth_cli_fail(CMD, -1, "parse needs a FILE (see --help)");
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
		for (size_t i = 0; i < xs->ninstrs; i++) {
			const berth_df_xinstr *x = &xs->instrs[i];

			printf("  %u %s", x->src->pos.line,
			       berth_dockerfile_kind_name(x->src->kind));
			for (size_t k = 0; k < x->nflags; k++)
				printf(" %s", x->flags[k].raw);
			for (size_t k = 0; k < x->nkvs; k++)
				printf(" %s%s%s", x->kvs[k].key, x->kvs[k].has_value ? "=" : "",
				       x->kvs[k].value);
			for (size_t k = 0; !x->nkvs && k < x->nwords; k++)
				printf(" %s", x->words[k]);
			putchar('\n');
		}
	}
}

static int cmd_parse(int argc, char **argv)
{
	parse_opts o = {0};
	berth_dockerfile *df = NULL;
	berth_df_plan *plan = NULL;
	berth_df_build_opts bo = {0};
	char *js = NULL;
	int rc = BERTH_EXIT_USAGE;

	if (parse_args(argc, argv, &o) < 0)
		goto done;
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
	const char *dir = NULL, *file = NULL;
	int json = 0, explain = 0, m, rc = BERTH_EXIT_USAGE;
	berth_dockerignore *ign = NULL;
	berth_context *c = NULL;
	berth_context_opts co = {0};

	for (int i = 2; i < argc; i++) {
		if ((m = opt_format(CMD, argc, argv, &i, &json)) ||
		    (m = opt_value(CMD, argc, argv, &i, "--file", &file)) ||
		    (m = opt_value(CMD, argc, argv, &i, "-f", &file))) {
			if (m < 0)
				goto done;
		} else if (strcmp(argv[i], "--explain") == 0) {
			explain = 1;
		} else if (opt_positional(CMD, argv[i], &dir) < 0) {
			goto done;
		}
	}
	if (!dir) {
		berth_cli_fail(CMD, 0, "context needs a DIR (see --help)");
		goto done;
	}
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
		fputs(help, argc < 2 ? stderr : stdout);
		return argc < 2 ? BERTH_EXIT_USAGE : BERTH_EXIT_OK;
	}
	if (berth_cli_wants_help(argc, argv)) {
		fputs(help, stdout);
		return BERTH_EXIT_OK;
	}
	if (strcmp(argv[1], "parse") == 0)
		return cmd_parse(argc, argv);
	if (strcmp(argv[1], "context") == 0)
		return cmd_context(argc, argv);
	return berth_cli_fail(CMD, BERTH_EXIT_USAGE, "unknown subcommand '%s' (parse, context)",
			      argv[1]);
}
