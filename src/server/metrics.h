/*
 * metrics.h - the server's Prometheus metrics: request counters by route,
 * method and status code, byte counters, a latency histogram and gauges.
 *
 * Recording is lock-free (relaxed atomics on fixed arrays); no memory is
 * allocated per request. A route label seen for the first time takes a slot
 * under a mutex once; later lookups only read. Rendering (GET /metrics)
 * writes the Prometheus text exposition format 0.0.4.
 */
#ifndef BERTH_SERVER_METRICS_H
#define BERTH_SERVER_METRICS_H

#include "berth/common.h"
#include "berth/store.h"
#include "util/buf.h"

#include <stdint.h>

typedef struct berth_metrics berth_metrics;

/** Create the metrics registry; records the process start time. */
int berth_metrics_new(berth_metrics **out) BERTH_WARN_UNUSED;
void berth_metrics_free(berth_metrics *m);

/**
 * Record one finished request. `route` is a short label ("blob_get"); labels
 * beyond the fixed number of slots are counted as "other". Thread-safe.
 */
void berth_metrics_observe(berth_metrics *m, const char *route, const char *method, unsigned status,
			   uint64_t bytes_in, uint64_t bytes_out, double seconds);

/** Gauges sampled at render time. */
typedef struct berth_metrics_gauges {
	long uploads_in_progress;
	long requests_in_flight;
} berth_metrics_gauges;

/** Append the text exposition of every metric to `out`. */
int berth_metrics_render(berth_metrics *m, const berth_metrics_gauges *g,
			 berth_buf *out) BERTH_WARN_UNUSED;

/**
 * Append the store's per-operation counters (S3 requests by operation and
 * class, retries, bytes, latency histogram); nothing for a store without
 * remote requests (fs).
 */
int berth_metrics_render_store(berth_store *s, berth_buf *out) BERTH_WARN_UNUSED;

#endif
