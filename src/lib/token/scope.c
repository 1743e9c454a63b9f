/*
 * scope.c - the resource grammar of the Docker registry token: action lists
 * ("pull,push", "*") and scopes ("repository:team/app:pull",
 * "registry:catalog:*"), parsed strictly and formatted canonically, for the
 * token service, the challenge header and the token's access claims.
 */
#include "berth/token.h"
#include "berth/ref.h"
#include "util/buf.h"

#include <string.h>

static int word_is(const char *s, size_t len, const char *w)
{
	return len == strlen(w) && memcmp(s, w, len) == 0;
}

int berth_token_actions_parse(const char *s, size_t len, unsigned *out)
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
			acts |= BERTH_ACTION_SCOPE;
		else
			return berth_error_set(
				BERTH_EINVALID,
				"bad action list (expected pull, push, delete or *)");
		i = j + 1;
	}
	*out = acts;
	return 0;
}

int berth_token_actions_format(unsigned actions, berth_buf *out)
{
	static const struct {
		unsigned bit;
		const char *word;
	} words[] = {{BERTH_ACTION_PULL, "pull"},
		     {BERTH_ACTION_PUSH, "push"},
		     {BERTH_ACTION_DELETE, "delete"}};
	int first = 1, rc;

	if (actions & ~BERTH_ACTION_SCOPE)
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

int berth_token_scope_parse(const char *s, size_t len, berth_scope *out)
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
	if ((rc = berth_token_actions_parse(c2 + 1, len - (size_t)(c2 + 1 - s), &acts)) != 0)
		return rc;
	if (word_is(s, tlen, "repository")) {
		if (nlen > BERTH_NAME_MAX || !berth_ref_name_valid(c1 + 1, nlen))
			return berth_error_set(BERTH_EINVALID,
					       "bad scope (invalid repository name)");
	} else if (word_is(s, tlen, "registry")) {
		if (!word_is(c1 + 1, nlen, "catalog") && !word_is(c1 + 1, nlen, "admin"))
			return berth_error_set(
				BERTH_EINVALID,
				"bad scope (registry scopes name \"catalog\" or \"admin\")");
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

int berth_token_scope_format(const berth_scope *s, berth_buf *out)
{
	int rc;

	if ((rc = berth_buf_printf(out, "%s:%s:", s->type, s->name)) != 0)
		return rc;
	if (strcmp(s->type, "registry") == 0 && s->actions == BERTH_ACTION_SCOPE)
		return berth_buf_puts(out, "*");
	return berth_token_actions_format(s->actions, out);
}
