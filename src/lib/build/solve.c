/*
 * solve.c - a Dockerfile becomes an image: the stages the target needs are
 * built (each after the stages it reads), their instructions applied in
 * order to a berth_build_image — config changes as BuildKit makes them,
 * RUN through the sandbox, COPY from the build context or another stage.
 *
 * Words are expanded here, not only by the frontend's plan: the plan knows
 * the Dockerfile's ENV and ARGs, the builder also knows the base image's
 * Env (ENV PATH=$PATH:/x must see the image's PATH). The variables of an
 * expansion are the stage's ARGs in scope overlaid by the image's Env, as
 * in BuildKit (an ENV wins over an ARG of the same name).
 *
 * The instructions themselves are applied by instr.c (config), run.c
 * (RUN) and copy.c (COPY/ADD); key.c computes the layer cache's keys.
 *
 * Not yet here (each refused with a message naming it, never ignored):
 * parallel stages, several platforms.
 */
#include "lib/build/internal.h"
#include "util/buf.h"
#include "util/fs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int berth_build__fail_at(build_solver *sv, const berth_df_instr *in, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return berth_error_set(code, "%s:%u: %s: %s", sv->df->name ? sv->df->name : "Dockerfile",
			       (unsigned)in->pos.line, berth_dockerfile_kind_name(in->kind), msg);
}

/* ---- expansion with the image's Env ---- */

int berth_build__vars_with_env(berth_df_vars *v, const berth_df_vars *args, berth_build_image *img)
{
	char **env = berth_build_image_envv(img);
	int rc = 0;

	if (!env)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (args && (rc = berth_df_vars_copy(v, args)) < 0)
		goto done;
	for (size_t i = 0; env[i]; i++) {
		char *eq = strchr(env[i], '=');

		if (!eq)
			continue;
		*eq = '\0';
		rc = berth_df_vars_set(v, env[i], eq + 1);
		*eq = '=';
		if (rc < 0)
			goto done;
	}
done:
	berth_build_strv_free(env);
	return rc;
}

/* One word expanded (quotes removed) into *out (malloc'd). */
int berth_build__expand1(build_solver *sv, berth_build_image *img, const berth_df_vars *args,
			 const char *raw, char **out)
{
	berth_df_vars v = BERTH_DF_VARS_INIT;
	berth_df_expansion x = {0};
	berth_df_lex_opts lo = {.escape = sv->df->escape};
	int rc;

	*out = NULL;
	if ((rc = berth_build__vars_with_env(&v, args, img)) == 0 &&
	    (rc = berth_df_expand(&x, raw, &v, &lo)) == 0) {
		*out = x.word;
		x.word = NULL;
	}
	berth_df_expansion_dispose(&x);
	berth_df_vars_dispose(&v);
	return rc;
}

/* ---- named contexts (--build-context) ---- */

const char *berth_build__named_context(build_solver *sv, const char *name, char *spec, size_t len)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sv->o->nbuild_contexts; i++) {
		const char *c = sv->o->build_contexts[i], *v;

		if (strncasecmp(c, name, n) != 0 || c[n] != '=')
			continue;
		v = c + n + 1;
		if (spec && strncmp(v, "docker-image://", 15) == 0)
			snprintf(spec, len, "docker://%s", v + 15);
		else if (spec && strncmp(v, "oci-layout://", 13) == 0)
			snprintf(spec, len, "oci:%s", v + 13);
		else if (spec)
			spec[0] = '\0';
		return v;
	}
	return NULL;
}

/* The image spec of a FROM: a named context's image, else docker://<base>. */
static int named_base(build_solver *sv, const berth_df_xstage *xs, berth_buf *spec)
{
	char named[PATH_MAX + 64];

	if (!berth_build__named_context(sv, xs->base, named, sizeof(named)))
		return berth_buf_printf(spec, "docker://%s", xs->base);
	if (!named[0])
		return berth_build__fail_at(
			sv, &sv->df->instrs[xs->src->from], BERTH_EUNSUPPORTED,
			"--build-context %s is a directory: FROM needs an image "
			"(docker-image:// or oci-layout://)",
			xs->base);
	return berth_buf_puts(spec, named);
}

/* ---- stages ---- */

static int build_stage(build_solver *sv, size_t i);

static int stage_base(build_solver *sv, const berth_df_xstage *xs, berth_build_image **out)
{
	berth_image_name *n = NULL;
	berth_buf spec = BERTH_BUF_INIT(0);
	int rc;

	if (xs->base_stage != BERTH_DF_NO_STAGE) {
		if ((rc = build_stage(sv, xs->base_stage)) < 0)
			return rc;
		return berth_build_image_clone(out, sv->done[xs->base_stage]);
	}
	if (strcasecmp(xs->base, "scratch") == 0)
		return berth_build_image_scratch(out,
						 xs->platform ? xs->platform : sv->o->platform);
	if ((rc = named_base(sv, xs, &spec)) == 0 &&
	    (rc = berth_image_name_parse(&n, spec.ptr)) == 0) {
		fprintf(sv->log, "#  FROM %s\n", xs->base);
		rc = berth_build_image_from(out, sv->store, n, sv->o->registry,
					    xs->platform ? xs->platform : sv->o->platform,
					    sv->o->pull);
	}
	berth_image_name_free(n);
	berth_buf_dispose(&spec);
	return rc;
}

