/*
 * lint_rules.c - every lint rule against its documented examples (the
 * table in src/lib/dockerfile/lint_rules.c, rendered into
 * docs/lint-rules.md): the flagged example must produce a finding of the
 * rule, the other must not. Then suppression (inline and global hadolint
 * pragmas, BuildKit's check directive), configuration (.hadolint.yaml),
 * thresholds, ShellCheck findings, report formats and the outline data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/dockerfile.h"
#include "berth/lint.h"

static berth_dockerfile *parse(const char *text)
{
	berth_dockerfile *df = NULL;
	berth_df_error err;

	if (berth_dockerfile_parse(&df, text, strlen(text), "Dockerfile", &err) < 0)
		fail_msg("parse failed: %s\n---\n%s", berth_error_last(), text);
	return df;
}

/* Lint `text` with cfg (shellcheck off unless the caller turned it on). */
static void lint(berth_lint_result *res, const char *text, const berth_lint_config *cfg)
{
	berth_dockerfile *df = parse(text);

	assert_int_equal(berth_lint_run(res, df, cfg), 0);
	berth_dockerfile_free(df);
}

static size_t count(const berth_lint_result *r, const char *id)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += strcmp(r->items[i].rule, id) == 0;
	return n;
}

static const berth_lint_finding *find(const berth_lint_result *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->items[i].rule, id) == 0)
			return &r->items[i];
	return NULL;
}

static void rule_config(berth_lint_config *cfg, const berth_lint_rule *rule)
{
	static const berth_lint_config init = BERTH_LINT_CONFIG_INIT;

	*cfg = init;
	cfg->shellcheck = 0;
	if (rule->config)
		assert_int_equal(berth_lint_config_parse(cfg, rule->config, strlen(rule->config),
							 "test.yaml"),
				 0);
	if (rule->severity == BERTH_LINT_IGNORE)
		assert_int_equal(berth_lint_config_override(cfg, rule->id, BERTH_LINT_WARNING), 0);
}

static void test_every_rule_flags_its_bad_example(void **state)
{
	size_t n;
	const berth_lint_rule *rules = berth_lint_rules(&n);

	(void)state;
	assert_true(n >= 20 + 62 + 6 + 10);
	for (size_t i = 0; i < n; i++) {
		berth_lint_config cfg;
		berth_lint_result res = BERTH_LINT_RESULT_INIT;
		berth_dockerignore *ign = NULL;

		rule_config(&cfg, &rules[i]);
		if (rules[i].dockerignore && strcmp(rules[i].id, "BL010") != 0) {
			assert_int_equal(berth_dockerignore_parse(&ign, rules[i].dockerignore,
								  strlen(rules[i].dockerignore),
								  ".dockerignore"),
					 0);
			cfg.dockerignore = ign;
		}
		cfg.context_known = rules[i].dockerignore != NULL;
		lint(&res, rules[i].bad, &cfg);
		if (count(&res, rules[i].id) == 0)
			fail_msg("%s does not flag its example:\n%s", rules[i].id, rules[i].bad);
		berth_lint_result_dispose(&res);
		berth_dockerignore_free(ign);
		berth_lint_config_dispose(&cfg);
	}
}

static void test_no_rule_flags_its_good_example(void **state)
{
	size_t n;
	const berth_lint_rule *rules = berth_lint_rules(&n);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		berth_lint_config cfg;
		berth_lint_result res = BERTH_LINT_RESULT_INIT;
		berth_dockerignore *ign = NULL;

		rule_config(&cfg, &rules[i]);
		if (rules[i].dockerignore) {
			assert_int_equal(berth_dockerignore_parse(&ign, rules[i].dockerignore,
								  strlen(rules[i].dockerignore),
								  ".dockerignore"),
					 0);
			cfg.dockerignore = ign;
			cfg.context_known = 1;
		}
		lint(&res, rules[i].good, &cfg);
		if (count(&res, rules[i].id) != 0)
			fail_msg("%s flags its good example:\n%s\n(%s)", rules[i].id, rules[i].good,
				 find(&res, rules[i].id)->message);
		berth_lint_result_dispose(&res);
		berth_dockerignore_free(ign);
		berth_lint_config_dispose(&cfg);
	}
}

