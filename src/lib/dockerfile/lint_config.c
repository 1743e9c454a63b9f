/*
 * lint_config.c - hadolint's configuration file (.hadolint.yaml) read with
 * libyaml's document API, and the setters the CLI uses for its options.
 *
 * Keys read as hadolint reads them: ignored, override (error / warning /
 * info / style lists), trustedRegistries, failure-threshold, label-schema,
 * strict-labels, disable-ignore-pragma. Other hadolint keys (format,
 * no-color, no-fail, verbose) belong to its CLI and are ignored here.
 */
#include "lint_internal.h"

#include "util/array.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static int push(char ***list, size_t *n, const char *s)
{
	size_t cap = *n;
	char *copy = strdup(s), **room;

	if (!copy)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!(room = berth_array_room(*list, *n, &cap, sizeof(char *)))) {
		free(copy);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	*list = room;
	(*list)[(*n)++] = copy;
	return 0;
}

int berth_lint_config_ignore(berth_lint_config *cfg, const char *rule)
{
	return push(&cfg->ignored, &cfg->nignored, rule);
}

int berth_lint_config_trust(berth_lint_config *cfg, const char *registry)
{
	return push(&cfg->trusted, &cfg->ntrusted, registry);
}

int berth_lint_config_override(berth_lint_config *cfg, const char *rule, berth_lint_severity s)
{
	size_t cap = cfg->noverrides;
	berth_lint_override *room =
		berth_array_room(cfg->overrides, cfg->noverrides, &cap, sizeof(*cfg->overrides));
	char *copy = strdup(rule);

	if (!room || !copy) {
		if (room)
			cfg->overrides = room;
		free(copy);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	cfg->overrides = room;
	cfg->overrides[cfg->noverrides].rule = copy;
	cfg->overrides[cfg->noverrides].severity = s;
	cfg->noverrides++;
	return 0;
}

void berth_lint_config_dispose(berth_lint_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->nignored; i++)
		free(cfg->ignored[i]);
	for (size_t i = 0; i < cfg->ntrusted; i++)
		free(cfg->trusted[i]);
	for (size_t i = 0; i < cfg->noverrides; i++)
		free(cfg->overrides[i].rule);
	for (size_t i = 0; i < cfg->nlabels; i++) {
		free(cfg->labels[i].name);
		free(cfg->labels[i].type);
	}
	free(cfg->ignored);
	free(cfg->trusted);
	free(cfg->overrides);
	free(cfg->labels);
	cfg->ignored = cfg->trusted = NULL;
	cfg->overrides = NULL;
	cfg->labels = NULL;
	cfg->nignored = cfg->ntrusted = cfg->noverrides = cfg->nlabels = 0;
}

/* ---- YAML ---- */

typedef struct ydoc {
	yaml_document_t doc;
	const char *name;
} ydoc;

static int bad(const ydoc *y, const yaml_node_t *n, const char *what)
{
	return berth_error_set(BERTH_EINVALID, "%s:%lu:%lu: %s", y->name,
			       (unsigned long)n->start_mark.line + 1,
			       (unsigned long)n->start_mark.column + 1, what);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A list of strings (a single scalar is accepted as a one-item list). */
static int each_string(ydoc *y, yaml_node_t *n, const char *key,
		       int (*fn)(berth_lint_config *, const char *, void *), berth_lint_config *cfg,
		       void *arg)
{
	char what[128];

	if (n->type == YAML_SCALAR_NODE)
		return fn(cfg, scalar(n), arg);
	if (n->type != YAML_SEQUENCE_NODE) {
		snprintf(what, sizeof(what), "'%s' must be a list of strings", key);
		return bad(y, n, what);
	}
	for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
	     it++) {
		yaml_node_t *item = yaml_document_get_node(&y->doc, *it);
		int rc;

		if (!scalar(item)) {
			snprintf(what, sizeof(what), "'%s' must be a list of strings", key);
			return bad(y, item, what);
		}
		if ((rc = fn(cfg, scalar(item), arg)) < 0)
			return rc;
	}
	return 0;
}

static int add_ignored(berth_lint_config *cfg, const char *s, void *arg)
{
	(void)arg;
	return berth_lint_config_ignore(cfg, s);
}

static int add_trusted(berth_lint_config *cfg, const char *s, void *arg)
{
	(void)arg;
	return berth_lint_config_trust(cfg, s);
}

static int add_override(berth_lint_config *cfg, const char *s, void *arg)
{
	return berth_lint_config_override(cfg, s, *(berth_lint_severity *)arg);
}

static int read_overrides(ydoc *y, yaml_node_t *map, berth_lint_config *cfg)
{
	if (map->type != YAML_MAPPING_NODE)
		return bad(y, map,
			   "'override' must map error/warning/info/style to lists of rules");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&y->doc, p->value);
		berth_lint_severity sev;
		int rc;

		if (!scalar(k) || berth_lint_severity_parse(scalar(k), &sev) < 0)
			return bad(y, k, "override keys are error, warning, info, style or ignore");
		if ((rc = each_string(y, v, scalar(k), add_override, cfg, &sev)) < 0)
			return rc;
	}
	return 0;
}

