/*
 * server.c - the libmicrohttpd adapter: berth's HTTP daemon.
 *
 * MHD runs a pool of epoll worker threads. For each request the access
 * handler is called once after the headers (we build per-request state and
 * start the registry op), once per chunk of body (streamed into the op) and
 * once at the end (the op's response is turned into an MHD response). An op
 * that fails from the headers alone (size, name, auth) is answered before any
 * body is read; one that fails mid-body has the rest dropped, up to a bound
 * past which the connection is closed. MHD's completion callback
 * records metrics, writes the access log line and frees the request.
 *
 * Shutdown: the main thread sleeps in sigwait(); on SIGTERM/SIGINT it stops
 * taking connections (the accept policy closes each new one at once), waits
 * for the in-flight count to reach zero (bounded), then stops MHD and frees
 * everything. Not MHD_quiesce_daemon: with epoll workers it races a worker
 * that removes the listening socket from its epoll set too, and libmicrohttpd
 * 0.9.75 aborts the process when it loses (epoll_ctl answers ENOENT).
 */
#include "server/server.h"
#include "berth/auth.h"
#include "berth/meta.h"
#include "berth/mirror.h"
#include "berth/policy.h"
#include "berth/ref.h"
#include "berth/registry.h"
#include "berth/replicate.h"
#include "berth/store.h"
#include "server/mapped.h"
#include "server/metrics.h"
#include "server/proxies.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/pool.h"
#include "util/random.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQUEST_ID_MAX 64
#define LOG_FIELD_MAX 512
#define METRICS_MAX (4 * 1024 * 1024)
#define PURGE_INTERVAL 3600
#define PURGE_LEASE "upload-purge" /* one process of those sharing the database purges */
#define PURGE_LEASE_TTL 600
#define HOLDER_MAX 128 /* BERTH_META_HOLDER_MAX */
#define DISCARD_MAX (1024 * 1024)
#define STREAM_BLOCK (256 * 1024)	/* bytes asked of a streamed body's reader at a time */
#define RESERVE_BYTES (2 * 1024 * 1024) /* beside the database, freed on a full disk */

typedef struct server {
	const berth_server_config *cfg;
	berth_store *store;
	berth_meta *meta;
	berth_registry *reg;
	berth_metrics *metrics;
	berth_mapped *mapped;	/* blob bodies for loopback peers */
	berth_token_key *key;	/* access control on: token signing key */
	berth_auth *api;	/* access control on: authentication, /token, /api/v1 */
	berth_policy *policy;	/* the projects' signature policies, the registry's manifest gate */
	berth_replicator *repl; /* replication: rules, executions, /api/v1/replication */
	berth_mirror *mirror;	/* a pull-through mirror: it answers /v2/ (NULL: not one) */
	berth_buf tls_cert;	/* PEM, NUL-terminated */
	berth_buf tls_key;
	struct MHD_Daemon *daemon;
	int listen_fd;
	atomic_long in_flight;
	atomic_int shutting_down;
	atomic_int running; /* MHD started: its messages are mostly client noise */
	atomic_ullong next_id;
	char id_prefix[17];
	char hostname[256];	     /* gethostname(), for Host checks; "" if unknown */
	char holder[HOLDER_MAX + 1]; /* this process among those sharing the database */
	berth_proxies proxies;	     /* http.trusted_proxies */
	/* the background upload purger */
	pthread_t purger;
	int purger_started;
	pthread_mutex_t purge_lock;
	pthread_cond_t purge_cond;
	int purge_stop;
	/* the header watchdog (header_timeout) */
	pthread_t watchdog;
	int watchdog_started;
	pthread_mutex_t watch_lock;
	pthread_cond_t watch_cond;
	int watch_stop;
	struct conn_watch *watched; /* connections, newest first */
} server;

/*
 * One connection, from accept to close (MHD's socket context): the time by
 * which its current request head must have arrived. The watchdog shuts a
 * late one's socket down; MHD then sees the end of the stream and closes it.
 */
typedef struct conn_watch {
	struct conn_watch *prev, *next;
	int fd;
	atomic_int head_done; /* the access handler has seen this request's head */
	int cut;	      /* already shut down by the watchdog */
	time_t deadline;      /* CLOCK_MONOTONIC seconds */
} conn_watch;

typedef enum { K_REGISTRY, K_API, K_REPL, K_HEALTHZ, K_METRICS, K_NOTFOUND, K_INTERNAL } route_kind;

/* Per-request state: lives from the first access-handler call to completion. */
typedef struct request {
	berth_pool pool;
	server *srv;
	struct MHD_Connection *conn;
	route_kind kind;
	berth_req req;
	berth_exchange *x;  /* the registry's or access control's (a refusal included) */
	berth_identity *id; /* access control on: the caller */
	const char *route;
	unsigned status;
	int queued;
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t discarded; /* body bytes dropped after the op failed */
	struct timespec start;
	struct timespec rate_start; /* start of the current body-rate window */
	uint64_t rate_bytes;	    /* body bytes within it */
	char *body;		    /* body owned by the server (metrics text), malloc'd */
	const char *peer;	    /* the connection's address (a proxy's, behind one) */
	char request_id[REQUEST_ID_MAX + 1];
} request;

static const char not_found_body[] =
	"{\"errors\":[{\"code\":\"NOT_FOUND\",\"message\":\"no such endpoint\",\"detail\":null}]}";
static const char not_allowed_body[] = "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":"
				       "\"method not allowed\",\"detail\":null}]}";
static const char internal_body[] = "{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"internal "
				    "server error\",\"detail\":null}]}";

/* ---- small helpers ---- */

static double elapsed_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Collects every value of one header name, joined with ", " (RFC 9110 5.3). */
typedef struct header_join {
	const char *name;
	berth_buf buf;
	int count;
} header_join;

static enum MHD_Result join_header(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	header_join *j = cls;

	(void)kind;
	if (!value || strcasecmp(key, j->name) != 0)
		return MHD_YES;
	if ((j->count++ && berth_buf_puts(&j->buf, ", ") != 0) ||
	    berth_buf_puts(&j->buf, value) != 0)
		return MHD_NO;
	return MHD_YES;
}

/*
 * Header lookup for the registry. Clients such as skopeo and podman send one
 * Accept line per media type, so a repeated header is joined into one list;
 * the common single-valued case returns MHD's own string without copying.
 */
static const char *lookup_header(void *ctx, const char *name)
{
	struct request *r = ctx;
	header_join j = {name, BERTH_BUF_INIT(64 * 1024), 0};
	const char *first = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
	const char *joined;

	if (!first || (strcasecmp(name, "Accept") != 0 && strcasecmp(name, "X-Forwarded-For") != 0))
		return first;
	MHD_get_connection_values(r->conn, MHD_HEADER_KIND, join_header, &j);
	if (j.count <= 1 || !j.buf.ptr) {
		berth_buf_dispose(&j.buf);
		return first;
	}
	joined = berth_pool_strndup(&r->pool, j.buf.ptr, j.buf.len);
	berth_buf_dispose(&j.buf);
	return joined ? joined : first;
}

static const char *lookup_query(void *ctx, const char *name)
{
	struct request *r = ctx;

	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

typedef struct query_pick {
	const char *name;
	size_t want, seen;
	const char *found;
} query_pick;

static enum MHD_Result pick_query(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	query_pick *q = cls;

	(void)kind;
	if (strcmp(key, q->name) != 0)
		return MHD_YES;
	if (q->seen++ == q->want) {
		q->found = value ? value : "";
		return MHD_NO;
	}
	return MHD_YES;
}

/* The i-th value of a repeated query parameter (scope=...&scope=...). */
static const char *lookup_query_n(void *ctx, const char *name, size_t i)
{
	struct request *r = ctx;
	query_pick q = {name, i, 0, NULL};

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, pick_query, &q);
	return q.found;
}

/* An incoming X-Request-Id is echoed only if it is short and plain. */
static int request_id_sane(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= REQUEST_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == ':'))
			return 0;
	}
	return n > 0;
}

