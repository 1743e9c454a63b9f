/*
 * run.c - unit tests of the sandbox: a busybox root (Debian busybox-static)
 * built per test in a temporary directory; each case runs one command and
 * checks what it saw from inside (PID 1, hostname, only loopback, Docker's
 * capability set, the user, mounts, the working directory) or how a
 * failure is reported. Needs root, as berth build does.
 */
#include "berth/sandbox.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../testutil.h"

#define BUSYBOX "/bin/busybox"

typedef struct fixture {
	char root[128]; /* the sandbox's root */
	char out[160];	/* file receiving the command's stdout */
	char host[128]; /* a host directory to mount */
} fixture;

static int setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	char tmpl[] = "/tmp/berth-sandbox-XXXXXX";

	if (access(BUSYBOX, X_OK) != 0) {
		fprintf(stderr, "sandbox tests need %s: apt-get install busybox-static\n", BUSYBOX);
		return -1;
	}
	if (!f || !mkdtemp(tmpl))
		return -1;
	snprintf(f->root, sizeof(f->root), "%s/root", tmpl);
	snprintf(f->out, sizeof(f->out), "%s/out", tmpl);
	snprintf(f->host, sizeof(f->host), "%s/host", tmpl);
	test_sh("mkdir -p %s/bin %s/etc %s && cp %s %s/bin/busybox && "
		"for c in sh cat echo id ls hostname touch mkdir readlink grep pwd; do ln -s "
		"busybox "
		"%s/bin/$c; "
		"done && echo 'hello' > %s/file",
		f->root, f->root, f->host, BUSYBOX, f->root, f->root, f->host);
	test_sh("printf 'root:x:0:0::/root:/bin/sh\\napp:x:1000:1000::/home/app:/bin/sh\\n' > "
		"%s/etc/passwd && printf 'root:x:0:\\napp:x:1000:\\nextra:x:2000:app,other\\n' > "
		"%s/etc/group",
		f->root, f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture *f = *state;
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %.*s", (int)(strlen(f->root) - 5), f->root);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Run `script` with /bin/sh -c in the root; returns the exit status, output in f->out. */
static int run_sh(fixture *f, berth_sandbox_spec *spec, const char *script)
{
	char *argv[] = {"sh", "-c", (char *)script, NULL};
	char *env[] = {"PATH=/bin", NULL};
	FILE *out = fopen(f->out, "w");
	int status = -1;

	assert_non_null(out);
	spec->rootfs = f->root;
	spec->argv = argv;
	if (!spec->env)
		spec->env = env;
	spec->stdout_fd = fileno(out);
	spec->stderr_fd = fileno(out);
	assert_int_equal(berth_sandbox_run(spec, &status), 0);
	fclose(out);
	return status;
}

static char *output(fixture *f)
{
	static char buf[8192];
	FILE *in = fopen(f->out, "r");
	size_t n;

	assert_non_null(in);
	n = fread(buf, 1, sizeof(buf) - 1, in);
	fclose(in);
	buf[n] = '\0';
	return buf;
}

static void command_is_pid_one_with_its_own_hostname(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};

	spec.hostname = "buildhost";
	assert_int_equal(run_sh(f, &spec, "echo $$; hostname"), 0);
	assert_string_equal(output(f), "1\nbuildhost\n");
}

/* PID 1 leads its own session and process group (fields 5 and 6 of stat). */
static void command_leads_its_own_session(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};

	assert_int_equal(run_sh(f, &spec, "read a b c d e g rest < /proc/1/stat; echo $e $g"), 0);
	assert_string_equal(output(f), "1 1\n");
}

static void network_none_leaves_only_loopback_up(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};
	char *o;

	assert_int_equal(run_sh(f, &spec,
				"cat /proc/net/dev; cat /sys/class/net/lo/operstate "
				"/sys/class/net/lo/flags"),
			 0);
	o = output(f);
	assert_non_null(strstr(o, "lo:"));
	/* Header (2 lines) + lo only. */
	{
		int lines = 0;

		for (char *p = o; (p = strchr(p, ':')) != NULL; p++)
			lines++;
		assert_int_equal(lines, 1); /* the header lines have no ':' */
	}
	assert_non_null(strstr(o, "0x9")); /* IFF_UP | IFF_LOOPBACK (0x1|0x8) */
}