static void test_rule_ids_are_unique_and_documented(void **state)
{
	size_t n;
	const berth_lint_rule *rules = berth_lint_rules(&n);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_non_null(rules[i].summary);
		assert_true(strlen(rules[i].why) > 10);
		assert_ptr_equal(berth_lint_rule_find(rules[i].id), &rules[i]);
	}
	/* hadolint's full ranges, retired ids included */
	for (int id = 3000; id <= 3061; id++) {
		char s[16];

		snprintf(s, sizeof(s), "DL%d", id);
		if (!berth_lint_rule_find(s))
			fail_msg("%s is missing", s);
	}
	for (int id = 4000; id <= 4006; id++) {
		char s[16];

		snprintf(s, sizeof(s), "DL%d", id);
		if (id != 4002 && !berth_lint_rule_find(s)) /* hadolint has no DL4002 */
			fail_msg("%s is missing", s);
	}
}

static void test_findings_carry_position_and_end_line(void **state)
{
	berth_lint_result res = BERTH_LINT_RESULT_INIT;
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;
	const berth_lint_finding *f;

	(void)state;
	cfg.shellcheck = 0;
	lint(&res, "FROM debian:12\n\nRUN apt-get install -y \\\n    curl\n", &cfg);
	f = find(&res, "DL3008");
	assert_non_null(f);
	assert_string_equal(f->file, "Dockerfile");
	assert_int_equal(f->line, 3);
	assert_int_equal(f->col, 1);
	assert_int_equal(f->end_line, 4);
	assert_int_equal(f->severity, BERTH_LINT_WARNING);
	berth_lint_result_dispose(&res);
}

static void test_inline_and_global_pragmas(void **state)
{
	berth_lint_result res = BERTH_LINT_RESULT_INIT;
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;

	(void)state;
	cfg.shellcheck = 0;
	lint(&res,
	     "# hadolint global ignore=DL3059\n"
	     "# hadolint ignore=DL3006,DL3007\n"
	     "FROM debian\n"
	     "RUN echo a\nRUN echo b\n"
	     "FROM ubuntu\n",
	     &cfg);
	assert_int_equal(count(&res, "DL3006"), 1); /* only the second FROM */
	assert_int_equal(find(&res, "DL3006")->line, 6);
	assert_int_equal(count(&res, "DL3059"), 0);
	berth_lint_result_dispose(&res);

	cfg.disable_ignore_pragma = 1;
	lint(&res, "# hadolint ignore=DL3006\nFROM debian\n", &cfg);
	assert_int_equal(count(&res, "DL3006"), 1);
	berth_lint_result_dispose(&res);
}

static void test_check_directive_skip_and_error(void **state)
{
	berth_lint_result res = BERTH_LINT_RESULT_INIT;
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;

	(void)state;
	cfg.shellcheck = 0;
	lint(&res, "# check=skip=StageNameCasing\nFROM alpine:3.20 AS Build\nCMD echo\n", &cfg);
	assert_int_equal(count(&res, "StageNameCasing"), 0);
	assert_int_equal(count(&res, "JSONArgsRecommended"), 1);
	berth_lint_result_dispose(&res);

	lint(&res, "# check=skip=all\nFROM alpine:3.20 AS Build\nCMD echo\n", &cfg);
	assert_int_equal(count(&res, "StageNameCasing"), 0);
	assert_int_equal(count(&res, "JSONArgsRecommended"), 0);
	assert_int_equal(count(&res, "DL3025"), 1); /* hadolint rules are not BuildKit checks */
	berth_lint_result_dispose(&res);

	lint(&res, "# check=error=true\nFROM alpine:3.20 AS Build\n", &cfg);
	assert_int_equal(find(&res, "StageNameCasing")->severity, BERTH_LINT_ERROR);
	berth_lint_result_dispose(&res);
}

