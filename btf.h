/*
 * BTF, the kernel's type description, for the map value struct ct_bucket.
 * The kernel only lets a program take a bpf_spin_lock inside a map whose
 * value type it can see, and ct carries no compiler-made BTF, so it writes
 * the few types it needs by hand.
 */
#ifndef CT_BTF_H
#define CT_BTF_H

#include <stddef.h>
#include <stdint.h>

#define BTF_BUCKET_KEY_ID 1	/* u32 */
#define BTF_BUCKET_VALUE_ID 4	/* struct ct_bucket */

struct btf_blob {
	unsigned char data[1024];
	size_t len;
};

void btf_bucket(struct btf_blob *b);

#endif