static int build_stage(build_solver *sv, size_t i)
{
	const berth_df_xstage *xs = &sv->plan->stages[i];
	berth_df_vars args = BERTH_DF_VARS_INIT;
	berth_build_image *img = NULL;
	int rc = 0, cmd_set = 0;

	if (sv->done[i])
		return 0;
	if (sv->busy[i])
		return berth_error_set(BERTH_EINVALID, "circular dependency on stage %zu", i);
	sv->busy[i] = 1;
	for (size_t d = 0; d < xs->ndeps && rc == 0; d++)
		if (xs->deps[d] != i)
			rc = build_stage(sv, xs->deps[d]);
	if (rc == 0)
		rc = stage_base(sv, xs, &img);
	if (rc == 0) {
		berth_buf k0 = BERTH_BUF_INIT(0);
		berth_digest d;

		if (xs->base_stage != BERTH_DF_NO_STAGE) {
			berth_digest r;

			if ((rc = berth_build__result_digest(sv->done[xs->base_stage], &r)) == 0)
				rc = berth_buf_printf(&k0, "stage:%s", r.str);
		} else if (img->base_name)
			rc = berth_buf_printf(&k0, "from:%s:%s", img->base_digest.str,
					      xs->platform	? xs->platform
					      : sv->o->platform ? sv->o->platform
								: "");
		else
			rc = berth_buf_printf(&k0, "scratch:%s", xs->platform ? xs->platform : "");
		if (rc == 0 &&
		    (rc = berth_digest_compute(&d, BERTH_DIGEST_SHA256, k0.ptr, k0.len)) == 0)
			snprintf(sv->keys[i], sizeof(sv->keys[i]), "%s", d.str);
		berth_buf_dispose(&k0);
	}
	for (size_t k = 0; rc == 0 && k < xs->ninstrs; k++) {
		const berth_df_xinstr *x = &xs->instrs[k];
		const berth_df_instr *in = x->src;
		char rec[PATH_MAX + 100];
		berth_digest key;

		fprintf(sv->log, "#%zu [stage %zu] %s %s", k + 1, i,
			berth_dockerfile_kind_name(in->kind), in->args_text);
		if ((rc = berth_build__step_key(sv, sv->keys[i], x, &key)) < 0)
			break;
		berth_build__record_path(sv, &key, rec, sizeof(rec));
		snprintf(sv->keys[i], sizeof(sv->keys[i]), "%s", key.str);
		if (in->kind == BERTH_DF_ARG) {
			fputc('\n', sv->log);
			rc = berth_build__apply(sv, img, &args, &cmd_set, x);
			continue;
		}
		if (berth_build__stage_uses_cache(sv, xs) &&
		    berth_build__state_load(img, rec) == 0) {
			fprintf(sv->log, " CACHED\n");
			if (in->kind == BERTH_DF_CMD)
				cmd_set = 1;
			continue;
		}
		fputc('\n', sv->log);
		rc = berth_build__apply(sv, img, &args, &cmd_set, x);
		if (rc == 0)
			rc = berth_build__state_save(img, rec);
	}
	berth_df_vars_dispose(&args);
	sv->busy[i] = 0;
	if (rc < 0) {
		berth_build_image_free(img);
		return rc;
	}
	sv->done[i] = img;
	return 0;
}

int berth_build_dockerfile(berth_build_store *s, const berth_build_opts *o, const char *tag,
			   berth_digest *digest)
{
	build_solver sv = {.store = s, .o = o, .log = o->log ? o->log : stderr};
	char path[PATH_MAX];
	berth_df_error err = {0};
	berth_df_build_opts bo = {0};
	int rc;

	sv.clamp = o->source_date_epoch;
	if (o->dockerfile)
		snprintf(path, sizeof(path), "%s", o->dockerfile);
	else
		snprintf(path, sizeof(path), "%s/Dockerfile", o->context);
	if ((rc = berth_dockerfile_parse_file(&sv.df, path, &err)) < 0 ||
	    (rc = berth_dockerfile_check(sv.df, &err)) < 0)
		goto done;
	bo.build_args = o->build_args;
	bo.target = o->target;
	bo.target_platform = o->platform;
	if ((rc = berth_dockerfile_plan(&sv.plan, sv.df, &bo, &err)) < 0 ||
	    (rc = berth_dockerignore_load(&sv.ign, o->context, o->dockerfile)) < 0)
		goto done;
	sv.done = calloc(sv.plan->nstages, sizeof(*sv.done));
	sv.busy = calloc(sv.plan->nstages, sizeof(*sv.busy));
	sv.keys = calloc(sv.plan->nstages, sizeof(*sv.keys));
	snprintf(sv.cache_dir, sizeof(sv.cache_dir), "%s/cache", s->root);
	if ((rc = berth_fs_mkdir_p(sv.cache_dir)) < 0)
		goto done;
	if (!sv.done || !sv.busy || !sv.keys) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	rc = build_stage(&sv, sv.plan->target);
	/* The last line of the log counts the commands run (tests read it: a
	 * rebuild with nothing changed runs none). */
	fprintf(sv.log, "#  %u RUN command%s executed\n", sv.nruns, sv.nruns == 1 ? "" : "s");
	if (rc < 0)
		goto done;
	rc = berth_build_image_commit(sv.done[sv.plan->target], s, tag,
				      o->source_date_epoch >= 0 ? o->source_date_epoch : -1,
				      digest);
done:
	for (size_t i = 0; sv.done && i < sv.plan->nstages; i++)
		berth_build_image_free(sv.done[i]);
	free(sv.done);
	free(sv.busy);
	free(sv.keys);
	free(sv.cache_reset);
	berth_context_free(sv.ctx);
	berth_dockerignore_free(sv.ign);
	berth_df_plan_free(sv.plan);
	berth_dockerfile_free(sv.df);
	return rc;
}
