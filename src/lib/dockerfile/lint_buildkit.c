/*
 * lint_buildkit.c - BuildKit's build checks (`docker build --check`), under
 * BuildKit's names and with its messages: casing of stage names, keywords
 * and instructions, empty continuation lines, stage names, JSON arguments,
 * MAINTAINER, ARG and variable use, ENV/LABEL legacy form, FROM --platform,
 * secrets in ARG/ENV, COPY of ignored files and the EXPOSE format.
 *
 * Variables are read with the module's expander (BuildKit's shell lexer):
 * a reference is "undefined" when the lexer reports it unmatched against
 * the ARG/ENV names in scope.
 */
#include "lint_internal.h"

#include "berth/ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const platform_args[] = {"BUILDPLATFORM", "BUILDOS",	       "BUILDARCH",
					    "BUILDVARIANT",  "TARGETPLATFORM", "TARGETOS",
					    "TARGETARCH",    "TARGETVARIANT",  NULL};

static int all_case(const char *s, int upper)
{
	for (; *s; s++)
		if (isalpha((unsigned char)*s) &&
		    (upper ? islower((unsigned char)*s) : isupper((unsigned char)*s)))
			return 0;
	return 1;
}

static void stage_names(lint_ctx *c)
{
	const berth_dockerfile *df = c->df;

	for (size_t i = 0; i < df->nstages; i++) {
		const berth_df_stage *st = &df->stages[i];
		const berth_df_instr *from = &df->instrs[st->from];

		if (!st->name)
			continue;
		if (!all_case(st->name, 0))
			berth_lint__emit(c, "StageNameCasing", from, (berth_df_pos){0, 0},
					 "Stage name '%s' should be lowercase", st->name);
		if (berth_lint__ieq(st->name, "scratch") || berth_lint__ieq(st->name, "context"))
			berth_lint__emit(c, "ReservedStageName", from, (berth_df_pos){0, 0},
					 "'%s' is reserved and should not be used as a stage name",
					 st->name);
		for (size_t k = 0; k < i; k++) {
			if (df->stages[k].name && berth_lint__ieq(df->stages[k].name, st->name)) {
				berth_lint__emit(c, "DuplicateStageName", from,
						 (berth_df_pos){0, 0},
						 "Duplicate stage name '%s', stage names should be "
						 "unique",
						 st->name);
				break;
			}
		}
		/* FROM image AS name: the AS keyword's casing follows FROM's */
		if (from->nargs >= 3) {
			const char *as = from->args[1].text;
			int from_upper = all_case(from->name, 1),
			    from_lower = all_case(from->name, 0);

			if ((from_upper && !all_case(as, 1)) || (from_lower && !all_case(as, 0)))
				berth_lint__emit(c, "FromAsCasing", from, from->args[1].pos,
						 "'%s' and '%s' keywords' casing do not match", as,
						 from->name);
		}
	}
}

static void casing(lint_ctx *c)
{
	const berth_dockerfile *df = c->df;
	size_t upper = 0, lower = 0;
	int want_upper;

	for (size_t i = 0; i < df->ninstrs; i++) {
		if (all_case(df->instrs[i].name, 1))
			upper++;
		else if (all_case(df->instrs[i].name, 0))
			lower++;
	}
	want_upper = upper >= lower;
	for (size_t i = 0; i < df->ninstrs; i++) {
		const berth_df_instr *in = &df->instrs[i];

		if (in->kind == BERTH_DF_UNKNOWN || all_case(in->name, want_upper))
			continue;
		berth_lint__emit(c, "ConsistentInstructionCasing", in, (berth_df_pos){0, 0},
				 "Command '%s' should match the case of the command majority (%s)",
				 in->name, want_upper ? "uppercase" : "lowercase");
	}
}

