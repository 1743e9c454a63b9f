/*
 * lint_internal.h - shared by the lint files of the dockerfile module: the
 * shell splitter (lint_shell.c), the run context every rule receives, and
 * the rule-family entry points (lint_buildkit.c, lint_hadolint.c,
 * lint_berth.c, lint_shellcheck.c).
 */
#ifndef BERTH_DOCKERFILE_LINT_INTERNAL_H
#define BERTH_DOCKERFILE_LINT_INTERNAL_H

#include "berth/dockerfile.h"
#include "berth/lint.h"

#include <stdarg.h>
#include <string.h>

/* ---- shell splitting ---- */

/** How a command was joined to the one before it. */
typedef enum lint_sep {
	LINT_SEP_NONE = 0, /* first command */
	LINT_SEP_SEQ,	   /* ; newline & */
	LINT_SEP_AND,	   /* && */
	LINT_SEP_OR,	   /* || */
	LINT_SEP_PIPE	   /* | */
} lint_sep;

/** One simple command: leading NAME=value assignments, then words (quotes removed). */
typedef struct lint_cmd {
	char **words; /* words[0] is the command name (may be a path, e.g. /usr/bin/apt-get) */
	size_t nwords;
	const char *name; /* words[0] after its last '/' ("" without words), set by the split */
	char **assigns;	  /* NAME=value prefixes */
	size_t nassigns;
	lint_sep sep; /* separator before this command */
	int in_subst; /* inside $(...) or `...` */
} lint_cmd;

typedef struct lint_script {
	lint_cmd *cmds;
	size_t ncmds;
	struct berth_pool *words; /* the words' and assignments' text */
	int has_pipe;		  /* a `|` between commands (not `||`) */
} lint_script;

/**
 * Split a POSIX-shell script into simple commands: separators && || ; | &
 * and newlines, ( ) { } groups, `#` comments, single/double quotes and
 * backslash escapes removed from words, $(...) and backquoted command
 * substitutions kept inside their word and also split as commands of
 * their own (in_subst), shell keywords (if then else elif fi do done while
 * until for case esac !) dropped from command heads. Never fails on bad
 * syntax (an unterminated quote runs to the end); BERTH_ETOOBIG past
 * BERTH_LINT_MAX_SHELL_WORDS; BERTH_ERROR on OOM.
 */
int berth_lint__shell_split(lint_script *out, const char *script) BERTH_WARN_UNUSED;
void berth_lint__shell_dispose(lint_script *s);

/** The command name without a directory ("/usr/bin/apt-get" -> "apt-get"). */
const char *berth_lint__cmd_name(const lint_cmd *c);

/** 1 if c is command `name` (basename compared). Inline: the rules ask it
 * of every command of every RUN, dozens of times each. */
static inline int berth_lint__cmd_is(const lint_cmd *c, const char *name)
{
	const char *n = c->name ? c->name : berth_lint__cmd_name(c);

	return n[0] == name[0] && strcmp(n, name) == 0;
}

/** 1 if some word after the name equals `arg`. */
int berth_lint__cmd_has_arg(const lint_cmd *c, const char *arg);

/**
 * 1 if the command has flag `flag`: a long "name" matches "--name" and
 * "--name=..."; a one-letter "y" also matches inside clustered short flags
 * ("-qy").
 */
int berth_lint__cmd_has_flag(const lint_cmd *c, const char *flag);

/**
 * The non-flag words after the command name, skipping the values of the
 * flags named in `takes_value` (NULL-terminated list of flag names without
 * dashes, e.g. {"t", "target-release", NULL}). Borrowed pointers into c;
 * `*out` is malloc'd (free only the array).
 */
int berth_lint__cmd_args(const char ***out, size_t *n, const lint_cmd *c,
			 const char *const *takes_value) BERTH_WARN_UNUSED;

/* ---- the run context ---- */

/** Per-instruction facts computed once. */
typedef struct lint_instr {
	const berth_df_instr *in;
	lint_script script; /* RUN (and HEALTHCHECK CMD / ONBUILD RUN): the commands */
	int has_script;
	char *script_text; /* the text the shell runs (shell form and heredoc scripts only) */
	char **ignore;	   /* rule ids from `# hadolint ignore=` above it */
	size_t nignore;
} lint_instr;

typedef struct lint_ctx {
	const berth_dockerfile *df;
	const berth_lint_config *cfg;
	berth_lint_result *out;
	lint_instr *li; /* parallel to df->instrs */
	char **global_ignore;
	size_t nglobal_ignore;
	char **skip; /* check=skip= names ("all" allowed) */
	size_t nskip;
	int check_error;     /* check=error=true */
	char **experimental; /* check=experimental= names ("all" allowed) */
	size_t nexperimental;
	int err; /* first error of an emit (OOM), returned by berth_lint_run */
} lint_ctx;

/**
 * Report a finding of rule `id` at `in` (line/column of its keyword unless
 * pos is given: pos.line 0 = use the instruction). `in` may be NULL for
 * file-level findings (then pos is used, or line 1). The message is
 * printf-formatted; NULL fmt = the rule's summary. Applies the config's
 * ignore list and overrides, inline pragmas and check directives.
 */
void berth_lint__emit(lint_ctx *c, const char *id, const berth_df_instr *in, berth_df_pos pos,
		      const char *fmt, ...) BERTH_PRINTF(5, 6);
void berth_lint__vemit(lint_ctx *c, const char *id, const berth_df_instr *in, berth_df_pos pos,
		       uint32_t end_line, const char *fmt, va_list ap) BERTH_PRINTF(6, 0);

/** A shellcheck finding (SC id, shellcheck's own severity), filtered like the others. */
void berth_lint__emit_sc(lint_ctx *c, const char *id, berth_lint_severity sev,
			 const berth_df_instr *in, const char *msg);

/** The lint facts of the instruction `in` points at (top-level ones only), or NULL. */
const lint_instr *berth_lint__facts(const lint_ctx *c, const berth_df_instr *in);

/** Flag `name` of an instruction (case-insensitive, first one), or NULL. */
const berth_df_flag *berth_lint__flag(const berth_df_instr *in, const char *name);

/** 1 if a and b are equal ignoring ASCII case. */
int berth_lint__ieq(const char *a, const char *b);

/** Image reference parts of a FROM word: tag and digest (borrowed views into scratch). */
typedef struct lint_image {
	char registry[256]; /* "" when the first component is not a host (docker.io implied) */
	char tag[256];	    /* "" when none */
	int has_digest;
	int has_var; /* contains '$' (cannot be judged) */
} lint_image;

void berth_lint__image_parse(lint_image *out, const char *ref);

/** 1 if stage `i` is the final stage (the last FROM). */
int berth_lint__is_last_stage(const lint_ctx *c, size_t stage);

/** 1 if `name` refers to an earlier stage than `stage` by name (case-insensitive) or index. */
int berth_lint__stage_ref(const lint_ctx *c, const char *name, size_t stage, size_t *found);

/* rule families */
void berth_lint__hadolint_labels(lint_ctx *c);
void berth_lint__buildkit(lint_ctx *c);
void berth_lint__hadolint(lint_ctx *c);
void berth_lint__berth(lint_ctx *c);
int berth_lint__shellcheck(lint_ctx *c) BERTH_WARN_UNUSED;

/* rule table (lint_rules.c) */
extern const berth_lint_rule berth_lint__table[];
extern const size_t berth_lint__ntable;

#endif
