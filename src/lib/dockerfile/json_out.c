/*
 * json_out.c - the parsed tree (and the expanded plan) as JSON for other
 * tools: `berth dockerfile parse --format json`. The schema is documented in
 * docs/dockerfile-json.md; every key is always present so consumers need
 * no existence checks.
 */
#include "internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* json_string refuses invalid UTF-8; the parser only admits valid UTF-8, but flags re-encode
 * bytes and expansion may produce anything, so fall back to a lossy copy. */
static json_t *jstr(const char *s)
{
	json_t *j;

	if (!s)
		return json_null();
	j = json_string(s);
	if (!j) {
		size_t n = strlen(s), o = 0, w;
		char *t = malloc(n * 3 + 1);

		if (!t)
			return NULL;
		for (size_t i = 0; i < n; i += w) {
			uint32_t r = berth_dockerfile__rune(s + i, n - i, &w);

			if (r == 0xFFFD && w == 1) {
				memcpy(t + o, "\xEF\xBF\xBD", 3);
				o += 3;
			} else {
				memcpy(t + o, s + i, w);
				o += w;
			}
		}
		t[o] = '\0';
		j = json_string(t);
		free(t);
	}
	return j;
}

static json_t *lines_array(const uint32_t *l, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(l[i]));
	return a;
}

static json_t *flag_json(const berth_df_flag *f)
{
	return json_pack("{s:o,s:o,s:o,s:i,s:i}", "name", jstr(f->name), "value",
			 f->value ? jstr(f->value) : json_null(), "raw", jstr(f->raw), "line",
			 (int)f->pos.line, "column", (int)f->pos.col);
}

static json_t *instr_json(const berth_df_instr *in)
{
	static const char *const forms[] = {"none", "shell", "json"};
	json_t *o, *flags = json_array(), *args = json_array(), *kvs = json_array(),
		   *hds = json_array(), *com = json_array();

	for (size_t i = 0; i < in->nflags; i++)
		json_array_append_new(flags, flag_json(&in->flags[i]));
	for (size_t i = 0; i < in->nargs; i++)
		json_array_append_new(args,
				      json_pack("{s:o,s:i,s:i}", "text", jstr(in->args[i].text),
						"line", (int)in->args[i].pos.line, "column",
						(int)in->args[i].pos.col));
	for (size_t i = 0; i < in->nkvs; i++)
		json_array_append_new(
			kvs,
			json_pack("{s:o,s:o,s:b,s:i,s:i}", "key", jstr(in->kvs[i].key), "value",
				  jstr(in->kvs[i].value), "has_value", in->kvs[i].has_value, "line",
				  (int)in->kvs[i].pos.line, "column", (int)in->kvs[i].pos.col));
	for (size_t i = 0; i < in->nheredocs; i++) {
		const berth_df_heredoc *h = &in->heredocs[i];

		json_array_append_new(hds,
				      json_pack("{s:o,s:o,s:b,s:b,s:i,s:o,s:i,s:i}", "name",
						jstr(h->name), "word", jstr(h->word), "strip_tabs",
						h->strip_tabs, "expand", h->expand, "fd",
						(int)h->fd, "body", jstr(h->body), "start_line",
						(int)h->start_line, "end_line", (int)h->end_line));
	}
	for (size_t i = 0; i < in->ncomments; i++)
		json_array_append_new(com, jstr(in->comments[i]));
	o = json_pack("{s:s,s:o,s:i,s:i,s:i,s:i,s:o,s:o,s:s,s:o,s:o,s:o,s:b,s:o,s:o,s:o,s:o,s:o}",
		      "kind", berth_dockerfile_kind_name(in->kind), "name", jstr(in->name), "line",
		      (int)in->pos.line, "column", (int)in->pos.col, "end_line", (int)in->end_line,
		      "args_end_line", (int)in->args_line, "original", jstr(in->original),
		      "args_text", jstr(in->args_text), "form", forms[in->form], "flags", flags,
		      "args", args, "kvs", kvs, "legacy_kv", in->legacy_kv, "subtype",
		      in->subtype ? jstr(in->subtype) : json_null(), "heredocs", hds,
		      "empty_continuation_lines",
		      lines_array(in->empty_continuation_lines, in->nempty_continuation),
		      "comment_continuation_lines",
		      lines_array(in->comment_continuation_lines, in->ncomment_continuation),
		      "comments", com);
	if (!o)
		return NULL;
	json_object_set_new(o, "stage",
			    in->stage == BERTH_DF_NO_STAGE ? json_null() : json_integer(in->stage));
	json_object_set_new(o, "sub", in->sub ? instr_json(in->sub) : json_null());
	return o;
}

