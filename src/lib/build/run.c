/*
 * run.c - RUN: the command (exec form, or shell form through the stage's
 * SHELL; a heredoc as BuildKit runs it) with the image's Env and the build
 * args in scope, run in the sandbox on the stage's working root with its
 * --mount mounts (mount.c); its changes become a layer.
 */
#include "lib/build/internal.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- RUN ---- */

/* The RUN's flags other than --mount: --network, --security. */
static int run_flags(build_solver *sv, const berth_df_xinstr *x, berth_sandbox_net *net)
{
	*net = sv->o->net;
	for (size_t i = 0; i < x->nflags; i++) {
		const berth_df_flag *f = &x->flags[i];

		if (strcmp(f->name, "mount") == 0)
			continue;
		if (strcmp(f->name, "network") == 0 && f->value) {
			/* default: the build's --network (BuildKit's unset mode) */
			if (strcmp(f->value, "none") == 0)
				*net = BERTH_SANDBOX_NET_NONE;
			else if (strcmp(f->value, "host") == 0)
				*net = BERTH_SANDBOX_NET_HOST;
			else if (strcmp(f->value, "default") != 0)
				return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
							    "--network=%s", f->value);
		} else if (strcmp(f->name, "security") == 0 && f->value &&
			   strcmp(f->value, "sandbox") == 0) {
			/* the default */
		} else if (strcmp(f->name, "security") == 0) {
			return berth_build__fail_at(
				sv, x->src, BERTH_EDENIED,
				"--security=%s needs the security.insecure entitlement, which "
				"berth does not grant",
				f->value ? f->value : "");
		} else {
			return berth_build__fail_at(sv, x->src, BERTH_EUNSUPPORTED,
						    "--%s is not supported", f->name);
		}
	}
	return 0;
}

/*
 * The command's argv as JSON text: exec form as is; shell form through the
 * SHELL, its text being berth_dockerfile_run_command's (heredocs handed to
 * the shell); a lone `RUN <<EOF` whose body starts with "#!" runs as the
 * script /dev/pipes/<name> (*script gets the body, malloc'd).
 */
static int run_argv(berth_build_image *img, const berth_df_xinstr *x, char **json, char **script)
{
	berth_df_xinstr y = *x;
	berth_df_instr in = *x->src;
	berth_df_run_mode mode;
	char *cmd = NULL;
	int rc;

	*script = NULL;
	if (x->src->form == BERTH_DF_FORM_JSON || !x->src->nheredocs)
		return berth_build__command_json(img, x, json);
	if ((rc = berth_dockerfile_run_command(&cmd, &mode, x->src)) < 0)
		return rc;
	if (mode == BERTH_DF_RUN_SCRIPT) {
		json_t *a = json_pack("[s+]", "/dev/pipes/", x->src->heredocs[0].name);

		*json = a ? json_dumps(a, JSON_COMPACT) : NULL;
		json_decref(a);
		*script = cmd;
		return *json ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
	}
	in.args_text = cmd;
	y.src = &in;
	rc = berth_build__command_json(img, &y, json);
	free(cmd);
	return rc;
}

/* "K=V" list: the RUN's environment (image Env over the Dockerfile's), then extra. */
/* Into v: the environment the Dockerfile gives the RUN: the stage's ARGs with values (those
 * an ONBUILD trigger declared included), the expansion's environment over them, the image's
 * Env over both (an ENV wins). */
static int dockerfile_env(berth_df_vars *v, const build_stage_state *st, berth_build_image *img,
			  const berth_df_xinstr *x)
{
	int rc = st ? berth_df_vars_copy(v, &st->args) : 0;

	for (size_t i = 0; rc == 0 && i < x->env.n; i++)
		rc = berth_df_vars_set(v, x->env.items[i].name, x->env.items[i].value);
	return rc < 0 ? rc : berth_build__vars_with_env(v, NULL, img);
}

