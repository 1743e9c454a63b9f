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

typedef struct version_opts {
	const char *format;
} version_opts;

static const char *const formats[] = {"text", "json", NULL};

static const berth_arg version_args[] = {
	BERTH_OPT_ENUM("format", 0, version_opts, format, formats, "FMT", "text (default) or json"),
	BERTH_OPT_END,
};

static const berth_args_spec version_spec = {
	.cmd = "version",
	.usage = "version [--format text|json]",
	.description = "Print berth's version and the versions of the libraries it runs on.\n",
	.args = version_args,
};

const berth_args_spec *const cmd_version_specs[] = {&version_spec, NULL};

int cmd_version(int argc, char **argv)
{
	version_opts o = {.format = "text"};
	int json, n, rc;

	if ((rc = berth_args_parse(&version_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	json = strcmp(o.format, "json") == 0;
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
