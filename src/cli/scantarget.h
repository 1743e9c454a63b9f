/*
 * scantarget.h - what `berth scan`, `berth compare` and `berth
 * recommendations` share: turning TARGET (an image of any transport,
 * rootfs:PATH or a directory, or an SBOM file) into a catalogue, and
 * opening the vulnerability database of --db.
 */
#ifndef BERTH_CLI_SCANTARGET_H
#define BERTH_CLI_SCANTARGET_H

#include "berth/catalog.h"
#include "berth/transport.h"
#include "berth/vulndb.h"

#include <stddef.h>

/** How targets are read (borrowed strings; transport may be NULL). */
typedef struct scan_target_opts {
	const char *platform;
	const char *cache; /* NULL = default file */
	int no_cache;
	const berth_transport_options *transport;
} scan_target_opts;

/**
 * The catalogue of `target` into *out (caller frees). Prints
 * "berth <cmd>: ..." and returns -1 on failure.
 */
int scan_target_load(const char *cmd, const char *target, const scan_target_opts *o,
		     berth_catalog **out);

/** The catalogue options scan_target_load uses for images (`to` is filled in). */
void scan_target_catalog_options(const scan_target_opts *o, berth_catalog_options *co);

/** --db or the default path into buf (PATH_MAX); prints and returns -1 on failure. */
int scan_target_db_path(const char *cmd, const char *db, char *buf, size_t len);

#endif
