/*
 * service.c - the replicator: the rule set (the config file's rules, then
 * those created through the API), a queue of runs, executor threads, the
 * scheduler and the event queue.
 *
 * Runs are queued in memory; what must survive a restart is in the
 * database: executions left "running" by a killed process are marked
 * interrupted and their rules run again (incremental, so the new run
 * completes the old one), each scheduled rule's last firing is stored so a
 * firing missed while the server was down runs once at start, events
 * wait in their table until the run they triggered has finished, and a
 * retry run asked for later (a full destination) waits in its own table.
 * One rule never has two executions at a time in a process: an executor
 * takes the first queued job whose rule is not running.
 *
 * Several processes may share the database (docs/scale-out.md): what they
 * must agree on is claimed there. Each process keeps its lease
 * "process:<holder>" alive from the scheduler thread; a firing is claimed by
 * moving the rule's last firing (compare-and-set), an event by taking its
 * row, and an execution or event whose process's lease expired is taken
 * over by whichever process notices first.
 */
#include "internal.h"

#include "util/log.h"

#include <jansson.h>
#include <sodium.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TICK_SECONDS 1
#define EVENTS_BATCH 256
#define RETRIES_BATCH 64 /* retry runs queued per tick */
#define INTERRUPTED_SUMMARY "{\"message\":\"the server stopped during the execution\"}"

static void job_free(berth_repl_job *j)
{
	if (!j)
		return;
	free(j->rule);
	free(j->repo);
	free(j->reference);
	free(j);
}

