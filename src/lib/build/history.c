/*
 * history.c - the history entries' created_by text as BuildKit 20.10 (0.8's
 * Dockerfile frontend) writes it: much of it is Go's fmt output of the
 * instruction's values (%q of a []string is ["a" "b"], %v is [a b], %v of a
 * map is map[k:{} ...], %q of a HealthConfig is &{[...] "30s" ... '\x03'}),
 * and a RUN names the build args in scope (`RUN |2 A=1 B= /bin/sh -c ...`).
 * test_build_corpus_buildkit.py compares every entry with BuildKit's.
 */
#include "lib/build/internal.h"
#include "util/buf.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* One code point of s (UTF-8) into *cp; its length, or 0 for an invalid byte. */
static size_t utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t n = s[0] < 0x80	       ? 1
		   : (s[0] >> 5) == 6  ? 2
		   : (s[0] >> 4) == 14 ? 3
		   : (s[0] >> 3) == 30 ? 4
				       : 0;
	uint32_t c = n == 1 ? s[0] : n == 2 ? s[0] & 0x1f : n == 3 ? s[0] & 0x0f : s[0] & 0x07;

	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (n == 0 || (n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Go's escape of one code point inside quotes q ('"' or '\''); 1 if it wrote one. */
static int go_escape(berth_buf *b, uint32_t c, char q, int *rc)
{
	static const char names[] = "abtnvfr"; /* \a .. \r are 7 .. 13 */

	if (c == (uint32_t)q || c == '\\')
		*rc = berth_buf_printf(b, "\\%c", (char)c);
	else if (c >= 7 && c <= 13)
		*rc = berth_buf_printf(b, "\\%c", names[c - 7]);
	else if (c < 0x20 || c == 0x7f)
		*rc = berth_buf_printf(b, "\\x%02" PRIx32, c);
	else if ((c >= 0x80 && c < 0xa0) || c == 0xad) /* not printable in Go's tables */
		*rc = berth_buf_printf(b, "\\u%04" PRIx32, c);
	else
		return 0;
	return 1;
}

int berth_build__go_quote(berth_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int rc = berth_buf_put(b, "\"", 1);

	while (rc == 0 && *p) {
		uint32_t c;
		size_t n = utf8_next(p, &c);

		if (n == 0) {
			rc = berth_buf_printf(b, "\\x%02x", *p++);
			continue;
		}
		if (!go_escape(b, c, '"', &rc))
			rc = berth_buf_put(b, (const char *)p, n);
		p += n;
	}
	return rc ? rc : berth_buf_put(b, "\"", 1);
}

/* Go's %q of a rune (HealthConfig.Retries is an int, printed as one). */
static int go_quote_rune(berth_buf *b, int64_t r)
{
	int rc = 0;

	if (r < 0 || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff))
		r = 0xfffd;
	if (berth_buf_put(b, "'", 1) < 0)
		return BERTH_ERROR;
	if (!go_escape(b, (uint32_t)r, '\'', &rc))
		rc = berth_buf_put_rune(b, (uint32_t)r);
	return rc ? rc : berth_buf_put(b, "'", 1);
}

int berth_build__go_strv(berth_buf *b, const json_t *a, int quoted)
{
	int rc = berth_buf_put(b, "[", 1);

	for (size_t i = 0; rc == 0 && i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (i && (rc = berth_buf_put(b, " ", 1)) < 0)
			break;
		rc = quoted ? berth_build__go_quote(b, s ? s : "")
			    : berth_buf_printf(b, "%s", s ? s : "");
	}
	return rc ? rc : berth_buf_put(b, "]", 1);
}

/* Go's time.Duration.String() of ns >= 0: "0s", "1.5ms", "1m30s", "1h0m0s". */
static int go_duration_string(berth_buf *b, int64_t ns)
{
	static const struct {
		int64_t div;
		const char *unit;
	} small[] = {{1, "ns"}, {1000, "\xc2\xb5s"}, {1000000, "ms"}};
	char frac[16];
	int64_t whole, rest, div;
	const char *unit = "s";
	int rc = 0;

	if (ns <= 0)
		return berth_buf_printf(b, "0s");
	div = 1000000000LL;
	if (ns < 1000000000LL) {
		size_t k = ns < 1000 ? 0 : ns < 1000000 ? 1 : 2;

		div = small[k].div;
		unit = small[k].unit;
	} else {
		int64_t s = ns / 1000000000LL;

		if (s >= 3600)
			rc = berth_buf_printf(b, "%" PRId64 "h%" PRId64 "m", s / 3600, s / 60 % 60);
		else if (s >= 60)
			rc = berth_buf_printf(b, "%" PRId64 "m", s / 60);
		ns = s % 60 * 1000000000LL + ns % 1000000000LL;
	}
	whole = ns / div;
	rest = ns % div;
	frac[0] = 0;
	if (rest) {
		int w = div == 1000 ? 3 : div == 1000000 ? 6 : 9;
		size_t l;

		snprintf(frac, sizeof(frac), ".%0*" PRId64, w, rest);
		for (l = strlen(frac); l > 1 && frac[l - 1] == '0'; l--)
			frac[l - 1] = 0;
	}
	return rc ? rc : berth_buf_printf(b, "%" PRId64 "%s%s", whole, frac, unit);
}

int berth_build__history_healthcheck(berth_buf *b, const json_t *h)
{
	/* 0.8's HealthConfig; StartInterval (newer BuildKit) only when set. */
	static const char *const durations[] = {"Interval", "Timeout", "StartPeriod",
						"StartInterval"};
	int rc = berth_buf_printf(b, "HEALTHCHECK &{");

	if (rc == 0)
		rc = berth_build__go_strv(b, json_object_get(h, "Test"), 1);
	for (size_t i = 0; rc == 0 && i < 4; i++) {
		json_t *v = json_object_get(h, durations[i]);

		if (i == 3 && !json_integer_value(v))
			break;
		if ((rc = berth_buf_printf(b, " \"")) == 0 &&
		    (rc = go_duration_string(b, json_integer_value(v))) == 0)
			rc = berth_buf_put(b, "\"", 1);
	}
	if (rc == 0 && (rc = berth_buf_put(b, " ", 1)) == 0)
		rc = go_quote_rune(b, json_integer_value(json_object_get(h, "Retries")));
	return rc ? rc : berth_buf_put(b, "}", 1);
}

int berth_build__history_run(berth_buf *b, const build_stage_state *st, const berth_df_vars *env,
			     const json_t *argv)
{
	int rc = berth_buf_printf(b, "RUN ");

	if (rc == 0 && st && st->ndeclared)
		rc = berth_buf_printf(b, "|%zu ", st->ndeclared);
	for (size_t i = 0; rc == 0 && st && i < st->ndeclared; i++) {
		const char *v = berth_df_vars_get(env, st->declared[i]);

		rc = berth_buf_printf(b, "%s=%s ", st->declared[i], v ? v : "");
	}
	for (size_t i = 0; rc == 0 && i < json_array_size(argv); i++)
		rc = berth_buf_printf(b, "%s%s", i ? " " : "",
				      json_string_value(json_array_get(argv, i)));
	return rc ? rc : berth_buf_printf(b, " # buildkit");
}
