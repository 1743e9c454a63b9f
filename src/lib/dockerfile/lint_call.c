/*
 * lint_call.c - `berth build --call outline|targets|check` output: the
 * documents BuildKit's subrequests answer (frontend/subrequests outline,
 * targets and lint: result.json) and the text `docker buildx build --call`
 * prints from them (their Print functions: Go tabwriter tables, and
 * warnings with the source excerpt of solver/errdefs Source.Print), from
 * the outline data (lint_outline.c) and lint findings (lint.c).
 */
#include "lint_internal.h"

#include "util/b64.h"
#include "util/buf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define CALL_MAX_OUTPUT (256u << 20)

/* ---- shared pieces ---- */

/* Padded standard base64 (Go's encoding of []byte in JSON). */
static json_t *b64_json(const char *src, size_t n)
{
	size_t ul = berth_b64url_len(n), pad = (4 - ul % 4) % 4;
	char *s = malloc(ul + pad + 1);
	json_t *j;

	if (!s)
		return NULL;
	berth_b64url_encode(s, (const unsigned char *)src, n);
	for (size_t i = 0; i < ul; i++)
		s[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	memset(s + ul, '=', pad);
	s[ul + pad] = '\0';
	j = json_string(s);
	free(s);
	return j;
}

/* pb.Location: {"ranges":[{"start":{"line":a},"end":{"line":b}}]} (sourceIndex 0 omitted). */
static json_t *location(uint32_t line, uint32_t end_line)
{
	return json_pack("{s:[{s:{s:I}, s:{s:I}}]}", "ranges", "start", "line", (json_int_t)line,
			 "end", "line", (json_int_t)(end_line < line ? line : end_line));
}

static int set_str(json_t *o, const char *key, const char *v)
{
	return v && *v ? json_object_set_new(o, key, json_string(v)) : 0;
}

static int dump(char **out, json_t *doc)
{
	*out = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(doc);
	if (!*out)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

static int finish(char **out, berth_buf *b, int rc)
{
	if (rc == 0 && berth_buf_puts(b, "") < 0)
		rc = BERTH_ERROR;
	if (rc < 0) {
		berth_buf_dispose(b);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	*out = berth_buf_detach(b, NULL);
	return 0;
}

/* Characters of UTF-8 text (what Go's tabwriter counts). */
static size_t width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xC0) != 0x80;
	return n;
}

/*
 * Go's text/tabwriter with padchar ' ' for rows of `ncol` cells: every cell
 * but a row's last is padded to its column's widest cell plus `pad`.
 */
static int table(berth_buf *b, const char *const *cells, size_t nrows, size_t ncol, size_t pad)
{
	size_t w[8] = {0};

	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c + 1 < ncol && c < 8; c++) {
			size_t x = width(cells[r * ncol + c] ? cells[r * ncol + c] : "");

			w[c] = x > w[c] ? x : w[c];
		}
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncol; c++) {
			const char *s = cells[r * ncol + c] ? cells[r * ncol + c] : "";

			if (berth_buf_puts(b, s) < 0)
				return BERTH_ERROR;
			for (size_t k = width(s); c + 1 < ncol && k < w[c] + pad; k++)
				if (berth_buf_puts(b, " ") < 0)
					return BERTH_ERROR;
		}
		if (berth_buf_puts(b, "\n") < 0)
			return BERTH_ERROR;
	}
	return 0;
}

/* ---- outline ---- */

