/*
 * cmd_build.c - `berth build`: a Dockerfile and its context become an
 * image, with `docker buildx build`'s flags where they mean something
 * without a daemon. The image is built into the build store (berth/build.h)
 * and exported from there by the copy engine: pushed (--push or
 * -o type=registry), written as an OCI layout or archive (-o type=oci),
 * or as a docker-archive (-o type=docker).
 *
 * Builds run as root, in a private mount namespace so that a killed build
 * leaves no mount behind. `--call outline|targets|check` (and `--check`)
 * answer BuildKit's subrequests from the Dockerfile alone, as buildx prints
 * them (library: berth/lint.h), with no root, build store or solve.
 */
#include "args.h"
#include "build_flags.h"
#include "build_progress.h"
#include "cli.h"
#include "opts.h"
#include "signimage.h"

#include "berth/build.h"
#include "berth/lint.h"
#include "util/buf.h"
#include "util/fs.h"

#include <jansson.h>

#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CMD "build"

typedef struct build_opts {
	const char *file, *target, *platform, *network, *iidfile, *progress, *call;
	berth_args_list tags, build_args, outputs, no_cache_filter;
	berth_args_list build_contexts;
	int push, load, pull, no_cache, check, sbom;
	const char *provenance, *sign_key;
	berth_args_list annotations;
	int jobs;
	const char *registries_conf, *metadata_file;
	berth_args_list labels;
	opt_registry reg;
	berth_args_list secrets, ssh, add_hosts, ulimits;
	uint64_t shm_size;
	berth_args_list cache_from, cache_to;
} build_opts;

static const char *const networks[] = {"default", "none", "host", NULL};
static const char *const progresses[] = {"auto", "plain", "tty", "rawjson", "quiet", NULL};

