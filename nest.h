/*
 * Limited cgroups inside limited cgroups.  The kernel runs the programs of
 * every limited ancestor on a packet; each cgroup's programs are told which
 * limited cgroups lie below it, so that traffic that has passed an inner
 * limit goes first in the outer one.
 */
#ifndef CT_NEST_H
#define CT_NEST_H

#include "limiter.h"
#include "registry.h"
#include "txn.h"

/* What the programs of rc's cgroup are told: its limits and the limited
 * cgroups below it, in registry order, at most LIMITER_MAX_INNER. */
void nest_conf(const struct registry *r, const struct reg_cgroup *rc,
    struct limiter_conf *conf);
/*
 * Tell every limited cgroup above a cgroup whose limit came or went in this
 * transaction (txn_changed) which ones are below it now.  The others are
 * left alone, so a command costs the same however many limits there are;
 * after a ct that died midway (t->resync) every limit is written again.
 */
void nest_settle(struct txn *t);

#endif
