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
#include "berth/sandbox.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
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

/* An empty-layer history entry: b's text, b disposed. */
static int history_text(berth_build_image *img, berth_buf *b, int rc)
{
	if (rc == 0)
		rc = berth_build_image_history(img, b->ptr, 1);
	berth_buf_dispose(b);
	return rc;
}

/* "KIND k=v k=v" of expanded key-values (ENV, LABEL). */
static int history_kvs(berth_build_image *img, const char *kind, char *const *kv, size_t n)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc = berth_buf_puts(&b, kind);

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = berth_buf_printf(&b, " %s=%s", kv[2 * i], kv[2 * i + 1]);
	return history_text(img, &b, rc);
}

/* "KIND [w1 w2]" (Go's %v of the words: VOLUME, SHELL). */
static int history_words(berth_build_image *img, const char *kind, char *const *w, size_t n)
{
	berth_buf b = BERTH_BUF_INIT(0);
	int rc = berth_buf_printf(&b, "%s [", kind);

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = berth_buf_printf(&b, "%s%s", i ? " " : "", w[i]);
	if (rc == 0)
		rc = berth_buf_puts(&b, "]");
	return history_text(img, &b, rc);
}

/* "KIND ["a" "b"]" (Go's %q of the config field's array: CMD, ENTRYPOINT). */
static int history_argv(berth_build_image *img, const char *kind, const char *json)
{
	berth_buf b = BERTH_BUF_INIT(0);
	json_t *a = json_loads(json, 0, NULL);
	int rc = berth_buf_printf(&b, "%s ", kind);

	if (rc == 0)
		rc = berth_build__go_strv(&b, a, 1);
	json_decref(a);
	return history_text(img, &b, rc);
}

/* ARG: declared (a RUN's history names it from now on); "ARG k=default ..." as written. */
static int do_arg(build_stage_state *st, berth_build_image *img, const berth_df_xinstr *x)
{
	berth_buf b = BERTH_BUF_INIT(0);
	char **d = NULL;
	int rc = berth_buf_puts(&b, "ARG");

	for (size_t i = 0; i < x->nkvs && rc == 0; i++) {
		const berth_df_kv *raw = i < x->src->nkvs ? &x->src->kvs[i] : &x->kvs[i];

		if (x->kvs[i].has_value)
			rc = berth_df_vars_set(&st->args, x->kvs[i].key, x->kvs[i].value);
		if (rc == 0 && !(d = realloc(st->declared, (st->ndeclared + 2) * sizeof(*d))))
			rc = berth_error_set(BERTH_ERROR, "out of memory");
		if (rc < 0)
			break;
		st->declared = d;
		if (!(d[st->ndeclared] = strdup(x->kvs[i].key)))
			rc = berth_error_set(BERTH_ERROR, "out of memory");
		d[st->ndeclared + (rc == 0)] = NULL;
		st->ndeclared += rc == 0;
		if (rc == 0)
			rc = berth_buf_printf(&b, raw->has_value ? " %s=%s" : " %s", x->kvs[i].key,
					      raw->value);
	}
	return history_text(img, &b, rc);
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
	if (rc == 0)
		rc = history_kvs(img, "ENV", kv, in->nkvs);
	for (size_t i = 0; i < 2 * in->nkvs; i++)
		free(kv[i]);
	free(kv);
	return rc;
}

/* One EXPOSE word as BuildKit reads it (Docker's port specs):
 * [[ip:]hostport:]port[-end][/proto], the protocol lower-cased (tcp by
 * default; tcp, udp or sctp), a range giving one port each. */
static int expose(build_solver *sv, berth_build_image *img, const berth_df_instr *in,
		  const char *word, json_t *mine)
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
		if (rc == 0 && json_object_set_new(mine, key, json_object()) < 0)
			rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
	return rc;
bad:
	return berth_build__fail_at(sv, in, BERTH_EINVALID, "invalid port specification: \"%s\"",
				    word);
}

/* mkdir -p of WORKDIR's path; the directories it creates belong to the config's USER (resolved
 * in the root, as BuildKit 0.8's Mkdir WithUser). An O_PATH descriptor of path, or < 0. */
