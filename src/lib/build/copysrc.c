/*
 * copysrc.c - what a COPY or ADD reads: its source words expanded into
 * matches (wildcards with Go's filepath.Match, as BuildKit), each match
 * listed down to the entries it copies (.dockerignore and --exclude
 * applied), URLs fetched and heredocs written to a temporary directory.
 * copy.c writes the plan into a root; key.c hashes it, so the cache key
 * covers exactly the files a step reads.
 *
 * Sources from the build context are looked up in the solver's context
 * walk (sorted, with content digests); sources from a stage's root are
 * resolved inside that root (symlinks included) and the directory they
 * name is walked for metadata.
 */
#include "lib/build/internal.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SYMLINK_HOPS_MAX 40

static int is_wild(const char *s)
{
	return strpbrk(s, "*?[\\") != NULL;
}

/*
 * Clean a '/'-separated path into out: no leading '/', no "." or empty
 * components. ".." is refused (a source never leaves its root) unless
 * clamp, where it stops at the root as a symlink target does.
 */
static int path_clean(const char *in, char *out, size_t len, int clamp)
{
	size_t o = 0;

	while (*in) {
		size_t n = strcspn(in, "/");

		if (n == 0 || (n == 1 && in[0] == '.')) {
			/* skip */
		} else if (n == 2 && in[0] == '.' && in[1] == '.') {
			if (!clamp)
				return BERTH_EDENIED;
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
		} else {
			if (o + n + 2 > len)
				return BERTH_ETOOBIG;
			if (o)
				out[o++] = '/';
			memcpy(out + o, in, n);
			o += n;
		}
		in += n + (in[n] == '/');
	}
	out[o] = '\0';
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* ---- the plan ---- */

static copy_item *item_add(copy_plan *p)
{
	copy_item *it;

	if (p->nitems == p->icap) {
		size_t cap = p->icap ? p->icap * 2 : 64;
		copy_item *v = realloc(p->items, cap * sizeof(*v));

		if (!v)
			return NULL;
		p->items = v;
		p->icap = cap;
	}
	it = &p->items[p->nitems++];
	memset(it, 0, sizeof(*it));
	it->hardlink = SIZE_MAX; /* plan_links sets it */
	return it;
}

static copy_match *match_add(copy_plan *p, const char *name, const char *keep, int is_dir)
{
	copy_match *m;

	if (p->nmatches == p->mcap) {
		size_t cap = p->mcap ? p->mcap * 2 : 8;
		copy_match *v = realloc(p->matches, cap * sizeof(*v));

		if (!v)
			return NULL;
		p->matches = v;
		p->mcap = cap;
	}
	m = &p->matches[p->nmatches];
	memset(m, 0, sizeof(*m));
	m->name = strdup(name);
	m->keep = keep ? strdup(keep) : NULL;
	if (!m->name || (keep && !m->keep)) {
		free(m->name);
		free(m->keep);
		return NULL;
	}
	m->is_dir = is_dir;
	m->first = p->nitems;
	p->nmatches++;
	return m;
}

void berth_build__copy_plan_dispose(copy_plan *p)
{
	for (size_t i = 0; i < p->nitems; i++) {
		free(p->items[i].host);
		free(p->items[i].sub);
		free(p->items[i].link);
	}
	for (size_t i = 0; i < p->nmatches; i++) {
		free(p->matches[i].name);
		free(p->matches[i].keep);
	}
	free(p->items);
	free(p->matches);
	if (p->tmpdir[0] && berth_fs_remove_tree(p->tmpdir) < 0)
		berth_error_clear();
	berth_dockerignore_free(p->exclude);
	memset(p, 0, sizeof(*p));
}

/* An item from a walk entry (or, e NULL, from a stat of host). */
static int item_from(copy_plan *p, const char *host, const char *sub, const berth_context_entry *e,
		     const struct stat *st)
{
	copy_item *it = item_add(p);

	if (!it)
		return berth_error_set(BERTH_ERROR, "out of memory");
	it->host = strdup(host);
	it->sub = strdup(sub);
	if (e) {
		it->mode = e->mode;
		it->uid = e->uid;
		it->gid = e->gid;
		it->mtime_sec = e->mtime_sec;
		it->mtime_nsec = e->mtime_nsec;
		it->size = e->size;
		it->dev = e->dev;
		it->ino = e->ino;
		it->nlink = e->nlink;
		if (e->link)
			it->link = strdup(e->link);
		/* the content, not the walk digest: that hashes the owner, which a COPY
		 * from the context does not keep and which differs between machines */
		memcpy(it->hash, e->content, sizeof(it->hash));
		/* a directory's digest covers children the copy may exclude */
		/* (and a walk without hashes, of a stage or directory context, has none:
		 * the key then reads the file) */
		it->has_hash = !S_ISDIR(e->mode);
		for (size_t k = 0; it->has_hash && k < sizeof(it->hash) && !it->hash[k]; k++)
			if (k + 1 == sizeof(it->hash))
				it->has_hash = 0;
	} else {
		it->mode = st->st_mode;
		it->uid = st->st_uid;
		it->gid = st->st_gid;
		it->mtime_sec = st->st_mtim.tv_sec;
		it->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
		it->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
		it->dev = st->st_dev;
		it->ino = st->st_ino;
		it->nlink = (uint32_t)st->st_nlink;
		if (S_ISLNK(st->st_mode)) {
			char t[PATH_MAX];
			ssize_t n = readlink(host, t, sizeof(t) - 1);

			if (n < 0)
				return berth_error_set_errno("%s", host);
			t[n] = '\0';
			it->link = strdup(t);
		}
	}
	if (!it->host || !it->sub || ((e ? e->link != NULL : S_ISLNK(st->st_mode)) && !it->link))
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

typedef struct src_ctx {
	build_solver *sv;
	const berth_df_xinstr *x;
	copy_plan *p;
	int parents;
	size_t pivot; /* --parents: bytes of the source path before the "/./" pivot */
} src_ctx;

/* The --parents path of a match at full (relative to the source root). */
static const char *keep_of(src_ctx *s, const char *full)
{
	if (!s->parents)
		return NULL;
	return strlen(full) > s->pivot ? full + s->pivot : full;
}

static int excluded(src_ctx *s, const char *rel)
{
	return s->p->exclude && *rel && berth_dockerignore_excluded(s->p->exclude, rel, NULL) == 1;
}

/*
 * The match of entry i of c (-1: c's root directory, described by root_st)
 * whose path relative to the source root is full; c's root is host_root.
 * A directory brings every entry under it.
 */
static int add_entry_match(src_ctx *s, const berth_context *c, const char *host_root, long i,
			   const struct stat *root_st, const char *full)
{
	const berth_context_entry *e = i >= 0 ? &c->entries[i] : NULL;
	const char *epath = e ? e->path : "";
	size_t plen = strlen(epath);
	int is_dir = e ? S_ISDIR(e->mode) : 1;
	copy_match *m;
	berth_buf host = BERTH_BUF_INIT(0);
	int rc;

	if (*full && excluded(s, full))
		return 0;
	m = match_add(s->p, *full ? base_name(full) : ".", keep_of(s, full), is_dir);
	if (!m)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = berth_buf_printf(&host, "%s%s%s", host_root, *epath ? "/" : "", epath)) < 0 ||
	    (rc = item_from(s->p, host.ptr, "", e, root_st)) < 0)
		goto done;
	for (size_t j = (size_t)(i + 1); is_dir && j < c->nentries; j++) {
		const berth_context_entry *d = &c->entries[j];
		const char *sub;

		if (plen && (strncmp(d->path, epath, plen) != 0 || d->path[plen] != '/'))
			break;
		sub = plen ? d->path + plen + 1 : d->path;
		if (excluded(s, sub))
			continue;
		berth_buf_reset(&host);
		if ((rc = berth_buf_printf(&host, "%s/%s", host_root, d->path)) < 0 ||
		    (rc = item_from(s->p, host.ptr, sub, d, NULL)) < 0)
			goto done;
	}
	m = &s->p->matches[s->p->nmatches - 1];
	m->n = s->p->nitems - m->first;
done:
	berth_buf_dispose(&host);
	return rc;
}

