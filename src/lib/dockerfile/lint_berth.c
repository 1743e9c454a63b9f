/*
 * lint_berth.c - the company's Dockerfile rules (BL ids): a non-root final
 * stage with a HEALTHCHECK, pinned base images from trusted registries,
 * apt-get hygiene, combined RUNs, cache-friendly order, no secret files in
 * layers, build tools kept out of the final stage, and a .dockerignore
 * that keeps .git and .env files out of the context.
 */
#include "lint_internal.h"

#include <stdlib.h>
#include <string.h>

#define NOPOS ((berth_df_pos){0, 0})

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static size_t final_stage(const lint_ctx *c)
{
	return c->df->nstages - 1;
}

/* Stage s and the stages it is built FROM, nearest first; returns the count. */
static size_t lineage(const lint_ctx *c, size_t s, size_t *out, size_t cap)
{
	size_t n = 0, parent;

	while (n < cap) {
		out[n++] = s;
		if (!c->df->stages[s].base ||
		    !berth_lint__stage_ref(c, c->df->stages[s].base, s, &parent))
			break;
		s = parent;
	}
	return n;
}

/* The external image at the root of stage s's lineage (or NULL for scratch/variables). */
static const char *root_image(const lint_ctx *c, size_t s)
{
	size_t chain[64], n = lineage(c, s, chain, 64);

	return c->df->stages[chain[n - 1]].base;
}

/* distroless and Chainguard publish ":nonroot" / "-nonroot" tags whose config sets a non-root user
 */
static int nonroot_image(const char *image)
{
	lint_image img;

	if (!image)
		return 0;
	berth_lint__image_parse(&img, image);
	return strcmp(img.tag, "nonroot") == 0 || ends_with(img.tag, "-nonroot");
}

static int shell_less(const char *image)
{
	return image && (strcmp(image, "scratch") == 0 || strstr(image, "distroless") ||
			 strstr(image, "chainguard/static"));
}

/* BL001 and BL002. */
static void final_user_health(lint_ctx *c)
{
	size_t chain[64], n, s = final_stage(c);
	const berth_df_instr *user = NULL, *health = NULL;
	const berth_df_instr *from = &c->df->instrs[c->df->stages[s].from];

	n = lineage(c, s, chain, 64);
	for (size_t k = 0; k < n && !user; k++) {
		const berth_df_stage *st = &c->df->stages[chain[k]];

		for (size_t i = st->end; i > st->first && !user; i--)
			if (c->df->instrs[i - 1].kind == BERTH_DF_USER)
				user = &c->df->instrs[i - 1];
	}
	for (size_t k = 0; k < n && !health; k++) {
		const berth_df_stage *st = &c->df->stages[chain[k]];

		for (size_t i = st->first; i < st->end; i++)
			if (c->df->instrs[i].kind == BERTH_DF_HEALTHCHECK)
				health = &c->df->instrs[i];
	}
	if (!user && !nonroot_image(root_image(c, s))) {
		berth_lint__emit(c, "BL001", from, NOPOS,
				 "Final stage runs as root: add a USER with a non-root user");
	} else if (user && user->nargs > 0) {
		const char *u = user->args[0].text;
		size_t len = strcspn(u, ":");

		if ((len == 4 && strncmp(u, "root", 4) == 0) || (len == 1 && u[0] == '0'))
			berth_lint__emit(c, "BL001", user, NOPOS,
					 "Final stage runs as root (USER %s): use a non-root user",
					 u);
	}
	if (health && health->subtype && berth_lint__ieq(health->subtype, "NONE"))
		berth_lint__emit(c, "BL002", health, NOPOS,
				 "Final stage disables the HEALTHCHECK (HEALTHCHECK NONE)");
	else if (!health && !shell_less(root_image(c, s)))
		berth_lint__emit(c, "BL002", from, NOPOS, "Final stage has no HEALTHCHECK");
}

