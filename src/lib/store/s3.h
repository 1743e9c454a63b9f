/*
 * s3.h - the S3 client under the s3 driver of the store (s3_http.c): one
 * connection pool per store, SigV4-signed requests (libcurl's
 * CURLOPT_AWS_SIGV4 plus the x-amz-content-sha256 header it leaves to us),
 * retries with backoff inside a budget, and presigned GET URLs.
 *
 * Keys passed here are relative to the configured root directory; they are
 * built by the driver from validated digests and upload ids only.
 */
#ifndef BERTH_STORE_S3_H
#define BERTH_STORE_S3_H

#include "berth/store.h"

#include <pthread.h>
#include <stdatomic.h>

#define S3_POOL_MAX 16		 /* idle connections kept per store */
#define S3_KEY_MAX 512		 /* longest object key we build */
#define S3_ERROR_BODY_MAX 65536	 /* cap on an error response we read */
#define S3_ETAG_MAX 128		 /* cap on an ETag header */
#define S3_BACKOFF_FIRST_MS 50	 /* first retry delay, doubled each time */
#define S3_BACKOFF_MAX_MS 2000	 /* longest single retry delay */
#define S3_RETRY_BUDGET_MS 20000 /* total time spent waiting between retries */
#define S3_DEFAULT_TIMEOUT 30	 /* seconds without progress */
#define S3_DEFAULT_RETRIES 4
#define S3_CREDENTIALS_MAX 65536 /* cap on ~/.aws/credentials */

/* The operations counted separately (s3_op_of names each request). */
enum {
	S3_OP_GET,
	S3_OP_HEAD_OBJECT,
	S3_OP_HEAD_BUCKET,
	S3_OP_PUT,
	S3_OP_UPLOAD_PART,
	S3_OP_CREATE_MPU,
	S3_OP_COMPLETE_MPU,
	S3_OP_ABORT_MPU,
	S3_OP_DELETE,
	S3_OP_DELETE_MANY,
	S3_OP_LIST,
	S3_OP_LIST_MPU,
	S3_OP_OTHER,
	S3_NOPS
};

typedef struct s3_op_counters {
	atomic_uint_fast64_t by_class[BERTH_STORE_OP_CLASSES];
	atomic_uint_fast64_t retries, bytes_out, bytes_in, sum_us;
	atomic_uint_fast64_t hist[BERTH_STORE_OP_BUCKETS + 1];
} s3_op_counters;

typedef struct s3_client {
	char *base; /* "scheme://host[:port]" (virtual-host style: bucket. included) */
	char *host; /* Host header value, for presigning */
	char *bucket;
	char *root; /* "" or "prefix/" */
	char *region;
	char *access;
	char *secret;
	char *sigv4; /* "aws:amz:<region>:s3" */
	char *storageclass;
	int pathstyle;
	unsigned timeout, maxretries;

	pthread_mutex_t mu; /* guards pool */
	void *pool[S3_POOL_MAX];
	int npool;

	atomic_uint_fast64_t requests, retries, bytes_out, bytes_in;
	s3_op_counters ops[S3_NOPS];
} s3_client;

/* One request. Fill the inputs, s3_do fills the outputs. */
typedef struct s3_req {
	const char *method; /* GET PUT POST DELETE HEAD */
	const char *key;    /* relative to the root; NULL: the bucket itself */
	/*
	 * "uploads=", "partNumber=1&uploadId=..." or NULL: keys in byte order,
	 * values escaped, "=" even when empty (libcurl 7.88 signs it as given)
	 */
	const char *query;
	const void *body; /* request body (PUT, POST) */
	size_t body_len;
	int sign_body;	   /* 1: x-amz-content-sha256 is the body's hash, else UNSIGNED-PAYLOAD */
	const char *range; /* "bytes=a-b" or NULL */
	const char *content_type;
	const char *content_md5; /* base64, or NULL */
	int storage_class;	 /* 1: send x-amz-storage-class (object creation) */
	struct berth_buf *out;	 /* response body (capped by its max), or NULL to drop it */
	/* outputs */
	long status;
	char etag[S3_ETAG_MAX];
} s3_req;

int s3_client_new(s3_client **out, const berth_store_s3_config *cfg) BERTH_WARN_UNUSED;
void s3_client_free(s3_client *c);

/*
 * Send `r`, retrying transport failures, 500, 502, 503 (SlowDown) and 504
 * with backoff inside the retry budget. 0 on 2xx; BERTH_ENOTFOUND on 404;
 * BERTH_EIO otherwise, with the S3 error code and message in the error slot
 * (never a credential).
 */
int s3_do(s3_client *c, s3_req *r) BERTH_WARN_UNUSED;

/* A presigned GET URL of `key` valid `expires` seconds (caller frees). */
int s3_presign_get(s3_client *c, const char *key, unsigned expires, char **url) BERTH_WARN_UNUSED;

/* Snapshot of the per-operation counters (berth_store_get_op_stats). */
size_t s3_op_stats(s3_client *c, berth_store_op_stats *out, size_t max);

/* The text of the first <name>...</name> in an XML answer, into out (capped). */
int s3_xml_value(const char *xml, const char *name, char *out, size_t max);

#endif
