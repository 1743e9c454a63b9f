/*
 * plan.c - a parsed Dockerfile expanded for one build, and its stage graph
 * (BuildKit's dockerfile2llb: toDispatchState, dispatchArg/Env, the
 * instructions' Expand methods, hasCircularDependency, isReachable).
 *
 * Scoping: the global scope holds the automatic platform ARGs and the ARGs
 * declared before the first FROM; it is what FROM lines (image and
 * --platform) expand with. A stage starts empty: `ARG X` brings X in, with
 * the --build-arg value, else its default, else the global value of X.
 * ENV of the stage wins over an ARG of the same name. Expansion of one
 * instruction uses the scope from before it (ENV a=1 b=$a sees the old a).
 *
 * Graph: FROM <name> refers to an earlier stage (case-insensitive), else it
 * is an image; COPY --from=<name|index> and RUN --mount=...,from=<name> may
 * refer to any stage; an index out of range is an error, a name that is not
 * a stage is an image. Cycles are errors.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

typedef struct plan_impl {
	berth_df_plan pub;
	berth_pool pool;
} plan_impl;

static const char *const proxy_args[] = {"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
					 "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",    "no_proxy",
					 "ALL_PROXY",  "all_proxy",  NULL};

/* ---- platforms ---- */

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

int berth_df_platform_parse(const char *s, char *os, char *arch, char *variant)
{
	char parts[3][64] = {"", "", ""};
	size_t np = 0, k = 0;

	for (const char *p = s;; p++) {
		if (*p == '/' || !*p) {
			if (np >= 3 || k == 0)
				return berth_error_set(BERTH_EINVALID, "invalid platform \"%s\"",
						       s);
			parts[np++][k] = '\0';
			k = 0;
			if (!*p)
				break;
			continue;
		}
		if (k >= 63 || np >= 3)
			return berth_error_set(BERTH_EINVALID, "invalid platform \"%s\"", s);
		parts[np][k++] = *p;
	}
	for (size_t i = 0; i < np; i++)
		lower(parts[i]);
	if (np == 1) {
		/* "amd64" alone: an architecture on linux (containerd's Parse). */
		strcpy(os, "linux");
		strcpy(arch, parts[0]);
		variant[0] = '\0';
	} else {
		strcpy(os, parts[0]);
		strcpy(arch, parts[1]);
		strcpy(variant, np == 3 ? parts[2] : "");
	}
	if (strcmp(os, "macos") == 0)
		strcpy(os, "darwin");
	if (!strcmp(arch, "x86_64") || !strcmp(arch, "x86-64") || !strcmp(arch, "amd64")) {
		strcpy(arch, "amd64");
		if (!strcmp(variant, "v1"))
			variant[0] = '\0';
	} else if (!strcmp(arch, "aarch64") || !strcmp(arch, "arm64")) {
		strcpy(arch, "arm64");
		if (!strcmp(variant, "8") || !strcmp(variant, "v8"))
			variant[0] = '\0';
	} else if (!strcmp(arch, "armhf")) {
		strcpy(arch, "arm");
		strcpy(variant, "v7");
	} else if (!strcmp(arch, "armel")) {
		strcpy(arch, "arm");
		strcpy(variant, "v6");
	} else if (!strcmp(arch, "arm")) {
		if (!variant[0] || !strcmp(variant, "7"))
			strcpy(variant, "v7");
		else if (!strcmp(variant, "5") || !strcmp(variant, "6") || !strcmp(variant, "8")) {
			char v[8];

			snprintf(v, sizeof(v), "v%s", variant);
			strcpy(variant, v);
		}
	} else if (!strcmp(arch, "i386") || !strcmp(arch, "i686") || !strcmp(arch, "x86")) {
		strcpy(arch, "386");
	}
	return 0;
}

