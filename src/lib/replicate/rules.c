/*
 * rules.c - replication rule sets from JSON: the `registries:` and
 * `replication:` sections of `berth serve --config` (converted from YAML by
 * the server's one config reader) and the bodies of the replication API.
 *
 * The shape is Harbor's, as the brief writes it: a registry has a name and a
 * URL; a rule names its target (push) or source (pull) as a URL or a
 * registry's name, a trigger (manual, scheduled with a cron, event_based)
 * and filters (resource, pattern, tag, label). Scalars may arrive as JSON
 * strings (YAML's plain scalars) or as numbers and booleans (API bodies).
 * Unknown keys are errors, so a typo never silently widens a rule.
 */
#include "berth/replicate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NAME_MAX_ BERTH_META_NAME_MAX
#define FILTERS_MAX 32
#define RULES_MAX 1024
#define CONCURRENCY_MAX 64

/* Put `where` before the last error's message (copied first: the slot is rewritten). */
static int prefix_error(int rc, const char *where)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s", berth_error_last());
	return berth_error_set(rc, "%s: %s", where, msg);
}

static int str_field(json_t *obj, const char *key, const char *where, size_t max, char **out)
{
	json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return berth_error_set(BERTH_EINVALID, "%s: %s must be a string", where, key);
	if (json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return berth_error_set(BERTH_EINVALID, "%s: %s must be 1 to %zu bytes", where, key,
				       max);
	free(*out);
	if (!(*out = strdup(json_string_value(v))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

static int bool_field(json_t *obj, const char *key, const char *where, int *out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return 0;
	}
	s = json_is_string(v) ? json_string_value(v) : "";
	if (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0) {
		*out = 1;
		return 0;
	}
	if (strcasecmp(s, "false") == 0 || strcasecmp(s, "no") == 0) {
		*out = 0;
		return 0;
	}
	return berth_error_set(BERTH_EINVALID, "%s: %s must be true or false", where, key);
}

static int uint_field(json_t *obj, const char *key, const char *where, unsigned max, unsigned *out)
{
	json_t *v = json_object_get(obj, key);
	long long n = -1;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;

		if (s[0] >= '0' && s[0] <= '9' && strlen(s) < 12)
			n = strtoll(s, &end, 10), n = *end ? -1 : n;
	}
	if (n < 0 || n > (long long)max)
		return berth_error_set(BERTH_EINVALID, "%s: %s must be an integer from 0 to %u",
				       where, key, max);
	*out = (unsigned)n;
	return 0;
}

/* Every key of `obj` must be one of `known` (NULL-terminated). */
static int known_keys(json_t *obj, const char *where, const char *const *known)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		size_t i = 0;

		(void)v;
		while (known[i] && strcmp(known[i], key) != 0)
			i++;
		if (!known[i])
			return berth_error_set(BERTH_EINVALID, "%s: unknown key '%.64s'", where,
					       key);
	}
	return 0;
}

static int url_ok(const char *url, const char *where)
{
	const char *host;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return berth_error_set(BERTH_EINVALID,
				       "%s: URL must start with https:// or http://", where);
	if (!host[0] || host[0] == '/' || strlen(url) > BERTH_REPLICATE_URL_MAX)
		return berth_error_set(BERTH_EINVALID, "%s: URL has no host", where);
	for (const char *p = host; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '@' || *p == '?' || *p == '#')
			return berth_error_set(BERTH_EINVALID,
					       "%s: URL must be scheme://host[:port] only", where);
	return 0;
}

static void registry_dispose(berth_repl_registry *g)
{
	free(g->name);
	free(g->url);
	free(g->description);
	free(g->username);
	free(g->password_file);
	if (g->password) {
		explicit_bzero(g->password, strlen(g->password));
		free(g->password);
	}
	memset(g, 0, sizeof(*g));
}

static void rule_dispose(berth_repl_rule *r)
{
	for (size_t i = 0; i < r->nfilters; i++) {
		free(r->filters[i].resource);
		free(r->filters[i].pattern);
		free(r->filters[i].tag);
		free(r->filters[i].label);
	}
	free(r->filters);
	free(r->name);
	free(r->remote);
	free(r->cron);
	memset(r, 0, sizeof(*r));
}

