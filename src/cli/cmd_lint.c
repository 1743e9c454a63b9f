/*
 * cmd_lint.c - `berth lint [FILE...]`: BuildKit build checks, hadolint's DL
 * rules (and SC rules through shellcheck) and the company's BL rules over
 * Dockerfiles, as text, JSON or SARIF 2.1.0 (library: include/berth/lint.h).
 */
#include "cli.h"

#include "berth/dockerfile.h"
#include "berth/lint.h"
#include "util/heap.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINT_MAX_FILES 4096
/* heap growth step (util/heap.h): a big Dockerfile's tree and findings */
#define LINT_HEAP_STEP ((size_t)8 << 20)

typedef struct lint_opts {
	const char *format;
	const char *config;
	const char *threshold;
	const char *context;
	const char *dockerignore;
	berth_args_list ignore, trusted;
	int list_rules, no_shellcheck;
	berth_lint_config cfg;
} lint_opts;

static const char *const formats[] = {"text", "json", "sarif", "markdown", NULL};

static const berth_arg lint_args[] = {
	BERTH_OPT_ENUM("format", 0, lint_opts, format, formats, NULL,
		       "output format (default text; markdown: --list-rules)"),
	BERTH_OPT_STRING("config", 0, lint_opts, config, "FILE",
			 "hadolint configuration (default ./.hadolint.yaml\n"
			 "when it exists)"),
	BERTH_OPT_LIST("ignore", 0, lint_opts, ignore, "RULE", "never report RULE (repeatable)"),
	BERTH_OPT_STRING("failure-threshold", 0, lint_opts, threshold, "LEVEL",
			 "error|warning|info|style|none (default info)"),
	BERTH_OPT_LIST("trusted-registry", 0, lint_opts, trusted, "HOST",
		       "allowed registry for FROM images (repeatable)"),
	BERTH_OPT_STRING("context", 0, lint_opts, context, "DIR",
			 "build context (default: the Dockerfile's directory;\n"
			 "none for stdin) for .dockerignore checks"),
	BERTH_OPT_STRING("dockerignore", 0, lint_opts, dockerignore, "FILE",
			 "the .dockerignore to apply instead of the context's"),
	BERTH_OPT_FLAG("no-shellcheck", 0, lint_opts, no_shellcheck,
		       "do not run shellcheck on RUN scripts"),
	BERTH_OPT_FLAG("list-rules", 0, lint_opts, list_rules,
		       "print the rules (text, json or markdown)"),
	BERTH_OPT_END,
};

static const berth_args_spec lint_spec = {
	.cmd = "lint",
	.usage = "lint [options] [FILE...]",
	.description =
		"Check Dockerfiles (default ./Dockerfile; '-' reads standard input) against\n"
		"BuildKit's build checks, hadolint's DL rules, ShellCheck (SC, when installed)\n"
		"and the BL rules of docs/lint-rules.md. Exit 1 when a finding reaches the\n"
		"failure threshold or a file cannot be read or parsed.\n",
	.args = lint_args,
	.max_pos = LINT_MAX_FILES,
};

const berth_args_spec *const cmd_lint_specs[] = {&lint_spec, NULL};

/* --ignore and --trusted-registry into o->cfg; -1 (printed) on a bad value. */
static int add_lists(lint_opts *o)
{
	for (int i = 0; i < o->ignore.n; i++)
		if (berth_lint_config_ignore(&o->cfg, o->ignore.v[i]) < 0)
			return berth_cli_fail("lint", -1, "%s", berth_error_last());
	for (int i = 0; i < o->trusted.n; i++)
		if (berth_lint_config_trust(&o->cfg, o->trusted.v[i]) < 0)
			return berth_cli_fail("lint", -1, "%s", berth_error_last());
	return 0;
}

static int list_rules(const char *format)
{
	size_t n;
	const berth_lint_rule *r = berth_lint_rules(&n);
	char *md = NULL;

	if (strcmp(format, "markdown") == 0) {
		if (berth_lint_rules_markdown(&md) < 0)
			return berth_cli_fail("lint", BERTH_EXIT_FAIL, "%s", berth_error_last());
		fputs(md, stdout);
		free(md);
		return BERTH_EXIT_OK;
	}
	for (size_t i = 0; i < n; i++) {
		if (strcmp(format, "json") == 0)
			printf("%s{\"id\":\"%s\",\"severity\":\"%s\"}", i ? "," : "[", r[i].id,
			       berth_lint_severity_name(r[i].severity));
		else
			printf("%-32s %-8s %s\n", r[i].id, berth_lint_severity_name(r[i].severity),
			       r[i].summary);
	}
	if (strcmp(format, "json") == 0)
		puts(n ? "]" : "[]");
	return BERTH_EXIT_OK;
}

/* Options and the configuration file into o->cfg; the CLI's threshold wins. */
static int configure(lint_opts *o)
{
	berth_lint_severity sev;
	const char *cfg = o->config;

	if (!cfg && access(".hadolint.yaml", F_OK) == 0)
		cfg = ".hadolint.yaml";
	else if (!cfg && access(".hadolint.yml", F_OK) == 0)
		cfg = ".hadolint.yml";
	if (cfg && berth_lint_config_load(&o->cfg, cfg) < 0)
		return berth_cli_fail("lint", -1, "%s", berth_error_last());
	if (o->threshold) {
		if (berth_lint_severity_parse(o->threshold, &sev) < 0)
			return berth_cli_fail("lint", -2, "--failure-threshold: %s",
					      berth_error_last());
		o->cfg.failure_threshold = sev;
	}
	return 0;
}

