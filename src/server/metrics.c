/*
 * metrics.c - lock-free request metrics and their Prometheus exposition
 * (see metrics.h).
 *
 * All counters live in one calloc'd block of fixed arrays indexed by
 * (route slot, method, status code slot), bumped with relaxed atomics. The
 * only lock guards the rare first sighting of a route label; readers find
 * published slots through an acquire load of the slot count.
 */
#include "server/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define ROUTES 48
#define ROUTE_NAME_MAX 40
#define METHODS 8

static const char *const method_names[METHODS] = {"GET",   "HEAD",   "PUT",	"POST",
						  "PATCH", "DELETE", "OPTIONS", "other"};

static const unsigned known_codes[] = {200, 201, 202, 204, 206, 301, 302, 304, 307, 308, 400,
				       401, 403, 404, 405, 406, 408, 409, 411, 412, 413, 414,
				       415, 416, 429, 431, 500, 501, 502, 503, 504};
#define NKNOWN (sizeof(known_codes) / sizeof(known_codes[0]))
/* Codes not in the list are counted by class: "1xx" .. "5xx". */
#define CODES (NKNOWN + 5)

static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				 0.1,	 0.25,	0.5,	1,     2.5,  5,	    10};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

typedef struct route_stats {
	char name[ROUTE_NAME_MAX];
	_Atomic uint64_t requests[METHODS][CODES];
	_Atomic uint64_t bytes_in;
	_Atomic uint64_t bytes_out;
	_Atomic uint64_t hist[NBUCKETS + 1]; /* per bucket, not cumulative; last is +Inf */
	_Atomic uint64_t sum_us;
	_Atomic uint64_t count;
} route_stats;

struct berth_metrics {
	pthread_mutex_t lock; /* only for adding a route slot */
	_Atomic unsigned nroutes;
	double start_time;
	route_stats routes[ROUTES];
};

int berth_metrics_new(berth_metrics **out)
{
	berth_metrics *m = calloc(1, sizeof(*m));
	struct timeval tv;

	*out = NULL;
	if (!m)
		return berth_error_set(BERTH_ERROR, "out of memory");
	pthread_mutex_init(&m->lock, NULL);
	strcpy(m->routes[0].name, "other");
	atomic_store(&m->nroutes, 1);
	gettimeofday(&tv, NULL);
	m->start_time = (double)tv.tv_sec + tv.tv_usec / 1e6;
	*out = m;
	return 0;
}