/* ---- the build context ---- */

/* Entry index of path in the context, following symlinks inside it; -1 if none. */
static long ctx_lookup(const berth_context *c, const char *path)
{
	char cur[PATH_MAX], next[PATH_MAX * 2];

	snprintf(cur, sizeof(cur), "%s", path);
	for (int hop = 0; hop < SYMLINK_HOPS_MAX; hop++) {
		const berth_context_entry *e = berth_context_find(c, cur);
		const char *slash;

		if (!e)
			return -1;
		if (!e->link)
			return e - c->entries;
		slash = strrchr(cur, '/');
		if (e->link[0] == '/')
			snprintf(next, sizeof(next), "%s", e->link);
		else
			snprintf(next, sizeof(next), "%.*s/%s", slash ? (int)(slash - cur) : 0, cur,
				 e->link);
		if (path_clean(next, cur, sizeof(cur), 1) < 0 || !cur[0])
			return -1;
	}
	return -1;
}

static int from_context(src_ctx *s, const char *path)
{
	build_solver *sv = s->sv;
	const berth_context *c = sv->ctx;
	size_t before = s->p->nmatches;
	int rc = 0;

	if (!*path) {
		struct stat st;

		if (stat(c->root, &st) < 0)
			return berth_error_set_errno("%s", c->root);
		st.st_mode = (st.st_mode & ~07777u) | 0755;
		return add_entry_match(s, c, c->root, -1, &st, "");
	}
	if (!is_wild(path)) {
		long i = ctx_lookup(c, path);

		return i < 0 ? 0 : add_entry_match(s, c, c->root, i, NULL, path);
	}
	for (size_t i = 0; i < c->nentries && rc == 0; i++) {
		int r = berth_df_path_match(path, c->entries[i].path);

		if (r < 0)
			return berth_build__fail_at(sv, s->x->src, BERTH_EINVALID,
						    "bad pattern '%s'", path);
		if (r == 1)
			rc = add_entry_match(s, c, c->root, (long)i, NULL, c->entries[i].path);
	}
	(void)before;
	return rc;
}

