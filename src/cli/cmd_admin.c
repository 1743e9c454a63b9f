/*
 * cmd_admin.c - `berth admin ...`: the command line of berth's JSON admin
 * API (/api/v1/, docs/access-control.md): users (and htpasswd import),
 * projects, members, robot accounts, the audit log.
 *
 * Options are placed by position: global ones (server, the administrator's
 * own credentials, TLS, output format) come before the noun, a command's
 * own options after its verb. That is how `berth admin --password-stdin
 * user add bob --password-stdin` tells the administrator's password (first
 * line of stdin) from bob's (the next line).
 *
 * Every call goes through berth_client_api (src/lib/client/api.c): Basic
 * credentials up front, the client's TLS settings, no retries. Text output
 * is aligned tables; --format json prints the API's JSON as received.
 * Errors are one line "berth admin: <message>" (the server's OCI error
 * message), exit 1; usage errors exit 2. Passwords never reach stdout,
 * stderr or messages, and are wiped after use; a robot's secret is printed
 * once, when it is created.
 */
#include "admin_replication.h"
#include "cli.h"
#include "opts.h"

#include "berth/auth.h"
#include "berth/client.h"
#include "berth/sign.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/fs.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CMD "admin"
#define DEFAULT_SERVER "http://127.0.0.1:5000"
#define RESPONSE_MAX (32 * 1024 * 1024)
#define PASSWORD_FILE_MAX (64 * 1024)
#define PASS_MAX 1024

/* ---- help ---- */

typedef struct admin_opts {
	const char *server, *user, *auth_file, *cert_dir, *format;
	int pw_stdin, tls_verify;
} admin_opts;

static const char *const admin_formats[] = {"json", "text", NULL};

static const berth_arg admin_args[] = {
	BERTH_OPT_STRING("server", 0, admin_opts, server, "URL",
			 "the registry (default $BERTH_SERVER, else " DEFAULT_SERVER ")"),
	BERTH_OPT_STRING("username", 'u', admin_opts, user, "USER",
			 "act as USER (default: the credentials stored by\n"
			 "'berth login' for the server)"),
	BERTH_OPT_BOOL("password-stdin", 0, admin_opts, pw_stdin, NULL,
		       "read USER's password from the first line of stdin"),
	BERTH_OPT_STRING("authfile", 0, admin_opts, auth_file, "FILE",
			 "look stored credentials up in FILE"),
	BERTH_OPT_BOOL("tls-verify", 0, admin_opts, tls_verify, "false",
		       "do not verify the server's TLS certificate"),
	BERTH_OPT_STRING("cert-dir", 0, admin_opts, cert_dir, "DIR",
			 "extra CA certificates (*.crt) for the server"),
	BERTH_OPT_ENUM("format", 0, admin_opts, format, admin_formats, NULL,
		       "print the API's JSON, or tables (default text)"),
	BERTH_OPT_END,
};

static const berth_args_spec admin_spec = {
	.cmd = CMD,
	.usage = "admin [global options] <noun> <verb> [arguments] [command options]",
	.description = "Manage a berth registry through its admin API (/api/v1/). The options\n"
		       "below are global: they go before the noun.\n",
	.args = admin_args,
	.max_pos = -1,
	.flags = BERTH_ARGS_STOP,
	.footer = "commands:\n"
		  "  user list | add NAME [--sysadmin] [--password-stdin | --password-file F]\n"
		  "       | delete NAME | passwd NAME [--password-stdin | --password-file F]\n"
		  "  user import htpasswd FILE\n"
		  "  project list | create NAME [--public] | delete NAME | set NAME "
		  "--public=true|false\n"
		  "  member list PROJECT | add PROJECT USER ROLE | remove PROJECT USER\n"
		  "  robot list | create NAME --permission PROJECT[/REPO]:ACTIONS... "
		  "[--expires-days N]\n"
		  "        | delete NAME\n"
		  "  audit [--limit N] [--before ID]\n"
		  "  replication list | create FILE | delete NAME | run NAME\n"
		  "              | executions [--rule NAME] [--limit N] | logs ID\n"
		  "              | registries list | create --name N --url U ... | delete NAME\n"
		  "              | registries ping NAME\n"
		  "\n"
		  "Options are read by position: --password-stdin BEFORE the noun is the\n"
		  "administrator's own password; AFTER 'user add NAME' or 'user passwd NAME'\n"
		  "it is the new password for NAME. With both, stdin holds the administrator's\n"
		  "password on its first line and the new one on the second.\n"
		  "\n"
		  "Run 'berth admin <noun> --help' for a noun's commands.\n"
		  "Exit status: 0 ok, 1 failure (the server's message on stderr), 2 usage.\n",
};

/* The options of the commands (after the verb). */
typedef struct verb_opts {
	int sysadmin, pw_stdin, pub, limit, before, days;
	const char *pw_file;
	const char *require_sig; /* project set: KEY.pub[,KEY2.pub], "" = none */
	berth_args_list perms;
} verb_opts;

static const berth_arg user_add_args[] = {
	BERTH_OPT_BOOL("sysadmin", 0, verb_opts, sysadmin, NULL,
		       "make NAME a system administrator"),
	BERTH_OPT_BOOL("password-stdin", 0, verb_opts, pw_stdin, NULL,
		       "read NAME's password from the next line of stdin"),
	BERTH_OPT_STRING("password-file", 0, verb_opts, pw_file, "FILE",
			 "read NAME's password from the first line of FILE"),
	BERTH_OPT_END,
};

static const berth_args_spec user_add_spec = {
	.cmd = CMD,
	.usage = "admin [global options] user add NAME [options]",
	.description = "Create a user; the password is read from stdin (its next line), the\n"
		       "first line of a file, or asked for on a terminal.\n",
	.args = user_add_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "user add needs a NAME",
	.man = "berth-admin",
};

static const berth_args_spec user_passwd_spec = {
	.cmd = CMD,
	.usage = "admin [global options] user passwd NAME [options]",
	.description = "Set NAME's password (system administrators, or NAME itself).\n",
	.args = user_add_args + 1,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "user passwd needs a NAME",
	.man = "berth-admin",
};

static const berth_args_spec user_import_spec = {
	.cmd = CMD,
	.usage = "admin [global options] user import htpasswd FILE",
	.description = "Create the users of an htpasswd file with their hashes (bcrypt $2y$ or\n"
		       "SHA-crypt $5$/$6$ only; a file with another scheme is refused whole).\n",
	.max_pos = -1,
	.man = "berth-admin",
};

static const berth_arg project_args[] = {
	BERTH_OPT_BOOL("public", 0, verb_opts, pub, "true|false",
		       "public (anonymous pull) or private (the default)"),
	BERTH_OPT_END,
};

