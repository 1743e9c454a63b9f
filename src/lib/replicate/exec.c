/*
 * exec.c - one execution of a replication rule: list what the rule selects
 * at the source, copy each image that differs at the destination through
 * the copy engine (every platform, blobs skipped when the destination has
 * them), carry its referrers along, propagate deletions when the rule says
 * so, and record the execution and every artifact's result in meta.
 *
 * The local end of a copy is this server itself, reached over loopback
 * (`self`, over TLS when the server has it, as the in-memory system
 * account when access control is on), so a replicated image travels
 * exactly as any registry client would see it. Tags compare by manifest digest (HEAD at the
 * destination): an image already there is "skipped" and costs one request.
 *
 * An execution first lists what it selects by name, then copies up to the
 * rule's `workers` images at once (threads of this execution taking the next
 * tag of the list). They share one client per end (connections, tokens), one
 * bandwidth budget, and what is known of the destination: a blob copied,
 * found or mounted there under one repository is mounted into the next
 * repository that needs it (a cross-repository mount, no bytes sent), and
 * blobs the destination has are skipped after a HEAD. Label filters read
 * the image (manifest, config) once per manifest digest: the replicator keeps
 * what it read by digest, which never goes stale.
 *
 * A destination out of space (507, 413 on an upload, a quota refusal:
 * BERTH_ENOSPC) is retried like any failure within the budget; if it is
 * still full the artifact is recorded failed and the execution stops there
 * (every further copy would fail the same way), says so, and asks the
 * replicator for a retry run later (berth_replicate__retry_later).
 */
#include "internal.h"

#include "berth/client.h"
#include "berth/oci.h"
#include "berth/transport.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRIES 3
#define CATALOG_MAX (16 * 1024 * 1024)
#define CATALOG_PAGE 1000
#define CATALOG_PAGES 1000
#define PASSWORD_MAX 4096
#define REFERRERS_MAX 1000

#define WORK_MAX 1000000      /* tags one execution lists */
#define BLOB_BUCKETS 4096     /* the destination's known blobs, hashed by digest */
#define BLOBS_MAX 200000      /* known blobs kept per execution */
#define LABEL_CACHE_MAX 20000 /* manifests whose labels the replicator keeps */

typedef berth_client_names names;
#define names_add berth_client_names_add
#define names_has berth_client_names_has
#define names_dispose berth_client_names_dispose

/* A blob the destination holds, and one repository there that has it. */
typedef struct blob_seen {
	struct blob_seen *next;
	char digest[BERTH_DIGEST_MAX];
	char repo[];
} blob_seen;

/* What one execution works with. */
typedef struct run {
	berth_replicator *r;
	const berth_repl_rule *rule;
	int64_t exec_id;
	char remote[BERTH_REPLICATE_URL_MAX];		 /* host[:port] */
	int plain;					 /* http:// */
	berth_transport_options local_opts, remote_opts; /* carry the clients below */
	char *password;					 /* wiped */
	berth_client *client;				 /* the remote */
	berth_client *self;				 /* this server as a client sees it */
	berth_copy_pacer pacer; /* the rule's bandwidth, over every copy of the execution */
	int have_pacer;
	pthread_mutex_t mu; /* guards what follows (workers share the run) */
	int have_mu;
	long copied, skipped, deleted, failed;
	int full;	    /* the destination is out of space: stop */
	char full_msg[512]; /* why, from the first such failure */
	blob_seen **blobs;  /* BLOB_BUCKETS chains: blobs the destination holds */
	size_t nblobs;
	atomic_int dst_api; /* the destination has the referrers API: -1 not known yet */
} run;

static void record(run *x, const char *repo, const char *sep, const char *ref, const char *digest,
		   const char *status, const char *message)
{
	char artifact[4200];
	berth_meta_repl_result res = {
		.exec_id = x->exec_id,
		.artifact = artifact,
		.digest = digest ? digest : "",
		.status = status,
		.message = message ? message : "",
	};

	snprintf(artifact, sizeof(artifact), "%s%s%s", repo, sep, ref);
	pthread_mutex_lock(&x->mu);
	if (strcmp(status, "copied") == 0)
		x->copied++;
	else if (strcmp(status, "skipped") == 0)
		x->skipped++;
	else if (strcmp(status, "deleted") == 0)
		x->deleted++;
	else
		x->failed++;
	pthread_mutex_unlock(&x->mu);
	if (berth_meta_repl_result_add(x->r->meta, &res) < 0)
		berth_warn("replication: recording a result: %s", berth_error_last());
}

static int is_full(run *x)
{
	int full;

	pthread_mutex_lock(&x->mu);
	full = x->full;
	pthread_mutex_unlock(&x->mu);
	return full;
}

/* ---- what the destination holds: for mounts across its repositories ---- */

