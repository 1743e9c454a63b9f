/*
 * conf.c - containers-registries.conf(5) (version 2): a small TOML reader
 * for the [[registry]] and [[registry.mirror]] tables, the files' merge,
 * and the resolution of a reference to the places to pull it from (see
 * include/berth/registries.h).
 *
 * The reader knows the TOML a registries.conf holds: tables and arrays of
 * tables, bare and quoted keys, basic and literal strings, booleans,
 * integers, arrays (over several lines) and inline tables. Values of keys
 * it does not use are read and dropped, so a file written for podman reads
 * here unchanged.
 */
#include "berth/registries.h"
#include "util/buf.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALUE_DEPTH_MAX 16 /* nested arrays / inline tables */
#define STRING_MAX 4096	   /* one string value */

enum { PULL_ALL = 0, PULL_DIGEST_ONLY = 1, PULL_TAG_ONLY = 2 };

typedef struct reg_mirror {
	char *location;
	int insecure;
	int pull; /* PULL_* */
} reg_mirror;

typedef struct reg_entry {
	char *prefix, *location;
	int insecure, blocked, by_digest_only;
	reg_mirror *mirrors;
	size_t nmirrors;
	unsigned line;
} reg_entry;

struct berth_registries {
	reg_entry *entries;
	size_t n;
};

/* ---- the TOML reader ---- */

enum { SEC_TOP, SEC_REGISTRY, SEC_MIRROR, SEC_OTHER };

typedef struct toml {
	const char *p, *end, *name;
	unsigned line;
	int section;
	berth_registries *r;
} toml;

typedef enum { V_STRING, V_BOOL, V_OTHER } vkind;

typedef struct tvalue {
	vkind kind;
	char *str; /* V_STRING (malloc'd) */
	int b;	   /* V_BOOL */
} tvalue;

static int bad(toml *t, const char *what)
{
	return berth_error_set(BERTH_EINVALID, "%s:%u: %s", t->name, t->line, what);
}

/* Spaces and tabs (and newlines and comments when `lines`). */
static void skip_space(toml *t, int lines)
{
	while (t->p < t->end) {
		char c = *t->p;

		if (c == ' ' || c == '\t' || c == '\r')
			t->p++;
		else if (c == '#')
			while (t->p < t->end && *t->p != '\n')
				t->p++;
		else if (c == '\n' && lines) {
			t->line++;
			t->p++;
		} else
			break;
	}
}

static int read_string(toml *t, char **out)
{
	char q = *t->p++;
	berth_buf b = BERTH_BUF_INIT(STRING_MAX);
	int rc = 0;

	*out = NULL;
	while (rc == 0) {
		char c;

		if (t->p >= t->end || *t->p == '\n') {
			rc = bad(t, "unterminated string");
			break;
		}
		c = *t->p++;
		if (c == q)
			break;
		if (c == '\\' && q == '"') {
			char e = t->p < t->end ? *t->p++ : '\0';

			c = e == 'n'	? '\n'
			    : e == 't'	? '\t'
			    : e == '"'	? '"'
			    : e == '\\' ? '\\'
					: 0;
			if (!c) {
				rc = bad(t, "unsupported escape in string");
				break;
			}
		}
		if (b.len >= STRING_MAX) {
			rc = bad(t, "string too long");
			break;
		}
		rc = berth_buf_put(&b, &c, 1);
	}
	if (rc == 0 && (rc = berth_buf_put(&b, "", 1)) == 0) {
		*out = b.ptr;
		b.ptr = NULL;
	}
	berth_buf_dispose(&b);
	return rc;
}

