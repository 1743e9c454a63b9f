/*
 * context.c - the build context walk: which files a build sees after
 * .dockerignore, with their metadata and sha256 hashes, so the builder
 * can key its cache on exactly what a COPY reads.
 *
 * Two passes. The walk (one thread, openat/fstatat relative to each
 * directory's descriptor, entries sorted by name) records metadata and
 * applies the ignore patterns: an excluded directory is skipped whole
 * unless an exception pattern may re-include something below it; then it
 * is entered and appears only as the parent of what is re-included. Then
 * regular files are hashed by a few threads (each takes the next file),
 * streaming through a fixed buffer; finally digests are folded bottom-up so
 * each directory's digest covers its children.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* An excluded directory entered because an exception may re-include something below it:
 * emitted (as a parent) only when something below it is included. */
typedef struct pending_dir {
	char *path;
	struct stat st;
	long pattern;
	bool emitted;
} pending_dir;

typedef struct walker {
	berth_context *c;
	const berth_dockerignore *ign;
	const berth_context_opts *opts;
	size_t cap, capx;
	pending_dir pend[BERTH_CONTEXT_MAX_DEPTH + 1];
	size_t npend;
} walker;

/* '/' sorts before every other byte, so a directory's entries follow it (preorder). */
static int path_cmp(const char *a, const char *b)
{
	for (;; a++, b++) {
		unsigned char x = (unsigned char)*a, y = (unsigned char)*b;

		if (x == y) {
			if (!x)
				return 0;
			continue;
		}
		if (!x || !y)
			return x ? 1 : -1;
		if (x == '/')
			return -1;
		if (y == '/')
			return 1;
		return x < y ? -1 : 1;
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int push_entry(walker *w, const char *path, const struct stat *st, const char *link)
{
	berth_context *c = w->c;
	berth_context_entry *e;

	if (c->nentries >= BERTH_CONTEXT_MAX_ENTRIES)
		return berth_error_set(BERTH_ETOOBIG, "build context has more than %u entries",
				       BERTH_CONTEXT_MAX_ENTRIES);
	if (c->nentries == w->cap) {
		size_t nc = w->cap ? w->cap * 2 : 1024;
		berth_context_entry *p = realloc(c->entries, nc * sizeof(*p));

		if (!p)
			return berth_error_set(BERTH_ERROR, "out of memory");
		c->entries = p;
		w->cap = nc;
	}
	e = &c->entries[c->nentries];
	memset(e, 0, sizeof(*e));
	if (!(e->path = strdup(path)) || (link && !(e->link = strdup(link)))) {
		free(e->path);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	c->nentries++;
	e->mode = st->st_mode;
	e->uid = st->st_uid;
	e->gid = st->st_gid;
	e->size = S_ISREG(st->st_mode) ? (uint64_t)st->st_size : 0;
	e->mtime_sec = st->st_mtim.tv_sec;
	e->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->nlink = (uint32_t)st->st_nlink;
	return 0;
}

static int push_excluded(walker *w, const char *path, long pattern, int is_dir)
{
	berth_context *c = w->c;

	if (!w->opts || !w->opts->explain)
		return 0;
	if (c->nexcluded == w->capx) {
		size_t nc = w->capx ? w->capx * 2 : 64;
		berth_context_excluded *p = realloc(c->excluded, nc * sizeof(*p));

		if (!p)
			return berth_error_set(BERTH_ERROR, "out of memory");
		c->excluded = p;
		w->capx = nc;
	}
	if (!(c->excluded[c->nexcluded].path = strdup(path)))
		return berth_error_set(BERTH_ERROR, "out of memory");
	c->excluded[c->nexcluded].pattern = pattern;
	c->excluded[c->nexcluded++].is_dir = is_dir;
	return 0;
}

/* Sorted names of a directory (without . and ..). */
static int list_dir(int dfd, const char *rel, char ***names, size_t *n)
{
	DIR *d = fdopendir(dfd);
	struct dirent *de;
	size_t cap = 0;

	*names = NULL;
	*n = 0;
	if (!d) {
		close(dfd);
		return berth_error_set_errno("open directory %s", rel[0] ? rel : ".");
	}
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 32;
			char **p = realloc(*names, nc * sizeof(*p));

			if (!p)
				goto oom;
			*names = p;
			cap = nc;
		}
		if (!((*names)[*n] = strdup(de->d_name)))
			goto oom;
		(*n)++;
	}
	closedir(d);
	if (*n > 1)
		qsort(*names, *n, sizeof(char *), name_cmp);
	return 0;
oom:
	closedir(d);
	return berth_error_set(BERTH_ERROR, "out of memory");
}

static int emit_pending(walker *w)
{
	int rc;

	for (size_t i = 0; i < w->npend; i++) {
		if (w->pend[i].emitted)
			continue;
		if ((rc = push_entry(w, w->pend[i].path, &w->pend[i].st, NULL)) < 0)
			return rc;
		w->pend[i].emitted = true;
	}
	return 0;
}

static int walk_dir(walker *w, int dfd, const char *rel, int depth);

static int read_link(int dfd, const char *name, const char *path, char *buf, size_t cap)
{
	ssize_t n = readlinkat(dfd, name, buf, cap - 1);

	if (n < 0)
		return berth_error_set_errno("readlink %s", path);
	buf[n] = '\0';
	return 0;
}

static int walk_child(walker *w, int dfd, const char *rel, const char *name, int depth)
{
	char *path = NULL, link[4097];
	struct stat st;
	long which = -1;
	int excluded, rc = 0, cfd;
	bool isdir;

	if (asprintf(&path, "%s%s%s", rel, rel[0] ? "/" : "", name) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rc = berth_error_set_errno("stat %s", path);
		goto done;
	}
	isdir = S_ISDIR(st.st_mode);
	if (!S_ISREG(st.st_mode) && !isdir && !S_ISLNK(st.st_mode))
		goto done; /* sockets, fifos and devices are not part of a context */
	excluded = berth_dockerignore_excluded(w->ign, path, &which);
	if (excluded && !(isdir && berth_dockerignore_may_reopen(w->ign, path))) {
		rc = push_excluded(w, path, which, isdir);
		goto done;
	}
	if (!excluded) {
		/* Included: the waiting ancestors become visible first. */
		if ((rc = emit_pending(w)) < 0)
			goto done;
		if (S_ISLNK(st.st_mode) &&
		    (rc = read_link(dfd, name, path, link, sizeof(link))) < 0)
			goto done;
		if ((rc = push_entry(w, path, &st, S_ISLNK(st.st_mode) ? link : NULL)) < 0)
			goto done;
	}
	if (!isdir)
		goto done;
	if (depth + 1 > BERTH_CONTEXT_MAX_DEPTH) {
		rc = berth_error_set(BERTH_ETOOBIG, "%s: directories nested deeper than %u", path,
				     BERTH_CONTEXT_MAX_DEPTH);
		goto done;
	}
	cfd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0) {
		rc = berth_error_set_errno("open %s", path);
		goto done;
	}
	if (excluded) {
		w->pend[w->npend++] = (pending_dir){path, st, which, false};
		rc = walk_dir(w, cfd, path, depth + 1);
		w->npend--;
		/* Nothing below it came back: it is excluded as a whole. */
		if (rc == 0 && !w->pend[w->npend].emitted)
			rc = push_excluded(w, path, which, 1);
	} else {
		rc = walk_dir(w, cfd, path, depth + 1);
	}
done:
	free(path);
	return rc;
}

