/*
 * check.c - BuildKit's instruction-level validation (instructions/parse.go
 * and bflag.go): what `docker build` refuses after parsing and before
 * running anything. Messages are BuildKit's; positions point at the
 * offending word or flag.
 */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

typedef enum { F_STRING, F_STRINGS, F_BOOL } ftype;

typedef struct fspec {
	const char *name;
	ftype type;
} fspec;

static const fspec add_flags[] = {{"chown", F_STRING},	  {"chmod", F_STRING},
				  {"link", F_BOOL},	  {"keep-git-dir", F_BOOL},
				  {"checksum", F_STRING}, {"exclude", F_STRINGS},
				  {"unpack", F_BOOL},	  {NULL, F_STRING}};
static const fspec copy_flags[] = {{"chown", F_STRING}, {"from", F_STRING},  {"chmod", F_STRING},
				   {"link", F_BOOL},	{"parents", F_BOOL}, {"exclude", F_STRINGS},
				   {NULL, F_STRING}};
static const fspec from_flags[] = {{"platform", F_STRING}, {NULL, F_STRING}};
static const fspec run_flags[] = {
	{"mount", F_STRINGS}, {"network", F_STRING}, {"security", F_STRING}, {NULL, F_STRING}};
static const fspec hc_flags[] = {{"interval", F_STRING},     {"timeout", F_STRING},
				 {"start-period", F_STRING}, {"start-interval", F_STRING},
				 {"retries", F_STRING},	     {NULL, F_STRING}};
static const fspec no_flags[] = {{NULL, F_STRING}};

static const fspec *flags_of(const berth_df_instr *in)
{
	switch (in->kind) {
	case BERTH_DF_ADD: return add_flags;
	case BERTH_DF_COPY: return copy_flags;
	case BERTH_DF_FROM: return from_flags;
	case BERTH_DF_RUN: return run_flags;
	case BERTH_DF_HEALTHCHECK: return hc_flags;
	default: return no_flags;
	}
}

/* BFlags.Parse. */
static int check_flags(const berth_dockerfile *df, const berth_df_instr *in, berth_df_error *err)
{
	const fspec *spec = flags_of(in);

	for (size_t i = 0; i < in->nflags; i++) {
		const berth_df_flag *f = &in->flags[i];
		const fspec *s = NULL;

		if (strncmp(f->raw, "--", 2) != 0)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, f->pos,
						      "arg should start with -- : %s", f->raw);
		if (strcmp(f->raw, "--") == 0)
			return 0;
		for (const fspec *k = spec; k->name; k++)
			if (strcmp(k->name, f->name) == 0)
				s = k;
		if (!s)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, f->pos,
						      "unknown flag: %s", f->name);
		for (size_t j = 0; j < i && s->type != F_STRINGS; j++)
			if (strcmp(in->flags[j].name, f->name) == 0)
				return berth_dockerfile__fail(df, err, BERTH_EINVALID, f->pos,
							      "duplicate flag specified: %s",
							      f->name);
		if (s->type == F_BOOL) {
			if (f->value && !*f->value)
				return berth_dockerfile__fail(df, err, BERTH_EINVALID, f->pos,
							      "missing a value on flag: %s",
							      f->name);
			if (f->value && strcasecmp(f->value, "true") != 0 &&
			    strcasecmp(f->value, "false") != 0)
				return berth_dockerfile__fail(
					df, err, BERTH_EINVALID, f->pos,
					"expecting boolean value for flag %s, not: %s", f->name,
					f->value);
		} else if (!f->value) {
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, f->pos,
						      "missing a value on flag: %s", f->name);
		}
	}
	return 0;
}

