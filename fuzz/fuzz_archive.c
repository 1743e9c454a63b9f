/*
 * fuzz_archive.c - libFuzzer target for image archives read from disk
 * (src/lib/transport): safe tar extraction (berth_transport__tree_extract,
 * oci_archive.c), the OCI layout files inside (oci-layout, index.json;
 * oci_layout.c) and docker-archive's manifest.json and config
 * (docker_archive.c).
 *
 * The first byte picks oci-archive: or docker-archive: (and whether the
 * name selects an image); the rest is written to a file and opened as a
 * source, whose top manifest, child manifests and config blob are read.
 * Extraction directories live in a private TMPDIR. Invariants: failures
 * set a message; a manifest that is returned parses; after the source is
 * freed the private TMPDIR is empty again (nothing escaped the tree, nothing
 * was left behind).
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berth/oci.h"
#include "berth/transport.h"
#include "util/buf.h"

static char tmpdir[] = "/tmp/berth-fuzz-archive-XXXXXX";
static char input[sizeof(tmpdir) + 16];

static void cleanup(void)
{
	char top[sizeof(tmpdir) + 4];

	snprintf(top, sizeof(top), "%s/t", tmpdir);
	unlink(input);
	rmdir(top);
	rmdir(tmpdir);
}

static void setup(void)
{
	char *top;

	if (input[0])
		return;
	if (!mkdtemp(tmpdir))
		abort();
	/* TMPDIR = <tmpdir>/t; the input file sits beside it. */
	if (asprintf(&top, "%s/t", tmpdir) < 0 || mkdir(top, 0700) != 0)
		abort();
	setenv("TMPDIR", top, 1);
	free(top);
	snprintf(input, sizeof(input), "%s/in", tmpdir);
	atexit(cleanup);
}

static void check_empty(void)
{
	char path[sizeof(tmpdir) + 4];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/t", tmpdir);
	if (!(d = opendir(path)))
		abort();
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			abort(); /* a leftover or an escaped write */
	closedir(d);
}

static void drain(berth_source *s, const berth_descriptor *desc)
{
	berth_stream *st = NULL;
	char buf[4096];
	long n, total = 0;

	if (berth_source_blob(s, desc, &st) != 0)
		return;
	while ((n = berth_stream_read(st, buf, sizeof(buf))) > 0 && total < (1 << 20))
		total += n;
	(void)berth_stream_close(st);
}

static void read_source(berth_source *s)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_MAX);
	berth_manifest *m = NULL;
	char mt[256];
	berth_digest dg;

	if (berth_source_manifest(s, NULL, &body, mt, sizeof(mt), &dg) != 0) {
		if (!berth_error_last()[0])
			abort();
		goto done;
	}
	if (berth_manifest_parse(&m, body.ptr, body.len, mt) != 0)
		abort(); /* a source hands out only manifests that parse */
	if (m->kind == BERTH_OCI_IMAGE) {
		drain(s, &m->config);
	} else {
		for (size_t i = 0; i < m->nmanifests && i < 4; i++) {
			berth_manifest *child = NULL;

			berth_buf_reset(&body);
			if (berth_source_manifest(s, &m->manifests[i].digest, &body, mt, sizeof(mt),
						  NULL) != 0)
				continue;
			if (berth_manifest_parse(&child, body.ptr, body.len, mt) != 0)
				abort();
			berth_manifest_free(child);
		}
	}
done:
	berth_manifest_free(m);
	berth_buf_dispose(&body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const forms[] = {"oci-archive:%s", "oci-archive:%s:latest",
					    "docker-archive:%s", "docker-archive:%s:@0",
					    "docker-archive:%s:busybox:latest"};
	berth_transport_options o;
	berth_image_name *n = NULL;
	berth_source *s = NULL;
	char name[sizeof(input) + 64];
	FILE *f;

	if (size < 1)
		return 0;
	setup();
	if (!(f = fopen(input, "wb")))
		abort();
	if (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1)
		abort();
	fclose(f);
	snprintf(name, sizeof(name), forms[data[0] % 5], input);
	if (berth_image_name_parse(&n, name) != 0)
		abort();
	berth_transport_options_init(&o);
	if (berth_source_open(&s, n, &o) != 0) {
		if (s || !berth_error_last()[0])
			abort();
	} else {
		read_source(s);
		berth_source_free(s);
	}
	berth_image_name_free(n);
	check_empty();
	return 0;
}