static const berth_arg build_args[] = {
	BERTH_OPT_STRING("file", 'f', build_opts, file, "FILE",
			 "the Dockerfile (default CONTEXT/Dockerfile)"),
	BERTH_OPT_LIST("tag", 't', build_opts, tags, "NAME",
		       "name the image (repeatable); pushed with --push"),
	BERTH_OPT_STRING("target", 0, build_opts, target, "STAGE",
			 "the stage to build (default: the last)"),
	BERTH_OPT_LIST("build-arg", 0, build_opts, build_args, "K=V",
		       "a build argument (repeatable; K alone takes $K)"),
	BERTH_OPT_LIST("build-context", 0, build_opts, build_contexts, "NAME=SRC",
		       "a named context for FROM NAME and COPY --from=NAME: a DIR,\n"
		       "docker-image://REF or oci-layout://DIR[:TAG] (repeatable)"),
	BERTH_OPT_STRING("platform", 0, build_opts, platform, "OS/ARCH[/V][,...]",
			 "the platform(s) to build for, comma-separated: several make\n"
			 "an OCI image index (default linux/<host>)"),
	BERTH_OPT_ENUM("network", 0, build_opts, network, networks, NULL,
		       "RUN's network: default and host reach what the host reaches,\n"
		       "none only loopback (default: default)"),
	BERTH_OPT_FLAG("pull", 0, build_opts, pull, "fetch base images again"),
	BERTH_OPT_FLAG("no-cache", 0, build_opts, no_cache, "run every step, use no cached result"),
	BERTH_OPT_LIST("no-cache-filter", 0, build_opts, no_cache_filter, "STAGE",
		       "run every step of this stage (repeatable)"),
	BERTH_OPT_LIST("cache-from", 0, build_opts, cache_from, "SPEC",
		       "take cached steps from type=registry,ref=REF | type=local,src=DIR\n"
		       "| REF (an image with an inline cache) (repeatable)"),
	BERTH_OPT_LIST("cache-to", 0, build_opts, cache_to, "SPEC",
		       "export the steps' cache: type=registry,ref=REF | type=local,dest=DIR\n"
		       "| type=inline [,mode=min|max] (repeatable)"),
	BERTH_OPT_LIST("output", 'o', build_opts, outputs, "SPEC",
		       "where the image goes (repeatable): type=registry|image[,push=true]\n"
		       "[,name=N] | type=oci,dest=FILE|DIR[,tar=false] | type=docker[,dest=FILE]\n"
		       "| type=local,dest=DIR | type=tar,dest=FILE | DIR | - (a tar on stdout);\n"
		       "also compression=gzip|zstd|uncompressed, compression-level=N,\n"
		       "force-compression=true, oci-mediatypes=B, annotation.K=V"),
	BERTH_OPT_FLAG("push", 0, build_opts, push, "push every --tag (= --output type=registry)"),
	BERTH_OPT_FLAG("load", 0, build_opts, load,
		       "hand the image to docker (docker load; DOCKER_HOST honoured), else\n"
		       "podman (= --output type=docker)"),
	BERTH_OPT_LIST("annotation", 0, build_opts, annotations, "[TYPE[PLATFORM]:]K=V",
		       "add an annotation (repeatable); TYPE manifest (the default),\n"
		       "manifest-descriptor, index, index-descriptor"),
	BERTH_OPT_BOOL("sbom", 0, build_opts, sbom, "BOOL",
		       "attach an SPDX SBOM attestation (as BuildKit, in an index)"),
	BERTH_OPT_STRING("provenance", 0, build_opts, provenance, "mode=min|max",
			 "attach a SLSA v0.2 provenance attestation (true = mode=min)"),
	BERTH_OPT_STRING("sign-key", 0, build_opts, sign_key, "KEY",
			 "sign what is pushed with a cosign key, as `berth sign --recursive`:\n"
			 "the image, each manifest of its index and its attestations\n"
			 "(password from $COSIGN_PASSWORD)"),
	BERTH_OPT_STRING("iidfile", 0, build_opts, iidfile, "FILE",
			 "write the image's manifest digest to FILE"),
	BERTH_OPT_ENUM("progress", 0, build_opts, progress, progresses, NULL,
		       "progress output on stderr: auto and tty (a live display on a\n"
		       "terminal, else plain), plain, rawjson (BuildKit's JSON lines), quiet"),
	BERTH_OPT_INT("jobs", 0, build_opts, jobs, "N", 1, 64,
		      "build at most N stages at once (default: the CPU count)"),
	BERTH_OPT_STRING("registries-conf", 0, build_opts, registries_conf, "FILE",
			 "registries.conf(5) for base image names (default:\n"
			 "$CONTAINERS_REGISTRIES_CONF, else /etc/containers/registries.conf[.d])"),
	BERTH_OPT_LIST("label", 0, build_opts, labels, "K=V",
		       "set a label on the image (repeatable; wins over LABEL)"),
	BERTH_OPT_STRING("metadata-file", 0, build_opts, metadata_file, "FILE",
			 "write the build's result as JSON (buildx's keys) to FILE"),
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
	BERTH_OPT_STRING("call", 0, build_opts, call, "METHOD[,format=json][,ignorestatus=true]",
			 "build (default), or answer without building: outline (the\n"
			 "target's build args, secrets, ssh), targets (the stages),\n"
			 "check (BuildKit's build checks; exit 1 on a finding)"),
	BERTH_OPT_FLAG("check", 0, build_opts, check, "shorthand for --call=check"),
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

/* Every --output (and --push, --load) parsed; *n of them. */
static int outputs_parse(const build_opts *o, berth_build_output **out, size_t *n)
{
	size_t cap = (size_t)o->outputs.n + 2;
	berth_build_output *v = calloc(cap, sizeof(*v));

	*out = v;
	*n = 0;
	if (!v)
		return berth_cli_fail(CMD, -1, "out of memory");
	for (int i = 0; i < o->outputs.n; i++, (*n)++)
		if (berth_build_output_parse(&v[*n], o->outputs.v[i]) < 0)
			return berth_cli_fail(CMD, -1, "%s", berth_error_last());
	if (o->push && berth_build_output_parse(&v[(*n)++], "type=registry") < 0)
		return berth_cli_fail(CMD, -1, "%s", berth_error_last());
	if (o->load && berth_build_output_parse(&v[(*n)++], "type=docker") < 0)
		return berth_cli_fail(CMD, -1, "%s", berth_error_last());
	for (size_t i = 0; i < *n; i++)
		if (v[i].type == BERTH_BUILD_OUT_IMAGE && v[i].push && !v[i].nnames && !o->tags.n)
			return berth_cli_fail(CMD, -1, "--push needs a --tag (or name=)");
	return 0;
}

static void outputs_free(berth_build_output *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		berth_build_output_dispose(&v[i]);
	free(v);
}

static int export_all(const build_opts *o, berth_build_store *s, const char *tag,
		      const berth_transport_options *to, const berth_build_output *outs, size_t n)
{
	berth_build_export_opts eo = {0};

	eo.registry = to;
	eo.tags = (const char *const *)o->tags.v;
	eo.ntags = (size_t)o->tags.n;
	eo.annotations = (const char *const *)o->annotations.v;
	eo.nannotations = (size_t)o->annotations.n;
	for (size_t i = 0; i < n; i++)
		if (berth_build_export(s, tag, &outs[i], &eo, NULL) < 0)
			return berth_cli_fail(CMD, -1, "%s%s%s%s", outs[i].dest ? "export to " : "",
					      outs[i].dest ? outs[i].dest : "",
					      outs[i].dest ? ": " : "", berth_error_last());
	return 0;
}

/*
 * --metadata-file: what buildx writes — containerimage.digest (the
 * manifest), containerimage.config.digest, containerimage.descriptor, and
 * image.name (the tags, comma-separated) when there are tags.
 */
/*
 * --sbom and --provenance: BuildKit's attestation manifests beside the image
 * in an index under the build's tag (berth_build_attest), before export.
 */
static int build_attest(const build_opts *o, berth_build_store *s, const char *tag,
			const char *context, time_t started)
{
	berth_build_attest_opts ao = {.sbom = o->sbom, .started = started};
	berth_buf df = BERTH_BUF_INIT(BERTH_DF_MAX_FILE);
	char path[PATH_MAX];
	berth_digest idx;
	int rc = 0;

	if (o->provenance && strcmp(o->provenance, "false") != 0) {
		if (strcmp(o->provenance, "true") == 0 || strcmp(o->provenance, "mode=min") == 0)
			ao.provenance = 1;
		else if (strcmp(o->provenance, "mode=max") == 0)
			ao.provenance = 2;
		else
			return berth_cli_fail(CMD, -1,
					      "--provenance %s: expected true, false, mode=min or "
					      "mode=max",
					      o->provenance);
	}
	if (!ao.sbom && !ao.provenance)
		return 0;
	snprintf(path, sizeof(path), "%s%s%s", o->file ? "" : context, o->file ? "" : "/",
		 o->file ? o->file : "Dockerfile");
	if (ao.provenance == 2 && berth_fs_read_file(&df, path) == 0) {
		ao.dockerfile = df.ptr;
		ao.dockerfile_len = df.len;
	}
	ao.dockerfile_name = o->file ? o->file : "Dockerfile";
	ao.name = o->tags.n ? o->tags.v[0] : NULL;
	ao.build_args = (const char *const *)o->build_args.v;
	ao.nbuild_args = (size_t)o->build_args.n;
	if (berth_build_attest(s, &ao, tag, &idx) < 0)
		rc = berth_cli_fail(CMD, -1, "attestations: %s", berth_error_last());
	else if (o->progress == NULL || strcmp(o->progress, "quiet") != 0)
		fprintf(stderr, "attestations: index %s\n", idx.str);
	berth_buf_dispose(&df);
	return rc;
}

/* --sign-key needs an output that pushes. */
static int sign_check(const berth_build_output *outs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (outs[i].type == BERTH_BUILD_OUT_IMAGE && outs[i].push)
			return 0;
	return berth_cli_fail(CMD, -1, "--sign-key needs --push (or --output type=registry)");
}

/* --sign-key: sign each pushed name's image and every manifest of its index. */
static int sign_pushed(const build_opts *o, const berth_sign_key *k, const berth_build_output *outs,
		       size_t n)
{
	ssign_opts so = {.key = k};

	for (size_t i = 0; i < n; i++) {
		const char *const *names =
			outs[i].nnames ? (const char *const *)outs[i].names : o->tags.v;
		size_t nn = outs[i].nnames ? outs[i].nnames : (size_t)o->tags.n;

		if (outs[i].type != BERTH_BUILD_OUT_IMAGE || !outs[i].push)
			continue;
		for (size_t j = 0; j < nn; j++)
			if (ssign_image(CMD, names[j], &o->reg, &so, 1) < 0)
				return -1;
	}
	return 0;
}

static int write_metadata(const build_opts *o, berth_build_store *s, const berth_digest *d)
{
	char path[PATH_MAX + 128], *txt = NULL;
	json_t *man = NULL, *out = NULL;
	json_error_t jerr = {0};
	struct stat st;
	FILE *f = NULL;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/blobs/sha256/%s", berth_build_store_content(s),
		 berth_digest_hex(d));
	man = stat(path, &st) == 0 ? json_load_file(path, 0, &jerr) : NULL;
	if (!man) {
		berth_cli_fail(CMD, 0, "--metadata-file: cannot read the manifest: %s", jerr.text);
		goto done;
	}
	/* an index (several platforms) has no config */
	out = json_pack("{s:s, s:O?, s:{s:s, s:s, s:I}}", "containerimage.digest", d->str,
			"containerimage.config.digest",
			json_object_get(json_object_get(man, "config"), "digest"),
			"containerimage.descriptor", "mediaType",
			json_string_value(json_object_get(man, "mediaType")), "digest", d->str,
			"size", (json_int_t)st.st_size);
	if (out && o->tags.n) {
		size_t len = 0;
		char *names;

		for (int i = 0; i < o->tags.n; i++)
			len += strlen(o->tags.v[i]) + 1;
		names = calloc(1, len + 1);
		for (int i = 0; names && i < o->tags.n; i++) {
			strcat(names, o->tags.v[i]);
			if (i + 1 < o->tags.n)
				strcat(names, ",");
		}
		if (!names || json_object_set_new(out, "image.name", json_string(names)) < 0) {
			free(names);
			goto oom;
		}
		free(names);
	}
	if (!out || !(txt = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS)))
		goto oom;
	f = fopen(o->metadata_file, "w");
	if (!f || fprintf(f, "%s\n", txt) < 0 || fclose(f) != 0) {
		f = NULL;
		berth_cli_fail(CMD, 0, "cannot write %s", o->metadata_file);
		goto done;
	}
	f = NULL;
	rc = 0;
	goto done;
