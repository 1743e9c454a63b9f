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
 * Stages run in parallel (berth_build_opts.jobs workers, the calling thread
 * one of them): a stage starts as soon as the stages it reads are built.
 * Each stage is one worker's from start to end (its image is never shared
 * while it changes); a finished stage's image is read-only for the others.
 * The first failure is kept, the other stages stop at their next step, and
 * the build returns that failure.
 *
 * Several platforms: one pass per platform over the same store, the passes
 * at once (as many as --jobs allows), sharing the steps whose keys are
 * equal (platform.c); their log lines say their platform
 * ("#3 [linux/arm64 stage 1] RUN ...", as buildx prefixes them).
 */
#include "lib/build/internal.h"
#include "berth/ref.h"
#include "util/buf.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUTPUT_LINE_MAX 4096 /* a longer output line is written in pieces */
#define JOBS_MAX 64
#define ONBUILD_TRIGGERS_MAX 256 /* triggers a base image may carry */

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

/* ---- the build log ---- */

void berth_build__log(build_solver *sv, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One stdio call per line: the FILE's lock keeps parallel stages' lines whole. */
	fprintf(sv->log, "%s\n", line);
	fflush(sv->log);
}

static _Thread_local size_t current_stage;

static void *output_main(void *arg)
{
	build_output *o = arg;
	char buf[OUTPUT_LINE_MAX];
	size_t have = 0;

	for (;;) {
		ssize_t n = read(o->rfd, buf + have, sizeof(buf) - have);
		size_t start = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
		for (size_t i = 0; i < have; i++)
			if (buf[i] == '\n') {
				berth_build__log(o->sv, "[%sstage %zu] %.*s", o->sv->label,
						 o->stage, (int)(i - start), buf + start);
				start = i + 1;
			}
		if (start == 0 && have == sizeof(buf)) {
			berth_build__log(o->sv, "[%sstage %zu] %.*s", o->sv->label, o->stage,
					 (int)have, buf);
			have = 0;
			continue;
		}
		memmove(buf, buf + start, have - start);
		have -= start;
	}
	if (have)
		berth_build__log(o->sv, "[%sstage %zu] %.*s", o->sv->label, o->stage, (int)have,
				 buf);
	close(o->rfd);
	return NULL;
}

int berth_build__output_begin(build_solver *sv, build_output *out)
{
	int p[2];

	memset(out, 0, sizeof(*out));
	out->sv = sv;
	out->fd = out->rfd = -1;
	out->stage = current_stage;
	if (pipe2(p, O_CLOEXEC) < 0)
		return berth_error_set_errno("pipe");
	out->rfd = p[0];
	out->fd = p[1];
	if (pthread_create(&out->thread, NULL, output_main, out) != 0) {
		close(p[0]);
		close(p[1]);
		out->fd = out->rfd = -1;
		return berth_error_set(BERTH_ERROR, "cannot start the output thread");
	}
	out->started = 1;
	return 0;
}