static int walk_dir(walker *w, int dfd, const char *rel, int depth)
{
	char **names = NULL;
	size_t n = 0;
	int rc, sub = dup(dfd);

	if (sub < 0) {
		close(dfd);
		return berth_error_set_errno("dup");
	}
	/* list_dir consumes `sub`; dfd stays open for the fstatat/openat of the children. */
	if ((rc = list_dir(sub, rel, &names, &n)) < 0)
		goto done;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = walk_child(w, dfd, rel, names[i], depth);
done:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	close(dfd);
	return rc;
}

/* ---- hashing ---- */

typedef struct hasher {
	berth_context *c;
	int rootfd;
	size_t *files;
	size_t nfiles;
	atomic_size_t next;
	atomic_int failed;
	char err[512];
	pthread_mutex_t mu;
} hasher;

#define HASH_BUF (256 * 1024)

/*
 * The sha256 of an open file, through `ctx` (reset here: one per worker).
 * `size`: what the walk's stat saw; a short read that reaches it is the
 * end (a regular file reads short only there): one read for a small file.
 */
static int hash_fd(EVP_MD_CTX *ctx, int fd, uint64_t size, uint8_t out[32], unsigned char *buf)
{
	unsigned int ol = 0;
	uint64_t total = 0;
	ssize_t r;

	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		return -1;
	while ((r = read(fd, buf, HASH_BUF)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1)
			return -1;
		total += (uint64_t)r;
		if (r < HASH_BUF && total >= size)
			break;
	}
	return EVP_DigestFinal_ex(ctx, out, &ol) == 1 ? 0 : -1;
}

