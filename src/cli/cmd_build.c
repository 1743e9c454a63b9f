/*
 * cmd_build.c - `berth build`: a Dockerfile and its context become an
 * image, with `docker buildx build`'s flags where they mean something
 * without a daemon. The image is built into the build store (berth/build.h)
 * and exported from there by the copy engine: pushed (--push or
 * -o type=registry), written as an OCI layout or archive (-o type=oci),
 * or as a docker-archive (-o type=docker).
 *
 * Builds run as root, in a private mount namespace so that a killed build
 * leaves no mount behind.
 */
#include "args.h"
#include "build_flags.h"
#include "cli.h"
#include "opts.h"

#include "berth/build.h"

#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#define CMD "build"

typedef struct build_opts {
	const char *file, *target, *platform, *network, *iidfile, *progress;
	berth_args_list tags, build_args, outputs, no_cache_filter;
	int push, pull, no_cache;
	opt_registry reg;
	berth_args_list secrets, ssh, add_hosts, ulimits;
	uint64_t shm_size;
} build_opts;

static const char *const networks[] = {"default", "none", "host", NULL};
static const char *const progresses[] = {"auto", "plain", "tty", "quiet", NULL};

static const berth_arg build_args[] = {
	BERTH_OPT_STRING("file", 'f', build_opts, file, "FILE",
			 "the Dockerfile (default CONTEXT/Dockerfile)"),
	BERTH_OPT_LIST("tag", 't', build_opts, tags, "NAME",
		       "name the image (repeatable); pushed with --push"),
	BERTH_OPT_STRING("target", 0, build_opts, target, "STAGE",
			 "the stage to build (default: the last)"),
	BERTH_OPT_LIST("build-arg", 0, build_opts, build_args, "K=V",
		       "a build argument (repeatable; K alone takes $K)"),
	BERTH_OPT_STRING("platform", 0, build_opts, platform, "OS/ARCH[/V]",
			 "the platform to build for (default linux/<host>)"),
	BERTH_OPT_ENUM("network", 0, build_opts, network, networks, NULL,
		       "RUN's network: default and host reach what the host reaches,\n"
		       "none only loopback (default: default)"),
	BERTH_OPT_FLAG("pull", 0, build_opts, pull, "fetch base images again"),
	BERTH_OPT_FLAG("no-cache", 0, build_opts, no_cache, "run every step, use no cached result"),
	BERTH_OPT_LIST("no-cache-filter", 0, build_opts, no_cache_filter, "STAGE",
		       "run every step of this stage (repeatable)"),
	BERTH_OPT_LIST("output", 'o', build_opts, outputs, "SPEC",
		       "type=registry | type=oci,dest=FILE|DIR[,tar=false] |\n"
		       "type=docker,dest=FILE (repeatable)"),
	BERTH_OPT_FLAG("push", 0, build_opts, push, "push every --tag (= --output type=registry)"),
	BERTH_OPT_STRING("iidfile", 0, build_opts, iidfile, "FILE",
			 "write the image's manifest digest to FILE"),
	BERTH_OPT_ENUM("progress", 0, build_opts, progress, progresses, NULL,
		       "progress output (quiet: none)"),
	BERTH_OPT_LIST("secret", 0, build_opts, secrets, "id=X,src=FILE|env=VAR",
		       "a secret RUN --mount=type=secret may mount (repeatable)"),
	BERTH_OPT_LIST("ssh", 0, build_opts, ssh, "default|ID=SOCKET",
		       "an SSH agent socket RUN --mount=type=ssh may use (repeatable;\n"
		       "default: $SSH_AUTH_SOCK)"),
	BERTH_OPT_LIST("add-host", 0, build_opts, add_hosts, "NAME:IP",
		       "an /etc/hosts entry for RUN steps (repeatable)"),
	BERTH_OPT_SIZE("shm-size", 0, build_opts, shm_size, "SIZE", 1, 1LL << 40,
		       "size of RUN's /dev/shm (default 64m)"),
	BERTH_OPT_LIST("ulimit", 0, build_opts, ulimits, "NAME=SOFT[:HARD]",
		       "a resource limit of RUN steps (repeatable; nofile=1024:2048)"),
	OPT_REGISTRY_ARGS(build_opts, reg),
	BERTH_OPT_END,
};