void berth_build__output_end(build_output *out)
{
	if (out->fd >= 0)
		close(out->fd);
	out->fd = -1;
	if (out->started)
		pthread_join(out->thread, NULL);
	out->started = 0;
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

/* ---- stages ---- */

/* Whether a step of stage i, or of a stage built FROM it, reads or writes files. */
static int stage_needs_root(const build_solver *sv, size_t i)
{
	for (size_t k = 0; k < sv->plan->nstages; k++) {
		const berth_df_xstage *xs = &sv->plan->stages[k];
		size_t s = k;

		while (s != i && s != BERTH_DF_NO_STAGE)
			s = sv->plan->stages[s].base_stage;
		for (size_t n = 0; s == i && n < xs->ninstrs; n++) {
			berth_df_kind kind = xs->instrs[n].src->kind;

			if (kind == BERTH_DF_RUN || kind == BERTH_DF_COPY || kind == BERTH_DF_ADD ||
			    kind == BERTH_DF_WORKDIR)
				return 1;
		}
	}
	return 0;
}

static int stage_base(build_solver *sv, const berth_df_xstage *xs, berth_build_image **out)
{
	int rc;

	if (xs->base_stage != BERTH_DF_NO_STAGE)
		return berth_build_image_clone(out, sv->done[xs->base_stage]);
	if (strcasecmp(xs->base, "scratch") == 0)
		return berth_build_image_scratch(out,
						 xs->platform ? xs->platform : sv->o->platform);
	berth_build__log(sv, "#  FROM %s", xs->base);
	rc = berth_build__pull(sv, xs->base, xs->platform ? xs->platform : sv->o->platform,
			       stage_needs_root(sv, xs->index), out);
	if (rc == BERTH_EUNSUPPORTED)
		return berth_build__fail_at(sv, &sv->df->instrs[xs->src->from], rc, "%s",
					    berth_error_last());
	return rc;
}

/* The key of a stage's starting state: its base stage's result, or the base image. */
static int stage_key0(build_solver *sv, const berth_df_xstage *xs, berth_build_image *img)
{
	berth_buf k0 = BERTH_BUF_INIT(0);
	berth_digest d;
	int rc;

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
		rc = berth_buf_printf(&k0, "scratch:%s",
				      xs->platform	? xs->platform
				      : sv->o->platform ? sv->o->platform
							: "");
	if (rc == 0 && (rc = berth_digest_compute(&d, BERTH_DIGEST_SHA256, k0.ptr, k0.len)) == 0)
		snprintf(sv->keys[xs->index], sizeof(sv->keys[xs->index]), "%s", d.str);
	berth_buf_dispose(&k0);
	return rc;
}

static int stopped(build_solver *sv)
{
	int f;

	pthread_mutex_lock(&sv->mu);
	f = sv->failed;
	pthread_mutex_unlock(&sv->mu);
	return f;
}

/* Whether the stages stage xs reads (COPY --from, RUN --mount from=) are built (under mu). */
static int inputs_done(build_solver *sv, const berth_df_xstage *xs)
{
	for (size_t d = 0; d < xs->ndeps; d++)
		if (xs->deps[d] != xs->index && !sv->done[xs->deps[d]])
			return 0;
	return 1;
}

/*
 * A stage may start before the stages it reads are built (next_ready): a step
 * that reads one (x->reads_stage, from the plan) waits for them first, before
 * its key, which reads them. The log says so ("#  [stage S]: waits ..."),
 * which ends the step before it in the progress display.
 */
static int wait_inputs(build_solver *sv, size_t i)
{
	int failed;

	pthread_mutex_lock(&sv->mu);
	if (!inputs_done(sv, &sv->plan->stages[i]))
		berth_build__log(sv, "#  [%sstage %zu]: waits for the stages it reads", sv->label,
				 i);
	while (!sv->failed && !inputs_done(sv, &sv->plan->stages[i]))
		pthread_cond_wait(&sv->cv, &sv->mu);
	failed = sv->failed;
	pthread_mutex_unlock(&sv->mu);
	return failed ? berth_error_set(BERTH_ERROR, "stopped: another stage failed") : 0;
}

/* One step (the n-th) of stage i: from the cache when its key has a record, else applied
 * to img and recorded. */
static int stage_step(build_solver *sv, size_t i, size_t n, berth_build_image *img,
		      build_stage_state *st, const berth_df_xinstr *x)
{
	const berth_df_xstage *xs = &sv->plan->stages[i];
	const berth_df_instr *in = x->src;
	const char *kind = berth_dockerfile_kind_name(in->kind);
	char rec[PATH_MAX + 100];
	berth_digest key;
	int rc;

	if (x->reads_stage && (rc = wait_inputs(sv, i)) < 0)
		return rc;
	if (stopped(sv))
		return berth_error_set(BERTH_ERROR, "stopped: another stage failed");
	pthread_mutex_lock(&sv->key_mu);
	rc = berth_build__step_key(sv, sv->keys[i], xs->platform ? xs->platform : sv->o->platform,
				   x, &key);
	pthread_mutex_unlock(&sv->key_mu);
	if (rc < 0)
		return rc;
	berth_build__record_path(sv, &key, rec, sizeof(rec));
	snprintf(sv->keys[i], sizeof(sv->keys[i]), "%s", key.str);
	berth_build__cache_note(sv, i, &key);
	if (in->kind == BERTH_DF_ARG) {
		berth_build__log(sv, "#%zu [%sstage %zu] %s %s", n, sv->label, i, kind,
				 in->args_text);
		return berth_build__apply(sv, img, st, x);
	}
retry:
	if ((berth_build__stage_uses_cache(sv, xs) || berth_build__made_has(sv->made, &key)) &&
	    (berth_build__state_load(img, rec) == 0 ||
	     (rc = berth_build__cache_import(sv, &key, img, rec)) == 0)) {
		berth_build__log(sv, "#%zu [%sstage %zu] %s %s CACHED", n, sv->label, i, kind,
				 in->args_text);
		utimensat(AT_FDCWD, rec, NULL, 0); /* last used: prune --filter until */
		if (in->kind == BERTH_DF_CMD)
			st->cmd_set = 1;
		return 0;
	}
	if (rc < 0 && rc != BERTH_ENOTFOUND)
		return rc;
	/* Another stage, or another platform's pass, making this very step: wait and take
	 * its record. */
	if (!berth_build__made_claim(sv->made, &key)) {
		rc = 0;
		goto retry;
	}
	berth_build__log(sv, "#%zu [%sstage %zu] %s %s", n, sv->label, i, kind, in->args_text);
	rc = berth_build__apply(sv, img, st, x);
	if (rc == 0)
		rc = berth_build__state_save(img, rec);
	if (berth_build__made_done(sv->made, &key, rc == 0) < 0 && rc == 0)
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	return rc;
}

/* The ONBUILD triggers of a stage's base (its config's OnBuild: an image's, or a stage's),
 * parsed and expanded as a stage of their own (*df, *plan; NULL when there are none); the
 * stage's image then has no OnBuild. BuildKit runs them first, before the stage's own
 * instructions. */
static int onbuild_triggers(build_solver *sv, berth_build_image *img, uint32_t from_line,
			    berth_dockerfile **df, berth_df_plan **plan)
{
	char *cur = berth_build_image_config(img, "OnBuild");
	json_t *a = cur ? json_loads(cur, 0, NULL) : NULL, *v;
	berth_buf text = BERTH_BUF_INIT(0);
	berth_df_error err = {0};
	berth_df_build_opts bo = {0};
	size_t k;
	int rc = 0;

	*df = NULL;
	*plan = NULL;
	if (!json_is_array(a) || json_array_size(a) == 0)
		goto done;
	if (json_array_size(a) > ONBUILD_TRIGGERS_MAX) {
		rc = berth_error_set(BERTH_EINVALID,
				     "the base image has more than %d ONBUILD "
				     "triggers",
				     ONBUILD_TRIGGERS_MAX);
		goto done;
	}
	rc = berth_buf_printf(&text, "FROM scratch\n");
	json_array_foreach(a, k, v)
	{
		if (rc == 0 && !json_is_string(v))
			rc = berth_error_set(BERTH_EINVALID, "the base image's OnBuild holds a "
							     "non-string");
		else if (rc == 0)
			rc = berth_buf_printf(&text, "%s\n", json_string_value(v));
	}
	bo.build_args = sv->o->build_args;
	bo.target_platform = sv->o->platform;
	if (rc < 0 ||
	    (rc = berth_dockerfile_parse(df, text.ptr, text.len, "ONBUILD trigger", &err)) < 0 ||
	    (rc = berth_dockerfile_check(*df, &err)) < 0 ||
	    (rc = berth_dockerfile_plan(plan, *df, &bo, &err)) < 0) {
		if (err.message[0])
			rc = berth_error_set(rc, "ONBUILD trigger line %u: %s", err.line - 1,
					     err.message);
		goto done;
	}
	/* A trigger's failure names the FROM line that brought it. */
	for (k = 0; k < (*df)->ninstrs; k++)
		(*df)->instrs[k].pos.line = from_line;
	rc = berth_build_image_set_config(img, "OnBuild", NULL);
done:
	json_decref(a);
	free(cur);
	berth_buf_dispose(&text);
	return rc;
}

/*
 * Whether stage i's layers are in the image this pass commits: the target's and
 * those of the stages it is built FROM, or every stage's when --cache-to exports
 * them. The others' layers stay uncompressed tar (BuildKit compresses a layer
 * only when it exports it): in a multi-stage build the builder's, often the
 * largest (a compiler's cache, node_modules), are never compressed.
 */
static int stage_exported(build_solver *sv, size_t i)
{
	if (sv->o->ncache_to)
		return 1;
	for (size_t s = sv->plan->target; s != BERTH_DF_NO_STAGE;
	     s = sv->plan->stages[s].base_stage)
		if (s == i)
			return 1;
	return 0;
}

/* The target's deferred layers (cache hits of a build that did not export them),
 * compressed as the build says. */
static int compress_deferred(build_solver *sv, berth_build_image *img)
{
	int level = sv->o->compression_level > 0 ? sv->o->compression_level : -1;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < img->nlayers; i++)
		if (img->layers[i].deferred)
			rc = berth_build__layer_compress(sv->store, &img->layers[i],
							 sv->o->compression, level);
	return rc;
}