static void *hash_worker(void *arg)
{
	hasher *h = arg;
	unsigned char *buf = malloc(HASH_BUF);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	while (buf && ctx && !atomic_load(&h->failed)) {
		size_t k = atomic_fetch_add(&h->next, 1);
		berth_context_entry *e;
		int fd;

		if (k >= h->nfiles)
			break;
		e = &h->c->entries[h->files[k]];
		fd = openat(h->rootfd, e->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || hash_fd(ctx, fd, e->size, e->content, buf) < 0) {
			int saved = errno;

			pthread_mutex_lock(&h->mu);
			if (!atomic_exchange(&h->failed, 1))
				snprintf(h->err, sizeof(h->err), "read %s: %s", e->path,
					 berth_errno_text(saved));
			pthread_mutex_unlock(&h->mu);
		}
		if (fd >= 0)
			close(fd);
	}
	if (!buf || !ctx)
		atomic_store(&h->failed, 1);
	EVP_MD_CTX_free(ctx);
	free(buf);
	return NULL;
}

static int hash_files(berth_context *c, int rootfd, int threads)
{
	hasher h = {.c = c, .rootfd = rootfd};
	pthread_t tid[16];
	int nt = threads > 0 ? threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	int started = 0;

	if (nt < 1)
		nt = 1;
	if (nt > 16)
		nt = 16;
	h.files = malloc((c->nentries ? c->nentries : 1) * sizeof(size_t));
	if (!h.files)
		return berth_error_set(BERTH_ERROR, "out of memory");
	for (size_t i = 0; i < c->nentries; i++)
		if (S_ISREG(c->entries[i].mode))
			h.files[h.nfiles++] = i;
	if ((size_t)nt > h.nfiles)
		nt = h.nfiles ? (int)h.nfiles : 1;
	pthread_mutex_init(&h.mu, NULL);
	for (int i = 1; i < nt; i++)
		if (pthread_create(&tid[i], NULL, hash_worker, &h) == 0)
			started++;
	hash_worker(&h);
	for (int i = 1; i <= started; i++)
		pthread_join(tid[i], NULL);
	pthread_mutex_destroy(&h.mu);
	free(h.files);
	if (atomic_load(&h.failed))
		return berth_error_set(BERTH_EIO, "%s", h.err[0] ? h.err : "out of memory");
	return 0;
}

static void put_u32(EVP_MD_CTX *x, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
			      (unsigned char)(v >> 8), (unsigned char)v};

	EVP_DigestUpdate(x, b, 4);
}

