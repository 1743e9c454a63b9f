/*
 * policy.c - the signature policy as the registry's manifest gate: the
 * projects' key sets (loaded from meta, reloaded when the policy generation
 * read with a manifest differs from the one loaded), the verdict cache, the
 * refusal's message and its audit record. Verification itself is verify.c.
 *
 * The hot path, a manifest GET in a project without a policy: one atomic
 * load when no project has a policy at this generation; otherwise a read
 * lock and a binary search of the (few) projects that have one. With a
 * policy, a cached verdict costs a hash of the repository and digest and
 * one short critical section; nothing is allocated.
 */
#include "lib/policy/internal.h"

#include "berth/ref.h"
#include "util/hash.h"
#include "util/log.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Verdict cache slots (a power of two); one verdict a slot, the newest wins. */
#define CACHE_SLOTS 4096
/* Repository names longer than this are verified each time rather than cached. */
#define CACHE_REPO_MAX 255

typedef struct project_policy {
	char *name;
	berth_sign_key **keys;
	size_t nkeys;
	unsigned char fp[32]; /* SHA-256 of the key text: the key set's identity */
} project_policy;

typedef struct cache_slot {
	int verdict; /* berth_policy__verdict; NONE = empty */
	int64_t generation, policy_generation;
	unsigned char fp[32];
	char digest[BERTH_DIGEST_MAX];
	char repo[CACHE_REPO_MAX + 1];
} cache_slot;

struct berth_policy {
	berth_meta *meta;
	berth_store *store;

	pthread_rwlock_t lock; /* guards the project table below */
	int loaded;
	int64_t generation; /* of the loaded table */
	project_policy *projects;
	size_t nprojects;
	/* the generation at which no project has a policy, or -1 */
	_Atomic int64_t empty_generation;

	pthread_mutex_t cache_lock;
	cache_slot *cache;

	atomic_ulong checks, hits, verifications, refusals;
};

static void projects_free(project_policy *pp, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < pp[i].nkeys; k++)
			berth_sign_key_free(pp[i].keys[k]);
		free(pp[i].keys);
		free(pp[i].name);
	}
	free(pp);
}

int berth_policy_new(berth_policy **out, berth_meta *meta, berth_store *store)
{
	berth_policy *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p || !(p->cache = calloc(CACHE_SLOTS, sizeof(*p->cache)))) {
		free(p);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	p->meta = meta;
	p->store = store;
	pthread_rwlock_init(&p->lock, NULL);
	pthread_mutex_init(&p->cache_lock, NULL);
	atomic_init(&p->empty_generation, -1);
	*out = p;
	return 0;
}

void berth_policy_free(berth_policy *p)
{
	if (!p)
		return;
	projects_free(p->projects, p->nprojects);
	pthread_rwlock_destroy(&p->lock);
	pthread_mutex_destroy(&p->cache_lock);
	free(p->cache);
	free(p);
}

void berth_policy_get_stats(berth_policy *p, berth_policy_stats *out)
{
	out->checks = atomic_load(&p->checks);
	out->cache_hits = atomic_load(&p->hits);
	out->verifications = atomic_load(&p->verifications);
	out->refusals = atomic_load(&p->refusals);
}

int berth_policy_keys_check(const char *keys, size_t *n)
{
	berth_sign_key **arr = NULL;
	size_t count = 0;
	int rc = berth_policy__keys_parse(keys, &arr, &count, BERTH_POLICY_KEYS_MAX);

	for (size_t i = 0; i < count; i++)
		berth_sign_key_free(arr[i]);
	free(arr);
	if (n)
		*n = rc == 0 ? count : 0;
	return rc;
}

/* ---- the project table ---- */

typedef struct load_ctx {
	project_policy *pp;
	size_t n, cap;
	int rc;
} load_ctx;

