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
#include <openssl/crypto.h>
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

typedef struct names {
	char **v;
	size_t n, cap;
} names;

static int names_add(void *ctx, const char *name)
{
	names *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return berth_error_set(BERTH_ERROR, "out of memory");
		l->v = v;
		l->cap = cap;
	}
	if (!(l->v[l->n] = strdup(name)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	l->n++;
	return 0;
}

static int names_has(const names *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], name) == 0)
			return 1;
	return 0;
}

static void names_dispose(names *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* What one execution works with. */
typedef struct run {
	berth_replicator *r;
	const berth_repl_rule *rule;
	int64_t exec_id;
	char remote[BERTH_REPLICATE_URL_MAX]; /* host[:port] */
	int plain;			      /* http:// */
	berth_transport_options local_opts, remote_opts;
	char *password;	      /* wiped */
	berth_client *client; /* the remote */
	berth_client *self;   /* this server as a client sees it (label filters), made on use */
	long copied, skipped, deleted, failed;
	int full;	    /* the destination is out of space: stop */
	char full_msg[512]; /* why, from the first such failure */
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
	if (strcmp(status, "copied") == 0)
		x->copied++;
	else if (strcmp(status, "skipped") == 0)
		x->skipped++;
	else if (strcmp(status, "deleted") == 0)
		x->deleted++;
	else
		x->failed++;
	if (berth_meta_repl_result_add(x->r->meta, &res) < 0)
		berth_warn("replication: recording a result: %s", berth_error_last());
}

/* The remote registry's client, for what the copy engine does not do (tags, deletes). */
static int remote_client(run *x)
{
	berth_client_options o;

	berth_client_options_init(&o);
	o.host = x->remote;
	o.plain_http = x->remote_opts.plain_http;
	o.tls_verify = x->remote_opts.tls_verify;
	o.username = x->remote_opts.username;
	o.password = x->remote_opts.password;
	return berth_client_new(&x->client, &o);
}

/* One copy, whole image (every platform), retried with backoff. */
static int copy_image(run *x, const char *src, const char *dst, int push, berth_digest *digest)
{
	berth_image_name *s = NULL, *d = NULL;
	berth_copy_options co;
	int rc;

	berth_copy_options_init(&co);
	co.all = 1;
	co.parallel = (int)x->rule->concurrency;
	co.bandwidth = (uint64_t)x->rule->bandwidth * 1024;
	if ((rc = berth_image_name_parse(&s, src)) < 0 ||
	    (rc = berth_image_name_parse(&d, dst)) < 0)
		goto done;
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
	if (rc == BERTH_ENOSPC && !x->full) {
		x->full = 1;
		snprintf(x->full_msg, sizeof(x->full_msg), "%s", berth_error_last());
		berth_error_set(rc, "%s", x->full_msg);
	}
done:
	berth_image_name_free(s);
	berth_image_name_free(d);
	return rc;
}

typedef struct referrer_list {
	names digests;
} referrer_list;

static int collect_referrer(void *ctx, const berth_meta_referrer *ref)
{
	referrer_list *l = ctx;

	return l->digests.n >= REFERRERS_MAX ? 1 : names_add(&l->digests, ref->digest);
}

/* Push the referrers of `subject` (signatures, SBOMs, attestations) by digest. */
static void push_referrers(run *x, const char *repo, const berth_digest *subject, int depth)
{
	referrer_list l = {{0}};
	char src[4300], dst[4300];

	if (depth > 2 ||
	    berth_meta_referrers(x->r->meta, repo, subject, NULL, collect_referrer, &l) < 0) {
		names_dispose(&l.digests);
		return;
	}
	for (size_t i = 0; i < l.digests.n && !x->full; i++) {
		berth_digest d, got;
		uint64_t size;
		const char *dg = l.digests.v[i];

		if (berth_digest_parse(&d, dg, strlen(dg)) < 0)
			continue;
		if (berth_client_manifest_head(x->client, repo, dg, &got, NULL, 0, &size) == 0) {
			record(x, repo, "@", dg, dg, "skipped", "referrer already there");
		} else {
			snprintf(src, sizeof(src), "docker://%s/%s@%s", x->r->self, repo, dg);
			snprintf(dst, sizeof(dst), "docker://%s/%s@%s", x->remote, repo, dg);
			if (copy_image(x, src, dst, 1, NULL) < 0)
				record(x, repo, "@", dg, dg, "failed", berth_error_last());
			else
				record(x, repo, "@", dg, dg, "copied", "referrer");
		}
		push_referrers(x, repo, &d, depth + 1);
	}
	names_dispose(&l.digests);
}

/* Push one tag unless the destination has the same manifest. */
static void push_tag(run *x, const char *repo, const char *tag)
{
	berth_meta_manifest info;
	berth_digest remote_digest, copied;
	char src[4300], dst[4300], local_hex[160];
	uint64_t size;
	int have;

	if (berth_meta_manifest_get(x->r->meta, repo, tag, &info, NULL) < 0)
		return; /* deleted meanwhile */
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
	push_referrers(x, repo, &info.digest, 0);
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

/* ---- label filters: the image's annotations and config labels ---- */

static int buf_sink(void *ctx, const void *data, size_t len)
{
	return berth_buf_put(ctx, data, len) < 0
		       ? berth_error_set(BERTH_ETOOBIG, "image config larger than %zu bytes",
					 (size_t)BERTH_CONFIG_MAX)
		       : 0;
}

/* 1 if `obj` (annotations or Labels) holds `key` (with `value`, when given). */
static int labels_hold(json_t *obj, const char *key, const char *value)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) && (!value || strcmp(json_string_value(v), value) == 0);
}

