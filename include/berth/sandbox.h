/*
 * berth/sandbox.h - run one command in a root filesystem, isolated as a
 * container's process is: the builder's executor for RUN steps (and the
 * HEALTHCHECK probes of tests).
 *
 * berth sets the isolation up itself instead of generating an OCI runtime
 * spec for runc: a RUN step is on the critical path of every build, and
 * runc's start-up (a re-exec of itself, a state directory, a JSON spec to
 * write and read, a second process to hand the init over) costs several
 * times what the namespaces cost (measured in docs/PERFORMANCE.md). What a
 * RUN step gets is what `runc run` with BuildKit's spec gives it:
 *
 *   - fresh mount, PID, IPC and UTS namespaces, and a network namespace
 *     with only loopback (up) unless the network mode is host;
 *   - a session of its own (setsid, as runc's init), no controlling terminal;
 *   - the root filesystem pivoted to (the caller mounts it: an overlayfs
 *     merge of the parent layers, or a copy), /proc, /sys read-only, a
 *     minimal /dev (null zero full random urandom tty, pts, shm), the
 *     caller's bind and tmpfs mounts (secrets, caches, contexts);
 *   - Docker's default capability set as the bounding set (root keeps it,
 *     other users start with none), the user, groups, working directory,
 *     hostname and environment of the step; rlimits as asked.
 *
 * Not (yet) applied: cgroup limits, seccomp and AppArmor profiles, user
 * namespaces (builds run as root; rootless builds come later).
 *
 * Needs root (CAP_SYS_ADMIN). Thread safety: berth_sandbox_run forks; it
 * may be called from several threads at once.
 */
#ifndef BERTH_SANDBOX_H
#define BERTH_SANDBOX_H

#include "berth/common.h"

#include <stddef.h>
#include <stdint.h>

typedef enum {
	BERTH_SANDBOX_NET_NONE = 0, /* a new network namespace with loopback only */
	BERTH_SANDBOX_NET_HOST = 1  /* the host's network (what --network=host/default means) */
} berth_sandbox_net;

typedef enum {
	BERTH_SANDBOX_BIND = 0, /* `source` (file or directory on the host) at `target` */
	BERTH_SANDBOX_TMPFS = 1 /* an empty tmpfs at `target` */
} berth_sandbox_mount_kind;

typedef struct berth_sandbox_mount {
	berth_sandbox_mount_kind kind;
	const char *source; /* host path (bind only) */
	const char *target; /* absolute path inside the root; created if missing */
	int readonly;
	uint64_t size; /* tmpfs: size in bytes, 0 = the kernel's default */
	unsigned mode; /* tmpfs: mode of its root, 0 = 0755 */
} berth_sandbox_mount;

typedef struct berth_sandbox_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
} berth_sandbox_rlimit;

#define BERTH_SANDBOX_GROUPS_MAX 64
#define BERTH_SANDBOX_MOUNTS_MAX 64

typedef struct berth_sandbox_spec {
	const char *rootfs; /* host path of the root directory (writable unless readonly_rootfs) */
	char *const *argv;  /* argv[0] is looked up in the PATH of `env` when it has no '/' */
	char *const *env;   /* NULL-terminated "KEY=value" list; NULL = empty */
	const char *cwd;    /* absolute; created (owned by uid:gid) if missing; NULL = "/" */
	uint32_t uid, gid;
	const uint32_t *groups; /* supplementary groups */
	size_t ngroups;
	const char *hostname; /* NULL = "berth" */
	berth_sandbox_net net;
	const berth_sandbox_mount *mounts;
	size_t nmounts;
	const berth_sandbox_rlimit *rlimits;
	size_t nrlimits;
	uint64_t shm_size; /* /dev/shm, 0 = 64 MiB */
	int readonly_rootfs;
	int stdout_fd; /* the command's stdout; -1 = /dev/null */
	int stderr_fd; /* the command's stderr; -1 = /dev/null */
} berth_sandbox_spec;

/**
 * Run spec->argv in the sandbox and wait for it. `*status` gets the exit
 * code, or 128 + the signal number if it was killed (as a shell reports it).
 * Returns 0 when the command ran (whatever its status); BERTH_EINVALID for
 * a bad spec (relative or ".." mount targets, too many mounts or groups,
 * empty argv); BERTH_ENOTFOUND when the command does not exist in the root
 * (message "exec: <name>: not found"); BERTH_EDENIED without the rights to
 * create namespaces; BERTH_ERROR for another set-up failure, with the
 * step that failed in the message.
 */
int berth_sandbox_run(const berth_sandbox_spec *spec, int *status) BERTH_WARN_UNUSED;

/**
 * Resolve a Dockerfile USER value ("name", "uid", "name:group", "uid:gid")
 * against the root's /etc/passwd and /etc/group, read without following a
 * path out of the root: *uid, *gid, and the user's supplementary groups
 * (at most `max_groups`, *ngroups set). A numeric user missing from
 * /etc/passwd gets gid 0 as Docker does. BERTH_ENOTFOUND (message names
 * the user or group) when a name is not found; BERTH_EINVALID when the
 * value is malformed.
 */
int berth_sandbox_resolve_user(const char *rootfs, const char *user, uint32_t *uid, uint32_t *gid,
			       uint32_t *groups, size_t max_groups,
			       size_t *ngroups) BERTH_WARN_UNUSED;

/**
 * The home directory of a Dockerfile USER value (NULL or "" = root) as
 * runc sets HOME when the environment has none: the passwd entry's home
 * (matched by name, or by number), else "/". Writes at most `size` bytes
 * (NUL included) to `home`; a home that does not fit counts as absent.
 * 0, or an error reading /etc/passwd (BERTH_E*; `home` is then "/").
 */
int berth_sandbox_user_home(const char *rootfs, const char *user, char *home,
			    size_t size) BERTH_WARN_UNUSED;

/** The capability mask Docker grants a container by default (bit n = capability n). */
uint64_t berth_sandbox_default_caps(void);

#endif
