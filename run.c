/* ct run: see run.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "run.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:" \
	"/sbin:/bin"

enum { EXIT_CANNOT_EXEC = 126, EXIT_NOT_FOUND = 127 };

/* What the child says when it could not become the command. */
struct failure {
	int stage;		/* 0: taking the user's identity, 1: exec */
	int err;		/* errno */
};

/*
 * The command's pid, for the signal handler: a handler has nothing else to
 * go by.  Written once, before the handlers are installed.
 */
static volatile pid_t the_child;

/*
 * Pass a signal on to the command, unless the terminal sent it: the
 * command, in the same process group, has had it from the terminal too.
 */
static void
forward(int sig, siginfo_t *si, void *ctx)
{
	(void)ctx;
	if (si->si_code != SI_KERNEL && the_child > 0)
		kill(the_child, sig);
}

static void
set_forwarding(pid_t child)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;

	the_child = child;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Whether path is a file one may try to execute: 0, or the errno. */
static int
executable(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode))
		return EISDIR;
	return access(path, X_OK) < 0 ? errno : 0;
}

/*
 * The file that runs for name, as a shell finds it: name itself if it has a
 * '/', else the first executable of that name in $PATH.  On failure the exit
 * status a shell would give.
 */
static int
find_command(const char *name, char *path, size_t len, int *status,
    struct err *e)
{
	const char *dirs = getenv("PATH"), *dir, *end;
	int first = ENOENT, r;

	*status = EXIT_NOT_FOUND;
	if (strchr(name, '/') != NULL) {
		snprintf(path, len, "%s", name);
		first = executable(path);
	} else {
		if (dirs == NULL)
			dirs = DEFAULT_PATH;
		for (dir = dirs; first != 0; dir = end + 1) {
			end = strchrnul(dir, ':');
			snprintf(path, len, "%.*s%s%s", (int)(end - dir), dir,
			    end > dir ? "/" : "", name);
			r = executable(path);
			if (r == 0 || (first == ENOENT && r != ENOENT))
				first = r;
			if (*end == '\0')
				break;
		}
	}
	if (first == ENOENT)
		return errf(e, "%s: command not found", name);
	if (first != 0) {
		*status = EXIT_CANNOT_EXEC;
		errno = first;
		return errnof(e, "cannot run %s", name);
	}
	return 0;
}

/* Take on the user's identity: groups, then group, then user. */
static int
become(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
	    setuid(pw->pw_uid) < 0)
		return -1;
	setenv("HOME", pw->pw_dir, 1);
	setenv("USER", pw->pw_name, 1);
	setenv("LOGNAME", pw->pw_name, 1);
	return 0;
}

/* The child: wait until the limit holds, then become the command. */
static void
child(int go, int report, const char *path, char **argv,
    const struct passwd *pw)
{
	struct failure f = { 0, 0 };
	char c;

	/* No byte: ct run gave up, and the command must not start. */
	if (read(go, &c, 1) != 1)
		_exit(EXIT_CANNOT_EXEC);
	close(go);
	if (pw == NULL || become(pw) == 0) {
		f.stage = 1;
		execv(path, argv);
	}
	f.err = errno;
	if (write(report, &f, sizeof(f)) < 0)
		_exit(EXIT_CANNOT_EXEC);
	_exit(f.err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC);
}

/* The exit status of a waited-for process, as a shell gives it. */
static int
status_of(int ws)
{
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return WEXITSTATUS(ws);
}

static int
wait_for(pid_t pid)
{
	int ws;

	while (waitpid(pid, &ws, 0) < 0)
		if (errno != EINTR)
			return EXIT_CANNOT_EXEC;
	return status_of(ws);
}

/* Put the command's cgroup under its limit, then let it start. */
static int
start(const struct run_req *r, pid_t pid, int go, int report, int *status,
    struct notes *n, void (*say)(struct notes *), struct err *e)
{
	struct limit_req lim = r->lim;
	struct failure f;
	ssize_t got;

	lim.pid = pid;
	lim.isolate = 1;
	lim.run = 1;
	*status = 1;
	if (ops_limit(&lim, n, e) < 0)
		return -1;
	say(n);
	set_forwarding(pid);
	if (write(go, "g", 1) != 1)
		return errnof(e, "cannot start %s", r->argv[0]);
	do
		got = read(report, &f, sizeof(f));
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof(f))
		return 0;	/* closed by exec: the command runs */
	*status = f.err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_EXEC;
	errno = f.err;
	if (f.stage == 0)
		return errnof(e, "cannot run %s as %s", r->argv[0], r->user);
	return errnof(e, "cannot run %s", r->argv[0]);
}

int
run_command(const struct run_req *r, int *status, struct notes *n,
    void (*say)(struct notes *n), struct err *e)
{
	const struct passwd *pw = NULL;
	int go[2], report[2], failed;
	char path[4096];
	uint64_t begun = 0;
	struct err later;
	pid_t pid;

	if (find_command(r->argv[0], path, sizeof(path), status, e) < 0)
		return -1;
	*status = 1;
	if (r->user != NULL && (pw = getpwnam(r->user)) == NULL)
		return errf(e, "no user %s", r->user);
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0)
		return errnof(e, "cannot make a pipe");
	pid = fork();
	if (pid < 0)
		return errnof(e, "cannot fork");
	if (pid == 0) {
		close(go[1]);
		close(report[0]);
		child(go[0], report[1], path, r->argv, pw);
	}
	close(go[0]);
	close(report[1]);
	failed = proc_start_time(pid, &begun, e) < 0 ||
	    start(r, pid, go[1], report[0], status, n, say, e) < 0;
	close(go[1]);
	close(report[0]);
	if (failed && *status == 1) {
		/* Never started: nothing of it is left to wait for long. */
		kill(pid, SIGKILL);
		wait_for(pid);
	} else if (!failed) {
		*status = wait_for(pid);
	} else {
		wait_for(pid);
	}
	if (ops_run_end(pid, begun, n, failed ? &later : e) < 0 && !failed)
		failed = 1, *status = 1;
	say(n);
	return failed ? -1 : 0;
}