/*
 * The stage's base. Pulls run one at a time (pull.c): an early stage waits
 * for the stages started ready to be past theirs, as those are what the
 * build waits for.
 */
static int stage_base_in_turn(build_solver *sv, const berth_df_xstage *xs, berth_build_image **out)
{
	int early, rc;

	pthread_mutex_lock(&sv->mu);
	early = sv->busy[xs->index] == 2;
	while (early && sv->basing > 0 && !sv->failed)
		pthread_cond_wait(&sv->cv, &sv->mu);
	pthread_mutex_unlock(&sv->mu);
	rc = stage_base(sv, xs, out);
	if (!early) {
		pthread_mutex_lock(&sv->mu);
		sv->basing--;
		pthread_cond_broadcast(&sv->cv);
		pthread_mutex_unlock(&sv->mu);
	}
	return rc;
}

/* Build stage i (its base is built; an early stage waits for its inputs at the step
 * that reads them). The image goes to *out. */
static int build_stage(build_solver *sv, size_t i, berth_build_image **out)
{
	const berth_df_xstage *xs = &sv->plan->stages[i];
	build_stage_state st = {.args = BERTH_DF_VARS_INIT};
	berth_build_image *img = NULL;
	berth_dockerfile *odf = NULL;
	berth_df_plan *oplan = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	current_stage = i;
	if ((rc = stage_base_in_turn(sv, xs, &img)) == 0)
		img->defer_compression = !stage_exported(sv, i);
	if (rc == 0 && (rc = stage_key0(sv, xs, img)) == 0 &&
	    (rc = onbuild_triggers(sv, img, sv->df->instrs[xs->src->from].pos.line, &odf, &oplan)) <
		    0)
		rc = berth_build__fail_at(sv, &sv->df->instrs[xs->src->from], rc, "%s",
					  berth_error_last());
	for (size_t k = 0; rc == 0 && oplan && k < oplan->stages[0].ninstrs; k++)
		rc = stage_step(sv, i, ++n, img, &st, &oplan->stages[0].instrs[k]);
	for (size_t k = 0; rc == 0 && k < xs->ninstrs; k++)
		rc = stage_step(sv, i, ++n, img, &st, &xs->instrs[k]);
	berth_df_vars_dispose(&st.args);
	berth_build_strv_free(st.declared);
	berth_df_plan_free(oplan);
	berth_dockerfile_free(odf);
	if (rc < 0) {
		berth_build_image_free(img);
		return rc;
	}
	*out = img;
	return 0;
}

