/*
 * config.c - `berth serve` settings: defaults, a strict YAML reader (libyaml
 * document API) and one setter shared by the file and the flags.
 *
 * The file is shaped like Distribution's config.yml. Every leaf is addressed
 * by its dotted key ("limits.threads"); the table below lists each key with
 * its type and bounds. The YAML walk turns each scalar into a call of
 * berth_server_config_set(), so the file and the flags validate alike.
 */
#include "server/config.h"
#include "server/proxies.h"
#include "berth/oci.h"
#include "berth/mirror.h"
#include "berth/store.h"
#include "berth/replicate.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <jansson.h>
#include <yaml.h>

#define DEPTH_MAX 8
#define KEY_MAX 256
#define FILE_MAX (1024 * 1024)

typedef enum { T_STR, T_BOOL, T_BOOL_NOT, T_LEVEL, T_FORMAT, T_UINT, T_IGNORE, T_CIDRS } kind;

typedef struct {
	const char *key;
	kind type;
	size_t off;	   /* offset in berth_server_config */
	size_t width;	   /* sizeof the field for T_UINT */
	uint64_t min, max; /* bounds for T_UINT */
} setting;

#define F(field) offsetof(berth_server_config, field), sizeof(((berth_server_config *)0)->field)

static const setting settings[] = {
	{"version", T_IGNORE, 0, 0, 0, 0},
	{"http.addr", T_STR, F(listen), 0, 0},
	{"storage.filesystem.rootdirectory", T_STR, F(data_dir), 0, 0},
	{"database.sqlite.path", T_STR, F(db_path), 0, 0},
	{"database.postgres.dsn", T_STR, F(db_dsn), 0, 0},
	{"database.postgres.pool_size", T_UINT, F(db_pool_size), 1, 1024},
	{"database.postgres.statement_timeout", T_UINT, F(db_statement_timeout), 100, 3600000},
	{"storage.s3.endpoint", T_STR, F(s3.endpoint), 0, 0},
	{"storage.s3.regionendpoint", T_STR, F(s3.endpoint), 0, 0}, /* Distribution's name */
	{"storage.s3.region", T_STR, F(s3.region), 0, 0},
	{"storage.s3.bucket", T_STR, F(s3.bucket), 0, 0},
	{"storage.s3.accesskey", T_STR, F(s3.accesskey), 0, 0},
	{"storage.s3.secretkey", T_STR, F(s3.secretkey), 0, 0},
	{"storage.s3.rootdirectory", T_STR, F(s3.rootdirectory), 0, 0},
	{"storage.s3.storageclass", T_STR, F(s3.storageclass), 0, 0},
	{"storage.s3.forcepathstyle", T_BOOL, F(s3.forcepathstyle), 0, 0},
	{"storage.s3.secure", T_BOOL, F(s3.secure), 0, 0},
	{"storage.s3.redirect", T_BOOL, F(s3.redirect), 0, 0},
	{"storage.s3.chunksize", T_UINT, F(s3.chunksize), BERTH_S3_PART_MIN, BERTH_S3_PART_MAX},
	{"storage.s3.timeout", T_UINT, F(s3.timeout), 1, 3600},
	{"storage.s3.maxretries", T_UINT, F(s3.maxretries), 0, 20},
	{"log.level", T_LEVEL, F(log_level), 0, 0},
	{"log.format", T_FORMAT, F(log_json), 0, 0},
	{"log.accesslog.disabled", T_BOOL_NOT, F(access_log), 0, 0},
	{"limits.max_manifest_bytes", T_UINT, F(max_manifest_bytes), 1024, BERTH_MANIFEST_CEILING},
	{"limits.max_blob_bytes", T_UINT, F(max_blob_bytes), 0, UINT64_MAX},
	{"limits.threads", T_UINT, F(threads), 1, 1024},
	{"limits.max_connections", T_UINT, F(max_connections), 1, 1000000},
	{"limits.idle_timeout", T_UINT, F(idle_timeout), 1, 86400},
	{"limits.header_timeout", T_UINT, F(header_timeout), 1, 3600},
	{"limits.max_connections_per_address", T_UINT, F(max_connections_per_address), 0, 1000000},
	{"limits.min_upload_rate", T_UINT, F(min_upload_rate), 0, 1024 * 1024 * 1024},
	{"limits.min_upload_rate_window", T_UINT, F(min_upload_rate_window), 1, 3600},
	{"limits.max_uploads_per_repository", T_UINT, F(max_uploads_per_repository), 0, 10000000},
	{"limits.max_uploads_per_account", T_UINT, F(max_uploads_per_account), 0, 10000000},
	{"http.host", T_STR, F(external_url), 0, 0},
	{"http.trusted_proxies", T_CIDRS, F(trusted_proxies), 0, 0},
	{"auth.credential_cache_seconds", T_UINT, F(credential_cache_seconds), 0, 3600},
	{"limits.max_header_bytes", T_UINT, F(max_header_bytes), 4096, 16 * 1024 * 1024},
	{"limits.listen_backlog", T_UINT, F(listen_backlog), 1, 65535},
	{"limits.upload_purge_age", T_UINT, F(upload_purge_age), 60, 10ULL * 365 * 86400},
	{"limits.shutdown_timeout", T_UINT, F(shutdown_timeout), 0, 3600},
	{"http.insecure_open", T_BOOL, F(insecure_open), 0, 0},
	{"auth.enabled", T_BOOL, F(auth_enabled), 0, 0},
	{"auth.token.issuer", T_STR, F(token_issuer), 0, 0},
	{"auth.token.service", T_STR, F(token_service), 0, 0},
	{"auth.token.expiration", T_UINT, F(token_expiration), 10, 86400},
	{"auth.admin_password_file", T_STR, F(admin_password_file), 0, 0},
	{"tls.certificate", T_STR, F(tls_cert), 0, 0},
	{"tls.key", T_STR, F(tls_key), 0, 0},
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

int berth_server_config_defaults(berth_server_config *cfg)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	memset(cfg, 0, sizeof(*cfg));
	if (cores < 1)
		cores = 1;
	cfg->listen = strdup("127.0.0.1:5000");
	cfg->data_dir = strdup("./var");
	cfg->token_issuer = strdup("berth");
	cfg->token_service = strdup("berth");
	if (!cfg->listen || !cfg->data_dir || !cfg->token_issuer || !cfg->token_service) {
		berth_server_config_dispose(cfg);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	cfg->s3.forcepathstyle = cfg->s3.secure = cfg->s3.redirect = -1;
	cfg->log_level = BERTH_LOG_INFO;
	cfg->access_log = 1;
	cfg->max_manifest_bytes = BERTH_MANIFEST_MAX;
	/* Handlers block on fsync, so many more threads than cores pay off. */
	cfg->threads = cores * 4 < 8 ? 8 : (unsigned)(cores * 4 > 256 ? 256 : cores * 4);
	cfg->max_connections = 4096;
	cfg->idle_timeout = 60;
	cfg->header_timeout = 30;
	cfg->max_connections_per_address = 256;
	cfg->min_upload_rate = 1024;
	cfg->min_upload_rate_window = 30;
	cfg->max_uploads_per_repository = 1000;
	cfg->max_uploads_per_account = 1000;
	cfg->credential_cache_seconds = 60;
	cfg->max_header_bytes = 64 * 1024;
	cfg->listen_backlog = 1024;
	cfg->upload_purge_age = 7L * 86400;
	cfg->shutdown_timeout = 30;
	cfg->token_expiration = 300;
	return 0;
}

void berth_server_config_dispose(berth_server_config *cfg)
{
	free(cfg->listen);
	free(cfg->data_dir);
	free(cfg->db_path);
	free(cfg->db_dsn);
	cfg->db_dsn = NULL;
	free(cfg->s3.endpoint);
	free(cfg->s3.region);
	free(cfg->s3.bucket);
	free(cfg->s3.accesskey);
	if (cfg->s3.secretkey)
		explicit_bzero(cfg->s3.secretkey, strlen(cfg->s3.secretkey));
	free(cfg->s3.secretkey);
	free(cfg->s3.rootdirectory);
	free(cfg->s3.storageclass);
	memset(&cfg->s3, 0, sizeof(cfg->s3));
	free(cfg->token_issuer);
	free(cfg->token_service);
	free(cfg->admin_password_file);
	free(cfg->tls_cert);
	free(cfg->tls_key);
	free(cfg->external_url);
	free(cfg->trusted_proxies);
	cfg->trusted_proxies = NULL;
	free(cfg->replication_json);
	free(cfg->mirror_json);
	cfg->external_url = NULL;
	cfg->replication_json = NULL;
	cfg->mirror_json = NULL;
	cfg->listen = cfg->data_dir = cfg->db_path = NULL;
	cfg->token_issuer = cfg->token_service = cfg->admin_password_file = NULL;
	cfg->tls_cert = cfg->tls_key = NULL;
}

int berth_server_config_database(const berth_server_config *cfg, char **out)
{
	const char *env = getenv("BERTH_DATABASE_URL");
	int n;

	*out = NULL;
	if (cfg->db_path && cfg->db_dsn)
		return berth_error_set(
			BERTH_EINVALID,
			"config: database: give either sqlite or postgres, not both");
	if (env && *env)
		n = asprintf(out, "%s", env);
	else if (cfg->db_dsn && strstr(cfg->db_dsn, "://"))
		n = asprintf(out, "%s", cfg->db_dsn);
	else if (cfg->db_dsn)
		n = asprintf(out, "postgres:%s", cfg->db_dsn);
	else if (cfg->db_path)
		n = asprintf(out, "%s", cfg->db_path);
	else
		n = asprintf(out, "%s/berth.db", cfg->data_dir);
	if (n < 0) {
		*out = NULL;
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

static const setting *find_setting(const char *key)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strcmp(settings[i].key, key) == 0)
			return &settings[i];
	return NULL;
}

/* 1 if `prefix` names a section (a mapping) of the file, e.g. "limits". */
static int is_section(const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < NSETTINGS; i++)
		if (strncmp(settings[i].key, prefix, n) == 0 && settings[i].key[n] == '.')
			return 1;
	return 0;
}

