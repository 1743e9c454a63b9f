/*
 * lint_hadolint.c - hadolint's rules DL3000-DL3061 and DL4000-DL4006 under
 * their ids, written from hadolint's rule descriptions and behaviour
 * (README rule table, the Haskell rule sources under src/Hadolint/Rule); the RUN rules read the
 * commands berth's own splitter (lint_shell.c) finds in each script. The
 * label rules (DL3048-DL3058) follow the configuration's label-schema.
 */
#include "lint_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define NOPOS ((berth_df_pos){0, 0})

typedef int (*cmd_pred)(const lint_cmd *cmd, const lint_ctx *c);

/* Instructions are visited as hadolint does: top-level ones and ONBUILD triggers. */
static const berth_df_instr *run_of(const berth_df_instr *in)
{
	if (in->kind == BERTH_DF_ONBUILD && in->sub)
		in = in->sub;
	return in->kind == BERTH_DF_RUN ? in : NULL;
}

/* For every RUN whose script has a command matching `pred`: emit `id` once. */
static void each_run(lint_ctx *c, const char *id, cmd_pred pred)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const lint_instr *li = &c->li[i];

		if (!li->has_script)
			continue;
		for (size_t k = 0; k < li->script.ncmds; k++) {
			if (pred(&li->script.cmds[k], c)) {
				berth_lint__emit(c, id, li->in, NOPOS, NULL);
				break;
			}
		}
	}
}

/* 1 if the script has a command matching pred. */
static int script_has(const lint_instr *li, cmd_pred pred, const lint_ctx *c)
{
	for (size_t k = 0; li->has_script && k < li->script.ncmds; k++)
		if (pred(&li->script.cmds[k], c))
			return 1;
	return 0;
}

static int cmd_sub(const lint_cmd *cmd, const char *name, const char *sub)
{
	return berth_lint__cmd_is(cmd, name) && berth_lint__cmd_has_arg(cmd, sub);
}

static int any_flag(const lint_cmd *cmd, const char *const *flags)
{
	for (size_t i = 0; flags[i]; i++)
		if (berth_lint__cmd_has_flag(cmd, flags[i]))
			return 1;
	return 0;
}

/* Non-flag args after the subcommand word `sub` (e.g. packages after "install"). */
static int packages(const char ***out, size_t *n, const lint_cmd *cmd, const char *sub,
		    const char *const *takes_value)
{
	const char **v = NULL;
	size_t k = 0, at = 0;

	if (berth_lint__cmd_args(&v, &k, cmd, takes_value) < 0)
		return -1;
	while (at < k && strcmp(v[at], sub) != 0)
		at++;
	if (at < k)
		at++;
	memmove(v, v + at, (k - at) * sizeof(*v));
	*out = v;
	*n = k - at;
	return 0;
}

