/*
 * image.c - images being built: made from scratch or from a base image
 * (copied into the store's layout by the copy engine, in OCI form, for one
 * platform), their config edited as BuildKit edits it, and the commit that
 * writes config and manifest into the layout under a tag.
 */
#include "lib/build/internal.h"
#include "berth/layer.h"
#include "berth/oci.h"
#include "util/array.h"
#include "util/buf.h"
#include "util/chan.h"
#include "util/fs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_PATH_VALUE "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_PATH "PATH=" DEFAULT_PATH_VALUE
#define BASE_TAG_MAX 64

static void rfc3339(char *out, size_t len, int64_t t);

build_layer *berth_build__layer_room(berth_build_image *img)
{
	build_layer *l = berth_array_room(img->layers, img->nlayers, &img->cap, sizeof(*l));

	if (!l)
		return NULL;
	img->layers = l;
	memset(&img->layers[img->nlayers], 0, sizeof(*l));
	return &img->layers[img->nlayers];
}

static int platform_split(const char *platform, char *os, char *arch, char *variant, size_t len)
{
	const char *v = NULL;
	char buf[200];
	char *save = NULL, *o, *a, *var;

	if (!platform) {
		snprintf(os, len, "linux");
		snprintf(arch, len, "%s", berth_oci_host_arch(&v));
		snprintf(variant, len, "%s", v ? v : "");
		return 0;
	}
	if (strlen(platform) >= sizeof(buf))
		return berth_error_set(BERTH_EINVALID, "platform too long");
	strcpy(buf, platform);
	o = strtok_r(buf, "/", &save);
	a = strtok_r(NULL, "/", &save);
	var = strtok_r(NULL, "/", &save);
	if (!o || !a || strtok_r(NULL, "/", &save) || strlen(o) >= len || strlen(a) >= len ||
	    (var && strlen(var) >= len))
		return berth_error_set(BERTH_EINVALID,
				       "bad platform '%s' (expected os/arch[/variant])", platform);
	snprintf(os, len, "%s", o);
	snprintf(arch, len, "%s", a);
	snprintf(variant, len, "%s", var ? var : "");
	return 0;
}