oom:
	berth_cli_fail(CMD, 0, "out of memory");
done:
	if (f)
		fclose(f);
	free(txt);
	json_decref(out);
	json_decref(man);
	return rc;
}

/* ---- --call outline|targets|check: no build ---- */

typedef struct call_spec {
	const char *name; /* "outline", "targets", "check" */
	int json, ignore_status;
} call_spec;

/* buildx's ParseCallFunc: "NAME[,format=F][,ignorestatus=B]"; 0 = build, 1 = call, -1 bad. */
static int call_parse(const char *v, call_spec *c)
{
	static const char *const names[] = {"outline", "targets", "check", "lint", NULL};
	char buf[256], *save = NULL, *f;
	int have = 0;

	memset(c, 0, sizeof(*c));
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		return berth_cli_fail(CMD, -1, "--call %s: too long", v);
	for (f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		if (strncmp(f, "format=", 7) == 0) {
			if (strcmp(f + 7, "json") != 0 && strcmp(f + 7, "text") != 0)
				return berth_cli_fail(CMD, -1,
						      "--call: format must be json or text");
			c->json = strcmp(f + 7, "json") == 0;
		} else if (strncmp(f, "ignorestatus=", 13) == 0) {
			if (strcmp(f + 13, "true") != 0 && strcmp(f + 13, "false") != 0)
				return berth_cli_fail(CMD, -1,
						      "--call: ignorestatus must be true or false");
			c->ignore_status = strcmp(f + 13, "true") == 0;
		} else if (strchr(f, '=') || have++) {
			return berth_cli_fail(CMD, -1, "--call: invalid value '%s'", v);
		} else if (strcmp(f, "build") == 0) {
			c->name = NULL;
		} else {
			for (size_t i = 0; names[i] && !c->name; i++)
				if (strcmp(f, names[i]) == 0)
					c->name = i == 3 ? "check" : names[i];
			if (!c->name)
				return berth_cli_fail(CMD, -1,
						      "--call %s: unknown method (build, outline, "
						      "targets, check)",
						      f);
		}
	}
	return c->name != NULL;
}

