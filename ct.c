/*
 * ct: cap the bandwidth of a process's cgroup.
 *
 * This file is the command line: it reads the arguments, hands them to the
 * operation they name (ops.h), and says what happened.  Each command's
 * synopsis lives in the table below, from which both the usage text and the
 * command's --help are printed.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "err.h"
#include "limit.h"
#include "ops.h"
#include "policy.h"
#include "proc.h"
#include "rate.h"
#include "run.h"
#include "top.h"

#define CT_VERSION "0.1.0"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };
#define SHOW_HELP (-1)	/* a command's answer to --help: main prints it */

struct command {
	const char *name;
	int (*run)(int argc, char **argv, struct notes *n, struct err *e);
	const char *synopsis;	/* one form a line, without "ct " */
	const char *help;	/* what it does, and its options */
	void (*defaults)(FILE *out);	/* more help, computed; or NULL */
};

static int do_run(int, char **, struct notes *, struct err *);
static int do_limit(int, char **, struct notes *, struct err *);
static int do_unlimit(int, char **, struct notes *, struct err *);
static int do_status(int, char **, struct notes *, struct err *);
static int do_cleanup(int, char **, struct notes *, struct err *);
static int do_top(int, char **, struct notes *, struct err *);
static void limit_defaults(FILE *);

