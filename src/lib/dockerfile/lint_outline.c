/*
 * lint_outline.c - the data of BuildKit's `--call outline` and `--call
 * targets` subrequests, from a parsed file and without building: the
 * stages (name, base, platform, description from the comment above FROM,
 * which one is the default), the ARGs a target can take (global ARGs the
 * FROM lines use and ARGs of the stages the target needs, with defaults and
 * the comment above each as description), and the secrets and SSH sockets
 * its RUN --mount flags use. `berth build --call` prints these; `--call
 * check` is berth_lint_run.
 */
#include "lint_internal.h"

#include "util/array.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static char *description(const berth_df_instr *in)
{
	/* BuildKit uses the comment lines directly above, joined; a leading "NAME " is dropped */
	size_t len = 0;
	char *s;

	if (in->ncomments == 0)
		return NULL;
	for (size_t i = 0; i < in->ncomments; i++)
		len += strlen(in->comments[i]) + 1;
	if (!(s = calloc(1, len + 1)))
		return NULL;
	for (size_t i = 0; i < in->ncomments; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, in->comments[i]);
	}
	return s;
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

/* Mark the stages `s` needs: FROM <stage>, COPY --from, RUN --mount from=. */
static void mark(const berth_dockerfile *df, size_t s, unsigned char *need, int depth)
{
	const berth_df_stage *st = &df->stages[s];
	size_t dep;

	if (need[s] || depth > 256)
		return;
	need[s] = 1;
	if (st->base && stage_find(df, st->base, s, &dep))
		mark(df, dep, need, depth + 1);
	for (size_t i = st->first; i < st->end; i++) {
		const berth_df_instr *in = &df->instrs[i];

		for (size_t f = 0; f < in->nflags; f++) {
			const char *v = in->flags[f].value, *from;
			char ref[256];

			if (!v)
				continue;
			if (strcasecmp(in->flags[f].name, "from") == 0) {
				if (stage_find(df, v, s, &dep))
					mark(df, dep, need, depth + 1);
			} else if (strcasecmp(in->flags[f].name, "mount") == 0 &&
				   (from = strstr(v, "from="))) {
				size_t n = strcspn(from + 5, ",");

				if (n < sizeof(ref)) {
					memcpy(ref, from + 5, n);
					ref[n] = '\0';
					if (stage_find(df, ref, s, &dep))
						mark(df, dep, need, depth + 1);
				}
			}
		}
	}
}

static int push_arg(berth_lint_outline *o, size_t *cap, const berth_df_instr *in,
		    const berth_df_kv *kv)
{
	berth_lint_outline_arg *room;

	for (size_t i = 0; i < o->nargs; i++)
		if (strcmp(o->args[i].name, kv->key) == 0)
			return 0;
	if (!(room = berth_array_room(o->args, o->nargs, cap, sizeof(*room))))
		return BERTH_ERROR;
	o->args = room;
	memset(&room[o->nargs], 0, sizeof(*room));
	room[o->nargs].name = strdup(kv->key);
	room[o->nargs].value = kv->has_value ? strdup(kv->value) : NULL;
	room[o->nargs].description = description(in);
	room[o->nargs].line = in->pos.line;
	o->nargs++;
	return room[o->nargs - 1].name ? 0 : BERTH_ERROR;
}

/* "type=secret,id=x,required=true" -> a mount use. */
static int push_mount(berth_lint_mount_use **arr, size_t *n, size_t *cap, const char *v,
		      uint32_t line)
{
	berth_lint_mount_use *room = berth_array_room(*arr, *n, cap, sizeof(*room));
	const char *id = strstr(v, "id=");
	size_t len = id ? strcspn(id + 3, ",") : 0;

	if (!room)
		return BERTH_ERROR;
	*arr = room;
	room[*n].id = id ? strndup(id + 3, len) : strdup("");
	room[*n].required = strstr(v, "required=true") != NULL || strstr(v, "required,") != NULL;
	room[*n].line = line;
	(*n)++;
	return room[*n - 1].id ? 0 : BERTH_ERROR;
}

