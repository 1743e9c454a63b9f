/*
 * fuzz_blobrange.c - libFuzzer target for Range and Content-Range as the
 * registry serves them (src/lib/registry/blobs.c, uploads.c): the header
 * parsers of fuzz_range.c, here together with what the server answers,
 * over a real store and database holding one 1000-byte blob.
 *
 * Input layout: the first byte picks the request, the rest is the header
 * value. Even: GET of the blob with `Range: <value>`. Odd: a PATCH of a
 * fresh upload session with `Content-Range: <value>` and a body of
 * (first byte / 2) % 16 bytes, then the session is deleted.
 *
 * Invariants: a GET answers 200 with the whole blob, 206 with a
 * Content-Range "bytes a-b/1000" that matches the bytes sent (a <= b < 1000),
 * or 416 with "bytes * /1000"; a PATCH answers 202 with Range "0-<n-1>" (the
 * chunk taken whole, n > 0), 400 or 416; nothing answers 5xx.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "berth/registry.h"
#include "util/fs.h"

#define BLOB_SIZE 1000
#define REPO "fuzz/app"

typedef struct {
	char dir[64];
	berth_store *store;
	berth_meta *meta;
	berth_registry *reg;
	char blob_path[160];
} env;

static env E;

typedef struct {
	const char *hname;
	const char *hvalue;
	const char *digest; /* ?digest= */
} req_ctx;

static const char *header(void *ctx, const char *name)
{
	req_ctx *c = ctx;

	return c->hname && strcasecmp(name, c->hname) == 0 ? c->hvalue : NULL;
}

static const char *query(void *ctx, const char *name)
{
	req_ctx *c = ctx;

	return strcmp(name, "digest") == 0 ? c->digest : NULL;
}

static const char *resp_header(const berth_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->headers[i].name, name) == 0)
			return r->headers[i].value;
	return NULL;
}

/* Run one request; *resp stays valid until the returned exchange is freed. */
static berth_exchange *run(const char *method, const char *path, req_ctx *c, const char *body,
			   size_t len, berth_resp *resp)
{
	berth_req r;
	berth_exchange *x = NULL;

	memset(&r, 0, sizeof(r));
	r.method = method;
	r.path = path;
	r.header = header;
	r.query = query;
	r.ctx = c;
	r.has_body_length = 1;
	r.body_length = len;
	r.remote_addr = "192.0.2.9";
	r.request_id = "fuzz";
	if (berth_registry_begin(E.reg, &r, &x) != 0 || !x)
		abort();
	if (len && berth_exchange_wants_body(x))
		(void)berth_exchange_body(x, body, len);
	memset(resp, 0, sizeof(*resp));
	berth_exchange_finish(x, resp);
	if (resp->status >= 500) {
		fprintf(stderr, "%s %s answered %d\n", method, path, resp->status);
		abort();
	}
	return x;
}

static void cleanup(void)
{
	berth_registry_free(E.reg);
	berth_meta_free(E.meta);
	berth_store_free(E.store);
	if (E.dir[0] && berth_fs_remove_tree(E.dir) != 0)
		fprintf(stderr, "fuzz cleanup: %s\n", berth_error_last());
}

static void setup(void)
{
	char path[128], blob[BLOB_SIZE];
	berth_digest d;
	berth_resp resp;
	req_ctx c = {NULL, NULL, NULL};

	snprintf(E.dir, sizeof(E.dir), "/tmp/berth-fuzz-XXXXXX");
	if (!mkdtemp(E.dir))
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%.63s/store", E.dir);
	if (berth_store_open(&E.store, path) != 0)
		abort();
	snprintf(path, sizeof(path), "%.63s/meta.db", E.dir);
	if (berth_meta_open(&E.meta, path) != 0 ||
	    berth_registry_new(&E.reg, E.store, E.meta, NULL) != 0)
		abort();
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (char)('a' + i % 26);
	if (berth_digest_compute(&d, BERTH_DIGEST_SHA256, blob, sizeof(blob)) != 0)
		abort();
	c.digest = d.str;
	berth_exchange_free(
		run("POST", "/v2/" REPO "/blobs/uploads/", &c, blob, sizeof(blob), &resp));
	if (resp.status != 201)
		abort();
	snprintf(E.blob_path, sizeof(E.blob_path), "/v2/" REPO "/blobs/%s", d.str);
}

static void check_get(const char *range)
{
	req_ctx c = {"Range", range, NULL};
	berth_resp resp;
	berth_exchange *x = run("GET", E.blob_path, &c, NULL, 0, &resp);
	const char *cr = resp_header(&resp, "Content-Range");
	uint64_t a, b, total;

	if (resp.status == 200) {
		if (resp.fd < 0 || resp.fd_offset != 0 || resp.fd_length != BLOB_SIZE)
			abort();
	} else if (resp.status == 206) {
		if (!cr ||
		    sscanf(cr, "bytes %" SCNu64 "-%" SCNu64 "/%" SCNu64, &a, &b, &total) != 3)
			abort();
		if (!(a <= b && b < BLOB_SIZE && total == BLOB_SIZE && resp.fd_offset == a &&
		      resp.fd_length == b - a + 1))
			abort();
	} else if (resp.status == 416) {
		if (!cr || strcmp(cr, "bytes */1000") != 0)
			abort();
	} else {
		abort();
	}
	berth_exchange_free(x);
}

static void check_patch(const char *content_range, size_t n)
{
	static const char chunk[16] = "0123456789abcdef";
	req_ctx start = {NULL, NULL, NULL}, c = {"Content-Range", content_range, NULL};
	char session[512], want[32];
	berth_resp resp;
	berth_exchange *x = run("POST", "/v2/" REPO "/blobs/uploads/", &start, NULL, 0, &resp);
	const char *loc = resp_header(&resp, "Location"), *range;

	if (resp.status != 202 || !loc || !strstr(loc, "/v2/"))
		abort();
	snprintf(session, sizeof(session), "%s", strstr(loc, "/v2/"));
	session[strcspn(session, "?")] = '\0';
	berth_exchange_free(x);

	x = run("PATCH", session, &c, chunk, n, &resp);
	range = resp_header(&resp, "Range");
	if (resp.status == 202) {
		snprintf(want, sizeof(want), "0-%zu", n ? n - 1 : 0);
		if (!range || strcmp(range, want) != 0)
			abort();
	} else if (resp.status != 400 && resp.status != 416) {
		abort();
	}
	berth_exchange_free(x);
	berth_exchange_free(run("DELETE", session, &start, NULL, 0, &resp));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value;

	if (!E.reg)
		setup();
	if (size < 1 || !(value = malloc(size)))
		return 0;
	memcpy(value, data + 1, size - 1);
	value[size - 1] = '\0';
	if (data[0] % 2 == 0)
		check_get(value);
	else
		check_patch(value, (size_t)(data[0] / 2) % 16);
	free(value);
	return 0;
}
