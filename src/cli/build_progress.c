/*
 * build_progress.c - `berth build --progress rawjson|tty`: the build log's
 * lines (berth/build.h writes "#N [stage S] STEP", "#N ... CACHED",
 * "[stage S] output", "#  FROM ...", with "[PLATFORM stage S]" in a
 * multi-platform build) turned into buildx's displays.
 *
 * rawjson: one JSON object per line, the shape of BuildKit's SolveStatus
 * (client/graph.go): {"vertexes":[{"digest","inputs","name","started",
 * "completed","cached","error"}], "logs":[{"vertex","stream","data"
 * (base64),"timestamp"}]}. A step is a vertex, started when its line comes
 * and completed when the next step of its stage starts, when its stage
 * waits for the stages it reads ("#  [stage S]: waits ..."), or when the
 * build ends.
 *
 * tty: finished steps and their output scroll above one status line that
 * is redrawn in place ("[+] Building 1.2s (3/5) #4 RUN ..."). Not a
 * terminal: the plain log.
 */
#include "build_progress.h"

#include "berth/digest.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_STAGES_MAX 256
#define PROGRESS_PLATFORMS_MAX 16 /* BERTH_BUILD_PLATFORMS_MAX */
#define PROGRESS_SLOTS (PROGRESS_STAGES_MAX * PROGRESS_PLATFORMS_MAX)
#define PROGRESS_LINE_MAX 4096

typedef struct vertex {
	char digest[BERTH_DIGEST_MAX];
	char *name;
	struct timespec started;
	int open;
} vertex;

struct build_progress {
	int mode; /* BUILD_PROGRESS_RAWJSON or _TTY */
	FILE *out;
	vertex stage[PROGRESS_SLOTS];		/* each stage's (of each platform) current step */
	char plats[PROGRESS_PLATFORMS_MAX][64]; /* platforms seen, in order (their slots) */
	size_t nplats;
	vertex from; /* the latest "#  FROM" line */
	char line[PROGRESS_LINE_MAX];
	size_t have;
	size_t nsteps, ndone;
	struct timespec start;
	char status[256]; /* tty: the step the status line shows */
	int failed;
};

static void stamp(char *out, size_t len, const struct timespec *t)
{
	struct tm tm;
	char base[32];

	gmtime_r(&t->tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%09ldZ", base, t->tv_nsec);
}

static double since(const struct timespec *a)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	return (double)(now.tv_sec - a->tv_sec) + (double)(now.tv_nsec - a->tv_nsec) / 1e9;
}

static void emit(build_progress *p, json_t *status)
{
	char *txt = status ? json_dumps(status, JSON_COMPACT) : NULL;

	if (txt) {
		fprintf(p->out, "%s\n", txt);
		fflush(p->out);
	}
	free(txt);
	json_decref(status);
}

static json_t *vertex_json(const vertex *v, int done, int cached, const char *error)
{
	char s[64], c[64];
	struct timespec now;
	json_t *j;

	clock_gettime(CLOCK_REALTIME, &now);
	stamp(s, sizeof(s), &v->started);
	stamp(c, sizeof(c), &now);
	j = json_pack("{s:s, s:s, s:s}", "digest", v->digest, "name", v->name, "started", s);
	if (j && done && json_object_set_new(j, "completed", json_string(c)) < 0)
		j = NULL;
	if (j && cached)
		json_object_set_new(j, "cached", json_true());
	if (j && error)
		json_object_set_new(j, "error", json_string(error));
	return j;
}

/* tty: erase the status line, print a permanent line, draw the status again. */
static void tty_line(build_progress *p, const char *text)
{
	fprintf(p->out, "\r\033[K");
	if (text)
		fprintf(p->out, "%s\n", text);
	fprintf(p->out, "[+] Building %.1fs (%zu/%zu) %s", since(&p->start), p->ndone, p->nsteps,
		p->status);
	fflush(p->out);
}

