/*
 * streams.c - unit tests of berth_stream: fd streams, producer-thread
 * streams (pipe and in-memory channel), error propagation, taps, and a
 * consumer that gives up early without deadlocking or killing the process
 * with SIGPIPE.
 */
#include "transport_test.h"

#include <errno.h>
#include <signal.h>

typedef struct gen {
	size_t total;	/* bytes to write */
	int fail_after; /* 1: report an error after writing everything */
	int write_rc;	/* the producer's last write result */
	int freed;
} gen;

static int gen_produce(void *ctx, int fd)
{
	gen *g = ctx;
	char buf[8192];
	size_t done = 0;

	while (done < g->total) {
		size_t n = g->total - done < sizeof(buf) ? g->total - done : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = (char)((done + i) % 251);
		g->write_rc = berth_fs_write_all(fd, buf, n);
		if (g->write_rc)
			return g->write_rc;
		done += n;
	}
	if (g->fail_after)
		return berth_error_set(BERTH_EDIGEST, "upstream digest mismatch (test)");
	return 0;
}

static void gen_free(void *ctx)
{
	((gen *)ctx)->freed = 1;
}

static void fd_stream_reads_all_bytes(void **state)
{
	mem_blob got;
	berth_stream *s = mem_stream("hello, stream", 13);

	(void)state;
	assert_int_equal(s->size, 13);
	assert_int_equal(drain(s, &got), 0);
	assert_int_equal(got.len, 13);
	assert_memory_equal(got.data, "hello, stream", 13);
	free(got.data);
}

static void thread_stream_delivers_producer_bytes(void **state)
{
	gen g = {.total = 3 * 1024 * 1024 + 17};
	berth_stream *s = NULL;
	mem_blob got;

	(void)state;
	assert_int_equal(
		berth_transport__stream_thread(&s, gen_produce, &g, gen_free, (int64_t)g.total), 0);
	assert_int_equal(drain(s, &got), 0);
	assert_int_equal(got.len, g.total);
	for (size_t i = 0; i < got.len; i += 4099)
		assert_int_equal((unsigned char)got.data[i], i % 251);
	assert_int_equal(g.freed, 1);
	free(got.data);
}

static void producer_error_reaches_the_consumer(void **state)
{
	gen g = {.total = 100000, .fail_after = 1};
	berth_stream *s = NULL;
	char buf[65536];
	long r, total = 0;

	(void)state;
	assert_int_equal(berth_transport__stream_thread(&s, gen_produce, &g, gen_free, -1), 0);
	while ((r = berth_stream_read(s, buf, sizeof(buf))) > 0)
		total += r;
	/* At the end of the pipe the read reports the producer's failure, with its message. */
	assert_int_equal(r, BERTH_EDIGEST);
	assert_int_equal(total, 100000);
	assert_string_equal(berth_error_last(), "upstream digest mismatch (test)");
	berth_error_clear();
	assert_int_equal(berth_stream_close(s), BERTH_EDIGEST);
	assert_string_equal(berth_error_last(), "upstream digest mismatch (test)");
	assert_int_equal(g.freed, 1);
}

static void close_reports_error_when_consumer_read_exactly_size(void **state)
{
	gen g = {.total = 1000, .fail_after = 1};
	berth_stream *s = NULL;
	char buf[1000];
	size_t got = 0;

	(void)state;
	assert_int_equal(berth_transport__stream_thread(&s, gen_produce, &g, gen_free, 1000), 0);
	while (got < sizeof(buf)) {
		long r = berth_stream_read(s, buf + got, sizeof(buf) - got);

		assert_true(r > 0);
		got += (size_t)r;
	}
	/* Let the producer finish (it failed after writing everything) before we close. */
	usleep(100 * 1000);
	assert_int_equal(berth_stream_close(s), BERTH_EDIGEST);
}

static void early_close_does_not_deadlock_or_kill(void **state)
{
	gen g = {.total = 64u * 1024 * 1024}; /* far more than a pipe holds */
	berth_stream *s = NULL;
	char buf[4096];

	(void)state;
	/* SIGPIPE keeps its default action (terminate) here: the library must cope. */
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(berth_transport__stream_thread(&s, gen_produce, &g, gen_free, -1), 0);
	assert_true(berth_stream_read(s, buf, sizeof(buf)) > 0);
	/* The consumer gives up: close must return (the producer gets EPIPE) and not fail. */
	assert_int_equal(berth_stream_close(s), 0);
	assert_int_equal(g.write_rc, BERTH_EIO);
	assert_int_equal(g.freed, 1);
	/* No SIGPIPE is left pending for this thread either. */
	{
		sigset_t pend;

		sigpending(&pend);
		assert_false(sigismember(&pend, SIGPIPE));
	}
}

/* The same generator writing into a channel, in odd-sized pieces (wrapping the ring). */
static int gen_chan_produce(void *ctx, berth_chan *ch)
{
	gen *g = ctx;
	char buf[7919];
	size_t done = 0;

	while (done < g->total) {
		size_t n = g->total - done < sizeof(buf) ? g->total - done : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = (char)((done + i) % 251);
		g->write_rc = berth_chan_write(ch, buf, n);
		if (g->write_rc)
			return g->write_rc;
		done += n;
	}
	if (g->fail_after)
		return berth_error_set(BERTH_EDIGEST, "upstream digest mismatch (test)");
	return 0;
}

