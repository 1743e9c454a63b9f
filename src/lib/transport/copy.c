/*
 * copy.c - the copy engine (berth_copy): one image, or an index and its
 * children, from any source to any destination.
 *
 * The top manifest decides the shape: an image copies its config and layers
 * then its manifest; an index copies either every child (--all) and then
 * itself, or the one child matching a platform. Blobs of one image go
 * through a pool of worker threads: each is skipped if the destination has
 * it, mounted if both ends are repositories of one registry, else streamed
 * from source to destination (the destination hashes and counts what it
 * stores, or only counts when the source verifies its own stream; a tap on
 * the source stream counts bytes for progress and cuts a source that sends
 * too much). Transient failures are retried with backoff.
 *
 * Like skopeo, the engine converts when the destination cannot hold what the
 * source has: oci: and oci-archive: take only OCI manifests, so a Docker
 * image going there becomes OCI (its config re-encoded as containers/image
 * does) unless --format says otherwise, and the plain-tar layers of a
 * docker-archive are gzip-compressed for every destination but another
 * docker-archive.
 *
 * Conversions (--dest-compress, --format) re-serialise the manifest through
 * berth_manifest_rewrite; recompressed layers go through a temporary file
 * first because their digest and size are known only at the end. Without
 * conversions the manifest bytes are copied exactly, so digests survive.
 * Nothing is visible at the destination until berth_dest_commit; any failure
 * frees the destination without committing.
 */
#include "internal.h"

#include "berth/layer.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MSG_MAX 512
#define MAX_DEPTH 4 /* index → index → image is already unusual */

void berth_copy_options_init(berth_copy_options *o)
{
	memset(o, 0, sizeof(*o));
	o->parallel = 4;
	o->retries = 3;
}

typedef struct copy_ctx {
	const berth_copy_options *o;
	berth_source *src;
	berth_dest *dst;
	const char *mount_from; /* source repo when both ends share a registry */
	berth_layer_compression to;
	int recompress;
	berth_oci_format fmt;
	int plain_layers;	 /* the source's layers are plain tars whatever their type says */
	int dest_compress;	 /* the destination wants compressed layers (not docker-archive) */
	pthread_mutex_t mu;	 /* serialises progress callbacks */
	berth_copy_pacer own;	 /* the bandwidth limit of this copy alone */
	berth_copy_pacer *pacer; /* own, or the options' shared one */
} copy_ctx;

static void progress(copy_ctx *cx, berth_copy_event ev, const berth_descriptor *d, uint64_t n)
{
	if (!cx->o->progress)
		return;
	pthread_mutex_lock(&cx->mu);
	cx->o->progress(cx->o->progress_ctx, ev, d, n);
	pthread_mutex_unlock(&cx->mu);
}

/* ---- bandwidth: every blob's bytes share one timeline ---- */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void berth_copy_pacer_init(berth_copy_pacer *p, uint64_t bandwidth)
{
	memset(p, 0, sizeof(*p));
	p->bandwidth = bandwidth;
	pthread_mutex_init(&p->mu, NULL);
}

void berth_copy_pacer_dispose(berth_copy_pacer *p)
{
	pthread_mutex_destroy(&p->mu);
}

/*
 * With a limit, `n` bytes just read take n / limit seconds of a timeline
 * shared by the blobs in flight; the reader sleeps until its share ends,
 * so the copy as a whole averages the limit (idle time is not saved up).
 */
