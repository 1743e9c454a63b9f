/*
 * fuzz_replrules.c - libFuzzer target for replication rule sets (JSON, as
 * the config file's sections arrive converted and as API bodies arrive;
 * src/lib/replicate/rules.c).
 *
 * Invariants: parse returns 0 or a listed error; a parsed set's rules all
 * have a name and an http(s) remote, and can be matched against any name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/replicate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_repl_rules set = {0};
	int rc = berth_repl_rules_parse(&set, (const char *)data, size, 1);

	if (rc != 0 && rc != BERTH_EINVALID && rc != BERTH_EEXISTS && rc != BERTH_ETOOBIG &&
	    rc != BERTH_ERROR)
		abort();
	for (size_t i = 0; i < set.nrules; i++) {
		berth_repl_rule *r = &set.rules[i];

		if (!r->name || !r->remote || strncmp(r->remote, "http", 4) != 0)
			abort();
		(void)berth_repl_rule_matches(r, "apps/web", "1.0");
	}
	berth_repl_rules_dispose(&set);
	return 0;
}
