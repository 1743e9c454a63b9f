/*
 * berth/dockerfile.h - the Dockerfile frontend: parser, word expansion, stage
 * graph, and the build context (.dockerignore and the context walk).
 *
 * One exact reading of a Dockerfile, shared by the builder, `berth lint`,
 * base-image updates and the SBOM's record of how an image was made. The
 * grammar is BuildKit's Dockerfile frontend (moby/buildkit
 * frontend/dockerfile/parser and instructions), not a subset:
 *
 *   parse     text -> berth_dockerfile: parser directives, instructions in
 *             order (name as written, normalised kind, flags, arguments in
 *             shell or JSON form, heredocs, line ranges, the comments before
 *             each), stages, and the original source lines (for carets and
 *             for lint). Nothing is expanded here.
 *   check     BuildKit's instruction-level validation (unknown instruction,
 *             argument counts, flags each instruction accepts, ARG/ENV
 *             syntax, stage names): what `docker build` refuses before it
 *             runs anything. Parse succeeds on files check refuses so that
 *             lint can still read them.
 *   expand    words after ARG/ENV expansion with BuildKit's shell lexer and
 *             scoping (global ARGs before the first FROM visible to FROM
 *             lines only unless redeclared in a stage; automatic platform
 *             ARGs; proxy ARGs), for the instructions BuildKit expands.
 *   plan      expand + the stage graph: stages by name and index, FROM
 *             <stage>, COPY --from, RUN --mount=...,from=; the stages a target
 *             needs; cycles and unknown stage indexes are errors.
 *   context   .dockerignore with moby patternmatcher semantics, and the walk
 *             of a context directory with metadata and sha256 content hashes
 *             per file and per directory (the builder's cache keys).
 *
 * Positions: lines and columns are 1-based; a column counts bytes from the
 * start of the physical source line (tabs count one). Every node records the
 * physical lines it spans (a heredoc instruction's end is its last
 * terminator line).
 *
 * Errors: BERTH_EINVALID for grammar errors (message "NAME:LINE:COL: what",
 * then the source line and a caret line, as a compiler prints them; the same
 * facts in a berth_df_error when the caller passes one), BERTH_ETOOBIG when a
 * size cap below is passed, BERTH_ENOTFOUND for an unknown target stage,
 * BERTH_EIO for files that cannot be read, BERTH_ERROR on OOM.
 *
 * Thread safety: a parsed berth_dockerfile, a berth_df_plan, a
 * berth_dockerignore and a berth_context are immutable after construction and
 * may be read from any number of threads. The expander keeps no global
 * state.
 */
#ifndef BERTH_DOCKERFILE_H
#define BERTH_DOCKERFILE_H

#include "berth/common.h"

#include <stddef.h>
#include <stdint.h>

/* ---- size caps (untrusted input) ---- */

#define BERTH_DF_MAX_FILE (16u << 20)	       /* bytes of one Dockerfile */
#define BERTH_DF_MAX_LINE (1u << 20)	       /* bytes of one physical line */
#define BERTH_DF_MAX_LOGICAL (1u << 20)	       /* bytes of one instruction after joining lines */
#define BERTH_DF_MAX_CONTINUATIONS 10000       /* physical lines joined into one instruction */
#define BERTH_DF_MAX_INSTRUCTIONS 100000       /* instructions in one file */
#define BERTH_DF_MAX_HEREDOC (16u << 20)       /* bytes of one heredoc body */
#define BERTH_DF_MAX_EXPAND_DEPTH 64	       /* nesting of ${...} inside ${...} */
#define BERTH_DF_MAX_EXPANDED (1u << 20)       /* bytes of one word after expansion */
#define BERTH_DOCKERIGNORE_MAX_FILE (4u << 20) /* bytes of a .dockerignore */
#define BERTH_DOCKERIGNORE_MAX_LINE 65536  /* bytes of one .dockerignore line (Go's bufio cap) */
#define BERTH_CONTEXT_MAX_DEPTH 256	   /* directory nesting in a build context */
#define BERTH_CONTEXT_MAX_ENTRIES 10000000 /* entries in a build context */

/* ---- the parsed tree ---- */

