/*
 * server.h - `berth serve`: the HTTP daemon (libmicrohttpd) in front of the
 * registry library.
 *
 * The server opens the store and the metadata database, builds a registry,
 * listens, routes /v2 to the registry and serves /healthz and /metrics
 * itself. It runs until SIGTERM or SIGINT, then drains: it stops accepting,
 * lets in-flight requests finish (bounded by shutdown_timeout) and frees
 * everything.
 */
#ifndef BERTH_SERVER_SERVER_H
#define BERTH_SERVER_SERVER_H

#include "berth/common.h"
#include "server/config.h"

/**
 * Run the server with `cfg` (borrowed) until SIGTERM/SIGINT. Blocks those
 * signals in the calling thread and every thread it starts. Returns 0 after
 * a clean shutdown, or a negative code with a one-line message (address in
 * use, unusable data directory, ...) if it cannot start.
 */
int berth_server_run(const berth_server_config *cfg) BERTH_WARN_UNUSED;

#endif
