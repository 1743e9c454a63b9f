/*
 * instr.c - one Dockerfile instruction applied to the image being built:
 * the config instructions (ENV, LABEL, WORKDIR, USER, CMD, ENTRYPOINT,
 * EXPOSE, VOLUME, STOPSIGNAL, SHELL, HEALTHCHECK, ONBUILD, MAINTAINER) as
 * BuildKit writes them, and the dispatch to RUN (run.c) and COPY/ADD
 * (copy.c).
 */
#include "lib/build/internal.h"
#include "util/buf.h"
#include "util/inroot.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SHELL_DEFAULT "[\"/bin/sh\",\"-c\"]"

/* ---- config instructions ---- */

/* A string as JSON text (malloc'd), or NULL. */
static char *json_quote(const char *v)
{
	json_t *j = json_string(v);
	char *out = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	json_decref(j);
	return out;
}

static int json_of_words(char **out, char *const *w, size_t n, const char *prefix_json)
{
	json_t *a = prefix_json ? json_loads(prefix_json, 0, NULL) : json_array();

	*out = NULL;
	if (!a)
		return berth_error_set(BERTH_EINVALID, "SHELL is not a JSON array");
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(w[i])) < 0) {
			json_decref(a);
			return berth_error_set(BERTH_EINVALID, "argument is not UTF-8");
		}
	*out = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}

/* The config's Shell, or the default, as JSON text (malloc'd). */
static char *shell_of(berth_build_image *img)
{
	char *s = berth_build_image_config(img, "Shell");

	return s ? s : strdup(SHELL_DEFAULT);
}

/* CMD/ENTRYPOINT/HEALTHCHECK's command: exec form as is, shell form through the shell. */
int berth_build__command_json(berth_build_image *img, const berth_df_xinstr *x, char **out)
{
	char *shell;
	char *script[1];
	int rc;

	if (x->src->form == BERTH_DF_FORM_JSON)
		return json_of_words(out, x->words, x->nwords, NULL);
	shell = shell_of(img);
	if (!shell)
		return berth_error_set(BERTH_ERROR, "out of memory");
	script[0] = x->src->args_text;
	rc = json_of_words(out, script, 1, shell);
	free(shell);
	return rc;
}

static int set_json_map_key(berth_build_image *img, const char *field, const char *key,
			    json_t *value)
{
	char *cur = berth_build_image_config(img, field), *txt;
	json_t *m = cur ? json_loads(cur, 0, NULL) : json_object();
	int rc;

	free(cur);
	if (!json_is_object(m)) {
		json_decref(m);
		m = json_object();
	}
	if (!m || json_object_set_new(m, key, value) < 0) {
		json_decref(m);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	txt = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	if (!txt)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_build_image_set_config(img, field, txt);
	free(txt);
	return rc;
}

/* Go duration ("30s", "1m30s", "500ms") in nanoseconds. */
static int go_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *u;
		int64_t mul;
	} units[] = {{"ns", 1},		  {"us", 1000},		{"ms", 1000000},
		     {"s", 1000000000LL}, {"m", 60000000000LL}, {"h", 3600000000000LL}};
	int64_t total = 0;

	if (!*s)
		return BERTH_EINVALID;
	while (*s) {
		char *end;
		double v = strtod(s, &end);
		size_t best = 0, i, ul = 0;

		if (end == s)
			return BERTH_EINVALID;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].u);

			if (strncmp(end, units[i].u, l) == 0 && l > ul) {
				best = i;
				ul = l;
			}
		}
		if (!ul)
			return BERTH_EINVALID;
		total += (int64_t)(v * (double)units[best].mul);
		s = end + ul;
	}
	*ns = total;
	return 0;
}