static void put_header(EVP_MD_CTX *x, uint32_t mode, uint32_t uid, uint32_t gid, uint64_t size,
		       const char *link)
{
	char type = S_ISDIR(mode) ? 'd' : S_ISLNK(mode) ? 'l' : 'f';
	size_t ll = link ? strlen(link) : 0;

	EVP_DigestUpdate(x, &type, 1);
	put_u32(x, mode & 07777);
	put_u32(x, uid);
	put_u32(x, gid);
	put_u32(x, (uint32_t)(size >> 32));
	put_u32(x, (uint32_t)size);
	put_u32(x, (uint32_t)ll);
	if (ll)
		EVP_DigestUpdate(x, link, ll);
}

static bool is_parent_of(const char *dir, const char *path)
{
	size_t n = strlen(dir);

	return strncmp(dir, path, n) == 0 && path[n] == '/';
}

/* Parent directory of every entry (entries are in preorder), SIZE_MAX for the root. */
static int parents(const berth_context *c, size_t **out)
{
	size_t *par = malloc((c->nentries ? c->nentries : 1) * sizeof(*par));
	size_t *stack = malloc((BERTH_CONTEXT_MAX_DEPTH + 2) * sizeof(*stack)), ns = 0;

	*out = NULL;
	if (!par || !stack) {
		free(par);
		free(stack);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	for (size_t i = 0; i < c->nentries; i++) {
		while (ns && !is_parent_of(c->entries[stack[ns - 1]].path, c->entries[i].path))
			ns--;
		par[i] = ns ? stack[ns - 1] : SIZE_MAX;
		if (S_ISDIR(c->entries[i].mode) && ns < BERTH_CONTEXT_MAX_DEPTH + 2)
			stack[ns++] = i;
	}
	free(stack);
	*out = par;
	return 0;
}

static void hash_dir(berth_context *c, uint8_t out[32], uint32_t mode, uint32_t uid, uint32_t gid,
		     size_t first, const size_t *next)
{
	EVP_MD_CTX *x = EVP_MD_CTX_new();
	unsigned int ol;

	if (!x)
		return;
	EVP_DigestInit_ex(x, EVP_sha256(), NULL);
	put_header(x, mode, uid, gid, 0, NULL);
	for (size_t k = first; k != SIZE_MAX; k = next[k]) {
		const char *name = strrchr(c->entries[k].path, '/');

		name = name ? name + 1 : c->entries[k].path;
		put_u32(x, (uint32_t)strlen(name));
		EVP_DigestUpdate(x, name, strlen(name));
		EVP_DigestUpdate(x, c->entries[k].digest, 32);
	}
	EVP_DigestFinal_ex(x, out, &ol);
	EVP_MD_CTX_free(x);
}

/*
 * Digests bottom-up. Entries are in preorder, so every child has a larger index than its
 * directory: walking indexes downwards finishes children first; each directory then hashes
 * its direct children in name order (linked through first/next).
 */
static int fold_digests(berth_context *c, const struct stat *rootst)
{
	size_t n = c->nentries, *par = NULL, *first = NULL, *next = NULL, *last = NULL;
	unsigned int ol;
	int rc;

	if ((rc = parents(c, &par)) < 0)
		return rc;
	first = malloc((n + 1) * sizeof(size_t));
	next = malloc((n + 1) * sizeof(size_t));
	last = malloc((n + 1) * sizeof(size_t));
	if (!first || !next || !last) {
		rc = berth_error_set(BERTH_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i <= n; i++)
		first[i] = next[i] = last[i] = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		size_t p = par[i] == SIZE_MAX ? n : par[i];

		if (first[p] == SIZE_MAX)
			first[p] = i;
		else
			next[last[p]] = i;
		last[p] = i;
	}
	for (size_t i = n; i-- > 0;) {
		berth_context_entry *e = &c->entries[i];

		if (S_ISDIR(e->mode)) {
			hash_dir(c, e->digest, e->mode, e->uid, e->gid, first[i], next);
		} else {
			EVP_MD_CTX *x = EVP_MD_CTX_new();

			if (!x) {
				rc = berth_error_set(BERTH_ERROR, "out of memory");
				goto done;
			}
			if (S_ISLNK(e->mode))
				EVP_Digest(e->link, strlen(e->link), e->content, &ol, EVP_sha256(),
					   NULL);
			EVP_DigestInit_ex(x, EVP_sha256(), NULL);
			put_header(x, e->mode, e->uid, e->gid, e->size, e->link);
			EVP_DigestUpdate(x, e->content, sizeof(e->content));
			EVP_DigestFinal_ex(x, e->digest, &ol);
			EVP_MD_CTX_free(x);
		}
	}
	hash_dir(c, c->digest, rootst->st_mode, rootst->st_uid, rootst->st_gid, first[n], next);
	rc = 0;
done:
	free(par);
	free(first);
	free(next);
	free(last);
	return rc;
}

int berth_context_walk(berth_context **out, const char *dir, const berth_dockerignore *ign,
		       const berth_context_opts *opts)
{
	walker w = {0};
	struct stat st;
	int rc, fd = -1, rootfd = -1;

	*out = NULL;
	if (!(w.c = calloc(1, sizeof(*w.c))) || !(w.c->root = strdup(dir))) {
		free(w.c);
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	w.ign = ign;
	w.opts = opts;
	rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0 || fstat(rootfd, &st) < 0) {
		rc = berth_error_set_errno("build context %s", dir);
		goto done;
	}
	if ((fd = dup(rootfd)) < 0) {
		rc = berth_error_set_errno("dup");
		goto done;
	}
	if ((rc = walk_dir(&w, fd, "", 0)) < 0)
		goto done;
	if (!(opts && opts->no_hash) &&
	    (rc = hash_files(w.c, rootfd, opts ? opts->threads : 0)) < 0)
		goto done;
	if (!(opts && opts->no_hash) && (rc = fold_digests(w.c, &st)) < 0)
		goto done;
	*out = w.c;
	/* now owned by the caller */ w.c = NULL;
done:
	if (rootfd >= 0)
		close(rootfd);
	berth_context_free(w.c);
	return rc;
}

void berth_context_free(berth_context *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nentries; i++) {
		free(c->entries[i].path);
		free(c->entries[i].link);
	}
	for (size_t i = 0; i < c->nexcluded; i++)
		free(c->excluded[i].path);
	free(c->entries);
	free(c->excluded);
	free(c->root);
	free(c);
}

