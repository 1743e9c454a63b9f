/*
 * lint_outline.c - the data of BuildKit's `--call outline` and `--call
 * targets` subrequests, from a parsed file and without building, with
 * BuildKit's rules (frontend/dockerfile/dockerfile2llb outline.go and
 * instructions.getComment):
 *   targets   every stage: lower-case name, base and --platform as written,
 *             the description from the comment line above FROM that starts
 *             with the stage's name, the last stage the default;
 *   args      for the target and the stages it needs (FROM <stage>, COPY
 *             --from, RUN --mount from=): every ARG the stages declare, and
 *             the global ARGs their FROM lines use, with the global ARGs
 *             those defaults use; one entry per name, the target's first,
 *             sorted by line; values are the --build-arg, else the expanded
 *             default;
 *   secrets   RUN --mount=type=secret ids (default: the target's base name)
 *   ssh       RUN --mount=type=ssh ids (default "default").
 * `berth build --call` prints these (lint_call.c); `--call check` is
 * berth_lint_run with buildkit_only.
 */
#include "lint_internal.h"

#include "util/array.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* BuildKit's getComment: the first comment line "NAME rest" gives "rest". */
static int description(char **out, const berth_df_instr *in, const char *name)
{
	size_t n = name ? strlen(name) : 0;

	*out = NULL;
	for (size_t i = 0; n && i < in->ncomments; i++) {
		const char *c = in->comments[i];

		if (strncmp(c, name, n) == 0 && c[n] == ' ')
			return (*out = strdup(c + n + 1)) ? 0 : BERTH_ERROR;
	}
	return 0;
}

static int stage_find(const berth_dockerfile *df, const char *ref, size_t before, size_t *out)
{
	char *end;
	unsigned long v;

	for (size_t i = 0; i < before; i++)
		if (df->stages[i].name && strcasecmp(df->stages[i].name, ref) == 0)
			return *out = i, 1;
	v = strtoul(ref, &end, 10);
	if (end != ref && *end == '\0' && v < before)
		return *out = v, 1;
	return 0;
}

/* The value of `key` in a mount spec "type=secret,id=x,required" (borrowed span). */
static int mount_field(const char *spec, const char *key, const char **v, size_t *vlen)
{
	size_t kl = strlen(key);

	while (*spec) {
		size_t n = strcspn(spec, ",");

		if (n >= kl && strncasecmp(spec, key, kl) == 0 && (n == kl || spec[kl] == '=')) {
			*v = n == kl ? spec + n : spec + kl + 1;
			*vlen = n == kl ? 0 : n - kl - 1;
			return 1;
		}
		spec += n + (spec[n] == ',');
	}
	return 0;
}

static int mount_is(const char *spec, const char *type)
{
	const char *v;
	size_t n;

	return mount_field(spec, "type", &v, &n) && n == strlen(type) &&
	       strncasecmp(v, type, n) == 0;
}

/* The stages stage `s` depends on, in order: FROM <stage>, then --from / from= references. */
static size_t deps_of(const berth_dockerfile *df, size_t s, size_t *out, size_t cap)
{
	const berth_df_stage *st = &df->stages[s];
	size_t n = 0, dep;

	if (st->base && stage_find(df, st->base, s, &dep))
		out[n++] = dep;
	for (size_t i = st->first; i < st->end && n < cap; i++) {
		const berth_df_instr *in = &df->instrs[i];

		for (size_t f = 0; f < in->nflags && n < cap; f++) {
			const char *v = in->flags[f].value, *from;
			size_t len;
			char ref[256];

			if (!v)
				continue;
			if (strcasecmp(in->flags[f].name, "from") == 0) {
				if (stage_find(df, v, s, &dep))
					out[n++] = dep;
			} else if (strcasecmp(in->flags[f].name, "mount") == 0 &&
				   mount_field(v, "from", &from, &len) && len < sizeof(ref)) {
				memcpy(ref, from, len);
				ref[len] = '\0';
				if (stage_find(df, ref, s, &dep))
					out[n++] = dep;
			}
		}
	}
	return n;
}

/* ---- global ARGs ---- */

typedef struct garg {
	const berth_df_instr *in;
	const berth_df_kv *kv;
	char *value; /* NULL when none */
	char **deps; /* global names its default used */
	size_t ndeps;
} garg;

typedef struct octx {
	const berth_dockerfile *df;
	const berth_df_vars *build_args;
	garg *g;
	size_t ng;
	berth_df_vars genv; /* every global ARG ("" when unset): what FROM lines see */
	berth_lint_outline *o;
	size_t acap, scap, hcap;
	unsigned char *seen; /* stages visited */
} octx;

