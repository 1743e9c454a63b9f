/*
 * chan.c - the byte channel (see chan.h).
 *
 * Positions only grow (wpos - rpos bytes are waiting); each side copies
 * outside the lock, into or out of the part of the ring only it may touch,
 * then publishes its new position.
 */
#include "util/chan.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHAN_SIZE (1 << 20)
/* A waiting side is woken once this much (data or room) is there, or at the end. */
#define CHAN_BATCH (256 * 1024)

struct berth_chan {
	pthread_mutex_t mu;
	pthread_cond_t data; /* the reader waits here */
	pthread_cond_t room; /* the writer waits here */
	char *ring;
	uint64_t rpos, wpos;
	size_t reader_want; /* >0: the reader sleeps until this much is waiting */
	size_t writer_want; /* >0: the writer sleeps until this much room is free */
	int done;	    /* the producer has finished */
	int gone;	    /* the reader has closed */
};

berth_chan *berth_chan_new(void)
{
	berth_chan *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return NULL;
	ch->ring = malloc(CHAN_SIZE);
	if (!ch->ring) {
		free(ch);
		return NULL;
	}
	pthread_mutex_init(&ch->mu, NULL);
	pthread_cond_init(&ch->data, NULL);
	pthread_cond_init(&ch->room, NULL);
	return ch;
}

void berth_chan_free(berth_chan *ch)
{
	if (!ch)
		return;
	pthread_mutex_destroy(&ch->mu);
	pthread_cond_destroy(&ch->data);
	pthread_cond_destroy(&ch->room);
	free(ch->ring);
	free(ch);
}

int berth_chan_write(berth_chan *ch, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		size_t room, n, at, first;

		pthread_mutex_lock(&ch->mu);
		for (;;) {
			if (ch->gone) {
				pthread_mutex_unlock(&ch->mu);
				return berth_error_set(BERTH_EIO, "the stream's reader has gone");
			}
			room = CHAN_SIZE - (size_t)(ch->wpos - ch->rpos);
			if (room >= (len < CHAN_BATCH ? len : CHAN_BATCH))
				break;
			ch->writer_want = len < CHAN_BATCH ? len : CHAN_BATCH;
			pthread_cond_wait(&ch->room, &ch->mu);
		}
		ch->writer_want = 0;
		pthread_mutex_unlock(&ch->mu);
		n = len < room ? len : room;
		at = (size_t)(ch->wpos % CHAN_SIZE);
		first = CHAN_SIZE - at < n ? CHAN_SIZE - at : n;
		memcpy(ch->ring + at, p, first);
		memcpy(ch->ring, p + first, n - first);
		pthread_mutex_lock(&ch->mu);
		ch->wpos += n;
		if (ch->reader_want && ch->wpos - ch->rpos >= ch->reader_want)
			pthread_cond_signal(&ch->data);
		pthread_mutex_unlock(&ch->mu);
		p += n;
		len -= n;
	}
	return 0;
}

void berth_chan_finish(berth_chan *ch)
{
	pthread_mutex_lock(&ch->mu);
	ch->done = 1;
	pthread_cond_signal(&ch->data);
	pthread_mutex_unlock(&ch->mu);
}

/* Wait until `want` bytes or the end are there; the count waiting. */
static size_t wait_data(berth_chan *ch, size_t want)
{
	size_t avail;

	if (want > CHAN_BATCH)
		want = CHAN_BATCH;
	pthread_mutex_lock(&ch->mu);
	while ((avail = (size_t)(ch->wpos - ch->rpos)) < want && !ch->done) {
		ch->reader_want = want;
		pthread_cond_wait(&ch->data, &ch->mu);
	}
	ch->reader_want = 0;
	pthread_mutex_unlock(&ch->mu);
	return avail;
}

size_t berth_chan_peek(berth_chan *ch, const void **p)
{
	size_t avail = wait_data(ch, CHAN_BATCH), at = (size_t)(ch->rpos % CHAN_SIZE);

	*p = ch->ring + at;
	return CHAN_SIZE - at < avail ? CHAN_SIZE - at : avail;
}

void berth_chan_consume(berth_chan *ch, size_t n)
{
	pthread_mutex_lock(&ch->mu);
	ch->rpos += n;
	if (ch->writer_want && CHAN_SIZE - (ch->wpos - ch->rpos) >= ch->writer_want)
		pthread_cond_signal(&ch->room);
	pthread_mutex_unlock(&ch->mu);
}

size_t berth_chan_read(berth_chan *ch, void *buf, size_t cap)
{
	size_t avail = cap ? wait_data(ch, cap) : 0, n, at, first;

	n = avail < cap ? avail : cap;
	at = (size_t)(ch->rpos % CHAN_SIZE);
	first = CHAN_SIZE - at < n ? CHAN_SIZE - at : n;
	memcpy(buf, ch->ring + at, first);
	memcpy((char *)buf + first, ch->ring, n - first);
	berth_chan_consume(ch, n);
	return n;
}

void berth_chan_close(berth_chan *ch)
{
	pthread_mutex_lock(&ch->mu);
	ch->gone = 1;
	pthread_cond_signal(&ch->room);
	pthread_mutex_unlock(&ch->mu);
}