/* Host header as given by the client, if it looks like host[:port]. */
static int host_sane(const char *s)
{
	size_t n = 0;

	if (!s)
		return 0;
	for (; s[n]; n++) {
		char c = s[n];

		if (n >= BERTH_DOMAIN_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == ':' || c == '[' || c == ']'))
			return 0;
	}
	return n > 0;
}

/* A copy of `s` safe for a log line: control bytes replaced, length capped. */
static const char *log_safe(berth_pool *p, const char *s)
{
	size_t n;
	char *r;

	if (!s)
		return "";
	n = strnlen(s, LOG_FIELD_MAX);
	if (!(r = berth_pool_strndup(p, s, n)))
		return "";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r[i] < 0x20 || r[i] == 0x7f)
			r[i] = '?';
	return r;
}

static const char *peer_addr(berth_pool *p, struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	char text[INET6_ADDRSTRLEN] = "";

	if (!ci || !ci->client_addr)
		return "";
	if (ci->client_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ci->client_addr)->sin_addr, text,
			  sizeof(text));
	else if (ci->client_addr->sa_family == AF_INET6) {
		const struct in6_addr *a =
			&((const struct sockaddr_in6 *)ci->client_addr)->sin6_addr;

		/* IPv4 clients of a dual-stack socket are logged as plain IPv4. */
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], text, sizeof(text));
		else
			inet_ntop(AF_INET6, a, text, sizeof(text));
	}
	return berth_pool_strdup(p, text);
}

/*
 * The client's address: the peer's, or behind a trusted proxy the one
 * X-Forwarded-For names (proxies.h). Throttling, per-address limits and the
 * audit log all read it from req.remote_addr.
 */
static const char *client_addr(request *r)
{
	char out[BERTH_PROXIES_ADDR_MAX];

	if (!r->peer)
		r->peer = "";
	if (!r->srv->proxies.n || !r->peer[0])
		return r->peer;
	berth_proxies_client(&r->srv->proxies, r->peer, lookup_header(r, "X-Forwarded-For"), out,
			     sizeof(out));
	return strcmp(out, r->peer) == 0 ? r->peer : berth_pool_strdup(&r->pool, out);
}

/* ---- building and queueing responses ---- */

/* MHD never asks a HEAD response for its body; if it ever did, fail loudly. */
static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