/** Instruction kinds; BERTH_DF_UNKNOWN keeps a keyword BuildKit does not know. */
typedef enum berth_df_kind {
	BERTH_DF_UNKNOWN = 0,
	BERTH_DF_ADD,
	BERTH_DF_ARG,
	BERTH_DF_CMD,
	BERTH_DF_COPY,
	BERTH_DF_ENTRYPOINT,
	BERTH_DF_ENV,
	BERTH_DF_EXPOSE,
	BERTH_DF_FROM,
	BERTH_DF_HEALTHCHECK,
	BERTH_DF_LABEL,
	BERTH_DF_MAINTAINER,
	BERTH_DF_ONBUILD,
	BERTH_DF_RUN,
	BERTH_DF_SHELL,
	BERTH_DF_STOPSIGNAL,
	BERTH_DF_USER,
	BERTH_DF_VOLUME,
	BERTH_DF_WORKDIR,
	BERTH_DF_KIND_COUNT
} berth_df_kind;

/** A position in the source (1-based line and byte column). */
typedef struct berth_df_pos {
	uint32_t line;
	uint32_t col;
} berth_df_pos;

/** A parser directive from the top of the file (`# syntax=`, `# escape=`, `# check=`). */
typedef struct berth_df_directive {
	char *name;  /* lower-cased: "syntax", "escape" or "check" */
	char *value; /* as written, trimmed */
	berth_df_pos pos;
} berth_df_directive;

/**
 * An instruction flag (`--name=value` or bare `--name`), after BuildKit's
 * flag-word splitting (quotes removed, escapes applied, no expansion).
 */
typedef struct berth_df_flag {
	char *name;  /* without "--", case as written ("from", "mount") */
	char *value; /* text after the first '='; NULL for a bare `--name` */
	char *raw;   /* the whole flag word as BuildKit sees it, e.g. "--mount=type=cache,target=/x"
		      */
	berth_df_pos pos; /* of the leading "--" */
} berth_df_flag;

/** One argument word (shell-form words keep their quotes and escapes). */
typedef struct berth_df_word {
	char *text;
	berth_df_pos pos; /* first byte (JSON form: the opening quote of the string) */
} berth_df_word;

/**
 * A key/value pair of ENV and LABEL (both forms), and of ARG (NAME or
 * NAME=default). Keys and values are as written: quotes and escapes are
 * removed only by expansion.
 */
typedef struct berth_df_kv {
	char *key;
	char *value;	  /* "" when absent; see has_value */
	int has_value;	  /* ARG: 1 for NAME=default; ENV/LABEL: always 1 */
	berth_df_pos pos; /* of the key */
} berth_df_kv;

/** A heredoc attached to RUN, COPY or ADD. */
typedef struct berth_df_heredoc {
	char *name;	/* delimiter after quote removal, e.g. "EOF" */
	char *word;	/* the word as written on the instruction line, e.g. "<<-'EOF'" */
	int strip_tabs; /* `<<-`: leading tabs are removed from body lines and terminator */
	int expand;	/* 0 when any part of the delimiter was quoted (no expansion) */
	unsigned fd;	/* file descriptor digits before "<<" (e.g. "3<<EOF"), 0 if none */
	char *body;	/* the lines between the instruction and the terminator, each
			   ending in "\n", tabs NOT stripped (use berth_df_heredoc_content) */
	size_t body_len;
	uint32_t start_line; /* first body line (= end_line when the body is empty) */
	uint32_t end_line;   /* the terminator line */
} berth_df_heredoc;

/** Where an ARG/ENV/LABEL or a legacy form was written. */
typedef enum berth_df_form {
	BERTH_DF_FORM_NONE = 0, /* no arguments */
	BERTH_DF_FORM_SHELL,	/* plain text (RUN/CMD/ENTRYPOINT/SHELL: passed to the shell) */
	BERTH_DF_FORM_JSON	/* a valid JSON array of strings (exec form) */
} berth_df_form;

typedef struct berth_df_instr berth_df_instr;

