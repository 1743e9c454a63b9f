/*
 * http_range.c - the two HTTP byte-range header grammars the registry API
 * needs (declared at the end of include/berth/registry.h):
 *
 *   Range: bytes=<a>-<b> | bytes=<a>- | bytes=-<n>   (blob GET, RFC 9110 14.2)
 *   Content-Range: <a>-<b> | bytes <a>-<b>[/<total> or /"*"]  (upload PATCH)
 *
 * Both are strict scanners over untrusted header values: digits only (no
 * sign, no whitespace), overflow-checked, and the input length is capped.
 * For Range, a malformed or multi-range header is BERTH_EINVALID, which the
 * caller treats as "no Range" (whole body, 200) as RFC 9110 allows; a
 * well-formed but unsatisfiable one is BERTH_ERANGE (416).
 */
#include "berth/registry.h"

#include <string.h>
#include <strings.h>

/* No legitimate single byte range header comes near this. */
#define RANGE_INPUT_MAX 256

/*
 * Parse [0-9]+ at *p. Returns 1 and advances *p on success; *overflow is set
 * (and *out saturated to UINT64_MAX) if the value does not fit in 64 bits.
 * Returns 0 if there is no digit at *p.
 */
static int parse_u64(const char **p, uint64_t *out, int *overflow)
{
	const char *s = *p;
	uint64_t v = 0;

	*overflow = 0;
	if (*s < '0' || *s > '9')
		return 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10) {
			*overflow = 1;
			v = UINT64_MAX;
		} else if (!*overflow) {
			v = v * 10 + d;
		}
	}
	*out = v;
	*p = s;
	return 1;
}

int berth_http_range_parse(const char *s, uint64_t size, uint64_t *start, uint64_t *end)
{
	const char *p;
	uint64_t a = 0, b = 0;
	int have_a, have_b, ovf_a = 0, ovf_b = 0;

	if (!s || strnlen(s, RANGE_INPUT_MAX + 1) > RANGE_INPUT_MAX)
		return berth_error_set(BERTH_EINVALID, "Range header missing or too long");
	/* The range unit is case-insensitive (RFC 9110 14.1). */
	if (strncasecmp(s, "bytes=", 6) != 0)
		return berth_error_set(BERTH_EINVALID, "Range unit must be bytes");
	p = s + 6;
	if (strchr(p, ','))
		return berth_error_set(BERTH_EINVALID, "multiple ranges are not supported");

	have_a = parse_u64(&p, &a, &ovf_a);
	if (*p != '-')
		return berth_error_set(BERTH_EINVALID, "malformed Range (want bytes=a-b)");
	p++;
	have_b = parse_u64(&p, &b, &ovf_b);
	if (*p != '\0')
		return berth_error_set(BERTH_EINVALID, "malformed Range (trailing characters)");

	if (!have_a) {
		/* Suffix range: the last b bytes. */
		if (!have_b)
			return berth_error_set(BERTH_EINVALID, "malformed Range (bytes=-)");
		if (b == 0 || size == 0)
			return berth_error_set(BERTH_ERANGE, "Range not satisfiable");
		*start = b >= size ? 0 : size - b;
		*end = size - 1;
		return 0;
	}
	if (have_b && !ovf_a && !ovf_b && b < a)
		return berth_error_set(BERTH_EINVALID, "malformed Range (end before start)");
	if (have_b && ovf_a && !ovf_b)
		return berth_error_set(BERTH_EINVALID, "malformed Range (end before start)");
	if (ovf_a || a >= size)
		return berth_error_set(BERTH_ERANGE,
				       "Range not satisfiable (start beyond %llu bytes)",
				       (unsigned long long)size);
	*start = a;
	*end = (!have_b || ovf_b || b >= size) ? size - 1 : b;
	return 0;
}

int berth_http_content_range_parse(const char *s, uint64_t *start, uint64_t *end)
{
	const char *p;
	uint64_t a, b, total;
	int ovf;

	if (!s || strnlen(s, RANGE_INPUT_MAX + 1) > RANGE_INPUT_MAX)
		return berth_error_set(BERTH_EINVALID, "Content-Range missing or too long");
	p = s;
	if (strncasecmp(p, "bytes ", 6) == 0)
		p += 6;
	if (!parse_u64(&p, &a, &ovf) || ovf)
		return berth_error_set(BERTH_EINVALID, "malformed Content-Range (want a-b)");
	if (*p++ != '-')
		return berth_error_set(BERTH_EINVALID, "malformed Content-Range (want a-b)");
	if (!parse_u64(&p, &b, &ovf) || ovf)
		return berth_error_set(BERTH_EINVALID, "malformed Content-Range (want a-b)");
	if (b < a)
		return berth_error_set(BERTH_EINVALID, "Content-Range end before start");
	if (*p == '/') {
		p++;
		if (*p == '*') {
			p++;
		} else {
			if (!parse_u64(&p, &total, &ovf) || ovf)
				return berth_error_set(BERTH_EINVALID,
						       "malformed Content-Range total");
			if (b >= total)
				return berth_error_set(BERTH_EINVALID,
						       "Content-Range end beyond total length");
		}
	}
	if (*p != '\0')
		return berth_error_set(BERTH_EINVALID,
				       "malformed Content-Range (trailing characters)");
	*start = a;
	*end = b;
	return 0;
}