static const berth_args_spec project_create_spec = {
	.cmd = CMD,
	.usage = "admin [global options] project create NAME [--public]",
	.description = "Create a project (private unless --public).\n",
	.args = project_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "project create needs a NAME",
	.man = "berth-admin",
};

static const berth_arg project_set_args[] = {
	BERTH_OPT_BOOL("public", 0, verb_opts, pub, "true|false",
		       "public (anonymous pull) or private (the default)"),
	BERTH_OPT_STRING("require-signature", 0, verb_opts, require_sig, "KEY.pub[,KEY.pub]",
			 "refuse pulls of manifests without a valid cosign\n"
			 "signature by one of these public keys; \"\" removes\n"
			 "the policy"),
	BERTH_OPT_END,
};

static const berth_args_spec project_set_spec = {
	.cmd = CMD,
	.usage = "admin [global options] project set NAME [--public=true|false]\n"
		 "       [--require-signature KEY.pub[,KEY.pub]]",
	.description = "Make a project public (anonymous pull) or private; require that every\n"
		       "manifest pulled from it be signed by one of the given keys (cosign\n"
		       "signatures: .sig tags or sigstore bundle referrers; a signed index\n"
		       "covers its children), or remove that policy with \"\".\n",
	.args = project_set_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "project set needs a NAME",
	.man = "berth-admin",
};

static const berth_arg robot_create_args[] = {
	BERTH_OPT_LIST("permission", 0, verb_opts, perms, "PROJECT[/REPO]:ACTIONS",
		       "what the robot may do; ACTIONS is a comma list of\n"
		       "pull, push, delete; repeatable"),
	BERTH_OPT_INT("expires-days", 0, verb_opts, days, "N", 1, 36500,
		      "the account expires after N days (default: never)"),
	BERTH_OPT_END,
};

static const berth_args_spec robot_create_spec = {
	.cmd = CMD,
	.usage = "admin [global options] robot create NAME --permission PROJECT[/REPO]:ACTIONS "
		 "[options]",
	.description = "Create robot$NAME. Its secret is printed once, now, and can never be\n"
		       "shown again.\n",
	.args = robot_create_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "robot create needs a NAME",
	.man = "berth-admin",
};

static const berth_arg audit_args[] = {
	BERTH_OPT_INT("limit", 0, verb_opts, limit, "N", 1, 100000,
		      "at most N entries (default: the server's)"),
	BERTH_OPT_INT("before", 0, verb_opts, before, "ID", 1, 2147483647,
		      "only entries older than entry ID (to page back)"),
	BERTH_OPT_END,
};

static const berth_args_spec audit_spec = {
	.cmd = CMD,
	.usage = "admin [global options] audit [--limit N] [--before ID]",
	.description =
		"Show the audit log, newest first: pushes, pulls, deletes, login failures and\n"
		"admin changes, with who, what, when, from which address and the result.\n",
	.args = audit_args,
	.man = "berth-admin",
};

const berth_args_spec *const cmd_admin_specs[] = {
	&admin_spec,
	&user_add_spec,
	&user_passwd_spec,
	&user_import_spec,
	&project_create_spec,
	&project_set_spec,
	&robot_create_spec,
	&audit_spec,
	&cmd_admin_replication_spec,
	&cmd_admin_replication_executions_spec,
	&cmd_admin_replication_registries_create_spec,
	NULL,
};

/*
 * Parse a command's options (argv[0] is its verb) into *o: 0 to go on, with
 * the positional arguments in argv[1..*npos]; -1 to stop and return *code
 * (the help was printed, or a usage error).
 */
static int verb_parse(const berth_args_spec *spec, int argc, char **argv, verb_opts *o, int *npos,
		      int *code)
{
	int rc = berth_args_parse(spec, o, argc, argv, npos);

	if (rc == BERTH_ARGS_OK)
		return 0;
	*code = berth_args_exit(rc);
	return -1;
}

static const char help_user[] =
	"usage: berth admin [global options] user <verb> ...\n"
	"\n"
	"  user list                       list users (name, system administrator, created)\n"
	"  user add NAME [--sysadmin] [--password-stdin | --password-file F]\n"
	"                                  create a user; the password is read from stdin\n"
	"                                  (its next line), the first line of F, or asked\n"
	"                                  for on a terminal\n"
	"  user delete NAME                delete a user\n"
	"  user passwd NAME [--password-stdin | --password-file F]\n"
	"                                  set NAME's password (system administrators, or\n"
	"                                  NAME itself)\n"
	"  user import htpasswd FILE       create the users of an htpasswd file with their\n"
	"                                  hashes (bcrypt $2y$ or SHA-crypt $5$/$6$ only; a\n"
	"                                  file with another scheme is refused whole)\n"
	"\n"
	"--password-stdin after the verb is NAME's new password; before the noun it\n"
	"is the administrator's own (see berth admin --help).\n";

static const char help_project[] =
	"usage: berth admin [global options] project <verb> ...\n"
	"\n"
	"  project list                    list the projects you may see\n"
	"  project create NAME [--public]  create a project (private unless --public)\n"
	"  project delete NAME             delete a project\n"
	"  project set NAME --public=true|false\n"
	"                                  make a project public (anonymous pull) or private\n"
	"  project set NAME --require-signature KEY.pub[,KEY.pub]\n"
	"                                  refuse pulls of manifests not signed by one of\n"
	"                                  the keys (\"\" removes the policy)\n";

static const char help_member[] =
	"usage: berth admin [global options] member <verb> ...\n"
	"\n"
	"  member list PROJECT             list a project's members and their roles\n"
	"  member add PROJECT USER ROLE    give USER a ROLE in PROJECT (replacing any other):\n"
	"                                  admin, maintainer, developer or guest\n"
	"  member remove PROJECT USER      remove USER from PROJECT\n";

static const char help_robot[] =
	"usage: berth admin [global options] robot <verb> ...\n"
	"\n"
	"  robot list                      list robot accounts\n"
	"  robot create NAME --permission PROJECT[/REPO]:ACTIONS [--permission ...]\n"
	"               [--expires-days N]\n"
	"                                  create robot$NAME; ACTIONS is a comma list of\n"
	"                                  pull, push, delete. Its secret is printed once,\n"
	"                                  now, and can never be shown again.\n"
	"  robot delete NAME               delete a robot account (NAME or robot$NAME)\n";

/* ---- context ---- */

