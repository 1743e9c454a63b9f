/*
 * s3_config.c - the s3 store's settings as a URL, for the command line
 * (`berth migrate --store-to s3://bucket/root?endpoint=...`):
 * "s3://BUCKET[/ROOT][?KEY=VALUE&...]" where KEY is any field of
 * berth_store_s3_config. The server reads the same settings from its YAML.
 */
#include "berth/store.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S3_URL_MAX 4096 /* cap on a store URL */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode %XX in place; -1 on a bad escape. */
static int unescape(char *s)
{
	char *w = s;

	for (; *s; s++) {
		if (*s == '%') {
			int a = hexval(s[1]), b = a < 0 ? -1 : hexval(s[2]);

			if (b < 0)
				return -1;
			*w++ = (char)(a * 16 + b);
			s += 2;
		} else {
			*w++ = *s;
		}
	}
	*w = '\0';
	return 0;
}

static int parse_bool(const char *v, int *out)
{
	if (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0)
		*out = 1;
	else if (strcasecmp(v, "false") == 0 || strcmp(v, "0") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || *v == '-' || n > max)
		return -1;
	*out = n;
	return 0;
}

static int set_key(berth_store_s3_config *c, const char *k, const char *v)
{
	uint64_t n = 0;

	if (strcmp(k, "endpoint") == 0)
		c->endpoint = v;
	else if (strcmp(k, "region") == 0)
		c->region = v;
	else if (strcmp(k, "accesskey") == 0)
		c->accesskey = v;
	else if (strcmp(k, "secretkey") == 0)
		c->secretkey = v;
	else if (strcmp(k, "rootdirectory") == 0)
		c->rootdirectory = v;
	else if (strcmp(k, "storageclass") == 0)
		c->storageclass = v;
	else if (strcmp(k, "forcepathstyle") == 0)
		return parse_bool(v, &c->forcepathstyle);
	else if (strcmp(k, "secure") == 0)
		return parse_bool(v, &c->secure);
	else if (strcmp(k, "redirect") == 0)
		return parse_bool(v, &c->redirect);
	else if (strcmp(k, "chunksize") == 0)
		return parse_u64(v, BERTH_S3_PART_MAX, &c->chunksize);
	else if (strcmp(k, "timeout") == 0 || strcmp(k, "maxretries") == 0) {
		if (parse_u64(v, 3600, &n) < 0)
			return -1;
		if (k[0] == 't')
			c->timeout = (unsigned)n;
		else
			c->maxretries = (unsigned)n;
	} else
		return -2;
	return 0;
}

int berth_store_s3_config_parse(berth_store_s3_config *cfg, char **storage, const char *url)
{
	char *s = NULL, *q, *slash, *tok, *save = NULL;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->forcepathstyle = cfg->secure = -1;
	*storage = NULL;
	if (strncmp(url, "s3://", 5) != 0 || strlen(url) > S3_URL_MAX)
		return berth_error_set(BERTH_EINVALID,
				       "not an s3 store URL (s3://BUCKET[/ROOT][?...])");
	if (!(s = strdup(url + 5)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((q = strchr(s, '?')))
		*q++ = '\0';
	if ((slash = strchr(s, '/'))) {
		*slash++ = '\0';
		cfg->rootdirectory = slash;
	}
	cfg->bucket = s;
	for (tok = q ? strtok_r(q, "&", &save) : NULL; tok; tok = strtok_r(NULL, "&", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq || unescape(eq + 1) < 0) {
			rc = berth_error_set(BERTH_EINVALID, "s3 store URL: bad parameter %.64s",
					     tok);
			goto fail;
		}
		*eq = '\0';
		if ((rc = set_key(cfg, tok, eq + 1)) < 0) {
			rc = berth_error_set(BERTH_EINVALID, "s3 store URL: %s %.64s",
					     rc == -2 ? "unknown parameter" : "bad value for", tok);
			goto fail;
		}
	}
	*storage = s;
	return 0;
fail:
	free(s);
	memset(cfg, 0, sizeof(*cfg));
	return rc;
}
