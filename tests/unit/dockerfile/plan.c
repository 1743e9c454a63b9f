/*
 * plan.c - expansion of a whole Dockerfile for a build and its stage graph:
 * ARG scoping (global ARGs for FROM only unless redeclared), build args over
 * defaults, the automatic platform ARGs, proxy ARGs, ENV over ARG, the
 * one-instruction-at-once rule, which instructions expand, heredoc files,
 * stage references by name and index, pruning to a target, cycles and
 * unknown stages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berth/dockerfile.h"

static berth_df_plan *plan_of(const char *text, berth_dockerfile **df, const berth_df_build_opts *o)
{
	berth_df_plan *p = NULL;

	if (berth_dockerfile_parse(df, text, strlen(text), "Dockerfile", NULL) != 0)
		fail_msg("parse: %s", berth_error_last());
	if (berth_dockerfile_plan(&p, *df, o, NULL) != 0)
		fail_msg("plan: %s", berth_error_last());
	return p;
}

static const char *kv(const berth_df_xinstr *x, const char *key)
{
	for (size_t i = 0; i < x->nkvs; i++)
		if (strcmp(x->kvs[i].key, key) == 0)
			return x->kvs[i].value;
	return NULL;
}

static void test_global_args_reach_from_only(void **state)
{
	berth_dockerfile *df;
	berth_df_plan *p = plan_of("ARG V=1\n"
				   "ARG NONE\n"
				   "FROM img:$V\n"
				   "ENV X=$V\n"
				   "ARG V\n"
				   "ENV Y=$V Z=${NONE:-unset}\n",
				   &df, NULL);
	const berth_df_xstage *s = &p->stages[0];

	assert_string_equal(s->base, "img:1");
	assert_string_equal(kv(&s->instrs[0], "X"), "");
	assert_int_equal(s->instrs[0].nunmatched, 1);
	assert_string_equal(s->instrs[0].unmatched[0], "V");
	assert_string_equal(kv(&s->instrs[2], "Y"), "1");
	assert_string_equal(kv(&s->instrs[2], "Z"), "unset");
	assert_string_equal(berth_df_vars_get(&p->global_args, "V"), "1");
	assert_null(berth_df_vars_get(&p->global_args, "NONE"));
	berth_df_plan_free(p);
	berth_dockerfile_free(df);
}

static void test_build_args_override_defaults(void **state)
{
	berth_df_vars args = BERTH_DF_VARS_INIT;
	berth_df_build_opts o = {.build_args = &args};
	berth_dockerfile *df;
	berth_df_plan *p;

	assert_int_equal(berth_df_vars_set(&args, "V", "9"), 0);
	assert_int_equal(berth_df_vars_set(&args, "S", "stage"), 0);
	assert_int_equal(berth_df_vars_set(&args, "HTTP_PROXY", "http://proxy:3128"), 0);
	assert_int_equal(berth_df_vars_set(&args, "NOBODY", "x"), 0);
	p = plan_of("ARG V=1\nFROM img:$V\nARG S=default\nARG V\nRUN true\n", &df, &o);
	assert_string_equal(p->stages[0].base, "img:9");
	assert_string_equal(kv(&p->stages[0].instrs[0], "S"), "stage");
	assert_string_equal(kv(&p->stages[0].instrs[1], "V"), "9");
	/* RUN sees declared ARGs and the proxy args, declared or not */
	assert_string_equal(berth_df_vars_get(&p->stages[0].instrs[2].env, "S"), "stage");
	assert_string_equal(berth_df_vars_get(&p->stages[0].instrs[2].env, "HTTP_PROXY"),
			    "http://proxy:3128");
	assert_null(berth_df_vars_get(&p->stages[0].instrs[2].env, "NOBODY"));
	assert_int_equal(p->nunused_build_args, 1);
	assert_string_equal(p->unused_build_args[0], "NOBODY");
	berth_df_plan_free(p);
	berth_dockerfile_free(df);
	berth_df_vars_dispose(&args);
}

static void test_platform_args(void **state)
{
	berth_df_build_opts o = {.build_platform = "linux/amd64",
				 .target_platform = "linux/arm64/v8"};
	berth_dockerfile *df;
	berth_df_plan *p = plan_of("FROM --platform=$BUILDPLATFORM golang AS b\n"
				   "ENV UNDECLARED=$TARGETARCH\n"
				   "ARG TARGETARCH\n"
				   "ARG TARGETPLATFORM\n"
				   "ENV ARCH=$TARGETARCH PLAT=$TARGETPLATFORM\n"
				   "FROM --platform=linux/arm/v7 alpine\n",
				   &df, &o);

	assert_string_equal(p->stages[0].platform, "linux/amd64");
	assert_string_equal(kv(&p->stages[0].instrs[0], "UNDECLARED"), "");
	assert_string_equal(kv(&p->stages[0].instrs[3], "ARCH"), "arm64");
	assert_string_equal(kv(&p->stages[0].instrs[3], "PLAT"), "linux/arm64");
	assert_string_equal(berth_df_vars_get(&p->builtin_args, "BUILDOS"), "linux");
	assert_string_equal(berth_df_vars_get(&p->builtin_args, "TARGETVARIANT"), "");
	assert_string_equal(p->stages[1].platform, "linux/arm/v7");
	berth_df_plan_free(p);
	berth_dockerfile_free(df);
}