/**
 * One instruction. The arrays follow BuildKit's node list:
 *   RUN CMD ENTRYPOINT SHELL  JSON form: one word per array element;
 *                             shell form: one word, the whole argument text.
 *   ADD COPY VOLUME           JSON form as above; otherwise the text split at
 *                             whitespace (no quote handling, as BuildKit).
 *   FROM EXPOSE               split at whitespace (FROM: image [AS name]).
 *   MAINTAINER STOPSIGNAL USER WORKDIR  one word, the whole text.
 *   ENV LABEL                 kvs (and the words of the new form in args).
 *   ARG                       kvs; args = BuildKit's quote-aware words.
 *   HEALTHCHECK               subtype "CMD"/"NONE" as written; args = the
 *                             command (JSON or one shell-form word).
 *   ONBUILD                   `sub` = the trigger instruction, parsed.
 *   unknown                   args = the whole text (one word).
 */
struct berth_df_instr {
	berth_df_kind kind;
	char *name;	       /* the keyword as written ("run", "Run", "RUN") */
	berth_df_pos pos;      /* of the keyword */
	uint32_t end_line;     /* last physical line, heredoc terminators included */
	uint32_t args_line;    /* last line of the instruction text (before heredoc bodies) */
	char *original;	       /* the logical line: physical lines joined, escape+newline and
				  comment/empty lines inside the continuation removed
				  (BuildKit's Node.Original) */
	char *args_text;       /* the text after the keyword and the flags, trimmed: the shell-form
				  command line, the FROM/COPY words, ... ("" if none) */
	berth_df_pos args_pos; /* position of args_text's first byte (pos if none) */

	berth_df_flag *flags;
	size_t nflags;
	berth_df_word *args;
	size_t nargs;
	berth_df_form form;
	berth_df_kv *kvs;
	size_t nkvs;
	int legacy_kv; /* ENV/LABEL written as `KEY value` (BuildKit's LegacyKeyValueFormat) */
	char *subtype; /* HEALTHCHECK: "CMD"/"NONE" as written; NULL otherwise */
	berth_df_instr *sub; /* ONBUILD: the trigger (its own lines/positions); NULL otherwise */
	berth_df_heredoc *heredocs;
	size_t nheredocs;

	/* Continuation facts (for NoEmptyContinuation and friends). */
	uint32_t *empty_continuation_lines; /* empty lines inside the continuation */
	size_t nempty_continuation;
	uint32_t *comment_continuation_lines; /* comment lines inside the continuation */
	size_t ncomment_continuation;

	char **comments; /* the comment lines directly above (text after '#', trimmed), as
			    BuildKit's PrevComment: an empty comment line resets them */
	size_t ncomments;

	size_t stage; /* index of the stage it belongs to; BERTH_DF_NO_STAGE before the first FROM
		       */
};

#define BERTH_DF_NO_STAGE ((size_t)-1)

/** A build stage: a FROM and the instructions after it up to the next FROM. */
typedef struct berth_df_stage {
	size_t index;	   /* 0-based */
	char *name;	   /* after AS, as written; NULL if unnamed */
	char *name_lower;  /* lower-cased name (stage names match case-insensitively); or NULL */
	char *base;	   /* the FROM image word as written (unexpanded) */
	char *platform;	   /* the --platform value as written, or NULL */
	size_t from;	   /* index in berth_dockerfile.instrs of the FROM */
	size_t first, end; /* instructions of the stage (after FROM): instrs[first..end) */
} berth_df_stage;

/** A parsed Dockerfile. Everything is owned by it; free with berth_dockerfile_free. */
typedef struct berth_dockerfile {
	char *name;	 /* file name used in messages */
	uint32_t escape; /* '\\' or '`' (from the escape directive) */
	berth_df_directive *directives;
	size_t ndirectives;
	berth_df_instr *instrs; /* top-level instructions in file order */
	size_t ninstrs;
	berth_df_stage *stages;
	size_t nstages;
	char **lines; /* physical source lines, without "\n"/"\r\n"; lines[0] is line 1 */
	size_t nlines;
	int had_bom; /* the file started with a UTF-8 byte-order mark (stripped) */
} berth_dockerfile;

