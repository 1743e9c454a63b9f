/*
 * cache.c - the per-layer cache: one SQLite file in the local store whose
 * rows hold, by diff ID, what a layer's files said (packages, candidate
 * paths, whiteouts, OS facts, warnings) as JSON, and in a column of their
 * own the file lists of its OS packages (dpkg .list files: most of a row's
 * bytes, and nothing a vulnerability scan needs, so a reader that wants no
 * files never decodes them). A row is written only for a layer read to its
 * end; rows of another CACHE_SCHEMA (the cataloguers changed) are ignored
 * and replaced.
 */
#include "internal.h"

#include "util/fs.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SCHEMA 2

struct cat_cache {
	sqlite3 *db;
};

int berth_catalog__cache_open(cat_cache **out, const char *path)
{
	cat_cache *c = calloc(1, sizeof(*c));
	char *dir = strdup(path), *slash;

	*out = NULL;
	if (!c || !dir) {
		free(c);
		free(dir);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	if ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = 0;
		if (berth_fs_mkdir_p(dir) < 0) {
			free(dir);
			free(c);
			return -1;
		}
	}
	free(dir);
	if (sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
		    SQLITE_OK ||
	    sqlite3_busy_timeout(c->db, 5000) != SQLITE_OK ||
	    sqlite3_exec(c->db,
			 "PRAGMA journal_mode=WAL;"
			 "CREATE TABLE IF NOT EXISTS layer_facts(diff TEXT PRIMARY KEY, schema "
			 "INTEGER NOT NULL, data TEXT NOT NULL, files TEXT NOT NULL)",
			 NULL, NULL, NULL) != SQLITE_OK) {
		int rc = berth_error_set(BERTH_EIO, "catalog cache %s: %s", path,
					 c->db ? sqlite3_errmsg(c->db) : "cannot open");

		sqlite3_close(c->db);
		free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void berth_catalog__cache_close(cat_cache *c)
{
	if (!c)
		return;
	sqlite3_close(c->db);
	free(c);
}

static json_t *strs_json(const cat_strs *s)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < s->n; i++)
		json_array_append_new(a, json_string(s->v[i]));
	return a;
}

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v)
		json_object_set_new(o, k, json_string(v));
}

static json_t *pkg_json(const berth_package *p)
{
	json_t *o = json_object();

	json_object_set_new(o, "t", json_integer(p->type));
	set_str(o, "n", p->name);
	set_str(o, "g", p->group);
	set_str(o, "v", p->version);
	json_object_set_new(o, "e", json_integer(p->epoch));
	set_str(o, "a", p->arch);
	set_str(o, "sn", p->source_name);
	set_str(o, "sv", p->source_version);
	set_str(o, "l", p->license);
	set_str(o, "p", p->path);
	set_str(o, "c", p->cataloguer);
	return o;
}

