/*
 * import.c - `berth db import` sources: an advisory JSON file, a directory
 * of them (walked, *.json), or a zip archive of OSV records (read with
 * libarchive, member by member, each capped). The format of each JSON
 * document is recognised by its content: an OSV record or an array of
 * them, a Debian security tracker dump, an Alpine secdb file. One import
 * is one transaction; a malformed document or record is reported and
 * skipped, the rest is kept.
 */
#include "internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IMPORT_DEPTH_MAX 32

typedef struct imp {
	berth_vulndb *db;
	const char *source; /* the path given to import: what meta and rows name */
	berth_vulndb_warn_cb warn;
	void *ctx;
	berth_vulndb_import_stats *stats;
} imp;

static void warn(imp *im, const char *where, const char *why)
{
	if (im->warn)
		im->warn(im->ctx, where, why);
	im->stats->skipped++;
}

static int is_osv(json_t *o)
{
	return json_is_object(o) && json_is_string(json_object_get(o, "id")) &&
	       (json_object_get(o, "affected") || json_object_get(o, "modified"));
}

static int is_secdb(json_t *o)
{
	return json_is_object(o) && json_is_array(json_object_get(o, "packages")) &&
	       json_object_get(o, "distroversion");
}

/* package -> { id -> { "releases": {...} } } */
static int is_tracker(json_t *o)
{
	const char *k, *k2;
	json_t *v, *v2;

	if (!json_is_object(o) || json_object_size(o) == 0)
		return 0;
	json_object_foreach(o, k, v)
	{
		if (!json_is_object(v))
			return 0;
		json_object_foreach(v, k2, v2)
		{
			return json_is_object(json_object_get(v2, "releases"));
		}
	}
	return 0;
}

int berth_vulndb__import_doc(berth_vulndb *db, const char *name, const char *where, json_t *doc,
			     berth_vulndb_warn_cb warn_cb, void *ctx,
			     berth_vulndb_import_stats *stats)
{
	imp im = {db, name, warn_cb, ctx, stats};
	json_t *rec;
	size_t i;
	int rc;

	if (is_osv(doc) || json_is_array(doc)) {
		json_t *one = json_is_array(doc) ? NULL : doc;

		json_array_foreach(one ? NULL : doc, i, rec)
		{
			if (!is_osv(rec)) {
				warn(&im, where, "an array element is not an OSV record");
				continue;
			}
			if ((rc = berth_vulndb__osv(db, name, rec, stats)) < 0) {
				if (rc != BERTH_EINVALID)
					return rc;
				warn(&im, where, berth_error_last());
			}
		}
		if (one && (rc = berth_vulndb__osv(db, name, one, stats)) < 0) {
			if (rc != BERTH_EINVALID)
				return rc;
			warn(&im, where, berth_error_last());
		}
		return 0;
	}
	if (is_secdb(doc))
		return berth_vulndb__alpine_secdb(db, name, where, doc, warn_cb, ctx, stats);
	if (is_tracker(doc))
		return berth_vulndb__debian_tracker(db, name, where, doc, warn_cb, ctx, stats);
	return berth_error_set(BERTH_EINVALID,
			       "%s: not an OSV record, Debian tracker or Alpine secdb document",
			       name);
}

/* Parse and import one document; a malformed one is a warning. */
static int one_doc(imp *im, const char *where, const char *data, size_t len)
{
	json_error_t err;
	json_t *doc;
	int rc;

	im->stats->documents++;
	if (!(doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err))) {
		char why[256];

		snprintf(why, sizeof(why), "not valid JSON (line %d: %s)", err.line, err.text);
		warn(im, where, why);
		return 0;
	}
	rc = berth_vulndb__import_doc(im->db, im->source, where, doc, im->warn, im->ctx, im->stats);
	json_decref(doc);
	if (rc == BERTH_EINVALID) {
		warn(im, where, berth_error_last());
		rc = 0;
	}
	return rc;
}

static int read_file(const char *path, size_t cap, char **out, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	*out = NULL;
	if (fd < 0)
		return berth_error_set_errno("cannot open %s", path);
	if (fstat(fd, &st) != 0) {
		rc = berth_error_set_errno("cannot stat %s", path);
		goto done;
	}
	if ((uint64_t)st.st_size > cap) {
		rc = berth_error_set(BERTH_ETOOBIG, "%s is larger than %zu bytes", path, cap);
		goto done;
	}
	if (!(buf = malloc((size_t)st.st_size + 1))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory reading %s", path);
		goto done;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = berth_error_set_errno("cannot read %s", path);
			goto done;
		}
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
	/* now owned by the caller */ buf = NULL;
done:
	free(buf);
	close(fd);
	return rc;
}

static int is_zip(const char *path)
{
	unsigned char m[4] = {0};
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(m, 1, 4, f);
	fclose(f);
	return n == 4 && m[0] == 'P' && m[1] == 'K' && m[2] == 3 && m[3] == 4;
}