static int healthcheck(berth_build_image *img, const berth_df_xinstr *x)
{
	static const char *const keys[] = {"interval", "timeout", "start-period", "start-interval"};
	static const char *const fields[] = {"Interval", "Timeout", "StartPeriod", "StartInterval"};
	json_t *h;
	char *cmd = NULL, *txt;
	int rc;

	if (x->src->subtype && strcasecmp(x->src->subtype, "NONE") == 0)
		return berth_build_image_set_config(img, "Healthcheck", "{\"Test\":[\"NONE\"]}");
	if (x->src->form == BERTH_DF_FORM_JSON) {
		rc = json_of_words(&cmd, x->words, x->nwords, "[\"CMD\"]");
	} else {
		/* The command after its CMD keyword (args_text may still hold it
		 * when flags come first: `HEALTHCHECK --interval=30s \ CMD ...`). */
		const char *t = x->src->args_text;
		char *script[1];

		t += strspn(t, " \t");
		if (strncasecmp(t, "CMD", 3) == 0 && (t[3] == ' ' || t[3] == '\t'))
			t += 3 + strspn(t + 3, " \t");
		script[0] = (char *)t;
		rc = json_of_words(&cmd, script, 1, "[\"CMD-SHELL\"]");
	}
	if (rc < 0)
		return rc;
	h = json_pack("{s:o}", "Test", json_loads(cmd, 0, NULL));
	free(cmd);
	if (!h)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < x->nflags; i++) {
		const berth_df_flag *f = &x->flags[i];
		int64_t ns;

		for (size_t k = 0; k < 4; k++)
			if (strcmp(f->name, keys[k]) == 0) {
				if (!f->value || go_duration(f->value, &ns) < 0) {
					json_decref(h);
					return berth_error_set(BERTH_EINVALID,
							       "HEALTHCHECK --%s: bad duration",
							       f->name);
				}
				json_object_set_new(h, fields[k], json_integer(ns));
			}
		if (strcmp(f->name, "retries") == 0)
			json_object_set_new(h, "Retries",
					    json_integer(f->value ? atoi(f->value) : 0));
	}
	txt = json_dumps(h, JSON_COMPACT);
	json_decref(h);
	if (!txt)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_build_image_set_config(img, "Healthcheck", txt);
	free(txt);
	return rc;
}

/* ---- one instruction ---- */

static int history_of(berth_build_image *img, const berth_df_instr *in)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc = berth_buf_printf(&b, "%s %s", berth_dockerfile_kind_name(in->kind), in->args_text);

	if (rc == 0)
		rc = berth_build_image_history(img, b.ptr, 1);
	berth_buf_dispose(&b);
	return rc;
}

/* ENV: every key and value is expanded against the environment before the
 * instruction, as BuildKit does (`ENV A=1 B=$A` leaves B empty when A was
 * unset), then all are set. */
static int do_env(build_solver *sv, berth_build_image *img, const berth_df_vars *args,
		  const berth_df_instr *in)
{
	char **kv = calloc(2 * in->nkvs + 1, sizeof(char *));
	int rc = 0;

	if (!kv)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < in->nkvs && rc == 0; i++)
		if ((rc = berth_build__expand1(sv, img, args, in->kvs[i].key, &kv[2 * i])) == 0)
			rc = berth_build__expand1(sv, img, args, in->kvs[i].value, &kv[2 * i + 1]);
	for (size_t i = 0; i < in->nkvs && rc == 0; i++)
		rc = berth_build_image_set_env(img, kv[2 * i], kv[2 * i + 1]);
	for (size_t i = 0; i < 2 * in->nkvs; i++)
		free(kv[i]);
	free(kv);
	return rc ? rc : history_of(img, in);
}

/* One EXPOSE word as BuildKit reads it (Docker's port specs):
 * [[ip:]hostport:]port[-end][/proto], the protocol lower-cased (tcp by
 * default; tcp, udp or sctp), a range giving one port each. */