static json_t *outline_doc(const berth_lint_outline *o, const char *src, size_t srclen)
{
	const berth_lint_target *t = &o->targets[o->target];
	json_t *doc = json_object(), *args = json_array(), *secrets = json_array(),
	       *ssh = json_array();

	set_str(doc, "name", t->name);
	set_str(doc, "description", t->description);
	for (size_t i = 0; i < o->nargs; i++) {
		json_t *a = json_pack("{s:s}", "name", o->args[i].name);

		set_str(a, "description", o->args[i].description);
		set_str(a, "value", o->args[i].value);
		json_object_set_new(a, "location", location(o->args[i].line, o->args[i].end_line));
		json_array_append_new(args, a);
	}
	for (size_t k = 0; k < 2; k++) {
		const berth_lint_mount_use *m = k ? o->ssh : o->secrets;
		size_t n = k ? o->nssh : o->nsecrets;

		for (size_t i = 0; i < n; i++) {
			json_t *s = json_pack("{s:s}", "name", m[i].id);

			if (m[i].required)
				json_object_set_new(s, "required", json_true());
			json_object_set_new(s, "location", location(m[i].line, m[i].end_line));
			json_array_append_new(k ? ssh : secrets, s);
		}
	}
	json_object_set_new(doc, "args", args);
	json_object_set_new(doc, "secrets", secrets);
	json_object_set_new(doc, "ssh", ssh);
	/* omitempty, as Go writes them */
	for (size_t k = 0; k < 3; k++) {
		static const char *const keys[] = {"args", "secrets", "ssh"};

		if (json_array_size(json_object_get(doc, keys[k])) == 0)
			json_object_del(doc, keys[k]);
	}
	json_object_set_new(doc, "sources", json_pack("[o]", b64_json(src, srclen)));
	return doc;
}

static int mounts_text(berth_buf *b, const char *title, const berth_lint_mount_use *m, size_t n)
{
	const char **cells;
	int rc;

	if (n == 0)
		return 0;
	if (!(cells = calloc((n + 1) * 2, sizeof(*cells))))
		return BERTH_ERROR;
	cells[0] = title;
	cells[1] = "REQUIRED";
	for (size_t i = 0; i < n; i++) {
		cells[(i + 1) * 2] = m[i].id;
		cells[(i + 1) * 2 + 1] = m[i].required ? "true" : "";
	}
	rc = table(b, cells, n + 1, 2, 3);
	free(cells);
	return rc == 0 ? berth_buf_puts(b, "\n") : rc;
}

int berth_lint_call_outline(char **out, const berth_lint_outline *o, int json, const char *src,
			    size_t srclen)
{
	const berth_lint_target *t = &o->targets[o->target];
	berth_buf b = BERTH_BUF_INIT(CALL_MAX_OUTPUT);
	const char **cells = NULL;
	int rc = 0;

	*out = NULL;
	if (json)
		return dump(out, outline_doc(o, src, srclen));
	if (t->name || t->description) {
		const char *head[] = {"TARGET:", t->name ? t->name : "(default)",
				      "DESCRIPTION:", t->description};

		rc = table(&b, head, t->description ? 2 : 1, 2, 1);
		if (rc == 0)
			rc = berth_buf_puts(&b, "\n");
	}
	if (rc == 0 && o->nargs) {
		if (!(cells = calloc((o->nargs + 1) * 3, sizeof(*cells))))
			return finish(out, &b, BERTH_ERROR);
		cells[0] = "BUILD ARG";
		cells[1] = "VALUE";
		cells[2] = "DESCRIPTION";
		for (size_t i = 0; i < o->nargs; i++) {
			cells[(i + 1) * 3] = o->args[i].name;
			cells[(i + 1) * 3 + 1] = o->args[i].value;
			cells[(i + 1) * 3 + 2] = o->args[i].description;
		}
		rc = table(&b, cells, o->nargs + 1, 3, 3);
		if (rc == 0)
			rc = berth_buf_puts(&b, "\n");
		free(cells);
	}
	if (rc == 0)
		rc = mounts_text(&b, "SECRET", o->secrets, o->nsecrets);
	if (rc == 0)
		rc = mounts_text(&b, "SSH", o->ssh, o->nssh);
	return finish(out, &b, rc);
}

/* ---- targets ---- */

