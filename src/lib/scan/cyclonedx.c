/*
 * cyclonedx.c - a scan as CycloneDX 1.6 (or 1.5) JSON: the SBOM of the
 * catalogue (berth/sbom.h) with a "vulnerabilities" array, each entry
 * rated (severity, CVSS score), affecting the component of its package by
 * bom-ref, and, when the scan suppressed it through VEX or an ignore file,
 * with an analysis saying so.
 */
#include "internal.h"

#include "berth/sbom.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *cdx_severity(berth_scan_severity s)
{
	static const char *const m[BERTH_SEV__COUNT] = {"unknown", "info", "low",
							"medium",  "high", "critical"};

	return m[s];
}

/* The bom-ref of package i: the SBOM lists the OS component first, then the packages. */
static const char *ref_of(json_t *comps, const berth_catalog *c, size_t i)
{
	json_t *comp = json_array_get(comps, i + (c->os_id ? 1 : 0));
	json_t *ref = json_object_get(comp, "bom-ref");

	return json_is_string(ref) ? json_string_value(ref) : NULL;
}

/* CycloneDX's rating method of a vector: CVSSv4, CVSSv31, CVSSv3 (a score without one: v3.1). */
static const char *cvss_method(const char *vector)
{
	if (strncmp(vector, "CVSS:4.0/", 9) == 0)
		return "CVSSv4";
	if (strncmp(vector, "CVSS:3.0/", 9) == 0)
		return "CVSSv3";
	return "CVSSv31";
}

static json_t *vulnerability(const berth_scan_finding *f, const char *ref)
{
	json_t *v, *rating = json_pack("{s:s}", "severity", cdx_severity(f->severity));

	if (!rating)
		return NULL;
	if (f->cvss >= 0) {
		json_object_set_new(rating, "score", json_real(f->cvss));
		json_object_set_new(rating, "method", json_string(cvss_method(f->cvss_vector)));
	}
	if (f->cvss >= 0 && *f->cvss_vector)
		json_object_set_new(rating, "vector", json_string(f->cvss_vector));
	v = json_pack("{s:s, s:{s:s}, s:[o], s:[{s:s}]}", "id", f->id, "source", "name", f->source,
		      "ratings", rating, "affects", "ref", ref);
	if (!v)
		return NULL;
	if (*f->summary)
		json_object_set_new(v, "description", json_string(f->summary));
	if (*f->fixed)
		json_object_set_new(v, "recommendation",
				    json_sprintf("Upgrade to %s or later", f->fixed));
	if (f->suppressed)
		json_object_set_new(
			v, "analysis",
			json_pack("{s:s, s:s}", "state", "not_affected", "detail", f->suppressed));
	return v;
}

json_t *berth_scan__cyclonedx(const berth_scan_report *r, const char *version, time_t created)
{
	berth_sbom_options so;
	json_t *doc = NULL, *vulns = NULL;
	char *text = NULL;
	size_t len;

	berth_sbom_options_init(&so);
	so.format = BERTH_SBOM_CYCLONEDX_JSON;
	so.cyclonedx_version = version;
	so.created = created;
	if (berth_sbom_render(&text, &len, r->catalog, &so) != 0)
		return NULL;
	doc = json_loadb(text, len, 0, NULL);
	free(text);
	if (!doc || !(vulns = json_array()))
		goto fail;
	for (size_t i = 0; i < r->n; i++) {
		const berth_scan_finding *f = &r->findings[i];
		const char *ref = ref_of(json_object_get(doc, "components"), r->catalog, f->pkg);
		json_t *v = ref ? vulnerability(f, ref) : NULL;

		if (!v || json_array_append_new(vulns, v) != 0)
			goto fail;
	}
	json_object_set_new(doc, "vulnerabilities", vulns);
	return doc;
fail:
	json_decref(vulns);
	json_decref(doc);
	return NULL;
}