static int expose(build_solver *sv, berth_build_image *img, const berth_df_instr *in,
		  const char *word)
{
	char proto[16] = "tcp", key[32];
	const char *spec = strrchr(word, ':'), *slash;
	unsigned long lo, hi;
	char *end;
	size_t plen;
	int rc = 0;

	spec = spec ? spec + 1 : word;
	slash = strchr(spec, '/');
	if (slash && slash[1]) {
		plen = strlen(slash + 1);
		if (plen >= sizeof(proto))
			goto bad;
		for (size_t i = 0; i <= plen; i++)
			proto[i] = (char)tolower((unsigned char)slash[1 + i]);
		if (strcmp(proto, "tcp") && strcmp(proto, "udp") && strcmp(proto, "sctp"))
			return berth_build__fail_at(sv, in, BERTH_EINVALID, "invalid proto: %s",
						    proto);
	}
	if (!isdigit((unsigned char)spec[0]))
		goto bad;
	lo = strtoul(spec, &end, 10);
	hi = lo;
	if (*end == '-') {
		if (!isdigit((unsigned char)end[1]))
			goto bad;
		hi = strtoul(end + 1, &end, 10);
	}
	if ((*end && *end != '/') || lo > 65535 || hi > 65535 || hi < lo)
		goto bad;
	for (unsigned long p = lo; p <= hi && rc == 0; p++) {
		snprintf(key, sizeof(key), "%lu/%s", p, proto);
		rc = set_json_map_key(img, "ExposedPorts", key, json_object());
	}
	return rc;
bad:
	return berth_build__fail_at(sv, in, BERTH_EINVALID, "invalid port specification: \"%s\"",
				    word);
}

static int do_workdir(build_solver *sv, berth_build_image *img, const berth_df_vars *args,
		      const berth_df_xinstr *x)
{
	char *w = NULL, *cur = NULL, path[PATH_MAX], *js = NULL;
	berth_workroot *root = NULL;
	int rc, fd;

	if ((rc = berth_build__expand1(sv, img, args, x->src->args_text, &w)) < 0)
		return rc;
	if (w[0] == '/') {
		snprintf(path, sizeof(path), "%s", w);
	} else {
		json_t *v;

		cur = berth_build_image_config(img, "WorkingDir");
		v = cur ? json_loads(cur, JSON_DECODE_ANY, NULL) : NULL;
		snprintf(path, sizeof(path), "/%s/%s",
			 json_string_value(v) ? json_string_value(v) : "", w);
		json_decref(v);
	}
	{
		/* BuildKit: path.Join(WorkingDir, w), cleaned. */
		char *clean = berth_dockerfile_clean_path(path, strlen(path));

		if (!clean) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		snprintf(path, sizeof(path), "%s", clean);
		free(clean);
	}
	js = json_quote(path);
	if (!js || (rc = berth_build_image_set_config(img, "WorkingDir", js)) < 0)
		goto done;
	/* BuildKit creates the directory: a layer when it did not exist. */
	if ((rc = berth_build_image_root(&root, sv->store, img)) < 0)
		goto done;
	{
		int rootfd = open(berth_workroot_path(root), O_PATH | O_DIRECTORY | O_CLOEXEC);
		berth_diff_options o = {
			sv->o->compression,
			sv->o->compression_level > 0 ? sv->o->compression_level : -1, sv->clamp};
		berth_buf cb = BERTH_BUF_INIT(0);

		fd = rootfd < 0 ? -1 : berth_inroot_mkdir_p(rootfd, path, 0755);
		if (rootfd >= 0)
			close(rootfd);
		if (fd < 0) {
			rc = fd < -1 ? fd : berth_error_set_errno("WORKDIR %s", path);
			goto done;
		}
		close(fd);
		if ((rc = berth_buf_printf(&cb, "WORKDIR %s", path)) == 0)
			rc = berth_build_image_commit_root(img, sv->store, root, cb.ptr, &o, NULL);
		berth_buf_dispose(&cb);
	}
done:
	berth_workroot_free(root);
	free(js);
	free(w);
	free(cur);
	return rc;
}

