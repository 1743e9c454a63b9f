/*
 * build_flags.h - the values of `berth build`'s RUN flags (--secret, --ssh,
 * --add-host, --ulimit) read into berth_build_opts, in the syntax of
 * `docker buildx build`.
 */
#ifndef BERTH_CLI_BUILD_FLAGS_H
#define BERTH_CLI_BUILD_FLAGS_H

#include "args.h"

#include "berth/build.h"

typedef struct build_run_flags {
	berth_build_secret secrets[BERTH_ARGS_LIST_MAX];
	berth_build_ssh ssh[BERTH_ARGS_LIST_MAX];
	berth_build_host hosts[BERTH_ARGS_LIST_MAX];
	berth_sandbox_rlimit rlimits[BERTH_ARGS_LIST_MAX];
	char *owned[BERTH_ARGS_LIST_MAX * 6];
	int nowned;
} build_run_flags;

/*
 * Read the lists into f and bo's fields (pointing into f). A bad value is
 * printed as "berth build: ..." and returns -1 (exit 2).
 */
int build_run_flags_read(build_run_flags *f, berth_build_opts *bo, const berth_args_list *secrets,
			 const berth_args_list *ssh, const berth_args_list *hosts,
			 const berth_args_list *ulimits);
void build_run_flags_dispose(build_run_flags *f);

#endif