/* Go's time.ParseDuration; 0 on success with *ns set. */
int berth_dockerfile__parse_duration(const char *s, double *ns)
{
	static const struct {
		const char *u;
		double mul;
	} units[] = {{"ns", 1},	  {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
		     {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},	   {"h", 3600e9}};
	double total = 0;
	int neg = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		double v;
		size_t best = 0;
		double mul = 0;

		if (!(isdigit((unsigned char)*s) || *s == '.'))
			return -1;
		errno = 0;
		v = strtod(s, &end);
		if (end == s || errno)
			return -1;
		/* strtod accepts exponents and hex; Go does not. */
		for (const char *p = s; p < end; p++)
			if (!isdigit((unsigned char)*p) && *p != '.')
				return -1;
		s = end;
		for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			size_t l = strlen(units[k].u);

			if (strncmp(s, units[k].u, l) == 0 && l > best) {
				best = l;
				mul = units[k].mul;
			}
		}
		if (!best)
			return -1;
		s += best;
		total += v * mul;
	}
	*ns = neg ? -total : total;
	return 0;
}

static int check_healthcheck(const berth_dockerfile *df, const berth_df_instr *in,
			     berth_df_error *err)
{
	static const char *const durs[] = {"interval", "timeout", "start-period", "start-interval"};
	const berth_df_flag *r;
	int rc;

	if (!in->subtype)
		return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->pos,
					      "HEALTHCHECK requires at least one argument");
	if (strcasecmp(in->subtype, "NONE") == 0) {
		if (in->nargs)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->args_pos,
						      "HEALTHCHECK NONE takes no arguments");
		return 0;
	}
	if ((rc = check_flags(df, in, err)) < 0)
		return rc;
	if (strcasecmp(in->subtype, "CMD") != 0)
		return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->args_pos,
					      "Unknown type \"%s\" in HEALTHCHECK (try CMD)",
					      in->subtype);
	if (!in->nargs)
		return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->args_pos,
					      "Missing command after HEALTHCHECK CMD");
	for (size_t i = 0; i < 4; i++) {
		const berth_df_flag *f = berth_dockerfile_flag(in, durs[i]);
		double ns;

		if (!f || !f->value || !*f->value)
			continue;
		if (berth_dockerfile__parse_duration(f->value, &ns) < 0)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, f->pos,
						      "time: invalid duration \"%s\"", f->value);
		if (ns != 0 && ns < 1e6)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, f->pos,
						      "Interval \"%s\" cannot be less than 1ms",
						      f->name);
	}
	if ((r = berth_dockerfile_flag(in, "retries")) && r->value && *r->value) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(r->value, &end, 10);
		if (*end || errno || end == r->value || v < INT32_MIN || v > INT32_MAX)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, r->pos,
						      "strconv.ParseInt: parsing \"%s\": invalid "
						      "syntax",
						      r->value);
		if (v < 0)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, r->pos,
						      "--retries cannot be negative (%lld)", v);
	}
	return 0;
}

static bool valid_stage_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z'))
		return false;
	for (s++; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

static int check_sources(const berth_dockerfile *df, const berth_df_instr *in, berth_df_error *err,
			 const char *what)
{
	char *name;
	bool expand, chomp;
	unsigned fd;
	int rc;

	if (in->nargs < 2)
		return berth_dockerfile__fail(
			df, err, BERTH_EINVALID, in->args_pos,
			"%s requires at least two arguments, but only one was "
			"provided. Destination could not be determined",
			what);
	rc = berth_dockerfile__heredoc_word(in->args[in->nargs - 1].text, &name, &expand, &chomp,
					    &fd);
	free(name);
	if (rc < 0)
		berth_error_clear();
	if (rc > 0)
		return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->args[in->nargs - 1].pos,
					      "%s cannot accept a heredoc as a destination", what);
	return 0;
}

