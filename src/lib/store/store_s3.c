/*
 * store_s3.c - the `s3` driver of the blob store: blobs and uploads in an
 * S3 bucket (layout in include/berth/store.h, design in docs/s3.md).
 *
 * Uploads stream into an S3 multipart upload of the object data/<id>: bytes
 * are gathered into parts of `chunksize`; a full part is sent by a thread of
 * its own while the request goes on filling the next one (at most one part
 * in flight, so an upload holds two part buffers: receiving from the client
 * overlaps sending to S3 instead of stopping for each part); what is left
 * past the last full part (the tail) is staged as its own object when the
 * upload is synced, and the state (multipart id, part ETags, tail key,
 * SHA-256 context) is written to uploads/<id>/state, so any process can
 * continue the upload.
 * Commit checks the digest from the hash state, completes the multipart
 * upload (or PUTs a small blob at once) and only then writes the blob's
 * index object: content addressing is kept in that small object, so no byte
 * is copied at commit, and a blob is never visible before it is verified.
 *
 * The SHA-256 state is OpenSSL's SHA256_CTX, serialised field by field
 * (plain 32-bit words): EVP contexts cannot be exported.
 *
 * Exclusivity: an upload is held by one request of this process at a time
 * (an in-process set of busy ids). Across processes the upload session's
 * owner (the metadata database) must serialise PATCHes of one upload.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "lib/store/internal.h"
#include "lib/store/s3.h"

#include "util/buf.h"
#include "util/random.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#define INDEX_MAX 4096			/* cap on an index object */
#define STATE_MAX (2u << 20)		/* cap on an upload state object */
#define PARTS_MAX 10000			/* S3's limit of parts per multipart upload */
#define LIST_MAX (4u << 20)		/* cap on one ListObjectsV2 page */
#define DELETE_BATCH 1000		/* keys per DeleteObjects (S3's limit) */
#define READER_WINDOW (4u << 20)	/* bytes fetched per ranged GET when streaming */
#define UPLOAD_ID_Q_MAX 1024		/* escaped multipart upload id */
#define SPOOL_DIR_ENV "BERTH_SPOOL_DIR" /* where local copies of mirrored uploads go */
#define SPOOL_DIR_DEFAULT "/var/tmp"

typedef struct s3_store {
	s3_client *c;
	uint64_t partsize;
	int redirect;
	pthread_mutex_t mu; /* guards busy */
	struct busy {
		char id[BERTH_UPLOAD_ID_MAX];
		struct busy *next;
	} * busy;
} s3_store;

typedef struct s3_upload {
	struct berth_upload base; /* first */
	SHA256_CTX sha;
	char mpu[UPLOAD_ID_Q_MAX]; /* multipart upload id ("" none yet), escaped for queries */
	char **etags;
	size_t nparts;
	uint64_t partsize;
	char *buf; /* the tail: bytes past the last full part */
	size_t len;
	/* The part in flight (part_send .. part_wait): sent by `sender`. */
	int sending;
	pthread_t sender;
	char *send_buf; /* its bytes; back to `spare` once sent */
	size_t send_len;
	size_t send_number; /* 1-based part number */
	int send_rc;
	char send_err[512];
	char send_etag[S3_ETAG_MAX];
	char *spare;	       /* a free part buffer (NULL: none yet) */
	char tail[S3_KEY_MAX]; /* key of the staged tail ("" none) */
	long long started;
	int dirty;
	int failed; /* a write failed: the in-memory state is not to be saved */
	int spool;  /* a local copy of every byte for readers (berth_upload_reader), or -1 */
} s3_upload;

static s3_store *S3(berth_store *s)
{
	return s->impl;
}

/* ---- keys ---- */

static void index_key(char *out, const berth_digest *d)
{
	const char *hex = berth_digest_hex(d);

	snprintf(out, S3_KEY_MAX, "blobs/%s/%.2s/%s", berth_digest_algo_name(d->algo), hex, hex);
}

static void upload_key(char *out, const char *id, const char *leaf)
{
	snprintf(out, S3_KEY_MAX, "uploads/%s/%s", id, leaf);
}

static void data_key(char *out, const char *id)
{
	snprintf(out, S3_KEY_MAX, "data/%s", id);
}

/* ---- small objects ---- */

static int put_small(s3_store *st, const char *key, const char *data, size_t len)
{
	s3_req r = {.method = "PUT",
		    .key = key,
		    .body = data,
		    .body_len = len,
		    .sign_body = 1,
		    .content_type = "application/json",
		    .storage_class = 1};

	return s3_do(st->c, &r);
}

static int get_small(s3_store *st, const char *key, berth_buf *out)
{
	s3_req r = {.method = "GET", .key = key, .out = out};

	return s3_do(st->c, &r);
}

static int delete_key(s3_store *st, const char *key)
{
	s3_req r = {.method = "DELETE", .key = key};
	int rc = s3_do(st->c, &r);

	return rc == BERTH_ENOTFOUND ? 0 : rc;
}

/*
 * Send `r` with `xml` as its body. S3 may answer 200 and still fail a batch
 * operation (`op`, for the message) in the body: that is BERTH_EIO too.
 */
static int post_xml(s3_store *st, s3_req *r, const berth_buf *xml, const char *op)
{
	berth_buf out = BERTH_BUF_INIT(S3_ERROR_BODY_MAX);
	int rc;

	r->body = xml->ptr;
	r->body_len = xml->len;
	r->out = &out;
	if ((rc = s3_do(st->c, r)) < 0)
		goto done;
	if (out.len && strstr(out.ptr, "<Error>")) {
		char code[128];

		(void)s3_xml_value(out.ptr, "Code", code, sizeof(code));
		rc = berth_error_set(BERTH_EIO, "S3 %s: %s", op, code);
		goto done;
	}
	rc = 0;
done:
	berth_buf_dispose(&out);
	return rc;
}

/* DeleteObjects of up to DELETE_BATCH keys (Content-MD5 is required). */
static int delete_batch(s3_store *st, char *const *keys, size_t n)
{
	berth_buf xml = BERTH_BUF_INIT(0);
	unsigned char md5[16];
	char b64[32];
	unsigned int mdlen = 0;
	s3_req r = {.method = "POST", .query = "delete=", .sign_body = 1};
	int rc;

	if ((rc = berth_buf_puts(&xml, "<Delete><Quiet>true</Quiet>")) < 0)
		goto done;
	for (size_t i = 0; i < n; i++) {
		if ((rc = berth_buf_printf(&xml, "<Object><Key>%s%s</Key></Object>", st->c->root,
					   keys[i])) < 0)
			goto done;
	}
	if ((rc = berth_buf_puts(&xml, "</Delete>")) < 0)
		goto done;
	EVP_Digest(xml.ptr, xml.len, md5, &mdlen, EVP_md5(), NULL);
	EVP_EncodeBlock((unsigned char *)b64, md5, 16);
	r.content_md5 = b64;
	rc = post_xml(st, &r, &xml, "DeleteObjects");
done:
	berth_buf_dispose(&xml);
	return rc;
}