static int import_zip(imp *im, const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char *buf = NULL;
	int rc = 0, r;

	if (!a)
		return berth_error_set(BERTH_ERROR, "out of memory");
	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK) {
		rc = berth_error_set(BERTH_EINVALID, "%s: %s", path, archive_error_string(a));
		goto done;
	}
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);
		char where[1024];
		la_int64_t size = archive_entry_size(e);
		size_t len = strlen(name ? name : "");
		la_ssize_t n;

		if (!name || archive_entry_filetype(e) != AE_IFREG || len < 5 ||
		    strcmp(name + len - 5, ".json") != 0)
			continue;
		snprintf(where, sizeof(where), "%s:%s", path, name);
		if (size < 0 || (uint64_t)size > BERTH_VULNDB_RECORD_MAX) {
			warn(im, where, "member larger than the record cap");
			continue;
		}
		free(buf);
		if (!(buf = malloc((size_t)size + 1))) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		if ((n = archive_read_data(a, buf, (size_t)size)) != size) {
			warn(im, where, n < 0 ? archive_error_string(a) : "short member");
			if (n < 0)
				break;
			continue;
		}
		if ((rc = one_doc(im, where, buf, (size_t)size)) != 0)
			goto done;
	}
	if (r != ARCHIVE_EOF && r != ARCHIVE_OK)
		warn(im, path, archive_error_string(a) ? archive_error_string(a) : "corrupt zip");
done:
	free(buf);
	archive_read_free(a);
	return rc;
}

static int import_path(imp *im, const char *path, int depth, int top);

static int import_dir(imp *im, const char *path, int depth)
{
	struct dirent **names = NULL;
	int n, rc = 0;

	if (depth > IMPORT_DEPTH_MAX) {
		warn(im, path, "directory tree deeper than the import limit");
		return 0;
	}
	if ((n = scandir(path, &names, NULL, alphasort)) < 0)
		return berth_error_set_errno("cannot read directory %s", path);
	for (int i = 0; i < n; i++) {
		const char *d = names[i]->d_name;
		char child[4096];

		if (rc == 0 && strcmp(d, ".") != 0 && strcmp(d, "..") != 0) {
			if (snprintf(child, sizeof(child), "%s/%s", path, d) >= (int)sizeof(child))
				warn(im, path, "path too long");
			else
				rc = import_path(im, child, depth + 1, 0);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

static int import_path(imp *im, const char *path, int depth, int top)
{
	struct stat st;
	size_t len = strlen(path), dlen = 0;
	char *data = NULL;
	int rc;

	if (lstat(path, &st) != 0)
		return top ? berth_error_set_errno("cannot read %s", path) : 0;
	if (S_ISDIR(st.st_mode))
		return import_dir(im, path, depth);
	if (!S_ISREG(st.st_mode) && !(top && stat(path, &st) == 0 && S_ISREG(st.st_mode)))
		return 0; /* symlinks inside a tree are not followed */
	if (is_zip(path))
		return import_zip(im, path);
	if (!top && (len < 5 || strcmp(path + len - 5, ".json") != 0))
		return 0;
	if ((rc = read_file(path, top ? BERTH_VULNDB_DOC_MAX : BERTH_VULNDB_RECORD_MAX, &data,
			    &dlen)) != 0) {
		if (top || rc != BERTH_ETOOBIG)
			return rc;
		warn(im, path, berth_error_last());
		return 0;
	}
	if (top) {
		json_error_t err;
		json_t *doc = json_loadb(data, dlen, JSON_REJECT_DUPLICATES, &err);

		im->stats->documents++;
		free(data);
		if (!doc)
			return berth_error_set(BERTH_EINVALID, "%s: not valid JSON (line %d: %s)",
					       path, err.line, err.text);
		rc = berth_vulndb__import_doc(im->db, im->source, path, doc, im->warn, im->ctx,
					      im->stats);
		json_decref(doc);
		if (rc == BERTH_EINVALID) {
			char why[512];

			snprintf(why, sizeof(why), "%s", berth_error_last());
			berth_error_set(rc, "%s: %s", path, why);
		}
		return rc;
	}
	rc = one_doc(im, path, data, dlen);
	free(data);
	return rc;
}

static int finish(berth_vulndb *db, const char *source, int rc)
{
	if (rc == 0 && (rc = berth_vulndb__add_source(db, source)) == 0)
		rc = berth_vulndb__exec(db, "COMMIT");
	if (rc != 0) {
		char keep[512];

		/* ROLLBACK must not overwrite the message of the failure. */
		snprintf(keep, sizeof(keep), "%s", berth_error_last());
		(void)berth_vulndb__exec(db, "ROLLBACK");
		berth_error_set(rc, "%s", keep);
	}
	return rc;
}

int berth_vulndb_import(berth_vulndb *db, const char *path, berth_vulndb_warn_cb warn_cb, void *ctx,
			berth_vulndb_import_stats *stats)
{
	imp im = {db, path, warn_cb, ctx, stats};
	int rc;

	memset(stats, 0, sizeof(*stats));
	if ((rc = berth_vulndb__exec(db, "BEGIN IMMEDIATE")) != 0)
		return rc;
	return finish(db, path, import_path(&im, path, 0, 1));
}

int berth_vulndb_import_json(berth_vulndb *db, const char *name, const char *data, size_t len,
			     berth_vulndb_warn_cb warn_cb, void *ctx,
			     berth_vulndb_import_stats *stats)
{
	imp im = {db, name, warn_cb, ctx, stats};
	int rc;

	memset(stats, 0, sizeof(*stats));
	if (len > BERTH_VULNDB_DOC_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%s is larger than %u bytes", name,
				       BERTH_VULNDB_DOC_MAX);
	if ((rc = berth_vulndb__exec(db, "BEGIN IMMEDIATE")) != 0)
		return rc;
	return finish(db, name, one_doc(&im, name, data, len));
}
