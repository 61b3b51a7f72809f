/* The embedded BPF object, read as ELF: see obj.h. */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "obj.h"

#ifndef EM_BPF
#define EM_BPF 247
#endif

/* Every offset and size read from the file is checked before it is used. */
static int
in_bounds(const struct obj *o, uint64_t off, uint64_t len)
{
	return off <= o->size && len <= o->size - off;
}

static const Elf64_Ehdr *
ehdr(const struct obj *o)
{
	return (const Elf64_Ehdr *)o->data;
}

static const Elf64_Shdr *
shdr(const struct obj *o, size_t i)
{
	return (const Elf64_Shdr *)(o->data + ehdr(o)->e_shoff) + i;
}

int
obj_open(struct obj *o, const void *data, size_t size, struct err *e)
{
	const Elf64_Ehdr *h = data;

	o->data = data;
	o->size = size;
	if (size < sizeof(*h) || memcmp(h->e_ident, ELFMAG, SELFMAG) != 0 ||
	    h->e_ident[EI_CLASS] != ELFCLASS64 ||
	    h->e_ident[EI_DATA] != ELFDATA2LSB || h->e_machine != EM_BPF)
		return errf(e, "embedded BPF object is not a little-endian "
		    "ELF64 BPF object");
	if (h->e_shentsize != sizeof(Elf64_Shdr) || h->e_shoff % 8 != 0 ||
	    !in_bounds(o, h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf64_Shdr))
	    || h->e_shstrndx >= h->e_shnum)
		return errf(e, "embedded BPF object has a bad section table");
	for (size_t i = 0; i < h->e_shnum; i++) {
		const Elf64_Shdr *s = shdr(o, i);

		if (s->sh_type != SHT_NOBITS &&
		    !in_bounds(o, s->sh_offset, s->sh_size))
			return errf(e, "embedded BPF object: section %zu "
			    "lies outside the file", i);
		/* Symbols and relocations are read in place, as structs. */
		if ((s->sh_type == SHT_SYMTAB || s->sh_type == SHT_REL) &&
		    s->sh_offset % 8 != 0)
			return errf(e, "embedded BPF object: section %zu "
			    "is misaligned", i);
	}
	return 0;
}

/* A NUL-terminated string at off in string section strtab, or NULL. */
static const char *
string_at(const struct obj *o, size_t strtab, uint64_t off)
{
	const Elf64_Shdr *s;
	const char *base;

	if (strtab >= ehdr(o)->e_shnum)
		return NULL;
	s = shdr(o, strtab);
	if (s->sh_type != SHT_STRTAB || off >= s->sh_size)
		return NULL;
	base = (const char *)o->data + s->sh_offset;
	if (memchr(base + off, '\0', s->sh_size - off) == NULL)
		return NULL;
	return base + off;
}

static long
find_section(const struct obj *o, const char *name)
{
	for (size_t i = 1; i < ehdr(o)->e_shnum; i++) {
		const char *n = string_at(o, ehdr(o)->e_shstrndx,
		    shdr(o, i)->sh_name);

		if (n != NULL && strcmp(n, name) == 0)
			return i;
	}
	return -1;
}

/*
 * Point the ld_imm64 at byte offset off of the program into the map's value:
 * the program then reaches the map's one entry without a lookup call.  The
 * compiler left the offset into the variable in the first half's imm.
 */
static int
relocate(struct obj_prog *p, uint64_t off, int map_fd, struct err *e)
{
	struct bpf_insn *insn;

	if (off % sizeof(*insn) != 0 || off / sizeof(*insn) + 1 >= p->cnt)
		return errf(e, "embedded BPF object: relocation off the program");
	insn = &p->insns[off / sizeof(*insn)];
	if (insn->code != (BPF_LD | BPF_IMM | BPF_DW))
		return errf(e, "embedded BPF object: relocation of an "
		    "instruction that does not load a map");
	insn->src_reg = BPF_PSEUDO_MAP_VALUE;
	insn[1].imm = insn->imm;
	insn->imm = map_fd;
	return 0;
}

static const struct obj_map *
find_map(const struct obj_map *maps, size_t nmaps, const char *name)
{
	for (size_t i = 0; i < nmaps; i++)
		if (strcmp(maps[i].name, name) == 0)
			return &maps[i];
	return NULL;
}

static int
apply_relocations(const struct obj *o, size_t prog_sec,
    const struct obj_map *maps, size_t nmaps, struct obj_prog *p,
    struct err *e)
{
	for (size_t i = 1; i < ehdr(o)->e_shnum; i++) {
		const Elf64_Shdr *rs = shdr(o, i), *symtab;
		const Elf64_Rel *rel;

		if (rs->sh_type != SHT_REL || rs->sh_info != prog_sec)
			continue;
		if (rs->sh_link >= ehdr(o)->e_shnum ||
		    shdr(o, rs->sh_link)->sh_type != SHT_SYMTAB)
			return errf(e, "embedded BPF object: relocations "
			    "without a symbol table");
		symtab = shdr(o, rs->sh_link);
		rel = (const Elf64_Rel *)(o->data + rs->sh_offset);
		for (size_t r = 0; r < rs->sh_size / sizeof(*rel); r++) {
			uint64_t sym = ELF64_R_SYM(rel[r].r_info);
			const struct obj_map *map;
			const Elf64_Sym *s;
			const char *name;

			if (sym >= symtab->sh_size / sizeof(Elf64_Sym))
				return errf(e, "embedded BPF object: bad symbol");
			s = (const Elf64_Sym *)(o->data + symtab->sh_offset) + sym;
			name = string_at(o, symtab->sh_link, s->st_name);
			map = name ? find_map(maps, nmaps, name) : NULL;
			if (map == NULL)
				return errf(e, "embedded BPF object: reference to "
				    "'%s', which ct does not provide",
				    name ? name : "?");
			if (relocate(p, rel[r].r_offset, map->fd, e) < 0)
				return -1;
		}
	}
	return 0;
}

int
obj_prog(const struct obj *o, const char *section,
    const struct obj_map *maps, size_t nmaps, struct obj_prog *out,
    struct err *e)
{
	const Elf64_Shdr *s;
	long sec = find_section(o, section);

	if (sec < 0)
		return errf(e, "embedded BPF object has no section '%s'", section);
	s = shdr(o, sec);
	if (s->sh_type != SHT_PROGBITS || s->sh_size == 0 ||
	    s->sh_size % sizeof(struct bpf_insn) != 0)
		return errf(e, "embedded BPF object: section '%s' is not a "
		    "program", section);
	out->cnt = s->sh_size / sizeof(struct bpf_insn);
	out->insns = malloc(s->sh_size);
	if (out->insns == NULL)
		return errf(e, "out of memory");
	memcpy(out->insns, o->data + s->sh_offset, s->sh_size);
	if (apply_relocations(o, sec, maps, nmaps, out, e) < 0) {
		free(out->insns);
		out->insns = NULL;
		return -1;
	}
	return 0;
}

const char *
obj_license(const struct obj *o, struct err *e)
{
	const Elf64_Shdr *s;
	long sec = find_section(o, "license");

	if (sec < 0)
		return errf(e, "embedded BPF object has no license"), NULL;
	s = shdr(o, sec);
	if (s->sh_type != SHT_PROGBITS || s->sh_size == 0 ||
	    o->data[s->sh_offset + s->sh_size - 1] != '\0')
		return errf(e, "embedded BPF object: bad license"), NULL;
	return (const char *)o->data + s->sh_offset;
}
