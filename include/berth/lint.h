/*
 * berth/lint.h - `berth lint`: rules over a parsed Dockerfile (berth/dockerfile.h).
 *
 * Three families of rules, each with an id, a default severity, a one-line
 * message and a documentation section in docs/lint-rules.md (generated from
 * the same table, `berth lint --list-rules --format markdown`):
 *   - BuildKit's build checks under their names (StageNameCasing, ...);
 *   - hadolint's DL3000-DL3061 and DL4000-DL4006 under their DL ids (the ones
 *     that read commands inside RUN use berth's own shell splitter), and SC
 *     ids from running RUN scripts through `shellcheck` when it is installed;
 *   - the company's rules under BL ids.
 *
 * Suppression, as the two tools do it: `# hadolint ignore=DL3008,SC2086` on
 * the comment lines directly above an instruction, `# hadolint global
 * ignore=...` anywhere, and BuildKit's `# check=skip=Rule1,Rule2` (or
 * `skip=all`) parser directive; `# check=error=true` turns BuildKit check
 * findings into errors. Configuration: hadolint's .hadolint.yaml keys
 * (ignored, override.{error,warning,info,style}, trustedRegistries,
 * failure-threshold, label-schema, strict-labels, disable-ignore-pragma).
 *
 * Thread safety: the rule table is constant; a config, a result and a
 * report are owned by one thread at a time. Lint keeps no global state
 * (shellcheck runs in a private temporary directory).
 */
#ifndef BERTH_LINT_H
#define BERTH_LINT_H

#include "berth/common.h"
#include "berth/dockerfile.h"

#include <stddef.h>
#include <stdint.h>

#define BERTH_LINT_MAX_CONFIG (1u << 20)   /* bytes of a .hadolint.yaml */
#define BERTH_LINT_MAX_FINDINGS 1000000	   /* findings of one run */
#define BERTH_LINT_MAX_SHELL_WORDS 1000000 /* words in one RUN script */

/** Severities, most severe first; IGNORE turns a rule off. */
typedef enum berth_lint_severity {
	BERTH_LINT_ERROR = 0,
	BERTH_LINT_WARNING,
	BERTH_LINT_INFO,
	BERTH_LINT_STYLE,
	BERTH_LINT_IGNORE
} berth_lint_severity;

/** Where a rule comes from. */
typedef enum berth_lint_family {
	BERTH_LINT_BUILDKIT = 0,
	BERTH_LINT_HADOLINT,
	BERTH_LINT_SHELLCHECK,
	BERTH_LINT_BERTH
} berth_lint_family;

/** One rule of the table (constant; all strings static). */
typedef struct berth_lint_rule {
	const char *id; /* "DL3008", "StageNameCasing", "BL001" */
	berth_lint_family family;
	berth_lint_severity severity; /* default */
	const char *summary;	      /* the one-line message (findings may add specifics) */
	const char *why;	      /* a sentence or two for the documentation */
	const char *bad;	      /* a Dockerfile that triggers the rule (tested) */
	const char *good;	      /* the same intent written so it does not (tested) */
	const char *config;	      /* .hadolint.yaml text the examples need, or NULL */
	const char *dockerignore;     /* .dockerignore text the examples need, or NULL */
} berth_lint_rule;

/** The rule table (`*n` rules, in documentation order). Borrowed, constant. */
const berth_lint_rule *berth_lint_rules(size_t *n);

/** The rule with this id (case-sensitive), or NULL (SC ids are not in the table). */
const berth_lint_rule *berth_lint_rule_find(const char *id);

/** "error", "warning", "info", "style" or "ignore". */
const char *berth_lint_severity_name(berth_lint_severity s);

/** Parse a severity name (also "none" for IGNORE); BERTH_EINVALID if unknown. */
int berth_lint_severity_parse(const char *s, berth_lint_severity *out) BERTH_WARN_UNUSED;

/** A severity override from the configuration. */
typedef struct berth_lint_override {
	char *rule;
	berth_lint_severity severity;
} berth_lint_override;

/** A required label and its value type (hadolint's label-schema). */
typedef struct berth_lint_label {
	char *name;
	char *type; /* text, rfc3339, semver, url, hash, spdx, email */
} berth_lint_label;

/**
 * Lint configuration. Zero-initialise (or BERTH_LINT_CONFIG_INIT), then load
 * a file and/or add command-line values; dispose with berth_lint_config_dispose.
 */
