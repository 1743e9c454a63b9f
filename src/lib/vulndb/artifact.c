/*
 * artifact.c - the database as an OCI artifact, so `berth serve` can be the
 * update server of an air-gapped site: push writes a consistent snapshot
 * (VACUUM INTO), compresses it with zstd into a scratch file while hashing
 * it, and pushes it as the one layer of a manifest with our artifactType,
 * an empty config and annotations (schema version, build time, sources);
 * pull checks the artifact type, streams the layer (digest checked by the
 * client) through zstd into a scratch file beside the target, opens it to
 * check the schema, and renames it into place.
 */
#include "internal.h"

#include "berth/client.h"
#include "berth/digest.h"
#include "berth/oci.h"
#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#define EMPTY_DIGEST "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
#define MANIFEST_MAX (1024 * 1024)
#define ZSTD_LEVEL 19

/* ---- push ---- */

static int snapshot(const char *path, const char *tmp)
{
	sqlite3 *s = NULL;
	char *sql = NULL, *err = NULL;
	int rc = 0;

	if (sqlite3_open_v2(path, &s, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		rc = berth_error_set(BERTH_EIO, "cannot open %s: %s", path,
				     s ? sqlite3_errmsg(s) : "out of memory");
		goto done;
	}
	if (!(sql = sqlite3_mprintf("VACUUM INTO %Q", tmp))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (sqlite3_exec(s, sql, NULL, NULL, &err) != SQLITE_OK)
		rc = berth_error_set(BERTH_EIO, "cannot snapshot %s: %s", path,
				     err ? err : "sqlite error");
done:
	sqlite3_free(err);
	sqlite3_free(sql);
	sqlite3_close(s);
	return rc;
}

/* zstd-compress in -> out, hashing what is written. */
static int compress_file(int in, int out, berth_digest *d, uint64_t *size)
{
	ZSTD_CCtx *z = ZSTD_createCCtx();
	size_t ilen = ZSTD_CStreamInSize(), olen = ZSTD_CStreamOutSize();
	char *ib = malloc(ilen), *ob = malloc(olen);
	berth_hasher *h = NULL;
	int rc = 0, last = 0;

	*size = 0;
	if (!z || !ib || !ob || berth_hasher_new(&h, BERTH_DIGEST_SHA256) != 0) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, ZSTD_LEVEL);
	while (!last) {
		ssize_t n = read(in, ib, ilen);
		ZSTD_inBuffer zi;

		if (n < 0) {
			rc = berth_error_set_errno("cannot read the database snapshot");
			goto done;
		}
		last = n == 0;
		zi = (ZSTD_inBuffer){ib, (size_t)n, 0};
		for (;;) {
			ZSTD_outBuffer zo = {ob, olen, 0};
			size_t left = ZSTD_compressStream2(z, &zo, &zi,
							   last ? ZSTD_e_end : ZSTD_e_continue);

			if (ZSTD_isError(left)) {
				rc = berth_error_set(BERTH_ERROR, "zstd: %s",
						     ZSTD_getErrorName(left));
				goto done;
			}
			if (zo.pos && (write(out, ob, zo.pos) != (ssize_t)zo.pos ||
				       berth_hasher_update(h, ob, zo.pos) != 0)) {
				rc = berth_error_set_errno("cannot write the compressed database");
				goto done;
			}
			*size += zo.pos;
			if (last ? left == 0 : zi.pos == zi.size)
				break;
		}
	}
	rc = berth_hasher_final(h, d);
done:
	berth_hasher_free(h);
	ZSTD_freeCCtx(z);
	free(ib);
	free(ob);
	return rc;
}

static long fd_source(void *ctx, void *buf, size_t cap)
{
	ssize_t n = read(*(int *)ctx, buf, cap);

	return n < 0 ? berth_error_set_errno("cannot read the compressed database") : (long)n;
}

static long empty_source(void *ctx, void *buf, size_t cap)
{
	int *done = ctx;

	if (*done || cap < 2)
		return 0;
	memcpy(buf, "{}", 2);
	*done = 1;
	return 2;
}

static char *manifest_json(const berth_digest *layer, uint64_t size, const berth_vulndb_info *info)
{
	char built[32], schema[16];
	struct tm tm;
	json_t *m;
	char *text;

	gmtime_r(&info->built_at, &tm);
	strftime(built, sizeof(built), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(schema, sizeof(schema), "%d", info->schema);
	m = json_pack("{s:i,s:s,s:s,s:{s:s,s:s,s:i},s:[{s:s,s:s,s:I,s:{s:s}}],"
		      "s:{s:s,s:s,s:s,s:s}}",
		      "schemaVersion", 2, "mediaType", BERTH_MT_OCI_MANIFEST, "artifactType",
		      BERTH_VULNDB_ARTIFACT_TYPE, "config", "mediaType", BERTH_MT_OCI_EMPTY,
		      "digest", EMPTY_DIGEST, "size", 2, "layers", "mediaType",
		      BERTH_VULNDB_LAYER_TYPE, "digest", layer->str, "size", (json_int_t)size,
		      "annotations", "org.opencontainers.image.title", "vulndb.sqlite",
		      "annotations", "org.opencontainers.image.created", built,
		      "dev.berth.vulndb.schema", schema, "dev.berth.vulndb.built", built,
		      "dev.berth.vulndb.sources", info->sources);
	if (!m)
		return NULL;
	text = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	return text;
}

static int scratch(char *buf, size_t len, const char *path, const char *what)
{
	int fd;

	if (snprintf(buf, len, "%s.%s-XXXXXX", path, what) >= (int)len)
		return berth_error_set(BERTH_ETOOBIG, "path too long: %s", path);
	if ((fd = mkstemp(buf)) < 0)
		return berth_error_set_errno("cannot create a scratch file beside %s", path);
	return fd;
}

static int push_blobs(berth_client *c, const char *repo, int zfd, const berth_digest *d,
		      uint64_t size)
{
	berth_digest empty;
	int rc, done = 0;

	if (lseek(zfd, 0, SEEK_SET) != 0)
		return berth_error_set_errno("cannot rewind the compressed database");
	if ((rc = berth_client_blob_push(c, repo, d, size, fd_source, &zfd, 0, 0)) != 0)
		return rc;
	if ((rc = berth_digest_parse(&empty, EMPTY_DIGEST, strlen(EMPTY_DIGEST))) != 0)
		return rc;
	if (berth_client_blob_exists(c, repo, &empty, NULL) == 0)
		return 0;
	return berth_client_blob_push(c, repo, &empty, 2, empty_source, &done, 0, 0);
}

int berth_vulndb_push(berth_client *client, const char *repo, const char *tag, const char *path)
{
	char snap[4096] = "", zpath[4096] = "", *manifest = NULL;
	berth_vulndb_info info = {0};
	berth_vulndb *db = NULL;
	int sfd = -1, zfd = -1, rc;
	berth_digest d;
	uint64_t size;

	if ((sfd = scratch(snap, sizeof(snap), path, "snapshot")) < 0) {
		rc = sfd;
		snap[0] = '\0';
		goto done;
	}
	close(sfd);
	unlink(snap); /* VACUUM INTO wants to create the file itself */
	if ((rc = snapshot(path, snap)) != 0 || (rc = berth_vulndb_open(&db, snap, 0)) != 0 ||
	    (rc = berth_vulndb_info_get(db, &info)) != 0)
		goto done;
	if ((sfd = open(snap, O_RDONLY | O_CLOEXEC)) < 0) {
		rc = berth_error_set_errno("cannot open %s", snap);
		goto done;
	}
	if ((zfd = scratch(zpath, sizeof(zpath), path, "zst")) < 0) {
		rc = zfd;
		zpath[0] = '\0';
		goto done;
	}
	if ((rc = compress_file(sfd, zfd, &d, &size)) != 0 ||
	    (rc = push_blobs(client, repo, zfd, &d, size)) != 0)
		goto done;
	if (!(manifest = manifest_json(&d, size, &info))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_client_manifest_put(client, repo, tag, BERTH_MT_OCI_MANIFEST, manifest,
				       strlen(manifest), NULL);
done:
	berth_vulndb_free(db);
	berth_vulndb_info_dispose(&info);
	free(manifest);
	if (sfd >= 0)
		close(sfd);
	if (zfd >= 0)
		close(zfd);
	if (*snap)
		unlink(snap);
	if (*zpath)
		unlink(zpath);
	return rc;
}

/* ---- pull ---- */

typedef struct unz {
	ZSTD_DCtx *z;
	int fd;
	uint64_t out;
	char buf[1 << 16];
} unz;

static int unz_sink(void *ctx, const void *data, size_t len)
{
	unz *u = ctx;
	ZSTD_inBuffer zi = {data, len, 0};

	while (zi.pos < zi.size) {
		ZSTD_outBuffer zo = {u->buf, sizeof(u->buf), 0};
		size_t r = ZSTD_decompressStream(u->z, &zo, &zi);

		if (ZSTD_isError(r))
			return berth_error_set(BERTH_EINVALID, "database layer: zstd: %s",
					       ZSTD_getErrorName(r));
		u->out += zo.pos;
		if (u->out > BERTH_VULNDB_PULL_MAX)
			return berth_error_set(
				BERTH_ETOOBIG,
				"database layer decompresses to more than %llu bytes",
				(unsigned long long)BERTH_VULNDB_PULL_MAX);
		if (zo.pos && write(u->fd, u->buf, zo.pos) != (ssize_t)zo.pos)
			return berth_error_set_errno("cannot write the pulled database");
	}
	return 0;
}

/* The layer of a database artifact manifest. */
static int find_layer(const char *body, size_t len, berth_digest *d, int64_t *size)
{
	json_t *m = json_loadb(body, len, 0, NULL), *layers, *l, *cfg;
	const char *at, *cmt;
	int rc = BERTH_EUNSUPPORTED;
	size_t i;

	if (!m)
		return berth_error_set(BERTH_EINVALID, "the manifest is not JSON");
	at = json_string_value(json_object_get(m, "artifactType"));
	cfg = json_object_get(m, "config");
	cmt = json_string_value(json_object_get(cfg, "mediaType"));
	if (!(at && strcmp(at, BERTH_VULNDB_ARTIFACT_TYPE) == 0) &&
	    !(cmt && strcmp(cmt, BERTH_VULNDB_ARTIFACT_TYPE) == 0)) {
		rc = berth_error_set(BERTH_EUNSUPPORTED,
				     "not a berth vulnerability database (artifactType %s)",
				     at ? at : "none");
		goto done;
	}
	layers = json_object_get(m, "layers");
	json_array_foreach(layers, i, l)
	{
		const char *mt = json_string_value(json_object_get(l, "mediaType"));
		const char *dg = json_string_value(json_object_get(l, "digest"));
		json_t *sz = json_object_get(l, "size");

		if (!mt || strcmp(mt, BERTH_VULNDB_LAYER_TYPE) != 0 || !dg || !json_is_integer(sz))
			continue;
		if ((rc = berth_digest_parse(d, dg, strlen(dg))) != 0)
			goto done;
		*size = json_integer_value(sz);
		rc = 0;
		goto done;
	}
	rc = berth_error_set(BERTH_EUNSUPPORTED, "the artifact has no %s layer",
			     BERTH_VULNDB_LAYER_TYPE);
done:
	json_decref(m);
	return rc;
}

int berth_vulndb_pull(berth_client *client, const char *repo, const char *reference,
		      const char *path)
{
	berth_buf body = BERTH_BUF_INIT(MANIFEST_MAX);
	char mt[256], tmp[4096] = "";
	berth_vulndb *db = NULL;
	unz *u = NULL;
	berth_digest md, ld;
	int64_t size = -1;
	int rc;

	if ((rc = berth_client_manifest_get(client, repo, reference, &body, mt, sizeof(mt), &md)) !=
		    0 ||
	    (rc = find_layer(body.ptr, body.len, &ld, &size)) != 0)
		goto done;
	if (!(u = calloc(1, sizeof(*u))) || !(u->z = ZSTD_createDCtx())) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((u->fd = scratch(tmp, sizeof(tmp), path, "pull")) < 0) {
		rc = u->fd;
		tmp[0] = '\0';
		goto done;
	}
	if ((rc = berth_client_blob_get(client, repo, &ld, size, unz_sink, u)) != 0)
		goto done;
	if (fsync(u->fd) != 0) {
		rc = berth_error_set_errno("cannot sync %s", tmp);
		goto done;
	}
	/* It must be a database this berth reads before it replaces anything. */
	if ((rc = berth_vulndb_open(&db, tmp, 0)) != 0)
		goto done;
	berth_vulndb_free(db);
	db = NULL;
	if (rename(tmp, path) != 0) {
		rc = berth_error_set_errno("cannot move the pulled database to %s", path);
		goto done;
	}
	tmp[0] = '\0';
done:
	berth_vulndb_free(db);
	if (u) {
		if (u->fd > 0)
			close(u->fd);
		ZSTD_freeDCtx(u->z);
		free(u);
	}
	if (*tmp)
		unlink(tmp);
	berth_buf_dispose(&body);
	return rc;
}
