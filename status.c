/* ct status, as text and as JSON: see status.h. */
#include <inttypes.h>
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
};

static void
collect(struct txn *t, const struct reg_cgroup *rc, struct entry_status *es)
{
	struct err e, gone;
	int fd = txn_open_cgroup(t, rc, &gone);

	memset(es, 0, sizeof(*es));
	es->rc = rc;
	if (limiter_inspect(fd, rc->pins, &es->v, &e) < 0)
		note(t->notes, NOTE_WARNING, "%s", e.msg);
	if (fd >= 0)
		close(fd);
	if (!es->v.have_stats)
		memset(es->v.stats, 0, sizeof(es->v.stats));
	/* What the kernel holds decides, pinned or not. */
	es->attached = es->v.running[CT_DOWN] && es->v.running[CT_UP];
	if (es->attached && !(es->v.attached[CT_DOWN] &&
	    es->v.attached[CT_UP]))
		note(t->notes, NOTE_INFO, "cgroup %s has ct's programs "
		    "attached, but not the pinned ones; 'ct limit' or "
		    "'ct unlimit' repairs it", rc->path);
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
		    " bytes (%" PRIu64 " packets)\n", dir_names[d], rate, burst,
		    s->passed_bytes, s->passed_packets, s->dropped_bytes,
		    s->dropped_packets);
	}
	fprintf(out, "  pids:");
	for (size_t p = 0; p < rc->npids; p++)
		fprintf(out, " %d (%s)", (int)rc->pids[p].pid,
		    proc_is(rc->pids[p].pid, rc->pids[p].start) ? "alive" :
		    "exited");
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
		    ",\"dropped_packets\":%" PRIu64 "}", dir_names[d],
		    rc->lim.dir[d].rate_bits, rc->lim.dir[d].burst_bytes,
		    s->passed_bytes, s->passed_packets, s->dropped_bytes,
		    s->dropped_packets);
	}
	fprintf(out, ",\"pids\":[");
	for (size_t p = 0; p < rc->npids; p++)
		fprintf(out, "%s{\"pid\":%d,\"start_time\":%" PRIu64
		    ",\"alive\":%s}", p ? "," : "", (int)rc->pids[p].pid,
		    rc->pids[p].start, proc_is(rc->pids[p].pid,
		    rc->pids[p].start) ? "true" : "false");
	fprintf(out, "]}");
}

void
status_print(struct txn *t, enum status_format fmt, FILE *out)
{
	if (fmt == STATUS_JSON)
		fprintf(out, "{\"version\":1,\"cgroups\":[");
	else if (t->reg.ncg == 0)
		fprintf(out, "no limits\n");
	for (size_t i = 0; i < t->reg.ncg; i++) {
		struct entry_status es;

		collect(t, &t->reg.cg[i], &es);
		if (fmt == STATUS_JSON) {
			fprintf(out, i ? "," : "");
			print_json_entry(&es, out);
		} else {
			print_text(&es, out);
		}
	}
	if (fmt != STATUS_JSON)
		return;
	fprintf(out, "],\"notes\":[");
	for (size_t i = 0; i < t->notes->n; i++) {
		fprintf(out, i ? "," : "");
		json_string(severity_prefix(t->notes->line[i].sev),
		    t->notes->line[i].text, out);
	}
	fprintf(out, "]}\n");
}

int
status_sample(struct txn *t, struct sample **out, size_t *n)
{
	struct sample *s = calloc(t->reg.ncg ? t->reg.ncg : 1, sizeof(*s));

	*out = s;
	*n = 0;
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < t->reg.ncg; i++) {
		const struct reg_cgroup *rc = &t->reg.cg[i];
		struct entry_status es;
		struct err ignored;
		char abs[4096];

		collect(t, rc, &es);
		s[i].path = strdup(rc->path);
		if (s[i].path == NULL)
			return -1;
		(*n)++;
		s[i].id = rc->id;
		s[i].lim = rc->lim;
		memcpy(s[i].stats, es.v.stats, sizeof(s[i].stats));
		s[i].attached = es.attached;
		if (txn_abs(t, rc->path, abs, sizeof(abs), &ignored) < 0 ||
		    cgroup_count_procs(abs, &s[i].nprocs, &ignored) < 0)
			s[i].nprocs = 0;
	}
	return 0;
}

void
samples_free(struct sample *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].path);
	free(s);
}
