/*
 * The BPF object that clang made of bpf_prog.c, embedded in ct, and the
 * little of ELF needed to take programs out of it: their instructions, their
 * references to maps (each pointed at a map ct made), and the license.
 */
#ifndef CT_OBJ_H
#define CT_OBJ_H

#include <linux/bpf.h>
#include <stddef.h>

#include "err.h"

/* Defined by obj_blob.S. */
extern const unsigned char ct_bpf_obj[];
extern const unsigned char ct_bpf_obj_end[];

struct obj {
	const unsigned char *data;
	size_t size;
};

/* A map the programs refer to by name, and the fd ct created for it. */
struct obj_map {
	const char *name;
	int fd;
};

struct obj_prog {
	struct bpf_insn *insns;	/* malloc'd */
	size_t cnt;
};

int obj_open(struct obj *o, const void *data, size_t size, struct err *e);
/* The program in section, every map reference pointed at its map's fd. */
int obj_prog(const struct obj *o, const char *section,
    const struct obj_map *maps, size_t nmaps, struct obj_prog *out,
    struct err *e);
const char *obj_license(const struct obj *o, struct err *e);

#endif
