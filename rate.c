/* tc's grammar of rates and sizes, in integer arithmetic only. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "rate.h"

struct unit {
	const char	*name;
	uint64_t	 mult;
};

#define KI	1024ULL
#define MI	(KI * KI)
#define GI	(MI * KI)
#define TI	(GI * KI)

/*
 * Every multiplier stays far below UINT64_MAX / 10, which scale_frac()
 * relies on to never overflow while scaling the fractional digits.
 */
static const struct unit rate_units[] = {
	{ "", 1 },	/* tc: a bare number is bits per second */
	{ "bit", 1 },
	{ "kbit", 1000ULL },		{ "mbit", 1000000ULL },
	{ "gbit", 1000000000ULL },	{ "tbit", 1000000000000ULL },
	{ "bps", 8 },			{ "kbps", 8000ULL },
	{ "mbps", 8000000ULL },		{ "gbps", 8000000000ULL },
	{ "tbps", 8000000000000ULL },
	{ "kibit", KI },		{ "mibit", MI },
	{ "gibit", GI },		{ "tibit", TI },
	{ "kibps", KI * 8 },		{ "mibps", MI * 8 },
	{ "gibps", GI * 8 },		{ "tibps", TI * 8 },
	{ NULL, 0 }
};

/* tc's sizes use binary multipliers even when given in bits. */
static const struct unit size_units[] = {
	{ "", 1 }, { "b", 1 },
	{ "k", KI }, { "kb", KI }, { "kib", KI },
	{ "m", MI }, { "mb", MI }, { "mib", MI },
	{ "g", GI }, { "gb", GI }, { "gib", GI },
	{ "kbit", KI / 8 }, { "mbit", MI / 8 }, { "gbit", GI / 8 },
	{ NULL, 0 }
};

/* As a rate these could mean bits or bytes; guessing wrong is off by 8x. */
static const char *const ambiguous_units[] = {
	"b", "k", "m", "g", "t", "kb", "mb", "gb", "tb",
	"ki", "mi", "gi", "ti", "kib", "mib", "gib", "tib", NULL
};

/* Largest first, so formatting picks the shortest exact spelling. */
static const struct unit rate_out[] = {
	{ "tbit", 1000000000000ULL }, { "gbit", 1000000000ULL },
	{ "mbit", 1000000ULL }, { "kbit", 1000ULL }, { "bit", 1 }
};

static const struct unit size_out[] = {
	{ "gb", GI }, { "mb", MI }, { "kb", KI }, { "b", 1 }
};

struct kind {
	const char		*name;
	const struct unit	*units;
	const char *const	*ambiguous;	/* NULL: no bits/bytes hint */
	uint64_t		 min, max;
	const char		*mintext, *maxtext, *example;
};

static const struct kind rate_kind = {
	"rate", rate_units, ambiguous_units,
	RATE_MIN_BITS, RATE_MAX_BITS, "1kbit", "1tbit", "10mbit"
};

static const struct kind size_kind = {
	"size", size_units, NULL, 1, SIZE_MAX_BYTES, "1b", "1gb", "64kb"
};

/* The numeric prefix of the input, digits[.digits], kept as text. */
struct number {
	const char	*s;
	size_t		 nint, nfrac, len;
};

#define HINT	"write %.*s%sbit for %sbits or %.*s%sbps for %sbytes per second"

/* The spelled-out units to suggest for an ambiguous one, by its prefix. */
struct prefix {
	const char *letters, *unit, *word;
};

static const struct prefix prefixes[] = {
	{ "ki", "ki", "kibi" }, { "mi", "mi", "mebi" }, { "gi", "gi", "gibi" },
	{ "ti", "ti", "tebi" }, { "k", "k", "kilo" }, { "m", "m", "mega" },
	{ "g", "g", "giga" }, { "t", "t", "tera" }, { "", "", "" }
};

/* The prefix an ambiguous unit begins with; megabits when unsure. */
static const struct prefix *
prefix_of(const char *unit)
{
	for (const struct prefix *p = prefixes; p->letters[0] != '\0'; p++)
		if (strncasecmp(unit, p->letters, strlen(p->letters)) == 0)
			return p;
	return strcasecmp(unit, "b") == 0 ? &prefixes[8] : &prefixes[5];
}

static size_t
digits(const char *s)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n;
}

/* ".5" is accepted as 0.5, as tc's strtod would; "1." is refused by number(). */
static void
scan(const char *s, struct number *n)
{
	n->s = s;
	n->nint = digits(s);
	n->nfrac = 0;
	if (s[n->nint] == '.')
		n->nfrac = digits(s + n->nint + 1);
	n->len = n->nint + (n->nfrac > 0 ? n->nfrac + 1 : 0);
}

static int
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static const struct unit *
lookup(const struct unit *u, const char *name)
{
	for (; u->name != NULL; u++)
		if (strcasecmp(u->name, name) == 0)
			return u;
	return NULL;
}

static int
listed(const char *const *list, const char *name)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcasecmp(*list, name) == 0)
			return 1;
	return 0;
}

/*
 * floor(0.frac * mult), exact for any number of digits: Horner's rule from
 * the last digit, using floor((a + floor(x)) / 10) == floor((a + x) / 10).
 * Each step stays below 10 * mult.
 */
