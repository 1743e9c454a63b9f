/*
 * oci_layout.c - the oci: transport, an OCI image layout directory
 * (image-spec image-layout.md): `oci-layout`, `index.json`, blobs/<alg>/<hex>.
 *
 * Source: the image is the index.json entry whose
 * org.opencontainers.image.ref.name annotation is the name's tag, or the only
 * entry when no tag is given (as containers/image). Manifests are read whole
 * (capped) and checked against their digest; blobs are streamed from their
 * files.
 *
 * Destination: blobs are streamed into a temporary file at the layout's top,
 * hashed and counted as they pass, fsync'd and renamed into blobs/ only once
 * digest and size match. Commit rewrites index.json atomically with skopeo's
 * rule: an older entry with the same ref name loses that name, an unnamed
 * entry with the same digest is replaced, else the entry is appended. Freed
 * without a commit, the destination removes the blobs it created that
 * index.json does not reference (and the whole directory if it created it).
 *
 * oci_archive.c reuses both halves on a temporary directory.
 */
#include "internal.h"

#include "util/array.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define REF_NAME "org.opencontainers.image.ref.name"
#define LAYOUT_FILE "{\"imageLayoutVersion\": \"1.0.0\"}" /* byte for byte what skopeo writes */
#define COPY_CHUNK (1u << 20)
#define MT_MAX 256

char *berth_transport__layout_blob_path(const char *dir, const berth_digest *dg)
{
	char *p = NULL;

	if (asprintf(&p, "%s/blobs/%s/%s", dir, berth_digest_algo_name(dg->algo),
		     berth_digest_hex(dg)) < 0)
		return NULL;
	return p;
}