/* Headers MHD computes itself (it refuses or duplicates them otherwise). */
static int header_reserved(const char *name)
{
	return strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0 ||
	       strcasecmp(name, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0 ||
	       strcasecmp(name, MHD_HTTP_HEADER_CONNECTION) == 0 ||
	       strcasecmp(name, MHD_HTTP_HEADER_DATE) == 0;
}

/* An address of this host: "127.x.x.x" or "::1", bare (as remote_addr
 * writes a peer's, IPv4-mapped ones included) or with a port ("[::1]:5000",
 * "[::ffff:127.0.0.1]:5000", as a listener's bound address is written). */
static int is_loopback(const char *addr)
{
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	       strncmp(addr, "[::1]:", 6) == 0 || strncmp(addr, "[::ffff:127.", 12) == 0;
}

/* Whether a listen address "host:port" names its host by a literal IP (or none: all). */
static int listen_is_literal(const char *listen)
{
	char host[INET6_ADDRSTRLEN + 8];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *colon = strrchr(listen, ':');
	size_t n = colon ? (size_t)(colon - listen) : strlen(listen);

	if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
		listen++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return 0;
	memcpy(host, listen, n);
	host[n] = '\0';
	return n == 0 || inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Serving `addr` (as configured or as bound) open to anyone needs --auth or --insecure-open. */
static int refuse_open(const berth_server_config *cfg, const char *addr)
{
	if (cfg->auth_enabled || cfg->insecure_open || is_loopback(addr))
		return 0;
	return berth_error_set(BERTH_EDENIED,
			       "refusing to serve %s without access control: use --auth, or "
			       "--insecure-open to serve it open to anyone",
			       addr);
}

/* Large blob bodies to a plain-HTTP peer on this host go from a mapping (see
 * mapped.h); NULL means sendfile. */
static struct MHD_Response *mapped_response(request *r, const berth_resp *resp)
{
	if (resp->fd_length < BERTH_MAPPED_MIN || r->srv->cfg->tls_cert || !r->req.remote_addr ||
	    !is_loopback(r->req.remote_addr))
		return NULL;
	return berth_mapped_response(r->srv->mapped, resp->fd, resp->fd_offset, resp->fd_length);
}

/* A body produced while it is sent (berth_resp.reader), as MHD wants it. */
typedef struct streamed {
	long (*reader)(void *ctx, uint64_t pos, char *buf, size_t max);
	void (*reader_free)(void *ctx);
	void *ctx;
} streamed;

static ssize_t streamed_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	streamed *st = cls;
	long n = st->reader(st->ctx, pos, buf, max);

	return n > 0 ? (ssize_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void streamed_free(void *cls)
{
	streamed *st = cls;

	st->reader_free(st->ctx);
	free(st);
}

/* The reader's response; the reader's reference is released in every case. */
static struct MHD_Response *streamed_response(request *r, berth_resp *resp)
{
	streamed *st = malloc(sizeof(*st));
	struct MHD_Response *mr = NULL;

	if (st) {
		st->reader = resp->reader;
		st->reader_free = resp->reader_free;
		st->ctx = resp->reader_ctx;
		mr = MHD_create_response_from_callback(resp->reader_length, STREAM_BLOCK,
						       streamed_read, st, streamed_free);
	}
	if (!mr) {
		free(st);
		resp->reader_free(resp->reader_ctx);
	} else {
		r->bytes_out = resp->reader_length;
	}
	resp->reader = NULL;
	return mr;
}

/* Release a reader's reference of a response that will not be sent. */
static void drop_reader(berth_resp *resp)
{
	if (resp->reader && resp->reader_free)
		resp->reader_free(resp->reader_ctx);
	resp->reader = NULL;
}

static struct MHD_Response *make_response(request *r, berth_resp *resp)
{
	struct MHD_Response *mr = NULL;

	if (resp->reader) {
		mr = streamed_response(r, resp);
	} else if (resp->fd >= 0 && (mr = mapped_response(r, resp)) != NULL) {
		r->bytes_out = resp->fd_length;
	} else if (resp->fd >= 0) {
		/* The exchange owns resp->fd and closes it when freed; MHD closes the
		 * one it is given when the response is destroyed: hand it a dup. */
		int fd = fcntl(resp->fd, F_DUPFD_CLOEXEC, 0);

		if (fd < 0) {
			berth_err("request %s: dup of a blob descriptor failed: %s", r->request_id,
				  strerror(errno));
			return NULL;
		}
		mr = MHD_create_response_from_fd_at_offset64(resp->fd_length, fd, resp->fd_offset);
		if (!mr)
			close(fd);
		else
			r->bytes_out = resp->fd_length;
	} else if (resp->head) {
		mr = MHD_create_response_from_callback(resp->head_length, 4096, no_body, NULL,
						       NULL);
	} else {
		/* The op (or the request) keeps the body alive until completion. */
		mr = MHD_create_response_from_buffer(resp->body ? resp->body_len : 0,
						     (void *)(resp->body ? resp->body : ""),
						     MHD_RESPMEM_PERSISTENT);
		if (mr)
			r->bytes_out = resp->body ? resp->body_len : 0;
	}
	if (!mr)
		return NULL;
	for (size_t i = 0; i < resp->nheaders && i < BERTH_RESP_MAX_HEADERS; i++) {
		const char *name = resp->headers[i].name;
		const char *value = resp->headers[i].value;

		if (!name || !value || header_reserved(name))
			continue;
		if (MHD_add_response_header(mr, name, value) != MHD_YES)
			berth_warn("request %s: response header %s rejected", r->request_id, name);
	}
	if (MHD_add_response_header(mr, "X-Request-Id", r->request_id) != MHD_YES)
		berth_warn("request %s: could not add X-Request-Id", r->request_id);
	/* While draining, tell keep-alive clients to go elsewhere. */
	if (atomic_load(&r->srv->shutting_down))
		(void)MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
	return mr;
}

static void simple_resp(berth_resp *resp, unsigned status, const char *ctype, const char *body,
			size_t len)
{
	memset(resp, 0, sizeof(*resp));
	resp->fd = -1;
	resp->status = (int)status;
	resp->body = body;
	resp->body_len = len;
	resp->headers[0].name = MHD_HTTP_HEADER_CONTENT_TYPE;
	resp->headers[0].value = (char *)ctype;
	resp->nheaders = 1;
}

/* A manifest pushed or deleted: queue it for the event-based replication rules. */
static void notify_replication(request *r, const berth_resp *resp)
{
	int put, del;

	if (!r->srv->repl || !resp->route || !resp->repository || !resp->reference ||
	    resp->status < 200 || resp->status > 299)
		return;
	put = strcmp(resp->route, "manifest_put") == 0;
	del = strcmp(resp->route, "manifest_delete") == 0;
	if ((put || del) &&
	    berth_replicator_notify(r->srv->repl, resp->repository, resp->reference, del) < 0)
		berth_warn("request %s: queueing replication: %s", r->request_id,
			   berth_error_last());
}

/* The exchange's response, checked, and audited before the client can see it. */
static void finish_exchange(request *r, berth_resp *resp)
{
	memset(resp, 0, sizeof(*resp));
	resp->fd = -1;
	berth_exchange_finish(r->x, resp);
	if (resp->route)
		r->route = resp->route;
	if (resp->status < 100 || resp->status > 599) {
		berth_err("request %s: %s produced status %d", r->request_id, r->route,
			  resp->status);
		drop_reader(resp);
		simple_resp(resp, 500, "application/json", internal_body,
			    sizeof(internal_body) - 1);
	}
	if (r->srv->api)
		berth_auth_audit_registry(r->srv->api, &r->req, resp->route, resp->repository,
					  resp->reference, resp->status);
	notify_replication(r, resp);
}

/* The mirror's counters (berth/mirror.h) in the Prometheus text format. */
static int render_mirror(berth_mirror *m, berth_buf *b)
{
	berth_mirror_stats st;
	const struct {
		const char *name, *help;
		uint64_t v;
	} * c, lines[] = {
		       {"berth_mirror_hits_total",
			"Manifests and blobs served fresh from the cache.", 0},
		       {"berth_mirror_misses_total", "Manifests and blobs fetched from upstream.",
			0},
		       {"berth_mirror_stale_hits_total",
			"Cached manifests served because upstream failed (stale-if-error).", 0},
		       {"berth_mirror_revalidations_total",
			"Tags checked upstream after their ttl.", 0},
		       {"berth_mirror_upstream_bytes_total", "Bytes read from upstream registries.",
			0},
		       {"berth_mirror_upstream_errors_total", "Failed upstream requests.", 0},
		       {"berth_mirror_fetches_shared_total",
			"Blob requests that joined a fetch already running.", 0},
	       };
	uint64_t v[sizeof(lines) / sizeof(lines[0])];

	berth_mirror_get_stats(m, &st);
	v[0] = st.hits, v[1] = st.misses, v[2] = st.stale_hits, v[3] = st.revalidations;
	v[4] = st.upstream_bytes, v[5] = st.upstream_errors, v[6] = st.fetches_shared;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		c = &lines[i];
		if (berth_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", c->name,
				     c->help, c->name, c->name, (unsigned long long)v[i]) < 0)
			return -1;
	}
	return 0;
}

/*
 * /healthz: 200 "ok" when the database answers and the store can be read,
 * else 503 naming what is down (a load balancer takes this process out).
 * The store is probed with a digest no blob has: "not found" is an answer.
 */
static void health(request *r, berth_resp *resp)
{
	static const char *const answers[2][2] = {
		/* [store ok][database ok] */
		{"unavailable: database down, store down\n", "unavailable: store down\n"},
		{"unavailable: database down\n", "ok\n"},
	};
	static const char probe[] =
		"sha256:"
		"0000000000000000000000000000000000000000000000000000000000000000";
	berth_digest d;
	uint64_t size;
	int db_ok = berth_meta_ping(r->srv->meta) == 0, store_ok = 0, rc;
	const char *text;

	if (berth_digest_parse(&d, probe, sizeof(probe) - 1) == 0) {
		rc = berth_store_stat(r->srv->store, &d, &size);
		store_ok = rc == 0 || rc == BERTH_ENOTFOUND;
	}
	text = answers[store_ok][db_ok];
	if (!db_ok || !store_ok)
		berth_warn("request %s: healthz: %.*s", r->request_id, (int)strlen(text) - 1, text);
	simple_resp(resp, db_ok && store_ok ? 200 : 503, "text/plain; charset=utf-8", text,
		    strlen(text));
}

/* The answers of the server itself: /healthz, /metrics, 404, and 500 before any exchange. */
static void answer_here(request *r, berth_resp *resp)
{
	int get = strcmp(r->req.method, "GET") == 0 || strcmp(r->req.method, "HEAD") == 0;
	berth_buf b = BERTH_BUF_INIT(METRICS_MAX);

	simple_resp(resp, 500, "application/json", internal_body, sizeof(internal_body) - 1);
	if ((r->kind == K_HEALTHZ || r->kind == K_METRICS) && !get) {
		simple_resp(resp, 405, "application/json", not_allowed_body,
			    sizeof(not_allowed_body) - 1);
		resp->headers[1].name = MHD_HTTP_HEADER_ALLOW;
		resp->headers[1].value = "GET, HEAD";
		resp->nheaders = 2;
	} else if (r->kind == K_HEALTHZ) {
		health(r, resp);
	} else if (r->kind == K_METRICS) {
		berth_metrics_gauges g = {
			.uploads_in_progress = berth_registry_uploads_in_progress(r->srv->reg),
			.requests_in_flight = atomic_load(&r->srv->in_flight),
		};

		if (berth_metrics_render(r->srv->metrics, &g, &b) < 0 ||
		    (r->srv->mirror && render_mirror(r->srv->mirror, &b) < 0) ||
		    berth_metrics_render_store(r->srv->store, &b) < 0 ||
		    berth_buf_puts(&b, "") < 0) {
			berth_err("request %s: %s", r->request_id, berth_error_last());
			berth_buf_dispose(&b);
			return;
		}
		r->body = berth_buf_detach(&b, &resp->body_len);
		simple_resp(resp, 200, "text/plain; version=0.0.4; charset=utf-8", r->body,
			    resp->body_len);
	} else if (r->kind == K_NOTFOUND) {
		simple_resp(resp, 404, "application/json", not_found_body,
			    sizeof(not_found_body) - 1);
	}
}

/* Produce this request's response and queue it. Returns an MHD_Result. */
static enum MHD_Result respond(request *r)
{
	berth_resp resp;
	struct MHD_Response *mr;
	enum MHD_Result ok;

	if (r->x)
		finish_exchange(r, &resp);
	else
		answer_here(r, &resp);
	if (!(mr = make_response(r, &resp))) {
		simple_resp(&resp, 500, "application/json", internal_body,
			    sizeof(internal_body) - 1);
		if (!(mr = make_response(r, &resp)))
			return MHD_NO;
	}
	if (strcmp(r->req.method, "HEAD") == 0)
		r->bytes_out = 0;
	ok = MHD_queue_response(r->conn, (unsigned)resp.status, mr);
	MHD_destroy_response(mr);
	if (ok == MHD_YES) {
		r->queued = 1;
		r->status = (unsigned)resp.status;
	}
	return ok;
}

/* ---- the MHD callbacks ---- */

/* A request body follows the headers (a non-zero Content-Length, or chunked). */
static int request_has_body(const request *r)
{
	if (r->req.has_body_length)
		return r->req.body_length > 0;
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/*
 * A request decided from its headers alone. With a body to come, answer now,
 * before any of it is read (MHD then closes the connection); without one,
 * answer in MHD's final call, which keeps the connection alive — clients
 * probe blobs with HEAD and get many 404s and 401s on one connection.
 */
static enum MHD_Result respond_early(request *r)
{
	return request_has_body(r) ? respond(r) : MHD_YES;
}

/* ---- message framing (RFC 9112 6.3) ---- */

typedef struct framing {
	int lengths, lengths_differ, codings, bad_coding;
	const char *length;
} framing;

static enum MHD_Result framing_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	framing *f = cls;
	size_t n;

	(void)kind;
	if (!value)
		value = "";
	if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
		if (f->lengths++ && strcmp(f->length, value) != 0)
			f->lengths_differ = 1;
		f->length = value;
	} else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
		/* Only "chunked", once: any other coding (or a list) we cannot frame. */
		while (*value == ' ' || *value == '\t')
			value++;
		n = strlen(value);
		while (n && (value[n - 1] == ' ' || value[n - 1] == '\t'))
			n--;
		if (f->codings++ || n != 7 || strncasecmp(value, "chunked", 7) != 0)
			f->bad_coding = 1;
	}
	return MHD_YES;
}

