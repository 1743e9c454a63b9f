/*
 * meta.c - the public metadata API (include/berth/meta.h): picks a driver
 * from the location, checks arguments once for every driver, and dispatches
 * to the shared queries (queries.c, query.h) or through the driver table
 * (internal.h).
 *
 * Length caps on names live here so that every driver refuses the same
 * oversized input with the same error before it reaches a database.
 */
#include "lib/meta/query.h"

#include "berth/oci.h"
#include "berth/ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Hard caps on strings that reach the metadata store from the network. */
#define MEDIA_TYPE_MAX 255 /* berth_meta_manifest.media_type holds 255 + NUL */
#define UPLOAD_ID_MAX 256
/* Access control: names fit the 256-byte fields of the result structs. */
#define HASH_MAX 127		    /* bcrypt is 60; the structs hold 127 + NUL */
#define PERMISSIONS_MAX (64u << 10) /* a robot's JSON permission list */
#define LOGIN_KEY_MAX 1024	    /* "user:<name>" or "addr:<ip>" */
#define AUDIT_WHO_MAX 512
#define AUDIT_WORD_MAX 128 /* action, result */
#define AUDIT_RESOURCE_MAX 4096
#define AUDIT_ADDRESS_MAX 256

static const berth_meta_driver *const drivers[] = {
	&berth_meta__sqlite_driver,
	&berth_meta__pg_driver,
};

/* libpq's own URI scheme is an alias of the postgres driver's. */
static int scheme_is(const berth_meta_driver *drv, const char *s, size_t len)
{
	if (strlen(drv->scheme) == len && memcmp(drv->scheme, s, len) == 0)
		return 1;
	return drv == &berth_meta__pg_driver && len == 10 && memcmp(s, "postgresql", 10) == 0;
}

static int check_str(const char *s, size_t max, const char *what)
{
	size_t len;

	if (!s || !*s)
		return berth_error_set(BERTH_EINVALID, "metadata: empty %s", what);
	len = strnlen(s, max + 1);
	if (len > max)
		return berth_error_set(BERTH_EINVALID, "metadata: %s longer than %zu bytes", what,
				       max);
	return 0;
}

static int check_digest(const berth_digest *d)
{
	if (!d || !d->str[0])
		return berth_error_set(BERTH_EINVALID, "metadata: missing digest");
	if (strnlen(d->str, sizeof(d->str)) == sizeof(d->str))
		return berth_error_set(BERTH_EINVALID, "metadata: digest not terminated");
	return 0;
}

int berth_meta_open(berth_meta **out, const char *location)
{
	return berth_meta_open_opts(out, location, NULL);
}

int berth_meta_open_opts(berth_meta **out, const char *location, const berth_meta_options *o)
{
	const berth_meta_driver *drv = NULL;
	const char *target = location, *sep;
	berth_meta *m = NULL;
	int rc;

	*out = NULL;
	if (!location || !*location)
		return berth_error_set(BERTH_EINVALID, "metadata: empty location");
	sep = strstr(location, "://");
	if (sep) {
		size_t slen = (size_t)(sep - location);

		for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++) {
			if (scheme_is(drivers[i], location, slen))
				drv = drivers[i];
		}
		if (!drv)
			return berth_error_set(BERTH_EUNSUPPORTED,
					       "metadata: driver '%.*s' is not supported (use "
					       "sqlite://<path>, a file path or postgres://...)",
					       (int)(slen > 32 ? 32 : slen), location);
		target = drv->full_location ? location : sep + 3;
		if (!*(sep + 3))
			return berth_error_set(BERTH_EINVALID, "metadata: location has no path");
	} else if (strncmp(location, "postgres:", 9) == 0) {
		/* a libpq keyword DSN: "postgres:host=db dbname=registry" */
		drv = &berth_meta__pg_driver;
		target = location + 9;
	} else {
		/* A plain path means the default driver. */
		drv = drivers[0];
	}
	if (!*target)
		return berth_error_set(BERTH_EINVALID, "metadata: location has no path");

	m = calloc(1, sizeof(*m));
	if (!m)
		return berth_error_set(BERTH_ERROR, "out of memory");
	m->drv = drv;
	if ((rc = drv->open(&m->impl, target, o)) != 0)
		goto done;
	*out = m;
	/* now owned by the caller */ m = NULL;
