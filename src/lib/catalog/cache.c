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

#include "berth/buf.h"
#include "util/fs.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SCHEMA 3

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
			 /* A cache: a row lost to a power cut is catalogued again; no fsync
			  * per new layer (WAL keeps the file consistent either way). */
			 "PRAGMA synchronous=NORMAL;"
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

/*
 * The facts column is lines of tab-separated fields, the first naming the
 * record: "O" the OS facts, "P" a package, "W" an owner (dpkg .list file),
 * "S" a seen path, "H" a whiteout, "Q" an opaque directory, "X" a warning.
 * Inside a field, tab, newline, backslash and byte 1 are written \t, \n,
 * \\ and \1; a NULL field is \-. A cached image's rescan decodes this with one pass of
 * strchr, about twenty times less work than the JSON it replaced.
 */
static int put_field(berth_buf *b, const char *v)
{
	int rc = berth_buf_puts(b, "\t");

	if (!v)
		return rc ? rc : berth_buf_puts(b, "\\-");
	for (const char *p = v; rc == 0 && *p; p++) {
		const char *esc = *p == '\t'	 ? "\\t"
				  : *p == '\n'	 ? "\\n"
				  : *p == '\\'	 ? "\\\\"
				  : *p == '\x01' ? "\\1"
						 : NULL;

		rc = esc ? berth_buf_puts(b, esc) : berth_buf_put(b, p, 1);
	}
	return rc;
}

static int put_line(berth_buf *b, const char *kind, const char *const *v, size_t n)
{
	int rc = berth_buf_puts(b, kind);

	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = put_field(b, v[i]);
	return rc ? rc : berth_buf_puts(b, "\n");
}

static int put_strs(berth_buf *b, const char *kind, const cat_strs *s)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < s->n; i++)
		rc = put_line(b, kind, (const char *const *)&s->v[i], 1);
	return rc;
}

static int put_pkg(berth_buf *b, const berth_package *p)
{
	char t[16], e[16];
	const char *v[] = {t,	       p->name, p->group,	p->version,
			   e,	       p->arch, p->source_name, p->source_version,
			   p->license, p->path, p->cataloguer};

	snprintf(t, sizeof(t), "%d", (int)p->type);
	snprintf(e, sizeof(e), "%d", p->epoch);
	return put_line(b, "P", v, sizeof(v) / sizeof(v[0]));
}