typedef struct admin_ctx {
	berth_client *c;
	char base[600]; /* "https://host:port", or "" to let the client choose */
	int json;
	const char *user, *pass; /* given with -u (NULL: stored credentials); borrowed */
} admin_ctx;

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = berth_cli_vfail(CMD, BERTH_EXIT_USAGE, fmt, ap);
	va_end(ap);
	return rc;
}

static int fail_last(void)
{
	return berth_cli_fail(CMD, BERTH_EXIT_FAIL, "%s", berth_error_last());
}

/*
 * Names go into URL paths unescaped, so only characters a path segment may
 * hold as they are are accepted ('/', '%', '?', spaces and the like are not).
 */
static int name_ok(const char *what, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > BERTH_META_NAME_MAX)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || strchr("-._~!$&'()*+,;=:@", ch)))
			goto bad;
	}
	return 0;
bad:
	usage("'%.*s' is not a valid %s name", n > 80 ? 80 : (int)n, s, what);
	return -1;
}

/* Read one line (without its end) into buf; -1 at EOF or if it does not fit. */
static int read_line(FILE *in, char *buf, size_t len)
{
	size_t n;

	if (!fgets(buf, (int)len, in))
		return -1;
	n = strlen(buf);
	if (n == len - 1 && buf[n - 1] != '\n' && !feof(in)) {
		explicit_bzero(buf, len);
		return -1;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

/* ---- calls ---- */

/*
 * One API call: `path` under /api/v1, `body` (may be NULL) as JSON. The
 * response body goes to *out (may be NULL). Returns 0 or prints the error
 * and returns BERTH_EXIT_FAIL; `status` (may be NULL) gets the HTTP status.
 */
static int call(admin_ctx *a, const char *method, const char *path, const char *body,
		berth_buf *out, long *status)
{
	char url[1200];
	int rc;

	if ((size_t)snprintf(url, sizeof(url), "%s/api/v1%s", a->base, path) >= sizeof(url))
		return berth_cli_fail(CMD, BERTH_EXIT_FAIL, "request path too long");
	rc = berth_client_api(a->c, method, url, body, out, status);
	if (rc < 0)
		return fail_last();
	return 0;
}

/* GET a JSON array. */
static int get_array(admin_ctx *a, const char *path, berth_buf *raw, json_t **arr)
{
	json_error_t jerr;
	int rc;

	*arr = NULL;
	if ((rc = call(a, "GET", path, NULL, raw, NULL)))
		return rc;
	*arr = json_loadb(raw->ptr ? raw->ptr : "", raw->len, 0, &jerr);
	if (!json_is_array(*arr)) {
		json_decref(*arr);
		*arr = NULL;
		return berth_cli_fail(CMD, BERTH_EXIT_FAIL,
				      "the server's answer to GET /api/v1%s is not a JSON array",
				      path);
	}
	return 0;
}

/* --format json: the API's JSON as received. */
static void print_raw(const berth_buf *raw)
{
	if (!raw->len)
		return;
	fwrite(raw->ptr, 1, raw->len, stdout);
	if (raw->ptr[raw->len - 1] != '\n')
		fputc('\n', stdout);
}

/* ---- tables ---- */

#define TABLE_MAX_COLS 8

/* A cell's text: strings as they are, booleans yes/no, numbers, null as "-". */
static char *cell_text(json_t *v)
{
	char *s = NULL;

	if (json_is_string(v))
		s = strdup(json_string_value(v));
	else if (json_is_true(v))
		s = strdup("yes");
	else if (json_is_false(v))
		s = strdup("no");
	else if (json_is_integer(v)) {
		if (asprintf(&s, "%lld", (long long)json_integer_value(v)) < 0)
			s = NULL;
	} else if (!v || json_is_null(v))
		s = strdup("-");
	else
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s)
		for (char *p = s; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
	return s;
}

static void print_cell(const char *s, size_t width, int last)
{
	if (last)
		printf("%s\n", s);
	else
		printf("%-*s  ", (int)width, s);
}

/*
 * Print rows (a JSON array of arrays of cells) under headers, columns
 * aligned, the last one unpadded.
 */
static int table_print(const char *const *headers, size_t ncol, json_t *rows)
{
	size_t width[TABLE_MAX_COLS] = {0}, i, j, nrows = json_array_size(rows);
	char **cells = NULL;
	int rc = 0;

	if (ncol > TABLE_MAX_COLS)
		ncol = TABLE_MAX_COLS;
	cells = calloc(nrows * ncol + 1, sizeof(*cells));
	if (!cells)
		return berth_cli_fail(CMD, BERTH_EXIT_FAIL, "out of memory");
	for (j = 0; j < ncol; j++)
		width[j] = strlen(headers[j]);
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < ncol; j++) {
			char *s = cell_text(json_array_get(json_array_get(rows, i), j));

			if (!s) {
				rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "out of memory");
				goto done;
			}
			cells[i * ncol + j] = s;
			if (strlen(s) > width[j])
				width[j] = strlen(s);
		}
	}
	for (j = 0; j < ncol; j++)
		print_cell(headers[j], width[j], j + 1 == ncol);
	for (i = 0; i < nrows; i++)
		for (j = 0; j < ncol; j++)
			print_cell(cells[i * ncol + j], width[j], j + 1 == ncol);
done:
	for (i = 0; i < nrows * ncol; i++)
		free(cells[i]);
	free(cells);
	return rc;
}

/* List `path` and print the fields `keys` of each element under `headers`. */
static int list_table(admin_ctx *a, const char *path, const char *const *headers,
		      const char *const *keys, size_t ncol,
		      json_t *(*cell)(json_t *item, const char *key))
{
	berth_buf raw = BERTH_BUF_INIT(RESPONSE_MAX);
	json_t *arr = NULL, *rows = NULL, *item;
	size_t i;
	int rc;

	if ((rc = get_array(a, path, &raw, &arr)))
		goto done;
	if (a->json) {
		print_raw(&raw);
		goto done;
	}
	rows = json_array();
	json_array_foreach(arr, i, item)
	{
		json_t *row = json_array();

		for (size_t j = 0; j < ncol; j++)
			json_array_append_new(row,
					      cell ? cell(item, keys[j])
						   : json_incref(json_object_get(item, keys[j])));
		json_array_append_new(rows, row);
	}
	rc = table_print(headers, ncol, rows);
done:
	json_decref(rows);
	json_decref(arr);
	berth_buf_dispose(&raw);
	return rc;
}

/* ---- passwords ---- */

/*
 * The new password for a user: --password-stdin (the next line of stdin),
 * --password-file F (its first line) or a terminal prompt (twice).
 */