static void vertex_close(build_progress *p, vertex *v, const char *error)
{
	char done[PROGRESS_LINE_MAX + 64];

	if (!v->open)
		return;
	v->open = 0;
	p->ndone++;
	if (p->mode == BUILD_PROGRESS_RAWJSON) {
		emit(p, json_pack("{s:[o]}", "vertexes", vertex_json(v, 1, 0, error)));
	} else {
		snprintf(done, sizeof(done), "%s %s %.1fs", v->name, error ? "ERROR" : "DONE",
			 since(&v->started));
		tty_line(p, done);
	}
	free(v->name);
	v->name = NULL;
}

static void vertex_open(build_progress *p, vertex *v, const char *name, int cached)
{
	berth_digest d;

	vertex_close(p, v, NULL);
	v->name = strdup(name);
	if (!v->name)
		return;
	if (berth_digest_compute(&d, BERTH_DIGEST_SHA256, name, strlen(name)) == 0)
		snprintf(v->digest, sizeof(v->digest), "%s", d.str);
	clock_gettime(CLOCK_REALTIME, &v->started);
	v->open = 1;
	p->nsteps++;
	if (p->mode == BUILD_PROGRESS_RAWJSON) {
		emit(p, json_pack("{s:[o]}", "vertexes", vertex_json(v, cached, cached, NULL)));
	} else {
		snprintf(p->status, sizeof(p->status), "%.200s", name);
		tty_line(p, NULL);
	}
	if (cached) {
		v->open = 0;
		p->ndone++;
		if (p->mode == BUILD_PROGRESS_TTY)
			tty_line(p, name);
		free(v->name);
		v->name = NULL;
	}
}

static void output_line(build_progress *p, size_t stage, const char *text)
{
	vertex *v = stage < PROGRESS_SLOTS ? &p->stage[stage] : NULL;
	char *b64 = NULL;
	struct timespec now;
	char ts[64];

	if (p->mode == BUILD_PROGRESS_TTY) {
		tty_line(p, text);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	stamp(ts, sizeof(ts), &now);
	/* base64 of the line and its newline, as BuildKit's []byte in JSON. */
	{
		static const char tab[] =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		size_t n = strlen(text) + 1, k = 0;
		unsigned char *in = malloc(n);

		b64 = malloc(4 * ((n + 2) / 3) + 1);
		if (!in || !b64) {
			free(in);
			free(b64);
			return;
		}
		memcpy(in, text, n - 1);
		in[n - 1] = '\n';
		for (size_t i = 0; i < n; i += 3) {
			unsigned v3 = (unsigned)in[i] << 16 |
				      (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
				      (i + 2 < n ? in[i + 2] : 0);

			b64[k++] = tab[v3 >> 18 & 63];
			b64[k++] = tab[v3 >> 12 & 63];
			b64[k++] = i + 1 < n ? tab[v3 >> 6 & 63] : '=';
			b64[k++] = i + 2 < n ? tab[v3 & 63] : '=';
		}
		b64[k] = '\0';
		free(in);
	}
	emit(p, json_pack("{s:[{s:s, s:i, s:s, s:s}]}", "logs", "vertex",
			  v && v->open ? v->digest : p->from.digest, "stream", 1, "data", b64,
			  "timestamp", ts));
	free(b64);
}

/*
 * "[stage S]" or, in a multi-platform build, "[PLATFORM stage S]" at l:
 * *slot the stage's vertex slot (each platform's stages apart), *len the
 * bracket's length. 0 if l is not one.
 */
static int stage_ref(build_progress *p, const char *l, size_t *slot, int *len)
{
	const char *at = l + 1, *sp;
	size_t plat = 0, stage;
	int off = 0;

	if (*l != '[')
		return 0;
	sp = strchr(at, ' ');
	if (sp && strncmp(at, "stage ", 6) != 0) {
		size_t wl = (size_t)(sp - at);

		if (wl >= sizeof(p->plats[0]) || !memchr(at, '/', wl))
			return 0;
		while (plat < p->nplats &&
		       !(strlen(p->plats[plat]) == wl && strncmp(p->plats[plat], at, wl) == 0))
			plat++;
		if (plat == PROGRESS_PLATFORMS_MAX)
			return 0;
		if (plat == p->nplats)
			snprintf(p->plats[p->nplats++], sizeof(p->plats[0]), "%.*s", (int)wl, at);
		at = sp + 1;
	}
	if (sscanf(at, "stage %zu]%n", &stage, &off) != 1 || off <= 0 ||
	    stage >= PROGRESS_STAGES_MAX)
		return 0;
	*slot = plat * PROGRESS_STAGES_MAX + stage;
	*len = (int)(at - l) + off;
	return 1;
}

/* One whole line of the build log. */
static void take_line(build_progress *p, const char *l)
{
	size_t slot, n = 0;
	int off = 0, num = 0;

	if (sscanf(l, "#%zu %n", &n, &num) == 1 && num > 0 && stage_ref(p, l + num, &slot, &off)) {
		/* BuildKit's names: "[stage 0] RUN ...", without the number and CACHED. */
		char name[PROGRESS_LINE_MAX];
		size_t len;
		int cached;

		snprintf(name, sizeof(name), "%s", l + num);
		len = strlen(name);
		cached = len > 7 && strcmp(name + len - 7, " CACHED") == 0;
		if (cached)
			name[len - 7] = '\0';
		vertex_open(p, &p->stage[slot], name, cached);
	} else if (stage_ref(p, l, &slot, &off)) {
		output_line(p, slot, l[off] == ' ' ? l + off + 1 : l + off);
	} else if (strncmp(l, "#  [", 4) == 0 && stage_ref(p, l + 3, &slot, &off) &&
		   l[3 + off] == ':') {
		/* "#  [stage S]: waits for ...": its last step is done. */
		vertex_close(p, &p->stage[slot], NULL);
		if (p->mode == BUILD_PROGRESS_TTY)
			tty_line(p, l);
	} else if (strncmp(l, "#  FROM ", 8) == 0) {
		vertex_open(p, &p->from, l + 3, 0);
		vertex_close(p, &p->from, NULL);
	} else if (p->mode == BUILD_PROGRESS_TTY) {
		tty_line(p, l);
	}
}

static ssize_t progress_write(void *cookie, const char *buf, size_t size)
{
	build_progress *p = cookie;

	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n' || p->have == sizeof(p->line) - 1) {
			p->line[p->have] = '\0';
			take_line(p, p->line);
			p->have = 0;
			if (buf[i] == '\n')
				continue;
		}
		p->line[p->have++] = buf[i];
	}
	return (ssize_t)size;
}

