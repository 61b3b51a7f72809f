# ct: one static binary, its BPF program built by clang and embedded in it.

CC       = musl-gcc
CLANG    = clang
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
# musl brings no kernel headers: the uapi ones come from the system.
KHDRS    = -idirafter /usr/include -idirafter /usr/include/$(MULTIARCH)
CFLAGS   = -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror $(KHDRS)
LDFLAGS  = -static
BPFFLAGS = -O2 -target bpf -mcpu=v3 -Wall -Wextra -Werror -I/usr/include/$(MULTIARCH)

SRCS = ct.c bpf.c btf.c cgroup.c err.c limiter.c mounts.c obj.c proc.c rate.c registry.c
OBJS = $(SRCS:.c=.o) obj_blob.o

all: ct

ct: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS)

%.o: %.c *.h
	$(CC) $(CFLAGS) -c -o $@ $<

bpf_prog.o: bpf_prog.c bucket.h
	$(CLANG) $(BPFFLAGS) -c -o $@ bpf_prog.c

obj_blob.o: obj_blob.S bpf_prog.o
	$(CC) -c -o $@ obj_blob.S

tests/rate_test: tests/rate_test.c rate.c rate.h
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/rate_test.c rate.c

# Install what building, testing and the demo need (Debian, Ubuntu).
deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q make musl-tools \
	    clang llvm bats bpftool iperf3 iproute2 python3

test: ct tests/rate_test
	bats --tap tests/

demo: ct
	scripts/demo.sh

clean:
	rm -f ct *.o tests/rate_test

.PHONY: all deps test demo clean
