/*
 * authn.c - who is calling: the Authorization header of each request
 * (Basic for users, robots and the server itself, Bearer for our tokens), logins with
 * throttling of failures (per account and per address, kept in the
 * database so every process shares them), and robots' permissions.
 *
 * An unknown account costs what a wrong password costs (a burnt bcrypt
 * verification) and gets the same answer; throttling is checked before any
 * password, for unknown accounts too. Credentials never reach a log line
 * or a message, and are wiped from our buffers after use.
 *
 * The server itself (`berth$system`): jobs that reach this server over
 * loopback as a registry client (replication) log in with a password kept
 * in memory only (berth_auth_system_password), derived from the token
 * signing key: the processes sharing the key accept each other's (a token
 * request behind a load balancer lands on any of them), and whoever could
 * derive it could mint any token with the key anyway. It is a system
 * administrator and exists in no database, so it cannot be renamed or
 * disabled.
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

/* ---- throttling ---- */

/* Seconds to wait after the last of `n` failures, `free_` of which cost nothing. */
static long backoff(long n, long free_)
{
	long shift, wait;

	if (n < free_)
		return 0;
	shift = n - free_;
	if (shift > 10)
		shift = 10;
	wait = (long)BERTH_AUTH_THROTTLE_BASE << shift;
	return wait > BERTH_AUTH_THROTTLE_MAX_WAIT ? BERTH_AUTH_THROTTLE_MAX_WAIT : wait;
}

/* *wait: seconds before `key` may try again (0: now); < 0 on a database error. */
static int throttle_wait(berth_auth *a, const char *key, long free_, time_t now, long *wait)
{
	long n = 0;
	time_t last = 0;
	int rc;

	*wait = 0;
	if ((rc = berth_meta_login_failures(a->meta, key, now - BERTH_AUTH_THROTTLE_WINDOW, &n,
					    &last)) < 0)
		return rc;
	if (n >= free_ && last + backoff(n, free_) > now)
		*wait = (long)(last + backoff(n, free_) - now);
	return 0;
}