/* ---- index objects: {"key": "data/<id>", "size": N} ---- */

static int locate(s3_store *st, const berth_digest *d, char *key, uint64_t *size)
{
	berth_buf b = BERTH_BUF_INIT(INDEX_MAX);
	char ik[S3_KEY_MAX];
	json_t *j = NULL;
	const char *k = NULL;
	json_int_t n = -1;
	int rc;

	index_key(ik, d);
	if ((rc = get_small(st, ik, &b)) < 0) {
		if (rc == BERTH_ENOTFOUND)
			rc = berth_error_set(BERTH_ENOTFOUND, "blob %s not found", d->str);
		goto done;
	}
	if (!(j = json_loadb(b.ptr ? b.ptr : "", b.len, 0, NULL)) ||
	    json_unpack(j, "{s:s,s:I}", "key", &k, "size", &n) != 0 || n < 0 ||
	    strncmp(k, "data/", 5) != 0 || strlen(k) >= S3_KEY_MAX) {
		rc = berth_error_set(BERTH_EIO, "s3 store: index object of %s is damaged", d->str);
		goto done;
	}
	if (key)
		snprintf(key, S3_KEY_MAX, "%s", k);
	if (size)
		*size = (uint64_t)n;
	rc = 0;
done:
	json_decref(j);
	berth_buf_dispose(&b);
	return rc;
}

static int write_index(s3_store *st, const berth_digest *d, const char *dkey, uint64_t size)
{
	char ik[S3_KEY_MAX], body[S3_KEY_MAX + 64];
	int n;

	index_key(ik, d);
	n = snprintf(body, sizeof(body), "{\"key\":\"%s\",\"size\":%" PRIu64 "}\n", dkey, size);
	return put_small(st, ik, body, (size_t)n);
}

/* ---- open / free ---- */

static void s3_free(berth_store *s)
{
	s3_store *st = S3(s);

	if (!st)
		return;
	s3_client_free(st->c);
	while (st->busy) {
		struct busy *b = st->busy;

		st->busy = b->next;
		free(b);
	}
	pthread_mutex_destroy(&st->mu);
	free(st);
	s->impl = NULL;
}

static const berth_store__driver s3_driver;

int berth_store__s3_open(berth_store *s, const berth_store_s3_config *cfg)
{
	s3_store *st = NULL;
	s3_req probe = {.method = "HEAD"};
	int rc;

	if (cfg->chunksize &&
	    (cfg->chunksize < BERTH_S3_PART_MIN || cfg->chunksize > BERTH_S3_PART_MAX)) {
		rc = berth_error_set(BERTH_EINVALID,
				     "s3 store: chunksize must be between %llu and %llu bytes",
				     BERTH_S3_PART_MIN, BERTH_S3_PART_MAX);
		goto done;
	}
	if (!(st = calloc(1, sizeof(*st)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory opening the store");
		goto done;
	}
	pthread_mutex_init(&st->mu, NULL);
	st->partsize = cfg->chunksize ? cfg->chunksize : BERTH_S3_PART_DEFAULT;
	st->redirect = cfg->redirect == 1;
	if ((rc = s3_client_new(&st->c, cfg)) < 0)
		goto done;
	/* Reachability and credentials now, not at the first push. */
	if ((rc = s3_do(st->c, &probe)) < 0) {
		if (rc == BERTH_ENOTFOUND)
			rc = berth_error_set(BERTH_ENOTFOUND, "s3 store: bucket %s does not exist",
					     cfg->bucket);
		goto done;
	}
	s->drv = &s3_driver;
	s->impl = st;
	/* now owned by s */ st = NULL;
	rc = 0;
done:
	if (st) {
		berth_store tmp = {.impl = st};

		s3_free(&tmp);
	}
	return rc;
}

/* ---- blobs ---- */

static int s3_stat(berth_store *s, const berth_digest *d, uint64_t *size)
{
	return locate(S3(s), d, NULL, size);
}

static int s3_open_blob(berth_store *s, const berth_digest *d, int *fd, uint64_t *size)
{
	(void)s;
	(void)d;
	(void)fd;
	(void)size;
	return berth_error_set(BERTH_EUNSUPPORTED, "the s3 store has no local files");
}

static int s3_read_blob(berth_store *s, const berth_digest *d, berth_buf *out)
{
	s3_store *st = S3(s);
	char key[S3_KEY_MAX];
	uint64_t size;
	int rc;

	if ((rc = locate(st, d, key, &size)) < 0)
		return rc;
	if (out->max && (size > out->max || out->len > out->max - size))
		return berth_error_set(BERTH_ETOOBIG,
				       "blob %s is %" PRIu64 " bytes, over the limit of %zu",
				       d->str, size, out->max);
	return get_small(st, key, out);
}

static int s3_put(berth_store *s, const berth_digest *expected, const void *data, size_t len)
{
	s3_store *st = S3(s);
	berth_digest actual;
	char id[BERTH_UPLOAD_ID_MAX], key[S3_KEY_MAX];
	s3_req r = {.method = "PUT",
		    .body = data,
		    .body_len = len,
		    .storage_class = 1,
		    .content_type = "application/octet-stream"};
	int rc;

	if ((rc = berth_digest_compute(&actual, expected->algo, data, len)) < 0)
		return rc;
	if (!berth_digest_equal(&actual, expected))
		return berth_error_set(BERTH_EDIGEST, "digest mismatch: expected %s, content is %s",
				       expected->str, actual.str);
	if ((rc = locate(st, expected, NULL, NULL)) == 0)
		return 0;
	if (rc != BERTH_ENOTFOUND)
		return rc;
	berth_error_clear();
	if ((rc = berth_uuid4(id)) < 0)
		return rc;
	data_key(key, id);
	r.key = key;
	if ((rc = s3_do(st->c, &r)) < 0)
		return rc;
	return write_index(st, expected, key, len);
}

static int s3_delete_blob(berth_store *s, const berth_digest *d)
{
	s3_store *st = S3(s);
	char ik[S3_KEY_MAX], dk[S3_KEY_MAX];
	char *keys[2] = {ik, dk};
	int rc;

	if ((rc = locate(st, d, dk, NULL)) < 0)
		return rc;
	index_key(ik, d);
	return delete_batch(st, keys, 2);
}

/* ---- blob readers: ranged GETs of a window at a time ---- */

typedef struct s3_reader {
	berth_blob_reader base; /* first */
	s3_store *st;
	char key[S3_KEY_MAX];
	uint64_t size;
	berth_buf win; /* bytes [win_at, win_at + win.len) */
	uint64_t win_at;
} s3_reader;

static long reader_read(berth_blob_reader *br, uint64_t pos, char *buf, size_t max)
{
	s3_reader *r = (s3_reader *)br;
	char range[64];
	size_t n;

	if (pos >= r->size)
		return 0;
	if (pos < r->win_at || pos >= r->win_at + r->win.len) {
		uint64_t end = pos + READER_WINDOW - 1;
		s3_req q = {.method = "GET", .key = r->key, .range = range, .out = &r->win};

		if (end >= r->size)
			end = r->size - 1;
		snprintf(range, sizeof(range), "bytes=%" PRIu64 "-%" PRIu64, pos, end);
		berth_buf_reset(&r->win);
		r->win_at = pos;
		if (s3_do(r->st->c, &q) < 0 || r->win.len == 0) {
			berth_buf_reset(&r->win);
			return -1;
		}
	}
	n = (size_t)(r->win_at + r->win.len - pos);
	if (n > max)
		n = max;
	memcpy(buf, r->win.ptr + (pos - r->win_at), n);
	return (long)n;
}

static void reader_free(berth_blob_reader *br)
{
	s3_reader *r = (s3_reader *)br;

	berth_buf_dispose(&r->win);
	free(r);
}

static int s3_reader_open(berth_blob_reader **out, berth_store *s, const berth_digest *d,
			  uint64_t *size)
{
	s3_reader *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = locate(S3(s), d, r->key, &r->size)) < 0) {
		free(r);
		return rc;
	}
	r->base.read = reader_read;
	r->base.free = reader_free;
	r->st = S3(s);
	berth_buf_init(&r->win, READER_WINDOW);
	*size = r->size;
	*out = &r->base;
	return 0;
}

