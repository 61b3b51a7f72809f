#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/fs.h>	/* RENAME_EXCHANGE */

#include "crash.h"
#include "registry.h"

/*
 * The file, line by line:
 *
 *	ct-registry 1
 *	cgroup <id> <path>
 *		pins <path>
 *		down <rate bits/s> <burst bytes>
 *		up <rate bits/s> <burst bytes>
 *		origin <path>		(only for --isolate)
 *		pid <pid> <start time>	(one per limited process)
 *
 * Paths are written with %XX for '%', spaces, control and non-ASCII bytes,
 * so that every field is one word and any cgroup name survives.
 */
#define MAGIC "ct-registry"
#define VERSION 1
#define FILE_NAME "registry"
#define TEMP_NAME "registry.tmp"
#define LOCK_NAME "lock"
#define MAKING_NAME "making"
#define MAX_SIZE (16 << 20)

/* ---- the directory and its lock ---- */

static int
check_dir(int fd, struct err *e)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return errnof(e, "cannot stat %s", REGISTRY_DIR);
	if (!S_ISDIR(st.st_mode))
		return errf(e, "%s is not a directory; refusing to use it",
		    REGISTRY_DIR);
	if (st.st_uid != geteuid())
		return errf(e, "%s is owned by uid %u, not by ct's user; "
		    "refusing to use it", REGISTRY_DIR, (unsigned)st.st_uid);
	if (st.st_mode & 077)
		return errf(e, "%s is accessible to other users (mode %03o); "
		    "refusing to use it", REGISTRY_DIR,
		    (unsigned)st.st_mode & 0777);
	return 0;
}

static int
open_dir(int create, struct err *e)
{
	int fd;

	/*
	 * A cleanup may remove the directory between our mkdir and open: make
	 * it again rather than go on without one (and without the lock).
	 */
	for (;;) {
		fd = open(REGISTRY_DIR,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT || !create)
			break;
		if (mkdir(REGISTRY_DIR, 0700) < 0 && errno != EEXIST)
			return errnof(e, "cannot create %s", REGISTRY_DIR);
	}
	if (fd < 0) {
		if (errno == ENOENT)
			return -2;
		if (errno == ELOOP || errno == ENOTDIR)
			return errf(e, "%s is a symbolic link or not a "
			    "directory; refusing to use it", REGISTRY_DIR);
		return errnof(e, "cannot open %s", REGISTRY_DIR);
	}
	if (check_dir(fd, e) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Whether fd is still the file that path names: a cleanup that held the
 * lock before us may have removed the directory and the lock with it. */
static int
same_file(int fd, int dir_fd, const char *name)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0)
		return 0;
	if (dir_fd == AT_FDCWD ? stat(name, &b) < 0 :
	    fstatat(dir_fd, name, &b, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int
registry_lock(struct regfile *rf, int create, struct err *e)
{
	for (;;) {
		rf->lock_fd = -1;
		rf->dir_fd = open_dir(create, e);
		if (rf->dir_fd == -2) {
			rf->dir_fd = -1;
			return 0;
		}
		if (rf->dir_fd < 0)
			return -1;
		rf->lock_fd = openat(rf->dir_fd, LOCK_NAME,
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (rf->lock_fd < 0 && errno == ENOENT) {
			/* A cleanup removed the directory meanwhile. */
			registry_unlock(rf);
			continue;
		}
		if (rf->lock_fd < 0) {
			errnof(e, "cannot open %s/%s", REGISTRY_DIR, LOCK_NAME);
			close(rf->dir_fd);
			return -1;
		}
		/* flock dies with its holder: a killed ct blocks no one. */
		if (flock(rf->lock_fd, LOCK_EX) < 0) {
			errnof(e, "cannot lock %s", REGISTRY_DIR);
			registry_unlock(rf);
			return -1;
		}
		if (same_file(rf->dir_fd, AT_FDCWD, REGISTRY_DIR) &&
		    same_file(rf->lock_fd, rf->dir_fd, LOCK_NAME))
			return 0;
		registry_unlock(rf);
	}
}

void
registry_unlock(struct regfile *rf)
{
	if (rf->lock_fd >= 0)
		close(rf->lock_fd);
	if (rf->dir_fd >= 0)
		close(rf->dir_fd);
	rf->lock_fd = rf->dir_fd = -1;
}

static int
read_all(int fd, char **text, size_t *len, struct err *e)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap), *grown;
	ssize_t got;

	while (buf != NULL) {
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0) {
			free(buf);
			return errnof(e, "cannot read the registry");
		}
		if (got == 0)
			break;
		n += got;
		if (n + 1 == cap) {
			if (cap >= MAX_SIZE) {
				free(buf);
				return errf(e, "the registry is larger than "
				    "%d MiB", MAX_SIZE >> 20);
			}
			grown = realloc(buf, cap * 2);
			if (grown == NULL)
				free(buf);
			buf = grown;
			cap *= 2;
		}
	}
	if (buf == NULL)
		return errf(e, "out of memory");
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return 0;
}

int
registry_load(struct regfile *rf, struct registry *r, struct err *e)
{
	char *text = NULL;
	size_t len = 0;
	int fd, ret;

	memset(r, 0, sizeof(*r));
	if (rf->dir_fd < 0)
		return 0;
	fd = openat(rf->dir_fd, FILE_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 :
		    errnof(e, "cannot open %s/%s", REGISTRY_DIR, FILE_NAME);
	ret = read_all(fd, &text, &len, e);
	close(fd);
	if (ret < 0)
		return -1;
	ret = registry_parse(text, len, r, e);
	free(text);
	return ret;
}

static int
write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		s += n;
		len -= n;
	}
	return 0;
}