const berth_context_entry *berth_context_find(const berth_context *c, const char *path)
{
	char *p = berth_dockerfile_clean_path(path, strlen(path));
	size_t lo = 0, hi = c->nentries;
	const berth_context_entry *r = NULL;
	const char *q;

	if (!p)
		return NULL;
	q = p[0] == '/' ? p + 1 : p;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int cmp = path_cmp(c->entries[mid].path, q);

		if (cmp == 0) {
			r = &c->entries[mid];
			break;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	free(p);
	return r;
}

void berth_context_hex(const uint8_t hash[BERTH_CONTEXT_HASH_SIZE], char out[65])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[hash[i] >> 4];
		out[2 * i + 1] = hx[hash[i] & 15];
	}
	out[64] = '\0';
}

/* One entry object of berth_context_to_json, in jansson's JSON_INDENT(2)
 * layout at depth 2 (the document was built with jansson before; written
 * directly now: 50,000 entries cost a tree of 550,000 nodes). */
static int put_entry_json(berth_buf *b, const berth_context_entry *e)
{
	char h1[65], h2[65];
	const char *type = S_ISDIR(e->mode) ? "dir" : S_ISLNK(e->mode) ? "symlink" : "file";
	int rc;

	berth_context_hex(e->content, h1);
	berth_context_hex(e->digest, h2);
	if ((rc = berth_buf_puts(b, "    {\n      \"path\": ")) != 0 ||
	    (rc = berth_buf_put_json_string(b, e->path)) != 0 ||
	    (rc = berth_buf_printf(
		     b,
		     ",\n      \"type\": \"%s\",\n      \"mode\": %u,\n"
		     "      \"uid\": %u,\n      \"gid\": %u,\n"
		     "      \"size\": %llu,\n      \"mtime\": %lld,\n      \"link\": ",
		     type, (unsigned)(e->mode & 07777), (unsigned)e->uid, (unsigned)e->gid,
		     (unsigned long long)e->size, (long long)e->mtime_sec)) != 0 ||
	    (rc = e->link ? berth_buf_put_json_string(b, e->link) : berth_buf_puts(b, "null")) != 0)
		return rc;
	return berth_buf_printf(b, ",\n      \"content\": \"%s\",\n      \"digest\": \"%s\"\n    }",
				h1, h2);
}