void berth_copy_pacer_take(berth_copy_pacer *p, size_t n)
{
	double now, until;

	if (!p->bandwidth || !n)
		return;
	now = now_seconds();
	pthread_mutex_lock(&p->mu);
	if (p->next < now)
		p->next = now;
	p->next += (double)n / (double)p->bandwidth;
	until = p->next;
	pthread_mutex_unlock(&p->mu);
	if (until > now) {
		struct timespec ts = {(time_t)(until - now),
				      (long)((until - now - (double)(time_t)(until - now)) * 1e9)};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
}

static void pace(copy_ctx *cx, size_t n)
{
	berth_copy_pacer_take(cx->pacer, n);
}

/* ---- counting: a tap on the source stream, for progress and a size cap ---- */

typedef struct counter {
	copy_ctx *cx;
	const berth_descriptor *desc;
	uint64_t total, reported;
	void *tee; /* the options' tee sink for this attempt, or NULL */
} counter;

static int count_tap(void *ctx, const void *data, size_t len)
{
	counter *k = ctx;

	if (k->tee && k->cx->o->tee.write(k->tee, data, len) < 0) {
		k->cx->o->tee.close(k->tee, BERTH_ERROR); /* the tee stops; the copy goes on */
		k->tee = NULL;
		berth_error_clear();
	}
	pace(k->cx, len);
	k->total += len;
	if (k->desc->size >= 0 && k->total > (uint64_t)k->desc->size)
		return berth_error_set(
			BERTH_ESIZE,
			"blob %s: source sent more than the %lld bytes its descriptor "
			"declares",
			k->desc->digest.str, (long long)k->desc->size);
	if (k->total - k->reported >= (1u << 20) || k->total == (uint64_t)k->desc->size) {
		progress(k->cx, BERTH_COPY_BLOB_PROGRESS, k->desc, k->total);
		k->reported = k->total;
	}
	return 0;
}

/* ---- one blob ---- */

typedef struct job {
	const berth_descriptor *desc;
	int dup_of;		      /* index of an earlier job with the same digest, or -1 */
	int skip;		      /* handled outside the pool (a converted config) */
	int recompress;		      /* layer to recompress */
	berth_layer_compression from; /* its compression at the source */
	berth_descriptor out;	      /* the descriptor written (differs when recompressed) */
	int rc;
	char msg[MSG_MAX];
} job;

static int transient(int rc)
{
	return rc == BERTH_EIO || rc == BERTH_EBUSY;
}

static void backoff(int attempt)
{
	struct timespec ts;
	long ms = 250L << (attempt < 5 ? attempt : 5);

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/*
 * Stream one blob source → destination once (no retry). The destination
 * reads the source's stream itself (no relay thread, no second pipe); a tap
 * counts the bytes as they pass.
 */
static int stream_once(copy_ctx *cx, const job *j)
{
	const berth_descriptor *desc = j->desc;
	berth_stream *in = NULL;
	counter k = {cx, desc, 0, 0, NULL};
	int rc, crc;

	rc = berth_source_blob(cx->src, desc, &in);
	if (rc < 0)
		goto done;
	if (cx->o->tee.open && j->from != BERTH_LAYER_UNKNOWN)
		k.tee = cx->o->tee.open(cx->o->tee.ctx, desc, j->from);
	in->tap = count_tap;
	in->tap_ctx = &k;
	rc = berth_dest_put_blob(cx->dst, desc, in);
	crc = berth_stream_close(in);
	in = NULL;
	/* A failing source explains a short or broken stream better than the sink can. */
	if (crc < 0)
		rc = crc;
done:
	if (in)
		(void)berth_stream_close(in);
	if (k.tee)
		cx->o->tee.close(k.tee, rc);
	return rc;
}

/* Reader over a source stream that hashes and counts what it yields. */
typedef struct hash_reader {
	copy_ctx *cx;
	const berth_descriptor *desc;
	berth_stream *in;
	berth_hasher *h;
	uint64_t reported;
} hash_reader;

static long hash_read(void *ctx, void *buf, size_t cap)
{
	hash_reader *hr = ctx;
	long n = berth_stream_read(hr->in, buf, cap);
	uint64_t total;

	if (n <= 0)
		return n;
	pace(hr->cx, (size_t)n);
	if (berth_hasher_update(hr->h, buf, (size_t)n) < 0)
		return BERTH_ERROR;
	total = berth_hasher_count(hr->h);
	if (hr->desc->size >= 0 && total > (uint64_t)hr->desc->size)
		return berth_error_set(BERTH_ESIZE, "blob %s: source sent more than %lld bytes",
				       hr->desc->digest.str, (long long)hr->desc->size);
	if (total - hr->reported >= (1u << 20)) {
		progress(hr->cx, BERTH_COPY_BLOB_PROGRESS, hr->desc, total);
		hr->reported = total;
	}
	return n;
}

typedef struct hash_writer {
	int fd;
	berth_hasher *h;
} hash_writer;

static int hash_write(void *ctx, const void *data, size_t len)
{
	hash_writer *hw = ctx;
	int rc = berth_hasher_update(hw->h, data, len);

	return rc < 0 ? rc : berth_fs_write_all(hw->fd, data, len);
}

static int temp_file(int *fd_out)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/berth-layer-XXXXXX", dir && *dir ? dir : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return berth_error_set_errno("cannot create a temporary file in %s",
					     dir && *dir ? dir : "/tmp");
	unlink(path);
	*fd_out = fd;
	return 0;
}

/*
 * Recompress one layer into a temporary file, verifying the source bytes
 * against their descriptor on the way, and fill j->out. `*fd_out` is the
 * file, positioned anywhere.
 */
static int recompress_once(copy_ctx *cx, job *j, int *fd_out)
{
	const berth_descriptor *desc = j->desc;
	hash_reader hr = {cx, desc, NULL, NULL, 0};
	hash_writer hw = {-1, NULL};
	berth_digest got, made;
	int rc, crc;

	rc = temp_file(&hw.fd);
	if (rc < 0)
		goto done;
	rc = berth_hasher_new(&hr.h, desc->digest.algo);
	if (rc == 0)
		rc = berth_hasher_new(&hw.h, BERTH_DIGEST_SHA256);
	if (rc == 0)
		rc = berth_source_blob(cx->src, desc, &hr.in);
	if (rc < 0)
		goto done;
	rc = berth_layer_transform(j->from, cx->to, -1, hash_read, &hr, hash_write, &hw);
	crc = berth_stream_close(hr.in);
	hr.in = NULL;
	if (rc == 0 && crc < 0)
		rc = crc;
	if (rc < 0)
		goto done;
	if (desc->size >= 0 && berth_hasher_count(hr.h) != (uint64_t)desc->size) {
		rc = berth_error_set(BERTH_ESIZE, "blob %s: source sent %llu bytes, expected %lld",
				     desc->digest.str, (unsigned long long)berth_hasher_count(hr.h),
				     (long long)desc->size);
		goto done;
	}
	rc = berth_hasher_final(hr.h, &got);
	if (rc < 0)
		goto done;
	if (!berth_digest_equal(&got, &desc->digest)) {
		rc = berth_error_set(BERTH_EDIGEST, "blob %s: source sent bytes with digest %s",
				     desc->digest.str, got.str);
		goto done;
	}
	j->out.size = (int64_t)berth_hasher_count(hw.h);
	rc = berth_hasher_final(hw.h, &made);
	if (rc < 0)
		goto done;
	j->out.digest = made;
	j->out.media_type = (char *)berth_layer_media_type_with(desc->media_type, cx->to);
	*fd_out = hw.fd;
	hw.fd = -1;
done:
	if (hr.in)
		(void)berth_stream_close(hr.in);
	if (hw.fd >= 0)
		close(hw.fd);
	berth_hasher_free(hr.h);
	berth_hasher_free(hw.h);
	return rc;
}