/* 1 if some package fails `pinned`. */
static int unpinned(const lint_cmd *cmd, const char *sub, const char *const *takes_value,
		    int (*pinned)(const char *))
{
	const char **v = NULL;
	size_t n = 0;
	int bad = 0;

	if (packages(&v, &n, cmd, sub, takes_value) < 0)
		return 0;
	for (size_t i = 0; i < n && !bad; i++)
		bad = !pinned(v[i]);
	free(v);
	return bad;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* ---- apt ---- */

static int apt_install(const lint_cmd *cmd)
{
	return cmd_sub(cmd, "apt-get", "install");
}

static int apt_pinned(const char *p)
{
	return strchr(p, '=') || strchr(p, '/') || ends_with(p, ".deb");
}

static int p_dl3008(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const tv[] = {"t", "target-release", "o", NULL};

	(void)c;
	return apt_install(cmd) && unpinned(cmd, "install", tv, apt_pinned);
}

static int p_dl3014(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const yes[] = {"y", "yes", "q", "assume-yes", NULL};

	(void)c;
	return apt_install(cmd) && !any_flag(cmd, yes);
}

static int p_dl3015(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return apt_install(cmd) && !berth_lint__cmd_has_flag(cmd, "no-install-recommends") &&
	       !berth_lint__cmd_has_arg(cmd, "APT::Install-Recommends=false");
}

static int p_dl3005(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return cmd_sub(cmd, "apt-get", "upgrade") || cmd_sub(cmd, "apt-get", "dist-upgrade");
}

static int p_dl3027(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return berth_lint__cmd_is(cmd, "apt") && cmd->nwords > 1;
}

/* ---- generic commands ---- */

static int p_dl3001(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const bad[] = {"ssh", "vim",	 "shutdown", "service",	 "ps",	 "free",
					  "top", "kill", "mount",    "ifconfig", "nano", NULL};

	(void)c;
	for (size_t i = 0; bad[i]; i++)
		if (berth_lint__cmd_is(cmd, bad[i]))
			return 1;
	return 0;
}

static int p_dl3003(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return berth_lint__cmd_is(cmd, "cd");
}

static int p_dl3004(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return berth_lint__cmd_is(cmd, "sudo");
}

static int p_dl4005(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return berth_lint__cmd_is(cmd, "ln") && cmd->nwords > 1 &&
	       strcmp(cmd->words[cmd->nwords - 1], "/bin/sh") == 0;
}

static int p_dl3046(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const lflag[] = {"l", "no-log-init", NULL};

	(void)c;
	if (!berth_lint__cmd_is(cmd, "useradd") || any_flag(cmd, lflag))
		return 0;
	for (size_t i = 1; i + 1 < cmd->nwords; i++)
		if ((strcmp(cmd->words[i], "-u") == 0 || strcmp(cmd->words[i], "--uid") == 0) &&
		    strlen(cmd->words[i + 1]) > 5)
			return 1;
	for (size_t i = 1; i < cmd->nwords; i++)
		if (strncmp(cmd->words[i], "--uid=", 6) == 0 && strlen(cmd->words[i] + 6) > 5)
			return 1;
	return 0;
}

static int p_dl3047(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const ok[] = {"progress",	"q", "quiet",	      "o",
					 "output-file", "a", "append-output", "no-verbose",
					 NULL};

	(void)c;
	return berth_lint__cmd_is(cmd, "wget") && !any_flag(cmd, ok) &&
	       !berth_lint__cmd_has_arg(cmd, "-nv");
}

/* ---- pip, npm, gem, apk ---- */

static int pip_install(const lint_cmd *cmd)
{
	const char *n = berth_lint__cmd_name(cmd);

	if (strncmp(n, "pip", 3) == 0 && (n[3] == '\0' || isdigit((unsigned char)n[3])))
		return berth_lint__cmd_has_arg(cmd, "install");
	/* python -m pip install */
	if (strncmp(n, "python", 6) == 0)
		for (size_t i = 1; i + 2 < cmd->nwords; i++)
			if (strcmp(cmd->words[i], "-m") == 0 &&
			    strcmp(cmd->words[i + 1], "pip") == 0)
				return strcmp(cmd->words[i + 2], "install") == 0;
	return 0;
}

static int pip_pinned(const char *p)
{
	static const char *const sym[] = {"==", ">=", "<=", ">", "<", "!=", "~=", NULL};
	int vcs = strncmp(p, "git", 3) == 0 || strncmp(p, "hg+", 3) == 0 ||
		  strncmp(p, "svn", 3) == 0 || strncmp(p, "bzr+", 4) == 0;

	for (size_t i = 0; sym[i]; i++)
		if (strstr(p, sym[i]))
			return 1;
	if (vcs)
		return strchr(p, '@') != NULL;
	return ends_with(p, ".whl") || ends_with(p, ".tar.gz") || strchr(p, '/') != NULL;
}

static int p_dl3013(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const tv[] = {"abi",
					 "b",
					 "build",
					 "e",
					 "editable",
					 "extra-index-url",
					 "f",
					 "find-links",
					 "i",
					 "index-url",
					 "implementation",
					 "no-binary",
					 "only-binary",
					 "platform",
					 "prefix",
					 "progress-bar",
					 "proxy",
					 "python-version",
					 "root",
					 "src",
					 "t",
					 "target",
					 "trusted-host",
					 "upgrade-strategy",
					 NULL};
	static const char *const constraint[] = {"constraint", "c", "requirement", "r", NULL};

	(void)c;
	if (!pip_install(cmd) || any_flag(cmd, constraint) || berth_lint__cmd_has_arg(cmd, "."))
		return 0;
	return unpinned(cmd, "install", tv, pip_pinned);
}

static int p_dl3042(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return pip_install(cmd) && !berth_lint__cmd_has_flag(cmd, "no-cache-dir");
}

static int npm_pinned(const char *p)
{
	const char *at;

	if (strncmp(p, "git", 3) == 0)
		return strchr(p, '#') != NULL;
	if (ends_with(p, ".tar") || ends_with(p, ".tar.gz") || ends_with(p, ".tgz") ||
	    p[0] == '/' || strncmp(p, "./", 2) == 0 || strncmp(p, "../", 3) == 0 ||
	    strncmp(p, "~/", 2) == 0)
		return 1;
	at = p[0] == '@' ? strchr(p, '/') : p;
	return at && strchr(at, '@') != NULL;
}

static int p_dl3016(const lint_cmd *cmd, const lint_ctx *c)
{
	const char **v = NULL;
	size_t n = 0;
	int bad;

	(void)c;
	if (!cmd_sub(cmd, "npm", "install") || berth_lint__cmd_args(&v, &n, cmd, NULL) < 0)
		return 0;
	bad = n > 0 && strcmp(v[0], "install") == 0;
	free(v);
	return bad && unpinned(cmd, "install", NULL, npm_pinned);
}

static int gem_pinned(const char *p)
{
	return strchr(p, ':') != NULL;
}

static int p_dl3028(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const ver[] = {"v", "version", NULL};

	(void)c;
	return cmd_sub(cmd, "gem", "install") && !any_flag(cmd, ver) &&
	       unpinned(cmd, "install", NULL, gem_pinned);
}

static int apk_pinned(const char *p)
{
	return strchr(p, '=') != NULL || ends_with(p, ".apk");
}

static int p_dl3018(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const tv[] = {"t", "virtual", "repository", "X", "p", "root", NULL};

	(void)c;
	return cmd_sub(cmd, "apk", "add") && unpinned(cmd, "add", tv, apk_pinned);
}

static int p_dl3019(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return cmd_sub(cmd, "apk", "add") && !berth_lint__cmd_has_flag(cmd, "no-cache");
}

static int p_dl3017(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return cmd_sub(cmd, "apk", "upgrade");
}

/* ---- yum, dnf, zypper ---- */

static int is_dnf(const lint_cmd *cmd)
{
	return berth_lint__cmd_is(cmd, "dnf") || berth_lint__cmd_is(cmd, "microdnf");
}

static int installs(const lint_cmd *cmd)
{
	return berth_lint__cmd_has_arg(cmd, "install") ||
	       berth_lint__cmd_has_arg(cmd, "groupinstall") ||
	       berth_lint__cmd_has_arg(cmd, "localinstall");
}

static int rpm_pinned(const char *p)
{
	return strchr(p, '-') != NULL || ends_with(p, ".rpm");
}

static int p_dl3030(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const yes[] = {"y", "assumeyes", NULL};

	(void)c;
	return berth_lint__cmd_is(cmd, "yum") && installs(cmd) && !any_flag(cmd, yes);
}

static int p_dl3031(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return cmd_sub(cmd, "yum", "update") || cmd_sub(cmd, "yum", "upgrade");
}

static int p_dl3033(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return berth_lint__cmd_is(cmd, "yum") && berth_lint__cmd_has_arg(cmd, "install") &&
	       !berth_lint__cmd_has_arg(cmd, "module") &&
	       unpinned(cmd, "install", NULL, rpm_pinned);
}

static int p_dl3038(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const yes[] = {"y", "assumeyes", NULL};

	(void)c;
	return is_dnf(cmd) && installs(cmd) && !any_flag(cmd, yes);
}

static int p_dl3039(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return is_dnf(cmd) &&
	       (berth_lint__cmd_has_arg(cmd, "update") || berth_lint__cmd_has_arg(cmd, "upgrade"));
}

static int p_dl3041(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return is_dnf(cmd) && berth_lint__cmd_has_arg(cmd, "install") &&
	       !berth_lint__cmd_has_arg(cmd, "module") &&
	       unpinned(cmd, "install", NULL, rpm_pinned);
}

static int zypper_install(const lint_cmd *cmd)
{
	return berth_lint__cmd_is(cmd, "zypper") &&
	       (berth_lint__cmd_has_arg(cmd, "install") || berth_lint__cmd_has_arg(cmd, "in"));
}

static int p_dl3034(const lint_cmd *cmd, const lint_ctx *c)
{
	static const char *const yes[] = {"n", "non-interactive", "y", "no-confirm", NULL};
	static const char *const subs[] = {"install",	     "in", "remove", "rm",
					   "source-install", "si", "patch",  NULL};
	int sub = 0;

	(void)c;
	if (!berth_lint__cmd_is(cmd, "zypper"))
		return 0;
	for (size_t i = 0; subs[i]; i++)
		sub |= berth_lint__cmd_has_arg(cmd, subs[i]);
	return sub && !any_flag(cmd, yes);
}

static int p_dl3035(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return cmd_sub(cmd, "zypper", "dist-upgrade") || cmd_sub(cmd, "zypper", "dup");
}

static int zypper_pinned(const char *p)
{
	return strchr(p, '=') || strchr(p, '>') || strchr(p, '<') || ends_with(p, ".rpm");
}

static int p_dl3037(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return zypper_install(cmd) &&
	       unpinned(cmd, berth_lint__cmd_has_arg(cmd, "install") ? "install" : "in", NULL,
			zypper_pinned);
}

/* Package-manager use that must be followed by a clean in the same RUN. */
typedef struct clean_rule {
	const char *id;
	int (*uses)(const lint_cmd *);
	int (*cleans)(const lint_cmd *);
} clean_rule;

static int yum_uses(const lint_cmd *cmd)
{
	return berth_lint__cmd_is(cmd, "yum") && installs(cmd);
}

static int yum_cleans(const lint_cmd *cmd)
{
	return (cmd_sub(cmd, "yum", "clean") && berth_lint__cmd_has_arg(cmd, "all")) ||
	       (berth_lint__cmd_is(cmd, "rm") && berth_lint__cmd_has_arg(cmd, "/var/cache/yum/*"));
}

static int dnf_uses(const lint_cmd *cmd)
{
	return is_dnf(cmd) && installs(cmd);
}

static int dnf_cleans(const lint_cmd *cmd)
{
	return (is_dnf(cmd) && berth_lint__cmd_has_arg(cmd, "clean") &&
		berth_lint__cmd_has_arg(cmd, "all")) ||
	       (berth_lint__cmd_is(cmd, "rm") &&
		(berth_lint__cmd_has_arg(cmd, "/var/cache/dnf/*") ||
		 berth_lint__cmd_has_arg(cmd, "/var/cache/yum/*")));
}

static int zypper_uses(const lint_cmd *cmd)
{
	return zypper_install(cmd);
}

static int zypper_cleans(const lint_cmd *cmd)
{
	return cmd_sub(cmd, "zypper", "clean") || cmd_sub(cmd, "zypper", "cc");
}

static int yarn_uses(const lint_cmd *cmd)
{
	return cmd_sub(cmd, "yarn", "install");
}

static int yarn_cleans(const lint_cmd *cmd)
{
	return cmd_sub(cmd, "yarn", "cache") && berth_lint__cmd_has_arg(cmd, "clean");
}

static void clean_rules(lint_ctx *c)
{
	static const clean_rule rules[] = {{"DL3032", yum_uses, yum_cleans},
					   {"DL3040", dnf_uses, dnf_cleans},
					   {"DL3036", zypper_uses, zypper_cleans},
					   {"DL3060", yarn_uses, yarn_cleans}};

	for (size_t r = 0; r < sizeof(rules) / sizeof(rules[0]); r++) {
		for (size_t i = 0; i < c->df->ninstrs; i++) {
			const lint_instr *li = &c->li[i];
			int used = 0, cleaned = 0;

			for (size_t k = 0; li->has_script && k < li->script.ncmds; k++) {
				used |= rules[r].uses(&li->script.cmds[k]);
				cleaned |= rules[r].cleans(&li->script.cmds[k]);
			}
			if (used && !cleaned &&
			    !(li->in->kind == BERTH_DF_RUN && berth_lint__flag(li->in, "mount") &&
			      strstr(li->in->original, "type=cache")))
				berth_lint__emit(c, rules[r].id, li->in, NOPOS, NULL);
		}
	}
}

/* ---- DL3009: apt lists ---- */

static int apt_update(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return cmd_sub(cmd, "apt-get", "update");
}

static int apt_lists_removed(const lint_cmd *cmd, const lint_ctx *c)
{
	(void)c;
	return berth_lint__cmd_is(cmd, "rm") &&
	       berth_lint__cmd_has_arg(cmd, "/var/lib/apt/lists/*");
}

static int cache_mount(const berth_df_instr *in, const char *target)
{
	for (size_t i = 0; i < in->nflags; i++)
		if (berth_lint__ieq(in->flags[i].name, "mount") && in->flags[i].value &&
		    strstr(in->flags[i].value, "type=cache") && strstr(in->flags[i].value, target))
			return 1;
	return 0;
}

/* 1 if a later FROM builds on stage s (its name is their image). */
static int stage_reused(const lint_ctx *c, size_t s)
{
	const char *name = c->df->stages[s].name;

	for (size_t k = s + 1; name && k < c->df->nstages; k++)
		if (c->df->stages[k].base && berth_lint__ieq(c->df->stages[k].base, name))
			return 1;
	return 0;
}

static void dl3009(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const lint_instr *li = &c->li[i];
		size_t s = li->in->stage;

		if (!script_has(li, apt_update, c) || script_has(li, apt_lists_removed, c) ||
		    cache_mount(li->in, "/var/lib/apt"))
			continue;
		if (s == BERTH_DF_NO_STAGE || berth_lint__is_last_stage(c, s) || stage_reused(c, s))
			berth_lint__emit(c, "DL3009", li->in, NOPOS, NULL);
	}
}