int berth_server_parse_uint(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0)
			return 1;
		if (strcasecmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

int berth_server_config_set(berth_server_config *cfg, const char *key, const char *value)
{
	const setting *st = find_setting(key);
	char *field;
	char *copy;
	uint64_t v;
	int b;

	if (!st)
		return berth_error_set(BERTH_EINVALID, "unknown key '%s'", key);
	field = (char *)cfg + st->off;
	switch (st->type) {
	case T_IGNORE: return 0;
	case T_CIDRS: {
		berth_proxies px;

		if (strlen(value) >= PATH_MAX)
			return berth_error_set(BERTH_EINVALID, "%s: value too long", key);
		if (berth_proxies_parse(&px, value) < 0) {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s", berth_error_last());
			return berth_error_set(BERTH_EINVALID, "%s: %s", key, msg);
		}
		if (!(copy = strdup(value)))
			return berth_error_set(BERTH_ERROR, "out of memory");
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	}
	case T_STR:
		if (!value[0])
			return berth_error_set(BERTH_EINVALID, "%s: must not be empty", key);
		if (strlen(value) >= PATH_MAX)
			return berth_error_set(BERTH_EINVALID, "%s: value too long", key);
		if (!(copy = strdup(value)))
			return berth_error_set(BERTH_ERROR, "out of memory");
		free(*(char **)field);
		*(char **)field = copy;
		return 0;
	case T_BOOL:
	case T_BOOL_NOT:
		if ((b = parse_bool(value)) < 0)
			return berth_error_set(BERTH_EINVALID,
					       "%s: expected true or false, got '%s'", key, value);
		*(int *)field = st->type == T_BOOL ? b : !b;
		return 0;
	case T_LEVEL:
		if ((b = berth_log_level_parse(value)) < 0)
			return berth_error_set(BERTH_EINVALID,
					       "%s: expected debug, info, warn or error, got '%s'",
					       key, value);
		*(int *)field = b;
		return 0;
	case T_FORMAT:
		if (strcmp(value, "text") == 0)
			*(int *)field = 0;
		else if (strcmp(value, "json") == 0)
			*(int *)field = 1;
		else
			return berth_error_set(BERTH_EINVALID,
					       "%s: expected text or json, got '%s'", key, value);
		return 0;
	case T_UINT:
		if (berth_server_parse_uint(value, &v) < 0 || v < st->min || v > st->max)
			return berth_error_set(
				BERTH_EINVALID,
				"%s: expected an integer from %llu to %llu, got '%s'", key,
				(unsigned long long)st->min, (unsigned long long)st->max, value);
		if (st->width == sizeof(uint64_t)) {
			memcpy(field, &v, sizeof(uint64_t));
		} else {
			unsigned u = (unsigned)v;

			/* Every other numeric setting is an unsigned int (or size_t == uint64_t).
			 */
			_Static_assert(sizeof(size_t) == sizeof(uint64_t), "size_t settings");
			memcpy(field, &u, sizeof(u));
		}
		return 0;
	}
	return berth_error_set(BERTH_ERROR, "%s: unhandled setting type", key);
}

/*
 * The `registries:` and `replication:` sections (Harbor's shape, as the
 * brief writes them) are lists, not settings: they are converted to JSON and
 * handed to the replicate module, which reads API bodies the same way.
 * Plain scalars become booleans, integers or null where YAML would read
 * them so; quoted ones stay strings.
 */
static json_t *scalar_json(const yaml_node_t *n)
{
	const char *s = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length;
	uint64_t v;

	if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0)
			return json_null();
		if (parse_bool(s) >= 0 && strcmp(s, "1") != 0 && strcmp(s, "0") != 0)
			return json_boolean(parse_bool(s));
		if (berth_server_parse_uint(s, &v) == 0 && v <= INT64_MAX)
			return json_integer((json_int_t)v);
	}
	return json_stringn(s, len);
}

