/*
 * man.c - the man pages and the option tables agree: every option of every
 * command's table (src/cli/cmd_*.c) is in the command's man page
 * (docs/berth-<cmd>.1, or the page its spec names), and every option a man
 * page mentions is in a table of a command that page documents (berth.1,
 * the overview, documents them all). A new option without documentation, or
 * documentation of an option that is gone, fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "cli/args.h"
#include "cli/cli.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MAN_MAX (256 * 1024)

static char *read_man(const char *page)
{
	const char *root = getenv("BERTH_SOURCE_DIR");
	char path[1024];
	char *text;
	size_t n;
	FILE *f;

	if (!root)
		fail_msg("BERTH_SOURCE_DIR is not set (ctest sets it)");
	snprintf(path, sizeof(path), "%s/docs/%s.1", root, page);
	f = fopen(path, "r");
	if (!f)
		fail_msg("no man page %s", path);
	text = malloc(MAN_MAX);
	assert_non_null(text);
	n = fread(text, 1, MAN_MAX - 1, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static const char *man_of(const berth_cli_command *c, const berth_args_spec *s, char *buf,
			  size_t len)
{
	if (s->man)
		return s->man;
	snprintf(buf, len, "berth-%s", c->name);
	return buf;
}

/* Is "\-\-name" (roff for --name) in text, not as the start of a longer name? */
static int man_has_long(const char *text, const char *name)
{
	char roff[256];
	size_t n = 0;

	n += (size_t)snprintf(roff, sizeof(roff), "\\-\\-");
	for (const char *p = name; *p && n + 3 < sizeof(roff); p++) {
		if (*p == '-')
			roff[n++] = '\\';
		roff[n++] = *p;
	}
	roff[n] = '\0';
	for (const char *p = text; (p = strstr(p, roff)); p += n) {
		char next = p[n];

		if (!(isalnum((unsigned char)next) || (next == '\\' && p[n + 1] == '-')))
			return 1;
	}
	return 0;
}

/* Is "\-x" (a short option) in text, followed by no other letter? */
static int man_has_short(const char *text, char c)
{
	for (const char *p = text; (p = strstr(p, "\\-")); p += 2)
		if (p[2] == c && !isalnum((unsigned char)p[3]) && (p == text || p[-1] != '-'))
			return 1;
	return 0;
}

static void every_table_option_is_in_its_man_page(void **state)
{
	char buf[128];
	int missing = 0;

	(void)state;
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++) {
		for (const berth_args_spec *const *s = c->specs; s && *s; s++) {
			const char *page = man_of(c, *s, buf, sizeof(buf));
			char *text = read_man(page);

			for (const berth_arg *a = (*s)->args; a && a->kind != BERTH_ARG_END; a++) {
				if (a->name && !man_has_long(text, a->name) && ++missing)
					print_error("berth %s: --%s is not in docs/%s.1\n", c->name,
						    a->name, page);
				if (a->short_name && !man_has_short(text, a->short_name) &&
				    ++missing)
					print_error("berth %s: -%c is not in docs/%s.1\n", c->name,
						    a->short_name, page);
			}
			free(text);
		}
	}
	assert_int_equal(missing, 0);
}

/* Is --name in a table documented by `page` (any table, for berth.1)? */
static int documented_option(const char *page, const char *name)
{
	char buf[128];

	if (strcmp(name, "help") == 0)
		return 1;
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++)
		for (const berth_args_spec *const *s = c->specs; s && *s; s++) {
			if (strcmp(page, "berth") != 0 &&
			    strcmp(man_of(c, *s, buf, sizeof(buf)), page) != 0)
				continue;
			for (const berth_arg *a = (*s)->args; a && a->kind != BERTH_ARG_END; a++)
				if (a->name && strcmp(a->name, name) == 0)
					return 1;
		}
	return 0;
}

/* Is --name an option of a command named "berth <cmd>" earlier on its line? */
static int cross_reference(const char *text, const char *at, const char *name)
{
	const char *line = at;
	char who[64];

	while (line > text && line[-1] != '\n')
		line--;
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++) {
		const char *w;

		snprintf(who, sizeof(who), "berth %s ", c->name);
		w = strstr(line, who);
		if (!w || w >= at)
			continue;
		for (const berth_args_spec *const *s = c->specs; s && *s; s++)
			for (const berth_arg *a = (*s)->args; a && a->kind != BERTH_ARG_END; a++)
				if (a->name && strcmp(a->name, name) == 0)
					return 1;
	}
	return 0;
}

/* Each "\-\-word\-word" of a man page, as "word-word", to check(). */
static int man_options(const char *page, const char *text)
{
	int unknown = 0;

	for (const char *p = text; (p = strstr(p, "\\-\\-"));) {
		const char *at = p;
		char name[128];
		size_t n = 0;

		p += 4;
		while (n + 1 < sizeof(name)) {
			if (isalnum((unsigned char)*p)) {
				name[n++] = *p++;
			} else if (p[0] == '\\' && p[1] == '-' && n &&
				   isalnum((unsigned char)p[2])) {
				name[n++] = '-';
				p += 2;
			} else {
				break;
			}
		}
		name[n] = '\0';
		if (n && !documented_option(page, name) && !cross_reference(text, at, name) &&
		    ++unknown)
			print_error("docs/%s.1 mentions --%s, which no command of that page has\n",
				    page, name);
	}
	return unknown;
}

static void every_man_page_option_is_in_a_table(void **state)
{
	char buf[128], seen[64][128];
	size_t nseen = 0;
	int unknown = 0;

	(void)state;
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++) {
		for (const berth_args_spec *const *s = c->specs; s && *s; s++) {
			const char *page = man_of(c, *s, buf, sizeof(buf));
			size_t i;
			char *text;

			for (i = 0; i < nseen && strcmp(seen[i], page); i++)
				;
			if (i < nseen)
				continue;
			assert_true(nseen < 64);
			snprintf(seen[nseen++], sizeof(seen[0]), "%s", page);
			text = read_man(page);
			unknown += man_options(page, text);
			free(text);
		}
	}
	assert_int_equal(unknown, 0);
	assert_true(nseen >= 25);
}

/*
 * Every command parses its options through a table (src/cli/args.h), with
 * at least one spec: a command without one would escape the checks above.
 */
static void every_command_has_a_table(void **state)
{
	int without = 0;

	(void)state;
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++) {
		if (c->specs && c->specs[0])
			continue;
		print_error("berth %s has no option table (src/cli/args.h)\n", c->name);
		without++;
	}
	assert_int_equal(without, 0);
}

/* The check itself finds what it should (and no more). */
static void the_roff_matching_is_exact(void **state)
{
	(void)state;
	assert_true(man_has_long(".TP\n\\-\\-tls\\-verify=false\n", "tls-verify"));
	assert_false(man_has_long("\\-\\-tls\\-verify\n", "tls"));
	assert_false(man_has_long("\\-\\-format\n", "form"));
	assert_true(man_has_long("\\-\\-all,", "all"));
	assert_true(man_has_short("\\-q, \\-\\-quiet", 'q'));
	assert_false(man_has_short("\\-\\-quiet", 'q'));
	assert_false(man_has_short("\\-qx", 'q'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_roff_matching_is_exact),
		cmocka_unit_test(every_table_option_is_in_its_man_page),
		cmocka_unit_test(every_man_page_option_is_in_a_table),
		cmocka_unit_test(every_command_has_a_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
