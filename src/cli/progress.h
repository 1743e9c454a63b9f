/*
 * progress.h - the copy progress display: per-layer bars with bytes and rate
 * on a terminal, plain lines otherwise, nothing when quiet. Its callback
 * plugs into berth_copy_options.progress (the engine serialises calls).
 */
#ifndef BERTH_CLI_PROGRESS_H
#define BERTH_CLI_PROGRESS_H

#include "berth/transport.h"

#include <stdio.h>

typedef struct berth_progress berth_progress;

/** A display writing to `out`; bars when `out` is a terminal. NULL if quiet. */
berth_progress *berth_progress_new(FILE *out, int quiet);

/** The berth_copy_progress callback; ctx is the berth_progress (may be NULL). */
void berth_progress_event(void *ctx, berth_copy_event ev, const berth_descriptor *desc,
			  uint64_t bytes);

/** Draw the final state and free; accepts NULL. */
void berth_progress_free(berth_progress *p);

#endif
