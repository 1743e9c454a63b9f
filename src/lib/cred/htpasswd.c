/*
 * htpasswd.c - parser for Apache htpasswd files ("user:hash" per line), so
 * that an existing file can be imported into berth's users, and the shape
 * check of stored hashes shared with password verification.
 *
 * Only schemes libcrypt verifies well and that are still considered sound
 * are accepted: bcrypt ($2y$ from `htpasswd -B`, $2a$, $2b$) and SHA-crypt
 * ($5$, $6$). MD5 ($apr1$), {SHA} and DES crypt are refused with the line
 * number. The whole text is checked before the first callback, so an import
 * is all or nothing. Messages never contain a hash or a user name.
 */
#include "lib/cred/internal.h"

#include "berth/meta.h" /* the user name cap the imported users must meet */

#include <stdlib.h>
#include <string.h>

#define LINE_MAX_LEN 4096
#define BCRYPT_COST_MAX 16 /* cost 17+ would make each login take seconds */
#define SHACRYPT_ROUNDS_MAX 1000000

static int crypt_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '/';
}

static int all_crypt_chars(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!crypt_char((unsigned char)s[i]))
			return 0;
	}
	return 1;
}

/* "$2y$NN$" + 22 salt + 31 hash chars. */
static int bcrypt_ok(const char *h, size_t n)
{
	int cost;

	if (n != 60 || h[0] != '$' || h[1] != '2' || (h[2] != 'y' && h[2] != 'a' && h[2] != 'b') ||
	    h[3] != '$' || h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9' || h[6] != '$')
		return 0;
	cost = (h[4] - '0') * 10 + (h[5] - '0');
	return cost >= 4 && cost <= BCRYPT_COST_MAX && all_crypt_chars(h + 7, 53);
}

/* "$5$" / "$6$" [rounds=N$] salt(1..16) "$" hash(43 / 86). */
static int shacrypt_ok(const char *h, size_t n)
{
	size_t hashlen = h[1] == '5' ? 43 : 86, i = 3, salt;
	const char *d;

	if (n < 3 || h[0] != '$' || (h[1] != '5' && h[1] != '6') || h[2] != '$')
		return 0;
	if (n - i > 7 && memcmp(h + i, "rounds=", 7) == 0) {
		unsigned long rounds = 0;
		size_t digits = 0;

		for (i += 7; i < n && h[i] >= '0' && h[i] <= '9' && digits < 10; i++, digits++)
			rounds = rounds * 10 + (unsigned long)(h[i] - '0');
		if (digits == 0 || i >= n || h[i] != '$' || rounds > SHACRYPT_ROUNDS_MAX)
			return 0;
		i++;
	}
	if (!(d = memchr(h + i, '$', n - i)))
		return 0;
	salt = (size_t)(d - (h + i));
	if (salt == 0 || salt > 16 || !all_crypt_chars(h + i, salt))
		return 0;
	i += salt + 1;
	return n - i == hashlen && all_crypt_chars(h + i, hashlen);
}

int berth_cred__hash_wellformed(const char *h, size_t n)
{
	if (n >= 4 && h[0] == '$' && h[1] == '2')
		return bcrypt_ok(h, n);
	if (n >= 3 && h[0] == '$' && (h[1] == '5' || h[1] == '6') && h[2] == '$')
		return shacrypt_ok(h, n);
	return 0;
}

/* A name for a refused scheme, for the message (never the hash itself). */
static const char *scheme_name(const char *h, size_t n)
{
	if (n >= 6 && memcmp(h, "$apr1$", 6) == 0)
		return "MD5 ($apr1$)";
	if (n >= 5 && memcmp(h, "{SHA}", 5) == 0)
		return "SHA-1 ({SHA})";
	if (n >= 3 && memcmp(h, "$1$", 3) == 0)
		return "MD5-crypt ($1$)";
	if (n == 13 && all_crypt_chars(h, n))
		return "DES crypt";
	if (n >= 2 && h[0] == '$' && h[1] == '2')
		return NULL; /* bcrypt, but malformed */
	if (n >= 3 && h[0] == '$' && (h[1] == '5' || h[1] == '6') && h[2] == '$')
		return NULL;
	return "plain text or unknown";
}

static int user_ok(const char *u, size_t n)
{
	if (n == 0 || n > BERTH_META_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c <= ' ' || c == 0x7f)
			return 0;
	}
	return 1;
}

/*
 * Walk the lines; with cb NULL only check them, otherwise call back with
 * each user and hash copied NUL-terminated.
 */
static int walk(const char *text, size_t len, berth_htpasswd_cb cb, void *ctx)
{
	char user[BERTH_META_NAME_MAX + 1], hash[BERTH_CRED_HASH_MAX];
	size_t pos = 0, lineno = 0;
	int rc = 0;

	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos, ws = 0;
		const char *colon, *name;
		const char *scheme;
		size_t ulen, hlen;

		pos += n + (nl ? 1 : 0);
		lineno++;
		if (n > LINE_MAX_LEN) {
			rc = berth_error_set(BERTH_EINVALID, "htpasswd line %zu: line too long",
					     lineno);
			goto done;
		}
		if (n && line[n - 1] == '\r')
			n--;
		if (memchr(line, '\0', n)) {
			rc = berth_error_set(BERTH_EINVALID, "htpasswd line %zu: NUL byte", lineno);
			goto done;
		}
		while (ws < n && (line[ws] == ' ' || line[ws] == '\t'))
			ws++;
		if (ws == n || line[ws] == '#')
			continue;
		if (!(colon = memchr(line, ':', n))) {
			rc = berth_error_set(BERTH_EINVALID,
					     "htpasswd line %zu: expected user:hash", lineno);
			goto done;
		}
		name = line;
		ulen = (size_t)(colon - line);
		hlen = n - ulen - 1;
		if (!user_ok(name, ulen)) {
			rc = berth_error_set(BERTH_EINVALID, "htpasswd line %zu: invalid user name",
					     lineno);
			goto done;
		}
		if (!berth_cred__hash_wellformed(colon + 1, hlen)) {
			scheme = scheme_name(colon + 1, hlen);
			if (scheme)
				rc = berth_error_set(
					BERTH_EUNSUPPORTED,
					"htpasswd line %zu: unsupported hash scheme %s "
					"(only bcrypt and SHA-crypt; re-create with "
					"htpasswd -B)",
					lineno, scheme);
			else
				rc = berth_error_set(BERTH_EINVALID,
						     "htpasswd line %zu: malformed hash", lineno);
			goto done;
		}
		if (!cb)
			continue;
		memcpy(user, name, ulen);
		user[ulen] = '\0';
		memcpy(hash, colon + 1, hlen);
		hash[hlen] = '\0';
		if ((rc = cb(ctx, user, hash)) != 0)
			goto done;
	}
done:
	explicit_bzero(hash, sizeof(hash));
	return rc;
}

int berth_cred_htpasswd_parse(const char *text, size_t len, berth_htpasswd_cb cb, void *ctx)
{
	int rc;

	if (len > BERTH_CRED_HTPASSWD_MAX)
		return berth_error_set(BERTH_ETOOBIG, "htpasswd text larger than 64 MiB");
	if (!text && len)
		return berth_error_set(BERTH_EINVALID, "no htpasswd text");
	/* Check everything first: nothing is imported from a bad file. */
	if ((rc = walk(text, len, NULL, NULL)) != 0)
		return rc;
	return cb ? walk(text, len, cb, ctx) : 0;
}