static int put_from_fd(copy_ctx *cx, const berth_descriptor *desc, int fd)
{
	berth_stream *s = NULL;
	int dfd, rc;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return berth_error_set_errno("temporary layer file");
	dfd = dup(fd);
	if (dfd < 0)
		return berth_error_set_errno("temporary layer file");
	rc = berth_transport__stream_fd(&s, dfd, desc->size);
	if (rc < 0) {
		close(dfd);
		return rc;
	}
	rc = berth_dest_put_blob(cx->dst, desc, s);
	int crc = berth_stream_close(s);

	return rc < 0 ? rc : crc;
}

/*
 * The options know a repository of the destination's registry holding `d`
 * (replication: copied there earlier in the execution): mount it from there,
 * with no HEAD first. 0 if mounted, else BERTH_ENOTFOUND (the usual way then).
 */
static int mount_hinted(copy_ctx *cx, const berth_descriptor *d)
{
	const char *from = cx->o->mount_hint ? cx->o->mount_hint(cx->o->progress_ctx, d) : NULL;

	if (!from || berth_dest_mount_blob(cx->dst, d, from) < 0) {
		berth_error_clear();
		return BERTH_ENOTFOUND;
	}
	progress(cx, BERTH_COPY_BLOB_MOUNTED, d, (uint64_t)d->size);
	return 0;
}