static const berth_args_spec build_spec = {
	.cmd = CMD,
	.usage = "build [options] CONTEXT",
	.description = "Build the image a Dockerfile describes from the CONTEXT directory.\n"
		       "Builds run as root; the build store is $BERTH_ROOT, else\n"
		       "/var/lib/berth-builder.\n",
	.args = build_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs a CONTEXT directory",
};

const berth_args_spec *const cmd_build_specs[] = {&build_spec, NULL};

/* "k=v,k2=v2": the value of key, or NULL. */
static const char *spec_get(const char *spec, const char *key, char *buf, size_t len)
{
	size_t kl = strlen(key);

	while (*spec) {
		size_t n = strcspn(spec, ",");

		if (n > kl && strncmp(spec, key, kl) == 0 && spec[kl] == '=') {
			snprintf(buf, len, "%.*s", (int)(n - kl - 1), spec + kl + 1);
			return buf;
		}
		spec += n + (spec[n] == ',');
	}
	return NULL;
}

static int export_to(berth_build_store *s, const char *tag, const char *dst_spec,
		     const berth_transport_options *to)
{
	char src_spec[PATH_MAX + 64];
	berth_image_name *src = NULL, *dst = NULL;
	berth_transport_options lo;
	berth_copy_options co;
	int rc;

	snprintf(src_spec, sizeof(src_spec), "oci:%s:%s", berth_build_store_content(s), tag);
	berth_transport_options_init(&lo);
	berth_copy_options_init(&co);
	if ((rc = berth_image_name_parse(&src, src_spec)) == 0 &&
	    (rc = berth_image_name_parse(&dst, dst_spec)) == 0)
		rc = berth_copy(src, &lo, dst, to, &co, NULL);
	berth_image_name_free(src);
	berth_image_name_free(dst);
	return rc;
}

static int export_all(build_opts *o, berth_build_store *s, const char *tag,
		      const berth_transport_options *to)
{
	char dst[PATH_MAX + 300], dest[PATH_MAX], tarv[16], type[32];
	const char *name = o->tags.n ? o->tags.v[0] : NULL;

	for (int i = 0; i < o->outputs.n; i++) {
		const char *spec = o->outputs.v[i];

		if (!spec_get(spec, "type", type, sizeof(type)))
			return berth_cli_fail(CMD, -1, "--output %s: no type=", spec);
		if (strcmp(type, "registry") == 0 || strcmp(type, "image") == 0) {
			o->push = 1;
			continue;
		}
		if (!spec_get(spec, "dest", dest, sizeof(dest)))
			return berth_cli_fail(CMD, -1, "--output %s: no dest=", spec);
		if (strcmp(type, "oci") == 0) {
			int tar = !spec_get(spec, "tar", tarv, sizeof(tarv)) ||
				  strcmp(tarv, "false") != 0;

			snprintf(dst, sizeof(dst), "%s:%s:%s", tar ? "oci-archive" : "oci", dest,
				 "latest");
		} else if (strcmp(type, "docker") == 0) {
			snprintf(dst, sizeof(dst), "docker-archive:%s%s%s", dest, name ? ":" : "",
				 name ? name : "");
		} else {
			return berth_cli_fail(CMD, -1,
					      "--output type=%s is not supported yet (registry, "
					      "oci, docker)",
					      type);
		}
		if (export_to(s, tag, dst, to) < 0)
			return berth_cli_fail(CMD, -1, "export to %s: %s", dest,
					      berth_error_last());
	}
	if (o->push && !o->tags.n)
		return berth_cli_fail(CMD, -1, "--push needs a --tag");
	for (int i = 0; o->push && i < o->tags.n; i++) {
		snprintf(dst, sizeof(dst), "docker://%s", o->tags.v[i]);
		if (export_to(s, tag, dst, to) < 0)
			return berth_cli_fail(CMD, -1, "push %s: %s", o->tags.v[i],
					      berth_error_last());
	}
	return 0;
}