static uint64_t
scale_frac(const char *frac, size_t nfrac, uint64_t mult)
{
	uint64_t w = 0;

	while (nfrac-- > 0)
		w = ((uint64_t)(frac[nfrac] - '0') * mult + w) / 10;
	return w;
}

/* -1 if the value does not fit in 64 bits at any step. */
static int
scale(const struct number *n, uint64_t mult, uint64_t *out)
{
	uint64_t v = 0, d, f;
	size_t i;

	for (i = 0; i < n->nint; i++) {
		d = (uint64_t)(n->s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v > UINT64_MAX / mult)
		return -1;
	v *= mult;
	f = scale_frac(n->s + n->nint + 1, n->nfrac, mult);
	if (v > UINT64_MAX - f)
		return -1;
	*out = v + f;
	return 0;
}

/* Everything before the unit; fills n on success. */
static int
number(const struct kind *k, const char *s, struct number *n, struct err *e)
{
	/* Echoing a newline or escape would break the one-line message. */
	if (!printable(s))
		return errf(e, "%s contains whitespace or control "
		    "characters", k->name);
	if (*s == '\0')
		return errf(e, "%s '' is empty", k->name);
	if (*s == '-')
		return errf(e, "%s '%s' is negative: %ss cannot be "
		    "negative", k->name, s, k->name);
	if (strchr(s, ' ') != NULL)
		return errf(e, "%s '%s' contains whitespace",
		    k->name, s);
	scan(s, n);
	/* "1." is more likely a typo than a deliberate 1.0. */
	if (n->nint > 0 && s[n->nint] == '.' && n->nfrac == 0)
		return errf(e, "%s '%s' has no digits after the "
		    "decimal point", k->name, s);
	if (n->len == 0)
		return errf(e, "%s '%s' is not a number followed by "
		    "a unit (e.g. %s)", k->name, s, k->example);
	return 0;
}

static int
parse(const struct kind *k, const char *s, uint64_t *out, struct err *e)
{
	const struct unit *u;
	const char *unit;
	struct number n = { NULL, 0, 0, 0 };
	uint64_t v;
	int nl;

	if (number(k, s, &n, e) == -1)
		return -1;
	unit = s + n.len;
	nl = n.len > INT_MAX ? INT_MAX : (int)n.len;
	if ((u = lookup(k->units, unit)) == NULL) {
		if (listed(k->ambiguous, unit)) {
			const struct prefix *p = prefix_of(unit);

			return errf(e, "%s '%s' is ambiguous: " HINT,
			    k->name, s, nl, s, p->unit, p->word, nl, s,
			    p->unit, p->word);
		}
		return errf(e, "%s '%s' has unknown unit '%s'",
		    k->name, s, unit);
	}
	/* The number is only digits and one dot, so this means all zeros. */
	if (strspn(s, "0.") >= n.len)
		return errf(e, "%s '%s' is zero", k->name, s);
	if (scale(&n, u->mult, &v) == -1)
		return errf(e, "%s '%s' is too large: the maximum "
		    "is %s", k->name, s, k->maxtext);
	/* Only rates have a hint: a bare size is unambiguously bytes. */
	if (v < k->min && k->ambiguous != NULL && *unit == '\0')
		return errf(e, "%s '%s' is below the minimum of %s: "
		    "a bare number is bits per second; " HINT, k->name, s,
		    k->mintext, nl, s, "m", "mega", nl, s, "m", "mega");
	if (v < k->min)
		return errf(e, "%s '%s' is below the minimum of %s",
		    k->name, s, k->mintext);
	if (v > k->max)
		return errf(e, "%s '%s' is above the maximum of %s",
		    k->name, s, k->maxtext);
	*out = v;
	return 0;
}

int
rate_parse(const char *s, uint64_t *bits, struct err *e)
{
	return parse(&rate_kind, s, bits, e);
}

int
size_parse(const char *s, uint64_t *bytes, struct err *e)
{
	return parse(&size_kind, s, bytes, e);
}

/* The table ends with a multiplier of 1, which always divides. */
static void
format(const struct unit *u, uint64_t v, char *buf, size_t len)
{
	while (u->mult > 1 && (v == 0 || v % u->mult != 0))
		u++;
	if (len > 0)
		snprintf(buf, len, "%llu%s",
		    (unsigned long long)(v / u->mult), u->name);
}

void
rate_format(uint64_t bits, char *buf, size_t len)
{
	format(rate_out, bits, buf, len);
}

void
size_format(uint64_t bytes, char *buf, size_t len)
{
	format(size_out, bytes, buf, len);
}

void
rate_human(double bits, char *buf, size_t len)
{
	static const struct { const char *unit; double mult; } u[] = {
		{ "gbit", 1e9 }, { "mbit", 1e6 }, { "kbit", 1e3 }, { "bit", 1 },
	};
	size_t i = 0;

	while (i < 3 && bits < u[i].mult)
		i++;
	bits /= u[i].mult;
	snprintf(buf, len, bits >= 100 || i == 3 ? "%.0f%s" : bits >= 10 ?
	    "%.1f%s" : "%.2f%s", bits, u[i].unit);
}
