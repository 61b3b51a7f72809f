/*
 * One command's transaction: the registry locked and loaded, made to agree
 * with the kernel, and saved back if it changed.  Every command that reads
 * or changes what ct did works inside one, so that two ct's never see each
 * other's work half done.
 */
#ifndef CT_TXN_H
#define CT_TXN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "registry.h"

struct txn {
	char cgroot[256];	/* the cgroup2 mount */
	struct regfile rf;
	struct registry reg;
	struct notes *notes;	/* the command's, for what it finds */
	int dirty;		/* reg differs from the file */
	int resync;		/* a ct died midway: rewrite every limit */
	/* Paths of cgroups whose limit came or went in this transaction. */
	char **changed;
	size_t nchanged;
};

/*
 * Check that ct may act, find the cgroup2 mount and take the registry's
 * lock.  With create the registry's directory is made if missing.
 */
int txn_begin(struct txn *t, int create, struct notes *notes, struct err *e);
/* Read the registry, as it is. */
int txn_read(struct txn *t, struct err *e);
/*
 * Read the registry and drop the entries whose cgroup is gone (the kernel
 * detached their programs with it), removing their pins.  Costs one look at
 * each entry's cgroup, however many there are.  From here until txn_commit
 * the registry is marked unsettled, so that if this ct dies the next one
 * knows to rewrite every limit (t->resync).
 */
int txn_load(struct txn *t, struct err *e);
/* Write the registry back if it changed. */
int txn_save(struct txn *t, struct err *e);
/* Save, and clear the mark: what the kernel holds is what the registry says. */
int txn_commit(struct txn *t, struct err *e);
/* Unlock and free; the notes stay with their owner. */
void txn_end(struct txn *t);

/* The absolute path of a cgroup given relative to the cgroup2 mount. */
int txn_abs(const struct txn *t, const char *rel, char *abs, size_t len,
    struct err *e);
/* The entry's cgroup, opened, if it is still the one the entry was made for;
 * else -1. */
int txn_open_cgroup(const struct txn *t, const struct reg_cgroup *rc,
    struct err *e);
/* Forget an entry, remembering that the limit of its cgroup went. */
void txn_drop(struct txn *t, struct reg_cgroup *rc);
/* Remember that the limit of the cgroup at path came or went. */
void txn_changed(struct txn *t, const char *path);

#endif
