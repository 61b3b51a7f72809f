/*
 * registry_parse on arbitrary bytes.  The registry is how ct finds its way
 * back to what it did, so a registry it wrote must read back as itself:
 * whatever parses is formatted, parsed again and must format to the same
 * text and hold the same entries, and the text written in pieces, as ct
 * saves it, must be the same.  Then the edits ct makes (dropping a pid,
 * dropping a cgroup) must keep it readable.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
die(const char *what, const char *text)
{
	fprintf(stderr, "fuzz_registry: %s\n%s", what, text ? text : "");
	abort();
}

static int
same_str(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int
same(const struct registry *a, const struct registry *b)
{
	if (a->ncg != b->ncg)
		return 0;
	for (size_t i = 0; i < a->ncg; i++) {
		const struct reg_cgroup *x = &a->cg[i], *y = &b->cg[i];

		if (x->id != y->id || !same_str(x->path, y->path) ||
		    !same_str(x->pins, y->pins) ||
		    !same_str(x->origin, y->origin) || x->owner != y->owner ||
		    memcmp(&x->lim, &y->lim, sizeof(x->lim)) != 0 ||
		    x->npids != y->npids ||
		    (x->npids > 0 && memcmp(x->pids, y->pids,
		    x->npids * sizeof(x->pids[0])) != 0))
			return 0;
	}
	return 1;
}

/* Pieces of text, joined. */
struct joined {
	char *s;
	size_t len;
};

static int
join(void *arg, const char *s, size_t n)
{
	struct joined *j = arg;

	j->s = realloc(j->s, j->len + n + 1);
	if (j->s == NULL)
		die("out of memory", NULL);
	memcpy(j->s + j->len, s, n);
	j->len += n;
	j->s[j->len] = '\0';
	return 0;
}

/* Format r, parse the text back and check both agree; the text, malloc'd. */
static char *
round_trip(const struct registry *r)
{
	struct joined pieces = { NULL, 0 };
	struct registry back;
	struct err e;
	char *text, *again;

	if ((text = registry_format(r)) == NULL)
		die("registry_format failed", NULL);
	if (registry_write(r, join, &pieces) < 0)
		die("registry_write failed", NULL);
	if (strcmp(text, pieces.s ? pieces.s : "") != 0)
		die("registry written in pieces differs:", text);
	free(pieces.s);
	if (registry_parse(text, strlen(text), &back, &e) < 0) {
		fprintf(stderr, "fuzz_registry: %s\n", e.msg);
		die("formatted registry does not parse:", text);
	}
	if (!same(r, &back))
		die("formatted registry parses to other entries:", text);
	if ((again = registry_format(&back)) == NULL)
		die("registry_format failed", NULL);
	if (strcmp(text, again) != 0)
		die("formatted registry formats differently:", text);
	free(again);
	registry_free(&back);
	return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry r;
	struct err e;

	e.msg[0] = '\0';
	if (registry_parse((const char *)data, size, &r, &e) < 0) {
		/* A refusal must say why, and leave nothing to free. */
		if (e.msg[0] == '\0' || r.ncg != 0 || r.cg != NULL)
			die("registry_parse failed without a message", NULL);
		return 0;
	}
	free(round_trip(&r));
	/* The edits limit, unlimit and reconcile make. */
	for (size_t i = 0; i < r.ncg; i++)
		if (r.cg[i].npids > 0)
			registry_drop_pid(&r.cg[i], size % r.cg[i].npids);
	for (size_t i = 0; i < r.ncg; i += 2)
		if (registry_add_pid(&r.cg[i], (pid_t)(1 + size % 4194304),
		    size) < 0)
			die("registry_add_pid failed", NULL);
	free(round_trip(&r));
	if (r.ncg > 0)
		registry_drop(&r, registry_find(&r, r.cg[size % r.ncg].id));
	free(round_trip(&r));
	registry_free(&r);
	return 0;
}
