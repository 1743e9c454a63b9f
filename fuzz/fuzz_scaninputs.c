/*
 * fuzz_scaninputs.c - libFuzzer target: what `berth scan` reads besides
 * images (src/lib/scan): the first byte picks .trivyignore, its YAML form,
 * a VEX document (OpenVEX or CycloneDX) or an SBOM file (CycloneDX/SPDX
 * JSON); the rest is the file. Ignore files and VEX run over a report of a
 * few findings; afterwards every finding must still be well formed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "berth/scan.h"

static char dir[64];

static int put(berth_catalog *c, berth_pkg_type t, const char *name, const char *version,
	       const char *purl, const char *path)
{
	berth_package p = {0};

	p.type = t;
	p.name = (char *)name;
	p.version = (char *)version;
	p.purl = (char *)purl;
	p.path = (char *)path;
	return berth_catalog_add(c, &p);
}

static berth_scan_report *report(void)
{
	static const char *const ids[][2] = {{"CVE-2023-5363", "DSA-5532-1"},
					     {"GHSA-35jh-r3h4-6jhm", "CVE-2021-23337"},
					     {"CVE-2010-4756", ""}};
	berth_scan_report *r = calloc(1, sizeof(*r));

	if (!r || !(r->catalog = berth_catalog_new()) ||
	    put(r->catalog, BERTH_PKG_DEB, "openssl", "3.0.11-1~deb12u1",
		"pkg:deb/debian/openssl@3.0.11-1~deb12u1?arch=amd64&distro=debian-12.2",
		"/var/lib/dpkg/status") != 0 ||
	    put(r->catalog, BERTH_PKG_NPM, "lodash", "4.17.20", "pkg:npm/lodash@4.17.20",
		"/srv/a/node_modules/lodash/package.json") != 0 ||
	    !(r->findings = calloc(3, sizeof(*r->findings))))
		goto fail;
	r->cap = 3;
	for (size_t i = 0; i < 3; i++) {
		berth_scan_finding *f = &r->findings[r->n++];

		f->pkg = i == 1;
		f->id = strdup(ids[i][0]);
		f->aliases = strdup(ids[i][1]);
		f->fixed = strdup(i == 2 ? "" : "1");
		f->status = strdup("fixed");
		f->summary = strdup("");
		f->source = strdup("fuzz");
		f->ecosystem = strdup("Debian:12");
		f->matched = strdup("openssl");
		f->installed = strdup("1");
		f->cvss = -1;
	}
	return r;
fail:
	berth_scan_report_free(r);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {".trivyignore", "ignore.yaml", "vex.json", "sbom.json"};
	berth_scan_report *r;
	berth_catalog *c = NULL;
	char path[128];
	FILE *f;
	int kind;

	if (size < 1)
		return 0;
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/berth-fuzz-scan-XXXXXX");
		if (!mkdtemp(dir))
			abort();
	}
	kind = data[0] % 4;
	snprintf(path, sizeof(path), "%s/%s", dir, names[kind]);
	if (!(f = fopen(path, "wb")))
		abort();
	if (fwrite(data + 1, 1, size - 1, f) != size - 1 || fclose(f) != 0)
		abort();
	if (kind == 3) {
		if (berth_scan_sbom_load(&c, path) == 0 && !c)
			abort();
		berth_catalog_free(c);
		return 0;
	}
	if (!(r = report()))
		return 0;
	if ((kind == 2 ? berth_scan_vex_file(r, path)
		       : berth_scan_ignore_file(r, path, 1700000000)) != 0 &&
	    !berth_error_last()[0])
		abort(); /* a failure always says why */
	for (size_t i = 0; i < r->n; i++)
		if (!r->findings[i].id || r->findings[i].pkg >= r->catalog->npkgs)
			abort();
	berth_scan_report_free(r);
	return 0;
}