/* DL3059: consecutive RUNs with the same flags, neither already a chain of 3+ commands. */
static void dl3059(lint_ctx *c)
{
	const lint_instr *prev = NULL;

	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const lint_instr *li = &c->li[i];
		int same = 1;

		if (li->in->kind != BERTH_DF_RUN) {
			prev = NULL;
			continue;
		}
		if (prev && prev->in->nflags == li->in->nflags)
			for (size_t k = 0; k < li->in->nflags; k++)
				same &= strcmp(prev->in->flags[k].raw, li->in->flags[k].raw) == 0;
		else
			same = 0;
		if (prev && same && prev->script.ncmds <= 2 && li->script.ncmds <= 2)
			berth_lint__emit(c, "DL3059", li->in, NOPOS, NULL);
		prev = li;
	}
}

/* DL4001 (wget and curl in one stage) and DL4006 (pipe without pipefail). */
static void dl4001_dl4006(lint_ctx *c)
{
	int curl = 0, wget = 0, pipefail = 0;
	size_t stage = BERTH_DF_NO_STAGE - 1;

	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const lint_instr *li = &c->li[i];
		int uses = 0;

		if (li->in->stage != stage || li->in->kind == BERTH_DF_FROM) {
			stage = li->in->stage;
			curl = wget = pipefail = 0;
		}
		if (li->in->kind == BERTH_DF_SHELL) {
			int posix = 0, opt = 0;

			for (size_t k = 0; k < li->in->nargs; k++) {
				const char *w = li->in->args[k].text;

				posix |= k == 0 && (ends_with(w, "sh") || ends_with(w, "bash") ||
						    ends_with(w, "zsh") || ends_with(w, "ash"));
				opt |= strcmp(w, "pipefail") == 0 && k > 0 &&
				       strcmp(li->in->args[k - 1].text, "-o") == 0;
			}
			/* a non-POSIX shell (pwsh, cmd) has no pipefail to ask for */
			pipefail = opt || !posix;
		}
		if (!li->has_script)
			continue;
		for (size_t k = 0; k < li->script.ncmds; k++) {
			const lint_cmd *cmd = &li->script.cmds[k];

			if (berth_lint__cmd_is(cmd, "curl"))
				curl = uses = 1;
			if (berth_lint__cmd_is(cmd, "wget"))
				wget = uses = 1;
		}
		if (uses && curl && wget)
			berth_lint__emit(c, "DL4001", li->in, NOPOS, NULL);
		if (li->script.has_pipe && !pipefail && run_of(li->in) &&
		    run_of(li->in)->form != BERTH_DF_FORM_JSON)
			berth_lint__emit(c, "DL4006", li->in, NOPOS, NULL);
	}
}

