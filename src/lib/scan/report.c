/*
 * report.c - a scan report as a terminal table (grouped by target as Trivy
 * groups it: the OS packages, then each language; a summary line per
 * target) and as berth's JSON (docs/scan-json.md); the entry point that
 * also dispatches to SARIF and CycloneDX.
 */
#include "internal.h"

#include "berth/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX (512u << 20)
#define SCAN_JSON_SCHEMA 1
#define TITLE_WIDTH 60

int berth_scan_format_parse(berth_scan_format *out, const char *name)
{
	static const char *const names[] = {"table", "json", "sarif", "cyclonedx"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (berth_scan_format)i;
			return 0;
		}
	}
	return berth_error_set(BERTH_EINVALID,
			       "unknown format '%.32s' (table, json, sarif, cyclonedx)", name);
}

static const char *language(berth_pkg_type t)
{
	switch (t) {
	case BERTH_PKG_PYPI: return "Python";
	case BERTH_PKG_NPM: return "Node.js";
	case BERTH_PKG_GOLANG: return "Go";
	case BERTH_PKG_MAVEN: return "Java";
	case BERTH_PKG_CARGO: return "Rust";
	case BERTH_PKG_GEM: return "Ruby";
	case BERTH_PKG_COMPOSER: return "PHP";
	case BERTH_PKG_NUGET: return ".NET";
	default: return "OS";
	}
}

void berth_scan__target(const berth_scan_report *r, const berth_package *p, char *buf, size_t len)
{
	const berth_catalog *c = r->catalog;

	if (berth_pkg_type_is_os(p->type))
		snprintf(buf, len, "%s %s (%s)", c->os_id ? c->os_id : "unknown",
			 c->os_version	    ? c->os_version
			 : c->os_version_id ? c->os_version_id
					    : "",
			 berth_pkg_type_name(p->type));
	else
		snprintf(buf, len, "%s (%s)", language(p->type), berth_pkg_type_name(p->type));
}

/* Findings shown, in output order: target, package, severity (highest first), id. */
typedef struct row {
	const berth_scan_finding *f;
	const berth_package *p;
	char target[160];
} row;

static int cmp_row(const void *a, const void *b)
{
	const row *x = a, *y = b;
	int c;

	if (x->p->type != y->p->type)
		return x->p->type < y->p->type ? -1 : 1;
	if ((c = strcmp(x->target, y->target)) != 0 || (c = strcmp(x->p->name, y->p->name)) != 0)
		return c;
	if (x->f->severity != y->f->severity)
		return x->f->severity > y->f->severity ? -1 : 1;
	return strcmp(x->f->id, y->f->id);
}

static row *rows(const berth_scan_report *r, int suppressed, size_t *n)
{
	row *v = calloc(r->n ? r->n : 1, sizeof(*v));

	*n = 0;
	if (!v)
		return NULL;
	for (size_t i = 0; i < r->n; i++) {
		const berth_scan_finding *f = &r->findings[i];

		if (!f->suppressed != !suppressed)
			continue;
		v[*n].f = f;
		v[*n].p = &r->catalog->pkgs[f->pkg];
		berth_scan__target(r, v[*n].p, v[*n].target, sizeof(v[*n].target));
		(*n)++;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_row);
	return v;
}

static int summary_line(berth_buf *b, const row *v, size_t from, size_t to)
{
	size_t count[BERTH_SEV__COUNT] = {0};
	int rc = berth_buf_printf(b, "Total: %zu (", to - from);

	for (size_t i = from; i < to; i++)
		count[v[i].f->severity]++;
	for (int s = 0; rc == 0 && s < BERTH_SEV__COUNT; s++)
		rc = berth_buf_printf(b, "%s%s: %zu", s ? ", " : "",
				      berth_scan_severity_name((berth_scan_severity)s), count[s]);
	return rc ? rc : berth_buf_puts(b, ")\n\n");
}

/* The bytes of s that make a row's title: at most TITLE_WIDTH characters,
 * never part of a UTF-8 sequence, and none from the first control character
 * on (a newline would break the row, an escape would reach the terminal). */
static int title_len(const char *s)
{
	int i = 0;

	for (int chars = 0; s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			break;
		if ((c & 0xC0) != 0x80 && chars++ == TITLE_WIDTH)
			break;
	}
	return i;
}