/* Load index.json of `dir` (NULL *out and 0 if it does not exist and `missing_ok`). */
static int load_index(json_t **out, const char *dir, int missing_ok)
{
	berth_buf b = BERTH_BUF_INIT(BERTH_MANIFEST_MAX);
	json_error_t jerr;
	json_t *j = NULL, *m;
	char *path = NULL;
	int rc;

	*out = NULL;
	if (asprintf(&path, "%s/index.json", dir) < 0) {
		path = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_fs_read_file(&b, path);
	if (rc == BERTH_ENOTFOUND && missing_ok) {
		rc = 0;
		goto done;
	}
	if (rc == BERTH_ENOTFOUND) {
		rc = berth_error_set(BERTH_ENOTFOUND, "%s is not an OCI layout (no index.json)",
				     dir);
		goto done;
	}
	if (rc)
		goto done;
	j = json_loadb(b.ptr, b.len, JSON_PRESERVE_ORDER | JSON_REJECT_DUPLICATES, &jerr);
	m = j ? json_object_get(j, "manifests") : NULL;
	if (!j || !json_is_object(j) || !json_is_array(m)) {
		rc = berth_error_set(BERTH_EINVALID, "%s: invalid index.json%s%s", dir,
				     j ? "" : ": ", j ? "" : jerr.text);
		goto done;
	}
	*out = j;
	j = NULL;
done:
	json_decref(j);
	berth_buf_dispose(&b);
	free(path);
	return rc;
}

/* Read an index entry into `desc` (media type, digest, size; other fields untouched). */
static int entry_descriptor(json_t *e, berth_descriptor *desc, const char *dir)
{
	const char *mt = json_string_value(json_object_get(e, "mediaType"));
	const char *dg = json_string_value(json_object_get(e, "digest"));
	json_t *size = json_object_get(e, "size");

	if (!json_is_object(e) || !mt || !dg || !json_is_integer(size) ||
	    json_integer_value(size) < 0 || strlen(mt) >= MT_MAX)
		return berth_error_set(BERTH_EINVALID, "%s: invalid entry in index.json", dir);
	if (berth_digest_parse(&desc->digest, dg, strlen(dg)) != 0)
		return berth_error_set(BERTH_EINVALID, "%s: index.json: bad digest '%.80s'", dir,
				       dg);
	desc->media_type = (char *)mt;
	desc->size = json_integer_value(size);
	return 0;
}

static const char *entry_ref_name(json_t *e)
{
	return json_string_value(json_object_get(json_object_get(e, "annotations"), REF_NAME));
}

/* ---- source ---- */

typedef struct layout_src {
	char *dir;
	berth_digest top;
	int64_t top_size;
	char top_mt[MT_MAX];
} layout_src;

/* Read blob `dg` of at most `max` bytes; verify digest and (if >= 0) size. */
static int read_blob_verified(const char *dir, const berth_digest *dg, int64_t size, size_t max,
			      berth_buf *out)
{
	berth_buf b = BERTH_BUF_INIT(max);
	berth_digest got;
	char *path = berth_transport__layout_blob_path(dir, dg);
	int rc;

	if (!path)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_fs_read_file(&b, path);
	if (rc == BERTH_ENOTFOUND)
		rc = berth_error_set(BERTH_ENOTFOUND, "%s: blob %s not found", dir, dg->str);
	else if (rc == BERTH_ETOOBIG)
		rc = berth_error_set(BERTH_ETOOBIG, "%s: %s is larger than %zu bytes", dir, dg->str,
				     max);
	if (rc)
		goto done;
	if (size >= 0 && (uint64_t)size != b.len) {
		rc = berth_error_set(BERTH_ESIZE, "%s: %s has %zu bytes, expected %lld", dir,
				     dg->str, b.len, (long long)size);
		goto done;
	}
	rc = berth_digest_compute(&got, dg->algo, b.ptr, b.len);
	if (rc)
		goto done;
	if (!berth_digest_equal(&got, dg)) {
		rc = berth_error_set(BERTH_EDIGEST, "%s: blob %s has digest %s", dir, dg->str,
				     got.str);
		goto done;
	}
	rc = berth_buf_put(out, b.ptr, b.len);
done:
	berth_buf_dispose(&b);
	free(path);
	return rc;
}

static int lsrc_manifest(berth_source *s, const berth_digest *d, berth_buf *body, char *media_type,
			 size_t media_type_len, berth_digest *digest_out)
{
	layout_src *ls = s->impl;
	berth_manifest *m = NULL;
	int top = !d || berth_digest_equal(d, &ls->top);
	const berth_digest *want = top ? &ls->top : d;
	size_t start = body->len;
	int rc;

	rc = read_blob_verified(ls->dir, want, top ? ls->top_size : -1, BERTH_MANIFEST_MAX, body);
	if (rc)
		return rc;
	if (top) {
		if (media_type && media_type_len)
			snprintf(media_type, media_type_len, "%s", ls->top_mt);
	} else {
		rc = berth_manifest_parse(&m, body->ptr + start, body->len - start, NULL);
		if (rc)
			return rc;
		if (media_type && media_type_len)
			snprintf(media_type, media_type_len, "%s", m->media_type);
		berth_manifest_free(m);
	}
	if (digest_out)
		*digest_out = *want;
	return 0;
}

static int lsrc_blob(berth_source *s, const berth_descriptor *desc, berth_stream **out)
{
	layout_src *ls = s->impl;
	char *path = berth_transport__layout_blob_path(ls->dir, &desc->digest);
	struct stat st;
	int fd, rc;

	if (!path)
		return berth_error_set(BERTH_ERROR, "out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		rc = errno == ENOENT ? berth_error_set(BERTH_ENOTFOUND, "%s: blob %s not found",
						       ls->dir, desc->digest.str)
				     : berth_error_set_errno("open %s", path);
		free(path);
		return rc;
	}
	free(path);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return berth_error_set(BERTH_EINVALID, "%s: blob %s is not a regular file", ls->dir,
				       desc->digest.str);
	}
	if (desc->size >= 0 && st.st_size != desc->size) {
		close(fd);
		return berth_error_set(BERTH_ESIZE, "%s: blob %s has %lld bytes, expected %lld",
				       ls->dir, desc->digest.str, (long long)st.st_size,
				       (long long)desc->size);
	}
	return berth_transport__stream_fd(out, fd, st.st_size);
}

static void lsrc_free(berth_source *s)
{
	layout_src *ls = s->impl;

	if (!ls)
		return;
	free(ls->dir);
	free(ls);
	s->impl = NULL;
}

static const berth_source_driver layout_source_driver = {
	.manifest = lsrc_manifest,
	.blob = lsrc_blob,
	.free = lsrc_free,
};