/** Details of a parse or check error, for callers that show their own diagnostics. */
typedef struct berth_df_error {
	uint32_t line; /* 0 when the error has no position (e.g. file too large) */
	uint32_t col;
	char message[512]; /* the message without position or source excerpt */
} berth_df_error;

/**
 * Parse Dockerfile text.
 *
 * @param out   the tree (caller frees with berth_dockerfile_free)
 * @param text  the bytes (need not be NUL-terminated); must be UTF-8 without
 *              NUL bytes (binary input is refused with its first bad byte's
 *              position)
 * @param name  file name for messages ("Dockerfile" when NULL)
 * @param err   optional: the error's position and bare message
 * @return 0; BERTH_EINVALID (grammar, encoding, unterminated heredoc, bad
 *         directive), BERTH_ETOOBIG (a cap above), BERTH_ERROR (OOM).
 */
int berth_dockerfile_parse(berth_dockerfile **out, const char *text, size_t len, const char *name,
			   berth_df_error *err) BERTH_WARN_UNUSED;

/** Read and parse a file ("-" reads standard input, named "<stdin>"). */
int berth_dockerfile_parse_file(berth_dockerfile **out, const char *path,
				berth_df_error *err) BERTH_WARN_UNUSED;

void berth_dockerfile_free(berth_dockerfile *df);

/**
 * BuildKit's instruction-level validation (instructions.Parse): unknown
 * instructions, instructions before the first FROM other than ARG, argument
 * counts (FROM needs 1 or 3 words), invalid stage names, flags an
 * instruction does not accept, boolean flag values, duplicate flags, ENV/LABEL
 * syntax, ONBUILD ONBUILD/FROM/MAINTAINER, HEALTHCHECK durations and
 * retries, JSON arrays with non-string elements. Returns 0 or BERTH_EINVALID
 * with the first problem (positioned like a parse error).
 */
int berth_dockerfile_check(const berth_dockerfile *df, berth_df_error *err) BERTH_WARN_UNUSED;

/** Upper-case keyword of a kind ("RUN"); "" for BERTH_DF_UNKNOWN. */
const char *berth_dockerfile_kind_name(berth_df_kind kind);

/** Kind of a keyword, case-insensitively; BERTH_DF_UNKNOWN if none. */
berth_df_kind berth_dockerfile_kind_of(const char *name);

/** 1 if BuildKit expands ARG/ENV variables in this kind's words (ADD ARG COPY ENV EXPOSE FROM
 * LABEL STOPSIGNAL USER VOLUME WORKDIR). */
int berth_dockerfile_kind_expands(berth_df_kind kind);

/** The flag named `name` (case-sensitive, without "--"); the first of repeated ones, or NULL. */
const berth_df_flag *berth_dockerfile_flag(const berth_df_instr *in, const char *name);

/** Physical source line `line` (1-based), borrowed; NULL when out of range. */
const char *berth_dockerfile_line(const berth_dockerfile *df, uint32_t line);

/**
 * The body of a heredoc as BuildKit uses it: with strip_tabs, leading tabs of
 * every line removed (ChompHeredocContent). `*out` is malloc'd, NUL-terminated.
 */
int berth_df_heredoc_content(char **out, size_t *len, const berth_df_heredoc *h) BERTH_WARN_UNUSED;

/**
 * Format a diagnostic the way parse errors are shown:
 *   NAME:LINE:COL: message
 *     <source line>
 *     <spaces>^
 * `*out` is malloc'd. Used by lint for its findings' text output.
 */
int berth_dockerfile_format_diag(char **out, const berth_dockerfile *df, berth_df_pos pos,
				 const char *message) BERTH_WARN_UNUSED;

/**
 * The parsed tree as JSON, in the schema of docs/dockerfile-json.md
 * (version 1). `*out` is malloc'd, NUL-terminated, pretty-printed when
 * `pretty` is set.
 */
int berth_dockerfile_to_json(char **out, const berth_dockerfile *df, int pretty) BERTH_WARN_UNUSED;

/** How a shell-form RUN with heredocs runs (BuildKit's dispatchRun). */
typedef enum berth_df_run_mode {
	BERTH_DF_RUN_SHELL = 0, /* `command` goes to the stage's SHELL */
	BERTH_DF_RUN_SCRIPT	/* RUN <<EOF whose body starts with "#!": write the body
				   (`command`) to a file, mode 0755, and execute it */
} berth_df_run_mode;

