/*
 * lint.c - the lint engine: runs the rule families over a parsed Dockerfile,
 * applies what may silence or re-grade a finding (configuration, inline
 * `# hadolint ignore=`, `# hadolint global ignore=`, BuildKit's
 * `# check=skip=` and `check=error=true`), and keeps findings sorted.
 *
 * The rules themselves live in lint_buildkit.c, lint_hadolint.c,
 * lint_berth.c and lint_shellcheck.c; their table (ids, severities, texts,
 * tested examples) in lint_rules.c; configuration in lint_config.c; output
 * formats in lint_report.c.
 */
#include "lint_internal.h"

#include "util/array.h"
#include "util/buf.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const berth_lint_rule *berth_lint_rules(size_t *n)
{
	*n = berth_lint__ntable;
	return berth_lint__table;
}

/* The rules sorted by id, built once: every finding looks its rule up. */
static const berth_lint_rule **by_id;
static pthread_once_t by_id_once = PTHREAD_ONCE_INIT;

static int rule_cmp(const void *a, const void *b)
{
	return strcmp((*(const berth_lint_rule *const *)a)->id,
		      (*(const berth_lint_rule *const *)b)->id);
}

static void sort_rules(void)
{
	const berth_lint_rule **v = malloc(berth_lint__ntable * sizeof(*v));

	if (!v)
		return; /* berth_lint_rule_find falls back to a linear search */
	for (size_t i = 0; i < berth_lint__ntable; i++)
		v[i] = &berth_lint__table[i];
	qsort(v, berth_lint__ntable, sizeof(*v), rule_cmp);
	by_id = v;
}

const berth_lint_rule *berth_lint_rule_find(const char *id)
{
	berth_lint_rule key = {.id = id};
	const berth_lint_rule *kp = &key, **hit;

	pthread_once(&by_id_once, sort_rules);
	if (by_id) {
		hit = bsearch(&kp, by_id, berth_lint__ntable, sizeof(*by_id), rule_cmp);
		return hit ? *hit : NULL;
	}
	for (size_t i = 0; i < berth_lint__ntable; i++)
		if (strcmp(berth_lint__table[i].id, id) == 0)
			return &berth_lint__table[i];
	return NULL;
}

static const char *const sev_names[] = {"error", "warning", "info", "style", "ignore"};

const char *berth_lint_severity_name(berth_lint_severity s)
{
	return (unsigned)s <= BERTH_LINT_IGNORE ? sev_names[s] : "?";
}

int berth_lint_severity_parse(const char *s, berth_lint_severity *out)
{
	for (int i = 0; i <= BERTH_LINT_IGNORE; i++) {
		if (strcmp(s, sev_names[i]) == 0) {
			*out = (berth_lint_severity)i;
			return 0;
		}
	}
	if (strcmp(s, "none") == 0) {
		*out = BERTH_LINT_IGNORE;
		return 0;
	}
	return berth_error_set(BERTH_EINVALID,
			       "unknown severity '%s' (error, warning, info, style, none)", s);
}

int berth_lint__ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

const berth_df_flag *berth_lint__flag(const berth_df_instr *in, const char *name)
{
	for (size_t i = 0; i < in->nflags; i++)
		if (berth_lint__ieq(in->flags[i].name, name))
			return &in->flags[i];
	return NULL;
}

const lint_instr *berth_lint__facts(const lint_ctx *c, const berth_df_instr *in)
{
	if (in >= c->df->instrs && in < c->df->instrs + c->df->ninstrs)
		return &c->li[in - c->df->instrs];
	for (size_t i = 0; i < c->df->ninstrs; i++)
		if (c->df->instrs[i].sub == in)
			return &c->li[i];
	return NULL;
}

int berth_lint__is_last_stage(const lint_ctx *c, size_t stage)
{
	return c->df->nstages > 0 && stage == c->df->nstages - 1;
}