static int s3_redirect_url(berth_store *s, const berth_digest *d, unsigned expires, char **url)
{
	char key[S3_KEY_MAX];
	int rc;

	if (!S3(s)->redirect)
		return berth_error_set(BERTH_EUNSUPPORTED, "redirects are off");
	if ((rc = locate(S3(s), d, key, NULL)) < 0)
		return rc;
	return s3_presign_get(S3(s)->c, key, expires, url);
}

static size_t s3_op_stats_of(berth_store *s, berth_store_op_stats *out, size_t max)
{
	return s3_op_stats(S3(s)->c, out, max);
}

static void s3_stats(berth_store *s, berth_store_stats *out)
{
	s3_client *c = S3(s)->c;

	out->requests += atomic_load(&c->requests);
	out->retries += atomic_load(&c->retries);
	out->bytes_out += atomic_load(&c->bytes_out);
	out->bytes_in += atomic_load(&c->bytes_in);
}

/* ---- upload state ---- */

#define SHA_WORDS 28 /* h[8] Nl Nh data[16] num md_len */

static void sha_words(SHA256_CTX *c, unsigned int *w[SHA_WORDS])
{
	int i = 0;

	for (int k = 0; k < 8; k++)
		w[i++] = &c->h[k];
	w[i++] = &c->Nl;
	w[i++] = &c->Nh;
	for (int k = 0; k < SHA_LBLOCK; k++)
		w[i++] = &c->data[k];
	w[i++] = &c->num;
	w[i++] = &c->md_len;
}

static void sha_save(SHA256_CTX *c, char out[SHA_WORDS * 8 + 1])
{
	unsigned int *w[SHA_WORDS];

	sha_words(c, w);
	for (int i = 0; i < SHA_WORDS; i++)
		snprintf(out + 8 * i, 9, "%08x", *w[i]);
}

static int sha_load(SHA256_CTX *c, const char *in)
{
	unsigned int *w[SHA_WORDS];

	if (!in || strlen(in) != SHA_WORDS * 8)
		return -1;
	memset(c, 0, sizeof(*c));
	sha_words(c, w);
	for (int i = 0; i < SHA_WORDS; i++) {
		char part[9];
		char *end;

		memcpy(part, in + 8 * i, 8);
		part[8] = '\0';
		*w[i] = (unsigned int)strtoul(part, &end, 16);
		if (*end)
			return -1;
	}
	return c->num < SHA256_CBLOCK && c->md_len == SHA256_DIGEST_LENGTH ? 0 : -1;
}

static int state_save(s3_upload *u)
{
	s3_store *st = S3(u->base.store);
	char key[S3_KEY_MAX], sha[SHA_WORDS * 8 + 1];
	json_t *j = NULL, *parts = json_array();
	char *text = NULL;
	int rc;

	sha_save(&u->sha, sha);
	for (size_t i = 0; parts && i < u->nparts; i++)
		json_array_append_new(parts, json_string(u->etags[i]));
	j = json_pack("{s:i,s:I,s:I,s:I,s:s,s:o,s:s,s:s}", "v", 1, "started",
		      (json_int_t)u->started, "offset", (json_int_t)u->base.offset, "partsize",
		      (json_int_t)u->partsize, "mpu", u->mpu, "parts", parts, "tail", u->tail,
		      "sha256", sha);
	/* now owned by j */ parts = NULL;
	if (!j || !(text = json_dumps(j, JSON_COMPACT))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory saving upload %s", u->base.id);
		goto done;
	}
	upload_key(key, u->base.id, "state");
	rc = put_small(st, key, text, strlen(text));
done:
	free(text);
	json_decref(j);
	json_decref(parts);
	return rc;
}

