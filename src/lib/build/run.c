/*
 * run.c - RUN: the command (exec form, or shell form through the stage's
 * SHELL) with the image's Env and the build args in scope, run in the
 * sandbox on the stage's working root; its changes become a layer.
 */
#include "lib/build/internal.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- RUN ---- */

int berth_build__run(build_solver *sv, berth_build_image *img, const berth_df_xinstr *x)
{
	char **env = NULL, *argv_json = NULL, **argv = NULL;
	berth_build_run r = {0};
	berth_buf created = BERTH_BUF_INIT(0);
	berth_diff_options o = {sv->o->compression, -1, sv->clamp};
	build_output out = {.fd = -1};
	json_t *a = NULL;
	size_t n, k = 0;
	int status, rc;

	if (x->src->nheredocs)
		return berth_build__fail_at(sv, x->src, BERTH_EUNSUPPORTED,
					    "heredocs are not supported yet");
	r.net = sv->o->net;
	for (size_t i = 0; i < x->nflags; i++) {
		const berth_df_flag *f = &x->flags[i];

		if (strcmp(f->name, "network") == 0 && f->value) {
			if (strcmp(f->value, "none") == 0)
				r.net = BERTH_SANDBOX_NET_NONE;
			else if (strcmp(f->value, "host") == 0 || strcmp(f->value, "default") == 0)
				r.net = BERTH_SANDBOX_NET_HOST;
			else
				return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
							    "--network=%s", f->value);
		} else {
			return berth_build__fail_at(sv, x->src, BERTH_EUNSUPPORTED,
						    "--%s is not supported yet", f->name);
		}
	}
	if ((rc = berth_build__command_json(img, x, &argv_json)) < 0)
		return rc;
	a = json_loads(argv_json, 0, NULL);
	n = json_array_size(a);
	argv = calloc(n + 1, sizeof(*argv));
	/* The command's environment: the image's Env, then the ARGs it does not set. */
	{
		berth_df_vars v = BERTH_DF_VARS_INIT;
		size_t m;

		rc = berth_df_vars_copy(&v, &x->env);
		if (rc == 0)
			rc = berth_build__vars_with_env(&v, NULL, img) < 0 ? BERTH_ERROR : 0;
		/* berth_build__vars_with_env overlays the image Env on v: ENV wins. */
		m = v.n;
		env = calloc(m + 1, sizeof(*env));
		for (size_t i = 0; env && i < m; i++) {
			size_t l = strlen(v.items[i].name) + strlen(v.items[i].value) + 2;

			env[i] = malloc(l);
			if (env[i])
				snprintf(env[i], l, "%s=%s", v.items[i].name, v.items[i].value);
		}
		berth_df_vars_dispose(&v);
	}
	if (!a || !argv || !env || rc < 0) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (k = 0; k < n; k++)
		argv[k] = (char *)json_string_value(json_array_get(a, k));
	r.argv = argv;
	r.env = env;
	if ((rc = berth_buf_printf(&created, "RUN %s # buildkit", x->src->args_text)) < 0 ||
	    (rc = berth_build__output_begin(sv, &out)) < 0)
		goto done;
	r.stdout_fd = out.fd;
	r.stderr_fd = out.fd;
	rc = berth_build_image_run(img, sv->store, &r, created.ptr, &o, &status);
	berth_build__output_end(&out);
	if (rc == 0 && status != 0)
		rc = berth_build__fail_at(
			sv, x->src, BERTH_ERROR,
			"process \"%s\" did not complete successfully: exit code: %d",
			x->src->args_text, status);
done:
	berth_buf_dispose(&created);
	json_decref(a);
	free(argv);
	free(argv_json);
	berth_build_strv_free(env);
	return rc;
}