done:
	free(m);
	return rc;
}

void berth_meta_free(berth_meta *m)
{
	if (!m)
		return;
	m->drv->free(m->impl);
	free(m);
}

int berth_meta_schema_version(berth_meta *m)
{
	return m->drv->schema_version(m->impl);
}

int berth_meta_repo_exists(berth_meta *m, const char *repo)
{
	int rc = check_str(repo, BERTH_NAME_MAX, "repository name");

	return rc ? rc : m->drv->repo_exists(m->impl, repo);
}

int berth_meta_blob_link(berth_meta *m, const char *repo, const berth_digest *d, uint64_t size)
{
	int rc;

	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (rc = check_digest(d)) != 0)
		return rc;
	if (size > INT64_MAX)
		return berth_error_set(BERTH_EINVALID, "metadata: blob size out of range");
	return m->drv->blob_link(m->impl, repo, d, size);
}

int berth_meta_blob_linked(berth_meta *m, const char *repo, const berth_digest *d, uint64_t *size)
{
	int rc;

	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (rc = check_digest(d)) != 0)
		return rc;
	return m->drv->blob_linked(m->impl, repo, d, size);
}

int berth_meta_blob_repos(berth_meta *m, const berth_digest *d, berth_meta_repo_cb cb, void *ctx)
{
	int rc = check_digest(d);

	return rc ? rc : berth_meta__blob_repos(m, d, cb, ctx);
}

int berth_meta_blob_referenced(berth_meta *m, const berth_digest *d)
{
	int rc = check_digest(d);

	return rc ? rc : m->drv->blob_referenced(m->impl, d);
}

int berth_meta_blob_marked(berth_meta *m, const berth_digest *d, time_t cutoff)
{
	int rc = check_digest(d);

	return rc ? rc : berth_meta__blob_marked(m, d, cutoff);
}

/* Rows per page of berth_meta_gc_links' walk. */
#define GC_LINKS_PAGE 500

struct gc_walk {
	berth_meta *m;
	time_t cutoff;
	int dry_run;
	berth_meta_link_cb cb;
	void *ctx;
	int64_t last_repo;
	char last_digest[BERTH_DIGEST_MAX + 1];
	long rows;
	int stop; /* the caller's callback said stop (its value, if negative, is rc) */
};

static int gc_walk_row(void *ctx, int64_t repo_id, const char *repo, const char *digest)
{
	struct gc_walk *w = ctx;
	int rc, gone = 1;

	w->rows++;
	w->last_repo = repo_id;
	snprintf(w->last_digest, sizeof(w->last_digest), "%s", digest);
	if (!w->dry_run &&
	    (rc = berth_meta__gc_unlink(w->m, repo_id, digest, w->cutoff, &gone)) != 0)
		return rc;
	if (gone && w->cb && (rc = w->cb(w->ctx, repo, digest)) != 0) {
		w->stop = 1;
		return rc;
	}
	return 0;
}

int berth_meta_gc_links(berth_meta *m, time_t cutoff, int dry_run, berth_meta_link_cb cb, void *ctx)
{
	struct gc_walk w = {m, cutoff, dry_run, cb, ctx, 0, "", 0, 0};
	int rc;

	do {
		w.rows = 0;
		rc = berth_meta__gc_links(m, cutoff, w.last_repo, w.last_digest, GC_LINKS_PAGE,
					  gc_walk_row, &w);
	} while (rc == 0 && !w.stop && w.rows == GC_LINKS_PAGE);
	return rc;
}

int berth_meta_blob_unlink(berth_meta *m, const char *repo, const berth_digest *d)
{
	int rc;

	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (rc = check_digest(d)) != 0)
		return rc;
	return berth_meta__blob_unlink(m, repo, d);
}

