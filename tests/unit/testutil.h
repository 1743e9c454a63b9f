/*
 * testutil.h - helpers shared by unit tests that drive real tools (tar,
 * umoci, busybox) through the shell: run a command, fail the test if it
 * fails. Header-only, as each test is its own executable.
 */
#ifndef BERTH_TESTS_TESTUTIL_H
#define BERTH_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

/* Run a shell command made from fmt; the test fails unless it exits 0. */
static inline void __attribute__((format(printf, 1, 2))) test_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(cmd));
	if (system(cmd) != 0)
		fail_msg("command failed: %s", cmd);
}

#endif
