/*
 * run.c - berth_sandbox_run(): one command in its own namespaces, rooted in
 * a prepared root directory (see berth/sandbox.h for what it gets).
 *
 * Three processes: the caller forks a child that unshares the namespaces
 * and forks again, so that the command's process is PID 1 of the new PID
 * namespace; that grandchild sets up the mounts, pivots into the root,
 * drops capabilities and credentials, and execs. Any set-up failure before
 * the exec is written as one line to a close-on-exec pipe the caller reads:
 * an empty pipe means the command is running. Every mount point is looked
 * up with openat2(RESOLVE_IN_ROOT) and mounted through its O_PATH
 * descriptor, so a symlink in the image (say /proc -> /) cannot send a
 * mount onto the host.
 */
#include "berth/sandbox.h"
#include "util/inroot.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_SHM (64ull << 20)
#define ERRMSG_MAX 512

/* Docker's default capability set (moby oci/caps/defaults.go). */
static const int default_caps[] = {
	CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,	     CAP_FOWNER,
	CAP_MKNOD,   CAP_NET_RAW,      CAP_SETGID,	     CAP_SETUID,
	CAP_SETFCAP, CAP_SETPCAP,      CAP_NET_BIND_SERVICE, CAP_SYS_CHROOT,
	CAP_KILL,    CAP_AUDIT_WRITE,
};

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};

uint64_t berth_sandbox_default_caps(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(default_caps) / sizeof(default_caps[0]); i++)
		m |= 1ull << default_caps[i];
	return m;
}

/* ---- the child's side: report a failure and exit ---- */

/* Kinds of failure, first byte of the report line. */
#define FAIL_SETUP 'E'
#define FAIL_NOTFOUND 'N'
#define FAIL_DENIED 'D'

static void BERTH_PRINTF(3, 4) child_fail(int errfd, char kind, const char *fmt, ...)
{
	char msg[ERRMSG_MAX];
	int e = errno, n;
	va_list ap;

	msg[0] = kind;
	va_start(ap, fmt);
	n = vsnprintf(msg + 1, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n + 1 >= sizeof(msg))
		n = (int)sizeof(msg) - 2;
	if (e && kind != FAIL_NOTFOUND)
		n += snprintf(msg + 1 + n, sizeof(msg) - 1 - (size_t)n, ": %s",
			      berth_errno_text(e));
	if ((size_t)n + 1 >= sizeof(msg))
		n = (int)sizeof(msg) - 2;
	if (write(errfd, msg, (size_t)n + 1) < 0) {
		/* nothing more to be done: the caller sees the exit status */
	}
	_exit(127);
}

/* ---- mounts ---- */

/* Mount onto an O_PATH descriptor through its /proc/self/fd link. */
static int mount_at(const char *src, int fd, const char *type, unsigned long flags,
		    const char *data)
{
	char at[64];

	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	return mount(src, at, type, flags, data);
}

static int remount_ro(int fd, unsigned long extra)
{
	char at[64];

	snprintf(at, sizeof(at), "/proc/self/fd/%d", fd);
	return mount("none", at, "none", MS_REMOUNT | MS_BIND | MS_RDONLY | extra, NULL);
}

static void mount_dir(int errfd, int rootfd, const char *path, const char *src, const char *type,
		      unsigned long flags, const char *data)
{
	int fd = berth_inroot_mkdir_p(rootfd, path, 0755);

	if (fd < 0)
		child_fail(errfd, FAIL_SETUP, "mount point %s: %s", path, berth_error_last());
	if (mount_at(src, fd, type, flags, data) < 0)
		child_fail(errfd, FAIL_SETUP, "mount %s on %s", type ? type : src, path);
	close(fd);
}

static void setup_dev(int errfd, int rootfd, uint64_t shm_size)
{
	char opts[64];
	int fd;

	mount_dir(errfd, rootfd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_STRICTATIME,
		  "mode=755,size=65536k");
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		char host[32], inside[32];

		snprintf(host, sizeof(host), "/dev/%s", dev_nodes[i]);
		snprintf(inside, sizeof(inside), "dev/%s", dev_nodes[i]);
		fd = berth_inroot_touch(rootfd, inside, 0666);
		if (fd < 0)
			child_fail(errfd, FAIL_SETUP, "%s: %s", inside, berth_error_last());
		if (mount_at(host, fd, "none", MS_BIND, NULL) < 0)
			child_fail(errfd, FAIL_SETUP, "bind %s", host);
		close(fd);
	}
	mount_dir(errfd, rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620,gid=5");
	snprintf(opts, sizeof(opts), "mode=1777,size=%llu", (unsigned long long)shm_size);
	mount_dir(errfd, rootfd, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  opts);
	fd = berth_inroot_open(rootfd, "/dev", O_PATH | O_DIRECTORY, 0);
	if (fd < 0)
		child_fail(errfd, FAIL_SETUP, "/dev: %s", berth_error_last());
	if (symlinkat("pts/ptmx", fd, "ptmx") < 0 || symlinkat("/proc/self/fd", fd, "fd") < 0 ||
	    symlinkat("/proc/self/fd/0", fd, "stdin") < 0 ||
	    symlinkat("/proc/self/fd/1", fd, "stdout") < 0 ||
	    symlinkat("/proc/self/fd/2", fd, "stderr") < 0)
		child_fail(errfd, FAIL_SETUP, "/dev links");
	close(fd);
}