static int platform_args(berth_df_vars *v, const char *prefix, const char *spec)
{
	char os[64], arch[64], variant[64], full[200], name[32];
	int rc;

	if ((rc = berth_df_platform_parse(spec, os, arch, variant)) < 0)
		return rc;
	snprintf(full, sizeof(full), "%s/%s%s%s", os, arch, variant[0] ? "/" : "", variant);
	snprintf(name, sizeof(name), "%sPLATFORM", prefix);
	if ((rc = berth_df_vars_set(v, name, full)) < 0)
		return rc;
	snprintf(name, sizeof(name), "%sOS", prefix);
	if ((rc = berth_df_vars_set(v, name, os)) < 0)
		return rc;
	snprintf(name, sizeof(name), "%sARCH", prefix);
	if ((rc = berth_df_vars_set(v, name, arch)) < 0)
		return rc;
	snprintf(name, sizeof(name), "%sVARIANT", prefix);
	return berth_df_vars_set(v, name, variant);
}

static const char *host_platform(char *buf, size_t n)
{
	struct utsname u;

	if (uname(&u) != 0)
		return "linux/amd64";
	snprintf(buf, n, "linux/%s", u.machine);
	return buf;
}

/* ---- the working state ---- */

typedef struct pstate {
	plan_impl *impl;
	const berth_dockerfile *df;
	const berth_df_build_opts *opts;
	berth_df_error *err;
	berth_df_vars global; /* builtins + global ARGs */
	berth_df_lex_opts lex;
	/* per stage */
	berth_df_vars env, args, scope;
} pstate;

static char *pdup(pstate *ps, const char *s)
{
	return berth_pool_strdup(&ps->impl->pool, s ? s : "");
}

static int oom(void)
{
	return berth_error_set(BERTH_ERROR, "out of memory");
}

static bool is_proxy(const char *name)
{
	for (size_t i = 0; proxy_args[i]; i++)
		if (strcmp(proxy_args[i], name) == 0)
			return true;
	return false;
}

/* Record the unset names of an expansion on x (unique). */
static int add_unmatched(pstate *ps, berth_df_xinstr *x, const berth_df_expansion *e)
{
	for (size_t i = 0; i < e->nunmatched; i++) {
		bool seen = false;
		char **p;

		for (size_t k = 0; k < x->nunmatched; k++)
			seen |= strcmp(x->unmatched[k], e->unmatched[i]) == 0;
		if (seen)
			continue;
		p = realloc(x->unmatched, (x->nunmatched + 1) * sizeof(*p));
		if (!p)
			return oom();
		x->unmatched = p;
		if (!(x->unmatched[x->nunmatched] = strdup(e->unmatched[i])))
			return oom();
		x->nunmatched++;
	}
	return 0;
}

/* Expand one word for instruction `in`; errors are positioned at `pos`. */
static int expand(pstate *ps, berth_df_xinstr *x, const berth_df_vars *env, const char *word,
		  berth_df_pos pos, bool skip_quotes, berth_df_expansion *out)
{
	berth_df_lex_opts o = ps->lex;
	int rc;

	o.skip_quotes = skip_quotes;
	if ((rc = berth_df_expand(out, word, env, &o)) < 0) {
		char m[512];

		snprintf(m, sizeof(m), "%s", berth_error_last());
		return berth_dockerfile__fail(ps->df, ps->err, rc, pos, "%s", m);
	}
	if (x && (rc = add_unmatched(ps, x, out)) < 0) {
		berth_df_expansion_dispose(out);
		return rc;
	}
	return 0;
}

static int expand_str(pstate *ps, berth_df_xinstr *x, const berth_df_vars *env, const char *word,
		      berth_df_pos pos, char **out)
{
	berth_df_expansion e;
	int rc;

	*out = NULL;
	if ((rc = expand(ps, x, env, word, pos, false, &e)) < 0)
		return rc;
	*out = pdup(ps, e.word);
	berth_df_expansion_dispose(&e);
	return *out ? 0 : oom();
}

/* COPY/ADD "<<EOF" sources name heredocs: BuildKit does not expand them. */
static bool is_heredoc_word(const berth_df_xinstr *x, const char *w)
{
	for (size_t i = 0; i < x->src->nheredocs; i++)
		if (strcmp(x->src->heredocs[i].word, w) == 0)
			return true;
	return false;
}