typedef struct berth_lint_config {
	char **ignored; /* rule ids never reported */
	size_t nignored;
	berth_lint_override *overrides; /* later entries win */
	size_t noverrides;
	char **trusted; /* trusted registries (host[:port]); none = not checked */
	size_t ntrusted;
	berth_lint_label *labels; /* label-schema */
	size_t nlabels;
	int strict_labels;	   /* labels outside the schema are reported (DL3050) */
	int disable_ignore_pragma; /* inline `# hadolint ignore=` is not honoured */
	int threshold_set;	   /* failure_threshold came from a file or the caller */
	berth_lint_severity failure_threshold; /* IGNORE = never fail ("none") */
	int shellcheck;		     /* 1 (default) run shellcheck when installed; 0 never */
	const char *shellcheck_path; /* NULL = "shellcheck" from PATH (borrowed) */
	/* Build context facts (borrowed, optional): the .dockerignore that applies
	   (CopyIgnoredFile, BL010) and whether one was looked for at all. */
	const berth_dockerignore *dockerignore;
	int context_known; /* 1 when the context was inspected (BL010 can say "missing") */
	/* BuildKit's own check run (`build --call check`): only the BuildKit family,
	   its experimental rules (CopyIgnoredFile) only when the check directive's
	   `experimental=` names them (or "all"), and no other family. */
	int buildkit_only;
	/* The value of BuildKit's check directive from the BUILDKIT_DOCKERFILE_CHECK
	   build argument ("skip=A,B;error=true;experimental=all"): replaces the
	   file's `# check=` directive when set (borrowed; NULL = the file's). */
	const char *check_override;
} berth_lint_config;

#define BERTH_LINT_CONFIG_INIT                                                                     \
	{                                                                                          \
		.failure_threshold = BERTH_LINT_INFO, .shellcheck = 1                              \
	}

/**
 * Read hadolint's configuration (YAML, libyaml): `ignored: [..]`,
 * `override: {error: [..], warning: [..], info: [..], style: [..]}`,
 * `trustedRegistries: [..]`, `failure-threshold: x`, `label-schema: {k: type}`,
 * `strict-labels: bool`, `disable-ignore-pragma: bool`. Unknown keys are
 * ignored (hadolint has more: format, no-color, ...).
 *
 * @return 0; BERTH_EIO/BERTH_ENOTFOUND (unreadable), BERTH_EINVALID
 *         ("PATH:LINE:COL: ..." for YAML errors or values of the wrong type),
 *         BERTH_ETOOBIG past BERTH_LINT_MAX_CONFIG.
 */
int berth_lint_config_load(berth_lint_config *cfg, const char *path) BERTH_WARN_UNUSED;

/** Same from text (`name` for messages). */
int berth_lint_config_parse(berth_lint_config *cfg, const char *text, size_t len,
			    const char *name) BERTH_WARN_UNUSED;

int berth_lint_config_ignore(berth_lint_config *cfg, const char *rule) BERTH_WARN_UNUSED;
int berth_lint_config_trust(berth_lint_config *cfg, const char *registry) BERTH_WARN_UNUSED;
int berth_lint_config_override(berth_lint_config *cfg, const char *rule,
			       berth_lint_severity s) BERTH_WARN_UNUSED;
void berth_lint_config_dispose(berth_lint_config *cfg);

/** One finding. Lines and columns are 1-based (column 0: the whole line). */
typedef struct berth_lint_finding {
	char *rule;
	berth_lint_severity severity; /* after overrides and check=error=true */
	char *message;
	char *file;
	uint32_t line, col, end_line;
} berth_lint_finding;

/** Findings of one or more files, in file order, then line, column, rule. */
typedef struct berth_lint_result {
	berth_lint_finding *items;
	size_t n, cap;
} berth_lint_result;

#define BERTH_LINT_RESULT_INIT                                                                     \
	{                                                                                          \
		NULL, 0, 0                                                                         \
	}

/**
 * Lint one parsed file and append its findings to `out` (sorted within the
 * file). Rules that need what the file does not have (a FROM for stage
 * rules, a context for .dockerignore rules) stay silent.
 *
 * @return 0; BERTH_ERROR (OOM, or shellcheck could not be started when it
 *         exists), BERTH_ETOOBIG past BERTH_LINT_MAX_FINDINGS.
 */
int berth_lint_run(berth_lint_result *out, const berth_dockerfile *df,
		   const berth_lint_config *cfg) BERTH_WARN_UNUSED;

/**
 * Append a finding for a file that could not be parsed (rule "parse",
 * severity error) at the parser's position, so reports carry it.
 */
int berth_lint_add_error(berth_lint_result *out, const char *file, uint32_t line, uint32_t col,
			 const char *message) BERTH_WARN_UNUSED;

void berth_lint_result_dispose(berth_lint_result *r);

/** 1 if some finding is at least as severe as `threshold` (IGNORE: never). */
int berth_lint_fails(const berth_lint_result *r, berth_lint_severity threshold);

/** Output formats of a report. */
typedef enum berth_lint_format {
	BERTH_LINT_TEXT = 0, /* compiler style: "FILE:LINE:COL: RULE severity: message" */
	BERTH_LINT_JSON,     /* hadolint's JSON keys plus "end_line" */
	BERTH_LINT_SARIF     /* SARIF 2.1.0 */
} berth_lint_format;

/**
 * Render a report. For TEXT, `dfs[i]` (optional, may be NULL or hold NULLs)
 * supplies source lines for the excerpt and caret under each finding.
 * `*out` is malloc'd and NUL-terminated.
 */
int berth_lint_report(char **out, const berth_lint_result *r, berth_lint_format fmt,
		      const berth_dockerfile *const *dfs, size_t ndfs) BERTH_WARN_UNUSED;

