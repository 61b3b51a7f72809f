/* ct status, as text and as JSON: see status.h. */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "limiter.h"
#include "proc.h"
#include "cgroup.h"
#include "json.h"
#include "rate.h"
#include "status.h"

static const char *const dir_names[2] = { "down", "up" };
static const char *const owner_names[] = {
	[OWNER_PIDS] = "pids", [OWNER_CGROUP] = "cgroup", [OWNER_RUN] = "run",
};
/* What the text says of a limit that does not go with its processes. */
static const char *const owner_text[] = {
	[OWNER_PIDS] = "", [OWNER_CGROUP] = " cgroup's own", [OWNER_RUN] =
	    " ct run",
};

struct entry_status {
	const struct reg_cgroup *rc;
	struct limiter_view v;
	int attached;
	int unpinned;		/* ct's programs are attached, not the pinned */
	int failed;		/* the kernel could not be asked: see e */
	struct err e;
	char *alive;		/* for each pid, whether it is that process */
};

/* Ask the kernel about one entry; what to say of it is said later, in
 * order, by tell(). */
static void
collect(const struct txn *t, const struct reg_cgroup *rc,
    struct entry_status *es)
{
	struct err gone;
	char abs[4096];
	int fd = -1;

	/*
	 * Reconciling has just found this cgroup under its id: asking again
	 * would cost a call per entry, and a cgroup made anew under the same
	 * name in between is reported as it is, without ct's programs.
	 */
	if (txn_abs(t, rc->path, abs, sizeof(abs), &gone) == 0)
		fd = cgroup_open(abs, &gone);

	memset(es, 0, sizeof(*es));
	es->rc = rc;
	es->failed = limiter_inspect(fd, rc->pins, &es->v, &es->e) < 0;
	if (fd >= 0)
		close(fd);
	if (!es->v.have_stats)
		memset(es->v.stats, 0, sizeof(es->v.stats));
	/* What the kernel holds decides, pinned or not. */
	es->attached = limiter_running(&es->v);
	es->unpinned = es->attached && !limiter_complete(&es->v);
	es->alive = malloc(rc->npids ? rc->npids : 1);
	for (size_t p = 0; es->alive != NULL && p < rc->npids; p++)
		es->alive[p] = proc_is(rc->pids[p].pid, rc->pids[p].start);
}

static void
tell(struct txn *t, const struct entry_status *es)
{
	if (es->failed)
		note(t->notes, NOTE_WARNING, "%s", es->e.msg);
	if (es->unpinned)
		note(t->notes, NOTE_INFO, "cgroup %s has ct's programs "
		    "attached, but not the pinned ones; 'ct limit' or "
		    "'ct unlimit' repairs it", es->rc->path);
}

static int
is_alive(const struct entry_status *es, size_t p)
{
	return es->alive != NULL && es->alive[p];
}

/* A share of the entries, for one thread to collect. */
struct share {
	const struct txn *t;
	struct entry_status *es;
	size_t from, to;
};

static void *
collect_share(void *arg)
{
	struct share *s = arg;

	for (size_t i = s->from; i < s->to; i++)
		collect(s->t, &s->t->reg.cg[i], &s->es[i]);
	return NULL;
}

/*
 * Every entry, asked of the kernel: some twenty system calls each, so with
 * many entries a second thread takes half of them.
 */
static struct entry_status *
collect_all(struct txn *t)
{
	size_t n = t->reg.ncg;
	struct entry_status *es = calloc(n ? n : 1, sizeof(*es));
	struct share half[2] = { { t, es, 0, n / 2 }, { t, es, n / 2, n } };
	pthread_t other;
	int threaded;

	if (es == NULL)
		return NULL;
	threaded = n >= 64 &&
	    pthread_create(&other, NULL, collect_share, &half[1]) == 0;
	collect_share(&half[0]);
	if (threaded)
		pthread_join(other, NULL);
	else
		collect_share(&half[1]);
	for (size_t i = 0; i < n; i++)
		tell(t, &es[i]);
	return es;
}

static void
free_all(struct entry_status *es, size_t n)
{
	for (size_t i = 0; es != NULL && i < n; i++)
		free(es[i].alive);
	free(es);
}

