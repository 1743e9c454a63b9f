/*
 * license.c - which licence strings are SPDX expressions: identifiers from
 * the SPDX licence list (the ones packages commonly declare; anything else
 * becomes a LicenseRef / named licence in the documents), optionally with
 * "+", joined by AND, OR, WITH (an exception id) and parentheses.
 */
#include "internal.h"

#include <ctype.h>
#include <string.h>

static const char *const ids[] = {
	"0BSD",
	"AFL-2.1",
	"AFL-3.0",
	"AGPL-3.0",
	"AGPL-3.0-only",
	"AGPL-3.0-or-later",
	"Apache-1.1",
	"Apache-2.0",
	"Artistic-1.0",
	"Artistic-1.0-Perl",
	"Artistic-2.0",
	"BlueOak-1.0.0",
	"BSD-1-Clause",
	"BSD-2-Clause",
	"BSD-3-Clause",
	"BSD-4-Clause",
	"BSL-1.0",
	"bzip2-1.0.6",
	"CC-BY-3.0",
	"CC-BY-4.0",
	"CC-BY-SA-3.0",
	"CC-BY-SA-4.0",
	"CC0-1.0",
	"CDDL-1.0",
	"CDDL-1.1",
	"CPL-1.0",
	"curl",
	"EPL-1.0",
	"EPL-2.0",
	"EUPL-1.1",
	"EUPL-1.2",
	"FTL",
	"GFDL-1.2",
	"GFDL-1.2-only",
	"GFDL-1.2-or-later",
	"GFDL-1.3",
	"GFDL-1.3-only",
	"GFDL-1.3-or-later",
	"GPL-1.0",
	"GPL-1.0-only",
	"GPL-1.0-or-later",
	"GPL-1.0+",
	"GPL-2.0",
	"GPL-2.0-only",
	"GPL-2.0-or-later",
	"GPL-2.0+",
	"GPL-3.0",
	"GPL-3.0-only",
	"GPL-3.0-or-later",
	"GPL-3.0+",
	"HPND",
	"ICU",
	"IJG",
	"ISC",
	"LGPL-2.0",
	"LGPL-2.0-only",
	"LGPL-2.0-or-later",
	"LGPL-2.0+",
	"LGPL-2.1",
	"LGPL-2.1-only",
	"LGPL-2.1-or-later",
	"LGPL-2.1+",
	"LGPL-3.0",
	"LGPL-3.0-only",
	"LGPL-3.0-or-later",
	"LGPL-3.0+",
	"Libpng",
	"libtiff",
	"MIT",
	"MIT-0",
	"MPL-1.1",
	"MPL-2.0",
	"MS-PL",
	"NCSA",
	"OFL-1.1",
	"OpenSSL",
	"PHP-3.01",
	"PostgreSQL",
	"PSF-2.0",
	"Python-2.0",
	"Ruby",
	"Sleepycat",
	"Unicode-DFS-2016",
	"Unlicense",
	"UPL-1.0",
	"W3C",
	"WTFPL",
	"X11",
	"Zlib",
	"ZPL-2.1",
};

static const char *const exceptions[] = {"Classpath-exception-2.0", "GCC-exception-3.1",
					 "LLVM-exception",	    "OpenSSL-exception",
					 "Autoconf-exception-3.0",  "Bison-exception-2.2"};

static int known(const char *s, size_t n, const char *const *list, size_t count)
{
	if (n && s[n - 1] == '+')
		n--;
	for (size_t i = 0; i < count; i++)
		if (strlen(list[i]) == n && strncasecmp(list[i], s, n) == 0)
			return 1;
	return 0;
}

int berth_sbom_is_spdx_expression(const char *expr)
{
	const char *p = expr;
	int depth = 0, want_id = 1, after_with = 0, any = 0;

	if (!expr)
		return 0;
	while (*p) {
		size_t n;

		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (*p == '(') {
			if (!want_id)
				return 0;
			depth++;
			p++;
			continue;
		}
		if (*p == ')') {
			if (want_id || --depth < 0)
				return 0;
			p++;
			continue;
		}
		n = strcspn(p, " \t()");
		if (want_id) {
			if (after_with ? !known(p, n, exceptions,
						sizeof(exceptions) / sizeof(*exceptions))
				       : !known(p, n, ids, sizeof(ids) / sizeof(*ids)))
				return 0;
			want_id = 0;
			after_with = 0;
			any = 1;
		} else {
			if (n == 3 && strncmp(p, "AND", 3) == 0)
				want_id = 1;
			else if (n == 2 && strncmp(p, "OR", 2) == 0)
				want_id = 1;
			else if (n == 4 && strncmp(p, "WITH", 4) == 0)
				want_id = after_with = 1;
			else
				return 0;
		}
		p += n;
	}
	return any && !want_id && depth == 0;
}

/* The canonical case of a known id (for "mit" → "MIT"); the text itself otherwise. */
const char *berth_sbom__canonical_id(const char *s)
{
	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++)
		if (strcasecmp(ids[i], s) == 0)
			return ids[i];
	return s;
}