/** The rule table as Markdown (docs/lint-rules.md). `*out` is malloc'd. */
int berth_lint_rules_markdown(char **out) BERTH_WARN_UNUSED;

/* ---- outline / targets / check: what `build --call` answers ---- */

/*
 * Descriptions follow BuildKit (instructions.getComment): of the comment
 * lines directly above a FROM or ARG, the first that starts with the stage
 * name (lower case) or the ARG name and a space, without that prefix.
 */

/** An ARG of the outline (BuildKit's outline.Arg). */
typedef struct berth_lint_outline_arg {
	char *name;
	char *value;	   /* the --build-arg, else the default after expansion; NULL if none */
	char *description; /* see above, or NULL */
	uint32_t line;	   /* of the ARG instruction that defines it */
	uint32_t end_line;
} berth_lint_outline_arg;

/** A stage as `--call targets` lists it (BuildKit's targets.Target). */
typedef struct berth_lint_target {
	char *name; /* stage name in lower case (as BuildKit keeps it), or NULL if unnamed */
	size_t index;
	char *base;	   /* FROM image as written */
	char *platform;	   /* --platform as written, or NULL */
	char *description; /* see above, or NULL */
	int is_default;	   /* the last stage */
	uint32_t line, end_line;
} berth_lint_target;

/** A secret or SSH mount used by the target's stages (BuildKit's outline.Secret/SSH). */
typedef struct berth_lint_mount_use {
	char *id;     /* secret: id=, else the target's base name; ssh: id=, else "default" */
	int required; /* required / required=true */
	uint32_t line, end_line;
} berth_lint_mount_use;

/** What `--call outline` and `--call targets` print. */
typedef struct berth_lint_outline {
	berth_lint_target *targets; /* every stage, in order */
	size_t ntargets;
	size_t target; /* index of the outlined stage */
	/* The ARGs the target can take, in line order: the ARGs of the stages it
	   needs, and the global ARGs their FROM lines (image and --platform) use
	   with the global ARGs those defaults use (BuildKit's usedArgs). */
	berth_lint_outline_arg *args;
	size_t nargs;
	berth_lint_mount_use *secrets; /* one per id, in line order */
	size_t nsecrets;
	berth_lint_mount_use *ssh;
	size_t nssh;
} berth_lint_outline;

/**
 * Outline a file for `target` (name or index; NULL = last stage): targets
 * with descriptions, the ARGs the target can take with their values, the
 * secrets and SSH mounts it uses. Stages the target needs follow FROM
 * <stage>, COPY --from and RUN --mount from= by name or index.
 * `build_args` (may be NULL) are the --build-arg values, which replace
 * defaults as in BuildKit. ARG defaults inside a stage are expanded with
 * the stage's own ARG and ENV values only (the base image's environment is
 * not known without pulling it).
 * @return 0; BERTH_ENOTFOUND (no such target, or no stage), BERTH_EINVALID
 *         (a default that does not expand), BERTH_ERROR.
 */
int berth_lint_outline_make(berth_lint_outline **out, const berth_dockerfile *df,
			    const char *target, const berth_df_vars *build_args) BERTH_WARN_UNUSED;

void berth_lint_outline_free(berth_lint_outline *o);

/*
 * What `docker buildx build --call outline|targets|check` prints, rendered
 * the way buildx prints BuildKit's subrequest results: with `json` set, the
 * result.json document (BuildKit's field names: outline {name, description,
 * args[{name, description, value, location}], secrets, ssh, sources},
 * targets {targets[{name, default, description, base, platform, location}],
 * sources}, lint {warnings[{ruleName, description, url, detail, location}],
 * sources[{filename, language, data}], buildError}), locations as
 * {"ranges":[{"start":{"line":N},"end":{"line":M}}]} and sources base64;
 * otherwise the text buildx prints (Go tabwriter tables; warnings with the
 * source excerpt between dashed lines). `src`/`srclen` are the Dockerfile's
 * bytes as read (the sources and excerpts). `*out` is malloc'd.
 */
int berth_lint_call_outline(char **out, const berth_lint_outline *o, int json, const char *src,
			    size_t srclen) BERTH_WARN_UNUSED;
int berth_lint_call_targets(char **out, const berth_lint_outline *o, int json, const char *src,
			    size_t srclen) BERTH_WARN_UNUSED;

/**
 * The check result of one file: `r` holds its findings (BuildKit family);
 * `error` (may be NULL) is a parse or instruction error that stopped the
 * check, at `error_line` (0 = no position), rendered as buildx does
 * (buildError). `name` is the file name the sources carry.
 */
int berth_lint_call_check(char **out, const berth_lint_result *r, const char *error,
			  uint32_t error_line, int json, const char *name, const char *src,
			  size_t srclen) BERTH_WARN_UNUSED;

/** BuildKit's documentation address of a check:
 * https://docs.docker.com/go/dockerfile/rule/<kebab-name>/ */
int berth_lint_rule_url(char *buf, size_t len, const char *rule) BERTH_WARN_UNUSED;

#endif
