/*
 * access.c - the authorization model: project roles and the actions they
 * grant, the project of a repository, and berth_auth_decide(), the one
 * function that says what a principal may do to a target.
 *
 * The decision is a pure function of facts the server gathered from meta
 * (project public or not, the user's role, the robot's permissions), so it
 * is tested exhaustively without a database.
 */
#include "lib/auth/internal.h"
#include "berth/ref.h"

#include <assert.h>
#include <string.h>

static const char *const role_names[] = {"none", "guest", "developer", "maintainer", "admin"};

unsigned berth_auth_role_actions(berth_role r)
{
	switch (r) {
	case BERTH_ROLE_GUEST: return BERTH_ACTION_PULL;
	case BERTH_ROLE_DEVELOPER: return BERTH_ACTION_PULL | BERTH_ACTION_PUSH;
	case BERTH_ROLE_MAINTAINER:
		return BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE;
	case BERTH_ROLE_ADMIN: return BERTH_ACTION_ALL;
	case BERTH_ROLE_NONE: break;
	}
	return 0;
}

int berth_auth_role_parse(const char *s, berth_role *out)
{
	/* "none" is not a role one can be given: start at guest. */
	for (int r = BERTH_ROLE_GUEST; r <= BERTH_ROLE_ADMIN; r++) {
		if (s && strcmp(s, role_names[r]) == 0) {
			*out = (berth_role)r;
			return 0;
		}
	}
	return berth_error_set(BERTH_EINVALID,
			       "unknown role (expected guest, developer, maintainer or admin)");
}

const char *berth_auth_role_name(berth_role r)
{
	if ((int)r < BERTH_ROLE_NONE || r > BERTH_ROLE_ADMIN)
		return "none";
	return role_names[r];
}

int berth_auth_project_of(const char *repository, char *out, size_t out_len)
{
	size_t len = repository ? strnlen(repository, BERTH_NAME_MAX + 1) : 0;
	const char *slash;

	if (len == 0 || len > BERTH_NAME_MAX || !berth_ref_name_valid(repository, len))
		return berth_error_set(BERTH_EINVALID, "invalid repository name");
	if (!(slash = memchr(repository, '/', len)))
		return berth_error_set(BERTH_EINVALID, "repository name must be <project>/<name>");
	if ((size_t)(slash - repository) >= out_len)
		return berth_error_set(BERTH_ETOOBIG, "project name too long for its buffer");
	memcpy(out, repository, (size_t)(slash - repository));
	out[slash - repository] = '\0';
	return 0;
}

static unsigned robot_actions(const berth_auth_facts *f)
{
	char project[BERTH_NAME_MAX + 1];
	unsigned acts = 0;

	if (f->robot_expired)
		return 0;
	if (berth_auth_project_of(f->repository, project, sizeof(project)) != 0)
		return 0;
	for (size_t i = 0; f->perms && i < f->nperms; i++) {
		const berth_robot_perm *p = &f->perms[i];

		if (strncmp(p->project, project, sizeof(p->project)) != 0)
			continue;
		if (p->repository[0] &&
		    strncmp(p->repository, f->repository, sizeof(p->repository)) != 0)
			continue;
		acts |= p->actions;
	}
	/* Anyone may pull from a public project; a robot is no less than anonymous. */
	if (f->project_public)
		acts |= BERTH_ACTION_PULL;
	return acts & BERTH_ACTION_SCOPE;
}

unsigned berth_auth_decide(const berth_principal *p, const berth_auth_facts *f, unsigned wanted)
{
	unsigned acts = 0;

	assert(p && f);
	wanted &= BERTH_ACTION_ALL;
	if ((p->kind == BERTH_PRINCIPAL_USER && p->sysadmin) || p->kind == BERTH_PRINCIPAL_SYSTEM)
		return wanted;
	if (!f->repository || !f->project_exists)
		return 0;
	switch (p->kind) {
	case BERTH_PRINCIPAL_ANONYMOUS: acts = f->project_public ? BERTH_ACTION_PULL : 0; break;
	case BERTH_PRINCIPAL_USER:
		acts = berth_auth_role_actions(f->role);
		if (f->project_public)
			acts |= BERTH_ACTION_PULL;
		break;
	case BERTH_PRINCIPAL_ROBOT: acts = robot_actions(f); break;
	case BERTH_PRINCIPAL_SYSTEM: break; /* answered above */
	}
	return acts & wanted;
}
