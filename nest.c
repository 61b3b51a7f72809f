/* Limited cgroups inside limited cgroups: see nest.h. */
#include <string.h>

#include "nest.h"

/* The depth of a cgroup below the cgroup2 root: "/" is 0, "/a/b" is 2. */
static uint32_t
level_of(const char *rel)
{
	uint32_t n = 0;

	for (; *rel != '\0'; rel++)
		if (*rel == '/' && rel[1] != '\0')
			n++;
	return n;
}

/*
 * Whether path is strictly below parent.  Asked of every limited cgroup
 * against the one a command changes: a byte at a time up to the first
 * difference, without measuring either string first.
 */
static int
is_below(const char *path, const char *parent)
{
	size_t n;

	if (strcmp(parent, "/") == 0)
		return strcmp(path, "/") != 0;
	for (n = 0; parent[n] != '\0'; n++)
		if (path[n] != parent[n])
			return 0;
	return path[n] == '/';
}

void
nest_conf(const struct registry *r, const struct reg_cgroup *rc,
    struct limiter_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->lim = rc->lim;
	for (size_t j = 0; j < r->ncg; j++) {
		const struct reg_cgroup *in = &r->cg[j];

		if (conf->ninner == LIMITER_MAX_INNER)
			break;
		if (!is_below(in->path, rc->path))
			continue;
		conf->inner[conf->ninner].id = in->id;
		conf->inner[conf->ninner].level = level_of(in->path);
		conf->ninner++;
	}
}

/* Whether a cgroup whose limit came or went lies below rc's. */
static int
above_change(const struct txn *t, const struct reg_cgroup *rc)
{
	for (size_t i = 0; i < t->nchanged; i++)
		if (is_below(t->changed[i], rc->path))
			return 1;
	return 0;
}

void
nest_settle(struct txn *t)
{
	for (size_t i = 0; i < t->reg.ncg; i++) {
		struct reg_cgroup *rc = &t->reg.cg[i];
		struct limiter_conf conf;
		struct err e;

		if (!t->resync && !above_change(t, rc))
			continue;
		nest_conf(&t->reg, rc, &conf);
		if (limiter_update(rc->pins, &conf, &e) < 0)
			note(t->notes, NOTE_WARNING, "%s", e.msg);
	}
	t->resync = 0;
}