/**
 * The command of a shell-form RUN as BuildKit runs it: without heredocs the
 * argument text; `RUN <<EOF` alone, the body (tabs stripped for <<-) run by
 * the shell, or as a script file when it starts with "#!"; otherwise the
 * text followed by each heredoc reconstituted ("\n" body name) for the
 * shell to read. `*command` is malloc'd. BERTH_EINVALID for JSON form.
 */
int berth_dockerfile_run_command(char **command, berth_df_run_mode *mode,
				 const berth_df_instr *run) BERTH_WARN_UNUSED;

/* ---- variables and the shell-word expander (BuildKit's shell.Lex) ---- */

/**
 * An ordered set of NAME=value variables; setting an existing name replaces its value.
 * Read `items[0..n)` freely; change it only through the functions below (they keep
 * `slots`, a hash index of the names built once a set grows past a few names, in step).
 * A zeroed struct is an empty set.
 */
typedef struct berth_df_var {
	char *name;
	char *value;
} berth_df_var;

typedef struct berth_df_vars {
	berth_df_var *items;
	size_t n, cap;
	uint32_t *slots; /* open addressing: 0 empty, else index + 1; NULL while small */
	size_t nslots;	 /* a power of two, >= 2 * cap, or 0 */
} berth_df_vars;

#define BERTH_DF_VARS_INIT                                                                         \
	{                                                                                          \
		NULL, 0, 0, NULL, 0                                                                \
	}

int berth_df_vars_set(berth_df_vars *v, const char *name, const char *value) BERTH_WARN_UNUSED;
/** The value of `name` (case-sensitive), borrowed; NULL if unset. */
const char *berth_df_vars_get(const berth_df_vars *v, const char *name);
int berth_df_vars_unset(berth_df_vars *v, const char *name); /* 1 if it was set */
int berth_df_vars_copy(berth_df_vars *dst, const berth_df_vars *src) BERTH_WARN_UNUSED;
void berth_df_vars_dispose(berth_df_vars *v);

/** Lexer options (BuildKit's Lex fields). */
typedef struct berth_df_lex_opts {
	uint32_t escape; /* '\\' (when 0) or '`' */
	int skip_unset;	 /* leave references to unset variables as written (SkipUnsetEnv) */
	int raw_quotes;	 /* keep quote characters in the output (RawQuotes) */
	int raw_escapes; /* keep escape characters in the output (RawEscapes) */
	int skip_quotes; /* quotes are ordinary characters (SkipProcessQuotes) */
} berth_df_lex_opts;

/** The result of one expansion. */
typedef struct berth_df_expansion {
	char *word;   /* ProcessWord: the whole input as one string */
	char **words; /* ProcessWords: split at unquoted whitespace (incl. inside values) */
	size_t nwords;
	char **matched; /* names referenced that were set (each once, in first-use order) */
	size_t nmatched;
	char **unmatched; /* names referenced that were unset */
	size_t nunmatched;
} berth_df_expansion;

/**
 * Expand one word: $v ${v} ${v:-w} ${v-w} ${v:+w} ${v+w} ${v:?msg} ${v?msg}
 * ${v#p} ${v##p} ${v%p} ${v%%p} ${v/p/r} ${v//p/r}, single and double quotes,
 * the escape character, exactly as BuildKit's lexer (quirks included: see
 * docs/dockerfile-json.md). Fills both `word` and `words`.
 *
 * @return 0; BERTH_EINVALID with BuildKit's message ("failed to process
 *         \"...\": syntax error: missing '}'", "v: is not allowed to be
 *         unset", unterminated quotes, bad substitution); BERTH_ETOOBIG past
 *         BERTH_DF_MAX_EXPANDED or BERTH_DF_MAX_EXPAND_DEPTH.
 */
int berth_df_expand(berth_df_expansion *out, const char *word, const berth_df_vars *env,
		    const berth_df_lex_opts *opts) BERTH_WARN_UNUSED;

void berth_df_expansion_dispose(berth_df_expansion *x);

