/*
 * chan.c - util/chan: bytes written by one thread come out in order, whole,
 * through read and through peek/consume across the ring's wrap; the end is
 * seen only after the last byte; a consumer that closes makes the writer
 * fail instead of wait forever.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/chan.h"

#define TOTAL (5u * 1024 * 1024 + 12345) /* several rings, not a multiple of anything */

static unsigned char byte_at(size_t i)
{
	return (unsigned char)(i * 2654435761u >> 13);
}

typedef struct writer {
	berth_chan *ch;
	size_t chunk; /* odd sizes, so writes straddle the ring's end */
	int rc;
} writer;

static void *write_all(void *arg)
{
	writer *w = arg;
	unsigned char buf[70001];

	for (size_t at = 0; at < TOTAL && w->rc == 0;) {
		size_t n = TOTAL - at < w->chunk ? TOTAL - at : w->chunk;

		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(at + i);
		w->rc = berth_chan_write(w->ch, buf, n);
		at += n;
	}
	berth_chan_finish(w->ch);
	return NULL;
}

static void read_and_peek_see_every_byte_in_order(void **state)
{
	for (int mode = 0; mode < 2; mode++) {
		writer w = {berth_chan_new(), mode ? 70001 : 4099, 0};
		pthread_t th;
		size_t at = 0, bad = 0;

		(void)state;
		assert_non_null(w.ch);
		assert_int_equal(pthread_create(&th, NULL, write_all, &w), 0);
		for (;;) {
			unsigned char buf[33333];
			const unsigned char *p;
			size_t n;

			if (mode) {
				n = berth_chan_read(w.ch, buf, sizeof(buf));
				p = buf;
			} else {
				const void *v;

				n = berth_chan_peek(w.ch, &v);
				p = v;
			}
			if (n == 0)
				break;
			for (size_t i = 0; i < n; i++)
				bad += p[i] != byte_at(at + i);
			at += n;
			if (!mode)
				berth_chan_consume(w.ch, n);
		}
		pthread_join(th, NULL);
		assert_int_equal(w.rc, 0);
		assert_int_equal(bad, 0);
		assert_int_equal(at, TOTAL);
		berth_chan_free(w.ch);
	}
}

static void a_closed_reader_fails_the_writer(void **state)
{
	writer w = {berth_chan_new(), 65536, 0};
	pthread_t th;
	char buf[1000];

	(void)state;
	assert_non_null(w.ch);
	assert_int_equal(pthread_create(&th, NULL, write_all, &w), 0);
	assert_int_equal(berth_chan_read(w.ch, buf, sizeof(buf)), sizeof(buf));
	berth_chan_close(w.ch); /* the writer is (or will be) waiting for room */
	pthread_join(th, NULL);
	assert_int_equal(w.rc, BERTH_EIO);
	berth_chan_free(w.ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(read_and_peek_see_every_byte_in_order),
		cmocka_unit_test(a_closed_reader_fails_the_writer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