static int collect(berth_lint_outline *o, const berth_dockerfile *df, const unsigned char *need)
{
	size_t acap = 0, scap = 0, hcap = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < df->ninstrs; i++) {
		const berth_df_instr *in = &df->instrs[i];
		int used = in->stage == BERTH_DF_NO_STAGE || need[in->stage];

		if (!used)
			continue;
		for (size_t k = 0; rc == 0 && in->kind == BERTH_DF_ARG && k < in->nkvs; k++)
			rc = push_arg(o, &acap, in, &in->kvs[k]);
		for (size_t f = 0; rc == 0 && in->kind == BERTH_DF_RUN && f < in->nflags; f++) {
			const char *v = in->flags[f].value;

			if (!v || strcasecmp(in->flags[f].name, "mount") != 0)
				continue;
			if (strstr(v, "type=secret"))
				rc = push_mount(&o->secrets, &o->nsecrets, &scap, v, in->pos.line);
			else if (strstr(v, "type=ssh"))
				rc = push_mount(&o->ssh, &o->nssh, &hcap, v, in->pos.line);
		}
	}
	return rc;
}

static int targets(berth_lint_outline *o, const berth_dockerfile *df)
{
	if (!(o->targets = calloc(df->nstages, sizeof(*o->targets))))
		return BERTH_ERROR;
	o->ntargets = df->nstages;
	for (size_t s = 0; s < df->nstages; s++) {
		const berth_df_stage *st = &df->stages[s];
		berth_lint_target *t = &o->targets[s];

		t->index = s;
		t->name = dup_or_null(st->name);
		t->base = dup_or_null(st->base);
		t->platform = dup_or_null(st->platform);
		t->description = description(&df->instrs[st->from]);
		t->is_default = s + 1 == df->nstages;
		t->line = df->instrs[st->from].pos.line;
	}
	return 0;
}

int berth_lint_outline_make(berth_lint_outline **out, const berth_dockerfile *df,
			    const char *target)
{
	berth_lint_outline *o = NULL;
	unsigned char *need = NULL;
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
	o = calloc(1, sizeof(*o));
	need = calloc(df->nstages, 1);
	if (!o || !need) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	o->target = t;
	mark(df, t, need, 0);
	if (targets(o, df) < 0 || collect(o, df, need) < 0) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	*out = o;
	o = NULL; /* now owned by the caller */
done:
	berth_lint_outline_free(o);
	free(need);
	return rc;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

int berth_lint_outline_json(char **out, const berth_lint_outline *o)
{
	json_t *doc = json_object(), *ts = json_array(), *as = json_array(), *ss = json_array(),
	       *hs = json_array();

	for (size_t i = 0; i < o->ntargets; i++) {
		const berth_lint_target *t = &o->targets[i];

		json_array_append_new(
			ts, json_pack("{s:o, s:i, s:o, s:o, s:o, s:b, s:i}", "name",
				      str_or_null(t->name), "index", (json_int_t)t->index, "base",
				      str_or_null(t->base), "platform", str_or_null(t->platform),
				      "description", str_or_null(t->description), "default",
				      t->is_default, "line", (json_int_t)t->line));
	}
	for (size_t i = 0; i < o->nargs; i++)
		json_array_append_new(as,
				      json_pack("{s:s, s:o, s:o, s:i}", "name", o->args[i].name,
						"value", str_or_null(o->args[i].value),
						"description", str_or_null(o->args[i].description),
						"line", (json_int_t)o->args[i].line));
	for (size_t i = 0; i < o->nsecrets; i++)
		json_array_append_new(ss, json_pack("{s:s, s:b, s:i}", "id", o->secrets[i].id,
						    "required", o->secrets[i].required, "line",
						    (json_int_t)o->secrets[i].line));
	for (size_t i = 0; i < o->nssh; i++)
		json_array_append_new(hs, json_pack("{s:s, s:b, s:i}", "id", o->ssh[i].id,
						    "required", o->ssh[i].required, "line",
						    (json_int_t)o->ssh[i].line));
	json_object_set_new(doc, "target", json_integer((json_int_t)o->target));
	json_object_set_new(doc, "targets", ts);
	json_object_set_new(doc, "args", as);
	json_object_set_new(doc, "secrets", ss);
	json_object_set_new(doc, "ssh", hs);
	*out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
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
