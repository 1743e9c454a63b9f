/*
 * suppress.c - what the user says not to report: Trivy's ignore files
 * (.trivyignore: one id per line with an optional "exp:YYYY-MM-DD";
 * .trivyignore.yaml: vulnerabilities with id, paths, purls, expired_at,
 * statement) and VEX documents (OpenVEX statements, CycloneDX VEX
 * vulnerabilities with an analysis). A suppressed finding keeps its place
 * in the report with the reason, so the JSON output can say why.
 */
#include "internal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define IGNORE_ID_MAX 256

/* "2024-03-01" (or a longer RFC 3339 time): is its whole day before `now`? */
static int parse_day(const char *s, time_t *end_of_day)
{
	struct tm tm = {0};
	int y, m, d;

	if (sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d + 1; /* the line applies through that day (UTC) */
	*end_of_day = timegm(&tm);
	return 0;
}

/* One ignore rule applied to every finding it names. */
typedef struct rule {
	const char *id;
	const char *const *paths; /* globs, NULL-terminated, or NULL for any */
	const char *const *purls; /* NULL-terminated, or NULL for any */
	const char *where;	  /* "file:line" */
	const char *statement;	  /* or NULL */
} rule;

static int any_glob(const char *const *globs, const char *path)
{
	if (!globs || !globs[0])
		return 1;
	for (; *globs; globs++) {
		const char *p = path && path[0] == '/' ? path + 1 : path ? path : "";
		const char *g = (*globs)[0] == '/' ? *globs + 1 : *globs;

		if (fnmatch(g, p, 0) == 0)
			return 1;
	}
	return 0;
}

static int any_purl(const char *const *purls, const char *purl)
{
	if (!purls || !purls[0])
		return 1;
	for (; *purls; purls++)
		if (berth_scan__purl_matches(*purls, purl))
			return 1;
	return 0;
}

static int apply_rule(berth_scan_report *r, const rule *ru)
{
	for (size_t i = 0; i < r->n; i++) {
		berth_scan_finding *f = &r->findings[i];
		const berth_package *p = &r->catalog->pkgs[f->pkg];
		int rc;

		if (!berth_scan__names(f, ru->id) || !any_glob(ru->paths, p->path) ||
		    !any_purl(ru->purls, p->purl))
			continue;
		rc = berth_scan__suppress(f, "ignore file %s%s%s", ru->where,
					  ru->statement ? ": " : "",
					  ru->statement ? ru->statement : "");
		if (rc)
			return rc;
	}
	return 0;
}

static int text_ignore(berth_scan_report *r, const char *path, char *text, time_t now)
{
	unsigned line = 0;
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char id[IGNORE_ID_MAX + 1], where[600], *hash = strchr(l, '#'), *tok, *ts = NULL;
		time_t exp = 0;
		int rc;

		line++;
		if (hash)
			*hash = '\0';
		tok = strtok_r(l, " \t\r", &ts);
		if (!tok)
			continue;
		if (strlen(tok) > IGNORE_ID_MAX)
			return berth_error_set(BERTH_EINVALID, "%s:%u: id too long", path, line);
		snprintf(id, sizeof(id), "%s", tok);
		while ((tok = strtok_r(NULL, " \t\r", &ts))) {
			if (strncmp(tok, "exp:", 4) != 0 || parse_day(tok + 4, &exp) != 0)
				return berth_error_set(
					BERTH_EINVALID,
					"%s:%u: expected exp:YYYY-MM-DD, not '%.40s'", path, line,
					tok);
		}
		if (exp && exp <= now)
			continue; /* expired: the finding is reported again */
		snprintf(where, sizeof(where), "%.500s:%u", path, line);
		if ((rc = apply_rule(r, &(rule){id, NULL, NULL, where, NULL})) != 0)
			return rc;
	}
	return 0;
}

/* ---- the YAML form ---- */

static const char *scalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(yaml_document_get_node(d, p->key));

		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(d, p->value);
	}
	return NULL;
}

/* The scalars of a sequence as a NULL-terminated array (borrowed strings); NULL if absent. */
static int strings(yaml_document_t *d, yaml_node_t *seq, const char ***out)
{
	size_t n = 0;

	*out = NULL;
	if (!seq)
		return 0;
	if (seq->type != YAML_SEQUENCE_NODE)
		return -1;
	*out = calloc((size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start) + 1,
		      sizeof(char *));
	if (!*out)
		return -1;
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		const char *s = scalar(yaml_document_get_node(d, *it));

		if (!s)
			return -1;
		(*out)[n++] = s;
	}
	return 0;
}

