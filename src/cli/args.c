/*
 * args.c - the table-driven option parser and help printer of the command
 * line (see args.h). Every command's options go through here, so the syntax
 * and the messages are the same everywhere.
 */
#include "args.h"

#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Column where option help starts, and the widest option text kept on its line. */
#define HELP_COLUMN 30

typedef struct parser {
	const berth_args_spec *spec;
	char *base; /* the options struct */
	int argc;
	char **argv;
	int i; /* the argument being read */
} parser;

static int usage(const parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage(const parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	berth_cli_vfail(p->spec->cmd, BERTH_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return BERTH_ARGS_USAGE;
}

const char *berth_args_name(const berth_arg *a)
{
	static __thread char buf[128];

	if (a->name)
		snprintf(buf, sizeof(buf), "--%s", a->name);
	else
		snprintf(buf, sizeof(buf), "-%c", a->short_name);
	return buf;
}

static const berth_arg *find_long(const berth_args_spec *s, const char *name, size_t n)
{
	for (const berth_arg *a = s->args; a && a->kind != BERTH_ARG_END; a++)
		if (a->name && strlen(a->name) == n && strncmp(a->name, name, n) == 0)
			return a;
	return NULL;
}

static const berth_arg *find_short(const berth_args_spec *s, char c)
{
	for (const berth_arg *a = s->args; a && a->kind != BERTH_ARG_END; a++)
		if (a->short_name == c)
			return a;
	return NULL;
}

static int takes_value(const berth_arg *a)
{
	return a->kind != BERTH_ARG_FLAG && a->kind != BERTH_ARG_BOOL;
}

/* A decimal number with an optional binary suffix (k, m, g, t) into *out. */
static int parse_size(const char *s, uint64_t *out)
{
	static const char suffixes[] = "kmgt";
	unsigned long long v;
	const char *sfx;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		char c = (char)(*end | 0x20);

		if (!(sfx = strchr(suffixes, c)) || !c || end[1])
			return -1;
		for (const char *x = suffixes; x <= sfx; x++) {
			if (v > UINT64_MAX / 1024)
				return -1;
			v *= 1024;
		}
	}
	*out = v;
	return 0;
}

/* Store `val` (NULL for an option given without one) for option a. */
static int store(parser *p, const berth_arg *a, const char *val)
{
	void *dest = p->base + a->offset;
	const char *name = berth_args_name(a);

	switch (a->kind) {
	case BERTH_ARG_FLAG:
		if (val)
			return usage(p, "option %s takes no value", name);
		*(int *)dest = 1;
		return 0;
	case BERTH_ARG_BOOL:
		if (!val || strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
			*(int *)dest = 1;
		else if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
			*(int *)dest = 0;
		else
			return usage(p, "option %s takes true or false, not '%s'", name, val);
		return 0;
	case BERTH_ARG_STRING: *(const char **)dest = val; return 0;
	case BERTH_ARG_INT: {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(val, &end, 10);
		if (errno || end == val || *end || v < a->min || v > a->max)
			return usage(p, "option %s needs a number from %lld to %lld", name, a->min,
				     a->max);
		*(int *)dest = (int)v;
		return 0;
	}
	case BERTH_ARG_SIZE: {
		uint64_t v;

		if (parse_size(val, &v) < 0 || v < (uint64_t)a->min || v > (uint64_t)a->max)
			return usage(p, "option %s needs a size from %lld to %lld (suffix k, m, g)",
				     name, a->min, a->max);
		*(uint64_t *)dest = v;
		return 0;
	}
	case BERTH_ARG_LIST: {
		berth_args_list *l = dest;

		if (l->n >= BERTH_ARGS_LIST_MAX)
			return usage(p, "option %s is given more than %d times", name,
				     BERTH_ARGS_LIST_MAX);
		l->v[l->n++] = val;
		return 0;
	}
	case BERTH_ARG_ENUM: {
		char allowed[256];
		size_t n = 0;

		for (const char *const *c = a->choices; *c; c++)
			if (strcmp(*c, val) == 0) {
				*(const char **)dest = *c;
				return 0;
			}
		allowed[0] = '\0';
		for (const char *const *c = a->choices; *c; c++)
			n += (size_t)snprintf(allowed + n,
					      n < sizeof(allowed) ? sizeof(allowed) - n : 0, "%s%s",
					      c == a->choices ? "" : (c[1] ? ", " : " or "), *c);
		return usage(p, "option %s takes %s, not '%s'", name, allowed, val);
	}
	case BERTH_ARG_END: break;
	}
	return usage(p, "option %s is not handled", name);
}

/* The value of a, attached (inline, may be NULL) or the next argument. */
static int value_of(parser *p, const berth_arg *a, const char *inline_val)
{
	if (!takes_value(a))
		return store(p, a, inline_val);
	if (inline_val)
		return store(p, a, inline_val);
	if (p->i + 1 >= p->argc)
		return usage(p, "option %s needs a value", berth_args_name(a));
	return store(p, a, p->argv[++p->i]);
}

static int long_option(parser *p, const char *arg)
{
	const char *name = arg + 2, *eq = strchr(name, '=');
	size_t n = eq ? (size_t)(eq - name) : strlen(name);
	const berth_arg *a = find_long(p->spec, name, n);

	if (!a)
		return usage(p, "unknown option '%.*s' (see --help)", (int)(n + 2), arg);
	return value_of(p, a, eq ? eq + 1 : NULL);
}

/* "-qa", "-uVALUE", "-u VALUE". */
static int short_options(parser *p, const char *arg)
{
	for (const char *c = arg + 1; *c; c++) {
		const berth_arg *a = find_short(p->spec, *c);

		if (!a)
			return usage(p, "unknown option '-%c' (see --help)", *c);
		if (takes_value(a))
			return value_of(p, a, c[1] ? c + 1 : NULL);
		if (store(p, a, NULL) < 0)
			return BERTH_ARGS_USAGE;
	}
	return 0;
}

static int is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

int berth_args_parse(const berth_args_spec *spec, void *opts, int argc, char **argv, int *npos)
{
	parser p = {spec, opts, argc, argv, 1};
	int w = 1, only_pos = 0;

	for (; p.i < argc; p.i++) {
		char *a = argv[p.i];
		int rc = 0;

		if (only_pos || a[0] != '-' || a[1] == '\0' ||
		    ((spec->flags & BERTH_ARGS_DIGITS) && a[1] >= '0' && a[1] <= '9')) {
			argv[w++] = a;
			if (spec->flags & BERTH_ARGS_STOP)
				only_pos = 1;
			continue;
		}
		if (strcmp(a, "--") == 0) {
			only_pos = 1;
			continue;
		}
		if (is_help(a)) {
			berth_args_help(spec, stdout);
			return BERTH_ARGS_HELP;
		}
		rc = a[1] == '-' ? long_option(&p, a) : short_options(&p, a);
		if (rc < 0)
			return rc;
	}
	*npos = w - 1;
	if (*npos < spec->min_pos)
		return usage(&p, "%s (see --help)",
			     spec->missing ? spec->missing : "needs more arguments");
	if (spec->max_pos >= 0 && *npos > spec->max_pos)
		return usage(&p, "unexpected argument '%s'", argv[1 + spec->max_pos]);
	return BERTH_ARGS_OK;
}

int berth_args_exit(int rc)
{
	return rc == BERTH_ARGS_HELP ? BERTH_EXIT_OK : BERTH_EXIT_USAGE;
}

/* "-q, --quiet", "    --platform OS/ARCH", "    --tls-verify=false". */
static void option_text(const berth_arg *a, char *buf, size_t len)
{
	size_t n = 0;

	if (a->short_name)
		n = (size_t)snprintf(buf, len, "-%c%s", a->short_name, a->name ? ", " : "");
	else
		n = (size_t)snprintf(buf, len, "    ");
	if (a->name && n < len)
		n += (size_t)snprintf(buf + n, len - n, "--%s", a->name);
	if (n >= len)
		return;
	if (a->kind == BERTH_ARG_BOOL && a->metavar)
		snprintf(buf + n, len - n, "=%s", a->metavar);
	else if (a->kind == BERTH_ARG_ENUM && !a->metavar) {
		for (const char *const *c = a->choices; *c && n < len; c++)
			n += (size_t)snprintf(buf + n, len - n, "%c%s", c == a->choices ? ' ' : '|',
					      *c);
	} else if (takes_value(a))
		snprintf(buf + n, len - n, " %s", a->metavar ? a->metavar : "VALUE");
}

/* Help text, its continuation lines ('\n') indented to the help column. */
static void help_text(const char *h, FILE *out)
{
	for (const char *nl; (nl = strchr(h, '\n')); h = nl + 1)
		fprintf(out, "%.*s\n%*s", (int)(nl - h), h, HELP_COLUMN, "");
	fprintf(out, "%s\n", h);
}

void berth_args_help(const berth_args_spec *spec, FILE *out)
{
	static const berth_arg help = {.name = "help",
				       .short_name = 'h',
				       .kind = BERTH_ARG_FLAG,
				       .help = "show this help"};
	char text[160];

	fprintf(out, "usage: berth %s\n", spec->usage);
	if (spec->description)
		fprintf(out, "\n%s", spec->description);
	fprintf(out, "\noptions:\n");
	for (const berth_arg *a = spec->args;; a++) {
		if (!a || a->kind == BERTH_ARG_END)
			a = &help;
		option_text(a, text, sizeof(text));
		if (strlen(text) + 4 > HELP_COLUMN)
			fprintf(out, "  %s\n%*s", text, HELP_COLUMN, "");
		else
			fprintf(out, "  %-*s", HELP_COLUMN - 2, text);
		help_text(a->help ? a->help : "", out);
		if (a == &help)
			break;
	}
	if (spec->footer)
		fprintf(out, "\n%s", spec->footer);
}