/* Shell-form CMD/ENTRYPOINT; several CMD/ENTRYPOINT/HEALTHCHECK in one stage. */
static void exec_forms(lint_ctx *c)
{
	const berth_dockerfile *df = c->df;
	static const berth_df_kind once[] = {BERTH_DF_CMD, BERTH_DF_ENTRYPOINT,
					     BERTH_DF_HEALTHCHECK};

	for (size_t i = 0; i < df->ninstrs; i++) {
		const berth_df_instr *in = &df->instrs[i];

		if ((in->kind == BERTH_DF_CMD || in->kind == BERTH_DF_ENTRYPOINT) &&
		    in->form == BERTH_DF_FORM_SHELL)
			berth_lint__emit(c, "JSONArgsRecommended", in, (berth_df_pos){0, 0},
					 "JSON arguments recommended for %s to prevent unintended "
					 "behavior related to OS signals",
					 berth_dockerfile_kind_name(in->kind));
		if (in->kind == BERTH_DF_MAINTAINER)
			berth_lint__emit(c, "MaintainerDeprecated", in, (berth_df_pos){0, 0}, NULL);
		for (size_t k = 0; k < 3; k++) {
			if (in->kind != once[k] || in->stage == BERTH_DF_NO_STAGE)
				continue;
			/* the ones a later instruction of the same stage overrides */
			for (size_t j = i + 1; j < df->ninstrs && df->instrs[j].stage == in->stage;
			     j++) {
				if (df->instrs[j].kind == in->kind) {
					berth_lint__emit(
						c, "MultipleInstructionsDisallowed", in,
						(berth_df_pos){0, 0},
						"Multiple %s instructions should not be used "
						"in the same stage because only the last one "
						"will be used",
						berth_dockerfile_kind_name(in->kind));
					break;
				}
			}
		}
	}
}

static void continuations(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->nempty_continuation > 0)
			berth_lint__emit(c, "NoEmptyContinuation", in,
					 (berth_df_pos){in->empty_continuation_lines[0], 1},
					 "Empty continuation line");
	}
}

/* ---- variables ---- */

/* Names `word` references that are not in `vars` (the lexer's unmatched list). */
static void undefined_in(lint_ctx *c, const berth_df_instr *in, const char *word,
			 const berth_df_vars *vars, const char *rule)
{
	berth_df_expansion x;
	berth_df_lex_opts o = {c->df->escape, 0, 0, 0, 0};

	if (!strchr(word, '$'))
		return;
	memset(&x, 0, sizeof(x));
	if (berth_df_expand(&x, word, vars, &o) < 0) {
		berth_df_expansion_dispose(&x);
		berth_error_clear();
		return; /* an expansion error is the parser's and check's to report */
	}
	for (size_t i = 0; i < x.nunmatched; i++) {
		const char *name = x.unmatched[i];

		if (strcmp(rule, "UndefinedArgInFrom") == 0)
			berth_lint__emit(c, rule, in, (berth_df_pos){0, 0},
					 "FROM argument '%s' is not declared", name);
		else if (strcmp(name, "PATH") != 0) /* every image's config defines PATH */
			berth_lint__emit(c, rule, in, (berth_df_pos){0, 0},
					 "Usage of undefined variable '$%s'", name);
	}
	berth_df_expansion_dispose(&x);
}

static int set_var(berth_df_vars *v, const char *name, const berth_df_kv *kv)
{
	return berth_df_vars_set(v, name, kv && kv->has_value && kv->value[0] ? kv->value : "x");
}

static int global_args(lint_ctx *c, berth_df_vars *global)
{
	for (size_t i = 0; platform_args[i]; i++)
		if (berth_df_vars_set(global, platform_args[i], "x") < 0)
			return BERTH_ERROR;
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->stage != BERTH_DF_NO_STAGE || in->kind != BERTH_DF_ARG)
			continue;
		for (size_t k = 0; k < in->nkvs; k++)
			if (set_var(global, in->kvs[k].key, &in->kvs[k]) < 0)
				return BERTH_ERROR;
	}
	return 0;
}