static size_t blob_bucket(const char *digest)
{
	size_t h = 5381;

	for (const char *p = digest; *p; p++)
		h = h * 33 + (unsigned char)*p;
	return h % BLOB_BUCKETS;
}

/* The entry of `digest` (lock held), or NULL. */
static blob_seen *blob_find(run *x, const char *digest)
{
	for (blob_seen *b = x->blobs[blob_bucket(digest)]; b; b = b->next)
		if (strcmp(b->digest, digest) == 0)
			return b;
	return NULL;
}

/* The destination holds `digest` in `repo`: keep the first repository known. */
static void blob_note(run *x, const char *digest, const char *repo)
{
	blob_seen *b;

	pthread_mutex_lock(&x->mu);
	if (!blob_find(x, digest) && x->nblobs < BLOBS_MAX &&
	    (b = calloc(1, sizeof(*b) + strlen(repo) + 1)) != NULL) {
		size_t k = blob_bucket(digest);

		snprintf(b->digest, sizeof(b->digest), "%s", digest);
		strcpy(b->repo, repo);
		b->next = x->blobs[k];
		x->blobs[k] = b;
		x->nblobs++;
	}
	pthread_mutex_unlock(&x->mu);
}

/* One copy's view of the run, given to the copy engine's callbacks. */
typedef struct copy_note {
	run *x;
	const char *dst_repo;
} copy_note;

static void copy_progress(void *ctx, berth_copy_event ev, const berth_descriptor *desc,
			  uint64_t bytes)
{
	copy_note *n = ctx;

	(void)bytes;
	if (ev == BERTH_COPY_BLOB_DONE || ev == BERTH_COPY_BLOB_SKIPPED ||
	    ev == BERTH_COPY_BLOB_MOUNTED)
		blob_note(n->x, desc->digest.str, n->dst_repo);
}

/* Entries are never freed before the run ends: the name stays valid for the copy. */
static const char *copy_mount_hint(void *ctx, const berth_descriptor *desc)
{
	copy_note *n = ctx;
	blob_seen *b;
	const char *from = NULL;

	pthread_mutex_lock(&n->x->mu);
	if ((b = blob_find(n->x, desc->digest.str)) != NULL && strcmp(b->repo, n->dst_repo) != 0)
		from = b->repo;
	pthread_mutex_unlock(&n->x->mu);
	return from;
}

/* A client of one end of the copies: `o` carries it to the copy engine. */
static int end_client(berth_client **out, const char *host, berth_transport_options *o)
{
	berth_client_options co;
	int rc;

	berth_client_options_init(&co);
	co.host = host;
	co.plain_http = o->plain_http;
	co.tls_verify = o->tls_verify;
	co.username = o->username;
	co.password = o->password;
	if ((rc = berth_client_new(out, &co)) == 0)
		o->client = *out;
	return rc;
}

/* One copy, whole image (every platform), retried with backoff. */
static int copy_image(run *x, const char *src, const char *dst, int push, berth_digest *digest)
{
	berth_image_name *s = NULL, *d = NULL;
	berth_copy_options co;
	copy_note note = {.x = x};
	int rc;

	berth_copy_options_init(&co);
	co.all = 1;
	co.parallel = (int)x->rule->concurrency;
	co.pacer = &x->pacer;
	co.progress = copy_progress;
	co.mount_hint = copy_mount_hint;
	co.progress_ctx = &note;
	if ((rc = berth_image_name_parse(&s, src)) < 0 ||
	    (rc = berth_image_name_parse(&d, dst)) < 0)
		goto done;
	note.dst_repo = d->ref->path;
	for (int attempt = 1; attempt <= TRIES; attempt++) {
		rc = berth_copy(s, push ? &x->local_opts : &x->remote_opts, d,
				push ? &x->remote_opts : &x->local_opts, &co, digest);
		/* Refusals and bad content do not get better by retrying (space may). */
		if (rc == 0 || rc == BERTH_EDENIED || rc == BERTH_EINVALID || rc == BERTH_EDIGEST ||
		    attempt == TRIES)
			break;
		if (rc == BERTH_ENOSPC)
			berth_info("replication: %s: the destination is full (try %d of %d): %s",
				   dst, attempt, TRIES, berth_error_last());
		sleep((unsigned)(1 << (attempt - 1)));
	}
	if (rc == BERTH_ENOSPC) {
		pthread_mutex_lock(&x->mu);
		if (!x->full) {
			x->full = 1;
			snprintf(x->full_msg, sizeof(x->full_msg), "%s", berth_error_last());
		}
		pthread_mutex_unlock(&x->mu);
	}
done:
	berth_image_name_free(s);
	berth_image_name_free(d);
	return rc;
}