static const struct command commands[] = {
	{ "run", do_run,
	    "run [--burst SIZE] [--user USER] RATE [--] COMMAND [ARG...]\n"
	    "run [--burst SIZE] [--user USER] [--down RATE] [--up RATE] [--] "
	    "COMMAND [ARG...]\n",
	    "Run COMMAND in a new cgroup of its own, limited before it\n"
	    "starts, so that none of its connections is ever unlimited; its\n"
	    "children are limited with it.  ct run waits for COMMAND, passes\n"
	    "SIGINT, SIGTERM, SIGHUP and SIGQUIT on to it, and exits with its\n"
	    "status (128+N for signal N).  The limit and the cgroup go when\n"
	    "everything COMMAND started has exited; until then ct status\n"
	    "shows them.  Options come before RATE and COMMAND.\n"
	    "  --user USER     run COMMAND as USER, with USER's groups\n"
	    "  --down RATE     the download limit\n"
	    "  --up RATE       the upload limit\n"
	    "  --burst SIZE    the bucket's depth, as for limit\n", NULL },
	{ "limit", do_limit,
	    "limit [--isolate] [--burst SIZE] PID RATE\n"
	    "limit [--isolate] [--burst SIZE] PID [--down RATE] [--up RATE]\n"
	    "limit --cgroup PATH | --unit NAME [--burst SIZE] RATE\n"
	    "limit --cgroup PATH | --unit NAME [--burst SIZE] [--down RATE] "
	    "[--up RATE]\n",
	    "Cap the download (--down) and upload (--up) of the cgroup v2\n"
	    "that PID belongs to, or of a cgroup given by its path or name;\n"
	    "one RATE sets both.  Every process in that cgroup shares the\n"
	    "limit.  Limiting again changes the rate in place; a direction\n"
	    "not given stays as it was.  A limit made for a PID goes with\n"
	    "the last limited process; one made for a cgroup stays until\n"
	    "unlimit --cgroup or the cgroup's removal.\n"
	    "RATE is in tc's units: 10mbit, 512kbit, 1gbit, 2mbps (bytes/s),\n"
	    "4mibit; counted in IP bytes, headers included.\n"
	    "  --isolate       move PID into a new cgroup of its own first\n"
	    "                  (needed for a process in the root cgroup)\n"
	    "  --cgroup PATH   the cgroup, relative to the cgroup2 mount as\n"
	    "                  ct status prints it: /system.slice/x.service\n"
	    "  --unit NAME     the one cgroup named NAME: a systemd unit,\n"
	    "                  x.service, user-1000.slice, docker-ID.scope\n"
	    "  --down RATE     the download limit\n"
	    "  --up RATE       the upload limit\n"
	    "  --burst SIZE    the bucket's depth in tc's size units (64kb)\n",
	    limit_defaults },
	{ "unlimit", do_unlimit,
	    "unlimit PID\n"
	    "unlimit --cgroup PATH | --unit NAME\n",
	    "Remove the limit set for PID, even after the process has\n"
	    "exited, or the limit of a cgroup.  A PID's limit goes when the\n"
	    "cgroup's last limited process is unlimited.  What is not\n"
	    "limited is no error.\n"
	    "  --cgroup PATH   the cgroup, as for limit\n"
	    "  --unit NAME     the one cgroup named NAME, as for limit\n",
	    NULL },
	{ "status", do_status,
	    "status [--json]\n",
	    "List each limited cgroup, its rates, counters and processes,\n"
	    "and whether the kernel really holds its programs.\n"
	    "  --json          one JSON document\n", NULL },
	{ "top", do_top,
	    "top [-d SECONDS] [-n COUNT] [--json]\n",
	    "Show every limited cgroup's download and upload rate over the\n"
	    "last interval beside its limit, packets dropped per second and\n"
	    "its processes, refreshed until interrupted.  On a terminal the\n"
	    "frame is redrawn in place; otherwise frames follow each other.\n"
	    "  -d SECONDS      time between frames (default 1)\n"
	    "  -n COUNT        print COUNT frames, then exit\n"
	    "  --json          one JSON object a frame, one a line; rates\n"
	    "                  in bits per second\n", NULL },
	{ "cleanup", do_cleanup,
	    "cleanup\n",
	    "Remove every trace of ct: its programs (also ones the registry\n"
	    "has lost), pins, cgroups and /run/ct.  Programs ct did not load\n"
	    "are never touched.\n", NULL },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Each line of a synopsis, after "usage: ct " or its indent. */
static void
print_synopsis(const char *synopsis, int *first, FILE *out)
{
	const char *line = synopsis, *end;

	for (; *line != '\0'; line = end + 1) {
		end = strchr(line, '\n');
		fprintf(out, "%s%.*s\n", *first ? "usage: ct " : "       ct ",
		    (int)(end - line), line);
		*first = 0;
	}
}

static void
usage(FILE *out)
{
	int first = 1;

	for (size_t i = 0; i < NCOMMANDS; i++)
		print_synopsis(commands[i].synopsis, &first, out);
	print_synopsis("--help | --version | COMMAND --help\n", &first, out);
}

static void
command_help(const struct command *cmd, FILE *out)
{
	int first = 1;

	print_synopsis(cmd->synopsis, &first, out);
	fprintf(out, "\n%s", cmd->help);
	if (cmd->defaults != NULL)
		cmd->defaults(out);
}

static void
limit_defaults(FILE *out)
{
	char down[32], up[32];

	size_format(POLICY_BURST_FLOOR_DOWN, down, sizeof(down));
	size_format(POLICY_BURST_FLOOR_UP, up, sizeof(up));
	fprintf(out, "                  (default: one second of the rate, at "
	    "least %s down\n                  and %s up)\n", down, up);
}

/* ---- options ---- */

#define OPT_HELP 'h'
#define OPT_END 0

/*
 * The next option of argv (a command's own, argv[0] being its name) as
 * getopt_long finds it: its val, OPT_END when there is none left, -1 with a
 * message for what ct refuses.  getopt_long's own messages are off.
 */
static int
next_option_in(int argc, char **argv, const char *shorts,
    const struct option *opts, struct err *e)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, shorts, opts, NULL);
	if (c == -1)
		return OPT_END;
	if (c == '?' && optopt >= '0' && optopt <= '9')
		return errf(e, "unknown option '-%c' for %s (rates and pids "
		    "cannot be negative)", optopt, argv[0]);
	if (c == '?' && optopt != 0)
		return errf(e, "unknown option '-%c' for %s", optopt, argv[0]);
	if (c == '?')
		return errf(e, "unknown option '%s' for %s", argv[optind - 1],
		    argv[0]);
	if (c == ':')
		return errf(e, "%s needs a value", argv[optind - 1]);
	return c;
}

