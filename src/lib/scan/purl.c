/*
 * purl.c - reading Package URLs back (github.com/package-url/purl-spec):
 * the scanner meets them in SBOMs, VEX statements and ignore files, and
 * compares them part by part with the PURLs the catalogue wrote.
 */
#include "internal.h"

#include "berth/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PURL_TEXT_MAX 8192

static int hexval(int c)
{
	return isdigit(c)				  ? c - '0'
	       : (tolower(c) >= 'a' && tolower(c) <= 'f') ? tolower(c) - 'a' + 10
							  : -1;
}

static char *decode(const char *s, size_t n)
{
	char *o = malloc(n + 1), *q = o;

	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int h, l;

		if (s[i] == '%' && i + 2 < n && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
		    (l = hexval((unsigned char)s[i + 2])) >= 0) {
			*q++ = (char)(h * 16 + l);
			i += 2;
		} else {
			*q++ = s[i];
		}
	}
	*q = '\0';
	return o;
}

void berth_scan__purl_dispose(scan_purl *p)
{
	free(p->type);
	free(p->ns);
	free(p->name);
	free(p->version);
	free(p->qualifiers);
	memset(p, 0, sizeof(*p));
}

int berth_scan__purl_parse(scan_purl *out, const char *s)
{
	const char *end, *q, *at, *slash, *body;
	size_t n = strlen(s);

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "pkg:", 4) != 0 || n > PURL_TEXT_MAX)
		return berth_error_set(BERTH_EINVALID, "not a package URL: '%.100s'", s);
	end = s + strcspn(s, "#"); /* subpath ignored */
	q = memchr(s, '?', (size_t)(end - s));
	if (!q)
		q = end;
	body = s + 4;
	while (*body == '/')
		body++;
	slash = memchr(body, '/', (size_t)(q - body));
	if (!slash || slash == body)
		return berth_error_set(BERTH_EINVALID, "package URL without a type: '%.100s'", s);
	out->type = strndup(body, (size_t)(slash - body));
	body = slash + 1;
	at = NULL;
	for (const char *p = body; p < q; p++)
		if (*p == '@')
			at = p;
	if (!at)
		at = q;
	/* the name is the last segment before '@'; what is before it is the namespace */
	slash = NULL;
	for (const char *p = body; p < at; p++)
		if (*p == '/')
			slash = p;
	out->ns = slash ? decode(body, (size_t)(slash - body)) : strdup("");
	out->name = slash ? decode(slash + 1, (size_t)(at - slash - 1))
			  : decode(body, (size_t)(at - body));
	out->version = at < q ? decode(at + 1, (size_t)(q - at - 1)) : strdup("");
	out->qualifiers = q < end ? decode(q + 1, (size_t)(end - q - 1)) : strdup("");
	if (!out->type || !out->ns || !out->name || !out->version || !out->qualifiers) {
		berth_scan__purl_dispose(out);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	for (char *p = out->type; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!*out->name) {
		berth_scan__purl_dispose(out);
		return berth_error_set(BERTH_EINVALID, "package URL without a name: '%.100s'", s);
	}
	return 0;
}

const char *berth_scan__purl_qualifier(const scan_purl *p, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);

	for (const char *q = p->qualifiers; *q;) {
		size_t n = strcspn(q, "&");

		if (n > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
			snprintf(buf, len, "%.*s", (int)(n - kl - 1), q + kl + 1);
			return buf;
		}
		q += n;
		if (*q)
			q++;
	}
	return NULL;
}

/* Each qualifier of `want` is in `have` with the same value. */
static int qualifiers_within(const scan_purl *want, const scan_purl *have)
{
	for (const char *q = want->qualifiers; *q;) {
		size_t n = strcspn(q, "&"), eq = strcspn(q, "=");
		char key[128], v1[1024], v2[1024];

		if (eq < n && eq < sizeof(key)) {
			snprintf(key, sizeof(key), "%.*s", (int)eq, q);
			snprintf(v1, sizeof(v1), "%.*s", (int)(n - eq - 1), q + eq + 1);
			if (!berth_scan__purl_qualifier(have, key, v2, sizeof(v2)) ||
			    strcmp(v1, v2) != 0)
				return 0;
		}
		q += n;
		if (*q)
			q++;
	}
	return 1;
}

int berth_scan__purl_matches(const char *want, const char *have)
{
	scan_purl w, h;
	int ok;

	if (!want || !have)
		return 0;
	if (berth_scan__purl_parse(&w, want) != 0) {
		berth_error_clear();
		return 0;
	}
	if (berth_scan__purl_parse(&h, have) != 0) {
		berth_error_clear();
		berth_scan__purl_dispose(&w);
		return 0;
	}
	ok = strcmp(w.type, h.type) == 0 && strcmp(w.ns, h.ns) == 0 &&
	     strcmp(w.name, h.name) == 0 && (!*w.version || strcmp(w.version, h.version) == 0) &&
	     qualifiers_within(&w, &h);
	berth_scan__purl_dispose(&w);
	berth_scan__purl_dispose(&h);
	return ok;
}

int berth_scan__read(char **out, size_t *len, const char *path)
{
	FILE *f = fopen(path, "rb");
	berth_buf b = BERTH_BUF_INIT(BERTH_SCAN_INPUT_MAX);
	char chunk[65536];
	size_t n;
	int rc = 0;

	*out = NULL;
	*len = 0;
	if (!f)
		return berth_error_set_errno("%s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if ((rc = berth_buf_put(&b, chunk, n)) != 0) {
			rc = berth_error_set(rc, "%s: larger than %u bytes", path,
					     BERTH_SCAN_INPUT_MAX);
			break;
		}
	}
	if (!rc && ferror(f))
		rc = berth_error_set_errno("%s", path);
	fclose(f);
	if (rc) {
		berth_buf_dispose(&b);
		return rc;
	}
	if (!b.ptr && berth_buf_puts(&b, "") != 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*out = berth_buf_detach(&b, len);
	return 0;
}
