/*
 * lint_report.c - lint findings as text (compiler style, with the source
 * line and a caret), JSON (hadolint's keys plus end_line) and SARIF 2.1.0;
 * and the rule table as the Markdown of docs/lint-rules.md.
 */
#include "lint_internal.h"

#include "util/buf.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX (256u << 20)

static const char *family_name(berth_lint_family f)
{
	switch (f) {
	case BERTH_LINT_BUILDKIT: return "BuildKit build check";
	case BERTH_LINT_HADOLINT: return "hadolint rule";
	case BERTH_LINT_SHELLCHECK: return "ShellCheck";
	case BERTH_LINT_BERTH: return "berth rule";
	}
	return "";
}

static const berth_dockerfile *df_for(const char *file, const berth_dockerfile *const *dfs,
				      size_t ndfs)
{
	for (size_t i = 0; dfs && i < ndfs; i++)
		if (dfs[i] && dfs[i]->name && strcmp(dfs[i]->name, file) == 0)
			return dfs[i];
	return NULL;
}

/* "  LINE\n  ^\n" with the caret under column `col` (tabs kept so it lines up). */
static int caret_lines(berth_buf *b, const char *line, uint32_t col)
{
	int rc = berth_buf_puts(b, "  ");

	rc = rc ? rc : berth_buf_puts(b, line);
	rc = rc ? rc : berth_buf_puts(b, "\n  ");
	for (uint32_t k = 1; rc == 0 && k < col && line[k - 1]; k++)
		rc = berth_buf_put(b, line[k - 1] == '\t' ? "\t" : " ", 1);
	return rc ? rc : berth_buf_puts(b, "^\n");
}

static int text_report(berth_buf *b, const berth_lint_result *r, const berth_dockerfile *const *dfs,
		       size_t ndfs)
{
	for (size_t i = 0; i < r->n; i++) {
		const berth_lint_finding *f = &r->items[i];
		const berth_dockerfile *df = df_for(f->file, dfs, ndfs);
		const char *line = df ? berth_dockerfile_line(df, f->line) : NULL;
		int rc = berth_buf_printf(b, "%s:%u:%u: %s %s: %s\n", f->file, f->line,
					  f->col ? f->col : 1, f->rule,
					  berth_lint_severity_name(f->severity), f->message);

		if (rc == 0 && line)
			rc = caret_lines(b, line, f->col ? f->col : 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static json_t *finding_json(const berth_lint_finding *f)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:i}", "code", f->rule, "level",
			 berth_lint_severity_name(f->severity), "message", f->message, "file",
			 f->file, "line", (json_int_t)f->line, "column",
			 (json_int_t)(f->col ? f->col : 1), "end_line", (json_int_t)f->end_line);
}

static const char *sarif_level(berth_lint_severity s)
{
	switch (s) {
	case BERTH_LINT_ERROR: return "error";
	case BERTH_LINT_WARNING: return "warning";
	case BERTH_LINT_INFO:
	case BERTH_LINT_STYLE: return "note";
	default: return "none";
	}
}

static const char *rule_uri(const char *id)
{
	static __thread char uri[160];

	if (strncmp(id, "SC", 2) == 0)
		snprintf(uri, sizeof(uri), "https://www.shellcheck.net/wiki/%s", id);
	else
		snprintf(uri, sizeof(uri), "docs/lint-rules.md#%s", id);
	return uri;
}

/* tool.driver.rules: every rule a result names, in first-use order. */
static json_t *sarif_rules(const berth_lint_result *r, size_t *index)
{
	json_t *rules = json_array();
	size_t n = 0;

	for (size_t i = 0; rules && i < r->n; i++) {
		const berth_lint_rule *rule = berth_lint_rule_find(r->items[i].rule);
		size_t k;

		for (k = 0; k < i; k++)
			if (strcmp(r->items[k].rule, r->items[i].rule) == 0)
				break;
		if (k < i) {
			index[i] = index[k];
			continue;
		}
		index[i] = n++;
		json_array_append_new(
			rules,
			json_pack("{s:s, s:{s:s}, s:s, s:{s:s}}", "id", r->items[i].rule,
				  "shortDescription", "text",
				  rule ? rule->summary : r->items[i].rule, "helpUri",
				  rule_uri(r->items[i].rule), "defaultConfiguration", "level",
				  sarif_level(rule ? rule->severity : r->items[i].severity)));
	}
	return rules;
}