int berth_lint_call_targets(char **out, const berth_lint_outline *o, int json, const char *src,
			    size_t srclen)
{
	berth_buf b = BERTH_BUF_INIT(CALL_MAX_OUTPUT);
	const char **cells;
	char **names;
	int rc = 0;

	*out = NULL;
	if (json) {
		json_t *doc = json_object(), *ts = json_array();

		for (size_t i = 0; i < o->ntargets; i++) {
			const berth_lint_target *t = &o->targets[i];
			json_t *j = json_object();

			set_str(j, "name", t->name);
			if (t->is_default)
				json_object_set_new(j, "default", json_true());
			set_str(j, "description", t->description);
			set_str(j, "base", t->base);
			set_str(j, "platform", t->platform);
			json_object_set_new(j, "location", location(t->line, t->end_line));
			json_array_append_new(ts, j);
		}
		json_object_set_new(doc, "targets", ts);
		json_object_set_new(doc, "sources", json_pack("[o]", b64_json(src, srclen)));
		return dump(out, doc);
	}
	cells = calloc((o->ntargets + 1) * 2, sizeof(*cells));
	names = calloc(o->ntargets + 1, sizeof(*names));
	if (!cells || !names) {
		free(cells);
		free(names);
		return finish(out, &b, BERTH_ERROR);
	}
	cells[0] = "TARGET";
	cells[1] = "DESCRIPTION";
	for (size_t i = 0; i < o->ntargets && rc == 0; i++) {
		const berth_lint_target *t = &o->targets[i];

		/* PrintTargets: "(default)" for an unnamed default, "name (default)" */
		if (t->is_default && asprintf(&names[i], "%s%s(default)", t->name ? t->name : "",
					      t->name ? " " : "") < 0) {
			names[i] = NULL;
			rc = BERTH_ERROR;
		}
		cells[(i + 1) * 2] = names[i] ? names[i] : t->name;
		cells[(i + 1) * 2 + 1] = t->description;
	}
	if (rc == 0)
		rc = table(&b, cells, o->ntargets + 1, 2, 1);
	for (size_t i = 0; i < o->ntargets; i++)
		free(names[i]);
	free(names);
	free(cells);
	return finish(out, &b, rc);
}

/* ---- check ---- */

int berth_lint_rule_url(char *buf, size_t len, const char *rule)
{
	static const char base[] = "https://docs.docker.com/go/dockerfile/rule/";
	size_t n = sizeof(base) - 1;

	if (len < n + 2)
		return berth_error_set(BERTH_ETOOBIG, "buffer too small");
	memcpy(buf, base, n);
	for (const char *p = rule; *p; p++) {
		/* "JSONArgsRecommended" -> "json-args-recommended": a dash before an
		   upper-case letter that follows a lower-case one or starts a word */
		int up = isupper((unsigned char)*p);

		if (up && p != rule &&
		    (islower((unsigned char)p[-1]) ||
		     (isupper((unsigned char)p[-1]) && islower((unsigned char)p[1])))) {
			if (n + 1 >= len)
				return berth_error_set(BERTH_ETOOBIG, "buffer too small");
			buf[n++] = '-';
		}
		if (n + 2 >= len)
			return berth_error_set(BERTH_ETOOBIG, "buffer too small");
		buf[n++] = (char)tolower((unsigned char)*p);
	}
	buf[n++] = '/';
	buf[n] = '\0';
	return 0;
}

/* The file's lines as Go's strings.Split(data, "\n") sees them. */
typedef struct srclines {
	const char **s;
	size_t *len;
	size_t n;
} srclines;

static int split_lines(srclines *l, const char *src, size_t n)
{
	size_t cap = 1;

	for (size_t i = 0; i < n; i++)
		cap += src[i] == '\n';
	l->s = calloc(cap, sizeof(*l->s));
	l->len = calloc(cap, sizeof(*l->len));
	l->n = 0;
	if (!l->s || !l->len)
		return BERTH_ERROR;
	for (size_t i = 0, start = 0; i <= n; i++) {
		if (i == n || src[i] == '\n') {
			l->s[l->n] = src + start;
			l->len[l->n++] = i - start;
			start = i + 1;
		}
	}
	return 0;
}

