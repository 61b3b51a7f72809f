/*
 * ct: cap the bandwidth of a process's cgroup.
 *
 * This file is the command line: it reads the arguments, hands them to the
 * operation they name (ops.h), and says what happened.  Each command's
 * synopsis lives in the table below, from which both the usage text and the
 * command's --help are printed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "limit.h"
#include "ops.h"
#include "policy.h"
#include "proc.h"
#include "rate.h"

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

static int do_limit(int, char **, struct notes *, struct err *);
static int do_unlimit(int, char **, struct notes *, struct err *);
static int do_status(int, char **, struct notes *, struct err *);
static int do_cleanup(int, char **, struct notes *, struct err *);
static void limit_defaults(FILE *);

static const struct command commands[] = {
	{ "limit", do_limit,
	    "limit [--isolate] [--burst SIZE] PID RATE\n"
	    "limit [--isolate] [--burst SIZE] PID [--down RATE] [--up RATE]\n",
	    "Cap the download (--down) and upload (--up) of the cgroup v2 that\n"
	    "PID belongs to; one RATE sets both.  Every process in that cgroup\n"
	    "shares the limit.  Limiting again changes the rate in place; a\n"
	    "direction not given stays as it was.\n"
	    "RATE is in tc's units: 10mbit, 512kbit, 1gbit, 2mbps (bytes/s),\n"
	    "4mibit; counted in IP bytes, headers included.\n"
	    "  --isolate       move PID into a new cgroup of its own first\n"
	    "                  (needed for a process in the root cgroup)\n"
	    "  --down RATE     the download limit\n"
	    "  --up RATE       the upload limit\n"
	    "  --burst SIZE    the bucket's depth in tc's size units (64kb, 1mb)\n",
	    limit_defaults },
	{ "unlimit", do_unlimit,
	    "unlimit PID\n",
	    "Remove the limit set for PID, even after the process has exited.\n"
	    "The cgroup's limit goes when its last limited process is\n"
	    "unlimited.  A PID that is not limited is no error.\n", NULL },
	{ "status", do_status,
	    "status [--json]\n",
	    "List each limited cgroup, its rates, counters and processes, and\n"
	    "whether the kernel really holds its programs.\n"
	    "  --json          one JSON document\n", NULL },
	{ "cleanup", do_cleanup,
	    "cleanup\n",
	    "Remove every trace of ct: its programs (also ones the registry has\n"
	    "lost), pins, cgroups and /run/ct.  Programs ct did not load are\n"
	    "never touched.\n", NULL },
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
next_option(int argc, char **argv, const struct option *opts,
    struct err *e)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, ":h", opts, NULL);
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

/* ---- commands ---- */

/* The exit status of an operation that returned r. */
static int
exit_of(int r)
{
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

static int
parse_limit(int argc, char **argv, struct limit_req *r, struct err *e)
{
	static const struct option opts[] = {
		{ "isolate", no_argument, NULL, 'i' },
		{ "down", required_argument, NULL, 'd' },
		{ "up", required_argument, NULL, 'u' },
		{ "burst", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *pid, *rate;
	int c, n;

	memset(r, 0, sizeof(*r));
	while ((c = next_option(argc, argv, opts, e)) > 0) {
		if (c == OPT_HELP)
			return OPT_HELP;
		if (c == 'i')
			r->isolate = 1;
		if (c == 'b' && size_parse(optarg, &r->burst, e) < 0)
			return -1;
		if (c == 'd' || c == 'u') {
			int d = c == 'd' ? CT_DOWN : CT_UP;

			if (rate_parse(optarg, &r->rate[d], e) < 0)
				return -1;
			r->given[d] = 1;
		}
	}
	if (c < 0 || (n = operands(argc, argv, 1, 2, "pid", e)) < 0)
		return -1;
	pid = argv[optind];
	rate = n == 2 ? argv[optind + 1] : NULL;
	if (proc_parse_pid(pid, &r->pid, e) < 0)
		return -1;
	if (rate != NULL && (r->given[CT_DOWN] || r->given[CT_UP]))
		return errf(e, "give either one rate or --down/--up, not both");
	if (rate != NULL) {
		if (rate_parse(rate, &r->rate[CT_DOWN], e) < 0)
			return -1;
		r->rate[CT_UP] = r->rate[CT_DOWN];
		r->given[CT_DOWN] = r->given[CT_UP] = 1;
	}
	if (!r->given[CT_DOWN] && !r->given[CT_UP])
		return errf(e, "missing rate (for example: ct limit %s 10mbit)",
		    pid);
	return 0;
}

static int
do_limit(int argc, char **argv, struct notes *n, struct err *e)
{
	struct limit_req r;
	int c = parse_limit(argc, argv, &r, e);

	if (c == OPT_HELP)
		return SHOW_HELP;
	if (c < 0)
		return EXIT_USAGE;
	return exit_of(ops_limit(&r, n, e));
}

static int
do_unlimit(int argc, char **argv, struct notes *n, struct err *e)
{
	int c = next_option(argc, argv, help_only, e);
	pid_t pid;

	if (c == OPT_HELP)
		return SHOW_HELP;
	if (c < 0 || operands(argc, argv, 1, 1, "pid", e) < 0 ||
	    proc_parse_pid(argv[optind], &pid, e) < 0)
		return EXIT_USAGE;
	return exit_of(ops_unlimit(pid, n, e));
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

/* ---- main ---- */

static const struct command *
find_command(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
print_notes(const struct notes *n)
{
	for (size_t i = 0; i < n->n; i++)
		fprintf(stderr, "ct: %s%s\n", severity_prefix(n->line[i].sev),
		    n->line[i].text);
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
	print_notes(&notes);
	notes_free(&notes);
	if (status != EXIT_OK)
		fprintf(stderr, "ct: %s\n", e.msg);
	return status;
}
