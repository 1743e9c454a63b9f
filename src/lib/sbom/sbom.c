/*
 * sbom.c - the SBOM entry point (format names, rendering) and the two
 * non-standard outputs: a terminal table and berth's JSON catalogue.
 * SPDX lives in spdx.c, CycloneDX in cyclonedx.c.
 */
#include "internal.h"

#include "util/buf.h"
#include "util/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_MAX (256u * 1024 * 1024)

int berth_sbom_format_parse(berth_sbom_format *out, const char *name)
{
	static const char *const names[] = {"spdx-json", "cyclonedx-json", "table", "json"};

	for (int i = 0; i < 4; i++)
		if (strcmp(name, names[i]) == 0) {
			*out = (berth_sbom_format)i;
			return 0;
		}
	return berth_error_set(BERTH_EINVALID,
			       "unknown format '%s' (spdx-json, cyclonedx-json, table, json)",
			       name);
}

void berth_sbom_options_init(berth_sbom_options *o)
{
	memset(o, 0, sizeof(*o));
	o->cyclonedx_version = "1.6";
}

void berth_sbom__time(char buf[32], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *berth_sbom__subject(const berth_catalog *c)
{
	const char *t = c->target ? c->target : "image";

	if (strncmp(t, "rootfs:", 7) == 0)
		return t + 7;
	if (strncmp(t, "docker://", 9) == 0)
		return t + 9;
	return t;
}

json_t *berth_sbom__json(const berth_catalog *c)
{
	json_t *o = json_object(), *pkgs = json_array(), *layers = json_array(),
	       *warn = json_array(), *os = json_object();

	json_object_set_new(o, "target", json_string(c->target ? c->target : ""));
	if (c->digest)
		json_object_set_new(o, "digest", json_string(c->digest));
	if (c->architecture)
		json_object_set_new(o, "architecture", json_string(c->architecture));
	if (c->os_id) {
		json_object_set_new(os, "id", json_string(c->os_id));
		if (c->os_version)
			json_object_set_new(os, "version", json_string(c->os_version));
		if (c->os_version_id)
			json_object_set_new(os, "versionId", json_string(c->os_version_id));
		if (c->os_name)
			json_object_set_new(os, "name", json_string(c->os_name));
		if (c->os_codename)
			json_object_set_new(os, "codename", json_string(c->os_codename));
	}
	json_object_set_new(o, "os", os);
	for (size_t i = 0; i < c->nlayers; i++)
		json_array_append_new(layers, json_string(c->layers[i]));
	json_object_set_new(o, "layers", layers);
	json_object_set_new(o, "layersCached", json_integer((json_int_t)c->layers_cached));
	for (size_t i = 0; i < c->npkgs; i++) {
		const berth_package *p = &c->pkgs[i];
		json_t *j = json_object(), *files = json_array();

		json_object_set_new(j, "type", json_string(berth_pkg_type_name(p->type)));
		json_object_set_new(j, "name", json_string(p->name));
		if (p->group)
			json_object_set_new(j, "group", json_string(p->group));
		json_object_set_new(j, "version", json_string(p->version));
		if (p->epoch)
			json_object_set_new(j, "epoch", json_integer(p->epoch));
		if (p->arch)
			json_object_set_new(j, "arch", json_string(p->arch));
		if (p->source_name)
			json_object_set_new(j, "sourceName", json_string(p->source_name));
		if (p->source_version)
			json_object_set_new(j, "sourceVersion", json_string(p->source_version));
		if (p->license)
			json_object_set_new(j, "license", json_string(p->license));
		json_object_set_new(j, "purl", json_string(p->purl ? p->purl : ""));
		json_object_set_new(j, "layer", json_string(p->layer));
		json_object_set_new(j, "path", json_string(p->path));
		json_object_set_new(j, "cataloguer", json_string(p->cataloguer));
		for (size_t f = 0; f < p->nfiles; f++)
			json_array_append_new(files, json_string(p->files[f]));
		if (p->nfiles)
			json_object_set_new(j, "files", files);
		else
			json_decref(files);
		json_array_append_new(pkgs, j);
	}
	json_object_set_new(o, "packages", pkgs);
	for (size_t i = 0; i < c->nwarnings; i++)
		json_array_append_new(warn, json_string(c->warnings[i]));
	json_object_set_new(o, "warnings", warn);
	return o;
}

char *berth_sbom__table(const berth_catalog *c)
{
	berth_buf b = BERTH_BUF_INIT(TABLE_MAX);
	int wn = 4, wv = 7;

	for (size_t i = 0; i < c->npkgs; i++) {
		int n = (int)strlen(c->pkgs[i].name) +
			(c->pkgs[i].group ? (int)strlen(c->pkgs[i].group) + 1 : 0);
		int v = (int)strlen(c->pkgs[i].version) +
			(c->pkgs[i].epoch ? snprintf(NULL, 0, "%d:", c->pkgs[i].epoch) : 0);

		wn = n > wn ? (n > 60 ? 60 : n) : wn;
		wv = v > wv ? (v > 40 ? 40 : v) : wv;
	}
	if (c->os_id &&
	    berth_buf_printf(&b, "OS: %s %s\n\n", c->os_id, c->os_version ? c->os_version : "") < 0)
		goto oom;
	if (berth_buf_printf(&b, "%-*s  %-*s  %-8s  %s\n", wn, "NAME", wv, "VERSION", "TYPE",
			     "PATH") < 0)
		goto oom;
	for (size_t i = 0; i < c->npkgs; i++) {
		const berth_package *p = &c->pkgs[i];
		char name[512], ver[512];

		snprintf(name, sizeof(name), "%s%s%s", p->group ? p->group : "",
			 p->group ? ":" : "", p->name);
		if (p->epoch)
			snprintf(ver, sizeof(ver), "%d:%s", p->epoch, p->version);
		else
			snprintf(ver, sizeof(ver), "%s", p->version);
		if (berth_buf_printf(&b, "%-*s  %-*s  %-8s  %s\n", wn, name, wv, ver,
				     berth_pkg_type_name(p->type), p->path) < 0)
			goto oom;
	}
	return berth_buf_detach(&b, NULL);
oom:
	berth_buf_dispose(&b);
	return NULL;
}

int berth_sbom_render(char **out, size_t *len, const berth_catalog *c, const berth_sbom_options *o)
{
	berth_sbom_options d;
	berth_buf b = BERTH_BUF_INIT(0);
	time_t now;
	json_t *doc = NULL;
	char *s;
	int rc;

	*out = NULL;
	if (!o) {
		berth_sbom_options_init(&d);
		o = &d;
	}
	now = o->created ? o->created : time(NULL);
	switch (o->format) {
	case BERTH_SBOM_TABLE:
		s = berth_sbom__table(c);
		if (!s)
			return berth_error_set(BERTH_ERROR, "out of memory");
		*out = s;
		*len = strlen(s);
		return 0;
	case BERTH_SBOM_SPDX_JSON: doc = berth_sbom__spdx(c, now); break;
	case BERTH_SBOM_CYCLONEDX_JSON: {
		const char *v = o->cyclonedx_version ? o->cyclonedx_version : "1.6";

		if (strcmp(v, "1.6") != 0 && strcmp(v, "1.5") != 0)
			return berth_error_set(BERTH_EINVALID,
					       "CycloneDX version %s: berth writes 1.6 or 1.5", v);
		doc = berth_sbom__cyclonedx(c, now, v);
		break;
	}
	case BERTH_SBOM_JSON: doc = berth_sbom__json(c); break;
	}
	if (!doc)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_json_write(&b, doc, 2);
	json_decref(doc);
	if (rc < 0) {
		berth_buf_dispose(&b);
		return rc;
	}
	*out = berth_buf_detach(&b, len);
	return *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}