/* Whether the build needs stage i: the target or a stage it depends on. */
static int wanted(const build_solver *sv, size_t i)
{
	return sv->plan->stages[i].needed || i == sv->plan->target;
}

/*
 * A needed stage that nobody runs yet and whose base is built (under mu), or -1:
 * first one whose inputs are built too; else one whose inputs are not (busy 2:
 * it pulls its base meanwhile and waits for them at the step that reads them),
 * when the idle workers (this one included) are at least as many as the
 * stages nobody runs yet: a waiting stage then never holds a worker another
 * stage will need, and every stage not started has a worker when its inputs
 * are built. No input of an early stage waits for it (early_ok), so every
 * wait ends.
 */
static long next_ready(build_solver *sv)
{
	size_t nbusy = 0, untaken = 0;
	long early = -1;

	for (size_t i = 0; i < sv->plan->nstages; i++) {
		nbusy += sv->busy[i] != 0;
		untaken += wanted(sv, i) && !sv->done[i] && !sv->busy[i];
	}
	for (size_t i = 0; i < sv->plan->nstages; i++) {
		const berth_df_xstage *xs = &sv->plan->stages[i];

		if (!wanted(sv, i) || sv->done[i] || sv->busy[i] ||
		    (xs->base_stage != BERTH_DF_NO_STAGE && !sv->done[xs->base_stage]))
			continue;
		if (inputs_done(sv, xs)) {
			sv->busy[i] = 1;
			sv->basing++;
			return (long)i;
		}
		if (early < 0 && sv->early_ok[i] && nbusy < sv->nworkers &&
		    untaken <= sv->nworkers - nbusy)
			early = (long)i;
	}
	if (early >= 0)
		sv->busy[early] = 2;
	return early;
}