static int table_rows(berth_buf *b, const row *v, size_t from, size_t to)
{
	int rc = berth_buf_printf(b, "%-28s %-20s %-10s %-12s %-26s %-26s %s\n", "Library",
				  "Vulnerability", "Severity", "Status", "Installed Version",
				  "Fixed Version", "Title");

	for (size_t i = from; rc == 0 && i < to; i++) {
		const berth_scan_finding *f = v[i].f;
		const berth_package *p = v[i].p;
		char ver[160];

		if (p->epoch > 0)
			snprintf(ver, sizeof(ver), "%d:%s", p->epoch, p->version);
		else
			snprintf(ver, sizeof(ver), "%s", p->version);
		rc = berth_buf_printf(b, "%-28s %-20s %-10s %-12s %-26s %-26s %.*s\n", p->name,
				      f->id, berth_scan_severity_name(f->severity), f->status, ver,
				      f->fixed, title_len(f->summary), f->summary);
	}
	return rc ? rc : berth_buf_puts(b, "\n");
}

static int table(berth_buf *b, const berth_scan_report *r)
{
	size_t n, from = 0;
	row *v = rows(r, 0, &n);
	int rc = 0;

	if (!v)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_buf_printf(b, "%s%s%s\n\n", r->catalog->target ? r->catalog->target : "",
			      r->catalog->digest ? " " : "",
			      r->catalog->digest ? r->catalog->digest : "");
	if (rc == 0 && n == 0)
		rc = berth_buf_printf(b, "No vulnerabilities found (%zu packages checked).\n",
				      r->queried);
	while (rc == 0 && from < n) {
		size_t to = from;

		while (to < n && strcmp(v[to].target, v[from].target) == 0)
			to++;
		rc = berth_buf_printf(b, "%s\n", v[from].target);
		for (size_t k = 0; rc == 0 && k < strlen(v[from].target); k++)
			rc = berth_buf_puts(b, "=");
		if (rc == 0 && (rc = berth_buf_puts(b, "\n")) == 0 &&
		    (rc = summary_line(b, v, from, to)) == 0)
			rc = table_rows(b, v, from, to);
		from = to;
	}
	free(v);
	return rc;
}

static json_t *finding_json(const berth_scan_report *r, const row *w)
{
	const berth_scan_finding *f = w->f;
	const berth_package *p = w->p;
	char ver[BERTH_SCAN_KEY_MAX];
	json_t *o;

	/* Trivy's InstalledVersion: the epoch written in, as the version order reads it. */
	if (p->epoch > 0)
		snprintf(ver, sizeof(ver), "%d:%s", p->epoch, p->version ? p->version : "");
	else
		snprintf(ver, sizeof(ver), "%s", p->version ? p->version : "");
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", f->id,
		      "severity", berth_scan_severity_name(f->severity), "status", f->status,
		      "package", p->name, "installed_version", ver, "fixed_version", f->fixed,
		      "ecosystem", f->ecosystem, "matched_package", f->matched, "matched_version",
		      f->installed, "title", f->summary, "source", f->source);
	json_t *al = json_array();

	(void)r;
	if (!o || !al) {
		json_decref(o);
		json_decref(al);
		return NULL;
	}
	for (const char *s = f->aliases; *s;) {
		size_t l = strcspn(s, ",");

		json_array_append_new(al, json_stringn(s, l));
		s += l;
		if (*s)
			s++;
	}
	json_object_set_new(o, "aliases", al);
	json_object_set_new(o, "cvss", f->cvss >= 0 ? json_real(f->cvss) : json_null());
	json_object_set_new(o, "cvss_vector",
			    *f->cvss_vector ? json_string(f->cvss_vector) : json_null());
	json_object_set_new(o, "purl", p->purl ? json_string(p->purl) : json_null());
	json_object_set_new(o, "type", json_string(berth_pkg_type_name(p->type)));
	json_object_set_new(o, "layer", json_string(p->layer ? p->layer : ""));
	json_object_set_new(o, "path", json_string(p->path ? p->path : ""));
	if (p->epoch > 0)
		json_object_set_new(o, "epoch", json_integer(p->epoch));
	if (f->suppressed)
		json_object_set_new(o, "suppressed_by", json_string(f->suppressed));
	return o;
}

