/*
 * compare.c - two scan reports side by side (`berth compare IMAGE --to
 * BASELINE`): which packages the image added, removed or changed against
 * the baseline, and which vulnerabilities it introduced or fixed. Each side
 * is first reduced to sorted entries (package key -> set of versions;
 * vulnerability key -> installed versions), then the two sorted lists are
 * walked together.
 */
#include "internal.h"

#include "berth/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One package instance or one finding, before grouping. */
typedef struct item {
	berth_pkg_type type;
	char *name;    /* package key */
	char *id;      /* findings only, else NULL */
	char *version; /* installed version (with epoch) */
	const char *fixed;
	berth_scan_severity severity;
} item;

/* Items of one key merged: the set of versions joined by ", ". */
typedef struct entry {
	berth_pkg_type type;
	char *name, *id, *versions;
	const char *fixed;
	berth_scan_severity severity;
} entry;

typedef struct side {
	item *items;
	size_t n;
	entry *entries;
	size_t nentries;
} side;

static char *pkg_key(const berth_package *p)
{
	char *s = NULL;

	if (p->type == BERTH_PKG_MAVEN && p->group && *p->group) {
		if (asprintf(&s, "%s:%s", p->group, p->name) < 0)
			s = NULL;
		return s;
	}
	return strdup(p->name);
}

static char *pkg_version(const berth_package *p)
{
	char *s = NULL;

	if (p->epoch > 0) {
		if (asprintf(&s, "%d:%s", p->epoch, p->version ? p->version : "") < 0)
			s = NULL;
		return s;
	}
	return strdup(p->version ? p->version : "");
}

static int cmp_key(berth_pkg_type ta, const char *na, const char *ia, berth_pkg_type tb,
		   const char *nb, const char *ib)
{
	int c;

	if (ta != tb)
		return ta < tb ? -1 : 1;
	if ((c = strcmp(na, nb)) != 0)
		return c;
	return strcmp(ia ? ia : "", ib ? ib : "");
}

static int cmp_item(const void *a, const void *b)
{
	const item *x = a, *y = b;
	int c = cmp_key(x->type, x->name, x->id, y->type, y->name, y->id);

	return c ? c : strcmp(x->version, y->version);
}

static int cmp_entry(const entry *x, const entry *y)
{
	return cmp_key(x->type, x->name, x->id, y->type, y->name, y->id);
}

static int push_item(side *s, const berth_package *p, const berth_scan_finding *f)
{
	item *it = &s->items[s->n];

	memset(it, 0, sizeof(*it));
	it->type = p->type;
	it->name = pkg_key(p);
	it->version = pkg_version(p);
	if (f) {
		it->id = strdup(f->id);
		it->fixed = f->fixed;
		it->severity = f->severity;
	}
	s->n++;
	if (!it->name || !it->version || (f && !it->id))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

/* Packages (vulns 0) or unsuppressed findings (vulns 1) of a report, as items. */
static int collect(side *s, const berth_scan_report *r, int vulns)
{
	size_t cap = vulns ? r->n : r->catalog->npkgs;
	int rc = 0;

	s->items = calloc(cap ? cap : 1, sizeof(*s->items));
	if (!s->items)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!vulns)
		for (size_t i = 0; rc == 0 && i < r->catalog->npkgs; i++)
			rc = push_item(s, &r->catalog->pkgs[i], NULL);
	for (size_t i = 0; vulns && rc == 0 && i < r->n; i++)
		if (!r->findings[i].suppressed)
			rc = push_item(s, &r->catalog->pkgs[r->findings[i].pkg], &r->findings[i]);
	if (s->n)
		qsort(s->items, s->n, sizeof(*s->items), cmp_item);
	return rc;
}

/* Join the distinct versions of items[from, to) (sorted) with ", ". */
static char *join_versions(const item *v, size_t from, size_t to)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc = 0;

	for (size_t i = from; rc == 0 && i < to; i++)
		if (i == from || strcmp(v[i].version, v[i - 1].version) != 0)
			rc = berth_buf_printf(&b, "%s%s", i == from ? "" : ", ", v[i].version);
	if (rc == 0)
		return berth_buf_detach(&b, NULL);
	berth_buf_dispose(&b);
	return NULL;
}

/* Group the sorted items by key into entries (names and ids moved from the items). */
static int group(side *s)
{
	size_t i = 0;

	s->entries = calloc(s->n ? s->n : 1, sizeof(*s->entries));
	if (!s->entries)
		return berth_error_set(BERTH_ERROR, "out of memory");
	while (i < s->n) {
		size_t j = i + 1;
		entry *e = &s->entries[s->nentries++];

		while (j < s->n && cmp_key(s->items[i].type, s->items[i].name, s->items[i].id,
					   s->items[j].type, s->items[j].name, s->items[j].id) == 0)
			j++;
		e->type = s->items[i].type;
		e->name = s->items[i].name;
		e->id = s->items[i].id;
		s->items[i].name = s->items[i].id = NULL;
		for (size_t k = i; k < j; k++) {
			if (s->items[k].severity > e->severity)
				e->severity = s->items[k].severity;
			if (!e->fixed || (!*e->fixed && s->items[k].fixed))
				e->fixed = s->items[k].fixed;
		}
		if (!(e->versions = join_versions(s->items, i, j)))
			return berth_error_set(BERTH_ERROR, "out of memory");
		i = j;
	}
	return 0;
}

