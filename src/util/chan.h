/*
 * chan.h - a byte channel between two threads of one process: one producer,
 * one consumer, an in-memory ring.
 *
 * What a pipe or a socket pair does between threads, without a system call,
 * a kernel copy or a wake-up per write: each side copies into or out of the
 * part of the ring only it may touch, outside the lock, and a waiting side is
 * woken once a batch (data or room) is there, or at the end. The consumer may
 * also read in place (berth_chan_peek, then berth_chan_consume), which is how
 * libarchive reads a layer the decompressor writes.
 */
#ifndef BERTH_UTIL_CHAN_H
#define BERTH_UTIL_CHAN_H

#include "berth/common.h"

#include <stddef.h>

typedef struct berth_chan berth_chan;

/** A channel with a 1 MiB ring; NULL only on OOM. */
berth_chan *berth_chan_new(void);
void berth_chan_free(berth_chan *ch);

/** Write all of `data`, waiting for room. BERTH_EIO once the consumer has closed. */
int berth_chan_write(berth_chan *ch, const void *data, size_t len) BERTH_WARN_UNUSED;
/** The producer has written everything: the consumer then reads the rest, then 0. */
void berth_chan_finish(berth_chan *ch);

/** Read up to `cap` bytes, waiting for a batch; 0 at the end (after berth_chan_finish). */
size_t berth_chan_read(berth_chan *ch, void *buf, size_t cap);
/**
 * Wait for a batch as berth_chan_read does and point *p at the bytes waiting
 * that lie in one piece in the ring: their count, 0 at the end. They stay
 * in place until berth_chan_consume.
 */
size_t berth_chan_peek(berth_chan *ch, const void **p);
/** Give back `n` bytes of what berth_chan_peek showed. */
void berth_chan_consume(berth_chan *ch, size_t n);
/** The consumer stops: the producer's writes fail from now on. */
void berth_chan_close(berth_chan *ch);

#endif
