/*
 * attest.c - `berth build --sbom=true --provenance=mode=min|max`: the
 * attestations BuildKit attaches to the image it builds, in its layout.
 *
 * After the image is committed in the store under its tag, this wraps it
 * in an OCI index holding the image (with its platform) and one attestation
 * manifest: an OCI manifest whose layers are in-toto statements
 * (application/vnd.in-toto+json, annotated with in-toto.io/predicate-type)
 * about the image's manifest digest, listed in the index with platform
 * unknown/unknown and the annotations vnd.docker.reference.type
 * "attestation-manifest" and vnd.docker.reference.digest (the image). The
 * tag then names the index, so export and push carry both (the copy engine
 * copies an index with --all).
 *
 * The SBOM is berth's SPDX 2.3 document of the built image (catalog + sbom
 * modules); the provenance is SLSA v0.2 shaped as BuildKit writes it
 * (buildType https://mobyproject.org/buildkit@v1, invocation.configSource,
 * invocation.parameters, environment.platform, materials = the base image
 * with its digest, metadata); mode=max adds the build arguments and the
 * Dockerfile's text (metadata["https://mobyproject.org/buildkit@v1#metadata"]
 * .source.infos), as BuildKit's mode=max does.
 */
#include "internal.h"

#include "berth/catalog.h"
#include "berth/sbom.h"
#include "berth/sign.h"
#include "util/buf.h"
#include "util/random.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ATTEST_MANIFEST_MAX (4 * 1024 * 1024)
#define PT_SPDX "https://spdx.dev/Document"
#define PT_SLSA02 "https://slsa.dev/provenance/v0.2"
#define BUILDKIT_TYPE "https://mobyproject.org/buildkit@v1"

/* The image committed under the tag: its manifest bytes, digest, platform. */
typedef struct built {
	berth_buf man;
	berth_digest digest;
	json_t *doc;	    /* the manifest */
	char platform[128]; /* "os/arch[/variant]" from the config */
	json_t *plat;	    /* {"architecture":..,"os":..} */
} built;

static void built_dispose(built *b)
{
	berth_buf_dispose(&b->man);
	json_decref(b->doc);
	json_decref(b->plat);
}

static int read_config(berth_source *src, built *b)
{
	json_t *cd = json_object_get(b->doc, "config");
	const char *ds = json_string_value(json_object_get(cd, "digest"));
	berth_descriptor desc = {0};
	berth_stream *st = NULL;
	berth_buf cfg = BERTH_BUF_INIT(ATTEST_MANIFEST_MAX);
	json_t *c = NULL;
	char buf[8192];
	long n;
	int rc;

	if (!ds || (rc = berth_digest_parse(&desc.digest, ds, strlen(ds))) < 0)
		return berth_error_set(BERTH_EINVALID, "the built image has no config digest");
	desc.size = json_integer_value(json_object_get(cd, "size"));
	if ((rc = berth_source_blob(src, &desc, &st)) < 0)
		goto done;
	while ((n = berth_stream_read(st, buf, sizeof(buf))) > 0)
		if ((rc = berth_buf_put(&cfg, buf, (size_t)n)) < 0)
			goto done;
	rc = n < 0 ? (int)n : 0;
	if (rc == 0 && !(c = json_loadb(cfg.ptr, cfg.len, 0, NULL)))
		rc = berth_error_set(BERTH_EINVALID, "the built image's config is not JSON");
	if (rc < 0)
		goto done;
	{
		const char *os = json_string_value(json_object_get(c, "os"));
		const char *arch = json_string_value(json_object_get(c, "architecture"));
		const char *var = json_string_value(json_object_get(c, "variant"));

		os = os ? os : "linux";
		arch = arch ? arch : "amd64";
		snprintf(b->platform, sizeof(b->platform), "%s/%s%s%s", os, arch, var ? "/" : "",
			 var ? var : "");
		b->plat = json_pack("{s:s,s:s}", "architecture", arch, "os", os);
		if (b->plat && var)
			json_object_set_new(b->plat, "variant", json_string(var));
	}
done:
	if (st && berth_stream_close(st) < 0 && rc == 0)
		rc = berth_error_set(BERTH_EIO, "reading the built image's config failed");
	json_decref(c);
	berth_buf_dispose(&cfg);
	return rc;
}