/* ---- instruction rules ---- */

static int abs_path(const char *w)
{
	if (w[0] == '"' || w[0] == '\'')
		w++;
	return w[0] == '/' || w[0] == '$' || (isalpha((unsigned char)w[0]) && w[1] == ':');
}

static void from_rules(lint_ctx *c)
{
	for (size_t s = 0; s < c->df->nstages; s++) {
		const berth_df_stage *st = &c->df->stages[s];
		const berth_df_instr *from = &c->df->instrs[st->from];
		const berth_df_flag *pf = berth_lint__flag(from, "platform");
		lint_image img;

		if (pf && pf->value && pf->value[0])
			berth_lint__emit(c, "DL3029", from, pf->pos, NULL);
		if (!st->base || strcmp(st->base, "scratch") == 0 ||
		    berth_lint__stage_ref(c, st->base, s, NULL))
			continue;
		berth_lint__image_parse(&img, st->base);
		if (img.has_var)
			continue;
		if (!img.tag[0] && !img.has_digest)
			berth_lint__emit(c, "DL3006", from, NOPOS, NULL);
		if (strcmp(img.tag, "latest") == 0 && !img.has_digest)
			berth_lint__emit(c, "DL3007", from, NOPOS, NULL);
		for (size_t k = 0; k < s; k++)
			if (st->name && c->df->stages[k].name &&
			    berth_lint__ieq(st->name, c->df->stages[k].name)) {
				berth_lint__emit(c, "DL3024", from, NOPOS,
						 "Duplicate FROM alias `%s`. FROM aliases (stage "
						 "names) must be unique",
						 st->name);
				break;
			}
	}
}

