/*
 * opts.h - option parsing shared by the image commands (copy, inspect, tags,
 * delete, login, manifest): "--name value" / "--name=value" options,
 * "--flag[=true|false]" booleans, --creds user:pass, and image names with
 * docker:// as the default transport.
 */
#ifndef BERTH_CLI_OPTS_H
#define BERTH_CLI_OPTS_H

#include "berth/transport.h"

/**
 * If argv[*i] is "--name" or "--name=v", set *val and return 1 (advancing *i
 * past a separate value); 0 if it is another argument; -1 (message printed
 * as "berth <cmd>: ...") if the value is missing.
 */
int opt_value(const char *cmd, int argc, char **argv, int *i, const char *name, const char **val);

/**
 * If argv[i] is "--name", "--name=true" or "--name=false", set *out and
 * return 1; 0 if it is another argument; -1 (message printed) on a bad value.
 */
int opt_bool(const char *cmd, char **argv, int i, const char *name, int *out);

/** Parse a decimal integer in [min, max]; -1 (message printed) if not. */
int opt_int(const char *cmd, const char *name, const char *s, int min, int max, int *out);

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

/** Ignore SIGPIPE (network peers and pipes that go away report EPIPE instead). */
void opt_ignore_sigpipe(void);

#endif