static int yaml_entry(berth_scan_report *r, const char *path, yaml_document_t *d, yaml_node_t *e,
		      time_t now)
{
	const char *id = scalar(map_get(d, e, "id")), *exp = scalar(map_get(d, e, "expired_at"));
	const char **paths = NULL, **purls = NULL;
	char where[600];
	time_t until;
	int rc = 0;

	snprintf(where, sizeof(where), "%.500s:%lu", path, (unsigned long)e->start_mark.line + 1);
	if (!id || strlen(id) > IGNORE_ID_MAX)
		return berth_error_set(BERTH_EINVALID, "%s: an entry without an id", where);
	if (exp && parse_day(exp, &until) != 0)
		return berth_error_set(BERTH_EINVALID, "%s: expired_at is not a date", where);
	if (exp && until <= now)
		return 0;
	if (strings(d, map_get(d, e, "paths"), &paths) != 0 ||
	    strings(d, map_get(d, e, "purls"), &purls) != 0) {
		rc = berth_error_set(BERTH_EINVALID, "%s: paths and purls are lists of strings",
				     where);
		goto done;
	}
	rc = apply_rule(r, &(rule){id, paths, purls, where, scalar(map_get(d, e, "statement"))});
done:
	free(paths);
	free(purls);
	return rc;
}