int berth_meta_manifest_store(berth_meta *m, const berth_meta_manifest_put *p)
{
	int rc;

	if ((rc = check_str(p->repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (rc = check_digest(p->digest)) != 0 ||
	    (rc = check_str(p->media_type, MEDIA_TYPE_MAX, "media type")) != 0)
		return rc;
	if (p->artifact_type &&
	    (rc = check_str(p->artifact_type, MEDIA_TYPE_MAX, "artifact type")) != 0)
		return rc;
	if (p->annotations &&
	    (rc = check_str(p->annotations, BERTH_MANIFEST_CEILING, "annotations")) != 0)
		return rc;
	if (p->subject && (rc = check_digest(p->subject)) != 0)
		return rc;
	if (p->tag && (rc = check_str(p->tag, BERTH_TAG_MAX, "tag")) != 0)
		return rc;
	if (p->tag && strchr(p->tag, ':'))
		return berth_error_set(BERTH_EINVALID, "metadata: a tag cannot contain ':'");
	if (!p->body && p->body_len)
		return berth_error_set(BERTH_EINVALID, "metadata: manifest body missing");
	if (p->body_len > INT32_MAX)
		return berth_error_set(BERTH_ETOOBIG, "metadata: manifest too large");
	for (size_t i = 0; i < p->nrefs; i++)
		if ((rc = check_digest(&p->refs[i])) != 0)
			return rc;
	return m->drv->manifest_store(m->impl, p);
}

int berth_meta_manifest_get(berth_meta *m, const char *repo, const char *reference,
			    berth_meta_manifest *info, struct berth_buf *body)
{
	int rc, by_digest;

	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (rc = check_str(reference, BERTH_DIGEST_MAX, "reference")) != 0)
		return rc;
	/* Tags never contain ':', digests always do. */
	by_digest = strchr(reference, ':') != NULL;
	return m->drv->manifest_get(m->impl, repo, reference, by_digest, info, body);
}

int berth_meta_manifest_delete(berth_meta *m, const char *repo, const berth_digest *d)
{
	int rc;

	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (rc = check_digest(d)) != 0)
		return rc;
	return m->drv->manifest_delete(m->impl, repo, d);
}

int berth_meta_tag_delete(berth_meta *m, const char *repo, const char *tag)
{
	int rc;

	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (rc = check_str(tag, BERTH_TAG_MAX, "tag")) != 0)
		return rc;
	return m->drv->tag_delete(m->impl, repo, tag);
}

int berth_meta_tags(berth_meta *m, const char *repo, const char *last, long n,
		    berth_meta_name_cb cb, void *ctx, int *more)
{
	int rc;

	if (more)
		*more = 0;
	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0)
		return rc;
	if (last && *last && (rc = check_str(last, BERTH_NAME_MAX, "last tag")) != 0)
		return rc;
	return m->drv->tags(m->impl, repo, last && *last ? last : NULL, n, cb, ctx, more);
}

int berth_meta_catalog(berth_meta *m, const char *last, long n, berth_meta_name_cb cb, void *ctx,
		       int *more)
{
	int rc;

	if (more)
		*more = 0;
	if (last && *last && (rc = check_str(last, BERTH_NAME_MAX, "last repository")) != 0)
		return rc;
	return m->drv->catalog(m->impl, last && *last ? last : NULL, n, cb, ctx, more);
}

int berth_meta_referrers(berth_meta *m, const char *repo, const berth_digest *subject,
			 const char *artifact_type, berth_meta_referrer_cb cb, void *ctx)
{
	int rc;

	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (rc = check_digest(subject)) != 0)
		return rc;
	if (artifact_type && *artifact_type &&
	    (rc = check_str(artifact_type, MEDIA_TYPE_MAX, "artifact type")) != 0)
		return rc;
	return berth_meta__referrers(
		m, repo, subject, artifact_type && *artifact_type ? artifact_type : NULL, cb, ctx);
}

int berth_meta_upload_create(berth_meta *m, const char *id, const char *repo, time_t started,
			     const char *account)
{
	int rc;

	if ((rc = check_str(id, UPLOAD_ID_MAX, "upload id")) != 0 ||
	    (rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (account && *account && (rc = check_str(account, LOGIN_KEY_MAX, "account")) != 0))
		return rc;
	return berth_meta__upload_create(m, id, repo, started, account);
}

int berth_meta_upload_count(berth_meta *m, const char *repo, const char *account, long *in_repo,
			    long *of_account)
{
	int rc;

	*in_repo = *of_account = 0;
	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (account && *account && (rc = check_str(account, LOGIN_KEY_MAX, "account")) != 0))
		return rc;
	return berth_meta__upload_count(m, repo, account, in_repo, of_account);
}