static int workdir_make(berth_workroot *root, int rootfd, const char *path, berth_build_image *img)
{
	char *user = berth_build_image_config(img, "User"), pre[PATH_MAX];
	json_t *u = user ? json_loads(user, JSON_DECODE_ANY, NULL) : NULL;
	const char *name = json_string_value(u);
	uint32_t uid = 0, gid = 0, groups[1];
	size_t n = strlen(path), ng;
	int fd = 0;

	if (name && *name &&
	    (fd = berth_sandbox_resolve_user(berth_workroot_path(root), name, &uid, &gid, groups, 0,
					     &ng)) < 0)
		goto done;
	for (size_t i = 1; (uid || gid) && i <= n && fd >= 0; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		snprintf(pre, sizeof(pre), "%.*s", (int)i, path);
		fd = berth_inroot_open(rootfd, pre, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		berth_error_clear();
		if ((fd = berth_inroot_mkdir_p(rootfd, pre, 0755)) < 0)
			break;
		if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
			close(fd);
			fd = berth_error_set_errno("chown %s", pre);
			break;
		}
		close(fd);
	}
	if (fd >= 0)
		fd = berth_inroot_mkdir_p(rootfd, path, 0755);
done:
	json_decref(u);
	free(user);
	return fd;
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

		fd = rootfd < 0 ? -1 : workdir_make(root, rootfd, path, img);
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

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* EXPOSE: every word's ports; the history is Go's %v of this instruction's port map
 * ("EXPOSE map[53/udp:{} 80/tcp:{}]", keys sorted). */
static int do_expose(build_solver *sv, berth_build_image *img, const berth_df_xinstr *x)
{
	json_t *mine = json_object();
	const char **keys = NULL;
	berth_buf b = BERTH_BUF_INIT(0);
	const char *k;
	json_t *v;
	size_t n = 0;
	int rc = mine ? 0 : berth_error_set(BERTH_ERROR, "out of memory");

	for (size_t i = 0; i < x->nwords && rc == 0; i++)
		rc = expose(sv, img, x->src, x->words[i], mine);
	if (rc == 0 && !(keys = calloc(json_object_size(mine) + 1, sizeof(*keys))))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	if (rc == 0) {
		json_object_foreach(mine, k, v) keys[n++] = k;
		qsort(keys, n, sizeof(*keys), cmp_str);
		rc = berth_buf_puts(&b, "EXPOSE map[");
	}
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = berth_buf_printf(&b, "%s%s:{}", i ? " " : "", keys[i]);
	if (rc == 0)
		rc = berth_buf_puts(&b, "]");
	rc = history_text(img, &b, rc);
	free(keys);
	json_decref(mine);
	return rc;
}

/* HEALTHCHECK: the config's Healthcheck, and its history as BuildKit's %q of it. */
static int do_healthcheck(berth_build_image *img, const berth_df_xinstr *x)
{
	berth_buf b = BERTH_BUF_INIT(0);
	char *cur = NULL;
	json_t *h = NULL;
	int rc = healthcheck(img, x);

	if (rc == 0 && !(cur = berth_build_image_config(img, "Healthcheck")))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	if (rc == 0 && !(h = json_loads(cur, 0, NULL)))
		rc = berth_error_set(BERTH_ERROR, "out of memory");
	if (rc == 0)
		rc = berth_build__history_healthcheck(&b, h);
	json_decref(h);
	free(cur);
	return history_text(img, &b, rc);
}

/* ONBUILD: the trigger joins the config's OnBuild (BuildKit writes no history for it). */
static int do_onbuild(berth_build_image *img, const berth_df_instr *in)
{
	char *cur = berth_build_image_config(img, "OnBuild"), *js;
	json_t *a = cur ? json_loads(cur, 0, NULL) : json_array();
	int rc;

	free(cur);
	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	json_array_append_new(a, json_string(in->args_text));
	js = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	rc = js ? berth_build_image_set_config(img, "OnBuild", js)
		: berth_error_set(BERTH_ERROR, "out of memory");
	free(js);
	return rc;
}

int berth_build__apply(build_solver *sv, berth_build_image *img, build_stage_state *st,
		       const berth_df_xinstr *x)
{
	const berth_df_instr *in = x->src;
	berth_buf b = BERTH_BUF_INIT(0);
	char *v = NULL, *js = NULL;
	int rc = 0;

	switch (in->kind) {
	case BERTH_DF_ARG: return do_arg(st, img, x);
	case BERTH_DF_ENV: return do_env(sv, img, &st->args, in);
	case BERTH_DF_LABEL: {
		char **kv = calloc(2 * x->nkvs + 1, sizeof(char *));

		if (!kv)
			return berth_error_set(BERTH_ERROR, "out of memory");
		for (size_t i = 0; i < x->nkvs && rc == 0; i++) {
			kv[2 * i] = x->kvs[i].key;
			kv[2 * i + 1] = x->kvs[i].value;
			rc = set_json_map_key(img, "Labels", x->kvs[i].key,
					      json_string(x->kvs[i].value));
		}
		if (rc == 0)
			rc = history_kvs(img, "LABEL", kv, x->nkvs);
		free(kv);
		return rc;
	}
	case BERTH_DF_WORKDIR: return do_workdir(sv, img, &st->args, x);
	case BERTH_DF_USER:
		if ((rc = berth_build__expand1(sv, img, &st->args, in->args_text, &v)) == 0) {
			js = json_quote(v);
			rc = js ? berth_build_image_set_config(img, "User", js) : BERTH_ERROR;
		}
		if (rc == 0)
			rc = history_text(img, &b, berth_buf_printf(&b, "USER %s", v));
		break;
	case BERTH_DF_CMD:
		if ((rc = berth_build__command_json(img, x, &js)) == 0 &&
		    (rc = berth_build_image_set_config(img, "Cmd", js)) == 0)
			rc = berth_build_image_set_config(img, "ArgsEscaped", "true");
		st->cmd_set = 1;
		if (rc == 0)
			rc = history_argv(img, "CMD", js);
		break;
	case BERTH_DF_ENTRYPOINT:
		if ((rc = berth_build__command_json(img, x, &js)) == 0)
			rc = berth_build_image_set_config(img, "Entrypoint", js);
		/* An ENTRYPOINT resets a CMD that this stage did not set. */
		if (rc == 0 && !st->cmd_set)
			rc = berth_build_image_set_config(img, "Cmd", NULL);
		if (rc == 0)
			rc = history_argv(img, "ENTRYPOINT", js);
		break;
	case BERTH_DF_EXPOSE: return do_expose(sv, img, x);
	case BERTH_DF_VOLUME:
		for (size_t i = 0; i < x->nwords && rc == 0; i++)
			rc = set_json_map_key(img, "Volumes", x->words[i], json_object());
		return rc ? rc : history_words(img, "VOLUME", x->words, x->nwords);
	case BERTH_DF_STOPSIGNAL:
		if (x->nwords == 1 && (js = json_quote(x->words[0])))
			rc = berth_build_image_set_config(img, "StopSignal", js);
		else
			rc = berth_build__fail_at(sv, in, BERTH_EINVALID, "needs one signal");
		if (rc == 0)
			rc = history_text(img, &b,
					  berth_buf_printf(&b, "STOPSIGNAL %s", x->words[0]));
		break;
	case BERTH_DF_SHELL:
		if (in->form != BERTH_DF_FORM_JSON)
			return berth_build__fail_at(sv, in, BERTH_EINVALID, "needs a JSON array");
		if ((rc = json_of_words(&js, x->words, x->nwords, NULL)) == 0)
			rc = berth_build_image_set_config(img, "Shell", js);
		if (rc == 0)
			rc = history_words(img, "SHELL", x->words, x->nwords);
		break;
	case BERTH_DF_HEALTHCHECK: return do_healthcheck(img, x);
	case BERTH_DF_ONBUILD: return do_onbuild(img, in);
	case BERTH_DF_MAINTAINER:
		json_object_set_new(img->config, "author", json_string(in->args_text));
		rc = history_text(img, &b, berth_buf_printf(&b, "MAINTAINER %s", in->args_text));
		break;
	case BERTH_DF_RUN: return berth_build__run(sv, img, st, x);
	case BERTH_DF_COPY:
	case BERTH_DF_ADD: return berth_build__copy(sv, img, x);
	default: return berth_build__fail_at(sv, in, BERTH_EINVALID, "unknown instruction");
	}
	berth_buf_dispose(&b);
	free(v);
	free(js);
	return rc;
}