/* FROM words and --platform against the global ARGs. */
static void from_args(lint_ctx *c, const berth_df_vars *global)
{
	for (size_t s = 0; s < c->df->nstages; s++) {
		const berth_df_instr *from = &c->df->instrs[c->df->stages[s].from];
		const berth_df_flag *pf = berth_lint__flag(from, "platform");

		if (from->nargs > 0)
			undefined_in(c, from, from->args[0].text, global, "UndefinedArgInFrom");
		if (pf && pf->value)
			undefined_in(c, from, pf->value, global, "UndefinedArgInFrom");
	}
}

/* The words of an instruction BuildKit expands. */
static void check_words(lint_ctx *c, const berth_df_instr *in, const berth_df_vars *scope)
{
	if (in->kind == BERTH_DF_ENV || in->kind == BERTH_DF_LABEL || in->kind == BERTH_DF_ARG) {
		for (size_t k = 0; k < in->nkvs; k++) {
			undefined_in(c, in, in->kvs[k].key, scope, "UndefinedVar");
			if (in->kvs[k].has_value)
				undefined_in(c, in, in->kvs[k].value, scope, "UndefinedVar");
		}
		return;
	}
	if (in->form == BERTH_DF_FORM_JSON && in->kind != BERTH_DF_COPY &&
	    in->kind != BERTH_DF_ADD && in->kind != BERTH_DF_VOLUME)
		return;
	for (size_t k = 0; k < in->nargs; k++)
		undefined_in(c, in, in->args[k].text, scope, "UndefinedVar");
	for (size_t k = 0; k < in->nflags; k++)
		if (in->flags[k].value && (berth_lint__ieq(in->flags[k].name, "chown") ||
					   berth_lint__ieq(in->flags[k].name, "chmod") ||
					   berth_lint__ieq(in->flags[k].name, "from")))
			undefined_in(c, in, in->flags[k].value, scope, "UndefinedVar");
}

/* Walk one stage: ARG/ENV come into scope after the instruction that declares them. */
static int stage_vars(lint_ctx *c, size_t s, const berth_df_vars *global, berth_df_vars *envs)
{
	const berth_df_stage *st = &c->df->stages[s];
	berth_df_vars scope = BERTH_DF_VARS_INIT;
	int rc = 0;

	/* FROM <earlier stage> inherits that stage's ENV */
	for (size_t b = 0; b < s; b++)
		if (c->df->stages[b].name && st->base &&
		    berth_lint__ieq(c->df->stages[b].name, st->base))
			rc = berth_df_vars_copy(&scope, &envs[b]);
	for (size_t i = st->first; rc == 0 && i < st->end; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (berth_dockerfile_kind_expands(in->kind) && in->kind != BERTH_DF_FROM)
			check_words(c, in, &scope);
		for (size_t k = 0; rc == 0 && k < in->nkvs; k++) {
			const char *gv = berth_df_vars_get(global, in->kvs[k].key);

			if (in->kind == BERTH_DF_ENV) {
				rc = set_var(&scope, in->kvs[k].key, &in->kvs[k]);
				rc = rc ? rc : set_var(&envs[s], in->kvs[k].key, &in->kvs[k]);
			} else if (in->kind == BERTH_DF_ARG) {
				rc = in->kvs[k].has_value || !gv
					     ? set_var(&scope, in->kvs[k].key, &in->kvs[k])
					     : berth_df_vars_set(&scope, in->kvs[k].key, gv);
			}
		}
	}
	berth_df_vars_dispose(&scope);
	return rc;
}

static void variables(lint_ctx *c)
{
	berth_df_vars global = BERTH_DF_VARS_INIT;
	berth_df_vars *envs = calloc(c->df->nstages + 1, sizeof(*envs));

	if (!envs || global_args(c, &global) < 0) {
		c->err = BERTH_ERROR;
		goto done;
	}
	from_args(c, &global);
	for (size_t s = 0; s < c->df->nstages && !c->err; s++)
		if (stage_vars(c, s, &global, envs) < 0)
			c->err = BERTH_ERROR;
done:
	for (size_t s = 0; envs && s < c->df->nstages; s++)
		berth_df_vars_dispose(&envs[s]);
	free(envs);
	berth_df_vars_dispose(&global);
}

