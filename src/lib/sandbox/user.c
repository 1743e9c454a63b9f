/*
 * user.c - a Dockerfile USER value ("name", "uid", "name:group", "uid:gid")
 * resolved against the root filesystem's /etc/passwd and /etc/group, as
 * runc and BuildKit resolve it: names must exist, numbers need not; the
 * user's supplementary groups are those of /etc/group that list it.
 * Files are read through openat2(RESOLVE_IN_ROOT) with a size cap.
 */
#include "berth/sandbox.h"
#include "util/buf.h"
#include "util/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DB_FILE_MAX (4u << 20) /* /etc/passwd or /etc/group */
#define NAME_MAX_LEN 256

/* Read <root>/<path> into b; a missing file leaves b empty. */
static int read_db(int rootfd, const char *path, berth_buf *b)
{
	char chunk[8192];
	int fd = berth_inroot_open(rootfd, path, O_RDONLY, 0), rc = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : fd;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = berth_error_set_errno("read %s", path);
			break;
		}
		if (n == 0)
			break;
		rc = berth_buf_put(b, chunk, (size_t)n);
		if (rc < 0) {
			rc = berth_error_set(rc, "%s is larger than %u bytes", path, DB_FILE_MAX);
			break;
		}
	}
	close(fd);
	return rc;
}

/* Parse a whole decimal uint32; 1 on success. */
static int parse_id(const char *s, size_t len, uint32_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 10)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > UINT32_MAX)
		return 0;
	*out = (uint32_t)v;
	return 1;
}

/* Field i (0-based, ':'-separated) of a line [p, end): start and length. */
static int field(const char *p, const char *end, int i, const char **f, size_t *len)
{
	for (; i > 0; i--) {
		const char *c = memchr(p, ':', (size_t)(end - p));

		if (!c)
			return 0;
		p = c + 1;
	}
	*f = p;
	{
		const char *c = memchr(p, ':', (size_t)(end - p));

		*len = (size_t)((c ? c : end) - p);
	}
	return 1;
}

/*
 * Find the line whose field 0 equals `name` (by_name) or field 2 equals
 * `id`; out its fields 0, 2, 3 (name, id, gid for passwd; name, id, list
 * start for group). 1 if found.
 */
typedef struct db_entry {
	const char *name;
	size_t name_len;
	uint32_t id;
	uint32_t gid;	     /* passwd: primary group */
	const char *members; /* group: the member list */
	size_t members_len;
} db_entry;

static int db_next(const char **pp, const char *end, db_entry *e, int is_group)
{
	while (*pp < end) {
		const char *p = *pp, *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *f;
		size_t fl;

		*pp = nl ? nl + 1 : end;
		if (p == le || *p == '#')
			continue;
		if (!field(p, le, 0, &e->name, &e->name_len) || !field(p, le, 2, &f, &fl) ||
		    !parse_id(f, fl, &e->id) || !field(p, le, 3, &f, &fl))
			continue;
		if (is_group) {
			e->members = f;
			e->members_len = fl;
		} else if (!parse_id(f, fl, &e->gid)) {
			continue;
		}
		return 1;
	}
	return 0;
}

static int name_is(const db_entry *e, const char *s, size_t len)
{
	return e->name_len == len && memcmp(e->name, s, len) == 0;
}

/* 1 if the comma list [m, m+len) holds `user`. */
static int member_of(const char *m, size_t len, const char *user, size_t ulen)
{
	const char *end = m + len;

	while (m < end) {
		const char *c = memchr(m, ',', (size_t)(end - m));
		size_t n = (size_t)((c ? c : end) - m);

		if (n == ulen && memcmp(m, user, n) == 0)
			return 1;
		m += n + (c ? 1 : 0);
	}
	return 0;
}