void berth_repl_rules_dispose(berth_repl_rules *r)
{
	for (size_t i = 0; i < r->nregistries; i++)
		registry_dispose(&r->registries[i]);
	for (size_t i = 0; i < r->nrules; i++)
		rule_dispose(&r->rules[i]);
	free(r->registries);
	free(r->rules);
	memset(r, 0, sizeof(*r));
}

static int parse_registry(json_t *o, size_t idx, int from_config, berth_repl_registry *g)
{
	static const char *const keys[] = {"name",     "url",	     "description",
					   "insecure", "credential", NULL};
	char where[64 + NAME_MAX_];
	json_t *cred;
	int rc;

	snprintf(where, sizeof(where), "registries[%zu]", idx);
	if (!json_is_object(o))
		return berth_error_set(BERTH_EINVALID, "%s: expected a mapping", where);
	if ((rc = known_keys(o, where, keys)) < 0 ||
	    (rc = str_field(o, "name", where, NAME_MAX_, &g->name)) < 0)
		return rc;
	if (!g->name)
		return berth_error_set(BERTH_EINVALID, "%s: name is required", where);
	snprintf(where, sizeof(where), "registry %s", g->name);
	if ((rc = str_field(o, "url", where, BERTH_REPLICATE_URL_MAX, &g->url)) < 0 ||
	    (rc = str_field(o, "description", where, 4096, &g->description)) < 0 ||
	    (rc = bool_field(o, "insecure", where, &g->insecure)) < 0)
		return rc;
	if (!g->url)
		return berth_error_set(BERTH_EINVALID, "%s: url is required", where);
	if ((rc = url_ok(g->url, where)) < 0)
		return rc;
	g->from_config = from_config;
	cred = json_object_get(o, "credential");
	if (cred && !json_is_null(cred)) {
		static const char *const file_keys[] = {"username", "password_file", NULL};
		static const char *const api_keys[] = {"username", "password", NULL};

		if (!json_is_object(cred))
			return berth_error_set(BERTH_EINVALID, "%s: credential must be a mapping",
					       where);
		if ((rc = known_keys(cred, where, from_config ? file_keys : api_keys)) < 0 ||
		    (rc = str_field(cred, "username", where, 1024, &g->username)) < 0 ||
		    (rc = str_field(cred, "password_file", where, 4096, &g->password_file)) < 0 ||
		    (rc = str_field(cred, "password", where, 1024, &g->password)) < 0)
			return rc;
		if ((g->password || g->password_file) && !g->username)
			return berth_error_set(BERTH_EINVALID, "%s: a password needs a username",
					       where);
	}
	return 0;
}

static int parse_filter(json_t *o, const char *where, berth_repl_filter *f)
{
	static const char *const keys[] = {"resource", "pattern", "tag", "label", NULL};
	int rc;

	if (!json_is_object(o))
		return berth_error_set(BERTH_EINVALID, "%s: each filter is a mapping", where);
	if ((rc = known_keys(o, where, keys)) < 0 ||
	    (rc = str_field(o, "resource", where, 32, &f->resource)) < 0 ||
	    (rc = str_field(o, "pattern", where, BERTH_REPLICATE_PATTERN_MAX, &f->pattern)) < 0 ||
	    (rc = str_field(o, "tag", where, BERTH_REPLICATE_PATTERN_MAX, &f->tag)) < 0 ||
	    (rc = str_field(o, "label", where, 256, &f->label)) < 0)
		return rc;
	if (f->resource && strcmp(f->resource, "image") != 0 &&
	    strcmp(f->resource, "artifact") != 0)
		return berth_error_set(BERTH_EINVALID, "%s: resource must be image or artifact",
				       where);
	/* A bad glob is refused now, not at the first execution. */
	if ((f->pattern && (rc = berth_replicate_glob_match(f->pattern, "")) < 0) ||
	    (f->tag && (rc = berth_replicate_glob_match(f->tag, "")) < 0))
		return prefix_error(rc, where);
	return 0;
}

