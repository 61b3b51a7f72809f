/* ct top: see top.h. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "ops.h"
#include "rate.h"
#include "top.h"

static const char *const dir_names[2] = { "down", "up" };

/* Set by SIGINT and SIGTERM, which end ct top between frames. */
static volatile sig_atomic_t stopping;

static void
stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* One cgroup's figures over the last interval. */
struct rates {
	double bits[2];		/* passed, per second */
	double drops[2];	/* packets dropped, per second */
};

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The sample of the same cgroup a frame ago, or NULL for one new since;
 * most often at the same place, the registry keeping its order. */
static const struct sample *
before(const struct sample *prev, size_t n, size_t at, uint64_t id)
{
	if (at < n && prev[at].id == id)
		return &prev[at];
	for (size_t i = 0; i < n; i++)
		if (prev[i].id == id)
			return &prev[i];
	return NULL;
}

static struct rates
rates_of(const struct sample *now, const struct sample *then, double dt)
{
	struct rates r;

	memset(&r, 0, sizeof(r));
	for (int d = 0; then != NULL && dt > 0 && d < 2; d++) {
		r.bits[d] = (now->stats[d].passed_bytes -
		    then->stats[d].passed_bytes) * 8.0 / dt;
		r.drops[d] = (now->stats[d].dropped_packets -
		    then->stats[d].dropped_packets) / dt;
	}
	return r;
}

static void
limit_text(const struct dir_limit *l, char *buf, size_t len)
{
	if (l->rate_bits == 0)
		snprintf(buf, len, "-");
	else
		rate_format(l->rate_bits, buf, len);
}

static void
print_text(const struct sample *s, size_t n, const struct sample *prev,
    size_t nprev, double dt, int tty)
{
	if (tty)
		fputs("\033[H\033[2J", stdout);
	printf("ct top: %zu limited cgroup%s, rates over the last %.1f s\n",
	    n, n == 1 ? "" : "s", dt);
	printf("%-40s %9s %9s %9s %9s %8s %5s\n", "CGROUP", "DOWN", "LIMIT",
	    "UP", "LIMIT", "DROPS/S", "PROCS");
	for (size_t i = 0; i < n; i++) {
		struct rates r = rates_of(&s[i], before(prev, nprev, i, s[i].id),
		    dt);
		char now[2][16], lim[2][16];

		for (int d = 0; d < 2; d++) {
			rate_human(r.bits[d], now[d], sizeof(now[d]));
			limit_text(&s[i].lim.dir[d], lim[d], sizeof(lim[d]));
		}
		printf("%-40s %9s %9s %9s %9s %8.0f %5d%s\n", s[i].path,
		    now[0], lim[0], now[1], lim[1], r.drops[0] + r.drops[1],
		    s[i].nprocs, s[i].attached ? "" : "  NOT ATTACHED");
	}
}

static void
print_json(const struct sample *s, size_t n, const struct sample *prev,
    size_t nprev, double dt)
{
	printf("{\"interval\":%.3f,\"cgroups\":[", dt);
	for (size_t i = 0; i < n; i++) {
		struct rates r = rates_of(&s[i], before(prev, nprev, i, s[i].id),
		    dt);

		printf("%s{\"path\":", i ? "," : "");
		json_string("", s[i].path, stdout);
		printf(",\"id\":%" PRIu64 ",\"attached\":%s,\"processes\":%d",
		    s[i].id, s[i].attached ? "true" : "false", s[i].nprocs);
		for (int d = 0; d < 2; d++)
			printf(",\"%s\":{\"limit_bits\":%" PRIu64
			    ",\"bits_per_second\":%.0f,\"drops_per_second\":"
			    "%.1f,\"passed_bytes\":%" PRIu64 "}", dir_names[d],
			    s[i].lim.dir[d].rate_bits, r.bits[d], r.drops[d],
			    s[i].stats[d].passed_bytes);
		printf("}");
	}
	printf("]}\n");
}

/* Sleep for the interval; 0 when SIGINT or SIGTERM came meanwhile. */
static int
pause_for(double seconds)
{
	struct timespec ts;

	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (!stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return !stopping;
}

static void
catch_stops(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed stdout ends ct top through a failed write, not a signal. */
	signal(SIGPIPE, SIG_IGN);
}

int
top_run(const struct top_opts *o, struct notes *n,
    void (*say)(struct notes *n), struct err *e)
{
	struct sample *prev = NULL, *cur = NULL;
	size_t nprev = 0, ncur = 0;
	double then, now;
	int tty = isatty(STDOUT_FILENO) && !o->json, r = 0;

	catch_stops();
	if (ops_sample(&prev, &nprev, n, e) < 0)
		return -1;
	then = now_seconds();
	for (long frame = 0; o->count == 0 || frame < o->count; frame++) {
		say(n);
		if (!pause_for(o->interval))
			break;
		if (ops_sample(&cur, &ncur, n, e) < 0) {
			r = -1;
			break;
		}
		now = now_seconds();
		if (o->json)
			print_json(cur, ncur, prev, nprev, now - then);
		else
			print_text(cur, ncur, prev, nprev, now - then, tty);
		samples_free(prev, nprev);
		prev = cur;
		nprev = ncur;
		cur = NULL;
		then = now;
		if (fflush(stdout) == EOF)
			break;	/* whoever read stdout has gone */
	}
	samples_free(prev, nprev);
	return r;
}
