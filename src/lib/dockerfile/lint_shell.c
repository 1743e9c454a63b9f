/*
 * lint_shell.c - splits a RUN script into simple commands and words for the
 * lint rules that read commands (apt-get install without pins, cd instead of
 * WORKDIR, pipes without pipefail, ...).
 *
 * This is not a shell: it knows what a POSIX shell uses to separate commands
 * (&& || ; | & newline, ( ) { } groups), how words are quoted (single and
 * double quotes, backslash, $(...), `...`, ${...}), comments, redirections
 * (their targets are not arguments) and the keywords that introduce compound
 * commands. Bad syntax never fails: an unterminated quote runs to the end of
 * the script, as the rules only need a best reading of what will run.
 */
#include "lint_internal.h"

#include "util/array.h"
#include "util/buf.h"
#include "util/pool.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct splitter {
	lint_script *out;
	size_t words; /* total, for BERTH_LINT_MAX_SHELL_WORDS */
	int err;
} splitter;

typedef struct cmd_state {
	lint_cmd cur;
	size_t wcap, acap;
	lint_sep pending;
	int skip_rest; /* after `for`/`case`: the rest of the command is not a command */
	int redirect;  /* the next word is a redirection target */
	int in_subst;
} cmd_state;

static int is_name_char(int ch, int first)
{
	return ch == '_' || isalpha(ch) || (!first && isdigit(ch));
}

static int is_assignment(const char *w)
{
	size_t i = 0;

	if (!is_name_char((unsigned char)w[0], 1))
		return 0;
	while (is_name_char((unsigned char)w[i], i == 0))
		i++;
	return w[i] == '=' || (w[i] == '+' && w[i + 1] == '=');
}

static int is_keyword(const char *w)
{
	if (w[0] == '\0' || !strchr("itefdwu!{}", w[0]))
		return 0; /* no keyword starts with it: most command names */
	static const char *const kw[] = {"if", "then", "else",	"elif",	 "fi",
					 "do", "done", "while", "until", "!",
					 "{",  "}",    "esac",	"time",	 NULL};

	for (size_t i = 0; kw[i]; i++)
		if (strcmp(w, kw[i]) == 0)
			return 1;
	return 0;
}

static void cmd_reset(cmd_state *st)
{
	memset(&st->cur, 0, sizeof(st->cur));
	st->wcap = st->acap = 0;
	st->skip_rest = 0;
	st->redirect = 0;
}

/* The word texts live in the script's pool; only the arrays are the command's. */
static void cmd_free_words(lint_cmd *c)
{
	free(c->words);
	free(c->assigns);
}

/* End the command being built: keep it if it has a name. */
static void cmd_end(splitter *sp, cmd_state *st, lint_sep next)
{
	lint_script *s = sp->out;

	if (st->cur.nwords == 0 && st->cur.nassigns == 0) {
		cmd_free_words(&st->cur);
	} else {
		lint_cmd *room = realloc(s->cmds, (s->ncmds + 1) * sizeof(*s->cmds));

		if (!room) {
			sp->err = BERTH_ERROR;
			cmd_free_words(&st->cur);
		} else {
			s->cmds = room;
			st->cur.sep = st->pending;
			st->cur.in_subst = st->in_subst;
			if (st->pending == LINT_SEP_PIPE)
				s->has_pipe = 1;
			s->cmds[s->ncmds++] = st->cur;
		}
	}
	cmd_reset(st);
	if (next != LINT_SEP_NONE)
		st->pending = next;
}

static int push_str(splitter *sp, char ***arr, size_t *n, size_t *cap, char *w)
{
	char **room = berth_array_room(*arr, *n, cap, sizeof(char *));

	if (!room)
		return sp->err = BERTH_ERROR;
	*arr = room;
	(*arr)[(*n)++] = w;
	return 0;
}