/* One walk over a subject's referrers: what its callbacks need of the run. */
typedef struct referrers_walk {
	run *x;
	const char *repo;
	berth_client *to;
	const char *from_host, *to_host;
} referrers_walk;

/* Copy a referrer unless the destination has it, and record which; always go on (one that
 * failed is neither listed at the destination nor walked). */
static int referrer_visit(void *ctx, const berth_digest *d, int depth)
{
	referrers_walk *w = ctx;
	char src[4300], dst[4300];

	(void)depth;
	if (berth_client_manifest_head(w->to, w->repo, d->str, NULL, NULL, 0, NULL) == 0) {
		record(w->x, w->repo, "@", d->str, d->str, "skipped", "referrer already there");
		return 0;
	}
	snprintf(src, sizeof(src), "docker://%s/%s@%s", w->from_host, w->repo, d->str);
	snprintf(dst, sizeof(dst), "docker://%s/%s@%s", w->to_host, w->repo, d->str);
	if (copy_image(w->x, src, dst, !w->x->rule->pull, NULL) < 0) {
		record(w->x, w->repo, "@", d->str, d->str, "failed", berth_error_last());
		return 1;
	}
	record(w->x, w->repo, "@", d->str, d->str, "copied", "referrer");
	return 0;
}

static int referrers_stop(void *ctx)
{
	return is_full(((referrers_walk *)ctx)->x);
}

/* A subject whose referrers could not be read or listed: recorded failed; go on. */
static int referrers_failed(void *ctx, const berth_digest *subject, int rc)
{
	referrers_walk *w = ctx;

	(void)rc;
	record(w->x, w->repo, "@", subject->str, subject->str, "failed", berth_error_last());
	return 0;
}

/*
 * Carry the referrers of `subject` (signatures, SBOMs, attestations), by
 * digest, from the run's source to its destination, and what refers to
 * them, two levels down. The source's referrers are its referrers API's
 * answer or, without the API (Distribution 2.8 as a pull source), its
 * referrers tag schema index: they arrive at berth as real referrers. A
 * destination without the API (Distribution 2.8 as a push target) gets
 * them listed in its tag schema index, as an OCI 1.1 client keeps it.
 * Every outcome is recorded on its artifact; none stops the run.
 */
static void copy_referrers(run *x, const char *repo, const berth_digest *subject)
{
	int pull = x->rule->pull;
	referrers_walk rw = {
		.x = x,
		.repo = repo,
		.to = pull ? x->self : x->client,
		.from_host = pull ? x->remote : x->r->self,
		.to_host = pull ? x->r->self : x->remote,
	};
	berth_client_referrers_walker w = {
		.src = pull ? x->client : x->self,
		.dst = rw.to,
		.src_repo = repo,
		.dst_repo = repo,
		.max_depth = 2,
		.max_count = REFERRERS_MAX,
		.skip_invalid = 1,
		.dst_api = &x->dst_api,
		.visit = referrer_visit,
		.stop = referrers_stop,
		.on_error = referrers_failed,
		.ctx = &rw,
	};

	/* Nothing to do on failure: referrers_failed recorded it and said go on. */
	(void)!berth_client_referrers_walk(&w, subject);
}

/* ---- label filters: the image's annotations and config labels, kept by digest ---- */

static int buf_sink(void *ctx, const void *data, size_t len)
{
	return berth_buf_put(ctx, data, len) < 0
		       ? berth_error_set(BERTH_ETOOBIG, "image config larger than %zu bytes",
					 (size_t)BERTH_CONFIG_MAX)
		       : 0;
}

/* The Labels of the config `desc` names, appended to `out` (nothing for a non-image). */
static int config_labels(berth_client *c, const char *repo, json_t *desc, json_t *out)
{
	berth_buf cfg = BERTH_BUF_INIT(BERTH_CONFIG_MAX);
	const char *dig = json_string_value(json_object_get(desc, "digest"));
	berth_digest d;
	json_t *root = NULL, *labels;
	int rc;

	if (!dig || berth_digest_parse(&d, dig, strlen(dig)) < 0)
		return 0; /* an artifact without an image config: annotations only */
	if ((rc = berth_client_blob_get(c, repo, &d,
					json_integer_value(json_object_get(desc, "size")), buf_sink,
					&cfg)) < 0)
		goto done;
	if (!(root = json_loadb(cfg.ptr ? cfg.ptr : "", cfg.len, 0, NULL))) {
		rc = berth_error_set(BERTH_EINVALID, "%s@%s: image config is not JSON", repo, dig);
		goto done;
	}
	labels = json_object_get(json_object_get(root, "config"), "Labels");
	if (json_is_object(labels))
		json_array_append(out, labels);
done:
	json_decref(root);
	berth_buf_dispose(&cfg);
	return rc;
}