static int copy_blob(copy_ctx *cx, job *j)
{
	const berth_descriptor *d = j->desc;
	int rc, fd = -1;

	j->out = *d;
	if (j->recompress) {
		progress(cx, BERTH_COPY_BLOB_START, d, (uint64_t)(d->size < 0 ? 0 : d->size));
		for (int attempt = 0;; attempt++) {
			rc = recompress_once(cx, j, &fd);
			if (rc == 0 || !transient(rc) || attempt >= cx->o->retries)
				break;
			backoff(attempt);
		}
		if (rc < 0)
			goto done;
		rc = berth_dest_has_blob(cx->dst, &j->out);
		if (rc == 0) {
			progress(cx, BERTH_COPY_BLOB_SKIPPED, d, (uint64_t)d->size);
			goto done;
		}
		if (rc != BERTH_ENOTFOUND)
			goto done;
		for (int attempt = 0;; attempt++) {
			rc = put_from_fd(cx, &j->out, fd);
			if (rc == 0 || !transient(rc) || attempt >= cx->o->retries)
				break;
			backoff(attempt);
		}
		if (rc == 0)
			progress(cx, BERTH_COPY_BLOB_DONE, d, (uint64_t)d->size);
		goto done;
	}

	if (!cx->mount_from && (rc = mount_hinted(cx, d)) == 0)
		goto done;
	rc = berth_dest_has_blob(cx->dst, d);
	if (rc == 0) {
		progress(cx, BERTH_COPY_BLOB_SKIPPED, d, (uint64_t)d->size);
		goto done;
	}
	if (rc != BERTH_ENOTFOUND)
		goto done;
	if (cx->mount_from) {
		rc = berth_dest_mount_blob(cx->dst, d, cx->mount_from);
		if (rc == 0) {
			progress(cx, BERTH_COPY_BLOB_MOUNTED, d, (uint64_t)d->size);
			goto done;
		}
		if (rc != BERTH_ENOTFOUND)
			goto done;
	}
	progress(cx, BERTH_COPY_BLOB_START, d, (uint64_t)(d->size < 0 ? 0 : d->size));
	for (int attempt = 0;; attempt++) {
		rc = stream_once(cx, j);
		if (rc == 0 || !transient(rc) || attempt >= cx->o->retries)
			break;
		berth_debug("blob %s: %s; retrying", d->digest.str, berth_error_last());
		backoff(attempt);
	}
	if (rc == 0)
		progress(cx, BERTH_COPY_BLOB_DONE, d, (uint64_t)d->size);
done:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* ---- the worker pool ---- */

typedef struct pool {
	copy_ctx *cx;
	job *jobs;
	size_t njobs;
	size_t next;
	int failed;
	pthread_mutex_t mu;
} pool;

static void *worker(void *arg)
{
	pool *p = arg;

	for (;;) {
		job *j = NULL;

		pthread_mutex_lock(&p->mu);
		while (p->next < p->njobs && !p->failed) {
			job *c = &p->jobs[p->next++];

			if (c->dup_of < 0 && !c->skip) {
				j = c;
				break;
			}
		}
		pthread_mutex_unlock(&p->mu);
		if (!j)
			return NULL;
		j->rc = copy_blob(p->cx, j);
		if (j->rc < 0) {
			snprintf(j->msg, sizeof(j->msg), "%s", berth_error_last());
			pthread_mutex_lock(&p->mu);
			p->failed = 1;
			pthread_mutex_unlock(&p->mu);
		}
	}
}

static int run_jobs(copy_ctx *cx, job *jobs, size_t n)
{
	pool p = {cx, jobs, n, 0, 0, PTHREAD_MUTEX_INITIALIZER};
	pthread_t tids[64];
	int nthreads = cx->o->parallel > 0 ? cx->o->parallel : 4, started = 0;

	if (nthreads > 64)
		nthreads = 64;
	if ((size_t)nthreads > n)
		nthreads = (int)n;
	for (int i = 1; i < nthreads; i++)
		if (pthread_create(&tids[started], NULL, worker, &p) == 0)
			started++;
	worker(&p); /* the calling thread works too */
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	pthread_mutex_destroy(&p.mu);
	for (size_t i = 0; i < n; i++)
		if (jobs[i].rc < 0)
			return berth_error_set(jobs[i].rc, "%s", jobs[i].msg);
	for (size_t i = 0; i < n; i++)
		if (jobs[i].dup_of >= 0)
			jobs[i].out = jobs[jobs[i].dup_of].out;
	return 0;
}

/* ---- manifests ---- */

/* The result of copying one manifest: what was written. */
typedef struct written {
	char media_type[128];
	berth_digest digest;
	int64_t size;
} written;

static int put_manifest(copy_ctx *cx, const void *body, size_t len, const char *mt,
			const berth_digest *given, int top_level, written *w)
{
	berth_descriptor ev = {0};
	berth_digest d;
	int rc;

	if (given) {
		d = *given;
	} else {
		rc = berth_digest_compute(&d, BERTH_DIGEST_SHA256, body, len);
		if (rc < 0)
			return rc;
	}
	rc = berth_dest_put_manifest(cx->dst, body, len, mt, &d, top_level);
	if (rc < 0)
		return rc;
	snprintf(w->media_type, sizeof(w->media_type), "%s", mt);
	w->digest = d;
	w->size = (int64_t)len;
	ev.media_type = (char *)mt;
	ev.digest = d;
	ev.size = (int64_t)len;
	progress(cx, BERTH_COPY_MANIFEST_DONE, &ev, (uint64_t)len);
	return 0;
}

/* 1 when the manifest must be re-serialised (a format change). */
static int format_changes(copy_ctx *cx, const char *mt)
{
	const char *t;

	if (cx->fmt == BERTH_OCI_FORMAT_KEEP)
		return 0;
	t = berth_oci_manifest_type_in(mt, cx->fmt);
	return !t || strcmp(t, mt) != 0;
}

static int read_small_blob(berth_source *src, const berth_descriptor *d, berth_buf *out);

/*
 * Convert a Docker config to the OCI config containers/image writes and
 * store it at the destination (unless it is there); `out` gets its
 * descriptor (media type static).
 */
static int convert_config(copy_ctx *cx, const berth_descriptor *d, berth_descriptor *out)
{
	berth_buf raw = BERTH_BUF_INIT(BERTH_CONFIG_MAX);
	char *text = NULL;
	size_t len = 0;
	int rc, fd = -1;

	memset(out, 0, sizeof(*out));
	rc = read_small_blob(cx->src, d, &raw);
	if (rc == 0)
		rc = berth_oci_config_from_docker(&text, &len, raw.ptr, raw.len);
	if (rc == 0)
		rc = berth_digest_compute(&out->digest, BERTH_DIGEST_SHA256, text, len);
	if (rc < 0)
		goto done;
	out->media_type = (char *)BERTH_MT_OCI_CONFIG;
	out->size = (int64_t)len;
	rc = berth_dest_has_blob(cx->dst, out);
	if (rc != BERTH_ENOTFOUND)
		goto done;
	rc = temp_file(&fd);
	if (rc == 0)
		rc = berth_fs_write_all(fd, text, len);
	for (int attempt = 0; rc == 0; attempt++) {
		rc = put_from_fd(cx, out, fd);
		if (rc == 0 || !transient(rc) || attempt >= cx->o->retries)
			break;
		backoff(attempt);
	}
done:
	if (fd >= 0)
		close(fd);
	free(text);
	berth_buf_dispose(&raw);
	return rc;
}

static int copy_image(copy_ctx *cx, const berth_buf *body, const berth_manifest *m,
		      const berth_digest *digest, int top_level, written *w)
{
	size_t n = 1 + m->nlayers;
	job *jobs = calloc(n, sizeof(*jobs));
	berth_descriptor *layers = NULL;
	berth_manifest_edit edit = {cx->fmt, NULL, 0, NULL, 0, NULL};
	berth_descriptor cfg = {0};
	char *text = NULL;
	size_t text_len = 0;
	int rc, changed = 0;

	if (!jobs) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		jobs[i].desc = i == 0 ? &m->config : &m->layers[i - 1];
		jobs[i].dup_of = -1;
		jobs[i].from = BERTH_LAYER_UNKNOWN; /* the config; a layer's is set below */
		for (size_t k = 0; k < i; k++)
			if (berth_digest_equal(&jobs[k].desc->digest, &jobs[i].desc->digest)) {
				jobs[i].dup_of = (int)k;
				break;
			}
		if (i > 0) {
			berth_layer_compression c =
				berth_layer_compression_of(jobs[i].desc->media_type);
			berth_layer_compression to = cx->recompress ? cx->to : BERTH_LAYER_GZIP;

			/*
			 * A docker-archive holds plain tars (typed ...tar.gzip, as
			 * containers/image does); like skopeo, compress them for any
			 * destination but another docker-archive.
			 */
			if (c != BERTH_LAYER_UNKNOWN && cx->plain_layers)
				c = BERTH_LAYER_UNCOMPRESSED;
			jobs[i].from = c;
			/* Only known layer types whose family has the target type. */
			if (cx->recompress || (cx->plain_layers && cx->dest_compress))
				jobs[i].recompress =
					c != BERTH_LAYER_UNKNOWN && c != to &&
					berth_layer_media_type_with(jobs[i].desc->media_type, to);
			changed |= jobs[i].recompress;
		}
	}
	if (cx->fmt == BERTH_OCI_FORMAT_OCI &&
	    strcmp(m->media_type, BERTH_MT_DOCKER_MANIFEST) == 0) {
		/* containers/image re-encodes the config as an OCI config. */
		rc = convert_config(cx, &m->config, &cfg);
		if (rc < 0)
			goto done;
		jobs[0].skip = 1;
		edit.config = &cfg;
		changed = 1;
	}
	rc = run_jobs(cx, jobs, n);
	if (rc < 0)
		goto done;
	if (changed || format_changes(cx, m->media_type)) {
		layers = calloc(m->nlayers ? m->nlayers : 1, sizeof(*layers));
		if (!layers) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		for (size_t i = 0; i < m->nlayers; i++)
			layers[i] = jobs[i + 1].out;
		edit.layers = layers;
		edit.nlayers = m->nlayers;
		rc = berth_manifest_rewrite(&text, &text_len, body->ptr, body->len, m->media_type,
					    &edit);
		if (rc < 0)
			goto done;
		const char *mt = berth_oci_manifest_type_in(
			m->media_type, cx->fmt ? cx->fmt : BERTH_OCI_FORMAT_KEEP);

		rc = put_manifest(cx, text, text_len, mt ? mt : m->media_type, NULL, top_level, w);
	} else {
		rc = put_manifest(cx, body->ptr, body->len, m->media_type, digest, top_level, w);
	}
done:
	free(text);
	free(layers);
	free(jobs);
	return rc;
}