/* Write text as the file name in dir_fd, whole. */
static int
write_file(int dir_fd, const char *name, const char *text)
{
	int fd, bad;

	fd = openat(dir_fd, name,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	bad = write_all(fd, text, strlen(text)) < 0;
	if (close(fd) < 0)
		bad = 1;
	return bad ? -1 : 0;
}

/*
 * Put the temporary file in the place of the registry.  On ext4, a rename
 * over an existing file first starts writing the new one out to the disk:
 * the filesystem's guard for programs that replace a file without an fsync.
 * That was most of the time of a save, and the registry is not meant to
 * outlive a reboot.  Exchanging the two names and then removing the old text
 * skips it; a ct killed in between leaves the old text under the temporary
 * name, which the next save truncates.  musl has no renameat2 wrapper.
 */
static int
replace_registry(int dir_fd)
{
	if (syscall(SYS_renameat2, dir_fd, TEMP_NAME, dir_fd, FILE_NAME,
	    RENAME_EXCHANGE) == 0) {
		crash_point("registry-exchanged");
		unlinkat(dir_fd, TEMP_NAME, 0);
		return 0;
	}
	/* No registry yet, or a filesystem that cannot exchange. */
	return renameat(dir_fd, TEMP_NAME, dir_fd, FILE_NAME);
}

int
registry_save(struct regfile *rf, const struct registry *r, struct err *e)
{
	char *text = registry_format(r);
	int bad;

	if (text == NULL)
		return errf(e, "out of memory");
	/* Written whole before it replaces the old one. */
	bad = write_file(rf->dir_fd, TEMP_NAME, text) < 0;
	free(text);
	if (bad) {
		errnof(e, "cannot write %s/%s", REGISTRY_DIR, TEMP_NAME);
		unlinkat(rf->dir_fd, TEMP_NAME, 0);
		return -1;
	}
	crash_point("registry-written");
	if (replace_registry(rf->dir_fd) < 0) {
		errnof(e, "cannot write %s/%s", REGISTRY_DIR, FILE_NAME);
		unlinkat(rf->dir_fd, TEMP_NAME, 0);
		return -1;
	}
	/*
	 * No fsync, of the file or the directory: what the registry describes
	 * lives in the kernel and is gone after a reboot, while the change of
	 * names alone already keeps any reader, and a ct killed midway, from
	 * leaving or seeing a half-written file.  An fsync cost up to a sixth
	 * of a whole limit.
	 */
	return 0;
}

int
registry_set_making(struct regfile *rf, const char *abs)
{
	if (rf->dir_fd < 0)
		return 0;
	if (abs == NULL)
		return unlinkat(rf->dir_fd, MAKING_NAME, 0) < 0 && errno != ENOENT
		    ? -1 : 0;
	return write_file(rf->dir_fd, MAKING_NAME, abs);
}

int
registry_making(struct regfile *rf, char *abs, size_t len)
{
	ssize_t n;
	int fd;

	if (rf->dir_fd < 0)
		return 0;
	fd = openat(rf->dir_fd, MAKING_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, abs, len - 1);
	close(fd);
	if (n <= 0)
		return 0;
	abs[n] = '\0';
	return 1;
}

int
registry_destroy(struct regfile *rf, struct err *e)
{
	static const char *const names[] = { FILE_NAME, TEMP_NAME, LOCK_NAME,
	    MAKING_NAME };

	if (rf->dir_fd < 0)
		return 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (unlinkat(rf->dir_fd, names[i], 0) < 0 && errno != ENOENT)
			return errnof(e, "cannot remove %s/%s", REGISTRY_DIR,
			    names[i]);
	/* Not empty: a ct that started meanwhile made its lock there. */
	if (rmdir(REGISTRY_DIR) < 0 && errno != ENOENT && errno != ENOTEMPTY)
		return errnof(e, "cannot remove %s", REGISTRY_DIR);
	return 0;
}

/* ---- the entries ---- */

struct reg_cgroup *
registry_find(struct registry *r, uint64_t id)
{
	for (size_t i = 0; i < r->ncg; i++)
		if (r->cg[i].id == id)
			return &r->cg[i];
	return NULL;
}

static void
free_cgroup(struct reg_cgroup *c)
{
	free(c->path);
	free(c->pins);
	free(c->origin);
	free(c->pids);
}

struct reg_cgroup *
registry_add(struct registry *r, uint64_t id, const char *path,
    const char *pins, const char *origin)
{
	struct reg_cgroup *grown, *c;

	grown = realloc(r->cg, (r->ncg + 1) * sizeof(*grown));
	if (grown == NULL)
		return NULL;
	r->cg = grown;
	c = &r->cg[r->ncg];
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->path = strdup(path);
	c->pins = strdup(pins);
	c->origin = origin ? strdup(origin) : NULL;
	if (c->path == NULL || c->pins == NULL || (origin && !c->origin)) {
		free_cgroup(c);
		return NULL;
	}
	r->ncg++;
	return c;
}

void
registry_drop(struct registry *r, struct reg_cgroup *c)
{
	size_t i = c - r->cg;

	free_cgroup(c);
	memmove(&r->cg[i], &r->cg[i + 1], (r->ncg - i - 1) * sizeof(*c));
	r->ncg--;
}

int
registry_add_pid(struct reg_cgroup *c, pid_t pid, uint64_t start)
{
	struct reg_pid *grown;

	grown = realloc(c->pids, (c->npids + 1) * sizeof(*grown));
	if (grown == NULL)
		return -1;
	c->pids = grown;
	c->pids[c->npids].pid = pid;
	c->pids[c->npids].start = start;
	c->npids++;
	return 0;
}

void
registry_drop_pid(struct reg_cgroup *c, size_t i)
{
	memmove(&c->pids[i], &c->pids[i + 1],
	    (c->npids - i - 1) * sizeof(c->pids[0]));
	c->npids--;
}

void
registry_free(struct registry *r)
{
	for (size_t i = 0; i < r->ncg; i++)
		free_cgroup(&r->cg[i]);
	free(r->cg);
	r->cg = NULL;
	r->ncg = 0;
}

/* ---- the format ---- */

static int
plain(unsigned char ch)
{
	return ch > ' ' && ch < 0x7f && ch != '%';
}

static void
put_path(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (plain((unsigned char)*s))
			fputc(*s, f);
		else
			fprintf(f, "%%%02X", (unsigned char)*s);
	}
}

