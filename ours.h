/*
 * ct's kernel objects: what its programs and maps are called, where each is
 * pinned in a limited cgroup's pin directory, and how ct tells them from
 * anyone else's.  A program is ct's only if its type, its name and both of
 * its maps are ct's; a map only if its name, type and sizes are.
 */
#ifndef CT_OURS_H
#define CT_OURS_H

#include <linux/bpf.h>
#include <stdint.h>

#include "err.h"

#define OURS_CONF_NAME "ct_conf"
#define OURS_BUCKET_NAME "ct_bucket"

/* ct's programs, as indexes of ours_progs; the first two are CT_DOWN and
 * CT_UP, the cgroup_skb program of each direction. */
#define OURS_INGRESS 0
#define OURS_EGRESS 1
#define OURS_SOCKOPS 2
#define OURS_NPROGS 3

/* One of ct's programs, and the bucket map it uses. */
struct ours_prog {
	const char *prog_name;		/* as bpftool shows it */
	const char *section;		/* in bpf_prog.c */
	const char *pin;		/* the program's pin */
	enum bpf_prog_type prog_type;
	enum bpf_attach_type type;
	int bucket;			/* CT_DOWN or CT_UP */
};

extern const struct ours_prog ours_progs[OURS_NPROGS];
extern const char *const ours_bucket_pins[2];	/* CT_DOWN, CT_UP */
extern const char ours_conf_pin[];

/* A program's id and the ids of its two maps. */
struct prog_ids {
	uint32_t id;
	uint32_t maps[2];
};

/*
 * Whether prog_fd has the type and name of ct's program prog (OURS_*) and two
 * maps; if so, its ids.  Half the judgement: the maps must be ct's too.
 */
int ours_prog_looks(int prog_fd, int prog, struct prog_ids *ids);
/* Whether the maps of these ids are one limit map and one bucket of ct's. */
int ours_prog_maps(const struct prog_ids *ids);
/* Both halves. */
int ours_prog(int prog_fd, int prog);

/*
 * A limited cgroup's pin directory: its path, and a descriptor of it (or -1)
 * that the pins are opened relative to, one lookup each instead of a walk
 * from the root; with many cgroups limited, those walks were a fifth of
 * what ct status cost.
 */
struct pindir {
	const char *path;
	int fd;
};

void ours_pindir_open(struct pindir *d, const char *path);
void ours_pindir_close(struct pindir *d);

/*
 * The program, limit map or bucket map pinned in d, opened into *fd if it
 * is ct's; *fd is -1 when there is no such pin.  A pin that holds something
 * else is an error, and ct neither uses nor removes it.  A map's id goes to
 * *id unless id is NULL.
 */
int ours_open_prog(const struct pindir *d, int prog, int *fd,
    struct err *e);
/* The object pinned as name in d, whatever it is; -1 in *fd for none. */
int ours_open_pin(const struct pindir *d, const char *name, int *fd,
    struct err *e);
int ours_open_conf(const struct pindir *d, int *fd, uint32_t *id,
    struct err *e);
int ours_open_bucket(const struct pindir *d, int dir, int *fd,
    uint32_t *id, struct err *e);
/* The path of pin name in pins. */
int ours_pin_path(char *buf, size_t len, const char *pins, const char *name,
    struct err *e);

#endif