/* Global ARG defaults (without a default: unset) expanded into each FROM image. */
static void invalid_default_from(lint_ctx *c)
{
	berth_df_vars defaults = BERTH_DF_VARS_INIT;
	berth_df_lex_opts o = {c->df->escape, 0, 0, 0, 0};

	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		for (size_t k = 0;
		     in->stage == BERTH_DF_NO_STAGE && in->kind == BERTH_DF_ARG && k < in->nkvs;
		     k++)
			if (in->kvs[k].has_value &&
			    berth_df_vars_set(&defaults, in->kvs[k].key, in->kvs[k].value) < 0)
				c->err = BERTH_ERROR;
	}
	for (size_t s = 0; s < c->df->nstages && !c->err; s++) {
		const berth_df_instr *from = &c->df->instrs[c->df->stages[s].from];
		berth_df_expansion x;
		berth_ref *ref = NULL;
		size_t dummy;

		if (from->nargs == 0 || !strchr(from->args[0].text, '$'))
			continue;
		memset(&x, 0, sizeof(x));
		if (berth_df_expand(&x, from->args[0].text, &defaults, &o) == 0 &&
		    !berth_lint__stage_ref(c, x.word, s, &dummy) &&
		    (x.word[0] == '\0' ||
		     (strcmp(x.word, "scratch") != 0 && berth_ref_parse(&ref, x.word) < 0))) {
			berth_lint__emit(
				c, "InvalidDefaultArgInFrom", from, (berth_df_pos){0, 0},
				"Default value for ARG %s results in empty or invalid base "
				"image name",
				from->args[0].text);
		}
		berth_ref_free(ref);
		berth_df_expansion_dispose(&x);
		berth_error_clear();
	}
	berth_df_vars_dispose(&defaults);
}

static void from_platform(lint_ctx *c)
{
	for (size_t s = 0; s < c->df->nstages; s++) {
		const berth_df_stage *st = &c->df->stages[s];
		const berth_df_instr *from = &c->df->instrs[st->from];
		const berth_df_flag *pf = berth_lint__flag(from, "platform");
		const char *arch;

		if (!pf || !pf->value)
			continue;
		if (strcmp(pf->value, "$TARGETPLATFORM") == 0 ||
		    strcmp(pf->value, "${TARGETPLATFORM}") == 0) {
			berth_lint__emit(
				c, "RedundantTargetPlatform", from, pf->pos,
				"Setting platform to predefined %s in FROM is redundant as "
				"this is the default behavior",
				pf->value);
			continue;
		}
		if (strchr(pf->value, '$'))
			continue;
		/* a stage named for its platform ("build-arm64") pins it on purpose */
		arch = strrchr(pf->value, '/');
		arch = arch ? arch + 1 : pf->value;
		if (st->name && strstr(st->name, arch))
			continue;
		berth_lint__emit(c, "FromPlatformFlagConstDisallowed", from, pf->pos,
				 "FROM --platform flag should not use constant value \"%s\"",
				 pf->value);
	}
}

/* BuildKit's pattern: a token (split at '_') among the secret words, unless "public" is one. */
static int secret_name(const char *name)
{
	static const char *const words[] = {"apikey", "auth",	  "credential", "credentials",
					    "key",    "password", "pword",	"passwd",
					    "secret", "token",	  NULL};
	int hit = 0, public = 0;
	const char *p = name;

	while (*p) {
		size_t n = strcspn(p, "_");

		for (size_t i = 0; words[i]; i++)
			if (strlen(words[i]) == n && strncasecmp(p, words[i], n) == 0)
				hit = 1;
		if (n == 6 && strncasecmp(p, "public", 6) == 0)
		public = 1;
		p += n;
		if (*p == '_')
			p++;
	}
	return hit && !public;
}