int berth_build__apply(build_solver *sv, berth_build_image *img, berth_df_vars *args, int *cmd_set,
		       const berth_df_xinstr *x)
{
	const berth_df_instr *in = x->src;
	char *v = NULL, *js = NULL;
	int rc = 0;

	switch (in->kind) {
	case BERTH_DF_ARG:
		for (size_t i = 0; i < x->nkvs && rc == 0; i++)
			if (x->kvs[i].has_value)
				rc = berth_df_vars_set(args, x->kvs[i].key, x->kvs[i].value);
		return rc;
	case BERTH_DF_ENV: return do_env(sv, img, args, in);
	case BERTH_DF_LABEL:
		for (size_t i = 0; i < x->nkvs && rc == 0; i++)
			rc = set_json_map_key(img, "Labels", x->kvs[i].key,
					      json_string(x->kvs[i].value));
		return rc ? rc : history_of(img, in);
	case BERTH_DF_WORKDIR: return do_workdir(sv, img, args, x);
	case BERTH_DF_USER:
		if ((rc = berth_build__expand1(sv, img, args, in->args_text, &v)) == 0) {
			js = json_quote(v);
			rc = js ? berth_build_image_set_config(img, "User", js) : BERTH_ERROR;
		}
		break;
	case BERTH_DF_CMD:
		if ((rc = berth_build__command_json(img, x, &js)) == 0)
			rc = berth_build_image_set_config(img, "Cmd", js);
		*cmd_set = 1;
		break;
	case BERTH_DF_ENTRYPOINT:
		if ((rc = berth_build__command_json(img, x, &js)) == 0)
			rc = berth_build_image_set_config(img, "Entrypoint", js);
		/* An ENTRYPOINT resets a CMD that this stage did not set. */
		if (rc == 0 && !*cmd_set)
			rc = berth_build_image_set_config(img, "Cmd", NULL);
		break;
	case BERTH_DF_EXPOSE:
		for (size_t i = 0; i < x->nwords && rc == 0; i++)
			rc = expose(sv, img, in, x->words[i]);
		break;
	case BERTH_DF_VOLUME:
		for (size_t i = 0; i < x->nwords && rc == 0; i++)
			rc = set_json_map_key(img, "Volumes", x->words[i], json_object());
		break;
	case BERTH_DF_STOPSIGNAL:
		if (x->nwords == 1 && (js = json_quote(x->words[0])))
			rc = berth_build_image_set_config(img, "StopSignal", js);
		else
			rc = berth_build__fail_at(sv, in, BERTH_EINVALID, "needs one signal");
		break;
	case BERTH_DF_SHELL:
		if (in->form != BERTH_DF_FORM_JSON)
			return berth_build__fail_at(sv, in, BERTH_EINVALID, "needs a JSON array");
		if ((rc = json_of_words(&js, x->words, x->nwords, NULL)) == 0)
			rc = berth_build_image_set_config(img, "Shell", js);
		break;
	case BERTH_DF_HEALTHCHECK: rc = healthcheck(img, x); break;
	case BERTH_DF_ONBUILD: {
		char *cur = berth_build_image_config(img, "OnBuild");
		json_t *a = cur ? json_loads(cur, 0, NULL) : json_array();

		free(cur);
		if (!json_is_array(a))
			a = json_array();
		json_array_append_new(a, json_string(in->args_text));
		js = json_dumps(a, JSON_COMPACT);
		json_decref(a);
		rc = js ? berth_build_image_set_config(img, "OnBuild", js) : BERTH_ERROR;
		break;
	}
	case BERTH_DF_MAINTAINER:
		json_object_set_new(img->config, "author", json_string(in->args_text));
		break;
	case BERTH_DF_RUN: return berth_build__run(sv, img, x);
	case BERTH_DF_COPY:
	case BERTH_DF_ADD: return berth_build__copy(sv, img, x);
	default: return berth_build__fail_at(sv, in, BERTH_EINVALID, "unknown instruction");
	}
	free(v);
	free(js);
	return rc ? rc : history_of(img, in);
}
