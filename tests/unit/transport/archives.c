/*
 * archives.c - unit tests of oci-archive: and docker-archive:: round trips
 * through each, agreement with skopeo (it writes an archive we read, and we
 * write the same members and metadata bytes it writes), the safe
 * extraction that refuses members escaping the temporary directory, and the
 * index that leaves large members of a plain tar in place.
 */
#include "transport_test.h"

typedef struct fix {
	char *dir;
	test_image im;
} fix;

static int setup(void **state)
{
	fix *f = calloc(1, sizeof(*f));

	f->dir = tmpdir_new();
	test_image_make(&f->im, "hello from an archive\n");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fix *f = *state;

	test_image_free(&f->im);
	tmpdir_free(f->dir);
	free(f);
	return 0;
}

static void write_image(const char *spec, const test_image *im)
{
	berth_image_name *n = name_of("%s", spec);
	berth_dest *d = NULL;

	assert_int_equal(berth_dest_open(&d, n, NULL), 0);
	test_image_put(d, im);
	assert_int_equal(berth_dest_commit(d), 0);
	berth_dest_free(d);
	berth_image_name_free(n);
}

/* Read every member of a tar into name -> bytes (symlinks as "-> target"). */
typedef struct member {
	char name[256];
	mem_blob data;
	int is_link;
	int mode;
} tar_member_t;

static size_t read_members(const char *tarfile, tar_member_t *out, size_t max)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	size_t n = 0;

	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_filename(a, tarfile, 65536), ARCHIVE_OK);
	while (n < max && archive_read_next_header(a, &e) == ARCHIVE_OK) {
		tar_member_t *m = &out[n++];

		snprintf(m->name, sizeof(m->name), "%s", archive_entry_pathname(e));
		m->mode = (int)archive_entry_perm(e);
		m->is_link = archive_entry_filetype(e) == AE_IFLNK;
		if (m->is_link) {
			m->data.data = strdup(archive_entry_symlink(e));
			m->data.len = strlen(m->data.data);
		} else {
			m->data.len = (size_t)archive_entry_size(e);
			m->data.data = malloc(m->data.len + 1);
			assert_int_equal(archive_read_data(a, m->data.data, m->data.len),
					 (la_ssize_t)m->data.len);
			m->data.data[m->data.len] = '\0';
		}
	}
	archive_read_free(a);
	return n;
}

static void free_members(tar_member_t *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(m[i].data.data);
}

static void read_image(const char *spec, const test_image *im, berth_buf *manifest,
		       berth_digest *dg)
{
	berth_image_name *n = name_of("%s", spec);
	berth_source *s = NULL;
	char mt[128];

	assert_int_equal(berth_source_open(&s, n, NULL), 0);
	assert_int_equal(berth_source_manifest(s, NULL, manifest, mt, sizeof(mt), dg), 0);
	if (im) {
		berth_stream *st = NULL;
		mem_blob got;

		assert_int_equal(berth_source_blob(s, &im->dl, &st), 0);
		assert_int_equal(drain(st, &got), 0);
		assert_int_equal(got.len, im->layer.len);
		assert_memory_equal(got.data, im->layer.data, got.len);
		free(got.data);
	}
	berth_source_free(s);
	berth_image_name_free(n);
}

static void oci_archive_round_trip(void **state)
{
	fix *f = *state;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	berth_digest dg;
	tar_member_t m[16];
	size_t n;
	char spec[4200];

	snprintf(spec, sizeof(spec), "oci-archive:%s/a.tar:v1", f->dir);
	write_image(spec, &f->im);
	/* Members in skopeo's order: a lexical walk of the layout. */
	snprintf(spec, sizeof(spec), "%s/a.tar", f->dir);
	n = read_members(spec, m, 16);
	assert_int_equal(n, 7);
	assert_string_equal(m[0].name, "blobs/");
	assert_string_equal(m[1].name, "blobs/sha256/");
	assert_string_equal(m[5].name, "index.json");
	assert_string_equal(m[6].name, "oci-layout");
	assert_true(strcmp(m[2].name, m[3].name) < 0 && strcmp(m[3].name, m[4].name) < 0);
	free_members(m, n);
	/* Only the archive is left beside it. */
	assert_int_equal(count_entries(f->dir), 1);

	snprintf(spec, sizeof(spec), "oci-archive:%s/a.tar:v1", f->dir);
	read_image(spec, &f->im, &body, &dg);
	assert_int_equal(body.len, f->im.manifest.len);
	assert_memory_equal(body.ptr, f->im.manifest.data, body.len);
	assert_true(berth_digest_equal(&dg, &f->im.mdigest));
	berth_buf_dispose(&body);
}