/* DL3026: wildcard entries ("*.example.com") match any subdomain, as hadolint allows. */
static int registry_allowed(const berth_lint_config *cfg, const char *reg)
{
	for (size_t i = 0; i < cfg->ntrusted; i++) {
		const char *t = cfg->trusted[i];

		if (strcmp(t, reg) == 0 || strcmp(t, "*") == 0)
			return 1;
		if (t[0] == '*' && ends_with(reg, t + 1))
			return 1;
		if (strcmp(reg, "docker.io") == 0 && strcmp(t, "hub.docker.com") == 0)
			return 1;
	}
	return 0;
}

static void dl3026(lint_ctx *c)
{
	if (c->cfg->ntrusted == 0)
		return;
	for (size_t s = 0; s < c->df->nstages; s++) {
		const berth_df_stage *st = &c->df->stages[s];
		lint_image img;

		if (!st->base || strcmp(st->base, "scratch") == 0 ||
		    berth_lint__stage_ref(c, st->base, s, NULL))
			continue;
		berth_lint__image_parse(&img, st->base);
		if (img.has_var)
			continue;
		if (!registry_allowed(c->cfg, img.registry[0] ? img.registry : "docker.io"))
			berth_lint__emit(c, "DL3026", &c->df->instrs[st->from], NOPOS,
					 "Use only an allowed registry in the FROM image (%s is "
					 "not one)",
					 img.registry[0] ? img.registry : "docker.io");
	}
}