static int copy_manifest(copy_ctx *cx, const berth_digest *which, int top_level, int depth,
			 written *w);

/* ---- platforms ---- */

typedef struct want {
	char os[64], arch[64];
	const char *variants[6]; /* in order of preference; "" = no variant */
	int nvariants;
	int any_variant; /* no variant asked: accept any as a last resort */
	char variant[64];
	char text[200];
} want;

static int want_parse(want *w, const char *spec)
{
	const char *hv = NULL;
	char buf[200];
	char *os, *arch, *var, *save = NULL;

	memset(w, 0, sizeof(*w));
	if (!spec) {
		snprintf(buf, sizeof(buf), "linux/%s", berth_oci_host_arch(&hv));
		spec = buf;
	} else {
		snprintf(buf, sizeof(buf), "%s", spec);
	}
	if (strlen(spec) >= sizeof(buf))
		return berth_error_set(BERTH_EINVALID, "platform is too long");
	snprintf(w->text, sizeof(w->text), "%s", spec);
	os = strtok_r(buf, "/", &save);
	arch = strtok_r(NULL, "/", &save);
	var = strtok_r(NULL, "/", &save);
	if (!os || !arch || strtok_r(NULL, "/", &save) || strlen(os) >= sizeof(w->os) ||
	    strlen(arch) >= sizeof(w->arch) || (var && strlen(var) >= sizeof(w->variant)))
		return berth_error_set(BERTH_EINVALID,
				       "bad platform '%s' (expected os/arch[/variant])", w->text);
	snprintf(w->os, sizeof(w->os), "%s", os);
	snprintf(w->arch, sizeof(w->arch), "%s", arch);
	snprintf(w->variant, sizeof(w->variant), "%s", var ? var : "");
	/*
	 * Compatible variants in order, as containers/image's platform matcher:
	 * arm64 v8 also takes images without a variant; arm vN takes older ones.
	 */
	if (strcmp(arch, "arm64") == 0 && (!var || strcmp(var, "v8") == 0)) {
		w->variants[w->nvariants++] = "v8";
		w->variants[w->nvariants++] = "";
	} else if (strcmp(arch, "arm") == 0) {
		static const char *const arm[] = {"v8", "v7", "v6", "v5"};
		int start = var ? -1 : 1;

		for (int i = 0; var && i < 4; i++)
			if (strcmp(var, arm[i]) == 0)
				start = i;
		if (start < 0)
			w->variants[w->nvariants++] = w->variant;
		for (int i = start < 0 ? 4 : start; i < 4; i++)
			w->variants[w->nvariants++] = arm[i];
		if (!var)
			w->variants[w->nvariants++] = "";
	} else {
		w->variants[w->nvariants++] = var ? w->variant : "";
	}
	w->any_variant = !var;
	return 0;
}

static int plat_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static const berth_descriptor *pick_child(const berth_manifest *idx, const want *w)
{
	for (int v = 0; v < w->nvariants; v++)
		for (size_t i = 0; i < idx->nmanifests; i++) {
			const berth_platform *p = idx->manifests[i].platform;

			if (p && plat_eq(p->os, w->os) && plat_eq(p->architecture, w->arch) &&
			    plat_eq(p->variant, w->variants[v]))
				return &idx->manifests[i];
		}
	if (w->any_variant)
		for (size_t i = 0; i < idx->nmanifests; i++) {
			const berth_platform *p = idx->manifests[i].platform;

			if (p && plat_eq(p->os, w->os) && plat_eq(p->architecture, w->arch))
				return &idx->manifests[i];
		}
	return NULL;
}

