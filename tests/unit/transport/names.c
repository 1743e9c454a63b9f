/*
 * names.c - unit tests of image name parsing and formatting: every
 * transport, containers/image's split rules for paths and tags, errors.
 */
#include "transport_test.h"

static void docker_names_parse_references(void **state)
{
	berth_image_name *n = NULL;

	(void)state;
	assert_int_equal(berth_image_name_parse(&n, "docker://alpine:3.19"), 0);
	assert_int_equal(n->kind, BERTH_TRANSPORT_DOCKER);
	assert_string_equal(n->ref->domain, "docker.io");
	assert_string_equal(n->ref->path, "library/alpine");
	assert_string_equal(n->ref->tag, "3.19");
	assert_null(n->path);
	berth_image_name_free(n);

	assert_int_equal(berth_image_name_parse(&n, "docker://127.0.0.1:5000/team/app"), 0);
	assert_string_equal(n->ref->domain, "127.0.0.1:5000");
	assert_null(n->ref->tag);
	berth_image_name_free(n);
}

static void docker_without_slashes_is_refused(void **state)
{
	berth_image_name *n = NULL;

	(void)state;
	assert_int_equal(berth_image_name_parse(&n, "docker:alpine"), BERTH_EINVALID);
	assert_null(n);
	assert_non_null(strstr(berth_error_last(), "docker://"));
	assert_int_equal(berth_image_name_parse(&n, "docker://Bad Ref"), BERTH_EINVALID);
	assert_int_equal(
		berth_image_name_parse(
			&n, "docker://a/b:t@sha256:"
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		BERTH_EINVALID);
}

static void unknown_transport_names_the_choices(void **state)
{
	berth_image_name *n = NULL;

	(void)state;
	assert_int_equal(berth_image_name_parse(&n, "ftp://x/y"), BERTH_EINVALID);
	assert_string_equal(
		berth_error_last(),
		"unknown transport 'ftp' (use docker://, oci:, oci-archive: or docker-archive:)");
	assert_int_equal(berth_image_name_parse(&n, "alpine"), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "docker://"));
	assert_int_equal(berth_image_name_parse(&n, ""), BERTH_EINVALID);
	assert_null(n);
}

static void oci_splits_at_first_colon_like_containers_image(void **state)
{
	berth_image_name *n = NULL;

	(void)state;
	n = name_of("oci:/tmp/lay");
	assert_int_equal(n->kind, BERTH_TRANSPORT_OCI);
	assert_string_equal(n->path, "/tmp/lay");
	assert_null(n->tag);
	berth_image_name_free(n);

	n = name_of("oci:/tmp/lay:v1.2");
	assert_string_equal(n->path, "/tmp/lay");
	assert_string_equal(n->tag, "v1.2");
	berth_image_name_free(n);

	/* skopeo: "oci:d:a:b" is image "a:b" in directory "d". */
	n = name_of("oci:/tmp/lay:quay.io/team/app:1.0");
	assert_string_equal(n->path, "/tmp/lay");
	assert_string_equal(n->tag, "quay.io/team/app:1.0");
	berth_image_name_free(n);

	/* An empty image part means none. */
	n = name_of("oci:rel/dir:");
	assert_string_equal(n->path, "rel/dir");
	assert_null(n->tag);
	berth_image_name_free(n);

	n = name_of("oci-archive:/tmp/a.tar:latest");
	assert_int_equal(n->kind, BERTH_TRANSPORT_OCI_ARCHIVE);
	assert_string_equal(n->path, "/tmp/a.tar");
	assert_string_equal(n->tag, "latest");
	berth_image_name_free(n);
}

static void oci_bad_paths_and_images_are_refused(void **state)
{
	berth_image_name *n = NULL;

	(void)state;
	assert_int_equal(berth_image_name_parse(&n, "oci:"), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "missing path"));
	assert_int_equal(berth_image_name_parse(&n, "oci::tag"), BERTH_EINVALID);
	assert_int_equal(berth_image_name_parse(&n, "oci:/x:bad tag"), BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "bad tag"));
	assert_int_equal(berth_image_name_parse(&n, "oci:/x:@0"), BERTH_EINVALID);
	assert_int_equal(berth_image_name_parse(&n, "oci:/x:a..b"), BERTH_EINVALID);
	assert_int_equal(berth_image_name_parse(&n, "oci:/x:a/"), BERTH_EINVALID);
	assert_int_equal(berth_image_name_parse(&n, "oci-archive:"), BERTH_EINVALID);
	assert_null(n);
}

