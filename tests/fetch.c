/*
 * fetch: a static HTTP/1.0 client, for ct run's tests.  It gets one URL's
 * body from ADDR PORT PATH (IPv4 or IPv6, numeric) and prints
 * "<body bytes> <seconds> <bytes after the first second> <seconds after it>",
 * so that a test can judge the rate once the bucket's first burst is spent.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	double start, mark = 0, end;
	long long total = 0, at_mark = 0;
	char req[512], buf[65536];
	ssize_t n;
	int fd;

	if (argc != 4 || getaddrinfo(argv[1], argv[2], &hints, &ai) != 0)
		return fprintf(stderr, "usage: fetch ADDR PORT PATH\n"), 2;
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
		return perror("fetch: connect"), 1;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\n\r\n", argv[3]);
	if (write(fd, req, strlen(req)) < 0)
		return perror("fetch: write"), 1;
	start = now();
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		total += n;
		if (mark == 0 && now() - start >= 1.0) {
			mark = now();
			at_mark = total;
		}
	}
	end = now();
	if (n < 0 || mark == 0)
		return fprintf(stderr, "fetch: %s\n", n < 0 ? "read failed" :
		    "done within a second"), 1;
	printf("%lld %.3f %lld %.3f\n", total, end - start, total - at_mark,
	    end - mark);
	return 0;
}
