/*
 * key.c - the layer cache's keys and records (see the comment below).
 */
#include "lib/build/internal.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the cache ----
 *
 * A step's key hashes the key of the state before it, the instruction as
 * expanded (kind, flags, words, key-values), the environment a RUN sees
 * (so build args count), and what the step reads besides: for COPY from
 * the context, the walk's digest of each source (contents and the metadata
 * that ends up in the layer, after .dockerignore); for COPY --from=<stage>,
 * the content, mode, owner and link target of what its plan reads in the
 * stage's root (not mtimes: BuildKit's content keys); for an image, the
 * manifest digest its reference resolved to. A record is the image's whole state after the step,
 * <store>/cache/<key hex>.json, written atomically: a hit replaces the
 * state and runs nothing. A RUN's --mount specs enter its key as written
 * (with the flags), and what its bind and cache mounts read besides: the
 * files under source= in the stage's root or a directory named context,
 * the image's resolved digest, or the context's digest of the bound path. Secrets never enter a
 * key: a secret mount's spec names only its id and target, never its value, and --secret values are
 * read only when the RUN runs. --add-host, --ulimit and --shm-size count, as BuildKit's exec op
 * metadata does.
 *
 * Keys travel between stores and machines (--cache-to/--cache-from,
 * cache.c): nothing machine-local enters them. No store path, no context
 * path, no inode; a context file counts by its content, permission bits
 * and link target, not its owner (COPY from the context writes root:root);
 * the stage's platform counts even when it is only implied by this host.
 */

#define KEY_TREE_DEPTH_MAX 256 /* directory levels a mount's key walks */

static int hash_str(berth_hasher *h, const char *s)
{
	int rc = berth_hasher_update(h, s ? s : "", s ? strlen(s) + 1 : 1);

	return rc;
}

/*
 * What a later stage reads of an earlier one is its result: the digest of
 * its config and layers. A stage that was rebuilt (--no-cache-filter) and
 * came out different invalidates what reads it; a cached one does not.
 */
int berth_build__result_digest(const berth_build_image *img, berth_digest *out)
{
	berth_hasher *h = NULL;
	char *cfg = json_dumps(img->config, JSON_COMPACT | JSON_SORT_KEYS);
	int rc = cfg ? berth_hasher_new(&h, BERTH_DIGEST_SHA256) : BERTH_ERROR;

	if (rc == 0)
		rc = hash_str(h, cfg);
	for (size_t i = 0; rc == 0 && i < img->nlayers; i++)
		rc = hash_str(h, img->layers[i].digest.str);
	if (rc == 0)
		rc = berth_hasher_final(h, out);
	berth_hasher_free(h);
	free(cfg);
	return rc < 0 ? berth_error_set(BERTH_ERROR, "out of memory") : 0;
}

static int hash_file(berth_hasher *h, const char *path)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;
	ssize_t n;

	if (fd < 0)
		return berth_error_set_errno("%s", path);
	while (rc == 0 && (n = read(fd, buf, sizeof(buf))) > 0)
		rc = berth_hasher_update(h, buf, (size_t)n);
	if (rc == 0 && n < 0)
		rc = berth_error_set_errno("%s", path);
	close(fd);
	return rc;
}

/*
 * Exactly what the plan reads: each match, and each entry with its walk
 * digest. owners: the entries' uid and gid count too (a stage's files keep
 * theirs through COPY --from; the context's are written as root). A file
 * that the layer gets as a hard link of an earlier one counts as such (by
 * its position in the match, nothing machine-local): linking two equal files
 * changes the layer, so it changes the key.
 */
static int hash_plan(berth_hasher *h, const copy_plan *p, int owners)
{
	char num[96];
	int rc = 0;

	for (size_t mi = 0; rc == 0 && mi < p->nmatches; mi++) {
		const copy_match *m = &p->matches[mi];

		snprintf(num, sizeof(num), "match %d %zu", m->is_dir, m->n);
		if ((rc = hash_str(h, num)) == 0 && (rc = hash_str(h, m->name)) == 0)
			rc = hash_str(h, m->keep);
		for (size_t i = m->first; rc == 0 && i < m->first + m->n; i++) {
			const copy_item *it = &p->items[i];

			if (it->hardlink != SIZE_MAX) {
				snprintf(num, sizeof(num), "hard link to %zu",
					 it->hardlink - m->first);
				if ((rc = hash_str(h, num)) < 0)
					break;
			}
			/* not the mtime: BuildKit's cache ignores it (a checkout moves it) */
			if (owners)
				snprintf(num, sizeof(num), "%o %u %u", it->mode, it->uid, it->gid);
			else
				snprintf(num, sizeof(num), "%o", it->mode);
			if ((rc = hash_str(h, it->sub)) == 0 && (rc = hash_str(h, num)) == 0 &&
			    (rc = hash_str(h, it->link)) == 0)
				rc = it->has_hash
					     ? berth_hasher_update(h, it->hash, sizeof(it->hash))
				     : S_ISREG(it->mode) ? hash_file(h, it->host)
							 : 0;
		}
	}
	return rc;
}

