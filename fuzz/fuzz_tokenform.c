/*
 * fuzz_tokenform.c - libFuzzer target for the POST /token form
 * (application/x-www-form-urlencoded: grant_type, username, password, scope;
 * src/lib/auth/service.c), sent by an anonymous caller through the exchange
 * lifecycle the server drives, over a real database with one administrator.
 *
 * Invariants: see auth_env.h (no 5xx, JSON answers parse). Failed logins
 * are throttled as in production, so most inputs past the first few reach
 * the form parser and the throttle, not bcrypt.
 */
#include "auth_env.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_env *e = fuzz_env_get();

	(void)fuzz_run(&e->anonymous, "POST", "/token", data, size);
	return 0;
}