int berth_build_image_scratch(berth_build_image **out, const char *platform)
{
	char os[64], arch[64], variant[64];
	berth_build_image *img;
	int rc;

	*out = NULL;
	if ((rc = platform_split(platform, os, arch, variant, sizeof(os))) < 0)
		return rc;
	img = calloc(1, sizeof(*img));
	if (!img)
		return berth_error_set(BERTH_ERROR, "out of memory");
	/* BuildKit's empty image: the default PATH and WorkingDir "/". */
	img->config = json_pack("{s:s, s:s, s:{s:[s], s:s}, s:{s:s, s:[]}, s:[]}", "architecture",
				arch, "os", os, "config", "Env", DEFAULT_PATH, "WorkingDir", "/",
				"rootfs", "type", "layers", "diff_ids", "history");
	if (!img->config ||
	    (variant[0] && json_object_set_new(img->config, "variant", json_string(variant)) < 0)) {
		berth_build_image_free(img);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	*out = img;
	return 0;
}

void berth_build_image_free(berth_build_image *img)
{
	if (!img)
		return;
	json_decref(img->config);
	free(img->layers);
	free(img->base_name);
	free(img);
}

int berth_build_image_clone(berth_build_image **out, const berth_build_image *img)
{
	berth_build_image *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	c->config = json_deep_copy(img->config);
	c->layers = img->nlayers ? malloc(img->nlayers * sizeof(*c->layers)) : NULL;
	c->base_name = img->base_name ? strdup(img->base_name) : NULL;
	if (!c->config || (img->nlayers && !c->layers) || (img->base_name && !c->base_name)) {
		berth_build_image_free(c);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	if (img->nlayers)
		memcpy(c->layers, img->layers, img->nlayers * sizeof(*c->layers));
	c->nlayers = c->cap = img->nlayers;
	c->base_digest = img->base_digest;
	*out = c;
	return 0;
}

size_t berth_build_image_layers(const berth_build_image *img)
{
	return img->nlayers;
}

/* ---- from a base image ---- */

/* The layout tag a base image is kept under: one per (reference, platform). */
static int base_tag(char *out, size_t len, const berth_image_name *src, const char *platform)
{
	char *name = berth_image_name_format(src);
	berth_digest d;
	berth_buf key = BERTH_BUF_INIT(8192);
	int rc;

	if (!name)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_buf_printf(&key, "%s\n%s", name, platform ? platform : "");
	free(name);
	if (rc == 0)
		rc = berth_digest_compute(&d, BERTH_DIGEST_SHA256, key.ptr, key.len);
	berth_buf_dispose(&key);
	if (rc < 0)
		return rc;
	snprintf(out, len, "base-%.24s", berth_digest_hex(&d));
	return 0;
}

static int read_json_blob(berth_source *src, const berth_descriptor *desc, json_t **out)
{
	berth_buf b = BERTH_BUF_INIT(BERTH_CONFIG_MAX);
	berth_stream *st = NULL;
	json_error_t jerr;
	char chunk[65536];
	berth_digest got;
	int rc;

	*out = NULL;
	if ((rc = berth_source_blob(src, desc, &st)) < 0)
		return rc;
	for (;;) {
		long n = berth_stream_read(st, chunk, sizeof(chunk));

		if (n < 0) {
			rc = (int)n;
			goto done;
		}
		if (n == 0)
			break;
		if ((rc = berth_buf_put(&b, chunk, (size_t)n)) < 0)
			goto done;
	}
	if ((rc = berth_digest_compute(&got, desc->digest.algo, b.ptr, b.len)) < 0)
		goto done;
	if (!berth_digest_equal(&got, &desc->digest)) {
		rc = berth_error_set(BERTH_EDIGEST, "config blob does not match %s",
				     desc->digest.str);
		goto done;
	}
	*out = json_loadb(b.ptr, b.len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out || !json_is_object(*out))
		rc = berth_error_set(BERTH_EINVALID, "image config: %s", jerr.text);
done:
	if (st && berth_stream_close(st) < 0 && rc == 0)
		rc = BERTH_EIO;
	berth_buf_dispose(&b);
	return rc;
}

/* Fill img's layers from the manifest and the config's diff IDs. */
/* A Docker layer type's OCI twin (same bytes; the built image is OCI), else mt. */
static const char *oci_layer_type(const char *mt)
{
	if (!mt || strncmp(mt, BERTH_MT_DOCKER_LAYER, strlen(BERTH_MT_DOCKER_LAYER)) != 0)
		return mt ? mt : "";
	switch (berth_layer_compression_of(mt)) {
	case BERTH_LAYER_GZIP: return BERTH_MT_OCI_LAYER_GZIP;
	case BERTH_LAYER_ZSTD: return BERTH_MT_OCI_LAYER_ZSTD;
	case BERTH_LAYER_UNCOMPRESSED: return BERTH_MT_OCI_LAYER;
	default: return mt;
	}
}

static int take_layers(berth_build_image *img, const berth_manifest *m)
{
	json_t *ids = json_object_get(json_object_get(img->config, "rootfs"), "diff_ids");

	if (!json_is_array(ids) || json_array_size(ids) != m->nlayers)
		return berth_error_set(BERTH_EINVALID,
				       "image config lists %zu diff IDs for %zu layers",
				       json_is_array(ids) ? json_array_size(ids) : 0, m->nlayers);
	for (size_t i = 0; i < m->nlayers; i++) {
		const char *id = json_string_value(json_array_get(ids, i));
		build_layer *l = berth_build__layer_room(img);

		if (!l)
			return berth_error_set(BERTH_ERROR, "out of memory");
		if (!id || berth_digest_parse(&l->diff_id, id, strlen(id)) < 0)
			return berth_error_set(BERTH_EINVALID, "bad diff ID in image config");
		snprintf(l->media_type, sizeof(l->media_type), "%s",
			 oci_layer_type(m->layers[i].media_type));
		l->digest = m->layers[i].digest;
		l->size = m->layers[i].size;
		img->nlayers++;
	}
	return 0;
}

static int open_layout_tag(berth_source **src, berth_build_store *s, const char *tag)
{
	berth_buf spec = BERTH_BUF_INIT(PATH_MAX + 128);
	berth_image_name *n = NULL;
	berth_transport_options o;
	int rc;

	berth_transport_options_init(&o);
	if ((rc = berth_buf_printf(&spec, "oci:%s:%s", s->content, tag)) == 0 &&
	    (rc = berth_image_name_parse(&n, spec.ptr)) == 0)
		rc = berth_source_open(src, n, &o);
	berth_image_name_free(n);
	berth_buf_dispose(&spec);
	return rc;
}

/* ---- base layers unpacked while they download (berth_copy_tee) ---- */

typedef struct unpack_sink {
	berth_snapshots *snaps;
	berth_layer_compression c;
	berth_chan *ch;	    /* the copy writes, the unpack reads */
	atomic_int verdict; /* the copy's result, stored before the channel is finished */
	pthread_t th;
	berth_digest diff_id;
} unpack_sink;

/* The unpack's reader: the channel; at its end, a download that failed fails the unpack. */
static long sink_read(void *ctx, void *buf, size_t cap)
{
	unpack_sink *u = ctx;
	size_t n = berth_chan_read(u->ch, buf, cap);

	if (n == 0 && atomic_load_explicit(&u->verdict, memory_order_acquire) != 0)
		return berth_error_set(BERTH_EIO, "layer download failed");
	return (long)n;
}

static void *sink_main(void *arg)
{
	unpack_sink *u = arg;

	/* Named by content: a failure only means the layer is unpacked later, from the store. */
	if (berth_snapshots_unpack_any(u->snaps, u->c, sink_read, u, &u->diff_id) < 0)
		berth_error_clear();
	berth_chan_close(u->ch); /* a copy still writing is not kept waiting */
	return NULL;
}

static void *sink_open(void *ctx, const berth_descriptor *d, berth_layer_compression c)
{
	unpack_sink *u = calloc(1, sizeof(*u));

	(void)d;
	if (!u)
		return NULL;
	u->snaps = ctx;
	u->c = c;
	if (!(u->ch = berth_chan_new()) || pthread_create(&u->th, NULL, sink_main, u) != 0) {
		berth_chan_free(u->ch);
		free(u);
		return NULL;
	}
	return u;
}

static int sink_write(void *sink, const void *data, size_t len)
{
	return berth_chan_write(((unpack_sink *)sink)->ch, data, len);
}

static void sink_close(void *sink, int rc)
{
	unpack_sink *u = sink;

	atomic_store_explicit(&u->verdict, rc < 0 ? 1 : 0, memory_order_release);
	berth_chan_finish(u->ch);
	pthread_join(u->th, NULL);
	berth_chan_free(u->ch);
	free(u);
}

int berth_build_image_from(berth_build_image **out, berth_build_store *s,
			   const berth_image_name *src, const berth_transport_options *o,
			   const char *platform, unsigned flags)
{
	char tag[BASE_TAG_MAX], mt[128];
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_MAX);
	berth_build_image *img = NULL;
	berth_source *ls = NULL;
	berth_manifest *m = NULL;
	berth_digest digest;
	int rc;

	*out = NULL;
	if ((rc = base_tag(tag, sizeof(tag), src, platform)) < 0)
		return rc;
	rc = flags & BERTH_BUILD_FROM_REFRESH ? BERTH_ENOTFOUND : open_layout_tag(&ls, s, tag);
	if (rc == 0)
		rc = berth_source_manifest(ls, NULL, &body, mt, sizeof(mt), &digest);
	if (rc < 0) {
		berth_buf dst = BERTH_BUF_INIT(PATH_MAX + 128);
		berth_image_name *dn = NULL;
		berth_transport_options lo;
		berth_copy_options co;

		berth_source_free(ls);
		ls = NULL;
		berth_buf_reset(&body);
		berth_transport_options_init(&lo);
		berth_copy_options_init(&co);
		/* The manifest as the registry has it: a conversion to OCI would
		 * drop the Docker config's OnBuild, Healthcheck, Shell, ... (as
		 * containers/image does), which BuildKit keeps and runs. */
		co.platform = platform;
		co.keep_format = 1;
		if (flags & BERTH_BUILD_FROM_UNPACK)
			co.tee = (berth_copy_tee){sink_open, sink_write, sink_close, s->snapshots};
		if ((rc = berth_buf_printf(&dst, "oci:%s:%s", s->content, tag)) == 0 &&
		    (rc = berth_image_name_parse(&dn, dst.ptr)) == 0)
			rc = berth_copy(src, o, dn, &lo, &co, NULL);
		berth_image_name_free(dn);
		berth_buf_dispose(&dst);
		if (rc < 0)
			goto done;
		if ((rc = open_layout_tag(&ls, s, tag)) < 0 ||
		    (rc = berth_source_manifest(ls, NULL, &body, mt, sizeof(mt), &digest)) < 0)
			goto done;
	}
	if ((rc = berth_manifest_parse(&m, body.ptr, body.len, mt)) < 0)
		goto done;
	if (m->kind != BERTH_OCI_IMAGE) {
		rc = berth_error_set(BERTH_EINVALID, "base image is not a single image");
		goto done;
	}
	img = calloc(1, sizeof(*img));
	if (!img) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = read_json_blob(ls, &m->config, &img->config)) < 0 ||
	    (rc = take_layers(img, m)) < 0)
		goto done;
	img->base_name = berth_image_name_format(src);
	img->base_digest = digest;
	if (!img->base_name) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	/* As BuildKit: an image without PATH gets the default one. */
	if (!berth_build_image_env(img, "PATH") &&
	    (rc = berth_build_image_set_env(img, "PATH", DEFAULT_PATH_VALUE)) < 0)
		goto done;
	*out = img;
	img = NULL;
