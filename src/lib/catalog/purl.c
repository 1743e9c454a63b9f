/*
 * purl.c - Package URLs (github.com/package-url/purl-spec) for catalogued
 * packages: "pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS".
 *
 * Per the spec: components are percent-encoded (only unreserved characters
 * and, in namespaces, "/" stay as they are), qualifier keys are sorted, the
 * pypi name is lowercased with "_" as "-", npm scopes are the namespace
 * ("%40scope"), Go module paths split at their last "/", maven uses the
 * groupId as namespace. OS packages carry the distro as namespace and
 * arch/distro/epoch qualifiers, spelled as Trivy spells them (distro
 * "debian-12.5", alpine "3.19.1"), so berth's SBOMs line up with Trivy's.
 */
#include "internal.h"

#include "util/buf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PURL_MAX (64 * 1024)

char *berth_purl_escape(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *o = malloc(n * 3 + 1), *q = o;

	if (!o)
		return NULL;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (isalnum(c) || c == '.' || c == '-' || c == '_' || c == '~' ||
		    (keep_slash && c == '/')) {
			*q++ = (char)c;
		} else {
			*q++ = '%';
			*q++ = hex[c >> 4];
			*q++ = hex[c & 15];
		}
	}
	*q = 0;
	return o;
}

static int put_esc(berth_buf *b, const char *s, int keep_slash)
{
	char *e = berth_purl_escape(s, keep_slash);
	int rc;

	if (!e)
		return -1;
	rc = berth_buf_puts(b, e);
	free(e);
	return rc;
}

static char *lower_dash(const char *s)
{
	char *o = strdup(s);

	if (!o)
		return NULL;
	for (char *q = o; *q; q++) {
		*q = (char)tolower((unsigned char)*q);
		if (*q == '_' || *q == '.')
			*q = '-';
	}
	return o;
}

/* The OS namespace: os-release ID, with Trivy's names for the few that differ. */
static const char *os_namespace(const berth_catalog *c, berth_pkg_type t)
{
	if (!c->os_id)
		return t == BERTH_PKG_APK ? "alpine" : t == BERTH_PKG_DEB ? "debian" : "";
	if (t == BERTH_PKG_RPM && strcmp(c->os_id, "rhel") == 0)
		return "redhat";
	return c->os_id;
}

static int os_qualifiers(berth_buf *b, const berth_package *p, const berth_catalog *c)
{
	const char *ver = c->os_version ? c->os_version : c->os_version_id;
	int sep = '?';

	/* keys in order: arch, distro, epoch */
	if (p->arch && *p->arch) {
		if (berth_buf_printf(b, "%carch=", sep) < 0 || put_esc(b, p->arch, 0) < 0)
			return -1;
		sep = '&';
	}
	if (ver) {
		if (berth_buf_printf(b, "%cdistro=", sep) < 0)
			return -1;
		if (p->type != BERTH_PKG_APK &&
		    (berth_buf_puts(b, os_namespace(c, p->type)) < 0 || berth_buf_puts(b, "-") < 0))
			return -1;
		if (put_esc(b, ver, 0) < 0)
			return -1;
		sep = '&';
	}
	if (p->epoch > 0 && berth_buf_printf(b, "%cepoch=%d", sep, p->epoch) < 0)
		return -1;
	return 0;
}

/* namespace and name of a package in its purl (namespace NULL if none); caller frees both. */
static int split_name(const berth_package *p, char **ns, char **name)
{
	const char *slash;

	*ns = NULL;
	switch (p->type) {
	case BERTH_PKG_PYPI: *name = lower_dash(p->name); break;
	case BERTH_PKG_MAVEN:
		*ns = p->group ? strdup(p->group) : NULL;
		*name = strdup(p->name);
		break;
	case BERTH_PKG_NPM:
	case BERTH_PKG_GOLANG:
	case BERTH_PKG_COMPOSER:
		slash = strrchr(p->name, '/');
		if (slash) {
			*ns = strndup(p->name, (size_t)(slash - p->name));
			*name = strdup(slash + 1);
			if (!*ns)
				return -1;
		} else {
			*name = strdup(p->name);
		}
		break;
	default: *name = strdup(p->name);
	}
	return *name ? 0 : -1;
}

static int build(berth_buf *b, const berth_package *p, const berth_catalog *c)
{
	char *ns = NULL, *name = NULL;
	int rc = -1;

	if (split_name(p, &ns, &name) < 0)
		goto done;
	if (berth_buf_printf(b, "pkg:%s/", berth_pkg_type_name(p->type)) < 0)
		goto done;
	if (berth_pkg_type_is_os(p->type)) {
		if (put_esc(b, os_namespace(c, p->type), 0) < 0 || berth_buf_puts(b, "/") < 0)
			goto done;
	} else if (ns && *ns) {
		if (put_esc(b, ns, 1) < 0 || berth_buf_puts(b, "/") < 0)
			goto done;
	}
	if (put_esc(b, name, 0) < 0)
		goto done;
	if (p->version && *p->version &&
	    (berth_buf_puts(b, "@") < 0 || put_esc(b, p->version, 0) < 0))
		goto done;
	if (berth_pkg_type_is_os(p->type) && os_qualifiers(b, p, c) < 0)
		goto done;
	rc = 0;
done:
	free(ns);
	free(name);
	return rc;
}

int berth_catalog__purl(berth_package *p, const berth_catalog *c)
{
	berth_buf b = BERTH_BUF_INIT(PURL_MAX);

	if (build(&b, p, c) < 0) {
		berth_buf_dispose(&b);
		return berth_error_set(BERTH_ERROR, "purl of %s: out of memory or too long",
				       p->name);
	}
	free(p->purl);
	p->purl = berth_buf_detach(&b, NULL);
	return p->purl ? 0 : -1;
}
