/*
 * stream.c - berth_stream: the byte streams blobs travel in between a source
 * and a destination.
 *
 * Three kinds: a plain file descriptor (a blob file in a layout), a pipe
 * whose write end is fed by a producer thread (a decompressor), and an
 * in-memory ring fed by a producer thread (an HTTP download: curl hands its
 * bytes over 16 KiB at a time, and a ring takes them without a syscall, a
 * kernel copy or a wake-up of the reader each time). The producer thread runs with SIGPIPE blocked,
 * so a consumer that stops early and closes its end makes the producer's next write fail with EPIPE
 * rather than kill the process; the pending SIGPIPE is consumed before the thread ends. The
 * producer's result and error message (set in its own thread's error slot) are carried to the
 * consumer at end of stream or at close.
 */
#include "internal.h"
#include "util/chan.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PIPE_SIZE (1 << 20)

typedef struct producer_start {
	berth_stream *s;
	berth_transport__producer produce;
	berth_transport__chan_producer chan_produce;
	int write_fd;
} producer_start;

int berth_transport__stream_fd(berth_stream **out, int fd, int64_t size)
{
	berth_stream *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s) {
		close(fd);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	s->fd = fd;
	s->size = size;
	s->left = -1;
	*out = s;
	return 0;
}

int berth_transport__stream_fd_range(berth_stream **out, int fd, int64_t size)
{
	int rc = berth_transport__stream_fd(out, fd, size);

	if (rc == 0)
		(*out)->left = size;
	return rc;
}

static void *producer_main(void *arg)
{
	producer_start *st = arg;
	berth_stream *s = st->s;
	sigset_t pipe_set;
	struct timespec zero = {0, 0};
	int rc;

	if (st->chan_produce)
		rc = st->chan_produce(s->producer_ctx, s->chan);
	else
		rc = st->produce(s->producer_ctx, st->write_fd);
	/* A failure after the consumer left is the EPIPE it caused, not news. */
	if (rc && atomic_load_explicit(&s->closing, memory_order_acquire))
		rc = 0;
	if (rc && !(s->producer_msg = strdup(berth_error_last())))
		rc = BERTH_ERROR;
	s->producer_rc = rc;
	if (s->chan) {
		berth_chan_finish(s->chan);
		free(st);
		return NULL;
	}
	close(st->write_fd);
	/* A write after the reader left raised a SIGPIPE for this thread; it is
	 * blocked here, so take it off the pending set before the thread ends. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
		;
	free(st);
	return NULL;
}

int berth_transport__stream_chan(berth_stream **out, berth_transport__chan_producer produce,
				 void *ctx, void (*ctx_free)(void *), int64_t size)
{
	berth_stream *s = NULL;
	producer_start *st = NULL;
	int rc = 0, err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	st = calloc(1, sizeof(*st));
	if (!s || !st || !(s->chan = berth_chan_new())) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	s->fd = -1;
	s->left = -1;
	s->size = size;
	s->producer_ctx = ctx;
	s->producer_free = ctx_free;
	st->s = s;
	st->chan_produce = produce;
	st->write_fd = -1;
	err = pthread_create(&s->producer, NULL, producer_main, st);
	if (err) {
		errno = err;
		rc = berth_error_set_errno("starting a stream thread");
		goto done;
	}
	s->has_producer = 1;
	/* now owned by the thread */
	st = NULL;
	*out = s;
	s = NULL;
done:
	if (s) {
		/* The caller keeps ctx on failure. */
		berth_chan_free(s->chan);
		free(s);
	}
	free(st);
	return rc;
}

int berth_transport__stream_thread(berth_stream **out, berth_transport__producer produce, void *ctx,
				   void (*ctx_free)(void *), int64_t size)
{
	berth_stream *s = NULL;
	producer_start *st = NULL;
	sigset_t block, old;
	int fds[2] = {-1, -1};
	int rc = 0, err;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	st = calloc(1, sizeof(*st));
	if (!s || !st) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (pipe2(fds, O_CLOEXEC) != 0) {
		rc = berth_error_set_errno("pipe");
		goto done;
	}
	/* Bigger pipes mean fewer context switches; best effort. */
	(void)fcntl(fds[1], F_SETPIPE_SZ, PIPE_SIZE);
	s->fd = fds[0];
	s->left = -1;
	s->size = size;
	s->producer_ctx = ctx;
	s->producer_free = ctx_free;
	st->s = s;
	st->produce = produce;
	st->write_fd = fds[1];
	/* The thread inherits this mask: SIGPIPE is blocked in it from its start. */
	sigemptyset(&block);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	err = pthread_create(&s->producer, NULL, producer_main, st);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		rc = berth_error_set_errno("starting a stream thread");
		goto done;
	}
	s->has_producer = 1;
	/* now owned by the thread */
	st = NULL;
	fds[1] = -1;
	*out = s;
	s = NULL;
done:
	if (s) {
		/* The caller keeps ctx on failure. */
		if (fds[0] >= 0)
			close(fds[0]);
		free(s);
	}
	if (fds[1] >= 0)
		close(fds[1]);
	free(st);
	return rc;
}

/* Join the producer once; return its result and put its message in this thread's slot. */
static int join_producer(berth_stream *s)
{
	if (!s->has_producer)
		return 0;
	if (!s->joined) {
		pthread_join(s->producer, NULL);
		s->joined = 1;
		if (s->producer_free)
			s->producer_free(s->producer_ctx);
		s->producer_free = NULL;
		s->producer_ctx = NULL;
	}
	if (s->producer_rc)
		berth_error_set(s->producer_rc, "%s",
				s->producer_msg ? s->producer_msg : "stream failed");
	return s->producer_rc;
}

long berth_stream_read(berth_stream *s, void *buf, size_t cap)
{
	size_t got = 0;

	if (s->eof)
		return 0;
	if (s->chan) {
		got = berth_chan_read(s->chan, buf, cap);
		if (!got && cap) {
			int rc;

			s->eof = 1;
			rc = join_producer(s);
			return rc ? rc : 0;
		}
	}
	while (!s->chan && got < cap) {
		size_t want = cap - got;
		ssize_t r;

		if (s->left >= 0 && (uint64_t)s->left < want)
			want = (size_t)s->left;
		r = want ? read(s->fd, (char *)buf + got, want) : 0;
		if (r > 0 && s->left >= 0)
			s->left -= r;

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (got)
				break;
			return berth_error_set_errno("reading a blob stream");
		}
		if (r == 0) {
			int rc;

			s->eof = 1;
			if (got)
				break;
			/* At the end of a pipe, the producer's verdict decides. */
			rc = join_producer(s);
			return rc ? rc : 0;
		}
		got += (size_t)r;
		/* A pipe delivers what is there; return it rather than wait for more. */
		if (s->has_producer)
			break;
	}
	if (got && s->tap) {
		int rc = s->tap(s->tap_ctx, buf, got);

		if (rc < 0)
			return rc;
	}
	return (long)got;
}

int berth_stream_close(berth_stream *s)
{
	int rc = 0;

	if (!s)
		return 0;
	/* Close our end first: a producer blocked in write() gets EPIPE and ends. */
	if (!s->eof)
		atomic_store_explicit(&s->closing, 1, memory_order_release);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->chan) {
		berth_chan_close(s->chan);
	}
	if (s->has_producer)
		rc = join_producer(s);
	berth_chan_free(s->chan);
	free(s->producer_msg);
	free(s);
	return rc;
}