int berth_meta_upload_check(berth_meta *m, const char *id, const char *repo)
{
	int rc;

	if ((rc = check_str(id, UPLOAD_ID_MAX, "upload id")) != 0 ||
	    (rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0)
		return rc;
	return m->drv->upload_check(m->impl, id, repo);
}

int berth_meta_upload_delete(berth_meta *m, const char *id)
{
	int rc = check_str(id, UPLOAD_ID_MAX, "upload id");

	return rc ? rc : berth_meta__upload_delete(m, id);
}

int berth_meta_upload_stale(berth_meta *m, time_t cutoff, berth_meta_id_cb cb, void *ctx)
{
	return berth_meta__upload_stale(m, cutoff, cb, ctx);
}

/* ---- access control ---- */

int berth_meta_user_create(berth_meta *m, const char *name, const char *password_hash, int sysadmin,
			   int64_t *id_out)
{
	int rc;

	if ((rc = check_str(name, BERTH_META_NAME_MAX, "user name")) != 0 ||
	    (rc = check_str(password_hash, HASH_MAX, "password hash")) != 0)
		return rc;
	return berth_meta__user_create(m, name, password_hash, !!sysadmin, id_out);
}

int berth_meta_user_get(berth_meta *m, const char *name, berth_meta_user *out)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "user name");

	return rc ? rc : berth_meta__user_get(m, name, out);
}

int berth_meta_user_get_by_id(berth_meta *m, int64_t id, berth_meta_user *out)
{
	return berth_meta__user_get_by_id(m, id, out);
}

int berth_meta_user_set_password(berth_meta *m, const char *name, const char *password_hash)
{
	int rc;

	if ((rc = check_str(name, BERTH_META_NAME_MAX, "user name")) != 0 ||
	    (rc = check_str(password_hash, HASH_MAX, "password hash")) != 0)
		return rc;
	return berth_meta__user_set_password(m, name, password_hash);
}

int berth_meta_user_set_disabled(berth_meta *m, const char *name, int disabled)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "user name");

	return rc ? rc : berth_meta__user_set_disabled(m, name, disabled);
}

int berth_meta_user_delete(berth_meta *m, const char *name)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "user name");

	return rc ? rc : berth_meta__user_delete(m, name);
}

int berth_meta_users(berth_meta *m, berth_meta_user_cb cb, void *ctx)
{
	return berth_meta__users(m, cb, ctx);
}

int berth_meta_project_create(berth_meta *m, const char *name, int public)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "project name");

	return rc ? rc : berth_meta__project_create(m, name, !!public);
}

int berth_meta_project_get(berth_meta *m, const char *name, berth_meta_project *out)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "project name");

	return rc ? rc : berth_meta__project_get(m, name, out);
}

int berth_meta_project_set_public(berth_meta *m, const char *name, int public)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "project name");

	return rc ? rc : berth_meta__project_set_public(m, name, !!public);
}

int berth_meta_project_delete(berth_meta *m, const char *name)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "project name");

	return rc ? rc : berth_meta__project_delete(m, name);
}

int berth_meta_projects(berth_meta *m, berth_meta_project_cb cb, void *ctx)
{
	return berth_meta__projects(m, cb, ctx);
}

int berth_meta_project_set_signature_keys(berth_meta *m, const char *name, const char *keys)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "project name");

	if (rc)
		return rc;
	if (!keys)
		keys = "";
	if (strnlen(keys, BERTH_META_SIGNATURE_KEYS_MAX + 1) > BERTH_META_SIGNATURE_KEYS_MAX)
		return berth_error_set(BERTH_EINVALID,
				       "metadata: signature keys longer than %d bytes",
				       BERTH_META_SIGNATURE_KEYS_MAX);
	return berth_meta__project_set_signature_keys(m, name, keys);
}

int berth_meta_project_signature_keys(berth_meta *m, const char *name, struct berth_buf *out)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "project name");

	return rc ? rc : berth_meta__project_signature_keys(m, name, out);
}