/* ---- a stage's root ---- */

/* The host path of path resolved inside root (symlinks followed), into out. */
static int root_resolve(int rootfd, const char *path, char *out, size_t len)
{
	char proc[64];
	int fd = berth_inroot_open(rootfd, *path ? path : ".", O_PATH | O_CLOEXEC, 0);
	ssize_t n;

	if (fd < 0)
		return fd;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, out, len - 1);
	close(fd);
	if (n < 0 || (size_t)n >= len - 1)
		return berth_error_set(BERTH_ERROR, "cannot resolve %s", path);
	out[n] = '\0';
	return 0;
}

static int from_root(src_ctx *s, const char *root, const char *path)
{
	char prefix[PATH_MAX], host[PATH_MAX];
	const char *pat = NULL;
	berth_context *c = NULL;
	berth_context_opts co = {.no_hash = 1};
	struct stat st;
	int rootfd, rc;

	/* The literal directory before the first component with a wildcard. */
	snprintf(prefix, sizeof(prefix), "%s", path);
	if (is_wild(path)) {
		char *w = prefix + (strpbrk(prefix, "*?[\\") - prefix);

		while (w > prefix && w[-1] != '/')
			w--;
		pat = path + (w - prefix);
		*(w > prefix ? w - 1 : w) = '\0';
	}
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berth_error_set_errno("%s", root);
	rc = root_resolve(rootfd, prefix, host, sizeof(host));
	close(rootfd);
	if (rc == BERTH_ENOTFOUND) {
		berth_error_clear();
		return 0;
	}
	if (rc < 0)
		return rc;
	if (stat(host, &st) < 0)
		return berth_error_set_errno("%s", host);
	if (!pat && !S_ISDIR(st.st_mode)) {
		if (excluded(s, path))
			return 0;
		if (!match_add(s->p, base_name(path), keep_of(s, path), 0))
			return berth_error_set(BERTH_ERROR, "out of memory");
		if ((rc = item_from(s->p, host, "", NULL, &st)) == 0)
			s->p->matches[s->p->nmatches - 1].n = 1;
		return rc;
	}
	if (pat && !S_ISDIR(st.st_mode))
		return 0;
	if ((rc = berth_context_walk(&c, host, NULL, &co)) < 0)
		return rc;
	if (!pat) {
		rc = add_entry_match(s, c, host, -1, &st, path);
	} else {
		for (size_t i = 0; i < c->nentries && rc == 0; i++) {
			char full[PATH_MAX * 2];
			int r = berth_df_path_match(pat, c->entries[i].path);

			if (r < 0) {
				rc = berth_build__fail_at(s->sv, s->x->src, BERTH_EINVALID,
							  "bad pattern '%s'", path);
				break;
			}
			if (r != 1)
				continue;
			snprintf(full, sizeof(full), "%s%s%s", prefix, *prefix ? "/" : "",
				 c->entries[i].path);
			rc = add_entry_match(s, c, host, (long)i, NULL, full);
		}
	}
	berth_context_free(c);
	return rc;
}

/* ---- URLs and heredocs ---- */

static int is_url(const char *w)
{
	return strncmp(w, "http://", 7) == 0 || strncmp(w, "https://", 8) == 0;
}