static int any_busy(build_solver *sv)
{
	for (size_t i = 0; i < sv->plan->nstages; i++)
		if (sv->busy[i])
			return 1;
	return 0;
}

/* Record the first failure (under mu) and wake everyone to stop. */
static void fail_locked(build_solver *sv, int code, const char *msg)
{
	if (!sv->failed) {
		sv->failed = 1;
		sv->fail_code = code;
		snprintf(sv->fail_msg, sizeof(sv->fail_msg), "%s", msg);
	}
	pthread_cond_broadcast(&sv->cv);
}

/* A worker: takes ready stages until the target is built or the build failed. */
static void *worker(void *arg)
{
	build_solver *sv = arg;

	pthread_mutex_lock(&sv->mu);
	while (!sv->failed && !sv->done[sv->plan->target]) {
		long i = next_ready(sv);
		berth_build_image *img;
		int rc;

		if (i < 0) {
			if (!any_busy(sv)) {
				fail_locked(sv, BERTH_EINVALID,
					    "the stages depend on each other in a circle");
				break;
			}
			pthread_cond_wait(&sv->cv, &sv->mu);
			continue;
		}
		pthread_mutex_unlock(&sv->mu);
		rc = build_stage(sv, (size_t)i, &img);
		pthread_mutex_lock(&sv->mu);
		sv->busy[i] = 0;
		if (rc < 0)
			fail_locked(sv, rc, berth_error_last());
		else
			sv->done[i] = img;
		pthread_cond_broadcast(&sv->cv);
	}
	pthread_mutex_unlock(&sv->mu);
	return NULL;
}

/* How many workers: --jobs (default the CPU count), no more than the stages to build. */
static size_t worker_count(build_solver *sv)
{
	size_t need = 0, n;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	for (size_t i = 0; i < sv->plan->nstages; i++)
		need += wanted(sv, i);
	n = sv->o->jobs > 0 ? (size_t)sv->o->jobs : cpus > 0 ? (size_t)cpus : 1;
	if (n > JOBS_MAX)
		n = JOBS_MAX;
	return n < need ? n : need ? need : 1;
}