static int new_password(int from_stdin, const char *file, char *pw, size_t len)
{
	berth_buf b = BERTH_BUF_INIT(PASSWORD_FILE_MAX);
	int rc = 0;

	pw[0] = '\0';
	if (from_stdin && file) {
		rc = usage("--password-stdin and --password-file exclude each other");
	} else if (from_stdin) {
		if (read_line(stdin, pw, len) < 0)
			rc = berth_cli_fail(
				CMD, BERTH_EXIT_FAIL,
				"no password on standard input (or longer than %zu bytes)",
				len - 1);
	} else if (file) {
		size_t n;

		if (berth_fs_read_file(&b, file) < 0) {
			rc = fail_last();
			goto done;
		}
		n = b.len ? strcspn(b.ptr, "\r\n") : 0;
		if (n >= len) {
			rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "the password in %s is too long",
					    file);
			goto done;
		}
		memcpy(pw, b.ptr ? b.ptr : "", n);
		pw[n] = '\0';
	} else if (isatty(0)) {
		char again[PASS_MAX];

		opt_ask_password("New password: ", pw, len);
		opt_ask_password("Repeat it: ", again, sizeof(again));
		if (strcmp(again, pw) != 0)
			rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "the passwords differ");
		explicit_bzero(again, sizeof(again));
	} else {
		rc = usage("needs --password-stdin or --password-file (no terminal to ask on)");
	}
	if (!rc && !pw[0])
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "the password is empty");
done:
	berth_buf_dispose_secret(&b);
	if (rc)
		explicit_bzero(pw, len);
	return rc;
}

/* ---- user ---- */

static int user_add(admin_ctx *a, int argc, char **argv)
{
	verb_opts o = {0};
	const char *name;
	int sysadmin, rc, n;
	berth_buf body = BERTH_BUF_INIT(0), raw = BERTH_BUF_INIT(RESPONSE_MAX);
	char pw[PASS_MAX];

	pw[0] = '\0';
	if (verb_parse(&user_add_spec, argc, argv, &o, &n, &rc))
		return rc;
	name = argv[1];
	sysadmin = o.sysadmin;
	if (name_ok("user", name))
		return BERTH_EXIT_USAGE;
	if ((rc = new_password(o.pw_stdin, o.pw_file, pw, sizeof(pw))))
		goto done;
	if (berth_buf_puts(&body, "{\"name\":") || berth_buf_put_json_string(&body, name) ||
	    berth_buf_puts(&body, ",\"password\":") || berth_buf_put_json_string(&body, pw) ||
	    berth_buf_printf(&body, ",\"sysadmin\":%s}", sysadmin ? "true" : "false")) {
		rc = fail_last();
		goto done;
	}
	explicit_bzero(pw, sizeof(pw));
	if ((rc = call(a, "POST", "/users", body.ptr, &raw, NULL)))
		goto done;
	if (a->json)
		print_raw(&raw);
	else
		printf("Created user %s%s\n", name, sysadmin ? " (system administrator)" : "");
done:
	explicit_bzero(pw, sizeof(pw));
	berth_buf_dispose_secret(&body);
	berth_buf_dispose(&raw);
	return rc;
}

static int user_passwd(admin_ctx *a, int argc, char **argv)
{
	verb_opts o = {0};
	const char *name;
	int rc, n;
	berth_buf body = BERTH_BUF_INIT(0);
	char pw[PASS_MAX], path[300];

	pw[0] = '\0';
	if (verb_parse(&user_passwd_spec, argc, argv, &o, &n, &rc))
		return rc;
	name = argv[1];
	if (name_ok("user", name))
		return BERTH_EXIT_USAGE;
	if ((rc = new_password(o.pw_stdin, o.pw_file, pw, sizeof(pw))))
		goto done;
	if (berth_buf_puts(&body, "{\"password\":") || berth_buf_put_json_string(&body, pw)) {
		rc = fail_last();
		goto done;
	}
	/* One's own password is changed only with the current one (the server
	 * asks for it); ours is the one we logged in with. */
	if (a->user && a->pass && strcmp(a->user, name) == 0 &&
	    (berth_buf_puts(&body, ",\"current_password\":") ||
	     berth_buf_put_json_string(&body, a->pass))) {
		rc = fail_last();
		goto done;
	}
	if (berth_buf_puts(&body, "}")) {
		rc = fail_last();
		goto done;
	}
	explicit_bzero(pw, sizeof(pw));
	snprintf(path, sizeof(path), "/users/%s/password", name);
	if ((rc = call(a, "PUT", path, body.ptr, NULL, NULL)))
		goto done;
	if (!a->json)
		printf("Changed the password of %s\n", name);
done:
	explicit_bzero(pw, sizeof(pw));
	berth_buf_dispose_secret(&body);
	return rc;
}

typedef struct import_entry {
	char *user;
	char *hash;
} import_entry;

typedef struct import_list {
	import_entry *v;
	size_t n, cap;
} import_list;

static int import_collect(void *ctx, const char *user, const char *hash)
{
	import_list *l = ctx;
	import_entry *v;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].user, user) == 0)
			return berth_error_set(
				BERTH_EINVALID,
				"user %s appears more than once in the file; nothing "
				"was imported",
				user);
	if (!(v = berth_array_room(l->v, l->n, &l->cap, sizeof(*v))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	l->v = v;
	l->v[l->n].user = strdup(user);
	l->v[l->n].hash = strdup(hash);
	if (!l->v[l->n].user || !l->v[l->n].hash) {
		free(l->v[l->n].user);
		free(l->v[l->n].hash);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	l->n++;
	return 0;
}

static void import_list_dispose(import_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].user);
		explicit_bzero(l->v[i].hash, strlen(l->v[i].hash));
		free(l->v[i].hash);
	}
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/*
 * user import htpasswd FILE: the file is parsed (and every line checked)
 * here first, so a file with an unsupported scheme imports nothing. Each
 * user is then created with its hash ("password_hash"). Users that exist
 * already are skipped and reported; any other error stops the import.
 */