int berth_meta_policies(berth_meta *m, int64_t *generation, berth_meta_policy_cb cb, void *ctx)
{
	*generation = 0;
	return berth_meta__policies(m, generation, cb, ctx);
}

int berth_meta_generation(berth_meta *m, const char *name, int64_t *value)
{
	int rc = check_str(name, BERTH_META_GEN_NAME_MAX, "generation name");

	*value = 0;
	return rc ? rc : berth_meta__generation(m, name, value);
}

int berth_meta_manifest_parents(berth_meta *m, const char *repo, const berth_digest *d,
				berth_meta_name_cb cb, void *ctx)
{
	int rc;

	if ((rc = check_str(repo, BERTH_NAME_MAX, "repository name")) != 0 ||
	    (rc = check_digest(d)) != 0)
		return rc;
	return berth_meta__manifest_parents(m, repo, d, cb, ctx);
}

static int check_member(const char *project, const char *user)
{
	int rc;

	if ((rc = check_str(project, BERTH_META_NAME_MAX, "project name")) != 0 ||
	    (rc = check_str(user, BERTH_META_NAME_MAX, "user name")) != 0)
		return rc;
	return 0;
}

int berth_meta_member_set(berth_meta *m, const char *project, const char *user, int role)
{
	int rc = check_member(project, user);

	if (rc)
		return rc;
	/* 1 guest .. 4 admin, the values of berth_role (berth/auth.h). */
	if (role < 1 || role > 4)
		return berth_error_set(BERTH_EINVALID, "metadata: role %d out of range 1-4", role);
	return m->drv->member_set(m->impl, project, user, role);
}

int berth_meta_member_get(berth_meta *m, const char *project, const char *user, int *role)
{
	int rc = check_member(project, user);

	return rc ? rc : berth_meta__member_get(m, project, user, role);
}

int berth_meta_member_delete(berth_meta *m, const char *project, const char *user)
{
	int rc = check_member(project, user);

	return rc ? rc : berth_meta__member_delete(m, project, user);
}

int berth_meta_members(berth_meta *m, const char *project, berth_meta_member_cb cb, void *ctx)
{
	int rc = check_str(project, BERTH_META_NAME_MAX, "project name");

	return rc ? rc : berth_meta__members(m, project, cb, ctx);
}

int berth_meta_robot_create(berth_meta *m, const char *name, const char *secret_hash,
			    time_t expires, const char *permissions)
{
	int rc;

	if ((rc = check_str(name, BERTH_META_NAME_MAX, "robot name")) != 0 ||
	    (rc = check_str(secret_hash, HASH_MAX, "secret hash")) != 0 ||
	    (rc = check_str(permissions, PERMISSIONS_MAX, "robot permissions")) != 0)
		return rc;
	if (expires < 0)
		return berth_error_set(BERTH_EINVALID, "metadata: negative robot expiry");
	return berth_meta__robot_create(m, name, secret_hash, expires, permissions);
}

int berth_meta_robot_get(berth_meta *m, const char *name, berth_meta_robot *out,
			 struct berth_buf *perms)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "robot name");

	return rc ? rc : berth_meta__robot_get(m, name, out, perms);
}

int berth_meta_robot_delete(berth_meta *m, const char *name)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "robot name");

	return rc ? rc : berth_meta__robot_delete(m, name);
}

int berth_meta_robot_set_secret(berth_meta *m, const char *name, const char *secret_hash)
{
	int rc;

	if ((rc = check_str(name, BERTH_META_NAME_MAX, "robot name")) != 0 ||
	    (rc = check_str(secret_hash, HASH_MAX, "secret hash")) != 0)
		return rc;
	return berth_meta__robot_set_secret(m, name, secret_hash);
}

int berth_meta_robots(berth_meta *m, berth_meta_robot_cb cb, void *ctx)
{
	return berth_meta__robots(m, cb, ctx);
}

/* An optional audit field: NULL or within `max` bytes. */
static int check_opt(const char *s, size_t max, const char *what)
{
	if (s && strnlen(s, max + 1) > max)
		return berth_error_set(BERTH_EINVALID, "metadata: %s longer than %zu bytes", what,
				       max);
	return 0;
}