static const garg *global_find(const octx *x, const char *name)
{
	for (size_t i = x->ng; i-- > 0;)
		if (strcmp(x->g[i].kv->key, name) == 0)
			return &x->g[i];
	return NULL;
}

static int expand(berth_df_expansion *e, const octx *x, const char *word, const berth_df_vars *env)
{
	berth_df_lex_opts lo = {x->df->escape, 0, 0, 0, 0};

	memset(e, 0, sizeof(*e));
	return berth_df_expand(e, word, env, &lo);
}

static int globals(octx *x)
{
	const berth_dockerfile *df = x->df;
	size_t cap = 0;

	for (size_t i = 0; i < df->ninstrs && df->instrs[i].stage == BERTH_DF_NO_STAGE; i++) {
		const berth_df_instr *in = &df->instrs[i];

		for (size_t k = 0; in->kind == BERTH_DF_ARG && k < in->nkvs; k++) {
			const berth_df_kv *kv = &in->kvs[k];
			const char *ba =
				x->build_args ? berth_df_vars_get(x->build_args, kv->key) : NULL;
			garg *room = berth_array_room(x->g, x->ng, &cap, sizeof(*room));
			berth_df_expansion e;

			if (!room)
				return BERTH_ERROR;
			x->g = room;
			memset(&room[x->ng], 0, sizeof(*room));
			room[x->ng].in = in;
			room[x->ng].kv = kv;
			if (ba) {
				room[x->ng].value = strdup(ba);
			} else if (kv->has_value) {
				if (expand(&e, x, kv->value, &x->genv) < 0)
					return berth_error_last_code();
				room[x->ng].value = e.word;
				room[x->ng].deps = e.matched;
				room[x->ng].ndeps = e.nmatched;
				e.word = NULL;
				e.matched = NULL;
				e.nmatched = 0;
				berth_df_expansion_dispose(&e);
			}
			x->ng++;
			if ((room[x->ng - 1].value == NULL && (ba || kv->has_value)) ||
			    berth_df_vars_set(&x->genv, kv->key,
					      room[x->ng - 1].value ? room[x->ng - 1].value : "") <
				    0)
				return BERTH_ERROR;
		}
	}
	return 0;
}

/* ---- collecting ---- */

static int has_arg(const berth_lint_outline *o, const char *name)
{
	for (size_t i = 0; i < o->nargs; i++)
		if (strcmp(o->args[i].name, name) == 0)
			return 1;
	return 0;
}

static int push_arg(octx *x, const berth_df_instr *in, const char *name, const char *value)
{
	berth_lint_outline *o = x->o;
	berth_lint_outline_arg *room;

	if (has_arg(o, name))
		return 0;
	if (!(room = berth_array_room(o->args, o->nargs, &x->acap, sizeof(*room))))
		return BERTH_ERROR;
	o->args = room;
	room += o->nargs;
	memset(room, 0, sizeof(*room));
	o->nargs++;
	room->line = in->pos.line;
	room->end_line = in->end_line;
	if (!(room->name = strdup(name)) || (value && !(room->value = strdup(value))))
		return BERTH_ERROR;
	return description(&room->description, in, name);
}

/* A global ARG the stage uses, and the global ARGs its default used. */
static int push_global(octx *x, const char *name, int depth)
{
	const garg *g = global_find(x, name);

	if (!g || has_arg(x->o, name) || depth > 64)
		return 0;
	if (push_arg(x, g->in, name, g->value) < 0)
		return BERTH_ERROR;
	for (size_t i = 0; i < g->ndeps; i++)
		if (push_global(x, g->deps[i], depth + 1) < 0)
			return BERTH_ERROR;
	return 0;
}

/* Global ARGs the FROM line's image word and --platform reference. */
static int from_uses(octx *x, const berth_df_instr *from)
{
	const char *words[2] = {from->nargs ? from->args[0].text : NULL, NULL};
	const berth_df_flag *pf = berth_lint__flag(from, "platform");
	int rc = 0;

	if (pf && pf->value)
		words[1] = pf->value;
	for (int w = 0; w < 2 && rc == 0; w++) {
		berth_df_expansion e;

		if (!words[w] || !strchr(words[w], '$'))
			continue;
		if (expand(&e, x, words[w], &x->genv) < 0) {
			berth_error_clear(); /* the build reports it; the outline lists what it can
					      */
			continue;
		}
		for (size_t i = 0; i < e.nmatched && rc == 0; i++)
			rc = push_global(x, e.matched[i], 0);
		berth_df_expansion_dispose(&e);
	}
	return rc;
}

