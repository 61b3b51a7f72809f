/* The registry's entries in memory, and their text: see registry.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proc.h"
#include "registry.h"

/*
 * The file, line by line:
 *
 *	ct-registry 1
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

/* ---- the entries ---- */

struct reg_cgroup *
registry_find(struct registry *r, uint64_t id)
{
	for (size_t i = 0; i < r->ncg; i++)
		if (r->cg[i].id == id)
			return &r->cg[i];
	return NULL;
}

/* path, pins and origin share one allocation, which path points to. */
static void
free_cgroup(struct reg_cgroup *c)
{
	if (!c->borrowed)
		free(c->path);
	if (c->pidcap > 0)
		free(c->pids);
}

/* Room for one more of n elements of size in *arr, whose room is *cap. */
static int
grow(void **arr, size_t n, size_t *cap, size_t size)
{
	size_t want = *cap ? *cap * 2 : 8;
	void *grown;

	if (n < *cap)
		return 0;
	grown = realloc(*arr, want * size);
	if (grown == NULL)
		return -1;
	*arr = grown;
	*cap = want;
	return 0;
}

/* The entry's strings, copied into one allocation. */
static int
copy_strings(struct reg_cgroup *c, const char *path, const char *pins,
    const char *origin)
{
	size_t lp = strlen(path) + 1, ln = strlen(pins) + 1;
	size_t lo = origin ? strlen(origin) + 1 : 0;
	char *block = malloc(lp + ln + lo);

	if (block == NULL)
		return -1;
	c->path = memcpy(block, path, lp);
	c->pins = memcpy(block + lp, pins, ln);
	c->origin = origin ? memcpy(block + lp + ln, origin, lo) : NULL;
	return 0;
}

struct reg_cgroup *
registry_add(struct registry *r, uint64_t id, const char *path,
    const char *pins, const char *origin)
{
	struct reg_cgroup *c;

	if (grow((void **)&r->cg, r->ncg, &r->cap, sizeof(*c)) < 0)
		return NULL;
	c = &r->cg[r->ncg];
	memset(c, 0, sizeof(*c));
	c->id = id;
	if (copy_strings(c, path, pins, origin) < 0)
		return NULL;
	r->ncg++;
	return c;
}

void
registry_drop(struct registry *r, struct reg_cgroup *c)
{
	size_t i = c - r->cg;

	free_cgroup(c);
	memmove(&r->cg[i], &r->cg[i + 1], (r->ncg - i - 1) * sizeof(*c));
	r->ncg--;
}

/* Pids read from the file lie in the registry's pool: a copy of one's own
 * before they grow. */
static int
own_pids(struct reg_cgroup *c)
{
	struct reg_pid *copy;

	if (c->pidcap > 0)
		return 0;
	if (c->npids == 0) {
		c->pids = NULL;		/* nothing to keep of the pool's */
		return 0;
	}
	copy = malloc(2 * c->npids * sizeof(*copy));
	if (copy == NULL)
		return -1;
	memcpy(copy, c->pids, c->npids * sizeof(*copy));
	c->pids = copy;
	c->pidcap = 2 * c->npids;
	return 0;
}

int
registry_add_pid(struct reg_cgroup *c, pid_t pid, uint64_t start)
{
	if (own_pids(c) < 0 || grow((void **)&c->pids, c->npids, &c->pidcap,
	    sizeof(c->pids[0])) < 0)
		return -1;
	c->pids[c->npids].pid = pid;
	c->pids[c->npids].start = start;
	c->npids++;
	return 0;
}

void
registry_drop_pid(struct reg_cgroup *c, size_t i)
{
	memmove(&c->pids[i], &c->pids[i + 1],
	    (c->npids - i - 1) * sizeof(c->pids[0]));
	c->npids--;
}