char *
registry_format(const struct registry *r)
{
	static const char *const dir_names[2] = { "down", "up" };
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return NULL;
	fprintf(f, "%s %d\n", MAGIC, VERSION);
	for (size_t i = 0; i < r->ncg; i++) {
		const struct reg_cgroup *c = &r->cg[i];

		fprintf(f, "cgroup %" PRIu64 " ", c->id);
		put_path(f, c->path);
		fputs("\n\tpins ", f);
		put_path(f, c->pins);
		fputc('\n', f);
		for (int d = 0; d < 2; d++)
			fprintf(f, "\t%s %" PRIu64 " %" PRIu64 "\n", dir_names[d],
			    c->lim.dir[d].rate_bits, c->lim.dir[d].burst_bytes);
		if (c->origin != NULL) {
			fputs("\torigin ", f);
			put_path(f, c->origin);
			fputc('\n', f);
		}
		for (size_t p = 0; p < c->npids; p++)
			fprintf(f, "\tpid %d %" PRIu64 "\n", (int)c->pids[p].pid,
			    c->pids[p].start);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int
hex(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Decode a %XX-escaped word in place; -1 when it is malformed. */
static int
get_path(char *s)
{
	char *w = s;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		if (hex(s[1]) < 0 || hex(s[2]) < 0 ||
		    hex(s[1]) * 16 + hex(s[2]) == 0)
			return -1;
		*w++ = (char)(hex(s[1]) * 16 + hex(s[2]));
		s += 2;
	}
	*w = '\0';
	return 0;
}

/* A decimal number no larger than max, and nothing else. */
static int
get_num(const char *s, uint64_t max, uint64_t *v)
{
	uint64_t n = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || n > (max - (*s - '0')) / 10)
			return -1;
		n = n * 10 + (*s - '0');
	}
	*v = n;
	return 0;
}