/*
 * Every label object of manifest `ref` appended to `out`: its annotations
 * and its config's Labels; for an index, its annotations and its children's.
 */
static int read_labels(berth_client *c, const char *repo, const char *ref, json_t *out, int depth)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_MAX);
	char mt[256];
	berth_digest d;
	json_t *root = NULL, *desc, *ann;
	int rc;

	if ((rc = berth_client_manifest_get(c, repo, ref, &body, mt, sizeof(mt), &d)) < 0)
		goto done;
	if (!(root = json_loadb(body.ptr ? body.ptr : "", body.len, 0, NULL))) {
		rc = berth_error_set(BERTH_EINVALID, "%s@%s: manifest is not JSON", repo, ref);
		goto done;
	}
	if (json_is_object(ann = json_object_get(root, "annotations")))
		json_array_append(out, ann);
	if (json_is_array(json_object_get(root, "manifests"))) {
		size_t i;

		json_array_foreach(json_object_get(root, "manifests"), i, desc)
		{
			const char *child = json_string_value(json_object_get(desc, "digest"));

			if (depth < 2 && child &&
			    (rc = read_labels(c, repo, child, out, depth + 1)) < 0)
				goto done;
		}
		goto done;
	}
	rc = config_labels(c, repo, json_object_get(root, "config"), out);
done:
	json_decref(root);
	berth_buf_dispose(&body);
	return rc;
}

/* The label objects of manifest `d` (a new reference): the replicator's, else read and kept. */
static int labels_of(run *x, berth_client *c, const char *repo, const berth_digest *d, json_t **out)
{
	berth_replicator *r = x->r;
	json_t *l;
	int rc;

	pthread_mutex_lock(&r->labels_lock);
	l = json_incref(json_object_get(r->labels, d->str));
	pthread_mutex_unlock(&r->labels_lock);
	if ((*out = l) != NULL)
		return 0;
	if (!(l = json_array()))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = read_labels(c, repo, d->str, l, 0)) < 0) {
		json_decref(l);
		return rc;
	}
	pthread_mutex_lock(&r->labels_lock);
	if (json_object_size(r->labels) >= LABEL_CACHE_MAX) {
		/* A simple bound: start again (what is dropped is read again on need). */
		json_t *fresh = json_object();

		if (fresh) {
			json_decref(r->labels);
			r->labels = fresh;
		}
	}
	if (json_object_size(r->labels) < LABEL_CACHE_MAX)
		json_object_set(r->labels, d->str, l);
	pthread_mutex_unlock(&r->labels_lock);
	*out = l;
	return 0;
}

/* 1 if one of the label objects `l` holds `key` (with `value`, when given). */
static int labels_hold(json_t *l, const char *key, const char *value)
{
	size_t i;
	json_t *o;

	json_array_foreach(l, i, o)
	{
		json_t *v = json_object_get(o, key);

		if (json_is_string(v) && (!value || strcmp(json_string_value(v), value) == 0))
			return 1;
	}
	return 0;
}

/*
 * Does the rule take repo:tag, whose manifest is `d` where it is (NULL:
 * unknown, HEAD there)? Name filters first; then each label filter (`key`
 * or `key=value`) against the image at `c` (the remote for pulls and for
 * deletions at the destination, this server otherwise). A label that cannot
 * be read is recorded failed.
 */
static int tag_selected_on(run *x, berth_client *c, const char *repo, const char *tag,
			   const berth_digest *d)
{
	berth_digest head;
	json_t *labels = NULL;
	uint64_t size;
	int rc = 1;

	if (!berth_repl_rule_matches(x->rule, repo, tag))
		return 0;
	for (size_t i = 0; i < x->rule->nfilters && rc == 1; i++) {
		const char *label = x->rule->filters[i].label;
		const char *eq;
		char key[257];

		if (!label)
			continue;
		if (!labels && !d &&
		    berth_client_manifest_head(c, repo, tag, &head, NULL, 0, &size) == 0)
			d = &head;
		if (!labels && (!d || labels_of(x, c, repo, d, &labels) < 0)) {
			record(x, repo, ":", tag, NULL, "failed", berth_error_last());
			rc = 0;
			break;
		}
		eq = strchr(label, '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq ? (size_t)(eq - label) : strlen(label)),
			 label);
		rc = labels_hold(labels, key, eq ? eq + 1 : NULL);
	}
	json_decref(labels);
	return rc;
}

/* ---- push ---- */