/* The check of one parsed file (BuildKit's family only), rendered; 1 when it found something. */
static int call_check(char **text, const call_spec *c, const build_opts *o, const char *context,
		      const char *path, const berth_dockerfile *df, const berth_df_vars *vars,
		      const berth_buf *src, const char *name)
{
	berth_lint_config cfg = BERTH_LINT_CONFIG_INIT;
	berth_lint_result res = BERTH_LINT_RESULT_INIT;
	berth_dockerignore *ign = NULL;
	int rc;

	cfg.buildkit_only = 1;
	cfg.shellcheck = 0;
	cfg.check_override = berth_df_vars_get(vars, "BUILDKIT_DOCKERFILE_CHECK");
	cfg.context_known = 1;
	if (berth_dockerignore_load(&ign, context, o->file ? path : NULL) < 0)
		return berth_cli_fail(CMD, -1, "%s", berth_error_last());
	cfg.dockerignore = ign;
	rc = berth_lint_run(&res, df, &cfg);
	if (rc == 0)
		rc = berth_lint_call_check(text, &res, NULL, 0, c->json, name, src->ptr, src->len);
	if (rc < 0)
		berth_cli_fail(CMD, -1, "%s", berth_error_last());
	else
		rc = res.n > 0;
	berth_lint_result_dispose(&res);
	berth_dockerignore_free(ign);
	return rc;
}