int berth_meta_audit_add(berth_meta *m, const berth_meta_audit *e)
{
	int rc;

	if ((rc = check_str(e->who, AUDIT_WHO_MAX, "audit who")) != 0 ||
	    (rc = check_str(e->action, AUDIT_WORD_MAX, "audit action")) != 0 ||
	    (rc = check_opt(e->resource, AUDIT_RESOURCE_MAX, "audit resource")) != 0 ||
	    (rc = check_opt(e->address, AUDIT_ADDRESS_MAX, "audit address")) != 0 ||
	    (rc = check_opt(e->result, AUDIT_WORD_MAX, "audit result")) != 0)
		return rc;
	return berth_meta__audit_add(m, e);
}

int berth_meta_audit_list(berth_meta *m, int64_t before_id, long limit, berth_meta_audit_cb cb,
			  void *ctx)
{
	return berth_meta__audit_list(m, before_id > 0 ? before_id : 0, limit, cb, ctx);
}

int berth_meta_login_failure_add(berth_meta *m, const char *key, time_t now)
{
	int rc = check_str(key, LOGIN_KEY_MAX, "login key");

	return rc ? rc : berth_meta__login_failure_add(m, key, now);
}

int berth_meta_login_failures(berth_meta *m, const char *key, time_t since, long *count,
			      time_t *last)
{
	time_t ignored;
	int rc;

	*count = 0;
	if (!last)
		last = &ignored;
	*last = 0;
	if ((rc = check_str(key, LOGIN_KEY_MAX, "login key")) != 0)
		return rc;
	return berth_meta__login_failures(m, key, since, count, last);
}

int berth_meta_login_failures_clear(berth_meta *m, const char *key)
{
	int rc = check_str(key, LOGIN_KEY_MAX, "login key");

	return rc ? rc : berth_meta__login_failures_clear(m, key);
}

/* ---- replication ---- */

#define REPL_FIELD_MAX 4096

int berth_meta_repl_rule_put(berth_meta *m, const char *name, const char *body)
{
	int rc;

	if ((rc = check_str(name, BERTH_META_NAME_MAX, "rule name")) != 0 ||
	    (rc = check_str(body, BERTH_META_REPL_TEXT_MAX, "rule")) != 0)
		return rc;
	return berth_meta__repl_rule_put(m, name, body);
}

int berth_meta_repl_rule_delete(berth_meta *m, const char *name)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "rule name");

	return rc ? rc : berth_meta__repl_rule_delete(m, name);
}

int berth_meta_repl_rules(berth_meta *m, berth_meta_repl_rule_cb cb, void *ctx)
{
	return berth_meta__repl_rules(m, cb, ctx);
}

int berth_meta_repl_registry_put(berth_meta *m, const char *name, const char *body,
				 const char *secret)
{
	int rc;

	if ((rc = check_str(name, BERTH_META_NAME_MAX, "registry name")) != 0 ||
	    (rc = check_str(body, BERTH_META_REPL_TEXT_MAX, "registry")) != 0 ||
	    (rc = check_opt(secret, REPL_FIELD_MAX, "registry secret")) != 0)
		return rc;
	return berth_meta__repl_registry_put(m, name, body, secret ? secret : "");
}

int berth_meta_repl_registry_delete(berth_meta *m, const char *name)
{
	int rc = check_str(name, BERTH_META_NAME_MAX, "registry name");

	return rc ? rc : berth_meta__repl_registry_delete(m, name);
}

int berth_meta_repl_registries(berth_meta *m, berth_meta_repl_registry_cb cb, void *ctx)
{
	return berth_meta__repl_registries(m, cb, ctx);
}

int berth_meta_repl_exec_start(berth_meta *m, const char *rule, const char *trigger, time_t started,
			       int64_t *id)
{
	int rc;

	if ((rc = check_str(rule, BERTH_META_NAME_MAX, "rule name")) != 0 ||
	    (rc = check_str(trigger, AUDIT_WORD_MAX, "trigger")) != 0)
		return rc;
	return berth_meta__repl_exec_start(m, rule, trigger, started, id);
}

