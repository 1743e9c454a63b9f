/*
 * cmd_inspect.c - `berth inspect REF`: what an image or index is (digest,
 * media type, platforms, config, layers), its raw manifest (--raw) or its
 * config (--config), from any transport (docker:// by default).
 */
#include "cli.h"
#include "opts.h"

#include "berth/transport.h"
#include "util/buf.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

typedef struct inspect_opts {
	opt_registry reg;
	int raw, config;
	const char *platform, *format;
} inspect_opts;

static const berth_arg inspect_args[] = {
	BERTH_OPT_BOOL("raw", 0, inspect_opts, raw, NULL,
		       "print the manifest bytes exactly as stored"),
	BERTH_OPT_BOOL("config", 0, inspect_opts, config, NULL,
		       "print the image's config JSON (for an index: the\n"
		       "image for --platform, default linux/<host>)"),
	BERTH_OPT_STRING("platform", 0, inspect_opts, platform, "OS/ARCH[/V]",
			 "the image of an index that --config reads"),
	BERTH_OPT_ENUM("format", 0, inspect_opts, format, opt_text_json, NULL,
		       "output format (default text)"),
	OPT_REGISTRY_ARGS(inspect_opts, reg),
	BERTH_OPT_END,
};

static const berth_args_spec inspect_spec = {
	.cmd = "inspect",
	.usage = "inspect [options] REF",
	.description =
		"Describe an image or index: digest, media type, platforms of an index,\n"
		"config digest and layers of an image. REF is docker://HOST/REPO[:TAG|@DIGEST]\n"
		"(the default transport), oci:PATH[:TAG], oci-archive:FILE[:TAG] or\n"
		"docker-archive:FILE[:NAME:TAG].\n",
	.args = inspect_args,
	.min_pos = 1,
	.max_pos = 1,
	.missing = "needs an image reference",
};

const berth_args_spec *const cmd_inspect_specs[] = {&inspect_spec, NULL};

/* Read a blob through the source into `out`, verifying digest and size. */
static int read_blob(berth_source *src, const berth_descriptor *d, berth_buf *out)
{
	berth_stream *s = NULL;
	berth_digest got;
	char chunk[16384];
	int rc = 0, crc;

	if (berth_source_blob(src, d, &s) < 0)
		return -1;
	for (;;) {
		long n = berth_stream_read(s, chunk, sizeof(chunk));

		if (n <= 0) {
			rc = (int)n;
			break;
		}
		if (berth_buf_put(out, chunk, (size_t)n) < 0) {
			rc = berth_error_set(BERTH_ETOOBIG, "config %s is too large",
					     d->digest.str);
			break;
		}
	}
	crc = berth_stream_close(s);
	if (rc < 0 || crc < 0)
		return rc < 0 ? rc : crc;
	if (berth_digest_compute(&got, d->digest.algo, out->ptr, out->len) < 0)
		return -1;
	if (!berth_digest_equal(&got, &d->digest) || (d->size >= 0 && out->len != (size_t)d->size))
		return berth_error_set(BERTH_EDIGEST, "config %s: the source sent other bytes",
				       d->digest.str);
	return 0;
}

static char *platform_text(const berth_platform *p)
{
	char *s = NULL;

	if (!p)
		return strdup("unknown");
	if (asprintf(&s, "%s/%s%s%s", p->os ? p->os : "unknown",
		     p->architecture ? p->architecture : "unknown", p->variant ? "/" : "",
		     p->variant ? p->variant : "") < 0)
		return NULL;
	return s;
}

static json_t *desc_json(const berth_descriptor *d)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "mediaType", d->media_type ? d->media_type : "",
			      "digest", d->digest.str, "size", (json_int_t)d->size);

	if (o && d->platform) {
		char *p = platform_text(d->platform);

		if (p)
			json_object_set_new(o, "platform", json_string(p));
		free(p);
	}
	return o;
}