static int read_labels(ydoc *y, yaml_node_t *map, berth_lint_config *cfg)
{
	if (map->type != YAML_MAPPING_NODE)
		return bad(y, map, "'label-schema' must map label names to types");
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&y->doc, p->value);
		size_t cap = cfg->nlabels;
		berth_lint_label *room;

		if (!scalar(k) || !scalar(v))
			return bad(y, k, "'label-schema' entries are 'name: type'");
		if (!(room = berth_array_room(cfg->labels, cfg->nlabels, &cap, sizeof(*room))))
			return berth_error_set(BERTH_ERROR, "out of memory");
		cfg->labels = room;
		room[cfg->nlabels].name = strdup(scalar(k));
		room[cfg->nlabels].type = strdup(scalar(v));
		cfg->nlabels++;
		if (!room[cfg->nlabels - 1].name || !room[cfg->nlabels - 1].type)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	return 0;
}

static int read_bool(ydoc *y, yaml_node_t *v, const char *key, int *out)
{
	const char *s = scalar(v);
	char what[128];

	if (s && (strcmp(s, "true") == 0 || strcmp(s, "false") == 0)) {
		*out = strcmp(s, "true") == 0;
		return 0;
	}
	snprintf(what, sizeof(what), "'%s' must be true or false", key);
	return bad(y, v, what);
}

static int read_key(ydoc *y, const char *key, yaml_node_t *v, berth_lint_config *cfg)
{
	berth_lint_severity sev;

	if (strcmp(key, "ignored") == 0)
		return each_string(y, v, key, add_ignored, cfg, NULL);
	if (strcmp(key, "trustedRegistries") == 0)
		return each_string(y, v, key, add_trusted, cfg, NULL);
	if (strcmp(key, "override") == 0)
		return read_overrides(y, v, cfg);
	if (strcmp(key, "label-schema") == 0)
		return read_labels(y, v, cfg);
	if (strcmp(key, "strict-labels") == 0)
		return read_bool(y, v, key, &cfg->strict_labels);
	if (strcmp(key, "disable-ignore-pragma") == 0)
		return read_bool(y, v, key, &cfg->disable_ignore_pragma);
	if (strcmp(key, "failure-threshold") == 0) {
		if (!scalar(v) || berth_lint_severity_parse(scalar(v), &sev) < 0)
			return bad(y, v,
				   "'failure-threshold' is error, warning, info, style or none");
		cfg->failure_threshold = sev;
		cfg->threshold_set = 1;
	}
	return 0;
}

int berth_lint_config_parse(berth_lint_config *cfg, const char *text, size_t len, const char *name)
{
	yaml_parser_t parser;
	ydoc y;
	yaml_node_t *root;
	int rc = 0;

	if (len > BERTH_LINT_MAX_CONFIG)
		return berth_error_set(BERTH_ETOOBIG, "%s: larger than %u bytes", name,
				       (unsigned)BERTH_LINT_MAX_CONFIG);
	y.name = name;
	if (!yaml_parser_initialize(&parser))
		return berth_error_set(BERTH_ERROR, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &y.doc)) {
		rc = berth_error_set(BERTH_EINVALID, "%s:%lu:%lu: %s", name,
				     (unsigned long)parser.problem_mark.line + 1,
				     (unsigned long)parser.problem_mark.column + 1,
				     parser.problem ? parser.problem : "invalid YAML");
		yaml_parser_delete(&parser);
		return rc;
	}
	root = yaml_document_get_root_node(&y.doc);
	if (root && root->type != YAML_MAPPING_NODE) {
		rc = bad(&y, root, "the configuration must be a mapping");
	} else if (root) {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
		     rc == 0 && p < root->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&y.doc, p->key);

			if (!scalar(k))
				rc = bad(&y, k, "keys must be strings");
			else
				rc = read_key(&y, scalar(k),
					      yaml_document_get_node(&y.doc, p->value), cfg);
		}
	}
	yaml_document_delete(&y.doc);
	yaml_parser_delete(&parser);
	return rc;
}

int berth_lint_config_load(berth_lint_config *cfg, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (!f)
		return berth_error_set_errno("%s", path);
	text = malloc(BERTH_LINT_MAX_CONFIG + 1);
	if (!text) {
		fclose(f);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	len = fread(text, 1, BERTH_LINT_MAX_CONFIG + 1, f);
	if (ferror(f))
		rc = berth_error_set_errno("%s", path);
	else
		rc = berth_lint_config_parse(cfg, text, len, path);
	fclose(f);
	free(text);
	return rc;
}
