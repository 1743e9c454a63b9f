/*
 * config.h - the settings of `berth serve`: defaults, the YAML config file
 * (shaped like Distribution's config.yml) and the flags that override it.
 *
 * Precedence: built-in defaults < --config FILE < command-line flags.
 * Every value is validated; an unknown key or a bad value is an error whose
 * message names the key, so a typo never silently falls back to a default.
 */
#ifndef BERTH_SERVER_CONFIG_H
#define BERTH_SERVER_CONFIG_H

#include "berth/common.h"
#include "berth/store.h"

#include <stddef.h>
#include <stdint.h>

typedef struct berth_server_config {
	char *listen;	/* "ADDR:PORT", "[v6]:PORT" or ":PORT" */
	char *data_dir; /* blob store root */
	char *db_path;	/* NULL = <data_dir>/berth.db */
	/* database.postgres: a libpq DSN (URI or keywords); NULL = SQLite. $BERTH_DATABASE_URL
	 * (postgres://... or sqlite://PATH) overrides both (berth_server_config_database). */
	char *db_dsn;
	unsigned db_pool_size;	       /* connections per process; 0 = default */
	unsigned db_statement_timeout; /* ms; 0 = default */
	/* storage.s3 (blobs in S3 when bucket is set; data_dir keeps local state) */
	struct {
		char *endpoint, *region, *bucket, *accesskey, *secretkey, *rootdirectory;
		char *storageclass;
		int forcepathstyle, secure, redirect; /* -1 = unset */
		uint64_t chunksize;		      /* 0 = default */
		unsigned timeout, maxretries;	      /* 0 = default */
	} s3;
	int log_level;	/* berth_log_level */
	int log_json;	/* 1 = one JSON object per line */
	int access_log; /* 1 = one line per request */
	size_t max_manifest_bytes;
	uint64_t max_blob_bytes; /* 0 = unlimited */
	unsigned threads;	 /* MHD thread pool size */
	unsigned max_connections;
	unsigned idle_timeout;		      /* seconds a connection may sit idle or trickle */
	unsigned header_timeout;	      /* seconds a request head may take to arrive */
	unsigned max_connections_per_address; /* 0 = no limit */
	unsigned min_upload_rate;	      /* body bytes/s over the window; 0 = no minimum */
	unsigned min_upload_rate_window;      /* seconds the body rate is averaged over */
	unsigned max_uploads_per_repository;  /* open upload sessions; 0 = no limit */
	unsigned max_uploads_per_account;     /* open upload sessions; 0 = no limit */
	char *external_url;    /* http.host: the URL clients reach us at; NULL = our own address */
	char *trusted_proxies; /* http.trusted_proxies: CIDRs, comma-separated; NULL = none */
	unsigned credential_cache_seconds; /* Basic verifications remembered; 0 = off */
	size_t max_header_bytes;	   /* per-connection memory limit (headers must fit) */
	unsigned listen_backlog;
	long upload_purge_age;	   /* seconds; uploads older than this are deleted */
	unsigned shutdown_timeout; /* seconds to wait for in-flight requests */
	/* access control */
	int auth_enabled;
	char *token_issuer;	   /* iss claim (default "berth") */
	char *token_service;	   /* aud claim and challenge service (default "berth") */
	unsigned token_expiration; /* seconds (default 300) */
	char *admin_password_file; /* NULL: $BERTH_ADMIN_PASSWORD */
	int insecure_open;	   /* serve without access control on any address */
	/* replication: the config file's `registries:` and `replication:` sections as
	 * JSON ({"registries": [...], "replication": [...]}), or NULL */
	char *replication_json;
	/* the pull-through mirror: the `proxy:` and `upstreams:` sections as JSON
	 * ({"proxy": {...}, "upstreams": [...]}, see berth/mirror.h), or NULL */
	char *mirror_json;
	/* TLS (both or neither) */
	char *tls_cert;
	char *tls_key;
} berth_server_config;

/**
 * The metadata location the server opens, into *out (malloc'd): $BERTH_DATABASE_URL
 * if set, else "postgres:<dsn>" for database.postgres.dsn, else the SQLite path
 * (database.sqlite.path or <data_dir>/berth.db). BERTH_EINVALID if the config
 * names both databases.
 */
int berth_server_config_database(const berth_server_config *cfg, char **out) BERTH_WARN_UNUSED;

/** Fill `cfg` with the defaults (owned strings: call _dispose later). */
int berth_server_config_defaults(berth_server_config *cfg) BERTH_WARN_UNUSED;

/**
 * Read the YAML file at `path` into `cfg`, overriding what it sets.
 * BERTH_EINVALID with a one-line message naming the file and key on unknown
 * keys, wrong types or bad values; BERTH_EIO/ENOTFOUND if unreadable.
 */
int berth_server_config_load(berth_server_config *cfg, const char *path) BERTH_WARN_UNUSED;

/**
 * Parse YAML `text` (len bytes, at most 1 MiB) into `cfg` as
 * berth_server_config_load does a file; `name` labels messages.
 */
int berth_server_config_parse(berth_server_config *cfg, const char *text, size_t len,
			      const char *name) BERTH_WARN_UNUSED;

/**
 * Set one setting from its dotted key (e.g. "limits.threads") and text value,
 * as the file and the flags both do. BERTH_EINVALID naming `key` if bad.
 */
int berth_server_config_set(berth_server_config *cfg, const char *key,
			    const char *value) BERTH_WARN_UNUSED;

/**
 * Parse a plain decimal unsigned integer (digits only: no sign, space or
 * overflow), as config values and Content-Length both are. -1 if `s` is NULL
 * or anything else; no error message is set.
 */
int berth_server_parse_uint(const char *s, uint64_t *out) BERTH_WARN_UNUSED;

/**
 * Open the blob store `cfg` names: S3 when storage.s3.bucket is set (the
 * data directory then keeps only local state: database, keys), else the
 * fs store in the data directory.
 */
int berth_server_config_open_store(const berth_server_config *cfg,
				   berth_store **out) BERTH_WARN_UNUSED;

/** Release the strings held by `cfg`. */
void berth_server_config_dispose(berth_server_config *cfg);

#endif