int berth_meta_repl_exec_finish(berth_meta *m, int64_t id, const char *status, time_t ended,
				const char *summary)
{
	int rc;

	if ((rc = check_str(status, AUDIT_WORD_MAX, "status")) != 0 ||
	    (rc = check_opt(summary, BERTH_META_REPL_TEXT_MAX, "summary")) != 0)
		return rc;
	return berth_meta__repl_exec_finish(m, id, status, ended, summary ? summary : "");
}

int berth_meta_repl_execs(berth_meta *m, const char *rule, int64_t before_id, long limit,
			  berth_meta_repl_exec_cb cb, void *ctx)
{
	int rc = check_opt(rule, BERTH_META_NAME_MAX, "rule name");

	return rc ? rc
		  : berth_meta__repl_execs(m, rule, before_id > 0 ? before_id : 0, limit, cb, ctx);
}

int berth_meta_repl_execs_running(berth_meta *m, berth_meta_repl_exec_cb cb, void *ctx)
{
	return berth_meta__repl_execs_running(m, cb, ctx);
}

int berth_meta_repl_result_add(berth_meta *m, const berth_meta_repl_result *r)
{
	int rc;

	if ((rc = check_str(r->artifact, REPL_FIELD_MAX, "artifact")) != 0 ||
	    (rc = check_str(r->status, AUDIT_WORD_MAX, "status")) != 0 ||
	    (rc = check_opt(r->digest, REPL_FIELD_MAX, "digest")) != 0 ||
	    (rc = check_opt(r->message, REPL_FIELD_MAX, "message")) != 0)
		return rc;
	return berth_meta__repl_result_add(m, r);
}

int berth_meta_repl_results(berth_meta *m, int64_t exec_id, berth_meta_repl_result_cb cb, void *ctx)
{
	return berth_meta__repl_results(m, exec_id, cb, ctx);
}

int berth_meta_repl_fired_get(berth_meta *m, const char *rule, time_t *t)
{
	int rc = check_str(rule, BERTH_META_NAME_MAX, "rule name");

	return rc ? rc : berth_meta__repl_fired_get(m, rule, t);
}

int berth_meta_repl_fired_set(berth_meta *m, const char *rule, time_t t)
{
	int rc = check_str(rule, BERTH_META_NAME_MAX, "rule name");

	return rc ? rc : berth_meta__repl_fired_set(m, rule, t);
}

int berth_meta_repl_event_add(berth_meta *m, const berth_meta_repl_event *e)
{
	int rc;

	if ((rc = check_str(e->rule, BERTH_META_NAME_MAX, "rule name")) != 0 ||
	    (rc = check_str(e->repo, REPL_FIELD_MAX, "repository")) != 0 ||
	    (rc = check_str(e->reference, REPL_FIELD_MAX, "reference")) != 0)
		return rc;
	return berth_meta__repl_event_add(m, e);
}

int berth_meta_repl_events(berth_meta *m, int64_t after, long limit, berth_meta_repl_event_cb cb,
			   void *ctx)
{
	return berth_meta__repl_events(m, after, limit, cb, ctx);
}

int berth_meta_repl_event_delete(berth_meta *m, int64_t id)
{
	return berth_meta__repl_event_delete(m, id);
}

/* ---- several processes on one database ---- */

int berth_meta_ping(berth_meta *m)
{
	return berth_meta__ping(m);
}

int berth_meta_lease_take(berth_meta *m, const char *name, const char *holder, time_t now, long ttl,
			  int *won)
{
	int rc;

	*won = 0;
	if ((rc = check_str(name, BERTH_META_NAME_MAX, "lease name")) != 0 ||
	    (rc = check_str(holder, BERTH_META_HOLDER_MAX, "lease holder")) != 0)
		return rc;
	if (ttl <= 0)
		return berth_error_set(BERTH_EINVALID, "lease: the duration must be positive");
	return berth_meta__lease_take(m, name, holder, now, ttl, won);
}

int berth_meta_lease_release(berth_meta *m, const char *name, const char *holder)
{
	int rc;

	if ((rc = check_str(name, BERTH_META_NAME_MAX, "lease name")) != 0 ||
	    (rc = check_str(holder, BERTH_META_HOLDER_MAX, "lease holder")) != 0)
		return rc;
	return berth_meta__lease_release(m, name, holder);
}

