/*
 * sbomin.c - an SBOM file as the scanner's input: CycloneDX JSON
 * (components, with berth's berth:package:* and Trivy's
 * aquasecurity:trivy:Src* properties for source packages) or SPDX 2.x
 * JSON (packages with a purl external reference), read back into a
 * catalogue so the same matcher answers for an image and for its SBOM.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SBOM_COMPONENTS_MAX BERTH_CATALOG_PACKAGES_MAX

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int pkg_type(const char *purl_type, berth_pkg_type *out)
{
	for (int t = 0; t < BERTH_PKG__COUNT; t++) {
		if (strcmp(purl_type, berth_pkg_type_name((berth_pkg_type)t)) == 0) {
			*out = (berth_pkg_type)t;
			return 0;
		}
	}
	return -1;
}

/* The OS from a distro qualifier: "debian-12.5" (deb, rpm) or "3.19.1" (apk). */
static int os_from_distro(berth_catalog *c, const scan_purl *u, berth_pkg_type t)
{
	char d[128];
	const char *ver;

	if (c->os_id || !berth_scan__purl_qualifier(u, "distro", d, sizeof(d)))
		return 0;
	if (t == BERTH_PKG_APK) {
		c->os_id = strdup(*u->ns ? u->ns : "alpine");
		ver = d;
	} else {
		char *dash = strrchr(d, '-');

		c->os_id = dash ? strndup(d, (size_t)(dash - d)) : strdup(u->ns);
		ver = dash ? dash + 1 : d;
	}
	c->os_version = strdup(ver);
	return c->os_id && c->os_version ? 0 : -1;
}

/* A property value of a CycloneDX component, or NULL. */
static const char *prop(json_t *comp, const char *name)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(comp, "properties"), i, e)
	{
		const char *n = jstr(e, "name");

		if (n && strcmp(n, name) == 0)
			return jstr(e, "value");
	}
	return NULL;
}

/* Trivy writes a source version as SrcEpoch, SrcVersion and SrcRelease. */
static char *trivy_source_version(json_t *comp)
{
	const char *v = prop(comp, "aquasecurity:trivy:SrcVersion"),
		   *rel = prop(comp, "aquasecurity:trivy:SrcRelease"),
		   *ep = prop(comp, "aquasecurity:trivy:SrcEpoch");
	char *s = NULL;

	if (!v)
		return NULL;
	if (asprintf(&s, "%s%s%s%s%s", ep && strcmp(ep, "0") != 0 ? ep : "",
		     ep && strcmp(ep, "0") != 0 ? ":" : "", v, rel && *rel ? "-" : "",
		     rel ? rel : "") < 0)
		return NULL;
	return s;
}

/* One package from its purl (and, for CycloneDX, its component). */
static int add_purl(berth_catalog *c, const char *purl, json_t *comp, const char *where)
{
	berth_package p = {0};
	scan_purl u;
	char ep[16], arch[64];
	char *srcver = NULL, *name = NULL;
	int rc;

	if (berth_scan__purl_parse(&u, purl) != 0) {
		berth_error_clear();
		return 0; /* not a purl we read: not a package for us */
	}
	rc = 0;
	if (pkg_type(u.type, &p.type) != 0)
		goto done;
	if (berth_pkg_type_is_os(p.type) && os_from_distro(c, &u, p.type) != 0) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	p.name = u.name;
	if (p.type == BERTH_PKG_MAVEN) {
		p.group = *u.ns ? u.ns : NULL;
	} else if (!berth_pkg_type_is_os(p.type) && *u.ns && p.type != BERTH_PKG_PYPI) {
		if (asprintf(&name, "%s/%s", u.ns, u.name) < 0) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		p.name = name;
	}
	p.version = u.version;
	if (berth_scan__purl_qualifier(&u, "epoch", ep, sizeof(ep)))
		p.epoch = atoi(ep);
	p.arch = berth_scan__purl_qualifier(&u, "arch", arch, sizeof(arch)) ? arch : NULL;
	p.purl = (char *)purl;
	p.path = (char *)where;
	p.layer = "";
	p.cataloguer = "sbom";
	if (comp) {
		p.layer =
			(char *)(prop(comp, "berth:layer:diffID") ? prop(comp, "berth:layer:diffID")
								  : "");
		if (prop(comp, "berth:location:path"))
			p.path = (char *)prop(comp, "berth:location:path");
		p.source_name = (char *)prop(comp, "berth:package:sourceName");
		p.source_version = (char *)prop(comp, "berth:package:sourceVersion");
		if (!p.source_name)
			p.source_name = (char *)prop(comp, "aquasecurity:trivy:SrcName");
		if (!p.source_version && (srcver = trivy_source_version(comp)))
			p.source_version = srcver;
	}
	rc = berth_catalog_add(c, &p);
done:
	free(srcver);
	free(name);
	berth_scan__purl_dispose(&u);
	return rc;
}