static void count_failure(berth_auth *a, const char *pkey, const char *akey, time_t now)
{
	if (berth_meta_login_failure_add(a->meta, pkey, now) < 0 ||
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

/* ---- verification, with the cache of successful ones ---- */

/*
 * Password check for a stored hash. A successful bcrypt verification is
 * remembered for a short while (see cache.c) under a keyed hash of the
 * name, the password and the stored hash: a changed hash misses.
 */
static int verify(berth_auth *a, const char *name, const char *password, const char *hash)
{
	unsigned char mac[BERTH_AUTH__MAC_LEN];
	int have = berth_auth__cache_mac(a, name, password, hash, mac) == 0;

	if (have && berth_auth__cache_hit(a, mac))
		return 0;
	if (berth_cred_password_verify(hash, password) != 0)
		return -1;
	if (have)
		berth_auth__cache_put(a, mac);
	explicit_bzero(mac, sizeof(mac));
	return 0;
}

/* 1 if `user`/`password` is a robot's login; fills `id`. *refused: right secret, but expired. */
static int robot_login(berth_auth *a, const char *user, const char *password, berth_identity *id,
		       int *refused, int *rc)
{
	berth_buf perms = BERTH_BUF_INIT(ROBOT_PERMS_MAX);
	berth_meta_robot r;
	int ok = 0;

	*rc = berth_meta_robot_get(a->meta, user + strlen(ROBOT_PREFIX), &r, &perms);
	if (*rc == BERTH_ENOTFOUND) {
		berth_cred_password_burn(password);
		*rc = 0;
	} else if (*rc == 0 && verify(a, user, password, r.secret_hash) == 0) {
		if (r.expires && r.expires <= time(NULL)) {
			*refused = 1;
		} else if (berth_auth__robot_perms(r.permissions, id) == 0) {
			ok = 1;
			id->principal.kind = BERTH_PRINCIPAL_ROBOT;
			id->principal.id = r.id;
			id->principal.generation = r.generation;
			snprintf(id->principal.name, sizeof(id->principal.name), "%s%.200s",
				 ROBOT_PREFIX, r.name);
		}
	}
	explicit_bzero(&r, sizeof(r));
	berth_buf_dispose(&perms);
	return ok;
}

static int user_login(berth_auth *a, const char *user, const char *password, berth_identity *id,
		      int *refused, int *rc)
{
	berth_meta_user u;
	int ok = 0;

	*rc = berth_meta_user_get(a->meta, user, &u);
	if (*rc == BERTH_ENOTFOUND) {
		berth_cred_password_burn(password);
		*rc = 0;
	} else if (*rc == 0 && verify(a, user, password, u.password_hash) == 0) {
		if (u.disabled) {
			*refused = 1;
		} else {
			ok = 1;
			id->principal.kind = BERTH_PRINCIPAL_USER;
			id->principal.id = u.id;
			id->principal.sysadmin = u.sysadmin;
			id->principal.generation = u.generation;
			snprintf(id->principal.name, sizeof(id->principal.name), "%s", u.name);
		}
	}
	explicit_bzero(&u, sizeof(u));
	return ok;
}

static int system_login(berth_auth *a, const char *password, berth_identity *id)
{
	size_t n = strlen(a->system_password);

	if (strlen(password) != n || CRYPTO_memcmp(password, a->system_password, n) != 0)
		return 0;
	id->principal.kind = BERTH_PRINCIPAL_SYSTEM;
	id->principal.sysadmin = 1;
	snprintf(id->principal.name, sizeof(id->principal.name), "%s", BERTH_AUTH_SYSTEM_USER);
	return 1;
}

int berth_auth__login(berth_auth *a, const char *user, const char *password, const char *address,
		      berth_identity *id)
{
	char pkey[400], akey[96], who[160];
	time_t now = time(NULL);
	long wp = 0, wa = 0;
	int rc = 0, ok, refused = 0;

	memset(id, 0, sizeof(*id));
	snprintf(pkey, sizeof(pkey), "pair:%s@%s", address ? address : "", user);
	snprintf(akey, sizeof(akey), "addr:%s", address ? address : "");
	safe_name(user, who, sizeof(who));
	if ((rc = throttle_wait(a, pkey, BERTH_AUTH_THROTTLE_PAIR, now, &wp)) < 0 ||
	    (rc = throttle_wait(a, akey, BERTH_AUTH_THROTTLE_ADDRESS, now, &wa)) < 0)
		goto done;
	if (wp || wa) {
		berth_auth__audit(a, who, "login_failure", "", address, "throttled");
		id->retry_after = wp > wa ? wp : wa;
		rc = berth_error_set(BERTH_EBUSY, "too many failed logins");
		goto done;
	}
	if (strcmp(user, BERTH_AUTH_SYSTEM_USER) == 0)
		ok = system_login(a, password, id);
	else if (strncmp(user, ROBOT_PREFIX, strlen(ROBOT_PREFIX)) == 0)
		ok = robot_login(a, user, password, id, &refused, &rc);
	else
		ok = user_login(a, user, password, id, &refused, &rc);
	if (rc < 0)
		goto done;
	if (!ok) {
		/* The right secret of an expired robot or a disabled user is not a guess. */
		if (!refused)
			count_failure(a, pkey, akey, now);
		berth_auth__audit(a, who, "login_failure", "", address,
				  !refused ? "failure"
				  : strncmp(user, ROBOT_PREFIX, strlen(ROBOT_PREFIX)) == 0
					  ? "expired"
					  : "disabled");
		memset(id, 0, sizeof(*id));
		rc = berth_error_set(BERTH_EDENIED, "invalid credentials");
		goto done;
	}
	if (berth_meta_login_failures_clear(a->meta, pkey) < 0)
		berth_warn("clearing failed logins: %s", berth_error_last());
	rc = 0;
done:
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
	id->principal.generation = c->generation;
	snprintf(id->principal.name, sizeof(id->principal.name), "%s", c->sub);
	if (c->kind == BERTH_PRINCIPAL_USER) {
		berth_meta_user u;

		rc = berth_meta_user_get_by_id(a->meta, c->principal_id, &u);
		/* Same id, name and generation (a password change, disabling or
		 * enabling revokes every earlier token); ids are never reused. */
		if (rc == 0 &&
		    (strcmp(u.name, c->sub) != 0 || u.generation != c->generation || u.disabled))
			rc = BERTH_ENOTFOUND;
		if (rc == 0)
			id->principal.sysadmin = u.sysadmin;
		explicit_bzero(&u, sizeof(u));
	} else if (c->kind == BERTH_PRINCIPAL_ROBOT) {
		berth_meta_robot r;

		if (strncmp(c->sub, ROBOT_PREFIX, strlen(ROBOT_PREFIX)) != 0) {
			rc = BERTH_ENOTFOUND;
		} else {
			rc = berth_meta_robot_get(a->meta, c->sub + strlen(ROBOT_PREFIX), &r,
						  &perms);
			if (rc == 0 && (r.id != c->principal_id || r.generation != c->generation ||
					(r.expires && r.expires <= time(NULL))))
				rc = BERTH_ENOTFOUND;
			if (rc == 0)
				rc = berth_auth__robot_perms(r.permissions, id);
			explicit_bzero(&r, sizeof(r));
		}
	} else if (c->kind == BERTH_PRINCIPAL_SYSTEM) {
		/* Only this server signs tokens: one for the system principal came from it. */
		if (strcmp(c->sub, BERTH_AUTH_SYSTEM_USER) != 0)
			rc = BERTH_ENOTFOUND;
		id->principal.sysadmin = 1;
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

static int refusal(berth_auth *a, const berth_req *req, berth_exchange **out, int kind,
		   const char *message, long retry_after)
{
	berth_auth_op *op = berth_auth__op_new(a, req);

	if (!op)
		return berth_error_set(BERTH_ERROR, "out of memory");
	op->resp.route = "auth";
	if (kind == BERTH_EBUSY && retry_after > 0)
		berth_auth__throttled(op, retry_after);
	else if (kind == BERTH_EDENIED)
		berth_auth__unauthorized(op, message);
	else
		berth_auth__internal(op);
	*out = &op->x;
	return 0;
}

int berth_auth_authenticate(berth_auth *a, const berth_req *req, berth_identity *id,
			    berth_exchange **out)
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
			return refusal(a, req, out, BERTH_EDENIED, "malformed credentials", 0);
		long wait;

		rc = berth_auth__login(a, user, pass, req->remote_addr, id);
		explicit_bzero(pass, sizeof(pass));
		if (rc == 0)
			return 0;
		wait = id->retry_after;
		memset(id, 0, sizeof(*id));
		return refusal(a, req, out,
			       rc == BERTH_EDENIED || rc == BERTH_EBUSY ? rc : BERTH_ERROR,
			       "invalid credentials", wait);
	}
	if (strncasecmp(h, "Bearer", 6) == 0 && (h[6] == ' ' || h[6] == '\0')) {
		if (berth_cred_parse_bearer(h, &tok, &tok_len) < 0)
			return refusal(a, req, out, BERTH_EDENIED, "malformed token", 0);
		if (berth_token_verify(a->key, tok, tok_len, a->issuer, a->service, time(NULL),
				       &id->claims) < 0) {
			berth_debug("request %s: token refused: %s",
				    req->request_id ? req->request_id : "", berth_error_last());
			memset(id, 0, sizeof(*id));
			return refusal(a, req, out, BERTH_EDENIED, "invalid token", 0);
		}
		id->bearer = 1;
		rc = from_token(a, id);
		if (rc == 0)
			return 0;
		memset(id, 0, sizeof(*id));
		return refusal(a, req, out, rc == BERTH_EDENIED ? rc : BERTH_ERROR, "invalid token",
			       0);
	}
	return refusal(a, req, out, BERTH_EDENIED, "unsupported authorization scheme", 0);
}