static int load_one(void *ctx, const char *project, const char *keys)
{
	load_ctx *l = ctx;
	project_policy *pp;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;

		if (!(pp = realloc(l->pp, cap * sizeof(*pp)))) {
			l->rc = berth_error_set(BERTH_ERROR, "out of memory");
			return -1;
		}
		l->pp = pp;
		l->cap = cap;
	}
	pp = &l->pp[l->n];
	memset(pp, 0, sizeof(*pp));
	if (!(pp->name = strdup(project))) {
		l->rc = berth_error_set(BERTH_ERROR, "out of memory");
		return -1;
	}
	l->n++;
	EVP_Digest(keys, strlen(keys), pp->fp, NULL, EVP_sha256(), NULL);
	/*
	 * Keys that no longer parse (they were checked when set) leave the
	 * policy in force with no key: every manifest is refused, never served
	 * unchecked.
	 */
	if (berth_policy__keys_parse(keys, &pp->keys, &pp->nkeys, BERTH_POLICY_KEYS_MAX) < 0)
		berth_warn("signature policy of project %s: %s; every pull is refused", project,
			   berth_error_last());
	return 0;
}

/* Reload the table if it is not at `generation` (write lock). */
static int reload(berth_policy *p, int64_t generation)
{
	load_ctx l = {NULL, 0, 0, 0};
	int64_t gen = 0;
	int rc = 0;

	pthread_rwlock_wrlock(&p->lock);
	if (p->loaded && p->generation >= generation)
		goto done; /* another thread did it */
	rc = berth_meta_policies(p->meta, &gen, load_one, &l);
	if (rc == 0 && l.rc)
		rc = l.rc;
	if (rc < 0) {
		projects_free(l.pp, l.n);
		goto done;
	}
	projects_free(p->projects, p->nprojects);
	p->projects = l.pp; /* in name order, as listed */
	p->nprojects = l.n;
	p->generation = gen;
	p->loaded = 1;
	atomic_store(&p->empty_generation, l.n ? -1 : gen);
done:
	pthread_rwlock_unlock(&p->lock);
	return rc;
}