/* BL003, BL004 and BL011: every external base image. */
static void base_images(lint_ctx *c)
{
	for (size_t s = 0; s < c->df->nstages; s++) {
		const berth_df_stage *st = &c->df->stages[s];
		const berth_df_instr *from = &c->df->instrs[st->from];
		lint_image img;
		int trusted = 0;

		if (!st->base || strcmp(st->base, "scratch") == 0 ||
		    berth_lint__stage_ref(c, st->base, s, NULL))
			continue;
		berth_lint__image_parse(&img, st->base);
		if (img.has_var)
			continue;
		if (strcmp(img.tag, "latest") == 0)
			berth_lint__emit(c, "BL003", from, NOPOS,
					 "Base image %s uses the 'latest' tag: pin a version (and "
					 "preferably a digest)",
					 st->base);
		else if (!img.tag[0] && !img.has_digest)
			berth_lint__emit(
				c, "BL003", from, NOPOS,
				"Base image %s has no tag: pin a version (and preferably a "
				"digest)",
				st->base);
		if (!img.has_digest)
			berth_lint__emit(c, "BL011", from, NOPOS,
					 "Base image %s is not pinned by digest (@sha256:...)",
					 st->base);
		for (size_t k = 0; k < c->cfg->ntrusted; k++) {
			const char *t = c->cfg->trusted[k];
			const char *reg = img.registry[0] ? img.registry : "docker.io";

			trusted |= strcmp(t, reg) == 0 || (t[0] == '*' && ends_with(reg, t + 1));
		}
		if (c->cfg->ntrusted > 0 && !trusted)
			berth_lint__emit(c, "BL004", from, NOPOS,
					 "Base image %s is not from a trusted registry", st->base);
	}
}

/* BL005: apt-get install with --no-install-recommends and the lists removed in the same RUN. */
static void apt_hygiene(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const lint_instr *li = &c->li[i];
		int update = 0, install = 0, norec = 1, removed = 0;

		for (size_t k = 0; li->has_script && k < li->script.ncmds; k++) {
			const lint_cmd *cmd = &li->script.cmds[k];

			if (berth_lint__cmd_is(cmd, "apt-get") || berth_lint__cmd_is(cmd, "apt")) {
				update |= berth_lint__cmd_has_arg(cmd, "update");
				if (berth_lint__cmd_has_arg(cmd, "install")) {
					install = 1;
					norec &= berth_lint__cmd_has_flag(cmd,
									  "no-install-recommends");
				}
			}
			removed |= berth_lint__cmd_is(cmd, "rm") &&
				   berth_lint__cmd_has_arg(cmd, "/var/lib/apt/lists/*");
		}
		if (install && !norec)
			berth_lint__emit(c, "BL005", li->in, NOPOS,
					 "apt-get install without --no-install-recommends");
		if (install && !removed)
			berth_lint__emit(c, "BL005", li->in, NOPOS,
					 "apt lists are not removed in the same RUN (rm -rf "
					 "/var/lib/apt/lists/*)");
		if (update && !install)
			berth_lint__emit(
				c, "BL005", li->in, NOPOS,
				"apt-get update without apt-get install in the same RUN: the "
				"cached layer goes stale");
	}
}

static int same_flags(const berth_df_instr *a, const berth_df_instr *b)
{
	if (a->nflags != b->nflags)
		return 0;
	for (size_t k = 0; k < a->nflags; k++)
		if (strcmp(a->flags[k].raw, b->flags[k].raw) != 0)
			return 0;
	return 1;
}

/* BL006: RUN directly after RUN (comments between allowed) with the same flags. */
static void combine_runs(lint_ctx *c)
{
	for (size_t i = 1; i < c->df->ninstrs; i++) {
		const berth_df_instr *a = &c->df->instrs[i - 1], *b = &c->df->instrs[i];

		if (a->kind == BERTH_DF_RUN && b->kind == BERTH_DF_RUN && a->stage == b->stage &&
		    same_flags(a, b))
			berth_lint__emit(
				c, "BL006", b, NOPOS,
				"RUN at line %u directly follows the RUN at line %u: combine "
				"them into one layer",
				b->pos.line, a->pos.line);
	}
}

