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
 *		origin <path>		(only for --isolate)
 *		pid <pid> <start time>	(one per limited process)
 *
 * Paths are written with %XX for '%', spaces, control and non-ASCII bytes,
 * so that every field is one word and any cgroup name survives.
 */
#define MAGIC "ct-registry"
#define VERSION 1
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

static void
free_cgroup(struct reg_cgroup *c)
{
	free(c->path);
	free(c->pins);
	free(c->origin);
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
	c->path = strdup(path);
	c->pins = strdup(pins);
	c->origin = origin ? strdup(origin) : NULL;
	if (c->path == NULL || c->pins == NULL || (origin && !c->origin)) {
		free_cgroup(c);
		return NULL;
	}
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

int
registry_add_pid(struct reg_cgroup *c, pid_t pid, uint64_t start)
{
	if (grow((void **)&c->pids, c->npids, &c->pidcap,
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
	r->cg = NULL;
	r->ncg = r->cap = 0;
}

/* ---- the format ---- */

static int
plain(unsigned char ch)
{
	return ch > ' ' && ch < 0x7f && ch != '%';
}

static void
put_path(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (plain((unsigned char)*s))
			fputc(*s, f);
		else
			fprintf(f, "%%%02X", (unsigned char)*s);
	}
}

char *
registry_format(const struct registry *r)
{
	static const char *const dir_names[2] = { "down", "up" };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	fprintf(f, "%s %d\n", MAGIC, VERSION);
	for (size_t i = 0; i < r->ncg; i++) {
		const struct reg_cgroup *c = &r->cg[i];

		fprintf(f, "cgroup %" PRIu64 " ", c->id);
		put_path(f, c->path);
		fputs("\n\tpins ", f);
		put_path(f, c->pins);
		fputc('\n', f);
		for (int d = 0; d < 2; d++)
			fprintf(f, "\t%s %" PRIu64 " %" PRIu64 "\n", dir_names[d],
			    c->lim.dir[d].rate_bits, c->lim.dir[d].burst_bytes);
		if (c->origin != NULL) {
			fputs("\torigin ", f);
			put_path(f, c->origin);
			fputc('\n', f);
		}
		for (size_t p = 0; p < c->npids; p++)
			fprintf(f, "\tpid %d %" PRIu64 "\n", (int)c->pids[p].pid,
			    c->pids[p].start);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
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
	char *w = s;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
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
		if (*s < '0' || *s > '9' || n > (max - (*s - '0')) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	*v = n;
	return 0;
}

/* Split line into at most max words; how many, or -1 for more. */
static int
split(char *line, char **w, int max)
{
	int n = 0;
	char *save, *tok;

	for (tok = strtok_r(line, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return -1;
		w[n++] = tok;
	}
	return n;
}

static int
parse_cgroup(struct registry *r, char **w, int n)
{
	uint64_t id;

	if (n != 3 || get_num(w[1], UINT64_MAX, &id) < 0 || get_path(w[2]) < 0
	    || w[2][0] != '/' || registry_find(r, id) != NULL)
		return -1;
	/* pins are filled in by their own line; "" until then. */
	return registry_add(r, id, w[2], "", NULL) ? 0 : -1;
}

static int
parse_attr(struct reg_cgroup *c, char **w, int n)
{
	uint64_t a, b;
	char **field;

	if (strcmp(w[0], "pins") == 0 || strcmp(w[0], "origin") == 0) {
		field = w[0][0] == 'p' ? &c->pins : &c->origin;
		if (n != 2 || get_path(w[1]) < 0 || w[1][0] != '/' ||
		    (*field != NULL && **field != '\0'))
			return -1;
		free(*field);
		*field = strdup(w[1]);
		return *field ? 0 : -1;
	}
	if (n != 3)
		return -1;
	if (strcmp(w[0], "down") == 0 || strcmp(w[0], "up") == 0) {
		struct dir_limit *d = &c->lim.dir[w[0][0] == 'd' ? CT_DOWN : CT_UP];

		if (get_num(w[1], UINT64_MAX, &d->rate_bits) < 0 ||
		    get_num(w[2], UINT64_MAX, &d->burst_bytes) < 0)
			return -1;
		return 0;
	}
	if (strcmp(w[0], "pid") == 0) {
		if (get_num(w[1], PID_MAX, &a) < 0 || a == 0 ||
		    get_num(w[2], UINT64_MAX, &b) < 0)
			return -1;
		return registry_add_pid(c, (pid_t)a, b);
	}
	return -1;
}

static int
parse_line(struct registry *r, char *line)
{
	char *w[4];
	int n = split(line, w, 4);

	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	if (strcmp(w[0], "cgroup") == 0)
		return parse_cgroup(r, w, n);
	if (r->ncg == 0 || (line[0] != '\t' && line[0] != ' '))
		return -1;
	return parse_attr(&r->cg[r->ncg - 1], w, n);
}

static int
parse_header(char *line, struct err *e)
{
	uint64_t version;
	char *w[3];

	if (split(line, w, 2) != 2 || strcmp(w[0], MAGIC) != 0 ||
	    get_num(w[1], 1000000, &version) < 0)
		return errf(e, "%s/%s is not a ct registry", REGISTRY_DIR,
		    FILE_NAME);
	if (version != VERSION)
		return errf(e, "%s/%s is of version %" PRIu64 ", and this ct "
		    "reads version %d", REGISTRY_DIR, FILE_NAME, version,
		    VERSION);
	return 0;
}

int
registry_parse(const char *text, size_t len, struct registry *r,
    struct err *e)
{
	char *copy, *line, *next;
	int lineno = 1, ret = 0;

	memset(r, 0, sizeof(*r));
	if (memchr(text, '\0', len) != NULL)
		return errf(e, "%s/%s holds a NUL byte", REGISTRY_DIR,
		    FILE_NAME);
	copy = strndup(text, len);
	if (copy == NULL)
		return errf(e, "out of memory");
	next = strchr(copy, '\n');
	if (next == NULL) {
		free(copy);
		return errf(e, "%s/%s is truncated or empty", REGISTRY_DIR,
		    FILE_NAME);
	}
	*next++ = '\0';
	ret = parse_header(copy, e);
	for (line = next; ret == 0 && *line != '\0'; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next == NULL) {
			ret = errf(e, "%s/%s is truncated at line %d",
			    REGISTRY_DIR, FILE_NAME, lineno);
			break;
		}
		*next++ = '\0';
		if (parse_line(r, line) < 0)
			ret = errf(e, "%s/%s: line %d is malformed",
			    REGISTRY_DIR, FILE_NAME, lineno);
	}
	for (size_t i = 0; ret == 0 && i < r->ncg; i++)
		if (r->cg[i].pins[0] == '\0')
			ret = errf(e, "%s/%s: cgroup %" PRIu64 " has no pins",
			    REGISTRY_DIR, FILE_NAME, r->cg[i].id);
	free(copy);
	if (ret < 0)
		registry_free(r);
	return ret;
}
