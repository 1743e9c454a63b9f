/*
 * fs.c - util/fs's write-behind: the writeback of a streamed file is asked
 * for in BERTH_FS_BEHIND_STEP pieces as it is written (never past what was
 * written, never twice for the same bytes), and the file's bytes are
 * exactly those written, whatever the pieces; a descriptor that cannot be
 * written back (a pipe) is no error; a failed write counts nothing.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "util/fs.h"

/* In pieces of 99991 bytes, a step ends on the piece that passes 4 MiB past the last:
 * 42 pieces. Three steps and a tail too short for a fourth. */
#define TOTAL (4 * BERTH_FS_BEHIND_STEP - 1)

static unsigned char byte_at(uint64_t i)
{
	return (unsigned char)(i * 2654435761u >> 11);
}

static void writeback_follows_the_writes_and_the_bytes_stay(void **state)
{
	char path[] = "/tmp/berth-fs-XXXXXX";
	berth_fs_behind b = {0, 0};
	unsigned char *buf = malloc(99991), *back = malloc(99991);
	uint64_t at = 0, steps = 0;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_non_null(buf);
	assert_non_null(back);
	unlink(path);
	while (at < TOTAL) {
		size_t n = TOTAL - at < 99991 ? (size_t)(TOTAL - at) : 99991;
		uint64_t before = b.started;

		for (size_t i = 0; i < n; i++)
			buf[i] = byte_at(at + i);
		assert_int_equal(berth_fs_write_all_behind(fd, &b, buf, n), 0);
		at += n;
		assert_true(b.written == at);
		assert_true(b.started <= b.written);
		assert_true(b.written - b.started < BERTH_FS_BEHIND_STEP);
		if (b.started != before) {
			assert_true(b.started ==
				    at); /* all that was written, from where it stopped */
			steps++;
		}
	}
	assert_true(steps == 3);
	assert_int_equal(fsync(fd), 0);
	assert_true(lseek(fd, 0, SEEK_SET) == 0);
	for (at = 0; at < TOTAL;) {
		ssize_t r = read(fd, back, 99991);

		assert_true(r > 0);
		for (ssize_t i = 0; i < r; i++)
			if (back[i] != byte_at(at + (uint64_t)i))
				fail_msg("byte %llu differs",
					 (unsigned long long)(at + (uint64_t)i));
		at += (uint64_t)r;
	}
	assert_true(at == TOTAL);
	close(fd);
	free(buf);
	free(back);
}

static void a_pipe_is_no_error(void **state)
{
	berth_fs_behind b = {0, 0};
	int p[2];

	(void)state;
	assert_int_equal(pipe(p), 0);
	berth_fs_write_behind(p[1], &b, BERTH_FS_BEHIND_STEP); /* sync_file_range: ESPIPE */
	assert_true(b.started == BERTH_FS_BEHIND_STEP);
	close(p[0]);
	close(p[1]);
}

/* A write that fails counts nothing: writeback never covers bytes not written. */
static void a_failed_write_counts_nothing(void **state)
{
	char path[] = "/tmp/berth-fs-XXXXXX";
	berth_fs_behind b = {0, 0};
	char byte = 'x';
	int fd = mkstemp(path), ro;

	(void)state;
	assert_true(fd >= 0);
	ro = open(path, O_RDONLY);
	unlink(path);
	close(fd);
	assert_true(ro >= 0);
	assert_int_not_equal(berth_fs_write_all_behind(ro, &b, &byte, 1), 0);
	assert_true(b.written == 0 && b.started == 0);
	close(ro);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(writeback_follows_the_writes_and_the_bytes_stay),
		cmocka_unit_test(a_pipe_is_no_error),
		cmocka_unit_test(a_failed_write_counts_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