/* errdefs.Source.Print: the lines around [first, last] between dashed lines. */
static int excerpt_lines(berth_buf *b, const srclines *l, const char *name, size_t first,
			 size_t last)
{
	size_t start = first, end = last, pad, p = 0;

	if (first < 1 || first > l->n)
		return 0;
	if (end < first)
		end = first;
	if (end > l->n)
		end = l->n;
	pad = end == start ? 4 : 2;
	while (p < pad) {
		if (start > 1)
			start--, p++;
		if (end != l->n)
			end++, p++;
		p++;
	}
	if (berth_buf_printf(b, "%s:%zu\n--------------------\n", name, first) < 0)
		return BERTH_ERROR;
	for (size_t i = start; i <= end; i++)
		if (berth_buf_printf(b, " %3zu | %s %.*s\n", i,
				     i >= first && i <= last ? ">>>" : "   ", (int)l->len[i - 1],
				     l->s[i - 1]) < 0)
			return BERTH_ERROR;
	return berth_buf_puts(b, "--------------------\n");
}

static json_t *check_doc(const berth_lint_result *r, const char *error, uint32_t error_line,
			 const char *name, const char *src, size_t srclen)
{
	json_t *doc = json_object(), *ws = json_array();
	char url[256];

	for (size_t i = 0; i < r->n; i++) {
		const berth_lint_finding *f = &r->items[i];
		const berth_lint_rule *rule = berth_lint_rule_find(f->rule);
		json_t *w = json_pack("{s:s}", "ruleName", f->rule);

		set_str(w, "description", rule ? rule->summary : NULL);
		if (berth_lint_rule_url(url, sizeof(url), f->rule) == 0)
			set_str(w, "url", url);
		set_str(w, "detail", f->message);
		json_object_set_new(w, "location", location(f->line, f->end_line));
		json_array_append_new(ws, w);
	}
	json_object_set_new(doc, "warnings", ws);
	json_object_set_new(doc, "sources",
			    json_pack("[{s:s, s:s, s:o}]", "filename", name, "language",
				      "Dockerfile", "data", b64_json(src, srclen)));
	if (error) {
		json_t *e = json_pack("{s:s}", "message", error);

		json_object_set_new(e, "location",
				    error_line ? location(error_line, error_line) : json_object());
		json_object_set_new(doc, "buildError", e);
	}
	return doc;
}

int berth_lint_call_check(char **out, const berth_lint_result *r, const char *error,
			  uint32_t error_line, int json, const char *name, const char *src,
			  size_t srclen)
{
	berth_buf b = BERTH_BUF_INIT(CALL_MAX_OUTPUT);
	srclines l = {NULL, NULL, 0};
	char url[256];
	int rc = 0;

	*out = NULL;
	if (json)
		return dump(out, check_doc(r, error, error_line, name, src, srclen));
	if (split_lines(&l, src, srclen) < 0)
		rc = BERTH_ERROR;
	if (rc == 0 && r->n == 1)
		rc = berth_buf_puts(&b, "Check complete, 1 warning has been found!\n");
	else if (rc == 0 && r->n > 1)
		rc = berth_buf_printf(&b, "Check complete, %zu warnings have been found!\n", r->n);
	for (size_t i = 0; i < r->n && rc == 0; i++) {
		const berth_lint_finding *f = &r->items[i];

		rc = berth_buf_printf(&b, "\nWARNING: %s", f->rule);
		if (rc == 0 && berth_lint_rule_url(url, sizeof(url), f->rule) == 0)
			rc = berth_buf_printf(&b, " - %s", url);
		if (rc == 0)
			rc = berth_buf_printf(&b, "\n%s\n", f->message);
		if (rc == 0)
			rc = excerpt_lines(&b, &l, name, f->line, f->end_line);
	}
	if (rc == 0 && error) {
		if (r->n)
			rc = berth_buf_puts(&b, "\n");
		if (rc == 0)
			rc = berth_buf_printf(&b, "%s\n", error);
		if (rc == 0 && error_line)
			rc = excerpt_lines(&b, &l, name, error_line, error_line);
	} else if (rc == 0 && r->n == 0) {
		rc = berth_buf_puts(&b, "Check complete, no warnings found.\n");
	}
	free(l.s);
	free(l.len);
	return finish(out, &b, rc);
}