/* Split line into at most max words; how many, or -1 for more. */
static int
split(char *line, char **w, int max)
{
	int n = 0;
	char *save, *tok;

	for (tok = strtok_r(line, " \t", &save); tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (n == max)
			return -1;
		w[n++] = tok;
	}
	return n;
}

static int
parse_cgroup(struct registry *r, char **w, int n)
{
	uint64_t id;

	if (n != 3 || get_num(w[1], UINT64_MAX, &id) < 0 || get_path(w[2]) < 0
	    || w[2][0] != '/' || registry_find(r, id) != NULL)
		return -1;
	/* pins are filled in by their own line; "" until then. */
	return registry_add(r, id, w[2], "", NULL) ? 0 : -1;
}

static int
parse_attr(struct reg_cgroup *c, char **w, int n)
{
	uint64_t a, b;
	char **field;

	if (strcmp(w[0], "pins") == 0 || strcmp(w[0], "origin") == 0) {
		field = w[0][0] == 'p' ? &c->pins : &c->origin;
		if (n != 2 || get_path(w[1]) < 0 || w[1][0] != '/' ||
		    (*field != NULL && **field != '\0'))
			return -1;
		free(*field);
		*field = strdup(w[1]);
		return *field ? 0 : -1;
	}
	if (n != 3)
		return -1;
	if (strcmp(w[0], "down") == 0 || strcmp(w[0], "up") == 0) {
		struct dir_limit *d = &c->lim.dir[w[0][0] == 'd' ? CT_DOWN : CT_UP];

		if (get_num(w[1], UINT64_MAX, &d->rate_bits) < 0 ||
		    get_num(w[2], UINT64_MAX, &d->burst_bytes) < 0)
			return -1;
		return 0;
	}
	if (strcmp(w[0], "pid") == 0) {
		if (get_num(w[1], 4194304, &a) < 0 || a == 0 ||
		    get_num(w[2], UINT64_MAX, &b) < 0)
			return -1;
		return registry_add_pid(c, (pid_t)a, b);
	}
	return -1;
}

static int
parse_line(struct registry *r, char *line)
{
	char *w[4];
	int n = split(line, w, 4);

	if (n < 0)
		return -1;
	if (n == 0)
		return 0;
	if (strcmp(w[0], "cgroup") == 0)
		return parse_cgroup(r, w, n);
	if (r->ncg == 0 || (line[0] != '\t' && line[0] != ' '))
		return -1;
	return parse_attr(&r->cg[r->ncg - 1], w, n);
}

static int
parse_header(char *line, struct err *e)
{
	uint64_t version;
	char *w[3];

	if (split(line, w, 2) != 2 || strcmp(w[0], MAGIC) != 0 ||
	    get_num(w[1], 1000000, &version) < 0)
		return errf(e, "%s/%s is not a ct registry", REGISTRY_DIR,
		    FILE_NAME);
	if (version != VERSION)
		return errf(e, "%s/%s is of version %" PRIu64 ", and this ct "
		    "reads version %d", REGISTRY_DIR, FILE_NAME, version,
		    VERSION);
	return 0;
}

int
registry_parse(const char *text, size_t len, struct registry *r,
    struct err *e)
{
	char *copy, *line, *next;
	int lineno = 1, ret = 0;

	memset(r, 0, sizeof(*r));
	if (memchr(text, '\0', len) != NULL)
		return errf(e, "%s/%s holds a NUL byte", REGISTRY_DIR,
		    FILE_NAME);
	copy = strndup(text, len);
	if (copy == NULL)
		return errf(e, "out of memory");
	next = strchr(copy, '\n');
	if (next == NULL) {
		free(copy);
		return errf(e, "%s/%s is truncated or empty", REGISTRY_DIR,
		    FILE_NAME);
	}
	*next++ = '\0';
	ret = parse_header(copy, e);
	for (line = next; ret == 0 && *line != '\0'; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next == NULL) {
			ret = errf(e, "%s/%s is truncated at line %d",
			    REGISTRY_DIR, FILE_NAME, lineno);
			break;
		}
		*next++ = '\0';
		if (parse_line(r, line) < 0)
			ret = errf(e, "%s/%s: line %d is malformed",
			    REGISTRY_DIR, FILE_NAME, lineno);
	}
	for (size_t i = 0; ret == 0 && i < r->ncg; i++)
		if (r->cg[i].pins[0] == '\0')
			ret = errf(e, "%s/%s: cgroup %" PRIu64 " has no pins",
			    REGISTRY_DIR, FILE_NAME, r->cg[i].id);
	free(copy);
	if (ret < 0)
		registry_free(r);
	return ret;
}
