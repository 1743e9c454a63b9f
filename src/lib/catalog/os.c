/*
 * os.c - which operating system a root filesystem holds: os-release
 * (/etc/os-release, else /usr/lib/os-release, as systemd reads them), and the
 * older release files as fallbacks (/etc/debian_version, /etc/alpine-release,
 * /etc/redhat-release). The distro namespace and version of OS package PURLs
 * come from here.
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* An os-release value: optionally quoted with " or ', backslash escapes in quotes. */
static char *value(const char *v, size_t n)
{
	char *o, *q;

	while (n && isspace((unsigned char)*v))
		v++, n--;
	while (n && isspace((unsigned char)v[n - 1]))
		n--;
	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		v++;
		n -= 2;
	}
	o = q = malloc(n + 1);
	if (!o)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '\\' && i + 1 < n)
			i++;
		*q++ = v[i];
	}
	*q = 0;
	return o;
}

static int take(cat_ctx *cx, int rank)
{
	cat_layer *l = cx->layer;

	if (rank > l->os_rank)
		return 0;
	l->os_rank = rank;
	return berth_catalog__set(&l->os_path, cx->path) < 0 ? -1 : 1;
}

int berth_catalog__os_release(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n, *line;
	berth_catalog *c = cx->layer->found;
	size_t len;
	int r = take(cx, strcmp(cx->path, "/etc/os-release") == 0 ? 0 : 1);

	if (r <= 0)
		return r < 0 ? berth_error_set(BERTH_ERROR, "out of memory") : 0;
	while (berth_catalog__line(&p, end, &line, &len)) {
		const char *eq = memchr(line, '=', len);
		static const char *const keys[] = {"ID", "VERSION_ID", "PRETTY_NAME",
						   "VERSION_CODENAME"};
		char **fields[] = {&c->os_id, &c->os_version_id, &c->os_name, &c->os_codename};

		if (!eq || line[0] == '#')
			continue;
		for (size_t k = 0; k < 4; k++) {
			if ((size_t)(eq - line) == strlen(keys[k]) &&
			    memcmp(line, keys[k], (size_t)(eq - line)) == 0) {
				char *v = value(eq + 1, len - (size_t)(eq - line) - 1);

				if (!v)
					return berth_error_set(BERTH_ERROR, "out of memory");
				free(*fields[k]);
				*fields[k] = v;
			}
		}
	}
	if (!c->os_id)
		return berth_error_set(BERTH_EINVALID, "no ID= line");
	return 0;
}

/* The first line, trimmed. */
static char *first_line(const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *line;
	size_t len;

	if (!berth_catalog__line(&p, p + n, &line, &len))
		return strdup("");
	return berth_catalog__trimdup(line, len);
}

int berth_catalog__debian_version(cat_ctx *cx, const unsigned char *d, size_t n)
{
	char *v = first_line(d, n);

	if (!v)
		return berth_error_set(BERTH_ERROR, "out of memory");
	free(cx->layer->debian_version);
	cx->layer->debian_version = v;
	return 0;
}

static int fallback(cat_ctx *cx, const char *id, char *version, int rank)
{
	berth_catalog *c = cx->layer->found;
	int r = take(cx, rank);

	if (r <= 0) {
		free(version);
		return r < 0 ? berth_error_set(BERTH_ERROR, "out of memory") : 0;
	}
	if (berth_catalog__set(&c->os_id, id) < 0) {
		free(version);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	free(c->os_version_id);
	c->os_version_id = version;
	return 0;
}

int berth_catalog__alpine_release(cat_ctx *cx, const unsigned char *d, size_t n)
{
	char *v = first_line(d, n);

	if (!v)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return fallback(cx, "alpine", v, 2);
}

int berth_catalog__redhat_release(cat_ctx *cx, const unsigned char *d, size_t n)
{
	char *line = first_line(d, n), *v = NULL, *s;
	const char *id = "rhel";

	if (!line)
		return berth_error_set(BERTH_ERROR, "out of memory");
	/* "CentOS Linux release 7.9.2009 (Core)", "Red Hat Enterprise Linux release 8.9 (Ootpa)" */
	if (strncasecmp(line, "centos", 6) == 0)
		id = "centos";
	else if (strncasecmp(line, "fedora", 6) == 0)
		id = "fedora";
	else if (strncasecmp(line, "rocky", 5) == 0)
		id = "rocky";
	else if (strncasecmp(line, "almalinux", 9) == 0)
		id = "almalinux";
	if ((s = strstr(line, "release ")))
		v = strndup(s + 8, strcspn(s + 8, " "));
	free(line);
	return fallback(cx, id, v, 3);
}