/* A finished word: an assignment, a keyword, a redirection target or an argument. */
static void word_end(splitter *sp, cmd_state *st, berth_buf *w, int started, int quoted_head)
{
	char *text = NULL;

	if (!started)
		return;
	if (++sp->words > BERTH_LINT_MAX_SHELL_WORDS) {
		sp->err = berth_error_set(BERTH_ETOOBIG, "RUN script has more than %u words",
					  (unsigned)BERTH_LINT_MAX_SHELL_WORDS);
		berth_buf_reset(w);
		return;
	}
	if (st->redirect || st->skip_rest) {
		st->redirect = 0;
		berth_buf_reset(w);
		return;
	}
	text = berth_pool_strndup(sp->out->words, w->ptr ? w->ptr : "", w->len);
	berth_buf_reset(w);
	if (!text) {
		sp->err = BERTH_ERROR;
		return;
	}
	if (st->cur.nwords == 0 && !quoted_head) {
		if (is_assignment(text)) {
			push_str(sp, &st->cur.assigns, &st->cur.nassigns, &st->acap, text);
			return;
		}
		if (strcmp(text, "for") == 0 || strcmp(text, "case") == 0 ||
		    strcmp(text, "select") == 0) {
			st->skip_rest = 1;
			return;
		}
		if (is_keyword(text))
			return;
	}
	push_str(sp, &st->cur.words, &st->cur.nwords, &st->wcap, text);
}

static void split_range(splitter *sp, const char *s, size_t len, int in_subst);

/* Index just past the `)` matching the `(` at s[i] (quotes respected). */
static size_t match_paren(const char *s, size_t len, size_t i)
{
	int depth = 0;

	for (; i < len; i++) {
		char ch = s[i];

		if (ch == '\\' && i + 1 < len) {
			i++;
		} else if (ch == '\'') {
			while (i + 1 < len && s[i + 1] != '\'')
				i++;
			i++;
		} else if (ch == '"') {
			while (i + 1 < len && s[i + 1] != '"') {
				if (s[i + 1] == '\\')
					i++;
				i++;
			}
			i++;
		} else if (ch == '(') {
			depth++;
		} else if (ch == ')') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return len;
}

static size_t match_char(const char *s, size_t len, size_t i, char close)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\' && i + 1 < len)
			i++;
		else if (s[i] == close)
			return i + 1;
	}
	return len;
}

/* $( ... ), $(( ... )), ${ ... } or ` ... ` starting at s[i]: copied into the word; returns the
 * end. */
static size_t dollar_or_tick(splitter *sp, const char *s, size_t len, size_t i, berth_buf *w)
{
	size_t end;
	int closed;

	if (s[i] == '`') {
		end = match_char(s, len, i, '`');
		/* the body is between the ticks (or runs to the end when unterminated) */
		closed = end > i + 1 && s[end - 1] == '`';
		split_range(sp, s + i + 1, closed ? end - i - 2 : len - i - 1, 1);
	} else if (s[i + 1] == '(') {
		end = match_paren(s, len, i + 1);
		closed = end > i + 2 && s[end - 1] == ')';
		if (!(i + 2 < len && s[i + 2] == '('))
			split_range(sp, s + i + 2, closed ? end - i - 3 : len - i - 2, 1);
	} else {
		end = match_char(s, len, i + 1, '}');
	}
	if (end > len)
		end = len;
	if (berth_buf_put(w, s + i, end - i) < 0)
		sp->err = BERTH_ERROR;
	return end;
}

