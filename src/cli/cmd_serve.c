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

typedef struct serve_opts {
	const char *config, *listen, *data, *log_level, *log_format, *threads, *max_connections,
		*idle_timeout, *header_timeout, *min_upload_rate, *max_conn_per_address,
		*max_header_bytes, *max_manifest_bytes, *max_blob_bytes, *upload_purge_age,
		*shutdown_timeout, *admin_password_file, *tls_cert, *tls_key;
	int no_access_log, auth, insecure_open;
} serve_opts;

/*
 * A flag with a value, and the config key it sets; a flag without one sets
 * its boolean key to true. Both go through berth_server_config_set().
 */
#define VALUE(name_, F, mv, key_, help_)                                                           \
	{                                                                                          \
		.name = name_, .kind = BERTH_ARG_STRING,                                           \
		.offset = BERTH_ARG_FIELD_(serve_opts, F, const char *), .metavar = mv,            \
		.key = key_, .help = help_                                                         \
	}
#define SWITCH(name_, F, key_, help_)                                                              \
	{                                                                                          \
		.name = name_, .kind = BERTH_ARG_FLAG,                                             \
		.offset = BERTH_ARG_FIELD_(serve_opts, F, int), .key = key_, .help = help_         \
	}

static const berth_arg serve_args[] = {
	BERTH_OPT_STRING("config", 0, serve_opts, config, "FILE",
			 "YAML config (see docs/config.md); flags override it"),
	VALUE("listen", listen, "ADDR:PORT", "http.addr",
	      "listen address (default 127.0.0.1:5000; [::1]:5000, :5000)"),
	VALUE("data", data, "DIR", "storage.filesystem.rootdirectory",
	      "data directory: blobs, and berth.db (default ./var)"),
	VALUE("log-level", log_level, "LEVEL", "log.level", "debug, info (default), warn or error"),
	VALUE("log-format", log_format, "FMT", "log.format", "text (default) or json"),
	SWITCH("no-access-log", no_access_log, "log.accesslog.disabled",
	       "do not log one line per request"),
	VALUE("threads", threads, "N", "limits.threads",
	      "HTTP worker threads (default 4 x cores, at least 8)"),
	VALUE("max-connections", max_connections, "N", "limits.max_connections",
	      "concurrent connections (default 4096)"),
	VALUE("idle-timeout", idle_timeout, "SECONDS", "limits.idle_timeout",
	      "close idle connections (default 60)"),
	VALUE("header-timeout", header_timeout, "SECONDS", "limits.header_timeout",
	      "a request head must arrive within this (default 30)"),
	VALUE("min-upload-rate", min_upload_rate, "BYTES", "limits.min_upload_rate",
	      "close a request whose body is slower on average, per\n"
	      "limits.min_upload_rate_window (default 1024 bytes/s)"),
	VALUE("max-connections-per-address", max_conn_per_address, "N",
	      "limits.max_connections_per_address",
	      "connections one client address may hold (default 256, 0 = no limit)"),
	VALUE("max-header-bytes", max_header_bytes, "N", "limits.max_header_bytes",
	      "request header limit (default 65536)"),
	VALUE("max-manifest-bytes", max_manifest_bytes, "N", "limits.max_manifest_bytes",
	      "manifest size limit (default 4194304)"),
	VALUE("max-blob-bytes", max_blob_bytes, "N", "limits.max_blob_bytes",
	      "blob size limit, 0 = none (default 0)"),
	VALUE("upload-purge-age", upload_purge_age, "SECONDS", "limits.upload_purge_age",
	      "delete unfinished uploads older than this (default 604800)"),
	VALUE("shutdown-timeout", shutdown_timeout, "SECONDS", "limits.shutdown_timeout",
	      "wait this long for in-flight requests (default 30)"),
	SWITCH("auth", auth, "auth.enabled",
	       "turn access control on (users, projects, tokens;\n"
	       "see docs/access-control.md)"),
	VALUE("admin-password-file", admin_password_file, "FILE", "auth.admin_password_file",
	      "password of the system administrator 'admin', created\n"
	      "at the first start (or $BERTH_ADMIN_PASSWORD)"),
	VALUE("tls-cert", tls_cert, "FILE", "tls.certificate",
	      "serve https with this certificate (PEM; TLS 1.2+)"),
	VALUE("tls-key", tls_key, "FILE", "tls.key", "... and this private key (PEM)"),
	SWITCH("insecure-open", insecure_open, "http.insecure_open",
	       "without --auth, serve on a non-loopback address anyway"),
	BERTH_OPT_END,
};

#undef VALUE
#undef SWITCH

static const berth_args_spec serve_spec = {
	.cmd = "serve",
	.usage = "serve [options]",
	.description = "Run the OCI distribution registry over HTTP until SIGTERM or SIGINT, then\n"
		       "finish in-flight requests and exit 0.\n",
	.args = serve_args,
};

const berth_args_spec *const cmd_serve_specs[] = {&serve_spec, NULL};

/* The flags given, over the config file: each one's key set to its value. */
static int apply_flags(berth_server_config *cfg, const serve_opts *o)
{
	for (const berth_arg *a = serve_args; a->kind != BERTH_ARG_END; a++) {
		const char *val = NULL;

		if (!a->key)
			continue;
		if (a->kind == BERTH_ARG_FLAG)
			val = *(const int *)((const char *)o + a->offset) ? "true" : NULL;
		else
			val = *(const char *const *)((const char *)o + a->offset);
		if (val && berth_server_config_set(cfg, a->key, val) < 0)
			return berth_cli_fail("serve", BERTH_EXIT_USAGE, "%s: %s",
					      berth_args_name(a), berth_error_last());
	}
	return 0;
}

int cmd_serve(int argc, char **argv)
{
	berth_server_config cfg;
	serve_opts o = {0};
	int code = BERTH_EXIT_OK, n;

	if ((code = berth_args_parse(&serve_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(code);
	if (berth_server_config_defaults(&cfg) < 0)
		return berth_cli_fail("serve", BERTH_EXIT_FAIL, "%s", berth_error_last());
	if (o.config && berth_server_config_load(&cfg, o.config) < 0) {
		code = berth_cli_fail("serve", BERTH_EXIT_USAGE, "%s", berth_error_last());
		goto done;
	}
	/* Flags override the file. */
	if ((code = apply_flags(&cfg, &o)))
		goto done;
	if (!cfg.tls_cert != !cfg.tls_key) {
		code = berth_cli_fail(
			"serve", BERTH_EXIT_USAGE,
			"TLS needs both a certificate and a key (--tls-cert and --tls-key)");
		goto done;
	}
	berth_log_setup((berth_log_level)cfg.log_level, cfg.log_json);
	berth_log_with_pid(1);
	if (berth_server_run(&cfg) < 0) {
		/* One line on stderr, before anything else was logged. */
		code = berth_cli_fail("serve", BERTH_EXIT_FAIL, "cannot start: %s",
				      berth_error_last());
	}
done:
	berth_server_config_dispose(&cfg);
	return code;
}