static const char yaml[] = "ignored:\n  - DL3006\n"
			   "override:\n  error:\n    - DL3059\n  style: [DL3015]\n"
			   "trustedRegistries:\n  - registry.company.com\n  - '*.mirror.io'\n"
			   "failure-threshold: warning\n"
			   "format: json\n";

static void test_hadolint_yaml_keys(void **state)
{
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;
	berth_lint_result res = BERTH_LINT_RESULT_INIT;

	(void)state;
	cfg.shellcheck = 0;
	assert_int_equal(berth_lint_config_parse(&cfg, yaml, strlen(yaml), "h.yaml"), 0);
	assert_int_equal(cfg.nignored, 1);
	assert_int_equal(cfg.ntrusted, 2);
	assert_int_equal(cfg.failure_threshold, BERTH_LINT_WARNING);
	assert_true(cfg.threshold_set);
	lint(&res,
	     "FROM debian\nRUN apt-get install -y curl=1\nRUN echo a\n"
	     "FROM docker.io/library/alpine:3.20\nFROM registry.company.com/x:1\n"
	     "FROM a.mirror.io/x:1\n",
	     &cfg);
	assert_int_equal(count(&res, "DL3006"), 0);
	assert_int_equal(find(&res, "DL3059")->severity, BERTH_LINT_ERROR);
	assert_int_equal(find(&res, "DL3015")->severity, BERTH_LINT_STYLE);
	assert_int_equal(count(&res, "DL3026"), 2); /* debian (docker.io) and docker.io/... */
	assert_int_equal(count(&res, "BL004"), 2);
	assert_true(berth_lint_fails(&res, BERTH_LINT_WARNING));
	berth_lint_result_dispose(&res);
	berth_lint_config_dispose(&cfg);
}

static void test_bad_yaml_names_its_position(void **state)
{
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;
	static const char bad_type[] = "ignored:\n  a: b\n";
	static const char bad_sev[] = "failure-threshold: fatal\n";
	static const char bad_syntax[] = "ignored: [DL3006\n";

	(void)state;
	assert_int_equal(berth_lint_config_parse(&cfg, bad_type, strlen(bad_type), "h.yaml"),
			 BERTH_EINVALID);
	assert_string_equal(berth_error_last(), "h.yaml:2:3: 'ignored' must be a list of strings");
	assert_int_equal(berth_lint_config_parse(&cfg, bad_sev, strlen(bad_sev), "h.yaml"),
			 BERTH_EINVALID);
	assert_string_equal(
		berth_error_last(),
		"h.yaml:1:20: 'failure-threshold' is error, warning, info, style or none");
	assert_int_equal(berth_lint_config_parse(&cfg, bad_syntax, strlen(bad_syntax), "h.yaml"),
			 BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "h.yaml:2:1: "));
	berth_lint_config_dispose(&cfg);
}

static void test_failure_threshold(void **state)
{
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;
	berth_lint_result res = BERTH_LINT_RESULT_INIT;

	(void)state;
	cfg.shellcheck = 0;
	lint(&res, "FROM alpine:3.20\nRUN echo a\nRUN echo b\n", &cfg); /* DL3059 info, BL* */
	assert_int_equal(berth_lint_config_ignore(&cfg, "BL001"), 0);
	berth_lint_result_dispose(&res);
	assert_int_equal(berth_lint_config_ignore(&cfg, "BL002"), 0);
	assert_int_equal(berth_lint_config_ignore(&cfg, "BL006"), 0);
	lint(&res, "FROM alpine:3.20\nRUN echo a\nRUN echo b\n", &cfg);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.items[0].rule, "DL3059");
	assert_true(berth_lint_fails(&res, BERTH_LINT_STYLE));
	assert_true(berth_lint_fails(&res, BERTH_LINT_INFO));
	assert_false(berth_lint_fails(&res, BERTH_LINT_WARNING));
	assert_false(berth_lint_fails(&res, BERTH_LINT_IGNORE));
	berth_lint_result_dispose(&res);
	berth_lint_config_dispose(&cfg);
}