static void kv_rules(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];
		const char *kw = berth_dockerfile_kind_name(in->kind);

		if ((in->kind == BERTH_DF_ENV || in->kind == BERTH_DF_LABEL) && in->legacy_kv)
			berth_lint__emit(
				c, "LegacyKeyValueFormat", in, (berth_df_pos){0, 0},
				"\"%s key=value\" should be used instead of legacy \"%s key "
				"value\" format",
				kw, kw);
		if (in->kind != BERTH_DF_ENV && in->kind != BERTH_DF_ARG)
			continue;
		for (size_t k = 0; k < in->nkvs; k++)
			if (secret_name(in->kvs[k].key))
				berth_lint__emit(c, "SecretsUsedInArgOrEnv", in, in->kvs[k].pos,
						 "Do not use ARG or ENV instructions for sensitive "
						 "data (%s \"%s\")",
						 kw, in->kvs[k].key);
	}
}

static void workdir(lint_ctx *c)
{
	for (size_t s = 0; s < c->df->nstages; s++) {
		const berth_df_stage *st = &c->df->stages[s];
		int set = 0;

		for (size_t i = st->first; i < st->end; i++) {
			const berth_df_instr *in = &c->df->instrs[i];
			const char *w;

			if (in->kind != BERTH_DF_WORKDIR || in->nargs == 0)
				continue;
			w = in->args[0].text;
			if (w[0] == '/' || w[0] == '$' || w[0] == '"' || w[0] == '\'' ||
			    (isalpha((unsigned char)w[0]) && w[1] == ':')) {
				set = 1;
			} else if (!set) {
				berth_lint__emit(
					c, "WorkdirRelativePath", in, in->args[0].pos,
					"Relative workdir \"%s\" can have unexpected results "
					"if the base image changes",
					w);
			}
		}
	}
}

static void expose(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->kind != BERTH_DF_EXPOSE)
			continue;
		for (size_t k = 0; k < in->nargs; k++) {
			const char *w = in->args[k].text, *proto = strchr(w, '/');

			if (strchr(w, ':'))
				berth_lint__emit(
					c, "ExposeInvalidFormat", in, in->args[k].pos,
					"EXPOSE instruction should not define an IP address "
					"or host-port mapping, found '%s'",
					w);
			if (proto && !all_case(proto + 1, 0))
				berth_lint__emit(
					c, "ExposeProtoCasing", in, in->args[k].pos,
					"Defined protocol '%s' in EXPOSE instruction should be "
					"lowercase",
					proto + 1);
		}
	}
}

static void copy_ignored(lint_ctx *c)
{
	const berth_dockerignore *ign = c->cfg->dockerignore;

	if (!ign)
		return;
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if ((in->kind != BERTH_DF_COPY && in->kind != BERTH_DF_ADD) ||
		    berth_lint__flag(in, "from") || in->nargs < 2)
			continue;
		for (size_t k = 0; k + 1 < in->nargs; k++) {
			const char *src = in->args[k].text;

			if (strncmp(src, "<<", 2) == 0 || strstr(src, "://") || strchr(src, '$'))
				continue;
			if (berth_dockerignore_excluded(ign, src, NULL) == 1)
				berth_lint__emit(c, "CopyIgnoredFile", in, in->args[k].pos,
						 "Attempting to %s file \"%s\" that is excluded by "
						 ".dockerignore",
						 in->kind == BERTH_DF_ADD ? "Add" : "Copy", src);
		}
	}
}

void berth_lint__buildkit(lint_ctx *c)
{
	stage_names(c);
	casing(c);
	continuations(c);
	exec_forms(c);
	variables(c);
	invalid_default_from(c);
	from_platform(c);
	kv_rules(c);
	workdir(c);
	expose(c);
	copy_ignored(c);
}