/* Push one tag (if the rule takes it) unless the destination has the same manifest. */
static void push_tag(run *x, const char *repo, const char *tag)
{
	berth_meta_manifest info;
	berth_digest remote_digest, copied;
	char src[4300], dst[4300], local_hex[160];
	uint64_t size;
	int have;

	if (berth_client_is_referrers_tag(tag))
		return; /* referrers travel with their subject */
	if (berth_meta_manifest_get(x->r->meta, repo, tag, &info, NULL) < 0)
		return; /* deleted meanwhile */
	if (!tag_selected_on(x, x->self, repo, tag, &info.digest))
		return;
	snprintf(local_hex, sizeof(local_hex), "%s", info.digest.str);
	have = berth_client_manifest_head(x->client, repo, tag, &remote_digest, NULL, 0, &size) ==
	       0;
	if (have && berth_digest_equal(&remote_digest, &info.digest)) {
		record(x, repo, ":", tag, local_hex, "skipped", "same digest at the destination");
	} else if (have && !x->rule->override) {
		record(x, repo, ":", tag, local_hex, "skipped",
		       "differs at the destination; override is off");
		return;
	} else {
		snprintf(src, sizeof(src), "docker://%s/%s:%s", x->r->self, repo, tag);
		snprintf(dst, sizeof(dst), "docker://%s/%s:%s", x->remote, repo, tag);
		if (copy_image(x, src, dst, 1, &copied) < 0) {
			record(x, repo, ":", tag, local_hex, "failed", berth_error_last());
			return;
		}
		record(x, repo, ":", tag, local_hex, "copied", NULL);
	}
	copy_referrers(x, repo, &info.digest);
}

/* 1 if a tag of `repo` here still names manifest `d`. */
static int still_tagged(run *x, const char *repo, const berth_digest *d)
{
	names tags = {0};
	int found = 0;

	if (berth_meta_tags(x->r->meta, repo, NULL, -1, names_add, &tags, NULL) < 0)
		found = 1; /* unsure: keep it */
	for (size_t i = 0; i < tags.n && !found; i++) {
		berth_meta_manifest info;

		if (berth_meta_manifest_get(x->r->meta, repo, tags.v[i], &info, NULL) == 0 &&
		    berth_digest_equal(&info.digest, d))
			found = 1;
	}
	names_dispose(&tags);
	return found;
}

/*
 * Delete at the destination what is gone here: `ref` a tag or a digest. A
 * tag is deleted alone where the registry can (berth, OCI 1.1); where it
 * cannot (Distribution deletes manifests by digest only), its manifest is
 * deleted unless another tag here still names it.
 */
static void push_delete(run *x, const char *repo, const char *ref)
{
	berth_digest d;
	uint64_t size;
	const char *sep = strchr(ref, ':') ? "@" : ":";
	int rc = berth_client_manifest_delete(x->client, repo, ref);

	if (rc == 0 || rc == BERTH_ENOTFOUND || *sep == '@') {
		if (rc != BERTH_ENOTFOUND)
			record(x, repo, sep, ref, *sep == '@' ? ref : NULL,
			       rc < 0 ? "failed" : "deleted", rc < 0 ? berth_error_last() : NULL);
		return;
	}
	if ((rc = berth_client_manifest_head(x->client, repo, ref, &d, NULL, 0, &size)) < 0) {
		if (rc != BERTH_ENOTFOUND)
			record(x, repo, sep, ref, NULL, "failed", berth_error_last());
		return;
	}
	if (still_tagged(x, repo, &d)) {
		record(x, repo, sep, ref, d.str, "skipped",
		       "the destination deletes by digest only, and another tag still names it");
		return;
	}
	rc = berth_client_manifest_delete(x->client, repo, d.str);
	if (rc != BERTH_ENOTFOUND)
		record(x, repo, sep, ref, d.str, rc < 0 ? "failed" : "deleted",
		       rc < 0 ? berth_error_last() : NULL);
}

/* Tags at the destination that are gone here (and pass the filters). */
static void push_prune(run *x, const char *repo)
{
	names local = {0}, remote = {0};

	if (berth_meta_tags(x->r->meta, repo, NULL, -1, names_add, &local, NULL) < 0 ||
	    berth_client_tag_list(x->client, repo, &remote) < 0)
		goto done;
	for (size_t i = 0; i < remote.n && !is_full(x); i++)
		if (!names_has(&local, remote.v[i]) &&
		    !berth_client_is_referrers_tag(remote.v[i]) &&
		    tag_selected_on(x, x->client, repo, remote.v[i], NULL))
			push_delete(x, repo, remote.v[i]);
done:
	names_dispose(&local);
	names_dispose(&remote);
}

/* ---- the work list, copied by the rule's workers ---- */

/* What an execution copies: repos.v[i]:tags.v[i], in order. */
typedef struct work {
	names repos, tags;
	void (*fn)(run *x, const char *repo, const char *tag);
	run *x;
	size_t next; /* under x->mu */
} work;

