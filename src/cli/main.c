/*
 * main.c - the berth command: a table of subcommands, each in cmd_<name>.c.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const berth_cli_command berth_cli_commands[] = {
	{"serve", cmd_serve, "run the OCI registry server"},
	{"copy", cmd_copy, "copy an image between registries, layouts and archives"},
	{"inspect", cmd_inspect, "describe an image or index"},
	{"tags", cmd_tags, "list the tags of a repository"},
	{"delete", cmd_delete, "delete an image from a registry"},
	{"login", cmd_login, "store credentials for a registry"},
	{"logout", cmd_logout, "remove stored credentials"},
	{"sbom", cmd_sbom, "write the software bill of materials of an image (SPDX, CycloneDX)"},
	{"manifest", cmd_manifest, "create or inspect multi-platform indexes"},
	{"admin", cmd_admin, "manage users, projects, members, robots; read the audit log"},
	{"version", cmd_version, "print version information"},
	{"help", cmd_help, "show help for berth or one of its commands"},
	{NULL, NULL, NULL},
};

int berth_cli_vfail(const char *cmd, int code, const char *fmt, va_list ap)
{
	fprintf(stderr, "berth %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	return code;
}

int berth_cli_fail(const char *cmd, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = berth_cli_vfail(cmd, code, fmt, ap);
	va_end(ap);
	return code;
}

int berth_cli_is_help(const char *a)
{
	return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

int berth_cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (berth_cli_is_help(argv[i]))
			return 1;
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: berth <command> [options]\n\ncommands:\n");
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "\nRun 'berth <command> --help' for a command's options.\n");
}

int cmd_help(int argc, char **argv)
{
	if (argc < 2 || berth_cli_is_help(argv[1])) {
		usage(stdout);
		return BERTH_EXIT_OK;
	}
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++) {
		if (strcmp(c->name, argv[1]) == 0) {
			char *sub[] = {argv[1], "--help", NULL};

			return c->run(2, sub);
		}
	}
	return berth_cli_fail("help", BERTH_EXIT_USAGE, "unknown command '%s'", argv[1]);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return BERTH_EXIT_USAGE;
	}
	if (berth_cli_is_help(argv[1])) {
		usage(stdout);
		return BERTH_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-v") == 0)
		return cmd_version(1, argv + 1);
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++)
		if (strcmp(c->name, argv[1]) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "berth: unknown command '%s' (see 'berth help')\n", argv[1]);
	return BERTH_EXIT_USAGE;
}