static int put_excluded_json(berth_buf *b, const berth_context_excluded *x,
			     const berth_dockerignore *ign)
{
	const berth_dockerignore_pattern *p =
		ign && x->pattern >= 0 ? &ign->patterns[x->pattern] : NULL;
	int rc;

	if ((rc = berth_buf_puts(b, "    {\n      \"path\": ")) != 0 ||
	    (rc = berth_buf_put_json_string(b, x->path)) != 0 ||
	    (rc = berth_buf_printf(b, ",\n      \"dir\": %s,\n      \"pattern\": ",
				   x->is_dir ? "true" : "false")) != 0 ||
	    (rc = p ? berth_buf_put_json_string(b, p->original) : berth_buf_puts(b, "null")) != 0)
		return rc;
	return berth_buf_printf(b, ",\n      \"line\": %u\n    }", p ? p->line : 0u);
}

int berth_context_to_json(char **out, const berth_context *c, const berth_dockerignore *ign,
			  int explain)
{
	berth_buf b = BERTH_BUF_INIT(0);
	char h[65];
	int rc;

	*out = NULL;
	berth_context_hex(c->digest, h);
	if ((rc = berth_buf_puts(&b, "{\n  \"schema_version\": 1,\n  \"root\": ")) != 0 ||
	    (rc = berth_buf_put_json_string(&b, c->root)) != 0 ||
	    (rc = berth_buf_puts(&b, ",\n  \"ignore_file\": ")) != 0 ||
	    (rc = ign && ign->source ? berth_buf_put_json_string(&b, ign->source)
				     : berth_buf_puts(&b, "null")) != 0 ||
	    (rc = berth_buf_printf(&b, ",\n  \"digest\": \"%s\",\n  \"entries\": %s", h,
				   c->nentries ? "[\n" : "[]")) != 0)
		goto done;
	for (size_t i = 0; i < c->nentries; i++)
		if ((rc = put_entry_json(&b, &c->entries[i])) != 0 ||
		    (rc = berth_buf_puts(&b, i + 1 < c->nentries ? ",\n" : "\n  ]")) != 0)
			goto done;
	if (explain &&
	    (rc = berth_buf_printf(&b, ",\n  \"excluded\": %s", c->nexcluded ? "[\n" : "[]")) != 0)
		goto done;
	for (size_t i = 0; explain && i < c->nexcluded; i++)
		if ((rc = put_excluded_json(&b, &c->excluded[i], ign)) != 0 ||
		    (rc = berth_buf_puts(&b, i + 1 < c->nexcluded ? ",\n" : "\n  ]")) != 0)
			goto done;
	if ((rc = berth_buf_puts(&b, "\n}")) != 0)
		goto done;
	*out = berth_buf_detach(&b, NULL);
done:
	berth_buf_dispose(&b);
	return rc;
}