int build_progress_mode(const char *progress)
{
	if (progress && strcmp(progress, "rawjson") == 0)
		return BUILD_PROGRESS_RAWJSON;
	if (progress && strcmp(progress, "tty") == 0)
		return isatty(STDERR_FILENO) ? BUILD_PROGRESS_TTY : BUILD_PROGRESS_PLAIN;
	if ((!progress || strcmp(progress, "auto") == 0) && isatty(STDERR_FILENO))
		return BUILD_PROGRESS_TTY;
	return BUILD_PROGRESS_PLAIN;
}

FILE *build_progress_open(build_progress **out, int mode, FILE *dest)
{
	cookie_io_functions_t io = {.write = progress_write};
	build_progress *p = calloc(1, sizeof(*p));
	FILE *f;

	*out = NULL;
	if (!p)
		return NULL;
	p->mode = mode;
	p->out = dest;
	clock_gettime(CLOCK_REALTIME, &p->start);
	f = fopencookie(p, "w", io);
	if (!f) {
		free(p);
		return NULL;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	*out = p;
	return f;
}

void build_progress_close(build_progress *p, FILE *f, const char *error)
{
	if (f)
		fclose(f);
	if (!p)
		return;
	for (size_t i = 0; i < PROGRESS_SLOTS; i++)
		vertex_close(p, &p->stage[i], error);
	free(p->from.name);
	if (p->mode == BUILD_PROGRESS_TTY) {
		fprintf(p->out, "\r\033[K[+] Building %.1fs (%zu/%zu) %s\n", since(&p->start),
			p->ndone, p->nsteps, error ? "FAILED" : "FINISHED");
		fflush(p->out);
	}
	free(p);
}
