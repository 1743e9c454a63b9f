/*
 * platform.c - several platforms in one build: the --platform list, the
 * check that a non-native RUN has an emulator (qemu-user-static registered
 * in binfmt_misc with the F flag), and the OCI image index of the
 * per-platform images.
 *
 * The per-platform passes themselves are in solve.c (build_platforms): the
 * target is solved once per platform, the passes at once, against one
 * store; a step whose key another platform's pass made or is making (a
 * FROM --platform=$BUILDPLATFORM stage, whose base and instructions do not
 * depend on the target platform) is taken from that pass's cache record
 * (waiting for it: berth_build__made_claim), even under --no-cache, so it
 * runs once.
 */
#include "lib/build/internal.h"
#include "berth/oci.h"
#include "util/buf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define BINFMT_DIR "/proc/sys/fs/binfmt_misc"
#define BINFMT_ENTRY_MAX 4096 /* bytes read of one binfmt_misc entry */

/* Architectures berth builds for (OCI names) and qemu's name for each. */
static const struct {
	const char *oci, *qemu;
} arches[] = {
	{"amd64", "x86_64"},	{"arm64", "aarch64"},	  {"arm", "arm"},
	{"386", "i386"},	{"ppc64le", "ppc64le"},	  {"s390x", "s390x"},
	{"riscv64", "riscv64"}, {"mips64le", "mips64el"}, {"mips64", "mips64"},
	{"mipsle", "mipsel"},	{"mips", "mips"},	  {"loong64", "loongarch64"},
};

static const char *qemu_name(const char *arch)
{
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++)
		if (strcmp(arches[i].oci, arch) == 0)
			return arches[i].qemu;
	return NULL;
}

int berth_build__platforms_parse(const char *list, char (*out)[BERTH_BUILD_PLATFORM_MAX], size_t *n)
{
	char os[64], arch[64], variant[64], one[256], full[200];
	const char *p = list;

	*n = 0;
	while (p && *p) {
		size_t len = strcspn(p, ",");

		if (len == 0 || len >= sizeof(one))
			return berth_error_set(BERTH_EINVALID, "--platform %s: invalid list", list);
		snprintf(one, sizeof(one), "%.*s", (int)len, p);
		p += len + (p[len] == ',');
		if (berth_df_platform_parse(one, os, arch, variant) < 0)
			return berth_error_set(
				BERTH_EINVALID,
				"--platform %s: invalid platform (os/arch[/variant])", one);
		if (strcmp(os, "linux") != 0)
			return berth_error_set(BERTH_EINVALID,
					       "--platform %s: berth builds linux images only",
					       one);
		if (!qemu_name(arch))
			return berth_error_set(
				BERTH_EINVALID,
				"--platform %s: unknown architecture \"%s\" (amd64, "
				"arm64, arm, 386, ppc64le, s390x, riscv64, mips64le, "
				"loong64, ...)",
				one, arch);
		if (*n >= BERTH_BUILD_PLATFORMS_MAX)
			return berth_error_set(BERTH_ETOOBIG, "--platform: more than %d platforms",
					       BERTH_BUILD_PLATFORMS_MAX);
		snprintf(full, sizeof(full), "%s/%s%s%s", os, arch, variant[0] ? "/" : "", variant);
		if (strlen(full) >= BERTH_BUILD_PLATFORM_MAX)
			return berth_error_set(BERTH_ETOOBIG, "--platform %s: too long", one);
		memcpy(out[*n], full, strlen(full) + 1);
		for (size_t i = 0; i < *n; i++)
			if (strcmp(out[i], out[*n]) == 0)
				return berth_error_set(BERTH_EINVALID, "--platform: %s given twice",
						       out[i]);
		(*n)++;
	}
	return 0;
}

/* The host's architecture (OCI name) into arch (64 bytes). */
static void host_arch(char *arch)
{
	char os[64], variant[64], spec[128];
	struct utsname u;

	strcpy(arch, "amd64");
	if (uname(&u) != 0)
		return;
	snprintf(spec, sizeof(spec), "linux/%s", u.machine);
	if (berth_df_platform_parse(spec, os, arch, variant) < 0)
		strcpy(arch, "amd64");
}