static void dl3061(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->kind == BERTH_DF_FROM)
			break;
		if (in->kind != BERTH_DF_ARG)
			berth_lint__emit(c, "DL3061", in, NOPOS, NULL);
	}
}

/* Last USER of the final stage. */
static void dl3002(lint_ctx *c)
{
	const berth_df_instr *last = NULL;

	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->kind == BERTH_DF_FROM)
			last = NULL;
		else if (in->kind == BERTH_DF_USER && in->nargs > 0)
			last = in;
	}
	if (last) {
		const char *u = last->args[0].text;
		size_t n = strcspn(u, ":");

		if ((n == 4 && strncmp(u, "root", 4) == 0) || (n == 1 && u[0] == '0'))
			berth_lint__emit(c, "DL3002", last, NOPOS, NULL);
	}
}

static int is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0 ||
	       strncmp(s, "git@", 4) == 0 || strncmp(s, "git://", 6) == 0;
}

static int is_archive(const char *s)
{
	static const char *const ext[] = {".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2",
					  ".tbz", ".tar.xz", ".txz", ".tar.zst", ".gz",
					  ".bz2", ".xz",     ".zst", NULL};

	for (size_t i = 0; ext[i]; i++)
		if (ends_with(s, ext[i]))
			return 1;
	return 0;
}

/* Source words of COPY/ADD (all but the destination; heredocs not counted). */
static size_t nsources(const berth_df_instr *in)
{
	return in->nargs > 0 ? in->nargs - 1 : 0;
}

