# ct: one static binary, its BPF program built by clang and embedded in it.

CC       = musl-gcc
CLANG    = clang
MULTIARCH := $(shell gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
# musl brings no kernel headers: the uapi ones come from the system.
KHDRS    = -idirafter /usr/include -idirafter /usr/include/$(MULTIARCH)
CFLAGS   = -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror $(KHDRS)
LDFLAGS  = -static
BPFFLAGS = -O2 -target bpf -mcpu=v3 -Wall -Wextra -Werror -I/usr/include/$(MULTIARCH)

SRCS = ct.c bpf.c cgroup.c crash.c err.c isolate.c limiter.c mounts.c nest.c \
       obj.c ops.c ours.c policy.c proc.c rate.c registry.c regentry.c \
       regtext.c run.c status.c json.c top.c txn.c
OBJS = $(SRCS:.c=.o) obj_blob.o

PREFIX  ?= /usr/local
SBINDIR  = $(PREFIX)/sbin
MANDIR   = $(PREFIX)/share/man/man8
BASHDIR  = $(PREFIX)/share/bash-completion/completions
ZSHDIR   = $(PREFIX)/share/zsh/site-functions

all: ct

ct: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS)

%.o: %.c *.h
	$(CC) $(CFLAGS) -c -o $@ $<

bpf_prog.o: bpf_prog.c bucket.h
	$(CLANG) $(BPFFLAGS) -c -o $@ bpf_prog.c

obj_blob.o: obj_blob.S bpf_prog.o
	$(CC) -c -o $@ obj_blob.S

tests/rate_test: tests/rate_test.c rate.c rate.h err.c err.h
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ tests/rate_test.c rate.c err.c

# Install what building, testing and the demo need (Debian, Ubuntu).
deps:
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q make musl-tools \
	    gcc clang llvm libclang-rt-dev bats bpftool iperf3 iproute2 ethtool python3 valgrind \
	    nginx curl man-db trickle

test: ct tests/rate_test bench/progcost bench/delayline
	bats --tap tests/

demo: ct
	scripts/demo.sh

bench/progcost: bench/progcost.c bpf.c bpf.h
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ bench/progcost.c bpf.c

bench/delayline: bench/delayline.c
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ bench/delayline.c

# Accuracy and cost against the targets; slow, so not part of make test.
# Some sections only: make bench BENCH_ARGS="--only scale cost".
bench: ct bench/progcost bench/delayline
	python3 bench/bench.py $(BENCH_ARGS)

# DESTDIR and PREFIX are read here only, as GNU's and bpftool's makefiles do.
install: ct
	install -D -m 0755 ct $(DESTDIR)$(SBINDIR)/ct
	install -D -m 0644 ct.8 $(DESTDIR)$(MANDIR)/ct.8
	install -D -m 0644 completion/ct.bash $(DESTDIR)$(BASHDIR)/ct
	install -D -m 0644 completion/_ct $(DESTDIR)$(ZSHDIR)/_ct

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ct $(DESTDIR)$(MANDIR)/ct.8 \
	    $(DESTDIR)$(BASHDIR)/ct $(DESTDIR)$(ZSHDIR)/_ct

clean:
	rm -f ct *.o tests/rate_test bench/progcost bench/delayline

.PHONY: all deps test demo bench clean install uninstall

# ---- fuzzing and sanitizers: clang or gcc with glibc, not musl ----

HOSTCC_FLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -Wall -Wextra -Werror
SANITIZE     = -fsanitize=address,undefined -fno-sanitize-recover=all
# -iquote, not -I: the harnesses in fuzz/ need ct's headers, and -I. would
# also put them ahead of the system's for <...> includes.
FUZZFLAGS    = $(HOSTCC_FLAGS) -iquote . $(SANITIZE) -fsanitize=fuzzer
FUZZ_SECONDS ?= 60
FUZZERS      = rate size registry obj
FUZZ_BINS    = $(FUZZERS:%=fuzz/out/bin/fuzz_%)
SAN_ENV      = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:halt_on_error=1 \
	       UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The real object is the best seed the ELF reader can have.
FUZZ_RUN     = mkdir -p fuzz/out/corpus/obj && \
	       cp bpf_prog.o fuzz/out/corpus/obj/ && fuzz/run.sh

fuzz/out/bin/fuzz_rate fuzz/out/bin/fuzz_size: rate.c err.c fuzz/grammar.c fuzz/grammar.h
fuzz/out/bin/fuzz_registry: registry.c regentry.c regtext.c err.c
fuzz/out/bin/fuzz_obj: obj.c err.c
fuzz/out/bin/fuzz_%: fuzz/fuzz_%.c *.h
	@mkdir -p fuzz/out/bin
	$(CLANG) $(FUZZFLAGS) -o $@ $(filter %.c,$^)

fuzz: $(FUZZ_BINS) bpf_prog.o
	@$(FUZZ_RUN) $(FUZZ_SECONDS) $(FUZZERS)

fuzz-smoke: $(FUZZ_BINS) bpf_prog.o
	@$(FUZZ_RUN) 10 $(FUZZERS)

# Both link the embedded object through obj_blob.S, as ct does.
ct-asan: $(SRCS) obj_blob.S bpf_prog.o *.h
	$(CLANG) $(HOSTCC_FLAGS) $(SANITIZE) -DCT_CRASH_POINTS -o $@ \
	    $(SRCS) obj_blob.S

# valgrind's leak checker wants glibc's malloc, not a static musl binary.
ct-vg: $(SRCS) obj_blob.S bpf_prog.o *.h
	gcc $(HOSTCC_FLAGS) -o $@ $(SRCS) obj_blob.S

valgrind: ct-vg
	fuzz/valgrind.sh $(CURDIR)/ct-vg

# The whole suite again, against the ASan+UBSan build with crash points,
# and what needs those builds: crash safety, 64 invocations at once, the
# fuzz smoke and valgrind (tests/check).
check: ct-asan ct-vg tests/rate_test bench/progcost $(FUZZ_BINS) bpf_prog.o
	$(SAN_ENV) CT=$(CURDIR)/ct-asan CT_CRASH=$(CURDIR)/ct-asan \
	    bats --tap tests/ tests/check/

# The corpora in fuzz/out/corpus are kept: they took time to grow.
clean-san:
	rm -rf ct-asan ct-vg fuzz/out/bin fuzz/out/*.log

clean: clean-san

.PHONY: fuzz fuzz-smoke valgrind check clean-san
