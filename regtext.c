/* The registry's text, written and read: see registry.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "registry.h"

/*
 * The file, line by line:
 *
 *	ct-registry 2
 *	cgroup <id> <path>
 *		pins <path>
 *		down <rate bits/s> <burst bytes>
 *		up <rate bits/s> <burst bytes>
 *		origin <path>		(only for --isolate and ct run)
 *		owner cgroup|run	(only for limit --cgroup and ct run)
 *		pid <pid> <start time>	(one per limited process)
 *
 * Version 1 had no owner lines; it is read as version 2 without them.
 * Paths are written with %XX for '%', spaces, control and non-ASCII bytes,
 * so that every field is one word and any cgroup name survives.
 */
#define MAGIC "ct-registry"
#define VERSION 2
#define FILE_NAME REGISTRY_FILE

/* ---- writing ---- */

static const char *const owner_names[] = {
	[OWNER_PIDS] = "pids", [OWNER_CGROUP] = "cgroup", [OWNER_RUN] = "run",
};

static int
plain(unsigned char ch)
{
	return ch > ' ' && ch < 0x7f && ch != '%';
}

/*
 * Text being written: one buffer, grown as needed; or, with a sink, a
 * small one handed to the sink whenever it fills.
 */
struct out {
	char *s;
	size_t len, cap;
	int failed;
	int (*sink)(void *arg, const char *s, size_t n);
	void *arg;
};

#define SINK_BUFFER (16 << 10)

