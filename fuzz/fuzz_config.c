/*
 * fuzz_config.c - libFuzzer target for the YAML config file of `berth serve`
 * (berth_server_config_parse, src/server/config.c; built into this target,
 * as the server is not part of libberth).
 *
 * Invariants: on success every bounded setting lies within its bounds and
 * the strings a server needs are set; on failure a message is set; either
 * way the config disposes cleanly (ASan/LSan see the rest).
 */
#include <stdint.h>
#include <stdlib.h>

#include "berth/oci.h"
#include "server/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	berth_server_config cfg;
	int rc;

	if (berth_server_config_defaults(&cfg) != 0)
		return 0;
	rc = berth_server_config_parse(&cfg, (const char *)data, size, "fuzz.yml");
	if (rc == 0) {
		if (!cfg.listen || !cfg.data_dir || !cfg.token_issuer || !cfg.token_service)
			abort();
		if (cfg.max_manifest_bytes < 1024 ||
		    cfg.max_manifest_bytes > BERTH_MANIFEST_CEILING)
			abort();
		if (cfg.threads < 1 || cfg.threads > 1024 || cfg.idle_timeout < 1 ||
		    cfg.max_header_bytes < 4096 || cfg.token_expiration < 10 ||
		    cfg.token_expiration > 86400)
			abort();
	} else if (!berth_error_last()[0]) {
		abort();
	}
	berth_server_config_dispose(&cfg);
	return 0;
}