int berth_lint__stage_ref(const lint_ctx *c, const char *name, size_t stage, size_t *found)
{
	char *end = NULL;
	unsigned long idx;

	for (size_t i = 0; i < stage && i < c->df->nstages; i++) {
		if (c->df->stages[i].name && berth_lint__ieq(c->df->stages[i].name, name)) {
			if (found)
				*found = i;
			return 1;
		}
	}
	if (name[0] >= '0' && name[0] <= '9') {
		idx = strtoul(name, &end, 10);
		if (*end == '\0' && idx < stage) {
			if (found)
				*found = idx;
			return 1;
		}
	}
	return 0;
}

void berth_lint__image_parse(lint_image *out, const char *ref)
{
	const char *at, *slash, *colon, *first_end;
	size_t n;

	memset(out, 0, sizeof(*out));
	out->has_var = strchr(ref, '$') != NULL;
	at = strchr(ref, '@');
	out->has_digest = at != NULL;
	first_end = strchr(ref, '/');
	if (first_end) {
		n = (size_t)(first_end - ref);
		/* a registry host has a dot or a port, or is "localhost" */
		if ((memchr(ref, '.', n) || memchr(ref, ':', n) ||
		     (n == 9 && strncmp(ref, "localhost", 9) == 0)) &&
		    n < sizeof(out->registry)) {
			memcpy(out->registry, ref, n);
			out->registry[n] = '\0';
		}
	}
	slash = strrchr(ref, '/');
	colon = strrchr(slash ? slash : ref, ':');
	if (colon && (!at || colon < at)) {
		n = at ? (size_t)(at - colon - 1) : strlen(colon + 1);
		if (n >= sizeof(out->tag))
			n = sizeof(out->tag) - 1;
		memcpy(out->tag, colon + 1, n);
		out->tag[n] = '\0';
	}
}

/* ---- suppression ---- */

static int list_has(char *const *list, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], id) == 0 || berth_lint__ieq(list[i], id))
			return 1;
	return 0;
}

static int add_ids(char ***list, size_t *n, const char *csv, size_t len)
{
	size_t cap = *n;
	const char *p = csv, *end = csv + len;

	while (p < end) {
		const char *q = p;
		char *id, **room;

		while (q < end && *q != ',')
			q++;
		while (p < q && isspace((unsigned char)*p))
			p++;
		while (q > p && isspace((unsigned char)q[-1]))
			q--;
		if (q > p) {
			if (!(id = strndup(p, (size_t)(q - p))))
				return berth_error_set(BERTH_ERROR, "out of memory");
			if (!(room = berth_array_room(*list, *n, &cap, sizeof(char *)))) {
				free(id);
				return berth_error_set(BERTH_ERROR, "out of memory");
			}
			*list = room;
			(*list)[(*n)++] = id;
		}
		while (p < end && *p != ',')
			p++;
		p++;
	}
	return 0;
}

