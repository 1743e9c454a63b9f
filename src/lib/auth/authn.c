/*
 * authn.c - who is calling: the Authorization header of each request
 * (Basic for users and robots, Bearer for our tokens), logins with
 * throttling of failures (per account and per address, kept in the
 * database so every process shares them), and robots' permissions.
 *
 * An unknown account costs what a wrong password costs (a burnt bcrypt
 * verification) and gets the same answer; throttling is checked before any
 * password, for unknown accounts too. Credentials never reach a log line
 * or a message, and are wiped from our buffers after use.
 */
#include "lib/auth/internal.h"

#include "util/log.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define ROBOT_PREFIX "robot$"
#define ROBOT_PERMS_MAX (64 * 1024)

int berth_auth__robot_perms(const char *text, berth_identity *id)
{
	json_t *root = NULL, *e;
	json_error_t err;
	size_t i;
	int rc = 0;

	id->nperms = 0;
	root = json_loads(text ? text : "[]", JSON_REJECT_DUPLICATES, &err);
	if (!root || !json_is_array(root)) {
		rc = berth_error_set(BERTH_EINVALID, "robot permissions are not a JSON array");
		goto done;
	}
	json_array_foreach(root, i, e)
	{
		berth_robot_perm *p;
		const char *project = json_string_value(json_object_get(e, "project"));
		const char *repo = json_string_value(json_object_get(e, "repository"));
		json_t *acts = json_object_get(e, "actions"), *act;
		size_t j;

		if (id->nperms >= BERTH_AUTH_ROBOT_PERMS_MAX || !project)
			continue;
		p = &id->perms[id->nperms];
		memset(p, 0, sizeof(*p));
		snprintf(p->project, sizeof(p->project), "%s", project);
		snprintf(p->repository, sizeof(p->repository), "%s", repo ? repo : "");
		json_array_foreach(acts, j, act)
		{
			const char *s = json_string_value(act);
			unsigned bits;

			if (s && berth_token_actions_parse(s, strlen(s), &bits) == 0)
				p->actions |= bits;
		}
		id->nperms++;
	}
done:
	json_decref(root);
	return rc;
}

/* Failures of `key` within the window; < 0 on a database error. */
static int failures(berth_auth *a, const char *key, time_t now, long *n)
{
	*n = 0;
	return berth_meta_login_failures(a->meta, key, now - BERTH_AUTH_THROTTLE_WINDOW, n);
}

static void count_failure(berth_auth *a, const char *ukey, const char *akey, time_t now)
{
	if (berth_meta_login_failure_add(a->meta, ukey, now) < 0 ||
	    berth_meta_login_failure_add(a->meta, akey, now) < 0)
		berth_warn("recording a failed login: %s", berth_error_last());
}

/* A printable, bounded copy of an attempted login name for the audit log. */
static void safe_name(const char *in, char *out, size_t len)
{
	size_t i;

	for (i = 0; in[i] && i + 1 < len && i < 128; i++)
		out[i] = ((unsigned char)in[i] < 0x20 || in[i] == 0x7f) ? '?' : in[i];
	out[i] = '\0';
}

int berth_auth__login(berth_auth *a, const char *user, const char *password, const char *address,
		      berth_identity *id)
{
	char ukey[300], akey[96], who[160];
	berth_buf perms = BERTH_BUF_INIT(ROBOT_PERMS_MAX);
	time_t now = time(NULL);
	long nu = 0, na = 0;
	int rc, ok = 0, expired = 0;

	memset(id, 0, sizeof(*id));
	snprintf(ukey, sizeof(ukey), "user:%s", user);
	snprintf(akey, sizeof(akey), "addr:%s", address ? address : "");
	safe_name(user, who, sizeof(who));
	if ((rc = failures(a, ukey, now, &nu)) < 0 || (rc = failures(a, akey, now, &na)) < 0)
		goto done;
	if (nu >= BERTH_AUTH_THROTTLE_ACCOUNT || na >= BERTH_AUTH_THROTTLE_ADDRESS) {
		berth_auth__audit(a, who, "login_failure", "", address, "throttled");
		rc = berth_error_set(BERTH_EBUSY, "too many failed logins");
		goto done;
	}
	if (strncmp(user, ROBOT_PREFIX, strlen(ROBOT_PREFIX)) == 0) {
		berth_meta_robot r;

		rc = berth_meta_robot_get(a->meta, user + strlen(ROBOT_PREFIX), &r, &perms);
		if (rc == BERTH_ENOTFOUND) {
			berth_cred_password_burn(password);
		} else if (rc < 0) {
			goto done;
		} else if (berth_cred_password_verify(r.secret_hash, password) == 0) {
			if (r.expires && r.expires <= now) {
				expired = 1;
			} else if (berth_auth__robot_perms(r.permissions, id) == 0) {
				ok = 1;
				id->principal.kind = BERTH_PRINCIPAL_ROBOT;
				id->principal.id = r.id;
				snprintf(id->principal.name, sizeof(id->principal.name), "%s%.200s",
					 ROBOT_PREFIX, r.name);
			}
		}
		OPENSSL_cleanse(&r, sizeof(r));
	} else {
		berth_meta_user u;

		rc = berth_meta_user_get(a->meta, user, &u);
		if (rc == BERTH_ENOTFOUND) {
			berth_cred_password_burn(password);
		} else if (rc < 0) {
			goto done;
		} else if (berth_cred_password_verify(u.password_hash, password) == 0) {
			ok = 1;
			id->principal.kind = BERTH_PRINCIPAL_USER;
			id->principal.id = u.id;
			id->principal.sysadmin = u.sysadmin;
			snprintf(id->principal.name, sizeof(id->principal.name), "%s", u.name);
		}
		OPENSSL_cleanse(&u, sizeof(u));
	}
	if (!ok) {
		/* An expired robot's right secret is not a guess: not counted. */
		if (!expired)
			count_failure(a, ukey, akey, now);
		berth_auth__audit(a, who, "login_failure", "", address,
				  expired ? "expired" : "failure");
		memset(id, 0, sizeof(*id));
		rc = berth_error_set(BERTH_EDENIED, "invalid credentials");
		goto done;
	}
	if (nu > 0 && berth_meta_login_failures_clear(a->meta, ukey) < 0)
		berth_warn("clearing failed logins: %s", berth_error_last());
	rc = 0;
done:
	berth_buf_dispose(&perms);
	return rc;
}

