/*
 * The registry: everything needed to undo what ct did, kept in /run/ct
 * because ct exits and the kernel's objects do not.  It is written when an
 * attachment is made, so that removing it never depends on the process still
 * being there.  registry.c knows the file, its lock and how it is replaced
 * whole; regentry.c the entries in memory; regtext.c their text.  None makes
 * a bpf or cgroup call.
 */
#ifndef CT_REGISTRY_H
#define CT_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "limit.h"
#include "policy.h"

#define REGISTRY_DIR POLICY_RUN_DIR
#define REGISTRY_FILE "registry"

/* A limited process: pid and start time together name it for good. */
struct reg_pid {
	pid_t pid;
	uint64_t start;
};

/* Whom a limit belongs to, and so when it goes. */
enum reg_owner {
	OWNER_PIDS,	/* its limited processes: it goes with the last one */
	OWNER_CGROUP,	/* the cgroup (limit --cgroup): until unlimit --cgroup */
	OWNER_RUN,	/* a ct run: it goes when its cgroup has emptied */
};

struct reg_cgroup {
	uint64_t id;
	enum reg_owner owner;
	int borrowed;		/* path, pins and origin lie in r->strings */
	char *path;		/* relative to the cgroup2 mount */
	char *pins;		/* directory of the pinned programs and maps */
	char *origin;		/* for --isolate: where the process came from */
	struct limits lim;
	struct reg_pid *pids;
	size_t npids;
	size_t pidcap;		/* room in pids; 0: they lie in the pool */
	/*
	 * Where its lines lie in the text read, while it is as it was read:
	 * it is written again as those lines, not formatted anew, so that a
	 * command that changes one entry formats one.  len is 0 for an entry
	 * made or changed since (registry_changed).
	 */
	size_t off, len;
};

struct registry {
	struct reg_cgroup *cg;
	size_t ncg;
	size_t cap;		/* room in cg */
	char *text;		/* the file as read, untouched */
	char *strings;		/* the paths read, which entries point into */
	struct reg_pid *pool;	/* the pids read, which entries point into */
};

/* The open, locked registry directory. */
struct regfile {
	int dir_fd;
	int lock_fd;
};

/*
 * Lock the registry; every change happens under this lock.  With create the
 * directory is made if missing; without it a missing directory gives 0 and
 * rf->dir_fd == -1: there is nothing ct has done.
 */
int registry_lock(struct regfile *rf, int create, struct err *e);
void registry_unlock(struct regfile *rf);
int registry_load(struct regfile *rf, struct registry *r, struct err *e);
int registry_save(struct regfile *rf, const struct registry *r,
    struct err *e);
/*
 * The cgroup --isolate is about to make, kept until it carries ct's mark
 * (NULL forgets it), so that a ct killed in between leaves its name behind.
 * registry_making gives that name, or "" when there is none.
 */
int registry_set_making(struct regfile *rf, const char *abs, struct err *e);
void registry_making(struct regfile *rf, char *abs, size_t len);

/*
 * A mark kept while a command changes what the kernel holds: a ct that finds
 * it set knows that the one before died midway, and that the kernel may hold
 * limits the registry does not say (see nest_settle).
 */
int registry_set_unsettled(struct regfile *rf, int on, struct err *e);
int registry_unsettled(struct regfile *rf);

/* Remove the registry, its lock and its directory, still holding the lock. */
int registry_destroy(struct regfile *rf, struct err *e);

int registry_parse(const char *text, size_t len, struct registry *r,
    struct err *e);
/*
 * The same on malloc'd text, NUL at text[len], which the registry then owns
 * (and frees, also on failure), with no copy: the lines of the entries no
 * command changes are written back from it as they are.
 */
int registry_parse_owned(char *text, size_t len, struct registry *r,
    struct err *e);
/* The file's text, malloc'd; NULL when out of memory. */
char *registry_format(const struct registry *r);
/*
 * The same text, handed to sink in pieces, so that the lines of entries
 * still as read go out from the text read, not from a copy of them all;
 * -1 when out of memory or when sink gave -1.
 */
int registry_write(const struct registry *r,
    int (*sink)(void *arg, const char *s, size_t n), void *arg);

struct reg_cgroup *registry_find(struct registry *r, uint64_t id);
/* A new entry at the end, zeroed; NULL when out of memory. */
struct reg_cgroup *registry_append(struct registry *r);
struct reg_cgroup *registry_add(struct registry *r, uint64_t id,
    const char *path, const char *pins, const char *origin);
void registry_drop(struct registry *r, struct reg_cgroup *c);
/* An entry's limits or owner were changed: it is written anew.  (The
 * functions here that change an entry say so themselves.) */
void registry_changed(struct reg_cgroup *c);
int registry_add_pid(struct reg_cgroup *c, pid_t pid, uint64_t start);
void registry_drop_pid(struct reg_cgroup *c, size_t i);
void registry_free(struct registry *r);

#endif
