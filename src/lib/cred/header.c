/*
 * header.c - the HTTP grammars of authentication: parsing the Basic and
 * Bearer Authorization headers (RFC 7617, RFC 6750) and building the
 * WWW-Authenticate challenge of the Docker token protocol.
 *
 * Parsing is strict and bounded: the scheme is matched case-insensitively,
 * credentials must be canonical base64 / token68, and anything odd is
 * BERTH_EINVALID with a message that never repeats the credentials. Decoded
 * credentials are wiped from temporary buffers.
 */
#include "lib/cred/internal.h"
#include "util/b64.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BASIC_B64_MAX 8192 /* encoded credentials, before any decoding */

/* After "Scheme", require 1+ spaces; return the start of the credentials or NULL. */
static const char *after_scheme(const char *h, size_t hlen, const char *scheme)
{
	size_t n = strlen(scheme), i;

	if (hlen <= n || strncasecmp(h, scheme, n) != 0 || h[n] != ' ')
		return NULL;
	for (i = n; i < hlen && h[i] == ' '; i++)
		;
	return h + i;
}

/* Length of s[0..n) without trailing spaces and tabs. */
static size_t trim_end(const char *s, size_t n)
{
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return n;
}

static int has_ctl(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	}
	return 0;
}

int berth_cred_parse_basic(const char *header, char *user, size_t user_len, char *pass,
			   size_t pass_len)
{
	unsigned char *raw = NULL;
	const char *cred;
	size_t hlen, clen, rawmax = 0, ulen, plen;
	unsigned char *colon;
	long n = -1;
	int rc = 0;

	if (user_len)
		user[0] = '\0';
	if (pass_len)
		pass[0] = '\0';
	if (!header || user_len < 2 || pass_len < 1)
		return berth_error_set(BERTH_EINVALID, "malformed Basic credentials");
	hlen = strnlen(header, BASIC_B64_MAX + 64);
	if (!(cred = after_scheme(header, hlen, "Basic")))
		return berth_error_set(BERTH_EINVALID, "malformed Basic credentials");
	clen = trim_end(cred, hlen - (size_t)(cred - header));
	/* user + ':' + password must fit the two buffers (without their NULs). */
	rawmax = user_len - 1 + 1 + pass_len - 1;
	if (clen == 0 || clen > BASIC_B64_MAX || clen / 4 * 3 > rawmax + 2)
		return berth_error_set(BERTH_EINVALID, "malformed or too long Basic credentials");
	if (!(raw = malloc(rawmax + 3)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((n = berth_b64_decode(raw, rawmax + 2, cred, clen)) < 0 || (size_t)n > rawmax) {
		rc = berth_error_set(BERTH_EINVALID, "malformed or too long Basic credentials");
		goto done;
	}
	if (!(colon = memchr(raw, ':', (size_t)n)) || has_ctl(raw, (size_t)n)) {
		rc = berth_error_set(BERTH_EINVALID, "malformed Basic credentials");
		goto done;
	}
	ulen = (size_t)(colon - raw);
	plen = (size_t)n - ulen - 1;
	if (ulen == 0 || ulen >= user_len || plen >= pass_len) {
		rc = berth_error_set(BERTH_EINVALID, "malformed or too long Basic credentials");
		goto done;
	}
	memcpy(user, raw, ulen);
	user[ulen] = '\0';
	memcpy(pass, colon + 1, plen);
	pass[plen] = '\0';
done:
	if (raw)
		explicit_bzero(raw, rawmax + 3);
	free(raw);
	if (rc) {
		explicit_bzero(user, user_len);
		explicit_bzero(pass, pass_len);
		user[0] = pass[0] = '\0';
	}
	return rc;
}

static int token68_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

int berth_cred_parse_bearer(const char *header, const char **token, size_t *token_len)
{
	const char *t;
	size_t hlen, n, i;

	*token = NULL;
	*token_len = 0;
	if (!header)
		return berth_error_set(BERTH_EINVALID, "malformed Bearer credentials");
	hlen = strnlen(header, BERTH_TOKEN_MAX_BYTES + 256);
	if (!(t = after_scheme(header, hlen, "Bearer")))
		return berth_error_set(BERTH_EINVALID, "malformed Bearer credentials");
	n = trim_end(t, hlen - (size_t)(t - header));
	if (n == 0 || n > BERTH_TOKEN_MAX_BYTES || header[hlen] != '\0')
		return berth_error_set(BERTH_EINVALID, "malformed or too long Bearer token");
	/* token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
	for (i = 0; i < n && token68_char((unsigned char)t[i]); i++)
		;
	if (i == 0)
		return berth_error_set(BERTH_EINVALID, "malformed Bearer token");
	while (i < n && t[i] == '=')
		i++;
	if (i != n)
		return berth_error_set(BERTH_EINVALID, "malformed Bearer token");
	*token = t;
	*token_len = n;
	return 0;
}

/* Append `s` as a quoted-string: '"' and '\' escaped, control characters refused. */
static int put_quoted(berth_buf *out, const char *s)
{
	int rc;

	if (has_ctl((const unsigned char *)s, strlen(s)))
		return berth_error_set(BERTH_EINVALID, "control character in a challenge value");
	if ((rc = berth_buf_puts(out, "\"")) != 0)
		return rc;
	for (const char *p = s; *p; p++) {
		if ((*p == '"' || *p == '\\') && (rc = berth_buf_puts(out, "\\")) != 0)
			return rc;
		if ((rc = berth_buf_put(out, p, 1)) != 0)
			return rc;
	}
	return berth_buf_puts(out, "\"");
}

int berth_cred_challenge(berth_buf *out, const char *realm, const char *service,
			 const berth_scope *scopes, size_t nscopes, const char *error)
{
	berth_buf sc = BERTH_BUF_INIT(64 * 1024);
	size_t start = out->len;
	int rc;

	if (!realm) {
		rc = berth_error_set(BERTH_EINVALID, "a challenge needs a realm");
		goto done;
	}
	if ((rc = berth_buf_puts(out, "Bearer realm=")) != 0 || (rc = put_quoted(out, realm)) != 0)
		goto done;
	if (service &&
	    ((rc = berth_buf_puts(out, ",service=")) != 0 || (rc = put_quoted(out, service)) != 0))
		goto done;
	if (nscopes) {
		for (size_t i = 0; i < nscopes; i++) {
			if ((i && (rc = berth_buf_puts(&sc, " ")) != 0) ||
			    (rc = berth_token_scope_format(&scopes[i], &sc)) != 0)
				goto done;
		}
		if ((rc = berth_buf_puts(out, ",scope=")) != 0 ||
		    (rc = put_quoted(out, sc.ptr)) != 0)
			goto done;
	}
	if (error &&
	    ((rc = berth_buf_puts(out, ",error=")) != 0 || (rc = put_quoted(out, error)) != 0))
		goto done;
done:
	if (rc && out->ptr) {
		/* Leave the buffer as it was. */
		out->len = start;
		out->ptr[start] = '\0';
	}
	berth_buf_dispose(&sc);
	return rc;
}