static int installs_deps(const lint_cmd *cmd)
{
	const char *n = berth_lint__cmd_name(cmd);

	if (strcmp(n, "npm") == 0 || strcmp(n, "yarn") == 0 || strcmp(n, "pnpm") == 0)
		return berth_lint__cmd_has_arg(cmd, "ci") ||
		       berth_lint__cmd_has_arg(cmd, "install") ||
		       (strcmp(n, "yarn") == 0 && cmd->nwords == 1);
	if (strncmp(n, "pip", 3) == 0)
		return berth_lint__cmd_has_arg(cmd, "install") &&
		       (berth_lint__cmd_has_flag(cmd, "r") ||
			berth_lint__cmd_has_flag(cmd, "requirement"));
	if (strcmp(n, "go") == 0)
		return berth_lint__cmd_has_arg(cmd, "download");
	if (strcmp(n, "bundle") == 0 || strcmp(n, "composer") == 0 || strcmp(n, "poetry") == 0)
		return berth_lint__cmd_has_arg(cmd, "install");
	if (strcmp(n, "gradlew") == 0 || strcmp(n, "gradle") == 0)
		return berth_lint__cmd_has_arg(cmd, "dependencies");
	if (strcmp(n, "mvn") == 0 || strcmp(n, "mvnw") == 0)
		return berth_lint__cmd_has_arg(cmd, "dependency:go-offline") ||
		       berth_lint__cmd_has_arg(cmd, "dependency:resolve");
	if (strcmp(n, "cargo") == 0)
		return berth_lint__cmd_has_arg(cmd, "fetch");
	return 0;
}

static int copies_all(const berth_df_instr *in)
{
	if ((in->kind != BERTH_DF_COPY && in->kind != BERTH_DF_ADD) || berth_lint__flag(in, "from"))
		return 0;
	for (size_t k = 0; k + 1 < in->nargs; k++)
		if (strcmp(in->args[k].text, ".") == 0 || strcmp(in->args[k].text, "./") == 0)
			return 1;
	return 0;
}

/* BL007: dependencies installed after the whole context was copied. */
static void cache_order(lint_ctx *c)
{
	for (size_t s = 0; s < c->df->nstages; s++) {
		const berth_df_stage *st = &c->df->stages[s];
		const berth_df_instr *all = NULL;

		for (size_t i = st->first; i < st->end; i++) {
			const lint_instr *li = &c->li[i];

			if (!all && copies_all(li->in))
				all = li->in;
			for (size_t k = 0; all && li->has_script && k < li->script.ncmds; k++) {
				if (installs_deps(&li->script.cmds[k])) {
					berth_lint__emit(
						c, "BL007", li->in, NOPOS,
						"Dependencies are installed after COPY . (line "
						"%u): copy the dependency manifests and install "
						"them first so source edits keep the cached "
						"layer",
						all->pos.line);
					all = NULL; /* once per COPY . */
					break;
				}
			}
		}
	}
}

static int secret_file(const char *path)
{
	static const char *const names[] = {
		".npmrc", ".env",    "id_rsa",		 "id_dsa",	"id_ecdsa",  "id_ed25519",
		".netrc", ".pypirc", ".git-credentials", "credentials", ".htpasswd", NULL};
	static const char *const exts[] = {".pem", ".key", ".p12", ".pfx", NULL};
	const char *base = strrchr(path, '/');

	base = base && base[1] ? base + 1 : path;
	for (size_t i = 0; names[i]; i++)
		if (strcmp(base, names[i]) == 0)
			return 1;
	if (strncmp(base, ".env.", 5) == 0 && strcmp(base, ".env.example") != 0)
		return 1;
	for (size_t i = 0; exts[i]; i++)
		if (ends_with(base, exts[i]))
			return 1;
	return 0;
}

/* BL008: secret-looking files copied into a layer. */
static void secret_files(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->kind != BERTH_DF_COPY && in->kind != BERTH_DF_ADD)
			continue;
		for (size_t k = 0; k + 1 < in->nargs; k++)
			if (secret_file(in->args[k].text))
				berth_lint__emit(
					c, "BL008", in, in->args[k].pos,
					"%s copies secret-looking file '%s' into a layer: use "
					"RUN --mount=type=secret instead",
					berth_dockerfile_kind_name(in->kind), in->args[k].text);
	}
}