/* Words of x: parsed words unchanged, or each expanded (EXPOSE: split too). */
static int xwords(pstate *ps, berth_df_xinstr *x, const berth_df_vars *env, bool do_expand,
		  bool split)
{
	const berth_df_instr *in = x->src;
	char **w = NULL;
	size_t n = 0, cap = in->nargs;
	int rc;

	if (!in->nargs)
		return 0;
	w = berth_pool_alloc(&ps->impl->pool, cap * sizeof(*w));
	if (!w)
		return oom();
	for (size_t i = 0; i < in->nargs; i++) {
		berth_df_expansion e;

		if (!do_expand || is_heredoc_word(x, in->args[i].text)) {
			w[n++] = in->args[i].text;
			continue;
		}
		if ((rc = expand(ps, x, env, in->args[i].text, in->args[i].pos, false, &e)) < 0)
			return rc;
		if (split) {
			if (n + e.nwords > cap) {
				char **p = berth_pool_alloc(
					&ps->impl->pool, (n + e.nwords + in->nargs) * sizeof(*p));

				if (!p) {
					berth_df_expansion_dispose(&e);
					return oom();
				}
				memcpy(p, w, n * sizeof(*p));
				w = p;
				cap = n + e.nwords + in->nargs;
			}
			for (size_t k = 0; k < e.nwords; k++)
				if (!(w[n++] = pdup(ps, e.words[k]))) {
					berth_df_expansion_dispose(&e);
					return oom();
				}
		} else if (!(w[n++] = pdup(ps, e.word))) {
			berth_df_expansion_dispose(&e);
			return oom();
		}
		berth_df_expansion_dispose(&e);
	}
	x->words = w;
	x->nwords = n;
	return 0;
}

static bool flag_expands(berth_df_kind k, const char *name)
{
	switch (k) {
	case BERTH_DF_COPY:
		return !strcmp(name, "from") || !strcmp(name, "chown") || !strcmp(name, "chmod") ||
		       !strcmp(name, "exclude");
	case BERTH_DF_ADD:
		return !strcmp(name, "chown") || !strcmp(name, "chmod") ||
		       !strcmp(name, "checksum") || !strcmp(name, "exclude");
	case BERTH_DF_RUN: return !strcmp(name, "mount");
	case BERTH_DF_FROM: return !strcmp(name, "platform");
	default: return false;
	}
}

static int xflags(pstate *ps, berth_df_xinstr *x, const berth_df_vars *env)
{
	const berth_df_instr *in = x->src;
	int rc;

	if (!in->nflags)
		return 0;
	x->flags = berth_pool_alloc(&ps->impl->pool, in->nflags * sizeof(*x->flags));
	if (!x->flags)
		return oom();
	x->nflags = in->nflags;
	for (size_t i = 0; i < in->nflags; i++) {
		berth_df_flag *f = &x->flags[i];

		*f = in->flags[i];
		if (f->value && flag_expands(in->kind, f->name)) {
			if ((rc = expand_str(ps, x, env, in->flags[i].value, f->pos, &f->value)) <
			    0)
				return rc;
			f->raw = berth_pool_printf(&ps->impl->pool, "--%s=%s", f->name, f->value);
			if (!f->raw)
				return oom();
		}
	}
	return 0;
}

static int xheredocs(pstate *ps, berth_df_xinstr *x, const berth_df_vars *env)
{
	const berth_df_instr *in = x->src;
	int rc;

	if (!in->nheredocs)
		return 0;
	x->heredoc_bodies = berth_pool_alloc(&ps->impl->pool, in->nheredocs * sizeof(char *));
	if (!x->heredoc_bodies)
		return oom();
	for (size_t i = 0; i < in->nheredocs; i++) {
		const berth_df_heredoc *h = &in->heredocs[i];
		char *body;
		berth_df_expansion e;

		if ((rc = berth_df_heredoc_content(&body, NULL, h)) < 0)
			return rc;
		if (in->kind != BERTH_DF_RUN && h->expand) {
			/* BuildKit expands COPY/ADD heredoc files without processing quotes. */
			rc = expand(ps, x, env, body, (berth_df_pos){h->start_line, 1}, true, &e);
			free(body);
			if (rc < 0)
				return rc;
			x->heredoc_bodies[i] = pdup(ps, e.word);
			berth_df_expansion_dispose(&e);
		} else {
			x->heredoc_bodies[i] = pdup(ps, body);
			free(body);
		}
		if (!x->heredoc_bodies[i])
			return oom();
	}
	return 0;
}