/*
 * NULL if the request's body length is unambiguous, else why not. Two
 * different Content-Length values, Content-Length with Transfer-Encoding, or
 * a transfer coding other than one "chunked" could be read differently by a
 * proxy in front of us (request smuggling): such a request is refused and
 * its connection closed, as RFC 9112 6.3 asks.
 */
static const char *framing_problem(struct MHD_Connection *c)
{
	framing f = {0, 0, 0, 0, NULL};

	MHD_get_connection_values(c, MHD_HEADER_KIND, framing_header, &f);
	if (f.lengths_differ)
		return "conflicting Content-Length headers";
	if (f.codings && f.lengths)
		return "both Content-Length and Transfer-Encoding";
	if (f.bad_coding)
		return "unsupported Transfer-Encoding (only one \"chunked\" is accepted)";
	return NULL;
}

static const char bad_framing_body[] = "{\"errors\":[{\"code\":\"UNSUPPORTED\",\"message\":"
				       "\"ambiguous request framing\",\"detail\":null}]}";

/* 400 and close: nothing after this request on the connection is read. */
static enum MHD_Result refuse_framing(request *r, const char *why)
{
	struct MHD_Response *mr;
	enum MHD_Result ok;

	berth_info("request %s: %s: closing the connection", r->request_id, why);
	mr = MHD_create_response_from_buffer(sizeof(bad_framing_body) - 1, (void *)bad_framing_body,
					     MHD_RESPMEM_PERSISTENT);
	if (!mr)
		return MHD_NO;
	(void)MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	(void)MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
	(void)MHD_add_response_header(mr, "X-Request-Id", r->request_id);
	ok = MHD_queue_response(r->conn, MHD_HTTP_BAD_REQUEST, mr);
	MHD_destroy_response(mr);
	if (ok == MHD_YES) {
		r->queued = 1;
		r->status = MHD_HTTP_BAD_REQUEST;
		r->route = "bad_request";
	}
	return ok;
}

/* ---- slow clients: the header watchdog and the body rate ---- */

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static conn_watch *watch_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/*
 * The head of a request has arrived (done = 1), or a response has been sent
 * and the next head may come (done = 0): the next one must arrive within the
 * longer of the idle and header timeouts; once its request line is in (see
 * on_uri), within the header timeout.
 */
static void watch_head_done(struct MHD_Connection *c, int done)
{
	conn_watch *w = watch_of(c);

	if (!w)
		return;
	atomic_store_explicit(&w->head_done, done, memory_order_release);
}

static void watch_rearm(server *s, struct MHD_Connection *c)
{
	conn_watch *w = watch_of(c);
	unsigned wait = s->cfg->idle_timeout > s->cfg->header_timeout ? s->cfg->idle_timeout
								      : s->cfg->header_timeout;

	if (!w)
		return;
	pthread_mutex_lock(&s->watch_lock);
	w->deadline = mono_now() + (time_t)wait;
	atomic_store_explicit(&w->head_done, 0, memory_order_relaxed);
	pthread_mutex_unlock(&s->watch_lock);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	server *s = cls;
	conn_watch *w;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		*socket_context = NULL;
		if (!ci || !(w = calloc(1, sizeof(*w))))
			return; /* unwatched: the idle timeout still applies */
		w->fd = ci->connect_fd;
		w->deadline = mono_now() + (time_t)s->cfg->header_timeout;
		pthread_mutex_lock(&s->watch_lock);
		w->next = s->watched;
		if (s->watched)
			s->watched->prev = w;
		s->watched = w;
		pthread_mutex_unlock(&s->watch_lock);
		*socket_context = w;
		return;
	}
	/* MHD_CONNECTION_NOTIFY_CLOSED: before MHD closes the descriptor. */
	if (!(w = *socket_context))
		return;
	pthread_mutex_lock(&s->watch_lock);
	if (w->prev)
		w->prev->next = w->next;
	else
		s->watched = w->next;
	if (w->next)
		w->next->prev = w->prev;
	pthread_mutex_unlock(&s->watch_lock);
	free(w);
	*socket_context = NULL;
}

/* The request line is in: the rest of the head has header_timeout to come. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	server *s = cls;
	conn_watch *w = watch_of(c);
	time_t by = mono_now() + (time_t)s->cfg->header_timeout;

	(void)uri;
	if (w) {
		pthread_mutex_lock(&s->watch_lock);
		if (by < w->deadline)
			w->deadline = by;
		pthread_mutex_unlock(&s->watch_lock);
	}
	return NULL; /* the access handler's first call sees *con_cls == NULL */
}

static void watch_sweep(server *s)
{
	time_t now = mono_now();

	pthread_mutex_lock(&s->watch_lock);
	for (conn_watch *w = s->watched; w; w = w->next) {
		if (w->cut || atomic_load_explicit(&w->head_done, memory_order_acquire) ||
		    now < w->deadline)
			continue;
		/* Still held by MHD (it tells us before closing): safe to shut down. */
		(void)shutdown(w->fd, SHUT_RDWR);
		w->cut = 1;
		berth_debug("closed a connection whose request head took over %us",
			    s->cfg->header_timeout);
	}
	pthread_mutex_unlock(&s->watch_lock);
}

static void *watchdog_main(void *arg)
{
	server *s = arg;

	pthread_mutex_lock(&s->watch_lock);
	while (!s->watch_stop) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += 500 * 1000 * 1000;
		if (until.tv_nsec >= 1000 * 1000 * 1000) {
			until.tv_sec++;
			until.tv_nsec -= 1000 * 1000 * 1000;
		}
		(void)pthread_cond_timedwait(&s->watch_cond, &s->watch_lock, &until);
		if (s->watch_stop)
			break;
		pthread_mutex_unlock(&s->watch_lock);
		watch_sweep(s);
		pthread_mutex_lock(&s->watch_lock);
	}
	pthread_mutex_unlock(&s->watch_lock);
	return NULL;
}

static int watchdog_init(server *s)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->watch_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->watch_lock, NULL);
	return 0;
}

static int watchdog_start(server *s)
{
	int err;

	if ((err = pthread_create(&s->watchdog, NULL, watchdog_main, s)) != 0)
		return berth_error_set(BERTH_ERROR, "starting the header watchdog: %s",
				       strerror(err));
	s->watchdog_started = 1;
	return 0;
}

static void watchdog_stop(server *s)
{
	if (!s->watchdog_started)
		return;
	pthread_mutex_lock(&s->watch_lock);
	s->watch_stop = 1;
	pthread_cond_signal(&s->watch_cond);
	pthread_mutex_unlock(&s->watch_lock);
	pthread_join(s->watchdog, NULL);
	s->watchdog_started = 0;
}

/*
 * 0 if a request body arrives more slowly than min_upload_rate on average
 * over a min_upload_rate_window (then the connection is closed): a client
 * trickling a body holds a thread's worth of state as long as it likes.
 */
