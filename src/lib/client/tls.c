/*
 * tls.c - per-registry TLS material, as Docker and podman lay it out:
 * /etc/containers/certs.d/<host[:port]>/ and /etc/docker/certs.d/<host[:port]>/
 * (or one explicit cert_dir) hold *.crt files (extra CAs, trusted in
 * addition to the system bundle) and client.cert/client.key (or any
 * <name>.cert with its <name>.key) for client certificates.
 *
 * The extra CAs are appended to the system bundle in memory and handed to
 * curl as CAINFO_BLOB, so no c_rehash'd directory is needed.
 */
#include "lib/client/internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CA_FILE_MAX (4 * 1024 * 1024)
#define CA_BUNDLE_MAX (32 * 1024 * 1024)

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int read_into(berth_buf *b, const char *path)
{
	berth_buf one = BERTH_BUF_INIT(CA_FILE_MAX);
	FILE *f = fopen(path, "rb");
	char chunk[8192];
	size_t n;
	int rc = 0;

	if (!f)
		return berth_error_set_errno("open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if ((rc = berth_buf_put(&one, chunk, n)))
			break;
	if (!rc && ferror(f))
		rc = berth_error_set_errno("read %s", path);
	fclose(f);
	if (!rc)
		rc = berth_buf_put(b, one.ptr ? one.ptr : "", one.len);
	if (!rc)
		rc = berth_buf_puts(b, "\n");
	berth_buf_dispose(&one);
	return rc;
}

/* Scan one directory; returns 0 (a missing directory is fine) or an error. */
static int scan_dir(berth_client *c, const char *dir, berth_buf *cas)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[4096], key[4096];
	struct stat st;
	int rc = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (ends_with(e->d_name, ".crt")) {
			rc = read_into(cas, path);
			if (rc)
				break;
		} else if (ends_with(e->d_name, ".cert") && !c->client_cert) {
			snprintf(key, sizeof(key), "%.*s.key", (int)(strlen(path) - 5), path);
			if (access(key, R_OK) != 0) {
				rc = berth_error_set(BERTH_EINVALID,
						     "client certificate %s has no matching key %s",
						     path, key);
				break;
			}
			c->client_cert = strdup(path);
			c->client_key = strdup(key);
			if (!c->client_cert || !c->client_key) {
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				break;
			}
		}
	}
	closedir(d);
	return rc;
}

/* Where curl would find the system CAs. */
static const char *system_bundle(void)
{
	static const char *const candidates[] = {
		"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
		"/etc/ssl/ca-bundle.pem", "/etc/ssl/cert.pem", NULL};
	curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	size_t i;

	if (v && v->age >= 9 && v->cainfo && access(v->cainfo, R_OK) == 0)
		return v->cainfo;
	for (i = 0; candidates[i]; i++)
		if (access(candidates[i], R_OK) == 0)
			return candidates[i];
	return NULL;
}

int berth_client__tls_setup(berth_client *c, const char *cert_dir)
{
	berth_buf cas = BERTH_BUF_INIT(CA_BUNDLE_MAX), all = BERTH_BUF_INIT(CA_BUNDLE_MAX);
	char dir[4096];
	const char *sys;
	int rc = 0;

	if (cert_dir) {
		rc = scan_dir(c, cert_dir, &cas);
	} else {
		snprintf(dir, sizeof(dir), "/etc/containers/certs.d/%s", c->host);
		rc = scan_dir(c, dir, &cas);
		if (!rc) {
			snprintf(dir, sizeof(dir), "/etc/docker/certs.d/%s", c->host);
			rc = scan_dir(c, dir, &cas);
		}
	}
	if (rc || !cas.len)
		goto done;
	sys = system_bundle();
	if (sys) {
		rc = read_into(&all, sys);
		/* An unreadable system bundle leaves just the registry's CAs. */
		if (rc && rc != BERTH_ETOOBIG)
			berth_buf_reset(&all), rc = 0;
		if (rc)
			goto done;
	}
	rc = berth_buf_put(&all, cas.ptr, cas.len);
	if (rc)
		goto done;
	c->ca_blob = berth_buf_detach(&all, &c->ca_blob_len);
done:
	berth_buf_dispose(&cas);
	berth_buf_dispose(&all);
	return rc;
}

void berth_client__tls_apply(berth_client *c, CURL *h)
{
	if (!c->tls_verify) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->ca_blob) {
		struct curl_blob blob = {c->ca_blob, c->ca_blob_len, CURL_BLOB_NOCOPY};

		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->client_cert) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->client_cert);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->client_key);
	}
}