static void side_dispose(side *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->items[i].name);
		free(s->items[i].id);
		free(s->items[i].version);
	}
	free(s->items);
	for (size_t i = 0; i < s->nentries; i++) {
		free(s->entries[i].name);
		free(s->entries[i].id);
		free(s->entries[i].versions);
	}
	free(s->entries);
}

static int add_pkg(berth_scan_pkg_change **v, size_t *n, const entry *from, const entry *to)
{
	const entry *e = from ? from : to;
	berth_scan_pkg_change *c;

	c = realloc(*v, (*n + 1) * sizeof(**v));
	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*v = c;
	c = &c[(*n)++];
	c->type = e->type;
	c->name = strdup(e->name);
	c->from = from ? strdup(from->versions) : NULL;
	c->to = to ? strdup(to->versions) : NULL;
	if (!c->name || (from && !c->from) || (to && !c->to))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

static int add_vuln(berth_scan_vuln_change **v, size_t *n, const entry *e)
{
	berth_scan_vuln_change *c = realloc(*v, (*n + 1) * sizeof(**v));

	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*v = c;
	c = &c[(*n)++];
	c->type = e->type;
	c->severity = e->severity;
	c->id = strdup(e->id);
	c->package = strdup(e->name);
	c->installed = strdup(e->versions);
	c->fixed = strdup(e->fixed ? e->fixed : "");
	if (!c->id || !c->package || !c->installed || !c->fixed)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

/* Walk the image's (a) and the baseline's (b) sorted entries together. */
static int diff_packages(berth_scan_comparison *c, const side *a, const side *b)
{
	size_t i = 0, j = 0;
	int rc = 0;

	while (rc == 0 && (i < a->nentries || j < b->nentries)) {
		int k = i == a->nentries   ? 1
			: j == b->nentries ? -1
					   : cmp_entry(&a->entries[i], &b->entries[j]);

		if (k < 0)
			rc = add_pkg(&c->added, &c->nadded, NULL, &a->entries[i++]);
		else if (k > 0)
			rc = add_pkg(&c->removed, &c->nremoved, &b->entries[j++], NULL);
		else if (strcmp(a->entries[i].versions, b->entries[j].versions) != 0)
			rc = add_pkg(&c->changed, &c->nchanged, &b->entries[j++], &a->entries[i++]);
		else
			i++, j++, c->nunchanged++;
	}
	return rc;
}

static int diff_vulns(berth_scan_comparison *c, const side *a, const side *b)
{
	size_t i = 0, j = 0;
	int rc = 0;

	while (rc == 0 && (i < a->nentries || j < b->nentries)) {
		int k = i == a->nentries   ? 1
			: j == b->nentries ? -1
					   : cmp_entry(&a->entries[i], &b->entries[j]);

		if (k < 0)
			rc = add_vuln(&c->introduced, &c->nintroduced, &a->entries[i++]);
		else if (k > 0)
			rc = add_vuln(&c->fixed, &c->nfixed, &b->entries[j++]);
		else
			i++, j++;
	}
	return rc;
}

/* One diff: both sides collected and grouped, then walked. */
static int diff(berth_scan_comparison *c, const berth_scan_report *image,
		const berth_scan_report *to, int vulns)
{
	side a = {0}, b = {0};
	int rc;

	if ((rc = collect(&a, image, vulns)) == 0 && (rc = collect(&b, to, vulns)) == 0 &&
	    (rc = group(&a)) == 0 && (rc = group(&b)) == 0)
		rc = vulns ? diff_vulns(c, &a, &b) : diff_packages(c, &a, &b);
	side_dispose(&a);
	side_dispose(&b);
	return rc;
}

int berth_scan_compare(berth_scan_comparison **out, const berth_scan_report *image,
		       const berth_scan_report *to)
{
	berth_scan_comparison *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	c->image = strdup(image->catalog->target ? image->catalog->target : "");
	c->to = strdup(to->catalog->target ? to->catalog->target : "");
	if (!c->image || !c->to) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = diff(c, image, to, 0)) != 0 || (rc = diff(c, image, to, 1)) != 0)
		goto done;
	*out = c;
	/* now owned by the caller */ c = NULL;
done:
	berth_scan_comparison_free(c);
	return rc;
}

static void pkg_changes_free(berth_scan_pkg_change *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].from);
		free(v[i].to);
	}
	free(v);
}