/* ARGs declared in the stage: the build arg, the expanded default, or the global's. */
static int stage_args(octx *x, const berth_df_stage *st)
{
	berth_df_vars env = BERTH_DF_VARS_INIT;
	int rc = 0;

	for (size_t i = st->first; i < st->end && rc == 0; i++) {
		const berth_df_instr *in = &x->df->instrs[i];

		for (size_t k = 0; k < in->nkvs && rc == 0; k++) {
			const berth_df_kv *kv = &in->kvs[k];
			const char *ba =
				x->build_args ? berth_df_vars_get(x->build_args, kv->key) : NULL;
			berth_df_expansion e;
			char *val = NULL;

			if (in->kind != BERTH_DF_ARG && in->kind != BERTH_DF_ENV)
				break;
			if (in->kind == BERTH_DF_ARG && !kv->has_value && !ba &&
			    global_find(x, kv->key)) {
				rc = push_global(x, kv->key,
						 0); /* inherits the global's definition */
				continue;
			}
			if (ba && in->kind == BERTH_DF_ARG) {
				val = strdup(ba);
			} else if (kv->has_value) {
				if (expand(&e, x, kv->value, &env) < 0) {
					berth_error_clear();
					val = strdup(kv->value);
				} else {
					val = e.word;
					e.word = NULL;
					berth_df_expansion_dispose(&e);
				}
			}
			if ((val == NULL && (ba || kv->has_value)) ||
			    (val && berth_df_vars_set(&env, kv->key, val) < 0))
				rc = BERTH_ERROR;
			else if (in->kind == BERTH_DF_ARG)
				rc = push_arg(x, in, kv->key, val);
			free(val);
		}
	}
	berth_df_vars_dispose(&env);
	return rc;
}

static int push_mount(berth_lint_mount_use **arr, size_t *n, size_t *cap, const char *spec,
		      int secret, const berth_df_instr *in)
{
	const char *v;
	size_t len, i;
	berth_lint_mount_use *room;
	char *id;

	if (mount_field(spec, "id", &v, &len) && len > 0) {
		id = strndup(v, len);
	} else if (!secret) {
		id = strdup("default");
	} else if (mount_field(spec, "target", &v, &len) || mount_field(spec, "dst", &v, &len) ||
		   mount_field(spec, "destination", &v, &len)) {
		while (len > 1 && v[len - 1] == '/')
			len--;
		for (i = len; i > 0 && v[i - 1] != '/'; i--)
			;
		id = strndup(v + i, len - i);
	} else {
		return 0; /* BuildKit refuses a secret mount without id or target */
	}
	if (!id)
		return BERTH_ERROR;
	for (i = 0; i < *n && strcmp((*arr)[i].id, id) != 0; i++)
		;
	if (i == *n) {
		if (!(room = berth_array_room(*arr, *n, cap, sizeof(*room)))) {
			free(id);
			return BERTH_ERROR;
		}
		*arr = room;
		memset(&room[i], 0, sizeof(*room));
		(*n)++;
	} else {
		free((*arr)[i].id); /* a later mount of the same id wins, as BuildKit's map */
	}
	(*arr)[i].id = id;
	(*arr)[i].required = mount_field(spec, "required", &v, &len) &&
			     (len == 0 || (len == 4 && strncasecmp(v, "true", 4) == 0));
	(*arr)[i].line = in->pos.line;
	(*arr)[i].end_line = in->end_line;
	return 0;
}

static int stage_mounts(octx *x, const berth_df_stage *st)
{
	berth_lint_outline *o = x->o;
	int rc = 0;

	for (size_t i = st->first; i < st->end && rc == 0; i++) {
		const berth_df_instr *in = &x->df->instrs[i];

		for (size_t f = 0; in->kind == BERTH_DF_RUN && f < in->nflags && rc == 0; f++) {
			const char *v = in->flags[f].value;

			if (!v || strcasecmp(in->flags[f].name, "mount") != 0)
				continue;
			if (mount_is(v, "secret"))
				rc = push_mount(&o->secrets, &o->nsecrets, &x->scap, v, 1, in);
			else if (mount_is(v, "ssh"))
				rc = push_mount(&o->ssh, &o->nssh, &x->hcap, v, 0, in);
		}
	}
	return rc;
}