/*
 * COPY --from=<stage>: what the copy reads in the stage's root (its plan:
 * the sources after globbing, each file's content, mode, owner, link
 * target; not mtimes), as BuildKit's content keys. A stage rebuilt with
 * the same output keeps the key; one with other output changes it.
 */
static int stage_plan_hash(build_solver *sv, berth_hasher *h, const berth_df_xinstr *x,
			   berth_build_image *img)
{
	berth_workroot *w = NULL;
	copy_plan p = {0};
	int rc;

	if ((rc = berth_build_image_root(&w, sv->store, img)) < 0)
		return rc;
	if ((rc = berth_build__copy_plan(sv, x, berth_workroot_path(w), &p)) == 0)
		rc = hash_plan(h, &p, 1);
	else if (rc != BERTH_ERROR) { /* refused when applied, after the log line */
		berth_error_clear();
		rc = hash_str(h, "unreadable sources");
	}
	berth_build__copy_plan_dispose(&p);
	berth_workroot_free(w);
	return rc;
}

static int copy_inputs(build_solver *sv, berth_hasher *h, const berth_df_xinstr *x)
{
	const berth_df_flag *from = NULL;
	copy_plan p;
	int rc;

	for (size_t i = 0; i < x->nflags; i++)
		if (strcmp(x->flags[i].name, "from") == 0)
			from = &x->flags[i];
	for (size_t i = 0; x->heredoc_bodies && i < x->src->nheredocs; i++)
		if ((rc = hash_str(h, x->heredoc_bodies[i])) < 0)
			return rc;
	if (from) {
		char named[PATH_MAX + 64];
		const char *dir = berth_build__named_context(sv, from->value, named, sizeof(named));

		if (dir && !named[0]) { /* a directory context: its files, as the context's */
			if ((rc = berth_build__copy_plan(sv, x, dir, &p)) == 0)
				rc = hash_plan(h, &p, 0);
			else if (rc != BERTH_ERROR) {
				berth_error_clear();
				rc = hash_str(h, "unreadable sources");
			}
			berth_build__copy_plan_dispose(&p);
			return rc;
		}
	}
	if (from) {
		berth_build_image *img = NULL, *owned = NULL;

		if ((rc = berth_build__copy_from(sv, x, from->value, &img, &owned)) < 0) {
			berth_error_clear(); /* refused when applied, after the log line */
			return hash_str(h, "unknown --from");
		}
		if (owned) /* an image: its resolved digest (a re-tagged image misses) */
			rc = hash_str(h, owned->base_digest.str);
		else
			rc = stage_plan_hash(sv, h, x, img);
		berth_build_image_free(owned);
		return rc;
	}
	if ((rc = berth_build__copy_plan(sv, x, NULL, &p)) == 0)
		rc = hash_plan(h, &p, 0);
	else if (rc != BERTH_ERROR) {
		/* Bad sources: the step fails when applied, with this message, after
		 * its log line; no record is ever written under this key. */
		berth_error_clear();
		rc = hash_str(h, "unreadable sources");
	}
	berth_build__copy_plan_dispose(&p);
	return rc;
}

/* The walk digest of a context path ("" = the root), or NULL. */
static const uint8_t *context_digest(const berth_context *c, const char *rel)
{
	if (!*rel)
		return c->digest;
	for (size_t i = 0; i < c->nentries; i++)
		if (strcmp(c->entries[i].path, rel) == 0)
			return c->entries[i].digest;
	return NULL;
}

static int ensure_context(build_solver *sv)
{
	berth_context_opts co = {0};

	return sv->ctx ? 0 : berth_context_walk(&sv->ctx, sv->o->context, sv->ign, &co);
}

/* A path inside the context as the walk names it ("" = the root). */
static void context_rel(const char *s, char *clean, size_t len)
{
	size_t n;

	while (*s == '/' || (s[0] == '.' && s[1] == '/'))
		s += *s == '/' ? 1 : 2;
	n = strlen(s);
	while (n > 0 && s[n - 1] == '/')
		n--;
	snprintf(clean, len, "%.*s", (int)n, s);
	if (strcmp(clean, ".") == 0)
		clean[0] = '\0';
}