/*
 * 1 if the image `ref` carries the label: in its manifest's annotations or
 * its config's Labels; for an index, in the index's annotations or in any
 * child's. 0 if not, negative if it cannot be read.
 */
static int image_labelled(berth_client *c, const char *repo, const char *ref, const char *key,
			  const char *value, int depth)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_MAX), cfg = BERTH_BUF_INIT(BERTH_CONFIG_MAX);
	char mt[256];
	berth_digest d;
	json_t *root = NULL, *desc;
	const char *dig;
	int rc;

	if ((rc = berth_client_manifest_get(c, repo, ref, &body, mt, sizeof(mt), &d)) < 0)
		goto done;
	if (!(root = json_loadb(body.ptr ? body.ptr : "", body.len, 0, NULL))) {
		rc = berth_error_set(BERTH_EINVALID, "%s:%s: manifest is not JSON", repo, ref);
		goto done;
	}
	if ((rc = labels_hold(json_object_get(root, "annotations"), key, value)))
		goto done;
	if (json_is_array(json_object_get(root, "manifests"))) {
		size_t i;

		json_array_foreach(json_object_get(root, "manifests"), i, desc)
		{
			const char *child = json_string_value(json_object_get(desc, "digest"));

			if (depth < 2 && child &&
			    (rc = image_labelled(c, repo, child, key, value, depth + 1)) != 0)
				goto done;
		}
		goto done;
	}
	desc = json_object_get(root, "config");
	dig = json_string_value(json_object_get(desc, "digest"));
	if (!dig || berth_digest_parse(&d, dig, strlen(dig)) < 0)
		goto done; /* an artifact without an image config: annotations only */
	if ((rc = berth_client_blob_get(c, repo, &d,
					json_integer_value(json_object_get(desc, "size")), buf_sink,
					&cfg)) < 0)
		goto done;
	json_decref(root);
	if (!(root = json_loadb(cfg.ptr ? cfg.ptr : "", cfg.len, 0, NULL))) {
		rc = berth_error_set(BERTH_EINVALID, "%s:%s: image config is not JSON", repo, ref);
		goto done;
	}
	rc = labels_hold(json_object_get(json_object_get(root, "config"), "Labels"), key, value);
done:
	json_decref(root);
	berth_buf_dispose(&body);
	berth_buf_dispose(&cfg);
	return rc;
}

/* This server as a client: its own account, its own scheme (see prepare). */
static berth_client *self_client(run *x)
{
	berth_client_options o;

	if (x->self)
		return x->self;
	berth_client_options_init(&o);
	o.host = x->r->self;
	o.plain_http = x->local_opts.plain_http;
	o.tls_verify = x->local_opts.tls_verify;
	o.username = x->local_opts.username;
	o.password = x->local_opts.password;
	if (berth_client_new(&x->self, &o) < 0)
		x->self = NULL;
	return x->self;
}

/*
 * Does the rule take repo:tag? Name filters first; then each label filter
 * (`key` or `key=value`) against the image where it is: `c` (the remote
 * for pulls and for deletions at the destination, NULL for this server).
 */
static int tag_selected_on(run *x, berth_client *c, const char *repo, const char *tag)
{
	if (!berth_repl_rule_matches(x->rule, repo, tag))
		return 0;
	for (size_t i = 0; i < x->rule->nfilters; i++) {
		const char *label = x->rule->filters[i].label;
		char key[257];
		const char *eq;
		int rc;

		if (!label)
			continue;
		eq = strchr(label, '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq ? (size_t)(eq - label) : strlen(label)),
			 label);
		if (!c && !(c = self_client(x)))
			rc = BERTH_ERROR;
		else
			rc = image_labelled(c, repo, tag, key, eq ? eq + 1 : NULL, 0);
		if (rc < 0)
			record(x, repo, ":", tag, NULL, "failed", berth_error_last());
		if (rc != 1)
			return 0;
	}
	return 1;
}