/* Answer --call from CONTEXT's Dockerfile; returns the exit code. */
static int build_call(const call_spec *c, const build_opts *o, const char *context,
		      const berth_df_vars *vars)
{
	berth_buf src = BERTH_BUF_INIT(BERTH_DF_MAX_FILE);
	berth_dockerfile *df = NULL;
	berth_lint_outline *ol = NULL;
	berth_df_error perr;
	char path[PATH_MAX], base[PATH_MAX], *text = NULL;
	const char *name;
	int found = 0, rc = BERTH_EXIT_FAIL;

	memset(&perr, 0, sizeof(perr));
	snprintf(path, sizeof(path), "%s%s%s", o->file ? o->file : context, o->file ? "" : "/",
		 o->file ? "" : "Dockerfile");
	snprintf(base, sizeof(base), "%s", path);
	name = basename(base);
	if (berth_fs_read_file(&src, path) < 0) {
		berth_cli_fail(CMD, 0, "%s", berth_error_last());
		goto done;
	}
	if (berth_dockerfile_parse(&df, src.ptr ? src.ptr : "", src.len, name, &perr) < 0 ||
	    berth_dockerfile_check(df, &perr) < 0) {
		/* BuildKit answers a file it cannot read with a build error */
		if (strcmp(c->name, "check") != 0 ||
		    berth_lint_call_check(&text, &(berth_lint_result)BERTH_LINT_RESULT_INIT,
					  perr.message[0] ? perr.message : berth_error_last(),
					  perr.line, c->json, name, src.ptr ? src.ptr : "",
					  src.len) < 0) {
			berth_cli_fail(CMD, 0, "%s", berth_error_last());
			goto done;
		}
		found = 1;
	} else if (strcmp(c->name, "check") == 0) {
		if ((found = call_check(&text, c, o, context, path, df, vars, &src, name)) < 0)
			goto done;
	} else if (berth_lint_outline_make(&ol, df, o->target, vars) < 0 ||
		   (strcmp(c->name, "outline") == 0
			    ? berth_lint_call_outline(&text, ol, c->json, src.ptr, src.len)
			    : berth_lint_call_targets(&text, ol, c->json, src.ptr, src.len)) < 0) {
		berth_cli_fail(CMD, 0, "%s", berth_error_last());
		goto done;
	}
	fputs(text, stdout);
	if (c->json)
		fputc('\n', stdout);
	rc = found && !c->ignore_status ? BERTH_EXIT_FAIL : BERTH_EXIT_OK;
done:
	free(text);
	berth_lint_outline_free(ol);
	berth_dockerfile_free(df);
	berth_buf_dispose(&src);
	return rc;
}