/* Run the workers (this thread is one of them); the target's image or the first failure. */
static int run_stages(build_solver *sv)
{
	pthread_t th[JOBS_MAX];
	size_t n = worker_count(sv), started = 0;

	sv->nworkers = 1;
	for (size_t k = 1; k < n; k++) {
		if (pthread_create(&th[started], NULL, worker, sv) != 0)
			break; /* fewer workers: still correct */
		started++;
		pthread_mutex_lock(&sv->mu);
		sv->nworkers++;
		pthread_mutex_unlock(&sv->mu);
	}
	worker(sv);
	for (size_t k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	if (sv->failed)
		return berth_error_set(sv->fail_code, "%s", sv->fail_msg);
	return 0;
}

/* Whether stage `to` is stage `at` or one it reads or is built on, transitively. */
static int reaches(const berth_df_plan *p, size_t at, size_t to, unsigned char *seen)
{
	const berth_df_xstage *xs = &p->stages[at];

	if (at == to)
		return 1;
	if (seen[at])
		return 0;
	seen[at] = 1;
	if (xs->base_stage != BERTH_DF_NO_STAGE && reaches(p, xs->base_stage, to, seen))
		return 1;
	for (size_t d = 0; d < xs->ndeps; d++)
		if (xs->deps[d] != at && reaches(p, xs->deps[d], to, seen))
			return 1;
	return 0;
}

/* early_ok[i]: no stage stage i reads reaches back to it (a cycle through a FROM). */
static int early_init(build_solver *sv)
{
	size_t n = sv->plan->nstages;
	unsigned char *seen = calloc(n ? n : 1, 1);

	sv->early_ok = calloc(n ? n : 1, 1);
	if (!seen || !sv->early_ok) {
		free(seen);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const berth_df_xstage *xs = &sv->plan->stages[i];

		sv->early_ok[i] = 1;
		for (size_t d = 0; sv->early_ok[i] && d < xs->ndeps; d++) {
			memset(seen, 0, n);
			if (xs->deps[d] != i && reaches(sv->plan, xs->deps[d], i, seen))
				sv->early_ok[i] = 0;
		}
	}
	free(seen);
	return 0;
}

static int solver_init(build_solver *sv)
{
	size_t n = sv->plan->nstages;
	int rc;

	sv->done = calloc(n, sizeof(*sv->done));
	sv->busy = calloc(n, sizeof(*sv->busy));
	sv->keys = calloc(n, sizeof(*sv->keys));
	if (!sv->done || !sv->busy || !sv->keys)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = early_init(sv)) < 0)
		return rc;
	snprintf(sv->cache_dir, sizeof(sv->cache_dir), "%s/cache", sv->store->root);
	return berth_fs_mkdir_p(sv->cache_dir);
}

/* --label K=V on the target image, over the Dockerfile's LABELs (as buildx). */
static int add_labels(build_solver *sv, berth_build_image *img)
{
	json_t *c = berth_build__config_obj(img), *l;

	if (!sv->o->nlabels)
		return 0;
	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	l = json_object_get(c, "Labels");
	if (!json_is_object(l)) {
		l = json_object();
		if (!l || json_object_set_new(c, "Labels", l) < 0)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	for (size_t i = 0; i < sv->o->nlabels; i++) {
		const char *kv = sv->o->labels[i], *eq = strchr(kv, '=');
		char key[1024];

		if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(key))
			return berth_error_set(BERTH_EINVALID, "--label %s: expected KEY=VALUE",
					       kv);
		snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
		if (json_object_set_new(l, key, json_string(eq + 1)) < 0)
			return berth_error_set(BERTH_EINVALID, "--label %s: not UTF-8", kv);
	}
	return 0;
}

/* One pass: the target for o->platform (one platform), committed as tag; RUNs counted in *nruns. */
static int build_pass(berth_build_store *s, const berth_build_opts *o, const char *tag,
		      const char *label, berth_digest *digest, build_made *made, unsigned *nruns)
{
	build_solver sv = {
		.store = s, .o = o, .log = o->log ? o->log : stderr, .made = made, .label = label};
	char path[PATH_MAX];
	berth_df_error err = {0};
	berth_df_build_opts bo = {0};
	pthread_mutexattr_t rec;
	int rc;

	/* key_mu and pull_mu are taken again inside themselves: a COPY's key
	 * plans its sources (copysrc.c walks the context under key_mu), and a
	 * key of COPY --from=<image> pulls it (under pull_mu). Lock order: key_mu
	 * before pull_mu, never the other way. */
	pthread_mutexattr_init(&rec);
	pthread_mutexattr_settype(&rec, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&sv.mu, NULL);
	pthread_mutex_init(&sv.key_mu, &rec);
	pthread_mutex_init(&sv.pull_mu, &rec);
	pthread_mutexattr_destroy(&rec);
	pthread_mutex_init(&sv.mount_mu, NULL);
	pthread_mutex_init(&sv.fetch_mu, NULL);
	pthread_cond_init(&sv.cv, NULL);
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
	    (rc = berth_dockerignore_load(&sv.ign, o->context, o->dockerfile)) < 0 ||
	    (rc = solver_init(&sv)) < 0 || (rc = berth_build__cache_begin(&sv)) < 0)
		goto done;
	rc = run_stages(&sv);
	*nruns += atomic_load(&sv.nruns);
	if (rc < 0 || (rc = compress_deferred(&sv, sv.done[sv.plan->target])) < 0 ||
	    (rc = add_labels(&sv, sv.done[sv.plan->target])) < 0 ||
	    (rc = berth_build__cache_inline(&sv, sv.done[sv.plan->target])) < 0)
		goto done;
	rc = berth_build_image_commit(sv.done[sv.plan->target], s, tag,
				      o->source_date_epoch >= 0 ? o->source_date_epoch : -1,
				      digest);
	if (rc == 0)
		rc = berth_build__cache_export(&sv, tag);