static int print_summary(berth_source *src, const char *name, const berth_manifest *m,
			 const berth_digest *digest, size_t len, int json)
{
	berth_buf cfg = BERTH_BUF_INIT(BERTH_CONFIG_MAX);
	json_t *o = json_object(), *arr = json_array(), *cj = NULL;
	int rc = 0;

	json_object_set_new(o, "Name", json_string(name));
	json_object_set_new(o, "Digest", json_string(digest->str));
	json_object_set_new(o, "MediaType", json_string(m->media_type));
	json_object_set_new(o, "Size", json_integer((json_int_t)len));
	if (m->kind == BERTH_OCI_INDEX) {
		for (size_t i = 0; i < m->nmanifests; i++)
			json_array_append_new(arr, desc_json(&m->manifests[i]));
		json_object_set_new(o, "Manifests", arr);
	} else {
		for (size_t i = 0; i < m->nlayers; i++)
			json_array_append_new(arr, desc_json(&m->layers[i]));
		json_object_set_new(o, "Config", desc_json(&m->config));
		json_object_set_new(o, "Layers", arr);
		/* The config says what the image is for; artifacts may have none. */
		if (read_blob(src, &m->config, &cfg) == 0 &&
		    (cj = json_loadb(cfg.ptr, cfg.len, 0, NULL)) && json_is_object(cj)) {
			static const char *const keys[][2] = {{"Os", "os"},
							      {"Architecture", "architecture"},
							      {"Variant", "variant"},
							      {"Created", "created"}};

			for (size_t k = 0; k < 4; k++) {
				json_t *v = json_object_get(cj, keys[k][1]);

				if (json_is_string(v))
					json_object_set(o, keys[k][0], v);
			}
		}
	}
	arr = NULL;
	if (json) {
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

		if (!s) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
		puts(s);
		free(s);
		goto done;
	}
	printf("Name:       %s\n", name);
	printf("Digest:     %s\n", digest->str);
	printf("MediaType:  %s\n", m->media_type);
	if (m->kind == BERTH_OCI_INDEX) {
		printf("Platforms:\n");
		for (size_t i = 0; i < m->nmanifests; i++) {
			char *p = platform_text(m->manifests[i].platform);

			printf("  %-20s %s\n", p ? p : "?", m->manifests[i].digest.str);
			free(p);
		}
		goto done;
	}
	for (size_t k = 0; k < 4; k++) {
		static const char *const keys[] = {"Os:", "Architecture", "Variant:", "Created:"};
		static const char *const jkeys[] = {"Os", "Architecture", "Variant", "Created"};
		json_t *v = json_object_get(o, jkeys[k]);

		if (v)
			printf("%-12s%s\n", keys[k][0] == 'A' ? "Arch:" : keys[k],
			       json_string_value(v));
	}
	printf("Config:     %s\n", m->config.digest.str);
	printf("Layers:\n");
	for (size_t i = 0; i < m->nlayers; i++)
		printf("  %s  %12lld  %s\n", m->layers[i].digest.str, (long long)m->layers[i].size,
		       m->layers[i].media_type);
done:
	json_decref(arr);
	json_decref(cj);
	json_decref(o);
	berth_buf_dispose(&cfg);
	return rc;
}

int cmd_inspect(int argc, char **argv)
{
	berth_transport_options to;
	inspect_opts o = {.format = "text"};
	berth_image_name *name = NULL;
	berth_source *src = NULL;
	berth_manifest *m = NULL;
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_MAX), cfg = BERTH_BUF_INIT(BERTH_CONFIG_MAX);
	const char *ref = NULL;
	char mt[128] = "", *canon = NULL;
	int rc, n;
	berth_digest digest;

	berth_transport_options_init(&to);
	opt_registry_init(&o.reg);
	if ((rc = berth_args_parse(&inspect_spec, &o, argc, argv, &n)) != BERTH_ARGS_OK)
		return berth_args_exit(rc);
	rc = BERTH_EXIT_USAGE;
	if (opt_registry_check("inspect", &o.reg) < 0)
		goto done;
	ref = argv[1];
	if (o.raw && o.config) {
		berth_cli_fail("inspect", BERTH_EXIT_USAGE,
			       "--raw and --config exclude each other");
		goto done;
	}
	rc = BERTH_EXIT_FAIL;
	if (opt_image("inspect", ref, 1, &name) < 0)
		goto done;
	opt_registry_transport(&o.reg, &to);
	rc = -1; /* from here on, failures are the library's: reported at done */
	opt_ignore_sigpipe();
	if (berth_source_open(&src, name, &to) < 0 ||
	    berth_source_manifest(src, NULL, &body, mt, sizeof(mt), &digest) < 0)
		goto done;
	if (o.raw) {
		fwrite(body.ptr, 1, body.len, stdout);
		rc = BERTH_EXIT_OK;
		goto done;
	}
	if (berth_manifest_parse(&m, body.ptr, body.len, mt[0] ? mt : NULL) < 0)
		goto done;
	if (o.config) {
		if (m->kind == BERTH_OCI_INDEX) {
			const berth_descriptor *c;
			char cmt[128];

			if (berth_copy_pick_platform(&c, m, o.platform) < 0)
				goto done;
			berth_buf_reset(&body);
			digest = c->digest;
			berth_manifest_free(m);
			m = NULL;
			if (berth_source_manifest(src, &digest, &body, cmt, sizeof(cmt), NULL) <
				    0 ||
			    berth_manifest_parse(&m, body.ptr, body.len, cmt[0] ? cmt : NULL) < 0)
				goto done;
			if (m->kind != BERTH_OCI_IMAGE) {
				berth_error_set(BERTH_EUNSUPPORTED,
						"nested indexes are not supported");
				goto done;
			}
		}
		if (read_blob(src, &m->config, &cfg) < 0)
			goto done;
		fwrite(cfg.ptr, 1, cfg.len, stdout);
		if (cfg.len && cfg.ptr[cfg.len - 1] != '\n')
			fputc('\n', stdout);
		rc = BERTH_EXIT_OK;
		goto done;
	}
	canon = berth_image_name_format(name);
	if (print_summary(src, canon ? canon : ref, m, &digest, body.len,
			  strcmp(o.format, "json") == 0) < 0)
		goto done;
	rc = BERTH_EXIT_OK;

done:
	if (rc < 0)
		rc = berth_cli_fail("inspect", BERTH_EXIT_FAIL, "%s", berth_error_last());
	free(canon);
	berth_manifest_free(m);
	berth_buf_dispose(&body);
	berth_buf_dispose(&cfg);
	berth_source_free(src);
	berth_image_name_free(name);
	opt_registry_dispose(&o.reg);
	return rc;
}
