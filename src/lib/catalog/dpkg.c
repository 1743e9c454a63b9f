/*
 * dpkg.c - Debian packages: /var/lib/dpkg/status (stanzas of "Field: value"
 * lines with indented continuations, separated by blank lines; only packages
 * whose Status ends in "installed" count), distroless's status.d/ (one such
 * stanza file per package), and info/NAME[:ARCH].list (the files a package
 * owns, attached to the package when layers are merged).
 */
#include "internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct stanza {
	char *package, *version, *arch, *source, *status;
} stanza;

static void stanza_dispose(stanza *s)
{
	free(s->package);
	free(s->version);
	free(s->arch);
	free(s->source);
	free(s->status);
	memset(s, 0, sizeof(*s));
}

/* "1:2.3-4" → epoch 1, version "2.3-4" (a bad epoch leaves the text whole). */
static int split_epoch(const char *v, int *epoch, const char **rest)
{
	const char *colon = strchr(v, ':');
	long e = 0;

	*epoch = 0;
	*rest = v;
	if (!colon || colon == v || colon - v > 9)
		return 0;
	for (const char *q = v; q < colon; q++) {
		if (!isdigit((unsigned char)*q))
			return 0;
		e = e * 10 + (*q - '0');
	}
	*epoch = (int)e;
	*rest = colon + 1;
	return 0;
}

static int emit(cat_ctx *cx, stanza *s)
{
	berth_package *p;
	const char *ver;
	int epoch;

	if (!s->package)
		return 0;
	/* status.d files carry no Status field; status entries must be installed */
	if (s->status) {
		size_t n = strlen(s->status);

		if (n < 9 || strcmp(s->status + n - 9, "installed") != 0 ||
		    (n >= 19 && strstr(s->status, "not-installed")))
			return 0;
	}
	if (!s->version) {
		berth_catalog__warn(cx, "package %.100s has no Version", s->package);
		return 0;
	}
	split_epoch(s->version, &epoch, &ver);
	p = berth_catalog__add(cx, BERTH_PKG_DEB, s->package, ver, "dpkg");
	if (!p)
		return berth_error_set(BERTH_ERROR, "out of memory");
	p->epoch = epoch;
	if (s->arch && berth_catalog__set(&p->arch, s->arch) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	/* "Source: name" or "Source: name (version)"; the version defaults to the binary's */
	if (s->source) {
		char *open = strchr(s->source, '(');
		size_t nlen = open ? (size_t)(open - s->source) : strlen(s->source);

		while (nlen && isspace((unsigned char)s->source[nlen - 1]))
			nlen--;
		if (berth_catalog__setn(&p->source_name, s->source, nlen) < 0)
			return berth_error_set(BERTH_ERROR, "out of memory");
		if (open) {
			char *close = strchr(open, ')');

			if (close && berth_catalog__setn(&p->source_version, open + 1,
							 (size_t)(close - open - 1)) < 0)
				return berth_error_set(BERTH_ERROR, "out of memory");
		}
	} else if (berth_catalog__set(&p->source_name, s->package) < 0) {
		return berth_error_set(BERTH_ERROR, "out of memory");
	}
	if (!p->source_version && berth_catalog__set(&p->source_version, s->version) < 0)
		return berth_error_set(BERTH_ERROR, "out of memory");
	return 0;
}

static int field(stanza *s, const char *line, size_t len)
{
	static const char *const names[] = {"Package", "Version", "Architecture", "Source",
					    "Status"};
	char **slots[] = {&s->package, &s->version, &s->arch, &s->source, &s->status};
	const char *colon = memchr(line, ':', len);

	if (!colon)
		return 0;
	for (size_t i = 0; i < 5; i++) {
		size_t k = strlen(names[i]);

		if ((size_t)(colon - line) == k && strncasecmp(line, names[i], k) == 0) {
			char *v = berth_catalog__trimdup(colon + 1, len - k - 1);

			if (!v)
				return -1;
			free(*slots[i]);
			*slots[i] = v;
		}
	}
	return 0;
}

int berth_catalog__dpkg_status(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *p = (const char *)d, *end = p + n, *line;
	stanza s = {0};
	size_t len;
	int rc = 0;

	while (berth_catalog__line(&p, end, &line, &len)) {
		if (len == 0 || (len == 1 && line[0] == ' ')) {
			if ((rc = emit(cx, &s)) < 0)
				goto done;
			stanza_dispose(&s);
			continue;
		}
		if (line[0] == ' ' || line[0] == '\t' || line[0] == '#')
			continue; /* continuation of a multi-line field we do not read */
		if (field(&s, line, len) < 0) {
			rc = berth_error_set(BERTH_ERROR, "out of memory");
			goto done;
		}
	}
	rc = emit(cx, &s);
done:
	stanza_dispose(&s);
	return rc;
}

int berth_catalog__dpkg_list(cat_ctx *cx, const unsigned char *d, size_t n)
{
	const char *base = berth_catalog__base(cx->path), *p = (const char *)d, *end = p + n;
	const char *line;
	cat_layer *l = cx->layer;
	cat_owner *o;
	size_t len;

	o = realloc(l->owners, (l->nowners + 1) * sizeof(*o));
	if (!o)
		return berth_error_set(BERTH_ERROR, "out of memory");
	l->owners = o;
	o = &l->owners[l->nowners];
	memset(o, 0, sizeof(*o));
	o->path = strdup(cx->path);
	o->key = strndup(base, strlen(base) - 5);
	l->nowners++;
	if (!o->path || !o->key)
		return berth_error_set(BERTH_ERROR, "out of memory");
	while (berth_catalog__line(&p, end, &line, &len)) {
		/* directories ("/", "/usr") are listed too; a file list keeps them, as dpkg -L */
		if (len == 0 || line[0] != '/' || (len == 2 && line[1] == '.'))
			continue;
		if (len > BERTH_CATALOG_PATH_MAX)
			continue;
		if (berth_catalog__strs_addn(&o->files, line, len) < 0)
			return -1;
	}
	return 0;
}