static int tag_selected(run *x, const char *repo, const char *tag)
{
	return tag_selected_on(x, x->rule->pull ? x->client : NULL, repo, tag);
}

/* Tags at the destination that are gone here (and pass the filters). */
static void push_prune(run *x, const char *repo, const names *local_tags)
{
	names remote = {0};

	if (berth_client_tags(x->client, repo, names_add, &remote) < 0) {
		names_dispose(&remote);
		return;
	}
	for (size_t i = 0; i < remote.n; i++)
		if (!names_has(local_tags, remote.v[i]) &&
		    tag_selected_on(x, x->client, repo, remote.v[i]))
			push_delete(x, repo, remote.v[i]);
	names_dispose(&remote);
}

static void push_repo(run *x, const char *repo)
{
	names tags = {0};

	if (berth_meta_tags(x->r->meta, repo, NULL, -1, names_add, &tags, NULL) < 0) {
		record(x, repo, "", "", NULL, "failed", berth_error_last());
		names_dispose(&tags);
		return;
	}
	for (size_t i = 0; i < tags.n && !x->full; i++)
		if (tag_selected(x, repo, tags.v[i]))
			push_tag(x, repo, tags.v[i]);
	if (x->rule->delete &&!x->full)
		push_prune(x, repo, &tags);
	names_dispose(&tags);
}

static void push_all(run *x, const berth_repl_job *job)
{
	names repos = {0};

	if (job->repo) {
		if (job->deleted)
			push_delete(x, job->repo, job->reference);
		else if (strchr(job->reference, ':'))
			push_repo(x, job->repo);
		else if (tag_selected(x, job->repo, job->reference))
			push_tag(x, job->repo, job->reference);
		return;
	}
	if (berth_meta_catalog(x->r->meta, NULL, -1, names_add, &repos, NULL) < 0) {
		record(x, "*", "", "", NULL, "failed", berth_error_last());
		return;
	}
	for (size_t i = 0; i < repos.n && !x->full; i++)
		if (berth_repl_rule_matches(x->rule, repos.v[i], NULL))
			push_repo(x, repos.v[i]);
	names_dispose(&repos);
}

/* ---- pull ---- */

static void pull_tag(run *x, const char *repo, const char *tag)
{
	berth_meta_manifest info;
	berth_digest remote_digest;
	char src[4300], dst[4300], hex[160];
	uint64_t size;
	int rc;

	if ((rc = berth_client_manifest_head(x->client, repo, tag, &remote_digest, NULL, 0,
					     &size)) < 0) {
		record(x, repo, ":", tag, NULL, "failed", berth_error_last());
		return;
	}
	snprintf(hex, sizeof(hex), "%s", remote_digest.str);
	if (berth_meta_manifest_get(x->r->meta, repo, tag, &info, NULL) == 0) {
		if (berth_digest_equal(&info.digest, &remote_digest)) {
			record(x, repo, ":", tag, hex, "skipped", "same digest here");
			return;
		}
		if (!x->rule->override) {
			record(x, repo, ":", tag, hex, "skipped", "differs here; override is off");
			return;
		}
	}
	snprintf(src, sizeof(src), "docker://%s/%s:%s", x->remote, repo, tag);
	snprintf(dst, sizeof(dst), "docker://%s/%s:%s", x->r->self, repo, tag);
	if (copy_image(x, src, dst, 0, NULL) < 0)
		record(x, repo, ":", tag, hex, "failed", berth_error_last());
	else
		record(x, repo, ":", tag, hex, "copied", NULL);
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

	if (remote_catalog(x, &repos) < 0) {
		record(x, "*", "", "", NULL, "failed", berth_error_last());
		names_dispose(&repos);
		return;
	}
	for (size_t i = 0; i < repos.n && !x->full; i++) {
		names tags = {0};
		const char *repo = repos.v[i];

		if (!berth_repl_rule_matches(x->rule, repo, NULL))
			continue;
		if (berth_client_tags(x->client, repo, names_add, &tags) < 0)
			record(x, repo, "", "", NULL, "failed", berth_error_last());
		for (size_t k = 0; k < tags.n && !x->full; k++)
			if (tag_selected(x, repo, tags.v[k]))
				pull_tag(x, repo, tags.v[k]);
		names_dispose(&tags);
	}
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
		OPENSSL_cleanse(b.ptr, b.cap);
	berth_buf_dispose(&b);
	return rc;
}

static int prepare(run *x, const berth_repl_registry *reg)
{
	const char *url = x->rule->remote;
	const char *host = strstr(url, "://") + 3;
	size_t len = strcspn(host, "/");
	int rc;

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
	if ((rc = read_password(x, reg)) < 0 || (rc = remote_client(x)) < 0)
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
		OPENSSL_cleanse(x->password, strlen(x->password));
		free(x->password);
	}
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