/* The .dockerignore that applies to `file`: --dockerignore, else the context's. */
static int load_ignore(const lint_opts *o, const char *file, berth_dockerignore **ign)
{
	char *copy = NULL;
	const char *ctx = o->context;
	FILE *f;
	char *text = NULL;
	size_t len;
	int rc;

	*ign = NULL;
	if (o->dockerignore) {
		if (!(f = fopen(o->dockerignore, "rb")))
			return berth_error_set_errno("%s", o->dockerignore);
		text = malloc(BERTH_DOCKERIGNORE_MAX_FILE + 1);
		len = text ? fread(text, 1, BERTH_DOCKERIGNORE_MAX_FILE + 1, f) : 0;
		fclose(f);
		if (!text)
			return berth_error_set(BERTH_ERROR, "out of memory");
		rc = berth_dockerignore_parse(ign, text, len, o->dockerignore);
		free(text);
		return rc;
	}
	if (!ctx && strcmp(file, "-") == 0)
		return 0;
	if (!ctx) {
		if (!(copy = strdup(file)))
			return berth_error_set(BERTH_ERROR, "out of memory");
		ctx = dirname(copy);
	}
	rc = berth_dockerignore_load(ign, ctx, strcmp(file, "-") == 0 ? NULL : file);
	free(copy);
	return rc;
}

static int lint_file(lint_opts *o, const char *file, berth_lint_result *res, berth_dockerfile **df)
{
	berth_df_error perr;
	berth_dockerignore *ign = NULL;
	int rc;

	memset(&perr, 0, sizeof(perr));
	if (berth_dockerfile_parse_file(df, file, &perr) < 0) {
		fprintf(stderr, "berth lint: %s\n", berth_error_last());
		/* I/O errors have no position and no parser message: keep the whole one */
		return berth_lint_add_error(res, strcmp(file, "-") == 0 ? "<stdin>" : file,
					    perr.line, perr.col,
					    perr.message[0] ? perr.message : berth_error_last()) < 0
			       ? -1
			       : 1;
	}
	if (load_ignore(o, file, &ign) < 0) {
		fprintf(stderr, "berth lint: %s\n", berth_error_last());
		return 1;
	}
	o->cfg.dockerignore = ign;
	o->cfg.context_known = o->dockerignore || o->context || strcmp(file, "-") != 0;
	rc = berth_lint_run(res, *df, &o->cfg);
	o->cfg.dockerignore = NULL;
	berth_dockerignore_free(ign);
	if (rc < 0) {
		fprintf(stderr, "berth lint: %s: %s\n", file, berth_error_last());
		return -1;
	}
	return 0;
}

static int print_report(const lint_opts *o, const berth_lint_result *res,
			berth_dockerfile *const *dfs, size_t n)
{
	berth_lint_format fmt = BERTH_LINT_TEXT;
	char *text = NULL;

	if (strcmp(o->format, "json") == 0)
		fmt = BERTH_LINT_JSON;
	else if (strcmp(o->format, "sarif") == 0)
		fmt = BERTH_LINT_SARIF;
	if (berth_lint_report(&text, res, fmt, (const berth_dockerfile *const *)dfs, n) < 0)
		return berth_cli_fail("lint", -1, "%s", berth_error_last());
	fputs(text, stdout);
	if (fmt != BERTH_LINT_TEXT)
		fputc('\n', stdout);
	free(text);
	return 0;
}

int cmd_lint(int argc, char **argv)
{
	static const berth_lint_config init = BERTH_LINT_CONFIG_INIT;
	static const char *const dflt[] = {"Dockerfile"};
	lint_opts o = {.format = "text", .cfg = init};
	berth_lint_result res = BERTH_LINT_RESULT_INIT;
	berth_dockerfile **dfs = NULL;
	const char *const *files = (const char *const *)argv + 1;
	size_t nfiles = 0;
	int rc = BERTH_EXIT_USAGE, bad = 0, m, n;

	if ((m = berth_args_parse(&lint_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK) {
		rc = berth_args_exit(m);
		goto done;
	}
	berth_heap_hugepages(LINT_HEAP_STEP);
	if (o.no_shellcheck)
		o.cfg.shellcheck = 0;
	if (add_lists(&o) < 0)
		goto done;
	if (o.list_rules) {
		rc = list_rules(o.format);
		goto done;
	}
	if (strcmp(o.format, "markdown") == 0) {
		berth_cli_fail("lint", 0, "--format markdown goes with --list-rules");
		goto done;
	}
	if ((m = configure(&o)) < 0) {
		rc = m == -2 ? BERTH_EXIT_USAGE : BERTH_EXIT_FAIL;
		goto done;
	}
	if ((nfiles = (size_t)n) == 0) {
		files = dflt;
		nfiles = 1;
	}
	rc = BERTH_EXIT_FAIL;
	if (!(dfs = calloc(nfiles, sizeof(*dfs)))) {
		berth_cli_fail("lint", 0, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < nfiles; i++) {
		if ((m = lint_file(&o, files[i], &res, &dfs[i])) < 0)
			goto done;
		bad |= m;
	}
	if (print_report(&o, &res, dfs, nfiles) < 0)
		goto done;
	rc = bad || berth_lint_fails(&res, o.cfg.failure_threshold) ? BERTH_EXIT_FAIL
								    : BERTH_EXIT_OK;
done:
	for (size_t i = 0; dfs && i < nfiles; i++)
		berth_dockerfile_free(dfs[i]);
	free(dfs);
	berth_lint_result_dispose(&res);
	berth_lint_config_dispose(&o.cfg);
	return rc;
}