static void chan_stream_delivers_every_byte_in_order(void **state)
{
	gen g = {.total = 5 * 1024 * 1024 + 12345};
	berth_stream *s = NULL;
	char *buf = malloc(g.total + 1);
	size_t got = 0, cap = 1;
	long r;

	(void)state;
	assert_int_equal(
		berth_transport__stream_chan(&s, gen_chan_produce, &g, gen_free, (int64_t)g.total),
		0);
	/* Reads of varying sizes, small and larger than the ring. */
	while ((r = berth_stream_read(s, buf + got, cap)) > 0) {
		got += (size_t)r;
		cap = cap * 3 + 1;
		if (cap > 3 * 1024 * 1024)
			cap = 1;
		if (cap > g.total + 1 - got)
			cap = g.total + 1 - got;
	}
	assert_int_equal(r, 0);
	assert_int_equal(got, g.total);
	for (size_t i = 0; i < got; i++)
		if ((unsigned char)buf[i] != i % 251)
			fail_msg("byte %zu is %u", i, (unsigned char)buf[i]);
	assert_int_equal(berth_stream_close(s), 0);
	assert_int_equal(g.freed, 1);
	free(buf);
}

static void chan_producer_error_reaches_the_consumer(void **state)
{
	gen g = {.total = 100000, .fail_after = 1};
	berth_stream *s = NULL;
	char buf[65536];
	long r, total = 0;

	(void)state;
	assert_int_equal(berth_transport__stream_chan(&s, gen_chan_produce, &g, gen_free, -1), 0);
	while ((r = berth_stream_read(s, buf, sizeof(buf))) > 0)
		total += r;
	/* The end of the stream is the producer's verdict, with its message. */
	assert_int_equal(r, BERTH_EDIGEST);
	assert_int_equal(total, 100000);
	assert_string_equal(berth_error_last(), "upstream digest mismatch (test)");
	assert_int_equal(berth_stream_close(s), BERTH_EDIGEST);
	assert_int_equal(g.freed, 1);
}

static void chan_early_close_stops_the_producer(void **state)
{
	gen g = {.total = 64u * 1024 * 1024}; /* far more than the ring holds */
	berth_stream *s = NULL;
	char buf[4096];

	(void)state;
	assert_int_equal(berth_transport__stream_chan(&s, gen_chan_produce, &g, gen_free, -1), 0);
	assert_true(berth_stream_read(s, buf, sizeof(buf)) > 0);
	/* The producer, blocked on a full ring, is told the reader left. */
	assert_int_equal(berth_stream_close(s), 0);
	assert_int_equal(g.write_rc, BERTH_EIO);
	assert_int_equal(g.freed, 1);
}

typedef struct tap_count {
	size_t seen;
	size_t limit;
} tap_count;

static int count_tap(void *ctx, const void *data, size_t len)
{
	tap_count *t = ctx;

	(void)data;
	t->seen += len;
	if (t->seen > t->limit)
		return berth_error_set(BERTH_ESIZE, "too much (test)");
	return 0;
}

static void tap_sees_every_byte_and_can_fail_the_read(void **state)
{
	gen g = {.total = 3 * 1024 * 1024};
	tap_count t = {0, (size_t)-1};
	berth_stream *s = NULL;
	mem_blob got;
	char buf[65536];
	long r;

	(void)state;
	assert_int_equal(berth_transport__stream_chan(&s, gen_chan_produce, &g, gen_free, -1), 0);
	s->tap = count_tap;
	s->tap_ctx = &t;
	assert_int_equal(drain(s, &got), 0);
	assert_int_equal(t.seen, g.total);
	assert_int_equal(got.len, g.total);
	free(got.data);

	g = (gen){.total = 3 * 1024 * 1024};
	t = (tap_count){0, 1024 * 1024};
	assert_int_equal(berth_transport__stream_thread(&s, gen_produce, &g, gen_free, -1), 0);
	s->tap = count_tap;
	s->tap_ctx = &t;
	while ((r = berth_stream_read(s, buf, sizeof(buf))) > 0)
		;
	assert_int_equal(r, BERTH_ESIZE);
	assert_string_equal(berth_error_last(), "too much (test)");
	assert_int_equal(berth_stream_close(s), 0);
}

static int interrupted;

static void on_alarm(int sig)
{
	(void)sig;
	interrupted++;
}

static int slow_produce(void *ctx, int fd)
{
	(void)ctx;
	usleep(300 * 1000);
	return berth_fs_write_all(fd, "late", 4);
}

static void read_survives_eintr(void **state)
{
	struct sigaction sa = {0};
	berth_stream *s = NULL;
	mem_blob got;

	(void)state;
	sa.sa_handler = on_alarm; /* no SA_RESTART: read() returns EINTR */
	sigaction(SIGALRM, &sa, NULL);
	assert_int_equal(berth_transport__stream_thread(&s, slow_produce, NULL, NULL, 4), 0);
	ualarm(50 * 1000, 0);
	assert_int_equal(drain(s, &got), 0);
	assert_int_equal(interrupted, 1);
	assert_int_equal(got.len, 4);
	assert_memory_equal(got.data, "late", 4);
	free(got.data);
	signal(SIGALRM, SIG_DFL);
}

static void close_accepts_null(void **state)
{
	(void)state;
	assert_int_equal(berth_stream_close(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fd_stream_reads_all_bytes),
		cmocka_unit_test(thread_stream_delivers_producer_bytes),
		cmocka_unit_test(producer_error_reaches_the_consumer),
		cmocka_unit_test(close_reports_error_when_consumer_read_exactly_size),
		cmocka_unit_test(early_close_does_not_deadlock_or_kill),
		cmocka_unit_test(read_survives_eintr),
		cmocka_unit_test(chan_stream_delivers_every_byte_in_order),
		cmocka_unit_test(chan_producer_error_reaches_the_consumer),
		cmocka_unit_test(chan_early_close_stops_the_producer),
		cmocka_unit_test(tap_sees_every_byte_and_can_fail_the_read),
		cmocka_unit_test(close_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