static int ensure_tmpdir(build_solver *sv, copy_plan *p)
{
	char base[PATH_MAX + 16];
	int rc;

	if (p->tmpdir[0])
		return 0;
	snprintf(base, sizeof(base), "%s/tmp", sv->store->root);
	if ((rc = berth_fs_mkdir_p(base)) < 0)
		return rc;
	if ((size_t)snprintf(p->tmpdir, sizeof(p->tmpdir), "%s/copy-XXXXXX", base) >=
	    sizeof(p->tmpdir))
		return berth_error_set(BERTH_ETOOBIG, "store path too long");
	if (!mkdtemp(p->tmpdir)) {
		p->tmpdir[0] = '\0';
		return berth_error_set_errno("mkdtemp");
	}
	return 0;
}

/* The file name of a URL: its path's last component (BuildKit: "__unnamed__" if none). */
static void url_name(const char *url, char *out, size_t len)
{
	const char *p = strstr(url, "://") + 3;
	const char *path = p + strcspn(p, "/?#");
	size_t n = strcspn(path, "?#");
	const char *last = path;

	for (size_t i = 0; i < n; i++)
		if (path[i] == '/')
			last = path + i + 1;
	n -= (size_t)(last - path);
	if (n == 0)
		snprintf(out, len, "__unnamed__");
	else
		snprintf(out, len, "%.*s", (int)n, last);
}

/*
 * An ADD URL's download, once per build: the first use (the step's key or
 * its copy) fetches it into the build's download directory, later uses of
 * the same URL and --checksum link that file into `file`. *mtime: the
 * server's Last-Modified.
 */
static int fetch_once(build_solver *sv, const char *url, const char *checksum, const char *file,
		      int64_t *mtime)
{
	build_download *d = NULL;
	char path[PATH_MAX + 128];
	int rc = 0;

	pthread_mutex_lock(&sv->fetch_mu);
	for (size_t i = 0; i < sv->ndownloads && !d; i++)
		if (strcmp(sv->downloads[i].url, url) == 0 &&
		    strcmp(sv->downloads[i].checksum, checksum ? checksum : "") == 0)
			d = &sv->downloads[i];
	if (!d && sv->ndownloads == BUILD_DOWNLOADS_MAX)
		rc = berth_error_set(BERTH_ETOOBIG, "more than %d URLs", BUILD_DOWNLOADS_MAX);
	if (!d && rc == 0 && !sv->fetch_dir[0]) {
		snprintf(path, sizeof(path), "%s/tmp", sv->store->root);
		if ((rc = berth_fs_mkdir_p(path)) == 0) {
			if ((size_t)snprintf(sv->fetch_dir, sizeof(sv->fetch_dir),
					     "%s/fetch-XXXXXX", path) >= sizeof(sv->fetch_dir)) {
				sv->fetch_dir[0] = '\0';
				rc = berth_error_set(BERTH_ETOOBIG, "store path too long");
			} else if (!mkdtemp(sv->fetch_dir)) {
				sv->fetch_dir[0] = '\0';
				rc = berth_error_set_errno("mkdtemp");
			}
		}
	}
	if (!d && rc == 0) {
		build_download *nd = &sv->downloads[sv->ndownloads];

		snprintf(path, sizeof(path), "%s/%zu", sv->fetch_dir, sv->ndownloads);
		nd->url = strdup(url);
		nd->checksum = strdup(checksum ? checksum : "");
		if (!nd->url || !nd->checksum) {
			free(nd->url);
			free(nd->checksum);
			rc = berth_error_set(BERTH_ERROR, "out of memory");
		} else if ((rc = berth_build__fetch(url, path, checksum, &nd->mtime)) < 0) {
			free(nd->url);
			free(nd->checksum);
		} else {
			d = &sv->downloads[sv->ndownloads++];
		}
	}
	if (d) {
		snprintf(path, sizeof(path), "%s/%zu", sv->fetch_dir, (size_t)(d - sv->downloads));
		*mtime = d->mtime;
		if (link(path, file) < 0)
			rc = berth_error_set_errno("link %s", file);
	}
	pthread_mutex_unlock(&sv->fetch_mu);
	return rc;
}