/* An operator at s[i]; returns its length (0: not an operator) and what it separates with. */
static size_t op_at(const char *s, size_t len, size_t i, lint_sep *sep, int *redir)
{
	char ch = s[i], nx = i + 1 < len ? s[i + 1] : '\0';

	*redir = 0;
	*sep = LINT_SEP_NONE;
	if (ch == '&' && nx == '&')
		return *sep = LINT_SEP_AND, 2;
	if (ch == '|' && nx == '|')
		return *sep = LINT_SEP_OR, 2;
	if (ch == '&' && nx == '>')
		return *redir = 1, (i + 2 < len && s[i + 2] == '>') ? 3 : 2;
	if (ch == '|')
		return *sep = LINT_SEP_PIPE, 1;
	if (ch == ';' || ch == '&' || ch == '\n' || ch == '(' || ch == ')')
		return *sep = LINT_SEP_SEQ, (ch == ';' && nx == ';') ? 2 : 1;
	if (ch == '>' || ch == '<') {
		size_t n = 1;

		if (nx == ch || nx == '&' || nx == '|')
			n = 2;
		if (ch == '<' && nx == '<' && i + 2 < len && (s[i + 2] == '-' || s[i + 2] == '<'))
			n = 3;
		*redir = 1;
		return n;
	}
	return 0;
}

/* Length (>= 1) of the run at s[i] of bytes that only extend a word: one
 * append per run, not per byte. '#' inside a word is plain. */
static size_t plain_run(const char *s, size_t len, size_t i)
{
	size_t j = i + 1;

	while (j < len && !strchr(" \t\r\\'\"`$&|;\n()<>", s[j]))
		j++;
	return j - i;
}

static void split_range(splitter *sp, const char *s, size_t len, int in_subst)
{
	berth_buf w = BERTH_BUF_INIT(BERTH_DF_MAX_LOGICAL);
	cmd_state st;
	int started = 0, quoted_head = 0;

	memset(&st, 0, sizeof(st));
	st.in_subst = in_subst;
	for (size_t i = 0; i < len && !sp->err;) {
		char ch = s[i];
		lint_sep sep;
		int redir;
		size_t n;

		if (ch == ' ' || ch == '\t' || ch == '\r') {
			word_end(sp, &st, &w, started, quoted_head);
			started = quoted_head = 0;
			i++;
			continue;
		}
		if (ch == '#' && !started) {
			while (i < len && s[i] != '\n')
				i++;
			continue;
		}
		if (ch == '\\') {
			if (i + 1 < len && s[i + 1] != '\n') {
				if (berth_buf_put(&w, s + i + 1, 1) < 0)
					sp->err = BERTH_ERROR;
				started = 1;
			}
			i += 2;
			continue;
		}
		if (ch == '\'' || ch == '"') {
			size_t end = i + 1;

			quoted_head |= !started;
			started = 1;
			while (end < len && s[end] != ch) {
				if (ch == '"' && s[end] == '\\' && end + 1 < len && s[end + 1] &&
				    strchr("\"\\$`\n", s[end + 1])) {
					if (s[end + 1] != '\n' &&
					    berth_buf_put(&w, s + end + 1, 1) < 0)
						sp->err = BERTH_ERROR;
					end += 2;
					continue;
				}
				if (ch == '"' &&
				    (s[end] == '`' || (s[end] == '$' && end + 1 < len &&
						       (s[end + 1] == '(' || s[end + 1] == '{')))) {
					end = dollar_or_tick(sp, s, len, end, &w);
					continue;
				}
				if (berth_buf_put(&w, s + end, 1) < 0)
					sp->err = BERTH_ERROR;
				end++;
			}
			i = end + 1;
			continue;
		}
		if (ch == '`' ||
		    (ch == '$' && i + 1 < len && (s[i + 1] == '(' || s[i + 1] == '{'))) {
			started = 1;
			i = dollar_or_tick(sp, s, len, i, &w);
			continue;
		}
		n = op_at(s, len, i, &sep, &redir);
		if (n > 0) {
			/* "2>" : the digits before a redirection are its descriptor, not a word */
			if (redir && started && w.len > 0 && strspn(w.ptr, "0123456789") == w.len)
				berth_buf_reset(&w), started = 0;
			word_end(sp, &st, &w, started, quoted_head);
			started = quoted_head = 0;
			if (redir) {
				st.redirect = 1; /* >&2: the descriptor after it is the target */
			} else {
				cmd_end(sp, &st, sep);
			}
			i += n;
			continue;
		}
		n = plain_run(s, len, i);
		if (berth_buf_put(&w, s + i, n) < 0)
			sp->err = BERTH_ERROR;
		started = 1;
		i += n;
	}
	word_end(sp, &st, &w, started, quoted_head);
	cmd_end(sp, &st, LINT_SEP_NONE);
	berth_buf_dispose(&w);
}

