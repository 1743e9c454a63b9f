/*
 * access.c - the authorization model: project roles and the actions they
 * grant, action lists ("pull,push"), scopes ("repository:team/app:pull"),
 * the project of a repository, and berth_auth_decide(), the one function
 * that says what a principal may do to a target.
 *
 * The decision is a pure function of facts the server gathered from meta
 * (project public or not, the user's role, the robot's permissions), so it
 * is tested exhaustively without a database.
 */
#include "berth/auth.h"
#include "berth/ref.h"
#include "util/buf.h"

#include <assert.h>
#include <string.h>

#define SCOPE_ACTIONS (BERTH_ACTION_PULL | BERTH_ACTION_PUSH | BERTH_ACTION_DELETE)

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

static int word_is(const char *s, size_t len, const char *w)
{
	return len == strlen(w) && memcmp(s, w, len) == 0;
}

int berth_auth_actions_parse(const char *s, size_t len, unsigned *out)
{
	unsigned acts = 0;
	size_t i = 0;

	if (len == 0 || len > 256)
		return berth_error_set(BERTH_EINVALID, "bad action list (empty or too long)");
	while (i <= len) {
		size_t j = i;

		while (j < len && s[j] != ',')
			j++;
		if (word_is(s + i, j - i, "pull"))
			acts |= BERTH_ACTION_PULL;
		else if (word_is(s + i, j - i, "push"))
			acts |= BERTH_ACTION_PUSH;
		else if (word_is(s + i, j - i, "delete"))
			acts |= BERTH_ACTION_DELETE;
		else if (word_is(s + i, j - i, "*"))
			acts |= SCOPE_ACTIONS;
		else
			return berth_error_set(
				BERTH_EINVALID,
				"bad action list (expected pull, push, delete or *)");
		i = j + 1;
	}
	*out = acts;
	return 0;
}

int berth_auth_actions_format(unsigned actions, berth_buf *out)
{
	static const struct {
		unsigned bit;
		const char *word;
	} words[] = {{BERTH_ACTION_PULL, "pull"},
		     {BERTH_ACTION_PUSH, "push"},
		     {BERTH_ACTION_DELETE, "delete"}};
	int first = 1, rc;

	if (actions & ~SCOPE_ACTIONS)
		return berth_error_set(BERTH_EINVALID,
				       "only pull, push and delete are scope actions");
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!(actions & words[i].bit))
			continue;
		if (!first && (rc = berth_buf_puts(out, ",")) != 0)
			return rc;
		if ((rc = berth_buf_puts(out, words[i].word)) != 0)
			return rc;
		first = 0;
	}
	return 0;
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
	return acts & SCOPE_ACTIONS;
}

unsigned berth_auth_decide(const berth_principal *p, const berth_auth_facts *f, unsigned wanted)
{
	unsigned acts = 0;

	assert(p && f);
	wanted &= BERTH_ACTION_ALL;
	if (p->kind == BERTH_PRINCIPAL_USER && p->sysadmin)
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
	}
	return acts & wanted;
}

/* ---- scopes ---- */

/* [a-z0-9]+, or with parens allowed the "repository(plugin)" class form. */
static int type_valid(const char *s, size_t len, int parens)
{
	if (len == 0 || len >= sizeof(((berth_scope *)0)->type))
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      (parens && (s[i] == '(' || s[i] == ')'))))
			return 0;
	}
	return 1;
}

int berth_auth_scope_parse(const char *s, size_t len, berth_scope *out)
{
	const char *c1, *c2;
	size_t tlen, nlen;
	unsigned acts;
	int rc;

	if (!s || len == 0 || len > 1024)
		return berth_error_set(BERTH_EINVALID, "bad scope (empty or too long)");
	c1 = memchr(s, ':', len);
	c2 = memrchr(s, ':', len);
	if (!c1 || c1 == c2)
		return berth_error_set(BERTH_EINVALID, "bad scope (expected type:name:actions)");
	tlen = (size_t)(c1 - s);
	nlen = (size_t)(c2 - c1 - 1);
	if ((rc = berth_auth_actions_parse(c2 + 1, len - (size_t)(c2 + 1 - s), &acts)) != 0)
		return rc;
	if (word_is(s, tlen, "repository")) {
		if (nlen > BERTH_NAME_MAX || !berth_ref_name_valid(c1 + 1, nlen))
			return berth_error_set(BERTH_EINVALID,
					       "bad scope (invalid repository name)");
	} else if (word_is(s, tlen, "registry")) {
		if (!word_is(c1 + 1, nlen, "catalog"))
			return berth_error_set(BERTH_EINVALID,
					       "bad scope (registry scopes name \"catalog\")");
	} else if (type_valid(s, tlen, 1)) {
		/* e.g. repository(plugin): well-formed, but not ours. */
		return berth_error_set(BERTH_EUNSUPPORTED, "unsupported scope type");
	} else {
		return berth_error_set(BERTH_EINVALID, "bad scope (invalid resource type)");
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->type, s, tlen);
	memcpy(out->name, c1 + 1, nlen);
	out->actions = acts;
	return 0;
}

int berth_auth_scope_format(const berth_scope *s, berth_buf *out)
{
	int rc;

	if ((rc = berth_buf_printf(out, "%s:%s:", s->type, s->name)) != 0)
		return rc;
	if (strcmp(s->type, "registry") == 0 && s->actions == SCOPE_ACTIONS)
		return berth_buf_puts(out, "*");
	return berth_auth_actions_format(s->actions, out);
}