static void archive_dests_leave_nothing_without_commit(void **state)
{
	fix *f = *state;
	static const char *const kinds[] = {"oci-archive", "docker-archive"};

	for (size_t i = 0; i < 2; i++) {
		berth_image_name *n = name_of("%s:%s/x.tar", kinds[i], f->dir);
		berth_dest *d = NULL;

		assert_int_equal(berth_dest_open(&d, n, NULL), 0);
		test_image_put(d, &f->im);
		berth_dest_free(d);
		berth_image_name_free(n);
		assert_int_equal(count_entries(f->dir), 0);
	}
}

/* The manifest skopeo presents for a docker-archive holding `im`. */
static char *expected_docker_manifest(const test_image *im)
{
	char *s = NULL;

	assert_true(
		asprintf(
			&s,
			"{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{\"mediaType\":\"%"
			"s\",\"size\":%zu,\"digest\":\"%s\"},"
			"\"layers\":[{\"mediaType\":\"application/"
			"vnd.docker.image.rootfs.diff.tar.gzip\",\"size\":%zu,\"digest\":\"%s\"}]}",
			BERTH_MT_DOCKER_MANIFEST, BERTH_MT_DOCKER_CONFIG, im->config.len,
			im->dc.digest.str, im->tar.len, im->diff.str) > 0);
	return s;
}

static void docker_archive_round_trip(void **state)
{
	fix *f = *state;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	berth_image_name *n;
	berth_source *s = NULL;
	berth_stream *st = NULL;
	berth_descriptor dl;
	berth_digest dg;
	tar_member_t m[16];
	mem_blob got;
	size_t cnt, i;
	char spec[4200], *expect, name[200];

	snprintf(spec, sizeof(spec), "docker-archive:%s/d.tar:foo/bar:t1", f->dir);
	write_image(spec, &f->im);

	snprintf(spec, sizeof(spec), "%s/d.tar", f->dir);
	cnt = read_members(spec, m, 16);
	assert_int_equal(cnt, 7);
	/* The layer is stored decompressed, named by its diff ID. */
	snprintf(name, sizeof(name), "%s.tar", berth_digest_hex(&f->im.diff));
	assert_string_equal(m[0].name, name);
	assert_int_equal(m[0].data.len, f->im.tar.len);
	assert_memory_equal(m[0].data.data, f->im.tar.data, f->im.tar.len);
	assert_int_equal(m[0].mode, 0444);
	snprintf(name, sizeof(name), "%s.json", berth_digest_hex(&f->im.dc.digest));
	assert_string_equal(m[1].name, name);
	assert_true(m[2].is_link);
	snprintf(name, sizeof(name), "../%s.tar", berth_digest_hex(&f->im.diff));
	assert_string_equal(m[2].data.data, name);
	assert_string_equal(m[3].data.data, "1.0");
	/* Go's json.Marshal HTML-escapes the copied config values. */
	assert_non_null(strstr(m[4].data.data, "\"config\":{\"Env\":[\"A=\\u003cb\\u003e\"]}"));
	assert_string_equal(m[5].name, "manifest.json");
	assert_true(asprintf(&expect,
			     "[{\"Config\":\"%s.json\",\"RepoTags\":[\"docker.io/foo/"
			     "bar:t1\"],\"Layers\":[\"%s.tar\"]}]",
			     berth_digest_hex(&f->im.dc.digest),
			     berth_digest_hex(&f->im.diff)) > 0);
	assert_string_equal(m[5].data.data, expect);
	free(expect);
	assert_string_equal(m[6].name, "repositories");
	assert_non_null(strstr(m[6].data.data, "{\"docker.io/foo/bar\":{\"t1\":\""));
	free_members(m, cnt);

	/* Reading it back gives skopeo's manifest and the uncompressed layer. */
	snprintf(spec, sizeof(spec), "docker-archive:%s/d.tar:foo/bar:t1", f->dir);
	n = name_of("%s", spec);
	assert_int_equal(berth_source_open(&s, n, NULL), 0);
	assert_int_equal(berth_source_manifest(s, NULL, &body, NULL, 0, &dg), 0);
	expect = expected_docker_manifest(&f->im);
	assert_string_equal(body.ptr, expect);
	free(expect);
	desc_of(&dl, "x/y", f->im.tar.data, f->im.tar.len);
	assert_int_equal(berth_source_blob(s, &dl, &st), 0);
	assert_int_equal(drain(st, &got), 0);
	assert_int_equal(got.len, f->im.tar.len);
	assert_memory_equal(got.data, f->im.tar.data, got.len);
	free(got.data);
	berth_source_free(s);
	berth_image_name_free(n);

	/* Other selectors: index, and a name that is not there. */
	snprintf(spec, sizeof(spec), "docker-archive:%s/d.tar:@0", f->dir);
	berth_buf_reset(&body);
	read_image(spec, NULL, &body, &dg);
	snprintf(spec, sizeof(spec), "docker-archive:%s/d.tar:foo/bar:other", f->dir);
	n = name_of("%s", spec);
	assert_int_equal(berth_source_open(&s, n, NULL), BERTH_ENOTFOUND);
	berth_image_name_free(n);
	for (i = 0; i < 1; i++)
		berth_buf_dispose(&body);
}

