/*
 * image.c - unit tests of the build store and images: a busybox base image
 * (tests/fixtures/make-busybox-image.sh, an OCI layout) is copied into a
 * store, RUN steps run on it through the sandbox and become layers, the
 * config is edited, and the committed image is read back by umoci (an
 * independent reader of OCI layouts). With times clamped, two stores make
 * the same image digest. A base copied in with BERTH_BUILD_FROM_UNPACK is
 * unpacked as it arrives, and only if its blobs pass their digest check.
 * Needs root, busybox-static and umoci.
 */
#include "berth/build.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../testutil.h"

typedef struct fixture {
	char dir[64];
	char layout[128];
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	const char *src = getenv("BERTH_SOURCE_DIR");
	char cmd[512];

	if (!f || !src)
		return -1;
	strcpy(f->dir, "/tmp/berth-build-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->layout, sizeof(f->layout), "%s/base", f->dir);
	snprintf(cmd, sizeof(cmd), "sh %s/tests/fixtures/make-busybox-image.sh %s >/dev/null", src,
		 f->layout);
	if (system(cmd) != 0) {
		fprintf(stderr, "cannot make the busybox image: apt-get install umoci "
				"busybox-static\n");
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static berth_build_store *open_store(fixture *f, const char *name)
{
	char root[128];
	berth_build_store *s = NULL;

	snprintf(root, sizeof(root), "%s/%s", f->dir, name);
	assert_int_equal(berth_build_store_open(&s, root), 0);
	return s;
}

static berth_build_image *from_base(fixture *f, berth_build_store *s)
{
	char spec[200];
	berth_image_name *n = NULL;
	berth_transport_options o;
	berth_build_image *img = NULL;

	snprintf(spec, sizeof(spec), "oci:%s:busybox", f->layout);
	assert_int_equal(berth_image_name_parse(&n, spec), 0);
	berth_transport_options_init(&o);
	assert_int_equal(berth_build_image_from(&img, s, n, &o, "linux/amd64", 0), 0);
	berth_image_name_free(n);
	return img;
}

static int run(berth_build_image *img, berth_build_store *s, const char *script, int64_t clamp)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
	berth_build_run r = {.argv = argv, .stdout_fd = -1, .stderr_fd = -1};
	berth_diff_options o = {.compression = BERTH_LAYER_GZIP, .level = -1, .clamp_mtime = clamp};
	int status = -1;

	assert_int_equal(berth_build_image_run(img, s, &r, script, &o, &status), 0);
	return status;
}

static void run_steps_become_layers_and_failures_change_nothing(void **state)
{
	fixture *f = *state;
	berth_build_store *s = open_store(f, "store");
	berth_build_image *img = from_base(f, s);
	berth_digest d;

	assert_int_equal(berth_build_image_layers(img), 1);
	assert_non_null(berth_build_image_env(img, "PATH"));
	assert_int_equal(run(img, s, "echo hi > /greeting && mkdir -p /app", -1), 0);
	assert_int_equal(berth_build_image_layers(img), 2);
	assert_int_equal(run(img, s, "exit 7", -1), 7);
	assert_int_equal(berth_build_image_layers(img), 2);
	/* A step that changes nothing adds no layer. */
	assert_int_equal(run(img, s, "true", -1), 0);
	assert_int_equal(berth_build_image_layers(img), 2);
	/* The next step sees the previous one's files. */
	assert_int_equal(run(img, s, "test \"$(cat /greeting)\" = hi && rm /greeting", -1), 0);
	assert_int_equal(berth_build_image_layers(img), 3);
	assert_int_equal(berth_build_image_set_env(img, "APP_MODE", "prod"), 0);
	assert_string_equal(berth_build_image_env(img, "APP_MODE"), "prod");
	assert_int_equal(berth_build_image_set_config(img, "Cmd", "[\"/bin/sh\",\"-c\",\"ls\"]"),
			 0);
	assert_int_equal(berth_build_image_set_config(img, "WorkingDir", "\"/app\""), 0);
	assert_int_equal(berth_build_image_set_config(img, "User", "{bad json"), BERTH_EINVALID);
	assert_int_equal(berth_build_image_commit(img, s, "built", 1000, &d), 0);

	/* umoci reads the result: three layers, the config, the files as the steps left them. */
	test_sh("cd %s && umoci stat --image store/content:built --json > stat.json && "
		"/usr/bin/python3 -c \"import json; h=json.load(open('stat.json'))['history']; "
		"assert sum(1 for e in h if not e.get('empty_layer')) == 3, h; "
		"assert any(e.get('empty_layer') and e['created_by'] == 'true' for e in h), h\"",
		f->dir);
	test_sh("cd %s && umoci unpack --image store/content:built out >/dev/null && "
		"test ! -e out/rootfs/greeting && test -d out/rootfs/app && "
		"grep -q APP_MODE=prod out/config.json && grep -q '\"cwd\": \"/app\"' "
		"out/config.json",
		f->dir);
	test_sh("cd %s && grep -q org.opencontainers.image.base.name "
		"store/content/blobs/sha256/%s",
		f->dir, berth_digest_hex(&d));
	berth_build_image_free(img);
	berth_build_store_free(s);
}

static void clamped_builds_in_two_stores_make_the_same_image(void **state)
{
	fixture *f = *state;
	berth_digest d[2];

	for (int i = 0; i < 2; i++) {
		berth_build_store *s = open_store(f, i ? "b" : "a");
		berth_build_image *img = from_base(f, s);

		assert_int_equal(
			run(img, s, "mkdir -p /srv && echo data > /srv/x && sleep 1", 1000), 0);
		assert_int_equal(berth_build_image_commit(img, s, "repro", 1000, &d[i]), 0);
		berth_build_image_free(img);
		berth_build_store_free(s);
	}
	assert_string_equal(d[0].str, d[1].str);
}

static void users_resolve_in_the_image(void **state)
{
	fixture *f = *state;
	berth_build_store *s = open_store(f, "store");
	berth_build_image *img = from_base(f, s);
	char *argv[] = {"/bin/sh", "-c", "id -u > /tmp-uid 2>&1 || true", NULL};
	berth_build_run r = {.argv = argv, .user = "nosuchuser", .stdout_fd = -1, .stderr_fd = -1};
	berth_diff_options o = {.compression = BERTH_LAYER_GZIP, .level = -1, .clamp_mtime = -1};
	int status;

	assert_int_equal(berth_build_image_run(img, s, &r, "x", &o, &status), BERTH_ENOTFOUND);
	assert_non_null(strstr(berth_error_last(), "nosuchuser"));
	r.user = "1234";
	argv[2] = "test \"$(id -u)\" = 1234";
	assert_int_equal(berth_build_image_run(img, s, &r, "x", &o, &status), 0);
	assert_int_equal(status, 0);
	berth_build_image_free(img);
	berth_build_store_free(s);
}

static void a_missing_base_image_is_a_clear_error(void **state)
{
	fixture *f = *state;
	berth_build_store *s = open_store(f, "store");
	berth_build_image *img = NULL;
	berth_image_name *n = NULL;
	berth_transport_options o;
	char spec[200];

	snprintf(spec, sizeof(spec), "oci:%s:nosuchtag", f->layout);
	assert_int_equal(berth_image_name_parse(&n, spec), 0);
	berth_transport_options_init(&o);
	assert_true(berth_build_image_from(&img, s, n, &o, NULL, 0) < 0);
	assert_null(img);
	assert_non_null(strstr(berth_error_last(), "nosuchtag"));
	berth_image_name_free(n);
	berth_build_store_free(s);
}

/* Snapshots in the store (unpacked layers), leftovers of an unpack (.tmp-) apart. */
static int snapshots(fixture *f, const char *store, int *tmp)
{
	char path[256];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s/snapshots/layers", f->dir, store);
	d = opendir(path);
	assert_non_null(d);
	*tmp = 0;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, ".tmp-", 5) == 0)
			++*tmp;
		else if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int from_layout(fixture *f, berth_build_store *s, const char *layout, unsigned flags)
{
	char spec[200];
	berth_image_name *n = NULL;
	berth_transport_options o;
	berth_build_image *img = NULL;
	int rc;

	snprintf(spec, sizeof(spec), "oci:%s/%s:busybox", f->dir, layout);
	assert_int_equal(berth_image_name_parse(&n, spec), 0);
	berth_transport_options_init(&o);
	rc = berth_build_image_from(&img, s, n, &o, "linux/amd64", flags);
	berth_build_image_free(img);
	berth_image_name_free(n);
	return rc;
}

/*
 * BERTH_BUILD_FROM_UNPACK: the base's layer is unpacked while it is copied in
 * (nothing unpacked without it); a blob that fails its digest check, though a
 * valid gzip of the very same tar (so the unpack itself succeeds), leaves no
 * snapshot and no leftover behind.
 */
static void layers_unpack_while_they_download_and_only_when_verified(void **state)
{
	fixture *f = *state;
	berth_build_store *lazy = open_store(f, "lazy"), *eager = open_store(f, "eager"),
			  *bad = open_store(f, "bad");
	char cmd[1024];
	FILE *py;
	int tmp;

	assert_int_equal(from_layout(f, lazy, "base", 0), 0);
	assert_int_equal(snapshots(f, "lazy", &tmp), 0);
	assert_int_equal(from_layout(f, eager, "base", BERTH_BUILD_FROM_UNPACK), 0);
	assert_int_equal(snapshots(f, "eager", &tmp), 1);
	assert_int_equal(tmp, 0);

	/* The layer blob recompressed in place: same tar, other bytes, wrong digest. */
	snprintf(cmd, sizeof(cmd), "%s/tamper.py", f->dir);
	py = fopen(cmd, "w");
	assert_non_null(py);
	/* Same size too (the size is checked first): an empty gzip member whose
	 * comment pads the new bytes out to the old length. */
	fputs("import json, gzip\n"
	      "m = json.load(open('index.json'))['manifests'][0]['digest'][7:]\n"
	      "l = json.load(open('blobs/sha256/' + m))['layers'][0]['digest'][7:]\n"
	      "p = 'blobs/sha256/' + l\n"
	      "old = open(p, 'rb').read()\n"
	      "new = gzip.compress(gzip.decompress(old), compresslevel=9, mtime=1)\n"
	      "k = len(old) - len(new) - 21\n"
	      "assert k >= 0, 'level 9 is not smaller'\n"
	      "pad = b'\\x1f\\x8b\\x08\\x10' + bytes(6) + b'x' * k + bytes(1) + b'\\x03\\x00' + "
	      "bytes(8)\n"
	      "open(p, 'wb').write(new + pad)\n"
	      "assert len(new + pad) == len(old) and new + pad != old\n",
	      py);
	assert_int_equal(fclose(py), 0);
	snprintf(cmd, sizeof(cmd), "cp -r %s %s/tampered && cd %s/tampered && python3 ../tamper.py",
		 f->layout, f->dir, f->dir);
	assert_int_equal(system(cmd), 0);
	assert_true(from_layout(f, bad, "tampered", BERTH_BUILD_FROM_UNPACK) < 0);
	assert_int_equal(snapshots(f, "bad", &tmp), 0);
	assert_int_equal(tmp, 0);
	berth_build_store_free(lazy);
	berth_build_store_free(eager);
	berth_build_store_free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(run_steps_become_layers_and_failures_change_nothing,
						setup, teardown),
		cmocka_unit_test_setup_teardown(clamped_builds_in_two_stores_make_the_same_image,
						setup, teardown),
		cmocka_unit_test_setup_teardown(users_resolve_in_the_image, setup, teardown),
		cmocka_unit_test_setup_teardown(a_missing_base_image_is_a_clear_error, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			layers_unpack_while_they_download_and_only_when_verified, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