static const char *build_tool(const lint_cmd *cmd)
{
	static const char *const pkgs[] = {"build-essential", "gcc",	  "g++",       "make",
					   "cmake",	      "clang",	  "golang",    "maven",
					   "gradle",	      "musl-dev", "libc6-dev", "autoconf",
					   "automake",	      NULL};
	const char *n = berth_lint__cmd_name(cmd);

	if ((strcmp(n, "go") == 0 && berth_lint__cmd_has_arg(cmd, "build")) ||
	    (strcmp(n, "cargo") == 0 && berth_lint__cmd_has_arg(cmd, "build")) ||
	    (strcmp(n, "mvn") == 0 && berth_lint__cmd_has_arg(cmd, "package")) ||
	    ((strcmp(n, "gradlew") == 0 || strcmp(n, "gradle") == 0) &&
	     (berth_lint__cmd_has_arg(cmd, "build") || berth_lint__cmd_has_arg(cmd, "bootJar"))) ||
	    ((strcmp(n, "npm") == 0 || strcmp(n, "yarn") == 0) &&
	     berth_lint__cmd_has_arg(cmd, "build")))
		return cmd->words[0];
	if (!((strcmp(n, "apt-get") == 0 || strcmp(n, "apt") == 0 || strcmp(n, "yum") == 0 ||
	       strcmp(n, "dnf") == 0) &&
	      berth_lint__cmd_has_arg(cmd, "install")) &&
	    !(strcmp(n, "apk") == 0 && berth_lint__cmd_has_arg(cmd, "add")))
		return NULL;
	for (size_t i = 0; pkgs[i]; i++)
		for (size_t w = 1; w < cmd->nwords; w++)
			if (strncmp(cmd->words[w], pkgs[i], strlen(pkgs[i])) == 0 &&
			    (cmd->words[w][strlen(pkgs[i])] == '\0' ||
			     cmd->words[w][strlen(pkgs[i])] == '='))
				return pkgs[i];
	return NULL;
}

/* BL009: the final stage installs compilers or runs a build. */
static void build_tools(lint_ctx *c)
{
	const berth_df_stage *st = &c->df->stages[final_stage(c)];

	for (size_t i = st->first; i < st->end; i++) {
		const lint_instr *li = &c->li[i];

		for (size_t k = 0; li->has_script && k < li->script.ncmds; k++) {
			const char *tool = build_tool(&li->script.cmds[k]);

			if (tool) {
				berth_lint__emit(
					c, "BL009", li->in, NOPOS,
					"Final stage carries build tools (%s): build in an "
					"earlier stage and COPY --from only the result",
					tool);
				return;
			}
		}
	}
}

/* BL010: the context's .dockerignore exists and keeps .git and .env* out. */
static void dockerignore(lint_ctx *c)
{
	const berth_dockerignore *ign = c->cfg->dockerignore;
	static const char *const must[] = {".git", ".env", ".env.local", NULL};
	const berth_df_instr *first = c->df->ninstrs ? &c->df->instrs[0] : NULL;

	if (!c->cfg->context_known)
		return;
	if (!ign || !ign->source) {
		berth_lint__emit(c, "BL010", first, NOPOS,
				 "The build context has no .dockerignore: add one that excludes "
				 ".git and .env*");
		return;
	}
	for (size_t i = 0; must[i]; i++) {
		if (berth_dockerignore_excluded(ign, must[i], NULL) != 1) {
			berth_lint__emit(c, "BL010", first, NOPOS, "%s does not exclude %s",
					 ign->source, must[i]);
			if (strcmp(must[i], ".env") == 0)
				break; /* one finding for .env* */
		}
	}
}

static const char *const auto_args[] = {"BUILDPLATFORM", "BUILDOS",	   "BUILDARCH",
					"BUILDVARIANT",	 "TARGETPLATFORM", "TARGETOS",
					"TARGETARCH",	 "TARGETVARIANT",  NULL};

/* Line of the global ARG `name` (0 if none). */
static uint32_t global_arg(const lint_ctx *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->df->ninstrs && c->df->instrs[i].stage == BERTH_DF_NO_STAGE; i++)
		for (size_t k = 0;
		     c->df->instrs[i].kind == BERTH_DF_ARG && k < c->df->instrs[i].nkvs; k++)
			if (strlen(c->df->instrs[i].kvs[k].key) == len &&
			    strncmp(c->df->instrs[i].kvs[k].key, name, len) == 0)
				return c->df->instrs[i].pos.line;
	return 0;
}