static int have_skopeo(void)
{
	return system("skopeo --version >/dev/null 2>&1") == 0;
}

static void reads_and_matches_what_skopeo_writes(void **state)
{
	fix *f = *state;
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	berth_digest dg;
	tar_member_t theirs[16], ours[16];
	size_t nt, no, i, j;
	char cmd[9000], spec[4200], *expect;
	FILE *p;
	char raw[4096];
	size_t rawlen;

	if (!have_skopeo())
		fail_msg("skopeo is not installed: install it with 'apt-get install skopeo' "
			 "(scripts/deps.sh does)");
	snprintf(spec, sizeof(spec), "oci:%s/lay:v1", f->dir);
	write_image(spec, &f->im);
	snprintf(cmd, sizeof(cmd),
		 "skopeo copy -q oci:%s/lay:v1 docker-archive:%s/skopeo.tar:foo/bar:t1 2>&1",
		 f->dir, f->dir);
	assert_int_equal(system(cmd), 0);

	/* We read skopeo's archive as skopeo does: same manifest bytes. */
	snprintf(spec, sizeof(spec), "docker-archive:%s/skopeo.tar", f->dir);
	read_image(spec, NULL, &body, &dg);
	snprintf(cmd, sizeof(cmd), "skopeo inspect --raw docker-archive:%s/skopeo.tar", f->dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	rawlen = fread(raw, 1, sizeof(raw) - 1, p);
	raw[rawlen] = '\0';
	assert_int_equal(pclose(p), 0);
	assert_string_equal(body.ptr, raw);
	expect = expected_docker_manifest(&f->im);
	assert_string_equal(body.ptr, expect);
	free(expect);
	berth_buf_dispose(&body);

	/* We write the same members with the same bytes (order aside). */
	snprintf(spec, sizeof(spec), "docker-archive:%s/ours.tar:foo/bar:t1", f->dir);
	write_image(spec, &f->im);
	snprintf(spec, sizeof(spec), "%s/skopeo.tar", f->dir);
	nt = read_members(spec, theirs, 16);
	snprintf(spec, sizeof(spec), "%s/ours.tar", f->dir);
	no = read_members(spec, ours, 16);
	assert_int_equal(nt, no);
	for (i = 0; i < nt; i++) {
		for (j = 0; j < no; j++)
			if (!strcmp(theirs[i].name, ours[j].name))
				break;
		if (j == no)
			fail_msg("skopeo wrote %s, we did not", theirs[i].name);
		assert_int_equal(theirs[i].is_link, ours[j].is_link);
		assert_int_equal(theirs[i].mode, ours[j].mode);
		assert_int_equal(theirs[i].data.len, ours[j].data.len);
		assert_memory_equal(theirs[i].data.data, ours[j].data.data, ours[j].data.len);
	}
	free_members(theirs, nt);
	free_members(ours, no);
}

static void add_file(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	assert_int_equal(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

static void reads_gzip_layers_decompressed_like_skopeo(void **state)
{
	fix *f = *state;
	struct archive *a = archive_write_new();
	berth_buf body = BERTH_BUF_INIT(1 << 20);
	berth_image_name *n;
	berth_source *s = NULL;
	berth_stream *st = NULL;
	berth_descriptor dl;
	berth_digest dg;
	mem_blob got;
	char path[4200], *mj = NULL, *expect;

	/* A docker save archive whose layer file is gzip'd (as umoci-made ones are). */
	snprintf(path, sizeof(path), "%s/gz.tar", f->dir);
	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	assert_true(asprintf(&mj, "[{\"Config\":\"c.json\",\"RepoTags\":[\"x:1\"],\"Layers\":[\"l/"
				  "layer.tar\"]}]") > 0);
	add_file(a, "manifest.json", mj, strlen(mj));
	add_file(a, "c.json", f->im.config.data, f->im.config.len);
	add_file(a, "l/layer.tar", f->im.layer.data, f->im.layer.len);
	archive_write_close(a);
	archive_write_free(a);
	free(mj);

	n = name_of("docker-archive:%s:x:1", path);
	assert_int_equal(berth_source_open(&s, n, NULL), 0);
	assert_int_equal(berth_source_manifest(s, NULL, &body, NULL, 0, &dg), 0);
	expect = expected_docker_manifest(&f->im);
	assert_string_equal(body.ptr, expect);
	free(expect);
	desc_of(&dl, "x/y", f->im.tar.data, f->im.tar.len);
	assert_int_equal(berth_source_blob(s, &dl, &st), 0);
	assert_int_equal(drain(st, &got), 0);
	assert_int_equal(got.len, f->im.tar.len);
	assert_memory_equal(got.data, f->im.tar.data, got.len);
	free(got.data);
	berth_source_free(s);
	berth_image_name_free(n);
	if (have_skopeo()) {
		char cmd[4400], raw[4096];
		FILE *p;
		size_t rawlen;

		snprintf(cmd, sizeof(cmd), "skopeo inspect --raw docker-archive:%s", path);
		p = popen(cmd, "r");
		assert_non_null(p);
		rawlen = fread(raw, 1, sizeof(raw) - 1, p);
		raw[rawlen] = '\0';
		assert_int_equal(pclose(p), 0);
		assert_string_equal(body.ptr, raw);
	}
	berth_buf_dispose(&body);
}

static void write_evil_tar(const char *path, const char *member, const char *link)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_pax_restricted(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	archive_entry_set_pathname(e, member);
	if (link) {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, link);
		archive_entry_set_size(e, 0);
	} else {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, 4);
	}
	archive_entry_set_perm(e, 0644);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	if (!link)
		assert_int_equal(archive_write_data(a, "evil", 4), 4);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

static void extraction_refuses_escaping_members(void **state)
{
	fix *f = *state;
	static const struct {
		const char *member, *link;
	} bad[] = {
		{"../escape", NULL},
		{"a/../../escape", NULL},
		{"/tmp/berth-abs-escape", NULL},
		{"lnk", "/etc/passwd"},
		{"lnk", "../../etc/passwd"},
		{"d/lnk", "../../x"},
	};
	char tar[4200], spec[4300];

	snprintf(tar, sizeof(tar), "%s/evil.tar", f->dir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		berth_transport__tree *t = NULL;
		berth_image_name *n;
		berth_source *s = NULL;

		write_evil_tar(tar, bad[i].member, bad[i].link);
		assert_int_equal(berth_transport__tree_extract(&t, tar), BERTH_EINVALID);
		assert_null(t);
		snprintf(spec, sizeof(spec), "oci-archive:%s", tar);
		n = name_of("%s", spec);
		assert_int_equal(berth_source_open(&s, n, NULL), BERTH_EINVALID);
		berth_image_name_free(n);
		snprintf(spec, sizeof(spec), "docker-archive:%s", tar);
		n = name_of("%s", spec);
		assert_int_equal(berth_source_open(&s, n, NULL), BERTH_EINVALID);
		berth_image_name_free(n);
	}
	assert_false(path_existsf("%s/../escape", f->dir));
	assert_false(path_existsf("/tmp/berth-abs-escape"));
	/* An in-tree link resolves; a missing archive is ENOTFOUND. */
	{
		berth_transport__tree *t = NULL;
		int fd = -1;
		int64_t size = 0;

		write_evil_tar(tar, "dir/link", "../target");
		assert_int_equal(berth_transport__tree_extract(&t, tar), 0);
		assert_int_equal(berth_transport__tree_open(t, "dir/link", &fd, &size),
				 BERTH_ENOTFOUND);
		assert_int_equal(berth_transport__tree_open(t, "../x", &fd, &size), BERTH_EINVALID);
		berth_transport__tree_free(t);
		snprintf(spec, sizeof(spec), "%s/missing.tar", f->dir);
		assert_int_equal(berth_transport__tree_extract(&t, spec), BERTH_ENOTFOUND);
	}
}

/* Members over 512 KiB are wanted in place, whatever their bytes. */
static int over_512k(void *ctx, const unsigned char *head, size_t n, int64_t size)
{
	(void)ctx;
	(void)head;
	(void)n;
	return size > (512 << 10);
}

static void write_index_tar(const char *path, int gzip, const char *big1, const char *big2,
			    const char *other)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();

	archive_write_set_format_pax_restricted(a);
	if (gzip)
		archive_write_add_filter_gzip(a);
	assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
	add_file(a, "small", "ten bytes!", 10);
	add_file(a, "big", big1, 3 << 20);
	add_file(a, "other", other, 1 << 20);
	add_file(a, "big", big2, 2 << 20); /* replaces the first "big", as tar does */
	archive_entry_set_pathname(e, "alias");
	archive_entry_set_filetype(e, AE_IFLNK);
	archive_entry_set_symlink(e, "other");
	archive_entry_set_perm(e, 0644);
	assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
}

/* Member `name` of t, read through a range stream: exactly `want`. */
static void assert_member(berth_transport__tree *t, const char *name, const char *want, size_t len)
{
	berth_stream *st = NULL;
	char *got = malloc(len + 4096);
	size_t have = 0;
	int64_t size = -1;
	long r;
	int fd = -1;

	assert_int_equal(berth_transport__tree_open(t, name, &fd, &size), 0);
	assert_int_equal(size, (int64_t)len);
	assert_int_equal(berth_transport__stream_fd_range(&st, fd, size), 0);
	while ((r = berth_stream_read(st, got + have, len + 4096 - have)) > 0)
		have += (size_t)r;
	assert_int_equal(r, 0);
	assert_int_equal(have, len);
	assert_memory_equal(got, want, len);
	assert_int_equal(berth_stream_close(st), 0);
	free(got);
}

static void index_reads_large_members_in_place(void **state)
{
	fix *f = *state;
	char *big1 = malloc(3 << 20), *big2 = malloc(2 << 20), *other = malloc(1 << 20);
	char tar[4200];

	for (size_t i = 0; i < (3u << 20); i++)
		big1[i] = (char)(i * 7 + 1);
	for (size_t i = 0; i < (2u << 20); i++)
		big2[i] = (char)(i * 13 + 5);
	for (size_t i = 0; i < (1u << 20); i++)
		other[i] = (char)(i % 251);
	for (int gzip = 0; gzip <= 1; gzip++) {
		berth_transport__tree *t = NULL;

		snprintf(tar, sizeof(tar), "%s/index%d.tar", f->dir, gzip);
		write_index_tar(tar, gzip, big1, big2, other);
		assert_int_equal(berth_transport__tree_index(&t, tar, over_512k, NULL), 0);
		/* Plain tar: the large members stay in it; gzip'd: all unpacked. */
		assert_int_equal(path_existsf("%s/big", berth_transport__tree_dir(t)), gzip);
		assert_int_equal(path_existsf("%s/other", berth_transport__tree_dir(t)), gzip);
		assert_true(path_existsf("%s/small", berth_transport__tree_dir(t)));
		assert_member(t, "small", "ten bytes!", 10);
		assert_member(t, "big", big2, 2 << 20);
		assert_member(t, "other", other, 1 << 20);
		assert_member(t, "alias", other, 1 << 20);
		berth_transport__tree_free(t);
	}
	free(big1);
	free(big2);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(oci_archive_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(archive_dests_leave_nothing_without_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(docker_archive_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(reads_and_matches_what_skopeo_writes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(reads_gzip_layers_decompressed_like_skopeo, setup,
						teardown),
		cmocka_unit_test_setup_teardown(extraction_refuses_escaping_members, setup,
						teardown),
		cmocka_unit_test_setup_teardown(index_reads_large_members_in_place, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
