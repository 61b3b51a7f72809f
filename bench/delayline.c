/*
 * delayline: a path with a fixed one-way delay between two TUN devices,
 * for the benchmark's cells on a realistic RTT (no netem on the machines
 * it runs on).
 *
 *	delayline DEV1 DEV2 DELAY_US
 *
 * creates the TUN devices DEV1 and DEV2 (IFF_TUN, no packet information),
 * prints "ready" once both exist, and from then on writes every packet read
 * from one device to the other DELAY_US microseconds after it was read, in
 * the order read.  Whoever started it moves the devices into their network
 * namespaces and gives them addresses; they go away when delayline ends.
 * SIGTERM or SIGINT ends it, printing what it forwarded and dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/*
 * A slot holds one packet: with no offloads asked for, a TUN device hands
 * over packets of at most its MTU (1500 here), so 2048 bytes is room to
 * spare.  4096 slots a direction hold 49 ms of 1 Gbit/s in 1500-byte
 * packets, five times what a 10 ms delay keeps in flight at that rate.
 */
#define SLOT_BYTES	2048
#define QUEUE_SLOTS	4096
/* Packets read from one device before looking at the other again. */
#define READ_BATCH	64
/*
 * A TUN device drops what the kernel sends it beyond its transmit queue
 * (500 packets by default) while its reader is busy: at 1 Gbit/s that
 * happens within 6 ms of being late.
 */
#define TXQUEUE_LEN	4096

struct slot {
	uint64_t	due_ns;
	uint32_t	len;
	unsigned char	data[SLOT_BYTES];
};

/* One direction: packets read from `from`, waiting to be written to `to`. */
struct fifo {
	int		from, to;
	uint32_t	head, count;
	uint64_t	forwarded, dropped;
	struct slot	slots[QUEUE_SLOTS];
};

static struct fifo dirs[2];
static volatile sig_atomic_t stopping;

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int
set_txqueuelen(const char *name)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, name);
	ifr.ifr_qlen = TXQUEUE_LEN;
	r = ioctl(s, SIOCSIFTXQLEN, &ifr);
	close(s);
	return r;
}

static int
tun_open(const char *name)
{
	struct ifreq ifr;
	int fd;

	if (strlen(name) >= IFNAMSIZ) {
		fprintf(stderr, "delayline: %s: name too long\n", name);
		return -1;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		perror("delayline: /dev/net/tun");
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	strcpy(ifr.ifr_name, name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "delayline: TUNSETIFF %s: %s\n", name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (set_txqueuelen(name) < 0) {
		fprintf(stderr, "delayline: txqueuelen %s: %s\n", name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Read what the device has, up to a batch, each packet due delay from now. */
static void
fifo_read(struct fifo *q, uint64_t delay_ns)
{
	static unsigned char scratch[SLOT_BYTES];

	for (int i = 0; i < READ_BATCH; i++) {
		/* A full queue drops at its tail, as a router's would. */
		struct slot *s = q->count < QUEUE_SLOTS ?
		    &q->slots[(q->head + q->count) % QUEUE_SLOTS] : NULL;
		ssize_t n = read(q->from, s ? s->data : scratch, SLOT_BYTES);

		if (n <= 0)
			return;
		if (!s) {
			q->dropped++;
			continue;
		}
		s->len = (uint32_t)n;
		s->due_ns = now_ns() + delay_ns;
		q->count++;
	}
}

/* Write every packet whose time has come; the rest stay in order. */
static void
fifo_write_due(struct fifo *q, uint64_t now)
{
	while (q->count > 0 && q->slots[q->head].due_ns <= now) {
		struct slot *s = &q->slots[q->head];

		/* The device may be down or gone for a moment: then the
		 * packet is lost, as on a wire. */
		if (write(q->to, s->data, s->len) == (ssize_t)s->len)
			q->forwarded++;
		else
			q->dropped++;
		q->head = (q->head + 1) % QUEUE_SLOTS;
		q->count--;
	}
}

/* How long ppoll may sleep: until the next packet is due, or for ever. */
static struct timespec *
wait_for(struct timespec *ts, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (int d = 0; d < 2; d++)
		if (dirs[d].count > 0 &&
		    dirs[d].slots[dirs[d].head].due_ns < next)
			next = dirs[d].slots[dirs[d].head].due_ns;
	if (next == UINT64_MAX)
		return NULL;
	next = next > now ? next - now : 0;
	ts->tv_sec = (time_t)(next / 1000000000ULL);
	ts->tv_nsec = (long)(next % 1000000000ULL);
	return ts;
}

/*
 * SIGTERM and SIGINT are blocked except inside ppoll, so that a stop
 * request wakes the wait instead of landing between a check and a sleep.
 */
static int
signals_setup(sigset_t *during_wait)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigprocmask(SIG_BLOCK, &block, during_wait) < 0) {
		perror("delayline: signals");
		return -1;
	}
	sigdelset(during_wait, SIGTERM);
	sigdelset(during_wait, SIGINT);
	return 0;
}

static void
forward(uint64_t delay_ns, const sigset_t *during_wait)
{
	struct pollfd pfd[2] = {
		{ .fd = dirs[0].from, .events = POLLIN },
		{ .fd = dirs[1].from, .events = POLLIN },
	};
	struct timespec ts;

	while (!stopping) {
		uint64_t now = now_ns();

		for (int d = 0; d < 2; d++)
			fifo_write_due(&dirs[d], now);
		if (ppoll(pfd, 2, wait_for(&ts, now), during_wait) < 0) {
			if (errno == EINTR)
				continue;
			perror("delayline: ppoll");
			return;
		}
		for (int d = 0; d < 2; d++)
			if (pfd[d].revents & POLLIN)
				fifo_read(&dirs[d], delay_ns);
	}
}

int
main(int argc, char **argv)
{
	sigset_t during_wait;
	char *end;
	long long delay_us;
	int fd1, fd2;

	if (argc != 4) {
		fprintf(stderr, "usage: delayline DEV1 DEV2 DELAY_US\n");
		return 2;
	}
	delay_us = strtoll(argv[3], &end, 10);
	if (*argv[3] == '\0' || *end != '\0' || delay_us < 0 ||
	    delay_us > 10000000) {
		fprintf(stderr, "delayline: bad delay: %s\n", argv[3]);
		return 2;
	}
	if (signals_setup(&during_wait) < 0)
		return 1;
	/* The default timer slack of 50 us would blur the delay at speed. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	fd1 = tun_open(argv[1]);
	fd2 = fd1 < 0 ? -1 : tun_open(argv[2]);
	if (fd2 < 0)
		return 1;
	dirs[0].from = dirs[1].to = fd1;
	dirs[1].from = dirs[0].to = fd2;
	printf("ready\n");
	fflush(stdout);
	forward((uint64_t)delay_us * 1000, &during_wait);
	fprintf(stderr, "delayline: forwarded %llu, %llu; dropped %llu, %llu\n",
	    (unsigned long long)dirs[0].forwarded,
	    (unsigned long long)dirs[1].forwarded,
	    (unsigned long long)dirs[0].dropped,
	    (unsigned long long)dirs[1].dropped);
	close(fd1);
	close(fd2);
	return 0;
}