static void
print_text(const struct entry_status *es, FILE *out)
{
	const struct reg_cgroup *rc = es->rc;
	char rate[32], burst[32];

	fprintf(out, "%s (id %" PRIu64 ")%s%s: %s\n", rc->path, rc->id,
	    rc->origin ? " isolated" : "", owner_text[rc->owner],
	    es->attached ? "attached" :
	    "NOT ATTACHED (the kernel does not hold ct's programs here)");
	for (int d = 0; d < 2; d++) {
		const struct dir_limit *l = &rc->lim.dir[d];
		const struct dir_stats *s = &es->v.stats[d];

		if (l->rate_bits == 0) {
			snprintf(rate, sizeof(rate), "unlimited");
			snprintf(burst, sizeof(burst), "-");
		} else {
			rate_format(l->rate_bits, rate, sizeof(rate));
			size_format(l->burst_bytes, burst, sizeof(burst));
		}
		fprintf(out, "  %-4s %-10s burst %-8s passed %" PRIu64
		    " bytes (%" PRIu64 " packets), dropped %" PRIu64
		    " bytes (%" PRIu64 " packets)", dir_names[d], rate, burst,
		    s->passed_bytes, s->passed_packets, s->dropped_bytes,
		    s->dropped_packets);
		if (d == CT_DOWN && s->windowed != 0)
			fprintf(out, ", %" PRIu64 " TCP windows set",
			    s->windowed);
		fprintf(out, "\n");
	}
	fprintf(out, "  pids:");
	for (size_t p = 0; p < rc->npids; p++)
		fprintf(out, " %d (%s)", (int)rc->pids[p].pid,
		    is_alive(es, p) ? "alive" : "exited");
	fprintf(out, "\n");
}

static void
print_json_entry(const struct entry_status *es, FILE *out)
{
	const struct reg_cgroup *rc = es->rc;

	fprintf(out, "{\"path\":");
	json_string("", rc->path, out);
	fprintf(out, ",\"id\":%" PRIu64 ",\"isolated\":%s,\"owner\":\"%s\""
	    ",\"attached\":%s", rc->id, rc->origin ? "true" : "false",
	    owner_names[rc->owner], es->attached ? "true" : "false");
	for (int d = 0; d < 2; d++) {
		const struct dir_stats *s = &es->v.stats[d];

		fprintf(out, ",\"%s\":{\"rate_bits\":%" PRIu64
		    ",\"burst_bytes\":%" PRIu64 ",\"passed_bytes\":%" PRIu64
		    ",\"passed_packets\":%" PRIu64 ",\"dropped_bytes\":%" PRIu64
		    ",\"dropped_packets\":%" PRIu64, dir_names[d],
		    rc->lim.dir[d].rate_bits, rc->lim.dir[d].burst_bytes,
		    s->passed_bytes, s->passed_packets, s->dropped_bytes,
		    s->dropped_packets);
		if (d == CT_DOWN)
			fprintf(out, ",\"windows_set\":%" PRIu64 "}",
			    s->windowed);
		else
			fprintf(out, "}");
	}
	fprintf(out, ",\"pids\":[");
	for (size_t p = 0; p < rc->npids; p++)
		fprintf(out, "%s{\"pid\":%d,\"start_time\":%" PRIu64
		    ",\"alive\":%s}", p ? "," : "", (int)rc->pids[p].pid,
		    rc->pids[p].start, is_alive(es, p) ? "true" : "false");
	fprintf(out, "]}");
}

int
status_print(struct txn *t, enum status_format fmt, FILE *out,
    struct err *e)
{
	struct entry_status *es = collect_all(t);

	if (es == NULL)
		return errf(e, "out of memory");
	if (fmt == STATUS_JSON)
		fprintf(out, "{\"version\":1,\"cgroups\":[");
	else if (t->reg.ncg == 0)
		fprintf(out, "no limits\n");
	for (size_t i = 0; i < t->reg.ncg; i++) {
		if (fmt == STATUS_JSON) {
			fprintf(out, i ? "," : "");
			print_json_entry(&es[i], out);
		} else {
			print_text(&es[i], out);
		}
	}
	free_all(es, t->reg.ncg);
	if (fmt != STATUS_JSON)
		return 0;
	fprintf(out, "],\"notes\":[");
	for (size_t i = 0; i < t->notes->n; i++) {
		fprintf(out, i ? "," : "");
		json_string(severity_prefix(t->notes->line[i].sev),
		    t->notes->line[i].text, out);
	}
	fprintf(out, "]}\n");
	return 0;
}

int
status_sample(struct txn *t, struct sample **out, size_t *n)
{
	struct sample *s = calloc(t->reg.ncg ? t->reg.ncg : 1, sizeof(*s));
	struct entry_status *es = s ? collect_all(t) : NULL;
	int r = 0;

	*out = s;
	*n = 0;
	if (es == NULL)
		r = -1;
	for (size_t i = 0; r == 0 && i < t->reg.ncg; i++) {
		const struct reg_cgroup *rc = &t->reg.cg[i];
		struct err ignored;
		char abs[4096];

		s[i].path = strdup(rc->path);
		if (s[i].path == NULL) {
			r = -1;
			break;
		}
		(*n)++;
		s[i].id = rc->id;
		s[i].lim = rc->lim;
		memcpy(s[i].stats, es[i].v.stats, sizeof(s[i].stats));
		s[i].attached = es[i].attached;
		if (txn_abs(t, rc->path, abs, sizeof(abs), &ignored) < 0 ||
		    cgroup_count_procs(abs, &s[i].nprocs, &ignored) < 0)
			s[i].nprocs = 0;
	}
	free_all(es, t->reg.ncg);
	return r;
}

void
samples_free(struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].path);
	free(s);
}
