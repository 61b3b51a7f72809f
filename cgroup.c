/* The cgroup v2 tree: see cgroup.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cgroup.h"
#include "mounts.h"

#define MARK_NAME "trusted.ct"
#define MARK_VALUE "isolate"

int
cgroup_root(char *root, size_t len, struct err *e)
{
	if (mount_find("cgroup2", root, len, e) < 0)
		return -1;
	if (root[0] == '\0')
		return errf(e, "no cgroup2 filesystem is mounted "
		    "(ct needs the unified cgroup hierarchy)");
	return 0;
}

int
cgroup_of_pid(pid_t pid, char *rel, size_t len, struct err *e)
{
	char path[64], line[4096];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT ? errf(e, "no process %d", (int)pid) :
		    errnof(e, "cannot read %s", path);
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		/* The cgroup2 line is "0::/path". */
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (strlen(line + 3) >= len)
			break;
		memcpy(rel, line + 3, strlen(line + 3) + 1);
		found = 1;
	}
	fclose(f);
	if (!found)
		return errf(e, "process %d has no cgroup v2 membership", (int)pid);
	/* Outside ct's cgroup namespace the path climbs with "/..". */
	if (rel[0] != '/' || strstr(rel, "/..") != NULL)
		return errf(e, "process %d is in a cgroup outside this cgroup "
		    "namespace", (int)pid);
	return 0;
}

int
cgroup_abs(char *abs, size_t len, const char *root, const char *rel)
{
	int n;

	n = strcmp(rel, "/") == 0 ? snprintf(abs, len, "%s", root) :
	    snprintf(abs, len, "%s%s", root, rel);
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

/* The id of the cgroup at path from dirfd, in the kernel's file handle. */
static int
handle_id(int dirfd, const char *path, int flags, uint64_t *id,
    struct err *e)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h;
	int mount_id;

	h.fh.handle_bytes = sizeof(h.id);
	if (name_to_handle_at(dirfd, path, &h.fh, &mount_id, flags) < 0)
		return errnof(e, "cannot identify cgroup %s", *path ? path :
		    "(open)");
	if (h.fh.handle_bytes != sizeof(h.id))
		return errf(e, "cgroup %s has no cgroup id", *path ? path :
		    "(open)");
	memcpy(id, h.fh.f_handle, sizeof(*id));
	return 0;
}

int
cgroup_id(const char *abs, uint64_t *id, struct err *e)
{
	return handle_id(AT_FDCWD, abs, 0, id, e);
}

int
cgroup_fd_id(int fd, uint64_t *id, struct err *e)
{
	return handle_id(fd, "", AT_EMPTY_PATH, id, e);
}

