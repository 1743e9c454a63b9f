/*
 * build_progress.h - `berth build --progress`: the build log shown as
 * buildx shows it (rawjson: BuildKit's SolveStatus as JSON lines; tty: a
 * live status line over the finished steps; plain: the log as written).
 */
#ifndef BERTH_CLI_BUILD_PROGRESS_H
#define BERTH_CLI_BUILD_PROGRESS_H

#include <stdio.h>

enum { BUILD_PROGRESS_PLAIN, BUILD_PROGRESS_RAWJSON, BUILD_PROGRESS_TTY };

typedef struct build_progress build_progress;

/** The display for --progress (auto and tty: live on a terminal, plain otherwise). */
int build_progress_mode(const char *progress);

/**
 * A FILE the build log is written to (one line per stdio call); each line
 * becomes `mode`'s display on `dest`. NULL when out of memory.
 */
FILE *build_progress_open(build_progress **out, int mode, FILE *dest);

/** End the display (open steps completed, failed with `error` when not NULL). */
void build_progress_close(build_progress *p, FILE *f, const char *error);

#endif
