/*
 * sarif.c - scan findings as SARIF 2.1.0 (docs.oasis-open.org/sarif): one
 * rule per vulnerability id (severity as level and as the
 * "security-severity" property code scanning reads), one result per
 * finding located at the file that brought the package.
 */
#include "internal.h"

#include "berth/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SARIF_SCHEMA                                                                               \
	"https://raw.githubusercontent.com/oasis-tcs/sarif-spec/main/sarif-2.1/schema/"            \
	"sarif-schema-2.1.0.json"

#ifndef BERTH_VERSION
#define BERTH_VERSION "0"
#endif

static const char *level(berth_scan_severity s)
{
	return s >= BERTH_SEV_HIGH ? "error" : s == BERTH_SEV_MEDIUM ? "warning" : "note";
}

/* The score code scanning sorts by: the CVSS score, else one per rating. */
static double security_severity(const berth_scan_finding *f)
{
	static const double by_rating[BERTH_SEV__COUNT] = {0.0, 0.0, 2.0, 5.5, 8.0, 9.5};

	return f->cvss >= 0 ? f->cvss : by_rating[f->severity];
}

static json_t *rule(const berth_scan_finding *f, const berth_package *p)
{
	char score[16], desc[1200];

	snprintf(score, sizeof(score), "%.1f", security_severity(f));
	snprintf(desc, sizeof(desc), "%s%s%.*s", f->id, *f->summary ? ": " : "",
		 (int)berth_utf8_prefix(f->summary, 1000), f->summary);
	return json_pack("{s:s, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:[s, s, s]}}", "id", f->id,
			 "name",
			 berth_pkg_type_is_os(p->type) ? "OsPackageVulnerability"
						       : "LanguageSpecificPackageVulnerability",
			 "shortDescription", "text", *f->summary ? f->summary : f->id,
			 "fullDescription", "text", desc, "defaultConfiguration", "level",
			 level(f->severity), "properties", "security-severity", score, "tags",
			 "vulnerability", "security", berth_scan_severity_name(f->severity));
}

static json_t *result(const berth_scan_report *r, const berth_scan_finding *f, size_t rule_index)
{
	const berth_package *p = &r->catalog->pkgs[f->pkg];
	const char *path =
		p->path && *p->path ? p->path : (r->catalog->target ? r->catalog->target : "");
	char msg[2048];

	while (*path == '/')
		path++;
	snprintf(msg, sizeof(msg),
		 "Package: %s\nInstalled Version: %s\nVulnerability: %s\nSeverity: %s\n"
		 "Status: %s\nFixed Version: %s",
		 p->name, p->version ? p->version : "", f->id,
		 berth_scan_severity_name(f->severity), f->status, *f->fixed ? f->fixed : "none");
	return json_pack("{s:s, s:I, s:s, s:{s:s}, s:[{s:{s:{s:s, s:s}, s:{s:i, s:i, s:i, s:i}}, "
			 "s:{s:s}}]}",
			 "ruleId", f->id, "ruleIndex", (json_int_t)rule_index, "level",
			 level(f->severity), "message", "text", msg, "locations",
			 "physicalLocation", "artifactLocation", "uri", *path ? path : "image",
			 "uriBaseId", "ROOTPATH", "region", "startLine", 1, "startColumn", 1,
			 "endLine", 1, "endColumn", 1, "message", "text",
			 p->purl ? p->purl : p->name);
}

json_t *berth_scan__sarif(const berth_scan_report *r)
{
	json_t *rules = json_array(), *results = json_array(), *index = json_object();

	if (!rules || !results || !index)
		goto fail;
	for (size_t i = 0; i < r->n; i++) {
		const berth_scan_finding *f = &r->findings[i];
		json_t *at = json_object_get(index, f->id), *res;
		size_t k;

		if (f->suppressed)
			continue;
		if (!at) {
			k = json_array_size(rules);
			if (json_array_append_new(rules, rule(f, &r->catalog->pkgs[f->pkg])) != 0 ||
			    json_object_set_new(index, f->id, json_integer((json_int_t)k)) != 0)
				goto fail;
		} else {
			k = (size_t)json_integer_value(at);
		}
		if (!(res = result(r, f, k)) || json_array_append_new(results, res) != 0)
			goto fail;
	}
	json_decref(index);
	return json_pack("{s:s, s:s, s:[{s:{s:{s:s, s:s, s:s, s:s, s:o}}, s:o, s:s, s:{s:{s:s}}}]}",
			 "version", "2.1.0", "$schema", SARIF_SCHEMA, "runs", "tool", "driver",
			 "name", "berth", "fullName", "berth vulnerability scanner",
			 "informationUri", "https://github.com/berth/berth", "version",
			 BERTH_VERSION, "rules", rules, "results", results, "columnKind",
			 "utf16CodeUnits", "originalUriBaseIds", "ROOTPATH", "uri", "file:///");
fail:
	json_decref(rules);
	json_decref(results);
	json_decref(index);
	return NULL;
}
