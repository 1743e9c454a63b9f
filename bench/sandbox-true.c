/*
 * sandbox-true.c - bench/build's driver for berth's own sandbox: runs
 * `/bin/true` N times with berth_sandbox_run (network none, as a RUN step
 * gets it) in ROOT and prints each run's wall time in seconds, one a line.
 * bench/build compiles it against build/dev/libberth.a and compares it with
 * `runc run` of the same command in the same root. Not a test.
 *
 * usage: sandbox-true ROOT N
 */
#include "berth/sandbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char *const args[] = {"/bin/true", NULL};
	char *const env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			     NULL};
	berth_sandbox_spec spec = {0};
	int n, status;

	if (argc != 3 || (n = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: sandbox-true ROOT N\n");
		return 2;
	}
	spec.rootfs = argv[1];
	spec.argv = args;
	spec.env = env;
	spec.net = BERTH_SANDBOX_NET_NONE;
	spec.stdout_fd = -1;
	spec.stderr_fd = -1;
	for (int i = 0; i < n; i++) {
		double t0 = now();

		if (berth_sandbox_run(&spec, &status) != 0 || status != 0) {
			fprintf(stderr, "sandbox-true: run %d failed (status %d)\n", i, status);
			return 1;
		}
		printf("%.6f\n", now() - t0);
	}
	return 0;
}