int berth_sandbox_resolve_user(const char *rootfs, const char *user, uint32_t *uid, uint32_t *gid,
			       uint32_t *groups, size_t max_groups, size_t *ngroups)
{
	berth_buf pw = BERTH_BUF_INIT(DB_FILE_MAX), gr = BERTH_BUF_INIT(DB_FILE_MAX);
	const char *colon = strchr(user, ':'), *p, *end;
	size_t ulen = colon ? (size_t)(colon - user) : strlen(user);
	const char *gname = colon ? colon + 1 : NULL;
	char uname[NAME_MAX_LEN] = "";
	int rootfd = -1, rc = 0, found = 0;
	db_entry e;

	*ngroups = 0;
	if (ulen == 0 || ulen >= NAME_MAX_LEN || (gname && (!*gname || strchr(gname, ':'))))
		return berth_error_set(BERTH_EINVALID, "invalid USER '%s'", user);
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berth_error_set_errno("open %s", rootfs);
	if ((rc = read_db(rootfd, "/etc/passwd", &pw)) < 0 ||
	    (rc = read_db(rootfd, "/etc/group", &gr)) < 0)
		goto done;

	/* The user: by name, or by number (which need not exist). */
	p = pw.ptr ? pw.ptr : "";
	end = p + pw.len;
	while (db_next(&p, end, &e, 0)) {
		uint32_t id;

		if (name_is(&e, user, ulen) || (parse_id(user, ulen, &id) && id == e.id)) {
			*uid = e.id;
			*gid = e.gid;
			snprintf(uname, sizeof(uname), "%.*s", (int)e.name_len, e.name);
			found = 1;
			break;
		}
	}
	if (!found) {
		if (!parse_id(user, ulen, uid)) {
			rc = berth_error_set(
				BERTH_ENOTFOUND,
				"unable to find user %.*s: no matching entries in passwd file",
				(int)ulen, user);
			goto done;
		}
		*gid = 0;
	}

	/* An explicit group replaces the primary group and the supplementary ones. */
	if (gname) {
		size_t glen = strlen(gname);

		found = 0;
		p = gr.ptr ? gr.ptr : "";
		end = p + gr.len;
		while (db_next(&p, end, &e, 1)) {
			uint32_t id;

			if (name_is(&e, gname, glen) ||
			    (parse_id(gname, glen, &id) && id == e.id)) {
				*gid = e.id;
				found = 1;
				break;
			}
		}
		if (!found && !parse_id(gname, glen, gid)) {
			rc = berth_error_set(
				BERTH_ENOTFOUND,
				"unable to find group %s: no matching entries in group file",
				gname);
			goto done;
		}
		goto done;
	}
	if (!uname[0])
		goto done;
	p = gr.ptr ? gr.ptr : "";
	end = p + gr.len;
	while (db_next(&p, end, &e, 1)) {
		if (!member_of(e.members, e.members_len, uname, strlen(uname)))
			continue;
		if (*ngroups >= max_groups)
			break;
		groups[(*ngroups)++] = e.id;
	}
done:
	close(rootfd);
	berth_buf_dispose(&pw);
	berth_buf_dispose(&gr);
	return rc;
}

int berth_sandbox_user_home(const char *rootfs, const char *user, char *home, size_t size)
{
	berth_buf pw = BERTH_BUF_INIT(DB_FILE_MAX);
	const char *name = user && *user ? user : "0", *colon = strchr(name, ':'), *p, *end;
	size_t nlen = colon ? (size_t)(colon - name) : strlen(name);
	int rootfd, rc;
	db_entry e;

	if (size < 2)
		return berth_error_set(BERTH_EINVALID, "home: buffer too small");
	snprintf(home, size, "/");
	rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berth_error_set_errno("open %s", rootfs);
	rc = read_db(rootfd, "/etc/passwd", &pw);
	close(rootfd);
	p = pw.ptr ? pw.ptr : "";
	end = p + pw.len;
	while (rc == 0 && p < end) {
		const char *nl, *f;
		size_t fl;
		uint32_t id;

		if (!db_next(&p, end, &e, 0))
			break;
		if (!name_is(&e, name, nlen) && !(parse_id(name, nlen, &id) && id == e.id))
			continue;
		/* e.name starts the line; field 5 is the home directory. */
		nl = memchr(e.name, '\n', (size_t)(end - e.name));
		if (field(e.name, nl ? nl : end, 5, &f, &fl) && fl > 0 && fl < size)
			snprintf(home, size, "%.*s", (int)fl, f);
		break;
	}
	berth_buf_dispose(&pw);
	return rc;
}