/* {"target":..., "type":..., "vulnerabilities":[...]} per target, in output order. */
static json_t *results_json(const berth_scan_report *r, const row *v, size_t n)
{
	json_t *res = json_array(), *cur = NULL;

	for (size_t i = 0; res && i < n; i++) {
		json_t *fj = finding_json(r, &v[i]);

		if (!fj) {
			json_decref(res);
			return NULL;
		}
		if (!cur || strcmp(v[i].target, v[i - 1].target) != 0) {
			cur = json_array();
			json_array_append_new(
				res, json_pack("{s:s, s:s, s:o}", "target", v[i].target, "class",
					       berth_pkg_type_is_os(v[i].p->type) ? "os-pkgs"
										  : "lang-pkgs",
					       "vulnerabilities", cur));
		}
		json_array_append_new(cur, fj);
	}
	return res;
}

static json_t *report_json(const berth_scan_report *r)
{
	const berth_catalog *c = r->catalog;
	size_t n, ns, count[BERTH_SEV__COUNT] = {0};
	row *v = rows(r, 0, &n), *s = rows(r, 1, &ns);
	json_t *doc = NULL, *sum = json_object(), *sup = json_array(), *warn = json_array();

	if (!v || !s || !sum || !sup || !warn)
		goto fail;
	for (size_t i = 0; i < n; i++)
		count[v[i].f->severity]++;
	for (int k = 0; k < BERTH_SEV__COUNT; k++)
		json_object_set_new(sum, berth_scan_severity_name((berth_scan_severity)k),
				    json_integer((json_int_t)count[k]));
	for (size_t i = 0; i < ns; i++)
		json_array_append_new(sup, finding_json(r, &s[i]));
	for (size_t i = 0; i < r->nwarnings; i++)
		json_array_append_new(warn, json_string(r->warnings[i]));
	doc = json_pack("{s:i, s:s?, s:s?, s:{s:s?, s:s?, s:s?}, s:{s:I}, s:I, s:I, s:o, s:o, s:o, "
			"s:o}",
			"schema_version", SCAN_JSON_SCHEMA, "target", c->target, "digest",
			c->digest, "os", "id", c->os_id, "version", c->os_version, "name",
			c->os_name, "database", "built_at", (json_int_t)r->db_built_at, "packages",
			(json_int_t)c->npkgs, "packages_unmatched", (json_int_t)r->unmatched,
			"summary", sum, "results", results_json(r, v, n), "suppressed", sup,
			"warnings", warn);
	sum = sup = warn = NULL;
fail:
	json_decref(sum);
	json_decref(sup);
	json_decref(warn);
	free(v);
	free(s);
	return doc;
}

static int dump(berth_buf *b, json_t *doc)
{
	char *text;
	int rc;

	if (!doc)
		return berth_error_set(BERTH_ERROR, "out of memory");
	text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_buf_puts(b, text);
	free(text);
	return rc ? rc : berth_buf_puts(b, "\n");
}

int berth_scan_render(char **out, size_t *len, const berth_scan_report *r,
		      const berth_scan_render_options *o)
{
	berth_buf b = BERTH_BUF_INIT(REPORT_MAX);
	const char *cdx = o->cyclonedx_version ? o->cyclonedx_version : "1.6";
	int rc;

	*out = NULL;
	*len = 0;
	if (strcmp(cdx, "1.6") != 0 && strcmp(cdx, "1.5") != 0)
		return berth_error_set(BERTH_EINVALID, "CycloneDX version is 1.6 or 1.5");
	switch (o->format) {
	case BERTH_SCAN_TABLE: rc = table(&b, r); break;
	case BERTH_SCAN_JSON: rc = dump(&b, report_json(r)); break;
	case BERTH_SCAN_SARIF: rc = dump(&b, berth_scan__sarif(r)); break;
	case BERTH_SCAN_CYCLONEDX: rc = dump(&b, berth_scan__cyclonedx(r, cdx, o->created)); break;
	default: rc = berth_error_set(BERTH_EINVALID, "unknown scan format");
	}
	if (rc) {
		berth_buf_dispose(&b);
		return rc;
	}
	*out = berth_buf_detach(&b, len);
	return *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}
