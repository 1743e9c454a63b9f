/*
 * fuzz_cvss.c - libFuzzer target for the CVSS vector parsers and scores
 * (src/lib/vulndb/cvss.c, cvss4.c): any input either fails with
 * BERTH_EINVALID or scores between 0 and 10 in steps of 0.1.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/common.h"
#include "berth/vulndb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	double score = -1;
	int rc;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	rc = berth_vulndb_cvss_score(s, &score);
	if (rc != 0 && rc != BERTH_EINVALID)
		abort();
	if (rc == 0 &&
	    (!(score >= 0 && score <= 10) || fabs(score * 10 - round(score * 10)) > 1e-6))
		abort();
	free(s);
	return 0;
}