static void test_shellcheck_findings(void **state)
{
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;
	berth_lint_result res = BERTH_LINT_RESULT_INIT;
	const berth_lint_finding *f;

	(void)state;
	if (access("/usr/bin/shellcheck", X_OK) != 0)
		fail_msg("shellcheck is not installed: apt-get install shellcheck");
	lint(&res, "FROM alpine:3.20\nRUN echo $undefined_thing\n", &cfg);
	f = find(&res, "SC2154");
	assert_non_null(f);
	assert_int_equal(f->line, 2);
	assert_int_equal(f->severity, BERTH_LINT_WARNING);
	berth_lint_result_dispose(&res);

	/* ARG and ENV names are exported for ShellCheck, as hadolint does */
	lint(&res, "FROM alpine:3.20\nARG undefined_thing\nRUN echo \"$undefined_thing\"\n", &cfg);
	assert_int_equal(count(&res, "SC2154"), 0);
	berth_lint_result_dispose(&res);

	assert_int_equal(berth_lint_config_ignore(&cfg, "SC2154"), 0);
	lint(&res, "FROM alpine:3.20\nRUN echo $undefined_thing\n", &cfg);
	assert_int_equal(count(&res, "SC2154"), 0);
	berth_lint_result_dispose(&res);
	berth_lint_config_dispose(&cfg);
}

static void test_reports(void **state)
{
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;
	berth_lint_result res = BERTH_LINT_RESULT_INIT;
	berth_dockerfile *df = parse("FROM debian\n");
	const berth_dockerfile *dfs[] = {df};
	char *out = NULL;

	(void)state;
	cfg.shellcheck = 0;
	assert_int_equal(berth_lint_run(&res, df, &cfg), 0);
	assert_int_equal(berth_lint_report(&out, &res, BERTH_LINT_TEXT, dfs, 1), 0);
	assert_non_null(strstr(out, "Dockerfile:1:1: DL3006 warning: Always tag the version of an "
				    "image explicitly\n  FROM debian\n  ^\n"));
	free(out);
	assert_int_equal(berth_lint_report(&out, &res, BERTH_LINT_JSON, NULL, 0), 0);
	assert_non_null(strstr(out, "\"code\": \"DL3006\""));
	assert_non_null(strstr(out, "\"end_line\": 1"));
	free(out);
	assert_int_equal(berth_lint_report(&out, &res, BERTH_LINT_SARIF, NULL, 0), 0);
	assert_non_null(strstr(out, "\"version\": \"2.1.0\""));
	assert_non_null(strstr(out, "\"ruleId\": \"DL3006\""));
	free(out);
	berth_lint_result_dispose(&res);
	berth_dockerfile_free(df);
}