static int state_parse(s3_upload *u, const berth_buf *b)
{
	json_t *j = json_loadb(b->ptr ? b->ptr : "", b->len, 0, NULL), *parts = NULL, *v;
	const char *mpu = NULL, *tail = NULL, *sha = NULL;
	json_int_t started = 0, offset = -1, partsize = 0;
	size_t i;
	int rc;

	if (!j ||
	    json_unpack(j, "{s:I,s:I,s:I,s:s,s:o,s:s,s:s}", "started", &started, "offset", &offset,
			"partsize", &partsize, "mpu", &mpu, "parts", &parts, "tail", &tail,
			"sha256", &sha) != 0 ||
	    offset < 0 || (uint64_t)partsize < BERTH_S3_PART_MIN ||
	    (uint64_t)partsize > BERTH_S3_PART_MAX || !json_is_array(parts) ||
	    json_array_size(parts) > PARTS_MAX || strlen(mpu) >= sizeof(u->mpu) ||
	    strlen(tail) >= sizeof(u->tail) || sha_load(&u->sha, sha) < 0 ||
	    (uint64_t)offset < (uint64_t)json_array_size(parts) * (uint64_t)partsize ||
	    (uint64_t)offset - (uint64_t)json_array_size(parts) * (uint64_t)partsize >=
		    (uint64_t)partsize) {
		rc = berth_error_set(BERTH_EIO, "upload %s: state object is damaged", u->base.id);
		goto done;
	}
	u->started = started;
	u->base.offset = (uint64_t)offset;
	u->partsize = (uint64_t)partsize;
	snprintf(u->mpu, sizeof(u->mpu), "%s", mpu);
	snprintf(u->tail, sizeof(u->tail), "%s", tail);
	if (!(u->etags = calloc(json_array_size(parts) + 1, sizeof(char *)))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	json_array_foreach(parts, i, v)
	{
		if (!json_is_string(v) || json_string_length(v) >= S3_ETAG_MAX ||
		    !(u->etags[i] = strdup(json_string_value(v)))) {
			rc = berth_error_set(BERTH_EIO, "upload %s: bad part in state", u->base.id);
			goto done;
		}
		u->nparts = i + 1;
	}
	rc = 0;
done:
	json_decref(j);
	return rc;
}

static int part_wait(s3_upload *u);

static void upload_dispose(s3_upload *u)
{
	if (part_wait(u) < 0)
		berth_error_clear(); /* the upload is dropped: its part no longer matters */
	if (u->spool >= 0)
		close(u->spool); /* readers keep their own descriptors */
	for (size_t i = 0; i < u->nparts; i++)
		free(u->etags[i]);
	free(u->etags);
	free(u->buf);
	free(u->spare);
	free(u);
}

/* Load the state (and the staged tail) of upload `id` into a new s3_upload. */
static int upload_load(s3_upload **out, berth_store *s, const char *id)
{
	s3_store *st = S3(s);
	berth_buf b = BERTH_BUF_INIT(STATE_MAX);
	char key[S3_KEY_MAX];
	s3_upload *u = calloc(1, sizeof(*u));
	int rc;

	*out = NULL;
	if (!u)
		return berth_error_set(BERTH_ERROR, "out of memory");
	u->base.store = s;
	u->spool = -1;
	memcpy(u->base.id, id, BERTH_UPLOAD_ID_MAX);
	upload_key(key, id, "state");
	if ((rc = get_small(st, key, &b)) < 0) {
		if (rc == BERTH_ENOTFOUND)
			rc = berth_error_set(BERTH_ENOTFOUND, "upload %s not found", id);
		goto done;
	}
	if ((rc = state_parse(u, &b)) < 0)
		goto done;
	u->len = (size_t)(u->base.offset - u->nparts * u->partsize);
	*out = u;
	/* now owned by the caller */ u = NULL;
	rc = 0;
done:
	if (u)
		upload_dispose(u);
	berth_buf_dispose(&b);
	return rc;
}

/* Fetch the staged tail into u->buf (allocated to partsize). */
static int tail_fetch(s3_upload *u)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc;

	if (!(u->buf = malloc(u->partsize)))
		return berth_error_set(BERTH_ERROR, "out of memory (upload part buffer)");
	if (u->len == 0)
		return 0;
	if (!*u->tail)
		return berth_error_set(BERTH_EIO, "upload %s: tail object missing", u->base.id);
	b.max = u->len;
	if ((rc = get_small(S3(u->base.store), u->tail, &b)) < 0) {
		berth_buf_dispose(&b);
		return rc;
	}
	if (b.len != u->len) {
		berth_buf_dispose(&b);
		return berth_error_set(BERTH_EIO, "upload %s: tail object has %zu bytes, not %zu",
				       u->base.id, b.len, u->len);
	}
	memcpy(u->buf, b.ptr, b.len);
	berth_buf_dispose(&b);
	return 0;
}

/* ---- busy set (one holder per upload in this process) ---- */

static int busy_take(s3_store *st, const char *id)
{
	struct busy *b, *n = malloc(sizeof(*n));
	int rc = 0;

	if (!n)
		return berth_error_set(BERTH_ERROR, "out of memory");
	pthread_mutex_lock(&st->mu);
	for (b = st->busy; b; b = b->next) {
		if (strcmp(b->id, id) == 0)
			break;
	}
	if (b) {
		rc = -1;
	} else {
		memcpy(n->id, id, BERTH_UPLOAD_ID_MAX);
		n->next = st->busy;
		st->busy = n;
		n = NULL;
	}
	pthread_mutex_unlock(&st->mu);
	free(n);
	if (rc)
		return berth_error_set(BERTH_EBUSY,
				       "upload %s is in use by another request; retry later", id);
	return 0;
}

static int busy_has(s3_store *st, const char *id)
{
	int found = 0;

	pthread_mutex_lock(&st->mu);
	for (struct busy *b = st->busy; b && !found; b = b->next)
		found = strcmp(b->id, id) == 0;
	pthread_mutex_unlock(&st->mu);
	return found;
}

static void busy_drop(s3_store *st, const char *id)
{
	struct busy **pp, *gone = NULL;

	pthread_mutex_lock(&st->mu);
	for (pp = &st->busy; *pp; pp = &(*pp)->next) {
		if (strcmp((*pp)->id, id) == 0) {
			gone = *pp;
			*pp = gone->next;
			break;
		}
	}
	pthread_mutex_unlock(&st->mu);
	free(gone);
}

/* ---- uploads ---- */

static int s3_upload_create(berth_store *s, const char *id)
{
	s3_upload u = {.base = {.store = s}, .partsize = S3(s)->partsize};

	memcpy(u.base.id, id, BERTH_UPLOAD_ID_MAX);
	u.started = (long long)time(NULL);
	SHA256_Init(&u.sha);
	return state_save(&u);
}

static int s3_upload_size(berth_store *s, const char *id, uint64_t *size)
{
	s3_upload *u = NULL;
	int rc;

	if ((rc = upload_load(&u, s, id)) < 0)
		return rc;
	*size = u->base.offset;
	upload_dispose(u);
	return 0;
}

static int s3_upload_open(berth_upload **out, berth_store *s, const char *id)
{
	s3_upload *u = NULL;
	int rc;

	if ((rc = busy_take(S3(s), id)) < 0)
		return rc;
	if ((rc = upload_load(&u, s, id)) < 0 || (rc = tail_fetch(u)) < 0) {
		busy_drop(S3(s), id);
		if (u)
			upload_dispose(u);
		return rc;
	}
	*out = &u->base;
	return 0;
}

static int start_multipart(s3_upload *u)
{
	s3_store *st = S3(u->base.store);
	berth_buf out = BERTH_BUF_INIT(S3_ERROR_BODY_MAX);
	char key[S3_KEY_MAX], id[UPLOAD_ID_Q_MAX];
	s3_req r = {.method = "POST",
		    .query = "uploads=",
		    .out = &out,
		    .storage_class = 1,
		    .content_type = "application/octet-stream"};
	char *esc = NULL;
	int rc;

	data_key(key, u->base.id);
	r.key = key;
	if ((rc = s3_do(st->c, &r)) < 0)
		goto done;
	if (s3_xml_value(out.ptr, "UploadId", id, sizeof(id)) < 0 || !*id ||
	    !(esc = curl_easy_escape(NULL, id, 0)) || strlen(esc) >= sizeof(u->mpu)) {
		rc = berth_error_set(BERTH_EIO, "S3 CreateMultipartUpload: no usable UploadId");
		goto done;
	}
	snprintf(u->mpu, sizeof(u->mpu), "%s", esc);
	rc = 0;
done:
	curl_free(esc);
	berth_buf_dispose(&out);
	return rc;
}

