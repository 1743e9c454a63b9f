/*
 * fuzz_adminapi.c - libFuzzer target for the JSON bodies of the admin API
 * (/api/v1/..., src/lib/auth/admin.c), run as the system administrator
 * through the exchange lifecycle the server drives, over a real database.
 *
 * Input layout: the first byte picks the route (below), the rest is the
 * request body. Invariants: see auth_env.h (no 5xx, JSON answers parse).
 */
#include "auth_env.h"

static const struct {
	const char *method;
	const char *path;
} routes[] = {
	{"POST", "/api/v1/users"},
	{"PUT", "/api/v1/users/fuzzuser/password"},
	{"POST", "/api/v1/projects"},
	{"PUT", "/api/v1/projects/fuzzproj"},
	{"PUT", "/api/v1/projects/fuzzproj/members/fuzzuser"},
	{"POST", "/api/v1/robots"},
};

#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static void setup(fuzz_env *e)
{
	static const char user[] = "{\"name\":\"fuzzuser\",\"password\":\"fuzz-user-password\"}";
	static const char project[] = "{\"name\":\"fuzzproj\"}";
	static int done;

	if (done)
		return;
	done = 1;
	if (fuzz_run(&e->admin, "POST", "/api/v1/users", (const uint8_t *)user, sizeof(user) - 1) !=
		    201 ||
	    fuzz_run(&e->admin, "POST", "/api/v1/projects", (const uint8_t *)project,
		     sizeof(project) - 1) != 201) {
		fprintf(stderr, "fuzz setup: cannot create the fixtures\n");
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_env *e = fuzz_env_get();
	size_t i;

	setup(e);
	if (size < 1)
		return 0;
	i = data[0] % NROUTES;
	(void)fuzz_run(&e->admin, routes[i].method, routes[i].path, data + 1, size - 1);
	return 0;
}