static int read_built(berth_build_store *s, const char *tag, built *b)
{
	berth_buf spec = BERTH_BUF_INIT(0);
	berth_image_name *n = NULL;
	berth_source *src = NULL;
	char mt[128];
	int rc;

	b->man = (berth_buf)BERTH_BUF_INIT(ATTEST_MANIFEST_MAX);
	if ((rc = berth_buf_printf(&spec, "oci:%s:%s", berth_build_store_content(s), tag)) < 0 ||
	    (rc = berth_image_name_parse(&n, spec.ptr)) < 0 ||
	    (rc = berth_source_open(&src, n, NULL)) < 0 ||
	    (rc = berth_source_manifest(src, NULL, &b->man, mt, sizeof(mt), &b->digest)) < 0)
		goto done;
	if (strcmp(mt, BERTH_MT_OCI_MANIFEST) != 0) {
		rc = berth_error_set(BERTH_EUNSUPPORTED,
				     "attestations: the built image is a %s, not an OCI image", mt);
		goto done;
	}
	if (!(b->doc = json_loadb(b->man.ptr, b->man.len, 0, NULL))) {
		rc = berth_error_set(BERTH_EINVALID, "the built image's manifest is not JSON");
		goto done;
	}
	rc = read_config(src, b);
done:
	berth_source_free(src);
	berth_image_name_free(n);
	berth_buf_dispose(&spec);
	return rc;
}

/* "pkg:docker/NAME@TAG?platform=OS%2FARCH" for an image name (transport prefix dropped). */
static void purl(char *out, size_t n, const char *name, const char *platform)
{
	const char *p = strstr(name, "://"), *slash, *colon;
	char plat[160];
	size_t j = 0;

	p = p ? p + 3 : name;
	slash = strrchr(p, '/');
	colon = strrchr(slash ? slash : p, ':');
	for (const char *q = platform; *q && j + 4 < sizeof(plat); q++) {
		if (*q == '/') {
			memcpy(plat + j, "%2F", 3);
			j += 3;
		} else {
			plat[j++] = *q;
		}
	}
	plat[j] = '\0';
	if (colon && !strchr(colon, '@'))
		snprintf(out, n, "pkg:docker/%.*s@%s?platform=%s", (int)(colon - p), p, colon + 1,
			 plat);
	else
		snprintf(out, n, "pkg:docker/%s?platform=%s", p, plat);
}