/* PUT one part; its ETag into etag[S3_ETAG_MAX]. */
static int part_put(s3_upload *u, const char *buf, size_t len, size_t number, char *etag)
{
	char key[S3_KEY_MAX], q[UPLOAD_ID_Q_MAX + 64];
	s3_req r = {.method = "PUT", .key = key, .query = q, .body = buf, .body_len = len};
	int rc;

	data_key(key, u->base.id);
	snprintf(q, sizeof(q), "partNumber=%zu&uploadId=%s", number, u->mpu);
	if ((rc = s3_do(S3(u->base.store)->c, &r)) < 0)
		return rc;
	if (!*r.etag)
		return berth_error_set(BERTH_EIO, "S3 UploadPart: no ETag in the answer");
	snprintf(etag, S3_ETAG_MAX, "%s", r.etag);
	return 0;
}

static void *part_main(void *arg)
{
	s3_upload *u = arg;

	u->send_rc = part_put(u, u->send_buf, u->send_len, u->send_number, u->send_etag);
	if (u->send_rc < 0) {
		/* The error slot is per thread: carried to part_wait's. */
		snprintf(u->send_err, sizeof(u->send_err), "%s", berth_error_last());
		u->send_rc = berth_error_last_code();
		if (u->send_rc >= 0)
			u->send_rc = BERTH_EIO;
	}
	return NULL;
}