static int body_rate_ok(request *r, size_t n)
{
	const berth_server_config *cfg = r->srv->cfg;
	double secs;

	if (!cfg->min_upload_rate)
		return 1;
	if (!r->rate_start.tv_sec && !r->rate_start.tv_nsec) {
		clock_gettime(CLOCK_MONOTONIC, &r->rate_start);
		r->rate_bytes = n;
		return 1;
	}
	r->rate_bytes += n;
	if ((secs = elapsed_since(&r->rate_start)) < (double)cfg->min_upload_rate_window)
		return 1;
	if ((double)r->rate_bytes < (double)cfg->min_upload_rate * secs) {
		berth_info("request %s: body slower than %u bytes/s over %.0fs: closing the "
			   "connection",
			   r->request_id, cfg->min_upload_rate, secs);
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &r->rate_start);
	r->rate_bytes = 0;
	return 1;
}

/*
 * A worker thread keeps its last finished request struct for the next one,
 * so that a stream of small requests costs no malloc here (MHD runs a
 * connection's callbacks and its completion on the same pool thread).
 */
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;

static void spare_init(void)
{
	(void)pthread_key_create(&spare_key, free);
}

static request *request_alloc(void)
{
	request *r;

	pthread_once(&spare_once, spare_init);
	if ((r = pthread_getspecific(spare_key)) != NULL) {
		pthread_setspecific(spare_key, NULL);
		return r;
	}
	return malloc(sizeof(request));
}

static void request_release(request *r)
{
	if (pthread_getspecific(spare_key) || pthread_setspecific(spare_key, r) != 0)
		free(r);
}

/* "ip:port" ("[v6]:port") of our end of the connection, into out; "" if unknown. */
static void local_addr(struct MHD_Connection *c, char *out, size_t len, unsigned *port)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char text[INET6_ADDRSTRLEN] = "";

	out[0] = '\0';
	*port = 0;
	if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &a->sin_addr, text, sizeof(text));
		*port = ntohs(a->sin_port);
		snprintf(out, len, "%s:%u", text, *port);
	} else if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;

		*port = ntohs(a->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
			inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], text, sizeof(text));
			snprintf(out, len, "%s:%u", text, *port);
		} else {
			inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof(text));
			snprintf(out, len, "[%s]:%u", text, *port);
		}
	}
}

/* 1 if Host `h` names this server: our address, "localhost" or our host name, our port. */
static int host_is_ours(const server *s, const char *h, const char *local, unsigned port)
{
	const char *colon = strrchr(h, ':');
	size_t hl = colon && !strchr(colon, ']') ? (size_t)(colon - h) : strlen(h);
	unsigned given = s->cfg->tls_cert ? 443 : 80;
	const char *lcolon = strrchr(local, ':');

	if (hl < strlen(h)) {
		uint64_t p;

		if (berth_server_parse_uint(h + hl + 1, &p) < 0 || p > 65535)
			return 0;
		given = (unsigned)p;
	}
	if (given != port || !lcolon)
		return 0;
	return (hl == (size_t)(lcolon - local) && strncasecmp(h, local, hl) == 0) ||
	       (hl == 9 && strncasecmp(h, "localhost", 9) == 0) ||
	       (s->hostname[0] && hl == strlen(s->hostname) &&
		strncasecmp(h, s->hostname, hl) == 0);
}

/*
 * The URL clients reach us at, for challenge realms and Location: the
 * configured external URL (http.host) if any; else the client's Host if it
 * names this server; else our own address. A Host naming anything else is
 * never echoed: it could point a client's credentials elsewhere.
 */
static const char *base_url(request *r, const char *host)
{
	const server *s = r->srv;
	const char *scheme = s->cfg->tls_cert ? "https" : "http";
	char local[INET6_ADDRSTRLEN + 16];
	unsigned port;

	if (s->cfg->external_url)
		return s->cfg->external_url;
	local_addr(r->conn, local, sizeof(local), &port);
	if (host_sane(host) && host_is_ours(s, host, local, port))
		return berth_pool_printf(&r->pool, "%s://%s", scheme, host);
	return local[0] ? berth_pool_printf(&r->pool, "%s://%s", scheme, local) : NULL;
}

static request *request_new(server *s, struct MHD_Connection *c, const char *url,
			    const char *method)
{
	request *r = request_alloc();
	const char *v;
	uint64_t len;

	if (!r)
		return NULL;
	memset(r, 0, offsetof(request, request_id));
	berth_pool_init(&r->pool);
	r->srv = s;
	r->conn = c;
	clock_gettime(CLOCK_MONOTONIC, &r->start);
	v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
	if (request_id_sane(v))
		snprintf(r->request_id, sizeof(r->request_id), "%s", v);
	else
		snprintf(r->request_id, sizeof(r->request_id), "%s%08llx", s->id_prefix,
			 (unsigned long long)atomic_fetch_add(&s->next_id, 1));

	r->req.method = method;
	r->req.path = url;
	r->req.header = lookup_header;
	r->req.query = lookup_query;
	r->req.query_n = lookup_query_n;
	r->req.ctx = r;
	if (berth_server_parse_uint(
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
		    &len) == 0) {
		r->req.has_body_length = 1;
		r->req.body_length = len;
	}
	r->req.base_url =
		base_url(r, MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST));
	r->peer = peer_addr(&r->pool, c);
	r->req.remote_addr = client_addr(r);
	if (!r->req.account && r->req.remote_addr)
		r->req.account = berth_pool_printf(&r->pool, "@%s", r->req.remote_addr);
	r->req.request_id = r->request_id;

	if (strcmp(url, "/v2") == 0 || strncmp(url, "/v2/", 4) == 0) {
		r->kind = K_REGISTRY;
		r->route = "registry";
	} else if (s->repl && berth_replicator_handles(url)) {
		r->kind = K_REPL;
		r->route = "replication_api";
	} else if (s->api && berth_auth_handles(url)) {
		r->kind = K_API;
		r->route = "api";
	} else if (strcmp(url, "/healthz") == 0) {
		r->kind = K_HEALTHZ;
		r->route = "healthz";
	} else if (strcmp(url, "/metrics") == 0) {
		r->kind = K_METRICS;
		r->route = "metrics";
	} else {
		r->kind = K_NOTFOUND;
		r->route = "not_found";
	}
	return r;
}

/*
 * Start the registry's or access control's exchange for a new request: with
 * access control on, authenticate the caller first (once, before anything
 * else); a refusal is itself the exchange that answers.
 */
static enum MHD_Result begin_exchange(request *r)
{
	server *s = r->srv;
	int rc;