static int copy_index(copy_ctx *cx, const berth_buf *body, const berth_manifest *m,
		      const berth_digest *digest, int top_level, int depth, written *w)
{
	berth_descriptor *kids = NULL;
	berth_manifest_edit edit = {cx->fmt, NULL, 0, NULL, 0, NULL};
	written *ws = NULL;
	char *text = NULL;
	size_t text_len = 0;
	int rc = 0, changed = 0;

	if (!cx->o->all) {
		want wp;
		const berth_descriptor *c;

		rc = want_parse(&wp, cx->o->platform);
		if (rc < 0)
			return rc;
		c = pick_child(m, &wp);
		if (!c)
			return berth_error_set(BERTH_ENOTFOUND,
					       "the index has no image for platform %s (use --all "
					       "to copy every platform)",
					       wp.text);
		return copy_manifest(cx, &c->digest, top_level, depth + 1, w);
	}
	kids = calloc(m->nmanifests ? m->nmanifests : 1, sizeof(*kids));
	ws = calloc(m->nmanifests ? m->nmanifests : 1, sizeof(*ws));
	if (!kids || !ws) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < m->nmanifests; i++) {
		rc = copy_manifest(cx, &m->manifests[i].digest, 0, depth + 1, &ws[i]);
		if (rc < 0)
			goto done;
		kids[i] = m->manifests[i];
		kids[i].media_type = ws[i].media_type;
		kids[i].digest = ws[i].digest;
		kids[i].size = ws[i].size;
		if (!berth_digest_equal(&ws[i].digest, &m->manifests[i].digest))
			changed = 1;
	}
	if (changed || format_changes(cx, m->media_type)) {
		edit.manifests = kids;
		edit.nmanifests = m->nmanifests;
		rc = berth_manifest_rewrite(&text, &text_len, body->ptr, body->len, m->media_type,
					    &edit);
		if (rc < 0)
			goto done;
		const char *mt = berth_oci_manifest_type_in(m->media_type, cx->fmt);

		rc = put_manifest(cx, text, text_len, mt ? mt : m->media_type, NULL, top_level, w);
	} else {
		rc = put_manifest(cx, body->ptr, body->len, m->media_type, digest, top_level, w);
	}
done:
	free(text);
	free(kids);
	free(ws);
	return rc;
}

static int copy_manifest(copy_ctx *cx, const berth_digest *which, int top_level, int depth,
			 written *w)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_MAX);
	berth_manifest *m = NULL;
	berth_digest d;
	char mt[128] = "";
	int rc;

	if (depth > MAX_DEPTH)
		return berth_error_set(BERTH_EINVALID, "indexes nested more than %d deep",
				       MAX_DEPTH);
	rc = berth_source_manifest(cx->src, which, &body, mt, sizeof(mt), &d);
	if (rc < 0)
		goto done;
	if (which && !berth_digest_equal(which, &d)) {
		rc = berth_error_set(BERTH_EDIGEST, "manifest %s: source sent bytes with digest %s",
				     which->str, d.str);
		goto done;
	}
	rc = berth_manifest_parse(&m, body.ptr, body.len, mt[0] ? mt : NULL);
	if (rc < 0)
		goto done;
	if (m->kind == BERTH_OCI_INDEX)
		rc = copy_index(cx, &body, m, &d, top_level, depth, w);
	else
		rc = copy_image(cx, &body, m, &d, top_level, w);
done:
	berth_manifest_free(m);
	berth_buf_dispose(&body);
	return rc;
}

int berth_copy_pick_platform(const berth_descriptor **out, const berth_manifest *idx,
			     const char *platform)
{
	want wp;
	int rc = want_parse(&wp, platform);

	if (rc < 0)
		return rc;
	*out = pick_child(idx, &wp);
	if (!*out)
		return berth_error_set(BERTH_ENOTFOUND, "the index has no image for platform %s",
				       wp.text);
	return 0;
}

static int ctx_init(copy_ctx *cx, const berth_copy_options *o)
{
	int rc = 0;

	memset(cx, 0, sizeof(*cx));
	cx->o = o;
	cx->to = BERTH_LAYER_GZIP; /* for plain layers when no --dest-compress */
	pthread_mutex_init(&cx->mu, NULL);
	berth_copy_pacer_init(&cx->own, o->bandwidth);
	cx->pacer = o->pacer ? o->pacer : &cx->own;
	if (o->compress) {
		rc = berth_layer_compression_parse(&cx->to, o->compress);
		if (rc < 0)
			return rc;
		cx->recompress = 1;
	}
	if (o->format) {
		rc = berth_oci_format_parse(&cx->fmt, o->format);
		if (rc < 0)
			return rc;
	}
	if (o->platform) {
		want wp;

		rc = want_parse(&wp, o->platform);
	}
	return rc;
}

/*
 * What the two ends imply, as containers/image decides it: oci: and
 * oci-archive: hold only OCI manifests and indexes, so a Docker image
 * converts to OCI unless --format said otherwise; docker-archive layers are
 * plain tars that every other destination gets compressed.
 */