/* Wait for the part in flight, if any; record its ETag. */
static int part_wait(s3_upload *u)
{
	if (!u->sending)
		return 0;
	pthread_join(u->sender, NULL);
	u->sending = 0;
	free(u->spare);
	u->spare = u->send_buf;
	u->send_buf = NULL;
	if (u->send_rc < 0) {
		u->failed = 1; /* the part's bytes are gone: the upload cannot go on */
		return berth_error_set(u->send_rc, "%s", u->send_err);
	}
	if (!(u->etags[u->send_number - 1] = strdup(u->send_etag)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

/* Send u->buf[0, len) as the next part: in the background, or at once if `wait`. */
static int part_send(s3_upload *u, int wait)
{
	char etag[S3_ETAG_MAX], **grown, *next = NULL;
	int rc;

	if ((rc = part_wait(u)) < 0)
		return rc;
	if (u->nparts >= PARTS_MAX)
		return berth_error_set(BERTH_ETOOBIG, "upload %s: over %d parts (raise chunksize)",
				       u->base.id, PARTS_MAX);
	if (!*u->mpu && (rc = start_multipart(u)) < 0)
		return rc;
	if (!(grown = realloc(u->etags, (u->nparts + 2) * sizeof(char *))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	u->etags = grown;
	u->etags[u->nparts] = NULL;
	if (!wait && (next = u->spare ? u->spare : malloc(u->partsize)) != NULL) {
		u->send_buf = u->buf;
		u->send_len = u->len;
		u->send_number = u->nparts + 1;
		if (pthread_create(&u->sender, NULL, part_main, u) == 0) {
			u->sending = 1;
			u->nparts++;
			u->spare = NULL;
			u->buf = next;
			u->len = 0;
			return 0;
		}
		u->send_buf = NULL;
		u->spare = next; /* kept for the next part */
	}
	/* At once: the last part, or no second buffer or thread to be had. */
	if ((rc = part_put(u, u->buf, u->len, u->nparts + 1, etag)) < 0)
		return rc;
	if (!(u->etags[u->nparts] = strdup(etag)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	u->nparts++;
	u->len = 0;
	return 0;
}

/* Append to the spool (readers see the bytes as soon as this returns). */
static int spool_write(s3_upload *u, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(u->spool, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return berth_error_set_errno("upload %s: writing its local copy",
						     u->base.id);
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int s3_upload_write(berth_upload *bu, const void *data, size_t len)
{
	s3_upload *u = (s3_upload *)bu;
	const char *p = data;
	int rc;

	if (u->spool >= 0 && (rc = spool_write(u, data, len)) < 0) {
		u->failed = 1;
		return rc;
	}

	while (len) {
		size_t n = u->partsize - u->len;

		if (n > len)
			n = len;
		memcpy(u->buf + u->len, p, n);
		SHA256_Update(&u->sha, p, n);
		u->len += n;
		bu->offset += n;
		u->dirty = 1;
		p += n;
		len -= n;
		if (u->len == u->partsize && (rc = part_send(u, 0)) < 0) {
			u->failed = 1;
			return rc;
		}
	}
	return 0;
}

/*
 * Readers of an upload being written (the pull-through mirror): S3 cannot
 * read back a multipart upload before it completes, so from the first
 * reader on, every byte written is also appended to a local unlinked file
 * (SPOOL_DIR_ENV or /var/tmp); a reader is a descriptor on it, which stays
 * readable after the commit and goes when the last reader closes it. Only
 * an upload with no bytes yet can be read this way.
 */
static int s3_upload_reader(berth_upload *bu, int *fd)
{
	s3_upload *u = (s3_upload *)bu;
	const char *dir = getenv(SPOOL_DIR_ENV);

	if (u->spool < 0) {
		if (bu->offset != 0)
			return berth_error_set(BERTH_EUNSUPPORTED,
					       "the s3 store reads back an upload only from its "
					       "first byte");
		if (!dir || !*dir)
			dir = SPOOL_DIR_DEFAULT;
		u->spool = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (u->spool < 0) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s/berth-spool-XXXXXX", dir);
			if ((u->spool = mkostemp(path, O_CLOEXEC)) >= 0)
				(void)unlink(path);
		}
		if (u->spool < 0)
			return berth_error_set_errno("upload %s: a local copy in %s", bu->id, dir);
	}
	if ((*fd = fcntl(u->spool, F_DUPFD_CLOEXEC, 0)) < 0)
		return berth_error_set_errno("upload %s: a reader of its local copy", bu->id);
	return 0;
}

/* Stage the tail as its own object and write the state that names it. */
static int s3_upload_sync(berth_upload *bu)
{
	s3_upload *u = (s3_upload *)bu;
	s3_store *st = S3(bu->store);
	char old[S3_KEY_MAX], leaf[64];
	int rc;

	if (u->failed)
		return berth_error_set(BERTH_EIO, "upload %s: an earlier write failed", bu->id);
	if ((rc = part_wait(u)) < 0)
		return rc;
	if (!u->dirty)
		return 0;
	snprintf(old, sizeof(old), "%s", u->tail);
	u->tail[0] = '\0';
	if (u->len) {
		s3_req r = {.method = "PUT", .body = u->buf, .body_len = u->len};

		snprintf(leaf, sizeof(leaf), "tail-%" PRIu64, bu->offset);
		upload_key(u->tail, bu->id, leaf);
		r.key = u->tail;
		if ((rc = s3_do(st->c, &r)) < 0)
			return rc;
	}
	if ((rc = state_save(u)) < 0)
		return rc;
	u->dirty = 0;
	if (*old && strcmp(old, u->tail) != 0)
		(void)delete_key(st, old); /* best effort: purge removes leftovers */
	berth_error_clear();
	return 0;
}

/* Drop every object of an upload but the data; abort its multipart upload. */
static void upload_remove(s3_store *st, const char *id, const char *mpu, const char *tail)
{
	char key[S3_KEY_MAX], q[UPLOAD_ID_Q_MAX + 16], state[S3_KEY_MAX], tk[S3_KEY_MAX];
	char *keys[2] = {state, tk};

	if (mpu && *mpu) {
		s3_req r = {.method = "DELETE", .key = key, .query = q};

		data_key(key, id);
		snprintf(q, sizeof(q), "uploadId=%s", mpu);
		if (s3_do(st->c, &r) < 0)
			berth_error_clear(); /* an aborted upload's parts expire */
	}
	upload_key(state, id, "state");
	snprintf(tk, sizeof(tk), "%s", tail ? tail : "");
	/* One DeleteObjects for the state and the staged tail. */
	if (delete_batch(st, keys, *tk ? 2 : 1) < 0)
		berth_error_clear(); /* the purge removes leftovers */
}

static int complete_multipart(s3_upload *u)
{
	s3_store *st = S3(u->base.store);
	berth_buf xml = BERTH_BUF_INIT(0);
	char key[S3_KEY_MAX], q[UPLOAD_ID_Q_MAX + 16];
	s3_req r = {.method = "POST", .key = key, .query = q, .sign_body = 1};
	int rc;

	if ((rc = berth_buf_puts(&xml, "<CompleteMultipartUpload>")) < 0)
		goto done;
	for (size_t i = 0; i < u->nparts; i++) {
		if ((rc = berth_buf_printf(
			     &xml, "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
			     i + 1, u->etags[i])) < 0)
			goto done;
	}
	if ((rc = berth_buf_puts(&xml, "</CompleteMultipartUpload>")) < 0)
		goto done;
	data_key(key, u->base.id);
	snprintf(q, sizeof(q), "uploadId=%s", u->mpu);
	rc = post_xml(st, &r, &xml, "CompleteMultipartUpload");
done:
	berth_buf_dispose(&xml);
	return rc;
}

/* Write the data object: the last part and completion, or one PUT. */
static int write_data(s3_upload *u)
{
	char key[S3_KEY_MAX];
	int rc;

	if (!*u->mpu) {
		s3_req r = {.method = "PUT",
			    .key = key,
			    .body = u->buf,
			    .body_len = u->len,
			    .storage_class = 1,
			    .content_type = "application/octet-stream"};

		data_key(key, u->base.id);
		return s3_do(S3(u->base.store)->c, &r);
	}
	if ((u->len && (rc = part_send(u, 1)) < 0) || (rc = part_wait(u)) < 0)
		return rc;
	return complete_multipart(u);
}

/* `hashed` changes nothing: the hash state is kept for the saved state anyway. */
static int s3_upload_commit(berth_upload *bu, const berth_digest *expected, int hashed,
			    uint64_t *size_out)
{
	s3_upload *u = (s3_upload *)bu;
	s3_store *st = S3(bu->store);
	SHA256_CTX fin = u->sha;
	unsigned char md[SHA256_DIGEST_LENGTH];
	berth_digest actual = {.algo = BERTH_DIGEST_SHA256};
	char key[S3_KEY_MAX];
	int rc;

	(void)hashed;
	if (expected->algo != BERTH_DIGEST_SHA256) {
		rc = berth_error_set(BERTH_EUNSUPPORTED,
				     "the s3 store verifies uploads by sha256 only");
		goto done;
	}
	/* Nothing goes on while a part is in flight; a failed part fails the upload. */
	if ((rc = part_wait(u)) < 0)
		goto done;
	if (u->failed) {
		rc = berth_error_set(BERTH_EIO, "upload %s: an earlier write failed", bu->id);
		goto done;
	}
	SHA256_Final(md, &fin);
	memcpy(actual.str, "sha256:", 7);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(actual.str + 7 + 2 * i, 3, "%02x", md[i]);
	if (!berth_digest_equal(&actual, expected)) {
		/* Nothing partial is kept: the upload goes, then the error is set. */
		upload_remove(st, bu->id, u->mpu, u->tail);
		rc = berth_error_set(BERTH_EDIGEST, "digest mismatch: expected %s, content is %s",
				     expected->str, actual.str);
		goto done;
	}
	rc = locate(st, expected, NULL, NULL);
	if (rc == 0) {
		/* Already stored: this copy is not needed. */
		upload_remove(st, bu->id, u->mpu, u->tail);
	} else if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		if ((rc = write_data(u)) < 0)
			goto done;
		data_key(key, bu->id);
		/* The blob becomes visible here, verified and complete. */
		if ((rc = write_index(st, expected, key, bu->offset)) < 0)
			goto done;
		upload_remove(st, bu->id, NULL, u->tail);
	} else {
		goto done;
	}
	berth_error_clear();
	u->dirty = 0;
	if (size_out)
		*size_out = bu->offset;
	rc = 0;
done:
	u->dirty = 0; /* a failed commit leaves the last synced state */
	return rc;
}

static void s3_upload_release(berth_upload *bu)
{
	s3_upload *u = (s3_upload *)bu;

	/* Bytes written but not synced are kept if possible (they were hashed). */
	if (u->dirty && !u->failed && s3_upload_sync(bu) < 0)
		berth_error_clear();
	busy_drop(S3(bu->store), bu->id);
	upload_dispose(u);
}

static int s3_upload_delete(berth_store *s, const char *id)
{
	s3_upload *u = NULL;
	int rc;

	if (busy_has(S3(s), id))
		return berth_error_set(BERTH_EBUSY, "upload %s is in use; retry later", id);
	if ((rc = upload_load(&u, s, id)) < 0)
		return rc;
	upload_remove(S3(s), id, u->mpu, u->tail);
	berth_error_clear();
	upload_dispose(u);
	return 0;
}

/* Upload ids under uploads/ of one ListObjectsV2 page; the next token, if any. */
static int list_page(s3_store *st, const char *prefix, const char *token, berth_buf *out)
{
	char q[2048];
	char *esc_p = curl_easy_escape(NULL, prefix, 0);
	char *esc_t = token ? curl_easy_escape(NULL, token, 0) : NULL;
	s3_req r = {.method = "GET", .query = q, .out = out};
	int rc;

	if (!esc_p || (token && !esc_t)) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	/* In byte order, values escaped: libcurl 7.88 signs the query as given. */
	snprintf(q, sizeof(q), "%s%s%slist-type=2&prefix=%s", esc_t ? "continuation-token=" : "",
		 esc_t ? esc_t : "", esc_t ? "&" : "", esc_p);
	rc = s3_do(st->c, &r);
done:
	curl_free(esc_p);
	curl_free(esc_t);
	return rc;
}

/* Purge one upload found by listing, if old and unheld. 1 if purged. */
static int purge_one(berth_store *s, const char *id, time_t cutoff)
{
	s3_upload *u = NULL;
	int purged = 0;

	if (busy_has(S3(s), id) || upload_load(&u, s, id) < 0)
		return 0;
	if (u->started < (long long)cutoff) {
		upload_remove(S3(s), id, u->mpu, u->tail);
		purged = 1;
	}
	upload_dispose(u);
	return purged;
}

static int s3_upload_purge(berth_store *s, time_t cutoff, int *purged)
{
	s3_store *st = S3(s);
	berth_buf page = BERTH_BUF_INIT(LIST_MAX);
	char prefix[S3_KEY_MAX], token[1024] = "", key[S3_KEY_MAX];
	int rc, more;

	*purged = 0;
	snprintf(prefix, sizeof(prefix), "%suploads/", st->c->root);
	do {
		const char *p;

		berth_buf_reset(&page);
		if ((rc = list_page(st, prefix, *token ? token : NULL, &page)) < 0)
			goto done;
		for (p = page.ptr; p && (p = strstr(p, "<Key>")) != NULL; p += 5) {
			const char *k = p + 5 + strlen(prefix);
			char id[BERTH_UPLOAD_ID_MAX];

			if (s3_xml_value(p, "Key", key, sizeof(key)) < 0)
				continue;
			if (strlen(key) != strlen(prefix) + 36 + 6 ||
			    strcmp(key + strlen(prefix) + 36, "/state") != 0)
				continue;
			memcpy(id, k, 36);
			id[36] = '\0';
			if (berth_store_upload_id_valid(id))
				*purged += purge_one(s, id, cutoff);
		}
		more = page.ptr && strstr(page.ptr, "<IsTruncated>true</IsTruncated>") &&
		       s3_xml_value(page.ptr, "NextContinuationToken", token, sizeof(token)) == 0;
	} while (more);
	berth_error_clear();
	rc = 0;
done:
	berth_buf_dispose(&page);
	return rc;
}

/* ---- garbage collection (rules in include/berth/store.h) ---- */

typedef struct s3_gc {
	berth_store *s;
	s3_store *st;
	const berth_store_gc_opts *o;
	berth_store_gc_stats *stats;
	json_t *live;	/* data keys an index names: "data/<id>" -> true */
	json_t *states; /* upload ids with a state object -> true */
	char *batch[DELETE_BATCH];
	berth_digest digests[DELETE_BATCH]; /* of the blob candidates in batch */
	size_t n;
} s3_gc;

/* One <Contents> (or <Upload>) entry of a listing. */
typedef struct s3_entry {
	char key[S3_KEY_MAX]; /* relative to the root */
	time_t when;	      /* LastModified (or Initiated) */
	uint64_t size;
} s3_entry;

static time_t parse_when(const char *text)
{
	struct tm tm = {0};
	const char *end = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);

	return end ? timegm(&tm) : (time_t)0;
}

/* Parse the entry starting at `p` (inside <tag>...</tag>); 0, or -1 to skip. */
static int entry_parse(s3_store *st, const char *p, const char *when_tag, s3_entry *e)
{
	char key[S3_KEY_MAX + 256], when[64], size[32] = "";
	size_t rootlen = strlen(st->c->root);

	if (s3_xml_value(p, "Key", key, sizeof(key)) < 0 ||
	    s3_xml_value(p, when_tag, when, sizeof(when)) < 0 ||
	    strncmp(key, st->c->root, rootlen) != 0 || strlen(key + rootlen) >= S3_KEY_MAX)
		return -1;
	(void)s3_xml_value(p, "Size", size, sizeof(size));
	snprintf(e->key, sizeof(e->key), "%s", key + rootlen);
	e->when = parse_when(when);
	e->size = strtoull(size, NULL, 10);
	return 0;
}

/* Send the batch: blob candidates are asked about once more first. */
static int gc_flush(s3_gc *g, int blobs)
{
	size_t keep = 0;
	int rc = 0;

	for (size_t i = 0; i < g->n && rc == 0; i++) {
		int ref = blobs ? g->o->referenced(g->o->ctx, &g->digests[i]) : 0;

		if (ref < 0) {
			rc = ref;
		} else if (ref > 0) {
			g->stats->kept_referenced++;
			free(g->batch[i]);
		} else {
			g->batch[keep] = g->batch[i];
			g->digests[keep++] = g->digests[i];
		}
	}
	for (size_t i = keep; rc < 0 && i < g->n; i++)
		free(g->batch[i]);
	if (rc == 0 && keep && !g->o->dry_run)
		rc = delete_batch(g->st, g->batch, keep);
	for (size_t i = 0; i < keep; i++) {
		if (rc == 0 && blobs) {
			g->stats->blobs_deleted++;
			if (g->o->report)
				g->o->report(g->o->ctx, BERTH_STORE_GC_BLOB, g->digests[i].str, 0);
		}
		free(g->batch[i]);
	}
	g->n = 0;
	return rc;
}

static int gc_queue(s3_gc *g, const char *key, const berth_digest *d, int blobs)
{
	if (!(g->batch[g->n] = strdup(key)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (d)
		g->digests[g->n] = *d;
	if (++g->n == DELETE_BATCH)
		return gc_flush(g, blobs);
	return 0;
}

/* "blobs/<algo>/<2 hex>/<hex>" -> digest. */
static int index_digest(const char *key, berth_digest *d)
{
	const char *algo = key + 6, *slash = strchr(algo, '/'), *hex;
	char text[8 + 128 + 1];
	int n;

	if (strncmp(key, "blobs/", 6) != 0 || !slash || !(hex = strrchr(key, '/')))
		return -1;
	n = snprintf(text, sizeof(text), "%.*s:%s", (int)(slash - algo), algo, hex + 1);
	if (n <= 0 || (size_t)n >= sizeof(text) || berth_digest_parse(d, text, (size_t)n) < 0) {
		berth_error_clear();
		return -1;
	}
	return 0;
}

/* Every entry of every page of a listing under `sub` (relative to the root). */
static int list_all(s3_gc *g, const char *sub, int (*fn)(s3_gc *g, const s3_entry *e))
{
	berth_buf page = BERTH_BUF_INIT(LIST_MAX);
	char prefix[S3_KEY_MAX], token[1024] = "";
	int rc, more;

	snprintf(prefix, sizeof(prefix), "%s%s", g->st->c->root, sub);
	do {
		berth_buf_reset(&page);
		if ((rc = list_page(g->st, prefix, *token ? token : NULL, &page)) < 0)
			goto done;
		for (const char *p = page.ptr; p && (p = strstr(p, "<Contents>")) != NULL;
		     p += 10) {
			s3_entry e;

			if (entry_parse(g->st, p, "LastModified", &e) == 0 && (rc = fn(g, &e)) < 0)
				goto done;
		}
		more = page.ptr && strstr(page.ptr, "<IsTruncated>true</IsTruncated>") &&
		       s3_xml_value(page.ptr, "NextContinuationToken", token, sizeof(token)) == 0;
	} while (more);
	rc = 0;
done:
	berth_buf_dispose(&page);
	return rc;
}

static int set_add(json_t *set, const char *key)
{
	return json_object_set_new(set, key, json_true()) == 0
		       ? 0
		       : berth_error_set(BERTH_ERROR, "out of memory");
}

/* An upload's state object: its data object is in use. */
static int gc_state(s3_gc *g, const s3_entry *e)
{
	char id[BERTH_UPLOAD_ID_MAX];

	if (strlen(e->key) != 8 + 36 + 6 || strcmp(e->key + 8 + 36, "/state") != 0)
		return 0;
	memcpy(id, e->key + 8, 36);
	id[36] = '\0';
	return set_add(g->states, id);
}

static int gc_index(s3_gc *g, const s3_entry *e)
{
	char dkey[S3_KEY_MAX];
	berth_digest d;
	int rc;

	if (index_digest(e->key, &d) < 0)
		return 0; /* not ours */
	g->stats->blobs++;
	if (e->when >= g->o->grace_cutoff) {
		g->stats->kept_young++;
	} else if ((rc = g->o->referenced(g->o->ctx, &d)) < 0) {
		return rc;
	} else if (rc == 0) {
		return gc_queue(g, e->key, &d, 1); /* its data object goes with the data sweep */
	} else {
		g->stats->kept_referenced++;
	}
	rc = locate(g->st, &d, dkey, NULL);
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear(); /* deleted meanwhile */
		return 0;
	}
	return rc < 0 ? rc : set_add(g->live, dkey);
}

static int gc_data(s3_gc *g, const s3_entry *e)
{
	const char *id = e->key + 5;

	if (strncmp(e->key, "data/", 5) != 0 || json_object_get(g->live, e->key) ||
	    json_object_get(g->states, id) || e->when >= g->o->grace_cutoff)
		return 0;
	g->stats->data_deleted++;
	g->stats->bytes_deleted += e->size;
	if (g->o->report)
		g->o->report(g->o->ctx, BERTH_STORE_GC_DATA, e->key, e->size);
	return gc_queue(g, e->key, NULL, 0);
}

/* Abort one stale multipart upload found by ListMultipartUploads. */
static int gc_abort(s3_gc *g, const char *p)
{
	char upid[UPLOAD_ID_Q_MAX], q[UPLOAD_ID_Q_MAX + 16];
	char *esc = NULL;
	s3_entry e;
	s3_req r = {.method = "DELETE", .key = e.key, .query = q};
	int rc = 0;

	if (entry_parse(g->st, p, "Initiated", &e) < 0 || strncmp(e.key, "data/", 5) != 0 ||
	    s3_xml_value(p, "UploadId", upid, sizeof(upid)) < 0 ||
	    json_object_get(g->states, e.key + 5) || e.when >= g->o->upload_cutoff)
		return 0;
	if (!(esc = curl_easy_escape(NULL, upid, 0)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	snprintf(q, sizeof(q), "uploadId=%s", esc);
	curl_free(esc);
	if (!g->o->dry_run && (rc = s3_do(g->st->c, &r)) == BERTH_ENOTFOUND) {
		berth_error_clear(); /* completed or aborted meanwhile */
		return 0;
	}
	if (rc < 0)
		return rc;
	g->stats->multipart_aborted++;
	if (g->o->report)
		g->o->report(g->o->ctx, BERTH_STORE_GC_MULTIPART, e.key, 0);
	return 0;
}

static int gc_multipart(s3_gc *g)
{
	berth_buf page = BERTH_BUF_INIT(LIST_MAX);
	char q[4096], km[1024] = "", um[1024] = "";
	char *esc_p = curl_easy_escape(NULL, g->st->c->root, 0), *esc_k = NULL, *esc_u = NULL;
	s3_req r = {.method = "GET", .query = q, .out = &page};
	int rc, more;

	do {
		esc_k = curl_easy_escape(NULL, km, 0);
		esc_u = curl_easy_escape(NULL, um, 0);
		if (!esc_p || !esc_k || !esc_u) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		/* Keys in byte order (libcurl 7.88 signs the query as given). */
		snprintf(q, sizeof(q),
			 "%s%s%sprefix=%sdata%%2F%s%s%suploads=", *km ? "key-marker=" : "", esc_k,
			 *km ? "&" : "", esc_p, *um ? "&upload-id-marker=" : "", esc_u,
			 *um ? "&" : "&");
		curl_free(esc_k);
		curl_free(esc_u);
		esc_k = esc_u = NULL;
		berth_buf_reset(&page);
		if ((rc = s3_do(g->st->c, &r)) < 0)
			goto done;
		for (const char *p = page.ptr; p && (p = strstr(p, "<Upload>")) != NULL; p += 8)
			if ((rc = gc_abort(g, p)) < 0)
				goto done;
		more = page.ptr && strstr(page.ptr, "<IsTruncated>true</IsTruncated>") &&
		       s3_xml_value(page.ptr, "NextKeyMarker", km, sizeof(km)) == 0 &&
		       s3_xml_value(page.ptr, "NextUploadIdMarker", um, sizeof(um)) == 0 && *km;
	} while (more);
	rc = 0;
done:
	curl_free(esc_p);
	curl_free(esc_k);
	curl_free(esc_u);
	berth_buf_dispose(&page);
	return rc;
}

static int s3_gc_run(berth_store *s, const berth_store_gc_opts *o, berth_store_gc_stats *st)
{
	s3_gc g = {.s = s, .st = S3(s), .o = o, .stats = st};
	int rc;

	if (!(g.live = json_object()) || !(g.states = json_object())) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	/* States first: a data object whose upload is live is never swept. */
	if ((rc = list_all(&g, "uploads/", gc_state)) < 0 ||
	    (rc = list_all(&g, "blobs/", gc_index)) < 0 || (rc = gc_flush(&g, 1)) < 0 ||
	    (rc = list_all(&g, "data/", gc_data)) < 0 || (rc = gc_flush(&g, 0)) < 0 ||
	    (rc = gc_multipart(&g)) < 0)
		goto done;
	rc = 0;
done:
	for (size_t i = 0; i < g.n; i++)
		free(g.batch[i]);
	json_decref(g.live);
	json_decref(g.states);
	return rc;
}

static const berth_store__driver s3_driver = {
	.name = "s3",
	.free = s3_free,
	.stat = s3_stat,
	.open_blob = s3_open_blob,
	.read_blob = s3_read_blob,
	.put = s3_put,
	.delete_blob = s3_delete_blob,
	.upload_create = s3_upload_create,
	.upload_size = s3_upload_size,
	.upload_open = s3_upload_open,
	.upload_write = s3_upload_write,
	.upload_reader = s3_upload_reader,
	.upload_sync = s3_upload_sync,
	.upload_commit = s3_upload_commit,
	.upload_release = s3_upload_release,
	.upload_delete = s3_upload_delete,
	.upload_purge = s3_upload_purge,
	.reader_open = s3_reader_open,
	.redirect_url = s3_redirect_url,
	.stats = s3_stats,
	.op_stats = s3_op_stats_of,
	.gc = s3_gc_run,
};
