/*
 * cmd_admin_replication.c - `berth admin replication ...`: the command line
 * of the replication API (/api/v1/replication/, docs/replication.md).
 *
 *   list                         the rules (config file and API), with trigger and target
 *   create FILE                  a rule from a JSON file ("-": stdin), stored by the server
 *   delete NAME                  an API rule (the config file's are read-only)
 *   run NAME                     queue a manual run
 *   executions [--rule R] [--limit N]   newest first, with counts
 *   logs ID                      an execution's per-artifact results
 *
 * cmd_admin.c parses the global options (server, credentials, --format) and
 * hands over the client; this file only speaks the replication routes.
 * Text output is tab-separated columns under a header; --format json prints
 * the API's JSON as received.
 */
#include "admin_replication.h"
#include "cli.h"

#include "util/buf.h"
#include "util/fs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CMD "admin"
#define RESPONSE_MAX (32 * 1024 * 1024)
#define RULE_FILE_MAX (256 * 1024)

typedef struct repl_opts {
	const char *rule;
	int limit;
} repl_opts;

static const berth_arg executions_args[] = {
	BERTH_OPT_STRING("rule", 0, repl_opts, rule, "NAME", "only the executions of rule NAME"),
	BERTH_OPT_INT("limit", 0, repl_opts, limit, "N", 1, 1000,
		      "at most N executions (default 100)"),
	BERTH_OPT_END,
};

const berth_args_spec cmd_admin_replication_executions_spec = {
	.cmd = CMD,
	.usage = "admin [global options] replication executions [--rule NAME] [--limit N]",
	.description = "List replication executions, newest first: rule, trigger, status, times\n"
		       "and how many artifacts were copied, skipped, deleted or failed.\n",
	.args = executions_args,
	.man = "berth-admin",
};

const berth_args_spec cmd_admin_replication_spec = {
	.cmd = CMD,
	.usage = "admin [global options] replication list | create FILE | delete NAME\n"
		 "       | run NAME | executions [--rule NAME] [--limit N] | logs ID",
	.description = "Manage replication rules and see their executions (/api/v1/replication).\n"
		       "Rules from the server's config file are listed but read-only.\n",
	.args = (const berth_arg[]){BERTH_OPT_END},
	.min_pos = 0,
	.max_pos = 1,
	.man = "berth-admin",
};

static int call(const berth_admin_conn *a, const char *method, const char *path, const char *body,
		berth_buf *out)
{
	char url[1400];

	if ((size_t)snprintf(url, sizeof(url), "%s/api/v1/replication%s", a->base, path) >=
	    sizeof(url))
		return berth_cli_fail(CMD, BERTH_EXIT_FAIL, "request path too long");
	if (berth_client_api(a->c, method, url, body, out, NULL) < 0)
		return berth_cli_fail(CMD, BERTH_EXIT_FAIL, "%s", berth_error_last());
	return 0;
}

static void print_raw(const berth_buf *raw)
{
	if (!raw->len)
		return;
	fwrite(raw->ptr, 1, raw->len, stdout);
	if (raw->ptr[raw->len - 1] != '\n')
		fputc('\n', stdout);
}

/* A cell: strings as they are, numbers, booleans yes/no, absent "-". */
static void cell(json_t *v, int last)
{
	if (json_is_string(v))
		fputs(json_string_value(v), stdout);
	else if (json_is_integer(v))
		printf("%lld", (long long)json_integer_value(v));
	else if (json_is_boolean(v))
		fputs(json_is_true(v) ? "yes" : "no", stdout);
	else
		fputs("-", stdout);
	fputc(last ? '\n' : '\t', stdout);
}

/* GET `path` and print it: JSON as received, or the columns `keys` ("a.b" reaches in). */
static int show(const berth_admin_conn *a, const char *path, const char *const *heads,
		const char *const *keys, size_t ncol)
{
	berth_buf raw = BERTH_BUF_INIT(RESPONSE_MAX);
	json_t *arr = NULL, *row;
	size_t i;
	int rc;

	if ((rc = call(a, "GET", path, NULL, &raw)))
		goto done;
	if (a->json) {
		print_raw(&raw);
		goto done;
	}
	arr = json_loadb(raw.ptr ? raw.ptr : "", raw.len, 0, NULL);
	if (!json_is_array(arr)) {
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "the server's answer is not a JSON list");
		goto done;
	}
	for (size_t k = 0; k < ncol; k++)
		printf("%s%c", heads[k], k + 1 == ncol ? '\n' : '\t');
	json_array_foreach(arr, i, row)
	{
		for (size_t k = 0; k < ncol; k++) {
			const char *dot = strchr(keys[k], '.');
			json_t *v;

			if (dot) {
				char outer[64];

				snprintf(outer, sizeof(outer), "%.*s", (int)(dot - keys[k]),
					 keys[k]);
				v = json_object_get(json_object_get(row, outer), dot + 1);
			} else {
				v = json_object_get(row, keys[k]);
			}
			cell(v, k + 1 == ncol);
		}
	}
done:
	json_decref(arr);
	berth_buf_dispose(&raw);
	return rc;
}