static void ctx_ends(copy_ctx *cx, const berth_image_name *src, const berth_image_name *dst)
{
	if (!cx->o->format && !cx->o->keep_format &&
	    (dst->kind == BERTH_TRANSPORT_OCI || dst->kind == BERTH_TRANSPORT_OCI_ARCHIVE))
		cx->fmt = BERTH_OCI_FORMAT_OCI;
	cx->plain_layers = src && src->kind == BERTH_TRANSPORT_DOCKER_ARCHIVE;
	cx->dest_compress = dst->kind != BERTH_TRANSPORT_DOCKER_ARCHIVE;
}

/*
 * --with-signatures reads tags and referrers of registries, and the
 * signatures name manifest digests, which a conversion would change.
 */
static int attached_check(const berth_image_name *src, const berth_image_name *dst,
			  const berth_copy_options *o)
{
	if (src->kind != BERTH_TRANSPORT_DOCKER || dst->kind != BERTH_TRANSPORT_DOCKER)
		return berth_error_set(
			BERTH_EUNSUPPORTED,
			"--with-signatures copies between registries (docker://) only");
	if (o->format || o->compress)
		return berth_error_set(
			BERTH_EINVALID,
			"--with-signatures keeps manifest digests: it excludes "
			"--format and --dest-compress (signatures name the digests)");
	return 0;
}

int berth_copy(const berth_image_name *src, const berth_transport_options *src_opts,
	       const berth_image_name *dst, const berth_transport_options *dst_opts,
	       const berth_copy_options *o, berth_digest *digest_out)
{
	berth_copy_options defaults;
	copy_ctx cx;
	written w;
	int rc;

	if (!o) {
		berth_copy_options_init(&defaults);
		o = &defaults;
	}
	memset(&w, 0, sizeof(w));
	rc = ctx_init(&cx, o);
	if (rc < 0)
		goto done;
	if (o->with_signatures && (rc = attached_check(src, dst, o)) < 0)
		goto done;
	ctx_ends(&cx, src, dst);
	rc = berth_source_open(&cx.src, src, src_opts);
	if (rc < 0)
		goto done;
	rc = berth_dest_open(&cx.dst, dst, dst_opts);
	if (rc < 0)
		goto done;
	if (src->kind == BERTH_TRANSPORT_DOCKER && dst->kind == BERTH_TRANSPORT_DOCKER &&
	    src->ref && dst->ref && strcmp(src->ref->domain, dst->ref->domain) == 0 &&
	    strcmp(src->ref->path, dst->ref->path) != 0)
		cx.mount_from = src->ref->path;
	rc = copy_manifest(&cx, NULL, 1, 0, &w);
	if (rc < 0)
		goto done;
	rc = berth_dest_commit(cx.dst);
	if (rc < 0)
		goto done;
	if (digest_out)
		*digest_out = w.digest;
	if (o->with_signatures)
		rc = berth_transport__copy_attached(src, src_opts, dst, dst_opts, o, &w.digest);
done:
	/* Without a commit the destination removes what it wrote. */
	berth_dest_free(cx.dst);
	berth_source_free(cx.src);
	pthread_mutex_destroy(&cx.mu);
	berth_copy_pacer_dispose(&cx.own);
	return rc;
}

/* ---- manifest create ---- */

/* Read a small blob (a config) through the source, verifying it. */
static int read_small_blob(berth_source *src, const berth_descriptor *d, berth_buf *out)
{
	berth_stream *s = NULL;
	berth_digest got;
	char chunk[16384];
	int rc;

	rc = berth_source_blob(src, d, &s);
	if (rc < 0)
		return rc;
	for (;;) {
		long n = berth_stream_read(s, chunk, sizeof(chunk));

		if (n < 0) {
			rc = (int)n;
			break;
		}
		if (n == 0)
			break;
		rc = berth_buf_put(out, chunk, (size_t)n);
		if (rc < 0) {
			rc = berth_error_set(BERTH_ETOOBIG, "config %s is larger than %zu bytes",
					     d->digest.str, out->max);
			break;
		}
	}
	int crc = berth_stream_close(s);

	if (rc == 0 && crc < 0)
		rc = crc;
	if (rc < 0)
		return rc;
	rc = berth_digest_compute(&got, d->digest.algo, out->ptr, out->len);
	if (rc < 0)
		return rc;
	if (!berth_digest_equal(&got, &d->digest))
		return berth_error_set(BERTH_EDIGEST, "config %s: source sent bytes with digest %s",
				       d->digest.str, got.str);
	return 0;
}

static json_t *platform_json(const char *os, const char *arch, const char *variant,
			     const char *os_version)
{
	json_t *p = json_object();

	if (!p)
		return NULL;
	if (arch)
		json_object_set_new(p, "architecture", json_string(arch));
	if (os)
		json_object_set_new(p, "os", json_string(os));
	if (os_version)
		json_object_set_new(p, "os.version", json_string(os_version));
	if (variant)
		json_object_set_new(p, "variant", json_string(variant));
	return p;
}