static void test_outline_and_targets(void **state)
{
	/* BuildKit's rules: descriptions are the comment line that starts with the
	   name; global ARGs count only when a needed stage's FROM uses them */
	berth_dockerfile *df =
		parse("ARG BASE=alpine:3.20\n"
		      "ARG UNUSEDGLOBAL=x\n"
		      "# the build stage, not a description\n"
		      "# build the build stage\n"
		      "FROM ${BASE} AS Build\n"
		      "# VERSION version to stamp\n"
		      "ARG VERSION=dev\n"
		      "ARG FULL=v${VERSION}\n"
		      "RUN --mount=type=secret,id=npm,required=true echo\n"
		      "RUN --mount=type=secret,uid=1000,target=/run/secrets/token echo\n"
		      "FROM alpine:3.20 AS unused\n"
		      "ARG UNUSED=1\n"
		      "FROM alpine:3.20 AS final\n"
		      "ARG BASE\n"
		      "RUN --mount=type=ssh echo\n"
		      "COPY --from=build /a /a\n");
	berth_lint_outline *o = NULL;
	berth_df_vars ba = BERTH_DF_VARS_INIT;
	char *out = NULL;

	(void)state;
	assert_int_equal(berth_lint_outline_make(&o, df, NULL, NULL), 0);
	assert_int_equal(o->ntargets, 3);
	assert_int_equal(o->target, 2);
	assert_string_equal(o->targets[0].name, "build");
	assert_string_equal(o->targets[0].description, "the build stage");
	assert_null(o->targets[1].description);
	assert_true(o->targets[2].is_default);
	/* BASE (FROM of build, and inherited by final), VERSION, FULL; not UNUSEDGLOBAL/UNUSED */
	assert_int_equal(o->nargs, 3);
	assert_string_equal(o->args[0].name, "BASE");
	assert_int_equal(o->args[0].line, 1);
	assert_string_equal(o->args[0].value, "alpine:3.20");
	assert_string_equal(o->args[1].name, "VERSION");
	assert_string_equal(o->args[1].description, "version to stamp");
	assert_string_equal(o->args[2].value, "vdev");
	assert_int_equal(o->nsecrets, 2);
	assert_string_equal(o->secrets[0].id, "npm");
	assert_true(o->secrets[0].required);
	assert_string_equal(o->secrets[1].id, "token");
	assert_false(o->secrets[1].required);
	assert_int_equal(o->nssh, 1);
	assert_string_equal(o->ssh[0].id, "default");

	assert_int_equal(berth_lint_call_outline(&out, o, 0, "x", 1), 0);
	assert_string_equal(out, "TARGET: final\n"
				 "\n"
				 "BUILD ARG   VALUE         DESCRIPTION\n"
				 "BASE        alpine:3.20   \n"
				 "VERSION     dev           version to stamp\n"
				 "FULL        vdev          \n"
				 "\n"
				 "SECRET   REQUIRED\n"
				 "npm      true\n"
				 "token    \n"
				 "\n"
				 "SSH       REQUIRED\n"
				 "default   \n"
				 "\n");
	free(out);
	assert_int_equal(berth_lint_call_targets(&out, o, 0, "x", 1), 0);
	assert_string_equal(out, "TARGET          DESCRIPTION\n"
				 "build           the build stage\n"
				 "unused          \n"
				 "final (default) \n");
	free(out);
	assert_int_equal(berth_lint_call_targets(&out, o, 1, "FROM", 4), 0);
	assert_non_null(strstr(out, "\"default\": true"));
	assert_non_null(strstr(out, "\"sources\": [\n    \"RlJPTQ==\""));
	free(out);
	berth_lint_outline_free(o);

	assert_int_equal(berth_lint_outline_make(&o, df, "nope", NULL), BERTH_ENOTFOUND);
	assert_int_equal(berth_df_vars_set(&ba, "VERSION", "1.2"), 0);
	assert_int_equal(berth_lint_outline_make(&o, df, "build", &ba), 0);
	assert_string_equal(o->args[1].value, "1.2");
	assert_string_equal(o->args[2].value, "v1.2");
	berth_lint_outline_free(o);
	assert_int_equal(berth_lint_outline_make(&o, df, "unused", NULL), 0);
	assert_int_equal(o->nargs, 1); /* UNUSED */
	berth_lint_outline_free(o);
	berth_df_vars_dispose(&ba);
	berth_dockerfile_free(df);
}

