/*
 * ct status: each limited cgroup with its limits, its counters, its
 * processes and whether the kernel really holds its programs, as text for
 * people or as one JSON document.
 */
#ifndef CT_STATUS_H
#define CT_STATUS_H

#include <stdio.h>

#include "txn.h"

enum status_format { STATUS_TEXT, STATUS_JSON };

/* Print the transaction's entries, asking the kernel about each. */
void status_print(struct txn *t, enum status_format fmt, FILE *out);

#endif
