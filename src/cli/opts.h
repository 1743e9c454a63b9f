/*
 * opts.h - what the commands share around their option tables (args.h):
 * the registry options (--tls-verify, --creds USER:PASS, --authfile) as
 * table rows and what they become, image names with docker:// as the
 * default transport, registry clients, password prompts, --build-arg.
 */
#ifndef BERTH_CLI_OPTS_H
#define BERTH_CLI_OPTS_H

#include "args.h"
#include "berth/dockerfile.h"
#include "berth/transport.h"

/** Credentials from --creds "user[:pass]" (copied into the buffers). */
typedef struct opt_creds {
	char user[256];
	char pass[1024];
	int set;
} opt_creds;

/** Split "user:pass" into c; -1 (message printed) if too long or empty user. */
int opt_creds_parse(const char *cmd, const char *s, opt_creds *c);

/** Zero the password. */
void opt_creds_dispose(opt_creds *c);

/**
 * Parse an image name; without a known transport prefix ("docker://",
 * "oci:", "oci-archive:", "docker-archive:") and when `default_docker` is
 * set, "docker://" is assumed. On error prints "berth <cmd>: <message>".
 */
int opt_image(const char *cmd, const char *s, int default_docker, berth_image_name **out);

/** A docker:// reference (the prefix is optional) → berth_ref; prints errors. */
int opt_docker_ref(const char *cmd, const char *s, berth_ref **out);

struct berth_client;

/**
 * A registry client for `host`: tls_verify, explicit credentials (or NULL to
 * look them up) and an auth file. Prints the error and returns -1 on failure.
 */
int opt_client(const char *cmd, const char *host, int tls_verify, const opt_creds *c,
	       const char *auth_file, struct berth_client **out);

/** The registry options the image commands share: --tls-verify, --creds, --authfile. */
typedef struct opt_registry {
	int tls_verify;	       /* 1 unless --tls-verify=false */
	opt_creds creds;       /* from --creds, if set (opt_registry_check) */
	const char *auth_file; /* from --authfile (borrowed from argv), or NULL */
	const char *creds_arg; /* --creds as given (borrowed from argv), or NULL */
} opt_registry;

/*
 * The option table entries of opt_registry, for a command whose options
 * struct T holds one as field F: --tls-verify, --creds, --authfile.
 */
#define OPT_REGISTRY_ARGS(T, F)                                                                    \
	BERTH_OPT_BOOL("tls-verify", 0, T, F.tls_verify, "false",                                  \
		       "do not verify the registry's TLS certificate"),                            \
		BERTH_OPT_STRING("creds", 0, T, F.creds_arg, "USER:PASS",                          \
				 "registry credentials (default: auth files)"),                    \
		BERTH_OPT_STRING("authfile", 0, T, F.auth_file, "FILE",                            \
				 "read credentials from FILE")

/** The words of a --format option that takes text or json. */
extern const char *const opt_text_json[];

/** After parsing: --creds into r->creds; -1 (usage error printed) if malformed. */
int opt_registry_check(const char *cmd, opt_registry *r);

/** Defaults: verify TLS, no credentials, no auth file. */
void opt_registry_init(opt_registry *r);

/** Copy r into transport options (r must outlive to: the strings are borrowed). */
void opt_registry_transport(const opt_registry *r, berth_transport_options *to);

/** Zero the password held in r. */
void opt_registry_dispose(opt_registry *r);

/**
 * Ask for a password on the terminal without echo, showing `prompt`; copy it
 * into buf (at most len - 1 bytes, "" if none was read) and wipe getpass's
 * own copy.
 */
void opt_ask_password(const char *prompt, char *buf, size_t len);

/** Ignore SIGPIPE (network peers and pipes that go away report EPIPE instead). */
void opt_ignore_sigpipe(void);

/**
 * --build-arg values (K=V, or K alone taking $K, as docker: nothing is set
 * when $K is unset) into v. Prints the error and returns -1 on failure.
 */
int opt_build_args(const char *cmd, const berth_args_list *l, berth_df_vars *v);

#endif