static void add_copy_rules(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];
		const berth_df_flag *from = berth_lint__flag(in, "from");

		if (in->kind != BERTH_DF_COPY && in->kind != BERTH_DF_ADD)
			continue;
		if (in->kind == BERTH_DF_ADD) {
			int local = 0;

			for (size_t k = 0; k < nsources(in); k++)
				local |= !is_url(in->args[k].text) &&
					 !is_archive(in->args[k].text) &&
					 strncmp(in->args[k].text, "<<", 2) != 0;
			if (local)
				berth_lint__emit(c, "DL3020", in, NOPOS, NULL);
		}
		if (in->nargs > 2 && in->nheredocs == 0) {
			const char *dst = in->args[in->nargs - 1].text;

			if (!ends_with(dst, "/") && !(dst[0] == '$' && !strchr(dst + 1, '/')))
				berth_lint__emit(c, "DL3021", in, NOPOS, NULL);
		}
		if (in->kind == BERTH_DF_COPY && from && from->value &&
		    in->stage != BERTH_DF_NO_STAGE) {
			const berth_df_stage *st = &c->df->stages[in->stage];

			if (st->name && berth_lint__ieq(st->name, from->value))
				berth_lint__emit(c, "DL3023", in, from->pos, NULL);
			else if (!berth_lint__stage_ref(c, from->value, in->stage, NULL) &&
				 !strchr(from->value, ':') && !strchr(from->value, '/') &&
				 !strchr(from->value, '$'))
				berth_lint__emit(c, "DL3022", in, from->pos, NULL);
		}
	}
}

/* DL3010: an archive COPYed and then unpacked with tar in the same stage. */
static void dl3010(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->kind != BERTH_DF_COPY || berth_lint__flag(in, "from"))
			continue;
		for (size_t k = 0; k < nsources(in); k++) {
			const char *src = in->args[k].text, *base = strrchr(src, '/');
			int unpacked = 0;

			if (!is_archive(src))
				continue;
			base = base ? base + 1 : src;
			for (size_t j = i + 1; j < c->df->ninstrs && !unpacked; j++) {
				const lint_instr *lj = &c->li[j];

				if (c->df->instrs[j].stage != in->stage)
					break;
				for (size_t m = 0; lj->has_script && m < lj->script.ncmds; m++) {
					const lint_cmd *cmd = &lj->script.cmds[m];

					for (size_t w = 1;
					     berth_lint__cmd_is(cmd, "tar") && w < cmd->nwords; w++)
						unpacked |= strstr(cmd->words[w], base) != NULL;
				}
			}
			if (unpacked) {
				berth_lint__emit(c, "DL3010", in, in->args[k].pos, NULL);
				break;
			}
		}
	}
}

static void stage_count_rules(lint_ctx *c)
{
	for (size_t s = 0; s < c->df->nstages; s++) {
		const berth_df_stage *st = &c->df->stages[s];
		int ncmd = 0, nentry = 0, nhealth = 0;

		for (size_t i = st->first; i < st->end; i++) {
			const berth_df_instr *in = &c->df->instrs[i];

			if (in->kind == BERTH_DF_CMD && ++ncmd > 1)
				berth_lint__emit(c, "DL4003", in, NOPOS, NULL);
			if (in->kind == BERTH_DF_ENTRYPOINT && ++nentry > 1)
				berth_lint__emit(c, "DL4004", in, NOPOS, NULL);
			if (in->kind == BERTH_DF_HEALTHCHECK && ++nhealth > 1)
				berth_lint__emit(c, "DL3012", in, NOPOS, NULL);
		}
	}
}

/* WORKDIR set in stage s or in a stage it is built FROM. */
static int workdir_set(const lint_ctx *c, size_t s, size_t before)
{
	for (int guard = 0; guard < 64; guard++) {
		const berth_df_stage *st = &c->df->stages[s];
		size_t parent;

		for (size_t i = st->first; i < st->end && i < before; i++)
			if (c->df->instrs[i].kind == BERTH_DF_WORKDIR)
				return 1;
		if (!st->base || !berth_lint__stage_ref(c, st->base, s, &parent))
			return 0;
		s = parent;
		before = (size_t)-1;
	}
	return 0;
}