static int is_auto_arg(const char *name, size_t len)
{
	for (size_t i = 0; auto_args[i]; i++)
		if (strlen(auto_args[i]) == len && strncmp(auto_args[i], name, len) == 0)
			return 1;
	return 0;
}

/* 1 if ARG or ENV `name` is declared in stage s before instruction `upto`. */
static int declared_in_stage(const lint_ctx *c, size_t s, size_t upto, const char *name, size_t len)
{
	const berth_df_stage *st = &c->df->stages[s];

	for (size_t i = st->first; i < upto; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		for (size_t k = 0;
		     (in->kind == BERTH_DF_ARG || in->kind == BERTH_DF_ENV) && k < in->nkvs; k++)
			if (strlen(in->kvs[k].key) == len &&
			    strncmp(in->kvs[k].key, name, len) == 0)
				return 1;
	}
	return 0;
}

/*
 * BL012: a RUN script uses $NAME where NAME is a global ARG (or one of the
 * automatic platform ARGs) that the stage never declares: BuildKit gives
 * the command no such variable, so it expands to nothing.
 */
static void global_args_in_run(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const lint_instr *li = &c->li[i];
		const char *p = li->script_text;

		if (!p || li->in->stage == BERTH_DF_NO_STAGE || li->in->kind != BERTH_DF_RUN)
			continue;
		for (p = strchr(p, '$'); p; p = strchr(p + 1, '$')) {
			const char *name = p[1] == '{' ? p + 2 : p + 1;
			size_t len = 0;
			uint32_t line;

			while (name[len] == '_' || (name[len] >= 'A' && name[len] <= 'Z') ||
			       (name[len] >= 'a' && name[len] <= 'z') ||
			       (len > 0 && name[len] >= '0' && name[len] <= '9'))
				len++;
			if (len == 0 || declared_in_stage(c, li->in->stage, i, name, len))
				continue;
			line = global_arg(c, name, len);
			if (line)
				berth_lint__emit(
					c, "BL012", li->in, NOPOS,
					"$%.*s is a global ARG (line %u) that this stage does "
					"not declare: it is empty here; add `ARG %.*s` after "
					"FROM",
					(int)len, name, line, (int)len, name);
			else if (is_auto_arg(name, len))
				berth_lint__emit(
					c, "BL012", li->in, NOPOS,
					"$%.*s is an automatic platform ARG that this stage "
					"does not declare: it is empty here; add `ARG %.*s` "
					"after FROM",
					(int)len, name, (int)len, name);
		}
	}
}

/*
 * BL013: a shell-form RUN in a stage whose base image has no shell
 * (scratch, distroless other than its :debug variants): the build fails
 * with "/bin/sh: no such file or directory".
 */
static void run_without_shell(lint_ctx *c)
{
	for (size_t s = 0; s < c->df->nstages; s++) {
		const berth_df_stage *st = &c->df->stages[s];
		const char *root = root_image(c, s);
		lint_image img;

		if (!shell_less(root))
			continue;
		berth_lint__image_parse(&img, root);
		if (strncmp(img.tag, "debug", 5) == 0 || strstr(img.tag, "-debug"))
			continue;
		for (size_t i = st->first; i < st->end; i++) {
			const berth_df_instr *in = &c->df->instrs[i];

			if (in->kind == BERTH_DF_RUN && in->form != BERTH_DF_FORM_JSON)
				berth_lint__emit(
					c, "BL013", in, NOPOS,
					"RUN needs /bin/sh, which base image %s does not have",
					root);
		}
	}
}

void berth_lint__berth(lint_ctx *c)
{
	global_args_in_run(c);
	run_without_shell(c);
	dockerignore(c);
	apt_hygiene(c);
	combine_runs(c);
	secret_files(c);
	if (c->df->nstages == 0)
		return;
	final_user_health(c);
	base_images(c);
	cache_order(c);
	build_tools(c);
}
