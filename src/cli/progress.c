/*
 * progress.c - the copy progress display (progress.h).
 *
 * On a terminal every blob gets a line ("sha256:0123abcd  [=====>   ]
 * 12.3MiB / 40.0MiB  5.1MiB/s") redrawn in place at most ten times a second
 * with ANSI cursor movement; blobs skipped or mounted say so. Elsewhere (a
 * pipe, a CI log) each blob and manifest gets one plain line when it ends.
 */
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_LINES 256

typedef struct line {
	char digest[24];
	uint64_t total, done;
	double start, end;
	const char *state; /* NULL while copying */
} line;

struct berth_progress {
	FILE *out;
	int tty;
	line lines[MAX_LINES];
	int n;
	int drawn; /* lines on screen from the last draw */
	double last_draw;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void human(char *buf, size_t len, double v)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f%s" : "%.0f%s", v, units[u]);
}

static void short_digest(char *out, size_t len, const berth_descriptor *d)
{
	/* "sha256:" + 12 hex, as docker shows them. */
	snprintf(out, len, "%.19s", d->digest.str);
}

berth_progress *berth_progress_new(FILE *out, int quiet)
{
	berth_progress *p;

	if (quiet)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->out = out;
	p->tty = isatty(fileno(out));
	return p;
}

static line *find(berth_progress *p, const berth_descriptor *d, int create)
{
	char key[24];

	short_digest(key, sizeof(key), d);
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->lines[i].digest, key) == 0)
			return &p->lines[i];
	if (!create || p->n == MAX_LINES)
		return NULL;
	line *l = &p->lines[p->n++];

	memset(l, 0, sizeof(*l));
	snprintf(l->digest, sizeof(l->digest), "%s", key);
	l->start = now();
	return l;
}

static void draw_line(berth_progress *p, const line *l)
{
	char done[32], total[32], rate[32];
	double el = (l->end ? l->end : now()) - l->start;
	int width = 30, fill;

	human(done, sizeof(done), (double)l->done);
	human(total, sizeof(total), (double)l->total);
	human(rate, sizeof(rate), el > 0.05 ? (double)l->done / el : 0);
	if (l->state && strcmp(l->state, "done") != 0) {
		fprintf(p->out, "\033[2K%s  %s\n", l->digest, l->state);
		return;
	}
	fill = l->total ? (int)((double)l->done * width / (double)l->total)
			: (l->state ? width : 0);
	if (fill > width)
		fill = width;
	fprintf(p->out, "\033[2K%s  [", l->digest);
	for (int i = 0; i < width; i++)
		fputc(i < fill ? '=' : (i == fill ? '>' : ' '), p->out);
	fprintf(p->out, "] %s / %s  %s/s%s\n", done, total, rate, l->state ? "  done" : "");
}

static void redraw(berth_progress *p, int force)
{
	double t = now();

	if (!force && t - p->last_draw < 0.1)
		return;
	p->last_draw = t;
	if (p->drawn)
		fprintf(p->out, "\033[%dA", p->drawn);
	for (int i = 0; i < p->n; i++)
		draw_line(p, &p->lines[i]);
	p->drawn = p->n;
	fflush(p->out);
}

static void plain(berth_progress *p, berth_copy_event ev, const berth_descriptor *d, uint64_t bytes)
{
	char dg[24], size[32];
	line *l;

	short_digest(dg, sizeof(dg), d);
	human(size, sizeof(size), (double)(d->size > 0 ? d->size : 0));
	switch (ev) {
	case BERTH_COPY_BLOB_START:
		l = find(p, d, 1);
		if (l)
			l->start = now();
		break;
	case BERTH_COPY_BLOB_DONE: {
		char rate[32];
		double el;

		l = find(p, d, 0);
		el = l ? now() - l->start : 0;
		if (el > 0.05) {
			human(rate, sizeof(rate), (double)d->size / el);
			fprintf(p->out, "Copied blob %s (%s, %s/s)\n", dg, size, rate);
		} else {
			fprintf(p->out, "Copied blob %s (%s)\n", dg, size);
		}
		break;
	}
	case BERTH_COPY_BLOB_SKIPPED:
		fprintf(p->out, "Skipped blob %s (already present)\n", dg);
		break;
	case BERTH_COPY_BLOB_MOUNTED: fprintf(p->out, "Mounted blob %s\n", dg); break;
	case BERTH_COPY_MANIFEST_DONE: fprintf(p->out, "Wrote manifest %s\n", d->digest.str); break;
	default: break;
	}
	fflush(p->out);
}

void berth_progress_event(void *ctx, berth_copy_event ev, const berth_descriptor *d, uint64_t bytes)
{
	berth_progress *p = ctx;
	line *l;

	if (!p)
		return;
	if (!p->tty) {
		plain(p, ev, d, bytes);
		return;
	}
	if (ev == BERTH_COPY_MANIFEST_DONE) {
		redraw(p, 1);
		fprintf(p->out, "Wrote manifest %s\n", d->digest.str);
		p->drawn = 0;
		p->n = 0; /* the next image of an index starts a fresh block */
		fflush(p->out);
		return;
	}
	l = find(p, d, 1);
	if (!l)
		return;
	switch (ev) {
	case BERTH_COPY_BLOB_START:
		l->total = bytes;
		l->start = now();
		break;
	case BERTH_COPY_BLOB_PROGRESS: l->done = bytes; break;
	case BERTH_COPY_BLOB_DONE:
		l->done = l->total = (uint64_t)(d->size > 0 ? d->size : 0);
		l->end = now();
		l->state = "done";
		break;
	case BERTH_COPY_BLOB_SKIPPED: l->state = "already present"; break;
	case BERTH_COPY_BLOB_MOUNTED: l->state = "mounted"; break;
	default: break;
	}
	redraw(p, ev != BERTH_COPY_BLOB_PROGRESS);
}

void berth_progress_free(berth_progress *p)
{
	if (!p)
		return;
	if (p->tty && p->n)
		redraw(p, 1);
	free(p);
}
