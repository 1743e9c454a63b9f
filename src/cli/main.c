/*
 * main.c - the berth command: finds the subcommand in the table of
 * commands.c and runs it.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc < 2) {
		berth_cli_usage(stderr);
		return BERTH_EXIT_USAGE;
	}
	if (berth_cli_is_help(argv[1])) {
		berth_cli_usage(stdout);
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
