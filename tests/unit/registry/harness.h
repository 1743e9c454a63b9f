/*
 * harness.h - shared by the registry unit tests: a real store and meta in a
 * temporary directory, a fake berth_req whose header and query lookups come
 * from small tables, and a runner that drives begin/body/finish/free and
 * copies the response (memory or fd range) so that tests can inspect it
 * after the op is gone.
 *
 * Included by each tests/unit/registry/<aspect>.c (each one executable).
 */
#ifndef BERTH_TEST_REGISTRY_HARNESS_H
#define BERTH_TEST_REGISTRY_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "berth/digest.h"
#include "berth/meta.h"
#include "berth/oci.h"
#include "berth/registry.h"
#include "berth/store.h"
#include "util/fs.h"

typedef struct {
	const char *name;
	const char *value;
} kv;

typedef struct {
	const kv *headers; /* terminated by {NULL, NULL}; may be NULL */
	const kv *query;
} fake_ctx;

static inline const char *kv_find(const kv *t, const char *name, int nocase)
{
	for (; t && t->name; t++)
		if (nocase ? strcasecmp(t->name, name) == 0 : strcmp(t->name, name) == 0)
			return t->value;
	return NULL;
}

static inline const char *fake_header(void *ctx, const char *name)
{
	return kv_find(((fake_ctx *)ctx)->headers, name, 1);
}

static inline const char *fake_query(void *ctx, const char *name)
{
	return kv_find(((fake_ctx *)ctx)->query, name, 0);
}

typedef struct {
	char dir[64];
	berth_store *store;
	berth_meta *meta;
	berth_registry *reg;
	berth_registry_config cfg;
} env;

typedef struct {
	int status;
	char *body; /* NUL-terminated copy */
	size_t body_len;
	int head;
	uint64_t head_length;
	size_t nheaders;
	char *hname[BERTH_RESP_MAX_HEADERS];
	char *hvalue[BERTH_RESP_MAX_HEADERS];
	char route[64];
	uint64_t bytes_in;
	int stopped_early; /* the op failed before the whole body was fed */
} result;

static inline int env_open(env *e)
{
	char path[128];

	snprintf(e->dir, sizeof(e->dir), "/tmp/berth-registry-XXXXXX");
	if (!mkdtemp(e->dir))
		return -1;
	snprintf(path, sizeof(path), "%s/store", e->dir);
	if (berth_store_open(&e->store, path) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/meta.db", e->dir);
	if (berth_meta_open(&e->meta, path) != 0)
		return -1;
	return berth_registry_new(&e->reg, e->store, e->meta, &e->cfg);
}

static inline int env_setup(void **state)
{
	env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	berth_registry_config_defaults(&e->cfg);
	e->cfg.max_manifest_bytes = 64 * 1024;
	*state = e;
	return env_open(e);
}

static inline int env_teardown(void **state)
{
	env *e = *state;
	int rc;

	berth_registry_free(e->reg);
	berth_meta_free(e->meta);
	berth_store_free(e->store);
	rc = berth_fs_remove_tree(e->dir);
	free(e);
	return rc;
}

static inline void result_free(result *r)
{
	free(r->body);
	for (size_t i = 0; i < r->nheaders; i++) {
		free(r->hname[i]);
		free(r->hvalue[i]);
	}
	memset(r, 0, sizeof(*r));
}

static inline const char *result_header(const result *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->hname[i], name) == 0)
			return r->hvalue[i];
	return NULL;
}

static inline void copy_response(result *out, const berth_resp *resp)
{
	out->status = resp->status;
	out->head = resp->head;
	out->head_length = resp->head_length;
	out->bytes_in = resp->bytes_in;
	snprintf(out->route, sizeof(out->route), "%s", resp->route ? resp->route : "");
	out->nheaders = resp->nheaders;
	for (size_t i = 0; i < resp->nheaders; i++) {
		out->hname[i] = strdup(resp->headers[i].name);
		out->hvalue[i] = strdup(resp->headers[i].value);
	}
	if (resp->fd >= 0) {
		out->body_len = resp->fd_length;
		out->body = calloc(1, out->body_len + 1);
		assert_non_null(out->body);
		assert_int_equal(pread(resp->fd, out->body, out->body_len, (off_t)resp->fd_offset),
				 (ssize_t)out->body_len);
	} else {
		out->body_len = resp->body_len;
		out->body = calloc(1, out->body_len + 1);
		assert_non_null(out->body);
		if (resp->body_len)
			memcpy(out->body, resp->body, resp->body_len);
	}
}