static void rfc3339(char *out, size_t n, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The in-toto statement about the built image with `predicate` (stolen). */
static json_t *statement(const built *b, const char *name, const char *type, json_t *predicate)
{
	char subject[1024];

	purl(subject, sizeof(subject), name ? name : "image", b->platform);
	return json_pack("{s:s,s:s,s:[{s:s,s:{s:s}}],s:o}", "_type",
			 "https://in-toto.io/Statement/v0.1", "predicateType", type, "subject",
			 "name", subject, "digest", "sha256", berth_digest_hex(&b->digest),
			 "predicate", predicate);
}

static int sbom_predicate(berth_build_store *s, const char *tag, json_t **out)
{
	berth_catalog_options co;
	berth_sbom_options so;
	berth_catalog *cat = NULL;
	char target[PATH_MAX + 300], *doc = NULL;
	size_t len;
	int rc;

	*out = NULL;
	berth_catalog_options_init(&co);
	co.cache = "";
	berth_sbom_options_init(&so);
	so.format = BERTH_SBOM_SPDX_JSON;
	snprintf(target, sizeof(target), "oci:%s:%s", berth_build_store_content(s), tag);
	if ((rc = berth_catalog_scan(&cat, target, &co)) < 0 ||
	    (rc = berth_sbom_render(&doc, &len, cat, &so)) < 0)
		goto done;
	if (!(*out = json_loadb(doc, len, 0, NULL)))
		rc = berth_error_set(BERTH_ERROR, "the SBOM is not JSON");
done:
	free(doc);
	berth_catalog_free(cat);
	return rc;
}

/* invocation.parameters: the frontend, and with mode=max the build arguments. */
static json_t *parameters(const berth_build_attest_opts *o)
{
	json_t *p = json_pack("{s:s,s:[{s:s},{s:s}]}", "frontend", "dockerfile.v0", "locals",
			      "name", "context", "name", "dockerfile");
	json_t *args = json_object();

	for (size_t i = 0; p && args && o->provenance == 2 && i < o->nbuild_args; i++) {
		const char *eq = strchr(o->build_args[i], '=');
		char key[300];

		if (!eq)
			continue;
		snprintf(key, sizeof(key), "build-arg:%.*s", (int)(eq - o->build_args[i]),
			 o->build_args[i]);
		json_object_set_new(args, key, json_string(eq + 1));
	}
	if (p && args && json_object_size(args))
		json_object_set(p, "args", args);
	json_decref(args);
	return p;
}

static json_t *materials(const built *b)
{
	json_t *ann = json_object_get(b->doc, "annotations");
	const char *name =
		json_string_value(json_object_get(ann, "org.opencontainers.image.base.name"));
	const char *dg =
		json_string_value(json_object_get(ann, "org.opencontainers.image.base.digest"));
	json_t *m = json_array();
	char uri[1024];

	if (m && name && dg && strncmp(dg, "sha256:", 7) == 0) {
		purl(uri, sizeof(uri), name, b->platform);
		json_array_append_new(
			m, json_pack("{s:s,s:{s:s}}", "uri", uri, "digest", "sha256", dg + 7));
	}
	return m;
}

/* The Dockerfile's text for mode=max (at most the payload cap). */
static json_t *source_metadata(const berth_build_attest_opts *o)
{
	char *b64 = NULL;
	json_t *md;

	if (!o->dockerfile || o->dockerfile_len > BERTH_SIGN_PAYLOAD_MAX ||
	    berth_sign_b64_encode(&b64, o->dockerfile, o->dockerfile_len) < 0)
		return json_object();
	md = json_pack("{s:{s:[{s:s,s:s,s:s}]}}", "source", "infos", "filename",
		       o->dockerfile_name ? o->dockerfile_name : "Dockerfile", "language",
		       "Dockerfile", "data", b64);
	free(b64);
	return md;
}

static int provenance_predicate(const berth_build_attest_opts *o, const built *b, json_t **out)
{
	unsigned char id[16];
	char hex[33], started[32], finished[32];
	json_t *p;

	if (berth_random(id, sizeof(id)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	rfc3339(started, sizeof(started), o->started ? o->started : time(NULL));
	rfc3339(finished, sizeof(finished), time(NULL));
	p = json_pack("{s:{s:s},s:s,s:o,s:{s:{s:s},s:o,s:{s:s}},s:{s:s,s:s,s:s,s:{s:b,s:b,s:b},"
		      "s:b}}",
		      "builder", "id", "", "buildType", BUILDKIT_TYPE, "materials", materials(b),
		      "invocation", "configSource", "entryPoint",
		      o->dockerfile_name ? o->dockerfile_name : "Dockerfile", "parameters",
		      parameters(o), "environment", "platform", b->platform, "metadata",
		      "buildInvocationID", hex, "buildStartedOn", started, "buildFinishedOn",
		      finished, "completeness", "parameters", o->provenance == 2, "environment", 1,
		      "materials", 0, "reproducible", 0);
	if (p && o->provenance == 2)
		json_object_set_new(json_object_get(p, "metadata"), BUILDKIT_TYPE "#metadata",
				    source_metadata(o));
	if (!p)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*out = p;
	return 0;
}

/* Store `doc` (stolen) as a blob; *desc gets its descriptor fields. */
static int put_json(berth_build_store *s, json_t *doc, berth_digest *d, size_t *len)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	int rc;

	json_decref(doc);
	if (!text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	*len = strlen(text);
	rc = berth_build__put_blob(s, text, *len, d);
	free(text);
	return rc;
}

/* Each statement becomes an in-toto layer; the manifest and its config follow. */
static int attestation_manifest(berth_build_store *s, json_t *stmts, berth_dest *dst,
				berth_digest *md, size_t *mlen)
{
	json_t *layers = json_array(), *diffs = json_array(), *st, *man = NULL;
	berth_digest cd, ld;
	char *text = NULL;
	size_t i, clen, llen;
	int rc = 0;

	json_array_foreach(stmts, i, st)
	{
		const char *pt = json_string_value(json_object_get(st, "predicateType"));

		if ((rc = put_json(s, json_incref(st), &ld, &llen)) < 0)
			goto done;
		json_array_append_new(layers, json_pack("{s:s,s:s,s:I,s:{s:s}}", "mediaType",
							BERTH_SIGN_INTOTO_PT, "digest", ld.str,
							"size", (json_int_t)llen, "annotations",
							"in-toto.io/predicate-type", pt));
		json_array_append_new(diffs, json_string(ld.str));
	}
	if ((rc = put_json(s,
			   json_pack("{s:s,s:s,s:{},s:{s:s,s:O}}", "architecture", "unknown", "os",
				     "unknown", "config", "rootfs", "type", "layers", "diff_ids",
				     diffs),
			   &cd, &clen)) < 0)
		goto done;
	man = json_pack("{s:i,s:s,s:{s:s,s:s,s:I},s:O}", "schemaVersion", 2, "mediaType",
			BERTH_MT_OCI_MANIFEST, "config", "mediaType", BERTH_MT_OCI_CONFIG, "digest",
			cd.str, "size", (json_int_t)clen, "layers", layers);
	text = man ? json_dumps(man, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (!text) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	*mlen = strlen(text);
	if ((rc = berth_digest_compute(md, BERTH_DIGEST_SHA256, text, *mlen)) < 0)
		goto done;
	rc = berth_dest_put_manifest(dst, text, *mlen, BERTH_MT_OCI_MANIFEST, md, 0);
done:
	free(text);
	json_decref(man);
	json_decref(layers);
	json_decref(diffs);
	return rc;
}

/* The index: the image with its platform, then the attestation manifest. */
static int write_index(berth_dest *dst, const built *b, const berth_digest *am, size_t amlen,
		       berth_digest *out)
{
	json_t *idx;
	char *text;
	int rc;

	idx = json_pack("{s:i,s:s,s:[{s:s,s:s,s:I,s:O},{s:s,s:s,s:I,s:{s:s,s:s},s:{s:s,s:s}}]}",
			"schemaVersion", 2, "mediaType", BERTH_MT_OCI_INDEX, "manifests",
			"mediaType", BERTH_MT_OCI_MANIFEST, "digest", b->digest.str, "size",
			(json_int_t)b->man.len, "platform", b->plat, "mediaType",
			BERTH_MT_OCI_MANIFEST, "digest", am->str, "size", (json_int_t)amlen,
			"annotations", "vnd.docker.reference.digest", b->digest.str,
			"vnd.docker.reference.type", "attestation-manifest", "platform",
			"architecture", "unknown", "os", "unknown");
	text = idx ? json_dumps(idx, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(idx);
	if (!text)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_digest_compute(out, BERTH_DIGEST_SHA256, text, strlen(text))) == 0 &&
	    (rc = berth_dest_put_manifest(dst, text, strlen(text), BERTH_MT_OCI_INDEX, out, 1)) ==
		    0)
		rc = berth_dest_commit(dst);
	free(text);
	return rc;
}

static int open_dest(berth_build_store *s, const char *tag, berth_dest **out)
{
	berth_buf spec = BERTH_BUF_INIT(0);
	berth_image_name *n = NULL;
	int rc;

	if ((rc = berth_buf_printf(&spec, "oci:%s:%s", berth_build_store_content(s), tag)) == 0 &&
	    (rc = berth_image_name_parse(&n, spec.ptr)) == 0)
		rc = berth_dest_open(out, n, NULL);
	berth_image_name_free(n);
	berth_buf_dispose(&spec);
	return rc;
}

int berth_build_attest(berth_build_store *s, const berth_build_attest_opts *o, const char *tag,
		       berth_digest *index_out)
{
	built b = {0};
	json_t *stmts = json_array(), *pred = NULL;
	berth_dest *dst = NULL;
	berth_digest am;
	size_t amlen = 0;
	int rc;

	if (!o->sbom && !o->provenance)
		return 0;
	if ((rc = read_built(s, tag, &b)) < 0)
		goto done;
	if (o->sbom) {
		if ((rc = sbom_predicate(s, tag, &pred)) < 0)
			goto done;
		json_array_append_new(stmts, statement(&b, o->name, PT_SPDX, pred));
		pred = NULL;
	}
	if (o->provenance) {
		if ((rc = provenance_predicate(o, &b, &pred)) < 0)
			goto done;
		json_array_append_new(stmts, statement(&b, o->name, PT_SLSA02, pred));
		pred = NULL;
	}
	if ((rc = open_dest(s, tag, &dst)) < 0 ||
	    (rc = attestation_manifest(s, stmts, dst, &am, &amlen)) < 0 ||
	    (rc = write_index(dst, &b, &am, amlen, index_out)) < 0)
		goto done;
done:
	berth_dest_free(dst);
	json_decref(pred);
	json_decref(stmts);
	built_dispose(&b);
	return rc;
}