static void root_gets_dockers_default_capabilities(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};
	char want[64];

	assert_int_equal(run_sh(f, &spec,
				"grep -E '^Cap(Bnd|Eff)' /proc/self/status || "
				"cat /proc/self/status"),
			 0);
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)berth_sandbox_default_caps());
	assert_non_null(strstr(output(f), want));
	assert_int_equal(berth_sandbox_default_caps(), 0xa80425fbull);
}

static void other_users_start_without_capabilities(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};
	uint32_t groups[4] = {2000};

	spec.uid = 1000;
	spec.gid = 1000;
	spec.groups = groups;
	spec.ngroups = 1;
	assert_int_equal(run_sh(f, &spec, "id -u; id -g; id -G; grep CapEff /proc/self/status"), 0);
	assert_non_null(strstr(output(f), "1000\n1000\n1000 2000\nCapEff:\t0000000000000000\n"));
}

static void exit_status_and_signals_are_reported_as_a_shell_does(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};

	assert_int_equal(run_sh(f, &spec, "exit 3"), 3);
	assert_int_equal(run_sh(f, &spec, "exit 0"), 0);
	/* PID 1 ignores signals sent from inside its namespace, as in any container. */
	assert_int_equal(run_sh(f, &spec, "kill -9 $$; exit 5"), 5);
}

static void host_files_are_out_of_reach(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};
	char probe[200];

	/* The host's /tmp (where the fixture lives) is not visible inside. */
	snprintf(probe, sizeof(probe), "cat %s/file 2>/dev/null; echo rc=$?", f->host);
	assert_int_equal(run_sh(f, &spec, probe), 0);
	assert_string_equal(output(f), "rc=1\n");
}

static void bind_and_tmpfs_mounts_appear_where_asked(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};
	berth_sandbox_mount m[2] = {
		{.kind = BERTH_SANDBOX_BIND,
		 .source = f->host,
		 .target = "/mnt/ctx",
		 .readonly = 1},
		{.kind = BERTH_SANDBOX_TMPFS, .target = "/run/secrets", .mode = 0700},
	};

	spec.mounts = m;
	spec.nmounts = 2;
	assert_int_equal(run_sh(f, &spec,
				"cat /mnt/ctx/file; touch /mnt/ctx/new 2>/dev/null && "
				"echo writable; grep -c ' /run/secrets tmpfs' /proc/mounts"),
			 0);
	assert_string_equal(output(f), "hello\n1\n");
	{
		char p[200];

		snprintf(p, sizeof(p), "%s/new", f->host);
		assert_int_not_equal(access(p, F_OK), 0);
	}
}

static void a_symlink_in_the_root_cannot_redirect_a_mount(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};
	berth_sandbox_mount m = {.kind = BERTH_SANDBOX_TMPFS, .target = "/evil/x"};
	char host_target[300];

	/* /evil -> <host dir>: resolved in the root, it names <root>/<host dir>. */
	test_sh("ln -s %s %s/evil", f->host, f->root);
	spec.mounts = &m;
	spec.nmounts = 1;
	assert_int_equal(run_sh(f, &spec, "true"), 0);
	snprintf(host_target, sizeof(host_target), "%s/x", f->host);
	assert_int_not_equal(access(host_target, F_OK), 0);
	snprintf(host_target, sizeof(host_target), "%s%s/x", f->root, f->host);
	assert_int_equal(access(host_target, F_OK), 0);
}

static void working_directory_and_environment_apply(void **state)
{
	fixture *f = *state;
	berth_sandbox_spec spec = {0};
	char *env[] = {"PATH=/bin", "GREETING=hi there", NULL};

	spec.cwd = "/work/dir";
	spec.env = env;
	assert_int_equal(run_sh(f, &spec, "pwd; echo \"$GREETING\""), 0);
	assert_string_equal(output(f), "/work/dir\nhi there\n");
}

static void missing_command_is_not_found(void **state)
{
	fixture *f = *state;
	char *argv[] = {"no-such-tool", NULL};
	berth_sandbox_spec spec = {0};
	int status = 0;

	spec.rootfs = f->root;
	spec.argv = argv;
	spec.stdout_fd = spec.stderr_fd = -1;
	assert_int_equal(berth_sandbox_run(&spec, &status), BERTH_ENOTFOUND);
	assert_non_null(strstr(berth_error_last(), "no-such-tool"));
}

