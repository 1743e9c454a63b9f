/*
 * cmd_db.c - `berth db`: the vulnerability database. `import SOURCE...`
 * (OSV files, directories, zip archives; Debian tracker and Alpine secdb
 * JSON), `info`, `query` (what the scanner asks, for policy authors and
 * tests), `push REF` and `pull REF` (the database as an OCI artifact).
 * Every subcommand takes --db PATH; info and query warn when the database
 * is older than --max-age (default 7 days).
 */
#include "cli.h"
#include "opts.h"

#include "berth/client.h"
#include "berth/ref.h"
#include "berth/vulndb.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define DB_SOURCES_MAX 64

typedef struct db_opts {
	const char *db;
	const char *max_age;
	const char *format;
	opt_registry reg;
	const char *const *pos; /* the positional arguments (argv) */
	int npos;
	char path[4096];
} db_opts;

#define DB_ARG                                                                                     \
	BERTH_OPT_STRING("db", 0, db_opts, db, "PATH",                                             \
			 "database file (default $BERTH_ROOT/vulndb.sqlite, else\n"                \
			 "$XDG_DATA_HOME/berth/vulndb.sqlite or ~/.local/share/berth/...)")
#define READ_ARGS                                                                                  \
	DB_ARG,                                                                                    \
		BERTH_OPT_ENUM("format", 0, db_opts, format, opt_text_json, NULL,                  \
			       "output format (default text)"),                                    \
		BERTH_OPT_STRING("max-age", 0, db_opts, max_age, "DURATION",                       \
				 "warn when the database is older (default 7d; s, m, h, d\n"       \
				 "units; also $BERTH_DB_MAX_AGE)")

static const berth_arg import_args[] = {DB_ARG, BERTH_OPT_END};
static const berth_arg read_args[] = {READ_ARGS, BERTH_OPT_END};
static const berth_arg transfer_args[] = {DB_ARG, OPT_REGISTRY_ARGS(db_opts, reg), BERTH_OPT_END};

static const berth_args_spec import_spec = {
	.cmd = "db import",
	.usage = "db import [options] SOURCE...",
	.description = "Add advisories: OSV JSON files, directories of them, zip archives (as\n"
		       "osv.dev publishes), Debian security tracker JSON, Alpine secdb JSON.\n",
	.args = import_args,
	.min_pos = 1,
	.max_pos = DB_SOURCES_MAX,
	.missing = "needs a SOURCE",
};

static const berth_args_spec info_spec = {
	.cmd = "db info",
	.usage = "db info [options]",
	.description = "Schema, build time, sources and rows per ecosystem.\n",
	.args = read_args,
};

static const berth_args_spec query_spec = {
	.cmd = "db query",
	.usage = "db query [options] ECOSYSTEM PACKAGE VERSION",
	.description = "The advisories affecting a package version, e.g.\n"
		       "'berth db query Debian:12 openssl 3.0.11-1~deb12u1' (distros: the source\n"
		       "package).\n",
	.args = read_args,
	.min_pos = 3,
	.max_pos = 3,
	.missing = "needs ECOSYSTEM PACKAGE VERSION",
};

static const berth_args_spec push_spec = {
	.cmd = "db push",
	.usage = "db push [options] REF",
	.description = "Push the database to a registry as an OCI artifact\n"
		       "(" BERTH_VULNDB_ARTIFACT_TYPE ").\n",
	.args = transfer_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs one REF",
};

static const berth_args_spec pull_spec = {
	.cmd = "db pull",
	.usage = "db pull [options] REF",
	.description = "Pull the database from a registry and replace it atomically.\n",
	.args = transfer_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs one REF",
};

const berth_args_spec *const cmd_db_specs[] = {&import_spec, &info_spec, &query_spec,
					       &push_spec,   &pull_spec, NULL};

/* Parse a subcommand's options; -1 (usage error printed, exit code in *rc) to stop. */
static int parse(const berth_args_spec *spec, int argc, char **argv, db_opts *o, int *rc)
{
	int r = berth_args_parse(spec, o, argc, argv, &o->npos);

	*rc = BERTH_EXIT_USAGE;
	if (r != BERTH_ARGS_OK) {
		*rc = berth_args_exit(r);
		return -1;
	}
	o->pos = (const char *const *)argv + 1;
	if (opt_registry_check(spec->cmd, &o->reg) < 0)
		return -1;
	if (o->db) {
		snprintf(o->path, sizeof(o->path), "%s", o->db);
		return 0;
	}
	if (berth_vulndb_default_path(o->path, sizeof(o->path)) != 0)
		return berth_cli_fail(spec->cmd, -1, "%s", berth_error_last());
	return 0;
}