static int from_url(src_ctx *s, const char *url, const char *checksum, int n)
{
	char name[256], file[PATH_MAX + 32];
	struct stat st;
	int64_t mtime = 0;
	copy_match *m;
	int rc;

	if ((rc = ensure_tmpdir(s->sv, s->p)) < 0)
		return rc;
	url_name(url, name, sizeof(name));
	snprintf(file, sizeof(file), "%s/url-%d", s->p->tmpdir, n);
	if ((rc = fetch_once(s->sv, url, checksum, file, &mtime)) < 0)
		return berth_build__fail_at(s->sv, s->x->src, rc, "%s", berth_error_last());
	if (stat(file, &st) < 0)
		return berth_error_set_errno("%s", file);
	st.st_mode = S_IFREG | 0600; /* as Docker: downloads are 0600 */
	st.st_uid = st.st_gid = 0;
	st.st_mtim.tv_sec = mtime;
	st.st_mtim.tv_nsec = 0;
	m = match_add(s->p, name, NULL, 0);
	if (!m)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = item_from(s->p, file, "", NULL, &st)) == 0)
		s->p->matches[s->p->nmatches - 1].n = 1;
	return rc;
}

static int from_heredoc(src_ctx *s, size_t h)
{
	const berth_df_heredoc *hd = &s->x->src->heredocs[h];
	const char *body = s->x->heredoc_bodies ? s->x->heredoc_bodies[h] : "";
	char file[PATH_MAX + 32];
	struct stat st;
	int fd, rc;

	if ((rc = ensure_tmpdir(s->sv, s->p)) < 0)
		return rc;
	snprintf(file, sizeof(file), "%s/heredoc-%zu", s->p->tmpdir, h);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return berth_error_set_errno("%s", file);
	rc = berth_fs_write_all(fd, body, strlen(body));
	close(fd);
	if (rc < 0)
		return rc;
	if (stat(file, &st) < 0)
		return berth_error_set_errno("%s", file);
	st.st_mode = S_IFREG | 0644;
	st.st_uid = st.st_gid = 0;
	/* Not the write time: a rebuild of the same text gives the same layer. */
	st.st_mtim.tv_sec = 0;
	st.st_mtim.tv_nsec = 0;
	if (!match_add(s->p, hd->name, NULL, 0))
		return berth_error_set(BERTH_ERROR, "out of memory");
	if ((rc = item_from(s->p, file, "", NULL, &st)) == 0)
		s->p->matches[s->p->nmatches - 1].n = 1;
	return rc;
}

/* ---- the words ---- */

static int exclude_patterns(build_solver *sv, const berth_df_xinstr *x, copy_plan *p)
{
	berth_buf text = BERTH_BUF_INIT(0);
	int rc = 0;

	for (size_t i = 0; i < x->nflags && rc == 0; i++)
		if (strcmp(x->flags[i].name, "exclude") == 0) {
			if (!x->flags[i].value || !*x->flags[i].value)
				rc = berth_build__fail_at(sv, x->src, BERTH_EINVALID,
							  "--exclude needs a pattern");
			else
				rc = berth_buf_printf(&text, "%s\n", x->flags[i].value);
		}
	if (rc == 0 && text.len)
		rc = berth_dockerignore_parse(&p->exclude, text.ptr, text.len, "--exclude");
	berth_buf_dispose(&text);
	return rc;
}

static int plan_word(src_ctx *s, const char *root, size_t wi, int *nurl)
{
	const berth_df_xinstr *x = s->x;
	const char *w = x->words[wi];
	const berth_df_flag *ck = berth_dockerfile_flag(x->src, "checksum");
	char clean[PATH_MAX];
	const char *piv;
	size_t before = s->p->nmatches;
	int rc;

	for (size_t h = 0; h < x->src->nheredocs; h++)
		if (strcmp(x->src->heredocs[h].word, w) == 0)
			return from_heredoc(s, h);
	if (x->src->kind == BERTH_DF_ADD && is_url(w)) {
		const char *sum = NULL;

		for (size_t i = 0; i < x->nflags; i++)
			if (strcmp(x->flags[i].name, "checksum") == 0)
				sum = x->flags[i].value;
		return from_url(s, w, sum, (*nurl)++);
	}
	if (strstr(w, "://"))
		return berth_build__fail_at(s->sv, x->src, BERTH_EUNSUPPORTED,
					    "source '%s': only http(s) URLs are supported%s", w,
					    x->src->kind == BERTH_DF_ADD ? "" : " (and by ADD)");
	if (ck)
		return berth_build__fail_at(s->sv, x->src, BERTH_EINVALID,
					    "--checksum is only for http(s) sources, not '%s'", w);
	while (w[0] == '.' && w[1] == '/')
		w += 2;
	s->pivot = 0;
	piv = strstr(w, "/./");
	if (s->parents && piv) {
		char b[PATH_MAX];

		snprintf(b, sizeof(b), "%.*s", (int)(piv - w), w);
		if (path_clean(b, clean, sizeof(clean), 0) == 0)
			s->pivot = strlen(clean) + (clean[0] ? 1 : 0);
	}
	rc = path_clean(w, clean, sizeof(clean), 0);
	if (rc == BERTH_EDENIED)
		return berth_build__fail_at(s->sv, x->src, BERTH_EDENIED,
					    "source '%s' leaves the %s", x->words[wi],
					    root ? "stage's root" : "build context");
	if (rc < 0)
		return berth_build__fail_at(s->sv, x->src, rc, "source '%s' is too long",
					    x->words[wi]);
	rc = root ? from_root(s, root, clean) : from_context(s, clean);
	if (rc == 0 && s->p->nmatches == before && !is_wild(clean))
		rc = berth_build__fail_at(s->sv, x->src, BERTH_ENOTFOUND,
					  "failed to compute cache key: \"/%s\": not found", clean);
	return rc;
}