int cmd_build(int argc, char **argv)
{
	build_opts o;
	berth_build_opts bo = {0};
	berth_df_vars vars = BERTH_DF_VARS_INIT;
	berth_transport_options to;
	berth_build_store *s = NULL;
	build_run_flags *rf = NULL;
	char root[PATH_MAX], tag[64];
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	berth_digest d;
	FILE *devnull = NULL;
	int npos, r, rc = BERTH_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	opt_registry_init(&o.reg);
	r = berth_args_parse(&build_spec, &o, argc, argv, &npos);
	if (r != BERTH_ARGS_OK)
		return berth_args_exit(r);
	if (opt_registry_check(CMD, &o.reg) < 0 || opt_build_args(CMD, &o.build_args, &vars) < 0)
		goto done;
	rc = BERTH_EXIT_FAIL;
	berth_transport_options_init(&to);
	opt_registry_transport(&o.reg, &to);
	opt_ignore_sigpipe();
	if (!(rf = calloc(1, sizeof(*rf))) ||
	    build_run_flags_read(rf, &bo, &o.secrets, &o.ssh, &o.add_hosts, &o.ulimits) < 0)
		goto done;
	bo.shm_size = o.shm_size;
	if (geteuid() != 0) {
		berth_cli_fail(CMD, 0,
			       "berth build runs as root for now (rootless builds come later)");
		goto done;
	}
	/* Mounts made by the build die with it, even under kill -9. */
	if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
		berth_cli_fail(CMD, 0, "cannot make a private mount namespace");
		goto done;
	}
	if (berth_build_store_default_root(root, sizeof(root)) < 0 ||
	    berth_build_store_open(&s, root) < 0) {
		berth_cli_fail(CMD, 0, "%s", berth_error_last());
		goto done;
	}
	if (o.progress && strcmp(o.progress, "quiet") == 0)
		devnull = fopen("/dev/null", "w");
	bo.context = argv[1];
	bo.dockerfile = o.file;
	bo.build_args = &vars;
	bo.target = o.target;
	bo.platform = o.platform;
	bo.pull = o.pull;
	bo.no_cache = o.no_cache;
	bo.no_cache_filter = o.no_cache_filter.v;
	bo.nno_cache_filter = (size_t)o.no_cache_filter.n;
	bo.net = o.network && strcmp(o.network, "none") == 0 ? BERTH_SANDBOX_NET_NONE
							     : BERTH_SANDBOX_NET_HOST;
	bo.source_date_epoch = sde && *sde ? strtoll(sde, NULL, 10) : -1;
	if (berth_df_vars_get(&vars, "SOURCE_DATE_EPOCH"))
		bo.source_date_epoch =
			strtoll(berth_df_vars_get(&vars, "SOURCE_DATE_EPOCH"), NULL, 10);
	bo.compression = BERTH_LAYER_GZIP;
	bo.registry = &to;
	bo.log = devnull ? devnull : stderr;
	snprintf(tag, sizeof(tag), "build-%ld-%d", (long)time(NULL), (int)getpid());
	if (berth_build_dockerfile(s, &bo, tag, &d) < 0) {
		berth_cli_fail(CMD, 0, "%s", berth_error_last());
		goto done;
	}
	if (export_all(&o, s, tag, &to) < 0)
		goto done;
	if (o.iidfile) {
		FILE *f = fopen(o.iidfile, "w");

		if (!f || fprintf(f, "%s", d.str) < 0 || fclose(f) != 0) {
			berth_cli_fail(CMD, 0, "cannot write %s", o.iidfile);
			goto done;
		}
	}
	printf("%s\n", d.str);
	rc = BERTH_EXIT_OK;
done:
	if (devnull)
		fclose(devnull);
	berth_build_store_free(s);
	if (rf)
		build_run_flags_dispose(rf);
	free(rf);
	berth_df_vars_dispose(&vars);
	opt_registry_dispose(&o.reg);
	return rc;
}
