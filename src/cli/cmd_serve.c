/*
 * cmd_serve.c - `berth serve`: read the config file and flags, then run the
 * registry server (src/server) until SIGTERM/SIGINT.
 *
 * Flags override the file; both go through berth_server_config_set() so they
 * validate alike. Exit codes: 0 clean shutdown, 1 cannot start, 2 usage or
 * bad configuration.
 */
#include "cli.h"
#include "server/config.h"
#include "server/server.h"
#include "util/log.h"

#include <stdio.h>
#include <string.h>

static const char help[] =
	"usage: berth serve [options]\n"
	"\n"
	"Run the OCI distribution registry over HTTP until SIGTERM or SIGINT, then\n"
	"finish in-flight requests and exit 0.\n"
	"\n"
	"  --config FILE              YAML config (see docs/config.md); flags override it\n"
	"  --listen ADDR:PORT         listen address (default 127.0.0.1:5000; [::1]:5000, :5000)\n"
	"  --data DIR                 data directory: blobs, and berth.db (default ./var)\n"
	"  --log-level LEVEL          debug, info (default), warn or error\n"
	"  --log-format FMT           text (default) or json\n"
	"  --no-access-log            do not log one line per request\n"
	"  --threads N                HTTP worker threads (default 4 x cores, at least 8)\n"
	"  --max-connections N        concurrent connections (default 4096)\n"
	"  --idle-timeout SECONDS     close idle connections (default 60)\n"
	"  --header-timeout SECONDS   a request head must arrive within this (default 30)\n"
	"  --min-upload-rate BYTES    close a request whose body is slower on average, per\n"
	"                             limits.min_upload_rate_window (default 1024 bytes/s)\n"
	"  --max-connections-per-address N  connections one client address may hold\n"
	"                             (default 256, 0 = no limit)\n"
	"  --max-header-bytes N       request header limit (default 65536)\n"
	"  --max-manifest-bytes N     manifest size limit (default 4194304)\n"
	"  --max-blob-bytes N         blob size limit, 0 = none (default 0)\n"
	"  --upload-purge-age SECONDS delete unfinished uploads older than this (default 604800)\n"
	"  --shutdown-timeout SECONDS wait this long for in-flight requests (default 30)\n"
	"  --auth                     turn access control on (users, projects, tokens;\n"
	"                             see docs/access-control.md)\n"
	"  --admin-password-file FILE password of the system administrator 'admin', created\n"
	"                             at the first start (or $BERTH_ADMIN_PASSWORD)\n"
	"  --tls-cert FILE            serve https with this certificate (PEM; TLS 1.2+)\n"
	"  --tls-key FILE             ... and this private key (PEM)\n"
	"  --insecure-open            without --auth, serve on a non-loopback address anyway\n"
	"  -h, --help                 show this help\n";

/* Flags that take a value, and the config key each one sets. */
static const struct {
	const char *flag;
	const char *key;
} flags[] = {
	{"--listen", "http.addr"},
	{"--data", "storage.filesystem.rootdirectory"},
	{"--log-level", "log.level"},
	{"--log-format", "log.format"},
	{"--threads", "limits.threads"},
	{"--max-connections", "limits.max_connections"},
	{"--idle-timeout", "limits.idle_timeout"},
	{"--header-timeout", "limits.header_timeout"},
	{"--min-upload-rate", "limits.min_upload_rate"},
	{"--max-connections-per-address", "limits.max_connections_per_address"},
	{"--max-header-bytes", "limits.max_header_bytes"},
	{"--max-manifest-bytes", "limits.max_manifest_bytes"},
	{"--max-blob-bytes", "limits.max_blob_bytes"},
	{"--upload-purge-age", "limits.upload_purge_age"},
	{"--shutdown-timeout", "limits.shutdown_timeout"},
	{"--admin-password-file", "auth.admin_password_file"},
	{"--tls-cert", "tls.certificate"},
	{"--tls-key", "tls.key"},
};

/* Flags without a value, and the boolean config key each one sets (NULL: special). */
static const struct {
	const char *flag;
	const char *key;
} switches[] = {
	{"--no-access-log", "log.accesslog.disabled"},
	{"--auth", "auth.enabled"},
	{"--insecure-open", "http.insecure_open"},
};

#define NSWITCHES (sizeof(switches) / sizeof(switches[0]))

static const char *switch_key(const char *arg)
{
	for (size_t i = 0; i < NSWITCHES; i++)
		if (strcmp(arg, switches[i].flag) == 0)
			return switches[i].key;
	return NULL;
}

#define NFLAGS (sizeof(flags) / sizeof(flags[0]))

static const char *flag_key(const char *arg)
{
	for (size_t i = 0; i < NFLAGS; i++)
		if (strcmp(arg, flags[i].flag) == 0)
			return flags[i].key;
	return NULL;
}

int cmd_serve(int argc, char **argv)
{
	berth_server_config cfg;
	const char *config_file = NULL;
	int code = BERTH_EXIT_OK;

	if (berth_cli_wants_help(argc, argv)) {
		fputs(help, stdout);
		return BERTH_EXIT_OK;
	}
	/* First pass: check the syntax and find --config. */
	for (int i = 1; i < argc; i++) {
		if (switch_key(argv[i]))
			continue;
		if (strcmp(argv[i], "--config") != 0 && !flag_key(argv[i]))
			return berth_cli_fail("serve", BERTH_EXIT_USAGE,
					      "unexpected argument '%s' (see --help)", argv[i]);
		if (i + 1 >= argc)
			return berth_cli_fail("serve", BERTH_EXIT_USAGE, "%s needs a value",
					      argv[i]);
		if (strcmp(argv[i], "--config") == 0)
			config_file = argv[i + 1];
		i++;
	}
	if (berth_server_config_defaults(&cfg) < 0)
		return berth_cli_fail("serve", BERTH_EXIT_FAIL, "%s", berth_error_last());
	if (config_file && berth_server_config_load(&cfg, config_file) < 0) {
		code = berth_cli_fail("serve", BERTH_EXIT_USAGE, "%s", berth_error_last());
		goto done;
	}
	/* Second pass: flags override the file. */
	for (int i = 1; i < argc; i++) {
		const char *key;

		if ((key = switch_key(argv[i]))) {
			if (berth_server_config_set(&cfg, key, "true") < 0) {
				code = berth_cli_fail("serve", BERTH_EXIT_USAGE, "%s: %s", argv[i],
						      berth_error_last());
				goto done;
			}
			continue;
		}
		key = flag_key(argv[i]);
		if (key && berth_server_config_set(&cfg, key, argv[i + 1]) < 0) {
			code = berth_cli_fail("serve", BERTH_EXIT_USAGE, "%s: %s", argv[i],
					      berth_error_last());
			goto done;
		}
		i++;
	}
	if (!cfg.tls_cert != !cfg.tls_key) {
		code = berth_cli_fail(
			"serve", BERTH_EXIT_USAGE,
			"TLS needs both a certificate and a key (--tls-cert and --tls-key)");
		goto done;
	}
	berth_log_setup((berth_log_level)cfg.log_level, cfg.log_json);
	if (berth_server_run(&cfg) < 0) {
		/* One line on stderr, before anything else was logged. */
		code = berth_cli_fail("serve", BERTH_EXIT_FAIL, "cannot start: %s",
				      berth_error_last());
	}
done:
	berth_server_config_dispose(&cfg);
	return code;
}