static int dump(char **out, json_t *root, int pretty)
{
	if (!root)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*out = json_dumps(root, (pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_PRESERVE_ORDER);
	json_decref(root);
	return *out ? 0 : berth_error_set(BERTH_ERROR, "out of memory");
}

int berth_dockerfile_to_json(char **out, const berth_dockerfile *df, int pretty)
{
	json_t *root, *dirs = json_array(), *stages = json_array(), *ins = json_array();
	char esc[2] = {(char)df->escape, 0};

	*out = NULL;
	for (size_t i = 0; i < df->ndirectives; i++)
		json_array_append_new(dirs,
				      json_pack("{s:s,s:o,s:i,s:i}", "name", df->directives[i].name,
						"value", jstr(df->directives[i].value), "line",
						(int)df->directives[i].pos.line, "column",
						(int)df->directives[i].pos.col));
	for (size_t i = 0; i < df->nstages; i++) {
		const berth_df_stage *s = &df->stages[i];

		json_array_append_new(
			stages,
			json_pack("{s:i,s:o,s:o,s:o,s:i,s:i,s:i}", "index", (int)s->index, "name",
				  s->name ? jstr(s->name) : json_null(), "base", jstr(s->base),
				  "platform", s->platform ? jstr(s->platform) : json_null(), "from",
				  (int)s->from, "first", (int)s->first, "end", (int)s->end));
	}
	for (size_t i = 0; i < df->ninstrs; i++)
		json_array_append_new(ins, instr_json(&df->instrs[i]));
	root = json_pack("{s:i,s:o,s:s,s:b,s:i,s:o,s:o,s:o}", "schema_version", 1, "file",
			 jstr(df->name), "escape", esc, "bom", df->had_bom, "lines",
			 (int)df->nlines, "directives", dirs, "stages", stages, "instructions",
			 ins);
	return dump(out, root, pretty);
}

static json_t *vars_json(const berth_df_vars *v)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < v->n; i++)
		json_object_set_new(o, v->items[i].name, jstr(v->items[i].value));
	return o;
}

static json_t *strs_json(char **s, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, jstr(s[i]));
	return a;
}

static json_t *xinstr_json(const berth_df_xinstr *x)
{
	json_t *flags = json_array(), *kvs = json_array(), *hd = json_array();

	for (size_t i = 0; i < x->nflags; i++)
		json_array_append_new(flags, flag_json(&x->flags[i]));
	for (size_t i = 0; i < x->nkvs; i++)
		json_array_append_new(kvs, json_pack("{s:o,s:o,s:b}", "key", jstr(x->kvs[i].key),
						     "value", jstr(x->kvs[i].value), "has_value",
						     x->kvs[i].has_value));
	for (size_t i = 0; x->heredoc_bodies && i < x->src->nheredocs; i++)
		json_array_append_new(hd, jstr(x->heredoc_bodies[i]));
	return json_pack("{s:s,s:o,s:i,s:i,s:b,s:o,s:o,s:o,s:o,s:o}", "kind",
			 berth_dockerfile_kind_name(x->src->kind), "name", jstr(x->src->name),
			 "line", (int)x->src->pos.line, "end_line", (int)x->src->end_line,
			 "expanded", x->expanded, "words", strs_json(x->words, x->nwords), "flags",
			 flags, "kvs", kvs, "heredocs", hd, "undefined",
			 strs_json(x->unmatched, x->nunmatched));
}

int berth_df_plan_to_json(char **out, const berth_df_plan *p, int pretty)
{
	json_t *stages = json_array(), *global = json_array(), *root;

	*out = NULL;
	for (size_t i = 0; i < p->nglobal; i++)
		json_array_append_new(global, xinstr_json(&p->global[i]));
	for (size_t i = 0; i < p->nstages; i++) {
		const berth_df_xstage *s = &p->stages[i];
		json_t *ins = json_array(), *deps = json_array();

		for (size_t k = 0; k < s->ninstrs; k++)
			json_array_append_new(ins, xinstr_json(&s->instrs[k]));
		for (size_t k = 0; k < s->ndeps; k++)
			json_array_append_new(deps, json_integer((json_int_t)s->deps[k]));
		json_array_append_new(
			stages,
			json_pack("{s:i,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:o,s:o,s:o}", "index",
				  (int)s->index, "name",
				  s->src->name ? jstr(s->src->name) : json_null(), "base",
				  jstr(s->base), "platform",
				  s->platform ? jstr(s->platform) : json_null(), "base_stage",
				  s->base_stage == BERTH_DF_NO_STAGE ? json_null()
								     : json_integer(s->base_stage),
				  "deps", deps, "images", strs_json(s->images, s->nimages),
				  "needed", s->needed, "args", vars_json(&s->args), "env",
				  vars_json(&s->env), "instructions", ins));
	}
	root = json_pack("{s:i,s:i,s:o,s:o,s:o,s:o,s:o}", "schema_version", 1, "target",
			 (int)p->target, "builtin_args", vars_json(&p->builtin_args), "global_args",
			 vars_json(&p->global_args), "global", global, "unused_build_args",
			 strs_json(p->unused_build_args, p->nunused_build_args), "stages", stages);
	return dump(out, root, pretty);
}