/* A token's principal must still exist (a re-created name is another principal). */
static int from_token(berth_auth *a, berth_identity *id)
{
	const berth_token_claims *c = &id->claims;
	berth_buf perms = BERTH_BUF_INIT(ROBOT_PERMS_MAX);
	int rc = 0;

	id->principal.kind = c->kind;
	id->principal.id = c->principal_id;
	snprintf(id->principal.name, sizeof(id->principal.name), "%s", c->sub);
	if (c->kind == BERTH_PRINCIPAL_USER) {
		berth_meta_user u;

		rc = berth_meta_user_get_by_id(a->meta, c->principal_id, &u);
		/* Same id and name, and not made after the token (ids may be reused). */
		if (rc == 0 && (strcmp(u.name, c->sub) != 0 || (int64_t)u.created > c->iat))
			rc = BERTH_ENOTFOUND;
		if (rc == 0)
			id->principal.sysadmin = u.sysadmin;
		OPENSSL_cleanse(&u, sizeof(u));
	} else if (c->kind == BERTH_PRINCIPAL_ROBOT) {
		berth_meta_robot r;

		if (strncmp(c->sub, ROBOT_PREFIX, strlen(ROBOT_PREFIX)) != 0) {
			rc = BERTH_ENOTFOUND;
		} else {
			rc = berth_meta_robot_get(a->meta, c->sub + strlen(ROBOT_PREFIX), &r,
						  &perms);
			if (rc == 0 && (r.id != c->principal_id || (int64_t)r.created > c->iat ||
					(r.expires && r.expires <= time(NULL))))
				rc = BERTH_ENOTFOUND;
			if (rc == 0)
				rc = berth_auth__robot_perms(r.permissions, id);
			OPENSSL_cleanse(&r, sizeof(r));
		}
	} else {
		id->principal.kind = BERTH_PRINCIPAL_ANONYMOUS;
		id->principal.id = 0;
		id->principal.name[0] = '\0';
	}
	berth_buf_dispose(&perms);
	if (rc == BERTH_ENOTFOUND)
		return berth_error_set(BERTH_EDENIED, "the token's principal no longer exists");
	return rc;
}

static int refusal(berth_auth *a, const berth_req *req, berth_auth_op **out, int kind,
		   const char *message)
{
	berth_auth_op *op = berth_auth__op_new(a, req);

	if (!op)
		return berth_error_set(BERTH_ERROR, "out of memory");
	op->resp.route = "auth";
	if (kind == BERTH_EBUSY)
		berth_auth__throttled(op);
	else if (kind == BERTH_EDENIED)
		berth_auth__unauthorized(op, message);
	else
		berth_auth__internal(op);
	*out = op;
	return 0;
}

int berth_auth_authenticate(berth_auth *a, const berth_req *req, berth_identity *id,
			    berth_auth_op **out)
{
	const char *h = req->header ? req->header(req->ctx, "Authorization") : NULL;
	char user[256];
	char pass[BERTH_CRED_PASSWORD_MAX + 1];
	const char *tok;
	size_t tok_len;
	int rc;

	*out = NULL;
	memset(id, 0, sizeof(*id));
	id->principal.kind = BERTH_PRINCIPAL_ANONYMOUS;
	if (!h)
		return 0;
	while (*h == ' ' || *h == '\t')
		h++;
	if (strncasecmp(h, "Basic", 5) == 0 && (h[5] == ' ' || h[5] == '\0')) {
		if (berth_cred_parse_basic(h, user, sizeof(user), pass, sizeof(pass)) < 0)
			return refusal(a, req, out, BERTH_EDENIED, "malformed credentials");
		rc = berth_auth__login(a, user, pass, req->remote_addr, id);
		OPENSSL_cleanse(pass, sizeof(pass));
		if (rc == 0)
			return 0;
		memset(id, 0, sizeof(*id));
		return refusal(a, req, out,
			       rc == BERTH_EDENIED || rc == BERTH_EBUSY ? rc : BERTH_ERROR,
			       "invalid credentials");
	}
	if (strncasecmp(h, "Bearer", 6) == 0 && (h[6] == ' ' || h[6] == '\0')) {
		if (berth_cred_parse_bearer(h, &tok, &tok_len) < 0)
			return refusal(a, req, out, BERTH_EDENIED, "malformed token");
		if (berth_token_verify(a->key, tok, tok_len, a->issuer, a->service, time(NULL),
				       &id->claims) < 0) {
			berth_debug("request %s: token refused: %s",
				    req->request_id ? req->request_id : "", berth_error_last());
			memset(id, 0, sizeof(*id));
			return refusal(a, req, out, BERTH_EDENIED, "invalid token");
		}
		id->bearer = 1;
		rc = from_token(a, id);
		if (rc == 0)
			return 0;
		memset(id, 0, sizeof(*id));
		return refusal(a, req, out, rc == BERTH_EDENIED ? rc : BERTH_ERROR,
			       "invalid token");
	}
	return refusal(a, req, out, BERTH_EDENIED, "unsupported authorization scheme");
}