static json_t *node_json(yaml_document_t *doc, yaml_node_t *node, int depth, const char *where)
{
	json_t *out = NULL;

	if (depth > DEPTH_MAX) {
		berth_error_set(BERTH_EINVALID, "%s: nested too deeply", where);
		return NULL;
	}
	if (node->type == YAML_SCALAR_NODE) {
		if (strlen((const char *)node->data.scalar.value) != node->data.scalar.length) {
			berth_error_set(BERTH_EINVALID, "%s: value contains NUL", where);
			return NULL;
		}
		if (!(out = scalar_json(node)))
			berth_error_set(BERTH_EINVALID, "%s: value is not UTF-8", where);
		return out;
	}
	if (node->type == YAML_SEQUENCE_NODE) {
		out = json_array();
		for (yaml_node_item_t *i = node->data.sequence.items.start;
		     out && i < node->data.sequence.items.top; i++) {
			yaml_node_t *v = yaml_document_get_node(doc, *i);
			json_t *j = v ? node_json(doc, v, depth + 1, where) : NULL;

			if (!j || json_array_append_new(out, j) < 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	}
	out = json_object();
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
	     out && p < node->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		json_t *j;

		if (!k || !v || k->type != YAML_SCALAR_NODE) {
			berth_error_set(BERTH_EINVALID, "%s: keys must be plain strings", where);
			json_decref(out);
			return NULL;
		}
		if (json_object_get(out, (const char *)k->data.scalar.value)) {
			berth_error_set(BERTH_EINVALID, "%s: key '%.64s' given twice", where,
					(const char *)k->data.scalar.value);
			json_decref(out);
			return NULL;
		}
		if (!(j = node_json(doc, v, depth + 1, where)) ||
		    json_object_set_new(out, (const char *)k->data.scalar.value, j) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/*
 * Keep section `key` as JSON in *slot: registries or replication (checked by
 * the replicate module), proxy or upstreams (checked by the mirror module).
 */
static int json_section(char **slot, yaml_document_t *doc, yaml_node_t *v, const char *key)
{
	json_t *root = NULL, *j = NULL;
	char *text = NULL;
	int rc = 0;

	if (*slot && !(root = json_loads(*slot, 0, NULL))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (!root)
		root = json_object();
	if (!(j = node_json(doc, v, 1, key))) {
		rc = berth_error_last_code() ? berth_error_last_code() : BERTH_ERROR;
		goto done;
	}
	if (json_object_set_new(root, key, j) < 0 || !(text = json_dumps(root, JSON_COMPACT))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	free(*slot);
	*slot = text;
	text = NULL;
done:
	json_decref(root);
	free(text);
	return rc;
}

/* The two sections checked together, once both are read (rules name registries). */
static int replication_check(const berth_server_config *cfg)
{
	berth_repl_rules rules = {0};
	int rc = 0;

	if (cfg->replication_json)
		rc = berth_repl_rules_parse(&rules, cfg->replication_json,
					    strlen(cfg->replication_json), 1);
	berth_repl_rules_dispose(&rules);
	if (rc == 0 && cfg->mirror_json)
		rc = berth_mirror_config_check(cfg->mirror_json);
	return rc;
}

/* A list setting written as a YAML sequence of scalars: joined with commas. */
static int set_list(berth_server_config *cfg, yaml_document_t *doc, yaml_node_t *node,
		    const char *key)
{
	berth_buf joined = BERTH_BUF_INIT(PATH_MAX);
	int rc = 0;

	for (yaml_node_item_t *i = node->data.sequence.items.start;
	     rc == 0 && i < node->data.sequence.items.top; i++) {
		yaml_node_t *v = yaml_document_get_node(doc, *i);

		if (!v || v->type != YAML_SCALAR_NODE ||
		    strlen((const char *)v->data.scalar.value) != v->data.scalar.length)
			rc = berth_error_set(BERTH_EINVALID, "%s: expected a list of strings", key);
		else if ((joined.len && berth_buf_puts(&joined, ",") != 0) ||
			 berth_buf_puts(&joined, (const char *)v->data.scalar.value) != 0)
			rc = berth_error_set(BERTH_EINVALID, "%s: value too long", key);
	}
	if (rc == 0)
		rc = berth_server_config_set(cfg, key, joined.ptr ? joined.ptr : "");
	berth_buf_dispose(&joined);
	return rc;
}

/* Walk one YAML node whose dotted key is `prefix` ("" for the root). */
static int walk(berth_server_config *cfg, yaml_document_t *doc, yaml_node_t *node,
		const char *prefix, int depth)
{
	char key[KEY_MAX];

	if (depth > DEPTH_MAX)
		return berth_error_set(BERTH_EINVALID, "%s: nested too deeply", prefix);
	if (node->type == YAML_SCALAR_NODE) {
		if (!prefix[0]) {
			/* An empty file loads as an empty scalar; anything else is not a config. */
			if (node->data.scalar.length == 0)
				return 0;
			return berth_error_set(BERTH_EINVALID, "top level: expected a mapping");
		}
		if (!find_setting(prefix)) {
			if (is_section(prefix))
				return berth_error_set(BERTH_EINVALID, "%s: expected a mapping",
						       prefix);
			return berth_error_set(BERTH_EINVALID, "unknown key '%s'", prefix);
		}
		if (strlen((const char *)node->data.scalar.value) != node->data.scalar.length)
			return berth_error_set(BERTH_EINVALID, "%s: value contains NUL", prefix);
		return berth_server_config_set(cfg, prefix, (const char *)node->data.scalar.value);
	}
	if (node->type == YAML_SEQUENCE_NODE && find_setting(prefix) &&
	    find_setting(prefix)->type == T_CIDRS)
		return set_list(cfg, doc, node, prefix);
	if (node->type != YAML_MAPPING_NODE)
		return berth_error_set(BERTH_EINVALID, "%s: expected a %s",
				       prefix[0] ? prefix : "top level",
				       find_setting(prefix) ? "scalar" : "mapping");
	if (prefix[0] && !is_section(prefix))
		return berth_error_set(BERTH_EINVALID,
				       find_setting(prefix) ? "%s: expected a scalar"
							    : "unknown key '%s'",
				       prefix);
	for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		int n, rc;

		if (!k || !v || k->type != YAML_SCALAR_NODE)
			return berth_error_set(BERTH_EINVALID, "%s: keys must be plain strings",
					       prefix[0] ? prefix : "top level");
		n = snprintf(key, sizeof(key), "%s%s%s", prefix, prefix[0] ? "." : "",
			     (const char *)k->data.scalar.value);
		if (n < 0 || (size_t)n >= sizeof(key))
			return berth_error_set(BERTH_EINVALID, "%s: key too long",
					       prefix[0] ? prefix : "top level");
		if (depth == 0 &&
		    (strcmp(key, "registries") == 0 || strcmp(key, "replication") == 0))
			rc = json_section(&cfg->replication_json, doc, v, key);
		else if (depth == 0 && (strcmp(key, "proxy") == 0 || strcmp(key, "upstreams") == 0))
			rc = json_section(&cfg->mirror_json, doc, v, key);
		else
			rc = walk(cfg, doc, v, key, depth + 1);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int berth_server_config_parse(berth_server_config *cfg, const char *text, size_t len,
			      const char *name)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	int parser_ok = 0, doc_ok = 0;
	yaml_node_t *root;
	int rc = 0;

	if (len > FILE_MAX) {
		rc = berth_error_set(BERTH_ETOOBIG, "config %s: larger than 1 MiB", name);
		goto done;
	}
	if (!yaml_parser_initialize(&parser)) {
		rc = berth_error_set(BERTH_ERROR, "config %s: out of memory", name);
		goto done;
	}
	parser_ok = 1;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = berth_error_set(BERTH_EINVALID, "config %s: line %zu: %s", name,
				     parser.problem_mark.line + 1,
				     parser.problem ? parser.problem : "malformed YAML");
		goto done;
	}
	doc_ok = 1;
	root = yaml_document_get_root_node(&doc);
	if (root &&
	    ((rc = walk(cfg, &doc, root, "", 0)) < 0 || (rc = replication_check(cfg)) < 0)) {
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", berth_error_last());
		rc = berth_error_set(rc, "config %s: %s", name, msg);
		goto done;
	}
done:
	if (doc_ok)
		yaml_document_delete(&doc);
	if (parser_ok)
		yaml_parser_delete(&parser);
	return rc;
}

int berth_server_config_load(berth_server_config *cfg, const char *path)
{
	berth_buf text = BERTH_BUF_INIT(FILE_MAX);
	char msg[512];
	int rc = berth_fs_read_file(&text, path);

	if (rc == BERTH_ETOOBIG) {
		rc = berth_error_set(BERTH_ETOOBIG, "config %s: larger than 1 MiB", path);
	} else if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s", berth_error_last());
		rc = berth_error_set(rc, "config: %s", msg);
	} else {
		rc = berth_server_config_parse(cfg, text.ptr ? text.ptr : "", text.len, path);
	}
	berth_buf_dispose(&text);
	return rc;
}

int berth_server_config_open_store(const berth_server_config *cfg, berth_store **out)
{
	berth_store_s3_config s3 = {
		.endpoint = cfg->s3.endpoint,
		.region = cfg->s3.region,
		.bucket = cfg->s3.bucket,
		.accesskey = cfg->s3.accesskey,
		.secretkey = cfg->s3.secretkey,
		.rootdirectory = cfg->s3.rootdirectory,
		.storageclass = cfg->s3.storageclass,
		.forcepathstyle = cfg->s3.forcepathstyle,
		.secure = cfg->s3.secure,
		.redirect = cfg->s3.redirect,
		.chunksize = cfg->s3.chunksize,
		.timeout = cfg->s3.timeout,
		.maxretries = cfg->s3.maxretries,
	};
	int rc;

	if (!cfg->s3.bucket)
		return berth_store_open(out, cfg->data_dir);
	/* Local state (database, keys) stays in the data directory. */
	if ((rc = berth_fs_mkdir_p(cfg->data_dir)) < 0)
		return rc;
	return berth_store_open_s3(out, &s3);
}