int berth_lint__shell_split(lint_script *out, const char *script)
{
	splitter sp = {out, 0, 0};

	memset(out, 0, sizeof(*out));
	if (!(out->words = malloc(sizeof(*out->words))))
		return berth_error_set(BERTH_ERROR, "out of memory splitting a RUN script");
	berth_pool_init(out->words);
	split_range(&sp, script, strlen(script), 0);
	if (sp.err) {
		berth_lint__shell_dispose(out);
		if (sp.err == BERTH_ERROR)
			berth_error_set(BERTH_ERROR, "out of memory splitting a RUN script");
		return sp.err;
	}
	for (size_t i = 0; i < out->ncmds; i++) {
		lint_cmd *c = &out->cmds[i];
		const char *slash = c->nwords ? strrchr(c->words[0], '/') : NULL;

		c->name = c->nwords == 0 ? "" : slash ? slash + 1 : c->words[0];
	}
	return 0;
}

void berth_lint__shell_dispose(lint_script *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->ncmds; i++)
		cmd_free_words(&s->cmds[i]);
	free(s->cmds);
	if (s->words) {
		berth_pool_dispose(s->words);
		free(s->words);
	}
	memset(s, 0, sizeof(*s));
}

const char *berth_lint__cmd_name(const lint_cmd *c)
{
	const char *slash;

	if (c->name)
		return c->name;
	if (c->nwords == 0)
		return "";
	slash = strrchr(c->words[0], '/');
	return slash ? slash + 1 : c->words[0];
}

int berth_lint__cmd_has_arg(const lint_cmd *c, const char *arg)
{
	for (size_t i = 1; i < c->nwords; i++)
		if (strcmp(c->words[i], arg) == 0)
			return 1;
	return 0;
}

int berth_lint__cmd_has_flag(const lint_cmd *c, const char *flag)
{
	size_t fl = strlen(flag);

	for (size_t i = 1; i < c->nwords; i++) {
		const char *w = c->words[i];

		if (strcmp(w, "--") == 0)
			break;
		if (w[0] != '-')
			continue;
		if (w[1] == '-') {
			if (strncmp(w + 2, flag, fl) == 0 &&
			    (w[2 + fl] == '\0' || w[2 + fl] == '='))
				return 1;
		} else if (fl == 1 && strchr(w + 1, flag[0])) {
			/* clustered short flags; stop at a value glued on with '=' */
			const char *eq = strchr(w, '=');
			const char *at = strchr(w + 1, flag[0]);

			if (!eq || at < eq)
				return 1;
		} else if (fl > 1 && strcmp(w + 1, flag) == 0) {
			return 1; /* single-dash long options (-ldflags, -Djarmode=...) */
		}
	}
	return 0;
}

static int takes(const char *w, const char *const *takes_value)
{
	const char *name = w + (w[1] == '-' ? 2 : 1);

	if (!takes_value || strchr(w, '='))
		return 0;
	for (size_t i = 0; takes_value[i]; i++)
		if (strcmp(name, takes_value[i]) == 0)
			return 1;
	return 0;
}

int berth_lint__cmd_args(const char ***out, size_t *n, const lint_cmd *c,
			 const char *const *takes_value)
{
	const char **v = calloc(c->nwords + 1, sizeof(*v));
	size_t k = 0;
	int dashdash = 0;

	if (!v)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 1; i < c->nwords; i++) {
		const char *w = c->words[i];

		if (!dashdash && strcmp(w, "--") == 0) {
			dashdash = 1;
			continue;
		}
		if (!dashdash && w[0] == '-' && w[1] != '\0') {
			if (takes(w, takes_value))
				i++;
			continue;
		}
		v[k++] = w;
	}
	*out = v;
	*n = k;
	return 0;
}