static char *layer_text(const cat_layer *l)
{
	json_t *o = json_object(), *pk = json_array(), *ow = json_array(), *os = json_object();
	const berth_catalog *c = l->found;
	char *s;

	for (size_t i = 0; i < c->npkgs; i++)
		json_array_append_new(pk, pkg_json(&c->pkgs[i]));
	for (size_t i = 0; i < l->nowners; i++)
		json_array_append_new(
			ow, json_pack("{s:s, s:s}", "p", l->owners[i].path, "k", l->owners[i].key));
	set_str(os, "id", c->os_id);
	set_str(os, "vid", c->os_version_id);
	set_str(os, "name", c->os_name);
	set_str(os, "code", c->os_codename);
	set_str(os, "path", l->os_path);
	json_object_set_new(os, "rank", json_integer(l->os_rank));
	set_str(os, "dv", l->debian_version);
	json_object_set_new(o, "pkgs", pk);
	json_object_set_new(o, "owners", ow);
	json_object_set_new(o, "os", os);
	json_object_set_new(o, "seen", strs_json(&l->seen));
	json_object_set_new(o, "wh", strs_json(&l->whiteouts));
	json_object_set_new(o, "opq", strs_json(&l->opaque));
	json_object_set_new(o, "warn", json_array());
	for (size_t i = 0; i < c->nwarnings; i++)
		json_array_append_new(json_object_get(o, "warn"), json_string(c->warnings[i]));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* The file lists: {"p": [[files of package 0], ...], "o": [[files of owner 0], ...]}. */
static char *files_text(const cat_layer *l)
{
	json_t *o = json_pack("{s:[], s:[]}", "p", "o");
	char *s;

	for (size_t i = 0; o && i < l->found->npkgs; i++) {
		cat_strs f = {l->found->pkgs[i].files, l->found->pkgs[i].nfiles, 0};

		json_array_append_new(json_object_get(o, "p"), strs_json(&f));
	}
	for (size_t i = 0; o && i < l->nowners; i++)
		json_array_append_new(json_object_get(o, "o"), strs_json(&l->owners[i].files));
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

int berth_catalog__cache_put(cat_cache *c, const char *diff, const cat_layer *l)
{
	sqlite3_stmt *st = NULL;
	char *text = layer_text(l), *files = files_text(l);
	int rc = 0;

	if (!text || !files) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (sqlite3_prepare_v2(c->db, "INSERT OR REPLACE INTO layer_facts VALUES(?, ?, ?, ?)", -1,
			       &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, diff, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, CACHE_SCHEMA) != SQLITE_OK ||
	    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_text(st, 4, files, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE)
		rc = berth_error_set(BERTH_EIO, "catalog cache: %s", sqlite3_errmsg(c->db));
done:
	sqlite3_finalize(st);
	free(text);
	free(files);
	return rc;
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int load_strs(cat_strs *s, json_t *a)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
	{
		if (json_is_string(v) && berth_catalog__strs_add(s, json_string_value(v)) < 0)
			return -1;
	}
	return 0;
}

static int load_pkg(cat_layer *l, json_t *o, const char *diff)
{
	cat_ctx cx = {l, str(o, "p"), diff, 0, NULL};
	berth_package *p;

	if (!str(o, "n") || !str(o, "p") || !str(o, "c"))
		return -1;
	p = berth_catalog__add(&cx, (berth_pkg_type)json_integer_value(json_object_get(o, "t")),
			       str(o, "n"), str(o, "v"), str(o, "c"));
	if (!p)
		return -1;
	p->epoch = (int)json_integer_value(json_object_get(o, "e"));
	if (berth_catalog__set(&p->group, str(o, "g")) < 0 ||
	    berth_catalog__set(&p->arch, str(o, "a")) < 0 ||
	    berth_catalog__set(&p->source_name, str(o, "sn")) < 0 ||
	    berth_catalog__set(&p->source_version, str(o, "sv")) < 0 ||
	    berth_catalog__set(&p->license, str(o, "l")) < 0)
		return -1;
	return 0;
}

static int load_layer(cat_layer *l, json_t *o, const char *diff)
{
	json_t *v, *os = json_object_get(o, "os");
	size_t i;

	json_array_foreach(json_object_get(o, "pkgs"), i,
			   v) if (load_pkg(l, v, diff) < 0) return -1;
	json_array_foreach(json_object_get(o, "owners"), i, v)
	{
		cat_owner *ow = realloc(l->owners, (l->nowners + 1) * sizeof(*ow));

		if (!ow)
			return -1;
		l->owners = ow;
		ow = &l->owners[l->nowners++];
		memset(ow, 0, sizeof(*ow));
		if (!str(v, "p") || !str(v, "k") || !(ow->path = strdup(str(v, "p"))) ||
		    !(ow->key = strdup(str(v, "k"))))
			return -1;
	}
	if (berth_catalog__set(&l->found->os_id, str(os, "id")) < 0 ||
	    berth_catalog__set(&l->found->os_version_id, str(os, "vid")) < 0 ||
	    berth_catalog__set(&l->found->os_name, str(os, "name")) < 0 ||
	    berth_catalog__set(&l->found->os_codename, str(os, "code")) < 0 ||
	    berth_catalog__set(&l->os_path, str(os, "path")) < 0 ||
	    berth_catalog__set(&l->debian_version, str(os, "dv")) < 0)
		return -1;
	l->os_rank = (int)json_integer_value(json_object_get(os, "rank"));
	json_array_foreach(json_object_get(o, "warn"), i, v) berth_catalog__warn_in(
		l->found, "%s", json_string_value(v) ? json_string_value(v) : "");
	if (load_strs(&l->seen, json_object_get(o, "seen")) < 0 ||
	    load_strs(&l->whiteouts, json_object_get(o, "wh")) < 0 ||
	    load_strs(&l->opaque, json_object_get(o, "opq")) < 0)
		return -1;
	return 0;
}

/* The file lists of a row, onto the packages and owners load_layer made from it. */
static int load_files(cat_layer *l, const char *text, size_t len)
{
	json_t *o = json_loadb(text, len, 0, NULL), *pf = json_object_get(o, "p"),
	       *of = json_object_get(o, "o");
	int rc = -1;

	if (json_array_size(pf) != l->found->npkgs || json_array_size(of) != l->nowners)
		goto done;
	for (size_t i = 0; i < l->found->npkgs; i++) {
		berth_package *p = &l->found->pkgs[i];
		cat_strs files = {0};

		if (load_strs(&files, json_array_get(pf, i)) < 0) {
			berth_catalog__strs_dispose(&files);
			goto done;
		}
		p->files = files.v;
		p->nfiles = files.n;
	}
	for (size_t i = 0; i < l->nowners; i++)
		if (load_strs(&l->owners[i].files, json_array_get(of, i)) < 0)
			goto done;
	rc = 0;
done:
	json_decref(o);
	return rc;
}

int berth_catalog__cache_get(cat_cache *c, const char *diff, int files, cat_layer **out)
{
	sqlite3_stmt *st = NULL;
	cat_layer *l = NULL;
	json_t *o = NULL;
	int rc = BERTH_ENOTFOUND;

	*out = NULL;
	if (sqlite3_prepare_v2(c->db,
			       files ? "SELECT data, files FROM layer_facts WHERE diff = ? AND "
				       "schema = ?"
				     : "SELECT data FROM layer_facts WHERE diff = ? AND schema = ?",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, diff, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int(st, 2, CACHE_SCHEMA) != SQLITE_OK)
		goto done;
	if (sqlite3_step(st) != SQLITE_ROW)
		goto done;
	o = json_loadb((const char *)sqlite3_column_text(st, 0),
		       (size_t)sqlite3_column_bytes(st, 0), 0, NULL);
	/* an unreadable row is a miss: the layer is read again */
	if (!json_is_object(o) || !(l = berth_catalog__layer_new()) || load_layer(l, o, diff) < 0 ||
	    (files && load_files(l, (const char *)sqlite3_column_text(st, 1),
				 (size_t)sqlite3_column_bytes(st, 1)) < 0))
		goto done;
	*out = l;
	l = NULL;
	rc = 0;
done:
	berth_catalog__layer_free(l);
	json_decref(o);
	sqlite3_finalize(st);
	return rc;
}
