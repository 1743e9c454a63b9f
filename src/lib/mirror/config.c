/*
 * config.c - the mirror's configuration: Distribution's `proxy:` section
 * and berth's `upstreams:` list (see berth/mirror.h), as JSON.
 */
#include "internal.h"

#include "util/log.h"

#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONFIG_JSON_MAX (1024 * 1024)
#define CRED_MAX 4096

int berth_mirror_parse_ttl(const char *s, long *seconds)
{
	long total = 0;
	const char *p = s;

	if (!s || !*s)
		return berth_error_set(BERTH_EINVALID, "ttl: empty");
	while (*p) {
		long n = 0, unit;

		if (!isdigit((unsigned char)*p))
			return berth_error_set(BERTH_EINVALID, "ttl '%s': expected a number", s);
		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p++ - '0');
			if (n > BERTH_MIRROR_TTL_MAX)
				return berth_error_set(BERTH_EINVALID, "ttl '%s': too long", s);
		}
		switch (*p) {
		case '\0':
			if (p - s != (long)strlen(s) || total)
				return berth_error_set(BERTH_EINVALID, "ttl '%s': unit missing", s);
			unit = 1;
			break;
		case 's':
			unit = 1;
			p++;
			break;
		case 'm':
			unit = 60;
			p++;
			break;
		case 'h':
			unit = 3600;
			p++;
			break;
		case 'd':
			unit = 86400;
			p++;
			break;
		default:
			return berth_error_set(BERTH_EINVALID,
					       "ttl '%s': unknown unit '%c' (s, m, h, d)", s, *p);
		}
		total += n * unit;
		if (total > BERTH_MIRROR_TTL_MAX)
			return berth_error_set(BERTH_EINVALID, "ttl '%s': longer than ten years",
					       s);
	}
	*seconds = total;
	return 0;
}

/* An optional string member of `o` into *out (owned copy); cap on its length. */
static int opt_string(json_t *o, const char *key, const char *where, size_t cap, char **out)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return berth_error_set(BERTH_EINVALID, "%s.%s: expected a string", where, key);
	if (json_string_length(v) > cap || strlen(json_string_value(v)) != json_string_length(v))
		return berth_error_set(BERTH_EINVALID, "%s.%s: too long or contains NUL", where,
				       key);
	if (!(*out = strdup(json_string_value(v))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

/* The host[:port] of an http(s) URL into `host` (lowercased). */
static int url_host(const char *url, const char *where, char *host, size_t cap)
{
	const char *p, *e;

	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		p = url + 8;
	else
		return berth_error_set(BERTH_EINVALID, "%s: '%s' is not an http(s) URL", where,
				       url);
	e = p + strcspn(p, "/?#");
	if (e == p || (size_t)(e - p) >= cap || memchr(p, '@', (size_t)(e - p)))
		return berth_error_set(BERTH_EINVALID, "%s: '%s' has no usable host", where, url);
	for (size_t i = 0; p + i < e; i++)
		host[i] = (char)tolower((unsigned char)p[i]);
	host[e - p] = '\0';
	return 0;
}

/* A name that may start a repository name once ':' is written '_'. */
static int name_ok(const char *n)
{
	size_t len = strlen(n);

	if (!len || len > BERTH_MIRROR_NAME_MAX || !isalnum((unsigned char)n[0]) ||
	    !isalnum((unsigned char)n[len - 1]))
		return 0;
	for (const char *p = n; *p; p++)
		if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '.' ||
		      *p == '-' || *p == ':'))
			return 0;
	return 1;
}

static int is_docker_hub(const char *name)
{
	return strcmp(name, "docker.io") == 0 || strcmp(name, "registry-1.docker.io") == 0 ||
	       strcmp(name, "index.docker.io") == 0;
}

/* Prefix the ttl parser's message with the key (copied: the slot is rewritten). */
static int ttl_error(const char *where)
{
	char why[256];

	snprintf(why, sizeof(why), "%s", berth_error_last());
	return berth_error_set(BERTH_EINVALID, "%s.ttl: %s", where, why);
}