static char **run_env(berth_build_image *img, const build_stage_state *st, const berth_df_xinstr *x,
		      char *const *extra, size_t nextra)
{
	berth_df_vars v = BERTH_DF_VARS_INIT;
	char **env = NULL;

	if (dockerfile_env(&v, st, img, x) == 0)
		env = calloc(v.n + nextra + 1, sizeof(*env));
	for (size_t i = 0; env && i < v.n; i++) {
		size_t l = strlen(v.items[i].name) + strlen(v.items[i].value) + 2;

		if (!(env[i] = malloc(l))) {
			berth_build_strv_free(env);
			env = NULL;
			break;
		}
		snprintf(env[i], l, "%s=%s", v.items[i].name, v.items[i].value);
	}
	for (size_t i = 0; env && i < nextra; i++)
		if (!(env[v.n + i] = strdup(extra[i]))) {
			berth_build_strv_free(env);
			env = NULL;
		}
	berth_df_vars_dispose(&v);
	return env;
}

/* The RUN's history entry: the ARGs declared, valued as the command sees them (the
 * Dockerfile's environment under the image's Env), then its argv. */
static int run_history(berth_buf *b, const build_stage_state *st, berth_build_image *img,
		       const berth_df_xinstr *x, const json_t *argv)
{
	berth_df_vars v = BERTH_DF_VARS_INIT;
	int rc = dockerfile_env(&v, st, img, x);

	if (rc == 0)
		rc = berth_build__history_run(b, st, &v, argv);
	berth_df_vars_dispose(&v);
	return rc;
}

/* Free an environment that may hold secret values: wiped first. */
static void env_wipe(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		explicit_bzero(env[i], strlen(env[i]));
	berth_build_strv_free(env);
}

int berth_build__run(build_solver *sv, berth_build_image *img, const build_stage_state *st,
		     const berth_df_xinstr *x)
{
	char **env = NULL, *argv_json = NULL, **argv = NULL, *script = NULL;
	char *const *extra;
	berth_build_run r = {0};
	berth_buf created = BERTH_BUF_INIT(0);
	berth_diff_options o = {sv->o->compression,
				sv->o->compression_level > 0 ? sv->o->compression_level : -1,
				sv->clamp};
	build_mounts *bm = NULL;
	build_output out = {.fd = -1};
	json_t *a = NULL;
	size_t n, nextra;
	int status, rc;

	if ((rc = run_flags(sv, x, &r.net)) < 0)
		return rc;
	if ((rc = berth_build__emulator_check(
		     json_string_value(json_object_get(img->config, "architecture")))) < 0)
		return berth_build__fail_at(sv, x->src, rc, "%s", berth_error_last());
	if ((rc = run_argv(img, x, &argv_json, &script)) < 0)
		return berth_build__fail_at(sv, x->src, rc, "%s", berth_error_last());
	if ((rc = berth_build__mounts_prepare(&bm, sv, img, x,
					      script ? x->src->heredocs[0].name : NULL, script,
					      script ? strlen(script) : 0)) < 0)
		goto done;
	extra = berth_build__mounts_env(bm, &nextra);
	a = json_loads(argv_json, 0, NULL);
	n = json_array_size(a);
	argv = calloc(n + 1, sizeof(*argv));
	env = run_env(img, st, x, extra, nextra);
	if (!a || !argv || !env) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t k = 0; k < n; k++)
		argv[k] = (char *)json_string_value(json_array_get(a, k));
	r.argv = argv;
	r.env = env;
	r.mounts = berth_build__mounts_list(bm, &r.nmounts);
	r.rlimits = sv->o->rlimits;
	r.nrlimits = sv->o->nrlimits;
	r.shm_size = sv->o->shm_size;
	if ((rc = run_history(&created, st, img, x, a)) < 0 ||
	    (rc = berth_build__output_begin(sv, &out)) < 0)
		goto done;
	r.stdout_fd = out.fd;
	r.stderr_fd = out.fd;
	atomic_fetch_add_explicit(&sv->nruns, 1, memory_order_relaxed);
	rc = berth_build_image_run(img, sv->store, &r, created.ptr, &o, &status);
	berth_build__output_end(&out);
	if (rc < 0)
		rc = berth_build__fail_at(sv, x->src, rc, "%s", berth_error_last());
	else if (status != 0)
		rc = berth_build__fail_at(
			sv, x->src, BERTH_ERROR,
			"process \"%s\" did not complete successfully: exit code: %d",
			x->src->args_text, status);
done:
	berth_build__mounts_release(bm);
	berth_buf_dispose(&created);
	json_decref(a);
	free(argv);
	free(argv_json);
	free(script);
	env_wipe(env);
	return rc;
}
