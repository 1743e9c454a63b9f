/*
 * lint_labels.c - hadolint's label rules (DL3048-DL3058) against the
 * configuration's label-schema, and DL3057 (no HEALTHCHECK; off by default
 * as in hadolint). Labels of the final stage are those of its LABEL
 * instructions and of the stages it is built FROM.
 */
#include "lint_internal.h"

#include <ctype.h>
#include <string.h>

#define NOPOS ((berth_df_pos){0, 0})

/* Docker's label key format: lower-case alphanumerics, '.' and '-', no reserved namespace. */
static int label_key_ok(const char *k)
{
	static const char *const reserved[] = {"com.docker.", "io.docker.", "org.dockerproject.",
					       NULL};
	size_t n = strlen(k);

	if (n == 0 || !isalnum((unsigned char)k[0]) || !isalnum((unsigned char)k[n - 1]))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)k[i];

		if (!(islower(ch) || isdigit(ch) || ch == '.' || ch == '-'))
			return 0;
		if ((ch == '.' || ch == '-') && (k[i + 1] == '.' || k[i + 1] == '-'))
			return 0;
	}
	for (size_t i = 0; reserved[i]; i++)
		if (strncmp(k, reserved[i], strlen(reserved[i])) == 0)
			return 0;
	return 1;
}

static const char *unquote(const char *v, char *buf, size_t cap)
{
	size_t n = strlen(v);

	if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
		n -= 2;
		if (n >= cap)
			n = cap - 1;
		memcpy(buf, v + 1, n);
		buf[n] = '\0';
		return buf;
	}
	return v;
}

static int is_url(const char *v)
{
	const char *p = strstr(v, "://");

	if (!p || p == v)
		return 0;
	for (const char *s = v; s < p; s++)
		if (!(isalnum((unsigned char)*s) || *s == '+' || *s == '-' || *s == '.'))
			return 0;
	return p[3] != '\0' && !strchr(v, ' ');
}

static int digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int is_rfc3339(const char *v)
{
	size_t n = strlen(v), i = 19;

	if (n < 20 || !digits(v, 4) || v[4] != '-' || !digits(v + 5, 2) || v[7] != '-' ||
	    !digits(v + 8, 2) || (v[10] != 'T' && v[10] != 't' && v[10] != ' ') ||
	    !digits(v + 11, 2) || v[13] != ':' || !digits(v + 14, 2) || v[16] != ':' ||
	    !digits(v + 17, 2))
		return 0;
	if (v[i] == '.') {
		size_t k = ++i;

		while (isdigit((unsigned char)v[i]))
			i++;
		if (i == k)
			return 0;
	}
	if ((v[i] == 'Z' || v[i] == 'z') && v[i + 1] == '\0')
		return 1;
	return (v[i] == '+' || v[i] == '-') && strlen(v + i) == 6 && digits(v + i + 1, 2) &&
	       v[i + 3] == ':' && digits(v + i + 4, 2);
}

static int is_semver(const char *v)
{
	const char *p = v;

	for (int part = 0; part < 3; part++) {
		const char *s = p;

		while (isdigit((unsigned char)*p))
			p++;
		if (p == s || (p - s > 1 && *s == '0'))
			return 0;
		if (part < 2 && *p++ != '.')
			return 0;
	}
	if (*p == '-' || *p == '+') {
		p++;
		if (!*p)
			return 0;
		for (; *p; p++)
			if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' || *p == '+'))
				return 0;
	}
	return *p == '\0';
}

static int is_git_hash(const char *v)
{
	size_t n = strlen(v);

	if (n != 7 && n != 40)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)v[i]))
			return 0;
	return 1;
}

static int is_email(const char *v)
{
	const char *at = strchr(v, '@');

	return at && at > v && strchr(at + 1, '.') && !strchr(at + 1, '@') && !strchr(v, ' ') &&
	       at[1] != '.' && v[strlen(v) - 1] != '.';
}

/* SPDX: the common license ids, LicenseRef-*, and AND/OR/WITH expressions of them. */
static int spdx_id(const char *s, size_t n)
{
	static const char *const ids[] = {"0BSD",
					  "AGPL-3.0",
					  "AGPL-3.0-only",
					  "AGPL-3.0-or-later",
					  "Apache-1.1",
					  "Apache-2.0",
					  "Artistic-2.0",
					  "BSD-2-Clause",
					  "BSD-3-Clause",
					  "BSL-1.0",
					  "CC0-1.0",
					  "CC-BY-4.0",
					  "CC-BY-SA-4.0",
					  "CDDL-1.0",
					  "EPL-1.0",
					  "EPL-2.0",
					  "EUPL-1.2",
					  "GPL-2.0",
					  "GPL-2.0-only",
					  "GPL-2.0-or-later",
					  "GPL-3.0",
					  "GPL-3.0-only",
					  "GPL-3.0-or-later",
					  "ISC",
					  "LGPL-2.1",
					  "LGPL-2.1-only",
					  "LGPL-2.1-or-later",
					  "LGPL-3.0",
					  "LGPL-3.0-only",
					  "LGPL-3.0-or-later",
					  "MIT",
					  "MIT-0",
					  "MPL-1.1",
					  "MPL-2.0",
					  "OpenSSL",
					  "PostgreSQL",
					  "Python-2.0",
					  "Unlicense",
					  "UPL-1.0",
					  "Zlib",
					  "WTFPL",
					  "Classpath-exception-2.0",
					  "LLVM-exception",
					  NULL};

	if (n > 11 && strncmp(s, "LicenseRef-", 11) == 0)
		return 1;
	if (n > 0 && s[n - 1] == '+')
		n--;
	for (size_t i = 0; ids[i]; i++)
		if (strlen(ids[i]) == n && strncmp(ids[i], s, n) == 0)
			return 1;
	return 0;
}