/* The policy of project [name, name+len) in the loaded table, or NULL. */
static const project_policy *find_project(const berth_policy *p, const char *name, size_t len)
{
	size_t lo = 0, hi = p->nprojects;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *pn = p->projects[mid].name;
		int c = strncmp(pn, name, len);

		if (c == 0)
			c = pn[len] ? 1 : 0;
		if (c == 0)
			return &p->projects[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- the verdict cache ---- */

static size_t slot_of(const char *repo, const berth_digest *d)
{
	uint64_t h = berth_fnv1a_str(BERTH_FNV1A_INIT, repo);

	h = berth_fnv1a_str(berth_fnv1a(h, "@", 1), d->str);
	return (size_t)(h & (CACHE_SLOTS - 1));
}

static int cache_get(berth_policy *p, const char *repo, const berth_meta_manifest *info,
		     const project_policy *pp)
{
	cache_slot *s;
	int v = BERTH_POLICY__NONE;

	if (strlen(repo) > CACHE_REPO_MAX)
		return v;
	s = &p->cache[slot_of(repo, &info->digest)];
	pthread_mutex_lock(&p->cache_lock);
	if (s->verdict != BERTH_POLICY__NONE && s->generation == info->generation &&
	    s->policy_generation == info->policy_generation && memcmp(s->fp, pp->fp, 32) == 0 &&
	    strcmp(s->digest, info->digest.str) == 0 && strcmp(s->repo, repo) == 0)
		v = s->verdict;
	pthread_mutex_unlock(&p->cache_lock);
	return v;
}

static void cache_put(berth_policy *p, const char *repo, const berth_meta_manifest *info,
		      const project_policy *pp, int verdict)
{
	cache_slot *s;

	if (strlen(repo) > CACHE_REPO_MAX)
		return;
	s = &p->cache[slot_of(repo, &info->digest)];
	pthread_mutex_lock(&p->cache_lock);
	s->verdict = verdict;
	s->generation = info->generation;
	s->policy_generation = info->policy_generation;
	memcpy(s->fp, pp->fp, 32);
	snprintf(s->digest, sizeof(s->digest), "%s", info->digest.str);
	snprintf(s->repo, sizeof(s->repo), "%s", repo);
	pthread_mutex_unlock(&p->cache_lock);
}

/* ---- the gate ---- */

static void refuse(const berth_meta_manifest *info, const project_policy *pp, int verdict,
		   berth_authz_refusal *out)
{
	out->status = 403;
	out->code = "DENIED";
	out->challenge[0] = '\0';
	snprintf(out->message, sizeof(out->message),
		 "signature policy of project %.64s (require-signature, %zu key%s): %s %.80s",
		 pp->name, pp->nkeys, pp->nkeys == 1 ? "" : "s",
		 verdict == BERTH_POLICY__INVALID
			 ? "no signature verifies with the project's keys for"
			 : "no signature for",
		 info->digest.str);
}

/* The refusal stands (the caller may not push): count it and audit it. */
static void gate_refused(void *ctx, const berth_req *req, const char *repo,
			 const berth_meta_manifest *info, const berth_authz_refusal *out)
{
	char resource[BERTH_NAME_MAX + BERTH_DIGEST_MAX + 2];
	berth_policy *p = ctx;
	berth_meta_audit e = {0};

	atomic_fetch_add(&p->refusals, 1);
	snprintf(resource, sizeof(resource), "%s@%s", repo, info->digest.str);
	e.who = req && req->account && *req->account ? req->account : "anonymous";
	e.action = "pull";
	e.resource = resource;
	e.address = req ? req->remote_addr : NULL;
	e.result = strstr(out->message, "verifies") ? "denied: signature policy (invalid signature)"
						    : "denied: signature policy (unsigned)";
	if (berth_meta_audit_add(p->meta, &e) < 0)
		berth_warn("audit: %s", berth_error_last());
}

/* Decide with the table read-locked and `pp` the repository's project policy. */
static int decide(berth_policy *p, const char *repo, const berth_meta_manifest *info,
		  const project_policy *pp, berth_authz_refusal *out)
{
	berth_policy__verdict verdict;
	int rc, v;

	atomic_fetch_add(&p->checks, 1);
	v = cache_get(p, repo, info, pp);
	if (v != BERTH_POLICY__NONE) {
		atomic_fetch_add(&p->hits, 1);
	} else {
		atomic_fetch_add(&p->verifications, 1);
		rc = berth_policy__verify(p->meta, p->store, repo, &info->digest, pp->keys,
					  pp->nkeys, &verdict);
		if (rc < 0)
			return rc;
		v = (int)verdict;
		cache_put(p, repo, info, pp, v);
	}
	if (v == BERTH_POLICY__SIGNED || v == BERTH_POLICY__ARTIFACT)
		return 0;
	refuse(info, pp, v, out);
	return 1;
}

static int gate_check(void *ctx, const berth_req *req, const char *repo,
		      const berth_meta_manifest *info, berth_authz_refusal *out)
{
	berth_policy *p = ctx;
	const project_policy *pp;
	const char *slash = strchr(repo, '/');
	int rc;

	(void)req; /* who asks matters to the registry (pushers read), not to the verdict */
	/* The fast path: no project has a policy at this generation. */
	if (atomic_load(&p->empty_generation) == info->policy_generation)
		return 0;
	pthread_rwlock_rdlock(&p->lock);
	if (!p->loaded || p->generation != info->policy_generation) {
		pthread_rwlock_unlock(&p->lock);
		if ((rc = reload(p, info->policy_generation)) < 0)
			return rc;
		if (atomic_load(&p->empty_generation) == info->policy_generation)
			return 0;
		pthread_rwlock_rdlock(&p->lock);
	}
	/* As in access control, a repository's project is its first path component. */
	pp = slash ? find_project(p, repo, (size_t)(slash - repo)) : NULL;
	rc = pp ? decide(p, repo, info, pp, out) : 0;
	pthread_rwlock_unlock(&p->lock);
	return rc;
}

void berth_policy_gate(berth_policy *p, berth_registry_gate *out)
{
	memset(out, 0, sizeof(*out));
	out->check = gate_check;
	out->refused = gate_refused;
	out->ctx = p;
}