static int parse_trigger(json_t *o, const char *where, berth_repl_rule *r)
{
	static const char *const keys[] = {"type", "cron", NULL};
	char *type = NULL;
	int rc;

	if (!o || json_is_null(o))
		return 0; /* manual */
	if (!json_is_object(o))
		return berth_error_set(BERTH_EINVALID, "%s: trigger must be a mapping", where);
	if ((rc = known_keys(o, where, keys)) < 0 ||
	    (rc = str_field(o, "type", where, 32, &type)) < 0 ||
	    (rc = str_field(o, "cron", where, BERTH_REPLICATE_CRON_MAX, &r->cron)) < 0)
		goto done;
	if (!type || strcmp(type, "manual") == 0) {
		r->trigger = BERTH_REPL_MANUAL;
	} else if (strcmp(type, "scheduled") == 0) {
		r->trigger = BERTH_REPL_SCHEDULED;
	} else if (strcmp(type, "event_based") == 0) {
		r->trigger = BERTH_REPL_EVENT;
	} else {
		rc = berth_error_set(BERTH_EINVALID,
				     "%s: trigger type must be manual, scheduled or event_based",
				     where);
		goto done;
	}
	if (r->trigger == BERTH_REPL_SCHEDULED) {
		if (!r->cron) {
			rc = berth_error_set(BERTH_EINVALID, "%s: a scheduled trigger needs cron",
					     where);
			goto done;
		}
		if ((rc = berth_cron_parse(&r->schedule, r->cron)) < 0) {
			rc = prefix_error(rc, where);
			goto done;
		}
	}
done:
	free(type);
	return rc;
}

/* The remote end: a URL, or the name of a registry of the set. */
static int resolve_remote(berth_repl_rules *set, berth_repl_rule *r, const char *where)
{
	if (strstr(r->remote, "://"))
		return url_ok(r->remote, where);
	for (size_t i = 0; i < set->nregistries; i++) {
		if (strcmp(set->registries[i].name, r->remote) == 0) {
			char *url = strdup(set->registries[i].url);

			if (!url)
				return berth_error_set(BERTH_ERROR, "out of memory");
			free(r->remote);
			r->remote = url;
			r->registry = &set->registries[i];
			return 0;
		}
	}
	return berth_error_set(BERTH_EINVALID, "%s: no registry named '%.64s'", where, r->remote);
}

static int parse_filters(json_t *arr, const char *where, berth_repl_rule *r)
{
	int rc;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > FILTERS_MAX)
		return berth_error_set(BERTH_EINVALID, "%s: filters must be a list of at most %d",
				       where, FILTERS_MAX);
	if (!(r->filters = calloc(json_array_size(arr) + 1, sizeof(*r->filters))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		r->nfilters++;
		if ((rc = parse_filter(json_array_get(arr, i), where, &r->filters[i])) < 0)
			return rc;
	}
	return 0;
}

static int parse_rule(berth_repl_rules *set, json_t *o, size_t idx, int from_config,
		      berth_repl_rule *r)
{
	static const char *const keys[] = {"name",    "description", "target",	    "source",
					   "trigger", "filters",     "direction",   "override",
					   "delete",  "bandwidth",   "concurrency", "enabled",
					   "workers", NULL};
	char where[64 + NAME_MAX_];
	char *direction = NULL, *target = NULL, *source = NULL;
	int rc;

	snprintf(where, sizeof(where), "replication[%zu]", idx);
	r->override = 1;
	r->enabled = 1;
	r->concurrency = 4;
	r->workers = BERTH_REPL_WORKERS_DEFAULT;
	r->from_config = from_config;
	if (!json_is_object(o))
		return berth_error_set(BERTH_EINVALID, "%s: expected a mapping", where);
	if ((rc = known_keys(o, where, keys)) < 0 ||
	    (rc = str_field(o, "name", where, NAME_MAX_, &r->name)) < 0)
		return rc;
	if (!r->name)
		return berth_error_set(BERTH_EINVALID, "%s: name is required", where);
	snprintf(where, sizeof(where), "rule %s", r->name);
	if ((rc = str_field(o, "target", where, BERTH_REPLICATE_URL_MAX, &target)) < 0 ||
	    (rc = str_field(o, "source", where, BERTH_REPLICATE_URL_MAX, &source)) < 0 ||
	    (rc = str_field(o, "direction", where, 16, &direction)) < 0 ||
	    (rc = bool_field(o, "override", where, &r->override)) < 0 ||
	    (rc = bool_field(o, "delete", where, &r->delete)) < 0 ||
	    (rc = bool_field(o, "enabled", where, &r->enabled)) < 0 ||
	    (rc = uint_field(o, "bandwidth", where, 10 * 1024 * 1024, &r->bandwidth)) < 0 ||
	    (rc = uint_field(o, "concurrency", where, CONCURRENCY_MAX, &r->concurrency)) < 0 ||
	    (rc = uint_field(o, "workers", where, BERTH_REPL_WORKERS_MAX, &r->workers)) < 0 ||
	    (rc = parse_trigger(json_object_get(o, "trigger"), where, r)) < 0 ||
	    (rc = parse_filters(json_object_get(o, "filters"), where, r)) < 0)
		goto done;
	if (r->concurrency == 0)
		r->concurrency = 4;
	if (r->workers == 0)
		r->workers = BERTH_REPL_WORKERS_DEFAULT;
	if (direction && strcmp(direction, "push") != 0 && strcmp(direction, "pull") != 0) {
		rc = berth_error_set(BERTH_EINVALID, "%s: direction must be push or pull", where);
		goto done;
	}
	r->pull = direction ? strcmp(direction, "pull") == 0 : (source && !target);
	if ((target && source) || (!target && !source) || (r->pull ? !source : !target)) {
		rc = berth_error_set(BERTH_EINVALID,
				     "%s: give a target (push) or a source (pull), not both",
				     where);
		goto done;
	}
	r->remote = r->pull ? source : target;
	if (r->pull)
		source = NULL;
	else
		target = NULL;
	rc = resolve_remote(set, r, where);
done:
	free(direction);
	free(target);
	free(source);
	return rc;
}