static void instr_rules(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		switch (in->kind) {
		case BERTH_DF_WORKDIR:
			if (in->nargs > 0 && !abs_path(in->args[0].text))
				berth_lint__emit(c, "DL3000", in, in->args[0].pos, NULL);
			break;
		case BERTH_DF_EXPOSE:
			for (size_t k = 0; k < in->nargs; k++) {
				const char *w = in->args[k].text;
				char *end = NULL;
				unsigned long lo, hi;

				if (strchr(w, '$'))
					continue;
				lo = strtoul(w, &end, 10);
				hi = *end == '-' ? strtoul(end + 1, &end, 10) : lo;
				if (end != w && (*end == '\0' || *end == '/') &&
				    (lo > 65535 || hi > 65535))
					berth_lint__emit(c, "DL3011", in, in->args[k].pos, NULL);
			}
			break;
		case BERTH_DF_CMD:
		case BERTH_DF_ENTRYPOINT:
			if (in->form == BERTH_DF_FORM_SHELL)
				berth_lint__emit(c, "DL3025", in, NOPOS, NULL);
			break;
		case BERTH_DF_ONBUILD:
			if (in->sub &&
			    (in->sub->kind == BERTH_DF_ONBUILD || in->sub->kind == BERTH_DF_FROM ||
			     in->sub->kind == BERTH_DF_MAINTAINER))
				berth_lint__emit(c, "DL3043", in, NOPOS, NULL);
			break;
		case BERTH_DF_MAINTAINER: berth_lint__emit(c, "DL4000", in, NOPOS, NULL); break;
		case BERTH_DF_COPY:
			if (in->nargs >= 2 && in->stage != BERTH_DF_NO_STAGE &&
			    !abs_path(in->args[in->nargs - 1].text) &&
			    !workdir_set(c, in->stage, i))
				berth_lint__emit(c, "DL3045", in, NOPOS, NULL);
			break;
		default: break;
		}
	}
}

/* DL3044: ENV a=1 b=$a (the reference sees the value from before the ENV). */
static void dl3044(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->kind != BERTH_DF_ENV)
			continue;
		for (size_t k = 1; k < in->nkvs; k++) {
			for (size_t j = 0; j < k; j++) {
				const char *key = in->kvs[j].key, *v = in->kvs[k].value;
				size_t kl = strlen(key);
				int hit = 0;

				for (const char *p = strchr(v, '$'); p && !hit;
				     p = strchr(p + 1, '$')) {
					const char *name = p[1] == '{' ? p + 2 : p + 1;

					hit = strncmp(name, key, kl) == 0 &&
					      !(isalnum((unsigned char)name[kl]) ||
						name[kl] == '_');
				}
				if (hit) {
					berth_lint__emit(c, "DL3044", in, in->kvs[k].pos, NULL);
					j = k;
				}
			}
		}
	}
}

void berth_lint__hadolint(lint_ctx *c)
{
	each_run(c, "DL3001", p_dl3001);
	dl3002(c);
	each_run(c, "DL3003", p_dl3003);
	each_run(c, "DL3004", p_dl3004);
	each_run(c, "DL3005", p_dl3005);
	each_run(c, "DL3008", p_dl3008);
	dl3009(c);
	dl3010(c);
	each_run(c, "DL3013", p_dl3013);
	each_run(c, "DL3014", p_dl3014);
	each_run(c, "DL3015", p_dl3015);
	each_run(c, "DL3016", p_dl3016);
	each_run(c, "DL3017", p_dl3017);
	each_run(c, "DL3018", p_dl3018);
	each_run(c, "DL3019", p_dl3019);
	each_run(c, "DL3027", p_dl3027);
	each_run(c, "DL3028", p_dl3028);
	each_run(c, "DL3030", p_dl3030);
	each_run(c, "DL3031", p_dl3031);
	each_run(c, "DL3033", p_dl3033);
	each_run(c, "DL3034", p_dl3034);
	each_run(c, "DL3035", p_dl3035);
	each_run(c, "DL3037", p_dl3037);
	each_run(c, "DL3038", p_dl3038);
	each_run(c, "DL3039", p_dl3039);
	each_run(c, "DL3041", p_dl3041);
	each_run(c, "DL3042", p_dl3042);
	each_run(c, "DL3046", p_dl3046);
	each_run(c, "DL3047", p_dl3047);
	each_run(c, "DL4005", p_dl4005);
	clean_rules(c);
	dl3059(c);
	dl4001_dl4006(c);
	from_rules(c);
	dl3026(c);
	dl3061(c);
	add_copy_rules(c);
	stage_count_rules(c);
	instr_rules(c);
	dl3044(c);
	berth_lint__hadolint_labels(c);
}