static int work_add(work *w, const char *repo, const char *tag)
{
	int rc = names_add(&w->repos, repo);

	if (rc == 0 && (rc = names_add(&w->tags, tag)) < 0)
		free(w->repos.v[--w->repos.n]);
	return rc;
}

static void *work_worker(void *arg)
{
	work *w = arg;
	run *x = w->x;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&x->mu);
		i = w->next < w->repos.n && !x->full ? w->next++ : (size_t)-1;
		pthread_mutex_unlock(&x->mu);
		if (i == (size_t)-1)
			return NULL;
		w->fn(x, w->repos.v[i], w->tags.v[i]);
	}
}

/*
 * Run the list with up to the rule's `workers` threads (this one among
 * them); a destination found full stops the taking of new items.
 */
static void work_run(work *w)
{
	size_t n = w->x->rule->workers ? w->x->rule->workers : 1, started = 0;
	pthread_t th[BERTH_REPL_WORKERS_MAX];

	if (n > w->repos.n)
		n = w->repos.n;
	if (n > BERTH_REPL_WORKERS_MAX)
		n = BERTH_REPL_WORKERS_MAX;
	for (size_t i = 1; i < n; i++) {
		if (pthread_create(&th[started], NULL, work_worker, w) != 0)
			break; /* fewer threads: the list is taken all the same */
		started++;
	}
	work_worker(w);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

static void work_dispose(work *w)
{
	names_dispose(&w->repos);
	names_dispose(&w->tags);
}

/* The tags of `repo` here that pass the name filters, into the list. */
static int push_list_repo(run *x, work *w, const char *repo)
{
	names tags = {0};
	int rc;

	if ((rc = berth_meta_tags(x->r->meta, repo, NULL, -1, names_add, &tags, NULL)) < 0)
		record(x, repo, "", "", NULL, "failed", berth_error_last());
	for (size_t i = 0; rc == 0 && i < tags.n; i++)
		if (berth_repl_rule_matches(x->rule, repo, tags.v[i]))
			rc = work_add(w, repo, tags.v[i]);
	names_dispose(&tags);
	return rc;
}

static void push_all(run *x, const berth_repl_job *job)
{
	names repos = {0};
	work w = {.fn = push_tag, .x = x};
	int rc = 0;

	w.repos.max = w.tags.max = WORK_MAX;
	if (job->repo && job->deleted) {
		push_delete(x, job->repo, job->reference);
		return;
	}
	if (job->repo && !strchr(job->reference, ':')) {
		push_tag(x, job->repo, job->reference);
		return;
	}
	if (job->repo) {
		rc = names_add(&repos, job->repo);
	} else if (berth_meta_catalog(x->r->meta, NULL, -1, names_add, &repos, NULL) < 0) {
		record(x, "*", "", "", NULL, "failed", berth_error_last());
		return;
	}
	for (size_t i = 0; rc == 0 && i < repos.n; i++)
		if (berth_repl_rule_matches(x->rule, repos.v[i], NULL))
			rc = push_list_repo(x, &w, repos.v[i]);
	if (rc < 0 && rc != BERTH_ETOOBIG)
		record(x, "*", "", "", NULL, "failed", berth_error_last());
	else
		work_run(&w);
	for (size_t i = 0; x->rule->delete &&i < repos.n && !is_full(x); i++)
		if (berth_repl_rule_matches(x->rule, repos.v[i], NULL))
			push_prune(x, repos.v[i]);
	work_dispose(&w);
	names_dispose(&repos);
}

/* ---- pull ---- */

/* Pull one tag (if the rule takes it) unless this server has the same manifest. */
static void pull_tag(run *x, const char *repo, const char *tag)
{
	berth_meta_manifest info;
	berth_digest remote_digest;
	char src[4300], dst[4300], hex[160];
	uint64_t size;
	int rc, have;

	if (berth_client_is_referrers_tag(tag))
		return; /* the source's referrers tag schema: they come with their subject */
	if ((rc = berth_client_manifest_head(x->client, repo, tag, &remote_digest, NULL, 0,
					     &size)) < 0) {
		record(x, repo, ":", tag, NULL, "failed", berth_error_last());
		return;
	}
	if (!tag_selected_on(x, x->client, repo, tag, &remote_digest))
		return;
	snprintf(hex, sizeof(hex), "%s", remote_digest.str);
	have = berth_meta_manifest_get(x->r->meta, repo, tag, &info, NULL) == 0;
	if (have && berth_digest_equal(&info.digest, &remote_digest)) {
		record(x, repo, ":", tag, hex, "skipped", "same digest here");
	} else if (have && !x->rule->override) {
		record(x, repo, ":", tag, hex, "skipped", "differs here; override is off");
		return;
	} else {
		snprintf(src, sizeof(src), "docker://%s/%s:%s", x->remote, repo, tag);
		snprintf(dst, sizeof(dst), "docker://%s/%s:%s", x->r->self, repo, tag);
		if (copy_image(x, src, dst, 0, NULL) < 0) {
			record(x, repo, ":", tag, hex, "failed", berth_error_last());
			return;
		}
		record(x, repo, ":", tag, hex, "copied", NULL);
	}
	copy_referrers(x, repo, &remote_digest);
}

/* The source's repositories: its catalog, page by page (Distribution allows n <= 1000). */
static int remote_catalog(run *x, names *out)
{
	berth_buf body = BERTH_BUF_INIT(CATALOG_MAX);
	char path[1200];
	int rc = 0;

	for (size_t page = 0; page < CATALOG_PAGES; page++) {
		json_t *root, *arr, *v;
		size_t i, n;

		if (out->n)
			snprintf(path, sizeof(path), "/v2/_catalog?n=%d&last=%.1000s", CATALOG_PAGE,
				 out->v[out->n - 1]);
		else
			snprintf(path, sizeof(path), "/v2/_catalog?n=%d", CATALOG_PAGE);
		berth_buf_reset(&body);
		if ((rc = berth_client_api(x->client, "GET", path, NULL, &body, NULL)) < 0)
			break;
		root = json_loadb(body.ptr ? body.ptr : "", body.len, 0, NULL);
		arr = json_object_get(root, "repositories");
		if (!json_is_array(arr)) {
			json_decref(root);
			rc = berth_error_set(BERTH_EINVALID,
					     "the source's catalog is not readable");
			break;
		}
		n = json_array_size(arr);
		json_array_foreach(arr, i, v)
		{
			if (json_is_string(v) && (rc = names_add(out, json_string_value(v))) < 0)
				break;
		}
		json_decref(root);
		if (rc < 0 || n < CATALOG_PAGE)
			break;
	}
	berth_buf_dispose(&body);
	return rc;
}

static void pull_all(run *x)
{
	names repos = {0};
	work w = {.fn = pull_tag, .x = x};
	int rc = 0;

	w.repos.max = w.tags.max = WORK_MAX;
	if (remote_catalog(x, &repos) < 0) {
		record(x, "*", "", "", NULL, "failed", berth_error_last());
		names_dispose(&repos);
		return;
	}
	for (size_t i = 0; i < repos.n && rc == 0; i++) {
		names tags = {0};
		const char *repo = repos.v[i];

		if (!berth_repl_rule_matches(x->rule, repo, NULL))
			continue;
		if (berth_client_tag_list(x->client, repo, &tags) < 0)
			record(x, repo, "", "", NULL, "failed", berth_error_last());
		for (size_t k = 0; k < tags.n && rc == 0; k++)
			if (berth_repl_rule_matches(x->rule, repo, tags.v[k]))
				rc = work_add(&w, repo, tags.v[k]);
		names_dispose(&tags);
	}
	if (rc < 0)
		record(x, "*", "", "", NULL, "failed", berth_error_last());
	work_run(&w);
	work_dispose(&w);
	names_dispose(&repos);
}

/* ---- one execution ---- */

static int read_password(run *x, const berth_repl_registry *reg)
{
	berth_buf b = BERTH_BUF_INIT(PASSWORD_MAX);
	int rc;

	if (!reg || !reg->username)
		return 0; /* the credentials store, looked up by host */
	x->remote_opts.username = reg->username;
	if (reg->password) { /* an API registry's, unsealed */
		if (!(x->password = strdup(reg->password)))
			return berth_error_set(BERTH_ERROR, "out of memory");
		x->remote_opts.password = x->password;
		return 0;
	}
	if (!reg->password_file)
		return 0;
	if ((rc = berth_fs_read_file(&b, reg->password_file)) < 0)
		return berth_error_set(rc, "registry %s: cannot read its password file", reg->name);
	while (b.len && (b.ptr[b.len - 1] == '\n' || b.ptr[b.len - 1] == '\r'))
		b.len--;
	if (!(x->password = strndup(b.ptr ? b.ptr : "", b.len)))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	x->remote_opts.password = x->password;
	if (b.ptr)
		explicit_bzero(b.ptr, b.cap);
	berth_buf_dispose(&b);
	return rc;
}

static int prepare(run *x, const berth_repl_registry *reg)
{
	const char *url = x->rule->remote;
	const char *host = strstr(url, "://") + 3;
	size_t len = strcspn(host, "/");
	int rc;

	pthread_mutex_init(&x->mu, NULL);
	x->have_mu = 1;
	berth_copy_pacer_init(&x->pacer, (uint64_t)x->rule->bandwidth * 1024);
	x->have_pacer = 1;
	if (!(x->blobs = calloc(BLOB_BUCKETS, sizeof(*x->blobs))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	atomic_init(&x->dst_api, -1);
	x->plain = strncmp(url, "http://", 7) == 0;
	snprintf(x->remote, sizeof(x->remote), "%.*s", (int)len, host);
	berth_transport_options_init(&x->local_opts);
	berth_transport_options_init(&x->remote_opts);
	/* This server, as any client reaches it: its own account, its own scheme. */
	x->local_opts.username = x->r->self_username;
	x->local_opts.password = x->r->self_password;
	x->local_opts.plain_http = x->r->self_tls ? -1 : 1;
	if (x->r->self_tls)
		x->local_opts.tls_verify = 0;
	/* The remote's scheme is the rule's URL's, loopback or not. */
	x->remote_opts.plain_http = x->plain ? 1 : -1;
	if (reg && reg->insecure)
		x->remote_opts.tls_verify = 0;
	/* One client per end for the whole execution: its connections and tokens serve every
	 * copy. */
	if ((rc = read_password(x, reg)) < 0 ||
	    (rc = end_client(&x->client, x->remote, &x->remote_opts)) < 0 ||
	    (rc = end_client(&x->self, x->r->self, &x->local_opts)) < 0)
		return rc;
	/* Refused credentials or an unreachable registry fail the execution here, once. */
	return berth_client_ping(x->client);
}

static void finish(run *x, int rc)
{
	char summary[1024];
	const char *status = rc < 0 || x->failed ? "failed" : "succeeded";
	json_t *msg = json_string(rc < 0 ? berth_error_last() : "");
	char *m = msg ? json_dumps(msg, JSON_ENCODE_ANY) : NULL;

	snprintf(summary, sizeof(summary),
		 "{\"copied\":%ld,\"skipped\":%ld,\"deleted\":%ld,\"failed\":%ld,"
		 "\"message\":%.900s}",
		 x->copied, x->skipped, x->deleted, x->failed, m ? m : "\"\"");
	free(m);
	json_decref(msg);
	if (berth_meta_repl_exec_finish(x->r->meta, x->exec_id, status, time(NULL), summary) < 0)
		berth_warn("replication: recording an execution: %s", berth_error_last());
	berth_info("replication: rule %s execution %lld %s (%ld copied, %ld skipped, %ld deleted, "
		   "%ld failed)",
		   x->rule->name, (long long)x->exec_id, status, x->copied, x->skipped, x->deleted,
		   x->failed);
}

static void run_dispose(run *x)
{
	berth_client_free(x->client);
	berth_client_free(x->self);
	if (x->password) {
		explicit_bzero(x->password, strlen(x->password));
		free(x->password);
	}
	for (size_t k = 0; x->blobs && k < BLOB_BUCKETS; k++)
		while (x->blobs[k]) {
			blob_seen *b = x->blobs[k];

			x->blobs[k] = b->next;
			free(b);
		}
	free(x->blobs);
	if (x->have_pacer)
		berth_copy_pacer_dispose(&x->pacer);
	if (x->have_mu)
		pthread_mutex_destroy(&x->mu);
}

int berth_replicate__ping(berth_replicator *r, const berth_repl_rule *rule,
			  const berth_repl_registry *reg)
{
	run x = {.r = r, .rule = rule};
	int rc = prepare(&x, reg);

	run_dispose(&x);
	return rc;
}

void berth_replicate__execute(berth_replicator *r, const berth_repl_job *job,
			      const berth_repl_rule *rule, const berth_repl_registry *reg)
{
	run x = {.r = r, .rule = rule};
	int rc;

	if (berth_meta_repl_exec_start(r->meta, rule->name, job->trigger, time(NULL), &x.exec_id) <
	    0) {
		berth_err("replication: rule %s: %s", rule->name, berth_error_last());
		return;
	}
	/* Other processes leave it alone while this one is alive. */
	if (berth_meta_repl_exec_hold(r->meta, x.exec_id, r->holder) < 0)
		berth_warn("replication: rule %s: %s", rule->name, berth_error_last());
	if ((rc = prepare(&x, reg)) == 0) {
		if (rule->pull)
			pull_all(&x);
		else
			push_all(&x, job);
		if (x.full) {
			time_t at = berth_replicate__retry_later(r, rule->name);

			rc = berth_error_set(
				BERTH_ENOSPC,
				"stopped: the %s is full: %.300s; %ld artifact(s) "
				"copied before; a retry run is queued for %lld (Unix "
				"time), and any later run resumes where this one stopped",
				rule->pull ? "local registry" : "target", x.full_msg, x.copied,
				(long long)at);
		}
	} else {
		char msg[600];

		snprintf(msg, sizeof(msg), "%s: %s", rule->remote, berth_error_last());
		rc = berth_error_set(rc, "%s", msg);
	}
	finish(&x, rc);
	run_dispose(&x);
}
