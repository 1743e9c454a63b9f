/*
 * scantarget.c - TARGET of the scanning commands as a catalogue (see
 * scantarget.h): an SBOM file by content, a directory as rootfs:, anything
 * else as an image name for berth_catalog_scan.
 */
#include "scantarget.h"

#include "cli.h"

#include "berth/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void scan_target_catalog_options(const scan_target_opts *o, berth_catalog_options *co)
{
	berth_catalog_options_init(co);
	co->transport = o->transport;
	co->platform = o->platform;
	co->cache = o->no_cache ? "" : o->cache;
	co->no_files = 1; /* no scanning command shows file lists */
}

int scan_target_load(const char *cmd, const char *target, const scan_target_opts *o,
		     berth_catalog **out)
{
	berth_catalog_options co;
	struct stat st;
	char *rootfs = NULL;
	int rc;

	if (!strchr(target, ':') && stat(target, &st) == 0 && S_ISREG(st.st_mode)) {
		if (!berth_scan_is_sbom(target))
			return berth_cli_fail(
				cmd, -1,
				"%s: a file that is not a CycloneDX or SPDX JSON SBOM "
				"(an image archive needs oci-archive: or "
				"docker-archive:)",
				target);
		if (berth_scan_sbom_load(out, target) != 0)
			return berth_cli_fail(cmd, -1, "%s", berth_error_last());
		return 0;
	}
	if (!strchr(target, ':') && stat(target, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (asprintf(&rootfs, "rootfs:%s", target) < 0)
			return berth_cli_fail(cmd, -1, "out of memory");
		target = rootfs;
	}
	scan_target_catalog_options(o, &co);
	rc = berth_catalog_scan(out, target, &co);
	if (rc != 0)
		berth_cli_fail(cmd, 1, "%s: %s", target, berth_error_last());
	free(rootfs);
	return rc != 0 ? -1 : 0;
}

int scan_target_db_path(const char *cmd, const char *db, char *buf, size_t len)
{
	if (db) {
		snprintf(buf, len, "%s", db);
		return 0;
	}
	if (berth_vulndb_default_path(buf, len) != 0)
		return berth_cli_fail(cmd, -1, "%s", berth_error_last());
	return 0;
}
