#include <linux/btf.h>
#include <stddef.h>
#include <string.h>

#include "btf.h"
#include "bucket.h"

/* The types, in id order: ids are positions, starting at 1. */
enum { ID_U32 = 1, ID_U64, ID_SPIN_LOCK, ID_BUCKET };

struct member {
	const char *name;
	uint32_t type;
	uint32_t offset;
};

#define MEMBER(field, type) \
	{ #field, type, offsetof(struct ct_bucket, field) }

static const struct member bucket_members[] = {
	MEMBER(lock, ID_SPIN_LOCK),
	MEMBER(pad, ID_U32),
	MEMBER(tokens_fp, ID_U64),
	MEMBER(last_ns, ID_U64),
	MEMBER(inner_ns, ID_U64),
	MEMBER(passed_bytes, ID_U64),
	MEMBER(passed_packets, ID_U64),
	MEMBER(dropped_bytes, ID_U64),
	MEMBER(dropped_packets, ID_U64),
};

#define NMEMBERS (sizeof(bucket_members) / sizeof(bucket_members[0]))

/* Types and strings are built side by side, then joined behind the header. */
struct builder {
	unsigned char types[768];
	size_t types_len;
	char strs[256];
	size_t strs_len;
};

static uint32_t
add_str(struct builder *b, const char *s)
{
	size_t off = b->strs_len, n = strlen(s) + 1;

	memcpy(b->strs + off, s, n);
	b->strs_len += n;
	return off;
}

static void
add_u32(struct builder *b, uint32_t v)
{
	memcpy(b->types + b->types_len, &v, sizeof(v));
	b->types_len += sizeof(v);
}

/* The layouts of btf_type.info and of an int's encoding word, from the BTF spec. */
static uint32_t
type_info(uint32_t kind, uint32_t vlen)
{
	return kind << 24 | vlen;
}

static void
add_type(struct builder *b, const char *name, uint32_t kind, uint32_t vlen,
    uint32_t size)
{
	add_u32(b, add_str(b, name));
	add_u32(b, type_info(kind, vlen));
	add_u32(b, size);
}

static void
add_int(struct builder *b, const char *name, uint32_t bytes)
{
	add_type(b, name, BTF_KIND_INT, 0, bytes);
	add_u32(b, bytes * 8);	/* unsigned, offset 0 */
}

static void
add_member(struct builder *b, const char *name, uint32_t type,
    uint32_t byte_off)
{
	add_u32(b, add_str(b, name));
	add_u32(b, type);
	add_u32(b, byte_off * 8);
}

void
btf_bucket(struct btf_blob *out)
{
	struct builder b = { .strs_len = 1 };	/* string 0 is "" */
	struct btf_header h;

	add_int(&b, "u32", 4);
	add_int(&b, "u64", 8);
	add_type(&b, "bpf_spin_lock", BTF_KIND_STRUCT, 1, 4);
	add_member(&b, "val", ID_U32, 0);
	add_type(&b, "ct_bucket", BTF_KIND_STRUCT, NMEMBERS,
	    sizeof(struct ct_bucket));
	for (size_t i = 0; i < NMEMBERS; i++)
		add_member(&b, bucket_members[i].name, bucket_members[i].type,
		    bucket_members[i].offset);

	memset(&h, 0, sizeof(h));
	h.magic = BTF_MAGIC;
	h.version = BTF_VERSION;
	h.hdr_len = sizeof(h);
	h.type_off = 0;
	h.type_len = b.types_len;
	h.str_off = b.types_len;
	h.str_len = b.strs_len;
	memcpy(out->data, &h, sizeof(h));
	memcpy(out->data + sizeof(h), b.types, b.types_len);
	memcpy(out->data + sizeof(h) + b.types_len, b.strs, b.strs_len);
	out->len = sizeof(h) + b.types_len + b.strs_len;
}
