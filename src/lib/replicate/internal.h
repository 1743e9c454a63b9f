/*
 * internal.h - shared by the files of src/lib/replicate: the replicator's
 * state (rules, job queue, threads), executions (exec.c) and the API
 * (api.c).
 */
#ifndef BERTH_REPLICATE_INTERNAL_H
#define BERTH_REPLICATE_INTERNAL_H

#include "berth/replicate.h"

#include <pthread.h>
#include <time.h>

#define BERTH_REPL_EXECUTORS 2
#define BERTH_REPL_QUEUE_MAX 1024
#define BERTH_REPL_KEY_BYTES 32 /* crypto_secretbox_KEYBYTES */

/* One queued run of a rule. */
typedef struct berth_repl_job {
	struct berth_repl_job *next;
	char *rule;
	const char *trigger; /* static: "manual", "scheduled", "event", "retry" */
	/* event jobs: the one repository and reference, and the queue row */
	char *repo;
	char *reference;
	int deleted;
	int64_t event_id;
} berth_repl_job;

/* What an executor thread is given: its replicator and its slot in `running`. */
typedef struct berth_repl_slot {
	struct berth_replicator *r;
	int slot;
} berth_repl_slot;

struct berth_replicator {
	berth_meta *meta;
	char *self;
	int self_tls;
	char *self_username, *self_password; /* NULL without access control */
	int test_clock;
	pthread_mutex_t lock;
	pthread_cond_t wake; /* work queued, or stopping */
	berth_repl_rules rules;
	int64_t generation; /* of the API's rules and registries in `rules` (meta) */
	char *config_json;  /* the config file's sections, to rebuild the set */
	berth_repl_job *queue, **queue_tail;
	size_t queued;
	char *running[BERTH_REPL_EXECUTORS]; /* rule names being executed */
	char *holder;			     /* this process, for claims in the database */
	time_t last_heartbeat;		     /* of the scheduler thread */
	int stop;
	/* the key sealing stored registry passwords (secret.c) */
	char *key_file;
	unsigned char key[BERTH_REPL_KEY_BYTES], next_key[BERTH_REPL_KEY_BYTES];
	int have_key, have_next;
	pthread_t executors[BERTH_REPL_EXECUTORS];
	berth_repl_slot slots[BERTH_REPL_EXECUTORS];
	int nexecutors;
	pthread_t scheduler;
	int scheduler_started;
	/* label filters: the label objects read per manifest digest (exec.c) */
	pthread_mutex_t labels_lock;
	struct json_t *labels; /* {digest: [objects]} */
};

/* Queue a run of `rule` (lock held). Deduplicates an identical pending run. */
int berth_replicate__enqueue(berth_replicator *r, const char *rule, const char *trigger,
			     const char *repo, const char *reference, int deleted,
			     int64_t event_id) BERTH_WARN_UNUSED;

/* Evaluate the schedules at `now` (lock not held): queue the rules due. */
int berth_replicate__tick(berth_replicator *r, time_t now, size_t *queued) BERTH_WARN_UNUSED;

/* Rebuild the rule set from the config text and the database (lock held). */
int berth_replicate__reload(berth_replicator *r) BERTH_WARN_UNUSED;

/*
 * Reload the rule set if another process (or this one) changed the API's
 * rules or registries since it was loaded: one read of the replication
 * generation (lock held). On a database error the loaded set stays, with a
 * warning.
 */
void berth_replicate__fresh(berth_replicator *r);

/*
 * Ask for a "retry" run of `rule` BERTH_REPL_FULL_RETRY seconds from now
 * (lock not held): kept in the database (a restart keeps it), the scheduler
 * queues it when the time comes. One pending retry per rule. Returns when
 * it is due.
 */
#define BERTH_REPL_FULL_RETRY 300
time_t berth_replicate__retry_later(berth_replicator *r, const char *rule);

/*
 * Run one job to the end, recording the execution and its results (lock
 * not held; `rule` is a private copy of the rule's settings).
 */
void berth_replicate__execute(berth_replicator *r, const berth_repl_job *job,
			      const berth_repl_rule *rule, const berth_repl_registry *reg);

/*
 * Reach `rule`'s remote as an execution would (scheme, TLS, credentials of
 * `reg`) and GET /v2/: 0 when it answers and accepts the credentials, else
 * a negative code with the message set. Lock not held; private copies.
 */
int berth_replicate__ping(berth_replicator *r, const berth_repl_rule *rule,
			  const berth_repl_registry *reg) BERTH_WARN_UNUSED;

/* secret.c: the key (loaded or made on first use), sealing, opening, rotation. */
int berth_replicate__key_load(berth_replicator *r) BERTH_WARN_UNUSED;
int berth_replicate__seal(berth_replicator *r, const char *plain, char **out) BERTH_WARN_UNUSED;
int berth_replicate__unseal(berth_replicator *r, const char *text, char **out) BERTH_WARN_UNUSED;
/* Re-seal every stored secret under `<key file>.new` if it exists, then make it the key. */
int berth_replicate__rotate(berth_replicator *r) BERTH_WARN_UNUSED;
/* Wipe and free a password. */
void berth_replicate__secret_free(char *s);

/* A deep copy of `src` (and its registry into `reg_dst`); dispose both with _rule_dispose. */
int berth_replicate__rule_copy(berth_repl_rule *dst, berth_repl_registry *reg_dst,
			       const berth_repl_rule *src) BERTH_WARN_UNUSED;
void berth_replicate__rule_dispose(berth_repl_rule *r, berth_repl_registry *reg);

#endif