static void vuln_changes_free(berth_scan_vuln_change *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].id);
		free(v[i].package);
		free(v[i].installed);
		free(v[i].fixed);
	}
	free(v);
}

void berth_scan_comparison_free(berth_scan_comparison *c)
{
	if (!c)
		return;
	free(c->image);
	free(c->to);
	pkg_changes_free(c->added, c->nadded);
	pkg_changes_free(c->removed, c->nremoved);
	pkg_changes_free(c->changed, c->nchanged);
	vuln_changes_free(c->introduced, c->nintroduced);
	vuln_changes_free(c->fixed, c->nfixed);
	free(c);
}

/* ---- rendering ---- */

static json_t *pkg_json(const berth_scan_pkg_change *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		json_t *o = json_pack("{s:s, s:s}", "type", berth_pkg_type_name(v[i].type), "name",
				      v[i].name);

		if (o && v[i].from)
			json_object_set_new(o, "from", json_string(v[i].from));
		if (o && v[i].to)
			json_object_set_new(o, "to", json_string(v[i].to));
		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *vuln_json(const berth_scan_vuln_change *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		json_t *o =
			json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", v[i].id, "type",
				  berth_pkg_type_name(v[i].type), "package", v[i].package,
				  "installed_version", v[i].installed, "fixed_version", v[i].fixed,
				  "severity", berth_scan_severity_name(v[i].severity));

		if (!o || json_array_append_new(a, o) < 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static int render_json(berth_buf *b, const berth_scan_comparison *c)
{
	json_t *o = json_pack(
		"{s:s, s:s, s:{s:o*, s:o*, s:o*, s:I}, s:{s:o*, s:o*}}", "image", c->image, "to",
		c->to, "packages", "added", pkg_json(c->added, c->nadded), "removed",
		pkg_json(c->removed, c->nremoved), "changed", pkg_json(c->changed, c->nchanged),
		"unchanged", (json_int_t)c->nunchanged, "vulnerabilities", "introduced",
		vuln_json(c->introduced, c->nintroduced), "fixed", vuln_json(c->fixed, c->nfixed));
	char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	int rc = s ? berth_buf_printf(b, "%s\n", s) : berth_error_set(BERTH_ERROR, "out of memory");

	free(s);
	json_decref(o);
	return rc;
}

static int table_pkgs(berth_buf *b, const char *title, const berth_scan_pkg_change *v, size_t n)
{
	int rc = berth_buf_printf(b, "\n%s (%zu)\n", title, n);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = berth_buf_printf(b, "  %-8s %-40s %s%s%s\n", berth_pkg_type_name(v[i].type),
				      v[i].name, v[i].from ? v[i].from : "",
				      v[i].from && v[i].to ? " -> " : "", v[i].to ? v[i].to : "");
	return rc;
}

static int table_vulns(berth_buf *b, const char *title, const berth_scan_vuln_change *v, size_t n)
{
	int rc = berth_buf_printf(b, "\n%s (%zu)\n", title, n);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = berth_buf_printf(b, "  %-10s %-20s %-30s %s%s%s\n",
				      berth_scan_severity_name(v[i].severity), v[i].id,
				      v[i].package, v[i].installed, *v[i].fixed ? " fixed in " : "",
				      v[i].fixed);
	return rc;
}

static int render_table(berth_buf *b, const berth_scan_comparison *c)
{
	int rc = berth_buf_printf(b,
				  "%s\n  compared to %s\n\nPackages: %zu added, %zu removed, %zu "
				  "changed, %zu unchanged\nVulnerabilities: %zu introduced, %zu "
				  "fixed\n",
				  c->image, c->to, c->nadded, c->nremoved, c->nchanged,
				  c->nunchanged, c->nintroduced, c->nfixed);

	if (rc == 0 && c->nadded)
		rc = table_pkgs(b, "Added packages", c->added, c->nadded);
	if (rc == 0 && c->nremoved)
		rc = table_pkgs(b, "Removed packages", c->removed, c->nremoved);
	if (rc == 0 && c->nchanged)
		rc = table_pkgs(b, "Changed packages", c->changed, c->nchanged);
	if (rc == 0 && c->nintroduced)
		rc = table_vulns(b, "Introduced vulnerabilities", c->introduced, c->nintroduced);
	if (rc == 0 && c->nfixed)
		rc = table_vulns(b, "Fixed vulnerabilities", c->fixed, c->nfixed);
	return rc;
}

int berth_scan_comparison_render(char **out, size_t *len, const berth_scan_comparison *c,
				 berth_scan_format format)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc;

	*out = NULL;
	*len = 0;
	if (format != BERTH_SCAN_TABLE && format != BERTH_SCAN_JSON)
		return berth_error_set(BERTH_EINVALID, "compare renders table or json");
	rc = format == BERTH_SCAN_JSON ? render_json(&b, c) : render_table(&b, c);
	if (rc != 0) {
		berth_buf_dispose(&b);
		return rc;
	}
	*out = berth_buf_detach(&b, len);
	return *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}
