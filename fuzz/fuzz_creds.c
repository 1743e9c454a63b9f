/*
 * fuzz_creds.c - libFuzzer target for credential files: docker
 * config.json / containers auth.json entries (berth_client__creds_from,
 * src/lib/client/creds.c: host key matching and base64 "auth" decoding).
 *
 * The first byte picks the host looked up; the rest is the file. Credential
 * helpers ("credHelpers", "credsStore") are removed before the lookup so the
 * fuzzer never runs programs. Invariants: success yields both user and
 * password; failure (only ENOTFOUND or EINVALID) yields neither.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/client/internal.h"

static const char *const hosts[] = {
	"docker.io",	  "registry-1.docker.io", "quay.io",	     "localhost:5000",
	"127.0.0.1:5000", "example.com",	  "index.docker.io", "a",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *user = NULL, *pass = NULL;
	json_t *root;
	int rc;

	if (size < 1)
		return 0;
	root = json_loadb((const char *)data + 1, size - 1, 0, NULL);
	if (!root)
		return 0;
	if (json_is_object(root)) {
		json_object_del(root, "credHelpers");
		json_object_del(root, "credsStore");
	}
	rc = berth_client__creds_from(root, "fuzz.json", hosts[data[0] % 8], &user, &pass);
	if (rc == 0) {
		if (!user || !pass)
			abort();
	} else if ((rc != BERTH_ENOTFOUND && rc != BERTH_EINVALID) || user || pass) {
		abort();
	}
	berth_client_creds_dispose(user, pass);
	json_decref(root);
	return 0;
}
