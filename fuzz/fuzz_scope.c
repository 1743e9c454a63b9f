/*
 * fuzz_scope.c - libFuzzer target for scopes and action lists
 * (berth_token_scope_parse, berth_token_actions_parse, src/lib/auth/access.c).
 *
 * Invariants: a parsed scope has non-empty actions within pull|push|delete,
 * formats to text that parses back to the identical scope, and formatting
 * is a fixed point after one round.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "berth/token.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_buf a = BERTH_BUF_INIT(4096), b = BERTH_BUF_INIT(4096);
	berth_scope s, t;
	unsigned acts;

	if (berth_token_actions_parse((const char *)data, size, &acts) == 0) {
		if (acts == 0 || (acts & ~7u))
			abort();
		if (berth_token_actions_format(acts, &a) != 0)
			abort();
		berth_buf_reset(&a);
	}
	if (berth_token_scope_parse((const char *)data, size, &s) != 0)
		goto done;
	if (s.actions == 0 || (s.actions & ~7u) || !s.type[0] || !s.name[0])
		abort();
	if (berth_token_scope_format(&s, &a) != 0)
		abort();
	if (berth_token_scope_parse(a.ptr, a.len, &t) != 0)
		abort();
	if (memcmp(&s, &t, sizeof(s)) != 0)
		abort();
	if (berth_token_scope_format(&t, &b) != 0 || strcmp(a.ptr, b.ptr) != 0)
		abort();
done:
	berth_buf_dispose(&a);
	berth_buf_dispose(&b);
	return 0;
}