static void setup_user_mounts(int errfd, int rootfd, const berth_sandbox_spec *s)
{
	for (size_t i = 0; i < s->nmounts; i++) {
		const berth_sandbox_mount *m = &s->mounts[i];
		struct stat st;
		int fd;

		if (m->kind == BERTH_SANDBOX_TMPFS) {
			char opts[64];
			size_t n = (size_t)snprintf(opts, sizeof(opts), "mode=%o",
						    m->mode ? m->mode : 0755);

			if (m->size)
				snprintf(opts + n, sizeof(opts) - n, ",size=%llu",
					 (unsigned long long)m->size);
			mount_dir(errfd, rootfd, m->target, "tmpfs", "tmpfs",
				  MS_NOSUID | MS_NODEV | (m->readonly ? MS_RDONLY : 0), opts);
			continue;
		}
		if (stat(m->source, &st) < 0)
			child_fail(errfd, FAIL_SETUP, "mount source %s", m->source);
		fd = S_ISDIR(st.st_mode) ? berth_inroot_mkdir_p(rootfd, m->target, 0755)
					 : berth_inroot_touch(rootfd, m->target, 0644);
		if (fd < 0)
			child_fail(errfd, FAIL_SETUP, "mount point %s: %s", m->target,
				   berth_error_last());
		if (mount_at(m->source, fd, "none", MS_BIND | MS_REC, NULL) < 0)
			child_fail(errfd, FAIL_SETUP, "bind %s on %s", m->source, m->target);
		if (m->readonly) {
			/* The O_PATH fd still names the covered inode: reopen the mount. */
			int mfd = berth_inroot_open(rootfd, m->target, O_PATH, 0);

			if (mfd < 0 || remount_ro(mfd, MS_REC) < 0)
				child_fail(errfd, FAIL_SETUP, "read-only %s", m->target);
			close(mfd);
		}
		close(fd);
	}
}