static int user_import(admin_ctx *a, int argc, char **argv)
{
	berth_buf text = BERTH_BUF_INIT(BERTH_CRED_HTPASSWD_MAX), body = BERTH_BUF_INIT(0);
	berth_buf existing = BERTH_BUF_INIT(4096);
	import_list l = {0};
	const char *file = NULL;
	size_t done_n = 0, exist_n = 0;
	verb_opts o = {0};
	long status;
	int rc, cut = 0, n;

	if (verb_parse(&user_import_spec, argc, argv, &o, &n, &rc))
		return rc;
	if (n < 1 || strcmp(argv[1], "htpasswd") != 0)
		return usage("user import needs a format: user import htpasswd FILE");
	if (n != 2)
		return usage("user import htpasswd needs exactly one FILE");
	file = argv[2];
	if (berth_fs_read_file(&text, file) < 0) {
		rc = fail_last();
		goto done;
	}
	if (berth_cred_htpasswd_parse(text.ptr ? text.ptr : "", text.len, import_collect, &l) < 0) {
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "%s: %s", file, berth_error_last());
		goto done;
	}
	if (!l.n) {
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "%s: no users in the file", file);
		goto done;
	}
	for (size_t i = 0; i < l.n; i++) {
		char url[1200];

		if (name_ok("user", l.v[i].user)) {
			rc = berth_cli_fail(
				CMD, BERTH_EXIT_FAIL,
				"%s: imported %zu of %zu users, stopped at an invalid name", file,
				done_n, l.n);
			goto done;
		}
		berth_buf_dispose_secret(&body);
		if (berth_buf_puts(&body, "{\"name\":") ||
		    berth_buf_put_json_string(&body, l.v[i].user) ||
		    berth_buf_puts(&body, ",\"password_hash\":") ||
		    berth_buf_put_json_string(&body, l.v[i].hash) || berth_buf_puts(&body, "}")) {
			rc = fail_last();
			goto done;
		}
		snprintf(url, sizeof(url), "%s/api/v1/users", a->base);
		if (berth_client_api(a->c, "POST", url, body.ptr, NULL, &status) < 0) {
			if (status == 409) {
				exist_n++;
				/* The list is capped; past the cap it is cut short. */
				if (berth_buf_printf(&existing, "%s%s", existing.len ? ", " : "",
						     l.v[i].user))
					cut = 1;
				continue;
			}
			rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL,
					    "user %s: %s (imported %zu of %zu users before it)",
					    l.v[i].user, berth_error_last(), done_n, l.n);
			goto done;
		}
		done_n++;
	}
	if (exist_n) {
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL,
				    "imported %zu of %zu users from %s; %zu already existed: %s%s",
				    done_n, l.n, file, exist_n, existing.ptr ? existing.ptr : "",
				    cut ? ", ..." : "");
		goto done;
	}
	if (!a->json)
		printf("Imported %zu users from %s\n", done_n, file);
	rc = 0;
done:
	import_list_dispose(&l);
	berth_buf_dispose_secret(&text);
	berth_buf_dispose_secret(&body);
	berth_buf_dispose(&existing);
	return rc;
}

static int user_cmd(admin_ctx *a, int argc, char **argv)
{
	static const char *const h[] = {"NAME", "SYSADMIN", "CREATED"};
	static const char *const k[] = {"name", "sysadmin", "created_at"};
	const char *verb = argc > 1 ? argv[1] : NULL;
	char path[300];
	int rc;

	if (!verb || berth_cli_is_help(verb) ||
	    (berth_cli_wants_help(argc - 1, argv + 1) && strcmp(verb, "add") &&
	     strcmp(verb, "passwd") && strcmp(verb, "import"))) {
		fputs(help_user, verb ? stdout : stderr);
		return verb ? BERTH_EXIT_OK : BERTH_EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0) {
		if (argc != 2)
			return usage("user list takes no arguments");
		return list_table(a, "/users", h, k, 3, NULL);
	}
	if (strcmp(verb, "add") == 0)
		return user_add(a, argc - 1, argv + 1);
	if (strcmp(verb, "passwd") == 0)
		return user_passwd(a, argc - 1, argv + 1);
	if (strcmp(verb, "import") == 0)
		return user_import(a, argc - 1, argv + 1);
	if (strcmp(verb, "delete") == 0) {
		if (argc != 3)
			return usage("user delete needs exactly one NAME");
		if (name_ok("user", argv[2]))
			return BERTH_EXIT_USAGE;
		snprintf(path, sizeof(path), "/users/%s", argv[2]);
		if ((rc = call(a, "DELETE", path, NULL, NULL, NULL)))
			return rc;
		if (!a->json)
			printf("Deleted user %s\n", argv[2]);
		return 0;
	}
	return usage("unknown user command '%s' (see berth admin user --help)", verb);
}

/* ---- project ---- */

/*
 * The body of `project set`: {"public":..} and/or {"require_signature":
 * [PEM...]} read from the comma-separated key files (the server checks
 * each key). Returns 0 or an exit code after saying why.
 */
static int project_set_body(berth_buf *body, int pub, const char *keys)
{
	berth_buf text = BERTH_BUF_INIT(BERTH_SIGN_KEY_FILE_MAX);
	char *list = NULL, *file, *save = NULL;
	int rc = BERTH_EXIT_FAIL, first = 1;

	if (berth_buf_puts(body, "{"))
		goto oom;
	if (pub >= 0 && berth_buf_printf(body, "\"public\":%s", pub ? "true" : "false"))
		goto oom;
	if (keys) {
		if (berth_buf_puts(body, pub >= 0 ? ",\"require_signature\":["
						  : "\"require_signature\":["))
			goto oom;
		if (!(list = strdup(keys)))
			goto oom;
		for (file = strtok_r(list, ",", &save); file; file = strtok_r(NULL, ",", &save)) {
			berth_buf_reset(&text);
			if (berth_fs_read_file(&text, file) < 0) {
				rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "%s: %s", file,
						    berth_error_last());
				goto done;
			}
			if ((!first && berth_buf_puts(body, ",")) ||
			    berth_buf_put_json_string(body, text.ptr ? text.ptr : ""))
				goto oom;
			first = 0;
		}
		if (berth_buf_puts(body, "]"))
			goto oom;
	}
	if (berth_buf_puts(body, "}"))
		goto oom;
	rc = 0;
	goto done;
oom:
	rc = fail_last();
done:
	free(list);
	berth_buf_dispose(&text);
	return rc;
}