static void test_rule_urls(void **state)
{
	char url[256];

	(void)state;
	assert_int_equal(berth_lint_rule_url(url, sizeof(url), "JSONArgsRecommended"), 0);
	assert_string_equal(url,
			    "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
	assert_int_equal(berth_lint_rule_url(url, sizeof(url), "FromPlatformFlagConstDisallowed"),
			 0);
	assert_string_equal(url, "https://docs.docker.com/go/dockerfile/rule/"
				 "from-platform-flag-const-disallowed/");
}

static void test_call_check_output(void **state)
{
	static const char text[] = "FROM alpine:3.20 AS Builder\nRUN true\nCMD echo hi\n";
	berth_dockerfile *df = parse(text);
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;
	berth_lint_result res = BERTH_LINT_RESULT_INIT;
	char *out = NULL;

	(void)state;
	cfg.buildkit_only = 1;
	cfg.shellcheck = 0;
	assert_int_equal(berth_lint_run(&res, df, &cfg), 0);
	assert_int_equal(res.n, 2); /* StageNameCasing, JSONArgsRecommended; no DL/BL rules */
	assert_int_equal(
		berth_lint_call_check(&out, &res, NULL, 0, 0, "Dockerfile", text, sizeof(text) - 1),
		0);
	assert_string_equal(
		out, "Check complete, 2 warnings have been found!\n"
		     "\n"
		     "WARNING: StageNameCasing - "
		     "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/\n"
		     "Stage name 'Builder' should be lowercase\n"
		     "Dockerfile:1\n"
		     "--------------------\n"
		     "   1 | >>> FROM alpine:3.20 AS Builder\n"
		     "   2 |     RUN true\n"
		     "   3 |     CMD echo hi\n"
		     "--------------------\n"
		     "\n"
		     "WARNING: JSONArgsRecommended - "
		     "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/\n"
		     "JSON arguments recommended for CMD to prevent unintended behavior related to "
		     "OS signals\n"
		     "Dockerfile:3\n"
		     "--------------------\n"
		     "   1 |     FROM alpine:3.20 AS Builder\n"
		     "   2 |     RUN true\n"
		     "   3 | >>> CMD echo hi\n"
		     "   4 |     \n"
		     "--------------------\n");
	free(out);
	berth_lint_result_dispose(&res);
	/* skip= from the build argument that replaces the directive; experimental rules off */
	cfg.check_override = "skip=StageNameCasing";
	assert_int_equal(berth_lint_run(&res, df, &cfg), 0);
	assert_int_equal(res.n, 1);
	assert_string_equal(res.items[0].rule, "JSONArgsRecommended");
	berth_lint_result_dispose(&res);
	assert_int_equal(berth_lint_call_check(&out, &res, NULL, 0, 0, "Dockerfile", text, 3), 0);
	assert_string_equal(out, "Check complete, no warnings found.\n");
	free(out);
	assert_int_equal(
		berth_lint_call_check(&out, &res, "unknown instruction: FROMM", 1, 1, "D", "x", 1),
		0);
	assert_non_null(strstr(out, "\"buildError\""));
	assert_non_null(strstr(out, "\"message\": \"unknown instruction: FROMM\""));
	free(out);
	berth_dockerfile_free(df);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_rule_flags_its_bad_example),
		cmocka_unit_test(test_no_rule_flags_its_good_example),
		cmocka_unit_test(test_rule_ids_are_unique_and_documented),
		cmocka_unit_test(test_findings_carry_position_and_end_line),
		cmocka_unit_test(test_inline_and_global_pragmas),
		cmocka_unit_test(test_check_directive_skip_and_error),
		cmocka_unit_test(test_hadolint_yaml_keys),
		cmocka_unit_test(test_bad_yaml_names_its_position),
		cmocka_unit_test(test_failure_threshold),
		cmocka_unit_test(test_shellcheck_findings),
		cmocka_unit_test(test_reports),
		cmocka_unit_test(test_outline_and_targets),
		cmocka_unit_test(test_rule_urls),
		cmocka_unit_test(test_call_check_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