/* ENV a=1 b=$a: all pairs expanded with the scope from before the instruction. */
static int xkvs(pstate *ps, berth_df_xinstr *x, const berth_df_vars *env, bool keys)
{
	const berth_df_instr *in = x->src;
	int rc;

	if (!in->nkvs)
		return 0;
	x->kvs = berth_pool_alloc(&ps->impl->pool, in->nkvs * sizeof(*x->kvs));
	if (!x->kvs)
		return oom();
	x->nkvs = in->nkvs;
	for (size_t i = 0; i < in->nkvs; i++) {
		berth_df_kv *kv = &x->kvs[i];

		*kv = in->kvs[i];
		if (keys && (rc = expand_str(ps, x, env, in->kvs[i].key, kv->pos, &kv->key)) < 0)
			return rc;
		if (kv->has_value &&
		    (rc = expand_str(ps, x, env, in->kvs[i].value, kv->pos, &kv->value)) < 0)
			return rc;
	}
	return 0;
}

static int scope_set(pstate *ps, const char *k, const char *v, bool is_env)
{
	int rc;

	if (is_env) {
		if ((rc = berth_df_vars_set(&ps->env, k, v)) < 0)
			return rc;
		return berth_df_vars_set(&ps->scope, k, v);
	}
	if ((rc = berth_df_vars_set(&ps->args, k, v)) < 0)
		return rc;
	if (berth_df_vars_get(&ps->env, k))
		return 0;
	return berth_df_vars_set(&ps->scope, k, v);
}