static char *layer_text(const cat_layer *l)
{
	const berth_catalog *c = l->found;
	berth_buf b = BERTH_BUF_INIT(0);
	char rank[16];
	const char *os[] = {c->os_id, c->os_version_id, c->os_name, c->os_codename, l->os_path,
			    rank,     l->debian_version};
	int rc;

	snprintf(rank, sizeof(rank), "%d", l->os_rank);
	rc = put_line(&b, "O", os, sizeof(os) / sizeof(os[0]));
	for (size_t i = 0; rc == 0 && i < c->npkgs; i++)
		rc = put_pkg(&b, &c->pkgs[i]);
	for (size_t i = 0; rc == 0 && i < l->nowners; i++) {
		const char *v[] = {l->owners[i].path, l->owners[i].key};

		rc = put_line(&b, "W", v, 2);
	}
	for (size_t i = 0; rc == 0 && i < c->nwarnings; i++)
		rc = put_line(&b, "X", (const char *const *)&c->warnings[i], 1);
	if (rc == 0 && (rc = put_strs(&b, "S", &l->seen)) == 0 &&
	    (rc = put_strs(&b, "H", &l->whiteouts)) == 0)
		rc = put_strs(&b, "Q", &l->opaque);
	if (rc) {
		berth_buf_dispose(&b);
		return NULL;
	}
	return berth_buf_detach(&b, NULL);
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

#define FIELDS_MAX 12

/* Split one line (NUL-terminated, modified in place) into unescaped fields; NULL for \-. */
static size_t split_line(char *line, char **f)
{
	size_t n = 0;
	char *w = line;
	int null = 0;

	for (char *r = line;; r++) {
		if (*r == '\t' || !*r) {
			int end = !*r;

			*w++ = '\0';
			if (n < FIELDS_MAX)
				f[n++] = null ? NULL : line;
			if (end)
				break;
			line = w;
			null = 0;
		} else if (*r == '\\' && r[1] == '-' && w == line && (r[2] == '\t' || !r[2])) {
			null = 1;
			r++;
		} else if (*r == '\\' && r[1]) {
			r++;
			*w++ = *r == 't' ? '\t' : *r == 'n' ? '\n' : *r == '1' ? '\x01' : *r;
		} else {
			*w++ = *r;
		}
	}
	return n;
}

static int load_pkg(cat_layer *l, char **f, size_t n, const char *diff)
{
	cat_ctx cx = {l, f[10], diff, 0, NULL};
	berth_package *p;

	if (n != 12 || !f[2] || !f[10] || !f[11] || !f[1])
		return -1;
	p = berth_catalog__add(&cx, (berth_pkg_type)atoi(f[1]), f[2], f[4], f[11]);
	if (!p)
		return -1;
	p->epoch = atoi(f[5]);
	if (berth_catalog__set(&p->group, f[3]) < 0 || berth_catalog__set(&p->arch, f[6]) < 0 ||
	    berth_catalog__set(&p->source_name, f[7]) < 0 ||
	    berth_catalog__set(&p->source_version, f[8]) < 0 ||
	    berth_catalog__set(&p->license, f[9]) < 0)
		return -1;
	return 0;
}

static int load_owner(cat_layer *l, char **f, size_t n)
{
	cat_owner *ow;

	if (n != 3 || !f[1] || !f[2] || !(ow = realloc(l->owners, (l->nowners + 1) * sizeof(*ow))))
		return -1;
	l->owners = ow;
	ow = &l->owners[l->nowners++];
	memset(ow, 0, sizeof(*ow));
	return (ow->path = strdup(f[1])) && (ow->key = strdup(f[2])) ? 0 : -1;
}

static int load_os(cat_layer *l, char **f, size_t n)
{
	berth_catalog *c = l->found;

	if (n != 8 || !f[6])
		return -1;
	l->os_rank = atoi(f[6]);
	return berth_catalog__set(&c->os_id, f[1]) < 0 ||
			       berth_catalog__set(&c->os_version_id, f[2]) < 0 ||
			       berth_catalog__set(&c->os_name, f[3]) < 0 ||
			       berth_catalog__set(&c->os_codename, f[4]) < 0 ||
			       berth_catalog__set(&l->os_path, f[5]) < 0 ||
			       berth_catalog__set(&l->debian_version, f[7]) < 0
		       ? -1
		       : 0;
}

static int load_record(cat_layer *l, char **f, size_t n, const char *diff)
{
	cat_strs *s = NULL;

	switch (f[0][0] && !f[0][1] ? f[0][0] : 0) {
	case 'O': return load_os(l, f, n);
	case 'P': return load_pkg(l, f, n, diff);
	case 'W': return load_owner(l, f, n);
	case 'X':
		if (n != 2 || !f[1])
			return -1;
		berth_catalog__warn_in(l->found, "%s", f[1]);
		return 0;
	case 'S': s = &l->seen; break;
	case 'H': s = &l->whiteouts; break;
	case 'Q': s = &l->opaque; break;
	default: return -1;
	}
	return n == 2 && f[1] ? berth_catalog__strs_add(s, f[1]) : -1;
}

/* The facts column (a private copy: split_line writes into it). */
static int load_layer(cat_layer *l, char *text, const char *diff)
{
	char *f[FIELDS_MAX];

	for (char *line = text, *nl; *line; line = nl + 1) {
		if (!(nl = strchr(line, '\n')))
			return -1;
		*nl = '\0';
		if (load_record(l, f, split_line(line, f), diff) < 0)
			return -1;
	}
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
	char *text = NULL;
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
	text = strndup((const char *)sqlite3_column_text(st, 0),
		       (size_t)sqlite3_column_bytes(st, 0));
	/* an unreadable row is a miss: the layer is read again */
	if (!text || !(l = berth_catalog__layer_new()) || load_layer(l, text, diff) < 0 ||
	    (files && load_files(l, (const char *)sqlite3_column_text(st, 1),
				 (size_t)sqlite3_column_bytes(st, 1)) < 0))
		goto done;
	*out = l;
	l = NULL;
	rc = 0;
done:
	berth_catalog__layer_free(l);
	free(text);
	sqlite3_finalize(st);
	return rc;
}
