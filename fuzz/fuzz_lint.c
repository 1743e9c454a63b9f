/*
 * fuzz_lint.c - libFuzzer target for `berth lint` (src/lib/dockerfile/lint*.c):
 * the input is a Dockerfile; when it parses, every rule runs over it
 * (shellcheck off: no processes under the fuzzer) and the findings are
 * rendered in all three formats. The first line, when it starts with
 * "#yaml:", is also read as a .hadolint.yaml (the rest of that line, with
 * "\n" for "|"), and the raw bytes go through the shell splitter.
 *
 * Invariants: every finding lies inside the file (1 <= line <= end_line <=
 * lines) and names a rule of the table; nothing crashes or leaks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"
#include "berth/lint.h"
#include "lib/dockerfile/lint_internal.h"

static void config_from_first_line(berth_lint_config *cfg, const uint8_t *data, size_t size)
{
	char *yaml;
	size_t n = 0;

	if (size < 6 || memcmp(data, "#yaml:", 6) != 0)
		return;
	while (6 + n < size && data[6 + n] != '\n')
		n++;
	if (!(yaml = malloc(n + 1)))
		return;
	for (size_t i = 0; i < n; i++)
		yaml[i] = data[6 + i] == '|' ? '\n' : (char)data[6 + i];
	yaml[n] = '\0';
	if (berth_lint_config_parse(cfg, yaml, n, "fuzz.yaml") < 0)
		berth_error_clear(); /* a bad config is an ordinary outcome here */
	free(yaml);
}

static void check(const berth_lint_result *r, const berth_dockerfile *df)
{
	for (size_t i = 0; i < r->n; i++) {
		const berth_lint_finding *f = &r->items[i];

		if (f->line < 1 || f->line > f->end_line ||
		    f->end_line > (df->nlines ? df->nlines : 1))
			abort();
		if (!berth_lint_rule_find(f->rule) && strncmp(f->rule, "SC", 2) != 0)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;
	berth_lint_result res = BERTH_LINT_RESULT_INIT;
	berth_dockerfile *df = NULL;
	lint_script script;
	char *text = malloc(size + 1), *out = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if (berth_lint__shell_split(&script, text) == 0)
		berth_lint__shell_dispose(&script);
	cfg.shellcheck = 0;
	cfg.context_known = 1;
	config_from_first_line(&cfg, data, size);
	if (berth_dockerfile_parse(&df, (const char *)data, size, "fuzz", NULL) == 0 &&
	    berth_lint_run(&res, df, &cfg) == 0) {
		const berth_dockerfile *dfs[] = {df};

		check(&res, df);
		for (int fmt = BERTH_LINT_TEXT; fmt <= BERTH_LINT_SARIF; fmt++) {
			if (berth_lint_report(&out, &res, (berth_lint_format)fmt, dfs, 1) == 0)
				free(out);
			out = NULL;
		}
	}
	berth_lint_result_dispose(&res);
	berth_dockerfile_free(df);
	berth_lint_config_dispose(&cfg);
	free(text);
	return 0;
}
