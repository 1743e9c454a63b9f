/*
 * cvss.c - CVSS v3.0/v3.1 base scores from vectors (FIRST's CVSS v3.1
 * specification, section 7: base metric equations and the Roundup
 * function), for advisories whose source gives a vector but no rating.
 */
#include "internal.h"

#include <math.h>
#include <string.h>

#define CVSS_VECTOR_MAX 256

typedef struct metric {
	const char *key;
	const char *values; /* accepted value letters */
	int seen;
	char v;
} metric;

static int bad(const char *vec, const char *why)
{
	return berth_error_set(BERTH_EINVALID, "invalid CVSS v3 vector '%.100s': %s", vec, why);
}

/* CVSS v3.1 Roundup: the smallest one-decimal number >= x, robust to float error. */
static double roundup(double x)
{
	long i = lround(x * 100000);

	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (floor((double)i / 10000.0) + 1) / 10.0;
}

static double weight(char metric_key0, const char *key, char v, int changed)
{
	if (strcmp(key, "AV") == 0)
		return v == 'N' ? 0.85 : v == 'A' ? 0.62 : v == 'L' ? 0.55 : 0.2;
	if (strcmp(key, "AC") == 0)
		return v == 'L' ? 0.77 : 0.44;
	if (strcmp(key, "PR") == 0)
		return v == 'N'	  ? 0.85
		       : v == 'L' ? (changed ? 0.68 : 0.62)
				  : (changed ? 0.5 : 0.27);
	if (strcmp(key, "UI") == 0)
		return v == 'N' ? 0.85 : 0.62;
	(void)metric_key0;
	return v == 'H' ? 0.56 : v == 'L' ? 0.22 : 0; /* C, I, A */
}

int berth_vulndb_cvss3_score(const char *vector, double *score)
{
	metric m[] = {{"AV", "NALP", 0, 0}, {"AC", "LH", 0, 0}, {"PR", "NLH", 0, 0},
		      {"UI", "NR", 0, 0},   {"S", "UC", 0, 0},	{"C", "HLN", 0, 0},
		      {"I", "HLN", 0, 0},   {"A", "HLN", 0, 0}};
	const size_t nm = sizeof(m) / sizeof(m[0]);
	const char *p;
	double iss, impact, expl;
	int changed;

	if (!vector || strnlen(vector, CVSS_VECTOR_MAX + 1) > CVSS_VECTOR_MAX)
		return bad(vector ? vector : "", "missing or too long");
	if (strncmp(vector, "CVSS:3.1/", 9) != 0 && strncmp(vector, "CVSS:3.0/", 9) != 0)
		return bad(vector, "does not start with CVSS:3.0/ or CVSS:3.1/");
	for (p = vector + 9; *p;) {
		const char *colon = strchr(p, ':'), *end = strchr(p, '/');
		size_t klen;

		if (!end)
			end = p + strlen(p);
		if (!colon || colon > end || colon == p || end == colon + 1)
			return bad(vector, "expected METRIC:VALUE parts");
		klen = (size_t)(colon - p);
		for (size_t i = 0; i < nm; i++) {
			if (strlen(m[i].key) != klen || memcmp(m[i].key, p, klen) != 0)
				continue;
			if (m[i].seen)
				return bad(vector, "a metric appears twice");
			if (end != colon + 2 || !strchr(m[i].values, colon[1]))
				return bad(vector, "unknown metric value");
			m[i].seen = 1;
			m[i].v = colon[1];
		}
		p = *end ? end + 1 : end;
	}
	for (size_t i = 0; i < nm; i++)
		if (!m[i].seen)
			return bad(vector, "a base metric is missing");
	changed = m[4].v == 'C';
	iss = 1 - (1 - weight('C', "C", m[5].v, changed)) *
			  (1 - weight('I', "I", m[6].v, changed)) *
			  (1 - weight('A', "A", m[7].v, changed));
	impact = changed ? 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15) : 6.42 * iss;
	expl = 8.22 * weight(0, "AV", m[0].v, changed) * weight(0, "AC", m[1].v, changed) *
	       weight(0, "PR", m[2].v, changed) * weight(0, "UI", m[3].v, changed);
	if (impact <= 0)
		*score = 0;
	else if (changed)
		*score = roundup(fmin(1.08 * (impact + expl), 10));
	else
		*score = roundup(fmin(impact + expl, 10));
	return 0;
}

const char *berth_vulndb_cvss_rating(double score)
{
	if (score <= 0)
		return "NONE";
	if (score < 4.0)
		return "LOW";
	if (score < 7.0)
		return "MEDIUM";
	if (score < 9.0)
		return "HIGH";
	return "CRITICAL";
}
