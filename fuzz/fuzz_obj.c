/*
 * The embedded-ELF reader on arbitrary bytes: obj_open, then what
 * limiter.c asks of it, the two programs with their map references
 * resolved and the license.  The blob is trusted, but a reader that
 * checks every offset should not need it to be.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "obj.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static volatile size_t sink;

/* The two programs, and two sections that must be refused as programs. */
static const char *const sections[] = {
	"cgroup_skb/ingress", "cgroup_skb/egress", "license", "maps"
};

static const struct obj_map maps[] = {
	{ "ct_conf", 3 }, { "ct_bucket", 4 }
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct obj_prog p;
	struct obj o;
	struct err e;
	const char *lic;
	void *buf;

	/*
	 * obj.c reads headers in place, relying on the blob's .balign 8;
	 * libFuzzer's data has no such promise, malloc's has.  Exactly size
	 * bytes, so that ASan sees a read past the end.
	 */
	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	if (obj_open(&o, buf, size, &e) == 0) {
		for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]);
		    i++) {
			p.insns = NULL;
			p.cnt = 0;
			if (obj_prog(&o, sections[i], maps, 2, &p, &e) == 0 &&
			    (p.insns == NULL || p.cnt == 0))
				abort();
			free(p.insns);
		}
		/* Read it whole, as the kernel will. */
		if ((lic = obj_license(&o, &e)) != NULL)
			sink = strlen(lic);
	}
	free(buf);
	return 0;
}
