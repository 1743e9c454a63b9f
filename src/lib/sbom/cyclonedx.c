/*
 * cyclonedx.c - CycloneDX 1.6 (or 1.5) JSON (cyclonedx.org/specification):
 * metadata names berth as the tool and the image (or rootfs) as the
 * subject component; components are the operating system and every package
 * (type library, purl, licences as one SPDX expression or named licences,
 * berth:* properties for the layer, path, cataloguer and source package);
 * one dependency entry ties every component to the subject.
 */
#include "internal.h"

#include "util/random.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef BERTH_VERSION
#define BERTH_VERSION "0"
#endif

static void prop(json_t *props, const char *name, const char *value)
{
	if (value && *value)
		json_array_append_new(props, json_pack("{s:s, s:s}", "name", name, "value", value));
}

static json_t *licenses(const char *l)
{
	if (berth_sbom_is_spdx_expression(l))
		return json_pack("[{s:s}]", "expression", berth_sbom__canonical_id(l));
	return json_pack("[{s:{s:s}}]", "license", "name", l);
}

/* A bom-ref unique in the document: the purl, or purl + "#N" when it repeats. */
static char *ref_for(json_t *used, const berth_package *p, size_t i)
{
	char *s = NULL;
	const char *base = p->purl ? p->purl : p->name;

	if (!json_object_get(used, base)) {
		json_object_set_new(used, base, json_true());
		return strdup(base);
	}
	if (asprintf(&s, "%s#%zu", base, i) < 0)
		return NULL;
	json_object_set_new(used, s, json_true());
	return s;
}

static json_t *component(const berth_package *p, const char *ref)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "bom-ref", ref, "type", "library", "name",
			      p->name, "version", p->version),
	       *props = json_array();

	if (!o || !props) {
		json_decref(o);
		json_decref(props);
		return NULL;
	}
	if (p->group)
		json_object_set_new(o, "group", json_string(p->group));
	if (p->license)
		json_object_set_new(o, "licenses", licenses(p->license));
	if (p->purl)
		json_object_set_new(o, "purl", json_string(p->purl));
	prop(props, "berth:package:type", berth_pkg_type_name(p->type));
	prop(props, "berth:layer:diffID", p->layer);
	prop(props, "berth:location:path", p->path);
	prop(props, "berth:cataloguer", p->cataloguer);
	prop(props, "berth:package:arch", p->arch);
	prop(props, "berth:package:sourceName", p->source_name);
	prop(props, "berth:package:sourceVersion", p->source_version);
	if (p->epoch) {
		char e[16];

		snprintf(e, sizeof(e), "%d", p->epoch);
		prop(props, "berth:package:epoch", e);
	}
	json_object_set_new(o, "properties", props);
	return o;
}

json_t *berth_sbom__cyclonedx(const berth_catalog *c, time_t now, const char *version)
{
	json_t *doc, *comps = json_array(), *deps = json_array(), *used = json_object();
	char uuid[37], when[32], serial[64], schema[80];

	if (!comps || !deps || !used || berth_uuid4(uuid) < 0)
		goto fail;
	berth_sbom__time(when, now);
	snprintf(serial, sizeof(serial), "urn:uuid:%s", uuid);
	snprintf(schema, sizeof(schema), "http://cyclonedx.org/schema/bom-%s.schema.json", version);
	if (c->os_id) {
		json_array_append_new(comps,
				      json_pack("{s:s, s:s, s:s, s:s}", "bom-ref",
						"berth:operating-system", "type",
						"operating-system", "name", c->os_id, "version",
						c->os_version ? c->os_version : ""));
		json_array_append_new(deps, json_string("berth:operating-system"));
	}
	for (size_t i = 0; i < c->npkgs; i++) {
		char *ref = ref_for(used, &c->pkgs[i], i);
		json_t *comp = ref ? component(&c->pkgs[i], ref) : NULL;

		if (!comp) {
			free(ref);
			goto fail;
		}
		json_array_append_new(comps, comp);
		json_array_append_new(deps, json_string(ref));
		free(ref);
	}
	doc = json_pack("{s:s, s:s, s:s, s:s, s:i}", "$schema", schema, "bomFormat", "CycloneDX",
			"specVersion", version, "serialNumber", serial, "version", 1);
	if (!doc)
		goto fail;
	json_object_set_new(doc, "metadata",
			    json_pack("{s:s, s:{s:[{s:s, s:s, s:s}]}, s:{s:s, s:s, s:s, s:s*}}",
				      "timestamp", when, "tools", "components", "type",
				      "application", "name", "berth", "version", BERTH_VERSION,
				      "component", "bom-ref", "berth:subject", "type",
				      c->digest ? "container" : "file", "name",
				      berth_sbom__subject(c), "version", c->digest));
	json_object_set_new(doc, "components", comps);
	json_object_set_new(doc, "dependencies",
			    json_pack("[{s:s, s:o}]", "ref", "berth:subject", "dependsOn", deps));
	json_decref(used);
	return doc;
fail:
	json_decref(comps);
	json_decref(deps);
	json_decref(used);
	return NULL;
}