static void test_env_scoping(void **state)
{
	berth_dockerfile *df;
	berth_df_plan *p = plan_of("FROM a\n"
				   "ARG X=arg\n"
				   "ENV X=env\n"
				   "ARG X=again\n"
				   "ENV Y=$X\n"
				   "ENV A=1\n"
				   "ENV A=2 B=$A\n"
				   "ENV LEGACY value is $A\n",
				   &df, NULL);
	const berth_df_xstage *s = &p->stages[0];

	assert_string_equal(kv(&s->instrs[3], "Y"), "env"); /* ENV wins over ARG */
	assert_string_equal(kv(&s->instrs[5], "B"), "1");   /* the scope before the ENV */
	assert_string_equal(kv(&s->instrs[6], "LEGACY"), "value is 2");
	assert_string_equal(berth_df_vars_get(&s->env, "A"), "2");
	berth_df_plan_free(p);
	berth_dockerfile_free(df);
}

static void test_which_instructions_expand(void **state)
{
	berth_dockerfile *df;
	berth_df_plan *p = plan_of("FROM a\n"
				   "ARG D=/srv P=\"80 443/udp\" U=app\n"
				   "WORKDIR $D\n"
				   "USER $U\n"
				   "EXPOSE $P\n"
				   "VOLUME [\"$D/data\"]\n"
				   "STOPSIGNAL ${SIG:-SIGQUIT}\n"
				   "LABEL $U=\"$D\"\n"
				   "COPY --chown=$U:$U ${D}/a \"$D/b\"\n"
				   "RUN echo $D\n"
				   "CMD echo $D\n"
				   "HEALTHCHECK CMD echo $D\n"
				   "COPY <<EOF /f\n$D\nEOF\n"
				   "COPY <<'EOF' /g\n$D\nEOF\n"
				   "RUN <<EOF\necho $D\nEOF\n",
				   &df, NULL);
	const berth_df_xinstr *x = p->stages[0].instrs;

	assert_string_equal(x[1].words[0], "/srv");
	assert_string_equal(x[2].words[0], "app");
	assert_int_equal(x[3].nwords, 2);
	assert_string_equal(x[3].words[0], "80");
	assert_string_equal(x[3].words[1], "443/udp");
	assert_string_equal(x[4].words[0], "/srv/data");
	assert_string_equal(x[5].words[0], "SIGQUIT");
	assert_string_equal(kv(&x[6], "app"), "/srv");
	assert_string_equal(x[7].flags[0].value, "app:app");
	assert_string_equal(x[7].words[0], "/srv/a");
	assert_string_equal(x[7].words[1], "/srv/b");
	assert_string_equal(x[8].words[0], "echo $D");
	assert_string_equal(x[9].words[0], "echo $D");
	assert_string_equal(x[10].words[0], "echo $D");
	assert_string_equal(x[11].words[0], "<<EOF");
	assert_string_equal(x[11].heredoc_bodies[0], "/srv\n");
	assert_string_equal(x[12].heredoc_bodies[0], "$D\n");
	assert_string_equal(x[13].heredoc_bodies[0], "echo $D\n");
	berth_df_plan_free(p);
	berth_dockerfile_free(df);
}

static void test_stage_graph_and_pruning(void **state)
{
	static const char *t = "FROM golang AS deps\n"
			       "FROM deps AS build\n"
			       "FROM alpine AS test\n"
			       "COPY --from=build /out /app\n"
			       "FROM scratch AS final\n"
			       "COPY --from=1 /out /app\n"
			       "COPY --from=nginx:latest /etc/nginx /nginx\n"
			       "RUN --mount=type=bind,from=deps,target=/d true\n"
			       "FROM later AS early\n"
			       "FROM alpine AS later\n";
	berth_df_build_opts o = {.target = "TEST"};
	berth_dockerfile *df;
	berth_df_plan *p = plan_of(t, &df, &o);

	assert_int_equal(p->target, 2);
	assert_true(p->stages[0].needed);
	assert_true(p->stages[1].needed);
	assert_true(p->stages[2].needed);
	assert_false(p->stages[3].needed);
	assert_int_equal(p->stages[1].base_stage, 0);
	berth_df_plan_free(p);
	berth_dockerfile_free(df);
	o.target = NULL;
	p = plan_of(t, &df, &o);
	berth_dockerfile_free(df);
	/* the last stage; FROM a later stage's name is an image */
	assert_int_equal(p->target, 5);
	assert_int_equal(p->stages[4].base_stage, BERTH_DF_NO_STAGE);
	assert_string_equal(p->stages[4].base, "later");
	assert_false(p->stages[3].needed);
	berth_df_plan_free(p);
	o.target = "final";
	p = plan_of(t, &df, &o);
	assert_int_equal(p->stages[3].ndeps, 2);
	assert_int_equal(p->stages[3].deps[0], 0);
	assert_int_equal(p->stages[3].deps[1], 1);
	assert_int_equal(p->stages[3].nimages, 1);
	assert_string_equal(p->stages[3].images[0], "nginx:latest");
	assert_true(p->stages[0].needed);
	assert_false(p->stages[2].needed);
	berth_df_plan_free(p);
	berth_dockerfile_free(df);
}

