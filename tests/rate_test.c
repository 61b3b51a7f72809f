/* rate_test.c: table-driven tests for rate.c */
#include <stdio.h>
#include <string.h>

#include "../err.h"
#include "../rate.h"

#define T	1000000000000ULL
#define KI	1024ULL
#define MI	(KI * KI)
#define GI	(MI * KI)

/* Written for every ambiguous rate unit, with the user's number in place of 10. */
#define HINT(n)	"write " n "mbit for megabits or " n "mbps for megabytes per second"
/* The same hint for the prefix the ambiguous unit began with. */
#define HINTP(n, p, w) \
	"write " n p "bit for " w "bits or " n p "bps for " w "bytes per second"

struct pcase {
	char		 kind;		/* 'r' rate_parse, 's' size_parse */
	const char	*in;
	int		 ok;
	uint64_t	 want;		/* if ok */
	const char	*msg;		/* if !ok: substring of the error */
};

static const struct pcase pcases[] = {
	/* bits, SI, both cases */
	{ 'r', "1000", 1, 1000, NULL },
	{ 'r', "1000bit", 1, 1000, NULL },
	{ 'r', "1000BIT", 1, 1000, NULL },
	{ 'r', "1kbit", 1, 1000, NULL },
	{ 'r', "1KBIT", 1, 1000, NULL },
	{ 'r', "10mbit", 1, 10000000, NULL },
	{ 'r', "10Mbit", 1, 10000000, NULL },
	{ 'r', "01mbit", 1, 1000000, NULL },
	{ 'r', "1gbit", 1, 1000000000, NULL },
	{ 'r', "1GBIT", 1, 1000000000, NULL },
	{ 'r', "1tbit", 1, T, NULL },
	{ 'r', "1TBit", 1, T, NULL },
	/* bytes per second, SI */
	{ 'r', "125bps", 1, 1000, NULL },
	{ 'r', "125BPS", 1, 1000, NULL },
	{ 'r', "1kbps", 1, 8000, NULL },
	{ 'r', "1KBPS", 1, 8000, NULL },
	{ 'r', "1mbps", 1, 8000000, NULL },
	{ 'r', "1MBps", 1, 8000000, NULL },
	{ 'r', "1gbps", 1, 8000000000ULL, NULL },
	{ 'r', "1Gbps", 1, 8000000000ULL, NULL },
	{ 'r', "0.125tbps", 1, T, NULL },
	{ 'r', "0.125TBPS", 1, T, NULL },
	{ 'r', "1tbps", 0, 0, "above the maximum of 1tbit" },
	/* IEC */
	{ 'r', "1kibit", 1, KI, NULL },
	{ 'r', "1KiBit", 1, KI, NULL },
	{ 'r', "1mibit", 1, MI, NULL },
	{ 'r', "1MIBIT", 1, MI, NULL },
	{ 'r', "1gibit", 1, GI, NULL },
	{ 'r', "1GiBit", 1, GI, NULL },
	{ 'r', "0.5tibit", 1, 549755813888ULL, NULL },
	{ 'r', "0.5TIBIT", 1, 549755813888ULL, NULL },
	{ 'r', "1tibit", 0, 0, "above the maximum of 1tbit" },
	{ 'r', "1kibps", 1, 8 * KI, NULL },
	{ 'r', "1KIBPS", 1, 8 * KI, NULL },
	{ 'r', "1mibps", 1, 8 * MI, NULL },
	{ 'r', "1MiBps", 1, 8 * MI, NULL },
	{ 'r', "1gibps", 1, 8 * GI, NULL },
	{ 'r', "1GIBPS", 1, 8 * GI, NULL },
	{ 'r', "0.1tibps", 1, 879609302220ULL, NULL },	/* 879609302220.8 */
	{ 'r', "0.1TiBps", 1, 879609302220ULL, NULL },
	{ 'r', "1tibps", 0, 0, "above the maximum" },
	{ 'r', "0.001kibps", 0, 0, "below the minimum of 1kbit" },
	/* decimals; exact where a double would not be (0.29 * 1e6 < 290000) */
	{ 'r', "1.5mbit", 1, 1500000, NULL },
	{ 'r', "2.5kbit", 1, 2500, NULL },
	{ 'r', "0.29mbit", 1, 290000, NULL },
	{ 'r', "0.3gbit", 1, 300000000, NULL },
	{ 'r', "0.0000001tbit", 1, 100000, NULL },
	{ 'r', "1.23456789mbit", 1, 1234567, NULL },	/* truncated */
	{ 'r', "12.345kibit", 1, 12641, NULL },		/* 12641.28 */
	{ 'r', "0.999999999999tbit", 1, 999999999999ULL, NULL },
	{ 'r', "1.000000000000000000000000000mbit", 1, 1000000, NULL },
	/* exactly 1000 bits = 125/2^40 tibps, 40 fractional digits */
	{ 'r', "0.0000000001136868377216160297393798828125tibps", 1, 1000, NULL },
	{ 'r', "0.0000000001136868377216160297393798828124tibps", 0, 0, "below the minimum" },
	/* ".5mbit" is accepted as 0.5mbit, like tc's strtod; "1.mbit" is refused */
	{ 'r', ".5mbit", 1, 500000, NULL },
	{ 'r', ".5MBIT", 1, 500000, NULL },
	{ 'r', "1.mbit", 0, 0, "no digits after the decimal point" },
	{ 'r', "1.", 0, 0, "no digits after the decimal point" },
	{ 'r', "1..5mbit", 0, 0, "no digits after the decimal point" },
	{ 'r', ".mbit", 0, 0, "is not a number followed by a unit (e.g. 10mbit)" },
	{ 'r', ".", 0, 0, "is not a number" },
	/* boundaries */
	{ 'r', "999bit", 0, 0, "rate '999bit' is below the minimum of 1kbit" },
	{ 'r', "0.999kbit", 0, 0, "below the minimum of 1kbit" },
	{ 'r', "0.25kbit", 0, 0, "below the minimum of 1kbit" },
	{ 'r', "1bps", 0, 0, "below the minimum of 1kbit" },
	{ 'r', "999", 0, 0, "a bare number is bits per second" },
	{ 'r', "999", 0, 0, HINT("999") },
	{ 'r', "1.5", 0, 0, HINT("1.5") },
	{ 'r', "1000000000000bit", 1, T, NULL },
	{ 'r', "1000000000001bit", 0, 0, "rate '1000000000001bit' is above the maximum of 1tbit" },
	{ 'r', "1.000000000001tbit", 0, 0, "above the maximum of 1tbit" },
	{ 'r', "1000gbit", 1, T, NULL },
	{ 'r', "1000.000000001gbit", 0, 0, "above the maximum" },
	/* overflow is detected, never wrapped */
	{ 'r', "99999999999999999999999bit", 0, 0, "too large" },
	{ 'r', "18446744073709551616bit", 0, 0, "too large" },
	{ 'r', "18446744073709551616", 0, 0, "too large" },
	{ 'r', "18446744073709551615bit", 0, 0, "above the maximum" },
	{ 'r', "1844674407370955161.6kbit", 0, 0, "too large" },
	{ 'r', "1844674407370955162kbit", 0, 0, "too large" },
	{ 'r', "2305843009213693952bps", 0, 0, "too large" },	/* 2^61 * 8 */
	{ 'r', "2305843009213693951.9999bps", 0, 0, "above the maximum" },
	/* ambiguous units */
	{ 'r', "5M", 0, 0, "rate '5M' is ambiguous: " HINT("5") },
	{ 'r', "10m", 0, 0, HINT("10") },
	{ 'r', "1k", 0, 0, HINTP("1", "k", "kilo") },
	{ 'r', "1K", 0, 0, HINTP("1", "k", "kilo") },
	{ 'r', "2g", 0, 0, HINTP("2", "g", "giga") },
	{ 'r', "2G", 0, 0, HINTP("2", "g", "giga") },
	{ 'r', "3t", 0, 0, HINTP("3", "t", "tera") },
	{ 'r', "3T", 0, 0, HINTP("3", "t", "tera") },
	{ 'r', "10kb", 0, 0, HINTP("10", "k", "kilo") },
	{ 'r', "10mb", 0, 0, HINT("10") },
	{ 'r', "10MB", 0, 0, HINT("10") },
	{ 'r', "1gb", 0, 0, HINTP("1", "g", "giga") },
	{ 'r', "1kib", 0, 0, HINTP("1", "ki", "kibi") },
	{ 'r', "1MiB", 0, 0, HINTP("1", "mi", "mebi") },
	{ 'r', "100b", 0, 0, HINTP("100", "", "") },
	{ 'r', "1.5M", 0, 0, HINT("1.5") },
	{ 'r', "0M", 0, 0, HINT("0") },
	/* malformed */
	{ 'r', "", 0, 0, "rate '' is empty" },
	{ 'r', "-1mbit", 0, 0, "rates cannot be negative" },
	{ 'r', "-0", 0, 0, "rates cannot be negative" },
	{ 'r', "+1mbit", 0, 0, "rate '+1mbit' is not a number followed by a unit (e.g. 10mbit)" },
	{ 'r', " 1mbit", 0, 0, "whitespace" },
	{ 'r', "1 mbit", 0, 0, "whitespace" },
	{ 'r', "1mbit\n", 0, 0, "rate contains whitespace or control characters" },
	{ 'r', "-1\nmbit", 0, 0, "rate contains whitespace or control characters" },
	{ 'r', "\t1mbit", 0, 0, "whitespace or control" },
	{ 'r', "1\033[2Jmbit", 0, 0, "control characters" },
	{ 'r', "1e6bit", 0, 0, "rate '1e6bit' has unknown unit 'e6bit'" },
	{ 'r', "0x10mbit", 0, 0, "has unknown unit 'x10mbit'" },
	{ 'r', "abc", 0, 0, "rate 'abc' is not a number followed by a unit (e.g. 10mbit)" },
	{ 'r', "mbit", 0, 0, "is not a number" },
	{ 'r', "inf", 0, 0, "is not a number" },
	{ 'r', "10furlongs", 0, 0, "rate '10furlongs' has unknown unit 'furlongs'" },
	{ 'r', "10mbits", 0, 0, "unknown unit 'mbits'" },
	{ 'r', "1,5mbit", 0, 0, "unknown unit ',5mbit'" },
	{ 'r', "0mbit", 0, 0, "rate '0mbit' is zero" },
	{ 'r', "0", 0, 0, "rate '0' is zero" },
	{ 'r', "0.000kbit", 0, 0, "is zero" },
	{ 'r', "0furlongs", 0, 0, "unknown unit" },

	/* sizes: bytes and powers of 1024, both cases */
	{ 's', "1", 1, 1, NULL },
	{ 's', "1b", 1, 1, NULL },
	{ 's', "1B", 1, 1, NULL },
	{ 's', "1k", 1, KI, NULL },
	{ 's', "1K", 1, KI, NULL },
	{ 's', "1kb", 1, KI, NULL },
	{ 's', "1KB", 1, KI, NULL },
	{ 's', "1kib", 1, KI, NULL },
	{ 's', "1KiB", 1, KI, NULL },
	{ 's', "1m", 1, MI, NULL },
	{ 's', "1M", 1, MI, NULL },
	{ 's', "1mb", 1, MI, NULL },
	{ 's', "1MB", 1, MI, NULL },
	{ 's', "1mib", 1, MI, NULL },
	{ 's', "1MIB", 1, MI, NULL },
	{ 's', "1g", 1, GI, NULL },
	{ 's', "1G", 1, GI, NULL },
	{ 's', "1gb", 1, GI, NULL },
	{ 's', "1GB", 1, GI, NULL },
	{ 's', "1gib", 1, GI, NULL },
	{ 's', "1GiB", 1, GI, NULL },
	{ 's', "1kbit", 1, 128, NULL },
	{ 's', "1KBIT", 1, 128, NULL },
	{ 's', "1mbit", 1, MI / 8, NULL },
	{ 's', "1Mbit", 1, MI / 8, NULL },
	{ 's', "1gbit", 1, GI / 8, NULL },
	{ 's', "8GBIT", 1, GI, NULL },
	{ 's', "0.01kbit", 1, 1, NULL },		/* 1.28 bytes, rounded down */
	{ 's', "1.5k", 1, 1536, NULL },
	{ 's', "0.5kb", 1, 512, NULL },
	{ 's', ".5k", 1, 512, NULL },
	{ 's', "1.5mb", 1, 1572864, NULL },
	{ 's', "0.001k", 1, 1, NULL },		/* 1.024 */
	{ 's', "1024m", 1, GI, NULL },
	{ 's', "1073741824", 1, GI, NULL },
	{ 's', "0.0001k", 0, 0, "size '0.0001k' is below the minimum of 1b" },
	{ 's', "0.5", 0, 0, "below the minimum of 1b" },
	{ 's', "1073741825", 0, 0, "above the maximum of 1gb" },
	{ 's', "1.1g", 0, 0, "above the maximum of 1gb" },
	{ 's', "1025m", 0, 0, "above the maximum" },
	{ 's', "8.000001gbit", 0, 0, "above the maximum" },
	{ 's', "99999999999999999999", 0, 0, "too large" },
	{ 's', "18446744073709551616b", 0, 0, "too large" },
	{ 's', "18446744073709551615", 0, 0, "above the maximum" },
	{ 's', "18014398509481984k", 0, 0, "too large" },	/* 2^54 * 2^10 */
	{ 's', "", 0, 0, "size '' is empty" },
	{ 's', "-1k", 0, 0, "sizes cannot be negative" },
	{ 's', "+1k", 0, 0, "is not a number" },
	{ 's', "1 k", 0, 0, "whitespace" },
	{ 's', "abc", 0, 0, "size 'abc' is not a number followed by a unit" },
	{ 's', "0", 0, 0, "size '0' is zero" },
	{ 's', "0kb", 0, 0, "is zero" },
	{ 's', "1.k", 0, 0, "no digits after the decimal point" },
	{ 's', "1t", 0, 0, "size '1t' has unknown unit 't'" },
	{ 's', "1kbyte", 0, 0, "unknown unit 'kbyte'" },
	{ 's', "1e3", 0, 0, "unknown unit 'e3'" },
	{ 's', "0x10", 0, 0, "unknown unit 'x10'" },
	{ 's', "1kbps", 0, 0, "unknown unit 'kbps'" },
};

