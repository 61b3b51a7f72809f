/*
 * ct's own cgroups, made by --isolate: <cgroup>/ct-<pid>, created, marked as
 * ct's, filled with the process, and emptied and removed when the limit
 * goes.  A cgroup is only ever removed when it carries ct's mark.
 */
#ifndef CT_ISOLATE_H
#define CT_ISOLATE_H

#include <stddef.h>
#include <sys/types.h>

#include "registry.h"
#include "txn.h"

/*
 * The cgroup of ct's own that pid is to be limited in: the one it is in
 * already, after an earlier --isolate (or one that was cut short), else a
 * new one below its current cgroup, made here.  rel is the current cgroup
 * on entry and the chosen one on return; origin is where pid came from;
 * *move says whether pid still has to go there.
 */
int isolate_cgroup(struct txn *t, pid_t pid, char *rel, size_t len,
    char *origin, int *move, struct err *e);
/* Mark the cgroup that a ct killed during isolate_cgroup made, if any. */
void isolate_finish_making(struct txn *t);
/* Move the processes of the entry's cgroup back to where they came from
 * (to the root if that has gone) and remove it. */
int isolate_undo(struct txn *t, const struct reg_cgroup *rc, struct err *e);
/* The same for a cgroup whose limit could not be set: nothing to report. */
void isolate_roll_back(struct txn *t, const char *abs, const char *origin);
/* Empty a cgroup that carries ct's mark into its parent and remove it;
 * *removed says whether it was ct's. */
int isolate_remove_orphan(const char *abs, int *removed, struct err *e);

#endif
