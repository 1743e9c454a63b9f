/*
 * berth/replicate.h - replication between registries, as Harbor's
 * replication rules have it: registries, rules (trigger, filters, direction),
 * name and tag globs, cron schedules, and the service that runs executions
 * over the copy engine and records them in the metadata database.
 *
 * The pieces are usable alone: the glob and cron functions are pure and
 * thread-safe; rule sets are parsed from JSON (the config file's YAML
 * sections are converted to JSON by the server's config reader, the API
 * takes JSON bodies), so both paths validate alike.
 */
#ifndef BERTH_REPLICATE_H
#define BERTH_REPLICATE_H

#include "berth/common.h"
#include "berth/meta.h"
#include "berth/registry.h"

#include <stdint.h>
#include <time.h>

/* The longest name or tag glob, cron expression and registry URL accepted. */
#define BERTH_REPLICATE_PATTERN_MAX 512
#define BERTH_REPLICATE_CRON_MAX 256
#define BERTH_REPLICATE_URL_MAX 2048
/* How many alternatives a glob's braces (and `**` forms) may expand to. */
#define BERTH_REPLICATE_GLOB_ALTERNATIVES 64
/* The largest rule set (JSON text of the config sections or an API body). */
#define BERTH_REPLICATE_RULES_MAX (1024 * 1024)

/* ---- globs ---- */

/**
 * Match `s` against the glob `pattern` as Harbor's filters do (doublestar):
 * `*` any run of characters but '/', `**` any run including '/', a `**`
 * path element also matches no element at all ("apps" matches "apps" + a
 * trailing `**` element), `?`
 * one character but '/', `{a,b}` alternatives (nested allowed), `\x` a
 * literal x. Returns 1 on a match, 0 on none, BERTH_EINVALID (with a
 * message) for a bad pattern: unbalanced braces, a control character, longer
 * than BERTH_REPLICATE_PATTERN_MAX, more than BERTH_REPLICATE_GLOB_ALTERNATIVES
 * alternatives. Time is O(len(s) x len(pattern)) per alternative.
 */
int berth_replicate_glob_match(const char *pattern, const char *s) BERTH_WARN_UNUSED;

/* ---- cron ---- */

/** A parsed schedule: bit sets of the seconds, minutes, ... that fire. */
typedef struct berth_cron {
	uint64_t seconds; /* bits 0..59 */
	uint64_t minutes; /* bits 0..59 */
	uint32_t hours;	  /* bits 0..23 */
	uint32_t mdays;	  /* bits 1..31 */
	uint16_t months;  /* bits 1..12 */
	uint8_t wdays;	  /* bits 0..6, Sunday = 0 */
	int dom_any;	  /* day-of-month was '*' or '?' */
	int dow_any;	  /* day-of-week was '*' or '?' */
} berth_cron;

/**
 * Parse a cron expression: 5 fields (minute hour day-of-month month
 * day-of-week, second 0) or Harbor's 6 (second first). Each field takes `*`,
 * `?` (day fields), numbers, ranges `a-b`, steps `x/n`, lists `a,b`, and
 * month and weekday names (JAN, MON; 7 is Sunday too). Day of month and day
 * of week: when both are restricted either may match (Vixie cron).
 * BERTH_EINVALID with a message naming the field otherwise.
 */
int berth_cron_parse(berth_cron *out, const char *expr) BERTH_WARN_UNUSED;

/**
 * The first time strictly after `after` (UTC) at which `c` fires, into
 * `*out`. BERTH_ENOTFOUND if none within five years (e.g. "0 0 30 2 *").
 */
int berth_cron_next(const berth_cron *c, time_t after, time_t *out) BERTH_WARN_UNUSED;

/* ---- rules ---- */

/*
 * Images an execution copies at once: Harbor's job service runs 10 workers
 * by default (max_job_workers), so does a rule here unless it says `workers`.
 */
#define BERTH_REPL_WORKERS_DEFAULT 10
#define BERTH_REPL_WORKERS_MAX 64

typedef enum { BERTH_REPL_MANUAL = 0, BERTH_REPL_SCHEDULED, BERTH_REPL_EVENT } berth_repl_trigger;

typedef struct berth_repl_filter {
	char *resource; /* "image" or "artifact" (NULL = any) */
	char *pattern;	/* repository name glob, or NULL */
	char *tag;	/* tag glob, or NULL */
	char *label;	/* "key" or "key=value": an annotation of the manifest (or index) or a
			   label of the image config (of any child); checked by the executor */
} berth_repl_filter;

typedef struct berth_repl_registry {
	char *name;
	char *url; /* "https://host[:port]" or "http://host[:port]" */
	char *description;
	char *username;	     /* NULL: the credentials store for the host */
	char *password_file; /* a file holding the password (config file registries) */
	char *password;	     /* API registries: the password, unsealed (wiped when freed) */
	int insecure;	     /* skip TLS verification */
	int from_config;     /* read-only through the API */
} berth_repl_registry;