/* The stage, then its base, then the stages it copies or mounts from. */
static int visit(octx *x, size_t s)
{
	const berth_df_stage *st = &x->df->stages[s];
	size_t deps[64], n;
	int rc;

	if (x->seen[s])
		return 0;
	x->seen[s] = 1;
	if ((rc = from_uses(x, &x->df->instrs[st->from])) < 0 || (rc = stage_args(x, st)) < 0 ||
	    (rc = stage_mounts(x, st)) < 0)
		return rc;
	n = deps_of(x->df, s, deps, sizeof(deps) / sizeof(deps[0]));
	for (size_t i = 0; i < n; i++)
		if ((rc = visit(x, deps[i])) < 0)
			return rc;
	return 0;
}

static int targets(berth_lint_outline *o, const berth_dockerfile *df)
{
	if (!(o->targets = calloc(df->nstages, sizeof(*o->targets))))
		return BERTH_ERROR;
	o->ntargets = df->nstages;
	for (size_t s = 0; s < df->nstages; s++) {
		const berth_df_stage *st = &df->stages[s];
		const berth_df_instr *from = &df->instrs[st->from];
		berth_lint_target *t = &o->targets[s];

		t->index = s;
		t->is_default = s + 1 == df->nstages;
		t->line = from->pos.line;
		t->end_line = from->end_line;
		if ((st->name_lower && !(t->name = strdup(st->name_lower))) ||
		    (st->base && !(t->base = strdup(st->base))) ||
		    (st->platform && !(t->platform = strdup(st->platform))) ||
		    description(&t->description, from, st->name_lower) < 0)
			return BERTH_ERROR;
	}
	return 0;
}

static int by_line_arg(const void *a, const void *b)
{
	const berth_lint_outline_arg *x = a, *y = b;

	return x->line < y->line ? -1 : x->line > y->line;
}

static int by_line_mount(const void *a, const void *b)
{
	const berth_lint_mount_use *x = a, *y = b;

	return x->line < y->line ? -1 : x->line > y->line;
}

int berth_lint_outline_make(berth_lint_outline **out, const berth_dockerfile *df,
			    const char *target, const berth_df_vars *build_args)
{
	octx x;
	size_t t;
	int rc = 0;

	*out = NULL;
	if (df->nstages == 0)
		return berth_error_set(BERTH_ENOTFOUND, "%s: no stage (no FROM instruction)",
				       df->name ? df->name : "Dockerfile");
	t = df->nstages - 1;
	if (target && !stage_find(df, target, df->nstages, &t))
		return berth_error_set(BERTH_ENOTFOUND, "target stage \"%s\" could not be found",
				       target);
	memset(&x, 0, sizeof(x));
	x.df = df;
	x.build_args = build_args;
	x.o = calloc(1, sizeof(*x.o));
	x.seen = calloc(df->nstages, 1);
	if (!x.o || !x.seen) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	x.o->target = t;
	if ((rc = globals(&x)) < 0 || (rc = targets(x.o, df)) < 0 || (rc = visit(&x, t)) < 0) {
		if (rc == BERTH_ERROR)
			berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if (x.o->nargs)
		qsort(x.o->args, x.o->nargs, sizeof(*x.o->args), by_line_arg);
	if (x.o->nsecrets)
		qsort(x.o->secrets, x.o->nsecrets, sizeof(*x.o->secrets), by_line_mount);
	if (x.o->nssh)
		qsort(x.o->ssh, x.o->nssh, sizeof(*x.o->ssh), by_line_mount);
	*out = x.o;
	x.o = NULL; /* now owned by the caller */
done:
	for (size_t i = 0; i < x.ng; i++) {
		free(x.g[i].value);
		for (size_t k = 0; k < x.g[i].ndeps; k++)
			free(x.g[i].deps[k]);
		free(x.g[i].deps);
	}
	free(x.g);
	berth_df_vars_dispose(&x.genv);
	berth_lint_outline_free(x.o);
	free(x.seen);
	return rc;
}

void berth_lint_outline_free(berth_lint_outline *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->ntargets; i++) {
		free(o->targets[i].name);
		free(o->targets[i].base);
		free(o->targets[i].platform);
		free(o->targets[i].description);
	}
	for (size_t i = 0; i < o->nargs; i++) {
		free(o->args[i].name);
		free(o->args[i].value);
		free(o->args[i].description);
	}
	for (size_t i = 0; i < o->nsecrets; i++)
		free(o->secrets[i].id);
	for (size_t i = 0; i < o->nssh; i++)
		free(o->ssh[i].id);
	free(o->targets);
	free(o->args);
	free(o->secrets);
	free(o->ssh);
	free(o);
}