void
registry_free(struct registry *r)
{
	for (size_t i = 0; i < r->ncg; i++)
		free_cgroup(&r->cg[i]);
	free(r->cg);
	free(r->text);
	free(r->pool);
	free(r->raw);
	free(r->read);
	r->cg = NULL;
	r->text = NULL;
	r->pool = NULL;
	r->raw = NULL;
	r->read = NULL;
	r->ncg = r->cap = 0;
}

/* ---- the format ---- */

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

/*
 * Whether the entry is still as it was read: its strings where they were
 * (a new string is a new allocation), the same rates and owner, and its pids
 * still in the pool.  Pids there are only ever dropped, which makes them
 * fewer: as many at the same place are the same pids.
 */
static const struct reg_read *
as_read(const struct registry *r, const struct reg_cgroup *c)
{
	const struct reg_cgroup *was;

	if (c->read == 0 || r->raw == NULL)
		return NULL;
	was = &r->read[c->read - 1].as;
	return c->borrowed && c->id == was->id && c->owner == was->owner &&
	    c->path == was->path && c->pins == was->pins &&
	    c->origin == was->origin &&
	    memcmp(&c->lim, &was->lim, sizeof(c->lim)) == 0 &&
	    c->pidcap == 0 && c->npids == was->npids && c->pids == was->pids ?
	    &r->read[c->read - 1] : NULL;
}