static const struct option help_only[] = {
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* How many arguments are left after the options: from min to max, else a
 * message that names the first one missing. */
static int
operands(int argc, char **argv, int min, int max, const char *first,
    struct err *e)
{
	int n = argc - optind;

	if (n > max)
		return errf(e, "too many arguments for %s", argv[0]);
	if (n < min)
		return errf(e, "missing %s", first);
	return n;
}

static int
next_option(int argc, char **argv, const struct option *opts,
    struct err *e)
{
	return next_option_in(argc, argv, ":h", opts, e);
}

/* ---- commands ---- */

/* The exit status of an operation that returned r. */
static int
exit_of(int r)
{
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/*
 * The cgroup that --cgroup PATH or --unit NAME names, into rel (len bytes):
 * EXIT_OK, or the exit status of the failure.  A cgroup named wrongly is
 * bad input; one that is not there for a name that could be is not.
 */
static int
resolve_cgroup(const char *path, const char *unit, char *rel, size_t len,
    struct err *e)
{
	char root[256];
	int count;

	if (path != NULL && unit != NULL)
		return errf(e, "give --cgroup or --unit, not both"), EXIT_USAGE;
	if (cgroup_root(root, sizeof(root), e) < 0)
		return EXIT_FAIL;
	if (path != NULL)
		return cgroup_resolve(root, path, rel, len, e) < 0 ?
		    EXIT_USAGE : EXIT_OK;
	if (cgroup_find_named(root, unit, rel, len, &count, e) < 0)
		return count == 0 ? EXIT_FAIL : EXIT_USAGE;
	return EXIT_OK;
}

/* The words left after limit's options: a PID and a RATE, or a RATE. */
static int
limit_operands(int argc, char **argv, int by_cgroup, struct limit_req *r,
    const char **rate, struct err *e)
{
	int n = operands(argc, argv, by_cgroup ? 0 : 1, by_cgroup ? 1 : 2,
	    "pid", e);

	if (n < 0)
		return -1;
	*rate = n > !by_cgroup ? argv[argc - 1] : NULL;
	if (by_cgroup)
		return 0;
	return proc_parse_pid(argv[optind], &r->pid, e);
}

/* The rates given: one RATE for both directions, or --down and --up. */
static int
limit_rates(const char *rate, struct limit_req *r, struct err *e)
{
	if (rate != NULL && (r->given[CT_DOWN] || r->given[CT_UP]))
		return errf(e, "give either one rate or --down/--up, not both");
	if (rate != NULL) {
		if (rate_parse(rate, &r->rate[CT_DOWN], e) < 0)
			return -1;
		r->rate[CT_UP] = r->rate[CT_DOWN];
		r->given[CT_DOWN] = r->given[CT_UP] = 1;
	}
	if (!r->given[CT_DOWN] && !r->given[CT_UP])
		return errf(e, "missing rate (for example: 10mbit)");
	return 0;
}

/* A rate or burst option of limit and run, into r. */
static int
take_rate_option(int c, struct limit_req *r, struct err *e)
{
	int d = c == 'd' ? CT_DOWN : CT_UP;

	if (c == 'b')
		return size_parse(optarg, &r->burst, e);
	if (rate_parse(optarg, &r->rate[d], e) < 0)
		return -1;
	r->given[d] = 1;
	return 0;
}

/*
 * limit's options, into r; --cgroup and --unit into *path and *unit.  The
 * option's letter for --help, 0 when done, -1 with a message.
 */
static int
limit_options(int argc, char **argv, struct limit_req *r, const char **path,
    const char **unit, struct err *e)
{
	static const struct option opts[] = {
		{ "isolate", no_argument, NULL, 'i' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "unit", required_argument, NULL, 'n' },
		{ "down", required_argument, NULL, 'd' },
		{ "up", required_argument, NULL, 'u' },
		{ "burst", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = next_option(argc, argv, opts, e)) > 0) {
		if (c == OPT_HELP)
			return OPT_HELP;
		if (c == 'i')
			r->isolate = 1;
		if (c == 'c')
			*path = optarg;
		if (c == 'n')
			*unit = optarg;
		if ((c == 'b' || c == 'd' || c == 'u') &&
		    take_rate_option(c, r, e) < 0)
			return -1;
	}
	return c;
}

static int
do_limit(int argc, char **argv, struct notes *n, struct err *e)
{
	const char *path = NULL, *unit = NULL, *rate;
	struct limit_req r;
	char rel[4096];
	int c, by_cgroup, status;

	memset(&r, 0, sizeof(r));
	c = limit_options(argc, argv, &r, &path, &unit, e);
	if (c == OPT_HELP)
		return SHOW_HELP;
	by_cgroup = path != NULL || unit != NULL;
	if (c < 0 || limit_operands(argc, argv, by_cgroup, &r, &rate, e) < 0 ||
	    limit_rates(rate, &r, e) < 0)
		return EXIT_USAGE;
	if (by_cgroup && r.isolate)
		return errf(e, "--isolate is for a PID, not a cgroup"),
		    EXIT_USAGE;
	if (by_cgroup) {
		status = resolve_cgroup(path, unit, rel, sizeof(rel), e);
		if (status != EXIT_OK)
			return status;
		r.cgroup = rel;
	}
	return exit_of(ops_limit(&r, n, e));
}

static int
do_unlimit(int argc, char **argv, struct notes *n, struct err *e)
{
	static const struct option opts[] = {
		{ "cgroup", required_argument, NULL, 'c' },
		{ "unit", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL, *unit = NULL;
	char rel[4096];
	int c, status;
	pid_t pid;

	while ((c = next_option(argc, argv, opts, e)) > 0) {
		if (c == OPT_HELP)
			return SHOW_HELP;
		if (c == 'c')
			path = optarg;
		if (c == 'n')
			unit = optarg;
	}
	if (c < 0)
		return EXIT_USAGE;
	if (path == NULL && unit == NULL) {
		if (operands(argc, argv, 1, 1, "pid", e) < 0 ||
		    proc_parse_pid(argv[optind], &pid, e) < 0)
			return EXIT_USAGE;
		return exit_of(ops_unlimit(pid, n, e));
	}
	if (operands(argc, argv, 0, 0, "", e) < 0)
		return EXIT_USAGE;
	status = resolve_cgroup(path, unit, rel, sizeof(rel), e);
	if (status != EXIT_OK)
		return status;
	return exit_of(ops_unlimit_cgroup(rel, n, e));
}

static int
do_status(int argc, char **argv, struct notes *n, struct err *e)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	enum status_format fmt = STATUS_TEXT;
	int c;

	while ((c = next_option(argc, argv, opts, e)) > 0) {
		if (c == OPT_HELP)
			return SHOW_HELP;
		fmt = STATUS_JSON;
	}
	if (c < 0 || operands(argc, argv, 0, 0, "", e) < 0)
		return EXIT_USAGE;
	return exit_of(ops_status(fmt, stdout, n, e));
}

static int
do_cleanup(int argc, char **argv, struct notes *n, struct err *e)
{
	int c = next_option(argc, argv, help_only, e);

	if (c == OPT_HELP)
		return SHOW_HELP;
	if (c < 0 || operands(argc, argv, 0, 0, "", e) < 0)
		return EXIT_USAGE;
	return exit_of(ops_cleanup(n, e));
}

static void
print_notes(const struct notes *n)
{
	for (size_t i = 0; i < n->n; i++)
		fprintf(stderr, "ct: %s%s\n", severity_prefix(n->line[i].sev),
		    n->line[i].text);
}

static void
say(struct notes *n)
{
	print_notes(n);
	notes_free(n);
}

/* What follows run's options: [RATE] [--] COMMAND [ARG...]. */
static int
run_operands(int argc, char **argv, struct run_req *r, struct err *e)
{
	const char *rate = NULL;
	int i = optind;

	/* getopt stops at the first operand, or after a "--" it took. */
	if (strcmp(argv[i - 1], "--") != 0) {
		if (!r->lim.given[CT_DOWN] && !r->lim.given[CT_UP] && i < argc)
			rate = argv[i++];
		if (i < argc && strcmp(argv[i], "--") == 0)
			i++;
	}
	if (limit_rates(rate, &r->lim, e) < 0)
		return -1;
	if (i == argc)
		return errf(e, "missing command (for example: ct run 10mbit -- "
		    "curl -O URL)");
	r->argv = argv + i;
	return 0;
}

static int
do_run(int argc, char **argv, struct notes *n, struct err *e)
{
	static const struct option opts[] = {
		{ "user", required_argument, NULL, 'U' },
		{ "down", required_argument, NULL, 'd' },
		{ "up", required_argument, NULL, 'u' },
		{ "burst", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct run_req r;
	int c, status;

	memset(&r, 0, sizeof(r));
	/* "+": the command's own options are not ct's. */
	while ((c = next_option_in(argc, argv, "+:h", opts, e)) > 0) {
		if (c == OPT_HELP)
			return SHOW_HELP;
		if (c == 'U')
			r.user = optarg;
		if ((c == 'b' || c == 'd' || c == 'u') &&
		    take_rate_option(c, &r.lim, e) < 0)
			return EXIT_USAGE;
	}
	if (c < 0 || run_operands(argc, argv, &r, e) < 0)
		return EXIT_USAGE;
	if (r.user != NULL && getpwnam(r.user) == NULL)
		return errf(e, "no user %s", r.user), EXIT_USAGE;
	run_command(&r, &status, n, say, e);
	return status;
}

/* A positive number of seconds, at most a day. */
static int
parse_seconds(const char *s, double *v, struct err *e)
{
	char *end;

	errno = 0;
	*v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(*v >= 0.01) ||
	    *v > 86400)
		return errf(e, "interval '%s' is not a number of seconds from "
		    "0.01 to 86400", s);
	return 0;
}

static int
parse_count(const char *s, long *v, struct err *e)
{
	char *end;

	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *v < 1)
		return errf(e, "count '%s' is not a positive number", s);
	return 0;
}

static int
do_top(int argc, char **argv, struct notes *n, struct err *e)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	struct top_opts o = { 1.0, 0, 0 };
	int c;

	while ((c = next_option_in(argc, argv, ":hd:n:", opts, e)) > 0) {
		if (c == OPT_HELP)
			return SHOW_HELP;
		if (c == 'j')
			o.json = 1;
		if (c == 'd' && parse_seconds(optarg, &o.interval, e) < 0)
			return EXIT_USAGE;
		if (c == 'n' && parse_count(optarg, &o.count, e) < 0)
			return EXIT_USAGE;
	}
	if (c < 0 || operands(argc, argv, 0, 0, "", e) < 0)
		return EXIT_USAGE;
	return exit_of(top_run(&o, n, say, e));
}

/* ---- main ---- */

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct command *cmd;
	struct notes notes = { NULL, 0 };
	struct err e = { "" };
	int status;

	if (argc < 2) {
		fprintf(stderr, "ct: missing command (try ct --help)\n");
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ct %s\n", CT_VERSION);
		return EXIT_OK;
	}
	cmd = find_command(argv[1]);
	if (cmd == NULL) {
		fprintf(stderr, "ct: unknown command '%s' (try ct --help)\n",
		    argv[1]);
		return EXIT_USAGE;
	}
	status = cmd->run(argc - 1, argv + 1, &notes, &e);
	if (status == SHOW_HELP) {
		command_help(cmd, stdout);
		return EXIT_OK;
	}
	say(&notes);
	/* A command run by ct run may fail with nothing for ct to say. */
	if (status != EXIT_OK && e.msg[0] != '\0')
		fprintf(stderr, "ct: %s\n", e.msg);
	return status;
}