static void bad_specs_are_refused_before_anything_runs(void **state)
{
	fixture *f = *state;
	char *argv[] = {"true", NULL};
	berth_sandbox_mount up = {.kind = BERTH_SANDBOX_TMPFS, .target = "/a/../../etc"};
	berth_sandbox_spec spec = {0};
	int status;

	spec.rootfs = "relative/root";
	spec.argv = argv;
	assert_int_equal(berth_sandbox_run(&spec, &status), BERTH_EINVALID);
	spec.rootfs = f->root;
	spec.mounts = &up;
	spec.nmounts = 1;
	assert_int_equal(berth_sandbox_run(&spec, &status), BERTH_EINVALID);
	spec.nmounts = 0;
	spec.cwd = "relative";
	assert_int_equal(berth_sandbox_run(&spec, &status), BERTH_EINVALID);
}

static void user_names_resolve_from_the_roots_files(void **state)
{
	fixture *f = *state;
	uint32_t uid = 9, gid = 9, groups[8];
	size_t n = 9;

	assert_int_equal(berth_sandbox_resolve_user(f->root, "app", &uid, &gid, groups, 8, &n), 0);
	assert_int_equal(uid, 1000);
	assert_int_equal(gid, 1000);
	assert_int_equal(n, 1);
	assert_int_equal(groups[0], 2000);
	assert_int_equal(berth_sandbox_resolve_user(f->root, "app:root", &uid, &gid, groups, 8, &n),
			 0);
	assert_int_equal(gid, 0);
	assert_int_equal(n, 0);
	assert_int_equal(berth_sandbox_resolve_user(f->root, "4242", &uid, &gid, groups, 8, &n), 0);
	assert_int_equal(uid, 4242);
	assert_int_equal(gid, 0);
	assert_int_equal(berth_sandbox_resolve_user(f->root, "4242:77", &uid, &gid, groups, 8, &n),
			 0);
	assert_int_equal(gid, 77);
	assert_int_equal(berth_sandbox_resolve_user(f->root, "nobody", &uid, &gid, groups, 8, &n),
			 BERTH_ENOTFOUND);
	assert_non_null(strstr(berth_error_last(), "nobody"));
	assert_int_equal(
		berth_sandbox_resolve_user(f->root, "app:nogroup", &uid, &gid, groups, 8, &n),
		BERTH_ENOTFOUND);
	assert_int_equal(berth_sandbox_resolve_user(f->root, ":x", &uid, &gid, groups, 8, &n),
			 BERTH_EINVALID);
}

/* HOME as runc sets it: the passwd entry's home by name or number, else "/". */
static void user_homes_come_from_passwd(void **state)
{
	fixture *f = *state;
	char home[64];

	assert_int_equal(berth_sandbox_user_home(f->root, NULL, home, sizeof(home)), 0);
	assert_string_equal(home, "/root");
	assert_int_equal(berth_sandbox_user_home(f->root, "app:root", home, sizeof(home)), 0);
	assert_string_equal(home, "/home/app");
	assert_int_equal(berth_sandbox_user_home(f->root, "1000", home, sizeof(home)), 0);
	assert_string_equal(home, "/home/app");
	assert_int_equal(berth_sandbox_user_home(f->root, "4242", home, sizeof(home)), 0);
	assert_string_equal(home, "/");
	assert_int_equal(berth_sandbox_user_home(f->root, "app", home, 5), 0); /* does not fit */
	assert_string_equal(home, "/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(command_is_pid_one_with_its_own_hostname, setup,
						teardown),
		cmocka_unit_test_setup_teardown(command_leads_its_own_session, setup, teardown),
		cmocka_unit_test_setup_teardown(network_none_leaves_only_loopback_up, setup,
						teardown),
		cmocka_unit_test_setup_teardown(root_gets_dockers_default_capabilities, setup,
						teardown),
		cmocka_unit_test_setup_teardown(other_users_start_without_capabilities, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			exit_status_and_signals_are_reported_as_a_shell_does, setup, teardown),
		cmocka_unit_test_setup_teardown(host_files_are_out_of_reach, setup, teardown),
		cmocka_unit_test_setup_teardown(bind_and_tmpfs_mounts_appear_where_asked, setup,
						teardown),
		cmocka_unit_test_setup_teardown(a_symlink_in_the_root_cannot_redirect_a_mount,
						setup, teardown),
		cmocka_unit_test_setup_teardown(working_directory_and_environment_apply, setup,
						teardown),
		cmocka_unit_test_setup_teardown(missing_command_is_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_specs_are_refused_before_anything_runs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(user_homes_come_from_passwd, setup, teardown),
		cmocka_unit_test_setup_teardown(user_names_resolve_from_the_roots_files, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
