/*
 * lint_shellcheck.c - SC findings, as hadolint produces them: every
 * shell-form RUN script (and RUN <<EOF heredoc script) is written to a
 * private temporary directory with a shebang for the stage's shell and an
 * `export NAME=1` line for each ARG/ENV declared so far (so ShellCheck does
 * not call them unassigned), then one `shellcheck -f json1` run reads them
 * all. When shellcheck is not installed the SC rules are simply absent.
 */
#include "lint_internal.h"

#include "util/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define SC_MAX_OUTPUT (64u << 20)

static int find_in_path(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH");

	if (strchr(name, '/')) {
		snprintf(out, cap, "%s", name);
		return access(out, X_OK) == 0;
	}
	while (path && *path) {
		size_t n = strcspn(path, ":");

		if (snprintf(out, cap, "%.*s/%s", (int)n, path, name) < (int)cap &&
		    access(out, X_OK) == 0)
			return 1;
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

/* The shell a RUN of this stage uses: "sh" unless SHELL named bash/dash/ksh. */
static const char *stage_shell(const lint_ctx *c, size_t upto)
{
	const char *sh = "sh";
	size_t stage = c->df->instrs[upto].stage;

	for (size_t i = 0; i < upto; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->stage != stage || in->kind != BERTH_DF_SHELL || in->nargs == 0)
			continue;
		sh = strstr(in->args[0].text, "bash")	? "bash"
		     : strstr(in->args[0].text, "dash") ? "dash"
		     : strstr(in->args[0].text, "ksh")	? "ksh"
							: "sh";
	}
	return sh;
}

static int write_script(const lint_ctx *c, size_t i, const char *path)
{
	berth_buf b = BERTH_BUF_INIT(0);
	size_t stage = c->df->instrs[i].stage;
	FILE *f;
	int rc = berth_buf_printf(&b, "#!/bin/%s\n", stage_shell(c, i));

	for (size_t k = 0; rc == 0 && k < i; k++) {
		const berth_df_instr *in = &c->df->instrs[k];

		/* global ARGs are not visible to RUN unless the stage redeclares them */
		if ((in->kind != BERTH_DF_ARG && in->kind != BERTH_DF_ENV) || in->stage != stage)
			continue;
		/* only the names the script mentions: keeps each file small on long Dockerfiles */
		for (size_t v = 0; rc == 0 && v < in->nkvs; v++)
			if (strstr(c->li[i].script_text, in->kvs[v].key))
				rc = berth_buf_printf(&b, "export %s=1\n", in->kvs[v].key);
	}
	if (rc == 0)
		rc = berth_buf_printf(&b, "%s\n", c->li[i].script_text);
	if (rc < 0) {
		berth_buf_dispose(&b);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	f = fopen(path, "w");
	if (!f || fwrite(b.ptr, 1, b.len, f) != b.len) {
		rc = berth_error_set_errno("shellcheck: write %s", path);
	}
	if (f && fclose(f) != 0 && rc == 0)
		rc = berth_error_set_errno("shellcheck: write %s", path);
	berth_buf_dispose(&b);
	return rc;
}

/* Run shellcheck on argv, its JSON on stdout into *out. */
static int run(char **argv, berth_buf *out)
{
	int fds[2], status = 0, rc = 0;
	pid_t pid;
	posix_spawn_file_actions_t fa;
	char chunk[65536];
	ssize_t n;

	if (pipe(fds) != 0)
		return berth_error_set_errno("shellcheck: pipe");
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addclose(&fa, fds[0]);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	errno = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (errno != 0) {
		close(fds[0]);
		return berth_error_set_errno("shellcheck: start %s", argv[0]);
	}
	while ((n = read(fds[0], chunk, sizeof(chunk))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && rc == 0 && berth_buf_put(out, chunk, (size_t)n) < 0)
			rc = berth_error_set(BERTH_ETOOBIG, "shellcheck: output too large");
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	/* exit 1 means "found something"; 2+ is a failure of shellcheck itself */
	if (rc == 0 && (!WIFEXITED(status) || WEXITSTATUS(status) > 1))
		rc = berth_error_set(BERTH_ERROR, "shellcheck failed (exit status %d)",
				     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return rc;
}

static berth_lint_severity sc_level(const char *level)
{
	berth_lint_severity s = BERTH_LINT_WARNING;

	if (level && berth_lint_severity_parse(level, &s) < 0)
		berth_error_clear();
	return s;
}

static void read_comments(lint_ctx *c, const char *json, const char *dir, const size_t *idx)
{
	json_t *doc = json_loads(json, 0, NULL), *arr = json_object_get(doc, "comments");
	size_t k;
	json_t *cm;

	json_array_foreach(arr, k, cm)
	{
		const char *file = json_string_value(json_object_get(cm, "file"));
		const char *msg = json_string_value(json_object_get(cm, "message"));
		json_int_t code = json_integer_value(json_object_get(cm, "code"));
		const char *level = json_string_value(json_object_get(cm, "level"));
		char id[32];
		size_t n = strlen(dir);
		unsigned long which;

		if (!file || !msg || strncmp(file, dir, n) != 0)
			continue;
		which = strtoul(file + n + 1, NULL, 10);
		snprintf(id, sizeof(id), "SC%lld", (long long)code);
		berth_lint__emit_sc(c, id, sc_level(level), c->li[idx[which]].in, msg);
	}
	json_decref(doc);
}

int berth_lint__shellcheck(lint_ctx *c)
{
	char exe[4096], dir[] = "/tmp/berth-lint-XXXXXX", path[4200];
	char **argv = NULL;
	size_t *idx = NULL, n = 0;
	berth_buf out = BERTH_BUF_INIT(SC_MAX_OUTPUT);
	int rc = 0;

	if (!find_in_path(c->cfg->shellcheck_path ? c->cfg->shellcheck_path : "shellcheck", exe,
			  sizeof(exe)))
		return 0;
	for (size_t i = 0; i < c->df->ninstrs; i++)
		n += c->li[i].script_text != NULL;
	if (n == 0)
		return 0;
	if (!mkdtemp(dir))
		return berth_error_set_errno("shellcheck: temporary directory");
	argv = calloc(n + 6, sizeof(*argv));
	idx = calloc(n, sizeof(*idx));
	if (!argv || !idx) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	argv[0] = exe;
	argv[1] = "-f";
	argv[2] = "json1";
	argv[3] = "--norc";
	n = 0;
	for (size_t i = 0; rc == 0 && i < c->df->ninstrs; i++) {
		if (!c->li[i].script_text)
			continue;
		snprintf(path, sizeof(path), "%s/%zu.sh", dir, n);
		idx[n] = i;
		rc = write_script(c, i, path);
		if (rc == 0 && !(argv[4 + n++] = strdup(path)))
			rc = berth_error_set(BERTH_ERROR, "out of memory");
	}
	if (rc == 0)
		rc = run(argv, &out);
	if (rc == 0 && berth_buf_puts(&out, "") == 0)
		read_comments(c, out.ptr, dir, idx);
done:
	for (size_t k = 0; argv && argv[4 + k]; k++) {
		unlink(argv[4 + k]);
		free(argv[4 + k]);
	}
	rmdir(dir);
	free(argv);
	free(idx);
	berth_buf_dispose(&out);
	return rc;
}