static int cyclonedx(berth_catalog *c, json_t *doc, const char *path)
{
	json_t *comps = json_object_get(doc, "components"), *e;
	size_t i;
	int rc;

	if (json_array_size(comps) > SBOM_COMPONENTS_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%s: too many components", path);
	json_array_foreach(comps, i, e)
	{
		const char *type = jstr(e, "type"), *purl = jstr(e, "purl");

		if (type && strcmp(type, "operating-system") == 0 && !c->os_id && jstr(e, "name")) {
			c->os_id = strdup(jstr(e, "name"));
			c->os_version = jstr(e, "version") ? strdup(jstr(e, "version")) : NULL;
			continue;
		}
		if (purl && (rc = add_purl(c, purl, e, path)) != 0)
			return rc;
	}
	return 0;
}

static int spdx(berth_catalog *c, json_t *doc, const char *path)
{
	json_t *pkgs = json_object_get(doc, "packages"), *p, *r;
	size_t i, k;
	int rc;

	if (json_array_size(pkgs) > SBOM_COMPONENTS_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%s: too many packages", path);
	json_array_foreach(pkgs, i, p)
	{
		const char *purpose = jstr(p, "primaryPackagePurpose");

		if (purpose && strcmp(purpose, "OPERATING-SYSTEM") == 0 && !c->os_id &&
		    jstr(p, "name")) {
			c->os_id = strdup(jstr(p, "name"));
			c->os_version =
				jstr(p, "versionInfo") ? strdup(jstr(p, "versionInfo")) : NULL;
			continue;
		}
		json_array_foreach(json_object_get(p, "externalRefs"), k, r)
		{
			const char *type = jstr(r, "referenceType"),
				   *loc = jstr(r, "referenceLocator");

			if (type && loc && strcmp(type, "purl") == 0 &&
			    (rc = add_purl(c, loc, NULL, path)) != 0)
				return rc;
		}
	}
	return 0;
}

/* Debian and Alpine keep VERSION_ID shorter than the version: "12" of "12.5". */
static int os_version_id(berth_catalog *c)
{
	size_t n;

	if (!c->os_version || c->os_version_id)
		return 0;
	n = strcspn(c->os_version, ".");
	if (c->os_id && strcmp(c->os_id, "debian") == 0)
		c->os_version_id = strndup(c->os_version, n);
	else
		c->os_version_id = strdup(c->os_version);
	return c->os_version_id ? 0 : -1;
}

static json_t *load_json(const char *path, int quiet)
{
	char *text = NULL;
	size_t len;
	json_t *doc;
	json_error_t err;

	if (berth_scan__read(&text, &len, path) != 0)
		return NULL;
	doc = json_loadb(text, len, 0, &err);
	free(text);
	if (!doc && !quiet)
		berth_error_set(BERTH_EINVALID, "%s:%d: %s", path, err.line, err.text);
	return doc;
}

static int kind_of(json_t *doc)
{
	const char *f = jstr(doc, "bomFormat");

	if (f && strcmp(f, "CycloneDX") == 0)
		return 1;
	if (jstr(doc, "spdxVersion"))
		return 2;
	return 0;
}

int berth_scan_is_sbom(const char *path)
{
	json_t *doc = load_json(path, 1);
	int k = doc ? kind_of(doc) : 0;

	json_decref(doc);
	berth_error_clear();
	return k != 0;
}

int berth_scan_sbom_load(berth_catalog **out, const char *path)
{
	berth_catalog *c = NULL;
	json_t *doc = NULL;
	int rc, kind;

	*out = NULL;
	if (!(doc = load_json(path, 0)))
		return berth_error_last_code() ? berth_error_last_code() : BERTH_EINVALID;
	kind = kind_of(doc);
	if (!kind) {
		rc = berth_error_set(BERTH_EINVALID, "%s: neither CycloneDX nor SPDX JSON", path);
		goto done;
	}
	if (!(c = berth_catalog_new()) || !(c->target = strdup(path))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = kind == 1 ? cyclonedx(c, doc, path) : spdx(c, doc, path);
	if (rc == 0 && os_version_id(c) != 0)
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	if (rc)
		goto done;
	*out = c;
	/* now owned by the caller */ c = NULL;
done:
	berth_catalog_free(c);
	json_decref(doc);
	return rc;
}
