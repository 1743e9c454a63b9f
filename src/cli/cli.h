/*
 * cli.h - the berth command table and helpers shared by cmd_*.c.
 *
 * Every subcommand is `int cmd_<name>(int argc, char **argv)` where argv[0]
 * is the subcommand name. Exit codes are fixed: 0 ok, 1 failure, 2 usage.
 */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include "args.h"

#include <stdarg.h>
#include <stdio.h>

#define BERTH_EXIT_OK 0
#define BERTH_EXIT_FAIL 1
#define BERTH_EXIT_USAGE 2

typedef struct berth_cli_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
	/* Every option table of the command (its subcommands' too), NULL-terminated:
	 * the man-page test (tests/unit/cli/man.c) checks them against the man page. */
	const berth_args_spec *const *specs; /* never NULL */
} berth_cli_command;

int cmd_serve(int argc, char **argv);
int cmd_copy(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_tags(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_login(int argc, char **argv);
int cmd_logout(int argc, char **argv);
int cmd_manifest(int argc, char **argv);
int cmd_sbom(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_vercmp(int argc, char **argv);
int cmd_cvss(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_admin(int argc, char **argv);
int cmd_lint(int argc, char **argv);
int cmd_scan(int argc, char **argv);
extern const berth_args_spec *const cmd_scan_specs[];
int cmd_compare(int argc, char **argv);
extern const berth_args_spec *const cmd_compare_specs[];
int cmd_recommendations(int argc, char **argv);
extern const berth_args_spec *const cmd_recommendations_specs[];
int cmd_dockerfile(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_builder(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_sign_blob(int argc, char **argv);
int cmd_verify_blob(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_verify_attestation(int argc, char **argv);
int cmd_attach(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_tree(int argc, char **argv);

extern const berth_cli_command berth_cli_commands[];

/* The option tables of each command (defined in cmd_<name>.c). */
extern const berth_args_spec *const cmd_serve_specs[];
extern const berth_args_spec *const cmd_copy_specs[];
extern const berth_args_spec *const cmd_inspect_specs[];
extern const berth_args_spec *const cmd_tags_specs[];
extern const berth_args_spec *const cmd_delete_specs[];
extern const berth_args_spec *const cmd_login_specs[];
extern const berth_args_spec *const cmd_logout_specs[];
extern const berth_args_spec *const cmd_manifest_specs[];
extern const berth_args_spec *const cmd_version_specs[];
extern const berth_args_spec *const cmd_help_specs[];
extern const berth_args_spec *const cmd_admin_specs[];
extern const berth_args_spec *const cmd_dockerfile_specs[];
extern const berth_args_spec *const cmd_build_specs[];
extern const berth_args_spec *const cmd_builder_specs[];
extern const berth_args_spec *const cmd_migrate_specs[];
extern const berth_args_spec *const cmd_gc_specs[];
extern const berth_args_spec *const cmd_vercmp_specs[];
extern const berth_args_spec *const cmd_cvss_specs[];
extern const berth_args_spec *const cmd_db_specs[];
extern const berth_args_spec *const cmd_key_specs[];
extern const berth_args_spec *const cmd_sign_blob_specs[];
extern const berth_args_spec *const cmd_verify_blob_specs[];
extern const berth_args_spec *const cmd_sign_specs[];
extern const berth_args_spec *const cmd_verify_specs[];
extern const berth_args_spec *const cmd_attest_specs[];
extern const berth_args_spec *const cmd_verify_attestation_specs[];
extern const berth_args_spec *const cmd_attach_specs[];
extern const berth_args_spec *const cmd_download_specs[];
extern const berth_args_spec *const cmd_tree_specs[];
extern const berth_args_spec *const cmd_sbom_specs[];
extern const berth_args_spec *const cmd_lint_specs[];

/* "usage: berth <command> ..." and the list of commands. */
void berth_cli_usage(FILE *out);

/** Print "berth <cmd>: <message>" to stderr and return `code`. */
int berth_cli_fail(const char *cmd, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** berth_cli_fail with a va_list, for commands that wrap it. */
int berth_cli_vfail(const char *cmd, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/** 1 if `a` is -h or --help. */
int berth_cli_is_help(const char *a);

/** 1 if argv holds -h or --help (before any "--"). */
int berth_cli_wants_help(int argc, char **argv);

#endif