/* Whether the host runs arch's binaries itself (its own, or 386 on amd64, arm on arm64). */
static int native(const char *arch)
{
	char h[64];

	host_arch(h);
	return strcmp(arch, h) == 0 || (strcmp(h, "amd64") == 0 && strcmp(arch, "386") == 0) ||
	       (strcmp(h, "arm64") == 0 && strcmp(arch, "arm") == 0);
}

/* Read at most BINFMT_ENTRY_MAX bytes of a binfmt_misc file into buf; -1 if unreadable. */
static int read_entry(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

#define HOWTO                                                                                      \
	"register one: apt-get install qemu-user-static binfmt-support (or see "                   \
	"docs/build-platforms.md)"

int berth_build__emulator_check(const char *arch)
{
	const char *dir = getenv("BERTH_BINFMT_DIR"), *q = qemu_name(arch);
	char *flags;
	char path[PATH_MAX], buf[BINFMT_ENTRY_MAX];

	if (!arch || native(arch))
		return 0;
	if (!dir || !*dir)
		dir = BINFMT_DIR;
	if (!q)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "no emulator is known for architecture %s", arch);
	snprintf(path, sizeof(path), "%s/status", dir);
	if (read_entry(path, buf, sizeof(buf)) < 0)
		return berth_error_set(
			BERTH_EUNSUPPORTED,
			"a RUN for linux/%s needs an emulator, and binfmt_misc is not "
			"mounted at %s (mount -t binfmt_misc binfmt_misc %s), then " HOWTO,
			arch, dir, dir);
	if (strncmp(buf, "enabled", 7) != 0)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "a RUN for linux/%s needs an emulator, and binfmt_misc is "
				       "disabled (echo 1 > %s/status)",
				       arch, dir);
	snprintf(path, sizeof(path), "%s/qemu-%s", dir, q);
	if (read_entry(path, buf, sizeof(buf)) < 0)
		return berth_error_set(
			BERTH_EUNSUPPORTED,
			"a RUN for linux/%s needs an emulator, and none is registered "
			"(no %s): " HOWTO,
			arch, path);
	if (strncmp(buf, "enabled", 7) != 0)
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "a RUN for linux/%s needs an emulator, and %s is disabled "
				       "(echo 1 > %s)",
				       arch, path, path);
	flags = strstr(buf, "\nflags: ");
	if (flags)
		flags[strcspn(flags + 1, "\n") + 1] = '\0';
	if (!flags || !strchr(flags + 8, 'F'))
		return berth_error_set(BERTH_EUNSUPPORTED,
				       "a RUN for linux/%s needs an emulator, and %s is registered "
				       "without the F (fix-binary) flag, so it cannot start inside "
				       "the RUN's root: register it again with F (docs/"
				       "build-platforms.md)",
				       arch, path);
	return 0;
}

/* One index entry: the manifest's descriptor with the platform. */
static json_t *index_entry(const berth_build_platform_image *im)
{
	char os[64], arch[64], variant[64];
	json_t *e, *p;

	if (berth_df_platform_parse(im->platform, os, arch, variant) < 0)
		return NULL;
	p = json_pack("{s:s, s:s}", "architecture", arch, "os", os);
	if (p && variant[0] && json_object_set_new(p, "variant", json_string(variant)) < 0) {
		json_decref(p);
		return NULL;
	}
	e = p ? json_pack("{s:s, s:s, s:I, s:o}", "mediaType", BERTH_MT_OCI_MANIFEST, "digest",
			  im->manifest.str, "size", (json_int_t)im->size, "platform", p)
	      : NULL;
	return e;
}