static void docker_archive_names_normalise_and_index(void **state)
{
	berth_image_name *n = NULL;
	char *s;

	(void)state;
	n = name_of("docker-archive:/tmp/a.tar");
	assert_int_equal(n->kind, BERTH_TRANSPORT_DOCKER_ARCHIVE);
	assert_string_equal(n->path, "/tmp/a.tar");
	assert_null(n->ref);
	assert_int_equal(n->index, -1);
	berth_image_name_free(n);

	n = name_of("docker-archive:/tmp/a.tar:foo/bar");
	assert_string_equal(n->ref->domain, "docker.io");
	assert_string_equal(n->ref->path, "foo/bar");
	assert_string_equal(n->ref->tag, "latest");
	s = berth_image_name_format(n);
	assert_string_equal(s, "docker-archive:/tmp/a.tar:docker.io/foo/bar:latest");
	free(s);
	berth_image_name_free(n);

	n = name_of("docker-archive:/tmp/a.tar:localhost:5000/x:t1");
	assert_string_equal(n->ref->domain, "localhost:5000");
	assert_string_equal(n->ref->tag, "t1");
	berth_image_name_free(n);

	n = name_of("docker-archive:/tmp/a.tar:@2");
	assert_int_equal(n->index, 2);
	assert_null(n->ref);
	s = berth_image_name_format(n);
	assert_string_equal(s, "docker-archive:/tmp/a.tar:@2");
	free(s);
	berth_image_name_free(n);

	assert_int_equal(berth_image_name_parse(&n, "docker-archive:/a.tar:@x"), BERTH_EINVALID);
	assert_int_equal(berth_image_name_parse(&n, "docker-archive:/a.tar:@-1"), BERTH_EINVALID);
	assert_int_equal(berth_image_name_parse(&n, "docker-archive:/a.tar:@"), BERTH_EINVALID);
	assert_int_equal(
		berth_image_name_parse(
			&n, "docker-archive:/a.tar:foo@sha256:"
			    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
		BERTH_EINVALID);
	assert_non_null(strstr(berth_error_last(), "tag"));
	assert_int_equal(berth_image_name_parse(&n, "docker-archive::x:y"), BERTH_EINVALID);
	assert_null(n);
}

static void format_round_trips(void **state)
{
	static const char *const names[] = {
		"docker://docker.io/library/alpine:3.19",
		"oci:/tmp/lay:v1",
		"oci:/tmp/lay",
		"oci-archive:/tmp/a.tar:x:y",
		"docker-archive:/tmp/a.tar:docker.io/foo/bar:t1",
		"docker-archive:/tmp/a.tar",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		berth_image_name *n = name_of("%s", names[i]);
		char *s = berth_image_name_format(n);

		assert_string_equal(s, names[i]);
		free(s);
		berth_image_name_free(n);
	}
}

static void options_default_to_verifying_tls(void **state)
{
	berth_transport_options o;

	(void)state;
	memset(&o, 0xff, sizeof(o));
	berth_transport_options_init(&o);
	assert_int_equal(o.tls_verify, 1);
	assert_null(o.username);
	assert_null(o.auth_file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(docker_names_parse_references),
		cmocka_unit_test(docker_without_slashes_is_refused),
		cmocka_unit_test(unknown_transport_names_the_choices),
		cmocka_unit_test(oci_splits_at_first_colon_like_containers_image),
		cmocka_unit_test(oci_bad_paths_and_images_are_refused),
		cmocka_unit_test(docker_archive_names_normalise_and_index),
		cmocka_unit_test(format_round_trips),
		cmocka_unit_test(options_default_to_verifying_tls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