/* Each entry under dir/rel, sorted, with its owner, mode, link target, content. */
static int hash_tree(berth_hasher *h, const char *dir, const char *rel, unsigned depth)
{
	char path[PATH_MAX], num[96], link[PATH_MAX];
	struct dirent **names = NULL;
	struct stat st;
	int rc, n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, rel) >= (int)sizeof(path) ||
	    depth > KEY_TREE_DEPTH_MAX)
		return berth_error_set(BERTH_ETOOBIG, "%s: path too long or too deep", rel);
	if (lstat(path, &st) < 0)
		return hash_str(h, "-"); /* missing: refused when the RUN is applied */
	snprintf(num, sizeof(num), "%o %u %u", (unsigned)st.st_mode, (unsigned)st.st_uid,
		 (unsigned)st.st_gid);
	if ((rc = hash_str(h, rel)) < 0 || (rc = hash_str(h, num)) < 0)
		return rc;
	if (S_ISLNK(st.st_mode)) {
		ssize_t l = readlink(path, link, sizeof(link) - 1);

		link[l < 0 ? 0 : l] = '\0';
		return hash_str(h, link);
	}
	if (S_ISREG(st.st_mode))
		return hash_file(h, path);
	if (!S_ISDIR(st.st_mode))
		return 0;
	if ((n = scandir(path, &names, NULL, alphasort)) < 0)
		return berth_error_set_errno("%s", path);
	for (int i = 0; i < n; i++) {
		const char *e = names[i]->d_name;
		char sub[PATH_MAX];

		if (rc == 0 && strcmp(e, ".") != 0 && strcmp(e, "..") != 0) {
			if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", e) >=
			    (int)sizeof(sub))
				rc = berth_error_set(BERTH_ETOOBIG, "%s: path too long", rel);
			else
				rc = hash_tree(h, dir, sub, depth + 1);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * What a mount's from= reads: a directory context's or a stage's files
 * under source= (their content, modes, owners, links: BuildKit's content
 * keys, so a rebuilt stage with the same output keeps the key), or an
 * image's resolved manifest digest (a re-tagged image misses).
 */
static int mount_from_key(build_solver *sv, berth_hasher *h, const berth_df_xinstr *x,
			  const build_mount *m)
{
	berth_build_image *img = NULL, *owned = NULL;
	berth_workroot *w = NULL;
	char named[PATH_MAX + 64], clean[PATH_MAX];
	const char *dir = berth_build__named_context(sv, m->from, named, sizeof(named));
	int rc;

	context_rel(m->source ? m->source : "", clean, sizeof(clean));
	if (dir && !named[0])
		return hash_tree(h, dir, clean, 0);
	if ((rc = berth_build__copy_from(sv, x, m->from, &img, &owned)) < 0) {
		berth_error_clear(); /* refused when the RUN is applied */
		return hash_str(h, m->from);
	}
	if (owned) {
		rc = hash_str(h, owned->base_digest.str);
	} else if ((rc = berth_build_image_root(&w, sv->store, img)) == 0) {
		rc = hash_tree(h, berth_workroot_path(w), clean, 0);
		berth_workroot_free(w);
	}
	berth_build_image_free(owned);
	return rc;
}

int berth_build__mounts_key(build_solver *sv, berth_hasher *h, const berth_df_xinstr *x)
{
	size_t nssh = 0;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < x->nflags; i++) {
		build_mount m;

		if (strcmp(x->flags[i].name, "mount") != 0 || !x->flags[i].value)
			continue;
		if (berth_build__mount_parse(&m, x->flags[i].value, nssh) < 0)
			continue; /* refused with its message when the RUN is applied */
		nssh += m.type == BM_SSH;
		if (m.type != BM_BIND && !(m.type == BM_CACHE && m.from)) {
			/* the spec alone (hashed with the flags) */
		} else if (m.from && *m.from) {
			rc = mount_from_key(sv, h, x, &m);
		} else if ((rc = ensure_context(sv)) == 0) {
			char clean[PATH_MAX];
			const uint8_t *d;

			context_rel(m.source ? m.source : "", clean, sizeof(clean));
			d = context_digest(sv->ctx, clean);
			rc = d ? berth_hasher_update(h, d, BERTH_CONTEXT_HASH_SIZE)
			       : hash_str(h, "-");
		}
		berth_build__mount_dispose(&m);
	}
	for (size_t i = 0; rc == 0 && i < sv->o->nhosts; i++)
		if ((rc = hash_str(h, sv->o->hosts[i].name)) == 0)
			rc = hash_str(h, sv->o->hosts[i].ip);
	for (size_t i = 0; rc == 0 && i < sv->o->nrlimits; i++) {
		char b[96];

		snprintf(b, sizeof(b), "ulimit %d %llu %llu", sv->o->rlimits[i].resource,
			 (unsigned long long)sv->o->rlimits[i].soft,
			 (unsigned long long)sv->o->rlimits[i].hard);
		rc = hash_str(h, b);
	}
	if (rc == 0 && sv->o->shm_size) {
		char b[48];

		snprintf(b, sizeof(b), "shm %llu", (unsigned long long)sv->o->shm_size);
		rc = hash_str(h, b);
	}
	return rc;
}