/* ---- build options, expansion of a whole file, and the stage graph ---- */

/** The inputs of a build that expansion depends on. */
typedef struct berth_df_build_opts {
	const berth_df_vars *build_args; /* --build-arg K=V (may be NULL) */
	const char *target; /* stage name, case-insensitive (BuildKit: names only); NULL = last */
	const char *build_platform;  /* "os/arch[/variant]"; NULL = this host */
	const char *target_platform; /* NULL = the build platform */
} berth_df_build_opts;

/** An instruction as the builder sees it. */
typedef struct berth_df_xinstr {
	const berth_df_instr *src; /* borrowed from the berth_dockerfile */
	int expanded;		   /* 1 if this kind's words were expanded */
	char **words; /* the arguments after expansion and quote removal (for kinds that
			 expand; otherwise the parsed words unchanged: a shell-form RUN is
			 one word, its script) */
	size_t nwords;
	berth_df_flag *flags; /* flags with expanded values (COPY --from/--chown/--chmod,
				 ADD --checksum/--chown/--chmod, RUN --mount, FROM --platform) */
	size_t nflags;
	int reads_stage;  /* COPY --from or RUN --mount from= names a stage of this Dockerfile */
	berth_df_kv *kvs; /* ENV/LABEL/ARG with expanded keys and values; ARG values are the
			     effective ones (build arg, else default) */
	size_t nkvs;
	char **heredoc_bodies; /* per heredoc: tab-stripped, expanded when it expands
				  (COPY/ADD); RUN bodies are left for the shell */
	char **unmatched;      /* variables referenced but unset (UndefinedVar) */
	size_t nunmatched;
	berth_df_vars env; /* RUN only: the environment the command sees from the Dockerfile:
			      ENV in effect, ARGs in scope with values (ENV wins over an ARG
			      of the same name), then the proxy build args (HTTP_PROXY ...
			      all_proxy) given as --build-arg even when no ARG declares them.
			      The base image's Env is merged by the builder. */
} berth_df_xinstr;

/** A stage after expansion, with its place in the stage graph. */
typedef struct berth_df_xstage {
	size_t index;
	const berth_df_stage *src; /* borrowed */
	char *base;		   /* FROM image after expansion with global ARGs only */
	char *platform;		   /* --platform after expansion (or NULL) */
	size_t base_stage; /* index of the stage FROM refers to, or BERTH_DF_NO_STAGE (image) */
	size_t *deps;	   /* stages this stage reads (FROM, COPY --from, mount from), sorted,
			      unique */
	size_t ndeps;
	char **images; /* external images read by COPY --from / mount from= (not FROM) */
	size_t nimages;
	int needed;		 /* 1 if the target needs this stage */
	berth_df_xinstr *instrs; /* instrs of the stage after FROM, in order */
	size_t ninstrs;
	berth_df_vars args; /* ARGs in scope at the end of the stage with their values */
	berth_df_vars env;  /* ENV in effect at the end of the stage (not inherited from the
			       base image, which the frontend cannot see) */
} berth_df_xstage;

typedef struct berth_df_plan {
	berth_df_xstage *stages;
	size_t nstages;
	size_t target;		   /* index of the target stage */
	berth_df_vars global_args; /* ARGs before the first FROM with their values */
	berth_df_xinstr *global;   /* the global ARG instructions, expanded */
	size_t nglobal;
	berth_df_vars builtin_args; /* automatic platform ARGs */
	char **unused_build_args;   /* --build-arg names no ARG declares (BuildKit warns) */
	size_t nunused_build_args;
} berth_df_plan;

/**
 * Expand a parsed file for a build and compute its stage graph. Scoping:
 * ARGs before the first FROM are visible to FROM lines (and --platform)
 * only, unless a stage redeclares them (`ARG NAME` without default takes the
 * global value); stage ARGs take --build-arg values over their defaults;
 * ENV and ARG of a stage are visible to later instructions of that stage;
 * BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT TARGETPLATFORM TARGETOS
 * TARGETARCH TARGETVARIANT are defined in the global scope and must be
 * declared (`ARG TARGETARCH`) inside a stage; the proxy ARGs (HTTP_PROXY,
 * http_proxy, HTTPS_PROXY, https_proxy, FTP_PROXY, ftp_proxy, NO_PROXY,
 * no_proxy, ALL_PROXY, all_proxy) given as build args reach RUN's
 * environment without a declaration (berth_df_xinstr.env).
 *
 * @return 0; BERTH_EINVALID for an expansion error (positioned), a cycle
 *         ("circular dependency detected on stage: NAME"), a stage index out
 *         of range, or a file check refuses; BERTH_ENOTFOUND for an unknown
 *         target.
 */
