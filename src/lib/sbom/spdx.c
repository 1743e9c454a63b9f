/*
 * spdx.c - SPDX 2.3 JSON (spdx.github.io/spdx-spec/v2.3): one document
 * that DESCRIBES the image (or root filesystem) package, which CONTAINS the
 * operating system, which CONTAINS its packages (dpkg, apk, rpm: as Trivy
 * writes, and reads, them), and every other catalogued package. Each
 * package: SPDXID
 * (SPDXRef-[A-Za-z0-9.-]+, unique), name, versionInfo, NOASSERTION where
 * berth asserts nothing (download location, concluded licence, copyright),
 * filesAnalyzed false, the declared licence as an SPDX expression or a
 * LicenseRef- with its hasExtractedLicensingInfos entry, the PURL as a
 * PACKAGE-MANAGER external reference, and where it was found as sourceInfo.
 */
#include "internal.h"

#include "util/random.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BERTH_VERSION
#define BERTH_VERSION "0"
#endif

/* [A-Za-z0-9.-] only, others as "-"; at most `cap - 1` bytes. */
static void idsafe(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s && o + 1 < cap; s++)
		out[o++] = (isalnum((unsigned char)*s) || *s == '.' || *s == '-') ? *s : '-';
	out[o] = 0;
}

static const char *declared(json_t *extracted, json_t *seen, const char *license, char *buf,
			    size_t cap)
{
	char id[200];

	if (!license)
		return "NOASSERTION";
	if (berth_sbom_is_spdx_expression(license))
		return berth_sbom__canonical_id(license);
	idsafe(id, sizeof(id), license);
	snprintf(buf, cap, "LicenseRef-%s", id);
	if (!json_object_get(seen, buf)) {
		json_object_set_new(seen, buf, json_true());
		json_array_append_new(extracted,
				      json_pack("{s:s, s:s, s:s}", "licenseId", buf,
						"extractedText", license, "name", license));
	}
	return buf;
}

static json_t *package(const berth_package *p, size_t i, json_t *extracted, json_t *seen)
{
	char id[300], safe[200], lic[256], src[BERTH_CATALOG_PATH_MAX + 400];
	json_t *o;

	idsafe(safe, sizeof(safe), p->name);
	snprintf(id, sizeof(id), "SPDXRef-Package-%s-%s-%zu", berth_pkg_type_name(p->type), safe,
		 i);
	if (p->layer && *p->layer)
		snprintf(src, sizeof(src), "acquired package info from %s: %s (layer %s)",
			 p->cataloguer, p->path, p->layer);
	else
		snprintf(src, sizeof(src), "acquired package info from %s: %s", p->cataloguer,
			 p->path);
	o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s}", "name", p->name,
		      "SPDXID", id, "versionInfo", p->version, "downloadLocation", "NOASSERTION",
		      "filesAnalyzed", 0, "licenseConcluded", "NOASSERTION", "licenseDeclared",
		      declared(extracted, seen, p->license, lic, sizeof(lic)), "copyrightText",
		      "NOASSERTION", "sourceInfo", src, "primaryPackagePurpose",
		      berth_pkg_type_is_os(p->type) ? "INSTALL" : "LIBRARY");
	if (!o)
		return NULL;
	if (p->group)
		json_object_set_new(o, "supplier", json_sprintf("Organization: %s", p->group));
	if (p->purl)
		json_object_set_new(o, "externalRefs",
				    json_pack("[{s:s, s:s, s:s}]", "referenceCategory",
					      "PACKAGE-MANAGER", "referenceType", "purl",
					      "referenceLocator", p->purl));
	return o;
}

static json_t *root_package(const berth_catalog *c)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s}", "name",
			      berth_sbom__subject(c), "SPDXID", "SPDXRef-Root", "downloadLocation",
			      "NOASSERTION", "filesAnalyzed", 0, "licenseConcluded", "NOASSERTION",
			      "licenseDeclared", "NOASSERTION", "copyrightText", "NOASSERTION",
			      "primaryPackagePurpose", c->digest ? "CONTAINER" : "FILE");

	if (o && c->digest && strncmp(c->digest, "sha256:", 7) == 0) {
		json_object_set_new(o, "versionInfo", json_string(c->digest));
		json_object_set_new(o, "checksums",
				    json_pack("[{s:s, s:s}]", "algorithm", "SHA256",
					      "checksumValue", c->digest + 7));
	}
	return o;
}

static json_t *relationship(const char *a, const char *type, const char *b)
{
	return json_pack("{s:s, s:s, s:s}", "spdxElementId", a, "relationshipType", type,
			 "relatedSpdxElement", b);
}

json_t *berth_sbom__spdx(const berth_catalog *c, time_t now)
{
	json_t *doc = NULL, *pkgs = json_array(), *rels = json_array(), *extracted = json_array(),
	       *seen = json_object();
	char uuid[37], when[32], name[300], ns[600];

	if (!pkgs || !rels || !extracted || !seen || berth_uuid4(uuid) < 0)
		goto fail;
	berth_sbom__time(when, now);
	idsafe(name, sizeof(name), berth_sbom__subject(c));
	snprintf(ns, sizeof(ns), "https://berth.invalid/spdxdocs/%s-%s", name, uuid);
	json_array_append_new(pkgs, root_package(c));
	json_array_append_new(rels, relationship("SPDXRef-DOCUMENT", "DESCRIBES", "SPDXRef-Root"));
	if (c->os_id) {
		json_array_append_new(
			pkgs,
			json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s}", "name", c->os_id,
				  "SPDXID", "SPDXRef-OperatingSystem", "versionInfo",
				  c->os_version ? c->os_version : "", "downloadLocation",
				  "NOASSERTION", "filesAnalyzed", 0, "licenseConcluded",
				  "NOASSERTION", "licenseDeclared", "NOASSERTION", "copyrightText",
				  "NOASSERTION", "primaryPackagePurpose", "OPERATING-SYSTEM"));
		json_array_append_new(
			rels, relationship("SPDXRef-Root", "CONTAINS", "SPDXRef-OperatingSystem"));
	}
	for (size_t i = 0; i < c->npkgs; i++) {
		json_t *p = package(&c->pkgs[i], i, extracted, seen);

		if (!p)
			goto fail;
		json_array_append_new(
			rels,
			relationship(c->os_id && berth_pkg_type_is_os(c->pkgs[i].type)
					     ? "SPDXRef-OperatingSystem"
					     : "SPDXRef-Root",
				     "CONTAINS", json_string_value(json_object_get(p, "SPDXID"))));
		json_array_append_new(pkgs, p);
	}
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:[s], s:s}}", "spdxVersion", "SPDX-2.3",
			"dataLicense", "CC0-1.0", "SPDXID", "SPDXRef-DOCUMENT", "name", name,
			"documentNamespace", ns, "creationInfo", "created", when, "creators",
			"Tool: berth-" BERTH_VERSION, "licenseListVersion", "3.22");
	if (!doc)
		goto fail;
	json_object_set_new(doc, "packages", pkgs);
	json_object_set_new(doc, "relationships", rels);
	if (json_array_size(extracted))
		json_object_set_new(doc, "hasExtractedLicensingInfos", extracted);
	else
		json_decref(extracted);
	json_decref(seen);
	return doc;
fail:
	json_decref(pkgs);
	json_decref(rels);
	json_decref(extracted);
	json_decref(seen);
	return NULL;
}
