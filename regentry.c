/* The registry's entries in memory: see registry.h. */
#include <stdlib.h>
#include <string.h>

#include "registry.h"

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
registry_append(struct registry *r)
{
	struct reg_cgroup *c;

	if (grow((void **)&r->cg, r->ncg, &r->cap, sizeof(*c)) < 0)
		return NULL;
	c = &r->cg[r->ncg++];
	memset(c, 0, sizeof(*c));
	return c;
}

struct reg_cgroup *
registry_add(struct registry *r, uint64_t id, const char *path,
    const char *pins, const char *origin)
{
	struct reg_cgroup *c = registry_append(r);

	if (c == NULL)
		return NULL;
	c->id = id;
	if (copy_strings(c, path, pins, origin) < 0) {
		r->ncg--;
		return NULL;
	}
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
	registry_changed(c);
	return 0;
}

void
registry_drop_pid(struct reg_cgroup *c, size_t i)
{
	memmove(&c->pids[i], &c->pids[i + 1],
	    (c->npids - i - 1) * sizeof(c->pids[0]));
	c->npids--;
	registry_changed(c);
}

void
registry_changed(struct reg_cgroup *c)
{
	c->len = 0;
}

void
registry_free(struct registry *r)
{
	for (size_t i = 0; i < r->ncg; i++)
		free_cgroup(&r->cg[i]);
	free(r->cg);
	free(r->text);
	free(r->strings);
	free(r->pool);
	r->cg = NULL;
	r->text = NULL;
	r->strings = NULL;
	r->pool = NULL;
	r->ncg = r->cap = 0;
}