int berth_dockerfile_plan(berth_df_plan **out, const berth_dockerfile *df,
			  const berth_df_build_opts *opts, berth_df_error *err) BERTH_WARN_UNUSED;

void berth_df_plan_free(berth_df_plan *p);

/**
 * Go's path.Clean of the first `n` bytes of `p`: "//" collapsed, "." dropped,
 * ".." resolved ("" gives "."), as BuildKit cleans WORKDIR and COPY paths.
 * Returns a malloc'd string, or NULL on OOM.
 */
char *berth_dockerfile_clean_path(const char *p, size_t n);

/** The expanded plan as JSON (docs/dockerfile-json.md, "expanded"). `*out` malloc'd. */
int berth_df_plan_to_json(char **out, const berth_df_plan *p, int pretty) BERTH_WARN_UNUSED;

/**
 * Resolve a stage reference as BuildKit does: a decimal index (must be in
 * range) or a name (case-insensitive). BERTH_ENOTFOUND if no stage has that
 * name (for COPY --from it is then an image), BERTH_EINVALID for an index
 * out of range.
 */
int berth_dockerfile_stage_find(const berth_dockerfile *df, const char *ref,
				size_t *index) BERTH_WARN_UNUSED;

/**
 * Normalise a platform string ("linux/amd64", "linux/arm64/v8", "amd64")
 * into its os, arch and variant, with the defaults containerd applies
 * (os defaults to linux; arm64/v8 -> arm64 without variant; arm -> v7).
 * Each output buffer holds at least 64 bytes. BERTH_EINVALID if malformed.
 */
int berth_df_platform_parse(const char *s, char *os, char *arch, char *variant) BERTH_WARN_UNUSED;

/* ---- .dockerignore (moby patternmatcher) ---- */

typedef struct berth_dockerignore_pattern {
	char *text;	/* the cleaned pattern, without '!' */
	int exclusion;	/* 1 for a "!" (re-include) line */
	uint32_t line;	/* line in the file (0 for patterns given in code) */
	char *original; /* the line as written (trimmed) */
} berth_dockerignore_pattern;

typedef struct berth_dockerignore {
	char *source; /* path it was read from, or NULL */
	berth_dockerignore_pattern *patterns;
	size_t npatterns;
	int has_exclusions;
	void *impl; /* compiled matchers (private) */
} berth_dockerignore;

/**
 * Parse .dockerignore text (ignorefile.ReadAll + NewPatternMatcher): BOM
 * dropped, lines starting with '#' ignored, trimmed, "!" exceptions, each
 * pattern cleaned (filepath.Clean) with a leading "/" dropped, syntax checked
 * as filepath.Match does. `source` names it in messages (may be NULL).
 * BERTH_EINVALID ("source:line: bad pattern ...") or BERTH_ETOOBIG.
 */
int berth_dockerignore_parse(berth_dockerignore **out, const char *text, size_t len,
			     const char *source) BERTH_WARN_UNUSED;

/**
 * Load the ignore file for a build: `<dockerfile>.dockerignore` beside the
 * Dockerfile when it exists (e.g. "build/app.Dockerfile.dockerignore"), else
 * `<context>/.dockerignore`, else an empty matcher (source NULL).
 * `dockerfile` may be NULL (= <context>/Dockerfile).
 */
int berth_dockerignore_load(berth_dockerignore **out, const char *context_dir,
			    const char *dockerfile) BERTH_WARN_UNUSED;

void berth_dockerignore_free(berth_dockerignore *ign);