done:
	berth_build__cache_end(&sv);
	for (size_t i = 0; sv.done && i < sv.plan->nstages; i++)
		berth_build_image_free(sv.done[i]);
	free(sv.done);
	free(sv.busy);
	free(sv.early_ok);
	free(sv.keys);
	free(sv.cache_reset);
	berth_context_free(sv.ctx);
	berth_dockerignore_free(sv.ign);
	berth_df_plan_free(sv.plan);
	berth_dockerfile_free(sv.df);
	for (size_t i = 0; i < sv.ndownloads; i++) {
		free(sv.downloads[i].url);
		free(sv.downloads[i].checksum);
	}
	if (sv.fetch_dir[0]) { /* the downloads go; a failure here keeps the build's message */
		char keep[1024];

		snprintf(keep, sizeof(keep), "%s", rc < 0 ? berth_error_last() : "");
		if (berth_fs_remove_tree(sv.fetch_dir) < 0)
			rc = rc < 0 ? berth_error_set(rc, "%s", keep) : (berth_error_clear(), 0);
	}
	pthread_mutex_destroy(&sv.fetch_mu);
	pthread_cond_destroy(&sv.cv);
	pthread_mutex_destroy(&sv.pull_mu);
	pthread_mutex_destroy(&sv.mount_mu);
	pthread_mutex_destroy(&sv.key_mu);
	pthread_mutex_destroy(&sv.mu);
	return rc;
}

/* Log the count of RUN commands (the build log's last line: tests read it). */
static void log_runs(const berth_build_opts *o, unsigned n)
{
	fprintf(o->log ? o->log : stderr, "#  %u RUN command%s executed\n", n, n == 1 ? "" : "s");
}

/* One platform's pass of a multi-platform build (a thread of build_platforms). */
typedef struct plat_pass {
	berth_build_store *s;
	berth_build_opts o; /* o.platform: this platform; o.jobs: its share */
	const char *tag;
	char label[BERTH_BUILD_PLATFORM_MAX + 1]; /* "linux/arm64 ": its log lines' prefix */
	berth_build_platform_image *img;
	build_made *made;
	unsigned nruns;
	int rc;
	char err[1024]; /* its error message (the error slot is per thread) */
} plat_pass;

/* The passes to run and the next one to take (build_platforms' workers share it). */
typedef struct plat_queue {
	pthread_mutex_t mu;
	plat_pass *passes;
	size_t n, next;
} plat_queue;

static void run_pass(plat_pass *pp)
{
	char ptag[512], path[PATH_MAX + 128];
	struct stat st;
	int rc;

	fprintf(pp->o.log ? pp->o.log : stderr, "#  platform %s\n", pp->o.platform);
	if ((rc = berth_build_platform_tag(ptag, sizeof(ptag), pp->tag, pp->o.platform)) == 0 &&
	    (rc = build_pass(pp->s, &pp->o, ptag, pp->label, &pp->img->manifest, pp->made,
			     &pp->nruns)) == 0) {
		snprintf(path, sizeof(path), "%s/blobs/sha256/%s", berth_build_store_content(pp->s),
			 berth_digest_hex(&pp->img->manifest));
		if (stat(path, &st) < 0)
			rc = berth_error_set_errno("%s", path);
		else
			pp->img->size = st.st_size;
	}
	pp->rc = rc;
	if (rc < 0)
		snprintf(pp->err, sizeof(pp->err), "%s", berth_error_last());
}