static void expect_plan_error(const char *text, const char *target, int code, uint32_t line,
			      const char *msg)
{
	berth_dockerfile *df = NULL;
	berth_df_plan *p = NULL;
	berth_df_build_opts o = {.target = target};
	berth_df_error err;

	assert_int_equal(berth_dockerfile_parse(&df, text, strlen(text), "Dockerfile", NULL), 0);
	if (berth_dockerfile_plan(&p, df, &o, &err) != code)
		fail_msg("[%s]: want code %d, got %s", text, code, berth_error_last());
	if (err.line != line || !strstr(err.message, msg))
		fail_msg("[%s]: %u %s; want %u %s", text, err.line, err.message, line, msg);
	berth_dockerfile_free(df);
}

static void test_graph_errors(void **state)
{
	expect_plan_error("FROM a AS stage0\nCOPY --from=stage0 f /\n", NULL, BERTH_EINVALID, 1,
			  "circular dependency detected on stage: stage0");
	expect_plan_error("FROM a AS s0\nCOPY --from=s2 f /\nFROM a AS s1\nCOPY --from=s0 f /\n"
			  "FROM a AS s2\nCOPY --from=s1 f /\n",
			  NULL, BERTH_EINVALID, 1, "circular dependency detected on stage: s0");
	expect_plan_error("FROM a\nCOPY --from=7 f /\n", NULL, BERTH_EINVALID, 2,
			  "invalid stage index 7");
	expect_plan_error("FROM a AS x\n", "nope", BERTH_ENOTFOUND, 0,
			  "target stage nope could not be found");
	expect_plan_error("FROM a\nENV A=${B:?needs_B}\n", NULL, BERTH_EINVALID, 2, "B: needs_B");
	expect_plan_error("FROM a\nFOO x\n", NULL, BERTH_EINVALID, 2, "unknown instruction");
}

static void test_escape_directive_in_expansion(void **state)
{
	berth_dockerfile *df;
	berth_df_plan *p = plan_of("# escape=`\nFROM a\nENV P=C:\\dir\\`$X\n", &df, NULL);

	assert_string_equal(kv(&p->stages[0].instrs[0], "P"), "C:\\dir\\$X");
	berth_df_plan_free(p);
	berth_dockerfile_free(df);
}

static void test_platform_parse(void **state)
{
	static const char *c[][4] = {
		{"linux/amd64", "linux", "amd64", ""},	   {"amd64", "linux", "amd64", ""},
		{"linux/x86_64", "linux", "amd64", ""},	   {"linux/aarch64", "linux", "arm64", ""},
		{"linux/arm64/v8", "linux", "arm64", ""},  {"linux/arm", "linux", "arm", "v7"},
		{"linux/armhf", "linux", "arm", "v7"},	   {"Linux/ARM/v6", "linux", "arm", "v6"},
		{"windows/amd64", "windows", "amd64", ""},
	};
	char os[64], arch[64], var[64];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		assert_int_equal(berth_df_platform_parse(c[i][0], os, arch, var), 0);
		if (strcmp(os, c[i][1]) || strcmp(arch, c[i][2]) || strcmp(var, c[i][3]))
			fail_msg("%s -> %s/%s/%s", c[i][0], os, arch, var);
	}
	assert_int_equal(berth_df_platform_parse("a/b/c/d", os, arch, var), BERTH_EINVALID);
	assert_int_equal(berth_df_platform_parse("linux//x", os, arch, var), BERTH_EINVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global_args_reach_from_only),
		cmocka_unit_test(test_build_args_override_defaults),
		cmocka_unit_test(test_platform_args),
		cmocka_unit_test(test_env_scoping),
		cmocka_unit_test(test_which_instructions_expand),
		cmocka_unit_test(test_stage_graph_and_pruning),
		cmocka_unit_test(test_graph_errors),
		cmocka_unit_test(test_escape_directive_in_expansion),
		cmocka_unit_test(test_platform_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