/**
 * 1 if `path` (relative to the context, '/'-separated; cleaned here) is
 * excluded: the last pattern that matches it or one of its parent
 * directories decides (MatchesOrParentMatches). `*which` (optional) gets the
 * index of the deciding pattern, or -1 when none matched.
 */
int berth_dockerignore_excluded(const berth_dockerignore *ign, const char *path, long *which);

/**
 * 1 if an exception ("!" pattern) could match something below directory
 * `dir`, so the walk must enter an excluded directory.
 */
int berth_dockerignore_may_reopen(const berth_dockerignore *ign, const char *dir);

/**
 * Go's filepath.Match semantics on '/'-separated paths (used for checks):
 * 1 match, 0 no match, BERTH_EINVALID for a malformed pattern.
 */
int berth_df_path_match(const char *pattern, const char *name);

/* ---- the build context walk ---- */

#define BERTH_CONTEXT_HASH_SIZE 32

/** One entry of the context (directories included; the root is not listed). */
typedef struct berth_context_entry {
	char *path;    /* relative, '/'-separated, no "./" */
	uint32_t mode; /* st_mode: type and permission bits */
	uint32_t uid, gid;
	uint64_t size; /* regular files; 0 otherwise */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	char *link;	   /* symlink target, or NULL */
	uint64_t dev, ino; /* for hard-link detection */
	uint32_t nlink;
	/*
	 * content: sha256 of the bytes (regular file), of the target (symlink),
	 * all zero for other types. digest: sha256 of the entry's header (type,
	 * permission bits incl. setuid/setgid/sticky, uid, gid, link target, size)
	 * and its content hash; a directory's digest covers its header and, in
	 * byte order of names, each included child's name and digest. mtime is
	 * deliberately left out (BuildKit's cache ignores it too).
	 */
	uint8_t content[BERTH_CONTEXT_HASH_SIZE];
	uint8_t digest[BERTH_CONTEXT_HASH_SIZE];
} berth_context_entry;

/** A path left out by .dockerignore (kept only with opts.explain). */
typedef struct berth_context_excluded {
	char *path;
	long pattern; /* index in ign->patterns that excluded it */
	int is_dir;   /* a directory skipped with everything below it */
} berth_context_excluded;

typedef struct berth_context_opts {
	int explain; /* record excluded paths */
	int threads; /* hashing threads; 0 = the CPU count */
	int no_hash; /* metadata only (content/digest left zero) */
} berth_context_opts;

typedef struct berth_context {
	char *root;
	berth_context_entry *entries; /* sorted by path (byte order, '/' sorts first) */
	size_t nentries;
	uint8_t digest[BERTH_CONTEXT_HASH_SIZE]; /* the root directory's digest */
	berth_context_excluded *excluded;
	size_t nexcluded;
} berth_context;

/**
 * Walk `dir` applying `ign` (may be NULL: everything included): excluded
 * directories are not entered unless an exception may reopen them (then
 * they appear only as parents of re-included entries); symlinks are recorded,
 * never followed. Files are hashed as they are read (streaming).
 *
 * @return 0; BERTH_EIO (unreadable entry, with its path), BERTH_ETOOBIG
 *         (BERTH_CONTEXT_MAX_DEPTH / _ENTRIES), BERTH_ENOTFOUND (no such dir).
 */
int berth_context_walk(berth_context **out, const char *dir, const berth_dockerignore *ign,
		       const berth_context_opts *opts) BERTH_WARN_UNUSED;

void berth_context_free(berth_context *c);

/** The entry for `path` (cleaned, relative), or NULL. Borrowed. Binary search. */
const berth_context_entry *berth_context_find(const berth_context *c, const char *path);

/**
 * The context as JSON (docs/dockerfile-json.md, "context"): entries with
 * mode, uid, gid, size, mtime, link, content and digest (hex); with
 * `explain`, the excluded paths and their patterns. `*out` malloc'd.
 */
int berth_context_to_json(char **out, const berth_context *c, const berth_dockerignore *ign,
			  int explain) BERTH_WARN_UNUSED;

/** Lower-case hex of a hash into `out` (65 bytes). */
void berth_context_hex(const uint8_t hash[BERTH_CONTEXT_HASH_SIZE], char out[65]);

#endif