static int same_opt(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int berth_replicate__enqueue(berth_replicator *r, const char *rule, const char *trigger,
			     const char *repo, const char *reference, int deleted, int64_t event_id)
{
	berth_repl_job *j;

	/* The same pending run would do the same work: keep one (events keep their rows). */
	for (j = r->queue; j; j = j->next)
		if (!event_id && strcmp(j->rule, rule) == 0 && same_opt(j->repo, repo) &&
		    same_opt(j->reference, reference) && j->deleted == deleted && !j->event_id)
			return 0;
	if (r->queued >= BERTH_REPL_QUEUE_MAX)
		return berth_error_set(BERTH_EBUSY, "replication queue is full");
	if (!(j = calloc(1, sizeof(*j))) || !(j->rule = strdup(rule)) ||
	    (repo && !(j->repo = strdup(repo))) ||
	    (reference && !(j->reference = strdup(reference)))) {
		job_free(j);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	j->trigger = trigger;
	j->deleted = deleted;
	j->event_id = event_id;
	*r->queue_tail = j;
	r->queue_tail = &j->next;
	r->queued++;
	pthread_cond_broadcast(&r->wake);
	return 0;
}

/* The first queued job whose rule is not running (lock held), unlinked. */
static berth_repl_job *take_job(berth_replicator *r)
{
	for (berth_repl_job **pp = &r->queue; *pp; pp = &(*pp)->next) {
		berth_repl_job *j = *pp;
		int busy = 0;

		for (int i = 0; i < BERTH_REPL_EXECUTORS; i++)
			if (r->running[i] && strcmp(r->running[i], j->rule) == 0)
				busy = 1;
		if (busy)
			continue;
		*pp = j->next;
		if (r->queue_tail == &j->next)
			r->queue_tail = pp;
		j->next = NULL;
		r->queued--;
		return j;
	}
	return NULL;
}

/* One job: copy the rule under the lock, run it without. */
static void run_job(berth_replicator *r, int slot, berth_repl_job *j)
{
	berth_repl_rule rule;
	berth_repl_registry reg;
	berth_repl_rule *live = berth_repl_rules_find(&r->rules, j->rule);
	int ok = live && berth_replicate__rule_copy(&rule, &reg, live) == 0;

	if (!live)
		memset(&rule, 0, sizeof(rule)), memset(&reg, 0, sizeof(reg));
	r->running[slot] = j->rule;
	pthread_mutex_unlock(&r->lock);
	if (ok)
		berth_replicate__execute(r, j, &rule, rule.registry);
	else
		berth_warn("replication: rule %s is gone; its queued run is dropped", j->rule);
	if (j->event_id && berth_meta_repl_event_delete(r->meta, j->event_id) < 0)
		berth_warn("replication: %s", berth_error_last());
	berth_replicate__rule_dispose(&rule, &reg);
	pthread_mutex_lock(&r->lock);
	r->running[slot] = NULL;
	pthread_cond_broadcast(&r->wake);
}

static void *executor_main(void *arg)
{
	berth_repl_slot *a = arg;
	berth_replicator *r = a->r;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		berth_repl_job *j = take_job(r);

		if (!j) {
			pthread_cond_wait(&r->wake, &r->lock);
			continue;
		}
		run_job(r, a->slot, j);
		job_free(j);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ---- schedules ---- */

time_t berth_replicate__retry_later(berth_replicator *r, const char *rule)
{
	time_t at = time(NULL) + BERTH_REPL_FULL_RETRY;

	if (berth_meta_repl_retry_set(r->meta, rule, at) < 0)
		berth_warn(
			"replication: rule %s: keeping its retry run: %s; it resumes at its next "
			"run",
			rule, berth_error_last());
	return at;
}

typedef struct due_list {
	char *rule[RETRIES_BATCH];
	time_t at[RETRIES_BATCH];
	size_t n;
} due_list;

static int collect_due(void *ctx, const char *rule, time_t at)
{
	due_list *l = ctx;

	if (l->n >= RETRIES_BATCH)
		return 1;
	if (!(l->rule[l->n] = strdup(rule)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	l->at[l->n++] = at;
	return 0;
}

/*
 * Queue the retries due at `now` (lock held). Each is taken from the
 * database first (of processes sharing it, the one that takes it runs it);
 * one that cannot be queued is put back.
 */
static int due_retries(berth_replicator *r, time_t now, size_t *queued)
{
	due_list l = {.n = 0};
	int rc = berth_meta_repl_retries_due(r->meta, now, RETRIES_BATCH, collect_due, &l);

	for (size_t i = 0; i < l.n && rc == 0; i++) {
		int won = 0;

		if (!berth_repl_rules_find(&r->rules, l.rule[i])) {
			rc = berth_meta_repl_retry_take(r->meta, l.rule[i], l.at[i], &won);
			continue; /* the rule is gone: so is its retry */
		}
		if ((rc = berth_meta_repl_retry_take(r->meta, l.rule[i], l.at[i], &won)) < 0 ||
		    !won)
			continue;
		if ((rc = berth_replicate__enqueue(r, l.rule[i], "retry", NULL, NULL, 0, 0)) < 0) {
			if (berth_meta_repl_retry_set(r->meta, l.rule[i], l.at[i]) < 0)
				berth_warn("replication: rule %s: %s", l.rule[i],
					   berth_error_last());
			break;
		}
		if (queued)
			(*queued)++;
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.rule[i]);
	return rc;
}

int berth_replicate__tick(berth_replicator *r, time_t now, size_t *queued)
{
	int rc = 0;

	if (queued)
		*queued = 0;
	pthread_mutex_lock(&r->lock);
	berth_replicate__fresh(r);
	rc = due_retries(r, now, queued);
	for (size_t i = 0; i < r->rules.nrules && rc == 0; i++) {
		berth_repl_rule *rule = &r->rules.rules[i];
		time_t last = 0, next;
		int won = 0;

		if (rule->trigger != BERTH_REPL_SCHEDULED || !rule->enabled)
			continue;
		if ((rc = berth_meta_repl_fired_get(r->meta, rule->name, &last)) < 0)
			break;
		if (last == 0) {
			/* A new schedule starts counting now (the first process says when). */
			rc = berth_meta_repl_fired_claim(r->meta, rule->name, 0, now, &won);
			continue;
		}
		if (berth_cron_next(&rule->schedule, last, &next) < 0 || next > now)
			continue;
		/* Missed firings collapse into one run, in the one process (of those
		 * sharing the database) that moves the last firing from `last`. */
		if ((rc = berth_meta_repl_fired_claim(r->meta, rule->name, last, now, &won)) < 0)
			break;
		if (!won)
			continue;
		if ((rc = berth_replicate__enqueue(r, rule->name, "scheduled", NULL, NULL, 0, 0)) <
		    0)
			break;
		if (queued)
			(*queued)++;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- events ---- */

static int queue_event(void *ctx, const berth_meta_repl_event *e)
{
	berth_replicator *r = ctx;

	return berth_replicate__enqueue(r, e->rule, "event", e->repo, e->reference, e->deleted,
					e->id);
}

/*
 * Claim stored events no live process holds and queue them (lock held): never
 * more than the queue has room for, so a claimed event always has its job.
 */
static int pump_events(berth_replicator *r)
{
	size_t room = BERTH_REPL_QUEUE_MAX > r->queued ? BERTH_REPL_QUEUE_MAX - r->queued : 0;

	if (room == 0)
		return 0;
	return berth_meta_repl_event_claim(r->meta, r->holder, time(NULL),
					   room < EVENTS_BATCH ? (long)room : EVENTS_BATCH,
					   queue_event, r);
}

int berth_replicator_notify(berth_replicator *r, const char *repo, const char *reference,
			    int deleted)
{
	int rc = 0;

	if (!r)
		return 0;
	pthread_mutex_lock(&r->lock);
	/* A rule another process created applies to this push too. */
	berth_replicate__fresh(r);
	for (size_t i = 0; i < r->rules.nrules && rc == 0; i++) {
		berth_repl_rule *rule = &r->rules.rules[i];
		int is_tag = !strchr(reference, ':');
		berth_meta_repl_event e = {
			.rule = rule->name,
			.repo = repo,
			.reference = reference,
			.deleted = deleted,
		};

		if (rule->trigger != BERTH_REPL_EVENT || !rule->enabled || rule->pull ||
		    (deleted && !rule->delete) ||
		    !berth_repl_rule_matches(rule, repo, is_tag ? reference : NULL))
			continue;
		rc = berth_meta_repl_event_add(r->meta, &e);
	}
	if (rc == 0)
		rc = pump_events(r);
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* ---- the scheduler thread ---- */

static int take_over(void *ctx, const berth_meta_repl_exec *e);

/*
 * Say this process is alive, then take over what stopped processes left:
 * their running executions (run again) and their claimed events. Lock held.
 */
static int heartbeat(berth_replicator *r, time_t now)
{
	char lease[sizeof(BERTH_META_LEASE_PREFIX) + BERTH_META_HOLDER_MAX];
	int won = 0, rc;

	r->last_heartbeat = now;
	snprintf(lease, sizeof(lease), "%s%s", BERTH_META_LEASE_PREFIX, r->holder);
	if ((rc = berth_meta_lease_take(r->meta, lease, r->holder, now, BERTH_REPL_LIVENESS,
					&won)) < 0)
		return rc;
	if (!won)
		return berth_error_set(BERTH_EEXISTS, "another process runs as %s", r->holder);
	if ((rc = berth_meta_repl_execs_orphaned(r->meta, now, take_over, r)) < 0)
		return rc;
	return pump_events(r);
}

static void *scheduler_main(void *arg)
{
	berth_replicator *r = arg;
	struct timespec until;

	pthread_mutex_lock(&r->lock);
	while (!r->stop) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += TICK_SECONDS;
		pthread_cond_timedwait(&r->wake, &r->lock, &until);
		if (r->stop)
			break;
		if (time(NULL) - r->last_heartbeat >= BERTH_REPL_HEARTBEAT &&
		    heartbeat(r, time(NULL)) < 0)
			berth_warn("replication heartbeat: %s", berth_error_last());
		if (r->test_clock)
			berth_replicate__fresh(r); /* the tick does it otherwise */
		pthread_mutex_unlock(&r->lock);
		if (!r->test_clock && berth_replicate__tick(r, time(NULL), NULL) < 0)
			berth_warn("replication scheduler: %s", berth_error_last());
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

/* ---- start and stop ---- */

static int add_db_rule(void *ctx, const char *name, const char *body)
{
	berth_replicator *r = ctx;
	size_t len = strlen(body) + 32;
	char *doc = malloc(len);
	int rc;

	if (!doc)
		return berth_error_set(BERTH_ERROR, "out of memory");
	snprintf(doc, len, "{\"replication\":[%s]}", body);
	rc = berth_repl_rules_parse(&r->rules, doc, strlen(doc), 0);
	free(doc);
	if (rc < 0) /* e.g. a config file rule now has its name: the file wins */
		berth_warn("replication: stored rule %s ignored: %s", name, berth_error_last());
	return 0;
}

/* An API registry: its JSON with the password unsealed into it, added to the set. */
static int add_db_registry(void *ctx, const char *name, const char *body, const char *secret)
{
	berth_replicator *r = ctx;
	json_t *o = json_loads(body, 0, NULL), *doc = NULL;
	char *plain = NULL, *text = NULL;
	int rc = 0;

	if (!json_is_object(o)) {
		berth_warn("replication: stored registry %s is unreadable; ignored", name);
		goto done;
	}
	if (secret[0]) {
		json_t *cred = json_object_get(o, "credential");

		if ((rc = berth_replicate__unseal(r, secret, &plain)) < 0) {
			berth_warn("replication: registry %s: %s", name, berth_error_last());
			rc = 0;
			goto done;
		}
		if (!json_is_object(cred))
			json_object_set_new(o, "credential", cred = json_object());
		json_object_set_new(cred, "password", json_string(plain));
	}
	doc = json_pack("{s:[O]}", "registries", o);
	if (!doc || !(text = json_dumps(doc, JSON_COMPACT))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (berth_repl_rules_parse(&r->rules, text, strlen(text), 0) < 0)
		berth_warn("replication: stored registry %s ignored: %s", name, berth_error_last());
done:
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	berth_replicate__secret_free(plain);
	json_decref(doc);
	json_decref(o);
	return rc;
}

/* One section of the config file's JSON ("registries" or "replication"), parsed into the set. */
static int add_config_section(berth_replicator *r, json_t *cfg, const char *key)
{
	json_t *doc;
	char *text = NULL;
	int rc = 0;

	if (!json_object_get(cfg, key))
		return 0;
	if (!(doc = json_pack("{s:O}", key, json_object_get(cfg, key))) ||
	    !(text = json_dumps(doc, JSON_COMPACT)))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	else
		rc = berth_repl_rules_parse(&r->rules, text, strlen(text), 1);
	free(text);
	json_decref(doc);
	return rc;
}

/*
 * The set, in the order the pointers need: the config file's registries,
 * the API's, then the config file's rules (the file wins a name), the API's.
 */
int berth_replicate__reload(berth_replicator *r)
{
	json_t *cfg = NULL;
	int64_t gen = 0;
	int rc;

	/* The generation first: a change after it shows as a newer one later. */
	if ((rc = berth_meta_generation(r->meta, BERTH_META_GEN_REPLICATION, &gen)) < 0)
		return rc;
	berth_repl_rules_dispose(&r->rules);
	r->generation = gen;
	if (r->config_json && !(cfg = json_loads(r->config_json, 0, NULL)))
		return berth_error_set(BERTH_EINVALID,
				       "replication: the config sections are unreadable");
	if ((rc = add_config_section(r, cfg, "registries")) == 0 &&
	    (rc = berth_meta_repl_registries(r->meta, add_db_registry, r)) == 0 &&
	    (rc = add_config_section(r, cfg, "replication")) == 0)
		rc = berth_meta_repl_rules(r->meta, add_db_rule, r);
	json_decref(cfg);
	return rc;
}

void berth_replicate__fresh(berth_replicator *r)
{
	int64_t gen = 0;

	if (berth_meta_generation(r->meta, BERTH_META_GEN_REPLICATION, &gen) < 0) {
		berth_warn("replication: %s", berth_error_last());
		return;
	}
	if (gen != r->generation && berth_replicate__reload(r) < 0)
		berth_warn("replication: reloading the rules: %s", berth_error_last());
}

/* An execution of a stopped process: mark it interrupted and run its rule again. */
static int take_over(void *ctx, const berth_meta_repl_exec *e)
{
	berth_replicator *r = ctx;
	int won = 0, rc;

	if ((rc = berth_meta_repl_exec_interrupt(r->meta, e->id, time(NULL), INTERRUPTED_SUMMARY,
						 &won)) < 0)
		return rc;
	if (!won)
		return 0; /* another process took it over first */
	berth_warn("replication: execution %lld of rule %s was interrupted; running it again",
		   (long long)e->id, e->rule);
	if (berth_repl_rules_find(&r->rules, e->rule))
		return berth_replicate__enqueue(r, e->rule, "retry", NULL, NULL, 0, 0);
	return 0;
}

static int start_threads(berth_replicator *r)
{
	int err;

	for (int i = 0; i < BERTH_REPL_EXECUTORS; i++) {
		r->slots[i].r = r;
		r->slots[i].slot = i;
		if ((err = pthread_create(&r->executors[i], NULL, executor_main, &r->slots[i])) !=
		    0)
			return berth_error_set(BERTH_ERROR, "starting replication: %s",
					       strerror(err));
		r->nexecutors++;
	}
	if ((err = pthread_create(&r->scheduler, NULL, scheduler_main, r)) != 0)
		return berth_error_set(BERTH_ERROR, "starting replication: %s", strerror(err));
	r->scheduler_started = 1;
	return 0;
}

/* The caller's holder id, or "host:pid:random" (a fresh random part per start). */
static int make_holder(char **out, const char *given)
{
	char host[64] = "", buf[BERTH_META_HOLDER_MAX + 1];
	unsigned char rnd[4];

	if (given) {
		if (!given[0] || strlen(given) > BERTH_META_HOLDER_MAX)
			return berth_error_set(BERTH_EINVALID, "replication: bad process id");
		snprintf(buf, sizeof(buf), "%s", given);
	} else {
		if (gethostname(host, sizeof(host) - 1) != 0)
			snprintf(host, sizeof(host), "host");
		randombytes_buf(rnd, sizeof(rnd));
		snprintf(buf, sizeof(buf), "%s:%ld:%02x%02x%02x%02x", host, (long)getpid(), rnd[0],
			 rnd[1], rnd[2], rnd[3]);
	}
	if (!(*out = strdup(buf)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

int berth_replicator_new(berth_replicator **out, const berth_replicator_options *o)
{
	berth_replicator *r = NULL;
	int rc;

	*out = NULL;
	if (!(r = calloc(1, sizeof(*r))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	pthread_mutex_init(&r->labels_lock, NULL);
	r->queue_tail = &r->queue;
	r->meta = o->meta;
	r->test_clock = o->test_clock;
	r->self_tls = o->self_tls;
	if (!(r->labels = json_object()) || !(r->self = strdup(o->self)) ||
	    (o->self_username && !(r->self_username = strdup(o->self_username))) ||
	    (o->self_password && !(r->self_password = strdup(o->self_password))) ||
	    (o->rules_json && !(r->config_json = strdup(o->rules_json))) ||
	    (o->key_file && !(r->key_file = strdup(o->key_file)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = make_holder(&r->holder, o->holder)) < 0 || (rc = berth_replicate__rotate(r)) < 0)
		goto done;
	pthread_mutex_lock(&r->lock);
	if ((rc = berth_replicate__reload(r)) == 0)
		rc = heartbeat(r, time(NULL));
	pthread_mutex_unlock(&r->lock);
	if (rc < 0)
		goto done;
	/* A firing missed while the server was down runs once, now. */
	if ((rc = berth_replicate__tick(r, time(NULL), NULL)) < 0 || (rc = start_threads(r)) < 0)
		goto done;
	if (r->rules.nrules)
		berth_info("replication: %zu rule(s)", r->rules.nrules);
	*out = r;
	r = NULL;
done:
	berth_replicator_free(r);
	return rc;
}

void berth_replicator_free(berth_replicator *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	for (int i = 0; i < r->nexecutors; i++)
		pthread_join(r->executors[i], NULL);
	if (r->scheduler_started)
		pthread_join(r->scheduler, NULL);
	while (r->queue) {
		berth_repl_job *j = r->queue;

		r->queue = j->next;
		job_free(j);
	}
	berth_repl_rules_dispose(&r->rules);
	json_decref(r->labels);
	pthread_mutex_destroy(&r->labels_lock);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r->self);
	free(r->self_username);
	if (r->self_password) {
		sodium_memzero(r->self_password, strlen(r->self_password));
		free(r->self_password);
	}
	if (r->holder) {
		char lease[sizeof(BERTH_META_LEASE_PREFIX) + BERTH_META_HOLDER_MAX];

		/* Gone cleanly: the others may take over at once. */
		snprintf(lease, sizeof(lease), "%s%s", BERTH_META_LEASE_PREFIX, r->holder);
		if (r->last_heartbeat && berth_meta_lease_release(r->meta, lease, r->holder) < 0)
			berth_warn("replication: %s", berth_error_last());
	}
	free(r->holder);
	free(r->config_json);
	free(r->key_file);
	sodium_memzero(r->key, sizeof(r->key));
	free(r);
}
