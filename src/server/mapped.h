/*
 * mapped.h - blob bodies sent from a memory mapping, for loopback peers.
 *
 * sendfile(2) is the right way to send a blob to a peer across a network:
 * the server copies nothing. On loopback it hands the page-cache pages
 * themselves to the receiving process, whose single copy then reads them
 * from memory, cold; that copy is the whole cost of a pull, and it runs on
 * the receiver's core alone. Sending from a mapping with send(2) instead
 * copies each page into the socket buffer on the server's core, so the
 * receiver copies cache-hot data and the work is split over two cores: a
 * single loopback stream goes ~1.3x faster here (docs/PERFORMANCE.md).
 *
 * A mapping counts its pages in the server's resident set as send(2)
 * touches them. Pager threads, one bound to each CPU, keep that bounded:
 * each wakes every two milliseconds and, unless another did so within the
 * last millisecond, drops the mapped pages of every live response
 * (MADV_DONTNEED), so the set holds a few milliseconds of sending. A page
 * dropped while send(2) copies it is faulted in again from the page cache;
 * blob files never change once committed, so dropping can never alter a
 * response.
 */
#ifndef BERTH_SERVER_MAPPED_H
#define BERTH_SERVER_MAPPED_H

#include "berth/common.h"

#include <microhttpd.h>
#include <stdint.h>
#include <sys/types.h>

/** Bodies shorter than this go by sendfile whoever the peer is. */
#define BERTH_MAPPED_MIN (4u * 1024 * 1024)

typedef struct berth_mapped berth_mapped;

/** Create the set of live mappings and start its pager thread. */
int berth_mapped_new(berth_mapped **out) BERTH_WARN_UNUSED;

/** Stop the pager. Every response made here must have been destroyed. */
void berth_mapped_free(berth_mapped *m);

/**
 * A response whose body is bytes [offset, offset + length) of the regular
 * file `fd` (which stays the caller's). NULL
 * when the range cannot be mapped: the caller then sends it another way.
 * The mapping lives until MHD destroys the response.
 */
struct MHD_Response *berth_mapped_response(berth_mapped *m, int fd, uint64_t offset,
					   uint64_t length);

#endif