/* The whole text into o. */
static void
put_registry(struct out *o, const struct registry *r)
{
	put_str(o, MAGIC " ");
	put_num(o, VERSION);
	put_str(o, "\n");
	for (size_t i = 0, from = 0, to = 0; i <= r->ncg; i++) {
		const struct reg_read *was = i < r->ncg ?
		    as_read(r, &r->cg[i]) : NULL;

		/*
		 * Its lines as read say the same, whatever their spacing; those
		 * of entries that follow each other in the text go as one.
		 */
		if (was != NULL && was->off == to && to > from) {
			to += was->len;
			continue;
		}
		if (to > from)
			put(o, r->raw + from, to - from);
		from = to = 0;
		if (was != NULL) {
			from = was->off;
			to = was->off + was->len;
		} else if (i < r->ncg) {
			put_entry(o, &r->cg[i]);
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

static int
hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode a %XX-escaped word in place; -1 when it is malformed. */
static int
get_path(char *s)
{
	char *w;

	if (*s == '\0')
		return -1;
	/* Up to the first escape, if any, each byte is already in place. */
	while (*s != '\0' && *s != '%')
		s++;
	for (w = s; *s != '\0'; s++) {
		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		if (hex(s[1]) < 0 || hex(s[2]) < 0 ||
		    hex(s[1]) * 16 + hex(s[2]) == 0)
			return -1;
		*w++ = (char)(hex(s[1]) * 16 + hex(s[2]));
		s += 2;
	}
	*w = '\0';
	return 0;
}

/* A decimal number no larger than max, and nothing else. */
static int
get_num(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		unsigned d = (unsigned char)*s - '0';

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
 * Split the line at s into at most max words, in place, its '\n' and the
 * spaces between words made NULs: how many in *n, or -1 for more.  The
 * next line, or NULL when the text ends before this one does.  One pass
 * over each byte: the whole registry is read by every command.
 */
static char *
split_line(char *s, char **w, int max, int *n)
{
	int k = 0;

	for (;;) {
		while (byte_class[(unsigned char)*s] == SPACE)
			*s++ = '\0';
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
		w[k++] = s;
		while (byte_class[(unsigned char)*s] == 0)
			s++;
	}
	*s = '\0';
	*n = k;
	return s + 1;
}

/* An entry being read: its words point into the text until it is added. */
struct pending {
	int open;
	uint64_t id;
	char *path, *pins, *origin;
	struct limits lim;
	enum reg_owner owner;
	int has_owner;
	struct reg_pid *pids;
	size_t npids, cap;
	size_t npool, poolcap;	/* pids taken from, and room in, r->pool */
	size_t off;		/* where its lines begin in the text */
	size_t readcap;		/* room in r->read */
};

/* Keep c as read, and where its lines lie, up to end, in the text. */
static void
note_read(struct registry *r, struct pending *p,
    struct reg_cgroup *c, size_t end)
{
	size_t k = (size_t)(c - r->cg);

	/* Every entry, not only as many as were counted: a registry written
	 * from what was read must read back as the same lines again. */
	if (r->raw == NULL || grow((void **)&r->read, k, &p->readcap,
	    sizeof(*r->read)) < 0 || k >= p->readcap)
		return;		/* formatted anew when written */
	c->read = k + 1;
	r->read[k].as = *c;
	r->read[k].off = p->off;
	r->read[k].len = end - p->off;
}

/* Add the entry read so far, whose lines end at end, to the registry. */
static int
flush(struct registry *r, struct pending *p, size_t end)
{
	struct reg_cgroup *c;

	if (!p->open)
		return 0;
	p->open = 0;
	if (p->pins == NULL ||
	    grow((void **)&r->cg, r->ncg, &r->cap, sizeof(*c)) < 0)
		return -1;
	/* Its words stay where they are, in the registry's text. */
	c = &r->cg[r->ncg++];
	memset(c, 0, sizeof(*c));
	c->id = p->id;
	c->path = p->path;
	c->pins = p->pins;
	c->origin = p->origin;
	c->borrowed = 1;
	c->lim = p->lim;
	c->owner = p->owner;
	if (p->npids == 0) {
		note_read(r, p, c, end);
		return 0;
	}
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
	note_read(r, p, c, end);
	return 0;
}

static int
parse_cgroup(struct registry *r, struct pending *p, char **w, int n,
    size_t off)
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
	p->readcap = kept.readcap;
	p->off = off;
	if (n != 3 || get_num(w[1], UINT64_MAX, &p->id) < 0 ||
	    get_path(w[2]) < 0 || w[2][0] != '/')
		return -1;
	p->path = w[2];
	p->open = 1;
	return 0;
}

static int
parse_owner(struct pending *p, const char *word)
{
	if (p->has_owner)
		return -1;
	p->has_owner = 1;
	if (strcmp(word, owner_names[OWNER_CGROUP]) == 0)
		p->owner = OWNER_CGROUP;
	else if (strcmp(word, owner_names[OWNER_RUN]) == 0)
		p->owner = OWNER_RUN;
	else
		return -1;
	return 0;
}

static int
parse_pid(struct pending *p, const char *pid, const char *start)
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

/* A pins or origin line: a path, once. */
static int
parse_path(char **field, char **w, int n)
{
	if (n != 2 || get_path(w[1]) < 0 || w[1][0] != '/' || *field != NULL)
		return -1;
	*field = w[1];
	return 0;
}

static int
parse_rate(struct dir_limit *d, char **w, int n)
{
	if (n != 3 || get_num(w[1], UINT64_MAX, &d->rate_bits) < 0 ||
	    get_num(w[2], UINT64_MAX, &d->burst_bytes) < 0)
		return -1;
	return 0;
}

/* By the word's first byte, so that a line costs one or two comparisons. */
static int
parse_attr(struct pending *p, char **w, int n)
{
	const char *k = w[0];

	switch (k[0]) {
	case 'p':
		if (strcmp(k, "pid") == 0)
			return n == 3 ? parse_pid(p, w[1], w[2]) : -1;
		return strcmp(k, "pins") == 0 ? parse_path(&p->pins, w, n) : -1;
	case 'o':
		if (strcmp(k, "owner") == 0)
			return n == 2 ? parse_owner(p, w[1]) : -1;
		return strcmp(k, "origin") == 0 ?
		    parse_path(&p->origin, w, n) : -1;
	case 'd':
		return strcmp(k, "down") == 0 ?
		    parse_rate(&p->lim.dir[CT_DOWN], w, n) : -1;
	case 'u':
		return strcmp(k, "up") == 0 ?
		    parse_rate(&p->lim.dir[CT_UP], w, n) : -1;
	}
	return -1;
}

/* The line at line, and in *next the one after it: NULL, and nothing
 * parsed, when the text ends before the line does. */
static int
parse_line(struct registry *r, struct pending *p, char *line, char **next)
{
	int indented = line[0] == '\t' || line[0] == ' ';
	size_t off = (size_t)(line - r->text);
	char *w[4];
	int n;

	*next = split_line(line, w, 4, &n);
	if (*next == NULL)
		return 0;
	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	if (w[0][0] == 'c' && strcmp(w[0], "cgroup") == 0)
		return parse_cgroup(r, p, w, n, off);
	if (!p->open || !indented)
		return -1;
	return parse_attr(p, w, n);
}

static int
by_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Whether two entries name the same cgroup. */
static int
has_duplicates(const struct registry *r)
{
	uint64_t *ids = malloc((r->ncg ? r->ncg : 1) * sizeof(*ids));
	int dup = 0;

	if (ids == NULL)
		return 1;
	for (size_t i = 0; i < r->ncg; i++)
		ids[i] = r->cg[i].id;
	qsort(ids, r->ncg, sizeof(*ids), by_id);
	for (size_t i = 1; i < r->ncg && !dup; i++)
		dup = ids[i] == ids[i - 1];
	free(ids);
	return dup;
}

/* The first line, which ends in a newline; in *next the line after it. */
static int
parse_header(char *text, char **next, struct err *e)
{
	uint64_t version;
	char *w[2];
	int n;

	*next = split_line(text, w, 2, &n);
	if (*next == NULL || n != 2 || strcmp(w[0], MAGIC) != 0 ||
	    get_num(w[1], 1000000, &version) < 0)
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

static int
reserve(struct registry *r, struct pending *p, size_t n)
{
	r->cg = malloc(n * sizeof(*r->cg));
	if (r->cg == NULL)
		return -1;
	r->cap = n;
	/* Without room to keep them, entries are formatted anew. */
	r->read = r->raw != NULL ? malloc(n * sizeof(*r->read)) : NULL;
	p->readcap = r->read != NULL ? n : 0;
	return 0;
}

/* Every line of the text after the header, as entries of r. */
static int
parse_lines(char *next, struct registry *r, size_t len, struct err *e)
{
	size_t npids = pids_room(len);
	struct pending p;
	int lineno = 1, ret = 0;
	char *line;

	memset(&p, 0, sizeof(p));
	if (reserve(r, &p, entries_room(len)) < 0)
		return errf(e, "out of memory");
	r->pool = npids > 0 ? malloc(npids * sizeof(*r->pool)) : NULL;
	p.poolcap = r->pool != NULL ? npids : 0;
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

static int parse_text(char *text, size_t len, struct registry *r,
    struct err *e);

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
	return registry_parse_in_place(copy, len, r, e);
}

int
registry_parse_in_place(char *text, size_t len, struct registry *r,
    struct err *e)
{
	int ret;

	memset(r, 0, sizeof(*r));
	r->text = text;
	/* Parsing cuts the text into words: the lines as read, kept apart. */
	r->raw = malloc(len + 1);
	if (r->raw != NULL)
		memcpy(r->raw, text, len + 1);
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

/* The header, its first line, then the lines after it. */
static int
parse_text(char *text, size_t len, struct registry *r, struct err *e)
{
	char *next;
	int ret;

	ret = parse_header(text, &next, e);
	if (ret == 0)
		ret = parse_lines(next, r, len - (size_t)(next - text), e);
	if (ret == 0 && has_duplicates(r))
		ret = errf(e, "%s/%s names a cgroup twice", REGISTRY_DIR,
		    FILE_NAME);
	return ret;
}