int berth_build_index_commit(berth_build_store *s, const char *tag,
			     const berth_build_platform_image *imgs, size_t n, berth_digest *digest)
{
	json_t *idx = json_pack("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType",
				BERTH_MT_OCI_INDEX, "manifests");
	berth_buf spec = BERTH_BUF_INIT(PATH_MAX + 256);
	berth_image_name *name = NULL;
	berth_transport_options o;
	berth_dest *d = NULL;
	berth_digest id;
	char *txt = NULL;
	int rc = 0;

	for (size_t i = 0; idx && i < n && rc == 0; i++)
		rc = json_array_append_new(json_object_get(idx, "manifests"),
					   index_entry(&imgs[i]));
	if (!idx || rc < 0 || !(txt = json_dumps(idx, JSON_COMPACT))) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	berth_transport_options_init(&o);
	if ((rc = berth_build__put_blob(s, txt, strlen(txt), &id)) < 0 ||
	    (rc = berth_buf_printf(&spec, "oci:%s:%s", s->content, tag)) < 0 ||
	    (rc = berth_image_name_parse(&name, spec.ptr)) < 0 ||
	    (rc = berth_dest_open(&d, name, &o)) < 0 ||
	    (rc = berth_dest_put_manifest(d, txt, strlen(txt), BERTH_MT_OCI_INDEX, &id, 1)) < 0 ||
	    (rc = berth_dest_commit(d)) < 0)
		goto done;
	if (digest)
		*digest = id;
done:
	berth_dest_free(d);
	berth_image_name_free(name);
	berth_buf_dispose(&spec);
	json_decref(idx);
	free(txt);
	return rc;
}

/* ---- keys made by this build (shared by its platforms' passes) ---- */

/* Whether keys[0..n) holds key (under mu). */
static int key_in(const berth_digest *keys, size_t n, const berth_digest *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].str, key->str) == 0)
			return 1;
	return 0;
}

/* Append key to *v (under mu). */
static int key_push(berth_digest **v, size_t *n, size_t *cap, const berth_digest *key)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 64;
		berth_digest *k = realloc(*v, c * sizeof(*k));

		if (!k)
			return berth_error_set(BERTH_ERROR, "out of memory");
		*v = k;
		*cap = c;
	}
	(*v)[(*n)++] = *key;
	return 0;
}

int berth_build__made_has(build_made *m, const berth_digest *key)
{
	int found;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->mu);
	found = key_in(m->keys, m->n, key);
	pthread_mutex_unlock(&m->mu);
	return found;
}

int berth_build__made_add(build_made *m, const berth_digest *key)
{
	int rc;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->mu);
	rc = key_push(&m->keys, &m->n, &m->cap, key);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int berth_build__made_claim(build_made *m, const berth_digest *key)
{
	int mine = 1;

	if (!m)
		return 1;
	pthread_mutex_lock(&m->mu);
	while (key_in(m->claimed, m->nclaimed, key))
		pthread_cond_wait(&m->cv, &m->mu);
	if (key_in(m->keys, m->n, key))
		mine = 0; /* made while we waited */
	else if (key_push(&m->claimed, &m->nclaimed, &m->claimed_cap, key) < 0)
		mine = 1; /* cannot record the claim: make it anyway (a duplicate at worst) */
	pthread_mutex_unlock(&m->mu);
	return mine;
}

int berth_build__made_done(build_made *m, const berth_digest *key, int ok)
{
	int rc = 0;

	if (!m)
		return 0;
	pthread_mutex_lock(&m->mu);
	for (size_t i = 0; i < m->nclaimed; i++)
		if (strcmp(m->claimed[i].str, key->str) == 0) {
			m->claimed[i] = m->claimed[--m->nclaimed];
			break;
		}
	if (ok)
		rc = key_push(&m->keys, &m->n, &m->cap, key);
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return rc;
}

int berth_build_platform_tag(char *out, size_t len, const char *tag, const char *platform)
{
	char os[64], arch[64], variant[64];
	int n;

	if (berth_df_platform_parse(platform, os, arch, variant) < 0)
		return BERTH_EINVALID;
	n = snprintf(out, len, "%s.%s-%s%s%s", tag, os, arch, variant[0] ? "-" : "", variant);
	if (n < 0 || (size_t)n >= len)
		return berth_error_set(BERTH_ETOOBIG, "tag %s too long", tag);
	return 0;
}