done:
	berth_build_image_free(img);
	berth_manifest_free(m);
	berth_source_free(ls);
	berth_buf_dispose(&body);
	return rc;
}

/* ---- config ---- */

json_t *berth_build__config_obj(berth_build_image *img)
{
	json_t *c = json_object_get(img->config, "config");

	if (!json_is_object(c)) {
		c = json_object();
		if (!c || json_object_set_new(img->config, "config", c) < 0)
			return NULL;
	}
	return c;
}

const char *berth_build_image_env(const berth_build_image *img, const char *key)
{
	json_t *env = json_object_get(json_object_get(img->config, "config"), "Env");
	size_t klen = strlen(key), i;
	json_t *v;

	json_array_foreach(env, i, v)
	{
		const char *s = json_string_value(v);

		if (s && strncmp(s, key, klen) == 0 && s[klen] == '=')
			return s + klen + 1;
	}
	return NULL;
}

int berth_build_image_set_env(berth_build_image *img, const char *key, const char *value)
{
	json_t *c = berth_build__config_obj(img), *env, *v;
	berth_buf kv = BERTH_BUF_INIT(0);
	size_t klen = strlen(key), i;
	int rc;

	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	env = json_object_get(c, "Env");
	if (!json_is_array(env)) {
		env = json_array();
		if (!env || json_object_set_new(c, "Env", env) < 0)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	if ((rc = berth_buf_printf(&kv, "%s=%s", key, value)) < 0)
		return rc;
	json_array_foreach(env, i, v)
	{
		const char *s = json_string_value(v);

		if (s && strncmp(s, key, klen) == 0 && s[klen] == '=') {
			rc = json_array_set_new(env, i, json_string(kv.ptr)) < 0 ? BERTH_ERROR : 0;
			goto done;
		}
	}
	rc = json_array_append_new(env, json_string(kv.ptr)) < 0 ? BERTH_ERROR : 0;
done:
	berth_buf_dispose(&kv);
	return rc < 0 ? berth_error_set(rc, "out of memory") : 0;
}

char **berth_build_image_envv(const berth_build_image *img)
{
	json_t *env = json_object_get(json_object_get(img->config, "config"), "Env"), *v;
	size_t n = json_is_array(env) ? json_array_size(env) : 0, i, k = 0;
	char **out = calloc(n + 1, sizeof(*out));

	if (!out)
		return NULL;
	json_array_foreach(env, i, v)
	{
		const char *s = json_string_value(v);

		if (!s)
			continue;
		out[k] = strdup(s);
		if (!out[k]) {
			berth_build_strv_free(out);
			return NULL;
		}
		k++;
	}
	return out;
}

void berth_build_strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int berth_build_image_set_config(berth_build_image *img, const char *field, const char *json)
{
	json_t *c = berth_build__config_obj(img), *v;
	json_error_t jerr;

	if (!c)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (!json) {
		json_object_del(c, field);
		return 0;
	}
	v = json_loads(json, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return berth_error_set(BERTH_EINVALID, "config %s: %s", field, jerr.text);
	if (json_object_set_new(c, field, v) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

char *berth_build_image_config(const berth_build_image *img, const char *field)
{
	json_t *v = json_object_get(json_object_get(img->config, "config"), field);

	return v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

int berth_build_image_history(berth_build_image *img, const char *created_by, int empty_layer)
{
	json_t *h = json_object_get(img->config, "history"), *e;
	char when[64];

	if (!json_is_array(h)) {
		h = json_array();
		if (!h || json_object_set_new(img->config, "history", h) < 0)
			return berth_error_set(BERTH_ERROR, "out of memory");
	}
	/* The step's own time: a cached step keeps it, so a cached rebuild is the same image. */
	rfc3339(when, sizeof(when), (int64_t)time(NULL));
	e = json_pack("{s:s, s:s, s:s}", "created", when, "created_by", created_by, "comment",
		      "buildkit.dockerfile.v0");
	if (!e || (empty_layer && json_object_set_new(e, "empty_layer", json_true()) < 0) ||
	    json_array_append_new(h, e) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

/* ---- commit ---- */

static void rfc3339(char *out, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/*
 * The config's created time: `created` when given (SOURCE_DATE_EPOCH, which
 * also clamps every later history time), else the last history entry's
 * (what BuildKit does: a fully cached rebuild is the same image). Diff IDs
 * come from the layers.
 */
static int finish_config(berth_build_image *img, int64_t created)
{
	char when[64] = "";
	json_t *rootfs, *ids, *h, *e;
	size_t i;

	if (created >= 0)
		rfc3339(when, sizeof(when), created);
	h = json_object_get(img->config, "history");
	json_array_foreach(h, i, e)
	{
		const char *c = json_string_value(json_object_get(e, "created"));

		/* RFC 3339 UTC strings of one width compare as their times do. */
		if (created >= 0 && c && strlen(c) == strlen(when) && strcmp(c, when) > 0 &&
		    json_object_set_new(e, "created", json_string(when)) < 0)
			return BERTH_ERROR;
		if (created < 0 && c)
			snprintf(when, sizeof(when), "%s", c);
	}
	if (!when[0])
		rfc3339(when, sizeof(when), (int64_t)time(NULL));
	if (json_object_set_new(img->config, "created", json_string(when)) < 0)
		return BERTH_ERROR;
	rootfs = json_pack("{s:s, s:[]}", "type", "layers", "diff_ids");
	if (!rootfs || json_object_set_new(img->config, "rootfs", rootfs) < 0)
		return BERTH_ERROR;
	ids = json_object_get(rootfs, "diff_ids");
	for (i = 0; i < img->nlayers; i++)
		if (json_array_append_new(ids, json_string(img->layers[i].diff_id.str)) < 0)
			return BERTH_ERROR;
	return 0;
}

static json_t *manifest_json(const berth_build_image *img, const berth_digest *cfg, size_t cfg_len)
{
	json_t *m, *layers;

	m = json_pack("{s:i, s:s, s:{s:s, s:s, s:I}, s:[]}", "schemaVersion", 2, "mediaType",
		      BERTH_MT_OCI_MANIFEST, "config", "mediaType", BERTH_MT_OCI_CONFIG, "digest",
		      cfg->str, "size", (json_int_t)cfg_len, "layers");
	if (!m)
		return NULL;
	layers = json_object_get(m, "layers");
	for (size_t i = 0; i < img->nlayers; i++) {
		json_t *l = json_pack("{s:s, s:s, s:I}", "mediaType", img->layers[i].media_type,
				      "digest", img->layers[i].digest.str, "size",
				      (json_int_t)img->layers[i].size);

		if (!l || json_array_append_new(layers, l) < 0) {
			json_decref(m);
			return NULL;
		}
	}
	if (img->base_name) {
		json_t *a = json_pack("{s:s, s:s}", "org.opencontainers.image.base.digest",
				      img->base_digest.str, "org.opencontainers.image.base.name",
				      img->base_name);

		if (!a || json_object_set_new(m, "annotations", a) < 0) {
			json_decref(m);
			return NULL;
		}
	}
	return m;
}

int berth_build_image_commit(berth_build_image *img, berth_build_store *s, const char *tag,
			     int64_t created, berth_digest *digest)
{
	char *cfg = NULL, *man = NULL;
	berth_buf spec = BERTH_BUF_INIT(PATH_MAX + 256);
	berth_image_name *n = NULL;
	berth_transport_options o;
	berth_dest *d = NULL;
	berth_digest cd, md;
	json_t *m = NULL;
	int rc;

	if (finish_config(img, created) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	cfg = json_dumps(img->config, JSON_COMPACT);
	if (!cfg)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_build__put_blob(s, cfg, strlen(cfg), &cd)) < 0)
		goto done;
	m = manifest_json(img, &cd, strlen(cfg));
	man = m ? json_dumps(m, JSON_COMPACT) : NULL;
	if (!man) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = berth_build__put_blob(s, man, strlen(man), &md)) < 0)
		goto done;
	berth_transport_options_init(&o);
	if ((rc = berth_buf_printf(&spec, "oci:%s:%s", s->content, tag)) < 0 ||
	    (rc = berth_image_name_parse(&n, spec.ptr)) < 0 ||
	    (rc = berth_dest_open(&d, n, &o)) < 0 ||
	    (rc = berth_dest_put_manifest(d, man, strlen(man), BERTH_MT_OCI_MANIFEST, &md, 1)) <
		    0 ||
	    (rc = berth_dest_commit(d)) < 0)
		goto done;
	if (digest)
		*digest = md;
done:
	berth_dest_free(d);
	berth_image_name_free(n);
	berth_buf_dispose(&spec);
	json_decref(m);
	free(cfg);
	free(man);
	return rc;
}

/* ---- cache records: an image's whole state after a step ---- */

int berth_build__state_save(const berth_build_image *img, const char *path)
{
	json_t *st = json_pack("{s:O, s:[]}", "config", img->config, "layers"), *layers;
	char *txt = NULL;
	int rc;

	if (!st)
		return berth_error_set(BERTH_ERROR, "out of memory");
	layers = json_object_get(st, "layers");
	for (size_t i = 0; i < img->nlayers; i++) {
		const build_layer *l = &img->layers[i];
		json_t *e = json_pack("{s:s, s:s, s:I, s:s}", "mediaType", l->media_type, "digest",
				      l->digest.str, "size", (json_int_t)l->size, "diffID",
				      l->diff_id.str);

		if (!e || json_array_append_new(layers, e) < 0 ||
		    (l->deferred && json_object_set_new(e, "deferred", json_true()) < 0))
			goto oom;
	}
	if (img->base_name &&
	    (json_object_set_new(st, "baseName", json_string(img->base_name)) < 0 ||
	     json_object_set_new(st, "baseDigest", json_string(img->base_digest.str)) < 0))
		goto oom;
	txt = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	if (!txt)
		return berth_error_set(BERTH_ERROR, "out of memory");
	rc = berth_fs_write_atomic(path, txt, strlen(txt));
	free(txt);
	return rc;
oom:
	json_decref(st);
	return berth_error_set(BERTH_ERROR, "out of memory");
}

int berth_build__state_load(berth_build_image *img, const char *path)
{
	json_t *st, *layers, *e, *cfg;
	json_error_t jerr;
	build_layer *ls = NULL;
	size_t i, n;
	const char *bn;

	st = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!st)
		return berth_error_set(BERTH_ENOTFOUND, "no cache record");
	layers = json_object_get(st, "layers");
	cfg = json_object_get(st, "config");
	n = json_array_size(layers);
	if (!json_is_object(cfg) || !json_is_array(layers))
		goto bad;
	ls = n ? calloc(n, sizeof(*ls)) : NULL;
	if (n && !ls)
		goto bad;
	json_array_foreach(layers, i, e)
	{
		const char *mt = json_string_value(json_object_get(e, "mediaType"));
		const char *dg = json_string_value(json_object_get(e, "digest"));
		const char *id = json_string_value(json_object_get(e, "diffID"));

		if (!mt || !dg || !id || strlen(mt) >= sizeof(ls[i].media_type) ||
		    berth_digest_parse(&ls[i].digest, dg, strlen(dg)) < 0 ||
		    berth_digest_parse(&ls[i].diff_id, id, strlen(id)) < 0)
			goto bad;
		strcpy(ls[i].media_type, mt);
		ls[i].size = json_integer_value(json_object_get(e, "size"));
		ls[i].deferred = json_is_true(json_object_get(e, "deferred"));
	}
	json_decref(img->config);
	img->config = json_incref(cfg);
	free(img->layers);
	img->layers = ls;
	img->nlayers = img->cap = n;
	bn = json_string_value(json_object_get(st, "baseName"));
	free(img->base_name);
	img->base_name = bn ? strdup(bn) : NULL;
	if (bn) {
		const char *bd = json_string_value(json_object_get(st, "baseDigest"));

		if (!bd || berth_digest_parse(&img->base_digest, bd, strlen(bd)) < 0)
			memset(&img->base_digest, 0, sizeof(img->base_digest));
	}
	json_decref(st);
	return 0;
bad:
	free(ls);
	json_decref(st);
	return berth_error_set(BERTH_EINVALID, "corrupt cache record %s", path);
}

/* ---- an image committed in the store's layout, read back (exporters) ---- */

int berth_build__image_load(berth_build_image **out, berth_build_store *s, const char *tag,
			    const berth_digest *child)
{
	berth_buf body = BERTH_BUF_INIT(BERTH_MANIFEST_MAX);
	berth_build_image *img = NULL;
	berth_source *ls = NULL;
	berth_manifest *m = NULL;
	berth_digest digest;
	char mt[128];
	int rc;

	*out = NULL;
	if ((rc = open_layout_tag(&ls, s, tag)) < 0 ||
	    (rc = berth_source_manifest(ls, child, &body, mt, sizeof(mt), &digest)) < 0 ||
	    (rc = berth_manifest_parse(&m, body.ptr, body.len, mt)) < 0)
		goto done;
	if (m->kind != BERTH_OCI_IMAGE) {
		rc = berth_error_set(BERTH_EUNSUPPORTED, "%s is not a single image", tag);
		goto done;
	}
	img = calloc(1, sizeof(*img));
	if (!img) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	if ((rc = read_json_blob(ls, &m->config, &img->config)) < 0 ||
	    (rc = take_layers(img, m)) < 0)
		goto done;
	*out = img;
	img = NULL;
done:
	berth_build_image_free(img);
	berth_manifest_free(m);
	berth_source_free(ls);
	berth_buf_dispose(&body);
	return rc;
}