	if (s->api) {
		if (!(r->id = berth_pool_alloc(&r->pool, sizeof(*r->id))) ||
		    berth_auth_authenticate(s->api, &r->req, r->id, &r->x) < 0)
			goto internal;
		r->req.principal = r->id;
		r->req.account = r->id->principal.kind != BERTH_PRINCIPAL_ANONYMOUS
					 ? r->id->principal.name
					 : NULL;
		if (r->x)
			return respond_early(r);
	}
	if (r->kind == K_API)
		rc = berth_auth_begin(s->api, &r->req, &r->x);
	else if (r->kind == K_REPL)
		/* With access control off, the server only listens on loopback (or
		 * --insecure-open said so): the caller manages replication. */
		rc = berth_replicator_begin(s->repl, &r->req,
					    !s->api || (r->id && r->id->principal.sysadmin), &r->x);
	else if (s->mirror)
		rc = berth_mirror_begin(s->mirror, &r->req, &r->x);
	else
		rc = berth_registry_begin(s->reg, &r->req, &r->x);
	if (rc < 0 || !r->x)
		goto internal;
	/* Rejected from the headers alone (auth, bad name, too large). */
	if (berth_exchange_failed(r->x))
		return respond_early(r);
	return MHD_YES;
internal:
	berth_err("request %s: %s", r->request_id, berth_error_last());
	berth_exchange_free(r->x);
	r->x = NULL;
	r->kind = K_INTERNAL;
	return respond_early(r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	server *s = cls;
	request *r = *con_cls;
	const char *why;

	if (!r) {
		if (!(r = request_new(s, c, url, method)))
			return MHD_NO; /* out of memory: MHD drops the connection */
		*con_cls = r;
		atomic_fetch_add(&s->in_flight, 1);
		watch_head_done(c, 1);
		if ((why = framing_problem(c)) != NULL) {
			r->kind = K_INTERNAL;
			return refuse_framing(r, why);
		}
		if (r->kind == K_REGISTRY || r->kind == K_API || r->kind == K_REPL)
			return begin_exchange(r);
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		r->bytes_in += n;
		if (!body_rate_ok(r, n))
			return MHD_NO;
		if (r->queued)
			return MHD_YES; /* answered from the headers; MHD drains or closes */
		if (r->x && berth_exchange_wants_body(r->x) && !berth_exchange_failed(r->x)) {
			(void)berth_exchange_body(r->x, upload_data, n);
			return MHD_YES;
		}
		/* libmicrohttpd 0.9.75 accepts a response only before the body or after
		 * all of it, so the rest of a failed body is read and dropped. Past a
		 * bound, the connection is closed instead of reading a huge body. */
		r->discarded += n;
		if (r->discarded > DISCARD_MAX) {
			if (r->x) {
				/* Not sent, but its status and route label the log line. */
				berth_resp resp;

				memset(&resp, 0, sizeof(resp));
				resp.fd = -1;
				berth_exchange_finish(r->x, &resp);
				drop_reader(&resp);
				r->status = (unsigned)resp.status;
				if (resp.route)
					r->route = resp.route;
			}
			berth_info(
				"request %s: closing the connection after %llu unwanted body bytes",
				r->request_id, (unsigned long long)r->discarded);
			return MHD_NO;
		}
		return MHD_YES;
	}
	if (r->queued)
		return MHD_YES;
	return respond(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	server *s = cls;
	request *r = *con_cls;
	double secs;

	watch_rearm(s, c);
	if (!r)
		return;
	*con_cls = NULL;
	secs = elapsed_since(&r->start);
	if (!r->queued && !r->status)
		r->status = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? 500 : 499;
	berth_metrics_observe(s->metrics, r->route, r->req.method, r->status, r->bytes_in,
			      r->bytes_out, secs);
	if (s->cfg->access_log || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
		char status[16], in[24], out[24], ms[32];
		static const char *const why[] = {"ok",	      "error",	    "timeout",
						  "shutdown", "read_error", "client_abort"};
		const char *fields[] = {
			"request_id",
			r->request_id,
			"remote",
			r->req.remote_addr ? r->req.remote_addr : "",
			"peer",
			r->peer ? r->peer : "",
			"method",
			log_safe(&r->pool, r->req.method),
			/* the path only: query strings may carry tokens */
			"path",
			log_safe(&r->pool, r->req.path),
			"status",
			status,
			"route",
			r->route,
			"bytes_in",
			in,
			"bytes_out",
			out,
			"duration_ms",
			ms,
			"user_agent",
			log_safe(&r->pool, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
								       MHD_HTTP_HEADER_USER_AGENT)),
			toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? "termination" : NULL,
			(unsigned)toe < sizeof(why) / sizeof(why[0]) ? why[toe] : "other",
			NULL,
		};

		snprintf(status, sizeof(status), "%u", r->status);
		snprintf(in, sizeof(in), "%llu", (unsigned long long)r->bytes_in);
		snprintf(out, sizeof(out), "%llu", (unsigned long long)r->bytes_out);
		snprintf(ms, sizeof(ms), "%.3f", secs * 1e3);
		berth_log_fields(s->cfg->access_log ? BERTH_LOG_INFO : BERTH_LOG_DEBUG, "request",
				 fields);
	}
	berth_exchange_free(r->x);
	if (r->id)
		explicit_bzero(r->id, sizeof(*r->id));
	free(r->body);
	berth_pool_dispose(&r->pool);
	request_release(r);
	atomic_fetch_sub(&s->in_flight, 1);
}

/* MHD's own messages: errors while starting, otherwise mostly client noise. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	server *s = cls;
	char msg[512];
	size_t n;
	berth_log_level lvl = BERTH_LOG_DEBUG;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	/* Client mistakes (bad requests, resets, oversized headers) stay at debug;
	 * trouble with the daemon itself is an error. */
	if (!atomic_load(&s->running) || strstr(msg, "allocate") || strstr(msg, "thread") ||
	    strstr(msg, "epoll") || strstr(msg, "accepting"))
		lvl = BERTH_LOG_ERROR;
	berth_log(lvl, "http: %s", msg);
}

/* ---- listening socket ---- */

static int split_listen(const char *addr, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon;
	size_t hl;

	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (!close || close[1] != ':')
			return -1;
		hl = (size_t)(close - addr - 1);
		addr++;
		colon = close + 1;
	} else {
		if (!(colon = strrchr(addr, ':')) || memchr(addr, ':', (size_t)(colon - addr)))
			return -1;
		hl = (size_t)(colon - addr);
	}
	if (hl >= hostlen || strlen(colon + 1) >= portlen || !colon[1])
		return -1;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	for (const char *p = port; *p; p++)
		if (*p < '0' || *p > '9')
			return -1;
	return atoi(port) <= 65535 ? 0 : -1;
}

static int open_listener(const char *listen_addr, unsigned backlog, int *fd_out, char *bound,
			 size_t boundlen)
{
	char host[256], port[8];
	struct addrinfo hints = {0}, *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char text[INET6_ADDRSTRLEN];
	int fd = -1, one = 1, zero = 0, gai, rc = 0;

	*fd_out = -1;
	if (split_listen(listen_addr, host, sizeof(host), port, sizeof(port)) < 0) {
		rc = berth_error_set(BERTH_EINVALID,
				     "listen address '%s': expected HOST:PORT or [IPV6]:PORT",
				     listen_addr);
		goto done;
	}
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	/* ":5000" listens on every address, IPv6 and IPv4 alike. */
	if ((gai = getaddrinfo(host[0] ? host : "::", port, &hints, &ai)) != 0 && !host[0])
		gai = getaddrinfo("0.0.0.0", port, &hints, &ai);
	if (gai != 0) {
		rc = berth_error_set(BERTH_EINVALID, "listen address '%s': %s", listen_addr,
				     gai_strerror(gai));
		goto done;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = berth_error_set_errno("listen %s: socket", listen_addr);
		goto done;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6 && !host[0])
		(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, (int)backlog) < 0) {
		rc = berth_error_set(BERTH_EIO, "listen %s: %s", listen_addr, strerror(errno));
		goto done;
	}
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, text,
				  sizeof(text));
			snprintf(bound, boundlen, "[%s]:%u", text,
				 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port));
		} else {
			inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text,
				  sizeof(text));
			snprintf(bound, boundlen, "%s:%u", text,
				 ntohs(((struct sockaddr_in *)&ss)->sin_port));
		}
	} else {
		snprintf(bound, boundlen, "%s", listen_addr);
	}
	*fd_out = fd;
	fd = -1;
done:
	if (fd >= 0)
		close(fd);
	if (ai)
		freeaddrinfo(ai);
	return rc;
}

/* ---- the upload purger ---- */

static void purge_once(server *s)
{
	int purged = 0, won = 0;

	/* Of the processes sharing the database, one purges at a time: the one
	 * holding the lease, taken for the purge only (purging is idempotent; a
	 * lease kept between purges would stop a restarted process, whose holder
	 * id is new, from purging at start). A process killed mid-purge holds it
	 * PURGE_LEASE_TTL seconds at most. */
	if (berth_meta_lease_take(s->meta, PURGE_LEASE, s->holder, time(NULL), PURGE_LEASE_TTL,
				  &won) < 0) {
		berth_warn("purging stale uploads: %s", berth_error_last());
		return;
	}
	if (!won)
		return;
	if (berth_registry_purge_uploads(s->reg, s->cfg->upload_purge_age, &purged) < 0)
		berth_warn("purging stale uploads: %s", berth_error_last());
	else if (purged)
		berth_info("purged %d stale upload(s) older than %lds", purged,
			   s->cfg->upload_purge_age);
	if (berth_meta_lease_release(s->meta, PURGE_LEASE, s->holder) < 0)
		berth_warn("purging stale uploads: %s", berth_error_last());
}