/*
 * Run one request. `body` is fed in pieces of `piece` bytes (0 = at once);
 * `with_length` says whether Content-Length is announced.
 */
static inline void run_ex(env *e, const char *method, const char *path, const kv *headers,
			  const kv *query, const void *body, size_t len, int with_length,
			  size_t piece, result *out)
{
	fake_ctx ctx = {headers, query};
	berth_req req = {method, path,	      fake_header, fake_query, &ctx, with_length, len,
			 NULL,	 "127.0.0.1", "test",	   NULL,       NULL, NULL};
	berth_resp resp;
	berth_exchange *op = NULL;
	size_t off = 0;

	memset(out, 0, sizeof(*out));
	assert_int_equal(berth_registry_begin(e->reg, &req, &op), 0);
	assert_non_null(op);
	if (piece == 0)
		piece = len ? len : 1;
	while (off < len && berth_exchange_wants_body(op)) {
		size_t n = len - off < piece ? len - off : piece;

		if (berth_exchange_body(op, (const char *)body + off, n))
			break;
		off += n;
	}
	out->stopped_early = off < len;
	memset(&resp, 0, sizeof(resp));
	berth_exchange_finish(op, &resp);
	copy_response(out, &resp);
	berth_exchange_free(op);
}

static inline void run(env *e, const char *method, const char *path, const kv *headers,
		       const kv *query, const void *body, size_t len, result *out)
{
	run_ex(e, method, path, headers, query, body, len, body != NULL, 0, out);
}

/* The "code" of the first error of an OCI error body (static storage). */
static inline const char *error_code(const result *r)
{
	static char code[64];
	json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
	const char *c = NULL;

	code[0] = '\0';
	if (j)
		c = json_string_value(
			json_object_get(json_array_get(json_object_get(j, "errors"), 0), "code"));
	snprintf(code, sizeof(code), "%s", c ? c : "");
	json_decref(j);
	return code;
}

/* Push a blob monolithically into `repo`; `digest_out` gets its digest. */
static inline void push_blob(env *e, const char *repo, const void *data, size_t len,
			     berth_digest *digest_out)
{
	char path[512];
	result r;

	assert_int_equal(berth_digest_compute(digest_out, BERTH_DIGEST_SHA256, data, len), 0);
	snprintf(path, sizeof(path), "/v2/%s/blobs/uploads/", repo);
	kv q[] = {{"digest", digest_out->str}, {NULL, NULL}};
	run(e, "POST", path, NULL, q, data, len, &r);
	assert_int_equal(r.status, 201);
	result_free(&r);
}

/* Text of an OCI image manifest with the given config and one layer. */
static inline char *image_manifest(const berth_digest *config, size_t config_size,
				   const berth_digest *layer, size_t layer_size, const char *extra)
{
	char *s = NULL;

	assert_true(
		asprintf(&s,
			 "{\"schemaVersion\":2,"
			 "\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
			 "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
			 "\"digest\":\"%s\",\"size\":%zu},"
			 "\"layers\":[{\"mediaType\":\"application/"
			 "vnd.oci.image.layer.v1.tar+gzip\","
			 "\"digest\":\"%s\",\"size\":%zu}]%s}",
			 config->str, config_size, layer->str, layer_size, extra ? extra : "") > 0);
	return s;
}

static const kv oci_manifest_ct[] __attribute__((unused)) = {
	{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}, {NULL, NULL}};

/* Push config + layer blobs and an image manifest under `reference`. */
static inline void push_image(env *e, const char *repo, const char *reference,
			      const char *layer_text, const char *extra,
			      berth_digest *manifest_digest)
{
	berth_digest cd, ld;
	const char *config = "{\"architecture\":\"amd64\",\"os\":\"linux\"}";
	char path[512];
	char *m;
	result r;

	push_blob(e, repo, config, strlen(config), &cd);
	push_blob(e, repo, layer_text, strlen(layer_text), &ld);
	m = image_manifest(&cd, strlen(config), &ld, strlen(layer_text), extra);
	snprintf(path, sizeof(path), "/v2/%s/manifests/%s", repo, reference);
	run(e, "PUT", path, oci_manifest_ct, NULL, m, strlen(m), &r);
	assert_int_equal(r.status, 201);
	if (manifest_digest)
		assert_int_equal(
			berth_digest_compute(manifest_digest, BERTH_DIGEST_SHA256, m, strlen(m)),
			0);
	result_free(&r);
	free(m);
}

#endif