void berth_metrics_free(berth_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static int label_ok(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') || s[n] == '_'))
			return 0;
	return n > 0 && n < ROUTE_NAME_MAX;
}

static route_stats *route_slot(berth_metrics *m, const char *route)
{
	unsigned n;

	if (!route || !label_ok(route))
		return &m->routes[0];
	n = atomic_load_explicit(&m->nroutes, memory_order_acquire);
	for (unsigned i = 1; i < n; i++)
		if (strcmp(m->routes[i].name, route) == 0)
			return &m->routes[i];
	pthread_mutex_lock(&m->lock);
	n = atomic_load_explicit(&m->nroutes, memory_order_relaxed);
	for (unsigned i = 1; i < n; i++) {
		if (strcmp(m->routes[i].name, route) == 0) {
			pthread_mutex_unlock(&m->lock);
			return &m->routes[i];
		}
	}
	if (n < ROUTES) {
		strcpy(m->routes[n].name, route);
		/* Publish the name before the slot becomes visible. */
		atomic_store_explicit(&m->nroutes, n + 1, memory_order_release);
		pthread_mutex_unlock(&m->lock);
		return &m->routes[n];
	}
	pthread_mutex_unlock(&m->lock);
	return &m->routes[0];
}

static unsigned method_slot(const char *method)
{
	for (unsigned i = 0; i < METHODS - 1; i++)
		if (method && strcmp(method, method_names[i]) == 0)
			return i;
	return METHODS - 1;
}

static unsigned code_slot(unsigned status)
{
	for (unsigned i = 0; i < NKNOWN; i++)
		if (known_codes[i] == status)
			return i;
	if (status < 100 || status > 599)
		status = 500;
	return (unsigned)NKNOWN + status / 100 - 1;
}

void berth_metrics_observe(berth_metrics *m, const char *route, const char *method, unsigned status,
			   uint64_t bytes_in, uint64_t bytes_out, double seconds)
{
	route_stats *r = route_slot(m, route);
	unsigned b = 0;

	if (!(seconds >= 0))
		seconds = 0;
	while (b < NBUCKETS && seconds > buckets[b])
		b++;
	atomic_fetch_add_explicit(&r->requests[method_slot(method)][code_slot(status)], 1,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&r->bytes_in, bytes_in, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->bytes_out, bytes_out, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->hist[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->sum_us, (uint64_t)llround(seconds * 1e6),
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&r->count, 1, memory_order_relaxed);
}

static int header(berth_buf *out, const char *name, const char *type, const char *help)
{
	return berth_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int code_label(unsigned slot, char buf[8])
{
	if (slot < NKNOWN)
		return snprintf(buf, 8, "%u", known_codes[slot]);
	return snprintf(buf, 8, "%uxx", slot - (unsigned)NKNOWN + 1);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

int berth_metrics_render(berth_metrics *m, const berth_metrics_gauges *g, berth_buf *out)
{
	unsigned n = atomic_load_explicit(&m->nroutes, memory_order_acquire);
	int rc = 0;

	rc |= header(out, "berth_http_requests_total", "counter",
		     "HTTP requests handled, by route, method and status code.");
	for (unsigned i = 0; i < n; i++) {
		route_stats *r = &m->routes[i];

		for (unsigned mt = 0; mt < METHODS; mt++) {
			for (unsigned c = 0; c < CODES; c++) {
				uint64_t v = LOAD(r->requests[mt][c]);
				char code[8];

				if (!v)
					continue;
				code_label(c, code);
				rc |= berth_buf_printf(out,
						       "berth_http_requests_total{route=\"%s\","
						       "method=\"%s\",code=\"%s\"} %llu\n",
						       r->name, method_names[mt], code,
						       (unsigned long long)v);
			}
		}
	}
	rc |= header(out, "berth_http_request_bytes_total", "counter",
		     "Bytes of request bodies received, by route.");
	for (unsigned i = 0; i < n; i++)
		if (LOAD(m->routes[i].count))
			rc |= berth_buf_printf(
				out, "berth_http_request_bytes_total{route=\"%s\"} %llu\n",
				m->routes[i].name, (unsigned long long)LOAD(m->routes[i].bytes_in));
	rc |= header(out, "berth_http_response_bytes_total", "counter",
		     "Bytes of response bodies sent, by route.");
	for (unsigned i = 0; i < n; i++)
		if (LOAD(m->routes[i].count))
			rc |= berth_buf_printf(
				out, "berth_http_response_bytes_total{route=\"%s\"} %llu\n",
				m->routes[i].name,
				(unsigned long long)LOAD(m->routes[i].bytes_out));
	rc |= header(out, "berth_http_request_duration_seconds", "histogram",
		     "Time from the request headers to the end of the response, by route.");
	for (unsigned i = 0; i < n; i++) {
		route_stats *r = &m->routes[i];
		uint64_t cum = 0;

		if (!LOAD(r->count))
			continue;
		for (unsigned b = 0; b <= NBUCKETS; b++) {
			cum += LOAD(r->hist[b]);
			if (b < NBUCKETS)
				rc |= berth_buf_printf(out,
						       "berth_http_request_duration_seconds_bucket{"
						       "route=\"%s\",le=\"%g\"} %llu\n",
						       r->name, buckets[b],
						       (unsigned long long)cum);
			else
				rc |= berth_buf_printf(out,
						       "berth_http_request_duration_seconds_bucket{"
						       "route=\"%s\",le=\"+Inf\"} %llu\n",
						       r->name, (unsigned long long)cum);
		}
		/* The count is the +Inf bucket so that the two always agree. */
		rc |= berth_buf_printf(
			out,
			"berth_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
			"berth_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
			r->name, (double)LOAD(r->sum_us) / 1e6, r->name, (unsigned long long)cum);
	}
	rc |= header(out, "berth_http_requests_in_flight", "gauge",
		     "HTTP requests being handled now.");
	rc |= berth_buf_printf(out, "berth_http_requests_in_flight %ld\n", g->requests_in_flight);
	rc |= header(out, "berth_uploads_in_progress", "gauge",
		     "Blob upload sessions in progress in this process.");
	rc |= berth_buf_printf(out, "berth_uploads_in_progress %ld\n", g->uploads_in_progress);
	rc |= header(out, "berth_process_start_time_seconds", "gauge",
		     "Start time of the process since the Unix epoch in seconds.");
	rc |= berth_buf_printf(out, "berth_process_start_time_seconds %.3f\n", m->start_time);
	rc |= header(out, "process_start_time_seconds", "gauge",
		     "Start time of the process since the Unix epoch in seconds.");
	rc |= berth_buf_printf(out, "process_start_time_seconds %.3f\n", m->start_time);
	return rc ? berth_error_set(BERTH_ETOOBIG, "metrics: output exceeds its cap") : 0;
}

/* One family of per-operation counters; `field`: 0 retries, 1 bytes out, 2 bytes in. */
static int store_counter(berth_buf *out, const berth_store_op_stats *ops, size_t n,
			 const char *name, const char *help, int field)
{
	int rc = header(out, name, "counter", help);

	for (size_t i = 0; i < n; i++) {
		uint64_t v = field == 0	  ? ops[i].retries
			     : field == 1 ? ops[i].bytes_out
					  : ops[i].bytes_in;

		rc |= berth_buf_printf(out, "%s{operation=\"%s\"} %llu\n", name, ops[i].op,
				       (unsigned long long)v);
	}
	return rc;
}

static int store_histogram(berth_buf *out, const berth_store_op_stats *ops, size_t n)
{
	static const char *const name = "berth_s3_request_duration_seconds";
	int rc = header(out, name, "histogram",
			"Time of each S3 request attempt (retries included), by operation.");

	for (size_t i = 0; i < n; i++) {
		uint64_t cum = 0;

		for (unsigned b = 0; b < BERTH_STORE_OP_BUCKETS; b++) {
			cum += ops[i].hist[b];
			rc |= berth_buf_printf(out, "%s_bucket{operation=\"%s\",le=\"%g\"} %llu\n",
					       name, ops[i].op, berth_store_op_bucket(b),
					       (unsigned long long)cum);
		}
		cum += ops[i].hist[BERTH_STORE_OP_BUCKETS];
		rc |= berth_buf_printf(out,
				       "%s_bucket{operation=\"%s\",le=\"+Inf\"} %llu\n"
				       "%s_sum{operation=\"%s\"} %.6f\n"
				       "%s_count{operation=\"%s\"} %llu\n",
				       name, ops[i].op, (unsigned long long)cum, name, ops[i].op,
				       (double)ops[i].sum_us / 1e6, name, ops[i].op,
				       (unsigned long long)cum);
	}
	return rc;
}

int berth_metrics_render_store(berth_store *s, berth_buf *out)
{
	berth_store_op_stats ops[BERTH_STORE_OPS_MAX];
	size_t n = berth_store_get_op_stats(s, ops, BERTH_STORE_OPS_MAX);
	int rc;

	if (!n)
		return 0;
	rc = header(out, "berth_s3_requests_total", "counter",
		    "S3 request attempts, by operation and class of the answer "
		    "(error: no HTTP answer).");
	for (size_t i = 0; i < n; i++)
		for (unsigned c = 0; c < BERTH_STORE_OP_CLASSES; c++)
			if (ops[i].by_class[c])
				rc |= berth_buf_printf(out,
						       "berth_s3_requests_total{operation=\"%s\","
						       "code=\"%s\"} %llu\n",
						       ops[i].op, berth_store_op_class(c),
						       (unsigned long long)ops[i].by_class[c]);
	rc |= store_counter(out, ops, n, "berth_s3_retries_total",
			    "S3 request attempts that were retries, by operation.", 0);
	rc |= store_counter(out, ops, n, "berth_s3_request_bytes_total",
			    "Bytes of S3 request bodies sent, by operation.", 1);
	rc |= store_counter(out, ops, n, "berth_s3_response_bytes_total",
			    "Bytes of S3 response bodies received, by operation.", 2);
	rc |= store_histogram(out, ops, n);
	return rc ? berth_error_set(BERTH_ETOOBIG, "metrics: output exceeds its cap") : 0;
}