int berth_transport__layout_source(berth_source *s, const char *dir, const char *tag)
{
	layout_src *ls = NULL;
	json_t *idx = NULL, *ms, *e, *pick = NULL;
	berth_descriptor desc = {0};
	size_t i, n;
	int rc;

	rc = load_index(&idx, dir, 0);
	if (rc)
		goto done;
	ms = json_object_get(idx, "manifests");
	n = json_array_size(ms);
	if (tag) {
		json_array_foreach(ms, i, e)
		{
			const char *name = entry_ref_name(e);

			if (name && strcmp(name, tag) == 0) {
				pick = e;
				break;
			}
		}
		if (!pick) {
			rc = berth_error_set(BERTH_ENOTFOUND,
					     "oci:%s: no image named '%s' in index.json", dir, tag);
			goto done;
		}
	} else if (n == 1) {
		pick = json_array_get(ms, 0);
	} else {
		rc = berth_error_set(BERTH_EINVALID,
				     "oci:%s: index.json has %zu images; name one with oci:%s:NAME",
				     dir, n, dir);
		goto done;
	}
	rc = entry_descriptor(pick, &desc, dir);
	if (rc)
		goto done;
	ls = calloc(1, sizeof(*ls));
	if (!ls || !(ls->dir = strdup(dir))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	ls->top = desc.digest;
	ls->top_size = desc.size;
	snprintf(ls->top_mt, sizeof(ls->top_mt), "%s", desc.media_type);
	s->drv = &layout_source_driver;
	s->impl = ls;
	ls = NULL;
done:
	if (ls)
		free(ls->dir);
	free(ls);
	json_decref(idx);
	return rc;
}

int berth_transport__oci_source(berth_source *s, const berth_image_name *n,
				const berth_transport_options *o)
{
	return berth_transport__layout_source(s, n->path, n->tag);
}

/* ---- destination ---- */

typedef struct layout_dst {
	char *dir;
	char *tag;
	int created_dir;
	pthread_mutex_t mu;
	berth_digest *created; /* blobs this destination added */
	size_t ncreated, capcreated;
	int have_top;
	berth_digest top;
	int64_t top_size;
	char top_mt[MT_MAX];
} layout_dst;

static int record_created(layout_dst *ld, const berth_digest *dg)
{
	berth_digest *p;
	int rc = 0;

	pthread_mutex_lock(&ld->mu);
	if ((p = berth_array_room(ld->created, ld->ncreated, &ld->capcreated, sizeof(*p))) !=
	    NULL) {
		ld->created = p;
		ld->created[ld->ncreated++] = *dg;
	} else {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
	pthread_mutex_unlock(&ld->mu);
	return rc;
}

static int ensure_alg_dir(layout_dst *ld, berth_digest_algo algo)
{
	char *p = NULL;
	int rc;

	if (asprintf(&p, "%s/blobs/%s", ld->dir, berth_digest_algo_name(algo)) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_fs_mkdir_p(p);
	free(p);
	return rc;
}

/* Move a complete, verified temporary file into place as blob `dg`. */
static int install_blob(layout_dst *ld, const char *tmp, const berth_digest *dg)
{
	char *path = NULL;
	struct stat st;
	int rc;

	rc = ensure_alg_dir(ld, dg->algo);
	if (rc)
		goto done;
	path = berth_transport__layout_blob_path(ld->dir, dg);
	if (!path) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (lstat(path, &st) == 0) {
		/* Content addressed: the one there is the same bytes. */
		unlink(tmp);
		goto done;
	}
	if (rename(tmp, path) != 0) {
		rc = berth_error_set_errno("rename to %s", path);
		unlink(tmp);
		goto done;
	}
	rc = berth_fs_fsync_parent(path);
	if (rc == 0)
		rc = record_created(ld, dg);
done:
	free(path);
	return rc;
}

static int ldst_has_blob(berth_dest *d, const berth_descriptor *desc)
{
	layout_dst *ld = d->impl;
	char *path = berth_transport__layout_blob_path(ld->dir, &desc->digest);
	struct stat st;
	int rc = 0;

	if (!path)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (desc->size >= 0 && st.st_size != desc->size))
		rc = berth_error_set(BERTH_ENOTFOUND, "blob %s not in %s", desc->digest.str,
				     ld->dir);
	free(path);
	return rc;
}

static int ldst_put_blob(berth_dest *d, const berth_descriptor *desc, berth_stream *in)
{
	layout_dst *ld = d->impl;
	berth_transport__check check = {0};
	berth_fs_behind behind = {0, 0};
	char *tmp = NULL, *chunk = NULL;
	int fd = -1, rc;

	if (asprintf(&tmp, "%s/.berth-blob-XXXXXX", ld->dir) < 0) {
		tmp = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	chunk = malloc(COPY_CHUNK);
	if (!chunk) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_transport__check_init(&check, desc, !in->verified);
	if (rc)
		goto done;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = berth_error_set_errno("create a temporary file in %s", ld->dir);
		free(tmp);
		tmp = NULL;
		goto done;
	}
	for (;;) {
		long r = berth_stream_read(in, chunk, COPY_CHUNK);

		if (r < 0) {
			rc = (int)r;
			goto done;
		}
		if (r == 0)
			break;
		rc = berth_transport__check_update(&check, chunk, (size_t)r);
		if (rc == 0)
			rc = berth_fs_write_all_behind(fd, &behind, chunk, (size_t)r);
		if (rc)
			goto done;
	}
	rc = berth_transport__check_final(&check);
	if (rc)
		goto done;
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		rc = berth_error_set_errno("write %s", tmp);
		goto done;
	}
	close(fd);
	fd = -1;
	rc = install_blob(ld, tmp, &desc->digest);
	free(tmp);
	tmp = NULL;
done:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(chunk);
	berth_transport__check_dispose(&check);
	return rc;
}

static int ldst_put_manifest(berth_dest *d, const void *body, size_t len, const char *media_type,
			     const berth_digest *digest, int top_level)
{
	layout_dst *ld = d->impl;
	berth_digest got;
	char *tmp = NULL;
	int fd = -1, rc;

	if (!media_type || strlen(media_type) >= MT_MAX)
		return berth_error_set(BERTH_EINVALID, "manifest without a usable media type");
	rc = berth_digest_compute(&got, digest ? digest->algo : BERTH_DIGEST_SHA256, body, len);
	if (rc)
		return rc;
	if (digest && !berth_digest_equal(&got, digest))
		return berth_error_set(BERTH_EDIGEST, "manifest %s: content has digest %s",
				       digest->str, got.str);
	if (asprintf(&tmp, "%s/.berth-blob-XXXXXX", ld->dir) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		rc = berth_error_set_errno("create a temporary file in %s", ld->dir);
		free(tmp);
		return rc;
	}
	rc = berth_fs_write_all(fd, body, len);
	if (rc == 0 && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
		rc = berth_error_set_errno("write %s", tmp);
	close(fd);
	if (rc == 0)
		rc = install_blob(ld, tmp, &got);
	else
		unlink(tmp);
	free(tmp);
	if (rc == 0 && top_level) {
		pthread_mutex_lock(&ld->mu);
		ld->have_top = 1;
		ld->top = got;
		ld->top_size = (int64_t)len;
		snprintf(ld->top_mt, sizeof(ld->top_mt), "%s", media_type);
		pthread_mutex_unlock(&ld->mu);
	}
	return rc;
}

/* skopeo's addManifest (containers/image oci/layout/oci_dest.go). */
static int index_add(json_t *idx, json_t *entry, const char *tag, const char *digest)
{
	json_t *ms = json_object_get(idx, "manifests"), *e;
	size_t i;

	if (tag) {
		json_array_foreach(ms, i, e)
		{
			const char *name = entry_ref_name(e);

			if (name && strcmp(name, tag) == 0) {
				json_t *ann = json_object_get(e, "annotations");

				json_object_del(ann, REF_NAME);
				if (json_object_size(ann) == 0)
					json_object_del(e, "annotations");
				break;
			}
		}
	}
	json_array_foreach(ms, i, e)
	{
		const char *dg = json_string_value(json_object_get(e, "digest"));
		const char *name = entry_ref_name(e);

		if (dg && strcmp(dg, digest) == 0 && (!name || !*name))
			return json_array_set(ms, i, entry) ? -1 : 0;
	}
	return json_array_append(ms, entry) ? -1 : 0;
}

static int ldst_commit(berth_dest *d)
{
	layout_dst *ld = d->impl;
	json_t *idx = NULL, *entry = NULL;
	char *text = NULL, *path = NULL;
	int rc, lockfd = -1;

	if (!ld->have_top)
		return berth_error_set(BERTH_EINVALID, "oci:%s: nothing to commit (no manifest)",
				       ld->dir);
	/* index.json is read, changed and replaced: one writer at a time, across processes
	 * (builds sharing a store commit into one layout). The lock is the directory's own. */
	lockfd = open(ld->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lockfd < 0) {
		rc = berth_error_set_errno("oci:%s", ld->dir);
		goto done;
	}
	while (flock(lockfd, LOCK_EX) < 0)
		if (errno != EINTR) {
			rc = berth_error_set_errno("lock oci:%s", ld->dir);
			goto done;
		}
	rc = load_index(&idx, ld->dir, 1);
	if (rc)
		goto done;
	if (!idx)
		idx = json_pack("{s:i,s:[]}", "schemaVersion", 2, "manifests");
	entry = json_pack("{s:s,s:s,s:I}", "mediaType", ld->top_mt, "digest", ld->top.str, "size",
			  (json_int_t)ld->top_size);
	if (entry && ld->tag)
		json_object_set_new(entry, "annotations", json_pack("{s:s}", REF_NAME, ld->tag));
	if (!idx || !entry || index_add(idx, entry, ld->tag, ld->top.str) != 0) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	text = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text || asprintf(&path, "%s/index.json", ld->dir) < 0) {
		path = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_fs_write_atomic(path, text, strlen(text));
done:
	if (lockfd >= 0)
		close(lockfd); /* releases the lock */
	free(path);
	free(text);
	json_decref(entry);
	json_decref(idx);
	return rc;
}

static void ldst_free(berth_dest *d, int committed)
{
	layout_dst *ld = d->impl;

	if (!ld)
		return;
	if (!committed && ld->created_dir) {
		if (berth_fs_remove_tree(ld->dir) != 0) { /* best effort */
		}
	} else if (!committed && ld->ncreated) {
		json_t *idx = NULL, *ms, *e;
		size_t i, j;

		/* Keep what index.json names (someone else may have committed it). */
		if (load_index(&idx, ld->dir, 1) != 0)
			idx = NULL;
		ms = json_object_get(idx, "manifests");
		for (i = 0; i < ld->ncreated; i++) {
			int used = 0;
			char *p;

			json_array_foreach(ms, j, e)
			{
				const char *dg = json_string_value(json_object_get(e, "digest"));

				used |= dg && strcmp(dg, ld->created[i].str) == 0;
			}
			if (used)
				continue;
			p = berth_transport__layout_blob_path(ld->dir, &ld->created[i]);
			if (p)
				unlink(p);
			free(p);
		}
		json_decref(idx);
	}
	pthread_mutex_destroy(&ld->mu);
	free(ld->created);
	free(ld->dir);
	free(ld->tag);
	free(ld);
	d->impl = NULL;
}

static const berth_dest_driver layout_dest_driver = {
	.has_blob = ldst_has_blob,
	.mount_blob = NULL,
	.put_blob = ldst_put_blob,
	.put_manifest = ldst_put_manifest,
	.commit = ldst_commit,
	.free = ldst_free,
};

int berth_transport__layout_dest(berth_dest *d, const char *dir, const char *tag)
{
	layout_dst *ld = NULL;
	json_t *idx = NULL;
	char *p = NULL;
	struct stat st;
	int rc = 0;

	ld = calloc(1, sizeof(*ld));
	if (!ld)
		return berth_error_set(BERTH_ERROR, "out of memory");
	pthread_mutex_init(&ld->mu, NULL);
	if (!(ld->dir = strdup(dir)) || (tag && !(ld->tag = strdup(tag)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT) {
			rc = berth_error_set_errno("oci:%s", dir);
			goto done;
		}
		rc = berth_fs_mkdir_p(dir);
		if (rc)
			goto done;
		ld->created_dir = 1;
	} else if (!S_ISDIR(st.st_mode)) {
		rc = berth_error_set(BERTH_EINVALID, "oci:%s: not a directory", dir);
		goto done;
	} else {
		/* An existing layout must be readable before anything is added to it. */
		rc = load_index(&idx, dir, 1);
		if (rc)
			goto done;
	}
	rc = ensure_alg_dir(ld, BERTH_DIGEST_SHA256);
	if (rc)
		goto done;
	if (asprintf(&p, "%s/oci-layout", dir) < 0) {
		p = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (lstat(p, &st) != 0)
		rc = berth_fs_write_atomic(p, LAYOUT_FILE, strlen(LAYOUT_FILE));
	if (rc)
		goto done;
	d->drv = &layout_dest_driver;
	d->impl = ld;
	ld = NULL;
done:
	if (ld) {
		if (ld->created_dir)
			if (berth_fs_remove_tree(ld->dir) != 0) { /* best effort */
			}
		pthread_mutex_destroy(&ld->mu);
		free(ld->dir);
		free(ld->tag);
		free(ld);
	}
	json_decref(idx);
	free(p);
	return rc;
}

int berth_transport__oci_dest(berth_dest *d, const berth_image_name *n,
			      const berth_transport_options *o)
{
	return berth_transport__layout_dest(d, n->path, n->tag);
}
