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
 *   registries list              the registries rules may name (config file and API)
 *   registries create --name N --url U [--description D] [--username U
 *                     --password-file F] [--insecure]
 *   registries delete NAME       an API registry no rule uses
 *   registries ping NAME         GET /v2/ with its credentials: healthy or unhealthy
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
#define PASSWORD_FILE_MAX 4096

typedef struct repl_opts {
	const char *rule;
	int limit;
	/* registries create */
	const char *name, *url, *description, *username, *password_file;
	int insecure;
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

static const berth_arg registry_create_args[] = {
	BERTH_OPT_STRING("name", 0, repl_opts, name, "NAME", "how rules name it (required)"),
	BERTH_OPT_STRING("url", 0, repl_opts, url, "URL",
			 "https://host[:port] or http://host[:port] (required)"),
	BERTH_OPT_STRING("description", 0, repl_opts, description, "TEXT", "free text"),
	BERTH_OPT_STRING("username", 0, repl_opts, username, "USER", "the account to log in as"),
	BERTH_OPT_STRING("password-file", 0, repl_opts, password_file, "FILE",
			 "read USER's password from FILE (\"-\": stdin); sealed by the server"),
	BERTH_OPT_FLAG("insecure", 0, repl_opts, insecure, "do not verify its TLS certificate"),
	BERTH_OPT_END,
};

const berth_args_spec cmd_admin_replication_registries_create_spec = {
	.cmd = CMD,
	.usage = "admin [global options] replication registries create --name NAME --url URL\n"
		 "       [--description TEXT] [--username USER --password-file FILE] [--insecure]",
	.description = "Create a registry that replication rules can name as target or source\n"
		       "(POST /api/v1/replication/registries). The password never appears on\n"
		       "the command line: it is read from a file and sealed by the server.\n",
	.args = registry_create_args,
	.man = "berth-admin",
};

const berth_args_spec cmd_admin_replication_spec = {
	.cmd = CMD,
	.usage = "admin [global options] replication list | create FILE | delete NAME\n"
		 "       | run NAME | executions [--rule NAME] [--limit N] | logs ID\n"
		 "       | registries list | registries create --name NAME --url URL ...\n"
		 "       | registries delete NAME | registries ping NAME",
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

static void secret_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* --password-file's content, without a trailing newline; NULL on error (message printed). */
static char *read_secret(const char *file)
{
	berth_buf b = BERTH_BUF_INIT(PASSWORD_FILE_MAX);
	char *out = NULL;
	int rc = 0, ch;

	if (strcmp(file, "-") == 0) {
		while (rc == 0 && (ch = getchar()) != EOF) {
			char c = (char)ch;

			rc = berth_buf_put(&b, &c, 1);
		}
	} else {
		rc = berth_fs_read_file(&b, file);
	}
	while (rc == 0 && b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r'))
		b.len--;
	if (rc < 0 || !b.len)
		berth_cli_fail(CMD, BERTH_EXIT_FAIL, "%s: cannot read a password (1 to %d bytes)",
			       file, PASSWORD_FILE_MAX);
	else if (!(out = strndup(b.ptr, b.len)))
		berth_cli_fail(CMD, BERTH_EXIT_FAIL, "out of memory");
	berth_buf_dispose_secret(&b);
	return out;
}

static int create_registry(const berth_admin_conn *a, int argc, char **argv)
{
	berth_buf raw = BERTH_BUF_INIT(RESPONSE_MAX);
	repl_opts o = {0};
	json_t *body = NULL, *cred;
	char *password = NULL, *text = NULL;
	int npos, rc = berth_args_parse(&cmd_admin_replication_registries_create_spec, &o, argc,
					argv, &npos);

	if (rc != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	if (npos != 0 || !o.name || !o.url)
		return berth_cli_fail(CMD, BERTH_EXIT_USAGE,
				      "replication registries create: --name and --url are "
				      "required, nothing else");
	if (!!o.username != !!o.password_file)
		return berth_cli_fail(CMD, BERTH_EXIT_USAGE,
				      "replication registries create: --username and "
				      "--password-file go together");
	if ((rc = name_ok(o.name)))
		return rc;
	if (o.password_file && !(password = read_secret(o.password_file)))
		return BERTH_EXIT_FAIL;
	body = json_pack("{s:s,s:s,s:b}", "name", o.name, "url", o.url, "insecure", o.insecure);
	if (body && o.description)
		json_object_set_new(body, "description", json_string(o.description));
	if (body && o.username) {
		cred = json_pack("{s:s,s:s}", "username", o.username, "password", password);
		json_object_set_new(body, "credential", cred);
	}
	if (!body || !(text = json_dumps(body, JSON_COMPACT))) {
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "out of memory");
		goto done;
	}
	if ((rc = call(a, "POST", "/registries", text, &raw)) == 0) {
		if (a->json)
			print_raw(&raw);
		else
			printf("created\n");
	}
done:
	secret_free(password);
	secret_free(text);
	json_decref(body);
	berth_buf_dispose(&raw);
	return rc;
}

/* "healthy", or "unhealthy: why" (exit 1). */
static int ping_registry(const berth_admin_conn *a, const char *name)
{
	berth_buf raw = BERTH_BUF_INIT(RESPONSE_MAX);
	json_t *doc = NULL;
	const char *status, *msg;
	char path[400];
	int rc;

	snprintf(path, sizeof(path), "/registries/%s/ping", name);
	if ((rc = call(a, "POST", path, "{}", &raw)))
		goto done;
	doc = json_loadb(raw.ptr ? raw.ptr : "", raw.len, 0, NULL);
	status = json_string_value(json_object_get(doc, "status"));
	msg = json_string_value(json_object_get(doc, "message"));
	if (!status) {
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "the server's answer has no status");
		goto done;
	}
	if (a->json)
		print_raw(&raw);
	else if (msg && *msg)
		printf("%s: %s\n", status, msg);
	else
		printf("%s\n", status);
	rc = strcmp(status, "healthy") == 0 ? BERTH_EXIT_OK : BERTH_EXIT_FAIL;
done:
	json_decref(doc);
	berth_buf_dispose(&raw);
	return rc;
}

static int registries(const berth_admin_conn *a, int argc, char **argv)
{
	static const char *const h[] = {"NAME",	    "URL",	 "USERNAME",   "INSECURE",
					"PASSWORD", "READ-ONLY", "DESCRIPTION"};
	static const char *const k[] = {"name",		"url",	     "username",   "insecure",
					"has_password", "read_only", "description"};
	const char *verb = argc > 1 ? argv[1] : NULL;
	char path[400];
	int rc;

	if (verb && strcmp(verb, "list") == 0 && argc == 2)
		return show(a, "/registries", h, k, 7);
	if (verb && strcmp(verb, "create") == 0)
		return create_registry(a, argc - 1, argv + 1);
	if (verb && argc == 3 && (!strcmp(verb, "delete") || !strcmp(verb, "ping"))) {
		if ((rc = name_ok(argv[2])))
			return rc;
		if (!strcmp(verb, "ping"))
			return ping_registry(a, argv[2]);
		snprintf(path, sizeof(path), "/registries/%s", argv[2]);
		return simple(a, "DELETE", path, "deleted");
	}
	return berth_cli_fail(CMD, BERTH_EXIT_USAGE,
			      "replication registries: expected list, create, delete NAME or "
			      "ping NAME (see berth admin replication --help)");
}

int cmd_admin_replication(const berth_admin_conn *a, int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : NULL;
	int rc;
	char path[400];

	/* Verbs with options of their own print their own help. */
	int own_help =
		verb &&
		(strcmp(verb, "executions") == 0 ||
		 (strcmp(verb, "registries") == 0 && argc > 2 && strcmp(argv[2], "create") == 0));

	if (!verb || (!own_help && berth_cli_wants_help(argc, argv))) {
		berth_args_help(&cmd_admin_replication_spec, verb ? stdout : stderr);
		return verb ? BERTH_EXIT_OK : BERTH_EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0 && argc == 2)
		return list_rules(a);
	if (strcmp(verb, "executions") == 0)
		return executions(a, argc - 1, argv + 1);
	if (strcmp(verb, "registries") == 0)
		return registries(a, argc - 1, argv + 1);
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