static int check_one(const berth_dockerfile *df, const berth_df_instr *in, berth_df_error *err)
{
	const char *kn = berth_dockerfile_kind_name(in->kind);
	int rc;

	if (in->kind == BERTH_DF_HEALTHCHECK)
		return check_healthcheck(df, in, err);
	if ((rc = check_flags(df, in, err)) < 0)
		return rc;
	switch (in->kind) {
	case BERTH_DF_UNKNOWN:
		return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->pos,
					      "unknown instruction: %s", in->name);
	case BERTH_DF_FROM:
		if (in->nargs == 3 && berth_dockerfile__strcaseeq(in->args[1].text, "as")) {
			if (!valid_stage_name(in->args[2].text))
				return berth_dockerfile__fail(
					df, err, BERTH_EINVALID, in->args[2].pos,
					"invalid name for build stage: \"%s\", name can't start "
					"with a number or contain symbols",
					in->args[2].text);
		} else if (in->nargs != 1) {
			return berth_dockerfile__fail(
				df, err, BERTH_EINVALID, in->nargs ? in->args_pos : in->pos,
				"FROM requires either one or three arguments");
		}
		return 0;
	case BERTH_DF_ADD:
	case BERTH_DF_COPY: return check_sources(df, in, err, kn);
	case BERTH_DF_ENV:
	case BERTH_DF_LABEL:
		if (!in->nkvs)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->pos,
						      "%s requires at least one argument", kn);
		for (size_t i = 0; i < in->nkvs; i++)
			if (!*in->kvs[i].key)
				return berth_dockerfile__fail(df, err, BERTH_EINVALID,
							      in->kvs[i].pos,
							      "%s names can not be blank", kn);
		return 0;
	case BERTH_DF_ARG:
		if (!in->nkvs)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->pos,
						      "ARG requires at least one argument");
		for (size_t i = 0; i < in->nkvs; i++)
			if (!*in->kvs[i].key)
				return berth_dockerfile__fail(df, err, BERTH_EINVALID,
							      in->kvs[i].pos,
							      "ARG names can not be blank");
		return 0;
	case BERTH_DF_MAINTAINER:
	case BERTH_DF_WORKDIR:
	case BERTH_DF_USER:
	case BERTH_DF_STOPSIGNAL:
		if (in->nargs != 1)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->pos,
						      "%s requires exactly one argument", kn);
		return 0;
	case BERTH_DF_EXPOSE:
	case BERTH_DF_VOLUME:
		if (!in->nargs)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->pos,
						      "%s requires at least one argument", kn);
		for (size_t i = 0; in->kind == BERTH_DF_VOLUME && i < in->nargs; i++) {
			const char *t = in->args[i].text;
			size_t n = strlen(t);

			if (berth_dockerfile__trim_left(t, n) == n)
				return berth_dockerfile__fail(
					df, err, BERTH_EINVALID, in->args[i].pos,
					"VOLUME specified can not be an empty string");
		}
		return 0;
	case BERTH_DF_SHELL:
		if (!in->nargs)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->pos,
						      "SHELL requires at least one argument");
		if (in->form != BERTH_DF_FORM_JSON)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->args_pos,
						      "SHELL requires the arguments to be in JSON "
						      "form");
		return 0;
	case BERTH_DF_ONBUILD:
		if (!in->sub)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->pos,
						      "ONBUILD requires at least one argument");
		if (in->sub->kind == BERTH_DF_ONBUILD)
			return berth_dockerfile__fail(
				df, err, BERTH_EINVALID, in->sub->pos,
				"Chaining ONBUILD via `ONBUILD ONBUILD` isn't "
				"allowed");
		if (in->sub->kind == BERTH_DF_MAINTAINER || in->sub->kind == BERTH_DF_FROM)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->sub->pos,
						      "%s isn't allowed as an ONBUILD trigger",
						      berth_dockerfile_kind_name(in->sub->kind));
		return 0;
	default: return 0;
	}
}

int berth_dockerfile_check(const berth_dockerfile *df, berth_df_error *err)
{
	int rc;

	if (err)
		memset(err, 0, sizeof(*err));
	for (size_t i = 0; i < df->ninstrs; i++) {
		const berth_df_instr *in = &df->instrs[i];

		if ((rc = check_one(df, in, err)) < 0)
			return rc;
		if (in->stage == BERTH_DF_NO_STAGE && in->kind != BERTH_DF_ARG &&
		    in->kind != BERTH_DF_FROM)
			return berth_dockerfile__fail(df, err, BERTH_EINVALID, in->pos,
						      "no build stage in current context");
	}
	return 0;
}