static void *purger_main(void *arg)
{
	server *s = arg;

	pthread_mutex_lock(&s->purge_lock);
	while (!s->purge_stop) {
		struct timespec until;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += PURGE_INTERVAL;
		while (!s->purge_stop &&
		       pthread_cond_timedwait(&s->purge_cond, &s->purge_lock, &until) != ETIMEDOUT)
			;
		if (s->purge_stop)
			break;
		pthread_mutex_unlock(&s->purge_lock);
		purge_once(s);
		pthread_mutex_lock(&s->purge_lock);
	}
	pthread_mutex_unlock(&s->purge_lock);
	return NULL;
}

static int purger_start(server *s)
{
	pthread_condattr_t ca;
	int err;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->purge_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&s->purge_lock, NULL);
	if ((err = pthread_create(&s->purger, NULL, purger_main, s)) != 0) {
		pthread_cond_destroy(&s->purge_cond);
		pthread_mutex_destroy(&s->purge_lock);
		return berth_error_set(BERTH_ERROR, "starting the upload purger: %s",
				       strerror(err));
	}
	s->purger_started = 1;
	return 0;
}

static void purger_stop(server *s)
{
	if (!s->purger_started)
		return;
	pthread_mutex_lock(&s->purge_lock);
	s->purge_stop = 1;
	pthread_cond_signal(&s->purge_cond);
	pthread_mutex_unlock(&s->purge_lock);
	pthread_join(s->purger, NULL);
	pthread_cond_destroy(&s->purge_cond);
	pthread_mutex_destroy(&s->purge_lock);
	s->purger_started = 0;
}

/* ---- start, wait, drain ---- */

/* MHD's accept policy: while draining, a new connection is closed at once. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	server *s = cls;

	(void)addr;
	(void)addrlen;
	return atomic_load(&s->shutting_down) ? MHD_NO : MHD_YES;
}

static int start_daemon(server *s)
{
	const berth_server_config *cfg = s->cfg;
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[] = {
		{MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert.ptr},
		{MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key.ptr},
		/* TLS 1.2 and 1.3 only: 1.0 and 1.1 are refused. */
		{MHD_OPTION_HTTPS_PRIORITIES, 0,
		 (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE"},
		{MHD_OPTION_END, 0, NULL},
	};

	if (cfg->tls_cert) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return berth_error_set(BERTH_EUNSUPPORTED,
					       "this libmicrohttpd has no TLS support");
		flags |= MHD_USE_TLS;
	} else {
		tls[0].option = MHD_OPTION_END;
	}
	s->daemon = MHD_start_daemon(
		flags, 0, accept_policy, s, on_request, s,
		/* first, so that MHD's messages about the other options come here too */
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_LISTEN_SOCKET,
		(MHD_socket)s->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->idle_timeout,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)cfg->max_header_bytes,
		MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)cfg->listen_backlog,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
		on_connection, s, MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_connections_per_address,
		MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!s->daemon)
		return berth_error_set(BERTH_ERROR,
				       "starting the HTTP daemon failed (see the log above)");
	atomic_store(&s->running, 1);
	return 0;
}

static void drain(server *s)
{
	struct timespec t0;
	long left;

	/* From here on accept_policy() closes every new connection. */
	atomic_store(&s->shutting_down, 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((left = atomic_load(&s->in_flight)) > 0 &&
	       elapsed_since(&t0) < (double)s->cfg->shutdown_timeout) {
		struct timespec tick = {0, 20 * 1000 * 1000};

		nanosleep(&tick, NULL);
	}
	if (left > 0)
		berth_warn("shutdown: %ld request(s) still running after %us; closing them", left,
			   s->cfg->shutdown_timeout);
	MHD_stop_daemon(s->daemon);
	s->daemon = NULL;
	/* MHD closed the listening socket it was given. */
	s->listen_fd = -1;
}

/* Read a small secret-bearing file (TLS key, password) whole. */
/* A metadata location served by the postgres driver (berth_meta_open_opts). */
static int is_postgres(const char *db)
{
	return strncmp(db, "postgres:", 9) == 0 || strncmp(db, "postgresql:", 11) == 0;
}

/* The file of a SQLite location ("sqlite://PATH" or a plain path). */
static const char *sqlite_path(const char *db)
{
	return strncmp(db, "sqlite://", 9) == 0 ? db + 9 : db;
}

static int read_small(berth_buf *out, const char *path, const char *what)
{
	int rc;

	berth_buf_init(out, 1024 * 1024);
	if ((rc = berth_fs_read_file(out, path)) < 0 || berth_buf_puts(out, "") < 0) {
		berth_buf_dispose_secret(out);
		return berth_error_set(rc < 0 ? rc : BERTH_ERROR, "cannot read the %s %s: %s", what,
				       path, rc == BERTH_ENOTFOUND ? "no such file" : "unreadable");
	}
	return 0;
}

/* The admin password: first line of the file, or $BERTH_ADMIN_PASSWORD; *out NULL if none. */
static int admin_password(const berth_server_config *cfg, berth_buf *buf, const char **out)
{
	const char *env = getenv("BERTH_ADMIN_PASSWORD");
	int rc;

	*out = NULL;
	berth_buf_init(buf, 0);
	if (cfg->admin_password_file) {
		if ((rc = read_small(buf, cfg->admin_password_file, "admin password file")) < 0)
			return rc;
		buf->ptr[strcspn(buf->ptr, "\r\n")] = '\0';
		if (!buf->ptr[0])
			return berth_error_set(BERTH_EINVALID,
					       "the admin password file %s is empty",
					       cfg->admin_password_file);
		*out = buf->ptr;
	} else if (env && *env) {
		*out = env;
	}
	return 0;
}

/* 1 if the bound address "host:port" / "[v6]:port" is a loopback address. */
/* Access control: the signing key, the api, first-start setup, the registry hook. */
static int setup_auth(server *s)
{
	const berth_server_config *cfg = s->cfg;
	berth_auth_config acfg = {cfg->token_issuer, cfg->token_service,
				  (long)cfg->token_expiration, (long)cfg->credential_cache_seconds};
	berth_registry_authz hook;
	berth_buf pwbuf;
	const char *pw = NULL;
	char *keypath = NULL;
	int rc;

	if ((rc = admin_password(cfg, &pwbuf, &pw)) < 0)
		goto done;
	if (asprintf(&keypath, "%s/token-key.pem", cfg->data_dir) < 0) {
		keypath = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = berth_token_key_load_or_create(&s->key, keypath)) < 0)
		goto done;
	if ((rc = berth_auth_new(&s->api, s->meta, s->key, &acfg)) < 0)
		goto done;
	if ((rc = berth_auth_bootstrap(s->api, pw)) < 0)
		goto done;
	berth_auth_registry_authz(s->api, &hook);
	berth_registry_set_authz(s->reg, &hook);
done:
	berth_buf_dispose_secret(&pwbuf);
	free(keypath);
	return rc;
}

/* A pull-through mirror in front of the registry, with the same access control. */
static int setup_mirror(server *s)
{
	int rc = berth_mirror_new(&s->mirror, s->reg, s->store, s->meta, s->cfg->mirror_json);

	if (rc == 0 && s->api) {
		berth_registry_authz hook;

		berth_auth_registry_authz(s->api, &hook);
		berth_mirror_set_authz(s->mirror, &hook);
	}
	return rc;
}

static const char *signal_name(int sig)
{
	return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal";
}

/*
 * The replicator: rules from the config file and the database, executions
 * through this server's own address (`bound`, with a wildcard host made
 * loopback), its scheme, and its in-memory system account when access
 * control is on. BERTH_REPLICATION_TEST_CLOCK=1 in the environment lets tests
 * drive the scheduler (POST /api/v1/replication/tick) instead of the clock.
 */