static int add_registries(berth_repl_rules *out, json_t *arr, int from_config)
{
	berth_repl_registry *grown;
	size_t n, first = out->nregistries;
	int rc = 0;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > RULES_MAX ||
	    first + json_array_size(arr) > RULES_MAX)
		return berth_error_set(BERTH_EINVALID, "registries: expected a list (at most %d)",
				       RULES_MAX);
	n = json_array_size(arr);
	if (out->nrules) /* rules point into the array: it never moves once they exist */
		return berth_error_set(BERTH_EINVALID, "registries: given after the rules");
	if (!(grown = realloc(out->registries, (first + n + 1) * sizeof(*grown))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	out->registries = grown;
	for (size_t i = 0; i < n && rc == 0; i++) {
		berth_repl_registry *g = &grown[out->nregistries];

		memset(g, 0, sizeof(*g));
		out->nregistries++;
		if ((rc = parse_registry(json_array_get(arr, i), i, from_config, g)) < 0)
			break;
		for (size_t j = 0; j + 1 < out->nregistries && rc == 0; j++)
			if (strcmp(grown[j].name, g->name) == 0)
				rc = berth_error_set(BERTH_EEXISTS, "registries: '%.64s' exists",
						     g->name);
	}
	if (rc < 0) {
		while (out->nregistries > first)
			registry_dispose(&out->registries[--out->nregistries]);
	}
	return rc;
}

static int add_rules(berth_repl_rules *out, json_t *arr, int from_config)
{
	berth_repl_rule *grown;
	size_t n, first = out->nrules;
	int rc = 0;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > RULES_MAX ||
	    out->nrules + json_array_size(arr) > RULES_MAX)
		return berth_error_set(BERTH_EINVALID, "replication: expected a list (at most %d)",
				       RULES_MAX);
	n = json_array_size(arr);
	if (!(grown = realloc(out->rules, (out->nrules + n + 1) * sizeof(*grown))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	out->rules = grown;
	for (size_t i = 0; i < n; i++) {
		berth_repl_rule *r = &out->rules[out->nrules];

		memset(r, 0, sizeof(*r));
		out->nrules++;
		if ((rc = parse_rule(out, json_array_get(arr, i), i, from_config, r)) < 0)
			break;
		for (size_t j = 0; j + 1 < out->nrules && rc == 0; j++)
			if (strcmp(out->rules[j].name, r->name) == 0)
				rc = berth_error_set(BERTH_EEXISTS,
						     "replication: rule '%.64s' exists", r->name);
		if (rc < 0)
			break;
	}
	/* All or nothing: a set that refused a rule is left as it was. */
	if (rc < 0) {
		while (out->nrules > first)
			rule_dispose(&out->rules[--out->nrules]);
	}
	return rc;
}

int berth_repl_rules_parse(berth_repl_rules *out, const char *json, size_t len, int from_config)
{
	static const char *const keys[] = {"registries", "replication", NULL};
	json_error_t jerr;
	json_t *root = NULL;
	int rc;

	if (len > BERTH_REPLICATE_RULES_MAX)
		return berth_error_set(BERTH_ETOOBIG, "replication rules larger than %d bytes",
				       BERTH_REPLICATE_RULES_MAX);
	if (!(root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr))) {
		rc = berth_error_set(BERTH_EINVALID, "replication rules: %s", jerr.text);
		goto done;
	}
	if (!json_is_object(root)) {
		rc = berth_error_set(BERTH_EINVALID, "replication rules: expected an object");
		goto done;
	}
	if ((rc = known_keys(root, "replication rules", keys)) < 0 ||
	    (rc = add_registries(out, json_object_get(root, "registries"), from_config)) < 0 ||
	    (rc = add_rules(out, json_object_get(root, "replication"), from_config)) < 0)
		goto done;
done:
	json_decref(root);
	return rc;
}

berth_repl_rule *berth_repl_rules_find(berth_repl_rules *r, const char *name)
{
	for (size_t i = 0; i < r->nrules; i++)
		if (strcmp(r->rules[i].name, name) == 0)
			return &r->rules[i];
	return NULL;
}

int berth_repl_rule_matches(const berth_repl_rule *rule, const char *repo, const char *tag)
{
	for (size_t i = 0; i < rule->nfilters; i++) {
		const berth_repl_filter *f = &rule->filters[i];

		/* A label filter is the executor's (exec.c): it reads the image. */
		if (f->pattern && berth_replicate_glob_match(f->pattern, repo) != 1)
			return 0;
		if (tag && f->tag && berth_replicate_glob_match(f->tag, tag) != 1)
			return 0;
	}
	return 1;
}

static int dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src && !(*dst = strdup(src)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

int berth_replicate__rule_copy(berth_repl_rule *dst, berth_repl_registry *reg_dst,
			       const berth_repl_rule *src)
{
	int rc = 0;

	*dst = *src;
	dst->name = dst->remote = dst->cron = NULL;
	dst->filters = NULL;
	dst->nfilters = 0;
	dst->registry = NULL;
	memset(reg_dst, 0, sizeof(*reg_dst));
	if ((rc = dup_opt(&dst->name, src->name)) < 0 ||
	    (rc = dup_opt(&dst->remote, src->remote)) < 0 ||
	    (rc = dup_opt(&dst->cron, src->cron)) < 0)
		goto done;
	if (!(dst->filters = calloc(src->nfilters + 1, sizeof(*dst->filters)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < src->nfilters; i++) {
		const berth_repl_filter *f = &src->filters[i];

		dst->nfilters++;
		if ((rc = dup_opt(&dst->filters[i].resource, f->resource)) < 0 ||
		    (rc = dup_opt(&dst->filters[i].pattern, f->pattern)) < 0 ||
		    (rc = dup_opt(&dst->filters[i].tag, f->tag)) < 0 ||
		    (rc = dup_opt(&dst->filters[i].label, f->label)) < 0)
			goto done;
	}
	if (src->registry) {
		const berth_repl_registry *g = src->registry;

		reg_dst->insecure = g->insecure;
		reg_dst->from_config = g->from_config;
		if ((rc = dup_opt(&reg_dst->password, g->password)) < 0 ||
		    (rc = dup_opt(&reg_dst->name, g->name)) < 0 ||
		    (rc = dup_opt(&reg_dst->url, g->url)) < 0 ||
		    (rc = dup_opt(&reg_dst->username, g->username)) < 0 ||
		    (rc = dup_opt(&reg_dst->password_file, g->password_file)) < 0)
			goto done;
		dst->registry = reg_dst;
	}
done:
	return rc;
}

void berth_replicate__rule_dispose(berth_repl_rule *r, berth_repl_registry *reg)
{
	rule_dispose(r);
	registry_dispose(reg);
}

berth_repl_registry *berth_repl_rules_find_registry(berth_repl_rules *r, const char *name)
{
	for (size_t i = 0; i < r->nregistries; i++)
		if (strcmp(r->registries[i].name, name) == 0)
			return &r->registries[i];
	return NULL;
}