/* Items (indices into ctx's) by device, inode, then position. */
static int by_inode(const void *a, const void *b, void *ctx)
{
	size_t i = *(const size_t *)a, k = *(const size_t *)b;
	const copy_item *x = &((const copy_item *)ctx)[i], *y = &((const copy_item *)ctx)[k];

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return i < k ? -1 : i > k;
}

/*
 * Each item's hard link within its match (BuildKit keeps the links among the
 * files of one source): the first regular file of the match with its device
 * and inode. Sorted, not compared pairwise: a context of hard-linked files
 * (a pnpm node_modules) has thousands.
 */
static int plan_links(copy_plan *p)
{
	size_t *idx = NULL;

	for (size_t mi = 0; mi < p->nmatches; mi++) {
		const copy_match *m = &p->matches[mi];
		size_t n = 0;

		for (size_t i = m->first; i < m->first + m->n; i++) {
			const copy_item *it = &p->items[i];

			if (!S_ISREG(it->mode) || it->nlink < 2)
				continue;
			if (!idx && !(idx = malloc(p->nitems * sizeof(*idx))))
				return berth_error_set(BERTH_ERROR, "out of memory");
			idx[n++] = i;
		}
		if (n < 2)
			continue;
		qsort_r(idx, n, sizeof(*idx), by_inode, p->items);
		for (size_t k = 1; k < n; k++) {
			copy_item *it = &p->items[idx[k]];
			const copy_item *prev = &p->items[idx[k - 1]];

			if (it->dev == prev->dev && it->ino == prev->ino)
				it->hardlink =
					prev->hardlink == SIZE_MAX ? idx[k - 1] : prev->hardlink;
		}
	}
	free(idx);
	return 0;
}

int berth_build__copy_plan(build_solver *sv, const berth_df_xinstr *x, const char *root,
			   copy_plan *p)
{
	src_ctx s = {.sv = sv, .x = x, .p = p};
	size_t nsrc = x->nwords - 1;
	int rc, nurl = 0;

	memset(p, 0, sizeof(*p));
	if (x->nwords < 2)
		return berth_build__fail_at(sv, x->src, BERTH_EINVALID,
					    "needs a source and a destination");
	if (nsrc > BERTH_BUILD_COPY_SOURCES_MAX)
		return berth_build__fail_at(sv, x->src, BERTH_ETOOBIG, "more than %d sources",
					    BERTH_BUILD_COPY_SOURCES_MAX);
	s.parents = berth_dockerfile_flag(x->src, "parents") != NULL;
	if ((rc = exclude_patterns(sv, x, p)) < 0)
		return rc;
	if (!root) {
		/* the context is walked once, by whichever step needs it first (key.c too) */
		pthread_mutex_lock(&sv->key_mu);
		if (!sv->ctx) {
			berth_context_opts co = {0};

			rc = berth_context_walk(&sv->ctx, sv->o->context, sv->ign, &co);
		}
		pthread_mutex_unlock(&sv->key_mu);
		if (rc < 0)
			return rc;
	}
	for (size_t i = 0; i < nsrc && rc == 0; i++)
		rc = plan_word(&s, root, i, &nurl);
	if (rc == 0 && p->nmatches == 0)
		rc = berth_build__fail_at(sv, x->src, BERTH_ENOTFOUND,
					  "no source files were specified (no file matches %s)",
					  x->words[0]);
	if (rc == 0)
		rc = plan_links(p);
	return rc;
}
