/* The registry's file in /run/ct: its directory, lock and replacement. */
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
#include "policy.h"
#include "registry.h"

#define FILE_NAME REGISTRY_FILE
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

/* The directory, checked, in *fd; -1 there when it does not exist. */
static int
open_dir(int create, int *fd, struct err *e)
{
	/*
	 * A cleanup may remove the directory between our mkdir and open: make
	 * it again rather than go on without one (and without the lock).
	 */
	for (;;) {
		*fd = open(REGISTRY_DIR,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (*fd >= 0 || errno != ENOENT || !create)
			break;
		if (mkdir(REGISTRY_DIR, 0700) < 0 && errno != EEXIST)
			return errnof(e, "cannot create %s", REGISTRY_DIR);
	}
	if (*fd < 0) {
		if (errno == ENOENT)
			return 0;
		if (errno == ELOOP || errno == ENOTDIR)
			return errf(e, "%s is a symbolic link or not a "
			    "directory; refusing to use it", REGISTRY_DIR);
		return errnof(e, "cannot open %s", REGISTRY_DIR);
	}
	if (check_dir(*fd, e) < 0) {
		close(*fd);
		*fd = -1;
		return -1;
	}
	return 0;
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
		if (open_dir(create, &rf->dir_fd, e) < 0)
			return -1;
		if (rf->dir_fd < 0)
			return 0;	/* nothing was ever limited */
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

/* The whole file, in one buffer sized by its length. */
static int
read_all(int fd, char **text, size_t *len, struct err *e)
{
	size_t cap, n = 0;
	struct stat st;
	ssize_t got;
	char *buf;

	if (fstat(fd, &st) < 0)
		return errnof(e, "cannot read the registry");
	if (st.st_size >= MAX_SIZE)
		return errf(e, "the registry is larger than %d MiB",
		    MAX_SIZE >> 20);
	/* Room for one byte more than it holds, to see it did not grow. */
	cap = (size_t)st.st_size + 2;
	buf = malloc(cap);
	if (buf == NULL)
		return errf(e, "out of memory");
	while ((got = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)got;
	if (got < 0) {
		free(buf);
		return errnof(e, "cannot read the registry");
	}
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
	/* The registry keeps the text, to write unchanged entries from. */
	return registry_parse_owned(text, len, r, e);
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

static int
fd_sink(void *arg, const char *s, size_t n)
{
	return write_all(*(const int *)arg, s, n);
}

/* Write the file name in dir_fd, whole: text, or else the registry r. */
static int
write_file(int dir_fd, const char *name, const char *text,
    const struct registry *r)
{
	int fd, bad;

	fd = openat(dir_fd, name,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	bad = (text != NULL ? write_all(fd, text, strlen(text)) :
	    registry_write(r, fd_sink, &fd)) < 0;
	if (close(fd) < 0)
		bad = 1;
	return bad ? -1 : 0;
}

/*
 * Put the temporary file in the place of the registry.  On ext4, a rename
 * over an existing file first starts writing the new one out to the disk:
 * the filesystem's guard for programs that replace a file without an fsync.
 * The registry, which is not meant to outlive a reboot, needs no such
 * guard.  Exchanging the two names and then removing the old text
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
	/* Written whole before it replaces the old one; in pieces, so that
	 * what no command changed is not copied first. */
	if (write_file(rf->dir_fd, TEMP_NAME, NULL, r) < 0) {
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
	 * leaving or seeing a half-written file.
	 */
	return 0;
}

int
registry_set_making(struct regfile *rf, const char *abs, struct err *e)
{
	if (rf->dir_fd < 0)
		return 0;
	if (abs == NULL) {
		if (unlinkat(rf->dir_fd, MAKING_NAME, 0) < 0 && errno != ENOENT)
			return errnof(e, "cannot remove %s/%s", REGISTRY_DIR,
			    MAKING_NAME);
		return 0;
	}
	if (write_file(rf->dir_fd, MAKING_NAME, abs, NULL) < 0)
		return errnof(e, "cannot write %s/%s", REGISTRY_DIR,
		    MAKING_NAME);
	return 0;
}

void
registry_making(struct regfile *rf, char *abs, size_t len)
{
	ssize_t n = -1;
	int fd;

	fd = rf->dir_fd < 0 ? -1 : openat(rf->dir_fd, MAKING_NAME,
	    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, abs, len - 1);
		close(fd);
	}
	abs[n > 0 ? n : 0] = '\0';
}

/*
 * The mark is the lock file's one byte: written in place it costs a write,
 * where a file made and removed would cost the filesystem a journal entry.
 */
int
registry_set_unsettled(struct regfile *rf, int on, struct err *e)
{
	if (rf->lock_fd < 0)
		return 0;
	if (pwrite(rf->lock_fd, on ? "1" : "0", 1, 0) != 1)
		return errnof(e, "cannot write %s/%s", REGISTRY_DIR, LOCK_NAME);
	return 0;
}

int
registry_unsettled(struct regfile *rf)
{
	char c;

	return rf->lock_fd >= 0 && pread(rf->lock_fd, &c, 1, 0) == 1 &&
	    c == '1';
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
