/*
 * commands.c - the table of berth's subcommands (each in cmd_<name>.c), the
 * helpers they share for messages, and `berth help`.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const berth_cli_command berth_cli_commands[] = {
	{"serve", cmd_serve, "run the OCI registry server", cmd_serve_specs},
	{"copy", cmd_copy, "copy an image between registries, layouts and archives",
	 cmd_copy_specs},
	{"inspect", cmd_inspect, "describe an image or index", cmd_inspect_specs},
	{"tags", cmd_tags, "list the tags of a repository", cmd_tags_specs},
	{"delete", cmd_delete, "delete an image from a registry", cmd_delete_specs},
	{"login", cmd_login, "store credentials for a registry", cmd_login_specs},
	{"logout", cmd_logout, "remove stored credentials", cmd_logout_specs},
	{"manifest", cmd_manifest, "create or inspect multi-platform indexes", cmd_manifest_specs},
	{"build", cmd_build, "build an image from a Dockerfile", cmd_build_specs},
	{"builder", cmd_builder, "show (du) or remove (prune) the build store's cache",
	 cmd_builder_specs},
	{"migrate", cmd_migrate, "move blobs between stores (a directory, S3)", cmd_migrate_specs},
	{"gc", cmd_gc, "delete unreferenced blobs from the registry's store", cmd_gc_specs},
	{"vercmp", cmd_vercmp, "compare two versions by an ecosystem's rules", cmd_vercmp_specs},
	{"cvss", cmd_cvss, "score a CVSS v3 or v4.0 vector", cmd_cvss_specs},
	{"db", cmd_db, "import, inspect, query, push and pull the vulnerability database",
	 cmd_db_specs},
	{"key", cmd_key, "generate or import a cosign key pair", cmd_key_specs},
	{"sign-blob", cmd_sign_blob, "sign a file with a key", cmd_sign_blob_specs},
	{"verify-blob", cmd_verify_blob, "verify a file's signature or sigstore bundle",
	 cmd_verify_blob_specs},
	{"sign", cmd_sign, "sign images with a key (cosign formats)", cmd_sign_specs},
	{"verify", cmd_verify, "verify the signatures of an image", cmd_verify_specs},
	{"attest", cmd_attest, "attach a signed in-toto attestation to an image", cmd_attest_specs},
	{"verify-attestation", cmd_verify_attestation, "verify the attestations of an image",
	 cmd_verify_attestation_specs},
	{"attach", cmd_attach, "attach an SBOM to an image", cmd_attach_specs},
	{"download", cmd_download, "download the SBOM, signatures or attestations of an image",
	 cmd_download_specs},
	{"tree", cmd_tree, "list what is attached to an image", cmd_tree_specs},
	{"sbom", cmd_sbom, "list the packages of an image (SPDX, CycloneDX)", cmd_sbom_specs},
	{"scan", cmd_scan, "list the known vulnerabilities of an image, directory or SBOM",
	 cmd_scan_specs},
	{"compare", cmd_compare, "compare the packages and vulnerabilities of two images",
	 cmd_compare_specs},
	{"recommendations", cmd_recommendations,
	 "list the tags of an image's base with their vulnerability counts",
	 cmd_recommendations_specs},
	{"lint", cmd_lint, "check Dockerfiles (BuildKit checks, hadolint, company rules)",
	 cmd_lint_specs},
	{"dockerfile", cmd_dockerfile,
	 "parse a Dockerfile; list a build context after .dockerignore", cmd_dockerfile_specs},
	{"admin", cmd_admin, "manage users, projects, members, robots; read the audit log",
	 cmd_admin_specs},
	{"version", cmd_version, "print version information", cmd_version_specs},
	{"help", cmd_help, "show help for berth or one of its commands", cmd_help_specs},
	{NULL, NULL, NULL, NULL},
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

void berth_cli_usage(FILE *out)
{
	fprintf(out, "usage: berth <command> [options]\n\ncommands:\n");
	for (const berth_cli_command *c = berth_cli_commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "\nRun 'berth <command> --help' for a command's options.\n");
}

typedef struct help_opts {
	int unused;
} help_opts;

static const berth_args_spec help_spec = {
	.cmd = "help",
	.usage = "help [COMMAND]",
	.description = "Show the list of commands, or the help of one command.\n",
	.max_pos = 1,
	.man = "berth",
};

const berth_args_spec *const cmd_help_specs[] = {&help_spec, NULL};

int cmd_help(int argc, char **argv)
{
	help_opts o = {0};
	int n, rc;

	if ((rc = berth_args_parse(&help_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (n == 0) {
		berth_cli_usage(stdout);
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