static int is_spdx(const char *v)
{
	const char *p = v;
	int want_id = 1;

	while (*p) {
		size_t n;

		while (*p == ' ' || *p == '(' || *p == ')')
			p++;
		if (!*p)
			break;
		n = strcspn(p, " ()");
		if (want_id) {
			if (!spdx_id(p, n))
				return 0;
		} else if (!((n == 3 && (strncmp(p, "AND", 3) == 0)) ||
			     (n == 2 && strncmp(p, "OR", 2) == 0) ||
			     (n == 4 && strncmp(p, "WITH", 4) == 0))) {
			return 0;
		}
		want_id = !want_id;
		p += n;
	}
	return !want_id;
}

static const berth_lint_label *schema(const berth_lint_config *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->nlabels; i++)
		if (strcmp(cfg->labels[i].name, key) == 0)
			return &cfg->labels[i];
	return NULL;
}

static void check_value(lint_ctx *c, const berth_df_instr *in, const berth_df_kv *kv,
			const berth_lint_label *l)
{
	char buf[1024];
	const char *v = unquote(kv->value, buf, sizeof(buf));
	const char *t = l->type;

	if (v[0] == '\0') {
		berth_lint__emit(c, "DL3051", in, kv->pos, "Label `%s` is empty.", kv->key);
		return;
	}
	if (strchr(v, '$'))
		return;
	if (strcmp(t, "url") == 0 && !is_url(v))
		berth_lint__emit(c, "DL3052", in, kv->pos, "Label `%s` is not a valid URL.",
				 kv->key);
	else if (strcmp(t, "rfc3339") == 0 && !is_rfc3339(v))
		berth_lint__emit(c, "DL3053", in, kv->pos,
				 "Label `%s` is not a valid time format - must conform to RFC3339.",
				 kv->key);
	else if (strcmp(t, "spdx") == 0 && !is_spdx(v))
		berth_lint__emit(c, "DL3054", in, kv->pos,
				 "Label `%s` is not a valid SPDX license identifier.", kv->key);
	else if (strcmp(t, "hash") == 0 && !is_git_hash(v))
		berth_lint__emit(c, "DL3055", in, kv->pos, "Label `%s` is not a valid git hash.",
				 kv->key);
	else if (strcmp(t, "semver") == 0 && !is_semver(v))
		berth_lint__emit(c, "DL3056", in, kv->pos,
				 "Label `%s` does not conform to semantic versioning.", kv->key);
	else if (strcmp(t, "email") == 0 && !is_email(v))
		berth_lint__emit(c, "DL3058", in, kv->pos,
				 "Label `%s` is not a valid email format - must conform to "
				 "RFC5322.",
				 kv->key);
}

static void label_instrs(lint_ctx *c)
{
	for (size_t i = 0; i < c->df->ninstrs; i++) {
		const berth_df_instr *in = &c->df->instrs[i];

		if (in->kind != BERTH_DF_LABEL)
			continue;
		for (size_t k = 0; k < in->nkvs; k++) {
			const berth_df_kv *kv = &in->kvs[k];
			const berth_lint_label *l = schema(c->cfg, kv->key);
			char buf[1024];

			if (!label_key_ok(unquote(kv->key, buf, sizeof(buf))))
				berth_lint__emit(c, "DL3048", in, kv->pos, NULL);
			if (l)
				check_value(c, in, kv, l);
			else if (c->cfg->strict_labels)
				berth_lint__emit(c, "DL3050", in, kv->pos,
						 "Superfluous label(s) present: `%s`.", kv->key);
		}
	}
}

/* 1 if stage s (or one it is built FROM) has a LABEL `key` / a HEALTHCHECK. */
static int stage_has(const lint_ctx *c, size_t s, const char *key)
{
	for (int guard = 0; guard < 64; guard++) {
		const berth_df_stage *st = &c->df->stages[s];
		size_t parent;

		for (size_t i = st->first; i < st->end; i++) {
			const berth_df_instr *in = &c->df->instrs[i];

			if (!key && in->kind == BERTH_DF_HEALTHCHECK)
				return 1;
			for (size_t k = 0; key && in->kind == BERTH_DF_LABEL && k < in->nkvs; k++)
				if (strcmp(in->kvs[k].key, key) == 0)
					return 1;
		}
		if (!st->base || !berth_lint__stage_ref(c, st->base, s, &parent))
			return 0;
		s = parent;
	}
	return 0;
}

void berth_lint__hadolint_labels(lint_ctx *c)
{
	size_t last;

	label_instrs(c);
	if (c->df->nstages == 0)
		return;
	last = c->df->nstages - 1;
	for (size_t i = 0; i < c->cfg->nlabels; i++)
		if (!stage_has(c, last, c->cfg->labels[i].name))
			berth_lint__emit(c, "DL3049", &c->df->instrs[c->df->stages[last].from],
					 NOPOS, "Label `%s` is missing.", c->cfg->labels[i].name);
	if (!stage_has(c, last, NULL))
		berth_lint__emit(c, "DL3057", &c->df->instrs[c->df->stages[last].from], NOPOS,
				 NULL);
}