struct fcase {
	char		 kind;
	uint64_t	 in;
	const char	*want;
};

static const struct fcase fcases[] = {
	{ 'r', 10000000, "10mbit" },
	{ 'r', 256000, "256kbit" },
	{ 'r', 1500000, "1500kbit" },
	{ 'r', 1000000000, "1gbit" },
	{ 'r', 1234, "1234bit" },
	{ 'r', 1024, "1024bit" },
	{ 'r', T, "1tbit" },
	{ 'r', 25 * T, "25tbit" },
	{ 'r', 0, "0bit" },
	{ 'r', UINT64_MAX, "18446744073709551615bit" },
	{ 's', 131072, "128kb" },
	{ 's', 1048576, "1mb" },
	{ 's', 1000, "1000b" },
	{ 's', 1536, "1536b" },
	{ 's', 3 * MI, "3mb" },
	{ 's', GI, "1gb" },
	{ 's', 1, "1b" },
	{ 's', 0, "0b" },
};

static int
run_parse(const struct pcase *c)
{
	struct err e = { "" };
	const char *err = e.msg;
	uint64_t v = 42;
	int rc;

	if (c->kind == 'r')
		rc = rate_parse(c->in, &v, &e);
	else
		rc = size_parse(c->in, &v, &e);
	if (c->ok && (rc != 0 || v != c->want)) {
		printf("FAIL %c '%s': want %llu, got rc %d value %llu (%s)\n",
		    c->kind, c->in, (unsigned long long)c->want, rc,
		    (unsigned long long)v, err);
		return 1;
	}
	if (c->ok)
		return 0;
	if (rc != -1 || v != 42 || strstr(err, c->msg) == NULL ||
	    strchr(err, '\n') != NULL || strncmp(err, "ct:", 3) == 0) {
		printf("FAIL %c '%s': want error containing \"%s\", got rc %d "
		    "value %llu \"%s\"\n", c->kind, c->in, c->msg, rc,
		    (unsigned long long)v, err);
		return 1;
	}
	return 0;
}