static int project_cmd(admin_ctx *a, int argc, char **argv)
{
	static const char *const h[] = {"NAME", "PUBLIC"};
	static const char *const k[] = {"name", "public"};
	const char *verb = argc > 1 ? argv[1] : NULL, *name = NULL;
	berth_buf body = BERTH_BUF_INIT(0), raw = BERTH_BUF_INIT(RESPONSE_MAX);
	char path[300];
	verb_opts o = {.pub = -1};
	int pub, create = 0, set = 0, n, rc = BERTH_EXIT_USAGE;

	if (!verb || berth_cli_is_help(verb) ||
	    (berth_cli_wants_help(argc - 1, argv + 1) && strcmp(verb, "create") &&
	     strcmp(verb, "set"))) {
		fputs(help_project, verb ? stdout : stderr);
		return verb ? BERTH_EXIT_OK : BERTH_EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0) {
		if (argc != 2)
			return usage("project list takes no arguments");
		return list_table(a, "/projects", h, k, 2, NULL);
	}
	if (strcmp(verb, "delete") == 0) {
		if (argc != 3)
			return usage("project delete needs exactly one NAME");
		if (name_ok("project", argv[2]))
			return BERTH_EXIT_USAGE;
		snprintf(path, sizeof(path), "/projects/%s", argv[2]);
		if ((rc = call(a, "DELETE", path, NULL, NULL, NULL)))
			return rc;
		if (!a->json)
			printf("Deleted project %s\n", argv[2]);
		return 0;
	}
	create = strcmp(verb, "create") == 0;
	set = strcmp(verb, "set") == 0;
	if (!create && !set)
		return usage("unknown project command '%s' (see berth admin project --help)", verb);
	if (verb_parse(create ? &project_create_spec : &project_set_spec, argc - 1, argv + 1, &o,
		       &n, &rc))
		goto done;
	rc = BERTH_EXIT_USAGE;
	name = argv[2];
	pub = o.pub;
	if (name_ok("project", name))
		goto done;
	if (set && pub < 0 && !o.require_sig) {
		rc = usage("project set needs --public=true|false or --require-signature KEYS");
		goto done;
	}
	if (create) {
		if (berth_buf_puts(&body, "{\"name\":") || berth_buf_put_json_string(&body, name) ||
		    berth_buf_printf(&body, ",\"public\":%s}", pub > 0 ? "true" : "false")) {
			rc = fail_last();
			goto done;
		}
		if ((rc = call(a, "POST", "/projects", body.ptr, &raw, NULL)))
			goto done;
		if (a->json)
			print_raw(&raw);
		else
			printf("Created project %s (%s)\n", name, pub > 0 ? "public" : "private");
	} else {
		if ((rc = project_set_body(&body, pub, o.require_sig)) != 0)
			goto done;
		snprintf(path, sizeof(path), "/projects/%s", name);
		if ((rc = call(a, "PUT", path, body.ptr, NULL, NULL)))
			goto done;
		if (!a->json && pub >= 0)
			printf("Project %s is now %s\n", name, pub ? "public" : "private");
		if (!a->json && o.require_sig)
			printf(*o.require_sig ? "Project %s now requires signed manifests\n"
					      : "Project %s no longer requires signatures\n",
			       name);
	}
	rc = 0;
done:
	berth_buf_dispose(&body);
	berth_buf_dispose(&raw);
	return rc;
}

/* ---- member ---- */

static int member_cmd(admin_ctx *a, int argc, char **argv)
{
	static const char *const h[] = {"USER", "ROLE"};
	static const char *const k[] = {"user", "role"};
	const char *verb = argc > 1 ? argv[1] : NULL;
	berth_buf body = BERTH_BUF_INIT(0);
	char path[600];
	berth_role role;
	int rc;

	if (!verb || berth_cli_is_help(verb) || berth_cli_wants_help(argc - 1, argv + 1)) {
		fputs(help_member, verb ? stdout : stderr);
		return verb ? BERTH_EXIT_OK : BERTH_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++)
		if (argv[i][0] == '-')
			return usage("member %s: unknown option '%s' (see --help)", verb, argv[i]);
	if (strcmp(verb, "list") == 0) {
		if (argc != 3)
			return usage("member list needs exactly one PROJECT");
		if (name_ok("project", argv[2]))
			return BERTH_EXIT_USAGE;
		snprintf(path, sizeof(path), "/projects/%s/members", argv[2]);
		return list_table(a, path, h, k, 2, NULL);
	}
	if (strcmp(verb, "add") == 0) {
		if (argc != 5)
			return usage("member add needs PROJECT USER ROLE");
		if (name_ok("project", argv[2]) || name_ok("user", argv[3]))
			return BERTH_EXIT_USAGE;
		if (berth_auth_role_parse(argv[4], &role) < 0 || role == BERTH_ROLE_NONE)
			return usage("'%s' is not a role: admin, maintainer, developer or guest",
				     argv[4]);
		if (berth_buf_puts(&body, "{\"role\":") ||
		    berth_buf_put_json_string(&body, berth_auth_role_name(role)) ||
		    berth_buf_puts(&body, "}")) {
			rc = fail_last();
			goto done;
		}
		snprintf(path, sizeof(path), "/projects/%s/members/%s", argv[2], argv[3]);
		if ((rc = call(a, "PUT", path, body.ptr, NULL, NULL)))
			goto done;
		if (!a->json)
			printf("%s is now %s of project %s\n", argv[3], berth_auth_role_name(role),
			       argv[2]);
		rc = 0;
		goto done;
	}
	if (strcmp(verb, "remove") == 0) {
		if (argc != 4)
			return usage("member remove needs PROJECT USER");
		if (name_ok("project", argv[2]) || name_ok("user", argv[3]))
			return BERTH_EXIT_USAGE;
		snprintf(path, sizeof(path), "/projects/%s/members/%s", argv[2], argv[3]);
		if ((rc = call(a, "DELETE", path, NULL, NULL, NULL)))
			goto done;
		if (!a->json)
			printf("Removed %s from project %s\n", argv[3], argv[2]);
		rc = 0;
		goto done;
	}
	return usage("unknown member command '%s' (see berth admin member --help)", verb);
done:
	berth_buf_dispose(&body);
	return rc;
}

/* ---- robot ---- */

/* "PROJECT[/REPO]:ACTIONS" → a permission object appended to body. */
static int permission_put(berth_buf *body, const char *spec)
{
	const char *colon = strrchr(spec, ':'), *slash;
	char target[512], project[512], *save = NULL, *word, actions[128];
	size_t n;
	int first = 1;

	if (!colon || colon == spec || !colon[1] || (size_t)(colon - spec) >= sizeof(target) ||
	    strlen(colon + 1) >= sizeof(actions))
		return usage(
			"--permission '%s' is not PROJECT[/REPO]:ACTIONS (e.g. team:pull,push)",
			spec);
	n = (size_t)(colon - spec);
	memcpy(target, spec, n);
	target[n] = '\0';
	slash = strchr(target, '/');
	if (slash == target || (slash && !slash[1]))
		return usage("--permission '%s' names no project or repository", spec);
	snprintf(project, sizeof(project), "%.*s",
		 (int)(slash ? (size_t)(slash - target) : strlen(target)), target);
	if (name_ok("project", project))
		return BERTH_EXIT_USAGE;
	if (berth_buf_puts(body, "{\"project\":") || berth_buf_put_json_string(body, project))
		return fail_last();
	/* The repository is its full name, project included (berth/auth.h). */
	if (slash &&
	    (berth_buf_puts(body, ",\"repository\":") || berth_buf_put_json_string(body, target)))
		return fail_last();
	if (berth_buf_puts(body, ",\"actions\":["))
		return fail_last();
	snprintf(actions, sizeof(actions), "%s", colon + 1);
	for (word = strtok_r(actions, ",", &save); word; word = strtok_r(NULL, ",", &save)) {
		if (strcmp(word, "pull") && strcmp(word, "push") && strcmp(word, "delete"))
			return usage(
				"--permission '%s': '%s' is not an action (pull, push, delete)",
				spec, word);
		if (berth_buf_printf(body, "%s\"%s\"", first ? "" : ",", word))
			return fail_last();
		first = 0;
	}
	if (first)
		return usage("--permission '%s' has no actions", spec);
	if (berth_buf_puts(body, "]}"))
		return fail_last();
	return 0;
}