/* "7d", "12h", "30m", "3600s" or seconds. */
static int parse_age(const char *s, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	default: return -1;
	}
	if (*end && end[1])
		return -1;
	*out = v;
	return 0;
}

static int warn_if_old(const char *cmd, const db_opts *o, time_t built)
{
	const char *s = o->max_age ? o->max_age : getenv("BERTH_DB_MAX_AGE");
	long long max = 7 * 86400;
	time_t now = time(NULL);

	if (s && parse_age(s, &max) != 0)
		return berth_cli_fail(cmd, -1, "bad --max-age '%s' (e.g. 7d, 12h)", s);
	if (built == 0)
		fprintf(stderr, "berth %s: warning: the vulnerability database has no build time\n",
			cmd);
	else if (now - built > max)
		fprintf(stderr,
			"berth %s: warning: the vulnerability database is %lld hours old (older "
			"than --max-age); run 'berth db pull' or 'berth db import'\n",
			cmd, (long long)(now - built) / 3600);
	return 0;
}

static void on_warn(void *ctx, const char *where, const char *why)
{
	fprintf(stderr, "berth db import: warning: %s: %s\n", where, why);
}

static int mkdirs_for(const char *path)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s", path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

static int do_import(db_opts *o)
{
	berth_vulndb *db = NULL;
	int rc = BERTH_EXIT_FAIL;

	if (mkdirs_for(o->path) != 0 || berth_vulndb_open(&db, o->path, 1) != 0) {
		berth_cli_fail("db import", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	for (int i = 0; i < o->npos; i++) {
		berth_vulndb_import_stats st;

		if (berth_vulndb_import(db, o->pos[i], on_warn, NULL, &st) != 0) {
			berth_cli_fail("db import", BERTH_EXIT_FAIL, "%s", berth_error_last());
			goto done;
		}
		printf("%s: %llu documents, %llu advisories, %llu affected packages, %llu "
		       "skipped\n",
		       o->pos[i], (unsigned long long)st.documents,
		       (unsigned long long)st.advisories, (unsigned long long)st.affected,
		       (unsigned long long)st.skipped);
	}
	rc = BERTH_EXIT_OK;
done:
	berth_vulndb_free(db);
	return rc;
}

static int do_info(db_opts *o)
{
	berth_vulndb_info info = {0};
	berth_vulndb *db = NULL;
	int rc = BERTH_EXIT_FAIL;
	char when[32] = "never";

	if (berth_vulndb_open(&db, o->path, 0) != 0 || berth_vulndb_info_get(db, &info) != 0) {
		berth_cli_fail("db info", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	if (info.built_at) {
		struct tm tm;

		gmtime_r(&info.built_at, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (strcmp(o->format, "json") == 0) {
		json_t *js = json_string(o->path);
		char *jp = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;

		printf("{\"path\":%s,\"schema\":%d,\"built\":\"%s\",\"advisories\":%llu,"
		       "\"affected\":%llu,\"ecosystems\":%s,\"sources\":%s}\n",
		       jp ? jp : "null", info.schema, when, (unsigned long long)info.advisories,
		       (unsigned long long)info.affected, info.ecosystems, info.sources);
		free(jp);
		json_decref(js);
	} else {
		printf("path:       %s\nschema:     %d\nbuilt:      %s\nadvisories: %llu\n"
		       "affected:   %llu\necosystems: %s\nsources:    %s\n",
		       o->path, info.schema, when, (unsigned long long)info.advisories,
		       (unsigned long long)info.affected, info.ecosystems, info.sources);
	}
	rc = warn_if_old("db info", o, info.built_at) ? BERTH_EXIT_USAGE : BERTH_EXIT_OK;
done:
	berth_vulndb_info_dispose(&info);
	berth_vulndb_free(db);
	return rc;
}

static void print_matches(const db_opts *o, const berth_vulndb_match *m, size_t n)
{
	json_t *arr = strcmp(o->format, "json") == 0 ? json_array() : NULL;

	for (size_t i = 0; i < n; i++) {
		json_t *e;

		if (arr && (e = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", m[i].id, "aliases",
					  m[i].aliases, "severity", m[i].severity, "fixed",
					  m[i].fixed, "status", m[i].status, "summary",
					  m[i].summary, "source", m[i].source))) {
			json_object_set_new(e, "cvss",
					    m[i].cvss >= 0 ? json_real(m[i].cvss) : json_null());
			json_object_set_new(e, "cvss_vector",
					    *m[i].cvss_vector ? json_string(m[i].cvss_vector)
							      : json_null());
			json_array_append_new(arr, e);
		} else if (!arr)
			printf("%s\t%s\t%s\t%s\t%s\n", m[i].id, m[i].severity, m[i].status,
			       *m[i].fixed ? m[i].fixed : "-", *m[i].aliases ? m[i].aliases : "-");
	}
	if (arr) {
		char *s = json_dumps(arr, JSON_INDENT(2));

		if (s)
			puts(s);
		free(s);
		json_decref(arr);
	}
}

static int do_query(db_opts *o)
{
	berth_vulndb_match *m = NULL;
	berth_vulndb_info info = {0};
	berth_vulndb *db = NULL;
	size_t n = 0;
	int rc = BERTH_EXIT_FAIL, q;

	if (berth_vulndb_open(&db, o->path, 0) != 0 || berth_vulndb_info_get(db, &info) != 0) {
		berth_cli_fail("db query", BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	if ((q = berth_vulndb_query(db, o->pos[0], o->pos[1], o->pos[2], &m, &n)) != 0) {
		rc = q == BERTH_EINVALID || q == BERTH_EUNSUPPORTED ? BERTH_EXIT_USAGE
								    : BERTH_EXIT_FAIL;
		berth_cli_fail("db query", rc, "%s", berth_error_last());
		goto done;
	}
	print_matches(o, m, n);
	rc = warn_if_old("db query", o, info.built_at) ? BERTH_EXIT_USAGE : BERTH_EXIT_OK;
done:
	berth_vulndb_matches_free(m, n);
	berth_vulndb_info_dispose(&info);
	berth_vulndb_free(db);
	return rc;
}

static int do_transfer(db_opts *o, int push)
{
	const char *cmd = push ? "db push" : "db pull";
	berth_client *c = NULL;
	berth_ref *ref = NULL;
	int rc = BERTH_EXIT_FAIL;

	if (opt_docker_ref(cmd, o->pos[0], &ref) < 0)
		goto done;
	if (push && ref->digest) {
		berth_cli_fail(cmd, BERTH_EXIT_USAGE, "push needs a tag, not a digest");
		goto done;
	}
	opt_ignore_sigpipe();
	if (opt_client(cmd, ref->domain, o->reg.tls_verify, &o->reg.creds, o->reg.auth_file, &c) <
	    0)
		goto done;
	if (!push && mkdirs_for(o->path) != 0) {
		berth_cli_fail(cmd, BERTH_EXIT_FAIL, "cannot create the directory of %s", o->path);
		goto done;
	}
	if ((push ? berth_vulndb_push(c, ref->path, ref->tag ? ref->tag : "latest", o->path)
		  : berth_vulndb_pull(c, ref->path,
				      ref->digest ? ref->digest : (ref->tag ? ref->tag : "latest"),
				      o->path)) != 0) {
		berth_cli_fail(cmd, BERTH_EXIT_FAIL, "%s", berth_error_last());
		goto done;
	}
	printf("%s %s %s\n", push ? "pushed" : "pulled", o->path, o->pos[0]);
	rc = BERTH_EXIT_OK;
done:
	berth_client_free(c);
	berth_ref_free(ref);
	return rc;
}

int cmd_db(int argc, char **argv)
{
	static const berth_args_spec *const subs[] = {&import_spec, &info_spec, &query_spec,
						      &push_spec, &pull_spec};
	db_opts o;
	const berth_args_spec *spec = NULL;
	int rc;

	memset(&o, 0, sizeof(o));
	o.format = "text";
	opt_registry_init(&o.reg);
	if (argc < 2)
		return berth_cli_fail("db", BERTH_EXIT_USAGE,
				      "needs import, info, query, push or pull (see --help)");
	if (berth_cli_is_help(argv[1])) {
		for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
			if (i)
				fputc('\n', stdout);
			berth_args_help(subs[i], stdout);
		}
		return BERTH_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i]->cmd + 3) == 0)
			spec = subs[i];
	if (!spec)
		return berth_cli_fail("db", BERTH_EXIT_USAGE,
				      "unknown subcommand '%s' (import, info, query, push, pull)",
				      argv[1]);
	if (parse(spec, argc - 1, argv + 1, &o, &rc) == 0) {
		if (spec == &import_spec)
			rc = do_import(&o);
		else if (spec == &info_spec)
			rc = do_info(&o);
		else if (spec == &query_spec)
			rc = do_query(&o);
		else
			rc = do_transfer(&o, spec == &push_spec);
	}
	opt_registry_dispose(&o.reg);
	return rc;
}