int berth_build__step_key(build_solver *sv, const char *prev, const char *platform,
			  const berth_df_xinstr *x, berth_digest *out)
{
	berth_hasher *h = NULL;
	int rc;

	if ((rc = berth_hasher_new(&h, BERTH_DIGEST_SHA256)) < 0)
		return rc;
	rc = hash_str(h, "berth-step-v3");
	if (rc == 0)
		rc = hash_str(h, prev);
	if (rc == 0) { /* the stage's platform, also when implied by this host (keys travel) */
		const char *v = NULL, *arch = berth_oci_host_arch(&v);

		rc = hash_str(h, platform ? platform : arch);
		if (rc == 0)
			rc = hash_str(h, platform ? "" : v ? v : "");
	}
	if (rc == 0)
		rc = hash_str(h, berth_dockerfile_kind_name(x->src->kind));
	if (rc == 0)
		rc = hash_str(h, x->src->kind == BERTH_DF_RUN || x->src->kind == BERTH_DF_CMD ||
						 x->src->kind == BERTH_DF_ENTRYPOINT ||
						 x->src->kind == BERTH_DF_HEALTHCHECK ||
						 x->src->kind == BERTH_DF_SHELL ||
						 x->src->kind == BERTH_DF_ENV ||
						 x->src->kind == BERTH_DF_WORKDIR ||
						 x->src->kind == BERTH_DF_USER ||
						 x->src->kind == BERTH_DF_ONBUILD
					 ? x->src->args_text
					 : "");
	for (size_t i = 0; rc == 0 && i < x->nflags; i++)
		if ((rc = hash_str(h, x->flags[i].name)) == 0)
			rc = hash_str(h, x->flags[i].value);
	for (size_t i = 0; rc == 0 && i < x->nwords; i++)
		rc = hash_str(h, x->words[i]);
	for (size_t i = 0; rc == 0 && i < x->nkvs; i++)
		if ((rc = hash_str(h, x->kvs[i].key)) == 0)
			rc = hash_str(h, x->kvs[i].has_value ? x->kvs[i].value : NULL);
	for (size_t i = 0; rc == 0 && x->src->kind == BERTH_DF_RUN && i < x->env.n; i++)
		if ((rc = hash_str(h, x->env.items[i].name)) == 0)
			rc = hash_str(h, x->env.items[i].value);
	if (rc == 0 && (x->src->kind == BERTH_DF_COPY || x->src->kind == BERTH_DF_ADD))
		rc = copy_inputs(sv, h, x);
	if (rc == 0 && x->src->kind == BERTH_DF_RUN)
		rc = hash_str(h, sv->o->net == BERTH_SANDBOX_NET_NONE ? "net=none" : "net=host");
	if (rc == 0 && x->src->kind == BERTH_DF_RUN)
		rc = berth_build__mounts_key(sv, h, x);
	for (size_t i = 0; rc == 0 && x->src->kind == BERTH_DF_RUN && i < x->src->nheredocs; i++)
		rc = hash_str(h, x->src->heredocs[i].body);
	if (rc == 0)
		rc = berth_hasher_final(h, out);
	berth_hasher_free(h);
	return rc;
}

void berth_build__record_path(build_solver *sv, const berth_digest *key, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.json", sv->cache_dir, berth_digest_hex(key));
}

int berth_build__stage_uses_cache(build_solver *sv, const berth_df_xstage *xs)
{
	if (sv->o->no_cache)
		return 0;
	for (size_t i = 0; i < sv->o->nno_cache_filter; i++) {
		const char *f = sv->o->no_cache_filter[i];

		if ((xs->src->name && strcasecmp(f, xs->src->name) == 0) ||
		    (strspn(f, "0123456789") == strlen(f) && (size_t)atol(f) == xs->index))
			return 0;
	}
	return 1;
}