static json_t *robot_cell(json_t *item, const char *key)
{
	berth_buf b = BERTH_BUF_INIT(0);
	json_t *p, *out;
	size_t i, j;

	if (strcmp(key, "permissions") != 0)
		return json_incref(json_object_get(item, key));
	json_array_foreach(json_object_get(item, "permissions"), i, p)
	{
		const char *proj = json_string_value(json_object_get(p, "project"));
		const char *repo = json_string_value(json_object_get(p, "repository"));
		json_t *act;
		int bad = 0;

		bad |= berth_buf_printf(&b, "%s%s", i ? " " : "",
					repo && *repo ? repo : (proj ? proj : "?"));
		json_array_foreach(json_object_get(p, "actions"), j, act) bad |=
			berth_buf_printf(&b, "%c%s", j ? ',' : ':',
					 json_string_value(act) ? json_string_value(act) : "?");
		if (bad)
			break;
	}
	out = json_string(b.ptr ? b.ptr : "-");
	berth_buf_dispose(&b);
	return out;
}

static int robot_create(admin_ctx *a, int argc, char **argv)
{
	berth_buf body = BERTH_BUF_INIT(0), raw = BERTH_BUF_INIT(RESPONSE_MAX);
	verb_opts o = {.days = -1};
	const char *name, *secret, *rname, *exp;
	int days, n, rc = BERTH_EXIT_USAGE;
	json_t *resp = NULL;

	if (verb_parse(&robot_create_spec, argc, argv, &o, &n, &rc))
		goto done;
	name = argv[1];
	days = o.days;
	if (berth_buf_puts(&body, "{\"permissions\":[")) {
		rc = fail_last();
		goto done;
	}
	for (int i = 0; i < o.perms.n; i++) {
		if (i && berth_buf_puts(&body, ",")) {
			rc = fail_last();
			goto done;
		}
		if ((rc = permission_put(&body, o.perms.v[i])))
			goto done;
	}
	rc = BERTH_EXIT_USAGE;
	if (strncmp(name, "robot$", 6) == 0)
		name += 6;
	if (name_ok("robot", name))
		goto done;
	if (!o.perms.n) {
		rc = usage("robot create needs at least one --permission PROJECT[/REPO]:ACTIONS");
		goto done;
	}
	if (berth_buf_puts(&body, "],\"name\":") || berth_buf_put_json_string(&body, name) ||
	    (days > 0 && berth_buf_printf(&body, ",\"expires_in_days\":%d", days)) ||
	    berth_buf_puts(&body, "}")) {
		rc = fail_last();
		goto done;
	}
	if ((rc = call(a, "POST", "/robots", body.ptr, &raw, NULL)))
		goto done;
	if (a->json) {
		print_raw(&raw);
		goto done;
	}
	resp = json_loadb(raw.ptr ? raw.ptr : "", raw.len, 0, NULL);
	secret = json_string_value(json_object_get(resp, "secret"));
	rname = json_string_value(json_object_get(resp, "name"));
	exp = json_string_value(json_object_get(resp, "expires_at"));
	if (!secret) {
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL,
				    "the server created the robot but sent no secret; delete it "
				    "and try again");
		goto done;
	}
	printf("Created robot account %s (expires %s).\n", rname ? rname : name,
	       exp ? exp : "never");
	printf("Its secret is shown only now; store it safely:\n");
	printf("%s\n", secret);
done:
	json_decref(resp);
	berth_buf_dispose_secret(&raw);
	berth_buf_dispose(&body);
	return rc;
}

static int robot_cmd(admin_ctx *a, int argc, char **argv)
{
	static const char *const h[] = {"NAME", "EXPIRES", "PERMISSIONS"};
	static const char *const k[] = {"name", "expires_at", "permissions"};
	const char *verb = argc > 1 ? argv[1] : NULL, *name;
	char path[1000], alt[1000];
	long status = 0;
	int rc;

	if (!verb || berth_cli_is_help(verb) ||
	    (berth_cli_wants_help(argc - 1, argv + 1) && strcmp(verb, "create"))) {
		fputs(help_robot, verb ? stdout : stderr);
		return verb ? BERTH_EXIT_OK : BERTH_EXIT_USAGE;
	}
	if (strcmp(verb, "list") == 0) {
		if (argc != 2)
			return usage("robot list takes no arguments");
		return list_table(a, "/robots", h, k, 3, robot_cell);
	}
	if (strcmp(verb, "create") == 0)
		return robot_create(a, argc - 1, argv + 1);
	if (strcmp(verb, "delete") == 0) {
		if (argc != 3)
			return usage("robot delete needs exactly one NAME");
		name = argv[2];
		if (name_ok("robot", name))
			return BERTH_EXIT_USAGE;
		/*
		 * The robot is "robot$NAME" to log in and "NAME" when created:
		 * accept either, and ask the server by the other spelling if it
		 * does not know the one given.
		 */
		snprintf(path, sizeof(path), "%s/api/v1/robots/%s", a->base, name);
		if (strncmp(name, "robot$", 6) == 0)
			snprintf(alt, sizeof(alt), "%s/api/v1/robots/%s", a->base, name + 6);
		else
			snprintf(alt, sizeof(alt), "%s/api/v1/robots/robot$%s", a->base, name);
		rc = berth_client_api(a->c, "DELETE", path, NULL, NULL, &status);
		if (rc == BERTH_ENOTFOUND && status == 404) {
			char first[512];

			snprintf(first, sizeof(first), "%s", berth_error_last());
			rc = berth_client_api(a->c, "DELETE", alt, NULL, NULL, &status);
			if (rc == BERTH_ENOTFOUND && status == 404)
				return berth_cli_fail(CMD, BERTH_EXIT_FAIL, "%s", first);
		}
		if (rc < 0)
			return fail_last();
		if (!a->json)
			printf("Deleted robot account %s\n", name);
		return 0;
	}
	return usage("unknown robot command '%s' (see berth admin robot --help)", verb);
}