static json_t *sarif_report(const berth_lint_result *r)
{
	size_t *index = calloc(r->n + 1, sizeof(size_t));
	json_t *results = json_array(), *rules, *doc = NULL;

	if (!index || !results) {
		free(index);
		json_decref(results);
		return NULL;
	}
	rules = sarif_rules(r, index);
	for (size_t i = 0; i < r->n; i++) {
		const berth_lint_finding *f = &r->items[i];

		json_array_append_new(
			results,
			json_pack("{s:s, s:i, s:s, s:{s:s}, s:[{s:{s:{s:s}, s:{s:i, s:i, s:i}}}]}",
				  "ruleId", f->rule, "ruleIndex", (json_int_t)index[i], "level",
				  sarif_level(f->severity), "message", "text", f->message,
				  "locations", "physicalLocation", "artifactLocation", "uri",
				  f->file, "region", "startLine", (json_int_t)f->line,
				  "startColumn", (json_int_t)(f->col ? f->col : 1), "endLine",
				  (json_int_t)f->end_line));
	}
	doc = json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:s, s:o}}, s:o}]}", "$schema",
			"https://json.schemastore.org/sarif-2.1.0.json", "version", "2.1.0", "runs",
			"tool", "driver", "name", "berth lint", "informationUri",
			"https://github.com/berth/berth/blob/main/docs/lint-rules.md", "version",
			"0.1.0", "rules", rules, "results", results);
	free(index);
	return doc;
}

int berth_lint_report(char **out, const berth_lint_result *r, berth_lint_format fmt,
		      const berth_dockerfile *const *dfs, size_t ndfs)
{
	berth_buf b = BERTH_BUF_INIT(REPORT_MAX);
	json_t *doc = NULL;
	char *s;

	*out = NULL;
	if (fmt == BERTH_LINT_TEXT) {
		if (text_report(&b, r, dfs, ndfs) < 0 || berth_buf_puts(&b, "") < 0) {
			berth_buf_dispose(&b);
			return berth_error_set(BERTH_ERROR, "out of memory formatting the report");
		}
		*out = berth_buf_detach(&b, NULL);
		return 0;
	}
	if (fmt == BERTH_LINT_JSON) {
		doc = json_array();
		for (size_t i = 0; doc && i < r->n; i++)
			json_array_append_new(doc, finding_json(&r->items[i]));
	} else {
		doc = sarif_report(r);
	}
	s = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!s)
		return berth_error_set(BERTH_ERROR, "out of memory formatting the report");
	*out = s;
	return 0;
}

/* Markdown: a fenced Dockerfile block. */
static int fenced(berth_buf *b, const char *title, const char *text)
{
	int rc = berth_buf_printf(b, "%s:\n\n```dockerfile\n%s", title, text);

	if (rc == 0 && text[0] && text[strlen(text) - 1] != '\n')
		rc = berth_buf_puts(b, "\n");
	return rc ? rc : berth_buf_puts(b, "```\n\n");
}

static int rule_markdown(berth_buf *b, const berth_lint_rule *r)
{
	int rc = berth_buf_printf(
		b, "## %s\n\n- Source: %s\n- Severity: %s\n- Message: %s\n\n%s\n\n", r->id,
		family_name(r->family), berth_lint_severity_name(r->severity), r->summary, r->why);

	if (rc == 0 && r->config)
		rc = berth_buf_printf(
			b, "With this configuration (.hadolint.yaml):\n\n```yaml\n%s```\n\n",
			r->config);
	if (rc == 0 && r->dockerignore)
		rc = berth_buf_printf(b, "With this .dockerignore:\n\n```\n%s```\n\n",
				      r->dockerignore);
	if (rc == 0)
		rc = fenced(b, "Flagged", r->bad);
	if (rc == 0)
		rc = fenced(b, "Not flagged", r->good);
	return rc;
}

int berth_lint_rules_markdown(char **out)
{
	berth_buf b = BERTH_BUF_INIT(REPORT_MAX);
	int rc = berth_buf_puts(
		&b, "# berth lint rules\n\n"
		    "Generated by `berth lint --list-rules --format markdown`; a test keeps this "
		    "file equal to that output, and lints each example below (the flagged one must "
		    "trigger its rule, the other must not).\n\n"
		    "Severities: error, warning, info, style; `ignore` means the rule is off "
		    "unless a configuration's `override` turns it on. SC ids come from ShellCheck "
		    "(run on every RUN script when `shellcheck` is installed) and are documented "
		    "at https://www.shellcheck.net/wiki/.\n\n");

	for (size_t i = 0; rc == 0 && i < berth_lint__ntable; i++)
		rc = rule_markdown(&b, &berth_lint__table[i]);
	if (rc < 0) {
		berth_buf_dispose(&b);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	*out = berth_buf_detach(&b, NULL);
	return 0;
}