static int index_entry(json_t *arr, const written *w, json_t *platform)
{
	json_t *e = json_object();

	if (!e || !platform) {
		json_decref(e);
		json_decref(platform);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	json_object_set_new(e, "mediaType", json_string(w->media_type));
	json_object_set_new(e, "digest", json_string(w->digest.str));
	json_object_set_new(e, "size", json_integer(w->size));
	json_object_set_new(e, "platform", platform);
	if (json_array_append_new(arr, e) != 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

/* Copy one source (image or index) into cx->dst and add its entries to `arr`. */
static int add_source(copy_ctx *cx, json_t *arr)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_MAX), cfg = BERTH_BUF_INIT(BERTH_CONFIG_MAX);
	berth_manifest *m = NULL;
	json_t *cj = NULL;
	berth_digest d;
	char mt[128] = "";
	written w;
	int rc;

	rc = berth_source_manifest(cx->src, NULL, &body, mt, sizeof(mt), &d);
	if (rc == 0)
		rc = berth_manifest_parse(&m, body.ptr, body.len, mt[0] ? mt : NULL);
	if (rc < 0)
		goto done;
	if (m->kind == BERTH_OCI_INDEX) {
		for (size_t i = 0; i < m->nmanifests; i++) {
			const berth_platform *p = m->manifests[i].platform;

			rc = copy_manifest(cx, &m->manifests[i].digest, 0, 1, &w);
			if (rc == 0)
				rc = index_entry(arr, &w,
						 p ? platform_json(p->os, p->architecture,
								   p->variant, p->os_version)
						   : json_object());
			if (rc < 0)
				goto done;
		}
		goto done;
	}
	rc = read_small_blob(cx->src, &m->config, &cfg);
	if (rc < 0)
		goto done;
	cj = json_loadb(cfg.ptr, cfg.len, 0, NULL);
	if (!json_is_object(cj) || !json_is_string(json_object_get(cj, "os")) ||
	    !json_is_string(json_object_get(cj, "architecture"))) {
		rc = berth_error_set(BERTH_EINVALID,
				     "config %s has no os/architecture: not a platform image",
				     m->config.digest.str);
		goto done;
	}
	rc = copy_image(cx, &body, m, &d, 0, &w);
	if (rc == 0)
		rc = index_entry(
			arr, &w,
			platform_json(json_string_value(json_object_get(cj, "os")),
				      json_string_value(json_object_get(cj, "architecture")),
				      json_string_value(json_object_get(cj, "variant")),
				      json_string_value(json_object_get(cj, "os.version"))));
done:
	json_decref(cj);
	berth_manifest_free(m);
	berth_buf_dispose(&body);
	berth_buf_dispose(&cfg);
	return rc;
}

int berth_copy_index_create(const berth_image_name *const *srcs, size_t nsrcs,
			    const berth_transport_options *src_opts, const berth_image_name *dst,
			    const berth_transport_options *dst_opts, const char *annotations,
			    const berth_copy_options *o, berth_digest *digest_out)
{
	berth_copy_options oo;
	copy_ctx cx;
	json_t *idx = NULL, *arr = NULL, *ann = NULL;
	char *text = NULL;
	written w;
	int rc;

	if (o)
		oo = *o;
	else
		berth_copy_options_init(&oo);
	oo.all = 1;
	oo.platform = NULL;
	rc = ctx_init(&cx, &oo);
	if (rc < 0)
		goto done;
	if (nsrcs == 0) {
		rc = berth_error_set(BERTH_EINVALID, "an index needs at least one image");
		goto done;
	}
	if (annotations) {
		ann = json_loads(annotations, 0, NULL);
		if (!json_is_object(ann)) {
			rc = berth_error_set(BERTH_EINVALID, "annotations must be a JSON object");
			goto done;
		}
	}
	idx = json_object();
	arr = json_array();
	if (!idx || !arr) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = berth_dest_open(&cx.dst, dst, dst_opts);
	if (rc < 0)
		goto done;
	for (size_t i = 0; i < nsrcs; i++) {
		cx.mount_from = NULL;
		if (srcs[i]->kind == BERTH_TRANSPORT_DOCKER &&
		    dst->kind == BERTH_TRANSPORT_DOCKER &&
		    strcmp(srcs[i]->ref->domain, dst->ref->domain) == 0 &&
		    strcmp(srcs[i]->ref->path, dst->ref->path) != 0)
			cx.mount_from = srcs[i]->ref->path;
		ctx_ends(&cx, srcs[i], dst);
		rc = berth_source_open(&cx.src, srcs[i], src_opts);
		if (rc == 0)
			rc = add_source(&cx, arr);
		berth_source_free(cx.src);
		cx.src = NULL;
		if (rc < 0)
			goto done;
	}
	json_object_set_new(idx, "schemaVersion", json_integer(2));
	json_object_set_new(idx, "mediaType",
			    json_string(cx.fmt == BERTH_OCI_FORMAT_V2S2 ? BERTH_MT_DOCKER_LIST
									: BERTH_MT_OCI_INDEX));
	json_object_set_new(idx, "manifests", arr);
	arr = NULL;
	if (ann && json_object_size(ann) && cx.fmt != BERTH_OCI_FORMAT_V2S2) {
		json_object_set_new(idx, "annotations", ann);
		ann = NULL;
	}
	text = json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = put_manifest(&cx, text, strlen(text),
			  json_string_value(json_object_get(idx, "mediaType")), NULL, 1, &w);
	if (rc == 0)
		rc = berth_dest_commit(cx.dst);
	if (rc == 0 && digest_out)
		*digest_out = w.digest;
done:
	free(text);
	json_decref(idx);
	json_decref(arr);
	json_decref(ann);
	berth_dest_free(cx.dst);
	pthread_mutex_destroy(&cx.mu);
	berth_copy_pacer_dispose(&cx.own);
	return rc;
}