/* ARG in a stage (or global when `global`): effective values and scope. */
static int do_arg(pstate *ps, berth_df_xinstr *x, bool global)
{
	const berth_df_vars *bargs = ps->opts ? ps->opts->build_args : NULL;
	int rc;

	if ((rc = xkvs(ps, x, global ? &ps->global : &ps->scope, false)) < 0)
		return rc;
	for (size_t i = 0; i < x->nkvs; i++) {
		berth_df_kv *kv = &x->kvs[i];
		const char *b = berth_df_vars_get(bargs, kv->key);

		if (!kv->has_value && !global) {
			const char *g = berth_df_vars_get(&ps->global, kv->key);

			if (g) {
				kv->value = pdup(ps, g);
				kv->has_value = 1;
			}
		}
		if (b) {
			kv->value = pdup(ps, b);
			kv->has_value = 1;
		}
		if (!kv->value)
			return oom();
		if (!kv->has_value)
			continue;
		rc = global ? berth_df_vars_set(&ps->global, kv->key, kv->value)
			    : scope_set(ps, kv->key, kv->value, false);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int run_env(pstate *ps, berth_df_xinstr *x)
{
	const berth_df_vars *bargs = ps->opts ? ps->opts->build_args : NULL;
	int rc;

	if ((rc = berth_df_vars_copy(&x->env, &ps->env)) < 0)
		return rc;
	for (size_t i = 0; i < ps->args.n; i++)
		if (!berth_df_vars_get(&ps->env, ps->args.items[i].name) &&
		    (rc = berth_df_vars_set(&x->env, ps->args.items[i].name,
					    ps->args.items[i].value)) < 0)
			return rc;
	for (size_t i = 0; bargs && i < bargs->n; i++)
		if (is_proxy(bargs->items[i].name) &&
		    !berth_df_vars_get(&x->env, bargs->items[i].name) &&
		    (rc = berth_df_vars_set(&x->env, bargs->items[i].name, bargs->items[i].value)) <
			    0)
			return rc;
	return 0;
}

static int do_instr(pstate *ps, berth_df_xinstr *x)
{
	const berth_df_instr *in = x->src;
	int rc;

	x->expanded = berth_dockerfile_kind_expands(in->kind);
	if ((rc = xflags(ps, x, &ps->scope)) < 0)
		return rc;
	switch (in->kind) {
	case BERTH_DF_ARG: return do_arg(ps, x, false);
	case BERTH_DF_ENV:
		if ((rc = xkvs(ps, x, &ps->scope, true)) < 0)
			return rc;
		for (size_t i = 0; i < x->nkvs; i++)
			if ((rc = scope_set(ps, x->kvs[i].key, x->kvs[i].value, true)) < 0)
				return rc;
		return 0;
	case BERTH_DF_LABEL: return xkvs(ps, x, &ps->scope, true);
	case BERTH_DF_EXPOSE: return xwords(ps, x, &ps->scope, true, true);
	case BERTH_DF_ADD:
	case BERTH_DF_COPY:
		if ((rc = xheredocs(ps, x, &ps->scope)) < 0)
			return rc;
		return xwords(ps, x, &ps->scope, true, false);
	case BERTH_DF_RUN:
		if ((rc = xheredocs(ps, x, &ps->scope)) < 0 ||
		    (rc = xwords(ps, x, &ps->scope, false, false)) < 0)
			return rc;
		return run_env(ps, x);
	default: return xwords(ps, x, &ps->scope, x->expanded, false);
	}
}

/* ---- the graph ---- */

static int add_dep(pstate *ps, berth_df_xstage *s, size_t dep)
{
	size_t *p;

	for (size_t i = 0; i < s->ndeps; i++)
		if (s->deps[i] == dep)
			return 0;
	p = berth_pool_alloc(&ps->impl->pool, (s->ndeps + 1) * sizeof(*p));
	if (!p)
		return oom();
	/* keep sorted */
	size_t k = 0;

	while (k < s->ndeps && s->deps[k] < dep) {
		p[k] = s->deps[k];
		k++;
	}
	p[k] = dep;
	for (; k < s->ndeps; k++)
		p[k + 1] = s->deps[k];
	s->deps = p;
	s->ndeps++;
	return 0;
}

static int add_image(pstate *ps, berth_df_xstage *s, const char *img)
{
	char **p;

	for (size_t i = 0; i < s->nimages; i++)
		if (strcmp(s->images[i], img) == 0)
			return 0;
	p = berth_pool_alloc(&ps->impl->pool, (s->nimages + 1) * sizeof(*p));
	if (!p)
		return oom();
	if (s->nimages)
		memcpy(p, s->images, s->nimages * sizeof(*p));
	if (!(p[s->nimages] = pdup(ps, img)))
		return oom();
	s->images = p;
	s->nimages++;
	return 0;
}

/* The last stage with this name (BuildKit's statesByName keeps the last one). */
static size_t stage_named(const berth_dockerfile *df, const char *name, size_t before)
{
	size_t r = SIZE_MAX;

	for (size_t i = 0; i < df->nstages && i < before; i++)
		if (df->stages[i].name && strcasecmp(df->stages[i].name, name) == 0)
			r = i;
	return r;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* from= of a --mount spec (CSV of key=value; quotes around a field are dropped). */
static char *mount_from(const char *spec)
{
	const char *p = spec;

	while (*p) {
		const char *e = p;
		char q = 0;

		while (*e && (q || *e != ',')) {
			if ((*e == '"' || *e == '\'') && (!q || q == *e))
				q = q ? 0 : *e;
			e++;
		}
		if ((size_t)(e - p) > 5 && strncasecmp(p + (*p == '"'), "from=", 5) == 0) {
			const char *v = p + (*p == '"') + 5;
			size_t n = (size_t)(e - v);

			if (n && v[n - 1] == '"')
				n--;
			return strndup(v, n);
		}
		p = *e ? e + 1 : e;
	}
	return NULL;
}

static int stage_deps(pstate *ps, berth_df_xstage *s)
{
	const berth_dockerfile *df = ps->df;
	int rc;

	for (size_t i = 0; i < s->ninstrs; i++) {
		berth_df_xinstr *x = &s->instrs[i];

		for (size_t k = 0; k < x->nflags; k++) {
			const berth_df_flag *f = &x->flags[k];
			char *from = NULL;
			size_t idx;

			if (x->src->kind == BERTH_DF_COPY && !strcmp(f->name, "from") && f->value)
				from = strdup(f->value);
			else if (x->src->kind == BERTH_DF_RUN && !strcmp(f->name, "mount") &&
				 f->value)
				from = mount_from(f->value);
			if (!from)
				continue;
			if (x->src->kind == BERTH_DF_COPY && all_digits(from)) {
				unsigned long v = strtoul(from, NULL, 10);

				if (v >= df->nstages) {
					rc = berth_dockerfile__fail(df, ps->err, BERTH_EINVALID,
								    f->pos,
								    "invalid stage index %s", from);
					free(from);
					return rc;
				}
				rc = add_dep(ps, s, (size_t)v);
				x->reads_stage = 1;
			} else if ((idx = stage_named(df, from, SIZE_MAX)) != SIZE_MAX) {
				rc = add_dep(ps, s, idx);
				x->reads_stage = 1;
			} else {
				rc = add_image(ps, s, from);
			}
			free(from);
			if (rc < 0)
				return rc;
		}
	}
	return 0;
}

/* hasCircularDependency: DFS over COPY/mount deps; reports the outer stage. */
static bool cyclic(const berth_df_plan *p, size_t at, unsigned char *mark)
{
	mark[at] = 1;
	for (size_t i = 0; i < p->stages[at].ndeps; i++) {
		size_t d = p->stages[at].deps[i];

		if (d == p->stages[at].base_stage)
			continue;
		if (mark[d] == 1 || (mark[d] == 0 && cyclic(p, d, mark)))
			return true;
	}
	mark[at] = 2;
	return false;
}

static int check_cycles(pstate *ps)
{
	berth_df_plan *p = &ps->impl->pub;
	unsigned char *mark = calloc(p->nstages ? p->nstages : 1, 1);
	int rc = 0;

	if (!mark)
		return oom();
	for (size_t i = 0; i < p->nstages && !rc; i++) {
		memset(mark, 0, p->nstages);
		if (cyclic(p, i, mark)) {
			const berth_df_stage *st = p->stages[i].src;
			char nm[64];

			snprintf(nm, sizeof(nm), "stage-%zu", i);
			rc = berth_dockerfile__fail(ps->df, ps->err, BERTH_EINVALID,
						    ps->df->instrs[st->from].pos,
						    "circular dependency detected on stage: %s",
						    st->name ? st->name : nm);
		}
	}
	free(mark);
	return rc;
}

static void mark_needed(berth_df_plan *p, size_t at)
{
	if (p->stages[at].needed)
		return;
	p->stages[at].needed = 1;
	if (p->stages[at].base_stage != BERTH_DF_NO_STAGE)
		mark_needed(p, p->stages[at].base_stage);
	for (size_t i = 0; i < p->stages[at].ndeps; i++)
		mark_needed(p, p->stages[at].deps[i]);
}

/* ---- stages ---- */

static int do_stage(pstate *ps, size_t si)
{
	const berth_dockerfile *df = ps->df;
	const berth_df_stage *st = &df->stages[si];
	const berth_df_instr *from = &df->instrs[st->from];
	berth_df_xstage *xs = &ps->impl->pub.stages[si];
	const berth_df_flag *pf = berth_dockerfile_flag(from, "platform");
	int rc;

	xs->index = si;
	xs->src = st;
	xs->base_stage = BERTH_DF_NO_STAGE;
	if ((rc = expand_str(ps, NULL, &ps->global, st->base, from->args[0].pos, &xs->base)) < 0)
		return rc;
	if (pf && pf->value &&
	    (rc = expand_str(ps, NULL, &ps->global, pf->value, pf->pos, &xs->platform)) < 0)
		return rc;
	if ((xs->base_stage = stage_named(df, xs->base, si)) != BERTH_DF_NO_STAGE &&
	    (rc = add_dep(ps, xs, xs->base_stage)) < 0)
		return rc;
	berth_df_vars_dispose(&ps->env);
	berth_df_vars_dispose(&ps->args);
	berth_df_vars_dispose(&ps->scope);
	xs->ninstrs = st->end - st->first;
	if (xs->ninstrs) {
		xs->instrs = berth_pool_alloc(&ps->impl->pool, xs->ninstrs * sizeof(*xs->instrs));
		if (!xs->instrs)
			return oom();
		memset(xs->instrs, 0, xs->ninstrs * sizeof(*xs->instrs));
	}
	for (size_t i = 0; i < xs->ninstrs; i++) {
		xs->instrs[i].src = &df->instrs[st->first + i];
		if ((rc = do_instr(ps, &xs->instrs[i])) < 0)
			return rc;
	}
	if ((rc = berth_df_vars_copy(&xs->args, &ps->args)) < 0 ||
	    (rc = berth_df_vars_copy(&xs->env, &ps->env)) < 0)
		return rc;
	return stage_deps(ps, xs);
}

static int do_global(pstate *ps)
{
	const berth_dockerfile *df = ps->df;
	berth_df_plan *p = &ps->impl->pub;
	char host[128];
	const char *bp, *tp;
	int rc;

	bp = ps->opts && ps->opts->build_platform ? ps->opts->build_platform
						  : host_platform(host, sizeof(host));
	tp = ps->opts && ps->opts->target_platform ? ps->opts->target_platform : bp;
	if ((rc = platform_args(&p->builtin_args, "BUILD", bp)) < 0 ||
	    (rc = platform_args(&p->builtin_args, "TARGET", tp)) < 0 ||
	    (rc = berth_df_vars_copy(&ps->global, &p->builtin_args)) < 0)
		return rc;
	for (size_t i = 0; i < df->ninstrs && df->instrs[i].stage == BERTH_DF_NO_STAGE; i++)
		p->nglobal += df->instrs[i].kind == BERTH_DF_ARG;
	if (p->nglobal) {
		p->global = berth_pool_alloc(&ps->impl->pool, p->nglobal * sizeof(*p->global));
		if (!p->global)
			return oom();
		memset(p->global, 0, p->nglobal * sizeof(*p->global));
	}
	for (size_t i = 0, g = 0; g < p->nglobal; i++) {
		if (df->instrs[i].kind != BERTH_DF_ARG)
			continue;
		p->global[g].src = &df->instrs[i];
		p->global[g].expanded = 1;
		if ((rc = do_arg(ps, &p->global[g++], true)) < 0)
			return rc;
		for (size_t k = 0; k < p->global[g - 1].nkvs; k++) {
			const berth_df_kv *kv = &p->global[g - 1].kvs[k];

			if (kv->has_value &&
			    (rc = berth_df_vars_set(&p->global_args, kv->key, kv->value)) < 0)
				return rc;
		}
	}
	return 0;
}

static bool declared(const berth_dockerfile *df, const char *name)
{
	for (size_t i = 0; i < df->ninstrs; i++)
		for (size_t k = 0; df->instrs[i].kind == BERTH_DF_ARG && k < df->instrs[i].nkvs;
		     k++)
			if (strcmp(df->instrs[i].kvs[k].key, name) == 0)
				return true;
	return false;
}

static int unused_args(pstate *ps)
{
	const berth_df_vars *b = ps->opts ? ps->opts->build_args : NULL;
	berth_df_plan *p = &ps->impl->pub;

	for (size_t i = 0; b && i < b->n; i++) {
		const char *n = b->items[i].name;
		char **q;

		if (declared(ps->df, n) || is_proxy(n) || berth_df_vars_get(&p->builtin_args, n))
			continue;
		q = berth_pool_alloc(&ps->impl->pool, (p->nunused_build_args + 1) * sizeof(*q));
		if (!q)
			return oom();
		if (p->nunused_build_args)
			memcpy(q, p->unused_build_args, p->nunused_build_args * sizeof(*q));
		if (!(q[p->nunused_build_args] = pdup(ps, n)))
			return oom();
		p->unused_build_args = q;
		p->nunused_build_args++;
	}
	return 0;
}

static int find_target(pstate *ps)
{
	berth_df_plan *p = &ps->impl->pub;
	const char *t = ps->opts ? ps->opts->target : NULL;
	size_t idx;

	if (!p->nstages)
		return berth_dockerfile__fail(ps->df, ps->err, BERTH_EINVALID, (berth_df_pos){0, 0},
					      "no build stage (FROM) in the file");
	if (!t || !*t) {
		p->target = p->nstages - 1;
		return 0;
	}
	if ((idx = stage_named(ps->df, t, SIZE_MAX)) == SIZE_MAX)
		return berth_dockerfile__fail(ps->df, ps->err, BERTH_ENOTFOUND,
					      (berth_df_pos){0, 0},
					      "target stage %s could not be found", t);
	p->target = idx;
	return 0;
}

int berth_dockerfile_plan(berth_df_plan **out, const berth_dockerfile *df,
			  const berth_df_build_opts *opts, berth_df_error *err)
{
	plan_impl *impl = calloc(1, sizeof(*impl));
	pstate ps = {0};
	int rc;

	*out = NULL;
	if (err)
		memset(err, 0, sizeof(*err));
	if (!impl)
		return oom();
	berth_pool_init(&impl->pool);
	ps.impl = impl;
	ps.df = df;
	ps.opts = opts;
	ps.err = err;
	ps.lex.escape = df->escape;
	if ((rc = berth_dockerfile_check(df, err)) < 0 || (rc = do_global(&ps)) < 0)
		goto done;
	impl->pub.nstages = df->nstages;
	if (df->nstages) {
		impl->pub.stages =
			berth_pool_alloc(&impl->pool, df->nstages * sizeof(berth_df_xstage));
		if (!impl->pub.stages) {
			rc = oom();
			goto done;
		}
		memset(impl->pub.stages, 0, df->nstages * sizeof(berth_df_xstage));
	}
	for (size_t i = 0; i < df->nstages; i++)
		if ((rc = do_stage(&ps, i)) < 0)
			goto done;
	if ((rc = check_cycles(&ps)) < 0 || (rc = find_target(&ps)) < 0 ||
	    (rc = unused_args(&ps)) < 0)
		goto done;
	mark_needed(&impl->pub, impl->pub.target);
	*out = &impl->pub;
	/* now owned by the caller */ impl = NULL;
done:
	berth_df_vars_dispose(&ps.global);
	berth_df_vars_dispose(&ps.env);
	berth_df_vars_dispose(&ps.args);
	berth_df_vars_dispose(&ps.scope);
	if (impl)
		berth_df_plan_free(&impl->pub);
	return rc;
}

static void xinstr_dispose(berth_df_xinstr *x)
{
	for (size_t i = 0; i < x->nunmatched; i++)
		free(x->unmatched[i]);
	free(x->unmatched);
	berth_df_vars_dispose(&x->env);
}

void berth_df_plan_free(berth_df_plan *p)
{
	plan_impl *impl = (plan_impl *)p;

	if (!p)
		return;
	for (size_t i = 0; i < p->nglobal; i++)
		xinstr_dispose(&p->global[i]);
	for (size_t s = 0; p->stages && s < p->nstages; s++) {
		for (size_t i = 0; i < p->stages[s].ninstrs; i++)
			xinstr_dispose(&p->stages[s].instrs[i]);
		berth_df_vars_dispose(&p->stages[s].args);
		berth_df_vars_dispose(&p->stages[s].env);
	}
	berth_df_vars_dispose(&p->global_args);
	berth_df_vars_dispose(&p->builtin_args);
	berth_pool_dispose(&impl->pool);
	free(impl);
}

int berth_dockerfile_stage_find(const berth_dockerfile *df, const char *ref, size_t *index)
{
	size_t i;

	if (all_digits(ref)) {
		unsigned long v = strtoul(ref, NULL, 10);

		if (v >= df->nstages)
			return berth_error_set(BERTH_EINVALID, "invalid stage index %s", ref);
		*index = (size_t)v;
		return 0;
	}
	if ((i = stage_named(df, ref, SIZE_MAX)) == SIZE_MAX)
		return berth_error_set(BERTH_ENOTFOUND, "no stage named %s", ref);
	*index = i;
	return 0;
}