int berth_meta_repl_fired_claim(berth_meta *m, const char *rule, time_t prev, time_t now, int *won)
{
	int rc = check_str(rule, BERTH_META_NAME_MAX, "rule name");

	*won = 0;
	return rc ? rc : berth_meta__repl_fired_claim(m, rule, prev, now, won);
}

int berth_meta_repl_event_claim(berth_meta *m, const char *holder, time_t now, long limit,
				berth_meta_repl_event_cb cb, void *ctx)
{
	int rc = check_str(holder, BERTH_META_HOLDER_MAX, "event holder");

	if (rc == 0 && limit <= 0)
		rc = berth_error_set(BERTH_EINVALID, "event claim: the limit must be positive");
	return rc ? rc : berth_meta__repl_event_claim(m, holder, now, limit, cb, ctx);
}

int berth_meta_repl_exec_hold(berth_meta *m, int64_t id, const char *holder)
{
	int rc = check_str(holder, BERTH_META_HOLDER_MAX, "execution holder");

	return rc ? rc : berth_meta__repl_exec_hold(m, id, holder);
}

int berth_meta_repl_execs_orphaned(berth_meta *m, time_t now, berth_meta_repl_exec_cb cb, void *ctx)
{
	return berth_meta__repl_execs_orphaned(m, now, cb, ctx);
}

int berth_meta_repl_exec_interrupt(berth_meta *m, int64_t id, time_t ended, const char *summary,
				   int *won)
{
	int rc = check_opt(summary, BERTH_META_REPL_TEXT_MAX, "summary");

	*won = 0;
	return rc ? rc : berth_meta__repl_exec_interrupt(m, id, ended, summary ? summary : "", won);
}

int berth_meta_mirror_tag_checked(berth_meta *m, const char *repo, const char *tag, time_t *t)
{
	int rc = check_str(repo, BERTH_NAME_MAX, "repository name");

	if (rc == 0)
		rc = check_str(tag, BERTH_TAG_MAX, "tag");
	return rc ? rc : berth_meta__mirror_tag_checked(m, repo, tag, t);
}

int berth_meta_mirror_tag_mark(berth_meta *m, const char *repo, const char *tag, time_t t)
{
	int rc = check_str(repo, BERTH_NAME_MAX, "repository name");

	if (rc == 0)
		rc = check_str(tag, BERTH_TAG_MAX, "tag");
	return rc ? rc : berth_meta__mirror_tag_mark(m, repo, tag, t);
}

/* ---- copying (copy.c) ---- */

const berth_meta_driver *berth_meta__driver(berth_meta *m, void **impl)
{
	*impl = m->impl;
	return m->drv;
}

int berth_meta__quote_ident(char *out, size_t size, const char *name)
{
	size_t n = 0, len = name ? strnlen(name, BERTH_META_COPY_NAME_MAX + 1) : 0;

	if (!len || len > BERTH_META_COPY_NAME_MAX || size < 2 * len + 3)
		return berth_error_set(BERTH_EINVALID,
				       "metadata: table or column name of %zu bytes", len);
	out[n++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (name[i] == '"')
			out[n++] = '"';
		out[n++] = name[i];
	}
	out[n++] = '"';
	out[n] = 0;
	return 0;
}

/* ---- replication retries ---- */

int berth_meta_repl_retry_set(berth_meta *m, const char *rule, time_t at)
{
	int rc = check_str(rule, BERTH_META_NAME_MAX, "rule name");

	return rc ? rc : berth_meta__repl_retry_set(m, rule, at);
}

int berth_meta_repl_retries_due(berth_meta *m, time_t now, long limit, berth_meta_repl_retry_cb cb,
				void *ctx)
{
	return berth_meta__repl_retries_due(m, now, limit, cb, ctx);
}

int berth_meta_repl_retry_take(berth_meta *m, const char *rule, time_t at, int *won)
{
	int rc = check_str(rule, BERTH_META_NAME_MAX, "rule name");

	*won = 0;
	return rc ? rc : berth_meta__repl_retry_take(m, rule, at, won);
}