static void free_ids(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* "hadolint ignore=DL3008,DL3009" (after '#', trimmed); global: "hadolint global ignore=". */
static int pragma(const char *comment, int *global, const char **ids)
{
	const char *p = comment;

	while (*p == '#' || isspace((unsigned char)*p))
		p++;
	if (strncmp(p, "hadolint", 8) != 0 || !isspace((unsigned char)p[8]))
		return 0;
	p += 8;
	while (isspace((unsigned char)*p))
		p++;
	*global = 0;
	if (strncmp(p, "global", 6) == 0 && isspace((unsigned char)p[6])) {
		*global = 1;
		p += 6;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (strncmp(p, "ignore=", 7) != 0)
		return 0;
	*ids = p + 7;
	return 1;
}

/* The ids end at the first blank (a trailing explanation may follow). */
static size_t ids_len(const char *ids)
{
	size_t n = 0;

	while (ids[n] && !isspace((unsigned char)ids[n]))
		n++;
	return n;
}

static int read_pragmas(lint_ctx *c)
{
	const berth_dockerfile *df = c->df;
	int global;
	const char *ids;

	for (size_t l = 0; l < df->nlines; l++) {
		const char *s = df->lines[l];

		while (isspace((unsigned char)*s))
			s++;
		if (*s == '#' && pragma(s, &global, &ids) && global &&
		    add_ids(&c->global_ignore, &c->nglobal_ignore, ids, ids_len(ids)) < 0)
			return BERTH_ERROR;
	}
	if (c->cfg->disable_ignore_pragma)
		return 0;
	for (size_t i = 0; i < df->ninstrs; i++) {
		lint_instr *li = &c->li[i];

		for (size_t k = 0; k < li->in->ncomments; k++)
			if (pragma(li->in->comments[k], &global, &ids) && !global &&
			    add_ids(&li->ignore, &li->nignore, ids, ids_len(ids)) < 0)
				return BERTH_ERROR;
	}
	return 0;
}

/* "skip=A,B;error=true;experimental=C" (BuildKit's check directive value). */
static int read_check_value(lint_ctx *c, const char *p)
{
	while (*p) {
		const char *semi = strchr(p, ';');
		size_t n = semi ? (size_t)(semi - p) : strlen(p);

		while (n > 0 && isspace((unsigned char)*p))
			p++, n--;
		if (n >= 5 && strncasecmp(p, "skip=", 5) == 0) {
			if (add_ids(&c->skip, &c->nskip, p + 5, n - 5) < 0)
				return BERTH_ERROR;
		} else if (n >= 13 && strncasecmp(p, "experimental=", 13) == 0) {
			if (add_ids(&c->experimental, &c->nexperimental, p + 13, n - 13) < 0)
				return BERTH_ERROR;
		} else if (n >= 6 && strncasecmp(p, "error=", 6) == 0) {
			c->check_error = n >= 10 && strncasecmp(p + 6, "true", 4) == 0;
		}
		p += n;
		if (*p == ';')
			p++;
	}
	return 0;
}

/* `# check=skip=A,B;error=true` (BuildKit's parser directive), or the
   BUILDKIT_DOCKERFILE_CHECK build argument that replaces it. */
static int read_check_directive(lint_ctx *c)
{
	if (c->cfg->check_override)
		return read_check_value(c, c->cfg->check_override);
	for (size_t i = 0; i < c->df->ndirectives; i++)
		if (strcmp(c->df->directives[i].name, "check") == 0 &&
		    read_check_value(c, c->df->directives[i].value) < 0)
			return BERTH_ERROR;
	return 0;
}

/* BuildKit's checks that run only when `check=experimental=` names them. */
static int buildkit_experimental(const char *id)
{
	return strcmp(id, "CopyIgnoredFile") == 0;
}

/* ---- findings ---- */

static int push_finding(lint_ctx *c, const char *id, berth_lint_severity sev, uint32_t line,
			uint32_t col, uint32_t end_line, const char *msg)
{
	berth_lint_result *r = c->out;
	berth_lint_finding *f, *room;

	if (r->n >= BERTH_LINT_MAX_FINDINGS)
		return berth_error_set(BERTH_ETOOBIG, "more than %u lint findings",
				       (unsigned)BERTH_LINT_MAX_FINDINGS);
	if (!(room = berth_array_room(r->items, r->n, &r->cap, sizeof(*r->items))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	r->items = room;
	f = &r->items[r->n];
	memset(f, 0, sizeof(*f));
	f->rule = strdup(id);
	f->message = strdup(msg);
	f->file = strdup(c->df->name ? c->df->name : "Dockerfile");
	if (!f->rule || !f->message || !f->file) {
		free(f->rule);
		free(f->message);
		free(f->file);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	f->severity = sev;
	f->line = line;
	f->col = col;
	f->end_line = end_line < line ? line : end_line;
	r->n++;
	return 0;
}

static int overridden(const berth_lint_config *cfg, const char *id, berth_lint_severity *sev)
{
	int hit = 0;

	for (size_t i = 0; i < cfg->noverrides; i++) {
		if (strcmp(cfg->overrides[i].rule, id) == 0) {
			*sev = cfg->overrides[i].severity;
			hit = 1;
		}
	}
	return hit;
}

/*
 * The one place a finding is filtered: configuration, pragmas, directives.
 * `def` is the severity the rule (or shellcheck) gives it.
 */
static void add(lint_ctx *c, const char *id, berth_lint_family fam, berth_lint_severity def,
		const berth_df_instr *in, berth_df_pos pos, uint32_t end_line, const char *msg)
{
	const lint_instr *li = in ? berth_lint__facts(c, in) : NULL;
	berth_lint_severity sev = def;
	int explicit_sev;

	if (c->err)
		return;
	if (c->cfg->buildkit_only &&
	    (fam != BERTH_LINT_BUILDKIT ||
	     (buildkit_experimental(id) && !list_has(c->experimental, c->nexperimental, id) &&
	      !list_has(c->experimental, c->nexperimental, "all"))))
		return;
	if (list_has(c->cfg->ignored, c->cfg->nignored, id) ||
	    list_has(c->global_ignore, c->nglobal_ignore, id))
		return;
	if (li && list_has(li->ignore, li->nignore, id))
		return;
	if (fam == BERTH_LINT_BUILDKIT &&
	    (list_has(c->skip, c->nskip, id) || list_has(c->skip, c->nskip, "all")))
		return;
	explicit_sev = overridden(c->cfg, id, &sev);
	if (!explicit_sev && fam == BERTH_LINT_BUILDKIT && c->check_error)
		sev = BERTH_LINT_ERROR;
	if (sev == BERTH_LINT_IGNORE)
		return;
	if (pos.line == 0 && in)
		pos = in->pos;
	if (pos.line == 0)
		pos.line = 1;
	if (end_line == 0)
		end_line = in && pos.line == in->pos.line ? in->end_line : pos.line;
	if (push_finding(c, id, sev, pos.line, pos.col, end_line, msg) < 0)
		c->err = berth_error_last_code() ? berth_error_last_code() : BERTH_ERROR;
}

void berth_lint__vemit(lint_ctx *c, const char *id, const berth_df_instr *in, berth_df_pos pos,
		       uint32_t end_line, const char *fmt, va_list ap)
{
	const berth_lint_rule *r = berth_lint_rule_find(id);
	berth_buf msg = BERTH_BUF_INIT(4096);

	if (!r || c->err)
		return; /* an id missing from the table is a programming error caught by tests */
	if (!fmt) {
		if (berth_buf_puts(&msg, r->summary) < 0)
			c->err = BERTH_ERROR;
	} else if (berth_buf_vprintf(&msg, fmt, ap) < 0) {
		c->err = BERTH_ERROR;
	}
	if (!c->err)
		add(c, id, r->family, r->severity, in, pos, end_line, msg.ptr ? msg.ptr : "");
	berth_buf_dispose(&msg);
}

void berth_lint__emit(lint_ctx *c, const char *id, const berth_df_instr *in, berth_df_pos pos,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	berth_lint__vemit(c, id, in, pos, 0, fmt, ap);
	va_end(ap);
}

void berth_lint__emit_sc(lint_ctx *c, const char *id, berth_lint_severity sev,
			 const berth_df_instr *in, const char *msg)
{
	add(c, id, BERTH_LINT_SHELLCHECK, sev, in, (berth_df_pos){0, 0}, 0, msg);
}

/* ---- scripts of RUN instructions ---- */

/*
 * The script a RUN hands to the shell: its shell-form text, or the body of a
 * heredoc when the text is only the heredoc word (`RUN <<EOF`); an exec form
 * is read as one command of its words.
 */
static int run_script(lint_instr *li, const berth_df_instr *in)
{
	berth_buf b = BERTH_BUF_INIT(BERTH_DF_MAX_LOGICAL + BERTH_DF_MAX_HEREDOC);
	int rc = 0;

	if (in->form == BERTH_DF_FORM_JSON) {
		for (size_t i = 0; i < in->nargs && rc == 0; i++) {
			rc = berth_buf_puts(&b, i ? " '" : "'");
			for (const char *p = in->args[i].text; *p && rc == 0; p++)
				rc = *p == '\'' ? berth_buf_puts(&b, "'\\''")
						: berth_buf_put(&b, p, 1);
			if (rc == 0)
				rc = berth_buf_puts(&b, "'");
		}
	} else if (in->nheredocs > 0 && in->heredocs[0].word &&
		   strcmp(in->args_text, in->heredocs[0].word) == 0) {
		char *body = NULL;
		size_t len = 0;

		rc = berth_df_heredoc_content(&body, &len, &in->heredocs[0]);
		if (rc == 0)
			rc = berth_buf_put(&b, body, len);
		free(body);
	} else {
		rc = berth_buf_puts(&b, in->args_text ? in->args_text : "");
	}
	if (rc == 0 && berth_buf_puts(&b, "") < 0)
		rc = BERTH_ERROR;
	if (rc == 0)
		rc = berth_lint__shell_split(&li->script, b.ptr);
	if (rc == 0) {
		li->has_script = 1;
		if (in->form != BERTH_DF_FORM_JSON)
			li->script_text = berth_buf_detach(&b, NULL);
	}
	berth_buf_dispose(&b);
	return rc;
}

static const berth_df_instr *script_instr(const berth_df_instr *in)
{
	if (in->kind == BERTH_DF_ONBUILD && in->sub)
		in = in->sub;
	return in->kind == BERTH_DF_RUN ? in : NULL;
}

static int prepare(lint_ctx *c)
{
	const berth_dockerfile *df = c->df;

	if (df->ninstrs && !(c->li = calloc(df->ninstrs, sizeof(*c->li))))
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < df->ninstrs; i++) {
		const berth_df_instr *run = script_instr(&df->instrs[i]);

		c->li[i].in = &df->instrs[i];
		if (run && run_script(&c->li[i], run) < 0)
			return berth_error_last_code() ? berth_error_last_code() : BERTH_ERROR;
	}
	if (read_pragmas(c) < 0 || read_check_directive(c) < 0)
		return BERTH_ERROR;
	return 0;
}

static void ctx_dispose(lint_ctx *c)
{
	for (size_t i = 0; c->li && i < c->df->ninstrs; i++) {
		berth_lint__shell_dispose(&c->li[i].script);
		free(c->li[i].script_text);
		free_ids(c->li[i].ignore, c->li[i].nignore);
	}
	free(c->li);
	free_ids(c->global_ignore, c->nglobal_ignore);
	free_ids(c->skip, c->nskip);
	free_ids(c->experimental, c->nexperimental);
}

static int cmp_finding(const void *a, const void *b)
{
	const berth_lint_finding *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return strcmp(x->rule, y->rule);
}

int berth_lint_run(berth_lint_result *out, const berth_dockerfile *df, const berth_lint_config *cfg)
{
	static const berth_lint_config defaults = BERTH_LINT_CONFIG_INIT;
	lint_ctx c;
	size_t first = out->n;
	int rc;

	memset(&c, 0, sizeof(c));
	c.df = df;
	c.cfg = cfg ? cfg : &defaults;
	c.out = out;
	rc = prepare(&c);
	if (rc == 0) {
		berth_lint__buildkit(&c);
		if (!c.cfg->buildkit_only) {
			berth_lint__hadolint(&c);
			berth_lint__berth(&c);
		}
		rc = c.err;
	}
	if (rc == 0 && c.cfg->shellcheck && !c.cfg->buildkit_only)
		rc = berth_lint__shellcheck(&c);
	if (rc == 0)
		rc = c.err;
	if (out->n > first)
		qsort(out->items + first, out->n - first, sizeof(*out->items), cmp_finding);
	ctx_dispose(&c);
	return rc;
}

int berth_lint_add_error(berth_lint_result *out, const char *file, uint32_t line, uint32_t col,
			 const char *message)
{
	berth_dockerfile fake;
	lint_ctx c;

	memset(&fake, 0, sizeof(fake));
	memset(&c, 0, sizeof(c));
	fake.name = (char *)file;
	c.df = &fake;
	c.out = out;
	return push_finding(&c, "parse", BERTH_LINT_ERROR, line ? line : 1, col, line ? line : 1,
			    message);
}

void berth_lint_result_dispose(berth_lint_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->items[i].rule);
		free(r->items[i].message);
		free(r->items[i].file);
	}
	free(r->items);
	memset(r, 0, sizeof(*r));
}

int berth_lint_fails(const berth_lint_result *r, berth_lint_severity threshold)
{
	if (threshold == BERTH_LINT_IGNORE)
		return 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->items[i].severity <= threshold)
			return 1;
	return 0;
}
