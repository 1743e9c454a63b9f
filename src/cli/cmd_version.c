/*
 * cmd_version.c - `berth version`: the program's and its libraries' versions.
 */
#include "cli.h"

#include <jansson.h>
#include <microhttpd.h>
#include <openssl/opensslv.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static const char help[] = "usage: berth version [--format text|json]\n"
			   "\n"
			   "Print berth's version and the versions of the libraries it runs on.\n"
			   "\n"
			   "  --format FMT   text (default) or json\n";

int cmd_version(int argc, char **argv)
{
	int json = 0;

	for (int i = 1; i < argc; i++) {
		if (berth_cli_is_help(argv[i])) {
			fputs(help, stdout);
			return BERTH_EXIT_OK;
		} else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			const char *f = argv[++i];

			if (strcmp(f, "json") == 0)
				json = 1;
			else if (strcmp(f, "text") != 0)
				return berth_cli_fail("version", BERTH_EXIT_USAGE,
						      "unknown format '%s' (use text or json)", f);
		} else {
			return berth_cli_fail("version", BERTH_EXIT_USAGE,
					      "unexpected argument '%s' (see --help)", argv[i]);
		}
	}
	if (json)
		printf("{\"version\":\"%s\",\"libmicrohttpd\":\"%s\",\"sqlite\":\"%s\","
		       "\"openssl\":\"%s\",\"jansson\":\"%s\"}\n",
		       BERTH_VERSION, MHD_get_version(), sqlite3_libversion(), OPENSSL_VERSION_STR,
		       JANSSON_VERSION);
	else
		printf("berth %s\nlibmicrohttpd %s, sqlite %s, openssl %s, jansson %s\n",
		       BERTH_VERSION, MHD_get_version(), sqlite3_libversion(), OPENSSL_VERSION_STR,
		       JANSSON_VERSION);
	return BERTH_EXIT_OK;
}
