/*
 * authz.c - what a caller may do: the facts about a repository (its
 * project, visibility, the user's role, the robot's permissions) gathered
 * from the database and handed to berth_auth_decide(), bounded by a token's
 * access claims; and the registry's authorization hook built on it (the
 * 401 challenge or 403 DENIED of a refusal, the catalog filter, a system
 * administrator's push creating a missing project).
 */
#include "lib/auth/internal.h"

#include "util/log.h"

#include <stdio.h>
#include <string.h>

int berth_auth__is_sysadmin(const berth_identity *id)
{
	return id && ((id->principal.kind == BERTH_PRINCIPAL_USER && id->principal.sysadmin) ||
		      id->principal.kind == BERTH_PRINCIPAL_SYSTEM);
}

unsigned berth_auth__decide(berth_auth *a, const berth_identity *id, const char *repository,
			    unsigned wanted, int *missing)
{
	berth_auth_facts f;
	berth_meta_project p;
	char project[256];
	int rc, role;

	memset(&f, 0, sizeof(f));
	if (missing)
		*missing = 0;
	f.repository = repository;
	if (repository && berth_auth_project_of(repository, project, sizeof(project)) == 0) {
		rc = berth_meta_project_get(a->meta, project, &p);
		if (rc == 0) {
			f.project_exists = 1;
			f.project_public = p.public;
		} else if (rc == BERTH_ENOTFOUND) {
			if (missing)
				*missing = 1;
		} else {
			berth_warn("authorization: %s", berth_error_last());
			return 0;
		}
		if (f.project_exists && id->principal.kind == BERTH_PRINCIPAL_USER) {
			rc = berth_meta_member_get(a->meta, project, id->principal.name, &role);
			if (rc == 0 && role >= BERTH_ROLE_GUEST && role <= BERTH_ROLE_ADMIN)
				f.role = (berth_role)role;
			else if (rc < 0 && rc != BERTH_ENOTFOUND)
				return 0;
		}
	}
	if (id->principal.kind == BERTH_PRINCIPAL_ROBOT) {
		f.perms = id->perms;
		f.nperms = id->nperms;
		f.robot_expired = id->robot_expired;
	}
	return berth_auth_decide(&id->principal, &f, wanted);
}

/* The actions a token's claims grant on a repository. */
static unsigned token_actions(const berth_identity *id, const char *repository)
{
	unsigned acts = 0;

	for (size_t i = 0; i < id->claims.naccess; i++) {
		const berth_scope *s = &id->claims.access[i];

		if (strcmp(s->type, "repository") == 0 && strcmp(s->name, repository) == 0)
			acts |= s->actions;
	}
	return acts;
}

static int token_has_catalog(const berth_identity *id)
{
	for (size_t i = 0; i < id->claims.naccess; i++)
		if (strcmp(id->claims.access[i].type, "registry") == 0 &&
		    strcmp(id->claims.access[i].name, "catalog") == 0)
			return 1;
	return 0;
}

static const berth_identity *identity_of(const berth_req *req)
{
	static const berth_identity anonymous;

	return req && req->principal ? req->principal : &anonymous;
}

static unsigned hook_allowed(void *ctx, const berth_req *req, const char *repository,
			     unsigned wanted)
{
	berth_auth *a = ctx;
	const berth_identity *id = identity_of(req);
	char project[256];
	unsigned got;
	int missing = 0, rc;

	if (!repository) {
		/* The catalog: open to every caller, filtered per repository; a token
		 * must hold registry:catalog. */
		if (id->bearer && !token_has_catalog(id))
			return 0;
		return wanted;
	}
	got = berth_auth__decide(a, id, repository, wanted, &missing);
	if (id->bearer)
		got &= token_actions(id, repository);
	if (missing && (got & BERTH_ACTION_PUSH) && berth_auth__is_sysadmin(id) &&
	    berth_auth_project_of(repository, project, sizeof(project)) == 0) {
		/* A system administrator's push creates the project, private. */
		rc = berth_meta_project_create(a->meta, project, 0);
		if (rc == 0) {
			char res[300];

			snprintf(res, sizeof(res), "project/%s", project);
			berth_auth__audit(a, berth_auth__who(id), "project_create", res,
					  req->remote_addr, "ok");
		} else if (rc != BERTH_EEXISTS) {
			berth_warn("creating project %s: %s", project, berth_error_last());
			return 0;
		}
	}
	return got;
}

static int hook_listable(void *ctx, const berth_req *req, const char *repository)
{
	return (berth_auth__decide(ctx, identity_of(req), repository, BERTH_ACTION_PULL, NULL) &
		BERTH_ACTION_PULL) != 0;
}