/* Hand what the buffer holds to the sink. */
static void
drain(struct out *o)
{
	if (!o->failed && o->len > 0 && o->sink(o->arg, o->s, o->len) < 0)
		o->failed = 1;
	o->len = 0;
}

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->failed)
		return;
	if (o->sink != NULL && o->len + n + 1 > o->cap) {
		drain(o);
		/* More than the buffer holds: straight to the sink. */
		if (n + 1 > o->cap) {
			if (!o->failed && o->sink(o->arg, s, n) < 0)
				o->failed = 1;
			return;
		}
	}
	if (o->len + n + 1 > o->cap) {
		size_t cap = (o->len + n + 1) * 2;
		char *grown = realloc(o->s, cap);

		if (grown == NULL) {
			o->failed = 1;
			return;
		}
		o->s = grown;
		o->cap = cap;
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

static void
put_str(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put_num(struct out *o, uint64_t v)
{
	char digits[24], *p = digits + sizeof(digits);

	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	put(o, p, (size_t)(digits + sizeof(digits) - p));
}

static void
put_path(struct out *o, const char *s)
{
	static const char hexdigits[] = "0123456789ABCDEF";

	while (*s != '\0') {
		size_t n = 0;
		char esc[3];

		while (plain((unsigned char)s[n]))
			n++;
		put(o, s, n);
		s += n;
		if (*s == '\0')
			break;
		esc[0] = '%';
		esc[1] = hexdigits[(unsigned char)*s >> 4];
		esc[2] = hexdigits[(unsigned char)*s & 15];
		put(o, esc, 3);
		s++;
	}
}

/* One entry's lines. */
static void
put_entry(struct out *o, const struct reg_cgroup *c)
{
	static const char *const dir_names[2] = { "\tdown ", "\tup " };

	put_str(o, "cgroup ");
	put_num(o, c->id);
	put_str(o, " ");
	put_path(o, c->path);
	put_str(o, "\n\tpins ");
	put_path(o, c->pins);
	put_str(o, "\n");
	for (int d = 0; d < 2; d++) {
		put_str(o, dir_names[d]);
		put_num(o, c->lim.dir[d].rate_bits);
		put_str(o, " ");
		put_num(o, c->lim.dir[d].burst_bytes);
		put_str(o, "\n");
	}
	if (c->origin != NULL) {
		put_str(o, "\torigin ");
		put_path(o, c->origin);
		put_str(o, "\n");
	}
	if (c->owner != OWNER_PIDS) {
		put_str(o, "\towner ");
		put_str(o, owner_names[c->owner]);
		put_str(o, "\n");
	}
	for (size_t p = 0; p < c->npids; p++) {
		put_str(o, "\tpid ");
		put_num(o, (uint64_t)c->pids[p].pid);
		put_str(o, " ");
		put_num(o, c->pids[p].start);
		put_str(o, "\n");
	}
}

/* The whole text into o. */
static void
put_registry(struct out *o, const struct registry *r)
{
	put_str(o, MAGIC " ");
	put_num(o, VERSION);
	put_str(o, "\n");
	for (size_t i = 0, from = 0, to = 0; i <= r->ncg; i++) {
		const struct reg_cgroup *c = i < r->ncg ? &r->cg[i] : NULL;
		int was = c != NULL && c->len > 0;

		/*
		 * Its lines as read say the same, whatever their spacing; those
		 * of entries that follow each other in the text go as one.
		 */
		if (was && c->off == to && to > from) {
			to += c->len;
			continue;
		}
		if (to > from)
			put(o, r->text + from, to - from);
		from = to = 0;
		if (was) {
			from = c->off;
			to = c->off + c->len;
		} else if (c != NULL) {
			put_entry(o, c);
		}
	}
}

char *
registry_format(const struct registry *r)
{
	struct out o = { NULL, 0, 0, 0, NULL, NULL };

	/* About what an entry takes, so that the buffer seldom grows. */
	o.s = malloc(o.cap = 160 * r->ncg + 64);
	o.failed = o.s == NULL;
	put_registry(&o, r);
	if (o.failed) {
		free(o.s);
		return NULL;
	}
	return o.s;
}

int
registry_write(const struct registry *r,
    int (*sink)(void *arg, const char *s, size_t n), void *arg)
{
	struct out o = { NULL, 0, SINK_BUFFER, 0, sink, arg };

	o.s = malloc(o.cap);
	o.failed = o.s == NULL;
	put_registry(&o, r);
	drain(&o);
	free(o.s);
	return o.failed ? -1 : 0;
}

/* ---- reading ---- */

static int
hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A word of a line: where it starts in the text, and its length. */
struct word {
	const char *s;
	size_t n;
};

static int
is_word(const struct word *w, const char *s)
{
	return strlen(s) == w->n && memcmp(w->s, s, w->n) == 0;
}

/*
 * A %XX-escaped word, decoded into to and NUL-terminated: where the NUL
 * is, or NULL when the word is malformed.  The text itself stays as it
 * was read: it is what an entry no command changed is written back as.
 */
static char *
get_path(const struct word *w, char *to)
{
	const char *s = w->s, *end = w->s + w->n;

	for (; s < end; s++) {
		if (*s != '%') {
			*to++ = *s;
			continue;
		}
		if (end - s < 3 || hex(s[1]) < 0 || hex(s[2]) < 0 ||
		    hex(s[1]) * 16 + hex(s[2]) == 0)
			return NULL;
		*to++ = (char)(hex(s[1]) * 16 + hex(s[2]));
		s += 2;
	}
	*to = '\0';
	return to;
}

/* A decimal number no larger than max, and nothing else. */
static int
get_num(const struct word *w, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;

	for (size_t i = 0; i < w->n; i++) {
		unsigned d = (unsigned char)w->s[i] - '0';

		/* max / 10 and max % 10 are constants where this is inlined:
		 * no division for each digit. */
		if (d > 9 || (n >= max / 10 && (n > max / 10 || d > max % 10)))
			return -1;
		n = n * 10 + d;
	}
	*v = n;
	return 0;
}

/* What a byte is to split: a space between words, or the line's end. */
enum { SPACE = 1, END = 2 };
static const unsigned char byte_class[256] = {
	[' '] = SPACE, ['\t'] = SPACE, ['\n'] = END, ['\0'] = END,
};

/*
 * Split the line at s into at most max words: how many in *n, or -1 for
 * more.  The next line, or NULL when the text ends before this one does.
 * One pass over each byte: the whole registry is read by every command.
 */
static const char *
split_line(const char *s, struct word *w, int max, int *n)
{
	int k = 0;

	for (;;) {
		while (byte_class[(unsigned char)*s] == SPACE)
			s++;
		if (*s == '\0')
			return NULL;
		if (*s == '\n')
			break;
		if (k == max) {
			k = -1;
			s = strchr(s, '\n');
			if (s == NULL)
				return NULL;
			break;
		}
		w[k].s = s;
		while (byte_class[(unsigned char)*s] == 0)
			s++;
		w[k].n = (size_t)(s - w[k].s);
		k++;
	}
	*n = k;
	return s + 1;
}

/* An entry being read. */
struct pending {
	int open;
	uint64_t id;
	char *path, *pins, *origin;	/* in r->strings */
	struct limits lim;
	enum reg_owner owner;
	int has_owner;
	struct reg_pid *pids;
	size_t npids, cap;
	size_t npool, poolcap;	/* pids taken from, and room in, r->pool */
	size_t nstrings;	/* bytes taken from r->strings */
	size_t off;		/* where its lines begin in the text */
};

/* Add the entry read so far, whose lines end at end, to the registry. */
static int
flush(struct registry *r, struct pending *p, size_t end)
{
	struct reg_cgroup *c;

	if (!p->open)
		return 0;
	p->open = 0;
	if (p->pins == NULL || (c = registry_append(r)) == NULL)
		return -1;
	c->id = p->id;
	c->path = p->path;
	c->pins = p->pins;
	c->origin = p->origin;
	c->borrowed = 1;
	c->lim = p->lim;
	c->owner = p->owner;
	c->off = p->off;
	c->len = end - p->off;
	if (p->npids == 0)
		return 0;
	/* Into the pool while there is room, else into an array of its own. */
	if (r->pool != NULL && p->npool + p->npids <= p->poolcap) {
		c->pids = r->pool + p->npool;
		p->npool += p->npids;
	} else {
		c->pids = malloc(p->npids * sizeof(*c->pids));
		if (c->pids == NULL)
			return -1;
		c->pidcap = p->npids;
	}
	memcpy(c->pids, p->pids, p->npids * sizeof(*c->pids));
	c->npids = p->npids;
	return 0;
}

/* A path of the entry being read, into r->strings, once; -1 if not one. */
static int
take_path(struct registry *r, struct pending *p, const struct word *w,
    char **field)
{
	char *to = r->strings + p->nstrings, *end;

	if (*field != NULL || (end = get_path(w, to)) == NULL || *to != '/')
		return -1;
	*field = to;
	/* Decoding only shortens: the room is the text's length. */
	p->nstrings += (size_t)(end - to) + 1;
	return 0;
}

static int
parse_cgroup(struct registry *r, struct pending *p, const struct word *w,
    int n, size_t off)
{
	struct pending kept;

	if (flush(r, p, off) < 0)
		return -1;
	kept = *p;
	memset(p, 0, sizeof(*p));
	p->pids = kept.pids;
	p->cap = kept.cap;
	p->npool = kept.npool;
	p->poolcap = kept.poolcap;
	p->nstrings = kept.nstrings;
	p->off = off;
	if (n != 3 || get_num(&w[1], UINT64_MAX, &p->id) < 0 ||
	    take_path(r, p, &w[2], &p->path) < 0)
		return -1;
	p->open = 1;
	return 0;
}

static int
parse_owner(struct pending *p, const struct word *w)
{
	if (p->has_owner)
		return -1;
	p->has_owner = 1;
	if (is_word(w, owner_names[OWNER_CGROUP]))
		p->owner = OWNER_CGROUP;
	else if (is_word(w, owner_names[OWNER_RUN]))
		p->owner = OWNER_RUN;
	else
		return -1;
	return 0;
}

static int
parse_pid(struct pending *p, const struct word *pid,
    const struct word *start)
{
	uint64_t a, b;

	if (get_num(pid, PID_MAX, &a) < 0 || a == 0 ||
	    get_num(start, UINT64_MAX, &b) < 0)
		return -1;
	if (p->npids == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 8;
		struct reg_pid *grown = realloc(p->pids, cap * sizeof(*grown));

		if (grown == NULL)
			return -1;
		p->pids = grown;
		p->cap = cap;
	}
	p->pids[p->npids].pid = (pid_t)a;
	p->pids[p->npids].start = b;
	p->npids++;
	return 0;
}

static int
parse_rate(struct dir_limit *d, const struct word *w, int n)
{
	if (n != 3 || get_num(&w[1], UINT64_MAX, &d->rate_bits) < 0 ||
	    get_num(&w[2], UINT64_MAX, &d->burst_bytes) < 0)
		return -1;
	return 0;
}

/* By the word's first byte, so that a line costs one or two comparisons. */
static int
parse_attr(struct registry *r, struct pending *p, const struct word *w,
    int n)
{
	switch (w[0].s[0]) {
	case 'p':
		if (is_word(&w[0], "pid"))
			return n == 3 ? parse_pid(p, &w[1], &w[2]) : -1;
		return is_word(&w[0], "pins") && n == 2 ?
		    take_path(r, p, &w[1], &p->pins) : -1;
	case 'o':
		if (is_word(&w[0], "owner"))
			return n == 2 ? parse_owner(p, &w[1]) : -1;
		return is_word(&w[0], "origin") && n == 2 ?
		    take_path(r, p, &w[1], &p->origin) : -1;
	case 'd':
		return is_word(&w[0], "down") ?
		    parse_rate(&p->lim.dir[CT_DOWN], w, n) : -1;
	case 'u':
		return is_word(&w[0], "up") ?
		    parse_rate(&p->lim.dir[CT_UP], w, n) : -1;
	}
	return -1;
}

/* The line at line, and in *next the one after it: NULL, and nothing
 * parsed, when the text ends before the line does. */
static int
parse_line(struct registry *r, struct pending *p, const char *line,
    const char **next)
{
	int indented = line[0] == '\t' || line[0] == ' ';
	size_t off = (size_t)(line - r->text);
	struct word w[4];
	int n;

	*next = split_line(line, w, 4, &n);
	if (*next == NULL)
		return 0;
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	if (w[0].s[0] == 'c' && is_word(&w[0], "cgroup"))
		return parse_cgroup(r, p, w, n, off);
	if (!p->open || !indented)
		return -1;
	return parse_attr(r, p, w, n);
}

/* Whether two entries name the same cgroup: a set of their ids, open
 * addressing in a table of twice their number, one look for each. */
static int
has_duplicates(const struct registry *r)
{
	size_t nslots = 2, mask;
	uint64_t *slots;
	int dup = 0, zero = 0;

	while (nslots < 2 * r->ncg)
		nslots *= 2;
	mask = nslots - 1;
	slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return 1;
	for (size_t i = 0; i < r->ncg && !dup; i++) {
		uint64_t id = r->cg[i].id;
		size_t k = (size_t)(id * 0x9E3779B97F4A7C15ull >> 32) & mask;

		/* 0 marks a free slot: an id of 0 is counted apart. */
		if (id == 0) {
			dup = zero++;
			continue;
		}
		while (slots[k] != 0 && slots[k] != id)
			k = (k + 1) & mask;
		dup = slots[k] == id;
		slots[k] = id;
	}
	free(slots);
	return dup;
}

/* The first line, which ends in a newline; in *next the line after it. */
static int
parse_header(const char *text, const char **next, struct err *e)
{
	uint64_t version;
	struct word w[2];
	int n;

	*next = split_line(text, w, 2, &n);
	if (*next == NULL || n != 2 || !is_word(&w[0], MAGIC) ||
	    get_num(&w[1], 1000000, &version) < 0)
		return errf(e, "%s/%s is not a ct registry", REGISTRY_DIR,
		    FILE_NAME);
	if (version < 1 || version > VERSION)
		return errf(e, "%s/%s is of version %" PRIu64 ", and this ct "
		    "reads versions 1 to %d", REGISTRY_DIR, FILE_NAME, version,
		    VERSION);
	return 0;
}

/*
 * Room for the pids of a text of len bytes: as many as it has room for,
 * at the least 9 bytes to a line ("\tpid 1 2\n").  Counting them would be
 * a pass over the text of its own; the pages of the room they do not
 * take are never touched.
 */
static size_t
pids_room(size_t len)
{
	return len / 9;
}

/*
 * About as many entries as a text of len bytes holds: ct writes some 120
 * bytes to an entry.  Room for them at once, where growing one doubling at
 * a time would touch the pages of each size on the way.  More entries
 * than this still grow the room; the pages of room not taken are never
 * touched.
 */
static size_t
entries_room(size_t len)
{
	return len / 64 + 1;
}

/* Room for what the text's lines become; the strings' room is the
 * text's length, which their decoded bytes cannot exceed. */
static int
reserve(struct registry *r, struct pending *p, size_t len)
{
	size_t n = entries_room(len), npids = pids_room(len);

	r->cg = malloc(n * sizeof(*r->cg));
	r->strings = malloc(len + 1);
	if (r->cg == NULL || r->strings == NULL)
		return -1;
	r->cap = n;
	r->pool = npids > 0 ? malloc(npids * sizeof(*r->pool)) : NULL;
	p->poolcap = r->pool != NULL ? npids : 0;
	return 0;
}

/* Every line of the text after the header, as entries of r. */
static int
parse_lines(const char *next, struct registry *r, size_t len,
    struct err *e)
{
	int lineno = 1, ret = 0;
	struct pending p;
	const char *line;

	memset(&p, 0, sizeof(p));
	if (reserve(r, &p, len) < 0)
		return errf(e, "out of memory");
	for (line = next; ret == 0 && *line != '\0'; line = next) {
		lineno++;
		if (parse_line(r, &p, line, &next) < 0)
			ret = errf(e, "%s/%s: line %d is malformed",
			    REGISTRY_DIR, FILE_NAME, lineno);
		else if (next == NULL)
			ret = errf(e, "%s/%s is truncated at line %d",
			    REGISTRY_DIR, FILE_NAME, lineno);
	}
	if (ret == 0 && p.open && p.pins == NULL)
		ret = errf(e, "%s/%s: cgroup %" PRIu64 " has no pins",
		    REGISTRY_DIR, FILE_NAME, p.id);
	if (ret == 0 && flush(r, &p, (size_t)(line - r->text)) < 0)
		ret = errf(e, "out of memory");
	free(p.pids);
	return ret;
}

int
registry_parse(const char *text, size_t len, struct registry *r,
    struct err *e)
{
	char *copy = malloc(len + 1);

	memset(r, 0, sizeof(*r));
	if (copy == NULL)
		return errf(e, "out of memory");
	memcpy(copy, text, len);
	copy[len] = '\0';
	return registry_parse_owned(copy, len, r, e);
}

/* The header, its first line, then the lines after it. */
static int
parse_text(const char *text, size_t len, struct registry *r, struct err *e)
{
	const char *next;
	int ret;

	ret = parse_header(text, &next, e);
	if (ret == 0)
		ret = parse_lines(next, r, len, e);
	if (ret == 0 && has_duplicates(r))
		ret = errf(e, "%s/%s names a cgroup twice", REGISTRY_DIR,
		    FILE_NAME);
	return ret;
}

int
registry_parse_owned(char *text, size_t len, struct registry *r,
    struct err *e)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->text = text;
	if (memchr(text, '\0', len) != NULL)
		ret = errf(e, "%s/%s holds a NUL byte", REGISTRY_DIR,
		    FILE_NAME);
	else if (strchr(text, '\n') == NULL)
		ret = errf(e, "%s/%s is truncated or empty", REGISTRY_DIR,
		    FILE_NAME);
	else
		ret = parse_text(text, len, r, e);
	if (ret < 0)
		registry_free(r);
	return ret;
}