static void setup_mounts(int errfd, const berth_sandbox_spec *s)
{
	int rootfd;

	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(errfd, FAIL_SETUP, "make mounts private");
	/* pivot_root needs the new root to be a mount point. */
	if (mount(s->rootfs, s->rootfs, "none", MS_BIND | MS_REC, NULL) < 0)
		child_fail(errfd, FAIL_SETUP, "bind root %s", s->rootfs);
	rootfd = open(s->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		child_fail(errfd, FAIL_SETUP, "open root %s", s->rootfs);
	mount_dir(errfd, rootfd, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	{
		int fd = berth_inroot_mkdir_p(rootfd, "/sys", 0755);

		if (fd < 0)
			child_fail(errfd, FAIL_SETUP, "/sys: %s", berth_error_last());
		/* sysfs shows the network namespace it was mounted in. */
		if (mount_at("sysfs", fd, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY,
			     NULL) < 0 &&
		    (mount_at("/sys", fd, "none", MS_BIND | MS_REC, NULL) < 0 ||
		     remount_ro(fd, MS_REC) < 0))
			child_fail(errfd, FAIL_SETUP, "mount /sys");
		close(fd);
	}
	setup_dev(errfd, rootfd, s->shm_size ? s->shm_size : DEFAULT_SHM);
	setup_user_mounts(errfd, rootfd, s);
	close(rootfd);

	if (chdir(s->rootfs) < 0)
		child_fail(errfd, FAIL_SETUP, "chdir %s", s->rootfs);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(errfd, FAIL_SETUP, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(errfd, FAIL_SETUP, "detach the old root");
	if (chdir("/") < 0)
		child_fail(errfd, FAIL_SETUP, "chdir /");
	if (s->readonly_rootfs &&
	    mount("none", "/", "none", MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
		child_fail(errfd, FAIL_SETUP, "read-only root");
}

/* ---- network, limits, credentials ---- */

static void loopback_up(int errfd)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		child_fail(errfd, FAIL_SETUP, "socket");
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		child_fail(errfd, FAIL_SETUP, "loopback flags");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		child_fail(errfd, FAIL_SETUP, "loopback up");
	close(s);
}

static void drop_privileges(int errfd, const berth_sandbox_spec *s)
{
	uint64_t keep = berth_sandbox_default_caps();
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];

	for (int c = 0; c <= 63; c++) {
		if (keep & (1ull << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			child_fail(errfd, FAIL_SETUP, "drop capability %d", c);
	}
	if (setgroups(s->ngroups, s->ngroups ? (const gid_t *)s->groups : NULL) < 0)
		child_fail(errfd, FAIL_SETUP, "setgroups");
	if (setresgid(s->gid, s->gid, s->gid) < 0)
		child_fail(errfd, FAIL_SETUP, "setgid %u", (unsigned)s->gid);
	if (setresuid(s->uid, s->uid, s->uid) < 0)
		child_fail(errfd, FAIL_SETUP, "setuid %u", (unsigned)s->uid);
	if (s->uid != 0)
		return; /* the kernel cleared the permitted set with the uid */
	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = data[0].inheritable = (uint32_t)keep;
	data[1].effective = data[1].permitted = data[1].inheritable = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(errfd, FAIL_SETUP, "capset");
}

static const char *env_get(char *const *env, const char *key)
{
	size_t n = strlen(key);

	for (; env && *env; env++)
		if (strncmp(*env, key, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* execve through the PATH of the command's own environment. */
static void exec_command(int errfd, const berth_sandbox_spec *s)
{
	char *const empty[] = {NULL};
	char *const *env = s->env ? s->env : empty;
	const char *name = s->argv[0], *path;
	char full[4096];
	int saw_eacces = 0;

	if (strchr(name, '/')) {
		execve(name, s->argv, env);
		child_fail(errfd, errno == ENOENT ? FAIL_NOTFOUND : FAIL_SETUP, "exec: %s%s", name,
			   errno == ENOENT ? ": not found" : "");
	}
	path = env_get(env, "PATH");
	if (!path)
		path = DEFAULT_PATH;
	while (*path) {
		size_t len = strcspn(path, ":");

		if (len + strlen(name) + 2 < sizeof(full)) {
			if (len == 0)
				snprintf(full, sizeof(full), "%s", name);
			else
				snprintf(full, sizeof(full), "%.*s/%s", (int)len, path, name);
			execve(full, s->argv, env);
			if (errno == EACCES)
				saw_eacces = 1;
		}
		path += len;
		if (*path == ':')
			path++;
	}
	errno = saw_eacces ? EACCES : 0;
	child_fail(errfd, saw_eacces ? FAIL_SETUP : FAIL_NOTFOUND, "exec: %s%s", name,
		   saw_eacces ? "" : ": not found in $PATH");
}

/* PID 1 of the new namespaces: set up, then become the command. */
static void __attribute__((noreturn)) init_main(const berth_sandbox_spec *s, int errfd)
{
	const char *host = s->hostname ? s->hostname : "berth";
	int nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	sigset_t none;

	if (nullfd < 0)
		child_fail(errfd, FAIL_SETUP, "/dev/null");
	/*
	 * A session of its own, as runc's init makes: no controlling terminal
	 * of the caller's, and (with autogroup scheduling) a CPU share of its
	 * own instead of one slice of the caller's session.
	 */
	if (setsid() < 0)
		child_fail(errfd, FAIL_SETUP, "setsid");
	setup_mounts(errfd, s);
	if (sethostname(host, strlen(host)) < 0)
		child_fail(errfd, FAIL_SETUP, "sethostname");
	if (s->net == BERTH_SANDBOX_NET_NONE)
		loopback_up(errfd);
	for (size_t i = 0; i < s->nrlimits; i++) {
		struct rlimit rl = {(rlim_t)s->rlimits[i].soft, (rlim_t)s->rlimits[i].hard};

		if (setrlimit(s->rlimits[i].resource, &rl) < 0)
			child_fail(errfd, FAIL_SETUP, "setrlimit %d", s->rlimits[i].resource);
	}
	if (s->cwd) {
		int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
		int fd = rootfd < 0 ? -1 : berth_inroot_mkdir_p(rootfd, s->cwd, 0755);

		if (fd < 0)
			child_fail(errfd, FAIL_SETUP, "working directory %s", s->cwd);
		close(fd);
		close(rootfd);
	}
	drop_privileges(errfd, s);
	if (chdir(s->cwd ? s->cwd : "/") < 0)
		child_fail(errfd, FAIL_SETUP, "chdir %s", s->cwd);
	if (dup2(nullfd, 0) < 0 || dup2(s->stdout_fd >= 0 ? s->stdout_fd : nullfd, 1) < 0 ||
	    dup2(s->stderr_fd >= 0 ? s->stderr_fd : nullfd, 2) < 0)
		child_fail(errfd, FAIL_SETUP, "stdio");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);
	exec_command(errfd, s);
	_exit(127);
}

/* The middle process: new namespaces, then wait for PID 1 and pass its status on. */
/*
 * Close every descriptor but the standard ones, errfd and the command's
 * output: this process never execs, and a copy of another thread's pipe
 * (a parallel step's output, its error pipe) held here would keep that
 * pipe open until this step ends. close_range is async-signal-safe.
 */
static void close_others(const berth_sandbox_spec *s, int errfd)
{
	int keep[3] = {errfd, s->stdout_fd, s->stderr_fd};
	unsigned lo = 3;

	for (;;) {
		int next = -1;

		for (int k = 0; k < 3; k++)
			if (keep[k] >= (int)lo && (next < 0 || keep[k] < next))
				next = keep[k];
		if (next < 0) {
			close_range(lo, ~0U, 0);
			return;
		}
		if ((unsigned)next > lo)
			close_range(lo, (unsigned)next - 1, 0);
		lo = (unsigned)next + 1;
	}
}

static void __attribute__((noreturn)) child_main(const berth_sandbox_spec *s, int errfd)
{
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
	int ws;
	pid_t pid;

	close_others(s, errfd);

	if (s->net == BERTH_SANDBOX_NET_NONE)
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0)
		child_fail(errfd, errno == EPERM ? FAIL_DENIED : FAIL_SETUP,
			   "create namespaces (berth build runs as root)");
	/* Die with the caller, and take PID 1 (and so the whole namespace) along. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pid = fork();
	if (pid < 0)
		child_fail(errfd, FAIL_SETUP, "fork");
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		init_main(s, errfd);
	}
	close(errfd);
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			_exit(127);
	if (WIFSIGNALED(ws))
		_exit(128 + WTERMSIG(ws));
	_exit(WEXITSTATUS(ws));
}

/* ---- the caller's side ---- */

static int check_spec(const berth_sandbox_spec *s)
{
	if (!s->rootfs || s->rootfs[0] != '/')
		return berth_error_set(BERTH_EINVALID, "sandbox root must be an absolute path");
	if (!s->argv || !s->argv[0] || !s->argv[0][0])
		return berth_error_set(BERTH_EINVALID, "no command to run");
	if (s->nmounts > BERTH_SANDBOX_MOUNTS_MAX)
		return berth_error_set(BERTH_EINVALID, "too many mounts (%zu, at most %d)",
				       s->nmounts, BERTH_SANDBOX_MOUNTS_MAX);
	if (s->ngroups > BERTH_SANDBOX_GROUPS_MAX)
		return berth_error_set(BERTH_EINVALID, "too many groups");
	if (s->cwd && s->cwd[0] != '/')
		return berth_error_set(BERTH_EINVALID, "working directory '%s' is not absolute",
				       s->cwd);
	for (size_t i = 0; i < s->nmounts; i++) {
		const char *t = s->mounts[i].target;

		if (!t || t[0] != '/')
			return berth_error_set(BERTH_EINVALID, "mount target '%s' is not absolute",
					       t ? t : "");
		if (strcmp(t, "/") == 0 || strstr(t, "/../") ||
		    (strlen(t) >= 3 && strcmp(t + strlen(t) - 3, "/..") == 0))
			return berth_error_set(BERTH_EINVALID, "bad mount target '%s'", t);
		if (s->mounts[i].kind == BERTH_SANDBOX_BIND && !s->mounts[i].source)
			return berth_error_set(BERTH_EINVALID, "bind mount at %s has no source", t);
	}
	return 0;
}

int berth_sandbox_run(const berth_sandbox_spec *spec, int *status)
{
	char msg[ERRMSG_MAX + 1];
	size_t got = 0;
	int errp[2], ws, rc;
	pid_t pid;

	rc = check_spec(spec);
	if (rc < 0)
		return rc;
	if (pipe2(errp, O_CLOEXEC) < 0)
		return berth_error_set_errno("pipe");
	pid = fork();
	if (pid < 0) {
		close(errp[0]);
		close(errp[1]);
		return berth_error_set_errno("fork");
	}
	if (pid == 0) {
		close(errp[0]);
		child_main(spec, errp[1]);
	}
	close(errp[1]);
	for (;;) {
		ssize_t n = read(errp[0], msg + got, sizeof(msg) - 1 - got);

		if (n > 0 && (got += (size_t)n) < sizeof(msg) - 1)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	close(errp[0]);
	msg[got] = '\0';
	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return berth_error_set_errno("waitpid");
	if (got > 0) {
		int code = msg[0] == FAIL_NOTFOUND ? BERTH_ENOTFOUND
			   : msg[0] == FAIL_DENIED ? BERTH_EDENIED
						   : BERTH_ERROR;

		return berth_error_set(code, "%s", msg + 1);
	}
	*status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	return 0;
}