int cmd_build(int argc, char **argv)
{
	build_opts o;
	call_spec call = {0};
	berth_build_opts bo = {0};
	berth_df_vars vars = BERTH_DF_VARS_INIT;
	berth_transport_options to;
	berth_build_store *s = NULL;
	berth_registries *regs = NULL;
	build_run_flags *rf = NULL;
	berth_build_output *outs = NULL;
	berth_sign_key *sign_key = NULL;
	size_t nouts = 0;
	int to_stdout = 0;
	char root[PATH_MAX], tag[64];
	const char *sde = getenv("SOURCE_DATE_EPOCH");
	berth_digest d;
	time_t started;
	FILE *devnull = NULL, *plog = NULL;
	build_progress *prog = NULL;
	int npos, r, rc = BERTH_EXIT_USAGE;

	memset(&o, 0, sizeof(o));
	opt_registry_init(&o.reg);
	r = berth_args_parse(&build_spec, &o, argc, argv, &npos);
	if (r != BERTH_ARGS_OK)
		return berth_args_exit(r);
	if (opt_registry_check(CMD, &o.reg) < 0 || opt_build_args(CMD, &o.build_args, &vars) < 0)
		goto done;
	if ((r = o.check ? call_parse("check", &call) : o.call ? call_parse(o.call, &call) : 0) < 0)
		goto done;
	if (r > 0) {
		rc = build_call(&call, &o, argv[1], &vars);
		goto done;
	}
	rc = BERTH_EXIT_FAIL;
	if (outputs_parse(&o, &outs, &nouts) < 0)
		goto done;
	if (o.sign_key && sign_check(outs, nouts) < 0) {
		rc = BERTH_EXIT_USAGE;
		goto done;
	}
	if (o.sign_key && sopt_private_key(CMD, o.sign_key, &sign_key) < 0)
		goto done;
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
	if (berth_registries_load(&regs, o.registries_conf) < 0) {
		berth_cli_fail(CMD, 0, "%s", berth_error_last());
		goto done;
	}
	if (o.progress && strcmp(o.progress, "quiet") == 0)
		devnull = fopen("/dev/null", "w");
	else if (build_progress_mode(o.progress) != BUILD_PROGRESS_PLAIN &&
		 !(plog = build_progress_open(&prog, build_progress_mode(o.progress), stderr))) {
		berth_cli_fail(CMD, 0, "out of memory");
		goto done;
	}
	bo.context = argv[1];
	bo.dockerfile = o.file;
	bo.build_args = &vars;
	bo.target = o.target;
	bo.platform = o.platform;
	bo.pull = o.pull;
	bo.no_cache = o.no_cache;
	bo.no_cache_filter = o.no_cache_filter.v;
	bo.nno_cache_filter = (size_t)o.no_cache_filter.n;
	bo.cache_from = (const char *const *)o.cache_from.v;
	bo.ncache_from = (size_t)o.cache_from.n;
	bo.cache_to = (const char *const *)o.cache_to.v;
	bo.ncache_to = (size_t)o.cache_to.n;
	bo.net = o.network && strcmp(o.network, "none") == 0 ? BERTH_SANDBOX_NET_NONE
							     : BERTH_SANDBOX_NET_HOST;
	bo.source_date_epoch = sde && *sde ? strtoll(sde, NULL, 10) : -1;
	if (berth_df_vars_get(&vars, "SOURCE_DATE_EPOCH"))
		bo.source_date_epoch =
			strtoll(berth_df_vars_get(&vars, "SOURCE_DATE_EPOCH"), NULL, 10);
	for (int i = 0; i < o.build_contexts.n; i++)
		if (!strchr(o.build_contexts.v[i], '=') || o.build_contexts.v[i][0] == '=') {
			berth_cli_fail(CMD, 0, "--build-context %s: expected NAME=SRC",
				       o.build_contexts.v[i]);
			goto done;
		}
	bo.build_contexts = (const char *const *)o.build_contexts.v;
	bo.nbuild_contexts = (size_t)o.build_contexts.n;
	/* New layers are made in the first output's compression (others recompress). */
	bo.compression = BERTH_LAYER_GZIP;
	for (size_t i = nouts; i-- > 0;)
		if (outs[i].compression >= 0) {
			bo.compression = (berth_layer_compression)outs[i].compression;
			bo.compression_level = outs[i].level > 0 ? outs[i].level : 0;
		}
	bo.registry = &to;
	bo.log = devnull ? devnull : plog ? plog : stderr;
	bo.jobs = o.jobs;
	bo.registries = regs;
	bo.labels = (const char *const *)o.labels.v;
	bo.nlabels = (size_t)o.labels.n;
	snprintf(tag, sizeof(tag), "build-%ld-%d", (long)time(NULL), (int)getpid());
	started = time(NULL);
	if (berth_build_dockerfile(s, &bo, tag, &d) < 0) {
		char msg[1024];

		snprintf(msg, sizeof(msg), "%s", berth_error_last());
		build_progress_close(prog, plog, msg);
		prog = NULL;
		plog = NULL;
		berth_cli_fail(CMD, 0, "%s", msg);
		goto done;
	}
	build_progress_close(prog, plog, NULL);
	prog = NULL;
	plog = NULL;
	if (build_attest(&o, s, tag, argv[1], started) < 0)
		goto done;
	if (export_all(&o, s, tag, &to, outs, nouts) < 0)
		goto done;
	if (sign_key && sign_pushed(&o, sign_key, outs, nouts) < 0)
		goto done;
	if (o.iidfile) {
		FILE *f = fopen(o.iidfile, "w");

		if (!f || fprintf(f, "%s", d.str) < 0 || fclose(f) != 0) {
			berth_cli_fail(CMD, 0, "cannot write %s", o.iidfile);
			goto done;
		}
	}
	if (o.metadata_file && write_metadata(&o, s, &d) < 0)
		goto done;
	/* The digest on stdout, unless an output took stdout (-o -). */
	for (size_t i = 0; i < nouts; i++)
		if (outs[i].dest && strcmp(outs[i].dest, "-") == 0)
			to_stdout = 1;
	if (!to_stdout)
		printf("%s\n", d.str);
	rc = BERTH_EXIT_OK;
done:
	berth_sign_key_free(sign_key);
	outputs_free(outs, nouts);
	build_progress_close(prog, plog, NULL);
	if (devnull)
		fclose(devnull);
	berth_build_store_free(s);
	berth_registries_free(regs);
	if (rf)
		build_run_flags_dispose(rf);
	free(rf);
	berth_df_vars_dispose(&vars);
	opt_registry_dispose(&o.reg);
	return rc;
}