/* Fill `up` from one JSON object: `url_key` is "remoteurl" (proxy) or "url". */
static int upstream_load(berth_mirror__upstream *up, json_t *o, const char *where,
			 const char *url_key)
{
	char host[BERTH_MIRROR_NAME_MAX + 1], *ttl = NULL, *name = NULL, *push = NULL;
	const char *known[] = {"name",	   "host", "url",     "remoteurl", "username",
			       "password", "ttl",  "default", "push",	   NULL};
	const char *k;
	json_t *v;
	int rc;

	if (!json_is_object(o))
		return berth_error_set(BERTH_EINVALID, "%s: expected a mapping", where);
	json_object_foreach(o, k, v)
	{
		size_t i = 0;

		while (known[i] && strcmp(known[i], k) != 0)
			i++;
		if (!known[i] || (strcmp(k, "url") == 0 && strcmp(url_key, "url") != 0) ||
		    (strcmp(k, "remoteurl") == 0 && strcmp(url_key, "remoteurl") != 0))
			return berth_error_set(BERTH_EINVALID, "%s: unknown key '%s'", where, k);
	}
	up->ttl = BERTH_MIRROR_TTL_DEFAULT;
	if ((rc = opt_string(o, url_key, where, BERTH_MIRROR_URL_MAX, &up->url)) < 0 ||
	    (rc = opt_string(o, "username", where, CRED_MAX, &up->username)) < 0 ||
	    (rc = opt_string(o, "password", where, CRED_MAX, &up->password)) < 0 ||
	    (rc = opt_string(o, "name", where, BERTH_MIRROR_NAME_MAX, &name)) < 0 ||
	    (!name && (rc = opt_string(o, "host", where, BERTH_MIRROR_NAME_MAX, &name)) < 0))
		goto done;
	if (!up->url) {
		rc = berth_error_set(BERTH_EINVALID, "%s.%s: missing", where, url_key);
		goto done;
	}
	while (strlen(up->url) > 8 && up->url[strlen(up->url) - 1] == '/')
		up->url[strlen(up->url) - 1] = '\0';
	if ((rc = url_host(up->url, where, host, sizeof(host))) < 0)
		goto done;
	if (!!up->username != !!up->password) {
		rc = berth_error_set(BERTH_EINVALID, "%s: username and password go together",
				     where);
		goto done;
	}
	if ((v = json_object_get(o, "ttl")) && json_is_integer(v)) {
		up->ttl = (long)json_integer_value(v);
		if (up->ttl < 0 || up->ttl > BERTH_MIRROR_TTL_MAX) {
			rc = berth_error_set(BERTH_EINVALID, "%s.ttl: out of range", where);
			goto done;
		}
	} else if ((rc = opt_string(o, "ttl", where, 64, &ttl)) < 0 ||
		   (ttl && (rc = berth_mirror_parse_ttl(ttl, &up->ttl)) < 0)) {
		if (ttl)
			rc = ttl_error(where);
		goto done;
	}
	if ((v = json_object_get(o, "default")) && !json_is_boolean(v)) {
		rc = berth_error_set(BERTH_EINVALID, "%s.default: expected true or false", where);
		goto done;
	}
	up->is_default = v && json_is_true(v);
	if ((rc = opt_string(o, "push", where, 16, &push)) < 0)
		goto done;
	if (push && strcmp(push, "allow") != 0 && strcmp(push, "refuse") != 0) {
		rc = berth_error_set(BERTH_EINVALID, "%s.push: expected allow or refuse", where);
		goto done;
	}
	up->push = push && strcmp(push, "allow") == 0;
	/* Distribution's proxy section mirrors Docker Hub for Docker daemons
	 * (registry-mirrors): it is docker.io unless named otherwise. */
	if (!name &&
	    !(name = strdup(is_docker_hub(host) || strcmp(url_key, "remoteurl") == 0 ? "docker.io"
										     : host))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (!name_ok(name)) {
		rc = berth_error_set(BERTH_EINVALID,
				     "%s.name: '%s' is not a registry host name (letters, digits, "
				     "'.', '-', ':port')",
				     where, name);
		goto done;
	}
	up->name = name;
	name = NULL;
	up->docker_hub = is_docker_hub(up->name);
	if (!(up->prefix = strdup(up->docker_hub ? "docker.io" : up->name))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (char *p = up->prefix; *p; p++)
		if (*p == ':')
			*p = '_';
done:
	free(ttl);
	free(push);
	free(name);
	return rc;
}

static int load_root(berth_mirror *m, json_t *root)
{
	json_t *proxy = json_object_get(root, "proxy"), *list = json_object_get(root, "upstreams");
	size_t n = (proxy ? 1 : 0) + (json_is_array(list) ? json_array_size(list) : 0);
	char where[64];
	int rc;

	if (list && !json_is_array(list))
		return berth_error_set(BERTH_EINVALID, "upstreams: expected a list");
	if (n == 0)
		return berth_error_set(BERTH_EINVALID, "mirror: no proxy and no upstreams");
	if (n > BERTH_MIRROR_UPSTREAMS_MAX)
		return berth_error_set(BERTH_EINVALID, "upstreams: more than %d",
				       BERTH_MIRROR_UPSTREAMS_MAX);
	if (!(m->ups = calloc(n, sizeof(*m->ups))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	m->nalloc = n;
	if (proxy) {
		if ((rc = upstream_load(&m->ups[0], proxy, "proxy", "remoteurl")) < 0)
			return rc;
		m->nups = 1;
	}
	for (size_t i = 0; list && i < json_array_size(list); i++) {
		snprintf(where, sizeof(where), "upstreams[%zu]", i);
		if ((rc = upstream_load(&m->ups[m->nups], json_array_get(list, i), where, "url")) <
		    0)
			return rc;
		m->nups++;
	}
	for (size_t i = 0; i < m->nups; i++) {
		for (size_t j = 0; j < i; j++)
			if (strcmp(m->ups[i].prefix, m->ups[j].prefix) == 0)
				return berth_error_set(BERTH_EINVALID,
						       "upstreams: '%s' is configured twice",
						       m->ups[i].name);
		if (m->ups[i].is_default && m->def)
			return berth_error_set(BERTH_EINVALID,
					       "upstreams: more than one is the default");
		if (m->ups[i].is_default)
			m->def = &m->ups[i];
	}
	if (!m->def)
		m->def = &m->ups[0];
	return 0;
}

int berth_mirror__config_load(berth_mirror *m, const char *json)
{
	json_t *root;
	json_error_t jerr;
	int rc;

	if (!json || strlen(json) > CONFIG_JSON_MAX)
		return berth_error_set(BERTH_EINVALID,
				       "mirror: configuration missing or too large");
	if (!(root = json_loads(json, 0, &jerr)) || !json_is_object(root)) {
		json_decref(root);
		return berth_error_set(BERTH_EINVALID,
				       "mirror: configuration is not a JSON object");
	}
	rc = load_root(m, root);
	json_decref(root);
	return rc;
}

void berth_mirror__upstreams_free(berth_mirror *m)
{
	for (size_t i = 0; m->ups && i < m->nalloc; i++) {
		berth_mirror__upstream *up = &m->ups[i];

		berth_client_free(up->client);
		free(up->name);
		free(up->prefix);
		free(up->url);
		free(up->username);
		if (up->password)
			explicit_bzero(up->password, strlen(up->password));
		free(up->password);
	}
	free(m->ups);
	m->ups = NULL;
	m->nups = m->nalloc = 0;
}

int berth_mirror_configured(const char *config_json)
{
	json_t *root = config_json ? json_loads(config_json, 0, NULL) : NULL;
	int yes = root && (json_object_get(root, "proxy") || json_object_get(root, "upstreams"));

	json_decref(root);
	return yes;
}

int berth_mirror_config_check(const char *config_json)
{
	berth_mirror m;
	int rc;

	memset(&m, 0, sizeof(m));
	rc = berth_mirror__config_load(&m, config_json);
	berth_mirror__upstreams_free(&m);
	return rc;
}