int
cgroup_open(const char *abs, struct err *e)
{
	/* openat: musl's open adds an fcntl for O_CLOEXEC. */
	int fd = openat(AT_FDCWD, abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return errnof(e, "cannot open cgroup %s", abs);
	return fd;
}

static FILE *
open_procs(const char *abs, const char *mode)
{
	char path[4200];

	if (snprintf(path, sizeof(path), "%s/cgroup.procs", abs) >=
	    (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return fopen(path, mode);
}

int
cgroup_count_procs(const char *abs, int *n, struct err *e)
{
	char line[32];
	FILE *f = open_procs(abs, "re");

	if (f == NULL)
		return errnof(e, "cannot read the processes of %s", abs);
	for (*n = 0; fgets(line, sizeof(line), f) != NULL; (*n)++)
		;
	fclose(f);
	return 0;
}

int
cgroup_move(const char *abs, pid_t pid, struct err *e)
{
	FILE *f = open_procs(abs, "we");
	int bad;

	if (f == NULL)
		return errnof(e, "cannot open %s/cgroup.procs", abs);
	/* The kernel takes one pid per write. */
	bad = fprintf(f, "%d\n", (int)pid) < 0 || fflush(f) != 0;
	if (fclose(f) != 0)
		bad = 1;
	if (bad && errno == ESRCH)
		return 0;	/* it exited: nothing left to move */
	return bad ? errnof(e, "cannot move process %d into %s", (int)pid,
	    abs) : 0;
}

int
cgroup_drain(const char *from, const char *to, struct err *e)
{
	char line[32];
	FILE *f;

	/* A process forking meanwhile leaves a child behind: go round again. */
	for (int round = 0; round < 8; round++) {
		int moved = 0;

		f = open_procs(from, "re");
		if (f == NULL)
			return errnof(e, "cannot read the processes of %s",
			    from);
		while (fgets(line, sizeof(line), f) != NULL) {
			if (cgroup_move(to, (pid_t)atoi(line), e) < 0) {
				fclose(f);
				return -1;
			}
			moved = 1;
		}
		fclose(f);
		if (!moved)
			return 0;
	}
	return errf(e, "processes keep appearing in %s", from);
}

int
cgroup_mark(const char *abs, struct err *e)
{
	if (setxattr(abs, MARK_NAME, MARK_VALUE, strlen(MARK_VALUE), 0) < 0)
		return errnof(e, "cannot mark cgroup %s as ct's", abs);
	return 0;
}

int
cgroup_make(const char *abs, struct err *e)
{
	if (mkdir(abs, 0755) < 0)
		return errnof(e, "cannot create cgroup %s", abs);
	if (cgroup_mark(abs, e) < 0) {
		rmdir(abs);
		return -1;
	}
	return 0;
}

int
cgroup_is_ours(const char *abs)
{
	char v[sizeof(MARK_VALUE)];
	ssize_t n = getxattr(abs, MARK_NAME, v, sizeof(v));

	return n == (ssize_t)strlen(MARK_VALUE) && memcmp(v, MARK_VALUE, n) == 0;
}

int
cgroup_remove(const char *abs, struct err *e)
{
	if (rmdir(abs) < 0 && errno != ENOENT)
		return errnof(e, "cannot remove cgroup %s", abs);
	return 0;
}

int
cgroup_walk(const char *abs, cgroup_visit visit, void *ctx, struct err *e)
{
	struct dirent *d;
	DIR *dir;
	int ret = 0;

	dir = opendir(abs);
	if (dir == NULL)
		return errno == ENOENT ? 0 : errnof(e, "cannot read %s", abs);
	while (ret == 0 && (d = readdir(dir)) != NULL) {
		char child[4096];

		if (d->d_type != DT_DIR || strcmp(d->d_name, ".") == 0 ||
		    strcmp(d->d_name, "..") == 0)
			continue;
		if (snprintf(child, sizeof(child), "%s/%s", abs, d->d_name) >=
		    (int)sizeof(child))
			continue;
		ret = cgroup_walk(child, visit, ctx, e);
	}
	closedir(dir);
	return ret < 0 ? -1 : visit(abs, ctx, e);
}

/* Whether rel is "/" or "/" followed by names that are not "." or "..". */
static int
well_formed(const char *rel)
{
	const char *p = rel;

	if (*p != '/')
		return 0;
	if (p[1] == '\0')
		return 1;
	while (*p == '/') {
		const char *end = strchr(p + 1, '/');
		size_t n = end ? (size_t)(end - p - 1) : strlen(p + 1);

		if (n == 0 || (n == 1 && p[1] == '.') ||
		    (n == 2 && p[1] == '.' && p[2] == '.'))
			return 0;
		if (end == NULL)
			return 1;
		p = end;
	}
	return 0;
}

int
cgroup_resolve(const char *root, const char *path, char *rel, size_t len,
    struct err *e)
{
	size_t n = strlen(root);
	char abs[4096];
	struct stat st;

	/* The mount's own path in front is allowed, as a shell completes it. */
	if (strncmp(path, root, n) == 0 && (path[n] == '/' || path[n] == '\0'))
		path = path[n] == '\0' ? "/" : path + n;
	if (!well_formed(path))
		return errf(e, "cgroup '%s' is not a path below the cgroup2 "
		    "mount (write it as ct status does, /a/b, with no '.' or "
		    "'..')", path);
	if (strlen(path) >= len || cgroup_abs(abs, sizeof(abs), root, path) < 0)
		return errf(e, "cgroup path too long: %s", path);
	if (stat(abs, &st) < 0 || !S_ISDIR(st.st_mode))
		return errf(e, "no cgroup %s (%s is not a directory)", path,
		    abs);
	memcpy(rel, path, strlen(path) + 1);
	return 0;
}

/* What cgroup_find_named looks for, and what it found. */
struct named {
	const char *root;
	const char *name;
	char *rel;
	size_t len;
	char others[256];	/* more of them, for the message */
	int count;
};

static int
visit_named(const char *abs, void *arg, struct err *e)
{
	struct named *f = arg;
	const char *rel = abs + strlen(f->root), *base = strrchr(abs, '/') + 1;
	size_t used = strlen(f->others);

	(void)e;
	if (*rel == '\0' || strcmp(base, f->name) != 0)
		return 0;
	if (f->count++ == 0) {
		snprintf(f->rel, f->len, "%s", rel);
		return 0;
	}
	snprintf(f->others + used, sizeof(f->others) - used, ", %s", rel);
	return 0;
}

int
cgroup_find_named(const char *root, const char *name, char *rel, size_t len,
    int *count, struct err *e)
{
	struct named f = { root, name, rel, len, "", 0 };

	*count = -1;
	rel[0] = '\0';
	if (*name == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return errf(e, "unit '%s' is not a cgroup's name", name);
	*count = 0;
	if (cgroup_walk(root, visit_named, &f, e) < 0)
		return -1;
	*count = f.count;
	if (f.count > 1)
		return errf(e, "%d cgroups are named %s: %s%s; name one with "
		    "--cgroup", f.count, name, rel, f.others);
	if (f.count == 0)
		return errf(e, "no cgroup is named %s", name);
	return 0;
}

int
cgroup_populated(const char *abs, int *populated, struct err *e)
{
	char path[4200], line[64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.events", abs);
	f = fopen(path, "re");
	if (f == NULL)
		return errnof(e, "cannot read %s", path);
	*populated = 1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "populated ", 10) == 0)
			*populated = line[10] != '0';
	fclose(f);
	return 0;
}

/* FNV-1a: names of cgroups are short, and any spread will do. */
static size_t
name_hash(const char *s)
{
	size_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* An open-addressing table of the children by name: slots hold index + 1. */
static int
index_names(struct cgroup_list *l)
{
	size_t mask;

	for (l->nslots = 16; l->nslots < 2 * l->n; l->nslots *= 2)
		;
	l->slots = calloc(l->nslots, sizeof(*l->slots));
	if (l->slots == NULL)
		return -1;
	mask = l->nslots - 1;
	for (size_t k = 0; k < l->n; k++) {
		size_t i = name_hash(l->kids[k].name) & mask;

		while (l->slots[i] != 0)
			i = (i + 1) & mask;
		l->slots[i] = k + 1;
	}
	return 0;
}

/* A directory entry as getdents64 returns it. */
struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* All of a directory's entries, read in as few calls as will do. */
static int
read_entries(int fd, char **buf, size_t *len, struct err *e)
{
	size_t cap = 64 * 1024;
	long got;

	*len = 0;
	*buf = malloc(cap);
	for (;;) {
		if (*buf == NULL)
			return errf(e, "out of memory");
		got = syscall(SYS_getdents64, fd, *buf + *len, cap - *len);
		if (got < 0)
			return errnof(e, "cannot read a cgroup directory");
		if (got == 0)
			return 0;
		*len += (size_t)got;
		if (cap - *len < 4096) {
			char *grown = realloc(*buf, cap *= 2);

			if (grown == NULL)
				free(*buf);
			*buf = grown;
		}
	}
}

int
cgroup_children(const char *abs, struct cgroup_list *l, struct err *e)
{
	int fd = cgroup_open(abs, e), r;
	size_t len, n = 0;

	memset(l, 0, sizeof(*l));
	if (fd < 0)
		return -1;
	r = read_entries(fd, &l->buf, &len, e);
	close(fd);
	if (r < 0) {
		cgroup_list_free(l);
		return -1;
	}
	for (size_t off = 0; off < len; off += ((struct linux_dirent64 *)
	    (l->buf + off))->d_reclen)
		n++;
	l->kids = malloc((n ? n : 1) * sizeof(*l->kids));
	if (l->kids == NULL) {
		cgroup_list_free(l);
		return errf(e, "out of memory");
	}
	for (size_t off = 0; off < len;) {
		struct linux_dirent64 *d;

		d = (struct linux_dirent64 *)(l->buf + off);

		off += d->d_reclen;
		if (d->d_type != DT_DIR || d->d_name[0] == '.')
			continue;
		l->kids[l->n].name = d->d_name;
		/* A cgroup's inode number is its id (on 64-bit kernels). */
		l->kids[l->n++].id = d->d_ino;
	}
	return index_names(l) < 0 ? errf(e, "out of memory") : 0;
}

uint64_t
cgroup_child_id(const struct cgroup_list *l, const char *name)
{
	size_t mask = l->nslots - 1;

	for (size_t i = name_hash(name) & mask; l->nslots > 0 &&
	    l->slots[i] != 0; i = (i + 1) & mask) {
		const struct cgroup_child *c = &l->kids[l->slots[i] - 1];

		if (strcmp(c->name, name) == 0)
			return c->id;
	}
	return 0;
}

void
cgroup_list_free(struct cgroup_list *l)
{
	free(l->slots);
	free(l->kids);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}