static int is_bare(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

/* A key (bare, quoted, or dotted: the parts joined with '.') into buf. */
static int read_key(toml *t, char *buf, size_t len)
{
	size_t n = 0;

	for (;;) {
		skip_space(t, 0);
		if (t->p < t->end && (*t->p == '"' || *t->p == '\'')) {
			char *s = NULL;
			int rc = read_string(t, &s);

			if (rc < 0)
				return rc;
			if (n + strlen(s) >= len) {
				free(s);
				return bad(t, "key too long");
			}
			memcpy(buf + n, s, strlen(s));
			n += strlen(s);
			free(s);
		} else {
			const char *s = t->p;

			while (t->p < t->end && is_bare(*t->p))
				t->p++;
			if (t->p == s)
				return bad(t, "expected a key");
			if (n + (size_t)(t->p - s) >= len)
				return bad(t, "key too long");
			memcpy(buf + n, s, (size_t)(t->p - s));
			n += (size_t)(t->p - s);
		}
		skip_space(t, 0);
		if (t->p < t->end && *t->p == '.' && n + 1 < len) {
			buf[n++] = '.';
			t->p++;
			continue;
		}
		buf[n] = '\0';
		return 0;
	}
}

static void value_dispose(tvalue *v)
{
	free(v->str);
	v->str = NULL;
}

static int read_value(toml *t, tvalue *v, int depth);

/* An array or inline table (read and dropped). */
static int read_compound(toml *t, int depth)
{
	char close = *t->p == '[' ? ']' : '}';
	int table = close == '}';

	if (depth >= VALUE_DEPTH_MAX)
		return bad(t, "values nested too deep");
	t->p++;
	for (;;) {
		tvalue v = {0};
		char key[256];
		int rc;

		skip_space(t, !table);
		if (t->p >= t->end)
			return bad(t, "unterminated array or table");
		if (*t->p == close) {
			t->p++;
			return 0;
		}
		if (table) {
			if ((rc = read_key(t, key, sizeof(key))) < 0)
				return rc;
			if (t->p >= t->end || *t->p != '=')
				return bad(t, "expected '=' in inline table");
			t->p++;
			skip_space(t, 0);
		}
		if ((rc = read_value(t, &v, depth + 1)) < 0)
			return rc;
		value_dispose(&v);
		skip_space(t, !table);
		if (t->p < t->end && *t->p == ',')
			t->p++;
		else if (t->p >= t->end || *t->p != close)
			return bad(t, "expected ',' or the end of the array or table");
	}
}

static int read_value(toml *t, tvalue *v, int depth)
{
	memset(v, 0, sizeof(*v));
	if (t->p >= t->end)
		return bad(t, "expected a value");
	if (*t->p == '"' || *t->p == '\'') {
		v->kind = V_STRING;
		return read_string(t, &v->str);
	}
	if (*t->p == '[' || *t->p == '{') {
		v->kind = V_OTHER;
		return read_compound(t, depth);
	}
	if ((size_t)(t->end - t->p) >= 4 && strncmp(t->p, "true", 4) == 0) {
		v->kind = V_BOOL;
		v->b = 1;
		t->p += 4;
		return 0;
	}
	if ((size_t)(t->end - t->p) >= 5 && strncmp(t->p, "false", 5) == 0) {
		v->kind = V_BOOL;
		t->p += 5;
		return 0;
	}
	if ((*t->p >= '0' && *t->p <= '9') || *t->p == '-' || *t->p == '+') {
		v->kind = V_OTHER;
		t->p++;
		while (t->p < t->end && (is_bare(*t->p) || *t->p == '.' || *t->p == ':'))
			t->p++;
		return 0;
	}
	return bad(t, "expected a value");
}

static reg_entry *current(toml *t)
{
	return t->r->n ? &t->r->entries[t->r->n - 1] : NULL;
}

static int new_table(toml *t, const char *name, int array)
{
	if (array && strcmp(name, "registry") == 0) {
		reg_entry *e;

		if (t->r->n >= BERTH_REGISTRIES_MAX)
			return berth_error_set(BERTH_ETOOBIG,
					       "%s: more than %d [[registry]] tables", t->name,
					       BERTH_REGISTRIES_MAX);
		e = realloc(t->r->entries, (t->r->n + 1) * sizeof(*e));
		if (!e)
			return berth_error_set(BERTH_ERROR, "out of memory");
		t->r->entries = e;
		memset(&e[t->r->n], 0, sizeof(*e));
		e[t->r->n++].line = t->line;
		t->section = SEC_REGISTRY;
		return 0;
	}
	if (array && strcmp(name, "registry.mirror") == 0) {
		reg_entry *e = current(t);
		reg_mirror *m;

		if (!e)
			return bad(t, "[[registry.mirror]] before any [[registry]]");
		if (e->nmirrors >= BERTH_REGISTRIES_MIRRORS_MAX)
			return berth_error_set(BERTH_ETOOBIG, "%s:%u: more than %d mirrors",
					       t->name, t->line, BERTH_REGISTRIES_MIRRORS_MAX);
		m = realloc(e->mirrors, (e->nmirrors + 1) * sizeof(*m));
		if (!m)
			return berth_error_set(BERTH_ERROR, "out of memory");
		e->mirrors = m;
		memset(&m[e->nmirrors++], 0, sizeof(*m));
		t->section = SEC_MIRROR;
		return 0;
	}
	if (strncmp(name, "registries.", 11) == 0 || strcmp(name, "registries") == 0)
		return bad(t, "the version 1 format ([registries.*]) is not supported; "
			      "use [[registry]] tables");
	t->section = SEC_OTHER;
	return 0;
}

static int want(toml *t, const tvalue *v, vkind k, const char *key)
{
	if (v->kind == k)
		return 0;
	return berth_error_set(BERTH_EINVALID, "%s:%u: %s must be a %s", t->name, t->line, key,
			       k == V_STRING ? "string" : "boolean");
}

/* Take a string value: *dst gets v's string. */
static void take_str(char **dst, tvalue *v)
{
	free(*dst);
	*dst = v->str;
	v->str = NULL;
}

static int assign(toml *t, const char *key, tvalue *v)
{
	reg_entry *e = current(t);
	int rc = 0;

	if (t->section == SEC_REGISTRY) {
		if (strcmp(key, "prefix") == 0 && (rc = want(t, v, V_STRING, key)) == 0)
			take_str(&e->prefix, v);
		else if (strcmp(key, "location") == 0 && (rc = want(t, v, V_STRING, key)) == 0)
			take_str(&e->location, v);
		else if (strcmp(key, "insecure") == 0 && (rc = want(t, v, V_BOOL, key)) == 0)
			e->insecure = v->b;
		else if (strcmp(key, "blocked") == 0 && (rc = want(t, v, V_BOOL, key)) == 0)
			e->blocked = v->b;
		else if (strcmp(key, "mirror-by-digest-only") == 0 &&
			 (rc = want(t, v, V_BOOL, key)) == 0)
			e->by_digest_only = v->b;
	} else if (t->section == SEC_MIRROR) {
		reg_mirror *m = &e->mirrors[e->nmirrors - 1];

		if (strcmp(key, "location") == 0 && (rc = want(t, v, V_STRING, key)) == 0) {
			take_str(&m->location, v);
		} else if (strcmp(key, "insecure") == 0 && (rc = want(t, v, V_BOOL, key)) == 0) {
			m->insecure = v->b;
		} else if (strcmp(key, "pull-from-mirror") == 0 &&
			   (rc = want(t, v, V_STRING, key)) == 0) {
			if (strcmp(v->str, "all") == 0)
				m->pull = PULL_ALL;
			else if (strcmp(v->str, "digest-only") == 0)
				m->pull = PULL_DIGEST_ONLY;
			else if (strcmp(v->str, "tag-only") == 0)
				m->pull = PULL_TAG_ONLY;
			else
				rc = bad(t,
					 "pull-from-mirror must be all, digest-only or tag-only");
		}
	}
	return rc;
}

/* One line: a table header or key = value. */
static int read_line(toml *t)
{
	char key[256];
	tvalue v = {0};
	int rc;

	if (*t->p == '[') {
		int array = t->p + 1 < t->end && t->p[1] == '[';

		t->p += array ? 2 : 1;
		if ((rc = read_key(t, key, sizeof(key))) < 0)
			return rc;
		if (t->p >= t->end || *t->p != ']' ||
		    (array && (t->p + 1 >= t->end || t->p[1] != ']')))
			return bad(t, "expected ']' after the table name");
		t->p += array ? 2 : 1;
		rc = new_table(t, key, array);
	} else {
		if ((rc = read_key(t, key, sizeof(key))) < 0)
			return rc;
		if (t->p >= t->end || *t->p != '=')
			return bad(t, "expected '=' after the key");
		t->p++;
		skip_space(t, 0);
		if ((rc = read_value(t, &v, 0)) == 0)
			rc = assign(t, key, &v);
		value_dispose(&v);
	}
	if (rc < 0)
		return rc;
	skip_space(t, 0);
	if (t->p < t->end && *t->p != '\n')
		return bad(t, "unexpected text after the value");
	return 0;
}

/* Each entry has a prefix (its location when none was given); wildcards take no location. */
static int finish(toml *t)
{
	for (size_t i = 0; i < t->r->n; i++) {
		reg_entry *e = &t->r->entries[i];

		t->line = e->line;
		if (!e->prefix && !e->location)
			return bad(t, "[[registry]] has neither prefix nor location");
		if (!e->prefix && !(e->prefix = strdup(e->location)))
			return berth_error_set(BERTH_ERROR, "out of memory");
		if (strncmp(e->prefix, "*.", 2) == 0 && e->location && *e->location)
			return bad(t, "a wildcard prefix cannot have a location");
		if (e->location && !*e->location) {
			free(e->location);
			e->location = NULL;
		}
		for (size_t k = 0; k < e->nmirrors; k++)
			if (!e->mirrors[k].location || !*e->mirrors[k].location)
				return bad(t, "[[registry.mirror]] without a location");
	}
	return 0;
}

int berth_registries_parse(berth_registries **out, const char *text, size_t len, const char *name)
{
	toml t = {.p = text, .end = text + len, .name = name ? name : "registries.conf", .line = 1};
	int rc = 0;

	*out = NULL;
	if (len > BERTH_REGISTRIES_FILE_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%s: larger than %d bytes", t.name,
				       BERTH_REGISTRIES_FILE_MAX);
	if (memchr(text, '\0', len))
		return berth_error_set(BERTH_EINVALID, "%s: not a text file", t.name);
	t.r = calloc(1, sizeof(*t.r));
	if (!t.r)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (;;) {
		skip_space(&t, 1);
		if (t.p >= t.end)
			break;
		if ((rc = read_line(&t)) < 0)
			break;
	}
	if (rc == 0)
		rc = finish(&t);
	if (rc < 0) {
		berth_registries_free(t.r);
		return rc;
	}
	*out = t.r;
	return 0;
}

/* ---- files ---- */

static void entry_dispose(reg_entry *e)
{
	free(e->prefix);
	free(e->location);
	for (size_t k = 0; k < e->nmirrors; k++)
		free(e->mirrors[k].location);
	free(e->mirrors);
}

void berth_registries_free(berth_registries *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		entry_dispose(&r->entries[i]);
	free(r->entries);
	free(r);
}

size_t berth_registries_count(const berth_registries *r)
{
	return r ? r->n : 0;
}

/* Parse file `path` and merge it into r: an entry for a known prefix replaces it. */
static int merge_file(berth_registries *r, const char *path, int missing_ok)
{
	berth_buf b = BERTH_BUF_INIT(BERTH_REGISTRIES_FILE_MAX);
	berth_registries *f = NULL;
	FILE *fp = fopen(path, "re");
	char chunk[8192];
	size_t n;
	int rc = 0;

	if (!fp) {
		if (errno == ENOENT && missing_ok)
			return 0;
		return berth_error_set_errno("%s", path);
	}
	while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		if (b.len + n > BERTH_REGISTRIES_FILE_MAX)
			rc = berth_error_set(BERTH_ETOOBIG, "%s: larger than %d bytes", path,
					     BERTH_REGISTRIES_FILE_MAX);
		else
			rc = berth_buf_put(&b, chunk, n);
	fclose(fp);
	if (rc == 0)
		rc = berth_registries_parse(&f, b.ptr ? b.ptr : "", b.len, path);
	for (size_t i = 0; rc == 0 && i < f->n; i++) {
		size_t k = 0;

		while (k < r->n && strcmp(r->entries[k].prefix, f->entries[i].prefix) != 0)
			k++;
		if (k == r->n) {
			reg_entry *e;

			if (r->n >= BERTH_REGISTRIES_MAX) {
				rc = berth_error_set(BERTH_ETOOBIG, "more than %d registries",
						     BERTH_REGISTRIES_MAX);
				break;
			}
			e = realloc(r->entries, (r->n + 1) * sizeof(*e));
			if (!e) {
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				break;
			}
			r->entries = e;
			r->n++;
		} else {
			entry_dispose(&r->entries[k]);
		}
		r->entries[k] = f->entries[i];
		memset(&f->entries[i], 0, sizeof(f->entries[i]));
	}
	berth_registries_free(f);
	berth_buf_dispose(&b);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The drop-in directory's *.conf files, in name order. */
static int merge_dir(berth_registries *r, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (!d)
		return 0;
	while (rc == 0 && (e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		char **nn;

		if (l < 6 || strcmp(e->d_name + l - 5, ".conf") != 0 || e->d_name[0] == '.')
			continue;
		nn = n < BERTH_REGISTRIES_MAX ? realloc(names, (n + 1) * sizeof(*names)) : NULL;
		if (!nn) {
			rc = berth_error_set(BERTH_ETOOBIG, "%s: too many files", dir);
			break;
		}
		names = nn;
		if (!(names[n] = strdup(e->d_name))) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			break;
		}
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		char p[4096];

		if (rc == 0) {
			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			rc = merge_file(r, p, 1);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

int berth_registries_load(berth_registries **out, const char *path)
{
	const char *env = getenv("CONTAINERS_REGISTRIES_CONF");
	berth_registries *r = calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (path)
		rc = merge_file(r, path, 0);
	else if (env && *env)
		rc = merge_file(r, env, 0);
	else if ((rc = merge_file(r, BERTH_REGISTRIES_DEFAULT, 1)) == 0)
		rc = merge_dir(r, BERTH_REGISTRIES_DEFAULT ".d");
	if (rc < 0) {
		berth_registries_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* ---- resolution ---- */

/* The length of prefix when it matches ref, else -1. */
static long match(const char *prefix, const char *ref)
{
	size_t pl = strlen(prefix), rl = strlen(ref);

	if (strncmp(prefix, "*.", 2) == 0) {
		size_t hl = strcspn(ref, "/"), sl = pl - 1; /* ".example.com" */

		if (hl > sl && strncmp(ref + hl - sl, prefix + 1, sl) == 0)
			return (long)hl;
		return -1;
	}
	if (rl < pl || strncmp(ref, prefix, pl) != 0)
		return -1;
	if (rl == pl || ref[pl] == '/' || ref[pl] == ':' || ref[pl] == '@')
		return (long)pl;
	return -1;
}

static int add_endpoint(berth_registry_endpoint *e, size_t *n, const char *loc, const char *rest,
			int insecure, int mirror)
{
	size_t l = strlen(loc) + strlen(rest) + 1;

	e[*n].ref = malloc(l);
	if (!e[*n].ref)
		return berth_error_set(BERTH_ERROR, "out of memory");
	snprintf(e[*n].ref, l, "%s%s", loc, rest);
	e[*n].insecure = insecure;
	e[*n].mirror = mirror;
	(*n)++;
	return 0;
}

int berth_registries_resolve(const berth_registries *r, const char *ref,
			     berth_registry_endpoint **out, size_t *n)
{
	const reg_entry *best = NULL;
	berth_registry_endpoint *e;
	long best_len = -1;
	int digest = strchr(ref, '@') != NULL, rc = 0;
	const char *rest;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; r && i < r->n; i++) {
		long l = match(r->entries[i].prefix, ref);

		if (l > best_len) {
			best_len = l;
			best = &r->entries[i];
		}
	}
	if (best && best->blocked)
		return berth_error_set(BERTH_EDENIED, "%s: registry blocked by registries.conf",
				       ref);
	e = calloc(best ? best->nmirrors + 1 : 1, sizeof(*e));
	if (!e)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!best) {
		rc = add_endpoint(e, n, ref, "", 0, 0);
		goto done;
	}
	rest = ref + best_len;
	for (size_t k = 0; rc == 0 && k < best->nmirrors; k++) {
		const reg_mirror *m = &best->mirrors[k];
		int pull = best->by_digest_only ? PULL_DIGEST_ONLY : m->pull;

		if ((pull == PULL_DIGEST_ONLY && !digest) || (pull == PULL_TAG_ONLY && digest))
			continue;
		/* A wildcard entry's mirrors are whole hosts: the reference's path follows. */
		rc = add_endpoint(e, n, m->location, rest, m->insecure, 1);
	}
	if (rc == 0 && best->location)
		rc = add_endpoint(e, n, best->location, rest, best->insecure, 0);
	else if (rc == 0)
		rc = add_endpoint(e, n, ref, "", best->insecure, 0);
done:
	if (rc < 0) {
		berth_registries_endpoints_free(e, *n);
		*n = 0;
		return rc;
	}
	*out = e;
	return 0;
}

void berth_registries_endpoints_free(berth_registry_endpoint *e, size_t n)
{
	for (size_t i = 0; e && i < n; i++)
		free(e[i].ref);
	free(e);
}
