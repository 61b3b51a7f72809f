/* ct status, as text and as JSON: see status.h. */
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include "limiter.h"
#include "proc.h"
#include "rate.h"
#include "status.h"

static const char *const dir_names[2] = { "down", "up" };

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

	fprintf(out, "%s (id %" PRIu64 ")%s: %s\n", rc->path, rc->id,
	    rc->origin ? " isolated" : "", es->attached ? "attached" :
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

/* The length of the valid UTF-8 sequence at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;
	uint32_t cp = s[0] & (0x3f >> (n - 1));

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and what lies past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * A JSON string.  Cgroup names are bytes, JSON text is UTF-8: a byte that is
 * not part of valid UTF-8 is written as \u00XX, the character of that value.
 */
static void
json_string(const char *prefix, const char *str, FILE *out)
{
	const unsigned char *s = (const unsigned char *)str;

	fputc('"', out);
	fputs(prefix, out);
	while (*s != '\0') {
		size_t n = *s >= 0x80 ? utf8_len(s) : 1;

		if (*s == '"' || *s == '\\')
			fprintf(out, "\\%c", *s);
		else if (*s < 0x20 || *s == 0x7f || n == 0)
			fprintf(out, "\\u%04x", *s);
		else
			fwrite(s, 1, n, out);
		s += n ? n : 1;
	}
	fputc('"', out);
}

static void
print_json_entry(const struct entry_status *es, FILE *out)
{
	const struct reg_cgroup *rc = es->rc;

	fprintf(out, "{\"path\":");
	json_string("", rc->path, out);
	fprintf(out, ",\"id\":%" PRIu64 ",\"isolated\":%s,\"attached\":%s",
	    rc->id, rc->origin ? "true" : "false",
	    es->attached ? "true" : "false");
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