static int hook_anonymous(void *ctx, const berth_req *req)
{
	/* No credentials at all (a valid anonymous token may use /v2/). */
	return identity_of(req)->principal.kind == BERTH_PRINCIPAL_ANONYMOUS &&
	       !identity_of(req)->bearer;
}

static void challenge(berth_auth *a, const berth_req *req, const char *repository, unsigned wanted,
		      const char *error, berth_authz_refusal *out)
{
	berth_buf b = BERTH_BUF_INIT(sizeof(out->challenge) - 1);
	berth_buf realm = BERTH_BUF_INIT(2048);
	berth_scope s;
	size_t n = 0, bl = req->base_url ? strlen(req->base_url) : 0;

	memset(&s, 0, sizeof(s));
	while (bl && req->base_url[bl - 1] == '/')
		bl--;
	if (repository) {
		snprintf(s.type, sizeof(s.type), "repository");
		snprintf(s.name, sizeof(s.name), "%s", repository);
		/* Clients push with pull,push tokens (as Distribution asks). */
		s.actions =
			(wanted & (BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE)) |
			((wanted & BERTH_ACTION_PUSH) ? BERTH_ACTION_PULL : 0);
		n = s.actions ? 1 : 0;
	} else if (wanted) {
		snprintf(s.type, sizeof(s.type), "registry");
		snprintf(s.name, sizeof(s.name), "catalog");
		s.actions = BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE;
		n = 1;
	}
	out->challenge[0] = '\0';
	if (berth_buf_put(&realm, req->base_url ? req->base_url : "", bl) == 0 &&
	    berth_buf_puts(&realm, "/token") == 0 &&
	    berth_cred_challenge(&b, realm.ptr, a->service, n ? &s : NULL, n, error) == 0 && b.ptr)
		snprintf(out->challenge, sizeof(out->challenge), "%s", b.ptr);
	berth_buf_dispose(&b);
	berth_buf_dispose(&realm);
}

static void hook_refuse(void *ctx, const berth_req *req, const char *repository, unsigned wanted,
			berth_authz_refusal *out)
{
	berth_auth *a = ctx;
	const berth_identity *id = identity_of(req);
	char project[256];
	unsigned live;
	int missing = 0;

	/* A refusal because the facts could not be read is no refusal: retry later. */
	berth_error_clear();
	live = repository ? berth_auth__decide(a, id, repository, wanted, &missing)
			  : (berth_auth__is_sysadmin(id) ? wanted : 0);
	if (berth_error_last_code() == BERTH_EBUSY) {
		out->status = 503;
		out->code = "UNAVAILABLE";
		out->challenge[0] = '\0';
		snprintf(out->message, sizeof(out->message), "temporarily unavailable: try again");
		return;
	}
	if (id->principal.kind == BERTH_PRINCIPAL_ANONYMOUS) {
		/* Log in first; an anonymous token is told its scope does not suffice. */
		out->status = 401;
		out->code = "UNAUTHORIZED";
		snprintf(out->message, sizeof(out->message),
			 id->bearer ? "insufficient scope" : "authentication required");
		challenge(a, req, repository, wanted, id->bearer ? "insufficient_scope" : NULL,
			  out);
		return;
	}
	if (id->bearer && (live & wanted) == wanted) {
		/* The caller may, but this token does not say so. */
		out->status = 401;
		out->code = "UNAUTHORIZED";
		snprintf(out->message, sizeof(out->message), "insufficient scope");
		challenge(a, req, repository, wanted, "insufficient_scope", out);
		return;
	}
	out->status = 403;
	out->code = "DENIED";
	out->challenge[0] = '\0';
	if (missing && (wanted & BERTH_ACTION_PUSH) &&
	    berth_auth_project_of(repository, project, sizeof(project)) == 0)
		snprintf(out->message, sizeof(out->message), "project %.200s does not exist",
			 project);
	else
		snprintf(out->message, sizeof(out->message),
			 "requested access to the resource is denied");
}

/* The principal's own right, not its token's scope: a read is all it gets from this. */
static int hook_may_push(void *ctx, const berth_req *req, const char *repository)
{
	const berth_identity *id = identity_of(req);

	if (id->principal.kind == BERTH_PRINCIPAL_ANONYMOUS)
		return 0;
	return (berth_auth__decide(ctx, id, repository, BERTH_ACTION_PUSH, NULL) &
		BERTH_ACTION_PUSH) != 0;
}

void berth_auth_registry_authz(berth_auth *a, berth_registry_authz *out)
{
	memset(out, 0, sizeof(*out));
	out->allowed = hook_allowed;
	out->listable = hook_listable;
	out->refuse = hook_refuse;
	out->anonymous = hook_anonymous;
	out->may_push = hook_may_push;
	out->ctx = a;
}