static void *pass_worker(void *arg)
{
	plat_queue *q = arg;

	for (;;) {
		plat_pass *pp = NULL;

		pthread_mutex_lock(&q->mu);
		if (q->next < q->n)
			pp = &q->passes[q->next++];
		pthread_mutex_unlock(&q->mu);
		if (!pp)
			return NULL;
		run_pass(pp);
	}
}

/*
 * Each platform's pass, then the index of their images (in the order given)
 * as tag. The passes run at once, as many as --jobs allows, each with its
 * share of the jobs for its stages; a step two passes would both make (a
 * FROM --platform=$BUILDPLATFORM stage) is made by one while the other
 * waits for it (berth_build__made_claim). The first failure, in platform
 * order, is the build's.
 */
static int build_platforms(berth_build_store *s, const berth_build_opts *o, const char *tag,
			   char (*plats)[BERTH_BUILD_PLATFORM_MAX], size_t n, berth_digest *digest,
			   build_made *made, unsigned *nruns)
{
	berth_build_platform_image imgs[BERTH_BUILD_PLATFORMS_MAX];
	plat_pass passes[BERTH_BUILD_PLATFORMS_MAX];
	plat_queue q = {.passes = passes, .n = n};
	pthread_t th[BERTH_BUILD_PLATFORMS_MAX];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t jobs = o->jobs > 0 ? (size_t)o->jobs : cpus > 0 ? (size_t)cpus : 1;
	size_t nthreads = n < jobs ? n : jobs, started = 0;
	int rc = 0;

	memset(passes, 0, sizeof(passes));
	pthread_mutex_init(&q.mu, NULL);
	for (size_t i = 0; i < n; i++) {
		passes[i].s = s;
		passes[i].o = *o;
		passes[i].o.platform = plats[i];
		passes[i].o.jobs = (int)(jobs / nthreads > 0 ? jobs / nthreads : 1);
		passes[i].tag = tag;
		snprintf(passes[i].label, sizeof(passes[i].label), "%s ", plats[i]);
		passes[i].img = &imgs[i];
		passes[i].made = made;
		snprintf(imgs[i].platform, sizeof(imgs[i].platform), "%s", plats[i]);
	}
	for (size_t k = 1; k < nthreads; k++) {
		if (pthread_create(&th[started], NULL, pass_worker, &q) != 0)
			break; /* fewer at once: still correct */
		started++;
	}
	pass_worker(&q);
	for (size_t k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&q.mu);
	for (size_t i = 0; i < n; i++) {
		*nruns += passes[i].nruns;
		if (passes[i].rc < 0 && rc == 0)
			rc = berth_error_set(passes[i].rc, "%s", passes[i].err);
	}
	if (rc == 0)
		rc = berth_build_index_commit(s, tag, imgs, n, digest);
	return rc;
}

int berth_build_dockerfile(berth_build_store *s, const berth_build_opts *o, const char *tag,
			   berth_digest *digest)
{
	char plats[BERTH_BUILD_PLATFORMS_MAX][BERTH_BUILD_PLATFORM_MAX];
	build_made made = {.keys = NULL};
	berth_build_opts one = *o;
	unsigned nruns = 0;
	size_t n = 0;
	int rc;

	if (o->platform && (rc = berth_build__platforms_parse(o->platform, plats, &n)) < 0)
		return rc;
	pthread_mutex_init(&made.mu, NULL);
	pthread_cond_init(&made.cv, NULL);
	if (n > 1) {
		rc = build_platforms(s, o, tag, plats, n, digest, &made, &nruns);
	} else { /* made: a step two stages share runs once, even under --no-cache */
		one.platform = n ? plats[0] : NULL;
		rc = build_pass(s, &one, tag, "", digest, &made, &nruns);
	}
	log_runs(o, nruns);
	pthread_cond_destroy(&made.cv);
	pthread_mutex_destroy(&made.mu);
	free(made.keys);
	free(made.claimed);
	return rc;
}