static int list_rules(const berth_admin_conn *a)
{
	static const char *const h[] = {"NAME",	   "DIRECTION", "REMOTE",
					"TRIGGER", "CRON",	"READ-ONLY"};
	static const char *const k[] = {"name",		"direction",	"target",
					"trigger.type", "trigger.cron", "read_only"};
	berth_buf raw = BERTH_BUF_INIT(RESPONSE_MAX);
	json_t *arr = NULL, *row;
	size_t i;
	int rc;

	if (!a->json) {
		/* Pull rules name a source: print whichever remote the rule has. */
		if ((rc = call(a, "GET", "/policies", NULL, &raw)))
			goto done;
		arr = json_loadb(raw.ptr ? raw.ptr : "", raw.len, 0, NULL);
		for (size_t c = 0; c < 6; c++)
			printf("%s%c", h[c], c == 5 ? '\n' : '\t');
		json_array_foreach(arr, i, row)
		{
			json_t *remote = json_object_get(row, "target");

			cell(json_object_get(row, k[0]), 0);
			cell(json_object_get(row, k[1]), 0);
			cell(remote ? remote : json_object_get(row, "source"), 0);
			cell(json_object_get(json_object_get(row, "trigger"), "type"), 0);
			cell(json_object_get(json_object_get(row, "trigger"), "cron"), 0);
			cell(json_object_get(row, k[5]), 1);
		}
		goto done;
	}
	rc = show(a, "/policies", h, k, 6);
done:
	json_decref(arr);
	berth_buf_dispose(&raw);
	return rc;
}

static int name_ok(const char *s)
{
	if (!s || !*s || strlen(s) > 255 || strpbrk(s, "/?#% \t\r\n"))
		return berth_cli_fail(CMD, BERTH_EXIT_USAGE, "'%s' is not a rule name", s ? s : "");
	return 0;
}

static int create_rule(const berth_admin_conn *a, const char *file)
{
	berth_buf text = BERTH_BUF_INIT(RULE_FILE_MAX), raw = BERTH_BUF_INIT(RESPONSE_MAX);
	char c;
	int rc;

	if (strcmp(file, "-") == 0) {
		int ch;

		rc = 0;
		while ((ch = getchar()) != EOF && rc == 0) {
			c = (char)ch;
			rc = berth_buf_put(&text, &c, 1);
		}
	} else {
		rc = berth_fs_read_file(&text, file);
	}
	if (rc < 0 || berth_buf_put(&text, "", 1) < 0) {
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL,
				    "%s: cannot read the rule (at most %d bytes)", file,
				    RULE_FILE_MAX);
		goto done;
	}
	if ((rc = call(a, "POST", "/policies", text.ptr, &raw)) == 0) {
		if (a->json)
			print_raw(&raw);
		else
			printf("created\n");
	}
done:
	berth_buf_dispose(&text);
	berth_buf_dispose(&raw);
	return rc;
}

static int simple(const berth_admin_conn *a, const char *method, const char *path,
		  const char *done_text)
{
	berth_buf raw = BERTH_BUF_INIT(RESPONSE_MAX);
	int rc = call(a, method, path, NULL, &raw);

	if (rc == 0) {
		if (a->json)
			print_raw(&raw);
		else
			printf("%s\n", done_text);
	}
	berth_buf_dispose(&raw);
	return rc;
}

static int executions(const berth_admin_conn *a, int argc, char **argv)
{
	static const char *const h[] = {"ID",	 "RULE",   "TRIGGER", "STATUS",	 "STARTED",
					"ENDED", "COPIED", "SKIPPED", "DELETED", "FAILED"};
	static const char *const k[] = {
		"id",	 "rule",	   "trigger",	      "status",		 "started",
		"ended", "summary.copied", "summary.skipped", "summary.deleted", "summary.failed"};
	repl_opts o = {0};
	char path[400];
	int npos, rc = berth_args_parse(&cmd_admin_replication_executions_spec, &o, argc, argv,
					&npos);

	if (rc != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (o.rule && (rc = name_ok(o.rule)))
		return rc;
	snprintf(path, sizeof(path), "/executions?limit=%d%s%s", o.limit ? o.limit : 100,
		 o.rule ? "&rule=" : "", o.rule ? o.rule : "");
	return show(a, path, h, k, 10);
}

static int logs(const berth_admin_conn *a, const char *id)
{
	static const char *const h[] = {"ARTIFACT", "STATUS", "DIGEST", "MESSAGE"};
	static const char *const k[] = {"artifact", "status", "digest", "message"};
	char path[64];

	if (!id[0] || strspn(id, "0123456789") != strlen(id) || strlen(id) > 18)
		return berth_cli_fail(CMD, BERTH_EXIT_USAGE, "'%s' is not an execution id", id);
	snprintf(path, sizeof(path), "/executions/%s/results", id);
	return show(a, path, h, k, 4);
}

int cmd_admin_replication(const berth_admin_conn *a, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : NULL;
	int rc;
	char path[400];

	if (!verb || berth_cli_wants_help(argc, argv)) {
		berth_args_help(&cmd_admin_replication_spec, verb ? stdout : stderr);
		return verb ? BERTH_EXIT_OK : BERTH_EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0 && argc == 2)
		return list_rules(a);
	if (strcmp(verb, "executions") == 0)
		return executions(a, argc - 1, argv + 1);
	if (argc != 3)
		return berth_cli_fail(CMD, BERTH_EXIT_USAGE,
				      "replication %s: expected one argument (see berth admin "
				      "replication --help)",
				      verb);
	if (strcmp(verb, "create") == 0)
		return create_rule(a, argv[2]);
	if (strcmp(verb, "logs") == 0)
		return logs(a, argv[2]);
	if ((rc = name_ok(argv[2])))
		return rc;
	if (strcmp(verb, "run") == 0) {
		snprintf(path, sizeof(path), "/policies/%s/run", argv[2]);
		return simple(a, "POST", path, "queued");
	}
	if (strcmp(verb, "delete") == 0) {
		snprintf(path, sizeof(path), "/policies/%s", argv[2]);
		return simple(a, "DELETE", path, "deleted");
	}
	return berth_cli_fail(CMD, BERTH_EXIT_USAGE,
			      "unknown command 'replication %s' (see berth admin replication "
			      "--help)",
			      verb);
}