/* ---- audit ---- */

static int audit_cmd(admin_ctx *a, int argc, char **argv)
{
	static const char *const h[] = {"ID",	    "TIME",    "WHO",	"ACTION",
					"RESOURCE", "ADDRESS", "RESULT"};
	static const char *const k[] = {"id",	    "time",    "who",	"action",
					"resource", "address", "result"};
	verb_opts o = {0};
	char path[128];
	int limit, before, npos, rc;
	size_t n;

	if (verb_parse(&audit_spec, argc, argv, &o, &npos, &rc))
		return rc;
	limit = o.limit;
	before = o.before;
	n = (size_t)snprintf(path, sizeof(path), "/audit");
	if (limit)
		n += (size_t)snprintf(path + n, sizeof(path) - n, "?limit=%d", limit);
	if (before)
		snprintf(path + n, sizeof(path) - n, "%cbefore=%d", limit ? '&' : '?', before);
	return list_table(a, path, h, k, 7, NULL);
}

/* ---- global options and dispatch ---- */

/*
 * Parse the global options (up to the noun); returns how many arguments
 * follow them, the noun first, moved to argv[1..]; or -exit code.
 */
static int parse_globals(int argc, char **argv, admin_opts *o)
{
	int rc, n;

	if ((rc = berth_args_parse(&admin_spec, o, argc, argv, &n)) != BERTH_ARGS_OK)
		return -berth_args_exit(rc);
	if (n == 0) {
		berth_args_help(&admin_spec, stderr);
		return -BERTH_EXIT_USAGE;
	}
	return n;
}

/*
 * --server URL → the client's host and our URL base. "http://h:p" and
 * "https://h:p" fix the scheme; a bare "h:p" lets the client choose (plain
 * http for loopback hosts, https elsewhere).
 */
static int parse_server(const char *url, admin_ctx *a, char *host, size_t hostlen, int *plain)
{
	const char *h = url, *end;
	size_t n;

	*plain = 0;
	a->base[0] = '\0';
	if (strncmp(url, "http://", 7) == 0)
		h = url + 7, *plain = 1;
	else if (strncmp(url, "https://", 8) == 0)
		h = url + 8;
	else if (strstr(url, "://"))
		return usage("--server '%s': only http:// and https:// URLs", url);
	end = h + strcspn(h, "/");
	n = (size_t)(end - h);
	if (!n || n >= hostlen || (*end && strcmp(end, "/") != 0) || memchr(h, '@', n) ||
	    strpbrk(url, " \t\r\n?#"))
		return usage("--server '%s' is not a server URL (e.g. https://registry:5000)", url);
	memcpy(host, h, n);
	host[n] = '\0';
	if (h != url)
		snprintf(a->base, sizeof(a->base), "%.*s", (int)(end - url), url);
	return 0;
}

int cmd_admin(int argc, char **argv)
{
	admin_opts o = {.tls_verify = 1};
	admin_ctx a = {0};
	berth_client_options co;
	opt_creds creds = {0};
	char host[300];
	const char *noun;
	int n, rc, plain;

	n = parse_globals(argc, argv, &o);
	if (n <= 0)
		return -n;
	/* From here on argv[0] is the noun, and argv[1..argc-1] what follows it. */
	argc = n;
	argv++;
	noun = argv[0];
	/* Help needs no server, no credentials. */
	if (strcmp(noun, "help") == 0) {
		berth_args_help(&admin_spec, stdout);
		return BERTH_EXIT_OK;
	}
	if (strcmp(noun, "user") && strcmp(noun, "project") && strcmp(noun, "member") &&
	    strcmp(noun, "robot") && strcmp(noun, "audit") && strcmp(noun, "replication"))
		return usage("unknown command '%s' (see berth admin --help)", noun);
	if (berth_cli_wants_help(argc, argv) || (argc < 2 && strcmp(noun, "audit"))) {
		rc = BERTH_EXIT_OK;
		a.json = 0;
		goto dispatch;
	}
	if (!o.server)
		o.server = getenv("BERTH_SERVER");
	if (!o.server || !*o.server)
		o.server = DEFAULT_SERVER;
	if ((rc = parse_server(o.server, &a, host, sizeof(host), &plain)))
		return rc;
	a.json = o.format && strcmp(o.format, "json") == 0;
	if (o.pw_stdin && !o.user)
		return usage("--password-stdin needs -u USER");
	if (o.user) {
		if (!*o.user || strlen(o.user) >= sizeof(creds.user) || strchr(o.user, ':'))
			return usage("-u '%s' is not a user name", o.user);
		snprintf(creds.user, sizeof(creds.user), "%s", o.user);
		if (o.pw_stdin) {
			if (read_line(stdin, creds.pass, sizeof(creds.pass)) < 0) {
				rc = usage("no password on standard input for %s", o.user);
				goto done;
			}
		} else if (isatty(0)) {
			opt_ask_password("Password: ", creds.pass, sizeof(creds.pass));
		} else {
			rc = usage("-u needs --password-stdin (no terminal to ask on)");
			goto done;
		}
		creds.set = 1;
	}
	berth_client_options_init(&co);
	co.host = host;
	co.tls_verify = o.tls_verify;
	co.plain_http = plain;
	co.cert_dir = o.cert_dir;
	co.auth_file = o.auth_file;
	if (creds.set) {
		co.username = creds.user;
		co.password = creds.pass;
		a.user = creds.user;
		a.pass = creds.pass; /* for current_password when changing one's own */
	}
	opt_ignore_sigpipe();
	if (berth_client_new(&a.c, &co) < 0) {
		rc = fail_last();
		goto done;
	}
dispatch:
	if (strcmp(noun, "user") == 0)
		rc = user_cmd(&a, argc, argv);
	else if (strcmp(noun, "project") == 0)
		rc = project_cmd(&a, argc, argv);
	else if (strcmp(noun, "member") == 0)
		rc = member_cmd(&a, argc, argv);
	else if (strcmp(noun, "robot") == 0)
		rc = robot_cmd(&a, argc, argv);
	else if (strcmp(noun, "replication") == 0)
		rc = cmd_admin_replication(
			&(berth_admin_conn){.c = a.c, .base = a.base, .json = a.json}, argc, argv);
	else
		rc = audit_cmd(&a, argc, argv);
	if (fflush(stdout) != 0 && !rc)
		rc = berth_cli_fail(CMD, BERTH_EXIT_FAIL, "cannot write the output");
done:
	berth_client_free(a.c);
	explicit_bzero(creds.pass, sizeof(creds.pass));
	opt_creds_dispose(&creds);
	return rc;
}