typedef struct berth_repl_rule {
	char *name;
	char *remote; /* the target (push) or source (pull) URL, resolved from a registry name */
	int pull;     /* direction: 0 push (local -> remote), 1 pull */
	berth_repl_trigger trigger;
	char *cron; /* scheduled */
	berth_cron schedule;
	berth_repl_filter *filters;
	size_t nfilters;
	int override;		       /* replace a differing tag at the destination (default 1) */
	int delete;		       /* propagate deletions */
	int enabled;		       /* default 1 */
	unsigned bandwidth;	       /* KB/s over the blobs of an execution, 0 = unlimited */
	unsigned concurrency;	       /* blobs in flight per image (default 4) */
	unsigned workers;	       /* images copied at once in an execution (default
					  BERTH_REPL_WORKERS_DEFAULT) */
	int from_config;	       /* read-only through the API */
	berth_repl_registry *registry; /* borrowed from the set, or NULL */
} berth_repl_rule;

typedef struct berth_repl_rules {
	berth_repl_registry *registries;
	size_t nregistries;
	berth_repl_rule *rules;
	size_t nrules;
} berth_repl_rules;

/**
 * Parse `json` ({"registries": [...], "replication": [...]}, either may be
 * absent) into `out` (dispose with berth_repl_rules_dispose), appending to
 * what `out` already holds; `from_config` marks the rules read-only. A rule
 * names its `target` (or `source`, for pull) as a URL or the name of a
 * registry. A registry's `credential.password` is accepted only when
 * `from_config` is 0 (the config file names a password_file instead).
 * Registries may be appended only while `out` holds no rule (rules point at
 * them). BERTH_EINVALID naming the rule and field on any error (unknown
 * keys included); BERTH_EEXISTS for a duplicate rule or registry name.
 */
int berth_repl_rules_parse(berth_repl_rules *out, const char *json, size_t len,
			   int from_config) BERTH_WARN_UNUSED;

void berth_repl_rules_dispose(berth_repl_rules *r);

/** The registry named `name` in `r`, or NULL (borrowed). */
berth_repl_registry *berth_repl_rules_find_registry(berth_repl_rules *r, const char *name);

/** The rule named `name` in `r`, or NULL (borrowed). */
berth_repl_rule *berth_repl_rules_find(berth_repl_rules *r, const char *name);

/**
 * 1 if repository `repo` with tag `tag` (NULL: the repository as a whole)
 * passes every name filter of `rule` (pattern, tag), else 0. Label filters
 * need the image itself: the executor checks them.
 */
int berth_repl_rule_matches(const berth_repl_rule *rule, const char *repo, const char *tag);

/* ---- the service ---- */

typedef struct berth_replicator berth_replicator;

typedef struct berth_replicator_options {
	berth_meta *meta;	   /* borrowed: executions, results, API rules, the event queue */
	const char *self;	   /* "127.0.0.1:5000": this server, the local end of a copy */
	int self_tls;		   /* 1: this server speaks TLS (its certificate is not checked:
				      the connection is loopback to our own socket) */
	const char *self_username; /* this server's own account when access control is on */
	const char *self_password; /* (BERTH_AUTH_SYSTEM_USER), else NULL */
	const char *rules_json;	   /* the config file's sections as JSON, or NULL */
	const char *key_file;	   /* seals the API registries' passwords (made if absent) */
	int test_clock;		   /* 1: POST /api/v1/replication/tick drives the scheduler */
	/* this process among those sharing the database ("host:pid:random", at most
	   BERTH_META_HOLDER_MAX bytes); NULL: one is made */
	const char *holder;
} berth_replicator_options;

/**
 * Start the service: load the rules (config file, then the database), mark
 * executions left running by a process that stopped as interrupted (and run
 * their rules again), run once each schedule missed while the server was
 * down, and start the scheduler and the event worker threads.
 *
 * Several processes may share one database: each keeps the lease
 * "process:<holder>" alive (BERTH_REPL_HEARTBEAT seconds apart, valid for
 * BERTH_REPL_LIVENESS), a scheduled firing runs in the one process that
 * claims it, an event in the one that claims it, and executions and events of
 * a process whose lease expired are taken over by the others.
 */
#define BERTH_REPL_HEARTBEAT 5
#define BERTH_REPL_LIVENESS 15

int berth_replicator_new(berth_replicator **out,
			 const berth_replicator_options *o) BERTH_WARN_UNUSED;

/** Stop the threads (waiting for running executions) and free. NULL is a no-op. */
void berth_replicator_free(berth_replicator *r);

/**
 * A manifest was pushed (`deleted` 0) or deleted (1) in `repo` under
 * `reference` (a tag or digest): queue it durably for the event-based rules
 * that match. Cheap; never blocks on a copy. Thread-safe.
 */
int berth_replicator_notify(berth_replicator *r, const char *repo, const char *reference,
			    int deleted) BERTH_WARN_UNUSED;

/** 1 if `path` is the replication API's (/api/v1/replication...). */
int berth_replicator_handles(const char *path);

/**
 * Start answering a request of the replication API (see src/lib/replicate/
 * api.c for the routes). `admin` is 1 when the caller may manage
 * replication (a system administrator, or access control is off); others
 * get 403. Always produces an exchange (*out) unless out of memory.
 */
int berth_replicator_begin(berth_replicator *r, const berth_req *req, int admin,
			   berth_exchange **out) BERTH_WARN_UNUSED;

#endif