static int yaml_ignore(berth_scan_report *r, const char *path, const char *text, size_t len,
		       time_t now)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root, *vulns;
	int rc = 0;

	if (!yaml_parser_initialize(&parser))
		return berth_error_set(BERTH_ERROR, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = berth_error_set(BERTH_EINVALID, "%s:%lu: %s", path,
				     (unsigned long)parser.problem_mark.line + 1,
				     parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return rc;
	}
	root = yaml_document_get_root_node(&doc);
	vulns = map_get(&doc, root, "vulnerabilities");
	if (root && root->type != YAML_MAPPING_NODE) {
		rc = berth_error_set(BERTH_EINVALID, "%s: expected a mapping", path);
	} else if (vulns && vulns->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *it = vulns->data.sequence.items.start;
		     rc == 0 && it < vulns->data.sequence.items.top; it++)
			rc = yaml_entry(r, path, &doc, yaml_document_get_node(&doc, *it), now);
	} else if (vulns) {
		rc = berth_error_set(BERTH_EINVALID, "%s: vulnerabilities is not a list", path);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int berth_scan_ignore_file(berth_scan_report *r, const char *path, time_t now)
{
	char *text = NULL;
	size_t len;
	int rc;

	if ((rc = berth_scan__read(&text, &len, path)) != 0)
		return rc;
	if (strlen(text) != len)
		rc = berth_error_set(BERTH_EINVALID, "%s: a NUL byte in an ignore file", path);
	else if (ends_with(path, ".yaml") || ends_with(path, ".yml"))
		rc = yaml_ignore(r, path, text, len, now);
	else
		rc = text_ignore(r, path, text, now);
	free(text);
	return rc;
}

/* ---- VEX ---- */

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Suppress every finding named `id` whose package PURL is `purl`. */
static int vex_apply(berth_scan_report *r, const char *id, const char *purl, const char *why)
{
	for (size_t i = 0; i < r->n; i++) {
		berth_scan_finding *f = &r->findings[i];
		int rc;

		if (!berth_scan__names(f, id) ||
		    !berth_scan__purl_matches(purl, r->catalog->pkgs[f->pkg].purl))
			continue;
		if ((rc = berth_scan__suppress(f, "%s", why)) != 0)
			return rc;
	}
	return 0;
}

/* An OpenVEX product: {"@id": purl, "subcomponents": [{"@id": purl}]} or a bare string. */
static int openvex_product(berth_scan_report *r, const char *id, json_t *prod, const char *why)
{
	json_t *subs = json_object_get(prod, "subcomponents"), *s;
	const char *pid = json_is_string(prod) ? json_string_value(prod) : jstr(prod, "@id");
	size_t i;
	int rc;

	if (pid && strncmp(pid, "pkg:", 4) == 0 && (rc = vex_apply(r, id, pid, why)) != 0)
		return rc;
	json_array_foreach(subs, i, s)
	{
		const char *sid = json_is_string(s) ? json_string_value(s) : jstr(s, "@id");

		if (sid && (rc = vex_apply(r, id, sid, why)) != 0)
			return rc;
	}
	return 0;
}

static int openvex(berth_scan_report *r, const char *path, json_t *doc)
{
	json_t *stmts = json_object_get(doc, "statements"), *st, *p;
	size_t i, k;
	int rc;

	if (!json_is_array(stmts))
		return berth_error_set(BERTH_EINVALID, "%s: OpenVEX without statements", path);
	json_array_foreach(stmts, i, st)
	{
		json_t *vuln = json_object_get(st, "vulnerability");
		const char *status = jstr(st, "status"), *id, *just = jstr(st, "justification");
		char why[700];

		id = json_is_string(vuln) ? json_string_value(vuln) : jstr(vuln, "name");
		if (!id)
			id = jstr(vuln, "@id");
		if (!id || !status)
			return berth_error_set(BERTH_EINVALID,
					       "%s: statement %zu without vulnerability or status",
					       path, i + 1);
		if (strcmp(status, "not_affected") != 0 && strcmp(status, "fixed") != 0)
			continue;
		snprintf(why, sizeof(why), "VEX %.400s: %s%s%.100s", path, status, just ? ", " : "",
			 just ? just : "");
		json_array_foreach(json_object_get(st, "products"), k, p)
		{
			if ((rc = openvex_product(r, id, p, why)) != 0)
				return rc;
		}
	}
	return 0;
}

/* A CycloneDX BOM-link "urn:cdx:SERIAL/VERSION#REF" names the component REF. */
static const char *cdx_ref(const char *ref)
{
	const char *h;

	if (strncmp(ref, "urn:cdx:", 8) == 0 && (h = strchr(ref, '#')))
		return h + 1;
	return ref;
}

static int cyclonedx_vex(berth_scan_report *r, const char *path, json_t *doc)
{
	static const char *const states[] = {"not_affected", "false_positive", "resolved",
					     "resolved_with_pedigree"};
	json_t *vulns = json_object_get(doc, "vulnerabilities"), *v, *a;
	size_t i, k;
	int rc;

	json_array_foreach(vulns, i, v)
	{
		json_t *an = json_object_get(v, "analysis");
		const char *id = jstr(v, "id"), *state = jstr(an, "state");
		const char *just = jstr(an, "justification");
		char why[700];
		int hit = 0;

		for (size_t s = 0; state && s < sizeof(states) / sizeof(states[0]); s++)
			hit |= strcmp(state, states[s]) == 0;
		if (!id || !hit)
			continue;
		snprintf(why, sizeof(why), "VEX %.400s: %s%s%.100s", path, state, just ? ", " : "",
			 just ? just : "");
		json_array_foreach(json_object_get(v, "affects"), k, a)
		{
			const char *ref = jstr(a, "ref");

			if (ref && (rc = vex_apply(r, id, cdx_ref(ref), why)) != 0)
				return rc;
		}
	}
	return 0;
}

int berth_scan_vex_file(berth_scan_report *r, const char *path)
{
	char *text = NULL;
	json_t *doc = NULL;
	json_error_t err;
	const char *ctx;
	size_t len;
	int rc;

	if ((rc = berth_scan__read(&text, &len, path)) != 0)
		return rc;
	doc = json_loadb(text, len, 0, &err);
	free(text);
	if (!json_is_object(doc)) {
		rc = berth_error_set(BERTH_EINVALID, "%s:%d: not a JSON VEX document (%s)", path,
				     err.line, json_is_object(doc) ? "" : err.text);
		goto done;
	}
	ctx = jstr(doc, "@context");
	if (ctx && strstr(ctx, "openvex"))
		rc = openvex(r, path, doc);
	else if (jstr(doc, "bomFormat") && strcmp(jstr(doc, "bomFormat"), "CycloneDX") == 0)
		rc = cyclonedx_vex(r, path, doc);
	else
		rc = berth_error_set(BERTH_EINVALID,
				     "%s: neither OpenVEX (@context) nor CycloneDX (bomFormat)",
				     path);
done:
	json_decref(doc);
	return rc;
}