static int
run_format(const struct fcase *c)
{
	char buf[64];

	if (c->kind == 'r')
		rate_format(c->in, buf, sizeof(buf));
	else
		size_format(c->in, buf, sizeof(buf));
	if (strcmp(buf, c->want) != 0) {
		printf("FAIL format %c %llu: want \"%s\", got \"%s\"\n",
		    c->kind, (unsigned long long)c->in, c->want, buf);
		return 1;
	}
	return 0;
}

/* format then parse must give back the same value */
static int
roundtrip(char kind, uint64_t v)
{
	struct err e = { "" };
	char buf[64];
	uint64_t got = 0;
	int rc;

	if (kind == 'r') {
		rate_format(v, buf, sizeof(buf));
		rc = rate_parse(buf, &got, &e);
	} else {
		size_format(v, buf, sizeof(buf));
		rc = size_parse(buf, &got, &e);
	}
	if (rc != 0 || got != v) {
		printf("FAIL roundtrip %c %llu -> \"%s\" -> rc %d %llu (%s)\n",
		    kind, (unsigned long long)v, buf, rc,
		    (unsigned long long)got, rc ? e.msg : "");
		return 1;
	}
	return 0;
}

static int
sweep(int *n)
{
	static const uint64_t mant[] = { 1, 2, 3, 5, 7, 8, 10, 12, 15, 64,
	    100, 125, 128, 250, 256, 333, 512, 999, 1000, 1023, 1024, 1500 };
	uint64_t p, x = 88172645463325252ULL;	/* xorshift64 seed */
	size_t i;
	int fails = 0, j;

	for (i = 0; i < sizeof(mant) / sizeof(mant[0]); i++) {
		for (p = 1; p <= RATE_MAX_BITS / mant[i]; p *= 10)
			if (mant[i] * p >= RATE_MIN_BITS) {
				fails += roundtrip('r', mant[i] * p);
				(*n)++;
			}
		for (p = 1; p <= SIZE_MAX_BYTES / mant[i]; p *= 2) {
			fails += roundtrip('s', mant[i] * p);
			(*n)++;
		}
	}
	for (j = 0; j < 20000; j++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		fails += roundtrip('r', RATE_MIN_BITS +
		    x % (RATE_MAX_BITS - RATE_MIN_BITS + 1));
		fails += roundtrip('s', 1 + x % SIZE_MAX_BYTES);
		*n += 2;
	}
	fails += roundtrip('r', RATE_MIN_BITS) + roundtrip('r', RATE_MAX_BITS);
	fails += roundtrip('s', 1) + roundtrip('s', SIZE_MAX_BYTES);
	*n += 4;
	return fails;
}

/* Formatting into short buffers: truncated but terminated. */
static int
edges(int *n)
{
	char buf[4];
	int fails = 0;

	rate_format(10000000, buf, sizeof(buf));
	if (strcmp(buf, "10m") != 0)
		printf("FAIL truncated format \"%s\"\n", buf), fails++;
	memset(buf, 'x', sizeof(buf));
	size_format(1024, buf, 0);
	if (buf[0] != 'x')
		printf("FAIL format wrote into zero-length buffer\n"), fails++;
	*n += 2;
	return fails;
}

int
main(void)
{
	size_t i;
	int fails = 0, n = 0;

	for (i = 0; i < sizeof(pcases) / sizeof(pcases[0]); i++, n++)
		fails += run_parse(&pcases[i]);
	for (i = 0; i < sizeof(fcases) / sizeof(fcases[0]); i++, n++)
		fails += run_format(&fcases[i]);
	fails += sweep(&n);
	fails += edges(&n);
	printf("rate_test: %d checks, %d failed (%zu parse, %zu format cases)\n",
	    n, fails, sizeof(pcases) / sizeof(pcases[0]),
	    sizeof(fcases) / sizeof(fcases[0]));
	return fails != 0;
}