static int start_replication(server *s, const char *bound)
{
	berth_replicator_options o = {0};
	const char *clock = getenv("BERTH_REPLICATION_TEST_CLOCK");
	char self[300], *key = NULL;
	int rc;

	if (strncmp(bound, "0.0.0.0:", 8) == 0)
		snprintf(self, sizeof(self), "127.0.0.1:%s", bound + 8);
	else if (strncmp(bound, "[::]:", 5) == 0)
		snprintf(self, sizeof(self), "[::1]:%s", bound + 5);
	else
		snprintf(self, sizeof(self), "%s", bound);
	o.meta = s->meta;
	o.self = self;
	o.self_tls = s->cfg->tls_cert != NULL;
	if (s->api) {
		o.self_username = BERTH_AUTH_SYSTEM_USER;
		o.self_password = berth_auth_system_password(s->api);
	}
	o.rules_json = s->cfg->replication_json;
	o.test_clock = clock && strcmp(clock, "1") == 0;
	o.holder = s->holder;
	if (asprintf(&key, "%s/replication.key", s->cfg->data_dir) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	o.key_file = key;
	rc = berth_replicator_new(&s->repl, &o);
	free(key);
	return rc;
}

int berth_server_run(const berth_server_config *cfg)
{
	server s;
	berth_registry_config rcfg;
	sigset_t sigs;
	char bound[INET6_ADDRSTRLEN + 16];
	char *db = NULL, *reserve = NULL;
	unsigned char rnd[8];
	int sig = 0, rc = 0;

	memset(&s, 0, sizeof(s));
	s.cfg = cfg;
	s.listen_fd = -1;
	(void)watchdog_init(&s);
	if (gethostname(s.hostname, sizeof(s.hostname)) != 0)
		s.hostname[0] = '\0';
	s.hostname[sizeof(s.hostname) - 1] = '\0';
	/* Block the stop signals before any thread exists: every thread inherits
	 * the mask and only the main thread takes them, in sigwait(). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN); /* sendfile to a closed peer */

	berth_buf_init(&s.tls_cert, 0);
	berth_buf_init(&s.tls_key, 0);
	if (cfg->tls_cert &&
	    ((rc = read_small(&s.tls_cert, cfg->tls_cert, "TLS certificate")) < 0 ||
	     (rc = read_small(&s.tls_key, cfg->tls_key, "TLS key")) < 0))
		goto done;
	if (berth_random(rnd, sizeof(rnd)) < 0) {
		struct timespec ts;

		berth_error_clear();
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(rnd, &ts.tv_nsec,
		       sizeof(rnd) < sizeof(ts.tv_nsec) ? sizeof(rnd) : sizeof(ts.tv_nsec));
	}
	for (size_t i = 0; i < 4; i++)
		snprintf(s.id_prefix + 2 * i, 3, "%02x", rnd[i]);
	/* Unique among the processes sharing the database, and new at each start. */
	snprintf(s.holder, sizeof(s.holder), "%.64s:%ld:%s", s.hostname[0] ? s.hostname : "host",
		 (long)getpid(), s.id_prefix);
	if ((rc = berth_proxies_parse(&s.proxies, cfg->trusted_proxies)) < 0)
		goto done;

	if ((rc = berth_server_config_open_store(cfg, &s.store)) < 0)
		goto done;
	if ((rc = berth_server_config_database(cfg, &db)) < 0)
		goto done;
	{
		berth_meta_options mo = {(int)cfg->db_pool_size, (long)cfg->db_statement_timeout};

		if ((rc = berth_meta_open_opts(&s.meta, db, &mo)) < 0)
			goto done;
	}
	berth_registry_config_defaults(&rcfg);
	rcfg.max_manifest_bytes = cfg->max_manifest_bytes;
	rcfg.max_blob_bytes = cfg->max_blob_bytes;
	rcfg.max_uploads_per_repository = (long)cfg->max_uploads_per_repository;
	rcfg.max_uploads_per_account = (long)cfg->max_uploads_per_account;
	rcfg.upload_purge_age = cfg->upload_purge_age;
	/* The reserve lies beside a SQLite file, in the data directory otherwise. */
	if (is_postgres(db) ? asprintf(&reserve, "%s/berth.db.reserve", cfg->data_dir) < 0
			    : asprintf(&reserve, "%s.reserve", sqlite_path(db)) < 0) {
		reserve = NULL;
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rcfg.reserve_path = reserve;
	rcfg.reserve_bytes = RESERVE_BYTES;
	if ((rc = berth_registry_new(&s.reg, s.store, s.meta, &rcfg)) < 0)
		goto done;
	if ((rc = berth_policy_new(&s.policy, s.meta, s.store)) < 0)
		goto done;
	{
		berth_registry_gate gate;

		berth_policy_gate(s.policy, &gate);
		berth_registry_set_gate(s.reg, &gate);
	}
	if (cfg->auth_enabled && (rc = setup_auth(&s)) < 0)
		goto done;
	if (cfg->mirror_json && (rc = setup_mirror(&s)) < 0)
		goto done;
	if ((rc = berth_metrics_new(&s.metrics)) < 0 || (rc = berth_mapped_new(&s.mapped)) < 0)
		goto done;
	purge_once(&s);
	/* A literal address is judged before it is bound (so the refusal does not
	 * depend on the port being free), a host name once it has resolved. */
	if ((listen_is_literal(cfg->listen) && (rc = refuse_open(cfg, cfg->listen)) < 0) ||
	    (rc = open_listener(cfg->listen, cfg->listen_backlog, &s.listen_fd, bound,
				sizeof(bound))) < 0 ||
	    (rc = refuse_open(cfg, bound)) < 0)
		goto done;
	/* Said before MHD starts: the socket already listens, and the first
	 * request's log line must not come before this one. */
	{
		char threads[16], msg[sizeof(bound) + 48];
		/* A PostgreSQL DSN may carry a password: log the driver only. */
		const char *fields[] = {
			"data",	   cfg->data_dir, "db", is_postgres(db) ? "postgres" : db,
			"threads", threads,	  NULL};

		snprintf(threads, sizeof(threads), "%u", cfg->threads);
		snprintf(msg, sizeof(msg), "listening on %s%s", bound,
			 cfg->tls_cert ? " (https)" : "");
		berth_log_fields(BERTH_LOG_INFO, msg, fields);
	}
	/* Said before the first request is served: a client may read the log at once. */
	if (cfg->auth_enabled)
		berth_info("access control is on (token service at /token, admin API at /api/v1/)");
	else
		berth_warn("access control is off: the registry is open to anyone who can connect "
			   "to %s%s",
			   bound, cfg->insecure_open ? " (--insecure-open)" : " (loopback only)");
	/* Before the daemon: requests may reach /api/v1/replication at once. Runs
	 * that start now copy through the listening socket, which queues them. */
	if ((rc = start_replication(&s, bound)) < 0 || (rc = start_daemon(&s)) < 0)
		goto done;
	if ((rc = watchdog_start(&s)) < 0)
		goto done;
	if ((rc = purger_start(&s)) < 0)
		goto done;
	while (sigwait(&sigs, &sig) != 0)
		;
	berth_info("%s received: draining in-flight requests", signal_name(sig));
	drain(&s);
	berth_info("stopped");
done:
	/* Executions copy through this server: stop them while it still answers. */
	berth_replicator_free(s.repl);
	s.repl = NULL;
	purger_stop(&s);
	watchdog_stop(&s);
	if (s.daemon) {
		MHD_stop_daemon(s.daemon);
		/* MHD closed the listening socket it was given. */
		s.listen_fd = -1;
	}
	pthread_cond_destroy(&s.watch_cond);
	pthread_mutex_destroy(&s.watch_lock);
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	berth_mapped_free(s.mapped); /* after MHD: it destroyed every response */
	berth_metrics_free(s.metrics);
	berth_mirror_free(s.mirror); /* after MHD: no request reads a fetch any more */
	berth_auth_free(s.api);
	berth_token_key_free(s.key);
	berth_registry_free(s.reg);
	berth_policy_free(s.policy);
	berth_meta_free(s.meta);
	berth_store_free(s.store);
	free(db);
	free(reserve);
	berth_buf_dispose_secret(&s.tls_key);
	berth_buf_dispose(&s.tls_cert);
	return rc;
}
